//! The shell through the mock runtime, with the real configuration
//! (capabilities, CSP) and a real vault in a temp folder: every command the
//! UI can call, with 100 stored secrets holding markers — no response may
//! contain one. And a command not granted to a window is refused.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use keywarden_core::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tauri::test::{INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder};
use tauri::webview::InvokeRequest;
use tauri::{App, WebviewWindow, WebviewWindowBuilder};

use crate::clipboard::Clipboard;
use crate::{AppState, COMMANDS, configure, context};

/// Remembers what was copied, so the test can see the secret went to the
/// clipboard and nowhere else.
#[derive(Default)]
struct RecordingClipboard {
    copied: Mutex<Vec<String>>,
}

impl Clipboard for RecordingClipboard {
    fn set(&self, text: &SecretString) -> Result<crate::clipboard::History, String> {
        self.copied.lock().unwrap().push(text.expose_secret().to_owned());
        Ok(crate::clipboard::History::Excluded)
    }
    fn clear_if(&self, _digest: &[u8; 32]) -> Result<(), String> {
        Ok(())
    }
}

/// The person at the save dialog: answers with the paths a test queued,
/// and remembers what each dialog asked.
#[derive(Default)]
struct SaveDialogAnswers {
    answers: Mutex<std::collections::VecDeque<Option<PathBuf>>>,
    asked: Mutex<Vec<(String, String)>>,
    /// Happens while the next dialog is open (the idle timer locking).
    meanwhile: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl crate::save_dialog::SavePicker for SaveDialogAnswers {
    fn pick(&self, ask: &crate::save_dialog::SaveAsk) -> Result<Option<PathBuf>, String> {
        self.asked
            .lock()
            .unwrap()
            .push((ask.title.to_owned(), ask.file_name.clone()));
        if let Some(f) = self.meanwhile.lock().unwrap().take() {
            f();
        }
        self.answers
            .lock()
            .unwrap()
            .pop_front()
            .ok_or_else(|| format!("the test did not expect the dialog '{}'", ask.title))
    }

    fn pick_existing(&self, ask: &crate::save_dialog::SaveAsk) -> Result<Option<PathBuf>, String> {
        self.pick(ask)
    }
}

struct Harness {
    _app: App<MockRuntime>,
    main: WebviewWindow<MockRuntime>,
    clipboard: Arc<RecordingClipboard>,
    dialog: Arc<SaveDialogAnswers>,
    dir: tempfile::TempDir,
    called: BTreeSet<String>,
    /// Every response and error body, as text.
    transcript: String,
}

impl Harness {
    fn new() -> Harness {
        Harness::with_files(|_| {})
    }

    /// A harness whose vault folder `prepare` fills first (files a user
    /// left there before the app started).
    fn with_files(prepare: impl FnOnce(&std::path::Path)) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        prepare(&dir.path().join("vault"));
        let clipboard = Arc::new(RecordingClipboard::default());
        let mut state = AppState::new(dir.path().join("vault"), Some("canary-admin".into()), clipboard.clone());
        state.test_mode = true;
        let dialog = Arc::new(SaveDialogAnswers::default());
        state.save_picker = dialog.clone();
        let app = configure(mock_builder(), state).build(context()).unwrap();
        // The mock runtime never runs the setup hook (it runs when the
        // event loop starts): start the scheduler as setup does.
        crate::scheduler::start(app.handle().clone());
        let main = WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .unwrap();
        Harness {
            _app: app,
            main,
            clipboard,
            dialog,
            dir,
            called: BTreeSet::new(),
            transcript: String::new(),
        }
    }

