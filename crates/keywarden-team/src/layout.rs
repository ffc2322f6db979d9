//! Where a team vault keeps what, and the OpenBao policies that decide
//! who may touch it. The path of every credential encodes its sharing and
//! its creator, so a handful of static, templated policies enforce roles
//! and sharing inside OpenBao: no policy is rewritten when a credential is
//! added or shared, and nothing Keywarden's UI hides is merely hidden.
//!
//! Inside the team's KV v2 mount `M`:
//!
//! | path | data | custom metadata |
//! |---|---|---|
//! | `c/personal/<creator>/<id>` | the secret fields | the card |
//! | `c/shared/<use\|view\|manage>/<creator>/<id>` | the secret fields | the card |
//! | `cfg/<same suffix>` | the configuration (non-secret fields) | — |
//! | `n/shared/<name hash>`, `n/personal/<creator>/<name hash>` | the id holding the name | — |
//! | `a/e/<writer>/<seq>-<nonce>` | one audit event | — |
//! | `a/head` | the chain's last sequence number and hash | — |
//! | `pk/<key id>` | — | a partner key's hash, scopes, expiry and revocation flag |
//! | `pkhk` | the team's partner-key hash key | — |
//!
//! `<creator>` and `<writer>` are OpenBao entity ids. Policies template them
//! with `{{identity.entity.id}}`, so a path under someone's id can only be
//! written by that person: the audit event's path *is* OpenBao's proof of
//! who wrote it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::TeamError;

/// A person's role in the whole team (an OpenBao identity group each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything an admin can do, on every shared credential whatever its
    /// sharing level, plus members and roles.
    Owner,
    /// Adds credentials; manages their own and those shared with "manage";
    /// sees the configuration of those shared with "view" or "manage".
    Admin,
    /// Reads what is shared (cards; configuration at "view" or more), runs
    /// validations through the broker; writes nothing.
    Viewer,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Owner, Role::Admin, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Viewer => "viewer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = TeamError;
    fn from_str(s: &str) -> Result<Self, TeamError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "owner" => Ok(Role::Owner),
            "admin" => Ok(Role::Admin),
            "viewer" => Ok(Role::Viewer),
            other => Err(TeamError::invalid(
                "role",
                format!("'{other}' is not a role; use owner, admin or viewer"),
            )),
        }
    }
}

/// What a role lets its holder do, in words (`kw team` and the app).
pub fn role_words(role: Option<Role>) -> &'static str {
    match role {
        Some(Role::Owner) => {
            "Owner: everything an admin can, on every shared credential, plus adding members and setting roles. Never reads a shared secret."
        }
        Some(Role::Admin) => {
            "Admin: adds credentials; edits and deletes your own and those shared with Manage; sees the configuration of those shared with View or Manage. Never reads a shared secret."
        }
        Some(Role::Viewer) => "Viewer: sees what is shared (its configuration from View); changes nothing.",
        None => "No role in this team: nothing is open to you. Ask an owner.",
    }
}

/// Who besides its creator may do what with one credential (the seeds'
/// "Personal (Default)" and "Share with team: Use only / View / Manage").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Sharing {
    /// Only its creator sees it, uses it, changes it.
    #[default]
    Personal,
    /// The team sees its card and can have the broker validate it or use
    /// it in workflows; nobody reads its secret.
    Use,
    /// As `Use`, and the team sees its configuration.
    View,
    /// As `View`, and admins may rotate, edit and delete it.
    Manage,
}

impl Sharing {
    pub const ALL: [Sharing; 4] = [Sharing::Personal, Sharing::Use, Sharing::View, Sharing::Manage];

    pub fn as_str(self) -> &'static str {
        match self {
            Sharing::Personal => "personal",
            Sharing::Use => "use",
            Sharing::View => "view",
            Sharing::Manage => "manage",
        }
    }
}

impl fmt::Display for Sharing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Sharing {
    type Err = TeamError;
    fn from_str(s: &str) -> Result<Self, TeamError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "personal" => Ok(Sharing::Personal),
            "use" => Ok(Sharing::Use),
            "view" => Ok(Sharing::View),
            "manage" => Ok(Sharing::Manage),
            other => Err(TeamError::invalid(
                "sharing",
                format!("'{other}' is not a sharing level; use personal, use, view or manage"),
            )),
        }
    }
}

/// The paths of one credential inside the mount (without the mount).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialPath {
    pub sharing: Sharing,
    pub creator: String,
    pub id: String,
}

impl CredentialPath {
    /// `personal/<creator>/<id>` or `shared/<level>/<creator>/<id>`.
    pub fn suffix(&self) -> String {
        match self.sharing {
            Sharing::Personal => format!("personal/{}/{}", self.creator, self.id),
            level => format!("shared/{}/{}/{}", level, self.creator, self.id),
        }
    }

