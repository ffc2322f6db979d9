//! The disk under the vault failing: a full file system (a small tmpfs the
//! test mounts) and a corrupted database page. Every command must end in a
//! clear error naming the problem, write nothing (not half a change, not an
//! audit event), and never replace the vault with a new empty one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::files;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use keywarden_core::{Actor, KeySource, Vault};

fn kw(vault: &Path, args: &[&str], stdin: &str) -> Output {
    common::kw_as("faults", vault, args, stdin)
}

fn ok(vault: &Path, args: &[&str], stdin: &str) -> Output {
    let out = kw(vault, args, stdin);
    assert!(
        out.status.success(),
        "kw {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn is_root() -> bool {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// A tmpfs of `size` mounted on `dir` for the life of the value (root, or
/// passwordless sudo: CI runs as root; a developer without either is told).
struct Tmpfs {
    dir: PathBuf,
    sudo: bool,
}

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        let sudo = !is_root();
        let ids = |flag: &str| {
            let out = Command::new("id").arg(flag).output().unwrap();
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        };
        let opts = format!("size={size},mode=0700,uid={},gid={}", ids("-u"), ids("-g"));
        let mut c = if sudo {
            let mut c = Command::new("sudo");
            c.args(["-n", "mount"]);
            c
        } else {
            Command::new("mount")
        };
        let out = c.args(["-t", "tmpfs", "-o", &opts, "tmpfs"]).arg(dir).output().unwrap();
        assert!(
            out.status.success(),
            "the disk-full test mounts a {size} tmpfs on {}: run the tests as root or with passwordless sudo ({})",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs {
            dir: dir.to_path_buf(),
            sudo,
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let mut c = if self.sudo {
            let mut c = Command::new("sudo");
            c.args(["-n", "umount", "-l"]);
            c
        } else {
            let mut c = Command::new("umount");
            c.arg("-l");
            c
        };
        let _ = c.arg(&self.dir).status();
    }
}

/// Fills the file system holding `dir` to the last byte.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let block = vec![0x5au8; 4096];
    for size in [1 << 20, 4096, 512, 1] {
        while f.write_all(&block[..size.min(block.len())]).is_ok() && f.flush().is_ok() {}
        let _ = f.sync_all();
    }
    path
}

fn open(vault: &Path) -> Vault {
    Vault::open(vault, &KeySource::Keychain, Actor::current(Some("check".into()))).unwrap()
}

fn whole(vault: &Path) -> String {
    let v = open(vault);
    let integrity: String = v
        .raw_connection()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    assert!(v.verify_audit().unwrap().ok);
    v.content_digest().unwrap()
}

#[test]
fn a_full_disk_is_a_clear_error_that_writes_nothing_and_the_vault_works_once_space_is_freed() {
    let tmp = tempfile::tempdir().unwrap();
    let mnt = tmp.path().join("disk");
    std::fs::create_dir(&mnt).unwrap();
    let _fs = Tmpfs::mount(&mnt, "3m");
    let vault = mnt.join("vault");
    ok(&vault, &["init"], "");
    for i in 0..5 {
        ok(
            &vault,
            &["credential", "add", &format!("c{i}"), "--type", "api-key"],
            &format!("pk_live_aaaaaaaaaaaa{i:04}\n"),
        );
    }
    let import = tmp.path().join("import.json");
    std::fs::write(
        &import,
        serde_json::json!({
            "format": "keywarden-config", "format_version": 1, "exported_at": "2026-11-23T00:00:00Z",
            "note": "", "integrations": [],
            "credentials": [{"name": "imported", "kind": "api_key", "integration": null, "provider": "generic",
                "environment": "prod", "config": {}, "secret_fields": ["api_key"], "tags": [], "notes": null,
                "expires_at": null}],
        })
        .to_string(),
    )
    .unwrap();
    let before = whole(&vault);
    let header = std::fs::read(vault.join("vault.json")).unwrap();

    let filler = fill(&mnt);
    let export = mnt.join("audit.json");
    let attempts: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["credential", "add", "new", "--type", "api-key"],
            "pk_live_bbbbbbbbbbbb0001\n",
        ),
        (
            vec!["credential", "rotate", "--offline", "c1"],
            "pk_live_cccccccccccc0002\n",
        ),
        (vec!["credential", "update", "c2", "--notes", "changed"], ""),
        (vec!["rotate-data-key"], ""),
        (vec!["import", import.to_str().unwrap()], ""),
        (
            vec!["audit", "export", "--format", "json", "-o", export.to_str().unwrap()],
            "",
        ),
        (vec!["credential", "list"], ""),
    ];
    let mut refused = 0;
    for (args, stdin) in &attempts {
        let out = kw(&vault, args, stdin);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "kw {args:?}: {err}");
        if out.status.success() {
            // Only a read may get through a full disk.
            assert_eq!(args[..2], ["credential", "list"], "kw {args:?} wrote to a full disk?");
            continue;
        }
        refused += 1;
        assert_eq!(out.status.code(), Some(13), "kw {args:?}: {err}");
        assert!(
            err.contains("disk holding the vault is full") || err.contains("the disk may be full"),
            "kw {args:?}: {err}"
        );
        assert!(err.contains("nothing was changed"), "kw {args:?}: {err}");
    }
    assert!(refused >= attempts.len() - 1, "every write was refused");
    assert!(!export.exists(), "no partial export");
    assert!(
        !mnt.join("audit.kw-tmp").exists(),
        "no temporary export file left on the full disk"
    );

    // Space again: the same vault, unchanged, and it takes writes.
    std::fs::remove_file(filler).unwrap();
    assert_eq!(
        std::fs::read(vault.join("vault.json")).unwrap(),
        header,
        "header untouched"
    );
    assert_eq!(whole(&vault), before, "nothing half-written, not even an audit event");
    ok(&vault, attempts[0].0.as_slice(), attempts[0].1);
    ok(&vault, attempts[1].0.as_slice(), attempts[1].1);
    ok(&vault, &["audit", "verify"], "");
}

