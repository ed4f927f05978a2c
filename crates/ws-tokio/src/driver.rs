//! The connection driver: one task per connection reads the socket; the user holds a
//! cloneable [`Sender`] and a [`Receiver`] ([`WsStream::into_driven`](crate::WsStream::into_driven)).
//! The rules that turn the engine's events into messages and tap reports are the same
//! synchronous core that [`WsStream`](crate::WsStream) runs on (`conn_core`); this module is
//! the task around it.
//!
//! This is `quinn`'s shape, lock included: the [`ws_proto::Connection`] sits behind a mutex
//! shared by the task and the senders, held only for a synchronous step (feeding input,
//! queuing a message, taking and writing output), never across an `await`.
//!
//! A send writes its message itself when the socket takes it at once: the write side of the
//! stream (`tokio::io::split`) sits behind the same lock, so the task and the senders write
//! in the engine's order and never cut a frame. The task is woken only for what is left — a
//! write the socket could not take at once (the sender leaves the stream a waker that wakes
//! the task, which goes on with it), a failed write, a tap to report to, a readyState to act
//! on. Handing every message to the task to write cost each echo a second wake-up of the task
//! and two more turns of its loop: callgrind counted 8,403 instructions per 16-byte echo at 16
//! connections and 9,108 per 1 KiB echo at 128, now 5,624 and 6,306. The price: a burst of
//! sends from one task is written a message at a time (as tokio-tungstenite's and
//! fastwebsockets' sends are), where the task used to gather it into one write.
//!
//! Two tasks per connection cost what one does not when many connections are busy: the
//! receiving task runs after every other connection's task that was woken with it, so a
//! message is written back only after the others were read. At 128 connections × 64 KiB
//! echoes that is 8 MiB read between a message's read and its write, out of the cache by
//! then: the kernel's copy of the written payload (`_copy_from_iter`) took 13.7 % of the
//! server's samples (`perf record`), against 3.1–3.3 % for a [`WsStream`](crate::WsStream)
//! or fastwebsockets, which write each message back right after reading it.
//!
//! Nothing large is copied on the way, as in [`WsStream`](crate::WsStream): the task reads
//! the socket straight into the engine's input buffer, taken out of the engine for the read
//! ([`Connection::take_input_buffer`](ws_proto::Connection::take_input_buffer)) so that
//! senders are not locked out while it waits, and given back to be parsed; a large binary
//! message a server sends is queued as its header and the sender's [`Bytes`], written from
//! there in one vectored write. (Reading every message into a buffer of the task's own and
//! copying it into the engine, and copying every message sent into the engine's output, cost
//! the handles 0.67–0.95× fastwebsockets on the 64 KiB and 1 MiB echo shapes.) Only the first
//! read after a message, with no input waiting, goes into a buffer of the task's own (at
//! most 16 KiB, copied into the engine's block once the application has let go of the
//! message that shares it; see `read_room.rs`): reserving room in the engine's
//! buffer then would take fresh memory for every message.
//!
//! The handles are cancel-safe in `tokio::select!` (a `recv` that loses a race loses nothing;
//! a `send` that is cancelled before it queued its message sends nothing) and split for free.
//!
//! Flow control is bounded both ways. Messages go to the [`Receiver`] through a bounded
//! channel; while it is full the task stops reading the socket, so TCP slows the peer instead
//! of memory growing. A send waits while more than 64 KiB of output is queued in the engine.
//! The task polls writing and reading together, so it keeps reading while a write waits for
//! the peer: two peers that both write without reading cannot stall each other.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future as _;
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll, Wake, Waker};

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite};
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;
use ws_proto::CloseCode;
use ws_proto::bytes::{Bytes, BytesMut};

use crate::conn_core::{ConnCore, Settings, send_reports};
use crate::error::{Error, Stage};
use crate::handshake_info::HandshakeInfo;
use crate::message::{Message, Outgoing};
use crate::read_room::{READ_ROOM, ReadSizing, read_block, recycle_block};
use crate::stream::Output;
use crate::tap::TapKind;

