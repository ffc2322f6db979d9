//! Keywarden's desktop shell: thin Tauri commands over `keywarden_core`,
//! the app state, the scheduler (auto-lock, expiry notices), and the
//! backend clipboard.

#[macro_use]
mod command_list;

pub mod alerts;
pub mod autostart;
pub mod backups;
pub mod bindings;
pub mod clipboard;
pub mod commands;
pub mod error;
pub mod health;
pub mod i18n;
pub mod import;
pub mod instance;
pub mod ipc_schema;
pub mod models;
pub mod notices;
pub mod notification_clicks;
pub mod oauth;
pub mod save_dialog;
pub mod scheduler;
pub mod settings;
pub mod state;
pub mod team_models;
pub mod timer;
pub mod tray;
mod webview_tuning;

use std::sync::Arc;
use std::time::Duration;

use tauri::{Builder, Runtime};

pub use state::AppState;

#[cfg(test)]
mod config_tests;
#[cfg(test)]
mod ipc_tests;

pub use ipc_schema::COMMANDS;

/// The app's configuration from `tauri.conf.json` (window, CSP,
/// capabilities), for the real runtime and for the mock one in tests.
pub fn context<R: Runtime>() -> tauri::Context<R> {
    tauri::generate_context!("tauri.conf.json")
}

/// Registers state, commands and the auto-lock watcher on a builder (the
/// real one in `run`, the mock one in tests).
pub fn configure<R: Runtime>(builder: Builder<R>, state: AppState) -> Builder<R> {
    builder
        .manage(state)
        .invoke_handler(ipc_schema::handler())
        .setup(|app| {
            webview_tuning::apply(app);
            scheduler::start(app.handle().clone());
            health::start(app.handle().clone());
            alerts::start(app.handle().clone());
            keep_team_token_fresh();
            Ok(())
        })
}

/// While the app runs, the team vault's token is renewed before it
/// expires (`TeamConfig::open` renews when a third of its hour is left;
/// checking every 15 minutes keeps it from lapsing). Offline or signed
/// out, nothing happens.
fn keep_team_token_fresh() {
    let spawned = std::thread::Builder::new().name("team-token".into()).spawn(|| {
        loop {
            std::thread::sleep(Duration::from_secs(15 * 60));
            if let Ok(Some(cfg)) = keywarden_team::TeamConfig::load() {
                let _ = cfg.open();
            }
        }
    });
    if let Err(e) = spawned {
        eprintln!("keywarden: the team token will be renewed only as it is used ({e})");
    }
}

pub fn run() {
    let Some(vault_dir) = AppState::default_vault_dir() else {
        eprintln!("keywarden: no user data folder on this machine; set KEYWARDEN_VAULT to a folder for the vault");
        std::process::exit(1);
    };
    // One app per vault: a second start shows the first one's window.
    let instance = match instance::claim(&vault_dir) {
        instance::Start::First(instance) => instance,
        instance::Start::Second => {
            eprintln!("keywarden: Keywarden is already running on this vault; its window was brought up");
            return;
        }
    };
    let profile = std::env::var("KEYWARDEN_PROFILE").ok();
    let mut state = AppState::new(vault_dir, profile, Arc::new(clipboard::SystemClipboard::default()));
    // Tests of auto-lock shorten the idle time; it can never lengthen it.
    state.idle_lock_override = std::env::var("KEYWARDEN_IDLE_LOCK_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map(Duration::from_secs);
    state.tray_host = instance.tray_host.clone();
    state.test_mode = keywarden_core::test_mode();
    if state.test_mode {
        state.test_now = std::env::var("KEYWARDEN_TEST_NOW")
            .ok()
            .and_then(|t| time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339).ok());
    }
    let dialog = Arc::new(save_dialog::NativeDialog::default());
    state.save_picker = dialog.clone();
    // The login entry follows the setting, and the policy that may force
    // or forbid it, from the first start on.
    if let Err(e) = autostart::apply(state.settings().start_at_login) {
        eprintln!("keywarden: start at login: {e}");
    }
    let background = std::env::args().any(|a| a == autostart::BACKGROUND);
    let builder = configure(tauri::Builder::default(), state)
        .plugin(tauri_plugin_dialog::init())
        .on_window_event(|window, event| {
            // Closing the window leaves the app in the tray, where one is shown.
            if let tauri::WindowEvent::CloseRequested { api, .. } = event
                && tray::keeps_running(tauri::Manager::app_handle(window))
            {
                api.prevent_close();
                let _ = window.hide();
            }
        });
    match builder.build(context()) {
        Ok(app) => {
            dialog.attach(app.handle().clone());
            if let Err(e) = tray::start(app.handle()) {
                eprintln!("keywarden: no tray icon ({e}); closing the window quits");
            }
            let handle = app.handle().clone();
            // A second start asked for the window: a start at login does
            // not hide it afterwards.
            let asked = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let shown_on_request = Arc::clone(&asked);
            instance.on_event(move |event| on_instance_event(&handle, &shown_on_request, event));
            // Quitting closes the vault like Lock does: its keys zeroized and
            // its rollback anchor written (the event loop ends the process
            // without dropping the state).
            app.run(move |handle, event| match event {
                // Started at login: in the tray only, where a tray is shown
                // (hidden as soon as the loop runs; a WebDriver session
                // cannot attach to a window created hidden).
                tauri::RunEvent::Ready
                    if background
                        && !asked.load(std::sync::atomic::Ordering::SeqCst)
                        && tray::keeps_running(handle) =>
                {
                    tray::hide_window(handle);
                }
                tauri::RunEvent::Exit => {
                    tauri::Manager::state::<AppState>(handle).lock();
                }
                _ => {}
            });
        }
        Err(e) => {
            eprintln!("keywarden: the window could not start: {e}");
            std::process::exit(1);
        }
    }
}

/// What the app's bus thread heard (instance.rs).
fn on_instance_event<R: tauri::Runtime>(
    handle: &tauri::AppHandle<R>,
    shown_on_request: &std::sync::atomic::AtomicBool,
    event: instance::Event,
) {
    let clicks = || std::sync::Arc::clone(&tauri::Manager::state::<AppState>(handle).notification_clicks);
    match event {
        instance::Event::Show => {
            shown_on_request.store(true, std::sync::atomic::Ordering::SeqCst);
            tray::show_window(handle);
        }
        instance::Event::TrayGone => tray::show_if_hidden(handle),
        instance::Event::NotificationAction { id, action } => notification_clicks::open(handle, id, &action),
        instance::Event::NotificationClosed { id } => clicks().forget(id),
        instance::Event::NotificationServerChanged => clicks().clear(),
    }
}
