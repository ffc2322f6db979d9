//! What `kw` prints: a readable text form, or JSON with `--json`. Only
//! masks, never secrets: the core hands out nothing else.

use keywarden_core::export::ImportReport;
use keywarden_core::{AuditEvent, AuditReport, Credential, CredentialSummary, Integration, Vault, timefmt};
use std::fmt::Write as _;

use serde::Serialize;
use time::OffsetDateTime;

use crate::ctx::Ctx;

/// Writes kw's output. A reader that stopped reading is not kw's failure:
/// by the time kw prints, its work is done and committed, so it exits 0
/// without a word, as ripgrep does; with std's `println!` it panicked and
/// aborted (exit 134) under `set -o pipefail` scripts. Any other write
/// error is reported and exits 1.
pub fn write_stdout(args: std::fmt::Arguments) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    let written = stdout.write_fmt(args).and_then(|()| stdout.flush());
    // The vault is still open here: its rollback anchor is written first
    // (a commit hands it to a writer thread).
    match written {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            keywarden_core::anchor_writer::flush_all();
            std::process::exit(0)
        }
        Err(e) => {
            eprintln!("kw: cannot write the output: {e}");
            keywarden_core::anchor_writer::flush_all();
            std::process::exit(1)
        }
    }
}

fn json<T: Serialize + ?Sized>(v: &T) {
    outln!("{}", serde_json::to_string_pretty(v).unwrap_or_else(|_| "null".into()));
}

fn when(t: Option<OffsetDateTime>) -> String {
    t.map(|t| timefmt::to_db(t)[..16].replace('T', " "))
        .unwrap_or_else(|| "never".into())
}

pub fn message(ctx: &Ctx, key: &str, text: &str) {
    if ctx.json {
        json(&serde_json::json!({ "ok": true, key: true, "message": text }));
    } else {
        outln!("{text}");
    }
}

pub fn init(ctx: &Ctx, vault: &Vault, code: &str) {
    if ctx.json {
        json(&serde_json::json!({
            "vault_id": vault.vault_id(),
            "path": vault.dir(),
            "recovery_code": code,
            "note": "The recovery code is shown only now. Store it offline; it restores access if the keychain item is lost."
        }));
    } else {
        outln!("Vault {} created at {}", vault.vault_id(), vault.dir().display());
        outln!();
        outln!("Recovery code (shown only now — write it down and store it offline):");
        outln!();
        outln!("    {code}");
        outln!();
        outln!(
            "It restores access if the keychain item is lost (kw recover). Without it, a lost keychain means a lost vault."
        );
    }
}

pub fn integrations(ctx: &Ctx, list: &[Integration]) {
    // One write for the whole table: stdout is line-buffered, and a
    // thousand rows would otherwise be a thousand write calls.
    let mut o = String::new();
    if ctx.json {
        return json(list);
    }
    if list.is_empty() {
        return outln!("No integrations. Add one with: kw integration add NAME --provider PROVIDER");
    }
    let _ = writeln!(
        o,
        "{:<32} {:<18} {:<10} {:<20} SCHEDULE",
        "NAME", "PROVIDER", "ENV", "TENANT"
    );
    for i in list {
        let _ = writeln!(
            o,
            "{:<32} {:<18} {:<10} {:<20} {}",
            i.name,
            i.provider,
            i.environment,
            i.tenant_id.as_deref().unwrap_or("-"),
            i.sync_schedule.as_deref().unwrap_or("-")
        );
    }
    out!("{o}");
}

pub fn integration(ctx: &Ctx, i: &Integration, creds: &[CredentialSummary]) {
    if ctx.json {
        return json(&serde_json::json!({ "integration": i, "credentials": creds }));
    }
    outln!("Integration   {}", i.name);
    outln!("  id          {}", i.id);
    outln!("  provider    {}", i.provider);
    outln!("  environment {}", i.environment);
    outln!("  tenant      {}", i.tenant_id.as_deref().unwrap_or("-"));
    outln!("  base URL    {}", i.base_url.as_deref().unwrap_or("-"));
    outln!(
        "  scopes      {}",
        if i.scopes.is_empty() {
            "-".into()
        } else {
            i.scopes.join(" ")
        }
    );
    outln!("  schedule    {}", i.sync_schedule.as_deref().unwrap_or("-"));
    outln!("  owner       {}", i.owner.as_deref().unwrap_or("-"));
    outln!("  tags        {}", i.tags.join(", "));
    if let Some(n) = &i.notes {
        outln!("  notes       {n}");
    }
    for c in creds {
        outln!(
            "  credential  {} ({}, {}) {}",
            c.name,
            c.kind,
            c.status,
            c.mask.as_deref().unwrap_or("")
        );
    }
}

