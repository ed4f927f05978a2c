//! [`WsStream`]: a connection driven by its owner, with no task of its own — what
//! [`connect`](crate::connect), [`accept`](crate::accept) and
//! [`Incoming::upgrade`](crate::Incoming::upgrade) give.
//!
//! [`recv`](WsStream::recv) reads the socket straight into the engine's input buffer (no
//! copy; a large frame is read into room reserved for all of it), parses, and returns the
//! next message; [`send`](WsStream::send) encodes and writes at once. Pings are answered and
//! the close handshake is run (bounded by the close timeout) inside `recv`, so a program must
//! keep calling it; and since one task does both, a peer that never reads can block a `send`
//! until the peer reads. This is how `tokio-tungstenite` and `fastwebsockets` run a
//! connection, and the fastest way: no message crosses a channel or wakes another task.
//!
//! [`into_driven`](WsStream::into_driven) hands the connection to a task of its own and gives
//! the [`WebSocket`] handles (a cloneable [`Sender`](crate::Sender) and a
//! [`Receiver`](crate::Receiver)), which keep answering pings and reading while nobody calls
//! `recv` — at the price of a hand-off per message (a few hundred nanoseconds of scheduling,
//! more than the WebSocket work on small messages; see `BENCHMARKS.md`). The inspector needs
//! that (it must keep reading while its UI is busy); a server that answers each message does
//! not.
//!
//! A server's binary messages of 8 KiB and more are not copied either: the engine queues the
//! header ([`Connection::send_binary_shared`]) and the payload is written from the caller's
//! [`Bytes`] right behind it, in one vectored write. A tap, if set, sees the same reports as
//! with the handles: both run on the same synchronous core (`conn_core`), which turns the
//! engine's events into messages and reports.
//!
//! ```no_run
//! # async fn demo() -> Result<(), ws_tokio::Error> {
//! use ws_tokio::{ConnectOptions, Message, connect};
//!
//! let mut ws = connect(ConnectOptions::new("ws://127.0.0.1:9002/")).await?;
//! ws.send_text("hello").await?;
//! while let Some(message) = ws.recv().await {
//!     if let Message::Text(text) = message? {
//!         println!("{text}");
//!         ws.close(Some(ws_tokio::ws_proto::CloseCode::NORMAL), "bye").await?;
//!     }
//! }
//! # Ok(()) }
//! ```

use std::fmt;
use std::io::IoSlice;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;
use ws_proto::bytes::{Bytes, BytesMut};
use ws_proto::{CloseCode, Connection, ReadyState};

use crate::conn_core::{ConnCore, Settings, send_reports};
use crate::driver::{self, WebSocket};
use crate::error::{Error, Stage};
use crate::handshake_info::HandshakeInfo;
use crate::message::{Message, Outgoing};
use crate::tap::TapKind;

/// Room reserved in the engine's input buffer before each read.
const READ_ROOM: usize = 16 * 1024;

/// Binary messages at least this large are written from the caller's buffer instead of
/// being copied into the engine's output.
const SHARED_MIN: usize = 8 * 1024;

/// A TCP stream, or TLS over one: what [`connect`](crate::connect) and
/// [`accept`](crate::accept) give a [`WsStream`].
#[derive(Debug)]
pub enum MaybeTlsStream {
    /// `ws://`.
    Plain(TcpStream),
    /// `wss://`, either role.
    Tls(Box<tokio_rustls::TlsStream<TcpStream>>),
}

impl AsyncRead for MaybeTlsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for MaybeTlsStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Plain(s) => s.is_write_vectored(),
            Self::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// An open connection driven by the task that owns it (see the [module notes](self)).
pub struct WsStream<S> {
    io: S,
    core: ConnCore,
    handshake: HandshakeInfo,
    settings: Settings,
    /// Output taken from the engine for writing (swapped with the engine's buffer, no copy).
    out: BytesMut,
    /// Tap reports not yet sent (reused; empty without a tap).
    reports: Vec<TapKind>,
    close_deadline: Option<Instant>,
    /// The transport is done with: `recv` returns `None`.
    finished: bool,
}

