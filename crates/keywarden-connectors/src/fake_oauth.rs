//! An OAuth 2.0 authorization server on 127.0.0.1 for other crates' tests
//! (feature `fakes`), answering as RFC 6749 and RFC 7636 document it and as
//! Pleo's OAuth does (PKCE S256 required, the client authenticated with
//! HTTP Basic): `GET /oauth/authorize` redirects to the client's loopback
//! redirect URI with a code and the state (§4.1.2, fixture
//! `rfc6749/authorize.302.http`) or `error=access_denied` (§4.1.2.1);
//! `POST /oauth/token` exchanges a code once, for the verifier whose S256 is
//! its challenge and the same redirect URI (§4.1.3, RFC 7636 §4.6), and
//! refreshes with the live refresh token only, rotating it (§6). Answers
//! are the documented ones (`rfc6749/token.authorization-code.200.http`,
//! `rfc6749/token.error.invalid-request.400.http`), changed in tokens and
//! error codes.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

#[derive(Default)]
struct Server {
    client_id: String,
    client_secret: String,
    deny: bool,
    /// Seconds a refresh token lives, sent as `refresh_token_expires_in`.
    refresh_lifetime: Option<i64>,
    /// Code → (challenge, redirect URI), each usable once.
    codes: HashMap<String, (String, String)>,
    /// The one refresh token that works now.
    live_refresh: Option<String>,
    issued: u64,
    refreshes: u64,
    exchanges: u64,
}

pub struct FakeAuthServer {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    server: Arc<Mutex<Server>>,
}

impl FakeAuthServer {
    pub fn start(client_id: &str, client_secret: &str) -> std::io::Result<FakeAuthServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let base = format!("http://{}", listener.local_addr()?);
        let server = Arc::new(Mutex::new(Server {
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            ..Server::default()
        }));
        let shared = server.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = shared.clone();
                std::thread::spawn(move || serve(stream, &shared));
            }
        });
        Ok(FakeAuthServer { base, server })
    }

    pub fn authorize_url(&self) -> String {
        format!("{}/oauth/authorize", self.base)
    }

    pub fn token_url(&self) -> String {
        format!("{}/oauth/token", self.base)
    }

    /// The person refuses consent at the next sign-ins.
    pub fn deny_consent(&self, deny: bool) {
        self.lock().deny = deny;
    }

    /// Refresh tokens live this long (`refresh_token_expires_in`).
    pub fn refresh_lifetime(&self, seconds: Option<i64>) {
        self.lock().refresh_lifetime = seconds;
    }

    /// The grant is revoked at the provider: the next refresh gets
    /// `invalid_grant`.
    pub fn revoke(&self) {
        self.lock().live_refresh = None;
    }

    /// How many refresh-token grants succeeded.
    pub fn refreshes(&self) -> u64 {
        self.lock().refreshes
    }

    /// How many codes were exchanged.
    pub fn exchanges(&self) -> u64 {
        self.lock().exchanges
    }

    /// The refresh token that works now.
    pub fn live_refresh_token(&self) -> Option<String> {
        self.lock().live_refresh.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Server> {
        self.server.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn serve(stream: TcpStream, shared: &Mutex<Server>) {
    let Ok(read) = stream.try_clone() else { return };
    let mut reader = BufReader::new(read);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return;
    }
    let mut headers = BTreeMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.trim_end().split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let length: usize = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
    let mut body = vec![0u8; length.min(64 * 1024)];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut server = shared.lock().unwrap_or_else(|p| p.into_inner());
    let answer = match (method, path) {
        ("GET", "/oauth/authorize") => authorize(&mut server, &form(query.as_bytes())),
        ("POST", "/oauth/token") => token(&mut server, headers.get("authorization"), &form(&body)),
        _ => Answer::json(404, serde_json::json!({"error": "not_found"})),
    };
    drop(server);
    let mut stream = stream;
    let _ = stream.write_all(answer.to_http().as_bytes());
}

fn form(bytes: &[u8]) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(bytes).into_owned().collect()
}

struct Answer {
    status: u16,
    location: Option<String>,
    body: String,
}

impl Answer {
    fn json(status: u16, body: serde_json::Value) -> Answer {
        Answer {
            status,
            location: None,
            body: body.to_string(),
        }
    }

