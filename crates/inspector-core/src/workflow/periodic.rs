//! Periodic sends: a saved message sent every N ms, N times or until stopped, on the
//! session's runtime ([`Periodic::start`]); the handle stops it and reads its progress
//! ([`PeriodicStatus`]). Each send expands the message anew with the connection's
//! variables, so `{{counter}}` counts up and `{{timestamp}}` moves on.
//!
//! # The schedule
//!
//! The sends follow `tokio::time::interval` (the first at once, then every `every`) with
//! [`MissedTickBehavior::Burst`]: the k-th send is due at `start + k × every`, and when one
//! is so late that the next is already due (a busy runtime; at 1 ms, the timer's 1 ms
//! granularity alone makes each tick fire a little late, a little later each time), the
//! one missed goes at once. The schedule is kept: no drift over the run, each send within
//! about a period of its slot. `Delay` would instead start the schedule again from every
//! missed tick, and the delays add up: measured with `examples/periodic_schedule.rs` at
//! 1 ms for 10 s (three runs each), Delay ended 17 to 51 ms late (+0.17 to +0.51 %), the
//! last sends up to 56 ms behind their slot; Burst ended within 1 ms of the schedule
//! (0.00 %), the median send 0.56 ms and the p99 2 to 3 ms behind its slot. `Skip` would
//! drop the sends missed, and the count would fall short of the schedule.
//!
//! Catching up has a bound: a send more than [`CATCH_UP_LIMIT`] behind its time (the
//! machine slept, the process was stopped) starts the schedule again from now instead of
//! sending everything missed in one burst; [`PeriodicStatus::restarts`] counts that.
//!
//! A send is counted once it is queued to the session (the session task writes it in
//! order, behind what was queued before); the log shows when each frame went out.
//! It stops by itself when the connection closes, or when a send cannot be built (an
//! unknown variable, invalid JSON…): [`PeriodicState::Failed`] says why.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};
use ws_tokio::Outgoing;
use ws_tokio::ws_proto::ReadyState;

use crate::profiles::SavedMessage;
use crate::session::handle::Command;
use crate::session::{Session, Tasks, lock};
use crate::vars::Variables;

/// The shortest period: the timer's granularity.
pub const MIN_EVERY: Duration = Duration::from_millis(1);

/// How far behind its time a send may be before the schedule starts again from now.
pub const CATCH_UP_LIMIT: Duration = Duration::from_secs(1);

/// What to send, how often, and how many times.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeriodicSpec {
    /// The message (expanded anew for each send).
    pub message: SavedMessage,
    /// The period (at least [`MIN_EVERY`]).
    pub every: Duration,
    /// How many sends; `None`: until stopped (or the connection closes).
    pub count: Option<u64>,
}

/// Where a periodic send is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeriodicState {
    /// Sending.
    Running,
    /// Every send of the count was made.
    Done,
    /// Stopped by [`Periodic::stop`] (or by dropping the handle).
    Stopped,
    /// Stopped by itself: why, in plain words (the connection closed, a send could not be
    /// built).
    Failed(String),
}

/// A periodic send's progress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeriodicStatus {
    /// The message's name.
    pub name: String,
    /// The period.
    pub every: Duration,
    /// Sends made (queued to the session).
    pub sent: u64,
    /// How many were asked for; `None`: until stopped.
    pub total: Option<u64>,
    /// Running or why not.
    pub state: PeriodicState,
    /// The most a send was behind its time.
    pub max_late: Duration,
    /// How many times the schedule started again from now (a send more than
    /// [`CATCH_UP_LIMIT`] behind).
    pub restarts: u64,
}

impl PeriodicStatus {
    /// `sent 3 of 10`, or `sent 3` for a send until stopped.
    pub fn progress(&self) -> String {
        match self.total {
            Some(total) => format!("sent {} of {total}", self.sent),
            None => format!("sent {}", self.sent),
        }
    }

    /// Whether it is still sending.
    pub fn is_running(&self) -> bool {
        self.state == PeriodicState::Running
    }
}

