//! The KEK in the OS keychain (Secret Service on Linux, Keychain on macOS,
//! Credential Manager on Windows — chosen by Cargo features per target, so
//! there is never a silent in-memory fallback). Service `keywarden`,
//! account = vault id, value = the KEK in hex.

use crate::crypto::Kek;
use crate::error::{Error, Result};
use secrecy::{ExposeSecret, SecretString};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub const SERVICE: &str = "keywarden";

fn entry(vault_id: &str) -> Result<keyring::Entry> {
    keyring::Entry::new(SERVICE, vault_id).map_err(map_error)
}

/// Keyring errors by variant: no bus or no provider is "unavailable";
/// locked or needing a prompt is "locked". One exception needs the text:
/// creating an item in a locked collection comes back from the Secret
/// Service as a plain D-Bus error (org.freedesktop.Secret.Error.IsLocked),
/// which keyring passes on as a PlatformFailure.
fn map_error(e: keyring::Error) -> Error {
    match e {
        keyring::Error::PlatformFailure(inner) if inner.to_string().contains("locked collection") => {
            Error::KeychainLocked
        }
        keyring::Error::PlatformFailure(inner) => Error::KeychainUnavailable {
            detail: inner.to_string(),
        },
        keyring::Error::NoStorageAccess(_) => Error::KeychainLocked,
        other => Error::Keychain {
            detail: other.to_string(),
        },
    }
}

/// The pauses before each retry of a call that met a Secret Service
/// which had just gone away (see `is_transient`): 0.6 s in all, short
/// enough that a machine with no keychain at all still answers within a
/// second.
const RETRY_PAUSES: [Duration; 2] = [Duration::from_millis(100), Duration::from_millis(500)];

/// A Secret Service provider that dies mid-call answers `NoReply`; while
/// it is gone and before the bus has activated a new one, `ServiceUnknown`
/// or `NameHasNoOwner`; a call that opened its session with the old
/// daemon and goes on with the new one, `NoSession`. gnome-keyring 42 aborts now and then when clients
/// come and go quickly (GLib "assertion 'client' failed", upstream), and
/// the session bus starts it again on the next call — so these are worth
/// one more try, and every keychain call here is idempotent (a read, a
/// replace, a delete that ignores a missing item).
#[cfg(target_os = "linux")]
const TRANSIENT_DBUS_ERRORS: [&str; 5] = [
    "org.freedesktop.DBus.Error.NoReply",
    "org.freedesktop.DBus.Error.ServiceUnknown",
    "org.freedesktop.DBus.Error.NameHasNoOwner",
    "org.freedesktop.DBus.Error.Disconnected",
    // The session the call opened belonged to the daemon that died.
    "org.freedesktop.Secret.Error.NoSession",
];

#[cfg(target_os = "linux")]
fn is_transient(e: &keyring::Error) -> bool {
    let keyring::Error::PlatformFailure(inner) = e else {
        return false;
    };
    let Some(dbus_secret_service::Error::Dbus(e)) = inner.downcast_ref::<dbus_secret_service::Error>() else {
        return false;
    };
    e.name().is_some_and(|n| TRANSIENT_DBUS_ERRORS.contains(&n))
}

#[cfg(not(target_os = "linux"))]
fn is_transient(_: &keyring::Error) -> bool {
    false
}

/// Runs one keychain call, again after each pause while it fails with a
/// transient error.
fn with_retry<T>(
    call: impl FnMut() -> std::result::Result<T, keyring::Error>,
) -> std::result::Result<T, keyring::Error> {
    retry(is_transient, call)
}

fn retry<T, E>(
    transient: fn(&E) -> bool,
    mut call: impl FnMut() -> std::result::Result<T, E>,
) -> std::result::Result<T, E> {
    let mut pauses = RETRY_PAUSES.iter();
    loop {
        match call() {
            Err(e) if transient(&e) => match pauses.next() {
                Some(pause) => std::thread::sleep(*pause),
                None => return Err(e),
            },
            done => return done,
        }
    }
}

