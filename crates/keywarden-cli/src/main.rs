//! `kw`: the Keywarden vault for IT and support, scriptable. Every command
//! is one call into `keywarden_core::Vault`; this file parses, prints, and
//! maps errors to the exit codes documented in the README.

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
mod input;
mod keys;
mod output;
mod overview;
mod team;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use keywarden_connectors::{Connectors, Options};
use keywarden_core::migrate::{self, ImportDefaults, SourceFormat};
use keywarden_core::validate::secret_field_names;
use keywarden_core::{
    Actor, AuditFilter, CheckOutcome, CredentialFilter, CredentialKind, CredentialPatch, Error, ErrorKind, Hint,
    IntegrationPatch, KeySource, NewCredential, NewIntegration, OfflineValidator, Validator, Vault, audit_export,
    timefmt,
};

use args::*;

/// An error on its way to the terminal, with its exit code.
#[derive(Debug)]
pub struct CliError {
    code: u8,
    message: String,
}

impl CliError {
    fn new(code: u8, message: impl Into<String>) -> Self {
        CliError {
            code,
            message: message.into(),
        }
    }

    pub fn io(what: &str, e: std::io::Error) -> Self {
        CliError::new(1, format!("{what}: {e}"))
    }
}

/// Exit codes (README "Exit codes"), one per kind of error. Exhaustive: a
/// new kind does not compile until it has its code here.
pub(crate) fn exit_code_of(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Internal | ErrorKind::Misconfigured => 1,
        ErrorKind::NotFound | ErrorKind::NoVault => 3,
        ErrorKind::Duplicate | ErrorKind::InUse | ErrorKind::VaultExists => 4,
        ErrorKind::InvalidInput => 5,
        ErrorKind::KeychainUnavailable
        | ErrorKind::KeychainLocked
        | ErrorKind::KeychainItemMissing
        | ErrorKind::KeychainFailed => 6,
        ErrorKind::WrongKey => 7,
        ErrorKind::Refused => 8,
        ErrorKind::AuditBroken => 9,
        ErrorKind::Damaged => 10,
        ErrorKind::ForbiddenByPolicy => 11,
        ErrorKind::Stale => 12,
        ErrorKind::DiskFull => 13,
        ErrorKind::Busy => 14,
        ErrorKind::NotAllowed | ErrorKind::SignedOut => EXIT_NOT_ALLOWED,
        ErrorKind::Offline => EXIT_OFFLINE,
    }
}

/// Exit codes of team commands beyond the shared ones (README).
pub(crate) const EXIT_NOT_ALLOWED: u8 = 15;
pub(crate) const EXIT_OFFLINE: u8 = 16;

/// The next step as a `kw` command.
pub(crate) fn hint_words(hint: Hint) -> &'static str {
    match hint {
        Hint::RecoverWithCode => "run `kw recover` with the recovery code",
        Hint::CreateVault => "create one with `kw init`",
        Hint::OpenOrChooseAnother => "open it, or choose another --vault path",
        Hint::AcceptOlder => {
            "if you put back or kept this copy on purpose, accept it with `kw recover --accept-older` (the step is \
             audited; it writes a new rollback anchor)"
        }
        Hint::EnterSecret => "enter it with `kw credential rotate`",
        Hint::TeamSignIn => "sign in with `kw team login`",
        Hint::VerifyTeamAudit => "check the chain with `kw team audit --verify`",
    }
}

impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        CliError::new(exit_code_of(e.kind()), e.say(hint_words))
    }
}

type CliResult<T = ()> = Result<T, CliError>;

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

fn default_vault_dir() -> CliResult<PathBuf> {
    dirs::data_dir()
        .map(|d| d.join("keywarden").join("vault"))
        .ok_or_else(|| CliError::new(1, "no user data folder on this machine; pass --vault PATH"))
}

struct Ctx {
    dir: PathBuf,
    json: bool,
    profile: Option<String>,
    passphrase_file: Option<PathBuf>,
}

