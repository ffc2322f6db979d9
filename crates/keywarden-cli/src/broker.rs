//! `kw run` for unattended jobs: the credential comes from the broker
//! (`kw serve`) with a service account's token, not from a local vault.
//! `KEYWARDEN_BROKER` is `unix:PATH` (the default: `<vault>/broker.sock`,
//! the socket `kw serve` keeps for this user's jobs), `http://` on
//! loopback, or `https://` anywhere (a `kw serve --tls-cert` on the LAN);
//! `KEYWARDEN_BROKER_CA` names the PEM certificate (or CA) to trust
//! instead of the system's roots. Never through a proxy, never following a
//! redirect.
//!
//! The socket is the default because a loopback port is anyone's: another
//! local user can listen on it while `kw serve` is down and collect the
//! token. The socket lives in the vault's owner-only folder, and `kw run`
//! sends the token only to a socket whose server runs as this user
//! (`SO_PEERCRED`).

use std::path::Path;
use std::time::Duration;

use keywarden_core::SecretString;
use zeroize::Zeroizing;

use crate::error::{CliError, CliResult};

/// The token file must be readable by its owner only.
pub fn read_token_file(path: &Path) -> CliResult<Zeroizing<String>> {
    keywarden_core::secret::check_owner_only(path)?;
    let text = std::fs::read_to_string(path).map_err(|e| CliError::io(&format!("reading {}", path.display()), e))?;
    Ok(Zeroizing::new(text.trim().to_owned()))
}

/// The broker's URL for `integration`: plain HTTP only to loopback.
fn credential_url(base: &str, integration: &str) -> CliResult<reqwest::Url> {
    url_of(
        base,
        "KEYWARDEN_BROKER",
        &["v1", "integrations", integration, "credential"],
    )
}

/// `base` + `segments`, refusing plain HTTP to anything but loopback:
/// what goes there carries a credential or a token. `var` names where the
/// address came from, for the message.
fn url_of(base: &str, var: &str, segments: &[&str]) -> CliResult<reqwest::Url> {
    let bad = |why: &str| {
        CliError::new(
            5,
            format!("{var} '{base}' {why}; use http://127.0.0.1:PORT or https://HOST:PORT"),
        )
    };
    let mut url = reqwest::Url::parse(base).map_err(|_| bad("is not a URL"))?;
    let loopback = url.host_str().is_some_and(|h| {
        h.eq_ignore_ascii_case("localhost")
            || h.trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    });
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(bad(
                "is plain HTTP to another machine, which would carry the credential in clear",
            ));
        }
        _ => return Err(bad("is neither http nor https")),
    }
    url.path_segments_mut()
        .map_err(|_| bad("cannot take a path"))?
        .pop_if_empty()
        .extend(segments);
    Ok(url)
}

/// One request to the team broker (`kw team broker`) with the member's
/// OpenBao token: its status and JSON answer.
pub fn team_call(
    base: &str,
    endpoint: &str,
    token: &SecretString,
    body: &serde_json::Value,
) -> CliResult<(u16, serde_json::Value)> {
    use keywarden_core::ExposeSecret;
    let url = url_of(base, "the team broker address", &["v1", "team", endpoint])?;
    if url.scheme() == "http" {
        // The member's OpenBao token: to no one else's listener either.
        let headers = Zeroizing::new(format!(
            "Authorization: Bearer {}\r\nContent-Type: application/json\r\n",
            token.expose_secret()
        ));
        let (status, text) = loopback_request(
            &url,
            "KEYWARDEN_TEAM_BROKER_UID",
            "POST",
            &headers,
            body.to_string().as_bytes(),
        )
        .map_err(|e| CliError::new(16, e.message))?;
        return Ok((status, serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)));
    }
    let response = client()?
        .post(url)
        .bearer_auth(token.expose_secret())
        .json(body)
        .send()
        .map_err(|e| CliError::new(16, format!("the team broker at {base} does not answer: {}", chain(&e))))?;
    let status = response.status().as_u16();
    let text = response
        .text()
        .map_err(|e| CliError::new(16, format!("reading the team broker's answer: {}", chain(&e))))?;
    Ok((status, serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)))
}

