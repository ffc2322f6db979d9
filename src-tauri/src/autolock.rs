//! Locks the vault after the configured idle time: the keys are dropped and
//! the window is told (`vault-locked`) so it shows the lock screen.

use std::time::Duration;

use tauri::{AppHandle, Emitter, Runtime};

use crate::state::KeywardenExt;

pub const LOCKED_EVENT: &str = "vault-locked";

pub fn start<R: Runtime>(app: AppHandle<R>) {
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_secs(1));
            let state = app.keywarden();
            if state.is_unlocked() && state.idle_for() >= state.idle_limit() && state.lock() {
                let _ = app.emit(LOCKED_EVENT, "idle");
            }
        }
    });
}
