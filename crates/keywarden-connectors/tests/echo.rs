//! Issue 20, finding 2: a provider that echoes the secret. For every
//! provider, each documented error answer is served with every one of its
//! text fields (and the `WWW-Authenticate` challenge) replaced by the
//! secret — raw, base64, inside a Basic header's base64, JSON-escaped and
//! percent-encoded — and the check, run the one way the vaults run it
//! (`keywarden_core::validate::run`), must repeat none of it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake;

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use fake::{Fake, Recorded, Reply};
use keywarden_connectors::{Connectors, Options};
use keywarden_core::validate::run;
use keywarden_core::{Candidate, CredentialKind, Integration, SecretFields, SecretString};
use serde_json::Value;

const SECRET: &str = "echo-secret/+=0123456789abcdefXYZ";
const REFRESH: &str = "echo-refresh/+=9876543210fedcbaQRS";
/// Shaped like an error code (letters, digits, underscores), as many API
/// keys are: a filter that lets codes through must not let it through.
const CODE_SHAPED: &str = "invalid_secret_0123456789abcdef";
const TENANT: &str = "7d0c1b2a-0000-4000-8000-00000000e1d0";

/// The secret in every form a provider might write it back in.
fn forms(secret: &str) -> Vec<String> {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let percent: String = secret
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    vec![
        secret.to_owned(),
        b64(secret),
        b64(&format!("client-id:{secret}")),
        serde_json::to_string(secret).unwrap(),
        percent,
    ]
}

/// One text holding every form of every secret.
fn echo() -> String {
    let all: Vec<String> = [SECRET, REFRESH, CODE_SHAPED].iter().flat_map(|s| forms(s)).collect();
    all.join(" | ")
}

/// Every string in `v` becomes the echo.
fn echo_every_string(v: &mut Value) {
    match v {
        Value::String(s) => *s = echo(),
        Value::Array(a) => a.iter_mut().for_each(echo_every_string),
        Value::Object(o) => o.values_mut().for_each(echo_every_string),
        _ => {}
    }
}

/// The documented answer `name`, every text field echoing the secret, and
/// its challenge too when it has one.
fn echoing(name: &str) -> Reply {
    let fixture = keywarden_connectors::fixtures::Fixture::load(name);
    let challenge = fixture.header("www-authenticate").map(|_| {
        format!(
            "Bearer realm=\"{e}\", error=\"{e}\", error_description=\"{e}\", scope=\"{e}\"",
            e = echo().replace('"', "'")
        )
    });
    let reply = if fixture.is_json() {
        Reply::fixture(name, echo_every_string)
    } else {
        Reply::documented(name)
    };
    match challenge {
        Some(c) => reply.with_header("www-authenticate", &c),
        None => reply,
    }
}

fn integration(provider: &str, base_url: Option<&str>, tenant: Option<&str>) -> Integration {
    let now = time::OffsetDateTime::now_utc();
    Integration {
        id: uuid::Uuid::new_v4(),
        name: "echo".into(),
        provider: provider.into(),
        environment: "production".into(),
        tenant_id: tenant.map(str::to_owned),
        base_url: base_url.map(str::to_owned),
        scopes: vec![],
        sync_schedule: None,
        owner: None,
        tags: vec![],
        notes: None,
        max_age_days: None,
        env_names: BTreeMap::new(),
        created_at: now,
        updated_at: now,
    }
}

fn options(base: &str) -> Options {
    Options {
        allow_loopback_http: true,
        timeout: Duration::from_secs(2),
        pleo_production: base.to_owned(),
        pleo_staging: base.to_owned(),
        pleo_auth_production: base.to_owned(),
        pleo_auth_staging: base.to_owned(),
        xledger_production: base.to_owned(),
        xledger_demo: base.to_owned(),
        bc_authority: base.to_owned(),
        bc_api: base.to_owned(),
        graph_api: base.to_owned(),
    }
}

/// Runs one check against `fake` and fails if any form of either secret
/// is in what comes back.
fn assert_nothing_echoed(
    case: &str,
    fake: &Fake,
    kind: CredentialKind,
    config: &[(&str, String)],
    secrets: &[(&str, &str)],
    integration: Option<Integration>,
) {
    let config: BTreeMap<String, String> = config.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    let mut fields = SecretFields::new();
    for (name, value) in secrets {
        fields.insert(name, SecretString::from((*value).to_owned()));
    }
    let candidate = Candidate {
        credential_name: "echo",
        kind,
        config: &config,
        secrets: &fields,
        integration: integration.as_ref(),
    };
    let result = run(&Connectors::new(options(&fake.base)), &candidate);
    let shown = match &result {
        Ok(v) => format!("{v:?}"),
        Err(r) => format!("{:?} {} {}", r.failure, r.failure.message(), r.reason()),
    };
    assert!(!fake.requests().is_empty(), "{case}: the fake was never asked");
    // The candidate's own secrets: what it was sent, and so what it could
    // echo.
    for (_, secret) in secrets {
        for form in forms(secret) {
            assert!(!shown.contains(&form), "{case} repeats {form}: {shown}");
        }
    }
    // The same answers to a key shaped like an error code.
    if secrets.iter().any(|(_, s)| *s == SECRET) {
        let code_shaped: Vec<(&str, &str)> = secrets
            .iter()
            .map(|(n, s)| (*n, if *s == SECRET { CODE_SHAPED } else { *s }))
            .collect();
        assert_nothing_echoed(
            &format!("{case}, a code-shaped key"),
            fake,
            kind,
            &config.iter().map(|(k, v)| (k.as_str(), v.clone())).collect::<Vec<_>>(),
            &code_shaped,
            integration,
        );
    }
}

