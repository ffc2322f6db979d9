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

const TENANT: &str = "7d0c1b2a-0000-4000-8000-00000000e1d0";
const CLIENT_ID: &str = "app-1234";
const GOOD: &str = "bc-secret-good~4Kq9";
const EXPIRED: &str = "bc-secret-expired~7Zx1";
const TOKEN: &str = "eyJ0eXAiOiJKV1QifQ.e30.fake-access-token";
const COMPANY_ID: &str = "c0ffee00-0000-4000-8000-000000000001";

fn form(body: &str) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(body.as_bytes()).into_owned().collect()
}

/// Entra ID's token endpoint as documented: the client-credentials 200
/// answer (entra/token.client-credentials.200.http) with this test's
/// token for the right secret; the reference-error-codes answers for an
/// expired secret (AADSTS7000222), a wrong one (AADSTS7000215), an
/// unknown client id (AADSTS700016) and an unknown tenant (AADSTS90002).
fn entra() -> Fake {
    Fake::start(|r: &Recorded| {
        if r.uri != format!("/{TENANT}/oauth2/v2.0/token") {
            return Reply::documented("entra/token.error.AADSTS90002.400.http");
        }
        let f = form(&r.body);
        if f.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
            return Reply::documented("entra/token.error.AADSTS700016.400.http");
        }
        match f.get("client_secret").map(String::as_str) {
            Some(GOOD) => Reply::fixture("entra/token.client-credentials.200.http", |b| {
                b["access_token"] = TOKEN.into();
            }),
            Some(EXPIRED) => Reply::documented("entra/token.error.AADSTS7000222.401.http"),
            _ => Reply::documented("entra/token.error.AADSTS7000215.401.http"),
        }
    })
}

/// The companies API as documented (business-central/companies.200.http:
/// `id`, `name`, `displayName`): the environment `production` of TENANT
/// has one company, "CRONUS NO" shown as "CRONUS Norge AS"; a token it
/// does not accept gets the OData error Authentication_InvalidCredentials
/// (401), another environment BadRequest_ResourceNotFound (404).
fn bc() -> Fake {
    Fake::start(|r: &Recorded| {
        if r.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
            return Reply::documented("business-central/companies.401.http");
        }
        if r.uri == format!("/v2.0/{TENANT}/production/api/v2.0/companies") {
            Reply::fixture("business-central/companies.200.http", |b| {
                b["@odata.context"] = format!(
                    "https://api.businesscentral.dynamics.com/v2.0/{TENANT}/production/api/v2.0/$metadata#companies"
                )
                .into();
                b["value"][0]["id"] = COMPANY_ID.into();
                b["value"][0]["name"] = "CRONUS NO".into();
                b["value"][0]["displayName"] = "CRONUS Norge AS".into();
            })
        } else {
            Reply::documented("business-central/companies.404.http")
        }
    })
}

struct World {
    entra: Fake,
    bc: Fake,
}

fn world() -> World {
    World {
        entra: entra(),
        bc: bc(),
    }
}

fn run(w: &World, environment: &str, company: &str, secret: &str) -> Result<Verdict, Failure> {
    run_against(&w.entra.base, &w.bc.base, environment, company, secret)
}

fn run_against(authority: &str, api: &str, environment: &str, company: &str, secret: &str) -> Result<Verdict, Failure> {
    check(Case {
        authority,
        api,
        tenant: TENANT,
        client_id: CLIENT_ID,
        environment,
        company,
        secret,
        config_authority: None,
        graph: None,
    })
}

/// One Business Central check: where the fakes are and what the
/// credential says.
struct Case<'a> {
    authority: &'a str,
    api: &'a str,
    tenant: &'a str,
    client_id: &'a str,
    environment: &'a str,
    company: &'a str,
    secret: &'a str,
    /// The credential's own `authority` field, if any.
    config_authority: Option<&'a str>,
    /// Microsoft Graph; `None`: a loopback port where nothing listens.
    graph: Option<&'a str>,
}

