//! Connect (authorization code + PKCE, loopback redirect) against a fake
//! authorization server on 127.0.0.1 whose answers are RFC 6749's and RFC
//! 7636's (tests/fixtures/providers/rfc6749: the authorization response
//! §4.1.2 and its error §4.1.2.1, the token answer §4.1.4), and whose token
//! endpoint authenticates the client with HTTP Basic and checks the PKCE
//! verifier against the challenge, as Pleo's does. The "browser" is a
//! thread that follows the redirect as a browser would.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use fake::{Fake, Recorded, Reply};
use keywarden_connectors::Options;
use keywarden_connectors::authorize::{Connect, ConnectConfig, ConnectError, REDIRECT_PATH};
use keywarden_core::{Failure, SecretFields, SecretString};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

const CLIENT_ID: &str = "kw-connect-client";
const CLIENT_SECRET: &str = "connect-client-secret-5e6f7a";
const CODE: &str = "SplxlOBeZQQYbYS6WxSbIA";

fn form(text: &str) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(text.as_bytes()).into_owned().collect()
}

/// What the fake's authorization endpoint does with the next request.
#[derive(Clone, Copy, PartialEq)]
enum Consent {
    Grant,
    Deny,
    /// Grants, but keeps another challenge than the one sent: the code
    /// then reaches the token endpoint with a verifier that does not match.
    GrantWithAnotherChallenge,
}

struct Server {
    fake: Fake,
    /// The challenge and redirect URI the authorization request carried.
    asked: Arc<Mutex<Option<(String, String)>>>,
}

fn server(consent: Consent) -> Server {
    let asked = Arc::new(Mutex::new(None::<(String, String)>));
    let seen = asked.clone();
    let fake = Fake::start(move |r: &Recorded| {
        let (path, query) = r.uri.split_once('?').unwrap_or((&r.uri, ""));
        match (r.method.as_str(), path) {
            ("GET", "/oauth/authorize") => {
                let q = form(query);
                assert_eq!(q["response_type"], "code");
                assert_eq!(q["client_id"], CLIENT_ID);
                assert_eq!(q["code_challenge_method"], "S256");
                assert_eq!(q["scope"], "export:read");
                let redirect = q["redirect_uri"].clone();
                let challenge = match consent {
                    Consent::GrantWithAnotherChallenge => {
                        URL_SAFE_NO_PAD.encode(Sha256::digest(b"another verifier entirely, not ours"))
                    }
                    _ => q["code_challenge"].clone(),
                };
                *seen.lock().unwrap() = Some((challenge, redirect.clone()));
                // §4.1.2 / §4.1.2.1: back to the client with the state.
                let fixture = match consent {
                    Consent::Grant | Consent::GrantWithAnotherChallenge => "rfc6749/authorize.302.http",
                    Consent::Deny => "rfc6749/authorize.error.access-denied.302.http",
                };
                let documented = keywarden_connectors::fixtures::Fixture::load(fixture);
                let location = documented
                    .headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("location"))
                    .map(|(_, v)| v.clone())
                    .unwrap();
                let query = location
                    .split_once('?')
                    .unwrap()
                    .1
                    .replace("xyz", &urlencode(&q["state"]));
                let keywarden_connectors::fixtures::StartLine::Response { status } = documented.start else {
                    panic!("{fixture} is not a response");
                };
                Reply {
                    status,
                    headers: vec![("location", format!("{redirect}?{query}"))],
                    body: String::new(),
                    delay: Duration::ZERO,
                }
            }
            ("POST", "/oauth/token") => token(r, &seen),
            _ => Reply::json(404, serde_json::json!({})),
        }
    });
    Server { fake, asked }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// §4.1.3 with RFC 7636 §4.6: Basic client authentication, the code, the
