//! The one place where text that came from outside — a provider's answer,
//! a network error, anything a validator reports — is cleaned of the
//! credential's secrets before it is shown, stored or audited.
//!
//! A provider may echo what it was sent, and not always as sent: a token
//! endpoint that repeats the form body percent-encodes it, one that repeats
//! the `Authorization` header base64-encodes `user:secret`, and a JSON
//! answer escapes quotes and backslashes. Each secret is therefore looked
//! for in each of those forms. The audit log is tamper-evident: a secret
//! that reached it could never be removed again.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

use crate::secret::SecretFields;
use crate::validate::{Failure, Rejection, Verdict};

/// What a secret is replaced with.
pub const MASK: &str = "••••••••";

/// Shorter runs are not searched for inside a base64 text: a few
/// characters match by chance.
const MIN_BASE64_RUN: usize = 8;

/// Replaces every secret in `text`, in every form it may come back in.
pub fn redact(text: &str, secrets: &[&str]) -> String {
    let mut needles: Vec<String> = secrets
        .iter()
        .filter(|s| !s.is_empty())
        .flat_map(|s| encodings(s))
        .collect();
    // Longest first: a form that contains another is replaced whole.
    needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
    needles.dedup();
    let replace = |text: &str| {
        let mut out = text.to_owned();
        for n in &needles {
            if out.contains(n.as_str()) {
                out = out.replace(n.as_str(), MASK);
            }
        }
        out
    };
    // Writers escape as they like, and mix escapes (`\/` beside `\u00e6`,
    // `&#47;` beside `&amp;`): the text with its JSON and HTML escapes
    // undone (twice, for an escape escaped again) is searched too, and
    // shown undone when a secret was found only that way.
    let mut out = replace(text);
    let mut current = out.clone();
    for _ in 0..2 {
        let Some(plain) = unescaped(&current) else {
            break;
        };
        let cleaned = replace(&plain);
        if cleaned != plain {
            // Shown undone: an escaped control character (`\u001b`) must
            // not become a real one in a terminal or the audit log.
            out = cleaned
                .chars()
                .map(|c| {
                    if c.is_control() && c != '\n' && c != '\t' {
                        '\u{FFFD}'
                    } else {
                        c
                    }
                })
                .collect();
        }
        current = cleaned;
    }
    out
}

/// `text` with JSON string escapes (`\uXXXX`, surrogate pairs included,
/// `\/`, `\"`, `\\`), HTML character references (`&amp;` `&lt;` `&gt;`
/// `&quot;` `&apos;`, `&#N;`, `&#xH;`) and percent-encoding (`%2F`, as any
/// encoder left the rest) undone; `None` when it has none.
fn unescaped(text: &str) -> Option<String> {
    if !text.contains('\\') && !text.contains('&') && !text.contains('%') {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut changed = false;
    while let Some(c) = rest.chars().next() {
        if c == '%' {
            let (bytes, used) = percent_run(rest);
            if used > 0 {
                out.push_str(&String::from_utf8_lossy(&bytes));
                changed = true;
                rest = &rest[used..];
                continue;
            }
        }
        let (decoded, used) = match c {
            '\\' => json_escape(rest),
            '&' => html_reference(rest),
            _ => (None, c.len_utf8()),
        };
        match decoded {
            Some(d) => {
                out.push(d);
                changed = true;
            }
            None => out.push_str(&rest[..used]),
        }
        rest = &rest[used..];
    }
    changed.then_some(out)
}

/// The bytes of the `%XX` escapes at the start of `s`, one after another,
/// and their length (0: none).
fn percent_run(s: &str) -> (Vec<u8>, usize) {
    let b = s.as_bytes();
    let mut bytes = Vec::new();
    let mut at = 0;
    while b.get(at) == Some(&b'%') {
        let hex = |i: usize| b.get(i).and_then(|c| (*c as char).to_digit(16));
        match (hex(at + 1), hex(at + 2)) {
            (Some(h), Some(l)) => {
                bytes.push((h * 16 + l) as u8);
                at += 3;
            }
            _ => break,
        }
    }
    (bytes, at)
}

/// The character a JSON escape at the start of `s` stands for, and its
/// length; `(None, 1)` when there is none.
fn json_escape(s: &str) -> (Option<char>, usize) {
    let hex4 = |from: usize| {
        s.get(from..from + 4)
            .filter(|h| h.chars().all(|c| c.is_ascii_hexdigit()))
            .and_then(|h| u32::from_str_radix(h, 16).ok())
    };
    match s.as_bytes().get(1) {
        Some(b'/') => (Some('/'), 2),
        Some(b'"') => (Some('"'), 2),
        Some(b'\\') => (Some('\\'), 2),
        Some(b'u') => match hex4(2) {
            Some(hi @ 0xD800..=0xDBFF) => match (s.get(6..8), hex4(8)) {
                (Some("\\u"), Some(lo @ 0xDC00..=0xDFFF)) => {
                    (char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)), 12)
                }
                _ => (None, 1),
            },
            Some(code) => match char::from_u32(code) {
                Some(c) => (Some(c), 6),
                None => (None, 1),
            },
            None => (None, 1),
        },
        _ => (None, 1),
    }
}

