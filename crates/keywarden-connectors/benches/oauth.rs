//! Budgets of issue 22: Connect, from the redirect arriving at the loopback
//! listener to the token stored, within 50 ms beyond the token endpoint's
//! own time; and an access token from the cache, as `kw run` takes it,
//! within 2 ms. The authorization server is `fake_oauth` on 127.0.0.1
//! (answers from memory: its own time is the loopback round trip).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use keywarden_connectors::Options;
use keywarden_connectors::authorize::{Connect, ConnectConfig};
use keywarden_connectors::fake_oauth::FakeAuthServer;
use keywarden_connectors::tokens::TokenBroker;
use keywarden_core::*;

const CLIENT_ID: &str = "bench-client";
const CLIENT_SECRET: &str = "bench-client-secret-0a1b2c";

/// Where the bench's vault lives: `KEYWARDEN_BENCH_DIR` (e.g. /dev/shm,
/// to tell the code's own time from the disk's fsync of each audited
/// commit), else the temporary directory.
fn bench_dir() -> tempfile::TempDir {
    match std::env::var_os("KEYWARDEN_BENCH_DIR") {
        Some(d) => tempfile::tempdir_in(d).unwrap(),
        None => tempfile::tempdir().unwrap(),
    }
}

fn options() -> Options {
    Options {
        allow_loopback_http: true,
        timeout: Duration::from_secs(5),
        ..Options::default()
    }
}

fn vault(dir: &std::path::Path, server: &FakeAuthServer) -> (Vault, BTreeMap<String, String>) {
    let actor = Actor {
        profile: "bench".into(),
        os_user: "bench".into(),
        host: "bench".into(),
    };
    // KEYWARDEN_BENCH_PASSPHRASE=1: a passphrase vault, whose rollback
    // anchor is a file, not a keychain item (to tell their costs apart).
    let source = match std::env::var_os("KEYWARDEN_BENCH_PASSPHRASE") {
        Some(_) => KeySource::Passphrase(SecretString::from("bench passphrase, long enough".to_owned())),
        None => KeySource::Keychain,
    };
    let (mut v, _) = Vault::create(&dir.join("v"), source, actor).unwrap();
    let config: BTreeMap<String, String> = [
        ("authorize_url".to_owned(), server.authorize_url()),
        ("token_url".to_owned(), server.token_url()),
        ("client_id".to_owned(), CLIENT_ID.to_owned()),
        ("client_auth".to_owned(), "basic".to_owned()),
        ("grant_type".to_owned(), "client_credentials".to_owned()),
    ]
    .into();
    v.add_credential(NewCredential {
        name: "oauth".into(),
        kind: Some(CredentialKind::OAuth2),
        config: config.clone(),
        secrets: SecretFields::single("client_secret", SecretString::from(CLIENT_SECRET.to_owned())),
        ..Default::default()
    })
    .unwrap();
    (v, config)
}

/// One Connect: a browser thread follows the authorization server's
/// redirect; the clock runs from just before the redirect is sent to the
/// loopback listener until the token is stored. Returns that time and the
/// token endpoint's own round trip, measured by the same client alone.
fn connect_once(v: &mut Vault, config: &BTreeMap<String, String>) -> (Duration, Duration) {
    let inputs = v.connect_inputs("oauth").unwrap();
    let flow = Connect::start(&ConnectConfig::read(config).unwrap()).unwrap();
    let url = flow.start_url();
    let (tx, rx) = std::sync::mpsc::channel();
    let browser = std::thread::spawn(move || {
        let client = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let start = client.get(&url).send().unwrap();
        let authorize = start.headers()["location"].to_str().unwrap().to_owned();
        let answer = client.get(&authorize).send().unwrap();
        let location = answer.headers()["location"].to_str().unwrap().to_owned();
        tx.send(Instant::now()).unwrap();
        client.get(location).send().unwrap();
    });
    let grant = flow
        .finish(&options(), config, &inputs.secrets, Duration::from_secs(10))
        .unwrap();
    let now = v.now();
    v.store_connected(
        "oauth",
        inputs.version,
        Connected {
            refresh_token: grant.refresh_token.unwrap(),
            refresh_expires_at: None,
            access_token: grant.access_token,
            access_expires_at: grant.expires_in.map(|s| now + time::Duration::seconds(s)),
            scopes: grant.granted,
            config: BTreeMap::new(),
        },
    )
    .unwrap();
    let end = Instant::now();
    let start = rx.recv().unwrap();
    browser.join().unwrap();
    // The token endpoint's own time: one refused request (wrong code) by a
    // fresh client, as the exchange's own request is.
    let t = Instant::now();
    let _ = reqwest::blocking::Client::new()
        .post(config["token_url"].as_str())
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[("grant_type", "authorization_code"), ("code", "none")])
        .send()
        .unwrap();
    (end - start, t.elapsed())
}

fn connect(c: &mut Criterion) {
    let server = FakeAuthServer::start(CLIENT_ID, CLIENT_SECRET).unwrap();
    let dir = bench_dir();
    let (mut v, config) = vault(dir.path(), &server);
    let mut g = c.benchmark_group("oauth");
    g.sample_size(30);
    g.bench_function("connect_redirect_to_stored", |b| {
        b.iter_custom(|n| (0..n).map(|_| connect_once(&mut v, &config).0).sum())
    });
    g.bench_function("token_endpoint_round_trip", |b| {
        b.iter_custom(|n| (0..n).map(|_| connect_once(&mut v, &config).1).sum())
    });
    g.finish();
}

fn cached_token(c: &mut Criterion) {
    let server = FakeAuthServer::start(CLIENT_ID, CLIENT_SECRET).unwrap();
    let dir = bench_dir();
    let (mut v, config) = vault(dir.path(), &server);
    connect_once(&mut v, &config);
    let broker = TokenBroker::new(Mutex::new(v), options());
    c.bench_function("oauth/access_token_from_cache", |b| {
        b.iter(|| broker.access_token_until("oauth", "kw run: bench").unwrap())
    });
    // From the cache indeed: the token endpoint was never asked again.
    assert_eq!(server.refreshes(), 0, "the bench measured refreshes, not the cache");
}

criterion_group!(benches, connect, cached_token);
criterion_main!(benches);
