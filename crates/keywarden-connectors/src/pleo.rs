//! Pleo: `GET {base}/v1/introspect` tells whom a key or token belongs to.
//!
//! API keys go as HTTP Basic with the key as username and an empty
//! password; OAuth access tokens as Bearer. The answer, as Pleo's API
//! reference documents it ("Introspect the details of the current
//! authentication", tests/fixtures/providers/pleo/introspect.200.http), is
//! wrapped in `data`: `authMethod`, `clientId` and `scope` (space-separated)
//! always, `applicationName` and `subjectURN` (`urn:pleo:company:<uuid>`)
//! when known. The company is the uuid of `subjectURN`. There is no expiry
//! in it. A key works only in the environment that issued it, so a 401 in
//! one environment is followed by one request to the other: if the key
//! works there, the verdict says so.

use keywarden_core::{Candidate, Failure, Rejection, Validator, Verdict};
use secrecy::ExposeSecret;

use crate::Options;
use crate::http::{Auth, Client, Response};

pub const PRODUCTION: &str = "https://external.pleo.io";
pub const STAGING: &str = "https://external.staging.pleo.io";
/// The hosts of `PRODUCTION` and `STAGING`: the only ones sent a Pleo key.
pub const HOSTS: [&str; 2] = ["external.pleo.io", "external.staging.pleo.io"];

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
        if let Some(b) = &custom_base {
            crate::http::pinned_base(
                "Pleo",
                b,
                &HOSTS,
                &[&self.options.pleo_production, &self.options.pleo_staging],
                self.options.allow_loopback_http,
            )?;
        }
        let base = custom_base.clone().unwrap_or_else(|| self.base(env).to_owned());
        let (secret, bearer) = secret_of(c)?;
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
            200 => accepted(&resp, env, secret, c),
            // Documented with no body: nothing in it tells an expired
            // token from a revoked or wrong one.
            401 => {
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
                    detail: format!(
                        "Pleo {} answered 401 Unauthorized: the key or token is not accepted (revoked, expired or mistyped)",
                        env.name()
                    ),
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

/// The secret Pleo checks: an OAuth access token (Bearer), else an
/// integrated API key (Basic, as the key with no password).
fn secret_of<'a>(c: &'a Candidate<'_>) -> Result<(&'a str, bool), Failure> {
    match (c.secrets.get("access_token"), c.secrets.get("api_key")) {
        (Some(token), _) => Ok((token.expose_secret(), true)),
        (None, Some(key)) => Ok((key.expose_secret(), false)),
        (None, None) => Err(Failure::Format {
            detail: "a Pleo credential needs an `api_key` (integrated API key) or an `access_token` (OAuth)".into(),
        }),
    }
}

/// A 200 introspection: the verdict, if it grants every scope the
/// integration needs.
fn accepted(resp: &Response, env: Env, secret: &str, c: &Candidate<'_>) -> Result<Verdict, Rejection> {
    let body = resp.json().ok_or_else(|| Failure::Provider {
        status: Some(200),
        detail: "the introspection answer is not JSON".into(),
    })?;
    let verdict = verdict_of(&body, env, secret)?;
    let required = c.integration.map(|i| i.scopes.clone()).unwrap_or_default();
    let missing: Vec<String> = required.into_iter().filter(|s| !verdict.scopes.contains(s)).collect();
    if !missing.is_empty() {
        return Err(Failure::InsufficientScope { missing }.into());
    }
    Ok(verdict)
}

/// The longest provider-given name (application, auth method) a verdict
/// repeats.
const MAX_LABEL: usize = 80;

/// A name the provider gave, fit to show: letters, digits, punctuation and
/// spaces only (no control or invisible formatting characters), at most
/// `MAX_LABEL` of them, and never when it holds the secret that was sent
/// or a run of 8 of its characters (a hostile answer echoing the key).
fn label(v: &serde_json::Value, secret: &str) -> Option<String> {
    let text: String = v
        .as_str()?
        .chars()
        .filter(|c| c.is_alphanumeric() || c.is_ascii_punctuation() || *c == ' ')
        .take(MAX_LABEL)
        .collect();
    let text = text.trim().to_owned();
    let echoes = secret.len() >= 8
        && (0..=secret.len() - 8)
            .filter(|&i| secret.is_char_boundary(i) && secret.is_char_boundary(i + 8))
            .any(|i| text.contains(&secret[i..i + 8]));
    (!text.is_empty() && !echoes).then_some(text)
}

/// What kind of subject a `urn:pleo:<kind>:<id>` names, when it is a plain
/// word: the refusal says "a user" without repeating the provider's text.
fn subject_kind(urn: &str) -> Option<&str> {
    let kind = urn.strip_prefix("urn:pleo:")?.split(':').next()?;
    (!kind.is_empty() && kind.len() <= 32 && kind.chars().all(|c| c.is_ascii_alphabetic())).then_some(kind)
}

fn verdict_of(body: &serde_json::Value, env: Env, secret: &str) -> Result<Verdict, Failure> {
    let data = body
        .get("data")
        .filter(|d| d.is_object())
        .ok_or_else(|| Failure::Provider {
            status: Some(200),
            detail: "Pleo's introspection answer has no `data` object".into(),
        })?;
    let urn = data["subjectURN"].as_str().unwrap_or_default();
    let company = match urn.strip_prefix(COMPANY_URN) {
        Some(company) if !company.is_empty() => company,
        _ => {
            let what = if urn.is_empty() {
                "Pleo did not say which company the key belongs to".to_owned()
            } else {
                match subject_kind(urn) {
                    Some(kind) => format!("the key belongs to a {kind}, not to a company"),
                    None => "the key does not belong to a company".to_owned(),
                }
            };
            return Err(Failure::Provider {
                status: Some(200),
                detail: format!("{what}; use an API key of the company (integrated or standalone)"),
            });
        }
    };
    let scopes = data["scope"]
        .as_str()
        .map(|s| s.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    Ok(Verdict {
        tenant_id: Some(company.to_owned()),
        environment: Some(env.name().to_owned()),
        scopes,
        application: label(&data["applicationName"], secret),
        auth_method: label(&data["authMethod"], secret),
        ..Verdict::default()
    })
}
