//! `kw overview`: what needs attention — expired, expiring, disabled, in
//! error, due for rotation — in the local vault and, when signed in, the
//! team vault, read through the core's `CredentialBackend` alike.

use keywarden_core::{BackendCredential, BackendError, CredentialBackend, Error, timefmt};
use keywarden_team::TeamConfig;
use serde_json::json;

use crate::ctx::Ctx;
use crate::error::{CliError, CliResult};

/// One backend's answer, or why it gave none.
struct Section {
    location: String,
    answer: Result<Vec<BackendCredential>, BackendError>,
}

fn section(backend: &dyn CredentialBackend) -> Section {
    Section {
        location: backend.location(),
        answer: backend.credentials(),
    }
}

pub fn run(ctx: &Ctx) -> CliResult {
    let mut sections = Vec::new();
    match ctx.open() {
        Ok(vault) => sections.push(section(&vault)),
        // Someone who works only in a team vault has no local one.
        Err(e) if e.code == 3 => {}
        Err(e) => sections.push(Section {
            location: format!("local vault at {}", ctx.dir.display()),
            answer: Err(BackendError {
                message: e.message,
                unreachable: false,
                hint: None,
            }),
        }),
    }
    if let Some(cfg) = TeamConfig::load().map_err(CliError::from)? {
        match cfg.open() {
            Ok(team) => sections.push(section(&team)),
            Err(e) => sections.push(Section {
                location: format!("team vault {} at {}", cfg.mount, cfg.nodes.join(", ")),
                answer: Err(keywarden_team::team::backend_error(e)),
            }),
        }
    }
    if sections.is_empty() {
        return Err(Error::VaultNotFound { path: ctx.dir.clone() }.into());
    }
    print(ctx, &sections);
    // Every backend answered: 0. One could not be reached: 16, after
    // printing what the others said.
    match sections.iter().find_map(|s| s.answer.as_ref().err()) {
        None => Ok(()),
        Some(e) => Err(CliError::new(
            if e.unreachable { 16 } else { 1 },
            format!("not every vault answered: {}", said(e)),
        )),
    }
}

fn print(ctx: &Ctx, sections: &[Section]) {
    if ctx.json {
        let v: Vec<_> = sections
            .iter()
            .map(|s| match &s.answer {
                Ok(all) => json!({
                    "location": s.location,
                    "credentials": all.len(),
                    "needs_attention": all.iter().filter(|c| c.needs_attention()).collect::<Vec<_>>(),
                }),
                Err(e) => json!({"location": s.location, "error": said(e), "unreachable": e.unreachable}),
            })
            .collect();
        outln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return;
    }
    for s in sections {
        match &s.answer {
            Err(e) => outln!("{}: could not answer — {}", s.location, said(e)),
            Ok(all) => {
                let attention: Vec<&BackendCredential> = all.iter().filter(|c| c.needs_attention()).collect();
                outln!(
                    "{}: {} credentials, {} need attention",
                    s.location,
                    all.len(),
                    attention.len()
                );
                for c in attention {
                    outln!(
                        "  {:<32} {:<12} expires {:<10} {:<14} {}",
                        c.name,
                        c.status,
                        c.expires_at
                            .map(|t| timefmt::to_db(t)[..10].to_owned())
                            .unwrap_or_else(|| "-".into()),
                        c.masked.as_deref().unwrap_or("-"),
                        c.context
                    );
                }
            }
        }
    }
}

/// A backend's error with its next step in `kw`'s words.
fn said(e: &BackendError) -> String {
    keywarden_core::error::with_hint(e.message.clone(), e.hint, crate::error::hint_words)
}
