//! The one way to change a vault: a [`WriteTx`] bundles the transaction,
//! the actor, the time and the keys a change may use. It is the only place
//! an audit event is appended, and [`Vault::write`] commits a change only
//! when it recorded at least one event: "every change is audited" is a
//! property of the type, not of each call site. The few writes that record
//! no event of their own (counters, caches, notice state) say which kind
//! they are with [`Unaudited`].

use std::cell::Cell;
use std::ops::Deref;

#[allow(unused_imports)]
use super::*;

/// A write that may commit without an audit event, and why that is right.
/// Events it does record are recorded as in any write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unaudited {
    /// When expiry notices are due, and whether one was read or dismissed:
    /// each notice is audited when it fires.
    NoticeState,
    /// When and how often partner keys were used: the verifier's counters.
    /// An anomaly they reveal is audited.
    UsageCounters,
    /// A pending version replaced by the successor the provider issued
    /// while checking it: the swap that follows is audited, and so is its
    /// failure.
    PendingRenewed,
    /// Which program is refreshing an access token right now: the refresh
    /// itself is audited (`credential.refresh`).
    RefreshLease,
    /// Which program is checking against a provider right now: the check
    /// itself is audited (`credential.check`).
    CheckLease,
    /// Which program is delivering an alert right now: the delivery is
    /// audited (`alert.sent` / `alert.failed`).
    AlertClaim,
}

/// One transaction on the vault with what a change needs at hand.
pub(crate) struct WriteTx<'v> {
    tx: Transaction<'v>,
    keys: &'v Keyring,
    actor: &'v Actor,
    vault_id: Uuid,
    now: OffsetDateTime,
    /// The data key new values are sealed under, read in this transaction
    /// the first time one is sealed (see [`sealing_key`]).
    dek: Option<DataKey>,
    events: Cell<u32>,
    /// The first and last audit events this write recorded (the stream's
    /// lines).
    seqs: Cell<Option<(i64, i64)>>,
    /// Rows changed on the connection before this write began: a write
    /// that changed none (it found nothing to do) needs no event.
    changes_before: u64,
}

/// Store functions take the connection: a `WriteTx` is one.
impl Deref for WriteTx<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.tx
    }
}

impl<'v> WriteTx<'v> {
    /// Begins a write on `conn` (the vault's, or a vault's being created).
    pub(super) fn begin(
        conn: &'v mut Connection,
        keys: &'v Keyring,
        actor: &'v Actor,
        vault_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<WriteTx<'v>> {
        let changes_before = conn.total_changes();
        Ok(WriteTx {
            tx: conn.transaction()?,
            keys,
            actor,
            vault_id,
            now,
            dek: None,
            events: Cell::new(0),
            seqs: Cell::new(None),
            changes_before,
        })
    }

    /// Appends `event` to the audit chain, in this transaction.
    pub(crate) fn audit(&self, event: NewEvent<'_>) -> Result<i64> {
        let seq = store::audit::append(&self.tx, &self.keys.audit, self.actor, event)?;
        self.events.set(self.events.get() + 1);
        let first = self.seqs.get().map_or(seq, |(first, _)| first);
        self.seqs.set(Some((first, seq)));
        Ok(seq)
    }

    /// The time this change happens at.
    pub(crate) fn now(&self) -> OffsetDateTime {
        self.now
    }

    /// The data key new values are sealed under.
    pub(crate) fn data_key(&mut self) -> Result<&DataKey> {
        if self.dek.is_none() {
            self.dek = Some(sealing_key(&self.tx, self.keys, self.vault_id)?);
        }
        self.dek.as_ref().ok_or(Error::Decryption)
    }

    /// Seals `plain` for `slot` under the current data key, counting the use.
    pub(crate) fn seal(&mut self, slot: &FieldSlot<'_>, plain: &[u8]) -> Result<Vec<u8>> {
        self.data_key()?;
        let dek = self.dek.as_ref().ok_or(Error::Decryption)?;
        seal_counted(&self.tx, dek, slot, plain)
    }

