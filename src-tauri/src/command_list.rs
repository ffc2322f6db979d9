// The one list of IPC commands. `build.rs` turns it into permissions
// (`allow-<name>`), `lib.rs` into the invoke handler; the UI's typed facade
// (`ui/src/lib/ipc/`) calls exactly these names. Adding a command means
// adding it here, to `commands.rs`, and to a capability.
macro_rules! for_each_command {
    ($m:ident) => {
        $m!(
            app_status,
            create_vault,
            unlock_vault,
            lock_vault,
            recover_vault,
            touch,
            list_credentials,
            get_credential,
            add_credential,
            update_credential,
            rotate_credential,
            test_connection,
            list_checks,
            disable_credential,
            credential_dependents,
            delete_credential,
            copy_secret,
            list_integrations,
            get_integration,
            add_integration,
            update_integration,
            list_audit,
            verify_audit,
            export_audit,
            export_config,
            open_support_bundle,
            list_notices,
            mark_notices_read,
            dismiss_notice,
            list_partner_keys,
            get_partner_key,
            issue_partner_key,
            rotate_partner_key,
            revoke_partner_key,
            save_key_envelope,
            take_key_delivery,
            vault_public_key,
            credential_consumers,
            get_settings,
            save_settings,
        )
    };
}
