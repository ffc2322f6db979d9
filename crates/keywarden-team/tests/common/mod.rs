//! The shared OpenBao fixtures live in the crate (feature test-support),
//! so kw's tests use the same servers.
#![allow(dead_code)]

pub use keywarden_team::testing::*;
