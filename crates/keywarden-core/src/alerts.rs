//! Alerts that reach the team beyond this desktop: a webhook (Slack- and
//! Teams-compatible JSON) or email over SMTP with STARTTLS, each carrying
//! the events it was set up for. The vault keeps the channels (their
//! secret sealed like a credential's) and an outbox: every notice is
//! queued, in the transaction that fires it, for each channel carrying its
//! category (migration 015's trigger), and delivered once; a receiver that
//! is down gets it when it is back (retried with backoff for 3 days). The
//! sending itself (HTTP, SMTP) is in `keywarden-connectors::alerts`; both
//! the app and `kw` deliver.
//!
//! An alert says what a notice says: the credential's name, its
//! integration, what happened and what to do. Never a secret, never its
//! last 4 (a notice carries neither).

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::error::{Error, Result};
use secrecy::SecretString;

/// What a channel can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum AlertEvent {
    Expiring,
    Expired,
    ReconnectionRequired,
    /// Compromised or disabled.
    Disabled,
    PartnerKeyAnomaly,
    RotationDue,
    PolicyBroken,
}

impl AlertEvent {
    pub const ALL: [AlertEvent; 7] = [
        AlertEvent::Expiring,
        AlertEvent::Expired,
        AlertEvent::ReconnectionRequired,
        AlertEvent::Disabled,
        AlertEvent::PartnerKeyAnomaly,
        AlertEvent::RotationDue,
        AlertEvent::PolicyBroken,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertEvent::Expiring => "expiring",
            AlertEvent::Expired => "expired",
            AlertEvent::ReconnectionRequired => "reconnection_required",
            AlertEvent::Disabled => "disabled",
            AlertEvent::PartnerKeyAnomaly => "partner_key_anomaly",
            AlertEvent::RotationDue => "rotation_due",
            AlertEvent::PolicyBroken => "policy_broken",
        }
    }

    pub fn parse(s: &str) -> Result<AlertEvent> {
        let wanted = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        AlertEvent::ALL
            .into_iter()
            .find(|e| e.as_str() == wanted || (wanted == "compromised" && *e == AlertEvent::Disabled))
            .ok_or_else(|| {
                Error::invalid(
                    "alert event",
                    format!(
                        "'{}' is not an event; use {}",
                        s.trim(),
                        AlertEvent::ALL.map(AlertEvent::as_str).join(", ")
                    ),
                )
            })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Webhook,
    Email,
}

/// A channel as shown: never its secret.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AlertChannel {
    pub id: String,
    pub name: String,
    pub kind: ChannelKind,
    pub events: Vec<AlertEvent>,
    /// The webhook's host, or the email's recipients.
    pub target: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub created_at: OffsetDateTime,
}

/// An email channel's server and addresses (the password is sealed apart).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EmailConfig {
    /// The SMTP server; STARTTLS is required.
    pub host: String,
    /// 587 unless said.
    pub port: u16,
    pub from: String,
    pub to: Vec<String>,
    /// Signs in as this user with the sealed password (none: no sign-in).
    pub username: Option<String>,
}

/// A channel to add.
pub enum NewChannel {
    /// The URL carries the receiver's token: it is a secret.
    Webhook { url: SecretString },
    Email {
        config: EmailConfig,
        password: Option<SecretString>,
    },
}

/// An alert due for delivery, with what its channel needs to send it.
pub struct PendingAlert {
    pub outbox_id: i64,
    /// The same on every attempt at this delivery and unique across vaults
    /// (`<outbox id>.<vault id>`): a webhook gets it as `X-Keywarden-Alert`,
    /// an email in its Message-ID, so a receiver can drop the repeat a
    /// program killed between sending and recording would send.
    pub delivery_id: String,
    pub channel: String,
    pub kind: ChannelKind,
    pub category: String,
    pub subject: String,
    pub body: String,
    /// The webhook URL, or the SMTP password ("" for none).
    pub secret: SecretString,
    pub email: Option<EmailConfig>,
    pub attempts: u32,
}

/// One outbox row, as `kw alert list` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AlertDelivery {
    pub channel: String,
    pub category: String,
    pub subject: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub created_at: OffsetDateTime,
    pub attempts: u32,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub sent_at: Option<OffsetDateTime>,
    /// When it is tried again (`None`: sent, or given up).
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub next_at: Option<OffsetDateTime>,
    pub last_error: Option<String>,
}

/// How long an undelivered alert is retried before it is given up.
pub const GIVE_UP_AFTER: Duration = Duration::days(3);

