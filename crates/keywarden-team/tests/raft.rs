//! A 3-node OpenBao Raft cluster on 127.0.0.1: the leader is killed
//! (SIGKILL) while an admin rotates a credential over and over. The
//! rotation in flight either completes or leaves the old secret in force,
//! nothing acknowledged is lost, and the clients carry on with the new
//! leader.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use keywarden_core::CredentialKind;
use keywarden_team::{NewTeamCredential, Sharing, TeamBroker, TeamVault};

struct Attempt {
    secret: String,
    started: Instant,
    ended: Instant,
    ok: bool,
    error: Option<String>,
}

#[test]
fn killing_the_leader_during_rotations_loses_nothing_and_clients_continue_on_the_new_leader() {
    let mut cluster = Cluster::start();
    setup_team(&cluster.root_client());
    let nodes = cluster.addrs();
    let bob = Arc::new(TeamVault::sign_in_userpass(&nodes, MOUNT, USERPASS, "bob", &password("bob")).unwrap());
    let broker = TeamBroker::new(
        TeamVault::sign_in_userpass(
            &nodes,
            MOUNT,
            &keywarden_team::admin::broker_userpass(USERPASS),
            "broker",
            &password("broker"),
        )
        .unwrap(),
    );
    bob.add(
        NewTeamCredential {
            name: "Pleo".into(),
            kind: CredentialKind::ApiKey,
            sharing: Sharing::Manage,
            config: Default::default(),
            secrets: api_key("pk_live_raft_000000_abcdef"),
            expires_at: None,
        },
        &AcceptAll::default(),
    )
    .unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let attempts = Arc::new(Mutex::new(Vec::<Attempt>::new()));
    let rotator = {
        let (bob, stop, attempts) = (bob.clone(), stop.clone(), attempts.clone());
        std::thread::spawn(move || {
            let mut i = 1;
            while !stop.load(Ordering::SeqCst) {
                let secret = format!("pk_live_raft_{i:06}_abcdef");
                let started = Instant::now();
                let r = bob.rotate("Pleo", api_key(&secret), None, &AcceptAll::default());
                attempts.lock().unwrap().push(Attempt {
                    secret,
                    started,
                    ended: Instant::now(),
                    ok: r.is_ok(),
                    error: r.err().map(|e| e.to_string()),
                });
                i += 1;
            }
        })
    };

    // Let rotations run, then kill the leader in the middle of them.
    std::thread::sleep(Duration::from_millis(700));
    let leader = cluster.leader();
    let killed_at = Instant::now();
    cluster.kill(leader);
    // Carry on until 20 rotations have succeeded after the kill.
    let done_after_kill = || {
        attempts
            .lock()
            .unwrap()
            .iter()
            .filter(|a| a.ok && a.started > killed_at)
            .count()
    };
    let waited = Instant::now();
    while done_after_kill() < 20 {
        assert!(
            waited.elapsed() < Duration::from_secs(90),
            "the clients did not continue on a new leader: {} rotations after the kill\n{}",
            done_after_kill(),
            cluster.log((leader + 1) % 3)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::SeqCst);
    rotator.join().unwrap();
    let new_leader = cluster.leader();
    assert_ne!(new_leader, leader);

    let attempts = attempts.lock().unwrap();
    let in_flight: Vec<_> = attempts
        .iter()
        .filter(|a| a.started <= killed_at && a.ended >= killed_at)
        .collect();
    assert_eq!(in_flight.len(), 1, "the kill landed between two rotations; rerun");
    let failed: Vec<_> = attempts.iter().filter(|a| !a.ok).collect();
    // The clients wait out the election: at most the rotation in flight
    // fails (its first write's answer lost with the leader), none after.
    assert!(
        failed.len() <= 1,
        "{} rotations failed during the election: {:?}",
        failed.len(),
        failed.iter().map(|a| a.error.clone()).collect::<Vec<_>>()
    );
    let last_ok = attempts.iter().rposition(|a| a.ok).unwrap();
    // The secret in force is the last acknowledged rotation's: every
    // failed attempt left the one before it in force (or, if its commit
    // landed just before the leader died, was itself the last write).
    let recorder = Recorder::default();
    broker.validate_for(bob.token(), "Pleo", &recorder).unwrap();
    let in_force = recorder.seen.lock().unwrap()[0].clone();
    let tail_ambiguous: Vec<&str> = attempts[last_ok + 1..].iter().map(|a| a.secret.as_str()).collect();
    assert!(
        in_force == attempts[last_ok].secret || tail_ambiguous.contains(&in_force.as_str()),
        "in force: {in_force}, last acknowledged: {}",
        attempts[last_ok].secret
    );
    // One credential, its mask that of the secret in force.
    let cards = bob.list().unwrap();
    assert_eq!(cards.len(), 1);
    assert!(in_force.ends_with(cards[0].masked.trim_start_matches('•')));
    // Every acknowledged rotation is in the audit, and the chain holds.
    let alice = TeamVault::sign_in_userpass(&nodes, MOUNT, USERPASS, "alice", &password("alice")).unwrap();
    let events = alice.audit(10_000).unwrap();
    let rotations = events.iter().filter(|e| e.action == "credential.rotate").count();
    let acknowledged = attempts.iter().filter(|a| a.ok).count();
    assert!(
        rotations >= acknowledged,
        "{rotations} audit events for {acknowledged} rotations"
    );
    alice.verify_audit().unwrap();
    let pause = attempts
        .iter()
        .find(|a| a.ok && a.started > killed_at)
        .map(|a| a.ended - killed_at)
        .unwrap();
    eprintln!(
        "leader n{leader} killed during a rotation; {} rotations, {} acknowledged, {} failed ({:?}); new leader n{new_leader}; \
         first rotation on it done {pause:?} after the kill",
        attempts.len(),
        acknowledged,
        failed.len(),
        failed
            .iter()
            .map(|a| a.error.clone().unwrap_or_default())
            .collect::<Vec<_>>()
    );
}
