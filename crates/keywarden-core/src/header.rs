//! The vault header (`vault.json` beside `vault.db`): the vault id and the
//! vault key wrapped twice — by the KEK and by the recovery code. It holds
//! no usable key material: both wraps are AES-256-GCM ciphertexts.
//!
//! Key hierarchy (FORMAT.md 3; the derived keys are `crypto::Keyring`):
//! ```text
//! KEK (keychain, or Argon2id(passphrase)) ────────────────────┐
//! recovery code ─HKDF "keywarden/recovery/v1"─> wrapping key ──┴─ wrap ─> vault key
//! vault key ─HKDF─> SQLCipher key · DEK-wrapping key · audit MAC key
//!                 · partner-key hash key · Ed25519 signing seed
//! DEK-wrapping key ─ wrap ─> DEKs (table data_keys) ─ seal ─> sealed values
//! ```

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;
use rand::rngs::OsRng;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::crypto::{self, Kek, VaultKey};
use crate::error::{Error, Result};
use crate::recovery::RecoveryCode;

pub const HEADER_FILE: &str = "vault.json";
pub const DB_FILE: &str = "vault.db";
const FORMAT: u32 = 1;

/// Argon2id cost for passphrase vaults: 64 MiB, 3 passes (OWASP's first
/// recommended setting), about 130 ms here.
const ARGON_M_KIB: u32 = 64 * 1024;
const ARGON_T: u32 = 3;
const ARGON_P: u32 = 1;

/// Where the KEK comes from.
pub enum KeySource {
    /// A random 256-bit KEK in the OS keychain.
    Keychain,
    /// A KEK stretched from a passphrase, for machines with no keychain.
    Passphrase(SecretString),
}

impl KeySource {
    /// How the vault is unlocked, for the audit log: "the keychain" or "a
    /// passphrase" (never the passphrase).
    pub fn describe(&self) -> &'static str {
        match self {
            Self::Keychain => "the keychain",
            Self::Passphrase(_) => "a passphrase",
        }
    }
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Keychain => f.write_str("Keychain"),
            Self::Passphrase(_) => f.write_str("Passphrase(<redacted>)"),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KekSpec {
    Keychain { service: String, account: String },
    Passphrase { salt: String, m_kib: u32, t: u32, p: u32 },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    pub format: u32,
    pub vault_id: Uuid,
    pub created_at: String,
    pub kek: KekSpec,
    pub vault_key_by_kek: String,
    pub vault_key_by_recovery: String,
}

pub fn header_path(dir: &Path) -> PathBuf {
    dir.join(HEADER_FILE)
}

pub fn db_path(dir: &Path) -> PathBuf {
    dir.join(DB_FILE)
}

pub(crate) fn wrap_aad(vault_id: Uuid, by: &str) -> Vec<u8> {
    let mut aad = b"keywarden/vault-key/v1|".to_vec();
    aad.extend_from_slice(vault_id.as_bytes());
    aad.push(b'|');
    aad.extend_from_slice(by.as_bytes());
    aad
}

/// Upper bounds for Argon2 costs read from `vault.json`, which is not
/// authenticated: an edited header must not make us allocate without limit.
const ARGON_MAX_M_KIB: u32 = 1024 * 1024;
const ARGON_MAX_T: u32 = 16;
const ARGON_MAX_P: u32 = 8;

pub fn passphrase_kek(pass: &SecretString, salt: &[u8], m_kib: u32, t: u32, p: u32) -> Result<Kek> {
    if m_kib > ARGON_MAX_M_KIB || t > ARGON_MAX_T || p > ARGON_MAX_P {
        return Err(Error::VaultCorrupt {
            path: PathBuf::from(HEADER_FILE),
            detail: "passphrase parameters out of range".into(),
        });
    }
    let params =
        Params::new(m_kib, t, p, Some(32)).map_err(|e| Error::invalid("passphrase parameters", e.to_string()))?;
    // Argon2's last block and BLAKE2b state pass over the stack.
    let out = crypto::scrubbed(|| {
        let mut out = zeroize::Zeroizing::new(vec![0u8; 32]);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(pass.expose_secret().as_bytes(), salt, &mut out)
            .map(|()| out)
    })
    .map_err(|e| Error::invalid("passphrase", e.to_string()))?;
    Kek::from_slice(&out).map_err(|_| Error::Decryption)
}

impl Header {
    /// A new header for `vault_id`, wrapping `vault_key` for `source`. For a
    /// keychain source the fresh KEK is returned so the caller can store it.
    pub fn new(
        vault_id: Uuid,
        source: &KeySource,
        vault_key: &VaultKey,
        code: &RecoveryCode,
    ) -> Result<(Header, Option<Kek>)> {
        let (kek, spec, fresh) = new_kek(vault_id, source)?;
        let header = Header {
            format: FORMAT,
            vault_id,
            created_at: crate::timefmt::to_db(crate::timefmt::now()),
            kek: spec,
            vault_key_by_kek: hex::encode(kek.wrap(vault_key, &wrap_aad(vault_id, "kek"))?),
            vault_key_by_recovery: hex::encode(code.key().wrap(vault_key, &wrap_aad(vault_id, "recovery"))?),
        };
        Ok((header, fresh.then_some(kek)))
    }

