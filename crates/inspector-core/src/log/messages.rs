//! The message view: the fragments of each data message grouped into a [`MessageRow`], and
//! a message's content reassembled from the log.
//!
//! Which frames make a message is not worked out here: every logged frame carries the
//! engine's answer ([`FrameEntry::message`] and [`FrameEntry::fragment`], from the position
//! the engine reported; see the [store's docs](super::store)). The view only gathers the
//! kept frames of each message into one row as they are pushed, and notices when the start
//! of a message has been evicted.

use std::fmt;

use ws_proto::{Direction, OpCode};

use super::entry::{Fragment, FrameEntry, Item};
use super::store::{LogStore, slot};

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
/// fragments are not part of a message). Updated incrementally like [`FilteredView`](super::FilteredView); rows are
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
    use ws_proto::{Direction, OpCode};

    use super::*;
    use crate::log::testing::*;

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
