//! Keeping other programs of the same user out of a process while it holds
//! a vault's keys (issue 20, finding 9). A process of the same user may
//! otherwise attach a debugger to it, read `/proc/PID/mem`, or have the
//! kernel write a core dump of it, each with the keys inside.

/// `true`: this process becomes non-dumpable (Linux `PR_SET_DUMPABLE` 0:
/// no core dump, and no process of the same user may ptrace it or read its
/// memory; only root can) and its core-file limit becomes 0. `false`: it is
/// dumpable again, for a locked app that holds no key any more; the limit
/// stays 0. Elsewhere than on Linux this does nothing yet.
pub fn guard_keys(on: bool) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{DumpableBehavior, Resource, Rlimit, getrlimit, set_dumpable_behavior, setrlimit};
        if on {
            // The soft limit only: lowering the hard one could not be undone.
            let hard = getrlimit(Resource::Core).maximum;
            setrlimit(
                Resource::Core,
                Rlimit {
                    current: Some(0),
                    maximum: hard,
                },
            )?;
        }
        let behavior = if on {
            DumpableBehavior::NotDumpable
        } else {
            DumpableBehavior::Dumpable
        };
        set_dumpable_behavior(behavior)?;
    }
    #[cfg(not(target_os = "linux"))]
    let _ = on;
    Ok(())
}

/// Whether this process is non-dumpable now (Linux), for tests and the
/// support bundle.
pub fn keys_guarded() -> bool {
    #[cfg(target_os = "linux")]
    {
        rustix::process::dumpable_behavior().is_ok_and(|b| b == rustix::process::DumpableBehavior::NotDumpable)
    }
    #[cfg(not(target_os = "linux"))]
    false
}

#[cfg(test)]
mod tests {
    /// In a child process: the test binary's own state must not change for
    /// the other tests.
    #[test]
    #[cfg(target_os = "linux")]
    fn guarding_makes_the_process_non_dumpable_with_no_core_and_releasing_undoes_the_first() {
        const CHILD: &str = "KEYWARDEN_GUARD_CHILD";
        if std::env::var_os(CHILD).is_some() {
            assert!(!super::keys_guarded());
            super::guard_keys(true).unwrap();
            assert!(super::keys_guarded());
            let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
            let core = limits.lines().find(|l| l.starts_with("Max core file size")).unwrap();
            assert_eq!(core.split_whitespace().nth(4), Some("0"), "{core}");
            super::guard_keys(false).unwrap();
            assert!(!super::keys_guarded());
            return;
        }
        let me = std::env::current_exe().unwrap();
        let out = std::process::Command::new(me)
            .args([
                "--exact",
                "process::tests::guarding_makes_the_process_non_dumpable_with_no_core_and_releasing_undoes_the_first",
                "--nocapture",
            ])
            .env(CHILD, "1")
            .output()
            .unwrap();
        assert!(
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains("1 passed"),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
