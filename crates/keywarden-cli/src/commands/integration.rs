//! `kw integration …`: the systems credentials belong to.

use keywarden_core::{IntegrationPatch, NewIntegration};

use crate::args::{IntegrationCmd, IntegrationFields};
use crate::ctx::Ctx;
use crate::error::{CliError, CliResult};
use crate::output;
use crate::parse::{parse_env_names, parse_max_age};

fn integration_patch(f: IntegrationFields, rename: Option<String>) -> CliResult<IntegrationPatch> {
    let max_age_days = parse_max_age(f.max_age_days.as_deref())?;
    let env_names = (!f.env.is_empty()).then(|| parse_env_names(&f.env)).transpose()?;
    Ok(IntegrationPatch {
        name: rename,
        provider: f.provider,
        environment: f.environment,
        tenant_id: f.tenant_id,
        base_url: f.base_url,
        scopes: (!f.scopes.is_empty()).then_some(f.scopes),
        sync_schedule: f.schedule,
        owner: f.owner,
        tags: (!f.tags.is_empty()).then_some(f.tags),
        notes: f.notes,
        max_age_days,
        env_names,
    })
}

pub(crate) fn run(ctx: &Ctx, cmd: IntegrationCmd) -> CliResult {
    match cmd {
        IntegrationCmd::Add { name, fields } => {
            let provider = fields.provider.clone().ok_or_else(|| {
                CliError::new(
                    5,
                    "--provider is required (e.g. pleo, xledger, business_central, generic)",
                )
            })?;
            let mut vault = ctx.open()?;
            let i = vault.add_integration(NewIntegration {
                name,
                provider,
                environment: fields.environment.unwrap_or_default(),
                tenant_id: fields.tenant_id,
                base_url: fields.base_url,
                scopes: fields.scopes,
                sync_schedule: fields.schedule,
                owner: fields.owner,
                tags: fields.tags,
                notes: fields.notes,
                max_age_days: parse_max_age(fields.max_age_days.as_deref())?.flatten(),
                env_names: parse_env_names(&fields.env)?,
            })?;
            output::integration(ctx, &i, &[]);
            Ok(())
        }
        IntegrationCmd::List => {
            let vault = ctx.open()?;
            output::integrations(ctx, &vault.list_integrations()?);
            Ok(())
        }
        IntegrationCmd::Show { name } => {
            let vault = ctx.open()?;
            let i = vault.get_integration(&name)?;
            let creds = vault.integration_credentials(&name)?;
            output::integration(ctx, &i, &creds);
            Ok(())
        }
        IntegrationCmd::Update { name, rename, fields } => {
            let mut vault = ctx.open()?;
            let i = vault.update_integration(&name, integration_patch(fields, rename)?)?;
            output::integration(ctx, &i, &[]);
            Ok(())
        }
    }
}
