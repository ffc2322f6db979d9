//! The team broker: the one identity that reads shared secrets, on behalf
//! of members who may not. A member with "use" asks it to validate a
//! credential; a credential's creator or a team owner asks it to change a
//! shared credential's level (which needs the secret to move it).
//!
//! The broker never decides who may: it asks OpenBao with the member's own
//! token — can that token see the card (`use`)? can it create the
//! destination (`reshare`)? — and acts only on OpenBao's yes. The secret
//! never leaves the broker: callers get a verdict or a card.

use keywarden_core::{CredentialKind, Rejection, SecretString, Validator, Verdict};
use serde_json::{Value, json};

use crate::card::Card;
use crate::client::Bao;
use crate::error::{BaoError, Result, TeamError};
use crate::layout::Sharing;
use crate::team::{TeamVault, move_entry, secrets_from_json, sharing_words};

pub struct TeamBroker {
    /// Its own sign-in; replaced by a fresh one before the token's
    /// maximum lifetime ends (`replace_sign_in`).
    vault: std::sync::RwLock<std::sync::Arc<TeamVault>>,
}

/// The outcome of a validation the broker ran: never the secret.
#[derive(Debug)]
pub struct BrokerCheck {
    pub credential: String,
    pub kind: CredentialKind,
    pub result: std::result::Result<Verdict, Rejection>,
}

impl TeamBroker {
    /// `vault`: signed in with the broker's own sign-in (`add_broker`).
    pub fn new(vault: TeamVault) -> TeamBroker {
        TeamBroker {
            vault: std::sync::RwLock::new(std::sync::Arc::new(vault)),
        }
    }

    /// A fresh sign-in of the broker's, for a long-running service whose
    /// token nears its lifetime; requests in flight finish with the old one
    /// (each holds its own handle, not the lock).
    pub fn replace_sign_in(&self, vault: TeamVault) {
        *self.vault.write().unwrap_or_else(|p| p.into_inner()) = std::sync::Arc::new(vault);
    }

