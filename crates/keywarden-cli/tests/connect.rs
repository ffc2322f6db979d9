//! `kw credential connect` end to end against a fake authorization server
//! on 127.0.0.1 (`keywarden_connectors::fake_oauth`: RFC 6749 / RFC 7636
//! answers, PKCE S256 and Basic client authentication as Pleo requires).
//! The "browser" is `KEYWARDEN_BROWSER` (honoured by debug builds only): a
//! script that hands the address to this test, which follows the redirects
//! as a browser would.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use keywarden_connectors::fake_oauth::FakeAuthServer;
use keywarden_core::{Actor, ExposeSecret, KeySource, Status, Vault};

const CLIENT_ID: &str = "kw-connect-client";
const CLIENT_SECRET: &str = "connect-client-secret-9f8e7d";

struct Setup {
    tmp: tempfile::TempDir,
    vault: PathBuf,
    server: FakeAuthServer,
}

impl Setup {
    fn new() -> Setup {
        let tmp = tempfile::tempdir().unwrap();
        let vault = tmp.path().join("vault");
        let server = FakeAuthServer::start(CLIENT_ID, CLIENT_SECRET).unwrap();
        let s = Setup { tmp, vault, server };
        s.ok(&["init"], "");
        s.ok(
            &[
                "credential",
                "add",
                "pleo-oauth",
                "--type",
                "oauth2",
                "--client-id",
                CLIENT_ID,
                "--token-url",
                &s.server.token_url(),
                "--field",
                &format!("authorize_url={}", s.server.authorize_url()),
                "--field",
                "client_auth=basic",
                "--field",
                "scope=export:read",
                "--offline",
            ],
            CLIENT_SECRET,
        );
        s
    }

    /// The browser script: writes the address it is given for the test.
    fn browser(&self) -> PathBuf {
        let script = self.tmp.path().join("browser.sh");
        let seen = self.tmp.path().join("address");
        std::fs::write(
            &script,
            format!("#!/bin/sh\nprintf '%s' \"$1\" > '{}'\n", seen.display()),
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        script
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = common::kw();
        c.arg("--vault")
            .arg(&self.vault)
            .args(args)
            .env("KEYWARDEN_PROFILE", "alice")
            .env("KEYWARDEN_TEST_MODE", "1")
            .env("KEYWARDEN_BROWSER", self.browser());
        c
    }

    fn ok(&self, args: &[&str], stdin: &str) -> Output {
        let out = common::run(self.cmd(args), stdin);
        assert!(
            out.status.success(),
            "kw {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// `kw credential connect`, with the browser following the redirects
    /// (their query changed by `edit` first).
    fn connect(&self, edit: impl Fn(String) -> String + Send + 'static) -> Output {
        let address = self.tmp.path().join("address");
        let _ = std::fs::remove_file(&address);
        let child = self
            .cmd(&["credential", "connect", "pleo-oauth", "--timeout", "20"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let browser = std::thread::spawn(move || follow(&address, edit));
        let out = child.wait_with_output().unwrap();
        browser.join().unwrap();
        out
    }

    fn open(&self) -> Vault {
        Vault::open(&self.vault, &KeySource::Keychain, Actor::current(Some("test".into()))).unwrap()
    }
}

/// Waits for the address the script received, then does what a browser
/// does: the authorization server's redirect, followed to the loopback.
fn follow(address: &Path, edit: impl Fn(String) -> String) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let url = loop {
        if let Ok(url) = std::fs::read_to_string(address)
            && !url.is_empty()
        {
            break url;
        }
        assert!(Instant::now() < deadline, "kw never opened the browser");
        std::thread::sleep(Duration::from_millis(20));
    };
    let browser = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = browser.get(&url).send().unwrap();
    assert_eq!(answer.status().as_u16(), 302);
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    let _ = browser.get(edit(location)).send();
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn connect_stores_a_refresh_token_as_a_new_version_and_prints_no_token() {
    let s = Setup::new();
    let out = s.connect(|l| l);
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(printed.contains("export:read"), "{printed}");
    assert_eq!(s.server.exchanges(), 1);
    let live = s.server.live_refresh_token().unwrap();
    let mut v = s.open();
    let c = v.get_credential("pleo-oauth").unwrap();
    assert_eq!(c.summary.current_version, 2);
    assert_eq!(c.config["grant_type"], "refresh_token");
    let stored = v.use_secret("pleo-oauth", "test").unwrap();
    assert_eq!(stored.get("refresh_token").unwrap().expose_secret(), live);
    for secret in [
        live.as_str(),
        CLIENT_SECRET,
        "2YotnFZFEjr1zCsicMWpAA",
        "SplxlOBeZQQYbYS6WxSbIA",
    ] {
        assert!(!printed.contains(secret), "kw printed a secret: {printed}");
        for e in v.audit_events(&Default::default()).unwrap() {
            assert!(!e.detail.contains(secret), "{}: {}", e.action, e.detail);
        }
    }
}

#[test]
fn a_wrong_state_or_a_refused_consent_stores_nothing_and_says_why() {
    let s = Setup::new();
    let out = s.connect(|l| l.replace("state=", "state=forged"));
    assert_eq!(out.status.code(), Some(8), "{}", stderr(&out));
    assert!(stderr(&out).contains("state does not match"), "{}", stderr(&out));

    s.server.deny_consent(true);
    let out = s.connect(|l| l);
    assert_eq!(out.status.code(), Some(8), "{}", stderr(&out));
    assert!(stderr(&out).contains("access_denied"), "{}", stderr(&out));
    assert_eq!(s.server.exchanges(), 0);

    let mut v = s.open();
    let c = v.get_credential("pleo-oauth").unwrap();
    assert_eq!(c.summary.current_version, 1);
    assert!(
        v.use_secret("pleo-oauth", "test")
            .unwrap()
            .get("refresh_token")
            .is_none()
    );
    let failures = v
        .audit_events(&Default::default())
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "credential.connect")
        .count();
    assert_eq!(failures, 2, "each ended Connect is audited");
}

#[test]
fn reconnecting_a_credential_whose_grant_was_revoked_keeps_its_id_and_history() {
    let s = Setup::new();
    assert!(s.connect(|l| l).status.success());
    let id = s.open().get_credential("pleo-oauth").unwrap().summary.id;
    s.server.revoke();
    // The broker's refresh is refused: reconnection required.
    {
        let mut v = s.open();
        let inputs = v.refresh_inputs("pleo-oauth").unwrap();
        let failure = keywarden_connectors::oauth2::request_token(
            &keywarden_connectors::Options {
                allow_loopback_http: true,
                ..Default::default()
            },
            &inputs.config,
            &inputs.secrets,
        )
        .err()
        .unwrap();
        assert_eq!(v.record_refresh_failure("pleo-oauth", &failure).unwrap(), Status::Error);
    }
    let out = s.connect(|l| l);
    assert!(out.status.success(), "{}", stderr(&out));
    let v = s.open();
    let c = v.get_credential("pleo-oauth").unwrap();
    assert_eq!(c.summary.id, id);
    assert_eq!(c.summary.status, Status::Active);
    assert_eq!(c.summary.current_version, 3);
    let actions: Vec<String> = v
        .audit_events(&Default::default())
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(
        actions.iter().filter(|a| *a == "credential.connect").count() == 2,
        "{actions:?}"
    );
    assert!(actions.iter().any(|a| a == "credential.refresh"), "{actions:?}");
}
