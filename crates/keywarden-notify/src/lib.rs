//! Native notifications for expiry notices.
//!
//! A notice is always in the app's notification centre (the vault's
//! `notices` table); this crate also shows it on the desktop through the
//! freedesktop notification service. That service may be missing (a
//! headless machine, a minimal session): then the call fails at once with
//! `ServiceUnknown`, the notice stays in-app only, and the absence is
//! logged once per process, not once per notice. A server that accepts
//! the call but never answers cannot hang the caller either: each call has
//! a deadline of one second.
//!
//! The text is the notice's summary and body, which name the credential
//! and its integration and never a secret or its last characters.

pub mod recorder;
pub mod tray;
pub mod tray_host;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use keywarden_core::Notice;

pub const APP_NAME: &str = "Keywarden";
/// How long a native call may take before the notice is left in-app only.
pub const DEADLINE: Duration = Duration::from_secs(1);

/// What happened to one notice on the desktop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Shown by the notification server.
    Native,
    /// No server (or it failed or did not answer in time): in-app only.
    InAppOnly { reason: String },
}

/// Sends notices natively; remembers that the server is missing so that
/// the log says it once.
#[derive(Debug, Default)]
pub struct Notifier {
    told_missing: AtomicBool,
}

impl Notifier {
    pub fn new() -> Notifier {
        Notifier::default()
    }

    /// Shows `notice` on the desktop, or says why it stays in-app only.
    /// Returns within `DEADLINE`.
    pub fn show(&self, notice: &Notice) -> Delivery {
        let summary = notice.summary.clone();
        let body = notice.body.clone();
        let (tx, rx) = mpsc::channel();
        // The thread owns its D-Bus connection; if the server never
        // answers, the thread is abandoned after the deadline and ends
        // with libdbus's own reply timeout.
        let spawned = std::thread::Builder::new().name("kw-notify".into()).spawn(move || {
            let result = notify_rust::Notification::new()
                .appname(APP_NAME)
                .summary(&summary)
                .body(&body)
                .icon("dialog-warning")
                .show()
                .map(|_| ())
                .map_err(|e| e.to_string());
            let _ = tx.send(result);
        });
        let outcome = match spawned {
            Err(e) => Err(format!("could not start the notification thread: {e}")),
            Ok(_) => match rx.recv_timeout(DEADLINE) {
                Ok(r) => r,
                Err(_) => Err("the notification server did not answer within 1 s".to_owned()),
            },
        };
        match outcome {
            Ok(()) => Delivery::Native,
            Err(reason) => {
                let reason = explain(&reason);
                if !self.told_missing.swap(true, Ordering::SeqCst) {
                    eprintln!("keywarden: desktop notifications unavailable ({reason}); notices stay in the app");
                }
                Delivery::InAppOnly { reason }
            }
        }
    }
}

/// The user-facing reason for a failed native notification.
fn explain(raw: &str) -> String {
    if raw.contains("ServiceUnknown") || raw.contains("was not provided by any .service files") {
        "no notification server on the session bus".to_owned()
    } else if raw.contains("DBUS_SESSION_BUS_ADDRESS") || raw.contains("Unable to autolaunch") {
        "no session bus".to_owned()
    } else {
        raw.to_owned()
    }
}
