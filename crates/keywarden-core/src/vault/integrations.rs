//! Integrations: the systems credentials belong to.

#[allow(unused_imports)]
use super::*;

/// A rotation policy: 0 (none) or 1 to 3650 days.
pub(crate) fn check_max_age(days: u32) -> Result<()> {
    if days > 3650 {
        return Err(Error::invalid(
            "rotation policy",
            format!("{days} days is out of range; use 1 to 3650 days, or 0 for no maximum age"),
        ));
    }
    Ok(())
}

pub(super) fn validate_words(field: &str, words: &[String]) -> Result<()> {
    words.iter().try_for_each(|w| validate_word(field, w))
}

pub(super) fn validate_opt_text(field: &str, text: &Option<String>) -> Result<()> {
    text.as_deref().map_or(Ok(()), |t| validate_text(field, t))
}

pub(super) fn empty_to_none(s: String) -> Option<String> {
    (!s.trim().is_empty()).then_some(s)
}

/// The non-secret words and text every new credential is checked for.
pub(crate) fn check_descriptive_fields(
    provider: Option<&str>,
    environment: Option<&str>,
    tags: &[String],
    notes: &Option<String>,
) -> Result<()> {
    provider.map_or(Ok(()), |p| validate_word("provider", p))?;
    environment.map_or(Ok(()), |e| validate_word("environment", e))?;
    validate_words("tag", tags)?;
    validate_opt_text("notes", notes)
}

pub(crate) fn validate_integration(i: &Integration) -> Result<()> {
    validate_name("integration name", &i.name)?;
    if let Some(d) = i.max_age_days {
        check_max_age(d)?;
    }
    for (field, var) in &i.env_names {
        crate::run::check_env_name(field, var)?;
    }
    validate_word("provider", &i.provider)?;
    validate_word("environment", &i.environment)?;
    validate_words("tag", &i.tags)?;
    for s in &i.scopes {
        if s.is_empty() || s.len() > 200 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::invalid(
                "scope",
                format!("'{s}' is not a scope; scopes are single words like read:expenses"),
            ));
        }
    }
    if let Some(url) = &i.base_url {
        validate::check_url("base URL", url)?;
    }
    validate_opt_text("tenant id", &i.tenant_id)?;
    validate_opt_text("sync schedule", &i.sync_schedule)?;
    validate_opt_text("owner", &i.owner)?;
    validate_opt_text("notes", &i.notes)
}

impl Vault {
    pub fn add_integration(&mut self, new: NewIntegration) -> Result<Integration> {
        let now = self.now();
        let i = Integration {
            id: Uuid::new_v4(),
            name: new.name,
            provider: new.provider.trim().to_lowercase(),
            environment: if new.environment.trim().is_empty() {
                "prod".into()
            } else {
                new.environment.trim().to_lowercase()
            },
            tenant_id: new.tenant_id.and_then(empty_to_none),
            base_url: new.base_url.and_then(empty_to_none),
            scopes: new.scopes,
            sync_schedule: new.sync_schedule.and_then(empty_to_none),
            owner: new.owner.and_then(empty_to_none),
            tags: new.tags,
            notes: new.notes.and_then(empty_to_none),
            max_age_days: new.max_age_days,
            env_names: new.env_names,
            created_at: now,
            updated_at: now,
        };
        validate_integration(&i)?;
        self.check_integration_policy(&i)?;
        if store::integrations::name_taken(&self.conn, &i.name, None)? {
            return Err(Error::Duplicate {
                kind: "an integration",
                name: i.name,
            });
        }
        self.write(|tx| {
            store::integrations::upsert(tx, &i)?;
            tx.audit(ev(
                "integration.add",
                "integration",
                Some(i.id),
                Some(&i.name),
                Outcome::Success,
                format!("provider {}", i.provider),
            ))
        })?;
        Ok(i)
    }

    pub fn update_integration(&mut self, reference: &str, patch: IntegrationPatch) -> Result<Integration> {
        let mut i = store::integrations::get(&self.conn, reference)?;
        let mut changed = Vec::new();
        macro_rules! set {
            ($field:ident, $value:expr) => {
                if let Some(v) = $value {
                    i.$field = v;
                    changed.push(stringify!($field));
                }
            };
        }
        set!(name, patch.name);
        set!(provider, patch.provider.map(|p| p.trim().to_lowercase()));
        set!(environment, patch.environment.map(|e| e.trim().to_lowercase()));
        set!(tenant_id, patch.tenant_id.map(empty_to_none));
        set!(base_url, patch.base_url.map(empty_to_none));
        set!(scopes, patch.scopes);
        set!(sync_schedule, patch.sync_schedule.map(empty_to_none));
        set!(owner, patch.owner.map(empty_to_none));
        set!(tags, patch.tags);
        set!(notes, patch.notes.map(empty_to_none));
        set!(max_age_days, patch.max_age_days);
        set!(env_names, patch.env_names);
        if changed.is_empty() {
            return Err(Error::invalid(
                "update",
                "nothing to change; name at least one field to update",
            ));
        }
        validate_integration(&i)?;
        self.check_integration_policy(&i)?;
        if store::integrations::name_taken(&self.conn, &i.name, Some(i.id))? {
            return Err(Error::Duplicate {
                kind: "an integration",
                name: i.name,
            });
        }
        i.updated_at = self.now();
        let renamed = changed.contains(&"name");
        self.write(|tx| {
            store::integrations::upsert(tx, &i)?;
            if renamed {
                // Credentials carry their integration's name in their search text.
                for mut row in creds::for_integration(tx, i.id)? {
                    row.integration_name = Some(i.name.clone());
                    creds::upsert(tx, &mut row)?;
                }
            }
            tx.audit(ev(
                "integration.update",
                "integration",
                Some(i.id),
                Some(&i.name),
                Outcome::Success,
                format!("changed {}", changed.join(", ")),
            ))
        })?;
        Ok(i)
    }

    pub fn get_integration(&self, reference: &str) -> Result<Integration> {
        store::integrations::get(&self.conn, reference)
    }

    pub fn list_integrations(&self) -> Result<Vec<Integration>> {
        store::integrations::list(&self.conn)
    }

    /// Credentials serving this integration, for its details screen.
    pub fn integration_credentials(&self, reference: &str) -> Result<Vec<CredentialSummary>> {
        let i = store::integrations::get(&self.conn, reference)?;
        Ok(creds::for_integration(&self.conn, i.id)?
            .iter()
            .map(|r| r.summary(self.clock()))
            .collect())
    }

    /// An integration's provider and own rotation age, against the policy.
    pub(crate) fn check_integration_policy(&self, i: &Integration) -> Result<()> {
        self.policy.check_provider(&i.provider)?;
        match i.max_age_days {
            Some(days) => self.policy.check_max_age(days),
            None => Ok(()),
        }
    }
}
