//! The Pleo validator against a fake of Pleo's introspection endpoint on
//! 127.0.0.1: every verdict, and the request the fake received.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake;

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use fake::{Fake, Recorded, Reply};
use keywarden_connectors::Options;
use keywarden_connectors::pleo::Pleo;
use keywarden_core::{Candidate, CredentialKind, Failure, Integration, SecretFields, SecretString, Validator};
use serde_json::json;

const COMPANY: &str = "0f9b2a8e-3c1d-4e6f-9a7b-5d4c3b2a1f00";
const PROD_KEY: &str = "pleo-prod-key-4f1c9e2a7b";
const STAGING_KEY: &str = "pleo-staging-key-8d3e1f0a";
const NARROW_KEY: &str = "pleo-narrow-key-31c0";
const FORBIDDEN_KEY: &str = "pleo-forbidden-key-55d2";
const BUSY_KEY: &str = "pleo-busy-key-9e0b";
const SLOW_KEY: &str = "pleo-slow-key-12ab";
const PERSONAL_KEY: &str = "pleo-personal-key-6f6f";

fn basic(key: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{key}:"))
    )
}

/// Pleo as its API reference documents `GET /v1/introspect`: the 200
/// answer wrapped in `data` (pleo/introspect.200.http) for a good key, with
/// this test's company and scopes; 401 (no body) for an unknown one; 403
/// (no body) for a key the endpoint forbids; 429 with `Retry-After` as
/// RFC 6585 §4 shows it.
fn pleo(env_key: &'static str) -> Fake {
    Fake::start(move |r: &Recorded| {
        if r.method != "GET" || r.uri != "/v1/introspect" {
            return Reply::documented("pleo/introspect.400.http");
        }
        let auth = r.header("authorization").unwrap_or_default();
        let answer = |subject: String, scope: &str| {
            let scope = scope.to_owned();
            Reply::fixture("pleo/introspect.200.http", move |b| {
                b["data"]["subjectURN"] = subject.into();
                b["data"]["scope"] = scope.into();
            })
        };
        let company = || format!("urn:pleo:company:{COMPANY}");
        if auth == basic(env_key) || auth == format!("Bearer {env_key}") {
            answer(company(), "expenses:read export:read export:write")
        } else if auth == basic(NARROW_KEY) {
            answer(company(), "expenses:read")
        } else if auth == basic(PERSONAL_KEY) {
            answer(
                "urn:pleo:user:0f9b2a8e-1111-4e6f-9a7b-5d4c3b2a1f00".into(),
                "expenses:read",
            )
        } else if auth == basic(FORBIDDEN_KEY) {
            Reply::documented("pleo/introspect.403.http")
        } else if auth == basic(BUSY_KEY) {
            Reply::documented("rfc6585/too-many-requests.429.http").with_header("retry-after", "30")
        } else if auth == basic(SLOW_KEY) {
            answer(company(), "expenses:read export:read export:write").after(Duration::from_secs(3))
        } else {
            Reply::documented("pleo/introspect.401.http")
        }
    })
}

struct World {
    prod: Fake,
    staging: Fake,
    options: Options,
}

fn world() -> World {
    let prod = pleo(PROD_KEY);
    let staging = pleo(STAGING_KEY);
    let options = Options {
        allow_loopback_http: true,
        timeout: Duration::from_secs(1),
        pleo_production: prod.base.clone(),
        pleo_staging: staging.base.clone(),
        ..Options::default()
    };
    World { prod, staging, options }
}

fn integration(environment: &str, scopes: &[&str]) -> Integration {
    let now = time::OffsetDateTime::now_utc();
    Integration {
        id: uuid::Uuid::new_v4(),
        name: "pleo-acme".into(),
        provider: "pleo".into(),
        environment: environment.into(),
        tenant_id: Some(COMPANY.into()),
        base_url: None,
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        sync_schedule: None,
        owner: None,
        tags: vec![],
        notes: None,
        max_age_days: None,
        env_names: Default::default(),
        created_at: now,
        updated_at: now,
    }
}

fn check(w: &World, integration: &Integration, field: &str, secret: &str) -> Result<keywarden_core::Verdict, Failure> {
    let secrets = SecretFields::single(field, SecretString::from(secret.to_owned()));
    let config = BTreeMap::new();
    Pleo::new(w.options.clone())
        .validate(&Candidate {
            credential_name: "pleo",
            kind: CredentialKind::ApiKey,
            config: &config,
            secrets: &secrets,
            integration: Some(integration),
        })
        .map_err(|r| r.failure)
}

