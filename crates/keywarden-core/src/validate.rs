//! Checking a secret before it is used: the offline format checks every
//! credential type has, and the `Validator` trait through which rotation
//! asks "does this new secret work?" (live connectors implement it later).

use std::collections::BTreeMap;

use secrecy::ExposeSecret;
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::model::{CredentialKind, Integration};
use crate::secret::{SecretFields, check_secret};

/// What a validator is shown: the candidate secret and where it will serve.
pub struct Candidate<'a> {
    pub credential_name: &'a str,
    pub kind: CredentialKind,
    pub config: &'a BTreeMap<String, String>,
    pub secrets: &'a SecretFields,
    pub integration: Option<&'a Integration>,
}

/// What a validator learned from an accepted secret.
#[derive(Debug, Default, Clone)]
pub struct Verdict {
    /// The tenant / company the secret belongs to, if the check reveals it;
    /// rotation refuses a secret for another tenant.
    pub tenant_id: Option<String>,
    /// Expiry read from the issuer (JWT `exp`, OAuth `expires_in`, …).
    pub expires_at: Option<OffsetDateTime>,
}

/// Why a validator refused a secret. The reason must not contain it.
#[derive(Debug, Clone)]
pub struct Rejection {
    pub reason: String,
}

pub trait Validator {
    fn validate(&self, candidate: &Candidate<'_>) -> std::result::Result<Verdict, Rejection>;
}

/// Accepts any secret that passes `check_format`: for offline use, where
/// no endpoint can be reached.
pub struct OfflineValidator;

impl Validator for OfflineValidator {
    fn validate(&self, c: &Candidate<'_>) -> std::result::Result<Verdict, Rejection> {
        check_format(c.kind, c.config, c.secrets).map_err(|e| Rejection { reason: e.to_string() })?;
        Ok(Verdict::default())
    }
}

/// The secret and configuration fields each type requires.
pub fn secret_field_names(kind: CredentialKind, config: &BTreeMap<String, String>) -> Vec<&'static str> {
    match kind {
        CredentialKind::ApiKey => vec!["api_key"],
        CredentialKind::Basic => vec!["password"],
        CredentialKind::OAuth2 if config.get("grant_type").map(String::as_str) == Some("refresh_token") => {
            vec!["client_secret", "refresh_token"]
        }
        CredentialKind::OAuth2 => vec!["client_secret"],
        CredentialKind::Custom => vec![],
    }
}

/// The field whose mask the list shows.
pub fn primary_field(kind: CredentialKind, fields: &[String]) -> Option<String> {
    match kind {
        CredentialKind::ApiKey => Some("api_key".into()),
        CredentialKind::Basic => Some("password".into()),
        CredentialKind::OAuth2 => Some("client_secret".into()),
        CredentialKind::Custom => fields.first().cloned(),
    }
}

fn visible_ascii(field: &str, s: &str, min: usize, max: usize) -> Result<()> {
    if let Some(c) = s.chars().find(|c| !c.is_ascii_graphic()) {
        let what = if c.is_whitespace() {
            "white space".to_owned()
        } else {
            // Never echo the character itself: it is part of the secret.
            "a character outside printable ASCII".to_owned()
        };
        return Err(Error::invalid(
            field,
            format!(
                "contains {what}; it should be one unbroken token (check for a stray space or line break from copying)"
            ),
        ));
    }
    if s.len() < min {
        return Err(Error::invalid(
            field,
            format!("is {} characters; expected at least {min}", s.len()),
        ));
    }
    if s.len() > max {
        return Err(Error::invalid(
            field,
            format!("is {} characters; expected at most {max}", s.len()),
        ));
    }
    Ok(())
}

pub fn check_url(field: &str, url: &str) -> Result<()> {
    let lower = url.to_ascii_lowercase();
    let local = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|p| lower.starts_with(p));
    if !(lower.starts_with("https://") || local)
        || url.len() < 9
        || url.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(Error::invalid(
            field,
            format!("'{url}' is not an https:// URL (plain http is allowed only for localhost)"),
        ));
    }
    Ok(())
}

