//! `Vault`: every operation on a vault, each a single transaction that
//! writes its change and its audit event together.
//!
//! One module per domain, each an `impl Vault` of its own: lifecycle
//! (create, open, recover, lock), integrations, credentials, import, usage,
//! rotation, checks, data_keys and audit; partner keys, expiry notices and
//! access tokens live beside them in the crate.

mod alerts;
mod audit;
mod backups;
mod checks;
mod connect;
mod credentials;
mod data_keys;
mod health;
mod import;
mod integrations;
mod lifecycle;
mod rotation;
mod rotation_notices;
mod settings;
#[cfg(any(test, feature = "test-support"))]
mod testing;
mod unlocks;
mod usage;
mod write;

use self::credentials::*;
use self::data_keys::*;
use self::integrations::*;
use self::rotation::*;

pub use self::audit::IntegrityReport;
pub(crate) use self::audit::page_problems as page_problems_of;
pub(crate) use self::checks::reconnection_notice;
pub use self::checks::{CheckReport, DayActivity, FinishedCheck, PendingCheck};
pub use self::connect::Connected;
pub use self::data_keys::DataKeyRotation;
pub use self::health::{DueCheck, HealthPlan};
pub use self::import::ImportProgress;
pub(crate) use self::integrations::{check_descriptive_fields, check_max_age, validate_integration};
pub use self::rotation_notices::RotationNoticeRun;
pub(crate) use self::usage::use_event;
pub(crate) use self::write::{Unaudited, WriteTx};

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::{Connection, Transaction};
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::anchor::Anchor;
use crate::clock::{Clock, SystemClock};
use crate::crypto::sealed::{self, FieldSlot};
use crate::crypto::{DekWrapKey, Kek, Keyring, PartnerHashKey, SigningSeed, VaultKey};
use crate::error::{Error, Result};
use crate::header::{self, Header, KeySource};
use crate::model::*;
use crate::recovery::RecoveryCode;
use crate::secret::{SecretFields, mask};
use crate::store::audit::{Actor, AuditEvent, AuditFilter, AuditReport, NewEvent, Outcome};
use crate::store::checks::{Check, CheckOutcome};
use crate::store::credentials::{self as creds, Row};
use crate::store::data_keys::DataKey;
use crate::store::{self, reminders, sealed_values};
use crate::validate::{self, Candidate, Failure, Validator, Verdict};
use crate::{jwt, timefmt};

/// An open vault. Dropping it (or `lock`) closes the database and zeroizes
/// every key it held.
pub struct Vault {
    dir: PathBuf,
    header: Header,
    conn: Connection,
    /// On the heap: a `Vault` is moved around (into `lock`, into the app's
    /// state), and every move of a struct holding the keys inline would
    /// leave a copy of them behind on the stack.
    keys: Box<Keyring>,
    /// Where the audit head is recorded outside the database (anchor.rs).
    anchor: Anchor,
    actor: Actor,
    rotate_after: u64,
    /// The settings in force (`settings.rs`): the saved ones within the
    /// policy.
    settings: crate::settings::Settings,
    /// Why the saved settings are not in force, if they are not.
    settings_problem: Option<String>,
    clock: Arc<dyn Clock>,
    /// The organisation's policy (`policy.rs`), read when the vault opens.
    policy: Arc<crate::policy::Policy>,
    /// Where audit events are streamed as they are committed (settings).
    stream: Option<crate::audit_stream::AuditStream>,
    /// Why the last write's events did not reach the stream.
    stream_problem: Option<String>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("dir", &self.dir)
            .field("vault_id", &self.header.vault_id)
            .finish_non_exhaustive()
    }
}

pub(crate) fn ev<'a>(
    action: &'a str,
    kind: &'a str,
    id: Option<Uuid>,
    name: Option<&str>,
    outcome: Outcome,
    detail: impl Into<String>,
) -> NewEvent<'a> {
    NewEvent {
        action,
        object_kind: kind,
        object_id: id.map(|i| i.to_string()),
        object_name: name.map(str::to_owned),
        outcome,
        detail: detail.into(),
    }
}

/// Consecutive authentication failures after which a credential is put in
/// `error` unless the vault is told otherwise.
pub const AUTH_FAILURE_THRESHOLD: u32 = 3;

impl Vault {
    pub fn vault_id(&self) -> Uuid {
        self.header.vault_id
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    fn clock(&self) -> creds::StatusClock {
        creds::StatusClock {
            now: self.now(),
            expiring_within_days: i64::from(self.settings.expiring_within_days),
            max_age_days: self.settings.rotation_max_age_days,
            grace_days: self.settings.rotation_grace_days,
            age_cap: self.policy.rules.max_credential_age_days,
        }
    }

    /// Replaces the system clock: tests move time with a `ManualClock`.
    pub fn set_clock(&mut self, clock: Arc<dyn Clock>) {
        self.clock = clock;
    }

    /// The vault's clock, for a service that answers on its time.
    pub fn clock_handle(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    /// The vault's "now", from its clock.
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// For tests: rotate the DEK after `n` seals instead of 2^30.
    #[doc(hidden)]
    pub fn set_rotate_after(&mut self, n: u64) {
        self.rotate_after = n;
    }

    /// Runs `f` on one read snapshot of the database. A sealed value and
    /// the data key that opens it must be read at the same moment: another
    /// program's data-key rotation in between re-seals the value and
    /// deletes its old key, and an intact vault would look damaged.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        // Never inside another transaction of this connection (BEGIN would
        // fail): the writers hold `&mut self`, so the borrow checker keeps
        // them apart today; this keeps a later `&self` caller honest.
        debug_assert!(self.conn.is_autocommit(), "Vault::read inside an open transaction");
        // Dropped, not committed: a read-only transaction rolls back.
        let tx = Transaction::new_unchecked(&self.conn, rusqlite::TransactionBehavior::Deferred)?;
        f(&tx)
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    pub(crate) fn partner_hash_key(&self) -> &PartnerHashKey {
        &self.keys.partner_hash
    }

    pub(crate) fn signing_seed(&self) -> &SigningSeed {
        &self.keys.signing
    }
}

#[cfg(test)]
mod tests;
