//! The rollback anchor (issue 20, finding 4). The audit chain's head lives
//! in `vault.db` itself, so an older copy of the file, put back, carried an
//! older head that verified: revoked partner keys verified again and
//! disabled credentials were active. The anchor keeps the head's sequence
//! number and MAC outside the database — in the keychain beside the KEK
//! for a keychain vault, in `vault.anchor` beside the header for a
//! passphrase vault — and is moved by every commit that moves the head.
//! Opening a database whose chain is behind the anchor is refused (one
//! with another event where the anchor's stands is an edited chain, which
//! the audit check names); restoring a backup on
//! purpose is an explicit, audited step (`Vault::open_accepting_older`,
//! `kw recover --accept-older`).
//!
//! The MAC is keyed with the vault's audit key, so nobody without the
//! vault's keys can make an anchor that an older database satisfies. What
//! it cannot stop: someone who can also put back the keychain item (or, for
//! a passphrase vault, who copies and restores `vault.anchor` with the
//! database).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use rusqlite::{Connection, OptionalExtension};

use crate::anchor_writer::AnchorWriter;
use crate::error::{Error, Result};

/// The file of a passphrase vault's anchor.
pub const ANCHOR_FILE: &str = "vault.anchor";

/// The audit chain's last event: its sequence number and MAC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub seq: i64,
    pub mac: Vec<u8>,
}

impl Head {
    pub(crate) fn to_text(&self) -> String {
        format!("keywarden-anchor v1 {} {}", self.seq, hex::encode(&self.mac))
    }

    fn parse(text: &str) -> Option<Head> {
        let mut parts = text.trim().split(' ');
        let (Some("keywarden-anchor"), Some("v1"), Some(seq), Some(mac), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        Some(Head {
            seq: seq.parse().ok()?,
            mac: hex::decode(mac).ok()?,
        })
    }
}

impl Drop for Anchor {
    /// The heads handed over are written before the vault is gone (waited
    /// for a few seconds at most: a keychain waiting for its unlock prompt
    /// must not hold the closing vault, and an anchor left behind is moved
    /// on the next open).
    fn drop(&mut self) {
        if let Some(w) = &self.writer
            && !w.flush(crate::anchor_writer::FLUSH_LIMIT)
        {
            eprintln!(
                "keywarden: the rollback anchor was not written within {} s (the keychain did not answer); the next \
                 open moves it",
                crate::anchor_writer::FLUSH_LIMIT.as_secs()
            );
        }
    }
}

/// The head as the database has it now (inside a transaction: as it will
/// be committed).
pub fn head(conn: &Connection) -> Result<Option<Head>> {
    Ok(conn
        .prepare_cached("SELECT seq, mac FROM audit_head WHERE id = 1")?
        .query_row([], |r| {
            Ok(Head {
                seq: r.get(0)?,
                mac: r.get(1)?,
            })
        })
        .optional()?)
}

/// Where a vault keeps its anchor.
#[derive(Debug)]
pub(crate) struct Anchor {
    place: Place,
    /// The sequence number this handle last wrote (or handed to the
    /// writer): a commit that did not move the head writes nothing.
    written: AtomicI64,
    /// A keychain anchor's writer (`anchor_writer.rs`): one thread per
    /// vault in the process writes the newest head beside the commits, so
    /// an audited use does not wait for the Secret Service (about 2 ms).
    /// `None` for a file anchor, or if no thread could be started: then
    /// each commit writes it itself, as before.
    writer: Option<Arc<AnchorWriter>>,
}

#[derive(Debug, Clone)]
enum Place {
    Keychain { vault_id: String },
    File { path: PathBuf },
}

impl Anchor {
    pub(crate) fn keychain(vault_id: &str) -> Anchor {
        Anchor {
            place: Place::Keychain {
                vault_id: vault_id.to_owned(),
            },
            written: AtomicI64::new(-1),
            writer: AnchorWriter::for_vault(vault_id),
        }
    }

    pub(crate) fn file(dir: &Path) -> Anchor {
        Anchor::at(Place::File {
            path: dir.join(ANCHOR_FILE),
        })
    }

    fn at(place: Place) -> Anchor {
        Anchor {
            place,
            written: AtomicI64::new(-1),
            writer: None,
        }
    }

    /// A second handle on the same place (`Vault::reopen`).
    pub(crate) fn duplicate(&self) -> Anchor {
        match &self.place {
            Place::Keychain { vault_id } => Anchor::keychain(vault_id),
            Place::File { .. } => Anchor::at(self.place.clone()),
        }
    }

    fn load(&self) -> Result<Option<Head>> {
        let text = match &self.place {
            Place::Keychain { vault_id } => crate::keychain::load_anchor(vault_id)?,
            Place::File { path } => match fs::read_to_string(path) {
                Ok(t) => Some(t),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(Error::io(path, e)),
            },
        };
        match text {
            None => Ok(None),
            Some(t) => Head::parse(&t).map(Some).ok_or_else(|| Error::AnchorUnreadable {
                place: self.describe().display().to_string(),
            }),
        }
    }

