//! Build script of the desktop app: reads tauri.conf.json (beside the root
//! Cargo.toml), the capabilities in src-tauri/capabilities/, and generates one permission per command from the single command list.

include!("src/command_list.rs");

macro_rules! names {
    ($($name:ident),* $(,)?) => {
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