pub fn credentials(ctx: &Ctx, list: &[CredentialSummary]) {
    // One write for the whole table: stdout is line-buffered, and a
    // thousand rows would otherwise be a thousand write calls.
    let mut o = String::new();
    if ctx.json {
        return json(list);
    }
    if list.is_empty() {
        return outln!("No credentials match.");
    }
    let _ = writeln!(
        o,
        "{:<32} {:<8} {:<9} {:<8} {:<16} {:<14} {:<24} LAST USED",
        "NAME", "TYPE", "STATUS", "ENV", "PROVIDER", "SECRET", "INTEGRATION"
    );
    for c in list {
        let status = if c.needs_reentry { "re-enter" } else { c.status.as_str() };
        let _ = writeln!(
            o,
            "{:<32} {:<8} {:<9} {:<8} {:<16} {:<14} {:<24} {}",
            c.name,
            c.kind.as_str(),
            status,
            c.environment,
            c.provider,
            c.mask.as_deref().unwrap_or("(none)"),
            c.integration.as_deref().unwrap_or("-"),
            when(c.last_used_at)
        );
    }
    out!("{o}");
}

pub fn credential(ctx: &Ctx, c: &Credential) {
    if ctx.json {
        return json(c);
    }
    let s = &c.summary;
    outln!("Credential    {}", s.name);
    outln!("  id          {}", s.id);
    outln!("  type        {}", s.kind.label());
    outln!(
        "  status      {}{}",
        s.status,
        if s.needs_reentry { " (needs re-entry)" } else { "" }
    );
    outln!("  secret      {}", s.mask.as_deref().unwrap_or("(none)"));
    outln!("  provider    {}", s.provider);
    outln!("  environment {}", s.environment);
    outln!("  integration {}", s.integration.as_deref().unwrap_or("-"));
    outln!("  tags        {}", s.tags.join(", "));
    outln!(
        "  expires     {}",
        s.expires_at
            .map(|t| format!(
                "{}{}",
                &timefmt::to_db(t)[..10],
                match s.expiry_source {
                    Some(keywarden_core::ExpirySource::User) => " (entered)",
                    Some(keywarden_core::ExpirySource::Token) => " (from the token's exp claim)",
                    Some(keywarden_core::ExpirySource::Provider) => " (reported by the provider)",
                    None => "",
                }
            ))
            .unwrap_or_else(|| "-".into())
    );
    outln!(
        "  rotation    {}",
        match (s.rotation_due_at, c.max_age_days) {
            (Some(t), _) => format!(
                "due {}{}{}",
                &timefmt::to_db(t)[..10],
                if s.rotation_overdue { " (overdue)" } else { "" },
                match c.max_age_days {
                    Some(d) => format!(", its own policy: every {d} days"),
                    None => ", inherited policy".to_owned(),
                }
            ),
            (None, Some(0)) => "no maximum age (its own policy)".to_owned(),
            (None, _) => "no maximum age".to_owned(),
        }
    );
    outln!("  last used   {}", when(s.last_used_at));
    outln!("  validated   {}", when(s.last_validated_at));
    for (k, v) in &c.config {
        outln!("  {k:<11} {v}");
    }
    if let Some(n) = &c.notes {
        outln!("  notes       {n}");
    }
    outln!("  versions");
    for v in &c.versions {
        let masks: Vec<String> = v.masks.iter().map(|(f, m)| format!("{f} {m}")).collect();
        outln!(
            "    v{:<3} {:<8} {}  created {}",
            v.version,
            v.state.as_str(),
            masks.join(", "),
            when(Some(v.created_at))
        );
    }
    if !c.reminders.is_empty() {
        outln!("  to do");
        for r in &c.reminders {
            outln!("    [ ] {}", r.detail);
        }
    }
}

