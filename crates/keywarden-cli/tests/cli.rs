//! `kw` as a user runs it, against the real Secret Service of the test
//! session (scripts/test-session.sh). Each test has its own vault folder.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use keywarden_connectors::fakes::FakePleo;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::Engine;
use keywarden_core::{Actor, CredentialKind, KeySource, NewCredential, SecretFields, SecretString, Vault};

struct Kw {
    _tmp: tempfile::TempDir,
    vault: PathBuf,
    /// The organisation's policy file these runs read, if any (debug
    /// builds of kw honour KEYWARDEN_POLICY_FILE; release builds only /etc).
    policy: std::cell::RefCell<Option<PathBuf>>,
}

fn kw_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_kw"))
}

impl Kw {
    fn new() -> Kw {
        let tmp = tempfile::tempdir().unwrap();
        let vault = tmp.path().join("vault");
        Kw {
            _tmp: tmp,
            vault,
            policy: Default::default(),
        }
    }

    /// Writes `text` as the policy file of the following runs.
    fn set_policy(&self, text: &str) -> PathBuf {
        let path = self._tmp.path().join("policy.toml");
        std::fs::write(&path, text).unwrap();
        *self.policy.borrow_mut() = Some(path.clone());
        path
    }

    fn init() -> (Kw, String) {
        let kw = Kw::new();
        let out = kw.ok(&["--json", "init"], "");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (kw, v["recovery_code"].as_str().unwrap().to_owned())
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(kw_bin());
        c.arg("--vault")
            .arg(&self.vault)
            .args(args)
            .env("KEYWARDEN_PROFILE", "alice")
            // Plain http to the provider fakes on 127.0.0.1.
            .env("KEYWARDEN_TEST_MODE", "1");
        if let Some(policy) = &*self.policy.borrow() {
            c.env("KEYWARDEN_POLICY_FILE", policy);
        }
        c
    }

    fn run_with(&self, mut c: Command, stdin: &[u8]) -> Output {
        c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        // A command refused before it reads stdin exits first; the pipe is
        // then closed, which is the behaviour under test, not a failure.
        match child.stdin.take().unwrap().write_all(stdin) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            Err(e) => panic!("writing stdin to kw: {e}"),
        }
        child.wait_with_output().unwrap()
    }

    fn run(&self, args: &[&str], stdin: &str) -> Output {
        self.run_with(self.cmd(args), stdin.as_bytes())
    }

    fn ok(&self, args: &[&str], stdin: &str) -> Output {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "kw {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn fails(&self, args: &[&str], stdin: &str, code: i32, message: &str) -> String {
        self.fails_bytes(args, stdin.as_bytes(), code, message)
    }

    fn fails_bytes(&self, args: &[&str], stdin: &[u8], code: i32, message: &str) -> String {
        let out = self.run_with(self.cmd(args), stdin);
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(out.status.code(), Some(code), "kw {args:?}: {err}");
        assert!(err.contains(message), "kw {args:?}: expected {message:?} in {err:?}");
        assert!(!err.contains("panicked"), "{err}");
        err
    }

    fn open(&self) -> Vault {
        Vault::open(&self.vault, &KeySource::Keychain, Actor::current(Some("test".into()))).unwrap()
    }

    fn digest(&self) -> String {
        self.open().content_digest().unwrap()
    }

    fn vault_id(&self) -> String {
        Vault::header(&self.vault).unwrap().vault_id.to_string()
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p))
        } else {
            out.push(p)
        }
    }
    out
}

