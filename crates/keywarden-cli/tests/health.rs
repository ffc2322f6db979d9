//! `kw health check` as a systemd timer runs it, against the Pleo fake on
//! 127.0.0.1 (the documented 200 and 401 of `GET /v1/introspect`) and a
//! notification recorder on the test's private session bus. Time moves
//! with KEYWARDEN_TEST_NOW from one due check to the next, as the timer
//! would find them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::timed::TimedKw;

use keywarden_connectors::fakes::FakePleo;
use keywarden_notify::recorder::Recorder;
use time::OffsetDateTime;

const ACME: &str = "6c0e3f4a-1b2c-4d5e-8f90-a1b2c3d4e5f6";
const KEY: &str = "pk_live_HEALTHCANARY_Qz81LmWx";

#[test]
fn a_key_revoked_at_pleo_is_found_by_the_timer_said_once_cleared_by_a_pass_and_offline_raises_nothing() {
    let recorder = Recorder::start().unwrap();
    let pleo = FakePleo::start(&[KEY], ACME, false).unwrap();
    let kw = TimedKw::new(|args| args.contains(&"health") || args.contains(&"notices"));
    kw.ok_at(&["init"], "", None);
    kw.ok_at(
        &[
            "integration",
            "add",
            "Pleo",
            "--provider",
            "pleo",
            "--base-url",
            &pleo.base,
            "--tenant-id",
            ACME,
        ],
        "",
        None,
    );
    kw.ok_at(
        &[
            "credential",
            "add",
            "Pleo API",
            "--type",
            "api-key",
            "--integration",
            "Pleo",
        ],
        KEY,
        None,
    );
    let mut at = OffsetDateTime::now_utc();
    let requests = pleo.seen().len();
    // Just checked when it was saved: nothing due yet, nothing asked.
    let first = kw.json_at(&["health", "check"], Some(at));
    assert_eq!(first["checked"].as_array().unwrap().len(), 0, "{first}");
    assert_eq!(pleo.seen().len(), requests);

    // Daily, at the credential's own time of day.
    let passed = kw.next_run(&mut at);
    assert_eq!(passed["check"]["outcome"]["result"], "valid", "{passed}");
    assert_eq!(passed["check"]["scheduled"], true);
    let day_one = at;
    assert_eq!(pleo.seen().len(), requests + 1);

    // Revoked at Pleo: nobody presses a button; the timer finds it.
    pleo.revoke(KEY);
    for n in 1..=3u64 {
        let failed = kw.next_run(&mut at);
        assert_eq!(
            failed["check"]["outcome"]["failure"]["kind"], "invalid_credential",
            "{failed}"
        );
        assert_eq!(failed["consecutive_auth_failures"], n);
        assert_eq!(failed["notice"].is_null(), n < 3, "{failed}");
    }
    assert_eq!(at - day_one, time::Duration::days(3));
    assert_eq!(kw.status("Pleo API", at), "error");
    let shown = recorder.shown();
    let reconnect: Vec<_> = shown.iter().filter(|s| s.summary.contains("reconnected")).collect();
    assert_eq!(reconnect.len(), 1, "{shown:?}");
    assert!(reconnect[0].body.contains("Pleo"), "{:?}", reconnect[0]);
    // Still refused: checked again, not said again.
    kw.next_run(&mut at);
    assert_eq!(recorder.shown().len(), shown.len());
    let notices = kw.json_at(&["expiry", "notices"], Some(at));
    let kinds: Vec<&str> = notices
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["reconnection_required"]);

    // A working key again at Pleo: the next pass clears the error.
    pleo.accept(KEY, ACME);
    let cleared = kw.next_run(&mut at);
    assert_eq!(cleared["status"], "active", "{cleared}");
    assert_eq!(kw.status("Pleo API", at), "active");

    // One failure, then the network goes for a day: tried again after
    // 1, 2, 4, 8 hours…, never counted, never said.
    pleo.revoke(KEY);
    kw.next_run(&mut at);
    pleo.stop();
    let mut went = None;
    let mut tries = 0;
    while went.is_none_or(|w| at - w < time::Duration::days(1)) {
        let r = kw.next_run(&mut at);
        tries += 1;
        assert_eq!(r["check"]["outcome"]["failure"]["kind"], "unreachable", "{r}");
        assert_eq!(r["consecutive_auth_failures"], 1);
        assert!(r["notice"].is_null());
        went.get_or_insert(at);
    }
    assert!((5..=6).contains(&tries), "{tries} tries in a day offline");
    assert_eq!(kw.status("Pleo API", at), "active");
    assert_eq!(recorder.shown().len(), shown.len());

    // The secret, or its last 4, never in a check's output, a notice or a
    // notification.
    let printed = kw.printed.borrow();
    for shown in recorder.shown() {
        assert!(!format!("{shown:?}").contains("Wx"), "{shown:?}");
    }
    assert!(
        !printed.contains(KEY) && !printed.contains("LmWx"),
        "the key in kw's output"
    );
}
