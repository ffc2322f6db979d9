//! Service accounts (`kws_` tokens) and the broker that hands a granted
//! account its integration's credential.

#[allow(unused_imports)]
use super::*;

/// A credential handed to a service account by the broker.
pub struct BrokeredCredential {
    pub integration: String,
    /// The integration's `kw run` variable names.
    pub env_names: std::collections::BTreeMap<String, String>,
    pub credential: String,
    pub version: u32,
    pub expires_at: Option<OffsetDateTime>,
    pub secrets: Vec<(String, secrecy::SecretString)>,
    /// The version the last rotation replaced, while in its grace period.
    pub previous: Option<PreviousVersion>,
    /// An OAuth 2.0 credential: the variable its access token goes in; the
    /// broker obtains the token (`access_token`) through the connectors.
    pub access_token_var: Option<String>,
    /// The access token the broker obtained, when `access_token_var` asks.
    pub access_token: Option<crate::tokens::AccessToken>,
}

/// A superseded version as the broker reports it: metadata and masks only.
#[derive(Debug, Clone, PartialEq)]
pub struct PreviousVersion {
    pub version: u32,
    pub retired_at: OffsetDateTime,
    /// `retired_at` plus the vault's rotation grace period.
    pub grace_until: OffsetDateTime,
    pub masks: std::collections::BTreeMap<String, String>,
}

impl Vault {
    /// A service account for a job: a `kws_` token (shown once, stored
    /// hashed, rotated and revoked like a partner key) granted the
    /// credentials of the named integrations, one by default.
    pub fn create_service_account(&mut self, mut new: NewPartnerKey) -> Result<IssuedKey> {
        if new.grants.is_empty() {
            return Err(Error::invalid(
                "grant",
                "name the integration whose credential the account may use (--grant NAME); it gets nothing else",
            ));
        }
        let mut ids = Vec::new();
        for g in &new.grants {
            ids.push(self.get_integration(g)?.id.to_string());
        }
        new.kind = KeyKind::Service;
        new.grants = ids;
        if new.scopes.is_empty() {
            new.scopes = vec!["credentials:read".into()];
        }
        self.issue_partner_key(new)
    }

    /// What the broker hands a service account: the current secret of the
    /// credential serving `integration`, when the caller's grant covers
    /// it. Audited as a use "broker: <account>".
    pub fn broker_credential(
        &mut self,
        caller: &ServiceCaller,
        integration: &str,
    ) -> Result<Option<BrokeredCredential>> {
        let Ok(i) = self.get_integration(integration) else {
            return Ok(None);
        };
        if !caller.grants.iter().any(|g| *g == i.id.to_string()) {
            return Ok(None);
        }
        let env = self.run_environment(&i.id.to_string(), None, &format!("broker: {}", caller.account))?;
        let c = self.get_credential(&env.credential)?;
        let secrets = env.vars.into_iter().map(|(field, _, value)| (field, value)).collect();
        // During the grace period after a rotation the version it replaced is
        // reported too (never its secret, which the swap erased), so a job
        // that still holds it knows it is superseded and until when.
        let grace = time::Duration::days(i64::from(self.rotation_policy().1));
        let now = self.now();
        let previous = c
            .versions
            .iter()
            .filter(|v| v.state == crate::model::VersionState::Retired && v.version < c.summary.current_version)
            .max_by_key(|v| v.version)
            .and_then(|v| {
                let retired_at = v.retired_at?;
                (retired_at + grace > now).then(|| PreviousVersion {
                    version: v.version,
                    retired_at,
                    grace_until: retired_at + grace,
                    masks: v.masks.clone(),
                })
            });
        Ok(Some(BrokeredCredential {
            env_names: i.env_names,
            integration: i.name,
            credential: c.summary.name,
            version: c.summary.current_version,
            expires_at: c.summary.expires_at,
            secrets,
            previous,
            access_token_var: env.access_token_var,
            access_token: None,
        }))
    }
}