/// What the [`Sender`]s and the driver task share: the engine, behind a lock that is never
/// held across an `await`.
struct Shared {
    inner: Mutex<Inner>,
    /// Wakes the driver: a sender's write left output the socket did not take (or the
    /// socket became writable for it), failed, or left a tap report, a readyState change or
    /// a read stall to act on; or the last sender went away.
    wake_driver: Notify,
    /// Wakes senders waiting for the engine's output to drain below [`HIGH_WATER`].
    drained: Notify,
    /// The waker a sender's write leaves with the stream: it wakes the driver (through
    /// `wake_driver`), which goes on with a write the socket could not take at once. It holds
    /// this struct weakly, so the stream's registration and this struct do not keep each
    /// other alive.
    driver_waker: Waker,
}

/// The write side of the stream, shared by the driver and the senders under the lock.
type Writer = Box<dyn AsyncWrite + Send + Unpin>;

/// Wakes the driver task of the connection it points to, if that still exists.
struct WakeDriver(Weak<Shared>);

impl Wake for WakeDriver {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if let Some(shared) = self.0.upgrade() {
            shared.wake_driver.notify_one();
        }
    }
}

struct Inner {
    core: ConnCore,
    /// Large binary messages sent without copying, in order: each one's header with all the
    /// output the engine held before it, and its payload. The engine's own output comes after
    /// all of them.
    shared: VecDeque<(BytesMut, Bytes)>,
    /// Bytes in `shared`.
    shared_len: usize,
    /// The driver task has ended: sends fail with a "closed" error.
    ended: bool,
    /// Live [`Sender`] handles.
    senders: usize,
    /// The write side of the stream; `None` once the driver has shut it down.
    writer: Option<Writer>,
    /// Output taken from the engine (and a payload written from the sender's buffer), being
    /// written.
    out: Output,
    /// A write that a sender made failed: the driver ends the connection with it.
    write_error: Option<std::io::Error>,
}

impl Inner {
    /// Bytes queued for the socket and not yet taken to be written.
    fn queued(&self) -> usize {
        self.core.conn().pending_output() + self.shared_len
    }

    /// Hands `what` to the engine; a large binary message's payload is queued as it is.
    fn send(&mut self, what: Outgoing) -> Result<(), Error> {
        if let Some(payload) = self.core.execute_sharing(what)? {
            let mut head = BytesMut::new();
            self.core.conn_mut().poll_transmit(&mut head);
            self.shared_len += head.len() + payload.len();
            self.shared.push_back((head, payload));
        }
        Ok(())
    }

    /// Nothing is left to write or to flush, here or in the engine.
    fn output_idle(&self) -> bool {
        self.out.is_idle() && self.queued() == 0
    }

    /// Moves what is queued next into `out` once everything in it is written. Returns
    /// whether anything was moved.
    fn take_output(&mut self) -> bool {
        if !self.out.is_drained() {
            return false;
        }
        match self.shared.pop_front() {
            Some((head, payload)) => {
                self.shared_len -= head.len() + payload.len();
                self.out.load(head, payload);
                true
            }
            None => self.out.take(self.core.conn_mut()),
        }
    }

