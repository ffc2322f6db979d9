//! Replacing a secret: staged as pending, validated, then swapped in;
//! an interrupted rotation rolls back.

#[allow(unused_imports)]
use super::*;

/// A pending version older than this is an interrupted rotation: live
/// validation takes seconds, never this long.
pub(super) const STALE_PENDING_MINUTES: i64 = 10;

/// Test builds only: holds the process at a named step of a rotation
/// (`KEYWARDEN_CRASH_AT=staged|validated|swap`) and says so on stderr, so a
/// test can SIGKILL it exactly there. Compiled out of real builds.
#[cfg(feature = "test-support")]
pub(super) fn crash_point(step: &str) {
    if std::env::var("KEYWARDEN_CRASH_AT").is_ok_and(|s| s == step) {
        eprintln!("KEYWARDEN_CRASH_POINT {step}");
        loop {
            std::thread::sleep(std::time::Duration::from_secs(60));
        }
    }
}

#[cfg(not(feature = "test-support"))]
pub(super) fn crash_point(_step: &str) {}

/// Accepts what the provider itself just issued during a check.
pub(crate) struct Issued;

/// Who replaced a secret: an admin (checked by the validator given), or
/// the provider itself during a check (a rotated refresh token: the old one
/// is already spent there, so nothing is left to revoke).
#[derive(Clone, Copy)]
pub(super) enum ReplacedBy<'a> {
    Admin(&'a dyn Validator),
    Provider,
}

impl<'a> ReplacedBy<'a> {
    pub(super) fn validator(self) -> &'a dyn Validator {
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
pub(super) fn same_tenant(
    v: Verdict,
    integration: Option<&Integration>,
) -> std::result::Result<Verdict, validate::Rejection> {
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

impl Vault {
    /// Asks `validator` about `secrets` for credential `row`, in the
    /// context of its integration; a secret for another tenant is refused.
    /// Used by rotation and by the connection check alike.
    pub(super) fn validate_for(
        &self,
        row: &Row,
        secrets: &SecretFields,
        validator: &dyn Validator,
    ) -> Result<std::result::Result<Verdict, validate::Rejection>> {
        let integration = row
            .integration_id
            .map(|id| store::integrations::get(&self.conn, &id.to_string()))
            .transpose()?;
        Ok(super::checks::validate_with(
            row,
            integration.as_ref(),
            secrets,
            validator,
        ))
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

    pub(super) fn replace_secret_by(
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
        let version = self.write(|w| {
            // Numbered inside the write lock: another program rotating the
            // same credential at once takes the next number, not this one.
            let version = creds::max_version(w, row.id)? + 1;
            creds::insert_version(w, row.id, version, VersionState::Pending, &masks)?;
            w.seal_secrets(row.id, version, &secrets, true)?;
            w.audit(ev(
                "credential.rotate.staged",
                "credential",
                Some(row.id),
                Some(&row.name),
                Outcome::Success,
                format!("version {version} pending validation"),
            ))?;
            Ok(version)
        })?;
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
        self.write(|tx| {
            if !reminders::clear(tx, row.id, kind)? {
                return Err(Error::invalid(
                    "reminder",
                    format!("'{}' has no reminder to revoke a replaced secret", row.name),
                ));
            }
            tx.audit(ev(
                "credential.reminder",
                "credential",
                Some(row.id),
                Some(&row.name),
                Outcome::Success,
                "the replaced secret was revoked at the provider (marked done)",
            ))?;
            Ok(())
        })?;
        self.get_credential(&row.id.to_string())
    }

    /// Takes a pending version out again after its rotation failed for a
    /// reason other than the verdict (which does so itself): a vault that
    /// could not be read, a provider error. Best effort: if even this write
    /// fails, the version is rolled back at a later start
    /// (`roll_back_interrupted_rotations`); the current one is untouched.
    pub(super) fn discard_pending(&mut self, row: &Row, version: u32, err: &Error) {
        if matches!(err, Error::ValidationRejected { .. }) {
            return;
        }
        let _ = self.drop_pending(row, version, format!("version {version} discarded: {err}"));
    }

    /// Deletes a pending version, if it is still pending, and records the
    /// failed rotation with `detail`.
    pub(super) fn drop_pending(&mut self, row: &Row, version: u32, detail: String) -> Result<()> {
        self.write(|tx| {
            if creds::version_state(tx, row.id, version)? != Some(VersionState::Pending) {
                return Ok(());
            }
            creds::delete_version(tx, row.id, version)?;
            tx.audit(ev(
                "credential.rotate",
                "credential",
                Some(row.id),
                Some(&row.name),
                Outcome::Failure,
                detail,
            ))?;
            Ok(())
        })
    }

    /// The rest of `replace_secret` once the new version is staged.
    pub(super) fn validate_and_swap(
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
                        self.write_unaudited(Unaudited::PendingRenewed, |w| {
                            creds::delete_version(w, row.id, version)?;
                            creds::insert_version(w, row.id, version, VersionState::Pending, &fresh_masks)?;
                            w.seal_secrets(row.id, version, &fresh, true).map(|_| ())
                        })?;
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
                let swap = Swap {
                    row,
                    version,
                    by_admin: matches!(by, ReplacedBy::Admin(_)),
                    offline: verdict.offline,
                    now,
                    mask: new_mask,
                    fields: new_fields,
                    expiry: (new_expiry, new_expiry_source),
                };
                self.write(|tx| swap_in(tx, swap))?;
                self.rotate_data_key_if_worn();
                self.get_credential(&row.id.to_string())
            }
        }
    }
}

/// What a validated rotation (or a Connect) puts in force.
pub(super) struct Swap<'a> {
    pub(super) row: &'a Row,
    pub(super) version: u32,
    /// An admin replaced the secret (not the provider during a check): the
    /// old one must still be revoked at the provider.
    pub(super) by_admin: bool,
    /// Only the offline checks passed.
    pub(super) offline: bool,
    pub(super) now: OffsetDateTime,
    pub(super) mask: Option<String>,
    pub(super) fields: Vec<String>,
    pub(super) expiry: (Option<OffsetDateTime>, Option<ExpirySource>),
}

