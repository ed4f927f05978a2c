//! The log of one connection: every frame both ways and the lifecycle events, the newest N
//! kept, with a filtered view and a message view that both update incrementally.
//!
//! - [`LogStore`] keeps at most [`capacity`](LogStore::capacity) entries and at most
//!   [`max_payload`](LogStore::max_payload) bytes of each payload (the full length stays in the
//!   frame header). Every entry has a global [`index`](Entry::index) that keeps counting across
//!   eviction and [`clear`](LogStore::clear), so views can remember entries by index and drop
//!   evicted ones cheaply.
//! - [`Filter`] is what the user typed and toggled (serde, so it can be persisted);
//!   [`CompiledFilter`] is the checked form; [`FilteredView`] is the list of matching
//!   positions, extended by scanning only what was pushed since its last update.
//! - [`MessageView`] groups the fragments of each data message into a [`MessageRow`].
//!
//! Nothing here reads a clock or does I/O: the caller passes the times, so the store is
//! deterministic given its inputs.
//!
//! # Memory
//!
//! The store keeps one fixed-size record per entry, a private `Slot` of 56 bytes on 64-bit
//! targets (checked by a test): times as nanoseconds, the header packed as on the wire (first
//! byte, mask key, length), the message number, and where the kept payload is. The public
//! [`Entry`] is made from a slot when asked for, borrowing its payload from the store, so a
//! view pays only for the rows it looks at. A `message` event (one per incoming message, the
//! most common event by far) is a slot with no heap data; the rare other events are kept
//! aside in order.
//!
//! A kept payload is **always copied** out of the frame, into 64 KiB arena chunks filled in
//! push order (payloads above 8 KiB get a chunk of their own):
//!
//! - Incoming payloads are `Bytes` slices of the engine's read buffer. A slice keeps the whole
//!   allocation alive, so keeping one 10-byte slice per read (a small frame read together with
//!   a large one, say) would pin 64 KiB or more per entry: 1,000,000 such entries would hold
//!   gigabytes that [`approx_memory`](LogStore::approx_memory) could not see. Truncated
//!   payloads have the same problem with their original buffer.
//! - Copying into an arena costs a `memcpy` per frame, no allocation, and no per-allocation
//!   overhead: a small frame costs its slot plus its payload bytes. Eviction is oldest first
//!   and the arena is filled oldest first, so a chunk is freed as soon as its last entry is
//!   evicted; at most one partly used chunk is wasted at each end of the log.
//!
//! 1,000,000 small incoming text frames, each with its `message` event, cost 2 × 56 bytes
//! plus their payloads (`cargo bench -p ws-inspector --bench inspector` measures it).

use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt;
use std::mem;
use std::time::{Duration, SystemTime};

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};
use ws_proto::{CloseCode, Direction, Frame, FrameHeader, OpCode};
use ws_tokio::tap::Initiator;

/// The default number of entries a [`LogStore`] keeps: 1,000,000 incoming messages with their
/// `message` events.
pub const DEFAULT_CAPACITY: usize = 2_000_000;

/// The default number of payload bytes kept per frame: the engine's default message size
/// limit, so that a frame or message is kept whole.
pub const DEFAULT_MAX_PAYLOAD: usize = 16 << 20;

/// The default budget for large payloads (those above 8 KiB, and the plain content of
/// compressed messages) that the whole log keeps: past it, the oldest large payloads are
/// trimmed to their first [`TRIMMED_KEEP`] bytes. A million small frames cost far less than
/// this; a stream of 1 MiB messages would otherwise grow the log by a gigabyte a thousand
/// messages.
pub const DEFAULT_PAYLOAD_BUDGET: usize = 256 << 20;

/// What is kept of a large payload trimmed to stay within the budget: enough for a preview,
/// a filter match on its start, and a look at its head.
pub const TRIMMED_KEEP: usize = 4096;

/// The size of one arena chunk that small payloads are copied into (offsets in it fit a
/// `u16`).
const ARENA_CHUNK: usize = 64 * 1024;

/// Payloads larger than this get a chunk of their own instead of a place in the shared
/// chunks, so that a chunk never wastes more than this at its end.
const ARENA_MAX_ITEM: usize = 8 * 1024;

/// The smallest allocation of entries, so that a short log does not reallocate at every push.
const MIN_ENTRIES_ALLOCATION: usize = 64;

// ---------------------------------------------------------------------------------------------
// The store
// ---------------------------------------------------------------------------------------------

/// A bounded log of frames and lifecycle events, oldest first.
///
/// Positions (`0..len()`) address the kept entries, 0 being the oldest; global indices
/// ([`Entry::index`]) number every entry ever pushed, from 0. The entry at position `p` has the
/// global index `first_index() + p`.
pub struct LogStore {
    entries: VecDeque<Slot>,
    capacity: usize,
    max_payload: usize,
    /// Global index of `entries[0]` (or of the next entry, when empty).
    first_index: u64,
    total_pushed: u64,
    evicted: u64,
    stats: Stats,
    /// Message numbering, per direction (incoming, outgoing).
    messages: [MessageState; 2],
    arena: Arena,
    /// The events other than `message`, oldest first; `events[0]` has the number
    /// `first_event`.
    events: VecDeque<LifecycleEvent>,
    first_event: u64,
    /// Heap bytes owned by the kept events.
    event_bytes: usize,
    /// Kept frames, and the payload bytes they keep.
    frames_kept: usize,
    payload_bytes: usize,
    /// The most bytes of large payloads kept; see [`DEFAULT_PAYLOAD_BUDGET`].
    payload_budget: usize,
    /// The large payloads still whole, oldest first, with the global index of their frame
    /// (a plain message's last frame): what the budget trims.
    large: VecDeque<(u64, LargePayload)>,
    /// The bytes they keep.
    large_bytes: usize,
    /// The index and message number of the last frame pushed, per direction.
    last_frame: [Option<(u64, u64)>; 2],
    /// The plain content of compressed messages, per direction, oldest first.
    plain: [VecDeque<PlainMessage>; 2],
    /// The bytes they keep.
    plain_bytes: usize,
}

/// A payload that counts against the budget for large payloads.
#[derive(Clone, Copy, Debug)]
enum LargePayload {
    /// A frame's payload in a chunk of its own, `len` bytes.
    Frame { chunk: u32, len: usize },
    /// A plain message above [`TRIMMED_KEEP`] bytes.
    Plain { direction: usize, message: u64 },
}

/// The plain (inflated) content of a compressed message, kept beside its frames (which
/// hold the deflated bytes as on the wire).
#[derive(Debug)]
struct PlainMessage {
    /// The global index of the message's last frame.
    index: u64,
    /// The message number (as in [`FrameEntry::message`]).
    message: u64,
    /// The content, or its first [`TRIMMED_KEEP`] bytes once trimmed.
    data: Box<[u8]>,
    /// Its full length.
    len: usize,
}

/// Counts only: a million entries do not belong in a debug print.
impl fmt::Debug for LogStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogStore")
            .field("len", &self.entries.len())
            .field("capacity", &self.capacity)
            .field("max_payload", &self.max_payload)
            .field("first_index", &self.first_index)
            .field("total_pushed", &self.total_pushed)
            .field("evicted", &self.evicted)
            .field("stats", &self.stats)
            .field("approx_memory", &self.approx_memory())
            .finish_non_exhaustive()
    }
}

impl Default for LogStore {
    /// 2,000,000 entries, 4096 payload bytes kept per frame.
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY, DEFAULT_MAX_PAYLOAD)
    }
}