    /// Writes everything queued, in order, then flushes; pending once the socket takes no
    /// more. Returns whether output was taken from the queue (senders waiting for room may
    /// go on).
    fn poll_write(&mut self, cx: &mut Context<'_>) -> (Poll<std::io::Result<()>>, bool) {
        let mut took = false;
        loop {
            if self.out.is_drained() {
                if !self.take_output() {
                    break;
                }
                took = true;
            }
            let Some(writer) = self.writer.as_mut() else {
                break;
            };
            match self.out.poll_write_taken(writer, cx) {
                Poll::Ready(Ok(())) => {}
                unfinished => return (unfinished, took),
            }
        }
        let flushed = match self.writer.as_mut() {
            Some(writer) => self.out.poll_flush(writer, cx),
            None => Poll::Ready(Ok(())),
        };
        (flushed, took)
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Nothing panics while the lock is held except a bug in the engine, which leaves no
        // state that is unsafe to look at: carry on with it rather than panic again.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes what is queued, under the lock held as `inner`, with `cx`'s waker left with
    /// the stream if the socket is full; lets waiting senders go on if output was taken.
    fn poll_write(&self, inner: &mut Inner, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let (poll, took) = inner.poll_write(cx);
        if took {
            self.drained.notify_waiters();
        }
        poll
    }

    /// A sender's write of what it just queued. Returns whether the driver must be woken:
    /// the socket did not take everything (the driver goes on with it), the write failed
    /// (the driver ends the connection), or there is more to do than writing — reports for
    /// a tap, a readyState change to act on, or reading to resume (the driver stopped reading
    /// while [`READ_STALL`] bytes waited, and waits only for its own write, which this one
    /// may have finished).
    fn write_now(&self, inner: &mut Inner) -> bool {
        if inner.write_error.is_some() {
            return true;
        }
        let stalled = inner.queued() + inner.out.unwritten() >= READ_STALL;
        match self.poll_write(inner, &mut Context::from_waker(&self.driver_waker)) {
            Poll::Ready(Ok(())) => stalled || inner.core.reporting() || inner.core.state_changed(),
            Poll::Ready(Err(e)) => {
                inner.write_error = Some(e);
                true
            }
            Poll::Pending => true,
        }
    }
}

/// A sender waits while at least this many bytes are queued in the engine and not yet handed
/// to the socket; below it, a message of any size is taken at once. So at most about two
/// messages plus this much wait for the socket: one being written, the rest queued.
const HIGH_WATER: usize = 64 * 1024;

/// The driver stops reading while this much output waits (only answers the engine makes by
/// itself — pongs — can grow it past [`HIGH_WATER`]), so a peer that floods pings and never
/// reads cannot make us buffer without bound.
const READ_STALL: usize = 4 << 20;

/// Sends to the connection. Cheap to clone; every clone talks to the same connection.
///
/// A send hands the message straight to the engine and writes it to the socket if the socket
/// takes it at once (under a lock held for that step only); what is left, the connection task
/// writes. It waits only while the engine holds more than 64 KiB that the socket has not
/// taken yet.
pub struct Sender {
    shared: Arc<Shared>,
}

impl fmt::Debug for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Clone for Sender {
    fn clone(&self) -> Self {
        self.shared.lock().senders += 1;
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        let last = {
            let mut inner = self.shared.lock();
            inner.senders -= 1;
            inner.senders == 0
        };
        if last {
            self.shared.wake_driver.notify_one();
        }
    }
}

impl Sender {
    /// Hands `what` to the connection, first waiting while too much output is queued (control
    /// frames never wait). Errors: the connection is closed, or the engine refused (e.g. data
    /// after a close frame was sent). Cancel-safe: cancelled, it has sent nothing.
    pub async fn send(&self, what: Outgoing) -> Result<(), Error> {
        let control = matches!(
            what,
            Outgoing::Ping(_) | Outgoing::Pong(_) | Outgoing::Close(..)
        );
        let mut waiting = None;
        loop {
            {
                let mut inner = self.shared.lock();
                if inner.ended {
                    return Err(Error::closed());
                }
                if control || inner.queued() < HIGH_WATER {
                    let result = inner.send(what);
                    let wake = result.is_err() || self.shared.write_now(&mut inner);
                    drop(inner);
                    if wake {
                        self.shared.wake_driver.notify_one();
                    }
                    return result;
                }
            }
            match waiting.as_mut() {
                // Registered, then checked again: a drain in between is not missed.
                None => {
                    let mut drained = Box::pin(self.shared.drained.notified());
                    drained.as_mut().enable();
                    waiting = Some(drained);
                }
                Some(drained) => {
                    drained.await;
                    waiting = None;
                }
            }
        }
    }

    /// Sends a text message.
    pub async fn send_text(&self, text: impl Into<String>) -> Result<(), Error> {
        self.send(Outgoing::Text(text.into())).await
    }

    /// Sends a binary message.
    pub async fn send_binary(&self, data: impl Into<Bytes>) -> Result<(), Error> {
        self.send(Outgoing::Binary(data.into())).await
    }

    /// Sends a ping.
    pub async fn send_ping(&self, data: impl Into<Bytes>) -> Result<(), Error> {
        self.send(Outgoing::Ping(data.into())).await
    }

