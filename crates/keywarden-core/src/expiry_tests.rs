use std::sync::Arc;

use secrecy::SecretString;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::*;
use crate::clock::{Clock, ManualClock};
use crate::model::{CredentialKind, NewCredential, NewIntegration};
use crate::secret::SecretFields;
use crate::store::audit::Actor;
use crate::validate::OfflineValidator;
use crate::{KeySource, Vault};

const DAY: Duration = Duration::days(1);

fn d(n: i64) -> Duration {
    Duration::days(n)
}
const START: OffsetDateTime = datetime!(2026-03-01 09:00 UTC);

fn actor() -> Actor {
    Actor {
        profile: "test-admin".into(),
        os_user: "tester".into(),
        host: "testhost".into(),
    }
}

struct World {
    dir: tempfile::TempDir,
    vault: Vault,
    clock: ManualClock,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let (mut vault, _) = Vault::create(&dir.path().join("v"), KeySource::Keychain, actor()).unwrap();
        let clock = ManualClock::at(START);
        vault.set_clock(Arc::new(clock.clone()));
        vault
            .add_integration(NewIntegration {
                name: "Pleo production".into(),
                provider: "pleo".into(),
                environment: "production".into(),
                ..Default::default()
            })
            .unwrap();
        World { dir, vault, clock }
    }

    /// Closes and opens the vault again, as a restart of the app does.
    fn restart(&mut self) {
        let path = self.dir.path().join("v");
        let mut vault = Vault::open(&path, &KeySource::Keychain, actor()).unwrap();
        vault.set_clock(Arc::new(self.clock.clone()));
        self.vault = vault;
    }

    fn add(&mut self, name: &str, secret: &str, expires_in: Duration) {
        self.vault
            .add_credential(NewCredential {
                name: name.into(),
                kind: Some(CredentialKind::ApiKey),
                integration: Some("Pleo production".into()),
                secrets: SecretFields::single("api_key", SecretString::from(secret.to_owned())),
                expires_at: Some(self.clock.now() + expires_in),
                ..Default::default()
            })
            .unwrap();
    }

    /// The thresholds fired by one run, as (credential, days).
    fn run(&mut self) -> Vec<(String, u32)> {
        self.vault
            .run_notices()
            .unwrap()
            .fired
            .into_iter()
            .map(|n| (n.credential, n.threshold_days))
            .collect()
    }
}

fn fired(name: &str, days: &[u32]) -> Vec<(String, u32)> {
    days.iter().map(|d| (name.to_owned(), *d)).collect()
}

#[test]
fn thirteen_days_out_gives_one_14_day_notice_once_then_the_7_day_one_and_rotation_ends_them() {
    let mut w = World::new();
    let secret = "pk_live_notice_canary_7Hq2x9Lm4abcd";
    w.add("Pleo API", secret, d(13));
    let first = w.vault.run_notices().unwrap();
    assert_eq!(first.fired.len(), 1, "{:?}", first.fired);
    let n = &first.fired[0];
    assert_eq!((n.kind, n.threshold_days), (NoticeKind::Expiring, 14));
    assert_eq!(n.summary, "Pleo API expires in 13 days");
    assert!(n.body.contains("Pleo production"), "{}", n.body);
    for text in [&n.summary, &n.body] {
        assert!(
            !text.contains(secret) && !text.contains("abcd"),
            "no secret, no last 4: {text}"
        );
    }
    // The next one is the 7-day threshold: the scheduler sleeps until then.
    assert_eq!(first.next_due, Some(START + d(13) - d(7)));
    assert!(w.run().is_empty(), "a second run fires nothing");
    w.restart();
    assert!(w.run().is_empty(), "a restart fires nothing");

    w.clock.set(START + d(7)); // 6 days left
    assert_eq!(w.run(), fired("Pleo API", &[7]));
    assert!(w.run().is_empty());
    assert_eq!(w.vault.notices(false).unwrap().len(), 2);
    assert_eq!(w.vault.unread_notices().unwrap(), 2);

    // Rotated: the old version's 1-day and expired notices never come.
    let new = SecretFields::single(
        "api_key",
        SecretString::from("pk_live_notice_rotated_Nw3uVb8zwxyz".to_owned()),
    );
    w.vault
        .replace_secret("Pleo API", new, Some(START + d(400)), &OfflineValidator)
        .unwrap();
    for day in [12, 13, 14, 30] {
        w.clock.set(START + d(day));
        assert!(w.run().is_empty(), "day {day}");
    }
}

