//! Rows of the `integrations` table.

use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::{json_vec, vec_json};
use crate::error::{Error, Result};
use crate::model::Integration;
use crate::timefmt;

const COLUMNS: &str = "id, name, provider, environment, tenant_id, base_url, scopes, sync_schedule, owner, tags, notes, created_at, updated_at, max_age_days, env_names";

type Columns = ([Option<String>; 13], Option<u32>, String);

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Columns> {
    let mut out: [Option<String>; 13] = Default::default();
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = r.get(i)?;
    }
    Ok((out, r.get(13)?, r.get(14)?))
}

fn build((c, max_age_days, env_names): Columns) -> Result<Integration> {
    let [
        id,
        name,
        provider,
        environment,
        tenant_id,
        base_url,
        scopes,
        sync_schedule,
        owner,
        tags,
        notes,
        created,
        updated,
    ] = c;
    let req = |v: Option<String>| v.ok_or_else(|| Error::Database("missing integration column".into()));
    Ok(Integration {
        id: Uuid::parse_str(&req(id)?).map_err(|e| Error::Database(e.to_string()))?,
        name: req(name)?,
        provider: req(provider)?,
        environment: req(environment)?,
        tenant_id,
        base_url,
        scopes: vec_json(&req(scopes)?)?,
        sync_schedule,
        owner,
        tags: vec_json(&req(tags)?)?,
        notes,
        max_age_days,
        env_names: serde_json::from_str(&env_names).map_err(|e| Error::Database(e.to_string()))?,
        created_at: timefmt::from_db(&req(created)?)?,
        updated_at: timefmt::from_db(&req(updated)?)?,
    })
}

/// By id (UUID text) or by name, case-insensitively.
pub fn find(conn: &Connection, reference: &str) -> Result<Option<Integration>> {
    let row = conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM integrations WHERE id = ?1 OR name = ?1 COLLATE NOCASE LIMIT 1"),
            [reference],
            from_row,
        )
        .optional()?;
    row.map(build).transpose()
}

pub fn get(conn: &Connection, reference: &str) -> Result<Integration> {
    find(conn, reference)?.ok_or_else(|| Error::NotFound {
        kind: "integration",
        name: reference.to_owned(),
    })
}

pub fn list(conn: &Connection) -> Result<Vec<Integration>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM integrations ORDER BY name COLLATE NOCASE"
    ))?;
    let rows = stmt.query_map([], from_row)?;
    let mut out = Vec::new();
    for r in rows {
        out.push(build(r?)?);
    }
    Ok(out)
}

pub fn name_taken(conn: &Connection, name: &str, except: Option<Uuid>) -> Result<bool> {
    let id: Option<String> = conn
        .query_row(
            "SELECT id FROM integrations WHERE name = ?1 COLLATE NOCASE",
            [name],
            |r| r.get(0),
        )
        .optional()?;
    Ok(match (id, except) {
        (None, _) => false,
        (Some(id), Some(ex)) => id != ex.to_string(),
        (Some(_), None) => true,
    })
}

/// Inserts or replaces the row for `i.id`.
pub fn upsert(conn: &Connection, i: &Integration) -> Result<()> {
    conn.execute(
        &format!(
            "INSERT INTO integrations ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
             ON CONFLICT(id) DO UPDATE SET name = excluded.name, provider = excluded.provider,
               environment = excluded.environment, tenant_id = excluded.tenant_id, base_url = excluded.base_url,
               scopes = excluded.scopes, sync_schedule = excluded.sync_schedule, owner = excluded.owner,
               tags = excluded.tags, notes = excluded.notes, updated_at = excluded.updated_at,
               max_age_days = excluded.max_age_days, env_names = excluded.env_names"
        ),
        params![
            i.id.to_string(),
            i.name,
            i.provider,
            i.environment,
            i.tenant_id,
            i.base_url,
            json_vec(&i.scopes),
            i.sync_schedule,
            i.owner,
            json_vec(&i.tags),
            i.notes,
            timefmt::to_db(i.created_at),
            timefmt::to_db(i.updated_at),
            i.max_age_days,
            serde_json::to_string(&i.env_names).map_err(|e| Error::Database(e.to_string()))?,
        ],
    )?;
    Ok(())
}
