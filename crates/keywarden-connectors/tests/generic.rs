//! The generic HTTP check: where the secret goes, which status is success,
//! and what it refuses. "Any HTTP API" has no provider document, so the
//! endpoints' bodies are this test's own; their `WWW-Authenticate`
//! challenges are RFC 6750 §3's (tests/fixtures/providers/rfc6750) and the
//! 429 is RFC 6585 §4's.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake;

use std::collections::BTreeMap;
use std::time::Duration;

use fake::{Fake, Reply};
use keywarden_connectors::generic::Generic;
use keywarden_connectors::{Connectors, Options};
use keywarden_core::{Candidate, CredentialKind, Failure, SecretFields, SecretString, Validator, Verdict};
use serde_json::json;

const SECRET: &str = "generic-secret-7f3a9c";

fn options() -> Options {
    Options {
        allow_loopback_http: true,
        timeout: Duration::from_secs(2),
        ..Options::default()
    }
}

fn run(config: &[(&str, &str)], validator: &dyn Validator) -> Result<Verdict, Failure> {
    let config: BTreeMap<String, String> = config.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let secrets = SecretFields::single("api_key", SecretString::from(SECRET.to_owned()));
    validator
        .validate(&Candidate {
            credential_name: "any",
            kind: CredentialKind::ApiKey,
            config: &config,
            secrets: &secrets,
            integration: None,
        })
        .map_err(|r| r.failure)
}

/// The `WWW-Authenticate` challenge of the RFC 6750 example `name`.
fn challenge(name: &str) -> String {
    keywarden_connectors::fixtures::Fixture::load(name)
        .header("www-authenticate")
        .unwrap_or_else(|| panic!("{name} has no challenge"))
        .to_owned()
}

fn api() -> Fake {
    let unauthenticated = challenge("rfc6750/resource.401.no-token.http");
    Fake::start(move |r| {
        let presented = r
            .header("authorization")
            .map(str::to_owned)
            .or(r.header("x-api-key").map(str::to_owned));
        match presented.as_deref() {
            Some(v) if v.ends_with(SECRET) => Reply::json(if r.method == "POST" { 204 } else { 200 }, json!({})),
            _ => Reply::json(401, json!({"error": "unauthorized"})).with_header("www-authenticate", &unauthenticated),
        }
    })
}

#[test]
fn the_secret_goes_in_the_header_asked_for_and_never_in_the_url() {
    let f = api();
    let url = format!("{}/v1/me", f.base);
    run(&[("check_url", &url)], &Generic::new(options())).unwrap();
    run(
        &[("check_url", &url), ("check_auth", "header:X-API-Key")],
        &Generic::new(options()),
    )
    .unwrap();
    run(
        &[("check_url", &url), ("check_auth", "token")],
        &Generic::new(options()),
    )
    .unwrap();
    let reqs = f.requests();
    assert_eq!(
        reqs[0].header("authorization"),
        Some(format!("Bearer {SECRET}").as_str())
    );
    assert_eq!(reqs[1].header("x-api-key"), Some(SECRET));
    assert_eq!(reqs[1].header("authorization"), None);
    assert_eq!(
        reqs[2].header("authorization"),
        Some(format!("token {SECRET}").as_str())
    );
    assert!(reqs.iter().all(|r| r.uri == "/v1/me"));
}

#[test]
fn the_expected_status_is_success_and_401_is_an_invalid_credential() {
    let f = api();
    let url = format!("{}/v1/ping", f.base);
    run(
        &[
            ("check_url", &url),
            ("check_method", "POST"),
            ("check_expect_status", "204"),
        ],
        &Generic::new(options()),
    )
    .unwrap();
    let err = run(
        &[("check_url", &url), ("check_auth", "header:X-Other")],
        &Generic::new(options()),
    )
    .unwrap_err();
    assert!(matches!(err, Failure::InvalidCredential { .. }), "{err:?}");
    let err = run(
        &[("check_url", &url), ("check_expect_status", "2OO")],
        &Generic::new(options()),
    )
    .unwrap_err();
    assert!(matches!(err, Failure::Format { .. }), "{err:?}");
}

