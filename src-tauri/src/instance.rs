//! One app per vault, and whether a tray is shown: a D-Bus thread of the
//! app's own.
//!
//! The app owns `no.keywarden.Desktop.v<hash of its vault folder>` on the
//! session bus. A second start on the same vault (the login entry started
//! one in the tray, then the user opens Keywarden from the menu) finds the
//! name taken, asks the first to show its window, and exits: two apps on
//! one vault would run two schedulers, two sets of backups and alerts.
//!
//! The same thread follows the tray host (`NameOwnerChanged` of
//! `org.kde.StatusNotifierWatcher`): whether one is there is a flag read
//! at a close without a bus call, and when the panel goes away while the
//! window is hidden, the window comes back (nothing else would reach it).
//! It also hears the notification server's `ActionInvoked` (a person
//! clicked one of our notifications, or its "Update Credentials"), from
//! that server only: its owner is followed like the tray host's.
//! The thread sleeps in the bus's poll: it wakes only for a message.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dbus::blocking::Connection;
use dbus::channel::{MatchingReceiver, Sender};
use dbus::message::MatchRule;
use keywarden_notify::recorder::NAME as NOTIFICATIONS;
use keywarden_notify::tray::WATCHER;

const PATH: &str = "/no/keywarden/Desktop";
const INTERFACE: &str = "no.keywarden.Desktop";

/// What the thread tells the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Another start on this vault asked for the window.
    Show,
    /// The tray host went away.
    TrayGone,
    /// Notification `id` was clicked (`action` "default") or one of its
    /// buttons pressed.
    NotificationAction { id: u32, action: String },
    /// Notification `id` is gone from the desktop.
    NotificationClosed { id: u32 },
    /// Another notification server took over (its ids start again).
    NotificationServerChanged,
}

/// Where events go; those that come before the app set it wait in
/// `Early` (a second start's Show while this one is still starting).
type Handler = Arc<Mutex<Receiver>>;

#[derive(Default)]
struct Receiver {
    f: Option<Box<dyn Fn(Event) + Send>>,
    early: Vec<Event>,
}

fn tell(handler: &Handler, event: Event) {
    if let Ok(mut h) = handler.lock() {
        match h.f.as_ref() {
            Some(f) => f(event),
            None => h.early.push(event),
        }
    }
}

/// The first app on its vault: the bus name is held while it runs.
pub struct Instance {
    /// Whether a tray host is on the bus now.
    pub tray_host: Arc<AtomicBool>,
    handler: Handler,
}

impl Instance {
    /// Where the thread's events go, once the app is built.
    pub fn on_event(&self, f: impl Fn(Event) + Send + 'static) {
        if let Ok(mut h) = self.handler.lock() {
            for event in std::mem::take(&mut h.early) {
                f(event);
            }
            h.f = Some(Box::new(f));
        }
    }
}

pub enum Start {
    First(Instance),
    /// Another app has this vault; it was asked to show its window.
    Second,
}

