//! No key of the vault is left on the stack of a thread that used it.
//!
//! Issue 19: the desktop app runs each command on one of its runtime's
//! threads; a data key sealed on one thread stayed in that thread's dead
//! stack after Lock ran on another. Here one thread does everything a
//! vault does with keys (create, open, seal, open sealed values, rotate,
//! rotate the data key, partner keys, audit) and then waits, alive, while
//! the test reads that thread's whole stack through /proc/self/mem and
//! looks for every key of the vault. A second thread that leaves a key on
//! its stack on purpose proves the search finds what is there.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Seek, SeekFrom};
use std::sync::mpsc;

use keywarden_core::{
    Actor, CredentialKind, KeySource, NewCredential, OfflineValidator, SecretFields, SecretString, Vault,
};

/// The bytes of the readable mapping of this process that holds `addr`.
fn mapping_bytes(addr: usize) -> Vec<u8> {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let (start, end) = maps
        .lines()
        .filter_map(|line| {
            let range = line.split_whitespace().next()?;
            let (s, e) = range.split_once('-')?;
            Some((usize::from_str_radix(s, 16).ok()?, usize::from_str_radix(e, 16).ok()?))
        })
        .find(|(s, e)| (*s..*e).contains(&addr))
        .expect("the thread's stack is mapped");
    let mut mem = std::fs::File::open("/proc/self/mem").unwrap();
    mem.seek(SeekFrom::Start(start as u64)).unwrap();
    let mut out = vec![0u8; end - start];
    mem.read_exact(&mut out).unwrap();
    out
}

fn found<'a>(haystack: &[u8], needles: &'a [(String, Vec<u8>)]) -> Vec<&'a str> {
    needles
        .iter()
        .filter(|(_, n)| haystack.windows(n.len()).any(|w| w == n.as_slice()))
        .map(|(name, _)| name.as_str())
        .collect()
}

/// Runs `work` on a thread of its own, then reads that thread's stack
/// while it waits, still alive, and returns it with what `work` returned
/// (an open vault is locked by the caller, on another thread, as the app's
/// Lock does).
fn stack_after<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> (Vec<u8>, T) {
    let (addr_tx, addr_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let worker = std::thread::spawn(move || {
        let here = 0u8;
        let out = work();
        addr_tx
            .send((std::hint::black_box(&here) as *const u8 as usize, out))
            .unwrap();
        let _ = done_rx.recv();
    });
    let (addr, out) = addr_rx.recv().unwrap();
    let stack = mapping_bytes(addr);
    done_tx.send(()).unwrap();
    worker.join().unwrap();
    (stack, out)
}

fn api_key(name: &str, secret: &str) -> NewCredential {
    NewCredential {
        name: name.into(),
        kind: Some(CredentialKind::ApiKey),
        secrets: SecretFields::single("api_key", SecretString::from(secret.to_owned())),
        ..Default::default()
    }
}

type Op = fn(&mut Vault);

/// Each thing a command of the app does with keys, as the last thing a
/// runtime thread does before it goes idle.
const OPS: [(&str, Op); 9] = [
    ("add a credential (seal under the data key)", |v| {
        v.add_credential(api_key("Residue new", "pk_live_residueNEW0009"))
            .unwrap();
    }),
    ("use a secret (open under the data key)", |v| {
        v.use_secret("Residue one", "test").unwrap();
    }),
    ("rotate a secret", |v| {
        v.replace_secret(
            "Residue one",
            SecretFields::single("api_key", SecretString::from("pk_live_residueROT0004".to_owned())),
            None,
            &OfflineValidator,
        )
        .unwrap();
    }),
    ("rotate the data key", |v| {
        v.rotate_data_key().unwrap();
    }),
    ("open a second handle", |v| {
        v.reopen().unwrap().lock();
    }),
    ("verify the audit chain", |v| {
        assert!(v.verify_audit().unwrap().ok);
    }),
    ("read the whole vault", |v| {
        assert!(v.check_integrity().unwrap().ok);
    }),
    ("issue a partner key", |v| {
        v.issue_partner_key(keywarden_core::partner::NewPartnerKey {
            application: "residue-app".into(),
            scopes: vec!["invoices:read".into()],
            ..Default::default()
        })
        .unwrap();
    }),
    ("list credentials", |v| {
        v.list_credentials(&Default::default()).unwrap();
    }),
];

fn assert_no_key_left(source: fn() -> KeySource) {
    let dir = tempfile::tempdir().unwrap();
    let vault_dir = dir.path().join("vault");
    let actor = || Actor::current(Some("residue".into()));
    // Creating and opening, each on a thread of its own.
    let work_dir = vault_dir.clone();
    let (stack, vault) = stack_after(move || Vault::create(&work_dir, source(), actor()).unwrap().0);
    vault.lock();
    let keys = Vault::key_material_for_tests(&vault_dir, &source()).unwrap();
    assert!(keys.len() >= 9, "every key of the vault is looked for: {keys:?}");
    let mut left = Vec::new();
    for name in found(&stack, &keys) {
        left.push(format!("create: {name}"));
    }
    let work_dir = vault_dir.clone();
    let (stack, mut vault) = stack_after(move || Vault::open(&work_dir, &source(), actor()).unwrap());
    for name in found(&stack, &keys) {
        left.push(format!("open: {name}"));
    }
    vault
        .add_credential(api_key("Residue one", "pk_live_residueONE0001"))
        .unwrap();
    // Then each operation on a fresh thread, handed the open vault, as the
    // app's runtime threads are; the vault goes back to this thread.
    for (what, op) in OPS {
        let (stack, back) = stack_after(move || {
            let mut v = vault;
            op(&mut v);
            v
        });
        vault = back;
        // A data key rotation made new keys: look for those too.
        let keys = Vault::key_material_for_tests(&vault_dir, &source()).unwrap();
        for name in found(&stack, &keys) {
            left.push(format!("{what}: {name}"));
        }
    }
    // Lock on a thread, as the app's Lock command runs.
    let (stack, ()) = stack_after(move || vault.lock());
    let keys = Vault::key_material_for_tests(&vault_dir, &source()).unwrap();
    for name in found(&stack, &keys) {
        left.push(format!("lock: {name}"));
    }
    assert!(
        left.is_empty(),
        "threads that used the vault still hold on their stacks: {left:?}"
    );
}

#[test]
fn a_thread_that_used_a_keychain_vault_keeps_no_key_on_its_stack() {
    assert_no_key_left(|| KeySource::Keychain);
}

#[test]
fn a_thread_that_used_a_passphrase_vault_keeps_no_key_on_its_stack() {
    assert_no_key_left(|| KeySource::Passphrase(SecretString::from("correct horse battery staple".to_owned())));
}

/// The search is not blind: a key copied onto a thread's stack by a call
/// that has returned is found there.
#[test]
fn the_search_finds_a_key_left_on_a_stack() {
    #[inline(never)]
    fn leave_on_stack(bytes: [u8; 32]) {
        let copy = std::hint::black_box(bytes);
        std::hint::black_box(&copy);
    }
    let key: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(11));
    let (stack, ()) = stack_after(move || leave_on_stack(key));
    let needles = vec![("planted key".to_owned(), key.to_vec())];
    assert_eq!(found(&stack, &needles), vec!["planted key"]);
}
