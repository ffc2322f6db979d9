// Keywarden desktop: no console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    keywarden_desktop::run();
}
