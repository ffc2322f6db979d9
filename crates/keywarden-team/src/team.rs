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

    /// Every credential the member can see: the team's shared ones and
    /// their own personal ones. Two requests, whatever the count.
    pub fn list(&self) -> Result<Vec<Card>> {
        let mut cards = self.scan()?.cards;
        cards.sort_by_key(|c| c.name.to_lowercase());
        Ok(cards)
    }

    fn scan(&self) -> Result<Scan> {
        let mut entries: Vec<(CredentialPath, Value)> = Vec::new();
        for (key, meta) in self.scan_prefix("c/shared/")? {
            if let Some(p) = CredentialPath::from_shared_key(&key) {
                entries.push((p, meta));
            }
        }
        let mine = format!("c/personal/{}/", self.me.entity_id);
        // The broker has no personal space: its scan of one is refused.
        let personal = match self.scan_prefix(&mine) {
            Ok(p) => p,
            Err(TeamError::NotAllowed { .. }) => Vec::new(),
            Err(e) => return Err(e),
        };
        for (key, meta) in personal {
            if !key.contains('/') {
                let p = CredentialPath {
                    sharing: Sharing::Personal,
                    creator: self.me.entity_id.clone(),
                    id: key,
                };
                entries.push((p, meta));
            }
        }
        let mut scan = Scan {
            cards: Vec::new(),
            tombstones: Vec::new(),
            moved: Vec::new(),
            orphans: Vec::new(),
            uncommitted: Vec::new(),
        };
        let mut moving = Vec::new();
        for (p, meta) in entries {
            match state(&meta) {
                Some(State::Live) => scan.cards.extend(Card::from_metadata(p, &meta)?),
                Some(State::Deleting) => scan.tombstones.push(p),
                Some(State::Moved { to }) => scan.moved.push((p, to)),
                Some(State::Moving) => moving.push((p, meta)),
                // No card yet: an add that has not committed.
                None => {
                    let created = meta["created_time"].as_str().unwrap_or_default().to_owned();
                    scan.uncommitted.push((p, created));
                }
            }
        }
        // A move's target is in force once its source says it moved there.
        for (p, meta) in moving {
            if scan.moved.iter().any(|(_, to)| *to == p.suffix()) {
                scan.cards.extend(Card::parse(p, &meta)?);
            } else {
                let from = meta["custom_metadata"]["moved_from"].as_str().map(str::to_owned);
                if let Some(card) = Card::parse(p, &meta)? {
                    scan.orphans.push((card, from));
                }
            }
        }
        Ok(scan)
    }

    /// Finishes what others left half-done, as far as this member's role
    /// allows (best effort: what is refused waits for someone who may).
    /// A committed move: the target's card goes live, then the source
    /// goes. A committed delete: the entries go. True when it changed
    /// anything.
    fn sweep(&self, scan: &Scan) -> bool {
        let mut changed = false;
        for (from, to) in &scan.moved {
            if let Some(card) = scan.cards.iter().find(|c| c.path.suffix() == *to) {
                let flipped = self.bao.post(
                    &self.path(&card.path.secret(), "metadata"),
                    &json!({"custom_metadata": card.to_metadata(), "metadata_cas": card.revision}),
                );
                if flipped.is_err() {
                    continue;
                }
                // The name's claim says where the credential is now.
                let claim = self.path(&name_claim(card.path.sharing, &card.path.creator, &card.name), "data");
                let _ = self.bao.post(
                    &claim,
                    &json!({"data": {"id": card.id(), "path": card.path.suffix(), "at": Self::now()}}),
                );
            }
            changed |= self.remove_entries(from).is_ok();
        }
        for p in &scan.tombstones {
            changed |= self.remove_entries(p).is_ok();
        }
        // A move's target whose source this scan did not show as moved: ask
        // the source itself. Moved here (or gone): the move committed, so
        // the target goes live. Still in force: the move never committed;
        // after an hour (far beyond any move in flight) the target goes.
        // Not readable by this member: left alone.
        let an_hour_ago = OffsetDateTime::now_utc() - time::Duration::hours(1);
        for (orphan, from) in &scan.orphans {
            let Some(source) = from.as_deref().and_then(CredentialPath::from_suffix) else {
                continue;
            };
            match self.bao.get(&self.path(&source.secret(), "metadata")) {
                Ok(v) => match state(&v["data"]) {
                    Some(State::Moved { to }) if to == orphan.path.suffix() => {
                        changed |= self.finish_move(orphan, &source);
                    }
                    _ => {
                        let stale = OffsetDateTime::parse(&orphan.updated_at, &Rfc3339).is_ok_and(|t| t < an_hour_ago);
                        if stale {
                            changed |= self.remove_entries(&orphan.path).is_ok();
                        }
                    }
                },
                Err(BaoError::NotFound { .. }) => changed |= self.finish_move(orphan, &source),
                Err(_) => {}
            }
        }
        // Adds that never wrote their card: entries nobody reads.
        for (path, created) in &scan.uncommitted {
            let stale = OffsetDateTime::parse(created, &Rfc3339).is_ok_and(|t| t < an_hour_ago);
            if stale {
                changed |= self.remove_entries(path).is_ok();
            }
        }
        changed
    }

    /// The target of a committed move goes live; then its source goes.
    fn finish_move(&self, target: &Card, source: &CredentialPath) -> bool {
        let live = self.bao.post(
            &self.path(&target.path.secret(), "metadata"),
            &json!({"custom_metadata": target.to_metadata(), "metadata_cas": target.revision}),
        );
        if live.is_err() {
            return false;
        }
        let _ = self.remove_entries(source);
        true
    }

    /// `SCAN` of the detailed metadata below `prefix`; nothing there is
    /// an empty list.
    fn scan_prefix(&self, prefix: &str) -> Result<Vec<(String, Value)>> {
        match self.bao.scan(&self.path(prefix, "detailed-metadata")) {
            Ok(v) => Ok(v["data"]["key_info"]
                .as_object()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default()),
            Err(BaoError::NotFound { .. }) => Ok(Vec::new()),
            Err(e) => Err(self.refused(e, "list the team's credentials")),
        }
    }

    /// OpenBao's refusal, in words the member can act on.
    pub(crate) fn refused(&self, e: BaoError, what: &str) -> TeamError {
        match e {
            BaoError::Forbidden { path, .. } => TeamError::NotAllowed {
                what: what.to_owned(),
                path,
            },
            other => other.into(),
        }
    }

    /// A credential by name (without case) or id. By name it costs a few
    /// requests whatever the vault's size (the name claims say where the
    /// card is); by id, or when a claim is stale, a scan.
    pub fn find(&self, name: &str) -> Result<Card> {
        match self.located(name)?.as_slice() {
            [one] => Ok(one.clone()),
            _ => self.find_in(&self.scan()?, name),
        }
    }

    /// `find` before a change: a credential whose move or delete stopped
    /// half-way is finished first (a scan and sweep; rare).
    fn find_for_change(&self, name: &str) -> Result<Card> {
        if let [one] = self.located(name)?.as_slice() {
            return Ok(one.clone());
        }
        let mut scan = self.scan()?;
        if self.sweep(&scan) {
            scan = self.scan()?;
        }
        self.find_in(&scan, name)
    }

    /// The live cards the name claims of `name` point at: the shared one
    /// and this member's personal one. Claims that point at a card not in
    /// force (a move or delete under way, a dead add) are passed over; the
    /// callers then scan.
    fn located(&self, name: &str) -> Result<Vec<Card>> {
        let mut out = Vec::new();
        for sharing in [Sharing::Use, Sharing::Personal] {
            let claim = self.path(&name_claim(sharing, &self.me.entity_id, name), "data");
            let v = match self.bao.get(&claim) {
                Ok(v) => v,
                Err(BaoError::NotFound { .. } | BaoError::Forbidden { .. }) => continue,
                Err(e) => return Err(e.into()),
            };
            let Some(path) = v["data"]["data"]["path"].as_str().and_then(CredentialPath::from_suffix) else {
                continue;
            };
            if let Some(card) = self.entry_at(&path)?
                && card.name.to_lowercase() == name.to_lowercase()
            {
                out.push(card);
            }
        }
        Ok(out)
    }

    /// The live card at `path`, if any (and if this member may see it).
    fn entry_at(&self, path: &CredentialPath) -> Result<Option<Card>> {
        match self.bao.get(&self.path(&path.secret(), "metadata")) {
            Ok(v) => Card::from_metadata(path.clone(), &v["data"]),
            Err(BaoError::NotFound { .. } | BaoError::Forbidden { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn find_in(&self, scan: &Scan, name: &str) -> Result<Card> {
        if let Some(c) = scan.cards.iter().find(|c| c.id() == name) {
            return Ok(c.clone());
        }
        let named: Vec<&Card> = scan
            .cards
            .iter()
            .filter(|c| c.name.to_lowercase() == name.to_lowercase())
            .collect();
        match named.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(TeamError::NotFound { name: name.to_owned() }),
            // Someone's personal credential may share a name with one
            // shared later: never guess which is meant.
            _ => Err(TeamError::invalid(
                "name",
                format!(
                    "{} credentials you can see are named '{name}'; give its id instead ({})",
                    named.len(),
                    named.iter().map(|c| c.id()).collect::<Vec<_>>().join(", ")
                ),
            )),
        }
    }

    /// The card and, where the member may see it, the configuration.
    pub fn show(&self, name: &str) -> Result<TeamCredential> {
        let card = self.find(name)?;
        let config = match self.read_config(&card) {
            Ok(c) => Some(c),
            Err(TeamError::NotAllowed { .. }) => None,
            Err(e) => return Err(e),
        };
        Ok(TeamCredential { card, config })
    }

    /// What this member may do with `card`, in one question to OpenBao.
    pub fn abilities(&self, card: &Card) -> Result<Abilities> {
        let data = self.path(&card.path.secret(), "data");
        let meta = self.path(&card.path.secret(), "metadata");
        let config = self.path(&card.path.config(), "data");
        // Sharing moves the card to another level under the same creator:
        // asking about the "manage" place (or "view" from "manage") tells
        // whether this token may write there.
        let other_level = if card.path.sharing == Sharing::Manage {
            Sharing::View
        } else {
            Sharing::Manage
        };
        let elsewhere = CredentialPath {
            sharing: other_level,
            ..card.path.clone()
        };
        let moved = self.path(&elsewhere.secret(), "metadata");
        let paths = [&data, &meta, &config, &moved];
        let v = self
            .bao
            .post("sys/capabilities-self", &json!({"paths": paths}))
            .map_err(|e| self.refused(e, "ask OpenBao what you may do"))?;
        let caps = |p: &str| -> Vec<String> {
            v["data"][p]
                .as_array()
                .or(v[p].as_array())
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default()
        };
        let has = |p: &str, c: &str| caps(p).iter().any(|x| x == c || x == "root");
        Ok(Abilities {
            see_config: has(&config, "read"),
            rotate: has(&data, "update") && has(&meta, "update"),
            edit: has(&meta, "update") && has(&config, "update"),
            delete: has(&meta, "delete"),
            share: has(&meta, "update") && has(&moved, "update"),
        })
    }

    fn read_config(&self, card: &Card) -> Result<BTreeMap<String, String>> {
        let path = format!(
            "{}?version={}",
            self.path(&card.path.config(), "data"),
            card.config_version
        );
        let v = self
            .bao
            .get(&path)
            .map_err(|e| self.refused(e, "see this credential's configuration"))?;
        serde_json::from_value(v["data"]["data"].clone()).map_err(|_| {
            TeamError::invalid(
                "configuration",
                format!("the configuration of '{}' is not readable", card.name),
            )
        })
    }

    /// Adds a credential: claims its name, writes its configuration and
    /// secret, then its card (pointing at version 1 of each), the commit.
    /// Validation runs first, with the secret in hand.
    pub fn add(&self, new: NewTeamCredential, validator: &dyn Validator) -> Result<Card> {
        keywarden_core::model::validate_name("name", &new.name)?;
        check_format(new.kind, &new.config, &new.secrets)?;
        check_secret_fields(new.kind, &new.config, &new.secrets)?;
        let checked = validate_now(&self.policy, validator, &new.name, new.kind, &new.config, &new.secrets)?;
        let id = uuid::Uuid::new_v4().to_string();
        let path = CredentialPath {
            sharing: new.sharing,
            creator: self.me.entity_id.clone(),
            id: id.clone(),
        };
        // Names are unique among what a member sees: the claim covers the
        // space the credential goes to, this the other one.
        if !self.located(&new.name)?.is_empty() {
            return Err(TeamError::Duplicate { name: new.name });
        }
        self.claim_name(&path, &new.name)?;
        let card = Card {
            path: path.clone(),
            name: new.name.clone(),
            kind: new.kind,
            masked: masked_of(new.kind, &new.secrets),
            secret_fields: new.secrets.names().map(str::to_owned).collect(),
            secret_version: 1,
            config_version: 1,
            expires_at: new.expires_at.map(keywarden_core::timefmt::to_db),
            enabled: true,
            updated_by: self.me.entity_id.clone(),
            updated_by_name: self.me.display_name.clone(),
            updated_at: Self::now(),
            write_id: uuid::Uuid::new_v4().to_string(),
            revision: 1,
        };
        let what = "add credentials to this team vault";
        // The configuration and the secret first, the card last: until the
        // card is written nothing is listed, and an add that stops half-way
        // leaves entries nobody reads, removed by a later sweep.
        self.bao
            .post(
                &self.path(&path.config(), "data"),
                &json!({"options": {"cas": 0}, "data": new.config}),
            )
            .map_err(|e| self.refused(e, what))?;
        self.bao
            .post(
                &self.path(&path.secret(), "data"),
                &json!({"options": {"cas": 0}, "data": secret_json(&new.secrets)}),
            )
            .map_err(|e| self.refused(e, what))?;
        self.bao
            .post(
                &self.path(&path.secret(), "metadata"),
                &json!({"custom_metadata": card.to_metadata(), "metadata_cas": 0}),
            )
            .map_err(|e| self.refused(e, what))?;
        self.record(
            "credential.add",
            &card,
            format!(
                "added as {} ({}), {}",
                new.kind.label(),
                sharing_words(new.sharing),
                checked.words()
            ),
        )?;
        Ok(card)
    }

    /// Takes the name for `path.id`; a claim left by an add that died
    /// before its card was written is taken over once a minute old.
    fn claim_name(&self, path: &CredentialPath, name: &str) -> Result<()> {
        let claim = self.path(&name_claim(path.sharing, &path.creator, name), "data");
        let body = |cas: u64| {
            json!({"options": {"cas": cas},
                "data": {"id": path.credential_id(), "path": path.suffix(), "at": Self::now()}})
        };
        match self.bao.post(&claim, &body(0)) {
            Ok(_) => return Ok(()),
            Err(BaoError::CasMismatch { .. }) => {}
            Err(e) => return Err(self.refused(e, "add credentials to this team vault")),
        }
        let v = self.bao.get(&claim)?;
        let holder = v["data"]["data"]["id"].as_str().unwrap_or_default().to_owned();
        let version = v["data"]["metadata"]["version"].as_u64().unwrap_or(0);
        // A claim younger than a minute may be an add in flight whose card
        // is not written yet: the name is taken.
        let a_minute_ago = OffsetDateTime::now_utc() - time::Duration::minutes(1);
        let fresh = v["data"]["data"]["at"]
            .as_str()
            .and_then(|at| OffsetDateTime::parse(at, &Rfc3339).ok())
            .is_some_and(|at| at > a_minute_ago);
        let held = match v["data"]["data"]["path"].as_str().and_then(CredentialPath::from_suffix) {
            Some(p) => self.entry_at(&p)?.is_some(),
            // A claim without a path predates paths in claims: ask the scan.
            None => self.scan()?.cards.iter().any(|c| c.id() == holder),
        };
        if fresh || held {
            return Err(TeamError::Duplicate { name: name.to_owned() });
        }
        match self.bao.post(&claim, &body(version)) {
            Ok(_) => Ok(()),
            Err(BaoError::CasMismatch { .. }) => Err(TeamError::Duplicate { name: name.to_owned() }),
            Err(e) => Err(e.into()),
        }
    }

    /// Refuses a change made from an older revision than the card's.
    fn check_revision(card: &Card, expected: Option<u64>) -> Result<()> {
        match expected {
            Some(r) if r != card.revision => Err(Self::conflict(card, r)),
            _ => Ok(()),
        }
    }

    fn conflict(card: &Card, expected: u64) -> TeamError {
        TeamError::Conflict {
            name: card.name.clone(),
            by: card.updated_by_name.clone(),
            at: card.updated_at.clone(),
            expected,
            actual: card.revision,
        }
    }

    /// The conflict with a change another writer is making: their secret
    /// or configuration version is written, their card may not be yet.
    /// Waits a little for it, to name them and their revision.
    fn conflict_now(&self, card: &Card) -> TeamError {
        for _ in 0..25 {
            match self.read_card(&card.path) {
                Ok(Some(now)) if now.revision != card.revision => return Self::conflict(&now, card.revision),
                Ok(Some(_)) => std::thread::sleep(std::time::Duration::from_millis(20)),
                _ => break,
            }
        }
        TeamError::Conflict {
            name: card.name.clone(),
            by: "a change not committed yet (another admin's in progress, or this change's own first attempt whose answer was lost in a failover)".into(),
            at: Self::now(),
            expected: card.revision,
            actual: card.revision,
        }
    }

    /// Writes `next` over `card` by check-and-set on the card's revision.
    /// A mismatch re-reads the card: if our own write landed (a retry
    /// after a failover), that is success; otherwise it is the other
    /// writer's change, returned as a conflict naming them.
    fn commit(&self, card: &Card, mut next: Card, what: &str) -> Result<Card> {
        next.updated_by = self.me.entity_id.clone();
        next.updated_by_name = self.me.display_name.clone();
        next.updated_at = Self::now();
        next.write_id = uuid::Uuid::new_v4().to_string();
        let meta_path = self.path(&card.path.secret(), "metadata");
        let body = json!({"custom_metadata": next.to_metadata(), "metadata_cas": card.revision});
        match self.bao.post(&meta_path, &body) {
            Ok(_) => {
                next.revision = card.revision + 1;
                Ok(next)
            }
            Err(BaoError::CasMismatch { .. }) => {
                let now = self.read_card(&card.path)?;
                match now {
                    Some(now) if now.write_id == next.write_id => Ok(now),
                    Some(now) => Err(Self::conflict(&now, card.revision)),
                    None => Err(TeamError::NotFound {
                        name: card.name.clone(),
                    }),
                }
            }
            Err(e) => Err(self.refused(e, what)),
        }
    }

    fn read_card(&self, path: &CredentialPath) -> Result<Option<Card>> {
        match self.bao.get(&self.path(&path.secret(), "metadata")) {
            Ok(v) => Card::from_metadata(path.clone(), &v["data"]),
            Err(BaoError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Replaces the secret: validates it, writes it as a new KV version
    /// (check-and-set on the latest version), then commits the card to
    /// it. Until that commit the previous secret stays in force; after
    /// it, every older version is destroyed (DESIGN: the old secret is
    /// erased at the swap).
    pub fn rotate(
        &self,
        name: &str,
        secrets: SecretFields,
        expected_revision: Option<u64>,
        validator: &dyn Validator,
    ) -> Result<Card> {
        let card = self.find_for_change(name)?;
        Self::check_revision(&card, expected_revision)?;
        let what = "rotate this credential";
        let config = self.read_config(&card)?;
        check_format(card.kind, &config, &secrets)?;
        check_secret_fields(card.kind, &config, &secrets)?;
        let checked = validate_now(&self.policy, validator, &card.name, card.kind, &config, &secrets)?;
        let meta = self
            .bao
            .get(&self.path(&card.path.secret(), "metadata"))
            .map_err(|e| self.refused(e, what))?;
        let latest = meta["data"]["current_version"].as_u64().unwrap_or(0);
        let written = self
            .bao
            .post(
                &self.path(&card.path.secret(), "data"),
                &json!({"options": {"cas": latest}, "data": secret_json(&secrets)}),
            )
            .map_err(|e| match e {
                BaoError::CasMismatch { .. } => self.conflict_now(&card),
                other => self.refused(other, what),
            })?;
        let version = written["data"]["version"]
            .as_u64()
            .ok_or_else(|| TeamError::invalid("rotation", "OpenBao did not say which version it wrote"))?;
        let mut next = card.clone();
        next.secret_version = version;
        next.masked = masked_of(card.kind, &secrets);
        next.secret_fields = secrets.names().map(str::to_owned).collect();
        let done = match self.commit(&card, next, what) {
            Ok(done) => done,
            Err(e) => {
                // Not in force, never to be: the new secret goes now.
                let _ = self.bao.post(
                    &self.path(&card.path.secret(), "destroy"),
                    &json!({"versions": [version]}),
                );
                return Err(e);
            }
        };
        self.destroy_older(&card.path, version);
        self.record(
            "credential.rotate",
            &done,
            format!("secret replaced (version {version}), {}", checked.words()),
        )?;
        Ok(done)
    }

    /// Best effort: versions older than the one in force are destroyed.
    /// A failure leaves them for the next rotation (they are never read:
    /// the card names the version in force).
    fn destroy_older(&self, path: &CredentialPath, keep: u64) {
        // The last thousand at most: older ones were destroyed by earlier
        // rotations, and a forged huge number must not allocate without end.
        let versions: Vec<u64> = (keep.saturating_sub(1000).max(1)..keep).collect();
        if versions.is_empty() {
            return;
        }
        let _ = self
            .bao
            .post(&self.path(&path.secret(), "destroy"), &json!({"versions": versions}));
    }

    /// Changes the configuration, expiry or enabled flag.
    pub fn update(&self, name: &str, patch: TeamPatch, expected_revision: Option<u64>) -> Result<Card> {
        let card = self.find_for_change(name)?;
        Self::check_revision(&card, expected_revision)?;
        let what = "edit this credential";
        let mut next = card.clone();
        let mut changed = Vec::new();
        if let Some(config) = &patch.config {
            for (k, v) in config {
                keywarden_core::model::validate_word("configuration field", k)?;
                if v.len() > 2048 {
                    return Err(TeamError::invalid(k, "the value is longer than 2,048 characters"));
                }
            }
            // The provider decides which service is sent the secret, and an
            // editor may not be able to read it: only someone who enters
            // the secret may point it at another service.
            let before = self.read_config(&card)?;
            if config.get("provider") != before.get("provider") {
                return Err(TeamError::invalid(
                    "provider",
                    "the provider decides which service is sent the secret, so it cannot be edited; add the credential \
                     again with the new provider and its secret, then delete this one",
                ));
            }
            let cfg_meta = self
                .bao
                .get(&self.path(&card.path.config(), "metadata"))
                .map_err(|e| self.refused(e, what))?;
            let latest = cfg_meta["data"]["current_version"].as_u64().unwrap_or(0);
            let v = self
                .bao
                .post(
                    &self.path(&card.path.config(), "data"),
                    &json!({"options": {"cas": latest}, "data": config}),
                )
                .map_err(|e| match e {
                    BaoError::CasMismatch { .. } => self.conflict_now(&card),
                    other => self.refused(other, what),
                })?;
            next.config_version = v["data"]["version"].as_u64().unwrap_or(card.config_version);
            changed.push("configuration".to_owned());
        }
        if let Some(e) = patch.expires_at {
            next.expires_at = e.map(keywarden_core::timefmt::to_db);
            changed.push(format!("expiry {}", next.expires_at.as_deref().unwrap_or("none")));
        }
        if let Some(on) = patch.enabled {
            next.enabled = on;
            changed.push(if on { "enabled" } else { "disabled" }.to_owned());
        }
        if changed.is_empty() {
            return Ok(card);
        }
        let done = self.commit(&card, next, what)?;
        self.record("credential.update", &done, changed.join(", "))?;
        Ok(done)
    }

    /// Deletes a credential: a check-and-set deletion card first (the
    /// commit point, so a concurrent change is never deleted unseen),
    /// then the entries. A delete that stops half-way is finished by the
    /// next change anyone with the right makes.
    pub fn delete(&self, name: &str, expected_revision: Option<u64>) -> Result<()> {
        let scan = self.scan()?;
        let card = self.find_in(&scan, name)?;
        Self::check_revision(&card, expected_revision)?;
        let what = "delete this credential";
        let meta_path = self.path(&card.path.secret(), "metadata");
        let mut tomb = card.to_metadata();
        tomb["kw"] = json!("deleting");
        match self.bao.post(
            &meta_path,
            &json!({"custom_metadata": tomb, "metadata_cas": card.revision}),
        ) {
            Ok(_) => {}
            Err(BaoError::CasMismatch { .. }) => {
                return Err(match self.read_card(&card.path)? {
                    Some(now) => Self::conflict(&now, card.revision),
                    None => TeamError::NotFound { name: name.to_owned() },
                });
            }
            Err(e) => return Err(self.refused(e, what)),
        }
        self.record("credential.delete", &card, "deleted".into())?;
        let claim = self.path(
            &name_claim(card.path.sharing, &card.path.creator, &card.name),
            "metadata",
        );
        let _ = self.bao.delete(&claim);
        self.remove_entries(&card.path)?;
        self.sweep(&scan);
        Ok(())
    }

    /// Removes a credential's entries, every version: its configuration,
    /// then its secret and card.
    fn remove_entries(&self, path: &CredentialPath) -> Result<()> {
        let _ = self.bao.delete(&self.path(&path.config(), "metadata"));
        self.bao
            .delete(&self.path(&path.secret(), "metadata"))
            .map_err(|e| self.refused(e, "delete this credential"))?;
        Ok(())
    }

    /// Shares a personal credential with the team at `sharing`: its
    /// creator reads the secret (theirs) and writes it under the shared
    /// path, then removes the personal entry. Changing the level of an
    /// already shared credential needs its secret, which no member reads:
    /// the broker does it ([`crate::TeamBroker::reshare`]).
    pub fn share(&self, name: &str, sharing: Sharing, expected_revision: Option<u64>) -> Result<Card> {
        let card = self.find_for_change(name)?;
        Self::check_revision(&card, expected_revision)?;
        if card.path.sharing == sharing {
            return Ok(card);
        }
        if card.path.sharing != Sharing::Personal {
            return Err(TeamError::invalid(
                "sharing",
                "the level of a shared credential is changed through the team broker (kw team share on a machine running kw serve --team)",
            ));
        }
        let what = "share this credential";
        let secret = self
            .bao
            .get(&format!(
                "{}?version={}",
                self.path(&card.path.secret(), "data"),
                card.secret_version
            ))
            .map_err(|e| self.refused(e, what))?;
        let config = self.read_config(&card)?;
        let to = card.path.moved_to(sharing);
        // The shared name first: if the team already has one by that name,
        // nothing moves.
        self.claim_name(&to, &card.name)?;
        let moved = move_entry(
            &self.bao,
            &self.mount,
            &card,
            &to,
            &secret["data"]["data"],
            &config,
            &self.me,
        )
        .map_err(|e| match e {
            TeamError::Bao(b) => self.refused(b, what),
            other => other,
        })?;
        let _ = self.bao.delete(&self.path(
            &name_claim(Sharing::Personal, &card.path.creator, &card.name),
            "metadata",
        ));
        self.record(
            "credential.share",
            &moved,
            format!("{} → {}", sharing_words(card.path.sharing), sharing_words(sharing)),
        )?;
        Ok(moved)
    }

    /// The last `limit` events of the team's audit chain, newest first.
    pub fn audit(&self, limit: usize) -> Result<Vec<TeamEvent>> {
        audit::recent(&self.bao, &self.mount, limit).map_err(|e| match e {
            TeamError::Bao(b) => self.refused(b, "read the team's audit log"),
            other => other,
        })
    }

    /// Verifies the whole chain; the number of events.
    pub fn verify_audit(&self) -> Result<u64> {
        audit::verify(&self.bao, &self.mount)
    }

    fn record(&self, action: &str, card: &Card, detail: String) -> Result<TeamEvent> {
        audit::append_committed(
            &self.bao,
            &self.mount,
            &Self::now(),
            Entry {
                actor_entity: &self.me.entity_id,
                actor_name: &self.me.display_name,
                action,
                credential_id: card.id(),
                credential_name: &card.name,
                detail,
            },
        )
    }
}

/// Moves a credential to another path (another sharing level). The
/// source card is the commit point, as for every change:
/// 1. the secret and configuration are written at the target, and the
///    target's card marked `moving` (not in force);
/// 2. the source card becomes `moved` by check-and-set — the move is
///    committed, and a concurrent change to the source is refused, never
///    lost;
/// 3. the target card goes live and the source entries are removed
///    (anyone's next change finishes this if the mover stopped here).
///
/// Stopped before 2, the source is still the credential in force and the
/// target (a fresh key: `CredentialPath::moved_to`) an orphan nobody reads,
/// removed by the next sweep once it is an hour old.
pub(crate) fn move_entry(
    bao: &Bao,
    mount: &str,
    card: &Card,
    to: &CredentialPath,
    secret: &Value,
    config: &BTreeMap<String, String>,
    me: &Identity,
) -> Result<Card> {
    let p = |rel: &str, kind: &str| format!("{mount}/{kind}/{rel}");
    let c = bao.post(
        &p(&to.config(), "data"),
        &json!({"options": {"cas": 0}, "data": config}),
    )?;
    let s = bao.post(
        &p(&to.secret(), "data"),
        &json!({"options": {"cas": 0}, "data": secret}),
    )?;
    let mut next = card.clone();
    next.path = to.clone();
    next.secret_version = s["data"]["version"].as_u64().unwrap_or(1);
    next.config_version = c["data"]["version"].as_u64().unwrap_or(1);
    next.updated_by = me.entity_id.clone();
    next.updated_by_name = me.display_name.clone();
    next.updated_at = TeamVault::now();
    next.write_id = uuid::Uuid::new_v4().to_string();
    let mut moving = next.to_metadata();
    moving["kw"] = json!("moving");
    // Where it comes from: whoever finds this target half-done asks the
    // source whether the move committed.
    moving["moved_from"] = json!(card.path.suffix());
    bao.post(
        &p(&to.secret(), "metadata"),
        &json!({"custom_metadata": moving, "metadata_cas": 0}),
    )?;
    let mut moved = card.to_metadata();
    moved["kw"] = json!("moved");
    moved["moved_to"] = json!(to.suffix());
    match bao.post(
        &p(&card.path.secret(), "metadata"),
        &json!({"custom_metadata": moved, "metadata_cas": card.revision}),
    ) {
        Ok(_) => {}
        Err(BaoError::CasMismatch { .. }) => {
            // Our own commit, resent after its answer was lost in a
            // failover, also mismatches: ask the source.
            let ours = bao
                .get(&p(&card.path.secret(), "metadata"))
                .ok()
                .and_then(|v| state(&v["data"]))
                .is_some_and(|st| st == State::Moved { to: to.suffix() });
            if !ours {
                let _ = bao.delete(&p(&to.secret(), "metadata"));
                let _ = bao.delete(&p(&to.config(), "metadata"));
                return Err(TeamVault::conflict(card, card.revision));
            }
        }
        Err(e) => return Err(e.into()),
    }
    // Committed. The target goes live, then the source goes; if either
    // step fails the next sweep redoes it (never the source first: it is
    // the only record that the move committed).
    let live = bao.post(
        &p(&to.secret(), "metadata"),
        &json!({"custom_metadata": next.to_metadata(), "metadata_cas": 1}),
    );
    if live.is_ok() {
        next.revision = 2;
        let _ = bao.delete(&p(&card.path.config(), "metadata"));
        let _ = bao.delete(&p(&card.path.secret(), "metadata"));
    } else {
        next.revision = 1;
    }
    Ok(next)
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

fn secret_json(secrets: &SecretFields) -> Value {
    let m: serde_json::Map<String, Value> = secrets
        .iter()
        .map(|(k, v)| (k.to_owned(), Value::String(v.expose_secret().to_owned())))
        .collect();
    Value::Object(m)
}

pub(crate) fn secrets_from_json(v: &Value) -> Result<SecretFields> {
    let mut out = SecretFields::new();
    let obj = v
        .as_object()
        .ok_or_else(|| TeamError::invalid("secret", "the stored secret is not readable"))?;
    for (k, v) in obj {
        let s = v
            .as_str()
            .ok_or_else(|| TeamError::invalid("secret", format!("the stored field {k} is not text")))?;
        out.insert(k, SecretString::from(s.to_owned()));
    }
    Ok(out)
}

fn masked_of(kind: CredentialKind, secrets: &SecretFields) -> String {
    let names: Vec<String> = secrets.names().map(str::to_owned).collect();
    primary_field(kind, &names)
        .and_then(|f| secrets.get(&f).map(mask))
        .unwrap_or_else(|| "••••••••".to_owned())
}

fn check_secret_fields(kind: CredentialKind, config: &BTreeMap<String, String>, secrets: &SecretFields) -> Result<()> {
    for f in secret_field_names(kind, config) {
        if secrets.get(f).is_none() {
            return Err(TeamError::invalid(f, "this secret field is required for this type"));
        }
    }
    if secrets.is_empty() {
        return Err(TeamError::invalid(
            "secret",
            "a credential needs at least one secret field",
        ));
    }
    Ok(())
}

/// A team credential's configuration as a live check may use it: without
/// the fields that would send the secret somewhere of an editor's choosing.
/// Admins who may edit a shared credential's configuration may not read its
/// secret, so a check goes only to its provider's own endpoints. Test mode
/// (debug builds) keeps them, for the providers' fakes on loopback.
pub(crate) fn checked_config(config: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut out = config.clone();
    if !keywarden_core::test_mode() {
        // Every field that can name a server (`keywarden_core::is_endpoint_field`):
        // `authority` as well as the URLs.
        out.retain(|k, _| !keywarden_core::is_endpoint_field(k));
    }
    out
}

/// The provider a credential's configuration names; as in the local vault,
/// one without a provider is "generic", and the list of allowed providers
/// applies to it too.
pub(crate) fn provider_of(config: &BTreeMap<String, String>) -> String {
    config
        .get("provider")
        .map(|p| p.trim().to_lowercase())
        .unwrap_or_else(|| "generic".into())
}

/// How a secret was accepted, for the team's audit event.
#[derive(Clone, Copy)]
enum Checked {
    Live,
    /// Offline, as the member asked.
    Offline,
    /// The provider has no live check (a generic key, a custom type, or an
    /// endpoint the team vault does not send secrets to).
    NoLiveCheck,
}

impl Checked {
    fn words(self) -> &'static str {
        match self {
            Checked::Live => "checked live with its provider",
            Checked::Offline => "not checked live: offline, as asked",
            Checked::NoLiveCheck => "not checked live: no live check for this provider",
        }
    }
}

/// The policy's rules for a secret about to be saved (its provider is
/// allowed; a live check where one is required), then the check itself.
fn validate_now(
    policy: &keywarden_core::Policy,
    validator: &dyn Validator,
    name: &str,
    kind: CredentialKind,
    config: &BTreeMap<String, String>,
    secrets: &SecretFields,
) -> Result<Checked> {
    policy.check_provider(&provider_of(config))?;
    let config = &checked_config(config);
    let integration = integration_of(name, config);
    let candidate = Candidate {
        credential_name: name,
        kind,
        config,
        secrets,
        integration: integration.as_ref(),
    };
    // A provider without a live check (a generic API key, a custom type):
    // the offline checks, saved unchecked, as in the local vault.
    let (validator, how) = if validator.is_offline() {
        policy.check_unvalidated_save()?;
        (validator, Checked::Offline)
    } else if !validator.has_live_check(&candidate) {
        policy.check_unvalidated_save()?;
        (
            &keywarden_core::OfflineValidator as &dyn Validator,
            Checked::NoLiveCheck,
        )
    } else {
        (validator, Checked::Live)
    };
    keywarden_core::validate::run(validator, &candidate)
        .map(|verdict| if verdict.offline { Checked::Offline } else { how })
        .map_err(|r| keywarden_core::Error::ValidationRejected { failure: r.failure }.into())
}

/// A team credential names its provider in its configuration
/// (`provider`, and `environment`, `tenant_id`, `base_url` as the local
/// vault's integrations have them), so the same live checks apply.
pub(crate) fn integration_of(name: &str, config: &BTreeMap<String, String>) -> Option<keywarden_core::Integration> {
    let provider = config.get("provider")?;
    let now = keywarden_core::timefmt::now();
    Some(keywarden_core::Integration {
        id: uuid::Uuid::nil(),
        name: name.to_owned(),
        provider: provider.clone(),
        environment: config
            .get("environment")
            .cloned()
            .unwrap_or_else(|| "production".into()),
        tenant_id: config.get("tenant_id").cloned(),
        base_url: config.get("base_url").cloned(),
        scopes: Vec::new(),
        sync_schedule: None,
        owner: None,
        tags: Vec::new(),
        notes: None,
        max_age_days: None,
        env_names: BTreeMap::new(),
        created_at: now,
        updated_at: now,
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

/// The team vault as one of the core's credential backends.
impl keywarden_core::CredentialBackend for TeamVault {
    fn location(&self) -> String {
        format!("team vault {} at {}", self.mount, self.bao.nodes().join(", "))
    }

    fn credentials(&self) -> std::result::Result<Vec<keywarden_core::BackendCredential>, keywarden_core::BackendError> {
        let now = keywarden_core::timefmt::now();
        let cards = self.list().map_err(backend_error)?;
        Ok(cards
            .into_iter()
            .map(|c| keywarden_core::BackendCredential {
                id: c.id().to_owned(),
                masked: Some(c.masked.clone()),
                status: c.status(now).to_owned(),
                expires_at: c
                    .expires_at
                    .as_deref()
                    .and_then(|e| keywarden_core::timefmt::from_db(e).ok()),
                context: sharing_words(c.path.sharing).to_owned(),
                kind: c.kind,
                name: c.name,
            })
            .collect())
    }

    fn verify_audit(&self) -> std::result::Result<u64, keywarden_core::BackendError> {
        TeamVault::verify_audit(self).map_err(backend_error)
    }
}

/// A team error as any backend's: unreachable is told apart.
pub fn backend_error(e: TeamError) -> keywarden_core::BackendError {
    keywarden_core::BackendError {
        unreachable: matches!(e, TeamError::Bao(BaoError::Unreachable { .. })),
        message: e.to_string(),
    }
}
