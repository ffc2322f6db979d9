//! The providers' documented requests and answers, kept as fixture files
//! in `tests/fixtures/providers/<provider>/<name>.http` (feature `fakes`),
//! and the shape check every provider fake's answer must pass.
//!
//! A fixture is one HTTP message copied from a provider's published
//! document: a first line `# <document> — <section> — <url> (read <date>)`,
//! then the status line (`HTTP/1.1 200 OK`) or request line, the headers,
//! an empty line and the body as documented. The fakes serve these bodies,
//! varying only ids, scopes and secrets, so a validator is tested against
//! what the provider says it sends rather than what our code expects.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The folder holding every provider's fixtures.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/providers")
}

/// The first line of an HTTP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine {
    Request { method: String, target: String },
    Response { status: u16 },
}

#[derive(Debug, Clone)]
pub struct Fixture {
    /// `<provider>/<file name>`, e.g. `pleo/introspect.200.http`.
    pub name: String,
    /// The document and section it was copied from.
    pub source: String,
    pub start: StartLine,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Fixture {
    /// Reads `tests/fixtures/providers/<name>`; a missing or malformed
    /// fixture is a broken test tree, so it panics saying which.
    pub fn load(name: &str) -> Fixture {
        let path = dir().join(name);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("provider fixture {} cannot be read: {e}", path.display()));
        Fixture::parse(name, &text).unwrap_or_else(|e| panic!("provider fixture {name} is malformed: {e}"))
    }

    pub fn parse(name: &str, text: &str) -> Result<Fixture, String> {
        let text = text.replace("\r\n", "\n");
        let (first, rest) = text.split_once('\n').ok_or("it has no message after its source line")?;
        let source = first
            .strip_prefix("# ")
            .filter(|s| !s.trim().is_empty())
            .ok_or("its first line must be `# <document> — <section> — <url> (read <date>)`")?
            .trim()
            .to_owned();
        let (head, body) = match rest.split_once("\n\n") {
            Some((h, b)) => (h, b),
            None => (rest.trim_end_matches('\n'), ""),
        };
        let mut lines = head.lines();
        let start_line = lines.next().ok_or("it has no status or request line")?;
        let start = if let Some(status) = start_line.strip_prefix("HTTP/1.1 ") {
            let code = status
                .split_whitespace()
                .next()
                .and_then(|c| c.parse().ok())
                .ok_or_else(|| format!("'{start_line}' has no status code"))?;
            StartLine::Response { status: code }
        } else {
            let mut parts = start_line.split_whitespace();
            match (parts.next(), parts.next(), parts.next()) {
                (Some(method), Some(target), Some("HTTP/1.1")) => StartLine::Request {
                    method: method.to_owned(),
                    target: target.to_owned(),
                },
                _ => return Err(format!("'{start_line}' is neither a status line nor a request line")),
            }
        };
        let mut headers = Vec::new();
        for line in lines {
            let (k, v) = line
                .split_once(':')
                .ok_or_else(|| format!("header line '{line}' has no ':'"))?;
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
        let fixture = Fixture {
            name: name.to_owned(),
            source,
            start,
            headers,
            body: body.trim_end_matches('\n').to_owned(),
        };
        if fixture.is_json() && serde_json::from_str::<Value>(&fixture.body).is_err() {
            return Err("its Content-Type is JSON but its body does not parse as JSON".into());
        }
        Ok(fixture)
    }

    /// Every fixture of every provider, in name order.
    pub fn all() -> Vec<Fixture> {
        let mut names = Vec::new();
        let root = dir();
        let providers = std::fs::read_dir(&root)
            .unwrap_or_else(|e| panic!("provider fixtures folder {} cannot be read: {e}", root.display()));
        for provider in providers.flatten() {
            let Ok(files) = std::fs::read_dir(provider.path()) else {
                continue;
            };
            for file in files.flatten() {
                let file_name = file.file_name().to_string_lossy().into_owned();
                if file_name.ends_with(".http") {
                    names.push(format!("{}/{file_name}", provider.file_name().to_string_lossy()));
                }
            }
        }
        names.sort();
        names.iter().map(|n| Fixture::load(n)).collect()
    }

    /// The status of a documented answer; panics on a request fixture.
    pub fn status(&self) -> u16 {
        match self.start {
            StartLine::Response { status } => status,
            StartLine::Request { .. } => panic!("fixture {} is a request, not an answer", self.name),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn is_json(&self) -> bool {
        self.header("content-type").is_some_and(|t| t.contains("json"))
    }

    /// The body as JSON; panics when the fixture's body is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("fixture {} has no JSON body: {e}", self.name))
    }

    /// The form fields of an `application/x-www-form-urlencoded` body.
    pub fn form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.body.as_bytes()).into_owned().collect()
    }
}

