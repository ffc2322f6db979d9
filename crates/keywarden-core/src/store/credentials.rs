//! Rows of `credentials`, `credential_versions` and `secret_fields`.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, params};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::{json_vec, vec_json};
use crate::error::{Error, Result};
use crate::model::{
    CredentialFilter, CredentialKind, CredentialSummary, EXPIRING_WITHIN_DAYS, ExpirySource, Status, VersionInfo,
    VersionState,
};
use crate::timefmt;

/// A credential as stored (status is the stored one, before expiry).
#[derive(Debug, Clone)]
pub struct Row {
    pub id: Uuid,
    pub name: String,
    pub kind: CredentialKind,
    pub integration_id: Option<Uuid>,
    pub integration_name: Option<String>,
    pub provider: String,
    pub environment: String,
    pub status: Status,
    pub config: BTreeMap<String, String>,
    pub secret_fields: Vec<String>,
    pub tags: Vec<String>,
    pub notes: Option<String>,
    pub expires_at: Option<OffsetDateTime>,
    /// Where `expires_at` came from, shown next to the date.
    pub expiry_source: Option<ExpirySource>,
    /// When the current version became current.
    pub rotated_at: Option<OffsetDateTime>,
    /// Its own rotation policy (days, 0 = none); `None` inherits.
    pub max_age_days: Option<u32>,
    /// The integration's policy (read only here).
    pub integration_max_age_days: Option<u32>,
    pub last_used_at: Option<OffsetDateTime>,
    pub last_validated_at: Option<OffsetDateTime>,
    pub current_version: u32,
    pub mask: Option<String>,
    pub needs_reentry: bool,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// The optimistic version read with the row; 0 for a new one, which
    /// `upsert` inserts. `upsert` writes only if it is still the stored one.
    pub revision: u32,
}

/// When a status is read: the time, and how many days before its expiry an
/// active credential shows as `expiring` (a setting; 14 by default).
#[derive(Debug, Clone, Copy)]
pub struct StatusClock {
    pub now: OffsetDateTime,
    pub expiring_within_days: i64,
    /// The vault's rotation policy (days; 0 = none) and grace period.
    pub max_age_days: u32,
    pub grace_days: u32,
    /// The organisation's maximum age (policy), which caps every level:
    /// a credential's or integration's own longer age, or none, is read as
    /// this one.
    pub age_cap: Option<u32>,
}

impl StatusClock {
    pub fn new(expiring_within_days: i64) -> StatusClock {
        StatusClock {
            now: timefmt::now(),
            expiring_within_days,
            max_age_days: ROTATION_MAX_AGE_DAYS,
            grace_days: ROTATION_GRACE_DAYS,
            age_cap: None,
        }
    }

    fn soon(&self) -> OffsetDateTime {
        self.now + Duration::days(self.expiring_within_days)
    }
}

impl Default for StatusClock {
    fn default() -> StatusClock {
        StatusClock::new(EXPIRING_WITHIN_DAYS)
    }
}

/// The vault's default rotation policy and grace period (days).
pub const ROTATION_MAX_AGE_DAYS: u32 = 90;
pub const ROTATION_GRACE_DAYS: u32 = 7;

/// When the policy wants the current secret replaced: own policy, else the
/// integration's, else the vault's; 0 at any level means "no maximum".
pub fn rotation_due_at(
    rotated_at: Option<OffsetDateTime>,
    own: Option<u32>,
    integration: Option<u32>,
    clock: StatusClock,
) -> Option<OffsetDateTime> {
    let days = match (own.or(integration).unwrap_or(clock.max_age_days), clock.age_cap) {
        (d, Some(cap)) if d == 0 || d > cap => cap,
        (d, _) => d,
    };
    (days > 0)
        .then_some(())
        .and(rotated_at)
        .map(|t| t + Duration::days(i64::from(days)))
}

/// The status a person sees: expiry, then the rotation policy, applied to
/// active credentials.
pub fn effective_status(
    stored: Status,
    expires_at: Option<OffsetDateTime>,
    rotation_due: Option<OffsetDateTime>,
    clock: StatusClock,
) -> Status {
    match (stored, expires_at, rotation_due) {
        (Status::Active, Some(t), _) if t <= clock.now => Status::Expired,
        (Status::Active, Some(t), _) if t <= clock.soon() => Status::Expiring,
        (Status::Active, _, Some(d)) if d <= clock.now => Status::RotationDue,
        (s, _, _) => s,
    }
}

