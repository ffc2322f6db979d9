//! `kw team …`: a team vault on OpenBao (keywarden-team). The sign-in is
//! the desktop app's too (`keywarden_team::session`): the token in the OS
//! keychain, the addresses in `team.json`, the cards last seen for the
//! offline, read-only view.

use keywarden_core::{CredentialKind, SecretString, timefmt};
use keywarden_team::{
    Bao, BaoError, Card, CardView, Credentials, Listing, NewTeamCredential, Role, Sharing, TeamConfig, TeamError,
    TeamPatch, admin, role_words,
};
use serde_json::{Value, json};

use crate::args::{RoleArg, ShareArg, TeamAdd, TeamBroker, TeamCmd, TeamLogin, TeamUpdate};
use crate::ctx::{Ctx, guard_keys, validator};
use crate::error::{CliError, CliResult, EXIT_NOT_ALLOWED, EXIT_OFFLINE};
use crate::input;
use crate::parse::{kind_of, parse_date, parse_fields, refuse_secret_flag, secret_names};

fn load_config() -> CliResult<TeamConfig> {
    TeamConfig::load()?.ok_or_else(|| {
        CliError::new(
            EXIT_NOT_ALLOWED,
            "not signed in to a team vault: kw team login --addr https://… --user NAME",
        )
    })
}

fn sharing_of(s: ShareArg) -> Sharing {
    match s {
        ShareArg::Personal => Sharing::Personal,
        ShareArg::Use => Sharing::Use,
        ShareArg::View => Sharing::View,
        ShareArg::Manage => Sharing::Manage,
    }
}

fn card_json(c: &Card) -> Value {
    serde_json::to_value(CardView::from(c)).unwrap_or_default()
}

fn print_cards(ctx: &Ctx, listing: &Listing) {
    if ctx.json {
        outln!("{}", serde_json::to_string_pretty(listing).unwrap_or_default());
        return;
    }
    if listing.offline {
        outln!(
            "OFFLINE — the team vault cannot be reached. Last known at {}; read-only.",
            listing.as_of
        );
    }
    outln!(
        "{:<32} {:<8} {:<9} {:<9} {:<14} {:<20} {}",
        "NAME",
        "TYPE",
        "SHARING",
        "STATUS",
        "SECRET",
        "UPDATED BY",
        "REV"
    );
    for c in &listing.credentials {
        outln!(
            "{:<32} {:<8} {:<9} {:<9} {:<14} {:<20} {}",
            c.name,
            c.kind.as_str(),
            c.sharing,
            c.status,
            c.masked,
            c.updated_by,
            c.revision
        );
    }
}

pub fn run(ctx: &Ctx, cmd: TeamCmd) -> CliResult {
    match cmd {
        TeamCmd::Login(args) => login(ctx, args),
        TeamCmd::Logout => logout(),
        TeamCmd::Whoami => whoami(ctx),
        TeamCmd::List => {
            let listing = load_config()?.list_or_last_known()?;
            print_cards(ctx, &listing);
            Ok(())
        }
        TeamCmd::Show { name } => show(ctx, &name),
        TeamCmd::Add(args) => add(ctx, args),
        TeamCmd::Rotate {
            name,
            offline,
            if_revision,
            refused,
        } => {
            refuse_secret_flag(&refused)?;
            rotate(ctx, &name, offline, if_revision)
        }
        TeamCmd::Update(args) => update(ctx, args),
        TeamCmd::Share {
            name,
            level,
            if_revision,
            broker,
        } => share(ctx, &name, level, if_revision, broker),
        TeamCmd::Check { name, broker } => check(ctx, &name, broker),
        TeamCmd::Broker(args) => run_broker(args),
        TeamCmd::Delete { name, if_revision } => delete(ctx, &name, if_revision),
        TeamCmd::Audit { limit, verify } => audit(ctx, limit, verify),
        TeamCmd::Create { addrs, mount, userpass } => create(&addrs, &mount, &userpass),
        TeamCmd::Member {
            user,
            role,
            set_password,
        } => member(&user, role, set_password),
    }
}

