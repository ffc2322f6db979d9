//! The team's audit chain, mirrored into OpenBao beside its own audit
//! device. Each event is one KV entry at `a/e/<writer>/<seq>-<nonce>`, written
//! with check-and-set 0 under a policy that lets only that writer create
//! paths under their own entity id: the path is OpenBao's word for who
//! made the change, and an event can never be rewritten. `a/head` names
//! the last event and moves by check-and-set, so appends from several
//! admins are totally ordered; every event carries the hash of the one
//! before it.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::client::Bao;
use crate::error::{BaoError, Result, TeamError};
use crate::layout::{AUDIT_HEAD, audit_event};

/// The hash the first event links to.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamEvent {
    pub seq: u64,
    pub at: String,
    /// OpenBao entity id of the writer; equals the `<writer>` of its path.
    pub actor_entity: String,
    /// The writer's OpenBao display name (`userpass-alice`).
    pub actor_name: String,
    /// `credential.add`, `credential.rotate`, `credential.update`,
    /// `credential.share`, `credential.delete`, `credential.validate`.
    pub action: String,
    pub credential_id: String,
    pub credential_name: String,
    /// What changed, in words; never a secret.
    pub detail: String,
    /// The key (`<writer>/<seq>-<nonce>`) and hash of the event before.
    pub prev_key: String,
    pub prev_hash: String,
}

impl TeamEvent {
    /// SHA-256 over the event's canonical JSON (fields in declaration
    /// order, as serde writes them).
    pub fn hash(&self) -> String {
        // A struct of strings and numbers always serialises.
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(Sha256::digest(&bytes))
    }
}

/// What an append needs from the caller.
#[derive(Clone)]
pub struct Entry<'a> {
    pub actor_entity: &'a str,
    pub actor_name: &'a str,
    pub action: &'a str,
    pub credential_id: &'a str,
    pub credential_name: &'a str,
    pub detail: String,
}

struct Head {
    seq: u64,
    /// `<writer>/<seq>-<nonce>` of the last event.
    key: String,
    hash: String,
    /// The KV version of `a/head`, for check-and-set.
    version: u64,
}

fn read_head(bao: &Bao, mount: &str) -> Result<Head> {
    match bao.get(&format!("{mount}/data/{AUDIT_HEAD}")) {
        Ok(v) => {
            let d = &v["data"]["data"];
            Ok(Head {
                seq: d["seq"].as_u64().unwrap_or(0),
                key: d["key"].as_str().unwrap_or("").to_owned(),
                hash: d["hash"].as_str().unwrap_or(GENESIS).to_owned(),
                version: v["data"]["metadata"]["version"].as_u64().unwrap_or(0),
            })
        }
        Err(BaoError::NotFound { .. }) => Ok(Head {
            seq: 0,
            key: String::new(),
            hash: GENESIS.to_owned(),
            version: 0,
        }),
        Err(e) => Err(e.into()),
    }
}

/// Appends one event; retries when another writer moved the head first.
/// An event written for a sequence number someone else then took stays
/// as an orphan outside the chain (its writer cannot delete it, by
/// design); a fresh nonce per attempt keeps orphans from ever blocking.
pub fn append(bao: &Bao, mount: &str, at: &str, entry: Entry<'_>) -> Result<TeamEvent> {
    for attempt in 0..64u64 {
        let head = read_head(bao, mount)?;
        let event = TeamEvent {
            seq: head.seq + 1,
            at: at.to_owned(),
            actor_entity: entry.actor_entity.to_owned(),
            actor_name: entry.actor_name.to_owned(),
            action: entry.action.to_owned(),
            credential_id: entry.credential_id.to_owned(),
            credential_name: entry.credential_name.to_owned(),
            detail: entry.detail.clone(),
            prev_key: head.key.clone(),
            prev_hash: head.hash.clone(),
        };
        let key = audit_event(
            entry.actor_entity,
            event.seq,
            &uuid::Uuid::new_v4().simple().to_string(),
        );
        bao.post(
            &format!("{mount}/data/a/e/{key}"),
            &json!({"options": {"cas": 0}, "data": event}),
        )?;
        let new_head = json!({"options": {"cas": head.version},
            "data": {"seq": event.seq, "key": key, "hash": event.hash()}});
        match bao.post(&format!("{mount}/data/{AUDIT_HEAD}"), &new_head) {
            Ok(_) => return Ok(event),
            Err(BaoError::CasMismatch { .. }) => backoff(attempt),
            Err(e) => return Err(e.into()),
        }
    }
    Err(TeamError::Bao(BaoError::Status {
        status: 409,
        path: AUDIT_HEAD.into(),
        errors: "the audit head kept moving: too many concurrent writers; try again".into(),
    }))
}

