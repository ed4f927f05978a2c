//! Pings on a timer (`wsi --ping-interval`, `--keepalive`; for the inspector's keep-alive
//! too): each ping carries an 8-byte sequence number, its pong is matched by it, and the
//! round trip is kept for `-v` and `--stats`.
//! With a timeout (keep-alive), a ping whose pong has not come within it fails the
//! connection.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use ws_tokio::ws_proto::bytes::Bytes;

/// At most this many pings wait for their pong (older ones are forgotten).
const OUTSTANDING: usize = 64;

/// The pings sent and the pongs that came.
#[derive(Debug)]
pub struct Pinger {
    timeout: Option<Duration>,
    seq: u64,
    outstanding: VecDeque<(u64, Instant)>,
    rtts: Vec<Duration>,
}

impl Pinger {
    /// A pinger; with `timeout`, a pong later than that is a failure ([`overdue`](Self::overdue)).
    pub fn new(timeout: Option<Duration>) -> Self {
        Self {
            timeout,
            seq: 0,
            outstanding: VecDeque::new(),
            rtts: Vec::new(),
        }
    }

    /// The payload of the next ping, noted as sent now.
    pub fn next_ping(&mut self) -> Bytes {
        self.seq += 1;
        self.outstanding.push_back((self.seq, Instant::now()));
        if self.outstanding.len() > OUTSTANDING {
            self.outstanding.pop_front();
        }
        Bytes::copy_from_slice(&self.seq.to_be_bytes())
    }

    /// A pong arrived at `at`: its ping's sequence number and round trip, if it answers one
    /// of ours.
    pub fn pong(&mut self, data: &[u8], at: Instant) -> Option<(u64, Duration)> {
        let seq = u64::from_be_bytes(<[u8; 8]>::try_from(data).ok()?);
        let i = self.outstanding.iter().position(|(s, _)| *s == seq)?;
        let (_, sent) = self.outstanding.remove(i)?;
        let rtt = at.saturating_duration_since(sent);
        self.rtts.push(rtt);
        Some((seq, rtt))
    }

    /// The oldest ping whose pong is later than the timeout, with how long it has waited.
    pub fn overdue(&self, now: Instant) -> Option<(u64, Duration)> {
        let timeout = self.timeout?;
        let (seq, sent) = self.outstanding.front()?;
        let waited = now.saturating_duration_since(*sent);
        (waited > timeout).then_some((*seq, waited))
    }

    /// Every round trip measured.
    pub fn rtts(&self) -> &[Duration] {
        &self.rtts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pongs_match_their_pings_and_late_ones_are_overdue() {
        let mut pinger = Pinger::new(Some(Duration::from_millis(50)));
        let first = pinger.next_ping();
        let second = pinger.next_ping();
        let now = Instant::now();
        assert_eq!(pinger.pong(&second, now).map(|(s, _)| s), Some(2));
        assert!(pinger.pong(&second, now).is_none(), "answered once");
        assert!(pinger.pong(b"other", now).is_none());
        assert!(pinger.overdue(now).is_none());
        let later = now + Duration::from_millis(200);
        assert_eq!(pinger.overdue(later).map(|(s, _)| s), Some(1));
        assert!(pinger.pong(&first, later).is_some());
        assert!(pinger.overdue(later).is_none());
        assert_eq!(pinger.rtts().len(), 2);
        assert!(Pinger::new(None).overdue(later).is_none());
    }
}
