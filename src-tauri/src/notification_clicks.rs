//! A click on one of the app's native notifications (issue 24): the window
//! comes back on what the notification is about — the credential, or its
//! "Update Credentials" dialog when that button was pressed, or the
//! partner key. The server's `ActionInvoked` reaches the app through its
//! bus thread (instance.rs); `Clicks` says what each notification was
//! about, so a click on someone else's notification does nothing.

use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, Runtime};

use keywarden_notify::{About, OPEN, UPDATE_CREDENTIALS};

use crate::state::AppState;

/// The event the page hears: go to this screen.
pub const OPEN_EVENT: &str = "open-from-notification";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenRequest {
    /// "credential" or "partner-key".
    pub screen: &'static str,
    pub id: String,
    /// The "Update Credentials" button: open its dialog too.
    pub update: bool,
}

/// Where a click on notification `id` leads, if it is one of ours.
pub fn request_for(state: &AppState, id: u32, action: &str) -> Option<OpenRequest> {
    let update = match action {
        OPEN => false,
        UPDATE_CREDENTIALS => true,
        _ => return None,
    };
    Some(match state.notification_clicks.about(id)? {
        About::Credential(id) => OpenRequest {
            screen: "credential",
            id,
            update,
        },
        About::PartnerKey(id) => OpenRequest {
            screen: "partner-key",
            id,
            update: false,
        },
    })
}

pub fn open<R: Runtime>(app: &AppHandle<R>, id: u32, action: &str) {
    let Some(request) = request_for(&app.state::<AppState>(), id, action) else {
        return;
    };
    crate::tray::show_window(app);
    let _ = app.emit(OPEN_EVENT, request);
}
