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

/// A message's end as logged: (opcode of the frame, preview, time).
type End = (OpCode, String, SystemTime);

/// The last `limit` messages of each direction, paired, oldest first in each direction
/// (client → server first, then server → client).
pub fn pairs(client: &SessionState, server: &SessionState, limit: usize) -> Vec<Pair> {
    let mut out = pair_one_way(
        ends(client, Direction::Incoming),
        ends(server, Direction::Outgoing),
        Towards::Server,
        limit,
    );
    out.extend(pair_one_way(
        ends(server, Direction::Incoming),
        ends(client, Direction::Outgoing),
        Towards::Client,
        limit,
    ));
    out
}

fn pair_one_way(received: Vec<End>, sent: Vec<End>, towards: Towards, limit: usize) -> Vec<Pair> {
    let mut sent = sent.into_iter();
    let all: Vec<Pair> = received
        .into_iter()
        .map(|(opcode, preview, time)| Pair {
            towards,
            opcode,
            preview,
            received: time,
            forwarded: sent.next().map(|(_, _, at)| at),
        })
        .collect();
    let skip = all.len().saturating_sub(limit);
    all.into_iter().skip(skip).collect()
}

/// The frames of `state`'s log that end a message going `direction`.
fn ends(state: &SessionState, direction: Direction) -> Vec<End> {
    let mut out = Vec::new();
    let mut opcode = OpCode::Text;
    for entry in state.log.iter() {
        let Item::Frame(frame) = &entry.item else {
            continue;
        };
        if frame.direction != direction {
            continue;
        }
        match frame.fragment {
            Fragment::First => opcode = frame.header.opcode,
            Fragment::Middle => {}
            Fragment::Whole | Fragment::Control => {
                out.push((frame.header.opcode, frame.preview(60), entry.time));
            }
            Fragment::Last => out.push((opcode, frame.preview(60), entry.time)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_pair_in_order_and_the_rest_is_unpaired() {
        let t = SystemTime::UNIX_EPOCH;
        let ms = Duration::from_millis;
        let received = vec![
            (OpCode::Text, "a".to_owned(), t),
            (OpCode::Ping, String::new(), t + ms(10)),
        ];
        let sent = vec![(OpCode::Text, "a".to_owned(), t + ms(2))];
        let pairs = pair_one_way(received, sent, Towards::Server, 10);
        assert_eq!(pairs.len(), 2);
        assert_eq!(pairs[0].delay(), Some(ms(2)));
        assert_eq!(pairs[1].forwarded, None);
        assert_eq!(pair_one_way(Vec::new(), Vec::new(), Towards::Client, 1), []);
    }
}
