//! Checking a secret before it is used: the offline format checks every
//! credential type has, and the `Validator` trait through which rotation
//! asks "does this new secret work?" (live connectors implement it later).

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
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

/// Asks `validator` about `candidate`: the one way the vaults run a check.
/// Everything in the answer came from outside (a provider may echo what it
/// was sent), so it is cleaned of the candidate's secrets in every encoding
/// (`redact`) before anyone shows, stores or audits it.
pub fn run(validator: &dyn Validator, candidate: &Candidate<'_>) -> std::result::Result<Verdict, Rejection> {
    let secrets = crate::redact::values(candidate.secrets);
    validator
        .validate(candidate)
        .map(|v| v.redacted(&secrets))
        .map_err(|r| r.redacted(&secrets))
}

/// What a validator learned from an accepted secret.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Verdict {
    /// The tenant / company the secret belongs to, if the check reveals it;
    /// rotation refuses a secret for another tenant.
    pub tenant_id: Option<String>,
    /// The provider environment the secret works in (`production`,
    /// `staging`, `sandbox`, a Business Central environment name).
    pub environment: Option<String>,
    /// Scopes the provider says the secret was granted.
    pub scopes: Vec<String>,
    /// Expiry read from the issuer (JWT `exp`, OAuth `expires_in`, …).
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub expires_at: Option<OffsetDateTime>,
    /// The issuer (`iss`) and audience (`aud`) of a JWT secret, read
    /// offline; empty for opaque secrets.
    #[serde(default)]
    pub issuer: Option<String>,
    #[serde(default)]
    pub audience: Vec<String>,
    /// The application the secret was issued to, as the provider names it
    /// (Pleo's `applicationName`), and how it authenticated (`authMethod`:
    /// `API_KEY`, `OAUTH2`): shown so an admin sees which key this is.
    #[serde(default)]
    pub application: Option<String>,
    #[serde(default)]
    pub auth_method: Option<String>,
    /// True when no endpoint was asked: format, expiry and JWT claims only.
    pub offline: bool,
    /// What the check could not learn, said plainly (the secret works):
    /// e.g. that the provider would not tell when the secret expires.
    #[serde(default)]
    pub notes: Vec<String>,
    /// Secrets the provider issued during the check, replacing the ones
    /// checked (an OAuth refresh that returns a new refresh token spends
    /// the old one). The vault stores them at once. Never serialized.
    #[serde(skip)]
    #[cfg_attr(feature = "ts", ts(skip))]
    pub renewed: Option<Renewed>,
}

/// Secrets issued by the provider during a check; see `Verdict::renewed`.
#[derive(Clone)]
pub struct Renewed(pub std::sync::Arc<SecretFields>);

impl From<SecretFields> for Renewed {
    fn from(fields: SecretFields) -> Renewed {
        Renewed(std::sync::Arc::new(fields))
    }
}

impl Renewed {
    /// An owned copy for sealing.
    pub fn fields(&self) -> SecretFields {
        let mut out = SecretFields::new();
        for (name, value) in self.0.iter() {
            out.insert(name, SecretString::from(value.expose_secret().to_owned()));
        }
        out
    }
}

impl std::fmt::Debug for Renewed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.0.names().collect();
        write!(f, "Renewed({names:?})")
    }
}

impl PartialEq for Renewed {
    fn eq(&self, other: &Renewed) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

/// Why a check refused a secret, as a type the UI and CLI can act on.
/// No variant carries the secret: only what the provider said about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Failure {
    /// The provider does not accept the secret (wrong, revoked).
    InvalidCredential { detail: String },
    /// The provider says the secret has expired.
    Expired { detail: String },
    /// The secret works but lacks scopes the integration needs.
    InsufficientScope { missing: Vec<String> },
    /// The secret belongs to another tenant / company.
    WrongTenant { expected: String, actual: String },
    /// The secret belongs to another environment (production vs staging).
    WrongEnvironment { expected: String, actual: String },
    /// The provider asked us to slow down.
    RateLimited {
        #[cfg_attr(feature = "ts", ts(type = "number | null"))]
        retry_after_secs: Option<u64>,
        detail: String,
    },
    /// No answer: DNS, connection refused, timeout.
    Unreachable { detail: String },
    /// The TLS handshake or certificate check failed.
    Tls { detail: String },
    /// Keywarden refused to send the secret (plain http, a redirect to
    /// another host, a secret in a URL).
    Unsafe { detail: String },
    /// The secret fails the offline checks (format, length, expiry).
    Format { detail: String },
    /// The provider answered something the check does not understand.
    Provider { status: Option<u16>, detail: String },
}