impl Ctx {
    fn open(&self) -> CliResult<Vault> {
        let header = Vault::header(&self.dir)?;
        let source = if header.is_passphrase() {
            KeySource::Passphrase(input::read_passphrase(self.passphrase_file.as_deref(), false)?)
        } else {
            KeySource::Keychain
        };
        let mut vault = Vault::open(&self.dir, &source, Actor::current(self.profile.clone()))?;
        // Tests move time (KEYWARDEN_TEST_NOW, RFC 3339): in test mode only
        // (debug builds), never for a real vault.
        if keywarden_core::test_mode() {
            if let Some(t) = std::env::var("KEYWARDEN_TEST_NOW")
                .ok()
                .and_then(|t| time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339).ok())
            {
                vault.set_clock(std::sync::Arc::new(keywarden_core::ManualClock::at(t)));
            }
        }
        apply_settings(&mut vault);
        Ok(vault)
    }
}

/// The vault's settings (`settings.json` beside it, written by the desktop
/// app) that change what `kw` reports: the expiry warning, the number of
/// refusals after which a credential needs reconnection, the rotation
/// policy and the notice thresholds. A missing file changes nothing; a
/// damaged one neither, and says so on stderr (never silently: it may hold
/// a shorter expiry warning than the default).
fn apply_settings(vault: &mut Vault) {
    use keywarden_core::settings::Settings;
    if !Settings::path(vault.dir()).exists() {
        return;
    }
    let s = match Settings::load(vault.dir()) {
        Ok(s) => s,
        Err(e) => {
            let why = match e {
                keywarden_core::Error::VaultCorrupt { path, detail } => {
                    format!("{} cannot be used: {detail}", path.display())
                }
                other => other.to_string(),
            };
            eprintln!("kw: warning: {why}; the default settings apply. Save the settings in the app, or fix the file");
            return;
        }
    };
    let _ = vault.set_expiring_within_days(i64::from(s.expiring_within_days));
    let _ = vault.set_auth_failure_threshold(s.auth_failure_threshold);
    // A maximum the organisation's policy forbids (set before the policy
    // came) leaves the policy's maximum; the grace period stays.
    if vault
        .set_rotation_policy(s.rotation_max_age_days, s.rotation_grace_days)
        .is_err()
    {
        let (in_force, _) = vault.rotation_policy();
        let _ = vault.set_rotation_policy(in_force, s.rotation_grace_days);
    }
    let _ = vault.set_notice_thresholds(&s.notice_thresholds);
}

/// The live connectors, or only the offline checks. Plain http to
/// loopback (the provider fakes) is allowed only in test mode (debug builds).
fn validator(offline: bool) -> Box<dyn Validator> {
    if offline {
        return Box::new(OfflineValidator);
    }
    Box::new(Connectors::new(Options {
        allow_loopback_http: keywarden_core::test_mode(),
        ..Options::default()
    }))
}

fn refuse_secret_flag(refused: &RefusedSecretFlags) -> CliResult {
    if let Some(flag) = refused.used() {
        return Err(CliError::new(
            5,
            format!(
                "{flag}: secrets are never taken from the command line (they would stay in shell history and show in `ps`). \
                 Let kw prompt for it, or pipe it on stdin: printf %s \"$SECRET\" | kw credential ..."
            ),
        ));
    }
    Ok(())
}

const SECRET_FIELD_WORDS: [&str; 8] = [
    "password",
    "secret",
    "token",
    "api_key",
    "apikey",
    "private_key",
    "passphrase",
    "key",
];

fn parse_fields(fields: &[String]) -> CliResult<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for f in fields {
        let (k, v) = f
            .split_once('=')
            .ok_or_else(|| CliError::new(5, "--field takes NAME=VALUE; one value has no '='"))?;
        let lower = k.to_ascii_lowercase();
        if SECRET_FIELD_WORDS.iter().any(|w| {
            lower == *w || lower.ends_with(&format!("_{w}")) || lower.contains("secret") || lower.contains("password")
        }) {
            return Err(CliError::new(
                5,
                format!(
                    "--field {k}=…: '{k}' names a secret; declare it with --secret-field {k} and enter its value at the prompt or on stdin"
                ),
            ));
        }
        out.insert(k.to_owned(), v.to_owned());
    }
    Ok(out)
}