/// Every encoding a leaked secret could take on disk or in output.
fn encodings(marker: &str) -> Vec<Vec<u8>> {
    let b = marker.as_bytes();
    let mut v = vec![
        b.to_vec(),
        hex::encode(b).into_bytes(),
        hex::encode_upper(b).into_bytes(),
    ];
    let utf16le: Vec<u8> = marker.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
    let utf16be: Vec<u8> = marker.encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
    v.push(utf16le);
    v.push(utf16be);
    // base64 of the marker at each of the three alignments, inner part only.
    for engine in [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::URL_SAFE,
    ] {
        for pad in 0..3 {
            let mut data = vec![b'x'; pad];
            data.extend_from_slice(b);
            let enc = engine.encode(&data);
            let skip = if pad == 0 { 0 } else { 4 };
            v.push(enc.as_bytes()[skip..enc.len() - 4].to_vec());
        }
    }
    v
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.len() <= hay.len() && hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn init_puts_the_kek_in_the_real_keychain_and_no_key_material_in_any_file() {
    let (kw, code) = Kw::init();
    let out = Command::new("secret-tool")
        .args(["lookup", "service", "keywarden", "username", &kw.vault_id()])
        .output()
        .unwrap();
    assert!(out.status.success(), "secret-tool found no item");
    let kek_hex = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(kek_hex.len(), 64);
    let kek = hex::decode(&kek_hex).unwrap();
    kw.ok(&["integration", "add", "Pleo", "--provider", "pleo"], "");
    kw.ok(
        &["credential", "add", "k", "--type", "api-key"],
        "pk_live_0123456789abcdef",
    );
    let mut needles = encodings(&kek_hex);
    needles.push(kek.clone());
    needles.push(base64::engine::general_purpose::STANDARD.encode(&kek).into_bytes());
    needles.extend(encodings(&code.replace('-', "")));
    for f in files_under(&kw.vault) {
        let bytes = std::fs::read(&f).unwrap();
        for n in &needles {
            assert!(!contains(&bytes, n), "key material in {}", f.display());
        }
    }
}

#[test]
fn canary_1000_secrets_never_appear_in_files_exports_or_output() {
    let (kw, _code) = Kw::init();
    kw.ok(
        &[
            "integration",
            "add",
            "Xledger",
            "--provider",
            "xledger",
            "--tenant-id",
            "4711",
        ],
        "",
    );
    let markers: Vec<String> = (0..1000)
        .map(|i| format!("{CANARY_PREFIX}{i:04}{:016x}", rand_u64(i)))
        .collect();
    {
        let mut v = kw.open();
        let items = markers
            .iter()
            .enumerate()
            .map(|(i, m)| NewCredential {
                name: format!("cred {i:04}"),
                kind: Some(CredentialKind::ApiKey),
                integration: (i % 2 == 0).then(|| "Xledger".to_owned()),
                secrets: SecretFields::single("api_key", SecretString::from(format!("pre{m}post"))),
                ..Default::default()
            })
            .collect();
        v.add_credentials_bulk(items).unwrap();
        // Look at -wal and -shm while the database is open, too.
        let files: Vec<Vec<u8>> = files_under(&kw.vault)
            .iter()
            .map(|f| std::fs::read(f).unwrap())
            .collect();
        assert!(
            files_under(&kw.vault)
                .iter()
                .any(|f| f.to_string_lossy().ends_with("-wal")),
            "WAL file present while open"
        );
        scan(&markers, &files, "vault files while open");
    }
    kw.ok(
        &["credential", "rotate", "--offline", "cred 0001"],
        "pre-rotated-CANARYROTATED000001-post",
    );
    let export = kw.vault.parent().unwrap().join("export.json");
    let audit_csv = kw.vault.parent().unwrap().join("audit.csv");
    let mut outputs: Vec<Vec<u8>> = Vec::new();
    for args in [
        vec!["credential", "list"],
        vec!["--json", "credential", "list"],
        vec!["credential", "list", "--search", "cred 00"],
        vec!["credential", "show", "cred 0001"],
        vec!["--json", "credential", "show", "cred 0002"],
        vec!["integration", "show", "Xledger"],
        vec!["--json", "integration", "list"],
        vec!["audit", "list"],
        vec!["--json", "audit", "list"],
        vec!["audit", "verify"],
        vec!["audit", "export", "--format", "json"],
        vec![
            "audit",
            "export",
            "--format",
            "csv",
            "--output",
            audit_csv.to_str().unwrap(),
        ],
        vec!["export"],
        vec!["export", "--output", export.to_str().unwrap()],
    ] {
        let out = kw.ok(&args, "");
        outputs.push(out.stdout);
        outputs.push(out.stderr);
    }
    outputs.push(std::fs::read(&export).unwrap());
    outputs.push(std::fs::read(&audit_csv).unwrap());
    let all = markers.clone();
    scan(&all, &outputs, "kw output and exports");
    let files: Vec<Vec<u8>> = files_under(&kw.vault)
        .iter()
        .map(|f| std::fs::read(f).unwrap())
        .collect();
    scan(&all, &files, "vault files after close");
    // The secrets are really there: the canary is not vacuous.
    let mut v = kw.open();
    let s = v.use_secret("cred 0999", "canary check").unwrap();
    assert!(s.get("api_key").unwrap().expose().contains(&markers[999]));
}

trait Expose {
    fn expose(&self) -> String;
}
impl Expose for SecretString {
    fn expose(&self) -> String {
        use keywarden_core::ExposeSecret;
        self.expose_secret().to_owned()
    }
}

fn rand_u64(i: usize) -> u64 {
    let mut x = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ std::process::id() as u64;
    x ^= x >> 31;
    x.wrapping_mul(0xBF58_476D_1CE4_E5B9)
}

/// Every marker starts with this; where no encoding of the prefix occurs,
/// no marker does, so scanning for the prefix covers all 1,000 at once.
const CANARY_PREFIX: &str = "KWCANARYMARKER";

fn scan(markers: &[String], blobs: &[Vec<u8>], what: &str) {
    assert!(markers.iter().all(|m| m.starts_with(CANARY_PREFIX)));
    for enc in encodings(CANARY_PREFIX) {
        for b in blobs {
            assert!(
                !contains(b, &enc),
                "a canary marker ({}) found in {what}",
                String::from_utf8_lossy(&enc)
            );
        }
    }
}

#[test]
fn audit_verify_names_the_first_edited_deleted_reordered_inserted_or_truncated_event() {
    let (kw, _) = Kw::init();
    for i in 0..4 {
        kw.ok(
            &["credential", "add", &format!("k{i}"), "--type", "api-key"],
            &format!("pk_live_{i:016}"),
        );
    }
    kw.ok(&["audit", "verify"], "");
    let cases = [
        ("UPDATE audit_events SET profile = 'mallory' WHERE seq = 3", "event 3"),
        ("DELETE FROM audit_events WHERE seq = 2", "event 2"),
        ("UPDATE audit_events SET seq = 100 WHERE seq = 2; UPDATE audit_events SET seq = 2 WHERE seq = 3; UPDATE audit_events SET seq = 3 WHERE seq = 100", "event 2"),
        ("UPDATE audit_events SET seq = -(seq + 1) WHERE seq >= 3; UPDATE audit_events SET seq = -seq WHERE seq < 0;
          INSERT INTO audit_events SELECT 3, at, profile, os_user, host, action, object_kind, object_id, object_name, outcome, detail, prev_mac, mac FROM audit_events WHERE seq = 2", "event 3"),
        ("DELETE FROM audit_events WHERE seq = 5", "event 5"),
    ];
    for (sql, expected) in cases {
        let backup = kw.vault.parent().unwrap().join("backup");
        copy_dir(&kw.vault, &backup);
        kw.open().raw_connection().execute_batch(sql).unwrap();
        let err = kw.fails(&["audit", "verify"], "", 9, "FAILED");
        assert!(err.contains(expected), "{sql}: {err}");
        std::fs::remove_dir_all(&kw.vault).unwrap();
        std::fs::rename(&backup, &kw.vault).unwrap();
        kw.ok(&["audit", "verify"], "");
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for f in files_under(from) {
        std::fs::copy(&f, to.join(f.file_name().unwrap())).unwrap();
    }
}

#[test]
fn no_session_bus_is_a_clear_error_and_writes_nothing() {
    let kw = Kw::new();
    let mut c = kw.cmd(&["init"]);
    c.env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus");
    let out = kw.run_with(c, b"");
    assert_eq!(out.status.code(), Some(6));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no OS keychain is reachable") && err.contains("passphrase vault"),
        "{err}"
    );
    assert!(!kw.vault.exists(), "nothing written");
    // An existing vault is not opened either.
    let (kw, _) = Kw::init();
    let mut c = kw.cmd(&["credential", "list"]);
    c.env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus");
    let out = kw.run_with(c, b"");
    assert_eq!(out.status.code(), Some(6), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn locked_keychain_is_a_distinct_clear_error_and_writes_nothing() {
    // A private session whose keyring we may lock without disturbing others.
    let tmp = tempfile::tempdir().unwrap();
    let script = format!(
        r#"set -e
export XDG_DATA_HOME={t}/data XDG_RUNTIME_DIR={t}/run
mkdir -p $XDG_DATA_HOME $XDG_RUNTIME_DIR && chmod 700 $XDG_RUNTIME_DIR
eval "$(printf pw | gnome-keyring-daemon --unlock --components=secrets --control-directory={t}/run/kr)"
for i in $(seq 50); do dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets | grep -q true && break; sleep 0.1; done
{kw} --vault {t}/a init >/dev/null
dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets org.freedesktop.Secret.Service.Lock array:objpath:/org/freedesktop/secrets/collection/login >/dev/null
set +e
{kw} --vault {t}/a credential list 2>{t}/open.err; echo "open=$?"
{kw} --vault {t}/b init 2>{t}/init.err; echo "init=$?"
test -e {t}/b && echo "b-exists" || echo "b-absent"
"#,
        t = tmp.path().display(),
        kw = kw_bin().display()
    );
    let out = Command::new("dbus-run-session")
        .args(["--", "bash", "-c", &script])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("open=6"),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("init=6"), "{stdout}");
    assert!(stdout.contains("b-absent"), "{stdout}");
    for f in ["open.err", "init.err"] {
        let err = std::fs::read_to_string(tmp.path().join(f)).unwrap();
        assert!(
            err.contains("keychain is locked") && err.contains("unlock"),
            "{f}: {err}"
        );
    }
}

#[test]
fn recover_with_the_code_restores_access_after_the_keychain_item_is_deleted() {
    let (kw, code) = Kw::init();
    let secrets: Vec<String> = (0..20).map(|i| format!("pk_live_recover{i:08}")).collect();
    for (i, s) in secrets.iter().enumerate() {
        kw.ok(&["credential", "add", &format!("c{i}"), "--type", "api-key"], s);
    }
    let st = Command::new("secret-tool")
        .args(["clear", "service", "keywarden", "username", &kw.vault_id()])
        .status()
        .unwrap();
    assert!(st.success());
    kw.fails(&["credential", "list"], "", 6, "kw recover");
    let before = std::fs::read(kw.vault.join("vault.json")).unwrap();
    kw.fails(
        &["recover"],
        "ABCD-ABCD-ABCD-ABCD-ABCD-ABCD-ABCD-ABCD\n",
        7,
        "recovery code is wrong",
    );
    kw.fails(&["recover"], "ABCD\n", 5, "32 characters");
    assert_eq!(std::fs::read(kw.vault.join("vault.json")).unwrap(), before);
    kw.ok(&["recover"], &format!("{}\n", code.to_lowercase()));
    let mut v = kw.open();
    for (i, s) in secrets.iter().enumerate() {
        assert_eq!(
            &v.use_secret(&format!("c{i}"), "check")
                .unwrap()
                .get("api_key")
                .unwrap()
                .expose(),
            s
        );
    }
    assert!(v.verify_audit().unwrap().ok);
}

#[test]
fn bad_input_gets_a_clear_error_and_leaves_the_vault_unchanged() {
    let (kw, _) = Kw::init();
    kw.ok(&["integration", "add", "Pleo", "--provider", "pleo"], "");
    kw.ok(
        &["credential", "add", "taken", "--type", "api-key"],
        "pk_live_0123456789abcdef",
    );
    let before = kw.digest();
    let add = ["credential", "add", "new one", "--type", "api-key"];
    let big = "a".repeat(64 * 1024 + 1);
    kw.fails(&add, "", 5, "empty");
    kw.fails(&add, "   \n", 5, "white space");
    kw.fails(&add, &big, 5, "64 KiB");
    kw.fails_bytes(&add, b"pk_live_\xff\xfe0123456", 5, "UTF-8");
    kw.fails(
        &["credential", "add", "x", "--type", "ssh-key"],
        "pk_live_0123456789abcdef",
        2,
        "invalid value 'ssh-key'",
    );
    kw.fails(
        &["credential", "add", "taken", "--type", "api-key"],
        "pk_live_0123456789abcdef",
        4,
        "already exists",
    );
    kw.fails(
        &["credential", "add", "TAKEN", "--type", "api-key"],
        "pk_live_0123456789abcdef",
        4,
        "already exists",
    );
    kw.fails(
        &[
            "credential",
            "add",
            "x'; DROP TABLE credentials; -- $(rm -rf ~) `id` | tee",
            "--type",
            "api-key",
        ],
        "pk_live_0123456789abcdef",
        5,
        "not allowed in a name",
    );
    kw.fails(
        &[
            "credential",
            "add",
            "x",
            "--type",
            "api-key",
            "--secret",
            "pk_live_0123",
        ],
        "",
        5,
        "never taken from the command line",
    );
    kw.fails(
        &[
            "credential",
            "add",
            "sk_live_51HqLyjWDarjtT1zdp7dcXyZ",
            "--type",
            "api-key",
        ],
        "",
        5,
        "looks like a secret",
    );
    kw.fails(
        &[
            "credential",
            "add",
            "x",
            "--type",
            "custom",
            "--field",
            "password=hunter2",
            "--secret-field",
            "a",
        ],
        "v",
        5,
        "--secret-field password",
    );
    kw.fails(
        &["credential", "add", "x", "--type", "api-key", "--integration", "Nope"],
        "pk_live_0123456789abcdef",
        3,
        "not found",
    );
    kw.fails(
        &["credential", "add", "x", "--type", "api-key", "--expires", "2026-13-45"],
        "pk_live_0123456789abcdef",
        5,
        "YYYY-MM-DD",
    );
    kw.fails(&["credential", "rotate", "taken"], "", 5, "empty");
    kw.fails(&["credential", "rotate", "taken"], "has space in it", 5, "white space");
    kw.fails(
        &["credential", "rotate", "missing"],
        "pk_live_0123456789abcdef",
        3,
        "not found",
    );
    kw.fails(
        &["integration", "add", "Pleo", "--provider", "pleo"],
        "",
        4,
        "already exists",
    );
    kw.fails(
        &[
            "integration",
            "add",
            "P2",
            "--provider",
            "pleo",
            "--base-url",
            "ftp://x",
        ],
        "",
        5,
        "https://",
    );
    kw.fails(&["credential", "delete", "missing"], "", 3, "not found");
    kw.fails(&["import", "/nonexistent/file.json"], "", 1, "reading");
    assert_eq!(kw.digest(), before, "the vault is unchanged");
}

#[test]
fn every_read_command_speaks_json() {
    let (kw, _) = Kw::init();
    kw.ok(
        &[
            "integration",
            "add",
            "BC",
            "--provider",
            "business_central",
            "--tenant-id",
            "t-1",
            "--scope",
            "api.read",
        ],
        "",
    );
    kw.ok(
        &[
            "credential",
            "add",
            "bc",
            "--type",
            "oauth2",
            "--integration",
            "BC",
            "--client-id",
            "app-1",
            "--token-url",
            "https://login.example/token",
            "--offline",
        ],
        "client-secret-value-123",
    );
    kw.ok(
        &["credential", "add", "basic", "--type", "basic", "--username", "svc"],
        "pass word with spaces",
    );
    kw.ok(
        &[
            "credential",
            "add",
            "custom",
            "--type",
            "custom",
            "--secret-field",
            "signing_key",
            "--secret-field",
            "webhook_secret",
            "--field",
            "region=eu",
        ],
        "first-value-1\nsecond-value-2\n",
    );
    for args in [
        vec!["credential", "list"],
        vec!["credential", "show", "bc"],
        vec!["integration", "list"],
        vec!["integration", "show", "BC"],
        vec!["audit", "list"],
        vec!["audit", "verify"],
        vec!["export"],
    ] {
        let mut a = vec!["--json"];
        a.extend(args.iter());
        let out = kw.ok(&a, "");
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}"));
    }
    let out = kw.ok(&["--json", "credential", "show", "custom"], "");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["secret_fields"], serde_json::json!(["signing_key", "webhook_secret"]));
    assert_eq!(v["config"]["region"], "eu");
    assert_eq!(v["mask"], "••••••••e-1");
}

/// Pleo's company for the keys the fake accepts.
const ACME: &str = "6c0e3f4a-1b2c-4d5e-8f90-a1b2c3d4e5f6";

#[test]
fn rotate_validates_live_shows_the_new_mask_keeps_the_integration_and_audit_names_the_admin() {
    let pleo = FakePleo::start(&["pk_live_aaaaaaaaaaaaOLD1", "pk_live_bbbbbbbbbbbbNEW2"], ACME, false).unwrap();
    let (kw, _) = Kw::init();
    kw.ok(
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
            "--schedule",
            "every 15 min",
        ],
        "",
    );
    kw.ok(
        &[
            "credential",
            "add",
            "pleo",
            "--type",
            "api-key",
            "--integration",
            "Pleo",
        ],
        "pk_live_aaaaaaaaaaaaOLD1",
    );
    let integration = |kw: &Kw| -> serde_json::Value {
        serde_json::from_slice::<serde_json::Value>(&kw.ok(&["--json", "integration", "show", "Pleo"], "").stdout)
            .unwrap()["integration"]
            .clone()
    };
    let before = integration(&kw);

    // A key Pleo refuses: exit 8, the old key stays current.
    let err = kw.fails(
        &["credential", "rotate", "pleo"],
        "pk_live_ccccccccccccBAD3\n",
        8,
        "does not accept",
    );
    assert!(!err.contains("BAD3"), "{err}");
    let v: serde_json::Value =
        serde_json::from_slice(&kw.ok(&["--json", "credential", "show", "pleo"], "").stdout).unwrap();
    assert_eq!(v["mask"], "••••••••OLD1");

    let out = kw.ok(
        &["--json", "credential", "rotate", "pleo"],
        "pk_live_bbbbbbbbbbbbNEW2\n",
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["mask"], "••••••••NEW2");
    assert!(v["last_validated_at"].is_string());
    assert_eq!(integration(&kw), before, "integration configuration untouched");
    let out = kw.ok(&["--json", "audit", "list", "--action", "credential.rotate"], "");
    let events: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(events[0]["profile"], "alice");
    assert!(events[0]["host"].as_str().is_some_and(|h| !h.is_empty()));
    let outcomes: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["outcome"].as_str())
        .collect();
    assert!(
        outcomes.contains(&"failure") && outcomes.contains(&"success"),
        "{outcomes:?}"
    );

    // Every request carried the key in the Authorization header only: the
    // add ("Validate and Save"), the refused rotation, the good one.
    let seen = pleo.seen();
    assert_eq!(seen.len(), 3);
    for r in &seen {
        assert_eq!(r.request_line, "GET /v1/introspect HTTP/1.1");
        assert!(
            r.header("authorization").is_some_and(|a| a.starts_with("Basic ")),
            "{r:?}"
        );
    }
}

