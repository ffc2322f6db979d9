//! Issue 19: the provider fakes answer as the providers document, and a
//! fake that does not is caught.
//!
//! - every fixture in tests/fixtures/providers parses, names its source
//!   (a URL and the day it was read) and, where its body is JSON, that
//!   body parses;
//! - the shape check refuses the answers the fakes served before: Pleo's
//!   introspection without its `data` wrapper, an Entra error without
//!   `error_codes`, a token answer with a member no document shows;
//! - the public `fakes::FakePleo`, asked over a plain TCP socket, answers
//!   exactly in the documented shape and with the documented status.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use base64::Engine;
use fake::Reply;
use keywarden_connectors::fakes::FakePleo;
use keywarden_connectors::fixtures::{self, Fixture, StartLine, shape_difference};
use serde_json::{Value, json};

const READ: &str = "(read 2026-12-02)";

#[test]
fn every_fixture_parses_names_its_source_and_has_a_json_body_that_parses() {
    let all = Fixture::all();
    assert!(
        all.len() > 20,
        "only {} fixtures found in {}",
        all.len(),
        fixtures::dir().display()
    );
    for provider in [
        "pleo",
        "entra",
        "business-central",
        "xledger",
        "rfc6749",
        "rfc6750",
        "rfc6585",
    ] {
        assert!(
            all.iter().any(|f| f.name.starts_with(&format!("{provider}/"))),
            "no fixture of {provider}"
        );
    }
    for f in &all {
        let url = f
            .source
            .split_whitespace()
            .find(|w| w.starts_with("https://") && w.len() > "https://".len() + 3);
        assert!(url.is_some(), "{}: its source line names no URL: {}", f.name, f.source);
        assert!(
            f.source.contains(READ),
            "{}: its source line does not say {READ}: {}",
            f.name,
            f.source
        );
        match &f.start {
            StartLine::Response { status } => assert!((100..600).contains(status), "{}: status {status}", f.name),
            StartLine::Request { method, target } => {
                assert!(!method.is_empty() && !target.is_empty(), "{}", f.name)
            }
        }
        // JSON by its Content-Type, or by its look where the document
        // shows no headers (Entra's pages).
        let body = f.body.trim_start();
        if f.is_json() || body.starts_with('{') || body.starts_with('[') {
            let parsed = serde_json::from_str::<Value>(&f.body);
            assert!(parsed.is_ok(), "{}: its body is not JSON: {:?}", f.name, parsed.err());
        }
    }
}

#[test]
fn the_pre_issue_19_pleo_answer_differs_in_shape_from_the_documented_one() {
    let documented = Fixture::load("pleo/introspect.200.http").json();
    // What the fakes served before: subjectURN and scope at the top level.
    let old = json!({"subjectURN": "urn:pleo:company:2b7c1d4e-0000-4000-8000-00000000acme", "scope": "export:read"});
    let d = shape_difference(&documented, &old).expect("the flat answer was taken for Pleo's");
    assert!(d.contains("'data' is missing"), "{d}");
    // A fake building it from the fixture is stopped.
    let served = catch_unwind(|| {
        fixtures::answer("pleo/introspect.200.http", |b| *b = old.clone());
    });
    assert!(served.is_err(), "fixtures::answer let the flat answer through");
    let served = catch_unwind(|| {
        Reply::fixture("pleo/introspect.200.http", |b| {
            b["subjectURN"] = "urn:pleo:company:x".into();
        })
    });
    assert!(served.is_err(), "Reply::fixture let a member outside `data` through");
    // The documented answer with only its values changed passes.
    let (_, ours) = fixtures::answer("pleo/introspect.200.http", |b| {
        b["data"]["subjectURN"] = "urn:pleo:company:2b7c1d4e-0000-4000-8000-00000000acme".into();
        b["data"]["scope"] = "export:read".into();
    });
    assert_eq!(shape_difference(&documented, &ours), None);
}

#[test]
fn an_entra_error_without_error_codes_differs_in_shape_from_the_documented_one() {
    let documented = Fixture::load("entra/token.error.400.http").json();
    let mut without = documented.clone();
    without.as_object_mut().unwrap().remove("error_codes");
    let d = shape_difference(&documented, &without).expect("an Entra error without error_codes was taken for one");
    assert!(d.contains("'error_codes' is missing"), "{d}");
    // error_codes is a list of numbers, not of strings.
    let mut as_text = documented.clone();
    as_text["error_codes"] = json!(["70011"]);
    assert!(shape_difference(&documented, &as_text).is_some());
    // The bare RFC 6749 error the fakes served before is not Entra's.
    let bare = json!({"error": "invalid_client"});
    assert!(shape_difference(&documented, &bare).is_some());
    let served = catch_unwind(AssertUnwindSafe(|| {
        Reply::fixture("entra/token.error.400.http", |b| {
            b.as_object_mut().unwrap().remove("error_codes");
        })
    }));
    assert!(served.is_err(), "Reply::fixture let the edited Entra error through");
}

#[test]
fn a_token_answer_with_a_member_no_document_shows_is_refused() {
    // The pre-issue-19 OAuth fakes added refresh_token_expires_in.
    let served = catch_unwind(|| {
        Reply::fixture("rfc6750/token.200.http", |b| {
            b["refresh_token_expires_in"] = 86400.into();
        })
    });
    assert!(served.is_err());
    // expires_in is a number, not a string.
    let served = catch_unwind(|| {
        Reply::fixture("rfc6749/token.200.http", |b| {
            b["expires_in"] = "3600".into();
        })
    });
    assert!(served.is_err());
}

/// One HTTP/1.1 GET over a plain socket: status, headers, body.
fn get(base: &str, path: &str, authorization: &str) -> (u16, Vec<(String, String)>, String) {
    let addr = base.strip_prefix("http://").unwrap();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {authorization}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw.as_str(), ""));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {raw:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let body = match headers.iter().find(|(k, _)| k == "content-length") {
        Some((_, n)) => body[..n.parse::<usize>().unwrap()].to_owned(),
        None => body.to_owned(),
    };
    (status, headers, body)
}

fn basic(key: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{key}:"))
    )
}

#[test]
fn the_public_fake_pleo_answers_in_the_documented_shape_and_status() {
    const KEY: &str = "pleo-conformance-key-7a1e";
    const COMPANY: &str = "5e6f7a8b-0000-4000-8000-00000000c0de";
    let pleo = FakePleo::start(&[KEY], COMPANY, false).unwrap();

    let ok = Fixture::load("pleo/introspect.200.http");
    let (status, headers, body) = get(&pleo.base, "/v1/introspect", &basic(KEY));
    assert_eq!(status, ok.status());
    let content_type = headers
        .iter()
        .find(|(k, _)| k == "content-type")
        .map(|(_, v)| v.as_str());
    assert!(
        content_type.is_some_and(|t| t.contains("application/json")),
        "{content_type:?}"
    );
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(shape_difference(&ok.json(), &body), None, "{body}");
    assert_eq!(body["data"]["subjectURN"], format!("urn:pleo:company:{COMPANY}"));

    let refused = Fixture::load("pleo/introspect.401.http");
    let (status, _, body) = get(&pleo.base, "/v1/introspect", &basic("pleo-some-other-key"));
    assert_eq!(status, refused.status());
    assert_eq!(body, refused.body, "401 is documented with no body");

    let seen = pleo.seen();
    assert_eq!(seen.len(), 2);
    assert!(
        seen.iter().all(|s| s.request_line == "GET /v1/introspect HTTP/1.1"),
        "{seen:?}"
    );
}
