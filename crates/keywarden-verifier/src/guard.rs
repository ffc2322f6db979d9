//! Bounds on what clients can hold. At most `MAX_CONNECTIONS` connections
//! at once: past that, accepting waits for a free slot (back-pressure in the
//! OS queue, not an unbounded number of sockets and tasks). And a deadline
//! by which each request must have been answered: a connection that has had
//! no answer `REQUEST_DEADLINE` after it opened or after its last answer is
//! closed. A slow client that dribbles its headers (slowloris), or one that
//! connects and says nothing, holds a slot for seconds, not forever; a
//! keep-alive client idle that long simply reconnects.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// Well under the usual 1,024 open files of a desktop session, with room
/// for the vault's own files.
pub(crate) const MAX_CONNECTIONS: usize = 768;
pub(crate) const REQUEST_DEADLINE: Duration = Duration::from_secs(10);

/// Any listener, bounded.
pub(crate) struct Guarded<L> {
    inner: L,
    slots: Arc<Semaphore>,
}

impl<L> Guarded<L> {
    pub(crate) fn new(inner: L) -> Guarded<L> {
        Guarded {
            inner,
            slots: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
        }
    }
}

impl<L: axum::serve::Listener> axum::serve::Listener for Guarded<L>
where
    L::Io: Unpin,
{
    type Io = GuardedIo<L::Io>;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // Never closed, so acquiring cannot fail; were it ever, serve
        // without a slot rather than stop serving.
        let permit = self.slots.clone().acquire_owned().await.ok();
        let (io, addr) = self.inner.accept().await;
        let io = GuardedIo {
            io,
            _slot: permit,
            deadline: Box::pin(tokio::time::sleep(REQUEST_DEADLINE)),
        };
        (io, addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// One connection: its slot, held until it closes, and its deadline.
pub(crate) struct GuardedIo<I> {
    io: I,
    _slot: Option<OwnedSemaphorePermit>,
    deadline: Pin<Box<Sleep>>,
}

impl<I> GuardedIo<I> {
    fn answered(&mut self) {
        self.deadline.as_mut().reset(Instant::now() + REQUEST_DEADLINE);
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
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            this.answered();
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
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            this.answered();
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
