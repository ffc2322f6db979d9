//! Data keys (DEKs): random AES-256 keys, stored wrapped by the DEK-wrapping
//! key, each with a count of the values it has sealed.

use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use crate::crypto::{Dek, DekWrapKey};
use crate::error::{Error, Result};

/// Rotate a DEK after this many seals: random 96-bit nonces stay safe up to
/// 2^32 per key, so 2^30 leaves a wide margin.
pub const ROTATE_AFTER: u64 = 1 << 30;

pub struct DataKey {
    pub id: u32,
    pub key: Dek,
}

pub(crate) fn aad(vault_id: Uuid, key_id: u32) -> Vec<u8> {
    let mut aad = b"keywarden/dek/v1|".to_vec();
    aad.extend_from_slice(vault_id.as_bytes());
    aad.extend_from_slice(&key_id.to_be_bytes());
    aad
}

pub(crate) fn create(conn: &Connection, wrap: &DekWrapKey, vault_id: Uuid) -> Result<DataKey> {
    let next: u32 = conn.query_row("SELECT COALESCE(MAX(key_id), 0) + 1 FROM data_keys", [], |r| r.get(0))?;
    let key = Dek::random();
    let wrapped = wrap.wrap(&key, &aad(vault_id, next))?;
    conn.execute("UPDATE data_keys SET is_current = 0 WHERE is_current = 1", [])?;
    conn.execute(
        "INSERT INTO data_keys (key_id, wrapped, use_count, is_current, created_at) VALUES (?1, ?2, 0, 1, ?3)",
        params![next, wrapped, crate::timefmt::to_db(crate::timefmt::now())],
    )?;
    Ok(DataKey { id: next, key })
}

pub(crate) fn load(conn: &Connection, wrap: &DekWrapKey, vault_id: Uuid, key_id: u32) -> Result<DataKey> {
    let wrapped: Vec<u8> = conn
        .query_row("SELECT wrapped FROM data_keys WHERE key_id = ?1", [key_id], |r| {
            r.get(0)
        })
        .optional()?
        .ok_or(Error::Decryption)?;
    let key = wrap.unwrap(&wrapped, &aad(vault_id, key_id))?;
    Ok(DataKey { id: key_id, key })
}

/// The key new values are sealed under. One statement: between reading
/// which key is current and loading it, another program on the vault (the
/// app, `kw`) may rotate and delete it, and the load would then find
/// nothing and look like a damaged vault.
pub(crate) fn current(conn: &Connection, wrap: &DekWrapKey, vault_id: Uuid) -> Result<DataKey> {
    let (id, wrapped): (u32, Vec<u8>) = conn
        .query_row("SELECT key_id, wrapped FROM data_keys WHERE is_current = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?
        .ok_or_else(|| Error::Database("the vault has no current data key".into()))?;
    let key = wrap.unwrap(&wrapped, &aad(vault_id, id))?;
    Ok(DataKey { id, key })
}

pub fn add_uses(conn: &Connection, key_id: u32, n: u64) -> Result<u64> {
    // Once per credential written: cached statements (a bulk import).
    conn.prepare_cached("UPDATE data_keys SET use_count = use_count + ?2 WHERE key_id = ?1")?
        .execute(params![key_id, n as i64])?;
    let count: i64 = conn
        .prepare_cached("SELECT use_count FROM data_keys WHERE key_id = ?1")?
        .query_row([key_id], |r| r.get(0))?;
    Ok(count as u64)
}

pub fn use_count(conn: &Connection, key_id: u32) -> Result<u64> {
    let count: i64 = conn.query_row("SELECT use_count FROM data_keys WHERE key_id = ?1", [key_id], |r| {
        r.get(0)
    })?;
    Ok(count as u64)
}

pub fn delete_all_but(conn: &Connection, keep: u32) -> Result<usize> {
    Ok(conn.execute("DELETE FROM data_keys WHERE key_id != ?1", [keep])?)
}

pub fn count(conn: &Connection) -> Result<u64> {
    let n: i64 = conn.query_row("SELECT count(*) FROM data_keys", [], |r| r.get(0))?;
    Ok(n as u64)
}
