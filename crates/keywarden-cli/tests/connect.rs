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
        s.ok(&["integration", "add", "Pleo", "--provider", "pleo"], "");
        s.ok(
            &[
                "credential",
                "add",
                "pleo-oauth",
                "--integration",
                "Pleo",
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
        self.connect_within("20", edit)
    }

    fn connect_within(&self, seconds: &str, edit: impl Fn(String) -> String + Send + 'static) -> Output {
        let address = self.tmp.path().join("address");
        let _ = std::fs::remove_file(&address);
        let child = self
            .cmd(&["credential", "connect", "pleo-oauth", "--timeout", seconds])
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

/// Waits for the page the script was given, then does what a browser
/// does: the page's refresh to the start address, its redirect to the
/// authorization server, and that one's back to the loopback.
fn follow(address: &Path, edit: impl Fn(String) -> String) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let opened = loop {
        if let Ok(opened) = std::fs::read_to_string(address)
            && !opened.is_empty()
        {
            break opened;
        }
        assert!(Instant::now() < deadline, "kw never opened the browser");
        std::thread::sleep(Duration::from_millis(20));
    };
    let url = start_address_in(Path::new(&opened));
    let browser = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // The start address, then the authorization server.
    let start = browser.get(&url).send().unwrap();
    assert_eq!(start.status().as_u16(), 302);
    let authorize = start.headers()["location"].to_str().unwrap().to_owned();
    let answer = browser.get(&authorize).send().unwrap();
    assert_eq!(answer.status().as_u16(), 302);
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    let _ = browser.get(edit(location)).send();
}

/// The start address in the sign-in page kw gave the browser, after
/// checking that no other user can read the page: the browser's command
/// line (readable by every local user) holds only the page's path.
fn start_address_in(page: &Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    assert!(page.is_absolute(), "{}", page.display());
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(page), 0o600, "{}", page.display());
    assert_eq!(mode(page.parent().unwrap()), 0o700, "{}", page.display());
    let html = std::fs::read_to_string(page).unwrap();
    let url = html
        .split("url=")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:") && url.contains("/start/"), "{url}");
    url
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
fn a_refresh_tokens_lifetime_from_the_provider_becomes_the_credentials_expiry() {
    let s = Setup::new();
    s.server.refresh_lifetime(Some(30 * 86_400));
    let before = time::OffsetDateTime::now_utc();
    let out = s.connect(|l| l);
    assert!(out.status.success(), "{}", stderr(&out));
    let v = s.open();
    let c = v.get_credential("pleo-oauth").unwrap();
    let expires = c.summary.expires_at.expect("the provider's refresh_token_expires_in");
    let in_30_days = before + time::Duration::days(30);
    assert!(
        (expires - in_30_days).abs() < time::Duration::minutes(2),
        "{expires} is not 30 days after the sign-in"
    );
    assert_eq!(c.summary.expiry_source, Some(keywarden_core::ExpirySource::Provider));
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("refresh token valid until"), "{printed}");
}

