//! The notice ledger (`notices`) and each credential's next notice
//! (`credentials.notice_next_at` / `notice_next_days`). See migration 004.

use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::model::Status;
use crate::timefmt;

/// `notice_next_at` of a credential whose notices must be scheduled again.
pub const UNSCHEDULED: &str = "0";

/// A credential with a notice due (or to schedule).
#[derive(Debug, Clone)]
pub struct DueRow {
    pub id: Uuid,
    pub name: String,
    pub integration: Option<String>,
    pub version: u32,
    pub status: Status,
    pub expires_at: Option<OffsetDateTime>,
    /// When the row last changed: when its expiry became known, for a
    /// credential to schedule.
    pub updated_at: OffsetDateTime,
    /// `None` when unscheduled.
    pub next: Option<(OffsetDateTime, u32)>,
}

/// Credentials whose next notice is due at `now`, and those to schedule.
pub fn due(conn: &Connection, now: OffsetDateTime) -> Result<Vec<DueRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.id, c.name, i.name, c.current_version, c.status, c.expires_at, c.updated_at,
                c.notice_next_at, c.notice_next_days
           FROM credentials c LEFT JOIN integrations i ON i.id = c.integration_id
          WHERE c.notice_next_at IS NOT NULL AND c.notice_next_at <= ?1",
    )?;
    let rows = stmt.query_map([timefmt::to_db(now)], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, u32>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, Option<String>>(5)?,
            r.get::<_, String>(6)?,
            r.get::<_, String>(7)?,
            r.get::<_, Option<u32>>(8)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, name, integration, version, status, expires_at, updated_at, next_at, next_days) = row?;
        let next = if next_at == UNSCHEDULED {
            None
        } else {
            Some((timefmt::from_db(&next_at)?, next_days.unwrap_or(0)))
        };
        out.push(DueRow {
            id: Uuid::parse_str(&id).map_err(|e| Error::Database(e.to_string()))?,
            name,
            integration,
            version,
            status: status.parse()?,
            expires_at: timefmt::opt_from_db(expires_at)?,
            updated_at: timefmt::from_db(&updated_at)?,
            next,
        });
    }
    Ok(out)
}

/// Records the next notice of a credential (`None`: nothing more to say).
/// Not a column the rescheduling triggers watch.
pub fn set_next(conn: &Connection, id: Uuid, next: Option<(OffsetDateTime, u32)>) -> Result<()> {
    conn.prepare_cached("UPDATE credentials SET notice_next_at = ?2, notice_next_days = ?3 WHERE id = ?1")?
        .execute(params![
            id.to_string(),
            next.map(|(t, _)| timefmt::to_db(t)),
            next.map(|(_, d)| d)
        ])?;
    Ok(())
}

/// The earliest instant any credential has a notice due; `now` when some
/// credential is still to be scheduled.
pub fn next_due(conn: &Connection, now: OffsetDateTime) -> Result<Option<OffsetDateTime>> {
    let min: Option<String> = conn
        .prepare_cached("SELECT MIN(notice_next_at) FROM credentials WHERE notice_next_at IS NOT NULL")?
        .query_row([], |r| r.get(0))?;
    match min.as_deref() {
        None => Ok(None),
        Some(UNSCHEDULED) => Ok(Some(now)),
        Some(t) => timefmt::from_db(t).map(Some),
    }
}

/// Marks every credential with an expiry to be scheduled again (the
/// thresholds changed).
pub fn reschedule_all(conn: &Connection) -> Result<usize> {
    Ok(conn.execute(
        "UPDATE credentials SET notice_next_at = ?1 WHERE expires_at IS NOT NULL",
        [UNSCHEDULED],
    )?)
}

pub struct NewNotice<'a> {
    pub credential_id: Option<Uuid>,
    pub partner_key_id: Option<&'a str>,
    pub version: u32,
    pub kind: &'a str,
    pub threshold_days: u32,
    pub expires_at: Option<OffsetDateTime>,
    pub due_at: OffsetDateTime,
    pub fired_at: OffsetDateTime,
    pub credential_name: &'a str,
    pub integration: Option<&'a str>,
    pub summary: &'a str,
    pub body: &'a str,
    /// The values the text is made of, by name (see `Notice::params`).
    pub params: &'a [(&'static str, String)],
    /// What makes this notice the same as one recorded before.
    pub dedupe: &'a str,
}

/// Adds a notice unless one with the same `dedupe` was ever recorded: its
/// id when it is new.
pub fn insert(conn: &Connection, n: &NewNotice<'_>) -> Result<Option<i64>> {
    let added = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO notices (credential_id, partner_key_id, version, kind, threshold_days, expires_at,
                 due_at, fired_at, credential_name, integration, summary, body, dedupe, params)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )?
        .execute(params![
            n.credential_id.map(|c| c.to_string()),
            n.partner_key_id,
            n.version,
            n.kind,
            n.threshold_days,
            n.expires_at.map(timefmt::to_db),
            timefmt::to_db(n.due_at),
            timefmt::to_db(n.fired_at),
            n.credential_name,
            n.integration,
            n.summary,
            n.body,
            n.dedupe,
            super::params_json(n.params),
        ])?;
    Ok((added == 1).then(|| conn.last_insert_rowid()))
}

/// The raw columns of a notice, newest first.
pub type NoticeRow = (
    i64,
    Option<String>,
    u32,
    String,
    u32,
    Option<String>,
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
);

const NOTICE_SELECT: &str = "SELECT id, credential_id, version, kind, threshold_days, expires_at, due_at, fired_at,
        credential_name, integration, summary, body, read_at, dismissed_at, partner_key_id, params FROM notices";

fn notice_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<NoticeRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
        r.get(11)?,
        r.get(12)?,
        r.get(13)?,
        r.get(14)?,
        r.get(15)?,
    ))
}

pub fn list(conn: &Connection, include_dismissed: bool, limit: u32) -> Result<Vec<NoticeRow>> {
    let sql = if include_dismissed {
        format!("{NOTICE_SELECT} ORDER BY id DESC LIMIT ?1")
    } else {
        format!("{NOTICE_SELECT} WHERE dismissed_at IS NULL ORDER BY id DESC LIMIT ?1")
    };
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([limit], notice_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

pub fn get(conn: &Connection, id: i64) -> Result<Option<NoticeRow>> {
    Ok(conn
        .prepare_cached(&format!("{NOTICE_SELECT} WHERE id = ?1"))?
        .query_row([id], notice_row)
        .optional()?)
}

pub fn unread(conn: &Connection) -> Result<u32> {
    Ok(conn
        .prepare_cached("SELECT COUNT(*) FROM notices WHERE read_at IS NULL AND dismissed_at IS NULL")?
        .query_row([], |r| r.get(0))?)
}

pub fn mark_read(conn: &Connection, now: OffsetDateTime) -> Result<usize> {
    Ok(conn.execute(
        "UPDATE notices SET read_at = ?1 WHERE read_at IS NULL",
        [timefmt::to_db(now)],
    )?)
}

pub fn dismiss(conn: &Connection, id: i64, now: OffsetDateTime) -> Result<bool> {
    let n = conn.execute(
        "UPDATE notices SET dismissed_at = ?2, read_at = COALESCE(read_at, ?2) WHERE id = ?1 AND dismissed_at IS NULL",
        params![id, timefmt::to_db(now)],
    )?;
    Ok(n == 1)
}

pub fn meta(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT value FROM vault_meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

pub fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO vault_meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )?
    .execute([key, value])?;
    Ok(())
}