    /// The secret and its card.
    pub fn secret(&self) -> String {
        format!("c/{}", self.suffix())
    }

    /// The non-secret configuration.
    pub fn config(&self) -> String {
        format!("cfg/{}", self.suffix())
    }

    /// The credential's id, the same across moves: a move writes the
    /// credential under `<id>~<nonce>`, so two moves never collide.
    pub fn credential_id(&self) -> &str {
        self.id.split('~').next().unwrap_or(&self.id)
    }

    /// The storage key of this credential moved to `sharing`: fresh each
    /// time.
    pub fn moved_to(&self, sharing: Sharing) -> CredentialPath {
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        CredentialPath {
            sharing,
            creator: self.creator.clone(),
            id: format!("{}~{}", self.credential_id(), &nonce[..12]),
        }
    }

    /// Parses what `suffix` wrote (`personal/<creator>/<id>` or
    /// `shared/<level>/<creator>/<id>`).
    pub fn from_suffix(suffix: &str) -> Option<CredentialPath> {
        if let Some(rest) = suffix.strip_prefix("shared/") {
            return Self::from_shared_key(rest);
        }
        let rest = suffix.strip_prefix("personal/")?;
        let (creator, id) = rest.split_once('/')?;
        (!creator.is_empty() && !id.is_empty() && !id.contains('/')).then(|| CredentialPath {
            sharing: Sharing::Personal,
            creator: creator.to_owned(),
            id: id.to_owned(),
        })
    }

    /// Parses a key of a scan of `c/shared/` (`<level>/<creator>/<id>`).
    pub fn from_shared_key(key: &str) -> Option<CredentialPath> {
        let mut parts = key.split('/');
        let level = parts.next()?.parse::<Sharing>().ok()?;
        let creator = parts.next()?;
        let id = parts.next()?;
        (level != Sharing::Personal && parts.next().is_none() && !creator.is_empty() && !id.is_empty()).then(|| {
            CredentialPath {
                sharing: level,
                creator: creator.to_owned(),
                id: id.to_owned(),
            }
        })
    }
}

/// The name claim of a credential: one KV entry per name, created with
/// check-and-set 0, so two admins adding the same name at once cannot both
/// win. Names are compared without case, as the local vault does.
pub fn name_claim(sharing: Sharing, creator: &str, name: &str) -> String {
    let hash = hex::encode(Sha256::digest(name.to_lowercase().as_bytes()));
    match sharing {
        Sharing::Personal => format!("n/personal/{creator}/{hash}"),
        _ => format!("n/shared/{hash}"),
    }
}

/// The team's audit head and events.
pub const AUDIT_HEAD: &str = "a/head";

/// The key of one audit event below `a/e/`: its writer's entity id
/// first, so the writer policy's `a/e/{{identity.entity.id}}/*` decides
/// who can create it.
pub fn audit_event(writer: &str, seq: u64, nonce: &str) -> String {
    format!("{writer}/{seq:012}-{nonce}")
}

/// The names of the OpenBao objects of a team mounted at `mount`.
pub fn policy_name(mount: &str, what: &str) -> String {
    format!("kw-{mount}-{what}")
}

pub fn group_name(mount: &str, role: Role) -> String {
    format!("kw-{mount}-{role}s")
}

/// The templated entity id of the caller, as OpenBao policies spell it.
const ME: &str = "{{identity.entity.id}}";

/// The shared levels, as path segments.
const LEVELS: [&str; 3] = ["use", "view", "manage"];

// How these policies are written: OpenBao does not add up the rules of
// different paths that match one request; the most specific path wins
// (a later first wildcard, then fewer `+` segments). Rules for the very
// same path string are merged across policies. So there is no `+` here:
// every level is spelled out, the creator's rules (`…/<level>/<me>/*`)
// are more specific than the team's (`…/<level>/*`) and carry everything
// the creator needs, and where two roles speak of one path they use the
// same string, so a member who is also an admin gets both.

fn rule(out: &mut String, path: String, caps: &[&str]) {
    let caps: Vec<String> = caps.iter().map(|c| format!("\"{c}\"")).collect();
    out.push_str(&format!("path \"{path}\" {{ capabilities = [{}] }}\n", caps.join(", ")));
}

