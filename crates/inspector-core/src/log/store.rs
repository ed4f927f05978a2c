//! The bounded store: entries in push order, the newest N kept, payloads in an arena.
//!
//! # Message boundaries
//!
//! Which message a frame belongs to, and where in it, is the engine's say: each frame the
//! transport reports carries its [`MessagePosition`] ([`Frame::message`]), given by the
//! engine as it assembled or framed the message. The store only renumbers them: an engine
//! numbers its connection's messages from 1, a log numbers on across every connection it
//! holds (a tab keeps the last connection's log above the next one's), so the store maps
//! each engine message to a log message number ([`FrameEntry::message`]) and keeps the
//! engine's [`Fragment`].
//!
//! A frame without a position — one read from a capture written before positions were
//! recorded, or made by hand — is given one by the store's own
//! [`MessageNumbering`] of its direction, the very rule the engine applies: old captures
//! read back the same as new ones. [`LogStore::place`] is where that happens, for every
//! frame, logged or not (a paused session still counts its messages).

use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt;
use std::mem;
use std::time::{Duration, SystemTime};

use ws_proto::{
    Direction, Fragment, Frame, FrameHeader, MessageNumbering, MessagePosition, OpCode,
};

use super::arena::Arena;
use super::entry::{Entry, FrameEntry, Item, LifecycleEvent};

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
pub(super) const ARENA_CHUNK: usize = 64 * 1024;

