//! Any OAuth 2.0 token endpoint: the client-credentials grant (RFC 6749
//! §4.4) or the refresh-token grant (§6). When a refresh returns a new
//! refresh token, the old one is spent: the verdict carries the new one and
//! the vault stores it in the same step, discarding the old.
//!
//! Configuration: `token_url`, `client_id`, `grant_type`
//! (`client_credentials`, default, or `refresh_token`), optional `scope`,
//! optional `client_auth` (`post`, default: the secret in the form body;
//! `basic`: HTTP Basic). Secrets: `client_secret`, and `refresh_token` for
//! the refresh grant.
//!
//! The answer must be a Bearer token (§5.1 `token_type`, RFC 6750); an
//! answer without `scope` granted the scope requested (§3.3). A refusal is
//! read by its `error` code (§5.2) alone: the provider's
//! `error_description` is free text and never repeated.

use keywarden_core::{Candidate, Failure, Rejection, SecretFields, SecretString, Validator, Verdict};
use secrecy::ExposeSecret;
use serde_json::Value;

use crate::Options;
use crate::http::{Auth, Body, Client};

pub struct OAuth2 {
    options: Options,
}

impl OAuth2 {
    pub fn new(options: Options) -> OAuth2 {
        OAuth2 { options }
    }
}

fn need(what: &str) -> Failure {
    Failure::Format {
        detail: format!("an OAuth 2.0 credential needs {what}"),
    }
}

/// What the token endpoint granted.
pub struct Grant {
    pub access_token: SecretString,
    /// `expires_in`, the access token's life in seconds.
    pub expires_in: Option<i64>,
    /// `scope` as granted (RFC 6749 §5.1). An answer without `scope`
    /// granted what was requested (§3.3, §5.1: the server must say it only
    /// when it differs), so then it is the configured `scope`; empty when
    /// neither is known.
    pub granted: Vec<String>,
    /// A new refresh token differing from the one presented: the old one
    /// is spent (§6).
    pub refresh_token: Option<SecretString>,
    /// `refresh_token_expires_in`, when the provider says it.
    pub refresh_token_expires_in: Option<i64>,
}

/// Which grant a token request makes.
pub enum GrantRequest<'a> {
    /// The credential's configured grant: client credentials, or the
    /// refresh-token grant with `grant_type = refresh_token`.
    Configured,
    /// RFC 6749 §4.1.3 with RFC 7636 §4.5: the code a Connect received,
    /// its verifier, and the redirect URI the authorization request named.
    AuthorizationCode {
        code: &'a SecretString,
        verifier: &'a SecretString,
        redirect_uri: &'a str,
    },
}

/// One token request with the credential's configuration and secrets:
/// client credentials, or the refresh-token grant. The secrets go in the
/// form body (or Basic with `client_auth = basic`), never in the URL.
pub fn request_token(
    options: &Options,
    config: &std::collections::BTreeMap<String, String>,
    secrets: &SecretFields,
) -> Result<Grant, Failure> {
    request_grant(options, config, secrets, GrantRequest::Configured)
}

