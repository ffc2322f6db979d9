//! Creating, opening, re-opening, recovering and locking a vault: the
//! header, the keys it unwraps, the rollback anchor.

#[allow(unused_imports)]
use super::*;

/// Whether opening refuses a database older than its rollback anchor.
#[derive(Clone, Copy)]
pub(super) enum Older {
    Refuse,
    /// `open_accepting_older`: a backup restored on purpose.
    Accept,
}

/// The vault's header, its KEK (from the keychain or the passphrase) and
/// the vault key it unwraps: the first steps of every open.
pub(super) fn unlock_header(dir: &Path, source: &KeySource) -> Result<(Header, Kek, VaultKey)> {
    let header = Header::read(dir)?;
    let pass = match source {
        KeySource::Passphrase(p) => Some(p),
        KeySource::Keychain => None,
    };
    let kek = header.load_kek(pass)?;
    let vault_key = header.unwrap_with_kek(&kek)?;
    Ok((header, kek, vault_key))
}

/// Where a vault with this header keeps its rollback anchor: the keychain
/// for a keychain vault, `vault.anchor` for a passphrase vault.
pub(super) fn anchor_for(header: &Header, dir: &Path) -> Anchor {
    if header.is_passphrase() {
        Anchor::file(dir)
    } else {
        Anchor::keychain(&header.vault_id.to_string())
    }
}

/// The event that records where a vault's rollback anchor is kept: from
/// then on a missing anchor is refused, not set up again.
pub(super) fn anchor_set_event(header: &Header, dir: &Path) -> NewEvent<'static> {
    let place = if header.is_passphrase() {
        format!("the file {}", dir.join(crate::anchor::ANCHOR_FILE).display())
    } else {
        "the OS keychain".to_owned()
    };
    ev(
        crate::anchor::SET_UP,
        "vault",
        Some(header.vault_id),
        None,
        Outcome::Success,
        format!("the rollback anchor is kept in {place}"),
    )
}

impl Vault {
    /// Creates a vault in `dir`. Nothing is written anywhere until the KEK is
    /// safely in the keychain, so a missing or locked keychain leaves no
    /// trace. Returns the recovery code, which is never stored.
    pub fn create(dir: &Path, source: KeySource, actor: Actor) -> Result<(Vault, RecoveryCode)> {
        if header::header_path(dir).exists() {
            return Err(Error::VaultExists {
                path: dir.to_path_buf(),
            });
        }
        let vault_id = Uuid::new_v4();
        let vault_key = VaultKey::random();
        let code = RecoveryCode::generate();
        let (header, kek) = Header::new(vault_id, &source, &vault_key, &code)?;
        if let Some(kek) = &kek {
            crate::keychain::store(&vault_id.to_string(), kek)?;
        }
        let result = Self::create_files(dir, header, &vault_key, actor);
        if result.is_err() && kek.is_some() {
            let _ = crate::keychain::delete(&vault_id.to_string());
        }
        Ok((result?, code))
    }

