//! What every command starts from: the vault's folder, the output mode,
//! the profile, and how to open the vault with its settings applied.

use std::path::PathBuf;

use keywarden_connectors::{Connectors, Options};
use keywarden_core::{Actor, KeySource, OfflineValidator, Validator, Vault};

use crate::error::{CliError, CliResult};
use crate::input;

pub(crate) fn default_vault_dir() -> CliResult<PathBuf> {
    dirs::data_dir()
        .map(|d| d.join("keywarden").join("vault"))
        .ok_or_else(|| CliError::new(1, "no user data folder on this machine; pass --vault PATH"))
}

pub(crate) struct Ctx {
    pub(crate) dir: PathBuf,
    pub(crate) json: bool,
    pub(crate) profile: Option<String>,
    pub(crate) passphrase_file: Option<PathBuf>,
}

impl Ctx {
    pub(crate) fn open(&self) -> CliResult<Vault> {
        let header = Vault::header(&self.dir)?;
        let source = if header.is_passphrase() {
            KeySource::Passphrase(input::read_passphrase(self.passphrase_file.as_deref(), false)?)
        } else {
            KeySource::Keychain
        };
        let mut vault = Vault::open(&self.dir, &source, Actor::current(self.profile.clone()))?;
        // Failed unlocks noted since (a wrong passphrase) enter the audit
        // log now; nothing is written when there are none. A vault that
        // cannot be written (damaged, for `kw check`) is still opened.
        if let Err(e) = vault.record_failed_unlocks() {
            eprintln!("kw: warning: failed unlocks could not be recorded in the audit log: {e}");
        }
        // A broken policy file becomes a notice and an alert, once per
        // problem (nothing is written after the first time).
        if let Err(e) = vault.note_policy_problem() {
            eprintln!("kw: warning: the broken policy could not be noted: {e}");
        }
        // Tests move time (KEYWARDEN_TEST_NOW, RFC 3339): in test mode only
        // (debug builds), never for a real vault.
        if keywarden_core::test_mode()
            && let Some(t) = std::env::var("KEYWARDEN_TEST_NOW")
                .ok()
                .and_then(|t| time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339).ok())
        {
            vault.set_clock(std::sync::Arc::new(keywarden_core::ManualClock::at(t)));
        }
        // The vault applied its settings (`settings.json`, written by the
        // app); a damaged file is said, never silent: it may hold a shorter
        // expiry warning than the default.
        if let Some(why) = vault.settings_problem() {
            eprintln!("kw: warning: {why}; the default settings apply. Save the settings in the app, or fix the file");
        }
        Ok(vault)
    }
}

/// The live connectors, or only the offline checks. Plain http to
/// loopback (the provider fakes) is allowed only in test mode (debug builds).
pub(crate) fn validator(offline: bool) -> Box<dyn Validator> {
    if offline {
        return Box::new(OfflineValidator);
    }
    Box::new(Connectors::new(Options {
        allow_loopback_http: keywarden_core::test_mode(),
        ..Options::default()
    }))
}

/// Before a long-lived `kw` (serve, run's parent, the team broker) reads
/// a key: no other program of the user may read its memory or dump it.
/// Failing to is said, not fatal: the keys are as safe as before.
pub(crate) fn guard_keys() {
    if let Err(e) = keywarden_core::process::guard_keys(true) {
        eprintln!("kw: warning: could not keep other programs out of this process's memory ({e})");
    }
}
