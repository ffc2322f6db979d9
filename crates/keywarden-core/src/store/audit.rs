//! The audit log: one event per change or use, appended in the caller's
//! transaction, chained with HMAC-SHA256 so that an edited, deleted,
//! reordered, inserted or truncated event is detected by `verify`.
//!
//! `mac(n) = HMAC(audit_key, "keywarden/audit/v1" | seq | at | profile |
//! os_user | host | action | object_kind | object_id | object_name | outcome
//! | detail | mac(n-1))`, every part length-prefixed and the optional ones
//! tagged; `mac(0)` is HMAC(audit_key, "keywarden/audit/genesis") (FORMAT.md
//! 5.1, pinned by `tests/vectors/audit_chain.json`).
//! `audit_head` holds the last seq and MAC under their own HMAC, so
//! removing the newest events is detected too.

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::crypto::{self, AuditMacKey};
use crate::error::{Error, Result};
use crate::timefmt;

/// Who acted: the admin profile, the OS account and the machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub profile: String,
    pub os_user: String,
    pub host: String,
}

impl Actor {
    /// The person at this machine: `profile` if given, else the OS user.
    pub fn current(profile: Option<String>) -> Actor {
        let os_user = whoami::username();
        let host = whoami::fallible::hostname().unwrap_or_else(|_| "unknown-host".into());
        Actor {
            profile: profile
                .filter(|p| !p.trim().is_empty())
                .unwrap_or_else(|| os_user.clone()),
            os_user,
            host,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Denied => "denied",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        match s {
            "success" => Ok(Self::Success),
            "failure" => Ok(Self::Failure),
            "denied" => Ok(Self::Denied),
            other => Err(Error::Database(format!("unknown audit outcome {other:?}"))),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AuditEvent {
    pub seq: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub at: OffsetDateTime,
    pub profile: String,
    pub os_user: String,
    pub host: String,
    pub action: String,
    pub object_kind: String,
    pub object_id: Option<String>,
    pub object_name: Option<String>,
    pub outcome: Outcome,
    pub detail: String,
}

/// What an operation records; the store adds time, actor and chain.
pub struct NewEvent<'a> {
    pub action: &'a str,
    pub object_kind: &'a str,
    pub object_id: Option<String>,
    pub object_name: Option<String>,
    pub outcome: Outcome,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AuditReport {
    pub ok: bool,
    pub events: u64,
    /// The first event that fails verification (or the last good one plus
    /// one, for a truncated log).
    pub first_bad_seq: Option<i64>,
    pub problem: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Credential or integration name or id.
    pub object: Option<String>,
    pub action: Option<String>,
    pub profile: Option<String>,
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    pub limit: Option<usize>,
}

fn opt(o: &Option<String>) -> Vec<u8> {
    match o {
        None => vec![0],
        Some(s) => {
            let mut v = vec![1];
            v.extend_from_slice(s.as_bytes());
            v
        }
    }
}

pub(crate) fn event_mac(key: &AuditMacKey, ev: &AuditEvent, at_text: &str, prev: &[u8]) -> [u8; 32] {
    key.mac(&[
        b"keywarden/audit/v1",
        &ev.seq.to_be_bytes(),
        at_text.as_bytes(),
        ev.profile.as_bytes(),
        ev.os_user.as_bytes(),
        ev.host.as_bytes(),
        ev.action.as_bytes(),
        ev.object_kind.as_bytes(),
        &opt(&ev.object_id),
        &opt(&ev.object_name),
        ev.outcome.as_str().as_bytes(),
        ev.detail.as_bytes(),
        prev,
    ])
}

pub(crate) fn genesis(key: &AuditMacKey) -> [u8; 32] {
    key.mac(&[b"keywarden/audit/genesis"])
}

pub(crate) fn head_mac(key: &AuditMacKey, seq: i64, mac: &[u8]) -> [u8; 32] {
    key.mac(&[b"keywarden/audit/head", &seq.to_be_bytes(), mac])
}

/// Appends one event. Call inside the transaction of the change it records.
pub(crate) fn append(conn: &Connection, key: &AuditMacKey, actor: &Actor, new: NewEvent<'_>) -> Result<i64> {
    // Statements cached: a bulk import appends an event per credential.
    let head: Option<(i64, Vec<u8>)> = conn
        .prepare_cached("SELECT seq, mac FROM audit_head WHERE id = 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (seq, prev) = match head {
        Some((s, m)) => (s + 1, m),
        None => (1, genesis(key).to_vec()),
    };
    let at = timefmt::now();
    let at_text = timefmt::to_db(at);
    let ev = AuditEvent {
        seq,
        at,
        profile: actor.profile.clone(),
        os_user: actor.os_user.clone(),
        host: actor.host.clone(),
        action: new.action.to_owned(),
        object_kind: new.object_kind.to_owned(),
        object_id: new.object_id,
        object_name: new.object_name,
        outcome: new.outcome,
        detail: new.detail,
    };
    let mac = event_mac(key, &ev, &at_text, &prev);
    conn.prepare_cached(
        "INSERT INTO audit_events (seq, at, profile, os_user, host, action, object_kind, object_id, object_name,
                                   outcome, detail, prev_mac, mac)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        seq,
        at_text,
        ev.profile,
        ev.os_user,
        ev.host,
        ev.action,
        ev.object_kind,
        ev.object_id,
        ev.object_name,
        ev.outcome.as_str(),
        ev.detail,
        prev,
        mac.to_vec()
    ])?;
    conn.prepare_cached(
        "INSERT INTO audit_head (id, seq, mac, head_mac) VALUES (1, ?1, ?2, ?3)
         ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, mac = excluded.mac, head_mac = excluded.head_mac",
    )?
    .execute(params![seq, mac.to_vec(), head_mac(key, seq, &mac).to_vec()])?;
    Ok(seq)
}

const COLUMNS: &str = "seq, at, profile, os_user, host, action, object_kind, object_id, object_name, outcome, detail";

fn row_event(r: &rusqlite::Row<'_>) -> rusqlite::Result<(AuditEvent, String)> {
    let at_text: String = r.get(1)?;
    let outcome: String = r.get(9)?;
    Ok((
        AuditEvent {
            seq: r.get(0)?,
            at: OffsetDateTime::UNIX_EPOCH,
            profile: r.get(2)?,
            os_user: r.get(3)?,
            host: r.get(4)?,
            action: r.get(5)?,
            object_kind: r.get(6)?,
            object_id: r.get(7)?,
            object_name: r.get(8)?,
            outcome: Outcome::parse(&outcome).unwrap_or(Outcome::Failure),
            detail: r.get(10)?,
        },
        at_text,
    ))
}

fn finish(pair: (AuditEvent, String)) -> Result<AuditEvent> {
    let (mut ev, at) = pair;
    ev.at = timefmt::from_db(&at)?;
    Ok(ev)
}

pub fn list(conn: &Connection, f: &AuditFilter) -> Result<Vec<AuditEvent>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM audit_events
         WHERE (?1 IS NULL OR object_id = ?1 OR object_name = ?1 COLLATE NOCASE)
           AND (?2 IS NULL OR action = ?2 OR substr(action, 1, length(?2) + 1) = ?2 || '.')
           AND (?3 IS NULL OR profile = ?3 COLLATE NOCASE)
           AND (?4 IS NULL OR at >= ?4)
           AND (?5 IS NULL OR at <= ?5)
         ORDER BY seq DESC LIMIT ?6"
    ))?;
    let limit = f.limit.map(|l| l as i64).unwrap_or(-1);
    let rows = stmt.query_map(
        params![
            f.object,
            f.action,
            f.profile,
            f.since.map(timefmt::to_db),
            f.until.map(timefmt::to_db),
            limit
        ],
        row_event,
    )?;
    let mut out = Vec::new();
    for r in rows {
        out.push(finish(r?)?);
    }
    out.reverse();
    Ok(out)
}

