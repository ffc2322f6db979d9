//! Connect and Re-authorize: what an OAuth 2.0 credential's authorization
//! (the authorization-code grant, done by the connectors) puts in the
//! vault. The refresh token becomes a new version in one write with the
//! access token it came with, the grant the broker uses from then on
//! (`grant_type = refresh_token`) and the `credential.connect` event; the
//! credential keeps its id, integration, schedule and history, and one in
//! "reconnection required" is active again. Nothing is written unless the
//! whole of it is.

#[allow(unused_imports)]
use super::*;

use super::rotation::{Swap, swap_in};
use crate::crypto::sealed::FieldSlot;
use crate::store::sealed_values::TOKEN_FIELD;
use crate::tokens::{RefreshInputs, cache_access_token};

/// What an authorization obtained at the token endpoint.
pub struct Connected {
    pub refresh_token: SecretString,
    /// `refresh_token_expires_in`, when the provider says it.
    pub refresh_expires_at: Option<OffsetDateTime>,
    pub access_token: SecretString,
    pub access_expires_at: Option<OffsetDateTime>,
    /// The scopes granted (RFC 6749 §5.1), or those asked for.
    pub scopes: Vec<String>,
    /// Configuration Connect used that the credential did not name (a
    /// known provider's endpoints, its client authentication, a scope):
    /// kept, so the broker refreshes where Connect signed in.
    pub config: BTreeMap<String, String>,
}

impl Vault {
    /// What a Connect needs: the credential's configuration and client
    /// secret (an audited use, purpose `connect`). A credential in
    /// "reconnection required" may connect; a disabled or revoked one, or
    /// one that is not OAuth 2.0, may not.
    pub fn connect_inputs(&mut self, reference: &str) -> Result<RefreshInputs> {
        self.oauth_inputs(reference, "connect")
    }

    /// Stores what a Connect obtained with the secrets of `inputs_version`:
    /// a new current version holding the client secret and the refresh
    /// token, the access token cached for it, `grant_type = refresh_token`,
    /// the refresh token's expiry (when the provider says it), and
    /// `credential.connect`. Refused, with nothing written, when the
    /// credential was rotated meanwhile.
    pub fn store_connected(
        &mut self,
        reference: &str,
        inputs_version: u32,
        connected: Connected,
    ) -> Result<Credential> {
        let row = creds::get(&self.conn, reference)?;
        if row.current_version != inputs_version {
            return Err(Error::invalid(
                "connect",
                "the credential was rotated while its authorization ran; connect again",
            ));
        }
        let mut secrets = SecretFields::new();
        for (name, value) in self.open_version(row.id, inputs_version)?.iter() {
            if name != "refresh_token" {
                secrets.insert(name, SecretString::from(value.expose_secret().to_owned()));
            }
        }
        secrets.insert("refresh_token", connected.refresh_token);
        let mut config = row.config.clone();
        for (key, value) in &connected.config {
            config.insert(key.clone(), value.clone());
        }
        config.insert("grant_type".into(), "refresh_token".into());
        validate::check_format(row.kind, &config, &secrets)?;
        let masks: BTreeMap<String, String> = secrets.iter().map(|(f, v)| (f.to_owned(), mask(v))).collect();
        let now = self.now();
        let expiry = match connected.refresh_expires_at {
            Some(t) => (Some(t), Some(ExpirySource::Provider)),
            None => (row.expires_at, row.expiry_source),
        };
        let detail = connect_detail(&connected.scopes, connected.refresh_expires_at);
        self.write(|w| {
            let now_row = creds::get(w, &row.id.to_string())?;
            if now_row.current_version != inputs_version || now_row.revision != row.revision {
                return Err(Error::invalid(
                    "connect",
                    "the credential was changed while its authorization ran; connect again",
                ));
            }
            // Disabled (a leak) while the person signed in: it stays so.
            if matches!(now_row.status, Status::Disabled | Status::Revoked) || now_row.needs_reentry {
                return Err(Error::CredentialDisabled {
                    name: now_row.name.clone(),
                    reason: "disabled while its authorization ran; nothing was stored".into(),
                });
            }
            let version = creds::max_version(w, row.id)? + 1;
            creds::insert_version(w, row.id, version, VersionState::Pending, &masks)?;
            w.seal_secrets(row.id, version, &secrets, true)?;
            swap_in(
                w,
                Swap {
                    row: &row,
                    version,
                    by_admin: false,
                    offline: false,
                    now,
                    mask: primary_mask(row.kind, &masks),
                    fields: secrets.names().map(str::to_owned).collect(),
                    expiry,
                },
            )?;
            let mut fresh = creds::get(w, &row.id.to_string())?;
            fresh.config = config;
            creds::upsert(w, &mut fresh)?;
            let slot = FieldSlot {
                credential_id: row.id,
                field: TOKEN_FIELD,
                version,
            };
            let blob = w.seal(&slot, connected.access_token.expose_secret().as_bytes())?;
            cache_access_token(w, row.id, version, &blob, connected.access_expires_at, now)?;
            w.audit(ev(
                "credential.connect",
                "credential",
                Some(row.id),
                Some(&row.name),
                Outcome::Success,
                format!("{detail}; version {version} is current"),
            ))
        })?;
        self.get_credential(&row.id.to_string())
    }

    /// Records a Connect that ended without a grant (refused, a wrong
    /// state, timed out): audited, nothing else changes.
    pub fn record_connect_failure(&mut self, reference: &str, why: &str) -> Result<()> {
        let row = creds::get(&self.conn, reference)?;
        self.write(|w| {
            w.audit(ev(
                "credential.connect",
                "credential",
                Some(row.id),
                Some(&row.name),
                Outcome::Failure,
                why.to_owned(),
            ))
            .map(|_| ())
        })
    }
}

/// The `credential.connect` event's detail: what was granted, until when.
fn connect_detail(scopes: &[String], refresh_expires_at: Option<OffsetDateTime>) -> String {
    let scopes = if scopes.is_empty() {
        "no scope named".to_owned()
    } else {
        format!("scopes granted: {}", scopes.join(" "))
    };
    match refresh_expires_at {
        Some(t) => format!(
            "authorized at the provider ({scopes}); refresh token valid until {}",
            timefmt::to_db(t)
        ),
        None => format!("authorized at the provider ({scopes})"),
    }
}
