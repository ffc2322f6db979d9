//! Issue 20, finding 3: a node answering with a redirect to another
//! address must not get the password or the token sent there. reqwest's
//! default policy followed a 307 with the JSON body and `X-Vault-Token`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keywarden_team::client::Bao;
use secrecy::SecretString;
use serde_json::json;

const PASSWORD: &str = "canary-password-7f3a9c";
const TOKEN: &str = "s.canary-token-5b1e2d";

/// Records every byte anyone sends to it.
fn capture() -> (String, Arc<Mutex<Vec<u8>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("http://{}", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            conn.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
            let mut buf = [0u8; 4096];
            while let Ok(n) = conn.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
            let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
        }
    });
    (addr, got)
}

/// A node that answers every request with `status` and `Location: to`.
fn redirecting_node(status: u16, to: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            conn.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let answer = format!(
                "HTTP/1.1 {status} Redirect\r\nLocation: {to}/v1/auth/userpass/login/alice\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            let _ = conn.write_all(answer.as_bytes());
        }
    });
    addr
}

#[test]
fn a_node_redirecting_elsewhere_never_gets_the_password_or_token_sent_there() {
    for status in [301, 302, 303, 307, 308] {
        let (elsewhere, got) = capture();
        let node = redirecting_node(status, elsewhere.clone());
        let bao = Bao::new(std::slice::from_ref(&node), SecretString::from(TOKEN.to_owned())).unwrap();
        let started = std::time::Instant::now();
        let err = bao
            .post("auth/userpass/login/alice", &json!({ "password": PASSWORD }))
            .expect_err("a redirect is not an answer");
        let text = err.to_string();
        assert!(
            text.contains(&format!("redirected to {elsewhere}")) && text.contains("not followed"),
            "HTTP {status}: {text}"
        );
        assert!(!text.contains(PASSWORD) && !text.contains(TOKEN), "{text}");
        // Said at once, not after the 15 s fail-over window: waiting for a
        // node that points elsewhere changes nothing.
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "HTTP {status}: {:?}",
            started.elapsed()
        );
        std::thread::sleep(Duration::from_millis(100));
        let sent = String::from_utf8_lossy(&got.lock().unwrap()).into_owned();
        assert!(sent.is_empty(), "HTTP {status}: the redirect target was sent {sent:?}");
    }
}

/// The leader a standby points at is reached when it is one of the nodes
/// given: the next node is tried, as for a standby without a leader.
#[test]
fn a_standby_redirecting_to_a_listed_leader_fails_over_to_it() {
    let (leader, got) = capture();
    let standby = redirecting_node(307, leader.clone());
    let bao = Bao::new(&[standby, leader], SecretString::from(TOKEN.to_owned())).unwrap();
    bao.post("auth/userpass/login/alice", &json!({ "password": PASSWORD }))
        .unwrap();
    let sent = String::from_utf8_lossy(&got.lock().unwrap()).into_owned();
    assert!(sent.contains(PASSWORD), "the listed leader got the login: {sent:?}");
}
