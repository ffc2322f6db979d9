//! Bulk migration from another tool's plaintext export: a CSV file (a
//! spreadsheet, or KeePassXC's CSV export) or a KeePass 2 XML file
//! (`keepassxc-cli export --format xml`, KeePass's "KeePass XML (2.x)").
//!
//! The whole file is parsed and checked before anything is written
//! (`Vault::import_credentials` then writes it in one transaction), so a bad
//! file changes nothing. Every problem names its place (line, entry) and
//! column or field, never a value: a value may be a secret.

use std::collections::{BTreeMap, HashMap, HashSet};

use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::model::{CredentialKind, NewCredential};
use crate::secret::SecretFields;

/// The largest file an import reads: 10,000 credentials in KeePass XML are
/// about 8 MB.
pub const MAX_IMPORT_BYTES: usize = 256 * 1024 * 1024;

/// At most this many problems are reported at once, so one pass over a
/// broken file shows most of what to correct without flooding a terminal.
const MAX_PROBLEMS: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    Csv,
    KeepassXml,
}

impl SourceFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::KeepassXml => "keepass-xml",
        }
    }
}

/// One credential to import and where in the file it came from.
#[derive(Debug)]
pub struct Planned {
    /// "line 12" or "entry 7 (group Finance)".
    pub place: String,
    pub credential: NewCredential,
}

/// An entry that is not imported, and why (an entry without a password, a
/// deleted entry in KeePass's recycle bin).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    pub place: String,
    pub title: String,
    pub reason: String,
}

/// A title changed to fit a Keywarden name (characters a name cannot hold,
/// or a second entry with the same title).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Renamed {
    pub place: String,
    pub from: String,
    pub to: String,
}

/// What a file holds, checked, ready for `Vault::import_credentials`.
#[derive(Debug, Default)]
pub struct Plan {
    pub credentials: Vec<Planned>,
    pub skipped: Vec<Skipped>,
    pub renamed: Vec<Renamed>,
    /// Imported, but not whole: their KeePass attachments stay behind.
    pub without_attachments: Vec<Skipped>,
}

/// Defaults for what the file does not say.
#[derive(Debug, Clone, Default)]
pub struct ImportDefaults {
    pub provider: Option<String>,
    pub environment: Option<String>,
    /// Added to every imported credential's own tags.
    pub tags: Vec<String>,
}

/// Parses a whole export. Errors list up to 20 problems, each with its
/// place; the file's values never appear in them.
pub fn parse(format: SourceFormat, bytes: &[u8], defaults: &ImportDefaults) -> Result<Plan> {
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(problems(vec![format!(
            "the file is larger than {} MiB, the limit; split it and import each part",
            MAX_IMPORT_BYTES / (1024 * 1024)
        )]));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        problems(vec![format!(
            "byte {} is not UTF-8 text; save the file as UTF-8 and import it again",
            e.valid_up_to()
        )])
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (entries, bad) = match format {
        SourceFormat::Csv => csv_entries(text)?,
        SourceFormat::KeepassXml => (keepass_entries(text)?, Vec::new()),
    };
    plan(entries, bad, defaults)
}

/// An entry as the source tool describes it, before it becomes a
/// credential. Secret values are `SecretString` from the moment they are
/// read.
#[derive(Debug, Default)]
struct Entry {
    place: String,
    title: String,
    username: String,
    password: Option<SecretString>,
    /// Further secret fields (KeePass protected strings, a TOTP seed).
    extra_secrets: Vec<(String, SecretString)>,
    /// Further plain fields (URL, KeePass's unprotected custom strings).
    fields: Vec<(String, String)>,
    notes: String,
    tags: Vec<String>,
    group: Option<String>,
    kind: Option<String>,
    provider: Option<String>,
    environment: Option<String>,
    expires: Option<String>,
    expires_at: Option<OffsetDateTime>,
    skip: Option<&'static str>,
    /// KeePass attachments (`<Binary>`): not carried over, and said so.
    attachments: usize,
}

fn problems(list: Vec<String>) -> Error {
    Error::ImportFile { problems: list }
}

// ---------------------------------------------------------------- CSV

/// The columns a CSV file may have, by the names people and tools give
/// them (ours, KeePassXC's CSV export, common spreadsheet headings).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Column {
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

fn column_of(header: &str) -> Option<Column> {
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
fn csv_entries(text: &str) -> Result<(Vec<Entry>, Vec<String>)> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .trim(csv::Trim::None)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| problems(vec![format!("line 1 (the header row): {}", csv_problem(&e))]))?
        .clone();
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
    let mut entries = Vec::new();
    let mut record = csv::StringRecord::new();
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
        let mut entry = Entry {
            place: format!("line {line}"),
            ..Entry::default()
        };
        for (value, column) in record.iter().zip(&columns) {
            let plain = || value.trim().to_owned();
            match column {
                Some(Column::Name) => entry.title = plain(),
                Some(Column::Secret) if !value.is_empty() => {
                    entry.password = Some(SecretString::from(value.to_owned()))
                }
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
        entries.push(entry);
    }
    Ok((entries, bad))
}