/// Payloads larger than this get a chunk of their own instead of a place in the shared
/// chunks, so that a chunk never wastes more than this at its end.
pub(super) const ARENA_MAX_ITEM: usize = 8 * 1024;

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
    /// The log's message numbers, per direction (incoming, outgoing).
    messages: [MessageIds; 2],
    /// The positions of frames that come without one, per direction.
    numbering: [MessageNumbering; 2],
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
            messages: [MessageIds::default(); 2],
            numbering: [MessageNumbering::new(), MessageNumbering::new()],
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

    /// The place of `frame` in its message: the engine's ([`Frame::message`]), or, for a
    /// frame that has none (from a capture written before positions were recorded, or
    /// made by hand), the one this log's numbering of its direction gives it — written
    /// into the frame, so that pushing it afterwards does not number it twice. Call it for
    /// every frame of the connection, logged or not; [`push_frame`](Self::push_frame) calls
    /// it for a frame without a position.
    pub fn place(&mut self, frame: &mut Frame) -> MessagePosition {
        *frame
            .message
            .get_or_insert_with(|| self.numbering[slot(frame.direction)].position(&frame.header))
    }

    /// Starts the frames of a new connection: its engine numbers its messages from 1
    /// again, and a message the last connection left unfinished never continues.
    pub fn begin_connection(&mut self) {
        for ids in &mut self.messages {
            ids.open = None;
        }
        self.numbering = [MessageNumbering::new(), MessageNumbering::new()];
    }

    /// Logs a frame, sent or received, in its message ([`place`](Self::place)), keeping a
    /// copy of at most [`max_payload`](Self::max_payload) bytes of its payload. The oldest
    /// entry is evicted if the store is full.
    pub fn push_frame(&mut self, time: SystemTime, elapsed: Duration, mut frame: Frame) {
        self.place(&mut frame);
        self.push_frame_ref(time, elapsed, &frame);
    }

    /// [`push_frame`](Self::push_frame) for a borrowed frame.
    pub fn push_frame_ref(&mut self, time: SystemTime, elapsed: Duration, frame: &Frame) {
        let header = &frame.header;
        let direction = frame.direction;
        let position = match frame.message {
            Some(position) => position,
            None => self.numbering[slot(direction)].position(header),
        };
        let fragment = position.fragment;
        let message = self.messages[slot(direction)].id(&position);
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
        let mut flags = fragment_bits(fragment) | direction_bit(direction);
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
    /// entry does not reuse an index), cleared entries are not counted as
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
                fragment: fragment_from_bits(fragment),
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

/// `Slot::flags`: the low three bits are the kind; frames use [`fragment_bits`] (0–4).
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

/// A fragment's packed form (0–4) in `Slot::flags`.
fn fragment_bits(fragment: Fragment) -> u8 {
    match fragment {
        Fragment::Whole => 0,
        Fragment::First => 1,
        Fragment::Middle => 2,
        Fragment::Last => 3,
        Fragment::Control => 4,
    }
}

fn fragment_from_bits(bits: u8) -> Fragment {
    match bits {
        0 => Fragment::Whole,
        1 => Fragment::First,
        2 => Fragment::Middle,
        3 => Fragment::Last,
        _ => Fragment::Control,
    }
}

/// The log's message numbers of one direction, given to the engine's messages (see the
/// [module docs](self)).
#[derive(Clone, Copy, Debug, Default)]
struct MessageIds {
    /// The number of the last message or control frame.
    last_id: u64,
    /// The data message in progress: the engine's number, the log's.
    open: Option<(u64, u64)>,
}

impl MessageIds {
    /// The log's number for the message of a frame at `position`.
    fn id(&mut self, position: &MessagePosition) -> u64 {
        if let (Fragment::Middle | Fragment::Last, Some((number, id))) =
            (position.fragment, self.open)
            && number == position.number
        {
            if position.fragment == Fragment::Last {
                self.open = None;
            }
            return id;
        }
        self.last_id += 1;
        let id = self.last_id;
        match position.fragment {
            // A control frame between fragments leaves the message open.
            Fragment::Control => {}
            // A continuation whose start this log did not see begins a message of its own.
            Fragment::First | Fragment::Middle => self.open = Some((position.number, id)),
            Fragment::Whole | Fragment::Last => self.open = None,
        }
        id
    }
}

pub(super) fn slot(direction: Direction) -> usize {
    match direction {
        Direction::Incoming => 0,
        Direction::Outgoing => 1,
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use ws_proto::{Direction, Frame, FrameHeader, OpCode};

    use super::*;
    use crate::log::testing::*;
    use crate::log::{Filter, FilteredView, MessageView, preview_bytes};

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
    /// (evicting); prints the rate and memory.
    /// `cargo test --release -p ws-inspector-core --lib log::store -- --ignored --nocapture`
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
                    message: None,
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
    fn clear_keeps_indices() {
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
                    message: None,
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
                message: None,
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

    /// A frame as an engine reports it: with its position.
    fn positioned(
        direction: Direction,
        opcode: OpCode,
        fin: bool,
        number: u64,
        fragment: Fragment,
    ) -> Frame {
        let mut frame = frame(direction, opcode, fin, b"x");
        frame.message = Some(MessagePosition {
            number,
            fragment,
            kind: Some(ws_proto::MessageKind::Text),
            offset: 0,
        });
        frame
    }

    #[test]
    fn engine_positions_are_kept_and_numbered_on_across_connections() {
        use Direction::Incoming as In;
        let mut store = LogStore::new(100, 16);
        // The first connection ends in the middle of its message 2.
        push(
            &mut store,
            positioned(In, OpCode::Text, true, 1, Fragment::Whole),
        );
        push(
            &mut store,
            positioned(In, OpCode::Text, false, 2, Fragment::First),
        );
        push(
            &mut store,
            positioned(In, OpCode::Ping, true, 3, Fragment::Control),
        );
        // The next one numbers from 1 again; its messages get numbers of their own, and a
        // continuation of its message 2 does not join the last connection's.
        store.begin_connection();
        push(
            &mut store,
            positioned(In, OpCode::Text, true, 1, Fragment::Whole),
        );
        push(
            &mut store,
            positioned(In, OpCode::Continuation, true, 2, Fragment::Last),
        );
        push(
            &mut store,
            positioned(In, OpCode::Binary, false, 3, Fragment::First),
        );
        push(
            &mut store,
            positioned(In, OpCode::Continuation, true, 3, Fragment::Last),
        );
        let got: Vec<(u64, Fragment)> = (0..7)
            .map(|i| {
                let f = frame_at(&store, i);
                (f.message, f.fragment)
            })
            .collect();
        assert_eq!(
            got,
            [
                (1, Fragment::Whole),
                (2, Fragment::First),
                (3, Fragment::Control),
                (4, Fragment::Whole),
                (5, Fragment::Last),
                (6, Fragment::First),
                (6, Fragment::Last),
            ]
        );
    }

    #[test]
    fn a_frame_without_a_position_is_placed_by_the_engine_rule_once() {
        let mut store = LogStore::new(100, 16);
        let mut first = frame(Direction::Outgoing, OpCode::Binary, false, b"ab");
        let placed = store.place(&mut first);
        assert_eq!(first.message, Some(placed));
        // Placing it again (as `push_frame` does) keeps it where it is.
        assert_eq!(store.place(&mut first), placed);
        push(&mut store, first);
        let mut last = frame(Direction::Outgoing, OpCode::Continuation, true, b"c");
        let position = store.place(&mut last);
        assert_eq!(
            (position.number, position.fragment, position.offset),
            (placed.number, Fragment::Last, 2)
        );
    }
}