#[test]
fn each_threshold_fires_once_across_a_day_forward_a_year_back_and_a_suspend() {
    let mut w = World::new();
    w.add("Xledger", "xl-token-clock-test-0001", d(90));
    assert!(w.run().is_empty(), "nothing is due 90 days out");
    // +24 h, one day at a time up to 61 days before: the 60-day one, once.
    for _ in 0..30 {
        w.clock.advance(DAY);
        let f = w.run();
        let now: OffsetDateTime = w.clock.now();
        let days_left = (START + d(90) - now).whole_days();
        if days_left == 60 {
            assert_eq!(f, fired("Xledger", &[60]));
        } else {
            assert!(f.is_empty(), "{days_left} days left: {f:?}");
        }
    }
    // A year back and forward again: nothing twice.
    w.clock.advance(d(-365));
    assert!(w.run().is_empty());
    w.clock.advance(d(365));
    assert!(w.run().is_empty());
    // Suspended from 40 days out to 5 days out: the 30-, 14- and 7-day
    // notices each fire once at the wake.
    w.clock.set(START + d(50));
    assert!(w.run().is_empty());
    w.clock.set(START + d(85));
    assert_eq!(w.run(), fired("Xledger", &[30, 14, 7]));
    assert!(w.run().is_empty());
    // Then the 1-day one, and "expired" once.
    w.clock.set(START + d(89) + Duration::hours(1));
    assert_eq!(w.run(), fired("Xledger", &[1]));
    w.clock.set(START + d(91));
    let expired = w.vault.run_notices().unwrap().fired;
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].kind, NoticeKind::Expired);
    assert_eq!(expired[0].summary, "Xledger has expired");
    w.clock.advance(d(30));
    assert!(w.run().is_empty());
    assert_eq!(w.vault.next_notice_due().unwrap(), None, "nothing left to say");
}

#[test]
fn a_dst_change_moves_no_notice() {
    // Europe/Oslo leaves summer time on 2026-10-25 at 01:00 UTC; thresholds
    // are 24-hour days in UTC, so the night with 25 local hours changes
    // nothing: the 7-day notice comes at 12:00 UTC, 7 x 24 h before.
    let mut w = World::new();
    w.clock.set(datetime!(2026-10-01 12:00 UTC));
    w.add("Business Central", "bc-secret-dst-test-0001", Duration::days(31)); // 2026-11-01 12:00 UTC
    assert_eq!(w.run(), fired("Business Central", &[60]));
    w.clock.set(datetime!(2026-10-02 12:00 UTC));
    assert_eq!(w.run(), fired("Business Central", &[30]));
    w.clock.set(datetime!(2026-10-18 12:00 UTC));
    assert_eq!(w.run(), fired("Business Central", &[14]));
    for t in [
        datetime!(2026-10-25 00:59 UTC), // 02:59 summer time
        datetime!(2026-10-25 01:00 UTC), // 02:00 winter time, again
        datetime!(2026-10-25 12:59 +01:00),
    ] {
        w.clock.set(t);
        assert!(w.run().is_empty(), "{t}");
    }
    w.clock.set(datetime!(2026-10-25 13:00 +01:00));
    assert_eq!(w.run(), fired("Business Central", &[7]));
    w.clock.set(datetime!(2026-10-26 00:00 +01:00));
    assert!(w.run().is_empty());
}

#[test]
fn past_expiry_says_only_expired_and_a_disabled_credential_says_nothing() {
    let mut w = World::new();
    w.add("Old", "old-secret-value-0001", d(2));
    w.add("Leaked", "leaked-secret-value-01", d(10));
    w.vault.disable_credential("Leaked", "posted in a chat").unwrap();
    assert_eq!(
        w.run(),
        fired("Old", &[7]),
        "added 2 days out: the nearest past threshold only"
    );
    w.clock.set(START + d(30));
    let f = w.vault.run_notices().unwrap().fired;
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].credential.as_str(), f[0].kind), ("Old", NoticeKind::Expired));
    // Re-enabled by a replacement that expires again: its own notices.
    let new = SecretFields::single("api_key", SecretString::from("fresh-secret-value-01".to_owned()));
    w.vault
        .replace_secret("Leaked", new, Some(w.clock.now() + d(20)), &OfflineValidator)
        .unwrap();
    assert_eq!(w.run(), fired("Leaked", &[30]));
}

#[test]
fn thresholds_are_configurable_but_14_stays_and_nonsense_is_refused() {
    let mut w = World::new();
    assert_eq!(w.vault.set_notice_thresholds(&[3, 45]).unwrap(), [45, 14, 3]);
    let err = w.vault.set_notice_thresholds(&[0]).unwrap_err();
    assert!(err.to_string().contains("1 to 365"), "{err}");
    assert_eq!(
        w.vault.notice_thresholds(),
        [45, 14, 3],
        "a refused change keeps the old ones"
    );
    w.add("Custom", "custom-secret-value-01", d(50));
    w.clock.set(START + d(6));
    assert_eq!(w.run(), fired("Custom", &[45]));
    w.clock.set(START + d(47));
    assert_eq!(w.run(), fired("Custom", &[14, 3]));
}

