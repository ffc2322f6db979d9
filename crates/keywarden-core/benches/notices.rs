//! Issue 5's budget: checking 100,000 credentials for due notices ≤ 50 ms.
//! Run through `make bench` (scripts/test-session.sh gives the keychain).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use keywarden_core::{Actor, CredentialKind, KeySource, ManualClock, NewCredential, SecretFields, SecretString, Vault};
use time::OffsetDateTime;
use time::macros::datetime;

const START: OffsetDateTime = datetime!(2026-03-01 09:00 UTC);
const N: usize = 100_000;

fn actor() -> Actor {
    Actor {
        profile: "bench".into(),
        os_user: "bench".into(),
        host: "bench".into(),
    }
}

/// 100,000 credentials expiring 1 to 400 days after START, spread evenly.
fn vault_with_expiries(dir: &Path) -> PathBuf {
    let path = dir.join("v");
    let (mut v, _) = Vault::create(&path, KeySource::Keychain, actor()).unwrap();
    v.set_clock(Arc::new(ManualClock::at(START)));
    for chunk in 0..N / 10_000 {
        let items = (chunk * 10_000..(chunk + 1) * 10_000)
            .map(|i| NewCredential {
                name: format!("credential {i:06}"),
                kind: Some(CredentialKind::ApiKey),
                secrets: SecretFields::single("api_key", SecretString::from(format!("pk_live_{i:024}"))),
                expires_at: Some(START + time::Duration::minutes(1 + (i as i64 * 400 * 24 * 60) / N as i64)),
                ..Default::default()
            })
            .collect();
        v.add_credentials_bulk(items).unwrap();
    }
    path
}

fn open_at(path: &Path, t: OffsetDateTime) -> Vault {
    let mut v = Vault::open(path, &KeySource::Keychain, actor()).unwrap();
    v.set_clock(Arc::new(ManualClock::at(t)));
    v
}

fn copy_vault(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

fn notices(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = vault_with_expiries(dir.path());
    let mut g = c.benchmark_group("notices, 100k credentials with an expiry");
    g.sample_size(10).measurement_time(Duration::from_secs(20));

    // First run after a bulk add or an upgrade: every credential is
    // scheduled once (and those within 60 days get their first notice).
    g.bench_function("first run: schedule all 100k", |b| {
        b.iter_batched(
            || {
                let copy = tempfile::tempdir().unwrap();
                copy_vault(&path, &copy.path().join("v"));
                let v = open_at(&copy.path().join("v"), START);
                (copy, v)
            },
            |(_copy, mut v)| v.run_notices().unwrap(),
            BatchSize::PerIteration,
        )
    });

    // Steady state: everything scheduled, a wake when nothing is due.
    let mut v = open_at(&path, START);
    v.run_notices().unwrap();
    drop(v);
    let mut idle = open_at(&path, START + time::Duration::hours(1));
    g.sample_size(50);
    g.bench_function("check, nothing due", |b| b.iter(|| idle.run_notices().unwrap()));
    drop(idle);

    // A day later: one day of thresholds is due (~1,250 notices fired,
    // each written and audited).
    g.sample_size(10);
    g.bench_function("check a day later: ~1,250 due, fired and audited", |b| {
        b.iter_batched(
            || {
                let copy = tempfile::tempdir().unwrap();
                copy_vault(&path, &copy.path().join("v"));
                let v = open_at(&copy.path().join("v"), START + time::Duration::days(1));
                (copy, v)
            },
            |(_copy, mut v)| {
                let run = v.run_notices().unwrap();
                assert!(run.fired.len() > 500, "{}", run.fired.len());
                run
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, notices);
criterion_main!(benches);