/// Every team member, whatever the role: reads shared cards, the
/// configuration of what is shared with "view" or more, their own personal
/// cards and configuration, and the shared name claims.
pub fn member_policy(m: &str) -> String {
    let mut p = String::from("# Keywarden team vault: every member (written by Keywarden; edits are overwritten)\n");
    rule(&mut p, format!("{m}/detailed-metadata/c/shared/*"), &["list", "scan"]);
    for l in LEVELS {
        rule(&mut p, format!("{m}/metadata/c/shared/{l}/*"), &["read"]);
    }
    rule(&mut p, format!("{m}/data/cfg/shared/view/*"), &["read"]);
    rule(&mut p, format!("{m}/data/cfg/shared/manage/*"), &["read"]);
    rule(
        &mut p,
        format!("{m}/detailed-metadata/c/personal/{ME}/*"),
        &["list", "scan"],
    );
    rule(&mut p, format!("{m}/metadata/c/personal/{ME}/*"), &["read"]);
    rule(&mut p, format!("{m}/data/cfg/personal/{ME}/*"), &["read"]);
    rule(&mut p, format!("{m}/data/n/shared/*"), &["read"]);
    p
}

/// Admins and owners: add credentials (personal, or shared under their own
/// id), change and delete their own, change and delete those shared with
/// "manage", write audit events under their own id. They read the secret
/// of their personal credentials only, never a shared one.
pub fn admin_policy(m: &str) -> String {
    let mut p = String::from("# Keywarden team vault: admins (written by Keywarden; edits are overwritten)\n");
    let all = ["create", "update", "read", "delete"];
    // Their personal space.
    rule(
        &mut p,
        format!("{m}/data/c/personal/{ME}/*"),
        &["create", "update", "read"],
    );
    rule(&mut p, format!("{m}/metadata/c/personal/{ME}/*"), &all);
    rule(&mut p, format!("{m}/destroy/c/personal/{ME}/*"), &["update"]);
    rule(
        &mut p,
        format!("{m}/data/cfg/personal/{ME}/*"),
        &["create", "update", "read"],
    );
    rule(&mut p, format!("{m}/metadata/cfg/personal/{ME}/*"), &["read", "delete"]);
    rule(
        &mut p,
        format!("{m}/data/n/personal/{ME}/*"),
        &["create", "update", "read"],
    );
    rule(&mut p, format!("{m}/metadata/n/personal/{ME}/*"), &["read", "delete"]);
    // What they created and shared: everything but reading the secret.
    for l in LEVELS {
        rule(&mut p, format!("{m}/data/c/shared/{l}/{ME}/*"), &["create", "update"]);
        rule(&mut p, format!("{m}/metadata/c/shared/{l}/{ME}/*"), &all);
        rule(&mut p, format!("{m}/destroy/c/shared/{l}/{ME}/*"), &["update"]);
        rule(
            &mut p,
            format!("{m}/data/cfg/shared/{l}/{ME}/*"),
            &["create", "update", "read"],
        );
        rule(
            &mut p,
            format!("{m}/metadata/cfg/shared/{l}/{ME}/*"),
            &["read", "delete"],
        );
    }
    // What others shared with "manage".
    rule(&mut p, format!("{m}/data/c/shared/manage/*"), &["update"]);
    rule(
        &mut p,
        format!("{m}/metadata/c/shared/manage/*"),
        &["update", "read", "delete"],
    );
    rule(&mut p, format!("{m}/destroy/c/shared/manage/*"), &["update"]);
    rule(&mut p, format!("{m}/data/cfg/shared/manage/*"), &["update", "read"]);
    rule(&mut p, format!("{m}/metadata/cfg/shared/manage/*"), &["read", "delete"]);
    rule(&mut p, format!("{m}/data/n/shared/*"), &["create", "update", "read"]);
    rule(&mut p, format!("{m}/metadata/n/shared/*"), &["read", "delete"]);
    // Partner keys: hashes and revocation flags (never the keys).
    rule(&mut p, format!("{m}/metadata/pk/*"), &["create", "update", "read"]);
    rule(&mut p, format!("{m}/detailed-metadata/pk/*"), &["list", "scan"]);
    rule(&mut p, format!("{m}/data/pkhk"), &["create", "read"]);
    audit_rules(&mut p, m);
    p
}

/// Writing audit events under one's own id (create only: an event is
/// never rewritten), reading the chain, moving its head.
fn audit_rules(p: &mut String, m: &str) {
    rule(p, format!("{m}/data/a/e/{ME}/*"), &["create", "read"]);
    rule(p, format!("{m}/data/a/e/*"), &["read"]);
    rule(p, format!("{m}/data/a/head"), &["create", "update", "read"]);
    rule(p, format!("{m}/metadata/a/head"), &["read"]);
}