    /// Sends a pong.
    pub async fn send_pong(&self, data: impl Into<Bytes>) -> Result<(), Error> {
        self.send(Outgoing::Pong(data.into())).await
    }

    /// Starts the close handshake. The [`Receiver`] ends once it completes (or times out).
    pub async fn close(&self, code: Option<CloseCode>, reason: &str) -> Result<(), Error> {
        self.send(Outgoing::Close(code, reason.to_owned())).await
    }

    /// Whether the connection task has ended.
    pub fn is_closed(&self) -> bool {
        self.shared.lock().ended
    }
}

/// Receives from the connection: messages, then at most one error, then `None`.
pub struct Receiver {
    rx: mpsc::Receiver<Result<Message, Error>>,
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}

impl Receiver {
    /// The next message; `Some(Err(_))` if the connection failed (protocol error, lost
    /// connection, timeout); `None` once it has ended. Cancel-safe.
    pub async fn recv(&mut self) -> Option<Result<Message, Error>> {
        self.rx.recv().await
    }
}

/// An open connection: the two handles and what the handshake settled.
#[derive(Debug)]
pub struct WebSocket {
    /// Sends to the peer.
    pub sender: Sender,
    /// Receives from the peer.
    pub receiver: Receiver,
    /// The handshake.
    pub handshake: HandshakeInfo,
}

impl WebSocket {
    /// The two handles, for use in different tasks.
    pub fn split(self) -> (Sender, Receiver) {
        (self.sender, self.receiver)
    }
}

/// Spawns the task for an open connection and returns its handles; `closed_by` is who sent
/// the first close frame, if one was sent already.
pub(crate) fn spawn_with<S>(io: S, core: ConnCore, settings: Settings) -> (Sender, Receiver)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (msg_tx, msg_rx) = mpsc::channel(settings.channel_capacity.max(1));
    let (reader, writer) = tokio::io::split(io);
    let shared = Arc::new_cyclic(|weak| Shared {
        inner: Mutex::new(Inner {
            core,
            shared: VecDeque::new(),
            shared_len: 0,
            ended: false,
            senders: 1,
            writer: Some(Box::new(writer)),
            out: Output::default(),
            write_error: None,
        }),
        wake_driver: Notify::new(),
        drained: Notify::new(),
        driver_waker: Waker::from(Arc::new(WakeDriver(weak.clone()))),
    });
    let driver = Driver {
        io: Io {
            stream: reader,
            input: None,
            reading: ReadSizing::default(),
            room: 0,
            own_buffer: false,
        },
        shared: shared.clone(),
        messages: msg_tx,
        settings,
        reports: Vec::new(),
        arrived: Vec::new(),
        outbox: VecDeque::new(),
        close_deadline: None,
        senders_gone: false,
    };
    tokio::spawn(driver.run());
    (Sender { shared }, Receiver { rx: msg_rx })
}

struct Driver<S> {
    io: Io<S>,
    shared: Arc<Shared>,
    messages: mpsc::Sender<Result<Message, Error>>,
    settings: Settings,
    /// Tap reports made under the lock, sent after it (reused).
    reports: Vec<TapKind>,
    /// Messages taken from the engine under the lock, delivered after it (reused).
    arrived: Vec<Message>,
    /// Messages waiting for room in the bounded message channel. While any wait, the socket
    /// is not read: a consumer that does not keep up slows the peer through TCP.
    outbox: VecDeque<Message>,
    close_deadline: Option<Instant>,
    senders_gone: bool,
}

/// The read side of the stream and its buffer. Reading and writing are polled together, so a
/// peer that does not read while it writes cannot stop us from reading (two such peers would
/// otherwise wait for each other forever once both socket buffers are full).
struct Io<S> {
    stream: tokio::io::ReadHalf<S>,
    /// The input buffer while a read of it is under way: the engine's, taken from it under
    /// the lock, or one of the task's own (`own_buffer`); read into without the lock, given
    /// back before the bytes are parsed.
    input: Option<BytesMut>,
    /// What the last reads were like: the next read's room.
    reading: ReadSizing,
    /// The room reserved for the read under way.
    room: usize,
    /// The read under way goes into a buffer of the driver's own (see
    /// [`ReadSizing::take_buffer`]), not the engine's: let go of while the read waits, and
    /// made again when the socket is readable, so that an idle connection holds none.
    own_buffer: bool,
}