/// The event of a change that has already committed: one more try if the
/// first fails, then an error that says the change stands (never one that
/// reads as if it did not happen).
pub fn append_committed(bao: &Bao, mount: &str, at: &str, entry: Entry<'_>) -> Result<TeamEvent> {
    match append(bao, mount, at, entry.clone()) {
        Ok(e) => Ok(e),
        Err(_) => append(bao, mount, at, entry).map_err(|e| TeamError::NotRecorded { reason: e.to_string() }),
    }
}

fn backoff(attempt: u64) {
    // Spread competing writers apart: 1–8 ms, growing.
    let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0] % 4);
    std::thread::sleep(Duration::from_millis((1 + attempt.min(4) + jitter).min(8)));
}

fn read_event(bao: &Bao, mount: &str, key: &str, seq: u64) -> Result<TeamEvent> {
    let v = bao.get(&format!("{mount}/data/a/e/{key}"))?;
    serde_json::from_value(v["data"]["data"].clone()).map_err(|e| TeamError::AuditBroken {
        seq,
        reason: format!("the event is not readable: {e}"),
    })
}

/// The last `limit` events, newest first, each checked against the next.
pub fn recent(bao: &Bao, mount: &str, limit: usize) -> Result<Vec<TeamEvent>> {
    walk(bao, mount, Some(limit))
}

/// Walks the whole chain from the head back to the first event: every
/// hash links, every sequence number is one less, and every event's actor
/// is the entity whose path it sits under. The number of events.
pub fn verify(bao: &Bao, mount: &str) -> Result<u64> {
    Ok(walk(bao, mount, None)?.len() as u64)
}

fn walk(bao: &Bao, mount: &str, limit: Option<usize>) -> Result<Vec<TeamEvent>> {
    let head = read_head(bao, mount)?;
    let mut out = Vec::new();
    let (mut seq, mut key, mut hash) = (head.seq, head.key, head.hash);
    while seq > 0 && limit.is_none_or(|l| out.len() < l) {
        let e = read_event(bao, mount, &key, seq).map_err(|e| match e {
            TeamError::Bao(BaoError::NotFound { .. }) => TeamError::AuditBroken {
                seq,
                reason: "the event is missing".into(),
            },
            other => other,
        })?;
        if e.seq != seq {
            return Err(TeamError::AuditBroken {
                seq,
                reason: format!("it says it is event {}", e.seq),
            });
        }
        if key.split('/').next() != Some(e.actor_entity.as_str()) {
            return Err(TeamError::AuditBroken {
                seq,
                reason: "its actor is not the OpenBao identity that wrote it".into(),
            });
        }
        if e.hash() != hash {
            return Err(TeamError::AuditBroken {
                seq,
                reason: "its content does not match the hash the next event recorded".into(),
            });
        }
        seq -= 1;
        key = e.prev_key.clone();
        hash = e.prev_hash.clone();
        out.push(e);
    }
    if seq == 0 && limit.is_none() && hash != GENESIS {
        return Err(TeamError::AuditBroken {
            seq: 1,
            reason: "the first event does not start the chain".into(),
        });
    }
    Ok(out)
}
