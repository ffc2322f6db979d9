//! Stack scrubbing: the bytes a key leaves behind on a thread's stack.
//!
//! A Rust move copies and does not erase, and so do the crypto crates'
//! own frames (AES round keys, HKDF and HMAC blocks, Argon2's last block,
//! the keychain's D-Bus session crypto, SQLCipher's parser): after a call
//! that handled a key returns, copies of it stay in the dead part of the
//! stack of whichever thread ran it, until something deeper overwrites
//! them. The app runs its commands on a pool of runtime threads, so a key
//! used on one thread outlived Lock, which ran on another (issue 19). Every
//! call that handles key bytes therefore goes through [`scrubbed`], which
//! overwrites the stack below its caller when the call returns, on the
//! thread that made it.

/// How deep below its caller a scrub reaches. The deepest call wrapped
/// (opening a keychain item over D-Bus) stays well inside this in debug
/// builds; `tests/stack_residue.rs` fails if a key is ever left beyond it.
const DEEP: usize = 128 * 1024;

/// The reach for one AES-GCM, HKDF or HMAC call, made thousands of times
/// in a bulk write: a few kilobytes deep even unoptimised.
const SHALLOW: usize = 16 * 1024;

/// Runs `f`, then overwrites `DEEP` bytes of stack below this frame, where
/// `f`'s frames lay.
#[inline(never)]
pub(crate) fn scrubbed<T>(f: impl FnOnce() -> T) -> T {
    let out = below(f);
    scrub::<DEEP>();
    out
}

/// `scrubbed` for the short primitives (one AES-GCM, HKDF or HMAC call).
#[inline(never)]
pub(crate) fn scrubbed_shallow<T>(f: impl FnOnce() -> T) -> T {
    let out = below(f);
    scrub::<SHALLOW>();
    out
}

/// Calls `f` in a frame of its own: an optimised build may inline `f`'s
/// body (an AES key schedule) into its caller, and the caller's own frame
/// is above the scrub's reach; this frame is below it.
#[inline(never)]
fn below<T>(f: impl FnOnce() -> T) -> T {
    f()
}

/// Overwrites the stack below the caller by placing a zeroed array of `N`
/// bytes there. `black_box` keeps the optimiser from dropping the writes
/// to an array nobody reads.
#[inline(never)]
pub fn scrub<const N: usize>() {
    let below = [0u8; N];
    std::hint::black_box(&below);
}

/// Overwrites the deepest reach below the caller: for a thread about to
/// go idle after using keys (Lock).
#[inline(never)]
pub fn scrub_stack() {
    scrub::<DEEP>();
}
