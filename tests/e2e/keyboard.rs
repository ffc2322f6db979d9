//! The window with the keyboard alone: the skip link, focus on each new
//! screen's heading, a credential opened from the list's table, and a
//! dialog that keeps the focus while open and gives it back when it closes.

use keywarden_core::{CredentialKind, NewCredential, SecretFields, SecretString};

use crate::alerts::vault_with_pleo;
use serde_json::json;

use crate::driver::keys::{ALT, ARROW_DOWN, ARROW_UP, ENTER, ESCAPE, TAB};
use crate::launch;

#[test]
fn the_keyboard_alone_reaches_every_screen_heading_a_row_and_a_dialog_and_focus_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut vault = vault_with_pleo(dir.path());
        for name in ["Payroll export", "Travel cards"] {
            vault
                .add_credential(NewCredential {
                    name: name.into(),
                    kind: Some(CredentialKind::ApiKey),
                    integration: Some("Pleo production".into()),
                    secrets: SecretFields::single(
                        "api_key",
                        SecretString::from(format!("pk_live_{}_KEYBOARD1", name.len())),
                    ),
                    ..Default::default()
                })
                .unwrap();
        }
    }
    let app = launch(dir.path());
    app.wait("[data-screen=dashboard]");
    app.until("the dashboard's heading has the focus", |a| {
        let f = a.focused();
        f.tag == "h1" && f.text == "Dashboard"
    });

    // From the top of the page: the skip link first, and it skips to the screen.
    app.script("document.activeElement.blur()", serde_json::json!([]));
    app.press(&[TAB]);
    assert_eq!(app.focused().testid, "skip-link", "{:?}", app.focused());
    app.press(&[ENTER]);
    assert_eq!(app.focused().id, "main", "{:?}", app.focused());

    // Alt+2: the credentials, focus on their heading; Tab into the table
    // to a credential's name and Enter opens it, focus on its heading.
    app.chord(&[ALT, "2"]);
    app.wait("[data-screen=credentials]");
    app.until("the list's heading has the focus", |a| {
        a.focused().text == "Credentials"
    });
    app.tab_to("Travel cards in the table", |f| {
        f.tag == "button" && f.text == "Travel cards"
    });
    app.press(&[ENTER]);
    app.wait("[data-screen=credential]");
    app.until("the credential's heading has the focus", |a| {
        let f = a.focused();
        f.tag == "h1" && f.text == "Travel cards"
    });
    app.screenshot("52-keyboard-credential");

    // Update Credentials from the keyboard: the dialog takes the focus and
    // keeps it through a round of Tab; Escape closes it and the focus is
    // back on the button that opened it.
    app.tab_to("Update Credentials", |f| f.testid == "update-credentials");
    app.press(&[ENTER]);
    app.wait("[data-testid=rotate-dialog]");
    assert!(app.focused().in_dialog, "{:?}", app.focused());
    for _ in 0..25 {
        app.press(&[TAB]);
        assert!(
            app.focused().in_dialog,
            "focus left the open dialog: {:?}",
            app.focused()
        );
    }
    app.screenshot("53-keyboard-rotate-dialog");
    app.press(&[ESCAPE]);
    app.until("the dialog closed", |a| {
        a.try_find("[data-testid=rotate-dialog][open]").is_none()
    });
    assert_eq!(app.focused().testid, "update-credentials", "{:?}", app.focused());
}

/// Where the focus is in the credential table: the row's name, whether
/// the sticky header hides any of it, and the scroller's position.
fn table_focus(app: &crate::driver::App) -> serde_json::Value {
    app.script(
        "const a = document.activeElement; const row = a && a.closest('tr[data-id]');
         const s = document.querySelector('[data-testid=credential-rows]');
         const head = s.querySelector('thead').getBoundingClientRect();
         const r = row ? row.getBoundingClientRect() : null;
         return { name: row ? row.dataset.name : null, tag: a ? a.tagName.toLowerCase() : 'none',
                  under_header: r ? r.top < head.bottom - 1 : false,
                  below_view: r ? r.bottom > s.getBoundingClientRect().bottom + 1 : false,
                  scroll_top: s.scrollTop };",
        json!([]),
    )
    .unwrap_or_default()
}

