//! `Vault`: every operation on a vault, each a single transaction that
//! writes its change and its audit event together.

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
use crate::crypto::Key256;
use crate::crypto::sealed::{self, FieldSlot};
use crate::error::{Error, Result};
use crate::header::{self, Header, KeySource};
use crate::model::*;
use crate::recovery::RecoveryCode;
use crate::secret::{SecretFields, mask};
use crate::store::audit::{self, Actor, AuditEvent, AuditFilter, AuditReport, NewEvent, Outcome};
use crate::store::checks::{self, Check, CheckOutcome};
use crate::store::credentials::{self as creds, Row};
use crate::store::data_keys::{self, DataKey};
use crate::store::{self, integrations, reminders, sealed_values};
use crate::validate::{self, Candidate, Failure, Validator, Verdict};
use crate::{jwt, timefmt};

/// Keys derived from the vault key for one purpose each. Deriving the audit
/// MAC key from the vault key, not a DEK, keeps old events verifiable after
/// `rotate_data_key` destroys the old DEK.
struct VaultKeys {
    db: Key256,
    dek_wrap: Key256,
    audit: Key256,
    /// HMAC key of partner-key hashes.
    partner_hash: Key256,
    /// Seed of the vault's Ed25519 signing key (envelopes, revocation
    /// lists): derived, so it is never stored and survives a re-key.
    signing_seed: Key256,
}

impl VaultKeys {
    fn derive(vault_key: &Key256) -> Box<Self> {
        Box::new(VaultKeys {
            db: vault_key.derive("keywarden/sqlcipher/v1"),
            dek_wrap: vault_key.derive("keywarden/dek-wrap/v1"),
            audit: vault_key.derive("keywarden/audit-mac/v1"),
            partner_hash: vault_key.derive("keywarden/partner-key-hash/v1"),
            signing_seed: vault_key.derive("keywarden/ed25519-signing/v1"),
        })
    }
}

/// A pending version older than this is an interrupted rotation: live
/// validation takes seconds, never this long.
const STALE_PENDING_MINUTES: i64 = 10;

/// An open vault. Dropping it (or `lock`) closes the database and zeroizes
/// every key it held.
pub struct Vault {
    dir: PathBuf,
    header: Header,
    conn: Connection,
    /// On the heap: a `Vault` is moved around (into `lock`, into the app's
    /// state), and every move of a struct holding the keys inline would
    /// leave a copy of them behind on the stack.
    keys: Box<VaultKeys>,
    /// Where the audit head is recorded outside the database (anchor.rs).
    anchor: Anchor,
    actor: Actor,
    rotate_after: u64,
    expiring_within_days: i64,
    auth_failure_threshold: u32,
    /// Days before expiry at which notices fire (see `expiry.rs`).
    notice_thresholds: Vec<u32>,
    /// The vault-wide rotation policy (days; 0 = none) and grace period.
    rotation_max_age_days: u32,
    rotation_grace_days: u32,
    clock: Arc<dyn Clock>,
    /// The organisation's policy (`policy.rs`), read when the vault opens.
    policy: Arc<crate::policy::Policy>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("dir", &self.dir)
            .field("vault_id", &self.header.vault_id)
            .finish_non_exhaustive()
    }
}

/// The result of `rotate_data_key`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DataKeyRotation {
    pub key_id: u32,
    pub resealed: usize,
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

/// Opens every sealed field of one version, under whichever data key
/// sealed each.
fn open_version_in(
    conn: &Connection,
    dek_wrap: &Key256,
    vault_id: Uuid,
    id: Uuid,
    version: u32,
) -> Result<SecretFields> {
    let mut out = SecretFields::new();
    let mut keys = HashMap::new();
    for (field, blob) in creds::fields(conn, id, version)? {
        let key = key_for_in(conn, dek_wrap, vault_id, &mut keys, &blob)?;
        let plain = sealed::open(
            &key.key,
            &FieldSlot {
                credential_id: id,
                field: &field,
                version,
            },
            &blob,
        )?;
        let text = String::from_utf8(plain.to_vec()).map_err(|e| {
            zeroize::Zeroize::zeroize(&mut e.into_bytes());
            Error::Decryption
        })?;
        out.insert(&field, SecretString::from(text));
    }
    Ok(out)
}

/// Whether opening refuses a database older than its rollback anchor.
#[derive(Clone, Copy)]
enum Older {
    Refuse,
    /// `open_accepting_older`: a backup restored on purpose.
    Accept,
}

/// The vault's header, its KEK (from the keychain or the passphrase) and
/// the vault key it unwraps: the first steps of every open.
fn unlock_header(dir: &Path, source: &KeySource) -> Result<(Header, Key256, Key256)> {
    let header = Header::read(dir)?;
    let pass = match source {
        KeySource::Passphrase(p) => Some(p),
        KeySource::Keychain => None,
    };
    let kek = header.load_kek(pass)?;
    let vault_key = header.unwrap_with_kek(&kek)?;
    Ok((header, kek, vault_key))
}

/// Where a vault with this header keeps its rollback anchor: the keychain
/// for a keychain vault, `vault.anchor` for a passphrase vault.
fn anchor_for(header: &Header, dir: &Path) -> Anchor {
    if header.is_passphrase() {
        Anchor::file(dir)
    } else {
        Anchor::keychain(&header.vault_id.to_string())
    }
}

/// The event that records where a vault's rollback anchor is kept: from
/// then on a missing anchor is refused, not set up again.
fn anchor_set_event(header: &Header, dir: &Path) -> NewEvent<'static> {
    let place = if header.is_passphrase() {
        format!("the file {}", dir.join(crate::anchor::ANCHOR_FILE).display())
    } else {
        "the OS keychain".to_owned()
    };
    ev(
        crate::anchor::SET_UP,
        "vault",
        Some(header.vault_id),
        None,
        Outcome::Success,
        format!("the rollback anchor is kept in {place}"),
    )
}

/// Commits `tx`, then moves the rollback anchor to the audit head it
/// committed.
fn commit(tx: Transaction<'_>, anchor: &Anchor) -> Result<()> {
    let head = crate::anchor::head(&tx)?;
    tx.commit()?;
    anchor.advance(head);
    Ok(())
}

/// The data key new values are sealed under, read from the database each
/// time, inside the writing transaction: another program on the same vault
/// (the app, `kw`) may have rotated it and deleted the key this one opened
/// with, and a value sealed under a deleted key could never be opened.
fn sealing_key(conn: &Connection, keys: &VaultKeys, vault_id: Uuid) -> Result<DataKey> {
    data_keys::current(conn, &keys.dek_wrap, vault_id)
}

/// Seals `plain` for `slot` under `dek`, counting the use. Inside the
/// transaction that read `dek` and stores the blob.
pub(crate) fn seal_counted(conn: &Connection, dek: &DataKey, slot: &FieldSlot<'_>, plain: &[u8]) -> Result<Vec<u8>> {
    let blob = sealed::seal(&dek.key, dek.id, slot, plain)?;
    data_keys::add_uses(conn, dek.id, 1)?;
    Ok(blob)
}

/// Seals every field of `secrets` as `version` of credential `id` under the
/// current DEK; returns the masks and counts the seals.
fn seal_into(
    conn: &Connection,
    dek: &DataKey,
    id: Uuid,
    version: u32,
    secrets: &SecretFields,
) -> Result<BTreeMap<String, String>> {
    let masks = seal_fields(conn, dek, id, version, secrets)?;
    data_keys::add_uses(conn, dek.id, secrets.len() as u64)?;
    Ok(masks)
}

/// `seal_into` without counting the data key's uses: a bulk write counts
/// them once for all its credentials.
fn seal_fields(
    conn: &Connection,
    dek: &DataKey,
    id: Uuid,
    version: u32,
    secrets: &SecretFields,
) -> Result<BTreeMap<String, String>> {
    let mut masks = BTreeMap::new();
    for (field, value) in secrets.iter() {
        let slot = FieldSlot {
            credential_id: id,
            field,
            version,
        };
        let blob = sealed::seal(&dek.key, dek.id, &slot, value.expose_secret().as_bytes())?;
        creds::insert_field(conn, id, version, field, &blob)?;
        masks.insert(field.to_owned(), mask(value));
    }
    Ok(masks)
}

/// A new credential that passed every check that needs no provider: its
/// type, integration, provider and environment resolved.
struct Checked {
    kind: CredentialKind,
    integration: Option<Integration>,
    provider: String,
    environment: String,
}

/// The checks of a new credential that need no provider (name, format,
/// policy, duplicates), run before a live check is paid for and again in
/// the writing transaction.
fn check_new_credential(conn: &Connection, policy: &crate::policy::Policy, new: &NewCredential) -> Result<Checked> {
    validate_name("credential name", &new.name)?;
    let kind = new
        .kind
        .ok_or_else(|| Error::invalid("type", "choose a credential type: api-key, oauth2, basic or custom"))?;
    let integration = new
        .integration
        .as_deref()
        .map(|r| integrations::get(conn, r))
        .transpose()?;
    let provider = new
        .provider
        .as_deref()
        .map(|p| p.trim().to_lowercase())
        .or_else(|| integration.as_ref().map(|i| i.provider.clone()))
        .unwrap_or_else(|| "generic".into());
    let environment = new
        .environment
        .as_deref()
        .map(|e| e.trim().to_lowercase())
        .or_else(|| integration.as_ref().map(|i| i.environment.clone()))
        .unwrap_or_else(|| "prod".into());
    check_descriptive_fields(Some(&provider), Some(&environment), &new.tags, &new.notes)?;
    validate::check_format(kind, &new.config, &new.secrets)?;
    policy.check_provider(&provider)?;
    // The integration it serves decides which API it reaches, whatever
    // provider the credential itself names.
    if let Some(i) = &integration {
        policy.check_provider(&i.provider)?;
    }
    if let Some(d) = new.max_age_days {
        check_max_age(d)?;
        policy.check_max_age(d)?;
    }
    if creds::name_taken(conn, &new.name, None)? {
        return Err(Error::Duplicate {
            kind: "a credential",
            name: new.name.clone(),
        });
    }
    Ok(Checked {
        kind,
        integration,
        provider,
        environment,
    })
}

