//! A small OpenBao HTTP client: the calls Keywarden makes, nothing else.
//!
//! One client talks to one cluster through any of its nodes. A node that
//! cannot be reached, is sealed, or has no leader yet (an election after
//! the leader died) is skipped for the next, round the list, until
//! [`Bao::failover_window`] has passed: clients continue on the new leader
//! without the caller noticing more than a pause. Standby nodes forward
//! requests to the leader themselves; one that redirects instead is
//! skipped like one without a leader, as redirects are never followed.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::blocking::Client;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::error::BaoError;

/// How long a request keeps trying the cluster's nodes while none answers
/// as a leader. A Raft election on loopback takes 1–3 s.
const FAILOVER_WINDOW: Duration = Duration::from_secs(15);

/// How long a cluster of several nodes may refuse every connection before
/// it counts as unreachable: the nodes close their listeners while they
/// elect a new leader (measured 1–5 s on loopback, tests/raft.rs).
const ELECTION_WINDOW: Duration = Duration::from_secs(8);

pub struct Bao {
    nodes: Vec<String>,
    /// The node that answered last: tried first next time.
    preferred: AtomicUsize,
    token: SecretString,
    http: Client,
    failover_window: Duration,
}

/// Never the token.
impl std::fmt::Debug for Bao {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bao")
            .field("nodes", &self.nodes)
            .finish_non_exhaustive()
    }
}

/// What a failed attempt at one node means for the request.
enum Attempt {
    Done(Result<Value, BaoError>),
    /// Try the next node (connection refused, sealed, no leader);
    /// `answered`: the node did answer (sealed, electing), so the cluster
    /// is there.
    NextNode {
        why: String,
        answered: bool,
    },
    /// The node answered with a redirect, which is never followed.
    Redirected {
        why: String,
    },
}

impl Bao {
    /// `nodes`: base addresses such as `http://127.0.0.1:8200`, any node of
    /// the cluster. `token` may be empty before sign-in.
    pub fn new(nodes: &[String], token: SecretString) -> Result<Bao, BaoError> {
        if nodes.is_empty() {
            return Err(BaoError::Config("no OpenBao address was given".into()));
        }
        let mut clean = Vec::new();
        for n in nodes {
            let n = n.trim().trim_end_matches('/');
            if !(n.starts_with("https://") || n.starts_with("http://")) {
                return Err(BaoError::Config(format!(
                    "'{n}' is not an OpenBao address; give one like https://bao.example.org:8200"
                )));
            }
            // Passwords and tokens cross this connection: plain HTTP only
            // to this machine.
            if n.starts_with("http://") && !is_loopback(n) {
                return Err(BaoError::Config(format!(
                    "'{n}' is plain HTTP to another machine, which would carry your password and token in clear; use https://"
                )));
            }
            clean.push(n.to_owned());
        }
        // Passwords and tokens go to the nodes given, and nowhere else: no
        // redirect is followed (reqwest's default follows ten, to any
        // host, with the body and the `X-Vault-Token` header), and no proxy
        // from the environment sits in between.
        let http = Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .map_err(|e| BaoError::Config(format!("the HTTP client could not start: {e}")))?;
        Ok(Bao {
            nodes: clean,
            preferred: AtomicUsize::new(0),
            token,
            http,
            failover_window: FAILOVER_WINDOW,
        })
    }

    /// The same cluster with another token (after sign-in).
    pub fn with_token(&self, token: SecretString) -> Bao {
        Bao {
            nodes: self.nodes.clone(),
            preferred: AtomicUsize::new(self.preferred.load(Ordering::Relaxed)),
            token,
            http: self.http.clone(),
            failover_window: self.failover_window,
        }
    }

    pub fn nodes(&self) -> &[String] {
        &self.nodes
    }

    pub fn token(&self) -> &SecretString {
        &self.token
    }

    /// For tests that kill nodes: how long to keep trying the others.
    pub fn set_failover_window(&mut self, window: Duration) {
        self.failover_window = window;
    }

    pub fn get(&self, path: &str) -> Result<Value, BaoError> {
        self.call(Method::GET, path, None)
    }

    pub fn list(&self, path: &str) -> Result<Value, BaoError> {
        let list = Method::from_bytes(b"LIST").map_err(|_| BaoError::Config("LIST".into()))?;
        self.call(list, path, None)
    }

    /// OpenBao's recursive list (`SCAN`, 2.2+): every key below `path`.
    pub fn scan(&self, path: &str) -> Result<Value, BaoError> {
        let scan = Method::from_bytes(b"SCAN").map_err(|_| BaoError::Config("SCAN".into()))?;
        self.call(scan, path, None)
    }

    pub fn post(&self, path: &str, body: &Value) -> Result<Value, BaoError> {
        self.call(Method::POST, path, Some(body))
    }

    pub fn put(&self, path: &str, body: &Value) -> Result<Value, BaoError> {
        self.call(Method::PUT, path, Some(body))
    }

    pub fn delete(&self, path: &str) -> Result<Value, BaoError> {
        self.call(Method::DELETE, path, None)
    }

