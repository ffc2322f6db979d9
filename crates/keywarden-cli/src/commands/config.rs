//! `kw export` and `kw import`: the configuration without secrets.

use std::path::{Path, PathBuf};

use crate::ctx::Ctx;
use crate::error::{CliError, CliResult};
use crate::output;
use crate::parse::write_out;

pub(crate) fn export(ctx: &Ctx, output: Option<&Path>) -> CliResult {
    let mut vault = ctx.open()?;
    let export = vault.export_config()?;
    let text = serde_json::to_string_pretty(&export).map_err(|e| CliError::new(1, e.to_string()))?;
    write_out(output, &text)?;
    if output.is_some() && !ctx.json {
        eprintln!(
            "Exported {} integrations and {} credentials. {}",
            export.integrations.len(),
            export.credentials.len(),
            export.note
        );
    }
    Ok(())
}

pub(crate) fn import(ctx: &Ctx, file: PathBuf) -> CliResult {
    let bytes = std::fs::read(&file).map_err(|e| CliError::io(&format!("reading {}", file.display()), e))?;
    let export = keywarden_core::export::ConfigExport::parse(&bytes)
        .map_err(|e| CliError::new(5, format!("{}: {e}", file.display())))?;
    let mut vault = ctx.open()?;
    let report = vault.import_config(&export)?;
    output::import(ctx, &report);
    Ok(())
}