fn login(ctx: &Ctx, args: TeamLogin) -> CliResult {
    let TeamLogin {
        addrs,
        mount,
        userpass,
        user,
        token,
    } = args;
    let cfg = TeamConfig::new(&addrs, &mount, &userpass)?;
    let vault = if token {
        let t = input::read_secrets("team sign-in", &["token".to_owned()])?;
        let t = t
            .get("token")
            .cloned()
            .ok_or_else(|| CliError::new(5, "no token given"))?;
        cfg.sign_in(Credentials::Token(t))?
    } else {
        let user = user.unwrap_or_default();
        let p = input::read_secrets(&format!("{user} at {}", cfg.nodes.join(", ")), &["password".to_owned()])?;
        let password = p
            .get("password")
            .cloned()
            .ok_or_else(|| CliError::new(5, "no password given"))?;
        cfg.sign_in(Credentials::UserPass {
            user: &user,
            password: &password,
        })?
    };
    let me = vault.identity();
    if ctx.json {
        outln!(
            "{}",
            json!({"signed_in": me.display_name, "entity_id": me.entity_id, "role": me.role().map(|r| r.as_str())})
        );
    } else {
        outln!(
            "Signed in to {} as {}: {}. The token is kept in the OS keychain.",
            cfg.mount,
            me.display_name,
            role_words(me.role())
        );
    }
    Ok(())
}

fn logout() -> CliResult {
    let cfg = load_config()?;
    match cfg.sign_out() {
        Ok(()) => {
            outln!("Signed out: the token is revoked at OpenBao and removed from the keychain.");
            Ok(())
        }
        Err(e) => {
            let e = CliError::from(e);
            Err(CliError::new(
                e.code,
                format!(
                    "the token was removed from this machine, but OpenBao could not revoke it ({}); it expires by itself within its lease (at most 24 h)",
                    e.message
                ),
            ))
        }
    }
}

fn whoami(ctx: &Ctx) -> CliResult {
    let cfg = load_config()?;
    let v = cfg.open()?;
    let me = v.identity();
    if ctx.json {
        outln!(
            "{}",
            json!({"user": me.display_name, "entity_id": me.entity_id, "role": me.role().map(|r| r.as_str()),
                "token_ttl_seconds": me.ttl_seconds, "nodes": cfg.nodes, "mount": cfg.mount})
        );
    } else {
        outln!(
            "{} ({}) in team vault {} at {}",
            me.display_name,
            me.entity_id,
            cfg.mount,
            cfg.nodes.join(", ")
        );
        outln!("Role: {}", role_words(me.role()));
        outln!("Token: {} min left, renewed as you use kw", me.ttl_seconds / 60);
    }
    Ok(())
}

fn show(ctx: &Ctx, name: &str) -> CliResult {
    let cfg = load_config()?;
    let v = cfg.open()?;
    let c = v.show(name)?;
    let can = v.abilities(&c.card)?;
    if ctx.json {
        let mut j = card_json(&c.card);
        j["config"] = json!(c.config);
        j["you_can"] = json!({"see_config": can.see_config, "rotate": can.rotate, "edit": can.edit,
            "delete": can.delete, "share": can.share});
        outln!("{}", serde_json::to_string_pretty(&j).unwrap_or_default());
        return Ok(());
    }
    let card = &c.card;
    outln!("Credential    {} ({})", card.name, card.id());
    outln!("  type        {}", card.kind.label());
    outln!("  sharing     {}", card.path.sharing);
    outln!("  secret      {}", card.masked);
    outln!("  status      {}", card.status(timefmt::now()));
    outln!("  expires     {}", card.expires_at.as_deref().unwrap_or("-"));
    outln!(
        "  updated     {} by {} (revision {})",
        card.updated_at,
        card.updated_by_name,
        card.revision
    );
    match &c.config {
        Some(cfg) => {
            for (k, v) in cfg {
                outln!("  {k:<11} {v}");
            }
        }
        None => outln!("  configuration: shared for use only; not yours to see"),
    }
    let yes = |b: bool, what: &'static str| if b { Some(what) } else { None };
    let actions: Vec<&str> = [
        yes(can.rotate, "rotate"),
        yes(can.edit, "edit"),
        yes(can.delete, "delete"),
        yes(can.share, "share"),
    ]
    .into_iter()
    .flatten()
    .collect();
    outln!(
        "  you can     {}",
        if actions.is_empty() {
            "use it (through the team broker); nothing else".to_owned()
        } else {
            actions.join(", ")
        }
    );
    Ok(())
}

