//! Secret values as they enter the vault: their type, the checks every
//! secret must pass, and the mask that is all anyone sees afterwards.

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, Result};

/// The largest secret the vault accepts, in bytes.
pub const MAX_SECRET_BYTES: usize = 64 * 1024;

/// Named secret fields of one credential version (`api_key`, `password`,
/// `client_secret`, …). Values are `SecretString`: redacted `Debug`,
/// zeroized on drop, no `Serialize`.
#[derive(Debug, Default)]
pub struct SecretFields(BTreeMap<String, SecretString>);

impl SecretFields {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn single(field: &str, value: SecretString) -> Self {
        let mut s = Self::new();
        s.insert(field, value);
        s
    }

    pub fn insert(&mut self, field: &str, value: SecretString) {
        self.0.insert(field.to_owned(), value);
    }

    pub fn get(&self, field: &str) -> Option<&SecretString> {
        self.0.get(field)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &SecretString)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Turns raw bytes (from stdin, a form) into a secret, or says why not.
/// Invalid UTF-8 is refused rather than lossily converted: a replaced byte
/// would silently store a different secret.
pub fn secret_from_bytes(field: &str, bytes: Vec<u8>) -> Result<SecretString> {
    let text = String::from_utf8(bytes).map_err(|e| {
        // Wipe what we were given before reporting.
        let mut raw = e.into_bytes();
        zeroize::Zeroize::zeroize(&mut raw);
        Error::invalid(field, "the input is not valid UTF-8 text; secrets must be text")
    })?;
    let secret = SecretString::from(text);
    check_secret(field, &secret)?;
    Ok(secret)
}

/// The checks every secret passes whatever its type: not empty, not only
/// white space, at most 64 KiB, no NUL or other control characters but
/// tab and line breaks.
pub fn check_secret(field: &str, secret: &SecretString) -> Result<()> {
    let s = secret.expose_secret();
    if s.is_empty() {
        return Err(Error::invalid(
            field,
            "the secret is empty; enter the value issued by the provider",
        ));
    }
    if s.trim().is_empty() {
        return Err(Error::invalid(
            field,
            "the secret is only white space; enter the value issued by the provider",
        ));
    }
    if s.len() > MAX_SECRET_BYTES {
        return Err(Error::invalid(
            field,
            format!(
                "the secret is {} bytes; the limit is {MAX_SECRET_BYTES} bytes (64 KiB)",
                s.len()
            ),
        ));
    }
    if s.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) {
        return Err(Error::invalid(
            field,
            "the secret contains control characters; paste only the value itself",
        ));
    }
    Ok(())
}

/// The only view of a secret after it is saved: eight bullets and the last
/// few characters — four for secrets of 16 characters or more, fewer for
/// shorter ones, none under 8, so a mask never gives away much of a short
/// secret.
pub fn mask(secret: &SecretString) -> String {
    let s = secret.expose_secret();
    let n = s.chars().count();
    let shown = if n < 8 { 0 } else { (n / 4).min(4) };
    let tail: String = s.chars().skip(n - shown).collect();
    format!("••••••••{tail}")
}

/// A file that holds a secret (a service token, a TLS key) must be
/// readable by its owner only, as ssh demands of its keys.
pub fn check_owner_only(path: &std::path::Path) -> crate::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| crate::Error::io(path, e))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(crate::Error::invalid(
                "file permissions",
                format!(
                    "{} is readable by others (mode {:o}); make it owner-only: chmod 600 {}",
                    path.display(),
                    mode & 0o777,
                    path.display()
                ),
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> SecretString {
        SecretString::from(v.to_owned())
    }

    #[test]
    fn mask_shows_last_four_of_a_long_secret() {
        assert_eq!(mask(&s("pk_live_0123456789abcd")), "••••••••abcd");
    }

    #[test]
    fn mask_shows_fewer_for_short_secrets_and_none_under_eight() {
        assert_eq!(mask(&s("1234567")), "••••••••");
        assert_eq!(mask(&s("12345678")), "••••••••78");
        assert_eq!(mask(&s("123456789012")), "••••••••012");
        assert_eq!(mask(&s("1234567890123456")), "••••••••3456");
    }

    #[test]
    fn secret_checks_refuse_empty_blank_huge_and_control_characters() {
        assert!(check_secret("f", &s("")).is_err());
        assert!(check_secret("f", &s(" \t\n ")).is_err());
        assert!(check_secret("f", &s(&"a".repeat(MAX_SECRET_BYTES + 1))).is_err());
        assert!(check_secret("f", &s("abc\u{0}def")).is_err());
        assert!(check_secret("f", &s(&"a".repeat(MAX_SECRET_BYTES))).is_ok());
    }

    #[test]
    fn invalid_utf8_is_refused_not_replaced() {
        let err = secret_from_bytes("api_key", vec![0x61, 0xff, 0x62]).unwrap_err();
        assert!(err.to_string().contains("UTF-8"));
    }

    #[test]
    fn secret_fields_debug_is_redacted() {
        let f = SecretFields::single("api_key", s("hunter2-canary-value"));
        assert!(!format!("{f:?}").contains("hunter2"));
    }
}
