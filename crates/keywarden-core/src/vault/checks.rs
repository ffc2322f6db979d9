//! Live connection checks of a stored credential and their history.

#[allow(unused_imports)]
use super::*;

/// What `check_credential` found and what it changed.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CheckReport {
    pub credential: String,
    pub check: Check,
    pub consecutive_auth_failures: u32,
    pub status: Status,
    /// The credential is in `error`: it must be reconnected (a new secret).
    pub reconnection_required: bool,
}

impl Vault {
    /// Checks the current secret with `validator` (a live connector, or
    /// `OfflineValidator`) and records the verdict. The secret is fetched
    /// like any use (audited, refused while disabled). A pass sets
    /// `last_validated_at` and clears an `error` status; an authentication
    /// failure counts toward the threshold that puts the credential in
    /// `error` ("reconnection required"). The check itself is audited as
    /// `credential.check` with its verdict.
    pub fn check_credential(&mut self, reference: &str, validator: &dyn Validator) -> Result<CheckReport> {
        let secrets = self.use_secret(reference, "connection check")?;
        let row = creds::get(&self.conn, reference)?;
        let result = self.validate_for(&row, &secrets, validator)?;
        drop(secrets);
        let renewed = match &result {
            Ok(v) => v.renewed.clone().map(|r| (r, v.expires_at)),
            Err(_) => None,
        };
        let now = self.now();
        let check = check_of(&row, result, validator.is_offline(), now);
        let threshold = self.auth_failure_threshold();
        let (status, failures) = self.write(|tx| record_check(tx, &row, &check, threshold, now))?;
        // The provider issued a successor (a rotated refresh token) and
        // spent the old one: store it now, as a rotation it already passed.
        if let Some((renewed, expires_at)) = renewed {
            self.store_issued(&row.id.to_string(), renewed.fields(), expires_at)?;
        }
        Ok(CheckReport {
            credential: row.name,
            check,
            consecutive_auth_failures: failures,
            status,
            reconnection_required: status == Status::Error,
        })
    }

    /// The latest checks of a credential, newest first.
    pub fn recent_checks(&self, reference: &str, limit: u32) -> Result<Vec<Check>> {
        let row = creds::get(&self.conn, reference)?;
        store::checks::recent(&self.conn, row.id, limit)
    }
}

/// The check a verdict makes. Offline, the stored expiry is the best
/// knowledge there is: past it, an offline pass is an expiry.
fn check_of(
    row: &Row,
    result: std::result::Result<Verdict, validate::Rejection>,
    validator_offline: bool,
    now: OffsetDateTime,
) -> Check {
    let result = match result {
        Ok(v) if v.offline && row.expires_at.is_some_and(|e| e <= now) => {
            Err(validate::Rejection::new(Failure::Expired {
                detail: format!(
                    "offline: the credential's expiry date {} has passed",
                    row.expires_at
                        .map(|e| timefmt::to_db(e)[..10].to_owned())
                        .unwrap_or_default()
                ),
            }))
        }
        other => other,
    };
    let (outcome, offline) = match result {
        Ok(verdict) => {
            let offline = verdict.offline;
            (CheckOutcome::Valid { verdict }, offline)
        }
        // A refusal from the offline checks is itself offline.
        Err(rejection) => {
            let offline = validator_offline;
            (
                CheckOutcome::Failed {
                    failure: rejection.failure,
                },
                offline,
            )
        }
    };
    Check {
        version: row.current_version,
        checked_at: now,
        offline,
        outcome,
    }
}

/// Records `check` of credential `row` in the caller's write: the check
/// row, the credential's validation date, status and expiry, and the
/// `credential.check` event. Returns the status and the consecutive
/// authentication failures.
fn record_check(
    tx: &mut WriteTx<'_>,
    row: &Row,
    check: &Check,
    threshold: u32,
    now: OffsetDateTime,
) -> Result<(Status, u32)> {
    store::checks::insert(tx, row.id, check)?;
    let failures = store::checks::consecutive_auth_failures(tx, row.id)?;
    let mut fresh = creds::get(tx, &row.id.to_string())?;
    let label = if check.offline { "offline" } else { "live" };
    let (outcome, detail) = match &check.outcome {
        CheckOutcome::Valid { verdict } => {
            if !check.offline {
                fresh.last_validated_at = Some(now);
                // Confirmed by the provider: off the check list.
                reminders::clear(tx, row.id, ReminderKind::Unchecked)?;
            }
            if fresh.status == Status::Error && !check.offline {
                fresh.status = Status::Active;
            }
            // The provider's word on expiry is kept; a date a person
            // entered gives way only to an earlier one.
            if let (false, Some(t)) = (check.offline, verdict.expires_at) {
                let user_set = fresh.expiry_source == Some(ExpirySource::User);
                if fresh.expires_at != Some(t) && (!user_set || fresh.expires_at.is_none_or(|e| t < e)) {
                    fresh.expires_at = Some(t);
                    fresh.expiry_source = Some(ExpirySource::Provider);
                }
            }
            let tenant = verdict
                .tenant_id
                .as_deref()
                .map(|t| format!(", tenant {t}"))
                .unwrap_or_default();
            (Outcome::Success, format!("{label} check passed{tenant}"))
        }
        CheckOutcome::Failed { failure } => {
            if failure.is_auth_failure() && failures >= threshold && fresh.status == Status::Active {
                fresh.status = Status::Error;
            }
            (
                Outcome::Failure,
                format!(
                    "{label} check failed ({}): {}; {failures} consecutive authentication failure(s)",
                    failure.code(),
                    failure.message()
                ),
            )
        }
    };
    fresh.updated_at = now;
    creds::upsert(tx, &mut fresh)?;
    tx.audit(ev(
        "credential.check",
        "credential",
        Some(row.id),
        Some(&fresh.name),
        outcome,
        detail,
    ))?;
    Ok((fresh.status, failures))
}