/// The secret fields a new credential of `kind` asks for: a custom
/// type's own (`--secret-field`, at least one), else the type's.
fn secret_names(
    kind: CredentialKind,
    config: &BTreeMap<String, String>,
    custom: Vec<String>,
) -> CliResult<Vec<String>> {
    if kind != CredentialKind::Custom {
        return Ok(secret_field_names(kind, config)
            .into_iter()
            .map(str::to_owned)
            .collect());
    }
    if custom.is_empty() {
        return Err(CliError::new(
            5,
            "a custom credential needs at least one --secret-field NAME",
        ));
    }
    Ok(custom)
}

/// `kw credential import`: the whole file is read (into memory wiped
/// afterwards), parsed and checked before the vault is written, all or
/// nothing.
fn import_credentials(
    ctx: &Ctx,
    from: ImportFormatArg,
    file: &Path,
    defaults: ImportDefaults,
    dry_run: bool,
) -> CliResult {
    let format = match from {
        ImportFormatArg::Csv => SourceFormat::Csv,
        ImportFormatArg::KeepassXml => SourceFormat::KeepassXml,
    };
    let from_stdin = file.as_os_str() == "-";
    let label = if from_stdin {
        "stdin".to_owned()
    } else {
        file.display().to_string()
    };
    let bytes = read_import(file, from_stdin)?;
    let plan = migrate::parse(format, &bytes, &defaults).map_err(|e| CliError::new(5, format!("{label}: {e}")))?;
    drop(bytes);
    let mut vault = ctx.open()?;
    let count = plan.credentials.len();
    let (skipped, renamed, without_attachments) = (plan.skipped, plan.renamed, plan.without_attachments);
    if dry_run {
        vault.check_import(&plan.credentials)?;
    } else {
        vault.import_credentials(plan.credentials, format.as_str())?;
    }
    output::migration(
        ctx,
        &output::MigrationReport {
            format: format.as_str(),
            source: &label,
            dry_run,
            imported: if dry_run { 0 } else { count },
            would_import: if dry_run { count } else { 0 },
            skipped: &skipped,
            renamed: &renamed,
            without_attachments: &without_attachments,
        },
    );
    // A regular file (not a pipe or /dev/fd) holds the plaintext on disk.
    if !dry_run && !from_stdin && std::fs::metadata(file).is_ok_and(|m| m.is_file()) {
        eprintln!(
            "kw: {label} still holds these secrets in plain text. Destroy it now (on Linux `shred -u` on the file; an SSD or a copy-on-write disk may keep old blocks, so rely on full-disk encryption there) and every copy of it: downloads, the trash, backups, synced folders. Next time, pipe the export in (`… | kw credential import --from {} -`) so it never touches the disk.",
            format.as_str()
        );
    }
    Ok(())
}

fn read_import(file: &Path, from_stdin: bool) -> CliResult<migrate::ImportBytes> {
    use std::io::Read;
    let limit = migrate::MAX_IMPORT_BYTES as u64 + 1;
    let mut bytes = zeroize::Zeroizing::new(Vec::new());
    let read = if from_stdin {
        std::io::stdin().lock().take(limit).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(file).and_then(|f| f.take(limit).read_to_end(&mut bytes))
    };
    read.map_err(|e| {
        CliError::io(
            &format!(
                "reading {}",
                if from_stdin {
                    "stdin".into()
                } else {
                    file.display().to_string()
                }
            ),
            e,
        )
    })?;
    Ok(bytes)
}

fn kind_of(k: KindArg) -> CredentialKind {
    match k {
        KindArg::ApiKey => CredentialKind::ApiKey,
        KindArg::Oauth2 => CredentialKind::OAuth2,
        KindArg::Basic => CredentialKind::Basic,
        KindArg::Custom => CredentialKind::Custom,
    }
}

