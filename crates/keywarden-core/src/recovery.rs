//! The recovery code: 160 random bits shown once at vault creation, written
//! as 32 Crockford base32 characters in groups of four
//! (`7K3M-…-Q9TZ`). It unwraps the vault key when the keychain item is lost.

use std::fmt;

use rand::RngCore;
use rand::rngs::OsRng;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::crypto::Kek;
use crate::error::{Error, Result};

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const CODE_BYTES: usize = 20;
const CODE_CHARS: usize = CODE_BYTES * 8 / 5;

#[derive(Zeroize, ZeroizeOnDrop)]
pub struct RecoveryCode([u8; CODE_BYTES]);

impl RecoveryCode {
    pub(crate) fn generate() -> Self {
        let mut b = [0u8; CODE_BYTES];
        OsRng.fill_bytes(&mut b);
        Self(b)
    }

    /// Parses what a person typed: case, spaces and dashes do not matter,
    /// and the look-alikes `I`/`L` (1) and `O` (0) are forgiven.
    pub fn parse(text: &str) -> Result<Self> {
        let mut bits: u64 = 0;
        let mut nbits = 0u32;
        let mut out = Zeroizing::new(Vec::with_capacity(CODE_BYTES));
        let mut count = 0usize;
        for (position, c) in text.chars().enumerate() {
            if c == '-' || c.is_whitespace() {
                continue;
            }
            let c = match c.to_ascii_uppercase() {
                'I' | 'L' => '1',
                'O' => '0',
                other => other,
            };
            let v = ALPHABET.iter().position(|&a| a as char == c).ok_or_else(|| {
                // The position, never the character: it is part of the code.
                Error::invalid(
                    "recovery code",
                    format!(
                        "character {} is not a recovery code character (letters and digits only)",
                        position + 1
                    ),
                )
            })?;
            count += 1;
            bits = (bits << 5) | v as u64;
            nbits += 5;
            if nbits >= 8 {
                nbits -= 8;
                out.push((bits >> nbits) as u8);
                bits &= (1 << nbits) - 1;
            }
        }
        if count != CODE_CHARS {
            return Err(Error::invalid(
                "recovery code",
                format!("a recovery code has {CODE_CHARS} characters; this one has {count}"),
            ));
        }
        let mut b = [0u8; CODE_BYTES];
        b.copy_from_slice(&out);
        Ok(Self(b))
    }

    /// The code as shown to the person, once.
    pub fn display(&self) -> Zeroizing<String> {
        let mut s = String::with_capacity(CODE_CHARS + CODE_CHARS / 4);
        let mut bits: u64 = 0;
        let mut nbits = 0u32;
        let mut n = 0usize;
        for &byte in &self.0 {
            bits = (bits << 8) | byte as u64;
            nbits += 8;
            while nbits >= 5 {
                nbits -= 5;
                if n > 0 && n.is_multiple_of(4) {
                    s.push('-');
                }
                s.push(ALPHABET[((bits >> nbits) & 31) as usize] as char);
                n += 1;
            }
            bits &= (1 << nbits) - 1;
        }
        Zeroizing::new(s)
    }

    /// The key that wraps the vault key. The code already holds 160 random
    /// bits, so HKDF suffices; no password stretching is needed.
    pub(crate) fn key(&self) -> Kek {
        Kek::from_key(crate::crypto::hkdf_key(&self.0, "keywarden/recovery/v1"))
    }
}

impl fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryCode(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_round_trips_through_its_display_form_with_typing_slack() {
        let c = RecoveryCode::generate();
        let shown = c.display();
        assert_eq!(shown.len(), 32 + 7);
        let typed = shown
            .to_lowercase()
            .replace('-', " ")
            .replace('1', "l")
            .replace('0', "o");
        assert_eq!(RecoveryCode::parse(&typed).unwrap().0, c.0);
    }

    #[test]
    fn short_or_foreign_codes_are_clear_errors() {
        assert!(
            RecoveryCode::parse("ABCD")
                .unwrap_err()
                .to_string()
                .contains("32 characters")
        );
        let err = RecoveryCode::parse(&"U".repeat(32)).unwrap_err().to_string();
        assert!(err.contains("character 1") && !err.contains('U'), "{err}");
    }

    #[test]
    fn debug_is_redacted() {
        assert_eq!(format!("{:?}", RecoveryCode::generate()), "RecoveryCode(<redacted>)");
    }
}
