//! Partner keys and service-account tokens as the verifier reads them.
#![no_main]
use std::sync::OnceLock;

use keywarden_core::partner::KeyIndex;

fn index() -> &'static (KeyIndex, Vec<String>) {
    static INDEX: OnceLock<(KeyIndex, Vec<String>)> = OnceLock::new();
    INDEX.get_or_init(|| {
        let made = keywarden_core::fuzzing::vault("partner_key").and_then(|(v, issued)| Ok((v.key_index()?, issued)));
        match made {
            Ok(made) => made,
            Err(e) => panic!("the fuzz vault could not be made: {e}"),
        }
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (index, issued) = index();
    keywarden_core::fuzzing::partner_key(index, issued, data);
});
