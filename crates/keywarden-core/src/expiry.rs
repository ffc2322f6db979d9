//! Expiry notices: "Pleo API expires in 13 days".
//!
//! A credential with an expiry gets a notice at each threshold (default 60,
//! 30, 14, 7 and 1 days before; the 14-day one is always among them) and
//! one when it has expired. Each fires once per credential version and
//! expiry date:
//! - the ledger's UNIQUE key refuses a second copy, whatever the clock does
//!   (a restart, a jump back a year and forward again);
//! - each credential carries its next notice, so a threshold passed while
//!   the machine slept fires once at the next wake (catch-up), and the
//!   scheduler sleeps until the earliest `next_due`;
//! - thresholds already past when the expiry became known (a credential
//!   added 13 days before it expires) give one notice, the nearest, not a
//!   burst of 60-, 30- and 14-day ones;
//! - once the expiry itself has passed, only "expired" is said;
//! - rotating (a new version), disabling or revoking ends the old notices.
//!
//! Thresholds are whole days of 24 hours before the expiry instant, in
//! UTC: a DST change moves no notice.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::Vault;
use crate::error::{Error, Result};
use crate::model::Status;
use crate::store::audit::Outcome;
use crate::store::notices::{self, DueRow, NewNotice, NoticeRow};
use crate::timefmt;

pub const DEFAULT_THRESHOLDS: [u32; 5] = [60, 30, 14, 7, 1];
/// The seeds' promise: told 14 days ahead, whatever else is configured.
pub const REQUIRED_THRESHOLD: u32 = 14;
const THRESHOLDS_KEY: &str = "notice_thresholds";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    Expiring,
    Expired,
    /// A partner key used from an address it was never used from.
    NewSource,
    /// Many failed verifications for one application within an hour.
    FailureBurst,
    /// A partner key used far above its hourly baseline.
    UsageSpike,
    /// A partner key rotated by its policy: its successor awaits delivery.
    KeyRotated,
    /// Live checks failed authentication in a row: the credential must be
    /// reconnected (a new secret, or Re-authorize).
    ReconnectionRequired,
    /// A credential was disabled (compromised, or no longer used).
    Disabled,
    /// The organisation's policy file is broken: the strictest policy
    /// applies until IT fixes it.
    PolicyBroken,
    /// A credential reached its rotation policy's age.
    RotationDue,
}

impl NoticeKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Expiring => "expiring",
            NoticeKind::Expired => "expired",
            NoticeKind::NewSource => "new_source",
            NoticeKind::FailureBurst => "failure_burst",
            NoticeKind::UsageSpike => "usage_spike",
            NoticeKind::KeyRotated => "key_rotated",
            NoticeKind::ReconnectionRequired => "reconnection_required",
            NoticeKind::Disabled => "disabled",
            NoticeKind::PolicyBroken => "policy_broken",
            NoticeKind::RotationDue => "rotation_due",
        }
    }

    fn parse(s: &str) -> NoticeKind {
        match s {
            "expired" => NoticeKind::Expired,
            "new_source" => NoticeKind::NewSource,
            "failure_burst" => NoticeKind::FailureBurst,
            "usage_spike" => NoticeKind::UsageSpike,
            "key_rotated" => NoticeKind::KeyRotated,
            "reconnection_required" => NoticeKind::ReconnectionRequired,
            "disabled" => NoticeKind::Disabled,
            "policy_broken" => NoticeKind::PolicyBroken,
            "rotation_due" => NoticeKind::RotationDue,
            _ => NoticeKind::Expiring,
        }
    }
}

/// A notice in the notification centre: an expiry of a credential, or an
/// anomaly of a partner key. It names the credential and its integration
/// (or the key id and its application), never a secret or any part of one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Notice {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub id: i64,
    /// The credential an expiry notice is about.
    pub credential_id: Option<Uuid>,
    /// The partner key an anomaly is about.
    pub partner_key_id: Option<String>,
    /// The credential's name, or the partner key's application.
    pub credential: String,
    pub integration: Option<String>,
    pub version: u32,
    pub kind: NoticeKind,
    /// The threshold that fired (days before expiry); 0 for "expired".
    pub threshold_days: u32,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub fired_at: OffsetDateTime,
    pub summary: String,
    pub body: String,
    /// The values its text is made of, by name, for saying it in another
    /// language: `due` (rotation_due), `who` (disabled), `cause`,
    /// `failures` and `code` (reconnection_required), `problem` and `path`
    /// (policy_broken),
    /// `address` (new_source), `this_hour` and `average` (usage_spike),
    /// `failures` (failure_burst), `successor` and `old_until`
    /// (key_rotated). Never a secret. Empty for notices from before.
    #[cfg_attr(feature = "ts", ts(type = "Record<string, string>"))]
    pub params: std::collections::BTreeMap<String, String>,
    pub read: bool,
    pub dismissed: bool,
}

/// What `run_notices` did: the notices that fired now (to show natively),
/// and when the next one is due (for the scheduler's sleep).
#[derive(Debug, Clone, Default)]
pub struct NoticeRun {
    pub fired: Vec<Notice>,
    pub next_due: Option<OffsetDateTime>,
    /// Credentials looked at (due or scheduled) in this run.
    pub examined: usize,
}

