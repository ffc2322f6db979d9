//! "The laptop is lost": a vault of 1,000 credentials backed up with
//! `kw backup` while another program keeps writing, then restored with the
//! recovery code on a fresh keyring session (another machine: its own
//! D-Bus and gnome-keyring, through scripts/test-session.sh), where every
//! sealed secret opens and the audit chain verifies; the old machine's
//! keychain item no longer opens the restored vault.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;

use keywarden_core::{Actor, CredentialKind, KeySource, NewCredential, SecretFields, SecretString, Vault};

fn add(v: &mut Vault, name: &str) {
    v.add_credential(NewCredential {
        name: name.into(),
        kind: Some(CredentialKind::ApiKey),
        secrets: SecretFields::single("api_key", SecretString::from(format!("sk_live_{name}_LOSTLAPTOP"))),
        ..Default::default()
    })
    .unwrap();
}

fn actor() -> Actor {
    Actor::current(Some("alice".into()))
}

/// Runs `script` (sh) in a new private session with its own keyring.
fn on_another_machine(script: &str) -> std::process::Output {
    let session = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/test-session.sh");
    Command::new(session)
        .args(["sh", "-c", script])
        .env_remove("KW_TEST_SESSION")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env("KW", env!("CARGO_BIN_EXE_kw"))
        .output()
        .unwrap()
}

#[test]
fn a_lost_laptop_s_vault_comes_back_from_its_backup_and_recovery_code_on_another_machine() {
    let tmp = tempfile::tempdir().unwrap();
    let old = tmp.path().join("old");
    let (mut v, code) = Vault::create(&old, KeySource::Keychain, actor()).unwrap();
    for n in 0..1000 {
        add(&mut v, &format!("cred-{n:04}"));
    }
    drop(v);
    // Another program writes all along.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (old, stop) = (old.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut w = Vault::open(&old, &KeySource::Keychain, actor()).unwrap();
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                add(&mut w, &format!("during-{n:05}"));
                n += 1;
            }
            n
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(100));
    let file = tmp.path().join("share").join("laptop.kwbackup");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let out = common::kw_as(
        "alice",
        &old,
        &["--json", "backup", "--output", file.to_str().unwrap()],
        "",
    );
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let during = writer.join().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let credentials = report["credentials"].as_u64().unwrap();
    assert!(credentials >= 1000, "{report}");
    assert!(during > 0, "the writer ran during the backup");

    // Another machine: a fresh keyring, the backup file and the code.
    let new = tmp.path().join("new");
    let script = format!(
        "set -e; printf '%s\\n' '{code}' | \"$KW\" --vault '{new}' restore '{file}' >/dev/null; \
         \"$KW\" --vault '{new}' --json check; \"$KW\" --vault '{new}' audit verify >/dev/null; \
         \"$KW\" --vault '{new}' --json credential list",
        code = code.display().as_str(),
        new = new.display(),
        file = file.display()
    );
    let there = on_another_machine(&script);
    let stdout = String::from_utf8_lossy(&there.stdout);
    assert!(
        there.status.success(),
        "{}\n{stdout}",
        String::from_utf8_lossy(&there.stderr)
    );
    let mut docs = serde_json::Deserializer::from_str(&stdout).into_iter::<serde_json::Value>();
    let check = docs.next().unwrap().unwrap();
    assert_eq!(check["ok"], true, "{check}");
    // Every secret there opened (and each credential's one field).
    assert!(check["sealed_values"].as_u64().unwrap() >= credentials, "{check}");
    let list = docs.next().unwrap().unwrap();
    assert_eq!(list.as_array().unwrap().len() as u64, credentials);

    // The old machine's keychain item does not open the restored vault.
    let e = Vault::open(&new, &KeySource::Keychain, actor()).unwrap_err();
    assert!(matches!(e, keywarden_core::Error::WrongKeychainKey { .. }), "{e}");
}
