//! The core's error type. No message ever carries a secret.

use std::path::PathBuf;

/// Everything that can go wrong in the vault. Messages say what was wrong
/// and never contain secret material. What to do is in the message where
/// every shell does it the same way; where the step is a command in `kw`
/// but a button in the app, it is a [`Hint`] that each shell words.
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

    #[error("the keychain has no key for vault {vault_id}: the keychain item was lost or removed")]
    KeychainItemMissing { vault_id: String },

    #[error("the OS keychain failed: {detail}")]
    Keychain { detail: String },

    #[error("the key in the keychain does not open vault {vault_id}")]
    WrongKeychainKey { vault_id: String },

    #[error("wrong passphrase for this vault")]
    WrongPassphrase,

    #[error("the recovery code is wrong for this vault; check it and try again (letters and digits, dashes optional)")]
    WrongRecoveryCode,

    #[error("no vault at {}", path.display())]
    VaultNotFound { path: PathBuf },

    #[error("a vault already exists at {}", path.display())]
    VaultExists { path: PathBuf },

    #[error("the vault at {} is damaged: {detail}", path.display())]
    VaultCorrupt { path: PathBuf, detail: String },

    /// The database is older than its rollback anchor (anchor.rs).
    #[error(
        "this vault's database is older than the last change recorded for it: its audit log ends at event \
         {database}, but event {anchor} had been written. An older copy of vault.db was put back, so nothing was \
         opened or changed"
    )]
    RolledBack { database: i64, anchor: i64 },

    #[error("audit log verification FAILED at event {seq}: {detail}. Nothing was opened or changed")]
    Forked { seq: i64, detail: String },

    #[error(
        "this vault's rollback anchor ({place}) is gone, though it was set up: whoever removed it could put back an \
         older copy of vault.db unnoticed. Nothing was opened or changed"
    )]
    AnchorMissing { place: String },

    #[error("this vault's rollback anchor ({place}) is not one Keywarden wrote. Nothing was opened or changed")]
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

    #[error("credential '{name}' has no secret yet (imported without secrets)")]
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

/// What kind of failure an error is: the one thing the shells branch on.
/// Each shell maps every kind to its exit code or IPC code with an
/// exhaustive match, so a new kind does not compile until both say what it
/// means. Not `non_exhaustive` on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// No vault at the path: offer to create one.
    NoVault,
    /// A vault already exists where one was to be created.
    VaultExists,
    NotFound,
    /// A name is taken.
    Duplicate,
    /// Something else depends on it.
    InUse,
    InvalidInput,
    KeychainUnavailable,
    KeychainLocked,
    KeychainItemMissing,
    /// The keychain answered with an error of its own.
    KeychainFailed,
    /// Wrong passphrase, recovery code or keychain key.
    WrongKey,
    /// The credential cannot be used or saved as it is: disabled, without a
    /// secret yet, or refused by the live check.
    Refused,
    /// The organisation's policy forbids it.
    ForbiddenByPolicy,
    /// The audit chain does not verify.
    AuditBroken,
    /// Damaged, rolled back or undecryptable data.
    Damaged,
    /// Changed by someone else since it was read.
    Stale,
    /// The disk is full or failing; nothing was written.
    DiskFull,
    /// Another program held the vault's lock too long.
    Busy,
    /// Team vault: the member's role does not allow it.
    NotAllowed,
    /// Team vault: not signed in, or the sign-in ended.
    SignedOut,
    /// Team vault: no node answers.
    Offline,
    /// Team vault: its configuration cannot be used.
    Misconfigured,
    /// A file or database failure with no better name.
    Internal,
}

/// A next step that is a command in `kw` and a button in the app. The core
/// names the step; each shell words it (`kw`'s `error.rs`, the app's
/// `error.rs`) and adds it to the message after "; ".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    /// The vault key is lost to this keychain: recover with the code.
    RecoverWithCode,
    /// No vault yet: create one.
    CreateVault,
    /// A vault is already there: open it or use another place.
    OpenOrChooseAnother,
    /// An older or other copy of the vault is refused: accepting it is an
    /// audited step.
    AcceptOlder,
    /// An imported credential has no secret yet: enter one.
    EnterSecret,
    /// A team command without a sign-in.
    TeamSignIn,
    /// A team change whose audit event may be missing.
    VerifyTeamAudit,
}

impl Hint {
    const ALL: [Hint; 7] = [
        Hint::RecoverWithCode,
        Hint::CreateVault,
        Hint::OpenOrChooseAnother,
        Hint::AcceptOlder,
        Hint::EnterSecret,
        Hint::TeamSignIn,
        Hint::VerifyTeamAudit,
    ];

    /// A stable name, for answers that cross a process boundary (the
    /// brokers' JSON): the program that shows it words it.
    pub fn name(self) -> &'static str {
        match self {
            Hint::RecoverWithCode => "recover_with_code",
            Hint::CreateVault => "create_vault",
            Hint::OpenOrChooseAnother => "open_or_choose_another",
            Hint::AcceptOlder => "accept_older",
            Hint::EnterSecret => "enter_secret",
            Hint::TeamSignIn => "team_sign_in",
            Hint::VerifyTeamAudit => "verify_team_audit",
        }
    }

    pub fn from_name(name: &str) -> Option<Hint> {
        Hint::ALL.into_iter().find(|h| h.name() == name)
    }
}

