//! `kw serve`: the partner-key verifier and the broker for this machine's
//! jobs (keywarden-verifier), over TCP and a same-user socket.

use crate::args::ServeArgs;
use crate::broker;
use crate::ctx::{Ctx, guard_keys};
use crate::error::{CliError, CliResult};

pub(crate) fn run(ctx: &Ctx, args: ServeArgs) -> CliResult {
    let ServeArgs {
        listen,
        tls_cert,
        tls_key,
        accept_env,
        socket,
        no_socket,
    } = args;
    let environments = accept_env
        .iter()
        .map(|e| keywarden_core::partner::KeyEnv::parse(e))
        .collect::<Result<Vec<_>, _>>()?;
    let tls = tls_cert
        .zip(tls_key)
        .map(|(cert, key)| keywarden_verifier::TlsFiles { cert, key });
    let scheme = if tls.is_some() { "https" } else { "http" };
    guard_keys();
    let vault = ctx.open()?;
    // Checked here too (the verifier refuses anyway) for exit code 11.
    vault.policy().check_verifier()?;
    // The same-user socket for this machine's jobs: asked for by
    // path, it must work; by default, one that cannot be had (a
    // second kw serve on this vault) leaves TCP alone, said so.
    let local = match (socket, no_socket) {
        (_, true) => None,
        (Some(path), false) => Some(keywarden_verifier::bind_local(&path).map_err(|e| CliError::new(1, e.0))?),
        (None, false) => match keywarden_verifier::bind_local(&broker::default_socket(&ctx.dir)) {
            Ok(local) => Some(local),
            Err(e) => {
                eprintln!("kw serve: warning: no socket for this machine's jobs ({e}); serving TCP only");
                None
            }
        },
    };
    let socket_path = local.as_ref().map(|l| l.path.display().to_string());
    // The default address may be taken (by anyone: it is loopback);
    // then the socket serves this user's jobs alone.
    let tcp_optional = listen.is_none();
    let listen = listen.unwrap_or_else(|| "127.0.0.1:8787".into());
    let ready = |addr: Option<std::net::SocketAddr>, keys: usize| {
        // One line, the first, says where: scripts and tests read it
        // (and may close the pipe after it).
        match (addr, &socket_path) {
            (Some(addr), Some(path)) => {
                outln!("listening on {addr} and on {path} for this user's jobs ({keys} keys, {scheme})")
            }
            (Some(addr), None) => outln!("listening on {addr} ({keys} keys, {scheme})"),
            (None, Some(path)) => outln!("listening on {path} for this user's jobs only ({keys} keys)"),
            (None, None) => {}
        }
    };
    keywarden_verifier::run(vault, &listen, tcp_optional, tls.as_ref(), &environments, local, ready)
        .map_err(|e| CliError::new(1, e.to_string()))
}
