//! What a team credential must pass before it is stored: its fields, its
//! secret's format, and a live check with its provider; and the team vault
//! as a `CredentialBackend`.

#[allow(unused_imports)]
use super::*;

pub(super) fn secret_json(secrets: &SecretFields) -> Value {
    let m: serde_json::Map<String, Value> = secrets
        .iter()
        .map(|(k, v)| (k.to_owned(), Value::String(v.expose_secret().to_owned())))
        .collect();
    Value::Object(m)
}

pub(crate) fn secrets_from_json(v: &Value) -> Result<SecretFields> {
    let mut out = SecretFields::new();
    let obj = v
        .as_object()
        .ok_or_else(|| TeamError::invalid("secret", "the stored secret is not readable"))?;
    for (k, v) in obj {
        let s = v
            .as_str()
            .ok_or_else(|| TeamError::invalid("secret", format!("the stored field {k} is not text")))?;
        out.insert(k, SecretString::from(s.to_owned()));
    }
    Ok(out)
}

pub(super) fn masked_of(kind: CredentialKind, secrets: &SecretFields) -> String {
    let names: Vec<String> = secrets.names().map(str::to_owned).collect();
    primary_field(kind, &names)
        .and_then(|f| secrets.get(&f).map(mask))
        .unwrap_or_else(|| "••••••••".to_owned())
}

pub(super) fn check_secret_fields(
    kind: CredentialKind,
    config: &BTreeMap<String, String>,
    secrets: &SecretFields,
) -> Result<()> {
    for f in secret_field_names(kind, config) {
        if secrets.get(f).is_none() {
            return Err(TeamError::invalid(f, "this secret field is required for this type"));
        }
    }
    if secrets.is_empty() {
        return Err(TeamError::invalid(
            "secret",
            "a credential needs at least one secret field",
        ));
    }
    Ok(())
}

/// A team credential's configuration as a live check may use it: without
/// the fields that would send the secret somewhere of an editor's choosing.
/// Admins who may edit a shared credential's configuration may not read its
/// secret, so a check goes only to its provider's own endpoints. Test mode
/// (debug builds) keeps them, for the providers' fakes on loopback.
pub(crate) fn checked_config(config: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut out = config.clone();
    if !keywarden_core::test_mode() {
        // Every field that can name a server (`keywarden_core::is_endpoint_field`):
        // `authority` as well as the URLs.
        out.retain(|k, _| !keywarden_core::is_endpoint_field(k));
    }
    out
}

/// The provider a credential's configuration names; as in the local vault,
/// one without a provider is "generic", and the list of allowed providers
/// applies to it too.
pub(crate) fn provider_of(config: &BTreeMap<String, String>) -> String {
    config
        .get("provider")
        .map(|p| p.trim().to_lowercase())
        .unwrap_or_else(|| "generic".into())
}

/// How a secret was accepted, for the team's audit event.
#[derive(Clone, Copy)]
pub(super) enum Checked {
    Live,
    /// Offline, as the member asked.
    Offline,
    /// The provider has no live check (a generic key, a custom type, or an
    /// endpoint the team vault does not send secrets to).
    NoLiveCheck,
}

impl Checked {
    pub(super) fn words(self) -> &'static str {
        match self {
            Checked::Live => "checked live with its provider",
            Checked::Offline => "not checked live: offline, as asked",
            Checked::NoLiveCheck => "not checked live: no live check for this provider",
        }
    }
}

/// The policy's rules for a secret about to be saved (its provider is
/// allowed; a live check where one is required), then the check itself.
pub(super) fn validate_now(
    policy: &keywarden_core::Policy,
    validator: &dyn Validator,
    name: &str,
    kind: CredentialKind,
    config: &BTreeMap<String, String>,
    secrets: &SecretFields,
) -> Result<Checked> {
    policy.check_provider(&provider_of(config))?;
    let config = &checked_config(config);
    let integration = integration_of(name, config);
    let candidate = Candidate {
        credential_name: name,
        kind,
        config,
        secrets,
        integration: integration.as_ref(),
    };
    // A provider without a live check (a generic API key, a custom type):
    // the offline checks, saved unchecked, as in the local vault.
    let (validator, how) = if validator.is_offline() {
        policy.check_unvalidated_save()?;
        (validator, Checked::Offline)
    } else if !validator.has_live_check(&candidate) {
        policy.check_unvalidated_save()?;
        (
            &keywarden_core::OfflineValidator as &dyn Validator,
            Checked::NoLiveCheck,
        )
    } else {
        (validator, Checked::Live)
    };
    keywarden_core::validate::run(validator, &candidate)
        .map(|verdict| if verdict.offline { Checked::Offline } else { how })
        .map_err(|r| keywarden_core::Error::ValidationRejected { failure: r.failure }.into())
}

/// A team credential names its provider in its configuration
/// (`provider`, and `environment`, `tenant_id`, `base_url` as the local
/// vault's integrations have them), so the same live checks apply.
pub(crate) fn integration_of(name: &str, config: &BTreeMap<String, String>) -> Option<keywarden_core::Integration> {
    let provider = config.get("provider")?;
    let now = keywarden_core::timefmt::now();
    Some(keywarden_core::Integration {
        id: uuid::Uuid::nil(),
        name: name.to_owned(),
        provider: provider.clone(),
        environment: config
            .get("environment")
            .cloned()
            .unwrap_or_else(|| "production".into()),
        tenant_id: config.get("tenant_id").cloned(),
        base_url: config.get("base_url").cloned(),
        scopes: Vec::new(),
        sync_schedule: None,
        owner: None,
        tags: Vec::new(),
        notes: None,
        max_age_days: None,
        env_names: BTreeMap::new(),
        created_at: now,
        updated_at: now,
    })
}

/// The team vault as one of the core's credential backends.
impl keywarden_core::CredentialBackend for TeamVault {
    fn location(&self) -> String {
        format!("team vault {} at {}", self.mount, self.bao.nodes().join(", "))
    }

    fn credentials(&self) -> std::result::Result<Vec<keywarden_core::BackendCredential>, keywarden_core::BackendError> {
        let now = keywarden_core::timefmt::now();
        let cards = self.list().map_err(backend_error)?;
        Ok(cards
            .into_iter()
            .map(|c| keywarden_core::BackendCredential {
                id: c.id().to_owned(),
                masked: Some(c.masked.clone()),
                status: c.status(now).to_owned(),
                expires_at: c
                    .expires_at
                    .as_deref()
                    .and_then(|e| keywarden_core::timefmt::from_db(e).ok()),
                context: sharing_words(c.path.sharing).to_owned(),
                kind: c.kind,
                name: c.name,
            })
            .collect())
    }

    fn verify_audit(&self) -> std::result::Result<u64, keywarden_core::BackendError> {
        TeamVault::verify_audit(self).map_err(backend_error)
    }
}

/// A team error as any backend's: unreachable is told apart.
pub fn backend_error(e: TeamError) -> keywarden_core::BackendError {
    keywarden_core::BackendError {
        unreachable: matches!(e, TeamError::Bao(BaoError::Unreachable { .. })),
        hint: e.hint(),
        message: e.to_string(),
    }
}