/// A header cell short and plain enough to be a column's name, so safe to
/// quote back.
fn looks_like_heading(h: &str) -> bool {
    let h = h.trim();
    !h.is_empty()
        && h.len() <= 24
        && h.chars()
            .all(|c| c.is_ascii_alphabetic() || matches!(c, ' ' | '_' | '-'))
}

/// A CSV reader's complaint in our words: the csv crate's own messages can
/// quote the field that failed.
fn csv_problem(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => format!(
            "{len} columns where the header row has {expected_len}; quote any value that holds a comma (\"a, b\")"
        ),
        csv::ErrorKind::Utf8 { .. } => "not UTF-8 text; save the file as UTF-8".into(),
        _ => "the line is not valid CSV".into(),
    }
}

/// Tags separated by ',' or ';' (KeePass uses either); a tag of several
/// words keeps them, joined by '-'.
fn split_tags(s: &str) -> Vec<String> {
    s.split([',', ';'])
        .map(|t| t.split_whitespace().collect::<Vec<_>>().join("-"))
        .filter(|t| !t.is_empty())
        .collect()
}

// ---------------------------------------------------------------- KeePass XML

/// The string fields KeePass itself defines; any other is a custom field.
const KEEPASS_STANDARD: [&str; 5] = ["Title", "UserName", "Password", "URL", "Notes"];

/// Deeper than any KeePass export nests (groups in groups): refused before
/// the XML parser sees it, since roxmltree builds deep trees recursively and
/// a crafted file nested a hundred thousand deep overflowed the stack.
const MAX_XML_DEPTH: usize = 256;

/// Whether elements nest deeper than `limit`: a scan of tags only, quotes,
/// comments, CDATA, declarations and processing instructions respected, so
/// that a '>' or "/>" inside an attribute value cannot hide an opening tag.
fn nests_deeper_than(text: &str, limit: usize) -> bool {
    let b = text.as_bytes();
    let (mut i, mut depth) = (0usize, 0usize);
    while let Some(off) = b[i..].iter().position(|&c| c == b'<') {
        i += off;
        let rest = &b[i..];
        let skip_to = |end: &[u8]| rest.windows(end.len()).position(|w| w == end).map(|p| p + end.len());
        if rest.starts_with(b"<!--") {
            i += skip_to(b"-->").unwrap_or(rest.len());
        } else if rest.starts_with(b"<![CDATA[") {
            i += skip_to(b"]]>").unwrap_or(rest.len());
        } else if rest.starts_with(b"<?") {
            i += skip_to(b"?>").unwrap_or(rest.len());
        } else if rest.starts_with(b"<!") || rest.starts_with(b"</") {
            if rest.starts_with(b"</") {
                depth = depth.saturating_sub(1);
            }
            i += rest.iter().position(|&c| c == b'>').map_or(rest.len(), |p| p + 1);
        } else {
            // An opening tag: find its end outside quotes.
            let mut quote = None;
            let mut end = rest.len();
            for (j, &c) in rest.iter().enumerate().skip(1) {
                match (quote, c) {
                    (Some(q), c) if c == q => quote = None,
                    (Some(_), _) => {}
                    (None, b'"' | b'\'') => quote = Some(c),
                    (None, b'>') => {
                        end = j;
                        break;
                    }
                    _ => {}
                }
            }
            if end == rest.len() || rest[end - 1] != b'/' {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            i += (end + 1).min(rest.len());
        }
    }
    false
}

fn keepass_entries(text: &str) -> Result<Vec<Entry>> {
    if nests_deeper_than(text, MAX_XML_DEPTH) {
        return Err(problems(vec![format!(
            "elements nest more than {MAX_XML_DEPTH} deep, which no KeePass export does; export the database again as KeePass XML"
        )]));
    }
    // No DTD (roxmltree's default): no entity expansion to blow up memory.
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: 20_000_000,
    };
    let doc = roxmltree::Document::parse_with_options(text, options).map_err(|e| {
        let pos = e.pos();
        problems(vec![format!(
            "line {}, column {}: not well-formed XML ({}); export the database again as KeePass XML",
            pos.row,
            pos.col,
            xml_problem(&e)
        )])
    })?;
    let root_el = doc.root_element();
    if root_el.tag_name().name() != "KeePassFile" {
        return Err(problems(vec![format!(
            "the file is XML but not a KeePass export (its root element is <{}>, not <KeePassFile>); export with `keepassxc-cli export --format xml`",
            root_el.tag_name().name()
        )]));
    }
    let recycle_bin = child(root_el, "Meta")
        .and_then(|m| child(m, "RecycleBinUUID"))
        .and_then(|n| n.text())
        .map(str::trim)
        .filter(|u| !u.is_empty() && *u != "AAAAAAAAAAAAAAAAAAAAAA==");
    // `Protected="True"` marks a value still encrypted with the database's
    // inner stream key (a KDBX file's XML, not an export): taken as text it
    // would store ciphertext as the secret.
    if doc
        .descendants()
        .any(|n| n.has_tag_name("Value") && n.attribute("Protected") == Some("True"))
    {
        return Err(problems(vec![
            "the file holds values still encrypted by KeePass (Protected=\"True\"); export the database with `keepassxc-cli export --format xml DB` (or KeePass's \"KeePass XML (2.x)\" export), which writes them as text".into(),
        ]));
    }
    let Some(root) = child(root_el, "Root") else {
        return Err(problems(vec![
            "the KeePass export has no <Root> element: it holds no entries".into(),
        ]));
    };
    let mut entries = Vec::new();
    let mut count = 0usize;
    for top in root.children().filter(|n| n.has_tag_name("Group")) {
        walk_group(top, recycle_bin, &mut count, &mut entries);
    }
    Ok(entries)
}

