//! Scheduled health checks: which credentials are due, their schedules,
//! setting a period, and the per-provider lease that keeps two programs
//! from checking against one provider at once. The checks themselves run
//! through `begin_check` / `PendingCheck::run` / `finish_check`
//! (checks.rs); the schedule's arithmetic is in `crate::health`.

#[allow(unused_imports)]
use super::*;

use crate::health::{self, CheckSchedule, IntegrationSchedule};
use crate::store::health::{self as sched, ScheduleRow};

/// A credential whose scheduled check is due.
#[derive(Debug, Clone, PartialEq)]
pub struct DueCheck {
    pub id: Uuid,
    pub credential: String,
    /// What the lease is taken on: the provider, or the credential itself
    /// for one without a provider.
    pub lease: String,
    pub due_at: OffsetDateTime,
}

/// The checks due now, earliest first, and when the next one will be.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HealthPlan {
    pub due: Vec<DueCheck>,
    /// The earliest due instant after now (`None`: nothing is scheduled).
    pub next_due: Option<OffsetDateTime>,
}

impl Vault {
    /// Which credentials are due for their scheduled check at the vault's
    /// now. `validator` says which have a live check at all.
    pub fn health_plan(&self, validator: &dyn Validator) -> Result<HealthPlan> {
        self.plan(validator, false)
    }

    /// Every scheduled credential, due or not (`kw health check --all`).
    pub fn health_plan_all(&self, validator: &dyn Validator) -> Result<HealthPlan> {
        self.plan(validator, true)
    }

    fn plan(&self, validator: &dyn Validator, all: bool) -> Result<HealthPlan> {
        let now = self.now();
        let mut plan = HealthPlan::default();
        for s in self.schedules(None, validator)? {
            let Some(at) = s.next_at else { continue };
            if at <= now || all {
                plan.due.push(DueCheck {
                    id: s.id,
                    credential: s.schedule.credential,
                    lease: s.lease,
                    due_at: at,
                });
            } else if plan.next_due.is_none_or(|n| at < n) {
                plan.next_due = Some(at);
            }
        }
        plan.due.sort_by_key(|d| d.due_at);
        Ok(plan)
    }

    /// Every scheduled credential's schedule, by name.
    pub fn check_schedules(&self, validator: &dyn Validator) -> Result<Vec<CheckSchedule>> {
        let mut out: Vec<CheckSchedule> = self
            .schedules(None, validator)?
            .into_iter()
            .map(|s| s.schedule)
            .collect();
        out.sort_by_key(|s| s.credential.to_lowercase());
        Ok(out)
    }

    /// One credential's schedule (a disabled one, or one waiting for its
    /// secret, is not scheduled: `every_hours` 0).
    pub fn check_schedule(&self, reference: &str, validator: &dyn Validator) -> Result<CheckSchedule> {
        let row = creds::get(&self.conn, reference)?;
        match self.schedules(Some(row.id), validator)?.pop() {
            Some(s) => Ok(s.schedule),
            None => Ok(CheckSchedule {
                credential: row.name,
                integration: row.integration_name,
                every_hours: 0,
                source: health::ScheduleSource::Credential,
                own_every_hours: None,
                live_check: false,
                last_at: None,
                last_code: None,
                next_at: None,
            }),
        }
    }

    /// Sets how often a credential is checked (`None`: as its integration
    /// or provider says; `Some(0)`: not scheduled), within the policy.
    /// Audited as `credential.schedule`.
    pub fn set_check_every(&mut self, reference: &str, hours: Option<u32>) -> Result<()> {
        let row = creds::get(&self.conn, reference)?;
        if let Some(h) = hours {
            self.policy().check_health_period(health::check_every(h)?)?;
        }
        self.write(|tx| {
            sched::set_credential_every(tx, row.id, hours)?;
            tx.audit(ev(
                "credential.schedule",
                "credential",
                Some(row.id),
                Some(&row.name),
                Outcome::Success,
                period_detail(hours, "the integration's or provider's period"),
            ))?;
            Ok(())
        })
    }

