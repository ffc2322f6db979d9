//! KeePass 2 XML files (`keepassxc-cli export --format xml`, KeePass's
//! "KeePass XML (2.x)").

use super::*;

/// The string fields KeePass itself defines; any other is a custom field.
pub(super) const KEEPASS_STANDARD: [&str; 5] = ["Title", "UserName", "Password", "URL", "Notes"];

/// Deeper than any KeePass export nests (groups in groups): refused before
/// the XML parser sees it, since roxmltree builds deep trees recursively and
/// a crafted file nested a hundred thousand deep overflowed the stack.
pub(super) const MAX_XML_DEPTH: usize = 256;

/// Whether elements nest deeper than `limit`: a scan of tags only, quotes,
/// comments, CDATA, declarations and processing instructions respected, so
/// that a '>' or "/>" inside an attribute value cannot hide an opening tag.
pub(super) fn nests_deeper_than(text: &str, limit: usize) -> bool {
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

pub(super) fn keepass_entries(text: &str) -> Result<Vec<Entry>> {
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

pub(super) fn xml_problem(e: &roxmltree::Error) -> &'static str {
    match e {
        roxmltree::Error::DtdDetected => "it has a DTD, which a KeePass export never has",
        roxmltree::Error::NodesLimitReached => "too many elements",
        roxmltree::Error::UnexpectedCloseTag(..) => "a closing tag does not match its opening tag",
        roxmltree::Error::UnknownEntityReference(..) => "an unknown &entity;",
        _ => "malformed markup",
    }
}

pub(super) fn child<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    node.children().find(|n| n.has_tag_name(name))
}

/// A group and its subgroups, depth first, in file order, with a stack
/// of our own: a crafted file nests groups a million deep, which recursion
/// would answer with a stack overflow. `folder` is the group's name, `None`
/// for the top group (the database itself).
pub(super) fn walk_group(top: roxmltree::Node, recycle_bin: Option<&str>, count: &mut usize, out: &mut Vec<Entry>) {
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
pub(super) fn keepass_entry(node: roxmltree::Node, folder: Option<&str>, in_bin: bool, n: usize) -> Entry {
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
pub(super) fn looks_secret(key: &str) -> bool {
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
pub(super) fn keepass_binary_time(s: &str) -> Option<OffsetDateTime> {
    use base64::Engine;
    if s.contains('-') {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD.decode(s).ok()?;
    let secs = i64::from_le_bytes(raw.try_into().ok()?);
    // 0001-01-01 to 1970-01-01 is 62,135,596,800 s.
    OffsetDateTime::from_unix_timestamp(secs.checked_sub(62_135_596_800)?).ok()
}
