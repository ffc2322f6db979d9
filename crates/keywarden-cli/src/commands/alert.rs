//! `kw alert …`: alert channels beyond this desktop, and their deliveries.

use keywarden_connectors::alerts::{self, AlertOptions};
use keywarden_core::alerts::{AlertEvent, EmailConfig, NewChannel};
use keywarden_core::{ExposeSecret, SecretString, Vault};

use crate::args::AlertCmd;
use crate::ctx::Ctx;
use crate::error::{CliError, CliResult};
use crate::input::read_secrets;
use crate::output;

pub(crate) fn run(ctx: &Ctx, cmd: AlertCmd) -> CliResult {
    match cmd {
        AlertCmd::AddWebhook { name, events } => {
            let events = parse_events(&events)?;
            let url = secret(&name, "webhook_url")?;
            let mut vault = ctx.open()?;
            let channel =
                vault.add_alert_channel(&name, &events, NewChannel::Webhook { url }, keywarden_core::test_mode())?;
            output::alert_channels(ctx, &[channel], &[]);
            Ok(())
        }
        AlertCmd::AddEmail {
            name,
            smtp,
            from,
            to,
            user,
            events,
        } => {
            let events = parse_events(&events)?;
            let (host, port) = host_port(&smtp)?;
            let password = user.as_ref().map(|_| secret(&name, "smtp_password")).transpose()?;
            let config = EmailConfig {
                host,
                port,
                from,
                to,
                username: user,
            };
            let mut vault = ctx.open()?;
            let channel = vault.add_alert_channel(
                &name,
                &events,
                NewChannel::Email { config, password },
                keywarden_core::test_mode(),
            )?;
            output::alert_channels(ctx, &[channel], &[]);
            Ok(())
        }
        AlertCmd::List => {
            let vault = ctx.open()?;
            output::alert_channels(ctx, &vault.alert_channels()?, &vault.alert_deliveries(20)?);
            Ok(())
        }
        AlertCmd::Remove { name } => {
            ctx.open()?.remove_alert_channel(&name)?;
            output::message(ctx, "removed", &format!("Alert channel '{name}' removed."));
            Ok(())
        }
        AlertCmd::Test { name } => {
            let mut vault = ctx.open()?;
            vault.queue_test_alert(&name)?;
            let run = deliver(&mut vault)?;
            if run.failed.is_empty() {
                output::message(ctx, "sent", &format!("A test alert went to '{name}'."));
                Ok(())
            } else {
                Err(CliError::new(
                    8,
                    format!(
                        "the test alert was not delivered: {}; it is tried again later (kw alert send)",
                        run.failed.join("; ")
                    ),
                ))
            }
        }
        AlertCmd::Send => {
            let mut vault = ctx.open()?;
            let run = deliver(&mut vault)?;
            output::alerts_delivered(ctx, &run);
            Ok(())
        }
    }
}

/// Delivers what is due: also after `kw health check` and `kw expiry check`.
pub(crate) fn deliver(vault: &mut Vault) -> CliResult<alerts::Delivered> {
    Ok(alerts::deliver_due(
        vault,
        &AlertOptions::for_mode(keywarden_core::test_mode()),
    )?)
}

/// Delivers what is due after a timer's run; what could not be delivered
/// is said on stderr (it waits in the outbox for the next run).
pub(crate) fn deliver_and_say(vault: &mut Vault) {
    match deliver(vault) {
        Ok(run) => {
            for f in &run.failed {
                eprintln!("kw: an alert was not delivered (tried again at the next run): {f}");
            }
        }
        Err(e) => eprintln!("kw: alerts could not be delivered: {}", e.message),
    }
}

fn parse_events(words: &[String]) -> CliResult<Vec<AlertEvent>> {
    if words.iter().any(|w| w.eq_ignore_ascii_case("all")) {
        return Ok(AlertEvent::ALL.to_vec());
    }
    Ok(words
        .iter()
        .flat_map(|w| w.split(','))
        .map(AlertEvent::parse)
        .collect::<keywarden_core::Result<Vec<_>>>()?)
}

fn secret(name: &str, field: &str) -> CliResult<SecretString> {
    let fields = read_secrets(name, &[field.to_owned()])?;
    let value = fields
        .get(field)
        .map(|s| s.expose_secret().to_owned())
        .unwrap_or_default();
    Ok(SecretString::from(value))
}

fn host_port(text: &str) -> CliResult<(String, u16)> {
    match text.rsplit_once(':') {
        Some((host, port)) => {
            let port = port
                .parse()
                .map_err(|_| CliError::new(2, format!("'{port}' is not a port; write --smtp smtp.example.com:587")))?;
            Ok((host.to_owned(), port))
        }
        None => Ok((text.to_owned(), 587)),
    }
}