    fn to_http(&self) -> String {
        let reason = match self.status {
            200 => "OK",
            302 => "Found",
            400 => "Bad Request",
            401 => "Unauthorized",
            _ => "Not Found",
        };
        let location = self
            .location
            .as_ref()
            .map(|l| format!("Location: {l}\r\n"))
            .unwrap_or_default();
        format!(
            "HTTP/1.1 {} {reason}\r\n{location}Content-Type: application/json;charset=UTF-8\r\nCache-Control: no-store\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{}",
            self.status,
            self.body.len(),
            self.body
        )
    }
}

/// §4.1.1 checked, then §4.1.2 (or §4.1.2.1) back to the redirect URI.
fn authorize(server: &mut Server, q: &BTreeMap<String, String>) -> Answer {
    let redirect = q.get("redirect_uri").cloned().unwrap_or_default();
    let valid = q.get("response_type").map(String::as_str) == Some("code")
        && q.get("client_id") == Some(&server.client_id)
        && q.get("code_challenge_method").map(String::as_str) == Some("S256")
        && q.get("code_challenge").is_some_and(|c| c.len() == 43)
        && redirect.starts_with("http://127.0.0.1:");
    if !valid {
        // §4.1.2.1: a bad redirect URI or client is not redirected to.
        return Answer::json(400, serde_json::json!({"error": "invalid_request"}));
    }
    let state = url::form_urlencoded::byte_serialize(q.get("state").map(String::as_bytes).unwrap_or_default())
        .collect::<String>();
    let query = if server.deny {
        format!("error=access_denied&state={state}")
    } else {
        server.issued += 1;
        let code = format!("code-{}-SplxlOBeZQQYbYS6WxSbIA", server.issued);
        server
            .codes
            .insert(code.clone(), (q["code_challenge"].clone(), redirect.clone()));
        format!("code={code}&state={state}")
    };
    Answer {
        status: 302,
        location: Some(format!("{redirect}?{query}")),
        body: String::new(),
    }
}

fn refusal(status: u16, code: &str) -> Answer {
    let (_, body) = crate::fixtures::answer("rfc6749/token.error.invalid-request.400.http", |b| {
        b["error"] = code.into();
    });
    Answer::json(status, body)
}

/// §4.1.3 / §6 with Basic client authentication (§2.3.1; a failure is
/// 401 there, §5.2).
fn token(server: &mut Server, authorization: Option<&String>, f: &BTreeMap<String, String>) -> Answer {
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", server.client_id, server.client_secret))
    );
    if authorization != Some(&basic) {
        return refusal(401, "invalid_client");
    }
    match f.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let Some((challenge, redirect)) = f.get("code").and_then(|c| server.codes.remove(c)) else {
                return refusal(400, "invalid_grant");
            };
            let verified = f
                .get("code_verifier")
                .is_some_and(|v| URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes())) == challenge);
            if !verified || f.get("redirect_uri") != Some(&redirect) {
                return refusal(400, "invalid_grant");
            }
            server.exchanges += 1;
            grant(server)
        }
        Some("refresh_token") => {
            if server.live_refresh.is_none() || f.get("refresh_token") != server.live_refresh.as_ref() {
                return refusal(400, "invalid_grant");
            }
            server.refreshes += 1;
            grant(server)
        }
        _ => refusal(400, "unsupported_grant_type"),
    }
}

/// §4.1.4's answer with new tokens; the refresh token before it is spent.
fn grant(server: &mut Server) -> Answer {
    server.issued += 1;
    let n = server.issued;
    let refresh = format!("rt-{n}-tGzv3JOkF0XG5Qx2TlKWIA");
    server.live_refresh = Some(refresh.clone());
    let lifetime = server.refresh_lifetime;
    let (_, body) = crate::fixtures::answer("rfc6749/token.authorization-code.200.http", |b| {
        b["access_token"] = format!("at-{n}-2YotnFZFEjr1zCsicMWpAA").into();
        b["token_type"] = "Bearer".into();
        b["refresh_token"] = refresh.into();
        b["example_parameter"] = "export:read".into();
    });
    let mut body = body;
    // Not in RFC 6749's example: the member providers that bound a refresh
    // token's life send (the test that wants it asks for it).
    if let Some(seconds) = lifetime {
        body["refresh_token_expires_in"] = seconds.into();
    }
    Answer::json(200, body)
}
