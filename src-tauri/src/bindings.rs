//! The TypeScript the UI imports (`ui/src/lib/ipc/bindings/`) is generated:
//! the types from the Rust types by ts-rs, the command map from the command
//! list (`ipc_schema`). The test fails when the committed files are stale;
//! `make types` rewrites them.

use std::collections::BTreeMap;
use std::path::Path;

use ts_rs::TS;

use crate::error::IpcError;

pub const BINDINGS_DIR: &str = "ui/src/lib/ipc/bindings";

/// Writes the command map and every type the commands take or answer
/// (`ipc_schema::export`, from the one command list), and the error every
/// command may answer, into `dir`.
pub fn export_all(dir: &Path) -> Result<(), ts_rs::ExportError> {
    crate::ipc_schema::export(dir)?;
    IpcError::export_all_to(dir)?;
    Ok(())
}

/// File name → contents of the `.ts` files in `dir`.
pub fn read_dir(dir: &Path) -> std::io::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    if !dir.exists() {
        return Ok(out);
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "ts") {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.insert(name, std::fs::read_to_string(&path)?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typescript_bindings_match_the_rust_types() {
        let committed_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(BINDINGS_DIR);
        if std::env::var_os("KEYWARDEN_WRITE_BINDINGS").is_some() {
            std::fs::remove_dir_all(&committed_dir).ok();
            export_all(&committed_dir).unwrap();
            return;
        }
        let fresh = tempfile::tempdir().unwrap();
        export_all(fresh.path()).unwrap();
        let want = read_dir(fresh.path()).unwrap();
        let have = read_dir(&committed_dir).unwrap();
        let stale: std::collections::BTreeSet<&String> = want
            .keys()
            .chain(have.keys())
            .filter(|k| want.get(*k) != have.get(*k))
            .collect();
        assert!(
            stale.is_empty(),
            "the TypeScript bindings in {BINDINGS_DIR} are stale ({stale:?}); run `make types` and commit them"
        );
    }
}
