//! The app's work on time, in one thread (`kw-timer`): lock the vault after
//! the idle time, rotate partner keys that reached their policy age, and
//! fire expiry notices when due (natively, and to the
//! window as `notices-changed`). Between due instants it sleeps on a timer
//! (timer.rs) armed for the earliest of them: no polling, no wake-up while
//! nothing is due. Commands poke it when they change what it plans by.

use std::time::{Duration, SystemTime};

use keywarden_notify::Notifier;
use tauri::{AppHandle, Emitter, Runtime};

use crate::state::{AppState, KeywardenExt};

pub const LOCKED_EVENT: &str = "vault-locked";
pub const NOTICES_EVENT: &str = "notices-changed";

/// After a failed notice run (e.g. a database error), try again this much
/// later rather than never or in a loop.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(3600);

pub fn start<R: Runtime>(app: AppHandle<R>) {
    let spawned = std::thread::Builder::new().name("kw-timer".into()).spawn(move || {
        let notifier = Notifier::with_clicks(std::sync::Arc::clone(&app.keywarden().notification_clicks));
        let mut rotation_at: Option<SystemTime> = None;
        loop {
            let state = app.keywarden();
            let lock_at = auto_lock(&app, &state);
            let notice_at = notices(&app, &state, &notifier);
            if rotation_at.is_none_or(|t| t <= SystemTime::now()) {
                rotation_at = rotation_notices(&app, &state, &notifier);
            }
            let rotate_at = partner_key_rotation(&app, &state, &notifier);
            let backup_at = backups(&state);
            // The tray's count follows the passage of time too (a credential
            // entering its expiry warning fires no notice of its own): the
            // scheduler wakes at least hourly while the vault is open.
            state.refresh_tray();
            let timer = state.timer.clone();
            timer.wait_until(
                [lock_at, notice_at, rotate_at, backup_at, rotation_at]
                    .into_iter()
                    .flatten()
                    .min(),
            );
        }
    });
    if let Err(e) = spawned {
        eprintln!("keywarden: the scheduler could not start ({e}); auto-lock and notices are off");
    }
}

/// Locks an idle vault; otherwise the instant it will be idle long enough.
fn auto_lock<R: Runtime>(app: &AppHandle<R>, state: &AppState) -> Option<SystemTime> {
    if !state.is_unlocked() {
        return None;
    }
    let (idle, limit) = (state.idle_for(), state.idle_limit());
    if idle >= limit {
        if state.lock() {
            let _ = app.emit(LOCKED_EVENT, "idle");
        }
        None
    } else {
        Some(SystemTime::now() + (limit - idle))
    }
}

/// Rotates the partner keys that reached their policy age (the successors
/// wait, sealed, for an admin to deliver them) and says so; returns when
/// the next key reaches its age.
fn partner_key_rotation<R: Runtime>(app: &AppHandle<R>, state: &AppState, notifier: &Notifier) -> Option<SystemTime> {
    let (rotated, next, vault_now) = {
        let mut slot = state.slot().ok()?;
        let vault = slot.as_mut()?;
        let rotated = vault.rotate_due_partner_keys();
        (rotated, vault.next_partner_key_rotation(), vault.now())
    };
    match rotated {
        Ok(keys) if !keys.is_empty() => {
            for notice in keys.iter().filter_map(|r| r.notice.as_ref()) {
                let _ = crate::i18n::show(notifier, state, notice);
            }
            let _ = app.emit(NOTICES_EVENT, keys.len());
            state.alert_timer.poke();
        }
        Ok(_) => {}
        Err(e) => {
            eprintln!("keywarden: partner keys due for rotation could not be rotated: {e}");
            return Some(SystemTime::now() + RETRY_AFTER_FAILURE);
        }
    }
    let next = next.ok().flatten()?;
    let wait = (next - vault_now).max(time::Duration::ZERO);
    Some(SystemTime::now() + Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

/// Fires the rotation-due notices (a credential past its policy's age):
/// looked at hourly, and when the next credential comes due. Locked: not
/// until the next unlock pokes the timer.
fn rotation_notices<R: Runtime>(app: &AppHandle<R>, state: &AppState, notifier: &Notifier) -> Option<SystemTime> {
    let (run, vault_now) = {
        let mut slot = state.slot().ok()?;
        let vault = slot.as_mut()?;
        (vault.run_rotation_notices(), vault.now())
    };
    let hourly = SystemTime::now() + Duration::from_secs(3600);
    let run = match run {
        Ok(run) => run,
        Err(e) => {
            eprintln!("keywarden: rotation-due notices could not be checked: {e}");
            return Some(hourly);
        }
    };
    for notice in &run.fired {
        let _ = crate::i18n::show(notifier, state, notice);
    }
    if !run.fired.is_empty() {
        let _ = app.emit(NOTICES_EVENT, run.fired.len());
        state.alert_timer.poke();
    }
    let next = run.next_due.map(|t| {
        let wait = (t - vault_now).max(time::Duration::ZERO);
        SystemTime::now() + Duration::try_from(wait).unwrap_or(Duration::ZERO)
    });
    Some(next.map_or(hourly, |n| n.min(hourly)))
}

/// Takes the scheduled backup when it is due (Settings → Backup: a
/// folder, an interval, how many to keep); returns when the next is due.
/// A failed one (the share not mounted) is logged and tried again in an
/// hour.
fn backups(state: &AppState) -> Option<SystemTime> {
    let mut slot = state.slot().ok()?;
    let vault = slot.as_mut()?;
    let due = vault.next_backup_due()?;
    let now = vault.now();
    let next = if due <= now {
        match vault.backup_now() {
            Ok(_) => vault.next_backup_due()?,
            Err(e) => {
                eprintln!("keywarden: the scheduled backup failed: {e}");
                return Some(SystemTime::now() + RETRY_AFTER_FAILURE);
            }
        }
    } else {
        due
    };
    let wait = (next - now).max(time::Duration::ZERO);
    Some(SystemTime::now() + Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

/// Fires the notices due now; returns when the next one is due. The vault
/// is held only for the run itself, not while notifications are shown.
fn notices<R: Runtime>(app: &AppHandle<R>, state: &AppState, notifier: &Notifier) -> Option<SystemTime> {
    let (run, vault_now) = {
        let mut slot = state.slot().ok()?;
        let vault = slot.as_mut()?;
        (vault.run_notices(), vault.now())
    };
    let run = match run {
        Ok(run) => run,
        Err(e) => {
            eprintln!("keywarden: expiry notices could not be checked: {e}");
            return Some(SystemTime::now() + RETRY_AFTER_FAILURE);
        }
    };
    // Without a notification server the notice is in the app's centre
    // only; the notifier says so once in the log.
    for notice in &run.fired {
        let _ = crate::i18n::show(notifier, state, notice);
    }
    if !run.fired.is_empty() {
        let _ = app.emit(NOTICES_EVENT, run.fired.len());
        // The notices are queued for the alert channels: send them now.
        state.alert_timer.poke();
    }
    // The vault's clock may be a test clock: wait the same span of real time.
    run.next_due.map(|t| {
        let wait = (t - vault_now).max(time::Duration::ZERO);
        SystemTime::now() + Duration::try_from(wait).unwrap_or(Duration::ZERO)
    })
}
