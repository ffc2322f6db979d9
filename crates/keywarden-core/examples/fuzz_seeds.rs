//! `cargo run -p keywarden-core --features fuzzing --example fuzz_seeds DIR`
//! (scripts/fuzz.sh; a plain build: the instrumented one has no libFuzzer
//! runtime outside a target): writes each fuzz target's starting corpus into DIR/TARGET/:
//! well-formed inputs made by the code itself (a fresh throwaway vault's
//! export and support bundle, format-valid keys nobody issued), so that
//! libFuzzer starts deep in each parser. Nothing real is ever in them.

use std::path::Path;

use keywarden_core::partner::format::{KeyEnv, KeyKind, new_id, new_key_of};

fn write(dir: &Path, target: &str, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let d = dir.join(target);
    std::fs::create_dir_all(&d)?;
    std::fs::write(d.join(name), bytes)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).ok_or("usage: fuzz_seeds DIR")?;
    let dir = Path::new(&dir);
    file_seeds(dir)?;
    vault_seeds(dir)?;
    key_seeds(dir)?;
    text_seeds(dir)?;
    team_seeds(dir)?;
    ipc_seeds(dir)
}

/// Sealed values, the policy file and the migration imports.
fn file_seeds(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    write(dir, "sealed_value", "valid", &keywarden_core::fuzzing::sealed_seed())?;
    write(dir, "sealed_value", "short", &[1, 0, 0, 0, 1])?;

    write(
        dir,
        "policy_file",
        "all_keys",
        b"# IT policy\nexport_allowed = false\nclipboard_allowed = false\nrequire_live_validation = true\n\
max_credential_age_days = 90\nnotice_thresholds_days = [30, 14, 7, 1]\nauto_lock_max_minutes = 10\n\
allowed_providers = [\"pleo\", \"xledger\", \"business_central\"]\nverifier_allowed = false\n",
    )?;
    write(dir, "policy_file", "broken", b"export_allowed = maybe\n")?;

    // The migration import: byte 0 picks the format (even CSV, odd XML).
    write(
        dir,
        "migration_import",
        "csv",
        b"\x00name,secret,username,url,notes,tags,expires,totp\nPleo,fuzz-seed-not-a-secret,,https://x.test,n,a;b,2030-01-01,\nBank,also-not-a-secret,ola,,,,,JBSWY3DP\n",
    )?;
    write(
        dir,
        "migration_import",
        "keepassxc_csv",
        b"\x00\"Group\",\"Title\",\"Username\",\"Password\",\"URL\",\"Notes\",\"TOTP\",\"Icon\",\"Last Modified\",\"Created\"\n\"Root/Finance\",\"Pleo\",\"\",\"fuzz-seed-not-a-secret\",\"\",\"\",\"\",\"0\",\"\",\"\"\n",
    )?;
    write(
        dir,
        "migration_import",
        "keepass_xml",
        b"\x01<?xml version=\"1.0\"?><KeePassFile><Meta><RecycleBinUUID>Ymlu</RecycleBinUUID></Meta><Root><Group><UUID>cm9vdA==</UUID><Name>Root</Name>\
<Entry><Tags>a;b</Tags><Times><Expires>True</Expires><ExpiryTime>dL6W4g4AAAA=</ExpiryTime></Times>\
<String><Key>Title</Key><Value>Pleo &amp; co</Value></String><String><Key>Password</Key><Value ProtectInMemory=\"True\">fuzz-seed-not-a-secret</Value></String>\
<String><Key>PIN</Key><Value ProtectInMemory=\"True\">1234</Value></String><History><Entry/></History></Entry>\
<Group><UUID>Ymlu</UUID><Name>Recycle Bin</Name><Entry><String><Key>Title</Key><Value>x</Value></String></Entry></Group></Group></Root></KeePassFile>",
    )?;
    Ok(())
}

