//! CSV files: a spreadsheet's, or KeePassXC's CSV export.

use super::*;

/// The columns a CSV file may have, by the names people and tools give
/// them (ours, KeePassXC's CSV export, common spreadsheet headings).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Column {
    Name,
    Secret,
    Username,
    Url,
    Notes,
    Tags,
    Expires,
    Kind,
    Provider,
    Environment,
    Group,
    Totp,
    /// KeePassXC's own bookkeeping (icon, created, last modified): nothing
    /// a credential keeps.
    Ignored,
}

pub(super) fn column_of(header: &str) -> Option<Column> {
    let h = header.trim().to_ascii_lowercase().replace(['-', ' '], "_");
    Some(match h.as_str() {
        "name" | "title" => Column::Name,
        "secret" | "password" | "api_key" | "key" | "token" => Column::Secret,
        "username" | "user_name" | "user" | "login" => Column::Username,
        "url" | "website" => Column::Url,
        "notes" | "note" | "comment" => Column::Notes,
        "tags" | "tag" => Column::Tags,
        "expires" | "expiry" | "expires_at" | "expiry_time" => Column::Expires,
        "type" | "kind" => Column::Kind,
        "provider" => Column::Provider,
        "environment" | "env" => Column::Environment,
        "group" | "folder" => Column::Group,
        "totp" | "otp" => Column::Totp,
        "icon" | "last_modified" | "created" => Column::Ignored,
        _ => return None,
    })
}

/// The rows, and the problems of rows that could not be read (reported
/// with the others `plan` finds). A bad header row stops at once.
pub(super) fn csv_entries(text: &str) -> Result<(Vec<Entry>, Vec<String>)> {
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .trim(::csv::Trim::None)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| problems(vec![format!("line 1 (the header row): {}", csv_problem(&e))]))?
        .clone();
    let (columns, mut bad) = csv_columns(&headers)?;
    let mut entries = Vec::new();
    let mut record = ::csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e
                    .position()
                    .map_or_else(|| "a line".to_owned(), |p| format!("line {}", p.line()));
                bad.push(format!("{line}: {}", csv_problem(&e)));
                if bad.len() >= MAX_PROBLEMS {
                    break;
                }
                continue;
            }
        }
        let line = record.position().map_or(0, |p| p.line());
        entries.push(csv_entry(&record, &columns, line));
    }
    Ok((entries, bad))
}

/// What each column of the header row holds; a header that names no known
/// column, names one twice, or lacks the name or secret column stops the
/// import at once. The problems list starts empty for the rows' own.
fn csv_columns(headers: &::csv::StringRecord) -> Result<(Vec<Option<Column>>, Vec<String>)> {
    let mut columns = Vec::with_capacity(headers.len());
    let mut bad = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        // A file without a header row (or split on the wrong separator)
        // puts its first credential here: a cell is quoted only when it
        // looks like a column name, never a value that may be a secret.
        let named = if looks_like_heading(h) {
            format!("'{h}' (column {})", i + 1)
        } else {
            format!("column {}", i + 1)
        };
        match column_of(h) {
            Some(c) if c != Column::Ignored && columns.contains(&Some(c)) => {
                bad.push(format!("line 1: the column {named} appears twice (or under two names)"));
                columns.push(None);
            }
            Some(c) => columns.push(Some(c)),
            None => {
                bad.push(format!(
                    "line 1: {named} is not a column name this import knows; the first line must name the columns (comma-separated): name, secret, username, url, notes, tags, expires, type, provider, environment, group, totp (title and password are read as name and secret)"
                ));
                columns.push(None);
            }
        }
    }
    for needed in [Column::Name, Column::Secret] {
        if !columns.contains(&Some(needed)) {
            bad.push(format!(
                "line 1: no '{}' column; the header row must name the columns, e.g. name,secret,username,url,notes",
                if needed == Column::Name { "name" } else { "secret" }
            ));
        }
    }
    if !bad.is_empty() {
        return Err(problems(bad));
    }
    Ok((columns, bad))
}

/// One row as an entry: each cell under its column's meaning.
fn csv_entry(record: &::csv::StringRecord, columns: &[Option<Column>], line: u64) -> Entry {
    let mut entry = Entry {
        place: format!("line {line}"),
        ..Entry::default()
    };
    for (value, column) in record.iter().zip(columns) {
        let plain = || value.trim().to_owned();
        match column {
            Some(Column::Name) => entry.title = plain(),
            Some(Column::Secret) if !value.is_empty() => entry.password = Some(SecretString::from(value.to_owned())),
            Some(Column::Username) => entry.username = plain(),
            Some(Column::Url) if !value.trim().is_empty() => entry.fields.push(("url".into(), plain())),
            Some(Column::Notes) => entry.notes = value.to_owned(),
            Some(Column::Tags) => entry.tags = split_tags(value),
            Some(Column::Expires) if !value.trim().is_empty() => entry.expires = Some(plain()),
            Some(Column::Kind) if !value.trim().is_empty() => entry.kind = Some(plain()),
            Some(Column::Provider) if !value.trim().is_empty() => entry.provider = Some(plain()),
            Some(Column::Environment) if !value.trim().is_empty() => entry.environment = Some(plain()),
            Some(Column::Group) if !value.trim().is_empty() => {
                // KeePassXC's CSV export includes what was deleted.
                if value.split('/').any(|g| g.trim() == "Recycle Bin") {
                    entry.skip = Some("it is in KeePass's recycle bin (deleted)");
                }
                entry.group = Some(plain());
            }
            Some(Column::Totp) if !value.is_empty() => {
                entry
                    .extra_secrets
                    .push(("totp".into(), SecretString::from(value.to_owned())));
            }
            _ => {}
        }
    }
    entry
}

/// A header cell short and plain enough to be a column's name, so safe to
/// quote back.
pub(super) fn looks_like_heading(h: &str) -> bool {
    let h = h.trim();
    !h.is_empty()
        && h.len() <= 24
        && h.chars()
            .all(|c| c.is_ascii_alphabetic() || matches!(c, ' ' | '_' | '-'))
}

/// A CSV reader's complaint in our words: the csv crate's own messages can
/// quote the field that failed.
pub(super) fn csv_problem(e: &::csv::Error) -> String {
    match e.kind() {
        ::csv::ErrorKind::UnequalLengths { expected_len, len, .. } => format!(
            "{len} columns where the header row has {expected_len}; quote any value that holds a comma (\"a, b\")"
        ),
        ::csv::ErrorKind::Utf8 { .. } => "not UTF-8 text; save the file as UTF-8".into(),
        _ => "the line is not valid CSV".into(),
    }
}

/// Tags separated by ',' or ';' (KeePass uses either); a tag of several
/// words keeps them, joined by '-'.
pub(super) fn split_tags(s: &str) -> Vec<String> {
    s.split([',', ';'])
        .map(|t| t.split_whitespace().collect::<Vec<_>>().join("-"))
        .filter(|t| !t.is_empty())
        .collect()
}
