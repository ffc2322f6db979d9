//! Audit streaming: every audit event, as it is committed, also written to
//! an append-only JSON-lines file and/or to syslog (RFC 5424 over the local
//! socket), for a SIEM to collect. Each line carries the event's chain MAC
//! and the MAC before it, so the stream can be verified on its own
//! (`verify`, `kw audit verify --stream FILE`): an altered line fails its
//! MAC, a dropped one leaves a gap in the sequence, a reordered one breaks
//! the chain.
//!
//! Lines of one vault land in commit order across programs: the file is
//! locked (`flock`) before the database commit and released after the
//! lines are appended, and commits are serialised by SQLite's write lock.
//! A stream that cannot be written does not stop the vault (a network
//! share down must not lock the finance team out); the problem is said
//! (`Vault::stream_problem`), and the gap shows when the stream is verified.
//! Nothing secret is in an event, so nothing secret is in the stream.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::crypto::AuditMacKey;
use crate::error::{Error, Result};
use crate::store::audit::{AuditEvent, Outcome};

/// Where the stream goes (from the settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditStream {
    pub file: Option<PathBuf>,
    /// The local syslog socket (`/dev/log`).
    pub syslog: Option<PathBuf>,
}

/// One line of the stream: the event as stored, with its chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamEvent {
    pub vault_id: String,
    pub seq: i64,
    /// As stored and MAC'd (RFC 3339, microseconds).
    pub at: String,
    pub profile: String,
    pub os_user: String,
    pub host: String,
    pub action: String,
    pub object_kind: String,
    pub object_id: Option<String>,
    pub object_name: Option<String>,
    pub outcome: Outcome,
    pub detail: String,
    /// Hex: the MAC of the event before this one (the genesis MAC for the
    /// first), and this event's.
    pub prev_mac: String,
    pub mac: String,
}

impl AuditStream {
    /// The stream the settings ask for, if any.
    pub fn from_settings(s: &crate::settings::Settings) -> Option<AuditStream> {
        let path = |t: &str| (!t.trim().is_empty()).then(|| PathBuf::from(t.trim()));
        let stream = AuditStream {
            file: path(&s.audit_stream_file),
            syslog: path(&s.audit_stream_syslog),
        };
        (stream.file.is_some() || stream.syslog.is_some()).then_some(stream)
    }

    /// Where it goes, in words.
    pub fn describe(&self) -> String {
        match (&self.file, &self.syslog) {
            (Some(f), Some(l)) => format!("{} and syslog {}", f.display(), l.display()),
            (Some(f), None) => f.display().to_string(),
            (None, Some(l)) => format!("syslog {}", l.display()),
            (None, None) => "nowhere".to_owned(),
        }
    }

    /// Opens the file and takes its lock, before a commit.
    pub(crate) fn begin(&self) -> Result<StreamWrite> {
        let file = match &self.file {
            Some(path) => {
                let file = open_append(path)?;
                lock_within(&file, path)?;
                Some((file, path.clone()))
            }
            None => None,
        };
        Ok(StreamWrite {
            file,
            syslog: self.syslog.clone(),
        })
    }

    /// Whether the stream can be written (checked when it is configured).
    pub fn check(&self) -> Result<()> {
        if let Some(path) = &self.file {
            open_append(path)?;
        }
        if let Some(socket) = &self.syslog {
            syslog_socket(socket)?;
        }
        Ok(())
    }
}

/// Reads a stream file under its shared lock (5 s at most to get it).
pub(crate) fn read_locked(path: &Path) -> Result<String> {
    let io = |e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let mut file = File::open(path).map_err(io)?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match file.try_lock_shared() {
            Ok(()) => break,
            Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            // Read without it: a line being written shows as the end cut.
            Err(_) => break,
        }
    }
    let mut text = String::new();
    std::io::Read::read_to_string(&mut file, &mut text).map_err(io)?;
    Ok(text)
}

/// Takes the file's lock, waiting 5 s at most: a share that hangs, or
/// another tool holding the lock, must not stall every write of the vault
/// (the write then goes on, and the stream's gap is said).
fn lock_within(file: &File, path: &Path) -> Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(()),
            Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::Io {
                    path: path.to_path_buf(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "another program held the stream's lock for 5 s",
                    ),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(Error::Io {
                    path: path.to_path_buf(),
                    source: e,
                });
            }
        }
    }
}

fn open_append(path: &Path) -> Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    })
}

