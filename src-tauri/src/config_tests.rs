//! The security configuration, pinned: the main window's capability grants
//! exactly the app's commands (plus event listening), and the CSP allows no
//! remote origin, no inline script and no eval.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::COMMANDS;

fn read_json(path: &str) -> Value {
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    serde_json::from_str(&std::fs::read_to_string(full).unwrap()).unwrap()
}

#[test]
fn main_window_capability_grants_exactly_the_app_commands() {
    let cap = read_json("src-tauri/capabilities/main-window.json");
    assert_eq!(cap["windows"], serde_json::json!(["main"]));
    let granted: BTreeSet<String> = cap["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect();
    let mut wanted: BTreeSet<String> = COMMANDS
        .iter()
        .map(|c| format!("allow-{}", c.replace('_', "-")))
        .collect();
    wanted.insert("core:event:allow-listen".into());
    wanted.insert("core:event:allow-unlisten".into());
    assert_eq!(granted, wanted, "the capability and command_list.rs disagree");
}

#[test]
fn csp_is_strict_and_only_the_main_capability_is_enabled() {
    let conf = read_json("tauri.conf.json");
    let security = &conf["app"]["security"];
    assert_eq!(security["capabilities"], serde_json::json!(["main-window"]));
    assert!(security.get("dangerousDisableAssetCspModification").is_none());
    let csp = security["csp"].as_object().expect("a CSP, never null");
    let script = csp["script-src"].as_str().unwrap();
    assert_eq!(script, "'self'");
    assert_eq!(csp["default-src"], "'self'");
    assert_eq!(csp["object-src"], "'none'");
    for (directive, value) in csp {
        let value = value.as_str().unwrap();
        assert!(!value.contains("unsafe-eval"), "{directive} allows eval");
        for source in value.split_whitespace() {
            let remote = source.starts_with("http") && source != "http://ipc.localhost";
            assert!(
                !remote && source != "*" && source != "https:",
                "{directive} allows {source}"
            );
        }
    }
    assert_eq!(conf["app"]["withGlobalTauri"], false);
}
