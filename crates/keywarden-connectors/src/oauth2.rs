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
    /// `scope` as granted (RFC 6749 §5.1), empty when not said.
    pub granted: Vec<String>,
    /// A new refresh token differing from the one presented: the old one
    /// is spent (§6).
    pub refresh_token: Option<SecretString>,
    /// `refresh_token_expires_in`, when the provider says it.
    pub refresh_token_expires_in: Option<i64>,
}

/// One token request with the credential's configuration and secrets:
/// client credentials, or the refresh-token grant. The secrets go in the
/// form body (or Basic with `client_auth = basic`), never in the URL.
pub fn request_token(
    options: &Options,
    config: &std::collections::BTreeMap<String, String>,
    secrets: &SecretFields,
) -> Result<Grant, Failure> {
    let token_url = config.get("token_url").ok_or_else(|| need("a token_url"))?;
    let client_id = config.get("client_id").ok_or_else(|| need("a client_id"))?;
    let secret = secrets
        .get("client_secret")
        .ok_or_else(|| need("a client_secret"))?
        .expose_secret();
    let refresh = config.get("grant_type").map(String::as_str) == Some("refresh_token");
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
    let mut form: Vec<(String, String)> = match refresh_token {
        Some(rt) => vec![
            ("grant_type".into(), "refresh_token".into()),
            ("refresh_token".into(), rt.to_owned()),
        ],
        None => vec![("grant_type".into(), "client_credentials".into())],
    };
    if let Some(scope) = config.get("scope").filter(|s| !s.is_empty()) {
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
    let all: Vec<&str> = [Some(secret), refresh_token].into_iter().flatten().collect();
    let client = Client::new(options)?;
    let resp = client.send(reqwest::Method::POST, token_url, auth, Some(Body::Form(form)), &all)?;
    let body = resp.json().unwrap_or(Value::Null);
    if resp.status != 200 {
        return Err(error_of(resp.status, &body, resp.retry_after(), refresh));
    }
    let access_token = body["access_token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Failure::Provider {
            status: Some(200),
            detail: "the token endpoint gave no access_token".into(),
        })?;
    Ok(Grant {
        access_token: SecretString::from(access_token.to_owned()),
        expires_in: body["expires_in"].as_i64(),
        granted: body["scope"]
            .as_str()
            .map(|s| s.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default(),
        refresh_token: match (refresh_token, body["refresh_token"].as_str()) {
            (Some(old), Some(new)) if !new.is_empty() && new != old => Some(SecretString::from(new.to_owned())),
            _ => None,
        },
        refresh_token_expires_in: body["refresh_token_expires_in"].as_i64().filter(|_| refresh),
    })
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

/// RFC 6749 §5.2 errors.
fn error_of(status: u16, body: &Value, retry_after: Option<u64>, refresh: bool) -> Failure {
    let error = body["error"].as_str().unwrap_or_default();
    match error {
        "invalid_grant" if refresh => Failure::InvalidCredential {
            detail: "invalid_grant: the refresh token was revoked or has expired; reconnect the integration to get a new one".into(),
        },
        "invalid_grant" => Failure::InvalidCredential {
            detail: "invalid_grant".into(),
        },
        "invalid_client" | "unauthorized_client" => Failure::InvalidCredential {
            detail: format!("{error}: the client id or secret is not accepted"),
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