pub fn audit_events(ctx: &Ctx, events: &[AuditEvent]) {
    // One write for the whole table: stdout is line-buffered, and a
    // thousand rows would otherwise be a thousand write calls.
    let mut o = String::new();
    if ctx.json {
        return json(events);
    }
    for e in events {
        let _ = writeln!(
            o,
            "{:>6} {} {}@{} ({}) {:<26} {:<8} {} {}",
            e.seq,
            timefmt::to_db(e.at)[..19].replace('T', " "),
            e.profile,
            e.host,
            e.os_user,
            e.action,
            e.outcome.as_str(),
            e.object_name.as_deref().unwrap_or("-"),
            e.detail
        );
    }
    out!("{o}");
}

pub fn audit_report(ctx: &Ctx, r: &AuditReport) {
    if ctx.json {
        return json(r);
    }
    if r.ok {
        outln!("Audit log OK: {} events verified, chain intact.", r.events);
    }
}

pub fn integrity(ctx: &Ctx, r: &keywarden_core::IntegrityReport) {
    if ctx.json {
        return json(r);
    }
    if r.ok {
        outln!(
            "Vault OK: {} pages verified, structure intact, audit chain intact ({} events), {} sealed values open.",
            r.pages,
            r.audit_events,
            r.sealed_values
        );
    }
}

pub fn import(ctx: &Ctx, r: &ImportReport) {
    if ctx.json {
        return json(r);
    }
    outln!(
        "Imported {} integrations and {} credentials.",
        r.integrations,
        r.credentials
    );
    if !r.needs_reentry.is_empty() {
        outln!("These credentials need their secrets re-entered (kw credential rotate NAME):");
        for n in &r.needs_reentry {
            outln!("  {n}");
        }
    }
}

/// What `kw credential import` did (or, with --dry-run, would do).
#[derive(serde::Serialize)]
pub struct MigrationReport<'a> {
    pub format: &'a str,
    pub source: &'a str,
    pub dry_run: bool,
    pub imported: usize,
    pub would_import: usize,
    pub skipped: &'a [keywarden_core::migrate::Skipped],
    pub renamed: &'a [keywarden_core::migrate::Renamed],
    pub without_attachments: &'a [keywarden_core::migrate::Skipped],
}

fn n_credentials(n: usize) -> String {
    if n == 1 {
        "1 credential".into()
    } else {
        format!("{n} credentials")
    }
}

pub fn migration(ctx: &Ctx, r: &MigrationReport) {
    if ctx.json {
        return json(r);
    }
    if r.dry_run {
        outln!(
            "Dry run: {} in {} ({}) would be imported; nothing was written.",
            n_credentials(r.would_import),
            r.source,
            r.format
        );
    } else {
        outln!(
            "Imported {} from {} ({}).",
            n_credentials(r.imported),
            r.source,
            r.format
        );
    }
    if !r.renamed.is_empty() {
        outln!(
            "Renamed to fit a credential name or to keep names unique ({}):",
            r.renamed.len()
        );
        for n in r.renamed {
            outln!("  {}: '{}' -> '{}'", n.place, n.from, n.to);
        }
    }
    if !r.without_attachments.is_empty() {
        outln!("Imported without their attachments ({}):", r.without_attachments.len());
        for s in r.without_attachments {
            outln!("  {}: '{}': {}", s.place, s.title, s.reason);
        }
    }
    if !r.skipped.is_empty() {
        outln!("Not imported ({}):", r.skipped.len());
        for s in r.skipped {
            outln!("  {}: '{}': {}", s.place, s.title, s.reason);
        }
    }
}