/// Where `actual` differs in shape from `expected`, the documented answer:
/// the same members (no more, no fewer), the same nesting, the same JSON
/// types; every element of an array shaped like one of the documented
/// elements. Values are free: ids, scopes and secrets vary. `None` when the
/// shapes agree.
pub fn shape_difference(expected: &Value, actual: &Value) -> Option<String> {
    difference_at("$", expected, actual)
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn difference_at(path: &str, expected: &Value, actual: &Value) -> Option<String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            if let Some(k) = e.keys().find(|k| !a.contains_key(*k)) {
                return Some(format!("at {path}: the documented member '{k}' is missing"));
            }
            if let Some(k) = a.keys().find(|k| !e.contains_key(*k)) {
                return Some(format!("at {path}: member '{k}' is not in the documented answer"));
            }
            e.iter()
                .find_map(|(k, ev)| difference_at(&format!("{path}.{k}"), ev, &a[k]))
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.is_empty() {
                return None;
            }
            a.iter().enumerate().find_map(|(i, av)| {
                let at = format!("{path}[{i}]");
                let mut differences = e.iter().map(|ev| difference_at(&at, ev, av));
                // Shaped like any one documented element is enough.
                let first = differences.next().flatten()?;
                if differences.any(|d| d.is_none()) {
                    None
                } else {
                    Some(first)
                }
            })
        }
        (e, a) if type_name(e) == type_name(a) => None,
        (e, a) => Some(format!("at {path}: expected {}, found {}", type_name(e), type_name(a))),
    }
}

/// The documented answer `name` as JSON, changed by `edit` (the ids,
/// scopes and secrets of a test), then checked to still have the
/// documented shape: a fake never serves what the provider would not.
pub fn answer(name: &str, edit: impl FnOnce(&mut Value)) -> (Fixture, Value) {
    let fixture = Fixture::load(name);
    let documented = fixture.json();
    let mut body = documented.clone();
    edit(&mut body);
    if let Some(d) = shape_difference(&documented, &body) {
        panic!(
            "a fake's answer differs from the documented {name} ({}): {d}",
            fixture.source
        );
    }
    (fixture, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn same_members_and_types_are_the_same_shape() {
        let doc = json!({"data": {"scope": "a b", "n": 1, "list": [{"id": "x"}]}});
        let ours = json!({"data": {"scope": "c", "n": 7, "list": [{"id": "y"}, {"id": "z"}]}});
        assert_eq!(shape_difference(&doc, &ours), None);
    }

    #[test]
    fn a_member_moved_out_of_its_wrapper_is_a_different_shape() {
        let doc = json!({"data": {"subjectURN": "urn:pleo:company:1", "scope": "a"}});
        let flat = json!({"subjectURN": "urn:pleo:company:1", "scope": "a"});
        let d = shape_difference(&doc, &flat).unwrap();
        assert!(d.contains("'data' is missing"), "{d}");
    }

    #[test]
    fn an_extra_member_a_wrong_type_and_a_wrong_element_are_named() {
        let doc = json!({"a": "x", "b": [{"c": 1}]});
        assert!(
            shape_difference(&doc, &json!({"a": "x", "b": [], "z": 1}))
                .unwrap()
                .contains("'z'")
        );
        assert!(
            shape_difference(&doc, &json!({"a": ["x"], "b": []}))
                .unwrap()
                .contains("at $.a: expected string, found array")
        );
        assert!(
            shape_difference(&doc, &json!({"a": "x", "b": [{"c": "1"}]}))
                .unwrap()
                .contains("$.b[0].c")
        );
    }

    #[test]
    fn a_fixture_parses_its_source_status_headers_and_body() {
        let f = Fixture::parse(
            "p/x.http",
            "# Doc — section — https://example.org (read 2026-12-02)\nHTTP/1.1 401 Unauthorized\nContent-Type: application/json\nWWW-Authenticate: Bearer realm=\"example\"\n\n{\"error\": \"x\"}\n",
        )
        .unwrap();
        assert_eq!(f.status(), 401);
        assert_eq!(f.header("www-authenticate"), Some("Bearer realm=\"example\""));
        assert_eq!(f.json(), json!({"error": "x"}));
        assert!(f.source.starts_with("Doc"));
        assert!(
            Fixture::parse("p/y.http", "HTTP/1.1 200 OK\n\n").is_err(),
            "no source line"
        );
    }
}