/// A running periodic send. Dropping it stops the sends.
#[derive(Debug)]
pub struct Periodic {
    status: Arc<Mutex<PeriodicStatus>>,
    stop: watch::Sender<bool>,
}

impl Periodic {
    /// Starts sending `spec` through `session` on the runtime of `tasks`, each send
    /// expanded with `vars` (the connection's variables, shared with whoever else sends on
    /// it). Errors — and sends nothing — when the period is below [`MIN_EVERY`], the count
    /// is 0, the message cannot be built now, or the session has ended.
    pub fn start(
        session: &Session,
        tasks: &Tasks,
        vars: Arc<Mutex<Variables>>,
        spec: PeriodicSpec,
    ) -> Result<Self, String> {
        {
            let state = session.state();
            if state.finished || state.ready_state() == ReadyState::Closed {
                return Err("the connection has ended".to_owned());
            }
        }
        let commands = session.commands.downgrade();
        let shared = session.shared.clone();
        let sink = move |out: Outgoing| {
            {
                let state = lock(&shared);
                if state.finished
                    || matches!(
                        state.ready_state(),
                        ReadyState::Closing | ReadyState::Closed
                    )
                {
                    return Err("the connection closed".to_owned());
                }
            }
            // A weak sender: a periodic send never keeps a dropped session's connection
            // open.
            let commands = commands
                .upgrade()
                .ok_or_else(|| "the connection has ended".to_owned())?;
            commands
                .send(Command::Send(vec![out]))
                .map_err(|_| "the connection has ended".to_owned())
        };
        Self::start_with(tasks, vars, spec, sink)
    }

    /// [`start`](Self::start) with any `sink` for the frames (it errors to stop the
    /// sends): for programs that send otherwise than through a [`Session`], and tests.
    pub fn start_with(
        tasks: &Tasks,
        vars: Arc<Mutex<Variables>>,
        spec: PeriodicSpec,
        sink: impl FnMut(Outgoing) -> Result<(), String> + Send + 'static,
    ) -> Result<Self, String> {
        if spec.every < MIN_EVERY {
            return Err(format!(
                "the period must be at least {} ms",
                MIN_EVERY.as_millis()
            ));
        }
        if spec.count == Some(0) {
            return Err("the number of sends must be at least 1".to_owned());
        }
        // A message that cannot be built now would fail at its first send: say so at once.
        spec.message
            .preview(&vars.lock().unwrap_or_else(PoisonError::into_inner))?;
        let status = Arc::new(Mutex::new(PeriodicStatus {
            name: spec.message.title().to_owned(),
            every: spec.every,
            sent: 0,
            total: spec.count,
            state: PeriodicState::Running,
            max_late: Duration::ZERO,
            restarts: 0,
        }));
        let (stop, stopped) = watch::channel(false);
        tasks.spawn(
            "periodic send",
            run(spec, vars, sink, stopped, status.clone()),
        );
        Ok(Self { status, stop })
    }

    /// Stops the sends (a send under way completes).
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }

    /// The progress so far.
    pub fn status(&self) -> PeriodicStatus {
        self.status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Whether it is still sending.
    pub fn is_running(&self) -> bool {
        self.status().is_running()
    }
}

