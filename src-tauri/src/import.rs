//! The import screen (issue 24): another tool's plaintext export (CSV,
//! KeePass XML), the same capability as `kw credential import`. The file is
//! chosen in the native Open dialog, never named by the page; it is read,
//! parsed and checked against the vault whole, writing nothing (the
//! preview); then written all or nothing, its progress polled by the page.
//!
//! What the preview holds (the parsed credentials, their secrets in
//! `SecretString`s) stays here, never crosses to the page, and is dropped
//! at Lock, at "Cancel", at the next file chosen, and after the import.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use keywarden_core::migrate::{self, ImportDefaults, Planned, Renamed, Skipped, SourceFormat};
use keywarden_core::{CredentialKind, Error, ImportProgress};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::commands::off_runtime;
use crate::error::{ErrorCode, IpcError, IpcResult};
use crate::ipc_schema::args;
use crate::save_dialog::SaveAsk;
use crate::state::AppState;
use keywarden_connectors::tokens::VaultCell;

/// The preview lists this many of the credentials to import (and of those
/// renamed or left out), in file order; the counts say how many in all.
const PREVIEW_ROWS: usize = 200;

/// What the person sets before choosing the file: defaults for what the
/// file does not say.
#[derive(Debug, Clone, Default, Deserialize, TS)]
pub struct ImportOptions {
    /// The environment of entries that name none (else `prod`).
    pub environment: Option<String>,
    /// Added to every imported credential's own tags.
    pub tags: Vec<String>,
}

/// One credential the import would add: no secret, not even its end.
#[derive(Debug, Clone, Serialize, TS)]
pub struct PreviewRow {
    /// "line 12", "entry 7 (group Finance)".
    pub place: String,
    pub name: String,
    /// Always set once the vault's checks passed.
    pub kind: Option<CredentialKind>,
    pub environment: String,
    pub provider: String,
}

/// A dry run of the file chosen: what it would add, rename, leave out, or
/// why it is refused whole. Nothing is written until `run_import`.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ImportPreview {
    /// What `run_import` takes; null when the file is refused.
    pub id: Option<String>,
    /// The file's full path, for the reminder to destroy it.
    pub file: String,
    /// "csv" or "keepass-xml".
    pub format: String,
    /// How many credentials it would add.
    pub count: usize,
    /// The first 200 of them.
    pub credentials: Vec<PreviewRow>,
    /// The first 200 titles renamed, of `renamed_count`.
    pub renamed: Vec<Renamed>,
    pub renamed_count: usize,
    /// The first 200 entries left out, of `skipped_count`.
    pub skipped: Vec<Skipped>,
    pub skipped_count: usize,
    /// Imported without their KeePass attachments.
    pub without_attachments: Vec<Skipped>,
    /// Why the file is refused, each by its place (line, entry), never by
    /// a value; empty when it can be imported.
    pub problems: Vec<String>,
}

/// How far the import under way is (`done` of `total` steps), and how the
/// last one ended.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ImportStatus {
    pub running: bool,
    pub done: usize,
    pub total: usize,
    /// Once it ended: what it imported.
    pub outcome: Option<ImportOutcome>,
    /// Once it ended: why nothing was imported.
    pub error: Option<IpcError>,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct ImportOutcome {
    pub imported: usize,
    /// The file imported, which still holds every secret in plain text.
    pub file: String,
    pub format: String,
}

/// A checked file waiting for "Import".
struct Pending {
    id: String,
    /// The unlock it was checked in: a Lock forgets it.
    epoch: u64,
    file: String,
    format: SourceFormat,
    plan: Vec<Planned>,
}

/// The app's one import: the file previewed, the progress of the run, and
/// how it ended.
#[derive(Default)]
pub struct Imports {
    pending: Mutex<Option<Pending>>,
    running: AtomicBool,
    done: AtomicUsize,
    total: AtomicUsize,
    ended: Mutex<Option<IpcResult<ImportOutcome>>>,
}

impl Imports {
    /// Drops the file previewed (its secrets are wiped as they drop).
    pub fn forget(&self) {
        if let Ok(mut pending) = self.pending.lock() {
            pending.take();
        }
    }

    fn report(&self, p: ImportProgress) {
        self.total.store(p.total, Ordering::Relaxed);
        self.done.store(p.done, Ordering::Relaxed);
    }

    fn status(&self) -> ImportStatus {
        // `running` first: once it reads false, `ended` was set before it
        // (`Running::end`, then its drop), so the status is never "stopped"
        // without its outcome.
        let running = self.running.load(Ordering::SeqCst);
        let ended = self.ended.lock().ok().and_then(|e| e.clone());
        ImportStatus {
            running,
            done: self.done.load(Ordering::Relaxed),
            total: self.total.load(Ordering::Relaxed),
            outcome: ended.clone().and_then(Result::ok),
            error: ended.and_then(Result::err),
        }
    }
}

