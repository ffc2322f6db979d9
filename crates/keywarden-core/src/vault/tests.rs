//! Vault behaviour against the real keychain (run under scripts/test-session.sh).

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};

use crate::model::*;
use crate::secret::SecretFields;
use crate::store::audit::{Actor, AuditFilter};
use crate::validate::{Candidate, Failure, OfflineValidator, Rejection, Validator, Verdict};
use crate::{CheckOutcome, Error, KeySource, Vault};

fn actor() -> Actor {
    Actor {
        profile: "test-admin".into(),
        os_user: "tester".into(),
        host: "testhost".into(),
    }
}

fn vault() -> (tempfile::TempDir, Vault) {
    let dir = tempfile::tempdir().unwrap();
    let (v, _code) = Vault::create(&dir.path().join("v"), KeySource::Keychain, actor()).unwrap();
    (dir, v)
}

fn api_key(name: &str, secret: &str) -> NewCredential {
    NewCredential {
        name: name.into(),
        kind: Some(CredentialKind::ApiKey),
        secrets: SecretFields::single("api_key", SecretString::from(secret.to_owned())),
        ..Default::default()
    }
}

fn secret_of(v: &mut Vault, name: &str) -> String {
    v.use_secret(name, "test")
        .unwrap()
        .get("api_key")
        .unwrap()
        .expose_secret()
        .to_owned()
}

fn current_dek(v: &Vault) -> u32 {
    v.raw_connection()
        .query_row("SELECT key_id FROM data_keys WHERE is_current = 1", [], |r| r.get(0))
        .unwrap()
}

