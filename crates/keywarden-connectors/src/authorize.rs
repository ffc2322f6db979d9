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
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
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
    #[error("{}", timed_out(*.seconds, *.refused))]
    TimedOut { seconds: u64, refused: usize },
    #[error("the provider refused the authorization ({0}); nothing was stored")]
    Refused(String),
    #[error(
        "the sign-in address was opened twice: another program may be racing this sign-in; nothing was stored, \
         connect again"
    )]
    StartedTwice,
    #[error("the sign-in was cancelled; nothing was stored")]
    Cancelled,
    #[error("the redirect carried no authorization code; nothing was stored, connect again")]
    NoCode,
    #[error("the token endpoint refused the code: {0}; nothing was stored")]
    Exchange(Failure),
    #[error("the redirect listener failed: {0}")]
    Io(String),
}

fn timed_out(seconds: u64, refused: usize) -> String {
    let refused = match refused {
        0 => String::new(),
        n => format!(" ({n} redirect(s) that were not this sign-in's were refused)"),
    };
    format!(
        "no answer from the browser within {seconds} s{refused}: the sign-in was not finished (the browser was \
         closed, or it is still open); nothing was stored, connect again"
    )
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
        // RFC 6749 §3.1: the request's own parameters are Connect's; one
        // already in the URL would be sent twice, and many servers take the
        // first (another redirect_uri, state or challenge).
        if let Some((name, _)) = authorize_url
            .query_pairs()
            .find(|(k, _)| RESERVED.contains(&k.as_ref()))
        {
            return Err(ConnectError::Config(format!(
                "an authorize_url without a '{name}' parameter of its own (Connect sets it)"
            )));
        }
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

/// The authorization request's parameters, which Connect sets.
const RESERVED: [&str; 7] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
];

