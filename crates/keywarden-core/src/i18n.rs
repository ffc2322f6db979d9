//! The languages the app speaks to people — English and Norsk bokmål — and
//! the notices said in either. The core writes each notice in English (what
//! `kw` prints in its reports) together with the values it was made of
//! (`Notice::params`); `notice` says it again in Bokmål from its kind and
//! those values, for the desktop notification (app and `kw`) and the
//! app's notification centre. A notice from before the values were kept
//! stays in English rather than guessing.

use time::OffsetDateTime;

use crate::{Notice, NoticeKind};

/// A language of the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Nb,
}

/// The system's locale as POSIX programs read it: `LC_ALL`, then
/// `LC_MESSAGES`, then `LANG` (empty when none is set).
pub fn system_locale() -> String {
    ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|v| !v.is_empty())
        .unwrap_or_default()
}

/// The language of a setting ("" = follow the system) on a system with
/// `locale`. Norwegian (nb, no, nn) gives Bokmål, anything else English.
pub fn resolve(setting: &str, locale: &str) -> Lang {
    match setting {
        "nb" => Lang::Nb,
        "en" => Lang::En,
        _ => {
            let l = locale.to_ascii_lowercase();
            let norwegian = ["nb", "no", "nn"].iter().any(|p| {
                l.strip_prefix(p)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(['_', '.', '@', '-']))
            });
            if norwegian { Lang::Nb } else { Lang::En }
        }
    }
}

/// The language of someone whose setting is `setting`, on this system.
pub fn reader_lang(setting: &str) -> Lang {
    resolve(setting, &system_locale())
}

/// A `language` setting as the app keeps it ("", "en" or "nb"), from what
/// a person may have written by hand: any case, a region or encoding
/// ("nb_NO.UTF-8", "en-GB"), Norwegian as "no" or "nn". Anything else
/// follows the system ("").
pub fn setting_of(written: &str) -> &'static str {
    match resolve("", written.trim()) {
        Lang::Nb => "nb",
        Lang::En if written.trim().to_ascii_lowercase().starts_with("en") => "en",
        Lang::En => "",
    }
}

/// `notice` with its summary and body in `lang`.
pub fn notice(mut notice: Notice, lang: Lang) -> Notice {
    if lang == Lang::Nb
        && let Some((summary, body)) = bokmal(&notice)
    {
        notice.summary = summary;
        notice.body = body;
    }
    notice
}

/// A date as the window writes it in Bokmål (`Intl`'s medium style for
/// nb-NO): "16. des. 2026".
fn date(t: OffsetDateTime) -> String {
    const MONTHS: [&str; 12] = [
        "jan.", "feb.", "mars", "apr.", "mai", "juni", "juli", "aug.", "sep.", "okt.", "nov.", "des.",
    ];
    format!(
        "{}. {} {}",
        t.day(),
        MONTHS[usize::from(u8::from(t.month())) - 1],
        t.year()
    )
}

/// `yyyy-mm-dd…` (how the core writes dates into a notice) as `date` says it.
fn db_date(s: &str) -> Option<String> {
    let d = time::Date::parse(s.get(0..10)?, time::macros::format_description!("[year]-[month]-[day]")).ok()?;
    Some(date(d.midnight().assume_utc()))
}

/// A database timestamp (`yyyy-mm-ddThh:mm…`) as "10. des. 2026 kl. 10:00 (UTC)".
fn db_when(s: &str) -> Option<String> {
    Some(format!("{} kl. {} (UTC)", db_date(s)?, s.get(11..16)?))
}

/// A notice said in Bokmål, or `None` when a value it needs was not kept.
fn bokmal(n: &Notice) -> Option<(String, String)> {
    match n.kind {
        NoticeKind::Expired | NoticeKind::Expiring => expiry(n),
        NoticeKind::RotationDue
        | NoticeKind::Disabled
        | NoticeKind::ReconnectionRequired
        | NoticeKind::PolicyBroken => credential_notice(n),
        NoticeKind::NewSource | NoticeKind::UsageSpike | NoticeKind::FailureBurst | NoticeKind::KeyRotated => {
            partner_notice(n)
        }
    }
}

/// The expiry notices.
fn expiry(n: &Notice) -> Option<(String, String)> {
    let name = &n.credential;
    let integration = n.integration.as_deref();
    Some(match n.kind {
        NoticeKind::Expired => {
            let used_by = integration.map(|i| format!("Brukes av {i}. ")).unwrap_or_default();
            (
                format!("{name} har utløpt"),
                format!(
                    "{used_by}Den utløp {} (UTC) og virker ikke lenger. Åpne den og velg Oppdater nøkkel for å legge inn en ny hemmelighet.",
                    date(n.expires_at?)
                ),
            )
        }
        NoticeKind::Expiring => {
            let expires = n.expires_at?;
            let used_by = integration.map(|i| format!("Brukes av {i}. ")).unwrap_or_default();
            let when = match (expires - n.fired_at).whole_hours() {
                h if h < 24 => "innen et døgn".to_owned(),
                h => match (h + 23) / 24 {
                    1 => "om 1 dag".to_owned(),
                    d => format!("om {d} dager"),
                },
            };
            (
                format!("{name} utløper {when}"),
                format!(
                    "{used_by}Den utløper {} (UTC). Velg Oppdater nøkkel før det, ellers slutter integrasjonen å virke.",
                    date(expires)
                ),
            )
        }
        _ => return None,
    })
}

