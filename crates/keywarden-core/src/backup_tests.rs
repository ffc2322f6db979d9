//! Backups against real vaults on the test's keyring: consistent while a
//! writer runs, verified, restorable only with the recovery code, refused
//! whole when damaged, and the rollback anchor passed only by a restore.

use secrecy::{ExposeSecret, SecretString};

use crate::model::{CredentialKind, NewCredential};
use crate::secret::SecretFields;
use crate::store::audit::{Actor, AuditFilter};
use crate::{Error, KeySource, Vault};

fn actor() -> Actor {
    Actor {
        profile: "test-admin".into(),
        os_user: "tester".into(),
        host: "testhost".into(),
    }
}

fn secret_for(name: &str) -> String {
    format!("sk_live_{name}_BACKUPCANARY")
}

fn add(v: &mut Vault, name: &str) {
    v.add_credential(NewCredential {
        name: name.into(),
        kind: Some(CredentialKind::ApiKey),
        secrets: SecretFields::single("api_key", SecretString::from(secret_for(name))),
        ..Default::default()
    })
    .unwrap();
}

fn secret_of(v: &mut Vault, name: &str) -> String {
    v.use_secret(name, "test")
        .unwrap()
        .get("api_key")
        .unwrap()
        .expose_secret()
        .to_owned()
}

#[test]
fn a_backup_taken_while_another_program_writes_restores_every_secret_with_the_recovery_code() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v");
    let (mut v, code) = Vault::create(&path, KeySource::Keychain, actor()).unwrap();
    for n in 0..100 {
        add(&mut v, &format!("cred-{n:04}"));
    }
    // Another program keeps adding while the backup runs.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (path, stop) = (path.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut w = Vault::open(&path, &KeySource::Keychain, actor()).unwrap();
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                add(&mut w, &format!("late-{n:05}"));
                n += 1;
            }
            n
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(50));
    let file = dir.path().join("vault.kwbackup");
    let report = v.backup_to(&file).unwrap();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let written_meanwhile = writer.join().unwrap();
    assert!(written_meanwhile > 0);
    assert!(report.credentials >= 100, "{report:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let bytes = std::fs::read(&file).unwrap();
    assert!(
        !bytes.windows(12).any(|w| w == b"BACKUPCANARY"),
        "a secret in the clear"
    );

    // Elsewhere: the recovery code opens it; a new key protects it there.
    let restored_at = dir.path().join("restored");
    let (_, other_code) = Vault::create(&dir.path().join("other"), KeySource::Keychain, actor()).unwrap();
    assert!(matches!(
        Vault::restore(&file, &restored_at, &other_code.display(), KeySource::Keychain, actor()),
        Err(Error::WrongRecoveryCode)
    ));
    assert!(!restored_at.join("vault.json").exists(), "a wrong code changes nothing");
    let (mut r, manifest) = Vault::restore(&file, &restored_at, &code.display(), KeySource::Keychain, actor()).unwrap();
    assert_eq!(manifest.credentials, report.credentials);
    let names: Vec<String> = r
        .list_credentials(&Default::default())
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names.len() as u64, report.credentials);
    for name in &names {
        assert_eq!(secret_of(&mut r, name), secret_for(name));
    }
    assert!(r.verify_audit().unwrap().ok);
    let events = r.audit_events(&AuditFilter::default()).unwrap();
    assert!(events.iter().any(|e| e.action == "vault.restore"));
    assert!(r.check_integrity().unwrap().ok);
}

#[test]
fn a_damaged_or_cut_backup_is_refused_whole_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let (mut v, code) = Vault::create(&dir.path().join("v"), KeySource::Keychain, actor()).unwrap();
    add(&mut v, "pleo");
    let file = dir.path().join("b.kwbackup");
    v.backup_to(&file).unwrap();
    let good = std::fs::read(&file).unwrap();
    let target = dir.path().join("restored");
    for (case, bytes) in [
        ("flipped", {
            let mut b = good.clone();
            let at = b.len() - 100;
            b[at] ^= 0x40;
            b
        }),
        ("cut", good[..good.len() - 10].to_vec()),
        ("not a backup", b"hello".to_vec()),
    ] {
        std::fs::write(&file, &bytes).unwrap();
        let e = Vault::restore(&file, &target, &code.display(), KeySource::Keychain, actor()).unwrap_err();
        assert!(matches!(e, Error::VaultCorrupt { .. }), "{case}: {e}");
        assert!(!target.join("vault.json").exists(), "{case}");
    }
}