/// Thresholds as the vault uses them: 1–365 days, no duplicates, largest
/// first, 14 always among them.
pub fn normalize_thresholds(days: &[u32]) -> Result<Vec<u32>> {
    if let Some(bad) = days.iter().find(|d| !(1..=365).contains(*d)) {
        return Err(Error::invalid(
            "notice thresholds",
            format!("{bad} days is out of range; use whole days from 1 to 365"),
        ));
    }
    let mut out: Vec<u32> = days.to_vec();
    out.push(REQUIRED_THRESHOLD);
    out.sort_unstable_by(|a, b| b.cmp(a));
    out.dedup();
    Ok(out)
}

fn days(n: u32) -> Duration {
    Duration::days(i64::from(n))
}

/// The first notice of an expiry that became known at `known_at`.
/// `thresholds` is normalized (non-empty, largest first).
pub(crate) fn first_notice(
    thresholds: &[u32],
    expires: OffsetDateTime,
    known_at: OffsetDateTime,
) -> (OffsetDateTime, u32) {
    if expires <= known_at {
        return (expires, 0);
    }
    // Of the thresholds already past, only the nearest is said.
    match thresholds.iter().rev().find(|t| expires - days(**t) <= known_at) {
        Some(&t) => (expires - days(t), t),
        None => {
            let largest = thresholds.first().copied().unwrap_or(REQUIRED_THRESHOLD);
            (expires - days(largest), largest)
        }
    }
}

/// The notice after the `current` threshold: the next smaller one, then
/// "expired" (0).
fn after(thresholds: &[u32], expires: OffsetDateTime, current: u32) -> Option<(OffsetDateTime, u32)> {
    if current == 0 {
        return None;
    }
    match thresholds.iter().find(|t| **t < current) {
        Some(&t) => Some((expires - days(t), t)),
        None => Some((expires, 0)),
    }
}

/// One notice to fire: its kind, threshold and due instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fire {
    pub kind: NoticeKind,
    pub threshold_days: u32,
    pub due_at: OffsetDateTime,
}

/// Fires what is due at `now` from `next`, and returns the new next.
pub(crate) fn advance(
    thresholds: &[u32],
    expires: OffsetDateTime,
    mut next: Option<(OffsetDateTime, u32)>,
    now: OffsetDateTime,
) -> (Vec<Fire>, Option<(OffsetDateTime, u32)>) {
    let mut fires = Vec::new();
    while let Some((at, d)) = next {
        if at > now {
            break;
        }
        if now >= expires {
            // Past the expiry, the thresholds not yet said are moot.
            fires.push(Fire {
                kind: NoticeKind::Expired,
                threshold_days: 0,
                due_at: expires,
            });
            return (fires, None);
        }
        fires.push(Fire {
            kind: NoticeKind::Expiring,
            threshold_days: d,
            due_at: at,
        });
        next = after(thresholds, expires, d);
    }
    (fires, next)
}

fn texts(row: &DueRow, fire: &Fire, expires: OffsetDateTime, now: OffsetDateTime) -> (String, String) {
    let date = timefmt::to_db(expires);
    let date = date.get(..10).unwrap_or(&date);
    let used_by = match &row.integration {
        Some(i) => format!("Used by {i}. "),
        None => String::new(),
    };
    match fire.kind {
        NoticeKind::Expired => (
            format!("{} has expired", row.name),
            format!(
                "{used_by}It expired on {date} (UTC) and no longer works. Open it and choose Update Credentials to enter a new secret."
            ),
        ),
        _ => {
            let left = (expires - now).whole_hours();
            let when = match left {
                h if h < 24 => "within a day".to_owned(),
                h => {
                    let d = (h + 23) / 24;
                    format!("in {d} day{}", if d == 1 { "" } else { "s" })
                }
            };
            (
                format!("{} expires {when}", row.name),
                format!(
                    "{used_by}It expires on {date} (UTC). Choose Update Credentials before then, or the integration stops working."
                ),
            )
        }
    }
}

pub(crate) fn notice_of(r: NoticeRow) -> Result<Notice> {
    let (
        id,
        cred,
        version,
        kind,
        threshold_days,
        expires_at,
        _due,
        fired_at,
        name,
        integration,
        summary,
        body,
        read,
        dismissed,
        partner_key_id,
        params,
    ) = r;
    Ok(Notice {
        id,
        credential_id: cred
            .as_deref()
            .map(Uuid::parse_str)
            .transpose()
            .map_err(|e| Error::Database(e.to_string()))?,
        partner_key_id,
        credential: name,
        integration,
        version,
        kind: NoticeKind::parse(&kind),
        threshold_days,
        expires_at: timefmt::opt_from_db(expires_at)?,
        fired_at: timefmt::from_db(&fired_at)?,
        summary,
        body,
        params: crate::store::json_params(&params),
        read: read.is_some(),
        dismissed: dismissed.is_some(),
    })
}

