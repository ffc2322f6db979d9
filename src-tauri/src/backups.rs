//! Settings → Backup: "Back up now" (the schedule itself runs in the
//! scheduler, scheduler.rs). Restoring is `kw restore`: it needs the
//! recovery code, on the machine the vault moves to.

use crate::error::IpcResult;
use crate::state::AppState;

/// A verified backup into the settings' folder, now.
pub fn backup_now(state: &AppState) -> IpcResult<keywarden_core::backup::BackupReport> {
    state.with_vault(|v| v.backup_now())
}
