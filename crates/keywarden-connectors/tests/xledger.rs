//! The Xledger validator against a fake of its GraphQL endpoint.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake;

use std::collections::BTreeMap;
use std::time::Duration;

use fake::{Fake, Recorded, Reply};
use keywarden_connectors::Options;
use keywarden_connectors::xledger::{QUERY, Xledger};
use keywarden_core::{Candidate, CredentialKind, Failure, Integration, SecretFields, SecretString, Validator, Verdict};
use serde_json::json;

const GOOD: &str = "xl-token-good-5c2e7a";
const BROKE: &str = "xl-token-nocredits-3b3b";
const BUSY: &str = "xl-token-busy-7a7a";
const ODD: &str = "xl-token-odd-error-2d2d";

/// Xledger's GraphQL endpoint. Xledger publishes no sample answers: a good
/// token gets the GraphQL spec's `data` answer (xledger/graphql.200.http);
/// the two codes Xledger's own sample client reads,
/// BAD_REQUEST.INSUFFICIENT_CREDITS and BAD_REQUEST.BURST_RATE_LIMIT_REACHED,
/// come as its fixtures show them; ODD gets the spec's error with a code
/// under `extensions`. Xledger documents no answer to a token it rejects:
/// the closest documented one is RFC 6750 §3's 401 for a bad token.
fn xledger() -> Fake {
    Fake::start(|r: &Recorded| match r.header("authorization").unwrap_or_default() {
        a if a == format!("token {GOOD}") => Reply::documented("xledger/graphql.200.http"),
        a if a == format!("token {BROKE}") => {
            Reply::documented("xledger/graphql.error.bad-request.insufficient-credits.http")
        }
        a if a == format!("token {BUSY}") => {
            Reply::documented("xledger/graphql.error.bad-request.burst-rate-limit-reached.http")
        }
        a if a == format!("token {ODD}") => Reply::documented("xledger/graphql.error.spec-extensions-code.http"),
        _ => Reply::documented("rfc6750/resource.401.invalid-token.http"),
    })
}

fn run(f: &Fake, token: &str) -> Result<Verdict, Failure> {
    run_at(&f.base, token)
}

fn run_at(base: &str, token: &str) -> Result<Verdict, Failure> {
    run_in("production", Some(base), options(), token)
}

fn options() -> Options {
    Options {
        allow_loopback_http: true,
        timeout: Duration::from_secs(2),
        ..Options::default()
    }
}

/// A check of an integration in `environment`, against `base` when the
/// integration names one, else against the bases in `options`.
fn run_in(environment: &str, base: Option<&str>, options: Options, token: &str) -> Result<Verdict, Failure> {
    let now = time::OffsetDateTime::now_utc();
    let integration = Integration {
        id: uuid::Uuid::new_v4(),
        name: "xledger".into(),
        provider: "xledger".into(),
        environment: environment.into(),
        tenant_id: Some("entity-1234".into()),
        base_url: base.map(str::to_owned),
        scopes: vec![],
        sync_schedule: None,
        owner: None,
        tags: vec![],
        notes: None,
        max_age_days: None,
        env_names: Default::default(),
        created_at: now,
        updated_at: now,
    };
    let config = BTreeMap::new();
    let secrets = SecretFields::single("api_key", SecretString::from(token.to_owned()));
    Xledger::new(options)
        .validate(&Candidate {
            credential_name: "xledger",
            kind: CredentialKind::ApiKey,
            config: &config,
            secrets: &secrets,
            integration: Some(&integration),
        })
        .map_err(|r| r.failure)
}

#[test]
fn a_valid_token_goes_as_authorization_token_with_one_minimal_query() {
    let f = xledger();
    let v = run(&f, GOOD).unwrap();
    assert_eq!(v.environment.as_deref(), Some("production"));
    let reqs = f.requests();
    assert_eq!(reqs.len(), 1, "one request: one credit");
    assert_eq!((reqs[0].method.as_str(), reqs[0].uri.as_str()), ("POST", "/graphql"));
    assert_eq!(reqs[0].header("authorization"), Some(format!("token {GOOD}").as_str()));
    assert!(reqs[0].header("content-type").unwrap().starts_with("application/json"));
    let body: serde_json::Value = serde_json::from_str(&reqs[0].body).unwrap();
    assert_eq!(body, json!({ "query": QUERY }));
    assert!(!reqs[0].uri.contains(GOOD) && !reqs[0].body.contains(GOOD));
}

