//! The tray: where the desktop shows tray items, closing the window keeps
//! Keywarden running (its scheduler, notices, health checks, alerts and
//! verifier go on) with an icon whose menu says how many credentials need
//! attention, opens the window, locks, and quits.
//!
//! Where no panel shows tray items (GNOME without its AppIndicator
//! extension, a bare X session), a hidden window could never be found
//! again: closing it then quits, as before. Whether a panel is there is
//! followed on the bus (instance.rs), since a panel may start or stop.

use std::sync::Arc;

use keywarden_core::CredentialSummary;
use tauri::menu::{Menu, MenuEvent, MenuItem, PredefinedMenuItem};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Emitter, Manager, Runtime, WebviewWindow};

use crate::scheduler::LOCKED_EVENT;
use crate::state::AppState;

/// What the tray's first line says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayStatus {
    /// No vault yet, or it could not be read.
    NoVault,
    Locked,
    /// Unlocked: how many credentials need action.
    Attention(usize),
}

impl TrayStatus {
    /// From the list the window shows.
    pub fn of(list: &[CredentialSummary]) -> TrayStatus {
        TrayStatus::Attention(list.iter().filter(|c| c.needs_action()).count())
    }
}

/// Shows a status in the tray's menu; set in the app state once the tray
/// is up, so the state's changes reach it (and tests without a tray skip
/// it).
pub trait TrayView: Send + Sync {
    fn show(&self, status: TrayStatus, lang: crate::i18n::Lang);
}

struct Items<R: Runtime> {
    app: AppHandle<R>,
    status: MenuItem<R>,
    open: MenuItem<R>,
    lock: MenuItem<R>,
    quit: MenuItem<R>,
    // Held so the icon stays for the life of the app.
    _icon: TrayIcon<R>,
}

impl<R: Runtime> TrayView for Items<R> {
    /// Queued on the event loop, never waited for: the caller may hold the
    /// vault while the loop waits for it (Quit locks on the loop).
    fn show(&self, status: TrayStatus, lang: crate::i18n::Lang) {
        let (text, open, lock, quit) = (
            self.status.clone(),
            self.open.clone(),
            self.lock.clone(),
            self.quit.clone(),
        );
        let _ = self.app.run_on_main_thread(move || {
            let _ = text.set_text(crate::i18n::tray_status(status, lang));
            let [open_text, lock_text, quit_text] = crate::i18n::tray_items(lang);
            let _ = open.set_text(open_text);
            let _ = lock.set_text(lock_text);
            let _ = quit.set_text(quit_text);
            let _ = lock.set_enabled(matches!(status, TrayStatus::Attention(_)));
        });
    }
}

const OPEN: &str = "tray-open";
const LOCK: &str = "tray-lock";
const QUIT: &str = "tray-quit";

/// Puts up the tray icon and gives its view to the app state.
pub fn start<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let lang = app.state::<AppState>().lang();
    let [open_text, lock_text, quit_text] = crate::i18n::tray_items(lang);
    let status_text = crate::i18n::tray_status(TrayStatus::NoVault, lang);
    let status = MenuItem::with_id(app, "tray-status", status_text, false, None::<&str>)?;
    let open = MenuItem::with_id(app, OPEN, open_text, true, None::<&str>)?;
    let lock = MenuItem::with_id(app, LOCK, lock_text, false, None::<&str>)?;
    let quit = MenuItem::with_id(app, QUIT, quit_text, true, None::<&str>)?;
    let separator = PredefinedMenuItem::separator(app)?;
    let menu = Menu::with_items(app, &[&status, &open, &lock, &separator, &quit])?;
    let mut builder = TrayIconBuilder::with_id("keywarden")
        .menu(&menu)
        .tooltip("Keywarden")
        .on_menu_event(on_menu);
    if let Some(icon) = app.default_window_icon() {
        builder = builder.icon(icon.clone());
    }
    // tray-icon panics when libayatana-appindicator cannot be loaded (the
    // packages depend on it, but a build run elsewhere may lack it), and a
    // release build aborts on a panic: the app then runs without a tray,
    // and closing the window quits.
    if !indicator_loads() {
        return Err(tauri::Error::Io(std::io::Error::other(
            "libayatana-appindicator3 is not installed",
        )));
    }
    let icon = builder.build(app)?;
    let items = Items {
        app: app.clone(),
        status,
        open,
        lock,
        quit,
        _icon: icon,
    };
    let state = app.state::<AppState>();
    state.set_tray(Arc::new(items));
    state.refresh_tray();
    Ok(())
}

fn on_menu<R: Runtime>(app: &AppHandle<R>, event: MenuEvent) {
    match event.id().as_ref() {
        OPEN => show_window(app),
        LOCK => {
            // Off the event loop: the lock waits for a write in progress
            // (a backup holds the vault up to a second) and the window
            // must stay responsive meanwhile.
            let app = app.clone();
            let _ = std::thread::Builder::new().name("kw-tray-lock".into()).spawn(move || {
                if app.state::<AppState>().lock() {
                    let _ = app.emit(LOCKED_EVENT, "tray");
                }
            });
        }
        QUIT => app.exit(0),
        _ => {}
    }
}

/// Brings the window back (shown, not minimised, focused).
pub fn show_window<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = main_window(app) {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}

pub fn hide_window<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = main_window(app) {
        let _ = window.hide();
    }
}

fn main_window<R: Runtime>(app: &AppHandle<R>) -> Option<WebviewWindow<R>> {
    app.webview_windows().into_values().next()
}

/// Whether closing the window should leave the app running in the tray:
/// the setting allows it, the tray is up, and a panel shows it now.
pub fn keeps_running<R: Runtime>(app: &AppHandle<R>) -> bool {
    let state = app.state::<AppState>();
    state.tray_shown() && state.settings().keep_running_in_tray
}

/// Brings a hidden window back (a panel that showed the tray went away:
/// nothing else would reach it).
pub fn show_if_hidden<R: Runtime>(app: &AppHandle<R>) {
    if main_window(app).is_some_and(|w| !w.is_visible().unwrap_or(true)) {
        show_window(app);
    }
}

/// Whether libayatana-appindicator (or the older libappindicator) is
/// where the dynamic loader finds libraries: LD_LIBRARY_PATH, the folders
/// /etc/ld.so.conf.d names, and the system's own (multiarch included).
/// Looked up as files: loading it to see would take `unsafe`, which this
/// workspace forbids.
#[cfg(target_os = "linux")]
fn indicator_loads() -> bool {
    use std::path::PathBuf;
    let mut dirs: Vec<PathBuf> = std::env::var_os("LD_LIBRARY_PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Ok(confs) = std::fs::read_dir("/etc/ld.so.conf.d") {
        for conf in confs.flatten() {
            let text = std::fs::read_to_string(conf.path()).unwrap_or_default();
            dirs.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|l| l.starts_with('/'))
                    .map(PathBuf::from),
            );
        }
    }
    let triplet = format!("{}-linux-gnu", std::env::consts::ARCH);
    for base in ["/usr/lib", "/lib"] {
        dirs.push(PathBuf::from(base).join(&triplet));
        dirs.push(PathBuf::from(format!("{base}64")));
        dirs.push(PathBuf::from(base));
    }
    let names = ["libayatana-appindicator3.so.1", "libappindicator3.so.1"];
    dirs.iter().any(|d| names.iter().any(|n| d.join(n).is_file()))
}

#[cfg(not(target_os = "linux"))]
fn indicator_loads() -> bool {
    true
}
