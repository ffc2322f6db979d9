//! UTC timestamps as the vault stores them: fixed-width RFC 3339 text, so
//! that string order is time order in SQL.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, UtcOffset};

use crate::error::{Error, Result};

pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

pub fn to_db(t: OffsetDateTime) -> String {
    let fmt = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
    // A UTC instant always formats with this description.
    t.to_offset(UtcOffset::UTC).format(&fmt).unwrap_or_default()
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
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(t.to_offset(UtcOffset::UTC));
    }
    let date_fmt = format_description!("[year]-[month]-[day]");
    Date::parse(s, &date_fmt)
        .ok()
        .and_then(|d| d.with_hms(23, 59, 59).ok())
        .map(|dt| dt.assume_utc())
        .ok_or_else(|| {
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
    fn a_typo_in_a_date_is_a_clear_error() {
        assert!(
            parse_user("expires", "2026-13-40")
                .unwrap_err()
                .to_string()
                .contains("YYYY-MM-DD")
        );
    }
}
