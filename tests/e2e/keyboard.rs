//! The window with the keyboard alone: the skip link, focus on each new
//! screen's heading, a credential opened from the list's table, and a
//! dialog that keeps the focus while open and gives it back when it closes.

use keywarden_core::{CredentialKind, NewCredential, SecretFields, SecretString};

use crate::alerts::vault_with_pleo;
use serde_json::json;

use crate::driver::keys::{ALT, ARROW_DOWN, ARROW_UP, CONTROL, ENTER, ESCAPE, SHIFT, TAB};
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

/// The heading that has the focus, once the new screen took it there.
fn heading(app: &crate::driver::App, text: &str) {
    app.until(&format!("the focus on the heading '{text}'"), |a| {
        let f = a.focused();
        f.tag == "h1" && f.text == text
    });
}

/// A new credential from the keyboard alone: Alt+2, New credential, the
/// type chosen with the arrow keys (`right` presses from API key), each
/// field reached with Tab and typed, "Save without checking" (no provider
/// to ask); the credential's page opens with the focus on its name.
fn add_by_keyboard(app: &crate::driver::App, right: usize, name: &str, fields: &[(&str, &str)]) {
    use crate::driver::keys::ARROW_RIGHT;
    app.chord(&[ALT, "2"]);
    heading(app, "Credentials");
    app.tab_to("New credential", |f| f.testid == "new-credential");
    app.press(&[ENTER]);
    heading(app, "New credential");
    app.tab_to("the type", |f| f.testid == "kind-api_key");
    for _ in 0..right {
        app.press(&[ARROW_RIGHT]);
    }
    app.tab_to("the name", |f| f.id == "c-name");
    app.type_keys(name);
    for (id, value) in fields {
        app.tab_to(id, |f| f.id == *id);
        app.type_keys(value);
    }
    app.tab_to("Save without checking", |f| f.testid == "save-unchecked");
    app.press(&[ENTER]);
    heading(app, name);
}

