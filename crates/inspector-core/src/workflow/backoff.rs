//! Reconnecting: the delays between attempts — doubling from a first delay up to a maximum,
//! each with jitter (±20 % unless set) so that many clients dropped at once do not come back
//! at once — and the number of attempts allowed. `wsi connect --reconnect` and the
//! inspector's auto-reconnect ([`super::reconnect`]) both use it.

use std::time::Duration;

/// The delays between connection attempts.
#[derive(Clone, Debug)]
pub struct Backoff {
    next: Duration,
    max: Duration,
    max_attempts: Option<u64>,
    made: u64,
    jitter: f64,
}

/// The jitter unless [`Backoff::with_jitter`] sets another: ±20 %.
pub const DEFAULT_JITTER: f64 = 0.2;

impl Backoff {
    /// Delays from `first`, doubling up to `max`, for at most `max_attempts` attempts in all
    /// (the first connection included; `None`: no limit). The first attempt counts as made.
    pub fn new(first: Duration, max: Duration, max_attempts: Option<u64>) -> Self {
        Self {
            next: first,
            max: max.max(first),
            max_attempts,
            made: 1,
            jitter: DEFAULT_JITTER,
        }
    }

    /// The same delays, each scaled by a random factor from `1 - jitter` to `1 + jitter`
    /// (clamped to 0…1; 0 for none).
    pub fn with_jitter(mut self, jitter: f64) -> Self {
        self.jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            DEFAULT_JITTER
        };
        self
    }

    /// Starts again from the first delay with no attempts made but the one under way (after
    /// a connection that opened: the next outage gets the whole allowance again).
    pub fn reset(&mut self, first: Duration) {
        self.next = first;
        self.made = 1;
    }

    /// The most attempts allowed, if limited.
    pub fn max_attempts(&self) -> Option<u64> {
        self.max_attempts
    }

    /// The attempts made so far.
    pub fn made(&self) -> u64 {
        self.made
    }

    /// The delay before the next attempt (and counts it as made), or `None` when the
    /// attempts are used up.
    pub fn next_delay(&mut self) -> Option<Duration> {
        if self.max_attempts.is_some_and(|n| self.made >= n) {
            return None;
        }
        self.made += 1;
        let base = self.next;
        self.next = (self.next * 2).min(self.max);
        Some(jittered(base, self.jitter, jitter_seed()))
    }
}

/// A seed for the jitter from the clock's nanoseconds (no real generator is needed here).
fn jitter_seed() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
}

/// `delay` scaled by a factor from `1 - jitter` to `1 + jitter` picked by `seed`.
fn jittered(delay: Duration, jitter: f64, seed: u32) -> Duration {
    let factor = 1.0 - jitter + 2.0 * jitter * (f64::from(seed % 1_000_000) / 1_000_000.0);
    delay.mul_f64(factor.max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_maximum_within_the_jitter() {
        let mut backoff = Backoff::new(
            Duration::from_millis(100),
            Duration::from_millis(500),
            Some(6),
        );
        let bases = [100, 200, 400, 500, 500];
        for base in bases {
            let delay = backoff.next_delay().expect("attempts left");
            let base = Duration::from_millis(base);
            assert!(
                delay >= base.mul_f64(0.8) && delay <= base.mul_f64(1.2),
                "{delay:?} for {base:?}"
            );
        }
        assert_eq!(backoff.made(), 6);
        assert!(backoff.next_delay().is_none(), "six attempts in all");
        assert!(
            Backoff::new(Duration::ZERO, Duration::ZERO, None)
                .next_delay()
                .is_some()
        );
    }

    #[test]
    fn the_jitter_spans_plus_minus_twenty_percent() {
        let second = Duration::from_secs(1);
        assert_eq!(jittered(second, 0.2, 0), Duration::from_millis(800));
        assert_eq!(jittered(second, 0.2, 500_000), Duration::from_millis(1000));
        assert!(jittered(second, 0.2, 999_999) <= Duration::from_millis(1200));
        assert_eq!(jittered(second, 0.0, 123), second, "no jitter");
        assert_eq!(jittered(second, 0.5, 0), Duration::from_millis(500));
    }

    #[test]
    fn a_reset_gives_back_the_attempts_and_the_first_delay() {
        let first = Duration::from_millis(100);
        let mut backoff = Backoff::new(first, Duration::from_secs(1), Some(3)).with_jitter(0.0);
        assert_eq!(backoff.next_delay(), Some(first));
        assert_eq!(backoff.next_delay(), Some(first * 2));
        assert_eq!(backoff.next_delay(), None);
        backoff.reset(first);
        assert_eq!(backoff.made(), 1);
        assert_eq!(backoff.next_delay(), Some(first));
    }
}