/// Marks the import running until dropped, whatever ends it (a panic too).
struct Running(Arc<Imports>);

impl Running {
    fn start(imports: &Arc<Imports>, total: usize) -> IpcResult<Self> {
        if imports.running.swap(true, Ordering::SeqCst) {
            return Err(IpcError::new(
                ErrorCode::Busy,
                "an import is already running; wait for it to finish",
            ));
        }
        if let Ok(mut ended) = imports.ended.lock() {
            ended.take();
        }
        imports.report(ImportProgress { done: 0, total });
        Ok(Running(Arc::clone(imports)))
    }

    /// Says how it ended, before the drop says it is no longer running: a
    /// page that sees it stopped finds the outcome.
    fn end(self, result: IpcResult<ImportOutcome>) {
        if let Ok(mut ended) = self.0.ended.lock() {
            *ended = Some(result);
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(mut ended) = self.0.ended.lock()
            && ended.is_none()
        {
            *ended = Some(Err(IpcError::new(
                ErrorCode::Internal,
                "the import stopped on an internal error; nothing was imported",
            )));
        }
        self.0.running.store(false, Ordering::SeqCst);
    }
}

/// "Choose file…": the native Open dialog, then a dry run of the file
/// chosen. `None`: the person cancelled.
pub fn choose_import_file(
    state: &AppState,
    args::choose_import_file { options }: args::choose_import_file,
) -> IpcResult<Option<ImportPreview>> {
    let epoch = state.epoch();
    if !state.still_open(epoch) {
        return Err(IpcError::locked());
    }
    let picker = std::sync::Arc::clone(&state.save_picker);
    let ask = SaveAsk {
        title: crate::i18n::dialog_title(crate::i18n::Dialog::Import, state.lang()),
        file_name: String::new(),
        filter: (crate::i18n::import_filter(state.lang()), &["csv", "xml", "txt"]),
    };
    let chosen = off_runtime(move || picker.pick_existing(&ask))
        .map_err(|e| IpcError::new(ErrorCode::Internal, format!("the open dialog could not open: {e}")))?;
    let Some(path) = chosen else {
        return Ok(None);
    };
    // A new choice replaces the file previewed before.
    state.imports.forget();
    preview(state, epoch, path, options).map(Some)
}

fn preview(state: &AppState, epoch: u64, path: PathBuf, options: ImportOptions) -> IpcResult<ImportPreview> {
    let file = path.display().to_string();
    // A pipe or a device would be read until it ends, perhaps never.
    if !std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
        return Err(IpcError::new(
            ErrorCode::InvalidInput,
            format!("{file} is not a regular file; choose the exported file itself"),
        ));
    }
    let bytes = std::fs::File::open(&path).and_then(migrate::read_export).map_err(|e| {
        IpcError::new(
            ErrorCode::InvalidInput,
            format!("{file} could not be read ({e}); choose a file you can open"),
        )
    })?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let format = SourceFormat::guess(&name, &bytes);
    let defaults = ImportDefaults {
        provider: None,
        environment: options.environment.filter(|e| !e.trim().is_empty()),
        tags: options.tags,
    };
    let mut preview = ImportPreview {
        id: None,
        file: file.clone(),
        format: format.as_str().to_owned(),
        count: 0,
        credentials: Vec::new(),
        renamed: Vec::new(),
        renamed_count: 0,
        skipped: Vec::new(),
        skipped_count: 0,
        without_attachments: Vec::new(),
        problems: Vec::new(),
    };
    let plan = match migrate::parse(format, &bytes, &defaults) {
        Ok(plan) => plan,
        Err(Error::ImportFile { problems }) => return Ok(ImportPreview { problems, ..preview }),
        Err(e) => return Err(e.into()),
    };
    drop(bytes);
    // The vault's own checks (names it has, formats, the policy), inside
    // an Ok so that a file's problems stay a list for the page.
    match state.with_vault(|v| Ok(v.check_import(&plan.credentials)))? {
        Ok(()) => {}
        Err(Error::ImportFile { problems }) => preview.problems = problems,
        Err(e) => return Err(e.into()),
    }
    if plan.credentials.is_empty() && preview.problems.is_empty() {
        preview.problems.push(format!(
            "there is nothing to import: no entry of the file holds a secret ({} left out)",
            plan.skipped.len()
        ));
    }
    preview.renamed_count = plan.renamed.len();
    preview.skipped_count = plan.skipped.len();
    preview.renamed = plan.renamed.into_iter().take(PREVIEW_ROWS).collect();
    preview.skipped = plan.skipped.into_iter().take(PREVIEW_ROWS).collect();
    preview.without_attachments = plan.without_attachments;
    if preview.problems.is_empty() {
        // Only a file that can be imported shows its rows: a refused one
        // may have its columns mislabelled, a secret under "provider".
        preview.count = plan.credentials.len();
        preview.credentials = plan.credentials.iter().take(PREVIEW_ROWS).map(row_of).collect();
        let id = uuid::Uuid::new_v4().to_string();
        preview.id = Some(id.clone());
        let mut pending = state
            .imports
            .pending
            .lock()
            .map_err(|_| IpcError::new(ErrorCode::Internal, "the app hit an internal error; restart it"))?;
        // Kept only if the vault is still the one it was checked against.
        if !state.still_open(epoch) {
            return Err(IpcError::locked());
        }
        *pending = Some(Pending {
            id,
            epoch,
            file,
            format,
            plan: plan.credentials,
        });
    }
    Ok(preview)
}