/// Swaps the pending version in, in the caller's write: the old version
/// retired and its fields deleted, the credential's state renewed, the
/// reminders set, `credential.rotate` recorded.
pub(super) fn swap_in(tx: &mut WriteTx<'_>, swap: Swap<'_>) -> Result<()> {
    let (row, version, now) = (swap.row, swap.version, swap.now);
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
    if let (true, true, false, Some(old_mask)) = (swap.by_admin, old > 0, fresh.needs_reentry, fresh.mask.as_deref()) {
        let todo = format!(
            "Revoke the replaced secret (version {old}, {old_mask}) at {}: it works there until it \
             is revoked. Mark this done once it is.",
            fresh.provider
        );
        let params = [
            ("version", old.to_string()),
            ("mask", old_mask.to_owned()),
            ("provider", fresh.provider.clone()),
        ];
        reminders::set(tx, row.id, ReminderKind::RevokeOld, &todo, &params, now)?;
    }
    if swap.offline {
        let todo = format!("Rotated after the offline checks only: {CONFIRM_LIVE}.");
        reminders::set(
            tx,
            row.id,
            ReminderKind::Unchecked,
            &todo,
            &[("why", "rotated_offline".into())],
            now,
        )?;
    } else {
        reminders::clear(tx, row.id, ReminderKind::Unchecked)?;
    }
    if old > 0 {
        creds::set_version_state(tx, row.id, old, VersionState::Retired)?;
        creds::delete_fields(tx, row.id, old)?;
    }
    creds::set_version_state(tx, row.id, version, VersionState::Current)?;
    fresh.current_version = version;
    fresh.mask = swap.mask;
    fresh.secret_fields = swap.fields;
    fresh.status = Status::Active;
    fresh.needs_reentry = false;
    // Only a live check validates the new secret.
    fresh.last_validated_at = (!swap.offline).then_some(now);
    fresh.expires_at = swap.expiry.0;
    fresh.expiry_source = swap.expiry.1;
    fresh.rotated_at = Some(now);
    fresh.updated_at = now;
    creds::upsert(tx, &mut fresh)?;
    let detail = format!("version {version} is current; version {old} retired");
    tx.audit(ev(
        "credential.rotate",
        "credential",
        Some(row.id),
        Some(&fresh.name),
        Outcome::Success,
        detail,
    ))?;
    crash_point("swap");
    Ok(())
}
