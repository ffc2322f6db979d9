//! The vault's settings, kept beside it in `settings.json` (the desktop app
//! writes them, `kw` reads what it reports by): no secret in them, and every
//! change is audited in the vault. One parser for both programs, fuzzed
//! (fuzz/fuzz_targets/settings_json.rs).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Error, Policy, Result};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct Settings {
    /// Days before expiry at which a credential shows as expiring.
    pub expiring_within_days: u32,
    /// Idle minutes after which the vault locks itself.
    pub auto_lock_minutes: u32,
    /// Seconds after which a copied secret is cleared from the clipboard.
    pub clipboard_clear_seconds: u32,
    /// Whether "Copy secret" is offered at all. Off by default: the seeds
    /// ask to "prevent retrieval of full keys after saving"; an admin may
    /// turn it on (and the policy may forbid it). Every copy is audited and
    /// cleared.
    pub allow_clipboard_copy: bool,
    /// Consecutive authentication failures of live checks after which a
    /// credential goes to `error` ("reconnection required").
    pub auth_failure_threshold: u32,
    /// Days before expiry at which a notice fires; 14 is always kept.
    pub notice_thresholds: Vec<u32>,
    /// The rotation policy for credentials and integrations without their
    /// own: maximum age of a secret in days (0 = none), and the grace
    /// period after it before it counts as overdue.
    pub rotation_max_age_days: u32,
    pub rotation_grace_days: u32,
    /// Run the partner-key verifier inside the app on this address (e.g.
    /// 127.0.0.1:8787) while the vault is open; empty = off (the default).
    pub verifier_listen: String,
    /// Append every audit event, as it is committed, to this JSON-lines
    /// file (an absolute path; empty = off), for a SIEM to collect.
    pub audit_stream_file: String,
    /// Send every audit event to syslog (RFC 5424) on this local socket,
    /// e.g. /dev/log; empty = off.
    pub audit_stream_syslog: String,
    /// Scheduled backups go to this folder (an absolute path, e.g. a
    /// network share); empty = none.
    pub backup_folder: String,
    /// Hours between scheduled backups (1–8784).
    pub backup_every_hours: u32,
    /// How many of this vault's backups the folder keeps (1–365).
    pub backup_keep: u32,
    /// Closing the app's window leaves it running in the tray (where the
    /// desktop shows one): its notices, checks and alerts go on.
    pub keep_running_in_tray: bool,
    /// The app starts, in the tray, when the user logs in. Off by default;
    /// the policy may force it on or forbid it (`start_at_login`).
    pub start_at_login: bool,
    /// The language of the app's window, tray and notifications: "en",
    /// "nb" (Norsk bokmål), or empty to follow the system's locale.
    pub language: String,
}

/// The languages the app speaks, as `Settings::language` names them.
pub const LANGUAGES: [&str; 2] = ["en", "nb"];

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            expiring_within_days: 14,
            auto_lock_minutes: 10,
            clipboard_clear_seconds: 30,
            allow_clipboard_copy: false,
            auth_failure_threshold: 3,
            notice_thresholds: crate::expiry::DEFAULT_THRESHOLDS.to_vec(),
            rotation_max_age_days: 90,
            rotation_grace_days: 7,
            verifier_listen: String::new(),
            audit_stream_file: String::new(),
            audit_stream_syslog: String::new(),
            backup_folder: String::new(),
            backup_every_hours: 24,
            backup_keep: 7,
            keep_running_in_tray: true,
            start_at_login: false,
            language: String::new(),
        }
    }
}

fn range(field: &str, value: u32, min: u32, max: u32, unit: &str) -> Result<()> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            format!("{value} {unit} is out of range; use {min} to {max} {unit}"),
        ))
    }
}

