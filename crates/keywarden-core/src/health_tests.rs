//! Scheduled checks against a vault with a moving clock and a provider
//! whose answers the test sets (the connectors' and kw's tests run the same
//! against the provider fakes on 127.0.0.1).

use std::cell::RefCell;
use std::sync::Arc;

use secrecy::SecretString;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::clock::ManualClock;
use crate::model::{CredentialKind, NewCredential, NewIntegration, Status};
use crate::secret::SecretFields;
use crate::store::audit::{Actor, AuditFilter};
use crate::validate::{Candidate, Failure, Rejection, Validator, Verdict};
use crate::{KeySource, NoticeKind, Vault};

const START: OffsetDateTime = datetime!(2026-03-01 09:00 UTC);

fn actor() -> Actor {
    Actor {
        profile: "test-admin".into(),
        os_user: "tester".into(),
        host: "testhost".into(),
    }
}

/// What the provider says of every key: its answer can change mid-test
/// (a key revoked at the provider, the network gone).
struct Provider(RefCell<Result<(), Failure>>, RefCell<u32>);

impl Provider {
    fn accepting() -> Provider {
        Provider(RefCell::new(Ok(())), RefCell::new(0))
    }
    fn set(&self, answer: Result<(), Failure>) {
        *self.0.borrow_mut() = answer;
    }
    fn calls(&self) -> u32 {
        *self.1.borrow()
    }
}

impl Validator for Provider {
    fn validate(&self, _c: &Candidate<'_>) -> Result<Verdict, Rejection> {
        *self.1.borrow_mut() += 1;
        self.0
            .borrow()
            .clone()
            .map(|()| Verdict::default())
            .map_err(Rejection::new)
    }
}

fn revoked() -> Result<(), Failure> {
    Err(Failure::InvalidCredential {
        detail: "401 Unauthorized".into(),
    })
}

fn offline() -> Result<(), Failure> {
    Err(Failure::Unreachable {
        detail: "network is unreachable".into(),
    })
}

struct World {
    _dir: tempfile::TempDir,
    vault: Vault,
    clock: ManualClock,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let (mut vault, _) = Vault::create(&dir.path().join("v"), KeySource::Keychain, actor()).unwrap();
        let clock = ManualClock::at(START);
        vault.set_clock(Arc::new(clock.clone()));
        for (name, provider) in [("Pleo", "pleo"), ("Xledger", "xledger")] {
            vault
                .add_integration(NewIntegration {
                    name: name.into(),
                    provider: provider.into(),
                    environment: "production".into(),
                    ..Default::default()
                })
                .unwrap();
        }
        World {
            _dir: dir,
            vault,
            clock,
        }
    }

    fn add(&mut self, name: &str, integration: &str) {
        self.vault
            .add_credential(NewCredential {
                name: name.into(),
                kind: Some(CredentialKind::ApiKey),
                integration: Some(integration.into()),
                secrets: SecretFields::single("api_key", SecretString::from(format!("{name}-key-0001"))),
                ..Default::default()
            })
            .unwrap();
    }

    /// What the scheduler does at one wake-up: every due check, in order.
    fn run_due(&mut self, provider: &Provider) -> Vec<crate::CheckReport> {
        let plan = self.vault.health_plan(provider).unwrap();
        let mut reports = Vec::new();
        for due in plan.due {
            assert!(self.vault.claim_check_lease(&due.lease, "test").unwrap());
            let pending = self.vault.begin_check(&due.id.to_string(), true).unwrap();
            let finished = pending.run(provider);
            reports.push(self.vault.finish_check(finished).unwrap());
            self.vault.release_check_lease(&due.lease, "test").unwrap();
        }
        reports
    }

    /// Moves the clock to the next due check and runs what is due then.
    fn next_wakeup(&mut self, provider: &Provider) -> Vec<crate::CheckReport> {
        let next = self
            .vault
            .health_plan(provider)
            .unwrap()
            .next_due
            .expect("a check is scheduled");
        self.clock.set(next);
        self.run_due(provider)
    }

    fn reconnection_notices(&self) -> usize {
        self.vault
            .notices(true)
            .unwrap()
            .iter()
            .filter(|n| n.kind == NoticeKind::ReconnectionRequired)
            .count()
    }
}