/// Issue 19: against a fake serving Pleo's documented (`data`-wrapped)
/// introspection answer, "Validate and Save" is the default of `kw
/// credential add`: a valid key is saved with its company confirmed, a
/// wrong one is not saved, a key lacking a required scope is refused
/// naming it, another company's key is refused at rotation with the old
/// key kept; `--offline` saves without checking and says so.
#[test]
fn a_pleo_key_is_checked_against_the_documented_answer_before_it_is_saved() {
    const OTHER: &str = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9";
    let pleo = FakePleo::start_companies(
        &[("pk_live_aaaaaaaaaaaaGOOD", ACME), ("pk_live_oooooooooooOTHER", OTHER)],
        false,
    )
    .unwrap();
    let (kw, _) = Kw::init();
    for (name, scope) in [("Pleo", "export:read"), ("Pleo writer", "export:write")] {
        kw.ok(
            &[
                "integration",
                "add",
                name,
                "--provider",
                "pleo",
                "--base-url",
                &pleo.base,
                "--tenant-id",
                ACME,
                "--scope",
                scope,
            ],
            "",
        );
    }
    // A key Pleo does not know: refused, nothing saved.
    let err = kw.fails(
        &[
            "credential",
            "add",
            "wrong",
            "--type",
            "api-key",
            "--integration",
            "Pleo",
        ],
        "pk_live_xxxxxxxxxxxxWRNG",
        8,
        "does not accept",
    );
    assert!(!err.contains("WRNG"), "{err}");
    // A key without the integration's required scope: refused, naming it.
    kw.fails(
        &[
            "credential",
            "add",
            "narrow",
            "--type",
            "api-key",
            "--integration",
            "Pleo writer",
        ],
        "pk_live_aaaaaaaaaaaaGOOD",
        8,
        "export:write",
    );
    // Another company's key: refused, naming the wrong company.
    kw.fails(
        &[
            "credential",
            "add",
            "other",
            "--type",
            "api-key",
            "--integration",
            "Pleo",
        ],
        "pk_live_oooooooooooOTHER",
        8,
        OTHER,
    );
    let list: serde_json::Value = serde_json::from_slice(&kw.ok(&["--json", "credential", "list"], "").stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 0, "nothing refused was saved: {list}");

    // A valid key: validated and saved, the company confirmed.
    let out = kw.ok(
        &[
            "--json",
            "credential",
            "add",
            "pleo",
            "--type",
            "api-key",
            "--integration",
            "Pleo",
        ],
        "pk_live_aaaaaaaaaaaaGOOD",
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["last_validated_at"].is_string(), "{v}");
    assert_eq!(v["reminders"], serde_json::json!([]), "nothing left to confirm: {v}");
    let detail_of = |name: &str| -> String {
        let events: serde_json::Value = serde_json::from_slice(
            &kw.ok(&["--json", "audit", "list", "--action", "credential.add"], "")
                .stdout,
        )
        .unwrap();
        events
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["object_name"] == name)
            .map(|e| e["detail"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert!(detail_of("pleo").contains("checked with the provider before saving"));

    // Rotating to another company's key: refused, the old key kept.
    kw.fails(
        &["credential", "rotate", "pleo"],
        "pk_live_oooooooooooOTHER\n",
        8,
        OTHER,
    );
    let v: serde_json::Value =
        serde_json::from_slice(&kw.ok(&["--json", "credential", "show", "pleo"], "").stdout).unwrap();
    assert_eq!(v["mask"], "••••••••GOOD");
    assert_eq!(v["current_version"], 1);

    // Saving without a check is explicit, and labelled in the audit log
    // and on the credential's check list.
    let out = kw.ok(
        &[
            "--json",
            "credential",
            "add",
            "unchecked",
            "--type",
            "api-key",
            "--integration",
            "Pleo",
            "--offline",
        ],
        "pk_live_uuuuuuuuuuuuNCHK",
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["reminders"][0]["kind"], "unchecked", "{v}");
    assert!(detail_of("unchecked").contains("saved without a live check"));
    let shown = String::from_utf8(kw.ok(&["credential", "show", "unchecked"], "").stdout).unwrap();
    assert!(shown.contains("Saved without a live check"), "{shown}");
}

/// Seed 002, Rotate step 4: after a rotation the admin is reminded to
/// revoke the old key at the provider, until they say it is done.
#[test]
fn a_rotation_reminds_to_revoke_the_old_key_until_marked_done() {
    let pleo = FakePleo::start(&["pk_live_aaaaaaaaaaaaOLD1", "pk_live_bbbbbbbbbbbbNEW2"], ACME, false).unwrap();
    let (kw, _) = Kw::init();
    kw.ok(
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
    );
    kw.ok(
        &[
            "credential",
            "add",
            "pleo",
            "--type",
            "api-key",
            "--integration",
            "Pleo",
        ],
        "pk_live_aaaaaaaaaaaaOLD1",
    );
    let out = String::from_utf8(
        kw.ok(&["credential", "rotate", "pleo"], "pk_live_bbbbbbbbbbbbNEW2\n")
            .stdout,
    )
    .unwrap();
    assert!(
        out.contains("Revoke the replaced secret (version 1, ••••••••OLD1) at pleo"),
        "{out}"
    );
    assert!(!out.contains("aaaaaaaaaaaaOLD1"), "{out}");
    let shown = String::from_utf8(kw.ok(&["credential", "show", "pleo"], "").stdout).unwrap();
    assert!(shown.contains("Revoke the replaced secret"), "{shown}");
    kw.ok(&["credential", "old-revoked", "pleo"], "");
    let v: serde_json::Value =
        serde_json::from_slice(&kw.ok(&["--json", "credential", "show", "pleo"], "").stdout).unwrap();
    assert_eq!(v["reminders"], serde_json::json!([]), "{v}");
    let events: serde_json::Value = serde_json::from_slice(
        &kw.ok(&["--json", "audit", "list", "--action", "credential.reminder"], "")
            .stdout,
    )
    .unwrap();
    assert_eq!(events.as_array().unwrap().len(), 1, "{events}");
    kw.fails(&["credential", "old-revoked", "pleo"], "", 5, "no reminder");
}

#[test]
fn credential_test_reports_the_live_verdict_and_exit_8_when_refused() {
    let pleo = FakePleo::start(&["pk_live_aaaaaaaaaaaaGOOD"], ACME, false).unwrap();
    let (kw, _) = Kw::init();
    kw.ok(
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
    );
    kw.ok(
        &[
            "credential",
            "add",
            "good",
            "--type",
            "api-key",
            "--integration",
            "Pleo",
            "--offline",
        ],
        "pk_live_aaaaaaaaaaaaGOOD",
    );
    kw.ok(
        &[
            "credential",
            "add",
            "revoked",
            "--type",
            "api-key",
            "--integration",
            "Pleo",
            "--offline",
        ],
        "pk_live_aaaaaaaaaaaaREVK",
    );
    let out = kw.ok(&["credential", "test", "good"], "");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("live check passed") && text.contains(ACME), "{text}");
    assert!(
        text.contains("application Netsuite") && text.contains("auth method API_KEY"),
        "{text}"
    );
    let out = kw.ok(&["--json", "credential", "test", "good", "--offline"], "");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["check"]["offline"], true);

    for n in 1..=3 {
        let out = kw.run(&["--json", "credential", "test", "revoked"], "");
        assert_eq!(out.status.code(), Some(8));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["check"]["outcome"]["failure"]["kind"], "invalid_credential");
        assert_eq!(v["consecutive_auth_failures"], n);
        assert!(!String::from_utf8_lossy(&[out.stdout, out.stderr].concat()).contains("REVK"));
    }
    let v: serde_json::Value =
        serde_json::from_slice(&kw.ok(&["--json", "credential", "show", "revoked"], "").stdout).unwrap();
    assert_eq!(v["status"], "error");
}

