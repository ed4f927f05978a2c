//! Auto-reconnect for a tab: whether a connection that ended is to be made again, when,
//! and what the log says about it.
//!
//! [`Reconnector`] is a small state machine with no clock or I/O of its own: the app tells it
//! when the user connects or closes, hands it each ended connection's state once
//! ([`Reconnector::ended`]), and asks on every frame whether an attempt is due
//! ([`Reconnector::take_due`]); the connection bar shows [`Reconnector::pending`] as a
//! countdown with "Reconnect now" and "Stop". The delays come from the same [`Backoff`] as
//! `wsi connect --reconnect`.
//!
//! What triggers it: any end the user did not ask for — a refused or failed attempt, a lost
//! connection, a close the server started, a keep-alive timeout. What never does: Close,
//! Cancel or Disconnect from the user (and, unless [`ReconnectSettings::after_normal_close`],
//! a clean 1000 Normal Closure the server started: the server meant it). A connection that
//! opened gives the next outage the whole allowance of attempts again.

use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use ws_tokio::tap::Initiator;
use ws_tokio::ws_proto::CloseCode;

use super::backoff::Backoff;
use crate::log::LifecycleEvent;
use crate::session::SessionState;

/// A profile's auto-reconnect settings (off by default).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReconnectSettings {
    /// Reconnect by itself when a connection ends without the user asking.
    pub enabled: bool,
    /// Seconds before the first attempt; each next delay doubles.
    pub initial_delay_secs: f32,
    /// The longest delay, in seconds.
    pub max_delay_secs: f32,
    /// Each delay is scaled by a random factor within ± this percentage.
    pub jitter_percent: f32,
    /// The most attempts after an end (the one that ended not counted); 0: no limit.
    pub max_attempts: u32,
    /// Also reconnect after a clean 1000 Normal Closure that the server started.
    pub after_normal_close: bool,
}

impl Default for ReconnectSettings {
    /// Off; 1 s doubling to 30 s, ±20 %, no limit on attempts.
    fn default() -> Self {
        Self {
            enabled: false,
            initial_delay_secs: 1.0,
            max_delay_secs: 30.0,
            jitter_percent: 20.0,
            max_attempts: 0,
            after_normal_close: false,
        }
    }
}

impl ReconnectSettings {
    /// The first delay (at least 10 ms: a server that refuses at once is not hammered).
    pub fn initial_delay(&self) -> Duration {
        secs(self.initial_delay_secs).max(Duration::from_millis(10))
    }

    /// The longest delay (never shorter than the first).
    pub fn max_delay(&self) -> Duration {
        secs(self.max_delay_secs).max(self.initial_delay())
    }

    fn backoff(&self) -> Backoff {
        // The backoff counts the connection that ended as its first attempt.
        let limit = (self.max_attempts > 0).then(|| u64::from(self.max_attempts) + 1);
        Backoff::new(self.initial_delay(), self.max_delay(), limit)
            .with_jitter(f64::from(self.jitter_percent) / 100.0)
    }
}

/// Seconds as typed (negative or not a number: none).
fn secs(value: f32) -> Duration {
    Duration::try_from_secs_f32(value).unwrap_or_default()
}

/// An attempt waiting for its time.
#[derive(Clone, Debug, PartialEq)]
pub struct Pending {
    /// When it is due.
    pub at: Instant,
    /// The delay it was given.
    pub delay: Duration,
    /// Which attempt it is since the last connection that opened (1 = the first retry).
    pub attempt: u64,
    /// The most attempts allowed, if limited.
    pub max_attempts: Option<u64>,
    /// Why the last connection ended.
    pub reason: String,
}

impl Pending {
    /// The time left until it is due.
    pub fn remaining(&self, now: Instant) -> Duration {
        self.at.saturating_duration_since(now)
    }

