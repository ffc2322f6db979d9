//! Sending alerts (see `keywarden_core::alerts`): a webhook POST of Slack-
//! and Teams-compatible JSON (`{"text": …}`, which both accept), or an
//! email over SMTP with STARTTLS required (lettre; no credentials or mail
//! cross an unencrypted connection). What fails is said without the
//! webhook's address, which carries its token.

use std::time::Duration;

use keywarden_core::alerts::{ChannelKind, EmailConfig, PendingAlert, check_webhook_url};
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};
use secrecy::ExposeSecret;

/// How alerts leave this machine.
#[derive(Debug, Clone)]
pub struct AlertOptions {
    /// Test mode: plain http to a loopback webhook, and the SMTP server's
    /// certificate checked against `smtp_root_pem` as well.
    pub allow_loopback_http: bool,
    pub smtp_root_pem: Option<Vec<u8>>,
    pub timeout: Duration,
}

impl AlertOptions {
    /// The options of a program in test mode or not: in test mode (debug
    /// builds only) the SMTP sink's CA comes from `KEYWARDEN_TEST_SMTP_CA`.
    pub fn for_mode(test_mode: bool) -> AlertOptions {
        let smtp_root_pem = test_mode
            .then(|| std::env::var_os("KEYWARDEN_TEST_SMTP_CA"))
            .flatten()
            .and_then(|path| std::fs::read(path).ok());
        AlertOptions {
            allow_loopback_http: test_mode,
            smtp_root_pem,
            timeout: Duration::from_secs(10),
        }
    }
}

/// Sends one alert; the error says what failed, never the secret.
pub fn send(alert: &PendingAlert, options: &AlertOptions) -> Result<(), String> {
    match (alert.kind, &alert.email) {
        (ChannelKind::Webhook, _) => webhook(alert, options),
        (ChannelKind::Email, Some(config)) => email(alert, config, options),
        (ChannelKind::Email, None) => Err("the email channel has no server configured".into()),
    }
}

/// The alert's text: its subject, then what to do.
pub fn text(alert: &PendingAlert) -> String {
    format!("Keywarden: {}\n{}", alert.subject, alert.body)
}

fn webhook(alert: &PendingAlert, options: &AlertOptions) -> Result<(), String> {
    let url = alert.secret.expose_secret();
    let host = check_webhook_url(url, options.allow_loopback_http).map_err(|e| e.to_string())?;
    let loopback = matches!(host.as_str(), "127.0.0.1" | "localhost" | "[::1]");
    if options.allow_loopback_http && !loopback {
        return Err(format!(
            "test mode reaches only loopback addresses; {host} was not contacted"
        ));
    }
    let client = reqwest::blocking::Client::builder()
        .timeout(options.timeout)
        .connect_timeout(options.timeout)
        // The token is in the address: never carried to another one.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Keywarden/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("the HTTP client could not start: {}", e.without_url()))?;
    let answer = client
        .post(url)
        .header("X-Keywarden-Alert", alert.delivery_id.as_str())
        .json(&serde_json::json!({ "text": text(alert) }))
        .send()
        .map_err(|e| format!("the webhook at {host} could not be reached: {}", e.without_url()))?;
    let status = answer.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("the webhook at {host} answered {status}"))
    }
}

fn email(alert: &PendingAlert, config: &EmailConfig, options: &AlertOptions) -> Result<(), String> {
    let mailbox = |a: &str| {
        a.parse::<Mailbox>()
            .map_err(|e| format!("'{a}' is not an email address ({e})"))
    };
    let mut message = Message::builder()
        .from(mailbox(&config.from)?)
        .subject(format!("Keywarden: {}", alert.subject))
        // The same on a repeat: mail systems drop a duplicate by it.
        .message_id(Some(format!("<alert.{}@keywarden.invalid>", alert.delivery_id)))
        .header(ContentType::TEXT_PLAIN);
    for to in &config.to {
        message = message.to(mailbox(to)?);
    }
    let message = message
        .body(format!("{}\n\n— Keywarden", alert.body))
        .map_err(|e| format!("the email could not be written: {e}"))?;
    let mut tls = TlsParameters::builder(config.host.clone());
    if let Some(pem) = &options.smtp_root_pem {
        let cert = Certificate::from_pem(pem).map_err(|e| format!("the test CA is not a certificate: {e}"))?;
        tls = tls.add_root_certificate(cert);
    }
    let tls = tls
        .build()
        .map_err(|e| format!("TLS to {} could not be set up: {e}", config.host))?;
    let mut transport = SmtpTransport::builder_dangerous(config.host.as_str())
        .port(config.port)
        // STARTTLS or nothing: a server that does not offer it gets no
        // password and no mail.
        .tls(Tls::Required(tls))
        .timeout(Some(options.timeout));
    if let Some(user) = &config.username {
        transport = transport.credentials(Credentials::new(user.clone(), alert.secret.expose_secret().to_owned()));
    }
    transport
        .build()
        .send(&message)
        .map(|_| ())
        .map_err(|e| format!("{}:{} did not take the email: {e}", config.host, config.port))
}

/// What one delivery run did.
#[derive(Debug, Default)]
pub struct Delivered {
    pub sent: usize,
    /// "channel: what failed", for each failed attempt (tried again later).
    pub failed: Vec<String>,
}

/// Sends every alert due now and records each outcome (for `kw`, which
/// holds its vault for the run; the app lets go of it while sending).
pub fn deliver_due(vault: &mut keywarden_core::Vault, options: &AlertOptions) -> keywarden_core::Result<Delivered> {
    let mut out = Delivered::default();
    for alert in vault.due_alerts()? {
        let result = send(&alert, options);
        match &result {
            Ok(()) => out.sent += 1,
            Err(e) => out.failed.push(format!("{}: {e}", alert.channel)),
        }
        vault.record_alert(&alert, result)?;
    }
    Ok(out)
}
