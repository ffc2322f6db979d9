//! The audit stream against a real vault: what is committed is streamed,
//! in order across handles, and the verifier names the first altered,
//! dropped or reordered line.

use secrecy::SecretString;

use crate::model::{CredentialKind, NewCredential};
use crate::secret::SecretFields;
use crate::store::audit::{Actor, AuditFilter, Outcome};
use crate::{KeySource, Vault};

fn actor() -> Actor {
    Actor {
        profile: "test-admin".into(),
        os_user: "tester".into(),
        host: "testhost".into(),
    }
}

fn add(v: &mut Vault, name: &str) {
    v.add_credential(NewCredential {
        name: name.into(),
        kind: Some(CredentialKind::ApiKey),
        secrets: SecretFields::single("api_key", SecretString::from(format!("{name}-STREAMCANARY-0001"))),
        ..Default::default()
    })
    .unwrap();
}

fn streaming(dir: &std::path::Path) -> (Vault, std::path::PathBuf) {
    let (mut v, _) = Vault::create(&dir.join("v"), KeySource::Keychain, actor()).unwrap();
    let file = dir.join("audit.jsonl");
    let settings = crate::settings::Settings {
        audit_stream_file: file.display().to_string(),
        ..v.settings().clone()
    };
    v.save_settings(settings).unwrap();
    (v, file)
}

fn lines(file: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_committed_event_is_streamed_with_its_chain_and_the_stream_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let (mut v, file) = streaming(dir.path());
    for n in 0..5 {
        add(&mut v, &format!("cred-{n}"));
    }
    v.use_secret("cred-1", "a workflow").unwrap();
    let streamed = lines(&file);
    // From the audit.stream event that turned it on to the use just made.
    let events = v.audit_events(&AuditFilter::default()).unwrap();
    let from = events.iter().find(|e| e.action == "audit.stream").unwrap().seq;
    let newest = events.iter().map(|e| e.seq).max().unwrap();
    assert_eq!(streamed.len() as i64, newest - from + 1, "{streamed:#?}");
    assert!(streamed.last().unwrap().contains("\"credential.use\""));
    assert!(!std::fs::read_to_string(&file).unwrap().contains("STREAMCANARY"));
    let report = v.verify_audit_stream(&streamed.join("\n"));
    assert!(report.ok, "{report:?}");
    assert_eq!(report.events as usize, streamed.len());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }
}

#[test]
fn the_verifier_names_the_first_altered_dropped_or_reordered_line() {
    let dir = tempfile::tempdir().unwrap();
    let (mut v, file) = streaming(dir.path());
    for n in 0..4 {
        add(&mut v, &format!("cred-{n}"));
    }
    let good = lines(&file);
    assert!(good.len() >= 5);
    let check = |ls: &[String]| v.verify_audit_stream(&ls.join("\n"));

    let mut altered = good.clone();
    altered[2] = altered[2].replace("\"success\"", "\"failure\"");
    let r = check(&altered);
    assert_eq!(r.first_bad_line, Some(3), "{r:?}");
    assert!(r.problem.unwrap().contains("altered"));

    let mut dropped = good.clone();
    dropped.remove(3);
    let r = check(&dropped);
    assert_eq!(r.first_bad_line, Some(4), "{r:?}");
    assert!(r.problem.unwrap().contains("dropped"));

    let mut reordered = good.clone();
    reordered.swap(1, 2);
    let r = check(&reordered);
    assert_eq!(r.first_bad_line, Some(2), "{r:?}");
    assert!(r.problem.unwrap().contains("out of order"));

    // Lines cut from its start, or its end, are named too.
    let r = check(&good[2..]);
    assert_eq!(r.first_bad_line, Some(1), "{r:?}");
    assert!(r.problem.unwrap().contains("cut from the stream's start"));
    let r = check(&good[..good.len() - 1]);
    assert_eq!(r.first_bad_line, Some(good.len() as u64), "{r:?}");
    assert!(r.problem.unwrap().contains("missing after line"));
    // A seq no chain could have is refused, not a panic.
    let mut hostile = good.clone();
    hostile[0] = hostile[0].replacen("\"seq\":", "\"seq\":-9223372036854775808,\"x\":", 1);
    assert!(!check(&hostile).ok);
    let mut not_an_event = good.clone();
    not_an_event.insert(1, "garbage".into());
    assert_eq!(check(&not_an_event).first_bad_line, Some(2));
}

#[test]
fn two_programs_writing_at_once_stream_their_events_in_commit_order() {
    let dir = tempfile::tempdir().unwrap();
    let (v, file) = streaming(dir.path());
    let path = dir.path().join("v");
    drop(v);
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut v = Vault::open(&path, &KeySource::Keychain, actor()).unwrap();
                for n in 0..25 {
                    add(&mut v, &format!("t{t}-{n}"));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let v = Vault::open(&path, &KeySource::Keychain, actor()).unwrap();
    let streamed = lines(&file);
    assert!(streamed.len() > 50);
    let report = v.verify_audit_stream(&streamed.join("\n"));
    assert!(report.ok, "{report:?}");
}

#[cfg(unix)]
#[test]
fn syslog_gets_each_event_as_an_rfc5424_message_that_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("log.sock");
    let server = std::os::unix::net::UnixDatagram::bind(&socket).unwrap();
    server
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let (mut v, _) = Vault::create(&dir.path().join("v"), KeySource::Keychain, actor()).unwrap();
    let settings = crate::settings::Settings {
        audit_stream_syslog: socket.display().to_string(),
        ..v.settings().clone()
    };
    v.save_settings(settings).unwrap();
    add(&mut v, "pleo");
    let mut got = Vec::new();
    let mut buf = vec![0u8; 65536];
    while got.len() < 3 {
        let n = server.recv(&mut buf).unwrap();
        got.push(String::from_utf8(buf[..n].to_vec()).unwrap());
    }
    // authpriv.info, version 1, then the time, host, app and message id.
    assert!(
        got[0].starts_with("<86>1 ") && got[0].contains(" testhost keywarden "),
        "{}",
        got[0]
    );
    assert!(got[0].contains("audit.stream"), "{}", got[0]);
    assert!(got[2].contains("credential.add"), "{}", got[2]);
    assert!(v.verify_audit_stream(&got.join("\n")).ok);
    assert!(v.stream_problem().is_none());

    // The socket gone: the vault keeps working, and says so.
    drop(server);
    std::fs::remove_file(&socket).unwrap();
    add(&mut v, "xledger");
    assert!(
        v.stream_problem().unwrap().contains("syslog"),
        "{:?}",
        v.stream_problem()
    );
}