/// Owners: manage every shared credential at any level (never read its
/// secret), read the whole audit, add members and set their roles.
pub fn owner_policy(m: &str, userpass: &str) -> String {
    let mut p = String::from("# Keywarden team vault: owners (written by Keywarden; edits are overwritten)\n");
    for l in LEVELS {
        rule(&mut p, format!("{m}/data/c/shared/{l}/*"), &["update"]);
        rule(
            &mut p,
            format!("{m}/metadata/c/shared/{l}/*"),
            &["update", "read", "delete"],
        );
        rule(&mut p, format!("{m}/destroy/c/shared/{l}/*"), &["update"]);
        rule(&mut p, format!("{m}/data/cfg/shared/{l}/*"), &["update", "read"]);
        rule(&mut p, format!("{m}/metadata/cfg/shared/{l}/*"), &["read", "delete"]);
    }
    rule(&mut p, format!("{m}/metadata/n/shared/*"), &["read", "delete"]);
    rule(&mut p, format!("{m}/detailed-metadata/a/*"), &["list", "scan"]);
    // Members and roles, and nothing that would let an owner become
    // someone else: new users only (no password reset, no deletion, which
    // would let a re-created name inherit someone's identity), never a
    // token policy; group membership only, never a group's policies; no
    // entity or alias writes; no policy writes (IT's, with `kw team create`).
    p.push_str(&format!(
        "path \"auth/{userpass}/users/*\" {{ capabilities = [\"create\", \"read\"] denied_parameters = {{ \"token_policies\" = [], \"policies\" = [] }} }}\n"
    ));
    for role in ["owners", "admins", "viewers"] {
        p.push_str(&format!(
            "path \"identity/group/name/kw-{m}-{role}\" {{ capabilities = [\"read\", \"update\"] denied_parameters = {{ \"policies\" = [], \"type\" = [], \"metadata\" = [] }} }}\n"
        ));
    }
    rule(&mut p, "identity/lookup/entity".into(), &["create", "update"]);
    rule(&mut p, "sys/auth".into(), &["read"]);
    p
}

/// The broker (`kw serve` for a team): reads shared secrets to validate or
/// hand them to a workflow on behalf of a member whose own token OpenBao
/// lets see the card, and moves a credential between sharing levels for
/// a member whose own token OpenBao lets create the destination. The only
/// identity that reads a shared secret; nothing personal is open to it.
pub fn broker_policy(m: &str) -> String {
    let mut p = String::from("# Keywarden team vault: the broker (written by Keywarden; edits are overwritten)\n");
    rule(&mut p, format!("{m}/detailed-metadata/c/shared/*"), &["list", "scan"]);
    for l in LEVELS {
        rule(
            &mut p,
            format!("{m}/data/c/shared/{l}/*"),
            &["create", "update", "read"],
        );
        rule(
            &mut p,
            format!("{m}/metadata/c/shared/{l}/*"),
            &["create", "update", "read", "delete"],
        );
        rule(&mut p, format!("{m}/destroy/c/shared/{l}/*"), &["update"]);
        rule(
            &mut p,
            format!("{m}/data/cfg/shared/{l}/*"),
            &["create", "update", "read"],
        );
        rule(&mut p, format!("{m}/metadata/cfg/shared/{l}/*"), &["read", "delete"]);
    }
    rule(&mut p, format!("{m}/data/n/shared/*"), &["create", "update", "read"]);
    rule(&mut p, format!("{m}/metadata/n/shared/*"), &["read", "delete"]);
    // The verifier's index of partner keys.
    rule(&mut p, format!("{m}/metadata/pk/*"), &["read"]);
    rule(&mut p, format!("{m}/detailed-metadata/pk/*"), &["list", "scan"]);
    rule(&mut p, format!("{m}/data/pkhk"), &["read"]);
    audit_rules(&mut p, m);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_scan_key_parses_back_to_its_path_and_nothing_else_does() {
        let p = CredentialPath::from_shared_key("manage/e1/c1").unwrap();
        assert_eq!(p.secret(), "c/shared/manage/e1/c1");
        assert_eq!(p.config(), "cfg/shared/manage/e1/c1");
        for bad in [
            "personal/e1/c1",
            "manage/e1",
            "manage/e1/c1/x",
            "nope/e1/c1",
            "manage//c1",
        ] {
            assert!(CredentialPath::from_shared_key(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn name_claims_ignore_case_and_keep_personal_names_apart() {
        assert_eq!(
            name_claim(Sharing::Use, "e1", "Pleo"),
            name_claim(Sharing::Manage, "e2", "pleo")
        );
        assert_ne!(
            name_claim(Sharing::Personal, "e1", "Pleo"),
            name_claim(Sharing::Personal, "e2", "Pleo")
        );
        assert!(!name_claim(Sharing::Use, "e1", "a/b").contains("a/b"));
    }
}
