//! Reading the `exp` claim of a JWT-shaped secret, so a token's expiry is
//! known without asking the user. The signature is not checked: the claim
//! only sets a reminder, it grants nothing.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::OffsetDateTime;

pub fn expiry(token: &str) -> Option<OffsetDateTime> {
    let mut parts = token.split('.');
    let (_header, payload, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = zeroize::Zeroizing::new(URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?);
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    OffsetDateTime::from_unix_timestamp(claims.get("exp")?.as_i64()?)
        .ok()
        .and_then(crate::timefmt::in_range)
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
}