/// Whether the KEK travels to and from the Secret Service in an encrypted
/// session (Linux). In a plain session it crosses the bus, and lies in
/// libdbus's freed C buffers afterwards, as hex: no allocator of ours can
/// wipe those, so a process that outlives its use of the KEK (the app after
/// lock, `kw run` while its child runs, `kw serve`) must encrypt. The DH
/// handshake costs about 8 ms per process (BENCHMARKS.md), so one-shot
/// `kw` commands, which exit at once, choose plain.
static ENCRYPTED_TRANSPORT: AtomicBool = AtomicBool::new(true);

/// Writes the KEK. The Secret Service session's own crypto (DH, AES-CBC)
/// handles it on the stack, which is scrubbed after.
pub(crate) fn store(vault_id: &str, kek: &Kek) -> Result<()> {
    crate::crypto::scrubbed(|| store_unscrubbed(vault_id, kek))
}

/// Reads the KEK, scrubbing the stack the session's crypto used.
pub(crate) fn load(vault_id: &str) -> Result<Kek> {
    crate::crypto::scrubbed(|| load_unscrubbed(vault_id))
}

/// For a process that exits right after its command: no DH handshake.
pub fn use_plain_transport() {
    ENCRYPTED_TRANSPORT.store(false, Ordering::Relaxed);
}

#[cfg(target_os = "linux")]
fn store_unscrubbed(vault_id: &str, kek: &Kek) -> Result<()> {
    let hex = kek.to_hex();
    retry(secret_service::is_transient, || {
        secret_service::store(
            vault_id,
            hex.as_bytes(),
            &format!("Keywarden vault {vault_id}"),
            Carries::Secret,
        )
    })
    .map_err(secret_service::map_error)
}

#[cfg(not(target_os = "linux"))]
fn store_unscrubbed(vault_id: &str, kek: &Kek) -> Result<()> {
    let entry = entry(vault_id)?;
    let hex = kek.to_hex();
    with_retry(|| entry.set_password(&hex)).map_err(map_error)
}

#[cfg(target_os = "linux")]
fn load_unscrubbed(vault_id: &str) -> Result<Kek> {
    match retry(secret_service::is_transient, || {
        secret_service::load(vault_id, Carries::Secret)
    }) {
        Ok(Some(bytes)) => std::str::from_utf8(&bytes)
            .ok()
            .and_then(|text| Kek::from_hex(text).ok())
            .ok_or_else(|| Error::WrongKeychainKey {
                vault_id: vault_id.to_owned(),
            }),
        Ok(None) => Err(Error::KeychainItemMissing {
            vault_id: vault_id.to_owned(),
        }),
        Err(e) => Err(secret_service::map_error(e)),
    }
}

#[cfg(not(target_os = "linux"))]
fn load_unscrubbed(vault_id: &str) -> Result<Kek> {
    let entry = entry(vault_id)?;
    match with_retry(|| entry.get_password()) {
        Ok(text) => {
            let text = zeroize::Zeroizing::new(text);
            Kek::from_hex(&text).map_err(|_| Error::WrongKeychainKey {
                vault_id: vault_id.to_owned(),
            })
        }
        Err(keyring::Error::NoEntry) => Err(Error::KeychainItemMissing {
            vault_id: vault_id.to_owned(),
        }),
        Err(e) => Err(map_error(e)),
    }
}

/// The keychain account of a team vault's sign-in token: one per team
/// (mount) and cluster, beside the vaults' KEKs under the same service.
pub fn team_account(mount: &str, first_node: &str) -> String {
    format!("team:{mount}@{first_node}")
}

/// Keeps a team vault's OpenBao token in the keychain, so `kw team` and
/// the app stay signed in without the token ever touching a file.
#[cfg(target_os = "linux")]
pub fn store_team_token(account: &str, token: &SecretString) -> Result<()> {
    retry(secret_service::is_transient, || {
        secret_service::store(
            account,
            token.expose_secret().as_bytes(),
            &format!("Keywarden team sign-in {account}"),
            Carries::Secret,
        )
    })
    .map_err(secret_service::map_error)
}