/// A Connect under way: the listener is bound, the browser may open
/// `authorize_url`.
pub struct Connect {
    listener: TcpListener,
    /// The one-time path the browser opens first (`/start/<nonce>`): it
    /// redirects to the authorization endpoint once, so the address that
    /// carries `state` and the challenge is never on a command line.
    nonce: SecretString,
    port: u16,
    state: SecretString,
    pkce: Pkce,
    redirect_uri: String,
    authorize_url: url::Url,
    /// Set by whoever may end the wait (the app's Cancel).
    cancelled: Arc<AtomicBool>,
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
        let state = random_text();
        let nonce = random_text();
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
            nonce,
            port,
            state,
            pkce,
            redirect_uri,
            authorize_url,
            cancelled: Arc::default(),
        })
    }

    /// Ends the wait for the browser when `flag` is set (one made before
    /// the Connect started, so a Cancel at any moment counts): `finish`
    /// then answers `Cancelled` and stores nothing.
    pub fn cancelled_by(mut self, flag: Arc<AtomicBool>) -> Connect {
        self.cancelled = flag;
        self
    }

    /// The address to open in the system browser: on this listener, it
    /// redirects once to the authorization endpoint. Opened a second time,
    /// the Connect ends (someone else may be racing it).
    pub fn start_url(&self) -> String {
        format!(
            "http://127.0.0.1:{}{START_PATH}{}",
            self.port,
            self.nonce.expose_secret()
        )
    }

    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Waits up to `timeout` for the sign-in, closes the listener, and
    /// exchanges the code. Only the redirect carrying this Connect's
    /// `state`, after the start address was opened, ends the wait; any other
    /// request is answered and waiting goes on.
    pub fn finish(
        self,
        options: &Options,
        config: &BTreeMap<String, String>,
        secrets: &SecretFields,
        timeout: Duration,
    ) -> Result<Grant, ConnectError> {
        let code = self.wait_for_redirect(timeout).and_then(|query| code_of(&query));
        // One sign-in answered (or none in time): the port closes now,
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

    /// The sign-in page, written where only this user can read it, for
    /// the browser to open: the one-time start address is in the file,
    /// and only the file's path goes on the browser's command line (which
    /// every local user can read in `/proc`). Removed when dropped.
    pub fn write_sign_in_page(&self) -> std::io::Result<SignInPage> {
        SignInPage::write(&self.start_url())
    }

    /// The redirect's query parameters, once its `state` is this Connect's.
    /// Each connection is read on a thread of its own (at most
    /// `MAX_READERS` at once), so clients that hold connections open cannot
    /// keep the browser's requests waiting; the answers are written here,
    /// one at a time, in the order the requests arrived whole.
    fn wait_for_redirect(&self, timeout: Duration) -> Result<BTreeMap<String, String>, ConnectError> {
        let deadline = Instant::now() + timeout;
        self.listener
            .set_nonblocking(true)
            .map_err(|e| ConnectError::Io(e.to_string()))?;
        let (sender, requests) = mpsc::channel::<Request>();
        let readers = Arc::new(AtomicUsize::new(0));
        let (mut started, mut refused) = (false, 0usize);
        loop {
            if self.cancelled.load(Ordering::SeqCst) {
                return Err(ConnectError::Cancelled);
            }
            if Instant::now() >= deadline {
                return Err(ConnectError::TimedOut {
                    seconds: timeout.as_secs(),
                    refused,
                });
            }
            self.accept_waiting(&sender, &readers, deadline)?;
            let Ok((mut stream, path, query)) = requests.recv_timeout(POLL) else {
                continue;
            };
            let answer = match path.strip_prefix(START_PATH) {
                Some(nonce) if same(nonce, &self.nonce) => {
                    if started {
                        let _ = stream.write_all(page(409, "Not connected", STARTED_TWICE).as_bytes());
                        return Err(ConnectError::StartedTwice);
                    }
                    started = true;
                    redirect(self.authorize_url.as_str())
                }
                _ if path == REDIRECT_PATH && started => {
                    let query: BTreeMap<String, String> =
                        url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
                    if query.get("state").is_some_and(|s| same(s, &self.state)) {
                        let _ = stream.write_all(finished_page(&query).as_bytes());
                        let _ = stream.flush();
                        return Ok(query);
                    }
                    refused += 1;
                    page(
                        400,
                        "Not this sign-in",
                        "This is not the sign-in Keywarden is waiting for.",
                    )
                }
                _ => page(404, "Not found", "This address only receives Keywarden's sign-in."),
            };
            let _ = stream.write_all(answer.as_bytes());
        }
    }

    /// Hands every connection waiting on the listener to a reader thread;
    /// past `MAX_READERS` reading at once, a connection is closed unread.
    fn accept_waiting(
        &self,
        sender: &mpsc::Sender<Request>,
        readers: &Arc<AtomicUsize>,
        deadline: Instant,
    ) -> Result<(), ConnectError> {
        loop {
            use std::io::ErrorKind;
            let stream = match self.listener.accept() {
                Ok((stream, _)) => stream,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                // A client gone before it was accepted ends nothing.
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::Interrupted
                    ) =>
                {
                    continue;
                }
                Err(e) => return Err(ConnectError::Io(e.to_string())),
            };
            if readers.fetch_add(1, Ordering::SeqCst) >= MAX_READERS {
                readers.fetch_sub(1, Ordering::SeqCst);
                continue;
            }
            let (sender, counted) = (sender.clone(), Arc::clone(readers));
            let spawned = std::thread::Builder::new().spawn(move || {
                if let Some(request) = read_request(stream, deadline) {
                    let _ = sender.send(request);
                }
                counted.fetch_sub(1, Ordering::SeqCst);
            });
            // No thread to read it: the connection is closed unread.
            if spawned.is_err() {
                readers.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }
}

/// A request read whole: its stream, path and query.
type Request = (TcpStream, String, String);

/// How many connections may be read at once.
const MAX_READERS: usize = 32;

/// How often the listener is looked at while no request is complete.
const POLL: Duration = Duration::from_millis(20);

/// The page the browser opens: it goes on to the one-time start address.
/// In a directory of its own that only this user may enter, the file only
/// this user may read, both removed when this is dropped.
pub struct SignInPage {
    dir: tempfile::TempDir,
    path: PathBuf,
}

impl SignInPage {
    fn write(start_url: &str) -> std::io::Result<SignInPage> {
        // The session's runtime directory (owner-only by the XDG rules)
        // where there is one; the temporary directory otherwise. The
        // directory is made 0700 either way (tempfile's follows the umask,
        // 0755 on most systems), before the page is in it.
        let base = std::env::var_os("XDG_RUNTIME_DIR")
            .map(PathBuf::from)
            .filter(|d| d.is_absolute() && d.is_dir())
            .unwrap_or_else(std::env::temp_dir);
        let dir = tempfile::Builder::new().prefix("keywarden-sign-in-").tempdir_in(base)?;
        #[cfg(unix)]
        std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
        let path = dir.path().join("sign-in.html");
        let mut file = std::fs::OpenOptions::new();
        file.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
        file.open(&path)?.write_all(sign_in_html(start_url).as_bytes())?;
        Ok(SignInPage { dir, path })
    }

    /// The file to open in the browser.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its directory (removed with it).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// Goes on to the start address at once (no script: a refresh, and a link
/// for a browser that does not follow it).
fn sign_in_html(start_url: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"referrer\" content=\"no-referrer\">\
         <meta http-equiv=\"refresh\" content=\"0;url={start_url}\"><title>Keywarden sign-in</title></head>\
         <body><p>Opening the sign-in… If nothing happens, <a href=\"{start_url}\">continue to the sign-in</a>.</p>\
         </body></html>"
    )
}

/// The one-time path the browser opens first.
const START_PATH: &str = "/start/";

const STARTED_TWICE: &str = "This sign-in address was opened twice, so Keywarden ended the sign-in. Connect again.";

/// How long one request may take to arrive, whatever the overall wait.
const REQUEST_TIME: Duration = Duration::from_secs(5);

/// 128 random bits as base64url.
fn random_text() -> SecretString {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    SecretString::from(URL_SAFE_NO_PAD.encode(bytes))
}

/// Compared in constant time.
fn same(given: &str, ours: &SecretString) -> bool {
    bool::from(given.as_bytes().ct_eq(ours.expose_secret().as_bytes()))
}

/// The code of a redirect with this Connect's state (§4.1.2), or the
/// refusal it carries (§4.1.2.1).
fn code_of(query: &BTreeMap<String, String>) -> Result<SecretString, ConnectError> {
    if let Some(error) = query.get("error") {
        // §4.1.2.1: the code is one of the RFC's; the description is the
        // provider's free text and is not repeated.
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

/// A stream whose every read must end by one deadline: a client that
/// sends a byte at a time cannot hold the listener past it.
struct Deadlined {
    stream: TcpStream,
    deadline: Instant,
}

impl std::io::Read for Deadlined {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        self.stream.set_read_timeout(Some(left))?;
        self.stream.read(buf)
    }
}

/// One request's path and query, read within `REQUEST_TIME` (and the
/// overall deadline) and `MAX_REQUEST` bytes; `None` for anything else.
fn read_request(stream: TcpStream, deadline: Instant) -> Option<Request> {
    stream.set_nonblocking(false).ok()?;
    // The answers are small; a client that does not read them cannot hold
    // the loop that writes them.
    stream.set_write_timeout(Some(Duration::from_secs(1))).ok()?;
    let until = deadline.min(Instant::now() + REQUEST_TIME);
    let limited = std::io::Read::take(
        Deadlined {
            stream,
            deadline: until,
        },
        MAX_REQUEST as u64,
    );
    let mut reader = BufReader::new(limited);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    // The headers are read and dropped: nothing in them matters.
    let mut line = String::new();
    while reader.read_line(&mut line).ok()? > 2 {
        line.clear();
    }
    let stream = reader.into_inner().into_inner().stream;
    let target = request_line
        .strip_prefix("GET ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_default();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    Some((stream, path.to_owned(), query.to_owned()))
}

/// The page after the redirect: what happened, nothing from the request.
fn finished_page(query: &BTreeMap<String, String>) -> String {
    if query.contains_key("error") {
        page(
            200,
            "Not connected",
            "The sign-in did not grant access. You can close this window and return to Keywarden.",
        )
    } else {
        page(
            200,
            "Signed in",
            "Keywarden received the sign-in. You can close this window and return to Keywarden.",
        )
    }
}

/// The start address's answer: on to the authorization endpoint.
fn redirect(to: &str) -> String {
    format!(
        "HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nCache-Control: no-store\r\n\
         Referrer-Policy: no-referrer\r\nConnection: close\r\n\r\n"
    )
}

/// The answer to the browser: no script, nothing from the request echoed.
fn page(status: u16, title: &str, text: &str) -> String {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        409 => "Conflict",
        _ => "Not Found",
    };
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
