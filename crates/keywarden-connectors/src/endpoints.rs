//! Where a provider signs people in and issues tokens, for Connect when a
//! credential names no endpoints of its own:
//!
//! - Pleo OAuth: `https://auth.pleo.io` (staging: `auth.staging.pleo.io`),
//!   `/oauth/authorize` and `/oauth/token`, the client authenticated with
//!   HTTP Basic, PKCE S256 required (developers.pleo.io, "OAuth with Pleo");
//! - Microsoft Entra ID v2 (Business Central): `/{tenant}/oauth2/v2.0/
//!   authorize` and `/token` at `login.microsoftonline.com`, with the
//!   `offline_access` scope, without which Entra grants no refresh token;
//! - any OAuth 2.0 server by its two URLs, or by its issuer's RFC 8414
//!   metadata document (`issuer` in the configuration).
//!
//! What the credential configures wins over every default, except where a
//! known provider's secret would go: a Pleo or Entra credential's
//! `authorize_url` and `token_url` must be that provider's own hosts (or
//! what the build set up), as its live check's are, and no `issuer` is
//! read for them. The client secret, the code and its verifier go nowhere
//! else, whoever edited the configuration.

use std::collections::BTreeMap;

use keywarden_core::Failure;
use serde_json::Value;

use crate::Options;
use crate::authorize::ConnectError;
use crate::http::{Auth, Client, pinned_base};

/// Pleo's authorization server.
pub const PLEO_AUTH: &str = "https://auth.pleo.io";
pub const PLEO_AUTH_STAGING: &str = "https://auth.staging.pleo.io";

/// The integration a credential serves, as far as Connect cares.
pub struct Provider<'a> {
    pub name: &'a str,
    pub environment: &'a str,
    pub tenant: Option<&'a str>,
}

/// The credential's configuration with what its provider documents filled
/// in where it says nothing: `authorize_url`, `token_url`, `client_auth`,
/// and the scope a refresh token needs.
pub fn completed(
    options: &Options,
    provider: &Provider<'_>,
    config: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, ConnectError> {
    let mut out = config.clone();
    let mut default = |key: &str, value: String| {
        out.entry(key.to_owned())
            .and_modify(|v| {
                if v.trim().is_empty() {
                    v.clone_from(&value);
                }
            })
            .or_insert(value);
    };
    let known = match provider.name.to_ascii_lowercase().as_str() {
        "pleo" => {
            let base = match provider.environment.to_ascii_lowercase().as_str() {
                "staging" | "sandbox" | "test" | "demo" => &options.pleo_auth_staging,
                _ => &options.pleo_auth_production,
            };
            let base = base.trim_end_matches('/');
            default("authorize_url", format!("{base}/oauth/authorize"));
            default("token_url", format!("{base}/oauth/token"));
            default("client_auth", "basic".into());
            Some((
                "Pleo",
                vec!["auth.pleo.io", "auth.staging.pleo.io"],
                vec![
                    options.pleo_auth_production.as_str(),
                    options.pleo_auth_staging.as_str(),
                ],
            ))
        }
        "business_central" | "business-central" | "bc" | "dynamics365" | "entra" | "microsoft" => {
            let tenant = provider
                .tenant
                .filter(|t| !t.trim().is_empty())
                .ok_or_else(|| ConnectError::Config("an Entra tenant id on its integration (--tenant-id)".into()))?;
            let tenant = url::form_urlencoded::byte_serialize(tenant.trim().as_bytes()).collect::<String>();
            let base = format!("{}/{tenant}/oauth2/v2.0", options.bc_authority.trim_end_matches('/'));
            default("authorize_url", format!("{base}/authorize"));
            default("token_url", format!("{base}/token"));
            let scope = out.get("scope").cloned().unwrap_or_default();
            if !scope.split_whitespace().any(|s| s == "offline_access") {
                out.insert("scope".into(), format!("{scope} offline_access").trim().to_owned());
            }
            Some((
                "Microsoft Entra ID",
                crate::business_central::ENTRA_HOSTS.to_vec(),
                vec![options.bc_authority.as_str()],
            ))
        }
        _ => None,
    };
    if let Some((name, hosts, configured)) = known {
        for key in ["authorize_url", "token_url"] {
            pinned_base(name, &out[key], &hosts, &configured, options.allow_loopback_http)
                .map_err(|f| ConnectError::Config(format!("its {key} at {name}'s own host ({})", f.message())))?;
        }
        return Ok(out);
    }
    let needs = |out: &BTreeMap<String, String>, k: &str| out.get(k).is_none_or(|v| v.trim().is_empty());
    if (needs(&out, "authorize_url") || needs(&out, "token_url"))
        && let Some(issuer) = out.get("issuer").filter(|i| !i.trim().is_empty()).cloned()
    {
        let (authorize, token) = from_metadata(options, issuer.trim())?;
        for (k, v) in [("authorize_url", authorize), ("token_url", token)] {
            if needs(&out, k) {
                out.insert(k.into(), v);
            }
        }
    }
    if let Some(authorize) = out.get("authorize_url") {
        over_https(options, authorize.trim())?;
    }
    Ok(out)
}

/// The sign-in page is where a person types a password: https only (plain
/// http to loopback in test mode, where the fakes listen).
fn over_https(options: &Options, raw: &str) -> Result<(), ConnectError> {
    let url =
        url::Url::parse(raw).map_err(|e| ConnectError::Config(format!("an authorize_url that is a URL ({e})")))?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback && options.allow_loopback_http => Ok(()),
        _ => Err(ConnectError::Config(format!(
            "an https authorize_url (the sign-in page is where a password is typed; {} is not https)",
            url.origin().ascii_serialization()
        ))),
    }
}