/// The notices about one credential: rotation, disabling, reconnection, and the broken policy.
fn credential_notice(n: &Notice) -> Option<(String, String)> {
    let p = |k: &str| n.params.get(k).map(String::as_str);
    let name = &n.credential;
    let integration = n.integration.as_deref();
    Some(match n.kind {
        NoticeKind::RotationDue => {
            let used_by = integration.map(|i| format!(" (brukes av {i})")).unwrap_or_default();
            (
                format!("{name} skal roteres"),
                format!(
                    "{name}{used_by} nådde maksimal alder etter retningslinjene for rotering {} (UTC). Velg Oppdater nøkkel med en ny \
                     hemmelighet fra leverandøren; den gamle virker til den er byttet ut.",
                    db_date(p("due")?)?
                ),
            )
        }
        NoticeKind::Disabled => {
            let used_by = integration
                .map(|i| format!("Integrasjonen {i} kan ikke bruke den. "))
                .unwrap_or_default();
            (
                format!("{name} ble deaktivert"),
                format!(
                    "{used_by}{} deaktiverte den: all bruk er stoppet (grunnen står i revisjonsloggen). Hvis den er \
                     kompromittert, tilbakekall den hos leverandøren og velg Oppdater nøkkel med en ny.",
                    p("who")?
                ),
            )
        }
        NoticeKind::ReconnectionRequired => {
            let used_by = integration
                .map(|i| format!("Integrasjonen {i} får ikke logget på. "))
                .unwrap_or_default();
            let code = p("code")?;
            let why = match p("cause")? {
                "checks" => format!("{} direkte kontroller på rad ble avvist ({code})", p("failures")?),
                "refresh" => format!("Leverandøren nektet å fornye tilgangstokenet ({code})"),
                _ => return None,
            };
            (
                format!("{name} må kobles til på nytt"),
                format!(
                    "{used_by}{why}. Velg Oppdater nøkkel (eller Autoriser på nytt) med en nøkkel som virker; til da \
                     mislykkes alle arbeidsflyter som bruker den."
                ),
            )
        }
        NoticeKind::PolicyBroken => (
            "Organisasjonens retningslinjefil er ødelagt".to_owned(),
            format!(
                "Retningslinjefilen {} kan ikke brukes ({}). Til IT retter den, gjelder de strengeste \
                 retningslinjene: ingen eksport, ingen utklippstavle, ingenting nytt kan legges til, og hver lagring \
                 kontrolleres direkte.",
                p("path")?,
                p("problem")?
            ),
        ),
        _ => return None,
    })
}

