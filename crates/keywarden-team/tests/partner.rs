//! Partner API keys issued from a team vault: OpenBao holds their hashes
//! and revocation flags, never a key; the core's verifier checks them; the
//! roles are OpenBao's.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use keywarden_core::partner::{KeyEnv, Verified};
use keywarden_team::{BaoError, TeamError};
use serde_json::json;

#[test]
fn a_team_partner_key_is_kept_as_a_hash_verified_by_the_core_and_revoked_by_any_admin() {
    let team = Team::start();
    let (bob, carol, dave) = (team.sign_in("bob"), team.sign_in("carol"), team.sign_in("dave"));
    let broker = team.sign_in("broker");
    let now = keywarden_core::timefmt::now();

    let (key, plaintext) = bob
        .issue_partner_key(
            "adyen-payments",
            KeyEnv::Live,
            vec!["payments:write".into(), "invoices:read".into()],
            None,
        )
        .unwrap();
    assert!(plaintext.starts_with("kwp_live_"));
    let index = broker.partner_key_index().unwrap();
    match index.verify(&plaintext, now, Some("invoices:read")) {
        Verified::Valid {
            key_id, application, ..
        } => {
            assert_eq!(key_id, key.id);
            assert_eq!(application, "adyen-payments");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        index.verify(&plaintext, now, Some("ledger:write")),
        Verified::InsufficientScope { .. }
    ));
    let mut forged = plaintext.to_string();
    forged.pop();
    forged.push(if plaintext.ends_with('A') { 'B' } else { 'A' });
    assert_eq!(index.verify(&forged, now, None), Verified::Invalid);

    // Nothing OpenBao holds is the key.
    let root = team.server.root_client();
    let everything = format!(
        "{}{}",
        root.scan(&format!("{MOUNT}/detailed-metadata/pk/")).unwrap(),
        root.get(&format!("{MOUNT}/data/pkhk")).unwrap()
    );
    assert!(!everything.contains(plaintext.as_str()));
    let secret_part = plaintext.rsplit('_').next().unwrap();
    assert!(!everything.contains(secret_part));

    // A viewer can neither issue nor see keys; OpenBao itself refuses.
    let err = dave
        .issue_partner_key("x-app", KeyEnv::Live, vec!["invoices:read".into()], None)
        .unwrap_err();
    assert!(matches!(err, TeamError::NotAllowed { .. }), "{err}");
    assert!(matches!(dave.partner_keys(), Err(TeamError::NotAllowed { .. })));
    let raw = team.raw("dave").post(
        &format!("{MOUNT}/metadata/pk/forged"),
        &json!({"custom_metadata": {"kw": "pk", "hash": "00"}}),
    );
    assert!(matches!(raw, Err(BaoError::Forbidden { .. })), "{raw:?}");
    assert!(matches!(
        team.raw("dave").get(&format!("{MOUNT}/data/pkhk")),
        Err(BaoError::Forbidden { .. })
    ));

    // Another admin revokes it; the verifier says invalid from then on,
    // the same answer as for a key that never existed.
    let revoked = carol.revoke_partner_key(&key.id, "partner offboarded").unwrap();
    assert!(revoked.revoked);
    assert_eq!(revoked.revoked_by.as_deref(), Some("kwusers-carol"));
    assert_eq!(
        broker.partner_key_index().unwrap().verify(&plaintext, now, None),
        Verified::Invalid
    );
    assert!(carol.revoke_partner_key(&key.id, "again").unwrap().revoked);
    assert!(matches!(
        carol.revoke_partner_key(&key.id, "  "),
        Err(TeamError::Invalid { .. })
    ));

    // Both changes are in the audit, under each admin's identity.
    let events = team.sign_in("alice").audit(10).unwrap();
    let mine: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e.action.starts_with("partner_key"))
        .map(|e| (e.action.as_str(), e.actor_entity.as_str()))
        .collect();
    assert_eq!(
        mine,
        [
            ("partner_key.revoke", carol.identity().entity_id.as_str()),
            ("partner_key.issue", bob.identity().entity_id.as_str())
        ]
    );
    // Bad input: a clear error, nothing issued.
    assert!(bob.issue_partner_key("adyen", KeyEnv::Live, vec![], None).is_err());
    assert!(
        bob.issue_partner_key("adyen", KeyEnv::Live, vec!["everything".into()], None)
            .is_err()
    );
    assert_eq!(bob.partner_keys().unwrap().len(), 1);
}
