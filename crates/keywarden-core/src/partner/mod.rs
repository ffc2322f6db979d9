//! API keys Keywarden issues to partners (payment processors, CRMs) to call
//! our services: issuance, rotation with a grace period, revocation, and
//! the in-memory index a verifier answers from.
//!
//! A key is stored only as HMAC-SHA256 under a key derived from the vault
//! key; its plaintext exists once, in the issuance answer and the signed
//! delivery envelope. Every issuance, rotation and revocation is audited
//! (admin, host, time) and appended to `key_changes`, which a running
//! verifier (`kw serve`) follows to apply a revocation without a restart.

pub mod format;
mod index;
mod rotation;
mod service;
pub mod signing;
mod usage;

use std::collections::HashMap;

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

use crate::crypto::PartnerHashKey;
use crate::error::{Error, Result};
use crate::store::audit::Outcome;
use crate::vault::{WriteTx, ev};
use crate::{Vault, timefmt};
pub use format::{KeyEnv, KeyKind};
pub use signing::Signed;

pub use index::{IndexedKey, KeyIndex, ServiceCaller, Verified};
pub use rotation::RotatedByPolicy;
pub use service::{BrokeredCredential, PreviousVersion};
pub use usage::{FAILURE_BURST, HourUsage, KeySource, SPIKE_FACTOR, SPIKE_MIN};

pub const DEFAULT_MAX_AGE_DAYS: u32 = 90;
pub const DEFAULT_GRACE_DAYS: u32 = 7;
/// How long a delivery envelope may be honoured after issuance.
pub const ENVELOPE_VALIDITY: Duration = Duration::minutes(15);

/// What to issue. Scopes are `resource:read` or `resource:write`, at least
/// one and nothing broader than named: least privilege by default.
#[derive(Debug, Clone, Default)]
pub struct NewPartnerKey {
    /// A partner key (default) or a service account's token.
    pub kind: KeyKind,
    /// For a service account: the integrations (names or ids) whose
    /// credentials it may take from the broker.
    pub grants: Vec<String>,
    pub application: String,
    pub environment: Option<KeyEnv>,
    pub scopes: Vec<String>,
    pub expires_at: Option<OffsetDateTime>,
    pub max_age_days: Option<u32>,
    pub grace_days: Option<u32>,
}

/// Where a key stands, as a verifier would treat it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    Active,
    /// Replaced by a rotation; still valid until its grace period ends.
    InGrace,
    /// Expires within 14 days.
    Expiring,
    /// Older than its rotation policy: rotate it.
    RotationDue,
    Expired,
    /// Replaced and past its grace period.
    Retired,
    Revoked,
}

/// A partner key as admins see it: never the key itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PartnerKey {
    pub id: String,
    pub kind: KeyKind,
    /// Integration ids a service account may take credentials of.
    pub grants: Vec<String>,
    pub application: String,
    pub environment: KeyEnv,
    pub scopes: Vec<String>,
    pub state: KeyState,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub expires_at: Option<OffsetDateTime>,
    pub max_age_days: u32,
    pub grace_days: u32,
    pub replaces: Option<String>,
    pub replaced_by: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub grace_until: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub revoked_at: Option<OffsetDateTime>,
    pub revoke_reason: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub last_used_at: Option<OffsetDateTime>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub use_count: u64,
}

/// The answer to an issuance: the key's record, the plaintext (show once),
/// and the signed delivery envelope carrying it.
pub struct IssuedKey {
    pub key: PartnerKey,
    pub plaintext: Zeroizing<String>,
    pub envelope: Signed,
}

/// What the envelope's payload says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvelopePayload {
    pub format: String,
    pub version: u32,
    pub key: String,
    pub key_id: String,
    pub application: String,
    pub environment: KeyEnv,
    pub scopes: Vec<String>,
    pub expires_at: Option<String>,
    pub issued_at: String,
    /// Not honoured after this instant.
    pub not_after: String,
}

