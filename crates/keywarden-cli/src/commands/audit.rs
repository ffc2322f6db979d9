//! `kw audit …`: list, verify and export the audit log.

use keywarden_core::audit_export;

use crate::args::{AuditCmd, AuditFormat};
use crate::ctx::Ctx;
use crate::error::{CliError, CliResult};
use crate::output;
use crate::parse::{audit_filter, write_out};

pub(crate) fn run(ctx: &Ctx, cmd: AuditCmd) -> CliResult {
    match cmd {
        AuditCmd::List { filter } => {
            let vault = ctx.open()?;
            output::audit_events(ctx, &vault.audit_events(&audit_filter(filter)?)?);
            Ok(())
        }
        AuditCmd::Verify => {
            let vault = ctx.open()?;
            let report = vault.verify_audit()?;
            output::audit_report(ctx, &report);
            if report.ok {
                Ok(())
            } else {
                Err(CliError::new(
                    9,
                    format!(
                        "audit log verification FAILED at event {}: {}",
                        report.first_bad_seq.unwrap_or(0),
                        report.problem.unwrap_or_default()
                    ),
                ))
            }
        }
        AuditCmd::Export { format, output, filter } => {
            let mut vault = ctx.open()?;
            let events = vault.export_audit(&audit_filter(filter)?)?;
            let text = match format {
                AuditFormat::Csv => audit_export::to_csv(&events),
                AuditFormat::Json => audit_export::to_json(&events),
            };
            write_out(output.as_deref(), text.trim_end())
        }
    }
}
