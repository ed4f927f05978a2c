//! `--bench-ingest N`: how fast a session logs frames from a fast stream, and what a full log
//! costs in memory (issue 6, part C).
//!
//! The measure is the issue's: **a ws-tokio connection to a local server that floods small
//! messages**, frames per second into the log store (both directions, as they are logged).
//! It runs the real path — a [`Session`](crate::net::Session) on the app's runtime with a tap,
//! the drain task, the [`LogStore`](crate::store::LogStore) — without a window.
//!
//! The flooding server ([`FloodServer`]) is deliberately cheap so that it is not what is
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
//! ([`LogStore::approx_memory`](crate::store::LogStore::approx_memory)) minus the payload
//! bytes it keeps, per frame kept; and the growth of the process's resident memory (VmRSS)
//! minus the same payload bytes, per frame kept.

use std::fmt;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ws_tokio::ConnectOptions;
use ws_tokio::ws_proto::ReadyState;
use ws_tokio::ws_proto::handshake::{
    HandshakeLimits, accept_response, check_request, parse_request, write_response,
};

use crate::net::{Net, SessionState, lock};

/// What the benchmark measured.
#[derive(Clone, Debug)]
pub struct Report {
    /// What ran: `flood` or `echo`.
    pub mode: &'static str,
    /// Frames logged (both directions).
    pub frames: u64,
    /// Entries kept in the log (frames and events).
    pub entries: usize,
    /// Frames kept in the log.
    pub frames_kept: usize,
    /// Payload bytes the log keeps.
    pub payload_bytes: usize,
    /// Wall-clock time from the first frame on its way to the last frame logged.
    pub elapsed: Duration,
    /// Resident memory before connecting, in KiB.
    pub rss_before_kib: Option<u64>,
    /// Resident memory after logging, in KiB.
    pub rss_after_kib: Option<u64>,
    /// The log's own estimate of its size, in bytes.
    pub log_memory: usize,
}

impl Report {
    /// Frames logged per second.
    pub fn frames_per_second(&self) -> f64 {
        self.frames as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The store's estimate of its memory beyond the kept payload bytes, per frame kept.
    pub fn bytes_per_frame(&self) -> f64 {
        self.log_memory.saturating_sub(self.payload_bytes) as f64 / self.frames_kept.max(1) as f64
    }

    /// The growth of VmRSS beyond the kept payload bytes, per frame kept.
    pub fn rss_bytes_per_frame(&self) -> Option<f64> {
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

/// The process's resident memory in KiB, from `/proc/self/status` (Linux).
pub fn vm_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A local WebSocket server that sends `messages` small text messages to each client as fast
/// as TCP takes them, then keeps the connection open until the client goes away.
#[derive(Debug)]
pub struct FloodServer {
    addr: SocketAddr,
    sent: Arc<AtomicU64>,
}

impl FloodServer {
    /// Binds a loopback port and serves on a thread of its own.
    pub fn start(messages: u64) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let sent = Arc::new(AtomicU64::new(0));
        let counter = sent.clone();
        std::thread::Builder::new()
            .name("flood-server".to_owned())
            .spawn(move || {
                for stream in listener.incoming() {
                    let Ok(stream) = stream else { continue };
                    let counter = counter.clone();
                    std::thread::spawn(move || {
                        let _ = flood(stream, messages, &counter);
                    });
                }
            })?;
        Ok(Self { addr, sent })
    }

    /// The URL to connect to.
    pub fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    /// Messages written to TCP so far (all clients).
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }
}

/// One flooded connection: the handshake, then `messages` text frames, then reads until EOF.
///
/// Blocking I/O on a thread of its own: it is simpler than a runtime and costs the same.
fn flood(mut tcp: TcpStream, messages: u64, sent: &AtomicU64) -> std::io::Result<()> {
    tcp.set_nodelay(true)?;
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    let limits = HandshakeLimits::default();
    let request = loop {
        let n = tcp.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
        match parse_request(&head, &limits) {
            Ok(Some((request, _))) => break request,
            Ok(None) => {}
            Err(e) => return Err(std::io::Error::other(e.to_string())),
        }
    };
    let upgrade = check_request(request).map_err(std::io::Error::other)?;
    let mut out = Vec::new();
    write_response(&accept_response(&upgrade, None), &mut out);
    tcp.write_all(&out)?;
    // Read (and drop) whatever the client sends meanwhile, as a real server does: a client
    // that has something to send must never wait for a server that only writes.
    let mut reader = tcp.try_clone()?;
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while matches!(reader.read(&mut buf), Ok(n) if n > 0) {}
    });
    // Frames: FIN + text, unmasked (server to client), lengths below 126.
    let mut batch = Vec::with_capacity(64 * 1024 + 128);
    let mut payload = String::with_capacity(64);
    for seq in 0..messages {
        payload.clear();
        use std::fmt::Write as _;
        let _ = write!(payload, "{{\"seq\":{seq},\"v\":\"tick\"}}");
        batch.push(0x81);
        batch.push(payload.len() as u8);
        batch.extend_from_slice(payload.as_bytes());
        if batch.len() >= 64 * 1024 {
            tcp.write_all(&batch)?;
            batch.clear();
            sent.store(seq + 1, Ordering::Relaxed);
        }
    }
    tcp.write_all(&batch)?;
    sent.store(messages, Ordering::Relaxed);
    // The connection stays open (the client's log is measured, not its close) until the
    // client goes; the reader thread sees it go.
    Ok(())
}

/// Waits until the session is open.
fn wait_open(shared: &std::sync::Mutex<SessionState>) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        {
            let state = lock(shared);
            if state.ready_state == ReadyState::Open {
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
            let stats = state.log.stats();
            (stats.frames_in + stats.frames_out, state.finished)
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
pub fn ingest(frames: u64) -> Result<Report, String> {
    let server = FloodServer::start(frames).map_err(|e| e.to_string())?;
    let rss_before_kib = vm_rss_kib();
    let net = Net::new().map_err(|e| e.to_string())?;
    let options = ConnectOptions::new(server.url());
    let session = net.connect(options, egui::Context::default(), None);
    let shared = session.shared();
    wait_open(&shared)?;
    let start = Instant::now();
    wait_logged(&shared, frames)?;
    let elapsed = start.elapsed();
    Ok(report("flood", &shared, frames, elapsed, rss_before_kib))
}

/// Last session's measure: `frames / 2` messages sent to the built-in echo server and echoed
/// back, so `frames` frames are logged, half each way.
pub fn echo(frames: u64) -> Result<Report, String> {
    let rss_before_kib = vm_rss_kib();
    let mut net = Net::new().map_err(|e| e.to_string())?;
    let url = net.start_local_echo()?;
    let session = net.connect(ConnectOptions::new(url), egui::Context::default(), None);
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
