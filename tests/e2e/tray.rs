//! The app in the tray. The app's real libayatana-appindicator registers
//! its item with a tray host on the test's session bus
//! (`keywarden_notify::tray_host`, a StatusNotifierWatcher as a desktop
//! panel runs one), and the test reads and clicks the item's menu over
//! `com.canonical.dbusmenu` as the panel does. The window is closed as a
//! window manager closes it: WM_DELETE_WINDOW sent to it over X11.

use std::path::Path;
use std::time::{Duration, Instant};

use keywarden_core::{AuditFilter, CredentialKind, KeySource, NewCredential, SecretFields, SecretString, Vault};
use keywarden_notify::tray_host::{self, TrayHost, TrayItem};
use serde_json::json;
use x11rb::connection::Connection as _;
use x11rb::protocol::xproto::{AtomEnum, ClientMessageEvent, ConnectionExt as _, EventMask, MapState};

use crate::alerts::{actor, vault_with_pleo};
use crate::driver::{App, Options, serial};
use crate::launch;

/// The app on `dir`'s vault, launched while the test holds the one-app
/// lock (so no other test's app sees this test's tray host).
fn launch_held(dir: &Path, held: &std::sync::MutexGuard<'static, ()>, env: &[(&str, &str)], args: &[&str]) -> App {
    App::launch_held(
        Options {
            vault_dir: dir.join("vault"),
            extra_env: env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
        },
        held,
    )
}

/// Waits (real time) until `done` holds, up to 30 s.
fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The top-level windows on `display` titled `title`: each one's id, its
/// process (_NET_WM_PID) and whether it is shown.
fn windows(display: &str, title: &str) -> Vec<(u32, u32, bool)> {
    let (conn, screen) = x11rb::connect(Some(display)).unwrap();
    let root = conn.setup().roots[screen].root;
    let atom = |name: &str| conn.intern_atom(false, name.as_bytes()).unwrap().reply().unwrap().atom;
    let (net_name, utf8, pid) = (atom("_NET_WM_NAME"), atom("UTF8_STRING"), atom("_NET_WM_PID"));
    let mut found = Vec::new();
    for w in conn.query_tree(root).unwrap().reply().unwrap().children {
        let Ok(name) = conn.get_property(false, w, net_name, utf8, 0, 256).unwrap().reply() else {
            continue;
        };
        if name.value != title.as_bytes() {
            continue;
        }
        let process = conn
            .get_property(false, w, pid, AtomEnum::CARDINAL, 0, 1)
            .unwrap()
            .reply()
            .ok()
            .and_then(|p| p.value32().and_then(|mut v| v.next()))
            .unwrap_or(0);
        let shown = conn
            .get_window_attributes(w)
            .unwrap()
            .reply()
            .is_ok_and(|a| a.map_state == MapState::VIEWABLE);
        found.push((w, process, shown));
    }
    found
}

/// Whether the window titled Keywarden is shown on `display`.
fn shown(display: &str) -> bool {
    windows(display, "Keywarden").iter().any(|w| w.2)
}

/// Closes the window as a window manager does when its X is clicked.
fn close_window(display: &str) {
    let (conn, _) = x11rb::connect(Some(display)).unwrap();
    let atom = |name: &str| conn.intern_atom(false, name.as_bytes()).unwrap().reply().unwrap().atom;
    let (protocols, delete) = (atom("WM_PROTOCOLS"), atom("WM_DELETE_WINDOW"));
    let targets = windows(display, "Keywarden");

    assert!(!targets.is_empty(), "no Keywarden window on {display}");
    for (w, _, _) in targets {
        let event = ClientMessageEvent::new(32, w, protocols, [delete, x11rb::CURRENT_TIME, 0, 0, 0]);
        conn.send_event(false, w, EventMask::NO_EVENT, event).unwrap();
    }
    // A round trip: the server has handled the send before this
    // connection closes.
    conn.get_input_focus().unwrap().reply().unwrap();
}

fn labels(item: &TrayItem) -> Vec<String> {
    tray_host::menu(item)
        .unwrap_or_default()
        .into_iter()
        .map(|e| if e.separator { "—".to_owned() } else { e.label })
        .collect()
}

fn enabled(item: &TrayItem, label: &str) -> bool {
    tray_host::menu(item)
        .unwrap_or_default()
        .iter()
        .any(|e| e.label == label && e.enabled)
}

fn vault_with_one_expired(dir: &Path) {
    let mut vault = vault_with_pleo(dir);
    for (name, expires) in [("Payroll export", -3), ("Travel cards", 200)] {
        vault
            .add_credential(NewCredential {
                name: name.into(),
                kind: Some(CredentialKind::ApiKey),
                integration: Some("Pleo production".into()),
                secrets: SecretFields::single(
                    "api_key",
                    SecretString::from(format!("pk_live_TRAY_{}_x7Kq", name.len())),
                ),
                expires_at: Some(time::OffsetDateTime::now_utc() + time::Duration::days(expires)),
                ..Default::default()
            })
            .unwrap();
    }
}