impl Row {
    pub fn summary(&self, clock: StatusClock) -> CredentialSummary {
        let due = rotation_due_at(self.rotated_at, self.max_age_days, self.integration_max_age_days, clock);
        CredentialSummary {
            id: self.id,
            name: self.name.clone(),
            kind: self.kind,
            provider: self.provider.clone(),
            environment: self.environment.clone(),
            status: effective_status(self.status, self.expires_at, due, clock),
            integration: self.integration_name.clone(),
            tags: self.tags.clone(),
            mask: self.mask.clone(),
            current_version: self.current_version,
            needs_reentry: self.needs_reentry,
            expires_at: self.expires_at,
            expiry_source: self.expiry_source,
            rotation_due_at: due,
            rotation_overdue: due.is_some_and(|d| d + Duration::days(i64::from(clock.grace_days)) <= clock.now),
            last_used_at: self.last_used_at,
            last_validated_at: self.last_validated_at,
        }
    }

    /// Lower-cased text that `search` looks in.
    fn search_text(&self) -> String {
        // The integration's name is part of it: renaming an integration
        // rewrites its credentials' search text (Vault::update_integration).
        let mut s = format!(
            "{} {} {} {} {}",
            self.name,
            self.provider,
            self.kind,
            self.environment,
            self.tags.join(" ")
        );
        if let Some(i) = &self.integration_name {
            s.push(' ');
            s.push_str(i);
        }
        s.to_lowercase()
    }
}

const SELECT: &str = "SELECT c.id, c.name, c.kind, c.integration_id, i.name, c.provider, c.environment, c.status,
        c.config, c.secret_fields, c.tags, c.notes, c.expires_at, c.last_used_at, c.last_validated_at,
        c.current_version, c.mask, c.needs_reentry, c.created_at, c.updated_at, c.expiry_source,
        c.rotated_at, c.max_age_days, i.max_age_days, c.revision
     FROM credentials c LEFT JOIN integrations i ON i.id = c.integration_id";

type RawRow = (
    (
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        String,
        String,
        String,
    ),
    (
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    ),
    (u32, Option<String>, bool, String, String, Option<String>),
    (Option<String>, Option<u32>, Option<u32>, u32),
);

fn raw(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
    Ok((
        (
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
            r.get(7)?,
        ),
        (
            r.get(8)?,
            r.get(9)?,
            r.get(10)?,
            r.get(11)?,
            r.get(12)?,
            r.get(13)?,
            r.get(14)?,
        ),
        (r.get(15)?, r.get(16)?, r.get(17)?, r.get(18)?, r.get(19)?, r.get(20)?),
        (r.get(21)?, r.get(22)?, r.get(23)?, r.get(24)?),
    ))
}

pub(crate) fn uuid(s: &str) -> Result<Uuid> {
    Uuid::parse_str(s).map_err(|e| Error::Database(format!("bad id in the database: {e}")))
}

fn build(r: RawRow) -> Result<Row> {
    let ((id, name, kind, integration_id, integration_name, provider, environment, status), b, c, d) = r;
    let (rotated_at, max_age_days, integration_max_age_days, revision) = d;
    let (config, secret_fields, tags, notes, expires_at, last_used_at, last_validated_at) = b;
    let (current_version, mask, needs_reentry, created_at, updated_at, expiry_source) = c;
    Ok(Row {
        id: uuid(&id)?,
        name,
        kind: kind.parse()?,
        integration_id: integration_id.as_deref().map(uuid).transpose()?,
        integration_name,
        provider,
        environment,
        status: status.parse()?,
        config: serde_json::from_str(&config).map_err(|e| Error::Database(e.to_string()))?,
        secret_fields: vec_json(&secret_fields)?,
        tags: vec_json(&tags)?,
        notes,
        expires_at: timefmt::opt_from_db(expires_at)?,
        expiry_source: expiry_source.as_deref().map(str::parse).transpose()?,
        rotated_at: timefmt::opt_from_db(rotated_at)?,
        max_age_days,
        integration_max_age_days,
        last_used_at: timefmt::opt_from_db(last_used_at)?,
        last_validated_at: timefmt::opt_from_db(last_validated_at)?,
        current_version,
        mask,
        needs_reentry,
        created_at: timefmt::from_db(&created_at)?,
        updated_at: timefmt::from_db(&updated_at)?,
        revision,
    })
}