fn xml_problem(e: &roxmltree::Error) -> &'static str {
    match e {
        roxmltree::Error::DtdDetected => "it has a DTD, which a KeePass export never has",
        roxmltree::Error::NodesLimitReached => "too many elements",
        roxmltree::Error::UnexpectedCloseTag(..) => "a closing tag does not match its opening tag",
        roxmltree::Error::UnknownEntityReference(..) => "an unknown &entity;",
        _ => "malformed markup",
    }
}

fn child<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    node.children().find(|n| n.has_tag_name(name))
}

/// A group and its subgroups, depth first, in file order, with a stack
/// of our own: a crafted file nests groups a million deep, which recursion
/// would answer with a stack overflow. `folder` is the group's name, `None`
/// for the top group (the database itself).
fn walk_group(top: roxmltree::Node, recycle_bin: Option<&str>, count: &mut usize, out: &mut Vec<Entry>) {
    let mut stack = vec![(top, None::<String>, false)];
    while let Some((group, folder, in_bin)) = stack.pop() {
        let uuid = child(group, "UUID").and_then(|n| n.text()).map(str::trim);
        let in_bin = in_bin || (recycle_bin.is_some() && uuid == recycle_bin);
        let mut subgroups = Vec::new();
        for node in group.children() {
            if node.has_tag_name("Entry") {
                *count += 1;
                out.push(keepass_entry(node, folder.as_deref(), in_bin, *count));
            } else if node.has_tag_name("Group") {
                let name = child(node, "Name")
                    .and_then(|n| n.text())
                    .unwrap_or("")
                    .trim()
                    .to_owned();
                subgroups.push((node, Some(name), in_bin));
            }
        }
        // Reversed onto the stack, so the first subgroup is walked first.
        stack.extend(subgroups.into_iter().rev());
    }
}

/// One `<Entry>`. Its `<History>` (older versions of the same entry, as
/// `<Entry>` elements) is not read: only the current version moves.
fn keepass_entry(node: roxmltree::Node, folder: Option<&str>, in_bin: bool, n: usize) -> Entry {
    let folder = folder.filter(|f| !f.is_empty()).map(str::to_owned);
    let mut entry = Entry {
        place: match &folder {
            Some(g) => format!("entry {n} (group {g})"),
            None => format!("entry {n}"),
        },
        group: folder,
        ..Entry::default()
    };
    if in_bin {
        entry.skip = Some("it is in KeePass's recycle bin (deleted)");
    }
    for s in node.children().filter(|c| c.has_tag_name("String")) {
        let key = child(s, "Key").and_then(|k| k.text()).unwrap_or("").to_owned();
        let value_node = child(s, "Value");
        let value = value_node.and_then(|v| v.text()).unwrap_or("");
        let protected =
            value_node.is_some_and(|v| v.attribute("ProtectInMemory") == Some("True")) || looks_secret(&key);
        match key.as_str() {
            "Title" => entry.title = value.trim().to_owned(),
            "UserName" => entry.username = value.trim().to_owned(),
            "Password" if !value.is_empty() => entry.password = Some(SecretString::from(value.to_owned())),
            "URL" if !value.trim().is_empty() => entry.fields.push(("url".into(), value.trim().to_owned())),
            "Notes" => entry.notes = value.to_owned(),
            _ if KEEPASS_STANDARD.contains(&key.as_str()) || value.is_empty() => {}
            // Protected in KeePass, or named like a secret (KeePassXC leaves
            // a new custom field unprotected; its TOTP seed is "otp").
            _ if protected => {
                entry.extra_secrets.push((key, SecretString::from(value.to_owned())));
            }
            _ => entry.fields.push((key, value.trim().to_owned())),
        }
    }
    entry.attachments = node.children().filter(|c| c.has_tag_name("Binary")).count();
    if let Some(tags) = child(node, "Tags").and_then(|t| t.text()) {
        entry.tags = split_tags(tags);
    }
    if let Some(times) = child(node, "Times")
        && child(times, "Expires").and_then(|e| e.text()).map(str::trim) == Some("True")
    {
        entry.expires = child(times, "ExpiryTime")
            .and_then(|t| t.text())
            .map(|t| t.trim().to_owned());
        if let Some(t) = entry.expires.as_deref().and_then(keepass_binary_time) {
            entry.expires_at = Some(t);
            entry.expires = None;
        }
    }
    entry
}

