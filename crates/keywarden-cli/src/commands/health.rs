//! `kw health …`: scheduled live checks, for a timer, and their schedule.

use keywarden_core::{CheckReport, Vault};

use crate::args::HealthCmd;
use crate::ctx::{Ctx, validator};
use crate::error::CliResult;
use crate::output;

pub(crate) fn run(ctx: &Ctx, cmd: HealthCmd) -> CliResult {
    match cmd {
        HealthCmd::Check { no_desktop, all } => check(ctx, no_desktop, all),
        HealthCmd::Schedule => {
            let vault = ctx.open()?;
            output::check_schedules(ctx, &vault.check_schedules(validator(false).as_ref())?);
            Ok(())
        }
        HealthCmd::Set {
            name,
            integration,
            every,
        } => {
            let hours = keywarden_core::health::parse_every(&every)?;
            let mut vault = ctx.open()?;
            if integration {
                vault.set_integration_check_every(&name, hours)?;
                output::message(ctx, "scheduled", &format!("Integration '{name}': {}.", period(hours)));
            } else {
                vault.set_check_every(&name, hours)?;
                let schedule = vault.check_schedule(&name, validator(false).as_ref())?;
                output::check_schedules(ctx, &[schedule]);
            }
            Ok(())
        }
    }
}

fn period(hours: Option<u32>) -> String {
    match hours {
        Some(h) => format!("credentials checked {}", keywarden_core::health::every_words(h)),
        None => "credentials checked as their provider says".into(),
    }
}

/// What one run did: the checks it ran, and those another program was
/// running against the same provider (they come again at the next run).
pub(crate) struct HealthRun {
    pub checked: Vec<(CheckReport, String)>,
    pub skipped: Vec<String>,
}

fn check(ctx: &Ctx, no_desktop: bool, all: bool) -> CliResult {
    let mut vault = ctx.open()?;
    let live = validator(false);
    let plan = if all {
        vault.health_plan_all(live.as_ref())?
    } else {
        vault.health_plan(live.as_ref())?
    };
    let holder = format!("kw-{}", std::process::id());
    let notifier = keywarden_notify::Notifier::new();
    // Desktop notifications in the app's language (the report is English).
    let lang = keywarden_core::i18n::reader_lang(&vault.settings().language);
    let labels = keywarden_notify::ActionLabels::of(lang);
    let mut run = HealthRun {
        checked: Vec::new(),
        skipped: Vec::new(),
    };
    for due in plan.due {
        if !vault.claim_check_lease(&due.lease, &holder)? {
            run.skipped.push(due.credential);
            continue;
        }
        let report = check_one(&mut vault, &due.id.to_string(), live.as_ref());
        vault.release_check_lease(&due.lease, &holder)?;
        let report = report?;
        let delivery = match (&report.notice, no_desktop) {
            (None, _) => String::new(),
            (Some(_), true) => "not requested".to_owned(),
            (Some(notice), false) => {
                match notifier.show_labelled(&keywarden_core::i18n::notice(notice.clone(), lang), &labels) {
                    keywarden_notify::Delivery::Native => "desktop".to_owned(),
                    keywarden_notify::Delivery::InAppOnly { reason } => format!("in-app only: {reason}"),
                }
            }
        };
        run.checked.push((report, delivery));
    }
    let next_due = vault.health_plan(live.as_ref())?.next_due;
    output::health_check(ctx, &run, next_due);
    // The notices these checks fired, to the alert channels.
    super::alert::deliver_and_say(&mut vault);
    Ok(())
}

fn check_one(vault: &mut Vault, id: &str, live: &dyn keywarden_core::Validator) -> keywarden_core::Result<CheckReport> {
    let pending = vault.begin_check(id, true)?;
    vault.finish_check(pending.run(live))
}