fn add(ctx: &Ctx, args: TeamAdd) -> CliResult {
    let TeamAdd {
        name,
        kind,
        share,
        fields,
        secret_fields,
        expires,
        offline,
        refused,
    } = args;
    refuse_secret_flag(&refused)?;
    let kind: CredentialKind = kind_of(kind);
    let config = parse_fields(&fields)?;
    let names = secret_names(kind, &config, secret_fields)?;
    let expires_at = parse_date("expires", expires.as_deref())?;
    let cfg = load_config()?;
    let v = cfg.open()?;
    let secrets = input::read_secrets(&name, &names)?;
    let card = v.add(
        NewTeamCredential {
            name,
            kind,
            sharing: sharing_of(share),
            config,
            secrets,
            expires_at,
        },
        // As `kw credential add`: checked live with the provider
        // its configuration names, unless --offline.
        validator(offline).as_ref(),
    )?;
    done(ctx, "Added", &card);
    Ok(())
}

fn rotate(ctx: &Ctx, name: &str, offline: bool, if_revision: Option<u64>) -> CliResult {
    let cfg = load_config()?;
    let v = cfg.open()?;
    let card = v.find(name)?;
    let secrets = input::read_secrets(&card.name, &card.secret_fields)?;
    let card = v.rotate(name, secrets, if_revision, validator(offline).as_ref())?;
    done(ctx, "Rotated", &card);
    Ok(())
}

fn update(ctx: &Ctx, args: TeamUpdate) -> CliResult {
    let TeamUpdate {
        name,
        fields,
        expires,
        disable,
        enable,
        if_revision,
    } = args;
    let patch = TeamPatch {
        config: if fields.is_empty() {
            None
        } else {
            Some(parse_fields(&fields)?)
        },
        expires_at: match expires.as_deref() {
            None => None,
            Some("none") => Some(None),
            Some(d) => Some(parse_date("expires", Some(d))?),
        },
        enabled: if disable {
            Some(false)
        } else if enable {
            Some(true)
        } else {
            None
        },
    };
    let cfg = load_config()?;
    let card = cfg.open()?.update(&name, patch, if_revision)?;
    done(ctx, "Updated", &card);
    Ok(())
}

fn share(ctx: &Ctx, name: &str, level: ShareArg, if_revision: Option<u64>, broker: Option<String>) -> CliResult {
    let cfg = load_config()?;
    let v = cfg.open()?;
    let card = v.find(name)?;
    if card.path.sharing == Sharing::Personal {
        let card = v.share(name, sharing_of(level), if_revision)?;
        done(ctx, "Shared", &card);
        return Ok(());
    }
    // A shared credential's secret is not the member's to move:
    // the broker moves it, if OpenBao says their token may.
    let base = broker_address(broker)?;
    let mut body = json!({"credential": card.id(), "level": sharing_of(level).as_str()});
    if let Some(r) = if_revision {
        body["expected_revision"] = json!(r);
    }
    let (status, v) = crate::broker::team_call(&base, "share", v.token(), &body)?;
    broker_outcome(status, &v)?;
    outln!(
        "Shared '{}' at level {} (revision {}).",
        v["credential"].as_str().unwrap_or(name),
        v["sharing"].as_str().unwrap_or("?"),
        v["revision"]
    );
    Ok(())
}

fn check(ctx: &Ctx, name: &str, broker: Option<String>) -> CliResult {
    let cfg = load_config()?;
    let v = cfg.open()?;
    let base = broker_address(broker)?;
    let (status, answer) = crate::broker::team_call(&base, "check", v.token(), &json!({"credential": name}))?;
    broker_outcome(status, &answer)?;
    let credential = answer["credential"].as_str().unwrap_or(name).to_owned();
    if ctx.json {
        outln!("{answer}");
    }
    if answer["ok"] == true {
        if !ctx.json {
            outln!("'{credential}' is accepted by its provider (checked by the team broker).");
        }
        Ok(())
    } else {
        Err(CliError::new(
            8,
            format!(
                "the check of '{credential}' failed: {}",
                answer["message"].as_str().unwrap_or("no reason given")
            ),
        ))
    }
}