/// A custom field whose name says it holds a secret is sealed as one,
/// protected in KeePass or not: a wrong guess costs a mask where a value
/// could have been shown, the other way a secret in plain configuration.
fn looks_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "password",
        "passwd",
        "passphrase",
        "secret",
        "token",
        "key",
        "pin",
        "otp",
        "seed",
        "recovery",
        "private",
        "credential",
        "cert",
        "signature",
    ]
    .iter()
    .any(|w| k.contains(w))
}

/// KDBX 4's XML keeps times as base64 of little-endian seconds since
/// 0001-01-01; KDBX 3.1 and KeePass's XML export write ISO 8601 text,
/// which `parse_user` reads.
fn keepass_binary_time(s: &str) -> Option<OffsetDateTime> {
    use base64::Engine;
    if s.contains('-') {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD.decode(s).ok()?;
    let secs = i64::from_le_bytes(raw.try_into().ok()?);
    // 0001-01-01 to 1970-01-01 is 62,135,596,800 s.
    OffsetDateTime::from_unix_timestamp(secs.checked_sub(62_135_596_800)?).ok()
}

// ---------------------------------------------------------------- to credentials

fn plan(entries: Vec<Entry>, mut bad: Vec<String>, defaults: &ImportDefaults) -> Result<Plan> {
    let mut out = Plan::default();
    let mut taken = Names::default();
    for entry in entries {
        if bad.len() >= MAX_PROBLEMS {
            break;
        }
        if let Some(reason) = entry.skip {
            out.skipped.push(Skipped {
                place: entry.place,
                title: entry.title,
                reason: reason.into(),
            });
            continue;
        }
        if entry.password.is_none() && entry.extra_secrets.is_empty() {
            out.skipped.push(Skipped {
                place: entry.place,
                title: entry.title,
                reason: "it has no password or other secret".into(),
            });
            continue;
        }
        let place = entry.place.clone();
        if entry.attachments > 0 {
            out.without_attachments.push(Skipped {
                place: place.clone(),
                title: entry.title.clone(),
                reason: format!(
                    "{} attachment(s) not imported; keep them elsewhere before destroying the export",
                    entry.attachments
                ),
            });
        }
        match credential_of(entry, defaults, &mut taken, &mut out.renamed) {
            Ok(c) => out.credentials.push(Planned { place, credential: c }),
            Err(why) => {
                bad.push(format!("{place}: {why}"));
                if bad.len() >= MAX_PROBLEMS {
                    break;
                }
            }
        }
    }
    if !bad.is_empty() {
        return Err(problems(bad));
    }
    Ok(out)
}

fn credential_of(
    entry: Entry,
    defaults: &ImportDefaults,
    taken: &mut Names,
    renamed: &mut Vec<Renamed>,
) -> std::result::Result<NewCredential, String> {
    if entry.title.is_empty() {
        return Err("it has no title; give it a name".into());
    }
    let name = unique_name(&entry.title, taken);
    if name != entry.title {
        renamed.push(Renamed {
            place: entry.place.clone(),
            from: entry.title.clone(),
            to: name.clone(),
        });
    }
    let mut config = BTreeMap::new();
    for (key, value) in entry.fields {
        let field = field_name(&key)
            .ok_or_else(|| format!("the field '{key}' has no letters or digits; rename it in the source tool"))?;
        if config.insert(field.clone(), value).is_some() {
            return Err(format!(
                "two of its fields are both named '{field}' once made a field name; rename one in the source tool"
            ));
        }
    }
    let mut secrets = SecretFields::new();
    let kind = match entry.kind.as_deref() {
        Some(k) => k
            .parse::<CredentialKind>()
            .map_err(|_| "its type is not one of api-key, oauth2, basic, custom".to_owned())?,
        None if !entry.extra_secrets.is_empty() => CredentialKind::Custom,
        None if !entry.username.is_empty() => CredentialKind::Basic,
        None if entry.password.as_ref().is_some_and(fits_api_key) => CredentialKind::ApiKey,
        // A password with spaces or non-ASCII letters is not an API key;
        // it is kept as it is, under its own name.
        None => CredentialKind::Custom,
    };
    if !entry.username.is_empty() && config.insert("username".into(), entry.username).is_some() {
        return Err(
            "it has a user name and also a custom field named 'username'; rename the field in the source tool".into(),
        );
    }
    let primary = match kind {
        CredentialKind::ApiKey => "api_key",
        CredentialKind::Basic | CredentialKind::Custom => "password",
        CredentialKind::OAuth2 => "client_secret",
    };
    if let Some(p) = entry.password {
        secrets.insert(primary, p);
    }
    for (key, value) in entry.extra_secrets {
        let field = field_name(&key).ok_or_else(|| {
            format!("the protected field '{key}' has no letters or digits; rename it in the source tool")
        })?;
        if kind != CredentialKind::Custom {
            return Err(format!(
                "it has a second secret ('{field}') but type {kind}, which keeps one; drop the type column for this line (it becomes a custom credential)"
            ));
        }
        if secrets.get(&field).is_some() {
            return Err(format!("two secret fields are both named '{field}'"));
        }
        secrets.insert(&field, value);
    }
    let mut tags: Vec<String> = Vec::new();
    let folder_tag = entry.group.as_deref().and_then(group_tag);
    for t in defaults.tags.iter().cloned().chain(folder_tag).chain(entry.tags) {
        let t = t.to_lowercase();
        if !tags.contains(&t) {
            tags.push(t);
        }
    }
    let expires_at = match (entry.expires_at, entry.expires) {
        (Some(t), _) => Some(t),
        (None, Some(s)) => Some(
            crate::timefmt::parse_user("expires", &s)
                .map_err(|_| "its expiry is not a date; use YYYY-MM-DD or an RFC 3339 time".to_owned())?,
        ),
        (None, None) => None,
    };
    Ok(NewCredential {
        name,
        kind: Some(kind),
        integration: None,
        provider: entry.provider.or_else(|| defaults.provider.clone()),
        environment: entry.environment.or_else(|| defaults.environment.clone()),
        config,
        secrets,
        tags,
        notes: (!entry.notes.trim().is_empty()).then_some(entry.notes),
        expires_at,
        max_age_days: None,
    })
}

fn fits_api_key(p: &SecretString) -> bool {
    let s = p.expose_secret();
    (8..=4096).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic())
}

