//! Bounds on what clients can hold. At most `MAX_CONNECTIONS` connections
//! at once, and at most `MAX_PER_ADDRESS` of them from one address: the
//! slot is reserved *before* a connection is accepted, so past the cap
//! clients wait in the OS queue holding none of our file descriptors, and
//! one host (or everyone behind one NAT) cannot take every slot. And a
//! deadline by which each request must have been answered: a connection
//! that has had no answer `REQUEST_DEADLINE` after it opened or after its
//! last answer is closed. A slow client that dribbles its headers
//! (slowloris), or one that connects and says nothing, holds a slot for
//! seconds, not forever; a keep-alive client idle that long simply
//! reconnects. TLS handshakes run inside the slot too (tls.rs), under their
//! own deadline.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// Well under the usual 1,024 open files of a desktop session, with room
/// for the vault's own files.
pub(crate) const MAX_CONNECTIONS: usize = 768;
/// Two thirds of the slots: the local clients of a loopback service all
/// share one address and must fit, yet one address never holds them all.
pub(crate) const MAX_PER_ADDRESS: usize = 512;
pub(crate) const REQUEST_DEADLINE: Duration = Duration::from_secs(10);

/// The slots of one listener.
#[derive(Clone)]
pub(crate) struct Slots {
    free: Arc<Semaphore>,
    held: Arc<Mutex<HashMap<IpAddr, usize>>>,
    per_address: usize,
}

/// A slot reserved before accepting, not yet given to a connection.
pub(crate) struct Reserved(Option<OwnedSemaphorePermit>);

impl Slots {
    pub(crate) fn new() -> Slots {
        Slots::with_limits(MAX_CONNECTIONS, MAX_PER_ADDRESS)
    }

    fn with_limits(total: usize, per_address: usize) -> Slots {
        Slots {
            free: Arc::new(Semaphore::new(total)),
            held: Arc::new(Mutex::new(HashMap::new())),
            per_address,
        }
    }

    /// Waits for a free slot.
    pub(crate) async fn reserve(&self) -> Reserved {
        // Never closed, so acquiring cannot fail; were it ever, serve
        // without a slot rather than stop serving.
        Reserved(self.free.clone().acquire_owned().await.ok())
    }

    /// The reserved slot, for a connection from `peer`; `None` when that
    /// address holds its share already (the caller closes the connection
    /// at once, and the reservation stays for the next one).
    pub(crate) fn assign(&self, reserved: &mut Reserved, peer: IpAddr) -> Option<Slot> {
        let peer = share_of(peer);
        let mut held = self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = held.entry(peer).or_insert(0);
        if *n >= self.per_address {
            return None;
        }
        *n += 1;
        Some(Slot {
            _permit: reserved.0.take(),
            peer,
            held: self.held.clone(),
        })
    }
}

/// Whose share a connection counts against: an IPv4 address (also when it
/// comes IPv4-mapped), or an IPv6 /64, which one host holds whole.
fn share_of(peer: IpAddr) -> IpAddr {
    match peer {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

/// A connection's place: released when the connection closes.
pub(crate) struct Slot {
    _permit: Option<OwnedSemaphorePermit>,
    peer: IpAddr,
    held: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut held = self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = held.get_mut(&self.peer) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                held.remove(&self.peer);
            }
        }
    }
}

/// Any listener, bounded.
pub(crate) struct Guarded<L> {
    inner: L,
    slots: Slots,
}

impl<L> Guarded<L> {
    pub(crate) fn new(inner: L) -> Guarded<L> {
        Guarded {
            inner,
            slots: Slots::new(),
        }
    }
}

