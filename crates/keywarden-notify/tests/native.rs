//! Native notifications on the private session bus of the test
//! (scripts/test-session.sh): no server, a recording server, and a server
//! that never answers. One test, because they share the bus name.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use keywarden_core::{Notice, NoticeKind};
use keywarden_notify::recorder::{NAME, Recorder};
use keywarden_notify::{Delivery, Notifier};

fn notice() -> Notice {
    Notice {
        id: 1,
        credential_id: Some(uuid::Uuid::new_v4()),
        partner_key_id: None,
        credential: "Pleo API".into(),
        integration: Some("Pleo production".into()),
        version: 1,
        kind: NoticeKind::Expiring,
        threshold_days: 14,
        expires_at: Some(time::OffsetDateTime::now_utc() + time::Duration::days(13)),
        fired_at: time::OffsetDateTime::now_utc(),
        summary: "Pleo API expires in 13 days".into(),
        body: "Used by Pleo production. It expires on 2026-12-06 (UTC).".into(),
        params: Default::default(),
        read: false,
        dismissed: false,
    }
}

/// Owns the notification name and never answers a call.
fn silent_server() -> (
    std::sync::Arc<std::sync::atomic::AtomicBool>,
    std::thread::JoinHandle<()>,
) {
    use dbus::channel::MatchingReceiver;
    use std::sync::atomic::{AtomicBool, Ordering};
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let halt = stop.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    let t = std::thread::spawn(move || {
        let conn = dbus::blocking::Connection::new_session().unwrap();
        conn.request_name(NAME, false, true, true).unwrap();
        conn.start_receive(dbus::message::MatchRule::new_method_call(), Box::new(|_, _| true));
        tx.send(()).unwrap();
        while !halt.load(Ordering::SeqCst) {
            conn.process(Duration::from_millis(50)).unwrap();
        }
    });
    rx.recv().unwrap();
    (stop, t)
}

#[test]
fn native_when_a_server_listens_in_app_only_at_once_when_none_or_it_hangs() {
    let n = Notifier::new();

    // No server on the bus: in-app only, at once.
    let t = Instant::now();
    let d = n.show(&notice());
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    match d {
        Delivery::InAppOnly { reason } => assert!(reason.contains("no notification server"), "{reason}"),
        other => panic!("{other:?}"),
    }

    // A recording server: the summary and body arrive as they are.
    {
        let recorder = Recorder::start().unwrap();
        assert_eq!(n.show(&notice()), Delivery::Native);
        let shown = recorder.shown();
        assert_eq!(shown.len(), 1);
        assert_eq!(shown[0].app_name, "Keywarden");
        assert_eq!(shown[0].summary, "Pleo API expires in 13 days");
        assert!(shown[0].body.contains("Pleo production"));
    }

    // A server that never answers: given up after the deadline.
    let (stop, server) = silent_server();
    let t = Instant::now();
    let d = n.show(&notice());
    let took = t.elapsed();
    assert!(took < Duration::from_millis(1500), "{took:?}");
    assert!(matches!(d, Delivery::InAppOnly { .. }), "{d:?}");
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    server.join().unwrap();
}
