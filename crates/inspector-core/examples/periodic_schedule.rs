//! `cargo run --release -p ws-inspector-core --example periodic_schedule [-- EVERY_MS SECONDS]`:
//! does a periodic send keep its schedule? (issue 17: "a periodic send at 1 ms intervals for
//! 10 s keeps its schedule within 5 %").
//!
//! It runs the real path: the app's runtime ([`Net`]), a [`Session`] to the built-in local
//! echo server, and a [`Periodic`] send of a small JSON text (`{"seq":{{counter}}}`,
//! expanded for every send) every EVERY_MS (default 1) for SECONDS (default 10). The times
//! measured are those of the frames in the session's log: when the connection wrote each
//! one, as its tap stamped it — the schedule as the peer sees it, not as the timer fired.
//!
//! It prints the sends made against those expected, the median, p99 and largest interval
//! between two sends, the drift — how much longer than `(N - 1) × EVERY_MS` the run from the
//! first send to the last took, in ms and in percent — and how far behind its slot on the
//! schedule (`start + k × EVERY_MS`, with the earliest start that puts no send ahead of its
//! slot) each send went (median, p99, max). It exits with status
//! 1 when the sends made or the drift are off by more than 5 %: that is keeping the
//! schedule. The intervals are not expected to be exactly EVERY_MS each: tokio's timer has
//! a granularity of 1 ms, so a 1 ms tick fires a little after its time, a little later each
//! time, until a send is a whole period behind and the one missed goes at once (the Burst
//! behaviour): intervals a little over 1 ms, with a short one now and then, and no drift.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ws_inspector_core::log::Item;
use ws_inspector_core::profiles::SavedMessage;
use ws_inspector_core::vars::Variables;
use ws_inspector_core::workflow::periodic::{Periodic, PeriodicSpec, PeriodicState};
use ws_inspector_core::{Net, Notify, Session};
use ws_tokio::ConnectOptions;
use ws_tokio::ws_proto::{Direction, OpCode, ReadyState};

