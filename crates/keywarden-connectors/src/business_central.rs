//! Dynamics 365 Business Central: a client-credentials token from Entra ID
//! (`{authority}/{tenant}/oauth2/v2.0/token`, scope
//! `https://api.businesscentral.dynamics.com/.default`), then
//! `GET {api}/v2.0/{tenant}/{environment}/api/v2.0/companies` with it. The
//! integration's tenant is the Entra tenant; its company must be in the
//! list. Entra's AADSTS codes name the failure: 7000222 an expired secret,
//! 7000215 a wrong one.

use keywarden_core::{Candidate, Failure, Rejection, Validator, Verdict};
use secrecy::ExposeSecret;
use serde_json::Value;

use crate::Options;
use crate::http::{Auth, Body, Client};

pub const AUTHORITY: &str = "https://login.microsoftonline.com";
pub const API: &str = "https://api.businesscentral.dynamics.com";
pub const SCOPE: &str = "https://api.businesscentral.dynamics.com/.default";

pub struct BusinessCentral {
    options: Options,
}

impl BusinessCentral {
    pub fn new(options: Options) -> BusinessCentral {
        BusinessCentral { options }
    }
}

fn need(what: &str, how: &str) -> Failure {
    Failure::Format {
        detail: format!("a Business Central credential needs {what}; {how}"),
    }
}

impl Validator for BusinessCentral {
    fn validate(&self, c: &Candidate<'_>) -> Result<Verdict, Rejection> {
        let integration = c
            .integration
            .ok_or_else(|| need("an integration", "attach it to the Business Central integration"))?;
        let tenant = integration
            .tenant_id
            .as_deref()
            .ok_or_else(|| need("the Entra tenant id", "set it as the integration's tenant id"))?;
        let environment = integration.environment.as_str();
        let client_id = c
            .config
            .get("client_id")
            .ok_or_else(|| need("a client_id", "set the app registration's client id"))?;
        let secret = c
            .secrets
            .get("client_secret")
            .ok_or_else(|| need("a client_secret", "enter the app registration's secret"))?
            .expose_secret();
        let company = c.config.get("company_id").or_else(|| c.config.get("company"));
        let authority = c
            .config
            .get("authority")
            .cloned()
            .unwrap_or_else(|| self.options.bc_authority.clone());
        let api = integration
            .base_url
            .clone()
            .unwrap_or_else(|| self.options.bc_api.clone());
        let client = Client::new(&self.options)?;

        let token_url = format!("{}/{tenant}/oauth2/v2.0/token", authority.trim_end_matches('/'));
        let resp = client.send(
            reqwest::Method::POST,
            &token_url,
            Auth::None,
            Some(Body::Form(vec![
                ("grant_type".into(), "client_credentials".into()),
                ("client_id".into(), client_id.clone()),
                ("client_secret".into(), secret.to_owned()),
                ("scope".into(), SCOPE.into()),
            ])),
            &[secret],
        )?;
        let body = resp.json().unwrap_or(Value::Null);
        if resp.status != 200 {
            return Err(token_failure(resp.status, &body, resp.retry_after()).into());
        }
        let token = body["access_token"].as_str().ok_or_else(|| Failure::Provider {
            status: Some(200),
            detail: "Entra ID gave no access token".into(),
        })?;

        let companies_url = format!(
            "{}/v2.0/{tenant}/{environment}/api/v2.0/companies",
            api.trim_end_matches('/')
        );
        let resp = client.send(
            reqwest::Method::GET,
            &companies_url,
            Auth::Bearer(token),
            None,
            &[secret, token],
        )?;
        let body = resp.json().unwrap_or(Value::Null);
        match resp.status {
            200 => {}
            401 => {
                return Err(Failure::InvalidCredential {
                    detail: "Business Central refused the token (401)".into(),
                }
                .into());
            }
            403 => {
                return Err(Failure::InsufficientScope {
                    missing: vec![
                        "Business Central API permission (API.ReadWrite.All or Financials.ReadWrite.All)".into(),
                    ],
                }
                .into());
            }
            404 => {
                return Err(Failure::WrongEnvironment {
                    expected: environment.into(),
                    actual: format!("no environment '{environment}' in tenant {tenant}"),
                }
                .into());
            }
            429 => {
                return Err(Failure::RateLimited {
                    retry_after_secs: resp.retry_after(),
                    detail: "Business Central answered 429".into(),
                }
                .into());
            }
            status => {
                return Err(Failure::Provider {
                    status: Some(status),
                    detail: "Business Central did not list the companies".into(),
                }
                .into());
            }
        }
        let listed: Vec<(String, String)> = body["value"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|c| {
                        (
                            c["id"].as_str().unwrap_or_default().to_owned(),
                            c["name"].as_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        if let Some(want) = company {
            let found = listed
                .iter()
                .any(|(id, name)| id.eq_ignore_ascii_case(want) || name.eq_ignore_ascii_case(want));
            if !found {
                let names: Vec<&str> = listed.iter().map(|(_, n)| n.as_str()).collect();
                return Err(Failure::WrongTenant {
                    expected: want.clone(),
                    actual: if names.is_empty() {
                        "no company".into()
                    } else {
                        format!("only {}", names.join(", "))
                    },
                }
                .into());
            }
        }
        Ok(Verdict {
            tenant_id: Some(tenant.to_owned()),
            environment: Some(environment.to_owned()),
            scopes: vec![SCOPE.to_owned()],
            // The access token's expiry is an hour away and says nothing
            // about the client secret's (Entra's endDateTime, via Graph).
            expires_at: None,
            ..Verdict::default()
        })
    }
}

/// Entra ID's token errors: `{"error": ..., "error_description": "AADSTS…"}`.
fn token_failure(status: u16, body: &Value, retry_after: Option<u64>) -> Failure {
    let error = body["error"].as_str().unwrap_or_default();
    let description = body["error_description"].as_str().unwrap_or_default();
    let aadsts = description
        .split(|c: char| !c.is_ascii_alphanumeric())
        .find(|w| w.starts_with("AADSTS"))
        .unwrap_or_default()
        .to_owned();
    match aadsts.as_str() {
        "AADSTS7000222" => Failure::Expired {
            detail: "AADSTS7000222: the client secret has expired".into(),
        },
        "AADSTS7000215" => Failure::InvalidCredential {
            detail: "AADSTS7000215: the client secret is wrong".into(),
        },
        "AADSTS700016" => Failure::InvalidCredential {
            detail: "AADSTS700016: no app with this client id in the tenant".into(),
        },
        "AADSTS90002" => Failure::WrongTenant {
            expected: "an existing Entra tenant".into(),
            actual: "AADSTS90002: tenant not found".into(),
        },
        _ if status == 429 => Failure::RateLimited {
            retry_after_secs: retry_after,
            detail: "Entra ID answered 429".into(),
        },
        _ if error == "invalid_client" => Failure::InvalidCredential {
            detail: format!("Entra ID: invalid_client {aadsts}").trim().to_owned(),
        },
        _ => Failure::Provider {
            status: Some(status),
            detail: format!("Entra ID: {error} {aadsts}").trim().to_owned(),
        },
    }
}
