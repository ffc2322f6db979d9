//! Files written out of a vault (exports, audit exports, support bundles,
//! key envelopes): issue 20, finding 5. Each holds something of the vault,
//! so each is created readable by its owner only, as a new file (never
//! over an existing one, never through a symbolic link a name already
//! is), whole or not at all.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Writes `bytes` to `path`, which must not exist yet (not even as a
/// symbolic link): first to a new temporary file beside it (created with
/// `O_EXCL`, owner-only, fsynced), then published with a hard link, which
/// fails rather than replace a file that appeared meanwhile.
pub fn write_new_private(path: &Path, bytes: &[u8]) -> Result<()> {
    if fs::symlink_metadata(path).is_ok() {
        return Err(Error::invalid(
            "file",
            format!(
                "{} exists already; choose another name (nothing was written)",
                path.display()
            ),
        ));
    }
    let tmp = temporary_beside(path);
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    // A temporary name nobody can guess, so nobody can take it first; and
    // a failure to make it is said as such, not as the target existing.
    let mut file = opts.open(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    drop(file);
    let published = written.and_then(|()| publish(&tmp, path));
    let _ = fs::remove_file(&tmp);
    match published {
        Ok(()) => {
            if let Some(dir) = path.parent().and_then(|d| fs::File::open(d).ok()) {
                let _ = dir.sync_all();
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(Error::invalid(
            "file",
            format!(
                "{} exists already; choose another name (nothing was written)",
                path.display()
            ),
        )),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Puts `tmp` in place at `path` unless something is there: a hard link,
/// which fails with `AlreadyExists` rather than replace. A file system
/// without hard links (FAT, exFAT on a USB stick) gets a rename after one
/// more look, which leaves a moment in which a file appearing at `path`
/// would be replaced.
fn publish(tmp: &Path, path: &Path) -> std::io::Result<()> {
    match fs::hard_link(tmp, path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(e),
        // EPERM (vfat) or EOPNOTSUPP: links are not there to be had.
        Err(e)
            if (e.kind() == std::io::ErrorKind::Unsupported || e.raw_os_error() == Some(1))
                && fs::symlink_metadata(path).is_err() =>
        {
            fs::rename(tmp, path)
        }
        Err(e) => Err(e),
    }
}

fn temporary_beside(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Short, whatever the name's length: a long name still fits NAME_MAX.
    let short: String = name.chars().take(32).collect();
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    path.with_file_name(format!(".{short}.{}.kw-tmp", &nonce[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(unix)]
    fn a_new_file_is_owner_only_and_an_existing_file_or_link_is_never_written() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("export.json");
        write_new_private(&out, b"{}").unwrap();
        let mode = fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(fs::read(&out).unwrap(), b"{}");

        let err = write_new_private(&out, b"other").unwrap_err().to_string();
        assert!(err.contains("exists already"), "{err}");
        assert_eq!(fs::read(&out).unwrap(), b"{}", "left as it was");

        // A link planted where the export goes (at ~/.bash_login, say).
        let target = dir.path().join("bash_login");
        fs::write(&target, "original").unwrap();
        let link = dir.path().join("planted.json");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(write_new_private(&link, b"payload").is_err());
        assert_eq!(fs::read_to_string(&target).unwrap(), "original");
        let dangling = dir.path().join("dangling.json");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
        assert!(write_new_private(&dangling, b"payload").is_err());
        assert!(!dir.path().join("nowhere").exists());
        // No temporary file is left behind.
        let names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.ends_with(".kw-tmp")), "{names:?}");
    }
}