    /// Seals every field of `secrets` as `version` of credential `id`;
    /// returns their masks. `count` says whether the data key's uses are
    /// counted now (a bulk write counts them once, at its end).
    pub(crate) fn seal_secrets(
        &mut self,
        id: Uuid,
        version: u32,
        secrets: &SecretFields,
        count: bool,
    ) -> Result<BTreeMap<String, String>> {
        self.data_key()?;
        let dek = self.dek.as_ref().ok_or(Error::Decryption)?;
        if count {
            seal_into(&self.tx, dek, id, version, secrets)
        } else {
            seal_fields(&self.tx, dek, id, version, secrets)
        }
    }

    /// Adds `n` uses to the current data key (a bulk write's seals).
    pub(crate) fn count_seals(&mut self, n: u64) -> Result<()> {
        let id = self.data_key()?.id;
        store::data_keys::add_uses(&self.tx, id, n).map(|_| ())
    }

    /// The vault's keys, for the vault's own modules (a data-key rotation).
    pub(super) fn keys(&self) -> &'v Keyring {
        self.keys
    }

    /// The transaction itself, for what needs one (the search index).
    pub(super) fn transaction(&self) -> &Transaction<'v> {
        &self.tx
    }

    /// Commits, refusing a change that recorded no audit event unless it is
    /// one of the [`Unaudited`] kinds (a write that changed nothing has
    /// nothing to audit); then moves the rollback anchor to the audit head
    /// it committed, and writes its events to the audit stream, if any.
    /// A stream that cannot be written is said in the returned problem;
    /// the commit stands.
    pub(super) fn commit(
        self,
        unaudited: Option<Unaudited>,
        anchor: Option<&Anchor>,
        stream: Option<&crate::audit_stream::AuditStream>,
    ) -> Result<Option<String>> {
        let changed = self.tx.total_changes() != self.changes_before;
        if changed && self.events.get() == 0 && unaudited.is_none() {
            // Dropped, not committed: nothing of the change is written.
            return Err(Error::Audit(
                "a change without its audit event was refused; nothing was written".into(),
            ));
        }
        let head = crate::anchor::head(&self.tx)?;
        // The stream's lines, read in this transaction, and its lock taken
        // before the commit, so lines land in commit order.
        let streaming = match (stream, self.seqs.get()) {
            (Some(stream), Some((from, to))) => {
                let events = store::audit::stream_events(&self.tx, &self.vault_id.to_string(), from, to)?;
                Some(stream.begin().map(|w| (w, events)))
            }
            _ => None,
        };
        self.tx.commit()?;
        if let Some(anchor) = anchor {
            anchor.advance(head);
        }
        Ok(match streaming {
            Some(Ok((w, events))) => w.append(&events).err(),
            Some(Err(e)) => Some(e.to_string()),
            None => None,
        })
    }
}

impl Vault {
    /// Runs `f` as one write: committed only when `f` succeeds and recorded
    /// at least one audit event; otherwise nothing of it is written.
    pub(crate) fn write<T>(&mut self, f: impl FnOnce(&mut WriteTx<'_>) -> Result<T>) -> Result<T> {
        self.write_as(None, f)
    }

    /// A write that may commit without an audit event, for the reason
    /// `why` names.
    pub(crate) fn write_unaudited<T>(
        &mut self,
        why: Unaudited,
        f: impl FnOnce(&mut WriteTx<'_>) -> Result<T>,
    ) -> Result<T> {
        self.write_as(Some(why), f)
    }

    fn write_as<T>(&mut self, why: Option<Unaudited>, f: impl FnOnce(&mut WriteTx<'_>) -> Result<T>) -> Result<T> {
        let now = self.now();
        let mut w = WriteTx::begin(&mut self.conn, &self.keys, &self.actor, self.header.vault_id, now)?;
        let out = f(&mut w)?;
        let problem = w.commit(why, Some(&self.anchor), self.stream.as_ref())?;
        if problem.is_some() || self.stream_problem.is_some() {
            if let Some(p) = &problem {
                eprintln!("keywarden: the audit stream: {p}");
            }
            self.stream_problem = problem;
        }
        Ok(out)
    }
}
