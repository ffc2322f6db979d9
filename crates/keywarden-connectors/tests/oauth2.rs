//! OAuth 2.0 against a fake token endpoint: client credentials, refresh
//! with a rotated refresh token kept by the vault, and RFC 6749 errors.
//! The fake answers as the documents do (tests/fixtures/providers): RFC
//! 6749's and RFC 6750's examples, Entra's documented answers, RFC 6585's
//! 429, changed only in tokens, scopes and error codes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fake::{Fake, Recorded, Reply};
use keywarden_connectors::{Connectors, Options};
use keywarden_core::*;

const CLIENT_SECRET: &str = "oauth-client-secret-1a2b3c";

fn form(body: &str) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(body.as_bytes()).into_owned().collect()
}

/// RFC 6749 §5.2's error answer with `error` set to `code`, one of the
/// codes §5.2 lists (the RFC's example shows `invalid_request`).
fn refusal(code: &str) -> Reply {
    let code = code.to_owned();
    Reply::fixture("rfc6749/token.error.invalid-request.400.http", move |b| {
        b["error"] = code.into();
    })
}

/// RFC 6749 §4.4.3's client-credentials answer with this test's token.
/// Its `token_type` is the RFC's placeholder "example"; a Bearer token's
/// answer says "Bearer" (RFC 6750 §4 shows the same answer so).
fn client_credentials_answer() -> Reply {
    Reply::fixture("rfc6749/token.client-credentials.200.http", |b| {
        b["access_token"] = "at-cc".into();
        b["token_type"] = "Bearer".into();
    })
}

