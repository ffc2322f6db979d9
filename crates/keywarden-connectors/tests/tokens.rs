//! Access tokens through the broker against a fake token endpoint on
//! 127.0.0.1: ahead-of-expiry refresh, a rotated refresh token kept, one
//! refresh for 20 concurrent users, and invalid_grant → error + reconnect.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fake::{Fake, Recorded, Reply};
use keywarden_connectors::Options;
use keywarden_connectors::tokens::TokenBroker;
use keywarden_core::Clock;
use keywarden_core::{
    Actor, CredentialKind, Error, ExposeSecret, Failure, KeySource, ManualClock, NewCredential, SecretFields,
    SecretString, Status, Vault,
};

const CLIENT_SECRET: &str = "cs-broker-canary-5d1e9f";

struct Endpoint {
    fake: Fake,
    refreshes: Arc<AtomicUsize>,
    live: Arc<Mutex<String>>,
    revoked: Arc<AtomicBool>,
}

/// Entra's token endpoint as documented (tests/fixtures/providers/entra):
/// each valid refresh token works once and is answered, after 200 ms, with
/// the documented refresh answer carrying a new access token and its
/// successor refresh token (`expires_in` 3599 as documented); a revoked or
/// spent one gets the documented `invalid_grant`, a wrong secret the
/// documented `invalid_client` (AADSTS7000215).
fn endpoint() -> Endpoint {
    let refreshes = Arc::new(AtomicUsize::new(0));
    let live = Arc::new(Mutex::new("rt-initial-000000".to_owned()));
    let revoked = Arc::new(AtomicBool::new(false));
    let (n, current, gone) = (refreshes.clone(), live.clone(), revoked.clone());
    let fake = Fake::start(move |r: &Recorded| {
        let f: BTreeMap<String, String> = url::form_urlencoded::parse(r.body.as_bytes()).into_owned().collect();
        if f.get("client_secret").map(String::as_str) != Some(CLIENT_SECRET) {
            return Reply::documented("entra/token.error.AADSTS7000215.401.http");
        }
        let mut live = current.lock().unwrap();
        if gone.load(Ordering::SeqCst) || f.get("refresh_token") != Some(&*live) {
            return Reply::documented("entra/token.error.invalid-grant.400.http");
        }
        let k = n.fetch_add(1, Ordering::SeqCst) + 1;
        *live = format!("rt-rotated-{k:06}");
        let next = live.clone();
        Reply::fixture("entra/token.refresh.200.http", move |b| {
            b["access_token"] = format!("at-{k:03}").into();
            b["refresh_token"] = next.into();
            b["scope"] = "https://api.businesscentral.dynamics.com/.default".into();
        })
        .after(Duration::from_millis(200))
    });
    Endpoint {
        fake,
        refreshes,
        live,
        revoked,
    }
}

fn setup(e: &Endpoint) -> (tempfile::TempDir, Arc<Mutex<Vault>>, ManualClock) {
    let dir = tempfile::tempdir().unwrap();
    let actor = Actor {
        profile: "t".into(),
        os_user: "t".into(),
        host: "t".into(),
    };
    let (mut v, _) = Vault::create(&dir.path().join("v"), KeySource::Keychain, actor).unwrap();
    let clock = ManualClock::at(time::OffsetDateTime::now_utc());
    v.set_clock(Arc::new(clock.clone()));
    let mut secrets = SecretFields::single("client_secret", SecretString::from(CLIENT_SECRET.to_owned()));
    secrets.insert("refresh_token", SecretString::from("rt-initial-000000".to_owned()));
    v.add_credential(NewCredential {
        name: "BC payroll".into(),
        kind: Some(CredentialKind::OAuth2),
        config: [
            ("token_url".to_owned(), format!("{}/oauth2/token", e.fake.base)),
            ("client_id".to_owned(), "payroll-app".to_owned()),
            ("grant_type".to_owned(), "refresh_token".to_owned()),
        ]
        .into(),
        secrets,
        ..Default::default()
    })
    .unwrap();
    (dir, Arc::new(Mutex::new(v)), clock)
}

fn broker(vault: &Arc<Mutex<Vault>>) -> TokenBroker<Arc<Mutex<Vault>>> {
    TokenBroker::new(
        vault.clone(),
        Options {
            allow_loopback_http: true,
            timeout: Duration::from_secs(5),
            ..Options::default()
        },
    )
}

fn stored_refresh_token(vault: &Arc<Mutex<Vault>>) -> String {
    vault
        .lock()
        .unwrap()
        .use_secret("BC payroll", "test")
        .unwrap()
        .get("refresh_token")
        .unwrap()
        .expose_secret()
        .to_owned()
}

