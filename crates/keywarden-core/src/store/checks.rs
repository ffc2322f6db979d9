//! The history of credential checks: when, which version, live or offline,
//! and the verdict (never the secret).

use rusqlite::{Connection, params};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::timefmt;
use crate::validate::{Failure, Verdict};

/// The verdict code of a check that passed.
pub const VALID: &str = "valid";

/// One recorded check.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Check {
    pub version: u32,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub checked_at: OffsetDateTime,
    pub offline: bool,
    /// Run by the scheduler rather than asked for.
    #[serde(default)]
    pub scheduled: bool,
    pub outcome: CheckOutcome,
}

/// What a check found.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum CheckOutcome {
    Valid { verdict: Verdict },
    Failed { failure: Failure },
}

impl CheckOutcome {
    pub fn code(&self) -> &'static str {
        match self {
            CheckOutcome::Valid { .. } => VALID,
            CheckOutcome::Failed { failure } => failure.code(),
        }
    }
}

pub fn insert(conn: &Connection, credential_id: Uuid, check: &Check) -> Result<()> {
    let verdict = serde_json::to_string(&check.outcome).map_err(|e| Error::Database(e.to_string()))?;
    conn.prepare_cached(
        "INSERT INTO credential_checks (credential_id, version, checked_at, offline, code, verdict, scheduled)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        credential_id.to_string(),
        check.version,
        timefmt::to_db(check.checked_at),
        check.offline,
        check.outcome.code(),
        verdict,
        check.scheduled
    ])?;
    Ok(())
}

/// The latest checks of a credential, newest first.
pub fn recent(conn: &Connection, credential_id: Uuid, limit: u32) -> Result<Vec<Check>> {
    let mut stmt = conn.prepare_cached(
        "SELECT version, checked_at, offline, verdict, scheduled FROM credential_checks
         WHERE credential_id = ?1 ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![credential_id.to_string(), limit], |r| {
        Ok((
            r.get::<_, u32>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, bool>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, bool>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (version, at, offline, verdict, scheduled) = row?;
        out.push(Check {
            version,
            checked_at: timefmt::from_db(&at)?,
            offline,
            scheduled,
            outcome: serde_json::from_str(&verdict).map_err(|e| Error::Database(e.to_string()))?,
        });
    }
    Ok(out)
}

/// Authentication failures of live checks of `version` since its last live
/// success; failures that say nothing about the secret (unreachable, rate
/// limited) neither count nor reset.
pub fn consecutive_auth_failures(conn: &Connection, credential_id: Uuid, version: u32) -> Result<u32> {
    let mut stmt = conn.prepare_cached(
        "SELECT code FROM credential_checks WHERE credential_id = ?1 AND version = ?2 AND offline = 0
          ORDER BY id DESC",
    )?;
    let mut rows = stmt.query(params![credential_id.to_string(), version])?;
    let mut n = 0;
    while let Some(row) = rows.next()? {
        let code: String = row.get(0)?;
        match code.as_str() {
            VALID => break,
            "invalid_credential" | "expired" => n += 1,
            _ => {}
        }
    }
    Ok(n)
}

/// Checks per UTC day since `since` (`YYYY-MM-DD…` as stored), passed and
/// failed, oldest day first.
pub fn per_day(conn: &Connection, credential_id: Uuid, since: &str) -> Result<Vec<(String, u32, u32)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT substr(checked_at, 1, 10) AS day, sum(code = ?3), sum(code <> ?3) FROM credential_checks
         WHERE credential_id = ?1 AND checked_at >= ?2 GROUP BY day ORDER BY day",
    )?;
    let rows = stmt.query_map(params![credential_id.to_string(), since, VALID], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
