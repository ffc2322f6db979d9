//! The app's state: where the vault lives, the open vault (or none when
//! locked), settings, and the idle clock for auto-lock.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use keywarden_core::{Actor, Error, Vault};
use tauri::{Manager, Runtime};

use crate::clipboard::Clipboard;
use crate::error::{ErrorCode, IpcError, IpcResult};
use crate::settings::Settings;

pub struct AppState {
    pub vault_dir: PathBuf,
    pub profile: Option<String>,
    vault: Mutex<Option<Vault>>,
    settings: Mutex<Settings>,
    last_activity: Mutex<Instant>,
    pub clipboard: Arc<dyn Clipboard>,
    /// Overrides the auto-lock minutes (tests of auto-lock; never longer).
    pub idle_lock_override: Option<Duration>,
    /// Test mode (KEYWARDEN_TEST_MODE=1): live checks may use plain http to
    /// 127.0.0.1, where the tests' provider fakes listen. Never otherwise.
    pub test_mode: bool,
}

impl AppState {
    pub fn new(vault_dir: PathBuf, profile: Option<String>, clipboard: Arc<dyn Clipboard>) -> AppState {
        let settings = Settings::load(&vault_dir).unwrap_or_default();
        AppState {
            vault_dir,
            profile,
            vault: Mutex::new(None),
            settings: Mutex::new(settings),
            last_activity: Mutex::new(Instant::now()),
            clipboard,
            idle_lock_override: None,
            test_mode: false,
        }
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
            *t = Instant::now();
        }
    }

    pub fn idle_for(&self) -> Duration {
        self.last_activity.lock().map(|t| t.elapsed()).unwrap_or_default()
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

    pub fn set_settings(&self, s: Settings) {
        if let Ok(mut guard) = self.settings.lock() {
            *guard = s;
        }
    }

    /// The vault slot. A poisoned lock (a panic mid-command) keeps the
    /// vault closed rather than trusting half-done state.
    pub fn slot(&self) -> IpcResult<MutexGuard<'_, Option<Vault>>> {
        self.vault
            .lock()
            .map_err(|_| IpcError::new(ErrorCode::Internal, "the app hit an internal error; restart it"))
    }

    pub fn is_unlocked(&self) -> bool {
        self.vault.lock().map(|v| v.is_some()).unwrap_or(false)
    }

    /// Runs `f` on the open vault; counts as activity.
    pub fn with_vault<T>(&self, f: impl FnOnce(&mut Vault) -> Result<T, Error>) -> IpcResult<T> {
        let mut slot = self.slot()?;
        let vault = slot.as_mut().ok_or_else(IpcError::locked)?;
        self.touch();
        f(vault).map_err(IpcError::from)
    }

    /// Drops the open vault: its keys are zeroized on drop.
    pub fn lock(&self) -> bool {
        match self.vault.lock() {
            Ok(mut slot) => match slot.take() {
                Some(v) => {
                    v.lock();
                    true
                }
                None => false,
            },
            Err(_) => false,
        }
    }

    /// Installs a freshly opened vault, applying the settings to it.
    pub fn install(&self, mut vault: Vault) -> IpcResult<()> {
        let settings = self.settings();
        vault.set_expiring_within_days(i64::from(settings.expiring_within_days))?;
        vault.set_auth_failure_threshold(settings.auth_failure_threshold)?;
        *self.slot()? = Some(vault);
        self.touch();
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
