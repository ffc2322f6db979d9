//! What crosses the IPC boundary besides the core's own types: command
//! inputs (parsed here into core types) and small results. Secrets arrive
//! as `SecretString` (redacted Debug, zeroized on drop) and never leave.

use std::collections::BTreeMap;

use keywarden_core::{
    AuditFilter, CredentialKind, CredentialPatch, Error, IntegrationPatch, NewCredential, NewIntegration, Result,
    SecretFields, SecretString, timefmt,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use ts_rs::TS;

use crate::settings::Settings;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum VaultState {
    /// No vault at the configured folder: first run.
    None,
    Locked,
    Unlocked,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum KeySourceKind {
    Keychain,
    Passphrase,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct AppStatus {
    pub vault: VaultState,
    pub key_source: Option<KeySourceKind>,
    pub vault_dir: String,
    /// Who the audit log records for this session.
    pub profile: String,
    pub settings: Settings,
    /// The system's locale (`LC_ALL`, `LC_MESSAGES` or `LANG`), which the
    /// window follows when `settings.language` is empty.
    pub system_language: String,
    /// Why `settings.json` could not be read, so the defaults apply.
    pub settings_problem: Option<String>,
    /// The embedded partner-key verifier: where it listens, or why not.
    pub verifier: Option<String>,
    /// The organisation's policy: what it manages and where from.
    pub policy: PolicyView,
    /// Whether closing the window leaves the app in the tray now (the tray
    /// is up and the desktop shows it); otherwise closing quits.
    pub tray_shown: bool,
}

/// The policy in force, for the settings page's "Managed by your
/// organization" badges (the same rows as `kw policy show`).
#[derive(Debug, Clone, Serialize, TS)]
pub struct PolicyView {
    pub source: keywarden_core::PolicySource,
    pub entries: Vec<keywarden_core::PolicyEntry>,
}

/// Shown once at vault creation or recovery, then forgotten by the app.
#[derive(Debug, Clone, Serialize, TS)]
pub struct RecoveryCodeOut {
    pub recovery_code: String,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct CopyReceipt {
    pub field: String,
    pub clears_in_seconds: u32,
    /// The copy is marked as a password, which clipboard managers that
    /// honour the mark keep out of their history (one that ignores it may
    /// not); false where the platform has no such mark.
    pub marked_as_password: bool,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct ExportReceipt {
    pub path: String,
    pub items: usize,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct RotationOutcome {
    pub credential: keywarden_core::Credential,
    /// How the new secret was checked before the swap.
    pub validated_by: String,
    /// What to do next: revoke the replaced secret at the provider.
    pub revoke_old: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Csv,
    Json,
}

fn none_if_blank(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

fn parse_time(field: &str, s: Option<String>) -> Result<Option<OffsetDateTime>> {
    none_if_blank(s).map(|s| timefmt::parse_user(field, &s)).transpose()
}

fn secret_fields(secrets: BTreeMap<String, SecretString>) -> SecretFields {
    let mut out = SecretFields::new();
    for (name, value) in secrets {
        out.insert(name.trim(), value);
    }
    out
}

#[derive(Debug, Deserialize, TS)]
pub struct NewCredentialInput {
    pub name: String,
    pub kind: CredentialKind,
    #[ts(optional)]
    pub integration: Option<String>,
    #[ts(optional)]
    pub environment: Option<String>,
    #[serde(default)]
    pub config: BTreeMap<String, String>,
    #[ts(type = "Record<string, string>")]
    pub secrets: BTreeMap<String, SecretString>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[ts(optional)]
    pub notes: Option<String>,
    /// `YYYY-MM-DD` or RFC 3339.
    #[ts(optional)]
    pub expires_at: Option<String>,
    /// Own rotation policy in days (0 = none); absent inherits.
    #[ts(optional)]
    pub max_age_days: Option<u32>,
    /// "Validate and Save" (the default): checked live with the provider
    /// first, saved only if it passes. `false` is "Save without checking",
    /// labelled so in the audit log and on the details page.
    #[serde(default = "validate_by_default")]
    pub validate: bool,
}

fn validate_by_default() -> bool {
    true
}

impl NewCredentialInput {
    pub fn parse(self) -> Result<NewCredential> {
        Ok(NewCredential {
            name: self.name.trim().to_owned(),
            kind: Some(self.kind),
            integration: none_if_blank(self.integration),
            provider: None,
            environment: none_if_blank(self.environment),
            config: self
                .config
                .into_iter()
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .filter(|(_, v)| !v.is_empty())
                .collect(),
            secrets: secret_fields(self.secrets),
            tags: self.tags,
            notes: none_if_blank(self.notes),
            expires_at: parse_time("expiry date", self.expires_at)?,
            max_age_days: self.max_age_days,
        })
    }
}

/// A rotation policy as typed: `""` inherits, else whole days (0 = none).
fn parse_days(s: Option<String>) -> Result<Option<Option<u32>>> {
    match s {
        None => Ok(None),
        Some(t) if t.trim().is_empty() => Ok(Some(None)),
        Some(t) => t.trim().parse::<u32>().map(|d| Some(Some(d))).map_err(|_| {
            keywarden_core::Error::invalid(
                "rotation policy",
                format!(
                    "'{t}' is not a number of days; give whole days (0 = no maximum), or leave it empty to inherit"
                ),
            )
        }),
    }
}

/// A change to a credential's non-secret data; absent fields stay as they
/// are. `integration: ""` detaches it, `expires_at: ""` clears the expiry.
#[derive(Debug, Default, Deserialize, TS)]
pub struct CredentialPatchInput {
    #[ts(optional)]
    pub name: Option<String>,
    #[ts(optional)]
    pub integration: Option<String>,
    #[ts(optional)]
    pub environment: Option<String>,
    #[ts(optional)]
    pub config: Option<BTreeMap<String, String>>,
    #[ts(optional)]
    pub tags: Option<Vec<String>>,
    #[ts(optional)]
    pub notes: Option<String>,
    #[ts(optional)]
    pub expires_at: Option<String>,
    /// Days; `""` inherits the integration's or vault's policy.
    #[ts(optional)]
    pub max_age_days: Option<String>,
    /// The `revision` of the credential the form was filled from: the save
    /// is refused as stale if `kw` or another window changed it since.
    #[ts(optional)]
    pub expected_revision: Option<u32>,
}

impl CredentialPatchInput {
    pub fn parse(self) -> Result<CredentialPatch> {
        let integration = self.integration.map(|i| none_if_blank(Some(i)));
        let expires_at = match self.expires_at {
            None => None,
            Some(s) if s.trim().is_empty() => Some(None),
            Some(s) => Some(Some(timefmt::parse_user("expiry date", &s)?)),
        };
        Ok(CredentialPatch {
            name: self.name.map(|n| n.trim().to_owned()),
            integration,
            environment: self.environment,
            config: self.config,
            tags: self.tags,
            notes: self.notes,
            expires_at,
            max_age_days: parse_days(self.max_age_days)?,
            expected_revision: self.expected_revision,
        })
    }
}

#[derive(Debug, Deserialize, TS)]
pub struct RotateInput {
    #[ts(type = "Record<string, string>")]
    pub secrets: BTreeMap<String, SecretString>,
    #[ts(optional)]
    pub expires_at: Option<String>,
    /// Only the offline checks (the provider cannot be reached); live
    /// validation otherwise.
    #[serde(default)]
    #[ts(optional)]
    pub offline: Option<bool>,
}

impl RotateInput {
    pub fn parse(self) -> Result<(SecretFields, Option<OffsetDateTime>, bool)> {
        if self.secrets.is_empty() {
            return Err(Error::invalid("secret", "enter the new secret"));
        }
        let offline = self.offline.unwrap_or(false);
        Ok((
            secret_fields(self.secrets),
            parse_time("expiry date", self.expires_at)?,
            offline,
        ))
    }
}

#[derive(Debug, Deserialize, TS)]
pub struct NewIntegrationInput {
    pub name: String,
    pub provider: String,
    pub environment: String,
    #[ts(optional)]
    pub tenant_id: Option<String>,
    #[ts(optional)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[ts(optional)]
    pub sync_schedule: Option<String>,
    #[ts(optional)]
    pub owner: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[ts(optional)]
    pub notes: Option<String>,
    /// Rotation policy of its credentials in days (0 = none); absent
    /// inherits the vault's.
    #[ts(optional)]
    pub max_age_days: Option<u32>,
    /// `kw run` variable names per secret field.
    #[serde(default)]
    pub env_names: BTreeMap<String, String>,
}

impl NewIntegrationInput {
    pub fn parse(self) -> NewIntegration {
        NewIntegration {
            name: self.name.trim().to_owned(),
            provider: self.provider.trim().to_owned(),
            environment: self.environment.trim().to_owned(),
            tenant_id: none_if_blank(self.tenant_id),
            base_url: none_if_blank(self.base_url),
            scopes: self.scopes,
            sync_schedule: none_if_blank(self.sync_schedule),
            owner: none_if_blank(self.owner),
            tags: self.tags,
            notes: none_if_blank(self.notes),
            max_age_days: self.max_age_days,
            env_names: self.env_names,
        }
    }
}

/// Absent fields stay; `""` clears an optional text field.
#[derive(Debug, Default, Deserialize, TS)]
pub struct IntegrationPatchInput {
    #[ts(optional)]
    pub name: Option<String>,
    #[ts(optional)]
    pub provider: Option<String>,
    #[ts(optional)]
    pub environment: Option<String>,
    #[ts(optional)]
    pub tenant_id: Option<String>,
    #[ts(optional)]
    pub base_url: Option<String>,
    #[ts(optional)]
    pub scopes: Option<Vec<String>>,
    #[ts(optional)]
    pub sync_schedule: Option<String>,
    #[ts(optional)]
    pub owner: Option<String>,
    #[ts(optional)]
    pub tags: Option<Vec<String>>,
    #[ts(optional)]
    pub notes: Option<String>,
    /// Days; `""` inherits the vault's policy.
    #[ts(optional)]
    pub max_age_days: Option<String>,
    /// Replaces the `kw run` variable names.
    #[ts(optional)]
    pub env_names: Option<BTreeMap<String, String>>,
}

impl IntegrationPatchInput {
    pub fn parse(self) -> Result<IntegrationPatch> {
        Ok(IntegrationPatch {
            name: self.name,
            provider: self.provider,
            environment: self.environment,
            tenant_id: self.tenant_id,
            base_url: self.base_url,
            scopes: self.scopes,
            sync_schedule: self.sync_schedule,
            owner: self.owner,
            tags: self.tags,
            notes: self.notes,
            max_age_days: parse_days(self.max_age_days)?,
            env_names: self.env_names,
        })
    }
}

#[derive(Debug, Default, Deserialize, TS)]
pub struct AuditQuery {
    /// Credential or integration name or id.
    #[ts(optional)]
    pub object: Option<String>,
    #[ts(optional)]
    pub action: Option<String>,
    /// The admin profile that acted.
    #[ts(optional)]
    pub profile: Option<String>,
    #[ts(optional)]
    pub since: Option<String>,
    #[ts(optional)]
    pub until: Option<String>,
    #[ts(optional)]
    pub limit: Option<u32>,
}

impl AuditQuery {
    pub fn parse(self) -> Result<AuditFilter> {
        Ok(AuditFilter {
            object: none_if_blank(self.object),
            action: none_if_blank(self.action),
            profile: none_if_blank(self.profile),
            // A bare date means from the start of that day (UTC).
            since: parse_time(
                "from date",
                self.since.map(|s| match s.trim() {
                    d if d.len() == 10 => format!("{d}T00:00:00Z"),
                    _ => s,
                }),
            )?,
            until: parse_time("to date", self.until)?,
            limit: self.limit.map(|l| l as usize),
        })
    }
}

/// The issue form of a partner key.
#[derive(Debug, Deserialize, TS)]
pub struct IssueKeyInput {
    pub application: String,
    /// `live` or `test`.
    pub environment: String,
    pub scopes: Vec<String>,
    #[ts(optional)]
    pub expires_at: Option<String>,
    #[ts(optional)]
    pub max_age_days: Option<u32>,
    #[ts(optional)]
    pub grace_days: Option<u32>,
}

impl IssueKeyInput {
    pub fn parse(self) -> Result<keywarden_core::partner::NewPartnerKey> {
        Ok(keywarden_core::partner::NewPartnerKey {
            application: self.application.trim().to_owned(),
            environment: Some(keywarden_core::partner::KeyEnv::parse(self.environment.trim())?),
            scopes: self
                .scopes
                .into_iter()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
            expires_at: parse_time("expiry date", self.expires_at)?,
            max_age_days: self.max_age_days,
            grace_days: self.grace_days,
            ..Default::default()
        })
    }
}

/// A key just issued: shown once, then only its record exists.
#[derive(Debug, Serialize, TS)]
pub struct IssuedKeyOut {
    pub key: keywarden_core::partner::PartnerKey,
    pub plaintext: String,
    pub envelope: keywarden_core::partner::Signed,
    pub public_key: String,
}

impl IssuedKeyOut {
    pub fn from_issued(i: keywarden_core::partner::IssuedKey, public_key: String) -> IssuedKeyOut {
        IssuedKeyOut {
            key: i.key,
            plaintext: i.plaintext.to_string(),
            envelope: i.envelope,
            public_key,
        }
    }
}

/// One partner key with its use.
#[derive(Debug, Serialize, TS)]
pub struct PartnerKeyDetails {
    pub key: keywarden_core::partner::PartnerKey,
    pub usage: Vec<keywarden_core::partner::HourUsage>,
    pub sources: Vec<keywarden_core::partner::KeySource>,
    pub alerts: Vec<keywarden_core::Notice>,
    /// A successor rotated by policy waits to be shown once for delivery.
    pub awaits_delivery: bool,
}

/// The team vault as the window shows it: signed in or not, who, which
/// role, and whether OpenBao answered.
#[derive(Debug, Clone, Serialize, TS)]
pub struct TeamStatus {
    pub signed_in: bool,
    /// True: signed in, but no node of the cluster answers; lists show
    /// what was last known, read-only.
    pub offline: bool,
    pub nodes: Vec<String>,
    pub mount: Option<String>,
    pub user: Option<String>,
    /// owner, admin, viewer, or none.
    pub role: Option<String>,
    /// What the role allows, in words.
    pub role_words: Option<String>,
}

#[derive(Debug, Deserialize, TS)]
pub struct TeamSignInInput {
    pub nodes: Vec<String>,
    pub mount: String,
    #[ts(optional)]
    pub userpass: Option<String>,
    pub user: String,
    #[ts(type = "string")]
    pub password: SecretString,
}

#[derive(Debug, Deserialize, TS)]
pub struct TeamRotateInput {
    #[ts(type = "Record<string, string>")]
    pub secrets: BTreeMap<String, SecretString>,
    /// The revision the form was filled from: a change made meanwhile by
    /// another admin is refused (stale), never overwritten.
    pub expected_revision: u64,
    #[serde(default)]
    #[ts(optional)]
    pub offline: Option<bool>,
}
