//! Documents the vault signs with its Ed25519 key: key-delivery envelopes
//! and revocation lists. The signing key is derived from the vault key
//! (never stored); its public half is shown in the settings and printed by
//! `kw keys public-key`, so partners and offline verifiers can check.
//!
//! A signed document is `{ "payload": <base64url of the JSON bytes>,
//! "signature": <base64url of the Ed25519 signature over those bytes> }`:
//! the bytes signed are the bytes carried, so no canonical JSON is needed.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::{Signature, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::crypto::SigningSeed;
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Signed {
    pub payload: String,
    pub signature: String,
}

/// The public key, base64url: what a partner pins.
pub(crate) fn public_key(seed: &SigningSeed) -> String {
    B64.encode(seed.public_key())
}

pub(crate) fn sign<T: Serialize>(seed: &SigningSeed, doc: &T) -> Result<Signed> {
    let bytes = serde_json::to_vec(doc).map_err(|e| Error::Database(e.to_string()))?;
    let sig = seed.sign(&bytes);
    Ok(Signed {
        payload: B64.encode(&bytes),
        signature: B64.encode(sig),
    })
}

/// Checks the signature with `public_key` (base64url) and returns the
/// payload bytes. Any alteration of payload or signature fails.
pub fn verify(signed: &Signed, public_key: &str) -> Result<Vec<u8>> {
    let bad = |why: &str| Error::invalid("signature", why.to_owned());
    let key: [u8; 32] = B64
        .decode(public_key.trim())
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or_else(|| bad("the public key is not 32 bytes of base64url"))?;
    let key = VerifyingKey::from_bytes(&key).map_err(|_| bad("the public key is not an Ed25519 key"))?;
    let sig: [u8; 64] = B64
        .decode(&signed.signature)
        .ok()
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| bad("the signature is not 64 bytes of base64url"))?;
    let payload = B64
        .decode(&signed.payload)
        .map_err(|_| bad("the payload is not base64url"))?;
    key.verify_strict(&payload, &Signature::from_bytes(&sig))
        .map_err(|_| bad("the signature does not match: the document was altered or signed by another vault"))?;
    Ok(payload)
}
