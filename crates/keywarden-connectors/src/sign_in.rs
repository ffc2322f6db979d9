//! Connect (or Re-authorize) a credential of the vault: the whole flow
//! both shells run, `kw credential connect` and the app's "Connect…".
//!
//! The vault is held only for its own steps (reading the credential,
//! recording a failure, storing the grant), never while the person signs
//! in, so the rest of the app goes on working for the minutes that takes.
//! Opening the browser is the shell's: it gets the `Connect` once the
//! listener is up and answers with the sign-in page it opened (kept until
//! the flow ends), or none when it printed the address instead.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use keywarden_core::{Connected, Credential, SecretString};
use secrecy::ExposeSecret;
use time::OffsetDateTime;

use crate::Options;
use crate::authorize::{Connect, ConnectConfig, ConnectError, SignInPage};
use crate::endpoints::{self, Provider};
use crate::tokens::VaultCell;

/// What a finished Connect stored.
pub struct SignedIn {
    pub credential: Credential,
    /// The scopes granted (or those asked for, when the provider named
    /// none).
    pub scopes: Vec<String>,
    /// Until when the access token that came with the grant is valid.
    pub access_expires_at: Option<OffsetDateTime>,
}

/// Why a Connect stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// The vault refused (no such credential, not OAuth 2.0, disabled,
    /// rotated during the sign-in, locked).
    #[error(transparent)]
    Vault(#[from] keywarden_core::Error),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(
        "the provider granted no refresh token: ask for offline access (Entra: the offline_access scope) and \
         connect again; nothing was stored"
    )]
    NoRefreshToken,
}

/// Connects `name`: the credential's endpoints (a known provider's where
/// it names none), the sign-in through `open`, the code exchanged, and the
/// refresh token stored as a new version. A refusal, a timeout or a
/// cancel (`cancel` set, at any moment) is recorded on the credential and
/// stores nothing.
pub fn connect_credential<C: VaultCell>(
    cell: &C,
    name: &str,
    options: &Options,
    timeout: Duration,
    cancel: Arc<AtomicBool>,
    open: impl FnOnce(&Connect) -> Option<SignInPage>,
) -> Result<SignedIn, SignInError> {
    let (inputs, provider) = cell.with(|v| {
        let inputs = v.connect_inputs(name)?;
        let summary = v.get_credential(name)?.summary;
        let integration = match &summary.integration {
            Some(i) => Some(v.get_integration(i)?),
            None => None,
        };
        let provider = OwnedProvider {
            name: integration
                .as_ref()
                .map_or(summary.provider.clone(), |i| i.provider.clone()),
            environment: summary.environment.clone(),
            tenant: integration.and_then(|i| i.tenant_id),
        };
        Ok((inputs, provider))
    })?;
    let config = endpoints::completed(options, &provider.borrowed(), &inputs.config)?;
    let flow = Connect::start(&ConnectConfig::read(&config)?)?.cancelled_by(Arc::clone(&cancel));
    // Kept until the flow ends: the browser reads it when it starts. A
    // Cancel before this point opens no browser.
    let _page = if cancel.load(Ordering::SeqCst) {
        None
    } else {
        open(&flow)
    };
    let grant = match flow.finish(options, &config, &inputs.secrets, timeout) {
        Ok(grant) => grant,
        Err(e) => {
            cell.with(|v| v.record_connect_failure(name, &e.to_string()))?;
            return Err(e.into());
        }
    };
    let Some(refresh_token) = grant.refresh_token else {
        let e = SignInError::NoRefreshToken;
        cell.with(|v| v.record_connect_failure(name, &e.to_string()))?;
        return Err(e);
    };
    let filled = filled_config(&config, &inputs.config);
    let scopes = grant.granted.clone();
    let stored = cell.with(|v| {
        // A Cancel (or a lock, which cancels) during the exchange counts:
        // checked under the vault's lock, which a lock takes after
        // cancelling, so nothing reaches a vault unlocked again meanwhile.
        if cancel.load(Ordering::SeqCst) {
            return Ok(None);
        }
        let now = v.now();
        let access_expires_at = grant.expires_in.map(|s| now + time::Duration::seconds(s));
        let connected = Connected {
            refresh_token,
            refresh_expires_at: grant.refresh_token_expires_in.map(|s| now + time::Duration::seconds(s)),
            access_token: SecretString::from(grant.access_token.expose_secret().to_owned()),
            access_expires_at,
            scopes: scopes.clone(),
            config: filled,
        };
        let credential = v.store_connected(name, inputs.version, connected)?;
        Ok(Some(SignedIn {
            credential,
            scopes,
            access_expires_at,
        }))
    })?;
    match stored {
        Some(done) => Ok(done),
        None => {
            let e = ConnectError::Cancelled;
            // The vault may be locked now: then there is nowhere to record it.
            let _ = cell.with(|v| v.record_connect_failure(name, &e.to_string()));
            Err(e.into())
        }
    }
}

/// The configuration Connect used that the credential did not name.
fn filled_config(used: &BTreeMap<String, String>, named: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    used.iter()
        .filter(|(k, v)| named.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The provider read from the vault, owned: the vault is not held while
/// the person signs in.
struct OwnedProvider {
    name: String,
    environment: String,
    tenant: Option<String>,
}

impl OwnedProvider {
    fn borrowed(&self) -> Provider<'_> {
        Provider {
            name: &self.name,
            environment: &self.environment,
            tenant: self.tenant.as_deref(),
        }
    }
}