/// A throwaway vault's export, support bundle and header.
fn vault_seeds(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let (mut vault, _) = keywarden_core::fuzzing::vault("seeds")?;
    let export = vault.export_config()?;
    write(dir, "config_import", "export", &serde_json::to_vec_pretty(&export)?)?;
    let bundle = vault.support_bundle()?;
    write(dir, "support_bundle", "bundle", &serde_json::to_vec_pretty(&bundle)?)?;
    write(
        dir,
        "vault_header",
        "passphrase",
        &std::fs::read(vault.dir().join("vault.json"))?,
    )?;
    drop(vault);
    let _ = std::fs::remove_dir_all(std::env::temp_dir().join("keywarden-fuzz").join("seeds"));
    Ok(())
}

/// Keys of the right shape that no vault issued, and requests carrying them.
fn key_seeds(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let partner = new_key_of(KeyKind::Partner, KeyEnv::Live, &new_id());
    let service = new_key_of(KeyKind::Service, KeyEnv::Live, &new_id());
    write(dir, "partner_key", "partner", partner.as_bytes())?;
    write(dir, "partner_key", "service", service.as_bytes())?;
    write(
        dir,
        "serve_requests",
        "verify",
        format!(
            "POST /v1/keys/verify HTTP/1.1\r\nHost: kw\r\nX-Api-Key: {}\r\nX-Required-Scope: invoices:read\r\n\r\n",
            partner.as_str()
        )
        .as_bytes(),
    )?;
    write(
        dir,
        "serve_requests",
        "broker",
        format!(
            "GET /v1/integrations/Pleo%20production/credential HTTP/1.1\r\nHost: kw\r\nAuthorization: Bearer {}\r\n\r\n",
            service.as_str()
        )
        .as_bytes(),
    )?;
    Ok(())
}

