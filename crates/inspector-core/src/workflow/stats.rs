//! What a connection carried (`wsi --stats`; for the inspector's status bar too): messages
//! and bytes each way with their rates, and the ping round trips' minimum, median and 99th
//! percentile.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// Counts of one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Text and binary messages.
    pub messages: u64,
    /// Their payload bytes.
    pub bytes: u64,
}

impl Counts {
    /// Counts one message of `len` bytes.
    pub fn add(&mut self, len: usize) {
        self.messages += 1;
        self.bytes += len as u64;
    }
}

/// The summary line(s) for a connection open since `since`.
pub fn summary(since: Instant, sent: Counts, received: Counts, rtts: &[Duration]) -> String {
    let secs = since.elapsed().as_secs_f64().max(1e-9);
    let mut text = format!("stats: {:.3} s open", secs);
    for (what, counts) in [("sent", sent), ("received", received)] {
        let _ = write!(
            text,
            "; {what} {} messages, {} bytes ({:.1} msg/s, {:.1} KiB/s)",
            counts.messages,
            counts.bytes,
            counts.messages as f64 / secs,
            counts.bytes as f64 / secs / 1024.0
        );
    }
    match percentiles(rtts) {
        Some((min, median, p99)) => {
            let _ = write!(
                text,
                "; ping round trip over {} pongs: min {:.3} ms, median {:.3} ms, p99 {:.3} ms",
                rtts.len(),
                ms(min),
                ms(median),
                ms(p99)
            );
        }
        None => text.push_str("; no ping round trips"),
    }
    text
}

/// Minimum, median and 99th percentile (nearest rank).
fn percentiles(values: &[Duration]) -> Option<(Duration, Duration, Duration)> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let rank = |p: f64| {
        let i = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
        sorted[i]
    };
    Some((sorted[0], rank(0.5), rank(0.99)))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let values: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let (min, median, p99) = percentiles(&values).unwrap();
        assert_eq!(
            (min, median, p99),
            (
                Duration::from_millis(1),
                Duration::from_millis(50),
                Duration::from_millis(99)
            )
        );
        assert!(percentiles(&[]).is_none());
        let one = [Duration::from_millis(7)];
        assert_eq!(percentiles(&one).unwrap().2, Duration::from_millis(7));
    }

    #[test]
    fn the_summary_names_each_direction() {
        let mut sent = Counts::default();
        sent.add(10);
        let text = summary(Instant::now(), sent, Counts::default(), &[]);
        assert!(text.contains("sent 1 messages, 10 bytes"), "{text}");
        assert!(text.contains("received 0 messages"), "{text}");
        assert!(text.contains("no ping round trips"), "{text}");
    }
}
