//! The desktop app's IPC payloads: what a command receives from the web
//! view, deserialised and parsed into core types. The first byte picks the
//! payload type; the rest is its JSON. The app's own source files are
//! compiled in (they need only the core, serde and ts-rs).
#![no_main]
#![allow(dead_code)]

#[path = "../../src-tauri/src/models.rs"]
mod models;
#[path = "../../src-tauri/src/settings.rs"]
mod settings;

fn parse<T: serde::de::DeserializeOwned>(json: &[u8]) -> Option<T> {
    serde_json::from_slice(json).ok()
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&which, json)) = data.split_first() else {
        return;
    };
    match which % 10 {
        0 => {
            if let Some(i) = parse::<models::NewCredentialInput>(json) {
                let _ = i.parse();
            }
        }
        1 => {
            if let Some(i) = parse::<models::CredentialPatchInput>(json) {
                let _ = i.parse();
            }
        }
        2 => {
            if let Some(i) = parse::<models::RotateInput>(json) {
                let _ = i.parse();
            }
        }
        3 => {
            if let Some(i) = parse::<models::NewIntegrationInput>(json) {
                let _ = i.parse();
            }
        }
        4 => {
            if let Some(i) = parse::<models::IntegrationPatchInput>(json) {
                let _ = i.parse();
            }
        }
        5 => {
            if let Some(i) = parse::<models::AuditQuery>(json) {
                let _ = i.parse();
            }
        }
        6 => {
            if let Some(i) = parse::<models::IssueKeyInput>(json) {
                let _ = i.parse();
            }
        }
        7 => {
            if let Some(s) = parse::<settings::Settings>(json) {
                let _ = s.check();
                let _ = s.check_policy(&keywarden_core::Policy::default());
            }
        }
        8 => {
            let _ = parse::<keywarden_core::partner::Signed>(json);
        }
        _ => {
            let _ = parse::<models::ExportFormat>(json);
            let _ = parse::<secrecy::SecretString>(json);
            // The team vault's inputs (sign-in, rotation).
            let _ = parse::<models::TeamSignInInput>(json);
            let _ = parse::<models::TeamRotateInput>(json);
        }
    }
});
