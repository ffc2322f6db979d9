//! The card: what a team member sees of a credential in a list, kept as
//! the KV entry's custom metadata. It is also the credential's commit
//! point: it names the secret and configuration versions in force, and
//! every change ends with one check-and-set write of it. A change that
//! dies before that write leaves the previous card, and so the previous
//! credential, in force.

use std::collections::BTreeMap;

use keywarden_core::CredentialKind;
use serde_json::Value;
use time::OffsetDateTime;

use crate::error::{Result, TeamError};
use crate::layout::CredentialPath;

/// Where an entry is in its life, from the card's `kw` field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// The credential in force.
    Live,
    /// A delete committed; the entries are still to be removed.
    Deleting,
    /// A move committed: the credential now lives at `to` (a path suffix
    /// as `CredentialPath::suffix` writes it); this entry is to be removed.
    Moved { to: String },
    /// The target of a move, written before the move commits: in force
    /// only once its source says `Moved` to here.
    Moving,
}

pub fn state(meta: &Value) -> Option<State> {
    let custom = meta.get("custom_metadata")?;
    match custom.get("kw")?.as_str()? {
        "1" => Some(State::Live),
        "deleting" => Some(State::Deleting),
        "moving" => Some(State::Moving),
        "moved" => Some(State::Moved {
            to: custom.get("moved_to")?.as_str()?.to_owned(),
        }),
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    pub path: CredentialPath,
    pub name: String,
    pub kind: CredentialKind,
    /// `••••••••abcd`: the only view of the secret.
    pub masked: String,
    /// The names of its secret fields (`api_key`; a custom type's own),
    /// so a rotation asks for the right ones.
    pub secret_fields: Vec<String>,
    /// The KV version of the secret in force.
    pub secret_version: u64,
    /// The KV version of the configuration in force.
    pub config_version: u64,
    pub expires_at: Option<String>,
    pub enabled: bool,
    /// OpenBao entity id and display name of the last writer.
    pub updated_by: String,
    pub updated_by_name: String,
    pub updated_at: String,
    /// A random id of the write that made this card: a retried write
    /// recognises its own commit after a failover.
    pub write_id: String,
    /// OpenBao's metadata version: the revision a change is made from.
    pub revision: u64,
}

impl Card {
    pub fn creator(&self) -> &str {
        &self.path.creator
    }

    /// The credential's id (the same across moves).
    pub fn id(&self) -> &str {
        self.path.credential_id()
    }

    /// The custom metadata written to OpenBao (strings only: its format).
    pub fn to_metadata(&self) -> Value {
        let mut m = BTreeMap::new();
        m.insert("kw", "1".to_owned());
        m.insert("name", self.name.clone());
        m.insert("kind", self.kind.as_str().to_owned());
        m.insert("masked", self.masked.clone());
        m.insert("fields", self.secret_fields.join(","));
        m.insert("secret_version", self.secret_version.to_string());
        m.insert("config_version", self.config_version.to_string());
        if let Some(e) = &self.expires_at {
            m.insert("expires_at", e.clone());
        }
        m.insert("enabled", self.enabled.to_string());
        m.insert("updated_by", self.updated_by.clone());
        m.insert("updated_by_name", self.updated_by_name.clone());
        m.insert("updated_at", self.updated_at.clone());
        m.insert("write_id", self.write_id.clone());
        Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), Value::String(v))).collect())
    }

    /// A card from an entry's metadata (`metadata/<path>` or one
    /// `key_info` of a detailed list). `None` for an entry that has no
    /// card yet: an add that has not committed.
    pub fn from_metadata(path: CredentialPath, meta: &Value) -> Result<Option<Card>> {
        if state(meta) != Some(State::Live) {
            return Ok(None);
        }
        Self::parse(path, meta)
    }

    /// The card in `meta` whatever its state (a move's target while it
    /// is still marked moving, say).
    pub fn parse(path: CredentialPath, meta: &Value) -> Result<Option<Card>> {
        let Some(custom) = meta.get("custom_metadata").and_then(Value::as_object) else {
            return Ok(None);
        };
        let s = |k: &str| custom.get(k).and_then(Value::as_str).map(str::to_owned);
        let req =
            |k: &str| s(k).ok_or_else(|| TeamError::invalid("card", format!("the card of {} has no {k}", path.id)));
        let num = |k: &str| -> Result<u64> {
            req(k)?
                .parse()
                .map_err(|_| TeamError::invalid("card", format!("the card of {} has a bad {k}", path.id)))
        };
        Ok(Some(Card {
            name: req("name")?,
            kind: req("kind")?.parse()?,
            masked: req("masked")?,
            secret_fields: s("fields")
                .map(|f| f.split(',').filter(|x| !x.is_empty()).map(str::to_owned).collect())
                .unwrap_or_default(),
            secret_version: num("secret_version")?,
            config_version: num("config_version")?,
            expires_at: s("expires_at"),
            enabled: s("enabled").as_deref() != Some("false"),
            updated_by: req("updated_by")?,
            updated_by_name: req("updated_by_name")?,
            updated_at: req("updated_at")?,
            write_id: req("write_id")?,
            revision: meta
                .get("current_metadata_version")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            path,
        }))
    }

    /// Expired, expiring within 14 days, or active, as the local vault says.
    pub fn status(&self, now: OffsetDateTime) -> &'static str {
        if !self.enabled {
            return "disabled";
        }
        let Some(at) = self
            .expires_at
            .as_deref()
            .and_then(|e| OffsetDateTime::parse(e, &time::format_description::well_known::Rfc3339).ok())
        else {
            return "active";
        };
        if at <= now {
            "expired"
        } else if at - now <= time::Duration::days(keywarden_core::EXPIRING_WITHIN_DAYS) {
            "expiring"
        } else {
            "active"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Sharing;

    fn card() -> Card {
        Card {
            path: CredentialPath {
                sharing: Sharing::Manage,
                creator: "e1".into(),
                id: "c1".into(),
            },
            name: "Pleo payroll".into(),
            kind: CredentialKind::ApiKey,
            masked: "••••••••abcd".into(),
            secret_fields: vec!["api_key".into()],
            secret_version: 3,
            config_version: 2,
            expires_at: Some("2027-01-01T00:00:00Z".into()),
            enabled: true,
            updated_by: "e1".into(),
            updated_by_name: "userpass-alice".into(),
            updated_at: "2026-11-23T20:00:00Z".into(),
            write_id: "w1".into(),
            revision: 0,
        }
    }

    #[test]
    fn a_card_survives_the_trip_through_custom_metadata() {
        let c = card();
        let meta = serde_json::json!({"custom_metadata": c.to_metadata(), "current_metadata_version": 0});
        assert_eq!(Card::from_metadata(c.path.clone(), &meta).unwrap(), Some(c));
    }

    #[test]
    fn an_entry_without_a_card_is_an_uncommitted_add_not_an_error() {
        let p = card().path;
        assert_eq!(
            Card::from_metadata(p.clone(), &serde_json::json!({"custom_metadata": null})).unwrap(),
            None
        );
        assert_eq!(
            Card::from_metadata(p, &serde_json::json!({"custom_metadata": {"x": "y"}})).unwrap(),
            None
        );
    }

    #[test]
    fn a_card_missing_a_field_is_a_clear_error() {
        let c = card();
        let mut m = c.to_metadata();
        m.as_object_mut().unwrap().remove("secret_version");
        let err = Card::from_metadata(c.path, &serde_json::json!({"custom_metadata": m})).unwrap_err();
        assert!(err.to_string().contains("secret_version"), "{err}");
    }

    #[test]
    fn expiry_gives_the_same_statuses_as_the_local_vault() {
        let now =
            OffsetDateTime::parse("2026-12-20T00:00:00Z", &time::format_description::well_known::Rfc3339).unwrap();
        let mut c = card();
        assert_eq!(c.status(now), "expiring");
        c.expires_at = Some("2026-12-01T00:00:00Z".into());
        assert_eq!(c.status(now), "expired");
        c.expires_at = None;
        assert_eq!(c.status(now), "active");
        c.enabled = false;
        assert_eq!(c.status(now), "disabled");
    }
}