impl Error {
    /// The kind of this error. Exhaustive: a new variant does not compile
    /// until it has a kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::KeychainUnavailable { .. } => ErrorKind::KeychainUnavailable,
            Error::KeychainLocked => ErrorKind::KeychainLocked,
            Error::KeychainItemMissing { .. } => ErrorKind::KeychainItemMissing,
            Error::Keychain { .. } => ErrorKind::KeychainFailed,
            Error::WrongKeychainKey { .. } | Error::WrongPassphrase | Error::WrongRecoveryCode => ErrorKind::WrongKey,
            Error::VaultNotFound { .. } => ErrorKind::NoVault,
            Error::VaultExists { .. } => ErrorKind::VaultExists,
            Error::VaultCorrupt { .. }
            | Error::DatabaseDamaged { .. }
            | Error::Decryption
            | Error::RolledBack { .. }
            | Error::AnchorMissing { .. }
            | Error::AnchorUnreadable { .. } => ErrorKind::Damaged,
            Error::Forked { .. } | Error::Audit(_) => ErrorKind::AuditBroken,
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::Duplicate { .. } => ErrorKind::Duplicate,
            Error::HasDependents { .. } => ErrorKind::InUse,
            Error::InvalidInput { .. } | Error::ImportFile { .. } => ErrorKind::InvalidInput,
            Error::CredentialDisabled { .. } | Error::NeedsReentry { .. } | Error::ValidationRejected { .. } => {
                ErrorKind::Refused
            }
            Error::ManagedByPolicy { .. } => ErrorKind::ForbiddenByPolicy,
            Error::Conflict { .. } => ErrorKind::Stale,
            Error::DiskFull | Error::DiskIo { .. } => ErrorKind::DiskFull,
            Error::Busy { .. } => ErrorKind::Busy,
            Error::Io { .. } | Error::Database(_) => ErrorKind::Internal,
        }
    }

    /// The next step, where it is a command in one shell and a button in
    /// the other.
    pub fn hint(&self) -> Option<Hint> {
        match self {
            Error::KeychainItemMissing { .. } | Error::WrongKeychainKey { .. } => Some(Hint::RecoverWithCode),
            Error::VaultNotFound { .. } => Some(Hint::CreateVault),
            Error::VaultExists { .. } => Some(Hint::OpenOrChooseAnother),
            Error::RolledBack { .. }
            | Error::Forked { .. }
            | Error::AnchorMissing { .. }
            | Error::AnchorUnreadable { .. } => Some(Hint::AcceptOlder),
            Error::NeedsReentry { .. } => Some(Hint::EnterSecret),
            Error::KeychainUnavailable { .. }
            | Error::KeychainLocked
            | Error::Keychain { .. }
            | Error::WrongPassphrase
            | Error::WrongRecoveryCode
            | Error::VaultCorrupt { .. }
            | Error::NotFound { .. }
            | Error::Duplicate { .. }
            | Error::InvalidInput { .. }
            | Error::HasDependents { .. }
            | Error::CredentialDisabled { .. }
            | Error::ValidationRejected { .. }
            | Error::Decryption
            | Error::Audit(_)
            | Error::Io { .. }
            | Error::ImportFile { .. }
            | Error::Database(_)
            | Error::ManagedByPolicy { .. }
            | Error::Conflict { .. }
            | Error::DiskFull
            | Error::DiskIo { .. }
            | Error::Busy { .. }
            | Error::DatabaseDamaged { .. } => None,
        }
    }

    /// The message with its hint worded by `word`: what every shell shows.
    pub fn say(&self, word: impl Fn(Hint) -> &'static str) -> String {
        with_hint(self.to_string(), self.hint(), word)
    }
}

/// `message; hint` as a shell words the hint.
pub fn with_hint(message: String, hint: Option<Hint>, word: impl Fn(Hint) -> &'static str) -> String {
    match hint {
        Some(h) => format!("{message}; {}", word(h)),
        None => message,
    }
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

#[cfg(test)]
mod tests {
    use super::Hint;

    /// Each hint's place in `Hint::ALL`. Exhaustive: a new hint does not
    /// compile until it is placed, and the test then fails until `ALL`
    /// holds it.
    fn place(h: Hint) -> usize {
        match h {
            Hint::RecoverWithCode => 0,
            Hint::CreateVault => 1,
            Hint::OpenOrChooseAnother => 2,
            Hint::AcceptOlder => 3,
            Hint::EnterSecret => 4,
            Hint::TeamSignIn => 5,
            Hint::VerifyTeamAudit => 6,
        }
    }

    #[test]
    fn every_hint_crosses_a_process_boundary_by_its_name_and_back() {
        for (i, h) in Hint::ALL.into_iter().enumerate() {
            assert_eq!(place(h), i, "{h:?} is not in its place in Hint::ALL");
            assert_eq!(Hint::from_name(h.name()), Some(h));
        }
        let names: std::collections::BTreeSet<_> = Hint::ALL.into_iter().map(Hint::name).collect();
        assert_eq!(names.len(), Hint::ALL.len(), "two hints share a name");
        assert_eq!(Hint::from_name("run `rm -rf`"), None);
    }
}