/// RFC 8414 §3.1: the metadata's URL for `issuer`, the well-known suffix
/// between its host and its path.
pub fn metadata_url(issuer: &str) -> Result<url::Url, ConnectError> {
    let mut url =
        url::Url::parse(issuer).map_err(|e| ConnectError::Config(format!("an issuer that is a URL ({e})")))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConnectError::Config(
            "an issuer without query or fragment (RFC 8414 §2)".into(),
        ));
    }
    let path = url.path().trim_end_matches('/').to_owned();
    url.set_path(&format!("/.well-known/oauth-authorization-server{path}"));
    Ok(url)
}

/// The two endpoints of `issuer`'s metadata (RFC 8414 §3.2), refused when
/// the document names another issuer (§3.3).
fn from_metadata(options: &Options, issuer: &str) -> Result<(String, String), ConnectError> {
    let url = metadata_url(issuer)?;
    let client = Client::new(options).map_err(ConnectError::Exchange)?;
    let resp = client
        .send(reqwest::Method::GET, url.as_str(), Auth::None, None, &[])
        .map_err(ConnectError::Exchange)?;
    let unusable = |why: &str| {
        ConnectError::Exchange(Failure::Provider {
            status: Some(resp.status),
            detail: format!("the issuer's metadata document (RFC 8414) {why}"),
        })
    };
    if resp.status != 200 {
        return Err(unusable("could not be read"));
    }
    let body = resp.json().unwrap_or(Value::Null);
    if body["issuer"].as_str() != Some(issuer) {
        return Err(unusable("names another issuer"));
    }
    let endpoint = |k: &str| {
        body[k]
            .as_str()
            .filter(|u| url::Url::parse(u).is_ok())
            .map(str::to_owned)
    };
    match (endpoint("authorization_endpoint"), endpoint("token_endpoint")) {
        (Some(a), Some(t)) => Ok((a, t)),
        _ => Err(unusable("names no authorization_endpoint and token_endpoint")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> Options {
        Options::default()
    }

    #[test]
    fn pleo_signs_in_at_its_auth_host_by_environment_with_basic_client_auth() {
        let cfg = BTreeMap::from([("client_id".to_owned(), "c".to_owned())]);
        let p = Provider {
            name: "pleo",
            environment: "staging",
            tenant: None,
        };
        let out = completed(&options(), &p, &cfg).unwrap();
        assert_eq!(out["authorize_url"], "https://auth.staging.pleo.io/oauth/authorize");
        assert_eq!(out["token_url"], "https://auth.staging.pleo.io/oauth/token");
        assert_eq!(out["client_auth"], "basic");
        let prod = Provider {
            environment: "production",
            ..p
        };
        assert_eq!(
            completed(&options(), &prod, &cfg).unwrap()["token_url"],
            "https://auth.pleo.io/oauth/token"
        );
    }

    #[test]
    fn entra_needs_its_tenant_and_asks_for_offline_access_once() {
        let cfg = BTreeMap::from([(
            "scope".to_owned(),
            "https://api.businesscentral.dynamics.com/.default".to_owned(),
        )]);
        let p = Provider {
            name: "business_central",
            environment: "production",
            tenant: Some("contoso.onmicrosoft.com"),
        };
        let out = completed(&options(), &p, &cfg).unwrap();
        assert_eq!(
            out["authorize_url"],
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize"
        );
        assert_eq!(
            out["scope"],
            "https://api.businesscentral.dynamics.com/.default offline_access"
        );
        let again = completed(&options(), &p, &out).unwrap();
        assert_eq!(again["scope"], out["scope"]);
        let no_tenant = Provider { tenant: None, ..p };
        let err = completed(&options(), &no_tenant, &cfg).err().unwrap();
        assert!(err.to_string().contains("tenant"), "{err}");
    }

    #[test]
    fn a_sign_in_page_over_plain_http_is_refused_outside_test_mode_loopback() {
        let any = Provider {
            name: "generic",
            environment: "production",
            tenant: None,
        };
        let with = |url: &str| BTreeMap::from([("authorize_url".to_owned(), url.to_owned())]);
        assert!(completed(&options(), &any, &with("https://login.example.com/authorize")).is_ok());
        for url in [
            "http://login.example.com/authorize",
            "http://127.0.0.1:9/authorize",
            "ftp://x/y",
        ] {
            let err = completed(&options(), &any, &with(url)).err().unwrap();
            assert!(err.to_string().contains("https authorize_url"), "{url}: {err}");
        }
        let test_mode = Options {
            allow_loopback_http: true,
            ..Options::default()
        };
        assert!(completed(&test_mode, &any, &with("http://127.0.0.1:9/authorize")).is_ok());
        assert!(completed(&test_mode, &any, &with("http://login.example.com/authorize")).is_err());
    }

    #[test]
    fn what_the_credential_configures_wins_but_a_known_providers_secret_stays_with_its_hosts() {
        let cfg = BTreeMap::from([("client_auth".to_owned(), "post".to_owned())]);
        let pleo = Provider {
            name: "pleo",
            environment: "production",
            tenant: None,
        };
        assert_eq!(completed(&options(), &pleo, &cfg).unwrap()["client_auth"], "post");
        // A Pleo credential whose token_url (or authorize_url) names another
        // host: refused before anything is sent there.
        for key in ["token_url", "authorize_url"] {
            let mut elsewhere = cfg.clone();
            elsewhere.insert(key.into(), "https://auth.pleo.io.attacker.example/oauth/token".into());
            let err = completed(&options(), &pleo, &elsewhere).err().unwrap();
            assert!(err.to_string().contains(key), "{err}");
        }
        let entra = Provider {
            name: "business_central",
            environment: "production",
            tenant: Some("t"),
        };
        let mut elsewhere = cfg.clone();
        elsewhere.insert(
            "token_url".into(),
            "https://login.attacker.example/t/oauth2/v2.0/token".into(),
        );
        assert!(completed(&options(), &entra, &elsewhere).is_err());
        // Any other server is the credential's own choice.
        let generic = Provider {
            name: "generic",
            environment: "production",
            tenant: None,
        };
        let own = BTreeMap::from([
            (
                "authorize_url".to_owned(),
                "https://auth.example/own/authorize".to_owned(),
            ),
            ("token_url".to_owned(), "https://auth.example/own/token".to_owned()),
        ]);
        assert_eq!(
            completed(&options(), &generic, &own).unwrap()["token_url"],
            "https://auth.example/own/token"
        );
    }

    #[test]
    fn the_metadata_url_puts_the_well_known_suffix_before_the_issuer_path() {
        assert_eq!(
            metadata_url("https://server.example.com").unwrap().as_str(),
            "https://server.example.com/.well-known/oauth-authorization-server"
        );
        assert_eq!(
            metadata_url("https://server.example.com/issuer1").unwrap().as_str(),
            "https://server.example.com/.well-known/oauth-authorization-server/issuer1"
        );
        assert!(metadata_url("https://server.example.com/?x=1").is_err());
    }
}