impl LogStore {
    /// A store keeping the newest `capacity` entries (at least 1) and the first `max_payload`
    /// bytes of each payload (at most 4 GiB). Memory for entries is allocated as the log
    /// grows, not upfront.
    pub fn new(capacity: usize, max_payload: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            capacity: capacity.max(1),
            max_payload: max_payload.min(u32::MAX as usize),
            first_index: 0,
            total_pushed: 0,
            evicted: 0,
            stats: Stats::default(),
            messages: [MessageState::default(); 2],
            arena: Arena::default(),
            events: VecDeque::new(),
            first_event: 0,
            event_bytes: 0,
            frames_kept: 0,
            payload_bytes: 0,
            payload_budget: DEFAULT_PAYLOAD_BUDGET,
            large: VecDeque::new(),
            large_bytes: 0,
            last_frame: [None; 2],
            plain: [VecDeque::new(), VecDeque::new()],
            plain_bytes: 0,
        }
    }

    /// Sets the budget for large payloads (see [`DEFAULT_PAYLOAD_BUDGET`]), trimming the
    /// oldest at once if they no longer fit.
    pub fn set_payload_budget(&mut self, bytes: usize) {
        self.payload_budget = bytes;
        self.trim_to_budget();
    }

    /// The budget for large payloads.
    pub fn payload_budget(&self) -> usize {
        self.payload_budget
    }

    // --- input --------------------------------------------------------------------------------

    /// Logs a frame, sent or received: counts it in [`stats`](Self::stats), classifies it as
    /// a whole message, a fragment or a control frame, and keeps a copy of at most
    /// [`max_payload`](Self::max_payload) bytes of its payload. The oldest entry is evicted if
    /// the store is full.
    pub fn push_frame(&mut self, time: SystemTime, elapsed: Duration, frame: Frame) {
        self.push_frame_ref(time, elapsed, &frame);
    }

    /// [`push_frame`](Self::push_frame) for a borrowed frame.
    pub fn push_frame_ref(&mut self, time: SystemTime, elapsed: Duration, frame: &Frame) {
        let header = &frame.header;
        let direction = frame.direction;
        match direction {
            Direction::Incoming => {
                self.stats.frames_in += 1;
                self.stats.bytes_in += header.payload_len;
            }
            Direction::Outgoing => {
                self.stats.frames_out += 1;
                self.stats.bytes_out += header.payload_len;
            }
        }
        let (message, fragment) = self.messages[slot(direction)].classify(header);
        self.make_room();
        let index = self.total_pushed;
        let kept = &frame.payload[..frame.payload.len().min(self.max_payload)];
        let (chunk, offset) = self.arena.copy(kept, index);
        self.frames_kept += 1;
        self.payload_bytes += kept.len();
        self.last_frame[slot(direction)] = Some((index, message));
        let large = kept.len() > ARENA_MAX_ITEM;
        if large {
            let len = kept.len();
            self.large
                .push_back((index, LargePayload::Frame { chunk, len }));
            self.large_bytes += len;
        }
        let mut flags = fragment.bits() | direction_bit(direction);
        if header.mask.is_some() {
            flags |= FLAG_MASKED;
        }
        self.push(Slot {
            time_ns: wall_nanos(time),
            elapsed_ns: duration_nanos(elapsed),
            len: header.payload_len,
            id: message,
            chunk,
            kept: kept.len() as u32,
            plain: frame.decompressed_len.map_or(NO_PLAIN_LEN, |n| {
                u32::try_from(n).unwrap_or(NO_PLAIN_LEN - 1)
            }),
            mask: header.mask.unwrap_or_default(),
            offset,
            head: u8::from(header.fin) << 7
                | u8::from(header.rsv1) << 6
                | u8::from(header.rsv2) << 5
                | u8::from(header.rsv3) << 4
                | header.opcode.bits(),
            flags,
        });
        if large {
            self.trim_to_budget();
        }
    }

    /// Keeps the plain (inflated) content of the compressed message whose last frame was
    /// the last one pushed in `direction` (the frames hold the deflated bytes). At most
    /// [`max_payload`](Self::max_payload) bytes of it are kept, within the budget for large
    /// payloads.
    pub fn attach_plain(&mut self, direction: Direction, data: impl AsRef<[u8]>) {
        let Some((index, message)) = self.last_frame[slot(direction)] else {
            return;
        };
        if index < self.first_index {
            return;
        }
        let data = data.as_ref();
        let kept: Box<[u8]> = data[..data.len().min(self.max_payload)].into();
        let kept_len = kept.len();
        self.plain_bytes += kept_len;
        self.plain[slot(direction)].push_back(PlainMessage {
            index,
            message,
            data: kept,
            len: data.len(),
        });
        if kept_len > TRIMMED_KEEP {
            let direction = slot(direction);
            self.large
                .push_back((index, LargePayload::Plain { direction, message }));
            self.large_bytes += kept_len;
            self.trim_to_budget();
        }
    }

    /// The plain content of compressed message `message` sent or received, if it is kept:
    /// (the kept bytes, the full length).
    pub fn plain_message(&self, direction: Direction, message: u64) -> Option<(&[u8], usize)> {
        let plain = &self.plain[slot(direction)];
        // Message numbers grow with the index, so the deque is sorted by them too.
        let i = plain.binary_search_by_key(&message, |p| p.message).ok()?;
        plain.get(i).map(|p| (&*p.data, p.len))
    }

    /// Trims the oldest large payloads to [`TRIMMED_KEEP`] bytes until they fit the budget
    /// (the newest always stays whole).
    fn trim_to_budget(&mut self) {
        while self.large_bytes > self.payload_budget && self.large.len() > 1 {
            let Some((index, payload)) = self.large.pop_front() else {
                break;
            };
            match payload {
                LargePayload::Frame { chunk, len } => {
                    self.large_bytes -= len;
                    let slot = self
                        .position_of(index)
                        .and_then(|p| self.entries.get_mut(p));
                    if let Some(slot) = slot {
                        let before = slot.kept as usize;
                        let after = before.min(TRIMMED_KEEP);
                        self.arena.trim(chunk, after);
                        slot.kept = after as u32;
                        slot.flags |= FLAG_TRIMMED;
                        self.payload_bytes -= before - after;
                    }
                }
                LargePayload::Plain { direction, message } => {
                    let plain = &mut self.plain[direction];
                    if let Ok(i) = plain.binary_search_by_key(&message, |p| p.message)
                        && let Some(p) = plain.get_mut(i)
                    {
                        let before = p.data.len();
                        let after = before.min(TRIMMED_KEEP);
                        p.data = p.data[..after].into();
                        self.large_bytes -= before;
                        self.plain_bytes -= before - after;
                    }
                }
            }
        }
    }

    /// Logs a lifecycle event. The oldest entry is evicted if the store is full.
    pub fn push_event(&mut self, time: SystemTime, elapsed: Duration, event: LifecycleEvent) {
        self.make_room();
        let (flags, len, id) = match event {
            LifecycleEvent::Message {
                direction,
                text,
                len,
            } => {
                let text = if text { FLAG_TEXT } else { 0 };
                (KIND_MESSAGE | direction_bit(direction) | text, len, 0)
            }
            event => {
                self.event_bytes += event.heap_size();
                let id = self.first_event + self.events.len() as u64;
                self.events.push_back(event);
                (KIND_EVENT, 0, id)
            }
        };
        self.push(Slot {
            time_ns: wall_nanos(time),
            elapsed_ns: duration_nanos(elapsed),
            len,
            id,
            chunk: 0,
            kept: 0,
            plain: NO_PLAIN_LEN,
            mask: [0; 4],
            offset: 0,
            head: 0,
            flags,
        });
    }

    /// Drops every kept entry and frees their memory. Global indices keep counting (the next
    /// entry does not reuse an index), [`stats`](Self::stats) are kept (they describe the
    /// connection, not the log), cleared entries are not counted as
    /// [`evicted`](Self::evicted), and a message in progress stays in progress, so its next
    /// fragments are still classified correctly.
    pub fn clear(&mut self) {
        self.entries = VecDeque::new();
        self.first_index = self.total_pushed;
        self.arena = Arena {
            first_chunk: self.arena.first_chunk + self.arena.chunks.len() as u32,
            ..Arena::default()
        };
        self.first_event += self.events.len() as u64;
        self.events = VecDeque::new();
        self.event_bytes = 0;
        self.frames_kept = 0;
        self.payload_bytes = 0;
        self.large = VecDeque::new();
        self.large_bytes = 0;
        self.plain = [VecDeque::new(), VecDeque::new()];
        self.plain_bytes = 0;
    }

    /// Changes the capacity (at least 1), evicting the oldest entries if there are more, and
    /// releasing memory the log no longer needs.
    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity.max(1);
        while self.entries.len() > self.capacity {
            self.evict_oldest();
        }
        if self.entries.capacity() > self.capacity {
            self.entries.shrink_to(self.capacity);
        }
    }

    // --- queries ------------------------------------------------------------------------------

    /// The number of kept entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no entry is kept.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The kept entry at `position` (0 = oldest kept).
    pub fn get(&self, position: usize) -> Option<Entry<'_>> {
        let slot = self.entries.get(position)?;
        Some(self.entry(self.first_index + position as u64, slot))
    }

    /// The kept entry with the global index `index`, if it is still kept.
    pub fn by_index(&self, index: u64) -> Option<Entry<'_>> {
        self.position_of(index).and_then(|p| self.get(p))
    }

    /// The position of the entry with the global index `index`, if it is still kept.
    pub fn position_of(&self, index: u64) -> Option<usize> {
        let offset = index.checked_sub(self.first_index)?;
        let position = usize::try_from(offset).ok()?;
        (position < self.entries.len()).then_some(position)
    }

    /// The kept entries, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = Entry<'_>> + ExactSizeIterator {
        self.iter_from(0)
    }

    /// The kept entries from `position` on, oldest first.
    pub fn iter_from(
        &self,
        position: usize,
    ) -> impl DoubleEndedIterator<Item = Entry<'_>> + ExactSizeIterator {
        let start = position.min(self.entries.len());
        let first = self.first_index + start as u64;
        self.entries
            .range(start..)
            .enumerate()
            .map(move |(i, slot)| self.entry(first + i as u64, slot))
    }

    /// The global index of the entry at position 0 (the index the next entry gets, when the
    /// store is empty).
    pub fn first_index(&self) -> u64 {
        self.first_index
    }

    /// Entries pushed since the store was created, cleared and evicted ones included; also
    /// the global index the next entry gets.
    pub fn total_pushed(&self) -> u64 {
        self.total_pushed
    }

    /// Entries dropped to stay within the capacity (entries dropped by
    /// [`clear`](Self::clear) are not counted).
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// The most entries kept.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The most payload bytes kept per frame.
    pub fn max_payload(&self) -> usize {
        self.max_payload
    }

    /// Frame and byte counts of every frame ever pushed; not reset by eviction or
    /// [`clear`](Self::clear).
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The number of kept frames (the other entries are events).
    pub fn frames_kept(&self) -> usize {
        self.frames_kept
    }

    /// The payload bytes the kept frames keep (at most [`max_payload`](Self::max_payload)
    /// each).
    pub fn payload_bytes(&self) -> usize {
        self.payload_bytes
    }

    /// An estimate of the heap memory the store holds, in bytes: the entry slots (allocated,
    /// not just used), the arena chunks still referenced (allocated size) and the events kept
    /// aside with their strings.
    pub fn approx_memory(&self) -> usize {
        mem::size_of::<Self>()
            + self.entries.capacity() * mem::size_of::<Slot>()
            + self.arena.bytes
            + self.arena.chunks.capacity() * mem::size_of::<Vec<u8>>()
            + self.events.capacity() * mem::size_of::<LifecycleEvent>()
            + self.event_bytes
            + self.large.capacity() * mem::size_of::<(u64, LargePayload)>()
            + self
                .plain
                .iter()
                .map(|p| p.capacity() * mem::size_of::<PlainMessage>())
                .sum::<usize>()
            + self.plain_bytes
    }

    // --- internals ----------------------------------------------------------------------------

    /// The public form of a slot.
    fn entry<'a>(&'a self, index: u64, slot: &Slot) -> Entry<'a> {
        let item = match slot.flags & KIND_MASK {
            KIND_MESSAGE => Item::Event(Cow::Owned(LifecycleEvent::Message {
                direction: slot.direction(),
                text: slot.flags & FLAG_TEXT != 0,
                len: slot.len,
            })),
            KIND_EVENT => {
                let event = slot
                    .id
                    .checked_sub(self.first_event)
                    .and_then(|i| self.events.get(usize::try_from(i).ok()?));
                match event {
                    Some(event) => Item::Event(Cow::Borrowed(event)),
                    // Unreachable: events are evicted with their slots.
                    None => Item::Event(Cow::Owned(LifecycleEvent::Error(
                        "(event no longer kept)".to_owned(),
                    ))),
                }
            }
            fragment => Item::Frame(FrameEntry {
                direction: slot.direction(),
                header: FrameHeader {
                    fin: slot.head & 0x80 != 0,
                    rsv1: slot.head & 0x40 != 0,
                    rsv2: slot.head & 0x20 != 0,
                    rsv3: slot.head & 0x10 != 0,
                    opcode: OpCode::from_bits(slot.head & 0x0F),
                    mask: (slot.flags & FLAG_MASKED != 0).then_some(slot.mask),
                    payload_len: slot.len,
                },
                payload: self.arena.get(slot.chunk, slot.offset, slot.kept),
                decompressed_len: (slot.plain != NO_PLAIN_LEN).then_some(slot.plain as usize),
                plain: match slot.plain {
                    NO_PLAIN_LEN => None,
                    _ => self.plain_message(slot.direction(), slot.id),
                },
                trimmed: slot.flags & FLAG_TRIMMED != 0,
                message: slot.id,
                fragment: Fragment::from_bits(fragment),
            }),
        };
        Entry {
            index,
            time: SystemTime::UNIX_EPOCH + Duration::from_nanos(slot.time_ns),
            elapsed: Duration::from_nanos(slot.elapsed_ns),
            item,
        }
    }

    /// Evicts the oldest entry if the store is full, and makes sure one more entry fits
    /// without letting the allocation grow past the capacity.
    fn make_room(&mut self) {
        if self.entries.len() >= self.capacity {
            self.evict_oldest();
        }
        if self.entries.len() == self.entries.capacity() {
            // Double, as `VecDeque` would, but never beyond the capacity: with a capacity
            // of 600,000 plain doubling would allocate room for 1,048,576 entries.
            let target = (self.entries.len() * 2)
                .max(MIN_ENTRIES_ALLOCATION)
                .min(self.capacity);
            self.entries
                .reserve_exact(target.saturating_sub(self.entries.len()).max(1));
        }
    }

    fn push(&mut self, slot: Slot) {
        self.entries.push_back(slot);
        self.total_pushed += 1;
    }

    fn evict_oldest(&mut self) {
        let Some(slot) = self.entries.pop_front() else {
            return;
        };
        self.first_index += 1;
        self.evicted += 1;
        match slot.flags & KIND_MASK {
            KIND_MESSAGE => {}
            KIND_EVENT => {
                if let Some(event) = self.events.pop_front() {
                    self.event_bytes -= event.heap_size();
                    self.first_event += 1;
                }
            }
            _ => {
                self.frames_kept -= 1;
                self.payload_bytes -= slot.kept as usize;
            }
        }
        self.arena.release(self.first_index);
        self.release_large(self.first_index);
    }

    /// Forgets the large payloads and plain messages of entries older than `first_index`.
    fn release_large(&mut self, first_index: u64) {
        while let Some(&(index, payload)) = self.large.front() {
            if index >= first_index {
                break;
            }
            self.large.pop_front();
            self.large_bytes -= match payload {
                LargePayload::Frame { len, .. } => len,
                LargePayload::Plain { direction, message } => self.plain[direction]
                    .binary_search_by_key(&message, |p| p.message)
                    .ok()
                    .and_then(|i| self.plain[direction].get(i))
                    .map_or(0, |p| p.data.len()),
            };
        }
        for plain in &mut self.plain {
            while plain.front().is_some_and(|p| p.index < first_index) {
                if let Some(p) = plain.pop_front() {
                    self.plain_bytes -= p.data.len();
                }
            }
        }
    }
}

/// One kept entry, packed (56 bytes). See [`LogStore::entry`] for the public form.
#[derive(Clone, Copy, Debug)]
struct Slot {
    /// Wall-clock time, nanoseconds since the Unix epoch (0 before it).
    time_ns: u64,
    /// Monotonic time since the tap started, nanoseconds.
    elapsed_ns: u64,
    /// A frame's payload length as its header states it; a `message` event's length.
    len: u64,
    /// A frame's message number; an other event's number in `LogStore::events`.
    id: u64,
    /// Where the kept payload is: arena chunk number, offset in it, length.
    chunk: u32,
    kept: u32,
    /// The frame's payload size after inflating ([`NO_PLAIN_LEN`]: not compressed).
    plain: u32,
    /// The masking key (when `FLAG_MASKED`).
    mask: [u8; 4],
    offset: u16,
    /// FIN, RSV1–3 and the opcode, as the first byte on the wire.
    head: u8,
    /// The kind (a frame's fragment, `message` event, other event), direction, mask, text.
    flags: u8,
}

