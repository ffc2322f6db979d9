//! The broker for jobs on this machine (issue 20, finding 7): a Unix socket
//! beside the vault (`<vault>/broker.sock`, in the vault's owner-only
//! folder, itself 0600) on which every connection's peer is checked with
//! `SO_PEERCRED`: only processes of the user who runs `kw serve` are
//! answered. No other local user can reach it, and none can squat it the
//! way one can take a free loopback port before `kw serve` starts and
//! collect the service tokens `kw run` sends there (`kw run` checks the
//! socket's owner too, broker.rs in kw).

use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;

use tokio::net::{UnixListener, UnixStream};

use crate::ServeError;
use crate::guard::{GuardedIo, Slots};

/// The one address every local connection is counted under.
const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Binds `path` for this user: a socket left by a stopped service is
/// replaced; one a running service answers on, or a file that is not a
/// socket, is left alone and refused.
pub(crate) fn bind(path: &Path) -> Result<std::os::unix::net::UnixListener, ServeError> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(ServeError(format!(
                "{} exists and is not a socket; move it away or pass --socket with another path",
                path.display()
            )));
        }
        // Only our own: another user's socket is theirs to remove.
        if std::os::unix::fs::MetadataExt::uid(&meta) != rustix::process::getuid().as_raw() {
            return Err(ServeError(format!(
                "{} belongs to another user; pass --socket with a path in a folder of your own",
                path.display()
            )));
        }
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(ServeError(format!(
                "another kw serve answers on {} already; stop it, or pass --socket with another path",
                path.display()
            )));
        }
        std::fs::remove_file(path).map_err(|e| ServeError(format!("cannot replace {}: {e}", path.display())))?;
    }
    let listener = std::os::unix::net::UnixListener::bind(path)
        .map_err(|e| ServeError(format!("cannot listen on {}: {e}", path.display())))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| ServeError(format!("cannot make {} owner-only: {e}", path.display())))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| ServeError(format!("cannot listen on {}: {e}", path.display())))?;
    Ok(listener)
}

/// A Unix listener that answers only this user's processes, with the same
/// connection bounds as the TCP service (guard.rs).
pub(crate) struct SameUser {
    inner: UnixListener,
    slots: Slots,
    uid: u32,
}

impl SameUser {
    pub(crate) fn new(inner: UnixListener) -> SameUser {
        SameUser {
            inner,
            slots: Slots::new(),
            uid: rustix::process::getuid().as_raw(),
        }
    }
}

impl axum::serve::Listener for SameUser {
    type Io = GuardedIo<UnixStream>;
    type Addr = tokio::net::unix::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let mut reserved = self.slots.reserve().await;
        loop {
            let (stream, addr) = match self.inner.accept().await {
                Ok(accepted) => accepted,
                // Out of file descriptors and the like: back off, go on.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            // Another user's process (root included: it needs nothing
            // from us) is closed unanswered.
            if !stream.peer_cred().is_ok_and(|c| c.uid() == self.uid) {
                continue;
            }
            if let Some(slot) = self.slots.assign(&mut reserved, LOCAL) {
                return (GuardedIo::new(stream, slot), addr);
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}
