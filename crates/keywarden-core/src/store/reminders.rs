//! A credential's check list (`credential_reminders`): what an admin still
//! has to do about it. Written in the transaction of the change that
//! raises or clears each item.

use rusqlite::{Connection, params};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::Result;
use crate::model::{Reminder, ReminderKind};
use crate::timefmt;

/// Raises `kind` for the credential, replacing an earlier one of the kind.
/// `params` are the values `detail` is made of (see `Reminder::params`).
pub fn set(
    conn: &Connection,
    credential: Uuid,
    kind: ReminderKind,
    detail: &str,
    params: &[(&'static str, String)],
    at: OffsetDateTime,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO credential_reminders (credential_id, kind, detail, created_at, params) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (credential_id, kind) DO UPDATE SET detail = excluded.detail, created_at = excluded.created_at,
             params = excluded.params",
    )?
    .execute(params![
        credential.to_string(),
        kind.as_str(),
        detail,
        timefmt::to_db(at),
        super::params_json(params)
    ])?;
    Ok(())
}

/// Clears `kind`; true when there was one.
pub fn clear(conn: &Connection, credential: Uuid, kind: ReminderKind) -> Result<bool> {
    let n = conn
        .prepare_cached("DELETE FROM credential_reminders WHERE credential_id = ?1 AND kind = ?2")?
        .execute(params![credential.to_string(), kind.as_str()])?;
    Ok(n > 0)
}

pub fn list(conn: &Connection, credential: Uuid) -> Result<Vec<Reminder>> {
    let mut stmt = conn.prepare_cached(
        "SELECT kind, detail, created_at, params FROM credential_reminders WHERE credential_id = ?1
          ORDER BY created_at, kind",
    )?;
    let rows = stmt.query_map([credential.to_string()], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (kind, detail, since, params) = row?;
        out.push(Reminder {
            kind: kind.parse()?,
            detail,
            params: super::json_params(&params),
            since: timefmt::from_db(&since)?,
        });
    }
    Ok(out)
}