/// A title as a Keywarden name: characters a name cannot hold become '-',
/// at most 92 characters; a title already used (names ignore case) gets
/// " (2)", " (3)", ….
fn unique_name(title: &str, taken: &mut Names) -> String {
    let cleaned: String = title
        .chars()
        .map(|c| if crate::model::name_char_allowed(c) { c } else { '-' })
        .take(92)
        .collect();
    let base = match cleaned.trim() {
        "" => "imported".to_owned(),
        b => b.to_owned(),
    };
    let key = base.to_lowercase();
    // Where this title's numbering got to: 10,000 entries called "Login"
    // are numbered in one pass, not by trying every number again.
    let mut n = taken.next.get(&key).copied().unwrap_or(1);
    let mut name = if n == 1 { base.clone() } else { format!("{base} ({n})") };
    while !taken.used.insert(name.to_lowercase()) {
        n += 1;
        name = format!("{base} ({n})");
    }
    taken.next.insert(key, n + 1);
    name
}

/// The names given so far (lower case) and, per title, the next number.
#[derive(Default)]
struct Names {
    used: HashSet<String>,
    next: HashMap<String, usize>,
}

/// The tag a folder gives its entries: the innermost group of a path
/// ("Root/Finance Team" → "finance-team"; KeePassXC's CSV export starts
/// every path with the database's root group), only where it makes a valid
/// tag as it is: a name of other letters is not mangled into one.
fn group_tag(path: &str) -> Option<String> {
    let last = path.rsplit('/').next().unwrap_or(path).trim();
    let tag = last.to_lowercase().replace(' ', "-");
    crate::model::validate_word("tag", &tag).ok().map(|()| tag)
}

/// A field or group name as a configuration key: lower case, runs of
/// anything but letters, digits, '-', '_' and '.' as one '_'.
fn field_name(key: &str) -> Option<String> {
    let mut out = String::new();
    for c in key.trim().chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '-' | '.') {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_matches('_').chars().take(64).collect::<String>();
    (!out.is_empty()).then_some(out)
}

