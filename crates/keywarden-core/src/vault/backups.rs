//! Backing a vault up and restoring it (see `crate::backup`).

#[allow(unused_imports)]
use super::*;

use crate::backup::{self, BackupReport};

/// Temporary files of a backup or restore, removed when it ends.
struct Scratch(Vec<PathBuf>);

impl Drop for Scratch {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = fs::remove_file(p);
        }
    }
}

fn scratch_beside(file: &Path, what: &str) -> PathBuf {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    file.with_file_name(format!(".{name}.{what}-{}", Uuid::new_v4().simple()))
}

impl Vault {
    /// Backs the vault up to `out` (a consistent snapshot while other
    /// programs write), reads it back and checks it whole, then records
    /// `vault.backup`. Nothing is left at `out` when it fails.
    pub fn backup_to(&mut self, out: &Path) -> Result<BackupReport> {
        self.check_backup_target(out)?;
        let snap = scratch_beside(out, "snapshot");
        let check = scratch_beside(out, "check");
        let _scratch = Scratch(vec![snap.clone(), check.clone()]);
        backup::snapshot(&self.conn, &self.keys.db, &snap)?;
        let (credentials, audit_events) = backup::verify_db(&snap, &self.keys.db, &self.keys.audit)?;
        // The header without its keychain or passphrase wrap: a backup on a
        // share must not let anyone guess the passphrase offline, nor open
        // with anything but the recovery code.
        let mut bare = self.header.clone();
        bare.vault_key_by_kek = String::new();
        let header = serde_json::to_vec_pretty(&bare).map_err(|e| Error::Database(e.to_string()))?;
        let mut manifest = backup::manifest(&self.header.vault_id.to_string(), self.now());
        manifest.credentials = credentials;
        manifest.audit_events = audit_events;
        let report = backup::write(out, &header, &snap, manifest)?;
        // Read back from the disk it went to: what a restore will read.
        let verified = backup::read(out, &check)
            .and_then(|(_, h)| {
                if h == header {
                    Ok(())
                } else {
                    Err(Error::Database("the header read back differs".into()))
                }
            })
            .and_then(|()| backup::verify_db(&check, &self.keys.db, &self.keys.audit));
        if let Err(e) = verified {
            let _ = fs::remove_file(out);
            return Err(e);
        }
        self.record(
            "vault.backup",
            "vault",
            None,
            Outcome::Success,
            &format!(
                "backed up to {} ({} credentials, audit events to {}, {} bytes), verified",
                out.display(),
                report.credentials,
                report.audit_events,
                report.bytes
            ),
        )?;
        Ok(report)
    }

    /// Refuses a target inside the vault's folder (it would replace the
    /// vault's own files) and an existing file that is not a backup.
    fn check_backup_target(&self, out: &Path) -> Result<()> {
        let parent = out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        if same(parent, &self.dir) {
            return Err(Error::invalid(
                "backup file",
                format!(
                    "{} is inside the vault's own folder; write the backup elsewhere",
                    out.display()
                ),
            ));
        }
        if out.exists() && !backup::is_backup(out) {
            return Err(Error::invalid(
                "backup file",
                format!(
                    "{} exists and is not a Keywarden backup; choose another name",
                    out.display()
                ),
            ));
        }
        Ok(())
    }

    /// A scheduled backup into `folder` (a network share, say), keeping the
    /// newest `keep` of this vault's backups there.
    pub fn backup_into(&mut self, folder: &Path, keep: u32) -> Result<BackupReport> {
        if !folder.is_dir() {
            return Err(Error::invalid(
                "backup folder",
                format!(
                    "{} is not a folder that exists; create it or choose another",
                    folder.display()
                ),
            ));
        }
        let id = self.header.vault_id.to_string();
        let out = folder.join(backup::file_name(&id, timefmt::now()));
        let report = self.backup_to(&out)?;
        // The oldest go; never the one just written (a clock set back
        // gives it a name that sorts first).
        let others: Vec<PathBuf> = backup::in_folder(folder, &id)
            .into_iter()
            .filter(|p| *p != out)
            .collect();
        let surplus = (others.len() + 1).saturating_sub(keep.max(1) as usize);
        for old in others.into_iter().take(surplus) {
            let _ = fs::remove_file(old);
        }
        Ok(report)
    }

