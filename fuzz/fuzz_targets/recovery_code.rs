//! The recovery code as a person types it.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| keywarden_core::fuzzing::recovery_code(data));
