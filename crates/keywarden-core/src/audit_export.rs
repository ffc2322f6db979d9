//! Audit events as CSV or JSON for auditors.

use crate::store::audit::AuditEvent;

/// RFC 4180 CSV. A cell that a spreadsheet would run as a formula
/// (`= + - @` first, or a tab/CR) is prefixed with `'`.
pub fn to_csv(events: &[AuditEvent]) -> String {
    let mut out = String::from("seq,at,profile,os_user,host,action,object_kind,object_id,object_name,outcome,detail\n");
    for e in events {
        let cells = [
            e.seq.to_string(),
            crate::timefmt::to_db(e.at),
            e.profile.clone(),
            e.os_user.clone(),
            e.host.clone(),
            e.action.clone(),
            e.object_kind.clone(),
            e.object_id.clone().unwrap_or_default(),
            e.object_name.clone().unwrap_or_default(),
            e.outcome.as_str().to_owned(),
            e.detail.clone(),
        ];
        let line: Vec<String> = cells.iter().map(|c| cell(c)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

fn cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

pub fn to_json(events: &[AuditEvent]) -> String {
    serde_json::to_string_pretty(events).unwrap_or_else(|_| "[]".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(cell("plain"), "plain");
    }
}
