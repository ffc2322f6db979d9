//! "Pleo API is due for rotation": a notice (and an alert, for the
//! channels carrying `rotation_due`) once per credential version when it
//! reaches its rotation policy's age (its own, its integration's, else the
//! vault's, held to the policy's maximum). The dashboard already shows the
//! status; this says it once, where the team hears it.
//!
//! The check reads every active credential (a few milliseconds for
//! thousands), so the app runs it at most hourly and when it is due;
//! `kw expiry check` runs it each time.

#[allow(unused_imports)]
use super::*;

/// id, name, integration, version, rotated_at, own and integration max age.
type RotationRow = (
    String,
    String,
    Option<String>,
    u32,
    Option<String>,
    Option<u32>,
    Option<u32>,
);

/// What one run fired, and when the next credential comes due.
#[derive(Debug, Default)]
pub struct RotationNoticeRun {
    pub fired: Vec<crate::Notice>,
    pub next_due: Option<OffsetDateTime>,
}

impl Vault {
    pub fn run_rotation_notices(&mut self) -> Result<RotationNoticeRun> {
        let clock = self.clock();
        let now = clock.now;
        let rows: Vec<RotationRow> = {
            let mut stmt = self.conn.prepare_cached(
                "SELECT c.id, c.name, i.name, c.current_version, c.rotated_at, c.max_age_days, i.max_age_days
                   FROM credentials c LEFT JOIN integrations i ON i.id = c.integration_id
                  WHERE c.status = 'active' AND c.current_version > 0 AND c.rotated_at IS NOT NULL",
            )?;
            stmt.query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })?
            .collect::<rusqlite::Result<_>>()?
        };
        let mut due_now = Vec::new();
        let mut next_due: Option<OffsetDateTime> = None;
        for (id, name, integration, version, rotated_at, own, integ) in rows {
            let Some(due) = creds::rotation_due_at(timefmt::opt_from_db(rotated_at)?, own, integ, clock) else {
                continue;
            };
            if due <= now {
                due_now.push((creds::uuid(&id)?, name, integration, version, due));
            } else if next_due.is_none_or(|n| due < n) {
                next_due = Some(due);
            }
        }
        if due_now.is_empty() {
            return Ok(RotationNoticeRun {
                fired: Vec::new(),
                next_due,
            });
        }
        let ids = self.write(|tx| {
            let mut ids = Vec::new();
            for (id, name, integration, version, due) in &due_now {
                ids.extend(rotation_notice(
                    tx,
                    *id,
                    name,
                    integration.as_deref(),
                    *version,
                    *due,
                    now,
                )?);
            }
            Ok(ids)
        })?;
        let mut fired = Vec::new();
        for id in ids {
            if let Some(r) = store::notices::get(&self.conn, id)? {
                fired.push(crate::expiry::notice_of(r)?);
            }
        }
        Ok(RotationNoticeRun { fired, next_due })
    }
}

/// The notice of one credential version (once: its dedupe names the
/// version), audited when it is new.
fn rotation_notice(
    tx: &WriteTx<'_>,
    id: Uuid,
    name: &str,
    integration: Option<&str>,
    version: u32,
    due: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<Option<i64>> {
    let used_by = integration.map(|i| format!(" (used by {i})")).unwrap_or_default();
    let due_day = timefmt::to_db(due);
    let due_day = due_day.get(..10).unwrap_or(&due_day).to_owned();
    let added = store::notices::insert(
        tx,
        &store::notices::NewNotice {
            credential_id: Some(id),
            partner_key_id: None,
            version,
            kind: crate::NoticeKind::RotationDue.as_str(),
            threshold_days: 0,
            expires_at: None,
            due_at: due,
            fired_at: now,
            credential_name: name,
            integration,
            summary: &format!("{name} is due for rotation"),
            body: &format!(
                "{name}{used_by} reached its rotation policy's age on {due_day} (UTC). Choose Update Credentials with a new \
                 secret from the provider; the old one keeps working until it is swapped."
            ),
            params: &[("due", due_day.clone())],
            dedupe: &format!("rotation_due|{id}|{version}"),
        },
    )?;
    if added.is_some() {
        tx.audit(ev(
            "notice.fire",
            "credential",
            Some(id),
            Some(name),
            Outcome::Success,
            format!("rotation-due notice for version {version}"),
        ))?;
    }
    Ok(added)
}
