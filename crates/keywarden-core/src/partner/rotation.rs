//! Keys past their policy age: rotated, their successors kept sealed until
//! an admin takes them (once) to deliver.

#[allow(unused_imports)]
use super::*;

/// A key rotated by its policy: the successor, and the notice that says it
/// waits for delivery (for the caller to show natively).
#[derive(Debug, Clone)]
pub struct RotatedByPolicy {
    pub key: PartnerKey,
    pub notice: Option<crate::Notice>,
}

impl Vault {
    /// The background job: rotates every key that reached its policy age
    /// (and was not already replaced). Each successor's plaintext is sealed
    /// for one delivery, and a notice says so. Returns the successors.
    pub fn rotate_due_partner_keys(&mut self) -> Result<Vec<RotatedByPolicy>> {
        let due: Vec<PartnerKey> = self
            .partner_keys()?
            .into_iter()
            .filter(|k| k.state == KeyState::RotationDue && k.replaced_by.is_none())
            .collect();
        let mut out = Vec::new();
        for old in due {
            out.push(self.rotate_by_policy(old)?);
        }
        Ok(out)
    }

    /// Rotates one key past its policy age: the successor is issued, kept
    /// sealed until it is delivered, and a notice says so.
    pub(super) fn rotate_by_policy(&mut self, old: PartnerKey) -> Result<RotatedByPolicy> {
        let issued = self.rotate_partner_key(&old.id, None)?;
        let field = crate::store::sealed_values::delivery_field(&issued.key.id);
        let slot = crate::crypto::sealed::FieldSlot {
            credential_id: uuid::Uuid::nil(),
            field: &field,
            version: 0,
        };
        let now = self.now();
        let new_id = issued.key.id.clone();
        let summary = format!(
            "Partner key {} of {} was rotated by its policy",
            old.id, old.application
        );
        let old_until = issued
            .key
            .grace_until
            .or(self.partner_key(&old.id)?.grace_until)
            .map(timefmt::to_db)
            .unwrap_or_default();
        let body = format!(
            "The successor {new_id} is ready: open it and take the new key (once) to deliver it. The old key stops at {old_until}."
        );
        let params = [
            ("old", old.id.clone()),
            ("successor", new_id.clone()),
            ("old_until", old_until),
        ];
        // Sealed in the transaction that stores it: under the data key
        // current then, which no other program can delete meanwhile.
        let notice = self.write(|tx| {
            let blob = tx.seal(&slot, issued.plaintext.as_bytes())?;
            tx.execute(
                "INSERT INTO key_deliveries (key_id, sealed, created_at) VALUES (?1, ?2, ?3)",
                params![new_id, blob, timefmt::to_db(now)],
            )?;
            let notice = crate::store::notices::insert(
                tx,
                &crate::store::notices::NewNotice {
                    credential_id: None,
                    partner_key_id: Some(&new_id),
                    version: 0,
                    kind: crate::NoticeKind::KeyRotated.as_str(),
                    threshold_days: 0,
                    expires_at: None,
                    due_at: now,
                    fired_at: now,
                    credential_name: &old.application,
                    integration: None,
                    summary: &summary,
                    body: &body,
                    params: &params,
                    dedupe: &format!("key_rotated|{}", old.id),
                },
            )?;
            tx.audit(ev(
                "partner_key.rotate",
                "partner_key",
                None,
                Some(&old.id),
                Outcome::Success,
                format!(
                    "rotated by policy (every {} days); successor {new_id} awaits delivery",
                    old.max_age_days
                ),
            ))?;
            Ok(notice)
        })?;
        let notice = match notice {
            Some(id) => crate::store::notices::get(self.conn(), id)?
                .map(crate::expiry::notice_of)
                .transpose()?,
            None => None,
        };
        Ok(RotatedByPolicy {
            key: self.partner_key(&new_id)?,
            notice,
        })
    }

    /// When the next key reaches its policy age, for the scheduler.
    pub fn next_partner_key_rotation(&self) -> Result<Option<OffsetDateTime>> {
        Ok(self
            .partner_keys()?
            .into_iter()
            .filter(|k| matches!(k.state, KeyState::Active | KeyState::Expiring) && k.max_age_days > 0)
            .map(|k| k.created_at + Duration::days(i64::from(k.max_age_days)))
            .min())
    }

    /// Whether a successor's plaintext waits for delivery.
    pub fn partner_key_awaits_delivery(&self, id: &str) -> Result<bool> {
        let n: i64 = self
            .conn()
            .query_row("SELECT COUNT(*) FROM key_deliveries WHERE key_id = ?1", [id], |r| {
                r.get(0)
            })?;
        Ok(n > 0)
    }

    /// Takes a key rotated by policy for delivery: its plaintext and a fresh
    /// envelope, once; afterwards only its hash remains. Audited.
    pub fn take_key_delivery(&mut self, id: &str) -> Result<IssuedKey> {
        // The sealed blob and the data key that opens it, from one snapshot.
        let plain = self.read(|conn| {
            let blob: Vec<u8> = conn
                .query_row("SELECT sealed FROM key_deliveries WHERE key_id = ?1", [id], |r| {
                    r.get(0)
                })
                .optional()?
                .ok_or_else(|| Error::NotFound {
                    kind: "key awaiting delivery",
                    name: id.to_owned(),
                })?;
            let field = crate::store::sealed_values::delivery_field(id);
            let slot = crate::crypto::sealed::FieldSlot {
                credential_id: uuid::Uuid::nil(),
                field: &field,
                version: 0,
            };
            self.open_slot_in(conn, &slot, &blob)
        })?;
        let plaintext = Zeroizing::new(String::from_utf8(plain.to_vec()).map_err(|_| Error::Decryption)?);
        let key = self.partner_key(id)?;
        let now = self.now();
        self.write(|tx| {
            // Once: of two programs taking the same delivery at the same
            // moment, only the one whose delete removed it gets the key.
            if tx.execute("DELETE FROM key_deliveries WHERE key_id = ?1", [id])? != 1 {
                return Err(Error::NotFound {
                    kind: "key awaiting delivery (it was just taken by another program)",
                    name: id.to_owned(),
                });
            }
            tx.audit(ev(
                "partner_key.deliver",
                "partner_key",
                None,
                Some(id),
                Outcome::Success,
                format!(
                    "the key rotated by policy for {} was shown for delivery",
                    key.application
                ),
            ))
        })?;
        let envelope = self.envelope(&key, &plaintext, now)?;
        Ok(IssuedKey {
            key,
            plaintext,
            envelope,
        })
    }
}
