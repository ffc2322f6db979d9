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

mod csv_file;
mod keepass_xml;

use self::csv_file::*;
use self::keepass_xml::*;

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

    /// The format of a file chosen without naming one (the app's Import):
    /// by its extension, else by its first character (an XML file begins
    /// with '<', after a byte-order mark or blank space; a CSV file's
    /// heading row cannot).
    pub fn guess(file_name: &str, bytes: &[u8]) -> Self {
        let extension = file_name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
        match extension.as_deref() {
            Some("xml") => return Self::KeepassXml,
            Some("csv" | "txt") => return Self::Csv,
            _ => {}
        }
        let text = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
        match text.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'<') => Self::KeepassXml,
            _ => Self::Csv,
        }
    }
}

/// Reads a whole export into memory that is wiped when dropped, up to one
/// byte past `MAX_IMPORT_BYTES` (so `parse` can say the file is too large
/// without reading all of a huge one).
pub fn read_export(source: impl std::io::Read) -> std::io::Result<ImportBytes> {
    use std::io::Read;
    let mut bytes = Zeroizing::new(Vec::new());
    source.take(MAX_IMPORT_BYTES as u64 + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
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
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Skipped {
    pub place: String,
    pub title: String,
    pub reason: String,
}

/// A title changed to fit a Keywarden name (characters a name cannot hold,
/// or a second entry with the same title).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
    let mut config = config_of(entry.fields)?;
    let kind = kind_of(
        entry.kind.as_deref(),
        &entry.username,
        entry.password.as_ref(),
        !entry.extra_secrets.is_empty(),
    )?;
    if !entry.username.is_empty() && config.insert("username".into(), entry.username).is_some() {
        return Err(
            "it has a user name and also a custom field named 'username'; rename the field in the source tool".into(),
        );
    }
    let secrets = secrets_of(kind, entry.password, entry.extra_secrets)?;
    let folder_tag = entry.group.as_deref().and_then(group_tag);
    let mut tags: Vec<String> = Vec::new();
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

/// An entry's non-secret fields under their field names.
fn config_of(fields: Vec<(String, String)>) -> std::result::Result<BTreeMap<String, String>, String> {
    let mut config = BTreeMap::new();
    for (key, value) in fields {
        let field = field_name(&key)
            .ok_or_else(|| format!("the field '{key}' has no letters or digits; rename it in the source tool"))?;
        if config.insert(field.clone(), value).is_some() {
            return Err(format!(
                "two of its fields are both named '{field}' once made a field name; rename one in the source tool"
            ));
        }
    }
    Ok(config)
}

/// The type an entry names, or the one its contents suggest.
fn kind_of(
    named: Option<&str>,
    username: &str,
    password: Option<&SecretString>,
    more_secrets: bool,
) -> std::result::Result<CredentialKind, String> {
    Ok(match named {
        Some(k) => k
            .parse::<CredentialKind>()
            .map_err(|_| "its type is not one of api-key, oauth2, basic, custom".to_owned())?,
        None if more_secrets => CredentialKind::Custom,
        None if !username.is_empty() => CredentialKind::Basic,
        None if password.is_some_and(fits_api_key) => CredentialKind::ApiKey,
        // A password with spaces or non-ASCII letters is not an API key;
        // it is kept as it is, under its own name.
        None => CredentialKind::Custom,
    })
}

/// An entry's secrets: its password under the type's field, and for a
/// custom credential its protected fields.
fn secrets_of(
    kind: CredentialKind,
    password: Option<SecretString>,
    extra: Vec<(String, SecretString)>,
) -> std::result::Result<SecretFields, String> {
    let mut secrets = SecretFields::new();
    let primary = match kind {
        CredentialKind::ApiKey => "api_key",
        CredentialKind::Basic | CredentialKind::Custom => "password",
        CredentialKind::OAuth2 => "client_secret",
    };
    if let Some(p) = password {
        secrets.insert(primary, p);
    }
    for (key, value) in extra {
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
    Ok(secrets)
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

    #[test]
    fn a_file_named_without_a_format_is_read_by_its_extension_then_its_first_character() {
        assert_eq!(
            SourceFormat::guess("export.XML", b"name,secret"),
            SourceFormat::KeepassXml
        );
        assert_eq!(SourceFormat::guess("export.csv", b"<KeePassFile>"), SourceFormat::Csv);
        assert_eq!(
            SourceFormat::guess("export", "\u{feff}\n <?xml version".as_bytes()),
            SourceFormat::KeepassXml
        );
        assert_eq!(SourceFormat::guess("export", b"name,secret\n"), SourceFormat::Csv);
        assert_eq!(SourceFormat::guess("export", b""), SourceFormat::Csv);
    }

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
