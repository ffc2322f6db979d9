//! Many credentials at once: bulk adds and imports from other tools,
//! checked whole before anything is written.

#[allow(unused_imports)]
use super::*;

/// Every credential of an import checked (names against the vault,
/// formats, policy), the problems gathered with their place in the file,
/// up to 20; the organisation's policy refuses at once, as such.
pub(super) fn check_plan(
    conn: &Connection,
    policy: &crate::policy::Policy,
    plan: &[crate::migrate::Planned],
    progress: &mut dyn FnMut(usize),
) -> Result<Vec<Checked>> {
    let mut checked = Vec::with_capacity(plan.len());
    let mut problems = Vec::new();
    for (i, p) in plan.iter().enumerate() {
        progress(i);
        match check_new_credential(conn, policy, &p.credential) {
            Ok(c) => checked.push(c),
            // The organisation's rule, not the file, decides: said as such.
            Err(Error::ManagedByPolicy { setting, detail }) => {
                // The provider column's word is not repeated: in a file
                // whose columns are mislabelled it may be a secret.
                let detail = if setting == "allowed_providers" {
                    "its provider is not one your organization allows (`kw policy show` lists them)".to_owned()
                } else {
                    detail
                };
                return Err(Error::ManagedByPolicy {
                    setting,
                    detail: format!("{} ('{}'): {detail}", p.place, p.credential.name),
                });
            }
            Err(Error::Duplicate { name, .. }) => problems.push(format!(
                "{}: the vault already has a credential named '{name}' (was this file imported before?); rename the entry or delete the vault's",
                p.place
            )),
            // A word check quotes the word; in a file whose columns are
            // mislabelled that word may be a secret, so it is not repeated.
            Err(Error::InvalidInput { field, .. })
                if matches!(field.as_str(), "tag" | "provider" | "environment" | "token_url")
                    || field.ends_with("field name") =>
            {
                problems.push(format!(
                    "{} ('{}'): its {field} is not valid: use 1 to 64 letters, digits, '-', '_' or '.' (a URL for token_url); is that column the one its heading says?",
                    p.place, p.credential.name
                ))
            }
            Err(e) => problems.push(format!("{} ('{}'): {e}", p.place, p.credential.name)),
        }
        if problems.len() >= 20 {
            break;
        }
    }
    if problems.is_empty() {
        Ok(checked)
    } else {
        Err(Error::ImportFile { problems })
    }
}

/// How far an import is, in steps: each credential is checked, then
/// written, so there are twice as many steps as credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportProgress {
    pub done: usize,
    pub total: usize,
}

impl ImportProgress {
    fn checking(checked: usize, of: usize) -> Self {
        ImportProgress {
            done: checked,
            total: 2 * of,
        }
    }

    fn writing(written: usize, of: usize) -> Self {
        ImportProgress {
            done: of + written,
            total: 2 * of,
        }
    }
}

/// Many credentials added in one transaction are indexed for search by one
/// statement at the end instead of by the insert trigger row by row: FTS5
/// flushes its pending index at every statement savepoint, so a trigger
/// per row wrote thousands of one-row segments and merged them again (a
/// quarter of a 10,000-credential import, measured for issue 11). The
/// trigger is dropped and recreated, from its own stored SQL, inside the
/// caller's transaction: an error rolls the schema back with the rows.
pub(super) struct SearchIndexDeferred {
    trigger_sql: String,
    rowids_above: i64,
}

impl SearchIndexDeferred {
    const TRIGGER: &'static str = "credentials_search_insert";

    pub(super) fn begin(tx: &Transaction) -> Result<Self> {
        let trigger_sql: String = tx.query_row(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?1",
            [Self::TRIGGER],
            |r| r.get(0),
        )?;
        let rowids_above: i64 = tx.query_row("SELECT coalesce(max(rowid), 0) FROM credentials", [], |r| r.get(0))?;
        tx.execute_batch(&format!("DROP TRIGGER {}", Self::TRIGGER))?;
        Ok(Self {
            trigger_sql,
            rowids_above,
        })
    }