impl<S> fmt::Debug for WsStream<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsStream")
            .field("conn", self.core.conn())
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl<S> WsStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    pub(crate) fn new(
        io: S,
        conn: Connection,
        handshake: HandshakeInfo,
        settings: Settings,
    ) -> Self {
        let core = ConnCore::new(conn, None, settings.tap.is_some());
        Self {
            io,
            core,
            handshake,
            settings,
            out: BytesMut::new(),
            reports: Vec::new(),
            close_deadline: None,
            finished: false,
        }
    }

    /// What the opening handshake settled.
    pub fn handshake(&self) -> &HandshakeInfo {
        &self.handshake
    }

    /// The connection's state, as the browser's `WebSocket.readyState` numbers it.
    pub fn state(&self) -> ReadyState {
        self.core.conn().state()
    }

    /// The engine, to read what it knows (close code, agreed extensions, …).
    pub fn connection(&self) -> &Connection {
        self.core.conn()
    }

    /// The next message; `Some(Err(_))` if the connection failed (protocol error, lost
    /// connection, timeout); `None` once it has ended. Pings are answered and the close
    /// handshake completed in here.
    ///
    /// Not cancel-safe while it writes an answer (a pong, a close frame); a cancelled read
    /// loses nothing.
    pub async fn recv(&mut self) -> Option<Result<Message, Error>> {
        if self.finished {
            return None;
        }
        match self.next_message().await {
            Ok(Some(message)) => Some(Ok(message)),
            Ok(None) => {
                self.finish(None).await;
                None
            }
            Err(e) => {
                self.finish(Some(&e)).await;
                Some(Err(e))
            }
        }
    }

    async fn next_message(&mut self) -> Result<Option<Message>, Error> {
        // The common case — a message parsed, nothing to write, no tap, the state unchanged —
        // takes no `.await` but the read's.
        loop {
            if let Some(message) = self.core.next_message(&mut self.reports) {
                self.send_reports().await;
                // An answer the engine made (pong, close reply) goes out before the message
                // is handed over: the caller may not call `recv` again.
                self.settle().await?;
                return Ok(Some(message));
            }
            self.send_reports().await;
            self.settle().await?;
            if self.core.conn().is_paused() {
                if let Err(e) = self.core.conn_mut().receive_data(&[]) {
                    return Err(self.failed(e).await);
                }
                continue;
            }
            if self.core.conn().should_close_transport() {
                return Ok(None);
            }
            if self.close_deadline.is_none() && self.core.closing() {
                self.close_deadline = Some(Instant::now() + self.settings.close_timeout);
            }
            let read = self.io.read_buf(self.core.conn_mut().input_buffer(READ_ROOM));
            let read = match self.close_deadline {
                None => read.await,
                Some(deadline) => match tokio::time::timeout_at(deadline, read).await {
                    Ok(read) => read,
                    // The close handshake is done; the server did not close TCP in time.
                    Err(_) if self.core.closed() => return Ok(None),
                    Err(_) => return Err(Error::timeout(Stage::Close)),
                },
            };
            match read {
                Ok(0) => {
                    let result = self.core.conn_mut().receive_eof();
                    self.drain_frames().await;
                    let _ = self.write_output().await;
                    result?;
                    return Ok(None);
                }
                Ok(_) => {
                    if let Err(e) = self.core.conn_mut().receive_buffered() {
                        return Err(self.failed(e).await);
                    }
                }
                // A reset after the close handshake completed loses nothing.
                Err(_) if self.core.closed() => return Ok(None),
                Err(e) => return Err(crate::tls::stream_error(e)),
            }
        }
    }

    /// Sends the reports made so far to the tap (nothing to do, and no `.await`, without one).
    async fn send_reports(&mut self) {
        if !self.reports.is_empty() {
            send_reports(self.settings.tap.as_ref(), &mut self.reports).await;
        }
    }

    /// Writes what the engine queued and reports a state change, awaiting only if there is
    /// either.
    async fn settle(&mut self) -> Result<(), Error> {
        if self.core.conn().pending_output() > 0 {
            self.write_output().await?;
        }
        if self.core.state_changed() {
            self.report_state().await;
        }
        Ok(())
    }

    /// After a fault in the input: the frames parsed before it are reported, the close frame
    /// is written, and the fault is returned.
    async fn failed(&mut self, e: ws_proto::Error) -> Error {
        self.drain_frames().await;
        match self.write_output().await {
            Ok(()) => e.into(),
            Err(write_error) => write_error,
        }
    }

    /// Sends `what` and writes it out. Errors: the connection is closed, the engine refused
    /// (e.g. data after a close frame was sent), or the write failed.
    pub async fn send(&mut self, what: Outgoing) -> Result<(), Error> {
        if self.finished {
            return Err(Error::closed());
        }
        let payload = match what {
            // A large binary message is not copied: the header is queued, the payload
            // written from the caller's buffer right after it.
            Outgoing::Binary(data) if data.len() >= SHARED_MIN => self
                .core
                .conn_mut()
                .send_binary_shared(data)
                .map_err(|e| Error::from(ws_proto::Error::Usage(e)))?,
            what => {
                self.core.execute(what)?;
                None
            }
        };
        if self.settings.tap.is_some() {
            self.drain_frames().await;
        }
        match payload {
            Some(payload) => self.write_output_and(&payload).await?,
            None => self.write_output().await?,
        }
        if self.core.state_changed() {
            self.report_state().await;
        }
        Ok(())
    }

    /// Writes and flushes the engine's output, then `payload`, vectored where the stream
    /// supports it. (Kept apart from [`write_output`](Self::write_output): one function for
    /// both cost the small-message path 124 instructions per echo, measured with callgrind.)
    async fn write_output_and(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.out.clear();
        self.core.conn_mut().poll_transmit(&mut self.out);
        let (mut head, mut tail) = (&self.out[..], payload);
        while !head.is_empty() || !tail.is_empty() {
            let slices = [IoSlice::new(head), IoSlice::new(tail)];
            let n = self
                .io
                .write_vectored(&slices)
                .await
                .map_err(crate::tls::stream_error)?;
            if n == 0 {
                return Err(crate::tls::stream_error(
                    std::io::ErrorKind::WriteZero.into(),
                ));
            }
            let from_head = n.min(head.len());
            head = &head[from_head..];
            tail = &tail[n - from_head..];
        }
        self.io.flush().await.map_err(crate::tls::stream_error)
    }

    /// Sends a text message.
    pub async fn send_text(&mut self, text: impl Into<String>) -> Result<(), Error> {
        self.send(Outgoing::Text(text.into())).await
    }

    /// Sends a binary message.
    pub async fn send_binary(&mut self, data: impl Into<Bytes>) -> Result<(), Error> {
        self.send(Outgoing::Binary(data.into())).await
    }

    /// Sends a ping.
    pub async fn send_ping(&mut self, data: impl Into<Bytes>) -> Result<(), Error> {
        self.send(Outgoing::Ping(data.into())).await
    }

    /// Starts the close handshake; keep calling [`recv`](Self::recv) until it returns `None`
    /// to complete it.
    pub async fn close(&mut self, code: Option<CloseCode>, reason: &str) -> Result<(), Error> {
        self.send(Outgoing::Close(code, reason.to_owned())).await
    }

    /// Writes and flushes everything the engine has queued (one future polling the writes and
    /// the flush, no `write_all` + `flush` pair).
    async fn write_output(&mut self) -> Result<(), Error> {
        self.out.clear();
        if self.core.conn_mut().poll_transmit(&mut self.out) == 0 {
            return Ok(());
        }
        let (io, out) = (&mut self.io, &self.out[..]);
        let mut written = 0;
        std::future::poll_fn(|cx| {
            while written < out.len() {
                match Pin::new(&mut *io).poll_write(cx, &out[written..]) {
                    Poll::Ready(Ok(0)) => {
                        return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
                    }
                    Poll::Ready(Ok(n)) => written += n,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => return Poll::Pending,
                }
            }
            Pin::new(&mut *io).poll_flush(cx)
        })
        .await
        .map_err(crate::tls::stream_error)
    }

    /// Reports the frames the engine logged to the tap. Other events are only ever pending
    /// while a message is waiting to be returned by `recv`, which takes them in order; frame
    /// events queued behind such a message wait for it.
    async fn drain_frames(&mut self) {
        if self.settings.tap.is_some() {
            self.core.drain_frames(&mut self.reports);
            self.send_reports().await;
        }
    }

    async fn report_state(&mut self) {
        self.core.report_state(&mut self.reports);
        self.send_reports().await;
    }

    /// Closes the transport and makes the last reports.
    async fn finish(&mut self, error: Option<&Error>) {
        self.finished = true;
        let _ = self.io.shutdown().await;
        if let (Some(e), Some(_)) = (error, &self.settings.tap) {
            self.reports.push(TapKind::Error(e.to_string()));
        }
        // Messages still in the engine are not handed over: `recv` has ended.
        let mut unread = Vec::new();
        self.core.finish(&mut self.reports, &mut unread);
        self.send_reports().await;
    }
}

impl<S> WsStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    /// Hands the connection to a task of its own and returns the [`WebSocket`] handles.
    pub fn into_driven(self) -> WebSocket {
        let (sender, receiver) = driver::spawn_with(self.io, self.core, self.settings);
        WebSocket {
            sender,
            receiver,
            handshake: self.handshake,
        }
    }
}

impl<S> WsStream<S> {
    /// Sets the close timeout (by default the one in the options it was opened with).
    pub fn set_close_timeout(&mut self, timeout: Duration) {
        self.settings.close_timeout = timeout;
    }
}
