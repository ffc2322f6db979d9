//! Pleo: `GET {base}/v1/introspect` tells whom a key or token belongs to.
//!
//! API keys go as HTTP Basic with the key as username and an empty
//! password; OAuth access tokens as Bearer. The company is the uuid in
//! `subjectURN` (`urn:pleo:company:<uuid>`); `scope` lists the granted
//! scopes. A key works only in the environment that issued it, so a 401 in
//! one environment is followed by one request to the other: if the key
//! works there, the verdict says so.

use keywarden_core::{Candidate, Failure, Rejection, Validator, Verdict};
use secrecy::ExposeSecret;

use crate::Options;
use crate::http::{Auth, Client, Response};

pub const PRODUCTION: &str = "https://external.pleo.io";
pub const STAGING: &str = "https://external.staging.pleo.io";

const COMPANY_URN: &str = "urn:pleo:company:";

pub struct Pleo {
    options: Options,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Env {
    Production,
    Staging,
}

impl Env {
    fn of(integration_env: &str) -> Env {
        match integration_env.to_ascii_lowercase().as_str() {
            "staging" | "sandbox" | "test" | "demo" => Env::Staging,
            _ => Env::Production,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Env::Production => "production",
            Env::Staging => "staging",
        }
    }

    fn other(self) -> Env {
        match self {
            Env::Production => Env::Staging,
            Env::Staging => Env::Production,
        }
    }
}

impl Pleo {
    pub fn new(options: Options) -> Pleo {
        Pleo { options }
    }

    fn base(&self, env: Env) -> &str {
        match env {
            Env::Production => &self.options.pleo_production,
            Env::Staging => &self.options.pleo_staging,
        }
    }

    fn introspect(&self, client: &Client, base: &str, auth: Auth<'_>, secret: &str) -> Result<Response, Failure> {
        let url = format!("{}/v1/introspect", base.trim_end_matches('/'));
        client.send(reqwest::Method::GET, &url, auth, None, &[secret])
    }
}

impl Validator for Pleo {
    fn validate(&self, c: &Candidate<'_>) -> Result<Verdict, Rejection> {
        let client = Client::new(&self.options)?;
        let env = Env::of(c.integration.map(|i| i.environment.as_str()).unwrap_or("production"));
        let custom_base = c.integration.and_then(|i| i.base_url.clone());
        let base = custom_base.clone().unwrap_or_else(|| self.base(env).to_owned());
        let (secret, bearer) = match (c.secrets.get("access_token"), c.secrets.get("api_key")) {
            (Some(token), _) => (token, true),
            (None, Some(key)) => (key, false),
            (None, None) => {
                return Err(Failure::Format {
                    detail: "a Pleo credential needs an `api_key` (integrated API key) or an `access_token` (OAuth)"
                        .into(),
                }
                .into());
            }
        };
        let secret = secret.expose_secret();
        let auth = || {
            if bearer {
                Auth::Bearer(secret)
            } else {
                Auth::Basic {
                    user: secret,
                    password: "",
                }
            }
        };
        let resp = self.introspect(&client, &base, auth(), secret)?;
        match resp.status {
            200 => {
                let body = resp.json().ok_or_else(|| Failure::Provider {
                    status: Some(200),
                    detail: "the introspection answer is not JSON".into(),
                })?;
                let verdict = verdict_of(&body, env)?;
                let required = c.integration.map(|i| i.scopes.clone()).unwrap_or_default();
                let missing: Vec<String> = required.into_iter().filter(|s| !verdict.scopes.contains(s)).collect();
                if !missing.is_empty() {
                    return Err(Failure::InsufficientScope { missing }.into());
                }
                Ok(verdict)
            }
            401 => {
                let text = String::from_utf8_lossy(&resp.body).to_ascii_lowercase();
                if text.contains("expired") {
                    return Err(Failure::Expired {
                        detail: "Pleo answered 401: the token has expired".into(),
                    }
                    .into());
                }
                // Only the well-known bases are probed: a custom base URL
                // has no known twin.
                if custom_base.is_none() {
                    let other = env.other();
                    let works_there = self
                        .introspect(&client, self.base(other), auth(), secret)
                        .is_ok_and(|r| r.status == 200);
                    if works_there {
                        return Err(Failure::WrongEnvironment {
                            expected: env.name().into(),
                            actual: other.name().into(),
                        }
                        .into());
                    }
                }
                Err(Failure::InvalidCredential {
                    detail: format!("Pleo {} answered 401 Unauthorized", env.name()),
                }
                .into())
            }
            403 => {
                let required = c.integration.map(|i| i.scopes.clone()).unwrap_or_default();
                Err(Failure::InsufficientScope { missing: required }.into())
            }
            429 => Err(Failure::RateLimited {
                retry_after_secs: resp.retry_after(),
                detail: "Pleo answered 429 Too Many Requests".into(),
            }
            .into()),
            status => Err(Failure::Provider {
                status: Some(status),
                detail: "Pleo's introspection endpoint did not accept the request".into(),
            }
            .into()),
        }
    }
}

fn verdict_of(body: &serde_json::Value, env: Env) -> Result<Verdict, Failure> {
    let urn = body["subjectURN"].as_str().unwrap_or_default();
    let company = urn.strip_prefix(COMPANY_URN).ok_or_else(|| Failure::Provider {
        status: Some(200),
        detail: format!("the key is not a company key (subject '{urn}'); use an integrated API key of the company"),
    })?;
    let scopes = match &body["scope"] {
        serde_json::Value::String(s) => s
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        serde_json::Value::Array(a) => a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    };
    let expires_at = body["exp"]
        .as_i64()
        .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok());
    Ok(Verdict {
        tenant_id: Some(company.to_owned()),
        environment: Some(env.name().to_owned()),
        scopes,
        expires_at,
        ..Verdict::default()
    })
}
