//! Access tokens for workflows: the cached one while it is valid beyond a
//! margin (5 minutes by default), otherwise one refresh at the token
//! endpoint — one per credential at a time, however many callers ask at
//! once (single flight: the others wait for its result).
//!
//! The vault is held only for its own steps, never during the request, so
//! the rest of the app is not blocked by a slow provider.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};

use keywarden_core::tokens::Obtained;
use keywarden_core::{Error, Failure, Result, SecretString, Vault};
use secrecy::ExposeSecret;
use time::Duration;

use crate::Options;
use crate::oauth2::request_token;

/// Refresh this long before the token expires.
pub const DEFAULT_MARGIN: Duration = Duration::minutes(5);

/// Where the broker finds the open vault: a mutex in tests and services,
/// the app's state in the desktop app.
pub trait VaultCell: Send + Sync {
    fn with<T>(&self, f: impl FnOnce(&mut Vault) -> Result<T>) -> Result<T>;
}

impl VaultCell for Mutex<Vault> {
    fn with<T>(&self, f: impl FnOnce(&mut Vault) -> Result<T>) -> Result<T> {
        let mut guard = self.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }
}

impl<C: VaultCell> VaultCell for Arc<C> {
    fn with<T>(&self, f: impl FnOnce(&mut Vault) -> Result<T>) -> Result<T> {
        (**self).with(f)
    }
}

/// The outcome of one refresh, shared with everyone who waited for it
/// (the token itself they read from the vault's cache, audited).
type Shared = std::result::Result<(), Outcome>;

#[derive(Clone)]
enum Outcome {
    Refused(Failure),
    Failed(String),
}

#[derive(Default)]
struct Flight {
    result: Mutex<Option<Shared>>,
    done: Condvar,
}

pub struct TokenBroker<C: VaultCell> {
    cell: C,
    options: Options,
    margin: Duration,
    flights: Mutex<HashMap<String, Arc<Flight>>>,
}

impl<C: VaultCell> TokenBroker<C> {
    pub fn new(cell: C, options: Options) -> TokenBroker<C> {
        TokenBroker {
            cell,
            options,
            margin: DEFAULT_MARGIN,
            flights: Mutex::new(HashMap::new()),
        }
    }

    pub fn with_margin(mut self, margin: Duration) -> TokenBroker<C> {
        self.margin = margin;
        self
    }

    /// An access token of the credential for `purpose` (audited).
    pub fn access_token(&self, reference: &str, purpose: &str) -> Result<SecretString> {
        if let Some(token) = self
            .cell
            .with(|v| v.cached_access_token(reference, self.margin, purpose))?
        {
            return Ok(token);
        }
        let key = reference.to_lowercase();
        let (flight, leader) = {
            let mut flights = self.flights.lock().unwrap_or_else(|p| p.into_inner());
            match flights.get(&key) {
                Some(f) => (f.clone(), false),
                None => {
                    let f = Arc::new(Flight::default());
                    flights.insert(key.clone(), f.clone());
                    (f, true)
                }
            }
        };
        let shared = if leader {
            let result = self.refresh(reference);
            let shared: Shared = match &result {
                Ok(_) => Ok(()),
                Err(Error::ValidationRejected { failure }) => Err(Outcome::Refused(failure.clone())),
                Err(e) => Err(Outcome::Failed(e.to_string())),
            };
            *flight.result.lock().unwrap_or_else(|p| p.into_inner()) = Some(shared.clone());
            flight.done.notify_all();
            self.flights.lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
            return result;
        } else {
            let mut slot = flight.result.lock().unwrap_or_else(|p| p.into_inner());
            while slot.is_none() {
                slot = flight.done.wait(slot).unwrap_or_else(|p| p.into_inner());
            }
            slot.clone()
        };
        match shared {
            // The waiter's use of the token the leader obtained is
            // audited like any hand-out.
            Some(Ok(_)) => self
                .cell
                .with(|v| v.cached_access_token(reference, Duration::ZERO, purpose))?
                .ok_or_else(|| Error::invalid("access token", "the credential changed during the refresh; ask again")),
            Some(Err(Outcome::Refused(failure))) => Err(Error::ValidationRejected { failure }),
            Some(Err(Outcome::Failed(message))) => Err(Error::invalid("access token", message)),
            None => Err(Error::invalid("access token", "the refresh ended without a result")),
        }
    }

    /// One request to the token endpoint, its result stored in the vault.
    fn refresh(&self, reference: &str) -> Result<SecretString> {
        let inputs = self.cell.with(|v| v.refresh_inputs(reference))?;
        match request_token(&self.options, &inputs.config, &inputs.secrets) {
            Ok(grant) => {
                let token = SecretString::from(grant.access_token.expose_secret().to_owned());
                self.cell.with(|v| {
                    let now = v.now();
                    v.store_access_token(
                        reference,
                        inputs.version,
                        Obtained {
                            access_token: grant.access_token,
                            expires_at: grant.expires_in.map(|s| now + Duration::seconds(s)),
                            refresh_token: grant.refresh_token,
                            refresh_expires_at: grant.refresh_token_expires_in.map(|s| now + Duration::seconds(s)),
                        },
                    )
                })?;
                Ok(token)
            }
            Err(failure) => {
                // The token endpoint's answer may echo what it was sent.
                let failure = failure.redacted(&keywarden_core::redact::values(&inputs.secrets));
                self.cell.with(|v| v.record_refresh_failure(reference, &failure))?;
                Err(Error::ValidationRejected { failure })
            }
        }
    }
}
