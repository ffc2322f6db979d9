//! A notification server for tests: it owns `org.freedesktop.Notifications`
//! on the session bus and records every `Notify` call (summary and body),
//! so a test can assert what a person would have seen; and clicks one as
//! a person would (`click`: the server's `ActionInvoked` signal). It says
//! it shows actions, as GNOME Shell and KDE Plasma do.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use dbus::blocking::Connection;
use dbus::channel::{MatchingReceiver, Sender};
use dbus::message::MatchRule;

pub const NAME: &str = "org.freedesktop.Notifications";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// The id the server gave it.
    pub id: u32,
    pub app_name: String,
    pub summary: String,
    pub body: String,
    /// The action keys offered, in order.
    pub actions: Vec<String>,
    /// What each action says, in the same order.
    pub action_labels: Vec<String>,
}

pub struct Recorder {
    shown: Arc<Mutex<Vec<Shown>>>,
    /// Clicks to send: (notification id, action key).
    clicks: Arc<Mutex<Vec<(u32, String)>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Recorder {
    /// Starts the server on the session bus of `DBUS_SESSION_BUS_ADDRESS`;
    /// returns once the name is owned.
    pub fn start() -> Result<Recorder, String> {
        let shown = Arc::new(Mutex::new(Vec::new()));
        let clicks = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (log, halt, to_click) = (shown.clone(), stop.clone(), clicks.clone());
        let thread = std::thread::spawn(move || {
            let conn = match Connection::new_session() {
                Ok(c) => c,
                Err(e) => {
                    let _ = ready_tx.send(Err(e.to_string()));
                    return;
                }
            };
            if let Err(e) = conn.request_name(NAME, false, true, true) {
                let _ = ready_tx.send(Err(e.to_string()));
                return;
            }
            conn.start_receive(
                MatchRule::new_method_call(),
                Box::new(move |msg, conn| {
                    let reply = match msg.member().as_deref() {
                        Some("Notify") => {
                            let mut args = msg.iter_init();
                            let app_name: String = args.read().unwrap_or_default();
                            let _replaces: u32 = args.read().unwrap_or_default();
                            let _icon: String = args.read().unwrap_or_default();
                            let summary: String = args.read().unwrap_or_default();
                            let body: String = args.read().unwrap_or_default();
                            let offered: Vec<String> = args.read().unwrap_or_default();
                            let mut shown = log.lock().unwrap_or_else(|p| p.into_inner());
                            let id = shown.len() as u32 + 1;
                            shown.push(Shown {
                                id,
                                app_name,
                                summary,
                                body,
                                // Key, label, key, label…
                                actions: offered.iter().step_by(2).cloned().collect(),
                                action_labels: offered.iter().skip(1).step_by(2).cloned().collect(),
                            });
                            msg.method_return().append1(id)
                        }
                        Some("GetCapabilities") => msg
                            .method_return()
                            .append1(vec!["body".to_owned(), "actions".to_owned()]),
                        Some("GetServerInformation") => msg
                            .method_return()
                            .append3("keywarden-recorder", "keywarden", "1.0")
                            .append1("1.2"),
                        Some("CloseNotification") => msg.method_return(),
                        _ => return true,
                    };
                    let _ = conn.send(reply);
                    true
                }),
            );
            let _ = ready_tx.send(Ok(()));
            while !halt.load(Ordering::SeqCst) {
                let due = std::mem::take(&mut *to_click.lock().unwrap_or_else(|p| p.into_inner()));
                for (id, action) in due {
                    let Ok(signal) = dbus::Message::new_signal("/org/freedesktop/Notifications", NAME, "ActionInvoked")
                    else {
                        continue;
                    };
                    let _ = conn.send(signal.append2(id, action));
                }
                if conn.process(Duration::from_millis(50)).is_err() {
                    break;
                }
            }
        });
        match ready_rx.recv_timeout(Duration::from_secs(5)) {
            Ok(Ok(())) => Ok(Recorder {
                shown,
                clicks,
                stop,
                thread: Some(thread),
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err("the recorder did not start within 5 s".into()),
        }
    }

    pub fn shown(&self) -> Vec<Shown> {
        self.shown.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Another program on the bus poses as the server: it broadcasts
    /// `ActionInvoked` for notification `id`, and sends each program whose
    /// bus name starts with `prefix` a `NameOwnerChanged` naming itself the
    /// server's owner, then the `ActionInvoked`, straight to it. None of it
    /// is a click.
    pub fn forge_click(id: u32, action: &str, prefix: &str) -> Result<(), String> {
        let conn = Connection::new_session().map_err(|e| e.to_string())?;
        let me = conn.unique_name().to_string();
        let click = || dbus::Message::new_signal("/org/freedesktop/Notifications", NAME, "ActionInvoked");
        conn.send(click()?.append2(id, action))
            .map_err(|()| "the signal was not sent".to_owned())?;
        let bus = conn.with_proxy("org.freedesktop.DBus", "/org/freedesktop/DBus", Duration::from_secs(2));
        let (names,): (Vec<String>,) = bus
            .method_call("org.freedesktop.DBus", "ListNames", ())
            .map_err(|e| e.to_string())?;
        for target in names.iter().filter(|n| n.starts_with(prefix)) {
            let owner = dbus::Message::new_signal("/org/freedesktop/DBus", "org.freedesktop.DBus", "NameOwnerChanged")?
                .append3(NAME, "", me.as_str());
            let direct = click()?.append2(id, action);
            for mut signal in [owner, direct] {
                signal.set_destination(Some(target.as_str().into()));
                conn.send(signal).map_err(|()| "the signal was not sent".to_owned())?;
            }
        }
        // Out of the queue before the connection closes.
        conn.channel().flush();
        Ok(())
    }

    /// A person clicks notification `id` (`action` "default") or one of
    /// its buttons: the server says so to the whole bus, within 50 ms.
    pub fn click(&self, id: u32, action: &str) {
        self.clicks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((id, action.to_owned()));
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
