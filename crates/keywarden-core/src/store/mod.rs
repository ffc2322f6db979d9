//! The SQLCipher file: opening it with its key, connection settings, and
//! the numbered migrations in `migrations/`.

pub mod alerts;
pub mod audit;
pub mod checks;
pub mod credentials;
pub mod data_keys;
pub mod health;
pub mod integrations;
pub mod notices;
pub mod reminders;
pub mod sealed_values;

use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use rusqlite_migration::{M, Migrations};

use crate::crypto::DbKey;
use crate::error::{Error, Result};

/// How long a write waits for another program's write lock before the
/// vault reports itself busy. Our transactions take milliseconds.
pub const BUSY_TIMEOUT_MS: u32 = 5000;

/// Numbered migrations, embedded; each runs in its own transaction and
/// `PRAGMA user_version` records how far a file has come.
pub fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("../../migrations/001_initial.sql")),
        M::up(include_str!("../../migrations/002_credential_search.sql")),
        M::up(include_str!("../../migrations/003_credential_checks.sql")),
        M::up(include_str!("../../migrations/004_expiry_notices.sql")),
        M::up(include_str!("../../migrations/005_tokens_and_rotation_policy.sql")),
        M::up(include_str!("../../migrations/006_partner_keys.sql")),
        M::up(include_str!("../../migrations/007_key_deliveries.sql")),
        M::up(include_str!("../../migrations/008_run_environment.sql")),
        M::up(include_str!("../../migrations/009_service_accounts.sql")),
        M::up(include_str!("../../migrations/010_credential_revision.sql")),
        M::up(include_str!("../../migrations/011_pending_versions_index.sql")),
        M::up(include_str!("../../migrations/012_credential_reminders.sql")),
        M::up(include_str!("../../migrations/013_refresh_leases.sql")),
        M::up(include_str!("../../migrations/014_health_checks.sql")),
        M::up(include_str!("../../migrations/015_alerts.sql")),
        M::up(include_str!("../../migrations/016_text_params.sql")),
    ])
}

/// Keys the connection and makes the first read, which proves the key: a
/// wrong key reads as "not a database".
fn keyed_first_read(conn: &Connection, key: &DbKey) -> rusqlite::Result<i64> {
    let pragma = key.pragma();
    conn.execute_batch(&pragma)?;
    // Again once keyed: SQLCipher 4.6+ resets the level when the codec is
    // attached, and a damaged page would otherwise log "hmac check failed"
    // on the user's terminal next to our own error.
    conn.execute_batch("PRAGMA cipher_log_level = NONE;")?;
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))
}

/// Opens (or with `create`, creates) the database at `path` with its raw
/// 256-bit key, applies the connection settings and migrates it.
pub(crate) fn open(path: &Path, key: &DbKey, create: bool) -> Result<Connection> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let mut conn = Connection::open_with_flags(path, flags).map_err(|e| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::CannotOpen) => Error::VaultNotFound {
            path: path.to_path_buf(),
        },
        _ => Error::from(e),
    })?;
    // Another program (the app, kw, kw serve) may hold the write lock, or
    // be checkpointing, even at the first read: wait for it rather than
    // report SQLITE_BUSY, which a user must never see.
    conn.busy_timeout(std::time::Duration::from_millis(u64::from(BUSY_TIMEOUT_MS)))?;
    // SQLCipher's own logging would print decryption failures to stderr;
    // the vault reports them as typed errors instead.
    conn.execute_batch("PRAGMA cipher_log_level = NONE;")?;
    // A raw key (x'…') skips SQLCipher's PBKDF2: the key is already 256
    // random bits derived from the vault key.
    // SQLCipher's parser and key setup copy the key through C frames: the
    // stack is scrubbed once the first read has derived its page keys.
    crate::crypto::scrubbed(|| keyed_first_read(&conn, key)).map_err(|e| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => Error::VaultCorrupt {
            path: path.to_path_buf(),
            // The key came out of the header's authenticated wrap, so it
            // is this vault's: the file is damaged, or another's.
            detail: "its database file does not open with this vault's key (a damaged file, or one from another \
                         vault); nothing was changed and it will not be replaced. Restore the vault folder from your \
                         backup"
                .into(),
        },
        _ => Error::from(e),
    })?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA secure_delete = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -65536;",
    )?;
    // The WAL is checkpointed when the last connection closes (SQLite's
    // default). Skipping that (SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE) was measured
    // and rejected: every later process must then rebuild the WAL index by
    // reading the whole WAL, and `kw credential add` went from 12 to 63 ms.
    migrations().to_latest(&mut conn)?;
    // Every transaction the vault opens writes. Taking the write lock at
    // BEGIN lets `busy_timeout` wait for another process's writer (the app,
    // `kw serve` flushing usage); a deferred transaction that reads first
    // and then writes fails at once with "database is locked" instead.
    conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
    // Adding a credential runs some twenty distinct statements; rusqlite's
    // default cache of 16 made a bulk import parse its SQL again for every
    // row (14% of an import's time, measured for issue 11).
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// `%`-free, case-folded needle for `instr` searches.
pub(crate) fn needle(s: &str) -> String {
    s.trim().to_lowercase()
}

