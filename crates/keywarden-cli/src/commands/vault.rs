//! `kw init`, `kw recover`, `kw check` and `kw rotate-data-key`: the
//! vault as a whole.

use keywarden_core::{Actor, Error, KeySource, Vault};

use crate::ctx::Ctx;
use crate::error::CliResult;
use crate::{input, output};

pub(crate) fn init(ctx: &Ctx, passphrase: bool) -> CliResult {
    let source = if passphrase {
        KeySource::Passphrase(input::read_passphrase(ctx.passphrase_file.as_deref(), true)?)
    } else {
        KeySource::Keychain
    };
    let (vault, code) = Vault::create(&ctx.dir, source, Actor::current(ctx.profile.clone()))?;
    output::init(ctx, &vault, &code.display());
    Ok(())
}

/// `kw recover --accept-older`: an older or other copy of the database,
/// accepted as it is; the step is audited.
pub(crate) fn accept_older(ctx: &Ctx) -> CliResult {
    let header = Vault::header(&ctx.dir)?;
    let source = if header.is_passphrase() {
        KeySource::Passphrase(input::read_passphrase(ctx.passphrase_file.as_deref(), false)?)
    } else {
        KeySource::Keychain
    };
    let (_vault, older) = Vault::open_accepting_older(&ctx.dir, &source, Actor::current(ctx.profile.clone()))?;
    let text = match older {
        Some(what) => format!("Accepted: {what}. The step is in the audit log."),
        None => "The database is not older than its last recorded change: nothing to accept.".to_owned(),
    };
    output::message(ctx, "accepted", &text);
    Ok(())
}

pub(crate) fn recover(ctx: &Ctx, passphrase: bool) -> CliResult {
    let header = Vault::header(&ctx.dir)?;
    let code = input::read_recovery_code()?;
    let source = if passphrase || (header.is_passphrase() && ctx.passphrase_file.is_some()) {
        KeySource::Passphrase(input::read_passphrase(ctx.passphrase_file.as_deref(), true)?)
    } else {
        KeySource::Keychain
    };
    let vault = Vault::recover(&ctx.dir, &code, source, Actor::current(ctx.profile.clone()))?;
    output::message(
        ctx,
        "recovered",
        &format!("Access to vault {} restored.", vault.vault_id()),
    );
    Ok(())
}

pub(crate) fn backup(
    ctx: &Ctx,
    output: Option<&std::path::Path>,
    folder: Option<&std::path::Path>,
    keep: u32,
) -> CliResult {
    let mut vault = ctx.open()?;
    let report = match (output, folder) {
        (_, Some(folder)) => vault.backup_into(folder, keep)?,
        (Some(file), None) => vault.backup_to(file)?,
        (None, None) => {
            return Err(crate::error::CliError::new(
                2,
                "say where: --output FILE or --folder DIR".to_owned(),
            ));
        }
    };
    output::backup(ctx, &report);
    Ok(())
}

pub(crate) fn restore(ctx: &Ctx, file: &std::path::Path, passphrase: bool, replace: bool) -> CliResult {
    if Vault::header(&ctx.dir).is_ok() && !replace {
        return Err(crate::error::CliError::new(
            4,
            format!(
                "{} already holds a vault; to replace it with the backup, close the app, stop kw serve and run again \
                 with --replace (its files are kept in a replaced-… folder there)",
                ctx.dir.display()
            ),
        ));
    }
    let code = input::read_recovery_code()?;
    let source = if passphrase {
        KeySource::Passphrase(input::read_passphrase(ctx.passphrase_file.as_deref(), true)?)
    } else {
        KeySource::Keychain
    };
    let (vault, report) = Vault::restore(file, &ctx.dir, &code, source, Actor::current(ctx.profile.clone()))?;
    output::message(
        ctx,
        "restored",
        &format!(
            "Vault {} restored into {} from the backup taken {} ({} credentials). It is protected by a new key here.",
            vault.vault_id(),
            ctx.dir.display(),
            keywarden_core::timefmt::to_db(report.taken_at),
            report.credentials
        ),
    );
    Ok(())
}

pub(crate) fn check(ctx: &Ctx) -> CliResult {
    let vault = ctx.open()?;
    let report = vault.check_integrity()?;
    output::integrity(ctx, &report);
    if report.ok {
        Ok(())
    } else {
        Err(Error::DatabaseDamaged {
            detail: report.problems.join("; "),
        }
        .into())
    }
}

pub(crate) fn rotate_data_key(ctx: &Ctx) -> CliResult {
    let mut vault = ctx.open()?;
    let r = vault.rotate_data_key()?;
    output::message(
        ctx,
        "rotated",
        &format!(
            "{} sealed values (secret fields, partner keys awaiting delivery) re-sealed under data key {}; the old key is destroyed.",
            r.resealed, r.key_id
        ),
    );
    Ok(())
}