/// The wait before attempt `attempts + 1`: 30 s, 1, 2, 5, 15, 30 minutes,
/// then hourly.
pub fn backoff(attempts: u32) -> Duration {
    match attempts {
        0 | 1 => Duration::seconds(30),
        2 => Duration::minutes(1),
        3 => Duration::minutes(2),
        4 => Duration::minutes(5),
        5 => Duration::minutes(15),
        6 => Duration::minutes(30),
        _ => Duration::hours(1),
    }
}

/// A channel's name: 1–64 characters, no control characters.
pub fn check_name(name: &str) -> Result<()> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 64 || n.chars().any(char::is_control) {
        return Err(Error::invalid(
            "channel name",
            "give a name of 1 to 64 characters, e.g. 'Finance Slack'",
        ));
    }
    Ok(())
}

/// The webhook URL: https, a host, no user or password in it; plain http
/// only to loopback in test mode. Returns the host, the part that may be
/// shown.
pub fn check_webhook_url(url: &str, allow_loopback_http: bool) -> Result<String> {
    let bad = |why: &str| Error::invalid("webhook URL", why.to_owned());
    let (scheme, rest) = url
        .trim()
        .split_once("://")
        .ok_or_else(|| bad("give the whole https:// address the receiver gave you"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(bad("a webhook address may not carry a user or password"));
    }
    let host = authority
        .rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(authority, |(h, _)| h);
    if host.is_empty() || url.trim().chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("the address has no host, or has spaces in it"));
    }
    let loopback = matches!(host, "127.0.0.1" | "localhost" | "[::1]");
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(host.to_owned()),
        "http" if allow_loopback_http && loopback => Ok(host.to_owned()),
        _ => Err(bad(
            "only https is allowed: the address carries the receiver's token and the alert names your credentials",
        )),
    }
}

/// An email channel's fields: a host, addresses that look like addresses,
/// at least one recipient.
pub fn check_email(c: &EmailConfig) -> Result<()> {
    let address = |field: &str, a: &str| {
        let ok = a.split_once('@').is_some_and(|(user, domain)| {
            !user.is_empty() && domain.contains('.') && !a.chars().any(|c| c.is_whitespace() || c.is_control())
        });
        if ok {
            Ok(())
        } else {
            Err(Error::invalid(field, format!("'{a}' is not an email address")))
        }
    };
    if c.host.trim().is_empty() || c.host.chars().any(|ch| ch.is_whitespace() || ch == '/') {
        return Err(Error::invalid(
            "SMTP server",
            "give the server's host name, e.g. smtp.example.com",
        ));
    }
    address("from", &c.from)?;
    if c.to.is_empty() {
        return Err(Error::invalid("to", "give at least one recipient"));
    }
    for to in &c.to {
        address("to", to)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_must_be_https_without_credentials_in_it() {
        assert_eq!(
            check_webhook_url("https://hooks.slack.com/services/T0/B0/XYZ", false).unwrap(),
            "hooks.slack.com"
        );
        assert_eq!(
            check_webhook_url("https://example.webhook.office.com:443/webhookb2/abc", false).unwrap(),
            "example.webhook.office.com"
        );
        for bad in [
            "http://hooks.slack.com/x",
            "https://user:pw@hooks.slack.com/x",
            "hooks.slack.com/x",
            "https:///x",
            "ftp://x.example/y",
        ] {
            assert!(check_webhook_url(bad, false).is_err(), "{bad}");
        }
        assert!(check_webhook_url("http://127.0.0.1:9/hook", false).is_err());
        assert!(check_webhook_url("http://127.0.0.1:9/hook", true).is_ok());
        assert!(check_webhook_url("http://evil.example/hook", true).is_err());
    }

    #[test]
    fn events_are_named_as_the_issue_names_them() {
        assert_eq!(
            AlertEvent::parse("reconnection-required").unwrap(),
            AlertEvent::ReconnectionRequired
        );
        assert_eq!(AlertEvent::parse("compromised").unwrap(), AlertEvent::Disabled);
        assert!(
            AlertEvent::parse("everything")
                .unwrap_err()
                .to_string()
                .contains("policy_broken")
        );
    }

    #[test]
    fn retries_back_off_to_hourly() {
        assert_eq!(backoff(1), Duration::seconds(30));
        assert!(backoff(4) > backoff(3));
        assert_eq!(backoff(40), Duration::hours(1));
    }
}

#[cfg(test)]
#[path = "alerts_tests.rs"]
mod vault_tests;
