//! The core's side of `make bench`'s comparison with KeePassXC, pass and
//! OpenBao (scripts/bench_peers.py runs it inside scripts/test-session.sh,
//! which provides the Secret Service):
//!
//!   peer_bench core SMALL.csv BULK.xml SEARCH
//!       the peers' workloads in process, no process start per operation;
//!       prints one JSON object of milliseconds per workload.
//!   peer_bench readback VAULT NAME…
//!       the SHA-256 of each named credential's secret, one "NAME HEX" line
//!       each, so the harness can check what kw stored without any secret
//!       leaving the vault (`kw` itself never prints one).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Instant;

use keywarden_core::migrate::{self, ImportDefaults, SourceFormat};
use keywarden_core::{
    Actor, CredentialFilter, ExposeSecret, KeySource, OfflineValidator, SecretFields, SecretString, Vault,
};
use sha2::{Digest, Sha256};

fn actor() -> Actor {
    Actor {
        profile: "bench".into(),
        os_user: "bench".into(),
        host: "bench".into(),
    }
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn plan(path: &str, format: SourceFormat) -> migrate::Plan {
    let bytes = std::fs::read(path).expect("read the workload file");
    migrate::parse(format, &bytes, &ImportDefaults::default()).expect("parse the workload file")
}

fn core(small: &str, bulk: &str, search: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut out = serde_json::Map::new();
    let mut put = |k: &str, v: f64| {
        out.insert(k.into(), serde_json::json!(v));
    };

    let t = Instant::now();
    let (mut v, _) = Vault::create(&dir.path().join("small"), KeySource::Keychain, actor()).unwrap();
    put("create", ms(t));

    let small = plan(small, SourceFormat::Csv);
    let names: Vec<String> = small.credentials.iter().map(|p| p.credential.name.clone()).collect();
    let t = Instant::now();
    for p in small.credentials {
        v.add_credential(p.credential).unwrap();
    }
    put("add_100", ms(t));

    let t = Instant::now();
    v.get_credential(&names[50]).unwrap();
    put("lookup", ms(t));

    let filter = CredentialFilter {
        search: Some(search.into()),
        ..Default::default()
    };
    let t = Instant::now();
    let found = v.list_credentials(&filter).unwrap();
    put("search", ms(t));
    assert!(!found.is_empty(), "the search finds nothing");

    let t = Instant::now();
    let new = SecretFields::single(
        "api_key",
        SecretString::from("rotated-value-0123456789abcdef".to_owned()),
    );
    v.replace_secret(&names[10], new, None, &OfflineValidator).unwrap();
    put("update", ms(t));

    let t = Instant::now();
    v.delete_credential(&names[20], false).unwrap();
    put("delete", ms(t));
    drop(v);

    let bulk_plan = plan(bulk, SourceFormat::KeepassXml);
    let sample = bulk_plan.credentials[bulk_plan.credentials.len() / 2]
        .credential
        .name
        .clone();
    drop(bulk_plan);
    let path = dir.path().join("bulk");
    let t = Instant::now();
    let (mut v, _) = Vault::create(&path, KeySource::Keychain, actor()).unwrap();
    let bytes = std::fs::read(bulk).unwrap();
    let p = migrate::parse(SourceFormat::KeepassXml, &bytes, &ImportDefaults::default()).unwrap();
    v.import_credentials(p.credentials, "keepass-xml").unwrap();
    // Closing checkpoints the WAL into the database file, as kw's process
    // does when it exits: part of the import's cost.
    drop(v);
    put("bulk_import", ms(t));

    let t = Instant::now();
    let mut v = Vault::open(&path, &KeySource::Keychain, actor()).unwrap();
    v.get_credential(&sample).unwrap();
    put("open_cold", ms(t));

    let t = Instant::now();
    let found = v.list_credentials(&filter).unwrap();
    put("search_bulk", ms(t));
    assert!(!found.is_empty());
    let t = Instant::now();
    v.use_secret(&sample, "bench").unwrap();
    put("read_secret_bulk", ms(t));

    println!("{}", serde_json::Value::Object(out));
}

fn readback(vault: &str, names: &[String]) {
    let mut v = Vault::open(Path::new(vault), &KeySource::Keychain, actor()).expect("open the vault");
    for name in names {
        let secrets = v.use_secret(name, "bench read-back").expect("read the secret");
        let (_, value) = secrets.iter().next().expect("a secret field");
        let digest = Sha256::digest(value.expose_secret().as_bytes());
        println!("{name} {}", hex::encode(digest));
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("core") if args.len() == 4 => core(&args[1], &args[2], &args[3]),
        Some("readback") if args.len() >= 3 => readback(&args[1], &args[2..]),
        _ => {
            eprintln!("usage: peer_bench core SMALL.csv BULK.xml SEARCH | readback VAULT NAME…");
            std::process::exit(2);
        }
    }
}
