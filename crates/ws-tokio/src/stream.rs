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
//! # Three more shapes of the same connection
//!
//! - **`futures` [`Stream`](futures_core::Stream) and [`Sink`](futures_sink::Sink)**: a
//!   `WsStream` is a stream of `Result<Message, Error>` and a sink of [`Outgoing`], so
//!   `futures::StreamExt` and `SinkExt` work on it as on tokio-tungstenite's stream —
//!   `next()`, `forward`, and `StreamExt::split` into a sink and a stream for two tasks
//!   (behind a lock that futures provides). The sink queues messages in the engine while less
//!   than 64 KiB waits and writes them on `poll_flush`; its `poll_close` sends a close frame
//!   (1000) and flushes — the stream still has to be read to the end to complete the
//!   handshake.
//! - **Two halves**: [`into_split`](WsStream::into_split) gives a [`ReadHalf`] and a
//!   [`WriteHalf`] for two tasks: the read half answers pings and completes the close
//!   handshake, through the same writer as the write half's messages (see [`split`]).
//! - **A task of its own**: [`into_driven`](WsStream::into_driven) hands the connection to a
//!   task and gives the [`WebSocket`] handles (a cloneable [`Sender`](crate::Sender) and a
//!   [`Receiver`](crate::Receiver)), which keep answering pings and reading while nobody
//!   calls `recv` — at the price of a hand-off per message (a few hundred nanoseconds of
//!   scheduling, more than the WebSocket work on small messages; see `BENCHMARKS.md`). The
//!   inspector needs that (it must keep reading while its UI is busy); a server that answers
//!   each message does not.
//!
//! # Cancel safety
//!
//! Everything a call has started is kept in the `WsStream`, not in the call's future, so
//! `recv` can lose a race in `tokio::select!` and be called again:
//!
//! - **`recv` is cancel-safe**: cancelled, it has handed over no message, and none is lost —
//!   a message it had already taken from the engine while it was still writing that
//!   message's answer (a pong, the close reply) is returned by the next `recv`, and a frame
//!   half read stays in the engine's buffer.
//! - **A cancelled write is finished, not lost**: what a cancelled `recv` or `send` had begun
//!   to write (an answer, a message) stays queued, and the next `recv`, `send` or
//!   `poll_flush` writes the rest of it first, so the peer never sees a frame cut short or
//!   frames out of order. So a `send` cancelled after its first poll still sends its message;
//!   one cancelled before that sends nothing.
//! - The close timer and tap reports in flight are kept too (the reports in a boxed future of
//!   their own, only with a tap).
//!
//! [`into_split`](WsStream::into_split) carries all of it into the halves, and
//! [`ReadHalf::reunite`] back. [`into_driven`](WsStream::into_driven) does not: it drops a
//! message a cancelled `recv` had taken and what a cancelled call had left half written — let
//! the last `recv` or `send` finish before calling it.
//!
//! # Many connections
//!
//! An idle `WsStream` holds no buffer: a `recv` that finds nothing to read lets go of the
//! engine's empty buffers before it waits (the read after a wait allocates up to 16 KiB
//! again, let go at the next wait; a stream of large messages keeps its buffer). What the
//! opening handshake settled is kept as the bytes of its two heads and parsed again the
//! first time [`handshake`](WsStream::handshake) is called. With the rest boxed, an idle echo
//! connection's task, engine, socket registration and heads come to about 1.9 KiB.
//!
//! The task is the one part the caller writes. A task is as large as its future's largest
//! state, and an `async fn` keeps each argument it takes by value twice (the argument and
//! the local it is moved into): `async fn echo(mut ws: WsStream<S>)` holds two streams for
//! the connection's life. An `fn echo(mut ws: WsStream<S>) -> impl Future` that returns an
//! `async move` block using `ws` holds one (see `examples/echo_server.rs`).
//!
//! # Writing from the caller's buffer
//!
//! A server's binary messages of 8 KiB and more are not copied: the engine queues the header
//! ([`Connection::send_binary_shared`]) and the payload is written from the caller's
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
//!
//! Pinging while waiting for messages, in one task (`recv` loses nothing to the timer):
//!
//! ```no_run
//! # async fn demo(mut ws: ws_tokio::WsStream<ws_tokio::MaybeTlsStream>) -> Result<(), ws_tokio::Error> {
//! let mut ticks = tokio::time::interval(std::time::Duration::from_secs(20));
//! loop {
//!     tokio::select! {
//!         message = ws.recv() => match message {
//!             Some(message) => println!("{:?}", message?),
//!             None => break,
//!         },
//!         _ = ticks.tick() => ws.send_ping("still there?").await?,
//!     }
//! }
//! # Ok(()) }
//! ```

