//! Access tokens for workflows: the cached one while it is valid beyond a
//! margin (5 minutes by default), otherwise one refresh at the token
//! endpoint — one per credential at a time, however many callers ask at
//! once (single flight: the others wait for its result), in this program
//! and across every program sharing the vault (the vault's refresh lease:
//! twenty `kw run` started together cause one refresh).
//!
//! The vault is held only for its own steps, never during the request, so
//! the rest of the app is not blocked by a slow provider.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};

use keywarden_core::tokens::{AccessToken, Obtained};
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
    /// Who holds a refresh lease: this program, this broker.
    holder: String,
}

/// How often a program waiting for another's refresh looks again.
const LEASE_POLL: std::time::Duration = std::time::Duration::from_millis(25);

impl<C: VaultCell> TokenBroker<C> {
    pub fn new(cell: C, options: Options) -> TokenBroker<C> {
        TokenBroker {
            cell,
            options,
            margin: DEFAULT_MARGIN,
            flights: Mutex::new(HashMap::new()),
            holder: format!("pid {} broker {:016x}", std::process::id(), rand::random::<u64>()),
        }
    }

    pub fn with_margin(mut self, margin: Duration) -> TokenBroker<C> {
        self.margin = margin;
        self
    }

    /// An access token of the credential for `purpose` (audited).
    pub fn access_token(&self, reference: &str, purpose: &str) -> Result<SecretString> {
        self.access_token_until(reference, purpose).map(|t| t.token)
    }

    /// An access token of the credential for `purpose` (audited), with
    /// until when it is valid.
    pub fn access_token_until(&self, reference: &str, purpose: &str) -> Result<AccessToken> {
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
            let result = self.refresh_once_across_programs(reference, purpose, false);
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

    /// Refreshes now, whatever is cached (the app's "Refresh"): one request
    /// to the token endpoint under the vault's lease, its token cached in
    /// the vault; when another program holds the lease, its refresh is
    /// waited for and counts. Answers until when the new token is valid;
    /// the token stays in the vault.
    pub fn refresh_now(&self, reference: &str) -> Result<Option<time::OffsetDateTime>> {
        self.refresh_once_across_programs(reference, "refresh now", true)
            .map(|t| t.expires_at)
    }

    /// The refresh, once across every program sharing the vault: the
    /// holder of the vault's lease refreshes, unless another program's
    /// refresh cached a token meanwhile (or, `forced`, unless it waited for
    /// another program's refresh); the others wait for that token.
    fn refresh_once_across_programs(&self, reference: &str, purpose: &str, forced: bool) -> Result<AccessToken> {
        let lease = Duration::try_from(self.options.timeout).unwrap_or(Duration::seconds(15)) + Duration::seconds(10);
        let give_up = std::time::Instant::now()
            + std::time::Duration::try_from(lease).unwrap_or_default()
            + std::time::Duration::from_secs(5);
        let mut waited = false;
        loop {
            if self.cell.with(|v| v.claim_refresh(reference, &self.holder, lease))? {
                let result = if forced && !waited {
                    self.refresh(reference)
                } else {
                    self.refresh_holding_lease(reference, purpose, waited)
                };
                // A lease not given back ends by itself.
                let _ = self.cell.with(|v| v.release_refresh(reference, &self.holder));
                return result;
            }
            waited = true;
            if std::time::Instant::now() > give_up {
                return Err(Error::Busy { seconds: 5 });
            }
            std::thread::sleep(LEASE_POLL);
            if forced {
                // The token cached before the other program's refresh is
                // not the one asked for: wait for the lease instead.
                continue;
            }
            if let Some(token) = self
                .cell
                .with(|v| v.cached_access_token(reference, self.margin, purpose))?
            {
                return Ok(token);
            }
        }
    }

    fn refresh_holding_lease(&self, reference: &str, purpose: &str, waited: bool) -> Result<AccessToken> {
        if let Some(token) = self
            .cell
            .with(|v| v.cached_access_token(reference, self.margin, purpose))?
        {
            return Ok(token);
        }
        if waited {
            // The program before us was refused: its verdict stands, and
            // asking again with the same grant would only be refused again.
            let refused = self.cell.with(|v| {
                let c = v.get_credential(reference)?;
                let last = v.recent_checks(reference, 1)?;
                Ok((c.summary.status, last))
            })?;
            if let (keywarden_core::Status::Error, [last, ..]) = (refused.0, refused.1.as_slice())
                && let keywarden_core::CheckOutcome::Failed { failure } = &last.outcome
            {
                return Err(Error::ValidationRejected {
                    failure: failure.clone(),
                });
            }
        }
        self.refresh(reference)
    }

    /// One request to the token endpoint, its result stored in the vault.
    fn refresh(&self, reference: &str) -> Result<AccessToken> {
        let inputs = self.cell.with(|v| v.refresh_inputs(reference))?;
        match request_token(&self.options, &inputs.config, &inputs.secrets) {
            Ok(grant) => {
                let token = SecretString::from(grant.access_token.expose_secret().to_owned());
                let expires_at = self.cell.with(|v| {
                    let now = v.now();
                    let expires_at = grant.expires_in.map(|s| now + Duration::seconds(s));
                    v.store_access_token(
                        reference,
                        inputs.version,
                        Obtained {
                            access_token: grant.access_token,
                            expires_at,
                            refresh_token: grant.refresh_token,
                            refresh_expires_at: grant.refresh_token_expires_in.map(|s| now + Duration::seconds(s)),
                        },
                    )?;
                    Ok(expires_at)
                })?;
                Ok(AccessToken { token, expires_at })
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
