//! Errors on their way to the terminal: each core and team error kind has
//! its exit code (README "Exit codes"), each hint its `kw` wording.

use keywarden_core::{Error, ErrorKind, Hint};

/// An error on its way to the terminal, with its exit code.
#[derive(Debug)]
pub struct CliError {
    pub(crate) code: u8,
    pub(crate) message: String,
}

impl CliError {
    pub(crate) fn new(code: u8, message: impl Into<String>) -> Self {
        CliError {
            code,
            message: message.into(),
        }
    }

    pub fn io(what: &str, e: std::io::Error) -> Self {
        CliError::new(1, format!("{what}: {e}"))
    }
}

/// Exit codes (README "Exit codes"), one per kind of error. Exhaustive: a
/// new kind does not compile until it has its code here.
pub(crate) fn exit_code_of(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Internal | ErrorKind::Misconfigured => 1,
        ErrorKind::NotFound | ErrorKind::NoVault => 3,
        ErrorKind::Duplicate | ErrorKind::InUse | ErrorKind::VaultExists => 4,
        ErrorKind::InvalidInput => 5,
        ErrorKind::KeychainUnavailable
        | ErrorKind::KeychainLocked
        | ErrorKind::KeychainItemMissing
        | ErrorKind::KeychainFailed => 6,
        ErrorKind::WrongKey => 7,
        ErrorKind::Refused => 8,
        ErrorKind::AuditBroken => 9,
        ErrorKind::Damaged => 10,
        ErrorKind::ForbiddenByPolicy => 11,
        ErrorKind::Stale => 12,
        ErrorKind::DiskFull => 13,
        ErrorKind::Busy => 14,
        ErrorKind::NotAllowed | ErrorKind::SignedOut => EXIT_NOT_ALLOWED,
        ErrorKind::Offline => EXIT_OFFLINE,
    }
}

/// Exit codes of team commands beyond the shared ones (README).
pub(crate) const EXIT_NOT_ALLOWED: u8 = 15;
pub(crate) const EXIT_OFFLINE: u8 = 16;

/// The next step as a `kw` command.
pub(crate) fn hint_words(hint: Hint) -> &'static str {
    match hint {
        Hint::RecoverWithCode => "run `kw recover` with the recovery code",
        Hint::CreateVault => "create one with `kw init`",
        Hint::OpenOrChooseAnother => "open it, or choose another --vault path",
        Hint::AcceptOlder => {
            "if you put back or kept this copy on purpose, accept it with `kw recover --accept-older` (the step is \
             audited; it writes a new rollback anchor)"
        }
        Hint::EnterSecret => "enter it with `kw credential rotate`",
        Hint::TeamSignIn => "sign in with `kw team login`",
        Hint::VerifyTeamAudit => "check the chain with `kw team audit --verify`",
    }
}

/// A broker's refusal (`{"message", "hint"}`), its hint in `kw`'s words.
pub(crate) fn answered(v: &serde_json::Value) -> String {
    let message = v["message"].as_str().unwrap_or("no reason given").to_owned();
    let hint = v["hint"].as_str().and_then(Hint::from_name);
    keywarden_core::error::with_hint(message, hint, hint_words)
}

impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        CliError::new(exit_code_of(e.kind()), e.say(hint_words))
    }
}

pub(crate) type CliResult<T = ()> = Result<T, CliError>;

impl From<keywarden_team::TeamError> for CliError {
    fn from(e: keywarden_team::TeamError) -> Self {
        CliError::new(exit_code_of(e.kind()), e.say(hint_words))
    }
}
