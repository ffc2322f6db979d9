//! A workstation's sign-in to a team vault, shared by `kw team` and the
//! desktop app: where the cluster is (`team.json` in the user's config
//! folder), the OpenBao token (the OS keychain, never a file), and what the
//! member last saw (cards only, in the user's cache folder) for the
//! offline, read-only view.

use std::path::PathBuf;

use keywarden_core::{SecretString, keychain, timefmt};
use serde::{Deserialize, Serialize};

use crate::card::Card;
use crate::error::{BaoError, Result, TeamError};
use crate::team::TeamVault;

/// Where the team vault is; written at sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamConfig {
    pub nodes: Vec<String>,
    pub mount: String,
    pub userpass: String,
}

/// How the member signs in.
pub enum Credentials<'a> {
    UserPass { user: &'a str, password: &'a SecretString },
    Token(SecretString),
}

/// One credential as a list shows it: nothing secret (the mask only), so
/// it may be kept for the offline view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CardView {
    pub id: String,
    pub name: String,
    pub kind: keywarden_core::CredentialKind,
    /// personal, use, view or manage.
    pub sharing: String,
    pub masked: String,
    /// active, expiring, expired or disabled.
    pub status: String,
    pub expires_at: Option<String>,
    pub updated_by: String,
    pub updated_at: String,
    pub revision: u64,
}

impl From<&Card> for CardView {
    fn from(c: &Card) -> Self {
        CardView {
            id: c.id().to_owned(),
            name: c.name.clone(),
            kind: c.kind,
            sharing: c.path.sharing.as_str().to_owned(),
            masked: c.masked.clone(),
            status: c.status(timefmt::now()).to_owned(),
            expires_at: c.expires_at.clone(),
            updated_by: c.updated_by_name.clone(),
            updated_at: c.updated_at.clone(),
            revision: c.revision,
        }
    }
}

/// A list of the team vault, live or last known.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Listing {
    /// True: the vault could not be reached; this is what was last known.
    pub offline: bool,
    /// When the list was read from OpenBao.
    pub as_of: String,
    pub credentials: Vec<CardView>,
}

fn folder(base: Option<PathBuf>, what: &str) -> Result<PathBuf> {
    base.map(|d| d.join("keywarden"))
        .ok_or_else(|| TeamError::invalid("folders", format!("this system has no user {what} folder")))
}

impl TeamConfig {
    /// A sign-in's addresses as people type them (one per entry, or several
    /// separated by commas or spaces), the team's mount and the userpass
    /// mount; empty mounts take the defaults `keywarden` and `userpass`.
    pub fn new(nodes: &[String], mount: &str, userpass: &str) -> Result<TeamConfig> {
        let nodes: Vec<String> = nodes
            .iter()
            .flat_map(|n| n.split([',', ' ', '\n']))
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .collect();
        if nodes.is_empty() {
            return Err(TeamError::invalid(
                "address",
                "give the team vault's address, like https://bao.example.org:8200",
            ));
        }
        let or = |v: &str, default: &str| {
            if v.trim().is_empty() {
                default.to_owned()
            } else {
                v.trim().to_owned()
            }
        };
        let cfg = TeamConfig {
            nodes,
            mount: or(mount, "keywarden"),
            userpass: or(userpass, "userpass"),
        };
        crate::check_mount_name(&cfg.mount)?;
        crate::check_mount_name(&cfg.userpass)?;
        Ok(cfg)
    }

    /// The keychain account of this team's token on this machine.
    pub fn account(&self) -> String {
        keychain::team_account(&self.mount, self.nodes.first().map(String::as_str).unwrap_or(""))
    }

    pub fn path() -> Result<PathBuf> {
        Ok(folder(dirs::config_dir(), "config")?.join("team.json"))
    }

    fn cache_path(&self) -> Result<PathBuf> {
        Ok(folder(dirs::cache_dir(), "cache")?.join(format!("team-{}.json", self.mount)))
    }

    /// The saved sign-in, if any.
    pub fn load() -> Result<Option<TeamConfig>> {
        let path = Self::path()?;
        let Ok(text) = std::fs::read_to_string(&path) else {
            return Ok(None);
        };
        serde_json::from_str(&text).map(Some).map_err(|e| {
            TeamError::invalid(
                "team.json",
                format!("{} is damaged ({e}); sign in again", path.display()),
            )
        })
    }

    fn save(&self) -> Result<()> {
        write_private(&Self::path()?, &serde_json::to_string_pretty(self).unwrap_or_default())
    }

    /// Signs in, keeps the token in the keychain and the addresses in
    /// `team.json`.
    pub fn sign_in(&self, how: Credentials<'_>) -> Result<TeamVault> {
        let vault = match how {
            Credentials::UserPass { user, password } => {
                TeamVault::sign_in_userpass(&self.nodes, &self.mount, &self.userpass, user, password)?
            }
            Credentials::Token(t) => TeamVault::with_token(&self.nodes, &self.mount, t)?,
        };
        keychain::store_team_token(&self.account(), vault.token())?;
        self.save()?;
        Ok(vault)
    }

    /// Opens the team vault with the kept token, renewing it when a third
    /// of its hour is left.
    pub fn open(&self) -> Result<TeamVault> {
        let token = keychain::load_team_token(&self.account())?.ok_or(TeamError::SignedOut)?;
        let mut vault = TeamVault::with_token(&self.nodes, &self.mount, token)?;
        vault.renew_if_due(3600)?;
        Ok(vault)
    }

    /// Revokes the token at OpenBao, then forgets the token, the
    /// addresses and the offline cards on this machine — the latter even
    /// when OpenBao cannot be reached (the error then says so).
    pub fn sign_out(&self) -> Result<()> {
        let revoked = match self.open() {
            Ok(v) => v.sign_out(),
            Err(TeamError::SignedOut) => Ok(()),
            Err(e) => Err(e),
        };
        keychain::delete_team_token(&self.account())?;
        let _ = std::fs::remove_file(self.cache_path()?);
        let _ = std::fs::remove_file(Self::path()?);
        revoked
    }

    /// The list, from OpenBao when it answers (and kept for later), else
    /// what was last known, marked offline. Offline with nothing kept is
    /// the unreachable error itself.
    pub fn list_or_last_known(&self) -> Result<Listing> {
        match self.open().and_then(|v| v.list()) {
            Ok(cards) => {
                let listing = Listing {
                    offline: false,
                    as_of: timefmt::to_db(timefmt::now()),
                    credentials: cards.iter().map(CardView::from).collect(),
                };
                // The cache is a convenience: failing to keep it does not
                // fail the list.
                if let Ok(path) = self.cache_path() {
                    let _ = write_private(&path, &serde_json::to_string(&listing).unwrap_or_default());
                }
                Ok(listing)
            }
            Err(e @ TeamError::Bao(BaoError::Unreachable { .. })) => {
                let kept: Option<Listing> = self
                    .cache_path()
                    .ok()
                    .and_then(|p| std::fs::read_to_string(p).ok())
                    .and_then(|t| serde_json::from_str(&t).ok());
                match kept {
                    Some(mut l) => {
                        l.offline = true;
                        Ok(l)
                    }
                    None => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }
}

/// Writes a file readable by its owner only, whole or not at all.
fn write_private(path: &std::path::Path, text: &str) -> Result<()> {
    use std::io::Write;
    let io = |e: std::io::Error| TeamError::invalid("file", format!("{}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp).map_err(io)?;
    f.write_all(text.as_bytes()).and_then(|()| f.sync_all()).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}
