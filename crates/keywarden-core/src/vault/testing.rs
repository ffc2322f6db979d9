//! Hooks for tests that must reach under the API: tamper with rows, compare
//! a vault's whole content before and after. Only with `test-support`.

use super::lifecycle::unlock_header;
#[allow(unused_imports)]
use super::*;

impl Vault {
    #[doc(hidden)]
    pub fn raw_connection(&self) -> &Connection {
        &self.conn
    }

    /// Every key an open vault at `dir` holds, raw and named, derived here
    /// in the caller: what the memory test looks for in a core dump of
    /// another process after that process locked the vault.
    #[doc(hidden)]
    pub fn key_material_for_tests(dir: &Path, source: &KeySource) -> Result<Vec<(String, Vec<u8>)>> {
        let (header, kek, vault_key) = unlock_header(dir, source)?;
        let keys = Keyring::derive(&vault_key);
        let conn = store::open(&header::db_path(dir), &keys.db, false)?;
        let dek = store::data_keys::current(&conn, &keys.dek_wrap, header.vault_id)?;
        let mut material = vec![
            ("KEK".to_owned(), kek.bytes_for_tests()),
            (
                "KEK as hex (the keychain item)".to_owned(),
                kek.to_hex().as_bytes().to_vec(),
            ),
            ("vault key".to_owned(), vault_key.bytes_for_tests()),
        ];
        material.extend(keys.material_for_tests());
        material.push(("data key (DEK)".to_owned(), dek.key.bytes_for_tests()));
        Ok(material)
    }

    /// SHA-256 over every row of every table, in a fixed order: equal
    /// digests mean nothing changed.
    #[doc(hidden)]
    pub fn content_digest(&self) -> Result<String> {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for table in [
            "data_keys",
            "integrations",
            "credentials",
            "credential_versions",
            "secret_fields",
            "credential_reminders",
            "audit_events",
            "audit_head",
            "settings",
        ] {
            let mut stmt = self.conn.prepare(&format!("SELECT * FROM {table} ORDER BY rowid"))?;
            let cols = stmt.column_count();
            let mut rows = stmt.query([])?;
            h.update(table.as_bytes());
            while let Some(r) = rows.next()? {
                for i in 0..cols {
                    let v: rusqlite::types::Value = r.get(i)?;
                    h.update(format!("{v:?}|").as_bytes());
                }
            }
        }
        Ok(hex::encode(h.finalize()))
    }
}
