//! Provider fakes for other crates' tests (feature `fakes`): a minimal
//! HTTP/1.1 server on 127.0.0.1 in a thread, answering Pleo's
//! `GET /v1/introspect` with the documented answers
//! (`fixtures::answer("pleo/introspect.200.http")`, `…401.http`). The
//! connectors' own tests use the fuller axum fakes in `tests/fake`.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use base64::Engine;

/// One request as received: the request line and every header.
#[derive(Debug, Clone)]
pub struct Seen {
    pub request_line: String,
    pub headers: Vec<(String, String)>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub struct FakePleo {
    /// `http://127.0.0.1:<port>`: an integration's base URL.
    pub base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// (Authorization header, company) of each key Pleo accepts.
    accepted: Arc<Mutex<Vec<(String, String)>>>,
    stopped: Arc<std::sync::atomic::AtomicBool>,
}

fn basic(key: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{key}:"))
    )
}

impl FakePleo {
    /// Keys in `accepted` belong to `company` and get Pleo's documented 200
    /// with its `subjectURN` and `scope`; anything else gets the documented
    /// 401. With `echo` the fake turns hostile, off the document on
    /// purpose: its 401 body repeats the Authorization header it was sent,
    /// so a test can prove no verdict carries the provider's words back.
    pub fn start(accepted: &[&str], company: &str, echo: bool) -> std::io::Result<FakePleo> {
        let keys: Vec<(&str, &str)> = accepted.iter().map(|k| (*k, company)).collect();
        FakePleo::start_companies(&keys, echo)
    }

    /// Like `start`, each accepted key belonging to its own company.
    pub fn start_companies(accepted: &[(&str, &str)], echo: bool) -> std::io::Result<FakePleo> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let base = format!("http://{}", listener.local_addr()?);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let accepted: Vec<(String, String)> = accepted
            .iter()
            .map(|(k, company)| (basic(k), (*company).to_owned()))
            .collect();
        let accepted = Arc::new(Mutex::new(accepted));
        let stopped = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (keys, stop) = (accepted.clone(), stopped.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                // Stopped: the listener closes, and the port refuses
                // connections, as an unreachable provider's does.
                if stop.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                let Ok(mut stream) = stream else { continue };
                let Ok(clone) = stream.try_clone() else { continue };
                let mut reader = BufReader::new(clone);
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                    continue;
                }
                let mut headers = Vec::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((k, v)) = line.trim_end().split_once(':') {
                        headers.push((k.trim().to_owned(), v.trim().to_owned()));
                    }
                }
                let seen = Seen {
                    request_line: request_line.trim_end().to_owned(),
                    headers,
                };
                let auth = seen.header("authorization").unwrap_or_default().to_owned();
                let company = keys
                    .lock()
                    .map(|keys| keys.iter().find(|(a, _)| *a == auth).map(|(_, c)| c.clone()))
                    .unwrap_or_default()
                    .filter(|_| seen.request_line.starts_with("GET /v1/introspect "));
                if let Ok(mut l) = log.lock() {
                    l.push(seen);
                }
                let (status, content_type, body) = if let Some(company) = company {
                    (
                        "200 OK",
                        "application/json;charset=UTF-8",
                        introspection(&company).to_string(),
                    )
                } else if echo {
                    (
                        "401 Unauthorized",
                        "application/json",
                        format!(r#"{{"message":"Unauthorized: {auth}"}}"#),
                    )
                } else {
                    // Documented with no body.
                    ("401 Unauthorized", "text/plain", String::new())
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Ok(FakePleo {
            base,
            seen,
            accepted,
            stopped,
        })
    }

    /// The key is revoked at Pleo: from now on it gets the documented 401.
    pub fn revoke(&self, key: &str) {
        let auth = basic(key);
        if let Ok(mut keys) = self.accepted.lock() {
            keys.retain(|(a, _)| *a != auth);
        }
    }

    /// The key is (again) valid at Pleo, for `company`.
    pub fn accept(&self, key: &str, company: &str) {
        if let Ok(mut keys) = self.accepted.lock() {
            keys.push((basic(key), company.to_owned()));
        }
    }

    /// Pleo (or the network) is gone: the port refuses connections.
    pub fn stop(&self) {
        self.stopped.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag and closes, and
        // returns once the port refuses (2 s at most).
        let addr = self.base.trim_start_matches("http://");
        for _ in 0..200 {
            if std::net::TcpStream::connect(addr).is_err() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// Every request received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

/// Pleo's documented introspection answer for a key of `company` (the
/// fixture `pleo/introspect.200.http`, its subject and scopes changed).
pub fn introspection(company: &str) -> serde_json::Value {
    crate::fixtures::answer("pleo/introspect.200.http", |body| {
        body["data"]["subjectURN"] = format!("urn:pleo:company:{company}").into();
        body["data"]["scope"] = "export:read expenses:read".into();
    })
    .1
}
