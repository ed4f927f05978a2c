//! How much to read at a time: the one rule the three readers (the
//! [`WsStream`](crate::WsStream), the driver task, the split read half) use to size their
//! input buffer, so memory follows the traffic.
//!
//! A connection with no input buffered reads into a small buffer ([`IDLE_ROOM`]; the readers
//! that let go of their buffer while they wait ask for [`READ_ROOM`] instead); a read that
//! fills its room asks for [`READ_ROOM`] next, and a frame being
//! read gets room for all of it (the engine reserves that, so one read can take a whole large
//! message). An empty input buffer grown by a large message is let go — the message handed to
//! the application keeps its own bytes — at once past [`SHRINK_NOW`], and past
//! [`SHRINK_ABOVE`] once the traffic is small again, so a connection does not hold a large
//! message's worth of memory once large messages have passed. A [`WsStream`](crate::WsStream)
//! whose read finds nothing lets go of its empty buffers altogether ([`ReadSizing::waiting`]):
//! an idle connection holds no buffer. They go to a few spares its thread keeps (two sets of
//! input block, output buffer and event queue), which the next connection to read after a wait
//! takes: connections that each wait between small messages pass the same blocks on instead
//! of allocating and freeing three buffers per message (callgrind, `echo-bench` server at
//! 16 × 16 B: 4,805 user-space instructions per echo → 3,482, no allocation left on the
//! path; the idle cost stays 1.92 KiB per connection, the spares being the thread's, not the
//! connection's).
//!
//! A read that begins a message — nothing buffered — takes at most [`READ_ROOM`] bytes even
//! when the buffer large messages left (over [`LARGE_FIRST_READ`]) could take a whole one;
//! the frame's header then sizes the next read. The driver and the split half do the same
//! (they begin each message in a [`READ_ROOM`] block of their own). One read of a whole
//! 1 MiB message was one system call fewer but slower: in the slow runs the sender's
//! congestion control (BBR, this machine's default, with no `fq` qdisc) held a bandwidth
//! estimate of 55–105 Gbit/s instead of 150–175, paced its sends and pushed them through
//! `ksoftirqd` (12.5 % of the core's samples, 0.03 % beside fastwebsockets) — most likely
//! because the kernel acknowledges the data only once that read has copied all of it. On
//! the echo server at 1 × 1 MiB, 8 runs of 1.5 s each: 1,634–4,808 messages (median
//! ≈ 2,900; fastwebsockets 3,784–4,921) before, 2,911–5,114 (median ≈ 4,400) with the
//! capped first read; with cubic the gap was small already. With a buffer of at most
//! [`LARGE_FIRST_READ`] one read still takes a whole message: capping every first read cost
//! 128 × 64 KiB a system call per message (BENCHMARKS.md, "The first read of a message").

use std::cell::RefCell;

use ws_proto::bytes::BytesMut;
use ws_proto::{Connection, IdleBuffers};

use crate::stream::Output;

/// Room reserved in the engine's input buffer before a read while traffic flows.
pub(crate) const READ_ROOM: usize = 16 * 1024;

/// A [`WsStream`](crate::WsStream) whose empty input buffer has more room than this reads
/// at most [`READ_ROOM`] to begin a message (see the [module notes](self)).
pub(crate) const LARGE_FIRST_READ: usize = 256 * 1024;

/// Room asked for when no input is buffered: what an idle connection's read buffer costs.
const IDLE_ROOM: usize = 512;

/// An empty input buffer with more capacity than this (left by a large message) is let go
/// once the traffic is small again: after [`QUIET_READS`] reads that each took less than
/// [`READ_ROOM`]. Letting it go after every large message cost a stream of 1 MiB messages a
/// third of its throughput (echo-bench 1×1 MiB: 0.65× fastwebsockets, 1.12× without), all
/// of it the allocator's page faults for a fresh megabyte each time.
const SHRINK_ABOVE: usize = 256 * 1024;

