//! The organisation's policy file parser (/etc/keywarden/policy.toml).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| keywarden_core::fuzzing::policy_file(data));
