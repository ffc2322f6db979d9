//! Finding credentials in the team vault: listing what the member may
//! see, locating a card by name or id, and what the member may do with it.

#[allow(unused_imports)]
use super::*;

impl TeamVault {
    /// Every credential the member can see: the team's shared ones and
    /// their own personal ones. Two requests, whatever the count.
    pub fn list(&self) -> Result<Vec<Card>> {
        let mut cards = self.scan()?.cards;
        cards.sort_by_key(|c| c.name.to_lowercase());
        Ok(cards)
    }

    pub(super) fn scan(&self) -> Result<Scan> {
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
    pub(super) fn sweep(&self, scan: &Scan) -> bool {
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
    pub(super) fn finish_move(&self, target: &Card, source: &CredentialPath) -> bool {
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
    pub(super) fn scan_prefix(&self, prefix: &str) -> Result<Vec<(String, Value)>> {
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
    pub(super) fn find_for_change(&self, name: &str) -> Result<Card> {
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
    pub(super) fn located(&self, name: &str) -> Result<Vec<Card>> {
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
    pub(super) fn entry_at(&self, path: &CredentialPath) -> Result<Option<Card>> {
        match self.bao.get(&self.path(&path.secret(), "metadata")) {
            Ok(v) => Card::from_metadata(path.clone(), &v["data"]),
            Err(BaoError::NotFound { .. } | BaoError::Forbidden { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub(super) fn find_in(&self, scan: &Scan, name: &str) -> Result<Card> {
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

    pub(super) fn read_config(&self, card: &Card) -> Result<BTreeMap<String, String>> {
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
}
