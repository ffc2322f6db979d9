//! Dynamics 365 Business Central: a client-credentials token from Entra ID
//! (`{authority}/{tenant}/oauth2/v2.0/token`, scope
//! `https://api.businesscentral.dynamics.com/.default`), then
//! `GET {api}/v2.0/{tenant}/{environment}/api/v2.0/companies` with it. The
//! integration's tenant is the Entra tenant; its company (id, `name` or
//! `displayName`) must be in the list. Entra's AADSTS codes, read from the
//! documented `error_codes`, name the failure: 7000222 an expired secret,
//! 7000215 a wrong one, 700016 an unknown app, 90002 an unknown tenant.
//!
//! No provider free text (`error_description`, OData `error.message`)
//! reaches a verdict: only codes shaped like codes do.

use keywarden_core::{Candidate, Failure, Rejection, Validator, Verdict};
use secrecy::ExposeSecret;
use serde_json::Value;

use crate::Options;
use crate::http::{Auth, Body, Client};

pub const AUTHORITY: &str = "https://login.microsoftonline.com";
pub const API: &str = "https://api.businesscentral.dynamics.com";
pub const SCOPE: &str = "https://api.businesscentral.dynamics.com/.default";

/// Microsoft Entra's sign-in hosts, global and national clouds
/// (learn.microsoft.com, "National clouds": Azure AD authentication
/// endpoints). The client secret is posted to one of these and nowhere
/// else: a credential's `authority` may pick a national cloud, and anyone
/// who may edit the configuration without reading the secret (a team
/// admin, an imported file) could otherwise name their own server.
pub const ENTRA_HOSTS: [&str; 4] = [
    "login.microsoftonline.com",
    "login.microsoftonline.us",
    "login.chinacloudapi.cn",
    "login.partner.microsoftonline.cn",
];

/// The authority a credential names, if it is one of Entra's own or the
/// one this build is set up with (`Options::bc_authority`: a test's fake).
fn pinned_authority(authority: &str, options: &Options) -> Result<String, Failure> {
    let refused = |why: &str| Failure::Unsafe {
        detail: format!(
            "the authority is {why}; the client secret is sent only to Microsoft Entra's sign-in hosts ({}); \
             remove the authority from the credential or name one of those",
            ENTRA_HOSTS.join(", ")
        ),
    };
    let url = reqwest::Url::parse(authority).map_err(|_| refused("not a URL"))?;
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let entra = url.scheme() == "https"
        && ENTRA_HOSTS.contains(&host.as_str())
        && url.port().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    let configured = reqwest::Url::parse(&options.bc_authority).is_ok_and(|c| c.origin() == url.origin());
    if entra || configured {
        Ok(authority.to_owned())
    } else {
        Err(refused(&format!(
            "'{}', not one of Entra's sign-in hosts",
            url.origin().ascii_serialization()
        )))
    }
}

/// What a 403 from the companies API lacks: the application permission
/// the S2S setup grants (Task 1) and the app's card on Business Central's
/// own page (Task 2), where permission sets are assigned.
pub const PERMISSION: &str = "API.ReadWrite.All (the Dynamics 365 Business Central application permission; \
     the app must also be added and enabled on Business Central's \"Microsoft Entra applications\" page \
     with permission sets)";

pub struct BusinessCentral {
    options: Options,
}

impl BusinessCentral {
    pub fn new(options: Options) -> BusinessCentral {
        BusinessCentral { options }
    }
}

fn need(what: &str, how: &str) -> Failure {
    Failure::Format {
        detail: format!("a Business Central credential needs {what}; {how}"),
    }
}