#[cfg(not(target_os = "linux"))]
pub fn store_team_token(account: &str, token: &SecretString) -> Result<()> {
    let entry = entry(account)?;
    with_retry(|| entry.set_password(token.expose_secret())).map_err(map_error)
}

/// The team token kept for `account`, if any.
#[cfg(target_os = "linux")]
pub fn load_team_token(account: &str) -> Result<Option<SecretString>> {
    match retry(secret_service::is_transient, || {
        secret_service::load(account, Carries::Secret)
    }) {
        Ok(Some(bytes)) => Ok(std::str::from_utf8(&bytes)
            .ok()
            .map(|t| SecretString::from(t.to_owned()))),
        Ok(None) => Ok(None),
        Err(e) => Err(secret_service::map_error(e)),
    }
}

#[cfg(not(target_os = "linux"))]
pub fn load_team_token(account: &str) -> Result<Option<SecretString>> {
    let entry = entry(account)?;
    match with_retry(|| entry.get_password()) {
        Ok(t) => Ok(Some(SecretString::from(t))),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(map_error(e)),
    }
}

/// The keychain account of a vault's rollback anchor (anchor.rs): beside
/// its KEK, outside the vault's folder, so putting back an older copy of
/// the folder does not put back an older anchor.
fn anchor_account(vault_id: &str) -> String {
    format!("anchor:{vault_id}")
}