    /// Same vault key and recovery wrap, new KEK (after `recover`).
    pub fn rekeyed(&self, source: &KeySource, vault_key: &VaultKey) -> Result<(Header, Option<Kek>)> {
        let (kek, spec, fresh) = new_kek(self.vault_id, source)?;
        let mut h = self.clone();
        h.kek = spec;
        h.vault_key_by_kek = hex::encode(kek.wrap(vault_key, &wrap_aad(self.vault_id, "kek"))?);
        Ok((h, fresh.then_some(kek)))
    }

    pub fn read(dir: &Path) -> Result<Header> {
        let path = header_path(dir);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::VaultNotFound {
                    path: dir.to_path_buf(),
                });
            }
            Err(e) => return Err(Error::io(&path, e)),
        };
        Header::parse(&text, &path)
    }

    /// `vault.json`'s text (not authenticated: anything may be in it; the
    /// key wraps it holds are, by the vault id).
    pub fn parse(text: &str, path: &Path) -> Result<Header> {
        let h: Header = serde_json::from_str(text).map_err(|e| Error::VaultCorrupt {
            path: path.to_path_buf(),
            detail: format!("unreadable header: {e}"),
        })?;
        if h.format != FORMAT {
            return Err(Error::VaultCorrupt {
                path: path.to_path_buf(),
                detail: format!("unsupported header format {}", h.format),
            });
        }
        Ok(h)
    }

    /// Writes atomically: a temporary file, fsync, rename, fsync the folder.
    pub fn write(&self, dir: &Path) -> Result<()> {
        self.stage(dir)?;
        Self::commit_staged(dir)
    }

    fn staged_path(dir: &Path) -> PathBuf {
        dir.join(format!("{HEADER_FILE}.tmp"))
    }

    /// Writes the header beside the current one, fsynced, not yet in force.
    pub fn stage(&self, dir: &Path) -> Result<()> {
        let tmp = Self::staged_path(dir);
        let text = serde_json::to_string_pretty(self).map_err(|e| Error::Database(e.to_string()))?;
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(|e| Error::io(&tmp, e))?;
        f.write_all(text.as_bytes()).map_err(|e| Error::io(&tmp, e))?;
        f.sync_all().map_err(|e| Error::io(&tmp, e))
    }

    /// Puts the staged header in force with one rename.
    pub fn commit_staged(dir: &Path) -> Result<()> {
        let path = header_path(dir);
        fs::rename(Self::staged_path(dir), &path).map_err(|e| Error::io(&path, e))?;
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    pub fn discard_staged(dir: &Path) {
        let _ = fs::remove_file(Self::staged_path(dir));
    }

    /// The KEK for this header from its source (keychain read or Argon2id).
    pub fn load_kek(&self, passphrase: Option<&SecretString>) -> Result<Kek> {
        match &self.kek {
            KekSpec::Keychain { account, .. } => crate::keychain::load(account),
            KekSpec::Passphrase { salt, m_kib, t, p } => {
                let pass = passphrase
                    .ok_or_else(|| Error::invalid("passphrase", "this vault is opened with a passphrase; enter it"))?;
                let salt = hex::decode(salt).map_err(|_| Error::VaultCorrupt {
                    path: PathBuf::from(HEADER_FILE),
                    detail: "bad salt".into(),
                })?;
                passphrase_kek(pass, &salt, *m_kib, *t, *p)
            }
        }
    }

    pub fn is_passphrase(&self) -> bool {
        matches!(self.kek, KekSpec::Passphrase { .. })
    }

    pub fn unwrap_with_kek(&self, kek: &Kek) -> Result<VaultKey> {
        let blob = hex::decode(&self.vault_key_by_kek).map_err(|_| corrupt_header())?;
        kek.unwrap(&blob, &wrap_aad(self.vault_id, "kek"))
            .map_err(|_| match self.kek {
                KekSpec::Keychain { .. } => Error::WrongKeychainKey {
                    vault_id: self.vault_id.to_string(),
                },
                KekSpec::Passphrase { .. } => Error::WrongPassphrase,
            })
    }

    pub fn unwrap_with_recovery(&self, code: &RecoveryCode) -> Result<VaultKey> {
        let blob = hex::decode(&self.vault_key_by_recovery).map_err(|_| corrupt_header())?;
        code.key()
            .unwrap(&blob, &wrap_aad(self.vault_id, "recovery"))
            .map_err(|_| Error::WrongRecoveryCode)
    }
}

fn corrupt_header() -> Error {
    Error::VaultCorrupt {
        path: PathBuf::from(HEADER_FILE),
        detail: "the key wraps in the header are not hex".into(),
    }
}

fn new_kek(vault_id: Uuid, source: &KeySource) -> Result<(Kek, KekSpec, bool)> {
    Ok(match source {
        KeySource::Keychain => (
            Kek::random(),
            KekSpec::Keychain {
                service: crate::keychain::SERVICE.to_owned(),
                account: vault_id.to_string(),
            },
            true,
        ),
        KeySource::Passphrase(pass) => {
            // Only a new passphrase is held to the length rule; an existing
            // one is simply right or wrong.
            if pass.expose_secret().chars().count() < 12 {
                return Err(Error::invalid("passphrase", "use at least 12 characters"));
            }
            let mut salt = [0u8; 16];
            OsRng.fill_bytes(&mut salt);
            let kek = passphrase_kek(pass, &salt, ARGON_M_KIB, ARGON_T, ARGON_P)?;
            (
                kek,
                KekSpec::Passphrase {
                    salt: hex::encode(salt),
                    m_kib: ARGON_M_KIB,
                    t: ARGON_T,
                    p: ARGON_P,
                },
                false,
            )
        }
    })
}
