//! Alerts from the app itself: a webhook added in Settings → Alerts (the
//! real WebKit), "Send a test alert", and an expiry alert that reaches the
//! webhook and the SMTP sink exactly once across restarts of the app, the
//! receivers down at first. Both receivers run on 127.0.0.1 in this test.

use std::path::Path;
use std::time::{Duration, Instant};

use keywarden_connectors::fake_alerts::{FakeWebhook, SmtpSink};
use keywarden_core::alerts::{AlertEvent, EmailConfig, NewChannel};
use keywarden_core::{
    Actor, CredentialKind, KeySource, NewCredential, NewIntegration, SecretFields, SecretString, Vault,
};
use time::OffsetDateTime;

use crate::{launch_with, nav};

const SECRET: &str = "pk_live_E2EALERTCANARY_r4Tq9Lm2";
const SMTP_PASSWORD: &str = "E2ESMTPCANARY-pw-71Zk";

/// The admin the e2e vaults made outside the app are made as.
pub fn actor() -> Actor {
    Actor {
        profile: "e2e".into(),
        os_user: "finance".into(),
        host: "ws-17".into(),
    }
}

fn open(dir: &Path) -> Vault {
    Vault::open(&dir.join("vault"), &KeySource::Keychain, actor()).unwrap()
}

/// A new vault in `dir` with the "Pleo production" integration.
pub fn vault_with_pleo(dir: &Path) -> Vault {
    let (mut vault, _) = Vault::create(&dir.join("vault"), KeySource::Keychain, actor()).unwrap();
    vault
        .add_integration(NewIntegration {
            name: "Pleo production".into(),
            provider: "pleo".into(),
            environment: "production".into(),
            ..Default::default()
        })
        .unwrap();
    vault
}

