//! The team broker as a service (`kw team broker`): what a member whose
//! role or the sharing level does not let read a secret asks of the one
//! identity that may (`keywarden_team::TeamBroker`).
//!
//! Every request carries the member's own OpenBao token (`Authorization:
//! Bearer`); the broker decides nothing itself, it asks OpenBao with that
//! token. Answers, JSON, never a secret:
//! - `POST /v1/team/check` `{"credential": NAME}`: 200 `{"credential",
//!   "ok": true}` or `{"ok": false, "failure": code, "message"}`;
//! - `POST /v1/team/share` `{"credential", "level", "expected_revision"?}`:
//!   200 `{"credential", "sharing", "revision"}`;
//! - 401 `{"error":"signed_out"}` for a missing, unknown or revoked token
//!   (the same bytes whatever the token); 403 for what the member may not;
//!   404, 409 (stale), 422 (bad input), 503 when OpenBao cannot be reached.
//!
//! Plain HTTP on loopback only, TLS elsewhere, the same connection bounds
//! as `kw serve` (`guard.rs`).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use keywarden_core::{SecretString, Validator};
use keywarden_team::{BaoError, Sharing, TeamBroker, TeamError};
use serde_json::{Value, json};

use crate::{ServeError, TlsFiles, guard, runtime, tls};

struct Shared {
    broker: Arc<TeamBroker>,
    validator: Box<dyn Validator + Send + Sync>,
}

fn answer(status: StatusCode, body: Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// One body for every token that is not a member's: no oracle.
fn signed_out() -> Response {
    answer(StatusCode::UNAUTHORIZED, json!({"error": "signed_out"}))
}

fn failed(e: TeamError) -> Response {
    let (status, code) = match &e {
        TeamError::SignedOut => return signed_out(),
        TeamError::Bao(BaoError::Unreachable { .. }) | TeamError::Offline => {
            (StatusCode::SERVICE_UNAVAILABLE, "unreachable")
        }
        TeamError::NotAllowed { .. } | TeamError::Bao(BaoError::Forbidden { .. }) => {
            (StatusCode::FORBIDDEN, "not_allowed")
        }
        TeamError::NotFound { .. } => (StatusCode::NOT_FOUND, "not_found"),
        TeamError::Conflict { .. } => (StatusCode::CONFLICT, "stale"),
        TeamError::Invalid { .. } | TeamError::Core(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        _ => (StatusCode::BAD_GATEWAY, "openbao"),
    };
    answer(
        status,
        json!({"error": code, "message": e.to_string(), "hint": e.hint().map(keywarden_core::Hint::name)}),
    )
}

fn bearer(headers: &HeaderMap) -> Option<SecretString> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let t = v.strip_prefix("Bearer ")?.trim();
    (!t.is_empty() && t.len() <= 512).then(|| SecretString::from(t.to_owned()))
}

fn field<'a>(body: &'a Value, name: &str) -> Option<&'a str> {
    body.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && s.len() <= 200)
}

/// What a check asks: the member's token and the credential's name; or
/// the answer that refuses it.
#[allow(clippy::result_large_err)]
fn check_request(headers: &HeaderMap, body: &str) -> Result<(SecretString, String), Response> {
    let Some(token) = bearer(headers) else {
        return Err(signed_out());
    };
    let body: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let Some(name) = field(&body, "credential").map(str::to_owned) else {
        return Err(answer(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"error": "invalid", "message": "send {\"credential\": NAME}"}),
        ));
    };
    Ok((token, name))
}

/// What a share asks: the token, the credential, the level and the
/// revision it was read at; or the answer that refuses it.
#[allow(clippy::result_large_err)]
fn share_request(headers: &HeaderMap, body: &str) -> Result<(SecretString, String, Sharing, Option<u64>), Response> {
    let Some(token) = bearer(headers) else {
        return Err(signed_out());
    };
    let body: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let level = field(&body, "level").and_then(|l| l.parse::<Sharing>().ok());
    let (Some(name), Some(level)) = (field(&body, "credential").map(str::to_owned), level) else {
        return Err(answer(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"error": "invalid", "message": "send {\"credential\": NAME, \"level\": use|view|manage}"}),
        ));
    };
    Ok((
        token,
        name,
        level,
        body.get("expected_revision").and_then(Value::as_u64),
    ))
}

async fn check(State(s): State<Arc<Shared>>, headers: HeaderMap, body: String) -> Response {
    let (token, name) = match check_request(&headers, &body) {
        Ok(asked) => asked,
        Err(refused) => return refused,
    };
    // OpenBao and the provider answer over blocking HTTP: off the runtime.
    let done = tokio::task::spawn_blocking(move || s.broker.validate_for(&token, &name, s.validator.as_ref())).await;
    match done {
        Ok(Ok(c)) => match c.result {
            Ok(_) => answer(StatusCode::OK, json!({"credential": c.credential, "ok": true})),
            Err(r) => answer(
                StatusCode::OK,
                json!({"credential": c.credential, "ok": false, "failure": r.failure.code(), "message": r.reason()}),
            ),
        },
        Ok(Err(e)) => failed(e),
        Err(_) => answer(StatusCode::SERVICE_UNAVAILABLE, json!({"error": "busy"})),
    }
}