/// The character an HTML reference at the start of `s` stands for, and
/// its length; `(None, 1)` when there is none.
fn html_reference(s: &str) -> (Option<char>, usize) {
    // The longest reference looked for, `&#x10FFFF;`, is 10 bytes.
    let Some(end) = s.bytes().take(12).position(|b| b == b';') else {
        return (None, 1);
    };
    let Some(name) = s.get(1..end) else {
        return (None, 1);
    };
    let c = match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => name
            .strip_prefix("#x")
            .or_else(|| name.strip_prefix("#X"))
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .or_else(|| name.strip_prefix('#').and_then(|d| d.parse::<u32>().ok()))
            .and_then(char::from_u32),
    };
    match c {
        Some(c) => (Some(c), end + 1),
        None => (None, 1),
    }
}

/// The values of every field of `secrets`, to redact against.
pub fn values(secrets: &SecretFields) -> Vec<&str> {
    use secrecy::ExposeSecret;
    secrets.iter().map(|(_, v)| v.expose_secret()).collect()
}

/// The forms of `secret` searched for.
fn encodings(secret: &str) -> Vec<String> {
    let bytes = secret.as_bytes();
    let json = json_escaped(secret);
    let mut out = vec![
        secret.to_owned(),
        // JSON writers differ: `\/` for `/` (PHP, some Java), `\u0026`
        // for `&<>` (Go), `\u002B` for everything not a letter or digit
        // (.NET, eager escapers), in either case of hex.
        json.replace('/', "\\/"),
        json.replace('&', "\\u0026")
            .replace('<', "\\u003c")
            .replace('>', "\\u003e"),
        unicode_escaped(secret, false),
        unicode_escaped(secret, true),
        // An HTML error page.
        html_escaped(secret, "&#39;"),
        html_escaped(secret, "&#x27;"),
        json,
    ];
    for form in [false, true] {
        for lower in [false, true] {
            for keep in [Keep::Unreserved, Keep::Alphanumeric, Keep::Form] {
                out.push(percent_encoded(secret, form, lower, keep));
            }
        }
    }
    for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
        out.push(engine.encode(bytes));
    }
    // Inside a longer base64 text (`user:secret` in a Basic header) the
    // secret's encoding depends on its offset modulo 3: for each offset,
    // the characters that depend on the secret's bytes alone.
    for offset in 0..3 {
        let mut padded = vec![0u8; offset];
        padded.extend_from_slice(bytes);
        for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
            let encoded = engine.encode(&padded);
            // The first character mixing the prefix, and the last two that
            // may mix what follows, are left out.
            let start = (offset * 8).div_ceil(6);
            let end = encoded.len().saturating_sub(2);
            if end > start && end - start >= MIN_BASE64_RUN {
                out.push(encoded[start..end].to_owned());
            }
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

/// How serde_json writes `s` inside a string (without the quotes).
fn json_escaped(s: &str) -> String {
    let quoted = serde_json::to_string(s).unwrap_or_default();
    quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or_default()
        .to_owned()
}

/// `\uXXXX` for every ASCII character but letters and digits.
fn unicode_escaped(s: &str, upper: bool) -> String {
    let mut out = String::with_capacity(s.len() * 6);
    for c in s.chars() {
        match c {
            c if c.is_ascii_alphanumeric() || !c.is_ascii() => out.push(c),
            c if upper => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push_str(&format!("\\u{:04x}", c as u32)),
        }
    }
    out
}

/// HTML's escapes of `&<>"` and `'` (written as `apostrophe`).
fn html_escaped(s: &str, apostrophe: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str(apostrophe),
            c => out.push(c),
        }
    }
    out
}