#[test]
fn an_older_backup_passes_the_rollback_anchor_only_through_an_audited_restore() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v");
    let (mut v, code) = Vault::create(&path, KeySource::Keychain, actor()).unwrap();
    add(&mut v, "old");
    let file = dir.path().join("b.kwbackup");
    v.backup_to(&file).unwrap();
    add(&mut v, "new");
    drop(v);
    // Putting the older database back by hand is refused.
    let scratch = dir.path().join("old.db");
    crate::backup::read(&file, &scratch).unwrap();
    let current = std::fs::read(path.join("vault.db")).unwrap();
    std::fs::copy(&scratch, path.join("vault.db")).unwrap();
    for ext in ["vault.db-wal", "vault.db-shm"] {
        let _ = std::fs::remove_file(path.join(ext));
    }
    assert!(matches!(
        Vault::open(&path, &KeySource::Keychain, actor()),
        Err(Error::RolledBack { .. })
    ));
    std::fs::write(path.join("vault.db"), current).unwrap();
    // Restoring it over the vault is the explicit step; the newer files
    // are kept aside.
    let (r, _) = Vault::restore(&file, &path, &code.display(), KeySource::Keychain, actor()).unwrap();
    assert!(r.get_credential("old").is_ok());
    assert!(r.get_credential("new").is_err());
    let restore = r
        .audit_events(&AuditFilter::default())
        .unwrap()
        .into_iter()
        .find(|e| e.action == "vault.restore")
        .unwrap();
    assert!(restore.detail.contains("kept in"), "{}", restore.detail);
    drop(r);
    let aside: Vec<_> = std::fs::read_dir(&path)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("replaced-"))
        .collect();
    assert_eq!(aside.len(), 1);
    // And it opens as usual afterwards.
    Vault::open(&path, &KeySource::Keychain, actor()).unwrap();
}

#[test]
fn scheduled_backups_keep_the_newest_n_in_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let (mut v, _) = Vault::create(&dir.path().join("v"), KeySource::Keychain, actor()).unwrap();
    let folder = dir.path().join("share");
    assert!(v.backup_into(&folder, 3).is_err(), "a missing folder is said");
    std::fs::create_dir(&folder).unwrap();
    for n in 0..5 {
        add(&mut v, &format!("c{n}"));
        v.backup_into(&folder, 3).unwrap();
        // Names carry the second: two backups in one second would share one.
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
    let kept = crate::backup::in_folder(&folder, &v.vault_id().to_string());
    assert_eq!(kept.len(), 3);
    assert!(v.last_backup_in(&folder).is_some());
    assert_eq!(
        v.audit_events(&AuditFilter::default())
            .unwrap()
            .iter()
            .filter(|e| e.action == "vault.backup")
            .count(),
        5
    );
}

#[test]
fn a_backup_never_replaces_the_vault_s_own_files_or_a_file_that_is_not_a_backup() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v");
    let (mut v, _) = Vault::create(&path, KeySource::Keychain, actor()).unwrap();
    for target in [
        path.join("vault.db"),
        path.join("vault.json"),
        path.join("new.kwbackup"),
    ] {
        let e = v.backup_to(&target).unwrap_err().to_string();
        assert!(e.contains("vault's own folder"), "{e}");
    }
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "keep me").unwrap();
    let e = v.backup_to(&notes).unwrap_err().to_string();
    assert!(e.contains("not a Keywarden backup"), "{e}");
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "keep me");
    // An older backup may be replaced.
    let file = dir.path().join("b.kwbackup");
    v.backup_to(&file).unwrap();
    v.backup_to(&file).unwrap();
    Vault::open(&path, &KeySource::Keychain, actor()).unwrap();
}

#[test]
fn a_restore_refused_midway_leaves_the_vault_that_was_there_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v");
    let (mut v, code) = Vault::create(&path, KeySource::Keychain, actor()).unwrap();
    add(&mut v, "kept");
    let file = dir.path().join("b.kwbackup");
    v.backup_to(&file).unwrap();
    drop(v);
    // A new passphrase too short for the vault: refused before anything moves.
    let short = KeySource::Passphrase(SecretString::from("short".to_owned()));
    assert!(Vault::restore(&file, &path, &code.display(), short, actor()).is_err());
    let left: Vec<_> = std::fs::read_dir(&path)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("replaced-"))
        .collect();
    assert!(left.is_empty(), "nothing was moved aside");
    let mut v = Vault::open(&path, &KeySource::Keychain, actor()).unwrap();
    assert_eq!(secret_of(&mut v, "kept"), secret_for("kept"));
}
