//! The vault's model: integrations, credentials and their versions, as the
//! UI and the CLI see them. Nothing here holds a secret.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::secret::SecretFields;

/// Credentials expiring within this many days show as `expiring`.
pub const EXPIRING_WITHIN_DAYS: i64 = 14;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    ApiKey,
    #[serde(rename = "oauth2")]
    OAuth2,
    Basic,
    Custom,
}

impl CredentialKind {
    pub const ALL: [CredentialKind; 4] = [Self::ApiKey, Self::OAuth2, Self::Basic, Self::Custom];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApiKey => "api_key",
            Self::OAuth2 => "oauth2",
            Self::Basic => "basic",
            Self::Custom => "custom",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::ApiKey => "API key",
            Self::OAuth2 => "OAuth 2.0",
            Self::Basic => "Basic",
            Self::Custom => "Custom",
        }
    }
}

impl fmt::Display for CredentialKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CredentialKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "api_key" | "apikey" => Ok(Self::ApiKey),
            "oauth2" | "oauth" => Ok(Self::OAuth2),
            "basic" => Ok(Self::Basic),
            "custom" => Ok(Self::Custom),
            other => Err(Error::invalid(
                "type",
                format!("unknown credential type '{other}'; use one of: api-key, oauth2, basic, custom"),
            )),
        }
    }
}

/// What a person sees of a credential's state. `expiring` and `expired`
/// are derived from `expires_at` when read; the others are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Active,
    Expiring,
    /// Older than its rotation policy allows (computed, never stored).
    RotationDue,
    Expired,
    Error,
    Disabled,
    Revoked,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Expiring => "expiring",
            Self::RotationDue => "rotation_due",
            Self::Expired => "expired",
            Self::Error => "error",
            Self::Disabled => "disabled",
            Self::Revoked => "revoked",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "active" => Ok(Self::Active),
            "expiring" => Ok(Self::Expiring),
            "rotation_due" | "rotation-due" => Ok(Self::RotationDue),
            "expired" => Ok(Self::Expired),
            "error" => Ok(Self::Error),
            "disabled" => Ok(Self::Disabled),
            "revoked" => Ok(Self::Revoked),
            other => Err(Error::invalid(
                "status",
                format!(
                    "unknown status '{other}'; use one of: active, expiring, rotation_due, expired, error, disabled, revoked"
                ),
            )),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Integration {
    pub id: Uuid,
    pub name: String,
    pub provider: String,
    pub environment: String,
    pub tenant_id: Option<String>,
    pub base_url: Option<String>,
    pub scopes: Vec<String>,
    pub sync_schedule: Option<String>,
    pub owner: Option<String>,
    pub tags: Vec<String>,
    pub notes: Option<String>,
    /// Rotation policy of its credentials, in days; `None` = the vault's,
    /// 0 = no maximum age. A credential's own policy wins.
    #[serde(default)]
    pub max_age_days: Option<u32>,
    /// `kw run`: the environment variable each secret field is given as
    /// (`api_key` → `PLEO_API_KEY`); unnamed fields get `<NAME>_<FIELD>`.
    #[serde(default)]
    pub env_names: BTreeMap<String, String>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, Default)]
pub struct NewIntegration {
    pub name: String,
    pub provider: String,
    pub environment: String,
    pub tenant_id: Option<String>,
    pub base_url: Option<String>,
    pub scopes: Vec<String>,
    pub sync_schedule: Option<String>,
    pub owner: Option<String>,
    pub tags: Vec<String>,
    pub notes: Option<String>,
    pub max_age_days: Option<u32>,
    pub env_names: BTreeMap<String, String>,
}

/// A change to an integration: `None` leaves a field as it is; for the
/// optional text fields `Some("")` clears it.
#[derive(Debug, Clone, Default)]
pub struct IntegrationPatch {
    pub name: Option<String>,
    pub provider: Option<String>,
    pub environment: Option<String>,
    pub tenant_id: Option<String>,
    pub base_url: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub sync_schedule: Option<String>,
    pub owner: Option<String>,
    pub tags: Option<Vec<String>>,
    pub notes: Option<String>,
    /// `Some(None)` returns to the vault's policy.
    pub max_age_days: Option<Option<u32>>,
    /// Replaces the `kw run` variable names.
    pub env_names: Option<BTreeMap<String, String>>,
}

/// One row of the credentials list.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CredentialSummary {
    pub id: Uuid,
    pub name: String,
    pub kind: CredentialKind,
    pub provider: String,
    pub environment: String,
    pub status: Status,
    pub integration: Option<String>,
    pub tags: Vec<String>,
    /// `••••••••abcd` of the primary secret field of the current version.
    pub mask: Option<String>,
    pub current_version: u32,
    pub needs_reentry: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub expires_at: Option<OffsetDateTime>,
    /// Where the expiry date came from.
    pub expiry_source: Option<ExpirySource>,
    /// When the rotation policy wants the current secret replaced (its
    /// activation plus the maximum age); `None` without a policy.
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub rotation_due_at: Option<OffsetDateTime>,
    /// Past the due date and its grace period too.
    pub rotation_overdue: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub last_used_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub last_validated_at: Option<OffsetDateTime>,
}

