//! `kw policy show`: the organisation's policy on this machine.

use crate::ctx::Ctx;
use crate::error::{CliError, CliResult};

pub(crate) fn show(ctx: &Ctx) -> CliResult {
    // No vault needed: IT checks a machine before anyone has one.
    let policy = keywarden_core::Policy::load_system();
    let entries = policy.entries();
    if ctx.json {
        let v = serde_json::json!({ "source": policy.source, "entries": entries });
        outln!("{v}");
    } else {
        match &policy.source {
            keywarden_core::PolicySource::None => {
                outln!(
                    "No organization policy ({} does not exist).",
                    keywarden_core::policy::SYSTEM_POLICY
                )
            }
            keywarden_core::PolicySource::File { path } => outln!("Policy: {path}"),
            keywarden_core::PolicySource::Strictest { problem, .. } => {
                outln!("The policy file is broken, so the strictest policy applies: {problem}")
            }
        }
        for e in &entries {
            let badge = if e.managed { "managed" } else { "" };
            outln!("{:<26} {:<40} {:<8} {}", e.key, e.value, badge, e.source);
        }
    }
    // A deployment script checking the machine must not read a
    // broken file as success.
    match &policy.source {
        keywarden_core::PolicySource::Strictest { problem, .. } => Err(CliError::new(
            11,
            format!("the organization's policy file is broken, so the strictest policy applies: {problem}"),
        )),
        _ => Ok(()),
    }
}
