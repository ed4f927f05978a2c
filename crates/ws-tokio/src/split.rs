//! The two halves of a [`WsStream`], for two tasks: a [`ReadHalf`] that receives and a
//! [`WriteHalf`] that sends ([`WsStream::into_split`]; [`ReadHalf::reunite`] puts them back
//! together).
//!
//! The read half's [`recv`](ReadHalf::recv) does what [`WsStream::recv`] does — reads,
//! answers pings, completes the close handshake — so one task must keep calling it; the
//! write half's [`send`](WriteHalf::send) writes. Both write through the one writer, a frame
//! at a time and in the order the engine made them: a frame is never cut by another, an
//! answer never overtakes a message queued before it, and nothing is sent after our close
//! frame (the engine refuses it).
//!
//! # How
//!
//! The engine sits behind a `std::sync::Mutex` held only for synchronous steps (feeding it
//! input, queuing a message, taking its output), never across an `.await`, and one half at a
//! time holds the write side of the stream while it writes. When the read half has an answer
//! to write while the write half is writing, it does not wait: it leaves the answer in the
//! engine, and the write half writes it before it lets go of the writer. So the read half
//! keeps reading while a `send` waits for a slow peer, and two peers that both write without
//! reading cannot stall each other — unless more than 4 MiB of answers pile up (a peer that
//! floods pings and does not read), when the read half waits for the writer before it reads
//! on.
//!
//! The price over an unsplit [`WsStream`]: a lock per step, a copy of each read into the
//! engine (the unsplit stream reads into the engine's buffer in place), and the lock
//! `tokio::io::split` takes per read and write. A task that both receives and sends, in turn
//! or in a `select!`, is better served by the unsplit stream.
//!
//! # Cancel safety
//!
//! - [`ReadHalf::recv`] is cancel-safe as [`WsStream::recv`] is: cancelled, it has handed
//!   over no message and lost none (a message it had taken while it was still writing its
//!   answer is returned by the next `recv`).
//! - [`WriteHalf::send`] cancelled while it waits for the other half's write has queued
//!   nothing. Cancelled while it writes, its message is queued: the rest of it (and any
//!   answer queued behind it) is written by the next `send`, or by the read half once its
//!   current read completes — never cut short or reordered.
//!
//! # The end
//!
//! The read half ends the connection, as `WsStream::recv` does: once it has returned `None`
//! (or the error before it) the transport is shut down and sends fail. Only the read half
//! completes the close handshake: after [`WriteHalf::close`], keep calling
//! [`ReadHalf::recv`] until it returns `None`. Its last write and the shutdown wait for a
//! write the write half has in progress.
//!
//! ```no_run
//! # async fn demo() -> Result<(), ws_tokio::Error> {
//! use ws_tokio::ws_proto::CloseCode;
//! use ws_tokio::{ConnectOptions, Message, connect};
//!
//! let ws = connect(ConnectOptions::new("ws://127.0.0.1:9002/")).await?;
//! let (mut read, mut write) = ws.into_split();
//! let sending = tokio::spawn(async move {
//!     for i in 0..10 {
//!         write.send_text(format!("message {i}")).await?;
//!     }
//!     write.close(Some(CloseCode::NORMAL), "done").await
//! });
//! // Answers pings and completes the close handshake while the other task sends.
//! while let Some(message) = read.recv().await {
//!     if let Message::Text(text) = message? {
//!         println!("{text}");
//!     }
//! }
//! sending.await.expect("the sending task panicked")?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Poll;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::sync::Notify;
use tokio::time::Instant;
use ws_proto::bytes::{Bytes, BytesMut};
use ws_proto::{CloseCode, ReadyState};

use crate::conn_core::{ConnCore, Settings};
use crate::error::{Error, Stage};
use crate::handshake_info::{HandshakeInfo, StoredHandshake};
use crate::message::{Message, Outgoing};
use crate::read_room::{READ_ROOM, ReadSizing, read_block, recycle_block};
use crate::stream::{End, EndStep, Next, Output, Parts, Reporting, WsStream, start_reporting};
use crate::tap::TapKind;

