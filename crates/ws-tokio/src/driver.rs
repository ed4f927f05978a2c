//! The connection driver: one task per connection reads the socket while its receiver does
//! not; the user holds a cloneable [`Sender`] and a [`Receiver`]
//! ([`WsStream::into_driven`](crate::WsStream::into_driven)).
//! The rules that turn the engine's events into messages and tap reports are the same
//! synchronous core that [`WsStream`](crate::WsStream) runs on (`conn_core`); this module is
//! the task around it.
//!
//! This is `quinn`'s shape, lock included: the [`ws_proto::Connection`] sits behind a mutex
//! shared by the task and the handles, held only for a synchronous step (feeding input,
//! queuing a message, taking and writing output, one read of the socket), never across an
//! `await`. The stream sits behind the same lock, whole (not `tokio::io::split`: all that
//! touches it holds the lock already, and the split's own lock cost every read and write an
//! atomic on a line of its own).
//!
//! A send writes its message itself when the socket takes it at once, so the task and the
//! senders write in the engine's order and never cut a frame. The task is woken only for
//! what is left — a write the socket could not take at once (the sender leaves the stream a
//! waker that wakes the task, which goes on with it), a failed write, a tap to report to, a
//! readyState to act on. Handing every message to the task to write cost each echo a second
//! wake-up of the task and two more turns of its loop (callgrind: 8,403 instructions per
//! 16-byte echo at 16 connections, then 5,624). The price: a burst of sends from one task is
//! written a message at a time (as tokio-tungstenite's and fastwebsockets' sends are), where
//! the task used to gather it into one write.
//!
//! A [`Receiver`] waiting in `recv` with nothing delivered reads the socket itself (without
//! a tap, whose reports only the task sends): the socket's readiness wakes the receiving task
//! instead of the connection task (`ReadWakers`), which parses, answers pings and returns the
//! message — no channel, no second task. When a receiver's read meets anything only the task
//! can act on (the close handshake, the end, a fault, a stall of reading), it leaves that to
//! the task and waits on the channel. When no `recv` waits, the task reads, as before, and
//! delivers through the channel; a receiver looks there first whenever the task may have put
//! something in it (`in_channel`), and never reads past messages the task holds
//! (`driver_holds`), so messages keep their order. Ending a `recv`, the receiver makes sure
//! the task is woken by the next readiness: unless a read found the socket empty since its
//! last input (`armed`), it reads once more into the room left in its buffer — the system call
//! its next `recv` would have made, which usually finds nothing — or wakes the task; so pings
//! are answered while the application does not call `recv`. Why: with two tasks, every
//! connection task that one `epoll_wait` woke read its message before any receiving task ran,
//! so at 128 connections × 64 KiB a message was written back after 8 MiB of others had been
//! read, out of the cache by then (`perf`: the kernel's copy of written payloads,
//! `_copy_from_iter`, 13.7 % of the server's samples against 3.1 % for a
//! [`WsStream`](crate::WsStream)); and each echo cost the task's turn besides (callgrind, 16 ×
//! 16 B: 5,478 instructions per echo, now 3,457; a `WsStream` 3,253).
//!
//! Nothing large is copied on the way, as in [`WsStream`](crate::WsStream): a waiting
//! receiver reads straight into the engine's input buffer; the task, which reads ahead while
//! the application may still hold the last message, reads into the engine's buffer taken out
//! of it ([`Connection::take_input_buffer`](ws_proto::Connection::take_input_buffer)) and given
//! back to be parsed; a large binary message a server sends is queued as its header and the
//! sender's [`Bytes`], written from there in one vectored write. (Reading every message into
//! a buffer of the task's own and copying it into the engine, and copying every message sent
//! into the engine's output, cost the handles 0.67–0.95× fastwebsockets on the 64 KiB and
//! 1 MiB echo shapes.) Only the task's first read after a message, with no input waiting,
//! goes into a buffer of its own (at most 16 KiB, copied into the engine's block once the
//! application has let go of the message that shares it; see `read_room.rs`): reserving room
//! in the engine's buffer then would take fresh memory for every message.
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
use std::task::{Context, Poll, Wake, Waker, ready};

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite};
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;
use ws_proto::CloseCode;
use ws_proto::bytes::{Bytes, BytesMut};