#[test]
fn a_key_revoked_at_the_provider_is_noticed_by_the_next_scheduled_checks_without_a_button() {
    let mut w = World::new();
    w.add("pleo", "Pleo");
    let provider = Provider::accepting();
    // Nothing is due before the credential's first slot, within a day.
    assert!(w.run_due(&provider).is_empty());
    let first = w.next_wakeup(&provider);
    assert_eq!(first.len(), 1);
    assert!(w.clock_now() - START <= Duration::days(1));
    assert!(first[0].check.scheduled);
    assert_eq!(first[0].status, Status::Active);

    provider.set(revoked());
    let mut notices = Vec::new();
    for n in 1..=3 {
        let r = w.next_wakeup(&provider).pop().unwrap();
        assert_eq!(r.consecutive_auth_failures, n);
        notices.extend(r.notice);
    }
    // The third failure in a row: reconnection required, said once.
    assert_eq!(w.vault.get_credential("pleo").unwrap().summary.status, Status::Error);
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].kind, NoticeKind::ReconnectionRequired);
    assert!(notices[0].summary.contains("pleo"), "{}", notices[0].summary);
    assert!(!notices[0].body.contains("key-0001") && !notices[0].body.contains("0001"));
    // Still failing: checked again, no second notice.
    w.next_wakeup(&provider);
    assert_eq!(w.reconnection_notices(), 1);

    // Fixed at the provider: the next scheduled pass clears it.
    provider.set(Ok(()));
    let r = w.next_wakeup(&provider).pop().unwrap();
    assert_eq!(r.status, Status::Active);
    assert!(r.notice.is_none());
    let scheduled = w
        .vault
        .audit_events(&AuditFilter::default())
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "credential.check" && e.detail.starts_with("scheduled live check"))
        .count();
    assert_eq!(scheduled, 6);
}

#[test]
fn a_day_offline_raises_nothing_and_counts_nothing() {
    let mut w = World::new();
    w.add("pleo", "Pleo");
    let provider = Provider::accepting();
    w.next_wakeup(&provider);
    // One failure before the network went: it stays one.
    provider.set(revoked());
    w.next_wakeup(&provider);
    provider.set(offline());
    let went = w.clock_now();
    let mut tries = 0;
    while w.clock_now() < went + Duration::days(2) {
        for r in w.next_wakeup(&provider) {
            tries += 1;
            assert_eq!(r.consecutive_auth_failures, 1);
            assert!(r.notice.is_none());
            assert_eq!(r.status, Status::Active);
        }
    }
    // Tried again after 1, 2, 4, 8, 16 hours, then daily: not every minute.
    assert!((5..=8).contains(&tries), "{tries} tries in two days offline");
    assert_eq!(w.reconnection_notices(), 0);
}

#[test]
fn xledger_is_checked_weekly_and_a_period_can_be_set_per_credential_and_integration() {
    let mut w = World::new();
    w.add("xl", "Xledger");
    w.add("pleo", "Pleo");
    let provider = Provider::accepting();
    let schedule = |w: &World, name: &str| w.vault.check_schedule(name, &provider).unwrap();
    assert_eq!(schedule(&w, "xl").every_hours, 168);
    assert_eq!(schedule(&w, "pleo").every_hours, 24);

    let pleo = w.vault.integration_check_schedule("Pleo").unwrap();
    assert_eq!((pleo.own_every_hours, pleo.every_hours), (None, 24));
    assert_eq!(
        w.vault
            .integration_check_schedule("Xledger")
            .unwrap()
            .provider_every_hours,
        168
    );
    w.vault.set_integration_check_every("Pleo", Some(6)).unwrap();
    assert_eq!(schedule(&w, "pleo").every_hours, 6);
    assert_eq!(schedule(&w, "pleo").source, crate::ScheduleSource::Integration);
    w.vault.set_check_every("pleo", Some(0)).unwrap();
    let pleo = w.vault.integration_check_schedule("Pleo").unwrap();
    assert_eq!(
        (
            pleo.own_every_hours,
            pleo.every_hours,
            pleo.source,
            pleo.credentials_overriding
        ),
        (Some(6), 6, crate::ScheduleSource::Integration, 1)
    );
    assert_eq!(schedule(&w, "pleo").every_hours, 0);
    assert_eq!(schedule(&w, "pleo").next_at, None);
    w.vault.set_check_every("pleo", None).unwrap();
    assert_eq!(schedule(&w, "pleo").every_hours, 6);

    // A week of wake-ups: Xledger once, Pleo every 6 hours. Only the
    // wake-ups within the week count: the first one past it may be
    // Xledger's second (when its slot falls in the week's first hours).
    let mut checked = std::collections::BTreeMap::<String, u32>::new();
    let week_end = START + Duration::days(7);
    while w
        .vault
        .health_plan(&provider)
        .unwrap()
        .next_due
        .is_some_and(|t| t < week_end)
    {
        for r in w.next_wakeup(&provider) {
            *checked.entry(r.credential).or_default() += 1;
        }
    }
    assert_eq!(checked["xl"], 1, "{checked:?}");
    assert_eq!(checked["pleo"], 28, "{checked:?}");
    let actions: Vec<String> = w
        .vault
        .audit_events(&AuditFilter::default())
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions.iter().filter(|a| *a == "credential.schedule").count(), 2);
    assert_eq!(actions.iter().filter(|a| *a == "integration.schedule").count(), 1);
}

