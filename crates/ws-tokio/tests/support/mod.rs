//! What the ws-tokio integration tests share: an echo server that is exactly the
//! `echo_server` example, accepting one connection, waiting for a message, and an
//! in-memory stream that records its reads.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use ws_tokio::{Decision, Message, Receiver, Server, ServerOptions, WebSocket};

#[allow(dead_code)]
#[path = "../../examples/echo_server.rs"]
mod echo_example;

/// How long a test waits for any one thing.
pub const LIMIT: Duration = Duration::from_secs(30);

/// The `echo_server` example, serving on a free loopback port with `options`.
pub async fn echo_server(options: ServerOptions) -> SocketAddr {
    let server = Server::bind("127.0.0.1:0", options).await.unwrap();
    let addr = server.local_addr().unwrap();
    tokio::spawn(echo_example::serve(server, false));
    addr
}

/// Accepts the next connection on `server`, upgrades it, and hands it to a task of its own
/// (the task-driven handles).
pub async fn accept_one(server: &Server) -> WebSocket {
    server
        .accept()
        .await
        .unwrap()
        .upgrade(|_| Decision::accept())
        .await
        .unwrap()
        .into_driven()
}

/// The next message, within [`LIMIT`].
pub async fn next_message(receiver: &mut Receiver) -> Message {
    tokio::time::timeout(LIMIT, receiver.recv())
        .await
        .expect("timed out waiting for a message")
        .expect("the connection ended")
        .expect("the connection failed")
}

/// Holds a paused clock still while a test's real I/O (loopback TCP) is under way.
///
/// A paused clock (`#[tokio::test(start_paused = true)]`) jumps to the next timer whenever
/// the runtime has nothing to do — also while it waits for the kernel to deliver loopback
/// bytes, which would fire a 300 ms timeout before the peer's answer came. Tokio does not
/// let the clock jump while a blocking task runs, so a hold is a blocking task that waits:
/// until [`release`](Self::release), every timer stays where it was armed and I/O happens
/// at its real pace. Once released, the clock jumps from the instant it was paused at, so a
/// timeout fires at exactly its virtual duration. After [`LIMIT`] of real time the hold lets
/// go by itself, so that a test that goes wrong fails on its (virtual) limits instead of
/// hanging.
pub struct ClockHold {
    release: std::sync::mpsc::Sender<()>,
    held: tokio::task::JoinHandle<()>,
}

impl ClockHold {
    /// Holds the clock of the current (current-thread, paused) runtime.
    pub fn new() -> Self {
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let held = tokio::task::spawn_blocking(move || {
            let _ = wait.recv_timeout(LIMIT);
        });
        Self { release, held }
    }

    /// Lets the clock jump again once the runtime is idle.
    pub async fn release(self) {
        let _ = self.release.send(());
        let _ = self.held.await;
    }
}

/// One read of a [`RecordsReads`] stream: the room it offered and the bytes it took (none
/// for a read that waited).
#[derive(Clone, Copy, Debug)]
pub struct RecordedRead {
    pub room: usize,
    pub taken: usize,
}

/// An in-memory stream that records every read made of it.
pub struct RecordsReads {
    inner: tokio::io::DuplexStream,
    reads: std::sync::Arc<std::sync::Mutex<Vec<RecordedRead>>>,
}

impl RecordsReads {
    /// `inner`, recording; the reads so far are in the second value.
    pub fn new(
        inner: tokio::io::DuplexStream,
    ) -> (Self, std::sync::Arc<std::sync::Mutex<Vec<RecordedRead>>>) {
        let reads = std::sync::Arc::default();
        let stream = Self {
            inner,
            reads: std::sync::Arc::clone(&reads),
        };
        (stream, reads)
    }
}

impl tokio::io::AsyncRead for RecordsReads {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let (room, before) = (buf.remaining(), buf.filled().len());
        let poll = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        let taken = buf.filled().len() - before;
        self.reads
            .lock()
            .unwrap()
            .push(RecordedRead { room, taken });
        poll
    }
}

impl tokio::io::AsyncWrite for RecordsReads {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        data: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
