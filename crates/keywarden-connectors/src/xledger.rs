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
        let environment = c
            .integration
            .map(|i| i.environment.to_ascii_lowercase())
            .unwrap_or_default();
        let base = c.integration.and_then(|i| i.base_url.clone()).unwrap_or_else(|| {
            if matches!(environment.as_str(), "demo" | "sandbox" | "test" | "staging") {
                self.options.xledger_demo.clone()
            } else {
                self.options.xledger_production.clone()
            }
        });
        let client = Client::new(&self.options)?;
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
            return Err(failure_of(errors, resp.retry_after()).into());
        }
        match resp.status {
            200 if body["data"].is_object() => Ok(Verdict {
                environment: c.integration.map(|i| i.environment.clone()),
                ..Verdict::default()
            }),
            401 => Err(Failure::InvalidCredential {
                detail: "Xledger answered 401 Unauthorized".into(),
            }
            .into()),
            403 => Err(Failure::InsufficientScope { missing: vec![] }.into()),
            429 => Err(Failure::RateLimited {
                retry_after_secs: resp.retry_after(),
                detail: "Xledger answered 429 Too Many Requests".into(),
            }
            .into()),
            status => Err(Failure::Provider {
                status: Some(status),
                detail: "Xledger's GraphQL endpoint gave no data".into(),
            }
            .into()),
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