fn assert_no_secret(text: &str, secret: &str) {
    assert!(!text.contains(secret), "the secret leaked into: {text}");
}

#[test]
fn a_valid_api_key_goes_as_basic_with_an_empty_password_and_yields_company_scopes_and_environment() {
    let w = world();
    let v = check(&w, &integration("production", &["export:read"]), "api_key", PROD_KEY).unwrap();
    assert_eq!(v.tenant_id.as_deref(), Some(COMPANY));
    assert_eq!(v.environment.as_deref(), Some("production"));
    assert_eq!(v.scopes, ["expenses:read", "export:read", "export:write"]);
    assert!(!v.offline);
    let reqs = w.prod.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        (reqs[0].method.as_str(), reqs[0].uri.as_str()),
        ("GET", "/v1/introspect")
    );
    assert_eq!(reqs[0].header("authorization"), Some(basic(PROD_KEY).as_str()));
    assert_no_secret(&reqs[0].uri, PROD_KEY);
    assert!(reqs[0].body.is_empty());
    assert!(w.staging.requests().is_empty());
}

#[test]
fn an_oauth_access_token_goes_as_bearer() {
    let w = world();
    check(&w, &integration("production", &[]), "access_token", PROD_KEY).unwrap();
    assert_eq!(
        w.prod.requests()[0].header("authorization"),
        Some(format!("Bearer {PROD_KEY}").as_str())
    );
}

#[test]
fn an_unknown_key_is_invalid_after_one_request_to_each_environment() {
    let w = world();
    let err = check(&w, &integration("production", &[]), "api_key", "pleo-wrong-key-000").unwrap_err();
    assert!(matches!(err, Failure::InvalidCredential { .. }), "{err:?}");
    assert_no_secret(&err.to_string(), "pleo-wrong-key-000");
    assert_eq!(w.prod.requests().len(), 1);
    assert_eq!(w.staging.requests().len(), 1);
}

#[test]
fn a_staging_key_on_a_production_integration_is_named_as_the_wrong_environment() {
    let w = world();
    let err = check(&w, &integration("production", &[]), "api_key", STAGING_KEY).unwrap_err();
    assert_eq!(
        err,
        Failure::WrongEnvironment {
            expected: "production".into(),
            actual: "staging".into()
        }
    );
    let err = check(&w, &integration("staging", &[]), "api_key", PROD_KEY).unwrap_err();
    assert_eq!(
        err,
        Failure::WrongEnvironment {
            expected: "staging".into(),
            actual: "production".into()
        }
    );
}

#[test]
fn missing_scopes_are_named_and_a_403_is_insufficient_scope() {
    let w = world();
    let err = check(
        &w,
        &integration("production", &["expenses:read", "export:write"]),
        "api_key",
        NARROW_KEY,
    )
    .unwrap_err();
    assert_eq!(
        err,
        Failure::InsufficientScope {
            missing: vec!["export:write".into()]
        }
    );
    let err = check(
        &w,
        &integration("production", &["export:read"]),
        "api_key",
        FORBIDDEN_KEY,
    )
    .unwrap_err();
    assert_eq!(
        err,
        Failure::InsufficientScope {
            missing: vec!["export:read".into()]
        }
    );
}

#[test]
fn a_key_that_is_not_a_company_key_is_refused_with_the_reason() {
    let w = world();
    let err = check(&w, &integration("production", &[]), "api_key", PERSONAL_KEY).unwrap_err();
    assert!(err.to_string().contains("belongs to a user, not to a company"), "{err}");
    assert!(
        !err.to_string().contains("0f9b2a8e-1111"),
        "the provider's subject is not repeated: {err}"
    );
}

#[test]
fn the_documented_answer_confirms_the_company_and_shows_the_application_and_auth_method() {
    let w = world();
    let v = check(&w, &integration("production", &["export:read"]), "api_key", PROD_KEY).unwrap();
    assert_eq!(v.tenant_id.as_deref(), Some(COMPANY));
    assert_eq!(v.application.as_deref(), Some("Netsuite"));
    assert_eq!(v.auth_method.as_deref(), Some("API_KEY"));
    assert_eq!(v.expires_at, None, "the introspection answer carries no expiry");
}

/// The answer before issue 19, members at the top level, is not what Pleo
/// documents: the validator refuses it rather than guessing.
#[test]
fn an_answer_without_the_data_wrapper_is_not_read_as_a_company() {
    let flat = Fake::start(|_| {
        Reply::json(
            200,
            json!({"subjectURN": format!("urn:pleo:company:{COMPANY}"), "scope": "export:read"}),
        )
    });
    let mut w = world();
    w.options.pleo_production = flat.base.clone();
    let err = check(&w, &integration("production", &[]), "api_key", PROD_KEY).unwrap_err();
    assert!(err.to_string().contains("no `data` object"), "{err}");
}