/// The plaintext of a file read for import, wiped when dropped.
pub type ImportBytes = Zeroizing<Vec<u8>>;

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(text: &str) -> Result<Plan> {
        parse(SourceFormat::Csv, text.as_bytes(), &ImportDefaults::default())
    }

    fn secret(p: &Planned, field: &str) -> String {
        p.credential
            .secrets
            .get(field)
            .map(|s| s.expose_secret().to_owned())
            .unwrap_or_default()
    }

    #[test]
    fn a_csv_row_becomes_a_credential_of_the_type_its_columns_imply() {
        let plan = csv("name,secret,username,url,notes,tags\n\
            Pleo payroll,pk_live_0123456789abcdef,,https://pleo.io,for payroll,finance;payroll\n\
            Xledger login,correct horse battery,ola,https://xledger.net,,\n")
        .unwrap();
        assert_eq!(plan.credentials.len(), 2);
        let pleo = &plan.credentials[0];
        assert_eq!(pleo.place, "line 2");
        assert_eq!(pleo.credential.kind, Some(CredentialKind::ApiKey));
        assert_eq!(secret(pleo, "api_key"), "pk_live_0123456789abcdef");
        assert_eq!(pleo.credential.config["url"], "https://pleo.io");
        assert_eq!(pleo.credential.tags, vec!["finance", "payroll"]);
        assert_eq!(pleo.credential.notes.as_deref(), Some("for payroll"));
        let xl = &plan.credentials[1];
        assert_eq!(xl.credential.kind, Some(CredentialKind::Basic));
        assert_eq!(xl.credential.config["username"], "ola");
        assert_eq!(secret(xl, "password"), "correct horse battery");
    }

    #[test]
    fn keepassxc_csv_export_columns_are_understood() {
        let plan = csv("\"Group\",\"Title\",\"Username\",\"Password\",\"URL\",\"Notes\",\"TOTP\",\"Icon\",\"Last Modified\",\"Created\"\n\
            \"Root/Finance\",\"Bank, main\",\"\",\"s3cr3t-value-123\",\"\",\"\",\"\",\"0\",\"2026-01-01T00:00:00Z\",\"2026-01-01T00:00:00Z\"\n")
        .unwrap();
        let c = &plan.credentials[0];
        assert_eq!(c.credential.name, "Bank- main");
        assert_eq!(plan.renamed[0].from, "Bank, main");
        assert_eq!(c.credential.tags, vec!["finance"]);
    }

    #[test]
    fn a_broken_csv_names_every_bad_line_and_no_value() {
        let err = csv("name,secret\nok one,canary-value-1\n\"unterminated,canary-value-2\nbad,canary-value-3,extra\n,canary-value-4\n")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("canary-value"), "{err}");
        let err = csv("name,secret\nfirst,canary-value-1,extra\n,canary-value-4\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2") && err.contains("3 columns"), "{err}");
        assert!(err.contains("line 3") && err.contains("no title"), "{err}");
        assert!(!err.contains("canary-value"), "{err}");
    }

    #[test]
    fn unknown_or_missing_columns_are_refused_before_any_row() {
        let err = csv("name,colour\nx,y\n").unwrap_err().to_string();
        assert!(err.contains("'colour' (column 2) is not a column name"), "{err}");
        assert!(err.contains("no 'secret' column"), "{err}");
    }

    #[test]
    fn entries_without_a_secret_are_skipped_and_listed() {
        let bin = csv("title,password,group\ngone,abcdefgh12345678,Root/Recycle Bin\n").unwrap();
        assert!(bin.credentials.is_empty() && bin.skipped[0].title == "gone");
        let plan = csv("name,secret\nnote only,\nreal,abcdefgh12345678\n").unwrap();
        assert_eq!(plan.credentials.len(), 1);
        assert_eq!(plan.skipped[0].title, "note only");
        assert_eq!(plan.skipped[0].place, "line 2");
    }

    #[test]
    fn titles_used_twice_get_numbered_names() {
        let plan = csv("name,secret\nLogin,aaaaaaaa1\nlogin,bbbbbbbb2\nLogin,cccccccc3\n").unwrap();
        let names: Vec<_> = plan.credentials.iter().map(|p| p.credential.name.as_str()).collect();
        assert_eq!(names, vec!["Login", "login (2)", "Login (3)"]);
        assert_eq!(plan.renamed.len(), 2);
    }

    const KEEPASS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<KeePassFile>
  <Meta><Generator>KeePassXC</Generator><RecycleBinUUID>YmluYmluYmluYmluYmluYg==</RecycleBinUUID></Meta>
  <Root>
    <Group>
      <UUID>cm9vdHJvb3Ryb290cm9vdA==</UUID><Name>Passwords</Name>
      <Entry>
        <UUID>ZW50cnkxZW50cnkxZW50cg==</UUID>
        <Tags>finance;erp</Tags>
        <Times><Expires>True</Expires><ExpiryTime>2027-03-01T12:00:00Z</ExpiryTime></Times>
        <String><Key>Title</Key><Value>Xledger API &amp; sync</Value></String>
        <String><Key>UserName</Key><Value></Value></String>
        <String><Key>Password</Key><Value ProtectInMemory="True">xl_live_0123456789abcdef</Value></String>
        <String><Key>URL</Key><Value>https://www.xledger.net</Value></String>
        <String><Key>Notes</Key><Value>line one
