//! Helpers for the benchmarks and load tests (the `ingest` example, the app's UI bench and
//! its flood test): a local server that floods small messages, and the process's resident
//! memory. Nothing in the inspector itself uses them.
//!
//! The flooding server ([`FloodServer`]) is deliberately cheap so that it is not what is
//! measured: it runs on threads of its own (as a separate process would, sharing the same
//! cores), answers the upgrade with `ws-proto`'s handshake functions and writes pre-encoded
//! frames 64 KiB at a time, the way a market-data feed does. Each message is a distinct
//! ~25-byte JSON text (`{"seq":123,"v":"tick"}`).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ws_tokio::ws_proto::handshake::{
    HandshakeLimits, accept_response, check_request, parse_request, write_response,
};

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
    // that has something to send must never wait for a server that only writes. A read that
    // starts with a close frame (a client done with the flood) is answered with close 1000
    // and the end of TCP, so that a client's close handshake is not what gets measured.
    let mut reader = tcp.try_clone()?;
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            if buf[0] == 0x88 {
                let _ = reader.write_all(&[0x88, 0x02, 0x03, 0xe8]);
                let _ = reader.shutdown(std::net::Shutdown::Both);
                break;
            }
        }
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
