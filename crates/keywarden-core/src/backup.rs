//! Encrypted backups: a lost or dead laptop must not lose every secret.
//!
//! A backup is one file: a first line naming the format, a JSON manifest
//! line (vault id, when, how many credentials and audit events; nothing
//! secret), then the vault's header (`vault.json`, as it is) and a
//! consistent snapshot of its database, still encrypted under the vault
//! key. The snapshot is SQLite's online backup, in one step: the app and
//! `kw serve` keep writing meanwhile. Each backup is read back and checked
//! (every page's MAC, the structure, the audit chain) before it counts.
//!
//! Restoring it elsewhere needs the recovery code (the header's keychain
//! or passphrase wrap belongs to the old machine): `restore` writes the
//! files, opens them with the code and binds a new key there
//! (`Vault::recover`), and records `vault.restore`. Over the vault it came
//! from, an older backup passes the rollback anchor only through this
//! explicit, audited step; the files it replaces are kept aside.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::crypto::{AuditMacKey, DbKey};
use crate::error::{Error, Result};
use crate::header::HEADER_FILE;
use crate::timefmt;

const MAGIC: &str = "KEYWARDEN-BACKUP 1";
/// The file names of a vault's database and of backups in a folder.
pub const DB_FILE: &str = "vault.db";
pub const EXTENSION: &str = "kwbackup";
/// A header is a few KiB; a manifest line a few hundred bytes.
const MAX_HEADER: usize = 1 << 20;

/// What a backup holds (its manifest line), and where it went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BackupReport {
    pub vault_id: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub taken_at: OffsetDateTime,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub credentials: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub audit_events: u64,
    /// The file's size in bytes.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub bytes: u64,
    #[serde(default)]
    pub path: String,
    header_len: u64,
    db_len: u64,
}

/// Whether `file` starts as a backup does (an older backup may be
/// replaced; any other file may not).
pub fn is_backup(file: &Path) -> bool {
    let mut start = vec![0u8; MAGIC.len()];
    fs::File::open(file).and_then(|mut f| f.read_exact(&mut start)).is_ok() && start == MAGIC.as_bytes()
}

/// Creates `path` empty and owner-only (0600), failing if it exists.
pub(crate) fn create_private(path: &Path) -> Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    })
}

/// Copies the database behind `conn` into a new file at `to`, keyed with
/// `key`, in one step of the online backup (one consistent snapshot).
pub(crate) fn snapshot(conn: &Connection, key: &DbKey, to: &Path) -> Result<()> {
    drop(create_private(to)?);
    let mut dst = Connection::open(to)?;
    crate::crypto::scrubbed(|| dst.execute_batch(&key.pragma()))?;
    let backup = rusqlite::backup::Backup::new(conn, &mut dst)?;
    // Every page in one step: one read transaction, one consistent
    // snapshot, however busy the writers (a writer holding its lock at
    // that instant makes the step wait and try again).
    for _ in 0..2000 {
        match backup.step(-1)? {
            rusqlite::backup::StepResult::Done => {
                drop(backup);
                dst.execute_batch("PRAGMA journal_mode = DELETE;")?;
                return Ok(());
            }
            rusqlite::backup::StepResult::More => {}
            _ => std::thread::sleep(std::time::Duration::from_millis(5)),
        }
    }
    Err(Error::Database(
        "the vault stayed busy for 10 s; the backup was not taken (try again)".into(),
    ))
}