/// A connection check: the verdict, labelled live or offline, and what
/// changed (consecutive failures, status).
pub fn check(ctx: &Ctx, r: &keywarden_core::CheckReport) {
    if ctx.json {
        return json(r);
    }
    let label = if r.check.offline { "offline" } else { "live" };
    match &r.check.outcome {
        keywarden_core::CheckOutcome::Valid { verdict } => {
            outln!("{}: {label} check passed", r.credential);
            if let Some(t) = &verdict.tenant_id {
                outln!("  tenant      {t}");
            }
            if let Some(e) = &verdict.environment {
                outln!("  environment {e}");
            }
            if let Some(a) = &verdict.application {
                outln!("  application {a}");
            }
            if let Some(m) = &verdict.auth_method {
                outln!("  auth method {m}");
            }
            if !verdict.scopes.is_empty() {
                outln!("  scopes      {}", verdict.scopes.join(" "));
            }
            if let Some(iss) = &verdict.issuer {
                outln!("  issuer      {iss}");
            }
            if !verdict.audience.is_empty() {
                outln!("  audience    {}", verdict.audience.join(", "));
            }
            for note in &verdict.notes {
                outln!("  note        {note}");
            }
            if let Some(x) = verdict.expires_at {
                outln!("  expires     {}", &timefmt::to_db(x)[..10]);
            }
        }
        keywarden_core::CheckOutcome::Failed { failure } => {
            outln!("{}: {label} check failed ({})", r.credential, failure.code());
            outln!("  problem     {}", failure.message());
            outln!("  next step   {}", failure.next_step());
            outln!(
                "  failures    {} consecutive authentication failure(s)",
                r.consecutive_auth_failures
            );
        }
    }
    outln!("  status      {}", r.status);
    if r.reconnection_required {
        outln!("  Reconnection required: the provider keeps refusing this credential; rotate it to a working secret.");
    }
}

/// `kw expiry check`: what fired, where it was shown, and when the next
/// notice is due.
pub fn expiry_check(shown: &[(&keywarden_core::Notice, String)], next_due: Option<OffsetDateTime>, as_json: bool) {
    if as_json {
        let fired: Vec<serde_json::Value> = shown
            .iter()
            .map(|(n, delivery)| {
                let mut v = serde_json::to_value(n).unwrap_or_default();
                v["delivery"] = serde_json::Value::String(delivery.clone());
                v
            })
            .collect();
        return json(&serde_json::json!({
            "fired": fired,
            "next_due": next_due.map(timefmt::to_db),
        }));
    }
    if shown.is_empty() {
        outln!("No notice due.");
    }
    for (n, delivery) in shown {
        outln!("{} [{delivery}]", n.summary);
        outln!("  {}", n.body);
    }
    match next_due {
        Some(t) => outln!("Next notice due {} (UTC).", when(Some(t))),
        None => outln!("No expiry notice ahead."),
    }
}

pub fn notices(list: &[keywarden_core::Notice], as_json: bool) {
    if as_json {
        return json(list);
    }
    if list.is_empty() {
        outln!("No notices.");
    }
    for n in list {
        let state = if n.dismissed {
            "dismissed"
        } else if n.read {
            "read"
        } else {
            "unread"
        };
        outln!("{}  {:<9}  {}", when(Some(n.fired_at)), state, n.summary);
    }
}

/// The workflows that used a credential in the last 90 days.
pub fn consumers(list: &[keywarden_core::run::Consumer]) {
    if list.is_empty() {
        outln!("  workflows   none in the last 90 days");
        return;
    }
    outln!("  workflows   (last 90 days)");
    for c in list {
        let total: u64 = c.per_day.iter().map(|(_, n)| n).sum();
        let kind = if c.kind == "service_account" {
            "service account"
        } else {
            "kw run"
        };
        outln!(
            "    {kind} {:<24} {total} uses on {} days, last {}",
            c.name,
            c.per_day.len(),
            c.last_used.get(..16).unwrap_or(&c.last_used).replace('T', " ")
        );
    }
}

/// `kw health schedule` (and `set`): each credential's period and checks.
pub fn check_schedules(ctx: &Ctx, list: &[keywarden_core::CheckSchedule]) {
    if ctx.json {
        return json(list);
    }
    if list.is_empty() {
        outln!("No credential to check.");
    }
    for s in list {
        let how = if s.live_check {
            format!(
                "{} ({})",
                keywarden_core::health::every_words(s.every_hours),
                serde_json::to_value(s.source)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            )
        } else {
            "no live check".to_owned()
        };
        let last = match (&s.last_at, &s.last_code) {
            (Some(at), Some(code)) => format!("{} ({code})", when(Some(*at))),
            _ => "never".to_owned(),
        };
        outln!("{}", s.credential);
        outln!("  checked     {how}");
        outln!("  last        {last}");
        outln!(
            "  next        {}",
            s.next_at.map_or("not scheduled".into(), |t| when(Some(t)))
        );
    }
}