use std::fmt;
use std::future::Future;
use std::io::IoSlice;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};
use ws_proto::bytes::{Buf as _, Bytes, BytesMut};
use ws_proto::{CloseCode, Connection, ReadyState};

use crate::conn_core::{ConnCore, Settings, send_reports};
use crate::driver::{self, WebSocket};
use crate::error::{Error, Stage};
use crate::handshake_info::{HandshakeInfo, StoredHandshake};
use crate::message::{Message, Outgoing};
use crate::read_room::{LARGE_FIRST_READ, ReadSizing};
use crate::split::{self, ReadHalf, WriteHalf};
use crate::tap::{Tap, TapKind};

/// The [`Sink`](futures_sink::Sink) takes messages without writing while less than this is
/// queued.
pub(crate) const HIGH_WATER: usize = 64 * 1024;

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
    handshake: StoredHandshake,
    settings: Settings,
    /// Output taken from the engine and how much of it is written.
    out: Output,
    /// Tap reports not yet sent (empty without a tap).
    reports: Vec<TapKind>,
    /// Tap reports being sent (only with a tap).
    reporting: Option<Reporting>,
    /// A message taken from the engine whose answers or reports a cancelled `recv` was still
    /// writing: the next `recv` returns it. Boxed: rare without a tap, and a `WsStream` is
    /// most of the size of the task that drives it.
    ready: Option<Box<Message>>,
    /// Runs once the close handshake has begun.
    close_timer: Option<Pin<Box<Sleep>>>,
    /// Tasks that polled the `futures` traits and wait for a write to finish (see
    /// [`share_write_wakeups`](Self::share_write_wakeups)).
    write_waiters: Vec<Waker>,
    /// What the last reads were like: the next read's room.
    reading: ReadSizing,
    end: End,
}

