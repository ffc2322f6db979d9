//! A signed-in member's view of a team vault: list, add, rotate, edit,
//! share and delete credentials, each change committed by one
//! check-and-set write of the credential's card and recorded in the
//! team's audit chain under the member's OpenBao identity.
//!
//! Nothing here decides who may do what: OpenBao's policies do
//! (`layout.rs`). A refusal from OpenBao becomes [`TeamError::NotAllowed`].

use std::collections::BTreeMap;

use keywarden_core::validate::{check_format, primary_field, secret_field_names};
use keywarden_core::{Candidate, CredentialKind, ExposeSecret, SecretFields, SecretString, Validator, mask};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::audit::{self, Entry, TeamEvent};
use crate::card::{Card, State, state};
use crate::client::Bao;
use crate::error::{BaoError, Result, TeamError};
use crate::layout::{CredentialPath, Role, Sharing, name_claim, policy_name};

mod changes;
mod checks;
mod lookup;

use self::checks::*;

pub(crate) use self::changes::move_entry;
pub use self::checks::backend_error;
pub(crate) use self::checks::{checked_config, integration_of, provider_of, secrets_from_json};

/// Who is signed in, as OpenBao says (token lookup-self).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub entity_id: String,
    /// `userpass-alice`: OpenBao's display name of the token.
    pub display_name: String,
    pub roles: Vec<Role>,
    /// Seconds left on the token; 0 for a token that does not expire.
    pub ttl_seconds: u64,
    pub renewable: bool,
}

impl Identity {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// The strongest role, for display.
    pub fn role(&self) -> Option<Role> {
        Role::ALL.into_iter().find(|r| self.has(*r))
    }
}

/// A new credential for the team vault.
pub struct NewTeamCredential {
    pub name: String,
    pub kind: CredentialKind,
    pub sharing: Sharing,
    pub config: BTreeMap<String, String>,
    pub secrets: SecretFields,
    pub expires_at: Option<OffsetDateTime>,
}

/// A change to a credential's non-secret fields. `None` leaves a field.
#[derive(Debug, Default, Clone)]
pub struct TeamPatch {
    pub config: Option<BTreeMap<String, String>>,
    pub expires_at: Option<Option<OffsetDateTime>>,
    pub enabled: Option<bool>,
}

/// What the signed-in member may do with one credential, as OpenBao
/// answers for their token (`sys/capabilities-self`): the UI shows these
/// actions and hides the rest; OpenBao enforces them either way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Abilities {
    pub see_config: bool,
    pub rotate: bool,
    pub edit: bool,
    pub delete: bool,
    /// Change its sharing (its creator, or an owner).
    pub share: bool,
}

/// A credential's card and, when the member may see it, its configuration.
#[derive(Debug, Clone)]
pub struct TeamCredential {
    pub card: Card,
    /// `None`: shared with "use" only, so the configuration is not the
    /// member's to see (OpenBao refused it).
    pub config: Option<BTreeMap<String, String>>,
}

pub struct TeamVault {
    bao: Bao,
    mount: String,
    me: Identity,
    /// This machine's IT policy (`/etc/keywarden/policy.toml`): which
    /// providers may be added and whether a secret needs a live check,
    /// as for the local vault.
    policy: keywarden_core::Policy,
}

impl std::fmt::Debug for TeamVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TeamVault")
            .field("nodes", &self.bao.nodes())
            .field("mount", &self.mount)
            .field("me", &self.me)
            .finish_non_exhaustive()
    }
}

/// What a scan of the vault found.
struct Scan {
    cards: Vec<Card>,
    /// Entries with a deletion card: a delete not finished yet.
    tombstones: Vec<CredentialPath>,
    /// Sources of committed moves, with the suffix they moved to.
    moved: Vec<(CredentialPath, String)>,
    /// Targets of moves whose source is not marked moved in this scan,
    /// with the source they name (`moved_from`): uncommitted, committing
    /// right now, or committed with a source this member cannot see.
    orphans: Vec<(Card, Option<String>)>,
    /// Entries without a card, with their creation time: adds that have not
    /// committed (or never will).
    uncommitted: Vec<(CredentialPath, String)>,
}

impl TeamVault {
    /// Signs in with OpenBao's userpass method mounted at `userpass`.
    pub fn sign_in_userpass(
        nodes: &[String],
        mount: &str,
        userpass: &str,
        user: &str,
        password: &SecretString,
    ) -> Result<TeamVault> {
        let anon = Bao::new(nodes, SecretString::from(String::new()))?;
        let v = anon
            .post(
                &format!("auth/{userpass}/login/{user}"),
                &json!({"password": password.expose_secret()}),
            )
            .map_err(|e| match e {
                BaoError::Status { status: 400, .. } | BaoError::Forbidden { .. } => TeamError::invalid(
                    "sign-in",
                    "the user name or password is wrong, or the account is not a member of this team",
                ),
                other => other.into(),
            })?;
        let token = v["auth"]["client_token"]
            .as_str()
            .ok_or_else(|| TeamError::invalid("sign-in", "OpenBao gave no token"))?;
        Self::with_token(nodes, mount, SecretString::from(token.to_owned()))
    }