    /// Sets how often an integration's credentials are checked (`None`:
    /// their provider's default), within the policy. Audited as
    /// `integration.schedule`.
    pub fn set_integration_check_every(&mut self, reference: &str, hours: Option<u32>) -> Result<()> {
        let integration = store::integrations::get(&self.conn, reference)?;
        if let Some(h) = hours {
            self.policy().check_health_period(health::check_every(h)?)?;
        }
        self.write(|tx| {
            sched::set_integration_every(tx, integration.id, hours)?;
            tx.audit(ev(
                "integration.schedule",
                "integration",
                Some(integration.id),
                Some(&integration.name),
                Outcome::Success,
                period_detail(hours, "the provider's period"),
            ))?;
            Ok(())
        })
    }

    /// How often an integration's credentials are checked, if it says.
    pub fn integration_check_every(&self, reference: &str) -> Result<Option<u32>> {
        let integration = store::integrations::get(&self.conn, reference)?;
        sched::integration_every(&self.conn, integration.id)
    }

    /// An integration's period: its own, its provider's, the policy's bound,
    /// and how many of its credentials keep a period of their own.
    pub fn integration_check_schedule(&self, reference: &str) -> Result<IntegrationSchedule> {
        let integration = store::integrations::get(&self.conn, reference)?;
        let own = sched::integration_every(&self.conn, integration.id)?;
        let policy_max = self.policy().rules.health_check_max_hours;
        let (every_hours, source) = health::effective(None, own, &integration.provider, policy_max);
        let credentials_overriding = sched::overriding_count(&self.conn, integration.id)?;
        Ok(IntegrationSchedule {
            integration: integration.name,
            own_every_hours: own,
            provider_every_hours: health::provider_default(&integration.provider),
            every_hours,
            source,
            policy_max_hours: policy_max,
            credentials_overriding,
        })
    }

    /// Takes the lease for checking against `lease` (a provider) for
    /// `holder`; false while another program holds it.
    pub fn claim_check_lease(&mut self, lease: &str, holder: &str) -> Result<bool> {
        let now = self.now();
        self.write_unaudited(Unaudited::CheckLease, |tx| {
            sched::take_lease(tx, lease, holder, now, now + health::LEASE)
        })
    }

    /// Gives the lease back (only `holder`'s own).
    pub fn release_check_lease(&mut self, lease: &str, holder: &str) -> Result<()> {
        self.write_unaudited(Unaudited::CheckLease, |tx| sched::release_lease(tx, lease, holder))
    }

    fn schedules(&self, only: Option<Uuid>, validator: &dyn Validator) -> Result<Vec<Scheduled>> {
        let integrations: HashMap<Uuid, Integration> = store::integrations::list(&self.conn)?
            .into_iter()
            .map(|i| (i.id, i))
            .collect();
        let policy_max = self.policy().rules.health_check_max_hours;
        let none = SecretFields::default();
        let rows = sched::rows(&self.conn, only)?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let integration = row.integration_id.and_then(|id| integrations.get(&id));
                let live_check = validator.has_live_check(&Candidate {
                    credential_name: &row.name,
                    kind: row.kind,
                    config: &row.config,
                    secrets: &none,
                    integration,
                });
                scheduled(row, live_check, policy_max)
            })
            .collect())
    }
}

/// A credential's schedule with what the plan needs beside it.
struct Scheduled {
    id: Uuid,
    lease: String,
    next_at: Option<OffsetDateTime>,
    schedule: CheckSchedule,
}

fn scheduled(row: ScheduleRow, live_check: bool, policy_max: Option<u32>) -> Scheduled {
    let (every, source) = health::effective(
        row.own_every_hours,
        row.integration_every_hours,
        &row.provider,
        policy_max,
    );
    let every = if live_check { every } else { 0 };
    let next_at = health::next_due(row.id, every, row.since, row.last.as_ref());
    let lease = if row.provider.is_empty() {
        format!("credential:{}", row.id)
    } else {
        row.provider.clone()
    };
    Scheduled {
        id: row.id,
        lease,
        next_at,
        schedule: CheckSchedule {
            credential: row.name,
            integration: row.integration,
            every_hours: every,
            source,
            own_every_hours: row.own_every_hours,
            live_check,
            last_at: row.last.as_ref().map(|l| l.at),
            last_code: row.last.map(|l| l.code),
            next_at,
        },
    }
}

fn period_detail(hours: Option<u32>, default: &str) -> String {
    match hours {
        Some(h) => format!("scheduled live checks: {}", health::every_words(h)),
        None => format!("scheduled live checks: {default}"),
    }
}