fn row_of(p: &Planned) -> PreviewRow {
    let c = &p.credential;
    PreviewRow {
        place: p.place.clone(),
        name: c.name.clone(),
        kind: c.kind,
        // As the vault stores them (an import serves no integration yet).
        environment: c
            .environment
            .as_deref()
            .map_or("prod".into(), |e| e.trim().to_lowercase()),
        provider: c
            .provider
            .as_deref()
            .map_or("generic".into(), |p| p.trim().to_lowercase()),
    }
}

pub fn import_status(state: &AppState) -> IpcResult<ImportStatus> {
    let status = state.imports.status();
    // The person is watching the bar: not idle.
    if status.running {
        state.touch();
    }
    Ok(status)
}

/// "Import": writes the file previewed as `id`, all or nothing, in a
/// thread of its own (no IPC worker waits for it, so the page's polls of
/// `import_status` are answered while it runs); answers at once.
pub fn run_import(state: &AppState, args::run_import { id }: args::run_import) -> IpcResult<ImportStatus> {
    // Refused while one runs, before the preview is taken from its slot.
    if state.imports.running.load(Ordering::SeqCst) {
        return Err(IpcError::new(
            ErrorCode::Busy,
            "an import is already running; wait for it to finish",
        ));
    }
    let pending = {
        let mut slot = state
            .imports
            .pending
            .lock()
            .map_err(|_| IpcError::new(ErrorCode::Internal, "the app hit an internal error; restart it"))?;
        match slot.take() {
            Some(p) if p.id == id => p,
            other => {
                *slot = other;
                return Err(IpcError::new(
                    ErrorCode::Stale,
                    "that preview is gone (the vault locked, or another file was chosen); choose the file again",
                ));
            }
        }
    };
    if !state.still_open(pending.epoch) {
        return Err(IpcError::locked());
    }
    // Each credential checked, then written, then the commit.
    let total = 2 * pending.plan.len() + 1;
    let running = Running::start(&state.imports, total)?;
    state.touch();
    let cell = state.shared_vault();
    let epochs = state.epochs();
    let health = Arc::clone(&state.health_timer);
    let imports = Arc::clone(&state.imports);
    std::thread::Builder::new()
        .name("kw-import".into())
        .spawn(move || {
            let format = pending.format.as_str();
            let result = cell.with(|v| {
                // Locked (and perhaps opened again) before this thread got
                // the vault: what was checked in that unlock is not written.
                if epochs.load(Ordering::SeqCst) != pending.epoch {
                    return Err(keywarden_core::Error::invalid(
                        "vault",
                        "the vault was locked before the import began; nothing was imported. Choose the file again",
                    ));
                }
                v.import_credentials_reporting(pending.plan, format, &mut |p| {
                    imports.report(ImportProgress { done: p.done, total })
                })
            });
            if result.is_ok() {
                imports.report(ImportProgress { done: total, total });
            }
            // The new credentials' first checks (the scheduler was poked).
            health.poke();
            running.end(result.map_err(IpcError::from).map(|imported| ImportOutcome {
                imported,
                file: pending.file,
                format: format.to_owned(),
            }));
        })
        .map_err(|e| IpcError::new(ErrorCode::Internal, format!("the import could not start: {e}")))?;
    Ok(state.imports.status())
}

/// "Cancel", or the reminder read: the file previewed and the last
/// import's outcome are forgotten.
pub fn discard_import(state: &AppState) -> IpcResult<()> {
    state.imports.forget();
    if !state.imports.running.load(Ordering::SeqCst)
        && let Ok(mut ended) = state.imports.ended.lock()
    {
        ended.take();
    }
    Ok(())
}