/// By id (UUID text) or by name, case-insensitively.
pub fn find(conn: &Connection, reference: &str) -> Result<Option<Row>> {
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} WHERE c.id = ?1 OR c.name = ?1 COLLATE NOCASE LIMIT 1"
    ))?;
    stmt.query_row([reference], raw).optional()?.map(build).transpose()
}

pub fn get(conn: &Connection, reference: &str) -> Result<Row> {
    find(conn, reference)?.ok_or_else(|| Error::NotFound {
        kind: "credential",
        name: reference.to_owned(),
    })
}

pub fn name_taken(conn: &Connection, name: &str, except: Option<Uuid>) -> Result<bool> {
    let id: Option<String> = conn
        .prepare_cached("SELECT id FROM credentials WHERE name = ?1 COLLATE NOCASE")?
        .query_row([name], |r| r.get(0))
        .optional()?;
    Ok(match (id, except) {
        (None, _) => false,
        (Some(id), Some(ex)) => id != ex.to_string(),
        (Some(_), None) => true,
    })
}

/// Inserts a new credential (`row.revision` 0) or writes a changed one if
/// nobody else has changed it since it was read: the stored revision must
/// still be `row.revision`, else `Error::Conflict` and nothing is written
/// (a credential deleted meanwhile is not brought back). On success
/// `row.revision` is the stored one again (grown by one when something an
/// admin sees changed), so the same row can be written twice in a row.
pub fn upsert(conn: &Connection, row: &mut Row) -> Result<()> {
    let insert = row.revision == 0;
    let sql = if insert {
        "INSERT INTO credentials (id, name, kind, integration_id, provider, environment, status, config,
            secret_fields, tags, notes, expires_at, last_used_at, last_validated_at, current_version, mask,
            needs_reentry, search_text, created_at, updated_at, expiry_source, rotated_at, max_age_days, revision)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22,
                 ?23, ?24 + 1)
         RETURNING revision"
    } else {
        // `kind` and `created_at` never change (?3, ?19 unused).
        "UPDATE credentials SET name = ?2, integration_id = ?4, provider = ?5, environment = ?6, status = ?7,
            config = ?8, secret_fields = ?9, tags = ?10, notes = ?11, expires_at = ?12, last_used_at = ?13,
            last_validated_at = ?14, current_version = ?15, mask = ?16, needs_reentry = ?17, search_text = ?18,
            updated_at = ?20, expiry_source = ?21, rotated_at = ?22, max_age_days = ?23,
            revision = revision + (name IS NOT ?2 OR integration_id IS NOT ?4 OR provider IS NOT ?5
                OR environment IS NOT ?6 OR status IS NOT ?7 OR config IS NOT ?8 OR secret_fields IS NOT ?9
                OR tags IS NOT ?10 OR notes IS NOT ?11 OR expires_at IS NOT ?12 OR current_version IS NOT ?15
                OR needs_reentry IS NOT ?17 OR max_age_days IS NOT ?23)
          WHERE id = ?1 AND revision = ?24
         RETURNING revision"
    };
    let mut stmt = conn.prepare_cached(sql)?;
    let stored: Option<u32> = stmt
        .query_row(
            params![
                row.id.to_string(),
                row.name,
                row.kind.as_str(),
                row.integration_id.map(|i| i.to_string()),
                row.provider,
                row.environment,
                row.status.as_str(),
                serde_json::to_string(&row.config).map_err(|e| Error::Database(e.to_string()))?,
                json_vec(&row.secret_fields),
                json_vec(&row.tags),
                row.notes,
                row.expires_at.map(timefmt::to_db),
                row.last_used_at.map(timefmt::to_db),
                row.last_validated_at.map(timefmt::to_db),
                row.current_version,
                row.mask,
                row.needs_reentry,
                row.search_text(),
                timefmt::to_db(row.created_at),
                timefmt::to_db(row.updated_at),
                row.expiry_source.map(ExpirySource::as_str),
                row.rotated_at.map(timefmt::to_db),
                row.max_age_days,
                row.revision,
            ],
            |r| r.get(0),
        )
        .optional()?;
    match stored {
        Some(revision) => {
            row.revision = revision;
            Ok(())
        }
        None => Err(conflict(conn, row.id, &row.name, row.revision)),
    }
}

