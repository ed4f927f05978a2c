//! The three echo servers, each written the way that library's own examples write one, each on
//! a current-thread tokio runtime.
//!
//! - **ws-tokio**: `Server::bind`, `incoming.upgrade(|_| Decision::accept())`, a
//!   `recv` / `send` loop on the `WsStream` — the code of `crates/ws-tokio/examples/echo_server.rs`
//!   itself, included.
//! - **ws-tokio-driven**: the same example with `--driven`: `ws.into_driven().split()`, a loop of
//!   `receiver.recv()` / `sender.send()` while the connection's own task does the I/O.
//! - **tokio-tungstenite**: `accept_async`, then `next()` / `send()` on the stream (`send`
//!   flushes each message).
//! - **fastwebsockets**: `WebSocket::after_handshake` in a `FragmentCollector`, `read_frame` /
//!   `write_frame`, as its `echo_server` example. Its example upgrades through hyper; here the
//!   handshake is done by hand on the bare `TcpStream`, which spares fastwebsockets hyper's
//!   boxed `Upgraded` stream — its best case, so the comparison does not flatter ws-tokio.

use std::io::Write as _;
use std::net::SocketAddr;
use std::str::FromStr;

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

#[allow(dead_code)]
#[path = "../../ws-tokio/examples/echo_server.rs"]
mod echo_example;

/// Which library an echo server is built on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Impl {
    /// This workspace's transport: a `WsStream` per connection, driven by its task.
    WsNet,
    /// This workspace's transport with the task-driven `Sender` / `Receiver` handles.
    WsNetDriven,
    /// tokio-tungstenite 0.30.
    Tungstenite,
    /// fastwebsockets 0.10.
    Fastwebsockets,
    /// `wsi listen --echo -q`: the command line's server, a separate binary (`wsi` beside
    /// `echo-bench`, or `$ECHO_BENCH_WSI`); only when asked for with `--servers`.
    Wsi,
}

impl Impl {
    /// All three, in the order they are measured.
    pub const ALL: [Self; 4] = [
        Self::WsNet,
        Self::WsNetDriven,
        Self::Tungstenite,
        Self::Fastwebsockets,
    ];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::WsNet => "ws-tokio",
            Self::WsNetDriven => "ws-tokio-driven",
            Self::Tungstenite => "tokio-tungstenite",
            Self::Fastwebsockets => "fastwebsockets",
            Self::Wsi => "wsi",
        }
    }
}

impl FromStr for Impl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ws-tokio" | "wsnet" => Ok(Self::WsNet),
            "ws-tokio-driven" => Ok(Self::WsNetDriven),
            "tokio-tungstenite" | "tungstenite" => Ok(Self::Tungstenite),
            "fastwebsockets" | "fws" => Ok(Self::Fastwebsockets),
            "wsi" => Ok(Self::Wsi),
            other => Err(format!(
                "unknown server {other:?} \
                 (ws-tokio, ws-tokio-driven, tokio-tungstenite, fastwebsockets, wsi)"
            )),
        }
    }
}

/// Runs an echo server on a current-thread runtime until the process is killed. Prints
/// `LISTENING <addr>` on stdout once it accepts connections.
///
/// `max_message` raises every server's frame and message size limits (for the memory
/// benchmark's large message); `None` keeps each library's defaults.
pub fn run(
    which: Impl,
    addr: &str,
    max_message: Option<usize>,
) -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match which {
            Impl::WsNet => ws_tokio_server(addr, false, max_message).await,
            Impl::WsNetDriven => ws_tokio_server(addr, true, max_message).await,
            Impl::Tungstenite => tungstenite_server(addr, max_message).await,
            Impl::Fastwebsockets => fastwebsockets_server(addr, max_message).await,
            Impl::Wsi => Err("wsi is a binary of its own: the matrix runs `wsi listen`".into()),
        }
    })
}

/// The address a server process started with `echo-bench server` announced on its stdout
/// (its `LISTENING <addr>` line).
pub fn listening_addr(
    child: &mut std::process::Child,
) -> Result<String, Box<dyn std::error::Error>> {
    use std::io::BufRead as _;

    let stdout = child.stdout.take().ok_or("server stdout not captured")?;
    let mut line = String::new();
    std::io::BufReader::new(stdout).read_line(&mut line)?;
    Ok(line
        .trim()
        .strip_prefix("LISTENING ")
        .ok_or_else(|| format!("server said {line:?}"))?
        .to_owned())
}

