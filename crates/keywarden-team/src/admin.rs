//! Setting up a team vault and its members: the KV v2 mount, the userpass
//! sign-in method, Keywarden's policies and one OpenBao identity group
//! per role. Run by IT once with an OpenBao token that may mount engines
//! and write policies; members and roles are managed by the team's owners
//! afterwards (their policy allows exactly that).
//!
//! Roles are group memberships: OpenBao evaluates group policies at each
//! request, so a role change takes effect at once, without new tokens.

use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::client::Bao;
use crate::error::{BaoError, Result, TeamError};
use crate::layout::{Role, admin_policy, broker_policy, group_name, member_policy, owner_policy, policy_name};

/// The policies each role's group carries.
fn group_policies(mount: &str, role: Role) -> Vec<String> {
    let p = |w: &str| policy_name(mount, w);
    match role {
        Role::Owner => vec![p("member"), p("admin"), p("owner")],
        Role::Admin => vec![p("member"), p("admin")],
        Role::Viewer => vec![p("member")],
    }
}

/// Creates (or brings up to date) the team vault at `mount`: idempotent,
/// so IT can run it again after an upgrade to rewrite the policies.
pub fn create_team(bao: &Bao, mount: &str, userpass: &str) -> Result<()> {
    crate::check_mount_name(mount)?;
    crate::check_mount_name(userpass)?;
    match bao.get(&format!("sys/mounts/{mount}")) {
        Ok(v) => {
            let version = v["data"]["options"]["version"]
                .as_str()
                .or(v["options"]["version"].as_str());
            let kind = v["data"]["type"].as_str().or(v["type"].as_str());
            if kind != Some("kv") || version != Some("2") {
                return Err(TeamError::invalid(
                    "mount",
                    format!("{mount}/ is already used by another secrets engine; choose another mount for the team"),
                ));
            }
        }
        Err(BaoError::NotFound { .. } | BaoError::Status { status: 400, .. }) => {
            bao.post(
                &format!("sys/mounts/{mount}"),
                &json!({"type": "kv", "options": {"version": "2"},
                    "description": "Keywarden team vault"}),
            )?;
        }
        Err(e) => return Err(e.into()),
    }
    let auths = bao.get("sys/auth")?;
    // Members sign in at `userpass`; the broker at a mount of its own, which
    // the owners' policy does not reach (they cannot reset its password).
    for mount_path in [userpass.to_owned(), broker_userpass(userpass)] {
        let has = auths["data"][format!("{mount_path}/")].is_object() || auths[format!("{mount_path}/")].is_object();
        if !has {
            bao.post(&format!("sys/auth/{mount_path}"), &json!({"type": "userpass"}))?;
        }
    }
    for (what, text) in [
        ("member", member_policy(mount)),
        ("admin", admin_policy(mount)),
        ("owner", owner_policy(mount, userpass)),
        ("broker", broker_policy(mount)),
    ] {
        bao.put(
            &format!("sys/policies/acl/{}", policy_name(mount, what)),
            &json!({"policy": text}),
        )?;
    }
    for role in Role::ALL {
        let name = group_name(mount, role);
        let members = group_members(bao, &name)?;
        bao.post(
            &format!("identity/group/name/{name}"),
            &json!({"type": "internal", "policies": group_policies(mount, role), "member_entity_ids": members}),
        )?;
    }
    Ok(())
}