/// An error and its causes in one line (reqwest hides the TLS reason in
/// its source chain).
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

fn client() -> CliResult<reqwest::blocking::Client> {
    let mut builder = reqwest::blocking::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30));
    if let Some(ca) = std::env::var_os("KEYWARDEN_BROKER_CA") {
        let path = Path::new(&ca);
        let pem = std::fs::read(path).map_err(|e| CliError::io(&format!("reading {}", path.display()), e))?;
        let cert = reqwest::Certificate::from_pem(&pem).map_err(|e| {
            CliError::new(
                5,
                format!(
                    "KEYWARDEN_BROKER_CA {} is not a PEM certificate: {}",
                    path.display(),
                    chain(&e)
                ),
            )
        })?;
        // Only this certificate is trusted then: the broker is ours, and
        // no public CA should vouch for it (skipping the system's roots
        // also saves the ~40 ms of loading them).
        builder = builder.tls_built_in_root_certs(false).add_root_certificate(cert);
    }
    builder
        .build()
        .map_err(|e| CliError::new(6, format!("cannot set up HTTPS: {}", chain(&e))))
}

/// The socket `kw serve` keeps for this user's jobs, beside the vault.
pub fn default_socket(vault_dir: &Path) -> std::path::PathBuf {
    vault_dir.join("broker.sock")
}

/// The integration's credential as environment variables, from the broker.
pub fn fetch(vault_dir: &Path, integration: &str, token: &str) -> CliResult<Vec<(String, SecretString)>> {
    let base = std::env::var("KEYWARDEN_BROKER")
        .ok()
        .filter(|b| !b.trim().is_empty())
        .unwrap_or_else(|| format!("unix:{}", default_socket(vault_dir).display()));
    let (status, body) = match base.strip_prefix("unix:") {
        Some(path) => fetch_local(Path::new(path), integration, token)?,
        None => fetch_http(&base, integration, token)?,
    };
    answer(integration, status, &body)
}

fn fetch_http(base: &str, integration: &str, token: &str) -> CliResult<(u16, Zeroizing<String>)> {
    let url = credential_url(base, integration)?;
    if url.scheme() == "http" {
        let auth = Zeroizing::new(format!("Authorization: Bearer {token}\r\n"));
        return loopback_request(&url, "KEYWARDEN_BROKER_UID", "GET", &auth, b"");
    }
    let response = client()?.get(url).bearer_auth(token).send().map_err(|e| {
        let why = chain(&e);
        let hint = if e.is_connect() && why.contains("certificate") {
            "; if the broker's certificate is self-signed, set KEYWARDEN_BROKER_CA to its PEM file"
        } else {
            "; is `kw serve` running there?"
        };
        CliError::new(6, format!("the broker at {base} does not answer: {why}{hint}"))
    })?;
    let status = response.status().as_u16();
    let body = Zeroizing::new(
        response
            .text()
            .map_err(|e| CliError::new(6, format!("reading the broker's answer: {}", chain(&e))))?,
    );
    Ok((status, body))
}

