//! A team vault on a real OpenBao: conflicts between admins, the audit's
//! identities, sharing moves, names, sign-in and sign-out.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Barrier};

use common::*;
use keywarden_core::{CredentialKind, SecretString};
use keywarden_team::{BaoError, Card, NewTeamCredential, Sharing, TeamBroker, TeamError, TeamPatch, TeamVault};
use serde_json::json;

fn add(v: &TeamVault, name: &str, sharing: Sharing, secret: &str, config: &[(&str, &str)]) -> Card {
    v.add(
        NewTeamCredential {
            name: name.into(),
            kind: CredentialKind::ApiKey,
            sharing,
            config: config.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            secrets: api_key(secret),
            expires_at: None,
        },
        &AcceptAll::default(),
    )
    .unwrap()
}

fn counter(v: &TeamVault, name: &str) -> (u64, u64) {
    let c = v.show(name).unwrap();
    let n = c.config.unwrap()["n"].parse().unwrap();
    (n, c.card.revision)
}

#[test]
fn two_admins_editing_the_same_credential_100_runs_lose_no_update() {
    let team = Team::start();
    let bob = team.sign_in("bob");
    let carol = team.sign_in("carol");
    add(
        &bob,
        "Counter",
        Sharing::Manage,
        "pk_live_0123456789abcdef",
        &[("n", "0")],
    );
    let (bob, carol) = (Arc::new(bob), Arc::new(carol));
    let runs = 100;
    let mut conflicts = 0;
    for run in 0..runs {
        let barrier = Arc::new(Barrier::new(2));
        let handles: Vec<_> = [(bob.clone(), "kwusers-carol"), (carol.clone(), "kwusers-bob")]
            .into_iter()
            .map(|(me, other)| {
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    let mut refused = 0;
                    let mut first = true;
                    loop {
                        // Both read the same revision, then write at once.
                        let (n, rev) = counter(&me, "Counter");
                        if first {
                            barrier.wait();
                            first = false;
                        }
                        let patch = TeamPatch {
                            config: Some([("n".to_owned(), (n + 1).to_string())].into()),
                            ..Default::default()
                        };
                        match me.update("Counter", patch, Some(rev)) {
                            Ok(_) => return refused,
                            Err(TeamError::Conflict { by, .. }) => {
                                // The conflict names the other admin's change.
                                assert_eq!(by, other, "run {run}");
                                refused += 1;
                            }
                            Err(e) => panic!("run {run}: {e}"),
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            conflicts += h.join().unwrap();
        }
        let (n, _) = counter(&bob, "Counter");
        assert_eq!(n, 2 * (run + 1), "run {run}: an update was lost");
    }
    // Most runs raced for real: both wrote from the same revision.
    assert!(
        conflicts >= runs as usize / 2,
        "only {conflicts} conflicts in {runs} runs"
    );
    eprintln!(
        "{runs} runs: {} increments, {conflicts} stale writes refused and redone, 0 lost",
        2 * runs
    );
}

#[test]
fn two_admins_rotating_at_once_leave_exactly_the_winners_secret_in_force() {
    let team = Team::start();
    let bob = Arc::new(team.sign_in("bob"));
    let carol = Arc::new(team.sign_in("carol"));
    add(&bob, "Pleo", Sharing::Manage, "pk_live_initial_000000000", &[]);
    let broker = TeamBroker::new(team.sign_in("broker"));
    for run in 0..25 {
        let rev = bob.find("Pleo").unwrap().revision;
        let barrier = Arc::new(Barrier::new(2));
        let handles: Vec<_> = [(bob.clone(), "b"), (carol.clone(), "c")]
            .into_iter()
            .map(|(me, who)| {
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    let secret = format!("pk_live_{who}{run:03}_0123456789");
                    barrier.wait();
                    (
                        secret.clone(),
                        me.rotate("Pleo", api_key(&secret), Some(rev), &AcceptAll::default()),
                    )
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let winners: Vec<_> = results.iter().filter(|(_, r)| r.is_ok()).collect();
        assert_eq!(
            winners.len(),
            1,
            "run {run}: {:?}",
            results.iter().map(|r| r.1.is_ok()).collect::<Vec<_>>()
        );
        for (_, r) in &results {
            if let Err(e) = r {
                assert!(matches!(e, TeamError::Conflict { .. }), "run {run}: {e}");
            }
        }
        // What is in force is the winner's secret, with the winner's mask.
        let recorder = Recorder::default();
        broker.validate_for(bob.token(), "Pleo", &recorder).unwrap();
        assert_eq!(recorder.seen.lock().unwrap()[0], winners[0].0, "run {run}");
        let card = bob.find("Pleo").unwrap();
        assert!(winners[0].0.ends_with(card.masked.trim_start_matches('•')), "run {run}");
    }
}

#[test]
fn the_audit_records_the_openbao_identity_of_the_admin_for_every_change() {
    let team = Team::start();
    let root = team.server.root_client();
    let (alice, bob, carol) = (team.sign_in("alice"), team.sign_in("bob"), team.sign_in("carol"));
    add(
        &bob,
        "Xledger",
        Sharing::Manage,
        "pk_live_xledger_000000000",
        &[("tenant", "1")],
    );
    carol
        .rotate(
            "Xledger",
            api_key("pk_live_xledger_111111111"),
            None,
            &AcceptAll::default(),
        )
        .unwrap();
    alice
        .update(
            "Xledger",
            TeamPatch {
                enabled: Some(false),
                ..Default::default()
            },
            None,
        )
        .unwrap();
    add(&bob, "Mine", Sharing::Personal, "pk_live_personal_00000000", &[]);
    bob.share("Mine", Sharing::View, None).unwrap();
    carol.delete("Xledger", None).unwrap();

    let events = alice.audit(100).unwrap();
    let actions: Vec<(&str, &str)> = events
        .iter()
        .rev()
        .map(|e| (e.action.as_str(), e.actor_name.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("credential.add", "kwusers-bob"),
            ("credential.rotate", "kwusers-carol"),
            ("credential.update", "kwusers-alice"),
            ("credential.add", "kwusers-bob"),
            ("credential.share", "kwusers-bob"),
            ("credential.delete", "kwusers-carol"),
        ]
    );
    // Each event's identity is the entity OpenBao holds for that user.
    for e in &events {
        let user = e.actor_name.trim_start_matches("kwusers-");
        let entity = keywarden_team::admin::entity_for(&root, USERPASS, user).unwrap();
        assert_eq!(e.actor_entity, entity, "{e:?}");
    }
    assert_eq!(alice.verify_audit().unwrap(), 6);

    // Carol cannot write an event as bob: OpenBao refuses the path.
    let forged = json!({"options": {"cas": 0}, "data": {"seq": 7, "actor_entity": bob.identity().entity_id}});
    let path = format!("{MOUNT}/data/a/e/{}/000000000007-forged", bob.identity().entity_id);
    assert!(matches!(
        team.raw("carol").post(&path, &forged),
        Err(BaoError::Forbidden { .. })
    ));
    // Nor rewrite her own event (create only).
    let head = root.get(&format!("{MOUNT}/data/a/head")).unwrap();
    let key = head["data"]["data"]["key"].as_str().unwrap().to_owned();
    let rewrite = team
        .raw("carol")
        .post(&format!("{MOUNT}/data/a/e/{key}"), &json!({"data": {"seq": 6}}));
    assert!(matches!(rewrite, Err(BaoError::Forbidden { .. })), "{rewrite:?}");
    // An event edited behind OpenBao's policies (root) is named.
    let mut edited = root.get(&format!("{MOUNT}/data/a/e/{key}")).unwrap()["data"]["data"].clone();
    edited["detail"] = json!("nothing happened");
    root.post(&format!("{MOUNT}/data/a/e/{key}"), &json!({"data": edited}))
        .unwrap();
    match alice.verify_audit() {
        Err(TeamError::AuditBroken { seq: 6, reason }) => assert!(reason.contains("hash"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn sharing_moves_a_credential_keeps_its_id_and_secret_and_only_its_creator_or_an_owner_moves_it() {
    let team = Team::start();
    let (alice, bob, carol) = (team.sign_in("alice"), team.sign_in("bob"), team.sign_in("carol"));
    let broker = TeamBroker::new(team.sign_in("broker"));
    let card = add(
        &bob,
        "Pleo",
        Sharing::Personal,
        "pk_live_pleo_secret_0000",
        &[("env", "prod")],
    );
    assert!(carol.find("Pleo").is_err());
    let shared = bob.share("Pleo", Sharing::Use, None).unwrap();
    assert_eq!(shared.id(), card.id());
    assert!(carol.show("Pleo").unwrap().config.is_none());
    // The secret moved intact.
    let rec = Recorder::default();
    broker.validate_for(carol.token(), "Pleo", &rec).unwrap();
    assert_eq!(rec.seen.lock().unwrap()[0], "pk_live_pleo_secret_0000");
    // Only its creator or an owner changes its level.
    let err = broker
        .reshare(carol.token(), "Pleo", Sharing::Manage, None)
        .unwrap_err();
    assert!(matches!(err, TeamError::NotAllowed { .. }), "{err}");
    broker.reshare(bob.token(), "Pleo", Sharing::View, None).unwrap();
    assert_eq!(carol.show("Pleo").unwrap().config.unwrap()["env"], "prod");
    let moved = broker.reshare(alice.token(), "Pleo", Sharing::Manage, None).unwrap();
    // The name's claim follows the credential.
    let root = team.server.root_client();
    let claim = keywarden_team::layout::name_claim(Sharing::Manage, "any", "Pleo");
    let claim = root.get(&format!("{MOUNT}/data/{claim}")).unwrap();
    assert_eq!(claim["data"]["data"]["path"], moved.path.suffix());
    carol
        .rotate("Pleo", api_key("pk_live_pleo_rotated_000"), None, &AcceptAll::default())
        .unwrap();
    // Never back into someone's private space.
    assert!(broker.reshare(bob.token(), "Pleo", Sharing::Personal, None).is_err());
    let names: Vec<_> = carol
        .list()
        .unwrap()
        .into_iter()
        .map(|c| (c.name.clone(), c.id().to_owned()))
        .collect();
    assert_eq!(names, [("Pleo".to_owned(), card.id().to_owned())]);
}

#[test]
fn a_move_stopped_before_its_commit_leaves_the_old_credential_and_one_stopped_after_is_finished() {
    let team = Team::start();
    let root = team.server.root_client();
    let bob = team.sign_in("bob");
    let card = add(&bob, "Pleo", Sharing::Use, "pk_live_pleo_secret_0000", &[]);
    let m = |rel: &str| format!("{MOUNT}/metadata/{rel}");
    let d = |rel: &str| format!("{MOUNT}/data/{rel}");

    // Stopped before the commit: a target marked moving, the source live.
    let to = card.path.moved_to(Sharing::Manage);
    root.post(
        &d(&to.secret()),
        &json!({"data": {"api_key": "pk_live_pleo_secret_0000"}}),
    )
    .unwrap();
    let mut moving = card.to_metadata();
    moving["kw"] = json!("moving");
    root.post(&m(&to.secret()), &json!({"custom_metadata": moving}))
        .unwrap();
    let list = bob.list().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].path, card.path, "the old credential stays in force");

    // Stopped after the commit: the source says moved, the target still
    // says moving. The list shows the target once; the next change
    // finishes the move.
    let mut moved = card.to_metadata();
    moved["kw"] = json!("moved");
    moved["moved_to"] = json!(to.suffix());
    root.post(&m(&card.path.secret()), &json!({"custom_metadata": moved}))
        .unwrap();
    let list = bob.list().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].path, to);
    bob.update(
        "Pleo",
        TeamPatch {
            enabled: Some(false),
            ..Default::default()
        },
        None,
    )
    .unwrap();
    assert!(matches!(
        root.get(&m(&card.path.secret())),
        Err(BaoError::NotFound { .. })
    ));
    let now = root.get(&m(&to.secret())).unwrap();
    assert_eq!(now["data"]["custom_metadata"]["kw"], "1");
    assert_eq!(now["data"]["custom_metadata"]["enabled"], "false");
    // The name's claim was stale (it named the old place); finishing the
    // move pointed it at the new one, so lookups by name need no scan.
    let claim = keywarden_team::layout::name_claim(Sharing::Manage, &to.creator, "Pleo");
    let claim = root.get(&d(&claim)).unwrap();
    assert_eq!(claim["data"]["data"]["path"], to.suffix());
}

#[test]
fn a_name_is_taken_once_even_by_two_admins_at_once_and_a_dead_adds_claim_is_reused() {
    let team = Team::start();
    let bob = Arc::new(team.sign_in("bob"));
    let carol = Arc::new(team.sign_in("carol"));
    for run in 0..10 {
        let name = format!("Race {run}");
        let barrier = Arc::new(Barrier::new(2));
        let handles: Vec<_> = [bob.clone(), carol.clone()]
            .into_iter()
            .map(|me| {
                let (barrier, name) = (barrier.clone(), name.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    me.add(
                        NewTeamCredential {
                            name,
                            kind: CredentialKind::ApiKey,
                            sharing: Sharing::View,
                            config: Default::default(),
                            secrets: api_key("pk_live_0123456789abcdef"),
                            expires_at: None,
                        },
                        &AcceptAll::default(),
                    )
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "run {run}");
        assert!(
            results.iter().any(|r| matches!(r, Err(TeamError::Duplicate { .. }))),
            "run {run}"
        );
    }
    assert_eq!(bob.list().unwrap().len(), 10);
    // Names compare without case.
    let again = bob.add(
        NewTeamCredential {
            name: "race 3".into(),
            kind: CredentialKind::ApiKey,
            sharing: Sharing::Use,
            config: Default::default(),
            secrets: api_key("pk_live_0123456789abcdef"),
            expires_at: None,
        },
        &AcceptAll::default(),
    );
    assert!(matches!(again, Err(TeamError::Duplicate { .. })));
    // A claim whose add died before its card: the name is free again.
    let root = team.server.root_client();
    let claim = keywarden_team::layout::name_claim(Sharing::Use, "x", "Ghost");
    root.post(&format!("{MOUNT}/data/{claim}"), &json!({"data": {"id": "dead-add"}}))
        .unwrap();
    add(&bob, "Ghost", Sharing::Use, "pk_live_0123456789abcdef", &[]);
}

#[test]
fn a_token_is_renewed_before_expiry_and_sign_out_revokes_it_everywhere() {
    let team = Team::start();
    let mut bob = team.sign_in("bob");
    assert!(bob.identity().renewable);
    // A period of 3 h: the 1 h token has less than a third left, so renew.
    let before = bob.identity().ttl_seconds;
    let after = bob.renew_if_due(3 * 3600).unwrap();
    assert!(after >= before, "{before} → {after}");
    // A period of 1 h: more than a third is left; nothing is asked.
    assert_eq!(bob.renew_if_due(3600).unwrap(), bob.identity().ttl_seconds);
    let copy = SecretString::from(keywarden_core::ExposeSecret::expose_secret(bob.token()).to_owned());
    bob.sign_out().unwrap();
    // The token is gone at OpenBao: a copy of it opens nothing.
    let err = TeamVault::with_token(&team.nodes(), MOUNT, copy).unwrap_err();
    assert!(matches!(err, TeamError::SignedOut), "{err}");
    // A wrong password is a clear error that names no secret.
    let err = TeamVault::sign_in_userpass(
        &team.nodes(),
        MOUNT,
        USERPASS,
        "bob",
        &SecretString::from("wrong-password".to_owned()),
    )
    .unwrap_err();
    assert!(err.to_string().contains("user name or password is wrong"), "{err}");
}

#[test]
fn an_unreachable_team_vault_is_a_clear_error_naming_the_address() {
    let port = free_port();
    let nodes = [format!("http://127.0.0.1:{port}")];
    let mut bao = keywarden_team::Bao::new(&nodes, SecretString::from("x".to_owned())).unwrap();
    bao.set_failover_window(std::time::Duration::from_millis(300));
    let err = bao.get("sys/health").unwrap_err();
    assert!(matches!(err, BaoError::Unreachable { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("127.0.0.1:{port}")) && msg.contains("read-only"),
        "{msg}"
    );
    // Not an address: said before any request.
    let err = keywarden_team::Bao::new(&["bao.example.org".to_owned()], SecretString::from(String::new())).unwrap_err();
    assert!(err.to_string().contains("https://"), "{err}");
}