impl<S> fmt::Debug for WsStream<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsStream")
            .field("conn", self.core.conn())
            .field("end", &self.end)
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
        let handshake = StoredHandshake::new(handshake, &conn);
        let core = ConnCore::new(conn, None, settings.tap.is_some());
        Self {
            io,
            core,
            handshake,
            settings,
            out: Output::default(),
            reports: Vec::new(),
            reporting: None,
            ready: None,
            reading: ReadSizing::default(),
            close_timer: None,
            write_waiters: Vec::new(),
            end: End::Running,
        }
    }

    /// What the opening handshake settled.
    pub fn handshake(&self) -> &HandshakeInfo {
        self.handshake.get(self.core.conn())
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
    /// Cancel-safe: cancelled (in `tokio::select!`, say), it has handed over no message and
    /// lost none; an answer it was writing is finished by the next call (see the
    /// [module notes](self#cancel-safety)).
    pub async fn recv(&mut self) -> Option<Result<Message, Error>> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// [`recv`](Self::recv) as a poll: what [`Stream`](futures_core::Stream) calls.
    pub(crate) fn poll_recv(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Message, Error>>> {
        if let End::Running = self.end {
            match ready!(self.poll_next_message(cx)) {
                Next::Message(message) => return Poll::Ready(Some(Ok(message))),
                Next::End(error, step) => {
                    let error = error.or_else(|| self.core.take_unreported_fault());
                    self.end = End::Ending { error, step };
                }
            }
        }
        Poll::Ready(ready!(self.poll_end(cx)).map(Err))
    }

    fn poll_next_message(&mut self, cx: &mut Context<'_>) -> Poll<Next> {
        loop {
            if self.ready.is_none() {
                match self.core.next_message(&mut self.reports) {
                    // The common case — a message parsed, nothing to write, no tap, the state
                    // unchanged — returns at once.
                    Some(message) if !self.unsettled() => {
                        return Poll::Ready(Next::Message(message));
                    }
                    message => self.ready = message.map(Box::new),
                }
            }
            // An answer the engine made (pong, close reply) goes out before the message is
            // handed over: the caller may not call `recv` again.
            if self.unsettled()
                && let Err(e) = ready!(self.poll_settle(cx))
            {
                return Poll::Ready(Next::End(Some(e), EndStep::Shutdown));
            }
            if let Some(message) = self.ready.take() {
                return Poll::Ready(Next::Message(*message));
            }
            if self.core.conn().is_paused() {
                if let Err(e) = self.core.conn_mut().receive_data(&[]) {
                    return Poll::Ready(self.fault(e));
                }
                continue;
            }
            if self.core.conn().should_close_transport() {
                return Poll::Ready(Next::End(None, EndStep::Shutdown));
            }
            if self.close_timer.is_none() && self.core.closing() {
                let timer = tokio::time::sleep(self.settings.close_timeout);
                self.close_timer = Some(Box::pin(timer));
            }
            let room = self.reading.room_between_waits(self.core.conn_mut());
            // A read that begins a message takes at most `room` bytes from a large buffer
            // that large messages left (why: the `read_room` module notes).
            let input = self.core.conn_mut().input_buffer(room);
            let read = if input.is_empty() && input.capacity() > LARGE_FIRST_READ {
                pin!((&mut self.io).take(room as u64).read_buf(input)).poll(cx)
            } else {
                pin!(self.io.read_buf(input)).poll(cx)
            };
            match read {
                Poll::Pending => {
                    self.reading.waiting(self.core.conn_mut(), &mut self.out);
                    if let Some(timer) = &mut self.close_timer
                        && timer.as_mut().poll(cx).is_ready()
                    {
                        // Done if the close handshake is: the server did not close TCP in
                        // time.
                        let error = (!self.core.closed()).then(|| Error::timeout(Stage::Close));
                        return Poll::Ready(Next::End(error, EndStep::Shutdown));
                    }
                    return Poll::Pending;
                }
                Poll::Ready(Ok(0)) => {
                    let result = self.core.conn_mut().receive_eof();
                    self.drain_frames();
                    let step = EndStep::Flush {
                        write_error_wins: false,
                    };
                    return Poll::Ready(Next::End(result.err().map(Error::from), step));
                }
                Poll::Ready(Ok(n)) => {
                    self.reading.record(n, room);
                    if let Err(e) = self.core.conn_mut().receive_buffered() {
                        return Poll::Ready(self.fault(e));
                    }
                }
                // A reset after the close handshake completed loses nothing.
                Poll::Ready(Err(_)) if self.core.closed() => {
                    return Poll::Ready(Next::End(None, EndStep::Shutdown));
                }
                Poll::Ready(Err(e)) => {
                    let error = crate::tls::stream_error(e);
                    return Poll::Ready(Next::End(Some(error), EndStep::Shutdown));
                }
            }
        }
    }

    /// Whether there is output to write, a report to send or a state change to report.
    fn unsettled(&self) -> bool {
        self.core.conn().pending_output() > 0
            || !self.out.is_idle()
            || !self.reports.is_empty()
            || self.reporting.is_some()
            || self.core.state_changed()
    }

    /// Sends the reports made so far, writes what the engine queued, and reports a state
    /// change: what `send` and `poll_flush` do after queuing, and `recv` before it hands a
    /// message over. Resumable: each step is done once however often it is cut short.
    pub(crate) fn poll_settle(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        ready!(self.poll_reports(cx));
        ready!(self.poll_write_out(cx))?;
        if self.core.state_changed() {
            self.core.report_state(&mut self.reports);
            ready!(self.poll_reports(cx));
        }
        Poll::Ready(Ok(()))
    }

    /// After a fault in the input: the frames parsed before it are reported, the close frame
    /// is written (an error writing it replaces the fault), and the fault is returned.
    fn fault(&mut self, e: ws_proto::Error) -> Next {
        self.drain_frames();
        let step = EndStep::Flush {
            write_error_wins: true,
        };
        Next::End(Some(e.into()), step)
    }

    /// Sends `what` and writes it out. Errors: the connection is closed, the engine refused
    /// (e.g. data after a close frame was sent), or the write failed.
    ///
    /// Cancelled before its first poll, it sends nothing; after, the message is queued and
    /// the next `recv` or `send` writes what is left of it.
    //
    // The send methods return `async move` blocks instead of being `async fn`s: an `async
    // fn` keeps each by-value argument twice (the argument and the local it is moved into),
    // and a caller's task is as large as its largest await — for an echo loop, this one.
    #[allow(clippy::manual_async_fn)]
    pub fn send(&mut self, what: Outgoing) -> impl Future<Output = Result<(), Error>> {
        async move {
            self.queue(what)?;
            std::future::poll_fn(|cx| self.poll_settle(cx)).await
        }
    }

    /// Hands `what` to the engine without writing it (the [`Sink`](futures_sink::Sink)'s
    /// `start_send`); [`poll_settle`](Self::poll_settle) writes it.
    pub(crate) fn queue(&mut self, what: Outgoing) -> Result<(), Error> {
        if !self.is_running() {
            return Err(Error::closed());
        }
        self.out.queue(&mut self.core, what)?;
        self.drain_frames();
        Ok(())
    }

    /// Sends a text message.
    pub fn send_text(
        &mut self,
        text: impl Into<String>,
    ) -> impl Future<Output = Result<(), Error>> {
        self.send(Outgoing::Text(text.into()))
    }

    /// Sends a binary message.
    pub fn send_binary(
        &mut self,
        data: impl Into<Bytes>,
    ) -> impl Future<Output = Result<(), Error>> {
        self.send(Outgoing::Binary(data.into()))
    }

    /// Sends a ping.
    pub fn send_ping(&mut self, data: impl Into<Bytes>) -> impl Future<Output = Result<(), Error>> {
        self.send(Outgoing::Ping(data.into()))
    }

    /// Starts the close handshake; keep calling [`recv`](Self::recv) until it returns `None`
    /// to complete it.
    pub fn close(
        &mut self,
        code: Option<CloseCode>,
        reason: &str,
    ) -> impl Future<Output = Result<(), Error>> {
        self.send(Outgoing::Close(code, reason.to_owned()))
    }

    /// Writes and flushes everything the engine has queued, after what a cut-short write left.
    fn poll_write_out(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.out
            .poll_write_all(&mut self.io, self.core.conn_mut(), cx)
            .map_err(crate::tls::stream_error)
    }

    /// After a poll through the [`Stream`](futures_core::Stream) or
    /// [`Sink`](futures_sink::Sink) traits, which two tasks may share (the halves of
    /// `futures::StreamExt::split`): the socket wakes only the task that polled it last, so
    /// a task left waiting for a write is woken by the one that finishes it.
    pub(crate) fn share_write_wakeups<T>(&mut self, cx: &Context<'_>, poll: Poll<T>) -> Poll<T> {
        let writing = !self.out.is_idle() || self.core.conn().pending_output() > 0;
        if poll.is_pending() && writing {
            if !self.write_waiters.iter().any(|w| w.will_wake(cx.waker())) {
                self.write_waiters.push(cx.waker().clone());
            }
        } else {
            // The write is done, failed, or moves on in a task that is not waiting: the others
            // look again (a spare wake-up at worst).
            for waker in self.write_waiters.drain(..) {
                waker.wake();
            }
        }
        poll
    }

    /// Bytes queued and not yet written.
    pub(crate) fn queued(&self) -> usize {
        self.core.conn().pending_output() + self.out.unwritten()
    }

    /// Queues the reports of the frames the engine logged for the tap. Other events are only
    /// ever pending while a message is waiting to be returned by `recv`, which takes them in
    /// order; frame events queued behind such a message wait for it.
    fn drain_frames(&mut self) {
        if self.settings.tap.is_some() {
            self.core.drain_frames(&mut self.reports);
        }
    }

    /// Sends the reports made so far to the tap (nothing to do without one).
    fn poll_reports(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        poll_reports(
            self.settings.tap.as_ref(),
            &mut self.reports,
            &mut self.reporting,
            cx,
        )
    }

    /// Ends the connection — writes what is due, shuts the transport down, makes the last
    /// reports — and gives the error `recv` returns with it, once.
    fn poll_end(&mut self, cx: &mut Context<'_>) -> Poll<Option<Error>> {
        loop {
            let End::Ending { step, .. } = &self.end else {
                return Poll::Ready(None);
            };
            match *step {
                EndStep::Flush { write_error_wins } => {
                    // The frames parsed before the end are reported first.
                    ready!(self.poll_reports(cx));
                    let written = ready!(self.poll_write_out(cx));
                    self.end
                        .next_step(written.err().filter(|_| write_error_wins));
                }
                EndStep::Shutdown => {
                    let _ = ready!(Pin::new(&mut self.io).poll_shutdown(cx));
                    self.end.next_step(None);
                }
                EndStep::Finish => {
                    self.end
                        .finish(&mut self.core, &mut self.reports, &self.settings);
                    self.end.next_step(None);
                }
                EndStep::Report => {
                    ready!(self.poll_reports(cx));
                    return Poll::Ready(self.end.done());
                }
            }
        }
    }

    /// Whether the connection is open for sending: `recv` has not ended it.
    pub(crate) fn is_running(&self) -> bool {
        matches!(self.end, End::Running)
    }

    /// Whether `recv` has returned `None` (or the error before it).
    pub(crate) fn is_done(&self) -> bool {
        matches!(self.end, End::Done)
    }

    /// Splits the connection into a read half and a write half for two tasks (see
    /// [`split`]); [`ReadHalf::reunite`] puts them back together. Nothing is read or
    /// written here, and nothing a cancelled call had begun is lost.
    ///
    /// Named after tokio's `TcpStream::into_split` (owned halves), so that `ws.split()`
    /// stays `futures::StreamExt::split`, which splits the [`Stream`](futures_core::Stream)
    /// and [`Sink`](futures_sink::Sink) behind a lock of its own.
    pub fn into_split(self) -> (ReadHalf<S>, WriteHalf<S>) {
        split::new(self.into_parts())
    }

    pub(crate) fn into_parts(self) -> Parts<S> {
        Parts {
            io: self.io,
            core: self.core,
            handshake: self.handshake,
            settings: self.settings,
            out: self.out,
            reports: self.reports,
            reporting: self.reporting,
            ready: self.ready.map(|message| *message),
            close_deadline: self.close_timer.map(|timer| timer.deadline()),
            end: self.end,
        }
    }

    pub(crate) fn from_parts(parts: Parts<S>) -> Self {
        Self {
            io: parts.io,
            core: parts.core,
            handshake: parts.handshake,
            settings: parts.settings,
            out: parts.out,
            reports: parts.reports,
            reporting: parts.reporting,
            ready: parts.ready.map(Box::new),
            close_timer: parts
                .close_deadline
                .map(|deadline| Box::pin(tokio::time::sleep_until(deadline))),
            write_waiters: Vec::new(),
            reading: ReadSizing::default(),
            end: parts.end,
        }
    }
}

impl<S> WsStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    /// Hands the connection to a task of its own and returns the [`WebSocket`] handles.
    ///
    /// Call it between calls: a message a cancelled `recv` had taken, and what a cancelled
    /// call had left half written, are not carried over (see the
    /// [module notes](self#cancel-safety)).
    pub fn into_driven(self) -> WebSocket {
        let handshake = self.handshake.into_info(self.core.conn());
        let (sender, receiver) = driver::spawn_with(self.io, self.core, self.settings);
        WebSocket {
            sender,
            receiver,
            handshake,
        }
    }
}

