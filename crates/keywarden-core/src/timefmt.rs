//! UTC timestamps as the vault stores them: fixed-width RFC 3339 text, so
//! that string order is time order in SQL.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, UtcOffset};

use crate::error::{Error, Result};

pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// The instants the vault stores: years 1 to 9999 in UTC, so the fixed-width
/// text form always parses back.
pub fn in_range(t: OffsetDateTime) -> Option<OffsetDateTime> {
    let utc = t.checked_to_offset(UtcOffset::UTC)?;
    (1..=9999).contains(&utc.year()).then_some(utc)
}

pub fn to_db(t: OffsetDateTime) -> String {
    let fmt = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
    // A UTC instant always formats with this description.
    // Callers store only `in_range` instants; anything else saturates.
    let t = in_range(t).unwrap_or(t);
    t.format(&fmt).unwrap_or_default()
}

pub fn from_db(s: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).map_err(|_| Error::Database(format!("bad timestamp in the database: {s:?}")))
}

pub fn opt_from_db(s: Option<String>) -> Result<Option<OffsetDateTime>> {
    s.as_deref().map(from_db).transpose()
}

/// Parses a date a person typed: `2026-12-31` (end of that day, UTC) or a
/// full RFC 3339 timestamp.
pub fn parse_user(field: &str, s: &str) -> Result<OffsetDateTime> {
    let s = s.trim();
    let parsed = OffsetDateTime::parse(s, &Rfc3339).ok().or_else(|| {
        let date_fmt = format_description!("[year]-[month]-[day]");
        Date::parse(s, &date_fmt)
            .ok()
            .and_then(|d| d.with_hms(23, 59, 59).ok())
            .map(|dt| dt.assume_utc())
    });
    parsed.and_then(in_range).ok_or_else(|| {
        Error::invalid(
            field,
            format!("'{s}' is not a date; use YYYY-MM-DD or an RFC 3339 time"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn db_format_sorts_as_time() {
        let a = parse_user("t", "2026-01-02").unwrap();
        let b = parse_user("t", "2026-01-10T00:00:00Z").unwrap();
        assert!(to_db(a) < to_db(b));
        assert_eq!(from_db(&to_db(a)).unwrap(), a);
    }

    #[test]
    fn dates_outside_years_1_to_9999_are_refused_not_panicked_on() {
        assert!(parse_user("t", "9999-12-31T23:59:59-01:00").is_err());
        assert!(parse_user("t", "0000-01-01T00:00:00+01:00").is_err());
        assert!(parse_user("t", "9999-12-31").is_ok());
    }

    #[test]
    fn a_typo_in_a_date_is_a_clear_error() {
        assert!(
            parse_user("expires", "2026-13-40")
                .unwrap_err()
                .to_string()
                .contains("YYYY-MM-DD")
        );
    }
}
