//! Every value in the vault sealed under a data key, wherever it is kept:
//! the credentials' secret fields, the partner keys awaiting delivery and
//! the cached access tokens, the alert channels' secrets. A data-key rotation re-seals each of them
//! before it deletes the old key (a value it missed could never be opened
//! again), and the integrity check opens each of them.

use rusqlite::{Connection, params};
use uuid::Uuid;

use crate::crypto::sealed::FieldSlot;
use crate::error::Result;

/// The slot field of a cached access token: no secret field is named so.
pub const TOKEN_FIELD: &str = "~access_token";

/// The slot field of an alert channel's secret (its slot's credential is
/// the channel's id, its version 0).
pub const ALERT_FIELD: &str = "~alert_secret";

/// The slot field of a partner key awaiting delivery: bound to the key id.
/// Its slot's credential is the nil UUID and its version 0.
pub fn delivery_field(key_id: &str) -> String {
    format!("partner-key-delivery:{key_id}")
}

/// Where a sealed value is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// `secret_fields`: one field of one version of a credential.
    Field,
    /// `key_deliveries`: a partner key's plaintext, kept for one delivery.
    Delivery { key_id: String },
    /// `token_cache`: a credential's last access token.
    Token,
    /// `alert_channels`: a webhook URL or an SMTP password.
    AlertChannel,
}

/// One sealed value and the slot its authenticated data names.
pub struct SealedValue {
    pub place: Place,
    pub credential_id: Uuid,
    pub field: String,
    pub version: u32,
    pub sealed: Vec<u8>,
}

impl SealedValue {
    pub fn slot(&self) -> FieldSlot<'_> {
        FieldSlot {
            credential_id: self.credential_id,
            field: &self.field,
            version: self.version,
        }
    }

    /// Names the value for a report, never its content.
    pub fn describe(&self) -> String {
        match &self.place {
            Place::Field => format!(
                "a sealed value of credential {} (version {}, field {})",
                self.credential_id, self.version, self.field
            ),
            Place::Delivery { key_id } => format!("the sealed partner key {key_id} awaiting delivery"),
            Place::Token => format!("the cached access token of credential {}", self.credential_id),
            Place::AlertChannel => format!("the secret of alert channel {}", self.credential_id),
        }
    }
}

/// Every sealed value in the vault. Read it inside one transaction with
/// the data keys that open it.
pub fn all(conn: &Connection) -> Result<Vec<SealedValue>> {
    let mut out = Vec::new();
    let mut stmt = conn.prepare("SELECT credential_id, version, field, sealed FROM secret_fields")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    for r in rows {
        let (id, version, field, sealed) = r?;
        out.push(SealedValue {
            place: Place::Field,
            credential_id: super::credentials::uuid(&id)?,
            field,
            version,
            sealed,
        });
    }
    let mut stmt = conn.prepare("SELECT key_id, sealed FROM key_deliveries")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))?;
    for r in rows {
        let (key_id, sealed) = r?;
        out.push(SealedValue {
            field: delivery_field(&key_id),
            place: Place::Delivery { key_id },
            credential_id: Uuid::nil(),
            version: 0,
            sealed,
        });
    }
    let mut stmt = conn.prepare("SELECT credential_id, version, sealed FROM token_cache")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?)))?;
    for r in rows {
        let (id, version, sealed) = r?;
        out.push(SealedValue {
            place: Place::Token,
            credential_id: super::credentials::uuid(&id)?,
            field: TOKEN_FIELD.to_owned(),
            version,
            sealed,
        });
    }
    let mut stmt = conn.prepare("SELECT id, sealed FROM alert_channels")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))?;
    for r in rows {
        let (id, sealed) = r?;
        out.push(SealedValue {
            place: Place::AlertChannel,
            credential_id: super::credentials::uuid(&id)?,
            field: ALERT_FIELD.to_owned(),
            version: 0,
            sealed,
        });
    }
    Ok(out)
}

/// Stores `sealed` in place of `value`'s blob.
pub fn replace(conn: &Connection, value: &SealedValue, sealed: &[u8]) -> Result<()> {
    let id = value.credential_id.to_string();
    match &value.place {
        Place::Field => conn
            .prepare_cached(
                "UPDATE secret_fields SET sealed = ?4 WHERE credential_id = ?1 AND version = ?2 AND field = ?3",
            )?
            .execute(params![id, value.version, value.field, sealed])?,
        Place::Delivery { key_id } => conn
            .prepare_cached("UPDATE key_deliveries SET sealed = ?2 WHERE key_id = ?1")?
            .execute(params![key_id, sealed])?,
        Place::Token => conn
            .prepare_cached("UPDATE token_cache SET sealed = ?2 WHERE credential_id = ?1")?
            .execute(params![id, sealed])?,
        Place::AlertChannel => conn
            .prepare_cached("UPDATE alert_channels SET sealed = ?2 WHERE id = ?1")?
            .execute(params![id, sealed])?,
    };
    Ok(())
}
