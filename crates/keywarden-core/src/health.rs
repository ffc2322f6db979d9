//! Scheduled health checks: how often each credential is checked live
//! without anyone pressing a button, and when it is next due.
//!
//! A credential is checked every `every_hours`: its own setting, else its
//! integration's, else its provider's default (daily; Xledger weekly, since
//! each request spends the company's request credits), held to the
//! policy's `health_check_max_hours`. Checks are staggered: each credential
//! has a fixed slot in its period (from its id), so 1,000 daily checks are
//! spread over the day instead of all running at midnight, and a
//! credential is checked at the same time each day.
//!
//! When a check is due is computed from the last live check (a button
//! press counts), so there is nothing to reschedule: a credential checked
//! by hand at 11:00 whose slot is 12:00 is next checked tomorrow at 12:00,
//! not an hour later. A check that could not reach the provider (offline)
//! is tried again after 1 hour, then 2, 4, … up to the period; one the
//! provider rate-limited waits at least what it asked.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::error::{Error, Result};

/// A provider's default period, in hours.
pub const DEFAULT_EVERY_HOURS: u32 = 24;
/// Xledger counts requests against the company's credits: weekly.
pub const XLEDGER_EVERY_HOURS: u32 = 24 * 7;
/// The longest period that can be set: a year.
pub const MAX_EVERY_HOURS: u32 = 24 * 366;
/// How long one check may hold its provider's lease (a program that died
/// mid-check frees it after this).
pub const LEASE: Duration = Duration::minutes(2);

/// Where a credential's period comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ScheduleSource {
    Credential,
    Integration,
    Provider,
    /// The policy's `health_check_max_hours` shortened (or turned on) what
    /// was set.
    Policy,
}

/// A credential's schedule, as the app and `kw health schedule` show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CheckSchedule {
    pub credential: String,
    pub integration: Option<String>,
    /// Hours between checks; 0: not scheduled.
    pub every_hours: u32,
    pub source: ScheduleSource,
    /// What the credential itself sets (`None`: its integration's or the
    /// provider's).
    pub own_every_hours: Option<u32>,
    /// Whether the credential has a live check at all (a generic one
    /// without a check URL has none, and is never scheduled).
    pub live_check: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub last_at: Option<OffsetDateTime>,
    /// The last live check's verdict code (`valid`, `invalid_credential`,
    /// `unreachable`, …).
    pub last_code: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub next_at: Option<OffsetDateTime>,
}

/// An integration's period, as the app's integration page shows it: what
/// it sets, what its credentials get from it, and the policy's bound.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct IntegrationSchedule {
    pub integration: String,
    /// What the integration sets (`None`: its provider's default).
    pub own_every_hours: Option<u32>,
    /// The provider's default (Xledger weekly, the rest daily).
    pub provider_every_hours: u32,
    /// What a credential of it without a period of its own gets.
    pub every_hours: u32,
    pub source: ScheduleSource,
    /// The policy's `health_check_max_hours`, if it sets one.
    pub policy_max_hours: Option<u32>,
    /// How many of its credentials set a period of their own (they keep it).
    pub credentials_overriding: u32,
}

/// The last live check of a credential, as the schedule needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct LastCheck {
    pub at: OffsetDateTime,
    pub code: String,
    /// What a rate-limiting provider asked for.
    pub retry_after_secs: Option<u64>,
    /// Consecutive live checks that could not reach the provider.
    pub unreachable_streak: u32,
}

/// Parses a period as people write it: `6h`, `1d`, `7d`, `2w`, `off`;
/// `default` (→ `None`) goes back to the integration's or provider's.
pub fn parse_every(text: &str) -> Result<Option<u32>> {
    let t = text.trim().to_ascii_lowercase();
    let bad = || {
        Error::invalid(
            "check period",
            format!(
                "'{}' is not a period; write hours or days like 6h, 1d, 7d, 2w, or 'off', or 'default'",
                text.trim()
            ),
        )
    };
    match t.as_str() {
        "default" | "inherit" => return Ok(None),
        "off" | "never" | "0" => return Ok(Some(0)),
        _ => {}
    }
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u32 = digits.parse().map_err(|_| bad())?;
    let hours = match unit.trim() {
        "h" | "hour" | "hours" => Some(n),
        "" | "d" | "day" | "days" => n.checked_mul(24),
        "w" | "week" | "weeks" => n.checked_mul(24 * 7),
        _ => return Err(bad()),
    };
    check_every(hours.unwrap_or(u32::MAX)).map(Some)
}