pub(crate) fn json_vec(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

pub(crate) fn vec_json(s: &str) -> Result<Vec<String>> {
    serde_json::from_str(s).map_err(|e| Error::Database(format!("bad list in the database: {e}")))
}

/// The values a text is made of (a notice's, a check-list item's), as
/// their `params` column keeps them: a JSON object of strings.
pub(crate) fn params_json(params: &[(&str, String)]) -> String {
    let map: std::collections::BTreeMap<&str, &str> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    serde_json::to_string(&map).unwrap_or_else(|_| "{}".to_owned())
}

/// A `params` column read back; a damaged one reads as none (the text
/// then stays as written, in English).
pub(crate) fn json_params(s: &str) -> std::collections::BTreeMap<String, String> {
    serde_json::from_str(s).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        migrations().validate().unwrap();
    }

    /// A file written by the first release (schema 1) with a credential in it
    /// opens under today's code and its credential is found by the search
    /// index that migration 2 added.
    #[test]
    fn a_schema_1_file_migrates_to_the_latest_and_keeps_its_rows_searchable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let key = DbKey::random();
        {
            let mut conn = Connection::open(&path).unwrap();
            conn.execute_batch(&key.pragma()).unwrap();
            Migrations::new(vec![M::up(include_str!("../../migrations/001_initial.sql"))])
                .to_latest(&mut conn)
                .unwrap();
            conn.execute(
                "INSERT INTO credentials (id, name, kind, provider, environment, status, search_text, created_at, updated_at,
                                          expires_at, current_version)
                 VALUES ('00000000-0000-0000-0000-000000000001', 'Old Pleo', 'api_key', 'pleo', 'prod', 'active',
                         'old pleo pleo api_key prod', '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z',
                         '2027-01-01T00:00:00.000000Z', 1)",
                [],
            )
            .unwrap();
        }
        let conn = open(&path, &key, false).unwrap();
        let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(v, 16);
        // Migration 4: the old expiry is the user's, and it gets notices.
        let (source, next): (String, String) = conn
            .query_row("SELECT expiry_source, notice_next_at FROM credentials", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((source.as_str(), next.as_str()), ("user", notices::UNSCHEDULED));
        let f = crate::model::CredentialFilter {
            search: Some("d ple".into()),
            ..Default::default()
        };
        let found = credentials::list(&conn, &f, credentials::StatusClock::default()).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name, "Old Pleo");
        // Migration 12: a credential that never passed a live check says so
        // on its check list, and the item goes with the credential.
        let id = found[0].id;
        let items = reminders::list(&conn, id).unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].kind, crate::model::ReminderKind::Unchecked);
        conn.execute(
            "DELETE FROM credential_versions WHERE credential_id = ?1",
            [id.to_string()],
        )
        .unwrap();
        conn.execute("DELETE FROM credentials WHERE id = ?1", [id.to_string()])
            .unwrap();
        let left: i64 = conn
            .query_row("SELECT count(*) FROM credential_reminders", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 0, "the check list goes with its credential");
    }

    #[test]
    fn a_new_file_migrates_from_version_zero_and_a_wrong_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let key = DbKey::random();
        {
            let conn = open(&path, &key, true).unwrap();
            let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
            assert_eq!(v, 16);
            let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
            assert_eq!(mode, "wal");
            let sync: i64 = conn.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
            assert_eq!(sync, 2, "synchronous=FULL");
            let fk: i64 = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
            assert_eq!(fk, 1);
        }
        assert!(matches!(
            open(&path, &DbKey::random(), false),
            Err(Error::VaultCorrupt { .. })
        ));
        assert!(open(&path, &key, false).is_ok());
    }
}
