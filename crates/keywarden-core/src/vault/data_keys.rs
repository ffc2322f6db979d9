//! Data keys: sealing new values under the current one, opening values
//! under whichever sealed them, and rotating them.

#[allow(unused_imports)]
use super::*;

/// The result of `rotate_data_key`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DataKeyRotation {
    pub key_id: u32,
    pub resealed: usize,
}

/// Opens every sealed field of one version, under whichever data key
/// sealed each.
pub(super) fn open_version_in(
    conn: &Connection,
    dek_wrap: &DekWrapKey,
    vault_id: Uuid,
    id: Uuid,
    version: u32,
) -> Result<SecretFields> {
    let mut out = SecretFields::new();
    let mut keys = HashMap::new();
    for (field, blob) in creds::fields(conn, id, version)? {
        let key = key_for_in(conn, dek_wrap, vault_id, &mut keys, &blob)?;
        let plain = sealed::open(
            &key.key,
            &FieldSlot {
                credential_id: id,
                field: &field,
                version,
            },
            &blob,
        )?;
        let text = String::from_utf8(plain.to_vec()).map_err(|e| {
            zeroize::Zeroize::zeroize(&mut e.into_bytes());
            Error::Decryption
        })?;
        out.insert(&field, SecretString::from(text));
    }
    Ok(out)
}

/// The data key new values are sealed under, read from the database each
/// time, inside the writing transaction: another program on the same vault
/// (the app, `kw`) may have rotated it and deleted the key this one opened
/// with, and a value sealed under a deleted key could never be opened.
pub(super) fn sealing_key(conn: &Connection, keys: &Keyring, vault_id: Uuid) -> Result<DataKey> {
    store::data_keys::current(conn, &keys.dek_wrap, vault_id)
}

/// Seals `plain` for `slot` under `dek`, counting the use. Inside the
/// transaction that read `dek` and stores the blob.
pub(crate) fn seal_counted(conn: &Connection, dek: &DataKey, slot: &FieldSlot<'_>, plain: &[u8]) -> Result<Vec<u8>> {
    let blob = sealed::seal(&dek.key, dek.id, slot, plain)?;
    store::data_keys::add_uses(conn, dek.id, 1)?;
    Ok(blob)
}

/// Seals every field of `secrets` as `version` of credential `id` under the
/// current DEK; returns the masks and counts the seals.
pub(super) fn seal_into(
    conn: &Connection,
    dek: &DataKey,
    id: Uuid,
    version: u32,
    secrets: &SecretFields,
) -> Result<BTreeMap<String, String>> {
    let masks = seal_fields(conn, dek, id, version, secrets)?;
    store::data_keys::add_uses(conn, dek.id, secrets.len() as u64)?;
    Ok(masks)
}

/// `seal_into` without counting the data key's uses: a bulk write counts
/// them once for all its credentials.
pub(super) fn seal_fields(
    conn: &Connection,
    dek: &DataKey,
    id: Uuid,
    version: u32,
    secrets: &SecretFields,
) -> Result<BTreeMap<String, String>> {
    let mut masks = BTreeMap::new();
    for (field, value) in secrets.iter() {
        let slot = FieldSlot {
            credential_id: id,
            field,
            version,
        };
        let blob = sealed::seal(&dek.key, dek.id, &slot, value.expose_secret().as_bytes())?;
        creds::insert_field(conn, id, version, field, &blob)?;
        masks.insert(field.to_owned(), mask(value));
    }
    Ok(masks)
}

/// The DEK a blob names, unwrapped once per operation and cached.
pub(crate) fn key_for_in<'k>(
    conn: &Connection,
    wrap: &DekWrapKey,
    vault_id: Uuid,
    cache: &'k mut HashMap<u32, DataKey>,
    blob: &[u8],
) -> Result<&'k DataKey> {
    let key_id = sealed::key_id_of(blob)?;
    Ok(match cache.entry(key_id) {
        Entry::Occupied(o) => o.into_mut(),
        Entry::Vacant(v) => v.insert(store::data_keys::load(conn, wrap, vault_id, key_id)?),
    })
}

impl Vault {
    pub(crate) fn open_version(&self, id: Uuid, version: u32) -> Result<SecretFields> {
        self.read(|conn| open_version_in(conn, &self.keys.dek_wrap, self.header.vault_id, id, version))
    }

    /// Opens a blob read from `conn`, a snapshot from [`Vault::read`], for
    /// `slot`, under whichever data key sealed it.
    pub(crate) fn open_slot_in(
        &self,
        conn: &Connection,
        slot: &FieldSlot<'_>,
        blob: &[u8],
    ) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        let mut keys = HashMap::new();
        let key = key_for_in(conn, &self.keys.dek_wrap, self.header.vault_id, &mut keys, blob)?;
        Ok(sealed::open(&key.key, slot, blob)?)
    }

    /// Re-seals every sealed value (secret fields, partner keys awaiting
    /// delivery) under a new DEK in one transaction and deletes every older
    /// DEK. A value that fails to open aborts it all: nothing is lost and
    /// the old key stays.
    pub fn rotate_data_key(&mut self) -> Result<DataKeyRotation> {
        let vault_id = self.header.vault_id;
        self.write(|w| {
            // Cached access tokens are disposable: the next use refreshes.
            w.execute("DELETE FROM token_cache", [])?;
            let wrap = &w.keys().dek_wrap;
            let new = store::data_keys::create(w, wrap, vault_id)?;
            let mut old_keys = HashMap::new();
            let values = sealed_values::all(w)?;
            for v in &values {
                let old = key_for_in(w, wrap, vault_id, &mut old_keys, &v.sealed)?;
                let plain = sealed::open(&old.key, &v.slot(), &v.sealed)?;
                let resealed = sealed::seal(&new.key, new.id, &v.slot(), &plain)?;
                sealed_values::replace(w, v, &resealed)?;
            }
            store::data_keys::add_uses(w, new.id, values.len() as u64)?;
            store::data_keys::delete_all_but(w, new.id)?;
            w.audit(ev(
                "vault.rotate_data_key",
                "vault",
                Some(vault_id),
                None,
                Outcome::Success,
                format!("{} sealed values re-sealed under data key {}", values.len(), new.id),
            ))?;
            Ok(DataKeyRotation {
                key_id: new.id,
                resealed: values.len(),
            })
        })
    }

    /// How many data keys the vault holds (one, except mid-rotation).
    pub fn data_key_count(&self) -> Result<u64> {
        store::data_keys::count(&self.conn)
    }

    /// After a committed write: rotates the DEK once it has sealed
    /// `rotate_after` values. Best effort — the write itself has succeeded,
    /// and a rotation that fails now is tried again after the next write.
    pub(super) fn rotate_data_key_if_worn(&mut self) {
        let worn = sealing_key(&self.conn, &self.keys, self.header.vault_id)
            .and_then(|dek| store::data_keys::use_count(&self.conn, dek.id))
            .is_ok_and(|n| n >= self.rotate_after);
        if worn {
            let _ = self.rotate_data_key();
        }
    }
}
