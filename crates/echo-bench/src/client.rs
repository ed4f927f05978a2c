//! The load client: `conns` connections, each with exactly one message in flight.
//!
//! It is kept lean so that the servers, not the client, set the pace: every connection writes
//! the same pre-built masked frame (built once per run), reads the echo into a fixed 64 KiB
//! buffer it reuses (checking the header, counting the payload bytes, not copying them), and
//! records one latency sample per message. Everything runs on one current-thread runtime.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// What one client run is asked to do.
#[derive(Clone, Debug)]
pub struct LoadSpec {
    /// The server's address.
    pub addr: String,
    /// The server's process id, for its CPU time (0: do not measure).
    pub server_pid: u32,
    /// Connections.
    pub conns: usize,
    /// Payload size of every message.
    pub size: usize,
    /// Unmeasured time before the measured window.
    pub warmup: Duration,
    /// The measured window, at most.
    pub duration: Duration,
    /// Messages in the measured window, at most (over all connections).
    pub max_msgs: u64,
}

/// What one client run measured.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoadResult {
    /// Echoed messages completed in the measured window.
    pub msgs: u64,
    /// Length of the measured window, seconds.
    pub secs: f64,
    /// Median round trip, microseconds.
    pub p50_us: f64,
    /// 99th percentile round trip, microseconds.
    pub p99_us: f64,
    /// Server user CPU over the window, seconds.
    pub server_user_s: f64,
    /// Server system CPU over the window, seconds.
    pub server_sys_s: f64,
    /// Client user + system CPU over the window, seconds.
    pub client_cpu_s: f64,
}

/// Connects, warms up, measures, and returns the numbers.
pub fn run(spec: &LoadSpec) -> Result<LoadResult, Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(load(spec))
}

async fn load(spec: &LoadSpec) -> Result<LoadResult, Box<dyn std::error::Error>> {
    let frame: Arc<[u8]> = masked_binary_frame(spec.size).into();
    let mut streams = Vec::with_capacity(spec.conns);
    for _ in 0..spec.conns {
        streams.push(open(&spec.addr).await?);
    }
    let start = Instant::now() + spec.warmup;
    let end = start + spec.duration;
    let measured = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(spec.conns);
    for stream in streams {
        tasks.push(tokio::spawn(connection(
            stream,
            frame.clone(),
            spec.size,
            start,
            end,
            measured.clone(),
            spec.max_msgs,
        )));
    }
    tokio::time::sleep_until(start.into()).await;
    let server0 = cpu_ticks(spec.server_pid);
    let client0 = cpu_ticks(std::process::id());
    let t0 = Instant::now();
    let mut samples = Vec::new();
    for task in tasks {
        samples.extend(task.await??);
    }
    let secs = t0.elapsed().as_secs_f64();
    let server1 = cpu_ticks(spec.server_pid);
    let client1 = cpu_ticks(std::process::id());
    samples.sort_unstable();
    let tick = 1.0 / clock_ticks_per_second();
    let (server_user_s, server_sys_s) = match (server0, server1) {
        (Some(a), Some(b)) => (
            (b.0.saturating_sub(a.0)) as f64 * tick,
            (b.1.saturating_sub(a.1)) as f64 * tick,
        ),
        _ => (f64::NAN, f64::NAN),
    };
    let client_cpu_s = match (client0, client1) {
        (Some(a), Some(b)) => (b.0 + b.1).saturating_sub(a.0 + a.1) as f64 * tick,
        _ => f64::NAN,
    };
    Ok(LoadResult {
        msgs: samples.len() as u64,
        secs,
        p50_us: percentile(&samples, 0.50),
        p99_us: percentile(&samples, 0.99),
        server_user_s,
        server_sys_s,
        client_cpu_s,
    })
}

/// One connection's loop: send, wait for the whole echo, repeat; latency samples in ns.
async fn connection(
    mut stream: TcpStream,
    frame: Arc<[u8]>,
    size: usize,
    start: Instant,
    end: Instant,
    measured: Arc<AtomicU64>,
    max_msgs: u64,
) -> std::io::Result<Vec<u32>> {
    let expected_header = server_header_len(size);
    let expected = expected_header + size;
    let mut buf = vec![0u8; 64 * 1024];
    let mut samples = Vec::new();
    loop {
        let sent_at = Instant::now();
        if sent_at >= end || measured.load(Ordering::Relaxed) >= max_msgs {
            return Ok(samples);
        }
        stream.write_all(&frame).await?;
        let mut got = 0;
        while got < expected {
            let want = (expected - got).min(buf.len());
            let n = stream.read(&mut buf[..want]).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            if got == 0 && buf[0] != 0x82 {
                return Err(std::io::Error::other(format!(
                    "expected a final binary frame, got first byte {:#04x}",
                    buf[0]
                )));
            }
            got += n;
        }
        let done = Instant::now();
        if done >= start && done < end {
            let ns = (done - sent_at).as_nanos().min(u128::from(u32::MAX));
            // Bounded by u32::MAX just above.
            samples.push(ns as u32);
            measured.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Opens a TCP connection and does the opening handshake (checks only for the 101).
async fn open(addr: &str) -> Result<TcpStream, Box<dyn std::error::Error>> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    // Byte by byte, so that nothing after the head is consumed; only at connect time.
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await? == 0 || head.len() > 16 * 1024 {
            return Err("no complete 101 response".into());
        }
        head.push(byte[0]);
    }
    if !head.starts_with(b"HTTP/1.1 101") {
        return Err(format!("not a 101: {}", String::from_utf8_lossy(&head)).into());
    }
    Ok(stream)
}

/// A final binary frame of `size` bytes, masked with a fixed key, as a client sends it.
pub fn masked_binary_frame(size: usize) -> Vec<u8> {
    const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
    let mut frame = Vec::with_capacity(14 + size);
    frame.push(0x82);
    match size {
        0..=125 => frame.push(0x80 | size as u8),
        126..=0xffff => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(size as u16).to_be_bytes());
        }
        _ => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(size as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&KEY);
    frame.extend((0..size).map(|i| (i as u8).wrapping_mul(31) ^ KEY[i % 4]));
    frame
}

/// The length of an unmasked header for a `size`-byte payload.
fn server_header_len(size: usize) -> usize {
    match size {
        0..=125 => 2,
        126..=0xffff => 4,
        _ => 10,
    }
}

fn percentile(sorted_ns: &[u32], q: f64) -> f64 {
    if sorted_ns.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted_ns.len() - 1) as f64 * q).round() as usize;
    f64::from(sorted_ns[i]) / 1000.0
}

/// `(utime, stime)` in clock ticks from `/proc/<pid>/stat` (fields 14 and 15).
pub fn cpu_ticks(pid: u32) -> Option<(u64, u64)> {
    if pid == 0 {
        return None;
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split_ascii_whitespace().skip(11);
    let utime = fields.next()?.parse().ok()?;
    let stime = fields.next()?.parse().ok()?;
    Some((utime, stime))
}

/// `CLK_TCK`: 100 on every Linux this runs on (`getconf CLK_TCK`); asked of getconf when it
/// can be.
fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}
