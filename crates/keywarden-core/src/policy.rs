//! The organisation's policy: a system file IT manages
//! (`/etc/keywarden/policy.toml` on Linux) that overrides the user's
//! settings. Each key it sets is "managed": the core, `kw` and the app
//! refuse to change it, and say so.
//!
//! ```toml
//! export_allowed = false            # configuration export
//! clipboard_allowed = false         # "Copy secret" in the app
//! require_live_validation = true    # a secret is saved only after a live check
//! max_credential_age_days = 90      # the rotation policy; 0 is refused
//! notice_thresholds_days = [30, 14, 7, 1]
//! auto_lock_max_minutes = 10
//! allowed_providers = ["pleo", "xledger", "business_central"]
//! verifier_allowed = false          # kw serve and the app's embedded verifier
//! oauth_secrets_to_workflows = false  # kw run / the broker: access tokens only
//! health_check_max_hours = 24       # every credential checked live at least daily
//! ```
//!
//! A file that does not parse (a typo, an unknown key, a value out of range)
//! or cannot be read is never ignored: the strictest policy applies and the
//! problem, with its line, is shown until IT fixes the file. The Windows
//! registry key and the macOS managed preference carry the same keys (see
//! the README); only the Linux file is read today.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Where the system policy lives on Linux.
pub const SYSTEM_POLICY: &str = "/etc/keywarden/policy.toml";

/// The keys of the file, as written there.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    pub export_allowed: Option<bool>,
    pub clipboard_allowed: Option<bool>,
    pub require_live_validation: Option<bool>,
    pub max_credential_age_days: Option<u32>,
    pub notice_thresholds_days: Option<Vec<u32>>,
    pub auto_lock_max_minutes: Option<u32>,
    pub allowed_providers: Option<Vec<String>>,
    pub verifier_allowed: Option<bool>,
    /// Whether an integration may map an OAuth 2.0 credential's client
    /// secret or refresh token into a workflow's environment (default: it
    /// may, when it names them); `false`: workflows get access tokens only.
    pub oauth_secrets_to_workflows: Option<bool>,
    /// The longest time between two scheduled live checks of a credential
    /// (hours, 1 to a year): a longer period, or none, is held to it.
    pub health_check_max_hours: Option<u32>,
    /// `true`: the app always starts at login; `false`: it never does (the
    /// setting is off and cannot be turned on); absent: the user decides.
    pub start_at_login: Option<bool>,
}

impl PolicyFile {
    /// The policy that applies when the file is broken: nothing leaves the
    /// vault, nothing new is added, every save is checked live, the vault
    /// locks after 5 idle minutes, no verifier, no start at login. Rotation age and notices
    /// keep their defaults (a stricter age would only flood the dashboard).
    pub fn strictest() -> PolicyFile {
        PolicyFile {
            export_allowed: Some(false),
            clipboard_allowed: Some(false),
            require_live_validation: Some(true),
            max_credential_age_days: Some(90),
            notice_thresholds_days: Some(crate::expiry::DEFAULT_THRESHOLDS.to_vec()),
            auto_lock_max_minutes: Some(5),
            allowed_providers: Some(Vec::new()),
            verifier_allowed: Some(false),
            oauth_secrets_to_workflows: Some(false),
            health_check_max_hours: None,
            start_at_login: Some(false),
        }
    }

