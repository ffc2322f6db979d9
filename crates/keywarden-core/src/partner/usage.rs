//! What verifiers report of partner-key use: the counters, and the
//! anomalies they reveal (a new source address, a burst of failures, a
//! spike), each raised once as a notice and audited.

#[allow(unused_imports)]
use super::*;

/// Failed verifications for one application within an hour that count as
/// a burst.
pub const FAILURE_BURST: i64 = 20;

/// Use above this many times the hourly baseline is a spike…
pub const SPIKE_FACTOR: f64 = 10.0;

/// …when it is also at least this many uses in the hour.
pub const SPIKE_MIN: i64 = 100;

pub(super) struct Anomaly<'a> {
    kind: crate::NoticeKind,
    key_id: Option<&'a str>,
    application: &'a str,
    dedupe: String,
    summary: String,
    body: String,
    params: Vec<(&'static str, String)>,
    now: OffsetDateTime,
}

/// The hour a verifier's counts fall in, as the usage tables key it.
pub(super) struct UsageHour {
    now: OffsetDateTime,
    /// Now, as stored.
    at: String,
    /// The start of this hour.
    hour: String,
    /// The start of the hour a day ago: the baseline of a spike.
    day_ago: String,
}

impl UsageHour {
    pub(super) fn at(now: OffsetDateTime) -> UsageHour {
        let at = timefmt::to_db(now);
        UsageHour {
            now,
            hour: format!("{}:00:00.000000Z", &at[..13]),
            day_ago: format!("{}:00:00.000000Z", &timefmt::to_db(now - Duration::hours(24))[..13]),
            at,
        }
    }
}

/// Adds a key's counts; `None` for a key this vault does not hold.
pub(super) fn count_use(tx: &WriteTx<'_>, id: &str, ok: u64, failed: u64, h: &UsageHour) -> Result<Option<String>> {
    let app: Option<String> = tx
        .query_row("SELECT application FROM partner_keys WHERE id = ?1", [id], |r| r.get(0))
        .optional()?;
    let Some(app) = app else { return Ok(None) };
    tx.execute(
        "UPDATE partner_keys SET use_count = use_count + ?2,
             last_used_at = CASE WHEN ?2 > 0 THEN ?3 ELSE last_used_at END
         WHERE id = ?1",
        params![id, ok as i64, h.at],
    )?;
    tx.execute(
        "INSERT INTO key_usage (key_id, hour, ok, failed) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(key_id, hour) DO UPDATE SET ok = ok + excluded.ok, failed = failed + excluded.failed",
        params![id, h.hour, ok as i64, failed as i64],
    )?;
    Ok(Some(app))
}

/// Records the addresses a key was used from; an address new to a key
/// that had others raises an anomaly.
pub(super) fn new_sources(
    tx: &WriteTx<'_>,
    id: &str,
    app: &str,
    sources: &[String],
    h: &UsageHour,
) -> Result<Vec<i64>> {
    let (at, now) = (&h.at, h.now);
    let mut raised = Vec::new();
    for src in sources {
        let known: i64 = tx.query_row(
            "SELECT COUNT(*) FROM key_sources WHERE key_id = ?1 AND source = ?2",
            params![id, src],
            |r| r.get(0),
        )?;
        let others: i64 = tx.query_row("SELECT COUNT(*) FROM key_sources WHERE key_id = ?1", [id], |r| r.get(0))?;
        tx.execute(
            "INSERT INTO key_sources (key_id, source, first_seen, last_seen) VALUES (?1, ?2, ?3, ?3)
             ON CONFLICT(key_id, source) DO UPDATE SET last_seen = excluded.last_seen",
            params![id, src, at],
        )?;
        if known == 0 && others > 0 {
            raised.extend(anomaly(
                tx,
                Anomaly {
                    kind: crate::NoticeKind::NewSource,
                    key_id: Some(id),
                    application: app,
                    dedupe: format!("new_source|{id}|{src}"),
                    summary: format!("Partner key {id} used from a new address, {src}"),
                    body: format!(
                        "Application {app}. If {src} is not the partner's known infrastructure, revoke the key."
                    ),
                    params: vec![("address", src.to_string())],
                    now,
                },
            )?);
        }
    }
    Ok(raised)
}

