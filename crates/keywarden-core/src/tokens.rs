//! OAuth 2.0 access tokens obtained with a credential's secrets (client
//! credentials, or a refresh token), cached sealed so that workflows do not
//! ask the provider for a new one on every use.
//!
//! The vault keeps the token and the bookkeeping; the request to the token
//! endpoint is the connectors' (`TokenBroker` there): the core knows no
//! HTTP. Every hand-out is a `credential.use`, every refresh a
//! `credential.refresh` in the audit log. A refresh token the provider
//! rotates is stored at once as a new version and the spent one erased;
//! `invalid_grant` puts the credential in `error` ("reconnection
//! required") at once — no retry can fix a revoked grant.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, params};
use secrecy::{ExposeSecret, SecretString};
use time::{Duration, OffsetDateTime};

use crate::crypto::sealed::FieldSlot;
use crate::error::{Error, Result};
use crate::model::{CredentialKind, Status};
use crate::secret::SecretFields;
use crate::store::audit::Outcome;
use crate::store::checks::{self, Check, CheckOutcome};
use crate::store::credentials as creds;
use crate::store::sealed_values::TOKEN_FIELD;
use crate::validate::Failure;
use crate::vault::{ev, use_event};
use crate::{Vault, timefmt};

/// What a refresh needs: the version whose secrets are used, the
/// configuration (token URL, client id, grant) and the secrets.
pub struct RefreshInputs {
    pub version: u32,
    pub config: BTreeMap<String, String>,
    pub secrets: SecretFields,
}

/// An access token handed out, with until when it is valid (when the
/// provider said).
pub struct AccessToken {
    pub token: SecretString,
    pub expires_at: Option<OffsetDateTime>,
}

/// What the token endpoint returned.
pub struct Obtained {
    pub access_token: SecretString,
    pub expires_at: Option<OffsetDateTime>,
    /// A new refresh token (RFC 6749 §6): the old one is spent.
    pub refresh_token: Option<SecretString>,
    /// The new refresh token's own expiry, when the provider says it.
    pub refresh_expires_at: Option<OffsetDateTime>,
}

/// What may be shown of an OAuth 2.0 credential's access token: when the
/// cached one was obtained and until when it is valid, never the token.
#[derive(Debug, Clone, serde::Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TokenState {
    /// An access token is cached for the current version.
    pub cached: bool,
    /// When the cached token was obtained (a Connect or a refresh).
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub obtained_at: Option<OffsetDateTime>,
    /// Until when it is valid; null when the provider did not say.
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub valid_until: Option<OffsetDateTime>,
    /// Valid now (it may still be inside the refresh margin).
    pub valid: bool,
}