impl<S> WsStream<S> {
    /// Sets the close timeout (by default the one in the options it was opened with).
    pub fn set_close_timeout(&mut self, timeout: Duration) {
        self.settings.close_timeout = timeout;
    }
}

/// Everything a [`WsStream`] holds, to move it into halves and back.
pub(crate) struct Parts<S> {
    pub io: S,
    pub core: ConnCore,
    pub handshake: StoredHandshake,
    pub settings: Settings,
    pub out: Output,
    pub reports: Vec<TapKind>,
    pub reporting: Option<Reporting>,
    pub ready: Option<Message>,
    pub close_deadline: Option<Instant>,
    pub end: End,
}

/// What a turn of `recv` came to.
pub(crate) enum Next {
    /// A message to hand over.
    Message(Message),
    /// The connection ends: with this error (or none), starting at this step.
    End(Option<Error>, EndStep),
}

/// How far a connection's end has got.
#[derive(Debug)]
pub(crate) enum End {
    /// Open: `recv` reads on.
    Running,
    /// Ending: `step` is next; `error` is what `recv` returns once the end is done.
    Ending { error: Option<Error>, step: EndStep },
    /// Over: `recv` returns `None`.
    Done,
}

/// The steps of the end, in order; it starts at `Flush` or `Shutdown`.
#[derive(Clone, Copy, Debug)]
pub(crate) enum EndStep {
    /// Write what the engine queued (the close frame of a fault, say). With
    /// `write_error_wins`, an error writing it replaces the end's error; otherwise it is
    /// ignored.
    Flush { write_error_wins: bool },
    /// Shut the transport down.
    Shutdown,
    /// The engine's last events and the closing reports.
    Finish,
    /// Send the last reports.
    Report,
}

