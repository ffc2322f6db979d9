//! Build script of the desktop app: reads tauri.conf.json (beside the root
//! Cargo.toml) and the capabilities in src-tauri/capabilities/, and builds
//! from the one command list (src/command_list.rs) a permission per command
//! (`allow-<name>`). The capability names each one it grants, so a new
//! command reaches the window only through a visible change there
//! (`config_tests.rs` fails until it is made).

include!("src/command_list.rs");

macro_rules! names {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident ( $($arg:ident : $ty:ty),* $(,)? ) -> $ret:ty;
    )*) => {
        &[$(stringify!($name)),*]
    };
}

fn main() {
    // The UI is embedded at compile time: rebuild when it or the
    // capabilities change (tauri-build does not watch either folder).
    println!("cargo:rerun-if-changed=ui/build");
    println!("cargo:rerun-if-changed=src-tauri/capabilities");
    println!("cargo:rerun-if-changed=src-tauri/src/command_list.rs");
    let commands: &'static [&'static str] = for_each_command!(names);
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("./src-tauri/capabilities/**/*")
        .app_manifest(tauri_build::AppManifest::new().commands(commands));
    if let Err(e) = tauri_build::try_build(attributes) {
        eprintln!("tauri build step failed: {e:#}");
        std::process::exit(1);
    }
}
