//! Errors as the UI receives them: `{ code, message }`. The code is what the
//! UI branches on; the message is the core's, which never carries a secret.

use keywarden_core::Error;
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

impl From<Error> for IpcError {
    fn from(e: Error) -> IpcError {
        let code = match &e {
            Error::VaultNotFound { .. } => ErrorCode::NoVault,
            Error::KeychainUnavailable { .. } => ErrorCode::KeychainUnavailable,
            Error::KeychainLocked => ErrorCode::KeychainLocked,
            Error::KeychainItemMissing { .. } => ErrorCode::KeychainItemMissing,
            Error::WrongKeychainKey { .. } | Error::WrongPassphrase | Error::WrongRecoveryCode => ErrorCode::WrongKey,
            Error::NotFound { .. } => ErrorCode::NotFound,
            Error::Duplicate { .. } | Error::VaultExists { .. } | Error::HasDependents { .. } => ErrorCode::Conflict,
            Error::InvalidInput { .. } | Error::ImportFile { .. } => ErrorCode::InvalidInput,
            Error::CredentialDisabled { .. }
            | Error::NeedsReentry { .. }
            | Error::ValidationRejected { .. }
            | Error::ManagedByPolicy { .. } => ErrorCode::Refused,
            Error::VaultCorrupt { .. }
            | Error::DatabaseDamaged { .. }
            | Error::Decryption
            | Error::Audit(_)
            | Error::RolledBack { .. }
            | Error::Forked { .. }
            | Error::AnchorMissing { .. }
            | Error::AnchorUnreadable { .. } => ErrorCode::Damaged,
            Error::Conflict { .. } => ErrorCode::Stale,
            Error::DiskFull | Error::DiskIo { .. } => ErrorCode::DiskFull,
            Error::Busy { .. } => ErrorCode::Busy,
            _ => ErrorCode::Internal,
        };
        IpcError::new(code, desktop_wording(e.to_string()))
    }
}

impl From<keywarden_team::TeamError> for IpcError {
    fn from(e: keywarden_team::TeamError) -> IpcError {
        use keywarden_team::{BaoError, TeamError};
        let code = match e {
            // Validation refused, bad input, keychain trouble: the core's codes.
            TeamError::Core(inner) => return IpcError::from(inner),
            ref other => match other {
                TeamError::Bao(BaoError::Unreachable { .. }) | TeamError::Offline => ErrorCode::Offline,
                TeamError::Bao(BaoError::Forbidden { .. }) | TeamError::NotAllowed { .. } => ErrorCode::NotAllowed,
                TeamError::SignedOut => ErrorCode::SignedOut,
                TeamError::NotFound { .. } => ErrorCode::NotFound,
                TeamError::Duplicate { .. } => ErrorCode::Conflict,
                TeamError::Invalid { .. } | TeamError::Bao(BaoError::Config(_)) => ErrorCode::InvalidInput,
                TeamError::Conflict { .. } => ErrorCode::Stale,
                TeamError::AuditBroken { .. } | TeamError::NotRecorded { .. } => ErrorCode::Damaged,
                _ => ErrorCode::Internal,
            },
        };
        IpcError::new(code, e.to_string().replace("(kw team login)", "(Team vault → Sign in)"))
    }
}

/// Core messages point CLI users at `kw` commands; in the window the same
/// actions are buttons.
fn desktop_wording(message: String) -> String {
    message
        .replace(
            "run `kw recover` with the recovery code",
            "use \"Recover with code\" on the unlock screen",
        )
        .replace("create one with `kw init`", "create one on the first-run screen")
        .replace(
            "enter it with `kw credential rotate`",
            "enter it with Update Credentials",
        )
        .replace(", or choose another --vault path", "")
}
