//! The app's state: where the vault lives, the open vault (or none when
//! locked), settings, and the idle clock for auto-lock.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use keywarden_core::{Actor, Error, Policy, Vault};
use tauri::{Manager, Runtime};

use crate::clipboard::Clipboard;
use crate::error::{ErrorCode, IpcError, IpcResult};
use crate::settings::Settings;

pub struct AppState {
    pub vault_dir: PathBuf,
    pub profile: Option<String>,
    /// Shared with the flows that run beside the window (Connect): they
    /// hold it only for their own steps.
    vault: Arc<Mutex<Option<Vault>>>,
    /// The OAuth Connect started from the window (oauth.rs).
    pub connects: Arc<crate::oauth::Connects>,
    /// The settings in force: the user's, overridden by the policy.
    settings: Mutex<Settings>,
    /// Why `settings.json` could not be used (damaged, unreadable), so the
    /// defaults apply: said on the settings page and at start, never
    /// silent, until the user saves settings again.
    settings_problem: Mutex<Option<String>>,
    /// The organisation's policy, read once at start (see core policy.rs).
    pub policy: Arc<Policy>,
    /// The last activity by both clocks: the monotonic one is immune to
    /// clock changes, the wall one counts a suspend; idle is the longer.
    last_activity: Mutex<(Instant, SystemTime)>,
    /// Wakes the scheduler (scheduler.rs) when something it plans by changed.
    pub timer: Arc<crate::timer::Timer>,
    /// Wakes the scheduled health checks (health.rs).
    pub health_timer: Arc<crate::timer::Timer>,
    /// Wakes the alerts' delivery (alerts.rs).
    pub alert_timer: Arc<crate::timer::Timer>,
    pub clipboard: Arc<dyn Clipboard>,
    /// Where files the app writes go: the native "Save as" dialog.
    pub save_picker: Arc<dyn crate::save_dialog::SavePicker>,
    /// Overrides the auto-lock minutes (tests of auto-lock; never longer).
    pub idle_lock_override: Option<Duration>,
    /// Test mode (KEYWARDEN_TEST_MODE=1): live checks may use plain http to
    /// 127.0.0.1, where the tests' provider fakes listen. Never otherwise.
    pub test_mode: bool,
    /// In test mode only: the vault's clock stands at this instant.
    pub test_now: Option<time::OffsetDateTime>,
    /// The embedded partner-key verifier, while the vault is open and the
    /// setting asks for it; or why it could not start.
    verifier: Mutex<Result<Option<keywarden_verifier::Running>, String>>,
    /// The signed envelope of each partner key shown this session, by key
    /// id: "Save envelope" writes the one issued, never one the page sends
    /// (a compromised page could have a file of its choosing written).
    /// Forgotten at Lock.
    envelopes: Mutex<std::collections::HashMap<String, keywarden_core::partner::Signed>>,
    /// Moves at every unlock and lock: what was read from the vault before
    /// a save dialog is written only if the same unlock is still open when
    /// the dialog closes.
    epoch: Arc<std::sync::atomic::AtomicU64>,
    /// The tray's menu, once the tray is up (tray.rs): told of each change
    /// to what it shows. None in tests and where the tray could not start.
    tray: Mutex<Option<Arc<dyn crate::tray::TrayView>>>,
    /// Whether a tray host (a panel showing tray items) is on the session
    /// bus now, as instance.rs follows it; false in tests and without a bus.
    pub tray_host: Arc<std::sync::atomic::AtomicBool>,
    /// The import screen's file previewed and its progress (import.rs).
    pub imports: Arc<crate::import::Imports>,
    /// What each native notification shown is about, for its clicks.
    pub notification_clicks: Arc<keywarden_notify::Clicks>,
}