#[test]
fn pleo_errors_echoing_the_key_repeat_none_of_it() {
    for name in [
        "pleo/introspect.400.http",
        "pleo/introspect.401.http",
        "pleo/introspect.403.http",
        "pleo/introspect.500.http",
        "pleo/introspect.200.http",
    ] {
        let fake = Fake::start(move |_: &Recorded| echoing(name));
        assert_nothing_echoed(
            name,
            &fake,
            CredentialKind::ApiKey,
            &[],
            &[("api_key", SECRET)],
            Some(integration("pleo", Some(&fake.base), None)),
        );
    }
}

#[test]
fn xledger_errors_echoing_the_token_repeat_none_of_it() {
    for name in [
        "xledger/graphql.error.bad-request.burst-rate-limit-reached.http",
        "xledger/graphql.error.bad-request.insufficient-credits.http",
        "xledger/graphql.error.spec-extensions-code.http",
        "xledger/graphql.200.http",
    ] {
        let fake = Fake::start(move |_: &Recorded| echoing(name));
        assert_nothing_echoed(
            name,
            &fake,
            CredentialKind::ApiKey,
            &[],
            &[("api_key", SECRET)],
            Some(integration("xledger", Some(&fake.base), None)),
        );
    }
}

#[test]
fn entra_and_business_central_errors_echoing_the_client_secret_repeat_none_of_it() {
    let token_errors = [
        "entra/token.error.400.http",
        "entra/token.error.AADSTS700016.400.http",
        "entra/token.error.AADSTS7000215.401.http",
        "entra/token.error.AADSTS7000222.401.http",
        "entra/token.error.AADSTS90002.400.http",
        "entra/token.error.invalid-grant.400.http",
        "entra/token.error.temporarily-unavailable.503.http",
    ];
    let api_errors = [
        "business-central/companies.401.http",
        "business-central/companies.403.http",
        "business-central/companies.404.http",
        "business-central/companies.200.http",
    ];
    let cases = token_errors.iter().map(|t| (*t, None)).chain(
        api_errors
            .iter()
            .map(|a| ("entra/token.client-credentials.200.http", Some(*a))),
    );
    for (token, api) in cases {
        let fake = Fake::start(move |r: &Recorded| {
            if r.uri.ends_with("/oauth2/v2.0/token") {
                match api {
                    // The token is issued; the API's answer echoes.
                    Some(_) => Reply::documented(token),
                    None => echoing(token),
                }
            } else {
                echoing(api.unwrap_or("business-central/companies.404.http"))
            }
        });
        assert_nothing_echoed(
            api.unwrap_or(token),
            &fake,
            CredentialKind::OAuth2,
            &[("client_id", "client-id".into()), ("company_id", "CRONUS".into())],
            &[("client_secret", SECRET)],
            Some(integration("business_central", None, Some(TENANT))),
        );
    }
}

#[test]
fn oauth2_token_endpoint_errors_echoing_the_secrets_repeat_none_of_it() {
    for name in [
        "rfc6749/token.error.invalid-request.400.http",
        "entra/token.error.invalid-grant.400.http",
        "rfc6585/too-many-requests.429.http",
        "rfc6749/token.200.http",
    ] {
        for grant in ["client_credentials", "refresh_token"] {
            let fake = Fake::start(move |_: &Recorded| echoing(name));
            assert_nothing_echoed(
                &format!("{name} ({grant})"),
                &fake,
                CredentialKind::OAuth2,
                &[
                    ("token_url", format!("{}/token", fake.base)),
                    ("client_id", "client-id".into()),
                    ("grant_type", grant.into()),
                ],
                &[("client_secret", SECRET), ("refresh_token", REFRESH)],
                None,
            );
        }
    }
}

#[test]
fn a_generic_endpoint_echoing_the_secret_in_its_answer_or_challenge_repeats_none_of_it() {
    for name in [
        "rfc6750/resource.401.invalid-token.http",
        "rfc6750/resource.401.no-token.http",
        "rfc6750/resource.403.insufficient-scope.http",
        "rfc6585/too-many-requests.429.http",
    ] {
        for auth in ["bearer", "token", "basic"] {
            let fake = Fake::start(move |_: &Recorded| echoing(name));
            assert_nothing_echoed(
                &format!("{name} ({auth})"),
                &fake,
                CredentialKind::ApiKey,
                &[
                    ("check_url", format!("{}/check", fake.base)),
                    ("check_auth", auth.into()),
                    ("username", "client-id".into()),
                ],
                &[("api_key", SECRET)],
                None,
            );
        }
    }
}
