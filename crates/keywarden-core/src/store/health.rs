//! The schedule of health checks: each credential's period, its last live
//! check, and the per-provider lease (migration 014).

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::health::LastCheck;
use crate::model::CredentialKind;
use crate::store::checks::CheckOutcome;
use crate::store::credentials::uuid;
use crate::timefmt;
use crate::validate::Failure;

/// A credential that may be checked on a schedule.
#[derive(Debug, Clone)]
pub struct ScheduleRow {
    pub id: Uuid,
    pub name: String,
    pub kind: CredentialKind,
    pub config: BTreeMap<String, String>,
    pub integration_id: Option<Uuid>,
    pub integration: Option<String>,
    /// The integration's provider, lower case ("" without one).
    pub provider: String,
    pub own_every_hours: Option<u32>,
    pub integration_every_hours: Option<u32>,
    /// When it was added, or last changed.
    pub since: OffsetDateTime,
    pub last: Option<LastCheck>,
}

type Raw = (
    (String, String, String, String, Option<String>, Option<String>),
    (String, Option<u32>, Option<u32>, String),
    (Option<i64>, Option<String>, Option<String>, Option<String>),
);

const SELECT: &str = "SELECT c.id, c.name, c.kind, c.config, c.integration_id, i.name,
        LOWER(COALESCE(i.provider, '')), c.check_every_hours, i.check_every_hours, c.created_at,
        k.id, k.checked_at, k.code, k.verdict
   FROM credentials c
   LEFT JOIN integrations i ON i.id = c.integration_id
   LEFT JOIN credential_checks k ON k.id =
        (SELECT MAX(id) FROM credential_checks WHERE credential_id = c.id AND offline = 0)";

/// Credentials in use (not disabled or revoked, with a current secret that
/// needs no re-entry), with what their schedule needs; one of them with
/// `only`.
pub fn rows(conn: &Connection, only: Option<Uuid>) -> Result<Vec<ScheduleRow>> {
    let sql = format!(
        "{SELECT} WHERE c.status NOT IN ('disabled', 'revoked') AND c.current_version > 0 AND c.needs_reentry = 0
            AND (?1 IS NULL OR c.id = ?1)"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let raws = stmt
        .query_map([only.map(|u| u.to_string())], |r| {
            Ok((
                (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?),
                (r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?),
                (r.get(10)?, r.get(11)?, r.get(12)?, r.get(13)?),
            ))
        })?
        .collect::<rusqlite::Result<Vec<Raw>>>()?;
    raws.into_iter().map(|raw| build(conn, raw)).collect()
}

fn build(conn: &Connection, raw: Raw) -> Result<ScheduleRow> {
    let ((id, name, kind, config, integration_id, integration), b, c) = raw;
    let (provider, own_every_hours, integration_every_hours, created_at) = b;
    let id = uuid(&id)?;
    let last = match c {
        (Some(check_id), Some(at), Some(code), Some(verdict)) => {
            let retry_after_secs = match serde_json::from_str::<CheckOutcome>(&verdict) {
                Ok(CheckOutcome::Failed {
                    failure: Failure::RateLimited { retry_after_secs, .. },
                }) => retry_after_secs,
                _ => None,
            };
            let unreachable_streak = if code == "unreachable" {
                unreachable_streak(conn, id, check_id)?
            } else {
                0
            };
            Some(LastCheck {
                at: timefmt::from_db(&at)?,
                code,
                retry_after_secs,
                unreachable_streak,
            })
        }
        _ => None,
    };
    Ok(ScheduleRow {
        id,
        name,
        kind: kind.parse()?,
        config: serde_json::from_str(&config).map_err(|e| Error::Database(e.to_string()))?,
        integration_id: integration_id.as_deref().map(uuid).transpose()?,
        integration,
        provider,
        own_every_hours,
        integration_every_hours,
        since: timefmt::from_db(&created_at)?,
        last,
    })
}

/// Live checks in a row, up to `last_id`, that could not reach the
/// provider (at most 32 are counted: enough for any backoff).
fn unreachable_streak(conn: &Connection, id: Uuid, last_id: i64) -> Result<u32> {
    let mut stmt = conn.prepare_cached(
        "SELECT code FROM credential_checks WHERE credential_id = ?1 AND offline = 0 AND id <= ?2
          ORDER BY id DESC LIMIT 32",
    )?;
    let mut rows = stmt.query(params![id.to_string(), last_id])?;
    let mut n = 0;
    while let Some(r) = rows.next()? {
        if r.get::<_, String>(0)? != "unreachable" {
            break;
        }
        n += 1;
    }
    Ok(n)
}

pub fn set_credential_every(conn: &Connection, id: Uuid, hours: Option<u32>) -> Result<()> {
    conn.execute(
        "UPDATE credentials SET check_every_hours = ?2 WHERE id = ?1",
        params![id.to_string(), hours],
    )?;
    Ok(())
}

pub fn set_integration_every(conn: &Connection, id: Uuid, hours: Option<u32>) -> Result<()> {
    conn.execute(
        "UPDATE integrations SET check_every_hours = ?2 WHERE id = ?1",
        params![id.to_string(), hours],
    )?;
    Ok(())
}

pub fn integration_every(conn: &Connection, id: Uuid) -> Result<Option<u32>> {
    Ok(conn
        .prepare_cached("SELECT check_every_hours FROM integrations WHERE id = ?1")?
        .query_row([id.to_string()], |r| r.get(0))
        .optional()?
        .flatten())
}

/// How many credentials of an integration the scheduler looks at (as
/// `rows` selects them) set a period of their own.
pub fn overriding_count(conn: &Connection, integration: Uuid) -> Result<u32> {
    Ok(conn
        .prepare_cached(
            "SELECT COUNT(*) FROM credentials WHERE integration_id = ?1 AND check_every_hours IS NOT NULL
                AND status NOT IN ('disabled', 'revoked') AND current_version > 0 AND needs_reentry = 0",
        )?
        .query_row([integration.to_string()], |r| r.get(0))?)
}

/// Takes the provider's lease for `holder` unless another program holds it
/// and it has not run out. True when taken.
pub fn take_lease(
    conn: &Connection,
    provider: &str,
    holder: &str,
    now: OffsetDateTime,
    until: OffsetDateTime,
) -> Result<bool> {
    let held: Option<(String, String)> = conn
        .query_row(
            "SELECT holder, until FROM check_leases WHERE provider = ?1",
            [provider],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((other, held_until)) = held
        && other != holder
        && timefmt::from_db(&held_until)? > now
    {
        return Ok(false);
    }
    conn.execute(
        "INSERT INTO check_leases (provider, holder, until) VALUES (?1, ?2, ?3)
         ON CONFLICT(provider) DO UPDATE SET holder = excluded.holder, until = excluded.until",
        params![provider, holder, timefmt::to_db(until)],
    )?;
    Ok(true)
}

pub fn release_lease(conn: &Connection, provider: &str, holder: &str) -> Result<()> {
    conn.execute(
        "DELETE FROM check_leases WHERE provider = ?1 AND holder = ?2",
        params![provider, holder],
    )?;
    Ok(())
}