#[test]
fn closed_it_stays_in_the_tray_whose_menu_counts_what_needs_attention_opens_locks_and_quits() {
    let dir = tempfile::tempdir().unwrap();
    vault_with_one_expired(dir.path());
    let held = serial();
    let host = TrayHost::start().unwrap();
    let app = launch_held(dir.path(), &held, &[], &[]);
    app.wait("[data-screen=dashboard]");
    let display = app.display_name();
    let item = host.wait_for_item(Duration::from_secs(20)).unwrap();
    until("the tray's menu with its count", || {
        labels(&item)
            == [
                "1 credential needs attention",
                "Open Keywarden",
                "Lock",
                "—",
                "Quit Keywarden",
            ]
    });
    assert!(enabled(&item, "Lock") && !enabled(&item, "1 credential needs attention"));
    assert!(shown(&display));

    // Closed: hidden, still running (the page answers, the item is on the bus).
    close_window(&display);
    until("the window hidden", || !shown(&display));
    assert!(tray_host::item_alive(&item).unwrap());
    assert_eq!(app.script("return 6 * 7", json!([])), Some(json!(42)));

    // A second start on the same vault (Keywarden opened from the menu
    // while it runs in the tray) shows the running app's window and ends.
    let second = std::process::Command::new(crate::driver::app_binary())
        .env("DISPLAY", &display)
        .env("KEYWARDEN_VAULT", dir.path().join("vault"))
        .env("KEYWARDEN_TEST_MODE", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let ended = wait_or_kill(second, Duration::from_secs(20));
    assert!(ended.status.success(), "{ended:?}");
    assert!(
        String::from_utf8_lossy(&ended.stderr).contains("already running on this vault"),
        "{ended:?}"
    );
    until("the first app's window shown", || shown(&display));
    assert_eq!(host.items().len(), 1, "the second start put up no tray icon");
    close_window(&display);
    until("the window hidden again", || !shown(&display));

    // Lock from the tray: the vault closes, the window shows its lock
    // screen when it comes back, and the menu says so.
    tray_host::click(&item, "Lock").unwrap();
    until("the tray says locked", || {
        labels(&item).first().is_some_and(|l| l == "Locked")
    });
    assert!(!enabled(&item, "Lock"));
    app.wait("[data-screen=lock]");
    assert!(!shown(&display), "locking does not open the window");

    // Open from the tray: the window is back; unlocked, the count is back.
    tray_host::click(&item, "Open Keywarden").unwrap();
    until("the window shown again", || shown(&display));
    app.click("[data-testid=unlock]");
    app.wait("[data-screen=dashboard]");
    until("the count after the unlock", || {
        labels(&item)
            .first()
            .is_some_and(|l| l == "1 credential needs attention")
    });
    app.screenshot("60-tray-window-back");

    // The panel goes away while the window is hidden: the window comes
    // back, since nothing else would reach it.
    close_window(&display);
    until("hidden once more", || !shown(&display));
    drop(host);
    until("the window back when the tray went", || shown(&display));

    // Quit from the tray: the process ends, closing the vault on its way
    // (its lock is the last event of the audit log).
    tray_host::click(&item, "Quit Keywarden").unwrap();
    until("the app gone from the bus", || {
        !tray_host::item_alive(&item).unwrap_or(true)
    });
    let vault = Vault::open(&dir.path().join("vault"), &KeySource::Keychain, actor()).unwrap();
    let events = vault.audit_events(&AuditFilter::default()).unwrap();
    let last = |action: &str| events.iter().filter(|e| e.action == action).map(|e| e.seq).max();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert!(
        last("vault.lock").is_some() && last("vault.lock") > last("vault.open"),
        "the quit closed the vault: {actions:?}"
    );
    drop(app);
}

/// Waits for `child` to end, up to `limit`; kills it and fails if it
/// does not.
fn wait_or_kill(mut child: std::process::Child, limit: Duration) -> std::process::Output {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("the second start did not end within {limit:?}: {out:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The newest item still on the bus (an app's indicator may register
/// again after a reconnect, and apps of earlier steps leave theirs).
fn newest_alive(host: &TrayHost) -> Option<TrayItem> {
    host.items()
        .into_iter()
        .rev()
        .find(|i| tray_host::item_alive(i).unwrap_or(false))
}

#[test]
fn with_no_tray_on_the_desktop_closing_the_window_quits() {
    let dir = tempfile::tempdir().unwrap();
    vault_with_one_expired(dir.path());
    let app = launch(dir.path());
    app.wait("[data-screen=dashboard]");
    let display = app.display_name();
    let status = app
        .script_async(
            "const done = arguments[arguments.length - 1];
             window.__TAURI_INTERNALS__.invoke('app_status').then((s) => done(s.tray_shown), (e) => done(String(e)));",
            json!([]),
        )
        .unwrap();
    assert_eq!(status, json!(false), "no tray host on this bus");
    let process = windows(&display, "Keywarden")
        .first()
        .map(|w| w.1)
        .filter(|p| *p != 0)
        .expect("the window names its process");
    close_window(&display);
    until("the app's process ended", || {
        std::fs::read_to_string(format!("/proc/{process}/status"))
            .map_or(true, |s| s.lines().any(|l| l.starts_with("State:") && l.contains('Z')))
    });
    drop(app);
}

/// The login entry where the app's session looks for it.
fn login_entry() -> std::path::PathBuf {
    let config = std::env::var_os("XDG_CONFIG_HOME").expect("the test session sets XDG_CONFIG_HOME");
    Path::new(&config).join("autostart/keywarden.desktop")
}

#[test]
fn start_at_login_writes_a_login_entry_that_starts_the_app_in_the_tray_and_the_policy_can_force_it() {
    let dir = tempfile::tempdir().unwrap();
    vault_with_one_expired(dir.path());
    let entry = login_entry();
    let _ = std::fs::remove_file(&entry);
    let held = serial();
    let host = TrayHost::start().unwrap();
    {
        let app = launch_held(dir.path(), &held, &[], &[]);
        app.wait("[data-screen=dashboard]");
        app.click("[data-testid=nav-settings]");
        app.wait("[data-screen=settings]");
        assert!(app.try_find("[data-testid=no-tray]").is_none(), "a tray is shown");
        assert!(!entry.exists(), "off by default");
        app.click("[data-testid=start-at-login]");
        app.click("[data-testid=save-settings]");
        until("the login entry written", || entry.exists());
        // Quit as a person would: the app would otherwise stay in the tray.
        let item = newest_alive(&host).expect("the app's tray item");
        tray_host::click(&item, "Quit Keywarden").unwrap();
        until("the first app ended", || !tray_host::item_alive(&item).unwrap_or(true));
    }
    let text = std::fs::read_to_string(&entry).unwrap();
    let exec = text
        .lines()
        .find_map(|l| l.strip_prefix("Exec="))
        .unwrap_or_else(|| panic!("no Exec line in {text}"));
    let binary = crate::driver::app_binary();
    assert_eq!(exec, format!("\"{}\" --background", binary.display()), "{text}");

    // Started as the entry starts it: in the tray, the window hidden until
    // the tray opens it.
    {
        let app = launch_held(dir.path(), &held, &[], &["--background"]);
        let mut item = None;
        until("the second start's tray item", || {
            item = newest_alive(&host);
            item.is_some()
        });
        let item = item.unwrap();
        app.wait("[data-screen=dashboard]");
        until("its menu", || {
            labels(&item).first().is_some_and(|l| l.contains("needs attention"))
        });
        let display = app.display_name();
        assert!(!shown(&display), "started at login, the window stays hidden");
        tray_host::click(&item, "Open Keywarden").unwrap();
        until("the window opened from the tray", || shown(&display));
        app.click("[data-testid=nav-settings]");
        app.wait("[data-screen=settings]");
        app.click("[data-testid=start-at-login]");
        app.click("[data-testid=save-settings]");
        until("the login entry removed", || !entry.exists());
        tray_host::click(&item, "Quit Keywarden").unwrap();
        until("the second app ended", || !tray_host::item_alive(&item).unwrap_or(true));
    }

    // The organisation forces it: the entry is written at start, and the
    // setting is shown managed and cannot be turned off.
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, "start_at_login = true\n").unwrap();
    let policy_env = policy.to_string_lossy().into_owned();
    let app = launch_held(dir.path(), &held, &[("KEYWARDEN_POLICY_FILE", &policy_env)], &[]);
    app.wait("[data-screen=dashboard]");
    assert!(entry.exists(), "the policy's start at login is put in place at start");
    app.click("[data-testid=nav-settings]");
    app.wait("[data-screen=settings]");
    app.wait("[data-testid=managed-start_at_login]");
    let disabled = app.script(
        "const b = document.querySelector('[data-testid=start-at-login]'); return [b.checked, b.disabled];",
        json!([]),
    );
    assert_eq!(disabled, Some(json!([true, true])));
    app.screenshot("61-settings-start-at-login-managed");
    drop(app);
    std::fs::remove_file(&entry).unwrap();
}
