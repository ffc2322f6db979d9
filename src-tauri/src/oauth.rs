//! OAuth 2.0 in the app: the access token's state, "Refresh", and
//! "Connect…" / "Re-authorize…" (the same flow as `kw credential connect`,
//! `keywarden_connectors::sign_in`).
//!
//! A sign-in takes as long as the person takes in the browser (up to five
//! minutes), so Connect runs on a thread of its own: the command starts it
//! and answers at once, the window asks `connect_status` until it ends, and
//! `cancel_connect` (or locking the vault) ends the wait with nothing
//! stored. The vault is held only for the flow's own steps. The window
//! never sees a token, a code or the client secret: only scopes and dates.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use keywarden_connectors::authorize::{DEFAULT_TIMEOUT, SignInPage};
use keywarden_connectors::sign_in::{SignInError, connect_credential as run_connect};
use keywarden_connectors::tokens::{TokenBroker, VaultCell};
use keywarden_connectors::{Options, browser};
use keywarden_core::tokens::TokenState;
use keywarden_core::{CredentialKind, Error, Vault};
use serde::Serialize;
use time::OffsetDateTime;
use ts_rs::TS;

use crate::error::{ErrorCode, IpcError, IpcResult};
use crate::ipc_schema::args;
use crate::state::AppState;
use crate::timer::Timer;

/// Where a Connect started from the window stands.
#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ConnectStatus {
    /// None started since the app opened.
    Idle,
    /// Waiting for the sign-in in the browser. `address`: the one-time
    /// start address, for a browser that did not open the page (a sandboxed
    /// browser may not read it) to be given by hand; `opened`: whether a
    /// browser was started at all.
    Waiting {
        credential: String,
        address: Option<String>,
        opened: bool,
    },
    /// The refresh token is stored as a new version.
    Connected {
        credential: String,
        scopes: Vec<String>,
        #[serde(with = "time::serde::rfc3339::option")]
        #[ts(type = "string | null")]
        access_expires_at: Option<OffsetDateTime>,
    },
    /// Ended with nothing stored, and why.
    Failed { credential: String, message: String },
}

/// The app's one Connect at a time.
pub struct Connects {
    status: Mutex<ConnectStatus>,
    cancel: Mutex<Option<Arc<AtomicBool>>>,
}

impl Default for Connects {
    fn default() -> Connects {
        Connects {
            status: Mutex::new(ConnectStatus::Idle),
            cancel: Mutex::new(None),
        }
    }
}

impl Connects {
    /// Ends a Connect waiting for the browser (Cancel, Lock).
    pub fn cancel(&self) {
        if let Some(flag) = self.cancel.lock().unwrap_or_else(|p| p.into_inner()).take() {
            flag.store(true, Ordering::SeqCst);
        }
    }

    fn set(&self, status: ConnectStatus) {
        *self.status.lock().unwrap_or_else(|p| p.into_inner()) = status;
    }

