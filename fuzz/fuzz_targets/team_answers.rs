//! What OpenBao answers the team client: cards, token lookups, stored secrets,
//! audit events, the last-known listing, storage paths.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| keywarden_team::fuzzing::team_answers(data));
