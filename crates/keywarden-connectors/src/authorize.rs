//! Connect: the authorization-code grant (RFC 6749 §4.1) with PKCE
//! (RFC 7636, S256 only) for a native app, its redirect caught on a
//! loopback port (RFC 8252 §7.3).
//!
//! `Connect::start` makes the `state` and the code verifier, binds the
//! listener on 127.0.0.1 (a random port, or the fixed one a provider that
//! demands an exact registered redirect URI needs) and builds the URL the
//! browser opens. `Connect::finish` waits for the one redirect, answers it
//! with a page saying what happened, closes the port, checks `state` and
//! exchanges the code with the verifier at the token endpoint. Opening the
//! browser is the caller's (a shell knows how): this module knows HTTP and
//! nothing of windows or terminals.
//!
//! Nothing is stored here: the caller stores the grant's refresh token,
//! and only when `finish` succeeded, so a refusal, a wrong `state`, a closed
//! browser or a timeout leave the vault as it was.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keywarden_core::{Failure, SecretFields, SecretString};
use rand::RngCore;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::Options;
use crate::oauth2::{Grant, GrantRequest, request_grant};

/// The path of the redirect URI on the loopback listener.
pub const REDIRECT_PATH: &str = "/callback";

/// How long a person has to sign in and consent, by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// A request line and headers larger than this are not a browser's redirect.
const MAX_REQUEST: usize = 16 * 1024;

/// Why Connect ended without a grant. Each says what to do; none carries
/// a code, a token or the provider's free text.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("an OAuth 2.0 credential needs {0} to connect")]
    Config(String),
    #[error("the redirect listener could not start on 127.0.0.1:{port}: {reason}")]
    Listen { port: u16, reason: String },
    #[error(
        "no answer from the browser within {0} s: the sign-in was not finished (the browser was closed, or it is \
         still open); nothing was stored, connect again"
    )]
    TimedOut(u64),
    #[error("the provider refused the authorization ({0}); nothing was stored")]
    Refused(String),
    #[error(
        "the redirect's state does not match the one this Connect sent: it is not the answer to this sign-in; \
         nothing was stored, connect again"
    )]
    WrongState,
    #[error("the redirect carried no authorization code; nothing was stored, connect again")]
    NoCode,
    #[error("the token endpoint refused the code: {0}; nothing was stored")]
    Exchange(Failure),
    #[error("the redirect listener failed: {0}")]
    Io(String),
}

/// RFC 7636 §4.1–4.2: a verifier of 32 random bytes (43 characters of
/// base64url) and its S256 challenge.
pub struct Pkce {
    verifier: SecretString,
    challenge: String,
}

impl Pkce {
    pub fn new() -> Pkce {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Pkce::from_verifier(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The challenge `BASE64URL(SHA256(verifier))` of a given verifier.
    pub fn from_verifier(verifier: String) -> Pkce {
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        Pkce {
            verifier: SecretString::from(verifier),
            challenge,
        }
    }

    pub fn challenge(&self) -> &str {
        &self.challenge
    }
}

impl Default for Pkce {
    fn default() -> Pkce {
        Pkce::new()
    }
}

/// What Connect needs from an OAuth 2.0 credential's configuration:
/// `authorize_url`, `token_url`, `client_id`, optional `scope`, optional
/// `redirect_port` (a provider with an exact registered redirect URI).
pub struct ConnectConfig<'a> {
    config: &'a BTreeMap<String, String>,
    authorize_url: url::Url,
    redirect_port: u16,
}

impl<'a> ConnectConfig<'a> {
    pub fn read(config: &'a BTreeMap<String, String>) -> Result<ConnectConfig<'a>, ConnectError> {
        let need = |k: &str| {
            config
                .get(k)
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| ConnectError::Config(format!("an {k}")))
        };
        let authorize_url = url::Url::parse(need("authorize_url")?.trim())
            .map_err(|e| ConnectError::Config(format!("an authorize_url that is a URL ({e})")))?;
        need("token_url")?;
        need("client_id")?;
        let redirect_port = match config.get("redirect_port").map(|p| p.trim()) {
            None | Some("") => 0,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p >= 1024)
                .ok_or_else(|| ConnectError::Config("a redirect_port from 1024 to 65535".into()))?,
        };
        Ok(ConnectConfig {
            config,
            authorize_url,
            redirect_port,
        })
    }
}

/// A Connect under way: the listener is bound, the browser may open
/// `authorize_url`.
pub struct Connect {
    listener: TcpListener,
    state: SecretString,
    pkce: Pkce,
    redirect_uri: String,
    authorize_url: url::Url,
}