    fn status(&self) -> ConnectStatus {
        self.status.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The app's vault slot as the connectors' flows hold it: only for their
/// own steps, and a lock meanwhile is an error, not a wait.
pub struct SharedVault {
    pub vault: Arc<Mutex<Option<Vault>>>,
    pub timer: Arc<Timer>,
}

impl VaultCell for SharedVault {
    fn with<T>(&self, f: impl FnOnce(&mut Vault) -> keywarden_core::Result<T>) -> keywarden_core::Result<T> {
        let mut slot = self
            .vault
            .lock()
            .map_err(|_| Error::invalid("vault", "the app hit an internal error; restart it"))?;
        let vault = slot.as_mut().ok_or_else(|| {
            Error::invalid(
                "vault",
                "the vault was locked while this ran; unlock it and try again (nothing was stored)",
            )
        })?;
        let out = f(vault);
        // A stored grant may re-date the credential: the scheduler looks.
        self.timer.poke();
        out
    }
}

fn options(state: &AppState) -> Options {
    Options {
        allow_loopback_http: state.test_mode,
        ..Options::default()
    }
}

/// The access token's state (cached until, obtained when); never the token.
pub fn access_token_state(
    state: &AppState,
    args::access_token_state { id }: args::access_token_state,
) -> IpcResult<TokenState> {
    state.with_vault(|v| v.access_token_state(&id))
}

/// "Refresh": asks the token endpoint now, under the vault's refresh lease
/// (one refresh across every program). A refused grant puts the credential
/// in "reconnection required"; the answer says why.
pub fn refresh_access_token(
    state: &AppState,
    args::refresh_access_token { id }: args::refresh_access_token,
) -> IpcResult<TokenState> {
    state.touch();
    let broker = TokenBroker::new(state.shared_vault(), options(state));
    crate::commands::off_runtime(|| broker.refresh_now(&id)).map_err(IpcError::from)?;
    state.with_vault(|v| v.access_token_state(&id))
}

/// "Connect…" / "Re-authorize…": starts the sign-in in the system browser
/// and answers at once (`Waiting`); `connect_status` says how it ended.
pub fn connect_credential(
    state: &AppState,
    args::connect_credential { id }: args::connect_credential,
) -> IpcResult<ConnectStatus> {
    let name = state.with_vault(|v| {
        let c = v.get_credential(&id)?;
        if c.summary.kind != CredentialKind::OAuth2 {
            return Err(Error::invalid(
                "credential",
                format!(
                    "'{}' is not an OAuth 2.0 credential; only those connect",
                    c.summary.name
                ),
            ));
        }
        Ok(c.summary.name)
    })?;
    let connects = Arc::clone(&state.connects);
    let cancel = Arc::new(AtomicBool::new(false));
    {
        let mut status = connects.status.lock().unwrap_or_else(|p| p.into_inner());
        if let ConnectStatus::Waiting { credential, .. } = &*status {
            return Err(IpcError::new(
                ErrorCode::Conflict,
                format!("a sign-in for '{credential}' is waiting in the browser: finish it there, or cancel it"),
            ));
        }
        *status = ConnectStatus::Waiting {
            credential: name.clone(),
            address: None,
            opened: false,
        };
        *connects.cancel.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::clone(&cancel));
    }
    let started = connects.status();
    let cell = state.shared_vault();
    let options = options(state);
    std::thread::spawn(move || {
        // Whatever happens in the flow, the window learns that it ended.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_connect(&cell, &id, &options, DEFAULT_TIMEOUT, cancel, |flow| {
                let page = open_sign_in(flow);
                connects.set(ConnectStatus::Waiting {
                    credential: name.clone(),
                    address: Some(flow.start_url()),
                    opened: page.is_some(),
                });
                page
            })
        }));
        connects.cancel.lock().unwrap_or_else(|p| p.into_inner()).take();
        connects.set(match result {
            Ok(Ok(done)) => ConnectStatus::Connected {
                credential: done.credential.summary.name,
                scopes: done.scopes,
                access_expires_at: done.access_expires_at,
            },
            Ok(Err(e)) => ConnectStatus::Failed {
                credential: name,
                message: said(e),
            },
            Err(_) => ConnectStatus::Failed {
                credential: name,
                message: "the sign-in failed inside the app; nothing was stored. Restart the app and connect again"
                    .into(),
            },
        });
    });
    Ok(started)
}

/// How the Connect started from the window stands.
pub fn connect_status(state: &AppState) -> IpcResult<ConnectStatus> {
    if !state.is_unlocked() {
        return Err(IpcError::locked());
    }
    Ok(state.connects.status())
}

/// Ends the wait for the browser; nothing is stored.
pub fn cancel_connect(state: &AppState) -> IpcResult<()> {
    state.connects.cancel();
    Ok(())
}

/// The sign-in page in the system browser, or none (the window then shows
/// the start address to open by hand).
fn open_sign_in(flow: &keywarden_connectors::authorize::Connect) -> Option<SignInPage> {
    let page = match flow.write_sign_in_page() {
        Ok(page) => page,
        Err(e) => {
            eprintln!("keywarden: the sign-in page could not be written ({e})");
            return None;
        }
    };
    match browser::open(page.path().as_os_str()) {
        Ok(()) => Some(page),
        Err(e) => {
            eprintln!("keywarden: no browser could be opened ({e})");
            None
        }
    }
}

/// The failure as the window shows it: the vault's errors worded as the
/// app words them.
fn said(e: SignInError) -> String {
    match e {
        SignInError::Vault(v) => IpcError::from(v).message,
        other => other.to_string(),
    }
}