/// While this much output waits in the engine (only answers the engine makes by itself —
/// pongs — can grow it while the write half writes), the read half waits for the writer
/// before it reads on: a peer that floods pings and never reads cannot make us buffer
/// without bound.
const READ_STALL: usize = 4 << 20;

/// Splits a stream's parts into the two halves.
pub(crate) fn new<S>(parts: Parts<S>) -> (ReadHalf<S>, WriteHalf<S>)
where
    S: AsyncRead + AsyncWrite,
{
    let (read, write) = tokio::io::split(parts.io);
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            core: parts.core,
            reports: parts.reports,
            writing: false,
            unwritten: !parts.out.is_idle(),
            ended: !matches!(parts.end, End::Running),
            close_unseen: false,
            read_waker: None,
        }),
        writer: tokio::sync::Mutex::new(Writer {
            io: write,
            out: parts.out,
        }),
        released: Notify::new(),
        reporting: tokio::sync::Mutex::new(parts.reporting),
        settings: parts.settings,
        handshake: parts.handshake,
    });
    let read = ReadHalf {
        shared: shared.clone(),
        io: read,
        input: None,
        reading: ReadSizing::default(),
        room: 0,
        ready: parts.ready,
        close_deadline: parts.close_deadline,
        end: parts.end,
    };
    (read, WriteHalf { shared })
}

/// The receiving half of a [`WsStream`] (see the [module notes](self)): reads, answers pings
/// and completes the close handshake. Keep calling [`recv`](Self::recv).
pub struct ReadHalf<S> {
    shared: Arc<Shared<S>>,
    io: tokio::io::ReadHalf<S>,
    /// The buffer a read under way reads into: the engine's input buffer, taken from the
    /// engine under the lock, read into without it (the write half sends meanwhile), given
    /// back before the bytes are parsed, and kept here if a `recv` is cancelled during the
    /// read; or, for a read that begins a message, a block of this half's own, which goes
    /// to the thread's spares while the read waits ([`read_input`]).
    input: Option<BytesMut>,
    /// What the last reads were like: the next read's room.
    reading: ReadSizing,
    /// The room reserved for the read under way.
    room: usize,
    /// A message taken from the engine whose answers or reports a cancelled `recv` was still
    /// writing: the next `recv` returns it.
    ready: Option<Message>,
    /// When the close handshake must be over, once it has begun.
    close_deadline: Option<Instant>,
    end: End,
}

impl<S> fmt::Debug for ReadHalf<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadHalf")
            .field("end", &self.end)
            .finish_non_exhaustive()
    }
}

