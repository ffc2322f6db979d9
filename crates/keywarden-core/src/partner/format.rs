//! The key format: `kwp_<env>_<id>_<secret><check>` for partner keys,
//! `kws_…` (same shape) for service-account tokens.
//!
//! - `kwp_` / `kws_` mark a Keywarden key, so secret scanners (and our own
//!   "this looks like a secret" check) recognise it;
//! - `<env>` is `live` or `test`;
//! - `<id>` is the public key id: 16 characters of lowercase base32
//!   (80 random bits), safe to log and to show;
//! - `<secret>` is 256 bits from the OS CSPRNG in base62, 43 characters;
//! - `<check>` is the CRC-32 of everything before it, in base62, 6
//!   characters: a typo or a truncated copy is caught before any lookup.
//!
//! Example shape: `kwp_live_k3v9x2mq7a5t1b8c_<43 chars><6 chars>`.

use rand::RngCore;
use rand::rngs::OsRng;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

pub const PREFIX: &str = "kwp_";
pub const SERVICE_PREFIX: &str = "kws_";

/// Whom a key is for: a partner calling our services, or one of our own
/// jobs taking credentials from the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    #[default]
    Partner,
    Service,
}

impl KeyKind {
    pub fn prefix(self) -> &'static str {
        match self {
            KeyKind::Partner => PREFIX,
            KeyKind::Service => SERVICE_PREFIX,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Partner => "partner",
            KeyKind::Service => "service",
        }
    }
}
const ID_LEN: usize = 16;
const SECRET_LEN: usize = 43;
const CHECK_LEN: usize = 6;
const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Where a key works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum KeyEnv {
    Live,
    Test,
}

impl KeyEnv {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyEnv::Live => "live",
            KeyEnv::Test => "test",
        }
    }

    pub fn parse(s: &str) -> Result<KeyEnv> {
        match s {
            "live" => Ok(KeyEnv::Live),
            "test" => Ok(KeyEnv::Test),
            other => Err(Error::invalid(
                "key environment",
                format!("'{other}' is not known; use live or test"),
            )),
        }
    }
}

/// A key's parts, checked: the id is public, the full text is the secret.
#[derive(Debug)]
pub struct ParsedKey<'a> {
    pub kind: KeyKind,
    pub env: KeyEnv,
    pub id: &'a str,
}

/// `n` bytes as fixed-width base62 (big-endian), `width` characters.
pub(crate) fn base62(bytes: &[u8], width: usize) -> String {
    let mut num: Vec<u8> = bytes.to_vec();
    let mut out = vec![b'0'; width];
    for slot in out.iter_mut().rev() {
        let mut rem: u32 = 0;
        for b in num.iter_mut() {
            let acc = (rem << 8) | u32::from(*b);
            *b = (acc / 62) as u8;
            rem = acc % 62;
        }
        *slot = BASE62[rem as usize];
    }
    num.iter_mut().for_each(|b| *b = 0);
    String::from_utf8(out).unwrap_or_default()
}

fn check(body: &str) -> String {
    base62(&crc32fast::hash(body.as_bytes()).to_be_bytes(), CHECK_LEN)
}

/// A new key id: 80 random bits in base32.
pub fn new_id() -> String {
    let mut bytes = [0u8; ID_LEN];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| BASE32[(*b & 31) as usize] as char).collect()
}

/// A new partner key for `id`: the full text, to be shown once.
pub fn new_key(env: KeyEnv, id: &str) -> Zeroizing<String> {
    new_key_of(KeyKind::Partner, env, id)
}

/// A new key of `kind` for `id`.
pub fn new_key_of(kind: KeyKind, env: KeyEnv, id: &str) -> Zeroizing<String> {
    let mut secret = Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(secret.as_mut());
    let body = Zeroizing::new(format!(
        "{}{}_{id}_{}",
        kind.prefix(),
        env.as_str(),
        base62(secret.as_ref(), SECRET_LEN)
    ));
    Zeroizing::new(format!("{}{}", body.as_str(), check(&body)))
}

/// Checks the shape and the checksum; says what is wrong without echoing
/// the key.
pub fn parse(key: &str) -> Result<ParsedKey<'_>> {
    let bad = |why: &str| Error::invalid("partner key", why.to_owned());
    let (kind, rest) = match (key.strip_prefix(PREFIX), key.strip_prefix(SERVICE_PREFIX)) {
        (Some(rest), _) => (KeyKind::Partner, rest),
        (None, Some(rest)) => (KeyKind::Service, rest),
        (None, None) => return Err(bad("it does not start with kwp_ or kws_; it is not a Keywarden key")),
    };
    let (env, rest) = rest
        .split_once('_')
        .ok_or_else(|| bad("the environment part is missing"))?;
    let env = KeyEnv::parse(env)?;
    let (id, tail) = rest.split_once('_').ok_or_else(|| bad("the key id part is missing"))?;
    if id.len() != ID_LEN || !id.bytes().all(|b| BASE32.contains(&b)) {
        return Err(bad("the key id is malformed"));
    }
    if tail.len() != SECRET_LEN + CHECK_LEN || !tail.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(bad("the key is truncated or has extra characters"));
    }
    let (body, sum) = key.split_at(key.len() - CHECK_LEN);
    if check(body) != sum {
        return Err(bad(
            "the checksum does not match: a character was changed or lost in copying",
        ));
    }
    Ok(ParsedKey { kind, env, id })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_key_parses_and_any_one_character_change_is_rejected() {
        let id = new_id();
        let key = new_key(KeyEnv::Live, &id);
        let parsed = parse(&key).unwrap();
        assert_eq!((parsed.env, parsed.id), (KeyEnv::Live, id.as_str()));
        assert_eq!(key.len(), 4 + 5 + 16 + 1 + 43 + 6);
        // Every position, every other character of its alphabet: rejected.
        let bytes = key.as_bytes();
        for i in 0..bytes.len() {
            for c in BASE62.iter().chain(b"_") {
                if *c == bytes[i] {
                    continue;
                }
                let mut changed = bytes.to_vec();
                changed[i] = *c;
                let changed = String::from_utf8(changed).unwrap();
                assert!(parse(&changed).is_err(), "accepted a change at {i}: {changed}");
            }
        }
        assert!(parse(&key[..key.len() - 1]).is_err());
        assert!(parse(&format!("{}x", key.as_str())).is_err());
        let err = parse("kwp_live_nope").unwrap_err().to_string();
        assert!(!err.contains("nope"), "errors never echo the key: {err}");
    }

    #[test]
    fn base62_is_fixed_width_and_big_endian() {
        assert_eq!(base62(&[0], 3), "000");
        assert_eq!(base62(&[61], 2), "0z");
        assert_eq!(base62(&[1, 0], 3), "048"); // 256 = 4*62 + 8
        assert_eq!(base62(&[0xff; 32], SECRET_LEN).len(), SECRET_LEN);
    }
}
