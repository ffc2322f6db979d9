//! A provider fake on 127.0.0.1: an axum server whose one handler records
//! each request (method, URI, headers, body) and answers from a closure.
//! A provider's answers are its documented ones (`Reply::documented`,
//! `Reply::fixture`: tests/fixtures/providers), changed only in ids,
//! scopes and secrets and checked to keep the documented shape.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub uri: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    pub delay: Duration,
}

impl Reply {
    pub fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply {
            status,
            headers: vec![("content-type", "application/json".into())],
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }

    /// The provider's documented answer `name` (status, headers, body),
    /// as it is.
    pub fn documented(name: &str) -> Reply {
        Reply::fixture(name, |_| {})
    }

    /// The documented answer `name` with `edit` applied to its JSON body
    /// (ids, scopes, secrets); panics if the edit changed its shape.
    pub fn fixture(name: &str, edit: impl FnOnce(&mut serde_json::Value)) -> Reply {
        let f = keywarden_connectors::fixtures::Fixture::load(name);
        let mut headers: Vec<(&'static str, String)> = f
            .headers
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case("host") && !k.eq_ignore_ascii_case("content-length"))
            .map(|(k, v)| (&*k.to_ascii_lowercase().leak(), v.clone()))
            .collect();
        let body = if serde_json::from_str::<serde_json::Value>(&f.body).is_ok() {
            if f.header("content-type").is_none() {
                headers.push(("content-type", "application/json".into()));
            }
            keywarden_connectors::fixtures::answer(name, edit).1.to_string()
        } else {
            // Nothing to edit: an edit that would change something here is
            // a mistake in the test, not a body to serve unchanged.
            let mut probe = serde_json::Value::Null;
            edit(&mut probe);
            assert!(probe.is_null(), "fixture {name} has no JSON body to edit");
            f.body.clone()
        };
        Reply {
            status: f.status(),
            headers,
            body,
            delay: Duration::ZERO,
        }
    }

    /// Sets a header, replacing one of the same name.
    pub fn with_header(mut self, name: &'static str, value: &str) -> Reply {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.headers.push((name, value.to_owned()));
        self
    }

    pub fn after(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

pub struct Fake {
    pub base: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
    _rt: tokio::runtime::Runtime,
}

impl Fake {
    pub fn start(respond: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> Fake {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let respond = Arc::new(respond);
        let log = requests.clone();
        let app = axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let respond = respond.clone();
            let log = log.clone();
            async move {
                let recorded = Recorded {
                    method: method.to_string(),
                    uri: uri.to_string(),
                    headers: headers
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("<binary>").to_owned()))
                        .collect(),
                    body: String::from_utf8_lossy(&body).into_owned(),
                };
                let reply = respond(&recorded);
                log.lock().unwrap().push(recorded);
                if !reply.delay.is_zero() {
                    tokio::time::sleep(reply.delay).await;
                }
                let mut resp: Response = (StatusCode::from_u16(reply.status).unwrap(), reply.body).into_response();
                for (k, v) in reply.headers {
                    resp.headers_mut().append(k, v.parse().unwrap());
                }
                resp
            }
        });
        rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
        Fake {
            base,
            requests,
            _rt: rt,
        }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

/// A port on 127.0.0.1 where nothing listens.
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// An HTTPS server on 127.0.0.1 whose certificate is self-signed, made
/// fresh for each test: no trust store knows its issuer, so every
/// handshake must fail. It counts the plaintext bytes it ever receives,
/// which stays 0 when the client refuses the certificate.
pub struct UntrustedTls {
    pub base: String,
    plaintext: Arc<std::sync::atomic::AtomicUsize>,
}

impl UntrustedTls {
    pub fn start() -> UntrustedTls {
        use std::io::Read;
        use std::sync::atomic::Ordering;

        let certified =
            rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
        let cert = certified.cert.der().clone();
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.key_pair.serialize_der().into());
        let config = Arc::new(
            rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(vec![cert], key)
                .unwrap(),
        );
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("https://{}", listener.local_addr().unwrap());
        let plaintext = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = plaintext.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let Ok(conn) = rustls::ServerConnection::new(config.clone()) else {
                    continue;
                };
                let mut tls = rustls::StreamOwned::new(conn, stream);
                let mut buf = [0u8; 4096];
                while let Ok(n) = tls.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    seen.fetch_add(n, Ordering::SeqCst);
                }
            }
        });
        UntrustedTls { base, plaintext }
    }

    pub fn plaintext_bytes(&self) -> usize {
        self.plaintext.load(std::sync::atomic::Ordering::SeqCst)
    }
}
