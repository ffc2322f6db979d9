//! Validate-then-swap rotation through the real vault with the Pleo
//! connector against a fake on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake;

use std::time::Duration;

use base64::Engine;
use fake::{Fake, Reply};
use keywarden_connectors::{Connectors, Options};
use keywarden_core::*;

const ACME: &str = "2b7c1d4e-0000-4000-8000-00000000acme";
const GLOBEX: &str = "9a8b7c6d-0000-4000-8000-0000000globe";
const OLD_KEY: &str = "pleo-old-key-aaaa1111";
const NEW_KEY: &str = "pleo-new-key-bbbb2222";
const GLOBEX_KEY: &str = "pleo-globex-key-cccc3333";

fn basic(key: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{key}:"))
    )
}

/// Pleo's `GET /v1/introspect` as documented: the 200 answer wrapped in
/// `data` (pleo/introspect.200.http) with the key's company and scope, the
/// documented 401 (no body) for a key it does not know.
fn pleo(accepted: &'static [&'static str]) -> Fake {
    Fake::start(move |r| {
        let auth = r.header("authorization").unwrap_or_default().to_owned();
        let company = if auth == basic(GLOBEX_KEY) { GLOBEX } else { ACME };
        if accepted.iter().any(|k| basic(k) == auth) || auth == basic(GLOBEX_KEY) {
            Reply::fixture("pleo/introspect.200.http", |b| {
                b["data"]["subjectURN"] = format!("urn:pleo:company:{company}").into();
                b["data"]["scope"] = "export:read".into();
            })
        } else {
            Reply::documented("pleo/introspect.401.http")
        }
    })
}

fn connectors(prod: &Fake, staging: &Fake) -> Connectors {
    Connectors::new(Options {
        allow_loopback_http: true,
        timeout: Duration::from_secs(2),
        pleo_production: prod.base.clone(),
        pleo_staging: staging.base.clone(),
        ..Options::default()
    })
}

fn actor() -> Actor {
    Actor {
        profile: "test-admin".into(),
        os_user: "tester".into(),
        host: "testhost".into(),
    }
}

fn vault_with_pleo() -> (tempfile::TempDir, Vault) {
    let dir = tempfile::tempdir().unwrap();
    let (mut v, _) = Vault::create(&dir.path().join("v"), KeySource::Keychain, actor()).unwrap();
    v.add_integration(NewIntegration {
        name: "pleo-acme".into(),
        provider: "pleo".into(),
        environment: "production".into(),
        tenant_id: Some(ACME.into()),
        scopes: vec!["export:read".into()],
        sync_schedule: Some("0 2 * * *".into()),
        ..Default::default()
    })
    .unwrap();
    v.add_credential(NewCredential {
        name: "pleo".into(),
        kind: Some(CredentialKind::ApiKey),
        integration: Some("pleo-acme".into()),
        secrets: SecretFields::single("api_key", SecretString::from(OLD_KEY.to_owned())),
        ..Default::default()
    })
    .unwrap();
    (dir, v)
}

fn current_secret(v: &mut Vault) -> String {
    v.use_secret("pleo", "test")
        .unwrap()
        .get("api_key")
        .unwrap()
        .expose_secret()
        .to_owned()
}

fn new_secret(key: &str) -> SecretFields {
    SecretFields::single("api_key", SecretString::from(key.to_owned()))
}

#[test]
fn a_key_the_provider_rejects_leaves_the_old_one_current_and_the_integration_untouched() {
    let (prod, staging) = (pleo(&[OLD_KEY]), pleo(&[]));
    let (_d, mut v) = vault_with_pleo();
    let before = v.get_integration("pleo-acme").unwrap();
    let err = v
        .replace_secret("pleo", new_secret(NEW_KEY), None, &connectors(&prod, &staging))
        .unwrap_err();
    match &err {
        Error::ValidationRejected { failure } => assert!(matches!(failure, Failure::InvalidCredential { .. })),
        other => panic!("{other}"),
    }
    assert!(!err.to_string().contains(NEW_KEY));
    assert_eq!(current_secret(&mut v), OLD_KEY);
    assert_eq!(v.get_integration("pleo-acme").unwrap(), before);
    let cred = v.get_credential("pleo").unwrap();
    assert_eq!(cred.summary.current_version, 1);
    let failed = v
        .audit_events(&AuditFilter::default())
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "credential.rotate" && e.outcome == Outcome::Failure)
        .count();
    assert_eq!(failed, 1);
    assert!(prod.requests().iter().all(|r| !r.uri.contains(NEW_KEY)));
}

#[test]
fn a_key_of_another_company_is_refused_and_the_old_one_kept() {
    let (prod, staging) = (pleo(&[OLD_KEY]), pleo(&[]));
    let (_d, mut v) = vault_with_pleo();
    let err = v
        .replace_secret("pleo", new_secret(GLOBEX_KEY), None, &connectors(&prod, &staging))
        .unwrap_err();
    match err {
        Error::ValidationRejected {
            failure: Failure::WrongTenant { expected, actual },
        } => assert_eq!((expected.as_str(), actual.as_str()), (ACME, GLOBEX)),
        other => panic!("{other}"),
    }
    assert_eq!(current_secret(&mut v), OLD_KEY);
}

#[test]
fn a_key_the_provider_accepts_for_the_same_company_is_swapped_in() {
    let (prod, staging) = (pleo(&[OLD_KEY, NEW_KEY]), pleo(&[]));
    let (_d, mut v) = vault_with_pleo();
    let cred = v
        .replace_secret("pleo", new_secret(NEW_KEY), None, &connectors(&prod, &staging))
        .unwrap();
    assert_eq!(cred.summary.current_version, 2);
    assert!(cred.summary.last_validated_at.is_some());
    assert_eq!(current_secret(&mut v), NEW_KEY);
    assert_eq!(
        v.get_integration("pleo-acme").unwrap().sync_schedule.as_deref(),
        Some("0 2 * * *")
    );
}

#[test]
fn test_connection_records_the_live_verdict_and_three_rejections_require_reconnection() {
    let (prod, staging) = (pleo(&[OLD_KEY]), pleo(&[]));
    let (_d, mut v) = vault_with_pleo();
    let c = connectors(&prod, &staging);
    let ok = v.check_credential("pleo", &c).unwrap();
    match &ok.check.outcome {
        CheckOutcome::Valid { verdict } => assert_eq!(verdict.tenant_id.as_deref(), Some(ACME)),
        other => panic!("{other:?}"),
    }
    assert!(!ok.check.offline);
    // The key is revoked at Pleo.
    let (prod2, staging2) = (pleo(&[]), pleo(&[]));
    let revoked = connectors(&prod2, &staging2);
    for n in 1..=3 {
        let r = v.check_credential("pleo", &revoked).unwrap();
        assert_eq!(r.consecutive_auth_failures, n);
        assert_eq!(r.reconnection_required, n == 3);
    }
    assert_eq!(v.get_credential("pleo").unwrap().summary.status, Status::Error);
}