#[test]
fn twenty_concurrent_users_cause_one_refresh_and_the_rotated_refresh_token_is_kept() {
    let e = endpoint();
    let (_d, vault, _clock) = setup(&e);
    let broker = Arc::new(broker(&vault));
    let tokens: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..20)
            .map(|i| {
                let b = broker.clone();
                s.spawn(move || {
                    b.access_token("BC payroll", &format!("payroll run, worker {i}"))
                        .unwrap()
                        .expose_secret()
                        .to_owned()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(e.refreshes.load(Ordering::SeqCst), 1, "one refresh for 20 users");
    assert!(tokens.iter().all(|t| t == "at-001"), "{tokens:?}");
    // The provider rotated the refresh token: the vault holds the new one
    // (a new version), and the spent one is gone.
    assert_eq!(stored_refresh_token(&vault), *e.live.lock().unwrap());
    let v = vault.lock().unwrap();
    let c = v.get_credential("BC payroll").unwrap();
    assert_eq!(c.summary.current_version, 2);
    let audit = v
        .audit_events(&keywarden_core::AuditFilter {
            action: Some("credential.refresh".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(audit.len(), 1, "every refresh audited, once");
    assert!(
        audit[0].detail.contains("rotated the refresh token"),
        "{}",
        audit[0].detail
    );
    let uses = v
        .audit_events(&keywarden_core::AuditFilter {
            action: Some("credential.use".into()),
            ..Default::default()
        })
        .unwrap();
    assert!(uses.len() >= 20, "every hand-out audited: {}", uses.len());
    for ev in uses.iter().chain(&audit) {
        assert!(
            !ev.detail.contains("at-001") && !ev.detail.contains(CLIENT_SECRET),
            "{}",
            ev.detail
        );
    }
}

#[test]
fn the_cached_token_serves_until_five_minutes_before_expiry_then_it_is_refreshed() {
    let e = endpoint();
    let (_d, vault, clock) = setup(&e);
    let b = broker(&vault);
    assert_eq!(b.access_token("BC payroll", "sync").unwrap().expose_secret(), "at-001");
    clock.advance(time::Duration::minutes(54));
    assert_eq!(b.access_token("BC payroll", "sync").unwrap().expose_secret(), "at-001");
    assert_eq!(e.refreshes.load(Ordering::SeqCst), 1, "still valid beyond the margin");
    clock.advance(time::Duration::minutes(2)); // under 4 minutes left
    assert_eq!(b.access_token("BC payroll", "sync").unwrap().expose_secret(), "at-002");
    assert_eq!(e.refreshes.load(Ordering::SeqCst), 2, "refreshed ahead of expiry");
    assert_eq!(stored_refresh_token(&vault), "rt-rotated-000002");
    // The request carried the refresh token in the form body only.
    let reqs = e.fake.requests();
    assert!(reqs.iter().all(|r| r.uri == "/oauth2/token" && !r.uri.contains("rt-")));
}

#[test]
fn invalid_grant_puts_the_credential_in_error_and_asks_for_reconnection() {
    let e = endpoint();
    let (_d, vault, _clock) = setup(&e);
    let b = broker(&vault);
    e.revoked.store(true, Ordering::SeqCst);
    let err = b.access_token("BC payroll", "sync").unwrap_err();
    match &err {
        Error::ValidationRejected {
            failure: Failure::InvalidCredential { detail },
        } => {
            assert!(detail.contains("reconnect"), "{detail}");
            // Entra's error_description (AADSTS70008, trace ids) is its
            // free text: never repeated.
            assert!(!detail.contains("AADSTS") && !detail.contains("Trace ID"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    let v = vault.lock().unwrap();
    let c = v.get_credential("BC payroll").unwrap();
    assert_eq!(c.summary.status, Status::Error, "reconnection required at once");
    let checks = v.recent_checks("BC payroll", 5).unwrap();
    assert_eq!(checks.len(), 1, "the refusal is in the check history the app shows");
    assert!(!format!("{err:?}").contains("rt-initial"));
}

#[test]
fn refresh_now_asks_the_endpoint_even_with_a_valid_token_cached_and_the_state_shows_no_token() {
    let e = endpoint();
    let (_d, vault, clock) = setup(&e);
    let b = broker(&vault);
    let state = |v: &Arc<Mutex<Vault>>| v.lock().unwrap().access_token_state("BC payroll").unwrap();
    assert!(!state(&vault).cached, "nothing cached before the first use");
    assert_eq!(b.access_token("BC payroll", "sync").unwrap().expose_secret(), "at-001");
    let first = state(&vault);
    assert!(first.cached && first.valid);
    // (Stored to the second.)
    let near = |t: Option<time::OffsetDateTime>, want: time::OffsetDateTime| {
        t.is_some_and(|t| (t - want).abs() < time::Duration::seconds(1))
    };
    assert!(
        near(first.valid_until, clock.now() + time::Duration::seconds(3599)),
        "the documented expires_in: {:?}",
        first.valid_until
    );
    // "Refresh" while the cached token is still valid: asked now.
    clock.advance(time::Duration::minutes(1));
    let until = b.refresh_now("BC payroll").unwrap();
    assert_eq!(e.refreshes.load(Ordering::SeqCst), 2);
    assert!(near(until, clock.now() + time::Duration::seconds(3599)), "{until:?}");
    let second = state(&vault);
    assert!(near(second.obtained_at, clock.now()), "{:?}", second.obtained_at);
    assert_eq!(b.access_token("BC payroll", "sync").unwrap().expose_secret(), "at-002");
    // The state is read, not a use: no token in it, nothing audited.
    let shown = serde_json::to_string(&second).unwrap();
    assert!(!shown.contains("at-00") && !shown.contains("rt-"), "{shown}");
    // Past its expiry the token is cached but not valid; after a refused
    // refresh nothing is cached.
    clock.advance(time::Duration::hours(2));
    assert!(!state(&vault).valid);
    e.revoked.store(true, Ordering::SeqCst);
    assert!(b.refresh_now("BC payroll").is_err());
    assert!(!state(&vault).cached);
}