/// SQLCipher's page size: every page carries its own MAC.
const PAGE: usize = 4096;

#[test]
fn a_corrupted_database_page_is_a_clear_error_that_writes_nothing_and_never_replaces_the_vault() {
    let tmp = tempfile::tempdir().unwrap();
    let pristine = tmp.path().join("pristine");
    ok(&pristine, &["init"], "");
    for i in 0..40 {
        ok(
            &pristine,
            &[
                "credential",
                "add",
                &format!("c{i:02}"),
                "--type",
                "api-key",
                "--tag",
                "payroll",
            ],
            &format!("pk_live_aaaaaaaaaaaa{i:04}\n"),
        );
    }
    let db = std::fs::read(pristine.join("vault.db")).unwrap();
    // Every copy below is the same vault (one id, one rollback anchor in
    // the keychain): a copy that took a write moves the anchor, and the next
    // copy, rightly, would be refused as older. Each starts from the
    // pristine vault's anchor, as a lone vault would.
    let anchor_item = format!("anchor:{}", Vault::header(&pristine).unwrap().vault_id);
    let anchor = keywarden_core::keychain::read_for_tests(&anchor_item).expect("the pristine vault's anchor");
    assert!(
        !pristine.join("vault.db-wal").exists(),
        "the WAL is merged when the last program closes"
    );
    let pages = db.len() / PAGE;
    assert!(pages >= 8, "{pages} pages");

    let (mut detected, mut clean_errors) = (0, 0);
    for page in 0..pages {
        let vault = tmp.path().join(format!("p{page}"));
        std::fs::create_dir(&vault).unwrap();
        for (name, bytes) in files(&pristine) {
            std::fs::write(vault.join(name), bytes).unwrap();
        }
        // Flip 16 bytes in the middle of the page.
        let mut damaged = db.clone();
        for b in &mut damaged[page * PAGE + PAGE / 2..page * PAGE + PAGE / 2 + 16] {
            *b ^= 0xa5;
        }
        std::fs::write(vault.join("vault.db"), &damaged).unwrap();
        keywarden_core::keychain::overwrite_for_tests(&anchor_item, &anchor).unwrap();

        let mut seen = false;
        for (args, stdin) in [
            (vec!["check"], ""),
            (vec!["--json", "credential", "list"], ""),
            (vec!["audit", "verify"], ""),
            (vec!["credential", "show", "c20"], ""),
            (
                vec!["credential", "rotate", "--offline", "c20"],
                "pk_live_bbbbbbbbbbbb0001\n",
            ),
            (
                vec!["credential", "add", "new", "--type", "api-key"],
                "pk_live_cccccccccccc0002\n",
            ),
        ] {
            let before = files(&vault);
            let out = kw(&vault, &args, stdin);
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(!err.contains("panicked"), "page {page}, kw {args:?}: {err}");
            if out.status.success() {
                continue;
            }
            seen = true;
            assert_eq!(out.status.code(), Some(10), "page {page}, kw {args:?}: {err}");
            assert!(err.contains("damaged"), "page {page}, kw {args:?}: {err}");
            assert!(err.contains("backup"), "page {page}, kw {args:?}: {err}");
            assert!(
                !err.contains("hmac") && !err.contains("ERROR CORE"),
                "page {page}, kw {args:?}: SQLCipher's own log reached the user: {err}"
            );
            if args.contains(&"rotate") {
                // A rotation is two transactions (stage, swap); one that
                // staged and then met the damage takes its pending version
                // out again, which is a write of its own.
                clean_errors += 1;
                continue;
            }
            let after: Vec<(String, Vec<u8>)> = files(&vault)
                .into_iter()
                .filter(|(n, _)| !n.ends_with("-shm") && !n.ends_with("-wal"))
                .collect();
            let before: Vec<(String, Vec<u8>)> = before
                .into_iter()
                .filter(|(n, _)| !n.ends_with("-shm") && !n.ends_with("-wal"))
                .collect();
            assert!(
                after == before,
                "page {page}, kw {args:?}: a failed command changed the files: {err}"
            );
            clean_errors += 1;
        }
        if seen {
            detected += 1;
        }
        // Never a new empty vault over the damaged one.
        let before = files(&vault);
        let out = kw(&vault, &["init"], "");
        assert_eq!(out.status.code(), Some(4), "page {page}: kw init over a damaged vault");
        assert!(
            files(&vault) == before,
            "page {page}: kw init changed the damaged vault"
        );
    }
    eprintln!(
        "corrupted pages: {pages} pages, each damaged in turn; {detected} detected (kw check finds every one), \
         {clean_errors} clean errors (exit 10, nothing written)"
    );
    assert_eq!(detected, pages, "a damaged page that not even kw check noticed");
    keywarden_core::keychain::overwrite_for_tests(&anchor_item, &anchor).unwrap();
    assert!(
        kw(&pristine, &["check"], "").status.success(),
        "kw check on the undamaged vault"
    );
}
