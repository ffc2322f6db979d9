//! The known-answer vectors of FORMAT.md, as data: each file in
//! `tests/vectors/` was computed by an implementation independent of ours
//! (`scripts/make-vectors.py`, Python's `cryptography`), and this one runner
//! checks the code against every file. A failing vector means vaults, keys
//! or documents written before no longer read the same.

use serde_json::Value;
use uuid::Uuid;

use crate::crypto::sealed::{self, FieldSlot};
use crate::crypto::{AuditMacKey, Dek, DekWrapKey, Kek, Keyring, PartnerHashKey, SigningSeed, VaultKey};
use crate::store::audit::{AuditEvent, Outcome};

fn vector(name: &str) -> Value {
    let text = match name {
        "derived_keys" => include_str!("../tests/vectors/derived_keys.json"),
        "key_wraps" => include_str!("../tests/vectors/key_wraps.json"),
        "sealed" => include_str!("../tests/vectors/sealed.json"),
        "audit_chain" => include_str!("../tests/vectors/audit_chain.json"),
        "partner_keys" => include_str!("../tests/vectors/partner_keys.json"),
        "signing" => include_str!("../tests/vectors/signing.json"),
        other => panic!("no vector file {other}"),
    };
    serde_json::from_str(text).unwrap()
}

fn bytes(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

fn key32(v: &Value) -> [u8; 32] {
    bytes(v).try_into().unwrap()
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap()
}

#[test]
fn the_five_keys_derived_from_a_vault_key_match_their_vectors() {
    let v = vector("derived_keys");
    let keyring = Keyring::derive(&VaultKey::from_bytes(key32(&v["vault_key_hex"])));
    let material = keyring.material_for_tests();
    let named = |label: &str| match label {
        "keywarden/sqlcipher/v1" => "SQLCipher key",
        "keywarden/dek-wrap/v1" => "DEK wrapping key",
        "keywarden/audit-mac/v1" => "audit MAC key",
        "keywarden/partner-key-hash/v1" => "partner-key hash key",
        "keywarden/ed25519-signing/v1" => "signing seed",
        other => panic!("a label the vector knows and the code does not: {other}"),
    };
    let derived = v["derived"].as_array().unwrap();
    assert_eq!(derived.len(), 5);
    for d in derived {
        let label = text(&d["label"]);
        let (_, got) = material.iter().find(|(n, _)| n == named(label)).unwrap();
        assert_eq!(hex::encode(got), text(&d["key_hex"]), "{label}");
    }
}

#[test]
fn a_vault_key_and_a_data_key_wrapped_to_the_vectors_unwrap_under_the_codes_aad() {
    let v = vector("key_wraps");
    let vault_id: Uuid = text(&v["vault_id"]).parse().unwrap();
    let vk = &v["vault_key"];
    let kek = Kek::from_bytes(key32(&vk["kek_hex"]));
    for w in vk["wraps"].as_array().unwrap() {
        let by = text(&w["wrapped_by"]);
        let aad = crate::header::wrap_aad(vault_id, by);
        assert_eq!(hex::encode(&aad), text(&w["aad_hex"]), "{by}");
        let unwrapped = kek.unwrap(&bytes(&w["wrapped_hex"]), &aad).unwrap();
        assert_eq!(
            hex::encode(unwrapped.bytes_for_tests()),
            text(&vk["vault_key_hex"]),
            "{by}"
        );
        // The other wrap's AAD does not open it.
        let other = if by == "kek" { "recovery" } else { "kek" };
        assert!(
            kek.unwrap(&bytes(&w["wrapped_hex"]), &crate::header::wrap_aad(vault_id, other))
                .is_err()
        );
    }
    let dk = &v["data_key"];
    let key_id = u32::try_from(dk["key_id"].as_u64().unwrap()).unwrap();
    let aad = crate::store::data_keys::aad(vault_id, key_id);
    assert_eq!(hex::encode(&aad), text(&dk["aad_hex"]));
    let wrap = DekWrapKey::from_bytes(key32(&dk["dek_wrap_hex"]));
    let dek = wrap.unwrap(&bytes(&dk["wrapped_hex"]), &aad).unwrap();
    assert_eq!(hex::encode(dek.bytes_for_tests()), text(&dk["dek_hex"]));
    assert!(
        wrap.unwrap(
            &bytes(&dk["wrapped_hex"]),
            &crate::store::data_keys::aad(vault_id, key_id + 1)
        )
        .is_err()
    );
}

#[test]
fn sealed_values_of_every_slot_kind_match_their_vectors_both_ways() {
    let v = vector("sealed");
    for c in v["cases"].as_array().unwrap() {
        let name = text(&c["name"]);
        let dek = Dek::from_bytes(key32(&c["key_hex"]));
        let slot = FieldSlot {
            credential_id: text(&c["credential_id"]).parse().unwrap(),
            field: text(&c["field"]),
            version: u32::try_from(c["version"].as_u64().unwrap()).unwrap(),
        };
        let key_id = u32::try_from(c["key_id"].as_u64().unwrap()).unwrap();
        let nonce: [u8; 12] = bytes(&c["nonce_hex"]).try_into().unwrap();
        let plain = bytes(&c["plaintext_hex"]);
        let blob = sealed::seal_with_nonce(&dek, key_id, &slot, &plain, &nonce).unwrap();
        assert_eq!(hex::encode(&blob), text(&c["blob_hex"]), "{name}");
        let expected = bytes(&c["blob_hex"]);
        assert_eq!(sealed::key_id_of(&expected).unwrap(), key_id, "{name}");
        assert_eq!(
            sealed::open(&dek, &slot, &expected).unwrap().as_slice(),
            plain.as_slice(),
            "{name}"
        );
        let elsewhere = FieldSlot {
            version: slot.version + 1,
            ..slot
        };
        assert!(
            sealed::open(&dek, &elsewhere, &expected).is_err(),
            "{name}: another slot opened it"
        );
    }
}

#[test]
fn the_audit_chain_of_the_vector_verifies_event_by_event_and_at_its_head() {
    let v = vector("audit_chain");
    let key = AuditMacKey::from_bytes(key32(&v["audit_key_hex"]));
    let genesis = crate::store::audit::genesis(&key);
    assert_eq!(hex::encode(genesis), text(&v["genesis_hex"]));
    let mut prev = genesis.to_vec();
    let events = v["events"].as_array().unwrap();
    for e in events {
        let at = text(&e["at"]);
        let event = AuditEvent {
            seq: e["seq"].as_i64().unwrap(),
            at: crate::timefmt::from_db(at).unwrap(),
            profile: text(&e["profile"]).into(),
            os_user: text(&e["os_user"]).into(),
            host: text(&e["host"]).into(),
            action: text(&e["action"]).into(),
            object_kind: text(&e["object_kind"]).into(),
            object_id: e["object_id"].as_str().map(str::to_owned),
            object_name: e["object_name"].as_str().map(str::to_owned),
            outcome: match text(&e["outcome"]) {
                "success" => Outcome::Success,
                "failure" => Outcome::Failure,
                "denied" => Outcome::Denied,
                other => panic!("{other}"),
            },
            detail: text(&e["detail"]).into(),
        };
        assert_eq!(hex::encode(&prev), text(&e["prev_mac_hex"]), "event {}", event.seq);
        let mac = crate::store::audit::event_mac(&key, &event, at, &prev);
        assert_eq!(hex::encode(mac), text(&e["mac_hex"]), "event {}", event.seq);
        prev = mac.to_vec();
    }
    let last = i64::try_from(events.len()).unwrap();
    assert_eq!(
        hex::encode(crate::store::audit::head_mac(&key, last, &prev)),
        text(&v["head_mac_hex"])
    );
}

#[test]
fn partner_keys_of_the_vector_parse_hash_as_stored_and_altered_ones_are_refused() {
    let v = vector("partner_keys");
    let hash_key = PartnerHashKey::from_hex(text(&v["hash_key_hex"])).unwrap();
    for c in v["cases"].as_array().unwrap() {
        let key = text(&c["key"]);
        let parsed = crate::partner::format::parse(key).unwrap();
        // The secret part is the vector's bytes in fixed-width base62.
        let secret = crate::partner::format::base62(&bytes(&c["secret_hex"]), 43);
        assert_eq!(&key[key.len() - 49..key.len() - 6], secret, "{key}");
        assert_eq!(parsed.id, text(&c["id"]));
        assert_eq!(parsed.env.as_str(), text(&c["env"]));
        assert_eq!(parsed.kind.as_str(), text(&c["kind"]));
        assert_eq!(
            hex::encode(crate::partner::key_hash(&hash_key, key)),
            text(&c["hash_hex"])
        );
    }
    for bad in v["refused"].as_array().unwrap() {
        assert!(crate::partner::format::parse(text(bad)).is_err(), "accepted {bad}");
    }
}

#[test]
fn the_signing_seed_of_the_vector_gives_its_public_key_and_signature() {
    let v = vector("signing");
    let seed = SigningSeed::from_bytes(key32(&v["seed_hex"]));
    assert_eq!(crate::partner::signing::public_key(&seed), text(&v["public_key"]));
    // The document as the vault signs a revocation list: fields in this
    // order, compact JSON, the bytes signed carried as they are.
    #[derive(serde::Serialize)]
    struct Revocations {
        format: &'static str,
        version: u32,
        issued_at: &'static str,
        revoked: Vec<String>,
    }
    let doc = Revocations {
        format: "keywarden-revocations",
        version: 1,
        issued_at: "2026-12-02T10:00:00.000000Z",
        revoked: Vec::new(),
    };
    let signed = crate::partner::signing::sign(&seed, &doc).unwrap();
    assert_eq!(signed.payload, text(&v["payload"]));
    assert_eq!(signed.signature, text(&v["signature"]));
    let payload = crate::partner::signing::verify(&signed, text(&v["public_key"])).unwrap();
    assert_eq!(payload, serde_json::to_vec(&doc).unwrap());
}
