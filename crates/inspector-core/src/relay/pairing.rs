//! The pairing view's data: each message as it arrived on one leg and as the relay sent it
//! on the other, with the delay the relay added.
//!
//! The relay forwards message by message, in order, each way: the n-th message that ended
//! on the client leg (incoming) is the n-th sent on the server leg (outgoing), and the
//! other way round. Pairs are made by that order from both legs' logs, so they are exact
//! while both logs hold every frame (not paused, not cleared, nothing evicted by the log's
//! bound) and the relay sent nothing of its own (the 1001 it sends when a leg fails has no
//! partner and shows unpaired).

use std::time::{Duration, SystemTime};

use ws_tokio::ws_proto::{Direction, OpCode};

use crate::SessionState;
use crate::log::{Fragment, Item};

/// Which way a message went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Towards {
    /// From the client to the server.
    Server,
    /// From the server to the client.
    Client,
}

/// One message on both legs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pair {
    /// Which way it went.
    pub towards: Towards,
    /// Its opcode as received (of its first frame).
    pub opcode: OpCode,
    /// A short preview of its last frame as received.
    pub preview: String,
    /// When its last frame arrived.
    pub received: SystemTime,
    /// When the relay sent it on, if it has (or if the log still shows it).
    pub forwarded: Option<SystemTime>,
}

impl Pair {
    /// How long the relay took to send it on.
    pub fn delay(&self) -> Option<Duration> {
        self.forwarded?.duration_since(self.received).ok()
    }
}

/// The ends of the messages of both legs, in order, found as the legs' logs grow: each
/// frame is looked at once, so showing the pairs costs the same with 10 messages logged or
/// with 1,000,000 (it once walked both logs whole, with a preview of every message, on
/// every UI frame: 186 ms a frame at 1,000,000 frames).
#[derive(Debug, Default)]
pub struct PairIndex {
    /// Per stream — client leg in, server leg out, server leg in, client leg out — each
    /// message's last frame: its global index in its leg's log, and the opcode of its
    /// first frame.
    ends: [Vec<(u64, OpCode)>; 4],
    /// Per leg, the global index of the first entry not yet looked at.
    seen: [u64; 2],
    /// Per leg and direction (in, out), the opcode of the fragmented message under way.
    opening: [[Option<OpCode>; 2]; 2],
}

/// The streams of [`PairIndex::ends`], as (leg, direction): client = 0, server = 1.
const STREAMS: [(usize, Direction); 4] = [
    (0, Direction::Incoming),
    (1, Direction::Outgoing),
    (1, Direction::Incoming),
    (0, Direction::Outgoing),
];

impl PairIndex {
    /// Takes in what the legs' logs got since the last call.
    pub fn update(&mut self, client: &SessionState, server: &SessionState) {
        for (leg, state) in [client, server].into_iter().enumerate() {
            let log = &state.log;
            if log.total_pushed() < self.seen[leg] {
                // A log cleared and made anew: start over.
                *self = Self::default();
                return self.update(client, server);
            }
            let from = self.seen[leg].max(log.first_index());
            self.seen[leg] = log.total_pushed();
            let Some(position) = log.position_of(from) else {
                continue;
            };
            for entry in log.iter_from(position) {
                let Item::Frame(frame) = &entry.item else {
                    continue;
                };
                let way = usize::from(frame.direction == Direction::Outgoing);
                let opcode = match frame.fragment {
                    Fragment::First => {
                        self.opening[leg][way] = Some(frame.header.opcode);
                        continue;
                    }
                    Fragment::Middle => continue,
                    Fragment::Whole | Fragment::Control => frame.header.opcode,
                    Fragment::Last => self.opening[leg][way].unwrap_or(frame.header.opcode),
                };
                let stream = STREAMS
                    .iter()
                    .position(|s| *s == (leg, frame.direction))
                    .unwrap_or(0);
                self.ends[stream].push((entry.index, opcode));
            }
        }
    }

    /// The last `limit` messages of each direction, paired, oldest first in each direction
    /// (client → server first, then server → client). Messages a leg's bounded log has
    /// evicted are left out.
    pub fn pairs(&self, client: &SessionState, server: &SessionState, limit: usize) -> Vec<Pair> {
        let legs = [client, server];
        let mut out = Vec::new();
        for (towards, received, sent) in [(Towards::Server, 0, 1), (Towards::Client, 2, 3)] {
            let ends = &self.ends[received];
            let log = &legs[STREAMS[received].0].log;
            let first = ends.len().saturating_sub(limit);
            for (n, (index, opcode)) in ends.iter().enumerate().skip(first) {
                let Some(entry) = log.by_index(*index) else {
                    continue;
                };
                let Item::Frame(frame) = &entry.item else {
                    continue;
                };
                let forwarded = self.ends[sent].get(n).and_then(|(index, _)| {
                    legs[STREAMS[sent].0].log.by_index(*index).map(|e| e.time)
                });
                out.push(Pair {
                    towards,
                    opcode: *opcode,
                    preview: frame.preview(60),
                    received: entry.time,
                    forwarded,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use ws_tokio::ws_proto::{Frame, FrameHeader};

    fn push(state: &mut SessionState, direction: Direction, opcode: OpCode, fin: bool, at_ms: u64) {
        let mut header = FrameHeader::new(opcode, 1);
        header.fin = fin;
        let frame = Frame::new(direction, header, Bytes::from_static(b"x"));
        let time = SystemTime::UNIX_EPOCH + Duration::from_millis(at_ms);
        state
            .log
            .push_frame(time, Duration::from_millis(at_ms), frame);
    }

    #[test]
    fn messages_pair_in_order_as_the_logs_grow_and_the_rest_is_unpaired() {
        let mut client = SessionState::new("ws://relay/", None);
        let mut server = SessionState::new("ws://upstream/", None);
        let mut index = PairIndex::default();
        // A text in two fragments from the client, forwarded 2 ms later.
        push(&mut client, Direction::Incoming, OpCode::Text, false, 0);
        push(
            &mut client,
            Direction::Incoming,
            OpCode::Continuation,
            true,
            1,
        );
        index.update(&client, &server);
        assert_eq!(index.pairs(&client, &server, 10)[0].forwarded, None);
        push(&mut server, Direction::Outgoing, OpCode::Text, false, 2);
        push(
            &mut server,
            Direction::Outgoing,
            OpCode::Continuation,
            true,
            3,
        );
        // A ping from the server, not (yet) forwarded.
        push(&mut server, Direction::Incoming, OpCode::Ping, true, 10);
        index.update(&client, &server);
        let pairs = index.pairs(&client, &server, 10);
        assert_eq!(pairs.len(), 2);
        assert_eq!(pairs[0].towards, Towards::Server);
        assert_eq!(pairs[0].opcode, OpCode::Text, "the first frame's opcode");
        assert_eq!(pairs[0].delay(), Some(Duration::from_millis(2)));
        assert_eq!(pairs[1].towards, Towards::Client);
        assert_eq!(pairs[1].opcode, OpCode::Ping);
        assert_eq!(pairs[1].forwarded, None);
        assert_eq!(index.pairs(&client, &server, 0), []);
    }
}
