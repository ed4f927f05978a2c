//! `--bench-ingest N`: how fast a session logs frames, and what a full log costs in memory.
//!
//! It runs the real path — the built-in echo server, a [`Session`](crate::net::Session) with a
//! tap, the drain task, the [`LogStore`](crate::store::LogStore) — without a window: it sends
//! N/2 small text messages, the echo server sends them back, and the log ends up with N
//! frames (plus one `message` event per echo). It reports the frames per second logged and
//! the process's resident memory (VmRSS) before and after.

use std::fmt;
use std::time::{Duration, Instant};

use ws_net::ConnectOptions;
use ws_net::ws_proto::ReadyState;

use crate::net::{Net, lock};

/// What the benchmark measured.
#[derive(Clone, Debug)]
pub struct Report {
    /// Frames logged (both directions).
    pub frames: u64,
    /// Entries kept in the log (frames and events).
    pub entries: usize,
    /// Wall-clock time from the first send to the last frame logged.
    pub elapsed: Duration,
    /// Resident memory before connecting, in KiB.
    pub rss_before_kib: Option<u64>,
    /// Resident memory after logging, in KiB.
    pub rss_after_kib: Option<u64>,
    /// The log's own estimate of its size, in bytes.
    pub log_memory: usize,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        writeln!(
            f,
            "logged {} frames ({} log entries) in {:.2} s: {:.0} frames/s",
            self.frames,
            self.entries,
            secs,
            self.frames as f64 / secs
        )?;
        let mib = |kib: Option<u64>| {
            kib.map_or("?".to_owned(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
        };
        writeln!(
            f,
            "VmRSS before: {}, after: {}; log estimate {:.1} MiB",
            mib(self.rss_before_kib),
            mib(self.rss_after_kib),
            self.log_memory as f64 / (1024.0 * 1024.0)
        )
    }
}

/// The process's resident memory in KiB, from `/proc/self/status` (Linux).
pub fn vm_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs the benchmark for `frames` frames (rounded up to an even number).
pub fn ingest(frames: u64) -> Result<Report, String> {
    let rss_before_kib = vm_rss_kib();
    let mut net = Net::new().map_err(|e| e.to_string())?;
    let url = net.start_local_echo()?;
    let ctx = egui::Context::default();
    let session = net.connect(ConnectOptions::new(url), ctx);
    let shared = session.shared();
    let deadline = Instant::now() + Duration::from_secs(10);
    while lock(&shared).ready_state != ReadyState::Open {
        if Instant::now() > deadline {
            return Err("the local echo connection did not open".to_owned());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let messages = frames.div_ceil(2);
    let target = messages * 2;
    let start = Instant::now();
    session.flood(net.handle(), messages);
    let mut last_progress = Instant::now();
    loop {
        let (frames_in, frames_out) = {
            let state = lock(&shared);
            (state.traffic.frames_in, state.traffic.frames_out)
        };
        let logged = frames_in + frames_out;
        if logged >= target {
            break;
        }
        if last_progress.elapsed() > Duration::from_secs(2) {
            last_progress = Instant::now();
            eprintln!("… {logged} / {target} frames ({frames_out} sent, {frames_in} received)");
        }
        if start.elapsed() > Duration::from_secs(600) {
            return Err(format!("gave up after 10 minutes at {logged} frames"));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let elapsed = start.elapsed();
    let (entries, log_memory) = {
        let state = lock(&shared);
        (state.log.len(), state.log.approx_memory())
    };
    Ok(Report {
        frames: target,
        entries,
        elapsed,
        rss_before_kib,
        rss_after_kib: vm_rss_kib(),
        log_memory,
    })
}