/// One token request for `grant`.
pub fn request_grant(
    options: &Options,
    config: &std::collections::BTreeMap<String, String>,
    secrets: &SecretFields,
    grant: GrantRequest<'_>,
) -> Result<Grant, Failure> {
    let token_url = config.get("token_url").ok_or_else(|| need("a token_url"))?;
    let client_id = config.get("client_id").ok_or_else(|| need("a client_id"))?;
    let secret = secrets
        .get("client_secret")
        .ok_or_else(|| need("a client_secret"))?
        .expose_secret();
    let refresh = matches!(grant, GrantRequest::Configured)
        && config.get("grant_type").map(String::as_str) == Some("refresh_token");
    let refresh_token = if refresh {
        Some(
            secrets
                .get("refresh_token")
                .ok_or_else(|| need("a refresh_token for the refresh-token grant"))?
                .expose_secret(),
        )
    } else {
        None
    };
    let (mut form, grant_name, presented) = grant_form(&grant, refresh_token);
    // §4.1.3: the scope was asked for at the authorization endpoint.
    if !matches!(grant, GrantRequest::AuthorizationCode { .. })
        && let Some(scope) = config.get("scope").filter(|s| !s.is_empty())
    {
        form.push(("scope".into(), scope.clone()));
    }
    let basic = config.get("client_auth").map(String::as_str) == Some("basic");
    let auth = if basic {
        Auth::Basic {
            user: client_id,
            password: secret,
        }
    } else {
        form.push(("client_id".into(), client_id.clone()));
        form.push(("client_secret".into(), secret.to_owned()));
        Auth::None
    };
    let mut all: Vec<&str> = vec![secret];
    all.extend(presented);
    let client = Client::new(options)?;
    let resp = client.send(reqwest::Method::POST, token_url, auth, Some(Body::Form(form)), &all)?;
    let body = resp.json().unwrap_or(Value::Null);
    if resp.status != 200 {
        return Err(error_of(resp.status, &body, resp.retry_after(), grant_name));
    }
    // A code's grant presents no refresh token: every one it gives is new.
    let presented_refresh = match grant {
        GrantRequest::AuthorizationCode { .. } => Some(""),
        GrantRequest::Configured => refresh_token,
    };
    grant_of(&body, config.get("scope").map(String::as_str), presented_refresh)
}

/// The grant's own form fields, its name (for errors), and the values it
/// presents (kept out of every error and log).
fn grant_form<'a>(
    grant: &'a GrantRequest<'_>,
    refresh_token: Option<&'a str>,
) -> (Vec<(String, String)>, &'static str, Vec<&'a str>) {
    match (grant, refresh_token) {
        (
            GrantRequest::AuthorizationCode {
                code,
                verifier,
                redirect_uri,
            },
            _,
        ) => (
            vec![
                ("grant_type".into(), "authorization_code".into()),
                ("code".into(), code.expose_secret().to_owned()),
                ("redirect_uri".into(), (*redirect_uri).to_owned()),
                ("code_verifier".into(), verifier.expose_secret().to_owned()),
            ],
            "authorization_code",
            vec![code.expose_secret(), verifier.expose_secret()],
        ),
        (GrantRequest::Configured, Some(rt)) => (
            vec![
                ("grant_type".into(), "refresh_token".into()),
                ("refresh_token".into(), rt.to_owned()),
            ],
            "refresh_token",
            vec![rt],
        ),
        (GrantRequest::Configured, None) => (
            vec![("grant_type".into(), "client_credentials".into())],
            "client_credentials",
            vec![],
        ),
    }
}

/// A successful token answer (RFC 6749 §5.1) as a grant, for a request
/// that asked for `requested_scope` and, in the refresh grant, presented
/// `refresh_token`.
fn grant_of(body: &Value, requested_scope: Option<&str>, refresh_token: Option<&str>) -> Result<Grant, Failure> {
    let access_token = body["access_token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Failure::Provider {
            status: Some(200),
            detail: "the token endpoint gave no access_token".into(),
        })?;
    // §5.1: token_type is REQUIRED; the token is sent as a Bearer token
    // (RFC 6750), which another type (mac, DPoP, …) cannot be. The type is
    // not repeated: it is the provider's text.
    match body["token_type"].as_str() {
        Some(t) if t.eq_ignore_ascii_case("Bearer") => {}
        Some(_) => {
            return Err(Failure::Provider {
                status: Some(200),
                detail: "the token endpoint's answer is not a bearer token (its token_type is not Bearer)".into(),
            });
        }
        None => {
            return Err(Failure::Provider {
                status: Some(200),
                detail: "the token endpoint's answer is not a bearer token (it has no token_type)".into(),
            });
        }
    }
    let words = |s: &str| -> Vec<String> { s.split_whitespace().map(str::to_owned).collect() };
    let granted = match body.get("scope") {
        // §3.3, §5.1: said only when it differs from what was requested.
        None | Some(Value::Null) => requested_scope.map(words).unwrap_or_default(),
        Some(Value::String(s)) => words(s),
        Some(_) => Vec::new(),
    };
    Ok(Grant {
        access_token: SecretString::from(access_token.to_owned()),
        expires_in: lifetime(&body["expires_in"]),
        granted,
        refresh_token: match (refresh_token, body["refresh_token"].as_str()) {
            (Some(old), Some(new)) if !new.is_empty() && new != old => Some(SecretString::from(new.to_owned())),
            _ => None,
        },
        refresh_token_expires_in: lifetime(&body["refresh_token_expires_in"]).filter(|_| refresh_token.is_some()),
    })
}

