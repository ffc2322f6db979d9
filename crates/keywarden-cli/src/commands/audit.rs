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
        AuditCmd::Verify { stream: Some(file) } => verify_stream(ctx, &file),
        AuditCmd::Stream { file, syslog, off } => stream(ctx, file, syslog, off),
        AuditCmd::Verify { stream: None } => {
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

fn verify_stream(ctx: &Ctx, file: &std::path::Path) -> CliResult {
    // The vault first (a passphrase prompt may take a while), then the
    // file and the vault's newest event together, under the file's lock.
    let vault = ctx.open()?;
    let report = vault.verify_audit_stream_file(file).map_err(|e| {
        CliError::new(
            2,
            format!("{e}; give the stream file the vault writes (kw audit stream --file)"),
        )
    })?;
    output::stream_report(ctx, &report);
    if report.ok {
        Ok(())
    } else {
        Err(CliError::new(
            9,
            format!(
                "audit stream verification FAILED: {}",
                report.problem.unwrap_or_default()
            ),
        ))
    }
}

fn stream(ctx: &Ctx, file: Option<std::path::PathBuf>, syslog: Option<std::path::PathBuf>, off: bool) -> CliResult {
    if !off && file.is_none() && syslog.is_none() {
        return Err(CliError::new(
            2,
            "say where: --file /var/log/keywarden/audit.jsonl, --syslog [SOCKET], or --off".to_owned(),
        ));
    }
    let mut vault = ctx.open()?;
    let mut settings = vault.settings().clone();
    let path = |p: Option<std::path::PathBuf>| p.map(|p| p.display().to_string()).unwrap_or_default();
    settings.audit_stream_file = path(file);
    settings.audit_stream_syslog = path(syslog);
    let saved = vault.save_settings(settings)?;
    let text = match (saved.audit_stream_file.as_str(), saved.audit_stream_syslog.as_str()) {
        ("", "") => "Audit streaming is off.".to_owned(),
        (f, "") => format!("Audit events are appended to {f} as they are committed."),
        ("", s) => format!("Audit events are sent to syslog ({s}) as they are committed."),
        (f, s) => format!("Audit events are appended to {f} and sent to syslog ({s}) as they are committed."),
    };
    output::message(ctx, "streaming", &text);
    Ok(())
}
