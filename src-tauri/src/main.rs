// Keywarden desktop: no console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

/// Every freed heap block is zeroed first: secrets and keys that passed
/// through any crate's buffers do not outlive their use (SECURITY.md,
/// "Memory"; proven by tests/memory.rs).
#[global_allocator]
static ALLOC: zeroize_alloc::ZeroizingAllocator<std::alloc::System> =
    zeroize_alloc::ZeroizingAllocator(std::alloc::System);

fn main() {
    keywarden_desktop::run();
}
