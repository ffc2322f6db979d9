//! The IPC schema built from the one command list (`command_list.rs`): the
//! Tauri command each entry binds, the invoke handler, the command names,
//! and the TypeScript the UI calls them through.
//!
//! Each Tauri command here takes the arguments the list names, with the
//! types it gives, and calls the handler of the same name in `commands.rs`
//! with the app state and `args::<name>`, a struct of those arguments built
//! and destructured by name: a list entry that disagrees with its handler
//! (a name, a type, the answer) does not compile. The UI's functions are
//! generated from the same entry, so they send exactly those names
//! (`typescript_bindings_match_the_rust_types` fails when the committed
//! TypeScript is stale).

use std::collections::BTreeMap;
use std::path::Path;

use keywarden_core::alerts::{AlertChannel, AlertDelivery, AlertEvent, EmailConfig};
use keywarden_core::backup::BackupReport;
use keywarden_core::partner::PartnerKey;
use keywarden_core::run::Consumer;
use keywarden_core::tokens::TokenState;
use keywarden_core::{
    AuditEvent, AuditReport, Check, CheckReport, CheckSchedule, Credential, CredentialSummary, DayActivity,
    Integration, IntegrationSchedule, Notice, ReminderKind, SecretString, SupportBundle,
};
use keywarden_team::Listing;
use tauri::{Runtime, State, ipc::Invoke};
use ts_rs::{TS, TypeVisitor};

use crate::commands;
use crate::error::IpcResult;
use crate::import::{ImportOptions, ImportPreview, ImportStatus};
use crate::models::{
    AppStatus, AuditQuery, CopyReceipt, CredentialPatchInput, ExportFormat, ExportReceipt, IntegrationPatchInput,
    IssueKeyInput, IssuedKeyOut, NewCredentialInput, NewIntegrationInput, PartnerKeyDetails, RecoveryCodeOut,
    RotateInput, RotationOutcome, TeamRotateInput, TeamSignInInput, TeamStatus,
};
use crate::oauth::ConnectStatus;
use crate::settings::Settings;
use crate::state::AppState;
use crate::team_models::TeamCredentialOut;

/// One command as the TypeScript sees it.
pub struct CommandSpec {
    pub name: &'static str,
    pub docs: Vec<&'static str>,
    /// Argument name → TypeScript type, in the list's order.
    pub args: Vec<(&'static str, String)>,
    pub returns: String,
}

/// A type a command takes: what the TypeScript sends for it, and the
/// named types ts-rs must write for it. Only the types listed here may be
/// arguments; another does not compile until it says its TypeScript.
pub trait IpcArg {
    fn ts() -> String;
    fn visit(types: &mut ExportedTypes);
}

/// Arguments whose TypeScript is ts-rs's.
macro_rules! ipc_arg_as_ts {
    ($($ty:ty),* $(,)?) => {$(
        impl IpcArg for $ty {
            fn ts() -> String {
                <$ty as TS>::name()
            }
            fn visit(types: &mut ExportedTypes) {
                types.visit::<$ty>();
            }
        }
    )*};
}

ipc_arg_as_ts!(
    String,
    bool,
    Option<String>,
    Option<u32>,
    u32,
    ReminderKind,
    NewCredentialInput,
    CredentialPatchInput,
    RotateInput,
    NewIntegrationInput,
    IntegrationPatchInput,
    AuditQuery,
    ExportFormat,
    Settings,
    IssueKeyInput,
    TeamSignInInput,
    TeamRotateInput,
    Vec<AlertEvent>,
    EmailConfig,
    ImportOptions,
);

/// A secret crosses as the string typed; ts-rs knows no `SecretString`.
impl IpcArg for SecretString {
    fn ts() -> String {
        "string".into()
    }
    fn visit(_: &mut ExportedTypes) {}
}

impl IpcArg for Option<SecretString> {
    fn ts() -> String {
        "string | null".into()
    }
    fn visit(_: &mut ExportedTypes) {}
}

/// Row ids (notices) are far below 2^53: a JavaScript number, not ts-rs's
/// `bigint`, which JSON cannot carry.
impl IpcArg for i64 {
    fn ts() -> String {
        "number".into()
    }
    fn visit(_: &mut ExportedTypes) {}
}

/// The handler call: with no arguments the app state alone, otherwise the
/// state and the command's argument struct, built by name.
macro_rules! call_handler {
    ($name:ident, $state:ident) => {
        commands::$name(&$state)
    };
    ($name:ident, $state:ident, $($arg:ident),+) => {
        commands::$name(&$state, args::$name { $($arg),+ })
    };
}

/// The argument struct of a command that takes any.
macro_rules! args_struct {
    ($name:ident) => {};
    ($name:ident, $($arg:ident : $ty:ty),+) => {
        #[allow(non_camel_case_types)]
        pub struct $name {
            $(pub $arg: $ty),+
        }
    };
}

macro_rules! ipc_schema {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident ( $($arg:ident : $ty:ty),* $(,)? ) -> $ret:ty;
    )*) => {
        /// Each command's arguments, as its handler receives them: one
        /// struct named like the command, destructured by name.
        pub mod args {
            use super::*;
            $( args_struct!($name $(, $arg: $ty)*); )*
        }

        // The Tauri commands: private, so the handler below finds each
        // one's generated macro in this module.
        $(
            #[tauri::command(async, rename_all = "snake_case")]
            fn $name(state: State<'_, AppState>, $($arg: $ty),*) -> IpcResult<$ret> {
                call_handler!($name, state $(, $arg)*)
            }
        )*

        /// The invoke handler: every command of the list, and no other.
        pub fn handler<R: Runtime>() -> impl Fn(Invoke<R>) -> bool + Send + Sync + 'static {
            tauri::generate_handler![$($name),*]
        }

        /// Every IPC command's name, in the list's order.
        pub const COMMANDS: &[&str] = &[$(stringify!($name)),*];

        /// Every command as the TypeScript sees it; `types` collects the
        /// Rust types ts-rs writes for them.
        fn specs(types: &mut ExportedTypes) -> Vec<CommandSpec> {
            let mut specs = Vec::new();
            $(
                $( <$ty as IpcArg>::visit(types); )*
                types.visit::<$ret>();
                specs.push(CommandSpec {
                    name: stringify!($name),
                    docs: vec![$($doc),*],
                    args: vec![$((stringify!($arg), <$ty as IpcArg>::ts())),*],
                    returns: <$ret as TS>::name(),
                });
            )*
            specs
        }
    };
}

