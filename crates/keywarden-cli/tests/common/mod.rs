//! What the integration tests share: `kw` run as a user runs it.
#![allow(dead_code)]

pub mod timed;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use keywarden_core::{ExposeSecret, Vault};

/// `kw --vault VAULT ARGS` as admin `profile`, `stdin` written to it (a
/// command refused before it reads stdin closes the pipe: not a failure).
pub fn kw_as(profile: &str, vault: &Path, args: &[&str], stdin: &str) -> Output {
    let mut cmd = kw();
    cmd.arg("--vault")
        .arg(vault)
        .args(args)
        .env("KEYWARDEN_PROFILE", profile);
    run(cmd, stdin)
}

/// The `kw` under test.
pub fn kw() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kw"))
}

/// Runs `cmd` with `stdin` written to it; its whole output.
pub fn run(mut cmd: Command, stdin: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    match child.stdin.take().unwrap().write_all(stdin.as_bytes()) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => panic!("writing stdin to kw: {e}"),
    }
    child.wait_with_output().unwrap()
}

/// Every file of a folder (not SQLite's shared-memory index), sorted, with
/// its bytes: to compare a vault folder before and after.
pub fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && !p.to_string_lossy().ends_with("-shm"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

/// The `api_key` field of a credential's current secret (an audited use).
pub fn secret_of(v: &mut Vault, name: &str) -> String {
    v.use_secret(name, "check")
        .unwrap()
        .get("api_key")
        .unwrap()
        .expose_secret()
        .to_owned()
}