#[test]
fn delete_refuses_while_used_and_names_the_integration() {
    let (kw, _) = Kw::init();
    kw.ok(&["integration", "add", "Xledger prod", "--provider", "xledger"], "");
    kw.ok(
        &[
            "credential",
            "add",
            "x",
            "--type",
            "api-key",
            "--integration",
            "Xledger prod",
            "--offline",
        ],
        "pk_live_0123456789abcdef",
    );
    kw.fails(&["credential", "delete", "x"], "", 4, "Xledger prod");
    kw.ok(&["credential", "delete", "x", "--force"], "");
    kw.fails(&["credential", "show", "x"], "", 3, "not found");
}

#[test]
fn import_recreates_configuration_marked_for_reentry() {
    let (kw, _) = Kw::init();
    kw.ok(
        &["integration", "add", "Pleo", "--provider", "pleo", "--tenant-id", "c-1"],
        "",
    );
    kw.ok(
        &[
            "credential",
            "add",
            "p",
            "--type",
            "api-key",
            "--integration",
            "Pleo",
            "--offline",
        ],
        "pk_live_0123456789abcdef",
    );
    let file = kw.vault.parent().unwrap().join("e.json");
    kw.ok(&["export", "--output", file.to_str().unwrap()], "");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("must be re-entered"));
    let (other, _) = Kw::init();
    let out = other.ok(&["import", file.to_str().unwrap()], "");
    assert!(String::from_utf8_lossy(&out.stdout).contains("re-entered"));
    let v: serde_json::Value =
        serde_json::from_slice(&other.ok(&["--json", "credential", "show", "p"], "").stdout).unwrap();
    assert_eq!(v["needs_reentry"], true);
    assert_eq!(v["integration"], "Pleo");
}

#[test]
fn a_rejected_secret_never_appears_in_the_error_message() {
    let (kw, _) = Kw::init();
    kw.ok(
        &["credential", "add", "basic", "--type", "basic", "--username", "svc"],
        "KWCANARYBASIC0001",
    );
    kw.ok(
        &["credential", "add", "key", "--type", "api-key"],
        "pk_live_0123456789abcdef",
    );
    let cases: [(&[&str], &str); 5] = [
        (
            &["credential", "add", "n1", "--type", "api-key"],
            "KWCANARYERR with space",
        ),
        (&["credential", "add", "n2", "--type", "api-key"], "KWCAN\u{e9}RY\u{7}x"),
        (&["credential", "add", "n3", "--type", "api-key"], "KWCA"),
        (&["credential", "rotate", "key"], "KWCANARYROT\tTAB"),
        (&["--json", "credential", "rotate", "basic"], "KWCANARY\rPASS"),
    ];
    for (args, secret) in cases {
        let out = kw.run(args, secret);
        assert!(!out.status.success(), "{args:?} accepted {secret:?}");
        let all = [out.stdout, out.stderr].concat();
        assert!(!contains(&all, b"KWCA"), "{args:?}: {}", String::from_utf8_lossy(&all));
    }
}

#[test]
fn a_token_anywhere_on_the_command_line_is_refused_and_never_echoed() {
    let (kw, _) = Kw::init();
    let before = kw.digest();
    let token = "sk_live_51HqLyjWDarjtT1zdp7dcXyZ";
    for args in [
        vec![
            "credential",
            "add",
            "x",
            "--type",
            "api-key",
            "--tag",
            "payroll",
            "--tag",
            token,
        ],
        vec!["credential", "add", "x", "--type", "api-key", token],
        vec!["credential", "disable", "x", "--reason", token],
        vec![
            "integration",
            "add",
            "i",
            "--provider",
            "pleo",
            "--owner=q8Z3vN1xR7tY2wK9mB4cF6hJ0pL5sD",
        ],
        vec!["credential", "add", "x", "--type", "custom", "--field", token],
    ] {
        let err = kw.fails(&args, "pk_live_0123456789abcdef", 5, "looks like a secret");
        assert!(!err.contains(token) && !err.contains("q8Z3vN1x"), "{err}");
    }
    assert_eq!(kw.digest(), before);
}

