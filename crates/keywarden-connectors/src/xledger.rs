//! Xledger: `POST {base}/graphql` with `Authorization: token <TOKEN>` and
//! one minimal query. Xledger meters its API in request credits: a check
//! spends one. GraphQL reports errors in `errors[]`; Xledger's own sample
//! client (xledger/graphql-samples, GraphQLClient.cs) reads a top-level
//! `code` and names two: `BAD_REQUEST.INSUFFICIENT_CREDITS` and
//! `BAD_REQUEST.BURST_RATE_LIMIT_REACHED`. The GraphQL spec puts a code
//! under `extensions`; both are read, the top-level one first. A code
//! reaches a verdict only when it is shaped like one.

use keywarden_core::{Candidate, Failure, Rejection, Validator, Verdict};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::Options;
use crate::http::{Auth, Body, Client};

pub const PRODUCTION: &str = "https://www.xledger.net";
pub const DEMO: &str = "https://demo.xledger.net";
/// The hosts of `PRODUCTION` and `DEMO`: the only ones sent an Xledger token.
pub const HOSTS: [&str; 2] = ["www.xledger.net", "demo.xledger.net"];

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
        if let Some(b) = &custom_base {
            crate::http::pinned_base(
                "Xledger",
                b,
                &HOSTS,
                &[&self.options.xledger_production, &self.options.xledger_demo],
                self.options.allow_loopback_http,
            )?;
        }
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

/// Xledger's documented error codes (xledger/graphql-samples).
pub const INSUFFICIENT_CREDITS: &str = "BAD_REQUEST.INSUFFICIENT_CREDITS";
pub const BURST_RATE_LIMIT_REACHED: &str = "BAD_REQUEST.BURST_RATE_LIMIT_REACHED";

/// The first error decides; its code, not its message, is matched: the
/// documented codes exactly, then (undocumented, kept from before issue
/// 19) words in a code. A code that is not shaped like one
/// (`^[A-Z0-9_.]{1,64}$` once uppercased) is neither matched nor shown.
fn failure_of(errors: &[Value], retry_after: Option<u64>) -> Failure {
    let e = &errors[0];
    let raw = e["code"]
        .as_str()
        .or_else(|| e["extensions"]["code"].as_str())
        .unwrap_or_default();
    let Some(code) = code_of(raw) else {
        return Failure::Provider {
            status: Some(200),
            detail: if raw.is_empty() {
                "Xledger reported an error without a code".into()
            } else {
                "Xledger reported an unrecognised error code".into()
            },
        };
    };
    let known = |words: &[&str]| words.iter().any(|w| code.contains(w));
    if code == INSUFFICIENT_CREDITS {
        Failure::RateLimited {
            retry_after_secs: retry_after,
            detail: format!("Xledger has no request credits left ({code}); credits refill over time"),
        }
    } else if code == BURST_RATE_LIMIT_REACHED {
        Failure::RateLimited {
            retry_after_secs: retry_after,
            detail: format!("Xledger's burst rate limit was reached ({code}); try again in a few seconds"),
        }
    } else if known(&["CREDIT"]) {
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

/// `raw` uppercased when it is shaped like a code: `^[A-Z0-9_.]{1,64}$`.
fn code_of(raw: &str) -> Option<String> {
    let code = raw.to_ascii_uppercase();
    let shaped = (1..=64).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'.');
    shaped.then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_string_shaped_like_a_code_is_a_code() {
        assert_eq!(code_of(INSUFFICIENT_CREDITS).as_deref(), Some(INSUFFICIENT_CREDITS));
        assert_eq!(code_of("can_not_fetch_by_id").as_deref(), Some("CAN_NOT_FETCH_BY_ID"));
        assert_eq!(code_of(""), None);
        assert_eq!(code_of("Token expired, call 555-0100"), None);
        assert_eq!(code_of("BAD-REQUEST"), None);
        assert_eq!(code_of(&"A".repeat(65)), None);
        assert!(code_of(&"A".repeat(64)).is_some());
    }

    /// A code field holding text (the documented shape, a value no
    /// document shows) is neither matched by its words nor repeated.
    #[cfg(feature = "fakes")]
    #[test]
    fn text_in_a_code_field_is_an_unrecognised_error_code() {
        for (name, edit) in [
            (
                "xledger/graphql.error.bad-request.insufficient-credits.http",
                (|b: &mut Value| b["errors"][0]["code"] = "Your token has expired; call 555-0100".into())
                    as fn(&mut Value),
            ),
            ("xledger/graphql.error.spec-extensions-code.http", |b: &mut Value| {
                b["errors"][0]["extensions"]["code"] = "Your token has expired; call 555-0100".into()
            }),
        ] {
            let (_, body) = crate::fixtures::answer(name, edit);
            let f = failure_of(body["errors"].as_array().unwrap(), None);
            assert_eq!(
                f,
                Failure::Provider {
                    status: Some(200),
                    detail: "Xledger reported an unrecognised error code".into()
                },
                "{name}"
            );
        }
    }
}