impl Connect {
    pub fn start(config: &ConnectConfig<'_>) -> Result<Connect, ConnectError> {
        let listener =
            TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, config.redirect_port)).map_err(|e| {
                ConnectError::Listen {
                    port: config.redirect_port,
                    reason: e.to_string(),
                }
            })?;
        let port = listener
            .local_addr()
            .map_err(|e| ConnectError::Io(e.to_string()))?
            .port();
        // RFC 8252 §7.3: the IP literal, not `localhost`.
        let redirect_uri = format!("http://127.0.0.1:{port}{REDIRECT_PATH}");
        let mut state = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut state);
        let state = SecretString::from(URL_SAFE_NO_PAD.encode(state));
        let pkce = Pkce::new();
        let mut authorize_url = config.authorize_url.clone();
        {
            let mut q = authorize_url.query_pairs_mut();
            q.append_pair("response_type", "code");
            q.append_pair("client_id", config.config["client_id"].trim());
            q.append_pair("redirect_uri", &redirect_uri);
            if let Some(scope) = config.config.get("scope").filter(|s| !s.trim().is_empty()) {
                q.append_pair("scope", scope.trim());
            }
            q.append_pair("state", state.expose_secret());
            q.append_pair("code_challenge", pkce.challenge());
            q.append_pair("code_challenge_method", "S256");
        }
        Ok(Connect {
            listener,
            state,
            pkce,
            redirect_uri,
            authorize_url,
        })
    }

    /// The URL to open in the system browser.
    pub fn authorize_url(&self) -> &url::Url {
        &self.authorize_url
    }

    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Waits up to `timeout` for the redirect, answers it, closes the
    /// listener, and exchanges the code. A request that is not the redirect
    /// (another path, not a GET) is answered 404 and waiting goes on.
    pub fn finish(
        self,
        options: &Options,
        config: &BTreeMap<String, String>,
        secrets: &SecretFields,
        timeout: Duration,
    ) -> Result<Grant, ConnectError> {
        let code = self
            .wait_for_redirect(timeout)
            .and_then(|query| self.check_redirect(&query));
        // One request answered (or none in time): the port closes now,
        // whatever happens next.
        let Connect {
            listener,
            pkce,
            redirect_uri,
            ..
        } = self;
        drop(listener);
        let code = code?;
        request_grant(
            options,
            config,
            secrets,
            GrantRequest::AuthorizationCode {
                code: &code,
                verifier: &pkce.verifier,
                redirect_uri: &redirect_uri,
            },
        )
        .map_err(ConnectError::Exchange)
    }

    /// The redirect's query parameters.
    fn wait_for_redirect(&self, timeout: Duration) -> Result<BTreeMap<String, String>, ConnectError> {
        let deadline = Instant::now() + timeout;
        self.listener
            .set_nonblocking(true)
            .map_err(|e| ConnectError::Io(e.to_string()))?;
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    if let Some(query) = answer_one(stream, deadline)? {
                        return Ok(query);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        return Err(ConnectError::TimedOut(timeout.as_secs()));
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(ConnectError::Io(e.to_string())),
            }
        }
    }

    fn check_redirect(&self, query: &BTreeMap<String, String>) -> Result<SecretString, ConnectError> {
        let state_ok = query
            .get("state")
            .is_some_and(|s| bool::from(s.as_bytes().ct_eq(self.state.expose_secret().as_bytes())));
        if !state_ok {
            return Err(ConnectError::WrongState);
        }
        if let Some(error) = query.get("error") {
            // §4.1.2.1: the code is one of the RFC's; the description is
            // the provider's free text and is not repeated.
            let code = crate::oauth2::error_code(error).unwrap_or("an error this app does not know");
            let what = match code {
                "access_denied" => "access_denied: the sign-in was cancelled or consent was not given",
                other => other,
            };
            return Err(ConnectError::Refused(what.to_owned()));
        }
        query
            .get("code")
            .filter(|c| !c.is_empty())
            .map(|c| SecretString::from(c.clone()))
            .ok_or(ConnectError::NoCode)
    }
}

/// Reads one request; the redirect (`GET /callback?…`) is answered with a
/// page and its query returned, anything else gets 404 and `None`.
fn answer_one(stream: TcpStream, deadline: Instant) -> Result<Option<BTreeMap<String, String>>, ConnectError> {
    let io = |e: std::io::Error| ConnectError::Io(e.to_string());
    stream.set_nonblocking(false).map_err(io)?;
    let left = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(100));
    stream
        .set_read_timeout(Some(left.min(Duration::from_secs(10))))
        .map_err(io)?;
    let mut reader = BufReader::new(std::io::Read::take(stream, MAX_REQUEST as u64));
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return Ok(None);
    }
    // The headers are read and dropped: nothing in them matters.
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        line.clear();
    }
    let mut stream = reader.into_inner().into_inner();
    let target = request_line
        .strip_prefix("GET ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_default();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path != REDIRECT_PATH {
        let _ = stream.write_all(page(404, "Not found", "This address only receives Keywarden's sign-in.").as_bytes());
        return Ok(None);
    }
    let query: BTreeMap<String, String> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let (title, text) = if query.contains_key("error") {
        (
            "Not connected",
            "The sign-in did not grant access. You can close this window and return to Keywarden.",
        )
    } else {
        (
            "Signed in",
            "Keywarden received the sign-in. You can close this window and return to Keywarden.",
        )
    };
    let _ = stream.write_all(page(200, title, text).as_bytes());
    let _ = stream.flush();
    Ok(Some(query))
}

/// The answer to the browser: no script, nothing from the request echoed.
fn page(status: u16, title: &str, text: &str) -> String {
    let reason = if status == 200 { "OK" } else { "Not Found" };
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1><p>{text}</p></body></html>"
    );
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\n\
         Content-Security-Policy: default-src 'none'\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_s256_of_the_verifier_as_rfc_7636_appendix_b_shows() {
        let pkce = Pkce::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into());
        assert_eq!(pkce.challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn a_verifier_is_43_unreserved_characters_and_new_each_time() {
        let (a, b) = (Pkce::new(), Pkce::new());
        let v = a.verifier.expose_secret();
        assert_eq!(v.len(), 43);
        assert!(v.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_ne!(v, b.verifier.expose_secret());
    }
}
