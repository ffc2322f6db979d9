//! The outbox against a real vault: what is queued for which channel, once;
//! backoff and giving up; the channel's secret sealed like a credential's.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use time::Duration;

use super::*;
use crate::clock::ManualClock;
use crate::model::{CredentialKind, NewCredential};
use crate::secret::SecretFields;
use crate::store::audit::Actor;
use crate::{KeySource, Vault};

fn vault() -> (tempfile::TempDir, Vault, ManualClock) {
    let dir = tempfile::tempdir().unwrap();
    let actor = Actor {
        profile: "test-admin".into(),
        os_user: "tester".into(),
        host: "testhost".into(),
    };
    let (mut v, _) = Vault::create(&dir.path().join("v"), KeySource::Keychain, actor).unwrap();
    let clock = ManualClock::at(time::macros::datetime!(2026-03-01 09:00 UTC));
    v.set_clock(Arc::new(clock.clone()));
    v.add_credential(NewCredential {
        name: "Pleo API".into(),
        kind: Some(CredentialKind::ApiKey),
        secrets: SecretFields::single("api_key", SecretString::from("pk_live_OUTBOXCANARY_1234".to_owned())),
        ..Default::default()
    })
    .unwrap();
    (dir, v, clock)
}

fn webhook(v: &mut Vault, name: &str, events: &[AlertEvent]) {
    let url = SecretString::from(format!(
        "https://hooks.example.com/services/{}-TOKEN",
        name.replace(' ', "-")
    ));
    v.add_alert_channel(name, events, NewChannel::Webhook { url }, false)
        .unwrap();
}

#[test]
fn a_notice_is_queued_once_for_each_channel_carrying_its_category() {
    let (_d, mut v, _) = vault();
    webhook(&mut v, "everything", &AlertEvent::ALL);
    webhook(&mut v, "expiry only", &[AlertEvent::Expiring]);
    v.disable_credential("Pleo API", "posted in chat").unwrap();
    let due = v.due_alerts().unwrap();
    assert_eq!(due.len(), 1, "only the channel carrying 'disabled'");
    assert_eq!(
        (due[0].channel.as_str(), due[0].category.as_str()),
        ("everything", "disabled")
    );
    assert!(due[0].subject.contains("Pleo API was disabled"));
    assert!(!due[0].body.contains("chat") && !due[0].body.contains("1234"));
    assert_eq!(
        due[0].secret.expose_secret(),
        "https://hooks.example.com/services/everything-TOKEN"
    );
    v.record_alert(&due[0], Ok(())).unwrap();
    assert!(v.due_alerts().unwrap().is_empty());
    assert_eq!(v.next_alert_due().unwrap(), None);
}

#[test]
fn a_failed_delivery_backs_off_and_is_given_up_after_three_days() {
    let (_d, mut v, clock) = vault();
    webhook(&mut v, "slack", &[AlertEvent::Disabled]);
    v.disable_credential("Pleo API", "left").unwrap();
    let start = v.now();
    let mut attempts = 0;
    loop {
        let due = v.due_alerts().unwrap();
        if due.is_empty() {
            match v.next_alert_due().unwrap() {
                Some(next) => clock.set(next),
                None => break,
            }
            continue;
        }
        attempts += 1;
        v.record_alert(&due[0], Err("the webhook answered 503".into())).unwrap();
    }
    assert!(v.now() - start <= GIVE_UP_AFTER + Duration::hours(1));
    assert!((70..=90).contains(&attempts), "{attempts} attempts in 3 days");
    let last = &v.alert_deliveries(1).unwrap()[0];
    assert!(last.sent_at.is_none() && last.next_at.is_none());
    assert_eq!(last.last_error.as_deref(), Some("the webhook answered 503"));
}