line two</Value></String>
        <History>
          <Entry><String><Key>Title</Key><Value>old title</Value></String>
          <String><Key>Password</Key><Value ProtectInMemory="True">old-password-value</Value></String></Entry>
        </History>
      </Entry>
      <Group>
        <UUID>ZmluYW5jZWZpbmFuY2VmaQ==</UUID><Name>Finance Team</Name>
        <Entry>
          <String><Key>Title</Key><Value>Bank portal</Value></String>
          <String><Key>UserName</Key><Value>kari</Value></String>
          <String><Key>Password</Key><Value ProtectInMemory="True">pass word ø</Value></String>
          <String><Key>PIN</Key><Value ProtectInMemory="True">4321</Value></String>
          <String><Key>Customer no</Key><Value>88</Value></String>
        </Entry>
      </Group>
      <Group>
        <UUID>YmluYmluYmluYmluYmluYg==</UUID><Name>Recycle Bin</Name>
        <Entry><String><Key>Title</Key><Value>deleted</Value></String>
        <String><Key>Password</Key><Value ProtectInMemory="True">gone-gone-gone</Value></String></Entry>
      </Group>
    </Group>
  </Root>
</KeePassFile>"#;

    #[test]
    fn a_keepass_xml_export_keeps_titles_secrets_fields_tags_and_expiry_and_skips_history_and_the_bin() {
        let plan = parse(SourceFormat::KeepassXml, KEEPASS.as_bytes(), &ImportDefaults::default()).unwrap();
        assert_eq!(plan.credentials.len(), 2);
        let xl = &plan.credentials[0].credential;
        assert_eq!(xl.name, "Xledger API - sync");
        assert_eq!(xl.kind, Some(CredentialKind::ApiKey));
        assert_eq!(secret(&plan.credentials[0], "api_key"), "xl_live_0123456789abcdef");
        assert_eq!(xl.notes.as_deref(), Some("line one\nline two"));
        assert_eq!(xl.tags, vec!["finance", "erp"]);
        assert_eq!(xl.expires_at.map(|t| t.unix_timestamp()), Some(1_803_902_400));
        let bank = &plan.credentials[1];
        assert_eq!(bank.place, "entry 2 (group Finance Team)");
        assert_eq!(bank.credential.kind, Some(CredentialKind::Custom));
        assert_eq!(secret(bank, "password"), "pass word ø");
        assert_eq!(secret(bank, "pin"), "4321");
        assert_eq!(bank.credential.config["customer_no"], "88");
        assert_eq!(bank.credential.config["username"], "kari");
        assert_eq!(bank.credential.tags, vec!["finance-team"]);
        assert_eq!(plan.skipped.len(), 1);
        assert_eq!(plan.skipped[0].title, "deleted");
    }

    #[test]
    fn kdbx4_binary_times_are_read() {
        // 2027-03-01T12:00:00Z as KDBX 4 writes it.
        let secs: i64 = 1_803_902_400 + 62_135_596_800;
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(secs.to_le_bytes());
        assert_eq!(
            keepass_binary_time(&b64).map(|t| t.unix_timestamp()),
            Some(1_803_902_400)
        );
    }

    #[test]
    fn xml_that_is_not_a_keepass_export_or_has_a_dtd_is_refused() {
        let d = ImportDefaults::default();
        let err = parse(SourceFormat::KeepassXml, b"<html><body/></html>", &d)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a KeePass export"), "{err}");
        let bomb = r#"<?xml version="1.0"?><!DOCTYPE k [<!ENTITY a "aaaaaaaaaa">]><KeePassFile>&a;</KeePassFile>"#;
        let err = parse(SourceFormat::KeepassXml, bomb.as_bytes(), &d)
            .unwrap_err()
            .to_string();
        assert!(err.contains("DTD"), "{err}");
        let err = parse(SourceFormat::KeepassXml, b"<KeePassFile><Root>", &d)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not well-formed"), "{err}");
    }

    #[test]
    fn a_file_without_a_header_row_is_refused_without_repeating_its_first_line() {
        let err = csv("Pleo payroll,pk_live_FIRSTROWSECRET0001,ola\n")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("FIRSTROWSECRET"), "{err}");
        assert!(err.contains("column 2 is not a column name"), "{err}");
        // A plain heading is named, to help.
        let err = csv("name,colour\n").unwrap_err().to_string();
        assert!(err.contains("'colour' (column 2)"), "{err}");
    }

    #[test]
    fn groups_nested_a_hundred_thousand_deep_are_refused_without_a_stack_overflow() {
        let depth = 100_000;
        let mut xml = String::from("<KeePassFile><Root>");
        for _ in 0..depth {
            xml.push_str("<Group><Name>g</Name>");
        }
        xml.push_str("<Entry><String><Key>Title</Key><Value>deep</Value></String><String><Key>Password</Key><Value>deep-secret-1</Value></String></Entry>");
        for _ in 0..depth {
            xml.push_str("</Group>");
        }
        xml.push_str("</Root></KeePassFile>");
        let err = parse(SourceFormat::KeepassXml, xml.as_bytes(), &ImportDefaults::default()).unwrap_err();
        assert!(err.to_string().contains("nest more than 256 deep"), "{err}");
        // A quoted '>' or "/>" does not hide an opening tag.
        let sneaky = "<a x='/>'>".repeat(300);
        assert!(nests_deeper_than(&sneaky, 256));
        // Deep enough for real exports: a few groups in groups.
        let fine = format!("{}{}", "<Group>".repeat(40), "</Group>".repeat(40));
        assert!(!nests_deeper_than(&fine, 256));
        assert!(!nests_deeper_than(
            "<a/><b x=\"1\"/><!-- <c> --><![CDATA[<d>]]><?pi <e>?>",
            0
        ));
    }

    #[test]
    fn ten_thousand_entries_with_one_title_get_ten_thousand_names_in_one_pass() {
        let mut text = String::from("name,secret\n");
        for i in 0..10_000 {
            text.push_str(&format!("Login,secret-value-{i:05}\n"));
        }
        let start = std::time::Instant::now();
        let plan = csv(&text).unwrap();
        let names: HashSet<_> = plan
            .credentials
            .iter()
            .map(|p| p.credential.name.to_lowercase())
            .collect();
        assert_eq!(names.len(), 10_000);
        assert!(names.contains("login (10000)"));
        // Not a benchmark: the quadratic version took seconds here.
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn values_still_encrypted_by_keepass_are_refused_and_secret_named_fields_are_sealed() {
        let d = ImportDefaults::default();
        let encrypted = r#"<KeePassFile><Root><Group><Entry><String><Key>Title</Key><Value>x</Value></String><String><Key>Password</Key><Value Protected="True">c2VhbGVk</Value></String></Entry></Group></Root></KeePassFile>"#;
        let err = parse(SourceFormat::KeepassXml, encrypted.as_bytes(), &d)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("still encrypted by KeePass") && !err.contains("c2VhbGVk"),
            "{err}"
        );
        let plain = r#"<KeePassFile><Root><Group><Entry><String><Key>Title</Key><Value>Bank</Value></String>
            <String><Key>Password</Key><Value ProtectInMemory="True">pass-word-123</Value></String>
            <String><Key>API Token</Key><Value>tok-unprotected-1</Value></String>
            <String><Key>Region</Key><Value>eu</Value></String>
            <Binary><Key>id_rsa</Key><Value Ref="0"/></Binary></Entry></Group></Root></KeePassFile>"#;
        let plan = parse(SourceFormat::KeepassXml, plain.as_bytes(), &d).unwrap();
        let bank = &plan.credentials[0];
        assert_eq!(secret(bank, "api_token"), "tok-unprotected-1");
        assert!(!bank.credential.config.contains_key("api_token"));
        assert_eq!(bank.credential.config["region"], "eu");
        assert_eq!(plan.without_attachments[0].title, "Bank");
    }

    #[test]
    fn two_fields_that_make_the_same_name_are_refused_not_overwritten() {
        let xml = r#"<KeePassFile><Root><Group><Entry><String><Key>Title</Key><Value>x</Value></String>
            <String><Key>Password</Key><Value>pass-word-123</Value></String>
            <String><Key>Customer no</Key><Value>1</Value></String><String><Key>customer_no</Key><Value>2</Value></String>
            </Entry></Group></Root></KeePassFile>"#;
        let err = parse(SourceFormat::KeepassXml, xml.as_bytes(), &ImportDefaults::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("both named 'customer_no'"), "{err}");
    }

    #[test]
    fn not_utf8_is_refused_with_its_position() {
        let err = parse(
            SourceFormat::Csv,
            b"name,secret\nx,\xff\xfe",
            &ImportDefaults::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("byte 14 is not UTF-8"), "{err}");
    }
}
