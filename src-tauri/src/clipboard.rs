//! Copying a secret happens here, in Rust: the webview never sees it. The
//! clipboard is cleared after the configured time unless something else
//! was copied meanwhile (compared by digest; the secret is not kept).
//!
//! A clear does not reach a clipboard manager's history, so the copy is
//! marked as a password where the platform has a mark: on Linux (X11 and
//! Wayland) the `x-kde-passwordManagerHint: secret` target that Klipper,
//! CopyQ and others honour; on Windows the flags that keep it out of
//! clipboard history and cloud sync; on macOS the concealed type.

use std::sync::Mutex;
use std::time::Duration;

use keywarden_core::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

pub trait Clipboard: Send + Sync {
    /// Copies `text`; says whether it was marked to be kept out of
    /// clipboard history.
    fn set(&self, text: &SecretString) -> Result<History, String>;
    /// Clears the clipboard if it still holds text with this digest.
    fn clear_if(&self, digest: &[u8; 32]) -> Result<(), String>;
}

/// What the platform was told about clipboard history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum History {
    /// Marked as a password: managers that honour the mark keep no copy.
    Excluded,
    /// No mark exists here: a clipboard manager may keep a copy.
    NotExcluded,
}

pub fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// The system clipboard (X11 on Linux). On X11 the owning process serves
/// the contents, so one `arboard::Clipboard` lives as long as the app.
#[derive(Default)]
pub struct SystemClipboard {
    inner: Mutex<Option<arboard::Clipboard>>,
}

impl SystemClipboard {
    fn with<T>(&self, f: impl FnOnce(&mut arboard::Clipboard) -> Result<T, arboard::Error>) -> Result<T, String> {
        let mut guard = self.inner.lock().map_err(|_| "clipboard unavailable".to_owned())?;
        if guard.is_none() {
            *guard = Some(arboard::Clipboard::new().map_err(|e| format!("no clipboard: {e}"))?);
        }
        match guard.as_mut() {
            Some(c) => f(c).map_err(|e| format!("clipboard failed: {e}")),
            None => Err("clipboard unavailable".to_owned()),
        }
    }
}

impl Clipboard for SystemClipboard {
    #[cfg(any(
        target_os = "linux",
        target_os = "freebsd",
        target_os = "openbsd",
        target_os = "netbsd"
    ))]
    fn set(&self, text: &SecretString) -> Result<History, String> {
        use arboard::SetExtLinux;
        self.with(|c| c.set().exclude_from_history().text(text.expose_secret().to_owned()))
            .map(|()| History::Excluded)
    }

    #[cfg(windows)]
    fn set(&self, text: &SecretString) -> Result<History, String> {
        use arboard::SetExtWindows;
        self.with(|c| {
            c.set()
                .exclude_from_history()
                .exclude_from_cloud()
                .text(text.expose_secret().to_owned())
        })
        .map(|()| History::Excluded)
    }

    #[cfg(target_os = "macos")]
    fn set(&self, text: &SecretString) -> Result<History, String> {
        use arboard::SetExtApple;
        self.with(|c| c.set().exclude_from_history().text(text.expose_secret().to_owned()))
            .map(|()| History::Excluded)
    }

    #[cfg(not(any(
        target_os = "linux",
        target_os = "freebsd",
        target_os = "openbsd",
        target_os = "netbsd",
        windows,
        target_os = "macos"
    )))]
    fn set(&self, text: &SecretString) -> Result<History, String> {
        self.with(|c| c.set_text(text.expose_secret().to_owned()))
            .map(|()| History::NotExcluded)
    }

    fn clear_if(&self, wanted: &[u8; 32]) -> Result<(), String> {
        self.with(|c| match c.get_text() {
            Ok(now) if digest(&now) == *wanted => c.clear(),
            _ => Ok(()),
        })
    }
}

/// Clears the clipboard after `after`, on a background thread.
pub fn schedule_clear(clipboard: std::sync::Arc<dyn Clipboard>, digest: [u8; 32], after: Duration) {
    std::thread::spawn(move || {
        std::thread::sleep(after);
        if let Err(e) = clipboard.clear_if(&digest) {
            eprintln!("keywarden: could not clear the clipboard: {e}");
        }
    });
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// Holds one text, like the system clipboard.
    #[derive(Default)]
    struct Fake(Mutex<Option<String>>);

    impl Clipboard for Fake {
        fn set(&self, text: &SecretString) -> Result<History, String> {
            *self.0.lock().unwrap() = Some(text.expose_secret().to_owned());
            Ok(History::NotExcluded)
        }
        fn clear_if(&self, wanted: &[u8; 32]) -> Result<(), String> {
            let mut held = self.0.lock().unwrap();
            if held.as_deref().map(digest).as_ref() == Some(wanted) {
                *held = None;
            }
            Ok(())
        }
    }

    fn wait_until(f: impl Fn() -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !f() {
            assert!(std::time::Instant::now() < deadline, "timed out");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn a_copied_secret_is_cleared_after_the_delay() {
        let fake = Arc::new(Fake::default());
        let secret = SecretString::from("pk_live_0123456789abcd".to_owned());
        fake.set(&secret).unwrap();
        schedule_clear(fake.clone(), digest(secret.expose_secret()), Duration::from_millis(20));
        wait_until(|| fake.0.lock().unwrap().is_none());
    }

    #[test]
    fn something_copied_since_is_left_alone() {
        let fake = Arc::new(Fake::default());
        let secret = SecretString::from("pk_live_0123456789abcd".to_owned());
        fake.set(&secret).unwrap();
        schedule_clear(fake.clone(), digest(secret.expose_secret()), Duration::from_millis(20));
        fake.set(&SecretString::from("the user's own text".to_owned())).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(fake.0.lock().unwrap().as_deref(), Some("the user's own text"));
    }
}
