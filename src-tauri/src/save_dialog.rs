//! Which file the app reads (an import) and where a file it writes goes:
//! chosen by the person in the native dialog, never named by the page.
//!
//! Where a file the app writes goes: chosen by the person in the native
//! "Save as" dialog the backend opens, never named by the page (issue 20,
//! finding 5: a compromised page could otherwise have an export or a
//! partner key's envelope written over `~/.bash_login`). The dialog is
//! Tauri's dialog plugin: GTK3 in process on Linux.

use std::path::PathBuf;
use std::sync::OnceLock;

use tauri::{AppHandle, Runtime};
use tauri_plugin_dialog::DialogExt;

/// What to ask for.
pub struct SaveAsk {
    /// The dialog's title (also the window's name, which tests look for).
    pub title: &'static str,
    /// The name proposed.
    pub file_name: String,
    /// The file type offered, and its extensions.
    pub filter: (&'static str, &'static [&'static str]),
}

pub trait SavePicker: Send + Sync {
    /// The path chosen, or `None` when the person cancelled.
    fn pick(&self, ask: &SaveAsk) -> Result<Option<PathBuf>, String>;

    /// The file chosen in an "Open" dialog (`ask.file_name` unused), or
    /// `None` when the person cancelled.
    fn pick_existing(&self, ask: &SaveAsk) -> Result<Option<PathBuf>, String>;
}

/// The native dialog, once the app is built.
pub struct NativeDialog<R: Runtime> {
    app: OnceLock<AppHandle<R>>,
}

impl<R: Runtime> Default for NativeDialog<R> {
    fn default() -> Self {
        NativeDialog { app: OnceLock::new() }
    }
}

impl<R: Runtime> NativeDialog<R> {
    pub fn attach(&self, app: AppHandle<R>) {
        let _ = self.app.set(app);
    }
}

impl<R: Runtime> SavePicker for NativeDialog<R> {
    fn pick(&self, ask: &SaveAsk) -> Result<Option<PathBuf>, String> {
        let app = self.app.get().ok_or("the app is still starting")?;
        // Blocks this (worker) thread until the dialog closes; the dialog
        // itself runs on the main thread.
        let mut dialog = app.dialog().file().set_title(ask.title);
        // The user's Downloads (or home), as browsers propose.
        if let Some(dir) = dirs::download_dir().filter(|d| d.is_dir()).or_else(dirs::home_dir) {
            dialog = dialog.set_directory(dir);
        }
        let chosen = dialog
            .set_file_name(&ask.file_name)
            .add_filter(ask.filter.0, ask.filter.1)
            .blocking_save_file();
        chosen
            .map(|p| p.into_path().map_err(|e| format!("the dialog gave no file path ({e})")))
            .transpose()
    }

    fn pick_existing(&self, ask: &SaveAsk) -> Result<Option<PathBuf>, String> {
        let app = self.app.get().ok_or("the app is still starting")?;
        let mut dialog = app.dialog().file().set_title(ask.title);
        if let Some(dir) = dirs::download_dir().filter(|d| d.is_dir()).or_else(dirs::home_dir) {
            dialog = dialog.set_directory(dir);
        }
        let chosen = dialog.add_filter(ask.filter.0, ask.filter.1).blocking_pick_file();
        chosen
            .map(|p| p.into_path().map_err(|e| format!("the dialog gave no file path ({e})")))
            .transpose()
    }
}

/// No dialog at all (before the app is built, and the mock runtime of the
/// IPC tests, which set their own picker).
pub struct NoDialog;

impl SavePicker for NoDialog {
    fn pick(&self, _: &SaveAsk) -> Result<Option<PathBuf>, String> {
        Err("no save dialog in this build".into())
    }

    fn pick_existing(&self, _: &SaveAsk) -> Result<Option<PathBuf>, String> {
        Err("no open dialog in this build".into())
    }
}