#[test]
fn a_stream_that_cannot_be_written_is_refused_when_it_is_set() {
    let dir = tempfile::tempdir().unwrap();
    let (mut v, _) = Vault::create(&dir.path().join("v"), KeySource::Keychain, actor()).unwrap();
    for (file, why) in [
        ("relative.jsonl", "absolute"),
        ("/nonexistent-dir/audit.jsonl", "nonexistent-dir"),
    ] {
        let settings = crate::settings::Settings {
            audit_stream_file: file.into(),
            ..v.settings().clone()
        };
        let e = v.save_settings(settings).unwrap_err().to_string();
        assert!(e.contains(why), "{e}");
    }
    assert_eq!(v.settings().audit_stream_file, "");
}

#[test]
fn unlocks_failed_unlocks_and_locks_are_audited() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v");
    let pass = |p: &str| KeySource::Passphrase(SecretString::from(p.to_owned()));
    let (v, _) = Vault::create(&path, pass("correct horse battery staple"), actor()).unwrap();
    drop(v);
    let intruder = Actor {
        profile: "mallory".into(),
        os_user: "mallory".into(),
        host: "otherhost".into(),
    };
    for _ in 0..2 {
        assert!(Vault::open(&path, &pass("wrong guess"), intruder.clone()).is_err());
    }
    let mut v = Vault::open(&path, &pass("correct horse battery staple"), actor()).unwrap();
    let digest = v.content_digest().unwrap();
    v.record_unlock("the app, with a passphrase").unwrap();
    assert_ne!(v.content_digest().unwrap(), digest);
    // kw's open: the failures are in; with none pending nothing is written.
    let digest = v.content_digest().unwrap();
    v.record_failed_unlocks().unwrap();
    assert_eq!(v.content_digest().unwrap(), digest);
    v.record_lock("idle").unwrap();
    let events = v
        .audit_events(&AuditFilter {
            action: Some("vault".into()),
            ..Default::default()
        })
        .unwrap();
    let opens: Vec<_> = events.iter().filter(|e| e.action == "vault.open").collect();
    assert_eq!(opens.len(), 3, "{events:#?}");
    let denied: Vec<_> = opens.iter().filter(|e| e.outcome == Outcome::Denied).collect();
    assert_eq!(denied.len(), 2);
    assert!(denied[0].detail.contains("mallory") && denied[0].detail.contains("a passphrase"));
    assert!(!denied[0].detail.contains("wrong guess"));
    assert_eq!(events.iter().max_by_key(|e| e.seq).unwrap().action, "vault.lock");
    assert!(!path.join("unlock-failures.jsonl").exists());
    // Said once: the next unlock brings no old failures along.
    v.record_unlock("kw").unwrap();
    let again = v.audit_events(&AuditFilter::default()).unwrap();
    assert_eq!(again.iter().filter(|e| e.outcome == Outcome::Denied).count(), 2);
}

#[test]
fn a_stream_stopped_started_again_or_moved_verifies_and_says_where_it_went() {
    let dir = tempfile::tempdir().unwrap();
    let (mut v, file) = streaming(dir.path());
    add(&mut v, "a");
    let with = |v: &Vault, file: &str| crate::settings::Settings {
        audit_stream_file: file.to_owned(),
        ..v.settings().clone()
    };
    // Off, a change nobody streams, then on again into the same file.
    v.save_settings(with(&v, "")).unwrap();
    add(&mut v, "b");
    v.save_settings(with(&v, &file.display().to_string())).unwrap();
    add(&mut v, "c");
    let report = v.verify_audit_stream_file(&file).unwrap();
    assert!(report.ok, "{report:?}");
    // Moved to another file: the first ends saying so, the second starts.
    let other = dir.path().join("other.jsonl");
    v.save_settings(with(&v, &other.display().to_string())).unwrap();
    add(&mut v, "d");
    let first = std::fs::read_to_string(&file).unwrap();
    assert!(first.lines().last().unwrap().contains("moved to"), "{first}");
    assert!(v.verify_audit_stream_file(&other).unwrap().ok);
    // The first file alone stops where it was moved: not "cut".
    assert!(v.verify_audit_stream_file(&file).unwrap().ok);
    // A settings change while streaming is no start: cutting up to it shows.
    let lines: Vec<String> = std::fs::read_to_string(&other)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    v.save_settings(with(&v, &other.display().to_string())).unwrap();
    let r = v.verify_audit_stream(&lines[1..].join("\n"));
    assert!(!r.ok && r.first_bad_line == Some(1), "{r:?}");
}
