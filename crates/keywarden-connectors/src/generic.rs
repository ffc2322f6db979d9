//! Any HTTP API: the credential's configuration says which endpoint to
//! call, how, where the secret goes and which status means "works".
//!
//! Configuration (non-secret fields of the credential):
//! - `check_url`: the endpoint, https;
//! - `check_method`: `GET` (default), `HEAD` or `POST`;
//! - `check_auth`: `bearer` (default), `basic` (user from `username`),
//!   `token`, or `header:<Name>` for a named header such as `X-API-Key`;
//! - `check_expect_status`: the status of success (default 200).
//!
//! A 401 or 403 with a Bearer challenge (RFC 6750 §3) is read: an
//! `invalid_token` whose description says it expired is "expired", and
//! `insufficient_scope` names the scopes the endpoint wants. The
//! description itself, the provider's free text, is never repeated.

use std::collections::BTreeMap;

use keywarden_core::{Candidate, Failure, Integration, Rejection, Validator, Verdict};
use secrecy::ExposeSecret;

use crate::Options;
use crate::http::{Auth, Client, Response, redact};
use crate::oauth2::error_code;

pub const CHECK_URL: &str = "check_url";

pub struct Generic {
    options: Options,
}

impl Generic {
    pub fn new(options: Options) -> Generic {
        Generic { options }
    }
}

impl Validator for Generic {
    fn validate(&self, c: &Candidate<'_>) -> Result<Verdict, Rejection> {
        let url = c.config.get(CHECK_URL).ok_or_else(|| Failure::Format {
            detail: format!("set `{CHECK_URL}` to the endpoint that checks this credential"),
        })?;
        let (method, expect) = request_of(c.config)?;
        // The secret: the single field, or the type's usual one.
        let field = ["api_key", "access_token", "token", "password", "client_secret"]
            .into_iter()
            .find(|f| c.secrets.get(f).is_some())
            .or_else(|| c.secrets.names().next())
            .ok_or_else(|| Failure::Format {
                detail: "the credential has no secret to check".into(),
            })?;
        let secret = c.secrets.get(field).map(|s| s.expose_secret()).unwrap_or_default();
        let all: Vec<&str> = c.secrets.iter().map(|(_, v)| v.expose_secret()).collect();
        let auth = auth_of(c.config, secret)?;
        let client = Client::new(&self.options)?;
        let resp = client.send(method, url, auth, None, &all)?;
        if resp.status == expect {
            return Ok(Verdict {
                environment: c.integration.map(|i| i.environment.clone()),
                ..Verdict::default()
            });
        }
        Err(refusal(&resp, expect, c.integration, &all).into())
    }
}

/// The check's method and the status that means "accepted".
fn request_of(config: &BTreeMap<String, String>) -> Result<(reqwest::Method, u16), Failure> {
    let method = match config.get("check_method").map(|m| m.to_ascii_uppercase()).as_deref() {
        None | Some("GET") => reqwest::Method::GET,
        Some("HEAD") => reqwest::Method::HEAD,
        Some("POST") => reqwest::Method::POST,
        Some(other) => {
            return Err(Failure::Format {
                detail: format!("check_method '{other}' is not supported; use GET, HEAD or POST"),
            });
        }
    };
    let expect: u16 = match config.get("check_expect_status") {
        None => 200,
        Some(s) => s
            .parse()
            .ok()
            .filter(|n| (100..600).contains(n))
            .ok_or_else(|| Failure::Format {
                detail: format!("check_expect_status '{s}' is not an HTTP status; use e.g. 200 or 204"),
            })?,
    };
    Ok((method, expect))
}

/// How the secret is sent (`check_auth`); never in a query string.
fn auth_of<'a>(config: &'a BTreeMap<String, String>, secret: &'a str) -> Result<Auth<'a>, Failure> {
    let mode = config.get("check_auth").map(String::as_str).unwrap_or("bearer");
    Ok(match mode {
        "bearer" => Auth::Bearer(secret),
        "token" => Auth::Token(secret),
        "basic" => Auth::Basic {
            user: config.get("username").map(String::as_str).unwrap_or_default(),
            password: secret,
        },
        m if m.starts_with("header:") && m.len() > "header:".len() => Auth::Header {
            name: &m["header:".len()..],
            value: secret,
        },
        m if m.starts_with("query") => {
            return Err(Failure::Unsafe {
                detail: "a secret is never sent in a query string; use bearer, basic, token or header:<Name>".into(),
            });
        }
        other => {
            return Err(Failure::Format {
                detail: format!("check_auth '{other}' is not known; use bearer, basic, token or header:<Name>"),
            });
        }
    })
}

/// Why the endpoint did not answer the expected status.
fn refusal(resp: &Response, expect: u16, integration: Option<&Integration>, all: &[&str]) -> Failure {
    match resp.status {
        // RFC 6750 §3: a Bearer challenge says why, and for 403 which
        // scopes the resource needs. Its `error_description` is the
        // provider's free text: read to tell an expired token (§3's
        // example), never repeated; a detail names only the `error`
        // code.
        401 => {
            let challenge = resp.bearer_challenge().unwrap_or_default();
            let said = format!("{} {}", challenge.error, challenge.description).to_ascii_lowercase();
            let code = error_code(&challenge.error).map(|e| redact(e, all));
            if said.contains("expired") {
                Failure::Expired {
                    detail: match code {
                        Some(e) => format!("the endpoint answered 401 {e}: the token has expired"),
                        None => "the endpoint answered 401: the token has expired".into(),
                    },
                }
            } else {
                Failure::InvalidCredential {
                    detail: match code {
                        Some(e) => format!("the endpoint answered 401 Unauthorized ({e})"),
                        None => "the endpoint answered 401 Unauthorized".into(),
                    },
                }
            }
        }
        403 => {
            let needed = resp.bearer_challenge().map(|c| c.scope).unwrap_or_default();
            let missing = if needed.is_empty() {
                integration.map(|i| i.scopes.clone()).unwrap_or_default()
            } else {
                needed
            };
            Failure::InsufficientScope { missing }
        }
        429 => Failure::RateLimited {
            retry_after_secs: resp.retry_after(),
            detail: "the endpoint answered 429 Too Many Requests".into(),
        },
        s => Failure::Provider {
            status: Some(s),
            detail: format!("expected {expect}"),
        },
    }
}
