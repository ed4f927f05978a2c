//! Pings on a timer (`wsi --ping-interval`, `--keepalive`; for the inspector's keep-alive
//! too): each ping carries an 8-byte sequence number, its pong is matched by it, and the
//! round trip is kept for `-v` and `--stats`.
//! With a timeout (keep-alive), a ping whose pong has not come within it fails the
//! connection.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use ws_tokio::ws_proto::bytes::Bytes;

/// A profile's keep-alive: a ping every [`interval_secs`](Self::interval_secs), and the
/// connection failed (closed with 1011 and the reason said) when a pong is later than
/// [`timeout_secs`](Self::timeout_secs). Off by default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KeepaliveSettings {
    /// Send keep-alive pings.
    pub enabled: bool,
    /// Seconds between pings.
    pub interval_secs: f32,
    /// Seconds a pong may take; 0: never fail (the round trips are still measured).
    pub timeout_secs: f32,
    /// The pings' payload as text (at most 125 bytes); empty: an 8-byte sequence number,
    /// so that every pong is matched to its own ping.
    pub payload: String,
}

impl Default for KeepaliveSettings {
    /// Off; every 30 s, 10 s for the pong, sequence numbers.
    fn default() -> Self {
        Self {
            enabled: false,
            interval_secs: 30.0,
            timeout_secs: 10.0,
            payload: String::new(),
        }
    }
}

impl KeepaliveSettings {
    /// The keep-alive for a session, or why the settings cannot be used. `None` when off.
    pub fn keepalive(&self) -> Result<Option<Keepalive>, String> {
        if !self.enabled {
            return Ok(None);
        }
        let interval = Duration::try_from_secs_f32(self.interval_secs)
            .ok()
            .filter(|d| *d >= Duration::from_millis(10))
            .ok_or_else(|| {
                format!(
                    "keep-alive interval {} s: give at least 0.01 s",
                    self.interval_secs
                )
            })?;
        let t = self.timeout_secs;
        let timeout = if t == 0.0 {
            None
        } else {
            Some(
                Duration::try_from_secs_f32(t)
                    .ok()
                    .filter(|d| !d.is_zero())
                    .ok_or_else(|| format!("keep-alive timeout {t} s: give a positive number"))?,
            )
        };
        if self.payload.len() > 125 {
            return Err(format!(
                "keep-alive payload: {} bytes, a ping carries at most 125",
                self.payload.len()
            ));
        }
        let payload = (!self.payload.is_empty()).then(|| Bytes::from(self.payload.clone()));
        Ok(Some(Keepalive {
            interval,
            timeout,
            payload,
        }))
    }
}

/// A session's keep-alive, checked: see [`KeepaliveSettings`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keepalive {
    /// Between pings.
    pub interval: Duration,
    /// The longest a pong may take, if limited.
    pub timeout: Option<Duration>,
    /// The payload of every ping; `None`: a sequence number each.
    pub payload: Option<Bytes>,
}

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
    fn keepalive_settings_are_checked() {
        assert_eq!(KeepaliveSettings::default().keepalive(), Ok(None));
        let on = KeepaliveSettings {
            enabled: true,
            interval_secs: 0.5,
            timeout_secs: 0.0,
            payload: "hb".into(),
        };
        let keepalive = on.keepalive().expect("valid").expect("on");
        assert_eq!(keepalive.interval, Duration::from_millis(500));
        assert_eq!(keepalive.timeout, None);
        assert_eq!(keepalive.payload.as_deref(), Some(&b"hb"[..]));
        for bad in [
            KeepaliveSettings {
                interval_secs: 0.0,
                ..on.clone()
            },
            KeepaliveSettings {
                interval_secs: f32::NAN,
                ..on.clone()
            },
            KeepaliveSettings {
                timeout_secs: -1.0,
                ..on.clone()
            },
            KeepaliveSettings {
                payload: "x".repeat(126),
                ..on.clone()
            },
        ] {
            assert!(bad.keepalive().is_err(), "{bad:?}");
        }
    }

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