#[test]
fn a_rotation_killed_at_any_step_leaves_exactly_one_working_current_version_and_a_valid_audit() {
    use std::io::BufRead;
    for step in ["staged", "validated", "swap"] {
        let (kw, _) = Kw::init();
        kw.ok(
            &["credential", "add", "pleo", "--type", "api-key"],
            "pk_live_aaaaaaaaaaaaOLD1",
        );
        let mut c = kw.cmd(&["credential", "rotate", "--offline", "pleo"]);
        c.env("KEYWARDEN_CRASH_AT", step)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"pk_live_bbbbbbbbbbbbNEW2\n")
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let marker = format!("KEYWARDEN_CRASH_POINT {step}");
        let mut seen = Vec::new();
        let reached = std::iter::from_fn(|| rx.recv_timeout(std::time::Duration::from_secs(30)).ok())
            .inspect(|line| seen.push(line.clone()))
            .any(|line| line == marker);
        // SIGKILL: no destructor, no rollback of our own, no flush.
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert!(reached, "{step}: kw never reached the crash point; it said: {seen:?}");
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9),
            "{step}: killed by SIGKILL"
        );

        // After the restart: exactly one current version, the old one, working.
        let v: serde_json::Value =
            serde_json::from_slice(&kw.ok(&["--json", "credential", "show", "pleo"], "").stdout).unwrap();
        let current: Vec<&serde_json::Value> = v["versions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["state"] == "current")
            .collect();
        assert_eq!(current.len(), 1, "{step}: {v}");
        assert_eq!(v["mask"], "••••••••OLD1", "{step}");
        kw.ok(&["credential", "test", "--offline", "pleo"], "");
        kw.ok(&["audit", "verify"], "");
        // And the next rotation goes through.
        let out = kw.ok(
            &["--json", "credential", "rotate", "--offline", "pleo"],
            "pk_live_ccccccccccccNEW3\n",
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["mask"], "••••••••NEW3", "{step}");
        let current = v["versions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["state"] == "current")
            .count();
        assert_eq!(current, 1, "{step}");
        kw.ok(&["audit", "verify"], "");
    }
}