#[test]
fn a_channel_secret_is_resealed_by_a_data_key_rotation_and_opened_by_the_integrity_check() {
    let (_d, mut v, _) = vault();
    webhook(&mut v, "slack", &[AlertEvent::Disabled]);
    v.rotate_data_key().unwrap();
    let report = v.check_integrity().unwrap();
    assert!(report.ok, "{report:?}");
    v.queue_test_alert("slack").unwrap();
    let due = v.due_alerts().unwrap();
    assert_eq!(
        due[0].secret.expose_secret(),
        "https://hooks.example.com/services/slack-TOKEN"
    );
    // The audit names the host, never the address's token.
    let events = v.audit_events(&Default::default()).unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.action == "alert.channel.add" && e.detail.contains("hooks.example.com"))
    );
    assert!(events.iter().all(|e| !e.detail.contains("TOKEN")));
}

#[test]
fn a_channel_needs_a_name_an_event_and_a_safe_address() {
    let (_d, mut v, _) = vault();
    let url = || SecretString::from("https://hooks.example.com/x".to_owned());
    assert!(
        v.add_alert_channel("x", &[], NewChannel::Webhook { url: url() }, false)
            .is_err()
    );
    assert!(
        v.add_alert_channel("", &[AlertEvent::Expired], NewChannel::Webhook { url: url() }, false)
            .is_err()
    );
    let plain = SecretString::from("http://hooks.example.com/x".to_owned());
    let e = v
        .add_alert_channel("x", &[AlertEvent::Expired], NewChannel::Webhook { url: plain }, false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("https"), "{e}");
    v.add_alert_channel("x", &[AlertEvent::Expired], NewChannel::Webhook { url: url() }, false)
        .unwrap();
    assert!(
        v.add_alert_channel("X", &[AlertEvent::Expired], NewChannel::Webhook { url: url() }, false)
            .is_err()
    );
    let email = EmailConfig {
        host: "smtp.example.com".into(),
        port: 587,
        from: "not an address".into(),
        to: vec!["finance@example.com".into()],
        username: None,
    };
    let e = v
        .add_alert_channel(
            "mail",
            &[AlertEvent::Expired],
            NewChannel::Email {
                config: email,
                password: None,
            },
            false,
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("not an email address"), "{e}");
}

#[test]
fn a_credential_past_its_rotation_age_is_said_once_per_version_and_alerted() {
    let (_d, mut v, clock) = vault();
    webhook(&mut v, "slack", &[AlertEvent::RotationDue]);
    v.add_credential(NewCredential {
        name: "Xledger API".into(),
        kind: Some(CredentialKind::ApiKey),
        max_age_days: Some(30),
        secrets: SecretFields::single("api_key", SecretString::from("xl_live_ROTATIONCANARY_9876".to_owned())),
        ..Default::default()
    })
    .unwrap();
    let run = v.run_rotation_notices().unwrap();
    assert!(run.fired.is_empty());
    let due = run.next_due.unwrap();
    assert_eq!(due - v.now(), Duration::days(30));
    clock.set(due + Duration::hours(1));
    let run = v.run_rotation_notices().unwrap();
    assert_eq!(run.fired.len(), 1, "{:?}", run.fired);
    assert!(run.fired[0].summary.contains("Xledger API is due for rotation"));
    assert!(v.run_rotation_notices().unwrap().fired.is_empty(), "said once");
    let alerts = v.due_alerts().unwrap();
    assert_eq!(alerts.len(), 1);
    assert!(!alerts[0].body.contains("9876"));
    // A new version starts its own age.
    v.replace_secret(
        "Xledger API",
        SecretFields::single("api_key", SecretString::from("xl_live_ROTATIONCANARY_5432".to_owned())),
        None,
        &crate::validate::OfflineValidator,
    )
    .unwrap();
    assert!(v.run_rotation_notices().unwrap().fired.is_empty());
    clock.set(v.now() + Duration::days(31));
    assert_eq!(v.run_rotation_notices().unwrap().fired.len(), 1);
}