fn delete(ctx: &Ctx, name: &str, if_revision: Option<u64>) -> CliResult {
    let cfg = load_config()?;
    cfg.open()?.delete(name, if_revision)?;
    if ctx.json {
        outln!("{}", json!({"deleted": name}));
    } else {
        outln!("Deleted '{name}' from the team vault.");
    }
    Ok(())
}

fn audit(ctx: &Ctx, limit: usize, verify: bool) -> CliResult {
    let cfg = load_config()?;
    let v = cfg.open()?;
    if verify {
        let n = v.verify_audit()?;
        outln!(
            "The team audit chain holds: {n} events, each linked to the one before and written by the OpenBao identity it names."
        );
        return Ok(());
    }
    let events = v.audit(limit)?;
    if ctx.json {
        outln!("{}", serde_json::to_string_pretty(&events).unwrap_or_default());
        return Ok(());
    }
    for e in events {
        outln!(
            "{:>5} {} {:<20} {:<18} {:<28} {}",
            e.seq,
            e.at,
            e.actor_name,
            e.action,
            e.credential_name,
            e.detail
        );
    }
    Ok(())
}

fn create(addrs: &[String], mount: &str, userpass: &str) -> CliResult {
    let token = match std::env::var("BAO_TOKEN") {
        Ok(t) if !t.is_empty() => SecretString::from(t),
        _ => {
            let t = input::read_secrets("OpenBao admin token", &["token".to_owned()])?;
            t.get("token")
                .cloned()
                .ok_or_else(|| CliError::new(5, "no token given"))?
        }
    };
    let bao = Bao::new(addrs, token).map_err(TeamError::from)?;
    admin::create_team(&bao, mount, userpass)?;
    outln!(
        "Team vault {mount} is ready: KV v2 at {mount}/, sign-in at auth/{userpass}/, policies kw-{mount}-*, groups kw-{mount}-owners/admins/viewers. Add its first owner with kw team member … --role owner --set-password (with BAO_TOKEN)."
    );
    Ok(())
}

fn member(user: &str, role: RoleArg, set_password: bool) -> CliResult {
    // IT with an admin token (BAO_TOKEN) for the first owner, or a
    // signed-in owner afterwards.
    let (bao, mount, userpass) = match std::env::var("BAO_TOKEN") {
        Ok(t) if !t.is_empty() => {
            let cfg = load_config().ok();
            let nodes = cfg.as_ref().map(|c| c.nodes.clone()).unwrap_or_default();
            let bao = Bao::new(&nodes, SecretString::from(t)).map_err(TeamError::from)?;
            let mount = cfg
                .as_ref()
                .map(|c| c.mount.clone())
                .unwrap_or_else(|| "keywarden".into());
            let userpass = cfg.map(|c| c.userpass).unwrap_or_else(|| "userpass".into());
            (bao, mount, userpass)
        }
        _ => {
            let cfg = load_config()?;
            let v = cfg.open()?;
            (
                v.client().with_token(v.token().clone()),
                cfg.mount.clone(),
                cfg.userpass.clone(),
            )
        }
    };
    let role = match role {
        RoleArg::Owner => Some(Role::Owner),
        RoleArg::Admin => Some(Role::Admin),
        RoleArg::Viewer => Some(Role::Viewer),
        RoleArg::None => None,
    };
    let not_allowed = |e: TeamError| match e {
        TeamError::Bao(BaoError::Forbidden { path, .. }) => TeamError::NotAllowed {
            what: "manage the team's members (owners only)".into(),
            path,
        },
        other => other,
    };
    match (role, set_password) {
        (Some(r), true) => {
            let p = input::read_secrets(&format!("new password of {user}"), &["password".to_owned()])?;
            let p = p
                .get("password")
                .cloned()
                .ok_or_else(|| CliError::new(5, "no password given"))?;
            admin::add_member(&bao, &mount, &userpass, user, &p, r).map_err(not_allowed)?;
        }
        (r, _) => {
            let entity = admin::entity_for(&bao, &userpass, user).map_err(not_allowed)?;
            admin::set_role(&bao, &mount, &entity, r).map_err(not_allowed)?;
        }
    }
    outln!("{user}: {}", role_words(role));
    Ok(())
}