fn actions(v: &Vault) -> Vec<String> {
    v.audit_events(&AuditFilter::default())
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

struct Reject;
impl Validator for Reject {
    fn validate(&self, _c: &Candidate<'_>) -> Result<Verdict, Rejection> {
        Err(Rejection::new(Failure::InvalidCredential {
            detail: "401 from provider".into(),
        }))
    }
}

struct TenantIs(&'static str);
impl Validator for TenantIs {
    fn validate(&self, _c: &Candidate<'_>) -> Result<Verdict, Rejection> {
        Ok(Verdict {
            tenant_id: Some(self.0.into()),
            ..Verdict::default()
        })
    }
}

#[test]
fn each_operation_leaves_exactly_its_audit_events() {
    let (_d, mut v) = vault();
    let mut seen = actions(&v).len();
    let mut step = |v: &Vault, expected: &[&str]| {
        let all = actions(v);
        assert_eq!(&all[seen..], expected, "events after step");
        seen = all.len();
    };
    step(&v, &[]);
    v.add_integration(NewIntegration {
        name: "Pleo".into(),
        provider: "pleo".into(),
        ..Default::default()
    })
    .unwrap();
    step(&v, &["integration.add"]);
    v.update_integration(
        "Pleo",
        IntegrationPatch {
            owner: Some("finance".into()),
            ..Default::default()
        },
    )
    .unwrap();
    step(&v, &["integration.update"]);
    v.add_credential(NewCredential {
        integration: Some("Pleo".into()),
        ..api_key("k", "pk_live_0000000011111111")
    })
    .unwrap();
    step(&v, &["credential.add"]);
    v.update_credential(
        "k",
        CredentialPatch {
            tags: Some(vec!["payroll".into()]),
            ..Default::default()
        },
    )
    .unwrap();
    step(&v, &["credential.update"]);
    v.replace_secret(
        "k",
        SecretFields::single("api_key", SecretString::from("pk_live_2222222233333333".to_owned())),
        None,
        &OfflineValidator,
    )
    .unwrap();
    step(&v, &["credential.rotate.staged", "credential.rotate"]);
    v.use_secret("k", "sync").unwrap();
    step(&v, &["credential.use"]);
    v.disable_credential("k", "leaked").unwrap();
    step(&v, &["credential.disable"]);
    assert!(v.use_secret("k", "sync").is_err());
    step(&v, &["credential.use"]);
    v.export_config().unwrap();
    step(&v, &["config.export"]);
    v.rotate_data_key().unwrap();
    step(&v, &["vault.rotate_data_key"]);
    v.delete_credential("k", true).unwrap();
    step(&v, &["credential.delete"]);
    assert!(v.verify_audit().unwrap().ok);
}

#[test]
fn rotation_keeps_old_secret_when_validation_fails() {
    let (_d, mut v) = vault();
    v.add_credential(api_key("k", "pk_live_oldoldoldold1234")).unwrap();
    let before = v.get_credential("k").unwrap();
    let err = v
        .replace_secret(
            "k",
            SecretFields::single("api_key", SecretString::from("pk_live_newnewnewnew5678".to_owned())),
            None,
            &Reject,
        )
        .unwrap_err();
    assert!(matches!(err, Error::ValidationRejected { .. }), "{err}");
    let after = v.get_credential("k").unwrap();
    assert_eq!(after.versions, before.versions, "no pending version left behind");
    assert_eq!(after.summary.mask, before.summary.mask);
    assert_eq!(secret_of(&mut v, "k"), "pk_live_oldoldoldold1234");
    let events = v
        .audit_events(&AuditFilter {
            action: Some("credential.rotate".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(events.last().unwrap().outcome, crate::Outcome::Failure);
}

#[test]
fn rotation_swaps_to_the_new_secret_and_erases_the_old() {
    let (_d, mut v) = vault();
    v.add_integration(NewIntegration {
        name: "X".into(),
        provider: "xledger".into(),
        sync_schedule: Some("hourly".into()),
        ..Default::default()
    })
    .unwrap();
    v.add_credential(NewCredential {
        integration: Some("X".into()),
        ..api_key("k", "pk_live_oldoldoldold1234")
    })
    .unwrap();
    let integration_before = v.get_integration("X").unwrap();
    let c = v
        .replace_secret(
            "k",
            SecretFields::single("api_key", SecretString::from("pk_live_newnewnewnew5678".to_owned())),
            None,
            &OfflineValidator,
        )
        .unwrap();
    assert_eq!(c.summary.mask.as_deref(), Some("••••••••5678"));
    assert_eq!(c.summary.current_version, 2);
    assert_eq!(
        c.versions.iter().map(|v| v.state).collect::<Vec<_>>(),
        vec![VersionState::Retired, VersionState::Current]
    );
    assert_eq!(secret_of(&mut v, "k"), "pk_live_newnewnewnew5678");
    assert_eq!(
        v.get_integration("X").unwrap(),
        integration_before,
        "integration untouched"
    );
    let n: i64 = v
        .conn
        .query_row("SELECT count(*) FROM secret_fields WHERE version = 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0, "the retired version's secret is erased");
}

#[test]
fn rotation_refuses_a_secret_for_another_tenant() {
    let (_d, mut v) = vault();
    v.add_integration(NewIntegration {
        name: "P".into(),
        provider: "pleo".into(),
        tenant_id: Some("company-a".into()),
        ..Default::default()
    })
    .unwrap();
    v.add_credential(NewCredential {
        integration: Some("P".into()),
        ..api_key("k", "pk_live_oldoldoldold1234")
    })
    .unwrap();
    let err = v
        .replace_secret(
            "k",
            SecretFields::single("api_key", SecretString::from("pk_live_newnewnewnew5678".to_owned())),
            None,
            &TenantIs("company-b"),
        )
        .unwrap_err();
    assert!(err.to_string().contains("company-b"), "{err}");
    assert_eq!(secret_of(&mut v, "k"), "pk_live_oldoldoldold1234");
}

#[test]
fn an_interrupted_rotation_is_rolled_back_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v");
    let (mut v, _) = Vault::create(&path, KeySource::Keychain, actor()).unwrap();
    v.add_credential(api_key("k", "pk_live_oldoldoldold1234")).unwrap();
    // Stage version 2 exactly as replace_secret does, then "crash".
    let id = v.get_credential("k").unwrap().summary.id;
    {
        let tx = v.conn.transaction().unwrap();
        crate::store::credentials::insert_version(&tx, id, 2, VersionState::Pending, &BTreeMap::new()).unwrap();
        tx.commit().unwrap();
    }
    drop(v);
    // A young pending version may be mid-validation in another process.
    let v = Vault::open(&path, &KeySource::Keychain, actor()).unwrap();
    assert_eq!(
        v.get_credential("k").unwrap().versions.len(),
        2,
        "a fresh pending version is left alone"
    );
    v.conn
        .execute(
            "UPDATE credential_versions SET created_at = '2020-01-01T00:00:00.000000Z' WHERE version = 2",
            [],
        )
        .unwrap();
    drop(v);
    let mut v = Vault::open(&path, &KeySource::Keychain, actor()).unwrap();
    let c = v.get_credential("k").unwrap();
    assert_eq!(c.versions.len(), 1);
    assert_eq!(c.versions[0].state, VersionState::Current);
    assert_eq!(secret_of(&mut v, "k"), "pk_live_oldoldoldold1234");
    assert!(actions(&v).iter().any(|a| a == "credential.rotate"));
    assert!(v.verify_audit().unwrap().ok);
}

#[test]
fn disabled_credential_blocks_every_use_until_replaced() {
    let (_d, mut v) = vault();
    v.add_credential(api_key("k", "pk_live_oldoldoldold1234")).unwrap();
    v.disable_credential("k", "leaked in a log").unwrap();
    assert!(matches!(
        v.use_secret("k", "sync"),
        Err(Error::CredentialDisabled { .. })
    ));
    assert_eq!(v.get_credential("k").unwrap().summary.status, Status::Disabled);
    v.replace_secret(
        "k",
        SecretFields::single("api_key", SecretString::from("pk_live_newnewnewnew5678".to_owned())),
        None,
        &OfflineValidator,
    )
    .unwrap();
    assert_eq!(secret_of(&mut v, "k"), "pk_live_newnewnewnew5678");
}

#[test]
fn delete_is_refused_while_an_integration_depends_on_it_naming_it() {
    let (_d, mut v) = vault();
    v.add_integration(NewIntegration {
        name: "Business Central".into(),
        provider: "business_central".into(),
        ..Default::default()
    })
    .unwrap();
    v.add_credential(NewCredential {
        integration: Some("Business Central".into()),
        ..api_key("k", "pk_live_oldoldoldold1234")
    })
    .unwrap();
    let err = v.delete_credential("k", false).unwrap_err();
    assert!(err.to_string().contains("Business Central"), "{err}");
    assert!(v.get_credential("k").is_ok());
    v.delete_credential("k", true).unwrap();
    assert!(matches!(v.get_credential("k"), Err(Error::NotFound { .. })));
    let n: i64 = v
        .conn
        .query_row("SELECT count(*) FROM secret_fields", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);
}

#[test]
fn tampered_sealed_values_fail_opaquely_never_panic() {
    let (_d, mut v) = vault();
    v.add_credential(api_key("a", "pk_live_aaaaaaaaaaaaaaaa")).unwrap();
    v.add_credential(api_key("b", "pk_live_bbbbbbbbbbbbbbbb")).unwrap();
    let blob_of = |v: &Vault, name: &str| -> Vec<u8> {
        v.conn
            .query_row(
                "SELECT f.sealed FROM secret_fields f JOIN credentials c ON c.id = f.credential_id WHERE c.name = ?1",
                [name],
                |r| r.get(0),
            )
            .unwrap()
    };
    let set = |v: &Vault, name: &str, blob: &[u8]| {
        v.conn
            .execute(
                "UPDATE secret_fields SET sealed = ?2 WHERE credential_id = (SELECT id FROM credentials WHERE name = ?1)",
                rusqlite::params![name, blob],
            )
            .unwrap();
    };
    let original = blob_of(&v, "a");
    for i in 0..original.len() {
        let mut t = original.clone();
        t[i] ^= 0x01;
        set(&v, "a", &t);
        let err = v.use_secret("a", "t").unwrap_err();
        assert!(matches!(err, Error::Decryption), "byte {i}: {err}");
        assert_eq!(
            err.to_string(),
            "a stored secret could not be decrypted: the vault data is damaged or was tampered with"
        );
    }
    set(&v, "a", &original[..original.len() - 1]);
    assert!(matches!(v.use_secret("a", "t"), Err(Error::Decryption)));
    let mut downgraded = original.clone();
    downgraded[0] = 0;
    set(&v, "a", &downgraded);
    assert!(matches!(v.use_secret("a", "t"), Err(Error::Decryption)));
    // b's ciphertext moved into a's row.
    set(&v, "a", &blob_of(&v, "b"));
    assert!(matches!(v.use_secret("a", "t"), Err(Error::Decryption)));
    set(&v, "a", &original);
    assert_eq!(secret_of(&mut v, "a"), "pk_live_aaaaaaaaaaaaaaaa");
}

/// Another program rotating the data key (it re-seals everything and
/// deletes the old key) while this one opens the vault, uses a secret and
/// checks the vault: each reads a key and the values it opens at one
/// moment, so none of them ever mistakes the rotation for damage. (Opening
/// once read which key was current and then loaded it in a second
/// statement: CI saw "could not be decrypted" from `kw` at that gap.)
#[test]
fn opening_using_and_checking_while_another_handle_rotates_the_data_key_never_reports_damage() {
    let (d, mut v) = vault();
    for i in 0..3 {
        v.add_credential(api_key(&format!("c{i}"), &format!("pk_live_{i:016}")))
            .unwrap();
    }
    let dir = d.path().join("v");
    let mut rotator = v.reopen().unwrap();
    let reads = 200;
    let rotations = std::thread::scope(|s| {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let rotating = s.spawn(move || {
            let mut n = 0u32;
            // Until the reader is done (or has panicked and dropped `stop`).
            // The pause lets the reader's own writes (a use is audited) take
            // the write lock between two rotations.
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                stopped.recv_timeout(std::time::Duration::from_millis(2))
            {
                rotator.rotate_data_key().unwrap();
                n += 1;
            }
            n
        });
        for read in 0..reads {
            let mut opened = Vault::open(&dir, &KeySource::Keychain, actor()).unwrap_or_err_after(read, "open");
            let n = read % 3;
            let secret = opened
                .use_secret(&format!("c{n}"), "test")
                .unwrap_or_err_after(read, "use");
            assert_eq!(
                secret.get("api_key").unwrap().expose_secret(),
                format!("pk_live_{n:016}")
            );
            let report = opened.check_integrity().unwrap_or_err_after(read, "check");
            assert!(report.ok, "after {read} reads: {:?}", report.problems);
        }
        drop(stop);
        rotating.join().unwrap()
    });
    eprintln!("{reads} opens, uses and checks during {rotations} data-key rotations");
    assert_eq!(v.data_key_count().unwrap(), 1);
}

trait UnwrapAfter<T> {
    fn unwrap_or_err_after(self, reads: usize, what: &str) -> T;
}

impl<T> UnwrapAfter<T> for crate::Result<T> {
    fn unwrap_or_err_after(self, reads: usize, what: &str) -> T {
        self.unwrap_or_else(|e| panic!("{what} failed after {reads} clean reads: {e}"))
    }
}

#[test]
fn rotate_data_key_over_10000_credentials_keeps_every_secret_and_destroys_the_old_key() {
    let (_d, mut v) = vault();
    let items: Vec<NewCredential> = (0..10_000)
        .map(|i| api_key(&format!("cred {i:05}"), &format!("pk_live_{i:016}")))
        .collect();
    v.add_credentials_bulk(items).unwrap();
    let old_id = current_dek(&v);
    let old_wrapped: Vec<u8> = v
        .conn
        .query_row("SELECT wrapped FROM data_keys WHERE key_id = ?1", [old_id], |r| {
            r.get(0)
        })
        .unwrap();
    let r = v.rotate_data_key().unwrap();
    assert_eq!(r.resealed, 10_000);
    assert_ne!(r.key_id, old_id);
    assert_eq!(v.data_key_count().unwrap(), 1);
    let still: i64 = v
        .conn
        .query_row(
            "SELECT count(*) FROM data_keys WHERE wrapped = ?1",
            [&old_wrapped],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(still, 0);
    let other_keys: i64 = v
        .conn
        .query_row(
            "SELECT count(*) FROM secret_fields WHERE substr(sealed, 2, 4) != ?1",
            [r.key_id.to_be_bytes().to_vec()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(other_keys, 0, "every field is sealed under the new key");
    for s in v.list_credentials(&CredentialFilter::default()).unwrap() {
        let fields = v.open_version(s.id, s.current_version).unwrap();
        let n: usize = s.name[5..].parse().unwrap();
        assert_eq!(
            fields.get("api_key").unwrap().expose_secret(),
            format!("pk_live_{n:016}")
        );
    }
}

#[test]
fn data_key_rotates_itself_when_its_use_counter_is_worn() {
    let (_d, mut v) = vault();
    v.set_rotate_after(3);
    let first = current_dek(&v);
    v.add_credential(api_key("a", "pk_live_aaaaaaaaaaaaaaaa")).unwrap();
    v.add_credential(api_key("b", "pk_live_bbbbbbbbbbbbbbbb")).unwrap();
    assert_eq!(current_dek(&v), first);
    v.add_credential(api_key("c", "pk_live_cccccccccccccccc")).unwrap();
    assert_ne!(current_dek(&v), first, "third seal wore the key out");
    assert_eq!(secret_of(&mut v, "a"), "pk_live_aaaaaaaaaaaaaaaa");
    drop(v);
}

#[test]
fn audit_chain_detects_edit_delete_reorder_insert_and_truncate() {
    let (_d, mut v) = vault();
    for i in 0..5 {
        v.add_credential(api_key(&format!("k{i}"), &format!("pk_live_{i:016}")))
            .unwrap();
    }
    assert!(v.verify_audit().unwrap().ok);
    let exec = |v: &Vault, sql: &str| v.conn.execute_batch(sql).unwrap();
    let check = |v: &Vault, seq: i64| {
        let r = v.verify_audit().unwrap();
        assert!(!r.ok);
        assert_eq!(r.first_bad_seq, Some(seq), "{:?}", r.problem);
    };
    exec(
        &v,
        "SAVEPOINT t; UPDATE audit_events SET detail = 'type basic' WHERE seq = 3;",
    );
    check(&v, 3);
    exec(
        &v,
        "ROLLBACK TO t; RELEASE t; SAVEPOINT t; DELETE FROM audit_events WHERE seq = 4;",
    );
    check(&v, 4);
    exec(
        &v,
        "ROLLBACK TO t; RELEASE t; SAVEPOINT t;
              UPDATE audit_events SET seq = 100 WHERE seq = 2; UPDATE audit_events SET seq = 2 WHERE seq = 3;
              UPDATE audit_events SET seq = 3 WHERE seq = 100;",
    );
    check(&v, 2);
    exec(&v, "ROLLBACK TO t; RELEASE t; SAVEPOINT t;
              UPDATE audit_events SET seq = -(seq + 1) WHERE seq >= 4;
             UPDATE audit_events SET seq = -seq WHERE seq < 0;
             INSERT INTO audit_events SELECT 4, at, profile, os_user, host, action, object_kind, object_id, object_name, outcome, detail, prev_mac, mac FROM audit_events WHERE seq = 3;");
    check(&v, 4);
    exec(
        &v,
        "ROLLBACK TO t; RELEASE t; SAVEPOINT t; DELETE FROM audit_events WHERE seq = 6;",
    );
    check(&v, 6);
    exec(&v, "ROLLBACK TO t; RELEASE t;");
    assert!(v.verify_audit().unwrap().ok);
}

#[test]
fn recovery_code_restores_access_after_the_keychain_item_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v");
    let (mut v, code) = Vault::create(&path, KeySource::Keychain, actor()).unwrap();
    v.add_credential(api_key("k", "pk_live_recoverme123456")).unwrap();
    let id = v.vault_id().to_string();
    drop(v);
    // A lost keychain loses the KEK and the rollback anchor together.
    crate::keychain::delete(&id).unwrap();
    crate::keychain::delete(&format!("anchor:{id}")).unwrap();
    assert!(matches!(
        Vault::open(&path, &KeySource::Keychain, actor()),
        Err(Error::KeychainItemMissing { .. })
    ));
    let header_before = std::fs::read(path.join("vault.json")).unwrap();
    assert!(matches!(
        Vault::recover(
            &path,
            "AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA",
            KeySource::Keychain,
            actor()
        ),
        Err(Error::WrongRecoveryCode)
    ));
    assert_eq!(
        std::fs::read(path.join("vault.json")).unwrap(),
        header_before,
        "a wrong code changes nothing"
    );
    let mut v = Vault::recover(&path, &code.display(), KeySource::Keychain, actor()).unwrap();
    assert_eq!(secret_of(&mut v, "k"), "pk_live_recoverme123456");
    let recovered = v.audit_events(&AuditFilter::default()).unwrap();
    let event = recovered.iter().find(|e| e.action == "vault.recover").unwrap();
    assert!(event.detail.contains("rollback anchor was lost"), "{event:?}");
    drop(v);
    let mut v = Vault::open(&path, &KeySource::Keychain, actor()).unwrap();
    assert_eq!(secret_of(&mut v, "k"), "pk_live_recoverme123456");
    assert!(v.verify_audit().unwrap().ok);
}

#[test]
fn passphrase_vault_opens_only_with_its_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v");
    let pass = || KeySource::Passphrase(SecretString::from("correct horse battery staple".to_owned()));
    let (mut v, _) = Vault::create(&path, pass(), actor()).unwrap();
    v.add_credential(api_key("k", "pk_live_passphrase12345")).unwrap();
    drop(v);
    let wrong = KeySource::Passphrase(SecretString::from("wrong horse battery staple".to_owned()));
    assert!(matches!(
        Vault::open(&path, &wrong, actor()),
        Err(Error::WrongPassphrase)
    ));
    let mut v = Vault::open(&path, &pass(), actor()).unwrap();
    assert_eq!(secret_of(&mut v, "k"), "pk_live_passphrase12345");
}

#[test]
fn export_has_no_secret_and_import_marks_credentials_for_reentry() {
    let (_d, mut v) = vault();
    v.add_integration(NewIntegration {
        name: "Xledger".into(),
        provider: "xledger".into(),
        tenant_id: Some("123".into()),
        ..Default::default()
    })
    .unwrap();
    v.add_credential(NewCredential {
        integration: Some("Xledger".into()),
        ..api_key("x", "pk_live_exportcanary0001")
    })
    .unwrap();
    let export = v.export_config().unwrap();
    let text = serde_json::to_string(&export).unwrap();
    assert!(!text.contains("exportcanary"));
    assert!(export.note.contains("re-entered"));
    let (_d2, mut other) = vault();
    let report = other.import_config(&export).unwrap();
    assert_eq!(report.needs_reentry, vec!["x".to_owned()]);
    let c = other.get_credential("x").unwrap();
    assert!(c.summary.needs_reentry);
    assert_eq!(c.summary.integration.as_deref(), Some("Xledger"));
    assert!(matches!(other.use_secret("x", "t"), Err(Error::NeedsReentry { .. })));
    other
        .replace_secret(
            "x",
            SecretFields::single("api_key", SecretString::from("pk_live_reentered000001".to_owned())),
            None,
            &OfflineValidator,
        )
        .unwrap();
    assert!(!other.get_credential("x").unwrap().summary.needs_reentry);
    // A second import of the same file is refused whole.
    let before = other.content_digest().unwrap();
    assert!(matches!(other.import_config(&export), Err(Error::Duplicate { .. })));
    assert_eq!(other.content_digest().unwrap(), before);
}

#[test]
fn list_filters_by_type_status_provider_environment_tag_and_text() {
    let (_d, mut v) = vault();
    v.add_integration(NewIntegration {
        name: "Pleo Norway".into(),
        provider: "pleo".into(),
        ..Default::default()
    })
    .unwrap();
    v.add_credential(NewCredential {
        integration: Some("Pleo Norway".into()),
        tags: vec!["payroll".into()],
        ..api_key("pleo key", "pk_live_aaaaaaaaaaaaaaaa")
    })
    .unwrap();
    v.add_credential(NewCredential {
        name: "bc basic".into(),
        kind: Some(CredentialKind::Basic),
        environment: Some("sandbox".into()),
        config: BTreeMap::from([("username".into(), "svc".into())]),
        secrets: SecretFields::single("password", SecretString::from("hunter2hunter2".to_owned())),
        expires_at: Some(crate::timefmt::now() + time::Duration::days(3)),
        ..Default::default()
    })
    .unwrap();
    let names = |f: CredentialFilter| {
        v.list_credentials(&f)
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(CredentialFilter {
            kind: Some(CredentialKind::Basic),
            ..Default::default()
        }),
        ["bc basic"]
    );
    assert_eq!(
        names(CredentialFilter {
            status: Some(Status::Expiring),
            ..Default::default()
        }),
        ["bc basic"]
    );
    assert_eq!(
        names(CredentialFilter {
            status: Some(Status::Active),
            ..Default::default()
        }),
        ["pleo key"]
    );
    assert_eq!(
        names(CredentialFilter {
            provider: Some("pleo".into()),
            ..Default::default()
        }),
        ["pleo key"]
    );
    assert_eq!(
        names(CredentialFilter {
            environment: Some("sandbox".into()),
            ..Default::default()
        }),
        ["bc basic"]
    );
    assert_eq!(
        names(CredentialFilter {
            tag: Some("payroll".into()),
            ..Default::default()
        }),
        ["pleo key"]
    );
    assert_eq!(
        names(CredentialFilter {
            search: Some("NORWAY".into()),
            ..Default::default()
        }),
        ["pleo key"]
    );
    assert_eq!(
        names(CredentialFilter {
            search: Some("%".into()),
            ..Default::default()
        }),
        Vec::<String>::new()
    );
}

#[test]
fn search_finds_substrings_of_any_length_and_follows_integration_renames() {
    let (_d, mut v) = vault();
    v.add_integration(NewIntegration {
        name: "Xledger Oslo".into(),
        provider: "xledger".into(),
        ..Default::default()
    })
    .unwrap();
    v.add_credential(NewCredential {
        integration: Some("Xledger Oslo".into()),
        ..api_key("payroll sync", "pk_live_aaaaaaaaaaaaaaaa")
    })
    .unwrap();
    v.add_credential(api_key("other", "pk_live_bbbbbbbbbbbbbbbb")).unwrap();
    let names = |v: &Vault, q: &str| {
        v.list_credentials(&CredentialFilter {
            search: Some(q.into()),
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect::<Vec<_>>()
    };
    assert_eq!(names(&v, "osl"), ["payroll sync"]);
    assert_eq!(names(&v, "ROLL SY"), ["payroll sync"]);
    assert_eq!(
        names(&v, "roll \"sy"),
        Vec::<String>::new(),
        "quotes are text, not FTS syntax"
    );
    assert_eq!(names(&v, "ot"), ["other"], "short needles fall back to a scan");
    assert_eq!(names(&v, "OR NOT *"), Vec::<String>::new());
    v.update_integration(
        "Xledger Oslo",
        IntegrationPatch {
            name: Some("Xledger Bergen".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(names(&v, "osl"), Vec::<String>::new());
    assert_eq!(names(&v, "bergen"), ["payroll sync"]);
    v.delete_credential("other", false).unwrap();
    assert_eq!(names(&v, "other"), Vec::<String>::new());
}

#[test]
fn delete_by_typed_name_refuses_a_mismatch_and_keeps_the_credential() {
    let (_d, mut v) = vault();
    v.add_credential(api_key("Pleo prod", "pk_live_0123456789abcd"))
        .unwrap();
    let err = v.delete_credential_confirmed("Pleo prod", "Pleo").unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
    assert!(v.get_credential("Pleo prod").is_ok());
    v.delete_credential_confirmed("Pleo prod", "Pleo prod").unwrap();
    assert!(matches!(v.get_credential("Pleo prod"), Err(Error::NotFound { .. })));
}

#[test]
fn expiry_warning_window_is_a_setting_within_one_to_365_days() {
    let (_d, mut v) = vault();
    let mut new = api_key("Xledger", "xl_0123456789abcdef");
    new.expires_at = Some(crate::timefmt::now() + time::Duration::days(20));
    v.add_credential(new).unwrap();
    assert_eq!(v.get_credential("Xledger").unwrap().summary.status, Status::Active);
    v.set_expiring_within_days(30).unwrap();
    assert_eq!(v.get_credential("Xledger").unwrap().summary.status, Status::Expiring);
    let filter = CredentialFilter {
        status: Some(Status::Expiring),
        ..Default::default()
    };
    assert_eq!(v.list_credentials(&filter).unwrap().len(), 1);
    assert!(v.set_expiring_within_days(0).is_err());
    assert!(v.set_expiring_within_days(366).is_err());
    assert_eq!(v.expiring_within_days(), 30);
}

/// A validator that answers from a script, one verdict per call.
struct Scripted(std::cell::RefCell<Vec<Result<Verdict, Failure>>>);
impl Scripted {
    fn new(mut answers: Vec<Result<Verdict, Failure>>) -> Scripted {
        answers.reverse();
        Scripted(std::cell::RefCell::new(answers))
    }
}
impl Validator for Scripted {
    fn validate(&self, _c: &Candidate<'_>) -> Result<Verdict, Rejection> {
        self.0
            .borrow_mut()
            .pop()
            .expect("an answer for each call")
            .map_err(Rejection::new)
    }
}

fn invalid() -> Result<Verdict, Failure> {
    Err(Failure::InvalidCredential { detail: "401".into() })
}

fn unreachable() -> Result<Verdict, Failure> {
    Err(Failure::Unreachable {
        detail: "connection refused".into(),
    })
}

#[test]
fn activity_counts_every_use_and_check_of_each_day_and_lists_the_quiet_days() {
    let (_d, mut v) = vault();
    v.add_credential(api_key("pleo", "pleo-key-0001")).unwrap();
    v.add_credential(api_key("other", "other-key-0001")).unwrap();
    for _ in 0..25 {
        secret_of(&mut v, "pleo");
    }
    secret_of(&mut v, "other");
    let answers = Scripted::new(vec![invalid(), Ok(Verdict::default()), Ok(Verdict::default())]);
    for _ in 0..3 {
        v.check_credential("pleo", &answers).unwrap();
    }
    let days = v.activity("pleo", 30).unwrap();
    assert_eq!(days.len(), 30);
    let today = days.last().unwrap();
    assert_eq!(today.day, time::OffsetDateTime::now_utc().date().to_string());
    // More than the 20 checks or 200 events the page lists elsewhere would
    // still all count: counted in the database, by day.
    // Each check unsealed the secret too: a use (audited as such).
    assert_eq!((today.uses, today.checks_passed, today.checks_failed), (28, 2, 1));
    assert!(
        days[..29]
            .iter()
            .all(|d| d.uses == 0 && d.checks_passed + d.checks_failed == 0)
    );
    assert_eq!(
        days[0].day,
        (time::OffsetDateTime::now_utc().date() - time::Duration::days(29)).to_string()
    );
}

#[test]
fn three_consecutive_auth_failures_put_the_credential_in_error_until_a_check_passes() {
    let (_d, mut v) = vault();
    v.add_credential(api_key("pleo", "pleo-key-0001")).unwrap();
    let answers = Scripted::new(vec![
        invalid(),
        unreachable(), // says nothing about the secret: neither counts nor resets
        invalid(),
        invalid(),
        Ok(Verdict::default()),
    ]);
    let first = v.check_credential("pleo", &answers).unwrap();
    assert_eq!((first.consecutive_auth_failures, first.status), (1, Status::Active));
    let second = v.check_credential("pleo", &answers).unwrap();
    assert_eq!(second.consecutive_auth_failures, 1);
    v.check_credential("pleo", &answers).unwrap();
    let third = v.check_credential("pleo", &answers).unwrap();
    assert_eq!(third.consecutive_auth_failures, 3);
    assert_eq!(third.status, Status::Error);
    assert!(third.reconnection_required);
    assert_eq!(v.get_credential("pleo").unwrap().summary.status, Status::Error);

    let passed = v.check_credential("pleo", &answers).unwrap();
    assert_eq!((passed.consecutive_auth_failures, passed.status), (0, Status::Active));
    assert!(v.get_credential("pleo").unwrap().summary.last_validated_at.is_some());

    let history = v.recent_checks("pleo", 10).unwrap();
    let codes: Vec<&str> = history.iter().map(|c| c.outcome.code()).collect();
    assert_eq!(
        codes,
        [
            "valid",
            "invalid_credential",
            "invalid_credential",
            "unreachable",
            "invalid_credential"
        ]
    );
    let checks: Vec<String> = actions(&v).into_iter().filter(|a| a == "credential.check").collect();
    assert_eq!(checks.len(), 5);
}

#[test]
fn the_auth_failure_threshold_is_a_setting_within_one_to_100() {
    let (_d, mut v) = vault();
    assert_eq!(v.auth_failure_threshold(), 3);
    assert!(v.set_auth_failure_threshold(0).is_err());
    assert!(v.set_auth_failure_threshold(101).is_err());
    v.set_auth_failure_threshold(1).unwrap();
    v.add_credential(api_key("pleo", "pleo-key-0001")).unwrap();
    let report = v.check_credential("pleo", &Scripted::new(vec![invalid()])).unwrap();
    assert_eq!(report.status, Status::Error);
}

#[test]
fn an_offline_check_is_labelled_offline_and_does_not_count_as_validated() {
    let (_d, mut v) = vault();
    v.add_credential(api_key("pleo", "pleo-key-0001")).unwrap();
    let report = v.check_credential("pleo", &OfflineValidator).unwrap();
    assert!(report.check.offline);
    assert_eq!(report.check.outcome.code(), "valid");
    assert!(v.get_credential("pleo").unwrap().summary.last_validated_at.is_none());
}

#[test]
fn a_check_for_another_tenant_fails_as_wrong_tenant_and_a_disabled_credential_is_not_checked() {
    let (_d, mut v) = vault();
    v.add_integration(NewIntegration {
        name: "pleo-acme".into(),
        provider: "pleo".into(),
        environment: "production".into(),
        tenant_id: Some("acme".into()),
        ..Default::default()
    })
    .unwrap();
    let mut new = api_key("pleo", "pleo-key-0001");
    new.integration = Some("pleo-acme".into());
    v.add_credential(new).unwrap();
    let report = v.check_credential("pleo", &TenantIs("globex")).unwrap();
    match report.check.outcome {
        CheckOutcome::Failed {
            failure: Failure::WrongTenant { expected, actual },
        } => assert_eq!((expected.as_str(), actual.as_str()), ("acme", "globex")),
        other => panic!("{other:?}"),
    }
    v.disable_credential("pleo", "key leaked in a ticket").unwrap();
    let err = v.check_credential("pleo", &TenantIs("acme")).unwrap_err();
    assert!(matches!(err, Error::CredentialDisabled { .. }), "{err}");
}

fn jwt(claims: &str) -> String {
    use base64::Engine;
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.as_bytes());
    format!("eyJhbGciOiJIUzI1NiJ9.{payload}.c2lnbmF0dXJl")
}

#[test]
fn offline_checks_read_jwt_claims_and_the_stored_expiry_and_say_offline_even_when_failing() {
    let (_d, mut v) = vault();
    v.add_integration(NewIntegration {
        name: "ledger".into(),
        provider: "generic".into(),
        environment: "prod".into(),
        scopes: vec!["ledger.read".into()],
        ..Default::default()
    })
    .unwrap();
    let mut good = api_key("good", &jwt(r#"{"exp":4102444800,"scp":"ledger.read","tid":"t-9"}"#));
    good.integration = Some("ledger".into());
    v.add_credential(good).unwrap();
    let r = v.check_credential("good", &OfflineValidator).unwrap();
    match &r.check.outcome {
        CheckOutcome::Valid { verdict } => {
            assert!(verdict.offline);
            assert_eq!(verdict.tenant_id.as_deref(), Some("t-9"));
            assert_eq!(verdict.scopes, ["ledger.read"]);
            assert_eq!(verdict.expires_at.unwrap().unix_timestamp(), 4102444800);
        }
        other => panic!("{other:?}"),
    }

    let mut narrow = api_key("narrow", &jwt(r#"{"scp":"ledger.none"}"#));
    narrow.integration = Some("ledger".into());
    v.add_credential(narrow).unwrap();
    let r = v.check_credential("narrow", &OfflineValidator).unwrap();
    assert!(r.check.offline);
    assert!(matches!(
        r.check.outcome,
        CheckOutcome::Failed {
            failure: Failure::InsufficientScope { .. }
        }
    ));

    // The stored expiry counts too, and an offline failure never counts
    // toward the live authentication-failure threshold.
    let mut old = api_key("old", "plain-key-0001");
    old.expires_at = Some(crate::timefmt::now() - time::Duration::days(1));
    v.add_credential(old).unwrap();
    for _ in 0..4 {
        let r = v.check_credential("old", &OfflineValidator).unwrap();
        assert!(r.check.offline);
        assert!(matches!(
            r.check.outcome,
            CheckOutcome::Failed {
                failure: Failure::Expired { .. }
            }
        ));
        assert_eq!(r.consecutive_auth_failures, 0);
    }
}

#[test]
fn offline_checks_report_issuer_and_audience_and_refuse_the_wrong_ones() {
    let (_d, mut v) = vault();
    let token = jwt(r#"{"exp":4102444800,"iss":"https://login.example/t-9/","aud":["api://ledger"]}"#);
    let with = |name: &str, issuer: &str, audience: &str| {
        let mut c = api_key(name, &token);
        c.config.insert("issuer".into(), issuer.into());
        c.config.insert("audience".into(), audience.into());
        c
    };
    v.add_credential(with("right", "https://login.example/t-9", "api://ledger"))
        .unwrap();
    v.add_credential(with("other-tenant", "https://login.example/t-1", "api://ledger"))
        .unwrap();
    v.add_credential(with("other-api", "https://login.example/t-9", "api://payroll"))
        .unwrap();
    match v.check_credential("right", &OfflineValidator).unwrap().check.outcome {
        CheckOutcome::Valid { verdict } => {
            assert_eq!(verdict.issuer.as_deref(), Some("https://login.example/t-9/"));
            assert_eq!(verdict.audience, ["api://ledger"]);
        }
        other => panic!("{other:?}"),
    }
    match v
        .check_credential("other-tenant", &OfflineValidator)
        .unwrap()
        .check
        .outcome
    {
        CheckOutcome::Failed {
            failure: Failure::WrongTenant { expected, .. },
        } => assert_eq!(expected, "https://login.example/t-1"),
        other => panic!("{other:?}"),
    }
    match v
        .check_credential("other-api", &OfflineValidator)
        .unwrap()
        .check
        .outcome
    {
        CheckOutcome::Failed {
            failure: Failure::InvalidCredential { detail },
        } => assert!(
            detail.contains("api://ledger") && detail.contains("api://payroll"),
            "{detail}"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_support_bundle_reads_back_and_anything_else_is_refused_with_the_reason() {
    let (_d, mut v) = vault();
    v.add_credential(api_key("pleo", "pk_live_bundle_read_back_0001"))
        .unwrap();
    let bundle = v.support_bundle().unwrap();
    let bytes = serde_json::to_vec_pretty(&bundle).unwrap();
    assert_eq!(crate::SupportBundle::parse(&bytes).unwrap(), bundle);

    let reason = |bytes: &[u8]| match crate::SupportBundle::parse(bytes).unwrap_err() {
        Error::InvalidInput { reason, .. } => reason,
        other => panic!("{other:?}"),
    };
    assert!(reason(b"not json at all").contains("not JSON"));
    assert!(reason(br#"{"format":"something-else"}"#).contains("not a Keywarden support bundle"));
    let mut newer: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    newer["format_version"] = 99.into();
    assert!(reason(&serde_json::to_vec(&newer).unwrap()).contains("version 99"));
    let mut edited: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    edited["credentials"] = "gone".into();
    assert!(reason(&serde_json::to_vec(&edited).unwrap()).contains("incomplete or was edited"));
    assert!(reason(&bytes[..bytes.len() / 2]).contains("not JSON"));
    assert!(reason(&vec![b' '; crate::support::BUNDLE_MAX_BYTES + 1]).contains("larger than any support bundle"));
}

// ---- the organisation's policy ---------------------------------------------

fn policy(text: &str) -> crate::Policy {
    crate::Policy::parse(text, std::path::Path::new("/etc/keywarden/policy.toml")).unwrap()
}

fn managed(r: crate::Result<impl std::fmt::Debug>) -> String {
    match r {
        Err(e @ Error::ManagedByPolicy { .. }) => e.to_string(),
        other => panic!("expected a policy refusal, got {other:?}"),
    }
}

struct AcceptsLive;

impl Validator for AcceptsLive {
    fn validate(&self, _: &Candidate<'_>) -> Result<Verdict, Rejection> {
        Ok(Verdict::default())
    }
}

#[test]
fn a_policy_file_error_names_its_line_and_the_strictest_policy_applies() {
    let path = std::path::Path::new("/etc/keywarden/policy.toml");
    let e = crate::Policy::parse("export_allowed = false\n\nexprt_allowed = true\n", path).unwrap_err();
    assert!(e.contains("line 3") && e.contains("exprt_allowed"), "{e}");
    let e = crate::Policy::parse("clipboard_allowed = \"no\"\n", path).unwrap_err();
    assert!(e.contains("line 1"), "{e}");
    let e = crate::Policy::parse("export_allowed = true\nmax_credential_age_days = 0\n", path).unwrap_err();
    assert!(e.contains("line 2") && e.contains("max_credential_age_days"), "{e}");
    let e = crate::Policy::parse("allowed_providers = [\"pleo\", \"no such/thing\"]\n", path).unwrap_err();
    assert!(e.contains("allowed_providers"), "{e}");

    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        crate::Policy::load(&dir.path().join("absent.toml")),
        crate::Policy::default()
    );
    let broken = dir.path().join("policy.toml");
    std::fs::write(&broken, "verifier_allowed = maybe\n").unwrap();
    let p = crate::Policy::load(&broken);
    assert!(matches!(&p.source, crate::PolicySource::Strictest { problem, .. } if problem.contains("line 1")));
    assert_eq!(p.rules, crate::policy::PolicyFile::strictest());
    // A folder where the file should be cannot be read: strictest, too.
    let p = crate::Policy::load(dir.path());
    assert!(matches!(p.source, crate::PolicySource::Strictest { .. }));

    let (_d, mut v) = vault();
    v.set_policy(crate::Policy::load(&broken));
    let e = managed(v.export_config());
    assert!(e.contains("strictest") && e.contains("line 1"), "{e}");
}

#[test]
fn each_policy_key_is_enforced_by_the_core() {
    let (_d, mut v) = vault();
    v.add_integration(NewIntegration {
        name: "Pleo".into(),
        provider: "pleo".into(),
        ..Default::default()
    })
    .unwrap();
    v.add_credential(api_key("Before", "pk_live_0000000011111111")).unwrap();
    v.set_policy(policy(
        "export_allowed = false\nclipboard_allowed = false\nrequire_live_validation = true\n\
         max_credential_age_days = 30\nnotice_thresholds_days = [30, 14, 7]\nauto_lock_max_minutes = 5\n\
         allowed_providers = [\"pleo\"]\nverifier_allowed = false\noauth_secrets_to_workflows = false\n\
         health_check_max_hours = 48\nstart_at_login = false\n",
    ));

    // export
    assert!(managed(v.export_config()).contains("export_allowed"));
    // providers, for integrations, credentials and imports alike
    let e = managed(v.add_integration(NewIntegration {
        name: "Ledger".into(),
        provider: "xledger".into(),
        ..Default::default()
    }));
    assert!(
        e.contains("'xledger' is not allowed") && e.contains("allowed: pleo"),
        "{e}"
    );
    // the rotation age: the policy's is in force; stricter is fine
    assert_eq!(v.rotation_policy().0, 30);
    assert!(managed(v.set_rotation_policy(90, 7)).contains("every 30 days"));
    assert!(managed(v.set_rotation_policy(0, 7)).contains("0 = never"));
    v.set_rotation_policy(20, 7).unwrap();
    assert!(
        managed(v.update_credential(
            "Before",
            CredentialPatch {
                max_age_days: Some(Some(60)),
                ..Default::default()
            }
        ))
        .contains("max_credential_age_days")
    );
    // notice thresholds are fixed
    assert_eq!(v.notice_thresholds(), [30, 14, 7]);
    assert!(managed(v.set_notice_thresholds(&[60, 14])).contains("fixed at [30, 14, 7]"));
    v.set_notice_thresholds(&[7, 14, 30]).unwrap();
    // live validation before any save
    assert!(managed(v.add_credential(api_key("Plain", "pk_live_2222222233333333"))).contains("live check"));
    assert!(
        managed(v.add_credential_checked(api_key("Offline", "pk_live_2222222233333333"), &OfflineValidator))
            .contains("require_live_validation")
    );
    let e = managed(v.replace_secret(
        "Before",
        SecretFields::single("api_key", SecretString::from("pk_live_4444444455555555".to_owned())),
        None,
        &OfflineValidator,
    ));
    assert!(e.contains("without --offline"), "{e}");
    assert_eq!(
        secret_of(&mut v, "Before"),
        "pk_live_0000000011111111",
        "nothing changed"
    );
    let c = v
        .add_credential_checked(
            NewCredential {
                integration: Some("Pleo".into()),
                ..api_key("Checked", "pk_live_6666666677777777")
            },
            &AcceptsLive,
        )
        .unwrap();
    assert_eq!(c.summary.provider, "pleo");
    assert!(
        managed(v.add_credential_checked(
            NewCredential {
                provider: Some("xledger".into()),
                ..api_key("Elsewhere", "pk_live_6666666677777777")
            },
            &AcceptsLive
        ))
        .contains("allowed_providers")
    );
    // what the app and kw serve ask
    assert!(managed(v.policy().check_clipboard()).contains("clipboard_allowed"));
    assert!(managed(v.policy().check_verifier()).contains("verifier_allowed"));
    assert!(managed(v.policy().check_oauth_secrets_to_workflows()).contains("oauth_secrets_to_workflows"));
    assert!(managed(v.policy().check_auto_lock(10)).contains("at most 5"));
    v.policy().check_auto_lock(5).unwrap();
    // every key shows as managed, with its line
    // starting at login, forbidden: the setting stays off
    let mut wanted = v.settings().clone();
    wanted.start_at_login = true;
    assert!(managed(wanted.check_within(v.policy())).contains("start_at_login"));
    assert!(!wanted.with_policy(v.policy()).start_at_login);
    let entries = v.policy().entries();
    assert_eq!(entries.len(), 11);
    assert!(entries.iter().all(|e| e.managed), "{entries:?}");
    let age = entries.iter().find(|e| e.key == "max_credential_age_days").unwrap();
    assert_eq!(
        (age.value.as_str(), age.source.as_str()),
        ("30", "/etc/keywarden/policy.toml:4")
    );
}

#[test]
fn the_policy_maximum_age_caps_longer_or_no_ages_already_stored_on_credentials_and_integrations() {
    use crate::clock::ManualClock;
    let (_d, mut v) = vault();
    let start = time::macros::datetime!(2026-03-01 09:00 UTC);
    let clock = ManualClock::at(start);
    v.set_clock(std::sync::Arc::new(clock.clone()));
    v.add_integration(NewIntegration {
        name: "Pleo".into(),
        provider: "pleo".into(),
        max_age_days: Some(365),
        ..Default::default()
    })
    .unwrap();
    v.add_credential(NewCredential {
        max_age_days: Some(0),
        ..api_key("Never", "pk_live_never_rotated_0001")
    })
    .unwrap();
    v.add_credential(NewCredential {
        integration: Some("Pleo".into()),
        ..api_key("Yearly", "pk_live_yearly_rotated_001")
    })
    .unwrap();
    v.set_policy(policy("max_credential_age_days = 30\n"));
    let due_names = |v: &Vault| {
        v.list_credentials(&CredentialFilter {
            status: Some(Status::RotationDue),
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect::<Vec<_>>()
    };
    clock.set(start + time::Duration::days(29));
    assert!(due_names(&v).is_empty());
    clock.set(start + time::Duration::days(31));
    for name in ["Never", "Yearly"] {
        let s = v.get_credential(name).unwrap().summary;
        assert_eq!(s.status, Status::RotationDue, "{name}: the policy's 30 days apply");
        assert_eq!(s.rotation_due_at, Some(start + time::Duration::days(30)), "{name}");
    }
    assert_eq!(due_names(&v), ["Never", "Yearly"], "the filter agrees with the status");
    let active = v
        .list_credentials(&CredentialFilter {
            status: Some(Status::Active),
            ..Default::default()
        })
        .unwrap();
    assert!(active.is_empty(), "{active:?}");
}

#[test]
fn importing_a_credential_whose_age_the_policy_forbids_is_refused_and_writes_nothing() {
    let (_d, mut v) = vault();
    v.add_credential(NewCredential {
        max_age_days: Some(0),
        ..api_key("Never", "pk_live_never_rotated_0001")
    })
    .unwrap();
    let export = v.export_config().unwrap();
    let (_d2, mut target) = vault();
    target.set_policy(policy("max_credential_age_days = 30\n"));
    assert!(managed(target.import_config(&export)).contains("max_credential_age_days"));
    assert!(
        target
            .list_credentials(&CredentialFilter::default())
            .unwrap()
            .is_empty()
    );
    let mut bad = export.clone();
    bad.credentials[0].max_age_days = Some(99_999);
    let (_d3, mut plain) = vault();
    assert!(matches!(plain.import_config(&bad), Err(Error::InvalidInput { .. })));
    assert!(plain.list_credentials(&CredentialFilter::default()).unwrap().is_empty());
}

#[test]
fn the_provider_of_the_integration_a_credential_serves_must_be_allowed_too() {
    let (_d, mut v) = vault();
    v.add_integration(NewIntegration {
        name: "Pleo".into(),
        provider: "pleo".into(),
        ..Default::default()
    })
    .unwrap();
    v.add_credential(api_key("Loose", "pk_live_loose_credential_01"))
        .unwrap();
    v.set_policy(policy("allowed_providers = [\"generic\"]\n"));
    let e = managed(v.add_credential_checked(
        NewCredential {
            integration: Some("Pleo".into()),
            provider: Some("generic".into()),
            ..api_key("Sneaky", "pk_live_sneaky_credential_1")
        },
        &AcceptsLive,
    ));
    assert!(e.contains("'pleo' is not allowed"), "{e}");
    let e = managed(v.update_credential(
        "Loose",
        CredentialPatch {
            integration: Some(Some("Pleo".into())),
            ..Default::default()
        },
    ));
    assert!(e.contains("'pleo' is not allowed"), "{e}");
    assert_eq!(v.get_credential("Loose").unwrap().summary.integration, None);
}

/// A provider that checks the secret, tells its tenant and expiry, and
/// (like an OAuth server rotating refresh tokens) issues a successor.
struct RenewsWithExpiry {
    tenant: &'static str,
    expires_at: time::OffsetDateTime,
}

impl Validator for RenewsWithExpiry {
    fn validate(&self, _: &Candidate<'_>) -> Result<Verdict, Rejection> {
        Ok(Verdict {
            tenant_id: Some(self.tenant.into()),
            expires_at: Some(self.expires_at),
            renewed: Some(
                SecretFields::single("api_key", SecretString::from("pk_live_successor_issued_01".to_owned())).into(),
            ),
            ..Verdict::default()
        })
    }
}

#[test]
fn a_credential_checked_before_saving_keeps_the_providers_successor_expiry_and_tenant_check() {
    let (_d, mut v) = vault();
    v.add_integration(NewIntegration {
        name: "Pleo".into(),
        provider: "pleo".into(),
        tenant_id: Some("acme".into()),
        ..Default::default()
    })
    .unwrap();
    let expires_at = time::macros::datetime!(2031-01-01 00:00 UTC);
    let e = v
        .add_credential_checked(
            NewCredential {
                integration: Some("Pleo".into()),
                ..api_key("Other tenant", "pk_live_other_tenant_00001")
            },
            &RenewsWithExpiry {
                tenant: "globex",
                expires_at,
            },
        )
        .unwrap_err();
    assert!(
        matches!(
            &e,
            Error::ValidationRejected {
                failure: Failure::WrongTenant { .. }
            }
        ),
        "{e:?}"
    );
    assert!(v.get_credential("Other tenant").is_err(), "nothing saved");

    let c = v
        .add_credential_checked(
            NewCredential {
                integration: Some("Pleo".into()),
                ..api_key("Checked", "pk_live_spent_by_the_check1")
            },
            &RenewsWithExpiry {
                tenant: "ACME",
                expires_at,
            },
        )
        .unwrap();
    assert_eq!(c.summary.expires_at, Some(expires_at));
    assert_eq!(c.summary.expiry_source, Some(ExpirySource::Provider));
    assert!(c.summary.last_validated_at.is_some());
    assert_eq!(secret_of(&mut v, "Checked"), "pk_live_successor_issued_01");
    assert!(
        c.summary.mask.as_deref().unwrap().ends_with("d_01"),
        "the mask is the successor's"
    );

    // Offline is not "validated".
    let c = v
        .add_credential_checked(api_key("Offline", "pk_live_offline_checked_01"), &OfflineValidator)
        .unwrap();
    assert_eq!(c.summary.last_validated_at, None);
}

fn tags(tags: &[&str], expected_revision: Option<u32>) -> CredentialPatch {
    CredentialPatch {
        tags: Some(tags.iter().map(|t| t.to_string()).collect()),
        expected_revision,
        ..Default::default()
    }
}

#[test]
fn an_edit_made_from_an_older_revision_is_refused_as_a_conflict_and_the_newer_change_is_kept() {
    let (_d, mut app) = vault();
    app.add_credential(api_key("k", "pk_live_0000000011111111")).unwrap();
    // The app's form and kw both start from revision 1.
    let seen = app.get_credential("k").unwrap().revision;
    assert_eq!(seen, 1);
    let mut kw = app.reopen().unwrap();
    let saved = kw.update_credential("k", tags(&["from-kw"], Some(seen))).unwrap();
    assert_eq!(saved.revision, 2);
    let digest = app.content_digest().unwrap();

    let err = app.update_credential("k", tags(&["from-app"], Some(seen))).unwrap_err();
    match &err {
        Error::Conflict { name, expected, actual } => {
            assert_eq!((name.as_str(), *expected, *actual), ("k", 1, Some(2)));
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(err.to_string().contains("Reload it"), "{err}");
    assert_eq!(
        app.content_digest().unwrap(),
        digest,
        "a refused edit writes nothing, not even audit"
    );
    assert_eq!(app.get_credential("k").unwrap().summary.tags, vec!["from-kw"]);

    // Made again from the current revision, it goes through.
    let again = app.update_credential("k", tags(&["from-app"], Some(2))).unwrap();
    assert_eq!(
        (again.revision, again.summary.tags.clone()),
        (3, vec!["from-app".to_string()])
    );
}

#[test]
fn using_or_checking_a_credential_keeps_its_revision_and_rotating_or_disabling_it_grows_it() {
    let (_d, mut v) = vault();
    v.add_credential(api_key("k", "pk_live_0000000011111111")).unwrap();
    secret_of(&mut v, "k");
    v.check_credential("k", &OfflineValidator).unwrap();
    assert_eq!(
        v.get_credential("k").unwrap().revision,
        1,
        "use and check are not edits"
    );
    let rotated = v
        .replace_secret(
            "k",
            SecretFields::single("api_key", SecretString::from("pk_live_2222222233333333".to_owned())),
            None,
            &OfflineValidator,
        )
        .unwrap();
    assert_eq!(rotated.revision, 2);
    // A form made before the rotation can no longer save.
    assert!(matches!(
        v.update_credential("k", tags(&["x"], Some(1))),
        Err(Error::Conflict { .. })
    ));
    let disabled = v.disable_credential("k", "leaked").unwrap();
    assert_eq!(disabled.revision, 3);
}

#[test]
fn an_edit_of_a_credential_deleted_meanwhile_says_it_was_deleted() {
    let (_d, mut v) = vault();
    v.add_credential(api_key("k", "pk_live_0000000011111111")).unwrap();
    let mut other = v.reopen().unwrap();
    let row = crate::store::credentials::get(v.raw_connection(), "k").unwrap();
    other.delete_credential("k", false).unwrap();
    let mut stale = row;
    let err = crate::store::credentials::upsert(v.raw_connection(), &mut stale).unwrap_err();
    // Written back, the stale row would bring the deleted credential back.
    assert!(matches!(&err, Error::Conflict { actual: None, .. }), "{err:?}");
    assert!(err.to_string().contains("deleted by someone else"), "{err}");
    assert!(matches!(v.get_credential("k"), Err(Error::NotFound { .. })));
}

#[test]
fn a_vault_kept_open_seals_under_the_data_key_another_program_rotated_to() {
    // The app keeps its vault open; kw rotates the data key meanwhile and
    // deletes the old one. What the app seals next must open, then and later.
    let (_d, mut app) = vault();
    app.add_credential(api_key("a", "pk_live_aaaaaaaaaaaaaaaa")).unwrap();
    let mut kw = app.reopen().unwrap();
    kw.rotate_data_key().unwrap();
    app.add_credential(api_key("b", "pk_live_bbbbbbbbbbbbbbbb")).unwrap();
    app.replace_secret(
        "a",
        SecretFields::single("api_key", SecretString::from("pk_live_cccccccccccccccc".to_owned())),
        None,
        &OfflineValidator,
    )
    .unwrap();
    kw.rotate_data_key().unwrap();
    let mut fresh = app.reopen().unwrap();
    assert_eq!(secret_of(&mut fresh, "a"), "pk_live_cccccccccccccccc");
    assert_eq!(secret_of(&mut fresh, "b"), "pk_live_bbbbbbbbbbbbbbbb");
    assert_eq!(fresh.data_key_count().unwrap(), 1);
}

fn import_plan(csv: &str) -> Vec<crate::migrate::Planned> {
    use crate::migrate::{ImportDefaults, SourceFormat, parse};
    parse(SourceFormat::Csv, csv.as_bytes(), &ImportDefaults::default())
        .unwrap()
        .credentials
}

#[test]
fn an_import_seals_every_secret_audits_each_credential_and_says_where_it_came_from() {
    let (_d, mut v) = vault();
    let n = v
        .import_credentials(
            import_plan("name,secret\nPleo payroll,pk_live_0123456789abcdef\nXledger,xl_live_abcdefghijklmnop\n"),
            "csv",
        )
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(secret_of(&mut v, "Pleo payroll"), "pk_live_0123456789abcdef");
    assert_eq!(secret_of(&mut v, "Xledger"), "xl_live_abcdefghijklmnop");
    let events = v.audit_events(&AuditFilter::default()).unwrap();
    let adds: Vec<_> = events.iter().filter(|e| e.action == "credential.add").collect();
    assert_eq!(adds.len(), 2);
    assert!(
        adds.iter().all(|e| e.detail.contains("imported from a csv file")),
        "{adds:?}"
    );
    let import = events.iter().find(|e| e.action == "credential.import").unwrap();
    assert_eq!(import.detail, "2 credentials from a csv file");
    // The sealed bytes in the database are not the secret.
    let mut stmt = v.raw_connection().prepare("SELECT sealed FROM secret_fields").unwrap();
    let blobs: Vec<Vec<u8>> = stmt.query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect();
    assert_eq!(blobs.len(), 2);
    // The data key's wear counts every sealed field, also in bulk.
    let uses: i64 = v
        .raw_connection()
        .query_row("SELECT use_count FROM data_keys WHERE is_current = 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(uses, 2);
    assert!(
        blobs
            .iter()
            .all(|b| !b.windows(8).any(|w| w == b"pk_live_" || w == b"xl_live_"))
    );
    drop(stmt);
    v.verify_audit().unwrap();
}

#[test]
fn an_import_reports_each_credential_checked_then_written_and_ends_at_the_total() {
    let (_d, mut v) = vault();
    let mut seen = Vec::new();
    v.import_credentials_reporting(
        import_plan(
            "name,secret\na,pk_live_0123456789abcdef\nb,pk_live_abcdefghijklmnop\nc,pk_live_zzzzzzzzzzzzzzzz\n",
        ),
        "csv",
        &mut |p| seen.push((p.done, p.total)),
    )
    .unwrap();
    assert_eq!(seen, [(0, 6), (1, 6), (2, 6), (3, 6), (4, 6), (5, 6), (6, 6)]);
}

#[test]
fn an_import_with_one_bad_entry_or_a_name_the_vault_has_writes_nothing_and_names_each_place() {
    let (_d, mut v) = vault();
    v.add_credential(api_key("Pleo payroll", "pk_live_existing0000"))
        .unwrap();
    let before = actions(&v).len();
    let err = v
        .import_credentials(
            import_plan(
                "name,secret,type,tags\nfresh one,pk_live_0123456789abcdef,,\nPleo payroll,pk_live_abcdefghijkl,,\nshort,abc,api-key,\nshifted,pk_live_zzzzzzzzzzzz,,MISPLACED$SECRET\n",
            ),
            "csv",
        )
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::ImportFile { .. }), "{err:?}");
    assert!(
        text.contains("line 3: the vault already has a credential named 'Pleo payroll'"),
        "{text}"
    );
    assert!(text.contains("line 4 ('short')"), "{text}");
    assert!(text.contains("line 5 ('shifted'): its tag is not valid"), "{text}");
    assert!(!text.to_lowercase().contains("misplaced"), "{text}");
    assert!(!text.contains("pk_live_") && !text.contains("abc,"), "{text}");
    assert!(matches!(v.get_credential("fresh one"), Err(Error::NotFound { .. })));
    assert_eq!(
        actions(&v).len(),
        before,
        "an audit event was written for a refused import"
    );
}

#[test]
fn bulk_writes_index_every_name_for_search_and_leave_the_search_trigger_in_place() {
    let (_d, mut v) = vault();
    v.add_credential(api_key("before import", "pk_live_0000000000000000"))
        .unwrap();
    v.import_credentials(
        import_plan("name,secret\nimported alpha,pk_live_1111111111111111\nimported beta,pk_live_2222222222222222\n"),
        "csv",
    )
    .unwrap();
    v.add_credentials_bulk(vec![api_key("bulk gamma", "pk_live_3333333333333333")])
        .unwrap();
    // Added one by one after the bulk writes: the trigger is back.
    v.add_credential(api_key("after import", "pk_live_4444444444444444"))
        .unwrap();
    let search = |v: &Vault, text: &str| -> Vec<String> {
        let filter = CredentialFilter {
            search: Some(text.into()),
            ..Default::default()
        };
        let mut names: Vec<String> = v
            .list_credentials(&filter)
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
        names.sort();
        names
    };
    assert_eq!(search(&v, "imported"), vec!["imported alpha", "imported beta"]);
    assert_eq!(search(&v, "gamma"), vec!["bulk gamma"]);
    assert_eq!(search(&v, "after"), vec!["after import"]);
    assert_eq!(search(&v, "before"), vec!["before import"]);
    // A refused import leaves indexing as it was.
    v.import_credentials(import_plan("name,secret,type\nbad one,abc,api-key\n"), "csv")
        .unwrap_err();
    v.add_credential(api_key("after refusal", "pk_live_5555555555555555"))
        .unwrap();
    assert_eq!(search(&v, "refusal"), vec!["after refusal"]);
    // FTS5's own check: the index matches its content table.
    v.raw_connection()
        .execute(
            "INSERT INTO credential_search(credential_search) VALUES ('integrity-check')",
            [],
        )
        .unwrap();
}

fn kinds(c: &Credential) -> Vec<ReminderKind> {
    c.reminders.iter().map(|r| r.kind).collect()
}

/// Issue 19: a credential's check list. A secret the provider has not
/// confirmed stays on it until a live check passes; a rotation by an admin
/// asks to revoke the replaced secret until marked done, and one the
/// provider made itself (a rotated refresh token) does not.
#[test]
fn the_check_list_follows_what_the_provider_has_confirmed_and_what_an_admin_replaced() {
    let (_d, mut v) = vault();
    // Saved without checking: on the list, not validated.
    let c = v.add_credential(api_key("Plain", "pk_live_plainplainplain01")).unwrap();
    assert_eq!(kinds(&c), [ReminderKind::Unchecked]);
    assert!(c.summary.last_validated_at.is_none());
    // A live check confirms it.
    v.check_credential("Plain", &AcceptsLive).unwrap();
    assert!(kinds(&v.get_credential("Plain").unwrap()).is_empty());
    // An offline rotation: not validated, back on the list, and the
    // replaced secret is to be revoked.
    let c = v
        .replace_secret(
            "Plain",
            SecretFields::single("api_key", SecretString::from("pk_live_plainplainplain02".to_owned())),
            None,
            &OfflineValidator,
        )
        .unwrap();
    assert!(c.summary.last_validated_at.is_none(), "offline is not validated");
    assert_eq!(kinds(&c), [ReminderKind::RevokeOld, ReminderKind::Unchecked]);
    let revoke = &c.reminders[0].detail;
    assert!(
        revoke.contains("version 1") && revoke.contains("••••••••in01"),
        "{revoke}"
    );
    assert!(!revoke.contains("plainplain"), "{revoke}");
    // Unchecked cannot be waved away; the revocation can, audited.
    assert!(v.dismiss_reminder("Plain", ReminderKind::Unchecked).is_err());
    let events = v.audit_count().unwrap();
    let c = v.dismiss_reminder("Plain", ReminderKind::RevokeOld).unwrap();
    assert_eq!(kinds(&c), [ReminderKind::Unchecked]);
    assert_eq!(v.audit_count().unwrap(), events + 1);
    assert!(
        v.dismiss_reminder("Plain", ReminderKind::RevokeOld).is_err(),
        "nothing left to dismiss"
    );

    // The provider rotated the secret during a check (a refresh token):
    // the spent one is gone at the provider, nothing to revoke.
    let expires_at = time::OffsetDateTime::now_utc() + time::Duration::days(60);
    let c = v
        .add_credential_checked(
            api_key("Renewing", "pk_live_renewingrenew001"),
            &RenewsWithExpiry {
                tenant: "ACME",
                expires_at,
            },
        )
        .unwrap();
    assert!(kinds(&c).is_empty(), "checked live before saving");
    v.check_credential(
        "Renewing",
        &RenewsWithExpiry {
            tenant: "ACME",
            expires_at,
        },
    )
    .unwrap();
    let c = v.get_credential("Renewing").unwrap();
    assert_eq!(c.summary.current_version, 2, "the provider's successor was stored");
    assert!(kinds(&c).is_empty(), "{:?}", c.reminders);
}

/// Moving a checked credential to another integration, or pointing it at
/// another endpoint, means the provider never saw it there.
#[test]
fn a_new_integration_or_endpoint_puts_a_checked_credential_back_on_the_list() {
    let (_d, mut v) = vault();
    v.add_integration(NewIntegration {
        name: "Other".into(),
        provider: "custom".into(),
        ..Default::default()
    })
    .unwrap();
    let mut new = api_key("Moved", "pk_live_movedmovedmoved01");
    new.config
        .insert("check_url".into(), "https://api.example.com/status".into());
    v.add_credential_checked(new, &AcceptsLive).unwrap();
    assert!(kinds(&v.get_credential("Moved").unwrap()).is_empty());
    // Notes are not an endpoint.
    let c = v
        .update_credential(
            "Moved",
            CredentialPatch {
                notes: Some("n".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(kinds(&c).is_empty() && c.summary.last_validated_at.is_some());
    let mut config = c.config.clone();
    config.insert("check_url".into(), "https://elsewhere.example.com/status".into());
    let c = v
        .update_credential(
            "Moved",
            CredentialPatch {
                config: Some(config),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(kinds(&c), [ReminderKind::Unchecked]);
    assert!(c.summary.last_validated_at.is_none());
    v.check_credential("Moved", &AcceptsLive).unwrap();
    let c = v
        .update_credential(
            "Moved",
            CredentialPatch {
                integration: Some(Some("Other".into())),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(kinds(&c), [ReminderKind::Unchecked]);
}

/// Answers like a provider that echoes what it was sent, in every text a
/// verdict or a failure has, raw, base64, percent- and JSON-encoded.
struct Echo {
    accept: bool,
}

fn echoed(secret: &str) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(secret);
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("client:{secret}"));
    let json = serde_json::to_string(secret).unwrap();
    let percent: String = secret
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("raw {secret} b64 {b64} basic {basic} json {json} form {percent}")
}

impl Validator for Echo {
    fn validate(&self, c: &Candidate<'_>) -> Result<Verdict, Rejection> {
        let text = echoed(c.secrets.get("api_key").unwrap().expose_secret());
        if self.accept {
            Ok(Verdict {
                environment: Some(text.clone()),
                scopes: vec![text.clone()],
                issuer: Some(text.clone()),
                audience: vec![text.clone()],
                application: Some(text.clone()),
                auth_method: Some(text),
                ..Verdict::default()
            })
        } else {
            Err(Rejection::new(Failure::InvalidCredential { detail: text }))
        }
    }
}

/// Every text value in every table of the vault file.
fn every_stored_text(v: &Vault) -> String {
    let conn = v.raw_connection();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut all = String::new();
    for t in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
        let n = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..n {
                if let Ok(rusqlite::types::ValueRef::Text(t)) = row.get_ref(i) {
                    all.push_str(&String::from_utf8_lossy(t));
                    all.push('\n');
                }
            }
        }
    }
    all
}

/// Issue 20, finding 2: a provider that echoes the secret gets it into no
/// answer, error, check record or audit event (the audit log is
/// tamper-evident: a secret there could never be removed).
#[test]
fn a_provider_echoing_the_secret_in_every_encoding_gets_it_into_nothing_shown_or_stored() {
    let (_d, mut v) = vault();
    let old = "pk_live_echo_old_0123456789/+=";
    let new = "pk_live_echo_new_9876543210/+=";
    v.add_credential(api_key("a", old)).unwrap();
    let forms = |s: &str| -> Vec<String> {
        use base64::Engine;
        let percent: String = s
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        vec![
            s.to_owned(),
            base64::engine::general_purpose::STANDARD.encode(s),
            base64::engine::general_purpose::STANDARD.encode(format!("client:{s}")),
            serde_json::to_string(s).unwrap(),
            percent,
        ]
    };
    let report = v.check_credential("a", &Echo { accept: true }).unwrap();
    let shown = format!("{report:?}");
    let refused = v
        .replace_secret(
            "a",
            SecretFields::single("api_key", SecretString::from(new.to_owned())),
            None,
            &Echo { accept: false },
        )
        .unwrap_err()
        .to_string();
    let failed_check = v.check_credential("a", &Echo { accept: false });
    let failed = format!("{failed_check:?}");
    let accepted = v
        .replace_secret(
            "a",
            SecretFields::single("api_key", SecretString::from(new.to_owned())),
            None,
            &Echo { accept: true },
        )
        .unwrap();
    let audit = format!("{:?}", v.audit_events(&AuditFilter::default()).unwrap());
    let stored = every_stored_text(&v);
    for (what, text) in [
        ("the check's answer", &shown),
        ("the refused rotation's error", &refused),
        ("the failed check", &failed),
        ("the rotated credential", &format!("{accepted:?}")),
        ("the audit log", &audit),
        ("the vault's stored text", &stored),
    ] {
        for secret in [old, new] {
            for form in forms(secret) {
                assert!(!text.contains(&form), "{what} holds {form}: {text}");
            }
        }
    }
    assert!(shown.contains(crate::redact::MASK), "{shown}");
}

/// The ways round the rollback anchor: deleting it (a vault whose anchor
/// was set up says so, and is refused), writing rubbish in it (refused,
/// and accepting writes a new one), and putting back a copy with another
/// history at the anchor's own event number (refused as forked). Each is
/// cleared only by accepting the database on purpose, which is audited.
#[test]
fn a_deleted_garbled_or_forked_anchor_is_refused_until_the_database_is_accepted_on_purpose() {
    let (d, mut v) = vault();
    let dir = d.path().join("v");
    let id = v.vault_id().to_string();
    v.add_credential(api_key("a", "pk_live_anchor_0123456789")).unwrap();
    drop(v);
    let open = || Vault::open(&dir, &KeySource::Keychain, actor());
    let accept = || Vault::open_accepting_older(&dir, &KeySource::Keychain, actor()).unwrap();

    crate::keychain::delete(&format!("anchor:{id}")).unwrap();
    assert!(matches!(open(), Err(Error::AnchorMissing { .. })), "{:?}", open().err());
    let (_, what) = accept();
    assert!(what.unwrap().contains("was gone"));
    assert!(open().is_ok());

    crate::keychain::store_anchor(&id, "rubbish").unwrap();
    assert!(matches!(open(), Err(Error::AnchorUnreadable { .. })));
    accept();
    assert!(open().is_ok());

    // Two histories with the same event numbers: X, then Y made from the
    // vault, X put back and accepted (anchor on X's next event), Y put back.
    let db = dir.join("vault.db");
    let x = std::fs::read(&db).unwrap();
    open()
        .unwrap()
        .add_credential(api_key("b", "pk_live_anchor_1111111111"))
        .unwrap();
    let y = std::fs::read(&db).unwrap();
    std::fs::write(&db, &x).unwrap();
    assert!(matches!(open(), Err(Error::RolledBack { .. })));
    accept();
    std::fs::write(&db, &y).unwrap();
    assert!(matches!(open(), Err(Error::Forked { .. })), "{:?}", open().err());
    let refused = open().err().unwrap();
    let err = refused.to_string();
    assert!(
        err.contains("FAILED at event") && refused.hint() == Some(crate::Hint::AcceptOlder),
        "{err}"
    );
    let (mut v, what) = accept();
    assert!(what.unwrap().contains("another history"));
    let kinds = actions(&v);
    // Y's history: its own two acceptances (deleted, rubbish), then this one.
    assert_eq!(
        kinds.iter().filter(|a| *a == "vault.accept_older").count(),
        3,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.last().map(String::as_str),
        Some("vault.accept_older"),
        "{kinds:?}"
    );
    assert!(v.verify_audit().unwrap().ok);
    v.add_credential(api_key("c", "pk_live_anchor_2222222222")).unwrap();
}

/// An older copy put back with a rotation interrupted long ago: nothing is
/// written to it before the event that accepts it, so the roll-back of that
/// rotation comes after `vault.accept_older` in its history.
#[test]
fn an_accepted_older_database_is_written_only_after_the_event_that_accepts_it() {
    let (d, mut v) = vault();
    let dir = d.path().join("v");
    v.add_credential(api_key("k", "pk_live_olderdb_0123456789")).unwrap();
    let id = v.get_credential("k").unwrap().summary.id;
    {
        let tx = v.conn.transaction().unwrap();
        crate::store::credentials::insert_version(&tx, id, 2, VersionState::Pending, &BTreeMap::new()).unwrap();
        tx.execute(
            "UPDATE credential_versions SET created_at = '2020-01-01T00:00:00.000000Z' WHERE version = 2",
            [],
        )
        .unwrap();
        tx.commit().unwrap();
    }
    drop(v);
    let db = dir.join("vault.db");
    let older = std::fs::read(&db).unwrap();
    // Opening rolls the rotation back (an audited write); then the older
    // copy, with the pending version, is put back.
    drop(Vault::open(&dir, &KeySource::Keychain, actor()).unwrap());
    std::fs::write(&db, &older).unwrap();
    assert!(matches!(
        Vault::open(&dir, &KeySource::Keychain, actor()),
        Err(Error::RolledBack { .. })
    ));
    let (v, what) = Vault::open_accepting_older(&dir, &KeySource::Keychain, actor()).unwrap();
    assert!(what.is_some());
    let kinds = actions(&v);
    let accepted = kinds.iter().position(|a| a == "vault.accept_older").unwrap();
    let rolled_back = kinds.iter().rposition(|a| a == "credential.rotate").unwrap();
    assert!(accepted < rolled_back, "{kinds:?}");
    assert_eq!(v.get_credential("k").unwrap().versions.len(), 1);
    assert!(v.verify_audit().unwrap().ok);
}

#[test]
fn a_change_without_its_audit_event_is_refused_and_nothing_of_it_is_written() {
    let (_d, mut v) = vault();
    v.add_credential(api_key("a", "pk_live_writetx_1111111111")).unwrap();
    let events = v.audit_count().unwrap();
    let notes = |v: &Vault| -> Option<String> {
        v.conn
            .query_row("SELECT notes FROM credentials WHERE name = 'a'", [], |r| r.get(0))
            .unwrap()
    };
    let refused = v
        .write(|w| {
            w.execute("UPDATE credentials SET notes = 'unaudited' WHERE name = 'a'", [])?;
            Ok(())
        })
        .unwrap_err();
    assert!(matches!(refused, Error::Audit(_)), "{refused:?}");
    assert_eq!(notes(&v), None, "the unaudited change was rolled back");
    assert_eq!(v.audit_count().unwrap(), events);

    // With its event the same change commits; a write that changes nothing
    // needs none.
    v.write(|w| {
        w.execute("UPDATE credentials SET notes = 'audited' WHERE name = 'a'", [])?;
        w.audit(super::ev(
            "test.change",
            "credential",
            None,
            Some("a"),
            crate::store::audit::Outcome::Success,
            "",
        ))
    })
    .unwrap();
    assert_eq!(notes(&v).as_deref(), Some("audited"));
    assert_eq!(v.audit_count().unwrap(), events + 1);
    v.write(|w| {
        w.execute("UPDATE credentials SET notes = 'x' WHERE name = 'nobody'", [])?;
        Ok(())
    })
    .unwrap();
    assert_eq!(v.audit_count().unwrap(), events + 1);
}

/// An OAuth 2.0 credential in "reconnection required", as Connect finds it.
fn oauth_needing_reconnect(v: &mut Vault) -> uuid::Uuid {
    let c = v
        .add_credential(NewCredential {
            name: "pleo-oauth".into(),
            kind: Some(CredentialKind::OAuth2),
            config: [
                (
                    "authorize_url".to_owned(),
                    "https://auth.pleo.io/oauth/authorize".to_owned(),
                ),
                ("token_url".to_owned(), "https://auth.pleo.io/oauth/token".to_owned()),
                ("client_id".to_owned(), "kw-client".to_owned()),
                ("grant_type".to_owned(), "refresh_token".to_owned()),
            ]
            .into(),
            secrets: {
                let mut s = SecretFields::new();
                s.insert(
                    "client_secret",
                    SecretString::from("connect-client-secret-1a2b3c".to_owned()),
                );
                s.insert(
                    "refresh_token",
                    SecretString::from("rt-revoked-at-the-provider-0001".to_owned()),
                );
                s
            },
            ..Default::default()
        })
        .unwrap();
    let failure = crate::Failure::InvalidCredential {
        detail: "invalid_grant".into(),
    };
    assert_eq!(v.record_refresh_failure("pleo-oauth", &failure).unwrap(), Status::Error);
    c.summary.id
}

fn connected(refresh: &str, refresh_expires_at: Option<time::OffsetDateTime>) -> crate::Connected {
    crate::Connected {
        refresh_token: SecretString::from(refresh.to_owned()),
        refresh_expires_at,
        access_token: SecretString::from("at-connect-0123456789abcdef".to_owned()),
        access_expires_at: Some(time::OffsetDateTime::now_utc() + time::Duration::hours(1)),
        scopes: vec!["export:read".into()],
        config: BTreeMap::new(),
    }
}

#[test]
fn connect_stores_the_refresh_token_as_a_new_version_and_the_credential_is_active_again_with_its_id() {
    let (_d, mut v) = vault();
    let id = oauth_needing_reconnect(&mut v);
    let inputs = v.connect_inputs("pleo-oauth").unwrap();
    assert_eq!(
        inputs.secrets.get("client_secret").unwrap().expose_secret(),
        "connect-client-secret-1a2b3c"
    );
    let until = time::OffsetDateTime::now_utc() + time::Duration::days(60);
    let c = v
        .store_connected(
            "pleo-oauth",
            inputs.version,
            connected("rt-fresh-from-connect-0002", Some(until)),
        )
        .unwrap();
    assert_eq!(c.summary.id, id);
    assert_eq!(c.summary.status, Status::Active);
    assert_eq!(c.summary.current_version, inputs.version + 1);
    assert_eq!(c.config.get("grant_type").map(String::as_str), Some("refresh_token"));
    assert_eq!(
        c.summary.expires_at.map(|t| t.unix_timestamp()),
        Some(until.unix_timestamp())
    );
    let secrets = v.use_secret("pleo-oauth", "test").unwrap();
    assert_eq!(
        secrets.get("refresh_token").unwrap().expose_secret(),
        "rt-fresh-from-connect-0002"
    );
    assert_eq!(
        secrets.get("client_secret").unwrap().expose_secret(),
        "connect-client-secret-1a2b3c"
    );
    let token = v
        .cached_access_token("pleo-oauth", time::Duration::minutes(5), "test")
        .unwrap()
        .unwrap();
    assert_eq!(token.token.expose_secret(), "at-connect-0123456789abcdef");
    assert!(token.expires_at.is_some());
    let events = v.audit_events(&AuditFilter::default()).unwrap();
    let connect = events.iter().find(|e| e.action == "credential.connect").unwrap();
    assert!(connect.detail.contains("export:read"), "{}", connect.detail);
    for e in &events {
        for secret in ["rt-fresh", "at-connect", "connect-client-secret", "rt-revoked"] {
            assert!(!e.detail.contains(secret), "{}: {}", e.action, e.detail);
        }
    }
    assert!(v.verify_audit().unwrap().ok);
}

#[test]
fn a_connect_for_a_version_rotated_meanwhile_writes_nothing() {
    let (_d, mut v) = vault();
    oauth_needing_reconnect(&mut v);
    let inputs = v.connect_inputs("pleo-oauth").unwrap();
    let before = v.get_credential("pleo-oauth").unwrap();
    let events = v.audit_count().unwrap();
    let err = v
        .store_connected("pleo-oauth", inputs.version + 7, connected("rt-late-0003", None))
        .unwrap_err();
    assert!(err.to_string().contains("connect again"), "{err}");
    let after = v.get_credential("pleo-oauth").unwrap();
    assert_eq!(after.summary.current_version, before.summary.current_version);
    assert_eq!(after.summary.status, Status::Error);
    assert_eq!(v.audit_count().unwrap(), events);
}

#[test]
fn only_an_oauth_credential_connects_and_not_while_disabled() {
    let (_d, mut v) = vault();
    v.add_credential(api_key("k", "pk_live_connect_0123456789")).unwrap();
    let err = v.connect_inputs("k").err().unwrap();
    assert!(err.to_string().contains("not an OAuth 2.0 credential"), "{err}");
    oauth_needing_reconnect(&mut v);
    v.disable_credential("pleo-oauth", "leaked").unwrap();
    assert!(matches!(
        v.connect_inputs("pleo-oauth"),
        Err(Error::CredentialDisabled { .. })
    ));
}

#[test]
fn an_oauth_job_gets_an_access_token_variable_and_long_lived_secrets_only_when_mapped_and_allowed() {
    let (_d, mut v) = vault();
    v.add_integration(NewIntegration {
        name: "Pleo".into(),
        provider: "pleo".into(),
        ..Default::default()
    })
    .unwrap();
    oauth_needing_reconnect(&mut v);
    v.update_credential(
        "pleo-oauth",
        CredentialPatch {
            integration: Some(Some("Pleo".into())),
            ..Default::default()
        },
    )
    .unwrap();
    let env = v.run_environment("Pleo", None, "sync").unwrap();
    assert_eq!(env.access_token_var.as_deref(), Some("PLEO_ACCESS_TOKEN"));
    assert!(env.vars.is_empty(), "no client secret, no refresh token");

    // Mapped by name, the client secret goes too; the refresh token not.
    v.update_integration(
        "Pleo",
        IntegrationPatch {
            env_names: Some([("client_secret".to_owned(), "PLEO_CLIENT_SECRET".to_owned())].into()),
            ..Default::default()
        },
    )
    .unwrap();
    let env = v.run_environment("Pleo", None, "sync").unwrap();
    let vars: Vec<&str> = env.vars.iter().map(|(_, var, _)| var.as_str()).collect();
    assert_eq!(vars, ["PLEO_CLIENT_SECRET"]);

    // The policy can forbid it.
    v.set_policy(policy("oauth_secrets_to_workflows = false\n"));
    let refused = managed(v.run_environment("Pleo", None, "sync").map(|e| e.credential));
    assert!(refused.contains("oauth_secrets_to_workflows"), "{refused}");
}

#[test]
fn a_credential_disabled_while_its_authorization_ran_stays_disabled_and_nothing_is_stored() {
    let (_d, mut v) = vault();
    oauth_needing_reconnect(&mut v);
    let inputs = v.connect_inputs("pleo-oauth").unwrap();
    v.disable_credential("pleo-oauth", "client secret leaked").unwrap();
    let err = v
        .store_connected("pleo-oauth", inputs.version, connected("rt-after-disable-0004", None))
        .unwrap_err();
    assert!(matches!(err, Error::CredentialDisabled { .. }), "{err:?}");
    let c = v.get_credential("pleo-oauth").unwrap();
    assert_eq!(c.summary.status, Status::Disabled);
    assert_eq!(c.summary.current_version, inputs.version);
}

/// The keychain anchor is moved beside the commits (a thread of the
/// vault's, so an audited use does not wait for the Secret Service), and
/// once the vault is closed it stands on the last head: a copy from before
/// the last change, put back, is refused as rolled back.
#[test]
fn the_keychain_anchor_holds_the_last_head_once_the_vaults_handles_are_closed() {
    let (d, mut v) = vault();
    let dir = d.path().join("v");
    let id = v.vault_id().to_string();
    v.add_credential(api_key("first", "pk_live_anchor_3333333333")).unwrap();
    drop(v);
    let db = dir.join("vault.db");
    let before_last = std::fs::read(&db).unwrap();
    // Two handles of one process (the app's window and its verifier's)
    // share one writer: whichever closes last, the anchor is on the head.
    let mut v = Vault::open(&dir, &KeySource::Keychain, actor()).unwrap();
    let mut other = v.reopen().unwrap();
    for i in 0..30 {
        v.use_secret("first", &format!("use {i}")).unwrap();
        other.use_secret("first", &format!("other use {i}")).unwrap();
    }
    drop(other);
    let head = crate::anchor::head(v.conn()).unwrap().unwrap();
    drop(v);
    let anchor = crate::keychain::read_for_tests(&format!("anchor:{id}")).unwrap();
    assert!(
        anchor.starts_with(&format!("keywarden-anchor v1 {} ", head.seq)),
        "the anchor stands on the last event ({}): {anchor}",
        head.seq
    );
    std::fs::write(&db, &before_last).unwrap();
    let reopened = Vault::open(&dir, &KeySource::Keychain, actor());
    assert!(
        matches!(reopened, Err(Error::RolledBack { .. })),
        "{:?}",
        reopened.err()
    );
}