    fn invoke_in(&mut self, window: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, Value> {
        self.invoke_from(window, "tauri://localhost", cmd, args)
    }

    /// As the page at `origin` in `window` would call it.
    fn invoke_from(
        &mut self,
        window: &WebviewWindow<MockRuntime>,
        origin: &str,
        cmd: &str,
        args: Value,
    ) -> Result<Value, Value> {
        self.called.insert(cmd.to_owned());
        let res = get_ipc_response(
            window,
            InvokeRequest {
                cmd: cmd.into(),
                callback: tauri::ipc::CallbackFn(0),
                error: tauri::ipc::CallbackFn(1),
                url: origin.parse().unwrap(),
                body: tauri::ipc::InvokeBody::Json(args),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            },
        )
        .map(|b| b.deserialize::<Value>().unwrap());
        let text = match &res {
            Ok(v) | Err(v) => v.to_string(),
        };
        self.transcript.push_str(&text);
        self.transcript.push('\n');
        res
    }

    fn invoke(&mut self, cmd: &str, args: Value) -> Result<Value, Value> {
        let main = self.main.clone();
        self.invoke_in(&main, cmd, args)
    }

    /// The next save dialog is answered with `path` (`None`: Cancel).
    fn choose(&self, path: Option<&std::path::Path>) {
        self.dialog
            .answers
            .lock()
            .unwrap()
            .push_back(path.map(std::path::Path::to_path_buf));
    }

    fn ok(&mut self, cmd: &str, args: Value) -> Value {
        match self.invoke(cmd, args) {
            Ok(v) => v,
            Err(e) => panic!("{cmd} failed: {e}"),
        }
    }
}

/// A secret whose middle part is the marker; the mask shows only its tail.
fn secret(i: usize, round: &str) -> (String, String) {
    let marker = format!("KWCANARY{round}{i:03}X");
    (marker.clone(), format!("sk_{marker}_9f8e7d6c5b4a"))
}

#[test]
fn no_command_response_contains_a_stored_secret() {
    let mut h = Harness::new();
    let mut markers = Vec::new();

    let status = h.ok("app_status", json!({}));
    assert_eq!(status["vault"], "none");
    let created = h.ok("create_vault", json!({ "passphrase": "correct horse battery staple" }));
    let recovery = created["recovery_code"].as_str().unwrap().to_owned();
    let integration = h.ok(
        "add_integration",
        json!({ "input": { "name": "Pleo prod", "provider": "pleo", "environment": "prod",
                           "tenant_id": "company-42", "sync_schedule": "hourly" } }),
    );
    let integration_id = integration["id"].as_str().unwrap().to_owned();

    let in_5_days = (time::OffsetDateTime::now_utc() + time::Duration::days(5))
        .date()
        .to_string();
    let mut ids = Vec::new();
    for i in 0..100 {
        let (marker, value) = secret(i, "A");
        markers.push(marker);
        let input = match i % 4 {
            0 => json!({ "name": format!("api {i}"), "kind": "api_key", "integration": integration_id,
                         "secrets": { "api_key": value }, "tags": ["canary"], "expires_at": in_5_days }),
            1 => json!({ "name": format!("oauth {i}"), "kind": "oauth2",
                         "config": { "grant_type": "client_credentials", "client_id": "client-1",
                                     "token_url": "https://login.example.com/token" },
                         "secrets": { "client_secret": value } }),
            2 => json!({ "name": format!("basic {i}"), "kind": "basic", "config": { "username": "svc" },
                         "secrets": { "password": value } }),
            _ => json!({ "name": format!("custom {i}"), "kind": "custom", "config": { "account": "7" },
                         "secrets": { "signing_key": value } }),
        };
        // Saved without a live check: these providers are not faked here.
        let mut input = input;
        input["validate"] = json!(false);
        let c = h.ok("add_credential", json!({ "input": input }));
        assert!(c["mask"].as_str().unwrap().starts_with("••••••••"));
        ids.push(c["id"].as_str().unwrap().to_owned());
    }

    // Every read, for every credential.
    let list = h.ok("list_credentials", json!({}));
    assert_eq!(list.as_array().unwrap().len(), 100);
    // The scheduler (a real thread here too) fires one 7-day notice for
    // each of the 25 API keys expiring in 5 days; they name credential and
    // integration only (the transcript is scanned for secrets below).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let notices = loop {
        let n = h.ok("list_notices", json!({ "include_dismissed": false }));
        if n.as_array().unwrap().len() == 25 || std::time::Instant::now() > deadline {
            break n;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let notices = notices.as_array().unwrap();
    assert_eq!(notices.len(), 25);
    assert!(
        notices
            .iter()
            .all(|n| n["threshold_days"] == 7 && n["integration"] == "Pleo prod")
    );
    assert_eq!(h.ok("mark_notices_read", json!({})), json!(25));
    h.ok("dismiss_notice", json!({ "id": notices[0]["id"] }));
    assert_eq!(
        h.invoke("dismiss_notice", json!({ "id": notices[0]["id"] }))
            .unwrap_err()["code"],
        "not_found"
    );
    assert_eq!(
        h.ok("list_notices", json!({ "include_dismissed": false }))
            .as_array()
            .unwrap()
            .len(),
        24
    );

    // Partner keys: issuance is the one answer with a key's plaintext;
    // listing, details, rotation and revocation carry only records.
    let issued = h.ok(
        "issue_partner_key",
        json!({ "input": { "application": "adyen", "environment": "live", "scopes": ["payments:write"] } }),
    );
    let key_id = issued["key"]["id"].as_str().unwrap().to_owned();
    let plaintext = issued["plaintext"].as_str().unwrap().to_owned();
    assert!(plaintext.starts_with("kwp_live_"));
    let public_key = h.ok("vault_public_key", json!({}));
    assert_eq!(issued["public_key"], public_key);
    let envelope_path = h.dir.path().join("adyen.envelope.json");
    // Cancelled: nothing written, and the envelope still there to save.
    h.choose(None);
    assert!(h.ok("save_key_envelope", json!({ "id": key_id })).is_null());
    // The path is the dialog's: one the page names is not even read.
    let named_by_page = h.dir.path().join("page.envelope.json");
    h.choose(Some(&envelope_path));
    let receipt = h.ok(
        "save_key_envelope",
        json!({ "path": named_by_page.to_str().unwrap(), "id": key_id }),
    );
    assert_eq!(receipt["path"], envelope_path.to_str().unwrap());
    assert!(!named_by_page.exists(), "the page chose the file");
    assert_eq!(
        h.dialog.asked.lock().unwrap().last().unwrap(),
        &("Save key envelope".to_owned(), format!("keywarden-key-{key_id}.json"))
    );
    // Owner-only, the envelope issued with the key, and only once per path.
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&envelope_path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&envelope_path).unwrap()).unwrap();
        assert_eq!(saved, issued["envelope"]);
        let again = h
            .invoke("save_key_envelope", json!({ "id": key_id }))
            .expect_err("written once");
        assert!(again["message"].as_str().unwrap().contains("no envelope"), "{again}");
        // Saved once: no second copy elsewhere either.
        let asked = h.dialog.asked.lock().unwrap().len();
        h.invoke("save_key_envelope", json!({ "id": key_id }))
            .expect_err("saved once");
        assert_eq!(
            h.dialog.asked.lock().unwrap().len(),
            asked,
            "no dialog for an envelope gone"
        );
        // A key no envelope was issued for this session: nothing is written.
        h.invoke("save_key_envelope", json!({ "id": "nosuchkey" }))
            .expect_err("no envelope for that key");
        assert_eq!(h.dialog.asked.lock().unwrap().len(), asked);
    }
    let rotated = h.ok("rotate_partner_key", json!({ "id": key_id, "grace_days": 1 }));
    let new_id = rotated["key"]["id"].as_str().unwrap().to_owned();
    let listed = h.ok("list_partner_keys", json!({}));
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let details = h.ok("get_partner_key", json!({ "id": key_id }));
    assert_eq!(details["key"]["state"], "in_grace");
    assert_eq!(details["key"]["replaced_by"], json!(new_id));
    assert_eq!(
        h.invoke("take_key_delivery", json!({ "id": new_id })).unwrap_err()["code"],
        "not_found",
        "only a key rotated by policy awaits delivery"
    );
    let revoked = h.ok("revoke_partner_key", json!({ "id": new_id, "reason": "test" }));
    assert_eq!(revoked["state"], "revoked");
    for answer in [&listed, &details, &revoked] {
        assert!(
            !answer.to_string().contains(&plaintext[plaintext.len() - 49..]),
            "records never carry a key"
        );
    }
    for id in &ids {
        h.ok("credential_consumers", json!({ "id": id }));
        h.ok("get_credential", json!({ "id": id }));
        h.ok("credential_dependents", json!({ "id": id }));
    }
    h.ok("list_integrations", json!({}));
    h.ok("get_integration", json!({ "id": integration_id }));
    h.ok(
        "update_integration",
        json!({ "id": integration_id, "patch": { "sync_schedule": "daily" } }),
    );
    h.ok(
        "update_credential",
        json!({ "id": ids[1], "patch": { "tags": ["edited"], "notes": "n" } }),
    );

    // Rotation with new marked secrets; a rejected one echoes nothing.
    for (n, id) in ids.iter().enumerate().filter(|(n, _)| n % 4 == 0).take(10) {
        let (marker, value) = secret(n, "B");
        markers.push(marker);
        let out = h.ok(
            "rotate_credential",
            json!({ "id": id, "input": { "secrets": { "api_key": value }, "offline": true } }),
        );
        assert_eq!(out["credential"]["current_version"], 2);
        assert!(
            out["revoke_old"]
                .as_str()
                .is_some_and(|r| r.contains("Revoke the replaced secret")),
            "{out}"
        );
        let done = h.ok("dismiss_reminder", json!({ "id": id, "kind": "revoke_old" }));
        assert!(
            done["reminders"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["kind"] != "revoke_old"),
            "{done}"
        );
    }
    let (marker, bad) = secret(999, "C");
    markers.push(marker);
    let refused = h.invoke(
        "rotate_credential",
        json!({ "id": ids[0], "input": { "secrets": { "api_key": format!("{bad} with space") } } }),
    );
    assert_eq!(refused.unwrap_err()["code"], "invalid_input");

    // Live checks against a fake Pleo that refuses every key and echoes
    // whatever it was sent: neither the verdict nor the history may carry
    // a secret back.
    let pleo = keywarden_connectors::fakes::FakePleo::start(&[], "company-42", true).unwrap();
    h.ok(
        "update_integration",
        json!({ "id": integration_id, "patch": { "base_url": pleo.base } }),
    );
    for id in ids.iter().step_by(4).take(5) {
        let report = h.ok("test_connection", json!({ "id": id, "offline": false }));
        assert_eq!(
            report["check"]["outcome"]["failure"]["kind"], "invalid_credential",
            "{report}"
        );
        h.ok("test_connection", json!({ "id": id, "offline": true }));
        h.ok("list_checks", json!({ "id": id }));
        let days = h.ok("credential_activity", json!({ "id": id, "days": 30 }));
        assert_eq!(days.as_array().unwrap().len(), 30, "{days}");
        h.ok("check_schedule", json!({ "id": id }));
        let set = h.ok("set_check_schedule", json!({ "id": id, "every_hours": 6 }));
        assert_eq!(set["every_hours"], 6, "{set}");
    }
    let period = h.ok("integration_check_schedule", json!({ "id": integration_id }));
    assert_eq!(
        (period["every_hours"].as_u64(), period["source"].as_str()),
        (Some(24), Some("provider")),
        "{period}"
    );
    let set = h.ok(
        "set_integration_check_schedule",
        json!({ "id": integration_id, "every_hours": 12 }),
    );
    assert_eq!(
        (set["own_every_hours"].as_u64(), set["source"].as_str()),
        (Some(12), Some("integration")),
        "{set}"
    );
    assert!(pleo.seen().len() >= 5, "the live checks reached the fake");
    // Alert channels: the webhook URL (its token) and the SMTP password are
    // secrets; no answer carries them back.
    let (hook_marker, _) = secret(990, "W");
    let (smtp_marker, smtp_password) = secret(991, "M");
    markers.extend([hook_marker.clone(), smtp_marker]);
    let hook = h.ok(
        "add_webhook_channel",
        json!({ "name": "Finance Slack", "url": format!("https://hooks.example.com/services/{hook_marker}"),
                "events": ["reconnection_required", "disabled"] }),
    );
    assert_eq!(hook["target"], "hooks.example.com", "{hook}");
    h.ok(
        "add_email_channel",
        json!({ "name": "Finance mail", "password": smtp_password, "events": ["expiring"],
                "config": { "host": "smtp.example.com", "port": 587, "from": "kw@example.com",
                            "to": ["finance@example.com"], "username": "kw@example.com" } }),
    );
    h.ok("test_alert_channel", json!({ "name": "Finance Slack" }));
    assert_eq!(h.ok("list_alert_channels", json!({})).as_array().unwrap().len(), 2);
    h.ok("alert_deliveries", json!({}));
    h.ok("remove_alert_channel", json!({ "name": "Finance mail" }));
    // Back up now: refused without a folder, then into one.
    let refused = h.invoke("backup_now", json!({})).unwrap_err();
    assert!(
        refused["message"].as_str().unwrap().contains("backup folder"),
        "{refused}"
    );
    let folder = h.dir.path().join("backups");
    std::fs::create_dir(&folder).unwrap();
    let mut settings = h.ok("get_settings", json!({}));
    settings["backup_folder"] = json!(folder.display().to_string());
    h.ok("save_settings", json!({ "settings": settings }));
    let backup = h.ok("backup_now", json!({}));
    assert!(backup["credentials"].as_u64().unwrap() > 0, "{backup}");
    // "Validate and Save" is the default: a key Pleo refuses is not saved.
    let before = h.ok("list_credentials", json!({})).as_array().unwrap().len();
    let (marker, value) = secret(997, "E");
    markers.push(marker);
    let refused = h.invoke(
        "add_credential",
        json!({ "input": { "name": "refused pleo", "kind": "api_key", "integration": integration_id,
                           "secrets": { "api_key": value } } }),
    );
    assert_eq!(refused.unwrap_err()["code"], "refused");
    assert_eq!(
        h.ok("list_credentials", json!({})).as_array().unwrap().len(),
        before,
        "nothing saved"
    );
    let (marker, value) = secret(998, "D");
    markers.push(marker);
    let rejected = h.invoke(
        "rotate_credential",
        json!({ "id": ids[4], "input": { "secrets": { "api_key": value } } }),
    );
    assert_eq!(rejected.unwrap_err()["code"], "refused");

    // Copy: refused until an admin turns it on (seeds 001/003: "prevent
    // retrieval of full keys after saving"); then the secret reaches the
    // clipboard and the response only names the field.
    let refused = h
        .invoke("copy_secret", json!({ "id": ids[2], "field": null }))
        .unwrap_err();
    assert_eq!(refused["code"], "refused", "{refused}");
    assert!(h.clipboard.copied.lock().unwrap().is_empty());
    let mut settings = h.ok("get_settings", json!({}));
    assert_eq!(settings["allow_clipboard_copy"], false, "off by default");
    settings["allow_clipboard_copy"] = json!(true);
    h.ok("save_settings", json!({ "settings": settings }));
    let receipt = h.ok("copy_secret", json!({ "id": ids[2], "field": null }));
    assert_eq!(receipt["field"], "password");
    assert_eq!(
        receipt["marked_as_password"], true,
        "the receipt says the copy is marked: {receipt}"
    );
    assert_eq!(h.clipboard.copied.lock().unwrap().as_slice(), [secret(2, "A").1]);

    h.ok(
        "disable_credential",
        json!({ "id": ids[3], "reason": "leaked in a ticket" }),
    );
    h.ok("list_audit", json!({ "query": {} }));
    h.ok(
        "list_audit",
        json!({ "query": { "object": ids[0], "action": "credential.rotate" } }),
    );
    let report = h.ok("verify_audit", json!({}));
    assert_eq!(report["ok"], true);
    let audit_csv = h.dir.path().join("audit.csv");
    h.choose(Some(&audit_csv));
    h.ok("export_audit", json!({ "query": {}, "format": "csv" }));
    assert!(audit_csv.exists());
    let config_json = h.dir.path().join("config.json");
    h.choose(Some(&config_json));
    h.ok("export_config", json!({}));
    // A name the dialog gives that exists already is not written over.
    h.choose(Some(&config_json));
    let e = h.invoke("export_config", json!({})).unwrap_err();
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("nothing is written over a file"),
        "{e}"
    );
    // The support-bundle viewer reads a bundle of this very vault, and
    // refuses a file that is not one (the configuration export).
    let bundle = h.dir.path().join("support.json");
    let made = {
        use tauri::Manager;
        h._app.state::<AppState>().with_vault(|v| v.support_bundle()).unwrap()
    };
    std::fs::write(&bundle, serde_json::to_vec(&made).unwrap()).unwrap();
    let shown = h.ok("open_support_bundle", json!({ "path": bundle.to_str().unwrap() }));
    assert_eq!(shown["credentials"].as_array().unwrap().len(), made.credentials.len());
    let refused = h
        .invoke("open_support_bundle", json!({ "path": config_json.to_str().unwrap() }))
        .unwrap_err();
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("not a Keywarden support bundle"),
        "{refused}"
    );
    // A device that never ends and a FIFO nobody writes: refused at once,
    // not read until memory runs out or waited on for ever.
    let fifo = h.dir.path().join("bundle.fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    for special in [std::path::Path::new("/dev/zero"), fifo.as_path()] {
        let refused = h
            .invoke("open_support_bundle", json!({ "path": special.to_str().unwrap() }))
            .unwrap_err();
        assert!(refused["message"].as_str().unwrap().contains("not a file"), "{refused}");
    }
    h.ok("get_settings", json!({}));
    h.ok(
        "save_settings",
        json!({ "settings": { "expiring_within_days": 30, "auto_lock_minutes": 5,
                              "clipboard_clear_seconds": 20, "allow_clipboard_copy": true } }),
    );
    h.ok("touch", json!({}));

    // OAuth 2.0: the token's state, Refresh and Connect against a fake
    // authorization server that knows neither the pasted refresh token nor
    // (for Connect) where to sign in: every answer says why, none carries
    // the client secret or the refresh token.
    {
        let auth = keywarden_connectors::fake_oauth::FakeAuthServer::start("oauth-client", "unused").unwrap();
        let (marker, client_secret) = secret(400, "O");
        markers.push(marker);
        let (marker, refresh_token) = secret(401, "O");
        markers.push(marker);
        let oauth = h.ok(
            "add_credential",
            json!({ "input": { "name": "oauth signed in", "kind": "oauth2", "validate": false, "tags": [],
                               "config": { "grant_type": "refresh_token", "client_id": "oauth-client",
                                           "token_url": auth.token_url(), "client_auth": "basic" },
                               "secrets": { "client_secret": client_secret, "refresh_token": refresh_token } } }),
        );
        let id = oauth["id"].as_str().unwrap().to_owned();
        let state = h.ok("access_token_state", json!({ "id": id }));
        assert_eq!(state["cached"], false);
        let refused = h.invoke("refresh_access_token", json!({ "id": id })).unwrap_err();
        assert_eq!(refused["code"], "refused", "{refused}");
        assert_eq!(h.ok("get_credential", json!({ "id": id }))["status"], "error");
        let started = h.ok("connect_credential", json!({ "id": id }));
        assert_eq!(started["state"], "waiting");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let ended = loop {
            let now = h.ok("connect_status", json!({}));
            if now["state"] != "waiting" {
                break now;
            }
            assert!(std::time::Instant::now() < deadline, "the Connect never ended");
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        assert_eq!(ended["state"], "failed", "{ended}");
        assert!(ended["message"].as_str().unwrap().contains("authorize_url"), "{ended}");
        h.ok("cancel_connect", json!({}));
        let not_oauth = h.invoke("connect_credential", json!({ "id": ids[0] })).unwrap_err();
        assert_eq!(not_oauth["code"], "invalid_input", "{not_oauth}");
    }

    // The team vault, on a real OpenBao: the same promise for its secrets.
    {
        use keywarden_team::testing::{AcceptAll, MOUNT, Team, USERPASS, api_key, password};
        let team = Team::start();
        assert_eq!(h.ok("team_status", json!({}))["signed_in"], false);
        let signed = h.ok(
            "team_sign_in",
            json!({ "input": { "nodes": [team.server.addr], "mount": MOUNT, "userpass": USERPASS,
                               "user": "bob", "password": password("bob").expose_secret() } }),
        );
        assert_eq!(signed["role"], "admin");
        let bob = team.sign_in("bob");
        for (i, sharing) in keywarden_team::Sharing::ALL.into_iter().enumerate() {
            let (marker, value) = secret(200 + i, "T");
            markers.push(marker);
            bob.add(
                keywarden_team::NewTeamCredential {
                    name: format!("team {i}"),
                    kind: keywarden_core::CredentialKind::ApiKey,
                    sharing,
                    config: Default::default(),
                    secrets: api_key(&value),
                    expires_at: None,
                },
                &AcceptAll::default(),
            )
            .unwrap();
        }
        let listing = h.ok("team_list", json!({}));
        assert_eq!(listing["credentials"].as_array().unwrap().len(), 4);
        assert_eq!(listing["offline"], false);
        let shown = h.ok("team_show", json!({ "name": "team 3" }));
        assert_eq!(shown["you_can"]["rotate"], true);
        let (marker, value) = secret(300, "T");
        markers.push(marker);
        let rotated = h.ok(
            "team_rotate",
            json!({ "name": "team 3", "input": { "secrets": { "api_key": value },
                    "expected_revision": shown["card"]["revision"], "offline": true } }),
        );
        assert!(rotated["card"]["masked"].as_str().unwrap().starts_with("••••••••"));
        // From a stale revision: refused, named, nothing overwritten.
        let (_, late) = secret(301, "T");
        let stale = h.invoke(
            "team_rotate",
            json!({ "name": "team 3", "input": { "secrets": { "api_key": late },
                    "expected_revision": shown["card"]["revision"], "offline": true } }),
        );
        assert_eq!(stale.unwrap_err()["code"], "stale");
        h.ok("team_sign_out", json!({}));
        assert_eq!(h.ok("team_status", json!({}))["signed_in"], false);
    }

    // Import: the file's secrets reach the vault, never the preview, the
    // progress or the outcome; a file refused names places, not values.
    let mut csv = String::from("name,secret,tags\n");
    for i in 0..30 {
        let (marker, value) = secret(500 + i, "I");
        markers.push(marker);
        csv.push_str(&format!("imported {i},{value},finance\n"));
    }
    let export = h.dir.path().join("export.csv");
    std::fs::write(&export, &csv).unwrap();
    h.choose(None);
    assert_eq!(
        h.ok("choose_import_file", json!({ "options": { "tags": [] } })),
        Value::Null
    );
    h.choose(Some(&export));
    let preview = h.ok(
        "choose_import_file",
        json!({ "options": { "environment": "test", "tags": ["moved"] } }),
    );
    assert_eq!(
        (preview["count"].as_u64(), preview["format"].as_str()),
        (Some(30), Some("csv")),
        "{preview}"
    );
    let done = import_and_wait(&mut h, &preview["id"]);
    assert_eq!(done["outcome"]["imported"], 30, "{done}");
    let (marker, value) = secret(599, "I");
    markers.push(marker.clone());
    // The marker also under "provider": a refused file shows no row.
    std::fs::write(
        &export,
        format!("name,secret,provider,tags\nshifted,{value},{marker},{marker}$\n"),
    )
    .unwrap();
    h.choose(Some(&export));
    let refused = h.ok("choose_import_file", json!({ "options": { "tags": [] } }));
    assert!(
        refused["id"].is_null() && !refused["problems"].as_array().unwrap().is_empty(),
        "{refused}"
    );
    h.ok("discard_import", json!({}));

    let wrong = h.invoke("delete_credential", json!({ "id": ids[4], "confirm_name": "not it" }));
    assert_eq!(wrong.unwrap_err()["code"], "invalid_input");
    h.ok("delete_credential", json!({ "id": ids[4], "confirm_name": "api 4" }));

    h.ok("lock_vault", json!({}));
    assert_eq!(h.invoke("list_credentials", json!({})).unwrap_err()["code"], "locked");
    assert_eq!(
        h.invoke("unlock_vault", json!({ "passphrase": "wrong passphrase!!" }))
            .unwrap_err()["code"],
        "wrong_key"
    );
    h.ok("unlock_vault", json!({ "passphrase": "correct horse battery staple" }));
    h.ok("lock_vault", json!({}));
    h.ok(
        "recover_vault",
        json!({ "recovery_code": recovery, "passphrase": "a new passphrase for it" }),
    );
    h.ok("list_credentials", json!({}));

    let called: BTreeSet<&str> = h.called.iter().map(String::as_str).collect();
    let all: BTreeSet<&str> = COMMANDS.iter().copied().collect();
    assert_eq!(called, all, "every command the UI can call is exercised here");

    let exported = [
        std::fs::read_to_string(&audit_csv).unwrap(),
        std::fs::read_to_string(&config_json).unwrap(),
    ];
    for m in &markers {
        assert!(
            !h.transcript.contains(m.as_str()),
            "an IPC response carried secret marker {m}"
        );
        for file in &exported {
            assert!(!file.contains(m.as_str()), "an export carried secret marker {m}");
        }
    }
    assert!(h.transcript.contains("••••••••"), "masks are what the UI sees");
}

