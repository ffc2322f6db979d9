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
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use rusqlite::{Connection, OptionalExtension};

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
    fn to_text(&self) -> String {
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

/// The writer thread: writes each newest head handed to it, until the
/// vault closes and nothing is left to write.
fn write_heads(queue: &Queue, written: &AtomicI64, vault_id: &str) {
    loop {
        let head = {
            let mut next = queue.next.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                if let Some(h) = next.0.take() {
                    break Some(h);
                }
                if next.1 {
                    break None;
                }
                next = queue.wake.wait(next).unwrap_or_else(|p| p.into_inner());
            }
        };
        let Some(h) = head else { return };
        // Best effort, as before: an anchor left behind is moved on the
        // next open.
        if h.seq > written.load(Ordering::Relaxed) && crate::keychain::store_anchor(vault_id, &h.to_text()).is_ok() {
            written.store(h.seq, Ordering::Relaxed);
        }
    }
}

impl Drop for Anchor {
    /// The last head handed over is written before the vault is gone.
    fn drop(&mut self) {
        let writer = self.writer.get_mut().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(mut w) = writer {
            w.queue.next.lock().unwrap_or_else(|p| p.into_inner()).1 = true;
            w.queue.wake.notify_one();
            if let Some(thread) = w.thread.take() {
                let _ = thread.join();
            }
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
    /// The sequence number this process last wrote: a commit that did not
    /// move the head writes nothing.
    written: Arc<AtomicI64>,
    /// A keychain anchor is moved by a thread of its own, started at the
    /// first commit: a Secret Service write (gnome-keyring saves its file)
    /// takes about 2 ms, which every audited use would otherwise wait for.
    /// It writes the newest head it was given (the ones in between are
    /// never needed) and is finished before the vault closes.
    writer: Mutex<Option<Writer>>,
}

#[derive(Debug)]
struct Writer {
    queue: Arc<Queue>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The newest head waiting to be written, and whether the vault closes.
#[derive(Debug, Default)]
struct Queue {
    next: Mutex<(Option<Head>, bool)>,
    wake: Condvar,
}

#[derive(Debug, Clone)]
enum Place {
    Keychain { vault_id: String },
    File { path: PathBuf },
}

impl Anchor {
    pub(crate) fn keychain(vault_id: &str) -> Anchor {
        Anchor::at(Place::Keychain {
            vault_id: vault_id.to_owned(),
        })
    }

    pub(crate) fn file(dir: &Path) -> Anchor {
        Anchor::at(Place::File {
            path: dir.join(ANCHOR_FILE),
        })
    }

    fn at(place: Place) -> Anchor {
        Anchor {
            place,
            written: Arc::new(AtomicI64::new(-1)),
            writer: Mutex::new(None),
        }
    }

    /// A second handle on the same place (`Vault::reopen`).
    pub(crate) fn duplicate(&self) -> Anchor {
        Anchor::at(self.place.clone())
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

    /// Records `head` as the newest the vault has reached.
    pub(crate) fn save(&self, head: &Head) -> Result<()> {
        let text = head.to_text();
        match &self.place {
            Place::Keychain { vault_id } => crate::keychain::store_anchor(vault_id, &text)?,
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
        match &self.place {
            Place::Keychain { vault_id } => self.hand_to_writer(vault_id, h),
            Place::File { .. } => {
                let _ = self.save(&h);
            }
        }
    }

    /// Gives the writer thread the newest head (starting it if need be);
    /// written here and now if no thread can be started.
    fn hand_to_writer(&self, vault_id: &str, h: Head) {
        let mut writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        if writer.is_none() {
            let queue = Arc::new(Queue::default());
            let (q, written, id) = (Arc::clone(&queue), Arc::clone(&self.written), vault_id.to_owned());
            match std::thread::Builder::new()
                .name("keywarden-anchor".into())
                .spawn(move || write_heads(&q, &written, &id))
            {
                Ok(thread) => {
                    *writer = Some(Writer {
                        queue,
                        thread: Some(thread),
                    })
                }
                Err(_) => {
                    let _ = self.save(&h);
                    return;
                }
            }
        }
        if let Some(w) = writer.as_ref() {
            let mut next = w.queue.next.lock().unwrap_or_else(|p| p.into_inner());
            if next.0.as_ref().is_none_or(|queued| h.seq > queued.seq) {
                next.0 = Some(h);
            }
            w.queue.wake.notify_one();
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
