//! The in-memory index a verifier checks keys against: key ids to their
//! hashes, scopes and validity, refreshed when the vault changes.

#[allow(unused_imports)]
use super::*;

/// One key as a verifier needs it: a hash, never the key.
#[derive(Clone)]
pub struct IndexedKey {
    hash: [u8; 32],
    pub kind: KeyKind,
    pub grants: Vec<String>,
    pub application: String,
    pub scopes: Vec<String>,
    pub expires_at: Option<OffsetDateTime>,
    pub grace_until: Option<OffsetDateTime>,
    pub revoked: bool,
}

/// The verifier's view: answers from memory, kept current through
/// `Vault::refresh_key_index`.
pub struct KeyIndex {
    hash_key: PartnerHashKey,
    keys: HashMap<String, IndexedKey>,
    seq: i64,
    /// The environments whose keys this verifier accepts (`accept_only`).
    accepted: Vec<KeyEnv>,
}

/// A verification's answer. `Invalid` is the same for an unknown, revoked,
/// expired, retired or malformed key: no oracle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    Valid {
        key_id: String,
        application: String,
        scopes: Vec<String>,
        /// `live` or `test`, from the key itself (its hash covers it).
        environment: KeyEnv,
    },
    /// A valid key without the scope the caller requires.
    InsufficientScope {
        required: String,
    },
    Invalid,
}

/// A service account's token, checked: who it is and what it may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceCaller {
    pub key_id: String,
    pub account: String,
    pub grants: Vec<String>,
}

impl IndexedKey {
    /// A partner key kept elsewhere (the team vault), by its hash.
    pub fn partner(
        hash: [u8; 32],
        application: String,
        scopes: Vec<String>,
        expires_at: Option<OffsetDateTime>,
        revoked: bool,
    ) -> IndexedKey {
        IndexedKey {
            hash,
            kind: KeyKind::Partner,
            grants: Vec::new(),
            application,
            scopes,
            expires_at,
            grace_until: None,
            revoked,
        }
    }
}

impl KeyIndex {
    /// An index over keys kept elsewhere (the team vault): `hash_key` is
    /// the key their hashes were made with, `keys` maps key id to key.
    pub fn from_keys(hash_key: PartnerHashKey, keys: HashMap<String, IndexedKey>) -> KeyIndex {
        KeyIndex {
            hash_key,
            keys,
            seq: 0,
            accepted: vec![KeyEnv::Live, KeyEnv::Test],
        }
    }

    /// Accepts the keys of these environments only: a production service
    /// told `live` answers a `kwp_test_` key as it answers an unknown one.
    /// Both are accepted until this is called.
    pub fn accept_only(&mut self, environments: &[KeyEnv]) {
        self.accepted = environments.to_vec();
    }

    /// The indexed key `text` is, when it is of `kind` and usable at `now`
    /// (hash matches, not revoked, expired or past its grace). The hash is
    /// computed first, for every input, so an unknown id answers in the
    /// same time as a known one.
    pub(super) fn usable<'k>(
        &self,
        text: &'k str,
        kind: KeyKind,
        now: OffsetDateTime,
    ) -> Option<(format::ParsedKey<'k>, &IndexedKey)> {
        let digest = hash(&self.hash_key, text);
        let parsed = format::parse(text).ok()?;
        let k = self.keys.get(parsed.id)?;
        let matches: bool = k.hash.ct_eq(&digest).into();
        let ok = matches
            // The environments a verifier was told are those of partner
            // keys; service tokens (`kws_`, always live) are the broker's.
            && (kind == KeyKind::Service || self.accepted.contains(&parsed.env))
            && parsed.kind == kind
            && k.kind == kind
            && !k.revoked
            && k.expires_at.is_none_or(|e| e > now)
            && k.grace_until.is_none_or(|g| g > now);
        ok.then_some((parsed, k))
    }

    /// Checks a service-account token at `now`: `None` for anything that
    /// is not a valid, unrevoked, unexpired `kws_` token.
    pub fn verify_service(&self, token: &str, now: OffsetDateTime) -> Option<ServiceCaller> {
        let (parsed, k) = self.usable(token, KeyKind::Service, now)?;
        Some(ServiceCaller {
            key_id: parsed.id.to_owned(),
            account: k.application.clone(),
            grants: k.grants.clone(),
        })
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether a key with this id was ever issued (revoked ones included):
    /// failures are counted only for those, so a flood of made-up ids
    /// cannot grow the service's memory or its usage writes.
    pub fn knows(&self, id: &str) -> bool {
        self.keys.contains_key(id)
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Checks a partner `key` at `now`, requiring `scope` when given. A
    /// service token is no partner key.
    pub fn verify(&self, key: &str, now: OffsetDateTime, scope: Option<&str>) -> Verified {
        let Some((parsed, k)) = self.usable(key, KeyKind::Partner, now) else {
            return Verified::Invalid;
        };
        if let Some(required) = scope
            && !k.scopes.iter().any(|s| s == required)
        {
            return Verified::InsufficientScope {
                required: required.to_owned(),
            };
        }
        Verified::Valid {
            key_id: parsed.id.to_owned(),
            application: k.application.clone(),
            scopes: k.scopes.clone(),
            environment: parsed.env,
        }
    }
}

impl Vault {
    /// A verifier's index of every key, and the change sequence it reflects.
    pub fn key_index(&self) -> Result<KeyIndex> {
        let mut index = KeyIndex {
            hash_key: self.partner_hash_key().duplicate(),
            keys: HashMap::new(),
            seq: 0,
            accepted: vec![KeyEnv::Live, KeyEnv::Test],
        };
        self.refresh_key_index(&mut index)?;
        Ok(index)
    }

    /// Brings `index` up to date with the changes since it was built;
    /// returns how many keys changed.
    pub fn refresh_key_index(&self, index: &mut KeyIndex) -> Result<usize> {
        let changes: Vec<(i64, String)> = {
            let mut stmt = self
                .conn()
                .prepare_cached("SELECT seq, key_id FROM key_changes WHERE seq > ?1 ORDER BY seq")?;
            let rows = stmt.query_map([index.seq], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let now = self.now();
        let mut n = 0;
        for (seq, id) in &changes {
            index.seq = *seq;
            let raw = self
                .conn()
                .query_row(&format!("{SELECT} WHERE id = ?1"), [id], row)
                .optional()?;
            match raw {
                None => {
                    index.keys.remove(id);
                }
                Some(raw) => {
                    let Raw { key, hash } = build(raw, now)?;
                    let hash: [u8; 32] = hash.try_into().map_err(|_| Error::Database("bad key hash".into()))?;
                    index.keys.insert(
                        key.id.clone(),
                        IndexedKey {
                            hash,
                            kind: key.kind,
                            grants: key.grants,
                            application: key.application,
                            scopes: key.scopes,
                            expires_at: key.expires_at,
                            grace_until: key.grace_until,
                            revoked: key.revoked_at.is_some(),
                        },
                    );
                }
            }
            n += 1;
        }
        Ok(n)
    }

    /// SQLite's `PRAGMA data_version`: changes when another connection
    /// commits. A verifier polls it to notice revocations.
    pub fn data_version(&self) -> Result<i64> {
        Ok(self.conn().query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }
}