for_each_command!(ipc_schema);

type Export = fn(&Path) -> Result<(), ts_rs::ExportError>;

/// The named types (those ts-rs writes to a file of their own) that the
/// commands take or answer, found through `Vec<…>` and `Option<…>`.
#[derive(Default)]
pub struct ExportedTypes {
    /// Type name → its file (relative to the bindings folder) and exporter.
    found: BTreeMap<String, (String, Export)>,
}

impl TypeVisitor for ExportedTypes {
    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        match T::output_path() {
            Some(path) => {
                let export: Export = |dir| T::export_all_to(dir);
                let file = path.with_extension("").to_string_lossy().into_owned();
                self.found.insert(T::ident(), (file, export));
            }
            None => T::visit_generics(self),
        }
    }
}

/// The file the command map is written to, in the bindings folder.
pub const COMMANDS_FILE: &str = "commands.ts";

/// Writes the TypeScript of every command (`commands.ts`) and of every type
/// it takes or answers, with what those refer to, into `dir`.
pub fn export(dir: &Path) -> Result<(), ts_rs::ExportError> {
    let mut types = ExportedTypes::default();
    let specs = specs(&mut types);
    for (_, export) in types.found.values() {
        export(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(COMMANDS_FILE), typescript(&specs, &types))?;
    Ok(())
}

fn camel_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn doc_comment(docs: &[&str], indent: &str) -> String {
    if docs.is_empty() {
        return String::new();
    }
    // `*/` in a line would end the comment early.
    let lines: Vec<String> = docs.iter().map(|d| d.trim().replace("*/", "*\\/")).collect();
    format!("{indent}/** {} */\n", lines.join(&format!("\n{indent} * ")))
}

/// The generated `commands.ts`: the `Commands` map (each command's
/// arguments and answer) and one function per command over a `Call`.
fn typescript(specs: &[CommandSpec], types: &ExportedTypes) -> String {
    let mut ts = String::from(
        "// Generated from src-tauri/src/command_list.rs by `make types`. Do not edit this file manually.\n",
    );
    for (name, (file, _)) in &types.found {
        ts.push_str(&format!("import type {{ {name} }} from \"./{file}\";\n"));
    }
    ts.push_str("\n/** Every IPC command: its arguments by name and what it answers. */\nexport type Commands = {\n");
    for spec in specs {
        let args = if spec.args.is_empty() {
            "Record<string, never>".to_owned()
        } else {
            let fields: Vec<String> = spec.args.iter().map(|(n, t)| format!("{n}: {t}")).collect();
            format!("{{ {} }}", fields.join("; "))
        };
        ts.push_str(&format!(
            "  {}: {{ args: {args}; returns: {} }};\n",
            spec.name, spec.returns
        ));
    }
    ts.push_str(
        "};\n\n\
         /** Sends one command to the backend and answers what it answered. */\n\
         export type Call = <K extends keyof Commands>(command: K, args: Commands[K]['args']) => Promise<Commands[K]['returns']>;\n\n\
         /** One function per command, its arguments in the list's order. */\n\
         export function commands(call: Call) {\n  return {\n",
    );
    for spec in specs {
        let params: Vec<String> = spec.args.iter().map(|(n, t)| format!("{n}: {t}")).collect();
        let names: Vec<&str> = spec.args.iter().map(|(n, _)| *n).collect();
        let sent = if names.is_empty() {
            "{}".to_owned()
        } else {
            format!("{{ {} }}", names.join(", "))
        };
        ts.push_str(&doc_comment(&spec.docs, "    "));
        ts.push_str(&format!(
            "    {}: ({}): Promise<{}> => call('{}', {sent}),\n",
            camel_case(spec.name),
            params.join(", "),
            spec.returns,
            spec.name,
        ));
    }
    ts.push_str("  };\n}\n");
    ts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_names_become_the_facade_s_camel_case() {
        assert_eq!(camel_case("app_status"), "appStatus");
        assert_eq!(camel_case("team_sign_in"), "teamSignIn");
        assert_eq!(camel_case("touch"), "touch");
    }
}
