//! Changing the team vault: adding, rotating, updating, deleting and
//! sharing credentials, each with check-and-set and an audit event.

#[allow(unused_imports)]
use super::*;

impl TeamVault {
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
    pub(super) fn claim_name(&self, path: &CredentialPath, name: &str) -> Result<()> {
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
    pub(super) fn check_revision(card: &Card, expected: Option<u64>) -> Result<()> {
        match expected {
            Some(r) if r != card.revision => Err(Self::conflict(card, r)),
            _ => Ok(()),
        }
    }

    pub(super) fn conflict(card: &Card, expected: u64) -> TeamError {
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
    pub(super) fn conflict_now(&self, card: &Card) -> TeamError {
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
    pub(super) fn commit(&self, card: &Card, mut next: Card, what: &str) -> Result<Card> {
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

    pub(super) fn read_card(&self, path: &CredentialPath) -> Result<Option<Card>> {
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
    pub(super) fn destroy_older(&self, path: &CredentialPath, keep: u64) {
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
    pub(super) fn remove_entries(&self, path: &CredentialPath) -> Result<()> {
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

    pub(super) fn record(&self, action: &str, card: &Card, detail: String) -> Result<TeamEvent> {
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
