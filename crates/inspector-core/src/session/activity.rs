//! [`Activity`]: what a connection carried over time, for the graphs and the status bar —
//! messages and bytes each way per second, a histogram of message sizes, and the round
//! trip of every ping (the user's, the keep-alive's, any ping this side sent) matched to
//! its pong.
//!
//! It is fed from [`SessionState::apply`](super::SessionState::apply)'s frame reports, so a
//! capture opened from a file draws the same graphs as the live connection did. Every
//! figure is kept however many frames the log evicts: a connection of a day holds 86,400
//! one-second buckets (2.7 MB), and the histogram is a fixed 27 classes a direction.
//!
//! Pongs are matched to pings by payload, oldest first (RFC 6455 §5.5.3: a pong carries
//! its ping's payload); a pong that answers a later ping also answers the earlier ones with
//! the same payload (§5.5.3 lets an endpoint answer only the most recent ping). An
//! unsolicited pong matches nothing.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use ws_tokio::ws_proto::{Direction, Fragment, Frame, MessageNumbering, OpCode};

/// The most one-second buckets kept (a week); later seconds add to the last one.
pub const MAX_BUCKETS: usize = 7 * 24 * 3600;

/// Histogram classes: sizes 0, 1, 2–3, 4–7, …, up to 2^25 bytes and above.
pub const SIZE_CLASSES: usize = 27;

/// At most this many pings wait for their pong (older ones are forgotten).
const OUTSTANDING: usize = 256;

/// One second of a connection, each way (index 0: received, 1: sent).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bucket {
    /// Data messages completed in this second.
    pub messages: [u64; 2],
    /// Payload bytes of every frame in this second.
    pub bytes: [u64; 2],
}

/// A ping's round trip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rtt {
    /// When the pong came (since the connection attempt started).
    pub at: Duration,
    /// How long after its ping.
    pub rtt: Duration,
    /// The log index of the pong's row, when it was logged.
    pub pong_entry: Option<u64>,
}

/// The slot of a direction in the per-direction arrays: 0 received, 1 sent.
pub fn slot(direction: Direction) -> usize {
    match direction {
        Direction::Incoming => 0,
        Direction::Outgoing => 1,
    }
}

/// A connection's activity over time; see the [module docs](self).
#[derive(Clone, Debug, Default)]
pub struct Activity {
    /// One bucket per second since the attempt started.
    pub buckets: Vec<Bucket>,
    /// Data message sizes each way, by [`size_class`].
    pub sizes: [[u64; SIZE_CLASSES]; 2],
    /// Every round trip measured, in the order the pongs came.
    pub rtts: Vec<Rtt>,
    /// Pings sent and not yet answered: payload and when.
    outstanding: VecDeque<(Bytes, Duration)>,
    /// For frames that carry no position (captures made before the engine gave one): the
    /// engine's numbering rule, each way.
    numbering: [MessageNumbering; 2],
}

/// The histogram class of a message of `len` bytes: 0 for empty, else 1 + ⌊log2 len⌋.
pub fn size_class(len: u64) -> usize {
    let class = match len {
        0 => 0,
        n => 1 + n.ilog2() as usize,
    };
    class.min(SIZE_CLASSES - 1)
}

/// The smallest size in `class` (0, 1, 2, 4, …).
pub fn class_start(class: usize) -> u64 {
    match class {
        0 => 0,
        n => 1u64 << (n - 1).min(62),
    }
}