impl End {
    /// Moves on to the next step; `error`, if any, replaces the end's error.
    pub(crate) fn next_step(&mut self, error: Option<Error>) {
        if let End::Ending {
            error: end_error,
            step,
        } = self
        {
            if error.is_some() {
                *end_error = error;
            }
            *step = match step {
                EndStep::Flush { .. } => EndStep::Shutdown,
                EndStep::Shutdown => EndStep::Finish,
                EndStep::Finish | EndStep::Report => EndStep::Report,
            };
        }
    }

    /// The `Finish` step: the error's report, then the core's last reports. Messages still in
    /// the engine are not handed over: `recv` has ended.
    pub(crate) fn finish(
        &self,
        core: &mut ConnCore,
        reports: &mut Vec<TapKind>,
        settings: &Settings,
    ) {
        if let (End::Ending { error: Some(e), .. }, Some(_)) = (self, &settings.tap) {
            reports.push(TapKind::Error(e.to_string()));
        }
        let mut unread = Vec::new();
        core.finish(reports, &mut unread);
    }

    /// The end is done: gives its error, once.
    pub(crate) fn done(&mut self) -> Option<Error> {
        match std::mem::replace(self, End::Done) {
            End::Ending { error, .. } => error,
            End::Running | End::Done => None,
        }
    }
}