/// same redirect URI, and a verifier whose S256 is the challenge.
fn token(r: &Recorded, asked: &Mutex<Option<(String, String)>>) -> Reply {
    let refuse = |code: &str| {
        let code = code.to_owned();
        Reply::fixture("rfc6749/token.error.invalid-request.400.http", move |b| {
            b["error"] = code.into();
        })
    };
    let basic = format!("Basic {}", STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}")));
    if r.header("authorization") != Some(basic.as_str()) {
        return refuse("invalid_client");
    }
    let f = form(&r.body);
    let Some((challenge, redirect)) = asked.lock().unwrap().clone() else {
        return refuse("invalid_grant");
    };
    let verifier_ok = f
        .get("code_verifier")
        .is_some_and(|v| URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes())) == challenge);
    if f.get("grant_type").map(String::as_str) != Some("authorization_code")
        || f.get("code").map(String::as_str) != Some(CODE)
        || f.get("redirect_uri") != Some(&redirect)
        || !verifier_ok
    {
        return refuse("invalid_grant");
    }
    Reply::fixture("rfc6749/token.authorization-code.200.http", |b| {
        b["token_type"] = "Bearer".into();
    })
}

fn config(fake: &Fake) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("authorize_url".to_owned(), format!("{}/oauth/authorize", fake.base)),
        ("token_url".to_owned(), format!("{}/oauth/token", fake.base)),
        ("client_id".to_owned(), CLIENT_ID.to_owned()),
        ("client_auth".to_owned(), "basic".to_owned()),
        ("scope".to_owned(), "export:read".to_owned()),
    ])
}

fn secrets() -> SecretFields {
    SecretFields::single("client_secret", SecretString::from(CLIENT_SECRET.to_owned()))
}

fn options() -> Options {
    Options {
        allow_loopback_http: true,
        timeout: Duration::from_secs(5),
        ..Options::default()
    }
}

/// A browser: opens the start address, follows its redirect to the
/// authorization server and that one's back to the loopback listener
/// (after `edit` of its query), and returns the page's status. First it
/// asks the listener for a favicon, as browsers do, and where `forged` is
/// given, sends that redirect (the real one's query changed by it) first.
fn browse(
    url: String,
    forged: Option<fn(String) -> String>,
    edit: impl Fn(String) -> String + Send + 'static,
) -> std::thread::JoinHandle<u16> {
    std::thread::spawn(move || {
        let client = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let start = client.get(&url).send().unwrap();
        assert_eq!(start.status().as_u16(), 302);
        let authorize = start.headers()["location"].to_str().unwrap().to_owned();
        let answer = client.get(&authorize).send().unwrap();
        assert_eq!(answer.status().as_u16(), 302);
        let location = answer.headers()["location"].to_str().unwrap().to_owned();
        let origin = location.split(REDIRECT_PATH).next().unwrap().to_owned();
        assert_eq!(
            client
                .get(format!("{origin}/favicon.ico"))
                .send()
                .unwrap()
                .status()
                .as_u16(),
            404
        );
        if let Some(forge) = forged {
            let status = client.get(forge(location.clone())).send().unwrap().status().as_u16();
            assert_eq!(
                status, 400,
                "a redirect with another state is told it is not this sign-in"
            );
        }
        client.get(edit(location)).send().unwrap().status().as_u16()
    })
}

/// The wait for the browser: long enough for a loaded machine, never
/// reached when the browser answers.
const WAIT: Duration = Duration::from_secs(20);

fn run(
    consent: Consent,
    edit: impl Fn(String) -> String + Send + 'static,
) -> (Server, Result<String, ConnectError>, u16, u16) {
    run_forged_first(consent, None, edit)
}

fn run_forged_first(
    consent: Consent,
    forged: Option<fn(String) -> String>,
    edit: impl Fn(String) -> String + Send + 'static,
) -> (Server, Result<String, ConnectError>, u16, u16) {
    let server = server(consent);
    let cfg = config(&server.fake);
    let connect = Connect::start(&ConnectConfig::read(&cfg).unwrap()).unwrap();
    let port = url::Url::parse(connect.redirect_uri()).unwrap().port().unwrap();
    let browser = browse(connect.start_url(), forged, edit);
    let result = connect
        .finish(&options(), &cfg, &secrets(), WAIT)
        .map(|g| g.refresh_token.unwrap().expose_secret().to_owned());
    let page = browser.join().unwrap();
    (server, result, page, port)
}

