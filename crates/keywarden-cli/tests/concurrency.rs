//! The desktop app's core and `kw` writing the same vault at once, 1,000
//! randomized runs. Each run starts one operation in this process (a
//! `Vault` kept open for the whole test, as the app keeps it) and one `kw`
//! process at the same moment, each picked at random: a read-modify-write
//! of a counter kept in a credential's notes, a secret rotation, a data-key
//! rotation, an audit export, a use of a secret, an add and a delete.
//!
//! It must hold that:
//! - no operation ever fails with "busy" (SQLITE_BUSY must not reach a
//!   user) or anything else, except a read-modify-write refused as a
//!   conflict because the other writer changed the credential first;
//! - a refused change is retried from a fresh read and never lost: the
//!   counter ends equal to the number of increments acknowledged;
//! - the vault ends whole: integrity_check, the audit chain, one current
//!   version per credential, every secret the last one written.
//!
//! `KW_CONCURRENCY_RUNS` changes the count; `KW_CONCURRENCY_SEED` replays.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::secret_of;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use keywarden_core::{
    Actor, CredentialKind, CredentialPatch, Error, KeySource, NewCredential, OfflineValidator, SecretFields,
    SecretString, Vault,
};

const RUNS: usize = 1000;
const CREDENTIALS: usize = 3;
/// A read-modify-write refused as a conflict is tried again from a fresh
/// read; this many refusals in a row would mean it can never get through.
const MAX_RETRIES: usize = 50;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn actor(profile: &str) -> Actor {
    Actor::current(Some(profile.into()))
}

fn kw(vault: &Path, args: &[&str], stdin: &str) -> Output {
    common::kw_as("kw-admin", vault, args, stdin)
}

/// What one side of a run did.
#[derive(Debug, Default)]
struct Tally {
    increments: u64,
    conflicts: u64,
    rotations: BTreeMap<String, String>,
}

fn secret_for(side: &str, run: usize, name: &str) -> String {
    format!("pk_live_{side}{run:06}{name}xxxxxxxxxxxx")
}

