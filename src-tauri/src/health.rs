//! Scheduled health checks in the app (`kw-health` thread): while the vault
//! is open, each credential is checked live when its schedule says (see
//! the core's health.rs), one at a time, so never two at once against one
//! provider; the lease in the vault keeps a `kw health check` timer from
//! checking beside it. The vault is held only to take the secret out and
//! to record the verdict, never while a provider answers, so the window
//! stays usable. A check that puts a credential in `error` shows its
//! "reconnection required" notice natively and in the window. Between due
//! checks the thread sleeps on its own timer (no wake-up while nothing is
//! due); unlocking, locking and a changed schedule poke it.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use keywarden_core::{CheckReport, CheckSchedule, IntegrationSchedule, Notice, Validator};
use keywarden_notify::Notifier;
use tauri::{AppHandle, Emitter, Runtime};

use crate::error::IpcResult;
use crate::ipc_schema::args;
use crate::scheduler::NOTICES_EVENT;
use crate::state::{AppState, KeywardenExt};

/// The window reloads a credential's checks when one ran.
pub const CHECKED_EVENT: &str = "credential-checked";

/// After a failed plan (a database error), or while another program holds
/// a provider's lease, try again this much later.
const RETRY: Duration = Duration::from_secs(60);

pub fn start<R: Runtime>(app: AppHandle<R>) {
    let spawned = std::thread::Builder::new().name("kw-health".into()).spawn(move || {
        let notifier = Notifier::with_clicks(std::sync::Arc::clone(&app.keywarden().notification_clicks));
        let holder = format!("app-{}", std::process::id());
        loop {
            let state = app.keywarden();
            let validator = crate::commands::live_validator(&state);
            let run = run_due(&state, validator.as_ref(), &holder);
            for notice in &run.notices {
                let _ = crate::i18n::show(&notifier, &state, notice);
            }
            if !run.notices.is_empty() {
                let _ = app.emit(NOTICES_EVENT, run.notices.len());
            }
            for report in &run.checked {
                let _ = app.emit(CHECKED_EVENT, &report.credential);
            }
            // A check may have put a credential in error or cleared it.
            if !run.checked.is_empty() {
                state.refresh_tray();
            }
            if !run.notices.is_empty() {
                state.alert_timer.poke();
            }
            let timer = Arc::clone(&state.health_timer);
            timer.wait_until(run.next);
        }
    });
    if let Err(e) = spawned {
        eprintln!("keywarden: the health-check scheduler could not start ({e}); checks run only when asked");
    }
}

/// How often the credential is checked live on a schedule, and when next.
pub fn check_schedule(state: &AppState, args::check_schedule { id }: args::check_schedule) -> IpcResult<CheckSchedule> {
    let live = crate::commands::live_validator(state);
    state.with_vault(|v| v.check_schedule(&id, live.as_ref()))
}

/// Sets the period (hours; 0: not scheduled; null: the integration's or
/// provider's), within the policy; audited. The scheduler looks again.
pub fn set_check_schedule(
    state: &AppState,
    args::set_check_schedule { id, every_hours }: args::set_check_schedule,
) -> IpcResult<CheckSchedule> {
    let live = crate::commands::live_validator(state);
    let schedule = state.with_vault(|v| {
        v.set_check_every(&id, every_hours)?;
        v.check_schedule(&id, live.as_ref())
    })?;
    state.health_timer.poke();
    Ok(schedule)
}

/// An integration's period, as its page shows it.
pub fn integration_check_schedule(
    state: &AppState,
    args::integration_check_schedule { id }: args::integration_check_schedule,
) -> IpcResult<IntegrationSchedule> {
    state.with_vault(|v| v.integration_check_schedule(&id))
}

/// Sets how often the integration's credentials are checked (those with no
/// period of their own), within the policy; audited. The scheduler looks
/// again.
pub fn set_integration_check_schedule(
    state: &AppState,
    args::set_integration_check_schedule { id, every_hours }: args::set_integration_check_schedule,
) -> IpcResult<IntegrationSchedule> {
    let schedule = state.with_vault(|v| {
        v.set_integration_check_every(&id, every_hours)?;
        v.integration_check_schedule(&id)
    })?;
    state.health_timer.poke();
    Ok(schedule)
}

