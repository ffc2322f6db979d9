use std::sync::Arc;

use time::Duration;

use super::*;
use crate::clock::{Clock, ManualClock};
use crate::store::audit::Actor;
use crate::{KeySource, Vault};

fn vault() -> (tempfile::TempDir, Vault, ManualClock) {
    let dir = tempfile::tempdir().unwrap();
    let actor = Actor {
        profile: "alice".into(),
        os_user: "alice".into(),
        host: "ws-9".into(),
    };
    let (mut v, _) = Vault::create(&dir.path().join("v"), KeySource::Keychain, actor).unwrap();
    let clock = ManualClock::at(time::macros::datetime!(2026-03-01 09:00 UTC));
    v.set_clock(Arc::new(clock.clone()));
    (dir, v, clock)
}

fn issue(v: &mut Vault, app: &str, scopes: &[&str]) -> IssuedKey {
    v.issue_partner_key(NewPartnerKey {
        application: app.into(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    })
    .unwrap()
}

#[test]
fn an_issued_key_verifies_with_its_scopes_and_the_store_never_holds_the_plaintext() {
    let (dir, mut v, clock) = vault();
    let issued = issue(&mut v, "adyen-payments", &["invoices:read", "payments:write"]);
    let key = issued.plaintext.to_string();
    assert!(key.starts_with("kwp_live_") && key.contains(&issued.key.id));
    let index = v.key_index().unwrap();
    let now = clock.now();
    match index.verify(&key, now, Some("payments:write")) {
        Verified::Valid {
            application, scopes, ..
        } => {
            assert_eq!(application, "adyen-payments");
            assert_eq!(scopes, ["invoices:read", "payments:write"]);
        }
        other => panic!("{other:?}"),
    }
    // Scopes are enforced: write does not include read of another resource.
    assert_eq!(
        index.verify(&key, now, Some("payments:read")),
        Verified::InsufficientScope {
            required: "payments:read".into()
        }
    );
    // Canary, inside the database (decrypted): no column of any table
    // holds the key or its secret part; only the 32-byte HMAC.
    let secret_part = &key[key.len() - 49..key.len() - 6];
    let tables: Vec<String> = v
        .conn()
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    for t in tables {
        let mut stmt = v.conn().prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
        let cols = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(r) = rows.next().unwrap() {
            for c in 0..cols {
                let bytes: Vec<u8> = match r.get_ref(c).unwrap() {
                    rusqlite::types::ValueRef::Text(b) | rusqlite::types::ValueRef::Blob(b) => b.to_vec(),
                    _ => continue,
                };
                assert!(
                    !bytes.windows(secret_part.len()).any(|w| w == secret_part.as_bytes()),
                    "table {t} holds the key"
                );
            }
        }
    }
    // And nowhere in the vault's files.
    drop(v);
    for entry in walk(dir.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !bytes.windows(secret_part.len()).any(|w| w == secret_part.as_bytes()),
            "{} holds the key",
            entry.display()
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn unknown_revoked_expired_and_altered_keys_get_the_same_answer() {
    let (_d, mut v, clock) = vault();
    let a = issue(&mut v, "crm", &["contacts:read"]);
    let b = issue(&mut v, "crm", &["contacts:read"]);
    v.revoke_partner_key(&b.key.id, "leaked in a support ticket").unwrap();
    let mut index = v.key_index().unwrap();
    let now = clock.now();
    let unknown = format::new_key(KeyEnv::Live, &format::new_id());
    let mut altered = a.plaintext.to_string().into_bytes();
    altered[20] = if altered[20] == b'a' { b'b' } else { b'a' };
    let altered = String::from_utf8(altered).unwrap();
    for k in [unknown.as_str(), b.plaintext.as_str(), altered.as_str(), "not a key"] {
        assert_eq!(index.verify(k, now, None), Verified::Invalid);
    }
    assert!(matches!(index.verify(&a.plaintext, now, None), Verified::Valid { .. }));
    // Revocation reaches an index already built, through the change log.
    v.revoke_partner_key(&a.key.id, "partner offboarded").unwrap();
    assert_eq!(v.refresh_key_index(&mut index).unwrap(), 1);
    assert_eq!(index.verify(&a.plaintext, now, None), Verified::Invalid);
    let audit = v
        .audit_events(&crate::AuditFilter {
            action: Some("partner_key.revoke".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(audit.len(), 2);
    assert!(audit.iter().all(|e| e.host == "ws-9" && e.profile == "alice"));
}

#[test]
fn in_grace_both_keys_verify_and_after_it_only_the_new_one() {
    let (_d, mut v, clock) = vault();
    let old = issue(&mut v, "erp", &["ledger:read"]);
    let new = v.rotate_partner_key(&old.key.id, Some(7)).unwrap();
    assert_eq!(new.key.replaces.as_deref(), Some(old.key.id.as_str()));
    assert_eq!(v.partner_key(&old.key.id).unwrap().state, KeyState::InGrace);
    let index = v.key_index().unwrap();
    let t = clock.now() + Duration::days(6);
    assert!(matches!(index.verify(&old.plaintext, t, None), Verified::Valid { .. }));
    assert!(matches!(index.verify(&new.plaintext, t, None), Verified::Valid { .. }));
    let t = clock.now() + Duration::days(7);
    assert_eq!(index.verify(&old.plaintext, t, None), Verified::Invalid);
    assert!(matches!(index.verify(&new.plaintext, t, None), Verified::Valid { .. }));
    clock.advance(Duration::days(8));
    assert_eq!(v.partner_key(&old.key.id).unwrap().state, KeyState::Retired);
    assert!(
        v.rotate_partner_key(&old.key.id, None).is_err(),
        "a replaced key is not rotated again"
    );
}

#[test]
fn the_envelope_verifies_with_the_public_key_and_fails_altered_or_expired() {
    let (_d, mut v, clock) = vault();
    let issued = issue(&mut v, "adyen-payments", &["payments:write"]);
    let public = v.signing_public_key();
    let payload = open_envelope(&issued.envelope, &public, clock.now()).unwrap();
    assert_eq!(payload.key, issued.plaintext.as_str());
    assert_eq!(payload.key_id, issued.key.id);
    // Altered payload, altered signature, another vault's key: refused.
    let mut altered = issued.envelope.clone();
    altered
        .payload
        .replace_range(10..11, if &altered.payload[10..11] == "A" { "B" } else { "A" });
    assert!(open_envelope(&altered, &public, clock.now()).is_err());
    let mut resigned = issued.envelope.clone();
    resigned
        .signature
        .replace_range(5..6, if &resigned.signature[5..6] == "A" { "B" } else { "A" });
    assert!(open_envelope(&resigned, &public, clock.now()).is_err());
    let (_d2, other, _) = vault();
    assert!(open_envelope(&issued.envelope, &other.signing_public_key(), clock.now()).is_err());
    // 15 minutes later it must not be honoured.
    let err = open_envelope(&issued.envelope, &public, clock.now() + Duration::minutes(15)).unwrap_err();
    assert!(err.to_string().contains("expired"), "{err}");
    // The revocation list is signed the same way.
    v.revoke_partner_key(&issued.key.id, "test").unwrap();
    let list = v.signed_revocation_list().unwrap();
    let bytes = signing::verify(&list, &public).unwrap();
    assert!(String::from_utf8(bytes).unwrap().contains(&issued.key.id));
}

#[test]
fn scopes_must_be_named_and_narrow() {
    let (_d, mut v, _c) = vault();
    for scopes in [
        vec![],
        vec!["*".to_owned()],
        vec!["invoices:admin".to_owned()],
        vec!["Invoices:read".to_owned()],
    ] {
        let err = v
            .issue_partner_key(NewPartnerKey {
                application: "crm".into(),
                scopes,
                ..Default::default()
            })
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
    }
    assert!(v.partner_keys().unwrap().is_empty(), "nothing half-written");
}

fn usage(id: &str, ok: u64, failed: u64, sources: &[&str]) -> (String, u64, u64, Vec<String>) {
    (
        id.to_owned(),
        ok,
        failed,
        sources.iter().map(|s| s.to_string()).collect(),
    )
}

#[test]
fn a_new_source_a_failure_burst_and_a_usage_spike_each_raise_exactly_one_alert() {
    let (_d, mut v, clock) = vault();
    let key = issue(&mut v, "adyen-payments", &["payments:write"]).key.id;
    let kinds = |n: &[crate::Notice]| n.iter().map(|n| n.kind).collect::<Vec<_>>();

    // The first address is the baseline; a second one is an anomaly, once.
    assert!(
        v.record_key_usage(&[usage(&key, 5, 0, &["10.0.0.1"])])
            .unwrap()
            .is_empty()
    );
    let raised = v
        .record_key_usage(&[usage(&key, 1, 0, &["10.0.0.1", "203.0.113.9"])])
        .unwrap();
    assert_eq!(kinds(&raised), [crate::NoticeKind::NewSource]);
    assert!(raised[0].summary.contains("203.0.113.9"));
    assert_eq!(raised[0].partner_key_id.as_deref(), Some(key.as_str()));
    assert!(
        v.record_key_usage(&[usage(&key, 1, 0, &["203.0.113.9"])])
            .unwrap()
            .is_empty()
    );

    // 20 failures within the hour: one alert, however many more follow.
    let mut burst = Vec::new();
    for _ in 0..6 {
        burst.extend(v.record_key_usage(&[usage(&key, 0, 5, &[])]).unwrap());
    }
    assert_eq!(kinds(&burst), [crate::NoticeKind::FailureBurst]);

    // A baseline of ~10 uses an hour for 3 hours, then 500 in one hour.
    clock.advance(Duration::hours(1));
    for _ in 0..3 {
        assert!(v.record_key_usage(&[usage(&key, 10, 0, &[])]).unwrap().is_empty());
        clock.advance(Duration::hours(1));
    }
    let mut spike = Vec::new();
    for _ in 0..5 {
        spike.extend(v.record_key_usage(&[usage(&key, 100, 0, &[])]).unwrap());
    }
    assert_eq!(kinds(&spike), [crate::NoticeKind::UsageSpike]);

    // All three are in the notification centre, audited.
    assert_eq!(v.notices(false).unwrap().len(), 3);
    let audited = v
        .audit_events(&crate::AuditFilter {
            action: Some("partner_key.anomaly".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(audited.len(), 3);
    let k = v.partner_key(&key).unwrap();
    assert_eq!(k.use_count, 5 + 1 + 1 + 30 + 500);
}

#[test]
fn the_background_job_rotates_a_key_at_its_policy_age_once_and_the_successor_is_delivered_once() {
    let (_d, mut v, clock) = vault();
    let old = v
        .issue_partner_key(NewPartnerKey {
            application: "erp".into(),
            scopes: vec!["ledger:read".into()],
            max_age_days: Some(30),
            grace_days: Some(5),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        v.next_partner_key_rotation().unwrap(),
        Some(clock.now() + Duration::days(30))
    );
    clock.advance(Duration::days(29));
    assert!(v.rotate_due_partner_keys().unwrap().is_empty());
    clock.advance(Duration::days(2));
    let rotated = v.rotate_due_partner_keys().unwrap();
    assert_eq!(rotated.len(), 1);
    let new_id = rotated[0].key.id.clone();
    assert_eq!(
        rotated[0].notice.as_ref().map(|n| n.kind),
        Some(crate::NoticeKind::KeyRotated)
    );
    assert!(v.rotate_due_partner_keys().unwrap().is_empty(), "once");
    assert_eq!(v.partner_key(&old.key.id).unwrap().state, KeyState::InGrace);
    let notices = v.notices(false).unwrap();
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].kind, crate::NoticeKind::KeyRotated);
    assert!(v.partner_key_awaits_delivery(&new_id).unwrap());
    let delivered = v.take_key_delivery(&new_id).unwrap();
    let index = v.key_index().unwrap();
    assert!(matches!(
        index.verify(&delivered.plaintext, clock.now(), None),
        Verified::Valid { .. }
    ));
    assert!(
        matches!(index.verify(&old.plaintext, clock.now(), None), Verified::Valid { .. }),
        "grace"
    );
    assert!(open_envelope(&delivered.envelope, &v.signing_public_key(), clock.now()).is_ok());
    assert!(v.take_key_delivery(&new_id).is_err(), "shown once");
    assert!(!v.partner_key_awaits_delivery(&new_id).unwrap());
}

/// A data-key rotation deletes every older key: the successor's sealed
/// plaintext waiting for delivery is re-sealed with the secret fields, or
/// it could never be delivered.
#[test]
fn a_key_awaiting_delivery_survives_a_data_key_rotation_and_the_integrity_check_opens_it() {
    let (_d, mut v, clock) = vault();
    issue(&mut v, "bank", &["ledger:read"]);
    v.issue_partner_key(NewPartnerKey {
        application: "erp".into(),
        scopes: vec!["ledger:read".into()],
        max_age_days: Some(30),
        ..Default::default()
    })
    .unwrap();
    clock.advance(Duration::days(31));
    let rotated = v.rotate_due_partner_keys().unwrap();
    let new_id = rotated[0].key.id.clone();
    let before = v.check_integrity().unwrap();
    assert!(before.ok, "{:?}", before.problems);

    let r = v.rotate_data_key().unwrap();
    assert_eq!(
        r.resealed as u64, before.sealed_values,
        "every sealed value, the delivery included"
    );
    assert_eq!(v.data_key_count().unwrap(), 1);
    let after = v.check_integrity().unwrap();
    assert!(after.ok, "{:?}", after.problems);
    assert_eq!(after.sealed_values, before.sealed_values);

    let delivered = v.take_key_delivery(&new_id).unwrap();
    assert!(matches!(
        v.key_index().unwrap().verify(&delivered.plaintext, clock.now(), None),
        Verified::Valid { .. }
    ));
}

/// A key awaiting delivery is shown once, even to two programs (the app
/// and `kw`) taking it at the same moment: each read it before either
/// deleted it, and both got the plaintext.
#[test]
fn a_delivery_taken_by_several_programs_at_once_is_given_to_exactly_one() {
    let (_d, mut v, clock) = vault();
    let mut handles: Vec<Vault> = (0..4).map(|_| v.reopen().unwrap()).collect();
    for round in 0..20 {
        v.issue_partner_key(NewPartnerKey {
            application: format!("erp{round}"),
            scopes: vec!["ledger:read".into()],
            max_age_days: Some(30),
            ..Default::default()
        })
        .unwrap();
        clock.advance(Duration::days(31));
        let rotated = v.rotate_due_partner_keys().unwrap();
        let id = rotated
            .iter()
            .find(|r| r.key.application == format!("erp{round}"))
            .unwrap()
            .key
            .id
            .clone();
        let barrier = std::sync::Barrier::new(handles.len());
        let taken = std::thread::scope(|s| {
            let takers: Vec<_> = handles
                .iter_mut()
                .map(|h| {
                    let (barrier, id) = (&barrier, &id);
                    s.spawn(move || {
                        barrier.wait();
                        h.take_key_delivery(id).is_ok()
                    })
                })
                .collect();
            takers.into_iter().map(|t| t.join().unwrap()).filter(|ok| *ok).count()
        });
        assert_eq!(taken, 1, "round {round}: the key was shown {taken} times");
    }
}

/// The answer names the key's environment, and an index told to accept
/// `live` keys only answers a valid `kwp_test_` key as it answers an
/// unknown one.
#[test]
fn a_test_key_says_so_and_an_index_for_live_keys_answers_it_as_unknown() {
    let (_d, mut v, clock) = vault();
    let test = v
        .issue_partner_key(NewPartnerKey {
            application: "sandbox".into(),
            environment: Some(KeyEnv::Test),
            scopes: vec!["ledger:read".into()],
            ..Default::default()
        })
        .unwrap();
    let live = issue(&mut v, "erp", &["ledger:read"]);
    let mut index = v.key_index().unwrap();
    let env_of = |index: &KeyIndex, key: &str| match index.verify(key, clock.now(), None) {
        Verified::Valid { environment, .. } => Some(environment),
        _ => None,
    };
    assert_eq!(env_of(&index, &test.plaintext), Some(KeyEnv::Test));
    assert_eq!(env_of(&index, &live.plaintext), Some(KeyEnv::Live));
    index.accept_only(&[KeyEnv::Live]);
    assert_eq!(index.verify(&test.plaintext, clock.now(), None), Verified::Invalid);
    assert_eq!(env_of(&index, &live.plaintext), Some(KeyEnv::Live));
    // It stays so as the index follows the vault.
    v.refresh_key_index(&mut index).unwrap();
    assert_eq!(index.verify(&test.plaintext, clock.now(), None), Verified::Invalid);
}
