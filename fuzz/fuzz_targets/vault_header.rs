//! `vault.json`, the vault's unauthenticated header: a header or an error, and a
//! forged one never opens.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| keywarden_core::fuzzing::vault_header(data));
