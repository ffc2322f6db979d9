//! What `kw run` hands a child process: the current secrets of the
//! credential an integration uses, as environment variables (never argv).

use secrecy::{ExposeSecret, SecretString};

use crate::Vault;
use crate::error::{Error, Result};
use crate::model::CredentialKind;

/// A variable name a shell and `env` accept: capitals, digits, `_`, not
/// starting with a digit.
pub fn check_env_name(field: &str, var: &str) -> Result<()> {
    let ok = !var.is_empty()
        && var.len() <= 128
        && var
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        && !var.as_bytes()[0].is_ascii_digit();
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "environment variable",
            format!("'{var}' (for {field}) is not a variable name; use capitals, digits and _, e.g. PLEO_API_KEY"),
        ))
    }
}

/// `<INTEGRATION>_<FIELD>` in capitals, other characters as `_`.
pub fn default_env_name(integration: &str, field: &str) -> String {
    let mut name: String = format!("{integration}_{field}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if name.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        name.insert(0, '_');
    }
    name
}

/// The environment for one run.
pub struct RunEnvironment {
    pub credential: String,
    pub version: u32,
    /// (secret field, variable name, value).
    pub vars: Vec<(String, String, SecretString)>,
    /// An OAuth 2.0 credential: the variable its current access token goes
    /// in (the caller obtains it through the connectors' token broker),
    /// `<INTEGRATION>_ACCESS_TOKEN` unless the integration maps
    /// `access_token`. Its client secret and refresh token are in `vars`
    /// only when the integration maps them by name, which the policy can
    /// forbid.
    pub access_token_var: Option<String>,
}

/// The field name an integration maps to name the access token's variable.
pub const ACCESS_TOKEN_FIELD: &str = "access_token";

impl Vault {
    /// Resolves the credential `integration` uses (or `credential`, which
    /// must serve it) and hands its current secrets out for `command`,
    /// audited as a use "kw run: <command>" with host and OS user. A
    /// disabled credential is refused with its reason.
    pub fn run_environment(
        &mut self,
        integration: &str,
        credential: Option<&str>,
        command: &str,
    ) -> Result<RunEnvironment> {
        let i = self.get_integration(integration)?;
        let serving = self.integration_credentials(&i.id.to_string())?;
        let chosen = match credential {
            Some(c) => serving
                .iter()
                .find(|s| s.name.eq_ignore_ascii_case(c) || s.id.to_string() == c)
                .ok_or_else(|| {
                    Error::invalid("credential", format!("'{c}' does not serve integration '{}'", i.name))
                })?,
            None => match serving.as_slice() {
                [one] => one,
                [] => {
                    return Err(Error::invalid(
                        "integration",
                        format!("'{}' has no credential yet; add one that serves it", i.name),
                    ));
                }
                many => {
                    return Err(Error::invalid(
                        "integration",
                        format!(
                            "'{}' has {} credentials ({}); name one with --credential",
                            i.name,
                            many.len(),
                            many.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                    ));
                }
            },
        };
        let name = chosen.name.clone();
        let version = chosen.current_version;
        let oauth = chosen.kind == CredentialKind::OAuth2;
        // An OAuth 2.0 job gets an access token; a long-lived secret only
        // where the integration asks for it by name.
        let mapped: Vec<&String> = i.env_names.keys().filter(|f| *f != ACCESS_TOKEN_FIELD).collect();
        if oauth && !mapped.is_empty() {
            self.policy().check_oauth_secrets_to_workflows()?;
        }
        let purpose = format!("kw run: {command}");
        let secrets = if oauth && mapped.is_empty() {
            crate::secret::SecretFields::new()
        } else {
            self.use_secret(&chosen.id.to_string(), &purpose)?
        };
        let mut vars = Vec::new();
        for (field, value) in secrets.iter() {
            if oauth && !mapped.iter().any(|m| m.as_str() == field) {
                continue;
            }
            let var = i
                .env_names
                .get(field)
                .cloned()
                .unwrap_or_else(|| default_env_name(&i.name, field));
            vars.push((
                field.to_owned(),
                var,
                SecretString::from(value.expose_secret().to_owned()),
            ));
        }
        let access_token_var = oauth.then(|| {
            i.env_names
                .get(ACCESS_TOKEN_FIELD)
                .cloned()
                .unwrap_or_else(|| default_env_name(&i.name, ACCESS_TOKEN_FIELD))
        });
        Ok(RunEnvironment {
            credential: name,
            version,
            vars,
            access_token_var,
        })
    }
}

/// A workflow that took a credential: a service account through the
/// broker, or a command through `kw run`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Consumer {
    /// `service_account` or `kw_run`.
    pub kind: String,
    /// The account's name, or the command.
    pub name: String,
    pub last_used: String,
    /// Uses per day (UTC date), oldest first.
    #[cfg_attr(feature = "ts", ts(type = "Array<[string, number]>"))]
    pub per_day: Vec<(String, u64)>,
}

impl Consumer {
    /// How a warning names it: "service account payroll-sync (last used
    /// 2026-11-23)" or "kw run: sync-payroll (last used …)".
    pub fn label(&self) -> String {
        let day = self.last_used.get(..10).unwrap_or(&self.last_used);
        match self.kind.as_str() {
            "service_account" => format!("service account {} (last used {day})", self.name),
            _ => format!("kw run: {} (last used {day})", self.name),
        }
    }
}

impl Vault {
    /// The workflows that used a credential in the last 90 days, from the
    /// audit log's `credential.use` events; most recent first.
    pub fn credential_consumers(&self, reference: &str) -> Result<Vec<Consumer>> {
        let c = self.get_credential(reference)?;
        let since = crate::timefmt::to_db(self.now() - time::Duration::days(90));
        let mut stmt = self.conn().prepare_cached(
            "SELECT at, detail FROM audit_events
              WHERE action = 'credential.use' AND outcome = 'success' AND object_id = ?1 AND at >= ?2
              ORDER BY seq",
        )?;
        let rows = stmt.query_map(rusqlite::params![c.summary.id.to_string(), since], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut by: std::collections::BTreeMap<(String, String), Consumer> = std::collections::BTreeMap::new();
        for row in rows {
            let (at, detail) = row?;
            let (kind, name) = if let Some(n) = detail.strip_prefix("broker: ") {
                ("service_account", n)
            } else if let Some(n) = detail.strip_prefix("kw run: ") {
                ("kw_run", n)
            } else {
                continue;
            };
            let day = at.get(..10).unwrap_or(&at).to_owned();
            let entry = by
                .entry((kind.to_owned(), name.to_owned()))
                .or_insert_with(|| Consumer {
                    kind: kind.to_owned(),
                    name: name.to_owned(),
                    last_used: at.clone(),
                    per_day: Vec::new(),
                });
            entry.last_used = at.clone();
            match entry.per_day.last_mut() {
                Some((d, n)) if *d == day => *n += 1,
                _ => entry.per_day.push((day, 1)),
            }
        }
        let mut out: Vec<Consumer> = by.into_values().collect();
        out.sort_by(|a, b| b.last_used.cmp(&a.last_used));
        Ok(out)
    }
}