/// Why the main loop woke up.
enum Woken {
    Io(IoProgress),
    Delivered,
    Senders,
    Deadline,
}

/// What one poll of the socket achieved.
struct IoProgress {
    /// Bytes read (0: end of stream), or the read error.
    read: Option<std::io::Result<usize>>,
    /// A write or flush error.
    write_error: Option<std::io::Error>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Io<S> {
    /// Writes what is queued and flushes once all is written (under the lock), and reads into
    /// the input taken from the engine if `read` (without it) — all in one poll; ready as
    /// soon as any of them made progress.
    fn poll_io(&mut self, shared: &Shared, cx: &mut Context<'_>, read: bool) -> Poll<IoProgress> {
        let mut progress = false;
        let mut write_error = None;
        let output_idle = {
            let mut inner = shared.lock();
            if let Some(e) = inner.write_error.take() {
                write_error = Some(e);
            } else if !inner.output_idle() {
                let unwritten = inner.out.unwritten() + inner.queued();
                match shared.poll_write(&mut inner, cx) {
                    Poll::Ready(Ok(())) => progress = true,
                    Poll::Ready(Err(e)) => write_error = Some(e),
                    Poll::Pending => progress = inner.out.unwritten() + inner.queued() < unwritten,
                }
            }
            inner.out.is_idle()
        };
        let mut read_result = None;
        if read && write_error.is_none() {
            if self.input.is_none() && self.own_buffer {
                self.input = Some(read_block(self.room));
            }
            if let Some(input) = self.input.as_mut() {
                let poll = pin!(self.stream.read_buf(input)).poll(cx);
                match poll {
                    Poll::Ready(result) => read_result = Some(result),
                    // Nothing to read: an own buffer with nothing in it waits as none — unless
                    // output is flowing, whose wake-ups would each make it again.
                    Poll::Pending if self.own_buffer && input.is_empty() && output_idle => {
                        if let Some(input) = self.input.take() {
                            recycle_block(input);
                        }
                    }
                    Poll::Pending => {}
                }
            }
        }
        if progress || write_error.is_some() || read_result.is_some() {
            Poll::Ready(IoProgress {
                read: read_result,
                write_error,
            })
        } else {
            Poll::Pending
        }
    }
}

impl<S> Driver<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    async fn run(mut self) {
        let result = self.drive().await;
        self.return_input();
        // A fault found before the connection was handed over is its end's error.
        let result = match (result, self.shared.lock().core.take_unreported_fault()) {
            (Ok(()), Some(fault)) => Err(fault),
            (result, _) => result,
        };
        // Ended before the shutdown: a send from now on fails as closed instead of writing
        // after it (or leaving its waker with a stream nobody polls for it any more).
        self.shared.lock().ended = true;
        self.shared.drained.notify_waiters();
        let _ = self.shutdown().await;
        if let (Err(e), Some(_)) = (&result, &self.settings.tap) {
            self.reports.push(TapKind::Error(e.to_string()));
        }
        {
            let mut inner = self.shared.lock();
            inner.core.finish(&mut self.reports, &mut self.arrived);
            inner.writer = None;
        }
        send_reports(self.settings.tap.as_ref(), &mut self.reports).await;
        for message in std::mem::take(&mut self.arrived) {
            self.deliver(message);
        }
        while let Some(message) = self.outbox.pop_front() {
            if self.messages.send(Ok(message)).await.is_err() {
                break;
            }
        }
        if let Err(e) = result {
            let _ = self.messages.send(Err(e)).await;
        }
    }

