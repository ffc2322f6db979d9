//! `kw credential connect NAME`: Connect (or Re-authorize) an OAuth 2.0
//! credential: the sign-in in the system browser, the redirect caught on
//! 127.0.0.1, the code exchanged with its PKCE verifier, and the refresh
//! token stored as a new version (`keywarden_connectors::authorize`,
//! `Vault::store_connected`). Anything but a grant stores nothing.

use std::sync::Mutex;
use std::time::Duration;

use keywarden_connectors::authorize::{Connect, ConnectError, SignInPage};
use keywarden_connectors::sign_in::{SignInError, connect_credential};
use keywarden_connectors::{Options, browser};
use keywarden_core::{Failure, timefmt};

use crate::ctx::Ctx;
use crate::error::{CliError, CliResult, EXIT_OFFLINE};
use crate::output;

pub(crate) fn connect(ctx: &Ctx, name: &str, timeout_secs: u64, open_browser: bool) -> CliResult {
    let vault = Mutex::new(ctx.open()?);
    let options = Options {
        allow_loopback_http: keywarden_core::test_mode(),
        ..Options::default()
    };
    let timeout = Duration::from_secs(timeout_secs);
    let done = connect_credential(&vault, name, &options, timeout, Default::default(), |flow| {
        let page = open_sign_in(flow, name, open_browser);
        eprintln!("Waiting for the sign-in (at most {timeout_secs} s; Ctrl-C ends it and stores nothing)…");
        page
    })
    .map_err(failed)?;
    if !ctx.json {
        let c = &done.credential;
        println!(
            "Connected '{}': scopes granted: {}; access token valid until {}; refresh token {}.",
            c.summary.name,
            if done.scopes.is_empty() {
                "none named".to_owned()
            } else {
                done.scopes.join(" ")
            },
            done.access_expires_at
                .map_or_else(|| "the provider did not say".to_owned(), timefmt::to_db),
            c.summary.expires_at.map_or_else(
                || "without an expiry given".to_owned(),
                |t| format!("valid until {}", timefmt::to_db(t))
            ),
        );
    }
    output::credential(ctx, &done.credential);
    Ok(())
}

/// Opens the browser on the sign-in page, an owner-only file that goes on
/// to the start address, which redirects to the provider once: neither
/// address is on a command line other local users can read. The start
/// address is printed only when no browser opens.
fn open_sign_in(flow: &Connect, name: &str, open_browser: bool) -> Option<SignInPage> {
    let page = if open_browser {
        match flow.write_sign_in_page() {
            Ok(page) => match browser::open(page.path().as_os_str()) {
                Ok(()) => Some(page),
                Err(e) => {
                    eprintln!("kw: no browser could be opened ({e})");
                    None
                }
            },
            Err(e) => {
                eprintln!("kw: the sign-in page could not be written ({e})");
                None
            }
        }
    } else {
        None
    };
    if page.is_some() {
        eprintln!(
            "Sign in at the provider in your browser to connect '{name}'. If no sign-in page shows, connect again \
             with --no-browser and open the address it prints."
        );
    } else {
        eprintln!(
            "Open this address in your browser (once) to connect '{name}':\n  {}",
            flow.start_url()
        );
    }
    page
}

/// Exit codes: bad configuration 5, offline 16, a port or socket failing
/// 1, everything the provider or the browser ended 8; the vault's own.
fn failed(e: SignInError) -> CliError {
    let connect = match e {
        SignInError::Vault(v) => return CliError::from(v),
        e @ SignInError::NoRefreshToken => return CliError::new(8, e.to_string()),
        SignInError::Connect(c) => c,
    };
    let code = match &connect {
        ConnectError::Config(_) => 5,
        ConnectError::Exchange(Failure::Unreachable { .. }) => EXIT_OFFLINE,
        ConnectError::Listen { .. } | ConnectError::Io(_) => 1,
        ConnectError::TimedOut { .. }
        | ConnectError::Refused(_)
        | ConnectError::StartedTwice
        | ConnectError::Cancelled
        | ConnectError::NoCode
        | ConnectError::Exchange(_) => 8,
    };
    CliError::new(code, connect.to_string())
}
