//! Keywarden's vault: key hierarchy, sealed secrets, the model and its
//! store, the audit chain, export. No Tauri, no HTTP: the desktop app and
//! the `kw` CLI are thin layers over `Vault`.

pub mod alerts;
pub mod anchor;
pub mod anchor_writer;
pub mod audit_export;
pub mod audit_stream;
pub mod backend;
pub mod backup;
pub mod clock;
pub mod crypto;
pub mod error;
pub mod expiry;
pub mod export;
pub mod files;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod header;
pub mod health;
pub mod i18n;
mod jwt;
pub mod keychain;
pub mod migrate;
pub mod model;
pub mod partner;
pub mod policy;
pub mod process;
pub mod recovery;
pub mod redact;
pub mod run;
pub mod secret;
pub mod settings;
pub mod store;
pub mod support;
pub mod timefmt;
pub mod tokens;
pub mod validate;
pub mod vault;
#[cfg(test)]
mod vectors;

pub use backend::{BackendCredential, BackendError, CredentialBackend};
pub use clock::{Clock, ManualClock, SystemClock, test_mode};
pub use error::{Error, ErrorKind, Hint, Result};
pub use expiry::{Notice, NoticeKind, NoticeRun};
pub use header::KeySource;
pub use health::{CheckSchedule, IntegrationSchedule, ScheduleSource};
pub use model::*;
pub use policy::{Policy, PolicyEntry, PolicySource};
pub use recovery::RecoveryCode;
pub use secret::{SecretFields, mask};
pub use store::audit::{Actor, AuditEvent, AuditFilter, AuditReport, Outcome};
pub use store::checks::{Check, CheckOutcome};
pub use support::{CredentialHealth, SupportBundle};
pub use validate::{Candidate, Failure, OfflineValidator, Rejection, Renewed, Validator, Verdict, is_endpoint_field};
pub use vault::{
    AUTH_FAILURE_THRESHOLD, CheckReport, Connected, DayActivity, DueCheck, FinishedCheck, HealthPlan, ImportProgress,
    IntegrityReport, PendingCheck, Vault,
};

pub use secrecy::{ExposeSecret, SecretString};