    /// `attempt 2 of 5` or `attempt 2`.
    pub fn attempt_text(&self) -> String {
        match self.max_attempts {
            Some(max) => format!("attempt {} of {max}", self.attempt),
            None => format!("attempt {}", self.attempt),
        }
    }
}

/// What [`Reconnector::ended`] decided.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// An attempt is scheduled.
    Scheduled(Pending),
    /// The attempts are used up.
    GaveUp {
        /// How many were made.
        attempts: u64,
    },
    /// This end does not call for one (off, the user closed, or a clean close by the
    /// server); the reason in words.
    Not(&'static str),
}

/// A tab's auto-reconnect state: see the [module docs](self).
#[derive(Debug, Default)]
pub struct Reconnector {
    backoff: Option<Backoff>,
    pending: Option<Pending>,
    /// The user closed (or cancelled) the current connection.
    user_closed: bool,
    /// Attempts made since the last connection that opened.
    attempts: u64,
}

impl Reconnector {
    /// A connection is being made. `by_user`: the user asked for it (Connect), which starts
    /// the count of attempts afresh; otherwise it is the pending attempt being made.
    pub fn connecting(&mut self, by_user: bool) {
        self.user_closed = false;
        self.pending = None;
        if by_user {
            self.backoff = None;
            self.attempts = 0;
        }
    }

    /// The user closed, cancelled or disconnected: the end that follows does not reconnect,
    /// and a pending attempt is dropped.
    pub fn user_closed(&mut self) {
        self.user_closed = true;
        self.pending = None;
    }

    /// Stops a pending attempt ("Stop"); whether there was one. The count starts afresh on
    /// the next Connect.
    pub fn stop(&mut self) -> bool {
        self.backoff = None;
        self.pending.take().is_some()
    }

    /// Makes a pending attempt due at once ("Reconnect now").
    pub fn now(&mut self, now: Instant) {
        if let Some(pending) = &mut self.pending {
            pending.at = now;
        }
    }

    /// The attempt waiting for its time, for the countdown.
    pub fn pending(&self) -> Option<&Pending> {
        self.pending.as_ref()
    }

    /// The pending attempt, if it is due at `now` (it is then no longer pending: make it).
    pub fn take_due(&mut self, now: Instant) -> Option<Pending> {
        if self.pending.as_ref().is_some_and(|p| p.at <= now) {
            return self.pending.take();
        }
        None
    }

    /// A connection ended (call once per connection, when its state is finished): decides
    /// whether to reconnect and when, and says so in `state`'s log (the attempt, the reason
    /// the connection ended, the delay; or that the attempts are used up).
    pub fn ended(
        &mut self,
        settings: &ReconnectSettings,
        state: &mut SessionState,
        now: Instant,
    ) -> Decision {
        if !settings.enabled {
            return Decision::Not("auto-reconnect is off");
        }
        if self.user_closed {
            return Decision::Not("the user closed the connection");
        }
        if !settings.after_normal_close && closed_normally_by_peer(state) {
            return Decision::Not("the server closed the connection normally (1000)");
        }
        if state.opened.is_some() {
            // It opened: the next outage gets the whole allowance again.
            self.backoff = None;
            self.attempts = 0;
        }
        let backoff = self.backoff.get_or_insert_with(|| settings.backoff());
        let reason = end_reason(state);
        let elapsed = state.started.elapsed();
        let Some(delay) = backoff.next_delay() else {
            let attempts = self.attempts;
            state.log.push_event(
                SystemTime::now(),
                elapsed,
                LifecycleEvent::Error(format!(
                    "auto-reconnect stopped: {attempts} attempt{} made, none opened ({reason})",
                    if attempts == 1 { "" } else { "s" }
                )),
            );
            self.backoff = None;
            return Decision::GaveUp { attempts };
        };
        self.attempts += 1;
        let pending = Pending {
            at: now + delay,
            delay,
            attempt: self.attempts,
            max_attempts: (settings.max_attempts > 0).then_some(u64::from(settings.max_attempts)),
            reason: reason.clone(),
        };
        state.log.push_event(
            SystemTime::now(),
            elapsed,
            LifecycleEvent::Reconnecting {
                attempt: pending.attempt,
                max_attempts: pending.max_attempts,
                delay,
                reason,
            },
        );
        self.pending = Some(pending.clone());
        Decision::Scheduled(pending)
    }
}

