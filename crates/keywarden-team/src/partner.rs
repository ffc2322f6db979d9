//! Partner API keys issued from a team vault: OpenBao keeps each key's
//! hash and revocation flag (custom metadata of `pk/<id>`, written by
//! check-and-set), never the key, which is shown once to its issuer. The
//! hashes are HMAC-SHA-256 under a team hash key kept at `pkhk` (as the
//! local vault's are under a key derived from its vault key), so the same
//! verifier (`keywarden_core::partner::KeyIndex`) checks keys from either
//! store. Admins and owners issue and revoke; the broker reads the index.

use std::collections::HashMap;

use keywarden_core::crypto::PartnerHashKey;
use keywarden_core::partner::{IndexedKey, KeyEnv, KeyIndex, format, key_hash, validate_scopes};
use serde_json::{Value, json};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::audit::{self, Entry};
use crate::error::{BaoError, Result, TeamError};
use crate::team::TeamVault;

/// Where the team's partner-key hash key is.
const HASH_KEY: &str = "pkhk";

/// One partner key as the team vault keeps it: everything but the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamPartnerKey {
    pub id: String,
    pub application: String,
    pub environment: String,
    pub scopes: Vec<String>,
    pub created_at: String,
    pub created_by: String,
    pub expires_at: Option<String>,
    pub revoked: bool,
    pub revoked_by: Option<String>,
    pub reason: Option<String>,
    /// OpenBao's metadata version, for check-and-set.
    pub revision: u64,
    hash: String,
}

impl TeamPartnerKey {
    fn to_metadata(&self) -> Value {
        let mut m = serde_json::Map::new();
        let mut put = |k: &str, v: &str| {
            m.insert(k.to_owned(), Value::String(v.to_owned()));
        };
        put("kw", "pk");
        put("application", &self.application);
        put("environment", &self.environment);
        put("scopes", &self.scopes.join(" "));
        put("hash", &self.hash);
        put("created_at", &self.created_at);
        put("created_by", &self.created_by);
        if let Some(e) = &self.expires_at {
            put("expires_at", e);
        }
        put("revoked", if self.revoked { "true" } else { "false" });
        if let Some(b) = &self.revoked_by {
            put("revoked_by", b);
        }
        if let Some(r) = &self.reason {
            put("reason", r);
        }
        Value::Object(m)
    }

    fn from_metadata(id: &str, meta: &Value) -> Option<TeamPartnerKey> {
        let c = meta.get("custom_metadata")?;
        if c.get("kw")?.as_str()? != "pk" {
            return None;
        }
        let s = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_owned);
        Some(TeamPartnerKey {
            id: id.to_owned(),
            application: s("application")?,
            environment: s("environment")?,
            scopes: s("scopes")?.split_whitespace().map(str::to_owned).collect(),
            created_at: s("created_at")?,
            created_by: s("created_by")?,
            expires_at: s("expires_at"),
            revoked: s("revoked").as_deref() == Some("true"),
            revoked_by: s("revoked_by"),
            reason: s("reason"),
            revision: meta
                .get("current_metadata_version")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            hash: s("hash")?,
        })
    }
}

impl TeamVault {
    /// The team's hash key; the first issuer creates it (check-and-set 0,
    /// so two first issuers agree on one).
    fn partner_hash_key(&self, create: bool) -> Result<PartnerHashKey> {
        let path = format!("{}/data/{HASH_KEY}", self.mount());
        let read = |v: &Value| {
            v["data"]["data"]["key"]
                .as_str()
                .and_then(|h| PartnerHashKey::from_hex(h).ok())
                .ok_or_else(|| TeamError::invalid("partner keys", "the team's partner-key hash key is damaged"))
        };
        match self.client().get(&path) {
            Ok(v) => return read(&v),
            Err(BaoError::NotFound { .. }) if create => {}
            Err(e) => return Err(self.refused(e, "issue or verify partner keys")),
        }
        let fresh = PartnerHashKey::random();
        match self.client().post(
            &path,
            &json!({"options": {"cas": 0}, "data": {"key": fresh.to_hex().as_str()}}),
        ) {
            Ok(_) => Ok(fresh),
            Err(BaoError::CasMismatch { .. }) => read(&self.client().get(&path)?),
            Err(e) => Err(self.refused(e, "issue partner keys")),
        }
    }