/// A key used far above its average hourly use over the last day.
pub(super) fn usage_spike(tx: &WriteTx<'_>, id: &str, app: &str, h: &UsageHour) -> Result<Option<i64>> {
    let (hour, day_ago, now) = (&h.hour, &h.day_ago, h.now);
    let (this_hour, baseline_hours, baseline_total): (i64, i64, i64) = tx.query_row(
        "SELECT (SELECT ok FROM key_usage WHERE key_id = ?1 AND hour = ?2),
                COUNT(*), COALESCE(SUM(ok), 0)
           FROM key_usage WHERE key_id = ?1 AND hour < ?2 AND hour >= ?3",
        params![id, hour, day_ago],
        |r| Ok((r.get::<_, Option<i64>>(0)?.unwrap_or(0), r.get(1)?, r.get(2)?)),
    )?;
    let average = baseline_total as f64 / baseline_hours.max(1) as f64;
    if baseline_hours < 3 || this_hour < SPIKE_MIN || this_hour as f64 <= SPIKE_FACTOR * average.max(1.0) {
        return Ok(None);
    }
    anomaly(
        tx,
        Anomaly {
            kind: crate::NoticeKind::UsageSpike,
            key_id: Some(id),
            application: app,
            dedupe: format!("usage_spike|{id}|{hour}"),
            summary: format!("Partner key {id} used {this_hour} times this hour, against about {average:.0} an hour"),
            body: format!(
                "Application {app}. A leaked key is often used at volume: check with the partner, and revoke the key if the traffic is not theirs."
            ),
            params: vec![
                ("this_hour", this_hour.to_string()),
                ("average", format!("{average:.0}")),
            ],
            now,
        },
    )
}

/// Many failed verifications for one application's keys this hour.
pub(super) fn failure_burst(tx: &WriteTx<'_>, app: &str, h: &UsageHour) -> Result<Option<i64>> {
    let (hour, now) = (&h.hour, h.now);
    let failures: i64 = tx.query_row(
        "SELECT COALESCE(SUM(u.failed), 0) FROM key_usage u JOIN partner_keys p ON p.id = u.key_id
          WHERE p.application = ?1 AND u.hour = ?2",
        params![app, hour],
        |r| r.get(0),
    )?;
    if failures < FAILURE_BURST {
        return Ok(None);
    }
    anomaly(
        tx,
        Anomaly {
            kind: crate::NoticeKind::FailureBurst,
            key_id: None,
            application: app,
            dedupe: format!("failure_burst|{app}|{hour}"),
            summary: format!("{failures} failed key verifications for {app} this hour"),
            body: "Someone may be guessing keys, or the partner is using a revoked or rotated key. Check the partner keys of this application.".to_owned(),
            params: vec![("failures", failures.to_string())],
            now,
        },
    )
}

/// Records an anomaly as a notice (once, by its dedupe) and audits it.
pub(super) fn anomaly(tx: &crate::vault::WriteTx<'_>, an: Anomaly<'_>) -> Result<Option<i64>> {
    let id = crate::store::notices::insert(
        tx,
        &crate::store::notices::NewNotice {
            credential_id: None,
            partner_key_id: an.key_id,
            version: 0,
            kind: an.kind.as_str(),
            threshold_days: 0,
            expires_at: None,
            due_at: an.now,
            fired_at: an.now,
            credential_name: an.application,
            integration: None,
            summary: &an.summary,
            body: &an.body,
            params: &an.params,
            dedupe: &an.dedupe,
        },
    )?;
    if id.is_some() {
        tx.audit(ev(
            "partner_key.anomaly",
            "partner_key",
            None,
            Some(an.key_id.unwrap_or(an.application)),
            Outcome::Failure,
            an.summary.clone(),
        ))?;
    }
    Ok(id)
}

