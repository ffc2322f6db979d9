//! Issue 22 in the window: an OAuth 2.0 credential connects from its page
//! through the system "browser" (`KEYWARDEN_BROWSER`, honoured by debug
//! builds only: a script that hands this test the page it was given, and
//! this test follows the redirects as a browser would), refreshes its
//! access token, is refused when the grant is revoked, is reached from the
//! dashboard, and re-authorizes keeping its id and history; a Connect
//! waiting for the browser can be cancelled. The authorization server is
//! the fake on 127.0.0.1 (RFC 6749/7636 answers, Basic client auth).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use keywarden_connectors::fake_oauth::FakeAuthServer;
use serde_json::json;

use super::driver::App;
use super::{create_vault, launch_with, nav};

const CLIENT_ID: &str = "e2e-connect-client";
const CLIENT_SECRET: &str = "e2e-connect-secret-4c3b2a19";

/// The browser script: writes the path it is given where the test reads it.
fn browser_script(dir: &Path) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("browser.sh");
    let opened = dir.join("opened");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nprintf '%s' \"$1\" > '{}'\n", opened.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
    (script, opened)
}

/// What a browser does with the page the app opened: its refresh to the
/// start address, the redirect to the authorization server, and that
/// one's back to the app's loopback listener.
fn sign_in(opened: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let page = loop {
        if let Ok(p) = std::fs::read_to_string(opened)
            && !p.is_empty()
        {
            break PathBuf::from(p);
        }
        assert!(Instant::now() < deadline, "the app never opened the browser");
        std::thread::sleep(Duration::from_millis(25));
    };
    std::fs::remove_file(opened).unwrap();
    let html = std::fs::read_to_string(&page).unwrap();
    let start = html
        .split("url=")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();
    let browser = ureq::AgentBuilder::new().redirects(0).build();
    let mut at = start;
    for _ in 0..2 {
        let answer = browser.get(&at).call().unwrap();
        assert_eq!(answer.status(), 302, "{at}");
        at = answer.header("location").unwrap().to_owned();
    }
    assert_eq!(browser.get(&at).call().unwrap().status(), 200);
}

fn token_state(app: &App) -> String {
    app.text("[data-testid=token-state]")
}

/// No token, code or client secret in what the window holds.
fn assert_no_secret_in_window(app: &App, server: &FakeAuthServer) {
    let html = app.html();
    let mut secrets = vec![CLIENT_SECRET.to_owned()];
    secrets.extend(server.live_refresh_token());
    for s in &secrets {
        assert!(!html.contains(s.as_str()), "the window holds a secret");
    }
}

#[test]
fn an_oauth_credential_connects_refreshes_and_re_authorizes_from_its_page() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeAuthServer::start(CLIENT_ID, CLIENT_SECRET).unwrap();
    let (script, opened) = browser_script(dir.path());
    let app = launch_with(
        dir.path(),
        vec![
            ("KEYWARDEN_TEST_MODE", "1"),
            ("KEYWARDEN_BROWSER", script.to_str().unwrap()),
        ],
    );
    create_vault(&app, None);
    // Added in the form, with where it signs in; saved without a check
    // (a client that may only sign in people has no client-credentials
    // grant to check).
    nav(&app, "credentials");
    app.click("[data-testid=new-credential]");
    app.wait("[data-screen=new-credential]");
    app.click("[data-testid=kind-oauth2]");
    app.type_into("[data-testid=c-name]", "Pleo OAuth");
    app.type_into("[data-testid=c-client-id]", CLIENT_ID);
    app.type_into("[data-testid=c-token-url]", &server.token_url());
    app.type_into("#c-scopes", "export:read");
    app.type_into("[data-testid=c-authorize-url]", &server.authorize_url());
    app.select("[data-testid=c-client-auth]", "basic");
    app.type_into("[data-testid=c-client-secret]", CLIENT_SECRET);
    app.click("[data-testid=save-unchecked]");
    app.wait("[data-screen=credential]");
    app.wait("[data-testid=oauth-token]");
    assert!(token_state(&app).contains("None cached"), "{}", token_state(&app));

    // Connect: the page waits, the browser signs in, the grant is stored.
    app.click("[data-testid=connect]");
    app.wait("[data-testid=connect-waiting]");
    app.screenshot("oauth-waiting");
    sign_in(&opened);
    app.until("the access token is cached", |a| token_state(a).contains("Cached"));
    assert!(
        app.body_text().contains("scopes granted: export:read"),
        "{}",
        app.body_text()
    );
    assert_eq!(server.exchanges(), 1);
    app.screenshot("oauth-connected");
    assert_no_secret_in_window(&app, &server);

    // Refresh: the broker asks the token endpoint now.
    app.click("[data-testid=refresh-token]");
    app.until("the token endpoint was asked", |_| server.refreshes() == 1);
    app.until("the page says so", |a| a.body_text().contains("New access token"));

    // The grant is revoked: Refresh is refused, the page asks to re-authorize.
    server.revoke();
    app.click("[data-testid=refresh-token]");
    app.wait("[data-testid=reauthorize-alert]");
    nav(&app, "dashboard");
    app.click("[data-testid=\"needs-action-Pleo OAuth\"]");
    app.wait("[data-testid=reauthorize-alert]");
    app.until("Re-authorize has the focus", |a| {
        a.script("return document.activeElement?.dataset?.testid ?? ''", json!([])) == Some(json!("reauthorize"))
    });
    app.screenshot("oauth-reauthorize");

    // Re-authorize: the same credential, active again, a third version.
    app.click("[data-testid=reauthorize]");
    app.wait("[data-testid=connect-waiting]");
    sign_in(&opened);
    app.until("the credential is active again", |a| {
        a.try_find("[data-testid=reauthorize-alert]").is_none() && token_state(a).contains("Cached")
    });
    assert_eq!(server.exchanges(), 2);
    // Versions: the client secret alone, Connect's, the refresh's (the
    // server rotates refresh tokens), Re-authorize's, current.
    let current = app.script(
        "return [...document.querySelectorAll('[data-testid=versions] tbody tr')].map(r => r.cells[0].textContent + ' ' + r.cells[1].textContent)",
        json!([]),
    );
    assert_eq!(
        current,
        Some(json!(["4 current", "3 retired", "2 retired", "1 retired"]))
    );
    assert_no_secret_in_window(&app, &server);

    // A Connect waiting for the browser is found again after leaving its
    // page (with the address for a browser that shows no page), and ends
    // with Cancel, storing nothing.
    app.click("[data-testid=reauthorize]");
    app.wait("[data-testid=connect-waiting]");
    nav(&app, "dashboard");
    nav(&app, "credentials");
    app.click("[data-testid=credential-row] button");
    app.wait("[data-testid=connect-waiting]");
    assert!(app.html().contains("/start/"), "the start address is offered by hand");
    app.click("[data-testid=cancel-connect]");
    app.until("the sign-in ended", |a| {
        a.body_text().contains("the sign-in was cancelled")
    });
    assert!(app.try_find("[data-testid=connect-waiting]").is_none());
    assert_eq!(server.exchanges(), 2);
    let _ = std::fs::remove_file(&opened);
}