#[test]
fn a_rejected_token_is_invalid() {
    let f = xledger();
    let err = run(&f, "xl-unknown-0000").unwrap_err();
    assert!(matches!(err, Failure::InvalidCredential { .. }), "{err:?}");
    assert!(!format!("{err:?}").contains("xl-unknown-0000"));
}

#[test]
fn the_documented_codes_are_out_of_credits_and_the_burst_rate_limit() {
    let f = xledger();
    let broke = run(&f, BROKE).unwrap_err();
    match &broke {
        Failure::RateLimited { detail, .. } => {
            assert!(detail.contains("request credits"), "{detail}");
            assert!(detail.contains("BAD_REQUEST.INSUFFICIENT_CREDITS"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    let busy = run(&f, BUSY).unwrap_err();
    match &busy {
        Failure::RateLimited { detail, .. } => {
            assert!(detail.contains("burst rate limit"), "{detail}");
            assert!(detail.contains("BAD_REQUEST.BURST_RATE_LIMIT_REACHED"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    for (token, failure) in [(BROKE, broke), (BUSY, busy)] {
        assert!(!format!("{failure:?}").contains(token));
        // The error's message is free text: it is not repeated.
        assert!(
            !format!("{failure:?}")
                .to_ascii_lowercase()
                .contains("insufficient credits.")
        );
        assert!(!format!("{failure:?}").contains("Burst rate limit reached."));
    }
}

#[test]
fn a_code_under_extensions_is_read_and_named() {
    let f = xledger();
    let err = run(&f, ODD).unwrap_err();
    assert_eq!(
        err,
        Failure::Provider {
            status: Some(200),
            detail: "Xledger reported the error code 'CAN_NOT_FETCH_BY_ID'".into()
        }
    );
    assert!(
        !format!("{err:?}").contains("could not be fetched"),
        "no message text: {err:?}"
    );
}

#[test]
fn http_429_and_a_closed_port_are_rate_limited_and_unreachable() {
    let busy = Fake::start(|_| Reply::documented("rfc6585/too-many-requests.429.http"));
    assert!(matches!(
        run(&busy, GOOD).unwrap_err(),
        Failure::RateLimited {
            retry_after_secs: Some(3600),
            ..
        }
    ));
    let closed = format!("http://127.0.0.1:{}", fake::closed_port());
    assert!(matches!(
        run_at(&closed, GOOD).unwrap_err(),
        Failure::Unreachable { .. }
    ));
}

#[test]
fn a_demo_token_on_a_production_integration_is_named_as_the_wrong_environment() {
    const DEMO_TOKEN: &str = "xl-token-demo-only-4e4e";
    let live = xledger();
    let demo = Fake::start(|r: &Recorded| match r.header("authorization") {
        Some(a) if a == format!("token {DEMO_TOKEN}") || a == format!("token {GOOD}") => {
            Reply::documented("xledger/graphql.200.http")
        }
        _ => Reply::documented("rfc6750/resource.401.invalid-token.http"),
    });
    let opts = Options {
        xledger_production: live.base.clone(),
        xledger_demo: demo.base.clone(),
        ..options()
    };
    let err = run_in("production", None, opts.clone(), DEMO_TOKEN).unwrap_err();
    assert!(
        matches!(&err, Failure::WrongEnvironment { expected, actual } if expected == "production" && actual == "demo"),
        "{err:?}"
    );
    assert_eq!(live.requests().len(), 1);
    assert_eq!(demo.requests().len(), 1, "one probe of the other environment");
    // A live token reaches demo after a refresh: it is valid there.
    let v = run_in("demo", None, opts.clone(), GOOD).unwrap();
    assert_eq!(v.environment.as_deref(), Some("demo"));
    // A token neither environment knows is simply invalid.
    let err = run_in("production", None, opts, "xl-token-nobody-0000").unwrap_err();
    assert!(matches!(err, Failure::InvalidCredential { .. }), "{err:?}");
}

#[test]
fn an_untrusted_certificate_is_a_tls_failure_and_the_token_never_leaves() {
    let server = fake::UntrustedTls::start();
    let err = run_at(&server.base, GOOD).unwrap_err();
    assert!(matches!(err, Failure::Tls { .. }), "{err:?}");
    assert!(!format!("{err:?}").contains(GOOD));
    assert_eq!(
        server.plaintext_bytes(),
        0,
        "no request got through the failed handshake"
    );
}
