//! OAuth 2.0 against a fake token endpoint: client credentials, refresh
//! with a rotated refresh token kept by the vault, and RFC 6749 errors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fake::{Fake, Recorded, Reply};
use keywarden_connectors::{Connectors, Options};
use keywarden_core::*;
use serde_json::json;

const CLIENT_SECRET: &str = "oauth-client-secret-1a2b3c";

fn form(body: &str) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(body.as_bytes()).into_owned().collect()
}

/// A token endpoint that rotates refresh tokens: each valid refresh token
/// works once and is answered with its successor.
fn token_endpoint(first_refresh: &str) -> (Fake, Arc<Mutex<String>>) {
    let live = Arc::new(Mutex::new(first_refresh.to_owned()));
    let current = live.clone();
    let fake = Fake::start(move |r: &Recorded| {
        let f = form(&r.body);
        if f.get("client_secret").map(String::as_str) != Some(CLIENT_SECRET) {
            return Reply::json(401, json!({"error": "invalid_client"}));
        }
        match f.get("grant_type").map(String::as_str) {
            Some("client_credentials") => Reply::json(
                200,
                json!({"access_token": "at-cc", "token_type": "Bearer", "expires_in": 3600, "scope": "ledger.read"}),
            ),
            Some("refresh_token") => {
                let mut live = current.lock().unwrap();
                if f.get("refresh_token") != Some(&*live) {
                    return Reply::json(400, json!({"error": "invalid_grant"}));
                }
                let next = format!("rt-rotated-{:06}-7f3c9a", live.len() * 7 + 1);
                *live = next.clone();
                Reply::json(
                    200,
                    json!({"access_token": "at-rt", "token_type": "Bearer", "expires_in": 3600,
                           "refresh_token": next, "refresh_token_expires_in": 86400}),
                )
            }
            _ => Reply::json(400, json!({"error": "unsupported_grant_type"})),
        }
    });
    (fake, live)
}

fn connectors() -> Connectors {
    Connectors::new(Options {
        allow_loopback_http: true,
        timeout: Duration::from_secs(2),
        ..Options::default()
    })
}

fn actor() -> Actor {
    Actor {
        profile: "t".into(),
        os_user: "t".into(),
        host: "t".into(),
    }
}

fn oauth(name: &str, token_url: &str, grant: &str, refresh: Option<&str>) -> NewCredential {
    let mut secrets = SecretFields::single("client_secret", SecretString::from(CLIENT_SECRET.to_owned()));
    if let Some(rt) = refresh {
        secrets.insert("refresh_token", SecretString::from(rt.to_owned()));
    }
    NewCredential {
        name: name.into(),
        kind: Some(CredentialKind::OAuth2),
        config: [
            ("token_url".to_owned(), token_url.to_owned()),
            ("client_id".to_owned(), "client-7".to_owned()),
            ("grant_type".to_owned(), grant.to_owned()),
        ]
        .into(),
        secrets,
        ..Default::default()
    }
}

fn stored(v: &mut Vault, name: &str, field: &str) -> String {
    v.use_secret(name, "test")
        .unwrap()
        .get(field)
        .unwrap()
        .expose_secret()
        .to_owned()
}

#[test]
fn client_credentials_post_the_secret_in_the_form_body_never_the_url() {
    let (f, _) = token_endpoint("rt-unused");
    let dir = tempfile::tempdir().unwrap();
    let (mut v, _) = Vault::create(&dir.path().join("v"), KeySource::Keychain, actor()).unwrap();
    v.add_credential(oauth(
        "cc",
        &format!("{}/oauth/token", f.base),
        "client_credentials",
        None,
    ))
    .unwrap();
    let report = v.check_credential("cc", &connectors()).unwrap();
    assert!(matches!(report.check.outcome, CheckOutcome::Valid { .. }), "{report:?}");
    let req = &f.requests()[0];
    assert_eq!((req.method.as_str(), req.uri.as_str()), ("POST", "/oauth/token"));
    let body = form(&req.body);
    assert_eq!(body["grant_type"], "client_credentials");
    assert_eq!(body["client_id"], "client-7");
    assert!(!req.uri.contains(CLIENT_SECRET));
}

#[test]
fn a_refresh_that_returns_a_new_refresh_token_keeps_the_new_one_and_discards_the_old() {
    let (f, live) = token_endpoint("rt-first-0001");
    let dir = tempfile::tempdir().unwrap();
    let (mut v, _) = Vault::create(&dir.path().join("v"), KeySource::Keychain, actor()).unwrap();
    let url = format!("{}/oauth/token", f.base);
    v.add_credential(oauth("rt", &url, "refresh_token", Some("rt-first-0001")))
        .unwrap();
    let first = v.check_credential("rt", &connectors()).unwrap();
    assert!(matches!(first.check.outcome, CheckOutcome::Valid { .. }), "{first:?}");
    let issued = live.lock().unwrap().clone();
    assert_eq!(stored(&mut v, "rt", "refresh_token"), issued, "the successor is stored");
    assert_eq!(stored(&mut v, "rt", "client_secret"), CLIENT_SECRET);
    let cred = v.get_credential("rt").unwrap();
    assert_eq!(cred.summary.current_version, 2);
    assert!(
        cred.summary.expires_at.is_some(),
        "refresh_token_expires_in became expires_at"
    );
    // The old one is gone from every version; the next check uses the new one.
    let second = v.check_credential("rt", &connectors()).unwrap();
    assert!(matches!(second.check.outcome, CheckOutcome::Valid { .. }), "{second:?}");
    assert_eq!(v.get_credential("rt").unwrap().summary.current_version, 3);
}

