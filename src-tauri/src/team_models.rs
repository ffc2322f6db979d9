//! What the window receives about the team vault that comes from
//! keywarden-team's own types (kept apart from models.rs, which the IPC
//! fuzzer compiles on its own).

use std::collections::BTreeMap;

use serde::Serialize;
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, TS)]
pub struct TeamCredentialOut {
    pub card: keywarden_team::CardView,
    /// None: shared for use only; the configuration is not this member's
    /// to see (OpenBao refused it).
    pub config: Option<BTreeMap<String, String>>,
    /// What OpenBao lets this member do with it; the window shows only
    /// these actions.
    pub you_can: keywarden_team::Abilities,
    /// The secret fields a rotation asks for.
    pub secret_fields: Vec<String>,
}