/// Whether the server closed with a clean 1000.
fn closed_normally_by_peer(state: &SessionState) -> bool {
    state.close.as_ref().is_some_and(|close| {
        close.clean && close.code == CloseCode::NORMAL && close.initiator == Initiator::Remote
    })
}

/// Why a connection ended, in a few words: the failed handshake's reason, the last error,
/// or the close code and who started it.
pub fn end_reason(state: &SessionState) -> String {
    if let Some(failure) = &state.handshake.failure {
        return failure.reason.clone();
    }
    if state.opened.is_none()
        && let Some(error) = &state.last_error
    {
        return error.clone();
    }
    match &state.close {
        Some(close) => {
            let who = match close.initiator {
                Initiator::Local => "closed by us",
                Initiator::Remote => "closed by the server",
                Initiator::Nobody => "connection lost",
            };
            let mut text = format!("{who}, {}", close.code);
            if !close.reason.is_empty() {
                text.push_str(&format!(" {:?}", close.reason));
            }
            if let Some(error) = &state.last_error
                && close.initiator != Initiator::Remote
            {
                text.push_str(&format!(": {error}"));
            }
            text
        }
        None => state
            .last_error
            .clone()
            .unwrap_or_else(|| "the connection ended".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::Item;
    use crate::session::CloseSummary;

    fn settings(max_attempts: u32) -> ReconnectSettings {
        ReconnectSettings {
            enabled: true,
            initial_delay_secs: 0.5,
            max_delay_secs: 2.0,
            jitter_percent: 20.0,
            max_attempts,
            after_normal_close: false,
        }
    }

    fn ended_with(
        code: CloseCode,
        clean: bool,
        initiator: Initiator,
        opened: bool,
    ) -> SessionState {
        let mut state = SessionState::new("ws://127.0.0.1:1/", None);
        if opened {
            state.opened = Some((SystemTime::now(), Instant::now()));
        }
        state.close = Some(CloseSummary {
            code,
            reason: String::new(),
            clean,
            initiator,
        });
        state
    }

    fn last_event(state: &SessionState) -> String {
        match state.log.iter().last().map(|e| e.item) {
            Some(Item::Event(event)) => event.summary(),
            other => panic!("expected an event, got {other:?}"),
        }
    }

    fn lost() -> SessionState {
        ended_with(CloseCode::ABNORMAL, false, Initiator::Nobody, false)
    }

    fn scheduled(decision: Decision) -> Pending {
        match decision {
            Decision::Scheduled(pending) => pending,
            other => panic!("expected an attempt, got {other:?}"),
        }
    }

    #[test]
    fn delays_grow_within_the_bounds_and_the_attempts_run_out() {
        let settings = settings(3);
        let mut reconnector = Reconnector::default();
        reconnector.connecting(true);
        let now = Instant::now();
        let mut delays = Vec::new();
        for attempt in 1..=3 {
            let mut state = lost();
            let pending = scheduled(reconnector.ended(&settings, &mut state, now));
            assert_eq!(pending.attempt, attempt);
            assert_eq!(pending.attempt_text(), format!("attempt {attempt} of 3"));
            assert!(reconnector.take_due(now).is_none(), "not yet due");
            assert_eq!(reconnector.take_due(pending.at), Some(pending.clone()));
            reconnector.connecting(false);
            delays.push(pending.delay);
            let logged = last_event(&state);
            assert!(logged.starts_with("reconnect: attempt"), "{logged}");
        }
        for (delay, base) in delays.iter().zip([500, 1000, 2000]) {
            let base = Duration::from_millis(base);
            assert!(
                *delay >= base.mul_f64(0.8) && *delay <= base.mul_f64(1.2),
                "{delay:?} is not within 20 % of {base:?}"
            );
        }
        let mut state = lost();
        assert_eq!(
            reconnector.ended(&settings, &mut state, now),
            Decision::GaveUp { attempts: 3 }
        );
        let last = last_event(&state);
        assert!(last.contains("3 attempts made"), "{last}");
    }

    #[test]
    fn a_connection_that_opened_starts_the_count_again() {
        let settings = settings(2);
        let mut reconnector = Reconnector::default();
        let now = Instant::now();
        scheduled(reconnector.ended(&settings, &mut lost(), now));
        reconnector.connecting(false);
        let second = scheduled(reconnector.ended(&settings, &mut lost(), now));
        assert_eq!(second.attempt, 2);
        reconnector.connecting(false);
        let mut opened = ended_with(CloseCode::GOING_AWAY, true, Initiator::Remote, true);
        let again = scheduled(reconnector.ended(&settings, &mut opened, now));
        assert_eq!(again.attempt, 1, "the count starts afresh");
        assert!(
            again.delay <= Duration::from_millis(600),
            "from the first delay"
        );
        assert!(
            again.reason.contains("closed by the server, 1001"),
            "{}",
            again.reason
        );
    }

    #[test]
    fn what_the_user_closed_and_a_normal_close_do_not_reconnect() {
        let mut settings = settings(0);
        let now = Instant::now();
        let mut reconnector = Reconnector::default();
        reconnector.user_closed();
        assert!(matches!(
            reconnector.ended(&settings, &mut lost(), now),
            Decision::Not(_)
        ));
        reconnector.connecting(true);
        let mut normal = ended_with(CloseCode::NORMAL, true, Initiator::Remote, true);
        assert!(matches!(
            reconnector.ended(&settings, &mut normal, now),
            Decision::Not(_)
        ));
        settings.after_normal_close = true;
        let pending = scheduled(reconnector.ended(&settings, &mut normal, now));
        assert_eq!(pending.max_attempts, None);
        settings.enabled = false;
        assert_eq!(
            reconnector.ended(&settings, &mut lost(), now),
            Decision::Not("auto-reconnect is off")
        );
    }

    #[test]
    fn stop_and_now() {
        let settings = settings(0);
        let now = Instant::now();
        let mut reconnector = Reconnector::default();
        let pending = scheduled(reconnector.ended(&settings, &mut lost(), now));
        assert!(pending.remaining(now) >= Duration::from_millis(400));
        reconnector.now(now);
        assert_eq!(
            reconnector.pending().map(|p| p.remaining(now)),
            Some(Duration::ZERO)
        );
        assert!(reconnector.stop());
        assert!(reconnector.pending().is_none());
        assert!(!reconnector.stop());
        assert!(
            reconnector
                .take_due(now + Duration::from_secs(60))
                .is_none()
        );
    }

    #[test]
    fn settings_round_trip_and_defaults_apply_to_missing_fields() {
        let settings = settings(4);
        let text = ron::to_string(&settings).expect("serializes");
        let back: ReconnectSettings = ron::from_str(&text).expect("parses");
        assert_eq!(back, settings);
        let partial: ReconnectSettings = ron::from_str("(enabled: true)").expect("parses");
        assert_eq!(partial.max_delay(), Duration::from_secs(30));
        assert_eq!(partial.initial_delay(), Duration::from_secs(1));
        let odd = ReconnectSettings {
            initial_delay_secs: -1.0,
            max_delay_secs: f32::NAN,
            ..ReconnectSettings::default()
        };
        assert_eq!(odd.initial_delay(), Duration::from_millis(10));
        assert_eq!(odd.max_delay(), Duration::from_millis(10));
    }
}
