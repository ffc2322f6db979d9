//! The core's error type. No message ever carries a secret.

use std::path::PathBuf;

/// Everything that can go wrong in the vault. Messages say what was wrong
/// and what to do, and never contain secret material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(
        "no OS keychain is reachable on this machine ({detail}); start a desktop session with a Secret Service (e.g. gnome-keyring), or create a passphrase vault instead"
    )]
    KeychainUnavailable { detail: String },

    #[error(
        "the OS keychain is locked; unlock it (log in to the desktop session or unlock the login keyring) and try again"
    )]
    KeychainLocked,

    #[error(
        "the keychain has no key for vault {vault_id}; if the keychain item was lost, run `kw recover` with the recovery code"
    )]
    KeychainItemMissing { vault_id: String },

    #[error("the OS keychain failed: {detail}")]
    Keychain { detail: String },

    #[error("the key in the keychain does not open vault {vault_id}; run `kw recover` with the recovery code")]
    WrongKeychainKey { vault_id: String },

    #[error("wrong passphrase for this vault")]
    WrongPassphrase,

    #[error("the recovery code is wrong for this vault; check it and try again (letters and digits, dashes optional)")]
    WrongRecoveryCode,

    #[error("no vault at {}; create one with `kw init`", path.display())]
    VaultNotFound { path: PathBuf },

    #[error("a vault already exists at {}; open it, or choose another --vault path", path.display())]
    VaultExists { path: PathBuf },

    #[error("the vault at {} is damaged: {detail}", path.display())]
    VaultCorrupt { path: PathBuf, detail: String },

    #[error("{kind} '{name}' not found")]
    NotFound { kind: &'static str, name: String },

    #[error("{kind} named '{name}' already exists; choose another name")]
    Duplicate { kind: &'static str, name: String },

    #[error("invalid {field}: {reason}")]
    InvalidInput { field: String, reason: String },

    #[error("credential '{name}' is used by {}; remove that dependency first, or delete with force", dependents.join(", "))]
    HasDependents { name: String, dependents: Vec<String> },

    #[error("credential '{name}' is disabled ({reason}); replace its secret to re-enable it")]
    CredentialDisabled { name: String, reason: String },

    #[error("credential '{name}' has no secret yet (imported without secrets); enter it with `kw credential rotate`")]
    NeedsReentry { name: String },

    #[error("the new secret was rejected and the current one kept: {failure}")]
    ValidationRejected { failure: crate::validate::Failure },

    #[error("a stored secret could not be decrypted: the vault data is damaged or was tampered with")]
    Decryption,

    #[error("the audit log has a problem: {0}")]
    Audit(String),

    #[error("file error at {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("database error: {0}")]
    Database(String),

    #[error("managed by your organization ({setting}): {detail}")]
    ManagedByPolicy { setting: String, detail: String },
}

impl Error {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

impl From<crate::crypto::CryptoError> for Error {
    fn from(_: crate::crypto::CryptoError) -> Self {
        Error::Decryption
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        // SQLite messages name tables and constraints, never bound values,
        // so they cannot carry a secret.
        Error::Database(e.to_string())
    }
}

impl From<rusqlite_migration::Error> for Error {
    fn from(e: rusqlite_migration::Error) -> Self {
        Error::Database(format!("migration failed: {e}"))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