impl Vault {
    /// The state of the credential's cached access token, read without
    /// opening it (so it is not a use and is not audited). A token
    /// obtained by an older version does not count.
    pub fn access_token_state(&mut self, reference: &str) -> Result<TokenState> {
        let row = creds::get(self.conn(), reference)?;
        if row.kind != CredentialKind::OAuth2 {
            return Err(Error::invalid(
                "credential",
                format!("'{}' is not an OAuth 2.0 credential; it has no access token", row.name),
            ));
        }
        let now = self.now();
        let cached: Option<(u32, Option<String>, String)> = self
            .conn()
            .query_row(
                "SELECT version, expires_at, obtained_at FROM token_cache WHERE credential_id = ?1",
                [row.id.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        match cached {
            Some((version, expires_at, obtained_at)) if version == row.current_version => {
                let valid_until = timefmt::opt_from_db(expires_at)?;
                Ok(TokenState {
                    cached: true,
                    obtained_at: Some(timefmt::from_db(&obtained_at)?),
                    valid_until,
                    valid: valid_until.is_none_or(|t| t > now),
                })
            }
            _ => Ok(TokenState {
                cached: false,
                obtained_at: None,
                valid_until: None,
                valid: false,
            }),
        }
    }

    fn oauth_row(&mut self, reference: &str, purpose: &str) -> Result<creds::Row> {
        let row = creds::get(self.conn(), reference)?;
        let refusal = match row.status {
            Status::Disabled | Status::Revoked => Some(Error::CredentialDisabled {
                name: row.name.clone(),
                reason: self.disable_reason(row.id),
            }),
            _ if row.needs_reentry || row.current_version == 0 => Some(Error::NeedsReentry { name: row.name.clone() }),
            _ if row.kind != CredentialKind::OAuth2 => Some(Error::invalid(
                "credential",
                format!(
                    "'{}' is not an OAuth 2.0 credential; it has no access token to refresh",
                    row.name
                ),
            )),
            _ => None,
        };
        match refusal {
            Some(err) => Err(self.refuse_use(&row, Outcome::Denied, purpose, err)),
            None => Ok(row),
        }
    }

    /// The cached access token, when it was obtained by the current version
    /// and stays valid beyond `margin`; handed out as an audited use.
    /// `None`: a refresh is needed.
    pub fn cached_access_token(
        &mut self,
        reference: &str,
        margin: Duration,
        purpose: &str,
    ) -> Result<Option<AccessToken>> {
        let row = self.oauth_row(reference, purpose)?;
        let now = self.now();
        // The cached blob and the data key that opens it, from one snapshot.
        let token = self.read(|conn| {
            let cached: Option<(u32, Vec<u8>, Option<String>)> = conn
                .query_row(
                    "SELECT version, sealed, expires_at FROM token_cache WHERE credential_id = ?1",
                    [row.id.to_string()],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let Some((version, blob, expires_at)) = cached else {
                return Ok(None);
            };
            let expires_at = timefmt::opt_from_db(expires_at)?;
            if version != row.current_version || expires_at.is_some_and(|e| e <= now + margin) {
                return Ok(None);
            }
            let expires_at_kept = expires_at;
            let plain = self.open_slot_in(
                conn,
                &FieldSlot {
                    credential_id: row.id,
                    field: TOKEN_FIELD,
                    version,
                },
                &blob,
            )?;
            String::from_utf8(plain.to_vec())
                .map(|t| Some((t, expires_at_kept)))
                .map_err(|_| Error::Decryption)
        })?;
        let Some((token, expires_at)) = token else {
            return Ok(None);
        };
        let detail = format!("{purpose} (cached access token)");
        self.write(|tx| {
            creds::touch_last_used(tx, row.id, now)?;
            tx.audit(use_event(&row, Outcome::Success, detail))
        })?;
        Ok(Some(AccessToken {
            token: SecretString::from(token),
            expires_at,
        }))
    }

    /// Claims the lease to refresh the credential's access token for
    /// `holder` (a program), for `lease` at most: `false` while another
    /// holder's lease lasts. One refresh at a time across every program
    /// sharing the vault; a holder that died frees it when its lease ends.
    pub fn claim_refresh(&mut self, reference: &str, holder: &str, lease: Duration) -> Result<bool> {
        let row = creds::get(self.conn(), reference)?;
        let now = self.now();
        self.write_unaudited(crate::vault::Unaudited::RefreshLease, |tx| {
            let held: Option<(String, String)> = tx
                .query_row(
                    "SELECT holder, until FROM refresh_leases WHERE credential_id = ?1",
                    [row.id.to_string()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            if let Some((other, until)) = held
                && other != holder
                && timefmt::from_db(&until)? > now
            {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO refresh_leases (credential_id, holder, until) VALUES (?1, ?2, ?3)
                 ON CONFLICT(credential_id) DO UPDATE SET holder = excluded.holder, until = excluded.until",
                params![row.id.to_string(), holder, timefmt::to_db(now + lease)],
            )?;
            Ok(true)
        })
    }

    /// Gives the lease back (only `holder`'s own).
    pub fn release_refresh(&mut self, reference: &str, holder: &str) -> Result<()> {
        let row = creds::get(self.conn(), reference)?;
        self.write_unaudited(crate::vault::Unaudited::RefreshLease, |tx| {
            tx.execute(
                "DELETE FROM refresh_leases WHERE credential_id = ?1 AND holder = ?2",
                params![row.id.to_string(), holder],
            )?;
            Ok(())
        })
    }

    /// The secrets a refresh needs, handed out as an audited use.
    pub fn refresh_inputs(&mut self, reference: &str) -> Result<RefreshInputs> {
        self.oauth_inputs(reference, "access token refresh")
    }

    /// An OAuth 2.0 credential's configuration and secrets for `purpose`,
    /// handed out as an audited use.
    pub(crate) fn oauth_inputs(&mut self, reference: &str, purpose: &str) -> Result<RefreshInputs> {
        let row = self.oauth_row(reference, purpose)?;
        let secrets = self.use_secret(&row.id.to_string(), purpose)?;
        Ok(RefreshInputs {
            version: row.current_version,
            config: row.config,
            secrets,
        })
    }

    /// Stores what a refresh obtained with `inputs_version`. A rotated
    /// refresh token becomes the new current version at once; the token is
    /// cached for that version. Audited as `credential.refresh`.
    pub fn store_access_token(&mut self, reference: &str, inputs_version: u32, obtained: Obtained) -> Result<()> {
        let row = creds::get(self.conn(), reference)?;
        if row.current_version != inputs_version {
            // Rotated meanwhile: this token belongs to spent secrets.
            return Err(Error::invalid(
                "access token",
                "the credential was rotated during the refresh; ask again",
            ));
        }
        let mut version = inputs_version;
        let rotated = obtained.refresh_token.is_some();
        if let Some(new_refresh) = obtained.refresh_token {
            let mut fields = SecretFields::new();
            for (name, value) in self.open_version(row.id, inputs_version)?.iter() {
                fields.insert(name, SecretString::from(value.expose_secret().to_owned()));
            }
            fields.insert("refresh_token", new_refresh);
            let expiry = obtained.refresh_expires_at.or(row.expires_at);
            version = self
                .store_issued(&row.id.to_string(), fields, expiry)?
                .summary
                .current_version;
        }
        let now = self.now();
        let detail = refresh_detail(obtained.expires_at, rotated, version);
        let slot = FieldSlot {
            credential_id: row.id,
            field: TOKEN_FIELD,
            version,
        };
        // Sealed in the transaction that stores it: under the data key
        // current then, which no other program can delete meanwhile.
        self.write(|tx| {
            // Checked again under the write lock: a rotation since the check
            // above makes this token one of spent secrets.
            if creds::get(tx, &row.id.to_string())?.current_version != version {
                return Err(Error::invalid(
                    "access token",
                    "the credential was rotated during the refresh; ask again",
                ));
            }
            let blob = tx.seal(&slot, obtained.access_token.expose_secret().as_bytes())?;
            cache_access_token(tx, row.id, version, &blob, obtained.expires_at, now)?;
            let mut fresh = creds::get(tx, &row.id.to_string())?;
            fresh.last_validated_at = Some(now);
            if fresh.status == Status::Error {
                fresh.status = Status::Active;
            }
            creds::upsert(tx, &mut fresh)?;
            tx.audit(ev(
                "credential.refresh",
                "credential",
                Some(row.id),
                Some(&row.name),
                Outcome::Success,
                detail,
            ))
        })?;
        Ok(())
    }

    /// Records a refresh the provider refused. A refused grant or client
    /// (`invalid_grant`, `invalid_client`, expired) puts the credential in
    /// `error` at once: only a person can reconnect it. Returns the status.
    pub fn record_refresh_failure(&mut self, reference: &str, failure: &Failure) -> Result<Status> {
        let row = creds::get(self.conn(), reference)?;
        let now = self.now();
        let check = Check {
            version: row.current_version,
            checked_at: now,
            offline: false,
            scheduled: false,
            outcome: CheckOutcome::Failed {
                failure: failure.clone(),
            },
        };
        let reconnect = failure.is_auth_failure();
        self.write(|tx| {
            checks::insert(tx, row.id, &check)?;
            tx.execute("DELETE FROM token_cache WHERE credential_id = ?1", [row.id.to_string()])?;
            let mut fresh = creds::get(tx, &row.id.to_string())?;
            if reconnect && fresh.status == Status::Active {
                fresh.status = Status::Error;
                fresh.updated_at = now;
                creds::upsert(tx, &mut fresh)?;
                let code = failure.code();
                let why = format!("the provider refused to refresh its access token ({code})");
                let params = [("cause", "refresh".to_owned()), ("code", code.to_string())];
                crate::vault::reconnection_notice(tx, &fresh, &why, &params, now)?;
            }
            tx.audit(ev(
                "credential.refresh",
                "credential",
                Some(row.id),
                Some(&row.name),
                Outcome::Failure,
                format!(
                    "refresh refused ({}): {}{}",
                    failure.code(),
                    failure.message(),
                    if reconnect { "; reconnection required" } else { "" }
                ),
            ))?;
            Ok(fresh.status)
        })
    }
}

/// Keeps `blob` (an access token sealed for `version`) as the credential's
/// cached token, replacing any other, in the caller's write.
pub(crate) fn cache_access_token(
    tx: &rusqlite::Connection,
    id: uuid::Uuid,
    version: u32,
    blob: &[u8],
    expires_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Result<()> {
    tx.execute(
        "INSERT INTO token_cache (credential_id, version, sealed, expires_at, obtained_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(credential_id) DO UPDATE SET version = excluded.version, sealed = excluded.sealed,
             expires_at = excluded.expires_at, obtained_at = excluded.obtained_at",
        params![
            id.to_string(),
            version,
            blob,
            expires_at.map(timefmt::to_db),
            timefmt::to_db(now)
        ],
    )?;
    Ok(())
}

/// The `credential.refresh` event's detail: until when the token is valid,
/// and whether the provider rotated the refresh token.
fn refresh_detail(expires_at: Option<OffsetDateTime>, rotated: bool, version: u32) -> String {
    format!(
        "access token obtained{}{}",
        expires_at
            .map(|e| format!(", valid until {}", timefmt::to_db(e)))
            .unwrap_or_default(),
        if rotated {
            format!("; the provider rotated the refresh token: version {version} is current, the spent one erased")
        } else {
            String::new()
        }
    )
}