impl<L: axum::serve::Listener<Addr = SocketAddr>> axum::serve::Listener for Guarded<L>
where
    L::Io: Unpin,
{
    type Io = GuardedIo<L::Io>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let mut reserved = self.slots.reserve().await;
        loop {
            let (io, addr) = self.inner.accept().await;
            match self.slots.assign(&mut reserved, addr.ip()) {
                Some(slot) => return (GuardedIo::new(io, slot), addr),
                // Over its address's share: closed at once.
                None => drop(io),
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// One connection: its slot, held until it closes, and its deadline.
pub(crate) struct GuardedIo<I> {
    io: I,
    _slot: Slot,
    deadline: Pin<Box<Sleep>>,
    limit: Duration,
}

impl<I> GuardedIo<I> {
    pub(crate) fn new(io: I, slot: Slot) -> GuardedIo<I> {
        Self::with_deadline(io, slot, REQUEST_DEADLINE)
    }

    fn with_deadline(io: I, slot: Slot, limit: Duration) -> GuardedIo<I> {
        GuardedIo {
            io,
            _slot: slot,
            deadline: Box::pin(tokio::time::sleep(limit)),
            limit,
        }
    }

    fn answered(&mut self) {
        self.deadline.as_mut().reset(Instant::now() + self.limit);
    }

    /// A write the client does not take (it stopped reading) holds the
    /// slot no longer than a request may: past the deadline it fails.
    fn stalled(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client took no answer within the deadline",
            )),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for GuardedIo<I> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "no complete request within the deadline",
            )));
        }
        Pin::new(&mut this.io).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for GuardedIo<I> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.io).poll_write(cx, buf);
        match written {
            Poll::Ready(Ok(n)) if n > 0 => this.answered(),
            Poll::Pending => return this.stalled(cx).map(Err),
            _ => {}
        }
        written
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        match written {
            Poll::Ready(Ok(n)) if n > 0 => this.answered(),
            Poll::Pending => return this.stalled(cx).map(Err),
            _ => {}
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_flush(cx) {
            Poll::Pending => this.stalled(cx).map(Err),
            done => done,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // TLS writes its close_notify here: a client that reads nothing
        // keeps it pending, and the slot, no longer than the deadline.
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_shutdown(cx) {
            Poll::Pending => this.stalled(cx).map(Err),
            done => done,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

    #[test]
    fn one_address_gets_its_share_and_the_slots_come_back_when_connections_close() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(shares());
    }

    async fn shares() {
        let slots = Slots::with_limits(3, 2);
        let mut r = slots.reserve().await;
        let a1 = slots.assign(&mut r, A).unwrap();
        let mut r = slots.reserve().await;
        let a2 = slots.assign(&mut r, A).unwrap();
        let mut r = slots.reserve().await;
        assert!(slots.assign(&mut r, A).is_none(), "A holds its share");
        let b1 = slots
            .assign(&mut r, B)
            .expect("the reservation is kept for another address");
        // All three are taken: the next reservation waits.
        let waiting = tokio::time::timeout(Duration::from_millis(50), slots.reserve()).await;
        assert!(waiting.is_err(), "a fourth slot was handed out");
        drop(a1);
        let mut r = slots.reserve().await;
        let a3 = slots
            .assign(&mut r, A)
            .expect("A's closed connection gave its share back");
        drop((a2, a3, b1));
        assert!(
            slots.held.lock().unwrap().is_empty(),
            "nothing is counted for closed connections"
        );
        assert_eq!(slots.free.available_permits(), 3);
    }

    #[test]
    fn an_ipv6_host_shares_its_64_and_a_mapped_ipv4_address_is_that_address() {
        let host = |last: u16| IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 0, 0, 0, last));
        assert_eq!(share_of(host(1)), share_of(host(2)));
        assert_ne!(
            share_of(host(1)),
            share_of(IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 1, 3, 0, 0, 0, 1)))
        );
        let mapped = IpAddr::V6(std::net::Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped());
        assert_eq!(share_of(mapped), A);
    }

    /// A client that sends requests and stops reading the answers: the
    /// blocked write fails at the deadline, and the slot comes back.
    #[test]
    fn a_client_that_takes_no_answer_loses_its_slot_at_the_deadline() {
        use tokio::io::AsyncWriteExt;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            let slots = Slots::with_limits(1, 1);
            let mut r = slots.reserve().await;
            let slot = slots.assign(&mut r, A).unwrap();
            // The client's end is never read: 16 bytes fit, then writes wait.
            let (server, _client) = tokio::io::duplex(16);
            let mut io = GuardedIo::with_deadline(server, slot, Duration::from_millis(50));
            let e = tokio::time::timeout(Duration::from_secs(5), io.write_all(&[b'x'; 64]))
                .await
                .expect("the blocked write ended at the deadline, not never")
                .expect_err("a write nobody takes");
            assert_eq!(e.kind(), io::ErrorKind::TimedOut);
            drop(io);
            assert_eq!(slots.free.available_permits(), 1, "the slot came back");
        });
    }
}