#[test]
fn a_secret_in_a_query_string_or_plain_http_elsewhere_is_refused_before_sending() {
    let f = api();
    let in_query = format!("{}/v1/me?key={SECRET}", f.base);
    let err = run(&[("check_url", &in_query)], &Generic::new(options())).unwrap_err();
    assert!(matches!(err, Failure::Unsafe { .. }), "{err:?}");
    assert!(!err.to_string().contains(SECRET), "{err}");
    let err = run(
        &[("check_url", &f.base), ("check_auth", "query:key")],
        &Generic::new(options()),
    )
    .unwrap_err();
    assert!(matches!(err, Failure::Unsafe { .. }), "{err:?}");
    let err = run(&[("check_url", "http://192.0.2.10/v1/me")], &Generic::new(options())).unwrap_err();
    assert!(matches!(err, Failure::Unsafe { .. }), "{err:?}");
    assert!(f.requests().is_empty());
}

#[test]
fn without_a_known_provider_or_check_url_the_connectors_say_what_to_configure() {
    let err = run(&[], &Connectors::new(options())).unwrap_err();
    assert!(err.to_string().contains("check_url"), "{err}");
}

#[test]
fn bearer_challenges_name_an_expired_token_and_the_scopes_wanted() {
    let expired = challenge("rfc6750/resource.401.invalid-token.http");
    let unauthenticated = challenge("rfc6750/resource.401.no-token.http");
    let scoped = challenge("rfc6750/resource.403.insufficient-scope.http");
    let f = Fake::start(move |r| match r.uri.as_str() {
        "/expired" => Reply::json(401, json!({})).with_header("www-authenticate", &expired),
        // RFC 9110 §11.1: the scheme is case-insensitive.
        "/expired-lowercase" => {
            Reply::json(401, json!({})).with_header("www-authenticate", &expired.replacen("Bearer", "bearer", 1))
        }
        "/unauthenticated" => Reply::json(401, json!({})).with_header("www-authenticate", &unauthenticated),
        "/scoped" => Reply::json(403, json!({})).with_header("www-authenticate", &scoped),
        _ => Reply::documented("rfc6585/too-many-requests.429.http").with_header("retry-after", "9"),
    });
    let at = |path: &str| run(&[("check_url", &format!("{}{path}", f.base))], &Generic::new(options()));
    for path in ["/expired", "/expired-lowercase"] {
        match at(path).unwrap_err() {
            Failure::Expired { detail } => {
                assert!(detail.contains("invalid_token"), "{path}: {detail}");
                // The error_description is the provider's free text: read
                // to tell "expired", never repeated.
                assert!(!detail.contains("The access token expired"), "{path}: {detail}");
            }
            other => panic!("{path}: {other:?}"),
        }
    }
    let unauthenticated = at("/unauthenticated").unwrap_err();
    assert_eq!(
        unauthenticated,
        Failure::InvalidCredential {
            detail: "the endpoint answered 401 Unauthorized".into()
        }
    );
    match at("/scoped").unwrap_err() {
        Failure::InsufficientScope { missing } => assert_eq!(missing, ["openid", "profile", "email"]),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        at("/busy").unwrap_err(),
        Failure::RateLimited {
            retry_after_secs: Some(9),
            ..
        }
    ));
}

#[test]
fn a_challenge_of_another_scheme_or_a_longer_name_is_no_bearer_challenge() {
    let expired = challenge("rfc6750/resource.401.invalid-token.http");
    let f = Fake::start(move |r| {
        let header = match r.uri.as_str() {
            "/bearerx" => expired.replacen("Bearer", "Bearerx", 1),
            _ => expired.replacen("Bearer", "Basic", 1),
        };
        Reply::json(401, json!({})).with_header("www-authenticate", &header)
    });
    for path in ["/bearerx", "/basic"] {
        let err = run(&[("check_url", &format!("{}{path}", f.base))], &Generic::new(options())).unwrap_err();
        assert_eq!(
            err,
            Failure::InvalidCredential {
                detail: "the endpoint answered 401 Unauthorized".into()
            },
            "{path}: its error and description are not a Bearer challenge's"
        );
    }
}

#[test]
fn a_closed_port_is_unreachable_and_an_untrusted_certificate_a_tls_failure() {
    let closed = format!("http://127.0.0.1:{}/v1/me", fake::closed_port());
    assert!(matches!(
        run(&[("check_url", &closed)], &Generic::new(options())).unwrap_err(),
        Failure::Unreachable { .. }
    ));
    let tls = fake::UntrustedTls::start();
    let err = run(
        &[("check_url", &format!("{}/v1/me", tls.base))],
        &Generic::new(options()),
    )
    .unwrap_err();
    assert!(matches!(err, Failure::Tls { .. }), "{err:?}");
    assert!(!format!("{err:?}").contains(SECRET));
    assert_eq!(tls.plaintext_bytes(), 0);
}
