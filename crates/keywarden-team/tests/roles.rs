//! Roles and sharing, enforced by OpenBao itself: each member's own token
//! calls OpenBao's HTTP API directly (not through Keywarden) on every
//! path of a credential at every sharing level, and OpenBao answers
//! exactly as the table in layout.rs promises.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use keywarden_core::{CredentialKind, SecretString};
use keywarden_team::{Bao, BaoError, Card, NewTeamCredential, Role, Sharing, TeamError};
use serde_json::json;

/// The raw operations a member could try on one credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    ReadCard,
    ListShared,
    ReadConfig,
    ReadSecret,
    WriteSecret,
    WriteCard,
    Delete,
}

const OPS: [Op; 7] = [
    Op::ReadCard,
    Op::ListShared,
    Op::ReadConfig,
    Op::ReadSecret,
    Op::WriteSecret,
    Op::WriteCard,
    Op::Delete,
];

/// What each actor may do with a credential bob (an admin) created at
/// each sharing level. `L` is "sees it in the shared list".
fn allowed(actor: &str, sharing: Sharing, op: Op) -> bool {
    use Op::*;
    use Sharing::*;
    let shared = sharing != Personal;
    match actor {
        // The creator: everything on their personal credential; on a
        // shared one everything but reading the secret.
        "bob" => match op {
            ReadSecret => sharing == Personal,
            ListShared => shared,
            _ => true,
        },
        // Another admin: the card of anything shared, the configuration
        // from "view", writes and delete at "manage".
        "carol" => match op {
            ReadCard | ListShared => shared,
            ReadConfig => matches!(sharing, View | Manage),
            ReadSecret => false,
            WriteSecret | WriteCard | Delete => sharing == Manage,
        },
        // An owner: manages every shared credential, never reads a secret,
        // never touches a personal one.
        "alice" => shared && op != ReadSecret,
        // A viewer: reads cards, and configuration from "view".
        "dave" => match op {
            ReadCard | ListShared => shared,
            ReadConfig => matches!(sharing, View | Manage),
            _ => false,
        },
        // No role in the team: nothing.
        "erin" => false,
        // The broker: every shared credential, secret included; nothing
        // of a personal one (it writes personal cards only when it moves
        // a credential back to its creator, which is not tried here).
        "broker" => shared,
        other => panic!("{other}?"),
    }
}

fn try_op(bao: &Bao, card: &Card, op: Op) -> Result<(), BaoError> {
    let m = MOUNT;
    let secret = card.path.secret();
    let r = match op {
        Op::ReadCard => bao.get(&format!("{m}/metadata/{secret}")),
        Op::ListShared => bao.scan(&format!("{m}/detailed-metadata/c/shared/")).and_then(|v| {
            // A refusal filtered out of a list counts as not seeing it.
            if v["data"]["key_info"]
                .as_object()
                .is_some_and(|k| k.keys().any(|k| k.ends_with(card.id())))
            {
                Ok(v)
            } else {
                Err(BaoError::Forbidden {
                    path: "list".into(),
                    detail: "not in the list".into(),
                })
            }
        }),
        Op::ReadConfig => bao.get(&format!("{m}/data/{}", card.path.config())),
        Op::ReadSecret => bao.get(&format!("{m}/data/{secret}")),
        Op::WriteSecret => bao.post(
            &format!("{m}/data/{secret}"),
            &json!({"data": {"api_key": "pk_live_overwritten000"}}),
        ),
        Op::WriteCard => bao.post(
            &format!("{m}/metadata/{secret}"),
            &json!({"custom_metadata": card.to_metadata()}),
        ),
        Op::Delete => bao.delete(&format!("{m}/metadata/{secret}")),
    };
    r.map(|_| ())
}