impl Validator for BusinessCentral {
    fn validate(&self, c: &Candidate<'_>) -> Result<Verdict, Rejection> {
        let integration = c
            .integration
            .ok_or_else(|| need("an integration", "attach it to the Business Central integration"))?;
        let tenant = integration
            .tenant_id
            .as_deref()
            .ok_or_else(|| need("the Entra tenant id", "set it as the integration's tenant id"))?;
        let environment = integration.environment.as_str();
        let client_id = c
            .config
            .get("client_id")
            .ok_or_else(|| need("a client_id", "set the app registration's client id"))?;
        let secret = c
            .secrets
            .get("client_secret")
            .ok_or_else(|| need("a client_secret", "enter the app registration's secret"))?
            .expose_secret();
        let company = c.config.get("company_id").or_else(|| c.config.get("company"));
        let authority = match c.config.get("authority") {
            Some(a) => pinned_authority(a, &self.options)?,
            None => self.options.bc_authority.clone(),
        };
        if let Some(b) = &integration.base_url {
            // The Entra access token (API.ReadWrite.All) goes there.
            crate::http::pinned_base(
                "Business Central",
                b,
                &["api.businesscentral.dynamics.com"],
                &[&self.options.bc_api],
                self.options.allow_loopback_http,
            )?;
        }
        let api = integration
            .base_url
            .clone()
            .unwrap_or_else(|| self.options.bc_api.clone());
        let client = Client::new(&self.options)?;

        let token = entra_token(&client, &authority, tenant, (client_id, secret), SCOPE)?;
        let token = token.expose_secret();

        let companies_url = format!(
            "{}/v2.0/{tenant}/{environment}/api/v2.0/companies",
            api.trim_end_matches('/')
        );
        let resp = client.send(
            reqwest::Method::GET,
            &companies_url,
            Auth::Bearer(token),
            None,
            &[secret, token],
        )?;
        let body = resp.json().unwrap_or(Value::Null);
        if resp.status != 200 {
            return Err(companies_refusal(resp.status, &body, environment, tenant, resp.retry_after()).into());
        }
        check_company(&body, company)?;
        // The access token's expiry is an hour away and says nothing about
        // the client secret's: Entra's endDateTime, read through Graph when
        // the app registration may read itself.
        let (expires_at, notes) =
            match crate::graph::secret_end_date(&client, &self.options, (&authority, tenant), (client_id, secret)) {
                Ok(end) => (end, Vec::new()),
                Err(why) => (None, vec![why]),
            };
        Ok(Verdict {
            tenant_id: Some(tenant.to_owned()),
            environment: Some(environment.to_owned()),
            scopes: vec![SCOPE.to_owned()],
            expires_at,
            notes,
            ..Verdict::default()
        })
    }
}

/// An app-only access token from Entra ID for the credential's client,
/// for the resource `scope` names (`…/.default`).
pub(crate) fn entra_token(
    client: &Client,
    authority: &str,
    tenant: &str,
    (client_id, secret): (&str, &str),
    scope: &str,
) -> Result<secrecy::SecretString, Rejection> {
    let token_url = format!("{}/{tenant}/oauth2/v2.0/token", authority.trim_end_matches('/'));
    let resp = client.send(
        reqwest::Method::POST,
        &token_url,
        Auth::None,
        Some(Body::Form(vec![
            ("grant_type".into(), "client_credentials".into()),
            ("client_id".into(), client_id.to_owned()),
            ("client_secret".into(), secret.to_owned()),
            ("scope".into(), scope.into()),
        ])),
        &[secret],
    )?;
    let body = resp.json().unwrap_or(Value::Null);
    if resp.status != 200 {
        return Err(token_failure(resp.status, &body, resp.retry_after()).into());
    }
    body["access_token"]
        .as_str()
        .map(|t| secrecy::SecretString::from(t.to_owned()))
        .ok_or_else(|| {
            Failure::Provider {
                status: Some(200),
                detail: "Entra ID gave no access token".into(),
            }
            .into()
        })
}

/// Why Business Central did not list the companies, by its status.
fn companies_refusal(status: u16, body: &Value, environment: &str, tenant: &str, retry_after: Option<u64>) -> Failure {
    match status {
        401 => {
            let code = odata_error_code(body).map(|c| format!(", {c}")).unwrap_or_default();
            Failure::InvalidCredential {
                detail: format!(
                    "Business Central refused the token Entra ID issued (401{code}); check that the app is \
                     added and enabled on Business Central's \"Microsoft Entra applications\" page"
                ),
            }
        }
        403 => Failure::InsufficientScope {
            missing: vec![PERMISSION.into()],
        },
        404 => Failure::WrongEnvironment {
            expected: environment.into(),
            actual: format!("no environment '{environment}' in tenant {tenant}"),
        },
        429 => Failure::RateLimited {
            retry_after_secs: retry_after,
            detail: "Business Central answered 429".into(),
        },
        status => Failure::Provider {
            status: Some(status),
            detail: "Business Central did not list the companies".into(),
        },
    }
}