/// The partner keys' notices.
fn partner_notice(n: &Notice) -> Option<(String, String)> {
    let p = |k: &str| n.params.get(k).map(String::as_str);
    let name = &n.credential;
    Some(match n.kind {
        NoticeKind::NewSource => {
            let (id, address) = (n.partner_key_id.as_deref()?, p("address")?);
            (
                format!("Partnernøkkel {id} brukt fra en ny adresse, {address}"),
                format!(
                    "Applikasjon {name}. Hvis {address} ikke er partnerens kjente infrastruktur, tilbakekall nøkkelen."
                ),
            )
        }
        NoticeKind::UsageSpike => (
            format!(
                "Partnernøkkel {} brukt {} ganger denne timen, mot omtrent {} i timen",
                n.partner_key_id.as_deref()?,
                p("this_hour")?,
                p("average")?
            ),
            format!(
                "Applikasjon {name}. En lekket nøkkel brukes ofte i store mengder: sjekk med partneren, og tilbakekall \
                 nøkkelen hvis trafikken ikke er deres."
            ),
        ),
        NoticeKind::FailureBurst => (
            format!("{} mislykkede nøkkelkontroller for {name} denne timen", p("failures")?),
            "Noen prøver kanskje å gjette nøkler, eller partneren bruker en tilbakekalt eller rotert nøkkel. Sjekk \
             partnernøklene til denne applikasjonen."
                .to_owned(),
        ),
        NoticeKind::KeyRotated => (
            format!(
                "Partnernøkkel {} for {name} ble rotert etter retningslinjene",
                p("old")?
            ),
            format!(
                "Etterfølgeren {} er klar: åpne den og hent den nye nøkkelen (én gang) for å levere den. Den gamle \
                 nøkkelen slutter å virke {}.",
                p("successor")?,
                db_when(p("old_until")?)?
            ),
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use time::macros::datetime;

    fn notice(kind: NoticeKind, params: &[(&str, &str)]) -> Notice {
        Notice {
            id: 1,
            credential_id: None,
            partner_key_id: Some("kw_live_abc".into()),
            credential: "Pleo API".into(),
            integration: Some("Pleo".into()),
            version: 1,
            kind,
            threshold_days: 14,
            expires_at: Some(datetime!(2026-12-17 10:00 UTC)),
            fired_at: datetime!(2026-12-03 10:00 UTC),
            summary: "english summary".into(),
            body: "english body".into(),
            params: params
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
            read: false,
            dismissed: false,
        }
    }

    #[test]
    fn the_language_follows_the_setting_else_a_norwegian_locale() {
        assert_eq!(resolve("nb", "en_US.UTF-8"), Lang::Nb);
        assert_eq!(resolve("en", "nb_NO.UTF-8"), Lang::En);
        for norwegian in ["nb_NO.UTF-8", "no_NO", "nn_NO.UTF-8", "nb", "NB_NO"] {
            assert_eq!(resolve("", norwegian), Lang::Nb, "{norwegian}");
        }
        for other in ["", "C", "C.UTF-8", "en_GB.UTF-8", "nl_NL.UTF-8", "de_DE"] {
            assert_eq!(resolve("", other), Lang::En, "{other}");
        }
    }

    #[test]
    fn every_kind_of_notice_is_said_in_bokmal_from_its_values() {
        let all = [
            (NoticeKind::Expiring, vec![]),
            (NoticeKind::Expired, vec![]),
            (NoticeKind::RotationDue, vec![("due", "2026-12-01")]),
            (NoticeKind::Disabled, vec![("who", "alice")]),
            (
                NoticeKind::ReconnectionRequired,
                vec![("cause", "checks"), ("failures", "3"), ("code", "invalid_credential")],
            ),
            (
                NoticeKind::PolicyBroken,
                vec![("problem", "line 3"), ("path", "/etc/keywarden/policy.toml")],
            ),
            (NoticeKind::NewSource, vec![("address", "203.0.113.9")]),
            (NoticeKind::UsageSpike, vec![("this_hour", "900"), ("average", "12")]),
            (NoticeKind::FailureBurst, vec![("failures", "55")]),
            (
                NoticeKind::KeyRotated,
                vec![
                    ("old", "kw_old"),
                    ("successor", "kw_new"),
                    ("old_until", "2026-12-10T10:00:00.000000Z"),
                ],
            ),
        ];
        for (kind, params) in all {
            let said = super::notice(notice(kind, &params), Lang::Nb);
            assert_ne!(said.summary, "english summary", "{kind:?}");
            assert_ne!(said.body, "english body", "{kind:?}");
            for (k, v) in &params {
                // A date is said the Norwegian way.
                let v = match *k {
                    "due" => db_date(v).unwrap(),
                    "old_until" => db_when(v).unwrap(),
                    "cause" => continue,
                    _ => (*v).to_owned(),
                };
                assert!(said.summary.contains(&v) || said.body.contains(&v), "{kind:?} says {v}");
            }
            // English is what the core wrote.
            let english = super::notice(notice(kind, &params), Lang::En);
            assert_eq!(
                (english.summary.as_str(), english.body.as_str()),
                ("english summary", "english body")
            );
        }
        let expiring = super::notice(notice(NoticeKind::Expiring, &[]), Lang::Nb);
        assert_eq!(expiring.summary, "Pleo API utløper om 14 dager");
        assert!(expiring.body.contains("17. des. 2026"), "{}", expiring.body);
        let due = super::notice(notice(NoticeKind::RotationDue, &[("due", "2026-12-01")]), Lang::Nb);
        assert!(due.body.contains("1. des. 2026"), "{}", due.body);
        let refresh = super::notice(
            notice(
                NoticeKind::ReconnectionRequired,
                &[("cause", "refresh"), ("code", "invalid_grant")],
            ),
            Lang::Nb,
        );
        assert!(
            refresh.body.contains("nektet å fornye tilgangstokenet (invalid_grant)"),
            "{}",
            refresh.body
        );
        assert!(!refresh.body.contains("the provider"), "{}", refresh.body);
    }

    #[test]
    fn a_language_written_by_hand_is_read_as_the_language_it_names() {
        for (written, kept) in [
            ("", ""),
            ("nb", "nb"),
            ("no", "nb"),
            ("nn", "nb"),
            ("NB_NO.UTF-8", "nb"),
            ("en", "en"),
            ("EN-gb", "en"),
            ("de", ""),
            ("klingon", ""),
        ] {
            assert_eq!(setting_of(written), kept, "{written}");
        }
    }

    #[test]
    fn a_notice_without_its_values_stays_in_english() {
        let old = super::notice(notice(NoticeKind::Disabled, &[]), Lang::Nb);
        assert_eq!(old.summary, "english summary");
        assert_eq!(old.body, "english body");
    }
}
