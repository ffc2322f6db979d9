//! The crash matrix: `kw` is SIGKILLed at random moments while it rotates a
//! secret, rotates the data key, imports a configuration and exports the
//! audit log, at least `KILLS` times each (1,000 in all). After every kill
//! the vault is reopened and must hold:
//! - every change `kw` acknowledged (it exited 0), and of a change it did
//!   not acknowledge either all or nothing;
//! - `PRAGMA integrity_check` = ok, and the audit chain verifies (the core
//!   after every kill, `kw audit verify` every `VERIFY_EVERY` kills and at
//!   the end);
//! - exactly one current version per credential, the one the credential
//!   names, and every secret opens to the value last written;
//! - one data key; an export file that is absent or whole, never partial.
//!
//! The moment of each kill is uniform over the command's own run time
//! (measured first), so kills land in start-up, the keychain call, the
//! transaction and the output alike. The seed is printed; `KW_CRASH_SEED`
//! replays a run and `KW_CRASH_KILLS` changes the count.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use keywarden_core::{
    Actor, CredentialKind, ExposeSecret, KeySource, NewCredential, SecretFields, SecretString, Vault,
};

const KILLS: usize = 250;
const VERIFY_EVERY: usize = 50;

fn kills() -> usize {
    std::env::var("KW_CRASH_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(KILLS)
}

/// xorshift64*: reproducible from the printed seed, no dependency.
struct Rng(u64);

impl Rng {
    fn new(workload: &str) -> Rng {
        let seed = std::env::var("KW_CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            });
        eprintln!("crash matrix {workload}: KW_CRASH_SEED={seed}");
        Rng(seed | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn secret(&mut self) -> String {
        format!("pk_live_{:016x}{:04}", self.next(), self.below(10_000))
    }
}

enum Run {
    /// kw exited 0: the change is acknowledged.
    Acknowledged(Vec<u8>),
    /// SIGKILL landed while kw ran.
    Killed,
}

struct Matrix {
    workload: &'static str,
    tmp: tempfile::TempDir,
    vault: PathBuf,
    rng: Rng,
    /// How long kw ran, start to exit, the last time.
    last_run: Duration,
    median: Duration,
    kills: usize,
    acknowledged: usize,
    /// Killed after its commit, before it could say so: the change is
    /// there and must be whole.
    committed_unacknowledged: usize,
}

impl Matrix {
    /// A keychain vault (the real Secret Service of the test session)
    /// with `n` API-key credentials c000.. whose secrets are returned.
    fn new(workload: &'static str, n: usize) -> (Matrix, BTreeMap<String, String>) {
        let tmp = tempfile::tempdir().unwrap();
        let vault = tmp.path().join("vault");
        let mut rng = Rng::new(workload);
        let (mut v, _code) = Vault::create(&vault, KeySource::Keychain, actor()).unwrap();
        let mut secrets = BTreeMap::new();
        for i in 0..n {
            let name = format!("c{i:03}");
            let secret = rng.secret();
            v.add_credential(NewCredential {
                name: name.clone(),
                kind: Some(CredentialKind::ApiKey),
                secrets: SecretFields::single("api_key", SecretString::from(secret.clone())),
                ..Default::default()
            })
            .unwrap();
            secrets.insert(name, secret);
        }
        v.lock();
        let m = Matrix {
            workload,
            tmp,
            vault,
            rng,
            last_run: Duration::ZERO,
            median: Duration::ZERO,
            kills: 0,
            acknowledged: 0,
            committed_unacknowledged: 0,
        };
        (m, secrets)
    }

    fn kw(&self, args: &[String]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kw"));
        c.arg("--vault")
            .arg(&self.vault)
            .args(args)
            .env("KEYWARDEN_PROFILE", "crash")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    /// Runs kw to the end `samples` times to learn how long it takes; the
    /// kills are then spread over that time. Each run is an acknowledged
    /// change the caller checks like any other.
    fn measure(&mut self, samples: usize, mut one: impl FnMut(&mut Matrix, Option<Duration>)) {
        let mut times = Vec::new();
        for _ in 0..samples {
            one(self, None);
            times.push(self.last_run);
        }
        times.sort();
        self.median = times[times.len() / 2];
    }

    /// Starts kw, and SIGKILLs it after `delay` unless it is done by then.
    fn run(&mut self, args: &[String], stdin: &str, delay: Option<Duration>) -> Run {
        let started = Instant::now();
        let mut child = self.kw(args).spawn().unwrap();
        match child.stdin.take().unwrap().write_all(stdin.as_bytes()) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            Err(e) => panic!("writing stdin to kw: {e}"),
        }
        if let Some(delay) = delay {
            std::thread::sleep(delay);
            // A child already gone is reaped by wait below; its exit status
            // says which happened.
            let _ = child.kill();
        }
        let out = child.wait_with_output().unwrap();
        self.last_run = started.elapsed();
        if out.status.signal() == Some(9) {
            self.kills += 1;
            return Run::Killed;
        }
        assert!(
            out.status.success(),
            "{}: kw {args:?} failed on its own after a crash: {}",
            self.workload,
            String::from_utf8_lossy(&out.stderr)
        );
        self.acknowledged += 1;
        Run::Acknowledged(out.stdout)
    }

    /// A kill moment, uniform over 0..1.2 × the command's median time.
    fn delay(&mut self) -> Option<Duration> {
        let span = (self.median.as_micros() as u64 * 12 / 10).max(1);
        Some(Duration::from_micros(self.rng.below(span)))
    }

    /// Measures the command over 5 whole runs, then runs it again and again,
    /// each time killed at a random moment, until `kills()` kills have
    /// landed; `kw audit verify` every `VERIFY_EVERY` runs and at the end.
    /// `one` runs the command once and checks the vault. Returns the runs.
    fn drive(&mut self, mut one: impl FnMut(&mut Matrix, Option<Duration>, usize)) -> usize {
        let mut at = 0;
        self.measure(5, |m, d| {
            at += 1;
            one(m, d, at)
        });
        while self.kills < kills() {
            at += 1;
            let d = self.delay();
            one(self, d, at);
            if at % VERIFY_EVERY == 0 {
                self.kw_audit_verify(at);
            }
        }
        self.kw_audit_verify(at);
        at
    }

    /// Reopens the vault as the next program would and checks what every
    /// workload must leave behind.
    fn reopen(&self, at: usize) -> Vault {
        let what = format!("{} after run {at}", self.workload);
        let v = Vault::open(&self.vault, &KeySource::Keychain, actor())
            .unwrap_or_else(|e| panic!("{what}: the vault does not reopen: {e}"));
        let conn = v.raw_connection();
        let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(integrity, "ok", "{what}: integrity_check");
        let report = v.verify_audit().unwrap();
        assert!(report.ok, "{what}: the audit chain: {report:?}");
        let broken: Vec<(String, i64, i64)> = conn
            .prepare(
                "SELECT c.name, c.current_version,
                        (SELECT COUNT(*) FROM credential_versions v
                          WHERE v.credential_id = c.id AND v.state = 'current' AND v.version = c.current_version)
                   + (SELECT COUNT(*) FROM credential_versions v
                          WHERE v.credential_id = c.id AND v.state = 'current' AND v.version != c.current_version)
                          * 100
                   FROM credentials c WHERE c.current_version > 0",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .filter(|(_, _, n): &(String, i64, i64)| *n != 1)
            .collect();
        assert!(
            broken.is_empty(),
            "{what}: credentials without exactly one current version, the one they name: {broken:?}"
        );
        assert_eq!(v.data_key_count().unwrap(), 1, "{what}: data keys");
        v
    }

    fn kw_audit_verify(&self, at: usize) {
        let out = self
            .kw(&["audit".into(), "verify".into()])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{} after run {at}: kw audit verify: {}{}",
            self.workload,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn report(&self, started: Instant, runs: usize) {
        eprintln!(
            "crash matrix {}: {runs} runs, {} SIGKILLs, {} acknowledged, {} committed but killed before saying so; \
             kw median {:.1} ms; {:.1} s",
            self.workload,
            self.kills,
            self.acknowledged,
            self.committed_unacknowledged,
            self.median.as_secs_f64() * 1000.0,
            started.elapsed().as_secs_f64()
        );
        assert!(self.kills >= kills(), "{}: only {} kills", self.workload, self.kills);
        assert!(self.acknowledged > 0, "{}: no run ever finished", self.workload);
    }
}

fn actor() -> Actor {
    Actor::current(Some("crash-check".into()))
}

fn secret_of(v: &mut Vault, name: &str) -> String {
    v.use_secret(name, "crash matrix check")
        .unwrap()
        .get("api_key")
        .unwrap()
        .expose_secret()
        .to_owned()
}

fn all_secrets_open(v: &mut Vault, expected: &BTreeMap<String, String>, what: &str) {
    for (name, secret) in expected {
        assert_eq!(&secret_of(v, name), secret, "{what}: {name}");
    }
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

fn json(stdout: &[u8]) -> serde_json::Value {
    serde_json::from_slice(stdout).unwrap()
}

#[test]
fn a_secret_rotation_killed_at_random_moments_keeps_every_acknowledged_secret_and_one_current_version() {
    let started = Instant::now();
    let (mut m, mut expected) = Matrix::new("rotation", 20);
    let names: Vec<String> = expected.keys().cloned().collect();
    let rotate = |m: &mut Matrix, delay: Option<Duration>, at: usize| {
        let name = names[m.rng.below(names.len() as u64) as usize].clone();
        let new = m.rng.secret();
        let old = expected[&name].clone();
        let run = m.run(
            &args(&["--json", "credential", "rotate", "--offline", &name]),
            &format!("{new}\n"),
            delay,
        );
        let mut v = m.reopen(at);
        let now = secret_of(&mut v, &name);
        match run {
            Run::Acknowledged(out) => {
                assert_eq!(
                    now, new,
                    "rotation run {at}: an acknowledged rotation of {name} is lost"
                );
                assert_eq!(json(&out)["mask"], format!("••••••••{}", &new[new.len() - 4..]));
            }
            Run::Killed if now == new => m.committed_unacknowledged += 1,
            Run::Killed => assert_eq!(
                now, old,
                "rotation run {at}: {name} holds neither its old nor its new secret"
            ),
        }
        expected.insert(name, now);
    };
    let at = m.drive(rotate);
    let mut v = m.reopen(at);
    all_secrets_open(&mut v, &expected, "rotation, at the end");
    m.report(started, at);
}

#[test]
fn a_data_key_rotation_killed_at_random_moments_leaves_one_data_key_that_opens_every_secret() {
    let started = Instant::now();
    let (mut m, expected) = Matrix::new("data-key rotation", 100);
    let names: Vec<String> = expected.keys().cloned().collect();
    let current_key = |v: &Vault| -> i64 {
        v.raw_connection()
            .query_row("SELECT key_id FROM data_keys WHERE is_current = 1", [], |r| r.get(0))
            .unwrap()
    };
    let mut key = current_key(&m.reopen(0));
    let rotate = |m: &mut Matrix, delay: Option<Duration>, at: usize| {
        let run = m.run(&args(&["--json", "rotate-data-key"]), "", delay);
        let mut v = m.reopen(at);
        let now = current_key(&v);
        match run {
            Run::Acknowledged(_) => assert_ne!(now, key, "data-key run {at}: an acknowledged rotation is lost"),
            Run::Killed if now != key => m.committed_unacknowledged += 1,
            Run::Killed => {}
        }
        key = now;
        // A sample each time (each read is itself audited), all at the end.
        for _ in 0..3 {
            let name = &names[m.rng.below(names.len() as u64) as usize];
            assert_eq!(&secret_of(&mut v, name), &expected[name], "data-key run {at}: {name}");
        }
    };
    let at = m.drive(rotate);
    let mut v = m.reopen(at);
    all_secrets_open(&mut v, &expected, "data-key rotation, at the end");
    m.report(started, at);
}

/// A configuration export of 3 integrations and 12 credentials whose
/// names all start with `prefix`.
fn import_file(prefix: &str) -> serde_json::Value {
    let integrations: Vec<serde_json::Value> = (0..3)
        .map(|i| {
            serde_json::json!({
                "name": format!("{prefix}int{i}"), "provider": "generic", "environment": "prod",
                "tenant_id": null, "base_url": "https://api.example.com", "scopes": [],
                "sync_schedule": null, "owner": "finance", "tags": ["crash"], "notes": null,
            })
        })
        .collect();
    let credentials: Vec<serde_json::Value> = (0..12)
        .map(|i| {
            serde_json::json!({
                "name": format!("{prefix}cred{i}"), "kind": "api_key",
                "integration": format!("{prefix}int{}", i % 3), "provider": "generic",
                "environment": "prod", "config": {}, "secret_fields": ["api_key"],
                "tags": [], "notes": null, "expires_at": null,
            })
        })
        .collect();
    serde_json::json!({
        "format": "keywarden-config", "format_version": 1, "exported_at": "2026-11-23T00:00:00Z",
        "note": "crash matrix", "integrations": integrations, "credentials": credentials,
    })
}

#[test]
fn an_import_killed_at_random_moments_is_all_there_or_not_there_at_all() {
    let started = Instant::now();
    let (mut m, _) = Matrix::new("import", 5);
    let dir = m.tmp.path().join("imports");
    std::fs::create_dir(&dir).unwrap();
    let count = |v: &Vault, table: &str, prefix: &str| -> i64 {
        v.raw_connection()
            .query_row(
                &format!("SELECT COUNT(*) FROM {table} WHERE name LIKE ?1 || '%'"),
                [prefix],
                |r| r.get(0),
            )
            .unwrap()
    };
    let import = |m: &mut Matrix, delay: Option<Duration>, at: usize| {
        let prefix = format!("i{at}-");
        let file = dir.join(format!("{prefix}export.json"));
        std::fs::write(&file, import_file(&prefix).to_string()).unwrap();
        let run = m.run(&args(&["--json", "import", file.to_str().unwrap()]), "", delay);
        let v = m.reopen(at);
        let found = (count(&v, "integrations", &prefix), count(&v, "credentials", &prefix));
        match run {
            Run::Acknowledged(out) => {
                assert_eq!(found, (3, 12), "import run {at}: an acknowledged import is incomplete");
                assert_eq!(json(&out)["credentials"], 12);
            }
            Run::Killed if found == (3, 12) => m.committed_unacknowledged += 1,
            Run::Killed => assert_eq!(found, (0, 0), "import run {at}: half an import"),
        }
    };
    let at = m.drive(import);
    m.report(started, at);
}

#[test]
fn an_audit_export_killed_at_random_moments_leaves_no_partial_file_and_a_valid_chain() {
    let started = Instant::now();
    let (mut m, _) = Matrix::new("audit export", 20);
    let dir = m.tmp.path().join("exports");
    std::fs::create_dir(&dir).unwrap();
    let export = |m: &mut Matrix, delay: Option<Duration>, at: usize| {
        let file = dir.join(format!("audit-{at}.json"));
        let before = m.reopen(at).audit_count().unwrap();
        let run = m.run(
            &args(&["audit", "export", "--format", "json", "-o", file.to_str().unwrap()]),
            "",
            delay,
        );
        let after = m.reopen(at).audit_count().unwrap();
        let whole = |path: &Path| -> usize {
            let text = std::fs::read(path).unwrap();
            let events: Vec<serde_json::Value> = serde_json::from_slice(&text)
                .unwrap_or_else(|e| panic!("audit export run {at}: a partial export file ({e})"));
            events.len()
        };
        match run {
            Run::Acknowledged(_) => {
                assert!(whole(&file) as u64 >= before, "audit export run {at}: events missing");
                assert_eq!(after, before + 1, "audit export run {at}: the export itself is audited");
            }
            Run::Killed if file.exists() => {
                whole(&file);
                m.committed_unacknowledged += 1;
            }
            Run::Killed => assert!(after == before || after == before + 1, "audit export run {at}"),
        }
    };
    let at = m.drive(export);
    m.report(started, at);
}