/// The company the credential names is one the token can see. API v2.0
/// `company`: `id`, `name` and `displayName` (the name shown to users,
/// which may differ from `name`).
fn check_company(body: &Value, company: Option<&String>) -> Result<(), Failure> {
    let Some(want) = company else { return Ok(()) };
    let text = |c: &Value, k: &str| c[k].as_str().unwrap_or_default().to_owned();
    let listed: Vec<[String; 3]> = body["value"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| [text(c, "id"), text(c, "name"), text(c, "displayName")])
                .collect()
        })
        .unwrap_or_default();
    let found = listed
        .iter()
        .any(|company| company.iter().any(|v| !v.is_empty() && v.eq_ignore_ascii_case(want)));
    if found {
        return Ok(());
    }
    let names: Vec<&str> = listed.iter().map(|[_, name, _]| name.as_str()).collect();
    Err(Failure::WrongTenant {
        expected: want.clone(),
        actual: if names.is_empty() {
            "no company".into()
        } else {
            format!("only {}", names.join(", "))
        },
    })
}

/// Entra ID's token errors, as "Handling error codes in your application"
/// documents them: `error` (an OAuth 2.0 code), `error_codes` (the AADSTS
/// numbers, "to help in diagnostics") and `error_description` (free text:
/// "never use this field to react to an error"). The numbers come from
/// `error_codes`; only an answer without it has its description scanned,
/// for `AADSTS<digits>` and nothing else. Neither the description nor an
/// `error` that is not shaped like a code reaches the verdict.
fn token_failure(status: u16, body: &Value, retry_after: Option<u64>) -> Failure {
    let error = body["error"].as_str().filter(|e| is_oauth_code(e));
    let codes = aadsts_codes(body);
    let has = |n: u64| codes.contains(&n);
    let named = || {
        let mut parts: Vec<String> = error.map(str::to_owned).into_iter().collect();
        if error.is_none() && !body["error"].is_null() {
            parts.push("an unrecognised error code".into());
        }
        parts.extend(codes.iter().map(|n| format!("AADSTS{n}")));
        if parts.is_empty() {
            "no error code".to_owned()
        } else {
            parts.join(", ")
        }
    };
    if has(7000222) {
        Failure::Expired {
            detail: "AADSTS7000222: the client secret has expired".into(),
        }
    } else if has(7000215) {
        Failure::InvalidCredential {
            detail: "AADSTS7000215: the client secret is wrong".into(),
        }
    } else if has(700016) {
        Failure::InvalidCredential {
            detail: "AADSTS700016: no app with this client id in the tenant".into(),
        }
    } else if has(90002) {
        Failure::WrongTenant {
            expected: "an existing Entra tenant".into(),
            actual: "AADSTS90002: tenant not found".into(),
        }
    } else if status == 429 {
        Failure::RateLimited {
            retry_after_secs: retry_after,
            detail: "Entra ID answered 429".into(),
        }
    } else if status == 503 || error == Some("temporarily_unavailable") {
        // "The server is temporarily too busy to handle the request" -
        // "Retry the request": the secret may well be fine.
        Failure::RateLimited {
            retry_after_secs: retry_after,
            detail: format!(
                "Entra ID is temporarily unavailable ({status}: {}); retry shortly",
                named()
            ),
        }
    } else if error == Some("invalid_client") {
        Failure::InvalidCredential {
            detail: format!("Entra ID: {}", named()),
        }
    } else {
        Failure::Provider {
            status: Some(status),
            detail: format!("Entra ID: {}", named()),
        }
    }
}

/// The AADSTS numbers of an Entra error: `error_codes` when the answer has
/// it (integers only), else each `AADSTS<digits>` in `error_description`.
fn aadsts_codes(body: &Value) -> Vec<u64> {
    match body["error_codes"].as_array() {
        Some(codes) => codes.iter().filter_map(Value::as_u64).collect(),
        None => body["error_description"]
            .as_str()
            .unwrap_or_default()
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter_map(|word| word.strip_prefix("AADSTS"))
            .filter(|digits| (1..=10).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()))
            .filter_map(|digits| digits.parse().ok())
            .collect(),
    }
}

