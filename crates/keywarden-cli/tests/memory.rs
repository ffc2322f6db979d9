//! Memory after lock: a process that opened the vault, read secrets,
//! rotated one, added one and rotated the data key, then locked it, is
//! dumped with `gcore`; the dump must hold none of the vault's keys (KEK,
//! vault key, SQLCipher key, DEK and the keys derived beside it, raw or as
//! the hex the keychain and SQLCipher see) and none of the secrets it
//! handled. The process is this test binary run again as a helper, using
//! the core as the desktop app does. Markers are made at run time from a
//! random seed, so no copy of them sits in the program's own data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use keywarden_core::{
    Actor, CredentialKind, ExposeSecret, KeySource, NewCredential, OfflineValidator, SecretFields, SecretString, Vault,
};
use zeroize::Zeroizing;

/// The allocator kw and the app declare: the helper must run with it too.
#[global_allocator]
static ALLOC: zeroize_alloc::ZeroizingAllocator<std::alloc::System> =
    zeroize_alloc::ZeroizingAllocator(std::alloc::System);

const HELPER: &str = "KW_MEMORY_HELPER_VAULT";
const SEED: &str = "KW_MEMORY_HELPER_SEED";

/// A secret marker, derived from the seed so that neither the environment
/// nor the binary holds it.
fn marker(seed: &str, which: &str) -> Zeroizing<String> {
    let reversed: String = seed.chars().rev().collect();
    Zeroizing::new(format!("pk_live_{which}{}", reversed.to_uppercase()))
}

fn actor() -> Actor {
    Actor::current(Some("memory".into()))
}

fn fields(secret: &str) -> SecretFields {
    SecretFields::single("api_key", SecretString::from(secret))
}

/// The helper: a session like the app's, then lock, then wait to be dumped.
#[test]
fn memory_helper_session() {
    let (Ok(dir), Ok(seed)) = (std::env::var(HELPER), std::env::var(SEED)) else {
        return; // Only as the helper of the test below.
    };
    let mut v = Vault::open(Path::new(&dir), &KeySource::Keychain, actor()).unwrap();
    {
        let s = v.use_secret("stored", "memory test").unwrap();
        assert!(s.get("api_key").unwrap().expose_secret().starts_with("pk_live_"));
    }
    v.replace_secret("rotated", fields(&marker(&seed, "ROTATED")), None, &OfflineValidator)
        .unwrap();
    v.add_credential(NewCredential {
        name: "added".into(),
        kind: Some(CredentialKind::ApiKey),
        secrets: fields(&marker(&seed, "ADDED")),
        ..Default::default()
    })
    .unwrap();
    {
        let s = v.use_secret("added", "memory test").unwrap();
        assert!(s.get("api_key").unwrap().expose_secret().starts_with("pk_live_ADDED"));
    }
    v.rotate_data_key().unwrap();
    v.lock();
    println!("LOCKED");
    std::thread::sleep(std::time::Duration::from_secs(120));
}

#[test]
fn after_lock_a_core_dump_holds_no_key_and_no_secret() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    let seed = format!(
        "{:016x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
    );
    let (mut v, _code) = Vault::create(&dir, KeySource::Keychain, actor()).unwrap();
    for (name, which) in [("stored", "STORED"), ("rotated", "OLD")] {
        v.add_credential(NewCredential {
            name: name.into(),
            kind: Some(CredentialKind::ApiKey),
            secrets: fields(&marker(&seed, which)),
            ..Default::default()
        })
        .unwrap();
    }
    v.lock();
    let mut keys = Vault::key_material_for_tests(&dir, &KeySource::Keychain).unwrap();

    let mut helper = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "memory_helper_session", "--nocapture", "--test-threads=1"])
        .env(HELPER, &dir)
        .env(SEED, &seed)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(helper.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("LOCKED") {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "the helper ended before locking");
    }
    let core = tmp.path().join("core");
    let dumped = Command::new("gcore")
        .arg("-o")
        .arg(&core)
        .arg(helper.id().to_string())
        .output()
        .unwrap();
    let _ = helper.kill();
    let _ = helper.wait();
    assert!(
        dumped.status.success(),
        "gcore: {}",
        String::from_utf8_lossy(&dumped.stderr)
    );
    let dump = std::fs::read(format!("{}.{}", core.display(), helper.id())).unwrap();

    // The data key the helper rotated to, and every key it held before.
    keys.extend(Vault::key_material_for_tests(&dir, &KeySource::Keychain).unwrap());
    let mut needles: Vec<(String, Vec<u8>)> = keys;
    for which in ["STORED", "OLD", "ROTATED", "ADDED"] {
        needles.push((format!("secret {which}"), marker(&seed, which).as_bytes().to_vec()));
    }
    let found: Vec<&str> = needles
        .iter()
        .filter(|(_, bytes)| memchr::memmem::find(&dump, bytes).is_some())
        .map(|(name, _)| name.as_str())
        .collect();
    eprintln!(
        "memory: core dump of {} MB after lock, {} markers looked for, found: {found:?}",
        dump.len() / (1024 * 1024),
        needles.len()
    );
    // The check can fail: the seed itself is in the helper's environment.
    assert!(
        memchr::memmem::find(&dump, seed.as_bytes()).is_some(),
        "the dump is of the helper"
    );
    assert!(found.is_empty(), "after lock the process still holds: {found:?}");
}
