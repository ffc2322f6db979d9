//! Budgets of issue 4: a live check's own overhead beyond the provider's
//! response time (≤ 5 ms), and a full rotation against the local fake
//! (≤ 50 ms). The fake answers from memory on 127.0.0.1, so its own time is
//! the loopback round trip, measured alongside as `raw_loopback_request`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/fake/mod.rs"]
mod fake;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::time::Duration;

use base64::Engine;
use criterion::{Criterion, criterion_group, criterion_main};
use fake::{Fake, Reply};
use keywarden_connectors::pleo::Pleo;
use keywarden_connectors::{Connectors, Options};
use keywarden_core::*;

const COMPANY: &str = "0f9b2a8e-3c1d-4e6f-9a7b-5d4c3b2a1f00";

/// Pleo's documented introspection answer (pleo/introspect.200.http,
/// wrapped in `data`) for any key, built once: the fake's own time stays
/// the loopback round trip, not a fixture read per request.
fn pleo() -> Fake {
    let answer = Reply::fixture("pleo/introspect.200.http", |b| {
        b["data"]["subjectURN"] = format!("urn:pleo:company:{COMPANY}").into();
        b["data"]["scope"] = "export:read".into();
    });
    let (status, headers, body) = (answer.status, answer.headers, answer.body);
    Fake::start(move |_| Reply {
        status,
        headers: headers.clone(),
        body: body.clone(),
        delay: Duration::ZERO,
    })
}

fn options(f: &Fake) -> Options {
    Options {
        allow_loopback_http: true,
        timeout: Duration::from_secs(5),
        pleo_production: f.base.clone(),
        pleo_staging: f.base.clone(),
        ..Options::default()
    }
}

fn integration() -> Integration {
    let now = time::OffsetDateTime::now_utc();
    Integration {
        id: uuid::Uuid::new_v4(),
        name: "pleo".into(),
        provider: "pleo".into(),
        environment: "production".into(),
        tenant_id: Some(COMPANY.into()),
        base_url: None,
        scopes: vec!["export:read".into()],
        sync_schedule: None,
        owner: None,
        tags: vec![],
        notes: None,
        max_age_days: None,
        env_names: Default::default(),
        created_at: now,
        updated_at: now,
    }
}

fn bench(c: &mut Criterion) {
    let f = pleo();
    let addr = f.base.trim_start_matches("http://").to_owned();
    c.bench_function("raw_loopback_request", |b| {
        b.iter(|| {
            let mut s = std::net::TcpStream::connect(&addr).unwrap();
            let auth = base64::engine::general_purpose::STANDARD.encode("k:");
            write!(
                s,
                "GET /v1/introspect HTTP/1.1\r\nhost: {addr}\r\nauthorization: Basic {auth}\r\nconnection: close\r\n\r\n"
            )
            .unwrap();
            let mut out = Vec::new();
            s.read_to_end(&mut out).unwrap();
            out
        })
    });

    let integration = integration();
    let config = BTreeMap::new();
    let secrets = SecretFields::single("api_key", SecretString::from("pleo-bench-key-0001".to_owned()));
    let pleo = Pleo::new(options(&f));
    c.bench_function("pleo_live_check", |b| {
        b.iter(|| {
            pleo.validate(&Candidate {
                credential_name: "pleo",
                kind: CredentialKind::ApiKey,
                config: &config,
                secrets: &secrets,
                integration: Some(&integration),
            })
            .unwrap()
        })
    });

    let dir = tempfile::tempdir().unwrap();
    let actor = Actor {
        profile: "bench".into(),
        os_user: "bench".into(),
        host: "bench".into(),
    };
    let (mut v, _) = Vault::create(&dir.path().join("v"), KeySource::Keychain, actor).unwrap();
    v.add_integration(NewIntegration {
        name: "pleo".into(),
        provider: "pleo".into(),
        environment: "production".into(),
        tenant_id: Some(COMPANY.into()),
        ..Default::default()
    })
    .unwrap();
    v.add_credential(NewCredential {
        name: "pleo".into(),
        kind: Some(CredentialKind::ApiKey),
        integration: Some("pleo".into()),
        secrets: SecretFields::single("api_key", SecretString::from("pleo-bench-key-0000".to_owned())),
        ..Default::default()
    })
    .unwrap();
    let connectors = Connectors::new(options(&f));
    let mut n = 0u64;
    c.bench_function("full_rotation_against_fake", |b| {
        b.iter(|| {
            n += 1;
            let s = SecretFields::single("api_key", SecretString::from(format!("pleo-bench-key-{n:08}")));
            v.replace_secret("pleo", s, None, &connectors).unwrap()
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