impl Slot {
    fn direction(&self) -> Direction {
        match self.flags & FLAG_OUTGOING {
            0 => Direction::Incoming,
            _ => Direction::Outgoing,
        }
    }
}

/// `Slot::plain` for a frame that was not compressed.
const NO_PLAIN_LEN: u32 = u32::MAX;

/// `Slot::flags`: the low three bits are the kind; frames use [`Fragment::bits`] (0–4).
const KIND_MASK: u8 = 0b0000_0111;
const KIND_MESSAGE: u8 = 5;
const KIND_EVENT: u8 = 6;
const FLAG_OUTGOING: u8 = 0b0000_1000;
const FLAG_MASKED: u8 = 0b0001_0000;
const FLAG_TEXT: u8 = 0b0010_0000;
/// A frame's payload was kept whole, then trimmed to stay within the payload budget.
const FLAG_TRIMMED: u8 = 0b0100_0000;

fn direction_bit(direction: Direction) -> u8 {
    match direction {
        Direction::Incoming => 0,
        Direction::Outgoing => FLAG_OUTGOING,
    }
}

fn wall_nanos(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, duration_nanos)
}

fn duration_nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// Totals for one direction pair, counted for every frame pushed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Frames received.
    pub frames_in: u64,
    /// Frames sent.
    pub frames_out: u64,
    /// Payload bytes received, as the frame headers state them (truncation does not matter).
    pub bytes_in: u64,
    /// Payload bytes sent, as the frame headers state them.
    pub bytes_out: u64,
}

/// Message numbering of one direction.
#[derive(Clone, Copy, Debug, Default)]
struct MessageState {
    /// The number of the last message or control frame.
    last_id: u64,
    /// The number of the fragmented data message in progress.
    open: Option<u64>,
}

impl MessageState {
    fn classify(&mut self, header: &FrameHeader) -> (u64, Fragment) {
        if header.opcode.is_control() {
            return (self.next_id(), Fragment::Control);
        }
        match (header.opcode, self.open) {
            (OpCode::Continuation, Some(id)) if header.fin => {
                self.open = None;
                (id, Fragment::Last)
            }
            (OpCode::Continuation, Some(id)) => (id, Fragment::Middle),
            // A continuation with no message in progress: a protocol error, or its first
            // fragment was pushed before this store existed. It gets a number of its own.
            (OpCode::Continuation, None) => {
                let id = self.next_id();
                if header.fin {
                    (id, Fragment::Last)
                } else {
                    self.open = Some(id);
                    (id, Fragment::Middle)
                }
            }
            // Text, binary or a reserved data opcode starts a new message; one in progress
            // (a protocol error) is abandoned.
            _ => {
                let id = self.next_id();
                if header.fin {
                    self.open = None;
                    (id, Fragment::Whole)
                } else {
                    self.open = Some(id);
                    (id, Fragment::First)
                }
            }
        }
    }

    fn next_id(&mut self) -> u64 {
        self.last_id += 1;
        self.last_id
    }
}

fn slot(direction: Direction) -> usize {
    match direction {
        Direction::Incoming => 0,
        Direction::Outgoing => 1,
    }
}

/// Where kept payloads are copied: chunks filled in push order, numbered from 0 across the
/// store's life (`chunks[0]` is number `first_chunk`).
#[derive(Debug, Default)]
struct Arena {
    /// The chunks still referenced by kept entries, oldest first; each has a fixed capacity
    /// (it never reallocates).
    chunks: VecDeque<Vec<u8>>,
    /// For each chunk, the global index of the last entry with a payload in it.
    last_index: VecDeque<u64>,
    first_chunk: u32,
    /// The number of the shared chunk being filled, if any.
    current: Option<u32>,
    /// The allocated size of `chunks`.
    bytes: usize,
}

impl Arena {
    /// Copies `data` for the entry with the global index `index`; returns its chunk number
    /// and offset. Empty payloads take no room.
    fn copy(&mut self, data: &[u8], index: u64) -> (u32, u16) {
        if data.is_empty() {
            return (0, 0);
        }
        if data.len() > ARENA_MAX_ITEM {
            let number = self.push_chunk(data.to_vec(), index);
            return (number, 0);
        }
        let room = self
            .current
            .and_then(|n| self.chunk_mut(n))
            .is_some_and(|c| c.capacity() - c.len() >= data.len());
        let number = match (room, self.current) {
            (true, Some(number)) => number,
            _ => {
                let number = self.push_chunk(Vec::with_capacity(ARENA_CHUNK), index);
                self.current = Some(number);
                number
            }
        };
        let position = (number - self.first_chunk) as usize;
        self.last_index[position] = index;
        let chunk = &mut self.chunks[position];
        let offset = chunk.len();
        // Within capacity: no reallocation.
        chunk.extend_from_slice(data);
        // An offset below ARENA_CHUNK (64 KiB) fits a u16.
        (number, offset as u16)
    }

    fn push_chunk(&mut self, chunk: Vec<u8>, index: u64) -> u32 {
        self.bytes += chunk.capacity();
        self.chunks.push_back(chunk);
        self.last_index.push_back(index);
        self.first_chunk + self.chunks.len() as u32 - 1
    }

    fn chunk_mut(&mut self, number: u32) -> Option<&mut Vec<u8>> {
        let position = number.checked_sub(self.first_chunk)?;
        self.chunks.get_mut(position as usize)
    }

    /// The kept payload at (`chunk`, `offset`, `len`).
    fn get(&self, chunk: u32, offset: u16, len: u32) -> &[u8] {
        if len == 0 {
            return &[];
        }
        let start = usize::from(offset);
        chunk
            .checked_sub(self.first_chunk)
            .and_then(|p| self.chunks.get(p as usize))
            .and_then(|c| c.get(start..start + len as usize))
            .unwrap_or(&[])
    }

    /// Shortens a chunk of its own (a large payload) to `len` bytes and frees the rest.
    fn trim(&mut self, number: u32, len: usize) {
        let Some(chunk) = self.chunk_mut(number) else {
            return;
        };
        if chunk.len() <= len {
            return;
        }
        let before = chunk.capacity();
        let shorter = chunk[..len].to_vec();
        let after = shorter.capacity();
        *chunk = shorter;
        self.bytes = self.bytes - before + after;
    }

    /// Frees the chunks whose entries are all older than `first_index`, oldest first.
    fn release(&mut self, first_index: u64) {
        while self
            .last_index
            .front()
            .is_some_and(|&last| last < first_index)
        {
            self.last_index.pop_front();
            if let Some(chunk) = self.chunks.pop_front() {
                self.bytes -= chunk.capacity();
            }
            if self.current == Some(self.first_chunk) {
                self.current = None;
            }
            self.first_chunk += 1;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Entries
// ---------------------------------------------------------------------------------------------

/// One logged item with its times, as [`LogStore::get`] makes it (it borrows the payload
/// from the store).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    /// The global index: 0 for the first entry ever pushed, counting on across eviction and
    /// [`LogStore::clear`].
    pub index: u64,
    /// Wall-clock time (nanosecond precision).
    pub time: SystemTime,
    /// Monotonic time since the connection's tap was created.
    pub elapsed: Duration,
    /// What happened.
    pub item: Item<'a>,
}

/// What an [`Entry`] holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item<'a> {
    /// A frame, either direction.
    Frame(FrameEntry<'a>),
    /// A lifecycle event.
    Event(Cow<'a, LifecycleEvent>),
}

/// A logged frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameEntry<'a> {
    /// Incoming or outgoing.
    pub direction: Direction,
    /// The header as on the wire; `payload_len` is the full length even when the payload
    /// was truncated.
    pub header: FrameHeader,
    /// The payload, unmasked, at most [`LogStore::max_payload`] bytes of it (as on the wire:
    /// compressed, for a frame of a compressed message).
    pub payload: &'a [u8],
    /// For a frame of a compressed message (permessage-deflate), its payload size after
    /// inflating (saturated at 4 GiB - 2).
    pub decompressed_len: Option<usize>,
    /// For a frame of a compressed message, the plain content of the whole message once
    /// its last frame is logged: (the bytes kept, the full length).
    pub plain: Option<(&'a [u8], usize)>,
    /// The payload was kept whole at first, then trimmed to its first [`TRIMMED_KEEP`]
    /// bytes to keep the log within its budget for large payloads.
    pub trimmed: bool,
    /// The message this frame belongs to: numbered per direction from 1, in the order
    /// messages start; every fragment of a message has the same number, and each control
    /// frame gets a number of its own. `(direction, message)` identifies a message.
    pub message: u64,
    /// The frame's place in its message.
    pub fragment: Fragment,
}

impl FrameEntry<'_> {
    /// Whether only part of the payload was kept.
    pub fn truncated(&self) -> bool {
        (self.payload.len() as u64) < self.header.payload_len
    }

    /// A one-line preview of at most `max_chars` characters, followed by `…` when the
    /// payload did not fit or was truncated:
    ///
    /// - text frames as text (invalid UTF-8 as `�`), with `↵` for a line feed and `·` for
    ///   other control characters;
    /// - close frames as the code and the reason (`1000 bye`);
    /// - binary frames as hex (`01 02 ff`);
    /// - continuation, ping and pong frames as text if they are printable UTF-8, else hex.
    ///
    /// A frame of a compressed message previews the plain content of its message, once
    /// known (its own bytes are deflated).
    pub fn preview(&self, max_chars: usize) -> String {
        if let Some((plain, len)) = self.plain {
            return preview_bytes(plain, plain.len() < len, max_chars);
        }
        let mut out = Preview::new(max_chars);
        let truncated = self.truncated();
        let payload = self.payload;
        match self.header.opcode {
            OpCode::Text => out.text(payload, truncated),
            OpCode::Close => match payload {
                [] => {}
                [high, low, reason @ ..] => {
                    out.text(
                        u16::from_be_bytes([*high, *low]).to_string().as_bytes(),
                        false,
                    );
                    if !reason.is_empty() {
                        out.text(b" ", false);
                        out.text(reason, truncated);
                    }
                }
                _ => out.hex(payload),
            },
            OpCode::Continuation | OpCode::Ping | OpCode::Pong if looks_like_text(payload) => {
                out.text(payload, truncated)
            }
            _ => out.hex(payload),
        }
        out.finish(truncated)
    }

    /// The text filters search: the payload as lossy UTF-8 (the plain message, for a
    /// compressed one), or `code reason` for a close frame.
    fn search_text(&self) -> Cow<'_, str> {
        if let Some((plain, _)) = self.plain {
            return String::from_utf8_lossy(plain);
        }
        match (self.header.opcode, self.payload) {
            (OpCode::Close, [high, low, reason @ ..]) => Cow::Owned(format!(
                "{} {}",
                u16::from_be_bytes([*high, *low]),
                String::from_utf8_lossy(reason)
            )),
            (_, payload) => String::from_utf8_lossy(payload),
        }
    }
}

/// A frame's place in its message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fragment {
    /// A data frame with FIN set that starts its message: the whole message.
    Whole,
    /// The first frame of a fragmented message (FIN clear).
    First,
    /// A continuation frame with FIN clear.
    Middle,
    /// The continuation frame that ends a message (FIN set).
    Last,
    /// A control frame (close, ping, pong, reserved 0xB–0xF), never part of a message.
    Control,
}

impl Fragment {
    /// The packed form (0–4) used in the store's slots.
    fn bits(self) -> u8 {
        match self {
            Self::Whole => 0,
            Self::First => 1,
            Self::Middle => 2,
            Self::Last => 3,
            Self::Control => 4,
        }
    }

    fn from_bits(bits: u8) -> Self {
        match bits {
            0 => Self::Whole,
            1 => Self::First,
            2 => Self::Middle,
            3 => Self::Last,
            _ => Self::Control,
        }
    }

