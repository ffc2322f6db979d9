//! `kw credential connect NAME`: Connect (or Re-authorize) an OAuth 2.0
//! credential: the sign-in in the system browser, the redirect caught on
//! 127.0.0.1, the code exchanged with its PKCE verifier, and the refresh
//! token stored as a new version (`keywarden_connectors::authorize`,
//! `Vault::store_connected`). Anything but a grant stores nothing.

use std::time::Duration;

use keywarden_connectors::Options;
use keywarden_connectors::authorize::{Connect, ConnectConfig, ConnectError};
use keywarden_connectors::endpoints::{self, Provider};
use keywarden_core::{Connected, Failure, SecretString, timefmt};
use secrecy::ExposeSecret;

use crate::ctx::Ctx;
use crate::error::{CliError, CliResult, EXIT_OFFLINE};
use crate::{browser, output};

pub(crate) fn connect(ctx: &Ctx, name: &str, timeout_secs: u64, open_browser: bool) -> CliResult {
    let mut vault = ctx.open()?;
    let inputs = vault.connect_inputs(name)?;
    let options = Options {
        allow_loopback_http: keywarden_core::test_mode(),
        ..Options::default()
    };
    // A known provider's endpoints where the credential names none.
    let summary = vault.get_credential(name)?.summary;
    let integration = match &summary.integration {
        Some(i) => Some(vault.get_integration(i)?),
        None => None,
    };
    let provider = Provider {
        name: integration
            .as_ref()
            .map_or(summary.provider.as_str(), |i| i.provider.as_str()),
        environment: &summary.environment,
        tenant: integration.as_ref().and_then(|i| i.tenant_id.as_deref()),
    };
    let config = endpoints::completed(&options, &provider, &inputs.config).map_err(|e| failed(&e))?;
    let flow = Connect::start(&ConnectConfig::read(&config).map_err(|e| failed(&e))?).map_err(|e| failed(&e))?;
    open_sign_in(&flow, name, open_browser);
    eprintln!("Waiting for the sign-in (at most {timeout_secs} s; Ctrl-C ends it and stores nothing)…");
    let timeout = Duration::from_secs(timeout_secs);
    let grant = match flow.finish(&options, &config, &inputs.secrets, timeout) {
        Ok(grant) => grant,
        Err(e) => {
            vault.record_connect_failure(name, &e.to_string())?;
            return Err(failed(&e));
        }
    };
    let Some(refresh_token) = grant.refresh_token else {
        let why = "the provider granted no refresh token: ask for offline access (Entra: the offline_access scope) \
                   and connect again; nothing was stored";
        vault.record_connect_failure(name, why)?;
        return Err(CliError::new(8, why));
    };
    let now = vault.now();
    let connected = Connected {
        refresh_token,
        refresh_expires_at: grant.refresh_token_expires_in.map(|s| now + time::Duration::seconds(s)),
        access_token: SecretString::from(grant.access_token.expose_secret().to_owned()),
        access_expires_at: grant.expires_in.map(|s| now + time::Duration::seconds(s)),
        scopes: grant.granted.clone(),
        config: config
            .iter()
            .filter(|(k, v)| inputs.config.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    };
    let access_until = connected.access_expires_at;
    let c = vault.store_connected(name, inputs.version, connected)?;
    if !ctx.json {
        println!(
            "Connected '{}': scopes granted: {}; access token valid until {}; refresh token {}.",
            c.summary.name,
            if grant.granted.is_empty() {
                "none named".to_owned()
            } else {
                grant.granted.join(" ")
            },
            access_until.map_or_else(|| "the provider did not say".to_owned(), timefmt::to_db),
            c.summary.expires_at.map_or_else(
                || "without an expiry given".to_owned(),
                |t| format!("valid until {}", timefmt::to_db(t))
            ),
        );
    }
    output::credential(ctx, &c);
    Ok(())
}

/// Opens the browser at the start address, which redirects to the
/// provider once: the address that carries the sign-in's state and
/// challenge is on no command line. Printed when no browser opens.
fn open_sign_in(flow: &Connect, name: &str, open_browser: bool) {
    let url = flow.start_url();
    let opened = open_browser
        && match browser::open(&url) {
            Ok(()) => true,
            Err(e) => {
                eprintln!("kw: no browser could be opened ({e})");
                false
            }
        };
    if opened {
        eprintln!("Sign in at the provider in your browser to connect '{name}'.");
    } else {
        eprintln!("Open this address in your browser (once) to connect '{name}':\n  {url}");
    }
}

/// Exit codes: bad configuration 5, offline 16, a port or socket failing
/// 1, everything the provider or the browser ended 8.
fn failed(e: &ConnectError) -> CliError {
    let code = match e {
        ConnectError::Config(_) => 5,
        ConnectError::Exchange(Failure::Unreachable { .. }) => EXIT_OFFLINE,
        ConnectError::Listen { .. } | ConnectError::Io(_) => 1,
        ConnectError::TimedOut { .. }
        | ConnectError::Refused(_)
        | ConnectError::StartedTwice
        | ConnectError::NoCode
        | ConnectError::Exchange(_) => 8,
    };
    CliError::new(code, e.to_string())
}