/// Offline checks per type: required fields present, no unknown secret
/// field, and each value of a plausible shape.
pub fn check_format(kind: CredentialKind, config: &BTreeMap<String, String>, secrets: &SecretFields) -> Result<()> {
    for (name, value) in secrets.iter() {
        crate::model::validate_word("secret field name", name)?;
        check_secret(name, value)?;
    }
    let required = secret_field_names(kind, config);
    if kind != CredentialKind::Custom {
        for name in &required {
            if secrets.get(name).is_none() {
                return Err(Error::invalid(
                    *name,
                    format!("a {} credential needs a {name}", kind.label()),
                ));
            }
        }
        if let Some(extra) = secrets.names().find(|n| !required.contains(n)) {
            return Err(Error::invalid(
                extra,
                format!(
                    "a {} credential has no secret field '{extra}'; its secret fields are: {}",
                    kind.label(),
                    required.join(", ")
                ),
            ));
        }
    } else if secrets.is_empty() {
        return Err(Error::invalid(
            "secret",
            "a custom credential needs at least one secret field",
        ));
    }
    match kind {
        CredentialKind::ApiKey => {
            if let Some(v) = secrets.get("api_key") {
                visible_ascii("api_key", v.expose_secret(), 8, 4096)?;
            }
        }
        CredentialKind::OAuth2 => {
            let grant = config.get("grant_type").map(String::as_str).unwrap_or("");
            if !matches!(grant, "client_credentials" | "refresh_token") {
                return Err(Error::invalid("grant_type", "use client_credentials or refresh_token"));
            }
            let client_id = config.get("client_id").map(String::as_str).unwrap_or("");
            if client_id.trim().is_empty() {
                return Err(Error::invalid("client_id", "an OAuth 2.0 credential needs a client id"));
            }
            visible_ascii("client_id", client_id, 1, 512)?;
            match config.get("token_url") {
                Some(url) => check_url("token_url", url)?,
                None => {
                    return Err(Error::invalid(
                        "token_url",
                        "an OAuth 2.0 credential needs the token endpoint URL",
                    ));
                }
            }
            for f in ["client_secret", "refresh_token"] {
                if let Some(v) = secrets.get(f) {
                    visible_ascii(f, v.expose_secret(), 8, 8192)?;
                }
            }
        }
        CredentialKind::Basic => {
            let user = config.get("username").map(String::as_str).unwrap_or("");
            if user.trim().is_empty() {
                return Err(Error::invalid("username", "a Basic credential needs a username"));
            }
            if user.contains(':') || user.chars().any(char::is_control) {
                return Err(Error::invalid(
                    "username",
                    "a Basic username cannot contain ':' or control characters",
                ));
            }
            if let Some(p) = secrets.get("password") {
                let p = p.expose_secret();
                if p.contains(['\n', '\r']) {
                    return Err(Error::invalid(
                        "password",
                        "contains a line break; paste only the password",
                    ));
                }
                if p.len() > 1024 {
                    return Err(Error::invalid("password", "is longer than 1,024 characters"));
                }
            }
        }
        CredentialKind::Custom => {}
    }
    for (k, v) in config {
        crate::model::validate_word("configuration field name", k)?;
        crate::model::validate_text(k, v)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn api(v: &str) -> SecretFields {
        SecretFields::single("api_key", SecretString::from(v.to_owned()))
    }

    #[test]
    fn api_key_with_a_space_or_too_short_is_refused_with_the_reason() {
        let none = BTreeMap::new();
        assert!(
            check_format(CredentialKind::ApiKey, &none, &api("abcd efgh ijkl"))
                .unwrap_err()
                .to_string()
                .contains("white space")
        );
        assert!(
            check_format(CredentialKind::ApiKey, &none, &api("abc"))
                .unwrap_err()
                .to_string()
                .contains("at least 8")
        );
        assert!(check_format(CredentialKind::ApiKey, &none, &api("pk_live_abcdef123456")).is_ok());
    }

    #[test]
    fn oauth2_needs_client_id_token_url_and_the_grants_secrets() {
        let mut cfg = BTreeMap::from([("grant_type".to_owned(), "refresh_token".to_owned())]);
        let mut s = SecretFields::single("client_secret", SecretString::from("s3cret-value-1".to_owned()));
        assert!(
            check_format(CredentialKind::OAuth2, &cfg, &s)
                .unwrap_err()
                .to_string()
                .contains("refresh_token")
        );
        s.insert("refresh_token", SecretString::from("rt-0123456789".to_owned()));
        assert!(
            check_format(CredentialKind::OAuth2, &cfg, &s)
                .unwrap_err()
                .to_string()
                .contains("client id")
        );
        cfg.insert("client_id".into(), "app-1".into());
        cfg.insert("token_url".into(), "http://evil.example/token".into());
        assert!(
            check_format(CredentialKind::OAuth2, &cfg, &s)
                .unwrap_err()
                .to_string()
                .contains("https")
        );
        cfg.insert("token_url".into(), "https://login.example/token".into());
        assert!(check_format(CredentialKind::OAuth2, &cfg, &s).is_ok());
    }

    #[test]
    fn unknown_secret_field_for_a_fixed_type_is_named() {
        let mut s = api("pk_live_abcdef123456");
        s.insert("extra", SecretString::from("x".repeat(10)));
        assert!(
            check_format(CredentialKind::ApiKey, &BTreeMap::new(), &s)
                .unwrap_err()
                .to_string()
                .contains("'extra'")
        );
    }
}
