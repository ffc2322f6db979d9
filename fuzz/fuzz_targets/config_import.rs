//! `kw import`: the import file's parser and every check of an import,
//! against a real (passphrase) vault; nothing is written.
#![no_main]
use std::sync::OnceLock;

use keywarden_core::Vault;

fn vault() -> &'static std::sync::Mutex<Vault> {
    static VAULT: OnceLock<std::sync::Mutex<Vault>> = OnceLock::new();
    VAULT.get_or_init(|| match keywarden_core::fuzzing::vault("config_import") {
        Ok((v, _)) => std::sync::Mutex::new(v),
        Err(e) => panic!("the fuzz vault could not be made: {e}"),
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let v = vault().lock().unwrap_or_else(|p| p.into_inner());
    keywarden_core::fuzzing::config_import(&v, data);
});
