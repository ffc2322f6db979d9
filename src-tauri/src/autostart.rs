//! Start at login: Settings → "Start Keywarden at login" (off by default;
//! the policy's `start_at_login` forces or forbids it). On Linux this is an
//! XDG autostart entry, `$XDG_CONFIG_HOME/autostart/keywarden.desktop`
//! (`~/.config` when unset), which every desktop that follows the XDG
//! Autostart spec runs at login; the app then starts in the tray
//! (`--background`), its window hidden where a tray is shown.
//!
//! Written here rather than through tauri-plugin-autostart: its
//! `auto-launch` 0.6 puts the entry in `$HOME/.config/autostart` whatever
//! `XDG_CONFIG_HOME` says, which the spec and our tests' private session
//! both rely on.

use std::path::PathBuf;

use crate::error::{ErrorCode, IpcError, IpcResult};

/// The argument an autostarted app is given: start with the window hidden.
pub const BACKGROUND: &str = "--background";

/// Where the login entry is, on a system that has one.
pub fn entry_path() -> Option<PathBuf> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    // The spec: an XDG_CONFIG_HOME that is unset, empty or relative is
    // ignored; HOME must be absolute too.
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .filter(|h| h.is_absolute())
                .map(|h| h.join(".config"))
        })?;
    Some(config.join("autostart").join("keywarden.desktop"))
}

/// Whether the entry is there now.
pub fn enabled() -> bool {
    entry_path().is_some_and(|p| p.is_file())
}

/// A path as one argument of an Exec line. The Desktop Entry spec quotes
/// it in double quotes with `"`, `` ` ``, `$` and `\` escaped by a
/// backslash, and `%` written `%%`; the value is then a string whose own
/// escapes come first, so every backslash is written twice. A path with a
/// control character cannot be written (it would end the line).
fn quoted(path: &str) -> Option<String> {
    if path.chars().any(char::is_control) {
        return None;
    }
    let mut arg = String::from("\"");
    for c in path.chars() {
        match c {
            '"' | '`' | '$' | '\\' => {
                arg.push('\\');
                arg.push(c);
            }
            '%' => arg.push_str("%%"),
            _ => arg.push(c),
        }
    }
    arg.push('"');
    Some(arg.replace('\\', "\\\\"))
}

fn entry_text(exe: &str) -> Option<String> {
    Some(format!(
        "[Desktop Entry]\nType=Application\nName=Keywarden\n\
         Comment=Keeps your API credentials and tells you before they expire\n\
         Exec={} {BACKGROUND}\nIcon=keywarden\nTerminal=false\nX-GNOME-Autostart-enabled=true\n",
        quoted(exe)?
    ))
}

/// This program's path; after a package upgrade replaced the file the
/// running program was started from, Linux names it "… (deleted)": the
/// path is the new program's.
fn program() -> Result<String, String> {
    let exe = std::env::current_exe().map_err(|e| format!("this program's path is unknown: {e}"))?;
    let exe = exe
        .to_str()
        .ok_or_else(|| format!("this program's path is not UTF-8: {}", exe.display()))?;
    Ok(exe.strip_suffix(" (deleted)").unwrap_or(exe).to_owned())
}

/// Puts the entry in place (for this program as it is installed now) or
/// removes it; does nothing when it is already so. Says why it could not.
pub fn apply(want: bool) -> Result<(), String> {
    let Some(path) = entry_path() else {
        return if want {
            Err("starting at login is not available on this system yet".into())
        } else {
            Ok(())
        };
    };
    if !want {
        return match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(format!("{} could not be removed: {e}", path.display())),
        };
    }
    let exe = program()?;
    let text = entry_text(&exe).ok_or_else(|| format!("this program's path cannot be written in an entry: {exe:?}"))?;
    if std::fs::read_to_string(&path).is_ok_and(|t| t == text) {
        return Ok(());
    }
    let dir = path.parent().unwrap_or(&path);
    std::fs::create_dir_all(dir).map_err(|e| format!("{} could not be made: {e}", dir.display()))?;
    // Written whole in a new file of its own beside it (never through a
    // link planted there), synced, then renamed over: never a half entry.
    let written = tempfile::NamedTempFile::new_in(dir).and_then(|mut tmp| {
        std::io::Write::write_all(&mut tmp, text.as_bytes())?;
        tmp.as_file().sync_all()?;
        tmp.persist(&path).map_err(|e| e.error)?;
        Ok(())
    });
    written.map_err(|e| format!("{} could not be written: {e}", path.display()))
}

/// Saving settings: when the user changed "Start at login", the login
/// entry first (if it cannot be written nothing is saved), then `save`; if
/// that fails the entry goes back to what it was. An unchanged setting
/// (or one the policy holds) leaves the entry to the start's `apply`, so
/// it never blocks saving the other settings.
pub fn while_saving<T>(want: bool, changed: bool, save: impl FnOnce() -> IpcResult<T>) -> IpcResult<T> {
    if !changed {
        return save();
    }
    let was = enabled();
    apply(want).map_err(|why| {
        IpcError::new(
            ErrorCode::InvalidInput,
            format!("Start at login: {why}; the settings were not saved."),
        )
    })?;
    save().inspect_err(|_| {
        let _ = apply(was);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exec_path_is_quoted_and_escaped_as_the_desktop_entry_spec_says() {
        assert_eq!(
            quoted("/opt/Key warden/keywarden").unwrap(),
            "\"/opt/Key warden/keywarden\""
        );
        // Reserved characters: one backslash by the Exec rules, doubled by
        // the string rules; % doubled.
        assert_eq!(quoted("/a\"b$c`d\\e%f").unwrap(), r#""/a\\"b\\$c\\`d\\\\e%%f""#);
        assert_eq!(quoted("/tmp/a\nExec=/bin/evil"), None, "a newline would add a key");
        let text = entry_text("/usr/bin/keywarden").unwrap();
        assert!(text.contains("\nExec=\"/usr/bin/keywarden\" --background\n"), "{text}");
        assert!(text.starts_with("[Desktop Entry]\nType=Application\n"), "{text}");
    }
}
