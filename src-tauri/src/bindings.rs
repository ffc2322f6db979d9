//! The TypeScript types the UI imports (`ui/src/lib/ipc/bindings/`) are
//! generated from the Rust types by ts-rs. The test fails when the
//! committed files are stale; `make types` rewrites them.

use std::collections::BTreeMap;
use std::path::Path;

use ts_rs::TS;

use crate::error::IpcError;
use crate::models::{
    AppStatus, AuditQuery, CopyReceipt, CredentialPatchInput, ExportFormat, ExportReceipt, IntegrationPatchInput,
    NewCredentialInput, NewIntegrationInput, RecoveryCodeOut, RotateInput, RotationOutcome,
};
use crate::settings::Settings;

pub const BINDINGS_DIR: &str = "ui/src/lib/ipc/bindings";

/// Writes every IPC type (and what it refers to) into `dir`.
pub fn export_all(dir: &Path) -> Result<(), ts_rs::ExportError> {
    use keywarden_core::{
        AuditEvent, AuditReport, Check, CheckReport, Credential, CredentialSummary, Integration, Notice, SupportBundle,
    };
    AppStatus::export_all_to(dir)?;
    AuditQuery::export_all_to(dir)?;
    CopyReceipt::export_all_to(dir)?;
    CredentialPatchInput::export_all_to(dir)?;
    ExportFormat::export_all_to(dir)?;
    ExportReceipt::export_all_to(dir)?;
    IntegrationPatchInput::export_all_to(dir)?;
    NewCredentialInput::export_all_to(dir)?;
    NewIntegrationInput::export_all_to(dir)?;
    RecoveryCodeOut::export_all_to(dir)?;
    RotateInput::export_all_to(dir)?;
    RotationOutcome::export_all_to(dir)?;
    Settings::export_all_to(dir)?;
    IpcError::export_all_to(dir)?;
    AuditEvent::export_all_to(dir)?;
    AuditReport::export_all_to(dir)?;
    Credential::export_all_to(dir)?;
    CredentialSummary::export_all_to(dir)?;
    Integration::export_all_to(dir)?;
    CheckReport::export_all_to(dir)?;
    Check::export_all_to(dir)?;
    SupportBundle::export_all_to(dir)?;
    Notice::export_all_to(dir)?;
    crate::models::IssueKeyInput::export_all_to(dir)?;
    crate::models::IssuedKeyOut::export_all_to(dir)?;
    crate::models::PartnerKeyDetails::export_all_to(dir)?;
    keywarden_core::run::Consumer::export_all_to(dir)?;
    crate::models::TeamStatus::export_all_to(dir)?;
    crate::models::TeamSignInInput::export_all_to(dir)?;
    crate::team_models::TeamCredentialOut::export_all_to(dir)?;
    crate::models::TeamRotateInput::export_all_to(dir)?;
    keywarden_team::Listing::export_all_to(dir)?;
    Ok(())
}

/// File name → contents of the `.ts` files in `dir`.
pub fn read_dir(dir: &Path) -> std::io::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    if !dir.exists() {
        return Ok(out);
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "ts") {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.insert(name, std::fs::read_to_string(&path)?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typescript_bindings_match_the_rust_types() {
        let committed_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(BINDINGS_DIR);
        if std::env::var_os("KEYWARDEN_WRITE_BINDINGS").is_some() {
            std::fs::remove_dir_all(&committed_dir).ok();
            export_all(&committed_dir).unwrap();
            return;
        }
        let fresh = tempfile::tempdir().unwrap();
        export_all(fresh.path()).unwrap();
        let want = read_dir(fresh.path()).unwrap();
        let have = read_dir(&committed_dir).unwrap();
        let stale: Vec<&String> = want
            .keys()
            .chain(have.keys())
            .filter(|k| want.get(*k) != have.get(*k))
            .collect();
        assert!(
            stale.is_empty(),
            "the TypeScript bindings in {BINDINGS_DIR} are stale ({stale:?}); run `make types` and commit them"
        );
    }
}
