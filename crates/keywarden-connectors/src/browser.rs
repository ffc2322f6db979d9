//! Opening the system browser on a page (Connect's sign-in page, a file),
//! for both shells (`kw` and the app). A process is started; nothing of
//! windows or terminals is known here.
//!
//! Debug builds honour `KEYWARDEN_BROWSER`, a program run with the page's path
//! as its one argument: the tests' "browser", which follows the redirects
//! as a browser would. Release builds ignore it, so nothing in a user's
//! environment can choose who receives the sign-in page.

use std::process::{Command, Stdio};

pub fn open(page: &std::ffi::OsStr) -> std::io::Result<()> {
    let mut command = match test_browser() {
        Some(program) => Command::new(program),
        None => system_opener(),
    };
    let mut child = command
        .arg(page)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    // Reaped when it ends; the sign-in does not wait for it.
    std::thread::spawn(move || child.wait());
    Ok(())
}

fn test_browser() -> Option<std::ffi::OsString> {
    if cfg!(debug_assertions) {
        std::env::var_os("KEYWARDEN_BROWSER").filter(|p| !p.is_empty())
    } else {
        None
    }
}

#[cfg(target_os = "macos")]
fn system_opener() -> Command {
    Command::new("open")
}

#[cfg(windows)]
fn system_opener() -> Command {
    // `start` would read `&` in the address as a command separator.
    let mut c = Command::new("rundll32");
    c.arg("url.dll,FileProtocolHandler");
    c
}

#[cfg(not(any(target_os = "macos", windows)))]
fn system_opener() -> Command {
    Command::new("xdg-open")
}
