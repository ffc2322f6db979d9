//! Entry points for the fuzz targets in `fuzz/` (`make fuzz`, and a short
//! run in `make test`). Each takes arbitrary bytes and must return: an
//! error is an answer, a panic is a bug. Built only with the `fuzzing`
//! feature; nothing here is in the shipped programs.

use std::path::{Path, PathBuf};

use secrecy::SecretString;
use uuid::Uuid;

use crate::crypto::{Dek, Kek, sealed};
use crate::export::ConfigExport;
use crate::model::{CredentialKind, NewCredential, NewIntegration};
use crate::partner::{KeyIndex, NewPartnerKey, Verified};
use crate::secret::SecretFields;
use crate::store::audit::Actor;
use crate::{KeySource, Policy, SupportBundle, Vault};

/// The fixed key and slot of the sealed-value target, so that its seeds
/// (`sealed_seed`) are blobs the target can open.
fn sealed_key() -> Dek {
    Dek::from_bytes([0x5e; 32])
}

fn sealed_slot() -> sealed::FieldSlot<'static> {
    sealed::FieldSlot {
        credential_id: Uuid::from_bytes([0x11; 16]),
        field: "api_key",
        version: 1,
    }
}

const SEALED_PLAINTEXT: &[u8] = b"fuzz-seed-not-a-secret";

/// A valid blob for the sealed-value target's corpus.
pub fn sealed_seed() -> Vec<u8> {
    sealed::seal(&sealed_key(), 1, &sealed_slot(), SEALED_PLAINTEXT).unwrap_or_default()
}

/// The sealed-field parser: any bytes either open to exactly what was
/// sealed under this key and slot, or fail with the opaque error.
pub fn sealed_value(data: &[u8]) {
    let _ = sealed::key_id_of(data);
    if let Ok(plain) = sealed::open(&sealed_key(), &sealed_slot(), data) {
        assert_eq!(plain.as_slice(), SEALED_PLAINTEXT, "a forged blob opened");
    }
}

/// The policy file parser, on any text; a parsed policy lists its keys.
pub fn policy_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(policy) = Policy::parse(text, Path::new("/etc/keywarden/policy.toml")) {
        assert_eq!(policy.entries().len(), 11);
    }
}

/// `vault.json`, which is not authenticated: any text is a header or an
/// error, and a header read from fuzz never opens with a key or a
/// recovery code it was not made with.
pub fn vault_header(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(h) = crate::header::Header::parse(text, Path::new("vault.json")) else {
        return;
    };
    let _ = h.is_passphrase();
    assert!(
        h.unwrap_with_kek(&Kek::from_bytes([7; 32])).is_err(),
        "a forged header opened"
    );
    if let Ok(code) = crate::RecoveryCode::parse(&"0".repeat(32)) {
        assert!(h.unwrap_with_recovery(&code).is_err(), "a forged header opened");
    }
}

/// The desktop app's `settings.json` (read by `kw` too): valid settings
/// pass their own checks, stay valid under any policy, and survive a save.
pub fn settings_json(data: &[u8]) {
    let Ok(s) = crate::settings::Settings::parse(data, Path::new("settings.json")) else {
        return;
    };
    s.check().expect("parsed settings are checked");
    let strict = Policy::parse(
        "auto_lock_max_minutes = 5
max_credential_age_days = 30
clipboard_allowed = false
verifier_allowed = false
",
        Path::new("/etc/keywarden/policy.toml"),
    )
    .expect("a fixed policy");
    s.clone()
        .with_policy(&strict)
        .check()
        .expect("the policy keeps settings valid");
    let saved = serde_json::to_vec(&s).expect("settings serialize");
    assert_eq!(
        crate::settings::Settings::parse(&saved, Path::new("settings.json")).ok(),
        Some(s),
        "settings change on a save and load"
    );
}

/// JWT-shaped secrets: the claims read for an expiry reminder, from any
/// text; never a panic.
pub fn jwt_claims(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(c) = crate::jwt::claims(text) {
        assert_eq!(crate::jwt::expiry(text), c.exp);
    }
}