#[test]
fn invalid_grant_on_refresh_says_reconnect() {
    let (f, _) = token_endpoint("rt-live-0001");
    let dir = tempfile::tempdir().unwrap();
    let (mut v, _) = Vault::create(&dir.path().join("v"), KeySource::Keychain, actor()).unwrap();
    let url = format!("{}/oauth/token", f.base);
    v.add_credential(oauth("rt", &url, "refresh_token", Some("rt-revoked-9999")))
        .unwrap();
    let report = v.check_credential("rt", &connectors()).unwrap();
    match report.check.outcome {
        CheckOutcome::Failed {
            failure: Failure::InvalidCredential { detail },
        } => assert!(detail.contains("reconnect"), "{detail}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        stored(&mut v, "rt", "refresh_token"),
        "rt-revoked-9999",
        "nothing replaced"
    );
}

#[test]
fn rotating_a_refresh_token_stores_what_the_provider_issued_for_it() {
    let (f, live) = token_endpoint("rt-typed-by-admin");
    let dir = tempfile::tempdir().unwrap();
    let (mut v, _) = Vault::create(&dir.path().join("v"), KeySource::Keychain, actor()).unwrap();
    let url = format!("{}/oauth/token", f.base);
    v.add_credential(oauth("rt", &url, "refresh_token", Some("rt-old-0000")))
        .unwrap();
    let mut new = SecretFields::single("client_secret", SecretString::from(CLIENT_SECRET.to_owned()));
    new.insert("refresh_token", SecretString::from("rt-typed-by-admin".to_owned()));
    v.replace_secret("rt", new, None, &connectors()).unwrap();
    let issued = live.lock().unwrap().clone();
    assert_ne!(issued, "rt-typed-by-admin");
    assert_eq!(stored(&mut v, "rt", "refresh_token"), issued);
}

#[test]
fn rfc6749_errors_and_throttling_become_verdicts() {
    let answers = |status: u16, error: &'static str| {
        Fake::start(move |_| Reply::json(status, json!({ "error": error })).with_header("retry-after", "3"))
    };
    let dir = tempfile::tempdir().unwrap();
    let (mut v, _) = Vault::create(&dir.path().join("v"), KeySource::Keychain, actor()).unwrap();
    type Expect = fn(&Failure) -> bool;
    let cases: [(u16, &str, Expect); 4] = [
        (401, "invalid_client", |f| {
            matches!(f, Failure::InvalidCredential { .. })
        }),
        (400, "invalid_scope", |f| matches!(f, Failure::InsufficientScope { .. })),
        (429, "slow_down", |f| {
            matches!(
                f,
                Failure::RateLimited {
                    retry_after_secs: Some(3),
                    ..
                }
            )
        }),
        (400, "unsupported_grant_type", |f| {
            matches!(f, Failure::Provider { status: Some(400), .. })
        }),
    ];
    for (n, (status, error, expect)) in cases.into_iter().enumerate() {
        let f = answers(status, error);
        let name = format!("cc{n}");
        v.add_credential(oauth(&name, &format!("{}/token", f.base), "client_credentials", None))
            .unwrap();
        let report = v.check_credential(&name, &connectors()).unwrap();
        match &report.check.outcome {
            CheckOutcome::Failed { failure } => assert!(expect(failure), "{error}: {failure:?}"),
            other => panic!("{error}: {other:?}"),
        }
    }
}

#[test]
fn an_unreachable_or_untrusted_token_endpoint_has_its_verdict_and_gets_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let (mut v, _) = Vault::create(&dir.path().join("v"), KeySource::Keychain, actor()).unwrap();
    let tls = fake::UntrustedTls::start();
    let closed = format!("http://127.0.0.1:{}/token", fake::closed_port());
    v.add_credential(oauth("tls", &format!("{}/token", tls.base), "client_credentials", None))
        .unwrap();
    v.add_credential(oauth("down", &closed, "client_credentials", None))
        .unwrap();
    let outcome = |v: &mut Vault, name: &str| v.check_credential(name, &connectors()).unwrap().check.outcome;
    match outcome(&mut v, "tls") {
        CheckOutcome::Failed { failure } => {
            assert!(matches!(failure, Failure::Tls { .. }), "{failure:?}");
            assert!(!format!("{failure:?}").contains(CLIENT_SECRET));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(tls.plaintext_bytes(), 0);
    match outcome(&mut v, "down") {
        CheckOutcome::Failed { failure } => assert!(matches!(failure, Failure::Unreachable { .. }), "{failure:?}"),
        other => panic!("{other:?}"),
    }
}
