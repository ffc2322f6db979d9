//! Entry points for the fuzz targets in `fuzz/` (`make fuzz`): what OpenBao
//! answers (and what a team vault's storage holds, which any owner or a
//! compromised node can write), as the team client reads it. Any bytes must
//! give an answer or an error, never a panic. Built only with `fuzzing`.

use serde_json::{Value, json};

use crate::card::{Card, state};
use crate::layout::{CredentialPath, Sharing};

/// Byte 0 picks the reader; the rest is OpenBao's JSON answer (or, for
/// storage paths, the text of a key in a listing).
pub fn team_answers(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    if pick % 6 == 5 {
        return storage_path(rest);
    }
    let Ok(v) = serde_json::from_slice::<Value>(rest) else {
        return;
    };
    match pick % 6 {
        0 => card(&v),
        1 => {
            // A token lookup: an identity names its entity.
            if let Ok(me) = crate::team::identity_from(&v, "keywarden") {
                assert!(!me.entity_id.is_empty(), "an identity without an entity");
            }
        }
        2 => {
            // A stored secret: only text fields come out.
            if let Ok(fields) = crate::team::secrets_from_json(&v) {
                for name in fields.names() {
                    assert!(v[name].is_string(), "a secret field {name} that was not text");
                }
            }
        }
        3 => {
            // An audit event: its hash is stable.
            if let Ok(e) = serde_json::from_value::<crate::audit::TeamEvent>(v) {
                assert_eq!(e.hash(), e.clone().hash());
            }
        }
        _ => {
            // The last-known listing kept for offline reading.
            if let Ok(l) = serde_json::from_value::<crate::session::Listing>(v) {
                let _ = serde_json::to_string(&l);
            }
        }
    }
}

/// A card read from metadata is written back to the same card.
fn card(meta: &Value) {
    let path = CredentialPath {
        sharing: Sharing::View,
        creator: "entity".into(),
        id: "id".into(),
    };
    let _ = state(meta);
    let _ = Card::from_metadata(path.clone(), meta);
    let Ok(Some(card)) = Card::parse(path.clone(), meta) else {
        return;
    };
    let _ = card.status(keywarden_core::timefmt::now());
    let written = json!({"custom_metadata": card.to_metadata(), "current_metadata_version": card.revision});
    match Card::parse(path, &written) {
        Ok(Some(again)) => assert_eq!(again, card, "a card changed on a write and read"),
        other => panic!("a card's own metadata did not read back: {other:?}"),
    }
}

/// A storage key parses to a path that writes back to the same key.
fn storage_path(text: &[u8]) {
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    for path in [CredentialPath::from_suffix(text), CredentialPath::from_shared_key(text)]
        .into_iter()
        .flatten()
    {
        assert_eq!(CredentialPath::from_suffix(&path.suffix()), Some(path.clone()));
        let _ = path.credential_id();
    }
}
