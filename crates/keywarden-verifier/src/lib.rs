//! The verification service our services call: `kw serve`, or embedded
//! in the desktop app (a setting, off by default).
//!
//! `POST /v1/keys/verify` with the key in `X-Api-Key` (or `Authorization:
//! Bearer`), and optionally the scope the caller needs in
//! `X-Required-Scope`. Answers:
//! - 200 `{"valid":true,"key_id":…,"application":…,"scopes":[…]}`;
//! - 403 `{"valid":false,"error":"insufficient_scope","required":…}`;
//! - 401 `{"valid":false,"error":"invalid_key"}`, byte for byte the same for
//!   an unknown, revoked, expired, retired or malformed key (no oracle).
//!
//! Plain HTTP is served on loopback only; any other address needs a
//! certificate (`tls.rs`), because the broker answers credentials.
//!
//! Verification answers from an in-memory index (hashes only). A watcher
//! thread holds the vault and polls `PRAGMA data_version` every 10 ms:
//! when another process (the app, `kw keys revoke`) commits, it applies the
//! changed keys, so a revocation reaches the running service without a
//! restart. The same thread writes usage (count per key and hour, last
//! use, source addresses) once a second, so verifying never waits on disk.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use keywarden_connectors::tokens::TokenBroker;
use keywarden_core::partner::KeyEnv;
use keywarden_core::partner::{KeyIndex, Verified};
use keywarden_core::{Clock, Hint, Vault};

mod guard;
#[cfg(unix)]
mod local;
#[cfg(feature = "team")]
mod team;
mod tls;
#[cfg(all(feature = "team", feature = "fuzzing"))]
pub use team::fuzz_team_request;
#[cfg(feature = "team")]
pub use team::run_team_broker;
pub use tls::TlsFiles;

/// The caller's address, for plain and TLS connections alike (axum's own
/// `ConnectInfo<SocketAddr>` knows only its TCP listener).
#[derive(Debug, Clone, Copy)]
struct Peer(SocketAddr);

