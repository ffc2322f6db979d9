//! `kw expiry …`: the expiry notices, for a timer or a look.

use crate::args::ExpiryCmd;
use crate::ctx::Ctx;
use crate::error::CliResult;
use crate::output;

pub(crate) fn run(ctx: &Ctx, cmd: ExpiryCmd) -> CliResult {
    match cmd {
        ExpiryCmd::Check { no_desktop } => check(ctx, no_desktop),
        ExpiryCmd::Notices { all } => {
            let vault = ctx.open()?;
            output::notices(&vault.notices(all)?, ctx.json);
            Ok(())
        }
    }
}

fn check(ctx: &Ctx, no_desktop: bool) -> CliResult {
    let mut vault = ctx.open()?;
    let mut run = vault.run_notices()?;
    // Credentials past their rotation policy's age: said once per version
    // (a failure here must not hide the expiry notices that fired).
    match vault.run_rotation_notices() {
        Ok(rotation) => run.fired.extend(rotation.fired),
        Err(e) => eprintln!("kw: warning: rotation-due notices could not be checked: {e}"),
    }
    let notifier = keywarden_notify::Notifier::new();
    // The desktop notification in the language the app speaks; the report
    // below stays in English, as all of kw's output.
    let lang = keywarden_core::i18n::reader_lang(&vault.settings().language);
    let mut shown = Vec::new();
    for notice in &run.fired {
        let delivery = if no_desktop {
            "not requested".to_owned()
        } else {
            let said = keywarden_core::i18n::notice(notice.clone(), lang);
            match notifier.show_labelled(&said, &keywarden_notify::ActionLabels::of(lang)) {
                keywarden_notify::Delivery::Native => "desktop".to_owned(),
                keywarden_notify::Delivery::InAppOnly { reason } => format!("in-app only: {reason}"),
            }
        };
        shown.push((notice, delivery));
    }
    output::expiry_check(&shown, run.next_due, ctx.json);
    super::alert::deliver_and_say(&mut vault);
    Ok(())
}
