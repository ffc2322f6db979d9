//! `kw audit stream` and `kw audit verify --stream` on the stream of a real
//! session: each command's unlock and change is in it, it verifies, and a
//! tampered copy is refused naming the line.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

const SECRET: &str = "pk_live_STREAMCANARY_9fQ2mZ";

fn kw(vault: &Path, args: &[&str], stdin: &str) -> std::process::Output {
    common::kw_as("alice", vault, args, stdin)
}

fn ok(vault: &Path, args: &[&str], stdin: &str) -> String {
    let out = kw(vault, args, stdin);
    assert!(
        out.status.success(),
        "kw {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_stream_of_a_real_session_verifies_and_a_tampered_line_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = tmp.path().join("vault");
    let stream = tmp.path().join("audit.jsonl");
    ok(&vault, &["init"], "");
    let said = ok(&vault, &["audit", "stream", "--file", stream.to_str().unwrap()], "");
    assert!(said.contains("appended to"), "{said}");
    ok(&vault, &["integration", "add", "Pleo", "--provider", "pleo"], "");
    ok(
        &vault,
        &[
            "credential",
            "add",
            "Pleo API",
            "--type",
            "api-key",
            "--integration",
            "Pleo",
            "--offline",
        ],
        SECRET,
    );
    ok(&vault, &["credential", "list"], "");
    ok(&vault, &["credential", "show", "Pleo API"], "");
    for _ in 0..2 {
        ok(&vault, &["credential", "test", "Pleo API", "--offline"], "");
    }

    let text = std::fs::read_to_string(&stream).unwrap();
    assert!(
        !text.contains(SECRET) && !text.contains("9fQ2mZ"),
        "a secret in the stream"
    );
    let lines: Vec<&str> = text.lines().collect();
    let count = |action: &str| {
        lines
            .iter()
            .filter(|l| l.contains(&format!("\"action\":\"{action}\"")))
            .count()
    };
    assert_eq!(count("integration.add"), 1, "{text}");
    assert_eq!(count("credential.add"), 1);
    assert_eq!(count("credential.check"), 2);

    let verified = ok(&vault, &["audit", "verify", "--stream", stream.to_str().unwrap()], "");
    assert!(verified.contains("Audit stream OK"), "{verified}");

    let tampered = tmp.path().join("tampered.jsonl");
    let mut altered: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    altered[2] = altered[2].replace("alice", "mallory");
    std::fs::write(&tampered, altered.join("\n")).unwrap();
    let out = kw(&vault, &["audit", "verify", "--stream", tampered.to_str().unwrap()], "");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(9), "{err}");
    assert!(err.contains("line 3") && err.contains("altered"), "{err}");

    let mut dropped: Vec<&str> = lines.clone();
    dropped.remove(3);
    std::fs::write(&tampered, dropped.join("\n")).unwrap();
    let out = kw(&vault, &["audit", "verify", "--stream", tampered.to_str().unwrap()], "");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(9), "{err}");
    assert!(err.contains("line 4") && err.contains("dropped"), "{err}");

    let said = ok(&vault, &["audit", "stream", "--off"], "");
    assert!(said.contains("off"), "{said}");
    // Turning it off is the stream's last word.
    let last = std::fs::read_to_string(&stream).unwrap();
    let final_line = last.lines().last().unwrap();
    assert!(
        final_line.contains("\"action\":\"audit.stream\"") && final_line.contains("\"detail\":\"off\""),
        "{last}"
    );
    let before = last.lines().count();
    ok(&vault, &["credential", "list"], "");
    assert_eq!(std::fs::read_to_string(&stream).unwrap().lines().count(), before);
}