impl std::fmt::Debug for IssuedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedKey")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// Checks an envelope: signature by `public_key`, format, and validity at
/// `now`. Returns its payload.
pub fn open_envelope(envelope: &Signed, public_key: &str, now: OffsetDateTime) -> Result<EnvelopePayload> {
    let bytes = signing::verify(envelope, public_key)?;
    let payload: EnvelopePayload =
        serde_json::from_slice(&bytes).map_err(|_| Error::invalid("envelope", "the payload is not a key envelope"))?;
    if payload.format != "keywarden-key-envelope" || payload.version != 1 {
        return Err(Error::invalid("envelope", "not a Keywarden key envelope of version 1"));
    }
    if timefmt::from_db(&payload.not_after)? <= now {
        return Err(Error::invalid(
            "envelope",
            "the envelope has expired and must not be honoured; ask for the key to be issued again",
        ));
    }
    Ok(payload)
}

/// The checks a new key's scopes pass, for other stores of keys (the
/// team vault) as for this one.
pub fn validate_scopes(scopes: &[String]) -> Result<()> {
    check_scopes(scopes)
}

/// A key's hash as verifiers compare it, under `hash_key`: for other
/// stores of keys (the team vault), which keep it and never the key.
pub fn key_hash(hash_key: &PartnerHashKey, key: &str) -> [u8; 32] {
    hash(hash_key, key)
}

fn check_scopes(scopes: &[String]) -> Result<()> {
    if scopes.is_empty() {
        return Err(Error::invalid(
            "scopes",
            "name at least one scope, e.g. invoices:read; a key gets nothing it is not given",
        ));
    }
    for s in scopes {
        let ok = s.split_once(':').is_some_and(|(res, right)| {
            !res.is_empty()
                && res.len() <= 64
                && res
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b))
                && matches!(right, "read" | "write")
        });
        if !ok {
            return Err(Error::invalid(
                "scope",
                format!("'{s}' is not resource:read or resource:write (lowercase resource, no wildcards)"),
            ));
        }
    }
    Ok(())
}

/// A key's stored form: the vault's HMAC (`crypto::hmac`) under the
/// partner-key hash key. The same function serves issuance and the index.
fn hash(key: &PartnerHashKey, plaintext: &str) -> [u8; 32] {
    key.hash(plaintext)
}

const SELECT: &str = "SELECT id, application, environment, scopes, created_at, expires_at, max_age_days, grace_days,
    replaces, replaced_by, grace_until, revoked_at, revoke_reason, last_used_at, use_count, hash, kind, grants
    FROM partner_keys";

struct Raw {
    key: PartnerKey,
    hash: Vec<u8>,
}

/// The text columns, max age, grace, use count and hash of one row.
type RawRow = (Vec<Option<String>>, u32, u32, i64, Vec<u8>);

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
    let mut texts = Vec::with_capacity(14);
    for i in [0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13, 16, 17] {
        texts.push(r.get::<_, Option<String>>(i)?);
    }
    Ok((texts, r.get(6)?, r.get(7)?, r.get(14)?, r.get(15)?))
}

fn build(raw: RawRow, now: OffsetDateTime) -> Result<Raw> {
    let (t, max_age_days, grace_days, use_count, hash) = raw;
    let s = |i: usize| t[i].clone().unwrap_or_default();
    let opt_time = |i: usize| timefmt::opt_from_db(t[i].clone());
    let created_at = timefmt::from_db(&s(4))?;
    let expires_at = opt_time(5)?;
    let grace_until = opt_time(8)?;
    let revoked_at = opt_time(9)?;
    let state = if revoked_at.is_some() {
        KeyState::Revoked
    } else if expires_at.is_some_and(|e| e <= now) {
        KeyState::Expired
    } else if let Some(g) = grace_until {
        if g <= now { KeyState::Retired } else { KeyState::InGrace }
    } else if max_age_days > 0 && created_at + Duration::days(i64::from(max_age_days)) <= now {
        KeyState::RotationDue
    } else if expires_at.is_some_and(|e| e <= now + Duration::days(14)) {
        KeyState::Expiring
    } else {
        KeyState::Active
    };
    Ok(Raw {
        key: PartnerKey {
            id: s(0),
            kind: if s(12) == "service" {
                KeyKind::Service
            } else {
                KeyKind::Partner
            },
            grants: serde_json::from_str(&s(13)).map_err(|e| Error::Database(e.to_string()))?,
            application: s(1),
            environment: KeyEnv::parse(&s(2))?,
            scopes: serde_json::from_str(&s(3)).map_err(|e| Error::Database(e.to_string()))?,
            state,
            created_at,
            expires_at,
            max_age_days,
            grace_days,
            replaces: t[6].clone(),
            replaced_by: t[7].clone(),
            grace_until,
            revoked_at,
            revoke_reason: t[10].clone(),
            last_used_at: opt_time(11)?,
            use_count: u64::try_from(use_count).unwrap_or(0),
        },
        hash,
    })
}

