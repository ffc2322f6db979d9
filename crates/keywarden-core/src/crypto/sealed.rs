//! The sealed-field format: how one secret field is stored on disk.
//!
//! ```text
//! offset  size  content
//! 0       1     format version, 0x01 ("v1")
//! 1       4     key_id: the data key (DEK) that sealed it, u32 big-endian
//! 5       12    nonce, 96 random bits, fresh for every seal
//! 17      n+16  AES-256-GCM ciphertext of the UTF-8 secret, then the tag
//! ```
//!
//! The additional authenticated data binds the blob to where it belongs and
//! to its own header, so a blob moved to another credential, field or
//! version, or with its version byte or key id edited, fails to open:
//!
//! ```text
//! "keywarden/field" | 0x01 | key_id(4, BE) | credential_id(16, UUID bytes)
//!   | len(field)(4, BE) | field (UTF-8) | secret_version(4, BE)
//! ```
//!
//! A nonce is random, so one DEK must not seal more than 2^32 values
//! (NIST SP 800-38D §8.3). The vault counts seals per key in `data_keys`
//! and rotates long before that (`store::data_keys::ROTATE_AFTER`).
//! Specified in FORMAT.md 4 and pinned by the vectors in
//! `tests/vectors/sealed.json` (checked by `src/vectors.rs`).

use super::{CryptoError, Dek, NONCE_LEN, hazmat};
use uuid::Uuid;
use zeroize::Zeroizing;

pub const FORMAT_V1: u8 = 0x01;
const HEADER_LEN: usize = 1 + 4 + NONCE_LEN;
const AAD_LABEL: &[u8] = b"keywarden/field";

/// Where a sealed value belongs; part of its authenticated data.
#[derive(Debug, Clone, Copy)]
pub struct FieldSlot<'a> {
    pub credential_id: Uuid,
    pub field: &'a str,
    pub version: u32,
}

fn aad(key_id: u32, slot: &FieldSlot<'_>) -> Vec<u8> {
    let mut aad = Vec::with_capacity(AAD_LABEL.len() + 1 + 4 + 16 + 4 + slot.field.len() + 4);
    aad.extend_from_slice(AAD_LABEL);
    aad.push(FORMAT_V1);
    aad.extend_from_slice(&key_id.to_be_bytes());
    aad.extend_from_slice(slot.credential_id.as_bytes());
    aad.extend_from_slice(&(slot.field.len() as u32).to_be_bytes());
    aad.extend_from_slice(slot.field.as_bytes());
    aad.extend_from_slice(&slot.version.to_be_bytes());
    aad
}

/// Seals `plaintext` under data key `key_id` with a fresh random nonce.
pub fn seal(key: &Dek, key_id: u32, slot: &FieldSlot<'_>, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    seal_with_nonce(key, key_id, slot, plaintext, &super::random_nonce())
}