impl Failure {
    /// One sentence for the user: what is wrong.
    pub fn message(&self) -> String {
        match self {
            Failure::InvalidCredential { detail } => format!("the provider does not accept this credential ({detail})"),
            Failure::Expired { detail } => format!("the credential has expired ({detail})"),
            Failure::InsufficientScope { missing } => {
                format!("the credential lacks the scopes {}", missing.join(", "))
            }
            Failure::WrongTenant { expected, actual } => {
                format!("the credential belongs to tenant/company '{actual}', but the integration is for '{expected}'")
            }
            Failure::WrongEnvironment { expected, actual } => {
                format!("the credential works in '{actual}', but the integration is set up for '{expected}'")
            }
            Failure::RateLimited {
                retry_after_secs,
                detail,
            } => match retry_after_secs {
                Some(s) => format!("the provider is rate limiting requests for {s} s ({detail})"),
                None => format!("the provider is rate limiting requests ({detail})"),
            },
            Failure::Unreachable { detail } => format!("the provider could not be reached ({detail})"),
            Failure::Tls { detail } => format!("the secure connection to the provider failed ({detail})"),
            Failure::Unsafe { detail } => format!("refused to send the credential: {detail}"),
            Failure::Format { detail } => detail.clone(),
            Failure::Provider {
                status: Some(s),
                detail,
            } => format!("the provider answered {s}: {detail}"),
            Failure::Provider { status: None, detail } => format!("the provider answered unexpectedly: {detail}"),
        }
    }

    /// What the user should do next.
    pub fn next_step(&self) -> &'static str {
        match self {
            Failure::InvalidCredential { .. } => {
                "check that the whole key was copied, or issue a new one in the provider's portal"
            }
            Failure::Expired { .. } => "issue a new secret in the provider's portal and rotate to it",
            Failure::InsufficientScope { .. } => {
                "grant the missing scopes to the key or app in the provider's portal, or issue a key with them"
            }
            Failure::WrongTenant { .. } => {
                "use a credential issued for the integration's tenant/company, or correct the integration's tenant"
            }
            Failure::WrongEnvironment { .. } => {
                "use a credential issued in the integration's environment, or change the integration's environment"
            }
            Failure::RateLimited { .. } => "wait and test again later; the credential itself may be fine",
            Failure::Unreachable { .. } => {
                "check the network, proxy and the integration's base URL, or run the offline checks"
            }
            Failure::Tls { .. } => {
                "check the base URL and the machine's clock and certificate store; a proxy may be intercepting TLS"
            }
            Failure::Unsafe { .. } => "use the provider's https URL; never put a secret in a URL",
            Failure::Format { .. } => "correct the value and submit again",
            Failure::Provider { .. } => "test again later; if it persists, check the provider's status page",
        }
    }

    /// The provider rejected the secret itself (counts toward `error`).
    pub fn is_auth_failure(&self) -> bool {
        matches!(self, Failure::InvalidCredential { .. } | Failure::Expired { .. })
    }

    /// A stable short name for logs, exports and the CLI's JSON.
    pub fn code(&self) -> &'static str {
        match self {
            Failure::InvalidCredential { .. } => "invalid_credential",
            Failure::Expired { .. } => "expired",
            Failure::InsufficientScope { .. } => "insufficient_scope",
            Failure::WrongTenant { .. } => "wrong_tenant",
            Failure::WrongEnvironment { .. } => "wrong_environment",
            Failure::RateLimited { .. } => "rate_limited",
            Failure::Unreachable { .. } => "unreachable",
            Failure::Tls { .. } => "tls",
            Failure::Unsafe { .. } => "unsafe",
            Failure::Format { .. } => "format",
            Failure::Provider { .. } => "provider",
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}; {}", self.message(), self.next_step())
    }
}

/// Why a validator refused a secret. It must not contain the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub failure: Failure,
}

impl Rejection {
    pub fn new(failure: Failure) -> Rejection {
        Rejection { failure }
    }

    /// The message and the next step, for errors and the audit log.
    pub fn reason(&self) -> String {
        self.failure.to_string()
    }
}

impl From<Failure> for Rejection {
    fn from(failure: Failure) -> Rejection {
        Rejection { failure }
    }
}

pub trait Validator {
    fn validate(&self, candidate: &Candidate<'_>) -> std::result::Result<Verdict, Rejection>;

    /// True when this validator never asks a provider: its verdicts, pass
    /// or fail, are labelled offline.
    fn is_offline(&self) -> bool {
        false
    }

    /// Whether this validator knows a live check for the candidate (its
    /// provider, or an endpoint it configures). Where it knows none, a new
    /// credential is saved unchecked and labelled so, rather than refused.
    fn has_live_check(&self, _c: &Candidate<'_>) -> bool {
        !self.is_offline()
    }
}

/// Accepts any secret that passes `check_format`: for offline use, where
/// no endpoint can be reached.
pub struct OfflineValidator;

impl Validator for OfflineValidator {
    fn is_offline(&self) -> bool {
        true
    }