fn main() -> ExitCode {
    let mut numbers = std::env::args().skip(1).map(|a| a.parse::<u64>());
    let every_ms = match numbers.next() {
        None => 1,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => return usage(),
    };
    let seconds = match numbers.next() {
        None => 10,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => return usage(),
    };
    match run(Duration::from_millis(every_ms), seconds) {
        Ok(report) => {
            println!("{report}");
            if report.within(5.0) {
                ExitCode::SUCCESS
            } else {
                println!("not within 5 %");
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("periodic_schedule: {e}");
            ExitCode::from(2)
        }
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: periodic_schedule [EVERY_MS [SECONDS]]   (defaults: 1 ms for 10 s)");
    ExitCode::from(2)
}

/// What one run measured.
struct Report {
    every: Duration,
    expected: u64,
    sent: u64,
    logged: usize,
    median: Duration,
    p99: Duration,
    max: Duration,
    span: Duration,
    /// How far behind its slot each send went: median, p99, max.
    behind: [Duration; 3],
    wall: Duration,
    max_late: Duration,
    restarts: u64,
}

impl Report {
    /// Expected span of the sends: (N - 1) periods.
    fn expected_span(&self) -> Duration {
        self.every * u32::try_from(self.expected.saturating_sub(1)).unwrap_or(u32::MAX)
    }

    /// The drift in percent of the expected span (positive: slower than the schedule).
    fn drift_percent(&self) -> f64 {
        let expected = self.expected_span().as_secs_f64();
        (self.span.as_secs_f64() - expected) / expected * 100.0
    }

    /// Sends made and drift both within `percent` of the schedule.
    fn within(&self, percent: f64) -> bool {
        let count_off = (self.logged as f64 - self.expected as f64).abs() / self.expected as f64;
        count_off * 100.0 <= percent && self.drift_percent().abs() <= percent
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let drift = self.span.as_secs_f64() - self.expected_span().as_secs_f64();
        writeln!(
            f,
            "periodic send every {} ms, {} sends",
            self.every.as_millis(),
            self.expected
        )?;
        writeln!(
            f,
            "  sends made {} (queued), {} in the log; expected {}",
            self.sent, self.logged, self.expected
        )?;
        writeln!(
            f,
            "  interval median {:.3} ms, p99 {:.3} ms, max {:.3} ms",
            ms(self.median),
            ms(self.p99),
            ms(self.max)
        )?;
        writeln!(
            f,
            "  first to last send {:.1} ms, expected {:.1} ms: drift {:+.1} ms ({:+.2} %)",
            ms(self.span),
            ms(self.expected_span()),
            drift * 1000.0,
            self.drift_percent()
        )?;
        writeln!(
            f,
            "  behind its slot: median {:.3} ms, p99 {:.3} ms, max {:.3} ms",
            ms(self.behind[0]),
            ms(self.behind[1]),
            ms(self.behind[2])
        )?;
        write!(
            f,
            "  wall time {:.1} ms; the timer at most {:.3} ms late; schedule restarts {}",
            ms(self.wall),
            ms(self.max_late),
            self.restarts
        )
    }
}

fn run(every: Duration, seconds: u64) -> Result<Report, String> {
    let expected = seconds * 1000 / u64::try_from(every.as_millis()).unwrap_or(1).max(1);
    let mut net = Net::new().map_err(|e| format!("no runtime: {e}"))?;
    let url = net.start_local_echo()?;
    let session = net.connect(ConnectOptions::new(url), Notify::none(), None);
    wait(Duration::from_secs(10), "the connection to open", || {
        session.state().ready_state() == ReadyState::Open
    })?;
    let vars = Arc::new(Mutex::new(Variables::new()));
    let spec = PeriodicSpec {
        message: SavedMessage::text("seq", "{\"seq\":{{counter}}}"),
        every,
        count: Some(expected),
    };
    let started = Instant::now();
    let periodic = Periodic::start(&session, net.tasks(), vars, spec)?;
    wait(
        Duration::from_secs(seconds * 3 + 10),
        "the sends to finish",
        || !periodic.is_running(),
    )?;
    let wall = started.elapsed();
    let status = periodic.status();
    if status.state != PeriodicState::Done {
        return Err(format!("the periodic send ended: {:?}", status.state));
    }
    // Every frame queued is written, and echoed, soon after.
    wait(Duration::from_secs(10), "every frame to be logged", || {
        outgoing_times(&session).len() as u64 >= expected
    })?;
    let times = outgoing_times(&session);
    let mut intervals: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    intervals.sort();
    // Each send against its slot `start + k × every`, with the start that puts no send
    // ahead of its slot.
    let offsets: Vec<Duration> = times
        .iter()
        .zip(0u32..)
        .map(|(t, k)| t.saturating_sub(every * k))
        .collect();
    let start = offsets.iter().min().copied().unwrap_or_default();
    let mut behind: Vec<Duration> = offsets.iter().map(|o| *o - start).collect();
    behind.sort();
    let quantile = |sorted: &[Duration], q: f64| {
        let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
        sorted.get(i).copied().unwrap_or_default()
    };
    let at = |q: f64| quantile(&intervals, q);
    let panics = net.tasks().panics();
    if !panics.is_empty() {
        return Err(format!("a task panicked: {panics:?}"));
    }
    Ok(Report {
        every,
        expected,
        sent: status.sent,
        logged: times.len(),
        median: at(0.5),
        p99: at(0.99),
        max: intervals.last().copied().unwrap_or_default(),
        span: match (times.first(), times.last()) {
            (Some(first), Some(last)) => *last - *first,
            _ => Duration::ZERO,
        },
        behind: [
            quantile(&behind, 0.5),
            quantile(&behind, 0.99),
            behind.last().copied().unwrap_or_default(),
        ],
        wall,
        max_late: status.max_late,
        restarts: status.restarts,
    })
}

/// The times (since the session started) of the text frames sent, in order.
fn outgoing_times(session: &Session) -> Vec<Duration> {
    let state = session.state();
    state
        .log
        .iter()
        .filter_map(|entry| match entry.item {
            Item::Frame(frame)
                if frame.direction == Direction::Outgoing
                    && frame.header.opcode == OpCode::Text =>
            {
                Some(entry.elapsed)
            }
            _ => None,
        })
        .collect()
}

fn wait(limit: Duration, what: &str, mut done: impl FnMut() -> bool) -> Result<(), String> {
    let end = Instant::now() + limit;
    while !done() {
        if Instant::now() > end {
            return Err(format!("timed out waiting for {what}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}