/// Which characters a percent-encoder leaves as they are.
#[derive(Clone, Copy)]
enum Keep {
    /// RFC 3986's unreserved set: letters, digits, `-._~`.
    Unreserved,
    /// Letters and digits only, as the most eager encoders do.
    Alphanumeric,
    /// The WHATWG form encoder's set (what our own token requests send):
    /// letters, digits, `*-._`.
    Form,
}

/// Percent-encoding of everything but what `keep` names; `form`: a space
/// is `+` (application/x-www-form-urlencoded); `lower`: `%2f` rather than
/// `%2F`, as some servers write it.
fn percent_encoded(s: &str, form: bool, lower: bool, keep: Keep) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        let kept = b.is_ascii_alphanumeric()
            || matches!(
                (keep, b),
                (Keep::Unreserved, b'-' | b'.' | b'_' | b'~') | (Keep::Form, b'*' | b'-' | b'.' | b'_')
            );
        match b {
            _ if kept => out.push(b as char),
            b' ' if form => out.push('+'),
            _ if lower => out.push_str(&format!("%{b:02x}")),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl Failure {
    /// The same failure with every text the provider could have written
    /// cleaned of `secrets`.
    pub fn redacted(self, secrets: &[&str]) -> Failure {
        let r = |t: String| redact(&t, secrets);
        match self {
            Failure::InvalidCredential { detail } => Failure::InvalidCredential { detail: r(detail) },
            Failure::Expired { detail } => Failure::Expired { detail: r(detail) },
            Failure::InsufficientScope { missing } => Failure::InsufficientScope {
                missing: missing.into_iter().map(r).collect(),
            },
            Failure::WrongTenant { expected, actual } => Failure::WrongTenant {
                expected: r(expected),
                actual: r(actual),
            },
            Failure::WrongEnvironment { expected, actual } => Failure::WrongEnvironment {
                expected: r(expected),
                actual: r(actual),
            },
            Failure::RateLimited {
                retry_after_secs,
                detail,
            } => Failure::RateLimited {
                retry_after_secs,
                detail: r(detail),
            },
            Failure::Unreachable { detail } => Failure::Unreachable { detail: r(detail) },
            Failure::Tls { detail } => Failure::Tls { detail: r(detail) },
            Failure::Unsafe { detail } => Failure::Unsafe { detail: r(detail) },
            Failure::Format { detail } => Failure::Format { detail: r(detail) },
            Failure::Provider { status, detail } => Failure::Provider {
                status,
                detail: r(detail),
            },
        }
    }
}

impl Verdict {
    /// The same verdict with every name the provider gave (tenant,
    /// environment, scopes, issuer, audience, application, method) cleaned
    /// of `secrets`. What the provider issued (`renewed`) is kept: it is
    /// sealed, never shown.
    pub fn redacted(self, secrets: &[&str]) -> Verdict {
        let r = |t: String| redact(&t, secrets);
        // Taken apart whole: a text field added to Verdict must be named here.
        let Verdict {
            tenant_id,
            environment,
            scopes,
            expires_at,
            issuer,
            audience,
            application,
            auth_method,
            offline,
            notes,
            renewed,
        } = self;
        Verdict {
            tenant_id: tenant_id.map(r),
            environment: environment.map(r),
            scopes: scopes.into_iter().map(r).collect(),
            expires_at,
            issuer: issuer.map(r),
            audience: audience.into_iter().map(r).collect(),
            application: application.map(r),
            auth_method: auth_method.map(r),
            offline,
            notes: notes.into_iter().map(r).collect(),
            renewed,
        }
    }
}

impl Rejection {
    pub fn redacted(self, secrets: &[&str]) -> Rejection {
        Rejection {
            failure: self.failure.redacted(secrets),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cr3t/+=\"value\\with spaces&more~";

    #[test]
    fn every_encoding_of_the_secret_is_masked() {
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        let forms = [
            SECRET.to_owned(),
            json_escaped(SECRET),
            json_escaped(SECRET).replace('/', "\\/"),
            json_escaped(SECRET).replace('&', "\\u0026"),
            unicode_escaped(SECRET, true),
            unicode_escaped(SECRET, false),
            html_escaped(SECRET, "&#39;"),
            percent_encoded(SECRET, true, false, Keep::Unreserved),
            percent_encoded(SECRET, false, false, Keep::Unreserved),
            percent_encoded(SECRET, true, true, Keep::Alphanumeric),
            STANDARD.encode(SECRET),
            URL_SAFE_NO_PAD.encode(SECRET),
        ];
        for form in forms {
            let text = format!("error: {form} was refused");
            let clean = redact(&text, &[SECRET]);
            assert_eq!(clean, format!("error: {MASK} was refused"), "{form}");
        }
    }

    /// As .NET writes `+` (and only a few others), as Python and PHP write
    /// letters beyond ASCII, with `\/` and `\u` mixed, and as an HTML page
    /// writes `/` and `'`: each undone before the search.
    #[test]
    fn a_secret_escaped_in_part_or_in_a_mix_of_styles_is_masked() {
        let cases = [
            ("AbC+dEf/12=", r"AbC\u002BdEf/12="),
            ("Passord-æøå", r"Passord-\u00e6\u00f8\u00e5"),
            ("Passord-æøå/x", r"Passord-\u00E6\u00f8\u00e5\/x"),
            ("emoji-😀-key", r"emoji-\ud83d\ude00-key"),
            ("it's/a&key", "it&#39;s&#x2F;a&amp;key"),
            ("it's/a&key", "it&apos;s&#47;a&amp;key"),
            // As our form encoder sends it, and as Python's quote() leaves `/`.
            ("ab*cd/ef~", "ab*cd%2Fef%7E"),
            ("ab cd/ef!", "ab%20cd/ef%21"),
        ];
        for (secret, echoed) in cases {
            let text = format!("{{\"error\":\"{echoed} is not valid\"}}");
            let clean = redact(&text, &[secret]);
            assert!(clean.contains(MASK), "{echoed}: {clean}");
            assert!(
                unescaped(&clean).unwrap_or(clean.clone()).find(secret).is_none(),
                "{echoed}: {clean}"
            );
        }
        // Text with escapes but no secret is left exactly as it was.
        let text = r#"{"error":"a \/ b \u00e6 &amp; c"}"#;
        assert_eq!(redact(text, &["unrelated-secret"]), text);
    }

    #[test]
    fn a_secret_inside_a_longer_base64_text_is_masked_at_every_offset() {
        use base64::engine::general_purpose::STANDARD;
        let secret = "pk_live_0123456789abcdef";
        for user in ["", "a", "ab", "abc", "client-id"] {
            let basic = STANDARD.encode(format!("{user}:{secret}"));
            let clean = redact(&format!("Authorization: Basic {basic}"), &[secret]);
            assert!(clean.contains(MASK), "user {user:?}: {clean}");
            assert!(!clean.contains(&basic), "user {user:?}: {clean}");
        }
    }

    #[test]
    fn text_without_the_secret_is_unchanged_and_empty_secrets_are_ignored() {
        let text = "invalid_client: AADSTS7000215 Invalid client secret provided";
        assert_eq!(redact(text, &["pk_live_0123456789abcdef", ""]), text);
    }

    #[test]
    fn every_text_of_a_failure_and_a_verdict_is_cleaned() {
        let s = "pk_live_0123456789abcdef";
        let failures = [
            Failure::InvalidCredential { detail: s.into() },
            Failure::Expired { detail: s.into() },
            Failure::InsufficientScope {
                missing: vec![s.into()],
            },
            Failure::WrongTenant {
                expected: "t".into(),
                actual: s.into(),
            },
            Failure::WrongEnvironment {
                expected: "e".into(),
                actual: s.into(),
            },
            Failure::RateLimited {
                retry_after_secs: None,
                detail: s.into(),
            },
            Failure::Unreachable { detail: s.into() },
            Failure::Tls { detail: s.into() },
            Failure::Unsafe { detail: s.into() },
            Failure::Format { detail: s.into() },
            Failure::Provider {
                status: Some(400),
                detail: s.into(),
            },
        ];
        for f in failures {
            let clean = f.redacted(&[s]);
            assert!(!format!("{clean:?}").contains(s), "{clean:?}");
        }
        let v = Verdict {
            tenant_id: Some(s.into()),
            environment: Some(s.into()),
            scopes: vec![s.into()],
            issuer: Some(s.into()),
            audience: vec![s.into()],
            application: Some(s.into()),
            auth_method: Some(s.into()),
            ..Verdict::default()
        }
        .redacted(&[s]);
        assert!(!format!("{v:?}").contains(s), "{v:?}");
    }
}
