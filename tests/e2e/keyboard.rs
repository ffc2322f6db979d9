//! The window with the keyboard alone: the skip link, focus on each new
//! screen's heading, a credential opened from the list's table, and a
//! dialog that keeps the focus while open and gives it back when it closes.

use keywarden_core::{CredentialKind, NewCredential, SecretFields, SecretString};

use crate::alerts::vault_with_pleo;
use crate::driver::keys::{ALT, ENTER, ESCAPE, TAB};
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
