//! What can go wrong with a team vault, each with what to do about it.
//! No message ever carries a secret or a token: OpenBao's own error texts
//! are passed on (they name paths and reasons, never values), bodies are not.

use keywarden_core::{ErrorKind, Hint};
use thiserror::Error;

/// One request to OpenBao that did not succeed.
#[derive(Debug, Error)]
pub enum BaoError {
    #[error("the team vault is not set up right: {0}")]
    Config(String),
    #[error("the team vault cannot be reached at {nodes} ({reason}); what was last known is shown read-only")]
    Unreachable { nodes: String, reason: String },
    #[error("OpenBao refused access to {path}{}", if detail.is_empty() { String::new() } else { format!(" ({detail})") })]
    Forbidden { path: String, detail: String },
    #[error("nothing at {path}")]
    NotFound { path: String },
    #[error("{path} changed since it was read (check-and-set)")]
    CasMismatch { path: String },
    #[error("OpenBao answered HTTP {status} for {path}: {errors}")]
    Status { status: u16, path: String, errors: String },
    #[error("OpenBao's answer for {path} could not be read: {reason}")]
    Decode { path: String, reason: String },
}

/// A team-vault operation that did not happen. Nothing was written unless
/// the variant says otherwise.
#[derive(Debug, Error)]
pub enum TeamError {
    #[error(transparent)]
    Bao(#[from] BaoError),
    #[error("your role does not allow this: {what}. Ask an owner of the team for access (OpenBao refused {path})")]
    NotAllowed { what: String, path: String },
    #[error("no credential '{name}' that you can see in this team vault")]
    NotFound { name: String },
    #[error("a credential named '{name}' already exists in this team vault")]
    Duplicate { name: String },
    #[error(
        "'{name}' was changed by {by} at {at} since you opened it (revision {expected}, now {actual}); nothing was written. Reload it, check their change, and redo yours"
    )]
    Conflict {
        name: String,
        by: String,
        at: String,
        expected: u64,
        actual: u64,
    },
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("you are not signed in to the team vault, or your sign-in ended")]
    SignedOut,
    #[error("the team vault is offline; it is read-only until it can be reached again")]
    Offline,
    #[error(
        "the change was saved, but its event could not be added to the team audit chain ({reason}); OpenBao's own audit device recorded the request"
    )]
    NotRecorded { reason: String },
    #[error("the team audit chain is broken at event {seq}: {reason}")]
    AuditBroken { seq: u64, reason: String },
    #[error(transparent)]
    Core(#[from] keywarden_core::Error),
}

impl TeamError {
    /// The kind of this error, in the core's terms (`ErrorKind`), so each
    /// shell has one exhaustive table. Exhaustive here too.
    pub fn kind(&self) -> ErrorKind {
        match self {
            TeamError::Bao(b) => match b {
                BaoError::Unreachable { .. } => ErrorKind::Offline,
                BaoError::Forbidden { .. } => ErrorKind::NotAllowed,
                BaoError::Config(_) => ErrorKind::Misconfigured,
                BaoError::NotFound { .. }
                | BaoError::CasMismatch { .. }
                | BaoError::Status { .. }
                | BaoError::Decode { .. } => ErrorKind::Internal,
            },
            TeamError::Offline => ErrorKind::Offline,
            TeamError::NotAllowed { .. } => ErrorKind::NotAllowed,
            TeamError::SignedOut => ErrorKind::SignedOut,
            TeamError::NotFound { .. } => ErrorKind::NotFound,
            TeamError::Duplicate { .. } => ErrorKind::Duplicate,
            TeamError::Invalid { .. } => ErrorKind::InvalidInput,
            TeamError::Conflict { .. } => ErrorKind::Stale,
            TeamError::AuditBroken { .. } | TeamError::NotRecorded { .. } => ErrorKind::AuditBroken,
            TeamError::Core(inner) => inner.kind(),
        }
    }

    /// The next step where it is a command in `kw` and a button in the app.
    pub fn hint(&self) -> Option<Hint> {
        match self {
            TeamError::SignedOut => Some(Hint::TeamSignIn),
            TeamError::NotRecorded { .. } => Some(Hint::VerifyTeamAudit),
            TeamError::Core(inner) => inner.hint(),
            TeamError::Bao(_)
            | TeamError::NotAllowed { .. }
            | TeamError::NotFound { .. }
            | TeamError::Duplicate { .. }
            | TeamError::Conflict { .. }
            | TeamError::Invalid { .. }
            | TeamError::Offline
            | TeamError::AuditBroken { .. } => None,
        }
    }

    /// The message with its hint worded by `word`.
    pub fn say(&self, word: impl Fn(Hint) -> &'static str) -> String {
        keywarden_core::error::with_hint(self.to_string(), self.hint(), word)
    }

    pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> Self {
        TeamError::Invalid {
            field: field.to_owned(),
            reason: reason.into(),
        }
    }
}

pub type Result<T, E = TeamError> = std::result::Result<T, E>;