/// The longest lifetime taken from a token endpoint: ten years. A larger
/// one (or a negative one) is the endpoint's error, and an instant that far
/// out cannot be computed; it is held to this range, not trusted.
const MAX_LIFETIME: i64 = 10 * 366 * 24 * 3600;

/// A lifetime in seconds (`expires_in`, `refresh_token_expires_in`),
/// within 0 ..= `MAX_LIFETIME`.
fn lifetime(v: &Value) -> Option<i64> {
    v.as_i64().map(|s| s.clamp(0, MAX_LIFETIME))
}

impl Validator for OAuth2 {
    fn validate(&self, c: &Candidate<'_>) -> Result<Verdict, Rejection> {
        let grant = request_token(&self.options, c.config, c.secrets)?;
        let required = c.integration.map(|i| i.scopes.clone()).unwrap_or_default();
        if !grant.granted.is_empty() {
            let missing: Vec<String> = required.into_iter().filter(|s| !grant.granted.contains(s)).collect();
            if !missing.is_empty() {
                return Err(Failure::InsufficientScope { missing }.into());
            }
        }
        // `expires_in` is the access token's life (minutes to hours); the
        // stored credential's expiry is the refresh token's, when the
        // provider says it (`refresh_token_expires_in`).
        let expires_at = grant
            .refresh_token_expires_in
            .map(|s| time::OffsetDateTime::now_utc() + time::Duration::seconds(s));
        let renewed = grant.refresh_token.map(|new| {
            let mut fields = SecretFields::new();
            for (name, value) in c.secrets.iter() {
                fields.insert(name, SecretString::from(value.expose_secret().to_owned()));
            }
            fields.insert("refresh_token", new);
            fields
        });
        Ok(Verdict {
            environment: c.integration.map(|i| i.environment.clone()),
            scopes: grant.granted,
            expires_at,
            renewed: renewed.map(Into::into),
            ..Verdict::default()
        })
    }
}

