//! What the app's backend says to the user outside the window — the tray
//! menu, native notifications and their actions, the native file dialogs,
//! the notification centre's notices — in the user's language: English or
//! Norsk bokmål, by the setting, else by the system locale (the same rule
//! as the window's `resolveLang`). The notices' words are the core's
//! (`keywarden_core::i18n`), shared with `kw`.

use keywarden_core::Notice;
pub use keywarden_core::i18n::{Lang, notice, resolve, system_locale};

/// The tray menu's fixed items: open, lock, quit.
pub fn tray_items(lang: Lang) -> [&'static str; 3] {
    match lang {
        Lang::En => ["Open Keywarden", "Lock", "Quit Keywarden"],
        Lang::Nb => ["Åpne Keywarden", "Lås", "Avslutt Keywarden"],
    }
}

/// The tray's first line.
pub fn tray_status(status: crate::tray::TrayStatus, lang: Lang) -> String {
    use crate::tray::TrayStatus;
    match (lang, status) {
        (Lang::En, TrayStatus::NoVault) => "No vault open".into(),
        (Lang::En, TrayStatus::Locked) => "Locked".into(),
        (Lang::En, TrayStatus::Attention(0)) => "Nothing needs attention".into(),
        (Lang::En, TrayStatus::Attention(1)) => "1 credential needs attention".into(),
        (Lang::En, TrayStatus::Attention(n)) => format!("{n} credentials need attention"),
        (Lang::Nb, TrayStatus::NoVault) => "Ingen hvelv åpent".into(),
        (Lang::Nb, TrayStatus::Locked) => "Låst".into(),
        (Lang::Nb, TrayStatus::Attention(0)) => "Ingenting trenger oppfølging".into(),
        (Lang::Nb, TrayStatus::Attention(1)) => "1 nøkkel trenger oppfølging".into(),
        (Lang::Nb, TrayStatus::Attention(n)) => format!("{n} nøkler trenger oppfølging"),
    }
}

/// The native file dialogs the app opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialog {
    ExportAudit,
    ExportConfig,
    SaveEnvelope,
    Import,
}

/// A native file dialog's title (also its window's name).
pub fn dialog_title(dialog: Dialog, lang: Lang) -> &'static str {
    match (lang, dialog) {
        (Lang::En, Dialog::ExportAudit) => "Export audit log",
        (Lang::En, Dialog::ExportConfig) => "Export configuration",
        (Lang::En, Dialog::SaveEnvelope) => "Save key envelope",
        (Lang::En, Dialog::Import) => "Import credentials",
        (Lang::Nb, Dialog::ExportAudit) => "Eksporter revisjonsloggen",
        (Lang::Nb, Dialog::ExportConfig) => "Eksporter konfigurasjonen",
        (Lang::Nb, Dialog::SaveEnvelope) => "Lagre nøkkelkonvolutten",
        (Lang::Nb, Dialog::Import) => "Importer nøkler",
    }
}

/// How a rotation's new secret was checked, as the window says it.
pub fn validated_by(offline: bool, lang: Lang) -> &'static str {
    match (lang, offline) {
        (Lang::En, true) => "offline checks (format, expiry, JWT claims)",
        (Lang::En, false) => "live check against the provider",
        (Lang::Nb, true) => "frakoblede kontroller (format, utløp, JWT-felter)",
        (Lang::Nb, false) => "direkte kontroll hos leverandøren",
    }
}

/// The embedded verifier's state, as Settings shows it.
pub fn verifier_listening(addr: &str, lang: Lang) -> String {
    match lang {
        Lang::En => format!("listening on {addr}"),
        Lang::Nb => format!("lytter på {addr}"),
    }
}

/// Why the embedded verifier is not running (`why` is the system's error).
pub fn verifier_stopped(why: &str, lang: Lang) -> String {
    match lang {
        Lang::En => format!("not running: {why}"),
        Lang::Nb => format!("kjører ikke: {why}"),
    }
}

/// The name of the import dialog's file type.
pub fn import_filter(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "CSV or KeePass XML export",
        Lang::Nb => "CSV- eller KeePass XML-eksport",
    }
}

/// The labels of a native notification's actions.
pub fn actions(lang: Lang) -> keywarden_notify::ActionLabels {
    keywarden_notify::ActionLabels::of(lang)
}

/// Shows `notice` natively in the user's language.
pub fn show(
    notifier: &keywarden_notify::Notifier,
    state: &crate::state::AppState,
    notice: &Notice,
) -> keywarden_notify::Delivery {
    let lang = state.lang();
    notifier.show_labelled(&self::notice(notice.clone(), lang), &actions(lang))
}