#[test]
fn a_long_list_keeps_the_focus_on_a_row_in_view_and_each_new_view_starts_at_its_top() {
    let dir = tempfile::tempdir().unwrap();
    crate::perf::seed(dir.path(), 400);
    let app = launch(dir.path());
    app.wait("[data-screen=dashboard]");
    app.chord(&[ALT, "2"]);
    app.until("400 rows listed", |a| a.text("[data-testid=row-count]") == "400 of 400");
    app.tab_to("the first row", |f| f.tag == "button" && f.text == sorted_name(0));

    // Down and Up walk the rows; the focused row is scrolled into view and
    // never left under the sticky header.
    for i in 1..=30 {
        app.press(&[ARROW_DOWN]);
        let at = table_focus(&app);
        assert_eq!(at["name"], json!(sorted_name(i)), "{at}");
        assert_eq!(at["below_view"], json!(false), "row {i} left below the view: {at}");
    }
    assert!(table_focus(&app)["scroll_top"].as_f64().unwrap() > 0.0);
    for i in (0..30).rev() {
        app.press(&[ARROW_UP]);
        let at = table_focus(&app);
        assert_eq!(at["name"], json!(sorted_name(i)), "{at}");
        assert_eq!(at["under_header"], json!(false), "row {i} hidden by the header: {at}");
    }

    // Scrolled far away by the wheel: the focus stays on a row (one in
    // view), not on the page's body.
    app.script(
        "document.querySelector('[data-testid=credential-rows]').scrollTop = 250 * 40;",
        json!([]),
    );
    app.until("the focus moved to a row in view", |a| {
        let at = table_focus(a);
        at["name"].is_string() && at["under_header"] == json!(false) && at["below_view"] == json!(false)
    });

    // A search after that deep scroll shows its matches from the top.
    app.fill("[data-testid=search]", "credential 0001");
    let mut seen = json!(null);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        seen = app
            .script(
                "const s = document.querySelector('[data-testid=credential-rows]'); const box = s.getBoundingClientRect();
                 const rows = [...s.querySelectorAll('tr[data-id]')];
                 return { count: document.querySelector('[data-testid=row-count]').innerText, scroll_top: s.scrollTop,
                          rendered: rows.length,
                          in_view: rows.filter((r) => { const b = r.getBoundingClientRect(); return b.bottom > box.top && b.top < box.bottom; }).length };",
                json!([]),
            )
            .unwrap_or(seen);
        // Each word must match: 00001 and 00010 to 00019.
        if seen == json!({ "count": "11 of 400", "scroll_top": 0, "rendered": 11, "in_view": 11 }) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the matches not in view: {seen}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    app.screenshot("54-keyboard-list-search-after-scroll");

    // A long page scrolled to its end; the next screen starts at its top
    // with its heading focused.
    app.chord(&[ALT, "5"]);
    app.wait("[data-screen=settings]");
    app.script(
        "const m = document.getElementById('main'); m.scrollTop = m.scrollHeight;",
        json!([]),
    );
    assert!(
        app.script("return document.getElementById('main').scrollTop", json!([]))
            .and_then(|v| v.as_f64())
            .unwrap()
            > 0.0,
        "the settings page is long enough to scroll"
    );
    app.chord(&[ALT, "4"]);
    app.wait("[data-screen=audit]");
    app.until("the audit log at its top, heading focused", |a| {
        a.focused().tag == "h1"
            && a.script("return document.getElementById('main').scrollTop", json!([])) == Some(json!(0))
    });
}

/// The name of the `i`th row in the list's order (by name): the seed's
/// Business Central credentials come first, every fourth from 00002.
fn sorted_name(i: usize) -> String {
    format!("business_central credential {:05}", 4 * i + 2)
}
