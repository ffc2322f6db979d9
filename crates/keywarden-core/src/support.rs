//! The support bundle: a secret-free diagnostics file for support staff.
//! It holds what the vault knows *about* credentials — integrations,
//! statuses, the last checks with their verdicts and error codes, recent
//! audit events — and nothing that could be used as one: no secret, no
//! mask, no configuration value (those may hold account ids).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{CredentialFilter, CredentialKind, Integration, Status};
use crate::store::audit::{AuditEvent, AuditFilter, Outcome};
use crate::store::checks::Check;
use crate::{Vault, timefmt};

pub const BUNDLE_FORMAT: &str = "keywarden-support-bundle";
pub const BUNDLE_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SupportBundle {
    pub format: String,
    pub format_version: u32,
    pub generated_at: String,
    pub keywarden_version: String,
    pub vault_id: String,
    pub integrations: Vec<Integration>,
    pub credentials: Vec<CredentialHealth>,
    pub recent_audit: Vec<AuditEvent>,
    pub note: String,
}

/// One credential as support sees it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CredentialHealth {
    pub name: String,
    pub kind: CredentialKind,
    pub provider: String,
    pub environment: String,
    pub integration: Option<String>,
    pub status: Status,
    pub needs_reentry: bool,
    pub current_version: u32,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    pub last_validated_at: Option<String>,
    /// The latest checks, newest first.
    pub checks: Vec<Check>,
    /// The latest live verdict's code and its age in hours, if any.
    pub last_live_verdict: Option<String>,
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub last_live_age_hours: Option<i64>,
}

/// A bundle bigger than this is not one `kw support-bundle` wrote (those
/// hold at most 200 audit events and 10 checks per credential).
pub const BUNDLE_MAX_BYTES: usize = 32 * 1024 * 1024;

impl SupportBundle {
    /// Reads a bundle someone sent to support, for display only: the file
    /// must say it is a Keywarden support bundle of a version this build
    /// knows. Nothing in it is ever written anywhere.
    pub fn parse(bytes: &[u8]) -> Result<SupportBundle> {
        if bytes.len() > BUNDLE_MAX_BYTES {
            return Err(Error::invalid(
                "support bundle",
                format!(
                    "the file is {} MB, larger than any support bundle; ask for a fresh support bundle",
                    bytes.len() / (1024 * 1024)
                ),
            ));
        }
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
            Error::invalid(
                "support bundle",
                format!("the file is not JSON ({e}); open the support bundle as Keywarden wrote it, unchanged"),
            )
        })?;
        if value["format"].as_str() != Some(BUNDLE_FORMAT) {
            return Err(Error::invalid(
                "support bundle",
                "the file is not a Keywarden support bundle; open a support bundle Keywarden wrote",
            ));
        }
        let version = value["format_version"].as_u64().unwrap_or(0);
        if version != u64::from(BUNDLE_VERSION) {
            return Err(Error::invalid(
                "support bundle",
                format!(
                    "the bundle has format version {version}, this Keywarden reads version {BUNDLE_VERSION}; open it with a matching Keywarden"
                ),
            ));
        }
        serde_json::from_value(value).map_err(|e| {
            Error::invalid(
                "support bundle",
                format!("the bundle is incomplete or was edited ({e}); ask for a fresh one"),
            )
        })
    }
}

impl Vault {
    /// Builds the support bundle (no secret in it) and records the export
    /// as `support.bundle`.
    pub fn support_bundle(&mut self) -> Result<SupportBundle> {
        let now = timefmt::now();
        let mut credentials = Vec::new();
        for s in self.list_credentials(&CredentialFilter::default())? {
            let checks = self.recent_checks(&s.id.to_string(), 10)?;
            let live = checks.iter().find(|c| !c.offline);
            credentials.push(CredentialHealth {
                name: s.name,
                kind: s.kind,
                provider: s.provider,
                environment: s.environment,
                integration: s.integration,
                status: s.status,
                needs_reentry: s.needs_reentry,
                current_version: s.current_version,
                expires_at: s.expires_at.map(timefmt::to_db),
                last_used_at: s.last_used_at.map(timefmt::to_db),
                last_validated_at: s.last_validated_at.map(timefmt::to_db),
                last_live_verdict: live.map(|c| c.outcome.code().to_owned()),
                last_live_age_hours: live.map(|c| (now - c.checked_at).whole_hours()),
                checks,
            });
        }
        let recent_audit = self.audit_events(&AuditFilter {
            limit: Some(200),
            ..AuditFilter::default()
        })?;
        let bundle = SupportBundle {
            format: BUNDLE_FORMAT.into(),
            format_version: BUNDLE_VERSION,
            generated_at: timefmt::to_db(now),
            keywarden_version: env!("CARGO_PKG_VERSION").into(),
            vault_id: self.vault_id().to_string(),
            integrations: self.list_integrations()?,
            credentials,
            recent_audit,
            note: "Diagnostics only: no secret, mask or credential configuration is in this file.".into(),
        };
        self.record(
            "support.bundle",
            "vault",
            None,
            Outcome::Success,
            &format!(
                "{} credentials, {} audit events",
                bundle.credentials.len(),
                bundle.recent_audit.len()
            ),
        )?;
        Ok(bundle)
    }
}