/// The conflict error for a write prepared against revision `had`.
pub fn conflict(conn: &Connection, id: Uuid, name: &str, had: u32) -> Error {
    let now: Option<u32> = conn
        .query_row(
            "SELECT revision FROM credentials WHERE id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )
        .optional()
        .ok()
        .flatten();
    Error::Conflict {
        name: name.to_owned(),
        expected: had,
        actual: now,
    }
}

pub fn touch_last_used(conn: &Connection, id: Uuid, at: OffsetDateTime) -> Result<()> {
    conn.execute(
        "UPDATE credentials SET last_used_at = ?2 WHERE id = ?1",
        params![id.to_string(), timefmt::to_db(at)],
    )?;
    Ok(())
}

pub fn delete(conn: &Connection, id: Uuid) -> Result<()> {
    conn.execute("DELETE FROM credentials WHERE id = ?1", [id.to_string()])?;
    Ok(())
}

/// Only the columns of a list row: listing 1,000 credentials in `kw` must
/// stay well under 15 ms, so configuration and notes are not read or parsed.
const SUMMARY_SELECT: &str = "SELECT c.id, c.name, c.kind, c.provider, c.environment, c.status, i.name, c.tags,
        c.mask, c.current_version, c.needs_reentry, c.expires_at, c.last_used_at, c.last_validated_at,
        c.expiry_source, c.rotated_at, c.max_age_days, i.max_age_days
     FROM credentials c LEFT JOIN integrations i ON i.id = c.integration_id";

fn summary_row(r: &rusqlite::Row<'_>, clock: StatusClock) -> Result<CredentialSummary> {
    let id: String = r.get(0)?;
    let kind: String = r.get(2)?;
    let status: String = r.get(5)?;
    let tags: String = r.get(7)?;
    let expires_at = timefmt::opt_from_db(r.get(11)?)?;
    let due = rotation_due_at(timefmt::opt_from_db(r.get(15)?)?, r.get(16)?, r.get(17)?, clock);
    Ok(CredentialSummary {
        id: uuid(&id)?,
        name: r.get(1)?,
        kind: kind.parse()?,
        provider: r.get(3)?,
        environment: r.get(4)?,
        status: effective_status(status.parse()?, expires_at, due, clock),
        integration: r.get(6)?,
        tags: vec_json(&tags)?,
        mask: r.get(8)?,
        current_version: r.get(9)?,
        needs_reentry: r.get(10)?,
        expires_at,
        expiry_source: r.get::<_, Option<String>>(14)?.as_deref().map(str::parse).transpose()?,
        rotation_due_at: due,
        rotation_overdue: due.is_some_and(|d| d + Duration::days(i64::from(clock.grace_days)) <= clock.now),
        last_used_at: timefmt::opt_from_db(r.get(12)?)?,
        last_validated_at: timefmt::opt_from_db(r.get(13)?)?,
    })
}

/// A credential's maximum age in SQL, as `rotation_due_at` computes it:
/// binds the vault's default and the cap twice (`age_binds`). Without a
/// policy the cap is `u32::MAX`, so "none" (0) stays never due.
macro_rules! age_sql {
    () => {
        "(CASE WHEN COALESCE(c.max_age_days, i.max_age_days, ?) = 0 THEN ?
           ELSE min(COALESCE(c.max_age_days, i.max_age_days, ?), ?) END)"
    };
}

/// Whether the policy's due date (see `rotation_due_at`) has come; bound
/// by `rotation_binds`.
const ROTATION_DUE: &str = concat!(
    age_sql!(),
    " > 0 AND c.rotated_at IS NOT NULL AND julianday(?) - julianday(c.rotated_at) >= ",
    age_sql!()
);
const ROTATION_NOT_DUE: &str = concat!(
    "NOT (",
    age_sql!(),
    " > 0 AND c.rotated_at IS NOT NULL AND julianday(?) - julianday(c.rotated_at) >= ",
    age_sql!(),
    ")"
);

fn rotation_binds(clock: StatusClock, now: &str) -> Vec<Box<dyn rusqlite::ToSql>> {
    let cap = clock.age_cap.unwrap_or(u32::MAX);
    let age = || -> [Box<dyn rusqlite::ToSql>; 4] {
        [
            Box::new(clock.max_age_days),
            Box::new(cap),
            Box::new(clock.max_age_days),
            Box::new(cap),
        ]
    };
    let mut v: Vec<Box<dyn rusqlite::ToSql>> = age().into();
    v.push(Box::new(now.to_owned()));
    v.extend(age());
    v
}