impl Activity {
    /// Takes in a frame sent or received at `elapsed`; `logged` is the log index its row
    /// got, if it was logged. Where a message ends and how long it is come from the
    /// engine's position of the frame ([`Frame::message`]).
    pub fn frame(&mut self, frame: &Frame, elapsed: Duration, logged: Option<u64>) {
        let direction = frame.direction;
        let header = &frame.header;
        let way = slot(direction);
        let bucket = self.bucket(elapsed);
        bucket.bytes[way] += header.payload_len;
        let position = frame
            .message
            .unwrap_or_else(|| self.numbering[way].position(header));
        let ends_data = position.kind.is_some()
            && matches!(position.fragment, Fragment::Whole | Fragment::Last);
        if ends_data {
            self.bucket(elapsed).messages[way] += 1;
            self.sizes[way][size_class(position.len_with(header))] += 1;
            return;
        }
        match header.opcode {
            OpCode::Ping if direction == Direction::Outgoing => {
                self.outstanding
                    .push_back((Bytes::copy_from_slice(&frame.payload), elapsed));
                if self.outstanding.len() > OUTSTANDING {
                    self.outstanding.pop_front();
                }
            }
            OpCode::Pong if direction == Direction::Incoming => {
                self.pong(&frame.payload, elapsed, logged);
            }
            _ => {}
        }
    }

    /// A pong came: the oldest ping with its payload is answered (and any older ones with
    /// the same payload).
    fn pong(&mut self, payload: &[u8], at: Duration, logged: Option<u64>) {
        let Some(i) = self.outstanding.iter().position(|(p, _)| p == payload) else {
            return;
        };
        let (_, sent) = self.outstanding[i].clone();
        self.outstanding.remove(i);
        self.rtts.push(Rtt {
            at,
            rtt: at.saturating_sub(sent),
            pong_entry: logged,
        });
    }

    /// When the oldest unanswered ping was sent (since the attempt started), if any.
    pub fn oldest_unanswered(&self) -> Option<Duration> {
        self.outstanding.front().map(|(_, sent)| *sent)
    }

    /// The round trip shown on the pong logged as entry `index`, if it answered a ping.
    pub fn rtt_of_entry(&self, index: u64) -> Option<Duration> {
        // The pongs come in log order, so the logged ones are sorted by index.
        let logged = |r: &Rtt| r.pong_entry.unwrap_or(0);
        let i = self.rtts.partition_point(|r| logged(r) < index);
        self.rtts
            .get(i)
            .filter(|r| r.pong_entry == Some(index))
            .map(|r| r.rtt)
    }

    /// Round-trip statistics: (count, min, median, p99), nearest rank.
    pub fn rtt_summary(&self) -> Option<RttSummary> {
        let mut rtts: Vec<Duration> = self.rtts.iter().map(|r| r.rtt).collect();
        if rtts.is_empty() {
            return None;
        }
        rtts.sort_unstable();
        let rank = |p: f64| {
            let n = rtts.len();
            let k = ((p * n as f64).ceil() as usize).clamp(1, n);
            rtts[k - 1]
        };
        Some(RttSummary {
            count: rtts.len(),
            min: rtts[0],
            median: rank(0.5),
            p99: rank(0.99),
        })
    }

    fn bucket(&mut self, elapsed: Duration) -> &mut Bucket {
        let second = usize::try_from(elapsed.as_secs())
            .unwrap_or(usize::MAX)
            .min(MAX_BUCKETS - 1);
        if self.buckets.len() <= second {
            self.buckets.resize(second + 1, Bucket::default());
        }
        &mut self.buckets[second]
    }
}

/// Round-trip figures for the status bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RttSummary {
    /// How many round trips were measured.
    pub count: usize,
    /// The shortest.
    pub min: Duration,
    /// The median.
    pub median: Duration,
    /// The 99th percentile (nearest rank).
    pub p99: Duration,
}

#[cfg(test)]
mod tests {
    use ws_tokio::ws_proto::FrameHeader;

    use super::*;