fn parse_date(field: &str, s: Option<&str>) -> CliResult<Option<time::OffsetDateTime>> {
    Ok(s.map(|s| timefmt::parse_user(field, s)).transpose()?)
}

fn write_out(path: Option<&Path>, text: &str) -> CliResult {
    match path {
        None => {
            outln!("{text}");
            Ok(())
        }
        Some(p) => write_private_file(p, text),
    }
}

/// Writes a new file readable by its owner only, whole or not at all, never
/// over an existing file or through a link (`keywarden_core::files`).
fn write_private_file(path: &Path, text: &str) -> CliResult {
    Ok(keywarden_core::files::write_new_private(path, text.as_bytes())?)
}

fn audit_filter(a: AuditFilterArgs) -> CliResult<AuditFilter> {
    Ok(AuditFilter {
        object: a.credential,
        action: a.action,
        profile: a.admin,
        since: parse_date("since", a.since.as_deref())?,
        until: parse_date("until", a.until.as_deref())?,
        limit: a.limit,
    })
}

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
        Command::Init { passphrase } => {
            let source = if passphrase {
                KeySource::Passphrase(input::read_passphrase(ctx.passphrase_file.as_deref(), true)?)
            } else {
                KeySource::Keychain
            };
            let (vault, code) = Vault::create(&ctx.dir, source, Actor::current(ctx.profile.clone()))?;
            output::init(&ctx, &vault, &code.display());
            Ok(())
        }
        Command::Recover { accept_older: true, .. } => {
            let header = Vault::header(&ctx.dir)?;
            let source = if header.is_passphrase() {
                KeySource::Passphrase(input::read_passphrase(ctx.passphrase_file.as_deref(), false)?)
            } else {
                KeySource::Keychain
            };
            let (_vault, older) = Vault::open_accepting_older(&ctx.dir, &source, Actor::current(ctx.profile.clone()))?;
            let text = match older {
                Some(what) => format!("Accepted: {what}. The step is in the audit log."),
                None => "The database is not older than its last recorded change: nothing to accept.".to_owned(),
            };
            output::message(&ctx, "accepted", &text);
            Ok(())
        }
        Command::Recover { passphrase, .. } => {
            let header = Vault::header(&ctx.dir)?;
            let code = input::read_recovery_code()?;
            let source = if passphrase || (header.is_passphrase() && ctx.passphrase_file.is_some()) {
                KeySource::Passphrase(input::read_passphrase(ctx.passphrase_file.as_deref(), true)?)
            } else {
                KeySource::Keychain
            };
            let vault = Vault::recover(&ctx.dir, &code, source, Actor::current(ctx.profile.clone()))?;
            output::message(
                &ctx,
                "recovered",
                &format!("Access to vault {} restored.", vault.vault_id()),
            );
            Ok(())
        }
        Command::Integration(cmd) => integration(&ctx, cmd),
        Command::Credential(cmd) => credential(&ctx, cmd),
        Command::Audit(cmd) => audit(&ctx, cmd),
        Command::Export { output } => {
            let mut vault = ctx.open()?;
            let export = vault.export_config()?;
            let text = serde_json::to_string_pretty(&export).map_err(|e| CliError::new(1, e.to_string()))?;
            write_out(output.as_deref(), &text)?;
            if output.is_some() && !ctx.json {
                eprintln!(
                    "Exported {} integrations and {} credentials. {}",
                    export.integrations.len(),
                    export.credentials.len(),
                    export.note
                );
            }
            Ok(())
        }
        Command::Expiry(ExpiryCmd::Check { no_desktop }) => {
            let mut vault = ctx.open()?;
            let run = vault.run_notices()?;
            let notifier = keywarden_notify::Notifier::new();
            let mut shown = Vec::new();
            for notice in &run.fired {
                let delivery = if no_desktop {
                    "not requested".to_owned()
                } else {
                    match notifier.show(notice) {
                        keywarden_notify::Delivery::Native => "desktop".to_owned(),
                        keywarden_notify::Delivery::InAppOnly { reason } => format!("in-app only: {reason}"),
                    }
                };
                shown.push((notice, delivery));
            }
            output::expiry_check(&shown, run.next_due, ctx.json);
            Ok(())
        }
        Command::Expiry(ExpiryCmd::Notices { all }) => {
            let vault = ctx.open()?;
            output::notices(&vault.notices(all)?, ctx.json);
            Ok(())
        }
        Command::Run {
            integration,
            credential,
            token_file,
            command,
        } => run_child(
            &ctx,
            &integration,
            credential.as_deref(),
            token_file.as_deref(),
            &command,
        ),
        Command::ServiceAccount(cmd) => keys::service_account(&ctx, cmd),
        Command::Keys(cmd) => keys::run(&ctx, cmd),
        Command::Serve {
            listen,
            tls_cert,
            tls_key,
            accept_env,
            socket,
            no_socket,
        } => {
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
        Command::Policy(PolicyCmd::Show) => {
            // No vault needed: IT checks a machine before anyone has one.
            let policy = keywarden_core::Policy::load_system();
            let entries = policy.entries();
            if ctx.json {
                let v = serde_json::json!({ "source": policy.source, "entries": entries });
                outln!("{v}");
            } else {
                match &policy.source {
                    keywarden_core::PolicySource::None => {
                        outln!(
                            "No organization policy ({} does not exist).",
                            keywarden_core::policy::SYSTEM_POLICY
                        )
                    }
                    keywarden_core::PolicySource::File { path } => outln!("Policy: {path}"),
                    keywarden_core::PolicySource::Strictest { problem, .. } => {
                        outln!("The policy file is broken, so the strictest policy applies: {problem}")
                    }
                }
                for e in &entries {
                    let badge = if e.managed { "managed" } else { "" };
                    outln!("{:<26} {:<40} {:<8} {}", e.key, e.value, badge, e.source);
                }
            }
            // A deployment script checking the machine must not read a
            // broken file as success.
            match &policy.source {
                keywarden_core::PolicySource::Strictest { problem, .. } => Err(CliError::new(
                    11,
                    format!("the organization's policy file is broken, so the strictest policy applies: {problem}"),
                )),
                _ => Ok(()),
            }
        }
        Command::SupportBundle { output } => {
            let mut vault = ctx.open()?;
            let bundle = vault.support_bundle()?;
            let text = serde_json::to_string_pretty(&bundle).map_err(|e| CliError::new(1, e.to_string()))?;
            write_out(output.as_deref(), &text)?;
            if output.is_some() && !ctx.json {
                eprintln!(
                    "Wrote a support bundle: {} integrations, {} credentials, {} audit events. {}",
                    bundle.integrations.len(),
                    bundle.credentials.len(),
                    bundle.recent_audit.len(),
                    bundle.note
                );
            }
            Ok(())
        }
        Command::Import { file } => {
            let bytes = std::fs::read(&file).map_err(|e| CliError::io(&format!("reading {}", file.display()), e))?;
            let export = keywarden_core::export::ConfigExport::parse(&bytes)
                .map_err(|e| CliError::new(5, format!("{}: {e}", file.display())))?;
            let mut vault = ctx.open()?;
            let report = vault.import_config(&export)?;
            output::import(&ctx, &report);
            Ok(())
        }
        Command::Team(cmd) => team::run(&ctx, cmd),
        Command::Overview => overview::run(&ctx),
        Command::Check => {
            let vault = ctx.open()?;
            let report = vault.check_integrity()?;
            output::integrity(&ctx, &report);
            if report.ok {
                Ok(())
            } else {
                Err(Error::DatabaseDamaged {
                    detail: report.problems.join("; "),
                }
                .into())
            }
        }
        Command::RotateDataKey => {
            let mut vault = ctx.open()?;
            let r = vault.rotate_data_key()?;
            output::message(
                &ctx,
                "rotated",
                &format!(
                    "{} sealed values (secret fields, partner keys awaiting delivery) re-sealed under data key {}; the old key is destroyed.",
                    r.resealed, r.key_id
                ),
            );
            Ok(())
        }
    }
}