type TcpGuarded = guard::Guarded<tokio::net::TcpListener>;
/// TLS connections are bounded by the listener itself (tls.rs).
type TlsGuarded = tls::TlsListener;

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TcpGuarded>> for Peer {
    fn connect_info(stream: axum::serve::IncomingStream<'_, TcpGuarded>) -> Peer {
        Peer(*stream.remote_addr())
    }
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TlsGuarded>> for Peer {
    fn connect_info(stream: axum::serve::IncomingStream<'_, TlsGuarded>) -> Peer {
        Peer(*stream.remote_addr())
    }
}

#[cfg(unix)]
impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, local::SameUser>> for Peer {
    fn connect_info(_: axum::serve::IncomingStream<'_, local::SameUser>) -> Peer {
        // A process of this user on this machine: counted as loopback.
        Peer(SocketAddr::from(([127, 0, 0, 1], 0)))
    }
}

/// The Unix socket of the broker for this user's jobs (local.rs), bound.
#[cfg(unix)]
pub struct LocalSocket {
    listener: std::os::unix::net::UnixListener,
    pub path: std::path::PathBuf,
}

/// Binds the same-user socket at `path` (`<vault>/broker.sock` by
/// default): replaced when a stopped service left it, refused when a
/// running one answers on it.
#[cfg(unix)]
pub fn bind_local(path: &std::path::Path) -> Result<LocalSocket, ServeError> {
    Ok(LocalSocket {
        listener: local::bind(path)?,
        path: path.to_path_buf(),
    })
}

/// Why the service could not start or stopped.
#[derive(Debug)]
pub struct ServeError(pub String);

impl std::fmt::Display for ServeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ServeError {}

impl From<keywarden_core::Error> for ServeError {
    fn from(e: keywarden_core::Error) -> ServeError {
        ServeError(e.to_string())
    }
}

const INVALID: &str = r#"{"valid":false,"error":"invalid_key"}"#;
const POLL: Duration = Duration::from_millis(10);
const FLUSH_EVERY: u32 = 100; // × POLL = 1 s

#[derive(Default)]
struct Usage {
    ok: u64,
    failed: u64,
    sources: HashSet<std::net::IpAddr>,
}

struct Shared {
    index: RwLock<KeyIndex>,
    usage: Mutex<HashMap<String, Usage>>,
    clock: Arc<dyn Clock>,
    /// The broker's own vault handle: hands out credentials (audited).
    broker: Arc<Mutex<Vault>>,
    /// Access tokens for OAuth 2.0 credentials, over the same handle: one
    /// refresh at a time, shared with every program on the vault.
    tokens: TokenBroker<Arc<Mutex<Vault>>>,
}

impl Shared {
    fn new(index: KeyIndex, clock: Arc<dyn Clock>, broker: Vault) -> Shared {
        let broker = Arc::new(Mutex::new(broker));
        let options = keywarden_connectors::Options {
            allow_loopback_http: keywarden_core::test_mode(),
            ..keywarden_connectors::Options::default()
        };
        Shared {
            index: RwLock::new(index),
            usage: Mutex::new(HashMap::new()),
            clock,
            tokens: TokenBroker::new(broker.clone(), options),
            broker,
        }
    }

    /// What a service account gets for `integration`: the credential, and
    /// for an OAuth 2.0 one a current access token instead of its secrets.
    fn hand_out(
        &self,
        caller: &keywarden_core::partner::ServiceCaller,
        integration: &str,
    ) -> keywarden_core::Result<Option<keywarden_core::partner::BrokeredCredential>> {
        let brokered = {
            let mut vault = self.broker.lock().unwrap_or_else(|p| p.into_inner());
            vault.broker_credential(caller, integration)?
        };
        let Some(mut c) = brokered else {
            return Ok(None);
        };
        if c.access_token_var.is_some() {
            let purpose = format!("broker: {}", caller.account);
            c.access_token = Some(self.tokens.access_token_until(&c.credential, &purpose)?);
        }
        Ok(Some(c))
    }
}

const NOT_AUTHORIZED: &str = r#"{"error":"not_authorized"}"#;

/// The broker: `GET /v1/integrations/{name}/credential` with a service
/// account's `kws_` token as Bearer. A token without the grant, expired,
/// revoked or unknown: the same 401. The answer is never cached.
async fn credential(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    axum::extract::Path(integration): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .trim()
        .to_owned();
    let caller = shared
        .index
        .read()
        .ok()
        .and_then(|i| i.verify_service(&token, shared.clock.now()));
    let Some(caller) = caller else {
        return json(StatusCode::UNAUTHORIZED, NOT_AUTHORIZED.to_owned());
    };
    {
        let mut usage = shared.usage.lock().unwrap_or_else(|p| p.into_inner());
        let u = usage.entry(caller.key_id.clone()).or_default();
        u.ok += 1;
        u.sources.insert(peer.ip());
    }
    let worker = shared.clone();
    let answer = tokio::task::spawn_blocking(move || worker.hand_out(&caller, &integration)).await;
    match answer {
        Ok(Ok(Some(c))) => no_store(StatusCode::OK, credential_body(c)),
        Ok(Ok(None)) => json(StatusCode::UNAUTHORIZED, NOT_AUTHORIZED.to_owned()),
        Ok(Err(e @ keywarden_core::Error::CredentialDisabled { .. })) => no_store(
            StatusCode::LOCKED,
            serde_json::json!({ "error": "credential_disabled", "message": e.to_string(), "hint": e.hint().map(Hint::name) })
                .to_string(),
        ),
        Ok(Err(e)) => no_store(
            StatusCode::CONFLICT,
            serde_json::json!({ "error": "unavailable", "message": e.to_string(), "hint": e.hint().map(Hint::name) })
                .to_string(),
        ),
        Err(_) => no_store(StatusCode::INTERNAL_SERVER_ERROR, r#"{"error":"internal"}"#.to_owned()),
    }
}

/// An answer no cache may keep.
fn no_store(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// The broker's answer: the credential's secrets under their fields (or
/// an OAuth 2.0 credential's access token), and the previous version's
/// masks while its grace period lasts.
fn credential_body(c: keywarden_core::partner::BrokeredCredential) -> String {
    use keywarden_core::ExposeSecret;
    let secrets: serde_json::Map<String, serde_json::Value> = c
        .secrets
        .iter()
        .map(|(f, v)| (f.clone(), serde_json::Value::String(v.expose_secret().to_owned())))
        .collect();
    let access_token = match (&c.access_token_var, &c.access_token) {
        (Some(variable), Some(t)) => serde_json::json!({
            "variable": variable,
            "value": t.token.expose_secret(),
            "expires_at": t.expires_at.map(keywarden_core::timefmt::to_db),
        }),
        _ => serde_json::Value::Null,
    };
    serde_json::json!({
        "integration": c.integration,
        "env_names": c.env_names,
        "credential": c.credential,
        "version": c.version,
        "expires_at": c.expires_at.map(keywarden_core::timefmt::to_db),
        // What was handed out: an access token (OAuth 2.0, with only the
        // secrets the integration maps by name) or the secrets.
        "gave": if access_token.is_null() { "secrets" } else { "access_token" },
        "access_token": access_token,
        "secrets": secrets,
        "previous": c.previous.map(|p| serde_json::json!({
            "version": p.version,
            "retired_at": keywarden_core::timefmt::to_db(p.retired_at),
            "grace_until": keywarden_core::timefmt::to_db(p.grace_until),
            "masks": p.masks,
        })),
    })
    .to_string()
}

fn json(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn verify(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    headers: HeaderMap,
) -> Response {
    let key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .or_else(|| {
            headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
        })
        .unwrap_or_default();
    let scope = headers.get("x-required-scope").and_then(|v| v.to_str().ok());
    let (verdict, id) = shared
        .index
        .read()
        .map(|i| {
            let verdict = i.verify(key.trim(), shared.clock.now(), scope);
            // Only an issued key's failures are counted: made-up ids would
            // grow the usage map (and its flush) without bound.
            let id = keywarden_core::partner::format::parse(key.trim())
                .ok()
                .filter(|p| i.knows(p.id))
                .map(|p| p.id.to_owned());
            (verdict, id)
        })
        .unwrap_or((Verified::Invalid, None));
    {
        let mut usage = shared.usage.lock().unwrap_or_else(|p| p.into_inner());
        match (&verdict, id) {
            (Verified::Valid { key_id, .. }, _) => {
                let u = usage.entry(key_id.clone()).or_default();
                u.ok += 1;
                u.sources.insert(peer.ip());
            }
            (_, Some(id)) => usage.entry(id).or_default().failed += 1,
            // Not even a well-formed key: attributable to no application.
            (_, None) => {}
        }
    }
    match verdict {
        Verified::Valid {
            key_id,
            application,
            scopes,
            environment,
        } => json(
            StatusCode::OK,
            serde_json::json!({
                "valid": true,
                "key_id": key_id,
                "application": application,
                "scopes": scopes,
                "environment": environment.as_str(),
            })
            .to_string(),
        ),
        Verified::InsufficientScope { required } => json(
            StatusCode::FORBIDDEN,
            serde_json::json!({ "valid": false, "error": "insufficient_scope", "required": required }).to_string(),
        ),
        Verified::Invalid => json(StatusCode::UNAUTHORIZED, INVALID.to_owned()),
    }
}

/// Follows the database: applies key changes, writes usage.
fn watch(mut vault: Vault, shared: Arc<Shared>, stop: Arc<std::sync::atomic::AtomicBool>) {
    let notifier = keywarden_notify::Notifier::new();
    let mut version = vault.data_version().unwrap_or(0);
    let mut ticks = 0u32;
    // Stopping drops the vault here, and with it the keys it holds.
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        std::thread::sleep(POLL);
        ticks += 1;
        if let Ok(v) = vault.data_version()
            && v != version
        {
            version = v;
            if let Ok(mut index) = shared.index.write()
                && let Err(e) = vault.refresh_key_index(&mut index)
            {
                eprintln!("kw serve: could not read key changes: {e}");
            }
        }
        if ticks >= FLUSH_EVERY {
            ticks = 0;
            let batch: HashMap<String, Usage> =
                std::mem::take(&mut *shared.usage.lock().unwrap_or_else(|p| p.into_inner()));
            if !batch.is_empty() {
                let rows: Vec<(String, u64, u64, Vec<String>)> = batch
                    .into_iter()
                    .map(|(id, u)| {
                        (
                            id,
                            u.ok,
                            u.failed,
                            u.sources.into_iter().map(|s| s.to_string()).collect(),
                        )
                    })
                    .collect();
                match vault.record_key_usage(&rows) {
                    // Anomalies are in the notification centre; shown on
                    // this desktop too when a notification server listens.
                    Ok(raised) => {
                        for notice in &raised {
                            eprintln!("kw serve: {}", notice.summary);
                            let _ = notifier.show(notice);
                        }
                    }
                    Err(e) => eprintln!("kw serve: could not record usage: {e}"),
                }
                // No resync of `version` here: data_version moves only for
                // other connections' commits, and one that landed during
                // this flush must still be read at the next tick.
            }
        }
    }
}

/// A service running in the background (the app's embedded verifier).
pub struct Running {
    pub addr: SocketAddr,
    stop: Arc<std::sync::atomic::AtomicBool>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    /// Stops serving and closes the service's vault.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.halt();
    }
}

struct Prepared {
    listener: Option<std::net::TcpListener>,
    app: axum::Router,
    stop: Arc<std::sync::atomic::AtomicBool>,
    keys: usize,
}

/// `tcp_optional`: an address that cannot be had is said on stderr and
/// left out (the same-user socket serves on), not an error.
fn prepare(
    vault: Vault,
    listen: &str,
    tcp_optional: bool,
    tls: bool,
    environments: &[KeyEnv],
) -> Result<Prepared, ServeError> {
    let addr: SocketAddr = listen
        .parse()
        .map_err(|_| ServeError(format!("'{listen}' is not an address like 127.0.0.1:8787")))?;
    tls::check_listen(addr, tls)?;
    vault.policy().check_verifier()?;
    let mut index = vault.key_index()?;
    index.accept_only(environments);
    let keys = index.len();
    let broker = vault.reopen()?;
    let shared = Arc::new(Shared::new(index, vault.clock_handle(), broker));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (watcher, halt) = (shared.clone(), stop.clone());
    std::thread::Builder::new()
        .name("kw-watch".into())
        .spawn(move || watch(vault, watcher, halt))
        .map_err(|e| ServeError(format!("could not start the watcher: {e}")))?;
    let bound = std::net::TcpListener::bind(addr)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|e| ServeError(format!("cannot listen on {addr}: {e}")));
    let listener = match bound {
        Ok(l) => Some(l),
        Err(e) if tcp_optional => {
            eprintln!("kw serve: warning: {e}; serving this user's jobs on the socket only");
            None
        }
        Err(e) => {
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
            return Err(e);
        }
    };
    let app = router(shared);
    Ok(Prepared {
        listener,
        app,
        stop,
        keys,
    })
}

/// The two endpoints over the shared index and broker vault.
fn router(shared: Arc<Shared>) -> axum::Router {
    axum::Router::new()
        .route("/v1/keys/verify", post(verify))
        .route("/v1/integrations/{name}/credential", axum::routing::get(credential))
        .with_state(shared)
}

/// The service's request handling without a socket, for the fuzz target
/// of `kw serve` (fuzz/, `make fuzz`). Built only with `fuzzing`.
#[cfg(feature = "fuzzing")]
pub mod fuzzing {
    use super::*;
    use tower::ServiceExt;

    pub struct Harness {
        rt: tokio::runtime::Runtime,
        app: axum::Router,
        shared: Arc<Shared>,
    }

    impl Harness {
        /// Serves `vault`'s keys and credentials, as `kw serve` would.
        pub fn new(vault: Vault) -> Result<Harness, ServeError> {
            let shared = Arc::new(Shared::new(vault.key_index()?, vault.clock_handle(), vault));
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| ServeError(e.to_string()))?;
            Ok(Harness {
                rt,
                app: router(shared.clone()),
                shared,
            })
        }

        /// One raw HTTP/1.1 request (head parsed by httparse, as hyper
        /// does; the rest is the body), answered by the service. Returns
        /// the status, or `None` when the bytes are not a request head.
        pub fn request(&self, raw: &[u8]) -> Option<u16> {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut head = httparse::Request::new(&mut headers);
            let Ok(httparse::Status::Complete(len)) = head.parse(raw) else {
                return None;
            };
            let mut builder = axum::http::Request::builder().method(head.method?).uri(head.path?);
            for h in head.headers.iter() {
                builder = builder.header(h.name, h.value);
            }
            let mut request = builder.body(axum::body::Body::from(raw[len..].to_vec())).ok()?;
            request
                .extensions_mut()
                .insert(ConnectInfo(Peer(SocketAddr::from(([127, 0, 0, 1], 40000)))));
            let response = self.rt.block_on(self.app.clone().oneshot(request)).ok()?;
            let status = response.status().as_u16();
            let body = self
                .rt
                .block_on(axum::body::to_bytes(response.into_body(), 1 << 20))
                .ok()?;
            // The service never fails on a request (a panic's 500), and
            // each of its answers says what happened; only the router's
            // own 404 (no such endpoint) and 405 (wrong method) are empty.
            // (Found by this target: an unknown method gets an empty 405.)
            assert!(status != 500, "the service failed on a request");
            assert!(
                !body.is_empty() || matches!(status, 404 | 405),
                "an empty answer with status {status}"
            );
            // Usage is flushed by the watcher in `kw serve`; here it is
            // dropped, so a long run does not grow without bound.
            self.shared.usage.lock().unwrap_or_else(|p| p.into_inner()).clear();
            Some(status)
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, ServeError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| ServeError(format!("could not start the server runtime: {e}")))
}

/// Serves until the process ends (`kw serve`), over TLS when `tls` names a
/// certificate and key. `ready` is called with the address once it listens.
/// Keys of other `environments` (`kwp_test_` on a production service)
/// are answered as unknown ones.
/// `same_user`: the socket for this user's jobs too (local.rs); with it,
/// `tcp_optional` lets a TCP address that is taken be left out (a local
/// user squatting the default port stops no job of ours). `ready` gets the
/// TCP address, if served.
pub fn run(
    vault: Vault,
    listen: &str,
    tcp_optional: bool,
    tls: Option<&TlsFiles>,
    environments: &[KeyEnv],
    #[cfg(unix)] same_user: Option<LocalSocket>,
    ready: impl FnOnce(Option<SocketAddr>, usize),
) -> Result<(), ServeError> {
    // The files are read before anything listens: a bad certificate is an
    // error at start, not at the first client.
    let config = tls.map(tls::server_config).transpose()?;
    #[cfg(unix)]
    let tcp_optional = tcp_optional && same_user.is_some();
    #[cfg(not(unix))]
    let tcp_optional = {
        let _ = tcp_optional;
        false
    };
    let p = prepare(vault, listen, tcp_optional, config.is_some(), environments)?;
    let local = p
        .listener
        .as_ref()
        .map(|l| l.local_addr())
        .transpose()
        .map_err(|e| ServeError(e.to_string()))?;
    ready(local, p.keys);
    runtime()?.block_on(async move {
        // The same service on the same-user socket, alongside (or alone).
        #[cfg(unix)]
        let unix = match same_user {
            Some(local) => {
                let unix = tokio::net::UnixListener::from_std(local.listener).map_err(|e| ServeError(e.to_string()))?;
                let app = p.app.clone().into_make_service_with_connect_info::<Peer>();
                Some(tokio::spawn(async move {
                    axum::serve(local::SameUser::new(unix), app)
                        .await
                        .map_err(|e| ServeError(format!("the socket {} stopped: {e}", local.path.display())))
                }))
            }
            None => None,
        };
        let Some(listener) = p.listener else {
            #[cfg(unix)]
            if let Some(task) = unix {
                return task
                    .await
                    .map_err(|e| ServeError(format!("the socket service stopped: {e}")))?;
            }
            return Err(ServeError("nothing to serve".into()));
        };
        let listener = tokio::net::TcpListener::from_std(listener).map_err(|e| ServeError(e.to_string()))?;
        let served = match config {
            Some(config) => {
                let listener = tls::TlsListener::new(listener, config).map_err(|e| ServeError(e.to_string()))?;
                axum::serve(listener, p.app.into_make_service_with_connect_info::<Peer>()).await
            }
            None => {
                axum::serve(
                    guard::Guarded::new(listener),
                    p.app.into_make_service_with_connect_info::<Peer>(),
                )
                .await
            }
        };
        served.map_err(|e| ServeError(format!("the server stopped: {e}")))
    })
}

/// Serves in the background until `Running::stop` (the desktop app).
/// `same_user`: the socket for this user's jobs too (local.rs), served as
/// long as the TCP address.
pub fn start(vault: Vault, listen: &str, #[cfg(unix)] same_user: Option<LocalSocket>) -> Result<Running, ServeError> {
    // The app's own verifier serves this machine's tests and tools: both.
    let p = prepare(vault, listen, false, false, &[KeyEnv::Live, KeyEnv::Test])?;
    // Not started after all: the watcher lets go of its vault (and keys).
    let stop = p.stop.clone();
    let failed = move |e: ServeError| {
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        e
    };
    let Some(listener) = p.listener else {
        return Err(failed(ServeError(format!("cannot listen on {listen}"))));
    };
    let addr = listener.local_addr().map_err(|e| failed(ServeError(e.to_string())))?;
    let rt = runtime().map_err(&failed)?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = p.app;
    let thread = std::thread::Builder::new()
        .name("kw-verifier".into())
        .spawn(move || {
            rt.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                // Ends with the runtime, when the TCP service has stopped.
                #[cfg(unix)]
                if let Some(local) = same_user
                    && let Ok(unix) = tokio::net::UnixListener::from_std(local.listener)
                {
                    let app = app.clone().into_make_service_with_connect_info::<Peer>();
                    tokio::spawn(async move { axum::serve(local::SameUser::new(unix), app).await });
                }
                let _ = axum::serve(
                    guard::Guarded::new(listener),
                    app.into_make_service_with_connect_info::<Peer>(),
                )
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
            });
        })
        .map_err(|e| failed(ServeError(format!("could not start the verifier: {e}"))))?;
    Ok(Running {
        addr,
        stop: p.stop,
        shutdown: Some(tx),
        thread: Some(thread),
    })
}