/// Settings, JWT claims, recovery codes and WWW-Authenticate headers.
fn text_seeds(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let settings = keywarden_core::settings::Settings::default();
    write(dir, "settings_json", "defaults", &serde_json::to_vec_pretty(&settings)?)?;
    write(
        dir,
        "settings_json",
        "changed",
        br#"{"expiring_within_days":30,"auto_lock_minutes":5,"clipboard_clear_seconds":20,"allow_clipboard_copy":true,"auth_failure_threshold":2,"notice_thresholds":[60,30,14,7,1],"rotation_max_age_days":60,"rotation_grace_days":3,"verifier_listen":"127.0.0.1:8787"}"#,
    )?;

    {
        use base64::Engine;
        let b64 = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        let claims = r#"{"exp":1893456000,"iss":"https://login.microsoftonline.com/6c0e3f4a-1b2c-4d5e-8f90-a1b2c3d4e5f6/v2.0","aud":["api://x"],"scp":"read write","tid":"6c0e3f4a-1b2c-4d5e-8f90-a1b2c3d4e5f6"}"#;
        let jwt = format!("{}.{}.{}", b64(r#"{"alg":"none"}"#), b64(claims), b64("sig"));
        write(dir, "jwt_claims", "entra", jwt.as_bytes())?;
    }
    write(dir, "recovery_code", "zeros", b"00000-00000-00000-00000-00000-00000-00")?;
    write(
        dir,
        "recovery_code",
        "lookalikes",
        b"abcde fghij klmno pqrst vwxyz ilo01 23",
    )?;

    write(
        dir,
        "www_authenticate",
        "bearer",
        b"Basic realm=\"x\", Bearer realm=\"api\", error=\"invalid_token\", error_description=\"The token \\\"expired\\\"\", scope=\"read write\"\nNegotiate abc==",
    )?;
    Ok(())
}

/// The team vault's answers and its broker's requests.
fn team_seeds(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    // Team answers: byte 0 picks the reader (team crate, fuzzing.rs).
    let team: [(u8, &str); 6] = [
        (
            0,
            r#"{"custom_metadata":{"kw":"1","name":"Pleo payroll","kind":"api_key","masked":"••••••••abcd","fields":"api_key","secret_version":"2","config_version":"1","expires_at":"2027-01-31T00:00:00Z","enabled":"true","updated_by":"e1","updated_by_name":"userpass-bob","updated_at":"2026-12-01T10:00:00Z","write_id":"w1","state":"live"},"current_metadata_version":3}"#,
        ),
        (
            1,
            r#"{"data":{"entity_id":"e1","display_name":"userpass-bob","policies":["default"],"identity_policies":["kw-keywarden-admin","kw-keywarden-member"],"ttl":3600,"renewable":true}}"#,
        ),
        (2, r#"{"api_key":"fuzz-seed-not-a-secret","password":"x"}"#),
        (
            3,
            r#"{"seq":1,"at":"2026-12-01T10:00:00Z","actor_entity":"e1","actor_name":"userpass-bob","action":"credential.add","credential_id":"c1","credential_name":"Pleo payroll","detail":"added","prev":"","writer":"e1","nonce":"n1"}"#,
        ),
        (4, r#"{"offline":true,"as_of":"2026-12-01T10:00:00Z","cards":[]}"#),
        (5, "shared/view/e1/3f2a~0123456789ab"),
    ];
    for (which, text) in team {
        let mut bytes = vec![which];
        bytes.extend_from_slice(text.as_bytes());
        write(dir, "team_answers", &format!("answer_{which}"), &bytes)?;
    }
    write(
        dir,
        "team_broker_requests",
        "check",
        b"POST /v1/team/check HTTP/1.1\r\nHost: kw\r\nAuthorization: Bearer s.fuzzseedtoken\r\nContent-Type: application/json\r\n\r\n{\"credential\":\"Pleo payroll\"}",
    )?;
    write(
        dir,
        "team_broker_requests",
        "share",
        b"POST /v1/team/share HTTP/1.1\r\nHost: kw\r\nAuthorization: Bearer s.fuzzseedtoken\r\n\r\n{\"credential\":\"Pleo payroll\",\"level\":\"view\",\"expected_revision\":3}",
    )?;
    Ok(())
}

/// IPC payloads: byte 0 picks the command.
fn ipc_seeds(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let ipc: [(u8, &str); 10] = [
        (
            0,
            r#"{"name":"Pleo payroll","kind":"api_key","integration":"Pleo","config":{},"secrets":{"api_key":"pk_live_0000000000000000"},"tags":["payroll"],"expires_at":"2027-01-31","max_age_days":90}"#,
        ),
        (
            1,
            r#"{"name":"Renamed","tags":["a"],"notes":"n","expires_at":null,"max_age_days":0}"#,
        ),
        (
            2,
            r#"{"secrets":{"api_key":"pk_live_1111111111111111"},"expires_at":"2027-02-01T00:00:00Z","offline":true}"#,
        ),
        (
            3,
            r#"{"name":"Pleo","provider":"pleo","environment":"production","scopes":["read"],"env_names":{"api_key":"PLEO_API_KEY"}}"#,
        ),
        (4, r#"{"name":"Pleo 2","tenant_id":"acme","max_age_days":30}"#),
        (
            5,
            r#"{"since":"2026-01-01","until":"2026-12-31","action":"credential.rotate","limit":100}"#,
        ),
        (
            6,
            r#"{"application":"Partner","environment":"live","scopes":["invoices:read"],"expires_at":"2027-01-01","max_age_days":90,"grace_days":7}"#,
        ),
        (
            7,
            r#"{"expiring_within_days":14,"auth_failure_threshold":3,"auto_lock_minutes":10}"#,
        ),
        (8, r#"{"payload":"e30","signature":"AA=="}"#),
        (9, r#""csv""#),
    ];
    for (which, json) in ipc {
        let mut bytes = vec![which];
        bytes.extend_from_slice(json.as_bytes());
        write(dir, "ipc_payloads", &format!("payload_{which}"), &bytes)?;
    }
    Ok(())
}