/// Tap reports being sent: a future of their own (boxed, and made only with a tap), so that
/// a cancelled call does not lose them. It gives the emptied list back for reuse.
pub(crate) type Reporting = Pin<Box<dyn Future<Output = Vec<TapKind>> + Send>>;

/// Starts sending `batch` to `tap`.
pub(crate) fn start_reporting(tap: &Tap, mut batch: Vec<TapKind>) -> Reporting {
    let tap = tap.clone();
    Box::pin(async move {
        send_reports(Some(&tap), &mut batch).await;
        batch
    })
}

/// Sends `reports` to `tap` through `reporting`, after the batch already in flight. Without a
/// tap no reports are made: there is nothing to do.
pub(crate) fn poll_reports(
    tap: Option<&Tap>,
    reports: &mut Vec<TapKind>,
    reporting: &mut Option<Reporting>,
    cx: &mut Context<'_>,
) -> Poll<()> {
    loop {
        if let Some(flight) = reporting {
            let emptied = ready!(flight.as_mut().poll(cx));
            *reporting = None;
            if reports.is_empty() {
                *reports = emptied;
            }
        }
        if reports.is_empty() {
            return Poll::Ready(());
        }
        let Some(tap) = tap else {
            reports.clear();
            return Poll::Ready(());
        };
        // Nothing in flight: what fits in the channel goes in now, without a future.
        if tap.try_report_all(reports) {
            return Poll::Ready(());
        }
        *reporting = Some(start_reporting(tap, std::mem::take(reports)));
    }
}

/// Output taken from the engine for writing, and how much of it is written. It lives in the
/// connection, not in a future: a write cut short (a cancelled call) is finished by the next
/// one, never lost or begun again.
#[derive(Debug, Default)]
pub(crate) struct Output {
    /// Taken from the engine (swapped with the engine's buffer when empty: no copy).
    buf: BytesMut,
    /// Bytes of `buf` written.
    written: usize,
    /// A large binary message's payload, written from the caller's buffer right after `buf`
    /// (the rest of it, once part is written).
    payload: Bytes,
    /// Everything was written; a flush (which TLS needs) is due.
    flush_due: bool,
}

impl Output {
    /// Nothing is left to write or to flush.
    pub fn is_idle(&self) -> bool {
        self.is_drained() && !self.flush_due
    }

    /// Everything taken is written (a flush may still be due).
    pub fn is_drained(&self) -> bool {
        self.written == self.buf.len() && self.payload.is_empty()
    }

    /// Bytes taken and not yet written.
    pub fn unwritten(&self) -> usize {
        self.buf.len() - self.written + self.payload.len()
    }

