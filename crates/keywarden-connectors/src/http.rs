//! The one HTTP client every connector uses, and the rules it enforces.

use std::net::IpAddr;
use std::time::Duration;

use keywarden_core::Failure;
use reqwest::blocking::Client as Reqwest;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use reqwest::redirect::Policy;
use url::Url;

use crate::Options;

/// The most of a response body a check reads.
const MAX_BODY: u64 = 1 << 20;

/// Where the secret goes: always a header, never the URL.
pub enum Auth<'a> {
    Bearer(&'a str),
    Basic {
        user: &'a str,
        password: &'a str,
    },
    /// `Authorization: token <TOKEN>` (Xledger).
    Token(&'a str),
    /// A named header, e.g. `X-API-Key`.
    Header {
        name: &'a str,
        value: &'a str,
    },
    None,
}

pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// `Retry-After` in seconds, when given as seconds.
    pub fn retry_after(&self) -> Option<u64> {
        self.headers.get(RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()
    }

    /// The `error`, `error_description` and `scope` of a Bearer challenge
    /// (RFC 6750 §3) in `WWW-Authenticate`, when the server sent one. The
    /// scheme is matched case-insensitively and as a whole token (RFC 9110
    /// §11.1: `bearer` is Bearer, `Bearerx` is not), in any of the header
    /// fields and after any other challenge (§11.6.1).
    pub fn bearer_challenge(&self) -> Option<BearerChallenge> {
        let params = self
            .headers
            .get_all(reqwest::header::WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(challenges)
            .find(|(scheme, _)| scheme.eq_ignore_ascii_case("Bearer"))?
            .1;
        let mut challenge = BearerChallenge::default();
        for (key, value) in params {
            match key.to_ascii_lowercase().as_str() {
                "error" => challenge.error = value,
                "error_description" => challenge.description = value,
                "scope" => challenge.scope = value.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
                _ => {}
            }
        }
        Some(challenge)
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct BearerChallenge {
    pub error: String,
    pub description: String,
    pub scope: Vec<String>,
}

/// A `tchar` of RFC 9110 §5.6.2: what a token (an auth-scheme, a
/// parameter name, an unquoted value) is made of.
fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// Reads auth-params and challenges (RFC 9110 §11.2, §11.6.1):
/// `key="quoted value"` with `\` escapes or `key=token`, whitespace
/// around `=` tolerated.
struct Cursor<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Cursor<'a> {
        Cursor {
            chars: text.chars().peekable(),
        }
    }

    fn skip(&mut self, what: impl Fn(char) -> bool) {
        while self.chars.next_if(|c| what(*c)).is_some() {}
    }

    fn token(&mut self) -> String {
        std::iter::from_fn(|| self.chars.next_if(|c| is_tchar(*c))).collect()
    }

    /// `key BWS "=" BWS ( token / quoted-string )`, separated by commas,
    /// up to the end or to the next challenge's scheme: a token not
    /// followed by `=`, which is left unread.
    fn params(&mut self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        loop {
            let before = self.chars.clone();
            self.skip(|c| c == ',' || c.is_whitespace());
            let key = self.token();
            self.skip(char::is_whitespace);
            if key.is_empty() || self.chars.peek() != Some(&'=') {
                self.chars = before;
                return out;
            }
            self.chars.next();
            self.skip(char::is_whitespace);
            let value = if self.chars.next_if_eq(&'"').is_some() {
                let mut v = String::new();
                while let Some(c) = self.chars.next() {
                    match c {
                        '"' => break,
                        '\\' => v.extend(self.chars.next()),
                        c => v.push(c),
                    }
                }
                v
            } else {
                // Leniently, anything up to a comma or whitespace (a scope
                // such as `a:b` should be quoted, but may not be).
                std::iter::from_fn(|| self.chars.next_if(|c| *c != ',' && !c.is_whitespace())).collect()
            };
            out.push((key, value));
        }
    }
}

/// The challenges of one `WWW-Authenticate` value (RFC 9110 §11.6.1):
/// each scheme, as sent, with its auth-params. A token68 or anything else
/// unreadable ends the list.
fn challenges(text: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out = Vec::new();
    let mut cursor = Cursor::new(text);
    loop {
        cursor.skip(|c| c == ',' || c.is_whitespace());
        let scheme = cursor.token();
        if scheme.is_empty() {
            return out;
        }
        // The scheme is a whole token: it ends at whitespace, a comma or
        // the end; `Bearer=x` or `Bearer"x"` is no Bearer challenge.
        if cursor.chars.peek().is_some_and(|c| *c != ',' && !c.is_whitespace()) {
            return out;
        }
        let params = cursor.params();
        out.push((scheme, params));
    }
}

pub struct Client {
    inner: Reqwest,
    allow_loopback_http: bool,
    timeout: Duration,
}

impl Client {
    pub fn new(options: &Options) -> Result<Client, Failure> {
        let inner = Reqwest::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout)
            // Redirects are followed only on the same scheme, host and port:
            // anything else stops, and `send` refuses the 3xx it gets. A
            // custom header (X-API-Key) would otherwise travel along.
            .redirect(Policy::custom(|attempt| {
                let same = attempt.previous().first().is_some_and(|first| {
                    first.scheme() == attempt.url().scheme()
                        && first.host_str() == attempt.url().host_str()
                        && first.port_or_known_default() == attempt.url().port_or_known_default()
                });
                if same && attempt.previous().len() < 5 {
                    attempt.follow()
                } else {
                    attempt.stop()
                }
            }))
            .user_agent(concat!("Keywarden/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Failure::Provider {
                status: None,
                detail: format!("the HTTP client could not start: {}", e.without_url()),
            })?;
        Ok(Client {
            inner,
            allow_loopback_http: options.allow_loopback_http,
            timeout: options.timeout,
        })
    }

    /// Refuses a URL the secret must not be sent to: not https (plain http
    /// only to loopback, only in test mode), or carrying a secret itself.
    pub fn check_url(&self, raw: &str, secrets: &[&str]) -> Result<Url, Failure> {
        let url = Url::parse(raw).map_err(|e| Failure::Unsafe {
            detail: format!("'{}' is not a valid URL ({e})", redact(raw, secrets)),
        })?;
        if contains_secret(&url, secrets) {
            return Err(Failure::Unsafe {
                detail: "the URL contains the secret; a secret goes only in a header, never in a URL".into(),
            });
        }
        match url.scheme() {
            // Test mode reaches the provider fakes on loopback and nothing
            // else: a test that forgot its fake fails at once, and no test
            // ever sends anything to a real provider.
            "https" if self.allow_loopback_http && !is_loopback(&url) => Err(Failure::Unreachable {
                detail: format!(
                    "test mode reaches only loopback addresses (the provider fakes); {} was not contacted",
                    url.host_str().unwrap_or("the host")
                ),
            }),
            "https" => Ok(url),
            "http" if is_loopback(&url) && self.allow_loopback_http => Ok(url),
            "http" if is_loopback(&url) => Err(Failure::Unsafe {
                detail: format!("{url} is plain http; loopback http is allowed only in test mode"),
            }),
            "http" => Err(Failure::Unsafe {
                detail: format!("{url} is plain http; the credential is sent only over https"),
            }),
            other => Err(Failure::Unsafe {
                detail: format!("'{other}' URLs are not supported; use https"),
            }),
        }
    }

    /// Sends one request with the secret in a header. `secrets` are every
    /// secret value involved, so none can reach the URL or an error text.
    pub fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        auth: Auth<'_>,
        body: Option<Body>,
        secrets: &[&str],
    ) -> Result<Response, Failure> {
        let url = self.check_url(url, secrets)?;
        let mut req = self.inner.request(method, url.clone());
        match auth {
            Auth::Bearer(t) => req = req.header(AUTHORIZATION, sensitive(&format!("Bearer {t}"))?),
            Auth::Token(t) => req = req.header(AUTHORIZATION, sensitive(&format!("token {t}"))?),
            Auth::Basic { user, password } => req = req.basic_auth(user, Some(password)),
            Auth::Header { name, value } => {
                let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| Failure::Unsafe {
                    detail: format!("'{name}' is not a valid header name"),
                })?;
                req = req.header(name, sensitive(value)?);
            }
            Auth::None => {}
        }
        match body {
            Some(Body::Json(v)) => req = req.json(&v),
            Some(Body::Form(pairs)) => {
                let encoded = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                    .finish();
                req = req
                    .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(encoded);
            }
            None => {}
        }
        let resp = req.send().map_err(|e| self.failure_of(e, secrets))?;
        let status = resp.status().as_u16();
        if resp.status().is_redirection() {
            let to = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| url.join(l).ok())
                .map(|u| format!("{}://{}", u.scheme(), u.host_str().unwrap_or("?")))
                .unwrap_or_else(|| "another address".into());
            return Err(Failure::Unsafe {
                detail: format!(
                    "{} redirected to {to}; the credential is not sent to another host or over plain http",
                    origin(&url)
                ),
            });
        }
        let headers = resp.headers().clone();
        let mut body = Vec::new();
        use std::io::Read;
        resp.take(MAX_BODY)
            .read_to_end(&mut body)
            .map_err(|e| Failure::Unreachable {
                detail: redact(&format!("the answer was cut off: {e}"), secrets),
            })?;
        Ok(Response { status, headers, body })
    }

    fn failure_of(&self, e: reqwest::Error, secrets: &[&str]) -> Failure {
        let e = e.without_url();
        let chain = error_chain(&e);
        let detail = redact(&chain, secrets);
        if e.is_timeout() {
            Failure::Unreachable {
                detail: format!("no answer within {} s", self.timeout.as_secs()),
            }
        } else if is_tls(&e, &chain) {
            Failure::Tls { detail }
        } else {
            Failure::Unreachable { detail }
        }
    }
}