impl<S> ReadHalf<S>
where
    S: AsyncRead + AsyncWrite,
{
    /// The next message; `Some(Err(_))` if the connection failed (protocol error, lost
    /// connection, timeout); `None` once it has ended. Pings are answered and the close
    /// handshake completed in here; once it has returned `None` (or the error before it),
    /// the write half's sends fail.
    ///
    /// Cancel-safe: cancelled, it has handed over no message and lost none.
    pub async fn recv(&mut self) -> Option<Result<Message, Error>> {
        if let End::Running = self.end {
            match self.next_message().await {
                Next::Message(message) => return Some(Ok(message)),
                Next::End(error, step) => {
                    let mut shared = self.shared.lock();
                    shared.ended = true;
                    let error = error.or_else(|| shared.core.take_unreported_fault());
                    drop(shared);
                    self.end = End::Ending { error, step };
                }
            }
        }
        self.finish().await.map(Err)
    }

    async fn next_message(&mut self) -> Next {
        let shared = &*self.shared;
        let tap = shared.settings.tap.is_some();
        loop {
            // A message, its reports, and whose turn it is to write what the engine queued.
            let turn = {
                let mut st = shared.lock();
                let st = &mut *st;
                if self.ready.is_none() {
                    self.ready = st.core.next_message(&mut st.reports);
                }
                st.core.report_state(&mut st.reports);
                shared.write_turn(st)
            };
            // An answer the engine made (pong, close reply) goes out before the message is
            // handed over, or is left to the write half while it writes.
            if let Err(e) = shared.write(turn).await {
                return Next::End(Some(e), EndStep::Shutdown);
            }
            shared.deliver_reports().await;
            if let Some(message) = self.ready.take() {
                return Next::Message(message);
            }
            let then = {
                let mut st = shared.lock();
                let st = &mut *st;
                if st.core.conn().is_paused() {
                    match st.core.conn_mut().receive_data(&[]) {
                        Ok(()) => Then::Again,
                        Err(e) => Then::End(st.fault(tap, e)),
                    }
                } else if st.core.conn().should_close_transport() {
                    if st.writing || st.unwritten {
                        // The last frame (our close reply, say) is still being written.
                        Then::Flush
                    } else {
                        Then::End(Next::End(None, EndStep::Shutdown))
                    }
                } else {
                    // A read that begins a message goes into a block of this half's own
                    // (READ_ROOM: a message of up to 16 KiB in one read), let go while the
                    // read waits; one that continues a frame into the engine's buffer.
                    let mut own = false;
                    if self.input.is_none() {
                        let conn = st.core.conn_mut();
                        let room = self.reading.room(conn);
                        let (input, is_own) = self.reading.take_buffer(conn, room, READ_ROOM);
                        self.room = if is_own { READ_ROOM } else { room };
                        self.input = Some(input);
                        own = is_own;
                    }
                    Then::Read {
                        closing: st.core.closing(),
                        own,
                    }
                }
            };
            let own = match then {
                Then::Again => continue,
                Then::Flush => {
                    if let Err(e) = shared.claim().await.write_all().await {
                        return Next::End(Some(e), EndStep::Shutdown);
                    }
                    continue;
                }
                Then::End(next) => return next,
                Then::Read { closing, own } => {
                    if closing && self.close_deadline.is_none() {
                        self.close_deadline = Some(Instant::now() + shared.settings.close_timeout);
                    }
                    own
                }
            };
            let read = read_input(&mut self.io, &mut self.input, self.room, own);
            let read = match self.close_deadline {
                None => {
                    // A close sent by the write half while this read waits starts the
                    // close timeout: look again. (One lock per read that has to wait; a
                    // `Notify` here cost 0.5 µs per message on a flood.)
                    let mut read = pin!(read);
                    let woken = std::future::poll_fn(|cx| {
                        if let Poll::Ready(read) = read.as_mut().poll(cx) {
                            return Poll::Ready(Some(read));
                        }
                        let mut st = shared.lock();
                        if std::mem::take(&mut st.close_unseen) {
                            return Poll::Ready(None);
                        }
                        match &st.read_waker {
                            Some(waker) if waker.will_wake(cx.waker()) => {}
                            _ => st.read_waker = Some(cx.waker().clone()),
                        }
                        Poll::Pending
                    })
                    .await;
                    match woken {
                        Some(read) => read,
                        None => continue,
                    }
                }
                Some(deadline) => match tokio::time::timeout_at(deadline, read).await {
                    Ok(read) => read,
                    Err(_) => {
                        // Done if the close handshake is: the server did not close TCP in
                        // time.
                        let closed = shared.lock().core.closed();
                        let error = (!closed).then(|| Error::timeout(Stage::Close));
                        return Next::End(error, EndStep::Shutdown);
                    }
                },
            };
            let mut st = shared.lock();
            let st = &mut *st;
            if let Some(input) = self.input.take() {
                recycle_block(st.core.conn_mut().return_input_buffer(input));
            }
            match read {
                Ok(0) => {
                    let result = st.core.conn_mut().receive_eof();
                    if tap {
                        st.core.drain_frames(&mut st.reports);
                    }
                    let step = EndStep::Flush {
                        write_error_wins: false,
                    };
                    return Next::End(result.err().map(Error::from), step);
                }
                Ok(n) => {
                    self.reading.record(n, self.room);
                    if let Err(e) = st.core.conn_mut().receive_buffered() {
                        return st.fault(tap, e);
                    }
                }
                // A reset after the close handshake completed loses nothing.
                Err(_) if st.core.closed() => return Next::End(None, EndStep::Shutdown),
                Err(e) => {
                    let error = crate::tls::stream_error(e);
                    return Next::End(Some(error), EndStep::Shutdown);
                }
            }
        }
    }

    /// Ends the connection — writes what is due, shuts the transport down, makes the last
    /// reports — and gives the error `recv` returns with it, once. Resumable.
    async fn finish(&mut self) -> Option<Error> {
        let shared = &*self.shared;
        loop {
            let End::Ending { step, .. } = &self.end else {
                return None;
            };
            match *step {
                EndStep::Flush { write_error_wins } => {
                    // The frames parsed before the end are reported first.
                    shared.deliver_reports().await;
                    let written = shared.claim().await.write_all().await;
                    self.end
                        .next_step(written.err().filter(|_| write_error_wins));
                }
                EndStep::Shutdown => {
                    let mut claim = shared.claim().await;
                    let _ = claim.writer.io.shutdown().await;
                    drop(claim);
                    self.end.next_step(None);
                }
                EndStep::Finish => {
                    {
                        let mut st = shared.lock();
                        let st = &mut *st;
                        self.end
                            .finish(&mut st.core, &mut st.reports, &shared.settings);
                    }
                    self.end.next_step(None);
                }
                EndStep::Report => {
                    shared.deliver_reports().await;
                    return self.end.done();
                }
            }
        }
    }

    /// Puts the two halves of one [`WsStream`] back together, with everything either half
    /// had begun (a message taken, output half written, reports in flight). Fails, giving
    /// both back, if they are halves of different connections.
    #[allow(
        clippy::result_large_err,
        reason = "the error gives both halves back by value, as tokio's `ReuniteError` does; \
                  the stream in `Ok` is as large"
    )]
    pub fn reunite(self, write: WriteHalf<S>) -> Result<WsStream<S>, ReuniteError<S>>
    where
        S: Unpin,
    {
        if !Arc::ptr_eq(&self.shared, &write.shared) {
            return Err(ReuniteError(self, write));
        }
        drop(write);
        let ReadHalf {
            shared,
            io,
            input,
            reading: _,
            room: _,
            ready,
            close_deadline,
            end,
        } = self;
        // The two halves hold the only references: every claim on the writer lives inside a
        // call that borrows a half, and both halves are consumed.
        let shared = Arc::into_inner(shared).expect("only the two halves hold the connection");
        let state = shared
            .state
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        let mut core = state.core;
        if let Some(input) = input {
            core.conn_mut().return_input_buffer(input);
        }
        let writer = shared.writer.into_inner();
        Ok(WsStream::from_parts(Parts {
            // The two halves of one `tokio::io::split` (checked above): `unsplit` does not
            // panic.
            io: io.unsplit(writer.io),
            core,
            handshake: shared.handshake,
            settings: shared.settings,
            out: writer.out,
            reports: state.reports,
            reporting: shared.reporting.into_inner(),
            ready,
            close_deadline,
            end,
        }))
    }
}