impl Vault {
    /// Sets the thresholds (days before expiry) for this vault; 14 is
    /// always kept. A change reschedules every credential's notices;
    /// notices already given stay given.
    pub fn set_notice_thresholds(&mut self, days: &[u32]) -> Result<Vec<u32>> {
        self.policy().check_thresholds(days)?;
        let days = normalize_thresholds(days)?;
        let text = days.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
        if notices::meta(self.conn(), THRESHOLDS_KEY)?.as_deref() != Some(text.as_str()) {
            self.write_unaudited(crate::vault::Unaudited::NoticeState, |tx| {
                notices::reschedule_all(tx)?;
                notices::set_meta(tx, THRESHOLDS_KEY, &text)
            })?;
        }
        self.set_notice_thresholds_field(days.clone());
        Ok(days)
    }

    /// Fires the notices due now (each once, see the module comment) and
    /// says when the next is due. Every notice fired is audited.
    pub fn run_notices(&mut self) -> Result<NoticeRun> {
        let now = self.now();
        let thresholds = self.notice_thresholds().to_vec();
        let due = notices::due(self.conn(), now)?;
        let examined = due.len();
        // The common wake: nothing due, nothing to write.
        if due.is_empty() {
            return Ok(NoticeRun {
                fired: Vec::new(),
                next_due: notices::next_due(self.conn(), now)?,
                examined,
            });
        }
        let fired_ids = self.write_unaudited(crate::vault::Unaudited::NoticeState, |tx| {
            let mut fired = Vec::new();
            for row in &due {
                let expires = match row.expires_at {
                    Some(e) if row.version > 0 && !matches!(row.status, Status::Disabled | Status::Revoked) => e,
                    _ => {
                        notices::set_next(tx, row.id, None)?;
                        continue;
                    }
                };
                let next = row
                    .next
                    .or_else(|| Some(first_notice(&thresholds, expires, row.updated_at)));
                let (fires, next) = advance(&thresholds, expires, next, now);
                for fire in &fires {
                    fired.extend(fire_notice(tx, row, fire, expires, now)?);
                }
                notices::set_next(tx, row.id, next)?;
            }
            Ok(fired)
        })?;
        let mut fired = Vec::with_capacity(fired_ids.len());
        for id in fired_ids {
            if let Some(r) = notices::get(self.conn(), id)? {
                fired.push(notice_of(r)?);
            }
        }
        Ok(NoticeRun {
            fired,
            next_due: notices::next_due(self.conn(), now)?,
            examined,
        })
    }

    /// When the next notice is due, without firing anything.
    pub fn next_notice_due(&self) -> Result<Option<OffsetDateTime>> {
        notices::next_due(self.conn(), self.now())
    }

    /// The notification centre, newest first.
    pub fn notices(&self, include_dismissed: bool) -> Result<Vec<Notice>> {
        notices::list(self.conn(), include_dismissed, 500)?
            .into_iter()
            .map(notice_of)
            .collect()
    }

    pub fn unread_notices(&self) -> Result<u32> {
        notices::unread(self.conn())
    }

    pub fn mark_notices_read(&mut self) -> Result<usize> {
        let now = self.now();
        self.write_unaudited(crate::vault::Unaudited::NoticeState, |tx| notices::mark_read(tx, now))
    }

    pub fn dismiss_notice(&mut self, id: i64) -> Result<()> {
        let now = self.now();
        if self.write_unaudited(crate::vault::Unaudited::NoticeState, |tx| notices::dismiss(tx, id, now))? {
            Ok(())
        } else {
            Err(Error::NotFound {
                kind: "notice",
                name: id.to_string(),
            })
        }
    }
}

#[cfg(test)]
#[path = "expiry_tests.rs"]
mod tests;

/// Records one notice that fires, once (by its dedupe), and audits it;
/// `None` when it was given before.
fn fire_notice(
    tx: &crate::vault::WriteTx<'_>,
    row: &DueRow,
    fire: &Fire,
    expires: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<Option<i64>> {
    let (summary, body) = texts(row, fire, expires, now);
    let dedupe = format!(
        "expiry|{}|{}|{}|{}|{}",
        row.id,
        row.version,
        fire.kind.as_str(),
        fire.threshold_days,
        timefmt::to_db(expires)
    );
    let id = notices::insert(
        tx,
        &NewNotice {
            credential_id: Some(row.id),
            partner_key_id: None,
            version: row.version,
            kind: fire.kind.as_str(),
            threshold_days: fire.threshold_days,
            expires_at: Some(expires),
            due_at: fire.due_at,
            fired_at: now,
            credential_name: &row.name,
            integration: row.integration.as_deref(),
            summary: &summary,
            body: &body,
            params: &[],
            dedupe: &dedupe,
        },
    )?;
    let Some(id) = id else { return Ok(None) };
    let what = match fire.kind {
        NoticeKind::Expired => "expired notice".to_owned(),
        _ => format!("{}-day expiry notice", fire.threshold_days),
    };
    tx.audit(crate::vault::ev(
        "notice.fire",
        "credential",
        Some(row.id),
        Some(&row.name),
        Outcome::Success,
        format!("{what} for version {}", row.version),
    ))?;
    Ok(Some(id))
}
