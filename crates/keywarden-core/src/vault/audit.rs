//! The audit log as the vault offers it: listing, verifying, exporting,
//! recording outside events, and the whole-vault integrity check.

#[allow(unused_imports)]
use super::*;

/// What `check_integrity` found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IntegrityReport {
    pub ok: bool,
    /// Database pages whose MAC was verified.
    pub pages: u64,
    pub audit_events: u64,
    /// Sealed values that opened: secret fields, partner keys awaiting
    /// delivery, cached access tokens.
    pub sealed_values: u64,
    /// What is wrong, one line each (damaged pages, broken structure, the
    /// first bad audit event, a value that does not open); no secret.
    pub problems: Vec<String>,
}

/// SQLCipher's check (one row per page whose MAC fails), then SQLite's
/// structure check when every page is intact.
pub(crate) fn page_problems(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare("PRAGMA cipher_integrity_check")?;
    let mut problems: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    if problems.is_empty() {
        let mut stmt = conn.prepare("PRAGMA integrity_check")?;
        let rows: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
        problems.extend(rows.into_iter().filter(|r| r != "ok"));
    }
    Ok(problems)
}

impl Vault {
    pub fn audit_events(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>> {
        store::audit::list(&self.conn, filter)
    }

    pub fn audit_count(&self) -> Result<u64> {
        store::audit::count(&self.conn)
    }

    pub fn verify_audit(&self) -> Result<AuditReport> {
        store::audit::verify(&self.conn, &self.keys.audit)
    }

    /// Reads the whole vault, without writing anything: every page's MAC
    /// (a damaged page anywhere, even one no command has read yet), the
    /// database structure, the audit chain, and every sealed value opens.
    /// What `kw check` and the support bundle rely on.
    /// The whole check reads one snapshot: another program's write or
    /// data-key rotation meanwhile must not look like damage.
    pub fn check_integrity(&self) -> Result<IntegrityReport> {
        self.read(|conn| {
            let pages: u64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
            let mut problems = page_problems(conn)?;
            let audit = if problems.is_empty() {
                let report = store::audit::verify(conn, &self.keys.audit)?;
                if !report.ok {
                    problems.push(format!(
                        "the audit chain fails at event {}: {}",
                        report.first_bad_seq.unwrap_or(0),
                        report.problem.clone().unwrap_or_default()
                    ));
                }
                report.events
            } else {
                0
            };
            let mut opened = 0;
            if problems.is_empty() {
                let mut keys = HashMap::new();
                for v in sealed_values::all(conn)? {
                    let key = key_for_in(conn, &self.keys.dek_wrap, self.header.vault_id, &mut keys, &v.sealed);
                    match key.and_then(|key| Ok(sealed::open(&key.key, &v.slot(), &v.sealed)?)) {
                        Ok(_) => opened += 1,
                        Err(_) => problems.push(format!("{} does not open", v.describe())),
                    }
                }
            }
            Ok(IntegrityReport {
                ok: problems.is_empty(),
                pages,
                audit_events: audit,
                sealed_values: opened,
                problems,
            })
        })
    }

    /// The events for an export, itself recorded as `audit.export`.
    pub fn export_audit(&mut self, filter: &AuditFilter) -> Result<Vec<AuditEvent>> {
        let events = store::audit::list(&self.conn, filter)?;
        let id = self.header.vault_id;
        let detail = format!("{} events", events.len());
        self.write(|tx| tx.audit(ev("audit.export", "vault", Some(id), None, Outcome::Success, detail)))?;
        Ok(events)
    }

    /// Records an event for something outside the vault's own operations
    /// (the desktop app's clipboard copy, a CLI `run`).
    pub fn record(
        &mut self,
        action: &str,
        object_kind: &str,
        object: Option<&str>,
        outcome: Outcome,
        detail: &str,
    ) -> Result<()> {
        self.write(|tx| {
            tx.audit(ev(action, object_kind, None, object, outcome, detail))
                .map(|_| ())
        })
    }
}

impl Vault {
    /// Verifies an audit stream (`kw audit verify --stream`): each line's
    /// MAC under this vault's audit key, the sequence and the chain, and
    /// where the stream joins this vault's log.
    /// Verifies the stream file at `path`, read under its lock (shared):
    /// no commit is between its database write and its lines meanwhile, so
    /// the vault's newest event and the file's last line agree.
    pub fn verify_audit_stream_file(&self, path: &Path) -> Result<crate::audit_stream::StreamReport> {
        let text = crate::audit_stream::read_locked(path)?;
        Ok(self.verify_audit_stream(&text))
    }

    pub fn verify_audit_stream(&self, text: &str) -> crate::audit_stream::StreamReport {
        let head = crate::anchor::head(&self.conn).ok().flatten().map_or(0, |h| h.seq);
        crate::audit_stream::verify(
            &self.keys.audit,
            text,
            |seq| {
                let before = seq.checked_sub(1)?;
                store::audit::mac_of(&self.conn, before).ok().flatten()
            },
            head,
        )
    }
}
