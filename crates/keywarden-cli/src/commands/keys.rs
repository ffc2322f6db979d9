//! `kw keys …`: partner API keys.

use keywarden_core::partner::{IssuedKey, KeyEnv, NewPartnerKey, PartnerKey};
use keywarden_core::timefmt;

use crate::args::{KeysCmd, ServiceAccountCmd};
use crate::ctx::Ctx;
use crate::error::{CliError, CliResult};
use crate::parse::{parse_date, write_out};

fn show(k: &PartnerKey) {
    outln!("Key           {}", k.id);
    outln!("  application {}", k.application);
    outln!("  environment {}", k.environment.as_str());
    outln!("  scopes      {}", k.scopes.join(" "));
    outln!("  state       {}", format!("{:?}", k.state).to_lowercase());
    outln!("  created     {}", timefmt::to_db(k.created_at));
    outln!(
        "  expires     {}",
        k.expires_at.map(timefmt::to_db).unwrap_or_else(|| "-".into())
    );
    outln!(
        "  rotation    every {} days, grace {} days",
        k.max_age_days,
        k.grace_days
    );
    if let Some(r) = &k.replaces {
        outln!("  replaces    {r}");
    }
    if let Some(r) = &k.replaced_by {
        outln!(
            "  replaced by {r}, valid until {}",
            k.grace_until.map(timefmt::to_db).unwrap_or_default()
        );
    }
    if let Some(t) = k.revoked_at {
        outln!(
            "  revoked     {} ({})",
            timefmt::to_db(t),
            k.revoke_reason.as_deref().unwrap_or("")
        );
    }
    outln!("  used        {} times", k.use_count);
}

/// The one moment a key's plaintext is shown.
fn issued(ctx: &Ctx, i: &IssuedKey, envelope: Option<&std::path::Path>) -> CliResult {
    let envelope_json = serde_json::to_string_pretty(&i.envelope).map_err(|e| CliError::new(1, e.to_string()))?;
    if let Some(path) = envelope {
        write_out(Some(path), &envelope_json)?;
    }
    if ctx.json {
        outln!(
            "{}",
            serde_json::json!({ "key": i.plaintext.as_str(), "record": i.key, "envelope": i.envelope })
        );
    } else {
        outln!("{}", i.plaintext.as_str());
        eprintln!(
            "Issued key {} for {} ({}). It is shown this once: give it to the partner now. Keywarden keeps only its hash.{}",
            i.key.id,
            i.key.application,
            i.key.scopes.join(" "),
            match envelope {
                Some(p) => format!(" The signed envelope (valid 15 minutes) is in {}.", p.display()),
                None => String::new(),
            }
        );
    }
    Ok(())
}

pub fn run(ctx: &Ctx, cmd: KeysCmd) -> CliResult {
    match cmd {
        KeysCmd::Issue {
            application,
            scopes,
            env,
            expires,
            max_age_days,
            grace_days,
            envelope,
        } => {
            let environment = Some(KeyEnv::parse(&env)?);
            let expires_at = parse_date("expires", expires.as_deref())?;
            let mut vault = ctx.open()?;
            let i = vault.issue_partner_key(NewPartnerKey {
                application,
                environment,
                scopes,
                expires_at,
                max_age_days,
                grace_days,
                ..Default::default()
            })?;
            issued(ctx, &i, envelope.as_deref())
        }
        KeysCmd::Rotate {
            id,
            grace_days,
            envelope,
        } => {
            let mut vault = ctx.open()?;
            let i = vault.rotate_partner_key(&id, grace_days)?;
            issued(ctx, &i, envelope.as_deref())
        }
        KeysCmd::List => list(ctx),
        KeysCmd::Show { id } => {
            let vault = ctx.open()?;
            let k = vault.partner_key(&id)?;
            if ctx.json {
                outln!("{}", serde_json::to_string_pretty(&k).unwrap_or_default());
            } else {
                show(&k);
            }
            Ok(())
        }
        KeysCmd::Revoke { id, reason } => {
            let mut vault = ctx.open()?;
            let k = vault.revoke_partner_key(&id, &reason)?;
            if ctx.json {
                outln!("{}", serde_json::to_string_pretty(&k).unwrap_or_default());
            } else {
                outln!(
                    "Revoked key {} of {}: every verifier refuses it from now.",
                    k.id,
                    k.application
                );
            }
            Ok(())
        }
        KeysCmd::Revocations { signed } => revocations(ctx, signed),
        KeysCmd::RotateDue => rotate_due(ctx),
        KeysCmd::Deliver { id, envelope } => {
            let mut vault = ctx.open()?;
            let i = vault.take_key_delivery(&id)?;
            issued(ctx, &i, envelope.as_deref())
        }
        KeysCmd::PublicKey => {
            let vault = ctx.open()?;
            outln!("{}", vault.signing_public_key());
            Ok(())
        }
    }
}