    /// Whether a payload can be queued behind what was taken (none is waiting already).
    pub fn can_share(&self) -> bool {
        self.payload.is_empty()
    }

    /// Moves out the buffer taken from the engine once everything in it is written, for
    /// the thread's spares (a waiting connection holds none); an empty one otherwise.
    pub fn take_idle_buffer(&mut self) -> BytesMut {
        if !self.is_idle() {
            return BytesMut::new();
        }
        self.written = 0;
        std::mem::take(&mut self.buf)
    }

    /// Takes the engine's output once everything taken before is written. Returns whether
    /// there is anything to write.
    pub fn take(&mut self, conn: &mut Connection) -> bool {
        if !self.is_drained() {
            return true;
        }
        self.buf.clear();
        self.written = 0;
        conn.poll_transmit(&mut self.buf) > 0
    }

    /// Hands `what` to `core`'s engine. A large binary message is not copied when it can be
    /// helped (no payload is waiting here already): its header is queued and taken behind
    /// what this holds, its payload written from the caller's buffer right after it.
    pub fn queue(&mut self, core: &mut ConnCore, what: Outgoing) -> Result<(), Error> {
        let shared = match self.can_share() {
            true => core.execute_sharing(what)?,
            false => {
                core.execute(what)?;
                None
            }
        };
        if let Some(payload) = shared {
            self.take_with_payload(core.conn_mut(), payload);
        }
        Ok(())
    }

    /// Takes the engine's output (which ends with the header of a message sent with
    /// [`Connection::send_binary_shared`]) behind what is left, and `payload` behind that.
    /// Only when [`can_share`](Self::can_share).
    pub fn take_with_payload(&mut self, conn: &mut Connection, payload: Bytes) {
        debug_assert!(self.can_share());
        if self.is_drained() {
            self.buf.clear();
            self.written = 0;
        }
        conn.poll_transmit(&mut self.buf);
        self.payload = payload;
    }

    /// Takes `head` (output taken from the engine, ending with the header of a message sent
    /// with [`Connection::send_binary_shared`]) and `payload` behind it. Only when
    /// [`is_drained`](Self::is_drained).
    pub fn load(&mut self, head: BytesMut, payload: Bytes) {
        debug_assert!(self.is_drained());
        self.buf = head;
        self.written = 0;
        self.payload = payload;
    }

    /// Writes what was taken and everything the engine queues meanwhile, then flushes.
    pub fn poll_write_all<W>(
        &mut self,
        io: &mut W,
        conn: &mut Connection,
        cx: &mut Context<'_>,
    ) -> Poll<std::io::Result<()>>
    where
        W: AsyncWrite + Unpin,
    {
        while self.take(conn) {
            ready!(self.poll_write_taken(io, cx))?;
        }
        self.poll_flush(io, cx)
    }

    /// Writes what was taken: `buf`, then the payload, vectored where the stream supports it.
    pub fn poll_write_taken<W>(
        &mut self,
        io: &mut W,
        cx: &mut Context<'_>,
    ) -> Poll<std::io::Result<()>>
    where
        W: AsyncWrite + Unpin,
    {
        while !self.is_drained() {
            let head = &self.buf[self.written..];
            let n = if self.payload.is_empty() {
                ready!(Pin::new(&mut *io).poll_write(cx, head))?
            } else {
                let slices = [IoSlice::new(head), IoSlice::new(&self.payload)];
                ready!(Pin::new(&mut *io).poll_write_vectored(cx, &slices))?
            };
            if n == 0 {
                return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
            }
            let from_head = n.min(head.len());
            self.written += from_head;
            self.payload.advance(n - from_head);
            if self.payload.is_empty() {
                // An emptied `Bytes` still holds its block: let go of it, so that a message
                // read into the same block (an echo) can be read into again in place.
                self.payload = Bytes::new();
            }
            self.flush_due = true;
        }
        Poll::Ready(Ok(()))
    }

    /// Flushes if anything was written since the last flush.
    pub fn poll_flush<W>(&mut self, io: &mut W, cx: &mut Context<'_>) -> Poll<std::io::Result<()>>
    where
        W: AsyncWrite + Unpin,
    {
        if self.flush_due {
            ready!(Pin::new(io).poll_flush(cx))?;
            self.flush_due = false;
        }
        Poll::Ready(Ok(()))
    }
}