    /// A frame with no position (as an old capture has): the numbering rule places it.
    fn frame(direction: Direction, opcode: OpCode, fin: bool, payload: &[u8]) -> Frame {
        let header = FrameHeader {
            fin,
            rsv1: false,
            rsv2: false,
            rsv3: false,
            opcode,
            mask: None,
            payload_len: payload.len() as u64,
        };
        Frame::new(direction, header, Bytes::copy_from_slice(payload))
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn messages_and_bytes_per_second_and_sizes() {
        let mut activity = Activity::default();
        let sent = Direction::Outgoing;
        let received = Direction::Incoming;
        activity.frame(&frame(sent, OpCode::Text, true, b"hello"), ms(100), None);
        activity.frame(&frame(received, OpCode::Text, false, b"abc"), ms(900), None);
        activity.frame(
            &frame(received, OpCode::Continuation, true, b"de"),
            ms(1200),
            None,
        );
        activity.frame(&frame(received, OpCode::Ping, true, b""), ms(2500), None);
        assert_eq!(activity.buckets.len(), 3);
        assert_eq!(activity.buckets[0].messages, [0, 1]);
        assert_eq!(activity.buckets[0].bytes, [3, 5]);
        assert_eq!(
            activity.buckets[1].messages,
            [1, 0],
            "counted where it ended"
        );
        assert_eq!(activity.buckets[1].bytes, [2, 0]);
        assert_eq!(activity.sizes[0][size_class(5)], 1, "3 + 2 bytes in all");
        assert_eq!(activity.sizes[1][size_class(5)], 1);
        assert_eq!(
            activity.sizes[0].iter().sum::<u64>(),
            1,
            "a ping is not a message"
        );
    }

    #[test]
    fn pongs_answer_pings_by_payload() {
        let mut activity = Activity::default();
        let ping = |a: &mut Activity, p: &[u8], t| {
            a.frame(
                &frame(Direction::Outgoing, OpCode::Ping, true, p),
                ms(t),
                None,
            );
        };
        let pong = |a: &mut Activity, p: &[u8], t, i| {
            a.frame(
                &frame(Direction::Incoming, OpCode::Pong, true, p),
                ms(t),
                Some(i),
            );
        };
        ping(&mut activity, b"a", 10);
        ping(&mut activity, b"b", 20);
        assert_eq!(activity.oldest_unanswered(), Some(ms(10)));
        pong(&mut activity, b"b", 25, 7);
        pong(&mut activity, b"x", 26, 8);
        pong(&mut activity, b"a", 40, 9);
        assert_eq!(
            activity.rtts.len(),
            2,
            "the unsolicited pong matched nothing"
        );
        assert_eq!(activity.rtt_of_entry(7), Some(ms(5)));
        assert_eq!(activity.rtt_of_entry(8), None);
        assert_eq!(activity.rtt_of_entry(9), Some(ms(30)));
        assert_eq!(activity.oldest_unanswered(), None);
        let summary = activity.rtt_summary().expect("two round trips");
        assert_eq!(
            (summary.count, summary.min, summary.median, summary.p99),
            (2, ms(5), ms(5), ms(30))
        );
        // A received ping and a sent pong are the peer's round trip, not ours.
        activity.frame(
            &frame(Direction::Incoming, OpCode::Ping, true, b"z"),
            ms(50),
            None,
        );
        activity.frame(
            &frame(Direction::Outgoing, OpCode::Pong, true, b"z"),
            ms(51),
            None,
        );
        assert_eq!(activity.rtts.len(), 2);
    }

    #[test]
    fn size_classes_are_powers_of_two() {
        assert_eq!(size_class(0), 0);
        assert_eq!(size_class(1), 1);
        assert_eq!(size_class(2), 2);
        assert_eq!(size_class(3), 2);
        assert_eq!(size_class(1024), 11);
        assert_eq!(size_class(u64::MAX), SIZE_CLASSES - 1);
        for class in 1..SIZE_CLASSES {
            assert_eq!(size_class(class_start(class)), class);
        }
    }

    #[test]
    fn a_far_elapsed_time_does_not_grow_without_bound() {
        let mut activity = Activity::default();
        let year = Duration::from_secs(365 * 24 * 3600);
        activity.frame(
            &frame(Direction::Incoming, OpCode::Binary, true, b"x"),
            year,
            None,
        );
        assert_eq!(activity.buckets.len(), MAX_BUCKETS);
        assert_eq!(activity.buckets[MAX_BUCKETS - 1].messages, [1, 0]);
    }
}
