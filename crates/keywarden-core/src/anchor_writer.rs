//! The keychain anchor's writer: one thread per vault in this process,
//! shared by every handle on it (the app's window, its verifier's watch
//! and broker handles, `kw serve`'s two), so heads reach the keychain in
//! the order they were committed and one counter says what was written.
//!
//! A commit hands it the new head and goes on; the thread writes the
//! newest head it holds (the ones in between are never needed: the anchor
//! only has to stand on the last). A Secret Service write takes about 2 ms
//! (gnome-keyring saves its file), which every audited use waited for
//! before. The anchor may trail its commit by that long; the open moves an
//! anchor that is behind, as it always did for a program stopped between
//! its commit and the anchor. So that no program leaves it behind on
//! purpose, a vault's handle waits for the writer when it closes, and
//! `flush_all` lets a program about to exit wait for every vault's.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::anchor::Head;
use crate::error::Result;

/// How long a closing vault (or an exiting program) waits for its anchor.
pub(crate) const FLUSH_LIMIT: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub(crate) struct AnchorWriter {
    vault_id: String,
    state: Mutex<State>,
    changed: Condvar,
    /// The head last written to the keychain by this process, held while
    /// one is written (a synchronous save waits for it).
    last: Mutex<Option<Head>>,
}

#[derive(Debug, Default)]
struct State {
    /// The newest head not written yet.
    next: Option<Head>,
    /// How many heads were handed over, and how many of those are written
    /// (or failed): the newest written covers every one before it. A
    /// flush waits for the heads handed before it began, not for the ones
    /// other handles keep committing meanwhile.
    handed: u64,
    done: u64,
}

/// Every vault's writer in this process.
static WRITERS: Mutex<Vec<Arc<AnchorWriter>>> = Mutex::new(Vec::new());

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl AnchorWriter {
    /// The writer of `vault_id`'s anchor, started at its first use in the
    /// process; `None` if no thread can be started (then commits write
    /// the anchor themselves).
    pub(crate) fn for_vault(vault_id: &str) -> Option<Arc<AnchorWriter>> {
        let mut all = lock(&WRITERS);
        if let Some(w) = all.iter().find(|w| w.vault_id == vault_id) {
            return Some(Arc::clone(w));
        }
        let writer = Arc::new(AnchorWriter {
            vault_id: vault_id.to_owned(),
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            last: Mutex::new(None),
        });
        let runs = Arc::clone(&writer);
        std::thread::Builder::new()
            .name("keywarden-anchor".into())
            .spawn(move || runs.run())
            .ok()?;
        all.push(Arc::clone(&writer));
        Some(writer)
    }

    /// Hands over a committed head; the thread writes the newest.
    pub(crate) fn hand(&self, head: Head) {
        let mut state = lock(&self.state);
        if state.next.as_ref().is_none_or(|queued| head.seq > queued.seq) {
            state.next = Some(head);
        }
        state.handed += 1;
        self.changed.notify_all();
    }

    /// Writes `head` now, after what was handed over before (it may move
    /// the anchor back: accepting an older database).
    pub(crate) fn write_now(&self, head: &Head) -> Result<()> {
        self.flush(FLUSH_LIMIT);
        let mut last = lock(&self.last);
        // A head handed over meanwhile is from before this save's caller
        // decided (it holds the vault): it must not land after it.
        {
            let mut state = lock(&self.state);
            state.next = None;
            state.done = state.handed;
        }
        self.changed.notify_all();
        crate::keychain::store_anchor(&self.vault_id, &head.to_text())?;
        *last = Some(head.clone());
        Ok(())
    }

    /// Waits until every head handed over is written (or failed), at most
    /// `limit`. `false`: still writing when the time ran out.
    pub(crate) fn flush(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let mut state = lock(&self.state);
        let target = state.handed;
        while state.done < target {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = self
                .changed
                .wait_timeout(state, left)
                .map(|(s, _)| s)
                .unwrap_or_else(|p| p.into_inner().0);
        }
        true
    }

    fn run(&self) {
        loop {
            let (head, covers) = {
                let mut state = lock(&self.state);
                loop {
                    if let Some(h) = state.next.take() {
                        break (h, state.handed);
                    }
                    state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
                }
            };
            {
                let mut last = lock(&self.last);
                // Best effort, as before: an anchor left behind is moved on
                // the next open. A keychain waiting for its unlock prompt
                // holds this thread, not the commits; the newest head is
                // written once it answers. The head just written is not
                // written again.
                if last.as_ref() != Some(&head)
                    && crate::keychain::store_anchor(&self.vault_id, &head.to_text()).is_ok()
                {
                    *last = Some(head);
                }
            }
            {
                let mut state = lock(&self.state);
                state.done = state.done.max(covers);
            }
            self.changed.notify_all();
        }
    }
}

/// Waits for every vault's anchor writer in this process, at most
/// `FLUSH_LIMIT` each: for a program about to exit without closing its
/// vaults (a broken pipe, the app's window closed).
pub fn flush_all() {
    let all: Vec<Arc<AnchorWriter>> = lock(&WRITERS).clone();
    for w in all {
        w.flush(FLUSH_LIMIT);
    }
}