/// `kw`'s read-modify-write: show (revision, notes), then update with
/// `--if-revision`; exit 12 (stale) means read again.
fn kw_increment(vault: &Path, name: &str, tally: &mut Tally) {
    for _ in 0..MAX_RETRIES {
        let out = kw(vault, &["--json", "credential", "show", name], "");
        assert!(
            out.status.success(),
            "kw show: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let n: u64 = v["notes"].as_str().unwrap().parse().unwrap();
        let revision = v["revision"].as_u64().unwrap().to_string();
        let next = (n + 1).to_string();
        let out = kw(
            vault,
            &[
                "credential",
                "update",
                name,
                "--notes",
                &next,
                "--if-revision",
                &revision,
            ],
            "",
        );
        match out.status.code() {
            Some(0) => {
                tally.increments += 1;
                return;
            }
            Some(12) => tally.conflicts += 1,
            _ => panic!("kw update failed: {}", String::from_utf8_lossy(&out.stderr)),
        }
    }
    panic!("kw's increment of {name} was refused {MAX_RETRIES} times in a row");
}

/// The app's read-modify-write, as its edit form does it: read, a person
/// thinks for `think`, save with the revision read.
fn core_increment(v: &mut Vault, name: &str, think: Duration, tally: &mut Tally) {
    for _ in 0..MAX_RETRIES {
        let c = v.get_credential(name).unwrap();
        std::thread::sleep(think);
        let n: u64 = c.notes.as_deref().unwrap().parse().unwrap();
        let patch = CredentialPatch {
            notes: Some((n + 1).to_string()),
            expected_revision: Some(c.revision),
            ..Default::default()
        };
        match v.update_credential(name, patch) {
            Ok(_) => {
                tally.increments += 1;
                return;
            }
            Err(Error::Conflict { .. }) => tally.conflicts += 1,
            Err(e) => panic!("the app's update failed: {e}"),
        }
    }
    panic!("the app's increment of {name} was refused {MAX_RETRIES} times in a row");
}

fn kw_op(vault: &Path, op: u64, run: usize, name: &str, exports: &Path) -> Tally {
    let mut tally = Tally::default();
    let ok = |out: std::process::Output, what: &str| {
        assert!(
            out.status.success(),
            "run {run}: kw {what} failed (exit {:?}): {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    match op {
        0 | 1 => kw_increment(vault, name, &mut tally),
        2 => {
            let secret = secret_for("k", run, name);
            ok(
                kw(
                    vault,
                    &["credential", "rotate", "--offline", name],
                    &format!("{secret}\n"),
                ),
                "rotate",
            );
            tally.rotations.insert(name.to_owned(), secret);
        }
        3 => ok(kw(vault, &["rotate-data-key"], ""), "rotate-data-key"),
        4 => {
            let file = exports.join(format!("audit-{run}.json"));
            ok(
                kw(
                    vault,
                    &["audit", "export", "--format", "json", "-o", file.to_str().unwrap()],
                    "",
                ),
                "audit export",
            );
        }
        _ => {
            let temp = format!("kw-temp-{run}");
            ok(
                kw(
                    vault,
                    &["credential", "add", &temp, "--type", "api-key"],
                    "pk_live_temporarytemporary\n",
                ),
                "add",
            );
            ok(kw(vault, &["credential", "delete", &temp], ""), "delete");
        }
    }
    tally
}

fn core_op(v: &mut Vault, op: u64, run: usize, name: &str, think: Duration) -> Tally {
    let mut tally = Tally::default();
    match op {
        0 | 1 => core_increment(v, name, think, &mut tally),
        2 => {
            let secret = secret_for("a", run, name);
            v.replace_secret(
                name,
                SecretFields::single("api_key", SecretString::from(secret.clone())),
                None,
                &OfflineValidator,
            )
            .unwrap_or_else(|e| panic!("run {run}: the app's rotation failed: {e}"));
            tally.rotations.insert(name.to_owned(), secret);
        }
        3 => {
            v.rotate_data_key()
                .unwrap_or_else(|e| panic!("run {run}: the app's data-key rotation failed: {e}"));
        }
        4 => {
            v.use_secret(name, "concurrency test")
                .unwrap_or_else(|e| panic!("run {run}: the app's use failed: {e}"));
        }
        _ => {
            let temp = format!("app-temp-{run}");
            v.add_credential(NewCredential {
                name: temp.clone(),
                kind: Some(CredentialKind::ApiKey),
                secrets: SecretFields::single("api_key", SecretString::from("pk_live_temporarytemporary".to_owned())),
                ..Default::default()
            })
            .unwrap_or_else(|e| panic!("run {run}: the app's add failed: {e}"));
            v.delete_credential(&temp, false)
                .unwrap_or_else(|e| panic!("run {run}: the app's delete failed: {e}"));
        }
    }
    tally
}

#[test]
fn the_app_and_kw_writing_at_once_never_see_busy_and_never_lose_an_acknowledged_change() {
    let runs: usize = std::env::var("KW_CONCURRENCY_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(RUNS);
    let seed: u64 = std::env::var("KW_CONCURRENCY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("concurrency: KW_CONCURRENCY_SEED={seed}");
    let mut rng = Rng(seed | 1);
    let tmp = tempfile::tempdir().unwrap();
    let vault: PathBuf = tmp.path().join("vault");
    let exports = tmp.path().join("exports");
    std::fs::create_dir(&exports).unwrap();
    let (mut app, _code) = Vault::create(&vault, KeySource::Keychain, actor("app-admin")).unwrap();
    let names: Vec<String> = (0..CREDENTIALS).map(|i| format!("shared{i}")).collect();
    let mut secrets = BTreeMap::new();
    for name in &names {
        let secret = secret_for("init", 0, name);
        app.add_credential(NewCredential {
            name: name.clone(),
            kind: Some(CredentialKind::ApiKey),
            secrets: SecretFields::single("api_key", SecretString::from(secret.clone())),
            notes: Some("0".into()),
            ..Default::default()
        })
        .unwrap();
        secrets.insert(name.clone(), secret);
    }

    let started = Instant::now();
    let (mut increments, mut conflicts) = (0u64, 0u64);
    let mut app = Some(app);
    for run in 1..=runs {
        // Both sides on the same credential most of the time.
        let name = names[rng.below(CREDENTIALS as u64) as usize].clone();
        let (kw_pick, app_pick) = (rng.below(6), rng.below(6));
        let offset = Duration::from_micros(rng.below(15_000));
        let think = Duration::from_micros(rng.below(30_000));
        let kw_first = rng.below(2) == 0;
        let barrier = Arc::new(Barrier::new(2));
        let mut v = app.take().unwrap();
        let (app_tally, v) = std::thread::scope(|s| {
            let b = barrier.clone();
            let (vault, exports, name) = (&vault, &exports, &name);
            let kw_side = s.spawn(move || {
                b.wait();
                if !kw_first {
                    std::thread::sleep(offset);
                }
                kw_op(vault, kw_pick, run, name, exports)
            });
            barrier.wait();
            if kw_first {
                std::thread::sleep(offset);
            }
            let t = core_op(&mut v, app_pick, run, name, think);
            let kw_tally = kw_side.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            increments += kw_tally.increments;
            conflicts += kw_tally.conflicts;
            secrets.extend(kw_tally.rotations.clone());
            (t, v)
        });
        increments += app_tally.increments;
        conflicts += app_tally.conflicts;
        // When both rotated the same credential, the later swap is current.
        if let (Some(a), true) = (app_tally.rotations.get(&name), kw_pick == 2 && app_pick == 2) {
            let mut v = v;
            let now = secret_of(&mut v, &name);
            let k = secret_for("k", run, &name);
            assert!(now == *a || now == k, "run {run}: {name} holds neither rotation");
            secrets.insert(name.clone(), now);
            app = Some(v);
            continue;
        }
        secrets.extend(app_tally.rotations);
        app = Some(v);
    }
    let mut app = app.unwrap();

    let total: u64 = names
        .iter()
        .map(|n| app.get_credential(n).unwrap().notes.unwrap().parse::<u64>().unwrap())
        .sum();
    eprintln!(
        "concurrency: {runs} runs in {:.1} s: {increments} increments acknowledged, {conflicts} stale writes refused and redone",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(total, increments, "an acknowledged increment was lost");
    let conn = app.raw_connection();
    let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(integrity, "ok");
    let report = app.verify_audit().unwrap();
    assert!(report.ok, "{report:?}");
    let not_one: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM credentials c WHERE c.current_version > 0 AND
               (SELECT COUNT(*) FROM credential_versions v WHERE v.credential_id = c.id AND v.state = 'current'
                  AND v.version = c.current_version) != 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(not_one, 0, "credentials without exactly one current version");
    for (name, secret) in &secrets {
        assert_eq!(&secret_of(&mut app, name), secret, "{name}");
    }
    let out = kw(&vault, &["audit", "verify"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}