    async fn drive(&mut self) -> Result<(), Error> {
        loop {
            // One lock per turn: take the events and the output, read the flags, and take the
            // engine's input buffer out for the next read.
            let (close_transport, idle, closing, paused, read, write_error) = {
                let mut guard = self.shared.lock();
                let inner = &mut *guard;
                while let Some(message) = inner.core.next_message(&mut self.reports) {
                    self.arrived.push(message);
                }
                inner.core.report_state(&mut self.reports);
                let paused = inner.core.conn().is_paused();
                let read = !paused
                    && self.outbox.is_empty()
                    && inner.queued() + inner.out.unwritten() < READ_STALL;
                if read && self.io.input.is_none() {
                    let conn = inner.core.conn_mut();
                    let room = self.io.reading.room(conn);
                    let (input, own) = self.io.reading.take_buffer(conn, room, READ_ROOM);
                    self.io.room = if own { READ_ROOM } else { room };
                    self.io.own_buffer = own;
                    self.io.input = Some(input);
                }
                let conn = inner.core.conn();
                (
                    conn.should_close_transport(),
                    inner.output_idle(),
                    inner.core.closing(),
                    paused,
                    read,
                    inner.write_error.take(),
                )
            };
            if let Some(e) = write_error {
                return Err(crate::tls::stream_error(e));
            }
            self.hand_on().await;
            if paused && self.outbox.is_empty() {
                self.resume_parsing().await?;
                continue;
            }
            if close_transport && idle {
                return Ok(());
            }
            if self.close_deadline.is_none() && closing {
                self.close_deadline = Some(Instant::now() + self.settings.close_timeout);
            }
            let deadline = self.close_deadline;
            let io = &mut self.io;
            let shared = &*self.shared;
            let woken = tokio::select! {
                biased;
                progress = std::future::poll_fn(|cx| io.poll_io(shared, cx, read)) => Woken::Io(progress),
                permit = self.messages.reserve(), if !self.outbox.is_empty() => {
                    match permit {
                        Ok(permit) => {
                            if let Some(message) = self.outbox.pop_front() {
                                permit.send(Ok(message));
                            }
                        }
                        // Nobody listens any more; keep the connection going.
                        Err(_) => self.outbox.clear(),
                    }
                    Woken::Delivered
                }
                () = self.shared.wake_driver.notified() => Woken::Senders,
                () = sleep_until(deadline), if deadline.is_some() => Woken::Deadline,
            };
            match woken {
                Woken::Io(progress) => {
                    if let Some(e) = progress.write_error {
                        return Err(crate::tls::stream_error(e));
                    }
                    let Some(read) = progress.read else {
                        continue;
                    };
                    match read {
                        Ok(0) => {
                            self.return_input();
                            return self.end_of_stream().await;
                        }
                        Ok(n) => {
                            self.io.reading.record(n, self.io.room);
                            // Given back and parsed under one lock.
                            let result = {
                                let mut inner = self.shared.lock();
                                let conn = inner.core.conn_mut();
                                if let Some(input) = self.io.input.take() {
                                    recycle_block(conn.return_input_buffer(input));
                                }
                                conn.receive_buffered()
                            };
                            self.after_input(result).await?;
                        }
                        // A reset after the close handshake completed loses nothing.
                        Err(_) if self.shared.lock().core.closed() => {
                            self.return_input();
                            return self.end_of_stream().await;
                        }
                        Err(e) => return Err(crate::tls::stream_error(e)),
                    }
                }
                Woken::Delivered => {}
                Woken::Senders => self.check_senders(),
                Woken::Deadline => {
                    if self.shared.lock().core.closed() {
                        // The close handshake is done; the server did not close TCP in time.
                        return Ok(());
                    }
                    return Err(Error::timeout(Stage::Close));
                }
            }
        }
    }

    /// Once nobody holds a handle any more, go away politely.
    fn check_senders(&mut self) {
        if self.senders_gone {
            return;
        }
        let mut inner = self.shared.lock();
        if inner.senders > 0 {
            return;
        }
        self.senders_gone = true;
        if self.messages.is_closed() {
            inner.core.go_away();
        }
    }

    /// The peer closed its side: the engine judges whether that was clean; what it still
    /// wants to send goes out if the socket takes it.
    async fn end_of_stream(&mut self) -> Result<(), Error> {
        let result = self.shared.lock().core.conn_mut().receive_eof();
        self.dispatch_events().await;
        let _ = self.write_everything().await;
        result.map_err(Error::from)
    }

