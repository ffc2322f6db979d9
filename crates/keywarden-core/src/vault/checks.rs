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
    /// This check put the credential in `error`: the "reconnection
    /// required" notice it added (to show natively, and to alert on).
    pub notice: Option<crate::Notice>,
}

/// A check under way: the secret taken out of the vault (an audited use),
/// to be checked without holding the vault, so the app stays usable while
/// a provider takes its time to answer.
pub struct PendingCheck {
    row: Row,
    integration: Option<Integration>,
    secrets: SecretFields,
    scheduled: bool,
}

/// A check that ran, to be recorded by `Vault::finish_check`.
pub struct FinishedCheck {
    row: Row,
    result: std::result::Result<Verdict, validate::Rejection>,
    validator_offline: bool,
    scheduled: bool,
}

impl PendingCheck {
    pub fn credential_id(&self) -> Uuid {
        self.row.id
    }

    /// Asks the provider (or the offline checks); the secret is dropped
    /// (zeroized) before this returns.
    pub fn run(self, validator: &dyn Validator) -> FinishedCheck {
        let result = validate_with(&self.row, self.integration.as_ref(), &self.secrets, validator);
        FinishedCheck {
            row: self.row,
            result,
            validator_offline: validator.is_offline(),
            scheduled: self.scheduled,
        }
    }
}

impl Vault {
    /// Checks the current secret with `validator` (a live connector, or
    /// `OfflineValidator`) and records the verdict. The secret is fetched
    /// like any use (audited, refused while disabled). A pass sets
    /// `last_validated_at` and clears an `error` status; an authentication
    /// failure counts toward the threshold that puts the credential in
    /// `error` ("reconnection required", with a notice). The check itself
    /// is audited as `credential.check` with its verdict.
    pub fn check_credential(&mut self, reference: &str, validator: &dyn Validator) -> Result<CheckReport> {
        let pending = self.begin_check(reference, false)?;
        let finished = pending.run(validator);
        self.finish_check(finished)
    }

    /// The first step of a check: the current secret, taken as an audited
    /// use. `scheduled`: the scheduler asked, not a person.
    pub fn begin_check(&mut self, reference: &str, scheduled: bool) -> Result<PendingCheck> {
        let purpose = if scheduled {
            "scheduled connection check"
        } else {
            "connection check"
        };
        let secrets = self.use_secret(reference, purpose)?;
        let row = creds::get(&self.conn, reference)?;
        let integration = row
            .integration_id
            .map(|id| store::integrations::get(&self.conn, &id.to_string()))
            .transpose()?;
        Ok(PendingCheck {
            row,
            integration,
            secrets,
            scheduled,
        })
    }

    /// Records a check that ran (see `check_credential`). A verdict about a
    /// version that stopped being current meanwhile is kept in the history
    /// but changes nothing.
    pub fn finish_check(&mut self, done: FinishedCheck) -> Result<CheckReport> {
        let FinishedCheck {
            row,
            result,
            validator_offline,
            scheduled,
        } = done;
        let renewed = match &result {
            Ok(v) => v.renewed.clone().map(|r| (r, v.expires_at)),
            Err(_) => None,
        };
        let now = self.now();
        let mut check = check_of(&row, result, validator_offline, now);
        check.scheduled = scheduled;
        let threshold = self.auth_failure_threshold();
        let recorded = self.write(|tx| record_check(tx, &row, &check, threshold, now))?;
        // The provider issued a successor (a rotated refresh token) and
        // spent the old one: store it now, as a rotation it already passed.
        if let Some((renewed, expires_at)) = renewed {
            self.store_issued(&row.id.to_string(), renewed.fields(), expires_at)?;
        }
        let notice = match recorded.notice {
            Some(id) => store::notices::get(&self.conn, id)?
                .map(crate::expiry::notice_of)
                .transpose()?,
            None => None,
        };
        Ok(CheckReport {
            credential: row.name,
            check,
            consecutive_auth_failures: recorded.failures,
            status: recorded.status,
            reconnection_required: recorded.status == Status::Error,
            notice,
        })
    }

    /// The latest checks of a credential, newest first.
    pub fn recent_checks(&self, reference: &str, limit: u32) -> Result<Vec<Check>> {
        let row = creds::get(&self.conn, reference)?;
        store::checks::recent(&self.conn, row.id, limit)
    }