#[test]
fn a_window_without_a_capability_is_refused_every_command() {
    let mut h = Harness::new();
    let probe = WebviewWindowBuilder::new(&h._app, "probe", Default::default())
        .build()
        .unwrap();
    for cmd in COMMANDS {
        let refused = h.invoke_in(&probe, cmd, json!({})).unwrap_err();
        assert!(refused.to_string().contains("not allowed"), "{cmd}: {refused}");
    }
    // The same command from the main window is granted.
    h.ok("app_status", json!({}));
}

#[test]
fn no_remote_origin_reaches_any_command_even_in_the_main_window() {
    // Were the main window ever navigated away from the app (a link, a
    // redirect, an injected `location =`), the page it shows must not
    // reach the vault. Loopback too: a local web server is remote to us.
    let mut h = Harness::new();
    for origin in [
        "https://evil.example/",
        "http://127.0.0.1:8080/",
        "http://localhost:5173/",
        "file:///tmp/page.html",
    ] {
        for cmd in COMMANDS {
            let refused = h.invoke_from(&h.main.clone(), origin, cmd, json!({})).unwrap_err();
            assert!(refused.to_string().contains("not allowed"), "{origin} {cmd}: {refused}");
        }
    }
    h.ok("app_status", json!({}));
}

#[test]
fn the_main_window_is_refused_commands_it_was_not_granted() {
    let mut h = Harness::new();
    // Window control, shell, file system: none is in the main capability.
    for cmd in [
        "plugin:window|close",
        "plugin:webview|print",
        "plugin:path|resolve_directory",
    ] {
        let refused = h.invoke(cmd, json!({})).unwrap_err();
        assert!(refused.to_string().contains("not allowed"), "{cmd}: {refused}");
    }
}

