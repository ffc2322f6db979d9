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
//!
//! A notification about a credential carries two actions: `default` (a
//! click on it: open the credential) and `update-credentials` (a button,
//! where the server shows actions: open its Update Credentials dialog).
//! Which notification was about what is kept in `Clicks`; the app's bus
//! thread hears the server's `ActionInvoked` and asks it.

pub mod recorder;
pub mod tray;
pub mod tray_host;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use keywarden_core::Notice;

pub const APP_NAME: &str = "Keywarden";
/// How long a native call may take before the notice is left in-app only.
pub const DEADLINE: Duration = Duration::from_secs(1);

/// The action of a click on the notification itself (the spec's name).
pub const OPEN: &str = "default";
/// The "Update Credentials" button of a notification about a credential.
pub const UPDATE_CREDENTIALS: &str = "update-credentials";

/// What a notification shown is about: where a click on it leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum About {
    Credential(String),
    PartnerKey(String),
}

impl About {
    pub fn of(notice: &Notice) -> Option<About> {
        match (&notice.credential_id, &notice.partner_key_id) {
            (Some(id), _) => Some(About::Credential(id.to_string())),
            (None, Some(key)) => Some(About::PartnerKey(key.clone())),
            (None, None) => None,
        }
    }
}

/// The notifications shown lately and what each is about, by the server's
/// id: the last 256, far more than a desktop keeps on screen.
#[derive(Debug, Default)]
pub struct Clicks {
    shown: Mutex<VecDeque<(u32, About)>>,
}

impl Clicks {
    const KEPT: usize = 256;

    fn remember(&self, id: u32, about: About) {
        let mut shown = self.shown.lock().unwrap_or_else(|p| p.into_inner());
        if shown.len() == Self::KEPT {
            shown.pop_front();
        }
        shown.push_back((id, about));
    }

    /// Notification `id` closed: a click can no longer come for it.
    pub fn forget(&self, id: u32) {
        self.shown
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(i, _)| *i != id);
    }

    /// A new notification server numbers from 1 again: nothing shown
    /// before is its.
    pub fn clear(&self) {
        self.shown.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// What notification `id` is about, if this app showed it.
    pub fn about(&self, id: u32) -> Option<About> {
        let shown = self.shown.lock().unwrap_or_else(|p| p.into_inner());
        shown.iter().rev().find(|(i, _)| *i == id).map(|(_, a)| a.clone())
    }
}

/// What happened to one notice on the desktop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Shown by the notification server.
    Native,
    /// No server (or it failed or did not answer in time): in-app only.
    InAppOnly { reason: String },
}

/// What a notification's actions say (the action keys stay `OPEN` and
/// `UPDATE_CREDENTIALS` in every language).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionLabels {
    pub open: String,
    pub update_credentials: String,
}

impl ActionLabels {
    /// The labels in `lang`.
    pub fn of(lang: keywarden_core::i18n::Lang) -> ActionLabels {
        match lang {
            keywarden_core::i18n::Lang::En => ActionLabels::default(),
            keywarden_core::i18n::Lang::Nb => ActionLabels {
                open: "Åpne".into(),
                update_credentials: "Oppdater nøkkel".into(),
            },
        }
    }
}

impl Default for ActionLabels {
    fn default() -> ActionLabels {
        ActionLabels {
            open: "Open".into(),
            update_credentials: "Update Credentials".into(),
        }
    }
}

/// Sends notices natively; remembers that the server is missing so that
/// the log says it once.
#[derive(Debug, Default)]
pub struct Notifier {
    told_missing: AtomicBool,
    /// Where clicks are followed; without it no action is offered (`kw`,
    /// the verifier: nothing would answer a click).
    clicks: Option<Arc<Clicks>>,
}

impl Notifier {
    pub fn new() -> Notifier {
        Notifier::default()
    }

    /// A notifier that says in `clicks` what each notification is about.
    pub fn with_clicks(clicks: Arc<Clicks>) -> Notifier {
        Notifier {
            told_missing: AtomicBool::new(false),
            clicks: Some(clicks),
        }
    }

    /// Shows `notice` on the desktop, or says why it stays in-app only.
    /// Returns within `DEADLINE`.
    pub fn show(&self, notice: &Notice) -> Delivery {
        self.show_labelled(notice, &ActionLabels::default())
    }

    /// Like `show`, with the actions' labels in the reader's language.
    pub fn show_labelled(&self, notice: &Notice, labels: &ActionLabels) -> Delivery {
        let summary = notice.summary.clone();
        let body = notice.body.clone();
        let labels = labels.clone();
        let clicks = self.clicks.clone();
        let about = clicks.as_ref().and_then(|_| About::of(notice));
        let (tx, rx) = mpsc::channel();
        // The thread owns its D-Bus connection; if the server never
        // answers, the thread is abandoned after the deadline and ends
        // with libdbus's own reply timeout.
        let spawned = std::thread::Builder::new().name("kw-notify".into()).spawn(move || {
            let mut notification = notify_rust::Notification::new();
            notification
                .appname(APP_NAME)
                .summary(&summary)
                .body(&body)
                .icon("dialog-warning");
            // A server without actions ignores them (the spec).
            if let Some(about) = &about {
                notification.action(OPEN, &labels.open);
                if matches!(about, About::Credential(_)) {
                    notification.action(UPDATE_CREDENTIALS, &labels.update_credentials);
                }
            }
            let result = notification.show().map_err(|e| e.to_string()).map(|shown| {
                if let (Some(clicks), Some(about)) = (clicks, about) {
                    clicks.remember(shown.id(), about);
                }
            });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_click_finds_what_its_notification_was_about_among_the_last_256_shown() {
        let clicks = Clicks::default();
        for id in 1..=300 {
            clicks.remember(id, About::Credential(format!("c{id}")));
        }
        assert_eq!(clicks.about(300), Some(About::Credential("c300".into())));
        assert_eq!(clicks.about(45), Some(About::Credential("c45".into())));
        assert_eq!(clicks.about(44), None, "the oldest are forgotten");
        assert_eq!(clicks.about(301), None, "not one of ours");
        clicks.forget(300);
        assert_eq!(clicks.about(300), None, "closed");
        clicks.clear();
        assert_eq!(clicks.about(299), None, "another server");
    }
}