/// A request in plain HTTP to a loopback port (`url_of` allows no other),
/// where any local user may listen while our service is down: on a
/// connection of our own whose other end, the kernel says
/// (`/proc/net/tcp`), belongs to this user, or to the uid `uid_var` names
/// (a service run as a service user). Nothing is sent before that check,
/// and the request goes on that very connection.
#[cfg(target_os = "linux")]
fn loopback_request(
    url: &reqwest::Url,
    uid_var: &str,
    method: &str,
    headers: &str,
    body: &[u8],
) -> CliResult<(u16, Zeroizing<String>)> {
    use std::io::{Read, Write};
    use std::net::{IpAddr, Ipv4Addr, SocketAddr};
    let shown = format!(
        "{}:{}",
        url.host_str().unwrap_or("?"),
        url.port_or_known_default().unwrap_or(80)
    );
    // An address as given; `localhost` is the IPv4 one, named, not
    // whatever a resolver answers first.
    let ip = url
        .host_str()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let target = SocketAddr::new(ip, url.port_or_known_default().unwrap_or(80));
    let expected = match std::env::var(uid_var) {
        Ok(uid) => uid
            .trim()
            .parse::<u32>()
            .map_err(|_| CliError::new(5, format!("{uid_var} '{uid}' is not a user id (a number)")))?,
        Err(_) => rustix::process::getuid().as_raw(),
    };
    let unanswered = |e: std::io::Error| {
        CliError::new(
            6,
            format!("the broker at {shown} does not answer ({e}); is it running there?"),
        )
    };
    let mut stream = std::net::TcpStream::connect_timeout(&target, Duration::from_secs(10)).map_err(unanswered)?;
    let (ours, theirs) = (
        stream.local_addr().map_err(unanswered)?,
        stream.peer_addr().map_err(unanswered)?,
    );
    match connection_owner(theirs, ours) {
        Some(owner) if owner == expected => {}
        Some(owner) => {
            return Err(CliError::new(
                6,
                format!(
                    "{shown} is served by another user (uid {owner}), not by your broker; the token was not sent. \
                     Use the broker's socket (unset KEYWARDEN_BROKER), or set {uid_var} to the user the broker runs as"
                ),
            ));
        }
        None => {
            return Err(CliError::new(
                6,
                format!("cannot tell who serves {shown} (/proc/net/tcp says nothing of it); the token was not sent"),
            ));
        }
    }
    let io = |e: std::io::Error| CliError::new(6, format!("talking to the broker at {shown}: {e}"));
    let timeout = Some(Duration::from_secs(30));
    stream.set_read_timeout(timeout).map_err(io)?;
    stream.set_write_timeout(timeout).map_err(io)?;
    let mut request = Zeroizing::new(
        format!(
            "{method} {} HTTP/1.1\r\nHost: {shown}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
            url.path(),
            body.len()
        )
        .into_bytes(),
    );
    request.extend_from_slice(body);
    stream.write_all(&request).map_err(io)?;
    let mut raw = Zeroizing::new(Vec::new());
    (&mut stream).take(1 << 20).read_to_end(&mut raw).map_err(io)?;
    parse_answer(&raw).ok_or_else(|| CliError::new(6, format!("the broker at {shown} sent no HTTP answer")))
}

#[cfg(not(target_os = "linux"))]
fn loopback_request(url: &reqwest::Url, _: &str, _: &str, _: &str, _: &[u8]) -> CliResult<(u16, Zeroizing<String>)> {
    Err(CliError::new(
        5,
        format!(
            "plain HTTP to {} is checked for who listens there on Linux only; use the broker's https:// address",
            url.host_str().unwrap_or("the broker")
        ),
    ))
}

/// The uid that owns the far end of our TCP connection `ours` -> `theirs`:
/// the row of `/proc/net/tcp` (or `tcp6`, where an IPv6 socket took an
/// IPv4 connection) whose local address is `theirs` and remote `ours`. An
/// accepted (or queued) connection carries its listener's owner.
#[cfg(target_os = "linux")]
fn connection_owner(theirs: std::net::SocketAddr, ours: std::net::SocketAddr) -> Option<u32> {
    use std::net::{IpAddr, SocketAddr};
    // As the kernel prints them: each 32-bit word of the address in this
    // machine's byte order, then the port, in hex.
    let hex = |a: SocketAddr, mapped: bool| -> String {
        let words: Vec<[u8; 4]> = match a.ip() {
            IpAddr::V4(v4) if mapped => v4
                .to_ipv6_mapped()
                .octets()
                .chunks(4)
                .map(|c| [c[0], c[1], c[2], c[3]])
                .collect(),
            IpAddr::V4(v4) => vec![v4.octets()],
            IpAddr::V6(v6) => v6.octets().chunks(4).map(|c| [c[0], c[1], c[2], c[3]]).collect(),
        };
        let mut out: String = words
            .iter()
            .map(|w| format!("{:08X}", u32::from_ne_bytes(*w)))
            .collect();
        out.push_str(&format!(":{:04X}", a.port()));
        out
    };
    let tables: &[(&str, bool)] = match theirs.ip() {
        IpAddr::V4(_) => &[("/proc/net/tcp", false), ("/proc/net/tcp6", true)],
        IpAddr::V6(_) => &[("/proc/net/tcp6", false)],
    };
    for (table, mapped) in tables {
        let (local, remote) = (hex(theirs, *mapped), hex(ours, *mapped));
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.get(1) == Some(&local.as_str()) && f.get(2) == Some(&remote.as_str()) {
                return f.get(7).and_then(|uid| uid.parse().ok());
            }
        }
    }
    None
}