/// One hour of a partner key's use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HourUsage {
    pub hour: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub ok: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub failed: u64,
}

/// An address a partner key was used from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct KeySource {
    pub source: String,
    pub first_seen: String,
    pub last_seen: String,
}

impl Vault {
    /// Usage a verifier counted since its last flush: per key id, the
    /// successful and failed verifications and the source addresses. Also
    /// looks for anomalies and records each as a notice, once:
    /// - a key used from an address it was never used from (its first
    ///   address sets the baseline);
    /// - `FAILURE_BURST` or more failed verifications for one application's
    ///   keys within the hour (once per application and hour);
    /// - a key used more than `SPIKE_FACTOR` times its average hourly use
    ///   over the previous day (at least 3 hours of history, at least
    ///   `SPIKE_MIN` uses; once per key and hour).
    ///
    /// Returns the notices raised, for the caller to show natively.
    pub fn record_key_usage(&mut self, rows: &[(String, u64, u64, Vec<String>)]) -> Result<Vec<crate::Notice>> {
        let now = self.now();
        let h = UsageHour::at(now);
        let raised = self.write_unaudited(crate::vault::Unaudited::UsageCounters, |tx| {
            let mut raised = Vec::new();
            let mut apps_with_failures = Vec::new();
            for (id, ok, failed, sources) in rows {
                let Some(app) = count_use(tx, id, *ok, *failed, &h)? else {
                    continue;
                };
                raised.extend(new_sources(tx, id, &app, sources, &h)?);
                if *failed > 0 && !apps_with_failures.contains(&app) {
                    apps_with_failures.push(app.clone());
                }
                if *ok > 0 {
                    raised.extend(usage_spike(tx, id, &app, &h)?);
                }
            }
            for app in apps_with_failures {
                raised.extend(failure_burst(tx, &app, &h)?);
            }
            Ok(raised)
        })?;
        let mut out = Vec::new();
        for id in raised {
            if let Some(r) = crate::store::notices::get(self.conn(), id)? {
                out.push(crate::expiry::notice_of(r)?);
            }
        }
        Ok(out)
    }

    /// The key's use per hour over the last `hours` hours, oldest first.
    pub fn partner_key_usage(&self, id: &str, hours: u32) -> Result<Vec<HourUsage>> {
        let since = format!(
            "{}:00:00.000000Z",
            &timefmt::to_db(self.now() - Duration::hours(i64::from(hours)))[..13]
        );
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT hour, ok, failed FROM key_usage WHERE key_id = ?1 AND hour >= ?2 ORDER BY hour")?;
        let rows = stmt.query_map(params![id, since], |r| {
            Ok(HourUsage {
                hour: r.get(0)?,
                ok: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                failed: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The addresses the key was used from, most recent first.
    pub fn partner_key_sources(&self, id: &str) -> Result<Vec<KeySource>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT source, first_seen, last_seen FROM key_sources WHERE key_id = ?1 ORDER BY last_seen DESC",
        )?;
        let rows = stmt.query_map([id], |r| {
            Ok(KeySource {
                source: r.get(0)?,
                first_seen: r.get(1)?,
                last_seen: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The anomaly notices about one key (or its application's bursts).
    pub fn partner_key_alerts(&self, id: &str) -> Result<Vec<crate::Notice>> {
        let key = self.partner_key(id)?;
        Ok(self
            .notices(true)?
            .into_iter()
            .filter(|n| {
                n.partner_key_id.as_deref() == Some(id)
                    || (n.kind == crate::NoticeKind::FailureBurst && n.credential == key.application)
            })
            .collect())
    }
}
