//! `kw serve`: raw HTTP requests to the verification and broker endpoints,
//! answered by the service over a real (passphrase) vault.
#![no_main]
use std::sync::OnceLock;

use keywarden_verifier::fuzzing::Harness;

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let made = keywarden_core::fuzzing::vault("serve_requests")
            .map_err(|e| e.to_string())
            .and_then(|(v, _)| Harness::new(v).map_err(|e| e.to_string()));
        match made {
            Ok(h) => h,
            Err(e) => panic!("the fuzz service could not be made: {e}"),
        }
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = harness().request(data);
});