    /// Format and length; for a JWT-shaped secret its claims: `exp` in the
    /// past is expired, the integration's scopes must be among the token's,
    /// `iss` must equal the credential's `issuer` and `aud` contain its
    /// `audience` when those are configured; tenant (`tid`), issuer and
    /// audience are reported. Every verdict says it is offline.
    fn validate(&self, c: &Candidate<'_>) -> std::result::Result<Verdict, Rejection> {
        check_format(c.kind, c.config, c.secrets).map_err(|e| Failure::Format { detail: e.to_string() })?;
        let mut verdict = Verdict {
            offline: true,
            environment: c.integration.map(|i| i.environment.clone()),
            ..Verdict::default()
        };
        for (field, value) in c.secrets.iter() {
            let Some(claims) = crate::jwt::claims(value.expose_secret()) else {
                continue;
            };
            if let Some(exp) = claims.exp {
                if exp <= crate::timefmt::now() {
                    return Err(Failure::Expired {
                        detail: format!(
                            "offline: the token in {field} expired at {}",
                            crate::timefmt::to_db(exp)
                        ),
                    }
                    .into());
                }
                verdict.expires_at = Some(verdict.expires_at.map_or(exp, |e| e.min(exp)));
            }
            if !claims.scopes.is_empty() {
                let required = c.integration.map(|i| i.scopes.clone()).unwrap_or_default();
                let missing: Vec<String> = required.into_iter().filter(|s| !claims.scopes.contains(s)).collect();
                if !missing.is_empty() {
                    return Err(Failure::InsufficientScope { missing }.into());
                }
                verdict.scopes.extend(claims.scopes);
            }
            if let (Some(expected), Some(actual)) = (c.config.get("issuer"), claims.iss.as_ref())
                && expected.trim_end_matches('/') != actual.trim_end_matches('/')
            {
                return Err(Failure::WrongTenant {
                    expected: expected.clone(),
                    actual: format!("{actual} (offline: the issuer of the token in {field})"),
                }
                .into());
            }
            if let Some(expected) = c.config.get("audience")
                && !claims.aud.is_empty()
                && !claims.aud.contains(expected)
            {
                return Err(Failure::InvalidCredential {
                    detail: format!(
                        "offline: the token in {field} is for {}, not for '{expected}'",
                        claims.aud.join(", ")
                    ),
                }
                .into());
            }
            if verdict.tenant_id.is_none() {
                verdict.tenant_id = claims.tenant;
            }
            if verdict.issuer.is_none() {
                verdict.issuer = claims.iss;
            }
            for aud in claims.aud {
                if !verdict.audience.contains(&aud) {
                    verdict.audience.push(aud);
                }
            }
        }
        Ok(verdict)
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

/// Whether a configuration field decides where a secret is sent: any URL
/// (`check_url`, `token_url`, `base_url`, any `*_url`), an OAuth or Entra
/// `authority`, an `endpoint` or a `host`. Someone who may change such a
/// field without reading the secret could point the next check at their
/// own server, so the team vault never uses them for a check and the local
/// vault asks for a new live check after they change.
pub fn is_endpoint_field(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["url", "authority", "endpoint", "host", "uri", "issuer"]
        .iter()
        .any(|w| k == *w || k.ends_with(&format!("_{w}")))
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
        CredentialKind::OAuth2 => check_oauth2(config, secrets)?,
        CredentialKind::Basic => check_basic(config, secrets)?,
        CredentialKind::Custom => {}
    }
    for (k, v) in config {
        crate::model::validate_word("configuration field name", k)?;
        crate::model::validate_text(k, v)?;
    }
    Ok(())
}

/// The OAuth 2.0 fields: a known grant, a client id, a token endpoint, and
/// secrets of a sane size.
fn check_oauth2(config: &BTreeMap<String, String>, secrets: &SecretFields) -> Result<()> {
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
    Ok(())
}

/// A Basic credential: a username HTTP Basic can carry, one line of
/// password.
fn check_basic(config: &BTreeMap<String, String>, secrets: &SecretFields) -> Result<()> {
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
    Ok(())
}

#[cfg(test)]
mod endpoint_tests {
    use super::is_endpoint_field;

    #[test]
    fn every_field_that_can_name_a_server_is_an_endpoint() {
        for k in [
            "url",
            "base_url",
            "check_url",
            "token_url",
            "api_url",
            "authority",
            "Authority",
            "endpoint",
            "token_endpoint",
            "host",
            "api_host",
            "redirect_uri",
            "issuer",
        ] {
            assert!(is_endpoint_field(k), "{k}");
        }
        for k in [
            "client_id",
            "company_id",
            "scope",
            "username",
            "provider",
            "urls_seen",
            "hostname_note",
        ] {
            assert!(!is_endpoint_field(k), "{k}");
        }
    }
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
