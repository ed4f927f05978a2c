//! `cargo run --release -p ws-inspector-core --example ingest -- N [--echo]`: how fast a session logs frames from a fast stream, and what a full log
//! costs in memory (issue 6, part C).
//!
//! The measure is the issue's: **a ws-tokio connection to a local server that floods small
//! messages**, frames per second into the log store (both directions, as they are logged).
//! It runs the real path — a [`Session`](ws_inspector_core::Session) on the app's runtime with a tap,
//! the drain task, the [`LogStore`](ws_inspector_core::LogStore) — without a window.
//!
//! The flooding server ([`FloodServer`](ws_inspector_core::bench_support::FloodServer)) is deliberately cheap so that it is not what is
//! measured: it runs on a thread and a single-threaded runtime of its own (as a separate
//! process would, sharing the same cores), answers the upgrade with `ws-proto`'s handshake
//! functions and writes pre-encoded frames 64 KiB at a time, the way a market-data feed
//! does. Each message is a distinct ~25-byte JSON text (`{"seq":123,"v":"tick"}`).
//!
//! A second measure, [`echo`], keeps last session's figure comparable: the app's built-in
//! echo server, N/2 messages sent by the session and echoed back (N frames logged, half of
//! them outgoing).
//!
//! Memory per frame is reported two ways: the store's own account
//! ([`LogStore::approx_memory`](ws_inspector_core::LogStore::approx_memory)) minus the payload
//! bytes it keeps, per frame kept; and the growth of the process's resident memory (VmRSS)
//! minus the same payload bytes, per frame kept.

use std::fmt;
use std::time::{Duration, Instant};

use ws_inspector_core::bench_support::{FloodServer, vm_rss_kib};
use ws_inspector_core::session::{SessionState, lock};
use ws_inspector_core::{Net, Notify};
use ws_tokio::ConnectOptions;
use ws_tokio::ws_proto::ReadyState;

/// How fast a session logs frames from a fast stream, and what a full log costs in memory.
#[derive(Debug, clap::Parser)]
#[command(
    name = "ingest",
    about = "N frames (default 1,000,000) flooded at a session by a local server (or, with \
             --echo, N/2 messages sent to the built-in echo server and echoed back); reports \
             frames/s logged and memory per kept frame"
)]
struct Cli {
    /// Frames to log (`_` separators allowed: 1_000_000)
    #[arg(value_name = "N", default_value = "1000000", value_parser = frame_count)]
    frames: u64,
    /// Send N/2 messages to the built-in echo server instead of being flooded
    #[arg(long)]
    echo: bool,
}

/// A number of frames, `_` separators allowed.
fn frame_count(arg: &str) -> Result<u64, String> {
    arg.replace('_', "")
        .parse()
        .map_err(|_| format!("{arg:?} is not a number of frames"))
}

