//! Alerts beyond this desktop, in the app: the channels (Settings →
//! Alerts) and their delivery (`kw-alerts` thread). Each notice the vault
//! fires is queued for the channels carrying it in the same write (core
//! `alerts.rs`); this thread sends what is due without holding the vault
//! while a receiver answers, records each outcome (audited), and sleeps
//! until the next retry. Any command, a health check or a notice run pokes
//! it, so an alert leaves within moments of its event.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use keywarden_connectors::alerts::{self, AlertOptions};
use keywarden_core::SecretString;
use keywarden_core::alerts::{AlertChannel, AlertDelivery, NewChannel};
use tauri::{AppHandle, Runtime};

use crate::error::IpcResult;
use crate::ipc_schema::args;
use crate::state::{AppState, KeywardenExt};

pub fn start<R: Runtime>(app: AppHandle<R>) {
    let spawned = std::thread::Builder::new().name("kw-alerts".into()).spawn(move || {
        loop {
            let state = app.keywarden();
            let next = deliver_due(&state, &AlertOptions::for_mode(state.test_mode));
            let timer = Arc::clone(&state.alert_timer);
            timer.wait_until(next);
        }
    });
    if let Err(e) = spawned {
        eprintln!("keywarden: alerts could not start ({e}); kw alert send delivers them");
    }
}

/// Sends every alert due now; returns when the next one is due.
pub fn deliver_due(state: &AppState, options: &AlertOptions) -> Option<SystemTime> {
    let epoch = state.epoch();
    let due = {
        let mut slot = state.slot().ok()?;
        slot.as_mut()?.due_alerts()
    };
    let due = match due {
        Ok(due) => due,
        Err(e) => {
            eprintln!("keywarden: alerts could not be read: {e}");
            return Some(SystemTime::now() + Duration::from_secs(60));
        }
    };
    for alert in due {
        // The receiver answers while the window keeps the vault.
        let result = alerts::send(&alert, options);
        let mut slot = state.slot().ok()?;
        let vault = slot.as_mut().filter(|_| state.epoch() == epoch)?;
        if let Err(e) = vault.record_alert(&alert, result) {
            // Its claim lapses in 2 minutes: tried again then, not at once.
            eprintln!("keywarden: an alert's delivery could not be recorded: {e}");
        }
    }
    let slot = state.slot().ok()?;
    let vault = slot.as_ref()?;
    let next = vault.next_alert_due().ok().flatten()?;
    let wait = (next - vault.now()).max(time::Duration::ZERO);
    Some(SystemTime::now() + Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

/// The alert channels (never their secret).
pub fn list_alert_channels(state: &AppState) -> IpcResult<Vec<AlertChannel>> {
    state.with_vault(|v| v.alert_channels())
}

/// The latest deliveries, newest first.
pub fn alert_deliveries(state: &AppState) -> IpcResult<Vec<AlertDelivery>> {
    state.with_vault(|v| v.alert_deliveries(50))
}

/// Adds a webhook; its URL is sealed in the vault and never shown again.
pub fn add_webhook_channel(
    state: &AppState,
    args::add_webhook_channel { name, url, events }: args::add_webhook_channel,
) -> IpcResult<AlertChannel> {
    let test_mode = state.test_mode;
    state.with_vault(|v| v.add_alert_channel(&name, &events, NewChannel::Webhook { url }, test_mode))
}

/// Adds an email channel (SMTP with STARTTLS); its password is sealed.
pub fn add_email_channel(
    state: &AppState,
    args::add_email_channel {
        name,
        config,
        password,
        events,
    }: args::add_email_channel,
) -> IpcResult<AlertChannel> {
    let test_mode = state.test_mode;
    let password = password.filter(|p: &SecretString| !keywarden_core::ExposeSecret::expose_secret(p).is_empty());
    state.with_vault(|v| v.add_alert_channel(&name, &events, NewChannel::Email { config, password }, test_mode))
}

pub fn remove_alert_channel(
    state: &AppState,
    args::remove_alert_channel { name }: args::remove_alert_channel,
) -> IpcResult<()> {
    state.with_vault(|v| v.remove_alert_channel(&name))
}

/// "Send a test alert": queued now, delivered by the alerts thread at once.
pub fn test_alert_channel(
    state: &AppState,
    args::test_alert_channel { name }: args::test_alert_channel,
) -> IpcResult<()> {
    state.with_vault(|v| v.queue_test_alert(&name))
}