/// Sealing with a given nonce: `seal`'s, and the test vectors' (a nonce
/// must never repeat, so nothing else calls it).
pub(crate) fn seal_with_nonce(
    key: &Dek,
    key_id: u32,
    slot: &FieldSlot<'_>,
    plaintext: &[u8],
    nonce: &[u8; NONCE_LEN],
) -> Result<Vec<u8>, CryptoError> {
    let ct =
        super::scrubbed_shallow(|| hazmat::aes_gcm_encrypt(key.key().expose(), nonce, &aad(key_id, slot), plaintext))?;
    let mut out = Vec::with_capacity(HEADER_LEN + ct.len());
    out.push(FORMAT_V1);
    out.extend_from_slice(&key_id.to_be_bytes());
    out.extend_from_slice(nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// The key id a blob claims, to pick the key that opens it. Not trusted
/// until `open` authenticates it.
pub fn key_id_of(blob: &[u8]) -> Result<u32, CryptoError> {
    if blob.len() < HEADER_LEN || blob[0] != FORMAT_V1 {
        return Err(CryptoError);
    }
    let mut id = [0u8; 4];
    id.copy_from_slice(&blob[1..5]);
    Ok(u32::from_be_bytes(id))
}

/// Opens a v1 blob. Any other version byte, any edited byte, a truncation,
/// or a blob from another slot gives the same opaque `CryptoError`.
pub fn open(key: &Dek, slot: &FieldSlot<'_>, blob: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let key_id = key_id_of(blob)?;
    let nonce = &blob[5..HEADER_LEN];
    super::scrubbed_shallow(|| {
        hazmat::aes_gcm_decrypt(key.key().expose(), nonce, &aad(key_id, slot), &blob[HEADER_LEN..])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(field: &str, version: u32) -> FieldSlot<'_> {
        FieldSlot {
            credential_id: Uuid::from_bytes([0x11; 16]),
            field,
            version,
        }
    }

    fn key() -> Dek {
        Dek::from_bytes([0x42; 32])
    }

    /// Known key, nonce, slot and plaintext give exactly these bytes. If this
    /// fails, the on-disk format changed: existing vaults would not open.
    #[test]
    fn v1_test_vector_is_stable() {
        let blob = seal_with_nonce(&key(), 7, &slot("api_key", 3), b"pk_live_abcd", &[0x24; 12]).unwrap();
        assert_eq!(hex::encode(&blob), VECTOR_1);
        assert_eq!(&*open(&key(), &slot("api_key", 3), &blob).unwrap(), b"pk_live_abcd");
    }

    #[test]
    fn empty_plaintext_vector_is_stable() {
        let blob = seal_with_nonce(&key(), 1, &slot("password", 1), b"", &[0; 12]).unwrap();
        assert_eq!(hex::encode(&blob), VECTOR_2);
    }

    // Cross-checked with an independent AES-GCM (Python `cryptography`) building
    // the AAD from the format description above.
    const VECTOR_1: &str = "010000000724242424242424242424242465fa9b2d80b0a361478a41ce63abb8516e67abe5e6b1fa6a68751023";
    const VECTOR_2: &str = "0100000001000000000000000000000000a05514b9e5738fe6939907fddca92ba9";

    #[test]
    fn every_single_byte_flip_fails_opaquely() {
        let blob = seal(&key(), 7, &slot("api_key", 3), b"secret-value-123").unwrap();
        for i in 0..blob.len() {
            for bit in 0..8 {
                let mut t = blob.clone();
                t[i] ^= 1 << bit;
                assert_eq!(
                    open(&key(), &slot("api_key", 3), &t).unwrap_err(),
                    CryptoError,
                    "byte {i} bit {bit}"
                );
            }
        }
    }

    #[test]
    fn every_truncation_fails() {
        let blob = seal(&key(), 7, &slot("api_key", 3), b"secret-value-123").unwrap();
        for n in 0..blob.len() {
            assert!(
                open(&key(), &slot("api_key", 3), &blob[..n]).is_err(),
                "truncated to {n}"
            );
        }
    }

    #[test]
    fn a_blob_moved_to_another_credential_field_or_version_fails() {
        let blob = seal(&key(), 7, &slot("api_key", 3), b"secret-value-123").unwrap();
        let other = FieldSlot {
            credential_id: Uuid::from_bytes([0x12; 16]),
            field: "api_key",
            version: 3,
        };
        assert!(open(&key(), &other, &blob).is_err());
        assert!(open(&key(), &slot("password", 3), &blob).is_err());
        assert!(open(&key(), &slot("api_key", 2), &blob).is_err());
        assert!(open(&key(), &slot("api_key", 3), &blob).is_ok());
    }

    #[test]
    fn a_downgraded_or_unknown_version_byte_is_rejected() {
        let blob = seal(&key(), 7, &slot("api_key", 3), b"secret-value-123").unwrap();
        for v in [0x00u8, 0x02, 0xff] {
            let mut t = blob.clone();
            t[0] = v;
            assert!(open(&key(), &slot("api_key", 3), &t).is_err());
            assert!(key_id_of(&t).is_err());
        }
    }
}