/// A token endpoint that rotates refresh tokens: each valid refresh token
/// works once and is answered with its successor (RFC 6750 §4's answer,
/// which carries a refresh token). A wrong secret gets `invalid_client`
/// with 400: the client authenticates in the form body, not with an
/// Authorization header, so §5.2 does not call for 401.
fn token_endpoint(first_refresh: &str) -> (Fake, Arc<Mutex<String>>) {
    let live = Arc::new(Mutex::new(first_refresh.to_owned()));
    let current = live.clone();
    let fake = Fake::start(move |r: &Recorded| {
        let f = form(&r.body);
        if f.get("client_secret").map(String::as_str) != Some(CLIENT_SECRET) {
            return refusal("invalid_client");
        }
        match f.get("grant_type").map(String::as_str) {
            Some("client_credentials") => client_credentials_answer(),
            Some("refresh_token") => {
                let mut live = current.lock().unwrap();
                if f.get("refresh_token") != Some(&*live) {
                    return refusal("invalid_grant");
                }
                let next = format!("rt-rotated-{:06}-7f3c9a", live.len() * 7 + 1);
                *live = next.clone();
                Reply::fixture("rfc6750/token.200.http", move |b| {
                    b["access_token"] = "at-rt".into();
                    b["refresh_token"] = next.into();
                })
            }
            _ => refusal("unsupported_grant_type"),
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
    // The documented answer says nothing of the refresh token's life (no
    // `refresh_token_expires_in`), so no expiry is invented for it.
    assert_eq!(cred.summary.expires_at, None);
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
    let dir = tempfile::tempdir().unwrap();
    let (mut v, _) = Vault::create(&dir.path().join("v"), KeySource::Keychain, actor()).unwrap();
    type Expect = fn(&Failure) -> bool;
    type Case = (&'static str, fn() -> Reply, Expect);
    let invalid_client: Expect =
        |f| matches!(f, Failure::InvalidCredential { detail } if detail.contains("invalid_client"));
    let cases: [Case; 7] = [
        ("invalid_client", || refusal("invalid_client"), invalid_client),
        (
            "invalid_grant",
            || refusal("invalid_grant"),
            |f| matches!(f, Failure::InvalidCredential { detail } if detail == "invalid_grant"),
        ),
        (
            "invalid_scope",
            || refusal("invalid_scope"),
            |f| matches!(f, Failure::InsufficientScope { .. }),
        ),
        (
            "unsupported_grant_type",
            || refusal("unsupported_grant_type"),
            |f| matches!(f, Failure::Provider { status: Some(400), detail } if detail.contains("unsupported_grant_type")),
        ),
        (
            "429",
            || Reply::documented("rfc6585/too-many-requests.429.http").with_header("retry-after", "3"),
            |f| {
                matches!(
                    f,
                    Failure::RateLimited {
                        retry_after_secs: Some(3),
                        ..
                    }
                )
            },
        ),
        // Entra's documented refusals: the same codes, with free text
        // (AADSTS…, trace ids) a verdict must not repeat.
        (
            "entra invalid_client",
            || Reply::documented("entra/token.error.AADSTS7000215.401.http"),
            invalid_client,
        ),
        (
            "entra invalid_scope",
            || Reply::documented("entra/token.error.400.http"),
            |f| matches!(f, Failure::InsufficientScope { .. }),
        ),
    ];
    for (n, (case, reply, expect)) in cases.into_iter().enumerate() {
        let f = Fake::start(move |_| reply());
        let name = format!("cc{n}");
        v.add_credential(oauth(&name, &format!("{}/token", f.base), "client_credentials", None))
            .unwrap();
        let report = v.check_credential(&name, &connectors()).unwrap();
        match &report.check.outcome {
            CheckOutcome::Failed { failure } => {
                assert!(expect(failure), "{case}: {failure:?}");
                let said = format!("{failure:?} {failure}");
                for free_text in ["AADSTS", "Trace ID", "Invalid client secret", "not valid", "<html>"] {
                    assert!(!said.contains(free_text), "{case}: {said}");
                }
            }
            other => panic!("{case}: {other:?}"),
        }
    }
}

#[test]
fn unauthorized_client_says_the_grant_type_is_not_allowed_not_that_the_secret_is_wrong() {
    let f = Fake::start(|_| refusal("unauthorized_client"));
    let dir = tempfile::tempdir().unwrap();
    let (mut v, _) = Vault::create(&dir.path().join("v"), KeySource::Keychain, actor()).unwrap();
    v.add_credential(oauth("cc", &format!("{}/token", f.base), "client_credentials", None))
        .unwrap();
    match v.check_credential("cc", &connectors()).unwrap().check.outcome {
        CheckOutcome::Failed {
            failure: failure @ Failure::Provider { status: Some(400), .. },
        } => {
            let said = failure.to_string();
            assert!(said.contains("unauthorized_client"), "{said}");
            assert!(said.contains("may not use the client_credentials grant"), "{said}");
            assert!(!said.contains("secret"), "{said}");
            assert!(!failure.is_auth_failure(), "the secret itself was not refused");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_answer_that_is_not_a_bearer_token_is_refused() {
    // RFC 6749 §4.4.3's answer as printed: its token_type is "example".
    let f = Fake::start(|_| Reply::documented("rfc6749/token.client-credentials.200.http"));
    let dir = tempfile::tempdir().unwrap();
    let (mut v, _) = Vault::create(&dir.path().join("v"), KeySource::Keychain, actor()).unwrap();
    v.add_credential(oauth("cc", &format!("{}/token", f.base), "client_credentials", None))
        .unwrap();
    match v.check_credential("cc", &connectors()).unwrap().check.outcome {
        CheckOutcome::Failed {
            failure: Failure::Provider {
                status: Some(200),
                detail,
            },
        } => {
            assert!(detail.contains("not a bearer token"), "{detail}");
            assert!(!detail.contains("example"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    // The same answer saying "bearer" in lower case is one (§5.1: the
    // value is case insensitive).
    let f = Fake::start(|_| {
        Reply::fixture("rfc6749/token.client-credentials.200.http", |b| {
            b["token_type"] = "bearer".into();
        })
    });
    v.add_credential(oauth("cc2", &format!("{}/token", f.base), "client_credentials", None))
        .unwrap();
    let report = v.check_credential("cc2", &connectors()).unwrap();
    assert!(matches!(report.check.outcome, CheckOutcome::Valid { .. }), "{report:?}");
}

/// An integration needing `scopes`, and an OAuth credential of it that
/// requests `requested`.
fn scoped(v: &mut Vault, name: &str, token_url: &str, grant: &str, requested: &str, scopes: &[&str]) {
    v.add_integration(NewIntegration {
        name: format!("{name}-ledger"),
        provider: "acme-ledger".into(),
        environment: "production".into(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    })
    .unwrap();
    let refresh = (grant == "refresh_token").then_some("rt-scoped-0001");
    let mut c = oauth(name, token_url, grant, refresh);
    c.config.insert("scope".into(), requested.into());
    c.integration = Some(format!("{name}-ledger"));
    v.add_credential(c).unwrap();
}

#[test]
fn an_answer_without_scope_granted_the_requested_scope() {
    // RFC 6749 §4.4.3's answer has no `scope`: §3.3 and §5.1 say the
    // server then granted what was requested.
    let f = Fake::start(|_| client_credentials_answer());
    let url = format!("{}/token", f.base);
    let dir = tempfile::tempdir().unwrap();
    let (mut v, _) = Vault::create(&dir.path().join("v"), KeySource::Keychain, actor()).unwrap();
    scoped(
        &mut v,
        "enough",
        &url,
        "client_credentials",
        "ledger.read ledger.write",
        &["ledger.read"],
    );
    scoped(
        &mut v,
        "short",
        &url,
        "client_credentials",
        "ledger.read",
        &["ledger.read", "ledger.write"],
    );
    match v.check_credential("enough", &connectors()).unwrap().check.outcome {
        CheckOutcome::Valid { verdict } => assert_eq!(verdict.scopes, ["ledger.read", "ledger.write"]),
        other => panic!("{other:?}"),
    }
    match v.check_credential("short", &connectors()).unwrap().check.outcome {
        CheckOutcome::Failed {
            failure: Failure::InsufficientScope { missing },
        } => assert_eq!(missing, ["ledger.write"]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_scope_the_answer_states_is_the_scope_granted() {
    // Entra's documented refresh answer states its scope; here the server
    // granted less than was requested.
    let f = Fake::start(|_| {
        Reply::fixture("entra/token.refresh.200.http", |b| {
            b["scope"] = "ledger.read".into();
            b["refresh_token"] = "rt-scoped-0002".into();
        })
    });
    let dir = tempfile::tempdir().unwrap();
    let (mut v, _) = Vault::create(&dir.path().join("v"), KeySource::Keychain, actor()).unwrap();
    let url = format!("{}/token", f.base);
    scoped(
        &mut v,
        "rt",
        &url,
        "refresh_token",
        "ledger.read ledger.write",
        &["ledger.read", "ledger.write"],
    );
    match v.check_credential("rt", &connectors()).unwrap().check.outcome {
        CheckOutcome::Failed {
            failure: Failure::InsufficientScope { missing },
        } => assert_eq!(missing, ["ledger.write"]),
        other => panic!("{other:?}"),
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
