//! Budgets of issue 2, measured against the real keychain: run through
//! `make bench` (scripts/test-session.sh provides the Secret Service).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use keywarden_core::{
    Actor, CredentialFilter, CredentialKind, KeySource, NewCredential, SecretFields, SecretString, Vault,
};

fn actor() -> Actor {
    Actor {
        profile: "bench".into(),
        os_user: "bench".into(),
        host: "bench".into(),
    }
}

fn creds(from: usize, n: usize) -> Vec<NewCredential> {
    (from..from + n)
        .map(|i| NewCredential {
            name: format!("credential {i:06}"),
            kind: Some(CredentialKind::ApiKey),
            provider: Some(["pleo", "xledger", "business_central", "generic"][i % 4].into()),
            tags: vec![format!("team{}", i % 10)],
            secrets: SecretFields::single("api_key", SecretString::from(format!("pk_live_{i:024}"))),
            ..Default::default()
        })
        .collect()
}

fn vault_with(n: usize) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v");
    let (mut v, _) = Vault::create(&path, KeySource::Keychain, actor()).unwrap();
    for chunk in 0..n.div_ceil(10_000) {
        let count = (n - chunk * 10_000).min(10_000);
        v.add_credentials_bulk(creds(chunk * 10_000, count)).unwrap();
    }
    (dir, path)
}

fn open(c: &mut Criterion) {
    let (_d, path) = vault_with(1_000);
    c.bench_function("open vault (keychain read + SQLCipher open), 1k credentials", |b| {
        b.iter(|| Vault::open(&path, &KeySource::Keychain, actor()).unwrap())
    });
}

fn add_10k(c: &mut Criterion) {
    let mut g = c.benchmark_group("add");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("add 10,000 credentials (one transaction)", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().unwrap();
                let (v, _) = Vault::create(&dir.path().join("v"), KeySource::Keychain, actor()).unwrap();
                (dir, v, creds(0, 10_000))
            },
            |(_dir, mut v, items)| v.add_credentials_bulk(items).unwrap(),
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn list_search_get(c: &mut Criterion) {
    let (_d, path) = vault_with(100_000);
    let mut v = Vault::open(&path, &KeySource::Keychain, actor()).unwrap();
    let mut g = c.benchmark_group("100k credentials");
    g.bench_function("list first page (100), filter provider=pleo", |b| {
        let f = CredentialFilter {
            provider: Some("pleo".into()),
            limit: Some(100),
            ..Default::default()
        };
        b.iter(|| v.list_credentials(&f).unwrap())
    });
    g.bench_function("search text 'credential 09999' (all matches)", |b| {
        let f = CredentialFilter {
            search: Some("credential 09999".into()),
            ..Default::default()
        };
        b.iter(|| v.list_credentials(&f).unwrap())
    });
    g.bench_function("search text, no match (full scan)", |b| {
        let f = CredentialFilter {
            search: Some("zzz-no-such".into()),
            ..Default::default()
        };
        b.iter(|| v.list_credentials(&f).unwrap())
    });
    g.bench_function("search tag team3 first page (100)", |b| {
        let f = CredentialFilter {
            tag: Some("team3".into()),
            limit: Some(100),
            ..Default::default()
        };
        b.iter(|| v.list_credentials(&f).unwrap())
    });
    g.bench_function("get one credential (details, masked)", |b| {
        b.iter(|| v.get_credential("credential 054321").unwrap())
    });
    g.bench_function("get + unseal one (use_secret, audited)", |b| {
        b.iter(|| v.use_secret("credential 054321", "bench").unwrap())
    });
    g.finish();
}

/// Issue 23: a verified backup (snapshot, file, read back, every page's
/// MAC, the structure and the audit chain checked) of 10,000 credentials
/// in at most 1 s.
fn backup_10k(c: &mut Criterion) {
    let (dir, path) = vault_with(10_000);
    let mut v = Vault::open(&path, &KeySource::Keychain, actor()).unwrap();
    let out = dir.path().join("bench.kwbackup");
    let mut g = c.benchmark_group("backup");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("backup 10k credentials, verified", |b| {
        b.iter(|| v.backup_to(&out).unwrap())
    });
    g.finish();
    // Not written when a filter left this bench out.
    if let Ok(written) = std::fs::metadata(&out) {
        eprintln!("backup of 10k credentials: {} bytes", written.len());
    }
}

/// The app's import preview (issue 24, budget 1 s for 10,000 lines): the
/// whole CSV parsed, then checked against a vault of 1,000 (names,
/// formats, policy), writing nothing.
fn import_preview_10k(c: &mut Criterion) {
    use keywarden_core::migrate::{ImportDefaults, SourceFormat, parse};
    let (_d, path) = vault_with(1_000);
    let v = Vault::open(&path, &KeySource::Keychain, actor()).unwrap();
    let mut csv = String::from("name,secret,type,tags,expires\n");
    for i in 0..10_000 {
        csv.push_str(&format!(
            "Ledger {i:05},pk_live_{i:024},api-key,ledger,2031-{:02}-{:02}\n",
            i % 12 + 1,
            i % 28 + 1
        ));
    }
    let mut g = c.benchmark_group("import");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.bench_function("preview 10,000 CSV lines (parse + check against 1k)", |b| {
        b.iter(|| {
            let plan = parse(SourceFormat::Csv, csv.as_bytes(), &ImportDefaults::default()).unwrap();
            v.check_import(&plan.credentials).unwrap();
            plan.credentials.len()
        })
    });
    g.finish();
}

criterion_group!(benches, open, add_10k, list_search_get, backup_10k, import_preview_10k);
criterion_main!(benches);