#[test]
fn errors_reach_the_ui_as_code_and_message() {
    let mut h = Harness::new();
    let e = h.invoke("list_credentials", json!({})).unwrap_err();
    assert_eq!(e["code"], "locked");
    assert!(e["message"].as_str().unwrap().contains("unlock"));
    h.ok("create_vault", json!({ "passphrase": "correct horse battery staple" }));
    let e = h.invoke("get_credential", json!({ "id": "nope" })).unwrap_err();
    assert_eq!(e["code"], "not_found");
    h.choose(Some(std::path::Path::new("relative/file.json")));
    let e = h.invoke("export_config", json!({})).unwrap_err();
    assert_eq!(e["code"], "invalid_input");
    let e = h
        .invoke(
            "save_settings",
            json!({ "settings": { "expiring_within_days": 0, "auto_lock_minutes": 5,
                                  "clipboard_clear_seconds": 20, "allow_clipboard_copy": true } }),
        )
        .unwrap_err();
    assert_eq!(e["code"], "invalid_input");
    assert!(e["message"].as_str().unwrap().contains("1 to 365"));
}

/// One verification over the same-user socket: the HTTP status.
fn socket_verify_status(path: &std::path::Path, key: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut s = std::os::unix::net::UnixStream::connect(path).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(5))).ok()?;
    write!(
        s,
        "POST /v1/keys/verify HTTP/1.1\r\nHost: kw\r\nX-Api-Key: {key}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).ok()?;
    answer.split_whitespace().nth(1)?.parse().ok()
}

