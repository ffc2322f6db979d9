//! Issue 20, finding 1, the local side: an integration's base URL comes
//! from whoever set up the integration or wrote the file it was imported
//! from, who may never have seen the secret. Pleo and Xledger send the key
//! itself there, Business Central its access token: each only to the
//! provider's own hosts (or the fakes a test build is set up with).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake;

use std::collections::BTreeMap;
use std::time::Duration;

use fake::{Fake, Recorded, Reply};
use keywarden_connectors::{Connectors, Options};
use keywarden_core::validate::run;
use keywarden_core::{Candidate, CredentialKind, Failure, Integration, SecretFields, SecretString};

const SECRET: &str = "pk_live_endpoint_0123456789abcdef";

fn integration(provider: &str, base_url: &str) -> Integration {
    let now = time::OffsetDateTime::now_utc();
    Integration {
        id: uuid::Uuid::new_v4(),
        name: "elsewhere".into(),
        provider: provider.into(),
        environment: "production".into(),
        tenant_id: Some("7d0c1b2a-0000-4000-8000-00000000e1d0".into()),
        base_url: Some(base_url.into()),
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

#[test]
fn a_base_url_outside_the_providers_hosts_is_never_sent_the_secret_or_its_token() {
    // What the build is set up with: one fake for every provider, which
    // issues a token to Business Central's client secret.
    let own = Fake::start(|r: &Recorded| {
        if r.uri.ends_with("/oauth2/v2.0/token") {
            Reply::documented("entra/token.client-credentials.200.http")
        } else {
            Reply::documented("pleo/introspect.401.http")
        }
    });
    let options = Options {
        allow_loopback_http: false,
        timeout: Duration::from_secs(2),
        pleo_production: own.base.clone(),
        pleo_staging: own.base.clone(),
        pleo_auth_production: own.base.clone(),
        pleo_auth_staging: own.base.clone(),
        xledger_production: own.base.clone(),
        xledger_demo: own.base.clone(),
        bc_authority: own.base.clone(),
        bc_api: own.base.clone(),
        graph_api: own.base.clone(),
    };
    let elsewhere = Fake::start(|_: &Recorded| Reply::documented("pleo/introspect.401.http"));
    for (provider, field, host) in [
        ("pleo", "api_key", "external.pleo.io"),
        ("xledger", "api_key", "www.xledger.net"),
        ("business_central", "client_secret", "api.businesscentral.dynamics.com"),
    ] {
        for base in [
            elsewhere.base.clone(),
            "https://attacker.example".to_owned(),
            format!("https://{host}.attacker.example"),
            format!("https://{host}:8443"),
        ] {
            let config: BTreeMap<String, String> = [("client_id".to_owned(), "app".to_owned())].into();
            let secrets = SecretFields::single(field, SecretString::from(SECRET.to_owned()));
            let integration = integration(provider, &base);
            let candidate = Candidate {
                credential_name: "elsewhere",
                kind: if field == "client_secret" {
                    CredentialKind::OAuth2
                } else {
                    CredentialKind::ApiKey
                },
                config: &config,
                secrets: &secrets,
                integration: Some(&integration),
            };
            match run(&Connectors::new(options.clone()), &candidate) {
                Err(r) => match r.failure {
                    Failure::Unsafe { detail } => assert!(detail.contains(host), "{provider} {base}: {detail}"),
                    other => panic!("{provider} {base}: {other:?}"),
                },
                Ok(v) => panic!("{provider} {base}: {v:?}"),
            }
        }
    }
    assert!(elsewhere.requests().is_empty(), "{:?}", elsewhere.requests());
}
