//! Secrets and passphrases come from a hidden prompt or stdin, never argv.

use std::io::{IsTerminal, Read};
use std::path::Path;

use keywarden_core::secret::{MAX_SECRET_BYTES, secret_from_bytes};
use keywarden_core::{Error, SecretFields, SecretString};
use zeroize::Zeroizing;

use crate::error::CliError;

/// Reads `fields` from a hidden prompt (one by one) or from piped stdin
/// (the whole input for one field; one line per field for several).
pub fn read_secrets(credential: &str, fields: &[String]) -> Result<SecretFields, CliError> {
    let mut out = SecretFields::new();
    if std::io::stdin().is_terminal() {
        for f in fields {
            let text = rpassword::prompt_password(format!("{f} for '{credential}' (hidden): "))
                .map_err(|e| CliError::io("reading the prompt", e))?;
            out.insert(f, secret_from_bytes(f, text.into_bytes())?);
        }
        return Ok(out);
    }
    let mut buf = Zeroizing::new(Vec::new());
    std::io::stdin()
        .take((MAX_SECRET_BYTES * fields.len().max(1) + 16) as u64)
        .read_to_end(&mut buf)
        .map_err(|e| CliError::io("reading stdin", e))?;
    if buf.len() > MAX_SECRET_BYTES * fields.len().max(1) + 2 {
        return Err(Error::InvalidInput {
            field: fields.first().cloned().unwrap_or_default(),
            reason: format!("the input is over {MAX_SECRET_BYTES} bytes (64 KiB); that is not a credential"),
        }
        .into());
    }
    let text = Zeroizing::new(String::from_utf8(buf.to_vec()).map_err(|e| {
        zeroize::Zeroize::zeroize(&mut e.into_bytes());
        Error::InvalidInput {
            field: "stdin".into(),
            reason: "the input is not valid UTF-8 text; secrets must be text".into(),
        }
    })?);
    if fields.len() == 1 {
        let one = text
            .strip_suffix('\n')
            .map(|t| t.strip_suffix('\r').unwrap_or(t))
            .unwrap_or(&text);
        out.insert(&fields[0], secret_from_bytes(&fields[0], one.as_bytes().to_vec())?);
        return Ok(out);
    }
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() != fields.len() {
        return Err(Error::InvalidInput {
            field: "stdin".into(),
            reason: format!(
                "expected {} lines on stdin ({}), got {}",
                fields.len(),
                fields.join(", "),
                lines.len()
            ),
        }
        .into());
    }
    for (f, line) in fields.iter().zip(lines) {
        out.insert(f, secret_from_bytes(f, line.as_bytes().to_vec())?);
    }
    Ok(out)
}

/// The recovery code: hidden prompt, or the first line of stdin.
pub fn read_recovery_code() -> Result<Zeroizing<String>, CliError> {
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password("Recovery code: ")
            .map(Zeroizing::new)
            .map_err(|e| CliError::io("reading the prompt", e));
    }
    let mut buf = Zeroizing::new(String::new());
    std::io::stdin()
        .take(4096)
        .read_to_string(&mut buf)
        .map_err(|e| CliError::io("reading stdin", e))?;
    Ok(Zeroizing::new(buf.lines().next().unwrap_or("").to_owned()))
}

/// A passphrase from `--passphrase-file` or a hidden prompt (twice when
/// setting a new one).
pub fn read_passphrase(file: Option<&Path>, confirm: bool) -> Result<SecretString, CliError> {
    if let Some(path) = file {
        let text =
            Zeroizing::new(std::fs::read_to_string(path).map_err(|e| CliError::io("reading the passphrase file", e))?);
        let line = text.lines().next().unwrap_or("");
        return Ok(SecretString::from(line.to_owned()));
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::InvalidInput {
            field: "passphrase".into(),
            reason: "no terminal to ask on; pass --passphrase-file FILE (or KEYWARDEN_PASSPHRASE_FILE)".into(),
        }
        .into());
    }
    let first = Zeroizing::new(
        rpassword::prompt_password("Vault passphrase: ").map_err(|e| CliError::io("reading the prompt", e))?,
    );
    if confirm {
        let again =
            Zeroizing::new(rpassword::prompt_password("Again: ").map_err(|e| CliError::io("reading the prompt", e))?);
        if *first != *again {
            return Err(Error::InvalidInput {
                field: "passphrase".into(),
                reason: "the two entries differ".into(),
            }
            .into());
        }
    }
    Ok(SecretString::from(first.to_string()))
}

/// `looks_like_secret` for a whole argument, `--flag=value` included. URLs
/// and paths are exempt: they are long and varied but never a credential.
pub fn looks_like_secret_arg(arg: &str) -> bool {
    let value = match arg.strip_prefix("--").and_then(|a| a.split_once('=')) {
        Some((_, v)) => v,
        None => arg,
    };
    if value.contains("://") || value.starts_with(['/', '.', '~']) {
        return false;
    }
    looks_like_secret(value) || value.split([' ', ',', '=']).any(looks_like_secret)
}

/// True for a command-line value that looks like a credential: a known
/// token prefix, or a long unbroken high-entropy string.
pub fn looks_like_secret(s: &str) -> bool {
    const PREFIXES: [&str; 10] = [
        "sk_live_",
        "sk_test_",
        "pk_live_",
        "rk_live_",
        "ghp_",
        "github_pat_",
        "xoxb-",
        "xoxp-",
        "AKIA",
        "-----BEGIN",
    ];
    if PREFIXES.iter().any(|p| s.starts_with(p)) {
        return true;
    }
    if s.starts_with("eyJ") && s.matches('.').count() == 2 && s.len() > 30 {
        return true;
    }
    let n = s.chars().count();
    if n < 24 || s.chars().any(char::is_whitespace) {
        return false;
    }
    let has_digit = s.chars().any(|c| c.is_ascii_digit());
    let has_alpha = s.chars().any(|c| c.is_ascii_alphabetic());
    if !(has_digit && has_alpha) {
        return false;
    }
    let mut counts = std::collections::HashMap::new();
    for c in s.chars() {
        *counts.entry(c).or_insert(0usize) += 1;
    }
    let entropy: f64 = counts
        .values()
        .map(|&k| {
            let p = k as f64 / n as f64;
            -p * p.log2()
        })
        .sum();
    entropy >= 4.0
}

#[cfg(test)]
mod tests {
    use super::looks_like_secret;

    #[test]
    fn tokens_look_like_secrets_and_names_do_not() {
        assert!(looks_like_secret("sk_live_51HqLyjWDarjtT1zdp7dc"));
        assert!(looks_like_secret("q8Z3vN1xR7tY2wK9mB4cF6hJ0pL5sD"));
        assert!(!looks_like_secret("Xledger production payroll"));
        assert!(!looks_like_secret("123e4567-e89b-12d3-a456-426614174000"));
        assert!(!looks_like_secret("pleo-prod"));
    }
}
