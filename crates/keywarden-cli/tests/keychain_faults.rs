//! Keychain faults on the real gnome-keyring: the item deleted while the
//! vault is open, a wrong value in it, the daemon stopped. Each must end in
//! a clear locked or needs-recovery state: never a new key in place of the
//! lost one, never a change to the vault, never lost data; the recovery code
//! (or the keychain's return) brings every secret back. (A locked
//! collection: `locked_keychain_is_a_distinct_clear_error_and_writes_nothing`
//! in cli.rs and the e2e suite.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{files, secret_of};

use std::path::Path;
use std::process::{Command, Output};

use keywarden_core::keychain::{overwrite_for_tests, read_for_tests};
use keywarden_core::{Actor, CredentialKind, Error, KeySource, NewCredential, SecretFields, SecretString, Vault};

fn kw(vault: &Path, args: &[&str], stdin: &str) -> Output {
    common::kw_as("keychain-faults", vault, args, stdin)
}

fn fails(vault: &Path, args: &[&str], code: i32, says: &str) {
    let out = kw(vault, args, "");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "kw {args:?}: {err}");
    assert!(err.contains(says), "kw {args:?}: expected {says:?} in {err}");
    assert!(!err.contains("panicked"), "{err}");
}

fn actor() -> Actor {
    Actor::current(Some("keychain-faults".into()))
}

fn api_key(name: &str, secret: &str) -> NewCredential {
    NewCredential {
        name: name.into(),
        kind: Some(CredentialKind::ApiKey),
        secrets: SecretFields::single("api_key", SecretString::from(secret.to_owned())),
        ..Default::default()
    }
}

#[test]
fn an_open_vault_outlives_its_deleted_keychain_item_and_unlocking_again_asks_for_the_recovery_code() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    // The app: a vault kept open.
    let (mut app, code) = Vault::create(&dir, KeySource::Keychain, actor()).unwrap();
    app.add_credential(api_key("before", "pk_live_beforebefore0001"))
        .unwrap();
    let id = Vault::header(&dir).unwrap().vault_id.to_string();
    assert!(
        Command::new("secret-tool")
            .args(["clear", "service", "keywarden", "username", &id])
            .status()
            .unwrap()
            .success()
    );

    // Still open: it holds its keys, and it keeps working.
    assert_eq!(secret_of(&mut app, "before"), "pk_live_beforebefore0001");
    app.add_credential(api_key("during", "pk_live_duringduring0002"))
        .unwrap();
    app.lock();

    // Unlocking again: needs recovery, and nothing made a new key.
    match Vault::open(&dir, &KeySource::Keychain, actor()) {
        Err(Error::KeychainItemMissing { .. }) => {}
        other => panic!("expected the missing item, got {:?}", other.map(|_| ())),
    }
    let before = files(&dir);
    fails(&dir, &["credential", "list"], 6, "kw recover");
    fails(&dir, &["init"], 4, "already exists");
    assert_eq!(read_for_tests(&id), None, "no new key was put in the keychain");
    assert!(files(&dir) == before, "a refused open changed the vault");

    let out = kw(&dir, &["recover"], &format!("{}\n", code.display().as_str()));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut v = Vault::open(&dir, &KeySource::Keychain, actor()).unwrap();
    assert_eq!(secret_of(&mut v, "before"), "pk_live_beforebefore0001");
    assert_eq!(secret_of(&mut v, "during"), "pk_live_duringduring0002");
    assert!(v.verify_audit().unwrap().ok);
}

