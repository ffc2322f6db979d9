//! The vault's settings: the core's (`keywarden_core::settings`), which
//! `kw` reads as well.

pub use keywarden_core::settings::Settings;
