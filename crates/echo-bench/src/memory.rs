//! `echo-bench memory`: what a connection costs each server in resident memory, side by side.
//!
//! Two figures per server, each measured on a fresh server process (`echo-bench server`,
//! the same servers as the throughput matrix) by a client in this process:
//!
//! 1. **Idle connection**: the server's `VmRSS` (from `/proc/<pid>/status`) after one
//!    warm-up connection has echoed a message, then again after `--idle N` more connections
//!    (default 200) have each completed the upgrade and echoed one 16-byte message and sit
//!    idle; the growth divided by N is the cost of one idle upgraded connection.
//! 2. **Large message**: the server's `VmRSS` before, and its `VmHWM` (peak resident set)
//!    after, one connection echoes one binary message of `--big` MiB (default 64; the
//!    servers' limits are raised to twice that); the peak growth divided by the message size
//!    is how many copies of a message the server holds at its worst.
//!
//! Resident memory is what the kernel charges: allocations never touched are free, freed
//! memory that the allocator keeps is not. It is a property of the whole process (runtime,
//! allocator, buffers), which is what a user pays.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde::Serialize;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::servers::Impl;

/// What to measure.
#[derive(Clone, Debug)]
pub struct MemorySpec {
    /// Idle connections opened for the first figure.
    pub idle: usize,
    /// The large message's size, in bytes.
    pub big: usize,
}

/// One server's figures.
#[derive(Clone, Debug, Serialize)]
pub struct MemoryResult {
    /// The server.
    pub server: String,
    /// Resident bytes per idle upgraded connection.
    pub idle_bytes_per_conn: f64,
    /// Peak resident growth while echoing the large message, over its size.
    pub big_peak_ratio: f64,
    /// The large message's size.
    pub big_bytes: usize,
}

/// Measures every server in `servers` and returns their figures.
pub fn run(
    exe: &std::path::Path,
    servers: &[Impl],
    spec: &MemorySpec,
) -> Result<Vec<MemoryResult>, Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut results = Vec::new();
    for &server in servers {
        eprint!("memory: {:<18} ", server.name());
        let limit = spec.big * 2;
        let (idle, big) = {
            let mut child = Spawned::start(exe, server, limit)?;
            let idle = runtime.block_on(idle_cost(&child.url, child.pid(), spec.idle));
            child.stop();
            let mut child = Spawned::start(exe, server, limit)?;
            let big = runtime.block_on(big_peak(&child.url, child.pid(), spec.big));
            child.stop();
            (idle?, big?)
        };
        eprintln!(
            "{:>8.2} KiB per idle connection · {:.2}x a {} MiB message at peak",
            idle / 1024.0,
            big,
            spec.big >> 20
        );
        results.push(MemoryResult {
            server: server.name().to_owned(),
            idle_bytes_per_conn: idle,
            big_peak_ratio: big,
            big_bytes: spec.big,
        });
    }
    Ok(results)
}

/// A markdown table of the figures.
pub fn markdown(results: &[MemoryResult], spec: &MemorySpec) -> String {
    let mut out = format!(
        "| server | RSS per idle upgraded connection ({} connections) | peak RSS growth / message, one {} MiB echo |\n|---|---:|---:|\n",
        spec.idle,
        spec.big >> 20
    );
    for r in results {
        out.push_str(&format!(
            "| {} | {:.2} KiB | {:.2}x |\n",
            r.server,
            r.idle_bytes_per_conn / 1024.0,
            r.big_peak_ratio
        ));
    }
    out
}

/// A server process, stopped when dropped.
struct Spawned {
    child: Child,
    url: String,
}

impl Spawned {
    fn start(
        exe: &std::path::Path,
        server: Impl,
        limit: usize,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let mut child = Command::new(exe)
            .args(["server", "--impl", server.name(), "--addr", "127.0.0.1:0"])
            .args(["--max-message", &limit.to_string()])
            .stdout(Stdio::piped())
            .spawn()?;
        let addr = crate::servers::listening_addr(&mut child)?;
        Ok(Self {
            child,
            url: format!("ws://{addr}/"),
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The client's limits: large enough for the large message.
fn client_config(limit: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(limit))
        .max_frame_size(Some(limit))
}

type Client =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Connects and echoes one small message.
async fn connect_and_echo(url: &str, limit: usize) -> Result<Client, Box<dyn std::error::Error>> {
    let (mut ws, _) =
        tokio_tungstenite::connect_async_with_config(url, Some(client_config(limit)), true).await?;
    ws.send(Message::binary(vec![7u8; 16])).await?;
    match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
        Ok(Some(Ok(message))) if message.len() == 16 => Ok(ws),
        other => Err(format!("no echo: {other:?}").into()),
    }
}

/// Bytes of resident memory per idle upgraded connection.
async fn idle_cost(url: &str, pid: u32, n: usize) -> Result<f64, Box<dyn std::error::Error>> {
    let warm = connect_and_echo(url, 1 << 20).await?;
    settle().await;
    let before = status_kib(pid, "VmRSS:")?;
    let mut idle = Vec::with_capacity(n);
    for _ in 0..n {
        idle.push(connect_and_echo(url, 1 << 20).await?);
    }
    settle().await;
    let after = status_kib(pid, "VmRSS:")?;
    drop(idle);
    drop(warm);
    Ok(after.saturating_sub(before) as f64 * 1024.0 / n.max(1) as f64)
}

/// Peak resident growth while echoing one message of `size` bytes, over `size`.
async fn big_peak(url: &str, pid: u32, size: usize) -> Result<f64, Box<dyn std::error::Error>> {
    let mut ws = connect_and_echo(url, size * 2).await?;
    settle().await;
    let before = status_kib(pid, "VmRSS:")?;
    let payload: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    ws.send(Message::binary(payload)).await?;
    match tokio::time::timeout(Duration::from_secs(60), ws.next()).await {
        Ok(Some(Ok(message))) if message.len() == size => {}
        Ok(Some(Ok(message))) => {
            return Err(format!("echo of {} bytes, not {size}", message.len()).into());
        }
        other => return Err(format!("no echo of the large message: {other:?}").into()),
    }
    let peak = status_kib(pid, "VmHWM:")?;
    let _ = ws.close(None).await;
    Ok(peak.saturating_sub(before) as f64 * 1024.0 / size as f64)
}

/// Lets the server finish what it was doing (a current-thread runtime in another process).
async fn settle() {
    tokio::time::sleep(Duration::from_millis(300)).await;
}

/// A `kB` field of `/proc/<pid>/status`, such as `VmRSS:` or `VmHWM:`.
fn status_kib(pid: u32, field: &str) -> Result<u64, Box<dyn std::error::Error>> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .ok_or_else(|| format!("no {field} in /proc/{pid}/status"))?;
    let kib = line
        .split_ascii_whitespace()
        .nth(1)
        .ok_or("malformed status line")?
        .parse()?;
    Ok(kib)
}