use crate::conn_core::{ConnCore, Settings, send_reports};
use crate::error::{Error, Stage};
use crate::handshake_info::HandshakeInfo;
use crate::message::{Message, Outgoing};
use crate::read_room::{LARGE_FIRST_READ, READ_ROOM, ReadSizing, recycle_block};
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
    /// The waker every read of the socket leaves with the stream: it wakes a receiver that
    /// waits in `recv` reading for itself, else the driver task ([`ReadWakers`]).
    read_waker: Waker,
    /// Whom `read_waker` wakes. A lock of its own: a waker may be called with the engine's
    /// lock held.
    read_wakers: Mutex<ReadWakers>,
}

/// Whom the socket's read readiness wakes: the receiver while it waits in `recv` with
/// nothing delivered (it reads the socket itself), else the driver task.
#[derive(Default)]
struct ReadWakers {
    /// Set from a receiver's read that found nothing until its `recv` ends: meanwhile the
    /// driver does not read (a driver woken to write first would otherwise read what the
    /// receiver was woken for).
    receiver: Option<Waker>,
    driver: Option<Waker>,
    /// A read found the socket empty (so the socket holds `read_waker`) and no readiness
    /// came since.
    armed: bool,
    /// Readiness reports so far: a read that found nothing arms only if none came while it
    /// was made.
    wakes: u64,
}

impl ReadWakers {
    /// After a read that found nothing, begun when `wakes` readiness reports had come:
    /// armed, unless another came meanwhile (then the reader must read again, or leave it
    /// to whom it woke). Returns whether armed.
    fn arm(&mut self, wakes: u64) -> bool {
        self.armed = self.wakes == wakes;
        self.armed
    }
}

/// What reading the stream needs beside it, under the engine's lock: the stream is read by the
/// driver task, or by a receiver waiting in `recv` (see the module notes).
struct Reader {
    /// The input buffer while a read of it is under way: the engine's, taken from it, or
    /// one of the reader's own (`own_buffer`); given back before the bytes are parsed.
    input: Option<BytesMut>,
    /// What the last reads were like: the next read's room.
    sizing: ReadSizing,
    /// The room reserved for the read under way.
    room: usize,
    /// The read under way goes into a buffer of the reader's own (see
    /// [`ReadSizing::take_buffer`]), not the engine's: let go of while the read waits, and
    /// made again when the socket is readable, so that an idle connection holds none.
    own_buffer: bool,
}

/// What a receiver's own read found that only the driver task can act on: the end of the
/// stream or a read error, or a fault in the input.
enum Handed {
    Read(std::io::Result<usize>),
    Fault(ws_proto::Error),
}

/// The stream, read and written under the lock by the driver, the senders and a waiting
/// receiver. Whole, not `tokio::io::split`: everything that touches it holds the engine's lock
/// already, and the split's own lock cost every read and write an atomic swap on a line of
/// its own (callgrind's cache simulation, 128 × 16 B echoes: a first-level write miss per
/// read).
type Stream = Box<dyn AsyncStream>;

/// What the driver runs on: any tokio stream.
trait AsyncStream: AsyncRead + AsyncWrite + Send + Unpin {}

impl<S: AsyncRead + AsyncWrite + Send + Unpin> AsyncStream for S {}

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

/// Wakes whoever reads the connection it points to next ([`ReadWakers`]), if it still exists.
struct WakeReader(Weak<Shared>);

impl Wake for WakeReader {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let Some(shared) = self.0.upgrade() else {
            return;
        };
        let waker = {
            let mut wakers = shared.wakers();
            wakers.armed = false;
            wakers.wakes += 1;
            wakers.receiver.clone().or_else(|| wakers.driver.clone())
        };
        if let Some(waker) = waker {
            waker.wake();
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
    /// The stream; `None` once the driver has ended.
    stream: Option<Stream>,
    /// Output taken from the engine (and a payload written from the sender's buffer), being
    /// written.
    out: Output,
    /// A write that a sender made failed: the driver ends the connection with it.
    write_error: Option<std::io::Error>,
    /// A sender waits for output to drain (`Shared::drained`). Notifying only then spares
    /// every other write a write to the `Notify`'s line (callgrind's cache simulation: a
    /// first-level write miss per echo at 128 × 16 B).
    senders_wait: bool,
    /// The read side of the stream.
    reader: Reader,
    /// The driver holds messages it took from the engine that are not in the channel yet: a
    /// receiver must not read past them.
    driver_holds: bool,
    /// The driver may have put messages in the channel since a receiver last found it empty:
    /// the receiver looks there first. (Looking every time cost a small echo about 200
    /// instructions of the channel's.)
    in_channel: bool,
    /// What a receiver's read found for the driver to act on.
    handed: Option<Handed>,
}

impl Inner {
    /// Bytes queued for the socket and not yet taken to be written.
    fn queued(&self) -> usize {
        self.core.conn().pending_output() + self.shared_len
    }