/// Writes the backup file: the format line, the manifest, the header and
/// the snapshot; owner-only, through a temporary file and a rename.
pub(crate) fn write(out: &Path, header: &[u8], db: &Path, mut report: BackupReport) -> Result<BackupReport> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |e| Error::Io { path, source: e }
    };
    let db_len = fs::metadata(db).map_err(io(db))?.len();
    report.header_len = header.len() as u64;
    report.db_len = db_len;
    report.path = out.display().to_string();
    let partial = out.with_extension("partial");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&partial).map_err(io(&partial))?;
    let manifest = serde_json::to_string(&report).map_err(|e| Error::Database(e.to_string()))?;
    let written = (|| -> std::io::Result<()> {
        writeln!(file, "{MAGIC}")?;
        writeln!(file, "{manifest}")?;
        file.write_all(header)?;
        std::io::copy(&mut fs::File::open(db)?, &mut file)?;
        file.sync_all()
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&partial);
        return Err(io(&partial)(e));
    }
    fs::rename(&partial, out).map_err(io(out))?;
    report.bytes = fs::metadata(out).map_err(io(out))?.len();
    Ok(report)
}

/// A backup file read back: its manifest, header, and the database written
/// to `db_to`.
pub(crate) fn read(file: &Path, db_to: &Path) -> Result<(BackupReport, Vec<u8>)> {
    let bad = |why: String| Error::VaultCorrupt {
        path: file.to_path_buf(),
        detail: why,
    };
    let mut f = fs::File::open(file).map_err(|e| Error::Io {
        path: file.to_path_buf(),
        source: e,
    })?;
    let line = |f: &mut fs::File| -> Result<String> {
        let mut out = Vec::new();
        let mut b = [0u8; 1];
        while f.read(&mut b).map_err(|e| bad(e.to_string()))? == 1 && b[0] != b'\n' {
            out.push(b[0]);
            if out.len() > MAX_HEADER {
                return Err(bad("it is not a Keywarden backup (no manifest)".into()));
            }
        }
        String::from_utf8(out).map_err(|_| bad("it is not a Keywarden backup".into()))
    };
    if line(&mut f)? != MAGIC {
        return Err(bad("it is not a Keywarden backup (kw backup writes them)".into()));
    }
    let mut report: BackupReport =
        serde_json::from_str(&line(&mut f)?).map_err(|e| bad(format!("its manifest is damaged ({e})")))?;
    if report.header_len as usize > MAX_HEADER {
        return Err(bad("its header is damaged".into()));
    }
    let mut header = vec![0u8; report.header_len as usize];
    f.read_exact(&mut header)
        .map_err(|_| bad("it is cut short (the header)".into()))?;
    let mut db = create_private(db_to)?;
    let copied = std::io::copy(&mut (&mut f).take(report.db_len), &mut db).map_err(|e| bad(e.to_string()))?;
    if copied != report.db_len {
        return Err(bad(format!(
            "it is cut short: the database should be {} bytes, {copied} are there",
            report.db_len
        )));
    }
    let mut rest = [0u8; 1];
    if f.read(&mut rest).map_err(|e| bad(e.to_string()))? != 0 {
        return Err(bad("it has bytes after its end".into()));
    }
    report.path = file.display().to_string();
    report.bytes = fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    Ok((report, header))
}

/// Opens a database copy with `key` and checks it whole: every page's MAC,
/// the structure, the audit chain. Returns (credentials, audit events).
pub(crate) fn verify_db(db: &Path, key: &DbKey, audit: &AuditMacKey) -> Result<(u64, u64)> {
    let damaged = |detail: String| Error::VaultCorrupt {
        path: db.to_path_buf(),
        detail,
    };
    let conn = Connection::open(db)?;
    crate::crypto::scrubbed(|| conn.execute_batch(&key.pragma()))?;
    let problems = crate::vault::page_problems_of(&conn).map_err(|e| damaged(e.to_string()))?;
    if !problems.is_empty() {
        return Err(damaged(format!(
            "the backup's database is damaged: {}",
            problems.join("; ")
        )));
    }
    let report = crate::store::audit::verify(&conn, audit)?;
    if !report.ok {
        return Err(damaged(format!(
            "the backup's audit log does not verify: {}",
            report.problem.unwrap_or_default()
        )));
    }
    let credentials: u64 = conn.query_row("SELECT COUNT(*) FROM credentials", [], |r| r.get(0))?;
    Ok((credentials, report.events))
}