    /// Ranges and names, so a wrong value is reported like a syntax error.
    fn check(&self) -> std::result::Result<(), (&'static str, String)> {
        if let Some(days) = self.max_credential_age_days
            && !(1..=3650).contains(&days)
        {
            return Err((
                "max_credential_age_days",
                format!("{days} is out of range; use 1 to 3650 days"),
            ));
        }
        if let Some(minutes) = self.auto_lock_max_minutes
            && !(1..=240).contains(&minutes)
        {
            return Err((
                "auto_lock_max_minutes",
                format!("{minutes} is out of range; use 1 to 240 minutes"),
            ));
        }
        if let Some(hours) = self.health_check_max_hours
            && !(1..=crate::health::MAX_EVERY_HOURS).contains(&hours)
        {
            return Err((
                "health_check_max_hours",
                format!(
                    "{hours} is out of range; use 1 to {} hours",
                    crate::health::MAX_EVERY_HOURS
                ),
            ));
        }
        if let Some(days) = &self.notice_thresholds_days {
            crate::expiry::normalize_thresholds(days).map_err(|e| ("notice_thresholds_days", e.to_string()))?;
        }
        if let Some(providers) = &self.allowed_providers {
            for p in providers {
                let word = !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if !word {
                    return Err((
                        "allowed_providers",
                        format!("'{p}' is not a provider name like pleo, xledger, business_central, oauth2, generic"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Where the effective policy came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PolicySource {
    /// No policy file: the user's settings rule.
    None,
    /// The file, read and valid.
    File { path: String },
    /// The file exists but is broken or unreadable: the strictest policy.
    Strictest { path: String, problem: String },
}

/// The policy in force, with the line of each key for `kw policy show`.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub rules: PolicyFile,
    pub source: PolicySource,
    /// Key → line in the file (1-based).
    pub lines: BTreeMap<String, usize>,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            rules: PolicyFile::default(),
            source: PolicySource::None,
            lines: BTreeMap::new(),
        }
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl Policy {
    /// The system policy. Debug builds (the tests) may name another file
    /// in `KEYWARDEN_POLICY_FILE`; a release build reads only the system
    /// path, so a user cannot point the installed app elsewhere. Only the
    /// Linux file is read by this build (the Windows registry key and the
    /// macOS managed preference are designed, see the README).
    pub fn load_system() -> Policy {
        #[cfg(debug_assertions)]
        if let Some(path) = std::env::var_os("KEYWARDEN_POLICY_FILE") {
            return Policy::load(Path::new(&path));
        }
        if cfg!(target_os = "linux") {
            Policy::load(Path::new(SYSTEM_POLICY))
        } else {
            Policy::default()
        }
    }

    /// Reads `path`: missing → no policy; unreadable or invalid → the
    /// strictest policy, with the reason and line.
    pub fn load(path: &Path) -> Policy {
        let shown = path.display().to_string();
        let strictest = |problem: String| Policy {
            rules: PolicyFile::strictest(),
            source: PolicySource::Strictest {
                path: shown.clone(),
                problem,
            },
            lines: BTreeMap::new(),
        };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Policy::default(),
            Err(e) => return strictest(format!("{shown} cannot be read: {e}")),
        };
        Policy::parse(&text, path).unwrap_or_else(strictest)
    }

    /// Parses the text of a policy file; the error names the line.
    pub fn parse(text: &str, path: &Path) -> std::result::Result<Policy, String> {
        let shown = path.display().to_string();
        let rules: PolicyFile = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| format!(" line {}", line_of(text, s.start)))
                .unwrap_or_default();
            format!("{shown}{line}: {}", e.message())
        })?;
        // Lines of the keys, for the error below and `kw policy show`.
        let mut lines = BTreeMap::new();
        if let Ok(table) = text.parse::<toml::Table>() {
            for key in table.keys() {
                if let Some(pos) = text
                    .lines()
                    .position(|l| l.trim_start().starts_with(key.as_str()) && l.contains('='))
                {
                    lines.insert(key.clone(), pos + 1);
                }
            }
        }
        rules.check().map_err(|(key, why)| {
            let line = lines.get(key).map(|l| format!(" line {l}")).unwrap_or_default();
            format!("{shown}{line}: {key}: {why}")
        })?;
        Ok(Policy {
            rules,
            source: PolicySource::File { path: shown },
            lines,
        })
    }

    /// The error for a change the policy forbids.
    fn managed(&self, setting: &str, detail: String) -> Error {
        Error::ManagedByPolicy {
            setting: setting.to_owned(),
            detail: match &self.source {
                PolicySource::Strictest { problem, .. } => {
                    format!("{detail} (the policy file is broken, so the strictest policy applies: {problem})")
                }
                _ => detail,
            },
        }
    }

    pub fn check_export(&self) -> Result<()> {
        match self.rules.export_allowed {
            Some(false) => Err(self.managed("export_allowed", "exporting is turned off".into())),
            _ => Ok(()),
        }
    }

    pub fn check_clipboard(&self) -> Result<()> {
        match self.rules.clipboard_allowed {
            Some(false) => Err(self.managed("clipboard_allowed", "copying secrets is turned off".into())),
            _ => Ok(()),
        }
    }

    /// A check period a credential or integration asks for (hours; 0 =
    /// not scheduled), against `health_check_max_hours`.
    pub fn check_health_period(&self, hours: u32) -> Result<()> {
        match self.rules.health_check_max_hours {
            Some(max) if hours == 0 || hours > max => Err(self.managed(
                "health_check_max_hours",
                format!("credentials are checked live at least every {max} hours here; choose a shorter period"),
            )),
            _ => Ok(()),
        }
    }

    pub fn check_verifier(&self) -> Result<()> {
        match self.rules.verifier_allowed {
            Some(false) => Err(self.managed(
                "verifier_allowed",
                "the verification service and broker are turned off on this machine".into(),
            )),
            _ => Ok(()),
        }
    }

    /// An OAuth 2.0 credential's client secret or refresh token handed to a
    /// workflow because its integration maps them by name.
    pub fn check_oauth_secrets_to_workflows(&self) -> Result<()> {
        match self.rules.oauth_secrets_to_workflows {
            Some(false) => Err(self.managed(
                "oauth_secrets_to_workflows",
                "workflows get an OAuth 2.0 credential's access token only, never its client secret or refresh \
                 token; remove client_secret and refresh_token from the integration's environment names"
                    .into(),
            )),
            _ => Ok(()),
        }
    }

    /// A secret saved without a live check (offline validation, or none).
    pub fn check_unvalidated_save(&self) -> Result<()> {
        match self.rules.require_live_validation {
            Some(true) => Err(self.managed(
                "require_live_validation",
                "a secret is saved only after a live check against the provider; run it online (without --offline)"
                    .into(),
            )),
            _ => Ok(()),
        }
    }

    pub fn check_provider(&self, provider: &str) -> Result<()> {
        match &self.rules.allowed_providers {
            Some(allowed) if !allowed.iter().any(|p| p.eq_ignore_ascii_case(provider.trim())) => Err(self.managed(
                "allowed_providers",
                format!(
                    "provider '{}' is not allowed here (allowed: {})",
                    provider.trim(),
                    if allowed.is_empty() {
                        "none".to_owned()
                    } else {
                        allowed.join(", ")
                    }
                ),
            )),
            _ => Ok(()),
        }
    }

    /// A maximum age (vault, integration or credential): at most the
    /// policy's, and never "none".
    pub fn check_max_age(&self, days: u32) -> Result<()> {
        match self.rules.max_credential_age_days {
            Some(max) if days == 0 || days > max => Err(self.managed(
                "max_credential_age_days",
                format!("secrets must be rotated at least every {max} days; {days} is not allowed (0 = never)"),
            )),
            _ => Ok(()),
        }
    }

    pub fn check_thresholds(&self, days: &[u32]) -> Result<()> {
        match &self.rules.notice_thresholds_days {
            Some(fixed) => {
                let wanted = crate::expiry::normalize_thresholds(days)?;
                let fixed = crate::expiry::normalize_thresholds(fixed)?;
                if wanted == fixed {
                    Ok(())
                } else {
                    Err(self.managed(
                        "notice_thresholds_days",
                        format!("the notice thresholds are fixed at {fixed:?} days"),
                    ))
                }
            }
            None => Ok(()),
        }
    }

    pub fn check_auto_lock(&self, minutes: u32) -> Result<()> {
        match self.rules.auto_lock_max_minutes {
            Some(max) if minutes > max => Err(self.managed(
                "auto_lock_max_minutes",
                format!("the vault must lock after at most {max} idle minutes"),
            )),
            _ => Ok(()),
        }
    }

    /// Each key with its effective value and where it came from, for
    /// `kw policy show` and the app's settings page.
    pub fn entries(&self) -> Vec<PolicyEntry> {
        let r = &self.rules;
        let list = |v: &Option<Vec<String>>| v.as_ref().map(|v| v.join(", "));
        let days = |v: &Option<Vec<u32>>| {
            v.as_ref()
                .map(|v| v.iter().map(u32::to_string).collect::<Vec<_>>().join(", "))
        };
        let rows: [(&str, Option<String>, &str); 11] = [
            ("export_allowed", r.export_allowed.map(|b| b.to_string()), "true"),
            (
                "clipboard_allowed",
                r.clipboard_allowed.map(|b| b.to_string()),
                "true (the app's setting)",
            ),
            (
                "require_live_validation",
                r.require_live_validation.map(|b| b.to_string()),
                "false",
            ),
            (
                "max_credential_age_days",
                r.max_credential_age_days.map(|d| d.to_string()),
                "the vault's rotation policy (default 90)",
            ),
            (
                "notice_thresholds_days",
                days(&r.notice_thresholds_days),
                "the vault's thresholds (default 60, 30, 14, 7, 1)",
            ),
            (
                "auto_lock_max_minutes",
                r.auto_lock_max_minutes.map(|m| m.to_string()),
                "none (the app's setting, default 10)",
            ),
            ("allowed_providers", list(&r.allowed_providers), "all"),
            ("verifier_allowed", r.verifier_allowed.map(|b| b.to_string()), "true"),
            (
                "oauth_secrets_to_workflows",
                r.oauth_secrets_to_workflows.map(|b| b.to_string()),
                "true (when the integration maps them)",
            ),
            (
                "health_check_max_hours",
                r.health_check_max_hours.map(|h| h.to_string()),
                "none (each credential's or integration's period)",
            ),
            (
                "start_at_login",
                r.start_at_login.map(|b| b.to_string()),
                "false (the app's setting)",
            ),
        ];
        rows.into_iter()
            .map(|(key, value, default)| {
                let managed = value.is_some();
                let source = match (&self.source, managed) {
                    (_, false) => "user or default".to_owned(),
                    (PolicySource::File { path }, true) => match self.lines.get(key) {
                        Some(line) => format!("{path}:{line}"),
                        None => path.clone(),
                    },
                    (PolicySource::Strictest { path, .. }, true) => format!("strictest ({path} is broken)"),
                    (PolicySource::None, true) => "policy".to_owned(),
                };
                PolicyEntry {
                    key: key.to_owned(),
                    value: value.unwrap_or_else(|| default.to_owned()),
                    managed,
                    source,
                }
            })
            .collect()
    }
}

/// One line of `kw policy show`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PolicyEntry {
    pub key: String,
    pub value: String,
    /// Set by the organisation: cannot be changed in the app or with kw.
    pub managed: bool,
    /// `path:line`, "strictest (…)", or "user or default".
    pub source: String,
}
