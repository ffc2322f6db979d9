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
pub mod signing;

use std::collections::HashMap;

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::store::audit::{self, Outcome};
use crate::vault::ev;
use crate::{Vault, timefmt};
pub use format::{KeyEnv, KeyKind};
pub use signing::Signed;

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
pub fn key_hash(hash_key: &crate::crypto::Key256, key: &str) -> [u8; 32] {
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
fn hash(key: &crate::crypto::Key256, plaintext: &str) -> [u8; 32] {
    crate::crypto::hmac(key, &[b"keywarden/partner-key", plaintext.as_bytes()])
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
        self.write_with(|tx, k, a| {
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
            audit::append(
                tx,
                k,
                a,
                ev(action, "partner_key", None, Some(&id), Outcome::Success, detail),
            )
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
        self.write_with(|tx, k, a| {
            tx.execute(
                "UPDATE partner_keys SET revoked_at = ?2, revoke_reason = ?3 WHERE id = ?1",
                params![key.id, timefmt::to_db(now), reason],
            )?;
            changed(tx, &key.id, now)?;
            audit::append(
                tx,
                k,
                a,
                ev(
                    "partner_key.revoke",
                    "partner_key",
                    None,
                    Some(&key.id),
                    Outcome::Success,
                    format!("{} ({}): {reason}", key.application, key.environment.as_str()),
                ),
            )
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

    /// Usage a verifier counted since its last flush: per key id, the
    /// successful and failed verifications and the source addresses. Also
    /// looks for anomalies and records each as a notice, once:
    /// - a key used from an address it was never used from (its first
    ///   address sets the baseline);
    /// - `FAILURE_BURST` or more failed verifications for one application's
    ///   keys within the hour (once per application and hour);
    /// - a key used more than `SPIKE_FACTOR` times its average hourly use
    ///   over the previous day (at least 3 hours of history, at least
    ///   `SPIKE_MIN` uses; once per key and hour).
    ///
    /// Returns the notices raised, for the caller to show natively.
    pub fn record_key_usage(&mut self, rows: &[(String, u64, u64, Vec<String>)]) -> Result<Vec<crate::Notice>> {
        let now = self.now();
        let at = timefmt::to_db(now);
        let hour = format!("{}:00:00.000000Z", &at[..13]);
        let day_ago = format!("{}:00:00.000000Z", &timefmt::to_db(now - Duration::hours(24))[..13]);
        let raised = self.write_with(|tx, k, a| {
            let mut raised = Vec::new();
            let mut apps_with_failures = Vec::new();
            for (id, ok, failed, sources) in rows {
                let app: Option<String> = tx
                    .query_row("SELECT application FROM partner_keys WHERE id = ?1", [id], |r| r.get(0))
                    .optional()?;
                let Some(app) = app else { continue };
                tx.execute(
                    "UPDATE partner_keys SET use_count = use_count + ?2,
                         last_used_at = CASE WHEN ?2 > 0 THEN ?3 ELSE last_used_at END
                     WHERE id = ?1",
                    params![id, *ok as i64, at],
                )?;
                tx.execute(
                    "INSERT INTO key_usage (key_id, hour, ok, failed) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT(key_id, hour) DO UPDATE SET ok = ok + excluded.ok, failed = failed + excluded.failed",
                    params![id, hour, *ok as i64, *failed as i64],
                )?;
                for src in sources {
                    let known: i64 = tx.query_row(
                        "SELECT COUNT(*) FROM key_sources WHERE key_id = ?1 AND source = ?2",
                        params![id, src],
                        |r| r.get(0),
                    )?;
                    let others: i64 =
                        tx.query_row("SELECT COUNT(*) FROM key_sources WHERE key_id = ?1", [id], |r| r.get(0))?;
                    tx.execute(
                        "INSERT INTO key_sources (key_id, source, first_seen, last_seen) VALUES (?1, ?2, ?3, ?3)
                         ON CONFLICT(key_id, source) DO UPDATE SET last_seen = excluded.last_seen",
                        params![id, src, at],
                    )?;
                    if known == 0 && others > 0 {
                        raised.extend(anomaly(
                            tx,
                            k,
                            a,
                            Anomaly {
                                kind: crate::NoticeKind::NewSource,
                                key_id: Some(id),
                                application: &app,
                                dedupe: format!("new_source|{id}|{src}"),
                                summary: format!("Partner key {id} used from a new address, {src}"),
                                body: format!(
                                    "Application {app}. If {src} is not the partner's known infrastructure, revoke the key."
                                ),
                                now,
                            },
                        )?);
                    }
                }
                if *failed > 0 && !apps_with_failures.contains(&app) {
                    apps_with_failures.push(app.clone());
                }
                if *ok > 0 {
                    let (this_hour, baseline_hours, baseline_total): (i64, i64, i64) = tx.query_row(
                        "SELECT (SELECT ok FROM key_usage WHERE key_id = ?1 AND hour = ?2),
                                COUNT(*), COALESCE(SUM(ok), 0)
                           FROM key_usage WHERE key_id = ?1 AND hour < ?2 AND hour >= ?3",
                        params![id, hour, day_ago],
                        |r| Ok((r.get::<_, Option<i64>>(0)?.unwrap_or(0), r.get(1)?, r.get(2)?)),
                    )?;
                    let average = baseline_total as f64 / baseline_hours.max(1) as f64;
                    if baseline_hours >= 3
                        && this_hour >= SPIKE_MIN
                        && this_hour as f64 > SPIKE_FACTOR * average.max(1.0)
                    {
                        raised.extend(anomaly(
                            tx,
                            k,
                            a,
                            Anomaly {
                                kind: crate::NoticeKind::UsageSpike,
                                key_id: Some(id),
                                application: &app,
                                dedupe: format!("usage_spike|{id}|{hour}"),
                                summary: format!(
                                    "Partner key {id} used {this_hour} times this hour, against about {average:.0} an hour"
                                ),
                                body: format!(
                                    "Application {app}. A leaked key is often used at volume: check with the partner, and revoke the key if the traffic is not theirs."
                                ),
                                now,
                            },
                        )?);
                    }
                }
            }
            for app in apps_with_failures {
                let failures: i64 = tx.query_row(
                    "SELECT COALESCE(SUM(u.failed), 0) FROM key_usage u JOIN partner_keys p ON p.id = u.key_id
                      WHERE p.application = ?1 AND u.hour = ?2",
                    params![app, hour],
                    |r| r.get(0),
                )?;
                if failures >= FAILURE_BURST {
                    raised.extend(anomaly(
                        tx,
                        k,
                        a,
                        Anomaly {
                            kind: crate::NoticeKind::FailureBurst,
                            key_id: None,
                            application: &app,
                            dedupe: format!("failure_burst|{app}|{hour}"),
                            summary: format!("{failures} failed key verifications for {app} this hour"),
                            body: "Someone may be guessing keys, or the partner is using a revoked or rotated key. Check the partner keys of this application.".to_owned(),
                            now,
                        },
                    )?);
                }
            }
            Ok(raised)
        })?;
        let mut out = Vec::new();
        for id in raised {
            if let Some(r) = crate::store::notices::get(self.conn(), id)? {
                out.push(crate::expiry::notice_of(r)?);
            }
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

/// Failed verifications for one application within an hour that count as
/// a burst.
pub const FAILURE_BURST: i64 = 20;
/// Use above this many times the hourly baseline is a spike…
pub const SPIKE_FACTOR: f64 = 10.0;
/// …when it is also at least this many uses in the hour.
pub const SPIKE_MIN: i64 = 100;

struct Anomaly<'a> {
    kind: crate::NoticeKind,
    key_id: Option<&'a str>,
    application: &'a str,
    dedupe: String,
    summary: String,
    body: String,
    now: OffsetDateTime,
}

/// Records an anomaly as a notice (once, by its dedupe) and audits it.
fn anomaly(
    tx: &rusqlite::Connection,
    k: &crate::crypto::Key256,
    a: &crate::store::audit::Actor,
    an: Anomaly<'_>,
) -> Result<Option<i64>> {
    let id = crate::store::notices::insert(
        tx,
        &crate::store::notices::NewNotice {
            credential_id: None,
            partner_key_id: an.key_id,
            version: 0,
            kind: an.kind.as_str(),
            threshold_days: 0,
            expires_at: None,
            due_at: an.now,
            fired_at: an.now,
            credential_name: an.application,
            integration: None,
            summary: &an.summary,
            body: &an.body,
            dedupe: &an.dedupe,
        },
    )?;
    if id.is_some() {
        audit::append(
            tx,
            k,
            a,
            ev(
                "partner_key.anomaly",
                "partner_key",
                None,
                Some(an.key_id.unwrap_or(an.application)),
                Outcome::Failure,
                an.summary.clone(),
            ),
        )?;
    }
    Ok(id)
}

fn changed(tx: &rusqlite::Connection, id: &str, now: OffsetDateTime) -> Result<()> {
    tx.execute(
        "INSERT INTO key_changes (key_id, at) VALUES (?1, ?2)",
        params![id, timefmt::to_db(now)],
    )?;
    Ok(())
}

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
    hash_key: crate::crypto::Key256,
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
    pub fn from_keys(hash_key: crate::crypto::Key256, keys: HashMap<String, IndexedKey>) -> KeyIndex {
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
    fn usable<'k>(
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
        if let Some(required) = scope {
            if !k.scopes.iter().any(|s| s == required) {
                return Verified::InsufficientScope {
                    required: required.to_owned(),
                };
            }
        }
        Verified::Valid {
            key_id: parsed.id.to_owned(),
            application: k.application.clone(),
            scopes: k.scopes.clone(),
            environment: parsed.env,
        }
    }
}

/// One hour of a partner key's use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HourUsage {
    pub hour: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub ok: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub failed: u64,
}

/// An address a partner key was used from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct KeySource {
    pub source: String,
    pub first_seen: String,
    pub last_seen: String,
}

impl Vault {
    /// The key's use per hour over the last `hours` hours, oldest first.
    pub fn partner_key_usage(&self, id: &str, hours: u32) -> Result<Vec<HourUsage>> {
        let since = format!(
            "{}:00:00.000000Z",
            &timefmt::to_db(self.now() - Duration::hours(i64::from(hours)))[..13]
        );
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT hour, ok, failed FROM key_usage WHERE key_id = ?1 AND hour >= ?2 ORDER BY hour")?;
        let rows = stmt.query_map(params![id, since], |r| {
            Ok(HourUsage {
                hour: r.get(0)?,
                ok: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                failed: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The addresses the key was used from, most recent first.
    pub fn partner_key_sources(&self, id: &str) -> Result<Vec<KeySource>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT source, first_seen, last_seen FROM key_sources WHERE key_id = ?1 ORDER BY last_seen DESC",
        )?;
        let rows = stmt.query_map([id], |r| {
            Ok(KeySource {
                source: r.get(0)?,
                first_seen: r.get(1)?,
                last_seen: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The anomaly notices about one key (or its application's bursts).
    pub fn partner_key_alerts(&self, id: &str) -> Result<Vec<crate::Notice>> {
        let key = self.partner_key(id)?;
        Ok(self
            .notices(true)?
            .into_iter()
            .filter(|n| {
                n.partner_key_id.as_deref() == Some(id)
                    || (n.kind == crate::NoticeKind::FailureBurst && n.credential == key.application)
            })
            .collect())
    }
}

impl Vault {
    /// The background job: rotates every key that reached its policy age
    /// (and was not already replaced). Each successor's plaintext is sealed
    /// for one delivery, and a notice says so. Returns the successors.
    pub fn rotate_due_partner_keys(&mut self) -> Result<Vec<RotatedByPolicy>> {
        let due: Vec<PartnerKey> = self
            .partner_keys()?
            .into_iter()
            .filter(|k| k.state == KeyState::RotationDue && k.replaced_by.is_none())
            .collect();
        let mut out = Vec::new();
        for old in due {
            let issued = self.rotate_partner_key(&old.id, None)?;
            let field = crate::store::sealed_values::delivery_field(&issued.key.id);
            let slot = crate::crypto::sealed::FieldSlot {
                credential_id: uuid::Uuid::nil(),
                field: &field,
                version: 0,
            };
            let now = self.now();
            let new_id = issued.key.id.clone();
            let summary = format!(
                "Partner key {} of {} was rotated by its policy",
                old.id, old.application
            );
            let body = format!(
                "The successor {new_id} is ready: open it and take the new key (once) to deliver it. The old key stops at {}.",
                issued
                    .key
                    .grace_until
                    .or(self.partner_key(&old.id)?.grace_until)
                    .map(timefmt::to_db)
                    .unwrap_or_default()
            );
            // Sealed in the transaction that stores it: under the data key
            // current then, which no other program can delete meanwhile.
            let notice = self.write_sealing(|tx, dek, k, a| {
                let blob = crate::vault::seal_counted(tx, dek, &slot, issued.plaintext.as_bytes())?;
                tx.execute(
                    "INSERT INTO key_deliveries (key_id, sealed, created_at) VALUES (?1, ?2, ?3)",
                    params![new_id, blob, timefmt::to_db(now)],
                )?;
                let notice = crate::store::notices::insert(
                    tx,
                    &crate::store::notices::NewNotice {
                        credential_id: None,
                        partner_key_id: Some(&new_id),
                        version: 0,
                        kind: crate::NoticeKind::KeyRotated.as_str(),
                        threshold_days: 0,
                        expires_at: None,
                        due_at: now,
                        fired_at: now,
                        credential_name: &old.application,
                        integration: None,
                        summary: &summary,
                        body: &body,
                        dedupe: &format!("key_rotated|{}", old.id),
                    },
                )?;
                audit::append(
                    tx,
                    k,
                    a,
                    ev(
                        "partner_key.rotate",
                        "partner_key",
                        None,
                        Some(&old.id),
                        Outcome::Success,
                        format!(
                            "rotated by policy (every {} days); successor {new_id} awaits delivery",
                            old.max_age_days
                        ),
                    ),
                )?;
                Ok(notice)
            })?;
            let notice = match notice {
                Some(id) => crate::store::notices::get(self.conn(), id)?
                    .map(crate::expiry::notice_of)
                    .transpose()?,
                None => None,
            };
            out.push(RotatedByPolicy {
                key: self.partner_key(&new_id)?,
                notice,
            });
        }
        Ok(out)
    }

    /// When the next key reaches its policy age, for the scheduler.
    pub fn next_partner_key_rotation(&self) -> Result<Option<OffsetDateTime>> {
        Ok(self
            .partner_keys()?
            .into_iter()
            .filter(|k| matches!(k.state, KeyState::Active | KeyState::Expiring) && k.max_age_days > 0)
            .map(|k| k.created_at + Duration::days(i64::from(k.max_age_days)))
            .min())
    }

    /// Whether a successor's plaintext waits for delivery.
    pub fn partner_key_awaits_delivery(&self, id: &str) -> Result<bool> {
        let n: i64 = self
            .conn()
            .query_row("SELECT COUNT(*) FROM key_deliveries WHERE key_id = ?1", [id], |r| {
                r.get(0)
            })?;
        Ok(n > 0)
    }

    /// Takes a key rotated by policy for delivery: its plaintext and a fresh
    /// envelope, once; afterwards only its hash remains. Audited.
    pub fn take_key_delivery(&mut self, id: &str) -> Result<IssuedKey> {
        // The sealed blob and the data key that opens it, from one snapshot.
        let plain = self.read(|conn| {
            let blob: Vec<u8> = conn
                .query_row("SELECT sealed FROM key_deliveries WHERE key_id = ?1", [id], |r| {
                    r.get(0)
                })
                .optional()?
                .ok_or_else(|| Error::NotFound {
                    kind: "key awaiting delivery",
                    name: id.to_owned(),
                })?;
            let field = crate::store::sealed_values::delivery_field(id);
            let slot = crate::crypto::sealed::FieldSlot {
                credential_id: uuid::Uuid::nil(),
                field: &field,
                version: 0,
            };
            self.open_slot_in(conn, &slot, &blob)
        })?;
        let plaintext = Zeroizing::new(String::from_utf8(plain.to_vec()).map_err(|_| Error::Decryption)?);
        let key = self.partner_key(id)?;
        let now = self.now();
        self.write_with(|tx, k, a| {
            // Once: of two programs taking the same delivery at the same
            // moment, only the one whose delete removed it gets the key.
            if tx.execute("DELETE FROM key_deliveries WHERE key_id = ?1", [id])? != 1 {
                return Err(Error::NotFound {
                    kind: "key awaiting delivery (it was just taken by another program)",
                    name: id.to_owned(),
                });
            }
            audit::append(
                tx,
                k,
                a,
                ev(
                    "partner_key.deliver",
                    "partner_key",
                    None,
                    Some(id),
                    Outcome::Success,
                    format!(
                        "the key rotated by policy for {} was shown for delivery",
                        key.application
                    ),
                ),
            )
        })?;
        let envelope = self.envelope(&key, &plaintext, now)?;
        Ok(IssuedKey {
            key,
            plaintext,
            envelope,
        })
    }
}

impl Vault {
    /// A service account for a job: a `kws_` token (shown once, stored
    /// hashed, rotated and revoked like a partner key) granted the
    /// credentials of the named integrations, one by default.
    pub fn create_service_account(&mut self, mut new: NewPartnerKey) -> Result<IssuedKey> {
        if new.grants.is_empty() {
            return Err(Error::invalid(
                "grant",
                "name the integration whose credential the account may use (--grant NAME); it gets nothing else",
            ));
        }
        let mut ids = Vec::new();
        for g in &new.grants {
            ids.push(self.get_integration(g)?.id.to_string());
        }
        new.kind = KeyKind::Service;
        new.grants = ids;
        if new.scopes.is_empty() {
            new.scopes = vec!["credentials:read".into()];
        }
        self.issue_partner_key(new)
    }

    /// What the broker hands a service account: the current secret of the
    /// credential serving `integration`, when the caller's grant covers
    /// it. Audited as a use "broker: <account>".
    pub fn broker_credential(
        &mut self,
        caller: &ServiceCaller,
        integration: &str,
    ) -> Result<Option<BrokeredCredential>> {
        let Ok(i) = self.get_integration(integration) else {
            return Ok(None);
        };
        if !caller.grants.iter().any(|g| *g == i.id.to_string()) {
            return Ok(None);
        }
        let env = self.run_environment(&i.id.to_string(), None, &format!("broker: {}", caller.account))?;
        let c = self.get_credential(&env.credential)?;
        let secrets = env.vars.into_iter().map(|(field, _, value)| (field, value)).collect();
        // During the grace period after a rotation the version it replaced is
        // reported too (never its secret, which the swap erased), so a job
        // that still holds it knows it is superseded and until when.
        let grace = time::Duration::days(i64::from(self.rotation_policy().1));
        let now = self.now();
        let previous = c
            .versions
            .iter()
            .filter(|v| v.state == crate::model::VersionState::Retired && v.version < c.summary.current_version)
            .max_by_key(|v| v.version)
            .and_then(|v| {
                let retired_at = v.retired_at?;
                (retired_at + grace > now).then(|| PreviousVersion {
                    version: v.version,
                    retired_at,
                    grace_until: retired_at + grace,
                    masks: v.masks.clone(),
                })
            });
        Ok(Some(BrokeredCredential {
            env_names: i.env_names,
            integration: i.name,
            credential: c.summary.name,
            version: c.summary.current_version,
            expires_at: c.summary.expires_at,
            secrets,
            previous,
        }))
    }
}

/// A key rotated by its policy: the successor, and the notice that says it
/// waits for delivery (for the caller to show natively).
#[derive(Debug, Clone)]
pub struct RotatedByPolicy {
    pub key: PartnerKey,
    pub notice: Option<crate::Notice>,
}

/// A credential handed to a service account by the broker.
pub struct BrokeredCredential {
    pub integration: String,
    /// The integration's `kw run` variable names.
    pub env_names: std::collections::BTreeMap<String, String>,
    pub credential: String,
    pub version: u32,
    pub expires_at: Option<OffsetDateTime>,
    pub secrets: Vec<(String, secrecy::SecretString)>,
    /// The version the last rotation replaced, while in its grace period.
    pub previous: Option<PreviousVersion>,
}

/// A superseded version as the broker reports it: metadata and masks only.
#[derive(Debug, Clone, PartialEq)]
pub struct PreviousVersion {
    pub version: u32,
    pub retired_at: OffsetDateTime,
    /// `retired_at` plus the vault's rotation grace period.
    pub grace_until: OffsetDateTime,
    pub masks: std::collections::BTreeMap<String, String>,
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