/// Writes a vault's rollback anchor (not secret: a sequence number and a
/// MAC of the audit chain).
#[cfg(target_os = "linux")]
pub(crate) fn store_anchor(vault_id: &str, text: &str) -> Result<()> {
    let account = anchor_account(vault_id);
    retry(secret_service::is_transient, || {
        secret_service::store(
            &account,
            text.as_bytes(),
            &format!("Keywarden vault {vault_id} rollback anchor"),
            Carries::Public,
        )
    })
    .map_err(secret_service::map_error)
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn store_anchor(vault_id: &str, text: &str) -> Result<()> {
    let entry = entry(&anchor_account(vault_id))?;
    with_retry(|| entry.set_password(text)).map_err(map_error)
}

/// A vault's rollback anchor, if one was ever written.
#[cfg(target_os = "linux")]
pub(crate) fn load_anchor(vault_id: &str) -> Result<Option<String>> {
    let account = anchor_account(vault_id);
    match retry(secret_service::is_transient, || {
        secret_service::load(&account, Carries::Public)
    }) {
        Ok(Some(bytes)) => Ok(std::str::from_utf8(&bytes).ok().map(str::to_owned)),
        Ok(None) => Ok(None),
        Err(e) => Err(secret_service::map_error(e)),
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn load_anchor(vault_id: &str) -> Result<Option<String>> {
    let entry = entry(&anchor_account(vault_id))?;
    match with_retry(|| entry.get_password()) {
        Ok(t) => Ok(Some(t)),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(map_error(e)),
    }
}

/// Forgets the team token (after sign-out revoked it at OpenBao).
pub fn delete_team_token(account: &str) -> Result<()> {
    delete(account)
}

/// The Secret Service spoken to directly (keyring fixes the session type
/// at compile time; we choose it per process). Items are keyring's own:
/// found by `service` and `username`, created with keyring's `target`,
/// so vaults made before this change, and `delete` (still through
/// keyring), see the same item.
#[cfg(target_os = "linux")]
use secret_service::Carries;

#[cfg(target_os = "linux")]
mod secret_service {
    use std::collections::HashMap;
    use std::sync::atomic::Ordering;

    use dbus_secret_service::{EncryptionType, Error as SsError, SecretService};
    use zeroize::Zeroizing;

    use super::{ENCRYPTED_TRANSPORT, SERVICE};
    use crate::error::Error;

    /// What crosses the bus: a secret (a KEK, a token), in the session the
    /// process chose; or a public value (the rollback anchor: a sequence
    /// number and a MAC nobody can forge without the vault's keys), always
    /// in a plain session, which saves the DH handshake (about 8 ms) that
    /// every audited commit's anchor write would otherwise pay.
    #[derive(Clone, Copy)]
    pub(super) enum Carries {
        Secret,
        Public,
    }

    fn with_session<T>(carries: Carries, f: impl FnOnce(&SecretService) -> Result<T, SsError>) -> Result<T, SsError> {
        let encryption = match carries {
            Carries::Secret if ENCRYPTED_TRANSPORT.load(Ordering::Relaxed) => EncryptionType::Dh,
            Carries::Secret | Carries::Public => EncryptionType::Plain,
        };
        f(&SecretService::connect(encryption)?)
    }

    fn search(vault_id: &str) -> HashMap<&str, &str> {
        HashMap::from([("service", SERVICE), ("username", vault_id)])
    }

    pub(super) fn load(vault_id: &str, carries: Carries) -> Result<Option<Zeroizing<Vec<u8>>>, SsError> {
        with_session(carries, |ss| load_in(ss, vault_id))
    }

    fn load_in(ss: &SecretService, vault_id: &str) -> Result<Option<Zeroizing<Vec<u8>>>, SsError> {
        let found = ss.search_items(search(vault_id))?;
        let item = match (found.unlocked.first(), found.locked.first()) {
            (Some(item), _) => item,
            (None, Some(item)) => {
                item.unlock()?;
                item
            }
            (None, None) => return Ok(None),
        };
        Ok(Some(Zeroizing::new(item.get_secret()?)))
    }

    pub(super) fn store(vault_id: &str, secret: &[u8], label: &str, carries: Carries) -> Result<(), SsError> {
        with_session(carries, |ss| store_in(ss, vault_id, secret, label))
    }

    fn store_in(ss: &SecretService, vault_id: &str, secret: &[u8], label: &str) -> Result<(), SsError> {
        let found = ss.search_items(search(vault_id))?;
        if let Some(item) = found.unlocked.first().or(found.locked.first()) {
            item.ensure_unlocked()?;
            return item.set_secret(secret, "text/plain");
        }
        let collection = ss.get_default_collection()?;
        collection.ensure_unlocked()?;
        let attributes = HashMap::from([
            ("service", SERVICE),
            ("username", vault_id),
            ("target", "default"),
            ("application", "rust-keyring"),
        ]);
        collection.create_item(label, attributes, secret, true, "text/plain")?;
        Ok(())
    }

    fn dbus_name(e: &SsError) -> Option<&str> {
        match e {
            SsError::Dbus(e) => e.name(),
            _ => None,
        }
    }

    /// As `super::is_transient`: a provider that died or is restarting.
    pub(super) fn is_transient(e: &SsError) -> bool {
        dbus_name(e).is_some_and(|n| super::TRANSIENT_DBUS_ERRORS.contains(&n))
    }

    /// As `super::map_error` does for keyring: locked or a dismissed prompt
    /// is "locked"; no bus or no provider is "unavailable".
    pub(super) fn map_error(e: SsError) -> Error {
        match &e {
            SsError::Locked | SsError::Prompt | SsError::NoResult => Error::KeychainLocked,
            _ if dbus_name(&e) == Some("org.freedesktop.Secret.Error.IsLocked") => Error::KeychainLocked,
            SsError::Dbus(_) | SsError::Unavailable => Error::KeychainUnavailable { detail: e.to_string() },
            _ => Error::Keychain { detail: e.to_string() },
        }
    }
}

/// Test support: writes `text` as the vault's keychain item, as a damaged
/// keychain or another program's mistake would leave it.
#[cfg(any(test, feature = "test-support"))]
#[doc(hidden)]
pub fn overwrite_for_tests(vault_id: &str, text: &str) -> Result<()> {
    entry(vault_id)?.set_password(text).map_err(map_error)
}

/// Test support: the item's text as the keychain holds it, if any.
#[cfg(any(test, feature = "test-support"))]
#[doc(hidden)]
pub fn read_for_tests(vault_id: &str) -> Option<String> {
    entry(vault_id).ok()?.get_password().ok()
}

/// Removes the item; a missing item is not an error.
pub(crate) fn delete(vault_id: &str) -> Result<()> {
    let entry = entry(vault_id)?;
    match with_retry(|| entry.delete_credential()) {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(map_error(e)),
    }
}
