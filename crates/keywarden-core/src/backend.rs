//! Where credentials are kept. Two implementations: the local SQLCipher
//! vault (`Vault`, the default) and a team vault on OpenBao
//! (`keywarden_team::TeamVault`), which knows HTTP, so lives outside the
//! core.
//!
//! The trait holds what every backend answers alike: the credentials as
//! masks with their state, and whether the audit chain holds. Changes go
//! through each backend's own API, because what a change means differs:
//! the local vault has integrations, versions and grace periods; the team
//! vault has sharing levels and roles its engine enforces. Both refuse a
//! change made from a stale revision.

use serde::Serialize;
use time::OffsetDateTime;

use crate::model::{CredentialFilter, CredentialKind};

/// One credential as any backend reports it: never a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackendCredential {
    pub id: String,
    pub name: String,
    pub kind: CredentialKind,
    /// `••••••••abcd`, or `None` when no secret is stored yet.
    pub masked: Option<String>,
    /// active, expiring, expired, disabled, error, rotation_due, revoked.
    pub status: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// Where it sits: the integration (local), the sharing level (team).
    pub context: String,
}

impl BackendCredential {
    /// Expired, expiring, disabled, in error or due for rotation: what a
    /// finance admin must act on.
    pub fn needs_attention(&self) -> bool {
        matches!(
            self.status.as_str(),
            "expired" | "expiring" | "disabled" | "error" | "rotation_due"
        )
    }
}

/// A backend that could not answer, and whether it was unreachable (the
/// team vault offline) rather than refusing or failing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct BackendError {
    pub message: String,
    pub unreachable: bool,
    /// The next step, for the program showing it to word (`Hint`).
    pub hint: Option<crate::Hint>,
}

impl From<crate::Error> for BackendError {
    fn from(e: crate::Error) -> Self {
        BackendError {
            message: e.to_string(),
            unreachable: false,
            hint: e.hint(),
        }
    }
}

pub trait CredentialBackend {
    /// Where it is, for people: "local vault at …", "team vault finance at …".
    fn location(&self) -> String;

    /// Every credential this backend lets the caller see, masked.
    fn credentials(&self) -> Result<Vec<BackendCredential>, BackendError>;

    /// Walks the audit chain; the number of events it holds.
    fn verify_audit(&self) -> Result<u64, BackendError>;
}

impl CredentialBackend for crate::Vault {
    fn location(&self) -> String {
        format!("local vault at {}", self.dir().display())
    }

    fn credentials(&self) -> Result<Vec<BackendCredential>, BackendError> {
        let all = self.list_credentials(&CredentialFilter::default())?;
        Ok(all
            .into_iter()
            .map(|c| BackendCredential {
                id: c.id.to_string(),
                name: c.name,
                kind: c.kind,
                masked: c.mask,
                status: c.status.as_str().to_owned(),
                expires_at: c.expires_at,
                context: c.integration.unwrap_or_else(|| "no integration".to_owned()),
            })
            .collect())
    }

    fn verify_audit(&self) -> Result<u64, BackendError> {
        let report = crate::Vault::verify_audit(self)?;
        if report.ok {
            return Ok(report.events);
        }
        Err(BackendError {
            message: format!(
                "the audit chain is broken at event {}: {}",
                report.first_bad_seq.unwrap_or_default(),
                report.problem.unwrap_or_default()
            ),
            unreachable: false,
            hint: None,
        })
    }
}