#[test]
fn the_policy_bounds_the_period_and_refuses_a_longer_one_by_name() {
    let mut w = World::new();
    w.add("xl", "Xledger");
    let policy = crate::Policy::parse("health_check_max_hours = 48\n", std::path::Path::new("policy.toml")).unwrap();
    w.vault.set_policy(policy);
    let provider = Provider::accepting();
    let s = w.vault.check_schedule("xl", &provider).unwrap();
    assert_eq!((s.every_hours, s.source), (48, crate::ScheduleSource::Policy));
    for refused in [Some(0), Some(72)] {
        let e = w.vault.set_check_every("xl", refused).unwrap_err().to_string();
        assert!(e.contains("health_check_max_hours"), "{e}");
    }
    w.vault.set_check_every("xl", Some(12)).unwrap();
    assert_eq!(w.vault.check_schedule("xl", &provider).unwrap().every_hours, 12);
    // The integration page shows the bound, and an integration is held to it.
    let xledger = w.vault.integration_check_schedule("Xledger").unwrap();
    assert_eq!(
        (xledger.every_hours, xledger.source, xledger.policy_max_hours),
        (48, crate::ScheduleSource::Policy, Some(48))
    );
    let e = w
        .vault
        .set_integration_check_every("Xledger", Some(0))
        .unwrap_err()
        .to_string();
    assert!(e.contains("health_check_max_hours"), "{e}");
}

#[test]
fn disabled_credentials_and_those_without_a_live_check_are_never_due() {
    struct NoLiveCheck;
    impl Validator for NoLiveCheck {
        fn validate(&self, _c: &Candidate<'_>) -> Result<Verdict, Rejection> {
            panic!("never asked")
        }
        fn has_live_check(&self, _c: &Candidate<'_>) -> bool {
            false
        }
    }
    let mut w = World::new();
    w.add("pleo", "Pleo");
    w.clock.set(START + Duration::days(3));
    assert!(w.vault.health_plan(&NoLiveCheck).unwrap() == Default::default());
    w.vault.disable_credential("pleo", "left the company").unwrap();
    assert!(w.vault.health_plan(&Provider::accepting()).unwrap() == Default::default());
}

#[test]
fn two_programs_never_check_against_one_provider_at_once() {
    let mut w = World::new();
    assert!(w.vault.claim_check_lease("pleo", "app").unwrap());
    assert!(!w.vault.claim_check_lease("pleo", "kw").unwrap());
    assert!(w.vault.claim_check_lease("xledger", "kw").unwrap());
    w.vault.release_check_lease("pleo", "app").unwrap();
    assert!(w.vault.claim_check_lease("pleo", "kw").unwrap());
    // A holder that died frees the lease when it runs out.
    w.clock.set(START + crate::health::LEASE + Duration::seconds(1));
    assert!(w.vault.claim_check_lease("pleo", "app").unwrap());
}

#[test]
fn a_verdict_on_a_version_replaced_meanwhile_changes_nothing() {
    let mut w = World::new();
    w.add("pleo", "Pleo");
    let provider = Provider::accepting();
    provider.set(revoked());
    for _ in 0..2 {
        w.vault.check_credential("pleo", &provider).unwrap();
    }
    let pending = w.vault.begin_check("pleo", true).unwrap();
    // An admin rotates while the provider is answering.
    w.vault
        .replace_secret(
            "pleo",
            SecretFields::single("api_key", SecretString::from("pleo-key-0002".to_owned())),
            None,
            &Provider::accepting(),
        )
        .unwrap();
    let r = w.vault.finish_check(pending.run(&provider)).unwrap();
    assert_eq!(r.status, Status::Active);
    assert!(r.notice.is_none());
    assert_eq!(w.vault.get_credential("pleo").unwrap().summary.status, Status::Active);
    assert_eq!(provider.calls(), 3);
}

impl World {
    fn clock_now(&self) -> OffsetDateTime {
        self.vault.now()
    }
}