    /// A lower-case name: `whole`, `first`, `middle`, `last`, `control`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Whole => "whole",
            Self::First => "first",
            Self::Middle => "middle",
            Self::Last => "last",
            Self::Control => "control",
        }
    }
}

/// A connection's lifecycle, as the browser's `WebSocket` events name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LifecycleEvent {
    /// A connection attempt started (readyState 0).
    Connecting {
        /// The URL.
        url: String,
    },
    /// The opening handshake succeeded (readyState 1).
    Open {
        /// The subprotocol the server chose.
        protocol: Option<String>,
        /// The extensions the server accepted.
        extensions: Vec<String>,
    },
    /// A complete message, either direction.
    Message {
        /// Received or sent.
        direction: Direction,
        /// Text (or binary).
        text: bool,
        /// Its length in bytes.
        len: u64,
    },
    /// An error, in plain words.
    Error(String),
    /// The connection ended (readyState 3).
    Close {
        /// The close code (1005 when the close frame had none, 1006 when the connection was
        /// lost).
        code: CloseCode,
        /// The close reason.
        reason: String,
        /// Whether the close handshake completed.
        clean: bool,
        /// Who started the close.
        initiator: Initiator,
    },
}

impl LifecycleEvent {
    /// The browser's event name: `connecting` (which the browser does not have),
    /// `open`, `message`, `error` or `close`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Connecting { .. } => "connecting",
            Self::Open { .. } => "open",
            Self::Message { .. } => "message",
            Self::Error(_) => "error",
            Self::Close { .. } => "close",
        }
    }

    /// A one-line description, starting with the [`name`](Self::name), such as
    /// `close 1000 (Normal Closure) "bye", clean, by the server`.
    ///
    /// The log is a client's, so a close the peer started is "by the server".
    pub fn summary(&self) -> String {
        match self {
            Self::Connecting { url } => format!("connecting to {url}"),
            Self::Open {
                protocol,
                extensions,
            } => {
                let protocol = match protocol {
                    Some(protocol) => format!("subprotocol {protocol:?}"),
                    None => "no subprotocol".to_owned(),
                };
                let extensions = match extensions.is_empty() {
                    true => "no extensions".to_owned(),
                    false => format!("extensions {}", extensions.join(", ")),
                };
                format!("open, {protocol}, {extensions}")
            }
            Self::Message {
                direction,
                text,
                len,
            } => {
                let direction = match direction {
                    Direction::Incoming => "received",
                    Direction::Outgoing => "sent",
                };
                let kind = if *text { "text" } else { "binary" };
                let unit = if *len == 1 { "byte" } else { "bytes" };
                format!("message {direction}, {kind}, {len} {unit}")
            }
            Self::Error(message) => format!("error: {message}"),
            Self::Close {
                code,
                reason,
                clean,
                initiator,
            } => {
                let mut out = format!("close {code}");
                if !reason.is_empty() {
                    out.push_str(&format!(" {reason:?}"));
                }
                out.push_str(if *clean { ", clean" } else { ", not clean" });
                out.push_str(match initiator {
                    Initiator::Local => ", by us",
                    Initiator::Remote => ", by the server",
                    Initiator::Nobody => ", connection lost",
                });
                out
            }
        }
    }

    /// The heap bytes the event owns, for [`LogStore::approx_memory`].
    fn heap_size(&self) -> usize {
        match self {
            Self::Connecting { url: text } | Self::Error(text) => text.capacity(),
            Self::Close { reason, .. } => reason.capacity(),
            Self::Open {
                protocol,
                extensions,
            } => {
                protocol.as_ref().map_or(0, String::capacity)
                    + extensions.capacity() * mem::size_of::<String>()
                    + extensions.iter().map(String::capacity).sum::<usize>()
            }
            Self::Message { .. } => 0,
        }
    }
}

/// Whether a payload of unknown type reads as text: UTF-8 (an incomplete character at the
/// end is allowed, as a fragment or a truncation may cut one) with no control characters other
/// than tab, line feed and carriage return.
fn looks_like_text(payload: &[u8]) -> bool {
    let mut chunks = payload.utf8_chunks().peekable();
    while let Some(chunk) = chunks.next() {
        let at_end = chunks.peek().is_none();
        let incomplete_tail = at_end && chunk.invalid().len() < 4;
        if !chunk.invalid().is_empty() && !incomplete_tail {
            return false;
        }
        if chunk
            .valid()
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        {
            return false;
        }
    }
    true
}

/// A one-line preview of a message's content (see [`FrameEntry::preview`]): text when it
/// reads as text, else hex; `…` when it did not fit or `cut` says part of it is missing.
pub fn preview_bytes(data: &[u8], cut: bool, max_chars: usize) -> String {
    let mut out = Preview::new(max_chars);
    if looks_like_text(data) {
        out.text(data, cut);
    } else {
        out.hex(data);
    }
    out.finish(cut)
}

/// Builds a preview within a character budget.
struct Preview {
    out: String,
    left: usize,
    cut: bool,
}

impl Preview {
    fn new(max_chars: usize) -> Self {
        Self {
            out: String::with_capacity(max_chars.min(256)),
            left: max_chars,
            cut: false,
        }
    }

    fn push(&mut self, c: char) -> bool {
        if self.left == 0 {
            self.cut = true;
            return false;
        }
        self.left -= 1;
        self.out.push(c);
        true
    }

    /// Lossy UTF-8; an incomplete character at the end of a truncated payload is dropped.
    fn text(&mut self, bytes: &[u8], truncated: bool) {
        let mut chunks = bytes.utf8_chunks().peekable();
        while let Some(chunk) = chunks.next() {
            for c in chunk.valid().chars() {
                let shown = match c {
                    '\n' => '↵',
                    c if c.is_control() => '·',
                    c => c,
                };
                if !self.push(shown) {
                    return;
                }
            }
            let incomplete_tail = truncated && chunks.peek().is_none();
            if !chunk.invalid().is_empty() && !incomplete_tail && !self.push('\u{FFFD}') {
                return;
            }
        }
    }

    fn hex(&mut self, bytes: &[u8]) {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        for (i, byte) in bytes.iter().enumerate() {
            let needed = if i == 0 { 2 } else { 3 };
            if self.left < needed {
                self.cut = true;
                return;
            }
            if i > 0 {
                self.push(' ');
            }
            self.push(char::from(DIGITS[usize::from(byte >> 4)]));
            self.push(char::from(DIGITS[usize::from(byte & 0x0F)]));
        }
    }

    fn finish(mut self, truncated: bool) -> String {
        if self.cut || truncated {
            self.out.push('…');
        }
        self.out
    }
}

// ---------------------------------------------------------------------------------------------
// Filtering
// ---------------------------------------------------------------------------------------------

/// What the user asked to see: a text to search for (a substring, or a regular expression)
/// and toggles by direction and kind. Persistable with serde.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Filter {
    /// The text to search for; empty matches everything.
    pub text: String,
    /// Whether `text` is a regular expression (`regex` crate syntax, case-sensitive unless
    /// it starts with `(?i)`) rather than a case-insensitive substring.
    pub regex: bool,
    /// Show incoming frames (and messages).
    pub incoming: bool,
    /// Show outgoing frames (and messages).
    pub outgoing: bool,
    /// Show data frames: text, binary, continuation, reserved 0x3–0x7.
    pub data: bool,
    /// Show control frames: close, ping, pong, reserved 0xB–0xF.
    pub control: bool,
    /// Show lifecycle events.
    pub events: bool,
    /// Show only frames with this opcode (0x0–0xF), and no events; `None`: every opcode.
    pub opcode: Option<u8>,
}

impl Default for Filter {
    /// Everything: no text, every toggle on.
    fn default() -> Self {
        Self {
            text: String::new(),
            regex: false,
            incoming: true,
            outgoing: true,
            data: true,
            control: true,
            events: true,
            opcode: None,
        }
    }
}

impl Filter {
    /// Checks the filter, compiling the text into a matcher. An invalid regular expression
    /// is an error in plain words, such as
    /// `invalid regular expression: unclosed group (at character 1)`.
    pub fn compile(&self) -> Result<CompiledFilter, String> {
        let pattern = match (self.text.is_empty(), self.regex) {
            (true, _) => None,
            (false, true) => Some(
                RegexBuilder::new(&self.text)
                    .build()
                    .map_err(|e| regex_error(&e))?,
            ),
            (false, false) => Some(
                RegexBuilder::new(&regex::escape(&self.text))
                    .case_insensitive(true)
                    .build()
                    .map_err(|e| regex_error(&e))?,
            ),
        };
        Ok(CompiledFilter {
            filter: self.clone(),
            pattern,
        })
    }

    /// Whether the filter lets every entry through.
    pub fn matches_everything(&self) -> bool {
        self.text.is_empty()
            && self.incoming
            && self.outgoing
            && self.data
            && self.control
            && self.events
            && self.opcode.is_none()
    }
}

/// The `regex` crate's multi-line syntax error as one line: its `error:` line and the
/// position of its caret.
fn regex_error(error: &regex::Error) -> String {
    let message = error.to_string();
    let reason = message
        .lines()
        .find_map(|line| line.trim().strip_prefix("error: "));
    let column = message
        .lines()
        .find(|line| line.trim_start().starts_with('^'))
        .and_then(|line| line.find('^'))
        .map(|caret| caret.saturating_sub(4) + 1);
    match (reason, column) {
        (Some(reason), Some(column)) => {
            format!("invalid regular expression: {reason} (at character {column})")
        }
        (Some(reason), None) => format!("invalid regular expression: {reason}"),
        _ => format!("invalid regular expression: {}", message.trim()),
    }
}

/// A checked [`Filter`], ready to test entries.
#[derive(Clone, Debug)]
pub struct CompiledFilter {
    filter: Filter,
    /// The text as a regular expression (an escaped, case-insensitive one for a substring);
    /// `None` for an empty text.
    pattern: Option<Regex>,
}

impl Default for CompiledFilter {
    /// The filter that matches everything.
    fn default() -> Self {
        Self {
            filter: Filter::default(),
            pattern: None,
        }
    }
}

impl CompiledFilter {
    /// Whether `entry` passes: its direction and kind are toggled on, and the text is found
    /// in the payload as lossy UTF-8 (`code reason` for a close frame) or in an event's
    /// [`summary`](LifecycleEvent::summary).
    pub fn matches(&self, entry: &Entry<'_>) -> bool {
        let f = &self.filter;
        let direction_shown = |direction: &Direction| match direction {
            Direction::Incoming => f.incoming,
            Direction::Outgoing => f.outgoing,
        };
        match &entry.item {
            Item::Frame(frame) => {
                let kind_shown = match frame.header.opcode.is_control() {
                    true => f.control,
                    false => f.data,
                };
                direction_shown(&frame.direction)
                    && kind_shown
                    && f.opcode.is_none_or(|op| op == frame.header.opcode.bits())
                    && self
                        .pattern
                        .as_ref()
                        .is_none_or(|p| p.is_match(&frame.search_text()))
            }
            Item::Event(event) => {
                let direction_ok = match &**event {
                    LifecycleEvent::Message { direction, .. } => direction_shown(direction),
                    _ => true,
                };
                f.events
                    && f.opcode.is_none()
                    && direction_ok
                    && self
                        .pattern
                        .as_ref()
                        .is_none_or(|p| p.is_match(&event.summary()))
            }
        }
    }

    /// Whether every entry passes (no text, every toggle on).
    pub fn matches_everything(&self) -> bool {
        self.filter.matches_everything()
    }

    /// The filter this was compiled from.
    pub fn filter(&self) -> &Filter {
        &self.filter
    }
}

/// The positions of the entries that pass a filter, kept up to date incrementally.
///
/// Each [`update`](Self::update) scans only the entries pushed since the previous one and
/// drops evicted ones (matches are remembered by global index). A filter that differs from the
/// previous update's rebuilds the view by itself; [`invalidate`](Self::invalidate) forces a
/// rebuild. A filter that matches everything stores nothing: the view is the store.
///
/// One view follows one store: call [`invalidate`](Self::invalidate) before using it with
/// another.
#[derive(Default)]
pub struct FilteredView {
    /// The filter of the last update; `None` forces a rebuild.
    filter: Option<Filter>,
    /// Whether the filter matches everything (and `matches` stays empty).
    all: bool,
    /// Global indices of the matching entries, oldest first.
    matches: VecDeque<u64>,
    /// The global index of the next entry to scan.
    next: u64,
    /// The store's first index and length at the last update.
    base: u64,
    store_len: usize,
}