    /// Handles the outcome of feeding input: on a fault the close frame is flushed and the
    /// fault ends the connection (the events are dispatched first, either way).
    async fn after_input(&mut self, result: Result<(), ws_proto::Error>) -> Result<(), Error> {
        self.dispatch_events().await;
        if let Err(e) = result {
            self.write_everything()
                .await
                .map_err(crate::tls::stream_error)?;
            return Err(e.into());
        }
        Ok(())
    }

    /// With [`ws_proto::Config::pause_after_message`] on, parsing stops after each message.
    /// Before the next one is parsed the application gets the chance to answer the message it
    /// just got (it runs while this task yields; its answer joins the engine's output queue
    /// in order), so replies keep their order relative to a failure caused by a later frame in
    /// the same read — as with a frame-by-frame reader.
    async fn resume_parsing(&mut self) -> Result<(), Error> {
        while self.outbox.is_empty() && self.shared.lock().core.conn().is_paused() {
            tokio::task::yield_now().await;
            let result = self.shared.lock().core.conn_mut().receive_data(&[]);
            self.after_input(result).await?;
        }
        Ok(())
    }

    /// Gives the engine back its input buffer, with what the last read added to it.
    fn return_input(&mut self) {
        if let Some(input) = self.io.input.take() {
            self.shared
                .lock()
                .core
                .conn_mut()
                .return_input_buffer(input);
        }
    }

    /// Writes and flushes everything queued, as the connection ends (or a write error that a
    /// sender met).
    async fn write_everything(&mut self) -> std::io::Result<()> {
        let shared = &*self.shared;
        std::future::poll_fn(|cx| {
            let mut inner = shared.lock();
            match inner.write_error.take() {
                Some(e) => Poll::Ready(Err(e)),
                None => shared.poll_write(&mut inner, cx),
            }
        })
        .await
    }

    /// Shuts the write side of the stream down.
    async fn shutdown(&mut self) -> std::io::Result<()> {
        let shared = &*self.shared;
        std::future::poll_fn(|cx| match shared.lock().writer.as_mut() {
            Some(writer) => Pin::new(writer).poll_shutdown(cx),
            None => Poll::Ready(Ok(())),
        })
        .await
    }

    /// Takes the engine's messages and reports and hands them on: reports to the tap,
    /// messages to the receiver (or the outbox, when its channel is full).
    async fn dispatch_events(&mut self) {
        {
            let mut inner = self.shared.lock();
            while let Some(message) = inner.core.next_message(&mut self.reports) {
                self.arrived.push(message);
            }
        }
        self.hand_on().await;
    }

    /// Hands on what was taken from the engine under the lock: the reports to the tap, then
    /// the messages to the receiver.
    async fn hand_on(&mut self) {
        if !self.reports.is_empty() {
            send_reports(self.settings.tap.as_ref(), &mut self.reports).await;
        }
        if !self.arrived.is_empty() {
            let mut arrived = std::mem::take(&mut self.arrived);
            for message in arrived.drain(..) {
                self.deliver(message);
            }
            self.arrived = arrived;
        }
    }

    /// Hands a message to the [`Receiver`] if its channel has room and nothing is queued
    /// before it; otherwise queues it in the outbox, which the main loop drains as room
    /// appears. Meanwhile senders keep sending and the driver keeps writing: a task that
    /// alternates `recv` and `send` never waits for this task.
    fn deliver(&mut self, message: Message) {
        if !self.outbox.is_empty() {
            self.outbox.push_back(message);
            return;
        }
        match self.messages.try_send(Ok(message)) {
            // A dropped receiver only means nobody listens; keep the connection going.
            Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => {}
            Err(mpsc::error::TrySendError::Full(Ok(message))) => self.outbox.push_back(message),
            Err(mpsc::error::TrySendError::Full(Err(_))) => {}
        }
    }
}

impl<S> Drop for Driver<S> {
    /// A driver dropped before it ended (its runtime shut down, or it panicked) ends the
    /// connection for the senders too: sends fail as closed, waiting ones included, and the
    /// write side of the stream, which they would otherwise keep open, is let go of.
    fn drop(&mut self) {
        {
            let mut inner = self.shared.lock();
            inner.ended = true;
            inner.writer = None;
        }
        self.shared.drained.notify_waiters();
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