/// The manifest a backup starts with, for a new backup of a vault.
pub(crate) fn manifest(vault_id: &str, taken_at: OffsetDateTime) -> BackupReport {
    BackupReport {
        vault_id: vault_id.to_owned(),
        taken_at,
        credentials: 0,
        audit_events: 0,
        bytes: 0,
        path: String::new(),
        header_len: 0,
        db_len: 0,
    }
}

/// `keywarden-<vault>-<UTC time>.kwbackup`, sorting by time.
pub fn file_name(vault_id: &str, at: OffsetDateTime) -> String {
    let t = timefmt::to_db(at);
    let stamp: String = t[..19].chars().filter(|c| c.is_ascii_digit()).collect();
    format!("keywarden-{}-{stamp}Z.{EXTENSION}", &vault_id[..8.min(vault_id.len())])
}

/// The backups of `vault_id` in `folder`, oldest first.
pub fn in_folder(folder: &Path, vault_id: &str) -> Vec<PathBuf> {
    let prefix = format!("keywarden-{}-", &vault_id[..8.min(vault_id.len())]);
    let mut out: Vec<PathBuf> = fs::read_dir(folder)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(&format!(".{EXTENSION}")))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// A vault's files put in place by `place`, and where the ones they
/// replaced went: `undo` puts those back (a restore that failed after).
pub(crate) struct Placed {
    dir: PathBuf,
    pub aside: Option<PathBuf>,
}

/// The files that make a vault in its folder (settings stay: they belong
/// to the machine).
const VAULT_FILES: [&str; 5] = [
    HEADER_FILE,
    DB_FILE,
    "vault.db-wal",
    "vault.db-shm",
    crate::anchor::ANCHOR_FILE,
];

impl Placed {
    /// Removes what was placed and moves the replaced files back.
    pub(crate) fn undo(self) {
        for name in VAULT_FILES {
            let _ = fs::remove_file(self.dir.join(name));
        }
        if let Some(to) = &self.aside {
            for name in VAULT_FILES {
                let _ = fs::rename(to.join(name), self.dir.join(name));
            }
            let _ = fs::remove_dir(to);
        }
    }
}

/// Writes `header` and the database at `db` into `dir` as a vault's files,
/// keeping what was there aside (`replaced-<time>-<random>/`); on a failure
/// midway the old files are put back.
pub(crate) fn place(dir: &Path, header: &[u8], db: &Path, now: OffsetDateTime) -> Result<Placed> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |e| Error::Io { path, source: e }
    };
    fs::create_dir_all(dir).map_err(io(dir))?;
    let mut placed = Placed {
        dir: dir.to_path_buf(),
        aside: None,
    };
    let written = (|| -> Result<()> {
        if VAULT_FILES.iter().any(|name| dir.join(name).exists()) {
            let stamp: String = timefmt::to_db(now)[..19]
                .chars()
                .filter(|c| c.is_ascii_digit())
                .collect();
            let to = dir.join(format!(
                "replaced-{stamp}-{}",
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            ));
            fs::create_dir(&to).map_err(io(&to))?;
            placed.aside = Some(to.clone());
            for name in VAULT_FILES {
                let from = dir.join(name);
                if from.exists() {
                    fs::rename(&from, to.join(name)).map_err(io(&from))?;
                }
            }
        }
        let mut out = create_private(&dir.join(DB_FILE))?;
        std::io::copy(&mut fs::File::open(db).map_err(io(db))?, &mut out).map_err(io(&dir.join(DB_FILE)))?;
        out.sync_all().map_err(io(&dir.join(DB_FILE)))?;
        let mut h = create_private(&dir.join(HEADER_FILE))?;
        h.write_all(header)
            .and_then(|()| h.sync_all())
            .map_err(io(&dir.join(HEADER_FILE)))?;
        Ok(())
    })();
    match written {
        Ok(()) => Ok(placed),
        Err(e) => {
            // Nothing half-written stays: the files that were there go back.
            placed.undo();
            Err(e)
        }
    }
}

#[cfg(test)]
#[path = "backup_tests.rs"]
mod tests;
