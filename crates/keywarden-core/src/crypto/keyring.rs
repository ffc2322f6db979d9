//! The keys derived from a vault key, each a type of its own for its one
//! role. A [`Keyring`] holds them; callers hold the keyring or one typed
//! key and ask for an operation (open the database, wrap a data key, MAC
//! the audit chain, hash a partner key, sign). No type here hands out its
//! bytes: they stay inside the crypto module. Above them, the KEK wraps the
//! vault key they are derived from, and data keys seal the secrets.

use ed25519_dalek::{Signer, SigningKey};
use zeroize::Zeroizing;

use super::{CryptoError, Key256, hmac, stack, unwrap_key, wrap_key};

/// The HKDF labels of the vault key's derived keys (FORMAT.md, "Derived
/// keys"). Changing one makes every existing vault unreadable.
const DB_LABEL: &str = "keywarden/sqlcipher/v1";
const DEK_WRAP_LABEL: &str = "keywarden/dek-wrap/v1";
const AUDIT_LABEL: &str = "keywarden/audit-mac/v1";
const PARTNER_HASH_LABEL: &str = "keywarden/partner-key-hash/v1";
const SIGNING_LABEL: &str = "keywarden/ed25519-signing/v1";

/// A key that wraps the vault key: the KEK (kept in the OS keychain, or
/// derived from a passphrase with Argon2id) or the key derived from the
/// recovery code.
#[derive(Debug, PartialEq, Eq)]
pub struct Kek(Key256);

impl Kek {
    pub(crate) fn random() -> Kek {
        Kek(Key256::random())
    }

    /// From derived bytes (Argon2id's output, the recovery code's HKDF).
    pub(crate) fn from_key(key: Key256) -> Kek {
        Kek(key)
    }

    pub(crate) fn from_slice(bytes: &[u8]) -> Result<Kek, CryptoError> {
        Key256::from_slice(bytes).map(Kek)
    }

    /// Lowercase hex: the keychain item's text.
    pub(crate) fn to_hex(&self) -> Zeroizing<String> {
        self.0.to_hex()
    }

    pub(crate) fn from_hex(text: &str) -> Result<Kek, CryptoError> {
        Key256::from_hex(text).map(Kek)
    }

    pub(crate) fn wrap(&self, vault_key: &VaultKey, aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        wrap_key(&self.0, &vault_key.0, aad)
    }

    pub(crate) fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<VaultKey, CryptoError> {
        unwrap_key(&self.0, wrapped, aad).map(VaultKey)
    }

    /// A fixed key: test vectors and fuzzing only.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn from_bytes(bytes: [u8; 32]) -> Kek {
        Kek(Key256::from_bytes(bytes))
    }

    #[cfg(any(test, feature = "test-support"))]
    pub(crate) fn bytes_for_tests(&self) -> Vec<u8> {
        self.0.expose().to_vec()
    }
}

/// The vault key: random, wrapped in `vault.json` by the KEK and by the
/// recovery code; every other key of the vault is derived from it
/// ([`Keyring::derive`]).
#[derive(Debug, PartialEq, Eq)]
pub struct VaultKey(Key256);

impl VaultKey {
    /// A fixed key: test vectors only.
    #[cfg(test)]
    pub(crate) fn from_bytes(bytes: [u8; 32]) -> VaultKey {
        VaultKey(Key256::from_bytes(bytes))
    }

    pub(crate) fn random() -> VaultKey {
        VaultKey(Key256::random())
    }

    #[cfg(any(test, feature = "test-support"))]
    pub(crate) fn bytes_for_tests(&self) -> Vec<u8> {
        self.0.expose().to_vec()
    }
}

/// A data key (DEK): seals secret fields and other sealed values
/// (`sealed.rs`); stored wrapped by the [`DekWrapKey`].
#[derive(Debug, PartialEq, Eq)]
pub struct Dek(Key256);

impl Dek {
    pub(crate) fn random() -> Dek {
        Dek(Key256::random())
    }

    pub(super) fn key(&self) -> &Key256 {
        &self.0
    }

    /// A fixed key: test vectors and fuzzing only.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn from_bytes(bytes: [u8; 32]) -> Dek {
        Dek(Key256::from_bytes(bytes))
    }

    #[cfg(any(test, feature = "test-support"))]
    pub(crate) fn bytes_for_tests(&self) -> Vec<u8> {
        self.0.expose().to_vec()
    }
}

/// SQLCipher's key for the vault database.
#[derive(Debug)]
pub(crate) struct DbKey(Key256);

impl DbKey {
    /// A random key: tests of the store only.
    #[cfg(test)]
    pub(crate) fn random() -> DbKey {
        DbKey(Key256::random())
    }

    /// The `PRAGMA key` statement with the raw key, in memory wiped after.
    pub(crate) fn pragma(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("PRAGMA key = \"x'{}'\";", self.0.to_hex().as_str()))
    }
}

/// Wraps and unwraps the data keys stored in the database.
#[derive(Debug)]
pub(crate) struct DekWrapKey(Key256);

impl DekWrapKey {
    /// A fixed key: test vectors only.
    #[cfg(test)]
    pub(crate) fn from_bytes(bytes: [u8; 32]) -> DekWrapKey {
        DekWrapKey(Key256::from_bytes(bytes))
    }

