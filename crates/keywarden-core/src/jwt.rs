//! Reading the `exp` claim of a JWT-shaped secret, so a token's expiry is
//! known without asking the user. The signature is not checked: the claim
//! only sets a reminder, it grants nothing.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::OffsetDateTime;

pub fn expiry(token: &str) -> Option<OffsetDateTime> {
    claims(token)?.exp
}

/// The claims of a JWT-shaped secret that say what it is for: expiry,
/// issuer, audience, scopes and (Entra) tenant. Never the signature.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Claims {
    pub exp: Option<OffsetDateTime>,
    pub iss: Option<String>,
    pub aud: Vec<String>,
    pub scopes: Vec<String>,
    pub tenant: Option<String>,
}

pub fn claims(token: &str) -> Option<Claims> {
    let mut parts = token.split('.');
    let (_header, payload, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = zeroize::Zeroizing::new(URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?);
    let c: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    if !c.is_object() {
        return None;
    }
    let words = |v: &serde_json::Value| -> Vec<String> {
        match v {
            serde_json::Value::String(s) => s.split_whitespace().map(str::to_owned).collect(),
            serde_json::Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect(),
            _ => Vec::new(),
        }
    };
    let mut scopes = words(&c["scope"]);
    scopes.extend(words(&c["scp"]));
    scopes.extend(words(&c["roles"]));
    Some(Claims {
        exp: c["exp"]
            .as_i64()
            .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
            .and_then(crate::timefmt::in_range),
        iss: c["iss"].as_str().map(str::to_owned),
        aud: words(&c["aud"]),
        scopes,
        tenant: c["tid"].as_str().map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_claim_of_a_jwt_is_read_and_other_strings_are_ignored() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"x","exp":1893456000}"#);
        let token = format!("eyJhbGciOiJIUzI1NiJ9.{payload}.c2ln");
        assert_eq!(expiry(&token).unwrap().unix_timestamp(), 1893456000);
        assert!(expiry("pk_live_abc.def").is_none());
        assert!(expiry("a.b.c").is_none());
    }

    #[test]
    fn issuer_audience_scopes_and_tenant_are_read() {
        let payload = URL_SAFE_NO_PAD.encode(
            br#"{"iss":"https://login.example/t","aud":["api://ledger"],"scp":"ledger.read ledger.write","tid":"t-1"}"#,
        );
        let c = claims(&format!("eyJhbGciOiJIUzI1NiJ9.{payload}.c2ln")).unwrap();
        assert_eq!(c.iss.as_deref(), Some("https://login.example/t"));
        assert_eq!(c.aud, ["api://ledger"]);
        assert_eq!(c.scopes, ["ledger.read", "ledger.write"]);
        assert_eq!(c.tenant.as_deref(), Some("t-1"));
        assert_eq!(c.exp, None);
    }
}
