//! The alert channels and the outbox (migration 015).

use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;

use crate::alerts::{AlertChannel, AlertDelivery, AlertEvent, ChannelKind};
use crate::error::{Error, Result};
use crate::timefmt;

/// A channel's row, with its sealed secret and its config.
pub struct ChannelRow {
    pub channel: AlertChannel,
    pub config: String,
    pub sealed: Vec<u8>,
}

/// id, name, kind, events, target, created_at, config, sealed.
type RawChannel = (String, String, String, String, String, String, String, Vec<u8>);

const CHANNEL: &str = "SELECT id, name, kind, events, target, created_at, config, sealed FROM alert_channels";

fn channel_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawChannel> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
    ))
}

fn build(raw: RawChannel) -> Result<ChannelRow> {
    let (id, name, kind, events, target, created_at, config, sealed) = raw;
    let events: Vec<String> = serde_json::from_str(&events).map_err(|e| Error::Database(e.to_string()))?;
    Ok(ChannelRow {
        channel: AlertChannel {
            id,
            name,
            kind: if kind == "email" {
                ChannelKind::Email
            } else {
                ChannelKind::Webhook
            },
            events: events.iter().filter_map(|e| AlertEvent::parse(e).ok()).collect(),
            target,
            created_at: timefmt::from_db(&created_at)?,
        },
        config,
        sealed,
    })
}

pub fn list(conn: &Connection) -> Result<Vec<ChannelRow>> {
    let mut stmt = conn.prepare_cached(&format!("{CHANNEL} ORDER BY name COLLATE NOCASE"))?;
    let rows = stmt.query_map([], channel_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter().map(build).collect()
}

pub fn find(conn: &Connection, reference: &str) -> Result<Option<ChannelRow>> {
    conn.prepare_cached(&format!("{CHANNEL} WHERE id = ?1 OR name = ?1 COLLATE NOCASE"))?
        .query_row([reference], channel_row)
        .optional()?
        .map(build)
        .transpose()
}

pub fn get(conn: &Connection, reference: &str) -> Result<ChannelRow> {
    find(conn, reference)?.ok_or_else(|| Error::NotFound {
        kind: "alert channel",
        name: reference.to_owned(),
    })
}

pub fn insert(conn: &Connection, row: &ChannelRow) -> Result<()> {
    let c = &row.channel;
    let events: Vec<&str> = c.events.iter().map(|e| e.as_str()).collect();
    conn.execute(
        "INSERT INTO alert_channels (id, name, kind, events, config, target, sealed, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            c.id,
            c.name,
            match c.kind {
                ChannelKind::Webhook => "webhook",
                ChannelKind::Email => "email",
            },
            serde_json::to_string(&events).map_err(|e| Error::Database(e.to_string()))?,
            row.config,
            c.target,
            row.sealed,
            timefmt::to_db(c.created_at)
        ],
    )?;
    Ok(())
}

pub fn delete(conn: &Connection, id: &str) -> Result<()> {
    conn.execute("DELETE FROM alert_channels WHERE id = ?1", [id])?;
    Ok(())
}

/// Queues one alert (a test) for a channel.
pub fn enqueue(
    conn: &Connection,
    channel_id: &str,
    key: &str,
    category: &str,
    subject: &str,
    body: &str,
    now: OffsetDateTime,
) -> Result<()> {
    let at = timefmt::to_db(now);
    conn.execute(
        "INSERT OR IGNORE INTO alert_outbox (channel_id, event_key, category, subject, body, created_at, next_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        params![channel_id, key, category, subject, body, at],
    )?;
    Ok(())
}

/// An outbox row due for delivery.
pub struct DueRow {
    pub id: i64,
    pub channel_id: String,
    pub category: String,
    pub subject: String,
    pub body: String,
    pub created_at: OffsetDateTime,
    pub attempts: u32,
}

pub fn due(conn: &Connection, now: OffsetDateTime, limit: u32) -> Result<Vec<DueRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, channel_id, category, subject, body, created_at, attempts FROM alert_outbox
          WHERE next_at IS NOT NULL AND next_at <= ?1 ORDER BY next_at, id LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![timefmt::to_db(now), limit], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get::<_, String>(5)?,
                r.get(6)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<(i64, String, String, String, String, String, u32)>>>()?;
    rows.into_iter()
        .map(|(id, channel_id, category, subject, body, created_at, attempts)| {
            Ok(DueRow {
                id,
                channel_id,
                category,
                subject,
                body,
                created_at: timefmt::from_db(&created_at)?,
                attempts,
            })
        })
        .collect()
}

pub fn next_due(conn: &Connection) -> Result<Option<OffsetDateTime>> {
    let min: Option<String> = conn
        .prepare_cached("SELECT MIN(next_at) FROM alert_outbox WHERE next_at IS NOT NULL")?
        .query_row([], |r| r.get(0))?;
    min.as_deref().map(timefmt::from_db).transpose()
}

/// Takes a due row for this program's delivery: not due again until
/// `until` (a program that died sending lets it go then).
pub fn claim(conn: &Connection, id: i64, until: OffsetDateTime) -> Result<()> {
    conn.execute(
        "UPDATE alert_outbox SET next_at = ?2 WHERE id = ?1 AND sent_at IS NULL",
        params![id, timefmt::to_db(until)],
    )?;
    Ok(())
}

/// Only a row not sent yet: another program's "sent" is never undone.
pub fn mark_sent(conn: &Connection, id: i64, now: OffsetDateTime) -> Result<()> {
    conn.execute(
        "UPDATE alert_outbox SET sent_at = ?2, next_at = NULL, attempts = attempts + 1, last_error = NULL
          WHERE id = ?1 AND sent_at IS NULL",
        params![id, timefmt::to_db(now)],
    )?;
    Ok(())
}

/// A failed attempt: tried again at `next` (`None`: given up).
pub fn mark_failed(conn: &Connection, id: i64, error: &str, next: Option<OffsetDateTime>) -> Result<()> {
    conn.execute(
        "UPDATE alert_outbox SET attempts = attempts + 1, last_error = ?2, next_at = ?3 WHERE id = ?1 AND sent_at IS NULL",
        params![id, error, next.map(timefmt::to_db)],
    )?;
    Ok(())
}

pub fn recent(conn: &Connection, limit: u32) -> Result<Vec<AlertDelivery>> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.name, o.category, o.subject, o.created_at, o.attempts, o.sent_at, o.next_at, o.last_error
           FROM alert_outbox o JOIN alert_channels c ON c.id = o.channel_id ORDER BY o.id DESC LIMIT ?1",
    )?;
    let rows = stmt
        .query_map([limit], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, u32>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<String>>(6)?,
                r.get::<_, Option<String>>(7)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(
            |(channel, category, subject, created_at, attempts, sent_at, next_at, last_error)| {
                Ok(AlertDelivery {
                    channel,
                    category,
                    subject,
                    created_at: timefmt::from_db(&created_at)?,
                    attempts,
                    sent_at: timefmt::opt_from_db(sent_at)?,
                    next_at: timefmt::opt_from_db(next_at)?,
                    last_error,
                })
            },
        )
        .collect()
}

/// When an outbox row was queued (`None`: gone, its channel removed).
pub fn due_created_at(conn: &Connection, id: i64) -> Result<Option<OffsetDateTime>> {
    let at: Option<String> = conn
        .prepare_cached("SELECT created_at FROM alert_outbox WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    at.as_deref().map(timefmt::from_db).transpose()
}