impl fmt::Debug for FilteredView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FilteredView")
            .field("filter", &self.filter)
            .field("all", &self.all)
            .field("len", &self.len())
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

impl FilteredView {
    /// Brings the view up to date with `store`.
    ///
    /// A rebuild scans every kept entry: about 0.3 s for 1,000,000 entries and a substring
    /// in a debug build. [`update_bounded`](Self::update_bounded) spreads that over frames.
    pub fn update(&mut self, store: &LogStore, filter: &CompiledFilter) {
        self.update_bounded(store, filter, usize::MAX);
    }

    /// Like [`update`](Self::update), but tests at most `max_scan` entries (oldest first), so
    /// that a rebuild over a long log can be spread over several UI frames. Returns whether
    /// the view is complete; if not, call it again (on the next frame).
    pub fn update_bounded(
        &mut self,
        store: &LogStore,
        filter: &CompiledFilter,
        max_scan: usize,
    ) -> bool {
        let end = store.total_pushed();
        if self.filter.as_ref() != Some(filter.filter()) || self.next > end {
            self.filter = Some(filter.filter().clone());
            self.all = filter.matches_everything();
            self.matches.clear();
            self.next = store.first_index();
        }
        self.base = store.first_index();
        self.store_len = store.len();
        if self.all {
            self.matches = VecDeque::new();
            self.next = end;
            return true;
        }
        while self.matches.front().is_some_and(|&index| index < self.base) {
            self.matches.pop_front();
        }
        let skip = usize::try_from(self.next.saturating_sub(self.base)).unwrap_or(usize::MAX);
        self.next = self.next.max(self.base);
        for entry in store.iter_from(skip).take(max_scan) {
            debug_assert_eq!(entry.index, self.next);
            if filter.matches(&entry) {
                self.matches.push_back(entry.index);
            }
            self.next = entry.index + 1;
        }
        self.next == end
    }

    /// Forces a rebuild at the next [`update`](Self::update).
    pub fn invalidate(&mut self) {
        self.filter = None;
    }

    /// The number of matching entries, as of the last update.
    pub fn len(&self) -> usize {
        match self.all {
            true => self.store_len,
            false => self.matches.len(),
        }
    }

    /// Whether no entry matches.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The store position of the `i`-th match (valid until the store changes).
    pub fn position(&self, i: usize) -> Option<usize> {
        match self.all {
            true => (i < self.store_len).then_some(i),
            false => {
                let index = *self.matches.get(i)?;
                usize::try_from(index - self.base).ok()
            }
        }
    }

    /// The global index of the `i`-th match.
    pub fn index(&self, i: usize) -> Option<u64> {
        match self.all {
            true => (i < self.store_len).then(|| self.base + i as u64),
            false => self.matches.get(i).copied(),
        }
    }

