//! `kw run`: a command run with a credential's secrets in its environment,
//! from the vault or, with a token, from the broker.

use std::path::Path;

use keywarden_connectors::tokens::TokenBroker;

use crate::broker;
use crate::ctx::{Ctx, guard_keys};
use crate::error::{CliError, CliResult};

/// The child gets the secrets in its environment, inherits the terminal,
/// and its exit code becomes kw's. The vault is closed (its keys zeroized)
/// before the child starts.
pub(crate) fn run(
    ctx: &Ctx,
    integration: &str,
    credential: Option<&str>,
    token_file: Option<&Path>,
    command: &[String],
) -> CliResult {
    guard_keys();
    let program = command
        .first()
        .ok_or_else(|| CliError::new(2, "give the command to run after --"))?;
    let name = Path::new(program)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| program.clone());
    let token = match token_file {
        Some(path) => Some(broker::read_token_file(path)?),
        None => std::env::var("KEYWARDEN_TOKEN")
            .ok()
            .filter(|t| !t.trim().is_empty())
            .map(zeroize::Zeroizing::new),
    };
    let vars: Vec<(String, keywarden_core::SecretString)> = match token {
        // Unattended: the broker hands the credential to the account.
        Some(token) => broker::fetch(&ctx.dir, integration, token.trim())?,
        None => from_vault(ctx, integration, credential, &name)?,
    };
    let mut child = std::process::Command::new(program);
    child.args(&command[1..]);
    // The child must not inherit the token itself.
    child.env_remove("KEYWARDEN_TOKEN");
    for (var, value) in &vars {
        use keywarden_core::ExposeSecret;
        child.env(var, value.expose_secret());
    }
    let status = child.status().map_err(|e| {
        CliError::new(
            127,
            format!("could not start '{program}': {e}; check the command and your PATH"),
        )
    })?;
    drop(vars);
    std::process::exit(exit_code(status))
}

/// The variables from the vault. An OAuth 2.0 credential's job gets a
/// current access token (from the cache, or one refresh shared with every
/// program asking at once) and its expiry, not the secrets that make one.
fn from_vault(
    ctx: &Ctx,
    integration: &str,
    credential: Option<&str>,
    command: &str,
) -> CliResult<Vec<(String, keywarden_core::SecretString)>> {
    let mut vault = ctx.open()?;
    let env = vault.run_environment(integration, credential, command)?;
    let mut vars: Vec<(String, keywarden_core::SecretString)> =
        env.vars.into_iter().map(|(_, var, value)| (var, value)).collect();
    if let Some(var) = env.access_token_var {
        let options = keywarden_connectors::Options {
            allow_loopback_http: keywarden_core::test_mode(),
            ..keywarden_connectors::Options::default()
        };
        let broker = TokenBroker::new(std::sync::Mutex::new(vault), options);
        let token = broker.access_token_until(&env.credential, &format!("kw run: {command}"))?;
        if let Some(until) = token.expires_at {
            vars.push((
                format!("{var}_EXPIRES_AT"),
                keywarden_core::SecretString::from(keywarden_core::timefmt::to_db(until)),
            ));
        }
        vars.push((var, token.token));
    }
    Ok(vars)
}

/// The child's exit code; killed by a signal: 128 + its number, as shells do.
#[cfg(unix)]
fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

#[cfg(not(unix))]
fn exit_code(status: std::process::ExitStatus) -> i32 {
    status.code().unwrap_or(1)
}