fn token_requests(server: &Server) -> usize {
    server
        .fake
        .requests()
        .iter()
        .filter(|r| r.uri.starts_with("/oauth/token"))
        .count()
}

#[test]
fn connect_exchanges_the_code_with_its_verifier_and_basic_client_auth_and_gets_a_refresh_token() {
    let (server, result, page, port) = run(Consent::Grant, |l| l);
    assert_eq!(result.unwrap(), "tGzv3JOkF0XG5Qx2TlKWIA");
    assert_eq!(page, 200);
    let token = server
        .fake
        .requests()
        .into_iter()
        .find(|r| r.uri.starts_with("/oauth/token"))
        .unwrap();
    let f = form(&token.body);
    assert!(
        !f.contains_key("client_secret"),
        "the secret goes in Basic, not the body"
    );
    assert_eq!(f["code_verifier"].len(), 43);
    let (_, redirect) = server.asked.lock().unwrap().clone().unwrap();
    assert_eq!(redirect, format!("http://127.0.0.1:{port}/callback"));
    // The listener answered its one redirect and closed.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn a_redirect_with_another_state_is_refused_and_the_real_one_still_connects() {
    let (server, result, page, _) =
        run_forged_first(Consent::Grant, Some(|l| l.replace("state=", "state=forged")), |l| l);
    assert_eq!(result.unwrap(), "tGzv3JOkF0XG5Qx2TlKWIA");
    assert_eq!(page, 200);
    assert_eq!(
        token_requests(&server),
        1,
        "only the real redirect's code was exchanged"
    );
}

#[test]
fn a_sign_in_that_only_saw_other_redirects_times_out_saying_how_many() {
    let server = server(Consent::Grant);
    let cfg = config(&server.fake);
    let connect = Connect::start(&ConnectConfig::read(&cfg).unwrap()).unwrap();
    let (start, redirect) = (connect.start_url(), connect.redirect_uri().to_owned());
    // The browser opens the start address and two redirects with other
    // states arrive; the wait ends only at the deadline, which is after
    // both were answered (the thread tells the main one).
    let (answered, done) = std::sync::mpsc::channel();
    let forger = std::thread::spawn(move || {
        let client = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        assert_eq!(client.get(&start).send().unwrap().status().as_u16(), 302);
        for state in ["forged", "another"] {
            let url = format!("{redirect}?code=x&state={state}");
            assert_eq!(client.get(url).send().unwrap().status().as_u16(), 400);
        }
        answered.send(()).unwrap();
    });
    let waiting = std::thread::spawn(move || connect.finish(&options(), &cfg, &secrets(), Duration::from_secs(4)));
    done.recv_timeout(Duration::from_secs(20))
        .expect("the listener answered both");
    forger.join().unwrap();
    match waiting.join().unwrap() {
        Err(e @ ConnectError::TimedOut { refused: 2, .. }) => {
            assert!(
                e.to_string().contains("2 redirect(s) that were not this sign-in's"),
                "{e}"
            );
        }
        other => panic!("{:?}", other.map(|_| ())),
    }
    assert_eq!(token_requests(&server), 0);
}