    pub(super) fn create_files(dir: &Path, header: Header, vault_key: &VaultKey, actor: Actor) -> Result<Vault> {
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        restrict_permissions(dir);
        // A database with no header is a creation that died before its end:
        // without the header its key is lost, so it is removed, not reused.
        for suffix in ["", "-wal", "-shm"] {
            let p = PathBuf::from(format!("{}{suffix}", header::db_path(dir).display()));
            if p.exists() {
                fs::remove_file(&p).map_err(|e| Error::io(&p, e))?;
            }
        }
        let keys = Keyring::derive(vault_key);
        let built = (|| {
            let mut conn = store::open(&header::db_path(dir), &keys.db, true)?;
            restrict_file(&header::db_path(dir));
            let w = WriteTx::begin(&mut conn, &keys, &actor, header.vault_id, timefmt::now())?;
            store::data_keys::create(&w, &keys.dek_wrap, header.vault_id)?;
            w.audit(ev(
                "vault.create",
                "vault",
                Some(header.vault_id),
                None,
                Outcome::Success,
                "",
            ))?;
            w.audit(anchor_set_event(&header, dir))?;
            let head = crate::anchor::head(&w)?;
            w.commit(None, None, None)?;
            // Before the header: until the header is written nobody can
            // open the database, so nobody sees it without its anchor.
            if let Some(h) = &head {
                anchor_for(&header, dir).save(h)?;
            }
            header.write(dir)?;
            Ok::<_, Error>(conn)
        })();
        match built {
            Ok(conn) => Ok(Vault {
                dir: dir.to_path_buf(),
                anchor: anchor_for(&header, dir),
                header,
                conn,
                keys,
                actor,
                rotate_after: store::data_keys::ROTATE_AFTER,
                settings: crate::settings::Settings::default(),
                settings_problem: None,
                clock: Arc::new(SystemClock),
                policy: Arc::default(),
                stream: None,
                stream_problem: None,
            }
            .with_policy(crate::policy::Policy::load_system())),
            Err(e) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = fs::remove_file(format!("{}{suffix}", header::db_path(dir).display()));
                }
                Err(e)
            }
        }
    }

    /// The header of the vault at `dir`: whether it needs a passphrase.
    pub fn header(dir: &Path) -> Result<Header> {
        Header::read(dir)
    }

    /// Opens the vault at `dir`. A keychain vault reads its KEK from the
    /// keychain; a passphrase vault needs `KeySource::Passphrase`.
    pub fn open(dir: &Path, source: &KeySource, actor: Actor) -> Result<Vault> {
        let (header, _, vault_key) = unlock_header(dir, source)
            .inspect_err(|e| super::unlocks::note_failed_unlock(dir, &actor, source.describe(), e))?;
        let mut vault = Self::open_with_vault_key(dir, header, &vault_key, actor, Older::Refuse)?;
        // Only here: accepting an older copy and recovering write nothing
        // before their own audited event, which moves the rollback anchor.
        vault.load_settings();
        Ok(vault)
    }

    /// Opens the vault at `dir` even though its database does not match its
    /// rollback anchor: older than it (a backup restored on purpose), with
    /// another history at the anchor's event, or with the anchor gone or
    /// unreadable. The step is audited (`vault.accept_older`, saying which
    /// and naming the event numbers) and the anchor moves to the database
    /// as it is. Returns the vault and, when the database was refused
    /// before, that event's detail.
    pub fn open_accepting_older(dir: &Path, source: &KeySource, actor: Actor) -> Result<(Vault, Option<String>)> {
        let (header, _, vault_key) = unlock_header(dir, source)
            .inspect_err(|e| super::unlocks::note_failed_unlock(dir, &actor, source.describe(), e))?;
        let refused = match Self::open_with_vault_key(dir, header.clone(), &vault_key, actor.clone(), Older::Refuse) {
            Ok(mut v) => {
                // Nothing to accept: opened as `open` opens.
                v.load_settings();
                return Ok((v, None));
            }
            Err(Error::RolledBack { database, anchor }) => format!(
                "an older database was accepted: its audit log ended at event {database}, the rollback anchor \
                 recorded event {anchor}; what happened after event {database} is not in this vault"
            ),
            Err(Error::Forked { seq, .. }) => format!(
                "a database with another history was accepted: its event {seq} is not the one the rollback anchor \
                 recorded"
            ),
            Err(Error::AnchorMissing { place }) => {
                format!("the database was accepted as it is although its rollback anchor ({place}) was gone")
            }
            Err(Error::AnchorUnreadable { place }) => {
                format!("the database was accepted as it is; its rollback anchor ({place}) was unreadable")
            }
            Err(e) => return Err(e),
        };
        let mut vault = Self::open_with_vault_key(dir, header, &vault_key, actor, Older::Accept)?;
        let vault_id = vault.header.vault_id;
        let detail = refused.clone();
        // The event moves the anchor to the database as it is now.
        vault.write(|tx| {
            tx.audit(ev(
                "vault.accept_older",
                "vault",
                Some(vault_id),
                None,
                Outcome::Success,
                detail,
            ))
        })?;
        vault.roll_back_interrupted_rotations()?;
        Ok((vault, Some(refused)))
    }

    pub(super) fn open_with_vault_key(
        dir: &Path,
        header: Header,
        vault_key: &VaultKey,
        actor: Actor,
        older: Older,
    ) -> Result<Vault> {
        let keys = Keyring::derive(vault_key);
        let db = header::db_path(dir);
        if !db.exists() {
            return Err(Error::VaultCorrupt {
                path: db,
                detail: "the database file is missing".into(),
            });
        }
        let conn = store::open(&db, &keys.db, false)?;
        // Proves the keys open the data key before anything is read.
        store::data_keys::current(&conn, &keys.dek_wrap, header.vault_id)?;
        let anchor = anchor_for(&header, dir);
        // An older copy of the database put back is refused before anything
        // is read from it, or written to it.
        let set_up = match older {
            Older::Refuse => match anchor.check(&conn) {
                // Another event at the anchor's number: an edited chain is
                // named by its first bad event, as `kw audit verify` does;
                // an intact one is another history.
                Err(Error::Forked { seq, detail }) => {
                    // A chain too damaged to read stays "forked", which
                    // `--accept-older` can clear.
                    return Err(match store::audit::verify(&conn, &keys.audit) {
                        Ok(report) if !report.ok => Error::Forked {
                            seq: report.first_bad_seq.unwrap_or(seq),
                            detail: report.problem.unwrap_or(detail),
                        },
                        _ => Error::Forked { seq, detail },
                    });
                }
                other => other?,
            },
            Older::Accept => false,
        };
        let mut vault = Vault {
            dir: dir.to_path_buf(),
            header,
            conn,
            keys,
            anchor,
            actor,
            rotate_after: store::data_keys::ROTATE_AFTER,
            settings: crate::settings::Settings::default(),
            settings_problem: None,
            clock: Arc::new(SystemClock),
            policy: Arc::default(),
            stream: None,
            stream_problem: None,
        }
        .with_policy(crate::policy::Policy::load_system());
        if set_up {
            // A vault from before the anchor: set up now, and recorded, so
            // that from now on a missing anchor is noticed.
            let event = anchor_set_event(&vault.header, dir);
            vault.write(|tx| tx.audit(event))?;
        }
        // A database being accepted is written to only after the event
        // that accepts it (`open_accepting_older`, `recover`).
        if matches!(older, Older::Refuse) {
            vault.roll_back_interrupted_rotations()?;
        }
        Ok(vault)
    }

    /// A second handle on the same open vault, with its own database
    /// connection: for a service thread (the app's embedded verifier) that
    /// must not share this one. The keys are copied, not re-read from the
    /// keychain or a passphrase.
    pub fn reopen(&self) -> Result<Vault> {
        let keys = self.keys.duplicate();
        let conn = store::open(&header::db_path(&self.dir), &keys.db, false)?;
        store::data_keys::current(&conn, &keys.dek_wrap, self.header.vault_id)?;
        Ok(Vault {
            dir: self.dir.clone(),
            header: self.header.clone(),
            conn,
            keys,
            anchor: self.anchor.duplicate(),
            actor: self.actor.clone(),
            rotate_after: self.rotate_after,
            settings: self.settings.clone(),
            settings_problem: self.settings_problem.clone(),
            clock: self.clock.clone(),
            policy: self.policy.clone(),
            stream: self.stream.clone(),
            stream_problem: None,
        })
    }

    /// A rotation that died between staging and swapping left a pending
    /// version; the current one was never touched, so rolling back is safe.
    pub(super) fn roll_back_interrupted_rotations(&mut self) -> Result<()> {
        // Only versions staged long ago: a younger one may be under
        // validation right now in another process (the desktop app).
        let stale_before = timefmt::to_db(self.now() - time::Duration::minutes(STALE_PENDING_MINUTES));
        let pending = creds::pending_versions(&self.conn, &stale_before)?;
        if pending.is_empty() {
            return Ok(());
        }
        self.write(|w| {
            for (id, name, version) in pending {
                creds::delete_version(w, id, version)?;
                let detail =
                    format!("version {version} was interrupted before validation finished; rolled back at start-up");
                w.audit(ev(
                    "credential.rotate",
                    "credential",
                    Some(id),
                    Some(&name),
                    Outcome::Failure,
                    detail,
                ))?;
            }
            Ok(())
        })
    }

    /// Closes the vault: the database connection and every key are dropped
    /// and zeroized.
    pub fn lock(self) {
        drop(self);
        // Every call that handled key bytes scrubbed its own thread's stack
        // (crypto::stack); this one covers the drop itself.
        crate::crypto::stack::scrub_stack();
    }

    /// Opens a vault whose keychain item (or passphrase) is lost, with the
    /// recovery code, and protects it with `new_source` from then on. A
    /// wrong code changes nothing.
    pub fn recover(dir: &Path, code: &str, new_source: KeySource, actor: Actor) -> Result<Vault> {
        let header = Header::read(dir)?;
        let code = RecoveryCode::parse(code)?;
        let vault_key = header
            .unwrap_with_recovery(&code)
            .inspect_err(|e| super::unlocks::note_failed_unlock(dir, &actor, "the recovery code", e))?;
        let (new_header, kek) = header.rekeyed(&new_source, &vault_key)?;
        // Prove the database opens before anything is rewritten.
        // Recovery is for a lost keychain, which usually lost the rollback
        // anchor with the KEK, or put it out of reach. The recovery code
        // proves whose vault it is: the database is then accepted as it is,
        // and the event says so.
        let (mut vault, unchecked) =
            match Self::open_with_vault_key(dir, header.clone(), &vault_key, actor.clone(), Older::Refuse) {
                Ok(v) => (v, false),
                Err(
                    Error::KeychainUnavailable { .. }
                    | Error::KeychainLocked
                    | Error::Keychain { .. }
                    | Error::AnchorMissing { .. }
                    | Error::AnchorUnreadable { .. }
                    | Error::RolledBack { .. }
                    | Error::Forked { .. },
                ) => (
                    Self::open_with_vault_key(dir, header, &vault_key, actor, Older::Accept)?,
                    true,
                ),
                Err(e) => return Err(e),
            };
        let how = match (kek.is_some(), unchecked) {
            (true, false) => "new keychain item written",
            (false, false) => "new passphrase set",
            (true, true) => {
                "new keychain item written; the rollback anchor was lost or out of reach, so the database was \
                 accepted as it is"
            }
            (false, true) => {
                "new passphrase set; the rollback anchor was lost or out of reach, so the database was accepted as \
                 it is"
            }
        };
        let id = new_header.vault_id;
        // The event, the staged header, the keychain item, then the header
        // swap and the commit: a failure before the rename leaves the old
        // header and no event; the new key is never stored without a header
        // on its way.
        let before = crate::anchor::head(&vault.conn)?;
        let now = vault.now();
        let w = WriteTx::begin(&mut vault.conn, &vault.keys, &vault.actor, id, now)?;
        w.audit(ev("vault.recover", "vault", Some(id), None, Outcome::Success, how))?;
        new_header.stage(dir)?;
        // The new key source may keep the anchor elsewhere (keychain or
        // file): written there, at the head before this event, before the
        // header naming that place is in force (and before the new KEK);
        // moved to the event after the commit.
        let new_anchor = anchor_for(&new_header, dir);
        if let Some(h) = &before
            && let Err(e) = new_anchor.save(h)
        {
            Header::discard_staged(dir);
            return Err(e);
        }
        if let Some(kek) = &kek
            && let Err(e) = crate::keychain::store(&id.to_string(), kek)
        {
            Header::discard_staged(dir);
            return Err(e);
        }
        Header::commit_staged(dir)?;
        let head = crate::anchor::head(&w)?;
        w.commit(None, None, vault.stream.as_ref())?;
        vault.anchor = new_anchor;
        vault.anchor.advance(head);
        vault.header = new_header;
        if unchecked {
            vault.roll_back_interrupted_rotations()?;
        }
        Ok(vault)
    }
}

#[cfg(unix)]
pub(super) fn restrict_permissions(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
}

#[cfg(not(unix))]
pub(super) fn restrict_permissions(_dir: &Path) {}

/// The database is readable by its owner only (SQLCipher encrypts it, but
/// there is no reason to hand others the ciphertext).
#[cfg(unix)]
pub(super) fn restrict_file(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o600));
}

#[cfg(not(unix))]
pub(super) fn restrict_file(_path: &Path) {}
