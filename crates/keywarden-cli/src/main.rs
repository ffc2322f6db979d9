//! `kw`: the Keywarden vault for IT and support, scriptable. Every command
//! is one call into `keywarden_core::Vault`. This file parses the command
//! line and hands each noun to its module in `commands/`; `error.rs` maps
//! errors to the exit codes documented in the README, `output.rs` prints.

/// `print!` and `println!` for everything kw writes to stdout, through
/// [`output::write_stdout`], which ends kw quietly when the reader has
/// gone (`kw … | grep -q`, `| head -1`) instead of panicking as std's do.
macro_rules! out {
    ($($arg:tt)*) => { $crate::output::write_stdout(format_args!($($arg)*)) };
}
macro_rules! outln {
    () => { $crate::output::write_stdout(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::output::write_stdout(format_args!("{}\n", format_args!($($arg)*))) };
}

mod args;
mod broker;
mod commands;
mod ctx;
mod error;
mod input;
mod output;
mod parse;
mod team_args;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command, PolicyCmd};
use commands::*;
use ctx::{Ctx, default_vault_dir};
use error::CliResult;

/// Every freed heap block is zeroed first: secrets and keys that passed
/// through any crate's buffers do not outlive their use (SECURITY.md,
/// "Memory"; proven by tests/memory.rs).
#[global_allocator]
static ALLOC: zeroize_alloc::ZeroizingAllocator<std::alloc::System> =
    zeroize_alloc::ZeroizingAllocator(std::alloc::System);

fn main() -> ExitCode {
    // Before clap sees the arguments: its errors quote them back.
    if let Some(n) = std::env::args().skip(1).position(|a| input::looks_like_secret_arg(&a)) {
        eprintln!(
            "kw: argument {} looks like a secret; secrets are never taken from the command line (they stay in shell \
             history and show in `ps`). Enter it at kw's hidden prompt, or pipe it on stdin: \
             printf %s \"$SECRET\" | kw credential add NAME --type api-key",
            n + 1
        );
        return ExitCode::from(5);
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    // A one-shot command exits right after it used the KEK: it skips the
    // keychain's DH session (keychain.rs). `kw run` lives on beside its
    // child and `kw serve` for hours, so they keep it.
    if !matches!(cli.command, Command::Run { .. } | Command::Serve { .. }) {
        keywarden_core::keychain::use_plain_transport();
    }
    let json = cli.json;
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if json {
                eprintln!(
                    "{}",
                    serde_json::json!({ "error": { "code": e.code, "message": e.message } })
                );
            } else {
                eprintln!("kw: {}", e.message);
            }
            ExitCode::from(e.code)
        }
    }
}

/// Hands each command to its noun's module.
fn run(cli: Cli) -> CliResult {
    let ctx = Ctx {
        dir: match cli.vault {
            Some(v) => v,
            None => default_vault_dir()?,
        },
        json: cli.json,
        profile: cli.profile,
        passphrase_file: cli.passphrase_file,
    };
    match cli.command {
        Command::Init { passphrase } => vault::init(&ctx, passphrase),
        Command::Recover { accept_older: true, .. } => vault::accept_older(&ctx),
        Command::Recover { passphrase, .. } => vault::recover(&ctx, passphrase),
        Command::Check => vault::check(&ctx),
        Command::RotateDataKey => vault::rotate_data_key(&ctx),
        Command::Backup { output, folder, keep } => vault::backup(&ctx, output.as_deref(), folder.as_deref(), keep),
        Command::Restore {
            file,
            passphrase,
            replace,
        } => vault::restore(&ctx, &file, passphrase, replace),
        Command::Integration(cmd) => integration::run(&ctx, cmd),
        Command::Credential(cmd) => credential::run(&ctx, cmd),
        Command::Audit(cmd) => audit::run(&ctx, cmd),
        Command::Export { output } => config::export(&ctx, output.as_deref()),
        Command::Import { file } => config::import(&ctx, file),
        Command::SupportBundle { output } => support::bundle(&ctx, output.as_deref()),
        Command::Expiry(cmd) => expiry::run(&ctx, cmd),
        Command::Health(cmd) => health::run(&ctx, cmd),
        Command::Alert(cmd) => alert::run(&ctx, cmd),
        Command::Run {
            integration,
            credential,
            token_file,
            command,
        } => run::run(
            &ctx,
            &integration,
            credential.as_deref(),
            token_file.as_deref(),
            &command,
        ),
        Command::ServiceAccount(cmd) => keys::service_account(&ctx, cmd),
        Command::Keys(cmd) => keys::run(&ctx, cmd),
        Command::Serve(args) => serve::run(&ctx, args),
        Command::Policy(PolicyCmd::Show) => policy::show(&ctx),
        Command::Team(cmd) => team::run(&ctx, cmd),
        Command::Overview => overview::run(&ctx),
    }
}