#[cfg(unix)]
fn syslog_socket(path: &Path) -> Result<std::os::unix::net::UnixDatagram> {
    let socket = std::os::unix::net::UnixDatagram::unbound().map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    socket.connect(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    Ok(socket)
}

#[cfg(not(unix))]
fn syslog_socket(path: &Path) -> Result<()> {
    Err(Error::invalid(
        "audit stream",
        format!(
            "syslog ({}) is a local socket of Linux and macOS; use a file here",
            path.display()
        ),
    ))
}

/// A stream being written: the file locked until the lines are appended.
pub(crate) struct StreamWrite {
    file: Option<(File, PathBuf)>,
    syslog: Option<PathBuf>,
}

impl StreamWrite {
    /// Appends the committed events; says what could not be written.
    pub(crate) fn append(self, events: &[StreamEvent]) -> std::result::Result<(), String> {
        let mut problems = Vec::new();
        if let Some((mut file, path)) = self.file {
            let mut text = String::new();
            for e in events {
                text.push_str(&serde_json::to_string(e).unwrap_or_default());
                text.push('\n');
            }
            // One write: the lines of one commit stay together.
            if let Err(e) = file.write_all(text.as_bytes()).and_then(|()| file.sync_data()) {
                problems.push(format!("{} could not be written: {e}", path.display()));
            }
            // The lock goes with the file.
        }
        if let Some(socket) = &self.syslog
            && let Err(e) = send_syslog(socket, events)
        {
            problems.push(format!("syslog ({}) could not be written: {e}", socket.display()));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

/// RFC 5424: `<PRI>1 TIMESTAMP HOST APP PROCID MSGID - MSG`, facility
/// authpriv (10), severity info (6), or notice (5) for a failure or denial.
/// The message is the stream line.
#[cfg(unix)]
fn send_syslog(socket: &Path, events: &[StreamEvent]) -> Result<()> {
    let s = syslog_socket(socket)?;
    for e in events {
        let severity = if e.outcome == Outcome::Success { 6 } else { 5 };
        let line = serde_json::to_string(e).unwrap_or_default();
        let message = format!(
            "<{}>1 {} {} keywarden {} {} - {line}",
            10 * 8 + severity,
            e.at,
            if e.host.is_empty() { "-" } else { &e.host },
            std::process::id(),
            e.action.replace(' ', "_"),
        );
        s.send(message.as_bytes()).map_err(|err| Error::Io {
            path: socket.to_path_buf(),
            source: err,
        })?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn send_syslog(socket: &Path, _events: &[StreamEvent]) -> Result<()> {
    syslog_socket(socket)
}

/// What verifying a stream found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StreamReport {
    pub ok: bool,
    /// Audit events read.
    pub events: u64,
    /// The first line (1-based) that is altered, out of order, or follows
    /// a gap.
    pub first_bad_line: Option<u64>,
    pub problem: Option<String>,
}

/// Verifies a stream's lines (a JSON-lines file, or syslog lines whose
/// message is one) with the vault's audit key. `prev_of(seq)` is the
/// vault's own MAC of event `seq - 1` when it still has it, so a stream
/// that starts mid-chain is checked against where it joins.
/// `head` is the vault's newest event: a stream that stops short of it was
/// cut at its end, unless its last line is the event that turned streaming
/// off. A stream starts with the event that turned it on (or the vault's
/// first); a later start means lines were cut from its start (a rotated
/// part is verified together with the parts before it).
pub(crate) fn verify(
    key: &AuditMacKey,
    text: &str,
    prev_of: impl Fn(i64) -> Option<Vec<u8>>,
    head: i64,
) -> StreamReport {
    let parsed: Vec<Option<StreamEvent>> = text
        .lines()
        .map(|line| {
            line.find('{')
                .and_then(|at| serde_json::from_str::<StreamEvent>(&line[at..]).ok())
        })
        .collect();
    let present: std::collections::HashSet<i64> = parsed.iter().flatten().map(|e| e.seq).collect();
    let mut previous: Option<(i64, String)> = None;
    let mut first: Option<StreamEvent> = None;
    let mut last: Option<(u64, StreamEvent)> = None;
    let mut events = 0;
    for (i, (line, e)) in text.lines().zip(parsed).enumerate() {
        let n = i as u64 + 1;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |problem: String| StreamReport {
            ok: false,
            events,
            first_bad_line: Some(n),
            problem: Some(problem),
        };
        let Some(e) = e else {
            return bad(format!("line {n} is not an audit event of the stream"));
        };
        let stopped = last
            .as_ref()
            .is_some_and(|(_, l)| l.action == "audit.stream" && !l.detail.starts_with("on: "));
        if let Some(problem) = link_problem(key, &e, previous.as_ref(), &prev_of, &present, stopped, n) {
            return bad(problem);
        }
        if hex::encode(mac_of(key, &e)) != e.mac {
            return bad(format!(
                "line {n} (event {}, {}) was altered: its MAC does not match",
                e.seq, e.action
            ));
        }
        events += 1;
        previous = Some((e.seq, e.mac.clone()));
        first.get_or_insert_with(|| e.clone());
        last = Some((n, e));
    }
    if let Some(report) = ends_problem(first.as_ref(), last.as_ref(), head, events) {
        return report;
    }
    StreamReport {
        ok: true,
        events,
        first_bad_line: None,
        problem: None,
    }
}

/// Whether the stream starts where streaming was turned on and reaches the
/// vault's newest event (or the one that turned it off).
fn ends_problem(
    first: Option<&StreamEvent>,
    last: Option<&(u64, StreamEvent)>,
    head: i64,
    events: u64,
) -> Option<StreamReport> {
    let bad = |line: u64, problem: String| {
        Some(StreamReport {
            ok: false,
            events,
            first_bad_line: Some(line),
            problem: Some(problem),
        })
    };
    let turned = |e: &StreamEvent, on: bool| e.action == "audit.stream" && (e.detail.starts_with("on: ") == on);
    match (first, last) {
        (None, _) | (_, None) => bad(1, "the stream holds no audit event".into()),
        (Some(f), _) if f.seq != 1 && !turned(f, true) => bad(
            1,
            format!(
                "line 1 (event {}) is not where streaming was turned on: lines were cut from the stream's start \
                 (a rotated part is verified with the parts before it)",
                f.seq
            ),
        ),
        (_, Some((n, l))) if l.seq < head && !turned(l, false) => bad(
            n + 1,
            format!(
                "the stream ends at event {} but the vault's log goes on to event {head}: {} event(s) are missing \
                 after line {n} (cut off, or not written while the stream could not be reached)",
                l.seq,
                head - l.seq
            ),
        ),
        _ => None,
    }
}

/// Whether line `n` follows the line before it (or, first, the vault's
/// chain): the next sequence number, chained to the MAC before it.
fn link_problem(
    key: &AuditMacKey,
    e: &StreamEvent,
    previous: Option<&(i64, String)>,
    prev_of: &impl Fn(i64) -> Option<Vec<u8>>,
    present: &std::collections::HashSet<i64>,
    stopped: bool,
    n: u64,
) -> Option<String> {
    match previous {
        // Streaming stopped (or moved) and started again into this file:
        // the events between went elsewhere, or nowhere, on purpose.
        Some((_, _)) if restarted(e, stopped) => None,
        Some((seq, _)) if e.seq > seq + 1 && present.contains(&(seq + 1)) => Some(format!(
            "line {n} (event {}) comes before event {}, which is further down: the stream is out of order",
            e.seq,
            seq + 1
        )),
        Some((seq, _)) if e.seq <= *seq => Some(format!(
            "line {n} (event {}) comes after event {seq}: the stream is out of order",
            e.seq
        )),
        Some((seq, _)) if e.seq > seq + 1 => Some(format!(
            "line {n} (event {}) follows event {seq}: {} event(s) were dropped before it",
            e.seq,
            e.seq - seq - 1
        )),
        Some((_, mac)) if *mac != e.prev_mac => Some(format!(
            "line {n} (event {}) does not chain to the line before it: the stream was altered",
            e.seq
        )),
        Some(_) => None,
        None => {
            let expected = if e.seq == 1 {
                Some(crate::store::audit::genesis(key).to_vec())
            } else {
                prev_of(e.seq)
            };
            match expected {
                Some(m) if hex::encode(&m) != e.prev_mac => Some(format!(
                    "line {n} (event {}) does not continue the vault's audit chain",
                    e.seq
                )),
                _ => None,
            }
        }
    }
}

/// A line that starts streaming again after the line before it stopped it.
fn restarted(e: &StreamEvent, stopped: bool) -> bool {
    stopped && e.action == "audit.stream" && e.detail.starts_with("on: ")
}

fn mac_of(key: &AuditMacKey, e: &StreamEvent) -> [u8; 32] {
    let ev = AuditEvent {
        seq: e.seq,
        at: time::OffsetDateTime::UNIX_EPOCH,
        profile: e.profile.clone(),
        os_user: e.os_user.clone(),
        host: e.host.clone(),
        action: e.action.clone(),
        object_kind: e.object_kind.clone(),
        object_id: e.object_id.clone(),
        object_name: e.object_name.clone(),
        outcome: e.outcome,
        detail: e.detail.clone(),
    };
    let prev = hex::decode(&e.prev_mac).unwrap_or_default();
    crate::store::audit::event_mac(key, &ev, &e.at, &prev)
}

#[cfg(test)]
#[path = "audit_stream_tests.rs"]
mod tests;
