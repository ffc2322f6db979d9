//! The Business Central validator against fakes of Entra ID's token
//! endpoint and the Business Central companies API.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake;

use std::collections::BTreeMap;
use std::time::Duration;

use fake::{Fake, Recorded, Reply};
use keywarden_connectors::Options;
use keywarden_connectors::business_central::{BusinessCentral, SCOPE};
use keywarden_core::{Candidate, CredentialKind, Failure, Integration, SecretFields, SecretString, Validator, Verdict};
use serde_json::json;

const TENANT: &str = "7d0c1b2a-0000-4000-8000-00000000e1d0";
const GOOD: &str = "bc-secret-good~4Kq9";
const EXPIRED: &str = "bc-secret-expired~7Zx1";
const TOKEN: &str = "eyJ0eXAiOiJKV1QifQ.e30.fake-access-token";
const COMPANY_ID: &str = "c0ffee00-0000-4000-8000-000000000001";

fn form(body: &str) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(body.as_bytes()).into_owned().collect()
}

/// Entra ID: 200 with an access token for the right secret; 401 with
/// AADSTS7000222 for an expired one and AADSTS7000215 for a wrong one.
fn entra() -> Fake {
    Fake::start(|r: &Recorded| {
        if r.method != "POST" || r.uri != format!("/{TENANT}/oauth2/v2.0/token") {
            return Reply::json(
                400,
                json!({"error": "invalid_request", "error_description": "AADSTS90002: Tenant not found."}),
            );
        }
        let f = form(&r.body);
        match f.get("client_secret").map(String::as_str) {
            Some(GOOD) => Reply::json(
                200,
                json!({"token_type": "Bearer", "expires_in": 3599, "access_token": TOKEN}),
            ),
            Some(EXPIRED) => Reply::json(
                401,
                json!({"error": "invalid_client",
                "error_description": "AADSTS7000222: The provided client secret keys for app '…' are expired. Trace ID: …"}),
            ),
            _ => Reply::json(
                401,
                json!({"error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided. Trace ID: …"}),
            ),
        }
    })
}

/// The companies API: the environment `production` has one company.
fn bc() -> Fake {
    Fake::start(|r: &Recorded| {
        if r.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
            return Reply::json(401, json!({"error": {"code": "Authentication_InvalidCredentials"}}));
        }
        if r.uri == format!("/v2.0/{TENANT}/production/api/v2.0/companies") {
            Reply::json(200, json!({"value": [{"id": COMPANY_ID, "name": "CRONUS NO"}]}))
        } else {
            Reply::json(404, json!({"error": {"code": "NoEnvironment"}}))
        }
    })
}

struct World {
    entra: Fake,
    bc: Fake,
}

fn run(w: &World, environment: &str, company: &str, secret: &str) -> Result<Verdict, Failure> {
    run_against(&w.entra.base, &w.bc.base, environment, company, secret)
}

