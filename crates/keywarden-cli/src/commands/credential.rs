//! `kw credential …`: add, list, show, change, rotate, check, disable,
//! delete and import credentials.

use std::path::Path;

use keywarden_core::migrate::{self, ImportDefaults, SourceFormat};
use keywarden_core::validate::secret_field_names;
use keywarden_core::{CheckOutcome, CredentialFilter, CredentialKind, CredentialPatch, NewCredential, timefmt};

use crate::args::{CredentialAdd, CredentialCmd, CredentialList, CredentialUpdate, GrantArg, ImportFormatArg};
use crate::ctx::{Ctx, validator};
use crate::error::{CliError, CliResult};
use crate::parse::{kind_of, parse_date, parse_fields, parse_max_age, refuse_secret_flag, secret_names};
use crate::{input, output};

pub(crate) fn run(ctx: &Ctx, cmd: CredentialCmd) -> CliResult {
    match cmd {
        CredentialCmd::Add(args) => add(ctx, args),
        CredentialCmd::List(args) => list(ctx, args),
        CredentialCmd::Import {
            from,
            file,
            provider,
            environment,
            tags,
            dry_run,
        } => import_credentials(
            ctx,
            from,
            &file,
            ImportDefaults {
                provider,
                environment,
                tags,
            },
            dry_run,
        ),
        CredentialCmd::Show { name } => show(ctx, &name),
        CredentialCmd::Update(args) => update(ctx, args),
        CredentialCmd::Rotate {
            name,
            expires,
            offline,
            refused,
        } => {
            refuse_secret_flag(&refused)?;
            rotate(ctx, &name, expires.as_deref(), offline)
        }
        CredentialCmd::Connect {
            name,
            timeout,
            no_browser,
        } => super::connect::connect(ctx, &name, timeout, !no_browser),
        CredentialCmd::OldRevoked { name } => {
            let mut vault = ctx.open()?;
            let c = vault.dismiss_reminder(&name, keywarden_core::ReminderKind::RevokeOld)?;
            output::credential(ctx, &c);
            Ok(())
        }
        CredentialCmd::Test { name, offline } => test(ctx, &name, offline),
        CredentialCmd::Disable { name, reason } => disable(ctx, &name, &reason),
        CredentialCmd::Delete { name, force } => delete(ctx, &name, force),
    }
}

fn add(ctx: &Ctx, args: CredentialAdd) -> CliResult {
    let CredentialAdd {
        name,
        kind,
        integration,
        provider,
        environment,
        username,
        client_id,
        token_url,
        grant,
        fields,
        secret_fields,
        tags,
        notes,
        expires,
        max_age_days,
        offline,
        refused,
    } = args;
    refuse_secret_flag(&refused)?;
    let kind = kind_of(kind);
    let mut config = parse_fields(&fields)?;
    if let Some(u) = username {
        config.insert("username".into(), u);
    }
    if let Some(c) = client_id {
        config.insert("client_id".into(), c);
    }
    if let Some(t) = token_url {
        config.insert("token_url".into(), t);
    }
    if kind == CredentialKind::OAuth2 {
        let g = match grant {
            GrantArg::ClientCredentials => "client_credentials",
            GrantArg::RefreshToken => "refresh_token",
        };
        config.insert("grant_type".into(), g.into());
    }
    let names = secret_names(kind, &config, secret_fields)?;
    let expires_at = parse_date("expires", expires.as_deref())?;
    // Open first: a missing vault or keychain is reported before
    // anyone types a secret.
    let mut vault = ctx.open()?;
    let secrets = input::read_secrets(&name, &names)?;
    let new = NewCredential {
        name,
        kind: Some(kind),
        integration,
        provider,
        environment,
        config,
        secrets,
        tags,
        notes,
        expires_at,
        max_age_days,
    };
    // "Validate and Save" by default: checked live and saved only if
    // the provider accepts it; --offline saves it unchecked, said so
    // in the audit log and on its check list.
    let c = if offline {
        vault.add_credential(new)?
    } else {
        vault.add_credential_checked(new, validator(false).as_ref())?
    };
    output::credential(ctx, &c);
    Ok(())
}

fn list(ctx: &Ctx, args: CredentialList) -> CliResult {
    let CredentialList {
        kind,
        status,
        provider,
        environment,
        tag,
        search,
        limit,
    } = args;
    let filter = CredentialFilter {
        kind: kind.map(kind_of),
        status: status.as_deref().map(str::parse).transpose()?,
        provider,
        environment,
        tag,
        search,
        limit,
    };
    let vault = ctx.open()?;
    output::credentials(ctx, &vault.list_credentials(&filter)?);
    Ok(())
}

fn show(ctx: &Ctx, name: &str) -> CliResult {
    let vault = ctx.open()?;
    output::credential(ctx, &vault.get_credential(name)?);
    if !ctx.json {
        output::consumers(&vault.credential_consumers(name)?);
    }
    Ok(())
}

fn update(ctx: &Ctx, args: CredentialUpdate) -> CliResult {
    let CredentialUpdate {
        name,
        rename,
        integration,
        detach,
        environment,
        tags,
        notes,
        expires,
        max_age_days,
        fields,
        if_revision,
        refused,
    } = args;
    refuse_secret_flag(&refused)?;
    let mut vault = ctx.open()?;
    let mut expected_revision = if_revision;
    let config = if fields.is_empty() {
        None
    } else {
        // Read, merge, write: the write must land on what was read.
        let current = vault.get_credential(&name)?;
        expected_revision = expected_revision.or(Some(current.revision));
        let mut cfg = current.config;
        cfg.extend(parse_fields(&fields)?);
        Some(cfg)
    };
    let expires_at = match expires.as_deref() {
        None => None,
        Some("none") => Some(None),
        Some(s) => Some(Some(timefmt::parse_user("expires", s)?)),
    };
    let patch = CredentialPatch {
        name: rename,
        integration: if detach { Some(None) } else { integration.map(Some) },
        environment,
        config,
        tags: (!tags.is_empty()).then_some(tags),
        notes,
        expires_at,
        max_age_days: parse_max_age(max_age_days.as_deref())?,
        expected_revision,
    };
    output::credential(ctx, &vault.update_credential(&name, patch)?);
    Ok(())
}