    pub(super) fn finish(self, tx: &Transaction) -> Result<()> {
        tx.execute(
            "INSERT INTO credential_search(rowid, search_text) SELECT rowid, search_text FROM credentials WHERE rowid > ?1",
            [self.rowids_above],
        )?;
        tx.execute_batch(&self.trigger_sql)?;
        Ok(())
    }
}

impl Vault {
    /// Adds many credentials in one transaction (benchmarks, tests, bulk
    /// loads), all or nothing; each still gets its own audit event.
    pub fn add_credentials_bulk(&mut self, items: Vec<NewCredential>) -> Result<usize> {
        self.policy.check_unvalidated_save()?;
        let n = items.len();
        if items.is_empty() {
            // Nothing to write, and no event to record.
            return Ok(0);
        }
        let policy = self.policy.clone();
        self.write(|w| {
            let deferred = SearchIndexDeferred::begin(w.transaction())?;
            for new in items {
                insert_new_credential(w, &policy, new, &Acceptance::NotChecked(BULK))?;
            }
            deferred.finish(w.transaction())
        })?;
        self.rotate_data_key_if_worn();
        Ok(n)
    }

    /// The checks of `import_credentials`, writing nothing (`kw credential
    /// import --dry-run`).
    pub fn check_import(&self, plan: &[crate::migrate::Planned]) -> Result<()> {
        self.policy.check_unvalidated_save()?;
        check_plan(&self.conn, &self.policy, plan, &mut |_| {}).map(|_| ())
    }

    /// Imports what `migrate::parse` read from another tool's export. Every
    /// credential is checked first (names against the vault, formats,
    /// policy) and the problems reported with their place in the file; then
    /// all are written in one transaction, each with its own sealed secret
    /// and `credential.add` event, closed by one `credential.import` event
    /// naming the format and the count. All or nothing.
    pub fn import_credentials(&mut self, plan: Vec<crate::migrate::Planned>, origin: &str) -> Result<usize> {
        self.import_credentials_reporting(plan, origin, &mut |_| {})
    }

    /// `import_credentials`, saying how far it is: `progress` is called
    /// with `ImportProgress` as each credential is checked, then as each is
    /// written (the app's progress bar). Nothing is committed before the
    /// last, so a bar at 100 % still means all or nothing.
    pub fn import_credentials_reporting(
        &mut self,
        plan: Vec<crate::migrate::Planned>,
        origin: &str,
        progress: &mut dyn FnMut(ImportProgress),
    ) -> Result<usize> {
        self.policy.check_unvalidated_save()?;
        let n = plan.len();
        let policy = self.policy.clone();
        let vault_id = self.header.vault_id;
        let uses: u64 = plan.iter().map(|p| p.credential.secrets.len() as u64).sum();
        self.write(|w| {
            // Checked once, inside the writing transaction: no other
            // program can take a name between the check and the write.
            let pre = check_plan(w, &policy, &plan, &mut |done| {
                progress(ImportProgress::checking(done, n))
            })?;
            let deferred = SearchIndexDeferred::begin(w.transaction())?;
            for (i, (p, c)) in plan.into_iter().zip(pre).enumerate() {
                progress(ImportProgress::writing(i, n));
                write_new_credential(w, p.credential, c, &Acceptance::Imported(origin), false)?;
            }
            progress(ImportProgress::writing(n, n));
            w.count_seals(uses)?;
            deferred.finish(w.transaction())?;
            w.audit(ev(
                "credential.import",
                "vault",
                Some(vault_id),
                None,
                Outcome::Success,
                format!("{n} credential{} from a {origin} file", if n == 1 { "" } else { "s" }),
            ))
        })?;
        self.rotate_data_key_if_worn();
        Ok(n)
    }
}