async fn share(State(s): State<Arc<Shared>>, headers: HeaderMap, body: String) -> Response {
    let (token, name, level, expected) = match share_request(&headers, &body) {
        Ok(asked) => asked,
        Err(refused) => return refused,
    };
    let done = tokio::task::spawn_blocking(move || s.broker.reshare(&token, &name, level, expected)).await;
    match done {
        Ok(Ok(card)) => answer(
            StatusCode::OK,
            json!({"credential": card.name, "sharing": card.path.sharing.as_str(), "revision": card.revision}),
        ),
        Ok(Err(e)) => failed(e),
        Err(_) => answer(StatusCode::SERVICE_UNAVAILABLE, json!({"error": "busy"})),
    }
}

/// Serves the team broker until the process ends; `ready` gets the
/// address once it listens.
pub fn run_team_broker(
    broker: Arc<TeamBroker>,
    validator: Box<dyn Validator + Send + Sync>,
    listen: &str,
    tls_files: Option<&TlsFiles>,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    let addr: SocketAddr = listen
        .parse()
        .map_err(|_| ServeError(format!("'{listen}' is not an address like 127.0.0.1:8788")))?;
    let config = tls_files.map(tls::server_config).transpose()?;
    tls::check_listen(addr, config.is_some())?;
    // The broker is a verification service too: where IT turned those off
    // (`verifier_allowed = false`), it does not start.
    keywarden_core::Policy::load_system().check_verifier()?;
    let app = axum::Router::new()
        .route("/v1/team/check", post(check))
        .route("/v1/team/share", post(share))
        .with_state(Arc::new(Shared { broker, validator }));
    let listener =
        std::net::TcpListener::bind(addr).map_err(|e| ServeError(format!("cannot listen on {addr}: {e}")))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| ServeError(format!("cannot listen on {addr}: {e}")))?;
    ready(listener.local_addr().map_err(|e| ServeError(e.to_string()))?);
    runtime()?.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener).map_err(|e| ServeError(e.to_string()))?;
        let served = match config {
            Some(config) => {
                let listener = tls::TlsListener::new(listener, config).map_err(|e| ServeError(e.to_string()))?;
                axum::serve(listener, app.into_make_service()).await
            }
            None => axum::serve(guard::Guarded::new(listener), app.into_make_service()).await,
        };
        served.map_err(|e| ServeError(format!("the team broker stopped: {e}")))
    })
}

/// The team broker's request handling up to its call to OpenBao, on raw
/// HTTP (fuzz/, `make fuzz`): a request is either refused with a JSON
/// answer that never repeats the token, or read into bounded parts.
#[cfg(feature = "fuzzing")]
pub fn fuzz_team_request(raw: &[u8]) {
    use keywarden_core::ExposeSecret;
    let mut parsed = [httparse::EMPTY_HEADER; 32];
    let mut head = httparse::Request::new(&mut parsed);
    let Ok(httparse::Status::Complete(len)) = head.parse(raw) else {
        return;
    };
    let mut headers = HeaderMap::new();
    for h in head.headers.iter() {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::from_bytes(h.name.as_bytes()),
            axum::http::HeaderValue::from_bytes(h.value),
        ) {
            headers.append(name, value);
        }
    }
    // axum's `String` extractor: the body must be UTF-8.
    let Ok(body) = std::str::from_utf8(&raw[len..]) else {
        return;
    };
    // A refusal is one of three fixed answers: nothing of the request (the
    // token least of all) is ever in it.
    let refused = |r: Response| {
        let status = r.status().as_u16();
        let body = runtime_free_body(r);
        let known = [
            r#"{"error":"signed_out"}"#,
            r#"{"error":"invalid","message":"send {\"credential\": NAME}"}"#,
            r#"{"error":"invalid","message":"send {\"credential\": NAME, \"level\": use|view|manage}"}"#,
        ];
        assert!(matches!(status, 401 | 422), "{status}");
        assert!(
            known.contains(&body.as_str()),
            "a refusal that is not a fixed answer: {body}"
        );
    };
    let bounded = |token: &SecretString, name: &str| {
        let t = token.expose_secret();
        assert!(!t.is_empty() && t.len() <= 512 && !name.is_empty() && name.len() <= 200);
    };
    match head.path {
        Some("/v1/team/check") => match check_request(&headers, body) {
            Ok((token, name)) => bounded(&token, &name),
            Err(r) => refused(r),
        },
        Some("/v1/team/share") => match share_request(&headers, body) {
            Ok((token, name, level, _)) => {
                bounded(&token, &name);
                assert_eq!(level.as_str().parse::<Sharing>().ok(), Some(level));
            }
            Err(r) => refused(r),
        },
        _ => {}
    }
}

/// The text of an answer made by `answer` (a full body, no streaming).
#[cfg(feature = "fuzzing")]
fn runtime_free_body(r: Response) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime");
    let bytes = rt
        .block_on(axum::body::to_bytes(r.into_body(), 1 << 20))
        .expect("an answer's body");
    String::from_utf8_lossy(&bytes).into_owned()
}