impl Drop for Periodic {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The sends, until the count is reached, the stop is asked for or a send fails.
async fn run(
    spec: PeriodicSpec,
    vars: Arc<Mutex<Variables>>,
    mut sink: impl FnMut(Outgoing) -> Result<(), String> + Send,
    mut stopped: watch::Receiver<bool>,
    status: Arc<Mutex<PeriodicStatus>>,
) {
    let set = |f: &mut dyn FnMut(&mut PeriodicStatus)| {
        f(&mut status.lock().unwrap_or_else(PoisonError::into_inner));
    };
    let mut interval = tokio::time::interval(spec.every);
    interval.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut sent = 0;
    loop {
        if *stopped.borrow() {
            set(&mut |s| s.state = PeriodicState::Stopped);
            return;
        }
        let due = tokio::select! {
            biased;
            // Only `stop` changes the value (to `true`); `changed` errs once the handle is
            // dropped: either way, stop.
            _ = stopped.changed() => None,
            due = interval.tick() => Some(due),
        };
        let Some(due) = due else {
            set(&mut |s| s.state = PeriodicState::Stopped);
            return;
        };
        let late = Instant::now().saturating_duration_since(due);
        let restart = late > CATCH_UP_LIMIT;
        if restart {
            // The next send is one period from now, not everything missed at once.
            interval.reset();
        }
        let built = spec
            .message
            .to_outgoing(&mut vars.lock().unwrap_or_else(PoisonError::into_inner));
        let result = built.and_then(&mut sink);
        if result.is_ok() {
            sent += 1;
        }
        let done = spec.count == Some(sent);
        set(&mut |s| {
            s.sent = sent;
            s.max_late = s.max_late.max(late);
            s.restarts += u64::from(restart);
            match &result {
                Err(e) => s.state = PeriodicState::Failed(e.clone()),
                Ok(()) if done => s.state = PeriodicState::Done,
                Ok(()) => {}
            }
        });
        if result.is_err() || done {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;
    use crate::profiles::SavedKind;

    type Sent = mpsc::Receiver<(Instant, Outgoing)>;

    fn sink() -> (
        impl FnMut(Outgoing) -> Result<(), String> + Send + 'static,
        Sent,
    ) {
        let (tx, rx) = mpsc::channel();
        let sink = move |out| {
            tx.send((Instant::now(), out))
                .map_err(|_| "the test stopped listening".to_owned())
        };
        (sink, rx)
    }

    fn spec(payload: &str, every_ms: u64, count: Option<u64>) -> PeriodicSpec {
        PeriodicSpec {
            message: SavedMessage::text("tick", payload),
            every: Duration::from_millis(every_ms),
            count,
        }
    }

    fn vars() -> Arc<Mutex<Variables>> {
        Arc::new(Mutex::new(Variables::new()))
    }

    async fn settle(periodic: &Periodic) -> PeriodicStatus {
        while periodic.is_running() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        periodic.status()
    }

    #[tokio::test(start_paused = true)]
    async fn n_sends_on_schedule_with_the_counter_counting_up() {
        let tasks = Tasks::on_current_runtime();
        let (sink, sent) = sink();
        let start = Instant::now();
        let periodic =
            Periodic::start_with(&tasks, vars(), spec("n={{counter}}", 100, Some(5)), sink)
                .unwrap();
        let status = settle(&periodic).await;
        assert_eq!(status.state, PeriodicState::Done);
        assert_eq!(status.progress(), "sent 5 of 5");
        let sent: Vec<(Instant, Outgoing)> = sent.try_iter().collect();
        let texts: Vec<Outgoing> = sent.iter().map(|(_, out)| out.clone()).collect();
        assert_eq!(
            texts,
            (1..=5)
                .map(|n| Outgoing::Text(format!("n={n}")))
                .collect::<Vec<_>>()
        );
        let offsets: Vec<u128> = sent
            .iter()
            .map(|(at, _)| (*at - start).as_millis())
            .collect();
        assert_eq!(offsets, [0, 100, 200, 300, 400]);
        assert!(tasks.panics().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn until_stopped() {
        let tasks = Tasks::on_current_runtime();
        let (sink, sent) = sink();
        let periodic = Periodic::start_with(&tasks, vars(), spec("x", 10, None), sink).unwrap();
        tokio::time::sleep(Duration::from_millis(95)).await;
        periodic.stop();
        let status = settle(&periodic).await;
        assert_eq!(status.state, PeriodicState::Stopped);
        assert_eq!(status.sent, 10, "at 0, 10 … 90 ms");
        assert_eq!(status.progress(), "sent 10");
        assert_eq!(sent.try_iter().count(), 10);
        // Nothing more after the stop.
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(periodic.status().sent, 10);
    }

    #[tokio::test(start_paused = true)]
    async fn dropping_the_handle_stops_it() {
        let tasks = Tasks::on_current_runtime();
        let (sink, sent) = sink();
        let periodic = Periodic::start_with(&tasks, vars(), spec("x", 10, None), sink).unwrap();
        tokio::time::sleep(Duration::from_millis(25)).await;
        drop(periodic);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(sent.try_iter().count(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn late_ticks_are_caught_up_and_a_long_stall_restarts_the_schedule() {
        let tasks = Tasks::on_current_runtime();
        let (tx, mut sent) = tokio::sync::mpsc::unbounded_channel();
        let sink = move |_| {
            tx.send(Instant::now())
                .map_err(|_| "the test stopped listening".to_owned())
        };
        let start = Instant::now();
        let periodic = Periodic::start_with(&tasks, vars(), spec("x", 10, Some(9)), sink).unwrap();
        let mut offsets = Vec::new();
        while let Some(at) = sent.recv().await {
            offsets.push((at - start).as_millis());
            // The clock jumps (a busy or stopped process) right after the third send, by
            // three and a half periods, and after the seventh by 1.5 s.
            match offsets.len() {
                3 => tokio::time::advance(Duration::from_millis(35)).await,
                7 => tokio::time::advance(Duration::from_millis(1500)).await,
                9 => break,
                _ => {}
            }
        }
        let status = settle(&periodic).await;
        assert_eq!(status.state, PeriodicState::Done);
        // Burst: at 55 the sends due at 30, 40 and 50 go at once, then the schedule goes
        // on at 60. At 1560 the send due at 70 goes, and the schedule starts again from
        // there instead of sending the 148 missed.
        assert_eq!(offsets, [0, 10, 20, 55, 55, 55, 60, 1560, 1570]);
        assert_eq!(status.restarts, 1);
        assert_eq!(status.max_late, Duration::from_millis(1490));
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_send_stops_it_and_says_why() {
        let tasks = Tasks::on_current_runtime();
        let mut left = 2;
        let closing = move |_| {
            if left == 0 {
                return Err("the connection closed".to_owned());
            }
            left -= 1;
            Ok(())
        };
        let periodic =
            Periodic::start_with(&tasks, vars(), spec("x", 5, Some(10)), closing).unwrap();
        let status = settle(&periodic).await;
        assert_eq!(
            status.state,
            PeriodicState::Failed("the connection closed".to_owned())
        );
        assert_eq!(status.sent, 2);

        // A variable removed while it runs: the send that cannot be built stops it.
        let shared = vars();
        shared
            .lock()
            .unwrap()
            .set("v", crate::vars::Value::plain("1"))
            .unwrap();
        let (sink, sent) = sink();
        let periodic =
            Periodic::start_with(&tasks, shared.clone(), spec("{{v}}", 5, None), sink).unwrap();
        tokio::time::sleep(Duration::from_millis(12)).await;
        shared.lock().unwrap().remove("v");
        let status = settle(&periodic).await;
        let PeriodicState::Failed(why) = &status.state else {
            panic!("{status:?}");
        };
        assert!(why.starts_with("“tick”: unknown variable {{v}}"), "{why}");
        assert_eq!(sent.try_iter().count(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn what_cannot_start() {
        let tasks = Tasks::on_current_runtime();
        let start = |spec| Periodic::start_with(&tasks, vars(), spec, |_| Ok(()));
        let err = start(spec("x", 0, None)).unwrap_err();
        assert!(err.contains("at least 1 ms"), "{err}");
        let err = start(spec("x", 10, Some(0))).unwrap_err();
        assert!(err.contains("at least 1"), "{err}");
        let err = start(spec("{{nope}}", 10, None)).unwrap_err();
        assert!(err.contains("unknown variable {{nope}}"), "{err}");
        let json = PeriodicSpec {
            message: SavedMessage::new("j", SavedKind::Json, "{"),
            ..spec("", 10, None)
        };
        assert!(start(json).unwrap_err().contains("not valid JSON"));
    }
}