/// `kw health check`: each check that ran, and when the next is due.
pub fn health_check(ctx: &Ctx, run: &crate::commands::health::HealthRun, next_due: Option<OffsetDateTime>) {
    if ctx.json {
        let checked: Vec<serde_json::Value> = run
            .checked
            .iter()
            .map(|(r, delivery)| {
                let mut v = serde_json::to_value(r).unwrap_or_default();
                v["delivery"] = serde_json::Value::String(delivery.clone());
                v
            })
            .collect();
        return json(&serde_json::json!({
            "checked": checked,
            "skipped": run.skipped,
            "next_due": next_due.map(timefmt::to_db),
        }));
    }
    if run.checked.is_empty() && run.skipped.is_empty() {
        outln!("No check due.");
    }
    for (r, delivery) in &run.checked {
        let verdict = match &r.check.outcome {
            keywarden_core::CheckOutcome::Valid { .. } => "passed".to_owned(),
            keywarden_core::CheckOutcome::Failed { failure } => format!("failed: {}", failure.message()),
        };
        outln!("{}: {verdict}", r.credential);
        if let Some(n) = &r.notice {
            outln!("  {} [{delivery}]", n.summary);
            outln!("  {}", n.body);
        } else if r.reconnection_required {
            outln!("  Reconnection required (said before).");
        }
    }
    for name in &run.skipped {
        outln!("{name}: another program is checking against its provider; checked at the next run");
    }
    match next_due {
        Some(t) => outln!("Next check due {} (UTC).", when(Some(t))),
        None => outln!("No check scheduled."),
    }
}

/// `kw audit verify --stream`.
pub fn stream_report(ctx: &Ctx, r: &keywarden_core::audit_stream::StreamReport) {
    if ctx.json {
        return json(r);
    }
    if r.ok {
        outln!("Audit stream OK: {} events, each MAC and link verified.", r.events);
    } else {
        outln!("Audit stream BROKEN at line {}.", r.first_bad_line.unwrap_or(0));
    }
}

/// `kw alert list` / `add-*`: the channels (never their secret), and the
/// latest deliveries.
pub fn alert_channels(
    ctx: &Ctx,
    channels: &[keywarden_core::alerts::AlertChannel],
    deliveries: &[keywarden_core::alerts::AlertDelivery],
) {
    if ctx.json {
        return json(&serde_json::json!({ "channels": channels, "deliveries": deliveries }));
    }
    if channels.is_empty() {
        outln!("No alert channel. Add one: kw alert add-webhook NAME --event all");
    }
    for c in channels {
        let events: Vec<&str> = c.events.iter().map(|e| e.as_str()).collect();
        let kind = match c.kind {
            keywarden_core::alerts::ChannelKind::Webhook => "webhook",
            keywarden_core::alerts::ChannelKind::Email => "email",
        };
        outln!("{}: {kind} to {}; {}", c.name, c.target, events.join(", "));
    }
    for d in deliveries {
        let state = match (&d.sent_at, &d.next_at) {
            (Some(at), _) => format!("sent {}", when(Some(*at))),
            (None, Some(next)) => format!(
                "not yet delivered ({}); tried again {}",
                d.last_error.as_deref().unwrap_or("waiting"),
                when(Some(*next))
            ),
            (None, None) => format!("given up: {}", d.last_error.as_deref().unwrap_or("")),
        };
        outln!("  {} [{}] {}: {state}", d.channel, d.category, d.subject);
    }
}

/// `kw alert send`.
pub fn alerts_delivered(ctx: &Ctx, run: &keywarden_connectors::alerts::Delivered) {
    if ctx.json {
        return json(&serde_json::json!({ "sent": run.sent, "failed": run.failed }));
    }
    outln!("{} alert(s) sent.", run.sent);
    for f in &run.failed {
        outln!("Not delivered (tried again later): {f}");
    }
}

/// `kw backup`.
pub fn backup(ctx: &Ctx, r: &keywarden_core::backup::BackupReport) {
    if ctx.json {
        return json(r);
    }
    outln!(
        "Backed up to {} ({} credentials, {} audit events, {} bytes); read back and verified.",
        r.path,
        r.credentials,
        r.audit_events,
        r.bytes
    );
    outln!("Restoring it needs the recovery code: kw restore FILE --vault DIR");
}