impl<S> ReadHalf<S> {
    /// What the opening handshake settled.
    pub fn handshake(&self) -> &HandshakeInfo {
        self.shared.handshake()
    }

    /// The connection's state, as the browser's `WebSocket.readyState` numbers it.
    pub fn state(&self) -> ReadyState {
        self.shared.lock().core.conn().state()
    }
}

/// The sending half of a [`WsStream`] (see the [module notes](self)).
pub struct WriteHalf<S> {
    shared: Arc<Shared<S>>,
}

impl<S> fmt::Debug for WriteHalf<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteHalf")
            .field("ended", &self.shared.lock().ended)
            .finish_non_exhaustive()
    }
}

impl<S> WriteHalf<S>
where
    S: AsyncRead + AsyncWrite,
{
    /// Sends `what` and writes it out, after any answer the read half queued before it.
    /// Errors: the connection has ended, the engine refused (e.g. data after a close frame
    /// was sent), or the write failed.
    ///
    /// Cancelled while it waits for the read half's write, it has queued nothing; cancelled
    /// after, the message is still sent (see the [module notes](self#cancel-safety)).
    pub async fn send(&mut self, what: Outgoing) -> Result<(), Error> {
        let shared = &*self.shared;
        if shared.lock().ended {
            return Err(Error::closed());
        }
        let mut claim = shared.claim().await;
        {
            let mut st = shared.lock();
            let st = &mut *st;
            if st.ended {
                return Err(Error::closed());
            }
            let close = matches!(what, Outgoing::Close(..));
            st.queue(&mut claim.writer.out, what, shared.settings.tap.is_some())?;
            if close {
                st.close_unseen = true;
                if let Some(waker) = st.read_waker.take() {
                    waker.wake();
                }
            }
        }
        shared.deliver_reports().await;
        claim.write_all().await?;
        drop(claim);
        {
            let mut st = shared.lock();
            let st = &mut *st;
            st.core.report_state(&mut st.reports);
        }
        shared.deliver_reports().await;
        Ok(())
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

    /// Starts the close handshake; the read half completes it (keep calling
    /// [`ReadHalf::recv`] until it returns `None`).
    pub async fn close(&mut self, code: Option<CloseCode>, reason: &str) -> Result<(), Error> {
        self.send(Outgoing::Close(code, reason.to_owned())).await
    }
}

impl<S> WriteHalf<S> {
    /// What the opening handshake settled.
    pub fn handshake(&self) -> &HandshakeInfo {
        self.shared.handshake()
    }

    /// The connection's state, as the browser's `WebSocket.readyState` numbers it.
    pub fn state(&self) -> ReadyState {
        self.shared.lock().core.conn().state()
    }

    /// Whether the read half has ended the connection: sends fail.
    pub fn is_closed(&self) -> bool {
        self.shared.lock().ended
    }
}

/// [`ReadHalf::reunite`] was given halves of two different connections; here they are back.
pub struct ReuniteError<S>(pub ReadHalf<S>, pub WriteHalf<S>);

impl<S> fmt::Debug for ReuniteError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ReuniteError")
            .field(&self.0)
            .field(&self.1)
            .finish()
    }
}