impl CredentialSummary {
    /// What the dashboard lists under "needs action" (and the tray
    /// counts): refused by its provider, expired or expiring, due for
    /// rotation, disabled as compromised, or without its secret.
    pub fn needs_action(&self) -> bool {
        self.needs_reentry
            || matches!(
                self.status,
                Status::Error | Status::Expired | Status::Expiring | Status::RotationDue | Status::Disabled
            )
    }
}

/// Where a credential's expiry date came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ExpirySource {
    /// Entered by a person (form, `kw --expires`, import).
    User,
    /// The `exp` claim of a JWT secret.
    Token,
    /// Reported by the provider during a live check (OAuth
    /// `refresh_token_expires_in`, Pleo's introspection `exp`, …).
    Provider,
}

impl ExpirySource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Token => "token",
            Self::Provider => "provider",
        }
    }
}

impl std::str::FromStr for ExpirySource {
    type Err = crate::error::Error;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "user" => Ok(Self::User),
            "token" => Ok(Self::Token),
            "provider" => Ok(Self::Provider),
            other => Err(crate::error::Error::Database(format!(
                "unknown expiry source {other:?}"
            ))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum VersionState {
    /// Stored, waiting for validation; never used.
    Pending,
    /// The one version in use.
    Current,
    /// Replaced by a later version; its secret is erased.
    Retired,
}

impl VersionState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Current => "current",
            Self::Retired => "retired",
        }
    }
}

impl FromStr for VersionState {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "pending" => Ok(Self::Pending),
            "current" => Ok(Self::Current),
            "retired" => Ok(Self::Retired),
            other => Err(Error::Database(format!("unknown version state {other:?}"))),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VersionInfo {
    pub version: u32,
    pub state: VersionState,
    /// Field name → mask, e.g. `{"api_key": "••••••••abcd"}`.
    pub masks: BTreeMap<String, String>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub activated_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub retired_at: Option<OffsetDateTime>,
}

/// A credential in full, as the details screen shows it: configuration,
/// masks, versions. Never a secret.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Credential {
    #[serde(flatten)]
    pub summary: CredentialSummary,
    /// Non-secret configuration: `username`, `client_id`, `token_url`, …
    pub config: BTreeMap<String, String>,
    /// Names of the secret fields (their values never leave the vault).
    pub secret_fields: Vec<String>,
    pub notes: Option<String>,
    /// Its own rotation policy in days (0 = none); `None` inherits the
    /// integration's, then the vault's.
    pub max_age_days: Option<u32>,
    pub versions: Vec<VersionInfo>,
    /// What an admin still has to do about it (a check list on the details
    /// page): revoke the replaced secret at the provider, confirm a secret
    /// saved without a live check.
    pub reminders: Vec<Reminder>,
    /// Grows by one with every change an admin sees. An edit sends back the
    /// revision it was made from (`CredentialPatch::expected_revision`) and
    /// is refused as a conflict if someone changed the credential since.
    pub revision: u32,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub updated_at: OffsetDateTime,
}

/// The kinds of `Reminder`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ReminderKind {
    /// After a rotation: the replaced secret still works at the provider
    /// until someone revokes it there. Shown until the admin says it is done.
    RevokeOld,
    /// The secret was saved without a live check (chosen, no check known
    /// for the provider, offline checks only): shown until one passes.
    Unchecked,
}

impl ReminderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReminderKind::RevokeOld => "revoke_old",
            ReminderKind::Unchecked => "unchecked",
        }
    }
}

impl std::str::FromStr for ReminderKind {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<ReminderKind> {
        match s {
            "revoke_old" => Ok(ReminderKind::RevokeOld),
            "unchecked" => Ok(ReminderKind::Unchecked),
            other => Err(crate::Error::invalid(
                "reminder",
                format!("'{other}' is not a reminder; use revoke_old or unchecked"),
            )),
        }
    }
}

/// One item of a credential's check list; never a secret (the replaced
/// secret is named by its version and mask).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Reminder {
    pub kind: ReminderKind,
    /// What to do, in a sentence (English).
    pub detail: String,
    /// The values `detail` is made of, for saying it in another language:
    /// `why` (unchecked: offline, chosen, no_live_check, bulk, imported
    /// with `origin`, moved, rotated_offline), `version`, `mask` and
    /// `provider` (revoke_old). Never a secret (a mask is its last four).
    #[cfg_attr(feature = "ts", ts(type = "Record<string, string>"))]
    pub params: std::collections::BTreeMap<String, String>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub since: OffsetDateTime,
}

