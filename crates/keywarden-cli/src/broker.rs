//! `kw run` for unattended jobs: the credential comes from the broker
//! (`kw serve`) with a service account's token, not from a local vault.
//! Plain HTTP, loopback only: a broker on another machine is reached
//! through a TLS terminator or an SSH tunnel to a local port.

use std::io::{Read, Write};
use std::path::Path;

use keywarden_core::SecretString;
use zeroize::Zeroizing;

use crate::{CliError, CliResult};

/// The token file must be readable by its owner only.
pub fn read_token_file(path: &Path) -> CliResult<Zeroizing<String>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| CliError::io(&format!("reading {}", path.display()), e))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(CliError::new(
                5,
                format!(
                    "{} is readable by others (mode {:o}); make it owner-only: chmod 600 {}",
                    path.display(),
                    mode & 0o777,
                    path.display()
                ),
            ));
        }
    }
    let text = std::fs::read_to_string(path).map_err(|e| CliError::io(&format!("reading {}", path.display()), e))?;
    Ok(Zeroizing::new(text.trim().to_owned()))
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The integration's credential as environment variables, from the broker.
pub fn fetch(integration: &str, token: &str) -> CliResult<Vec<(String, SecretString)>> {
    let base = std::env::var("KEYWARDEN_BROKER").unwrap_or_else(|_| "http://127.0.0.1:8787".into());
    let host = base
        .strip_prefix("http://")
        .map(|h| h.trim_end_matches('/'))
        .filter(|h| h.starts_with("127.0.0.1:") || h.starts_with("localhost:") || h.starts_with("[::1]:"))
        .ok_or_else(|| {
            CliError::new(
                5,
                format!("KEYWARDEN_BROKER '{base}' is not http://127.0.0.1:PORT; the broker is reached over loopback"),
            )
        })?;
    let mut stream = std::net::TcpStream::connect(host).map_err(|e| {
        CliError::new(
            6,
            format!("the broker at {base} does not answer ({e}); is `kw serve` running?"),
        )
    })?;
    let request = Zeroizing::new(format!(
        "GET /v1/integrations/{}/credential HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n",
        percent(integration)
    ));
    stream
        .write_all(request.as_bytes())
        .map_err(|e| CliError::io("asking the broker", e))?;
    let mut raw = Zeroizing::new(Vec::new());
    stream
        .read_to_end(&mut raw)
        .map_err(|e| CliError::io("reading the broker's answer", e))?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status: u16 = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or(serde_json::Value::Null);
    match status {
        200 => {}
        401 => {
            return Err(CliError::new(
                7,
                format!(
                    "the broker refused the token for '{integration}': unknown, revoked, expired, or not granted this integration"
                ),
            ));
        }
        _ => {
            return Err(CliError::new(
                8,
                format!(
                    "the broker could not hand out '{integration}': {}",
                    v["message"].as_str().unwrap_or("no reason given")
                ),
            ));
        }
    }
    let integration_name = v["integration"].as_str().unwrap_or(integration).to_owned();
    let env_names = v["env_names"].as_object().cloned().unwrap_or_default();
    let mut out = Vec::new();
    if let Some(secrets) = v["secrets"].as_object() {
        for (field, value) in secrets {
            let var = env_names
                .get(field)
                .and_then(|n| n.as_str())
                .map(str::to_owned)
                .unwrap_or_else(|| keywarden_core::run::default_env_name(&integration_name, field));
            out.push((var, SecretString::from(value.as_str().unwrap_or_default().to_owned())));
        }
    }
    Ok(out)
}