/// One verification over loopback: the HTTP status.
fn verify_status(addr: &str, key: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.write_all(
        format!("POST /v1/keys/verify HTTP/1.1\r\nHost: kw\r\nX-Api-Key: {key}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
            .as_bytes(),
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn the_embedded_verifier_runs_while_the_vault_is_open_follows_revocations_and_stops_on_lock() {
    let mut h = Harness::new();
    h.ok("create_vault", json!({ "passphrase": "correct horse battery staple" }));
    let issued = h.ok(
        "issue_partner_key",
        json!({ "input": { "application": "crm", "environment": "live", "scopes": ["contacts:read"] } }),
    );
    let key = issued["plaintext"].as_str().unwrap().to_owned();
    let id = issued["key"]["id"].as_str().unwrap().to_owned();
    assert_eq!(h.ok("app_status", json!({}))["verifier"], json!(null), "off by default");
    let mut settings = h.ok("get_settings", json!({}));
    settings["verifier_listen"] = json!("127.0.0.1:0");
    h.ok("save_settings", json!({ "settings": settings }));
    let status = h.ok("app_status", json!({}))["verifier"].as_str().unwrap().to_owned();
    let addr = status.strip_prefix("listening on ").unwrap().to_owned();
    assert_eq!(verify_status(&addr, &key), Some(200));
    // And on the same-user socket beside the vault, for this machine's jobs.
    let socket = h.dir.path().join("vault").join("broker.sock");
    assert_eq!(socket_verify_status(&socket, &key), Some(200));
    h.ok("revoke_partner_key", json!({ "id": id, "reason": "test" }));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while verify_status(&addr, &key) != Some(401) {
        assert!(
            std::time::Instant::now() < deadline,
            "the revocation never reached the verifier"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // Locking closes the verifier with the vault.
    h.ok("lock_vault", json!({}));
    assert_eq!(verify_status(&addr, &key), None, "nothing listens once locked");
    assert_eq!(socket_verify_status(&socket, &key), None, "nor on the socket");
    assert_eq!(h.ok("app_status", json!({}))["verifier"], json!(null));
    let bad = h
        .invoke(
            "save_settings",
            json!({ "settings": { "verifier_listen": "not an address" } }),
        )
        .unwrap_err();
    assert!(bad["message"].as_str().unwrap().contains("127.0.0.1:8787"), "{bad}");
}

/// Issue 20, finding 10: a damaged `settings.json` is not silently swapped
/// for the defaults (it may have held a shorter auto-lock): the app says
/// which file and why, keeps the file as it is, and stops saying so once
/// the user saves settings again.
#[test]
fn a_damaged_settings_file_is_reported_and_kept_until_settings_are_saved() {
    const DAMAGED: &str = "{\"auto_lock_minutes\": 1, \"clipboard_clear";
    let mut h = Harness::with_files(|vault| {
        std::fs::create_dir_all(vault).unwrap();
        std::fs::write(vault.join("settings.json"), DAMAGED).unwrap();
    });
    let status = h.ok("app_status", json!({}));
    let problem = status["settings_problem"].as_str().unwrap_or_default().to_owned();
    assert!(
        problem.contains("settings.json cannot be used: it is not valid"),
        "{status}"
    );
    let path = h.dir.path().join("vault").join("settings.json");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        DAMAGED,
        "the damaged file is left for the user"
    );

    let settings = status["settings"].clone();
    h.ok("create_vault", json!({ "passphrase": "correct horse battery staple" }));
    h.ok("save_settings", json!({ "settings": settings }));
    let status = h.ok("app_status", json!({}));
    assert!(status["settings_problem"].is_null(), "{status}");
    let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(saved.is_object(), "saving wrote a sound file: {saved}");
}

/// Issue 20, finding 5, from the review: a save dialog may stay open while
/// the idle timer locks the vault. What was read before it (here a partner
/// key's envelope, the key inside) is not written after the lock, and the
/// envelope is gone with the lock.
#[test]
fn nothing_read_before_a_save_dialog_is_written_after_the_vault_locked() {
    use tauri::Manager;
    let mut h = Harness::new();
    h.ok("create_vault", json!({ "passphrase": "correct horse battery staple" }));
    let issued = h.ok(
        "issue_partner_key",
        json!({ "input": { "application": "adyen", "environment": "live", "scopes": ["invoices:read"] } }),
    );
    let key_id = issued["key"]["id"].as_str().unwrap().to_owned();
    let app = h._app.handle().clone();
    *h.dialog.meanwhile.lock().unwrap() = Some(Box::new(move || {
        app.state::<AppState>().lock();
    }));
    let target = h.dir.path().join("late.envelope.json");
    h.choose(Some(&target));
    let e = h.invoke("save_key_envelope", json!({ "id": key_id })).unwrap_err();
    assert_eq!(e["code"], "locked", "{e}");
    assert!(!target.exists(), "written after the lock");
    h.ok("unlock_vault", json!({ "passphrase": "correct horse battery staple" }));
    let e = h.invoke("save_key_envelope", json!({ "id": key_id })).unwrap_err();
    assert!(e["message"].as_str().unwrap().contains("no envelope"), "{e}");

    // The configuration export the same way.
    let app = h._app.handle().clone();
    *h.dialog.meanwhile.lock().unwrap() = Some(Box::new(move || {
        app.state::<AppState>().lock();
    }));
    let config = h.dir.path().join("late.config.json");
    h.choose(Some(&config));
    let e = h.invoke("export_config", json!({})).unwrap_err();
    assert_eq!(e["code"], "locked", "{e}");
    assert!(!config.exists());
}

/// Starts the import previewed as `id` and polls its status, as the
/// page does, until it ends.
fn import_and_wait(h: &mut Harness, id: &Value) -> Value {
    let started = h.ok("run_import", json!({ "id": id }));
    assert_eq!(started["running"], true, "{started}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let status = h.ok("import_status", json!({}));
        if status["running"] == false {
            return status;
        }
        assert!(std::time::Instant::now() < deadline, "the import never ended: {status}");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// The import screen's backend: a CSV of `n` API keys named `prefix i`.
fn import_csv(h: &Harness, file: &str, prefix: &str, n: usize) -> std::path::PathBuf {
    let mut csv = String::from("name,secret,type,expires\n");
    for i in 0..n {
        csv.push_str(&format!(
            "{prefix} {i},pk_live_{i:016},api-key,2031-01-{:02}\n",
            i % 28 + 1
        ));
    }
    let path = h.dir.path().join(file);
    std::fs::write(&path, csv).unwrap();
    path
}

#[test]
fn an_import_previews_without_writing_then_writes_all_and_reports_its_progress() {
    let mut h = Harness::new();
    h.ok("create_vault", json!({ "passphrase": "correct horse battery staple" }));
    let file = import_csv(&h, "export.csv", "ledger", 250);
    h.choose(Some(&file));
    let preview = h.ok(
        "choose_import_file",
        json!({ "options": { "environment": "test", "tags": ["moved"] } }),
    );
    assert_eq!(preview["count"], 250, "{preview}");
    assert_eq!(
        preview["credentials"].as_array().unwrap().len(),
        200,
        "the preview lists the first 200"
    );
    assert_eq!(preview["credentials"][0]["place"], "line 2");
    assert_eq!(preview["credentials"][0]["environment"], "test");
    assert_eq!(preview["file"], file.display().to_string());
    assert!(preview["problems"].as_array().unwrap().is_empty(), "{preview}");
    assert_eq!(
        h.ok("list_credentials", json!({})).as_array().unwrap().len(),
        0,
        "a preview writes nothing"
    );

    let status = import_and_wait(&mut h, &preview["id"]);
    assert_eq!(
        (&status["done"], &status["total"]),
        (&json!(501), &json!(501)),
        "{status}"
    );
    let outcome = json!({ "imported": 250, "file": file.display().to_string(), "format": "csv" });
    assert_eq!(status["outcome"], outcome, "{status}");
    assert!(status["error"].is_null(), "{status}");
    let list = h.ok("list_credentials", json!({}));
    assert_eq!(list.as_array().unwrap().len(), 250);
    assert!(
        list.as_array().unwrap().iter().all(|c| c["tags"] == json!(["moved"])),
        "{list}"
    );
    // The preview is spent: a second run imports nothing twice.
    let again = h.invoke("run_import", json!({ "id": preview["id"] })).unwrap_err();
    assert_eq!(again["code"], "stale", "{again}");
    // The outcome (and its reminder) stays until the page says it was read.
    assert_eq!(h.ok("import_status", json!({}))["outcome"]["imported"], 250);
    h.ok("discard_import", json!({}));
    assert!(h.ok("import_status", json!({}))["outcome"].is_null());
}

/// A new vault and the preview of a CSV of `n` keys chosen in the dialog.
fn vault_and_preview(n: usize) -> (Harness, std::path::PathBuf, Value) {
    let mut h = Harness::new();
    h.ok("create_vault", json!({ "passphrase": "correct horse battery staple" }));
    let file = import_csv(&h, "export.csv", "ledger", n);
    h.choose(Some(&file));
    let preview = h.ok("choose_import_file", json!({ "options": { "tags": [] } }));
    (h, file, preview)
}

#[test]
fn a_broken_file_or_names_the_vault_has_are_refused_whole_by_place_and_change_nothing() {
    let (mut h, first, preview) = vault_and_preview(3);
    import_and_wait(&mut h, &preview["id"]);
    let audit_before = h.ok("list_audit", json!({ "query": {} })).as_array().unwrap().len();

    // The same file again: every name is taken, each named by its line.
    h.choose(Some(&first));
    let twice = h.ok("choose_import_file", json!({ "options": { "tags": [] } }));
    assert!(twice["id"].is_null(), "{twice}");
    assert_eq!(twice["credentials"], json!([]), "a refused file shows no row");
    let problems = twice["problems"].to_string();
    assert!(
        problems.contains("line 2: the vault already has a credential named 'ledger 0'"),
        "{problems}"
    );
    assert!(problems.contains("line 4:"), "{problems}");

    // A broken line among good ones: refused whole, by place, no value.
    let broken = h.dir.path().join("broken.csv");
    std::fs::write(
        &broken,
        "name,secret,tags\nfine,pk_live_0123456789abcdef,\nbad,pk_live_abcdefabcdef0000,SECRET$VALUE\n",
    )
    .unwrap();
    h.choose(Some(&broken));
    let refused = h.ok("choose_import_file", json!({ "options": { "tags": [] } }));
    let problems = refused["problems"].to_string();
    assert!(
        refused["id"].is_null() && problems.contains("line 3 ('bad'): its tag is not valid"),
        "{refused}"
    );
    assert!(
        !problems.contains("SECRET") && !problems.contains("pk_live"),
        "{problems}"
    );

    // Not text at all.
    std::fs::write(&broken, [0xff, 0xfe, 0x00, 0x41]).unwrap();
    h.choose(Some(&broken));
    let binary = h.ok("choose_import_file", json!({ "options": { "tags": [] } }));
    assert!(binary["problems"].to_string().contains("is not UTF-8 text"), "{binary}");

    // Nothing with a secret: nothing to import, not an empty import.
    std::fs::write(&broken, "name,secret\nno secret,\n").unwrap();
    h.choose(Some(&broken));
    let empty = h.ok("choose_import_file", json!({ "options": { "tags": [] } }));
    assert!(empty["id"].is_null(), "{empty}");
    assert!(empty["problems"].to_string().contains("nothing to import"), "{empty}");
    assert_eq!(empty["skipped_count"], 1, "{empty}");

    // A pipe is not read (it might never end).
    let fifo = h.dir.path().join("export.fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    h.choose(Some(&fifo));
    let pipe = h
        .invoke("choose_import_file", json!({ "options": { "tags": [] } }))
        .unwrap_err();
    assert!(
        pipe["message"].as_str().unwrap().contains("not a regular file"),
        "{pipe}"
    );

    assert_eq!(h.ok("list_credentials", json!({})).as_array().unwrap().len(), 3);
    let audit_after = h.ok("list_audit", json!({ "query": {} })).as_array().unwrap().len();
    assert_eq!(
        audit_after, audit_before,
        "a refused file leaves no trace but its absence"
    );
}

#[test]
fn a_lock_forgets_the_file_previewed() {
    let (mut h, _, preview) = vault_and_preview(5);
    h.ok("lock_vault", json!({}));
    h.ok("unlock_vault", json!({ "passphrase": "correct horse battery staple" }));
    let gone = h.invoke("run_import", json!({ "id": preview["id"] })).unwrap_err();
    assert_eq!(gone["code"], "stale", "{gone}");
    assert_eq!(h.ok("list_credentials", json!({})).as_array().unwrap().len(), 0);
}
