//! Credentials: adding (checked), changing, reading, disabling and
//! deleting them.

#[allow(unused_imports)]
use super::*;

/// A new credential that passed every check that needs no provider: its
/// type, integration, provider and environment resolved.
pub(super) struct Checked {
    kind: CredentialKind,
    integration: Option<Integration>,
    provider: String,
    environment: String,
}

/// The checks of a new credential that need no provider (name, format,
/// policy, duplicates), run before a live check is paid for and again in
/// the writing transaction.
pub(super) fn check_new_credential(
    conn: &Connection,
    policy: &crate::policy::Policy,
    new: &NewCredential,
) -> Result<Checked> {
    validate_name("credential name", &new.name)?;
    let kind = new
        .kind
        .ok_or_else(|| Error::invalid("type", "choose a credential type: api-key, oauth2, basic or custom"))?;
    let integration = new
        .integration
        .as_deref()
        .map(|r| store::integrations::get(conn, r))
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
    pub(super) fn verdict(&self) -> Option<&Verdict> {
        match self {
            Acceptance::Live(v) | Acceptance::Offline(v) => Some(v),
            Acceptance::NotChecked(_) | Acceptance::Imported(_) => None,
        }
    }

    pub(super) fn audit_detail(&self, kind: CredentialKind) -> String {
        match self {
            Acceptance::Live(_) => format!("type {kind}; checked with the provider before saving"),
            Acceptance::Offline(_) => format!("type {kind}; saved without a live check (offline checks only)"),
            Acceptance::NotChecked(why) => format!("type {kind}; saved without a live check ({why})"),
            Acceptance::Imported(origin) => format!("type {kind}; imported from a {origin} file"),
        }
    }

    /// The values of `reminder`'s sentence (`Reminder::params`).
    pub(super) fn reminder_params(&self) -> Vec<(&'static str, String)> {
        let why = match self {
            Acceptance::Live(_) => return Vec::new(),
            Acceptance::Offline(_) => "offline",
            Acceptance::NotChecked(CHOSEN) => "chosen",
            Acceptance::NotChecked(NO_LIVE_CHECK) => "no_live_check",
            Acceptance::NotChecked(BULK) => "bulk",
            Acceptance::NotChecked(_) => return Vec::new(),
            Acceptance::Imported(origin) => return vec![("why", "imported".into()), ("origin", (*origin).to_owned())],
        };
        vec![("why", why.to_owned())]
    }

    /// The check-list item it leaves, when the provider has not confirmed it.
    pub(super) fn reminder(&self) -> Option<String> {
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
pub(super) const CONFIRM_LIVE: &str = "test the connection to confirm it with the provider";

/// Why a credential was saved without a live check, for each way that
/// allows it.
pub(crate) const CHOSEN: &str = "the admin chose to save without checking";

pub(crate) const NO_LIVE_CHECK: &str = "no live check is known for its provider";

pub(crate) const BULK: &str = "saved in bulk";

/// Checks a new credential, fills its defaults from its integration, and
/// writes it — row, version 1, sealed fields, `credential.add` event, its
/// check list — in the caller's transaction. A verdict of a live check
/// keeps its expiry, and the credential counts as validated now.
pub(super) fn insert_new_credential(
    w: &mut WriteTx<'_>,
    policy: &crate::policy::Policy,
    new: NewCredential,
    how: &Acceptance<'_>,
) -> Result<Uuid> {
    let pre = check_new_credential(w, policy, &new)?;
    write_new_credential(w, new, pre, how, true)
}

/// The writing half of `insert_new_credential`, for a credential the
/// caller has checked in this same transaction (an import checks all of
/// them first, to report every problem at once). `count`: whether the data
/// key's uses are counted now (a bulk write counts them once, at its end).
pub(super) fn write_new_credential(
    w: &mut WriteTx<'_>,
    new: NewCredential,
    pre: Checked,
    how: &Acceptance<'_>,
    count: bool,
) -> Result<Uuid> {
    let now = w.now();
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
    creds::upsert(w, &mut row)?;
    creds::insert_version(w, row.id, 1, VersionState::Current, &masks)?;
    w.seal_secrets(row.id, 1, &new.secrets, count)?;
    let detail = how.audit_detail(kind);
    if let Some(todo) = how.reminder() {
        reminders::set(w, row.id, ReminderKind::Unchecked, &todo, &how.reminder_params(), now)?;
    }
    w.audit(ev(
        "credential.add",
        "credential",
        Some(row.id),
        Some(&row.name),
        Outcome::Success,
        detail,
    ))?;
    Ok(row.id)
}

pub(super) fn primary_mask(kind: CredentialKind, masks: &BTreeMap<String, String>) -> Option<String> {
    let names: Vec<String> = masks.keys().cloned().collect();
    validate::primary_field(kind, &names).and_then(|f| masks.get(&f).cloned())
}

pub(super) fn jwt_expiry(secrets: &SecretFields) -> Option<OffsetDateTime> {
    secrets.iter().filter_map(|(_, v)| jwt::expiry(v.expose_secret())).min()
}

impl Vault {
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

    pub(super) fn insert_credential(&mut self, new: NewCredential, how: &Acceptance<'_>) -> Result<Credential> {
        let policy = self.policy.clone();
        let id = self.write(|w| insert_new_credential(w, &policy, new, how))?;
        self.rotate_data_key_if_worn();
        self.get_credential(&id.to_string())
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
        let mut moved = self.patch_identity(&mut row, patch.name, patch.integration, &mut changed)?;
        moved |= self.patch_details(
            &mut row,
            CredentialPatch {
                name: None,
                integration: None,
                ..patch
            },
            &mut changed,
        )?;
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
        self.write(|tx| {
            creds::upsert(tx, &mut row)?;
            if moved && !row.needs_reentry {
                let todo = format!("Its integration or an endpoint changed after its last live check: {CONFIRM_LIVE}.");
                reminders::set(
                    tx,
                    row.id,
                    ReminderKind::Unchecked,
                    &todo,
                    &[("why", "moved".into())],
                    now,
                )?;
            }
            tx.audit(ev(
                "credential.update",
                "credential",
                Some(row.id),
                Some(&row.name),
                Outcome::Success,
                format!("changed {}", changed.join(", ")),
            ))
        })?;
        self.get_credential(&row.id.to_string())
    }

    /// A patch's name and integration, checked and put on `row`; says
    /// whether the credential moved to another integration.
    fn patch_identity(
        &self,
        row: &mut Row,
        name: Option<String>,
        integration: Option<Option<String>>,
        changed: &mut Vec<&'static str>,
    ) -> Result<bool> {
        if let Some(name) = name {
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
        if let Some(link) = integration {
            let i = link
                .as_deref()
                .map(|r| store::integrations::get(&self.conn, r))
                .transpose()?;
            if let Some(i) = &i {
                self.policy.check_provider(&i.provider)?;
            }
            let to = i.as_ref().map(|i| i.id);
            moved |= to != row.integration_id;
            row.integration_id = to;
            row.integration_name = i.map(|i| i.name);
            changed.push("integration");
        }
        Ok(moved)
    }

    /// The rest of a patch, checked and put on `row`; says whether an
    /// endpoint the secret is sent to changed.
    fn patch_details(&self, row: &mut Row, patch: CredentialPatch, changed: &mut Vec<&'static str>) -> Result<bool> {
        let mut moved = false;
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
        Ok(moved)
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

    /// Marks a credential compromised: every use is refused from this
    /// moment until its secret is replaced.
    pub fn disable_credential(&mut self, reference: &str, reason: &str) -> Result<Credential> {
        validate_text("reason", reason)?;
        let mut row = creds::get(&self.conn, reference)?;
        row.status = Status::Disabled;
        row.updated_at = self.now();
        let who = self.actor.profile.clone();
        self.write(|tx| {
            creds::upsert(tx, &mut row)?;
            tx.audit(ev(
                "credential.disable",
                "credential",
                Some(row.id),
                Some(&row.name),
                Outcome::Success,
                reason,
            ))?;
            disabled_notice(tx, &row, &who)?;
            Ok(())
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
        self.write(|tx| {
            creds::delete(tx, row.id)?;
            tx.audit(ev(
                "credential.delete",
                "credential",
                Some(row.id),
                Some(&row.name),
                Outcome::Success,
                detail,
            ))?;
            Ok(())
        })
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
}

/// "Pleo API was disabled": in the notification centre, and to the alert
/// channels that carry it. The reason stays in the audit log (a person
/// typed it; it goes nowhere else).
fn disabled_notice(tx: &WriteTx<'_>, row: &Row, who: &str) -> Result<()> {
    let now = tx.now();
    let used_by = row
        .integration_name
        .as_deref()
        .map(|i| format!("The {i} integration cannot use it. "))
        .unwrap_or_default();
    store::notices::insert(
        tx,
        &store::notices::NewNotice {
            credential_id: Some(row.id),
            partner_key_id: None,
            version: row.current_version,
            kind: crate::NoticeKind::Disabled.as_str(),
            threshold_days: 0,
            expires_at: None,
            due_at: now,
            fired_at: now,
            credential_name: &row.name,
            integration: row.integration_name.as_deref(),
            summary: &format!("{} was disabled", row.name),
            body: &format!(
                "{used_by}{who} disabled it: every use is blocked (the reason is in the audit log). If it was \
                 compromised, revoke it at the provider and choose Update Credentials with a new one."
            ),
            params: &[("who", who.to_owned())],
            dedupe: &format!("disabled|{}|{}", row.id, timefmt::to_db(now)),
        },
    )?;
    Ok(())
}
