//! The IPC commands' handlers, one per user action (`command_list.rs` names
//! them; `ipc_schema.rs` binds each to Tauri and passes the app state
//! first). Each parses its input, calls one `keywarden_core` method, and
//! maps the error. No command returns a stored
//! secret: credentials come back with masks only.

pub use crate::import::{choose_import_file, discard_import, import_status, run_import};
pub use crate::notices::{dismiss_notice, list_notices, mark_notices_read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use keywarden_connectors::{Connectors, Options};
use keywarden_core::header::Header;
use keywarden_core::partner::PartnerKey;
use keywarden_core::{
    AuditEvent, AuditReport, Credential, CredentialFilter, CredentialSummary, Error, ExposeSecret, Integration,
    KeySource, OfflineValidator, ReminderKind, SecretString, Vault, audit_export,
};
use keywarden_core::{Check, CheckReport, SupportBundle, Validator};

use crate::clipboard;
// OAuth 2.0's commands live in their own module.
pub use crate::alerts::{
    add_email_channel, add_webhook_channel, alert_deliveries, list_alert_channels, remove_alert_channel,
    test_alert_channel,
};
pub use crate::backups::backup_now;
use crate::error::{ErrorCode, IpcError, IpcResult};
pub use crate::health::{
    check_schedule, integration_check_schedule, set_check_schedule, set_integration_check_schedule,
};
use crate::ipc_schema::args;
use crate::models::{
    AppStatus, CopyReceipt, ExportFormat, ExportReceipt, IssuedKeyOut, KeySourceKind, PartnerKeyDetails, PolicyView,
    RecoveryCodeOut, RotationOutcome, TeamStatus, VaultState,
};
pub use crate::oauth::{access_token_state, cancel_connect, connect_credential, connect_status, refresh_access_token};
use crate::save_dialog::SaveAsk;
use crate::settings::Settings;
use crate::state::AppState;
use crate::team_models::TeamCredentialOut;

fn key_source(passphrase: Option<SecretString>) -> KeySource {
    match passphrase {
        Some(p) if !p.expose_secret().is_empty() => KeySource::Passphrase(p),
        _ => KeySource::Keychain,
    }
}

pub fn app_status(state: &AppState) -> IpcResult<AppStatus> {
    let header = match Vault::header(&state.vault_dir) {
        Ok(h) => Some(h),
        Err(Error::VaultNotFound { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let vault = match (&header, state.is_unlocked()) {
        (None, _) => VaultState::None,
        (Some(_), true) => VaultState::Unlocked,
        (Some(_), false) => VaultState::Locked,
    };
    Ok(AppStatus {
        vault,
        key_source: header.as_ref().map(|h: &Header| match h.is_passphrase() {
            true => KeySourceKind::Passphrase,
            false => KeySourceKind::Keychain,
        }),
        vault_dir: state.vault_dir.display().to_string(),
        profile: state.actor().profile,
        settings: state.settings(),
        system_language: crate::i18n::system_locale(),
        settings_problem: state.settings_problem(),
        verifier: state.verifier_status(),
        policy: PolicyView {
            source: state.policy.source.clone(),
            entries: state.policy.entries(),
        },
        tray_shown: state.tray_shown(),
    })
}

pub fn create_vault(
    state: &AppState,
    args::create_vault { passphrase }: args::create_vault,
) -> IpcResult<RecoveryCodeOut> {
    let (vault, code) = Vault::create(&state.vault_dir, key_source(passphrase), state.actor())?;
    state.install(vault)?;
    Ok(RecoveryCodeOut {
        recovery_code: code.display().to_string(),
    })
}

pub fn unlock_vault(state: &AppState, args::unlock_vault { passphrase }: args::unlock_vault) -> IpcResult<()> {
    if state.is_unlocked() {
        return Ok(());
    }
    let source = key_source(passphrase);
    let mut vault = Vault::open(&state.vault_dir, &source, state.actor())?;
    // Audited (vault.open), with any failed unlocks since the last one.
    vault.record_unlock(&format!("the app, with {}", source.describe()))?;
    state.install(vault)
}

pub fn lock_vault(state: &AppState) -> IpcResult<()> {
    state.lock();
    Ok(())
}

/// Re-keys the vault from its recovery code, with the keychain (or a new
/// passphrase) as the new key source.
pub fn recover_vault(
    state: &AppState,
    args::recover_vault {
        recovery_code,
        passphrase,
    }: args::recover_vault,
) -> IpcResult<()> {
    let vault = Vault::recover(
        &state.vault_dir,
        recovery_code.expose_secret(),
        key_source(passphrase),
        state.actor(),
    )?;
    state.install(vault)
}

/// The person is active in the window: postpones auto-lock.
pub fn touch(state: &AppState) -> IpcResult<()> {
    // Without asking whether the vault is open: that waits for whoever
    // holds it (an import of thousands), and the idle clock only counts
    // while it is open anyway.
    state.touch();
    Ok(())
}

pub fn list_credentials(state: &AppState) -> IpcResult<Vec<CredentialSummary>> {
    let list = state.with_vault(|v| v.list_credentials(&CredentialFilter::default()))?;
    // The window reloads its list after every change: the tray's count
    // follows without a query of its own.
    state.show_in_tray(crate::tray::TrayStatus::of(&list));
    Ok(list)
}

pub fn get_credential(state: &AppState, args::get_credential { id }: args::get_credential) -> IpcResult<Credential> {
    state.with_vault(|v| v.get_credential(&id))
}

pub fn add_credential(state: &AppState, args::add_credential { input }: args::add_credential) -> IpcResult<Credential> {
    let validate = input.validate;
    let new = input.parse()?;
    if !validate {
        // "Save without checking": refused where the policy requires a check.
        return state.with_vault(|v| v.add_credential(new));
    }
    // "Validate and Save": saved only if the provider accepts it (saved and
    // labelled unchecked where no live check is known for its provider).
    let check = validator(state, false);
    off_runtime(|| state.with_vault(|v| v.add_credential_checked(new, check.as_ref())))
}

pub fn update_credential(
    state: &AppState,
    args::update_credential { id, patch }: args::update_credential,
) -> IpcResult<Credential> {
    let patch = patch.parse()?;
    state.with_vault(|v| v.update_credential(&id, patch))
}

/// The live connectors, or only the offline checks. Plain http to loopback
/// (the provider fakes of the tests) only in test mode.
fn validator(state: &AppState, offline: bool) -> Box<dyn Validator + Send + Sync> {
    if offline {
        return Box::new(OfflineValidator);
    }
    Box::new(Connectors::new(Options {
        allow_loopback_http: state.test_mode,
        ..Options::default()
    }))
}

/// The live connectors (plain http to the fakes in test mode only), for
/// the scheduled checks.
pub(crate) fn live_validator(state: &AppState) -> Box<dyn Validator + Send + Sync> {
    validator(state, false)
}

/// Runs a live check on a plain OS thread: the blocking HTTP client must
/// not run on (or be dropped in) the async runtime's worker threads.
pub(crate) fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(f).join()).unwrap_or_else(|p| std::panic::resume_unwind(p))
}

/// "Validate and Save": the new secret is staged, checked against the live
/// endpoint (or only offline, when asked), and swapped in only if it
/// passes; otherwise the old one stays and the verdict says why.
pub fn rotate_credential(
    state: &AppState,
    args::rotate_credential { id, input }: args::rotate_credential,
) -> IpcResult<RotationOutcome> {
    let (secrets, expires_at, offline) = input.parse()?;
    let check = validator(state, offline);
    let credential = off_runtime(|| state.with_vault(|v| v.replace_secret(&id, secrets, expires_at, check.as_ref())))?;
    let revoke_old = credential
        .reminders
        .iter()
        .find(|r| r.kind == ReminderKind::RevokeOld)
        .map(|r| r.detail.clone());
    Ok(RotationOutcome {
        revoke_old,
        credential,
        validated_by: crate::i18n::validated_by(offline, state.lang()).into(),
    })
}

/// "Test connection": the current secret against the live endpoint (or the
/// offline checks); the verdict is recorded and returned, never the secret.
pub fn test_connection(
    state: &AppState,
    args::test_connection { id, offline }: args::test_connection,
) -> IpcResult<CheckReport> {
    let check = validator(state, offline);
    off_runtime(|| state.with_vault(|v| v.check_credential(&id, check.as_ref())))
}

/// The latest checks of a credential, newest first (for support staff:
/// the last live verdict and its age).
pub fn list_checks(state: &AppState, args::list_checks { id }: args::list_checks) -> IpcResult<Vec<Check>> {
    state.with_vault(|v| v.recent_checks(&id, 20))
}

pub fn credential_activity(
    state: &AppState,
    args::credential_activity { id, days }: args::credential_activity,
) -> IpcResult<Vec<keywarden_core::DayActivity>> {
    state.with_vault(|v| v.activity(&id, days.clamp(1, 366)))
}

/// The admin marks a reminder done (the replaced secret revoked at the
/// provider); audited.
pub fn dismiss_reminder(
    state: &AppState,
    args::dismiss_reminder { id, kind }: args::dismiss_reminder,
) -> IpcResult<Credential> {
    state.with_vault(|v| v.dismiss_reminder(&id, kind))
}

pub fn disable_credential(
    state: &AppState,
    args::disable_credential { id, reason }: args::disable_credential,
) -> IpcResult<Credential> {
    state.with_vault(|v| v.disable_credential(&id, &reason))
}

pub fn credential_dependents(
    state: &AppState,
    args::credential_dependents { id }: args::credential_dependents,
) -> IpcResult<Vec<String>> {
    // The integrations it serves, then the workflows seen using it.
    state.with_vault(|v| {
        let mut out = v.dependents(&id)?;
        out.extend(v.credential_consumers(&id)?.iter().map(|c| c.label()));
        Ok(out)
    })
}

/// Deletes only when the typed name matches: the confirmation is enforced
/// here, not just in the dialog.
pub fn delete_credential(
    state: &AppState,
    args::delete_credential { id, confirm_name }: args::delete_credential,
) -> IpcResult<()> {
    state.with_vault(|v| v.delete_credential_confirmed(&id, &confirm_name))
}

pub fn copy_secret(state: &AppState, args::copy_secret { id, field }: args::copy_secret) -> IpcResult<CopyReceipt> {
    state.policy.check_clipboard()?;
    let settings = state.settings();
    if !settings.allow_clipboard_copy {
        return Err(IpcError::new(
            ErrorCode::Refused,
            "copying secrets is turned off in Settings",
        ));
    }
    let secrets = state.with_vault(|v| v.use_secret(&id, "clipboard"))?;
    let (name, value) = match &field {
        Some(f) => secrets.get(f).map(|v| (f.clone(), v)),
        None => secrets.iter().next().map(|(n, v)| (n.to_owned(), v)),
    }
    .ok_or_else(|| IpcError::new(ErrorCode::NotFound, "that secret field does not exist"))?;
    let history = state
        .clipboard
        .set(value)
        .map_err(|e| IpcError::new(ErrorCode::Internal, e))?;
    clipboard::schedule_clear(
        Arc::clone(&state.clipboard),
        clipboard::digest(value.expose_secret()),
        Duration::from_secs(u64::from(settings.clipboard_clear_seconds)),
    );
    Ok(CopyReceipt {
        field: name,
        clears_in_seconds: settings.clipboard_clear_seconds,
        marked_as_password: history == clipboard::History::Excluded,
    })
}

pub fn list_integrations(state: &AppState) -> IpcResult<Vec<Integration>> {
    state.with_vault(|v| v.list_integrations())
}

pub fn get_integration(
    state: &AppState,
    args::get_integration { id }: args::get_integration,
) -> IpcResult<Integration> {
    state.with_vault(|v| v.get_integration(&id))
}

pub fn add_integration(
    state: &AppState,
    args::add_integration { input }: args::add_integration,
) -> IpcResult<Integration> {
    let new = input.parse();
    state.with_vault(|v| v.add_integration(new))
}

pub fn update_integration(
    state: &AppState,
    args::update_integration { id, patch }: args::update_integration,
) -> IpcResult<Integration> {
    let patch = patch.parse()?;
    state.with_vault(|v| v.update_integration(&id, patch))
}

pub fn list_audit(state: &AppState, args::list_audit { query }: args::list_audit) -> IpcResult<Vec<AuditEvent>> {
    let filter = query.parse()?;
    state.with_vault(|v| v.audit_events(&filter))
}

pub fn verify_audit(state: &AppState) -> IpcResult<AuditReport> {
    state.with_vault(|v| v.verify_audit())
}

/// Where to write: the path the person chose in the native save dialog
/// (`None`: cancelled), which must be absolute, in an existing folder,
/// and not an existing file (the dialog's "Replace?" is not taken: no
/// file is ever written over).
/// `epoch`: the unlock in which what is to be written was read (taken
/// before reading it).
fn save_target(state: &AppState, ask: SaveAsk, epoch: u64) -> IpcResult<Option<PathBuf>> {
    let picker = Arc::clone(&state.save_picker);
    let chosen = off_runtime(move || picker.pick(&ask))
        .map_err(|e| IpcError::new(ErrorCode::Internal, format!("the save dialog could not open: {e}")))?;
    // The dialog may stay open for long: what was read before it is
    // written only if the vault is still open as it was (not locked by
    // the idle timer meanwhile, nor locked and opened again).
    if chosen.is_some() && !state.still_open(epoch) {
        return Err(IpcError::new(
            ErrorCode::Locked,
            "the vault locked while the save dialog was open; nothing was written. Unlock it and save again",
        ));
    }
    chosen.map(|p| export_target(&p)).transpose().map_err(Into::into)
}

fn export_target(path: &Path) -> Result<PathBuf, Error> {
    if !path.is_absolute() {
        return Err(Error::invalid(
            "file",
            "the file needs a full path, e.g. /home/you/export.json",
        ));
    }
    match path.parent() {
        Some(dir) if dir.is_dir() => {}
        _ => {
            return Err(Error::invalid(
                "file",
                "the folder does not exist; choose an existing folder",
            ));
        }
    }
    if path.symlink_metadata().is_ok() {
        return Err(Error::invalid(
            "file",
            "a file with that name exists; nothing is written over a file, so choose another name",
        ));
    }
    Ok(path.to_path_buf())
}

/// Today's date for proposed file names.
fn today() -> String {
    time::OffsetDateTime::now_utc().date().to_string()
}

/// Owner-only, a new file only, never through a link, whole or not at all
/// (`keywarden_core::files`): an export holds the vault's names and
/// history, an envelope a partner key.
fn write_new(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    keywarden_core::files::write_new_private(path, bytes)
}

pub fn export_audit(
    state: &AppState,
    args::export_audit { query, format }: args::export_audit,
) -> IpcResult<Option<ExportReceipt>> {
    let filter = query.parse()?;
    let (extension, filter_name): (&'static [&'static str], _) = match format {
        ExportFormat::Csv => (&["csv"], "CSV"),
        ExportFormat::Json => (&["json"], "JSON"),
    };
    let ask = SaveAsk {
        title: crate::i18n::dialog_title(crate::i18n::Dialog::ExportAudit, state.lang()),
        file_name: format!("keywarden-audit-{}.{}", today(), extension[0]),
        filter: (filter_name, extension),
    };
    // Read first: a locked vault is said before any dialog opens.
    let epoch = state.epoch();
    let events = state.with_vault(|v| v.export_audit(&filter))?;
    let Some(target) = save_target(state, ask, epoch)? else {
        return Ok(None);
    };
    let text = match format {
        ExportFormat::Csv => audit_export::to_csv(&events),
        ExportFormat::Json => audit_export::to_json(&events),
    };
    write_new(&target, text.as_bytes())?;
    Ok(Some(ExportReceipt {
        path: target.display().to_string(),
        items: events.len(),
    }))
}

/// The configuration without any secret: on import every credential is
/// marked as needing its secret re-entered.
pub fn export_config(state: &AppState) -> IpcResult<Option<ExportReceipt>> {
    // Refused before the dialog opens when the vault is locked or the
    // policy forbids it.
    let epoch = state.epoch();
    let export = state.with_vault(|v| v.export_config())?;
    let ask = SaveAsk {
        title: crate::i18n::dialog_title(crate::i18n::Dialog::ExportConfig, state.lang()),
        file_name: format!("keywarden-config-{}.json", today()),
        filter: ("JSON", &["json"]),
    };
    let Some(target) = save_target(state, ask, epoch)? else {
        return Ok(None);
    };
    let json = serde_json::to_vec_pretty(&export).map_err(|e| IpcError::new(ErrorCode::Internal, e.to_string()))?;
    write_new(&target, &json)?;
    Ok(Some(ExportReceipt {
        path: target.display().to_string(),
        items: export.integrations.len() + export.credentials.len(),
    }))
}

/// Opens a support bundle someone sent, for display only. It needs no
/// vault (support staff may have none) and writes nothing; the file must
/// be a bundle `kw support-bundle` wrote.
pub fn open_support_bundle(
    _state: &AppState,
    args::open_support_bundle { path }: args::open_support_bundle,
) -> IpcResult<SupportBundle> {
    let path = PathBuf::from(path.trim());
    if !path.is_absolute() {
        return Err(Error::invalid(
            "file",
            "give the full path of the bundle, e.g. /home/you/keywarden-support.json",
        )
        .into());
    }
    let io = |e: std::io::Error| Error::Io {
        path: path.clone(),
        source: e,
    };
    // Opened without waiting (a FIFO would block for ever), then it must be
    // a regular file, read no further than a bundle can be (`/dev/zero`
    // says it is 0 bytes long and never ends).
    // Anything but a regular file is not opened at all (a device may act
    // on being opened); what is opened is checked again.
    if !std::fs::metadata(&path).map_err(io)?.is_file() {
        return Err(Error::invalid("support bundle", "that is not a file; choose the bundle's .json file").into());
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    let file = options.open(&path).map_err(io)?;
    if !file.metadata().map_err(io)?.is_file() {
        return Err(Error::invalid("support bundle", "that is not a file; choose the bundle's .json file").into());
    }
    let too_big = || {
        Error::invalid(
            "support bundle",
            "the file is larger than any support bundle; ask for a fresh support bundle",
        )
    };
    let max = keywarden_core::support::BUNDLE_MAX_BYTES as u64;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(file, max + 1), &mut bytes).map_err(io)?;
    if bytes.len() as u64 > max {
        return Err(too_big().into());
    }
    Ok(SupportBundle::parse(&bytes)?)
}

pub fn get_settings(state: &AppState) -> IpcResult<Settings> {
    Ok(state.settings())
}

/// Saved beside the vault and applied at once; recorded in the audit log.
pub fn save_settings(state: &AppState, args::save_settings { settings }: args::save_settings) -> IpcResult<Settings> {
    // Bad input is said even while the vault is locked; the vault checks
    // again, puts them in force, saves and audits them
    // (`Vault::save_settings`).
    settings.check_within(&state.policy)?;
    let (want, was) = (settings.start_at_login, state.settings().start_at_login);
    let saved = crate::autostart::while_saving(want, want != was, || state.with_vault(|v| v.save_settings(settings)))?;
    state.set_settings(saved.clone());
    state.sync_verifier();
    // The tray speaks the language just chosen.
    state.refresh_tray();
    Ok(saved)
}

// ---- partner keys -----------------------------------------------------------

pub fn list_partner_keys(state: &AppState) -> IpcResult<Vec<PartnerKey>> {
    state.with_vault(|v| v.partner_keys())
}

pub fn get_partner_key(
    state: &AppState,
    args::get_partner_key { id }: args::get_partner_key,
) -> IpcResult<PartnerKeyDetails> {
    let lang = state.lang();
    state.with_vault(|v| {
        Ok(PartnerKeyDetails {
            key: v.partner_key(&id)?,
            usage: v.partner_key_usage(&id, 48)?,
            sources: v.partner_key_sources(&id)?,
            alerts: v
                .partner_key_alerts(&id)?
                .into_iter()
                .map(|n| crate::i18n::notice(n, lang))
                .collect(),
            awaits_delivery: v.partner_key_awaits_delivery(&id)?,
        })
    })
}

/// Issuance: the one response that carries a partner key's plaintext, for
/// the show-once dialog; only its hash stays in the vault.
pub fn issue_partner_key(
    state: &AppState,
    args::issue_partner_key { input }: args::issue_partner_key,
) -> IpcResult<IssuedKeyOut> {
    let new = input.parse()?;
    let out = state.with_vault(|v| {
        let issued = v.issue_partner_key(new)?;
        Ok(IssuedKeyOut::from_issued(issued, v.signing_public_key()))
    })?;
    state.remember_envelope(&out.key.id, out.envelope.clone());
    Ok(out)
}

pub fn rotate_partner_key(
    state: &AppState,
    args::rotate_partner_key { id, grace_days }: args::rotate_partner_key,
) -> IpcResult<IssuedKeyOut> {
    let out = state.with_vault(|v| {
        let issued = v.rotate_partner_key(&id, grace_days)?;
        Ok(IssuedKeyOut::from_issued(issued, v.signing_public_key()))
    })?;
    state.remember_envelope(&out.key.id, out.envelope.clone());
    Ok(out)
}

pub fn revoke_partner_key(
    state: &AppState,
    args::revoke_partner_key { id, reason }: args::revoke_partner_key,
) -> IpcResult<PartnerKey> {
    let reason = if reason.trim().is_empty() {
        "revoked in the app".to_owned()
    } else {
        reason
    };
    state.with_vault(|v| v.revoke_partner_key(&id, &reason))
}

/// A key rotated by policy, shown once for delivery.
pub fn take_key_delivery(
    state: &AppState,
    args::take_key_delivery { id }: args::take_key_delivery,
) -> IpcResult<IssuedKeyOut> {
    let out = state.with_vault(|v| {
        let issued = v.take_key_delivery(&id)?;
        Ok(IssuedKeyOut::from_issued(issued, v.signing_public_key()))
    })?;
    state.remember_envelope(&out.key.id, out.envelope.clone());
    Ok(out)
}

/// Writes the delivery envelope issued this session with key `id` where
/// the admin chooses in the save dialog (a new, owner-only file). The
/// envelope is the backend's own, never one the page hands in.
pub fn save_key_envelope(
    state: &AppState,
    args::save_key_envelope { id }: args::save_key_envelope,
) -> IpcResult<Option<ExportReceipt>> {
    let epoch = state.epoch();
    // Taken for this save: a second save meanwhile finds none.
    let envelope = state.take_envelope(&id).ok_or_else(|| {
        IpcError::new(
            ErrorCode::NotFound,
            format!(
                "no envelope of key {id} was issued since the vault was unlocked; rotate the key to issue a new one"
            ),
        )
    })?;
    let ask = SaveAsk {
        title: crate::i18n::dialog_title(crate::i18n::Dialog::SaveEnvelope, state.lang()),
        file_name: format!("keywarden-key-{id}.json"),
        filter: ("JSON", &["json"]),
    };
    // Not saved (cancelled, refused, failed): the envelope stays for
    // another try, unless the vault locked meanwhile.
    let keep = |envelope| state.return_envelope(epoch, &id, envelope);
    let target = match save_target(state, ask, epoch) {
        Ok(Some(target)) => target,
        Ok(None) => {
            keep(envelope);
            return Ok(None);
        }
        Err(e) => {
            keep(envelope);
            return Err(e);
        }
    };
    let json = serde_json::to_vec_pretty(&envelope).map_err(|e| IpcError::new(ErrorCode::Internal, e.to_string()))?;
    if let Err(e) = write_new(&target, &json) {
        keep(envelope);
        return Err(e.into());
    }
    // Saved once: the key in its payload is not kept for another copy.
    Ok(Some(ExportReceipt {
        path: target.display().to_string(),
        items: 1,
    }))
}

/// The vault's Ed25519 public key (envelopes, revocation lists).
pub fn vault_public_key(state: &AppState) -> IpcResult<String> {
    state.with_vault(|v| Ok(v.signing_public_key()))
}

/// The workflows (service accounts, `kw run` commands) that used a
/// credential in the last 90 days.
pub fn credential_consumers(
    state: &AppState,
    args::credential_consumers { id }: args::credential_consumers,
) -> IpcResult<Vec<keywarden_core::run::Consumer>> {
    state.with_vault(|v| v.credential_consumers(&id))
}

// ---- Team vault on OpenBao (keywarden-team) ----------------------------
// The sign-in is kw's too (`keywarden_team::session`): the token in the OS
// keychain, the addresses in team.json, the cards last seen for offline.
// Every call goes to OpenBao over blocking HTTP, so off the runtime.

fn team_config() -> IpcResult<keywarden_team::TeamConfig> {
    keywarden_team::TeamConfig::load()?.ok_or_else(|| {
        IpcError::new(
            ErrorCode::SignedOut,
            "not signed in to a team vault: sign in with its address, your user name and password",
        )
    })
}

fn team_status_of(cfg: Option<keywarden_team::TeamConfig>) -> IpcResult<TeamStatus> {
    let Some(cfg) = cfg else {
        return Ok(TeamStatus {
            signed_in: false,
            offline: false,
            nodes: Vec::new(),
            mount: None,
            user: None,
            role: None,
            role_words: None,
        });
    };
    let mut status = TeamStatus {
        signed_in: true,
        offline: false,
        nodes: cfg.nodes.clone(),
        mount: Some(cfg.mount.clone()),
        user: None,
        role: None,
        role_words: None,
    };
    match cfg.open() {
        Ok(v) => {
            let me = v.identity();
            status.user = Some(me.display_name.clone());
            status.role = Some(me.role().map(|r| r.as_str()).unwrap_or("none").to_owned());
            status.role_words = Some(keywarden_team::role_words(me.role()).to_owned());
        }
        Err(keywarden_team::TeamError::Bao(keywarden_team::BaoError::Unreachable { .. })) => status.offline = true,
        Err(keywarden_team::TeamError::SignedOut) => status.signed_in = false,
        Err(e) => return Err(e.into()),
    }
    Ok(status)
}

/// Signed in or not, who, which role; whether the cluster answers.
pub fn team_status(_state: &AppState) -> IpcResult<TeamStatus> {
    off_runtime(|| team_status_of(keywarden_team::TeamConfig::load()?))
}

/// Signs in with userpass; the token goes to the OS keychain.
pub fn team_sign_in(_state: &AppState, args::team_sign_in { input }: args::team_sign_in) -> IpcResult<TeamStatus> {
    let cfg = keywarden_team::TeamConfig::new(&input.nodes, &input.mount, input.userpass.as_deref().unwrap_or(""))?;
    off_runtime(|| {
        cfg.sign_in(keywarden_team::Credentials::UserPass {
            user: input.user.trim(),
            password: &input.password,
        })?;
        team_status_of(Some(cfg.clone()))
    })
}

/// Revokes the token at OpenBao and forgets the sign-in on this machine.
pub fn team_sign_out(_state: &AppState) -> IpcResult<()> {
    off_runtime(|| Ok(team_config()?.sign_out()?))
}

/// The team's credentials this member can see; offline, what was last
/// known, marked so.
pub fn team_list(_state: &AppState) -> IpcResult<keywarden_team::Listing> {
    off_runtime(|| Ok(team_config()?.list_or_last_known()?))
}

/// One credential: its card, its configuration if the member may see it,
/// and what OpenBao lets the member do with it.
pub fn team_show(_state: &AppState, args::team_show { name }: args::team_show) -> IpcResult<TeamCredentialOut> {
    off_runtime(|| {
        let v = team_config()?.open()?;
        let shown = v.show(&name)?;
        let you_can = v.abilities(&shown.card)?;
        Ok(TeamCredentialOut {
            card: keywarden_team::CardView::from(&shown.card),
            config: shown.config,
            you_can,
            secret_fields: shown.card.secret_fields.clone(),
        })
    })
}

/// "Validate and Save" for a team credential: checked live with the
/// provider its configuration names (or offline), then committed by
/// check-and-set on the revision the form was filled from.
pub fn team_rotate(
    state: &AppState,
    args::team_rotate { name, input }: args::team_rotate,
) -> IpcResult<TeamCredentialOut> {
    if input.secrets.is_empty() {
        return Err(IpcError::new(ErrorCode::InvalidInput, "enter the new secret"));
    }
    let check = validator(state, input.offline.unwrap_or(false));
    let mut secrets = keywarden_core::SecretFields::new();
    for (k, v) in input.secrets {
        secrets.insert(&k, v);
    }
    off_runtime(|| {
        let v = team_config()?.open()?;
        let card = v.rotate(&name, secrets, Some(input.expected_revision), check.as_ref())?;
        // The rotation stands; what the window offers next is secondary.
        let you_can = v.abilities(&card).unwrap_or_default();
        Ok(TeamCredentialOut {
            card: keywarden_team::CardView::from(&card),
            config: None,
            you_can,
            secret_fields: card.secret_fields.clone(),
        })
    })
}