    /// Opens the team vault with a token (one kept in the keychain, or an
    /// OpenBao token given by IT).
    pub fn with_token(nodes: &[String], mount: &str, token: SecretString) -> Result<TeamVault> {
        let bao = Bao::new(nodes, token)?;
        let me = lookup_self(&bao, mount)?;
        Ok(TeamVault {
            bao,
            mount: mount.to_owned(),
            me,
            policy: keywarden_core::Policy::load_system(),
        })
    }

    /// The IT policy this session applies.
    pub fn policy(&self) -> &keywarden_core::Policy {
        &self.policy
    }

    /// Applies `policy` instead of the machine's (tests, and embedders
    /// that loaded it already).
    pub fn with_policy(mut self, policy: keywarden_core::Policy) -> TeamVault {
        self.policy = policy;
        self
    }

    pub fn identity(&self) -> &Identity {
        &self.me
    }

    pub fn token(&self) -> &SecretString {
        self.bao.token()
    }

    pub fn mount(&self) -> &str {
        &self.mount
    }

    pub fn client(&self) -> &Bao {
        &self.bao
    }

    pub fn client_mut(&mut self) -> &mut Bao {
        &mut self.bao
    }

    /// Renews the token when less than a third of `period_seconds` is
    /// left (call it on a timer); the seconds left afterwards.
    pub fn renew_if_due(&mut self, period_seconds: u64) -> Result<u64> {
        let now = lookup_self(&self.bao, &self.mount)?;
        self.me = now;
        if !self.me.renewable || self.me.ttl_seconds == 0 || self.me.ttl_seconds.saturating_mul(3) > period_seconds {
            return Ok(self.me.ttl_seconds);
        }
        let v = self.bao.post(
            "auth/token/renew-self",
            &json!({"increment": format!("{period_seconds}s")}),
        )?;
        self.me.ttl_seconds = v["auth"]["lease_duration"].as_u64().unwrap_or(self.me.ttl_seconds);
        Ok(self.me.ttl_seconds)
    }

    /// Revokes the token at OpenBao: it no longer opens anything,
    /// wherever a copy of it may be.
    pub fn sign_out(self) -> Result<()> {
        self.bao.post("auth/token/revoke-self", &json!({}))?;
        Ok(())
    }

    fn path(&self, rel: &str, kind: &str) -> String {
        format!("{}/{kind}/{rel}", self.mount)
    }

    fn now() -> String {
        crate::now()
    }
}

/// The token's identity and the team roles its groups give it.
pub(crate) fn lookup_self(bao: &Bao, mount: &str) -> Result<Identity> {
    let v = bao.get("auth/token/lookup-self").map_err(|e| match e {
        BaoError::Forbidden { .. } => TeamError::SignedOut,
        other => other.into(),
    })?;
    identity_from(&v, mount)
}

/// The identity in OpenBao's answer to a token lookup.
pub(crate) fn identity_from(v: &Value, mount: &str) -> Result<Identity> {
    let d = &v["data"];
    let mut policies: Vec<String> = Vec::new();
    for key in ["policies", "identity_policies"] {
        if let Some(a) = d[key].as_array() {
            policies.extend(a.iter().filter_map(Value::as_str).map(str::to_owned));
        }
    }
    let roles = Role::ALL
        .into_iter()
        .filter(|r| {
            let name = policy_name(mount, r.as_str());
            // An owner holds the admin policy too; a viewer only "member".
            match r {
                Role::Viewer => policies.contains(&policy_name(mount, "member")),
                _ => policies.contains(&name),
            }
        })
        .collect();
    let entity_id = d["entity_id"].as_str().unwrap_or_default().to_owned();
    if entity_id.is_empty() {
        return Err(TeamError::invalid(
            "sign-in",
            "this token has no OpenBao identity (entity); team vaults need one so every change names its admin",
        ));
    }
    Ok(Identity {
        entity_id,
        display_name: d["display_name"].as_str().unwrap_or_default().to_owned(),
        roles,
        ttl_seconds: d["ttl"].as_u64().unwrap_or(0),
        renewable: d["renewable"].as_bool().unwrap_or(false),
    })
}

pub(crate) fn sharing_words(s: Sharing) -> &'static str {
    match s {
        Sharing::Personal => "personal",
        Sharing::Use => "shared: use only",
        Sharing::View => "shared: view",
        Sharing::Manage => "shared: manage",
    }
}