#[test]
fn no_secret_in_any_verdict_error_or_support_bundle_even_when_the_provider_echoes_it() {
    // The fake answers every key with a 401 whose body repeats the
    // Authorization header it received.
    let pleo = FakePleo::start(&[], ACME, true).unwrap();
    let (kw, _) = Kw::init();
    kw.ok(
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
    );
    let canaries = ["pk_live_KWBUNDLECANARY0001", "pk_live_KWBUNDLECANARY0002"];
    kw.ok(
        &[
            "credential",
            "add",
            "a",
            "--type",
            "api-key",
            "--integration",
            "Pleo",
            "--offline",
        ],
        canaries[0],
    );
    kw.ok(
        &["credential", "add", "b", "--type", "basic", "--username", "svc"],
        canaries[1],
    );
    let mut outputs: Vec<Vec<u8>> = Vec::new();
    let mut keep = |o: Output| outputs.push([o.stdout, o.stderr].concat());
    for _ in 0..3 {
        keep(kw.run(&["credential", "test", "a"], ""));
        keep(kw.run(&["--json", "credential", "test", "a"], ""));
    }
    keep(kw.run(&["credential", "test", "--offline", "b"], ""));
    keep(kw.run(&["credential", "rotate", "a"], "pk_live_KWBUNDLECANARY0003\n"));
    keep(kw.run(&["--json", "credential", "rotate", "a"], "pk_live_KWBUNDLECANARY0003\n"));
    let bundle = kw.vault.parent().unwrap().join("support.json");
    keep(kw.ok(&["support-bundle", "--output", bundle.to_str().unwrap()], ""));
    keep(kw.ok(&["support-bundle"], ""));
    keep(kw.ok(&["--json", "audit", "list"], ""));
    let file = std::fs::read(&bundle).unwrap();
    outputs.push(file.clone());

    assert!(pleo.seen().len() >= 6, "the live checks reached the fake");
    // Raw, and as the fake echoes it: base64 in a Basic header.
    let encoded: Vec<String> = canaries
        .iter()
        .chain(["pk_live_KWBUNDLECANARY0003"].iter())
        .map(|c| base64::engine::general_purpose::STANDARD.encode(format!("{c}:")))
        .collect();
    for out in &outputs {
        assert!(!contains(out, b"KWBUNDLECANARY"), "{}", String::from_utf8_lossy(out));
        for e in &encoded {
            assert!(!contains(out, e.as_bytes()), "{}", String::from_utf8_lossy(out));
        }
    }
    let v: serde_json::Value = serde_json::from_slice(&file).unwrap();
    assert_eq!(v["format"], "keywarden-support-bundle");
    let a = v["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "a")
        .unwrap();
    assert_eq!(a["status"], "error", "three refusals: reconnection required");
    assert_eq!(a["last_live_verdict"], "invalid_credential");
    assert_eq!(a["last_live_age_hours"], 0);
    assert!(a.get("mask").is_none(), "no mask in the bundle");
}

#[test]
fn the_reconnection_threshold_in_the_vaults_settings_applies_to_kw() {
    let pleo = FakePleo::start(&[], ACME, false).unwrap();
    let (kw, _) = Kw::init();
    std::fs::write(kw.vault.join("settings.json"), r#"{"auth_failure_threshold": 1}"#).unwrap();
    kw.ok(
        &[
            "integration",
            "add",
            "Pleo",
            "--provider",
            "pleo",
            "--base-url",
            &pleo.base,
        ],
        "",
    );
    kw.ok(
        &[
            "credential",
            "add",
            "a",
            "--type",
            "api-key",
            "--integration",
            "Pleo",
            "--offline",
        ],
        "pk_live_aaaaaaaaaaaaREVK",
    );
    let out = kw.run(&["--json", "credential", "test", "a"], "");
    assert_eq!(out.status.code(), Some(8));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["consecutive_auth_failures"], 1);
    assert_eq!(v["reconnection_required"], true);
}

/// Issue 20, finding 10: a damaged settings.json is not silently ignored.
#[test]
fn a_damaged_settings_file_is_named_on_stderr_and_the_defaults_apply() {
    let (kw, _) = Kw::init();
    std::fs::write(kw.vault.join("settings.json"), r#"{"auth_failure_threshold": 1,"#).unwrap();
    let out = kw.run(&["credential", "list"], "");
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("settings.json cannot be used: it is not valid") && err.contains("the default settings apply"),
        "{err}"
    );
}

/// `kw expiry check` on a private session bus with a notification recorder:
/// 13 days out gives one desktop notification, a second run none, 6 days
/// out the 7-day one, and after rotation nothing more for the old version.
#[test]
fn expiry_check_notifies_each_threshold_once_natively_and_rotation_ends_the_old_notices() {
    let recorder = keywarden_notify::recorder::Recorder::start().unwrap();
    let (kw, _) = Kw::init();
    kw.ok(
        &[
            "integration",
            "add",
            "Pleo production",
            "--provider",
            "pleo",
            "--environment",
            "production",
        ],
        "",
    );
    let now = time::OffsetDateTime::now_utc();
    let in_13_days = keywarden_core::timefmt::to_db(now + time::Duration::days(13));
    let secret = "pk_live_EXPIRYCANARY_7Hq2x9Lm4wxyz";
    kw.ok(
        &[
            "credential",
            "add",
            "Pleo API",
            "--type",
            "api-key",
            "--integration",
            "Pleo production",
            "--expires",
            &in_13_days[..10],
            "--offline",
        ],
        secret,
    );
    let at = |t: time::OffsetDateTime| {
        let mut c = kw.cmd(&["expiry", "check"]);
        c.env("KEYWARDEN_TEST_NOW", keywarden_core::timefmt::to_db(t));
        let out = kw.run_with(c, b"");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let first = at(now);
    assert!(
        first.contains("Pleo API expires in") && first.contains("[desktop]"),
        "{first}"
    );
    let shown = recorder.shown();
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert!(shown[0].summary.starts_with("Pleo API expires in 1"), "{:?}", shown[0]);
    assert!(shown[0].body.contains("Pleo production"), "{:?}", shown[0]);
    for text in [&shown[0].summary, &shown[0].body, &first] {
        assert!(
            !text.contains(secret) && !text.contains("wxyz"),
            "no secret, no last 4: {text}"
        );
    }
    assert!(at(now).contains("No notice due"), "a second run is silent");
    assert_eq!(recorder.shown().len(), 1);

    let six_days_left = at(now + time::Duration::days(7));
    assert!(six_days_left.contains("Pleo API expires in"), "{six_days_left}");
    assert_eq!(recorder.shown().len(), 2);

    // Rotated with a new expiry: the old version's notices stop.
    let in_a_year = keywarden_core::timefmt::to_db(now + time::Duration::days(365));
    kw.ok(
        &[
            "credential",
            "rotate",
            "--offline",
            "Pleo API",
            "--expires",
            &in_a_year[..10],
        ],
        "pk_live_EXPIRYROTATED_Nw3uVb8zabcd",
    );
    for day in [12, 13, 20] {
        assert!(
            at(now + time::Duration::days(day)).contains("No notice due"),
            "day {day}"
        );
    }
    assert_eq!(recorder.shown().len(), 2);
    let listed = kw.ok(&["--json", "expiry", "notices"], "");
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2);
}

/// `kw run`: the child sees the secret in its environment only (not in its
/// or kw's command line), its exit code is kw's, a rotation is picked up by
/// the next run without any change, and each use is audited with the
/// command.
#[test]
fn kw_run_gives_the_child_the_current_secret_in_its_environment_only() {
    let (kw, _) = Kw::init();
    kw.ok(
        &[
            "integration",
            "add",
            "Pleo production",
            "--provider",
            "pleo",
            "--env",
            "api_key=PLEO_API_KEY",
        ],
        "",
    );
    let first = "pk_live_RUNCANARY_first_7Hq2x9Lm4";
    kw.ok(
        &[
            "credential",
            "add",
            "Pleo API",
            "--type",
            "api-key",
            "--integration",
            "Pleo production",
            "--offline",
        ],
        first,
    );
    let work = tempfile::tempdir().unwrap();
    let script = "printf %s \"$PLEO_API_KEY\" > secret.txt; tr '\\0' ' ' < /proc/$PPID/cmdline > parent.txt; \
                  tr '\\0' ' ' < /proc/$$/cmdline > self.txt; exit 7";
    let run = || {
        let mut c = kw.cmd(&["run", "--integration", "Pleo production", "--", "sh", "-c", script]);
        c.current_dir(work.path());
        let out = kw.run_with(c, b"");
        (
            out.status.code(),
            std::fs::read_to_string(work.path().join("secret.txt")).unwrap(),
        )
    };
    let (code, seen) = run();
    assert_eq!(code, Some(7), "the child's exit code is kw's");
    assert_eq!(seen, first);
    for f in ["parent.txt", "self.txt"] {
        let cmdline = std::fs::read_to_string(work.path().join(f)).unwrap();
        assert!(cmdline.contains("sh") || cmdline.contains("kw"), "{f}: {cmdline}");
        assert!(!cmdline.contains(first), "{f} holds the secret: {cmdline}");
    }

    let second = "pk_live_RUNCANARY_second_Nw3uVb8z";
    kw.ok(&["credential", "rotate", "--offline", "Pleo API"], second);
    let (_, seen) = run();
    assert_eq!(
        seen, second,
        "the next run gets the rotated value, nothing changed in the job"
    );

    let audit = String::from_utf8(kw.ok(&["audit", "list", "--action", "credential.use"], "").stdout).unwrap();
    assert_eq!(audit.matches("kw run: sh").count(), 2, "{audit}");
    let shown = String::from_utf8(kw.ok(&["credential", "show", "Pleo API"], "").stdout).unwrap();
    assert!(
        shown.contains("kw run sh") && shown.contains("2 uses on 1 days"),
        "{shown}"
    );
    assert!(!audit.contains(first) && !audit.contains(second));

    // Without a mapping a field gets <INTEGRATION>_<FIELD>; a disabled
    // credential is refused before anything starts.
    kw.ok(&["integration", "add", "Xledger", "--provider", "xledger"], "");
    kw.ok(
        &[
            "credential",
            "add",
            "XL",
            "--type",
            "api-key",
            "--integration",
            "Xledger",
            "--offline",
        ],
        "xl-token-run-canary-0001",
    );
    let mut c = kw.cmd(&[
        "run",
        "--integration",
        "Xledger",
        "--",
        "sh",
        "-c",
        "printf %s \"$XLEDGER_API_KEY\" > x.txt",
    ]);
    c.current_dir(work.path());
    assert!(kw.run_with(c, b"").status.success());
    assert_eq!(
        std::fs::read_to_string(work.path().join("x.txt")).unwrap(),
        "xl-token-run-canary-0001"
    );
    let disabled = kw.ok(&["credential", "disable", "XL", "--reason", "leaked"], "");
    assert!(
        String::from_utf8_lossy(&disabled.stderr).contains("are refused from now: sh"),
        "disabling names the workflows"
    );
    let mut c = kw.cmd(&["run", "--integration", "Xledger", "--", "sh", "-c", "touch started.txt"]);
    c.current_dir(work.path());
    let out = kw.run_with(c, b"");
    assert_eq!(out.status.code(), Some(8), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("marked compromised: leaked"),
        "the reason is named"
    );
    assert!(!work.path().join("started.txt").exists(), "the command never ran");
}

/// Each policy key as `kw` meets it: refused with exit 11 and "managed by
/// your organization", `kw policy show` naming the file and line of each
/// value, and a broken file giving the strictest policy and its line.
#[test]
fn kw_obeys_each_policy_key_and_policy_show_names_where_each_value_comes_from() {
    let pleo = FakePleo::start(&["pk_live_aaaaaaaaaaaaGOOD"], ACME, false).unwrap();
    let (kw, _) = Kw::init();
    kw.ok(
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
    );
    kw.ok(
        &["credential", "add", "before", "--type", "api-key"],
        "pk_live_aaaaaaaaaaaaBFR1",
    );

    // No file: nothing managed.
    let v: serde_json::Value = serde_json::from_slice(&kw.ok(&["--json", "policy", "show"], "").stdout).unwrap();
    assert_eq!(v["source"]["kind"], "none", "{v}");
    assert!(v["entries"].as_array().unwrap().iter().all(|e| e["managed"] == false));

    let path = kw.set_policy(
        "# Finance workstations\n\
         export_allowed = false\n\
         require_live_validation = true\n\
         max_credential_age_days = 60\n\
         notice_thresholds_days = [30, 14, 7]\n\
         allowed_providers = [\"pleo\"]\n\
         verifier_allowed = false\n",
    );
    let shown = String::from_utf8(kw.ok(&["policy", "show"], "").stdout).unwrap();
    let p = path.display();
    for (key, value, line) in [
        ("export_allowed", "false", 2),
        ("require_live_validation", "true", 3),
        ("max_credential_age_days", "60", 4),
        ("notice_thresholds_days", "30, 14, 7", 5),
        ("allowed_providers", "pleo", 6),
        ("verifier_allowed", "false", 7),
    ] {
        let row = shown
            .lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("{key}: {shown}"));
        assert!(
            row.contains(value) && row.contains("managed") && row.contains(&format!("{p}:{line}")),
            "{row}"
        );
    }
    let row = shown.lines().find(|l| l.starts_with("clipboard_allowed")).unwrap();
    assert!(row.contains("user or default") && !row.contains("managed"), "{row}");

    // Each key, refused by kw with exit 11.
    kw.fails(&["export"], "", 11, "managed by your organization (export_allowed)");
    kw.fails(
        &[
            "integration",
            "add",
            "Ledger",
            "--provider",
            "xledger",
            "--tenant-id",
            "1234",
        ],
        "",
        11,
        "provider 'xledger' is not allowed here (allowed: pleo)",
    );
    kw.fails(
        &["integration", "update", "Pleo", "--max-age-days", "0"],
        "",
        11,
        "at least every 60 days",
    );
    kw.fails(
        &[
            "credential",
            "add",
            "long",
            "--type",
            "api-key",
            "--integration",
            "Pleo",
            "--max-age-days",
            "120",
        ],
        "pk_live_aaaaaaaaaaaaLNG1",
        11,
        "max_credential_age_days",
    );
    kw.fails(&["serve", "--listen", "127.0.0.1:0"], "", 11, "verifier_allowed");
    // Live validation before save: a key Pleo refuses is not saved (exit 8),
    // an offline rotation is refused (11), a key Pleo accepts is saved.
    kw.fails(
        &[
            "credential",
            "add",
            "pleo",
            "--type",
            "api-key",
            "--integration",
            "Pleo",
        ],
        "pk_live_ccccccccccccBAD3",
        8,
        "does not accept",
    );
    kw.ok(
        &[
            "credential",
            "add",
            "pleo",
            "--type",
            "api-key",
            "--integration",
            "Pleo",
        ],
        "pk_live_aaaaaaaaaaaaGOOD",
    );
    kw.fails(
        &["credential", "rotate", "--offline", "before"],
        "pk_live_aaaaaaaaaaaaNEW9\n",
        11,
        "require_live_validation",
    );
    let v: serde_json::Value = serde_json::from_slice(&kw.ok(&["--json", "credential", "list"], "").stdout).unwrap();
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "nothing refused was saved: {names:?}");

    // A broken file: the strictest policy, and the line that is wrong.
    kw.set_policy("export_allowed = false\nclipboard_allowed = \"sometimes\"\n");
    // `policy show` prints it all and exits 11, so a deployment check fails.
    let shown = kw.run(&["--json", "policy", "show"], "");
    assert_eq!(shown.status.code(), Some(11));
    assert!(String::from_utf8_lossy(&shown.stderr).contains("strictest policy applies"));
    let v: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(v["source"]["kind"], "strictest", "{v}");
    let problem = v["source"]["problem"].as_str().unwrap();
    assert!(problem.contains("line 2"), "{problem}");
    // Every key but the check period, which the strictest policy leaves
    // to each credential (a forced period would spend Xledger's credits).
    let unmanaged: Vec<&str> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["managed"] != true)
        .map(|e| e["key"].as_str().unwrap())
        .collect();
    assert_eq!(unmanaged, ["health_check_max_hours"], "{v}");
    let err = kw.fails(&["export"], "", 11, "strictest policy applies");
    assert!(err.contains("line 2"), "{err}");
    // A file that cannot be read is not ignored either.
    let unreadable = kw.set_policy("");
    std::fs::remove_file(&unreadable).unwrap();
    std::fs::create_dir(&unreadable).unwrap();
    let shown = kw.run(&["--json", "policy", "show"], "");
    assert_eq!(shown.status.code(), Some(11));
    let v: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(v["source"]["kind"], "strictest", "{v}");
    assert!(
        v["source"]["problem"].as_str().unwrap().contains("cannot be read"),
        "{v}"
    );
    // Reading still works under the strictest policy.
    kw.ok(&["credential", "list"], "");
    // The broken file is a notice (and an alert), once per problem.
    let broken = |kw: &Kw| {
        let v: serde_json::Value = serde_json::from_slice(&kw.ok(&["--json", "expiry", "notices"], "").stdout).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .filter(|n| n["kind"] == "policy_broken")
            .count()
    };
    let noted = broken(&kw);
    assert!(noted >= 1);
    kw.ok(&["credential", "list"], "");
    assert_eq!(broken(&kw), noted, "said again");
}