impl Vault {
    /// The signed delivery envelope of `key`, valid `ENVELOPE_VALIDITY`
    /// from `now`.
    fn envelope(&self, key: &PartnerKey, plaintext: &str, now: OffsetDateTime) -> Result<Signed> {
        signing::sign(
            self.signing_seed(),
            &EnvelopePayload {
                format: "keywarden-key-envelope".into(),
                version: 1,
                key: plaintext.to_owned(),
                key_id: key.id.clone(),
                application: key.application.clone(),
                environment: key.environment,
                scopes: key.scopes.clone(),
                expires_at: key.expires_at.map(timefmt::to_db),
                issued_at: timefmt::to_db(now),
                not_after: timefmt::to_db(now + ENVELOPE_VALIDITY),
            },
        )
    }

    /// The vault's public signing key (base64url Ed25519).
    pub fn signing_public_key(&self) -> String {
        signing::public_key(self.signing_seed())
    }

    /// Issues a key for an application: returned once, stored as a hash.
    pub fn issue_partner_key(&mut self, new: NewPartnerKey) -> Result<IssuedKey> {
        crate::model::validate_name("application", &new.application)?;
        check_scopes(&new.scopes)?;
        let max_age_days = new.max_age_days.unwrap_or(DEFAULT_MAX_AGE_DAYS);
        let grace_days = new.grace_days.unwrap_or(DEFAULT_GRACE_DAYS);
        if max_age_days > 3650 || grace_days > 90 {
            return Err(Error::invalid(
                "rotation policy",
                "use a maximum age of 0 (none) to 3650 days and a grace period of 0 to 90 days",
            ));
        }
        let now = self.now();
        if new.expires_at.is_some_and(|e| e <= now) {
            return Err(Error::invalid(
                "expiry",
                "the expiry is in the past; give a future date",
            ));
        }
        self.insert_key(&new, max_age_days, grace_days, None, now)
    }