    /// A credential's uses and checks per UTC day over the last `days`
    /// days, today included, every day listed (the credential page's
    /// chart): counted in the database, whatever their number.
    pub fn activity(&self, reference: &str, days: u32) -> Result<Vec<DayActivity>> {
        let row = creds::get(&self.conn, reference)?;
        let today = self.clock.now().date();
        let first = today - time::Duration::days(i64::from(days.max(1)) - 1);
        let since = first.to_string();
        let uses: std::collections::HashMap<String, u64> =
            store::audit::per_day(&self.conn, &row.id.to_string(), "credential.use", &since)?
                .into_iter()
                .collect();
        let checks: std::collections::HashMap<String, (u32, u32)> = store::checks::per_day(&self.conn, row.id, &since)?
            .into_iter()
            .map(|(d, ok, failed)| (d, (ok, failed)))
            .collect();
        Ok((0..i64::from(days.max(1)))
            .map(|i| {
                let day = (first + time::Duration::days(i)).to_string();
                let (checks_passed, checks_failed) = checks.get(&day).copied().unwrap_or((0, 0));
                DayActivity {
                    uses: uses.get(&day).copied().unwrap_or(0),
                    checks_passed,
                    checks_failed,
                    day,
                }
            })
            .collect())
    }
}

/// One UTC day of a credential's life: how often it was used and checked.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DayActivity {
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub uses: u64,
    pub checks_passed: u32,
    pub checks_failed: u32,
}

/// Asks `validator` about a credential's secret, as its integration sees
/// it (tenant included).
pub(super) fn validate_with(
    row: &Row,
    integration: Option<&Integration>,
    secrets: &SecretFields,
    validator: &dyn Validator,
) -> std::result::Result<Verdict, validate::Rejection> {
    let candidate = Candidate {
        credential_name: &row.name,
        kind: row.kind,
        config: &row.config,
        secrets,
        integration,
    };
    validate::run(validator, &candidate).and_then(|v| same_tenant(v, integration))
}

/// Adds the "reconnection required" notice of a credential that just went
/// into `error`, in the caller's write; its id.
/// `params` are the values `why` is made of: `cause` ("checks": `failures`
/// in a row, or "refresh") and the failure's `code`.
pub(crate) fn reconnection_notice(
    tx: &WriteTx<'_>,
    row: &Row,
    why: &str,
    params: &[(&'static str, String)],
    now: OffsetDateTime,
) -> Result<Option<i64>> {
    let summary = format!("{} needs to be reconnected", row.name);
    let used_by = row
        .integration_name
        .as_deref()
        .map(|i| format!("The {i} integration cannot sign in. "))
        .unwrap_or_default();
    let body = format!(
        "{used_by}{why}. Choose Update Credentials (or Re-authorize) with a working credential; until then every \
         workflow using it fails."
    );
    store::notices::insert(
        tx,
        &store::notices::NewNotice {
            credential_id: Some(row.id),
            partner_key_id: None,
            version: row.current_version,
            kind: crate::NoticeKind::ReconnectionRequired.as_str(),
            threshold_days: 0,
            expires_at: None,
            due_at: now,
            fired_at: now,
            credential_name: &row.name,
            integration: row.integration_name.as_deref(),
            summary: &summary,
            body: &body,
            params,
            dedupe: &format!("reconnection_required|{}|{}", row.id, timefmt::to_db(now)),
        },
    )
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
        scheduled: false,
        outcome,
    }
}

/// Records `check` of credential `row` in the caller's write: the check
/// row, the credential's validation date, status and expiry, and the
/// `credential.check` event, and the notice when it puts the credential
/// in `error`. A check of a version no longer current is history only.
fn record_check(
    tx: &mut WriteTx<'_>,
    row: &Row,
    check: &Check,
    threshold: u32,
    now: OffsetDateTime,
) -> Result<Recorded> {
    store::checks::insert(tx, row.id, check)?;
    let mut fresh = creds::get(tx, &row.id.to_string())?;
    let current = fresh.current_version == check.version;
    let failures = store::checks::consecutive_auth_failures(tx, row.id, check.version)?;
    let was = fresh.status;
    let label = match (check.scheduled, check.offline) {
        (true, _) => "scheduled live",
        (false, true) => "offline",
        (false, false) => "live",
    };
    let (outcome, detail) = match &check.outcome {
        CheckOutcome::Valid { verdict } => {
            if !check.offline && current {
                fresh.last_validated_at = Some(now);
                // Confirmed by the provider: off the check list.
                reminders::clear(tx, row.id, ReminderKind::Unchecked)?;
            }
            if fresh.status == Status::Error && !check.offline && current {
                fresh.status = Status::Active;
            }
            // The provider's word on expiry is kept; a date a person
            // entered gives way only to an earlier one.
            if let (false, true, Some(t)) = (check.offline, current, verdict.expires_at) {
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
            if failure.is_auth_failure() && failures >= threshold && fresh.status == Status::Active && current {
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
    let notice = if was != Status::Error && fresh.status == Status::Error {
        let code = check.outcome.code();
        let why = format!("{failures} live checks in a row were refused ({code})");
        let params = [
            ("cause", "checks".to_owned()),
            ("failures", failures.to_string()),
            ("code", code.to_string()),
        ];
        reconnection_notice(tx, &fresh, &why, &params, now)?
    } else {
        None
    };
    Ok(Recorded {
        status: fresh.status,
        failures,
        notice,
    })
}

/// What recording a check changed.
struct Recorded {
    status: Status,
    failures: u32,
    notice: Option<i64>,
}