    /// The broker's sign-in now; the lock is held only to clone it.
    fn own(&self) -> std::sync::Arc<TeamVault> {
        self.vault.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The member behind `token`. Whatever the reason it opens nothing (no
    /// such token, revoked, no identity), the answer is the same.
    fn caller(&self, token: &SecretString) -> Result<TeamVault> {
        let own = self.own();
        TeamVault::with_token(own.client().nodes(), own.mount(), token.clone()).map_err(|e| match e {
            TeamError::Bao(BaoError::Unreachable { .. }) => e,
            _ => TeamError::SignedOut,
        })
    }

    /// Validates `name` for the member holding `caller_token`: OpenBao
    /// must show them its card (any sharing level, or their own personal
    /// credential is not the broker's: they read that themselves).
    pub fn validate_for(
        &self,
        caller_token: &SecretString,
        name: &str,
        validator: &dyn Validator,
    ) -> Result<BrokerCheck> {
        let caller = self.caller(caller_token)?;
        let card = caller.find(name)?;
        if card.path.sharing == Sharing::Personal {
            return Err(TeamError::invalid(
                "credential",
                "a personal credential is validated by its owner's own app, not the broker",
            ));
        }
        let own = self.own();
        let bao = own.client();
        let mount = own.mount();
        let config = read_config(bao, mount, &card)?;
        // A provider the machine's policy no longer allows is sent nothing.
        own.policy().check_provider(&crate::team::provider_of(&config))?;
        let secret = bao.get(&format!(
            "{mount}/data/{}?version={}",
            card.path.secret(),
            card.secret_version
        ))?;
        let secrets = secrets_from_json(&secret["data"]["data"])?;
        // Only the provider's own endpoints: see `checked_config`.
        let config = crate::team::checked_config(&config);
        let integration = crate::team::integration_of(&card.name, &config);
        let candidate = keywarden_core::Candidate {
            credential_name: &card.name,
            kind: card.kind,
            config: &config,
            secrets: &secrets,
            integration: integration.as_ref(),
        };
        let result = keywarden_core::validate::run(validator, &candidate);
        let outcome = match &result {
            Ok(_) => "passed".to_owned(),
            Err(r) => format!("failed: {}", r.failure.code()),
        };
        self.record(
            "credential.validate",
            &card,
            format!(
                "validated for {} ({}): {outcome}",
                caller.identity().display_name,
                caller.identity().entity_id
            ),
        )?;
        Ok(BrokerCheck {
            credential: card.name,
            kind: card.kind,
            result,
        })
    }

    /// Moves a shared credential to another shared level for the member
    /// holding `caller_token`, if OpenBao says that token may change the
    /// card at both places: its creator, or an owner.
    pub fn reshare(
        &self,
        caller_token: &SecretString,
        name: &str,
        sharing: Sharing,
        expected_revision: Option<u64>,
    ) -> Result<Card> {
        let caller = self.caller(caller_token)?;
        let card = caller.find(name)?;
        if card.path.sharing == sharing && expected_revision.is_none_or(|r| r == card.revision) {
            return Ok(card);
        }
        check_reshare(&card, sharing, expected_revision)?;
        let own = self.own();
        let mount = own.mount();
        let to = card.path.moved_to(sharing);
        // Its creator and owners may change both the source and the
        // destination card; an admin who manages it at "manage" may change
        // the source only, so cannot move it out of others' reach.
        let source = format!("{mount}/metadata/{}", card.path.secret());
        let dest = format!("{mount}/metadata/{}", to.secret());
        if !(may(caller.client(), &source, "update")? && may(caller.client(), &dest, "update")?) {
            return Err(TeamError::NotAllowed {
                what: format!(
                    "change the sharing of '{}' (only its creator or a team owner may)",
                    card.name
                ),
                path: dest,
            });
        }
        let bao = own.client();
        let secret = bao.get(&format!(
            "{mount}/data/{}?version={}",
            card.path.secret(),
            card.secret_version
        ))?;
        let config = read_config(bao, mount, &card)?;
        let moved = move_entry(
            bao,
            mount,
            &card,
            &to,
            &secret["data"]["data"],
            &config,
            caller.identity(),
        )?;
        // The name's claim says where the credential is now (best effort:
        // a stale claim only sends the next lookup to a scan).
        let claim = crate::layout::name_claim(sharing, &to.creator, &card.name);
        let _ = bao.post(
            &format!("{mount}/data/{claim}"),
            &json!({"data": {"id": moved.id(), "path": to.suffix(), "at": crate::now()}}),
        );
        self.record(
            "credential.share",
            &moved,
            format!(
                "{} → {} for {} ({})",
                sharing_words(card.path.sharing),
                sharing_words(sharing),
                caller.identity().display_name,
                caller.identity().entity_id
            ),
        )?;
        Ok(moved)
    }
}

/// A move the broker refuses: from a revision other than the one read,
/// from a personal card (its owner shares it), or back to personal.
fn check_reshare(card: &Card, sharing: Sharing, expected_revision: Option<u64>) -> Result<()> {
    if let Some(r) = expected_revision
        && r != card.revision
    {
        return Err(TeamError::Conflict {
            name: card.name.clone(),
            by: card.updated_by_name.clone(),
            at: card.updated_at.clone(),
            expected: r,
            actual: card.revision,
        });
    }
    if card.path.sharing == Sharing::Personal {
        return Err(TeamError::invalid(
            "sharing",
            "a personal credential is shared by its owner directly",
        ));
    }
    // Nothing personal is open to the broker, by design: a shared
    // secret never flows back into someone's private space.
    if sharing == Sharing::Personal {
        return Err(TeamError::invalid(
            "sharing",
            "a shared credential cannot become personal again; add it anew as personal and delete the shared one",
        ));
    }
    Ok(())
}

impl TeamBroker {
    /// An event in the team's audit chain, under the broker's identity.
    fn record(&self, action: &str, card: &Card, detail: String) -> Result<()> {
        let own = self.own();
        crate::audit::append_committed(
            own.client(),
            own.mount(),
            &crate::now(),
            crate::audit::Entry {
                actor_entity: &own.identity().entity_id,
                actor_name: &own.identity().display_name,
                action,
                credential_id: card.id(),
                credential_name: &card.name,
                detail,
            },
        )?;
        Ok(())
    }
}

/// OpenBao's answer to "may this token do `cap` on `path`?"
fn may(bao: &Bao, path: &str, cap: &str) -> Result<bool> {
    let v = bao.post("sys/capabilities-self", &json!({"paths": [path]}))?;
    let caps = v["data"][path]
        .as_array()
        .or(v[path].as_array())
        .or(v["data"]["capabilities"].as_array())
        .cloned()
        .unwrap_or_default();
    Ok(caps.iter().filter_map(Value::as_str).any(|c| c == cap || c == "root"))
}

fn read_config(bao: &Bao, mount: &str, card: &Card) -> Result<std::collections::BTreeMap<String, String>> {
    let v = bao
        .get(&format!(
            "{mount}/data/{}?version={}",
            card.path.config(),
            card.config_version
        ))
        .map_err(|e| match e {
            BaoError::NotFound { .. } => TeamError::NotFound {
                name: card.name.clone(),
            },
            other => other.into(),
        })?;
    serde_json::from_value(v["data"]["data"].clone()).map_err(|_| {
        TeamError::invalid(
            "configuration",
            format!("the configuration of '{}' is not readable", card.name),
        )
    })
}
