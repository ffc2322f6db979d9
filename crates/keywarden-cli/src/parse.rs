//! Flags several commands share, parsed into the core's types, and the
//! files they write.

use std::collections::BTreeMap;
use std::path::Path;

use keywarden_core::validate::secret_field_names;
use keywarden_core::{AuditFilter, CredentialKind, timefmt};

use crate::args::{AuditFilterArgs, KindArg, RefusedSecretFlags};
use crate::error::{CliError, CliResult};

pub(crate) fn refuse_secret_flag(refused: &RefusedSecretFlags) -> CliResult {
    if let Some(flag) = refused.used() {
        return Err(CliError::new(
            5,
            format!(
                "{flag}: secrets are never taken from the command line (they would stay in shell history and show in `ps`). \
                 Let kw prompt for it, or pipe it on stdin: printf %s \"$SECRET\" | kw credential ..."
            ),
        ));
    }
    Ok(())
}

const SECRET_FIELD_WORDS: [&str; 8] = [
    "password",
    "secret",
    "token",
    "api_key",
    "apikey",
    "private_key",
    "passphrase",
    "key",
];

pub(crate) fn parse_fields(fields: &[String]) -> CliResult<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for f in fields {
        let (k, v) = f
            .split_once('=')
            .ok_or_else(|| CliError::new(5, "--field takes NAME=VALUE; one value has no '='"))?;
        let lower = k.to_ascii_lowercase();
        if SECRET_FIELD_WORDS.iter().any(|w| {
            lower == *w || lower.ends_with(&format!("_{w}")) || lower.contains("secret") || lower.contains("password")
        }) {
            return Err(CliError::new(
                5,
                format!(
                    "--field {k}=…: '{k}' names a secret; declare it with --secret-field {k} and enter its value at the prompt or on stdin"
                ),
            ));
        }
        out.insert(k.to_owned(), v.to_owned());
    }
    Ok(out)
}

/// The secret fields a new credential of `kind` asks for: a custom
/// type's own (`--secret-field`, at least one), else the type's.
pub(crate) fn secret_names(
    kind: CredentialKind,
    config: &BTreeMap<String, String>,
    custom: Vec<String>,
) -> CliResult<Vec<String>> {
    if kind != CredentialKind::Custom {
        return Ok(secret_field_names(kind, config)
            .into_iter()
            .map(str::to_owned)
            .collect());
    }
    if custom.is_empty() {
        return Err(CliError::new(
            5,
            "a custom credential needs at least one --secret-field NAME",
        ));
    }
    Ok(custom)
}

pub(crate) fn kind_of(k: KindArg) -> CredentialKind {
    match k {
        KindArg::ApiKey => CredentialKind::ApiKey,
        KindArg::Oauth2 => CredentialKind::OAuth2,
        KindArg::Basic => CredentialKind::Basic,
        KindArg::Custom => CredentialKind::Custom,
    }
}

pub(crate) fn parse_date(field: &str, s: Option<&str>) -> CliResult<Option<time::OffsetDateTime>> {
    Ok(s.map(|s| timefmt::parse_user(field, s)).transpose()?)
}

pub(crate) fn write_out(path: Option<&Path>, text: &str) -> CliResult {
    match path {
        None => {
            outln!("{text}");
            Ok(())
        }
        Some(p) => write_private_file(p, text),
    }
}

/// Writes a new file readable by its owner only, whole or not at all, never
/// over an existing file or through a link (`keywarden_core::files`).
pub(crate) fn write_private_file(path: &Path, text: &str) -> CliResult {
    Ok(keywarden_core::files::write_new_private(path, text.as_bytes())?)
}

pub(crate) fn audit_filter(a: AuditFilterArgs) -> CliResult<AuditFilter> {
    Ok(AuditFilter {
        object: a.credential,
        action: a.action,
        profile: a.admin,
        since: parse_date("since", a.since.as_deref())?,
        until: parse_date("until", a.until.as_deref())?,
        limit: a.limit,
    })
}

/// `--max-age-days`: whole days (0 = none), or "inherit".
pub(crate) fn parse_max_age(s: Option<&str>) -> CliResult<Option<Option<u32>>> {
    match s {
        None => Ok(None),
        Some("inherit") => Ok(Some(None)),
        Some(t) => t.parse::<u32>().map(|d| Some(Some(d))).map_err(|_| {
            CliError::new(
                5,
                format!(
                    "--max-age-days '{t}' is not a number of days; give whole days (0 = no maximum) or \"inherit\""
                ),
            )
        }),
    }
}

/// `--env FIELD=VAR` pairs.
pub(crate) fn parse_env_names(pairs: &[String]) -> CliResult<BTreeMap<String, String>> {
    pairs
        .iter()
        .map(|p| {
            p.split_once('=')
                .map(|(f, v)| (f.trim().to_owned(), v.trim().to_owned()))
                .filter(|(f, v)| !f.is_empty() && !v.is_empty())
                .ok_or_else(|| CliError::new(5, format!("--env '{p}' is not FIELD=VAR, e.g. api_key=PLEO_API_KEY")))
        })
        .collect()
}