    /// One request, failing over between nodes. `path` is below `/v1/`.
    /// The answer's JSON (`null` for 204).
    pub fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value, BaoError> {
        let started = Instant::now();
        let n = self.nodes.len();
        let mut last = String::new();
        let mut round = 0u32;
        loop {
            let first = self.preferred.load(Ordering::Relaxed);
            // Whether any node answered at all this round: a cluster
            // electing a leader answers 503; one that is down, or a
            // laptop that is offline, answers nothing.
            let mut any_answer = false;
            let mut redirects = 0;
            for step in 0..n {
                let i = (first + step) % n;
                match self.attempt(&self.nodes[i], &method, path, body) {
                    Attempt::Done(answer) => {
                        self.preferred.store(i, Ordering::Relaxed);
                        return answer;
                    }
                    Attempt::NextNode { why, answered } => {
                        any_answer |= answered;
                        last = format!("{}: {why}", self.nodes[i]);
                    }
                    Attempt::Redirected { why } => {
                        redirects += 1;
                        last = format!("{}: {why}", self.nodes[i]);
                    }
                }
            }
            // Every node points elsewhere: waiting changes nothing.
            if redirects == n {
                return Err(BaoError::Unreachable {
                    nodes: self.nodes.join(", "),
                    reason: last,
                });
            }
            any_answer |= redirects > 0;
            // Nobody answered. One node: it is down or we are offline; say
            // so after a second try rather than after the whole window.
            // Several: while a new leader is elected every node may refuse
            // connections for a few seconds (measured 1–5 s on loopback),
            // so keep trying that long.
            let silent_for = if n == 1 { Duration::ZERO } else { ELECTION_WINDOW };
            let silent = !any_answer && round >= 1 && started.elapsed() >= silent_for;
            if silent || started.elapsed() >= self.failover_window {
                return Err(BaoError::Unreachable {
                    nodes: self.nodes.join(", "),
                    reason: last,
                });
            }
            round += 1;
            std::thread::sleep(Duration::from_millis((100 * u64::from(round)).min(500)));
        }
    }

    fn attempt(&self, node: &str, method: &Method, path: &str, body: Option<&Value>) -> Attempt {
        let url = format!("{node}/v1/{path}");
        let mut req = self.http.request(method.clone(), &url);
        if !self.token.expose_secret().is_empty() {
            req = req.header("X-Vault-Token", self.token.expose_secret());
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = match req.send() {
            Ok(r) => r,
            Err(e) => {
                // Refused or unroutable: nobody there. A node that took the
                // connection and then failed (a standby losing its leader
                // mid-request) is part of a cluster that is electing.
                let answered = !e.is_connect();
                return Attempt::NextNode {
                    why: connect_reason(e),
                    answered,
                };
            }
        };
        let status = resp.status().as_u16();
        if resp.status().is_redirection() {
            // A standby with request forwarding turned off points at its
            // leader. The leader is one of the nodes given, tried next; an
            // address outside that list is never sent the password or token.
            let to = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|l| reqwest::Url::parse(l).ok())
                .map(|u| u.origin().ascii_serialization())
                .unwrap_or_else(|| "an address it did not give".into());
            return Attempt::Redirected {
                why: format!(
                    "HTTP {status}: redirected to {to}, which was not followed; if that is your leader, add it to the team's addresses"
                ),
            };
        }
        let text = match resp.text() {
            Ok(t) => t,
            // It answered, then the body broke off: the node is there.
            Err(e) => {
                return Attempt::NextNode {
                    why: connect_reason(e),
                    answered: true,
                };
            }
        };
        // 503: sealed, a standby without a leader, or a leader stepping
        // down. A 500 naming a missing active node is the same during an
        // election. Both mean: another node may answer.
        let election = status == 500
            && ["not active", "no leader", "leadership", "active cluster node not found"]
                .iter()
                .any(|m| text.contains(m));
        if status == 503 || election {
            return Attempt::NextNode {
                why: format!("HTTP {status}: no active node"),
                answered: true,
            };
        }
        Attempt::Done(classify(status, &text, path))
    }
}

/// Whether an `http://host[:port]` address names this machine.
fn is_loopback(addr: &str) -> bool {
    let rest = addr.trim_start_matches("http://");
    let host = rest.split('/').next().unwrap_or_default();
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The reason of a transport error, without the URL's query.
fn connect_reason(e: reqwest::Error) -> String {
    if e.is_connect() {
        "connection refused".into()
    } else if e.is_timeout() {
        "no answer in time".into()
    } else {
        e.without_url().to_string()
    }
}

/// OpenBao's documented answers: 200/204 success, 400 invalid request
/// (check-and-set mismatch among them), 403 permission denied or bad
/// token, 404 nothing there, 5xx its own failure.
pub(crate) fn classify(status: u16, text: &str, path: &str) -> Result<Value, BaoError> {
    let json: Value = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(text).map_err(|_| BaoError::Decode {
            path: path.to_owned(),
            reason: format!("HTTP {status} with a body that is not JSON"),
        })?
    };
    let errors: Vec<String> = json
        .get("errors")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    match status {
        200..=299 => Ok(json),
        400 if errors.iter().any(|e| e.contains("check-and-set")) => {
            Err(BaoError::CasMismatch { path: path.to_owned() })
        }
        403 => Err(BaoError::Forbidden {
            path: path.to_owned(),
            detail: errors.join("; "),
        }),
        404 => Err(BaoError::NotFound { path: path.to_owned() }),
        _ => Err(BaoError::Status {
            status,
            path: path.to_owned(),
            errors: errors.join("; "),
        }),
    }
}