    /// Issues a partner key for `application` with `scopes`; the key is
    /// returned once, here, and kept nowhere.
    pub fn issue_partner_key(
        &self,
        application: &str,
        environment: KeyEnv,
        scopes: Vec<String>,
        expires_at: Option<OffsetDateTime>,
    ) -> Result<(TeamPartnerKey, Zeroizing<String>)> {
        keywarden_core::model::validate_name("application", application)?;
        validate_scopes(&scopes)?;
        if expires_at.is_some_and(|e| e <= keywarden_core::timefmt::now()) {
            return Err(TeamError::invalid(
                "expiry",
                "the expiry is in the past; give a future date",
            ));
        }
        let hash_key = self.partner_hash_key(true)?;
        let id = format::new_id();
        let plaintext = format::new_key(environment, &id);
        let key = TeamPartnerKey {
            id: id.clone(),
            application: application.to_owned(),
            environment: environment.as_str().to_owned(),
            scopes,
            created_at: crate::now(),
            created_by: self.identity().display_name.clone(),
            expires_at: expires_at.map(keywarden_core::timefmt::to_db),
            revoked: false,
            revoked_by: None,
            reason: None,
            revision: 1,
            hash: hex::encode(key_hash(&hash_key, &plaintext)),
        };
        self.client()
            .post(
                &format!("{}/metadata/pk/{id}", self.mount()),
                &json!({"custom_metadata": key.to_metadata(), "metadata_cas": 0}),
            )
            .map_err(|e| self.refused(e, "issue partner keys"))?;
        self.record_key(
            "partner_key.issue",
            &key,
            format!("for {application}, scopes {}", key.scopes.join(" ")),
        )?;
        Ok((key, plaintext))
    }

    /// Every partner key of the team (admins, owners and the broker).
    pub fn partner_keys(&self) -> Result<Vec<TeamPartnerKey>> {
        let v = match self.client().scan(&format!("{}/detailed-metadata/pk/", self.mount())) {
            Ok(v) => v,
            Err(BaoError::NotFound { .. }) => return Ok(Vec::new()),
            Err(e) => return Err(self.refused(e, "see the team's partner keys")),
        };
        let mut keys: Vec<TeamPartnerKey> = v["data"]["key_info"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(id, meta)| TeamPartnerKey::from_metadata(id, meta))
                    .collect()
            })
            .unwrap_or_default();
        keys.sort_by(|a, b| a.created_at.cmp(&b.created_at));
        Ok(keys)
    }

    /// Revokes a key: its flag is set by check-and-set, so it is never
    /// lost to a concurrent change. Revoking a revoked key changes nothing.
    pub fn revoke_partner_key(&self, id: &str, reason: &str) -> Result<TeamPartnerKey> {
        if reason.trim().is_empty() {
            return Err(TeamError::invalid(
                "reason",
                "say why the key is revoked; it goes to the audit log",
            ));
        }
        let path = format!("{}/metadata/pk/{id}", self.mount());
        for _ in 0..8 {
            let meta = self.client().get(&path).map_err(|e| match e {
                BaoError::NotFound { .. } => TeamError::NotFound { name: id.to_owned() },
                other => self.refused(other, "revoke partner keys"),
            })?;
            let mut key = TeamPartnerKey::from_metadata(id, &meta["data"])
                .ok_or_else(|| TeamError::NotFound { name: id.to_owned() })?;
            if key.revoked {
                return Ok(key);
            }
            key.revoked = true;
            key.revoked_by = Some(self.identity().display_name.clone());
            key.reason = Some(reason.trim().to_owned());
            match self.client().post(
                &path,
                &json!({"custom_metadata": key.to_metadata(), "metadata_cas": key.revision}),
            ) {
                Ok(_) => {
                    key.revision += 1;
                    self.record_key("partner_key.revoke", &key, format!("revoked: {}", reason.trim()))?;
                    return Ok(key);
                }
                Err(BaoError::CasMismatch { .. }) => continue,
                Err(e) => return Err(self.refused(e, "revoke partner keys")),
            }
        }
        Err(TeamError::invalid("revocation", "the key kept changing; try again"))
    }

    /// The verifier's index over the team's keys: hashes and flags, read
    /// in two requests (the broker's, or an admin's).
    pub fn partner_key_index(&self) -> Result<KeyIndex> {
        let hash_key = self.partner_hash_key(false)?;
        let mut keys = HashMap::new();
        for k in self.partner_keys()? {
            let Some(hash) = hex::decode(&k.hash).ok().and_then(|h| <[u8; 32]>::try_from(h).ok()) else {
                continue;
            };
            let expires_at = k
                .expires_at
                .as_deref()
                .and_then(|e| keywarden_core::timefmt::from_db(e).ok());
            keys.insert(
                k.id.clone(),
                IndexedKey::partner(hash, k.application, k.scopes, expires_at, k.revoked),
            );
        }
        Ok(KeyIndex::from_keys(hash_key, keys))
    }

    fn record_key(&self, action: &str, key: &TeamPartnerKey, detail: String) -> Result<()> {
        audit::append_committed(
            self.client(),
            self.mount(),
            &crate::now(),
            Entry {
                actor_entity: &self.identity().entity_id,
                actor_name: &self.identity().display_name,
                action,
                credential_id: &key.id,
                credential_name: &key.application,
                detail,
            },
        )?;
        Ok(())
    }
}