impl AppState {
    pub fn new(vault_dir: PathBuf, profile: Option<String>, clipboard: Arc<dyn Clipboard>) -> AppState {
        let policy = Policy::load_system();
        if let keywarden_core::PolicySource::Strictest { problem, .. } = &policy.source {
            eprintln!("keywarden: the organisation's policy is broken, so the strictest policy applies: {problem}");
        }
        // The window says what follows from it, in the reader's language.
        let (settings, settings_problem) = Settings::saved(&vault_dir);
        if let Some(problem) = &settings_problem {
            eprintln!("keywarden: {problem}; the default settings apply until you save settings again");
        }
        let settings = settings.with_policy(&policy);
        AppState {
            policy: Arc::new(policy),
            vault_dir,
            profile,
            vault: Arc::new(Mutex::new(None)),
            connects: Arc::default(),
            settings: Mutex::new(settings),
            settings_problem: Mutex::new(settings_problem),
            last_activity: Mutex::new((Instant::now(), SystemTime::now())),
            // The timer is a file descriptor; if the OS refuses one the app
            // still works, with the portable fallback.
            timer: Arc::new(crate::timer::Timer::new().unwrap_or_else(|e| {
                eprintln!("keywarden: no timer from the OS ({e}); scheduling falls back to plain sleeps");
                crate::timer::Timer::fallback()
            })),
            health_timer: Arc::new(crate::timer::Timer::new().unwrap_or_else(|_| crate::timer::Timer::fallback())),
            alert_timer: Arc::new(crate::timer::Timer::new().unwrap_or_else(|_| crate::timer::Timer::fallback())),
            clipboard,
            save_picker: Arc::new(crate::save_dialog::NoDialog),
            idle_lock_override: None,
            test_mode: false,
            test_now: None,
            verifier: Mutex::new(Ok(None)),
            envelopes: Mutex::new(std::collections::HashMap::new()),
            epoch: Arc::default(),
            tray: Mutex::new(None),
            tray_host: Arc::default(),
            imports: Arc::default(),
            notification_clicks: Arc::default(),
        }
    }

    /// Keeps the envelope issued with a key, for "Save envelope".
    pub fn remember_envelope(&self, key_id: &str, envelope: keywarden_core::partner::Signed) {
        if let Ok(mut all) = self.envelopes.lock() {
            all.insert(key_id.to_owned(), envelope);
        }
    }

    /// Takes the envelope issued this session with key `key_id`: one
    /// save at a time, and none after Lock.
    pub fn take_envelope(&self, key_id: &str) -> Option<keywarden_core::partner::Signed> {
        self.envelopes.lock().ok().and_then(|mut all| all.remove(key_id))
    }

    /// The counter of unlocks, for a thread that must check later that its
    /// unlock is still the one open (an import).
    pub fn epochs(&self) -> Arc<std::sync::atomic::AtomicU64> {
        Arc::clone(&self.epoch)
    }

