//! The command line, declared once with clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use crate::team_args::*;

#[derive(Parser, Debug)]
#[command(name = "kw", version, about = "Keywarden: keep integration API credentials safe", long_about = None)]
pub struct Cli {
    /// The vault folder. Default: the user's data dir, keywarden/vault.
    #[arg(long, global = true, env = "KEYWARDEN_VAULT", value_name = "PATH")]
    pub vault: Option<PathBuf>,

    /// Print machine-readable JSON.
    #[arg(long, global = true)]
    pub json: bool,

    /// Admin profile name recorded in the audit log (default: OS user).
    #[arg(long = "as", global = true, env = "KEYWARDEN_PROFILE", value_name = "PROFILE")]
    pub profile: Option<String>,

    /// For passphrase vaults: read the passphrase from this file instead
    /// of prompting.
    #[arg(long, global = true, env = "KEYWARDEN_PASSPHRASE_FILE", value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a vault; prints the recovery code once.
    Init {
        /// Protect the vault with a passphrase instead of the OS keychain.
        #[arg(long)]
        passphrase: bool,
    },
    /// Integrations: a connection to one provider for one tenant.
    #[command(subcommand)]
    Integration(IntegrationCmd),
    /// Credentials: API keys, OAuth 2.0, Basic, custom fields.
    #[command(subcommand)]
    Credential(CredentialCmd),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Export the configuration as JSON, without any secret.
    Export {
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// The organization's policy (/etc/keywarden/policy.toml).
    #[command(subcommand)]
    Policy(PolicyCmd),
    /// Write a diagnostics file for support: integrations, statuses, the
    /// last checks and their verdicts, recent audit events. No secret.
    SupportBundle {
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Expiry notices, for machines where the desktop app is closed (run
    /// it from a systemd user timer, Task Scheduler or launchd).
    #[command(subcommand)]
    Expiry(ExpiryCmd),
    /// Scheduled live checks of each credential (daily by default, Xledger
    /// weekly), for machines where the desktop app is closed: run `kw
    /// health check` hourly from a systemd user timer, Task Scheduler or
    /// launchd; it checks only what is due.
    #[command(subcommand)]
    Health(HealthCmd),
    /// Alerts that reach the team beyond this desktop: a webhook (Slack,
    /// Teams) or email over SMTP with STARTTLS, each carrying the events
    /// it is set up for, delivered once, retried while the receiver is down.
    #[command(subcommand)]
    Alert(AlertCmd),
    /// Run a command with an integration's current credential in its
    /// environment (never in its arguments): `kw run --integration NAME --
    /// COMMAND ARGS…`. Exits with the command's exit code.
    Run {
        #[arg(long)]
        integration: String,
        /// When the integration has several credentials: which one.
        #[arg(long)]
        credential: Option<String>,
        /// Take the credential from the broker with a service account's
        /// token read from this file (owner-only) instead of the local
        /// vault; `KEYWARDEN_TOKEN` works too. Broker: `KEYWARDEN_BROKER`
        /// (default http://127.0.0.1:8787).
        #[arg(long, value_name = "FILE")]
        token_file: Option<PathBuf>,
        #[arg(last = true, required = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// Service accounts: tokens our own jobs use to take an integration's
    /// credential from the broker (`kw serve`) or through `kw run`.
    #[command(subcommand)]
    ServiceAccount(ServiceAccountCmd),
    /// API keys issued to partners: issue, rotate with grace, revoke.
    #[command(subcommand)]
    Keys(KeysCmd),
    /// The key verification service and credential broker for our
    /// services: `POST /v1/keys/verify` with the key in `X-Api-Key`;
    /// `GET /v1/integrations/NAME/credential` with a service account's token.
    Serve(ServeArgs),
    /// Import a configuration export; credentials will need re-entry.
    Import { file: PathBuf },
    /// Regain access with the recovery code (e.g. after the keychain item
    /// was lost). Reads the code from a hidden prompt or stdin.
    Recover {
        /// Protect the vault with a passphrase from now on.
        #[arg(long, conflicts_with = "accept_older")]
        passphrase: bool,
        /// Accept a database older than the vault's last recorded change (a
        /// backup restored on purpose). No recovery code is asked; the step
        /// is audited, naming both event numbers.
        #[arg(long)]
        accept_older: bool,
    },
    /// Back the vault up: one file, still encrypted under the vault key, a
    /// consistent snapshot while the app and kw serve keep writing, read
    /// back and checked. `--folder DIR --keep N` names it by time and
    /// keeps the newest N there (for a timer; a network share, say).
    Backup {
        #[arg(
            long,
            short,
            value_name = "FILE",
            required_unless_present = "folder",
            conflicts_with = "folder"
        )]
        output: Option<PathBuf>,
        #[arg(long, value_name = "DIR")]
        folder: Option<PathBuf>,
        #[arg(long, default_value_t = 7, requires = "folder")]
        keep: u32,
    },
    /// Restore a backup into --vault (another machine, say): needs the
    /// recovery code, then binds a new keychain item (or, with
    /// --passphrase, a passphrase). A vault already there is kept aside.
    Restore {
        file: PathBuf,
        #[arg(long)]
        passphrase: bool,
        /// --vault already holds a vault: replace it (its files are kept in
        /// a replaced-… folder). Close the app and stop kw serve first.
        #[arg(long)]
        replace: bool,
    },
    /// Re-seal every secret under a new data key.
    RotateDataKey,
    /// Check the whole vault without changing it: every page's MAC, the
    /// database structure, the audit chain, every sealed value opens.
    /// Exit 10 when anything is damaged (then restore from a backup).
    Check,
    /// A team vault on OpenBao: several admins, roles and sharing.
    #[command(subcommand)]
    Team(TeamCmd),
    /// What needs attention (expired, expiring, disabled, in error, due
    /// for rotation) in the local vault and, when signed in, the team
    /// vault. Exit 16 when the team vault cannot be reached.
    Overview,
}

#[derive(Args, Debug, Default)]
pub struct IntegrationFields {
    #[arg(long)]
    pub provider: Option<String>,
    #[arg(long, value_name = "ENV")]
    pub environment: Option<String>,
    /// Company or tenant id at the provider.
    #[arg(long, value_name = "ID")]
    pub tenant_id: Option<String>,
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// A required scope (repeat for several).
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
    #[arg(long, value_name = "SCHEDULE")]
    pub schedule: Option<String>,
    #[arg(long)]
    pub owner: Option<String>,
    /// A tag (repeat for several).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    #[arg(long)]
    pub notes: Option<String>,
    /// Rotation policy of its credentials: maximum age in days (0 = none),
    /// or "inherit" for the vault's.
    #[arg(long, value_name = "DAYS")]
    pub max_age_days: Option<String>,
    /// `kw run`: the variable a secret field is given as, FIELD=VAR
    /// (repeat; replaces the mapping), e.g. api_key=PLEO_API_KEY.
    #[arg(long = "env", value_name = "FIELD=VAR")]
    pub env: Vec<String>,
}

#[derive(Subcommand, Debug)]
pub enum IntegrationCmd {
    Add {
        name: String,
        #[command(flatten)]
        fields: IntegrationFields,
    },
    List,
    Show {
        name: String,
    },
    Update {
        name: String,
        #[arg(long)]
        rename: Option<String>,
        #[command(flatten)]
        fields: IntegrationFields,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ImportFormatArg {
    Csv,
    KeepassXml,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum KindArg {
    ApiKey,
    Oauth2,
    Basic,
    Custom,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum GrantArg {
    ClientCredentials,
    RefreshToken,
}

/// Flags that would put a secret on the command line. They exist only to
/// refuse with a message saying how to pass the secret instead.
#[derive(Args, Debug, Default)]
pub struct RefusedSecretFlags {
    #[arg(long, hide = true, num_args = 0..=1, value_name = "X")]
    pub secret: Option<Option<String>>,
    #[arg(long, hide = true, num_args = 0..=1, value_name = "X")]
    pub password: Option<Option<String>>,
    #[arg(long, hide = true, num_args = 0..=1, value_name = "X")]
    pub api_key: Option<Option<String>>,
    #[arg(long, hide = true, num_args = 0..=1, value_name = "X")]
    pub token: Option<Option<String>>,
    #[arg(long, hide = true, num_args = 0..=1, value_name = "X")]
    pub client_secret: Option<Option<String>>,
    #[arg(long, hide = true, num_args = 0..=1, value_name = "X")]
    pub refresh_token: Option<Option<String>>,
}

impl RefusedSecretFlags {
    pub fn used(&self) -> Option<&'static str> {
        [
            (self.secret.is_some(), "--secret"),
            (self.password.is_some(), "--password"),
            (self.api_key.is_some(), "--api-key"),
            (self.token.is_some(), "--token"),
            (self.client_secret.is_some(), "--client-secret"),
            (self.refresh_token.is_some(), "--refresh-token"),
        ]
        .into_iter()
        .find_map(|(used, flag)| used.then_some(flag))
    }
}

#[derive(Subcommand, Debug)]
pub enum CredentialCmd {
    /// Add a credential. The secret comes from a hidden prompt, or stdin
    /// when piped (one line per secret field, in the order shown by the
    /// prompt: oauth2 refresh-token = client_secret then refresh_token).
    Add(CredentialAdd),
    /// List credentials, filtered and searched.
    List(CredentialList),
    /// Show a credential: configuration, masked secret, versions.
    Show { name: String },
    /// Change non-secret data. To change the secret, use `rotate`.
    Update(CredentialUpdate),
    /// Replace the secret: stored as pending, validated against the live
    /// endpoint (or only offline with --offline), then swapped in.
    Rotate {
        name: String,
        #[arg(long, value_name = "DATE")]
        expires: Option<String>,
        /// Only the offline checks (format, expiry, JWT claims): for when
        /// the provider cannot be reached. Said so in the audit log.
        #[arg(long)]
        offline: bool,
        #[command(flatten)]
        refused: RefusedSecretFlags,
    },
    /// Connect (or re-authorize) an OAuth 2.0 credential: sign in at the
    /// provider in the system browser (authorization code with PKCE, the
    /// redirect caught on 127.0.0.1), and the refresh token it grants is
    /// stored as a new version. Its configuration names `authorize_url`,
    /// `token_url`, `client_id` (and `scope`, `client_auth = basic`,
    /// `redirect_port` for a provider that registered an exact redirect).
    /// A refusal, a closed browser or the timeout store nothing (exit 8).
    Connect {
        name: String,
        /// How long to wait for the sign-in, in seconds (1 to 3600).
        #[arg(long, value_name = "SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=3600))]
        timeout: u64,
        /// Print the address only; open no browser.
        #[arg(long)]
        no_browser: bool,
    },
    /// The replaced secret was revoked at the provider: takes the reminder
    /// a rotation leaves off the credential's check list (audited).
    OldRevoked { name: String },
    /// Test the connection: the current secret against the live endpoint
    /// (or the offline checks with --offline). Exit 8 when it fails.
    Test {
        name: String,
        #[arg(long)]
        offline: bool,
    },
    /// Mark compromised: every use is refused until the secret is replaced.
    Disable {
        name: String,
        #[arg(long, default_value = "marked compromised")]
        reason: String,
    },
    /// Import many credentials at once from another tool's plaintext export,
    /// all or nothing: a CSV file with a header row (name and secret, and
    /// any of username, url, notes, tags, expires, type, provider,
    /// environment, group, totp; KeePassXC's CSV export as it is) or a
    /// KeePass XML export (`keepassxc-cli export --format xml DB`). Each
    /// secret is sealed and each credential audited. FILE "-" reads stdin,
    /// so the plaintext need never be written to disk.
    Import {
        #[arg(long = "from", value_enum, value_name = "FORMAT")]
        from: ImportFormatArg,
        /// The export to read, or "-" for stdin.
        file: PathBuf,
        /// The provider of credentials whose line names none (default generic).
        #[arg(long)]
        provider: Option<String>,
        /// The environment of credentials whose line names none (default prod).
        #[arg(long, value_name = "ENV")]
        environment: Option<String>,
        /// A tag for every imported credential (repeat).
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        /// Read and check everything, report what would be imported, and
        /// write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Delete a credential and all its versions.
    Delete {
        name: String,
        /// Delete even though an integration uses it.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum AuditFormat {
    Csv,
    Json,
}

#[derive(Args, Debug, Default)]
pub struct AuditFilterArgs {
    /// Credential or integration name or id.
    #[arg(long)]
    pub credential: Option<String>,
    /// Action, e.g. credential.rotate (a prefix like `credential` matches all).
    #[arg(long)]
    pub action: Option<String>,
    /// Admin profile.
    #[arg(long)]
    pub admin: Option<String>,
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    #[arg(long)]
    pub limit: Option<usize>,
}

#[derive(Subcommand, Debug)]
pub enum AuditCmd {
    List {
        #[command(flatten)]
        filter: AuditFilterArgs,
    },
    /// Check the hash chain; exit 9 and name the first bad event if broken.
    /// With --stream: check an audit stream (a JSON-lines file, or syslog
    /// lines) against this vault's key, naming its first altered, dropped
    /// or reordered line.
    Verify {
        #[arg(long, value_name = "FILE")]
        stream: Option<PathBuf>,
    },
    /// Write every audit event, as it is committed, to a JSON-lines file
    /// and/or syslog (RFC 5424, local socket) for a SIEM; `--off` stops.
    Stream {
        /// Append to this file (absolute path).
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
        /// Send to syslog on this socket (default /dev/log).
        #[arg(long, value_name = "SOCKET", num_args = 0..=1, default_missing_value = "/dev/log")]
        syslog: Option<PathBuf>,
        /// Stop streaming.
        #[arg(long, conflicts_with_all = ["file", "syslog"])]
        off: bool,
    },
    Export {
        #[arg(long, value_enum)]
        format: AuditFormat,
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
        #[command(flatten)]
        filter: AuditFilterArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum AlertCmd {
    /// Add a webhook (its URL, which carries the receiver's token, on the
    /// hidden prompt or stdin; https only).
    AddWebhook {
        name: String,
        /// An event it carries (repeat): expiring, expired,
        /// reconnection-required, disabled (compromised),
        /// partner-key-anomaly, rotation-due, policy-broken; or `all`.
        #[arg(long = "event", required = true, value_name = "EVENT")]
        events: Vec<String>,
    },
    /// Add an email channel (SMTP with STARTTLS; with --user the password
    /// on the hidden prompt or stdin).
    AddEmail {
        name: String,
        /// The SMTP server, HOST or HOST:PORT (port 587 by default).
        #[arg(long, value_name = "HOST[:PORT]")]
        smtp: String,
        #[arg(long)]
        from: String,
        /// A recipient (repeat).
        #[arg(long = "to", required = true)]
        to: Vec<String>,
        /// Sign in as this user.
        #[arg(long)]
        user: Option<String>,
        #[arg(long = "event", required = true, value_name = "EVENT")]
        events: Vec<String>,
    },
    /// The channels, and the latest deliveries with their outcome.
    List,
    Remove {
        name: String,
    },
    /// Send a test alert on a channel now.
    Test {
        name: String,
    },
    /// Deliver the alerts that are due (those waiting for a receiver that
    /// was down); `kw health check` and `kw expiry check` do it too.
    Send,
}

#[derive(Subcommand, Debug)]
pub enum HealthCmd {
    /// Run the live checks due now, one at a time per provider. A
    /// credential the provider refuses 3 times in a row goes to `error`
    /// with a "reconnection required" notice, shown on the desktop when a
    /// notification server listens; a provider that cannot be reached
    /// (offline) counts nothing and is tried again within the hour.
    Check {
        /// Print the notices only; no desktop notification.
        #[arg(long)]
        no_desktop: bool,
        /// Check every scheduled credential now, due or not.
        #[arg(long)]
        all: bool,
    },
    /// Each credential's schedule: how often, where that comes from, the
    /// last live check and its verdict, and when the next is due.
    Schedule,
    /// Set how often a credential is checked, or with --integration each
    /// credential of an integration that does not set its own.
    Set {
        /// The credential (or integration) name or id.
        name: String,
        /// NAME is an integration.
        #[arg(long)]
        integration: bool,
        /// 6h, 1d, 7d, 2w, `off` (not scheduled), or `default` (the
        /// integration's, else the provider's).
        #[arg(long, value_name = "PERIOD")]
        every: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum ExpiryCmd {
    /// Fire the notices due now: each threshold (60, 30, 14, 7, 1 days
    /// before expiry by default) once per credential version, shown on the
    /// desktop when a notification server listens. Prints when the next
    /// one is due.
    Check {
        /// Print the notices only; no desktop notification.
        #[arg(long)]
        no_desktop: bool,
    },
    /// The notices in the notification centre, newest first.
    Notices {
        /// Include dismissed ones.
        #[arg(long)]
        all: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeysCmd {
    /// Issue a key. It is printed once; only its hash is kept.
    Issue {
        /// The partner application the key is for.
        #[arg(long)]
        application: String,
        /// A scope, resource:read or resource:write (repeat).
        #[arg(long = "scope", value_name = "SCOPE", required = true)]
        scopes: Vec<String>,
        /// live (default) or test.
        #[arg(long, value_name = "ENV", default_value = "live")]
        env: String,
        /// Expiry: YYYY-MM-DD or RFC 3339.
        #[arg(long, value_name = "DATE")]
        expires: Option<String>,
        /// Rotation policy in days (default 90; 0 = none).
        #[arg(long, value_name = "DAYS")]
        max_age_days: Option<u32>,
        /// Days the old key stays valid after a rotation (default 7).
        #[arg(long, value_name = "DAYS")]
        grace_days: Option<u32>,
        /// Also write the signed delivery envelope (valid 15 minutes) here.
        #[arg(long, value_name = "FILE")]
        envelope: Option<PathBuf>,
    },
    /// List the keys: application, scopes, state; never the keys.
    List,
    /// One key's record.
    Show { id: String },
    /// Issue the successor of a key; the old one stays valid for the grace
    /// period, then stops.
    Rotate {
        id: String,
        /// Days the old key stays valid (default: its policy's).
        #[arg(long, value_name = "DAYS")]
        grace_days: Option<u32>,
        #[arg(long, value_name = "FILE")]
        envelope: Option<PathBuf>,
    },
    /// Revoke a key now, for every verifier.
    Revoke {
        id: String,
        #[arg(long, default_value = "revoked by an admin")]
        reason: String,
    },
    /// The revoked keys, optionally signed for offline verifiers.
    Revocations {
        #[arg(long)]
        signed: bool,
    },
    /// The vault's public signing key (envelopes, revocation lists).
    PublicKey,
    /// Rotate every key that reached its policy age (run it daily from a
    /// timer where the app is closed). Successors wait for `deliver`.
    RotateDue,
    /// Show, once, a key rotated by policy, to deliver it.
    Deliver {
        id: String,
        #[arg(long, value_name = "FILE")]
        envelope: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum ServiceAccountCmd {
    /// Create an account and print its token once. Rotate and revoke it
    /// with `kw keys rotate|revoke <id>`.
    Create {
        name: String,
        /// An integration whose credential it may take (repeat; one by
        /// default is the least privilege).
        #[arg(long = "grant", value_name = "INTEGRATION", required = true)]
        grants: Vec<String>,
        #[arg(long, value_name = "DATE")]
        expires: Option<String>,
        #[arg(long, value_name = "DAYS")]
        max_age_days: Option<u32>,
        #[arg(long, value_name = "DAYS")]
        grace_days: Option<u32>,
    },
    /// The accounts and their grants.
    List,
}

#[derive(Subcommand, Debug)]
pub enum PolicyCmd {
    /// Print the effective policy and where each value comes from.
    Show,
}

#[derive(clap::Args, Debug)]
pub struct CredentialAdd {
    pub name: String,
    #[arg(long = "type", value_enum)]
    pub kind: KindArg,
    #[arg(long, value_name = "INTEGRATION")]
    pub integration: Option<String>,
    #[arg(long)]
    pub provider: Option<String>,
    #[arg(long, value_name = "ENV")]
    pub environment: Option<String>,
    /// Basic: the user name.
    #[arg(long)]
    pub username: Option<String>,
    /// OAuth 2.0: the client id.
    #[arg(long)]
    pub client_id: Option<String>,
    /// OAuth 2.0: the token endpoint.
    #[arg(long, value_name = "URL")]
    pub token_url: Option<String>,
    /// OAuth 2.0: the grant.
    #[arg(long, value_enum, default_value = "client-credentials")]
    pub grant: GrantArg,
    /// A non-secret configuration field NAME=VALUE (repeat).
    #[arg(long = "field", value_name = "NAME=VALUE")]
    pub fields: Vec<String>,
    /// Custom type: the name of a secret field to prompt for (repeat).
    #[arg(long = "secret-field", value_name = "NAME")]
    pub secret_fields: Vec<String>,
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    #[arg(long)]
    pub notes: Option<String>,
    /// Expiry: YYYY-MM-DD or RFC 3339. Read from a JWT's exp if omitted.
    #[arg(long, value_name = "DATE")]
    pub expires: Option<String>,
    /// Its own rotation policy: maximum age in days (0 = none).
    /// Default: the integration's, else the vault's (90 days).
    #[arg(long, value_name = "DAYS")]
    pub max_age_days: Option<u32>,
    /// Save without a live check. By default the secret is checked with
    /// the provider first ("Validate and Save") and saved only if it
    /// passes; with --offline it is saved unchecked, labelled so in the
    /// audit log and on its check list until a live check passes.
    #[arg(long)]
    pub offline: bool,
    #[command(flatten)]
    pub refused: RefusedSecretFlags,
}

#[derive(clap::Args, Debug)]
pub struct CredentialUpdate {
    pub name: String,
    #[arg(long)]
    pub rename: Option<String>,
    #[arg(long, value_name = "INTEGRATION", conflicts_with = "detach")]
    pub integration: Option<String>,
    /// Detach it from its integration.
    #[arg(long)]
    pub detach: bool,
    #[arg(long, value_name = "ENV")]
    pub environment: Option<String>,
    /// Replace the tags (repeat).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    #[arg(long)]
    pub notes: Option<String>,
    /// YYYY-MM-DD, RFC 3339, or "none" to clear.
    #[arg(long, value_name = "DATE")]
    pub expires: Option<String>,
    /// Rotation policy: maximum age in days (0 = none), or "inherit".
    #[arg(long, value_name = "DAYS")]
    pub max_age_days: Option<String>,
    #[arg(long = "field", value_name = "NAME=VALUE")]
    pub fields: Vec<String>,
    /// Only if the credential is still at this revision (`revision` in
    /// `kw --json credential show`); exit 12 and nothing written if
    /// someone changed it since.
    #[arg(long, value_name = "N")]
    pub if_revision: Option<u32>,
    #[command(flatten)]
    pub refused: RefusedSecretFlags,
}

#[derive(clap::Args, Debug)]
pub struct CredentialList {
    #[arg(long = "type", value_enum)]
    pub kind: Option<KindArg>,
    #[arg(long)]
    pub status: Option<String>,
    #[arg(long)]
    pub provider: Option<String>,
    #[arg(long, value_name = "ENV")]
    pub environment: Option<String>,
    #[arg(long)]
    pub tag: Option<String>,
    /// Text to find in name, provider, type, tags or integration.
    #[arg(long, short)]
    pub search: Option<String>,
    #[arg(long)]
    pub limit: Option<usize>,
}

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on, e.g. 127.0.0.1:8787 (port 0: any free port).
    /// Any address but loopback needs --tls-cert and --tls-key. Default
    /// 127.0.0.1:8787; when that is taken, the socket serves alone.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Serve HTTPS with this PEM certificate chain (for LAN use).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's PEM private key; must be owner-only (chmod 600).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Accept the keys of this environment (`live`, `test`); repeat for
    /// both. Keys of any other are answered like unknown keys, so a
    /// production service never takes a `kwp_test_` key.
    #[arg(long = "accept-env", value_name = "ENV", default_value = "live")]
    pub accept_env: Vec<String>,
    /// Also serve this user's jobs (`kw run`) on a Unix socket that
    /// answers only this user's processes; default `<vault>/broker.sock`.
    #[arg(long, value_name = "PATH", conflicts_with = "no_socket")]
    pub socket: Option<PathBuf>,
    /// Serve no Unix socket (TCP only).
    #[arg(long)]
    pub no_socket: bool,
}
