//! `kw team broker`: raw HTTP requests, read up to the call to OpenBao.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| keywarden_verifier::fuzz_team_request(data));