#[test]
fn a_wrong_value_in_the_keychain_is_refused_left_as_it_is_and_the_recovery_code_restores_access() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    let (mut v, code) = Vault::create(&dir, KeySource::Keychain, actor()).unwrap();
    v.add_credential(api_key("k", "pk_live_kkkkkkkkkkkk0001")).unwrap();
    v.lock();
    let id = Vault::header(&dir).unwrap().vault_id.to_string();
    let before = files(&dir);
    // Not a key at all, and a well-formed key of another vault.
    for wrong in ["not a key", &"ab".repeat(32)] {
        overwrite_for_tests(&id, wrong).unwrap();
        match Vault::open(&dir, &KeySource::Keychain, actor()) {
            Err(Error::WrongKeychainKey { .. }) => {}
            other => panic!("{wrong:?}: expected the wrong key, got {:?}", other.map(|_| ())),
        }
        fails(&dir, &["credential", "list"], 7, "kw recover");
        fails(&dir, &["credential", "add", "x", "--type", "api-key"], 7, "kw recover");
        fails(&dir, &["init"], 4, "already exists");
        assert_eq!(read_for_tests(&id).as_deref(), Some(wrong), "the item was replaced");
        assert!(files(&dir) == before, "{wrong:?}: a refused open changed the vault");
    }
    let out = kw(&dir, &["recover"], &format!("{}\n", code.display().as_str()));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut v = Vault::open(&dir, &KeySource::Keychain, actor()).unwrap();
    assert_eq!(secret_of(&mut v, "k"), "pk_live_kkkkkkkkkkkk0001");
}

#[test]
fn a_stopped_keychain_daemon_is_a_clear_error_that_changes_nothing_and_its_return_finds_the_same_key() {
    // A private bus with no activation file, so a stopped daemon stays
    // stopped (the shared test session would start it again).
    let tmp = tempfile::tempdir().unwrap();
    let kw_bin = env!("CARGO_BIN_EXE_kw");
    let script = format!(
        r#"set -e
export XDG_DATA_HOME={t}/data XDG_RUNTIME_DIR={t}/run KEYWARDEN_PROFILE=x
mkdir -p $XDG_DATA_HOME $XDG_RUNTIME_DIR && chmod 700 $XDG_RUNTIME_DIR
start() {{
  eval "$(printf pw | gnome-keyring-daemon --unlock --components=secrets --control-directory={t}/run/kr)"
  for i in $(seq 50); do dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets | grep -q true && return; sleep 0.1; done
  echo "gnome-keyring did not start"; exit 1
}}
start
{kw} --vault {t}/a init >/dev/null
printf 'pk_live_daemondaemon0001\n' | {kw} --vault {t}/a credential add k --type api-key >/dev/null
sha256sum {t}/a/vault.json {t}/a/vault.db > {t}/before
pkill -f -- "^gnome-keyring-daemon .*--control-directory={t}/run/kr"
for i in $(seq 50); do dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets | grep -q false && break; sleep 0.1; done
set +e
{kw} --vault {t}/a credential list 2>{t}/list.err; echo "list=$?"
printf 'pk_live_xxxxxxxxxxxx0002\n' | {kw} --vault {t}/a credential add x --type api-key 2>{t}/add.err; echo "add=$?"
{kw} --vault {t}/b init 2>{t}/init.err; echo "init=$?"
test -e {t}/b && echo "b-exists" || echo "b-absent"
sha256sum -c --quiet {t}/before && echo "unchanged"
set -e
start
{kw} --vault {t}/a --json credential list > {t}/list.json && echo "back"
"#,
        t = tmp.path().display(),
        kw = kw_bin
    );
    // `timeout`: a daemon left holding the output pipe must fail the test,
    // not hang it.
    let out = Command::new("timeout")
        .args(["120", "dbus-run-session", "--", "bash", "-c", &script])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for expected in ["list=6", "add=6", "init=6", "b-absent", "unchanged", "back"] {
        assert!(stdout.contains(expected), "{expected}: {stdout} {stderr}");
    }
    for f in ["list.err", "add.err", "init.err"] {
        let err = std::fs::read_to_string(tmp.path().join(f)).unwrap();
        assert!(err.contains("no OS keychain is reachable"), "{f}: {err}");
        assert!(!err.contains("panicked"), "{f}: {err}");
    }
    let list: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("list.json")).unwrap()).unwrap();
    assert_eq!(list[0]["name"], "k", "{list}");
    assert_eq!(list[0]["mask"], "••••••••0001", "the same key opens the same vault");
}