    /// When the next scheduled backup is due (the settings' folder and
    /// interval); `None` when no folder is set.
    pub fn next_backup_due(&self) -> Option<OffsetDateTime> {
        let folder = self.settings.backup_folder.trim();
        if folder.is_empty() {
            return None;
        }
        let every = time::Duration::hours(i64::from(self.settings.backup_every_hours.max(1)));
        // When the last backup was taken, by this machine's clock (its
        // audit event), not by the share's file times: a share whose clock
        // lags must not make every wake-up a backup; nor a backup "in the
        // future" after this clock was set back delay the next for long.
        let now = self.now();
        let last = store::audit::last_at(&self.conn, "vault.backup").ok().flatten();
        Some(last.map_or(now, |t| t.min(now) + every))
    }

    /// A backup into the settings' folder now ("Back up now", and the
    /// app's schedule), keeping the settings' number of backups.
    pub fn backup_now(&mut self) -> Result<BackupReport> {
        let folder = self.settings.backup_folder.trim().to_owned();
        if folder.is_empty() {
            return Err(Error::invalid(
                "backup folder",
                "choose a backup folder in Settings first (or use kw backup --output FILE)",
            ));
        }
        let keep = self.settings.backup_keep;
        self.backup_into(Path::new(&folder), keep)
    }

    /// When this vault's newest backup in `folder` was taken.
    pub fn last_backup_in(&self, folder: &Path) -> Option<OffsetDateTime> {
        let newest = backup::in_folder(folder, &self.header.vault_id.to_string()).pop()?;
        fs::metadata(newest)
            .and_then(|m| m.modified())
            .ok()
            .map(OffsetDateTime::from)
    }

    /// Restores a backup into `dir` on this machine: opened with the
    /// recovery code, protected by `new_source` from now on (a new keychain
    /// item, or a passphrase), the database accepted as the backup has it
    /// (`vault.recover`), and `vault.restore` recorded. A vault already in
    /// `dir` is kept aside in `dir/replaced-<time>/`. A wrong code changes
    /// nothing.
    pub fn restore(
        file: &Path,
        dir: &Path,
        code: &str,
        new_source: KeySource,
        actor: Actor,
    ) -> Result<(Vault, BackupReport)> {
        let parent = dir
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::create_dir_all(parent).map_err(|e| Error::Io {
            path: parent.to_path_buf(),
            source: e,
        })?;
        let db = scratch_beside(dir, "restore");
        let _scratch = Scratch(vec![db.clone()]);
        let (report, header_bytes) = backup::read(file, &db)?;
        // The code is tried on the backup's own header before anything in
        // `dir` is touched.
        let text = String::from_utf8(header_bytes.clone()).map_err(|_| Error::VaultCorrupt {
            path: file.to_path_buf(),
            detail: "its header is not text".into(),
        })?;
        let header = Header::parse(&text, file)?;
        let vault_key = header.unwrap_with_recovery(&RecoveryCode::parse(code)?)?;
        let keys = Keyring::derive(&vault_key);
        backup::verify_db(&db, &keys.db, &keys.audit)?;
        // The new key source is tried before anything in `dir` moves (a
        // passphrase too short, say).
        header.rekeyed(&new_source, &vault_key)?;
        let placed = backup::place(dir, &header_bytes, &db, timefmt::now())?;
        let aside = placed.aside.clone();
        let mut vault = match Vault::recover(dir, code, new_source, actor) {
            Ok(v) => v,
            Err(e) => {
                // The vault that was there comes back as it was.
                placed.undo();
                return Err(e);
            }
        };
        let detail = format!(
            "restored from the backup {} taken {} ({} credentials, audit events to {}){}",
            file.display(),
            timefmt::to_db(report.taken_at),
            report.credentials,
            report.audit_events,
            aside
                .map(|a| format!("; the vault it replaced is kept in {}", a.display()))
                .unwrap_or_default()
        );
        vault.record("vault.restore", "vault", None, Outcome::Success, &detail)?;
        Ok((vault, report))
    }
}