/// One request over the same-user socket: plain HTTP/1.1, one answer, then
/// the connection closes. The token goes only to a server that runs as
/// this user.
#[cfg(not(target_os = "linux"))]
fn fetch_local(path: &Path, _: &str, _: &str) -> CliResult<(u16, Zeroizing<String>)> {
    Err(CliError::new(
        5,
        format!(
            "the broker socket {} is checked for its owner on Linux only; set KEYWARDEN_BROKER to the broker's https:// address",
            path.display()
        ),
    ))
}

#[cfg(target_os = "linux")]
fn fetch_local(path: &Path, integration: &str, token: &str) -> CliResult<(u16, Zeroizing<String>)> {
    use std::io::{Read, Write};
    let shown = path.display();
    let stream = std::os::unix::net::UnixStream::connect(path).map_err(|e| {
        CliError::new(
            6,
            format!(
                "the broker at {shown} does not answer ({e}); is `kw serve` running on this vault? (Elsewhere, set KEYWARDEN_BROKER)"
            ),
        )
    })?;
    let server = rustix::net::sockopt::socket_peercred(&stream)
        .map_err(|e| CliError::new(6, format!("cannot tell who serves {shown}: {e}")))?;
    if server.uid != rustix::process::getuid() {
        return Err(CliError::new(
            6,
            format!(
                "{shown} is served by another user (uid {}), not by your kw serve; the token was not sent",
                server.uid.as_raw()
            ),
        ));
    }
    let mut stream = stream;
    let timeout = Some(Duration::from_secs(30));
    let io = |e: std::io::Error| CliError::new(6, format!("talking to the broker at {shown}: {e}"));
    stream.set_read_timeout(timeout).map_err(io)?;
    stream.set_write_timeout(timeout).map_err(io)?;
    let target = credential_url("http://localhost", integration)?;
    let request = Zeroizing::new(format!(
        "GET {} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n",
        target.path()
    ));
    stream.write_all(request.as_bytes()).map_err(io)?;
    let mut raw = Zeroizing::new(Vec::new());
    // An answer is a few KiB; a server that sends more is not ours.
    (&mut stream).take(1 << 20).read_to_end(&mut raw).map_err(io)?;
    parse_answer(&raw).ok_or_else(|| CliError::new(6, format!("the broker at {shown} sent no HTTP answer")))
}

/// The status and body of an HTTP/1.1 answer read to its end.
fn parse_answer(raw: &[u8]) -> Option<(u16, Zeroizing<String>)> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let status = head.lines().next()?.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()?;
    let mut body = &raw[split + 4..];
    let length = head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse::<usize>().ok())?
    });
    if let Some(n) = length {
        body = body.get(..n)?;
    }
    Some((status, Zeroizing::new(String::from_utf8(body.to_vec()).ok()?)))
}

fn answer(integration: &str, status: u16, body: &str) -> CliResult<Vec<(String, SecretString)>> {
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
                    crate::error::answered(&v)
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
    // An OAuth 2.0 credential: the access token the broker obtained.
    if let (Some(var), Some(value)) = (
        v["access_token"]["variable"].as_str(),
        v["access_token"]["value"].as_str(),
    ) {
        keywarden_core::run::check_env_name("access_token", var)?;
        if let Some(until) = v["access_token"]["expires_at"].as_str() {
            out.push((format!("{var}_EXPIRES_AT"), SecretString::from(until.to_owned())));
        }
        out.push((var.to_owned(), SecretString::from(value.to_owned())));
    }
    Ok(out)
}