    pub(crate) fn wrap(&self, dek: &Dek, aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        wrap_key(&self.0, &dek.0, aad)
    }

    pub(crate) fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<Dek, CryptoError> {
        unwrap_key(&self.0, wrapped, aad).map(Dek)
    }
}

/// MACs the audit chain. Derived from the vault key, not a data key, so
/// old events stay verifiable after a data-key rotation destroys the key
/// they were written under.
#[derive(Debug)]
pub(crate) struct AuditMacKey(Key256);

impl AuditMacKey {
    /// A fixed key: test vectors only.
    #[cfg(test)]
    pub(crate) fn from_bytes(bytes: [u8; 32]) -> AuditMacKey {
        AuditMacKey(Key256::from_bytes(bytes))
    }

    pub(crate) fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        hmac(&self.0, parts)
    }
}

/// HMACs a partner key or service-account token for storage: the vault
/// keeps the digest, never the key. Public for the team vault, which keeps
/// its own such key in OpenBao (`random`, `from_hex`, `to_hex`).
#[derive(Debug)]
pub struct PartnerHashKey(Key256);

impl PartnerHashKey {
    pub fn random() -> PartnerHashKey {
        PartnerHashKey(Key256::random())
    }

    pub fn from_hex(text: &str) -> Result<PartnerHashKey, CryptoError> {
        Key256::from_hex(text).map(PartnerHashKey)
    }

    /// Lowercase hex, for a store that keeps the key (OpenBao).
    pub fn to_hex(&self) -> Zeroizing<String> {
        self.0.to_hex()
    }

    /// The digest kept for `plaintext` (a `kwp_`/`kws_` key).
    pub fn hash(&self, plaintext: &str) -> [u8; 32] {
        hmac(&self.0, &[b"keywarden/partner-key", plaintext.as_bytes()])
    }

    /// A second handle, for the verifier's thread.
    pub fn duplicate(&self) -> PartnerHashKey {
        PartnerHashKey(self.0.duplicate())
    }
}

/// The seed of the vault's Ed25519 key (envelopes, revocation lists):
/// derived, so it is never stored and survives a re-key.
#[derive(Debug)]
pub(crate) struct SigningSeed(Key256);

impl SigningSeed {
    /// A fixed key: test vectors only.
    #[cfg(test)]
    pub(crate) fn from_bytes(bytes: [u8; 32]) -> SigningSeed {
        SigningSeed(Key256::from_bytes(bytes))
    }

    fn signing_key(&self) -> SigningKey {
        SigningKey::from_bytes(self.0.expose())
    }

    /// The public key's 32 bytes. The expanded secret key passes over the
    /// stack, which is scrubbed after.
    pub(crate) fn public_key(&self) -> [u8; 32] {
        stack::scrubbed_shallow(|| self.signing_key().verifying_key().to_bytes())
    }

    /// The Ed25519 signature of `message`.
    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        stack::scrubbed_shallow(|| self.signing_key().sign(message).to_bytes())
    }
}

/// Every key derived from one vault key. On the heap: a vault is moved
/// around, and every move of a struct holding the keys inline would leave
/// a copy of them behind on the stack.
pub(crate) struct Keyring {
    pub(crate) db: DbKey,
    pub(crate) dek_wrap: DekWrapKey,
    pub(crate) audit: AuditMacKey,
    pub(crate) partner_hash: PartnerHashKey,
    pub(crate) signing: SigningSeed,
}

impl Keyring {
    pub(crate) fn derive(vault_key: &VaultKey) -> Box<Keyring> {
        let k = &vault_key.0;
        Box::new(Keyring {
            db: DbKey(k.derive(DB_LABEL)),
            dek_wrap: DekWrapKey(k.derive(DEK_WRAP_LABEL)),
            audit: AuditMacKey(k.derive(AUDIT_LABEL)),
            partner_hash: PartnerHashKey(k.derive(PARTNER_HASH_LABEL)),
            signing: SigningSeed(k.derive(SIGNING_LABEL)),
        })
    }

    /// A second keyring with the same keys, copied heap to heap (a second
    /// handle on an open vault).
    pub(crate) fn duplicate(&self) -> Box<Keyring> {
        Box::new(Keyring {
            db: DbKey(self.db.0.duplicate()),
            dek_wrap: DekWrapKey(self.dek_wrap.0.duplicate()),
            audit: AuditMacKey(self.audit.0.duplicate()),
            partner_hash: self.partner_hash.duplicate(),
            signing: SigningSeed(self.signing.0.duplicate()),
        })
    }

    /// Every key's bytes with its name, for the test that looks for them in
    /// a process's memory. Test builds only.
    #[cfg(any(test, feature = "test-support"))]
    pub(crate) fn material_for_tests(&self) -> Vec<(String, Vec<u8>)> {
        let raw = |name: &str, k: &Key256| (name.to_owned(), k.expose().to_vec());
        vec![
            raw("SQLCipher key", &self.db.0),
            (
                "SQLCipher key as hex (its PRAGMA)".to_owned(),
                self.db.0.to_hex().as_bytes().to_vec(),
            ),
            raw("DEK wrapping key", &self.dek_wrap.0),
            raw("audit MAC key", &self.audit.0),
            raw("partner-key hash key", &self.partner_hash.0),
            raw("signing seed", &self.signing.0),
        ]
    }
}
