//! The migration import parsers (`kw credential import --from csv|keepass-xml`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| keywarden_core::fuzzing::migration_import(data));
