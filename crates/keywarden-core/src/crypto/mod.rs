//! The vault's small safe crypto API: 256-bit keys, key wrapping, field
//! sealing (see `sealed.rs` for the on-disk format) and MACs.

mod hazmat;
mod keyring;
pub mod sealed;
pub mod stack;

use std::fmt;

use hmac::{Hmac, Mac};
use rand::RngCore;
use rand::rngs::OsRng;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

pub(crate) use stack::{scrubbed, scrubbed_shallow};

pub(crate) use hazmat::NONCE_LEN;
pub use keyring::PartnerHashKey;
pub(crate) use keyring::{AuditMacKey, DbKey, DekWrapKey, Keyring, SigningSeed};
pub use keyring::{Dek, Kek, VaultKey};

/// Any failure to decrypt or authenticate. Deliberately says nothing more:
/// which byte or which key was wrong is information for an attacker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("decryption failed")]
pub struct CryptoError;

/// A 256-bit symmetric key. Its bytes live on the heap only, so moving a
/// key (into a struct, out of a function) copies a pointer and leaves no
/// copy of the key on the stack; zeroized on drop, compared in constant
/// time, never printed, never serialized, not `Clone`.
pub struct Key256(Box<[u8; 32]>);

impl Drop for Key256 {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl ZeroizeOnDrop for Key256 {}

impl Key256 {
    /// An all-zero key on the heap, to be filled in place.
    fn empty() -> Self {
        Self(Box::new([0u8; 32]))
    }

    pub fn random() -> Self {
        let mut key = Self::empty();
        OsRng.fill_bytes(&mut key.0[..]);
        key
    }

    /// From a fixed array: test vectors and fuzzing only, as the array
    /// itself sits on the caller's stack.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn from_bytes(bytes: [u8; 32]) -> Self {
        let mut key = Self::empty();
        key.0.copy_from_slice(&bytes);
        key
    }

    fn from_slice(bytes: &[u8]) -> Result<Self, CryptoError> {
        if bytes.len() != 32 {
            return Err(CryptoError);
        }
        let mut key = Self::empty();
        key.0.copy_from_slice(bytes);
        Ok(key)
    }

    /// A second key with the same bytes, copied heap to heap (a second
    /// handle on an open vault).
    fn duplicate(&self) -> Self {
        let mut key = Self::empty();
        key.0.copy_from_slice(&self.0[..]);
        key
    }

    fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    /// A new independent key for one purpose, named by `info` (HKDF-SHA256).
    fn derive(&self, info: &str) -> Key256 {
        hkdf_key(&self.0[..], info)
    }

    /// Lowercase hex, for handing the key to a store that wants text
    /// (the OS keychain, SQLCipher's raw-key pragma).
    fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(&self.0[..]))
    }

    fn from_hex(text: &str) -> Result<Self, CryptoError> {
        let bytes = Zeroizing::new(hex::decode(text.trim()).map_err(|_| CryptoError)?);
        Self::from_slice(&bytes)
    }
}

impl PartialEq for Key256 {
    fn eq(&self, other: &Self) -> bool {
        self.0[..].ct_eq(&other.0[..]).into()
    }
}
impl Eq for Key256 {}

impl fmt::Debug for Key256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key256")
    }
}

/// HKDF-SHA256 of high-entropy input material, for one named purpose,
/// written straight into a key on the heap.
pub(crate) fn hkdf_key(ikm: &[u8], info: &str) -> Key256 {
    let mut key = Key256::empty();
    stack::scrubbed_shallow(|| hazmat::hkdf_sha256_into(ikm, info.as_bytes(), &mut key.0));
    key
}

pub(crate) fn random_nonce() -> [u8; NONCE_LEN] {
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);
    nonce
}

/// Wraps `key` under `wrapping`: `nonce(12) | ciphertext+tag(48)`, with
/// `aad` naming what is wrapped and for which vault.
pub(crate) fn wrap_key(wrapping: &Key256, key: &Key256, aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let nonce = random_nonce();
    let ct = stack::scrubbed_shallow(|| hazmat::aes_gcm_encrypt(wrapping.expose(), &nonce, aad, key.expose()))?;
    let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

pub(crate) fn unwrap_key(wrapping: &Key256, wrapped: &[u8], aad: &[u8]) -> Result<Key256, CryptoError> {
    if wrapped.len() < NONCE_LEN {
        return Err(CryptoError);
    }
    let (nonce, ct) = wrapped.split_at(NONCE_LEN);
    let pt = stack::scrubbed_shallow(|| hazmat::aes_gcm_decrypt(wrapping.expose(), nonce, aad, ct))?;
    Key256::from_slice(&pt)
}

type HmacSha256 = Hmac<Sha256>;

pub(crate) fn hmac(key: &Key256, parts: &[&[u8]]) -> [u8; 32] {
    stack::scrubbed_shallow(|| {
        // HMAC zero-pads a key shorter than the hash block (RFC 2104 §2), so
        // keying with the 32 bytes padded to 64 is exactly HMAC under the
        // 32-byte key, through the infallible fixed-size constructor.
        let mut block = Zeroizing::new([0u8; 64]);
        block[..32].copy_from_slice(key.expose());
        let mut mac = <HmacSha256 as hmac::digest::KeyInit>::new(block.as_ref().into());
        for p in parts {
            mac.update(&(p.len() as u64).to_be_bytes());
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    })
}

pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_debug_names_the_type_only() {
        let k = Key256::from_bytes([0xAB; 32]);
        assert_eq!(format!("{k:?}"), "Key256");
    }

    #[test]
    fn wrapped_key_unwraps_only_with_the_same_key_and_aad() {
        let w = Key256::random();
        let k = Key256::random();
        let blob = wrap_key(&w, &k, b"aad").unwrap();
        assert_eq!(unwrap_key(&w, &blob, b"aad").unwrap(), k);
        assert!(unwrap_key(&w, &blob, b"other").is_err());
        assert!(unwrap_key(&Key256::random(), &blob, b"aad").is_err());
        assert!(unwrap_key(&w, &blob[..10], b"aad").is_err());
    }

    #[test]
    fn hmac_matches_the_plain_variable_key_hmac() {
        let k = Key256::from_bytes([7; 32]);
        let mut plain = <HmacSha256 as Mac>::new_from_slice(&[7; 32]).unwrap();
        plain.update(&3u64.to_be_bytes());
        plain.update(b"abc");
        let expected: [u8; 32] = plain.finalize().into_bytes().into();
        assert_eq!(hmac(&k, &[b"abc"]), expected);
    }

    #[test]
    fn derived_keys_differ_by_purpose() {
        let k = Key256::random();
        assert_ne!(k.derive("a"), k.derive("b"));
        assert_eq!(k.derive("a"), k.derive("a"));
    }
}