/// `kw … | grep -q`, `kw … | head -1`: a reader that stops early is how
/// scripts use kw. kw must end quietly with 0 (its work is done), not
/// panic with "failed printing to stdout" and abort; CI's package test
/// once failed on exactly that under `set -o pipefail`.
#[test]
fn a_reader_that_closes_the_pipe_early_ends_kw_quietly_with_success() {
    let (kw, _) = Kw::init();
    kw.ok(&["integration", "add", "Pleo", "--provider", "pleo"], "");
    kw.ok(
        &["credential", "add", "Pleo payroll", "--type", "api-key"],
        "pk_live_0123456789abcdef",
    );
    for args in [
        &["credential", "list"][..],
        &["--json", "credential", "list"],
        &["policy", "show"],
        &["audit", "list"],
        &["integration", "list"],
    ] {
        let mut c = kw.cmd(args);
        c.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        // The reader is gone before kw writes its first byte.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "kw {args:?} with a closed stdout: {:?}, stderr: {stderr}",
            out.status
        );
        assert!(stderr.is_empty(), "kw {args:?} with a closed stdout wrote: {stderr}");
    }
}

/// A KeePass XML export of `n` entries whose secrets carry canary markers.
fn keepass_export(n: usize) -> (String, Vec<String>) {
    let markers: Vec<String> = (0..n)
        .map(|i| format!("{CANARY_PREFIX}{i:04}{:016x}", rand_u64(i + 7000)))
        .collect();
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<KeePassFile><Meta><Generator>KeePassXC</Generator></Meta><Root><Group><UUID>cm9vdA==</UUID><Name>Root</Name><Group><UUID>ZmluYW5jZQ==</UUID><Name>Finance</Name>\n",
    );
    for (i, m) in markers.iter().enumerate() {
        xml.push_str(&format!(
            "<Entry><String><Key>Title</Key><Value>erp api {i:04}</Value></String><String><Key>UserName</Key><Value></Value></String><String><Key>Password</Key><Value ProtectInMemory=\"True\">{m}</Value></String></Entry>\n"
        ));
    }
    xml.push_str("</Group></Group></Root></KeePassFile>\n");
    (xml, markers)
}

#[test]
fn kw_credential_import_seals_a_keepass_export_audits_it_reminds_to_destroy_the_file_and_never_prints_a_secret() {
    let (kw, _) = Kw::init();
    let (xml, markers) = keepass_export(300);
    let file = kw.vault.parent().unwrap().join("export.xml");
    std::fs::write(&file, &xml).unwrap();
    let path = file.to_str().unwrap();

    // A dry run checks everything and writes nothing.
    let before = kw.digest();
    let out = kw.ok(
        &["credential", "import", "--from", "keepass-xml", path, "--dry-run"],
        "",
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("300 credentials"),
        "{out:?}"
    );
    assert_eq!(kw.digest(), before, "a dry run changed the vault");

    let mut outputs = vec![];
    let out = kw.ok(
        &[
            "--json",
            "credential",
            "import",
            "--from",
            "keepass-xml",
            path,
            "--tag",
            "migrated",
        ],
        "",
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["imported"], 300);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        stderr.contains("still holds these secrets in plain text") && stderr.contains("shred -u"),
        "{stderr}"
    );
    outputs.push(out.stdout);
    outputs.push(out.stderr);

    // Importing the same file again is refused whole, naming the places.
    let err = kw.fails(
        &["credential", "import", "--from", "keepass-xml", path],
        "",
        5,
        "nothing was imported",
    );
    assert!(
        err.contains("entry 1 (group Finance): the vault already has a credential named 'erp api 0000'"),
        "{err}"
    );
    outputs.push(err.into_bytes());

    // From stdin: nothing on disk, so no reminder.
    let csv = format!("name,secret,tags\nfrom stdin,{}Z,piped\n", markers[0]);
    let out = kw.ok(&["credential", "import", "--from", "csv", "-"], &csv);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("shred"), "{out:?}");
    outputs.push(out.stdout);
    outputs.push(out.stderr);

    for args in [
        vec!["credential", "list", "--tag", "finance"],
        vec!["--json", "credential", "show", "erp api 0299"],
        vec!["audit", "list"],
        vec!["export"],
    ] {
        let out = kw.ok(&args, "");
        outputs.push(out.stdout);
        outputs.push(out.stderr);
    }
    scan(&markers, &outputs, "kw credential import output");
    let list = kw.ok(&["--json", "credential", "list", "--tag", "migrated"], "");
    let list: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 300);
    let audit = String::from_utf8_lossy(&kw.ok(&["audit", "list"], "").stdout).to_string();
    assert!(
        audit.contains("credential.import") && audit.contains("300 credentials from a keepass-xml file"),
        "{audit}"
    );
    kw.ok(&["audit", "verify"], "");
    // Every secret arrived whole, and each is sealed: none in the files.
    let mut v = kw.open();
    for i in [0, 150, 299] {
        let s = v.use_secret(&format!("erp api {i:04}"), "check").unwrap();
        assert_eq!(s.get("api_key").unwrap().expose(), markers[i]);
    }
    drop(v);
    let files: Vec<Vec<u8>> = files_under(&kw.vault)
        .iter()
        .map(|f| std::fs::read(f).unwrap())
        .collect();
    scan(&markers, &files, "vault files after an import");
}

#[test]
fn kw_credential_import_refuses_a_broken_file_whole_with_each_place_and_no_value() {
    let (kw, _) = Kw::init();
    let before = kw.digest();
    let file = kw.vault.parent().unwrap().join("sheet.csv");
    std::fs::write(
        &file,
        "name,secret\nok,KWCANARYMARKERok0000000\n,KWCANARYMARKERnotitle\nthree,KWCANARYMARKER3,extra\n",
    )
    .unwrap();
    let err = kw.fails(
        &["credential", "import", "--from", "csv", file.to_str().unwrap()],
        "",
        5,
        "nothing was imported",
    );
    assert!(
        err.contains("line 3: it has no title") && err.contains("line 4: 3 columns"),
        "{err}"
    );
    assert!(!err.contains("KWCANARY"), "{err}");
    std::fs::write(&file, "<KeePassFile><Root>").unwrap();
    kw.fails(
        &["credential", "import", "--from", "keepass-xml", file.to_str().unwrap()],
        "",
        5,
        "not well-formed XML",
    );
    kw.fails(
        &["credential", "import", "--from", "csv", "/nonexistent/x.csv"],
        "",
        1,
        "reading /nonexistent/x.csv",
    );
    assert_eq!(kw.digest(), before, "a refused import changed the vault");
}