/// An empty input buffer with more capacity than this is let go at once: a message this
/// large is rare enough that its memory is worth more than the next one's allocation.
const SHRINK_NOW: usize = 4 << 20;

/// Small reads in a row after which a large empty input buffer is let go.
const QUIET_READS: u8 = 4;

/// How many spare buffer sets (and, apart, spare read blocks) a thread keeps (see
/// [`ReadSizing::waiting`] and [`read_block`]).
const SPARE_BLOCKS: usize = 2;

/// A spare buffer larger than this is let go instead of kept.
const SPARE_LIMIT: usize = 2 * READ_ROOM;

thread_local! {
    /// The buffer sets of connections that went waiting, for the next one that reads.
    static SPARE: RefCell<Vec<IdleBuffers>> = const { RefCell::new(Vec::new()) };
    /// Read buffers of [`READ_ROOM`] let go of by readers of their own (the driver task, the
    /// split read half), for the next one ([`read_block`], [`recycle_block`]).
    static SPARE_READS: RefCell<Vec<BytesMut>> = const { RefCell::new(Vec::new()) };
}

/// What the last reads were like, which decides the next one's room.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct ReadSizing {
    /// The last read filled the room asked for: more is likely waiting.
    filled: bool,
    /// Reads in a row that took less than [`READ_ROOM`] (saturating).
    quiet_reads: u8,
}

impl ReadSizing {
    /// The room to ask of `conn`'s input buffer for the next read; lets go of a large empty
    /// buffer first when the traffic says so.
    pub fn room(&self, conn: &mut Connection) -> usize {
        if conn.buffered_input() != 0 {
            return READ_ROOM;
        }
        let input = conn.input_buffer(0);
        let capacity = input.capacity();
        let quiet = self.quiet_reads >= QUIET_READS;
        if capacity > SHRINK_NOW || (capacity > SHRINK_ABOVE && quiet) {
            *input = BytesMut::new();
        }
        if self.filled { READ_ROOM } else { IDLE_ROOM }
    }

    /// A read found nothing: the connection waits for its peer. Its empty buffers are moved
    /// out ([`Connection::take_idle_buffers`]), so that an idle connection holds none — unless
    /// large messages are flowing (the last read took [`READ_ROOM`] or more), whose next one
    /// reuses this one's input buffer once the application lets go of it. The buffers go to
    /// the thread's spares (see the [module notes](self)), for the next connection that
    /// reads after a wait ([`room_between_waits`](Self::room_between_waits)).
    pub fn waiting(&self, conn: &mut Connection, out: &mut Output) {
        let large_flowing = self.filled && self.quiet_reads == 0;
        if !large_flowing {
            keep_spare(conn, out.take_idle_buffer());
        }
    }

    /// [`room`](Self::room) for a [`WsStream`](crate::WsStream), which holds no buffer while
    /// it waits ([`waiting`](Self::waiting)): a buffer it takes after a wait is let go again
    /// before the next one, so it may as well take [`READ_ROOM`] and read a message of up to
    /// 16 KiB in one call (with [`IDLE_ROOM`], a 1 KiB message took two reads). A connection
    /// that holds no input buffer takes the thread's spare buffers first, if any.
    pub fn room_between_waits(&self, conn: &mut Connection) -> usize {
        if conn.buffered_input() == 0 && conn.input_buffer(0).capacity() == 0 {
            take_spare(conn);
        }
        self.room(conn).max(READ_ROOM)
    }