/// Events of `action` on object `object_id` per UTC day since `since`
/// (as stored), oldest day first.
pub fn per_day(conn: &Connection, object_id: &str, action: &str, since: &str) -> Result<Vec<(String, u64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT substr(at, 1, 10) AS day, count(*) FROM audit_events
         WHERE object_id = ?1 AND action = ?2 AND at >= ?3 GROUP BY day ORDER BY day",
    )?;
    let rows = stmt.query_map(params![object_id, action, since], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn count(conn: &Connection) -> Result<u64> {
    let n: i64 = conn.query_row("SELECT count(*) FROM audit_events", [], |r| r.get(0))?;
    Ok(n as u64)
}

/// Walks the whole chain; names the first event that does not verify.
pub(crate) fn verify(conn: &Connection, key: &AuditMacKey) -> Result<AuditReport> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS}, prev_mac, mac FROM audit_events ORDER BY seq"
    ))?;
    let mut rows = stmt.query([])?;
    let mut expected_seq = 1i64;
    let mut prev = genesis(key).to_vec();
    let mut n = 0u64;
    let bad = |seq: i64, n: u64, why: String| AuditReport {
        ok: false,
        events: n,
        first_bad_seq: Some(seq),
        problem: Some(why),
    };
    while let Some(r) = rows.next()? {
        let (ev, at_text) = row_event(r)?;
        let stored_prev: Vec<u8> = r.get(11)?;
        let stored_mac: Vec<u8> = r.get(12)?;
        n += 1;
        if ev.seq != expected_seq {
            let why = if ev.seq > expected_seq {
                format!("event {expected_seq} is missing (deleted), the log jumps to {}", ev.seq)
            } else {
                format!("event {} is out of order", ev.seq)
            };
            return Ok(bad(expected_seq.min(ev.seq), n, why));
        }
        if !crypto::ct_eq(&stored_prev, &prev) {
            return Ok(bad(
                ev.seq,
                n,
                format!(
                    "event {} does not follow event {} (reordered, inserted or deleted)",
                    ev.seq,
                    ev.seq - 1
                ),
            ));
        }
        let outcome_text: String = r.get(9)?;
        let mac = event_mac(key, &ev, &at_text, &prev);
        if outcome_text != ev.outcome.as_str() || !crypto::ct_eq(&stored_mac, &mac) {
            return Ok(bad(ev.seq, n, format!("event {} was altered", ev.seq)));
        }
        prev = stored_mac;
        expected_seq += 1;
    }
    verify_head(conn, key, expected_seq - 1, &prev, n)
}

