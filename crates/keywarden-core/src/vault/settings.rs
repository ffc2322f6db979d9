//! The vault's settings: read from `settings.json` when the vault opens,
//! bounded by the organisation's policy, and kept here, the one place that
//! decides the value in force of each setting (`Settings::with_policy`).
//! The app and `kw` read them with [`Vault::settings`] and change them with
//! [`Vault::save_settings`]; neither applies them itself.

#[allow(unused_imports)]
use super::*;

use crate::settings::Settings;

impl Vault {
    /// The settings in force: the saved ones (or the defaults) within the
    /// policy.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Why the saved settings are not in force, if they are not (a damaged
    /// `settings.json`): the defaults apply until settings are saved again.
    pub fn settings_problem(&self) -> Option<&str> {
        self.settings_problem.as_deref()
    }

    /// Puts `settings`, bounded by the policy, in force on this vault: the
    /// expiry warning, the reconnection threshold, the notice thresholds and
    /// the rotation policy. Nothing is saved. Each setting on its own, so
    /// one refused leaves the others in force; the first error is returned.
    pub fn apply_settings(&mut self, settings: &Settings) -> Result<()> {
        let s = settings.clone().with_policy(&self.policy);
        let results = [
            self.set_expiring_within_days(i64::from(s.expiring_within_days)),
            self.set_auth_failure_threshold(s.auth_failure_threshold),
            self.set_notice_thresholds(&s.notice_thresholds).map(|_| ()),
            self.set_rotation_policy(s.rotation_max_age_days, s.rotation_grace_days),
        ];
        self.stream = crate::audit_stream::AuditStream::from_settings(&s);
        // The app's own settings (auto-lock, clipboard, verifier) ride along.
        self.settings = Settings {
            expiring_within_days: self.settings.expiring_within_days,
            auth_failure_threshold: self.settings.auth_failure_threshold,
            notice_thresholds: self.settings.notice_thresholds.clone(),
            rotation_max_age_days: self.settings.rotation_max_age_days,
            rotation_grace_days: self.settings.rotation_grace_days,
            ..s
        };
        results.into_iter().collect()
    }

    /// Checks `settings` (ranges, the policy), puts them in force, writes
    /// `settings.json` and records `settings.update`. Returns them as saved.
    pub fn save_settings(&mut self, settings: Settings) -> Result<Settings> {
        settings.check_within(&self.policy)?;
        // A stream that cannot be written is refused now, not found later;
        // so is a backup folder that is not there.
        if let Some(stream) = crate::audit_stream::AuditStream::from_settings(&settings) {
            stream.check()?;
        }
        let folder = settings.backup_folder.trim();
        if !folder.is_empty() && !Path::new(folder).is_dir() {
            return Err(Error::invalid(
                "backup folder",
                format!("{folder} is not a folder that exists; create it (or mount the share) first"),
            ));
        }
        let mut settings = settings;
        settings.notice_thresholds = crate::expiry::normalize_thresholds(&settings.notice_thresholds)?;
        let detail = update_detail(&settings);
        let before = self.stream.clone();
        self.apply_settings(&settings)?;
        settings.save(&self.dir)?;
        self.settings_problem = None;
        let after = self.stream.clone();
        if before != after {
            self.record_stream_change(before, after.clone())?;
        }
        self.record("settings.update", "vault", None, Outcome::Success, &detail)?;
        Ok(settings)
    }

    /// A stream's ends, in the streams themselves: the old target's last
    /// line says it stopped (`audit.stream`, "off" or "moved to …"), the
    /// new one's first line says it started ("on: …"), so the verifier can
    /// tell a stream that was stopped from one that was cut.
    fn record_stream_change(
        &mut self,
        before: Option<crate::audit_stream::AuditStream>,
        after: Option<crate::audit_stream::AuditStream>,
    ) -> Result<()> {
        let name = |s: &crate::audit_stream::AuditStream| s.describe();
        if let Some(old) = &before {
            let detail = match &after {
                Some(new) => format!("moved to {}", name(new)),
                None => "off".to_owned(),
            };
            self.stream = Some(old.clone());
            let recorded = self.record("audit.stream", "vault", None, Outcome::Success, &detail);
            self.stream = after.clone();
            recorded?;
        }
        if let Some(new) = &after {
            self.record(
                "audit.stream",
                "vault",
                None,
                Outcome::Success,
                &format!("on: {}", name(new)),
            )?;
        }
        Ok(())
    }

    /// At open: the saved settings, or the defaults and why. Without a
    /// `settings.json` nothing changes (and nothing is written). Each
    /// setting is put in force on its own: one that cannot be (another
    /// program holds the database) leaves the others in force.
    pub(super) fn load_settings(&mut self) {
        if !Settings::path(&self.dir).exists() {
            return;
        }
        let (saved, problem) = Settings::saved(&self.dir);
        if problem.is_some() {
            // The defaults stay in force; the programs say why.
            self.settings_problem = problem;
            return;
        }
        let _ = self.apply_settings(&saved);
    }