/// What one wake-up did.
#[derive(Default)]
pub struct HealthRun {
    pub checked: Vec<CheckReport>,
    /// "Reconnection required" notices the checks added.
    pub notices: Vec<Notice>,
    /// When to wake next (`None`: locked, or nothing scheduled).
    pub next: Option<SystemTime>,
}

/// Runs every check due now; returns what it did and when the next is due.
pub fn run_due(state: &AppState, validator: &dyn Validator, holder: &str) -> HealthRun {
    let mut run = HealthRun::default();
    let epoch = state.epoch();
    let plan = {
        let Ok(slot) = state.slot() else { return run };
        let Some(vault) = slot.as_ref() else { return run };
        vault.health_plan(validator)
    };
    let plan = match plan {
        Ok(plan) => plan,
        Err(e) => {
            eprintln!("keywarden: the scheduled checks could not be planned: {e}");
            run.next = Some(SystemTime::now() + RETRY);
            return run;
        }
    };
    let mut busy = false;
    for due in plan.due {
        match check_one(state, epoch, validator, holder, &due) {
            Step::Checked(report) => {
                run.notices.extend(report.notice.clone());
                run.checked.push(*report);
            }
            Step::Busy => busy = true,
            Step::Closed => return run,
        }
    }
    run.next = next_wake(state, validator, busy);
    run
}

enum Step {
    Checked(Box<CheckReport>),
    /// Another program is checking against this provider: later.
    Busy,
    /// The vault was locked (or another opened) meanwhile: stop.
    Closed,
}

fn check_one(
    state: &AppState,
    epoch: u64,
    validator: &dyn Validator,
    holder: &str,
    due: &keywarden_core::DueCheck,
) -> Step {
    let id = due.id.to_string();
    // Under the vault: the lease, and the secret out as an audited use.
    let pending = {
        let Ok(mut slot) = state.slot() else {
            return Step::Closed;
        };
        let Some(vault) = slot.as_mut().filter(|_| state.epoch() == epoch) else {
            return Step::Closed;
        };
        match vault.claim_check_lease(&due.lease, holder) {
            Ok(true) => {}
            Ok(false) => return Step::Busy,
            Err(e) => {
                eprintln!("keywarden: a scheduled check could not start: {e}");
                return Step::Busy;
            }
        }
        match vault.begin_check(&id, true) {
            Ok(p) => p,
            Err(e) => {
                // Disabled or deleted since the plan: nothing to check.
                let _ = vault.release_check_lease(&due.lease, holder);
                eprintln!("keywarden: the scheduled check of {} did not run: {e}", due.credential);
                return Step::Busy;
            }
        }
    };
    // The provider answers while the window keeps the vault.
    let finished = pending.run(validator);
    let Ok(mut slot) = state.slot() else {
        return Step::Closed;
    };
    // Locked meanwhile: the verdict is dropped with the keys (the next
    // unlock checks again), and the lease runs out by itself.
    let Some(vault) = slot.as_mut().filter(|_| state.epoch() == epoch) else {
        return Step::Closed;
    };
    let report = vault.finish_check(finished);
    let _ = vault.release_check_lease(&due.lease, holder);
    match report {
        Ok(report) => Step::Checked(Box::new(report)),
        Err(e) => {
            eprintln!(
                "keywarden: the scheduled check of {} was not recorded: {e}",
                due.credential
            );
            Step::Busy
        }
    }
}

