//! Configuration export and import: integrations and credentials without a
//! single secret value, for backup and moving to another machine. Imported
//! credentials are marked "needs re-entry".

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::model::{
    CredentialFilter, CredentialKind, ExpirySource, Integration, Status, validate_name, validate_text, validate_word,
};
use crate::store::audit::{NewEvent, Outcome};
use crate::store::credentials::{self as creds, Row};
use crate::store::integrations;
use crate::timefmt;
use crate::vault::Vault;

pub const EXPORT_FORMAT: &str = "keywarden-config";
pub const EXPORT_VERSION: u32 = 1;
pub const REENTRY_NOTE: &str = "This export contains no secrets. Every credential must be re-entered after import \
(kw credential rotate NAME, or Update Credentials in the app); until then it is marked 'needs re-entry'.";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConfigExport {
    pub format: String,
    pub format_version: u32,
    pub exported_at: String,
    pub note: String,
    pub integrations: Vec<ExportedIntegration>,
    pub credentials: Vec<ExportedCredential>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ExportedIntegration {
    pub name: String,
    pub provider: String,
    pub environment: String,
    pub tenant_id: Option<String>,
    pub base_url: Option<String>,
    pub scopes: Vec<String>,
    pub sync_schedule: Option<String>,
    pub owner: Option<String>,
    pub tags: Vec<String>,
    pub notes: Option<String>,
    #[serde(default)]
    pub max_age_days: Option<u32>,
    #[serde(default)]
    pub env_names: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ExportedCredential {
    pub name: String,
    pub kind: CredentialKind,
    pub integration: Option<String>,
    pub provider: String,
    pub environment: String,
    /// Non-secret configuration only (username, client id, token URL…).
    pub config: BTreeMap<String, String>,
    /// The names of the secret fields to re-enter; never their values.
    pub secret_fields: Vec<String>,
    pub tags: Vec<String>,
    pub notes: Option<String>,
    pub expires_at: Option<String>,
    #[serde(default)]
    pub max_age_days: Option<u32>,
}

/// An import file bigger than this is not one `kw export` wrote (a vault
/// of 100,000 credentials exports to about 60 MB of JSON).
pub const EXPORT_MAX_BYTES: usize = 128 * 1024 * 1024;

impl ConfigExport {
    /// Reads an import file: JSON of the export's shape, at most
    /// `EXPORT_MAX_BYTES`. What it says is checked by `import_config`.
    pub fn parse(bytes: &[u8]) -> Result<ConfigExport> {
        if bytes.len() > EXPORT_MAX_BYTES {
            return Err(Error::invalid(
                "import file",
                format!(
                    "the file is {} MB, larger than any configuration export; import a configuration export Keywarden wrote",
                    bytes.len() / (1024 * 1024)
                ),
            ));
        }
        serde_json::from_slice(bytes).map_err(|e| {
            Error::invalid(
                "import file",
                format!("not a Keywarden configuration export ({e}); import the configuration export as Keywarden wrote it, unchanged"),
            )
        })
    }
}

/// What an import will write, every check passed; nothing written yet.
pub(crate) struct ImportPlan {
    integrations: Vec<Integration>,
    credentials: Vec<Row>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ImportReport {
    pub integrations: usize,
    pub credentials: usize,
    pub needs_reentry: Vec<String>,
}

impl Vault {
    /// The configuration with no secret in it; recorded as `config.export`.
    pub fn export_config(&mut self) -> Result<ConfigExport> {
        self.policy().check_export()?;
        let integrations = self
            .list_integrations()?
            .into_iter()
            .map(|i| ExportedIntegration {
                name: i.name,
                provider: i.provider,
                environment: i.environment,
                tenant_id: i.tenant_id,
                base_url: i.base_url,
                scopes: i.scopes,
                sync_schedule: i.sync_schedule,
                owner: i.owner,
                tags: i.tags,
                notes: i.notes,
                max_age_days: i.max_age_days,
                env_names: i.env_names,
            })
            .collect::<Vec<_>>();
        let mut credentials = Vec::new();
        for s in self.list_credentials(&CredentialFilter::default())? {
            let c = self.get_credential(&s.id.to_string())?;
            credentials.push(ExportedCredential {
                name: s.name,
                kind: s.kind,
                integration: s.integration,
                provider: s.provider,
                environment: s.environment,
                config: c.config,
                secret_fields: c.secret_fields,
                tags: s.tags,
                notes: c.notes,
                expires_at: s.expires_at.map(timefmt::to_db),
                max_age_days: c.max_age_days,
            });
        }
        let export = ConfigExport {
            format: EXPORT_FORMAT.into(),
            format_version: EXPORT_VERSION,
            exported_at: timefmt::to_db(timefmt::now()),
            note: REENTRY_NOTE.into(),
            integrations,
            credentials,
        };
        let detail = format!(
            "{} integrations, {} credentials, no secrets",
            export.integrations.len(),
            export.credentials.len()
        );
        let id = self.vault_id();
        self.write(|tx| {
            tx.audit(NewEvent {
                action: "config.export",
                object_kind: "vault",
                object_id: Some(id.to_string()),
                object_name: None,
                outcome: Outcome::Success,
                detail,
            })
        })?;
        Ok(export)
    }

    /// Recreates an export's integrations and credentials, all or nothing.
    /// Credentials arrive with no secret, marked "needs re-entry". A name
    /// that already exists stops the whole import.
    pub fn import_config(&mut self, export: &ConfigExport) -> Result<ImportReport> {
        let ImportPlan {
            integrations: new_integrations,
            credentials: mut rows,
        } = self.plan_import(export)?;
        let report = ImportReport {
            integrations: new_integrations.len(),
            credentials: rows.len(),
            needs_reentry: rows.iter().map(|r| r.name.clone()).collect(),
        };
        self.write(|tx| {
            for i in &new_integrations {
                integrations::upsert(tx, i)?;
                tx.audit(NewEvent {
                    action: "integration.add",
                    object_kind: "integration",
                    object_id: Some(i.id.to_string()),
                    object_name: Some(i.name.clone()),
                    outcome: Outcome::Success,
                    detail: "imported".into(),
                })?;
            }
            for r in &mut rows {
                creds::upsert(tx, r)?;
                tx.audit(NewEvent {
                    action: "credential.add",
                    object_kind: "credential",
                    object_id: Some(r.id.to_string()),
                    object_name: Some(r.name.clone()),
                    outcome: Outcome::Success,
                    detail: "imported; needs re-entry".into(),
                })?;
            }
            tx.audit(NewEvent {
                action: "config.import",
                object_kind: "vault",
                object_id: None,
                object_name: None,
                outcome: Outcome::Success,
                detail: format!("{} integrations, {} credentials", new_integrations.len(), rows.len()),
            })
        })?;
        Ok(report)
    }

    /// Every check of an import, read-only: the file's format, each name,
    /// field and URL, the policy, and duplicates in the file or the vault.
    pub(crate) fn plan_import(&self, export: &ConfigExport) -> Result<ImportPlan> {
        if export.format != EXPORT_FORMAT || export.format_version != EXPORT_VERSION {
            return Err(Error::invalid(
                "import file",
                format!(
                    "not a Keywarden configuration export (format '{}' version {})",
                    export.format, export.format_version
                ),
            ));
        }
        let now = timefmt::now();
        let new_integrations = self.plan_integrations(&export.integrations, now)?;
        let mut rows: Vec<Row> = Vec::new();
        for c in &export.credentials {
            let row = self.plan_credential(c, &new_integrations, &rows, now)?;
            rows.push(row);
        }
        Ok(ImportPlan {
            integrations: new_integrations,
            credentials: rows,
        })
    }

    /// The integrations of an import, checked as any new integration is;
    /// a name taken in the vault or twice in the file stops the import.
    fn plan_integrations(
        &self,
        exported: &[ExportedIntegration],
        now: time::OffsetDateTime,
    ) -> Result<Vec<Integration>> {
        let mut new_integrations: Vec<Integration> = Vec::new();
        for e in exported {
            if integrations::name_taken(self.conn(), &e.name, None)?
                || new_integrations.iter().any(|i| i.name.eq_ignore_ascii_case(&e.name))
            {
                return Err(Error::Duplicate {
                    kind: "an integration",
                    name: e.name.clone(),
                });
            }
            let i = Integration {
                id: Uuid::new_v4(),
                name: e.name.clone(),
                provider: e.provider.clone(),
                environment: e.environment.clone(),
                tenant_id: e.tenant_id.clone(),
                base_url: e.base_url.clone(),
                scopes: e.scopes.clone(),
                sync_schedule: e.sync_schedule.clone(),
                owner: e.owner.clone(),
                tags: e.tags.clone(),
                notes: e.notes.clone(),
                max_age_days: e.max_age_days,
                env_names: e.env_names.clone(),
                created_at: now,
                updated_at: now,
            };
            // An import file is input like any other: the same checks.
            crate::vault::validate_integration(&i)?;
            self.check_integration_policy(&i)?;
            new_integrations.push(i);
        }
        Ok(new_integrations)
    }

    /// One credential of an import, checked as any new credential is, as a
    /// row without a secret ("needs re-entry"). `planned`: the credentials
    /// of the file before it.
    fn plan_credential(
        &self,
        c: &ExportedCredential,
        new_integrations: &[Integration],
        planned: &[Row],
        now: time::OffsetDateTime,
    ) -> Result<Row> {
        self.check_exported_credential(c, planned)?;
        let integration = match &c.integration {
            None => None,
            Some(name) => Some(
                new_integrations
                    .iter()
                    .find(|i| i.name.eq_ignore_ascii_case(name))
                    .map(|i| (i.id, i.name.clone()))
                    .or(integrations::find(self.conn(), name)?.map(|i| (i.id, i.name)))
                    .ok_or_else(|| Error::NotFound {
                        kind: "integration",
                        name: name.clone(),
                    })?,
            ),
        };
        Ok(Row {
            id: Uuid::new_v4(),
            name: c.name.clone(),
            kind: c.kind,
            integration_id: integration.as_ref().map(|i| i.0),
            integration_name: integration.map(|i| i.1),
            provider: c.provider.clone(),
            environment: c.environment.clone(),
            status: Status::Active,
            config: c.config.clone(),
            secret_fields: c.secret_fields.clone(),
            tags: c.tags.clone(),
            notes: c.notes.clone(),
            expires_at: c.expires_at.as_deref().map(timefmt::from_db).transpose()?,
            expiry_source: c.expires_at.as_ref().map(|_| ExpirySource::User),
            rotated_at: None,
            max_age_days: c.max_age_days,
            integration_max_age_days: None,
            last_used_at: None,
            last_validated_at: None,
            current_version: 0,
            mask: None,
            needs_reentry: true,
            created_at: now,
            updated_at: now,
            revision: 0,
        })
    }

    /// The checks of one exported credential, as for a new credential.
    fn check_exported_credential(&self, c: &ExportedCredential, planned: &[Row]) -> Result<()> {
        validate_name("credential name", &c.name)?;
        crate::vault::check_descriptive_fields(Some(&c.provider), Some(&c.environment), &c.tags, &c.notes)?;
        self.policy().check_provider(&c.provider)?;
        if let Some(d) = c.max_age_days {
            crate::vault::check_max_age(d)?;
            self.policy().check_max_age(d)?;
        }
        for (k, v) in &c.config {
            validate_word("configuration field name", k)?;
            validate_text(k, v)?;
        }
        if let Some(url) = c.config.get("token_url") {
            crate::validate::check_url("token_url", url)?;
        }
        for f in &c.secret_fields {
            validate_word("secret field name", f)?;
        }
        if creds::name_taken(self.conn(), &c.name, None)?
            || planned.iter().any(|r: &Row| r.name.eq_ignore_ascii_case(&c.name))
        {
            return Err(Error::Duplicate {
                kind: "a credential",
                name: c.name.clone(),
            });
        }
        Ok(())
    }
}