    /// How many days before its expiry an active credential shows as
    /// `expiring` (default 14; a setting of the desktop app, 1 to 365).
    pub fn set_expiring_within_days(&mut self, days: i64) -> Result<()> {
        match u32::try_from(days) {
            Ok(d @ 1..=365) => {
                self.settings.expiring_within_days = d;
                Ok(())
            }
            _ => Err(Error::invalid(
                "expiry warning",
                format!("{days} days is out of range; use 1 to 365 days"),
            )),
        }
    }

    pub fn expiring_within_days(&self) -> i64 {
        i64::from(self.settings.expiring_within_days)
    }

    /// After how many consecutive authentication failures of live checks a
    /// credential goes to `error` (default 3; 1 to 100).
    pub fn set_auth_failure_threshold(&mut self, n: u32) -> Result<()> {
        if !(1..=100).contains(&n) {
            return Err(Error::invalid(
                "auth failure threshold",
                format!("{n} is out of range; use 1 to 100 consecutive failures"),
            ));
        }
        self.settings.auth_failure_threshold = n;
        Ok(())
    }

    pub fn auth_failure_threshold(&self) -> u32 {
        self.settings.auth_failure_threshold
    }

    /// The vault-wide rotation policy: the maximum age of a secret in days
    /// (0 = none; default 90) and the grace period after it (default 7).
    pub fn set_rotation_policy(&mut self, max_age_days: u32, grace_days: u32) -> Result<()> {
        check_max_age(max_age_days)?;
        self.policy.check_max_age(max_age_days)?;
        if grace_days > 365 {
            return Err(Error::invalid(
                "rotation grace period",
                format!("{grace_days} days is out of range; use 0 to 365 days"),
            ));
        }
        self.settings.rotation_max_age_days = max_age_days;
        self.settings.rotation_grace_days = grace_days;
        Ok(())
    }

    pub fn rotation_policy(&self) -> (u32, u32) {
        (self.settings.rotation_max_age_days, self.settings.rotation_grace_days)
    }

    /// Puts `policy` in force: the values it manages replace the vault's
    /// (the notice thresholds; the rotation age when the vault's is longer
    /// or none); every later change is checked against it.
    pub fn set_policy(&mut self, policy: crate::policy::Policy) {
        if let Some(max) = policy.rules.max_credential_age_days
            && (self.settings.rotation_max_age_days == 0 || self.settings.rotation_max_age_days > max)
        {
            self.settings.rotation_max_age_days = max;
        }
        let thresholds = policy.rules.notice_thresholds_days.clone();
        self.policy = Arc::new(policy);
        self.settings = self.settings.clone().with_policy(&self.policy);
        if let Some(days) = thresholds
            && let Ok(days) = crate::expiry::normalize_thresholds(&days)
            && self.set_notice_thresholds(&days).is_err()
        {
            // Scheduled with the old thresholds until the next write; the
            // notices themselves already use the policy's.
            self.set_notice_thresholds_field(days);
        }
    }

    pub(super) fn with_policy(mut self, policy: crate::policy::Policy) -> Vault {
        self.set_policy(policy);
        self
    }

    /// Why the last write's audit events did not reach the stream (the
    /// file or syslog socket could not be written); `None` when they did.
    pub fn stream_problem(&self) -> Option<&str> {
        self.stream_problem.as_deref()
    }

    pub fn policy(&self) -> &crate::policy::Policy {
        &self.policy
    }

    /// Days before expiry at which notices fire, largest first.
    pub fn notice_thresholds(&self) -> &[u32] {
        &self.settings.notice_thresholds
    }

    pub(crate) fn set_notice_thresholds_field(&mut self, days: Vec<u32>) {
        self.settings.notice_thresholds = days;
    }
}

/// The `settings.update` event's detail: every value saved, no secret.
fn update_detail(s: &Settings) -> String {
    let stream = match (s.audit_stream_file.trim(), s.audit_stream_syslog.trim()) {
        ("", "") => "off".to_owned(),
        (f, "") => f.to_owned(),
        ("", l) => format!("syslog {l}"),
        (f, l) => format!("{f} and syslog {l}"),
    };
    format!(
        "expiry warning {} days, reconnection after {} refusals, auto-lock {} min, clipboard clear {} s, copy {}, \
         rotation every {} days (grace {}), notices {} days before expiry, audit stream {stream}, backups {}, \
         language {}",
        s.expiring_within_days,
        s.auth_failure_threshold,
        s.auto_lock_minutes,
        s.clipboard_clear_seconds,
        if s.allow_clipboard_copy { "allowed" } else { "off" },
        s.rotation_max_age_days,
        s.rotation_grace_days,
        s.notice_thresholds
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join("/"),
        if s.backup_folder.trim().is_empty() {
            "off".to_owned()
        } else {
            format!(
                "to {} every {} h, {} kept",
                s.backup_folder.trim(),
                s.backup_every_hours,
                s.backup_keep
            )
        },
        if s.language.is_empty() {
            "the system's"
        } else {
            s.language.as_str()
        }
    )
}
