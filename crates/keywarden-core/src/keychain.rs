//! The KEK in the OS keychain (Secret Service on Linux, Keychain on macOS,
//! Credential Manager on Windows — chosen by Cargo features per target, so
//! there is never a silent in-memory fallback). Service `keywarden`,
//! account = vault id, value = the KEK in hex.

use crate::crypto::Key256;
use crate::error::{Error, Result};
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
fn is_transient(e: &keyring::Error) -> bool {
    let keyring::Error::PlatformFailure(inner) = e else {
        return false;
    };
    let Some(dbus_secret_service::Error::Dbus(e)) = inner.downcast_ref::<dbus_secret_service::Error>() else {
        return false;
    };
    matches!(
        e.name(),
        Some(
            "org.freedesktop.DBus.Error.NoReply"
                | "org.freedesktop.DBus.Error.ServiceUnknown"
                | "org.freedesktop.DBus.Error.NameHasNoOwner"
                | "org.freedesktop.DBus.Error.Disconnected"
                // The session the call opened belonged to the daemon that died.
                | "org.freedesktop.Secret.Error.NoSession"
        )
    )
}

#[cfg(not(target_os = "linux"))]
fn is_transient(_: &keyring::Error) -> bool {
    false
}

/// Runs one keychain call, again after each pause while it fails with a
/// transient error.
fn with_retry<T>(
    mut call: impl FnMut() -> std::result::Result<T, keyring::Error>,
) -> std::result::Result<T, keyring::Error> {
    let mut pauses = RETRY_PAUSES.iter();
    loop {
        match call() {
            Err(e) if is_transient(&e) => match pauses.next() {
                Some(pause) => std::thread::sleep(*pause),
                None => return Err(e),
            },
            done => return done,
        }
    }
}

pub(crate) fn store(vault_id: &str, kek: &Key256) -> Result<()> {
    let entry = entry(vault_id)?;
    let hex = kek.to_hex();
    with_retry(|| entry.set_password(&hex)).map_err(map_error)
}

pub(crate) fn load(vault_id: &str) -> Result<Key256> {
    let entry = entry(vault_id)?;
    match with_retry(|| entry.get_password()) {
        Ok(text) => {
            let text = zeroize::Zeroizing::new(text);
            Key256::from_hex(&text).map_err(|_| Error::WrongKeychainKey {
                vault_id: vault_id.to_owned(),
            })
        }
        Err(keyring::Error::NoEntry) => Err(Error::KeychainItemMissing {
            vault_id: vault_id.to_owned(),
        }),
        Err(e) => Err(map_error(e)),
    }
}

/// Removes the item; a missing item is not an error.
pub(crate) fn delete(vault_id: &str) -> Result<()> {
    let entry = entry(vault_id)?;
    match with_retry(|| entry.delete_credential()) {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(map_error(e)),
    }
}