#[test]
fn the_whole_lifecycle_is_done_with_the_keyboard_alone_and_each_new_screen_takes_the_focus_to_its_heading() {
    use crate::driver::keys::SPACE;
    let dir = tempfile::tempdir().unwrap();
    let app = launch(dir.path());

    // First run: create the vault, confirm the recovery code is stored.
    app.wait("[data-screen=first-run]");
    app.tab_to("Create the vault", |f| f.testid == "create-vault");
    app.press(&[ENTER]);
    app.wait("[data-testid=recovery-code]");
    app.tab_to("I stored it", |f| f.testid == "stored-it");
    app.press(&[SPACE]);
    app.tab_to("Continue", |f| f.testid == "continue");
    app.press(&[ENTER]);
    heading(&app, "Dashboard");

    // Each type of credential.
    add_by_keyboard(&app, 0, "Keyboard API", &[("c-api-key", "pk_live_KEYBOARDONLY_0001")]);
    add_by_keyboard(
        &app,
        1,
        "Keyboard OAuth",
        &[
            ("c-client-id", "client-kb"),
            ("c-token-url", "https://login.example.com/oauth2/token"),
            ("c-client-secret", "cs_KEYBOARDONLY_0002"),
        ],
    );
    add_by_keyboard(
        &app,
        2,
        "Keyboard basic",
        &[("c-user", "ledger"), ("c-password", "pw_KEYBOARDONLY_0003")],
    );
    add_by_keyboard(
        &app,
        3,
        "Keyboard custom",
        &[("cf-name-0", "token"), ("cf-value-0", "tk_KEYBOARDONLY_0004")],
    );

    // Rotate the custom one (its page is open): offline, a new value.
    app.tab_to("Update Credentials", |f| f.testid == "update-credentials");
    app.press(&[ENTER]);
    app.wait("[data-testid=rotate-dialog]");
    app.tab_to("the new value", |f| f.id == "rot-token");
    app.type_keys("tk_KEYBOARDROTATED_0005");
    app.tab_to("offline only", |f| f.testid == "rotate-offline");
    app.press(&[SPACE]);
    app.tab_to("Validate and Save", |f| f.testid == "validate-and-save");
    app.press(&[ENTER]);
    app.until("rotated, the dialog closed", |a| {
        a.try_find("[data-testid=rotate-dialog]").is_none() && a.text("[data-testid=mask-token]").ends_with("0005")
    });
    assert_eq!(app.focused().testid, "update-credentials", "focus back where it was");

    // Test it, offline only: the box ticked, then back to the button.
    app.tab_to("Offline checks only", |f| f.testid == "test-offline");
    app.press(&[SPACE]);
    app.chord(&[SHIFT, TAB]);
    assert_eq!(app.focused().testid, "test-connection", "{:?}", app.focused());
    app.press(&[ENTER]);
    app.wait("[data-testid=check-verdict]");

    // Disable it: the reason typed, Disable; the replacement it asks for
    // is put off with Escape, and it stays disabled.
    app.tab_to("the reason", |f| f.testid == "disable-reason");
    app.type_keys("pasted in a chat");
    app.tab_to("Disable", |f| f.testid == "disable-credential");
    app.press(&[ENTER]);
    app.wait("[data-testid=replacement-prompt]");
    assert!(app.focused().in_dialog, "{:?}", app.focused());
    app.press(&[ESCAPE]);
    app.until("disabled, the dialog closed", |a| {
        a.try_find("[data-testid=rotate-dialog]").is_none() && a.body_text().contains("Disabled")
    });

    // Delete it, from the list: its name typed to confirm.
    app.chord(&[ALT, "2"]);
    heading(&app, "Credentials");
    app.tab_to("Keyboard custom in the table", |f| {
        f.tag == "button" && f.text == "Keyboard custom"
    });
    app.press(&[ENTER]);
    heading(&app, "Keyboard custom");
    app.tab_to("Delete", |f| f.testid == "delete-credential");
    app.press(&[ENTER]);
    app.wait("[data-testid=delete-dialog]");
    app.tab_to("the name to confirm", |f| f.testid == "delete-confirm-name");
    app.type_keys("Keyboard custom");
    app.tab_to("Delete for good", |f| f.testid == "delete-confirm");
    app.press(&[ENTER]);
    heading(&app, "Credentials");
    app.until("three left", |a| a.text("[data-testid=row-count]") == "3 of 3");

    // The audit log, then Settings: auto-lock set to 30 minutes and saved.
    app.chord(&[ALT, "4"]);
    heading(&app, "Audit log");
    app.until("the delete in the log", |a| a.body_text().contains("credential.delete"));
    app.chord(&[ALT, "5"]);
    heading(&app, "Settings");
    app.tab_to("Auto-lock", |f| f.testid == "auto-lock");
    app.chord(&[CONTROL, "a"]);
    app.type_keys("30");
    app.tab_to("Save settings", |f| f.testid == "save-settings");
    app.press(&[ENTER]);
    app.until("saved", |a| a.text("[data-testid=notice]").contains("saved"));
    app.chord(&[ALT, "1"]);
    heading(&app, "Dashboard");
    app.chord(&[ALT, "5"]);
    heading(&app, "Settings");
    let kept = app.script(
        "return document.querySelector('[data-testid=auto-lock]').value",
        json!([]),
    );
    assert_eq!(kept, Some(json!("30")), "the auto-lock typed was saved");

    // A partner key issued, shown once, and put away.
    app.chord(&[ALT, "7"]);
    heading(&app, "Partner keys");
    app.tab_to("the application", |f| f.testid == "pk-application");
    app.type_keys("keyboard-partner");
    app.tab_to("the scopes", |f| f.testid == "pk-scopes");
    app.type_keys("invoices:read");
    app.tab_to("Issue key", |f| f.testid == "pk-issue");
    app.press(&[ENTER]);
    app.wait("[data-testid=show-once]");
    app.tab_to("delivered", |f| f.testid == "key-delivered");
    app.press(&[SPACE]);
    app.tab_to("Done", |f| f.testid == "close-show-once");
    app.press(&[ENTER]);
    app.until("the key put away", |a| a.try_find("[data-testid=show-once]").is_none());
    app.until("listed", |a| a.find_all("[data-testid=partner-key-row]").len() == 1);
    app.chord(&[ALT, "1"]);
    heading(&app, "Dashboard");
    app.screenshot("55-keyboard-lifecycle-dashboard");
}