fn list(ctx: &Ctx) -> CliResult {
    let vault = ctx.open()?;
    let keys = vault.partner_keys()?;
    if ctx.json {
        outln!("{}", serde_json::to_string_pretty(&keys).unwrap_or_default());
    } else {
        if keys.is_empty() {
            outln!("No partner keys.");
        }
        for k in keys {
            outln!(
                "{:<16}  {:<24} {:<4}  {:<12}  {}",
                k.id,
                k.application,
                k.environment.as_str(),
                format!("{:?}", k.state).to_lowercase(),
                k.scopes.join(" ")
            );
        }
    }
    Ok(())
}

fn revocations(ctx: &Ctx, signed: bool) -> CliResult {
    let vault = ctx.open()?;
    if signed {
        let list = vault.signed_revocation_list()?;
        outln!("{}", serde_json::to_string_pretty(&list).unwrap_or_default());
    } else {
        let revoked: Vec<PartnerKey> = vault
            .partner_keys()?
            .into_iter()
            .filter(|k| k.revoked_at.is_some())
            .collect();
        if ctx.json {
            outln!("{}", serde_json::to_string_pretty(&revoked).unwrap_or_default());
        } else {
            for k in revoked {
                outln!(
                    "{}  {}  {}",
                    k.id,
                    k.revoked_at.map(timefmt::to_db).unwrap_or_default(),
                    k.application
                );
            }
        }
    }
    Ok(())
}

fn rotate_due(ctx: &Ctx) -> CliResult {
    let mut vault = ctx.open()?;
    let rotated: Vec<PartnerKey> = vault.rotate_due_partner_keys()?.into_iter().map(|r| r.key).collect();
    if ctx.json {
        outln!("{}", serde_json::to_string_pretty(&rotated).unwrap_or_default());
    } else if rotated.is_empty() {
        outln!("No key has reached its rotation age.");
    } else {
        for k in rotated {
            outln!(
                "Rotated {} of {}: successor {} awaits delivery (kw keys deliver {}).",
                k.replaces.as_deref().unwrap_or(""),
                k.application,
                k.id,
                k.id
            );
        }
    }
    Ok(())
}

pub fn service_account(ctx: &Ctx, cmd: ServiceAccountCmd) -> CliResult {
    match cmd {
        ServiceAccountCmd::Create {
            name,
            grants,
            expires,
            max_age_days,
            grace_days,
        } => {
            let expires_at = parse_date("expires", expires.as_deref())?;
            let mut vault = ctx.open()?;
            let i = vault.create_service_account(NewPartnerKey {
                application: name,
                grants,
                expires_at,
                max_age_days,
                grace_days,
                ..Default::default()
            })?;
            issued(ctx, &i, None)
        }
        ServiceAccountCmd::List => {
            let vault = ctx.open()?;
            let names: std::collections::HashMap<String, String> = vault
                .list_integrations()?
                .into_iter()
                .map(|i| (i.id.to_string(), i.name))
                .collect();
            let accounts: Vec<PartnerKey> = vault
                .partner_keys()?
                .into_iter()
                .filter(|k| k.kind == keywarden_core::partner::KeyKind::Service)
                .collect();
            if ctx.json {
                outln!("{}", serde_json::to_string_pretty(&accounts).unwrap_or_default());
            } else {
                if accounts.is_empty() {
                    outln!("No service accounts.");
                }
                for k in accounts {
                    let grants: Vec<&str> = k
                        .grants
                        .iter()
                        .map(|g| names.get(g).map(String::as_str).unwrap_or("(deleted integration)"))
                        .collect();
                    outln!(
                        "{:<16}  {:<24}  {:<12}  may use: {}",
                        k.id,
                        k.application,
                        format!("{:?}", k.state).to_lowercase(),
                        grants.join(", ")
                    );
                }
            }
            Ok(())
        }
    }
}