    fn insert_key(
        &mut self,
        new: &NewPartnerKey,
        max_age_days: u32,
        grace_days: u32,
        replaces: Option<(&str, OffsetDateTime)>,
        now: OffsetDateTime,
    ) -> Result<IssuedKey> {
        let env = new.environment.unwrap_or(KeyEnv::Live);
        let id = format::new_id();
        let plaintext = format::new_key_of(new.kind, env, &id);
        let grants_json = serde_json::to_string(&new.grants).map_err(|e| Error::Database(e.to_string()))?;
        let digest = hash(self.partner_hash_key(), &plaintext);
        let scopes_json = serde_json::to_string(&new.scopes).map_err(|e| Error::Database(e.to_string()))?;
        let detail = match replaces {
            None => format!(
                "key {id} for {} ({}), scopes {}",
                new.application,
                env.as_str(),
                new.scopes.join(" ")
            ),
            Some((old, until)) => format!(
                "key {id} replaces {old} for {}; {old} stays valid until {}",
                new.application,
                timefmt::to_db(until)
            ),
        };
        let action = if replaces.is_some() {
            "partner_key.rotate"
        } else {
            "partner_key.issue"
        };
        self.write(|tx| {
            tx.execute(
                "INSERT INTO partner_keys (id, application, environment, scopes, hash, created_at, expires_at,
                     max_age_days, grace_days, replaces, kind, grants)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    id,
                    new.application,
                    env.as_str(),
                    scopes_json,
                    digest.to_vec(),
                    timefmt::to_db(now),
                    new.expires_at.map(timefmt::to_db),
                    max_age_days,
                    grace_days,
                    replaces.map(|r| r.0.to_owned()),
                    new.kind.as_str(),
                    grants_json,
                ],
            )?;
            if let Some((old, until)) = replaces {
                tx.execute(
                    "UPDATE partner_keys SET replaced_by = ?2, grace_until = ?3 WHERE id = ?1",
                    params![old, id, timefmt::to_db(until)],
                )?;
                changed(tx, old, now)?;
            }
            changed(tx, &id, now)?;
            tx.audit(ev(action, "partner_key", None, Some(&id), Outcome::Success, detail))
        })?;
        let key = self.partner_key(&id)?;
        let envelope = self.envelope(&key, &plaintext, now)?;
        Ok(IssuedKey {
            key,
            plaintext,
            envelope,
        })
    }

    /// Issues the successor of key `id` (same application, scopes and
    /// policy); the old key stays valid for its grace period (or
    /// `grace_days`), then stops.
    pub fn rotate_partner_key(&mut self, id: &str, grace_days: Option<u32>) -> Result<IssuedKey> {
        let old = self.partner_key(id)?;
        if matches!(old.state, KeyState::Revoked | KeyState::Retired | KeyState::Expired) || old.replaced_by.is_some() {
            return Err(Error::invalid(
                "key",
                format!(
                    "key {} is {:?} or already replaced; rotate its successor",
                    old.id, old.state
                )
                .to_lowercase(),
            ));
        }
        let grace = grace_days.unwrap_or(old.grace_days);
        if grace > 90 {
            return Err(Error::invalid("grace period", "use 0 to 90 days"));
        }
        let now = self.now();
        let new = NewPartnerKey {
            kind: old.kind,
            grants: old.grants.clone(),
            application: old.application.clone(),
            environment: Some(old.environment),
            scopes: old.scopes.clone(),
            expires_at: old.expires_at.filter(|e| *e > now),
            max_age_days: Some(old.max_age_days),
            grace_days: Some(old.grace_days),
        };
        self.insert_key(
            &new,
            old.max_age_days,
            old.grace_days,
            Some((&old.id, now + Duration::days(i64::from(grace)))),
            now,
        )
    }

    /// Revokes key `id` at once, for every verifier.
    pub fn revoke_partner_key(&mut self, id: &str, reason: &str) -> Result<PartnerKey> {
        crate::model::validate_text("reason", reason)?;
        let key = self.partner_key(id)?;
        if key.revoked_at.is_some() {
            return Ok(key);
        }
        let now = self.now();
        self.write(|tx| {
            tx.execute(
                "UPDATE partner_keys SET revoked_at = ?2, revoke_reason = ?3 WHERE id = ?1",
                params![key.id, timefmt::to_db(now), reason],
            )?;
            changed(tx, &key.id, now)?;
            tx.audit(ev(
                "partner_key.revoke",
                "partner_key",
                None,
                Some(&key.id),
                Outcome::Success,
                format!("{} ({}): {reason}", key.application, key.environment.as_str()),
            ))
        })?;
        self.partner_key(id)
    }

    pub fn partner_key(&self, id: &str) -> Result<PartnerKey> {
        let now = self.now();
        let raw = self
            .conn()
            .query_row(&format!("{SELECT} WHERE id = ?1"), [id.trim()], row)
            .optional()?
            .ok_or_else(|| Error::NotFound {
                kind: "partner key",
                name: id.to_owned(),
            })?;
        Ok(build(raw, now)?.key)
    }

    pub fn partner_keys(&self) -> Result<Vec<PartnerKey>> {
        let now = self.now();
        let mut stmt = self
            .conn()
            .prepare(&format!("{SELECT} ORDER BY application, created_at"))?;
        let rows = stmt.query_map([], row)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(build(r?, now)?.key);
        }
        Ok(out)
    }

    /// The revoked keys, signed: offline verifiers check against it.
    pub fn signed_revocation_list(&self) -> Result<Signed> {
        #[derive(Serialize)]
        struct Entry {
            id: String,
            revoked_at: String,
        }
        #[derive(Serialize)]
        struct List {
            format: &'static str,
            version: u32,
            issued_at: String,
            revoked: Vec<Entry>,
        }
        let revoked = self
            .partner_keys()?
            .into_iter()
            .filter_map(|k| {
                k.revoked_at.map(|t| Entry {
                    id: k.id,
                    revoked_at: timefmt::to_db(t),
                })
            })
            .collect();
        signing::sign(
            self.signing_seed(),
            &List {
                format: "keywarden-revocations",
                version: 1,
                issued_at: timefmt::to_db(self.now()),
                revoked,
            },
        )
    }
}

fn changed(tx: &rusqlite::Connection, id: &str, now: OffsetDateTime) -> Result<()> {
    tx.execute(
        "INSERT INTO key_changes (key_id, at) VALUES (?1, ?2)",
        params![id, timefmt::to_db(now)],
    )?;
    Ok(())
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