pub enum Body {
    Json(serde_json::Value),
    Form(Vec<(String, String)>),
}

fn sensitive(value: &str) -> Result<HeaderValue, Failure> {
    let mut v = HeaderValue::from_str(value).map_err(|_| Failure::Format {
        detail: "the secret contains characters that cannot be sent in an HTTP header".into(),
    })?;
    v.set_sensitive(true);
    Ok(v)
}

fn origin(url: &Url) -> String {
    match url.port() {
        Some(p) => format!("{}://{}:{p}", url.scheme(), url.host_str().unwrap_or("?")),
        None => format!("{}://{}", url.scheme(), url.host_str().unwrap_or("?")),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// A secret appears in the URL as given, or percent-encoded.
fn contains_secret(url: &Url, secrets: &[&str]) -> bool {
    let text = url.as_str();
    let decoded = percent_decode(text);
    secrets
        .iter()
        .filter(|s| s.len() >= 4)
        .any(|s| text.contains(*s) || decoded.contains(*s))
}

/// The URL as a server would read it: percent-decoded, and with `+` as a
/// space in form-style queries.
fn percent_decode(s: &str) -> String {
    let plain = percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
    let form: String = url::form_urlencoded::parse(s.as_bytes())
        .map(|(k, v)| format!("{k}={v}&"))
        .collect();
    format!("{plain}\n{form}")
}

/// rustls reports a failed handshake or certificate as an I/O error of kind
/// `InvalidData` inside the connect error; its text names the cause.
fn is_tls(e: &dyn std::error::Error, chain: &str) -> bool {
    let mut source = e.source();
    while let Some(s) = source {
        if s.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::InvalidData)
        {
            return true;
        }
        source = s.source();
    }
    let lower = chain.to_ascii_lowercase();
    ["certificate", "tls", "handshake", "corrupt message", "peer sent"]
        .iter()
        .any(|w| lower.contains(w))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// Checks an integration's own base URL before a secret or token goes
/// there: https to one of the provider's `hosts`, an origin this build is
/// set up with (`configured`: the providers' defaults, or a test's fakes),
/// or, in test mode, loopback. Whoever set the base URL may not be able to
/// read the secret (an imported configuration, a team editor), so it is
/// never trusted to name another server.
pub fn pinned_base(
    provider: &str,
    base: &str,
    hosts: &[&str],
    configured: &[&str],
    allow_loopback: bool,
) -> Result<(), Failure> {
    let refused = |why: String| Failure::Unsafe {
        detail: format!(
            "the integration's base URL is {why}; a {provider} secret is sent only to {} — clear the base URL or name one of those",
            hosts.join(", ")
        ),
    };
    let url = Url::parse(base).map_err(|_| refused("not a URL".into()))?;
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let own = url.scheme() == "https"
        && hosts.contains(&host.as_str())
        && url.port().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    let set_up = configured
        .iter()
        .filter_map(|c| Url::parse(c).ok())
        .any(|c| c.origin() == url.origin());
    if own || set_up || (allow_loopback && is_loopback(&url)) {
        Ok(())
    } else {
        Err(refused(format!(
            "'{}', not one of {provider}'s hosts",
            url.origin().ascii_serialization()
        )))
    }
}

/// Replaces any secret, in any encoding, in a text meant for the user:
/// the core's one redaction (`keywarden_core::redact`).
pub fn redact(text: &str, secrets: &[&str]) -> String {
    keywarden_core::redact::redact(text, secrets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_url_is_pinned_to_the_providers_hosts_or_what_the_build_set_up() {
        let hosts = ["external.pleo.io", "external.staging.pleo.io"];
        let configured = ["http://127.0.0.1:4010"];
        let pin = |base: &str, loopback: bool| pinned_base("Pleo", base, &hosts, &configured, loopback);
        for ok in [
            "https://external.pleo.io",
            "https://EXTERNAL.pleo.io/",
            "https://external.staging.pleo.io/v1",
            "http://127.0.0.1:4010",
        ] {
            assert!(pin(ok, false).is_ok(), "{ok}");
        }
        assert!(pin("http://127.0.0.1:5999", true).is_ok(), "a fake, in test mode");
        for bad in [
            "https://attacker.example",
            "https://external.pleo.io.attacker.example",
            "https://external.pleo.io:8443",
            "https://key@external.pleo.io",
            "http://external.pleo.io",
            "https://external.pleo.io.",
            "http://127.0.0.1:5999",
            "not a url",
        ] {
            match pin(bad, false) {
                Err(Failure::Unsafe { detail }) => assert!(detail.contains("external.pleo.io"), "{detail}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    fn client(test_mode: bool) -> Client {
        Client::new(&Options {
            allow_loopback_http: test_mode,
            ..Options::default()
        })
        .unwrap()
    }

    #[test]
    fn plain_http_is_refused_except_to_loopback_in_test_mode() {
        let strict = client(false);
        let test = client(true);
        assert!(matches!(
            strict.check_url("http://127.0.0.1:9/x", &[]),
            Err(Failure::Unsafe { .. })
        ));
        assert!(test.check_url("http://127.0.0.1:9/x", &[]).is_ok());
        assert!(test.check_url("http://[::1]:9/x", &[]).is_ok());
        assert!(test.check_url("http://localhost:9/x", &[]).is_ok());
        for url in [
            "http://10.0.0.1/x",
            "http://api.example.com/x",
            "http://127.0.0.1.nip.io/x",
            "ftp://example.com/x",
        ] {
            assert!(matches!(test.check_url(url, &[]), Err(Failure::Unsafe { .. })), "{url}");
        }
        assert!(strict.check_url("https://external.pleo.io/v1/introspect", &[]).is_ok());
        assert!(
            matches!(
                test.check_url("https://external.pleo.io/v1/introspect", &[]),
                Err(Failure::Unreachable { .. })
            ),
            "test mode never reaches a real provider"
        );
        assert!(test.check_url("https://127.0.0.1:9/x", &[]).is_ok());
    }

    #[test]
    fn a_secret_in_the_url_is_refused_plain_or_percent_encoded_and_never_echoed() {
        let c = client(true);
        let secret = "s3cr3t/key+value";
        for url in [
            "https://api.example.com/v1?api_key=s3cr3t/key+value",
            "https://api.example.com/v1?api_key=s3cr3t%2Fkey%2Bvalue",
            "https://api.example.com/s3cr3t/key+value/status",
        ] {
            let err = c.check_url(url, &[secret]).unwrap_err();
            assert!(matches!(err, Failure::Unsafe { .. }), "{url}");
            assert!(!err.to_string().contains("s3cr3t"), "{err}");
        }
    }
}

#[cfg(test)]
mod challenge_tests {
    use super::*;

    /// `key="quoted value", key=token` pairs of an auth-param list (RFC
    /// 9110 §11.2).
    fn auth_params(text: &str) -> Vec<(String, String)> {
        Cursor::new(text).params()
    }

    #[test]
    fn auth_params_read_quoted_escaped_and_bare_values() {
        let got =
            auth_params(r#" realm="api", error="invalid_token", error_description="say \"expired\"", scope=read"#);
        assert_eq!(
            got,
            vec![
                ("realm".to_owned(), "api".to_owned()),
                ("error".to_owned(), "invalid_token".to_owned()),
                ("error_description".to_owned(), "say \"expired\"".to_owned()),
                ("scope".to_owned(), "read".to_owned()),
            ]
        );
        assert!(auth_params("").is_empty());
        assert!(auth_params("garbage-without-equals").is_empty());
    }

    fn answer(challenges: &[&str]) -> Response {
        let mut headers = HeaderMap::new();
        for c in challenges {
            headers.append(reqwest::header::WWW_AUTHENTICATE, HeaderValue::from_str(c).unwrap());
        }
        Response {
            status: 401,
            headers,
            body: Vec::new(),
        }
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive_and_a_whole_token() {
        // RFC 9110 §11.1: "It uses a case-insensitive token".
        for scheme in ["Bearer", "bearer", "BEARER", "beArEr"] {
            let c = answer(&[&format!(r#"{scheme} realm="example", error="invalid_token""#)])
                .bearer_challenge()
                .unwrap_or_else(|| panic!("{scheme}"));
            assert_eq!(c.error, "invalid_token", "{scheme}");
        }
        for not_bearer in [
            r#"Bearerx realm="example", error="invalid_token""#,
            r#"Bearer_2 error="invalid_token""#,
            r#"XBearer error="invalid_token""#,
            r#"Bearer="x", error="invalid_token""#,
            r#"Basic realm="example""#,
        ] {
            assert_eq!(answer(&[not_bearer]).bearer_challenge(), None, "{not_bearer}");
        }
        assert_eq!(answer(&[]).bearer_challenge(), None);
        assert_eq!(answer(&["Bearer"]).bearer_challenge(), Some(BearerChallenge::default()));
    }

    #[test]
    fn whitespace_around_equals_and_other_challenges_are_tolerated() {
        let c = answer(&[r#"Bearer realm = "example" , error= "insufficient_scope",scope ="openid profile""#])
            .bearer_challenge()
            .unwrap();
        assert_eq!(c.error, "insufficient_scope");
        assert_eq!(c.scope, ["openid", "profile"]);
        // After another challenge in the same field, or in a second field.
        for fields in [
            &[r#"Basic realm="x", Bearer realm="example", error="invalid_token""#][..],
            &[r#"Newauth realm="apps", type=1, title="Login to \"apps\"", Bearer error="invalid_token""#][..],
            &[r#"Basic realm="x""#, r#"Bearer error="invalid_token""#][..],
        ] {
            let c = answer(fields)
                .bearer_challenge()
                .unwrap_or_else(|| panic!("{fields:?}"));
            assert_eq!(c.error, "invalid_token", "{fields:?}");
        }
        assert_eq!(
            auth_params(r#"realm = "a" ,error =invalid_token"#),
            vec![
                ("realm".to_owned(), "a".to_owned()),
                ("error".to_owned(), "invalid_token".to_owned())
            ]
        );
    }
}

/// The `WWW-Authenticate` reader on any header values (fuzz/, `make
/// fuzz`): each line of `data` is one header field. Built only with
/// `fuzzing`.
#[cfg(feature = "fuzzing")]
pub fn fuzz_www_authenticate(data: &[u8]) {
    let mut headers = HeaderMap::new();
    for line in data.split(|b| *b == b'\n') {
        if let Ok(v) = reqwest::header::HeaderValue::from_bytes(line) {
            headers.append(reqwest::header::WWW_AUTHENTICATE, v);
        }
    }
    for v in headers.get_all(reqwest::header::WWW_AUTHENTICATE) {
        if let Ok(text) = v.to_str() {
            for (scheme, params) in challenges(text) {
                assert!(
                    !scheme.is_empty() && !scheme.contains(|c: char| c == ',' || c.is_whitespace()),
                    "a scheme that is no token: {scheme:?}"
                );
                assert!(params.iter().all(|(k, _)| !k.is_empty()), "a parameter without a name");
            }
        }
    }
    let response = Response {
        status: 401,
        headers,
        body: Vec::new(),
    };
    if let Some(c) = response.bearer_challenge() {
        assert!(c.scope.iter().all(|s| !s.is_empty() && !s.contains(' ')));
    }
}