/// Credentials matching `f`, ordered by name. Every value is bound as a
/// parameter; only fixed SQL fragments are put together here.
pub fn list(conn: &Connection, f: &CredentialFilter, clock: StatusClock) -> Result<Vec<CredentialSummary>> {
    let mut clauses: Vec<&str> = Vec::new();
    let mut values: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
    let mut bind = |clause: &'static str, params: Vec<Box<dyn rusqlite::ToSql>>| {
        clauses.push(clause);
        values.extend(params);
    };
    if let Some(k) = f.kind {
        bind("c.kind = ?", vec![Box::new(k.as_str())]);
    }
    if let Some(p) = &f.provider {
        bind("c.provider = ? COLLATE NOCASE", vec![Box::new(p.clone())]);
    }
    if let Some(e) = &f.environment {
        bind("c.environment = ? COLLATE NOCASE", vec![Box::new(e.clone())]);
    }
    if let Some(t) = &f.tag {
        bind(
            "EXISTS (SELECT 1 FROM json_each(c.tags) WHERE json_each.value = ?)",
            vec![Box::new(t.clone())],
        );
    }
    if let Some(q) = f.search.as_deref().map(super::needle).filter(|s| !s.is_empty()) {
        if q.chars().count() >= 3 {
            // The trigram index answers substrings of 3+ characters; the
            // text is quoted as one FTS5 string, so no query syntax applies.
            let phrase = format!("\"{}\"", q.replace('"', "\"\""));
            bind(
                "c.rowid IN (SELECT rowid FROM credential_search WHERE credential_search MATCH ?)",
                vec![Box::new(phrase)],
            );
        } else {
            bind("instr(c.search_text, ?) > 0", vec![Box::new(q)]);
        }
    }
    // Expiry statuses are derived: they filter on the stored status plus
    // the expiry time; the rest match the stored status.
    let soon = timefmt::to_db(clock.soon());
    let now_s = timefmt::to_db(clock.now);
    match f.status {
        None => {}
        Some(Status::Active) => {
            bind(
                "c.status = 'active' AND (c.expires_at IS NULL OR c.expires_at > ?)",
                vec![Box::new(soon.clone())],
            );
            bind(ROTATION_NOT_DUE, rotation_binds(clock, &now_s));
        }
        Some(Status::RotationDue) => {
            bind(
                "c.status = 'active' AND (c.expires_at IS NULL OR c.expires_at > ?)",
                vec![Box::new(soon.clone())],
            );
            bind(ROTATION_DUE, rotation_binds(clock, &now_s));
        }
        Some(Status::Expiring) => {
            bind("c.status = 'active' AND c.expires_at > ?", vec![Box::new(now_s)]);
            bind("c.expires_at <= ?", vec![Box::new(soon)]);
        }
        Some(Status::Expired) => bind("c.status = 'active' AND c.expires_at <= ?", vec![Box::new(now_s)]),
        Some(s) => bind("c.status = ?", vec![Box::new(s.as_str())]),
    }
    let where_sql = if clauses.is_empty() {
        "1".to_owned()
    } else {
        clauses.join(" AND ")
    };
    let limit = f.limit.map(|l| l as i64).unwrap_or(-1);
    values.push(Box::new(limit));
    let mut stmt = conn.prepare_cached(&format!("{SUMMARY_SELECT} WHERE {where_sql} ORDER BY c.name LIMIT ?"))?;
    let mut rows = stmt.query(rusqlite::params_from_iter(values.iter()))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(summary_row(r, clock)?);
    }
    Ok(out)
}

/// Credentials serving one integration, as stored rows.
pub fn for_integration(conn: &Connection, integration_id: Uuid) -> Result<Vec<Row>> {
    let mut stmt = conn.prepare_cached(&format!("{SELECT} WHERE c.integration_id = ?1 ORDER BY c.name"))?;
    let rows = stmt.query_map([integration_id.to_string()], raw)?;
    let mut out = Vec::new();
    for r in rows {
        out.push(build(r?)?);
    }
    Ok(out)
}

pub fn count(conn: &Connection) -> Result<u64> {
    let n: i64 = conn.query_row("SELECT count(*) FROM credentials", [], |r| r.get(0))?;
    Ok(n as u64)
}

// ---- versions -------------------------------------------------------------

pub fn insert_version(
    conn: &Connection,
    id: Uuid,
    version: u32,
    state: VersionState,
    masks: &BTreeMap<String, String>,
) -> Result<()> {
    let now = timefmt::to_db(timefmt::now());
    let activated = (state == VersionState::Current).then(|| now.clone());
    conn.prepare_cached(
        "INSERT INTO credential_versions (credential_id, version, state, masks, created_at, activated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        id.to_string(),
        version,
        state.as_str(),
        serde_json::to_string(masks).map_err(|e| Error::Database(e.to_string()))?,
        now,
        activated
    ])?;
    Ok(())
}