#[test]
fn clients_holding_connections_open_do_not_keep_the_browser_waiting() {
    use std::io::Write;
    let server = server(Consent::Grant);
    let cfg = config(&server.fake);
    let connect = Connect::start(&ConnectConfig::read(&cfg).unwrap()).unwrap();
    let port = url::Url::parse(connect.redirect_uri()).unwrap().port().unwrap();
    // Ten silent connections and one that sends a byte every 200 ms, all
    // open before the browser comes: each is read on its own, so none of
    // them is in the browser's way.
    let mut held: Vec<std::net::TcpStream> = (0..10)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let drip = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            for b in b"GET /callback?state=x HTTP/1.1\r\nHost: 127.0.0.1\r\n".iter().cycle() {
                if stop.load(std::sync::atomic::Ordering::SeqCst) || s.write_all(&[*b]).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let browser = browse(connect.start_url(), None, |l| l);
    let began = std::time::Instant::now();
    let result = connect.finish(&options(), &cfg, &secrets(), WAIT);
    let took = began.elapsed();
    assert_eq!(browser.join().unwrap(), 200);
    assert_eq!(
        result.unwrap().refresh_token.unwrap().expose_secret(),
        "tGzv3JOkF0XG5Qx2TlKWIA"
    );
    // Reading one request may take up to 5 s; the browser did not wait
    // for the held connections to time out.
    assert!(took < Duration::from_secs(5), "the browser waited {took:?}");
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    drip.join().unwrap();
    held.clear();
}

#[test]
fn the_sign_in_page_is_owner_only_names_only_the_start_address_and_goes_when_dropped() {
    use std::os::unix::fs::PermissionsExt;
    let server = server(Consent::Grant);
    let cfg = config(&server.fake);
    let connect = Connect::start(&ConnectConfig::read(&cfg).unwrap()).unwrap();
    let page = connect.write_sign_in_page().unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(page.path()), 0o600);
    assert_eq!(mode(page.dir()), 0o700);
    let html = std::fs::read_to_string(page.path()).unwrap();
    assert!(
        html.contains(&format!("content=\"0;url={}\"", connect.start_url())),
        "{html}"
    );
    assert!(!html.contains("state=") && !html.contains("code_challenge") && !html.contains("<script"));
    let dir = page.dir().to_owned();
    drop(page);
    assert!(!dir.exists(), "the page and its directory are removed");
}

#[test]
fn the_start_address_works_once_and_a_second_opening_ends_the_sign_in() {
    let server = server(Consent::Grant);
    let cfg = config(&server.fake);
    let connect = Connect::start(&ConnectConfig::read(&cfg).unwrap()).unwrap();
    let start = connect.start_url();
    assert!(!start.contains("state") && !start.contains("code_challenge"), "{start}");
    let racer = std::thread::spawn(move || {
        let client = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let first = client.get(&start).send().unwrap().status().as_u16();
        let second = client.get(&start).send().unwrap().status().as_u16();
        (first, second)
    });
    let result = connect.finish(&options(), &cfg, &secrets(), Duration::from_secs(5));
    assert_eq!(racer.join().unwrap(), (302, 409));
    assert!(
        matches!(result, Err(ConnectError::StartedTwice)),
        "{:?}",
        result.map(|_| ())
    );
    assert_eq!(token_requests(&server), 0);
}

