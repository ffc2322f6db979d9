//! Errors as the UI receives them: `{ code, message }`. The code is what the
//! UI branches on; the message is the core's, which never carries a secret.

use keywarden_core::{Error, ErrorKind, Hint};
use serde::Serialize;
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// No vault exists yet: show the first-run screen.
    NoVault,
    /// The vault is locked: show the lock screen.
    Locked,
    /// No OS keychain: offer the passphrase vault.
    KeychainUnavailable,
    /// The OS keychain is locked: explain how to unlock it.
    KeychainLocked,
    /// The keychain item is gone: offer recovery with the code.
    KeychainItemMissing,
    /// Wrong passphrase, recovery code, or keychain key.
    WrongKey,
    NotFound,
    /// A name is taken, a vault exists, or something depends on it.
    Conflict,
    InvalidInput,
    /// Disabled, needs re-entry, rejected by validation, or forbidden by policy.
    Refused,
    /// Damaged data, failed decryption or a broken audit chain.
    Damaged,
    /// The credential changed since the form was filled: reload it.
    Stale,
    /// The disk holding the vault is full or failing; nothing was written.
    DiskFull,
    /// Another program kept the vault's write lock too long; try again.
    Busy,
    /// Team vault: the member's role does not allow it (OpenBao refused).
    NotAllowed,
    /// Team vault: not signed in, or the sign-in ended.
    SignedOut,
    /// Team vault: no node of the cluster answers; read-only.
    Offline,
    Internal,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct IpcError {
    pub code: ErrorCode,
    pub message: String,
}

pub type IpcResult<T> = Result<T, IpcError>;

impl IpcError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> IpcError {
        IpcError {
            code,
            message: message.into(),
        }
    }

    pub fn locked() -> IpcError {
        IpcError::new(ErrorCode::Locked, "the vault is locked; unlock it to continue")
    }
}

/// The IPC code of each kind of error. Exhaustive: a new kind does not
/// compile until the window says what it means.
fn code_of(kind: ErrorKind) -> ErrorCode {
    match kind {
        ErrorKind::NoVault => ErrorCode::NoVault,
        ErrorKind::KeychainUnavailable => ErrorCode::KeychainUnavailable,
        ErrorKind::KeychainLocked => ErrorCode::KeychainLocked,
        ErrorKind::KeychainItemMissing => ErrorCode::KeychainItemMissing,
        ErrorKind::WrongKey => ErrorCode::WrongKey,
        ErrorKind::NotFound => ErrorCode::NotFound,
        ErrorKind::Duplicate | ErrorKind::VaultExists | ErrorKind::InUse => ErrorCode::Conflict,
        ErrorKind::InvalidInput | ErrorKind::Misconfigured => ErrorCode::InvalidInput,
        ErrorKind::Refused | ErrorKind::ForbiddenByPolicy => ErrorCode::Refused,
        ErrorKind::Damaged | ErrorKind::AuditBroken => ErrorCode::Damaged,
        ErrorKind::Stale => ErrorCode::Stale,
        ErrorKind::DiskFull => ErrorCode::DiskFull,
        ErrorKind::Busy => ErrorCode::Busy,
        ErrorKind::NotAllowed => ErrorCode::NotAllowed,
        ErrorKind::SignedOut => ErrorCode::SignedOut,
        ErrorKind::Offline => ErrorCode::Offline,
        ErrorKind::KeychainFailed | ErrorKind::Internal => ErrorCode::Internal,
    }
}

/// The next step as the window offers it: a button, not a command. Accepting
/// an older copy of a vault has no button; it stays a deliberate step in a
/// terminal.
fn hint_words(hint: Hint) -> &'static str {
    match hint {
        Hint::RecoverWithCode => "use \"Recover with code\" on the unlock screen",
        Hint::CreateVault => "create one on the first-run screen",
        Hint::OpenOrChooseAnother => "open it",
        Hint::AcceptOlder => {
            "if you put back or kept this copy on purpose, accept it in a terminal with `kw recover --accept-older` \
             (the step is audited; it writes a new rollback anchor)"
        }
        Hint::EnterSecret => "enter it with Update Credentials",
        Hint::TeamSignIn => "sign in under Team vault → Sign in",
        Hint::VerifyTeamAudit => "check the chain in a terminal with `kw team audit --verify`",
    }
}

impl From<Error> for IpcError {
    fn from(e: Error) -> IpcError {
        IpcError::new(code_of(e.kind()), e.say(hint_words))
    }
}

impl From<keywarden_team::TeamError> for IpcError {
    fn from(e: keywarden_team::TeamError) -> IpcError {
        IpcError::new(code_of(e.kind()), e.say(hint_words))
    }
}
