//! An Entra ID client secret's end date, from Microsoft Graph:
//! `GET /v1.0/applications(appId='{client id}')` with an app-only token,
//! whose `passwordCredentials[]` list each secret of the registration with
//! its `endDateTime` and `hint` (the secret's first three characters;
//! learn.microsoft.com, "Get application" and the passwordCredential
//! resource). The registration may read itself only when it was granted
//! `Application.Read.All` (or owns itself with `Application.ReadWrite.
//! OwnedBy`); otherwise Graph refuses, and the check says so instead of an
//! expiry, without failing: the secret itself works.

use keywarden_core::Rejection;
use secrecy::ExposeSecret;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Options;
use crate::business_central::entra_token;
use crate::http::{Auth, Client};

/// Microsoft Graph.
pub const API: &str = "https://graph.microsoft.com";

/// The resource of an app-only token for Graph.
pub const SCOPE: &str = "https://graph.microsoft.com/.default";

/// The end date of the client secret `secret` of `client_id`, or why it
/// cannot be told (a sentence for the check's notes; never the secret or
/// Graph's own words).
pub fn secret_end_date(
    client: &Client,
    options: &Options,
    (authority, tenant): (&str, &str),
    (client_id, secret): (&str, &str),
) -> Result<Option<OffsetDateTime>, String> {
    let cannot = |why: &str| format!("the client secret's end date is not known: {why}");
    let token = entra_token(client, authority, tenant, (client_id, secret), SCOPE).map_err(|r: Rejection| {
        cannot(&format!(
            "Entra ID gave no token for Microsoft Graph ({})",
            r.failure.code()
        ))
    })?;
    let token = token.expose_secret();
    let id = url::form_urlencoded::byte_serialize(client_id.as_bytes()).collect::<String>();
    let url = format!(
        "{}/v1.0/applications(appId='{id}')",
        options.graph_api.trim_end_matches('/')
    );
    let resp = client
        .send(reqwest::Method::GET, &url, Auth::Bearer(token), None, &[secret, token])
        .map_err(|f| cannot(&format!("Microsoft Graph could not be asked ({})", f.code())))?;
    match resp.status {
        200 => {}
        401 | 403 => {
            return Err(cannot(
                "the app registration may not read itself in Microsoft Graph; grant it Application.Read.All \
                 (application permission) to have its secret's end date read, or enter the expiry",
            ));
        }
        other => return Err(cannot(&format!("Microsoft Graph answered {other}"))),
    }
    let body = resp.json().unwrap_or(Value::Null);
    let hint: String = secret.chars().take(3).collect();
    let ends: Vec<OffsetDateTime> = body["passwordCredentials"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|p| p["hint"].as_str() == Some(hint.as_str()))
        .filter_map(|p| p["endDateTime"].as_str())
        .filter_map(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
        .collect();
    // Two secrets of one registration may share their first characters:
    // the earlier end date is the one to be warned about.
    match ends.into_iter().min() {
        Some(end) => Ok(Some(end)),
        None => Err(cannot(
            "the app registration lists no secret beginning as this one does; was it replaced there?",
        )),
    }
}
