//! A tray host for tests: it owns `org.kde.StatusNotifierWatcher` on the
//! session bus as a desktop panel does, records every item that registers
//! (the real libayatana-appindicator of the app, over the bus), and reads
//! and clicks an item's menu through `com.canonical.dbusmenu`, as the
//! panel does when a person opens it.
//!
//! What libayatana-appindicator needs of a watcher (its `app-indicator.c`):
//! the name, the object `/StatusNotifierWatcher`, and an empty answer to
//! `RegisterStatusNotifierItem(s)`, whose argument is the item's object
//! path (its bus name is the call's sender).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use dbus::arg::{PropMap, RefArg, Variant, prop_cast};
use dbus::blocking::Connection;
use dbus::blocking::stdintf::org_freedesktop_dbus::Properties;
use dbus::channel::{MatchingReceiver, Sender};
use dbus::message::MatchRule;

use crate::tray::WATCHER;

const ITEM: &str = "org.kde.StatusNotifierItem";
const MENU: &str = "com.canonical.dbusmenu";
const CALL: Duration = Duration::from_secs(5);

/// An item that registered: its bus name and object path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayItem {
    pub bus: String,
    pub path: String,
}

/// One entry of an item's menu as the panel shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuEntry {
    pub id: i32,
    /// The label without GTK's mnemonic underscores.
    pub label: String,
    pub enabled: bool,
    pub separator: bool,
}

pub struct TrayHost {
    items: Arc<Mutex<Vec<TrayItem>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TrayHost {
    /// Starts the watcher on the session bus of `DBUS_SESSION_BUS_ADDRESS`;
    /// returns once the name is owned.
    pub fn start() -> Result<TrayHost, String> {
        let items = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (log, halt) = (items.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let conn = match Connection::new_session() {
                Ok(c) => c,
                Err(e) => {
                    let _ = ready_tx.send(Err(e.to_string()));
                    return;
                }
            };
            if let Err(e) = conn.request_name(WATCHER, false, true, true) {
                let _ = ready_tx.send(Err(e.to_string()));
                return;
            }
            conn.start_receive(
                MatchRule::new_method_call(),
                Box::new(move |msg, conn| {
                    let reply = match (msg.interface().as_deref(), msg.member().as_deref()) {
                        (Some(WATCHER), Some("RegisterStatusNotifierItem")) => {
                            let path: String = msg.read1().unwrap_or_default();
                            let bus = msg.sender().map(|s| s.to_string()).unwrap_or_default();
                            let mut items = log.lock().unwrap_or_else(|p| p.into_inner());
                            items.push(TrayItem { bus, path });
                            msg.method_return()
                        }
                        (Some(WATCHER), Some("RegisterStatusNotifierHost")) => msg.method_return(),
                        (Some("org.freedesktop.DBus.Properties"), Some("Get")) => {
                            let (_, name): (String, String) = msg.read2().unwrap_or_default();
                            let registered = || -> Vec<String> {
                                let items = log.lock().unwrap_or_else(|p| p.into_inner());
                                items.iter().map(|i| format!("{}{}", i.bus, i.path)).collect()
                            };
                            match name.as_str() {
                                "IsStatusNotifierHostRegistered" => msg.method_return().append1(Variant(true)),
                                "ProtocolVersion" => msg.method_return().append1(Variant(0i32)),
                                "RegisteredStatusNotifierItems" => msg.method_return().append1(Variant(registered())),
                                _ => return true,
                            }
                        }
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
            Ok(Ok(())) => Ok(TrayHost {
                items,
                stop,
                thread: Some(thread),
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err("the tray host did not start within 5 s".into()),
        }
    }

    pub fn items(&self) -> Vec<TrayItem> {
        self.items.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The first item to register, waited for up to `limit`.
    pub fn wait_for_item(&self, limit: Duration) -> Result<TrayItem, String> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(item) = self.items().into_iter().next() {
                return Ok(item);
            }
            if Instant::now() > deadline {
                return Err(format!("no tray item registered within {limit:?}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for TrayHost {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Whether `item`'s process is still on the bus.
pub fn item_alive(item: &TrayItem) -> Result<bool, String> {
    let conn = Connection::new_session().map_err(|e| e.to_string())?;
    let bus = conn.with_proxy("org.freedesktop.DBus", "/org/freedesktop/DBus", CALL);
    let (has,): (bool,) = bus
        .method_call("org.freedesktop.DBus", "NameHasOwner", (item.bus.as_str(),))
        .map_err(|e| e.to_string())?;
    Ok(has)
}

/// The entries of `item`'s menu, in order, as the panel reads them.
pub fn menu(item: &TrayItem) -> Result<Vec<MenuEntry>, String> {
    let conn = Connection::new_session().map_err(|e| e.to_string())?;
    let menu_path = menu_path(&conn, item)?;
    let menu = conn.with_proxy(item.bus.as_str(), menu_path, CALL);
    type Layout = (u32, (i32, PropMap, Vec<Variant<Box<dyn RefArg>>>));
    let (_, (_, _, children)): Layout = menu
        .method_call(MENU, "GetLayout", (0i32, 1i32, Vec::<String>::new()))
        .map_err(|e| format!("GetLayout: {e}"))?;
    // Each child is a variant holding (id, properties, children).
    let ids: Vec<i32> = children
        .iter()
        .filter_map(|c| c.0.as_iter()?.next()?.as_i64())
        .filter_map(|id| i32::try_from(id).ok())
        .collect();
    let names: Vec<String> = ["label", "enabled", "visible", "type"].map(String::from).to_vec();
    let (props,): (Vec<(i32, PropMap)>,) = menu
        .method_call(MENU, "GetGroupProperties", (ids.clone(), names))
        .map_err(|e| format!("GetGroupProperties: {e}"))?;
    let mut entries = Vec::new();
    for id in ids {
        let Some((_, p)) = props.iter().find(|(i, _)| *i == id) else {
            continue;
        };
        if prop_cast::<bool>(p, "visible") == Some(&false) {
            continue;
        }
        entries.push(MenuEntry {
            id,
            label: prop_cast::<String>(p, "label")
                .map(|l| l.replace('_', ""))
                .unwrap_or_default(),
            enabled: prop_cast::<bool>(p, "enabled").copied().unwrap_or(true),
            separator: prop_cast::<String>(p, "type").is_some_and(|t| t == "separator"),
        });
    }
    Ok(entries)
}

/// Clicks the entry of `item`'s menu labelled `label`, as a person does.
pub fn click(item: &TrayItem, label: &str) -> Result<(), String> {
    let entries = menu(item)?;
    let entry = entries
        .iter()
        .find(|e| e.label == label)
        .ok_or_else(|| format!("no {label:?} in the tray menu: {entries:?}"))?;
    let conn = Connection::new_session().map_err(|e| e.to_string())?;
    let menu_path = menu_path(&conn, item)?;
    let menu = conn.with_proxy(item.bus.as_str(), menu_path, CALL);
    let () = menu
        .method_call(MENU, "Event", (entry.id, "clicked", Variant(0i32), 0u32))
        .map_err(|e| format!("Event: {e}"))?;
    Ok(())
}

fn menu_path(conn: &Connection, item: &TrayItem) -> Result<dbus::Path<'static>, String> {
    let proxy = conn.with_proxy(item.bus.as_str(), item.path.as_str(), CALL);
    proxy
        .get::<dbus::Path<'static>>(ITEM, "Menu")
        .map_err(|e| format!("the item's Menu: {e}"))
}