/// How a new credential's secret was accepted: said in its
/// `credential.add` event, and, unless a live check passed, kept on its
/// check list until one does.
pub(crate) enum Acceptance<'a> {
    /// The provider accepted it before it was saved ("Validate and Save").
    Live(&'a Verdict),
    /// Only the offline checks ran (format, expiry, JWT claims).
    Offline(&'a Verdict),
    /// Saved without any check; the reason, said to the admin.
    NotChecked(&'static str),
    /// Read from another tool's export (the file's format).
    Imported(&'a str),
}

impl Acceptance<'_> {
    fn verdict(&self) -> Option<&Verdict> {
        match self {
            Acceptance::Live(v) | Acceptance::Offline(v) => Some(v),
            Acceptance::NotChecked(_) | Acceptance::Imported(_) => None,
        }
    }

    fn audit_detail(&self, kind: CredentialKind) -> String {
        match self {
            Acceptance::Live(_) => format!("type {kind}; checked with the provider before saving"),
            Acceptance::Offline(_) => format!("type {kind}; saved without a live check (offline checks only)"),
            Acceptance::NotChecked(why) => format!("type {kind}; saved without a live check ({why})"),
            Acceptance::Imported(origin) => format!("type {kind}; imported from a {origin} file"),
        }
    }

    /// The check-list item it leaves, when the provider has not confirmed it.
    fn reminder(&self) -> Option<String> {
        let rest = CONFIRM_LIVE;
        match self {
            Acceptance::Live(_) => None,
            Acceptance::Offline(_) => Some(format!("Saved after the offline checks only: {rest}.")),
            Acceptance::NotChecked(why) => Some(format!("Saved without a live check ({why}): {rest}.")),
            Acceptance::Imported(origin) => {
                Some(format!("Imported from a {origin} file without a live check: {rest}."))
            }
        }
    }
}

/// What a check-list item asks of a secret the provider has not confirmed.
const CONFIRM_LIVE: &str = "test the connection to confirm it with the provider";

/// Why a credential was saved without a live check, for each way that
/// allows it.
pub(crate) const CHOSEN: &str = "the admin chose to save without checking";
pub(crate) const NO_LIVE_CHECK: &str = "no live check is known for its provider";
pub(crate) const BULK: &str = "saved in bulk";

/// Checks a new credential, fills its defaults from its integration, and
/// writes it — row, version 1, sealed fields, `credential.add` event, its
/// check list — in the caller's transaction. A verdict of a live check
/// keeps its expiry, and the credential counts as validated now.
fn insert_new_credential(
    conn: &Connection,
    keys: (&DataKey, &Key256),
    actor: &Actor,
    policy: &crate::policy::Policy,
    new: NewCredential,
    how: &Acceptance<'_>,
    now: OffsetDateTime,
) -> Result<Uuid> {
    let pre = check_new_credential(conn, policy, &new)?;
    write_new_credential(conn, keys.0, keys.1, actor, new, pre, how, None, now)
}

/// The writing half of `insert_new_credential`, for a credential the
/// caller has checked in this same transaction (an import checks all of
/// them first, to report every problem at once).
#[allow(clippy::too_many_arguments)]
fn write_new_credential(
    conn: &Connection,
    dek: &DataKey,
    audit_key: &Key256,
    actor: &Actor,
    new: NewCredential,
    pre: Checked,
    how: &Acceptance<'_>,
    // Where the caller counts the data key's uses itself (a bulk write).
    uses: Option<&mut u64>,
    now: OffsetDateTime,
) -> Result<Uuid> {
    let Checked {
        kind,
        integration,
        provider,
        environment,
    } = pre;
    let checked = how.verdict();
    // The version row must exist before its sealed fields (foreign key),
    // so the masks are computed up front.
    let masks: BTreeMap<String, String> = new.secrets.iter().map(|(f, v)| (f.to_owned(), mask(v))).collect();
    let mut row = Row {
        id: Uuid::new_v4(),
        kind,
        integration_id: integration.as_ref().map(|i| i.id),
        integration_name: integration.map(|i| i.name),
        provider,
        environment,
        status: Status::Active,
        secret_fields: new.secrets.names().map(str::to_owned).collect(),
        expiry_source: match (
            new.expires_at,
            checked.and_then(|v| v.expires_at),
            jwt_expiry(&new.secrets),
        ) {
            (Some(_), _, _) => Some(ExpirySource::User),
            // An offline verdict's expiry is the token's own `exp`.
            (None, Some(_), _) if checked.is_some_and(|v| v.offline) => Some(ExpirySource::Token),
            (None, Some(_), _) => Some(ExpirySource::Provider),
            (None, None, Some(_)) => Some(ExpirySource::Token),
            (None, None, None) => None,
        },
        expires_at: new
            .expires_at
            .or_else(|| checked.and_then(|v| v.expires_at))
            .or_else(|| jwt_expiry(&new.secrets)),
        last_used_at: None,
        last_validated_at: match how {
            Acceptance::Live(_) => Some(now),
            _ => None,
        },
        current_version: 1,
        mask: primary_mask(kind, &masks),
        needs_reentry: false,
        rotated_at: Some(now),
        max_age_days: new.max_age_days,
        integration_max_age_days: None,
        created_at: now,
        updated_at: now,
        revision: 0,
        name: new.name,
        config: new.config,
        tags: new.tags,
        notes: new.notes.and_then(empty_to_none),
    };
    creds::upsert(conn, &mut row)?;
    creds::insert_version(conn, row.id, 1, VersionState::Current, &masks)?;
    match uses {
        Some(n) => {
            seal_fields(conn, dek, row.id, 1, &new.secrets)?;
            *n += new.secrets.len() as u64;
        }
        None => {
            seal_into(conn, dek, row.id, 1, &new.secrets)?;
        }
    }
    let detail = how.audit_detail(kind);
    if let Some(todo) = how.reminder() {
        reminders::set(conn, row.id, ReminderKind::Unchecked, &todo, now)?;
    }
    audit::append(
        conn,
        audit_key,
        actor,
        ev(
            "credential.add",
            "credential",
            Some(row.id),
            Some(&row.name),
            Outcome::Success,
            detail,
        ),
    )?;
    Ok(row.id)
}

/// Every credential of an import checked (names against the vault,
/// formats, policy), the problems gathered with their place in the file,
/// up to 20; the organisation's policy refuses at once, as such.
fn check_plan(
    conn: &Connection,
    policy: &crate::policy::Policy,
    plan: &[crate::migrate::Planned],
) -> Result<Vec<Checked>> {
    let mut checked = Vec::with_capacity(plan.len());
    let mut problems = Vec::new();
    for p in plan {
        match check_new_credential(conn, policy, &p.credential) {
            Ok(c) => checked.push(c),
            // The organisation's rule, not the file, decides: said as such.
            Err(Error::ManagedByPolicy { setting, detail }) => {
                return Err(Error::ManagedByPolicy {
                    setting,
                    detail: format!("{} ('{}'): {detail}", p.place, p.credential.name),
                });
            }
            Err(Error::Duplicate { name, .. }) => problems.push(format!(
                "{}: the vault already has a credential named '{name}' (was this file imported before?); rename the entry or delete the vault's",
                p.place
            )),
            // A word check quotes the word; in a file whose columns are
            // mislabelled that word may be a secret, so it is not repeated.
            Err(Error::InvalidInput { field, .. })
                if matches!(field.as_str(), "tag" | "provider" | "environment" | "token_url")
                    || field.ends_with("field name") =>
            {
                problems.push(format!(
                    "{} ('{}'): its {field} is not valid: use 1 to 64 letters, digits, '-', '_' or '.' (a URL for token_url); is that column the one its heading says?",
                    p.place, p.credential.name
                ))
            }
            Err(e) => problems.push(format!("{} ('{}'): {e}", p.place, p.credential.name)),
        }
        if problems.len() >= 20 {
            break;
        }
    }
    if problems.is_empty() {
        Ok(checked)
    } else {
        Err(Error::ImportFile { problems })
    }
}

/// Many credentials added in one transaction are indexed for search by one
/// statement at the end instead of by the insert trigger row by row: FTS5
/// flushes its pending index at every statement savepoint, so a trigger
/// per row wrote thousands of one-row segments and merged them again (a
/// quarter of a 10,000-credential import, measured for issue 11). The
/// trigger is dropped and recreated, from its own stored SQL, inside the
/// caller's transaction: an error rolls the schema back with the rows.
struct SearchIndexDeferred {
    trigger_sql: String,
    rowids_above: i64,
}

impl SearchIndexDeferred {
    const TRIGGER: &'static str = "credentials_search_insert";

    fn begin(tx: &Transaction) -> Result<Self> {
        let trigger_sql: String = tx.query_row(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?1",
            [Self::TRIGGER],
            |r| r.get(0),
        )?;
        let rowids_above: i64 = tx.query_row("SELECT coalesce(max(rowid), 0) FROM credentials", [], |r| r.get(0))?;
        tx.execute_batch(&format!("DROP TRIGGER {}", Self::TRIGGER))?;
        Ok(Self {
            trigger_sql,
            rowids_above,
        })
    }

    fn finish(self, tx: &Transaction) -> Result<()> {
        tx.execute(
            "INSERT INTO credential_search(rowid, search_text) SELECT rowid, search_text FROM credentials WHERE rowid > ?1",
            [self.rowids_above],
        )?;
        tx.execute_batch(&self.trigger_sql)?;
        Ok(())
    }
}

/// SQLCipher's check (one row per page whose MAC fails), then SQLite's
/// structure check when every page is intact.
fn page_problems(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare("PRAGMA cipher_integrity_check")?;
    let mut problems: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    if problems.is_empty() {
        let mut stmt = conn.prepare("PRAGMA integrity_check")?;
        let rows: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
        problems.extend(rows.into_iter().filter(|r| r != "ok"));
    }
    Ok(problems)
}

/// The DEK a blob names, unwrapped once per operation and cached.
pub(crate) fn key_for_in<'k>(
    conn: &Connection,
    wrap: &Key256,
    vault_id: Uuid,
    cache: &'k mut HashMap<u32, DataKey>,
    blob: &[u8],
) -> Result<&'k DataKey> {
    let key_id = sealed::key_id_of(blob)?;
    Ok(match cache.entry(key_id) {
        Entry::Occupied(o) => o.into_mut(),
        Entry::Vacant(v) => v.insert(data_keys::load(conn, wrap, vault_id, key_id)?),
    })
}

/// The `credential.use` event, whatever its outcome.
pub(crate) fn use_event(row: &Row, outcome: Outcome, detail: String) -> NewEvent<'static> {
    ev(
        "credential.use",
        "credential",
        Some(row.id),
        Some(&row.name),
        outcome,
        detail,
    )
}

/// Test builds only: holds the process at a named step of a rotation
/// (`KEYWARDEN_CRASH_AT=staged|validated|swap`) and says so on stderr, so a
/// test can SIGKILL it exactly there. Compiled out of real builds.
#[cfg(feature = "test-support")]
fn crash_point(step: &str) {
    if std::env::var("KEYWARDEN_CRASH_AT").is_ok_and(|s| s == step) {
        eprintln!("KEYWARDEN_CRASH_POINT {step}");
        loop {
            std::thread::sleep(std::time::Duration::from_secs(60));
        }
    }
}

#[cfg(not(feature = "test-support"))]
fn crash_point(_step: &str) {}

/// Accepts what the provider itself just issued during a check.
pub(crate) struct Issued;

/// Who replaced a secret: an admin (checked by the validator given), or
/// the provider itself during a check (a rotated refresh token: the old one
/// is already spent there, so nothing is left to revoke).
#[derive(Clone, Copy)]
enum ReplacedBy<'a> {
    Admin(&'a dyn Validator),
    Provider,
}

impl<'a> ReplacedBy<'a> {
    fn validator(self) -> &'a dyn Validator {
        match self {
            ReplacedBy::Admin(v) => v,
            ReplacedBy::Provider => &Issued,
        }
    }
}

impl Validator for Issued {
    fn validate(&self, _c: &Candidate<'_>) -> std::result::Result<Verdict, validate::Rejection> {
        Ok(Verdict::default())
    }
}

/// A secret for another tenant / company than the integration's is refused.
fn same_tenant(v: Verdict, integration: Option<&Integration>) -> std::result::Result<Verdict, validate::Rejection> {
    match (&v.tenant_id, integration.and_then(|i| i.tenant_id.as_ref())) {
        (Some(got), Some(want)) if !got.eq_ignore_ascii_case(want) => {
            Err(validate::Rejection::new(Failure::WrongTenant {
                expected: want.clone(),
                actual: got.clone(),
            }))
        }
        _ => Ok(v),
    }
}

