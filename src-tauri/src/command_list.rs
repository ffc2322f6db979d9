// The IPC schema: every command the window may call, with its arguments by
// name and what it answers. Everything else is built from this one list:
// - `ipc_schema.rs`: the Tauri command each name binds (the handler in
//   `commands.rs` receives exactly the arguments below, by name and type,
//   and answers the response, or it does not compile), the invoke handler,
//   and the TypeScript the UI calls (`ui/src/lib/ipc/bindings/commands.ts`,
//   checked by `cargo test`, rewritten by `make types`);
// - `build.rs`: one permission per command (`allow-<name>`), which the main
//   window's capability names one by one (`config_tests.rs` checks it).
// Adding a command means adding it here, its handler to `commands.rs`, its
// permission to the capability, and running `make types`.
//
// Each entry: `name(arg: RustType, ...) -> Response;`. The handler receives
// its arguments as one struct, `ipc_schema::args::<name>`, destructured by
// name, so a renamed argument does not compile either. An argument's type
// says its TypeScript through `ipc_schema::IpcArg` (a type without it does
// not compile). `///` lines become the TypeScript function's documentation.
macro_rules! for_each_command {
    ($m:ident) => {
        $m! {
            /// Whether a vault exists, is locked, and what the policy says.
            app_status() -> AppStatus;
            /// Creates the vault; `passphrase` null keeps its key in the OS keychain.
            create_vault(passphrase: Option<SecretString>) -> RecoveryCodeOut;
            /// Unlocks with the keychain (`passphrase` null) or the passphrase.
            unlock_vault(passphrase: Option<SecretString>) -> ();
            lock_vault() -> ();
            /// Opens the vault with its recovery code and binds a new key.
            recover_vault(
                recovery_code: SecretString,
                passphrase: Option<SecretString>
            ) -> ();
            /// The person is active in the window: postpones auto-lock.
            touch() -> ();

            list_credentials() -> Vec<CredentialSummary>;
            get_credential(id: String) -> Credential;
            add_credential(input: NewCredentialInput) -> Credential;
            update_credential(id: String, patch: CredentialPatchInput) -> Credential;
            /// Validate and Save: the new secret replaces the old only if it passes.
            rotate_credential(id: String, input: RotateInput) -> RotationOutcome;
            test_connection(id: String, offline: bool) -> CheckReport;
            list_checks(id: String) -> Vec<Check>;
            /// Uses and checks per UTC day over the last `days` days (at most 366), every day listed.
            credential_activity(id: String, days: u32) -> Vec<DayActivity>;
            /// How often the credential is checked live on a schedule, and when next.
            check_schedule(id: String) -> CheckSchedule;
            /// Sets its period in hours (0: not scheduled; null: its integration's or provider's).
            set_check_schedule(id: String, every_hours: Option<u32>) -> CheckSchedule;
            /// An integration's check period, its provider's default and the policy's bound.
            integration_check_schedule(id: String) -> IntegrationSchedule;
            /// Sets it in hours (0: not scheduled; null: the provider's), within the policy.
            set_integration_check_schedule(id: String, every_hours: Option<u32>) -> IntegrationSchedule;

            /// Alert channels beyond this desktop (never their secret).
            list_alert_channels() -> Vec<AlertChannel>;
            /// The latest alert deliveries, newest first.
            alert_deliveries() -> Vec<AlertDelivery>;
            /// A webhook (Slack, Teams); its URL is sealed and never shown again.
            add_webhook_channel(name: String, url: SecretString, events: Vec<AlertEvent>) -> AlertChannel;
            /// Email over SMTP with STARTTLS; the password (if any) is sealed.
            add_email_channel(
                name: String,
                config: EmailConfig,
                password: Option<SecretString>,
                events: Vec<AlertEvent>
            ) -> AlertChannel;
            remove_alert_channel(name: String) -> ();
            /// "Send a test alert": delivered within moments.
            test_alert_channel(name: String) -> ();
            /// A verified backup into the settings' backup folder now.
            backup_now() -> BackupReport;
            dismiss_reminder(id: String, kind: ReminderKind) -> Credential;
            disable_credential(id: String, reason: String) -> Credential;
            /// The integrations a credential serves, then the workflows seen using it.
            credential_dependents(id: String) -> Vec<String>;
            delete_credential(id: String, confirm_name: String) -> ();
            /// Puts a secret on the clipboard from the backend; the window never sees it.
            copy_secret(id: String, field: Option<String>) -> CopyReceipt;
            /// An OAuth 2.0 credential's access token: cached until when, obtained when (never the token).
            access_token_state(id: String) -> TokenState;
            /// "Refresh": a new access token now; it stays in the backend.
            refresh_access_token(id: String) -> TokenState;
            /// "Connect…" / "Re-authorize…": the sign-in in the system browser; answers at once.
            connect_credential(id: String) -> ConnectStatus;
            /// How the Connect started from the window stands.
            connect_status() -> ConnectStatus;
            /// Ends the wait for the browser; nothing is stored.
            cancel_connect() -> ();

            list_integrations() -> Vec<Integration>;
            get_integration(id: String) -> Integration;
            add_integration(input: NewIntegrationInput) -> Integration;
            update_integration(id: String, patch: IntegrationPatchInput) -> Integration;

            list_audit(query: AuditQuery) -> Vec<AuditEvent>;
            verify_audit() -> AuditReport;
            /// The backend asks where in the native save dialog; null: cancelled.
            export_audit(query: AuditQuery, format: ExportFormat) -> Option<ExportReceipt>;
            /// The backend asks where in the native save dialog; null: cancelled.
            export_config() -> Option<ExportReceipt>;
            /// "Choose file…" of Import: the native Open dialog, then a dry run (null: cancelled).
            choose_import_file(options: ImportOptions) -> Option<ImportPreview>;
            /// How far the import under way is.
            import_status() -> ImportStatus;
            /// Starts importing the file previewed, all or nothing; `import_status` says how it goes.
            run_import(id: String) -> ImportStatus;
            /// Forgets the file previewed.
            discard_import() -> ();
            /// Opens a support bundle someone sent, for display only.
            open_support_bundle(path: String) -> SupportBundle;

            list_notices(include_dismissed: bool) -> Vec<Notice>;
            mark_notices_read() -> usize;
            dismiss_notice(id: i64) -> ();

            list_partner_keys() -> Vec<PartnerKey>;
            get_partner_key(id: String) -> PartnerKeyDetails;
            issue_partner_key(input: IssueKeyInput) -> IssuedKeyOut;
            /// `grace_days` null: the policy's default overlap.
            rotate_partner_key(id: String, grace_days: Option<u32>) -> IssuedKeyOut;
            revoke_partner_key(id: String, reason: String) -> PartnerKey;
            /// The backend asks where in the native save dialog; null: cancelled.
            save_key_envelope(id: String) -> Option<ExportReceipt>;
            take_key_delivery(id: String) -> IssuedKeyOut;
            vault_public_key() -> String;
            /// The workflows that used a credential in the last 90 days.
            credential_consumers(id: String) -> Vec<Consumer>;

            get_settings() -> Settings;
            save_settings(settings: Settings) -> Settings;

            /// The team vault on OpenBao: the same sign-in as `kw team`.
            team_status() -> TeamStatus;
            team_sign_in(input: TeamSignInInput) -> TeamStatus;
            team_sign_out() -> ();
            team_list() -> Listing;
            team_show(name: String) -> TeamCredentialOut;
            team_rotate(name: String, input: TeamRotateInput) -> TeamCredentialOut;
        }
    };
}