pub fn set_version_state(conn: &Connection, id: Uuid, version: u32, state: VersionState) -> Result<()> {
    let now = timefmt::to_db(timefmt::now());
    let sql = match state {
        VersionState::Current => {
            "UPDATE credential_versions SET state = 'current', activated_at = ?3 WHERE credential_id = ?1 AND version = ?2"
        }
        VersionState::Retired => {
            "UPDATE credential_versions SET state = 'retired', retired_at = ?3 WHERE credential_id = ?1 AND version = ?2"
        }
        VersionState::Pending => {
            "UPDATE credential_versions SET state = 'pending' WHERE credential_id = ?1 AND version = ?2 AND ?3 IS NOT NULL"
        }
    };
    conn.execute(sql, params![id.to_string(), version, now])?;
    Ok(())
}

pub fn version_state(conn: &Connection, id: Uuid, version: u32) -> Result<Option<VersionState>> {
    let s: Option<String> = conn
        .query_row(
            "SELECT state FROM credential_versions WHERE credential_id = ?1 AND version = ?2",
            params![id.to_string(), version],
            |r| r.get(0),
        )
        .optional()?;
    s.map(|s| s.parse()).transpose()
}

pub fn delete_version(conn: &Connection, id: Uuid, version: u32) -> Result<()> {
    conn.execute(
        "DELETE FROM credential_versions WHERE credential_id = ?1 AND version = ?2",
        params![id.to_string(), version],
    )?;
    Ok(())
}

pub fn max_version(conn: &Connection, id: Uuid) -> Result<u32> {
    Ok(conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM credential_versions WHERE credential_id = ?1",
        [id.to_string()],
        |r| r.get(0),
    )?)
}

pub fn versions(conn: &Connection, id: Uuid) -> Result<Vec<VersionInfo>> {
    let mut stmt = conn.prepare_cached(
        "SELECT version, state, masks, created_at, activated_at, retired_at FROM credential_versions
         WHERE credential_id = ?1 ORDER BY version",
    )?;
    let rows = stmt.query_map([id.to_string()], |r| {
        Ok((
            r.get::<_, u32>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, Option<String>>(5)?,
        ))
    })?;
    let mut out = Vec::new();
    for r in rows {
        let (version, state, masks, created, activated, retired) = r?;
        out.push(VersionInfo {
            version,
            state: state.parse()?,
            masks: serde_json::from_str(&masks).map_err(|e| Error::Database(e.to_string()))?,
            created_at: timefmt::from_db(&created)?,
            activated_at: timefmt::opt_from_db(activated)?,
            retired_at: timefmt::opt_from_db(retired)?,
        });
    }
    Ok(out)
}

/// Versions left `pending` by an interrupted rotation: (id, name, version).
pub fn pending_versions(conn: &Connection, staged_before: &str) -> Result<Vec<(Uuid, String, u32)>> {
    let mut stmt = conn.prepare(
        "SELECT v.credential_id, c.name, v.version FROM credential_versions v
         JOIN credentials c ON c.id = v.credential_id WHERE v.state = 'pending' AND v.created_at < ?1",
    )?;
    let rows = stmt.query_map([staged_before], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, u32>(2)?))
    })?;
    let mut out = Vec::new();
    for r in rows {
        let (id, name, v) = r?;
        out.push((uuid(&id)?, name, v));
    }
    Ok(out)
}

// ---- sealed secret fields ---------------------------------------------------

pub fn insert_field(conn: &Connection, id: Uuid, version: u32, field: &str, sealed: &[u8]) -> Result<()> {
    conn.prepare_cached("INSERT INTO secret_fields (credential_id, version, field, sealed) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![id.to_string(), version, field, sealed])?;
    Ok(())
}

pub fn fields(conn: &Connection, id: Uuid, version: u32) -> Result<Vec<(String, Vec<u8>)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT field, sealed FROM secret_fields WHERE credential_id = ?1 AND version = ?2 ORDER BY field",
    )?;
    let rows = stmt.query_map(params![id.to_string(), version], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

pub fn delete_fields(conn: &Connection, id: Uuid, version: u32) -> Result<()> {
    conn.execute(
        "DELETE FROM secret_fields WHERE credential_id = ?1 AND version = ?2",
        params![id.to_string(), version],
    )?;
    Ok(())
}