    /// This unlock (see `epoch`).
    pub fn epoch(&self) -> u64 {
        self.epoch.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Whether the unlock of `epoch` is still open.
    pub fn still_open(&self, epoch: u64) -> bool {
        self.epoch() == epoch && self.is_unlocked()
    }

    /// Puts back an envelope that was not saved, if the unlock it was
    /// issued in is still open: checked and done under the envelopes'
    /// lock, which a Lock takes to clear them, so none outlives it.
    pub fn return_envelope(&self, epoch: u64, key_id: &str, envelope: keywarden_core::partner::Signed) {
        if let Ok(mut all) = self.envelopes.lock()
            && self.still_open(epoch)
        {
            all.insert(key_id.to_owned(), envelope);
        }
    }

    /// Ends this unlock's epoch: its envelopes go, and what was read in it
    /// is written no more.
    fn end_epoch(&self) {
        let envelopes = self.envelopes.lock();
        self.epoch.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if let Ok(mut all) = envelopes {
            all.clear();
        }
        // The file previewed for import holds secrets in memory.
        self.imports.forget();
    }

    /// The vault folder: `KEYWARDEN_VAULT`, else the same default as `kw`.
    pub fn default_vault_dir() -> Option<PathBuf> {
        match std::env::var_os("KEYWARDEN_VAULT") {
            Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
            _ => dirs::data_dir().map(|d| d.join("keywarden").join("vault")),
        }
    }

    pub fn actor(&self) -> Actor {
        Actor::current(self.profile.clone())
    }

    pub fn touch(&self) {
        if let Ok(mut t) = self.last_activity.lock() {
            *t = (Instant::now(), SystemTime::now());
        }
    }

    pub fn idle_for(&self) -> Duration {
        self.last_activity
            .lock()
            .map(|t| t.0.elapsed().max(t.1.elapsed().unwrap_or_default()))
            .unwrap_or_default()
    }

    pub fn idle_limit(&self) -> Duration {
        let minutes = self.settings().auto_lock_minutes;
        let configured = Duration::from_secs(u64::from(minutes) * 60);
        match self.idle_lock_override {
            Some(d) if d < configured => d,
            _ => configured,
        }
    }

    pub fn settings(&self) -> Settings {
        self.settings.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The language the user reads: the setting, else the system's.
    pub fn lang(&self) -> crate::i18n::Lang {
        keywarden_core::i18n::reader_lang(&self.settings().language)
    }

    /// The settings just saved: in force, and the file sound again.
    pub fn set_settings(&self, s: Settings) {
        if let Ok(mut guard) = self.settings.lock() {
            *guard = s;
        }
        if let Ok(mut problem) = self.settings_problem.lock() {
            *problem = None;
        }
    }

    /// Why the saved settings are not in force, if they are not.
    pub fn settings_problem(&self) -> Option<String> {
        self.settings_problem.lock().ok().and_then(|p| p.clone())
    }

    /// The vault slot. A poisoned lock (a panic mid-command) keeps the
    /// vault closed rather than trusting half-done state.
    pub fn slot(&self) -> IpcResult<MutexGuard<'_, Option<Vault>>> {
        self.vault
            .lock()
            .map_err(|_| IpcError::new(ErrorCode::Internal, "the app hit an internal error; restart it"))
    }

    /// Whether nobody holds the vault right now (tests of what holds it).
    #[cfg(test)]
    pub fn vault_is_free(&self) -> bool {
        self.vault.try_lock().is_ok()
    }

    pub fn is_unlocked(&self) -> bool {
        self.vault.lock().map(|v| v.is_some()).unwrap_or(false)
    }

    /// Runs `f` on the open vault; counts as activity.
    pub fn with_vault<T>(&self, f: impl FnOnce(&mut Vault) -> Result<T, Error>) -> IpcResult<T> {
        let mut slot = self.slot()?;
        let vault = slot.as_mut().ok_or_else(IpcError::locked)?;
        self.touch();
        let out = f(vault).map_err(IpcError::from);
        // A command may have added, rotated or re-dated a credential: the
        // scheduler looks again (a few microseconds when nothing is due),
        // and so do the health checks (a new credential's first check).
        self.timer.poke();
        self.health_timer.poke();
        // A command may have fired a notice (a disable) or queued a test.
        self.alert_timer.poke();
        out
    }

    /// Starts (or stops) the embedded verifier as the settings say, on its
    /// own handle of the open vault.
    pub fn sync_verifier(&self) {
        let listen = self.settings().verifier_listen.trim().to_owned();
        let Ok(mut slot) = self.verifier.lock() else {
            return;
        };
        if let Ok(Some(running)) = std::mem::replace(&mut *slot, Ok(None)) {
            running.stop();
        }
        if listen.is_empty() {
            return;
        }
        let handle = match self.vault.lock() {
            Ok(v) => v.as_ref().map(|v| v.reopen()),
            Err(_) => None,
        };
        *slot = match handle {
            None => Ok(None),
            Some(Err(e)) => Err(e.to_string()),
            Some(Ok(vault)) => {
                // Jobs on this machine reach it over the same-user socket,
                // as they reach `kw serve` (issue 20, finding 7): no one
                // can take it over while the vault is locked, as they could
                // the loopback port.
                #[cfg(unix)]
                let started = {
                    let local = match keywarden_verifier::bind_local(&self.vault_dir.join("broker.sock")) {
                        Ok(local) => Some(local),
                        Err(e) => {
                            eprintln!("keywarden: the verifier serves TCP only: {e}");
                            None
                        }
                    };
                    keywarden_verifier::start(vault, &listen, local)
                };
                #[cfg(not(unix))]
                let started = keywarden_verifier::start(vault, &listen);
                started.map(Some).map_err(|e| e.to_string())
            }
        };
    }

    /// Where the embedded verifier listens, or why it is not running.
    pub fn verifier_status(&self) -> Option<String> {
        // Read before the verifier's lock: one lock at a time.
        let lang = self.lang();
        match self.verifier.lock().ok()?.as_ref() {
            Ok(Some(r)) => Some(crate::i18n::verifier_listening(&r.addr.to_string(), lang)),
            Ok(None) => None,
            Err(e) => Some(crate::i18n::verifier_stopped(e, lang)),
        }
    }

    /// The vault slot for a flow that runs beside the window.
    pub fn shared_vault(&self) -> crate::oauth::SharedVault {
        crate::oauth::SharedVault {
            vault: Arc::clone(&self.vault),
            timer: Arc::clone(&self.timer),
        }
    }

    pub fn set_tray(&self, view: Arc<dyn crate::tray::TrayView>) {
        if let Ok(mut tray) = self.tray.lock() {
            *tray = Some(view);
        }
    }

    pub fn has_tray(&self) -> bool {
        self.tray.lock().is_ok_and(|t| t.is_some())
    }

    /// The tray is up and a panel shows it now.
    pub fn tray_shown(&self) -> bool {
        self.has_tray() && self.tray_host.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Tells the tray what it shows now.
    pub fn show_in_tray(&self, status: crate::tray::TrayStatus) {
        let view = self.tray.lock().ok().and_then(|t| t.clone());
        if let Some(view) = view {
            view.show(status, self.lang());
        }
    }

    /// Works out what the tray shows (locked, or how many credentials need
    /// attention) and shows it; nothing without a tray. Not with the vault
    /// held by a long write: the next change shows it.
    pub fn refresh_tray(&self) {
        use crate::tray::TrayStatus;
        if !self.has_tray() {
            return;
        }
        let status = match self.vault.try_lock() {
            Ok(mut slot) => match slot.as_mut() {
                Some(vault) => match vault.list_credentials(&keywarden_core::CredentialFilter::default()) {
                    Ok(list) => TrayStatus::of(&list),
                    Err(_) => return,
                },
                None if Vault::header(&self.vault_dir).is_ok() => TrayStatus::Locked,
                None => TrayStatus::NoVault,
            },
            Err(_) => return,
        };
        self.show_in_tray(status);
    }

    /// Drops the open vault: its keys are zeroized on drop.
    pub fn lock(&self) -> bool {
        // A sign-in waiting in the browser ends with nothing stored.
        self.connects.cancel();
        // The verifier's own vault handle goes first.
        if let Ok(mut slot) = self.verifier.lock()
            && let Ok(Some(running)) = std::mem::replace(&mut *slot, Ok(None))
        {
            running.stop();
        }
        self.end_epoch();
        match self.vault.lock() {
            Ok(mut slot) => match slot.take() {
                Some(mut v) => {
                    // Audited (vault.lock) while the keys are still here.
                    if let Err(e) = v.record_lock("the app") {
                        eprintln!("keywarden: the lock could not be recorded in the audit log: {e}");
                    }
                    v.lock();
                    // No key left to protect: a debugger or a crash report
                    // may see this process again.
                    let _ = keywarden_core::process::guard_keys(false);
                    self.show_in_tray(crate::tray::TrayStatus::Locked);
                    true
                }
                None => false,
            },
            Err(_) => false,
        }
    }

    /// Installs a freshly opened vault, applying the settings to it.
    pub fn install(&self, mut vault: Vault) -> IpcResult<()> {
        // While the vault is open no other program of the user may read
        // this process's memory or dump it (`process::guard_keys`).
        if let Err(e) = keywarden_core::process::guard_keys(true) {
            eprintln!("keywarden: could not keep other programs out of this process's memory ({e})");
        }
        // The policy read at the app's start rules the vault too, and the
        // settings the window shows are put in force within it (the vault
        // applied the saved ones when it opened; a create or recovery may
        // follow a save made while no vault was open).
        vault.set_policy((*self.policy).clone());
        vault.apply_settings(&self.settings())?;
        // A broken policy file becomes a notice and an alert (once).
        if let Err(e) = vault.note_policy_problem() {
            eprintln!("keywarden: the broken policy could not be noted: {e}");
        }
        // Tests move time (KEYWARDEN_TEST_NOW): test mode only.
        if let Some(t) = self.test_now {
            vault.set_clock(Arc::new(keywarden_core::ManualClock::at(t)));
        }
        // What the vault open before held (a create or recovery over it)
        // is not this one's.
        self.end_epoch();
        *self.slot()? = Some(vault);
        self.touch();
        self.timer.poke();
        self.health_timer.poke();
        self.alert_timer.poke();
        self.sync_verifier();
        self.refresh_tray();
        Ok(())
    }
}

/// `app.keywarden()` instead of `app.state::<AppState>()` everywhere.
pub trait KeywardenExt<R: Runtime> {
    fn keywarden(&self) -> tauri::State<'_, AppState>;
}

impl<R: Runtime, T: Manager<R>> KeywardenExt<R> for T {
    fn keywarden(&self) -> tauri::State<'_, AppState> {
        self.state::<AppState>()
    }
}