fn done(ctx: &Ctx, what: &str, card: &Card) {
    if ctx.json {
        outln!("{}", serde_json::to_string_pretty(&card_json(card)).unwrap_or_default());
    } else {
        outln!(
            "{what} '{}' ({}, {}), secret {}, revision {}.",
            card.name,
            card.kind.label(),
            card.path.sharing,
            card.masked,
            card.revision
        );
    }
}

/// The team broker's address: the flag or KEYWARDEN_TEAM_BROKER.
fn broker_address(flag: Option<String>) -> CliResult<String> {
    flag.filter(|b| !b.trim().is_empty()).ok_or_else(|| {
        CliError::new(
            5,
            "this goes through the team broker: give --broker https://HOST:PORT (or set KEYWARDEN_TEAM_BROKER)",
        )
    })
}

/// The broker's refusals as kw's exit codes.
fn broker_outcome(status: u16, v: &Value) -> CliResult {
    let message = crate::error::answered(v);
    match status {
        200 => Ok(()),
        401 => Err(CliError::new(
            EXIT_NOT_ALLOWED,
            "the team broker does not accept your sign-in: sign in again (kw team login)",
        )),
        403 => Err(CliError::new(EXIT_NOT_ALLOWED, message)),
        404 => Err(CliError::new(3, message)),
        409 => Err(CliError::new(12, message)),
        422 => Err(CliError::new(5, message)),
        503 => Err(CliError::new(
            EXIT_OFFLINE,
            format!("the team broker cannot reach OpenBao: {message}"),
        )),
        other => Err(CliError::new(
            1,
            format!("the team broker answered HTTP {other}: {message}"),
        )),
    }
}

/// `kw team broker`: signs in, serves, and signs in afresh every 30
/// minutes (its userpass tokens live an hour; the old one simply expires).
fn run_broker(args: TeamBroker) -> CliResult {
    let TeamBroker {
        addrs: nodes,
        mount,
        userpass,
        user,
        password_file,
        listen,
        tls_cert,
        tls_key,
        offline,
    } = args;
    // Before the password is asked for (exit 11, as kw serve).
    keywarden_core::Policy::load_system().check_verifier()?;
    guard_keys();
    let password = match &password_file {
        Some(path) => SecretString::from(crate::broker::read_token_file(path)?.to_string()),
        None => {
            let p = input::read_secrets(&format!("broker {user}"), &["password".to_owned()])?;
            p.get("password")
                .cloned()
                .ok_or_else(|| CliError::new(5, "no password given"))?
        }
    };
    let sign_in = {
        let (nodes, mount, userpass, user) = (nodes.clone(), mount.clone(), userpass.clone(), user.clone());
        move || keywarden_team::TeamVault::sign_in_userpass(&nodes, &mount, &userpass, &user, &password)
    };
    let broker = std::sync::Arc::new(keywarden_team::TeamBroker::new(sign_in()?));
    {
        let broker = broker.clone();
        std::thread::Builder::new()
            .name("team-broker-sign-in".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(std::time::Duration::from_secs(30 * 60));
                    match sign_in() {
                        Ok(v) => broker.replace_sign_in(v),
                        Err(e) => eprintln!("kw team broker: signing in again failed ({e}); retrying in 30 min"),
                    }
                }
            })
            .map_err(|e| CliError::new(1, format!("could not start the sign-in thread: {e}")))?;
    }
    let tls_files = tls_cert
        .zip(tls_key)
        .map(|(cert, key)| keywarden_verifier::TlsFiles { cert, key });
    // Live checks with the provider a credential's configuration names;
    // plain http to loopback fakes in test mode only.
    let check: Box<dyn keywarden_core::Validator + Send + Sync> = if offline {
        Box::new(keywarden_core::OfflineValidator)
    } else {
        Box::new(keywarden_connectors::Connectors::new(keywarden_connectors::Options {
            allow_loopback_http: keywarden_core::test_mode(),
            ..keywarden_connectors::Options::default()
        }))
    };
    keywarden_verifier::run_team_broker(broker, check, &listen, tls_files.as_ref(), |addr| {
        outln!(
            "team broker listening on {addr} for team vault {mount} ({})",
            if tls_files.is_some() { "https" } else { "http" }
        );
    })
    .map_err(|e| CliError::new(1, e.0))
}