fn rotate(ctx: &Ctx, name: &str, expires: Option<&str>, offline: bool) -> CliResult {
    let expires_at = parse_date("expires", expires)?;
    let mut vault = ctx.open()?;
    let current = vault.get_credential(name)?;
    let names: Vec<String> = if current.summary.kind == CredentialKind::Custom {
        current.secret_fields.clone()
    } else {
        secret_field_names(current.summary.kind, &current.config)
            .into_iter()
            .map(str::to_owned)
            .collect()
    };
    let secrets = input::read_secrets(&current.summary.name, &names)?;
    let c = vault.replace_secret(name, secrets, expires_at, validator(offline).as_ref())?;
    output::credential(ctx, &c);
    Ok(())
}

fn test(ctx: &Ctx, name: &str, offline: bool) -> CliResult {
    let mut vault = ctx.open()?;
    let report = vault.check_credential(name, validator(offline).as_ref())?;
    output::check(ctx, &report);
    match &report.check.outcome {
        CheckOutcome::Valid { .. } => Ok(()),
        CheckOutcome::Failed { failure } => Err(CliError::new(
            8,
            format!("the check of '{}' failed: {failure}", report.credential),
        )),
    }
}

fn disable(ctx: &Ctx, name: &str, reason: &str) -> CliResult {
    let mut vault = ctx.open()?;
    let consumers = vault.credential_consumers(name)?;
    output::credential(ctx, &vault.disable_credential(name, reason)?);
    if !ctx.json && !consumers.is_empty() {
        let names: Vec<String> = consumers.iter().map(|c| c.name.clone()).collect();
        eprintln!(
            "These workflows used it in the last 90 days and are refused from now: {}",
            names.join(", ")
        );
    }
    Ok(())
}

fn delete(ctx: &Ctx, name: &str, force: bool) -> CliResult {
    let mut vault = ctx.open()?;
    let c = vault.get_credential(name)?;
    let workflows: Vec<String> = vault.credential_consumers(name)?.into_iter().map(|w| w.name).collect();
    vault.delete_credential(name, force)?;
    output::message(
        ctx,
        "deleted",
        &format!(
            "Deleted credential '{}' and all its versions.{}",
            c.summary.name,
            if workflows.is_empty() {
                String::new()
            } else {
                format!(
                    " Workflows that used it in the last 90 days will fail: {}.",
                    workflows.join(", ")
                )
            }
        ),
    );
    Ok(())
}

/// `kw credential import`: the whole file is read (into memory wiped
/// afterwards), parsed and checked before the vault is written, all or
/// nothing.
fn import_credentials(
    ctx: &Ctx,
    from: ImportFormatArg,
    file: &Path,
    defaults: ImportDefaults,
    dry_run: bool,
) -> CliResult {
    let format = match from {
        ImportFormatArg::Csv => SourceFormat::Csv,
        ImportFormatArg::KeepassXml => SourceFormat::KeepassXml,
    };
    let from_stdin = file.as_os_str() == "-";
    let label = if from_stdin {
        "stdin".to_owned()
    } else {
        file.display().to_string()
    };
    let bytes = read_import(file, from_stdin)?;
    let plan = migrate::parse(format, &bytes, &defaults).map_err(|e| CliError::new(5, format!("{label}: {e}")))?;
    drop(bytes);
    let mut vault = ctx.open()?;
    let count = plan.credentials.len();
    let (skipped, renamed, without_attachments) = (plan.skipped, plan.renamed, plan.without_attachments);
    if dry_run {
        vault.check_import(&plan.credentials)?;
    } else {
        vault.import_credentials(plan.credentials, format.as_str())?;
    }
    output::migration(
        ctx,
        &output::MigrationReport {
            format: format.as_str(),
            source: &label,
            dry_run,
            imported: if dry_run { 0 } else { count },
            would_import: if dry_run { count } else { 0 },
            skipped: &skipped,
            renamed: &renamed,
            without_attachments: &without_attachments,
        },
    );
    // A regular file (not a pipe or /dev/fd) holds the plaintext on disk.
    if !dry_run && !from_stdin && std::fs::metadata(file).is_ok_and(|m| m.is_file()) {
        eprintln!(
            "kw: {label} still holds these secrets in plain text. Destroy it now (on Linux `shred -u` on the file; an SSD or a copy-on-write disk may keep old blocks, so rely on full-disk encryption there) and every copy of it: downloads, the trash, backups, synced folders. Next time, pipe the export in (`… | kw credential import --from {} -`) so it never touches the disk.",
            format.as_str()
        );
    }
    Ok(())
}

fn read_import(file: &Path, from_stdin: bool) -> CliResult<migrate::ImportBytes> {
    let read = if from_stdin {
        migrate::read_export(std::io::stdin().lock())
    } else {
        std::fs::File::open(file).and_then(migrate::read_export)
    };
    read.map_err(|e| {
        CliError::io(
            &format!(
                "reading {}",
                if from_stdin {
                    "stdin".into()
                } else {
                    file.display().to_string()
                }
            ),
            e,
        )
    })
}
