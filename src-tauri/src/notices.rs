//! The notification centre's commands: its notices in the user's
//! language, read and dismissed.

use keywarden_core::Notice;

use crate::error::IpcResult;
use crate::ipc_schema::args;
use crate::state::AppState;

/// The notification centre, newest first.
pub fn list_notices(
    state: &AppState,
    args::list_notices { include_dismissed }: args::list_notices,
) -> IpcResult<Vec<Notice>> {
    let lang = state.lang();
    let notices = state.with_vault(|v| v.notices(include_dismissed))?;
    Ok(notices.into_iter().map(|n| crate::i18n::notice(n, lang)).collect())
}

pub fn mark_notices_read(state: &AppState) -> IpcResult<usize> {
    state.with_vault(|v| v.mark_notices_read())
}

pub fn dismiss_notice(state: &AppState, args::dismiss_notice { id }: args::dismiss_notice) -> IpcResult<()> {
    state.with_vault(|v| v.dismiss_notice(id))
}