#[test]
fn rate_limiting_reports_retry_after() {
    let w = world();
    let err = check(&w, &integration("production", &[]), "api_key", BUSY_KEY).unwrap_err();
    assert!(
        matches!(
            err,
            Failure::RateLimited {
                retry_after_secs: Some(30),
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_closed_port_and_a_slow_answer_are_unreachable() {
    let mut w = world();
    let err = check(&w, &integration("production", &[]), "api_key", SLOW_KEY).unwrap_err();
    assert!(matches!(err, Failure::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains("no answer within 1 s"), "{err}");
    w.options.pleo_production = format!("http://127.0.0.1:{}", fake::closed_port());
    w.options.pleo_staging = w.options.pleo_production.clone();
    let err = check(&w, &integration("production", &[]), "api_key", PROD_KEY).unwrap_err();
    assert!(matches!(err, Failure::Unreachable { .. }), "{err:?}");
    assert_no_secret(&err.to_string(), PROD_KEY);
}

#[test]
fn tls_to_a_server_that_does_not_speak_it_is_a_tls_failure() {
    let mut w = world();
    w.options.pleo_production = w.prod.base.replace("http://", "https://");
    let err = check(&w, &integration("production", &[]), "api_key", PROD_KEY).unwrap_err();
    assert!(matches!(err, Failure::Tls { .. }), "{err:?}");
    assert_no_secret(&format!("{err:?}"), PROD_KEY);
}

#[test]
fn plain_http_outside_test_mode_is_refused_before_any_request() {
    let mut w = world();
    w.options.allow_loopback_http = false;
    let err = check(&w, &integration("production", &[]), "api_key", PROD_KEY).unwrap_err();
    assert!(matches!(err, Failure::Unsafe { .. }), "{err:?}");
    assert!(w.prod.requests().is_empty());
}

#[test]
fn a_redirect_to_another_host_is_refused_and_the_other_host_never_sees_the_key() {
    let w = world();
    let elsewhere = Fake::start(|_| Reply::json(200, json!({})));
    let target = elsewhere.base.replace("127.0.0.1", "localhost");
    let redirecting =
        Fake::start(move |_| Reply::json(302, json!({})).with_header("location", &format!("{target}/v1/introspect")));
    let mut options = w.options.clone();
    options.pleo_production = redirecting.base.clone();
    let w2 = World {
        prod: redirecting,
        staging: w.staging,
        options,
    };
    let err = check(&w2, &integration("production", &[]), "api_key", PROD_KEY).unwrap_err();
    assert!(matches!(err, Failure::Unsafe { .. }), "{err:?}");
    assert!(err.to_string().contains("redirected"), "{err}");
    assert!(elsewhere.requests().is_empty(), "the other host was contacted");
}

#[test]
fn an_untrusted_certificate_is_a_tls_failure_and_the_key_never_leaves() {
    let mut w = world();
    let server = fake::UntrustedTls::start();
    w.options.pleo_production = server.base.clone();
    let err = check(&w, &integration("production", &[]), "api_key", PROD_KEY).unwrap_err();
    assert!(matches!(err, Failure::Tls { .. }), "{err:?}");
    assert!(err.to_string().to_ascii_lowercase().contains("certificate"), "{err}");
    assert_no_secret(&format!("{err:?}"), PROD_KEY);
    assert_eq!(server.plaintext_bytes(), 0);
}

/// A provider (or whoever answers in its place) that echoes the key in the
/// documented answer's names: the verdict repeats neither the key nor any
/// invisible formatting character.
#[test]
fn an_answer_echoing_the_key_in_its_names_does_not_reach_the_verdict() {
    let echo = Fake::start(|_| {
        Reply::fixture("pleo/introspect.200.http", |b| {
            b["data"]["subjectURN"] = format!("urn:pleo:company:{COMPANY}").into();
            b["data"]["applicationName"] = format!("App {}", &PROD_KEY[4..20]).into();
            b["data"]["authMethod"] = "API\u{202e}_KEY\u{200b}".into();
        })
    });
    let mut w = world();
    w.options.pleo_production = echo.base.clone();
    let v = check(&w, &integration("production", &[]), "api_key", PROD_KEY).unwrap();
    assert_eq!(v.application, None, "a name holding part of the key is dropped");
    assert_eq!(
        v.auth_method.as_deref(),
        Some("API_KEY"),
        "formatting characters are dropped"
    );
}