/// The recovery code as typed: a code that parses is shown and parsed
/// back to the same key; an error never quotes the input.
pub fn recovery_code(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match crate::RecoveryCode::parse(text) {
        Ok(code) => {
            let again = crate::RecoveryCode::parse(&code.display()).expect("a shown code parses");
            assert!(again.key() == code.key(), "a shown code parses to another key");
        }
        Err(e) => {
            let message = e.to_string();
            let typed: String = text.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
            assert!(
                typed.len() < 16 || !message.contains(&typed),
                "the error quotes the code"
            );
        }
    }
}

/// The migration import (`kw credential import`): the first byte picks
/// the format, the rest is the file. Whatever it reads, names come out
/// unique (ignoring case) and every entry is either planned or skipped.
pub fn migration_import(data: &[u8]) {
    use crate::migrate::{ImportDefaults, SourceFormat, parse};
    let Some((&pick, file)) = data.split_first() else {
        return;
    };
    let format = if pick % 2 == 0 {
        SourceFormat::Csv
    } else {
        SourceFormat::KeepassXml
    };
    if let Ok(plan) = parse(format, file, &ImportDefaults::default()) {
        let mut names = std::collections::HashSet::new();
        for p in &plan.credentials {
            assert!(names.insert(p.credential.name.to_lowercase()), "a name planned twice");
            assert!(p.credential.name.chars().count() <= 100);
            assert!(!p.credential.secrets.is_empty());
        }
    }
}

/// The support-bundle reader (`kw support-bundle --open`, the app's
/// "Open support bundle").
pub fn support_bundle(data: &[u8]) {
    let _ = SupportBundle::parse(data);
}

/// The import parser and every check of an import, against `vault`;
/// nothing is written.
pub fn config_import(vault: &Vault, data: &[u8]) {
    if let Ok(export) = ConfigExport::parse(data) {
        let _ = vault.plan_import(&export);
    }
}

/// Partner keys and service tokens as a verifier reads them: a key that
/// is not one the vault issued never verifies.
pub fn partner_key(index: &KeyIndex, issued: &[String], data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = crate::partner::format::parse(text);
    let now = time::OffsetDateTime::now_utc();
    let known = issued.iter().any(|k| k == text.trim());
    if !known {
        assert!(
            matches!(index.verify(text, now, None), Verified::Invalid),
            "a key nobody issued verified"
        );
        assert!(
            index.verify_service(text, now).is_none(),
            "a token nobody issued was accepted"
        );
    }
}

/// A vault for the targets that need one: a passphrase vault (no keychain
/// needed) in `$TMPDIR/keywarden-fuzz/NAME`, made anew each run, with an
/// integration, a credential, a partner key and a service account. Returns
/// the vault and the plaintext key and token it issued.
pub fn vault(name: &str) -> crate::Result<(Vault, Vec<String>)> {
    let dir: PathBuf = std::env::temp_dir().join("keywarden-fuzz").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    let parent = dir.parent().unwrap_or(&dir);
    std::fs::create_dir_all(parent).map_err(|e| crate::Error::io(parent, e))?;
    let source = KeySource::Passphrase(SecretString::from("fuzzing passphrase, not a secret".to_owned()));
    let actor = Actor {
        profile: "fuzz".into(),
        os_user: "fuzz".into(),
        host: "localhost".into(),
    };
    let (mut vault, _) = Vault::create(&dir, source, actor)?;
    vault.add_integration(NewIntegration {
        name: "Pleo production".into(),
        provider: "pleo".into(),
        ..Default::default()
    })?;
    vault.add_credential(NewCredential {
        name: "Pleo payroll".into(),
        kind: Some(CredentialKind::ApiKey),
        integration: Some("Pleo production".into()),
        secrets: SecretFields::single("api_key", SecretString::from("pk_live_fuzz_harness_0001".to_owned())),
        ..Default::default()
    })?;
    let partner = vault.issue_partner_key(NewPartnerKey {
        application: "Fuzz partner".into(),
        scopes: vec!["invoices:read".into()],
        ..Default::default()
    })?;
    let service = vault.create_service_account(NewPartnerKey {
        application: "fuzz-sync".into(),
        grants: vec!["Pleo production".into()],
        ..Default::default()
    })?;
    Ok((
        vault,
        vec![partner.plaintext.to_string(), service.plaintext.to_string()],
    ))
}
