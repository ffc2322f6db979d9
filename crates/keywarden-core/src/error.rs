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

    /// The database is older than its rollback anchor (anchor.rs).
    #[error(
        "this vault's database is older than the last change recorded for it: its audit log ends at event \
         {database}, but event {anchor} had been written. An older copy of vault.db was put back, so nothing was \
         opened or changed. If you restored a backup on purpose, accept it with `kw recover --accept-older` (the \
         step is audited)"
    )]
    RolledBack { database: i64, anchor: i64 },

    #[error(
        "audit log verification FAILED at event {seq}: {detail}. Nothing was opened or changed. If you restored \
         another copy of the vault on purpose, accept it with `kw recover --accept-older` (the step is audited)"
    )]
    Forked { seq: i64, detail: String },

    #[error(
        "this vault's rollback anchor ({place}) is gone, though it was set up: whoever removed it could put back an \
         older copy of vault.db unnoticed. Nothing was opened or changed. If you know why it is gone, accept the \
         database as it is with `kw recover --accept-older` (the step is audited)"
    )]
    AnchorMissing { place: String },

    #[error(
        "this vault's rollback anchor ({place}) is not one Keywarden wrote. Nothing was opened or changed. Accept \
         the database as it is with `kw recover --accept-older` (the step is audited), which writes a new one"
    )]
    AnchorUnreadable { place: String },

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

    /// A live check refused the secret: nothing was saved or changed (a
    /// rotation keeps the current secret, a new credential is not stored).
    #[error("the secret was refused, so nothing was saved or changed: {failure}")]
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

    /// A file to import that cannot be imported as it is; nothing was
    /// written. Each problem names its place, never a value.
    #[error("{}", import_message(problems))]
    ImportFile { problems: Vec<String> },

    #[error("database error: {0}")]
    Database(String),

    #[error("managed by your organization ({setting}): {detail}")]
    ManagedByPolicy { setting: String, detail: String },

    /// Optimistic versions: the credential changed after this change was
    /// prepared. `actual` is `None` when it has been deleted since.
    #[error("{}", conflict_message(name, *expected, *actual))]
    Conflict {
        name: String,
        expected: u32,
        actual: Option<u32>,
    },

    #[error("the disk holding the vault is full; nothing was changed. Free some space on that disk and try again")]
    DiskFull,

    #[error(
        "reading or writing the vault's files failed ({detail}): the disk may be full, failing or gone; nothing was changed. Check that disk and try again"
    )]
    DiskIo { detail: String },

    #[error(
        "the vault is busy: another Keywarden program (the app, kw or kw serve) kept it locked for more than {seconds} s; nothing was changed. Try again, or close the other program"
    )]
    Busy { seconds: u32 },

    #[error(
        "the vault's database is damaged ({detail}); Keywarden stopped without writing over the damage and will not replace the vault. Restore the vault folder from your backup; the recovery code cannot repair damaged data"
    )]
    DatabaseDamaged { detail: String },
}

fn import_message(problems: &[String]) -> String {
    let mut m = String::from("nothing was imported; correct the file and import it again:");
    for p in problems {
        m.push_str("\n  ");
        m.push_str(p);
    }
    m
}

fn conflict_message(name: &str, expected: u32, actual: Option<u32>) -> String {
    match actual {
        Some(now) => format!(
            "credential '{name}' was changed by someone else while this change was being prepared (it was at revision {expected}, it is now at {now}); nothing was written. Reload it and make your change again"
        ),
        None => format!(
            "credential '{name}' was deleted by someone else while this change was being prepared; nothing was written"
        ),
    }
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
        use rusqlite::ErrorCode as C;
        match e.sqlite_error_code() {
            // The failed statement is undone and our open transaction is
            // rolled back when it is dropped: nothing half-written.
            Some(C::DiskFull) => Error::DiskFull,
            // `busy_timeout` has already waited (store::BUSY_TIMEOUT_MS).
            Some(C::DatabaseBusy) | Some(C::DatabaseLocked) => Error::Busy {
                seconds: crate::store::BUSY_TIMEOUT_MS / 1000,
            },
            Some(C::DatabaseCorrupt) | Some(C::NotADatabase) => Error::DatabaseDamaged { detail: e.to_string() },
            // SQLite names the failed call in its extended code, not the
            // errno; a full disk shows here when the shared-memory file
            // cannot grow, even for a read.
            Some(C::SystemIoFailure) => Error::DiskIo { detail: e.to_string() },
            // SQLite messages name tables and constraints, never bound
            // values, so they cannot carry a secret.
            _ => Error::Database(e.to_string()),
        }
    }
}

impl From<rusqlite_migration::Error> for Error {
    fn from(e: rusqlite_migration::Error) -> Self {
        Error::Database(format!("migration failed: {e}"))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
