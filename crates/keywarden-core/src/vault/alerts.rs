//! Alert channels and their outbox (see `crate::alerts`): adding and
//! removing a channel, a test alert, what is due, and each delivery's
//! outcome, audited (`alert.sent` / `alert.failed`).

#[allow(unused_imports)]
use super::*;

use crate::alerts::{self, AlertChannel, AlertDelivery, AlertEvent, ChannelKind, NewChannel, PendingAlert};
use crate::store::alerts::{self as outbox, ChannelRow};
use crate::store::sealed_values::ALERT_FIELD;

/// At most this many alerts are handed out per delivery run.
const BATCH: u32 = 50;
/// How long a claimed alert is this program's to send.
const CLAIM: time::Duration = time::Duration::minutes(15);

impl Vault {
    /// Adds a channel carrying `events`; its secret is sealed. Audited
    /// (`alert.channel.add`, naming the target, never the secret).
    pub fn add_alert_channel(
        &mut self,
        name: &str,
        events: &[AlertEvent],
        channel: NewChannel,
        allow_loopback_http: bool,
    ) -> Result<AlertChannel> {
        alerts::check_name(name)?;
        if events.is_empty() {
            return Err(Error::invalid(
                "alert events",
                "choose at least one event the channel carries",
            ));
        }
        if outbox::find(&self.conn, name.trim())?.is_some() {
            return Err(Error::invalid(
                "channel name",
                format!("a channel named '{}' exists; choose another name", name.trim()),
            ));
        }
        let (kind, target, config, secret) = match channel {
            NewChannel::Webhook { url } => {
                let host = alerts::check_webhook_url(url.expose_secret(), allow_loopback_http)?;
                (ChannelKind::Webhook, host, "{}".to_owned(), url)
            }
            NewChannel::Email { config, password } => {
                alerts::check_email(&config)?;
                let text = serde_json::to_string(&config).map_err(|e| Error::Database(e.to_string()))?;
                let secret = password.unwrap_or_else(|| SecretString::from(String::new()));
                (ChannelKind::Email, config.to.join(", "), text, secret)
            }
        };
        let mut events = events.to_vec();
        events.sort();
        events.dedup();
        let channel = AlertChannel {
            id: Uuid::new_v4().to_string(),
            name: name.trim().to_owned(),
            kind,
            events,
            target,
            created_at: self.now(),
        };
        let id = Uuid::parse_str(&channel.id).map_err(|e| Error::Database(e.to_string()))?;
        let detail = format!(
            "{} to {} for {}",
            if kind == ChannelKind::Webhook {
                "webhook"
            } else {
                "email"
            },
            channel.target,
            channel.events.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", ")
        );
        self.write(|tx| {
            let slot = FieldSlot {
                credential_id: id,
                field: ALERT_FIELD,
                version: 0,
            };
            let sealed = tx.seal(&slot, secret.expose_secret().as_bytes())?;
            outbox::insert(
                tx,
                &ChannelRow {
                    channel: channel.clone(),
                    config,
                    sealed,
                },
            )?;
            tx.audit(ev(
                "alert.channel.add",
                "alert_channel",
                Some(id),
                Some(&channel.name),
                Outcome::Success,
                detail,
            ))?;
            Ok(())
        })?;
        Ok(channel)
    }

    /// Removes a channel; what it had not delivered is dropped. Audited.
    pub fn remove_alert_channel(&mut self, reference: &str) -> Result<()> {
        let row = outbox::get(&self.conn, reference)?;
        let id = Uuid::parse_str(&row.channel.id).map_err(|e| Error::Database(e.to_string()))?;
        self.write(|tx| {
            outbox::delete(tx, &row.channel.id)?;
            tx.audit(ev(
                "alert.channel.remove",
                "alert_channel",
                Some(id),
                Some(&row.channel.name),
                Outcome::Success,
                format!("to {}", row.channel.target),
            ))?;
            Ok(())
        })
    }

    pub fn alert_channels(&self) -> Result<Vec<AlertChannel>> {
        Ok(outbox::list(&self.conn)?.into_iter().map(|r| r.channel).collect())
    }

    /// The latest deliveries, newest first.
    pub fn alert_deliveries(&self, limit: u32) -> Result<Vec<AlertDelivery>> {
        outbox::recent(&self.conn, limit)
    }

    /// Queues a test alert on a channel (delivered like any other).
    /// Audited (`alert.test`).
    pub fn queue_test_alert(&mut self, reference: &str) -> Result<()> {
        let row = outbox::get(&self.conn, reference)?;
        let id = Uuid::parse_str(&row.channel.id).map_err(|e| Error::Database(e.to_string()))?;
        let now = self.now();
        let who = self.actor.profile.clone();
        self.write(|tx| {
            outbox::enqueue(
                tx,
                &row.channel.id,
                &format!("test:{}", Uuid::new_v4()),
                "test",
                "Keywarden test alert",
                &format!(
                    "A test alert from Keywarden, sent by {who}. Alerts on this channel: {}. Nothing needs doing.",
                    row.channel
                        .events
                        .iter()
                        .map(|e| e.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                now,
            )?;
            tx.audit(ev(
                "alert.test",
                "alert_channel",
                Some(id),
                Some(&row.channel.name),
                Outcome::Success,
                "queued",
            ))?;
            Ok(())
        })
    }

    /// The alerts due now, each with its channel's secret opened, to send
    /// without holding the vault. They are claimed in one write, so two
    /// programs delivering at once never both send one; a claim lapses
    /// after 15 minutes (longer than a batch takes at every send's 10 s
    /// timeout: then a program that died sending lets them go). A channel
    /// whose secret cannot be opened fails its alert, not the batch.
    pub fn due_alerts(&mut self) -> Result<Vec<PendingAlert>> {
        let now = self.now();
        let claimed = self.write_unaudited(Unaudited::AlertClaim, |tx| {
            let due = outbox::due(tx, now, BATCH)?;
            for d in &due {
                outbox::claim(tx, d.id, now + CLAIM)?;
            }
            Ok(due)
        })?;
        let mut out = Vec::new();
        let mut unreadable = Vec::new();
        for due in claimed {
            match self.read(|conn| self.pending_alert(conn, &due)) {
                Ok(alert) => out.push(alert),
                Err(e) => unreadable.push((due.id, e.to_string())),
            }
        }
        if !unreadable.is_empty() {
            let now = self.now();
            self.write(|tx| {
                for (id, why) in &unreadable {
                    outbox::mark_failed(tx, *id, &format!("the channel could not be read: {why}"), None)?;
                    tx.audit(ev(
                        "alert.failed",
                        "alert_channel",
                        None,
                        None,
                        Outcome::Failure,
                        format!(
                            "alert {id} given up at {}: its channel could not be read ({why})",
                            timefmt::to_db(now)
                        ),
                    ))?;
                }
                Ok(())
            })?;
        }
        Ok(out)
    }

    /// One claimed row with its channel's secret opened.
    fn pending_alert(&self, conn: &Connection, due: &outbox::DueRow) -> Result<PendingAlert> {
        let row = outbox::get(conn, &due.channel_id)?;
        let id = Uuid::parse_str(&row.channel.id).map_err(|e| Error::Database(e.to_string()))?;
        let slot = FieldSlot {
            credential_id: id,
            field: ALERT_FIELD,
            version: 0,
        };
        let plain = self.open_slot_in(conn, &slot, &row.sealed)?;
        let secret = SecretString::from(String::from_utf8(plain.to_vec()).map_err(|_| Error::Decryption)?);
        let email = match row.channel.kind {
            ChannelKind::Email => Some(serde_json::from_str(&row.config).map_err(|e| Error::Database(e.to_string()))?),
            ChannelKind::Webhook => None,
        };
        Ok(PendingAlert {
            outbox_id: due.id,
            delivery_id: format!("{}.{}", due.id, self.header.vault_id),
            channel: row.channel.name,
            kind: row.channel.kind,
            category: due.category.clone(),
            subject: due.subject.clone(),
            body: due.body.clone(),
            secret,
            email,
            attempts: due.attempts,
        })
    }

    /// Records a delivery: sent (`alert.sent`), or failed (`alert.failed`,
    /// tried again after a backoff, given up after 3 days). `error` never
    /// holds the channel's secret (the senders say what failed without
    /// the address).
    pub fn record_alert(&mut self, alert: &PendingAlert, result: std::result::Result<(), String>) -> Result<()> {
        let now = self.now();
        let created = outbox::due_created_at(&self.conn, alert.outbox_id)?;
        let what = format!("{} alert '{}' on {}", alert.category, alert.subject, alert.channel);
        self.write(|tx| {
            match &result {
                Ok(()) => {
                    outbox::mark_sent(tx, alert.outbox_id, now)?;
                    tx.audit(ev(
                        "alert.sent",
                        "alert_channel",
                        None,
                        Some(&alert.channel),
                        Outcome::Success,
                        what,
                    ))?;
                }
                Err(error) => {
                    let next = now + alerts::backoff(alert.attempts + 1);
                    let next = created.filter(|c| next - *c <= alerts::GIVE_UP_AFTER).map(|_| next);
                    outbox::mark_failed(tx, alert.outbox_id, error, next)?;
                    let then = match next {
                        Some(t) => format!("tried again at {}", timefmt::to_db(t)),
                        None => "given up after 3 days".to_owned(),
                    };
                    tx.audit(ev(
                        "alert.failed",
                        "alert_channel",
                        None,
                        Some(&alert.channel),
                        Outcome::Failure,
                        format!("{what}: {error}; {then}"),
                    ))?;
                }
            }
            Ok(())
        })
    }

    /// A broken policy file (the strictest policy applies) becomes a notice
    /// and an alert, once per problem. Audited (`policy.broken`).
    pub fn note_policy_problem(&mut self) -> Result<()> {
        let crate::PolicySource::Strictest { path, problem } = self.policy().source.clone() else {
            return Ok(());
        };
        let now = self.now();
        self.write(|tx| {
            let added = store::notices::insert(
                tx,
                &store::notices::NewNotice {
                    credential_id: None,
                    partner_key_id: None,
                    version: 0,
                    kind: crate::NoticeKind::PolicyBroken.as_str(),
                    threshold_days: 0,
                    expires_at: None,
                    due_at: now,
                    fired_at: now,
                    credential_name: "Organisation policy",
                    integration: None,
                    summary: "The organisation's policy file is broken",
                    body: &format!(
                        "{problem}. Until IT fixes {path}, the strictest policy applies: no export, no clipboard, \
                         nothing new added, every save checked live."
                    ),
                    params: &[("problem", problem.clone()), ("path", path.clone())],
                    dedupe: &format!("policy_broken|{problem}"),
                },
            )?;
            if added.is_some() {
                tx.audit(ev(
                    "policy.broken",
                    "vault",
                    None,
                    None,
                    Outcome::Failure,
                    problem.clone(),
                ))?;
            }
            Ok(())
        })
    }

    /// When the next alert is due (`None`: nothing waits).
    pub fn next_alert_due(&self) -> Result<Option<OffsetDateTime>> {
        outbox::next_due(&self.conn)
    }
}