impl<S> fmt::Display for ReuniteError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the read half and the write half are of different connections")
    }
}

impl<S> std::error::Error for ReuniteError<S> {}

/// What the two halves share.
struct Shared<S> {
    state: Mutex<State>,
    /// The write side of the stream, held by the half that has claimed it
    /// ([`State::writing`]) while it writes.
    writer: tokio::sync::Mutex<Writer<S>>,
    /// Wakes a half waiting to claim the writer.
    released: Notify,
    /// Tap reports in flight (only with a tap); held by the half that sends them, so that
    /// reports keep their order.
    reporting: tokio::sync::Mutex<Option<Reporting>>,
    settings: Settings,
    handshake: StoredHandshake,
}

/// What the lock guards: the engine, and who writes.
struct State {
    core: ConnCore,
    /// Tap reports made and not yet sent (empty without a tap).
    reports: Vec<TapKind>,
    /// A half has claimed the writer: it writes whatever the engine queues before it lets
    /// go, here, in the same step in which it sees nothing left.
    writing: bool,
    /// A write was cut short (a cancelled call): the writer holds output not yet written.
    unwritten: bool,
    /// The read half has ended the connection: sends fail.
    ended: bool,
    /// The write half has sent a close frame that the read half has not seen yet: a read
    /// already waiting must start the close timeout.
    close_unseen: bool,
    /// The read half's waker while its read waits, for the write half to wake it with
    /// [`close_unseen`](Self::close_unseen).
    read_waker: Option<std::task::Waker>,
}

/// The write side of the stream and the output taken for it.
struct Writer<S> {
    io: tokio::io::WriteHalf<S>,
    out: Output,
}