fn check(case: Case<'_>) -> Result<Verdict, Failure> {
    let Case {
        authority,
        api,
        tenant,
        client_id,
        environment,
        company,
        secret,
        config_authority,
        graph,
    } = case;
    let now = time::OffsetDateTime::now_utc();
    let integration = Integration {
        id: uuid::Uuid::new_v4(),
        name: "bc".into(),
        provider: "business_central".into(),
        environment: environment.into(),
        tenant_id: Some(tenant.into()),
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
    let mut config: BTreeMap<String, String> = [
        ("client_id".to_owned(), client_id.to_owned()),
        ("company_id".to_owned(), company.to_owned()),
    ]
    .into();
    if let Some(a) = config_authority {
        config.insert("authority".to_owned(), a.to_owned());
    }
    let secrets = SecretFields::single("client_secret", SecretString::from(secret.to_owned()));
    BusinessCentral::new(Options {
        allow_loopback_http: true,
        timeout: Duration::from_secs(2),
        bc_authority: authority.to_owned(),
        bc_api: api.to_owned(),
        graph_api: graph.map_or_else(|| format!("http://127.0.0.1:{}", fake::closed_port()), str::to_owned),
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
    let w = world();
    let v = run(&w, "production", COMPANY_ID, GOOD).unwrap();
    assert_eq!(v.tenant_id.as_deref(), Some(TENANT));
    assert_eq!(v.expires_at, None, "the access token's hour is not the secret's expiry");
    let token_req = &w.entra.requests()[0];
    assert_eq!(token_req.method, "POST");
    assert_eq!(
        token_req.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let f = form(&token_req.body);
    assert_eq!(f["grant_type"], "client_credentials");
    assert_eq!(f["client_id"], CLIENT_ID);
    assert_eq!(f["scope"], SCOPE);
    assert!(!token_req.uri.contains(GOOD));
    let api_req = &w.bc.requests()[0];
    assert_eq!(api_req.method, "GET");
    assert!(!api_req.uri.contains(TOKEN));
    // The company by name works too.
    run(&w, "production", "cronus no", GOOD).unwrap();
}

#[test]
fn the_company_is_also_found_by_its_display_name() {
    let w = world();
    run(&w, "production", "Cronus Norge AS", GOOD).unwrap();
}

#[test]
fn aadsts_codes_name_an_expired_and_a_wrong_secret() {
    let w = world();
    let expired = run(&w, "production", COMPANY_ID, EXPIRED).unwrap_err();
    assert!(matches!(expired, Failure::Expired { .. }), "{expired:?}");
    assert!(expired.to_string().contains("AADSTS7000222"));
    let wrong = run(&w, "production", COMPANY_ID, "bc-secret-wrong~0000").unwrap_err();
    assert!(matches!(wrong, Failure::InvalidCredential { .. }), "{wrong:?}");
    assert!(wrong.to_string().contains("AADSTS7000215"));
    assert!(w.bc.requests().is_empty(), "no API call without a token");
    for f in [expired, wrong] {
        assert!(!format!("{f:?}").contains("bc-secret"));
        // Entra's error_description is free text: none of it is repeated.
        assert!(!format!("{f:?}").contains("Trace ID"), "{f:?}");
    }
}

#[test]
fn an_unknown_client_id_and_an_unknown_tenant_are_named_by_their_aadsts_codes() {
    let w = world();
    let err = check(Case {
        authority: &w.entra.base,
        api: &w.bc.base,
        tenant: TENANT,
        client_id: "app-0000",
        environment: "production",
        company: COMPANY_ID,
        secret: GOOD,
        config_authority: None,
        graph: None,
    })
    .unwrap_err();
    assert!(matches!(err, Failure::InvalidCredential { .. }), "{err:?}");
    assert!(err.to_string().contains("AADSTS700016"), "{err}");
    let other_tenant = "00000000-0000-4000-8000-0000000000ff";
    let err = check(Case {
        authority: &w.entra.base,
        api: &w.bc.base,
        tenant: other_tenant,
        client_id: CLIENT_ID,
        environment: "production",
        company: COMPANY_ID,
        secret: GOOD,
        config_authority: None,
        graph: None,
    })
    .unwrap_err();
    assert!(matches!(err, Failure::WrongTenant { .. }), "{err:?}");
    assert!(err.to_string().contains("AADSTS90002"), "{err}");
    assert!(!format!("{err:?}").contains("data store"), "no free text: {err:?}");
}

#[test]
fn an_entra_error_without_a_known_code_shows_its_codes_and_never_its_description() {
    let w = World {
        entra: Fake::start(|_| Reply::documented("entra/token.error.400.http")),
        bc: bc(),
    };
    let err = run(&w, "production", COMPANY_ID, GOOD).unwrap_err();
    assert_eq!(
        err,
        Failure::Provider {
            status: Some(400),
            detail: "Entra ID: invalid_scope, AADSTS70011".into()
        }
    );
}

#[test]
fn entra_temporarily_unavailable_is_a_retry_not_a_provider_failure() {
    let w = World {
        entra: Fake::start(|_| Reply::documented("entra/token.error.temporarily-unavailable.503.http")),
        bc: bc(),
    };
    let err = run(&w, "production", COMPANY_ID, GOOD).unwrap_err();
    match &err {
        Failure::RateLimited { detail, .. } => {
            assert!(detail.contains("temporarily unavailable"), "{detail}");
            assert!(
                detail.contains("temporarily_unavailable") && detail.contains("AADSTS90006"),
                "{detail}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(w.bc.requests().is_empty());
}

#[test]
fn a_company_missing_from_the_list_and_an_unknown_environment_are_refused() {
    let w = world();
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
fn a_refused_token_names_the_odata_code_and_the_entra_applications_page() {
    let w = World {
        entra: entra(),
        bc: Fake::start(|_| Reply::documented("business-central/companies.401.http")),
    };
    let err = run(&w, "production", COMPANY_ID, GOOD).unwrap_err();
    assert!(matches!(err, Failure::InvalidCredential { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("(401, Authentication_InvalidCredentials)"), "{text}");
    assert!(text.contains("\"Microsoft Entra applications\" page"), "{text}");
    assert!(
        !text.contains("rejected the client credentials"),
        "the OData message is not repeated: {text}"
    );
}

#[test]
fn a_forbidden_api_names_the_application_permission_and_the_entra_applications_page() {
    let w = World {
        entra: entra(),
        bc: Fake::start(|_| Reply::documented("business-central/companies.403.http")),
    };
    let err = run(&w, "production", COMPANY_ID, GOOD).unwrap_err();
    match &err {
        Failure::InsufficientScope { missing } => {
            assert_eq!(missing.len(), 1);
            assert!(missing[0].starts_with("API.ReadWrite.All"), "{missing:?}");
            assert!(
                missing[0].contains("\"Microsoft Entra applications\" page"),
                "{missing:?}"
            );
            assert!(missing[0].contains("permission sets"), "{missing:?}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn throttling_at_entra_or_the_api_and_an_unreachable_authority_have_their_verdicts() {
    let throttled = World {
        entra: Fake::start(|_| Reply::documented("rfc6585/too-many-requests.429.http")),
        bc: bc(),
    };
    let err = run(&throttled, "production", COMPANY_ID, GOOD).unwrap_err();
    assert!(
        matches!(
            err,
            Failure::RateLimited {
                retry_after_secs: Some(3600),
                ..
            }
        ),
        "{err:?}"
    );
    let busy_api = World {
        entra: entra(),
        bc: Fake::start(|_| Reply::documented("rfc6585/too-many-requests.429.http").with_header("retry-after", "7")),
    };
    let err = run(&busy_api, "production", COMPANY_ID, GOOD).unwrap_err();
    assert!(
        matches!(
            err,
            Failure::RateLimited {
                retry_after_secs: Some(7),
                ..
            }
        ),
        "{err:?}"
    );
    let api = bc();
    let closed = format!("http://127.0.0.1:{}", fake::closed_port());
    let err = run_against(&closed, &api.base, "production", COMPANY_ID, GOOD).unwrap_err();
    assert!(matches!(err, Failure::Unreachable { .. }), "{err:?}");
}

#[test]
fn an_untrusted_certificate_at_the_authority_or_the_api_is_a_tls_failure() {
    let w = world();
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

/// Issue 20, finding 1: the credential's `authority` decides where the
/// client secret is posted. Anyone who may edit a configuration without
/// reading the secret (a team admin, an imported file) could name their
/// own server; only Entra's sign-in hosts (and this build's own authority)
/// are sent the secret.
#[test]
fn an_authority_that_is_not_entra_is_refused_and_never_sent_the_secret() {
    let w = world();
    let elsewhere = entra();
    for authority in [
        elsewhere.base.clone(),
        "https://attacker.example".to_owned(),
        "https://login.microsoftonline.com.attacker.example".to_owned(),
        "https://login.microsoftonline.com:8443".to_owned(),
        "https://user@login.microsoftonline.com".to_owned(),
        "http://login.microsoftonline.com".to_owned(),
        "not a url".to_owned(),
    ] {
        let err = check(Case {
            authority: &w.entra.base,
            api: &w.bc.base,
            tenant: TENANT,
            client_id: CLIENT_ID,
            environment: "production",
            company: COMPANY_ID,
            secret: GOOD,
            config_authority: Some(&authority),
            graph: None,
        })
        .expect_err(&authority);
        match &err {
            Failure::Unsafe { detail } => {
                assert!(detail.contains("login.microsoftonline.com"), "{detail}");
                assert!(!detail.contains(GOOD), "{detail}");
            }
            other => panic!("{authority}: {other:?}"),
        }
    }
    assert!(
        elsewhere.requests().is_empty(),
        "the other server was sent {:?}",
        elsewhere.requests()
    );
    assert!(w.entra.requests().is_empty());
    // The authority this build is set up with still works when named.
    let v = check(Case {
        authority: &w.entra.base,
        api: &w.bc.base,
        tenant: TENANT,
        client_id: CLIENT_ID,
        environment: "production",
        company: COMPANY_ID,
        secret: GOOD,
        config_authority: Some(&w.entra.base),
        graph: None,
    });
    assert!(v.is_ok(), "{v:?}");
}

/// Microsoft Graph as documented (entra/graph.application.with-password.
/// 200.http): the registration's passwordCredentials with their hints and
/// end dates; `readable` false: Graph refuses the app (403, as it does
/// without Application.Read.All).
fn graph(end: time::OffsetDateTime, readable: bool) -> Fake {
    let end = end.format(&time::format_description::well_known::Rfc3339).unwrap();
    Fake::start(move |r: &Recorded| {
        assert_eq!(r.uri, format!("/v1.0/applications(appId='{CLIENT_ID}')"));
        if !readable {
            return Reply::json(
                403,
                serde_json::json!({"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges"}}),
            );
        }
        let end = end.clone();
        Reply::fixture("entra/graph.application.with-password.200.http", move |b| {
            b["appId"] = CLIENT_ID.into();
            b["passwordCredentials"][0]["hint"] = GOOD[..3].into();
            b["passwordCredentials"][0]["endDateTime"] = end.into();
        })
    })
}

fn check_with_graph(w: &World, graph: &Fake) -> Result<Verdict, Failure> {
    check(Case {
        authority: &w.entra.base,
        api: &w.bc.base,
        tenant: TENANT,
        client_id: CLIENT_ID,
        environment: "production",
        company: COMPANY_ID,
        secret: GOOD,
        config_authority: None,
        graph: Some(&graph.base),
    })
}

#[test]
fn the_client_secrets_end_date_is_read_from_graph_by_its_hint() {
    let w = world();
    let end = time::OffsetDateTime::now_utc() + time::Duration::days(10);
    let g = graph(end, true);
    let v = check_with_graph(&w, &g).unwrap();
    assert_eq!(v.expires_at.map(|t| t.unix_timestamp()), Some(end.unix_timestamp()));
    assert!(v.notes.is_empty(), "{:?}", v.notes);
    // The Graph token was asked for Graph's resource, with the same client.
    let f = form(&w.entra.requests()[1].body);
    assert_eq!(f["scope"], "https://graph.microsoft.com/.default");
    let asked = &g.requests()[0];
    assert_eq!(asked.header("authorization"), Some(format!("Bearer {TOKEN}").as_str()));
}

#[test]
fn a_registration_that_may_not_read_itself_passes_and_says_its_expiry_is_unknown() {
    let w = world();
    let g = graph(time::OffsetDateTime::now_utc(), false);
    let v = check_with_graph(&w, &g).unwrap();
    assert_eq!(v.expires_at, None);
    assert!(v.notes[0].contains("Application.Read.All"), "{:?}", v.notes);
}

/// Must hold (issue 22): a secret Graph says ends in 10 days gets the
/// 14-day notice after a live check, with no expiry typed by anyone.
#[test]
fn a_graph_end_date_ten_days_out_gives_the_fourteen_day_notice_with_no_expiry_typed() {
    use keywarden_connectors::Connectors;
    use keywarden_core::{Actor, KeySource, NewCredential, NewIntegration, Vault};
    let w = world();
    let end = time::OffsetDateTime::now_utc() + time::Duration::days(10);
    let g = graph(end, true);
    let dir = tempfile::tempdir().unwrap();
    let actor = Actor {
        profile: "t".into(),
        os_user: "t".into(),
        host: "t".into(),
    };
    let (mut v, _) = Vault::create(&dir.path().join("v"), KeySource::Keychain, actor).unwrap();
    v.add_integration(NewIntegration {
        name: "BC".into(),
        provider: "business_central".into(),
        environment: "production".into(),
        tenant_id: Some(TENANT.into()),
        ..Default::default()
    })
    .unwrap();
    let c = v
        .add_credential(NewCredential {
            name: "bc".into(),
            kind: Some(CredentialKind::OAuth2),
            integration: Some("BC".into()),
            config: [
                ("client_id".to_owned(), CLIENT_ID.to_owned()),
                ("company_id".to_owned(), COMPANY_ID.to_owned()),
                ("grant_type".to_owned(), "client_credentials".to_owned()),
                (
                    "token_url".to_owned(),
                    format!("{}/{TENANT}/oauth2/v2.0/token", w.entra.base),
                ),
            ]
            .into(),
            secrets: SecretFields::single("client_secret", SecretString::from(GOOD.to_owned())),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(c.summary.expires_at, None, "nobody typed an expiry");
    let connectors = Connectors::new(Options {
        allow_loopback_http: true,
        timeout: Duration::from_secs(2),
        bc_authority: w.entra.base.clone(),
        bc_api: w.bc.base.clone(),
        graph_api: g.base.clone(),
        ..Options::default()
    });
    v.check_credential("bc", &connectors).unwrap();
    let c = v.get_credential("bc").unwrap();
    assert_eq!(
        c.summary.expires_at.map(|t| t.unix_timestamp()),
        Some(end.unix_timestamp())
    );
    assert_eq!(c.summary.expiry_source, Some(keywarden_core::ExpirySource::Provider));
    let run = v.run_notices().unwrap();
    let thresholds: Vec<u32> = run.fired.iter().map(|n| n.threshold_days).collect();
    assert_eq!(
        thresholds,
        [14],
        "{:?}",
        run.fired.iter().map(|n| &n.summary).collect::<Vec<_>>()
    );
}
