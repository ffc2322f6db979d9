//! `kw team …`'s command line (the team vault on OpenBao), declared with
//! clap beside `args.rs`, which re-exports it.

use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};

use crate::args::{KindArg, RefusedSecretFlags};

#[derive(Subcommand, Debug)]
pub enum TeamCmd {
    /// Sign in to a team vault; the OpenBao token is kept in the OS
    /// keychain. The password (or with --token, the token) comes from a
    /// hidden prompt or stdin.
    Login(TeamLogin),
    /// Sign out: the token is revoked at OpenBao and removed from the
    /// keychain.
    Logout,
    /// Who you are in the team vault, your role, and what it allows.
    Whoami,
    /// The credentials you can see. When the team vault cannot be reached,
    /// what was last known, marked offline (read-only).
    List,
    /// One credential: its card, and its configuration if yours to see.
    Show { name: String },
    /// Add a credential (the secret from a hidden prompt or stdin), checked
    /// live first with the provider its configuration names: --field
    /// provider=pleo|xledger|business_central (and environment=, tenant_id=).
    Add(TeamAdd),
    /// Replace a credential's secret (from a hidden prompt or stdin),
    /// checked live with the provider named in its configuration first.
    Rotate {
        name: String,
        /// Only the offline checks (format): for when the provider cannot
        /// be reached.
        #[arg(long)]
        offline: bool,
        /// Refuse (exit 12) if the credential changed since this revision.
        #[arg(long, value_name = "N")]
        if_revision: Option<u64>,
        #[command(flatten)]
        refused: RefusedSecretFlags,
    },
    /// Change a credential's configuration, expiry or enabled state.
    Update(TeamUpdate),
    /// Share a personal credential with the team at a level, or change a
    /// shared credential's level (through the team broker: its secret is
    /// not yours to move).
    Share {
        name: String,
        #[arg(value_enum)]
        level: ShareArg,
        #[arg(long, value_name = "N")]
        if_revision: Option<u64>,
        /// The team broker (`kw team broker`), for a shared credential;
        /// KEYWARDEN_TEAM_BROKER works too.
        #[arg(long, value_name = "URL", env = "KEYWARDEN_TEAM_BROKER")]
        broker: Option<String>,
    },
    /// Validate a shared credential with its provider through the team
    /// broker: what "use" allows, without the secret ever reaching you.
    /// Exit 8 when the provider refuses it.
    Check {
        name: String,
        #[arg(long, value_name = "URL", env = "KEYWARDEN_TEAM_BROKER")]
        broker: Option<String>,
    },
    /// Run the team broker: the one identity that reads shared secrets,
    /// validating and re-sharing for members as OpenBao allows each of
    /// them. Signs in as a broker user (created with the broker policy by
    /// IT); the password from --password-file (owner-only) or stdin.
    Broker(TeamBroker),
    /// Delete a credential.
    Delete {
        name: String,
        #[arg(long, value_name = "N")]
        if_revision: Option<u64>,
    },
    /// The team's audit log, newest first; --verify checks the whole chain.
    Audit {
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long)]
        verify: bool,
    },
    /// For IT: create (or update) the team vault on an OpenBao cluster —
    /// the KV v2 mount, the userpass method, Keywarden's policies and role
    /// groups. Uses an admin token from BAO_TOKEN or stdin, not a sign-in.
    Create {
        #[arg(long = "addr", required = true, value_name = "URL")]
        addrs: Vec<String>,
        #[arg(long, default_value = "keywarden")]
        mount: String,
        #[arg(long, default_value = "userpass")]
        userpass: String,
    },
    /// For owners: add a member (password from a hidden prompt or stdin)
    /// or change a member's role; `--role none` ends their access.
    Member {
        user: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Set the member's password too, from a hidden prompt or stdin
        /// (a new member needs one; 12 characters or more).
        #[arg(long)]
        set_password: bool,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum ShareArg {
    Personal,
    Use,
    View,
    Manage,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum RoleArg {
    Owner,
    Admin,
    Viewer,
    None,
}

#[derive(clap::Args, Debug)]
pub struct TeamLogin {
    /// An OpenBao node, https://host:8200 (repeat for each node of a
    /// cluster: kw fails over between them).
    #[arg(long = "addr", required = true, value_name = "URL")]
    pub addrs: Vec<String>,
    /// The team's KV v2 mount.
    #[arg(long, default_value = "keywarden")]
    pub mount: String,
    /// The userpass sign-in method's mount.
    #[arg(long, default_value = "userpass")]
    pub userpass: String,
    /// Sign in as this user (userpass); or give --token.
    #[arg(long, required_unless_present = "token")]
    pub user: Option<String>,
    /// Sign in with an OpenBao token read from the prompt or stdin.
    #[arg(long, conflicts_with = "user")]
    pub token: bool,
}

#[derive(clap::Args, Debug)]
pub struct TeamAdd {
    pub name: String,
    #[arg(long = "type", value_enum)]
    pub kind: KindArg,
    /// personal (only you), or shared with the team: use, view, manage.
    #[arg(long, value_enum, default_value = "personal")]
    pub share: ShareArg,
    /// A non-secret configuration field NAME=VALUE (repeat).
    #[arg(long = "field", value_name = "NAME=VALUE")]
    pub fields: Vec<String>,
    /// Custom type: the name of a secret field to prompt for (repeat).
    #[arg(long = "secret-field", value_name = "NAME")]
    pub secret_fields: Vec<String>,
    /// Expiry: YYYY-MM-DD or RFC 3339.
    #[arg(long, value_name = "DATE")]
    pub expires: Option<String>,
    /// Only the offline checks (format), saved unchecked: for when the
    /// provider cannot be reached. Refused where the policy requires a
    /// live check.
    #[arg(long)]
    pub offline: bool,
    #[command(flatten)]
    pub refused: RefusedSecretFlags,
}

#[derive(clap::Args, Debug)]
pub struct TeamUpdate {
    pub name: String,
    /// The whole configuration, NAME=VALUE (repeat).
    #[arg(long = "field", value_name = "NAME=VALUE")]
    pub fields: Vec<String>,
    /// YYYY-MM-DD, RFC 3339, or "none".
    #[arg(long, value_name = "DATE")]
    pub expires: Option<String>,
    #[arg(long, conflicts_with = "enable")]
    pub disable: bool,
    #[arg(long)]
    pub enable: bool,
    #[arg(long, value_name = "N")]
    pub if_revision: Option<u64>,
}

#[derive(clap::Args, Debug)]
pub struct TeamBroker {
    #[arg(long = "addr", required = true, value_name = "URL")]
    pub addrs: Vec<String>,
    #[arg(long, default_value = "keywarden")]
    pub mount: String,
    /// The broker's own userpass mount (`kw team create` makes
    /// `<members' mount>-broker`, out of the owners' reach).
    #[arg(long, default_value = "userpass-broker")]
    pub userpass: String,
    #[arg(long, default_value = "keywarden-broker")]
    pub user: String,
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Where to listen; any address but loopback needs --tls-cert and --tls-key.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8788")]
    pub listen: String,
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Validate with the offline checks only (no provider reachable).
    #[arg(long)]
    pub offline: bool,
}