#[derive(Debug, Default)]
pub struct NewCredential {
    pub name: String,
    pub kind: Option<CredentialKind>,
    /// Name or id of the integration it serves; `None` stands alone.
    pub integration: Option<String>,
    /// Defaults to the integration's provider, else `generic`.
    pub provider: Option<String>,
    /// Defaults to the integration's environment, else `prod`.
    pub environment: Option<String>,
    pub config: BTreeMap<String, String>,
    pub secrets: SecretFields,
    pub tags: Vec<String>,
    pub notes: Option<String>,
    pub expires_at: Option<OffsetDateTime>,
    /// Its own rotation policy in days (0 = none); `None` inherits.
    pub max_age_days: Option<u32>,
}

/// A change to a credential's non-secret data. Secrets change only through
/// `Vault::replace_secret`.
#[derive(Debug, Clone, Default)]
pub struct CredentialPatch {
    pub name: Option<String>,
    /// `Some(None)` detaches it from its integration.
    pub integration: Option<Option<String>>,
    pub environment: Option<String>,
    pub config: Option<BTreeMap<String, String>>,
    pub tags: Option<Vec<String>>,
    pub notes: Option<String>,
    /// `Some(None)` clears the expiry.
    pub expires_at: Option<Option<OffsetDateTime>>,
    /// `Some(None)` inherits the integration's or vault's policy again.
    pub max_age_days: Option<Option<u32>>,
    /// The `Credential::revision` this change was made from. When it is no
    /// longer the stored one, the update is refused with `Error::Conflict`
    /// and nothing is written. `None`: apply to whatever is stored now (a
    /// script that read nothing first).
    pub expected_revision: Option<u32>,
}

#[derive(Debug, Clone, Default)]
pub struct CredentialFilter {
    pub kind: Option<CredentialKind>,
    pub status: Option<Status>,
    pub provider: Option<String>,
    pub environment: Option<String>,
    pub tag: Option<String>,
    /// Case-insensitive text found in name, provider, integration, tags.
    pub search: Option<String>,
    pub limit: Option<usize>,
}

/// Names of credentials and integrations: what people type and read.
/// Whether a name may hold `c`: letters, digits, spaces and
/// `- _ . ( ) / : @ + #` (an import replaces any other character).
pub fn name_char_allowed(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.' | '(' | ')' | '/' | ':' | '@' | '+' | '#')
}

/// Letters, digits, spaces and `- _ . ( ) / : @ + #`, 1 to 100 characters.
/// Quotes, `;`, `$`, backticks, pipes and redirections are refused so a
/// name is safe to paste into a shell or a report.
pub fn validate_name(field: &str, name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::invalid(field, "the name is empty"));
    }
    if name.trim() != name {
        return Err(Error::invalid(field, "the name starts or ends with white space"));
    }
    if name.chars().count() > 100 {
        return Err(Error::invalid(field, "the name is longer than 100 characters"));
    }
    if let Some(bad) = name.chars().find(|&c| !name_char_allowed(c)) {
        return Err(Error::invalid(
            field,
            format!("'{bad}' is not allowed in a name; use letters, digits, spaces and - _ . ( ) / : @ + #"),
        ));
    }
    Ok(())
}

/// Short machine words: environment, provider, tags, field names.
pub fn validate_word(field: &str, word: &str) -> Result<()> {
    if word.is_empty() || word.len() > 64 {
        return Err(Error::invalid(field, "must be 1 to 64 characters"));
    }
    if !word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(Error::invalid(
            field,
            format!("'{word}' may contain only letters, digits, '-', '_' and '.'"),
        ));
    }
    Ok(())
}

/// Free text (notes, URLs, schedules): no control characters but line
/// breaks, at most 4,000 characters.
pub fn validate_text(field: &str, text: &str) -> Result<()> {
    if text.chars().count() > 4000 {
        return Err(Error::invalid(field, "longer than 4,000 characters"));
    }
    if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(Error::invalid(field, "contains control characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_sql_and_shell_metacharacters_are_refused() {
        let err = validate_name("name", "x'; DROP TABLE credentials; -- $(rm -rf ~) `id` | tee >/tmp/x").unwrap_err();
        assert!(err.to_string().contains("not allowed"), "{err}");
        assert!(validate_name("name", "Xledger prod (AS 123) / payroll").is_ok());
        assert!(validate_name("name", "Pleo – Nørsk AS").is_err()); // en dash is punctuation
        assert!(validate_name("name", "Pleo Nørsk AS").is_ok());
    }

    #[test]
    fn unknown_type_names_the_allowed_ones() {
        let err = "ssh-key".parse::<CredentialKind>().unwrap_err();
        assert!(err.to_string().contains("api-key, oauth2, basic, custom"));
        assert_eq!("api-key".parse::<CredentialKind>().unwrap(), CredentialKind::ApiKey);
    }
}
