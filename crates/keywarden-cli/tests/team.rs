//! `kw team` against a real OpenBao on loopback: sign-in with the token in
//! the real keychain (never in a file), the commands and their exit codes,
//! the offline read-only view, sign-out revoking the token.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Output;

use keywarden_core::{ExposeSecret, keychain};
use keywarden_team::testing::{MOUNT, Team, USERPASS, password};

/// One workstation: its own config and cache folders (the keychain is the
/// test session's).
struct Desk {
    home: tempfile::TempDir,
}

impl Desk {
    fn new() -> Desk {
        Desk {
            home: tempfile::tempdir().unwrap(),
        }
    }

    fn kw(&self, args: &[&str], stdin: &str) -> Output {
        let mut cmd = common::kw();
        cmd.args(args)
            .env("XDG_CONFIG_HOME", self.home.path().join("config"))
            .env("XDG_CACHE_HOME", self.home.path().join("cache"))
            .env("KEYWARDEN_TEST_MODE", "1")
            // This desk's IT policy: none until `set_policy` writes one.
            .env("KEYWARDEN_POLICY_FILE", self.home.path().join("policy.toml"))
            .env_remove("BAO_TOKEN");
        common::run(cmd, stdin)
    }

    /// `kw team broker` on a free loopback port, with this desk's policy:
    /// the process and the broker's URL.
    fn start_broker(&self, addr: &str) -> (std::process::Child, String) {
        use std::io::{BufRead, Write};
        let mut broker = common::kw()
            .args(["team", "broker", "--addr", addr, "--mount", MOUNT, "--user", "broker"])
            .args(["--userpass", &keywarden_team::admin::broker_userpass(USERPASS)])
            .args(["--listen", "127.0.0.1:0"])
            .env("KEYWARDEN_TEST_MODE", "1")
            .env("KEYWARDEN_POLICY_FILE", self.home.path().join("policy.toml"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = broker.stdin.take().unwrap();
        stdin.write_all(password("broker").expose_secret().as_bytes()).unwrap();
        drop(stdin);
        let mut line = String::new();
        std::io::BufReader::new(broker.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.starts_with("team broker listening on 127.0.0.1:"), "{line}");
        let url = format!("http://{}", line.split_whitespace().nth(4).unwrap_or_default());
        (broker, url)
    }

    fn set_policy(&self, text: &str) {
        std::fs::write(self.home.path().join("policy.toml"), text).unwrap();
    }

    fn ok(&self, args: &[&str], stdin: &str) -> String {
        let out = self.kw(args, stdin);
        assert!(
            out.status.success(),
            "kw {args:?}: {:?}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn fails(&self, args: &[&str], stdin: &str, code: i32, words: &str) -> String {
        let out = self.kw(args, stdin);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(code), "kw {args:?}: {err}");
        assert!(err.contains(words), "kw {args:?}: {err}");
        err
    }

    fn login(&self, addr: &str, user: &str) -> String {
        self.ok(
            &[
                "team",
                "login",
                "--addr",
                addr,
                "--mount",
                MOUNT,
                "--userpass",
                USERPASS,
                "--user",
                user,
            ],
            password(user).expose_secret(),
        )
    }

    /// Every byte kw left in this workstation's folders.
    fn files(&self) -> Vec<u8> {
        let mut all = Vec::new();
        for dir in ["config", "cache"] {
            collect(&self.home.path().join(dir), &mut all);
        }
        all
    }
}

fn collect(dir: &Path, out: &mut Vec<u8>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else {
            out.extend(std::fs::read(&p).unwrap());
        }
    }
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

const SECRET: &str = "pk_live_team_canary_7f3a9c2e51";

#[test]
fn kw_team_keeps_its_token_in_the_keychain_enforces_roles_and_reads_offline_when_the_vault_is_gone() {
    let team = Team::start();
    let addr = team.server.addr.clone();
    let desk = Desk::new();
    let out = desk.login(&addr, "bob");
    assert!(out.contains("as kwusers-bob") && out.contains("Admin:"), "{out}");
    // The token is in the keychain, nowhere in a file.
    let account = keychain::team_account(MOUNT, &addr);
    let token = keychain::load_team_token(&account)
        .unwrap()
        .expect("the token is in the keychain");
    assert!(!contains(&desk.files(), token.expose_secret()));

    let added = desk.ok(
        &[
            "team",
            "add",
            "Pleo payroll",
            "--type",
            "api-key",
            "--share",
            "view",
            "--field",
            "provider=pleo",
            // No Pleo to ask here: saved unchecked, as the admin chose.
            "--offline",
        ],
        SECRET,
    );
    assert!(added.contains("••••••••") && !added.contains(SECRET), "{added}");
    let list = desk.ok(&["team", "list"], "");
    assert!(list.contains("Pleo payroll") && list.contains("view"), "{list}");
    let show = desk.ok(&["team", "show", "Pleo payroll"], "");
    assert!(show.contains("you can     rotate, edit, delete, share"), "{show}");
    assert!(show.contains("provider    pleo"), "{show}");
    // A stale revision is refused (12); a rotation from the right one is not.
    desk.fails(
        &["team", "rotate", "Pleo payroll", "--offline", "--if-revision", "0"],
        "pk_live_team_rotated_0000000",
        12,
        "since you opened it",
    );
    desk.ok(
        &["team", "rotate", "Pleo payroll", "--offline", "--if-revision", "1"],
        "pk_live_team_rotated_0000000",
    );
    // Bad input: a clear error, nothing written.
    desk.fails(
        &["team", "add", "Pleo payroll", "--type", "api-key"],
        SECRET,
        4,
        "already exists",
    );
    desk.fails(
        &["team", "add", "x;y", "--type", "api-key"],
        SECRET,
        5,
        "not allowed in a name",
    );
    desk.fails(
        &["team", "add", "x", "--type", "api-key", "--api-key", SECRET],
        "",
        5,
        "never taken from the command line",
    );
    desk.ok(&["team", "audit", "--verify"], "");

    // Roles, as OpenBao enforces them, with kw's exit code 15. One
    // sign-in per team and machine (the keychain item): each user signs
    // in on this desk in turn.
    let other = Desk::new();
    other.login(&addr, "dave");
    let seen = other.ok(&["team", "show", "Pleo payroll"], "");
    assert!(
        seen.contains("use it (through the team broker); nothing else"),
        "{seen}"
    );
    other.fails(
        &["team", "rotate", "Pleo payroll", "--offline"],
        "pk_live_team_viewer_00000000",
        15,
        "does not allow",
    );
    other.fails(&["team", "member", "erin", "--role", "admin"], "", 15, "owners only");
    other.login(&addr, "alice");
    other.ok(
        &["team", "member", "frank", "--role", "viewer", "--set-password"],
        password("frank").expose_secret(),
    );
    other.login(&addr, "frank");
    assert!(other.ok(&["team", "list"], "").contains("Pleo payroll"));
    other.login(&addr, "alice");
    other.ok(&["team", "member", "frank", "--role", "none"], "");
    other.login(&addr, "frank");
    other.fails(&["team", "list"], "", 15, "does not allow");

    // Bob again on his desk: list to refresh its cache.
    desk.login(&addr, "bob");
    desk.ok(&["team", "list"], "");
    // Nothing kw keeps holds a secret.
    for d in [&desk, &other] {
        let files = d.files();
        assert!(!contains(&files, SECRET) && !contains(&files, "pk_live_team_rotated"));
    }

    // The vault goes away: reads show what was last known, marked; writes
    // are refused, and quickly.
    drop(team);
    let started = std::time::Instant::now();
    let offline = desk.ok(&["team", "list"], "");
    assert!(
        offline.starts_with("OFFLINE") && offline.contains("Pleo payroll"),
        "{offline}"
    );
    let json: serde_json::Value = serde_json::from_str(&desk.ok(&["--json", "team", "list"], "")).unwrap();
    assert_eq!(json["offline"], true);
    assert_eq!(json["credentials"][0]["name"], "Pleo payroll");
    desk.fails(
        &["team", "rotate", "Pleo payroll", "--offline"],
        "pk_live_team_offline_0000000",
        16,
        "cannot be reached",
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    // Signing out offline still removes the token from this machine.
    desk.fails(&["team", "logout"], "", 16, "removed from this machine");
    assert!(keychain::load_team_token(&account).unwrap().is_none());
    desk.fails(&["team", "list"], "", 15, "kw team login");
}

#[test]
fn kw_team_logout_revokes_the_token_at_openbao() {
    let team = Team::start();
    let addr = team.server.addr.clone();
    let desk = Desk::new();
    desk.login(&addr, "carol");
    let account = keychain::team_account(MOUNT, &addr);
    let token = keychain::load_team_token(&account).unwrap().unwrap();
    desk.ok(&["team", "logout"], "");
    assert!(keychain::load_team_token(&account).unwrap().is_none());
    let err = keywarden_team::TeamVault::with_token(&[addr], MOUNT, token).unwrap_err();
    assert!(matches!(err, keywarden_team::TeamError::SignedOut), "{err}");
    // A wrong password: a clear error, nothing kept.
    let out = desk.kw(
        &[
            "team",
            "login",
            "--addr",
            &team.server.addr,
            "--mount",
            MOUNT,
            "--userpass",
            USERPASS,
            "--user",
            "carol",
        ],
        "not-her-password",
    );
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains("user name or password is wrong"));
    assert!(keychain::load_team_token(&account).unwrap().is_none());
}

/// `kw overview` reads both vaults through the core's CredentialBackend:
/// what needs attention in each, then, with the team vault gone, the local
/// part still and the team vault named as unreachable (exit 16).
#[test]
fn kw_overview_lists_what_needs_attention_in_both_vaults_and_names_an_unreachable_one() {
    let team = Team::start();
    let addr = team.server.addr.clone();
    let desk = Desk::new();
    let vault = desk.home.path().join("vault");
    let local = |args: &[&str], stdin: &str| {
        let mut all = vec!["--vault", vault.to_str().unwrap()];
        all.extend_from_slice(args);
        desk.ok(&all, stdin)
    };
    local(&["init"], "");
    let soon = (keywarden_core::timefmt::now() + time::Duration::days(5))
        .date()
        .to_string();
    local(
        &[
            "credential",
            "add",
            "Local soon",
            "--type",
            "api-key",
            "--expires",
            &soon,
        ],
        "pk_live_local_soon_000000000",
    );
    local(
        &["credential", "add", "Local fine", "--type", "api-key"],
        "pk_live_local_fine_000000000",
    );
    desk.login(&addr, "bob");
    desk.ok(
        &[
            "team",
            "add",
            "Team soon",
            "--type",
            "api-key",
            "--share",
            "view",
            "--expires",
            &soon,
        ],
        "pk_live_team_soon_0000000000",
    );
    desk.ok(
        &["team", "add", "Team fine", "--type", "api-key", "--share", "use"],
        "pk_live_team_fine_0000000000",
    );

    let out = local(&["overview"], "");
    assert!(
        out.contains("local vault at") && out.contains("2 credentials, 1 need attention"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "team vault {MOUNT} at {addr}: 2 credentials, 1 need attention"
        )),
        "{out}"
    );
    assert!(
        out.contains("Local soon") && out.contains("Team soon") && out.contains("shared: view"),
        "{out}"
    );
    assert!(!out.contains("Local fine") && !out.contains("Team fine"), "{out}");
    assert!(!out.contains("pk_live"), "{out}");
    let json: serde_json::Value = serde_json::from_str(&local(&["--json", "overview"], "")).unwrap();
    assert_eq!(json[1]["needs_attention"][0]["status"], "expiring");

    drop(team);
    let mut all = vec!["--vault", vault.to_str().unwrap()];
    all.push("overview");
    let out = desk.kw(&all, "");
    assert_eq!(out.status.code(), Some(16));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Local soon"), "{text}");
    assert!(
        text.contains("could not answer") && text.contains("cannot be reached"),
        "{text}"
    );
}

/// "Use" without reading the secret, as a service: `kw team broker` runs
/// as the broker identity; a viewer's `kw team check` has the provider
/// (a Pleo fake on loopback) validate a use-only credential; someone with
/// no role gets nothing; a level change goes through the broker for the
/// creator, never for another admin.
#[test]
fn the_team_broker_checks_for_use_only_members_and_moves_shared_credentials_as_openbao_allows() {
    const ACME: &str = "6c0e3f4a-1b2c-4d5e-8f90-a1b2c3d4e5f6";
    const GOOD: &str = "pk_live_aaaaaaaaaaaaGOOD";
    let pleo = keywarden_connectors::fakes::FakePleo::start(&[GOOD], ACME, false).unwrap();
    let team = Team::start();
    let addr = team.server.addr.clone();
    let desk = Desk::new();
    desk.login(&addr, "bob");
    let base = format!("base_url={}", pleo.base);
    let fields = ["--field", "provider=pleo", "--field", &base];
    let mut add = vec!["team", "add", "Pleo payroll", "--type", "api-key", "--share", "use"];
    add.extend_from_slice(&fields);
    desk.ok(&add, GOOD);
    // A key Pleo refuses is not added unchecked…
    let mut add = vec!["team", "add", "Pleo old", "--type", "api-key", "--share", "use"];
    add.extend_from_slice(&fields);
    desk.fails(&add, "pk_live_bbbbbbbbbbbbBAD0", 8, "");
    // …only when the admin says so (a key revoked since, say).
    add.push("--offline");
    desk.ok(&add, "pk_live_bbbbbbbbbbbbBAD0");

    let (mut broker, url) = desk.start_broker(&addr);

    desk.login(&addr, "dave");
    let out = desk.ok(&["team", "check", "Pleo payroll", "--broker", &url], "");
    assert!(out.contains("accepted by its provider"), "{out}");
    desk.fails(&["team", "check", "Pleo old", "--broker", &url], "", 8, "failed");
    // The provider saw the key from the broker; the viewer never did.
    assert!(!out.contains(GOOD));
    desk.login(&addr, "erin");
    desk.fails(&["team", "check", "Pleo payroll", "--broker", &url], "", 15, "");
    desk.login(&addr, "carol");
    desk.fails(
        &["team", "share", "Pleo payroll", "view", "--broker", &url],
        "",
        15,
        "only its creator or a team owner",
    );
    desk.login(&addr, "bob");
    let out = desk.ok(&["team", "share", "Pleo payroll", "view", "--broker", &url], "");
    assert!(out.contains("level view"), "{out}");
    desk.login(&addr, "carol");
    assert!(desk.ok(&["team", "show", "Pleo payroll"], "").contains(&pleo.base));
    let _ = broker.kill();
    let _ = broker.wait();
}

/// Issue 20, finding 10: the machine's IT policy applies to the team vault
/// as to the local one. A provider not on `allowed_providers` (and a
/// credential without one, "generic") is not added; where a live check is
/// required, an unchecked add or rotation is refused and a key the provider
/// refuses is not saved; `verifier_allowed = false` keeps the team broker
/// from starting, before it asks for its password.
#[test]
fn the_machines_policy_applies_to_team_adds_rotations_and_the_team_broker() {
    const ACME: &str = "6c0e3f4a-1b2c-4d5e-8f90-a1b2c3d4e5f6";
    const GOOD: &str = "pk_live_aaaaaaaaaaaaGOOD";
    let pleo = keywarden_connectors::fakes::FakePleo::start(&[GOOD], ACME, false).unwrap();
    let team = Team::start();
    let addr = team.server.addr.clone();
    let desk = Desk::new();
    desk.login(&addr, "bob");
    desk.set_policy("require_live_validation = true\nallowed_providers = [\"pleo\"]\nverifier_allowed = false\n");
    let base = format!("base_url={}", pleo.base);
    let add = |name: &str, fields: &[&str], offline: bool| {
        let mut a = vec!["team", "add", name, "--type", "api-key", "--share", "view"];
        for f in fields {
            a.extend_from_slice(&["--field", f]);
        }
        if offline {
            a.push("--offline");
        }
        a.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    fn args(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }

    let ledger = add("Ledger", &["provider=xledger"], true);
    desk.fails(
        &args(&ledger),
        GOOD,
        11,
        "provider 'xledger' is not allowed here (allowed: pleo)",
    );
    let plain = add("Plain", &[], true);
    desk.fails(&args(&plain), GOOD, 11, "provider 'generic' is not allowed here");
    let unchecked = add("Pleo payroll", &["provider=pleo", &base], true);
    desk.fails(&args(&unchecked), GOOD, 11, "require_live_validation");
    let checked = add("Pleo payroll", &["provider=pleo", &base], false);
    desk.fails(&args(&checked), "pk_live_bbbbbbbbbbbbBAD0", 8, "");
    desk.ok(&args(&checked), GOOD);
    desk.fails(
        &["team", "rotate", "Pleo payroll", "--offline"],
        "pk_live_cccccccccccc0NEW",
        11,
        "require_live_validation",
    );
    let list = desk.ok(&["--json", "team", "list"], "");
    let v: serde_json::Value = serde_json::from_str(&list).unwrap();
    let text = v.to_string();
    assert!(
        text.contains("Pleo payroll") && !text.contains("Ledger") && !text.contains("Plain"),
        "only the checked credential was added: {text}"
    );
    assert!(
        text.contains("\"revision\":1"),
        "the refused rotation wrote nothing: {text}"
    );

    // The broker stops at the policy: the password is never asked for.
    desk.fails(
        &[
            "team",
            "broker",
            "--addr",
            &addr,
            "--mount",
            MOUNT,
            "--user",
            "broker",
            "--listen",
            "127.0.0.1:0",
        ],
        "",
        11,
        "verifier_allowed",
    );
    // The team's audit says how each secret was accepted.
    let audit = desk.ok(&["team", "audit"], "");
    assert!(audit.contains("checked live with its provider"), "{audit}");

    // A broker started where Pleo is no longer allowed sends the stored key
    // nowhere.
    desk.set_policy("allowed_providers = [\"xledger\"]\n");
    let (mut broker, url) = desk.start_broker(&addr);
    let seen_before = pleo.seen().len();
    desk.fails(
        &["team", "check", "Pleo payroll", "--broker", &url],
        "",
        5,
        "not allowed",
    );
    assert_eq!(pleo.seen().len(), seen_before, "Pleo was sent the key");
    let _ = broker.kill();
    let _ = broker.wait();
}