fn run_against(authority: &str, api: &str, environment: &str, company: &str, secret: &str) -> Result<Verdict, Failure> {
    let now = time::OffsetDateTime::now_utc();
    let integration = Integration {
        id: uuid::Uuid::new_v4(),
        name: "bc".into(),
        provider: "business_central".into(),
        environment: environment.into(),
        tenant_id: Some(TENANT.into()),
        base_url: None,
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
    let config: BTreeMap<String, String> = [
        ("client_id".to_owned(), "app-1234".to_owned()),
        ("company_id".to_owned(), company.to_owned()),
    ]
    .into();
    let secrets = SecretFields::single("client_secret", SecretString::from(secret.to_owned()));
    BusinessCentral::new(Options {
        allow_loopback_http: true,
        timeout: Duration::from_secs(2),
        bc_authority: authority.to_owned(),
        bc_api: api.to_owned(),
        ..Options::default()
    })
    .validate(&Candidate {
        credential_name: "bc",
        kind: CredentialKind::OAuth2,
        config: &config,
        secrets: &secrets,
        integration: Some(&integration),
    })
    .map_err(|r| r.failure)
}

#[test]
fn the_token_request_is_client_credentials_with_the_bc_scope_and_the_company_is_found() {
    let w = World {
        entra: entra(),
        bc: bc(),
    };
    let v = run(&w, "production", COMPANY_ID, GOOD).unwrap();
    assert_eq!(v.tenant_id.as_deref(), Some(TENANT));
    assert_eq!(v.expires_at, None, "the access token's hour is not the secret's expiry");
    let token_req = &w.entra.requests()[0];
    assert_eq!(
        token_req.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let f = form(&token_req.body);
    assert_eq!(f["grant_type"], "client_credentials");
    assert_eq!(f["client_id"], "app-1234");
    assert_eq!(f["scope"], SCOPE);
    assert!(!token_req.uri.contains(GOOD));
    let api_req = &w.bc.requests()[0];
    assert_eq!(api_req.method, "GET");
    assert!(!api_req.uri.contains(TOKEN));
    // The company by name works too.
    run(&w, "production", "cronus no", GOOD).unwrap();
}

#[test]
fn aadsts_codes_name_an_expired_and_a_wrong_secret() {
    let w = World {
        entra: entra(),
        bc: bc(),
    };
    let expired = run(&w, "production", COMPANY_ID, EXPIRED).unwrap_err();
    assert!(matches!(expired, Failure::Expired { .. }), "{expired:?}");
    assert!(expired.to_string().contains("AADSTS7000222"));
    let wrong = run(&w, "production", COMPANY_ID, "bc-secret-wrong~0000").unwrap_err();
    assert!(matches!(wrong, Failure::InvalidCredential { .. }), "{wrong:?}");
    assert!(wrong.to_string().contains("AADSTS7000215"));
    assert!(w.bc.requests().is_empty(), "no API call without a token");
    for f in [expired, wrong] {
        assert!(!format!("{f:?}").contains("bc-secret"));
    }
}

#[test]
fn a_company_missing_from_the_list_and_an_unknown_environment_are_refused() {
    let w = World {
        entra: entra(),
        bc: bc(),
    };
    let err = run(&w, "production", "Globex AS", GOOD).unwrap_err();
    match err {
        Failure::WrongTenant { expected, actual } => {
            assert_eq!(expected, "Globex AS");
            assert!(actual.contains("CRONUS NO"));
        }
        other => panic!("{other:?}"),
    }
    let err = run(&w, "sandbox-2", COMPANY_ID, GOOD).unwrap_err();
    assert!(matches!(err, Failure::WrongEnvironment { .. }), "{err:?}");
}

#[test]
fn entra_throttling_a_forbidden_api_and_an_unreachable_authority_have_their_verdicts() {
    let throttled = World {
        entra: Fake::start(|_| {
            Reply::json(429, json!({"error": "temporarily_unavailable"})).with_header("retry-after", "7")
        }),
        bc: bc(),
    };
    assert!(matches!(
        run(&throttled, "production", COMPANY_ID, GOOD).unwrap_err(),
        Failure::RateLimited {
            retry_after_secs: Some(7),
            ..
        }
    ));
    let forbidden = World {
        entra: entra(),
        bc: Fake::start(|_| Reply::json(403, json!({"error": {"code": "Authorization_InsufficientPermissions"}}))),
    };
    assert!(matches!(
        run(&forbidden, "production", COMPANY_ID, GOOD).unwrap_err(),
        Failure::InsufficientScope { .. }
    ));
    let api = bc();
    let closed = format!("http://127.0.0.1:{}", fake::closed_port());
    let err = run_against(&closed, &api.base, "production", COMPANY_ID, GOOD).unwrap_err();
    assert!(matches!(err, Failure::Unreachable { .. }), "{err:?}");
}

#[test]
fn an_untrusted_certificate_at_the_authority_or_the_api_is_a_tls_failure() {
    let w = World {
        entra: entra(),
        bc: bc(),
    };
    let tls = fake::UntrustedTls::start();
    let err = run_against(&tls.base, &w.bc.base, "production", COMPANY_ID, GOOD).unwrap_err();
    assert!(matches!(err, Failure::Tls { .. }), "{err:?}");
    let err = run_against(&w.entra.base, &tls.base, "production", COMPANY_ID, GOOD).unwrap_err();
    assert!(matches!(err, Failure::Tls { .. }), "{err:?}");
    assert!(!format!("{err:?}").contains(GOOD));
    assert_eq!(
        tls.plaintext_bytes(),
        0,
        "neither the secret nor the token crossed the failed handshakes"
    );
}