/// The address `wsi listen` announced on its stderr (`wsi: listening on ws://ADDR/`).
pub fn wsi_listening_addr(
    child: &mut std::process::Child,
) -> Result<String, Box<dyn std::error::Error>> {
    use std::io::BufRead as _;

    let stderr = child.stderr.take().ok_or("wsi's stderr not captured")?;
    let mut lines = std::io::BufReader::new(stderr);
    let mut line = String::new();
    lines.read_line(&mut line)?;
    // The rest of its stderr is drained, so that a full pipe never stops it.
    std::thread::spawn(move || std::io::copy(&mut lines, &mut std::io::sink()));
    Ok(line
        .trim()
        .strip_prefix("wsi: listening on ws://")
        .and_then(|rest| rest.strip_suffix('/'))
        .ok_or_else(|| format!("wsi said {line:?}"))?
        .to_owned())
}

/// The `wsi` binary: `$ECHO_BENCH_WSI`, or `wsi` beside `exe`.
pub fn wsi_binary(exe: &std::path::Path) -> std::path::PathBuf {
    match std::env::var_os("ECHO_BENCH_WSI") {
        Some(path) => path.into(),
        None => exe.with_file_name("wsi"),
    }
}

fn announce(addr: SocketAddr) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "LISTENING {addr}")?;
    out.flush()
}

async fn ws_tokio_server(
    addr: &str,
    driven: bool,
    max_message: Option<usize>,
) -> Result<(), Box<dyn std::error::Error>> {
    // Exactly the `echo_server` example: what we measure is what users run.
    let mut options = echo_example::options(false);
    if let Some(limit) = max_message {
        options.config.max_message_size = limit;
        options.config.max_frame_size = limit;
    }
    let server = ws_tokio::Server::bind(addr, options).await?;
    announce(server.local_addr()?)?;
    echo_example::serve(server, driven).await;
    Ok(())
}

async fn tungstenite_server(
    addr: &str,
    max_message: Option<usize>,
) -> Result<(), Box<dyn std::error::Error>> {
    use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

    let listener = TcpListener::bind(addr).await?;
    announce(listener.local_addr()?)?;
    let config = max_message.map(|limit| {
        WebSocketConfig::default()
            .max_message_size(Some(limit))
            .max_frame_size(Some(limit))
    });
    loop {
        let (tcp, _) = listener.accept().await?;
        tokio::spawn(async move {
            let _ = tcp.set_nodelay(true);
            let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(tcp, config).await else {
                return;
            };
            while let Some(Ok(message)) = ws.next().await {
                if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
                    break;
                }
            }
        });
    }
}

async fn fastwebsockets_server(
    addr: &str,
    max_message: Option<usize>,
) -> Result<(), Box<dyn std::error::Error>> {
    use fastwebsockets::{FragmentCollector, OpCode, Role, WebSocket};

    let listener = TcpListener::bind(addr).await?;
    announce(listener.local_addr()?)?;
    loop {
        let (mut tcp, _) = listener.accept().await?;
        tokio::spawn(async move {
            let _ = tcp.set_nodelay(true);
            if handshake_by_hand(&mut tcp).await.is_err() {
                return;
            }
            let mut inner = WebSocket::after_handshake(tcp, Role::Server);
            if let Some(limit) = max_message {
                inner.set_max_message_size(limit);
            }
            let mut ws = FragmentCollector::new(inner);
            while let Ok(frame) = ws.read_frame().await {
                let echo = match frame.opcode {
                    OpCode::Close => break,
                    OpCode::Text | OpCode::Binary => Some(frame),
                    _ => None,
                };
                if let Some(frame) = echo
                    && ws.write_frame(frame).await.is_err()
                {
                    break;
                }
            }
        });
    }
}

/// Answers the upgrade request with a 101. The load client sends nothing before the answer,
/// so no frame bytes can be lost in the head's buffer.
async fn handshake_by_hand(tcp: &mut TcpStream) -> Result<(), Box<dyn std::error::Error>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let end = loop {
        let n = tcp.read(&mut chunk).await?;
        if n == 0 {
            return Err("EOF before the request head".into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        if buf.len() > 16 * 1024 {
            return Err("request head too large".into());
        }
    };
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut request = httparse::Request::new(&mut headers);
    request.parse(&buf[..end])?;
    let key = request
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("sec-websocket-key"))
        .ok_or("no Sec-WebSocket-Key")?
        .value;
    let accept = ws_proto::handshake::accept_key(key);
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    tcp.write_all(response.as_bytes()).await?;
    Ok(())
}
