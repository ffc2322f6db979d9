//! `WWW-Authenticate` challenges in providers' answers (RFC 9110, RFC 6750).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| keywarden_connectors::http::fuzz_www_authenticate(data));