    fn describe(&self) -> PathBuf {
        match &self.place {
            Place::Keychain { vault_id } => PathBuf::from(format!("the keychain item anchor:{vault_id}")),
            Place::File { path } => path.clone(),
        }
    }

    /// Records `head` as the newest the vault has reached, now (also
    /// backwards: accepting an older database moves it back). The heads
    /// handed to the writer before are written first.
    pub(crate) fn save(&self, head: &Head) -> Result<()> {
        let text = head.to_text();
        match &self.place {
            Place::Keychain { vault_id } => match &self.writer {
                Some(w) => w.write_now(head)?,
                None => crate::keychain::store_anchor(vault_id, &text)?,
            },
            Place::File { path } => write_file(path, &text)?,
        }
        self.written.store(head.seq, Ordering::Relaxed);
        Ok(())
    }

    /// After a commit: moves the anchor to `head` if this process has not
    /// written it yet. Best effort: the change itself is committed, and an
    /// anchor left behind is moved on the next open.
    pub(crate) fn advance(&self, head: Option<Head>) {
        let Some(h) = head else { return };
        if h.seq <= self.written.load(Ordering::Relaxed) {
            return;
        }
        match &self.writer {
            Some(w) => {
                self.written.store(h.seq, Ordering::Relaxed);
                w.hand(h);
            }
            None => {
                let _ = self.save(&h);
            }
        }
    }

    /// On open: refuses a database behind the anchor, one with another
    /// event where the anchor's stands, and one whose anchor was set up but
    /// is gone; moves an anchor that is behind the database (a program that
    /// stopped between its commit and the anchor). `Ok(true)`: setting the
    /// anchor up was never recorded in this database; the anchor is written
    /// now and the caller records it (`vault.anchor_set`).
    pub(crate) fn check(&self, conn: &Connection) -> Result<bool> {
        // The anchor first, then the database: an anchor is written only
        // after its commit, so the database read next holds at least that
        // head even if another program commits and moves the anchor in
        // between (the other order reads an old head, then a newer anchor,
        // and refuses a database that is not old at all).
        let anchor = self.load()?;
        let db = head(conn)?;
        // Set up once, recorded in the database: from then on a missing
        // anchor is a deleted one (the way round it), not a vault from
        // before the anchor.
        let set_up: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM audit_events WHERE action = ?1)",
            [SET_UP],
            |r| r.get(0),
        )?;
        let Some(anchor) = anchor else {
            if set_up {
                return Err(Error::AnchorMissing {
                    place: self.describe().display().to_string(),
                });
            }
            // Written before the event that records it is committed: no
            // other program ever sees the event without the anchor.
            if let Some(h) = &db {
                self.save(h)?;
            }
            return Ok(true);
        };
        let db_seq = db.as_ref().map_or(0, |h| h.seq);
        if db_seq < anchor.seq {
            return Err(Error::RolledBack {
                database: db_seq,
                anchor: anchor.seq,
            });
        }
        // As far as the anchor, or further: the event there must be the one
        // the anchor recorded. Another one is another history (a copy
        // changed elsewhere) or an edited chain.
        let mac_there: Option<Vec<u8>> = conn
            .query_row("SELECT mac FROM audit_events WHERE seq = ?1", [anchor.seq], |r| {
                r.get(0)
            })
            .optional()?;
        if mac_there.as_deref() != Some(anchor.mac.as_slice()) {
            return Err(Error::Forked {
                seq: anchor.seq,
                detail: "it is not the event the rollback anchor recorded when it was written, so this database \
                         holds another history"
                    .into(),
            });
        }
        match db.filter(|h| h.seq > anchor.seq) {
            // Best effort, as after a commit: the next open tries again.
            Some(h) => {
                let _ = self.save(&h);
            }
            None => self.written.store(anchor.seq, Ordering::Relaxed),
        }
        Ok(false)
    }
}

/// The audit action that records setting up a vault's anchor.
pub const SET_UP: &str = "vault.anchor_set";

/// Writes `text` to `path` whole or not at all: a file of its own beside
/// it, fsynced, then renamed over it. Owner-only.
fn write_file(path: &Path, text: &str) -> Result<()> {
    // Each writer its own temporary file: two programs (or two handles of
    // one) may move the anchor at the same moment.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let tmp = path.with_extension(format!("anchor.{}.{n}.tmp", std::process::id()));
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp).map_err(|e| Error::io(&tmp, e))?;
    f.write_all(text.as_bytes()).map_err(|e| Error::io(&tmp, e))?;
    f.sync_all().map_err(|e| Error::io(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
    // The rename itself survives a power cut only once the folder is synced.
    if let Some(dir) = path.parent().and_then(|d| fs::File::open(d).ok()) {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_anchor_reads_back_and_anything_else_is_refused() {
        let h = Head {
            seq: 42,
            mac: vec![0xab; 32],
        };
        assert_eq!(Head::parse(&h.to_text()), Some(h));
        for bad in [
            "",
            "keywarden-anchor v2 1 00",
            "keywarden-anchor v1 x 00",
            "keywarden-anchor v1 1 zz",
            "a b c d e",
        ] {
            assert_eq!(Head::parse(bad), None, "{bad}");
        }
    }
}
