//! `kw support-bundle`: what support may see of this vault, no secret in it.

use std::path::Path;

use crate::ctx::Ctx;
use crate::error::{CliError, CliResult};
use crate::parse::write_out;

pub(crate) fn bundle(ctx: &Ctx, output: Option<&Path>) -> CliResult {
    let mut vault = ctx.open()?;
    let bundle = vault.support_bundle()?;
    let text = serde_json::to_string_pretty(&bundle).map_err(|e| CliError::new(1, e.to_string()))?;
    write_out(output, &text)?;
    if output.is_some() && !ctx.json {
        eprintln!(
            "Wrote a support bundle: {} integrations, {} credentials, {} audit events. {}",
            bundle.integrations.len(),
            bundle.credentials.len(),
            bundle.recent_audit.len(),
            bundle.note
        );
    }
    Ok(())
}