/// Issue 20, finding 4: an older copy of `vault.db` put back went
/// unnoticed (the audit head lives in the same file): a revoked partner key
/// verified again and a disabled credential was active. For a keychain and
/// a passphrase vault: copy, revoke and disable, put the copy back; every
/// command refuses the database, naming both event numbers, until the
/// restore is accepted on purpose, which the audit log records.
#[test]
fn an_older_copy_of_the_database_put_back_is_refused_until_accepted_on_purpose() {
    for passphrase in [false, true] {
        let kw = Kw::new();
        let pass_file = kw._tmp.path().join("pass");
        std::fs::write(&pass_file, "correct horse battery staple\n").unwrap();
        let with_pass = |args: &[&str]| -> Vec<String> {
            let mut v: Vec<String> = Vec::new();
            if passphrase {
                v.push("--passphrase-file".into());
                v.push(pass_file.to_str().unwrap().into());
            }
            v.extend(args.iter().map(|a| (*a).to_owned()));
            v
        };
        let run_ok = |args: &[&str], stdin: &str| {
            let a = with_pass(args);
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            kw.ok(&a, stdin)
        };
        let run = |args: &[&str]| {
            let a = with_pass(args);
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            kw.run(&a, "")
        };
        if passphrase {
            run_ok(&["init", "--passphrase"], "");
        } else {
            run_ok(&["init"], "");
        }
        run_ok(
            &["credential", "add", "Bank", "--type", "api-key"],
            "pk_live_rollback_0123456789\n",
        );
        let issued: serde_json::Value = serde_json::from_slice(
            &run_ok(
                &[
                    "--json",
                    "keys",
                    "issue",
                    "--application",
                    "erp",
                    "--scope",
                    "ledger:read",
                ],
                "",
            )
            .stdout,
        )
        .unwrap();
        let key_id = issued["record"]["id"].as_str().unwrap().to_owned();
        let copy = std::fs::read(kw.vault.join("vault.db")).unwrap();

        run_ok(&["keys", "revoke", &key_id, "--reason", "leaked"], "");
        run_ok(&["credential", "disable", "Bank", "--reason", "compromised"], "");
        std::fs::write(kw.vault.join("vault.db"), &copy).unwrap();

        for args in [
            &["audit", "verify"][..],
            &["check"],
            &["credential", "list"],
            &["keys", "list"],
        ] {
            let out = run(args);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(10),
                "passphrase {passphrase}, kw {args:?}: {err}"
            );
            assert!(
                err.contains("older than the last change recorded") && err.contains("--accept-older"),
                "{err}"
            );
        }
        let out = run(&["audit", "verify"]);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        let numbers: Vec<i64> = err
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|n| n.parse().ok())
            .collect();
        assert!(
            numbers.len() >= 2 && numbers[0] < numbers[1],
            "both event numbers: {err}"
        );

        let accepted = String::from_utf8_lossy(&run_ok(&["recover", "--accept-older"], "").stdout).into_owned();
        assert!(accepted.contains("accepted"), "{accepted}");
        run_ok(&["audit", "verify"], "");
        let events = String::from_utf8_lossy(&run_ok(&["--json", "audit", "list"], "").stdout).into_owned();
        assert!(events.contains("vault.accept_older"), "{events}");
        // Accepted on purpose: the restored state is the vault's now.
        let listed = String::from_utf8_lossy(&run_ok(&["--json", "credential", "list"], "").stdout).into_owned();
        assert!(listed.contains("\"active\""), "{listed}");
        // And a second restore of the same old copy is refused again.
        std::fs::write(kw.vault.join("vault.db"), &copy).unwrap();
        assert_eq!(
            run(&["credential", "list"]).status.code(),
            Some(10),
            "passphrase {passphrase}"
        );
    }
}

/// A provider fake that writes back whatever it was sent: the whole
/// request (the `Authorization` header in its base64, a form body
/// percent-encoded) and the decoded Basic credentials, into every text
/// field of Pleo's, Xledger's, OAuth 2.0's and RFC 6750's error shapes and
/// into its `WWW-Authenticate` challenge, with `status`.
fn echoing_provider(status: u16) -> String {
    use std::io::{BufRead, BufReader, Read};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            let mut reader = BufReader::new(conn);
            let mut request = String::new();
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                request.push_str(&line);
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            request.push_str(&String::from_utf8_lossy(&body));
            let basic: String = request
                .lines()
                .filter_map(|l| l.split_once("Basic "))
                .filter_map(|(_, b64)| base64::engine::general_purpose::STANDARD.decode(b64.trim()).ok())
                .map(|raw| String::from_utf8_lossy(&raw).into_owned())
                .collect();
            let echo = format!("{request} {basic}");
            let json = serde_json::json!({
                "error": echo, "error_description": echo, "message": echo,
                "data": { "subjectURN": echo, "scope": echo, "applicationName": echo, "authMethod": echo,
                          "clientId": echo },
                "errors": [{ "message": echo, "extensions": { "code": echo } }],
                "scope": echo, "token_type": echo,
            })
            .to_string();
            let challenge = echo.replace(['"', '\r', '\n'], " ");
            let answer = format!(
                "HTTP/1.1 {status} Echo\r\nContent-Type: application/json\r\nWWW-Authenticate: Bearer error=\"{challenge}\", \
                 error_description=\"{challenge}\", scope=\"{challenge}\"\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json}",
                json.len()
            );
            let mut conn = reader.into_inner();
            let _ = std::io::Write::write_all(&mut conn, answer.as_bytes());
        }
    });
    base
}

/// Issue 20, finding 2, in the canary suite: every provider writing back
/// the secrets it was sent, in a pass (200) and a refusal (401), through
/// `kw credential test`, a live rotation and a refused one, and a scope
/// refusal (403) whose scopes are the echo. No marker, in
/// any encoding, in kw's output, the audit log, its export, the
/// configuration export, the support bundle or the vault's files.
#[test]
fn canary_secrets_echoed_by_every_provider_never_appear_in_output_audit_exports_bundles_or_files() {
    let (kw, _code) = Kw::init();
    let mut markers = Vec::new();
    let mut marker = |what: &str| {
        let m = format!("{CANARY_PREFIX}{what}{:016x}", rand_u64(markers.len() + 5000));
        markers.push(m.clone());
        m
    };
    let mut outputs: Vec<Vec<u8>> = Vec::new();
    let mut keep = |out: Output| {
        outputs.push(out.stdout);
        outputs.push(out.stderr);
    };
    // 403: RFC 6750's insufficient_scope, whose `scope` the generic check
    // reads as the scopes missing.
    for status in [200, 401, 403] {
        let echo = echoing_provider(status);
        for provider in ["pleo", "xledger"] {
            let integration = format!("{provider} {status}");
            kw.ok(
                &[
                    "integration",
                    "add",
                    &integration,
                    "--provider",
                    provider,
                    "--base-url",
                    &echo,
                ],
                "",
            );
            let name = format!("{provider} key {status}");
            let secret = marker(provider);
            keep(kw.ok(
                &[
                    "credential",
                    "add",
                    &name,
                    "--type",
                    "api-key",
                    "--integration",
                    &integration,
                    "--offline",
                ],
                &format!("{secret}\n"),
            ));
            keep(kw.run(&["credential", "test", &name], ""));
            keep(kw.run(&["credential", "rotate", &name], &format!("{}\n", marker(provider))));
        }
        let oauth = format!("oauth {status}");
        let client_secret = marker("oauth");
        keep(kw.ok(
            &[
                "credential",
                "add",
                &oauth,
                "--type",
                "oauth2",
                "--field",
                &format!("token_url={echo}/token"),
                "--field",
                "client_id=client-id",
                "--field",
                "client_auth=basic",
                "--offline",
            ],
            &format!("{client_secret}\n"),
        ));
        keep(kw.run(&["credential", "test", &oauth], ""));
        let generic = format!("generic {status}");
        keep(kw.ok(
            &[
                "credential",
                "add",
                &generic,
                "--type",
                "api-key",
                "--field",
                &format!("check_url={echo}/check"),
                "--offline",
            ],
            &format!("{}\n", marker("generic")),
        ));
        keep(kw.run(&["credential", "test", &generic], ""));
        keep(kw.run(&["credential", "rotate", &generic], &format!("{}\n", marker("generic"))));
    }
    let bundle = kw.vault.parent().unwrap().join("bundle.json");
    let export = kw.vault.parent().unwrap().join("config.json");
    for args in [
        vec!["--json", "audit", "list"],
        vec!["audit", "list"],
        vec!["audit", "export", "--format", "json"],
        vec!["audit", "export", "--format", "csv"],
        vec!["--json", "credential", "list"],
        vec!["credential", "show", "pleo key 401"],
        vec!["--json", "credential", "show", "generic 200"],
        vec!["support-bundle", "--output", bundle.to_str().unwrap()],
        vec!["export", "--output", export.to_str().unwrap()],
    ] {
        keep(kw.ok(&args, ""));
    }
    outputs.push(std::fs::read(&bundle).unwrap());
    outputs.push(std::fs::read(&export).unwrap());
    scan(&markers, &outputs, "kw output, audit, exports and the support bundle");
    let files: Vec<Vec<u8>> = files_under(&kw.vault)
        .iter()
        .map(|f| std::fs::read(f).unwrap())
        .collect();
    scan(&markers, &files, "vault files");
    // Not vacuous: the fakes were asked, and did echo.
    let audit = String::from_utf8_lossy(&kw.ok(&["--json", "audit", "list"], "").stdout).into_owned();
    assert!(
        audit.contains("credential.check") || audit.contains("credential.test"),
        "{audit}"
    );
}