/// What `check_integrity` found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IntegrityReport {
    pub ok: bool,
    /// Database pages whose MAC was verified.
    pub pages: u64,
    pub audit_events: u64,
    /// Sealed values that opened: secret fields, partner keys awaiting
    /// delivery, cached access tokens.
    pub sealed_values: u64,
    /// What is wrong, one line each (damaged pages, broken structure, the
    /// first bad audit event, a value that does not open); no secret.
    pub problems: Vec<String>,
}

/// What `check_credential` found and what it changed.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CheckReport {
    pub credential: String,
    pub check: Check,
    pub consecutive_auth_failures: u32,
    pub status: Status,
    /// The credential is in `error`: it must be reconnected (a new secret).
    pub reconnection_required: bool,
}

/// Consecutive authentication failures after which a credential is put in
/// `error` unless the vault is told otherwise.
pub const AUTH_FAILURE_THRESHOLD: u32 = 3;

fn primary_mask(kind: CredentialKind, masks: &BTreeMap<String, String>) -> Option<String> {
    let names: Vec<String> = masks.keys().cloned().collect();
    validate::primary_field(kind, &names).and_then(|f| masks.get(&f).cloned())
}

fn jwt_expiry(secrets: &SecretFields) -> Option<OffsetDateTime> {
    secrets.iter().filter_map(|(_, v)| jwt::expiry(v.expose_secret())).min()
}

/// A rotation policy: 0 (none) or 1 to 3650 days.
pub(crate) fn check_max_age(days: u32) -> Result<()> {
    if days > 3650 {
        return Err(Error::invalid(
            "rotation policy",
            format!("{days} days is out of range; use 1 to 3650 days, or 0 for no maximum age"),
        ));
    }
    Ok(())
}

fn validate_words(field: &str, words: &[String]) -> Result<()> {
    words.iter().try_for_each(|w| validate_word(field, w))
}

fn validate_opt_text(field: &str, text: &Option<String>) -> Result<()> {
    text.as_deref().map_or(Ok(()), |t| validate_text(field, t))
}

fn empty_to_none(s: String) -> Option<String> {
    (!s.trim().is_empty()).then_some(s)
}

/// The non-secret words and text every new credential is checked for.
pub(crate) fn check_descriptive_fields(
    provider: Option<&str>,
    environment: Option<&str>,
    tags: &[String],
    notes: &Option<String>,
) -> Result<()> {
    provider.map_or(Ok(()), |p| validate_word("provider", p))?;
    environment.map_or(Ok(()), |e| validate_word("environment", e))?;
    validate_words("tag", tags)?;
    validate_opt_text("notes", notes)
}

pub(crate) fn validate_integration(i: &Integration) -> Result<()> {
    validate_name("integration name", &i.name)?;
    if let Some(d) = i.max_age_days {
        check_max_age(d)?;
    }
    for (field, var) in &i.env_names {
        crate::run::check_env_name(field, var)?;
    }
    validate_word("provider", &i.provider)?;
    validate_word("environment", &i.environment)?;
    validate_words("tag", &i.tags)?;
    for s in &i.scopes {
        if s.is_empty() || s.len() > 200 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::invalid(
                "scope",
                format!("'{s}' is not a scope; scopes are single words like read:expenses"),
            ));
        }
    }
    if let Some(url) = &i.base_url {
        validate::check_url("base URL", url)?;
    }
    validate_opt_text("tenant id", &i.tenant_id)?;
    validate_opt_text("sync schedule", &i.sync_schedule)?;
    validate_opt_text("owner", &i.owner)?;
    validate_opt_text("notes", &i.notes)
}

impl Vault {
    // ---- lifecycle ----------------------------------------------------------

    /// Creates a vault in `dir`. Nothing is written anywhere until the KEK is
    /// safely in the keychain, so a missing or locked keychain leaves no
    /// trace. Returns the recovery code, which is never stored.
    pub fn create(dir: &Path, source: KeySource, actor: Actor) -> Result<(Vault, RecoveryCode)> {
        if header::header_path(dir).exists() {
            return Err(Error::VaultExists {
                path: dir.to_path_buf(),
            });
        }
        let vault_id = Uuid::new_v4();
        let vault_key = Key256::random();
        let code = RecoveryCode::generate();
        let (header, kek) = Header::new(vault_id, &source, &vault_key, &code)?;
        if let Some(kek) = &kek {
            crate::keychain::store(&vault_id.to_string(), kek)?;
        }
        let result = Self::create_files(dir, header, &vault_key, actor);
        if result.is_err() && kek.is_some() {
            let _ = crate::keychain::delete(&vault_id.to_string());
        }
        Ok((result?, code))
    }