/// Whose turn it is to write what the engine queued.
enum Turn<'a, S> {
    /// Nothing to write, or the half that holds the writer will write it.
    Nobody,
    /// Claimed: write it now.
    Claimed(Token<'a, S>),
    /// Too much is waiting: wait for the writer, then write it.
    Wait,
}

/// What the read half does after a turn in which it had no message to hand over.
enum Then {
    /// Parse on (the engine paused after a message).
    Again,
    /// Wait for the write in progress, then look again.
    Flush,
    /// End.
    End(Next),
    /// Read from the socket; into a block of the half's own (`own`, see [`read_input`]) or
    /// into the engine's buffer.
    Read { closing: bool, own: bool },
}

/// Reads from `io` into `input` (taking a block of `room` bytes if it holds none). A block of
/// the reader's own (`own`: the read begins a message) goes back to the thread's spares
/// while the read waits and is taken again when it is polled, so that a half waiting for
/// its peer holds no buffer (it held 512 bytes, and read a 1 KiB message in two system
/// calls: `wsi relay` at 16 × 1 KiB made 6.7 system calls per message, a TCP forwarder 4.5).
/// The engine's buffer (the read continues a frame) is kept.
fn read_input<'a, R>(
    io: &'a mut R,
    input: &'a mut Option<BytesMut>,
    room: usize,
    own: bool,
) -> impl Future<Output = std::io::Result<usize>> + 'a
where
    R: AsyncRead + Unpin,
{
    std::future::poll_fn(move |cx| {
        let buffer = input.get_or_insert_with(|| read_block(room));
        let poll = pin!(io.read_buf(buffer)).poll(cx);
        if poll.is_pending()
            && own
            && let Some(block) = input.take()
        {
            recycle_block(block);
        }
        poll
    })
}

impl<S> Shared<S> {
    /// What the opening handshake settled (parsed again from its heads on first use, with
    /// the engine's subprotocol and extensions).
    fn handshake(&self) -> &HandshakeInfo {
        let state = self.lock();
        self.handshake.get(state.core.conn())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while the lock is held except a bug in the engine, which leaves no
        // state that is unsafe to look at: carry on with it rather than panic again.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Claims the writer if nobody holds it and there is something to write; with the state
    /// locked, so that the holder's last look and this one cannot miss each other.
    fn write_turn(&self, st: &mut State) -> Turn<'_, S> {
        let pending = st.core.conn().pending_output();
        if pending == 0 && !st.unwritten {
            return Turn::Nobody;
        }
        if !st.writing {
            st.writing = true;
            return Turn::Claimed(Token { shared: self });
        }
        if pending >= READ_STALL {
            Turn::Wait
        } else {
            Turn::Nobody
        }
    }

    /// Claims the writer if nobody holds it.
    fn try_claim(&self) -> Option<Token<'_, S>> {
        let mut st = self.lock();
        if st.writing {
            return None;
        }
        st.writing = true;
        Some(Token { shared: self })
    }

    /// Gives the claim back; `unwritten`, if known, says whether output is left in the
    /// writer.
    fn release(&self, unwritten: Option<bool>) {
        {
            let mut st = self.lock();
            st.writing = false;
            if let Some(unwritten) = unwritten {
                st.unwritten = unwritten;
            }
        }
        self.released.notify_waiters();
    }

    /// Sends the tap reports made so far, in order, after those in flight (nothing to do
    /// without a tap). Cancel-safe: the batch in flight is kept.
    async fn deliver_reports(&self) {
        let Some(tap) = &self.settings.tap else {
            return;
        };
        // Nothing in flight and the channel has room: the batch goes in now, without a
        // future (the held guard keeps the other half's batches after this one).
        if let Ok(reporting) = self.reporting.try_lock()
            && reporting.is_none()
        {
            let mut st = self.lock();
            if tap.try_report_all(&mut st.reports) {
                return;
            }
        }
        let mut reporting = self.reporting.lock().await;
        loop {
            if let Some(flight) = reporting.as_mut() {
                flight.await;
                *reporting = None;
            }
            let batch = {
                let mut st = self.lock();
                if st.reports.is_empty() {
                    return;
                }
                std::mem::take(&mut st.reports)
            };
            *reporting = Some(start_reporting(tap, batch));
        }
    }
}