    /// Where the entry with the global index `index` is in the view, if it matches: the
    /// inverse of [`index`](Self::index), to keep a selection across updates.
    pub fn find(&self, index: u64) -> Option<usize> {
        match self.all {
            true => {
                let i = usize::try_from(index.checked_sub(self.base)?).ok()?;
                (i < self.store_len).then_some(i)
            }
            false => self.matches.binary_search(&index).ok(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------

/// One data message: its fragments grouped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageRow {
    /// Received or sent.
    pub direction: Direction,
    /// A text message (its first frame is a text frame). `false` for binary, and for a
    /// message whose first frame was not seen.
    pub text: bool,
    /// The global index of its first frame in the log (which may have been evicted since).
    pub first: u64,
    /// The global index of its latest frame.
    pub last: u64,
    /// The number of its frames seen.
    pub fragments: u32,
    /// Its length so far: the sum of its frames' payload lengths as their headers state them
    /// (for a compressed message, its size on the wire).
    pub len: u64,
    /// For a compressed message (permessage-deflate), its size once inflated so far.
    pub plain: Option<u64>,
    /// Whether its first and final frames were both seen: `false` while it is in progress,
    /// and for a message whose start was evicted (or cleared) before the view saw it.
    pub complete: bool,
}

/// The log's data messages, each with its fragments grouped (control frames sent between
/// fragments are not part of a message). Updated incrementally like [`FilteredView`]; rows are
/// dropped, oldest first, once all their frames are evicted.
#[derive(Default)]
pub struct MessageView {
    /// `rows[start..]` are the live rows; the dead prefix is drained now and then.
    rows: Vec<MessageRow>,
    start: usize,
    /// Per direction, the message in progress: its number, its row in `rows`, and whether
    /// the row began with the message's first frame.
    open: [Option<(u64, usize, bool)>; 2],
    /// The global index of the next entry to scan.
    next: u64,
}

impl fmt::Debug for MessageView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageView")
            .field("rows", &self.rows().len())
            .field("open", &self.open)
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

/// A message's content as the log keeps it, from [`LogStore::message_content`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageContent {
    /// The bytes (the plain content, for a compressed message).
    pub data: Vec<u8>,
    /// Frames of it are no longer kept (evicted or cleared).
    pub missing: bool,
    /// Part of it was not kept: a payload above the per-frame limit, or trimmed to keep the
    /// log within its payload budget.
    pub cut: bool,
}

impl LogStore {
    /// The content of the message `row`, reassembled from its frames (or its plain content,
    /// for a compressed message), at most `max_bytes` of it.
    pub fn message_content(&self, row: &MessageRow, max_bytes: usize) -> MessageContent {
        let mut content = MessageContent {
            data: Vec::new(),
            missing: false,
            cut: false,
        };
        let message = match self.by_index(row.first).map(|e| e.item) {
            Some(Item::Frame(f)) => f.message,
            _ => {
                content.missing = true;
                return content;
            }
        };
        if row.plain.is_some() {
            match self.plain_message(row.direction, message) {
                Some((plain, len)) => {
                    let n = plain.len().min(max_bytes);
                    content.data.extend_from_slice(&plain[..n]);
                    content.cut = plain.len() < len;
                }
                None => content.missing = true,
            }
            return content;
        }
        let start = self.position_of(row.first).unwrap_or(0);
        for entry in self.iter_from(start) {
            if entry.index > row.last || content.data.len() >= max_bytes {
                break;
            }
            if let Item::Frame(f) = entry.item
                && f.direction == row.direction
                && f.message == message
                && f.fragment != Fragment::Control
            {
                content.cut |= f.truncated();
                let room = max_bytes - content.data.len();
                content
                    .data
                    .extend_from_slice(&f.payload[..f.payload.len().min(room)]);
            }
        }
        content.missing = self.position_of(row.last).is_none();
        content
    }
}

impl MessageView {
    /// Brings the view up to date with `store`.
    pub fn update(&mut self, store: &LogStore) {
        let end = store.total_pushed();
        if self.next > end {
            // Another store, or a new one: start over.
            *self = Self::default();
        }
        let first = store.first_index();
        while self
            .rows
            .get(self.start)
            .is_some_and(|row| row.last < first)
        {
            self.start += 1;
        }
        for open in &mut self.open {
            if open.is_some_and(|(_, row, _)| row < self.start) {
                *open = None;
            }
        }
        let skip = usize::try_from(self.next.saturating_sub(first)).unwrap_or(usize::MAX);
        for entry in store.iter_from(skip) {
            if let Item::Frame(frame) = &entry.item {
                self.add(entry.index, frame);
            }
        }
        self.next = end;
        if self.start > 1024 && self.start * 2 > self.rows.len() {
            self.compact();
        }
    }

    /// Forgets everything; the next [`update`](Self::update) rebuilds from the kept entries.
    pub fn invalidate(&mut self) {
        *self = Self::default();
    }

    /// The messages, oldest first.
    pub fn rows(&self) -> &[MessageRow] {
        &self.rows[self.start..]
    }

    fn add(&mut self, index: u64, frame: &FrameEntry<'_>) {
        let open = &mut self.open[slot(frame.direction)];
        let len = frame.header.payload_len;
        let continued = match (frame.fragment, *open) {
            (Fragment::Control, _) => return,
            (Fragment::Middle | Fragment::Last, Some((message, row, started)))
                if message == frame.message =>
            {
                self.rows.get_mut(row).map(|row| (row, started))
            }
            _ => None,
        };
        if let Some((row, started)) = continued {
            row.last = index;
            row.fragments = row.fragments.saturating_add(1);
            row.len += len;
            if let Some(plain) = frame.decompressed_len {
                row.plain = Some(row.plain.unwrap_or(0) + plain as u64);
            }
            if frame.fragment == Fragment::Last {
                row.complete = started;
                *open = None;
            }
            return;
        }
        // A new message (or a continuation whose start this view did not see).
        self.rows.push(MessageRow {
            direction: frame.direction,
            text: frame.header.opcode == OpCode::Text,
            first: index,
            last: index,
            fragments: 1,
            len,
            plain: frame.decompressed_len.map(|n| n as u64),
            complete: frame.fragment == Fragment::Whole,
        });
        let row = self.rows.len() - 1;
        *open = match frame.fragment {
            Fragment::First => Some((frame.message, row, true)),
            Fragment::Middle => Some((frame.message, row, false)),
            _ => None,
        };
    }

    fn compact(&mut self) {
        self.rows.drain(..self.start);
        for (_, row, _) in self.open.iter_mut().flatten() {
            *row -= self.start;
        }
        self.start = 0;
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn t0() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    fn frame(direction: Direction, opcode: OpCode, fin: bool, payload: &[u8]) -> Frame {
        let mut header = FrameHeader::new(opcode, payload.len() as u64);
        header.fin = fin;
        Frame {
            direction,
            header,
            payload: Bytes::copy_from_slice(payload),
            decompressed_len: None,
        }
    }

    fn text_in(s: &str) -> Frame {
        frame(Direction::Incoming, OpCode::Text, true, s.as_bytes())
    }

    fn text_out(s: &str) -> Frame {
        frame(Direction::Outgoing, OpCode::Text, true, s.as_bytes())
    }

    fn push(store: &mut LogStore, frame: Frame) {
        let n = store.total_pushed();
        store.push_frame(t0(), Duration::from_millis(n), frame);
    }

    fn event(store: &mut LogStore, event: LifecycleEvent) {
        let n = store.total_pushed();
        store.push_event(t0(), Duration::from_millis(n), event);
    }

    fn frame_at(store: &LogStore, position: usize) -> FrameEntry<'_> {
        match store.get(position).expect("entry").item {
            Item::Frame(frame) => frame,
            Item::Event(event) => panic!("expected a frame, found {event:?}"),
        }
    }

    fn close_event() -> LifecycleEvent {
        LifecycleEvent::Close {
            code: CloseCode::NORMAL,
            reason: "bye".into(),
            clean: true,
            initiator: Initiator::Remote,
        }
    }

    // --- size and speed -----------------------------------------------------------------------

    #[test]
    fn entry_is_small() {
        let size = mem::size_of::<Slot>();
        println!(
            "size_of: Slot {size}, Entry {}, LifecycleEvent {}",
            mem::size_of::<Entry<'_>>(),
            mem::size_of::<LifecycleEvent>(),
        );
        assert!(size <= 56, "Slot grew to {size} bytes");
    }

    #[test]
    fn small_frames_cost_their_entry_and_their_payload() {
        let mut store = LogStore::new(100_000, DEFAULT_MAX_PAYLOAD);
        let empty = store.approx_memory();
        for i in 0..100_000u32 {
            push(&mut store, text_in(&format!("message {i:08}")));
        }
        let per_frame = (store.approx_memory() - empty) / 100_000;
        println!("approx bytes per 16-byte frame: {per_frame}");
        assert!(per_frame <= mem::size_of::<Slot>() + 16 + 1, "{per_frame}");
    }

    /// Pushes 1,000,000 small frames through a store of 1,000,000 and then 200,000 more
    /// (evicting); prints the rate and memory. `cargo test -p ws-inspector --lib store --
    /// --ignored --nocapture`
    #[test]
    #[ignore = "a measurement, not a check"]
    fn ingest_rate() {
        let payload = Bytes::from_static(b"{\"seq\":123456,\"ok\":true}");
        let mut store = LogStore::default();
        let start = std::time::Instant::now();
        for i in 0..1_200_000u64 {
            let direction = match i % 2 {
                0 => Direction::Incoming,
                _ => Direction::Outgoing,
            };
            store.push_frame(
                t0(),
                Duration::from_nanos(i),
                Frame {
                    direction,
                    header: FrameHeader::new(OpCode::Text, payload.len() as u64),
                    payload: payload.clone(),
                    decompressed_len: None,
                },
            );
        }
        let elapsed = start.elapsed();
        println!(
            "1,200,000 frames in {elapsed:?}: {:.0} frames/s; {} entries, approx {} MB, {} bytes per frame",
            1_200_000.0 / elapsed.as_secs_f64(),
            store.len(),
            store.approx_memory() / 1_000_000,
            store.approx_memory() / store.len()
        );
        let start = std::time::Instant::now();
        let mut view = FilteredView::default();
        let filter = Filter {
            text: "SEQ\":12".into(),
            ..Filter::default()
        }
        .compile()
        .unwrap();
        view.update(&store, &filter);
        println!(
            "substring filter over 1,000,000 entries: {:?}, {} matches",
            start.elapsed(),
            view.len()
        );
        let start = std::time::Instant::now();
        let mut messages = MessageView::default();
        messages.update(&store);
        println!(
            "message view over 1,000,000 entries: {:?}, {} rows",
            start.elapsed(),
            messages.rows().len()
        );
    }

    // --- bounds -------------------------------------------------------------------------------

    #[test]
    fn capacity_is_respected_and_the_oldest_are_evicted() {
        let mut store = LogStore::new(3, 16);
        assert!(store.is_empty());
        for i in 0..5 {
            push(&mut store, text_in(&i.to_string()));
        }
        assert_eq!(store.len(), 3);
        assert_eq!(store.capacity(), 3);
        assert_eq!(store.total_pushed(), 5);
        assert_eq!(store.evicted(), 2);
        assert_eq!(store.first_index(), 2);
        let kept: Vec<_> = store.iter().map(|e| e.index).collect();
        assert_eq!(kept, [2, 3, 4]);
        assert_eq!(frame_at(&store, 0).payload, b"2");
        assert_eq!(store.get(3), None);
        assert_eq!(store.position_of(1), None);
        assert_eq!(store.position_of(4), Some(2));
        assert_eq!(store.by_index(3).map(|e| e.index), Some(3));
        assert_eq!(store.by_index(5), None);
        // Events count against the capacity too, and indices continue.
        event(&mut store, close_event());
        assert_eq!(store.get(2).map(|e| e.index), Some(5));
        assert_eq!(store.evicted(), 3);
    }

    #[test]
    fn allocation_never_exceeds_the_capacity() {
        let mut store = LogStore::new(100, 16);
        for i in 0..1000 {
            push(&mut store, text_in(&i.to_string()));
            assert!(
                store.entries.capacity() <= 128,
                "{}",
                store.entries.capacity()
            );
        }
        assert_eq!(store.len(), 100);
    }

    #[test]
    fn set_capacity_evicts_and_shrinks() {
        let mut store = LogStore::new(1000, 16);
        for i in 0..1000 {
            push(&mut store, text_in(&i.to_string()));
        }
        let before = store.approx_memory();
        store.set_capacity(10);
        assert_eq!(store.len(), 10);
        assert_eq!(store.evicted(), 990);
        assert_eq!(store.first_index(), 990);
        assert!(
            store.entries.capacity() < 100,
            "{}",
            store.entries.capacity()
        );
        assert!(
            store.approx_memory() < before - 50 * 1000,
            "{before} {}",
            store.approx_memory()
        );
        push(&mut store, text_in("next"));
        assert_eq!(store.get(9).map(|e| e.index), Some(1000));
        store.set_capacity(0);
        assert_eq!(store.capacity(), 1);
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn clear_keeps_stats_and_indices() {
        let mut store = LogStore::new(10, 16);
        push(&mut store, text_in("a"));
        push(
            &mut store,
            frame(Direction::Outgoing, OpCode::Binary, false, b"bc"),
        );
        store.clear();
        assert!(store.is_empty());
        assert_eq!(store.first_index(), 2);
        assert_eq!(store.total_pushed(), 2);
        assert_eq!(store.evicted(), 0);
        assert_eq!(store.stats().frames_in, 1);
        assert_eq!(store.stats().bytes_out, 2);
        assert!(store.approx_memory() <= mem::size_of::<LogStore>());
        // The outgoing message in progress continues across the clear.
        push(
            &mut store,
            frame(Direction::Outgoing, OpCode::Continuation, true, b"d"),
        );
        let last = frame_at(&store, 0);
        assert_eq!((last.message, last.fragment), (1, Fragment::Last));
        assert_eq!(store.get(0).map(|e| e.index), Some(2));
    }

    #[test]
    fn default_store() {
        let mut store = LogStore::default();
        assert_eq!(store.capacity(), 2_000_000);
        assert_eq!(store.max_payload(), 16 << 20, "the engine's message limit");
        assert_eq!(store.payload_budget(), DEFAULT_PAYLOAD_BUDGET);
        assert!(store.approx_memory() < 1024, "allocated upfront");
        push(&mut store, text_in("x"));
        let debug = format!("{store:?}");
        assert!(
            debug.starts_with("LogStore { len: 1, capacity: 2000000,"),
            "{debug}"
        );
    }

    // --- truncation and memory ----------------------------------------------------------------

    #[test]
    fn big_payloads_are_truncated_with_their_length_kept() {
        let mut store = LogStore::new(10, 100);
        let big = vec![b'x'; 1 << 20];
        push(
            &mut store,
            frame(Direction::Incoming, OpCode::Binary, true, &big),
        );
        push(&mut store, text_in("short"));
        let first = frame_at(&store, 0);
        assert_eq!(first.payload.len(), 100);
        assert_eq!(first.header.payload_len, 1 << 20);
        assert!(first.truncated());
        assert!(!frame_at(&store, 1).truncated());
        assert_eq!(store.stats().bytes_in, (1 << 20) + 5);
    }

    #[test]
    fn memory_of_big_payloads_is_freed() {
        let mut store = LogStore::new(100, 4096);
        let big = Bytes::from(vec![7u8; 1 << 20]);
        for _ in 0..100 {
            store.push_frame(
                t0(),
                Duration::ZERO,
                Frame {
                    direction: Direction::Incoming,
                    header: FrameHeader::new(OpCode::Binary, big.len() as u64),
                    payload: big.clone(),
                    decompressed_len: None,
                },
            );
        }
        // The store holds no reference to the 1 MiB buffer...
        assert!(big.is_unique());
        // ...and accounts for about 100 x 4 KiB.
        let memory = store.approx_memory();
        assert!(memory < 600 * 1024, "{memory}");
        assert!(memory > 100 * 4096, "{memory}");
    }

    #[test]
    fn large_payloads_are_kept_whole_within_the_budget() {
        let mut store = LogStore::default();
        store.set_payload_budget(3 << 20);
        let big = vec![b'y'; 1 << 20];
        for _ in 0..5 {
            push(
                &mut store,
                frame(Direction::Incoming, OpCode::Text, true, &big),
            );
        }
        // The newest three fit the budget whole; the oldest two were trimmed, and say so.
        for position in 0..5 {
            let f = frame_at(&store, position);
            let trimmed = position < 2;
            assert_eq!(f.trimmed, trimmed, "frame {position}");
            let kept = if trimmed { TRIMMED_KEEP } else { 1 << 20 };
            assert_eq!(f.payload.len(), kept, "frame {position}");
            assert_eq!(f.header.payload_len, 1 << 20);
        }
        let memory = store.approx_memory();
        assert!(memory < (3 << 20) + 64 * 1024, "{memory}");
        // Eviction releases them from the budget's account.
        store.set_capacity(1);
        assert!(store.approx_memory() < (1 << 20) + 64 * 1024);
        push(
            &mut store,
            frame(Direction::Incoming, OpCode::Text, true, &big),
        );
        assert!(!frame_at(&store, 0).trimmed, "room again after eviction");
    }

    #[test]
    fn a_single_payload_larger_than_the_budget_stays_whole() {
        let mut store = LogStore::default();
        store.set_payload_budget(1000);
        push(
            &mut store,
            frame(Direction::Incoming, OpCode::Binary, true, &[1; 20_000]),
        );
        assert_eq!(frame_at(&store, 0).payload.len(), 20_000);
    }

    fn compressed(
        direction: Direction,
        opcode: OpCode,
        fin: bool,
        wire: &[u8],
        plain: usize,
    ) -> Frame {
        let mut f = frame(direction, opcode, fin, wire);
        f.header.rsv1 = opcode != OpCode::Continuation;
        f.decompressed_len = Some(plain);
        f
    }

    #[test]
    fn plain_content_of_compressed_messages_is_shown_previewed_and_searched() {
        let mut store = LogStore::new(100, 64);
        push(
            &mut store,
            compressed(Direction::Incoming, OpCode::Text, false, b"\x01\x02", 6),
        );
        push(&mut store, text_out("between"));
        push(
            &mut store,
            compressed(Direction::Incoming, OpCode::Continuation, true, b"\x03", 5),
        );
        store.attach_plain(Direction::Incoming, b"hello world");
        for position in [0, 2] {
            let f = frame_at(&store, position);
            assert_eq!(f.plain, Some((&b"hello world"[..], 11)), "frame {position}");
            assert_eq!(f.preview(40), "hello world");
            assert_eq!(f.search_text(), "hello world");
        }
        assert_eq!(frame_at(&store, 1).plain, None);
        let found = matching(
            &store,
            Filter {
                text: "WORLD".into(),
                ..Filter::default()
            },
        );
        assert_eq!(found, vec![0, 2]);
        // The message view reads the plain content.
        let mut view = MessageView::default();
        view.update(&store);
        let rows = view.rows();
        let incoming = rows
            .iter()
            .find(|r| r.direction == Direction::Incoming)
            .expect("row");
        let content = store.message_content(incoming, usize::MAX);
        assert_eq!(content.data, b"hello world");
        assert!(!content.missing && !content.cut);
        // Evicting the frames forgets it (once the last one goes).
        store.set_capacity(1);
        assert!(store.plain_message(Direction::Incoming, 1).is_some());
        push(&mut store, text_out("after"));
        assert_eq!(store.plain_message(Direction::Incoming, 1), None);
    }

    #[test]
    fn message_content_joins_fragments_around_control_frames() {
        let mut store = LogStore::new(100, 64);
        push(
            &mut store,
            frame(Direction::Incoming, OpCode::Text, false, b"one "),
        );
        push(
            &mut store,
            frame(Direction::Incoming, OpCode::Ping, true, b"p"),
        );
        push(
            &mut store,
            frame(Direction::Incoming, OpCode::Continuation, false, b"two "),
        );
        push(
            &mut store,
            frame(Direction::Outgoing, OpCode::Text, true, b"other"),
        );
        push(
            &mut store,
            frame(Direction::Incoming, OpCode::Continuation, true, b"three"),
        );
        let mut view = MessageView::default();
        view.update(&store);
        let row = &view.rows()[0];
        assert_eq!(
            store.message_content(row, usize::MAX).data,
            b"one two three"
        );
        assert_eq!(store.message_content(row, 6).data, b"one tw");
        assert_eq!(preview_bytes(b"one two three", false, 7), "one two…");
    }

    #[test]
    fn the_opcode_filter_keeps_one_kind_of_frame() {
        let store = sample_store();
        let all = matching(&store, Filter::default());
        let pings = matching(
            &store,
            Filter {
                opcode: Some(OpCode::Ping.bits()),
                ..Filter::default()
            },
        );
        assert!(!pings.is_empty() && pings.len() < all.len());
        for index in pings {
            match store.by_index(index).map(|e| e.item) {
                Some(Item::Frame(f)) => assert_eq!(f.header.opcode, OpCode::Ping),
                other => panic!("not a ping: {other:?}"),
            }
        }
    }

    #[test]
    fn small_payloads_do_not_pin_the_read_buffer() {
        let mut store = LogStore::new(10, DEFAULT_MAX_PAYLOAD);
        let read_buffer = Bytes::from(vec![b'a'; 64 * 1024]);
        let slice = read_buffer.slice(100..110);
        let range = read_buffer.as_ptr_range();
        store.push_frame(
            t0(),
            Duration::ZERO,
            Frame {
                direction: Direction::Incoming,
                header: FrameHeader::new(OpCode::Text, 10),
                payload: slice,
                decompressed_len: None,
            },
        );
        let kept = frame_at(&store, 0).payload;
        assert_eq!(kept, b"aaaaaaaaaa");
        assert!(!range.contains(&kept.as_ptr()));
        assert!(read_buffer.is_unique());
    }

    #[test]
    fn payloads_above_the_arena_item_size_are_owned_and_accounted() {
        let mut store = LogStore::new(2, 64 * 1024);
        let empty = store.approx_memory();
        for _ in 0..4 {
            push(
                &mut store,
                frame(Direction::Outgoing, OpCode::Binary, true, &[1; 20_000]),
            );
        }
        let entries = store.entries.capacity() * mem::size_of::<Slot>();
        let grown = store.approx_memory() - empty;
        // The slots, the two payloads, and the chunk list's own small allocation.
        assert!(grown >= entries + 2 * 20_000, "{grown}");
        assert!(grown <= entries + 2 * 20_000 + 256, "{grown}");
        store.clear();
        assert_eq!(store.approx_memory(), mem::size_of::<LogStore>());
    }

    #[test]
    fn arena_chunks_are_released_with_their_last_entry() {
        let mut store = LogStore::new(100, DEFAULT_MAX_PAYLOAD);
        // 1 KiB payloads: 64 fit in a chunk.
        for _ in 0..1000 {
            push(
                &mut store,
                frame(Direction::Incoming, OpCode::Binary, true, &[0; 1024]),
            );
        }
        // 100 KiB kept: two or three chunks are referenced, not the 16 written.
        assert!(
            store.arena.chunks.len() <= 3,
            "{}",
            store.arena.chunks.len()
        );
        assert_eq!(store.arena.bytes, store.arena.chunks.len() * ARENA_CHUNK);
    }

    #[test]
    fn events_are_accounted() {
        let mut store = LogStore::new(1, 16);
        let base = store.approx_memory();
        event(&mut store, LifecycleEvent::Error("x".repeat(1000)));
        assert!(store.approx_memory() >= base + 1000);
        event(
            &mut store,
            LifecycleEvent::Connecting {
                url: "ws://a/".into(),
            },
        );
        assert!(store.approx_memory() < base + 1000);
    }

    // --- stats --------------------------------------------------------------------------------

    #[test]
    fn stats_count_every_frame_ever_pushed() {
        let mut store = LogStore::new(2, 4);
        push(&mut store, text_in("hello"));
        push(&mut store, text_out("hi"));
        push(
            &mut store,
            frame(Direction::Incoming, OpCode::Ping, true, b""),
        );
        event(&mut store, close_event());
        push(&mut store, text_out("0123456789"));
        assert_eq!(
            *store.stats(),
            Stats {
                frames_in: 2,
                frames_out: 2,
                bytes_in: 5,
                bytes_out: 12,
            }
        );
    }

    // --- fragments ----------------------------------------------------------------------------

    #[test]
    fn fragments_are_classified_per_direction_around_control_frames() {
        use Direction::{Incoming as In, Outgoing as Out};
        let mut store = LogStore::new(100, 16);
        let frames = [
            (In, OpCode::Text, false, Fragment::First, 1),
            (Out, OpCode::Binary, false, Fragment::First, 1),
            (In, OpCode::Ping, true, Fragment::Control, 2),
            (Out, OpCode::Pong, true, Fragment::Control, 2),
            (In, OpCode::Continuation, false, Fragment::Middle, 1),
            (Out, OpCode::Continuation, true, Fragment::Last, 1),
            (In, OpCode::Pong, true, Fragment::Control, 3),
            (In, OpCode::Continuation, true, Fragment::Last, 1),
            (Out, OpCode::Text, true, Fragment::Whole, 3),
            (In, OpCode::Binary, true, Fragment::Whole, 4),
            (In, OpCode::Close, true, Fragment::Control, 5),
            // A continuation with nothing in progress gets a number of its own.
            (Out, OpCode::Continuation, true, Fragment::Last, 4),
            (Out, OpCode::Continuation, false, Fragment::Middle, 5),
            (Out, OpCode::Continuation, true, Fragment::Last, 5),
            // A new message while one is in progress abandons it.
            (In, OpCode::Text, false, Fragment::First, 6),
            (In, OpCode::Binary, true, Fragment::Whole, 7),
            (In, OpCode::Continuation, true, Fragment::Last, 8),
            // Reserved opcodes: 0x3 is data, 0xB is control.
            (In, OpCode::ReservedData(3), true, Fragment::Whole, 9),
            (
                In,
                OpCode::ReservedControl(0xB),
                true,
                Fragment::Control,
                10,
            ),
        ];
        for (direction, opcode, fin, _, _) in frames {
            push(&mut store, frame(direction, opcode, fin, b"x"));
        }
        for (i, (direction, opcode, fin, fragment, message)) in frames.into_iter().enumerate() {
            let entry = frame_at(&store, i);
            assert_eq!(
                (entry.fragment, entry.message),
                (fragment, message),
                "frame {i}: {direction:?} {opcode:?} fin={fin}"
            );
        }
        assert_eq!(Fragment::Middle.name(), "middle");
    }

    // --- previews and events ------------------------------------------------------------------

    #[test]
    fn previews() {
        let mut store = LogStore::new(100, 8);
        push(&mut store, text_in("héllo\nwörld\t!"));
        push(&mut store, text_in("ab"));
        push(
            &mut store,
            frame(Direction::Incoming, OpCode::Binary, true, &[1, 2, 0xff]),
        );
        push(
            &mut store,
            frame(Direction::Incoming, OpCode::Close, true, b"\x03\xe8bye"),
        );
        push(
            &mut store,
            frame(Direction::Incoming, OpCode::Close, true, b""),
        );
        push(
            &mut store,
            frame(Direction::Incoming, OpCode::Ping, true, b"ping"),
        );
        push(
            &mut store,
            frame(Direction::Incoming, OpCode::Pong, true, &[0, 1]),
        );
        push(&mut store, text_in("a\u{1}b\u{7f}\r"));
        push(
            &mut store,
            frame(Direction::Incoming, OpCode::Text, true, b"ok\xffok"),
        );
        // "aé" cut inside the é by a 2-byte max_payload.
        let mut small = LogStore::new(10, 2);
        push(&mut small, text_in("aé"));

        assert_eq!(frame_at(&store, 0).preview(100), "héllo↵w…");
        assert_eq!(frame_at(&store, 0).preview(3), "hél…");
        assert_eq!(frame_at(&store, 1).preview(100), "ab");
        assert_eq!(frame_at(&store, 1).preview(2), "ab");
        assert_eq!(frame_at(&store, 1).preview(1), "a…");
        assert_eq!(frame_at(&store, 2).preview(100), "01 02 ff");
        assert_eq!(frame_at(&store, 2).preview(6), "01 02…");
        assert_eq!(frame_at(&store, 2).preview(7), "01 02…");
        assert_eq!(frame_at(&store, 3).preview(100), "1000 bye");
        assert_eq!(frame_at(&store, 4).preview(100), "");
        assert_eq!(frame_at(&store, 5).preview(100), "ping");
        assert_eq!(frame_at(&store, 6).preview(100), "00 01");
        assert_eq!(frame_at(&store, 7).preview(100), "a·b··");
        assert_eq!(frame_at(&store, 8).preview(100), "ok\u{FFFD}ok");
        assert_eq!(frame_at(&small, 0).preview(100), "a…");
    }

    #[test]
    fn event_names_and_summaries() {
        let cases = [
            (
                LifecycleEvent::Connecting {
                    url: "ws://127.0.0.1:9002/".into(),
                },
                "connecting",
                "connecting to ws://127.0.0.1:9002/",
            ),
            (
                LifecycleEvent::Open {
                    protocol: Some("chat".into()),
                    extensions: vec!["permessage-deflate".into()],
                },
                "open",
                "open, subprotocol \"chat\", extensions permessage-deflate",
            ),
            (
                LifecycleEvent::Open {
                    protocol: None,
                    extensions: vec![],
                },
                "open",
                "open, no subprotocol, no extensions",
            ),
            (
                LifecycleEvent::Message {
                    direction: Direction::Incoming,
                    text: true,
                    len: 5,
                },
                "message",
                "message received, text, 5 bytes",
            ),
            (
                LifecycleEvent::Message {
                    direction: Direction::Outgoing,
                    text: false,
                    len: 1,
                },
                "message",
                "message sent, binary, 1 byte",
            ),
            (
                LifecycleEvent::Error("connection refused".into()),
                "error",
                "error: connection refused",
            ),
            (
                close_event(),
                "close",
                "close 1000 (Normal Closure) \"bye\", clean, by the server",
            ),
            (
                LifecycleEvent::Close {
                    code: CloseCode::ABNORMAL,
                    reason: String::new(),
                    clean: false,
                    initiator: Initiator::Nobody,
                },
                "close",
                "close 1006 (Abnormal Closure), not clean, connection lost",
            ),
            (
                LifecycleEvent::Close {
                    code: CloseCode(4321),
                    reason: "done".into(),
                    clean: true,
                    initiator: Initiator::Local,
                },
                "close",
                "close 4321 (Private Use (4000-4999)) \"done\", clean, by us",
            ),
        ];
        for (event, name, summary) in cases {
            assert_eq!(event.name(), name);
            assert_eq!(event.summary(), summary);
        }
    }

    // --- filters ------------------------------------------------------------------------------

    fn sample_store() -> LogStore {
        let mut store = LogStore::new(100, 64);
        event(
            &mut store,
            LifecycleEvent::Connecting {
                url: "ws://example.com/".into(),
            },
        ); // 0
        push(&mut store, text_out("Hello World")); // 1
        push(&mut store, text_in("hello world")); // 2
        push(
            &mut store,
            frame(Direction::Incoming, OpCode::Binary, true, b"HELLO\xff"),
        ); // 3
        push(
            &mut store,
            frame(Direction::Outgoing, OpCode::Ping, true, b"hello?"),
        ); // 4
        push(
            &mut store,
            frame(Direction::Incoming, OpCode::Close, true, b"\x03\xe8bye"),
        ); // 5
        event(&mut store, close_event()); // 6
        store
    }

    fn matching(store: &LogStore, filter: Filter) -> Vec<u64> {
        let compiled = filter.compile().expect("valid filter");
        store
            .iter()
            .filter(|e| compiled.matches(e))
            .map(|e| e.index)
            .collect()
    }

    #[test]
    fn substring_filters_ignore_case() {
        let store = sample_store();
        let text = |text: &str| Filter {
            text: text.into(),
            ..Filter::default()
        };
        assert_eq!(matching(&store, Filter::default()), [0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(matching(&store, text("hello")), [1, 2, 3, 4]);
        assert_eq!(matching(&store, text("WORLD")), [1, 2]);
        // Regex metacharacters are literal in a substring.
        assert_eq!(matching(&store, text("hello?")), [4]);
        // Close frames by code and reason; events by summary.
        assert_eq!(matching(&store, text("1000 bye")), [5]);
        assert_eq!(matching(&store, text("BYE")), [5, 6]);
        assert_eq!(matching(&store, text("example.com")), [0]);
        assert_eq!(matching(&store, text("nothing")), Vec::<u64>::new());
    }

    #[test]
    fn regex_filters() {
        let store = sample_store();
        let regex = |text: &str| Filter {
            text: text.into(),
            regex: true,
            ..Filter::default()
        };
        assert_eq!(matching(&store, regex("^hello")), [2, 4]);
        assert_eq!(matching(&store, regex("(?i)^hello ")), [1, 2]);
        // Invalid UTF-8 is matched as U+FFFD.
        assert_eq!(matching(&store, regex("O\u{FFFD}$")), [3]);
        assert_eq!(matching(&store, regex(r"^close \d+")), [6]);
    }

    #[test]
    fn a_bad_regex_is_a_readable_error() {
        let err = Filter {
            text: "(abc".into(),
            regex: true,
            ..Filter::default()
        }
        .compile()
        .unwrap_err();
        assert_eq!(
            err,
            "invalid regular expression: unclosed group (at character 1)"
        );
        assert!(!err.contains('\n'));
        let err = Filter {
            text: "ab[z-a]".into(),
            regex: true,
            ..Filter::default()
        }
        .compile()
        .unwrap_err();
        assert!(err.starts_with("invalid regular expression: "), "{err}");
        assert!(err.contains("(at character 4)"), "{err}");
        // The same text as a substring is fine.
        assert!(
            Filter {
                text: "(abc".into(),
                ..Filter::default()
            }
            .compile()
            .is_ok()
        );
    }

    #[test]
    fn toggles() {
        let store = sample_store();
        let only = |f: fn(&mut Filter)| {
            let mut filter = Filter::default();
            f(&mut filter);
            filter
        };
        assert_eq!(matching(&store, only(|f| f.incoming = false)), [0, 1, 4, 6]);
        assert_eq!(
            matching(&store, only(|f| f.outgoing = false)),
            [0, 2, 3, 5, 6]
        );
        assert_eq!(matching(&store, only(|f| f.data = false)), [0, 4, 5, 6]);
        assert_eq!(
            matching(&store, only(|f| f.control = false)),
            [0, 1, 2, 3, 6]
        );
        assert_eq!(
            matching(&store, only(|f| f.events = false)),
            [1, 2, 3, 4, 5]
        );
        let filter = Filter {
            text: "hello".into(),
            incoming: false,
            control: false,
            ..Filter::default()
        };
        assert_eq!(matching(&store, filter), [1]);

        // Message events follow the direction toggles.
        let mut store = LogStore::new(10, 10);
        event(
            &mut store,
            LifecycleEvent::Message {
                direction: Direction::Incoming,
                text: true,
                len: 3,
            },
        );
        assert_eq!(
            matching(&store, only(|f| f.incoming = false)),
            Vec::<u64>::new()
        );
        assert_eq!(matching(&store, only(|f| f.outgoing = false)), [0]);
    }

    #[test]
    fn filter_serde_and_defaults() {
        let filter = Filter {
            text: "x".into(),
            regex: true,
            control: false,
            ..Filter::default()
        };
        let ron = ron::to_string(&filter).unwrap();
        assert_eq!(ron::from_str::<Filter>(&ron).unwrap(), filter);
        // Missing fields take their defaults.
        let partial: Filter = ron::from_str("(text: \"y\")").unwrap();
        assert_eq!(partial.text, "y");
        assert!(partial.incoming && partial.events && !partial.regex);
        assert!(Filter::default().matches_everything());
        assert!(CompiledFilter::default().matches_everything());
        assert!(!filter.matches_everything());
    }

    // --- filtered view ------------------------------------------------------------------------

    fn view_positions(view: &FilteredView) -> Vec<usize> {
        (0..view.len()).map(|i| view.position(i).unwrap()).collect()
    }

    #[test]
    fn filtered_view_is_incremental() {
        let mut store = LogStore::new(100, 64);
        let filter = Filter {
            text: "keep".into(),
            ..Filter::default()
        }
        .compile()
        .unwrap();
        let mut view = FilteredView::default();
        view.update(&store, &filter);
        assert!(view.is_empty());
        push(&mut store, text_in("keep 0"));
        push(&mut store, text_in("drop 1"));
        view.update(&store, &filter);
        assert_eq!(view_positions(&view), [0]);
        push(&mut store, text_in("keep 2"));
        push(&mut store, text_in("KEEP 3"));
        view.update(&store, &filter);
        assert_eq!(view_positions(&view), [0, 2, 3]);
        assert_eq!(view.index(1), Some(2));
        assert_eq!(view.find(3), Some(2));
        assert_eq!(view.find(1), None);
        assert_eq!(view.position(3), None);
        // Only new entries were scanned: a match count that would change on a rescan does
        // not (the view trusts what it saw).
        assert_eq!(view.next, 4);
    }

    #[test]
    fn filtered_view_drops_evicted_entries() {
        let mut store = LogStore::new(4, 64);
        let filter = Filter {
            text: "keep".into(),
            ..Filter::default()
        }
        .compile()
        .unwrap();
        let mut view = FilteredView::default();
        for i in 0..4 {
            push(
                &mut store,
                text_in(if i % 2 == 0 { "keep" } else { "drop" }),
            );
        }
        view.update(&store, &filter);
        assert_eq!(view_positions(&view), [0, 2]);
        // Two more: indices 0 and 1 are evicted; positions shift.
        push(&mut store, text_in("keep"));
        push(&mut store, text_in("drop"));
        view.update(&store, &filter);
        assert_eq!(view_positions(&view), [0, 2]);
        assert_eq!(view.index(0), Some(2));
        assert_eq!(view.index(1), Some(4));
        // Many more than the capacity between two updates.
        for _ in 0..10 {
            push(&mut store, text_in("keep"));
        }
        view.update(&store, &filter);
        assert_eq!(view_positions(&view), [0, 1, 2, 3]);
        assert_eq!(view.index(0), Some(12));
        // Clear: everything goes.
        store.clear();
        view.update(&store, &filter);
        assert!(view.is_empty());
        push(&mut store, text_in("keep"));
        view.update(&store, &filter);
        assert_eq!(view_positions(&view), [0]);
        assert_eq!(view.index(0), Some(16));
    }

    #[test]
    fn filtered_view_rebuilds_on_a_new_filter_or_invalidate() {
        let mut store = LogStore::new(100, 64);
        for text in ["alpha", "beta", "alphabet"] {
            push(&mut store, text_in(text));
        }
        let mut view = FilteredView::default();
        let alpha = Filter {
            text: "alpha".into(),
            ..Filter::default()
        };
        view.update(&store, &alpha.compile().unwrap());
        assert_eq!(view_positions(&view), [0, 2]);
        let beta = Filter {
            text: "bet".into(),
            ..Filter::default()
        };
        view.update(&store, &beta.compile().unwrap());
        assert_eq!(view_positions(&view), [1, 2]);
        // The identity view stores nothing.
        view.update(&store, &CompiledFilter::default());
        assert_eq!(view_positions(&view), [0, 1, 2]);
        assert!(view.matches.is_empty());
        assert_eq!(view.find(1), Some(1));
        assert_eq!(view.index(2), Some(2));
        push(&mut store, text_in("gamma"));
        view.update(&store, &CompiledFilter::default());
        assert_eq!(view.len(), 4);
        // Invalidate rescans everything with the same filter.
        view.invalidate();
        view.update(&store, &alpha.compile().unwrap());
        assert_eq!(view_positions(&view), [0, 2]);
        view.invalidate();
        view.update(&store, &alpha.compile().unwrap());
        assert_eq!(view_positions(&view), [0, 2]);
        // A different (new) store is noticed when it is behind the view.
        let mut other = LogStore::new(100, 64);
        push(&mut other, text_in("alpha"));
        view.update(&other, &alpha.compile().unwrap());
        assert_eq!(view_positions(&view), [0]);
    }

    #[test]
    fn bounded_updates_catch_up() {
        let mut store = LogStore::new(100, 64);
        for i in 0..10 {
            push(
                &mut store,
                text_in(if i % 3 == 0 { "keep" } else { "drop" }),
            );
        }
        let filter = Filter {
            text: "keep".into(),
            ..Filter::default()
        }
        .compile()
        .unwrap();
        let mut view = FilteredView::default();
        assert!(!view.update_bounded(&store, &filter, 4));
        assert_eq!(view_positions(&view), [0, 3]);
        // Entries arrive and get evicted meanwhile.
        push(&mut store, text_in("keep")); // 10
        store.set_capacity(8); // evicts 0, 1, 2
        assert!(!view.update_bounded(&store, &filter, 4));
        assert_eq!(view_positions(&view), [0, 3]); // indices 3, 6
        assert!(view.update_bounded(&store, &filter, 4));
        assert_eq!(view.index(2), Some(9));
        assert_eq!(view.index(3), Some(10));
        assert_eq!(view.len(), 4);
        assert!(view.update_bounded(&store, &filter, 0));
        assert!(view.update_bounded(&store, &CompiledFilter::default(), 0));
        assert_eq!(view.len(), 8);
    }

    #[test]
    fn identity_view_follows_eviction() {
        let mut store = LogStore::new(3, 64);
        let mut view = FilteredView::default();
        for i in 0..5 {
            push(&mut store, text_in(&i.to_string()));
            view.update(&store, &CompiledFilter::default());
        }
        assert_eq!(view_positions(&view), [0, 1, 2]);
        assert_eq!(view.index(0), Some(2));
        assert_eq!(view.find(1), None);
        assert_eq!(view.find(4), Some(2));
    }

    // --- message view -------------------------------------------------------------------------

    #[test]
    fn message_view_groups_fragments() {
        use Direction::{Incoming as In, Outgoing as Out};
        let mut store = LogStore::new(100, 64);
        let mut view = MessageView::default();
        push(&mut store, frame(In, OpCode::Text, false, b"hel")); // 0
        push(&mut store, frame(Out, OpCode::Binary, true, b"\x01\x02")); // 1
        push(&mut store, frame(In, OpCode::Ping, true, b"")); // 2
        push(&mut store, frame(In, OpCode::Continuation, false, b"lo ")); // 3
        view.update(&store);
        assert_eq!(
            view.rows(),
            [
                MessageRow {
                    direction: In,
                    text: true,
                    first: 0,
                    last: 3,
                    fragments: 2,
                    len: 6,
                    plain: None,
                    complete: false,
                },
                MessageRow {
                    direction: Out,
                    text: false,
                    first: 1,
                    last: 1,
                    fragments: 1,
                    len: 2,
                    plain: None,
                    complete: true,
                },
            ]
        );
        event(&mut store, close_event()); // 4
        push(&mut store, frame(Out, OpCode::Pong, true, b"")); // 5
        push(&mut store, frame(In, OpCode::Continuation, true, b"world")); // 6
        push(&mut store, frame(Out, OpCode::Text, true, b"ok")); // 7
        view.update(&store);
        let rows = view.rows();
        assert_eq!(rows.len(), 3);
        assert_eq!(
            (
                rows[0].last,
                rows[0].fragments,
                rows[0].len,
                rows[0].complete
            ),
            (6, 3, 11, true)
        );
        assert_eq!(
            (rows[2].first, rows[2].text, rows[2].complete),
            (7, true, true)
        );
    }

    #[test]
    fn message_view_follows_eviction() {
        use Direction::Incoming as In;
        let mut store = LogStore::new(3, 64);
        let mut view = MessageView::default();
        push(&mut store, frame(In, OpCode::Text, true, b"a")); // 0
        push(&mut store, frame(In, OpCode::Text, false, b"b")); // 1
        view.update(&store);
        assert_eq!(view.rows().len(), 2);
        push(&mut store, frame(In, OpCode::Continuation, false, b"c")); // 2
        push(&mut store, frame(In, OpCode::Continuation, false, b"d")); // 3: evicts 0
        view.update(&store);
        let rows = view.rows();
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].first, rows[0].last, rows[0].fragments), (1, 3, 3));
        // A rebuild after the first fragment was evicted: the start is unknown.
        push(&mut store, frame(In, OpCode::Continuation, true, b"e")); // 4: evicts 1
        let mut fresh = MessageView::default();
        fresh.update(&store);
        let rows = fresh.rows();
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (
                rows[0].first,
                rows[0].last,
                rows[0].fragments,
                rows[0].complete,
                rows[0].text
            ),
            (2, 4, 3, false, false)
        );
        // Cleared: the rows go at the next update.
        store.clear();
        view.update(&store);
        assert!(view.rows().is_empty());
    }

    #[test]
    fn message_view_compacts() {
        let mut store = LogStore::new(10, 8);
        let mut view = MessageView::default();
        for i in 0..5000 {
            push(&mut store, text_in(&i.to_string()));
            if i % 7 == 0 {
                view.update(&store);
            }
        }
        view.update(&store);
        assert_eq!(view.rows().len(), 10);
        assert_eq!(view.rows()[0].first, 4990);
        assert!(view.rows.len() < 2100, "{}", view.rows.len());
    }
}