/// The end of a verified chain of `n` events, `last_seq` the last with MAC
/// `last_mac`, against the head record: a truncated or extended log, or an
/// altered head, is named by the event where it starts.
fn verify_head(conn: &Connection, key: &AuditMacKey, last_seq: i64, last_mac: &[u8], n: u64) -> Result<AuditReport> {
    let bad = |seq: i64, why: String| AuditReport {
        ok: false,
        events: n,
        first_bad_seq: Some(seq),
        problem: Some(why),
    };
    let head: Option<(i64, Vec<u8>, Vec<u8>)> = conn
        .query_row("SELECT seq, mac, head_mac FROM audit_head WHERE id = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    match head {
        None => Ok(bad(
            1,
            "the audit head record is missing (log truncated or replaced)".into(),
        )),
        Some((seq, mac, hmac)) => {
            if !crypto::ct_eq(&hmac, &head_mac(key, seq, &mac)) {
                Ok(bad(last_seq.max(1), "the audit head record was altered".into()))
            } else if seq != last_seq || !crypto::ct_eq(&mac, last_mac) {
                if seq > last_seq {
                    Ok(bad(
                        last_seq + 1,
                        format!("the log was truncated: it ends at event {last_seq}, but {seq} events were written"),
                    ))
                } else {
                    Ok(bad(
                        seq + 1,
                        format!("event {} was added after the recorded end of the log", seq + 1),
                    ))
                }
            } else {
                Ok(AuditReport {
                    ok: true,
                    events: n,
                    first_bad_seq: None,
                    problem: None,
                })
            }
        }
    }
}

/// Events `from..=to` as the stream carries them (with their chain).
pub(crate) fn stream_events(
    conn: &Connection,
    vault_id: &str,
    from: i64,
    to: i64,
) -> Result<Vec<crate::audit_stream::StreamEvent>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS}, prev_mac, mac FROM audit_events WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq"
    ))?;
    let rows = stmt.query_map(params![from, to], |r| {
        let (ev, at) = row_event(r)?;
        Ok((ev, at, r.get::<_, Vec<u8>>(11)?, r.get::<_, Vec<u8>>(12)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (ev, at, prev_mac, mac) = row?;
        out.push(crate::audit_stream::StreamEvent {
            vault_id: vault_id.to_owned(),
            seq: ev.seq,
            at,
            profile: ev.profile,
            os_user: ev.os_user,
            host: ev.host,
            action: ev.action,
            object_kind: ev.object_kind,
            object_id: ev.object_id,
            object_name: ev.object_name,
            outcome: ev.outcome,
            detail: ev.detail,
            prev_mac: hex::encode(prev_mac),
            mac: hex::encode(mac),
        });
    }
    Ok(out)
}

/// The MAC of event `seq`, if the log has it.
pub(crate) fn mac_of(conn: &Connection, seq: i64) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .prepare_cached("SELECT mac FROM audit_events WHERE seq = ?1")?
        .query_row([seq], |r| r.get(0))
        .optional()?)
}

/// When the newest event with `action` was recorded.
pub(crate) fn last_at(conn: &Connection, action: &str) -> Result<Option<OffsetDateTime>> {
    let at: Option<String> = conn
        .prepare_cached("SELECT at FROM audit_events WHERE action = ?1 ORDER BY seq DESC LIMIT 1")?
        .query_row([action], |r| r.get(0))
        .optional()?;
    at.as_deref().map(timefmt::from_db).transpose()
}