#[test]
fn a_client_sending_a_byte_at_a_time_cannot_hold_the_listener_past_its_deadline() {
    use std::io::Write;
    let server = server(Consent::Grant);
    let cfg = config(&server.fake);
    let connect = Connect::start(&ConnectConfig::read(&cfg).unwrap()).unwrap();
    let port = url::Url::parse(connect.redirect_uri()).unwrap().port().unwrap();
    let drip = std::thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        for b in b"GET /callback?state=x HTTP/1.1\r\nHost: 127.0.0.1\r\n" {
            if s.write_all(&[*b]).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    let began = std::time::Instant::now();
    let result = connect.finish(&options(), &cfg, &secrets(), Duration::from_secs(2));
    assert!(
        matches!(result, Err(ConnectError::TimedOut { .. })),
        "{:?}",
        result.map(|_| ())
    );
    assert!(
        began.elapsed() < Duration::from_secs(4),
        "held for {:?}",
        began.elapsed()
    );
    drip.join().unwrap();
}

#[test]
fn access_denied_ends_connect_with_what_happened_and_no_exchange() {
    let (server, result, page, _) = run(Consent::Deny, |l| l);
    let err = result.unwrap_err();
    assert!(err.to_string().contains("access_denied"), "{err}");
    assert_eq!(page, 200, "the browser is told too");
    assert_eq!(token_requests(&server), 0);
}

#[test]
fn a_code_presented_with_another_verifier_is_refused_by_the_token_endpoint() {
    let (server, result, _, _) = run(Consent::GrantWithAnotherChallenge, |l| l);
    match result {
        Err(ConnectError::Exchange(Failure::InvalidCredential { detail })) => {
            assert!(detail.contains("PKCE verifier"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(token_requests(&server), 1);
}

#[test]
fn no_redirect_in_time_ends_connect_and_closes_the_port() {
    let server = server(Consent::Grant);
    let cfg = config(&server.fake);
    let connect = Connect::start(&ConnectConfig::read(&cfg).unwrap()).unwrap();
    let port = url::Url::parse(connect.redirect_uri()).unwrap().port().unwrap();
    let result = connect.finish(&options(), &cfg, &secrets(), Duration::from_millis(300));
    assert!(matches!(result, Err(ConnectError::TimedOut { .. })));
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    assert_eq!(server.fake.requests().len(), 0);
}

#[test]
fn an_authorize_url_carrying_a_parameter_connect_sets_is_refused_by_name() {
    let server = server(Consent::Grant);
    for param in ["redirect_uri", "state", "code_challenge", "client_id"] {
        let mut cfg = config(&server.fake);
        let url = format!(
            "{}?tenant=x&{param}=http%3A%2F%2Fattacker.example",
            cfg["authorize_url"]
        );
        cfg.insert("authorize_url".into(), url);
        let err = ConnectConfig::read(&cfg).err().unwrap();
        assert!(err.to_string().contains(&format!("'{param}'")), "{err}");
    }
    // A parameter of the provider's own is kept.
    let mut cfg = config(&server.fake);
    let url = format!("{}?prompt=consent", cfg["authorize_url"]);
    cfg.insert("authorize_url".into(), url);
    assert!(ConnectConfig::read(&cfg).is_ok());
}

#[test]
fn a_fixed_redirect_port_is_used_as_configured_and_a_bad_one_is_named() {
    let server = server(Consent::Grant);
    let mut cfg = config(&server.fake);
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    cfg.insert("redirect_port".into(), free.to_string());
    let connect = Connect::start(&ConnectConfig::read(&cfg).unwrap()).unwrap();
    assert_eq!(connect.redirect_uri(), format!("http://127.0.0.1:{free}/callback"));
    cfg.insert("redirect_port".into(), "80".into());
    let err = ConnectConfig::read(&cfg).err().unwrap();
    assert!(err.to_string().contains("redirect_port from 1024"), "{err}");
    cfg.remove("authorize_url");
    assert!(
        ConnectConfig::read(&cfg)
            .err()
            .unwrap()
            .to_string()
            .contains("authorize_url")
    );
}

#[test]
fn an_issuers_metadata_document_gives_the_endpoints_and_another_issuer_is_refused() {
    use keywarden_connectors::endpoints::{Provider, completed};
    let issuer = Arc::new(Mutex::new(String::new()));
    let named = issuer.clone();
    let fake = Fake::start(move |r: &Recorded| {
        assert_eq!(r.uri, "/.well-known/oauth-authorization-server/tenant-a");
        let issuer = named.lock().unwrap().clone();
        Reply::fixture("rfc8414/metadata.200.http", move |b| {
            b["authorization_endpoint"] = format!("{issuer}/authorize").into();
            b["token_endpoint"] = format!("{issuer}/token").into();
            b["issuer"] = issuer.into();
        })
    });
    let own = format!("{}/tenant-a", fake.base);
    *issuer.lock().unwrap() = own.clone();
    let provider = Provider {
        name: "generic",
        environment: "production",
        tenant: None,
    };
    let cfg = BTreeMap::from([("issuer".to_owned(), own.clone())]);
    let out = completed(&options(), &provider, &cfg).unwrap();
    assert_eq!(out["authorize_url"], format!("{own}/authorize"));
    assert_eq!(out["token_url"], format!("{own}/token"));

    // §3.3: a document naming another issuer is not used.
    *issuer.lock().unwrap() = "https://server.example.com".into();
    let err = completed(&options(), &provider, &cfg).err().unwrap();
    assert!(err.to_string().contains("another issuer"), "{err}");
}
