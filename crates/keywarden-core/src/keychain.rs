//! The KEK in the OS keychain (Secret Service on Linux, Keychain on macOS,
//! Credential Manager on Windows — chosen by Cargo features per target, so
//! there is never a silent in-memory fallback). Service `keywarden`,
//! account = vault id, value = the KEK in hex.

use crate::crypto::Key256;
use crate::error::{Error, Result};

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

pub(crate) fn store(vault_id: &str, kek: &Key256) -> Result<()> {
    entry(vault_id)?.set_password(&kek.to_hex()).map_err(map_error)
}

pub(crate) fn load(vault_id: &str) -> Result<Key256> {
    match entry(vault_id)?.get_password() {
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
    match entry(vault_id)?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(map_error(e)),
    }
}