/// An OAuth 2.0 `error` value as Entra's are shaped: `^[a-z_]{1,64}$`.
fn is_oauth_code(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

/// The OData error's `error.code` (e.g. `Authentication_InvalidCredentials`),
/// when it is shaped like one: `^[A-Za-z_]{1,64}$`.
fn odata_error_code(body: &Value) -> Option<&str> {
    body["error"]["code"]
        .as_str()
        .filter(|c| (1..=64).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_'))
}

#[cfg(all(test, feature = "fakes"))]
mod tests {
    //! `token_failure` on Entra's documented answers (tests/fixtures), and
    //! on the ways a real answer may differ from them.

    use super::*;
    use crate::fixtures::{Fixture, answer};

    fn documented(name: &str) -> (u16, Value) {
        let f = Fixture::load(name);
        (f.status(), f.json())
    }

    #[test]
    fn error_codes_decide_even_when_the_description_says_otherwise() {
        // The description is free text that Entra may reword or localise.
        let (_, body) = answer("entra/token.error.AADSTS7000222.401.http", |b| {
            b["error_description"] = "AADSTS7000215: Ungültiger geheimer Clientschlüssel.".into();
        });
        let f = token_failure(401, &body, None);
        assert!(matches!(f, Failure::Expired { .. }), "{f:?}");
    }

    #[test]
    fn without_error_codes_the_description_is_scanned_for_an_aadsts_number_only() {
        let (status, mut body) = documented("entra/token.error.AADSTS7000215.401.http");
        if let Some(members) = body.as_object_mut() {
            members.remove("error_codes");
        }
        let f = token_failure(status, &body, None);
        assert!(matches!(f, Failure::InvalidCredential { .. }), "{f:?}");
        assert!(f.to_string().contains("AADSTS7000215"), "{f}");
        // `error_codes` present but empty: the description is not read.
        let (fixture, body) = answer("entra/token.error.AADSTS7000215.401.http", |b| {
            b["error_codes"] = serde_json::json!([]);
        });
        let f = token_failure(fixture.status(), &body, None);
        assert!(!f.to_string().contains("AADSTS7000215"), "{f}");
        assert!(
            matches!(f, Failure::InvalidCredential { .. }),
            "invalid_client still decides: {f:?}"
        );
    }

    #[test]
    fn temporarily_unavailable_is_a_retry_whatever_the_status() {
        let (_, body) = documented("entra/token.error.temporarily-unavailable.503.http");
        let f = token_failure(400, &body, None);
        assert!(matches!(f, Failure::RateLimited { .. }), "{f:?}");
        let f = token_failure(503, &Value::Null, Some(9));
        assert!(
            matches!(
                f,
                Failure::RateLimited {
                    retry_after_secs: Some(9),
                    ..
                }
            ),
            "{f:?}"
        );
    }

    #[test]
    fn an_error_not_shaped_like_a_code_is_not_repeated() {
        let (fixture, body) = answer("entra/token.error.400.http", |b| {
            b["error"] = "Call +1 555 0100 now".into();
            b["error_codes"] = serde_json::json!([]);
        });
        let f = token_failure(fixture.status(), &body, None);
        let text = format!("{f:?} {f}");
        assert!(!text.contains("555") && !text.contains("provided value"), "{text}");
        assert!(text.contains("an unrecognised error code"), "{text}");
        assert!(is_oauth_code("invalid_scope") && !is_oauth_code("Invalid") && !is_oauth_code(&"a".repeat(65)));
    }

    #[test]
    fn an_odata_code_is_read_only_when_it_looks_like_one() {
        let (_, body) = documented("business-central/companies.401.http");
        assert_eq!(odata_error_code(&body), Some("Authentication_InvalidCredentials"));
        let (_, body) = answer("business-central/companies.401.http", |b| {
            b["error"]["code"] = "The server has rejected the client credentials".into();
        });
        assert_eq!(odata_error_code(&body), None);
    }
}