/// A period in range: 0 (off) or 1 hour to a year.
pub fn check_every(hours: u32) -> Result<u32> {
    if hours > MAX_EVERY_HOURS {
        return Err(Error::invalid(
            "check period",
            format!("{hours} hours is too long; the longest is {MAX_EVERY_HOURS} hours (a year)"),
        ));
    }
    Ok(hours)
}

/// "every day", "every 7 days", "every 6 hours", "not scheduled".
pub fn every_words(hours: u32) -> String {
    match hours {
        0 => "not scheduled".to_owned(),
        1 => "every hour".to_owned(),
        24 => "every day".to_owned(),
        168 => "every week".to_owned(),
        h if h % 24 == 0 => format!("every {} days", h / 24),
        h => format!("every {h} hours"),
    }
}

/// The provider's default period.
pub fn provider_default(provider: &str) -> u32 {
    match provider.to_ascii_lowercase().as_str() {
        "xledger" => XLEDGER_EVERY_HOURS,
        _ => DEFAULT_EVERY_HOURS,
    }
}

/// The period in force and where it comes from. `policy_max` (hours) is the
/// longest the policy allows between checks: a longer period, or none, is
/// held to it.
pub fn effective(
    own: Option<u32>,
    integration: Option<u32>,
    provider: &str,
    policy_max: Option<u32>,
) -> (u32, ScheduleSource) {
    let (every, source) = match (own, integration) {
        (Some(h), _) => (h, ScheduleSource::Credential),
        (None, Some(h)) => (h, ScheduleSource::Integration),
        (None, None) => (provider_default(provider), ScheduleSource::Provider),
    };
    match policy_max {
        Some(max) if max > 0 && (every == 0 || every > max) => (max, ScheduleSource::Policy),
        _ => (every, source),
    }
}

/// The credential's slot within its period: a fixed offset from its id.
fn slot_offset(id: Uuid, period_secs: i64) -> i64 {
    let b = id.as_bytes();
    let n = u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
    (n % period_secs.max(1) as u64) as i64
}

/// The first of the credential's slots at or after `after`.
fn slot_at_or_after(id: Uuid, period: Duration, after: OffsetDateTime) -> OffsetDateTime {
    let p = period.whole_seconds().max(1);
    let offset = slot_offset(id, p);
    let t = after.unix_timestamp();
    // Slots are offset + k·p seconds since the epoch.
    let k = (t - offset).div_euclid(p);
    let mut slot = offset + k * p;
    if slot < t || (slot == t && after.nanosecond() > 0) {
        slot += p;
    }
    OffsetDateTime::from_unix_timestamp(slot).unwrap_or(after)
}