fn main() -> std::process::ExitCode {
    let cli = <Cli as clap::Parser>::parse();
    let (frames, echo_mode) = (cli.frames, cli.echo);
    let result = if echo_mode {
        echo(frames)
    } else {
        ingest(frames)
    };
    match result {
        Ok(report) => {
            println!("{report}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ingest: benchmark failed: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// What the benchmark measured.
#[derive(Clone, Debug)]
struct Report {
    /// What ran: `flood` or `echo`.
    mode: &'static str,
    /// Frames logged (both directions).
    frames: u64,
    /// Entries kept in the log (frames and events).
    entries: usize,
    /// Frames kept in the log.
    frames_kept: usize,
    /// Payload bytes the log keeps.
    payload_bytes: usize,
    /// Wall-clock time from the first frame on its way to the last frame logged.
    elapsed: Duration,
    /// Resident memory before connecting, in KiB.
    rss_before_kib: Option<u64>,
    /// Resident memory after logging, in KiB.
    rss_after_kib: Option<u64>,
    /// The log's own estimate of its size, in bytes.
    log_memory: usize,
}

impl Report {
    /// Frames logged per second.
    fn frames_per_second(&self) -> f64 {
        self.frames as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The store's estimate of its memory beyond the kept payload bytes, per frame kept.
    fn bytes_per_frame(&self) -> f64 {
        self.log_memory.saturating_sub(self.payload_bytes) as f64 / self.frames_kept.max(1) as f64
    }

    /// The growth of VmRSS beyond the kept payload bytes, per frame kept.
    fn rss_bytes_per_frame(&self) -> Option<f64> {
        let grown = self.rss_after_kib?.saturating_sub(self.rss_before_kib?) * 1024;
        Some((grown as f64 - self.payload_bytes as f64).max(0.0) / self.frames_kept.max(1) as f64)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: logged {} frames ({} log entries kept, {} frames) in {:.2} s: {:.0} frames/s",
            self.mode,
            self.frames,
            self.entries,
            self.frames_kept,
            self.elapsed.as_secs_f64(),
            self.frames_per_second()
        )?;
        let mib = |kib: Option<u64>| {
            kib.map_or("?".to_owned(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
        };
        writeln!(
            f,
            "{}: VmRSS before {}, after {}; log estimate {:.1} MiB, of which {:.1} MiB payload",
            self.mode,
            mib(self.rss_before_kib),
            mib(self.rss_after_kib),
            self.log_memory as f64 / (1024.0 * 1024.0),
            self.payload_bytes as f64 / (1024.0 * 1024.0),
        )?;
        write!(
            f,
            "{}: bytes per kept frame beyond its payload: {:.1} (log estimate), {} (VmRSS growth)",
            self.mode,
            self.bytes_per_frame(),
            self.rss_bytes_per_frame()
                .map_or("?".to_owned(), |b| format!("{b:.1}"))
        )
    }
}

/// Waits until the session is open.
fn wait_open(shared: &std::sync::Mutex<SessionState>) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        {
            let state = lock(shared);
            if state.ready_state() == ReadyState::Open {
                return Ok(());
            }
            if state.finished {
                return Err(format!(
                    "the connection failed: {}",
                    state.last_error.as_deref().unwrap_or("?")
                ));
            }
        }
        if Instant::now() > deadline {
            return Err("the connection did not open".to_owned());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Waits until `target` frames are logged (both directions), printing progress.
fn wait_logged(shared: &std::sync::Mutex<SessionState>, target: u64) -> Result<(), String> {
    let start = Instant::now();
    let mut last_progress = Instant::now();
    loop {
        let (logged, finished) = {
            let state = lock(shared);
            let traffic = state.traffic;
            (traffic.frames_in + traffic.frames_out, state.finished)
        };
        if logged >= target {
            return Ok(());
        }
        if finished {
            return Err(format!("the connection ended at {logged} frames"));
        }
        if last_progress.elapsed() > Duration::from_secs(2) {
            last_progress = Instant::now();
            eprintln!("… {logged} / {target} frames logged");
        }
        if start.elapsed() > Duration::from_secs(600) {
            return Err(format!("gave up after 10 minutes at {logged} frames"));
        }
        std::thread::sleep(Duration::from_micros(500));
    }
}

fn report(
    mode: &'static str,
    shared: &std::sync::Mutex<SessionState>,
    frames: u64,
    elapsed: Duration,
    rss_before_kib: Option<u64>,
) -> Report {
    let state = lock(shared);
    let log = &state.log;
    Report {
        mode,
        frames,
        entries: log.len(),
        frames_kept: log.frames_kept(),
        payload_bytes: log.payload_bytes(),
        elapsed,
        rss_before_kib,
        rss_after_kib: vm_rss_kib(),
        log_memory: log.approx_memory(),
    }
}

/// The measure: a local server floods `frames` small messages at a session; the
/// clock runs from the moment the connection is open to the last frame logged.
fn ingest(frames: u64) -> Result<Report, String> {
    let server = FloodServer::start(frames).map_err(|e| e.to_string())?;
    let rss_before_kib = vm_rss_kib();
    let net = Net::new().map_err(|e| e.to_string())?;
    let options = ConnectOptions::new(server.url());
    let session = net.connect(options, Notify::none(), None);
    let shared = session.shared();
    wait_open(&shared)?;
    let start = Instant::now();
    wait_logged(&shared, frames)?;
    let elapsed = start.elapsed();
    Ok(report("flood", &shared, frames, elapsed, rss_before_kib))
}

/// Last session's measure: `frames / 2` messages sent to the built-in echo server and echoed
/// back, so `frames` frames are logged, half each way.
fn echo(frames: u64) -> Result<Report, String> {
    let rss_before_kib = vm_rss_kib();
    let mut net = Net::new().map_err(|e| e.to_string())?;
    let url = net.start_local_echo()?;
    let session = net.connect(ConnectOptions::new(url), Notify::none(), None);
    let shared = session.shared();
    wait_open(&shared)?;
    let messages = frames.div_ceil(2);
    let target = messages * 2;
    let start = Instant::now();
    session.flood(net.tasks(), messages);
    wait_logged(&shared, target)?;
    let elapsed = start.elapsed();
    Ok(report("echo", &shared, target, elapsed, rss_before_kib))
}
