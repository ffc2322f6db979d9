//! Alerts that reach the team, end to end through `kw` as timers run it:
//! the Pleo fake on 127.0.0.1, a webhook receiver and an SMTP sink with
//! STARTTLS (both on 127.0.0.1, started here), and a notification
//! recorder on the test's private session bus.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::timed::TimedKw;

use keywarden_connectors::fake_alerts::{FakeWebhook, SmtpSink};
use keywarden_connectors::fakes::FakePleo;
use keywarden_notify::recorder::Recorder;
use time::OffsetDateTime;

const ACME: &str = "6c0e3f4a-1b2c-4d5e-8f90-a1b2c3d4e5f6";
const KEY: &str = "pk_live_ALERTCANARY_Vb72KqPz";
const SMTP_PASSWORD: &str = "SMTPCANARY-pass-81Xq";

#[test]
fn reconnection_and_disabled_alerts_reach_the_webhook_and_the_mailbox_once_even_through_an_outage() {
    let _recorder = Recorder::start().unwrap();
    let pleo = FakePleo::start(&[KEY], ACME, false).unwrap();
    let hook = FakeWebhook::start().unwrap();
    let smtp = SmtpSink::start("alerts@example.com", SMTP_PASSWORD).unwrap();
    // `credential add` prints the mask (its last 4) on purpose.
    let mut kw = TimedKw::new(|args| !args.contains(&"credential"));
    let ca = kw.tmp.path().join("smtp-ca.pem");
    std::fs::write(&ca, &smtp.ca_pem).unwrap();
    kw.env
        .push(("KEYWARDEN_TEST_SMTP_CA".into(), ca.to_string_lossy().into_owned()));
    let vault_id = kw.json_at(&["init"], None)["vault_id"].as_str().unwrap().to_owned();
    kw.ok_at(
        &[
            "integration",
            "add",
            "Pleo",
            "--provider",
            "pleo",
            "--base-url",
            &pleo.base,
            "--tenant-id",
            ACME,
        ],
        "",
        None,
    );
    kw.ok_at(
        &[
            "credential",
            "add",
            "Pleo API",
            "--type",
            "api-key",
            "--integration",
            "Pleo",
        ],
        KEY,
        None,
    );
    kw.ok_at(
        &["alert", "add-webhook", "Finance Slack", "--event", "all"],
        &hook.url,
        None,
    );
    let smtp_at = format!("{}:{}", smtp.host, smtp.port);
    kw.ok_at(
        &[
            "alert",
            "add-email",
            "Finance mail",
            "--smtp",
            &smtp_at,
            "--from",
            "keywarden@example.com",
            "--to",
            "finance@example.com",
            "--user",
            "alerts@example.com",
            "--event",
            "reconnection-required",
            "--event",
            "compromised",
        ],
        SMTP_PASSWORD,
        None,
    );
    // "Send a test alert".
    kw.ok_at(&["alert", "test", "Finance Slack"], "", None);
    kw.ok_at(&["alert", "test", "Finance mail"], "", None);
    assert_eq!(hook.received().len(), 1);
    assert_eq!(smtp.mail().len(), 1);
    assert!(smtp.mail()[0].tls && smtp.mail()[0].user.as_deref() == Some("alerts@example.com"));

    // Revoked at Pleo: the third scheduled refusal raises one alert on each.
    let mut at = OffsetDateTime::now_utc();
    pleo.revoke(KEY);
    for _ in 0..4 {
        kw.next_run(&mut at);
    }
    assert_eq!(kw.status("Pleo API", at), "error");
    let hooks = hook.received();
    assert_eq!(hooks.len(), 2, "{hooks:?}");
    assert!(
        hooks[1].body.contains("Pleo API needs to be reconnected"),
        "{}",
        hooks[1].body
    );
    let mail = smtp.mail();
    assert_eq!(mail.len(), 2, "{mail:?}");
    assert!(
        mail[1]
            .data
            .contains("Subject: Keywarden: Pleo API needs to be reconnected"),
        "{}",
        mail[1].data
    );
    assert_eq!(mail[1].to, ["finance@example.com"]);

    // Both receivers down when the key is disabled: queued, not lost.
    hook.set_down(true);
    smtp.set_down(true);
    kw.ok_at(
        &["credential", "disable", "Pleo API", "--reason", "key posted in chat"],
        "",
        Some(at),
    );
    let out = kw.json_at(&["alert", "send"], Some(at));
    assert_eq!(out["sent"], 0, "{out}");
    assert_eq!(out["failed"].as_array().unwrap().len(), 2, "{out}");
    assert_eq!(hook.received().len(), 2);
    // Back up: the next run after the backoff delivers each once.
    hook.set_down(false);
    smtp.set_down(false);
    let later = at + time::Duration::minutes(2);
    let out = kw.json_at(&["alert", "send"], Some(later));
    assert_eq!(out["sent"], 2, "{out}");
    // Another program, later (a restart): nothing is sent twice.
    let out = kw.json_at(&["alert", "send"], Some(later + time::Duration::hours(5)));
    assert_eq!(out["sent"], 0, "{out}");
    let hooks = hook.received();
    assert_eq!(hooks.len(), 3);
    assert!(hooks[2].body.contains("Pleo API was disabled"), "{}", hooks[2].body);
    // The attempt refused while down and the one taken carry one id, which
    // no other alert shares: a receiver drops a repeat by it.
    let id = |h: &keywarden_connectors::fake_alerts::Hook| {
        h.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("x-keywarden-alert"))
            .map(|(_, v)| v.clone())
            .expect("X-Keywarden-Alert")
    };
    let tried: Vec<String> = hook.tried().iter().map(id).collect();
    assert_eq!(tried.len(), 4, "{tried:?}");
    assert_eq!(tried[2], tried[3], "a retry carries the first attempt's id");
    assert_ne!(tried[1], tried[3]);
    assert!(
        tried[3].ends_with(&format!(".{vault_id}")),
        "{} of vault {vault_id}",
        tried[3]
    );
    assert!(
        !hooks[2].body.contains("chat"),
        "the typed reason stays in the audit log"
    );
    assert_eq!(smtp.mail().len(), 3);
    let message_id = |data: &str| {
        data.lines()
            .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
            .map(str::to_owned)
            .expect("a Message-ID")
    };
    let ids: Vec<String> = smtp.mail().iter().map(|m| message_id(&m.data)).collect();
    assert!(ids[2].contains(&format!(".{vault_id}@keywarden.invalid>")), "{ids:?}");
    assert_ne!(ids[1], ids[2]);

    // The audit log has each delivery and each failed attempt.
    let events = kw.json_at(&["audit", "list"], Some(later));
    let actions: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions.iter().filter(|a| **a == "alert.sent").count(), 6, "{actions:?}");
    assert_eq!(
        actions.iter().filter(|a| **a == "alert.failed").count(),
        2,
        "{actions:?}"
    );

    // Canary: no secret, no last 4, no webhook token, no SMTP password in
    // any alert, in kw's output, or in the audit log.
    let token = hook.url.rsplit('/').next().unwrap().to_owned();
    let mut everything: Vec<String> = hook.received().into_iter().map(|h| h.body).collect();
    everything.extend(smtp.mail().into_iter().map(|m| m.data));
    everything.push(kw.printed.borrow().clone());
    everything.push(events.to_string());
    for text in &everything {
        for canary in [KEY, "KqPz", token.as_str(), SMTP_PASSWORD] {
            assert!(!text.contains(canary), "{canary:?} in {text}");
        }
    }
    let listed = kw.json_at(&["alert", "list"], Some(later));
    assert_eq!(listed["channels"].as_array().unwrap().len(), 2, "{listed}");
}
