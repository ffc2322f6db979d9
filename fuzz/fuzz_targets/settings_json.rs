//! `settings.json` beside the vault (the app writes it, `kw` reads it).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| keywarden_core::fuzzing::settings_json(data));