    fn create_files(dir: &Path, header: Header, vault_key: &Key256, actor: Actor) -> Result<Vault> {
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        restrict_permissions(dir);
        // A database with no header is a creation that died before its end:
        // without the header its key is lost, so it is removed, not reused.
        for suffix in ["", "-wal", "-shm"] {
            let p = PathBuf::from(format!("{}{suffix}", header::db_path(dir).display()));
            if p.exists() {
                fs::remove_file(&p).map_err(|e| Error::io(&p, e))?;
            }
        }
        let keys = VaultKeys::derive(vault_key);
        let built = (|| {
            let mut conn = store::open(&header::db_path(dir), &keys.db, true)?;
            restrict_file(&header::db_path(dir));
            let tx = conn.transaction()?;
            data_keys::create(&tx, &keys.dek_wrap, header.vault_id)?;
            audit::append(
                &tx,
                &keys.audit,
                &actor,
                ev(
                    "vault.create",
                    "vault",
                    Some(header.vault_id),
                    None,
                    Outcome::Success,
                    "",
                ),
            )?;
            audit::append(&tx, &keys.audit, &actor, anchor_set_event(&header, dir))?;
            let head = crate::anchor::head(&tx)?;
            tx.commit()?;
            // Before the header: until the header is written nobody can
            // open the database, so nobody sees it without its anchor.
            if let Some(h) = &head {
                anchor_for(&header, dir).save(h)?;
            }
            header.write(dir)?;
            Ok::<_, Error>(conn)
        })();
        match built {
            Ok(conn) => Ok(Vault {
                dir: dir.to_path_buf(),
                anchor: anchor_for(&header, dir),
                header,
                conn,
                keys,
                actor,
                rotate_after: data_keys::ROTATE_AFTER,
                expiring_within_days: crate::model::EXPIRING_WITHIN_DAYS,
                auth_failure_threshold: AUTH_FAILURE_THRESHOLD,
                notice_thresholds: crate::expiry::DEFAULT_THRESHOLDS.to_vec(),
                rotation_max_age_days: creds::ROTATION_MAX_AGE_DAYS,
                rotation_grace_days: creds::ROTATION_GRACE_DAYS,
                clock: Arc::new(SystemClock),
                policy: Arc::default(),
            }
            .with_policy(crate::policy::Policy::load_system())),
            Err(e) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = fs::remove_file(format!("{}{suffix}", header::db_path(dir).display()));
                }
                Err(e)
            }
        }
    }

    /// The header of the vault at `dir`: whether it needs a passphrase.
    pub fn header(dir: &Path) -> Result<Header> {
        Header::read(dir)
    }

    /// Opens the vault at `dir`. A keychain vault reads its KEK from the
    /// keychain; a passphrase vault needs `KeySource::Passphrase`.
    pub fn open(dir: &Path, source: &KeySource, actor: Actor) -> Result<Vault> {
        let (header, _, vault_key) = unlock_header(dir, source)?;
        Self::open_with_vault_key(dir, header, &vault_key, actor, Older::Refuse)
    }

    /// Opens the vault at `dir` even though its database does not match its
    /// rollback anchor: older than it (a backup restored on purpose), with
    /// another history at the anchor's event, or with the anchor gone or
    /// unreadable. The step is audited (`vault.accept_older`, saying which
    /// and naming the event numbers) and the anchor moves to the database
    /// as it is. Returns the vault and, when the database was refused
    /// before, that event's detail.
    pub fn open_accepting_older(dir: &Path, source: &KeySource, actor: Actor) -> Result<(Vault, Option<String>)> {
        let (header, _, vault_key) = unlock_header(dir, source)?;
        let refused = match Self::open_with_vault_key(dir, header.clone(), &vault_key, actor.clone(), Older::Refuse) {
            Ok(v) => return Ok((v, None)),
            Err(Error::RolledBack { database, anchor }) => format!(
                "an older database was accepted: its audit log ended at event {database}, the rollback anchor \
                 recorded event {anchor}; what happened after event {database} is not in this vault"
            ),
            Err(Error::Forked { seq, .. }) => format!(
                "a database with another history was accepted: its event {seq} is not the one the rollback anchor \
                 recorded"
            ),
            Err(Error::AnchorMissing { place }) => {
                format!("the database was accepted as it is although its rollback anchor ({place}) was gone")
            }
            Err(Error::AnchorUnreadable { place }) => {
                format!("the database was accepted as it is; its rollback anchor ({place}) was unreadable")
            }
            Err(e) => return Err(e),
        };
        let mut vault = Self::open_with_vault_key(dir, header, &vault_key, actor, Older::Accept)?;
        let vault_id = vault.header.vault_id;
        let detail = refused.clone();
        // The event moves the anchor to the database as it is now.
        vault.write(|tx, k, a| {
            audit::append(
                tx,
                k,
                a,
                ev(
                    "vault.accept_older",
                    "vault",
                    Some(vault_id),
                    None,
                    Outcome::Success,
                    detail,
                ),
            )
        })?;
        Ok((vault, Some(refused)))
    }

    fn open_with_vault_key(
        dir: &Path,
        header: Header,
        vault_key: &Key256,
        actor: Actor,
        older: Older,
    ) -> Result<Vault> {
        let keys = VaultKeys::derive(vault_key);
        let db = header::db_path(dir);
        if !db.exists() {
            return Err(Error::VaultCorrupt {
                path: db,
                detail: "the database file is missing".into(),
            });
        }
        let conn = store::open(&db, &keys.db, false)?;
        // Proves the keys open the data key before anything is read.
        data_keys::current(&conn, &keys.dek_wrap, header.vault_id)?;
        let anchor = anchor_for(&header, dir);
        // An older copy of the database put back is refused before anything
        // is read from it, or written to it.
        let set_up = match older {
            Older::Refuse => match anchor.check(&conn) {
                // Another event at the anchor's number: an edited chain is
                // named by its first bad event, as `kw audit verify` does;
                // an intact one is another history.
                Err(Error::Forked { seq, detail }) => {
                    // A chain too damaged to read stays "forked", which
                    // `--accept-older` can clear.
                    return Err(match audit::verify(&conn, &keys.audit) {
                        Ok(report) if !report.ok => Error::Forked {
                            seq: report.first_bad_seq.unwrap_or(seq),
                            detail: report.problem.unwrap_or(detail),
                        },
                        _ => Error::Forked { seq, detail },
                    });
                }
                other => other?,
            },
            Older::Accept => false,
        };
        let mut vault = Vault {
            dir: dir.to_path_buf(),
            header,
            conn,
            keys,
            anchor,
            actor,
            rotate_after: data_keys::ROTATE_AFTER,
            expiring_within_days: crate::model::EXPIRING_WITHIN_DAYS,
            auth_failure_threshold: AUTH_FAILURE_THRESHOLD,
            notice_thresholds: crate::expiry::DEFAULT_THRESHOLDS.to_vec(),
            rotation_max_age_days: creds::ROTATION_MAX_AGE_DAYS,
            rotation_grace_days: creds::ROTATION_GRACE_DAYS,
            clock: Arc::new(SystemClock),
            policy: Arc::default(),
        }
        .with_policy(crate::policy::Policy::load_system());
        if set_up {
            // A vault from before the anchor: set up now, and recorded, so
            // that from now on a missing anchor is noticed.
            let event = anchor_set_event(&vault.header, dir);
            vault.write(|tx, k, a| audit::append(tx, k, a, event))?;
        }
        vault.roll_back_interrupted_rotations()?;
        Ok(vault)
    }

    /// Asks `validator` about `secrets` for credential `row`, in the
    /// context of its integration; a secret for another tenant is refused.
    /// Used by rotation and by the connection check alike.
    fn validate_for(
        &self,
        row: &Row,
        secrets: &SecretFields,
        validator: &dyn Validator,
    ) -> Result<std::result::Result<Verdict, validate::Rejection>> {
        let integration = row
            .integration_id
            .map(|id| integrations::get(&self.conn, &id.to_string()))
            .transpose()?;
        let candidate = Candidate {
            credential_name: &row.name,
            kind: row.kind,
            config: &row.config,
            secrets,
            integration: integration.as_ref(),
        };
        Ok(validate::run(validator, &candidate).and_then(|v| same_tenant(v, integration.as_ref())))
    }

    /// A second handle on the same open vault, with its own database
    /// connection: for a service thread (the app's embedded verifier) that
    /// must not share this one. The keys are copied, not re-read from the
    /// keychain or a passphrase.
    pub fn reopen(&self) -> Result<Vault> {
        let copy = Key256::duplicate;
        let keys = Box::new(VaultKeys {
            db: copy(&self.keys.db),
            dek_wrap: copy(&self.keys.dek_wrap),
            audit: copy(&self.keys.audit),
            partner_hash: copy(&self.keys.partner_hash),
            signing_seed: copy(&self.keys.signing_seed),
        });
        let conn = store::open(&header::db_path(&self.dir), &keys.db, false)?;
        data_keys::current(&conn, &keys.dek_wrap, self.header.vault_id)?;
        Ok(Vault {
            dir: self.dir.clone(),
            header: self.header.clone(),
            conn,
            keys,
            anchor: self.anchor.duplicate(),
            actor: self.actor.clone(),
            rotate_after: self.rotate_after,
            expiring_within_days: self.expiring_within_days,
            auth_failure_threshold: self.auth_failure_threshold,
            notice_thresholds: self.notice_thresholds.clone(),
            rotation_max_age_days: self.rotation_max_age_days,
            rotation_grace_days: self.rotation_grace_days,
            clock: self.clock.clone(),
            policy: self.policy.clone(),
        })
    }

    /// A rotation that died between staging and swapping left a pending
    /// version; the current one was never touched, so rolling back is safe.
    fn roll_back_interrupted_rotations(&mut self) -> Result<()> {
        // Only versions staged long ago: a younger one may be under
        // validation right now in another process (the desktop app).
        let stale_before = timefmt::to_db(self.now() - time::Duration::minutes(STALE_PENDING_MINUTES));
        let pending = creds::pending_versions(&self.conn, &stale_before)?;
        if pending.is_empty() {
            return Ok(());
        }
        let tx = self.conn.transaction()?;
        for (id, name, version) in pending {
            creds::delete_version(&tx, id, version)?;
            let detail =
                format!("version {version} was interrupted before validation finished; rolled back at start-up");
            audit::append(
                &tx,
                &self.keys.audit,
                &self.actor,
                ev(
                    "credential.rotate",
                    "credential",
                    Some(id),
                    Some(&name),
                    Outcome::Failure,
                    detail,
                ),
            )?;
        }
        commit(tx, &self.anchor)?;
        Ok(())
    }

    /// Closes the vault: the database connection and every key are dropped
    /// and zeroized.
    pub fn lock(self) {
        drop(self);
        // Every call that handled key bytes scrubbed its own thread's stack
        // (crypto::stack); this one covers the drop itself.
        crate::crypto::stack::scrub_stack();
    }

    /// Opens a vault whose keychain item (or passphrase) is lost, with the
    /// recovery code, and protects it with `new_source` from then on. A
    /// wrong code changes nothing.
    pub fn recover(dir: &Path, code: &str, new_source: KeySource, actor: Actor) -> Result<Vault> {
        let header = Header::read(dir)?;
        let code = RecoveryCode::parse(code)?;
        let vault_key = header.unwrap_with_recovery(&code)?;
        let (new_header, kek) = header.rekeyed(&new_source, &vault_key)?;
        // Prove the database opens before anything is rewritten.
        // Recovery is for a lost keychain, which usually lost the rollback
        // anchor with the KEK, or put it out of reach. The recovery code
        // proves whose vault it is: the database is then accepted as it is,
        // and the event says so.
        let (mut vault, unchecked) =
            match Self::open_with_vault_key(dir, header.clone(), &vault_key, actor.clone(), Older::Refuse) {
                Ok(v) => (v, false),
                Err(
                    Error::KeychainUnavailable { .. }
                    | Error::KeychainLocked
                    | Error::Keychain { .. }
                    | Error::AnchorMissing { .. }
                    | Error::AnchorUnreadable { .. }
                    | Error::RolledBack { .. }
                    | Error::Forked { .. },
                ) => (
                    Self::open_with_vault_key(dir, header, &vault_key, actor, Older::Accept)?,
                    true,
                ),
                Err(e) => return Err(e),
            };
        let how = match (kek.is_some(), unchecked) {
            (true, false) => "new keychain item written",
            (false, false) => "new passphrase set",
            (true, true) => {
                "new keychain item written; the rollback anchor was lost or out of reach, so the database was \
                 accepted as it is"
            }
            (false, true) => {
                "new passphrase set; the rollback anchor was lost or out of reach, so the database was accepted as \
                 it is"
            }
        };
        let id = new_header.vault_id;
        // The event, the staged header, the keychain item, then the header
        // swap and the commit: a failure before the rename leaves the old
        // header and no event; the new key is never stored without a header
        // on its way.
        let before = crate::anchor::head(&vault.conn)?;
        let tx = vault.conn.transaction()?;
        audit::append(
            &tx,
            &vault.keys.audit,
            &vault.actor,
            ev("vault.recover", "vault", Some(id), None, Outcome::Success, how),
        )?;
        new_header.stage(dir)?;
        // The new key source may keep the anchor elsewhere (keychain or
        // file): written there, at the head before this event, before the
        // header naming that place is in force (and before the new KEK);
        // moved to the event after the commit.
        let new_anchor = anchor_for(&new_header, dir);
        if let Some(h) = &before {
            if let Err(e) = new_anchor.save(h) {
                Header::discard_staged(dir);
                return Err(e);
            }
        }
        if let Some(kek) = &kek {
            if let Err(e) = crate::keychain::store(&id.to_string(), kek) {
                Header::discard_staged(dir);
                return Err(e);
            }
        }
        Header::commit_staged(dir)?;
        let head = crate::anchor::head(&tx)?;
        tx.commit()?;
        vault.anchor = new_anchor;
        vault.anchor.advance(head);
        vault.header = new_header;
        Ok(vault)
    }

    pub fn vault_id(&self) -> Uuid {
        self.header.vault_id
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// How many days before its expiry an active credential shows as
    /// `expiring` (default 14; a setting of the desktop app, 1 to 365).
    pub fn set_expiring_within_days(&mut self, days: i64) -> Result<()> {
        if !(1..=365).contains(&days) {
            return Err(Error::invalid(
                "expiry warning",
                format!("{days} days is out of range; use 1 to 365 days"),
            ));
        }
        self.expiring_within_days = days;
        Ok(())
    }

    pub fn expiring_within_days(&self) -> i64 {
        self.expiring_within_days
    }

    /// After how many consecutive authentication failures of live checks a
    /// credential goes to `error` (default 3; 1 to 100).
    pub fn set_auth_failure_threshold(&mut self, n: u32) -> Result<()> {
        if !(1..=100).contains(&n) {
            return Err(Error::invalid(
                "auth failure threshold",
                format!("{n} is out of range; use 1 to 100 consecutive failures"),
            ));
        }
        self.auth_failure_threshold = n;
        Ok(())
    }

    pub fn auth_failure_threshold(&self) -> u32 {
        self.auth_failure_threshold
    }

    fn clock(&self) -> creds::StatusClock {
        creds::StatusClock {
            now: self.now(),
            expiring_within_days: self.expiring_within_days,
            max_age_days: self.rotation_max_age_days,
            grace_days: self.rotation_grace_days,
            age_cap: self.policy.rules.max_credential_age_days,
        }
    }

    /// The vault-wide rotation policy: the maximum age of a secret in days
    /// (0 = none; default 90) and the grace period after it (default 7).
    pub fn set_rotation_policy(&mut self, max_age_days: u32, grace_days: u32) -> Result<()> {
        check_max_age(max_age_days)?;
        self.policy.check_max_age(max_age_days)?;
        if grace_days > 365 {
            return Err(Error::invalid(
                "rotation grace period",
                format!("{grace_days} days is out of range; use 0 to 365 days"),
            ));
        }
        self.rotation_max_age_days = max_age_days;
        self.rotation_grace_days = grace_days;
        Ok(())
    }

    pub fn rotation_policy(&self) -> (u32, u32) {
        (self.rotation_max_age_days, self.rotation_grace_days)
    }

    /// Puts `policy` in force: the values it manages replace the vault's
    /// (the notice thresholds; the rotation age when the vault's is longer
    /// or none); every later change is checked against it.
    pub fn set_policy(&mut self, policy: crate::policy::Policy) {
        if let Some(max) = policy.rules.max_credential_age_days
            && (self.rotation_max_age_days == 0 || self.rotation_max_age_days > max)
        {
            self.rotation_max_age_days = max;
        }
        let thresholds = policy.rules.notice_thresholds_days.clone();
        self.policy = Arc::new(policy);
        if let Some(days) = thresholds
            && let Ok(days) = crate::expiry::normalize_thresholds(&days)
            && self.set_notice_thresholds(&days).is_err()
        {
            // Scheduled with the old thresholds until the next write; the
            // notices themselves already use the policy's.
            self.set_notice_thresholds_field(days);
        }
    }

    fn with_policy(mut self, policy: crate::policy::Policy) -> Vault {
        self.set_policy(policy);
        self
    }

    pub fn policy(&self) -> &crate::policy::Policy {
        &self.policy
    }

    /// An integration's provider and own rotation age, against the policy.
    pub(crate) fn check_integration_policy(&self, i: &Integration) -> Result<()> {
        self.policy.check_provider(&i.provider)?;
        match i.max_age_days {
            Some(days) => self.policy.check_max_age(days),
            None => Ok(()),
        }
    }

    /// Replaces the system clock: tests move time with a `ManualClock`.
    pub fn set_clock(&mut self, clock: Arc<dyn Clock>) {
        self.clock = clock;
    }

    /// Why a credential was disabled, from its latest `credential.disable`
    /// event: "marked compromised: <reason>".
    pub(crate) fn disable_reason(&self, id: Uuid) -> String {
        let reason: Option<String> = self
            .conn
            .query_row(
                "SELECT detail FROM audit_events WHERE action = 'credential.disable' AND object_id = ?1
                 ORDER BY seq DESC LIMIT 1",
                [id.to_string()],
                |r| r.get(0),
            )
            .ok();
        match reason.filter(|r| !r.trim().is_empty()) {
            Some(r) => format!("marked compromised: {r}"),
            None => "marked compromised".to_owned(),
        }
    }

    /// The vault's clock, for a service that answers on its time.
    pub fn clock_handle(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    /// The vault's "now", from its clock.
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Days before expiry at which notices fire, largest first.
    pub fn notice_thresholds(&self) -> &[u32] {
        &self.notice_thresholds
    }

    pub(crate) fn set_notice_thresholds_field(&mut self, days: Vec<u32>) {
        self.notice_thresholds = days;
    }

    /// For tests: rotate the DEK after `n` seals instead of 2^30.
    #[doc(hidden)]
    pub fn set_rotate_after(&mut self, n: u64) {
        self.rotate_after = n;
    }

    /// Runs `f` in one transaction with the audit key and actor at hand.
    fn write<T>(&mut self, f: impl FnOnce(&Transaction<'_>, &Key256, &Actor) -> Result<T>) -> Result<T> {
        let tx = self.conn.transaction()?;
        let out = f(&tx, &self.keys.audit, &self.actor)?;
        commit(tx, &self.anchor)?;
        Ok(out)
    }

    /// After a committed write: rotates the DEK once it has sealed
    /// `rotate_after` values. Best effort — the write itself has succeeded,
    /// and a rotation that fails now is tried again after the next write.
    fn rotate_data_key_if_worn(&mut self) {
        let worn = sealing_key(&self.conn, &self.keys, self.header.vault_id)
            .and_then(|dek| data_keys::use_count(&self.conn, dek.id))
            .is_ok_and(|n| n >= self.rotate_after);
        if worn {
            let _ = self.rotate_data_key();
        }
    }

    // ---- integrations -----------------------------------------------------

    pub fn add_integration(&mut self, new: NewIntegration) -> Result<Integration> {
        let now = self.now();
        let i = Integration {
            id: Uuid::new_v4(),
            name: new.name,
            provider: new.provider.trim().to_lowercase(),
            environment: if new.environment.trim().is_empty() {
                "prod".into()
            } else {
                new.environment.trim().to_lowercase()
            },
            tenant_id: new.tenant_id.and_then(empty_to_none),
            base_url: new.base_url.and_then(empty_to_none),
            scopes: new.scopes,
            sync_schedule: new.sync_schedule.and_then(empty_to_none),
            owner: new.owner.and_then(empty_to_none),
            tags: new.tags,
            notes: new.notes.and_then(empty_to_none),
            max_age_days: new.max_age_days,
            env_names: new.env_names,
            created_at: now,
            updated_at: now,
        };
        validate_integration(&i)?;
        self.check_integration_policy(&i)?;
        if integrations::name_taken(&self.conn, &i.name, None)? {
            return Err(Error::Duplicate {
                kind: "an integration",
                name: i.name,
            });
        }
        self.write(|tx, k, a| {
            integrations::upsert(tx, &i)?;
            audit::append(
                tx,
                k,
                a,
                ev(
                    "integration.add",
                    "integration",
                    Some(i.id),
                    Some(&i.name),
                    Outcome::Success,
                    format!("provider {}", i.provider),
                ),
            )
        })?;
        Ok(i)
    }

    pub fn update_integration(&mut self, reference: &str, patch: IntegrationPatch) -> Result<Integration> {
        let mut i = integrations::get(&self.conn, reference)?;
        let mut changed = Vec::new();
        macro_rules! set {
            ($field:ident, $value:expr) => {
                if let Some(v) = $value {
                    i.$field = v;
                    changed.push(stringify!($field));
                }
            };
        }
        set!(name, patch.name);
        set!(provider, patch.provider.map(|p| p.trim().to_lowercase()));
        set!(environment, patch.environment.map(|e| e.trim().to_lowercase()));
        set!(tenant_id, patch.tenant_id.map(empty_to_none));
        set!(base_url, patch.base_url.map(empty_to_none));
        set!(scopes, patch.scopes);
        set!(sync_schedule, patch.sync_schedule.map(empty_to_none));
        set!(owner, patch.owner.map(empty_to_none));
        set!(tags, patch.tags);
        set!(notes, patch.notes.map(empty_to_none));
        set!(max_age_days, patch.max_age_days);
        set!(env_names, patch.env_names);
        if changed.is_empty() {
            return Err(Error::invalid(
                "update",
                "nothing to change; name at least one field to update",
            ));
        }
        validate_integration(&i)?;
        self.check_integration_policy(&i)?;
        if integrations::name_taken(&self.conn, &i.name, Some(i.id))? {
            return Err(Error::Duplicate {
                kind: "an integration",
                name: i.name,
            });
        }
        i.updated_at = self.now();
        let renamed = changed.contains(&"name");
        self.write(|tx, k, a| {
            integrations::upsert(tx, &i)?;
            if renamed {
                // Credentials carry their integration's name in their search text.
                for mut row in creds::for_integration(tx, i.id)? {
                    row.integration_name = Some(i.name.clone());
                    creds::upsert(tx, &mut row)?;
                }
            }
            audit::append(
                tx,
                k,
                a,
                ev(
                    "integration.update",
                    "integration",
                    Some(i.id),
                    Some(&i.name),
                    Outcome::Success,
                    format!("changed {}", changed.join(", ")),
                ),
            )
        })?;
        Ok(i)
    }

    pub fn get_integration(&self, reference: &str) -> Result<Integration> {
        integrations::get(&self.conn, reference)
    }

    pub fn list_integrations(&self) -> Result<Vec<Integration>> {
        integrations::list(&self.conn)
    }

    /// Credentials serving this integration, for its details screen.
    pub fn integration_credentials(&self, reference: &str) -> Result<Vec<CredentialSummary>> {
        let i = integrations::get(&self.conn, reference)?;
        Ok(creds::for_integration(&self.conn, i.id)?
            .iter()
            .map(|r| r.summary(self.clock()))
            .collect())
    }

    // ---- credentials --------------------------------------------------------

    /// Saves a new credential without a live check, because the admin
    /// chose to ("Save without checking", `kw credential add --offline`):
    /// said in its audit event and on its check list until a live check
    /// passes. Refused where the policy requires a live check.
    pub fn add_credential(&mut self, new: NewCredential) -> Result<Credential> {
        self.policy.check_unvalidated_save()?;
        self.insert_credential(new, &Acceptance::NotChecked(CHOSEN))
    }

    /// "Validate and Save", the default for a new credential: the secret is
    /// checked with `validator` first and saved only if it passes, tenant
    /// and scopes included. Where the provider has no live check (or only
    /// the offline checks are given), it is saved unchecked and says so.
    pub fn add_credential_checked(&mut self, new: NewCredential, validator: &dyn Validator) -> Result<Credential> {
        if validator.is_offline() {
            self.policy.check_unvalidated_save()?;
        }
        let Checked { kind, integration, .. } = check_new_credential(&self.conn, &self.policy, &new)?;
        let candidate = Candidate {
            credential_name: &new.name,
            kind,
            config: &new.config,
            secrets: &new.secrets,
            integration: integration.as_ref(),
        };
        if !validator.is_offline() && !validator.has_live_check(&candidate) {
            self.policy.check_unvalidated_save()?;
            return self.insert_credential(new, &Acceptance::NotChecked(NO_LIVE_CHECK));
        }
        let mut verdict = validate::run(validator, &candidate)
            .and_then(|v| same_tenant(v, integration.as_ref()))
            .map_err(|r| Error::ValidationRejected { failure: r.failure })?;
        // The check spent the secret and the provider issued its successor
        // (an OAuth refresh token): the successor is what is saved.
        let mut new = new;
        if let Some(renewed) = verdict.renewed.take() {
            new.secrets = renewed.fields();
        }
        let how = if verdict.offline {
            Acceptance::Offline(&verdict)
        } else {
            Acceptance::Live(&verdict)
        };
        self.insert_credential(new, &how)
    }

    fn insert_credential(&mut self, new: NewCredential, how: &Acceptance<'_>) -> Result<Credential> {
        let now = self.now();
        let tx = self.conn.transaction()?;
        let dek = sealing_key(&tx, &self.keys, self.header.vault_id)?;
        let id = insert_new_credential(&tx, (&dek, &self.keys.audit), &self.actor, &self.policy, new, how, now)?;
        commit(tx, &self.anchor)?;
        self.rotate_data_key_if_worn();
        self.get_credential(&id.to_string())
    }

    /// Adds many credentials in one transaction (benchmarks, tests, bulk
    /// loads), all or nothing; each still gets its own audit event.
    pub fn add_credentials_bulk(&mut self, items: Vec<NewCredential>) -> Result<usize> {
        self.policy.check_unvalidated_save()?;
        let n = items.len();
        let now = self.now();
        let tx = self.conn.transaction()?;
        let dek = sealing_key(&tx, &self.keys, self.header.vault_id)?;
        let deferred = SearchIndexDeferred::begin(&tx)?;
        for new in items {
            insert_new_credential(
                &tx,
                (&dek, &self.keys.audit),
                &self.actor,
                &self.policy,
                new,
                &Acceptance::NotChecked(BULK),
                now,
            )?;
        }
        deferred.finish(&tx)?;
        commit(tx, &self.anchor)?;
        self.rotate_data_key_if_worn();
        Ok(n)
    }

    /// The checks of `import_credentials`, writing nothing (`kw credential
    /// import --dry-run`).
    pub fn check_import(&self, plan: &[crate::migrate::Planned]) -> Result<()> {
        self.policy.check_unvalidated_save()?;
        check_plan(&self.conn, &self.policy, plan).map(|_| ())
    }

    /// Imports what `migrate::parse` read from another tool's export. Every
    /// credential is checked first (names against the vault, formats,
    /// policy) and the problems reported with their place in the file; then
    /// all are written in one transaction, each with its own sealed secret
    /// and `credential.add` event, closed by one `credential.import` event
    /// naming the format and the count. All or nothing.
    pub fn import_credentials(&mut self, plan: Vec<crate::migrate::Planned>, origin: &str) -> Result<usize> {
        self.policy.check_unvalidated_save()?;
        let n = plan.len();
        let now = self.now();
        let tx = self.conn.transaction()?;
        // Checked once, inside the writing transaction: no other program
        // can take a name between the check and the write.
        let pre = check_plan(&tx, &self.policy, &plan)?;
        let dek = sealing_key(&tx, &self.keys, self.header.vault_id)?;
        let deferred = SearchIndexDeferred::begin(&tx)?;
        let mut uses = 0u64;
        for (p, c) in plan.into_iter().zip(pre) {
            write_new_credential(
                &tx,
                &dek,
                &self.keys.audit,
                &self.actor,
                p.credential,
                c,
                &Acceptance::Imported(origin),
                Some(&mut uses),
                now,
            )?;
        }
        data_keys::add_uses(&tx, dek.id, uses)?;
        deferred.finish(&tx)?;
        audit::append(
            &tx,
            &self.keys.audit,
            &self.actor,
            ev(
                "credential.import",
                "vault",
                Some(self.header.vault_id),
                None,
                Outcome::Success,
                format!("{n} credential{} from a {origin} file", if n == 1 { "" } else { "s" }),
            ),
        )?;
        commit(tx, &self.anchor)?;
        self.rotate_data_key_if_worn();
        Ok(n)
    }

    pub fn update_credential(&mut self, reference: &str, patch: CredentialPatch) -> Result<Credential> {
        let mut row = creds::get(&self.conn, reference)?;
        // Refused before any other check: a form made from an older state
        // must be reloaded whatever else is wrong with it.
        if let Some(expected) = patch.expected_revision
            && expected != row.revision
        {
            return Err(creds::conflict(&self.conn, row.id, &row.name, expected));
        }
        let mut changed = Vec::new();
        if let Some(name) = patch.name {
            validate_name("credential name", &name)?;
            if creds::name_taken(&self.conn, &name, Some(row.id))? {
                return Err(Error::Duplicate {
                    kind: "a credential",
                    name,
                });
            }
            row.name = name;
            changed.push("name");
        }
        // A new integration or endpoint was never checked with this secret.
        let mut moved = false;
        if let Some(link) = patch.integration {
            let i = link.as_deref().map(|r| integrations::get(&self.conn, r)).transpose()?;
            if let Some(i) = &i {
                self.policy.check_provider(&i.provider)?;
            }
            let to = i.as_ref().map(|i| i.id);
            moved |= to != row.integration_id;
            row.integration_id = to;
            row.integration_name = i.map(|i| i.name);
            changed.push("integration");
        }
        if let Some(env) = patch.environment {
            let env = env.trim().to_lowercase();
            validate_word("environment", &env)?;
            row.environment = env;
            changed.push("environment");
        }
        if let Some(config) = patch.config {
            for (k, v) in &config {
                validate_word("configuration field name", k)?;
                validate_text(k, v)?;
            }
            if let Some(url) = config.get("token_url") {
                validate::check_url("token_url", url)?;
            }
            // Where the secret is sent to be checked.
            let endpoints = |c: &BTreeMap<String, String>| {
                c.iter()
                    .filter(|(k, _)| validate::is_endpoint_field(k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect::<Vec<_>>()
            };
            moved |= endpoints(&config) != endpoints(&row.config);
            row.config = config;
            changed.push("config");
        }
        if let Some(tags) = patch.tags {
            validate_words("tag", &tags)?;
            row.tags = tags;
            changed.push("tags");
        }
        if let Some(notes) = patch.notes {
            validate_text("notes", &notes)?;
            row.notes = empty_to_none(notes);
            changed.push("notes");
        }
        if let Some(days) = patch.max_age_days {
            if let Some(d) = days {
                check_max_age(d)?;
                self.policy.check_max_age(d)?;
            }
            row.max_age_days = days;
            changed.push("max_age_days");
        }
        if let Some(exp) = patch.expires_at {
            row.expires_at = exp;
            row.expiry_source = exp.map(|_| ExpirySource::User);
            changed.push("expires_at");
        }
        if changed.is_empty() {
            return Err(Error::invalid(
                "update",
                "nothing to change; name at least one field to update",
            ));
        }
        let now = self.now();
        row.updated_at = now;
        if moved && !row.needs_reentry {
            row.last_validated_at = None;
        }
        self.write(|tx, k, a| {
            creds::upsert(tx, &mut row)?;
            if moved && !row.needs_reentry {
                let todo = format!("Its integration or an endpoint changed after its last live check: {CONFIRM_LIVE}.");
                reminders::set(tx, row.id, ReminderKind::Unchecked, &todo, now)?;
            }
            audit::append(
                tx,
                k,
                a,
                ev(
                    "credential.update",
                    "credential",
                    Some(row.id),
                    Some(&row.name),
                    Outcome::Success,
                    format!("changed {}", changed.join(", ")),
                ),
            )
        })?;
        self.get_credential(&row.id.to_string())
    }

    pub fn get_credential(&self, reference: &str) -> Result<Credential> {
        let row = creds::get(&self.conn, reference)?;
        let versions = creds::versions(&self.conn, row.id)?;
        Ok(Credential {
            summary: row.summary(self.clock()),
            config: row.config,
            secret_fields: row.secret_fields,
            notes: row.notes,
            max_age_days: row.max_age_days,
            versions,
            reminders: reminders::list(&self.conn, row.id)?,
            revision: row.revision,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }

    pub fn list_credentials(&self, filter: &CredentialFilter) -> Result<Vec<CredentialSummary>> {
        creds::list(&self.conn, filter, self.clock())
    }

    pub fn credential_count(&self) -> Result<u64> {
        creds::count(&self.conn)
    }

    /// Rotation: the new secret is stored as a pending version, validated,
    /// and only then swapped in — in one transaction — with the old
    /// version's secret erased. If validation fails, the pending version is
    /// removed and the current one stays exactly as it was. Two audit
    /// events: `credential.rotate.staged`, then `credential.rotate` with
    /// the outcome. `expires_at` is the new secret's expiry if known;
    /// otherwise the validator's or the JWT's, else none.
    pub fn replace_secret(
        &mut self,
        reference: &str,
        secrets: SecretFields,
        expires_at: Option<OffsetDateTime>,
        validator: &dyn Validator,
    ) -> Result<Credential> {
        self.replace_secret_by(reference, secrets, expires_at, ReplacedBy::Admin(validator))
    }

    /// Stores secrets the provider issued during a check (it spent the old
    /// ones), as a rotation they already passed.
    pub(crate) fn store_issued(
        &mut self,
        reference: &str,
        secrets: SecretFields,
        expires_at: Option<OffsetDateTime>,
    ) -> Result<Credential> {
        self.replace_secret_by(reference, secrets, expires_at, ReplacedBy::Provider)
    }

    fn replace_secret_by(
        &mut self,
        reference: &str,
        secrets: SecretFields,
        expires_at: Option<OffsetDateTime>,
        by: ReplacedBy<'_>,
    ) -> Result<Credential> {
        let validator = by.validator();
        if validator.is_offline() {
            self.policy.check_unvalidated_save()?;
        }
        let row = creds::get(&self.conn, reference)?;
        validate::check_format(row.kind, &row.config, &secrets)?;
        let masks: BTreeMap<String, String> = secrets.iter().map(|(f, v)| (f.to_owned(), mask(v))).collect();
        let version = {
            let tx = self.conn.transaction()?;
            // Numbered inside the write lock: another program rotating the
            // same credential at once takes the next number, not this one.
            let version = creds::max_version(&tx, row.id)? + 1;
            let dek = sealing_key(&tx, &self.keys, self.header.vault_id)?;
            creds::insert_version(&tx, row.id, version, VersionState::Pending, &masks)?;
            seal_into(&tx, &dek, row.id, version, &secrets)?;
            audit::append(
                &tx,
                &self.keys.audit,
                &self.actor,
                ev(
                    "credential.rotate.staged",
                    "credential",
                    Some(row.id),
                    Some(&row.name),
                    Outcome::Success,
                    format!("version {version} pending validation"),
                ),
            )?;
            commit(tx, &self.anchor)?;
            version
        };
        crash_point("staged");
        let result = self.validate_and_swap(&row, version, secrets, masks, expires_at, by);
        if let Err(err) = &result {
            self.discard_pending(&row, version, err);
        }
        result
    }

    /// The admin says the replaced secret was revoked at the provider: the
    /// reminder leaves the check list, and the audit log records who said
    /// so. A secret saved without a live check leaves the list only when a
    /// live check passes.
    pub fn dismiss_reminder(&mut self, reference: &str, kind: ReminderKind) -> Result<Credential> {
        if kind == ReminderKind::Unchecked {
            return Err(Error::invalid(
                "reminder",
                "a secret saved without a live check stays on the list until a live check passes; test the connection",
            ));
        }
        let row = creds::get(&self.conn, reference)?;
        self.write(|tx, k, a| {
            if !reminders::clear(tx, row.id, kind)? {
                return Err(Error::invalid(
                    "reminder",
                    format!("'{}' has no reminder to revoke a replaced secret", row.name),
                ));
            }
            audit::append(
                tx,
                k,
                a,
                ev(
                    "credential.reminder",
                    "credential",
                    Some(row.id),
                    Some(&row.name),
                    Outcome::Success,
                    "the replaced secret was revoked at the provider (marked done)",
                ),
            )?;
            Ok(())
        })?;
        self.get_credential(&row.id.to_string())
    }

    /// Takes a pending version out again after its rotation failed for a
    /// reason other than the verdict (which does so itself): a vault that
    /// could not be read, a provider error. Best effort: if even this write
    /// fails, the version is rolled back at a later start
    /// (`roll_back_interrupted_rotations`); the current one is untouched.
    fn discard_pending(&mut self, row: &Row, version: u32, err: &Error) {
        if matches!(err, Error::ValidationRejected { .. }) {
            return;
        }
        let _ = self.drop_pending(row, version, format!("version {version} discarded: {err}"));
    }

    /// Deletes a pending version, if it is still pending, and records the
    /// failed rotation with `detail`.
    fn drop_pending(&mut self, row: &Row, version: u32, detail: String) -> Result<()> {
        self.write(|tx, k, a| {
            if creds::version_state(tx, row.id, version)? != Some(VersionState::Pending) {
                return Ok(());
            }
            creds::delete_version(tx, row.id, version)?;
            audit::append(
                tx,
                k,
                a,
                ev(
                    "credential.rotate",
                    "credential",
                    Some(row.id),
                    Some(&row.name),
                    Outcome::Failure,
                    detail,
                ),
            )?;
            Ok(())
        })
    }

    /// The rest of `replace_secret` once the new version is staged.
    fn validate_and_swap(
        &mut self,
        row: &Row,
        version: u32,
        secrets: SecretFields,
        masks: BTreeMap<String, String>,
        expires_at: Option<OffsetDateTime>,
        by: ReplacedBy<'_>,
    ) -> Result<Credential> {
        let verdict = self.validate_for(row, &secrets, by.validator())?;
        crash_point("validated");
        match verdict {
            Err(rejection) => {
                self.drop_pending(
                    row,
                    version,
                    format!("version {version} rejected: {}", rejection.failure.message()),
                )?;
                Err(Error::ValidationRejected {
                    failure: rejection.failure,
                })
            }
            Ok(mut verdict) => {
                // The check spent the secret and the provider issued its
                // successor (an OAuth refresh token): the pending version
                // holds the successor before it becomes current.
                let (secrets, masks) = match verdict.renewed.take() {
                    Some(renewed) => {
                        let fresh = renewed.fields();
                        let fresh_masks: BTreeMap<String, String> =
                            fresh.iter().map(|(f, v)| (f.to_owned(), mask(v))).collect();
                        let tx = self.conn.transaction()?;
                        let dek = sealing_key(&tx, &self.keys, self.header.vault_id)?;
                        creds::delete_version(&tx, row.id, version)?;
                        creds::insert_version(&tx, row.id, version, VersionState::Pending, &fresh_masks)?;
                        seal_into(&tx, &dek, row.id, version, &fresh)?;
                        commit(tx, &self.anchor)?;
                        (fresh, fresh_masks)
                    }
                    None => (secrets, masks),
                };
                let now = self.now();
                let (new_expiry, new_expiry_source) = match (expires_at, verdict.expires_at, jwt_expiry(&secrets)) {
                    (Some(t), _, _) => (Some(t), Some(ExpirySource::User)),
                    // An offline verdict's expiry is the token's own `exp`.
                    (None, Some(t), _) if verdict.offline => (Some(t), Some(ExpirySource::Token)),
                    (None, Some(t), _) => (Some(t), Some(ExpirySource::Provider)),
                    (None, None, Some(t)) => (Some(t), Some(ExpirySource::Token)),
                    (None, None, None) => (None, None),
                };
                let new_mask = primary_mask(row.kind, &masks);
                let new_fields: Vec<String> = secrets.names().map(str::to_owned).collect();
                self.write(|tx, k, a| {
                    if creds::version_state(tx, row.id, version)? != Some(VersionState::Pending) {
                        return Err(Error::Database(
                            "the pending version disappeared during validation".into(),
                        ));
                    }
                    // Re-read inside the swap: a rename, an edit or another
                    // rotation made while validation ran is kept, and the
                    // version retired is the one current now.
                    let mut fresh = creds::get(tx, &row.id.to_string())?;
                    let old = fresh.current_version;
                    // The secret an admin replaced still works at the provider
                    // until someone revokes it there (seed 002, Rotate step 4).
                    let by_admin = matches!(by, ReplacedBy::Admin(_));
                    if let (true, true, false, Some(old_mask)) =
                        (by_admin, old > 0, fresh.needs_reentry, fresh.mask.as_deref())
                    {
                        let todo = format!(
                            "Revoke the replaced secret (version {old}, {old_mask}) at {}: it works there until it \
                             is revoked. Mark this done once it is.",
                            fresh.provider
                        );
                        reminders::set(tx, row.id, ReminderKind::RevokeOld, &todo, now)?;
                    }
                    if verdict.offline {
                        let todo = format!("Rotated after the offline checks only: {CONFIRM_LIVE}.");
                        reminders::set(tx, row.id, ReminderKind::Unchecked, &todo, now)?;
                    } else {
                        reminders::clear(tx, row.id, ReminderKind::Unchecked)?;
                    }
                    if old > 0 {
                        creds::set_version_state(tx, row.id, old, VersionState::Retired)?;
                        creds::delete_fields(tx, row.id, old)?;
                    }
                    creds::set_version_state(tx, row.id, version, VersionState::Current)?;
                    fresh.current_version = version;
                    fresh.mask = new_mask;
                    fresh.secret_fields = new_fields;
                    fresh.status = Status::Active;
                    fresh.needs_reentry = false;
                    // Only a live check validates the new secret.
                    fresh.last_validated_at = (!verdict.offline).then_some(now);
                    fresh.expires_at = new_expiry;
                    fresh.expiry_source = new_expiry_source;
                    fresh.rotated_at = Some(now);
                    fresh.updated_at = now;
                    creds::upsert(tx, &mut fresh)?;
                    let detail = format!("version {version} is current; version {old} retired");
                    audit::append(
                        tx,
                        k,
                        a,
                        ev(
                            "credential.rotate",
                            "credential",
                            Some(row.id),
                            Some(&fresh.name),
                            Outcome::Success,
                            detail,
                        ),
                    )?;
                    crash_point("swap");
                    Ok(())
                })?;
                self.rotate_data_key_if_worn();
                self.get_credential(&row.id.to_string())
            }
        }
    }

    /// Checks the current secret with `validator` (a live connector, or
    /// `OfflineValidator`) and records the verdict. The secret is fetched
    /// like any use (audited, refused while disabled). A pass sets
    /// `last_validated_at` and clears an `error` status; an authentication
    /// failure counts toward the threshold that puts the credential in
    /// `error` ("reconnection required"). The check itself is audited as
    /// `credential.check` with its verdict.
    pub fn check_credential(&mut self, reference: &str, validator: &dyn Validator) -> Result<CheckReport> {
        let secrets = self.use_secret(reference, "connection check")?;
        let row = creds::get(&self.conn, reference)?;
        let result = self.validate_for(&row, &secrets, validator)?;
        drop(secrets);
        let renewed = match &result {
            Ok(v) => v.renewed.clone().map(|r| (r, v.expires_at)),
            Err(_) => None,
        };
        let now = self.now();
        // Offline, the stored expiry is the best knowledge there is.
        let result = match result {
            Ok(v) if v.offline && row.expires_at.is_some_and(|e| e <= self.now()) => {
                Err(validate::Rejection::new(Failure::Expired {
                    detail: format!(
                        "offline: the credential's expiry date {} has passed",
                        row.expires_at
                            .map(|e| timefmt::to_db(e)[..10].to_owned())
                            .unwrap_or_default()
                    ),
                }))
            }
            other => other,
        };
        let (outcome, offline) = match result {
            Ok(verdict) => {
                let offline = verdict.offline;
                (CheckOutcome::Valid { verdict }, offline)
            }
            // A refusal from the offline checks is itself offline.
            Err(rejection) => {
                let offline = validator.is_offline();
                (
                    CheckOutcome::Failed {
                        failure: rejection.failure,
                    },
                    offline,
                )
            }
        };
        let check = Check {
            version: row.current_version,
            checked_at: now,
            offline,
            outcome,
        };
        let threshold = self.auth_failure_threshold;
        let (status, failures) = self.write(|tx, k, a| {
            checks::insert(tx, row.id, &check)?;
            let failures = checks::consecutive_auth_failures(tx, row.id)?;
            let mut fresh = creds::get(tx, &row.id.to_string())?;
            let label = if check.offline { "offline" } else { "live" };
            let (outcome, detail) = match &check.outcome {
                CheckOutcome::Valid { verdict } => {
                    if !check.offline {
                        fresh.last_validated_at = Some(now);
                        // Confirmed by the provider: off the check list.
                        reminders::clear(tx, row.id, ReminderKind::Unchecked)?;
                    }
                    if fresh.status == Status::Error && !check.offline {
                        fresh.status = Status::Active;
                    }
                    // The provider's word on expiry is kept; a date a person
                    // entered gives way only to an earlier one.
                    if let (false, Some(t)) = (check.offline, verdict.expires_at) {
                        let user_set = fresh.expiry_source == Some(ExpirySource::User);
                        if fresh.expires_at != Some(t) && (!user_set || fresh.expires_at.is_none_or(|e| t < e)) {
                            fresh.expires_at = Some(t);
                            fresh.expiry_source = Some(ExpirySource::Provider);
                        }
                    }
                    let tenant = verdict
                        .tenant_id
                        .as_deref()
                        .map(|t| format!(", tenant {t}"))
                        .unwrap_or_default();
                    (Outcome::Success, format!("{label} check passed{tenant}"))
                }
                CheckOutcome::Failed { failure } => {
                    if failure.is_auth_failure() && failures >= threshold && fresh.status == Status::Active {
                        fresh.status = Status::Error;
                    }
                    (
                        Outcome::Failure,
                        format!(
                            "{label} check failed ({}): {}; {failures} consecutive authentication failure(s)",
                            failure.code(),
                            failure.message()
                        ),
                    )
                }
            };
            fresh.updated_at = now;
            creds::upsert(tx, &mut fresh)?;
            audit::append(
                tx,
                k,
                a,
                ev(
                    "credential.check",
                    "credential",
                    Some(row.id),
                    Some(&fresh.name),
                    outcome,
                    detail,
                ),
            )?;
            Ok((fresh.status, failures))
        })?;
        // The provider issued a successor (a rotated refresh token) and
        // spent the old one: store it now, as a rotation it already passed.
        if let Some((renewed, expires_at)) = renewed {
            self.store_issued(&row.id.to_string(), renewed.fields(), expires_at)?;
        }
        Ok(CheckReport {
            credential: row.name,
            check,
            consecutive_auth_failures: failures,
            status,
            reconnection_required: status == Status::Error,
        })
    }

    /// The latest checks of a credential, newest first.
    pub fn recent_checks(&self, reference: &str, limit: u32) -> Result<Vec<Check>> {
        let row = creds::get(&self.conn, reference)?;
        checks::recent(&self.conn, row.id, limit)
    }

    /// Marks a credential compromised: every use is refused from this
    /// moment until its secret is replaced.
    pub fn disable_credential(&mut self, reference: &str, reason: &str) -> Result<Credential> {
        validate_text("reason", reason)?;
        let mut row = creds::get(&self.conn, reference)?;
        row.status = Status::Disabled;
        row.updated_at = self.now();
        self.write(|tx, k, a| {
            creds::upsert(tx, &mut row)?;
            audit::append(
                tx,
                k,
                a,
                ev(
                    "credential.disable",
                    "credential",
                    Some(row.id),
                    Some(&row.name),
                    Outcome::Success,
                    reason,
                ),
            )
        })?;
        self.get_credential(&row.id.to_string())
    }

    /// What would break if this credential went away.
    pub fn dependents(&self, reference: &str) -> Result<Vec<String>> {
        let row = creds::get(&self.conn, reference)?;
        Ok(row
            .integration_name
            .map(|n| format!("integration '{n}'"))
            .into_iter()
            .collect())
    }

    /// Deletes a credential and all its versions. Refused while an
    /// integration depends on it, unless `force`.
    /// Deletes a credential once the person has typed its exact name (the
    /// desktop's confirmation, checked here so no caller can skip it). The
    /// dependents were shown with the question, so they do not block.
    pub fn delete_credential_confirmed(&mut self, reference: &str, typed_name: &str) -> Result<()> {
        let row = creds::get(&self.conn, reference)?;
        if typed_name.trim() != row.name {
            return Err(Error::invalid(
                "confirmation",
                format!("type the credential's name exactly ('{}') to delete it", row.name),
            ));
        }
        self.delete_credential(&row.id.to_string(), true)
    }

    pub fn delete_credential(&mut self, reference: &str, force: bool) -> Result<()> {
        let row = creds::get(&self.conn, reference)?;
        let dependents = self.dependents(&row.id.to_string())?;
        if !dependents.is_empty() && !force {
            return Err(Error::HasDependents {
                name: row.name,
                dependents,
            });
        }
        let detail = if dependents.is_empty() {
            String::new()
        } else {
            format!("forced; was used by {}", dependents.join(", "))
        };
        self.write(|tx, k, a| {
            creds::delete(tx, row.id)?;
            audit::append(
                tx,
                k,
                a,
                ev(
                    "credential.delete",
                    "credential",
                    Some(row.id),
                    Some(&row.name),
                    Outcome::Success,
                    detail,
                ),
            )?;
            Ok(())
        })
    }

    /// Hands the current secret to a permitted user of it (a validator, a
    /// workflow). Every call is audited before the secret is returned; a
    /// disabled credential is refused, and the refusal audited.
    pub fn use_secret(&mut self, reference: &str, purpose: &str) -> Result<SecretFields> {
        // The row and its sealed fields from one read snapshot: another
        // program may be swapping in a new version (erasing the old one's
        // fields) or rotating the data key this very moment.
        let (row, opened) = self.read(|conn| {
            let row = creds::get(conn, reference)?;
            let usable = !matches!(row.status, Status::Disabled | Status::Revoked)
                && !row.needs_reentry
                && row.current_version > 0;
            let opened = usable.then(|| {
                open_version_in(
                    conn,
                    &self.keys.dek_wrap,
                    self.header.vault_id,
                    row.id,
                    row.current_version,
                )
            });
            Ok((row, opened))
        })?;
        let refusal = match row.status {
            Status::Disabled | Status::Revoked => Some(Error::CredentialDisabled {
                name: row.name.clone(),
                reason: self.disable_reason(row.id),
            }),
            _ if row.needs_reentry || row.current_version == 0 => Some(Error::NeedsReentry { name: row.name.clone() }),
            _ => None,
        };
        if let Some(err) = refusal {
            return Err(self.refuse_use(&row, Outcome::Denied, purpose, err));
        }
        let secrets = match opened {
            Some(Ok(s)) if !s.is_empty() && s.names().eq(row.secret_fields.iter().map(String::as_str)) => s,
            // Damaged or tampered with: the failed use is audited like any
            // other.
            _ => return Err(self.refuse_use(&row, Outcome::Failure, purpose, Error::Decryption)),
        };
        let now = self.now();
        self.write(|tx, k, a| {
            creds::touch_last_used(tx, row.id, now)?;
            audit::append(tx, k, a, use_event(&row, Outcome::Success, purpose.to_owned()))
        })?;
        Ok(secrets)
    }

    /// Records a use that did not happen and hands back why. If even the
    /// event cannot be written, that error wins: nothing goes unaudited.
    pub(crate) fn refuse_use(&mut self, row: &Row, outcome: Outcome, purpose: &str, err: Error) -> Error {
        let detail = format!("{purpose}: {err}");
        match self.write(|tx, k, a| audit::append(tx, k, a, use_event(row, outcome, detail))) {
            Ok(_) => err,
            Err(write_err) => write_err,
        }
    }

    pub(crate) fn open_version(&self, id: Uuid, version: u32) -> Result<SecretFields> {
        self.read(|conn| open_version_in(conn, &self.keys.dek_wrap, self.header.vault_id, id, version))
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

    /// Re-seals every sealed value (secret fields, partner keys awaiting
    /// delivery) under a new DEK in one transaction and deletes every older
    /// DEK. A value that fails to open aborts it all: nothing is lost and
    /// the old key stays.
    pub fn rotate_data_key(&mut self) -> Result<DataKeyRotation> {
        let vault_id = self.header.vault_id;
        let tx = self.conn.transaction()?;
        // Cached access tokens are disposable: the next use refreshes.
        tx.execute("DELETE FROM token_cache", [])?;
        let new = data_keys::create(&tx, &self.keys.dek_wrap, vault_id)?;
        let mut old_keys = HashMap::new();
        let values = sealed_values::all(&tx)?;
        for v in &values {
            let old = key_for_in(&tx, &self.keys.dek_wrap, vault_id, &mut old_keys, &v.sealed)?;
            let plain = sealed::open(&old.key, &v.slot(), &v.sealed)?;
            let resealed = sealed::seal(&new.key, new.id, &v.slot(), &plain)?;
            sealed_values::replace(&tx, v, &resealed)?;
        }
        data_keys::add_uses(&tx, new.id, values.len() as u64)?;
        data_keys::delete_all_but(&tx, new.id)?;
        audit::append(
            &tx,
            &self.keys.audit,
            &self.actor,
            ev(
                "vault.rotate_data_key",
                "vault",
                Some(vault_id),
                None,
                Outcome::Success,
                format!("{} sealed values re-sealed under data key {}", values.len(), new.id),
            ),
        )?;
        commit(tx, &self.anchor)?;
        Ok(DataKeyRotation {
            key_id: new.id,
            resealed: values.len(),
        })
    }

    /// How many data keys the vault holds (one, except mid-rotation).
    pub fn data_key_count(&self) -> Result<u64> {
        data_keys::count(&self.conn)
    }

    // ---- audit --------------------------------------------------------------

    pub fn audit_events(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>> {
        audit::list(&self.conn, filter)
    }

    pub fn audit_count(&self) -> Result<u64> {
        audit::count(&self.conn)
    }

    pub fn verify_audit(&self) -> Result<AuditReport> {
        audit::verify(&self.conn, &self.keys.audit)
    }

    /// Reads the whole vault, without writing anything: every page's MAC
    /// (a damaged page anywhere, even one no command has read yet), the
    /// database structure, the audit chain, and every sealed value opens.
    /// What `kw check` and the support bundle rely on.
    /// The whole check reads one snapshot: another program's write or
    /// data-key rotation meanwhile must not look like damage.
    pub fn check_integrity(&self) -> Result<IntegrityReport> {
        self.read(|conn| {
            let pages: u64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
            let mut problems = page_problems(conn)?;
            let audit = if problems.is_empty() {
                let report = audit::verify(conn, &self.keys.audit)?;
                if !report.ok {
                    problems.push(format!(
                        "the audit chain fails at event {}: {}",
                        report.first_bad_seq.unwrap_or(0),
                        report.problem.clone().unwrap_or_default()
                    ));
                }
                report.events
            } else {
                0
            };
            let mut opened = 0;
            if problems.is_empty() {
                let mut keys = HashMap::new();
                for v in sealed_values::all(conn)? {
                    let key = key_for_in(conn, &self.keys.dek_wrap, self.header.vault_id, &mut keys, &v.sealed);
                    match key.and_then(|key| Ok(sealed::open(&key.key, &v.slot(), &v.sealed)?)) {
                        Ok(_) => opened += 1,
                        Err(_) => problems.push(format!("{} does not open", v.describe())),
                    }
                }
            }
            Ok(IntegrityReport {
                ok: problems.is_empty(),
                pages,
                audit_events: audit,
                sealed_values: opened,
                problems,
            })
        })
    }

    /// The events for an export, itself recorded as `audit.export`.
    pub fn export_audit(&mut self, filter: &AuditFilter) -> Result<Vec<AuditEvent>> {
        let events = audit::list(&self.conn, filter)?;
        let id = self.header.vault_id;
        let detail = format!("{} events", events.len());
        self.write(|tx, k, a| {
            audit::append(
                tx,
                k,
                a,
                ev("audit.export", "vault", Some(id), None, Outcome::Success, detail),
            )
        })?;
        Ok(events)
    }

    /// Records an event for something outside the vault's own operations
    /// (the desktop app's clipboard copy, a CLI `run`).
    pub fn record(
        &mut self,
        action: &str,
        object_kind: &str,
        object: Option<&str>,
        outcome: Outcome,
        detail: &str,
    ) -> Result<()> {
        self.write(|tx, k, a| {
            audit::append(tx, k, a, ev(action, object_kind, None, object, outcome, detail)).map(|_| ())
        })
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    pub(crate) fn partner_hash_key(&self) -> &Key256 {
        &self.keys.partner_hash
    }

    pub(crate) fn signing_seed(&self) -> &Key256 {
        &self.keys.signing_seed
    }

    /// Opens a blob read from `conn`, a snapshot from [`Vault::read`], for
    /// `slot`, under whichever data key sealed it.
    pub(crate) fn open_slot_in(
        &self,
        conn: &Connection,
        slot: &FieldSlot<'_>,
        blob: &[u8],
    ) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        let mut keys = HashMap::new();
        let key = key_for_in(conn, &self.keys.dek_wrap, self.header.vault_id, &mut keys, blob)?;
        Ok(sealed::open(&key.key, slot, blob)?)
    }

    /// `write_with`, with the data key new values are sealed under read in
    /// the same transaction (see [`sealing_key`]); seal with [`seal_counted`].
    pub(crate) fn write_sealing<T>(
        &mut self,
        f: impl FnOnce(&Transaction<'_>, &DataKey, &Key256, &Actor) -> Result<T>,
    ) -> Result<T> {
        let tx = self.conn.transaction()?;
        let dek = sealing_key(&tx, &self.keys, self.header.vault_id)?;
        let out = f(&tx, &dek, &self.keys.audit, &self.actor)?;
        commit(tx, &self.anchor)?;
        Ok(out)
    }

    pub(crate) fn write_with<T>(
        &mut self,
        f: impl FnOnce(&Transaction<'_>, &Key256, &Actor) -> Result<T>,
    ) -> Result<T> {
        self.write(f)
    }
}

#[cfg(unix)]
fn restrict_permissions(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
}

#[cfg(not(unix))]
fn restrict_permissions(_dir: &Path) {}

/// The database is readable by its owner only (SQLCipher encrypts it, but
/// there is no reason to hand others the ciphertext).
#[cfg(unix)]
fn restrict_file(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o600));
}

#[cfg(not(unix))]
fn restrict_file(_path: &Path) {}

/// Hooks for tests that must reach under the API: tamper with rows, compare
/// a vault's whole content before and after. Only with `test-support`.
#[cfg(any(test, feature = "test-support"))]
impl Vault {
    #[doc(hidden)]
    pub fn raw_connection(&self) -> &Connection {
        &self.conn
    }

    /// Every key an open vault at `dir` holds, raw and named, derived here
    /// in the caller: what the memory test looks for in a core dump of
    /// another process after that process locked the vault.
    #[doc(hidden)]
    pub fn key_material_for_tests(dir: &Path, source: &KeySource) -> Result<Vec<(String, Vec<u8>)>> {
        let (header, kek, vault_key) = unlock_header(dir, source)?;
        let keys = VaultKeys::derive(&vault_key);
        let conn = store::open(&header::db_path(dir), &keys.db, false)?;
        let dek = data_keys::current(&conn, &keys.dek_wrap, header.vault_id)?;
        let raw = |name: &str, k: &Key256| (name.to_owned(), k.expose().to_vec());
        Ok(vec![
            raw("KEK", &kek),
            (
                "KEK as hex (the keychain item)".to_owned(),
                kek.to_hex().as_bytes().to_vec(),
            ),
            raw("vault key", &vault_key),
            raw("SQLCipher key", &keys.db),
            (
                "SQLCipher key as hex (its PRAGMA)".to_owned(),
                keys.db.to_hex().as_bytes().to_vec(),
            ),
            raw("DEK wrapping key", &keys.dek_wrap),
            raw("audit MAC key", &keys.audit),
            raw("partner-key hash key", &keys.partner_hash),
            raw("signing seed", &keys.signing_seed),
            raw("data key (DEK)", &dek.key),
        ])
    }

    /// SHA-256 over every row of every table, in a fixed order: equal
    /// digests mean nothing changed.
    #[doc(hidden)]
    pub fn content_digest(&self) -> Result<String> {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for table in [
            "data_keys",
            "integrations",
            "credentials",
            "credential_versions",
            "secret_fields",
            "credential_reminders",
            "audit_events",
            "audit_head",
            "settings",
        ] {
            let mut stmt = self.conn.prepare(&format!("SELECT * FROM {table} ORDER BY rowid"))?;
            let cols = stmt.column_count();
            let mut rows = stmt.query([])?;
            h.update(table.as_bytes());
            while let Some(r) = rows.next()? {
                for i in 0..cols {
                    let v: rusqlite::types::Value = r.get(i)?;
                    h.update(format!("{v:?}|").as_bytes());
                }
            }
        }
        Ok(hex::encode(h.finalize()))
    }
}

#[cfg(test)]
#[path = "vault_tests.rs"]
mod tests;