/// `kw run`: the child gets the secrets in its environment, inherits the
/// terminal, and its exit code becomes kw's. The vault is closed (its keys
/// zeroized) before the child starts.
/// Before a long-lived `kw` (serve, run's parent, the team broker) reads
/// a key: no other program of the user may read its memory or dump it.
/// Failing to is said, not fatal: the keys are as safe as before.
pub(crate) fn guard_keys() {
    if let Err(e) = keywarden_core::process::guard_keys(true) {
        eprintln!("kw: warning: could not keep other programs out of this process's memory ({e})");
    }
}

fn run_child(
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
        None => {
            let mut vault = ctx.open()?;
            vault
                .run_environment(integration, credential, &name)?
                .vars
                .into_iter()
                .map(|(_, var, value)| (var, value))
                .collect()
        }
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

/// `--max-age-days`: whole days (0 = none), or "inherit".
fn parse_max_age(s: Option<&str>) -> CliResult<Option<Option<u32>>> {
    match s {
        None => Ok(None),
        Some("inherit") => Ok(Some(None)),
        Some(t) => t.parse::<u32>().map(|d| Some(Some(d))).map_err(|_| {
            CliError::new(
                5,
                format!(
                    "--max-age-days '{t}' is not a number of days; give whole days (0 = no maximum) or \"inherit\""
                ),
            )
        }),
    }
}

/// `--env FIELD=VAR` pairs.
fn parse_env_names(pairs: &[String]) -> CliResult<BTreeMap<String, String>> {
    pairs
        .iter()
        .map(|p| {
            p.split_once('=')
                .map(|(f, v)| (f.trim().to_owned(), v.trim().to_owned()))
                .filter(|(f, v)| !f.is_empty() && !v.is_empty())
                .ok_or_else(|| CliError::new(5, format!("--env '{p}' is not FIELD=VAR, e.g. api_key=PLEO_API_KEY")))
        })
        .collect()
}

fn integration_patch(f: IntegrationFields, rename: Option<String>) -> CliResult<IntegrationPatch> {
    let max_age_days = parse_max_age(f.max_age_days.as_deref())?;
    let env_names = (!f.env.is_empty()).then(|| parse_env_names(&f.env)).transpose()?;
    Ok(IntegrationPatch {
        name: rename,
        provider: f.provider,
        environment: f.environment,
        tenant_id: f.tenant_id,
        base_url: f.base_url,
        scopes: (!f.scopes.is_empty()).then_some(f.scopes),
        sync_schedule: f.schedule,
        owner: f.owner,
        tags: (!f.tags.is_empty()).then_some(f.tags),
        notes: f.notes,
        max_age_days,
        env_names,
    })
}

fn integration(ctx: &Ctx, cmd: IntegrationCmd) -> CliResult {
    match cmd {
        IntegrationCmd::Add { name, fields } => {
            let provider = fields.provider.clone().ok_or_else(|| {
                CliError::new(
                    5,
                    "--provider is required (e.g. pleo, xledger, business_central, generic)",
                )
            })?;
            let mut vault = ctx.open()?;
            let i = vault.add_integration(NewIntegration {
                name,
                provider,
                environment: fields.environment.unwrap_or_default(),
                tenant_id: fields.tenant_id,
                base_url: fields.base_url,
                scopes: fields.scopes,
                sync_schedule: fields.schedule,
                owner: fields.owner,
                tags: fields.tags,
                notes: fields.notes,
                max_age_days: parse_max_age(fields.max_age_days.as_deref())?.flatten(),
                env_names: parse_env_names(&fields.env)?,
            })?;
            output::integration(ctx, &i, &[]);
            Ok(())
        }
        IntegrationCmd::List => {
            let vault = ctx.open()?;
            output::integrations(ctx, &vault.list_integrations()?);
            Ok(())
        }
        IntegrationCmd::Show { name } => {
            let vault = ctx.open()?;
            let i = vault.get_integration(&name)?;
            let creds = vault.integration_credentials(&name)?;
            output::integration(ctx, &i, &creds);
            Ok(())
        }
        IntegrationCmd::Update { name, rename, fields } => {
            let mut vault = ctx.open()?;
            let i = vault.update_integration(&name, integration_patch(fields, rename)?)?;
            output::integration(ctx, &i, &[]);
            Ok(())
        }
    }
}

fn credential(ctx: &Ctx, cmd: CredentialCmd) -> CliResult {
    match cmd {
        CredentialCmd::Add {
            name,
            kind,
            integration,
            provider,
            environment,
            username,
            client_id,
            token_url,
            grant,
            fields,
            secret_fields,
            tags,
            notes,
            expires,
            max_age_days,
            offline,
            refused,
        } => {
            refuse_secret_flag(&refused)?;
            let kind = kind_of(kind);
            let mut config = parse_fields(&fields)?;
            if let Some(u) = username {
                config.insert("username".into(), u);
            }
            if let Some(c) = client_id {
                config.insert("client_id".into(), c);
            }
            if let Some(t) = token_url {
                config.insert("token_url".into(), t);
            }
            if kind == CredentialKind::OAuth2 {
                let g = match grant {
                    GrantArg::ClientCredentials => "client_credentials",
                    GrantArg::RefreshToken => "refresh_token",
                };
                config.insert("grant_type".into(), g.into());
            }
            let names = secret_names(kind, &config, secret_fields)?;
            let expires_at = parse_date("expires", expires.as_deref())?;
            // Open first: a missing vault or keychain is reported before
            // anyone types a secret.
            let mut vault = ctx.open()?;
            let secrets = input::read_secrets(&name, &names)?;
            let new = NewCredential {
                name,
                kind: Some(kind),
                integration,
                provider,
                environment,
                config,
                secrets,
                tags,
                notes,
                expires_at,
                max_age_days,
            };
            // "Validate and Save" by default: checked live and saved only if
            // the provider accepts it; --offline saves it unchecked, said so
            // in the audit log and on its check list.
            let c = if offline {
                vault.add_credential(new)?
            } else {
                vault.add_credential_checked(new, validator(false).as_ref())?
            };
            output::credential(ctx, &c);
            Ok(())
        }
        CredentialCmd::List {
            kind,
            status,
            provider,
            environment,
            tag,
            search,
            limit,
        } => {
            let filter = CredentialFilter {
                kind: kind.map(kind_of),
                status: status.as_deref().map(str::parse).transpose()?,
                provider,
                environment,
                tag,
                search,
                limit,
            };
            let vault = ctx.open()?;
            output::credentials(ctx, &vault.list_credentials(&filter)?);
            Ok(())
        }
        CredentialCmd::Import {
            from,
            file,
            provider,
            environment,
            tags,
            dry_run,
        } => import_credentials(
            ctx,
            from,
            &file,
            ImportDefaults {
                provider,
                environment,
                tags,
            },
            dry_run,
        ),
        CredentialCmd::Show { name } => {
            let vault = ctx.open()?;
            output::credential(ctx, &vault.get_credential(&name)?);
            if !ctx.json {
                output::consumers(&vault.credential_consumers(&name)?);
            }
            Ok(())
        }
        CredentialCmd::Update {
            name,
            rename,
            integration,
            detach,
            environment,
            tags,
            notes,
            expires,
            max_age_days,
            fields,
            if_revision,
            refused,
        } => {
            refuse_secret_flag(&refused)?;
            let mut vault = ctx.open()?;
            let mut expected_revision = if_revision;
            let config = if fields.is_empty() {
                None
            } else {
                // Read, merge, write: the write must land on what was read.
                let current = vault.get_credential(&name)?;
                expected_revision = expected_revision.or(Some(current.revision));
                let mut cfg = current.config;
                cfg.extend(parse_fields(&fields)?);
                Some(cfg)
            };
            let expires_at = match expires.as_deref() {
                None => None,
                Some("none") => Some(None),
                Some(s) => Some(Some(timefmt::parse_user("expires", s)?)),
            };
            let patch = CredentialPatch {
                name: rename,
                integration: if detach { Some(None) } else { integration.map(Some) },
                environment,
                config,
                tags: (!tags.is_empty()).then_some(tags),
                notes,
                expires_at,
                max_age_days: parse_max_age(max_age_days.as_deref())?,
                expected_revision,
            };
            output::credential(ctx, &vault.update_credential(&name, patch)?);
            Ok(())
        }
        CredentialCmd::Rotate {
            name,
            expires,
            offline,
            refused,
        } => {
            refuse_secret_flag(&refused)?;
            let expires_at = parse_date("expires", expires.as_deref())?;
            let mut vault = ctx.open()?;
            let current = vault.get_credential(&name)?;
            let names: Vec<String> = if current.summary.kind == CredentialKind::Custom {
                current.secret_fields.clone()
            } else {
                secret_field_names(current.summary.kind, &current.config)
                    .into_iter()
                    .map(str::to_owned)
                    .collect()
            };
            let secrets = input::read_secrets(&current.summary.name, &names)?;
            let c = vault.replace_secret(&name, secrets, expires_at, validator(offline).as_ref())?;
            output::credential(ctx, &c);
            Ok(())
        }
        CredentialCmd::OldRevoked { name } => {
            let mut vault = ctx.open()?;
            let c = vault.dismiss_reminder(&name, keywarden_core::ReminderKind::RevokeOld)?;
            output::credential(ctx, &c);
            Ok(())
        }
        CredentialCmd::Test { name, offline } => {
            let mut vault = ctx.open()?;
            let report = vault.check_credential(&name, validator(offline).as_ref())?;
            output::check(ctx, &report);
            match &report.check.outcome {
                CheckOutcome::Valid { .. } => Ok(()),
                CheckOutcome::Failed { failure } => Err(CliError::new(
                    8,
                    format!("the check of '{}' failed: {failure}", report.credential),
                )),
            }
        }
        CredentialCmd::Disable { name, reason } => {
            let mut vault = ctx.open()?;
            let consumers = vault.credential_consumers(&name)?;
            output::credential(ctx, &vault.disable_credential(&name, &reason)?);
            if !ctx.json && !consumers.is_empty() {
                let names: Vec<String> = consumers.iter().map(|c| c.name.clone()).collect();
                eprintln!(
                    "These workflows used it in the last 90 days and are refused from now: {}",
                    names.join(", ")
                );
            }
            Ok(())
        }
        CredentialCmd::Delete { name, force } => {
            let mut vault = ctx.open()?;
            let c = vault.get_credential(&name)?;
            let workflows: Vec<String> = vault.credential_consumers(&name)?.into_iter().map(|w| w.name).collect();
            vault.delete_credential(&name, force)?;
            output::message(
                ctx,
                "deleted",
                &format!(
                    "Deleted credential '{}' and all its versions.{}",
                    c.summary.name,
                    if workflows.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " Workflows that used it in the last 90 days will fail: {}.",
                            workflows.join(", ")
                        )
                    }
                ),
            );
            Ok(())
        }
    }
}

fn audit(ctx: &Ctx, cmd: AuditCmd) -> CliResult {
    match cmd {
        AuditCmd::List { filter } => {
            let vault = ctx.open()?;
            output::audit_events(ctx, &vault.audit_events(&audit_filter(filter)?)?);
            Ok(())
        }
        AuditCmd::Verify => {
            let vault = ctx.open()?;
            let report = vault.verify_audit()?;
            output::audit_report(ctx, &report);
            if report.ok {
                Ok(())
            } else {
                Err(CliError::new(
                    9,
                    format!(
                        "audit log verification FAILED at event {}: {}",
                        report.first_bad_seq.unwrap_or(0),
                        report.problem.unwrap_or_default()
                    ),
                ))
            }
        }
        AuditCmd::Export { format, output, filter } => {
            let mut vault = ctx.open()?;
            let events = vault.export_audit(&audit_filter(filter)?)?;
            let text = match format {
                AuditFormat::Csv => audit_export::to_csv(&events),
                AuditFormat::Json => audit_export::to_json(&events),
            };
            write_out(output.as_deref(), text.trim_end())
        }
    }
}
