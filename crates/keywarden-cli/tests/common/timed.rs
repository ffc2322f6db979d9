//! `kw` run as a systemd timer runs it, at a test time of the test's
//! choosing (KEYWARDEN_TEST_NOW), in test mode (plain-http fakes on
//! 127.0.0.1), with what it printed kept for the canary.

use std::cell::RefCell;
use std::path::PathBuf;
use std::process::{Command, Output};

use time::OffsetDateTime;

pub struct TimedKw {
    pub tmp: tempfile::TempDir,
    pub vault: PathBuf,
    /// Extra environment for every run (e.g. the SMTP sink's CA).
    pub env: Vec<(String, String)>,
    /// Which runs' output goes to `printed` (`credential show` prints the
    /// mask, its last 4, on purpose).
    pub keep: fn(&[&str]) -> bool,
    /// What the kept runs printed, for the canary.
    pub printed: RefCell<String>,
}

impl TimedKw {
    pub fn new(keep: fn(&[&str]) -> bool) -> TimedKw {
        let tmp = tempfile::tempdir().unwrap();
        TimedKw {
            vault: tmp.path().join("vault"),
            tmp,
            env: Vec::new(),
            keep,
            printed: RefCell::default(),
        }
    }

    pub fn cmd(&self, args: &[&str], at: Option<OffsetDateTime>) -> Command {
        let mut c = super::kw();
        c.arg("--vault")
            .arg(&self.vault)
            .args(args)
            .env("KEYWARDEN_PROFILE", "alice")
            .env("KEYWARDEN_TEST_MODE", "1")
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        if let Some(t) = at {
            c.env("KEYWARDEN_TEST_NOW", keywarden_core::timefmt::to_db(t));
        }
        c
    }

    pub fn ok_at(&self, args: &[&str], stdin: &str, at: Option<OffsetDateTime>) -> String {
        let out: Output = super::run(self.cmd(args, at), stdin);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        );
        if (self.keep)(args) {
            self.printed.borrow_mut().push_str(&format!("{stdout}{stderr}"));
        }
        assert!(out.status.success(), "kw {args:?} failed: {stderr}");
        stdout
    }

    pub fn json_at(&self, args: &[&str], at: Option<OffsetDateTime>) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&self.ok_at(&all, "", at)).unwrap()
    }

    /// The next due check of the one credential, from `kw health schedule`.
    pub fn next_due(&self, at: OffsetDateTime) -> OffsetDateTime {
        let v = self.json_at(&["health", "schedule"], Some(at));
        let next = v[0]["next_at"].as_str().expect("a check is scheduled");
        OffsetDateTime::parse(next, &time::format_description::well_known::Rfc3339).unwrap()
    }

    /// Waits (in test time) for the next due check and runs the timer's job.
    pub fn next_run(&self, at: &mut OffsetDateTime) -> serde_json::Value {
        *at = self.next_due(*at);
        let run = self.json_at(&["health", "check"], Some(*at));
        assert_eq!(run["checked"].as_array().unwrap().len(), 1, "{run}");
        run["checked"][0].clone()
    }

    /// The status of the credential `name`.
    pub fn status(&self, name: &str, at: OffsetDateTime) -> String {
        self.json_at(&["credential", "show", name], Some(at))["status"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}