    /// Bytes queued or taken and not yet written.
    fn backlog(&self) -> usize {
        self.queued() + self.out.unwritten()
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

    /// Whether a receiver waiting in `recv` may read the socket itself: nothing is held back
    /// for it elsewhere, and nothing is left for the driver task to act on first (a close
    /// under way, the end, a failed write, a stall of reading, a readyState change).
    fn receiver_may_read(&self) -> bool {
        let conn = self.core.conn();
        !self.ended
            && !self.driver_holds
            && self.handed.is_none()
            && self.write_error.is_none()
            && self.stream.is_some()
            && !self.core.closing()
            && !self.core.state_changed()
            && !conn.should_close_transport()
            && self.backlog() < READ_STALL
    }

    /// Reads into the input buffer — the engine's, or one of the reader's own (taken first
    /// if none is under way) — with `cx`'s waker left with the stream if nothing is there.
    /// An own buffer with nothing in it is let go of while the read waits, unless output is
    /// flowing, whose wake-ups would each make it again.
    fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<usize>> {
        let output_idle = self.out.is_idle();
        let reader = &mut self.reader;
        let Some(stream) = self.stream.as_mut() else {
            return Poll::Pending;
        };
        let input = reader.input.get_or_insert_with(|| {
            let conn = self.core.conn_mut();
            let room = reader.sizing.room(conn);
            let (input, own) = reader.sizing.take_buffer(conn, room, READ_ROOM);
            reader.room = if own { READ_ROOM } else { room };
            reader.own_buffer = own;
            input
        });
        let poll = pin!(stream.read_buf(input)).poll(cx);
        if poll.is_pending()
            && reader.own_buffer
            && input.is_empty()
            && output_idle
            && let Some(input) = reader.input.take()
        {
            recycle_block(input);
        }
        poll
    }

    /// A waiting receiver's read: straight into the engine's input buffer, as a
    /// [`WsStream`](crate::WsStream) reads (the application called `recv`, so it is done
    /// with the last message, most likely), and while nothing is there the connection's empty
    /// buffers go to the thread's spares ([`ReadSizing::waiting`]). Reading into a buffer of
    /// the reader's own and copying it into the engine's, as the driver's reads ahead do,
    /// kept each connection's own input block in use: at 128 connections × 1 KiB, twice the
    /// server's user time of a `WsStream` per echo (1.05 against 0.47 µs) for 21 % more
    /// instructions.
    fn poll_read_waiting(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<usize>> {
        if let Some(input) = self.reader.input.take() {
            // A read of the driver's, waiting with nothing in it.
            match self.reader.own_buffer && input.is_empty() {
                true => recycle_block(input),
                false => recycle_block(self.core.conn_mut().return_input_buffer(input)),
            }
        }
        let reader = &mut self.reader;
        let Some(stream) = self.stream.as_mut() else {
            return Poll::Pending;
        };
        let conn = self.core.conn_mut();
        let room = reader.sizing.room_between_waits(conn);
        reader.room = room;
        let input = conn.input_buffer(room);
        // A read that begins a message takes at most `room` bytes from a large buffer that
        // large messages left (why: the `read_room` module notes).
        let read = if input.is_empty() && input.capacity() > LARGE_FIRST_READ {
            pin!((&mut *stream).take(room as u64).read_buf(input)).poll(cx)
        } else {
            pin!(stream.read_buf(input)).poll(cx)
        };
        if read.is_pending() {
            reader.sizing.waiting(conn, &mut self.out);
        }
        read
    }

    /// A read into the room left in the engine's input buffer, without making more (which
    /// could take a new block while the application holds a message in the old one); `None`
    /// if there is no room or no stream. The bytes wait there, unparsed.
    fn poll_read_spare(&mut self, cx: &mut Context<'_>) -> Option<Poll<std::io::Result<usize>>> {
        let stream = self.stream.as_mut()?;
        if self.reader.input.is_some() {
            return None;
        }
        let input = self.core.conn_mut().input_buffer(0);
        if input.len() == input.capacity() {
            return None;
        }
        Some(pin!(stream.read_buf(input)).poll(cx))
    }

    /// Gives the engine its input buffer back with the `n` bytes just read (if the read went
    /// into a buffer taken from it), and parses them.
    fn take_read(&mut self, n: usize) -> Result<(), ws_proto::Error> {
        let reader = &mut self.reader;
        reader.sizing.record(n, reader.room);
        let conn = self.core.conn_mut();
        if let Some(input) = reader.input.take() {
            recycle_block(conn.return_input_buffer(input));
        }
        conn.receive_buffered()
    }

    /// Gives the engine back its input buffer, with what the last read added to it.
    fn return_input(&mut self) {
        if let Some(input) = self.reader.input.take() {
            self.core.conn_mut().return_input_buffer(input);
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
            let Some(stream) = self.stream.as_mut() else {
                break;
            };
            match self.out.poll_write_taken(stream, cx) {
                Poll::Ready(Ok(())) => {}
                unfinished => return (unfinished, took),
            }
        }
        let flushed = match self.stream.as_mut() {
            Some(stream) => self.out.poll_flush(stream, cx),
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

    /// Wakes a receiver that waits for the socket: something else needs its attention.
    fn wake_receiver(&self) {
        let waker = self.wakers().receiver.clone();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn wakers(&self) -> MutexGuard<'_, ReadWakers> {
        self.read_wakers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes what is queued, under the lock held as `inner`, with `cx`'s waker left with
    /// the stream if the socket is full; lets waiting senders go on if output was taken.
    fn poll_write(&self, inner: &mut Inner, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let (poll, took) = inner.poll_write(cx);
        if took && std::mem::take(&mut inner.senders_wait) {
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
        let stalled = inner.backlog() >= READ_STALL;
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
                inner.senders_wait = true;
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
///
/// While it waits in [`recv`](Self::recv) with nothing delivered, it reads the socket itself
/// (without a tap; see the module notes); whenever it does not, the connection task reads.
pub struct Receiver {
    rx: mpsc::Receiver<Result<Message, Error>>,
    /// The connection, to read it from `recv`; `None` with a tap, whose reports only the
    /// driver task sends.
    reads: Option<Arc<Shared>>,
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
        let Some(shared) = self.reads.as_deref() else {
            return self.rx.recv().await;
        };
        let mut recv = ReadingRecv {
            shared,
            rx: &mut self.rx,
            registered: false,
            done: false,
        };
        std::future::poll_fn(|cx| recv.poll(cx)).await
    }
}

/// A `recv` that reads the socket itself while nothing is delivered and nothing stands in
/// its way ([`Inner::receiver_may_read`]); the socket's readiness wakes it while it waits
/// (`registered`). Cancelled, or done with input possibly left in the socket, it hands
/// reading back to the driver task.
struct ReadingRecv<'a> {
    shared: &'a Shared,
    rx: &'a mut mpsc::Receiver<Result<Message, Error>>,
    /// Its waker is the one the socket's readiness wakes.
    registered: bool,
    done: bool,
}

impl ReadingRecv<'_> {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, Error>>> {
        let shared = self.shared;
        let mut inner = shared.lock();
        // The channel first, under the lock: the driver sets `driver_holds` under it while it
        // holds messages it has not put in the channel, and `in_channel` once it has, so what
        // it delivered is seen here before anything newer is read. A receiver that waits on
        // the channel is woken by it; one that waits for the socket, by the driver when it
        // delivers.
        if inner.in_channel || !inner.receiver_may_read() {
            if let Poll::Ready(delivered) = self.rx.poll_recv(cx) {
                return self.finish(inner, delivered);
            }
            inner.in_channel = false;
        }
        let mut no_reports = Vec::new();
        loop {
            if !inner.receiver_may_read() {
                drop(inner);
                self.hand_back();
                return self.wait_for_channel(cx);
            }
            if let Some(message) = inner.core.next_message(&mut no_reports) {
                return self.finish(inner, Some(Ok(message)));
            }
            if inner.core.conn().is_paused() {
                // Paused after the message this task was handed last: it has had its chance
                // to answer.
                if let Err(e) = inner.core.conn_mut().receive_data(&[]) {
                    return self.hand_over(inner, Handed::Fault(e), cx);
                }
                continue;
            }
            let wakes = {
                let mut wakers = shared.wakers();
                if wakers.armed {
                    // A read found nothing and nothing came since: wait for the socket
                    // without asking it again.
                    self.register(&mut wakers, cx);
                    return Poll::Pending;
                }
                wakers.wakes
            };
            match inner.poll_read_waiting(&mut Context::from_waker(&shared.read_waker)) {
                Poll::Pending => {
                    let mut wakers = shared.wakers();
                    if wakers.arm(wakes) {
                        self.register(&mut wakers, cx);
                        return Poll::Pending;
                    }
                    // The socket became readable meanwhile (and woke the driver): read again.
                }
                Poll::Ready(Ok(n)) if n > 0 => {
                    if let Err(e) = inner.take_read(n) {
                        return self.hand_over(inner, Handed::Fault(e), cx);
                    }
                    // The engine's answers (pongs, a close reply) go out now.
                    if (!inner.output_idle() || inner.core.state_changed())
                        && shared.write_now(&mut inner)
                    {
                        shared.wake_driver.notify_one();
                    }
                }
                Poll::Ready(read) => {
                    inner.return_input();
                    return self.hand_over(inner, Handed::Read(read), cx);
                }
            }
        }
    }

    /// Leaves this task's waker, under the lock held as `wakers`, for the socket's readiness.
    fn register(&mut self, wakers: &mut ReadWakers, cx: &Context<'_>) {
        match &wakers.receiver {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            _ => wakers.receiver = Some(cx.waker().clone()),
        }
        self.registered = true;
    }

    /// Takes this task's waker back from the socket's readiness; returns whether the socket
    /// is armed, and the readiness reports so far.
    fn unregister(&mut self) -> (bool, u64) {
        let mut wakers = self.shared.wakers();
        if std::mem::take(&mut self.registered) {
            wakers.receiver = None;
        }
        (wakers.armed, wakers.wakes)
    }

    /// Leaves `handed` for the driver task, which delivers what comes of it.
    fn hand_over(
        &mut self,
        mut inner: MutexGuard<'_, Inner>,
        handed: Handed,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Message, Error>>> {
        inner.handed = Some(handed);
        drop(inner);
        self.hand_back();
        self.shared.wake_driver.notify_one();
        self.wait_for_channel(cx)
    }

    /// Waits for what the driver task delivers (this task's waker left with the channel).
    fn wait_for_channel(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, Error>>> {
        let delivered = ready!(self.rx.poll_recv(cx));
        self.done = true;
        Poll::Ready(delivered)
    }

    /// Reading goes back to the driver task. Unless a read found the socket empty and nothing
    /// came since (`armed`: the socket's readiness will wake the driver now), the driver is
    /// woken to read: a readiness this task was woken for would be lost otherwise.
    fn hand_back(&mut self) {
        let armed = self.unregister().0;
        if !armed {
            self.shared.wake_driver.notify_one();
        }
    }

    /// Ends this `recv` with `result`, reading handed back to the driver task. A read that
    /// got input leaves the socket unwatched (its readiness reported, nobody waiting for the
    /// next), so unless a read found it empty since (`armed`), one more read into the room
    /// left in the input buffer — the system call the next `recv` would make, and that usually
    /// finds nothing — arms it for the driver; if that read gets input or cannot be made, or
    /// input is left to parse, or the driver has something to act on first (then it reads),
    /// the driver is woken to go on (answering pings) in case this task does not call `recv`
    /// again soon.
    fn finish(
        &mut self,
        mut inner: MutexGuard<'_, Inner>,
        result: Option<Result<Message, Error>>,
    ) -> Poll<Option<Result<Message, Error>>> {
        self.done = true;
        let shared = self.shared;
        let (armed, wakes) = self.unregister();
        let mut wake = inner.core.conn().buffered_input() > 0 || !inner.receiver_may_read();
        if !armed && !wake {
            wake = match inner.poll_read_spare(&mut Context::from_waker(&shared.read_waker)) {
                Some(Poll::Pending) => !shared.wakers().arm(wakes),
                Some(Poll::Ready(Ok(n))) if n > 0 => true,
                Some(Poll::Ready(read)) => {
                    inner.handed = Some(Handed::Read(read));
                    true
                }
                None => true,
            };
        }
        drop(inner);
        if wake {
            shared.wake_driver.notify_one();
        }
        Poll::Ready(result)
    }
}

impl Drop for ReadingRecv<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.hand_back();
        }
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
    let shared = Arc::new_cyclic(|weak| Shared {
        inner: Mutex::new(Inner {
            core,
            shared: VecDeque::new(),
            shared_len: 0,
            ended: false,
            senders: 1,
            stream: Some(Box::new(io)),
            out: Output::default(),
            write_error: None,
            senders_wait: false,
            reader: Reader {
                input: None,
                sizing: ReadSizing::default(),
                room: 0,
                own_buffer: false,
            },
            driver_holds: false,
            in_channel: false,
            handed: None,
        }),
        wake_driver: Notify::new(),
        drained: Notify::new(),
        driver_waker: Waker::from(Arc::new(WakeDriver(weak.clone()))),
        read_waker: Waker::from(Arc::new(WakeReader(weak.clone()))),
        read_wakers: Mutex::new(ReadWakers::default()),
    });
    let reads = settings.tap.is_none().then(|| shared.clone());
    let driver = Driver {
        shared: shared.clone(),
        messages: msg_tx,
        settings,
        reports: Vec::new(),
        arrived: Vec::new(),
        outbox: VecDeque::new(),
        holds: false,
        close_deadline: None,
        senders_gone: false,
    };
    tokio::spawn(driver.run());
    (Sender { shared }, Receiver { rx: msg_rx, reads })
}

struct Driver {
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
    /// `Inner::driver_holds` as last set: messages in `arrived` or `outbox`.
    holds: bool,
    close_deadline: Option<Instant>,
    senders_gone: bool,
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

/// Writes what is queued and flushes once all is written, and reads if `read` — all in one
/// poll, under the lock; ready as soon as any of them made progress. Reading and writing are
/// polled together, so a peer that does not read while it writes cannot stop us from reading
/// (two such peers would otherwise wait for each other forever once both socket buffers are
/// full).
fn poll_io(shared: &Shared, cx: &mut Context<'_>, read: bool) -> Poll<IoProgress> {
    let mut progress = false;
    let mut write_error = None;
    let mut inner = shared.lock();
    if let Some(e) = inner.write_error.take() {
        write_error = Some(e);
    } else if !inner.output_idle() {
        let unwritten = inner.backlog();
        match shared.poll_write(&mut inner, cx) {
            Poll::Ready(Ok(())) => progress = true,
            Poll::Ready(Err(e)) => write_error = Some(e),
            Poll::Pending => progress = inner.backlog() < unwritten,
        }
    }
    let mut read_result = None;
    // Whether to read is decided here, not when the poll began: a receiver's read meanwhile
    // may have paused the engine with input left to parse, or grown the output.
    let read = read && !inner.core.conn().is_paused() && inner.backlog() < READ_STALL;
    if read && write_error.is_none() {
        // A receiver that waits for the socket has found it empty since it last read, and is
        // woken when it is not: it reads what comes (written back before other connections'
        // messages are read, while the message is still in the cache).
        let wakes = {
            let wakers = shared.wakers();
            wakers.receiver.is_none().then_some(wakers.wakes)
        };
        if let Some(wakes) = wakes {
            match inner.poll_read(&mut Context::from_waker(&shared.read_waker)) {
                Poll::Ready(result) => read_result = Some(result),
                // Not armed if readable meanwhile: the readiness woke this task (no receiver
                // waits), which reads again.
                Poll::Pending => {
                    shared.wakers().arm(wakes);
                }
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

impl Driver {
    async fn run(mut self) {
        let shared = &*self.shared;
        std::future::poll_fn(|cx| {
            shared.wakers().driver = Some(cx.waker().clone());
            Poll::Ready(())
        })
        .await;
        let result = self.drive().await;
        self.shared.lock().return_input();
        // A fault found before the connection was handed over is its end's error.
        let result = match (result, self.shared.lock().core.take_unreported_fault()) {
            (Ok(()), Some(fault)) => Err(fault),
            (result, _) => result,
        };
        // Ended before the shutdown: a send from now on fails as closed instead of writing
        // after it (or leaving its waker with a stream nobody polls for it any more); a
        // receiver waits for the channel from now on.
        self.shared.lock().ended = true;
        self.shared.wake_receiver();
        self.shared.drained.notify_waiters();
        let _ = self.shutdown().await;
        if let (Err(e), Some(_)) = (&result, &self.settings.tap) {
            self.reports.push(TapKind::Error(e.to_string()));
        }
        {
            let mut inner = self.shared.lock();
            inner.core.finish(&mut self.reports, &mut self.arrived);
            inner.stream = None;
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
            // One lock per turn: take the events and the output, and read the flags.
            let (close_transport, idle, closing, paused, read, write_error, handed) = {
                let mut guard = self.shared.lock();
                let inner = &mut *guard;
                take_messages(inner, &mut self.reports, &mut self.arrived, &mut self.holds);
                inner.core.report_state(&mut self.reports);
                let paused = inner.core.conn().is_paused();
                let read = !paused && self.outbox.is_empty() && inner.backlog() < READ_STALL;
                let conn = inner.core.conn();
                (
                    conn.should_close_transport(),
                    inner.output_idle(),
                    inner.core.closing(),
                    paused,
                    read,
                    inner.write_error.take(),
                    inner.handed.take(),
                )
            };
            if let Some(e) = write_error {
                return Err(crate::tls::stream_error(e));
            }
            self.hand_on().await;
            match handed {
                Some(Handed::Read(read)) => {
                    if self.after_read(read).await? {
                        return Ok(());
                    }
                    continue;
                }
                Some(Handed::Fault(e)) => {
                    self.after_input(Err(e)).await?;
                    continue;
                }
                None => {}
            }
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
            let shared = &*self.shared;
            let woken = tokio::select! {
                biased;
                progress = std::future::poll_fn(|cx| poll_io(shared, cx, read)) => Woken::Io(progress),
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
                    if let Some(read) = progress.read
                        && self.after_read(read).await?
                    {
                        return Ok(());
                    }
                }
                Woken::Delivered => self.release_held(),
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

    /// Acts on what a read (this task's or a receiver's) got: bytes are parsed and their
    /// messages handed on; the end of the stream, or a reset after the close handshake, ends
    /// the connection (`true`); another read error fails it.
    async fn after_read(&mut self, read: std::io::Result<usize>) -> Result<bool, Error> {
        match read {
            Ok(0) => {
                self.shared.lock().return_input();
                self.end_of_stream().await?;
                Ok(true)
            }
            Ok(n) => {
                let result = self.shared.lock().take_read(n);
                self.after_input(result).await?;
                Ok(false)
            }
            // A reset after the close handshake completed loses nothing.
            Err(_) if self.shared.lock().core.closed() => {
                self.shared.lock().return_input();
                self.end_of_stream().await?;
                Ok(true)
            }
            Err(e) => Err(crate::tls::stream_error(e)),
        }
    }

    /// Once every message this task took is in the channel, a receiver may read again; one
    /// that waits for the socket is woken to look in the channel first.
    fn release_held(&mut self) {
        if self.holds && self.arrived.is_empty() && self.outbox.is_empty() {
            self.holds = false;
            {
                let mut inner = self.shared.lock();
                inner.driver_holds = false;
                inner.in_channel = true;
            }
            self.shared.wake_receiver();
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
        std::future::poll_fn(|cx| match shared.lock().stream.as_mut() {
            Some(stream) => Pin::new(stream).poll_shutdown(cx),
            None => Poll::Ready(Ok(())),
        })
        .await
    }

    /// Takes the engine's messages and reports and hands them on: reports to the tap,
    /// messages to the receiver (or the outbox, when its channel is full).
    async fn dispatch_events(&mut self) {
        take_messages(
            &mut self.shared.lock(),
            &mut self.reports,
            &mut self.arrived,
            &mut self.holds,
        );
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
            self.release_held();
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

impl Drop for Driver {
    /// A driver dropped before it ended (its runtime shut down, or it panicked) ends the
    /// connection for the senders too: sends fail as closed, waiting ones included, and the
    /// write side of the stream, which they would otherwise keep open, is let go of.
    fn drop(&mut self) {
        {
            let mut inner = self.shared.lock();
            inner.ended = true;
            inner.stream = None;
        }
        self.shared.wakers().driver = None;
        self.shared.wake_receiver();
        self.shared.drained.notify_waiters();
    }
}

/// Takes the engine's messages into `arrived` (and their reports into `reports`) under the
/// lock held as `inner`; while the driver holds any (`holds`), a receiver does not read past
/// them.
fn take_messages(
    inner: &mut Inner,
    reports: &mut Vec<TapKind>,
    arrived: &mut Vec<Message>,
    holds: &mut bool,
) {
    while let Some(message) = inner.core.next_message(reports) {
        arrived.push(message);
    }
    if !arrived.is_empty() && !*holds {
        *holds = true;
        inner.driver_holds = true;
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