#[test]
fn a_wrong_state_or_a_refused_consent_stores_nothing_and_says_why() {
    let s = Setup::new();
    // A redirect with another state is refused and waiting goes on: the
    // sign-in then times out, saying what it refused.
    let out = s.connect_within("10", |l| l.replace("state=", "state=forged"));
    assert_eq!(out.status.code(), Some(8), "{}", stderr(&out));
    assert!(stderr(&out).contains("were not this sign-in's"), "{}", stderr(&out));

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

#[test]
fn twenty_kw_run_at_once_with_an_expired_token_refresh_once_and_each_child_gets_only_the_access_token() {
    let s = Setup::new();
    assert!(s.connect(|l| l).status.success());
    let connected_refresh = s.server.live_refresh_token().unwrap();
    // Two hours on: the access token Connect cached has expired.
    let later = (time::OffsetDateTime::now_utc() + time::Duration::hours(2))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let children: Vec<(PathBuf, std::process::Child)> = (0..20)
        .map(|i| {
            let out = s.tmp.path().join(format!("environ-{i}"));
            // A short script, run in the temporary folder: kw refuses an
            // argument that looks like a secret, as a long random path may.
            let script = format!("tr '\\0' '\\n' < /proc/$$/environ > environ-{i}");
            let child = s
                .cmd(&["run", "--integration", "Pleo", "--", "sh", "-c", &script])
                .current_dir(s.tmp.path())
                .env("KEYWARDEN_TEST_NOW", &later)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            (out, child)
        })
        .collect();
    let mut tokens = std::collections::BTreeSet::new();
    for (out, child) in children {
        let result = child.wait_with_output().unwrap();
        assert!(result.status.success(), "{}", stderr(&result));
        let printed = format!("{}{}", String::from_utf8_lossy(&result.stdout), stderr(&result));
        let environ = std::fs::read_to_string(&out).unwrap();
        let token = environ
            .lines()
            .find_map(|l| l.strip_prefix("PLEO_ACCESS_TOKEN="))
            .expect("the access token is in the child's environment")
            .to_owned();
        assert!(environ.lines().any(|l| l.starts_with("PLEO_ACCESS_TOKEN_EXPIRES_AT=")));
        for secret in [CLIENT_SECRET, connected_refresh.as_str()] {
            assert!(!environ.contains(secret), "a long-lived secret reached the child");
        }
        assert!(!environ.contains("rt-"), "a refresh token reached the child");
        assert!(!printed.contains(&token), "kw printed the token");
        tokens.insert(token);
    }
    assert_eq!(s.server.refreshes(), 1, "one refresh for twenty programs");
    assert_eq!(tokens.len(), 1, "every child got the one new token: {tokens:?}");
    assert!(!tokens.contains("at-2-2YotnFZFEjr1zCsicMWpAA"), "not the expired one");
    let v = s.open();
    for e in v.audit_events(&Default::default()).unwrap() {
        for t in &tokens {
            assert!(!e.detail.contains(t.as_str()), "{}: {}", e.action, e.detail);
        }
    }
}

/// `kw serve`, started on a free loopback port; killed when dropped.
struct Serve(std::process::Child, String);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(s: &Setup, now: &str) -> Serve {
    use std::io::BufRead;
    let mut child = s
        .cmd(&["serve", "--listen", "127.0.0.1:0"])
        .env("KEYWARDEN_TEST_NOW", now)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .strip_prefix("listening on ")
        .and_then(|r| r.split_whitespace().next())
        .and_then(|a| a.rsplit(':').next())
        .unwrap_or_else(|| panic!("kw serve said: {line:?}"))
        .to_owned();
    Serve(child, format!("http://127.0.0.1:{port}"))
}

#[test]
fn the_broker_hands_a_service_account_an_access_token_and_says_so() {
    let s = Setup::new();
    assert!(s.connect(|l| l).status.success());
    let connected_refresh = s.server.live_refresh_token().unwrap();
    let created = s.ok(
        &["--json", "service-account", "create", "payroll", "--grant", "Pleo"],
        "",
    );
    let created: serde_json::Value = serde_json::from_slice(&created.stdout).unwrap();
    let token = created["key"].as_str().unwrap().to_owned();
    let later = (time::OffsetDateTime::now_utc() + time::Duration::hours(2))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let broker = serve(&s, &later);

    let answer = reqwest::blocking::Client::new()
        .get(format!("{}/v1/integrations/Pleo/credential", broker.1))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    let body = answer.text().unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["gave"], "access_token", "{body}");
    assert_eq!(v["access_token"]["variable"], "PLEO_ACCESS_TOKEN");
    assert!(v["access_token"]["expires_at"].is_string());
    assert_eq!(v["secrets"], serde_json::json!({}), "no long-lived secret: {body}");
    for secret in [CLIENT_SECRET, connected_refresh.as_str()] {
        assert!(!body.contains(secret), "{body}");
    }
    assert_eq!(s.server.refreshes(), 1, "the expired token was refreshed once");

    // kw run with the account's token: the child gets the access token.
    let out = common::kw()
        .args([
            "--vault",
            "/nonexistent/vault",
            "run",
            "--integration",
            "Pleo",
            "--",
            "sh",
            "-c",
        ])
        .arg("printf %s \"$PLEO_ACCESS_TOKEN\" > seen.txt; printf %s \"${PLEO_CLIENT_SECRET:-none}\" > secret.txt")
        .current_dir(s.tmp.path())
        .env("KEYWARDEN_TOKEN", &token)
        .env("KEYWARDEN_BROKER", &broker.1)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(s.tmp.path().join("seen.txt")).unwrap(),
        v["access_token"]["value"].as_str().unwrap()
    );
    assert_eq!(
        std::fs::read_to_string(s.tmp.path().join("secret.txt")).unwrap(),
        "none"
    );
}