    /// The buffer to read `room` bytes into, for a reader that reads ahead while the
    /// application may still hold the last message (the driver task, the split read half),
    /// and whether it is a buffer of the reader's own (`true`) or the engine's.
    ///
    /// The engine's empty buffer shares its block with that message, so reserving room in it
    /// would take a new block as large as the old one (up to 64 KiB) — for a stream of large
    /// messages, fresh memory and its page faults on every message. With no input waiting
    /// and no large frame under way, the read goes into a buffer of the reader's own instead,
    /// of `own_room` bytes (the driver and the split read half, which let go of it while
    /// they wait, ask for [`READ_ROOM`]), and
    /// [`Connection::return_input_buffer`] moves its bytes into the engine's block once the
    /// message has let go of it (`echo-bench`, driven server, page
    /// faults in 2 s at 128 × 64 KiB 146,845 → 2,848 with the written payload let go too;
    /// see BENCHMARKS.md).
    pub fn take_buffer(
        &self,
        conn: &mut Connection,
        room: usize,
        own_room: usize,
    ) -> (BytesMut, bool) {
        let wanted = conn.input_room(room);
        if conn.buffered_input() == 0 && wanted <= READ_ROOM {
            (read_block(own_room.max(wanted)), true)
        } else {
            (conn.take_input_buffer(room), false)
        }
    }

    /// Records a read of `n` bytes into `room`.
    pub fn record(&mut self, n: usize, room: usize) {
        self.filled = n >= room;
        self.quiet_reads = match n < READ_ROOM {
            true => self.quiet_reads.saturating_add(1),
            false => 0,
        };
    }
}

/// Moves `conn`'s empty buffers (and the output buffer its writer took from it, which the
/// engine's own empty one was swapped for) to this thread's spares, unless [`SPARE_BLOCKS`] sets are
/// kept already. The input block is kept only if the application has let go of every
/// message in it (so all of it can be read into again) and it is not large; an output
/// buffer grown large by a long text message is let go too.
fn keep_spare(conn: &mut Connection, taken_output: BytesMut) {
    let mut idle = conn.take_idle_buffers();
    if idle.output.capacity() == 0 {
        idle.output = taken_output;
    }
    if !reusable(&mut idle.input) {
        idle.input = BytesMut::new();
    }
    if idle.output.capacity() > SPARE_LIMIT {
        idle.output = BytesMut::new();
    }
    SPARE.with_borrow_mut(|spare| {
        if spare.len() < SPARE_BLOCKS {
            spare.push(idle);
        }
    });
}

/// Gives `conn`, which holds no input buffer, one of this thread's spare sets if there is one.
fn take_spare(conn: &mut Connection) {
    if let Some(idle) = SPARE.with_borrow_mut(Vec::pop) {
        conn.reuse_buffers(idle);
    }
}

/// A buffer to read `room` bytes into: one of this thread's spare read blocks if `room` is
/// [`READ_ROOM`] or more and one is large enough, else a new one. The driver task takes one
/// for each read after a wait; without the spares that was an allocation and a free of
/// 16 KiB per message.
pub(crate) fn read_block(room: usize) -> BytesMut {
    if room >= READ_ROOM
        && let Some(block) =
            SPARE_READS.with_borrow_mut(|spare| match spare.last()?.capacity() >= room {
                true => spare.pop(),
                false => None,
            })
    {
        return block;
    }
    BytesMut::with_capacity(room)
}

/// Keeps `block`, a reader's own buffer it is done with, for [`read_block`]: if nothing else
/// shares it, it is not large, and fewer than [`SPARE_BLOCKS`] are kept; else drops it.
pub(crate) fn recycle_block(mut block: BytesMut) {
    block.clear();
    if block.capacity() == 0 || !reusable(&mut block) {
        return;
    }
    SPARE_READS.with_borrow_mut(|spare| {
        if spare.len() < SPARE_BLOCKS {
            spare.push(block);
        }
    });
}

/// Whether `block` (empty) is worth keeping as a spare: all of [`READ_ROOM`] can be read into
/// it — got back from the part already parsed, which needs that nothing else shares it any
/// more — and it is not large.
fn reusable(block: &mut BytesMut) -> bool {
    (block.capacity() >= READ_ROOM || block.try_reclaim(READ_ROOM))
        && block.capacity() <= SPARE_LIMIT
}