/// When the next scheduled check of a credential is due (`None`: not
/// scheduled). `since` is when it came to be (its first check is due at
/// its first slot after that).
pub fn next_due(id: Uuid, every_hours: u32, since: OffsetDateTime, last: Option<&LastCheck>) -> Option<OffsetDateTime> {
    if every_hours == 0 {
        return None;
    }
    let period = Duration::hours(i64::from(every_hours));
    let Some(last) = last else {
        return Some(slot_at_or_after(id, period, since));
    };
    match last.code.as_str() {
        // Offline is not a verdict: try again soon, backing off.
        "unreachable" => {
            let shift = last.unreachable_streak.saturating_sub(1).min(16);
            let wait = Duration::hours(1i64 << shift).min(period);
            Some(last.at + wait)
        }
        "rate_limited" => {
            let asked = Duration::seconds(last.retry_after_secs.unwrap_or(0).min(366 * 86_400) as i64);
            Some(last.at + asked.max(Duration::hours(1).min(period)))
        }
        _ => Some(slot_at_or_after(id, period, last.at + period / 2)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn last(at: OffsetDateTime, code: &str) -> LastCheck {
        LastCheck {
            at,
            code: code.into(),
            retry_after_secs: None,
            unreachable_streak: 1,
        }
    }

    #[test]
    fn periods_are_written_in_hours_days_or_weeks() {
        assert_eq!(parse_every("6h").unwrap(), Some(6));
        assert_eq!(parse_every("1d").unwrap(), Some(24));
        assert_eq!(parse_every(" 7 days ").unwrap(), Some(168));
        assert_eq!(parse_every("2w").unwrap(), Some(336));
        assert_eq!(parse_every("off").unwrap(), Some(0));
        assert_eq!(parse_every("default").unwrap(), None);
        for bad in ["", "d", "-1d", "1y", "999999999w", "367d"] {
            let e = parse_every(bad).unwrap_err().to_string();
            assert!(e.contains("check period"), "{bad}: {e}");
        }
    }

    #[test]
    fn xledger_is_checked_weekly_and_the_rest_daily_unless_set() {
        assert_eq!(effective(None, None, "Xledger", None), (168, ScheduleSource::Provider));
        assert_eq!(effective(None, None, "pleo", None), (24, ScheduleSource::Provider));
        assert_eq!(effective(None, Some(6), "pleo", None), (6, ScheduleSource::Integration));
        assert_eq!(
            effective(Some(0), Some(6), "pleo", None),
            (0, ScheduleSource::Credential)
        );
    }

    #[test]
    fn the_policy_holds_a_longer_period_or_none_to_its_maximum() {
        assert_eq!(effective(Some(0), None, "pleo", Some(48)), (48, ScheduleSource::Policy));
        assert_eq!(effective(None, None, "xledger", Some(48)), (48, ScheduleSource::Policy));
        assert_eq!(
            effective(Some(6), None, "pleo", Some(48)),
            (6, ScheduleSource::Credential)
        );
    }

    #[test]
    fn daily_checks_of_many_credentials_are_spread_over_the_day() {
        let since = datetime!(2026-03-01 00:00 UTC);
        let mut hours = [0u32; 24];
        for _ in 0..2400 {
            let due = next_due(Uuid::new_v4(), 24, since, None).unwrap();
            assert!(due >= since && due < since + Duration::days(1));
            hours[usize::from(due.hour())] += 1;
        }
        // 100 a hour on average; no hour holds a pile.
        assert!(hours.iter().all(|&n| (40..=180).contains(&n)), "{hours:?}");
    }

    #[test]
    fn a_credential_is_checked_at_its_own_time_each_day_and_a_hand_check_counts() {
        let id = Uuid::new_v4();
        let first = next_due(id, 24, datetime!(2026-03-01 00:00 UTC), None).unwrap();
        let second = next_due(id, 24, first, Some(&last(first, "valid"))).unwrap();
        assert_eq!(second - first, Duration::days(1));
        // Checked by hand an hour before its slot: the slot is skipped.
        let by_hand = second - Duration::hours(1);
        assert_eq!(
            next_due(id, 24, first, Some(&last(by_hand, "invalid_credential"))).unwrap(),
            second + Duration::days(1)
        );
    }

    #[test]
    fn offline_is_tried_again_soon_backing_off_to_the_period() {
        let id = Uuid::new_v4();
        let at = datetime!(2026-03-01 10:00 UTC);
        let mut l = last(at, "unreachable");
        assert_eq!(next_due(id, 24, at, Some(&l)).unwrap(), at + Duration::hours(1));
        l.unreachable_streak = 3;
        assert_eq!(next_due(id, 24, at, Some(&l)).unwrap(), at + Duration::hours(4));
        l.unreachable_streak = 40;
        assert_eq!(next_due(id, 24, at, Some(&l)).unwrap(), at + Duration::hours(24));
    }

    #[test]
    fn a_rate_limited_check_waits_what_the_provider_asked() {
        let at = datetime!(2026-03-01 10:00 UTC);
        let mut l = last(at, "rate_limited");
        l.retry_after_secs = Some(7200);
        assert_eq!(
            next_due(Uuid::new_v4(), 24, at, Some(&l)).unwrap(),
            at + Duration::hours(2)
        );
        l.retry_after_secs = None;
        assert_eq!(
            next_due(Uuid::new_v4(), 24, at, Some(&l)).unwrap(),
            at + Duration::hours(1)
        );
    }

    #[test]
    fn an_unscheduled_credential_is_never_due() {
        assert_eq!(next_due(Uuid::new_v4(), 0, datetime!(2026-03-01 0:00 UTC), None), None);
    }
}

#[cfg(test)]
#[path = "health_tests.rs"]
mod vault_tests;
