//! Keywarden's team vault on OpenBao (issue 10).
//!
//! When users outgrow one workstation, credentials live in an OpenBao
//! cluster the organisation runs (Raft HA, policies, audit devices), not in
//! a home-made server. This crate speaks OpenBao's HTTP API; the core
//! crate stays free of HTTP.
//!
//! - `client`: the HTTP client, failing over between the cluster's nodes;
//! - `layout`: where things live in the KV v2 mount, and the policies that
//!   enforce roles (owner, admin, viewer) and sharing (personal, use,
//!   view, manage) inside OpenBao;
//! - `card`: a credential's card, its commit point;
//! - `team`: a signed-in member's operations;
//! - `broker`: the one identity that reads shared secrets, for members;
//! - `audit`: the hash-chained audit, written under each admin's identity;
//! - `partner`: partner API keys: hashes and revocation flags in OpenBao;
//! - `admin`: creating the team and managing members and roles;
//! - `session`: a workstation's sign-in (keychain token, addresses, the
//!   offline cards), shared by `kw team` and the desktop app.

pub mod admin;
pub mod audit;
pub mod broker;
pub mod card;
pub mod client;
pub mod error;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod layout;
pub mod partner;
pub mod session;
pub mod team;
#[cfg(feature = "test-support")]
pub mod testing;

pub use broker::{BrokerCheck, TeamBroker};
pub use card::Card;
pub use client::Bao;
pub use error::{BaoError, TeamError};
pub use layout::{Role, Sharing, role_words};
pub use partner::TeamPartnerKey;
pub use session::{CardView, Credentials, Listing, TeamConfig};
pub use team::{Abilities, Identity, NewTeamCredential, TeamCredential, TeamPatch, TeamVault};

/// Now, as every timestamp of a team vault is written: the local vault's
/// fixed-width UTC form (RFC 3339), so text order is time order.
pub(crate) fn now() -> String {
    keywarden_core::timefmt::to_db(keywarden_core::timefmt::now())
}

/// Mount paths are part of every policy path: plain words only.
pub(crate) fn check_mount_name(mount: &str) -> Result<(), TeamError> {
    let ok = !mount.is_empty()
        && mount.len() <= 64
        && mount.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(TeamError::Invalid {
            field: "mount".into(),
            reason: format!("'{mount}' is not a mount name; use 1-64 letters, digits, - and _"),
        })
    }
}
