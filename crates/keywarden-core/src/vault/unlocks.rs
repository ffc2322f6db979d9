//! Unlocking and locking, audited: `vault.open` when the app unlocks the
//! vault, `vault.lock` when it locks it. (A `kw` command is not recorded
//! as an unlock: each records what it changes and every secret it hands
//! out, and one that only reads must leave the vault as it was.) A failed unlock (a wrong passphrase or recovery code) cannot
//! be written into a log it has no key for: it is noted beside the vault
//! (`unlock-failures.jsonl`, owner-only, no secret) and enters the audit
//! chain, as a `vault.open` failure with its time and who tried, at the
//! next successful unlock.

#[allow(unused_imports)]
use super::*;

use std::io::Write;

const FAILURES: &str = "unlock-failures.jsonl";
/// Failed unlocks kept until the next unlock: a flood is cut, and said.
const MAX_FAILURES: usize = 1000;

#[derive(serde::Serialize, serde::Deserialize)]
struct FailedUnlock {
    at: String,
    profile: String,
    os_user: String,
    host: String,
    how: String,
    why: String,
}

impl Vault {
    /// Records that this program opened the vault (`how`: "the app,
    /// keychain", "kw", …), after the failed unlocks noted since the last.
    pub fn record_unlock(&mut self, how: &str) -> Result<()> {
        self.record_open(Some(how))
    }

    /// Enters the failed unlocks noted since the last unlock into the audit
    /// log (`kw`, at each open); nothing is written when there are none.
    pub fn record_failed_unlocks(&mut self) -> Result<()> {
        if self.dir.join(FAILURES).exists() || !taken(&self.dir).is_empty() {
            self.record_open(None)?;
        }
        Ok(())
    }

    fn record_open(&mut self, how: Option<&str>) -> Result<()> {
        // Taken away under a name of its own first: a failure noted while
        // this runs goes to a new file, for the next unlock.
        let _ = fs::rename(
            self.dir.join(FAILURES),
            self.dir.join(format!("{FAILURES}.{}", Uuid::new_v4().simple())),
        );
        let dir = self.dir.clone();
        let id = self.header.vault_id;
        // The taken files are read and removed under the vault's write
        // lock, so two programs opening at once enter each failure once;
        // files a failed write or a crash left are read with them.
        self.write(|tx| {
            let files = taken(&dir);
            let failures: Vec<FailedUnlock> = files
                .iter()
                .flat_map(|f| {
                    fs::read_to_string(f)
                        .unwrap_or_default()
                        .lines()
                        .filter_map(|l| serde_json::from_str(l).ok())
                        .collect::<Vec<_>>()
                })
                .collect();
            for f in failures.iter().take(MAX_FAILURES) {
                tx.audit(ev(
                    "vault.open",
                    "vault",
                    Some(id),
                    None,
                    Outcome::Denied,
                    format!(
                        "failed unlock at {} by {} ({}@{}) through {}: {}",
                        f.at, f.profile, f.os_user, f.host, f.how, f.why
                    ),
                ))?;
            }
            if failures.len() > MAX_FAILURES {
                tx.audit(ev(
                    "vault.open",
                    "vault",
                    Some(id),
                    None,
                    Outcome::Denied,
                    format!("and {} more failed unlocks", failures.len() - MAX_FAILURES),
                ))?;
            }
            if let Some(how) = how {
                tx.audit(ev(
                    "vault.open",
                    "vault",
                    Some(id),
                    None,
                    Outcome::Success,
                    format!("unlocked ({how})"),
                ))?;
            }
            for f in &files {
                let _ = fs::remove_file(f);
            }
            Ok(())
        })
    }

    /// Records that the vault is being locked (`why`: idle, on demand,
    /// the app quitting), before the keys go.
    pub fn record_lock(&mut self, why: &str) -> Result<()> {
        let id = self.header.vault_id;
        self.write(|tx| {
            tx.audit(ev(
                "vault.lock",
                "vault",
                Some(id),
                None,
                Outcome::Success,
                format!("locked ({why})"),
            ))
        })?;
        Ok(())
    }
}

/// The failed-unlock files taken for entering and not yet entered.
fn taken(dir: &Path) -> Vec<PathBuf> {
    let prefix = format!("{FAILURES}.");
    fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(&prefix))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Notes a failed unlock of the vault at `dir`: a wrong passphrase or
/// recovery code, what a person types and an intruder guesses (best
/// effort: a vault that cannot be written to still refuses the wrong key).
/// A keychain item holding the wrong value is a fault, not an attempt: it
/// is reported to the person, and the vault's files stay as they were.
pub(super) fn note_failed_unlock(dir: &Path, actor: &Actor, how: &str, error: &Error) {
    if !matches!(error, Error::WrongPassphrase | Error::WrongRecoveryCode)
        || !dir.join(crate::header::HEADER_FILE).exists()
    {
        return;
    }
    let line = FailedUnlock {
        at: timefmt::to_db(timefmt::now()),
        profile: actor.profile.clone(),
        os_user: actor.os_user.clone(),
        host: actor.host.clone(),
        how: how.to_owned(),
        why: error.to_string(),
    };
    let mut options = fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    if let Ok(mut f) = options.open(dir.join(FAILURES)) {
        let _ = writeln!(f, "{}", serde_json::to_string(&line).unwrap_or_default());
    }
}
