//! A notification server for tests: it owns `org.freedesktop.Notifications`
//! on the session bus and records every `Notify` call (summary and body),
//! so a test can assert what a person would have seen.

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
    pub app_name: String,
    pub summary: String,
    pub body: String,
}

pub struct Recorder {
    shown: Arc<Mutex<Vec<Shown>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Recorder {
    /// Starts the server on the session bus of `DBUS_SESSION_BUS_ADDRESS`;
    /// returns once the name is owned.
    pub fn start() -> Result<Recorder, String> {
        let shown = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (log, halt) = (shown.clone(), stop.clone());
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
                            let mut shown = log.lock().unwrap_or_else(|p| p.into_inner());
                            shown.push(Shown {
                                app_name,
                                summary,
                                body,
                            });
                            msg.method_return().append1(shown.len() as u32)
                        }
                        Some("GetCapabilities") => msg.method_return().append1(vec!["body".to_owned()]),
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
                if conn.process(Duration::from_millis(50)).is_err() {
                    break;
                }
            }
        });
        match ready_rx.recv_timeout(Duration::from_secs(5)) {
            Ok(Ok(())) => Ok(Recorder {
                shown,
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
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