#[test]
fn each_role_and_sharing_level_can_do_exactly_what_it_should_and_openbao_refuses_the_rest() {
    let team = Team::start();
    let bob = team.sign_in("bob");
    let mut checked = 0;
    let mut mismatches = Vec::new();
    for actor in ["alice", "bob", "carol", "dave", "erin", "broker"] {
        let raw = team.raw(actor);
        for sharing in Sharing::ALL {
            // A fresh credential per actor and level: writes and deletes
            // that are allowed change it.
            let name = format!("{actor} {sharing}");
            let card = bob
                .add(
                    NewTeamCredential {
                        name: name.clone(),
                        kind: CredentialKind::ApiKey,
                        sharing,
                        config: [("base_url".to_owned(), "https://api.example.test".to_owned())].into(),
                        secrets: api_key("pk_live_0123456789abcdef"),
                        expires_at: None,
                    },
                    &AcceptAll::default(),
                )
                .unwrap();
            for op in OPS {
                let want = allowed(actor, sharing, op);
                let got = try_op(&raw, &card, op);
                checked += 1;
                match (&got, want) {
                    (Ok(()), true) => {}
                    (Err(BaoError::Forbidden { .. }), false) => {}
                    _ => mismatches.push(format!(
                        "{actor} {op:?} on {sharing}: expected {want}, OpenBao said {got:?}"
                    )),
                }
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {checked}:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    assert_eq!(checked, 6 * 4 * 7);
}

#[test]
fn the_ui_view_of_a_role_matches_what_openbao_enforces() {
    let team = Team::start();
    let bob = team.sign_in("bob");
    for sharing in Sharing::ALL {
        bob.add(
            NewTeamCredential {
                name: format!("Pleo {sharing}"),
                kind: CredentialKind::ApiKey,
                sharing,
                config: [("environment".to_owned(), "production".to_owned())].into(),
                secrets: api_key("pk_live_0123456789abcdef"),
                expires_at: None,
            },
            &AcceptAll::default(),
        )
        .unwrap();
    }
    // Roles come from OpenBao's groups, as the token says.
    for (user, role) in [("alice", "owner"), ("bob", "admin"), ("dave", "viewer")] {
        let v = team.sign_in(user);
        assert_eq!(v.identity().role().map(|r| r.as_str()), Some(role), "{user}");
    }
    assert_eq!(team.sign_in("erin").identity().role(), None);

    // Bob sees his personal one; nobody else does.
    let names =
        |user: &str| -> Vec<String> { team.sign_in(user).list().unwrap().into_iter().map(|c| c.name).collect() };
    assert_eq!(names("bob"), ["Pleo manage", "Pleo personal", "Pleo use", "Pleo view"]);
    for user in ["alice", "carol", "dave"] {
        assert_eq!(names(user), ["Pleo manage", "Pleo use", "Pleo view"], "{user}");
    }
    assert!(matches!(team.sign_in("erin").list(), Err(TeamError::NotAllowed { .. })));

    // "Use only" hides the configuration from the team; "view" shows it.
    let dave = team.sign_in("dave");
    assert!(dave.show("Pleo use").unwrap().config.is_none());
    assert_eq!(
        dave.show("Pleo view")
            .unwrap()
            .config
            .unwrap()
            .get("environment")
            .map(String::as_str),
        Some("production")
    );
    // A viewer's change is refused by OpenBao, with what to do.
    let err = dave
        .rotate(
            "Pleo manage",
            api_key("pk_live_fedcba9876543210"),
            None,
            &AcceptAll::default(),
        )
        .unwrap_err();
    assert!(matches!(err, TeamError::NotAllowed { .. }), "{err}");
    assert!(err.to_string().contains("Ask an owner"), "{err}");
    // Carol may rotate what is shared with "manage", not "view".
    let carol = team.sign_in("carol");
    carol
        .rotate(
            "Pleo manage",
            api_key("pk_live_fedcba9876543210"),
            None,
            &AcceptAll::default(),
        )
        .unwrap();
    assert!(matches!(
        carol.rotate(
            "Pleo view",
            api_key("pk_live_fedcba9876543210"),
            None,
            &AcceptAll::default()
        ),
        Err(TeamError::NotAllowed { .. })
    ));
}

#[test]
fn use_runs_a_validation_through_the_broker_and_never_reads_the_secret() {
    let team = Team::start();
    let bob = team.sign_in("bob");
    bob.add(
        NewTeamCredential {
            name: "Xledger".into(),
            kind: CredentialKind::ApiKey,
            sharing: Sharing::Use,
            // An endpoint of an editor's choosing: a check never goes there.
            config: [
                ("provider".to_owned(), "pleo".to_owned()),
                ("base_url".to_owned(), "https://attacker.example".to_owned()),
            ]
            .into(),
            secrets: api_key("pk_live_use_only_0123456789"),
            expires_at: None,
        },
        &AcceptAll::default(),
    )
    .unwrap();
    let broker = keywarden_team::TeamBroker::new(team.sign_in("broker"));
    let dave = team.sign_in("dave");
    // OpenBao refuses dave the secret itself.
    let card = dave.find("Xledger").unwrap();
    let direct = team.raw("dave").get(&format!("{MOUNT}/data/{}", card.path.secret()));
    assert!(matches!(direct, Err(BaoError::Forbidden { .. })), "{direct:?}");
    // The broker validates it for him; what comes back holds no secret.
    let recorder = Recorder::default();
    let check = broker.validate_for(dave.token(), "Xledger", &recorder).unwrap();
    assert!(check.result.is_ok());
    assert_eq!(
        recorder.seen.lock().unwrap().as_slice(),
        ["pk_live_use_only_0123456789"]
    );
    let given = recorder.configs.lock().unwrap()[0].clone();
    assert_eq!(given.get("provider").map(String::as_str), Some("pleo"));
    assert!(!given.contains_key("base_url"), "the check was pointed at {given:?}");
    assert!(!format!("{check:?}").contains("use_only"));
    // Someone outside the team, or a made-up token, gets nothing.
    let erin = team.sign_in("erin");
    assert!(broker.validate_for(erin.token(), "Xledger", &recorder).is_err());
    let forged = SecretString::from("s.notarealtoken".to_owned());
    assert!(broker.validate_for(&forged, "Xledger", &recorder).is_err());
    assert_eq!(recorder.seen.lock().unwrap().len(), 1);
    // The audit names both: the broker wrote it, for dave.
    let events = team.sign_in("alice").audit(1).unwrap();
    assert_eq!(events[0].action, "credential.validate");
    assert!(events[0].detail.contains(&dave.identity().entity_id), "{:?}", events[0]);
}

/// An owner adds members and sets roles, and nothing that would let them
/// act as someone else: no password reset, no user with a policy of their
/// choosing, nothing on the broker's sign-in, no policy or group-policy
/// writes, no identity aliases. OpenBao refuses each.
#[test]
fn an_owner_manages_members_but_cannot_become_anyone_else() {
    let team = Team::start();
    let root = team.server.root_client();
    let alice = team.raw("alice");
    let bob = team.sign_in("bob");
    let forbidden = |what: &str, r: Result<serde_json::Value, BaoError>| {
        assert!(matches!(r, Err(BaoError::Forbidden { .. })), "{what}: {r:?}");
    };
    let users = format!("auth/{USERPASS}/users");
    forbidden(
        "reset bob's password",
        alice.post(&format!("{users}/bob"), &json!({"password": "alice-knows-it-now"})),
    );
    forbidden(
        "a user with the broker's policy",
        alice.post(
            &format!("{users}/mallory"),
            &json!({"password": "mallory-password-1", "token_policies": [format!("kw-{MOUNT}-broker")]}),
        ),
    );
    forbidden("delete bob", alice.delete(&format!("{users}/bob")));
    let broker_users = format!("auth/{}/users/broker", keywarden_team::admin::broker_userpass(USERPASS));
    forbidden(
        "reset the broker's password",
        alice.post(&broker_users, &json!({"password": "alice-is-the-broker"})),
    );
    forbidden(
        "rewrite the owners' policy",
        alice.put(
            &format!("sys/policies/acl/kw-{MOUNT}-owner"),
            &json!({"policy": "path \"*\" { capabilities = [\"sudo\"] }"}),
        ),
    );
    forbidden(
        "give the owners' group the broker policy",
        alice.post(
            &format!("identity/group/name/kw-{MOUNT}-owners"),
            &json!({"policies": [format!("kw-{MOUNT}-broker")]}),
        ),
    );
    let accessor = root.get("sys/auth").unwrap()["data"][format!("{USERPASS}/")]["accessor"]
        .as_str()
        .unwrap()
        .to_owned();
    forbidden(
        "attach a sign-in to bob's identity",
        alice.post(
            "identity/entity-alias",
            &json!({"name": "alice2", "canonical_id": bob.identity().entity_id, "mount_accessor": accessor}),
        ),
    );
    // What an owner does do: add a member with a role, and end it.
    let grace = SecretString::from("grace-Passw0rd-long".to_owned());
    let entity = keywarden_team::admin::add_member(&alice, MOUNT, USERPASS, "grace", &grace, Role::Viewer).unwrap();
    let g = keywarden_team::TeamVault::sign_in_userpass(&team.nodes(), MOUNT, USERPASS, "grace", &grace).unwrap();
    assert_eq!(g.identity().role(), Some(Role::Viewer));
    keywarden_team::admin::set_role(&alice, MOUNT, &entity, None).unwrap();
    assert_eq!(
        keywarden_team::TeamVault::with_token(&team.nodes(), MOUNT, g.token().clone())
            .unwrap()
            .identity()
            .role(),
        None
    );
}

/// Issue 20, finding 1, per role: the owner and an admin with Manage may
/// edit a shared credential's configuration but never read its secret.
/// Whatever field they set that could name a server, no check (the
/// broker's, a rotation's) is pointed at it; and the provider, which picks
/// the service a check goes to, cannot be edited at all.
#[test]
fn no_endpoint_an_owner_or_manager_sets_reaches_a_check_and_the_provider_cannot_be_edited() {
    let team = Team::start();
    let bob = team.sign_in("bob");
    bob.add(
        NewTeamCredential {
            name: "Ledger".into(),
            kind: CredentialKind::ApiKey,
            sharing: Sharing::Manage,
            config: [("provider".to_owned(), "pleo".to_owned())].into(),
            secrets: api_key("pk_live_manage_only_0123456789"),
            expires_at: None,
        },
        &AcceptAll::default(),
    )
    .unwrap();
    let broker = keywarden_team::TeamBroker::new(team.sign_in("broker"));
    let dave = team.sign_in("dave");
    let endpoints = [
        "base_url",
        "check_url",
        "token_url",
        "authority",
        "api_url",
        "endpoint",
        "token_endpoint",
        "host",
        "issuer",
    ];
    for editor in ["alice", "carol"] {
        let member = team.sign_in(editor);
        for key in endpoints {
            let config = [
                ("provider".to_owned(), "pleo".to_owned()),
                (key.to_owned(), "https://attacker.example".to_owned()),
            ]
            .into();
            member
                .update(
                    "Ledger",
                    keywarden_team::TeamPatch {
                        config: Some(config),
                        ..Default::default()
                    },
                    None,
                )
                .unwrap_or_else(|e| panic!("{editor} sets {key}: {e}"));
            let recorder = Recorder::default();
            broker.validate_for(dave.token(), "Ledger", &recorder).unwrap();
            let given = recorder.configs.lock().unwrap()[0].clone();
            assert!(!given.contains_key(key), "{editor} pointed the check at {given:?}");
            assert!(!given.values().any(|v| v.contains("attacker")), "{editor}: {given:?}");
        }
        let to_xledger = member.update(
            "Ledger",
            keywarden_team::TeamPatch {
                config: Some([("provider".to_owned(), "xledger".to_owned())].into()),
                ..Default::default()
            },
            None,
        );
        match to_xledger {
            Err(e) => assert!(e.to_string().contains("provider"), "{editor}: {e}"),
            Ok(_) => panic!("{editor} moved the secret to another provider"),
        }
    }
    // Rotating checks with the same configuration: the member who enters
    // the new secret is not sent elsewhere either.
    let recorder = Recorder::default();
    bob.rotate("Ledger", api_key("pk_live_manage_only_9876543210"), None, &recorder)
        .unwrap();
    let given = recorder.configs.lock().unwrap()[0].clone();
    assert!(!given.values().any(|v| v.contains("attacker")), "{given:?}");
}
