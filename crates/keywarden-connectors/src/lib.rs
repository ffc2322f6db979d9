//! Live checks of credentials against the providers' own endpoints.
//!
//! Each provider has a validator implementing `keywarden_core::Validator`;
//! the core calls it during rotation ("Validate and Save") and
//! `check_credential` ("Test connection"). Every request goes through
//! `http::Client`, which enforces the rules for all of them: HTTPS only
//! (plain http only to loopback in test mode), a timeout, no redirect that
//! would carry the credential to another host, the secret only in headers,
//! and no secret in any error.

pub mod alerts;
pub mod authorize;
pub mod browser;
pub mod business_central;
pub mod endpoints;
#[cfg(feature = "fakes")]
pub mod fake_alerts;
#[cfg(feature = "fakes")]
pub mod fake_oauth;
#[cfg(feature = "fakes")]
pub mod fakes;
#[cfg(feature = "fakes")]
pub mod fixtures;
pub mod generic;
pub mod graph;
pub mod http;
pub mod oauth2;
pub mod pleo;
pub mod sign_in;
pub mod tokens;
pub mod xledger;

use std::time::Duration;

use keywarden_core::{Candidate, CredentialKind, Failure, Rejection, Validator, Verdict};

/// How connectors reach the network.
#[derive(Debug, Clone)]
pub struct Options {
    /// Allow plain http to 127.0.0.1 / ::1 / localhost: test mode only,
    /// for the provider fakes. Never on for a real vault.
    pub allow_loopback_http: bool,
    /// Per request, connect and response together.
    pub timeout: Duration,
    /// Overrides of the providers' well-known base URLs (tests point them
    /// at fakes); an integration's own `base_url` wins over both.
    pub pleo_production: String,
    pub pleo_staging: String,
    /// Pleo's authorization server (Connect), by environment.
    pub pleo_auth_production: String,
    pub pleo_auth_staging: String,
    pub xledger_production: String,
    pub xledger_demo: String,
    /// Entra ID and the Business Central API.
    pub bc_authority: String,
    pub bc_api: String,
    /// Microsoft Graph (a client secret's end date).
    pub graph_api: String,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            allow_loopback_http: false,
            timeout: Duration::from_secs(15),
            pleo_production: pleo::PRODUCTION.to_owned(),
            pleo_staging: pleo::STAGING.to_owned(),
            pleo_auth_production: endpoints::PLEO_AUTH.to_owned(),
            pleo_auth_staging: endpoints::PLEO_AUTH_STAGING.to_owned(),
            xledger_production: xledger::PRODUCTION.to_owned(),
            xledger_demo: xledger::DEMO.to_owned(),
            bc_authority: business_central::AUTHORITY.to_owned(),
            bc_api: business_central::API.to_owned(),
            graph_api: graph::API.to_owned(),
        }
    }
}

/// Picks the validator for a candidate by its integration's provider:
/// `pleo`, otherwise the generic HTTP check when the credential configures
/// one (`check_url`), else an explanation that no live check exists.
pub struct Connectors {
    options: Options,
}

impl Connectors {
    pub fn new(options: Options) -> Connectors {
        Connectors { options }
    }
}

impl Connectors {
    /// The provider named by the candidate's integration, lower-cased.
    fn provider(c: &Candidate<'_>) -> String {
        c.integration
            .map(|i| i.provider.to_ascii_lowercase())
            .unwrap_or_default()
    }
}

impl Validator for Connectors {
    fn has_live_check(&self, c: &Candidate<'_>) -> bool {
        matches!(
            Connectors::provider(c).as_str(),
            "pleo" | "xledger" | "business_central" | "business-central" | "bc" | "dynamics365"
        ) || (c.kind == CredentialKind::OAuth2 && c.config.contains_key("token_url"))
            || c.config.contains_key(generic::CHECK_URL)
    }

    fn validate(&self, c: &Candidate<'_>) -> Result<Verdict, Rejection> {
        let provider = Connectors::provider(c);
        match provider.as_str() {
            "pleo" => pleo::Pleo::new(self.options.clone()).validate(c),
            "xledger" => xledger::Xledger::new(self.options.clone()).validate(c),
            "business_central" | "business-central" | "bc" | "dynamics365" => {
                business_central::BusinessCentral::new(self.options.clone()).validate(c)
            }
            _ if c.kind == CredentialKind::OAuth2 && c.config.contains_key("token_url") => {
                oauth2::OAuth2::new(self.options.clone()).validate(c)
            }
            _ if c.config.contains_key(generic::CHECK_URL) => generic::Generic::new(self.options.clone()).validate(c),
            _ => Err(Rejection::new(Failure::Provider {
                status: None,
                detail: format!(
                    "no live check is known for provider '{provider}'; set the credential's `{}` to an endpoint that answers with the expected status, or run the offline checks",
                    generic::CHECK_URL
                ),
            })),
        }
    }
}
