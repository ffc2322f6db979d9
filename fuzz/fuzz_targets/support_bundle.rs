//! The support-bundle reader: files support staff are sent and open.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| keywarden_core::fuzzing::support_bundle(data));
