//! The sealed-field parser (`crypto::sealed`): the on-disk format of every
//! secret field.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| keywarden_core::fuzzing::sealed_value(data));