impl Settings {
    pub fn check(&self) -> Result<()> {
        range("expiry warning", self.expiring_within_days, 1, 365, "days")?;
        range("auto-lock", self.auto_lock_minutes, 1, 240, "minutes")?;
        range("clipboard clear time", self.clipboard_clear_seconds, 5, 300, "seconds")?;
        range(
            "auth failure threshold",
            self.auth_failure_threshold,
            1,
            100,
            "failures",
        )?;
        if self.notice_thresholds.len() > 10 {
            return Err(Error::invalid(
                "notice thresholds",
                "give at most 10 thresholds, e.g. 60, 30, 14, 7, 1",
            ));
        }
        range("rotation policy", self.rotation_max_age_days, 0, 3650, "days")?;
        range("rotation grace period", self.rotation_grace_days, 0, 365, "days")?;
        if !self.verifier_listen.trim().is_empty()
            && self.verifier_listen.trim().parse::<std::net::SocketAddr>().is_err()
        {
            return Err(Error::invalid(
                "verifier address",
                format!(
                    "'{}' is not an address like 127.0.0.1:8787; leave it empty to keep the verifier off",
                    self.verifier_listen
                ),
            ));
        }
        if !self.language.is_empty() && !LANGUAGES.contains(&self.language.as_str()) {
            return Err(Error::invalid(
                "language",
                format!(
                    "'{}' is not a language of the app; use en (English), nb (Norsk bokmål), or leave it empty to follow the system",
                    self.language
                ),
            ));
        }
        range("backup interval", self.backup_every_hours, 1, 8784, "hours")?;
        range("backups kept", self.backup_keep, 1, 365, "backups")?;
        for (field, value) in [
            ("audit stream file", &self.audit_stream_file),
            ("audit stream syslog socket", &self.audit_stream_syslog),
            ("backup folder", &self.backup_folder),
        ] {
            if !value.trim().is_empty() && !Path::new(value.trim()).is_absolute() {
                return Err(Error::invalid(
                    field,
                    format!(
                        "'{}' is not an absolute path; give the whole path, like /var/log/keywarden/audit.jsonl or /dev/log",
                        value.trim()
                    ),
                ));
            }
        }
        crate::expiry::normalize_thresholds(&self.notice_thresholds).map(|_| ())
    }

    /// The settings in force: the user's, with what the organisation's
    /// policy manages put to the policy's value (an auto-lock or a
    /// rotation age only as long as its maximum).
    pub fn with_policy(mut self, policy: &Policy) -> Settings {
        let rules = &policy.rules;
        if let Some(allowed) = rules.clipboard_allowed {
            self.allow_clipboard_copy = allowed;
        }
        if let Some(max) = rules.auto_lock_max_minutes {
            self.auto_lock_minutes = self.auto_lock_minutes.min(max);
        }
        if let Some(days) = &rules.notice_thresholds_days {
            self.notice_thresholds = days.clone();
        }
        if let Some(max) = rules.max_credential_age_days
            && (self.rotation_max_age_days == 0 || self.rotation_max_age_days > max)
        {
            self.rotation_max_age_days = max;
        }
        if rules.verifier_allowed == Some(false) {
            self.verifier_listen.clear();
        }
        if let Some(start) = rules.start_at_login {
            self.start_at_login = start;
        }
        self
    }

    /// Refuses settings out of range or changing what the policy manages:
    /// what a program checks before it saves them.
    pub fn check_within(&self, policy: &Policy) -> Result<()> {
        self.check()?;
        self.check_policy(policy)
    }

    /// Refuses a change to what the policy manages, naming the setting.
    pub fn check_policy(&self, policy: &Policy) -> Result<()> {
        if let Some(allowed) = policy.rules.clipboard_allowed
            && self.allow_clipboard_copy != allowed
        {
            return Err(Error::ManagedByPolicy {
                setting: "clipboard_allowed".into(),
                detail: format!(
                    "copying secrets is {} on this machine",
                    if allowed { "always allowed" } else { "turned off" }
                ),
            });
        }
        if let Some(start) = policy.rules.start_at_login
            && self.start_at_login != start
        {
            return Err(Error::ManagedByPolicy {
                setting: "start_at_login".into(),
                detail: format!(
                    "starting at login is {} on this machine",
                    if start { "always on" } else { "turned off" }
                ),
            });
        }
        policy.check_auto_lock(self.auto_lock_minutes)?;
        policy.check_thresholds(&self.notice_thresholds)?;
        policy.check_max_age(self.rotation_max_age_days)?;
        if !self.verifier_listen.trim().is_empty() {
            policy.check_verifier()?;
        }
        Ok(())
    }

    /// The saved settings, or the defaults and why the saved ones cannot
    /// be used (a damaged or unreadable file): never a silent reset, as the
    /// file may hold a shorter auto-lock than the default. The reason names
    /// the file; each program adds what to do about it.
    pub fn saved(vault_dir: &Path) -> (Settings, Option<String>) {
        match Settings::load(vault_dir) {
            Ok(s) => (s, None),
            Err(Error::VaultCorrupt { path, detail }) => (
                Settings::default(),
                Some(format!("{} cannot be used: {detail}", path.display())),
            ),
            Err(other) => (Settings::default(), Some(other.to_string())),
        }
    }

    pub fn path(vault_dir: &Path) -> PathBuf {
        vault_dir.join("settings.json")
    }

