//! The claims of JWT-shaped secrets, read for expiry reminders.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| keywarden_core::fuzzing::jwt_claims(data));
