//! Provider fakes for other crates' tests (feature `fakes`): a minimal
//! HTTP/1.1 server on 127.0.0.1 in a thread, answering Pleo's
//! `GET /v1/introspect` as documented. The connectors' own tests use the
//! fuller axum fakes in `tests/fake`.

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
}

impl FakePleo {
    /// Keys in `accepted` belong to `company` and get 200 with its
    /// `subjectURN` and `scope`; anything else gets 401. With `echo`, the
    /// 401 body repeats the Authorization header it was sent, so a test can
    /// prove no verdict carries the provider's words back.
    pub fn start(accepted: &[&str], company: &str, echo: bool) -> std::io::Result<FakePleo> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let base = format!("http://{}", listener.local_addr()?);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let accepted: Vec<String> = accepted
            .iter()
            .map(|k| {
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(format!("{k}:"))
                )
            })
            .collect();
        let company = company.to_owned();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
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
                let ok = seen.request_line.starts_with("GET /v1/introspect ") && accepted.contains(&auth);
                if let Ok(mut l) = log.lock() {
                    l.push(seen);
                }
                let (status, body) = if ok {
                    (
                        "200 OK",
                        format!(r#"{{"subjectURN":"urn:pleo:company:{company}","scope":"export:read expenses:read"}}"#),
                    )
                } else if echo {
                    ("401 Unauthorized", format!(r#"{{"message":"Unauthorized: {auth}"}}"#))
                } else {
                    ("401 Unauthorized", r#"{"message":"Unauthorized"}"#.to_owned())
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Ok(FakePleo { base, seen })
    }

    /// Every request received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().map(|l| l.clone()).unwrap_or_default()
    }
}