#[test]
fn notices_are_read_dismissed_and_audited() {
    let mut w = World::new();
    w.add("Pleo API", "pk_live_audit_notice_0001", d(5));
    w.run();
    let id = w.vault.notices(false).unwrap()[0].id;
    assert_eq!(w.vault.mark_notices_read().unwrap(), 1);
    assert_eq!(w.vault.unread_notices().unwrap(), 0);
    w.vault.dismiss_notice(id).unwrap();
    assert!(w.vault.notices(false).unwrap().is_empty());
    assert_eq!(w.vault.notices(true).unwrap().len(), 1);
    assert!(w.vault.dismiss_notice(id).is_err(), "dismissed once");
    let audit = w
        .vault
        .audit_events(&crate::AuditFilter {
            action: Some("notice.fire".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert!(audit[0].detail.contains("7-day"), "{}", audit[0].detail);
    w.vault.verify_audit().unwrap();
}

#[test]
fn first_notice_and_advance_follow_the_thresholds() {
    let t = [60, 30, 14, 7, 1];
    let e = START + d(100);
    assert_eq!(first_notice(&t, e, START), (e - d(60), 60));
    assert_eq!(first_notice(&t, e, e - d(20)), (e - d(30), 30));
    assert_eq!(first_notice(&t, e, e), (e, 0));
    let (fires, next) = advance(&t, e, Some((e - d(30), 30)), e - d(10));
    assert_eq!(fires.iter().map(|f| f.threshold_days).collect::<Vec<_>>(), [30, 14]);
    assert_eq!(next, Some((e - d(7), 7)));
    let (fires, next) = advance(&t, e, next, e + DAY);
    assert_eq!(fires.len(), 1);
    assert_eq!(fires[0].kind, NoticeKind::Expired);
    assert_eq!(next, None);
}

#[test]
fn the_rotation_policy_makes_old_secrets_rotation_due_with_overrides_and_rotation_resets_it() {
    use crate::model::{CredentialFilter, CredentialPatch, IntegrationPatch, Status};
    let mut w = World::new();
    w.add("Default policy", "default-policy-secret-01", d(400));
    w.add("Own policy", "own-policy-secret-0001", d(400));
    w.vault
        .update_credential(
            "Own policy",
            CredentialPatch {
                max_age_days: Some(Some(0)),
                ..Default::default()
            },
        )
        .unwrap();
    let status = |w: &World, name: &str| w.vault.get_credential(name).unwrap().summary.status;
    let due = |w: &World| {
        w.vault
            .list_credentials(&CredentialFilter {
                status: Some(Status::RotationDue),
                ..Default::default()
            })
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect::<Vec<_>>()
    };
    w.clock.set(START + d(89));
    assert_eq!(status(&w, "Default policy"), Status::Active);
    assert!(due(&w).is_empty());
    w.clock.set(START + d(91));
    assert_eq!(status(&w, "Default policy"), Status::RotationDue);
    assert_eq!(status(&w, "Own policy"), Status::Active, "0 = no maximum age");
    assert_eq!(due(&w), ["Default policy"], "the filter agrees with the status");
    let s = w.vault.get_credential("Default policy").unwrap().summary;
    assert_eq!(s.rotation_due_at, Some(START + d(90)));
    assert!(!s.rotation_overdue, "within the 7-day grace period");
    w.clock.set(START + d(98));
    assert!(
        w.vault
            .get_credential("Default policy")
            .unwrap()
            .summary
            .rotation_overdue
    );
    let active = w
        .vault
        .list_credentials(&CredentialFilter {
            status: Some(Status::Active),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(active.len(), 1, "rotation due is not active: {active:?}");

    // The integration's policy applies to its credentials without their own.
    w.vault
        .update_integration(
            "Pleo production",
            IntegrationPatch {
                max_age_days: Some(Some(400)),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(status(&w, "Default policy"), Status::Active);
    w.vault.set_rotation_policy(30, 7).unwrap();
    w.vault
        .update_integration(
            "Pleo production",
            IntegrationPatch {
                max_age_days: Some(None),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(status(&w, "Default policy"), Status::RotationDue);
    // Rotating resets the age.
    let new = SecretFields::single("api_key", SecretString::from("default-policy-rotated-01".to_owned()));
    w.vault
        .replace_secret("Default policy", new, None, &OfflineValidator)
        .unwrap();
    assert_eq!(status(&w, "Default policy"), Status::Active);
    assert!(w.vault.set_rotation_policy(5000, 7).is_err());
}
