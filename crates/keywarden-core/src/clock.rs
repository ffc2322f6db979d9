//! The vault's sense of time, injected so that tests (and `kw expiry check
//! --at`) can move it: a day forward, a year back, across a DST change, or
//! over a suspend.

use std::sync::{Arc, Mutex};

use time::{Duration, OffsetDateTime};

pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

/// The operating system's clock, in UTC.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that stands still until it is moved. Clones share the time.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<OffsetDateTime>>);

impl ManualClock {
    pub fn at(t: OffsetDateTime) -> ManualClock {
        ManualClock(Arc::new(Mutex::new(t)))
    }

    pub fn set(&self, t: OffsetDateTime) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = t;
    }

    pub fn advance(&self, by: Duration) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Test mode (`KEYWARDEN_TEST_MODE=1`): the tests may move time
/// (`KEYWARDEN_TEST_NOW`) and point live checks at plain-http fakes on
/// 127.0.0.1. Debug builds only: an installed (release) program ignores
/// it, so nobody can fake the clock or downgrade a check on a real vault.
pub fn test_mode() -> bool {
    cfg!(debug_assertions) && std::env::var("KEYWARDEN_TEST_MODE").is_ok_and(|v| v == "1")
}