    /// Missing file → defaults. A damaged file is an error, not a silent
    /// reset: it may hold a stricter auto-lock than the default.
    pub fn load(vault_dir: &Path) -> Result<Settings> {
        let path = Settings::path(vault_dir);
        match std::fs::read(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Settings::default()),
            Err(e) => Err(Error::Io { path, source: e }),
            Ok(bytes) => Settings::parse(&bytes, &path),
        }
    }

    /// `settings.json`'s bytes: valid settings, or what is wrong.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Settings> {
        let mut s: Settings = serde_json::from_slice(bytes).map_err(|e| Error::VaultCorrupt {
            path: path.to_path_buf(),
            detail: format!("it is not valid ({e})"),
        })?;
        // A language written by hand ("no", "nb_NO", "EN") is read as the
        // language it names, one the app does not speak as the system's:
        // a word of the language never costs the rest of the settings.
        s.language = crate::i18n::setting_of(&s.language).to_owned();
        s.check()?;
        Ok(s)
    }

    /// Written to a temporary file and renamed, so a crash leaves the old
    /// or the new settings, never half of them.
    pub fn save(&self, vault_dir: &Path) -> Result<()> {
        self.check()?;
        let path = Settings::path(vault_dir);
        let tmp = vault_dir.join("settings.json.kw-tmp");
        let json = serde_json::to_vec_pretty(self).map_err(|e| Error::Database(e.to_string()))?;
        std::fs::write(&tmp, json).map_err(|e| Error::Io {
            path: tmp.clone(),
            source: e,
        })?;
        std::fs::rename(&tmp, &path).map_err(|e| Error::Io { path, source: e })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn policy(text: &str) -> Policy {
        Policy::parse(text, Path::new("/etc/keywarden/policy.toml")).unwrap()
    }

    #[test]
    fn a_language_is_english_bokmal_or_the_systems_and_nothing_else() {
        for ok in ["", "en", "nb"] {
            let s = Settings {
                language: ok.into(),
                ..Settings::default()
            };
            s.check().unwrap();
        }
        for bad in ["no", "nb_NO", "EN", "de", " nb"] {
            let s = Settings {
                language: bad.into(),
                ..Settings::default()
            };
            let e = s.check().unwrap_err().to_string();
            assert!(e.contains("language") && e.contains("nb (Norsk bokmål)"), "{bad}: {e}");
        }
        // A settings.json from before the language was a setting follows the system.
        let old: Settings = serde_json::from_str(r#"{"auto_lock_minutes": 5}"#).unwrap();
        assert_eq!(old.language, "");
        // One written by hand costs none of the other settings.
        let path = Path::new("/tmp/settings.json");
        for (written, kept) in [("no", "nb"), ("nb_NO", "nb"), ("EN", "en"), ("klingon", "")] {
            let json = format!(r#"{{"auto_lock_minutes": 5, "language": "{written}"}}"#);
            let s = Settings::parse(json.as_bytes(), path).unwrap();
            assert_eq!((s.auto_lock_minutes, s.language.as_str()), (5, kept), "{written}");
        }
    }

    #[test]
    fn the_policy_bounds_the_users_settings_and_refuses_changes_to_what_it_manages() {
        let p = policy(
            "clipboard_allowed = false\nauto_lock_max_minutes = 5\nmax_credential_age_days = 60\n\
             notice_thresholds_days = [30, 14]\nverifier_allowed = false\n",
        );
        let user = Settings {
            auto_lock_minutes: 30,
            rotation_max_age_days: 0,
            verifier_listen: "127.0.0.1:8787".into(),
            ..Settings::default()
        };
        let s = user.clone().with_policy(&p);
        assert!(!s.allow_clipboard_copy);
        assert_eq!(s.auto_lock_minutes, 5);
        assert_eq!(s.rotation_max_age_days, 60);
        assert_eq!(s.notice_thresholds, vec![30, 14]);
        assert_eq!(s.verifier_listen, "");
        s.check_policy(&p).unwrap();
        // Stricter than the policy is the user's choice.
        let stricter = Settings {
            auto_lock_minutes: 2,
            rotation_max_age_days: 30,
            ..s.clone()
        };
        assert_eq!(stricter.clone().with_policy(&p), stricter);
        stricter.check_policy(&p).unwrap();
        let refused = |change: Settings, key: &str| match change.check_policy(&p) {
            Err(Error::ManagedByPolicy { setting, .. }) => assert_eq!(setting, key),
            other => panic!("{key}: {other:?}"),
        };
        refused(
            Settings {
                allow_clipboard_copy: true,
                ..s.clone()
            },
            "clipboard_allowed",
        );
        refused(
            Settings {
                auto_lock_minutes: 6,
                ..s.clone()
            },
            "auto_lock_max_minutes",
        );
        refused(
            Settings {
                rotation_max_age_days: 0,
                ..s.clone()
            },
            "max_credential_age_days",
        );
        refused(
            Settings {
                notice_thresholds: vec![30, 14, 1],
                ..s.clone()
            },
            "notice_thresholds_days",
        );
        refused(
            Settings {
                verifier_listen: "127.0.0.1:1".into(),
                ..s.clone()
            },
            "verifier_allowed",
        );
        // No policy: the user's settings as they are.
        assert_eq!(user.clone().with_policy(&Policy::default()), user);
    }
}