/// Waits (real time) until `done` holds, up to 30 s.
fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn an_alert_reaches_the_webhook_and_the_mailbox_once_across_app_restarts_and_an_outage() {
    let hook = FakeWebhook::start().unwrap();
    let smtp = SmtpSink::start("alerts@example.com", SMTP_PASSWORD).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("smtp-ca.pem");
    std::fs::write(&ca, &smtp.ca_pem).unwrap();
    let ca = ca.to_string_lossy().into_owned();
    let now = OffsetDateTime::now_utc();
    let at = |t: OffsetDateTime| {
        let stamp = keywarden_core::timefmt::to_db(t);
        let app = launch_with(
            dir.path(),
            vec![
                ("KEYWARDEN_TEST_MODE", "1"),
                ("KEYWARDEN_TEST_NOW", stamp.as_str()),
                ("KEYWARDEN_TEST_SMTP_CA", ca.as_str()),
            ],
        );
        app.wait("[data-screen=dashboard]");
        app
    };
    {
        vault_with_pleo(dir.path())
            .add_alert_channel(
                "Finance mail",
                &[AlertEvent::Expiring, AlertEvent::Disabled],
                NewChannel::Email {
                    config: EmailConfig {
                        host: smtp.host.clone(),
                        port: smtp.port,
                        from: "keywarden@example.com".into(),
                        to: vec!["finance@example.com".into()],
                        username: Some("alerts@example.com".into()),
                    },
                    password: Some(SecretString::from(SMTP_PASSWORD.to_owned())),
                },
                true,
            )
            .unwrap();
    }

    // Settings → Alerts in the window: the webhook, then a test alert.
    let app = at(now);
    nav(&app, "settings");
    app.wait("[data-testid=alert-channels]");
    app.fill("[data-testid=alert-name]", "Finance Slack");
    app.fill("#al-url", &hook.url);
    app.click("[data-testid=add-alert-channel]");
    app.until("the webhook listed", |a| a.body_text().contains("Finance Slack"));
    let token = hook.url.rsplit('/').next().unwrap().to_owned();
    assert!(
        !app.html().contains(&token),
        "the webhook's address is sealed, never shown"
    );
    app.script(
        "[...document.querySelectorAll('[data-testid=alert-channels] li')]\
         .find((li) => li.textContent.includes('Finance Slack'))\
         .querySelector('[data-testid=test-alert]').click()",
        serde_json::json!([]),
    );
    until("the test alert at the webhook", || hook.received().len() == 1);
    assert!(
        hook.received()[0].body.contains("test alert"),
        "{}",
        hook.received()[0].body
    );
    app.screenshot("50-settings-alerts");

    // The integration's check period, on its page: the provider's daily
    // default, then weekly for every credential of it.
    nav(&app, "integrations");
    app.script(
        "[...document.querySelectorAll('[data-screen=integrations] button.link')]\
         .find((b) => b.textContent.trim() === 'Pleo production').click()",
        serde_json::json!([]),
    );
    app.wait("[data-screen=integration]");
    assert_eq!(app.text("[data-testid=integration-every]"), "every day");
    app.select("[data-testid=integration-check-choice]", "168");
    app.until("weekly", |a| a.text("[data-testid=integration-every]") == "every week");
    assert!(
        app.text("[data-testid=integration-check-schedule]")
            .contains("set for this integration")
    );
    app.screenshot("51-integration-check-period");
    drop(app);
    assert_eq!(
        open(dir.path()).integration_check_every("Pleo production").unwrap(),
        Some(168)
    );

    // A credential 13 days from expiry while both receivers are down: the
    // app queues the alert with its notice and fails to deliver it.
    open(dir.path())
        .add_credential(NewCredential {
            name: "Salary run key".into(),
            kind: Some(CredentialKind::ApiKey),
            integration: Some("Pleo production".into()),
            secrets: SecretFields::single("api_key", SecretString::from(SECRET.to_owned())),
            expires_at: Some(now + time::Duration::days(13)),
            ..Default::default()
        })
        .unwrap();
    hook.set_down(true);
    smtp.set_down(true);
    let app = at(now);
    let expiring = |v: &Vault| {
        v.alert_deliveries(50)
            .unwrap()
            .into_iter()
            .filter(|d| d.category == "expiring")
            .collect::<Vec<_>>()
    };
    until("two failed deliveries", || {
        let tried = expiring(&open(dir.path()));
        tried.len() == 2 && tried.iter().all(|d| d.attempts == 1 && d.last_error.is_some())
    });
    drop(app);
    assert_eq!(hook.received().len(), 1);
    assert!(smtp.mail().is_empty());

    // Restarted after the backoff, the receivers back: each gets it once.
    hook.set_down(false);
    smtp.set_down(false);
    let app = at(now + time::Duration::minutes(2));
    until("the expiry alert at both", || {
        hook.received().len() == 2 && smtp.mail().len() == 1
    });
    until("both recorded as sent", || {
        expiring(&open(dir.path())).iter().all(|d| d.sent_at.is_some())
    });
    // The credential's own period, on its page: the integration's weekly
    // one until it sets every 6 hours.
    nav(&app, "credentials");
    app.click("[data-name='Salary run key'] button");
    app.wait("[data-screen=credential]");
    assert_eq!(app.text("[data-testid=schedule-every]"), "every week");
    assert!(
        app.text("[data-testid=check-schedule]")
            .contains("the integration's period")
    );
    app.select("[data-testid=schedule-choice]", "6");
    app.until("every 6 hours", |a| {
        a.text("[data-testid=schedule-every]") == "every 6 hours"
    });
    assert!(
        app.text("[data-testid=check-schedule]")
            .contains("set for this credential")
    );
    drop(app);
    // Restarted again, hours later, with a test alert waiting: the app's
    // pass that delivers it would also send anything wrongly due again.
    open(dir.path()).queue_test_alert("Finance Slack").unwrap();
    let app = at(now + time::Duration::hours(5));
    until("the test alert, delivered", || hook.received().len() == 3);
    until("recorded", || {
        open(dir.path())
            .alert_deliveries(50)
            .unwrap()
            .iter()
            .all(|d| d.sent_at.is_some())
    });
    drop(app);
    let mut hooks = hook.received();
    assert!(hooks.pop().unwrap().body.contains("test alert"));
    assert_eq!(hooks.len(), 2, "{hooks:?}");
    assert!(
        hooks[1].body.contains("Salary run key expires in 13 days"),
        "{}",
        hooks[1].body
    );
    assert!(hooks[1].body.contains("Pleo production"), "{}", hooks[1].body);
    let mail = smtp.mail();
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert!(mail[0].tls && mail[0].user.as_deref() == Some("alerts@example.com"));
    assert!(
        mail[0]
            .data
            .contains("Subject: Keywarden: Salary run key expires in 13 days"),
        "{}",
        mail[0].data
    );

    // Canary: no secret, no last 4, no webhook token, no SMTP password.
    let mut everything: Vec<String> = hooks
        .into_iter()
        .map(|h| format!("{:?}{}", h.headers, h.body))
        .collect();
    everything.extend(mail.into_iter().map(|m| m.data));
    for text in &everything {
        for canary in [SECRET, "9Lm2", token.as_str(), SMTP_PASSWORD] {
            assert!(!text.contains(canary), "{canary:?} in {text}");
        }
    }
    let audit: Vec<String> = open(dir.path())
        .audit_events(&Default::default())
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(audit.iter().filter(|a| *a == "alert.sent").count(), 4, "{audit:?}");
    assert_eq!(audit.iter().filter(|a| *a == "alert.failed").count(), 2, "{audit:?}");
}
