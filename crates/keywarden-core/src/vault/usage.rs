//! Handing a credential's secret to a workflow, audited as a use.

#[allow(unused_imports)]
use super::*;

/// The `credential.use` event, whatever its outcome.
pub(crate) fn use_event(row: &Row, outcome: Outcome, detail: String) -> NewEvent<'static> {
    ev(
        "credential.use",
        "credential",
        Some(row.id),
        Some(&row.name),
        outcome,
        detail,
    )
}

impl Vault {
    /// Hands the current secret to a permitted user of it (a validator, a
    /// workflow). Every call is audited before the secret is returned; a
    /// disabled credential is refused, and the refusal audited.
    pub fn use_secret(&mut self, reference: &str, purpose: &str) -> Result<SecretFields> {
        // The row and its sealed fields from one read snapshot: another
        // program may be swapping in a new version (erasing the old one's
        // fields) or rotating the data key this very moment.
        let (row, opened) = self.read(|conn| {
            let row = creds::get(conn, reference)?;
            let usable = !matches!(row.status, Status::Disabled | Status::Revoked)
                && !row.needs_reentry
                && row.current_version > 0;
            let opened = usable.then(|| {
                open_version_in(
                    conn,
                    &self.keys.dek_wrap,
                    self.header.vault_id,
                    row.id,
                    row.current_version,
                )
            });
            Ok((row, opened))
        })?;
        let refusal = match row.status {
            Status::Disabled | Status::Revoked => Some(Error::CredentialDisabled {
                name: row.name.clone(),
                reason: self.disable_reason(row.id),
            }),
            _ if row.needs_reentry || row.current_version == 0 => Some(Error::NeedsReentry { name: row.name.clone() }),
            _ => None,
        };
        if let Some(err) = refusal {
            return Err(self.refuse_use(&row, Outcome::Denied, purpose, err));
        }
        let secrets = match opened {
            Some(Ok(s)) if !s.is_empty() && s.names().eq(row.secret_fields.iter().map(String::as_str)) => s,
            // Damaged or tampered with: the failed use is audited like any
            // other.
            _ => return Err(self.refuse_use(&row, Outcome::Failure, purpose, Error::Decryption)),
        };
        let now = self.now();
        self.write(|tx| {
            creds::touch_last_used(tx, row.id, now)?;
            tx.audit(use_event(&row, Outcome::Success, purpose.to_owned()))
        })?;
        Ok(secrets)
    }

    /// Records a use that did not happen and hands back why. If even the
    /// event cannot be written, that error wins: nothing goes unaudited.
    pub(crate) fn refuse_use(&mut self, row: &Row, outcome: Outcome, purpose: &str, err: Error) -> Error {
        let detail = format!("{purpose}: {err}");
        match self.write(|tx| tx.audit(use_event(row, outcome, detail))) {
            Ok(_) => err,
            Err(write_err) => write_err,
        }
    }
}
