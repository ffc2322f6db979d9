//! A sleep until a wall-clock deadline that a suspend, a clock change or a
//! poke from another thread cuts short, and that costs no wake-up while it
//! waits.
//!
//! On Linux it is a timerfd on CLOCK_REALTIME armed with an absolute
//! deadline and TFD_TIMER_CANCEL_ON_SET: a deadline that passed while the
//! machine slept fires at resume, and a clock jump ends the wait so the
//! caller can compute again. Elsewhere a condition variable with a timeout
//! (suspend is then noticed at the next deadline).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, SystemTime};

pub struct Timer {
    /// Set by `poke`; the waiter recomputes instead of sleeping.
    poked: AtomicBool,
    wakeups: AtomicU64,
    /// The timerfd (Linux); `None` elsewhere or when the OS refused one.
    #[cfg(target_os = "linux")]
    fd: Option<std::os::fd::OwnedFd>,
    cv: (Mutex<()>, Condvar),
}

impl Timer {
    pub fn new() -> std::io::Result<Timer> {
        let mut t = Timer::fallback();
        #[cfg(target_os = "linux")]
        {
            t.fd = Some(rustix::time::timerfd_create(
                rustix::time::TimerfdClockId::Realtime,
                rustix::time::TimerfdFlags::CLOEXEC,
            )?);
        }
        Ok(t)
    }

    /// Without an OS timer: a condition variable with a timeout.
    pub fn fallback() -> Timer {
        Timer {
            poked: AtomicBool::new(false),
            wakeups: AtomicU64::new(0),
            #[cfg(target_os = "linux")]
            fd: None,
            cv: (Mutex::new(()), Condvar::new()),
        }
    }

    /// Ends the current (or the next) wait at once.
    pub fn poke(&self) {
        self.poked.store(true, Ordering::SeqCst);
        #[cfg(target_os = "linux")]
        if let Some(fd) = &self.fd {
            let _ = arm(fd, Some(SystemTime::UNIX_EPOCH + Duration::from_nanos(1)));
        }
        let _guard = self.cv.0.lock().unwrap_or_else(|p| p.into_inner());
        self.cv.1.notify_all();
    }

    /// How many times a wait has ended (deadline, poke or clock change).
    pub fn wakeups(&self) -> u64 {
        self.wakeups.load(Ordering::SeqCst)
    }

    /// Sleeps until `deadline` (forever with `None`), a poke, or a clock
    /// change, whichever comes first.
    pub fn wait_until(&self, deadline: Option<SystemTime>) {
        // A poke that came while the caller was computing is not lost.
        if !self.poked.swap(false, Ordering::SeqCst) {
            #[cfg(target_os = "linux")]
            match &self.fd {
                Some(fd) => self.wait_fd(fd, deadline),
                None => self.wait_cv(deadline),
            }
            #[cfg(not(target_os = "linux"))]
            self.wait_cv(deadline);
            self.poked.store(false, Ordering::SeqCst);
        }
        self.wakeups.fetch_add(1, Ordering::SeqCst);
    }

    #[cfg(target_os = "linux")]
    fn wait_fd(&self, fd: &std::os::fd::OwnedFd, deadline: Option<SystemTime>) {
        if arm(fd, deadline).is_err() {
            return self.wait_cv(deadline);
        }
        // Arming may have overwritten a poke made meanwhile.
        if self.poked.load(Ordering::SeqCst) {
            return;
        }
        let mut buf = [0u8; 8];
        // Returns on expiry, or fails with ECANCELED on a clock change;
        // either way the caller computes again.
        let _ = rustix::io::read(fd, &mut buf);
    }

    fn wait_cv(&self, deadline: Option<SystemTime>) {
        let guard = self.cv.0.lock().unwrap_or_else(|p| p.into_inner());
        if self.poked.load(Ordering::SeqCst) {
            return;
        }
        let timeout = deadline
            .map(|t| t.duration_since(SystemTime::now()).unwrap_or_default())
            .unwrap_or(Duration::from_secs(24 * 3600));
        let _ = self.cv.1.wait_timeout(guard, timeout);
    }
}

/// Arms `fd` for the absolute wall-clock `deadline` (`None` disarms).
#[cfg(target_os = "linux")]
fn arm(fd: &std::os::fd::OwnedFd, deadline: Option<SystemTime>) -> std::io::Result<()> {
    use rustix::time::{Itimerspec, TimerfdTimerFlags, Timespec, timerfd_settime};
    let value = match deadline {
        // All zero disarms: sleep until poked.
        None => Timespec { tv_sec: 0, tv_nsec: 0 },
        Some(t) => {
            let since = t
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
                .max(Duration::from_nanos(1));
            Timespec {
                tv_sec: i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
                tv_nsec: i64::from(since.subsec_nanos()),
            }
        }
    };
    timerfd_settime(
        fd,
        TimerfdTimerFlags::ABSTIME | TimerfdTimerFlags::CANCEL_ON_SET,
        &Itimerspec {
            it_interval: Timespec { tv_sec: 0, tv_nsec: 0 },
            it_value: value,
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Instant;

    #[test]
    fn waits_until_the_deadline_ends_at_a_poke_and_counts_each_wake() {
        scenario(Timer::new().unwrap());
        scenario(Timer::fallback());
    }

    fn scenario(timer: Timer) {
        let timer = Arc::new(timer);
        let t = Instant::now();
        timer.wait_until(Some(SystemTime::now() + Duration::from_millis(150)));
        assert!(t.elapsed() >= Duration::from_millis(140), "{:?}", t.elapsed());
        timer.wait_until(Some(SystemTime::now() - Duration::from_secs(3600)));
        assert_eq!(timer.wakeups(), 2, "a past deadline fires at once");

        let poker = timer.clone();
        let t = Instant::now();
        let h = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            poker.poke();
        });
        timer.wait_until(None);
        h.join().unwrap();
        assert!(t.elapsed() < Duration::from_secs(5));
        assert_eq!(timer.wakeups(), 3);
        // A poke before the wait ends the next wait at once.
        timer.poke();
        let t = Instant::now();
        timer.wait_until(Some(SystemTime::now() + Duration::from_secs(30)));
        assert!(t.elapsed() < Duration::from_secs(1));
    }
}