/// An `error` code (RFC 6749 §5.2, RFC 6750 §3.1) a verdict may repeat:
/// 1 to 64 lowercase letters and `_`, as every code the RFCs define is.
/// Anything else, and every `error_description`, is the provider's free
/// text and is never put in a detail.
pub(crate) fn error_code(error: &str) -> Option<&str> {
    (!error.is_empty() && error.len() <= 64 && error.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        .then_some(error)
}

/// RFC 6749 §5.2 errors.
fn error_of(status: u16, body: &Value, retry_after: Option<u64>, grant: &str) -> Failure {
    let error = error_code(body["error"].as_str().unwrap_or_default()).unwrap_or_default();
    match error {
        "invalid_grant" if grant == "refresh_token" => Failure::InvalidCredential {
            detail: "invalid_grant: the refresh token was revoked or has expired; reconnect the integration to get a new one".into(),
        },
        "invalid_grant" if grant == "authorization_code" => Failure::InvalidCredential {
            detail: "invalid_grant: the authorization code or its PKCE verifier was not accepted; connect again".into(),
        },
        "invalid_grant" => Failure::InvalidCredential {
            detail: "invalid_grant".into(),
        },
        "invalid_client" => Failure::InvalidCredential {
            detail: "invalid_client: the client id or secret is not accepted".into(),
        },
        // §5.2: "The authenticated client is not authorized to use this
        // authorization grant type": the secret is fine, the grant is not.
        "unauthorized_client" => Failure::Provider {
            status: Some(status),
            detail: format!(
                "unauthorized_client: this client may not use the {grant} grant; allow that grant type for the client at the provider, or set grant_type to one it may use"
            ),
        },
        "invalid_scope" => Failure::InsufficientScope { missing: vec![] },
        _ if status == 429 => Failure::RateLimited {
            retry_after_secs: retry_after,
            detail: "the token endpoint answered 429".into(),
        },
        _ if status == 401 => Failure::InvalidCredential {
            detail: "the token endpoint answered 401".into(),
        },
        _ => Failure::Provider {
            status: Some(status),
            detail: if error.is_empty() {
                "the token endpoint refused the request".into()
            } else {
                format!("the token endpoint answered {error}")
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(token_type: Option<&str>, scope: Option<&str>) -> Value {
        // RFC 6750 §4's example answer, with or without its members.
        let mut body = json!({"access_token": "mF_9.B5f-4.1JqM", "expires_in": 3600});
        if let Some(t) = token_type {
            body["token_type"] = t.into();
        }
        if let Some(s) = scope {
            body["scope"] = s.into();
        }
        body
    }

    #[test]
    fn token_type_must_be_bearer_in_any_case() {
        for t in ["Bearer", "bearer", "BEARER"] {
            assert!(grant_of(&answer(Some(t), None), None, None).is_ok(), "{t}");
        }
        for t in [Some("example"), Some("mac"), Some("DPoP"), Some("Bearerx"), None] {
            let Err(Failure::Provider {
                status: Some(200),
                detail,
            }) = grant_of(&answer(t, None), None, None)
            else {
                panic!("{t:?} was taken for a bearer token");
            };
            assert!(detail.contains("not a bearer token"), "{detail}");
            assert!(!detail.contains("DPoP") && !detail.contains("mac"), "{detail}");
        }
    }

    #[test]
    fn a_lifetime_no_clock_can_hold_is_held_to_ten_years_and_a_negative_one_to_none_left() {
        let mut body = answer(Some("Bearer"), None);
        body["refresh_token"] = "new-refresh".into();
        for (given, held) in [(i64::MAX, MAX_LIFETIME), (-5, 0), (3600, 3600)] {
            body["expires_in"] = given.into();
            body["refresh_token_expires_in"] = given.into();
            let grant = grant_of(&body, None, Some("old-refresh")).unwrap();
            assert_eq!(grant.expires_in, Some(held), "{given}");
            assert_eq!(grant.refresh_token_expires_in, Some(held), "{given}");
            // Added to now, as the broker and Connect do, it does not overflow.
            let _ = time::OffsetDateTime::now_utc() + time::Duration::seconds(held);
        }
    }

    #[test]
    fn an_answer_without_scope_granted_the_scope_requested() {
        let grant = grant_of(&answer(Some("Bearer"), None), Some("ledger.read  ledger.write"), None).unwrap();
        assert_eq!(grant.granted, ["ledger.read", "ledger.write"]);
        let grant = grant_of(
            &answer(Some("Bearer"), Some("ledger.read")),
            Some("ledger.read ledger.write"),
            None,
        )
        .unwrap();
        assert_eq!(grant.granted, ["ledger.read"], "a scope said is the scope granted");
        let grant = grant_of(&answer(Some("Bearer"), None), None, None).unwrap();
        assert!(grant.granted.is_empty(), "neither said nor requested: unknown");
    }

    #[test]
    fn only_a_plain_error_code_is_ever_repeated() {
        assert_eq!(error_code("invalid_grant"), Some("invalid_grant"));
        for text in [
            "",
            "Invalid_grant",
            "invalid grant",
            "AADSTS70008: The refresh token has expired",
            "invalid_grant\r\nTrace ID: 1",
            &"a".repeat(65),
        ] {
            assert_eq!(error_code(text), None, "{text}");
        }
        let f = error_of(
            400,
            &json!({"error": "Try <a href=x>here</a>", "error_description": "call +1 555"}),
            None,
            "client_credentials",
        );
        assert_eq!(
            f,
            Failure::Provider {
                status: Some(400),
                detail: "the token endpoint refused the request".into()
            }
        );
    }
}
