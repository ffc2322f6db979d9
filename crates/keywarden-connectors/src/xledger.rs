//! Xledger: `POST {base}/graphql` with `Authorization: token <TOKEN>` and
//! one minimal query. Xledger meters its API in request credits: a check
//! spends one. GraphQL reports errors in `errors[]` with a `code` (at the
//! error or under `extensions`), usually with HTTP 200.

use keywarden_core::{Candidate, Failure, Rejection, Validator, Verdict};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::Options;
use crate::http::{Auth, Body, Client};

pub const PRODUCTION: &str = "https://www.xledger.net";
pub const DEMO: &str = "https://demo.xledger.net";

/// The cheapest query there is: it needs a valid token and touches no data.
pub const QUERY: &str = "query KeywardenCheck { __typename }";

pub struct Xledger {
    options: Options,
}

impl Xledger {
    pub fn new(options: Options) -> Xledger {
        Xledger { options }
    }
}

impl Validator for Xledger {
    fn validate(&self, c: &Candidate<'_>) -> Result<Verdict, Rejection> {
        let token = c
            .secrets
            .get("api_key")
            .or_else(|| c.secrets.get("token"))
            .ok_or_else(|| Failure::Format {
                detail: "an Xledger credential needs its API token as `api_key`".into(),
            })?
            .expose_secret();
        let env = Env::of(c.integration.map(|i| i.environment.as_str()).unwrap_or("production"));
        let custom_base = c.integration.and_then(|i| i.base_url.clone());
        let base = custom_base.clone().unwrap_or_else(|| self.base(env).to_owned());
        let client = Client::new(&self.options)?;
        match self.check_at(&client, &base, token) {
            Ok(()) => Ok(Verdict {
                environment: Some(env.name().to_owned()),
                ..Verdict::default()
            }),
            // A demo token works only in demo (a live token reaches demo
            // after the next refresh), so a rejected token gets one more
            // request to the other environment. That costs one more credit
            // there, and only when the check has already failed. A custom
            // base URL has no known twin and is not probed.
            Err(Failure::InvalidCredential { detail }) if custom_base.is_none() => {
                if self.check_at(&client, self.base(env.other()), token).is_ok() {
                    Err(Failure::WrongEnvironment {
                        expected: env.name().into(),
                        actual: env.other().name().into(),
                    }
                    .into())
                } else {
                    Err(Failure::InvalidCredential { detail }.into())
                }
            }
            Err(failure) => Err(failure.into()),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Env {
    Production,
    Demo,
}

impl Env {
    fn of(integration_env: &str) -> Env {
        match integration_env.to_ascii_lowercase().as_str() {
            "demo" | "sandbox" | "test" | "staging" => Env::Demo,
            _ => Env::Production,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Env::Production => "production",
            Env::Demo => "demo",
        }
    }

    fn other(self) -> Env {
        match self {
            Env::Production => Env::Demo,
            Env::Demo => Env::Production,
        }
    }
}

impl Xledger {
    fn base(&self, env: Env) -> &str {
        match env {
            Env::Production => &self.options.xledger_production,
            Env::Demo => &self.options.xledger_demo,
        }
    }

    /// One GraphQL request; `Ok` when the token is accepted.
    fn check_at(&self, client: &Client, base: &str, token: &str) -> Result<(), Failure> {
        let url = format!("{}/graphql", base.trim_end_matches('/'));
        let resp = client.send(
            reqwest::Method::POST,
            &url,
            Auth::Token(token),
            Some(Body::Json(json!({ "query": QUERY }))),
            &[token],
        )?;
        let body = resp.json().unwrap_or(Value::Null);
        if let Some(errors) = body["errors"].as_array().filter(|e| !e.is_empty()) {
            return Err(failure_of(errors, resp.retry_after()));
        }
        match resp.status {
            200 if body["data"].is_object() => Ok(()),
            401 => Err(Failure::InvalidCredential {
                detail: "Xledger answered 401 Unauthorized".into(),
            }),
            403 => Err(Failure::InsufficientScope { missing: vec![] }),
            429 => Err(Failure::RateLimited {
                retry_after_secs: resp.retry_after(),
                detail: "Xledger answered 429 Too Many Requests".into(),
            }),
            status => Err(Failure::Provider {
                status: Some(status),
                detail: "Xledger's GraphQL endpoint gave no data".into(),
            }),
        }
    }
}

/// The first error decides; its code, not its message, is matched.
fn failure_of(errors: &[Value], retry_after: Option<u64>) -> Failure {
    let e = &errors[0];
    let code = e["code"]
        .as_str()
        .or_else(|| e["extensions"]["code"].as_str())
        .unwrap_or_default()
        .to_ascii_uppercase();
    let known = |words: &[&str]| words.iter().any(|w| code.contains(w));
    if known(&["CREDIT"]) {
        Failure::RateLimited {
            retry_after_secs: retry_after,
            detail: format!("Xledger has no request credits left ({code}); credits refill over time"),
        }
    } else if known(&["RATE", "THROTTL", "TOO_MANY"]) {
        Failure::RateLimited {
            retry_after_secs: retry_after,
            detail: format!("Xledger is rate limiting ({code})"),
        }
    } else if known(&["EXPIRED"]) {
        Failure::Expired {
            detail: format!("Xledger: {code}"),
        }
    } else if known(&["UNAUTHENTICATED", "INVALID_TOKEN", "UNAUTHORIZED", "AUTH"]) {
        Failure::InvalidCredential {
            detail: format!("Xledger: {code}"),
        }
    } else if known(&["FORBIDDEN", "PERMISSION", "ACCESS_DENIED"]) {
        Failure::InsufficientScope { missing: vec![] }
    } else {
        Failure::Provider {
            status: Some(200),
            detail: format!("Xledger reported the error code '{code}'"),
        }
    }
}