/// The bus name of the app on `vault_dir` (FNV-1a of its path: stable
/// across builds, so an upgraded binary finds the app it replaces).
pub fn bus_name(vault_dir: &Path) -> String {
    let path = vault_dir.canonicalize().unwrap_or_else(|_| vault_dir.to_path_buf());
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in path.as_os_str().as_encoded_bytes() {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{INTERFACE}.v{hash:016x}")
}

/// Claims the vault's bus name, or hands over to the app holding it. With
/// no session bus there is neither a tray nor a second app to find.
pub fn claim(vault_dir: &Path) -> Start {
    let tray_host = Arc::new(AtomicBool::new(false));
    let handler: Handler = Arc::default();
    let alone = || {
        Start::First(Instance {
            tray_host: Arc::new(AtomicBool::new(false)),
            handler: Arc::default(),
        })
    };
    let Ok(conn) = Connection::new_session() else {
        return alone();
    };
    let name = bus_name(vault_dir);
    match conn.request_name(name.as_str(), false, false, true) {
        Ok(dbus::blocking::stdintf::org_freedesktop_dbus::RequestNameReply::PrimaryOwner) => {}
        Ok(_) => {
            let other = conn.with_proxy(name.as_str(), PATH, Duration::from_secs(2));
            let shown: Result<(), dbus::Error> = other.method_call(INTERFACE, "Show", ());
            if let Err(e) = shown {
                eprintln!("keywarden: another Keywarden has this vault but did not answer ({e})");
            }
            return Start::Second;
        }
        Err(e) => {
            eprintln!(
                "keywarden: could not claim this vault on the session bus ({e}); a second start is not prevented"
            );
            return alone();
        }
    }
    if let Err(e) = serve(conn, tray_host.clone(), handler.clone()) {
        eprintln!("keywarden: the tray host cannot be followed ({e}); closing the window quits");
    }
    Start::First(Instance { tray_host, handler })
}

/// Follows who owns the tray host's and the notification server's names.
fn follow_owners(conn: &Connection, tray_host: Arc<AtomicBool>, server: Arc<Mutex<String>>, handler: Handler) {
    conn.start_receive(
        MatchRule::new_signal(BUS, "NameOwnerChanged"),
        Box::new(move |msg, _| {
            if msg.sender().as_deref() != Some(BUS) {
                return true;
            }
            let (name, _old, new): (String, String, String) = msg.read3().unwrap_or_default();
            if name == NOTIFICATIONS
                && let Ok(mut owner) = server.lock()
            {
                *owner = new.clone();
                // A new server numbers its notifications from 1 again.
                tell(&handler, Event::NotificationServerChanged);
            }
            if name == WATCHER {
                let now = !new.is_empty();
                let was = tray_host.swap(now, Ordering::SeqCst);
                if was && !now {
                    tell(&handler, Event::TrayGone);
                }
            }
            true
        }),
    );
}

/// Clicks on notifications and their closing, from the server only: a
/// signal another program sends straight to this app is not a click.
fn hear_notifications(conn: &Connection, server: Arc<Mutex<String>>, handler: Handler) {
    let mut signals = MatchRule::new();
    signals.msg_type = Some(dbus::message::MessageType::Signal);
    signals.interface = Some(NOTIFICATIONS.into());
    conn.start_receive(
        signals,
        Box::new(move |msg, _| {
            let from_server = server
                .lock()
                .is_ok_and(|owner| !owner.is_empty() && msg.sender().is_some_and(|s| *s == **owner));
            if !from_server {
                return true;
            }
            match msg.member().as_deref() {
                Some("ActionInvoked") => {
                    if let Ok((id, action)) = msg.read2::<u32, String>() {
                        tell(&handler, Event::NotificationAction { id, action });
                    }
                }
                Some("NotificationClosed") => {
                    if let Ok(id) = msg.read1::<u32>() {
                        tell(&handler, Event::NotificationClosed { id });
                    }
                }
                _ => {}
            }
            true
        }),
    );
}

/// Only the bus itself says who owns a name: a `NameOwnerChanged` sent by
/// another program (straight to this app) is not believed.
const BUS: &str = "org.freedesktop.DBus";

fn serve(conn: Connection, tray_host: Arc<AtomicBool>, handler: Handler) -> Result<(), String> {
    // The rules first, then the owners asked: a change between the two is
    // then heard, not missed for the whole session.
    for name in [WATCHER, NOTIFICATIONS] {
        let rule = format!("type='signal',sender='{BUS}',interface='{BUS}',member='NameOwnerChanged',arg0='{name}'");
        conn.add_match_no_cb(&rule).map_err(|e| e.to_string())?;
    }
    for member in ["ActionInvoked", "NotificationClosed"] {
        let rule = format!("type='signal',sender='{NOTIFICATIONS}',interface='{NOTIFICATIONS}',member='{member}'");
        conn.add_match_no_cb(&rule).map_err(|e| e.to_string())?;
    }
    let bus = conn.with_proxy(BUS, "/org/freedesktop/DBus", Duration::from_secs(2));
    let (owned,): (bool,) = bus
        .method_call(BUS, "NameHasOwner", (WATCHER,))
        .map_err(|e| e.to_string())?;
    tray_host.store(owned, Ordering::SeqCst);
    // Not running yet is fine: the bus starts it at the first notification.
    let server: Result<(String,), dbus::Error> = bus.method_call(BUS, "GetNameOwner", (NOTIFICATIONS,));
    let server = Arc::new(Mutex::new(server.map(|(o,)| o).unwrap_or_default()));
    follow_owners(&conn, tray_host, Arc::clone(&server), handler.clone());
    hear_notifications(&conn, server, handler.clone());
    conn.start_receive(
        MatchRule::new_method_call(),
        Box::new(move |msg, conn| {
            if msg.interface().as_deref() == Some(INTERFACE) && msg.member().as_deref() == Some("Show") {
                tell(&handler, Event::Show);
                let _ = conn.send(msg.method_return());
            } else if !msg.get_no_reply() {
                // Any other call is answered at once, not left to time out.
                let unknown = dbus::strings::ErrorName::from("org.freedesktop.DBus.Error.UnknownMethod");
                let text = std::ffi::CString::new("Keywarden answers only Show").unwrap_or_default();
                let _ = conn.send(msg.error(&unknown, &text));
            }
            true
        }),
    );
    std::thread::Builder::new()
        .name("kw-instance".into())
        .spawn(move || {
            loop {
                // Asleep in poll until a message comes.
                if conn.process(Duration::from_secs(24 * 3600)).is_err() {
                    break;
                }
            }
        })
        .map(|_| ())
        .map_err(|e| e.to_string())
}