fn group_members(bao: &Bao, group: &str) -> Result<Vec<String>> {
    match bao.get(&format!("identity/group/name/{group}")) {
        Ok(v) => Ok(v["data"]["member_entity_ids"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default()),
        Err(BaoError::NotFound { .. }) => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

fn userpass_accessor(bao: &Bao, userpass: &str) -> Result<String> {
    let auths = bao.get("sys/auth")?;
    let m = if auths["data"].is_object() {
        &auths["data"]
    } else {
        &auths
    };
    m[format!("{userpass}/")]["accessor"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| TeamError::invalid("userpass", format!("no userpass sign-in is mounted at {userpass}/")))
}

/// The broker's own sign-in method: `<userpass>-broker`.
pub fn broker_userpass(userpass: &str) -> String {
    format!("{userpass}-broker")
}

/// Adds a member with `role` (IT with an admin token may also reset a
/// password this way; an owner's policy allows new users only). Their
/// OpenBao identity is made by signing in once with the new password, so
/// the role holds from their first request and no one needs the right to
/// write identities. The entity id.
pub fn add_member(
    bao: &Bao,
    mount: &str,
    userpass: &str,
    user: &str,
    password: &secrecy::SecretString,
    role: Role,
) -> Result<String> {
    check_user_name(user)?;
    if password.expose_secret().chars().count() < 12 {
        return Err(TeamError::invalid("password", "use at least 12 characters"));
    }
    bao.post(
        &format!("auth/{userpass}/users/{user}"),
        &json!({"password": password.expose_secret(), "token_ttl": "1h", "token_max_ttl": "24h"}),
    )?;
    let entity = first_sign_in(bao, userpass, user, password)?;
    set_role(bao, mount, &entity, Some(role))?;
    Ok(entity)
}

/// Signs in once as `user` (which creates their entity), revokes that
/// token at once, and returns the entity id.
fn first_sign_in(bao: &Bao, userpass: &str, user: &str, password: &secrecy::SecretString) -> Result<String> {
    let anon = bao.with_token(secrecy::SecretString::from(String::new()));
    let v = anon.post(
        &format!("auth/{userpass}/login/{user}"),
        &json!({"password": password.expose_secret()}),
    )?;
    let entity = v["auth"]["entity_id"]
        .as_str()
        .filter(|e| !e.is_empty())
        .ok_or_else(|| TeamError::invalid("member", "OpenBao made no identity for the new member"))?
        .to_owned();
    if let Some(token) = v["auth"]["client_token"].as_str() {
        let _ = bao
            .with_token(secrecy::SecretString::from(token.to_owned()))
            .post("auth/token/revoke-self", &json!({}));
    }
    Ok(entity)
}

/// The entity of `user` of the userpass method (made at their first
/// sign-in, or when they were added).
pub fn entity_for(bao: &Bao, userpass: &str, user: &str) -> Result<String> {
    let accessor = userpass_accessor(bao, userpass)?;
    match bao.post(
        "identity/lookup/entity",
        &json!({"alias_name": user, "alias_mount_accessor": accessor}),
    ) {
        Ok(v) if v["data"]["id"].is_string() => Ok(v["data"]["id"].as_str().unwrap_or_default().to_owned()),
        Ok(_) | Err(BaoError::NotFound { .. }) => Err(TeamError::NotFound {
            name: format!("{user} (not a member yet: add them with a password)"),
        }),
        Err(e) => Err(e.into()),
    }
}

/// Puts `entity` in the group of `role` and out of the others (`None`:
/// out of all, which ends their access to the team at once).
pub fn set_role(bao: &Bao, mount: &str, entity: &str, role: Option<Role>) -> Result<()> {
    for r in Role::ALL {
        let name = group_name(mount, r);
        let mut members = group_members(bao, &name)?;
        let had = members.iter().any(|m| m == entity);
        let wants = role == Some(r);
        if had == wants {
            continue;
        }
        if wants {
            members.push(entity.to_owned());
        } else {
            members.retain(|m| m != entity);
        }
        // Membership only: a group's policies are IT's (`create_team`).
        bao.post(
            &format!("identity/group/name/{name}"),
            &json!({"member_entity_ids": members}),
        )?;
    }
    Ok(())
}

/// Creates the broker's sign-in, on its own userpass mount
/// (`broker_userpass`): tokens that carry the broker policy only, not a
/// member of any role group. IT's (an admin token), never an owner's.
pub fn add_broker(
    bao: &Bao,
    mount: &str,
    userpass: &str,
    user: &str,
    password: &secrecy::SecretString,
) -> Result<String> {
    check_user_name(user)?;
    let broker_mount = broker_userpass(userpass);
    bao.post(
        &format!("auth/{broker_mount}/users/{user}"),
        &json!({"password": password.expose_secret(), "token_policies": [policy_name(mount, "broker")],
            "token_ttl": "1h", "token_max_ttl": "24h"}),
    )?;
    first_sign_in(bao, &broker_mount, user, password)
}

fn check_user_name(user: &str) -> Result<()> {
    let ok = !user.is_empty()
        && user.len() <= 64
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
    if ok {
        Ok(())
    } else {
        Err(TeamError::invalid(
            "user",
            format!("'{user}' is not a user name; use 1-64 letters, digits and - _ . @"),
        ))
    }
}
