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
//! - [`MessageView`] groups the fragments of each data message into a [`MessageRow`]. Which
//!   frames make a message is the engine's say: each frame report carries its position in
//!   its message ([`ws_proto::MessagePosition`]), and the store keeps it (the store's docs
//!   say how, and what happens to frames read from captures that predate positions).
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
//!
//! # Files
//!
//! [`store`] the bounded store (and the log's numbers for the engine's messages); `arena`
//! where kept payloads live; [`entry`] the entries the store hands out; [`preview`] one-line
//! previews; [`filter`] filters and the filtered view; [`messages`] the message view.

mod arena;
pub mod entry;
pub mod filter;
pub mod messages;
pub mod preview;
pub mod store;
#[cfg(test)]
mod testing;

pub use entry::{Entry, Fragment, FrameEntry, Item, LifecycleEvent};
pub use filter::{CompiledFilter, Filter, FilteredView};
pub use messages::{MessageContent, MessageRow, MessageView};
pub use preview::preview_bytes;
pub use store::{
    DEFAULT_CAPACITY, DEFAULT_MAX_PAYLOAD, DEFAULT_PAYLOAD_BUDGET, LogStore, TRIMMED_KEEP,
};