/// The next due check in real time (the vault's clock may be a test clock:
/// the same span of real time is waited).
fn next_wake(state: &AppState, validator: &dyn Validator, busy: bool) -> Option<SystemTime> {
    let slot = state.slot().ok()?;
    let vault = slot.as_ref()?;
    let retry = busy.then(|| SystemTime::now() + RETRY);
    let next = match vault.health_plan(validator) {
        Ok(plan) => plan.next_due.map(|t| {
            let wait = (t - vault.now()).max(time::Duration::ZERO);
            SystemTime::now() + Duration::try_from(wait).unwrap_or(Duration::ZERO)
        }),
        Err(_) => Some(SystemTime::now() + RETRY),
    };
    [next, retry].into_iter().flatten().min()
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};

    use keywarden_core::{
        Actor, Candidate, CredentialKind, Failure, KeySource, ManualClock, NewCredential, NewIntegration, NoticeKind,
        Rejection, SecretFields, SecretString, Status, Vault, Verdict,
    };

    use super::*;

    struct NoClipboard;
    impl crate::clipboard::Clipboard for NoClipboard {
        fn set(&self, _text: &SecretString) -> Result<crate::clipboard::History, String> {
            Err("no clipboard in this test".into())
        }
        fn clear_if(&self, _digest: &[u8; 32]) -> Result<(), String> {
            Ok(())
        }
    }

    /// The provider, as the test sets it; it notes whether the vault was
    /// free while it was asked.
    struct Provider<'a> {
        state: &'a AppState,
        answer: RefCell<Result<(), Failure>>,
        vault_free: Cell<Option<bool>>,
    }

    impl Validator for Provider<'_> {
        fn validate(&self, _c: &Candidate<'_>) -> Result<Verdict, Rejection> {
            self.vault_free.set(Some(self.state.vault_is_free()));
            self.answer
                .borrow()
                .clone()
                .map(|()| Verdict::default())
                .map_err(Rejection::new)
        }
    }

    #[test]
    fn scheduled_checks_find_a_revoked_key_say_it_once_and_never_hold_the_vault_while_the_provider_answers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault");
        let state = AppState::new(path.clone(), Some("admin".into()), Arc::new(NoClipboard));
        let (vault, _code) = Vault::create(&path, KeySource::Keychain, Actor::current(Some("admin".into()))).unwrap();
        state.install(vault).unwrap();
        let start = time::OffsetDateTime::now_utc();
        let clock = ManualClock::at(start);
        {
            let mut slot = state.slot().unwrap();
            let v = slot.as_mut().unwrap();
            v.set_clock(Arc::new(clock.clone()));
            v.add_integration(NewIntegration {
                name: "Pleo".into(),
                provider: "pleo".into(),
                environment: "production".into(),
                ..Default::default()
            })
            .unwrap();
            v.add_credential(NewCredential {
                name: "Pleo API".into(),
                kind: Some(CredentialKind::ApiKey),
                integration: Some("Pleo".into()),
                secrets: SecretFields::single("api_key", SecretString::from("pk_live_APPHEALTH_0001".to_owned())),
                ..Default::default()
            })
            .unwrap();
        }
        let provider = Provider {
            state: &state,
            answer: RefCell::new(Err(Failure::InvalidCredential { detail: "401".into() })),
            vault_free: Cell::new(None),
        };
        // Nothing due yet: the thread would sleep until the first slot.
        let idle = run_due(&state, &provider, "app");
        assert!(idle.checked.is_empty());
        let wait = idle.next.unwrap().duration_since(SystemTime::now()).unwrap_or_default();
        assert!(wait <= Duration::from_secs(86_400), "{wait:?}");

        let mut notices = Vec::new();
        for _ in 0..4 {
            let next = state
                .slot()
                .unwrap()
                .as_ref()
                .unwrap()
                .health_plan(&provider)
                .unwrap()
                .next_due
                .unwrap();
            clock.set(next);
            let run = run_due(&state, &provider, "app");
            assert_eq!(run.checked.len(), 1);
            assert_eq!(
                provider.vault_free.take(),
                Some(true),
                "the vault was held while the provider answered"
            );
            notices.extend(run.notices);
        }
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0].kind, NoticeKind::ReconnectionRequired);
        let status = state
            .with_vault(|v| v.get_credential("Pleo API"))
            .unwrap()
            .summary
            .status;
        assert_eq!(status, Status::Error);

        // Locked: nothing runs, and the thread waits for the next unlock.
        state.lock();
        let locked = run_due(&state, &provider, "app");
        assert!(locked.checked.is_empty() && locked.next.is_none());
    }
}