impl<S> Shared<S>
where
    S: AsyncRead + AsyncWrite,
{
    /// Waits until nobody writes, and claims the writer.
    async fn claim(&self) -> Claim<'_, S> {
        loop {
            let released = self.released.notified();
            let mut released = pin!(released);
            // Registered, then checked: a release in between is not missed.
            released.as_mut().enable();
            if let Some(token) = self.try_claim() {
                return token.acquire().await;
            }
            released.await;
        }
    }

    /// Writes what the engine queued if it is this half's turn.
    async fn write(&self, turn: Turn<'_, S>) -> Result<(), Error> {
        let mut claim = match turn {
            Turn::Nobody => return Ok(()),
            Turn::Claimed(token) => token.acquire().await,
            Turn::Wait => self.claim().await,
        };
        claim.write_all().await
    }
}

/// A claim on the writer that does not hold it yet; dropped so, it gives the claim back.
struct Token<'a, S> {
    shared: &'a Shared<S>,
}

impl<'a, S> Token<'a, S> {
    /// Takes the writer (at once, or as soon as the last holder has dropped it: only a
    /// claimant locks it).
    async fn acquire(self) -> Claim<'a, S> {
        let writer = self.shared.writer.lock().await;
        let shared = self.shared;
        // The claim passes to the `Claim`, which gives it back.
        std::mem::forget(self);
        Claim {
            shared,
            writer,
            released: false,
        }
    }
}

impl<S> Drop for Token<'_, S> {
    fn drop(&mut self) {
        self.shared.release(None);
    }
}

/// The writer, held by the half that claimed it; dropped, it gives the claim back.
struct Claim<'a, S> {
    shared: &'a Shared<S>,
    writer: tokio::sync::MutexGuard<'a, Writer<S>>,
    /// [`write_all`](Self::write_all) gave the claim back.
    released: bool,
}

impl<S> Claim<'_, S>
where
    S: AsyncRead + AsyncWrite,
{
    /// Writes what was taken and everything the engine queues meanwhile (the other half's
    /// answers included), flushes, and gives the claim back in the same step in which it
    /// sees the engine's output empty.
    async fn write_all(&mut self) -> Result<(), Error> {
        let writer = &mut *self.writer;
        loop {
            std::future::poll_fn(|cx| writer.out.poll_write_taken(&mut writer.io, cx))
                .await
                .map_err(crate::tls::stream_error)?;
            if writer.out.take(self.shared.lock().core.conn_mut()) {
                continue;
            }
            std::future::poll_fn(|cx| writer.out.poll_flush(&mut writer.io, cx))
                .await
                .map_err(crate::tls::stream_error)?;
            {
                let mut st = self.shared.lock();
                if writer.out.take(st.core.conn_mut()) {
                    continue;
                }
                st.writing = false;
                st.unwritten = false;
            }
            self.released = true;
            self.shared.released.notify_waiters();
            return Ok(());
        }
    }
}

impl<S> Drop for Claim<'_, S> {
    fn drop(&mut self) {
        if !self.released {
            self.shared.release(Some(!self.writer.out.is_idle()));
        }
    }
}

impl State {
    /// Hands `what` to the engine; a large binary message is queued behind what `out` holds,
    /// to be written from the caller's buffer.
    fn queue(&mut self, out: &mut Output, what: Outgoing, tap: bool) -> Result<(), Error> {
        out.queue(&mut self.core, what)?;
        if tap {
            self.core.drain_frames(&mut self.reports);
        }
        Ok(())
    }

    /// After a fault in the input: the frames parsed before it are reported, the close frame
    /// is written (an error writing it replaces the fault), and the fault is returned.
    fn fault(&mut self, tap: bool, e: ws_proto::Error) -> Next {
        if tap {
            self.core.drain_frames(&mut self.reports);
        }
        let step = EndStep::Flush {
            write_error_wins: true,
        };
        Next::End(Some(e.into()), step)
    }
}
