//! `wsi` against tokio-tungstenite, an independent WebSocket implementation, in its three
//! roles, on loopback only:
//!
//! - **connect** against a tokio-tungstenite server: `--send`/`--send-hex`/`--expect`/`--close`,
//!   stdin lines with `--count`, an `--expect` that is never met (exit 4), `--close CODE:REASON`,
//!   the server closing with 1011 (exit 1), the `--jsonl` capture read back with
//!   [`JsonlReader`], a subprotocol (`-p`) and `--compress` declined by a server without
//!   permessage-deflate;
//! - **listen** with a tokio-tungstenite client: `--echo --once` (text, binary, close 1000),
//!   `--send`, `-p`, and `--tls-self-signed` with `wsi connect wss://… -k`, checking the
//!   fingerprint printed against the certificate the client received;
//! - **relay** between a tokio-tungstenite client and server, with `--jsonl` showing both legs;
//! - usage errors, which exit 2.
//!
//! Every `wsi` process has a watchdog that kills it after 20 s and fails the test; every wait
//! and every loop is bounded.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use regex::Regex;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as TtCloseCode;
use tokio_tungstenite::tungstenite::{Error as TtError, Message as TtMessage};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use ws_inspector_core::capture::{CaptureLine, FORMAT, JsonlReader, Leg, Record};
use ws_tokio::tap::{TapEvent, TapKind};
use ws_tokio::ws_proto::{Direction, OpCode};

/// A `wsi` process is killed, and its test fails, after this long.
const WATCHDOG: Duration = Duration::from_secs(20);
/// The limit for any one step (a handshake, a message, a line on stderr).
const STEP: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// connect against a tokio-tungstenite server.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_sends_text_and_hex_expects_and_closes() {
    let mut server = TtServer::start(ServerBehaviour::echo()).await;
    let url = server.url();
    let out = Wsi::run(&[
        "connect",
        &url,
        "--send",
        "hello",
        "--send-hex",
        "00ff",
        "--expect",
        "hello",
        "--close",
    ])
    .await;
    out.expect_status(0);
    let lines = out.stdout_lines();
    assert!(
        lines.contains(&"hello"),
        "the echo of --send hello on stdout\n{out}"
    );
    assert!(
        lines.contains(&"00ff"),
        "the echo of --send-hex 00ff on stdout (binary as hex)\n{out}"
    );
    let seen = server.finish().await;
    assert_eq!(seen.request().path, "/test", "the request path\n{out}");
    assert_eq!(
        seen.data,
        vec![
            TtMessage::text("hello"),
            TtMessage::binary(vec![0x00, 0xff])
        ],
        "what the tokio-tungstenite server received\n{out}"
    );
    assert_eq!(
        seen.close_code(),
        Some(1000),
        "--close without a code closes with 1000\n{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_sends_stdin_lines() {
    let mut server = TtServer::start(ServerBehaviour::echo()).await;
    let url = server.url();
    let mut wsi = Wsi::spawn(&["connect", &url, "--count", "2"], Input::Piped);
    wsi.write_stdin(b"a\nb\n");
    wsi.close_stdin();
    let out = wsi.finish().await;
    out.expect_status(0);
    assert_eq!(
        out.stdout_lines(),
        ["a", "b"],
        "the echoes of the stdin lines\n{out}"
    );
    let seen = server.finish().await;
    assert_eq!(
        seen.data,
        vec![TtMessage::text("a"), TtMessage::text("b")],
        "the stdin lines as text messages\n{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_expect_not_met_exits_4() {
    let server = TtServer::start(ServerBehaviour::echo()).await;
    let url = server.url();
    let started = Instant::now();
    // Stdin stays open (an interactive session): only the --expect deadline ends the run.
    let wsi = Wsi::spawn(
        &[
            "connect",
            &url,
            "--send",
            "something else",
            "--expect",
            "nomatch",
            "--timeout-expect",
            "1",
        ],
        Input::Piped,
    );
    let out = wsi.finish().await;
    out.expect_status(4);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900),
        "exit 4 after {took:?}, before the 1 s --timeout-expect\n{out}"
    );
    assert!(
        !out.stderr.trim().is_empty(),
        "exit 4 says why on stderr\n{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_close_with_code_and_reason() {
    let mut server = TtServer::start(ServerBehaviour::echo()).await;
    let url = server.url();
    let out = Wsi::run(&["connect", &url, "--close", "4001:bye"]).await;
    out.expect_status(0);
    let seen = server.finish().await;
    let close = seen.close.clone().flatten();
    let close = close.unwrap_or_else(|| panic!("the server received no close frame\n{out}"));
    assert_eq!(u16::from(close.code), 4001, "the close code\n{out}");
    assert_eq!(close.reason.as_str(), "bye", "the close reason\n{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_server_closing_with_1011_exits_1() {
    let mut server = TtServer::start(ServerBehaviour {
        close_with: Some((1011, "internal error")),
        ..ServerBehaviour::echo()
    })
    .await;
    let url = server.url();
    // Stdin stays open: the server's close is what ends the session.
    let wsi = Wsi::spawn(&["connect", &url], Input::Piped);
    let out = wsi.finish().await;
    out.expect_status(1);
    assert!(
        out.stderr.contains("1011"),
        "the close code 1011 on stderr\n{out}"
    );
    let seen = server.finish().await;
    assert!(
        seen.close.is_some(),
        "wsi answers the server's close with a close frame\n{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_jsonl_capture_reads_back() {
    let mut server = TtServer::start(ServerBehaviour::echo()).await;
    let url = server.url();
    let jsonl = scratch_file("connect-capture.jsonl");
    let out = Wsi::run(&[
        "connect",
        &url,
        "--send",
        "hello",
        "--expect",
        "hello",
        "--close",
        "--jsonl",
        path_str(&jsonl),
    ])
    .await;
    out.expect_status(0);
    server.finish().await;

    let lines = read_capture_lines(&jsonl);
    for line in &lines {
        assert_eq!(line.v, 1, "the format version: {line:?}");
        assert_eq!(
            line.conn, None,
            "one connection has no conn number: {line:?}"
        );
        assert_eq!(line.leg, None, "no leg outside a relay: {line:?}");
    }
    let events = read_capture_events(&jsonl);
    let kinds: Vec<String> = events.iter().map(|e| kind_name(&e.kind)).collect();
    let position = |what: &str, found: &dyn Fn(&TapKind) -> bool| {
        events
            .iter()
            .position(|e| found(&e.kind))
            .unwrap_or_else(|| panic!("no {what} in the capture: {kinds:?}\n{out}"))
    };
    let sent = position("RequestSent", &|k| {
        matches!(k, TapKind::RequestSent { request, .. }
            if request.headers().contains_key("sec-websocket-key"))
    });
    let received = position(
        "ResponseReceived (101)",
        &|k| matches!(k, TapKind::ResponseReceived { response, .. } if response.status() == 101),
    );
    assert!(
        sent < received,
        "the request before the response: {kinds:?}"
    );
    let masked = position("an outgoing masked text frame \"hello\"", &|k| {
        matches!(k, TapKind::Frame(f) if f.direction == Direction::Outgoing
            && f.header.opcode == OpCode::Text
            && f.header.mask.is_some()
            && &f.payload[..] == b"hello")
    });
    let unmasked = position("an incoming unmasked text frame \"hello\"", &|k| {
        matches!(k, TapKind::Frame(f) if f.direction == Direction::Incoming
            && f.header.opcode == OpCode::Text
            && f.header.mask.is_none()
            && &f.payload[..] == b"hello")
    });
    assert!(received < masked && masked < unmasked, "order: {kinds:?}");
    let closed = position("Closed", &|k| matches!(k, TapKind::Closed { .. }));
    match &events[closed].kind {
        TapKind::Closed { code, clean, .. } => {
            assert!(
                *clean,
                "the close handshake completed: {:?}",
                events[closed]
            );
            assert_eq!(u16::from(*code), 1000, "closed with 1000");
        }
        _ => unreachable!(),
    }
    assert!(unmasked < closed, "Closed after the frames: {kinds:?}");
    // Every frame a client sends is masked; none it receives is.
    for event in &events {
        if let TapKind::Frame(f) = &event.kind {
            assert_eq!(
                f.header.mask.is_some(),
                f.direction == Direction::Outgoing,
                "masking of {f:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_subprotocol_chosen_by_server() {
    let mut server = TtServer::start(ServerBehaviour {
        protocol: Some("chat"),
        ..ServerBehaviour::echo()
    })
    .await;
    let url = server.url();
    let jsonl = scratch_file("connect-protocol.jsonl");
    let out = Wsi::run(&[
        "connect",
        &url,
        "-p",
        "chat",
        "-v",
        "--send",
        "hi",
        "--expect",
        "hi",
        "--close",
        "--jsonl",
        path_str(&jsonl),
    ])
    .await;
    out.expect_status(0);
    let seen = server.finish().await;
    assert_eq!(
        seen.request().protocol.as_deref(),
        Some("chat"),
        "the Sec-WebSocket-Protocol offered\n{out}"
    );
    let opened = opened_record(&read_capture_lines(&jsonl), None);
    assert_eq!(
        opened.protocol.as_deref(),
        Some("chat"),
        "the Opened record's protocol"
    );
    assert!(
        out.stderr.contains("chat"),
        "-v shows the subprotocol on stderr\n{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_compress_declined_works_uncompressed() {
    let mut server = TtServer::start(ServerBehaviour::echo()).await;
    let url = server.url();
    let jsonl = scratch_file("connect-compress.jsonl");
    let out = Wsi::run(&[
        "connect",
        &url,
        "--compress",
        "--send",
        "hello hello hello hello",
        "--expect",
        "hello",
        "--close",
        "--jsonl",
        path_str(&jsonl),
    ])
    .await;
    out.expect_status(0);
    assert!(
        out.stdout_lines().contains(&"hello hello hello hello"),
        "the echo on stdout\n{out}"
    );
    let seen = server.finish().await;
    let offer = seen.request().extensions.clone().unwrap_or_default();
    assert!(
        offer.contains("permessage-deflate"),
        "--compress offers permessage-deflate; Sec-WebSocket-Extensions: {offer:?}\n{out}"
    );
    assert_eq!(
        seen.data,
        vec![TtMessage::text("hello hello hello hello")],
        "the message arrived uncompressed"
    );
    let lines = read_capture_lines(&jsonl);
    let opened = opened_record(&lines, None);
    assert_eq!(opened.deflate, None, "nothing agreed: {opened:?}");
    assert!(opened.extensions.is_empty(), "no extension: {opened:?}");
    for line in &lines {
        if let Record::Frame(f) = &line.record {
            assert!(!f.rsv1, "RSV1 without permessage-deflate: {f:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// listen with a tokio-tungstenite client.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_echoes_text_and_binary_once() {
    let mut wsi = Wsi::spawn(&["listen", "127.0.0.1:0", "--echo", "--once"], Input::Null);
    let addr = wsi.listening_first_line("ws").await;
    let (mut ws, _) = tt_connect(&format!("ws://{addr}/echo"), &[]).await;
    send(&mut ws, TtMessage::text("hello")).await;
    assert_eq!(recv_data(&mut ws).await, TtMessage::text("hello"));
    let bytes = vec![0u8, 1, 2, 0x7f, 0x80, 0xff];
    send(&mut ws, TtMessage::binary(bytes.clone())).await;
    assert_eq!(recv_data(&mut ws).await, TtMessage::binary(bytes));
    let reply = close(&mut ws, 1000).await;
    assert_eq!(
        reply.map(|f| u16::from(f.code)),
        Some(1000),
        "wsi's close reply"
    );
    wsi.finish().await.expect_status(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_sends_welcome_first() {
    let mut wsi = Wsi::spawn(
        &[
            "listen",
            "127.0.0.1:0",
            "--echo",
            "--send",
            "welcome",
            "--once",
        ],
        Input::Null,
    );
    let addr = wsi.listening_first_line("ws").await;
    let (mut ws, _) = tt_connect(&format!("ws://{addr}/"), &[]).await;
    send(&mut ws, TtMessage::text("after")).await;
    assert_eq!(
        recv_data(&mut ws).await,
        TtMessage::text("welcome"),
        "--send comes first"
    );
    assert_eq!(recv_data(&mut ws).await, TtMessage::text("after"));
    close(&mut ws, 1000).await;
    wsi.finish().await.expect_status(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_chooses_offered_subprotocol() {
    let mut wsi = Wsi::spawn(
        &["listen", "127.0.0.1:0", "--echo", "--once", "-p", "chat"],
        Input::Null,
    );
    let addr = wsi.listening_first_line("ws").await;
    let (mut ws, response) = tt_connect(
        &format!("ws://{addr}/"),
        &[("sec-websocket-protocol", "other, chat")],
    )
    .await;
    let chosen = response
        .headers()
        .get("sec-websocket-protocol")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    assert_eq!(chosen.as_deref(), Some("chat"), "the subprotocol wsi chose");
    send(&mut ws, TtMessage::text("in chat")).await;
    assert_eq!(recv_data(&mut ws).await, TtMessage::text("in chat"));
    close(&mut ws, 1000).await;
    wsi.finish().await.expect_status(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_tls_self_signed_with_connect_insecure() {
    let mut server = Wsi::spawn(
        &[
            "listen",
            "127.0.0.1:0",
            "--echo",
            "--once",
            "--tls-self-signed",
        ],
        Input::Null,
    );
    let (addr, fingerprint) = server.listening_tls().await;
    let jsonl = scratch_file("listen-tls-client.jsonl");
    let url = format!("wss://127.0.0.1:{}/", addr.port());
    let client = Wsi::run(&[
        "connect",
        &url,
        "-k",
        "--send",
        "secure",
        "--expect",
        "secure",
        "--close",
        "--jsonl",
        path_str(&jsonl),
    ])
    .await;
    client.expect_status(0);
    assert!(
        client.stdout_lines().contains(&"secure"),
        "the echo over TLS\n{client}"
    );
    let warning =
        Regex::new(r"(?i)insecure|not verif|unverified|without verif|any (server )?cert|-k\b")
            .expect("regex");
    assert!(
        warning.is_match(&client.stderr),
        "-k says on stderr that the certificate is not checked\n{client}"
    );
    // The certificate the client received is the one whose fingerprint the server printed.
    let events = read_capture_events(&jsonl);
    let der = events
        .iter()
        .find_map(|e| match &e.kind {
            TapKind::TlsEstablished(info) => info.peer_certificates.first().map(|c| c.der.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no TlsEstablished with a certificate in the capture\n{client}"));
    assert_eq!(
        sha256_hex(&der),
        fingerprint,
        "the printed fingerprint is the SHA-256 of the certificate served"
    );
    let out = server.finish().await;
    out.expect_status(0);
}

// ---------------------------------------------------------------------------------------------
// relay between a tokio-tungstenite client and server.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_forwards_both_ways_and_logs_both_legs() {
    let mut upstream = TtServer::start(ServerBehaviour::echo()).await;
    let jsonl = scratch_file("relay.jsonl");
    let target = format!("ws://{}", upstream.addr);
    let mut relay = Wsi::spawn(
        &[
            "relay",
            "127.0.0.1:0",
            &target,
            "--once",
            "--jsonl",
            path_str(&jsonl),
        ],
        Input::Null,
    );
    let addr = relay.listening_first_line("ws").await;
    let (mut ws, _) = tt_connect(&format!("ws://{addr}/"), &[]).await;
    send(&mut ws, TtMessage::text("through")).await;
    assert_eq!(recv_data(&mut ws).await, TtMessage::text("through"));
    send(&mut ws, TtMessage::binary(vec![1u8, 2, 3])).await;
    assert_eq!(recv_data(&mut ws).await, TtMessage::binary(vec![1u8, 2, 3]));
    let reply = close(&mut ws, 1000).await;
    assert_eq!(
        reply.map(|f| u16::from(f.code)),
        Some(1000),
        "the close reply through the relay"
    );
    let out = relay.finish().await;
    out.expect_status(0);
    let seen = upstream.finish().await;
    assert_eq!(
        seen.data,
        vec![
            TtMessage::text("through"),
            TtMessage::binary(vec![1u8, 2, 3])
        ],
        "what reached the server\n{out}"
    );
    assert_eq!(
        seen.close_code(),
        Some(1000),
        "the client's close 1000 reached the server\n{out}"
    );

    let lines = read_capture_lines(&jsonl);
    for line in &lines {
        assert!(line.leg.is_some(), "a relay line without a leg: {line:?}");
        assert_eq!(line.conn, Some(1), "the first client is conn 1: {line:?}");
    }
    let frame = |leg: Leg, incoming: bool, masked: bool| {
        lines.iter().any(|l| {
            l.leg == Some(leg)
                && matches!(&l.record, Record::Frame(f) if f.incoming == incoming
                    && f.mask.is_some() == masked
                    && f.opcode == 1
                    && f.payload == b"through")
        })
    };
    // The client leg: the relay is the server (receives masked, sends unmasked); the server
    // leg: the relay is the client.
    assert!(
        frame(Leg::Client, true, true),
        "client leg: the masked frame received from the client"
    );
    assert!(
        frame(Leg::Client, false, false),
        "client leg: the unmasked frame sent back to the client"
    );
    assert!(
        frame(Leg::Server, false, true),
        "server leg: the masked frame sent to the server"
    );
    assert!(
        frame(Leg::Server, true, false),
        "server leg: the unmasked echo received from the server"
    );
    for leg in [Leg::Client, Leg::Server] {
        assert!(
            lines
                .iter()
                .any(|l| l.leg == Some(leg) && matches!(l.record, Record::Closed { .. })),
            "a Closed record on the {} leg",
            leg.as_str()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Usage errors.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_exit_2() {
    // A port nothing listens on: a usage error must be found before connecting.
    let port = unused_port();
    let url = format!("ws://127.0.0.1:{port}/");
    let cases: [&[&str]; 6] = [
        &["connect", &url, "--no-such-flag"],
        &["connect", &url, "-H", "no colon"],
        &["connect", "ws://"],
        &["connect", "ws://:9000/"],
        &["connect", &url, "--send-hex", "zz"],
        &["frobnicate"],
    ];
    for args in cases {
        let out = Wsi::run(args).await;
        out.expect_status(2);
        assert!(
            !out.stderr.trim().is_empty(),
            "a usage error is explained on stderr\n{out}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The tokio-tungstenite server.

/// How the tokio-tungstenite server behaves.
#[derive(Clone, Copy, Debug)]
struct ServerBehaviour {
    /// Choose this subprotocol when the client offers it.
    protocol: Option<&'static str>,
    /// Close with this code and reason right after the handshake (and echo nothing).
    close_with: Option<(u16, &'static str)>,
}

impl ServerBehaviour {
    fn echo() -> Self {
        Self {
            protocol: None,
            close_with: None,
        }
    }
}

/// What the server saw of the upgrade request.
#[derive(Clone, Debug, Default)]
struct SeenRequest {
    path: String,
    protocol: Option<String>,
    extensions: Option<String>,
}

/// What the server saw of one connection.
#[derive(Debug, Default)]
struct Seen {
    request: Option<SeenRequest>,
    /// The text and binary messages received.
    data: Vec<TtMessage>,
    /// The close frame received (`Some(None)`: one without a code).
    close: Option<Option<CloseFrame>>,
    /// How it ended, if with an error.
    error: Option<String>,
}

impl Seen {
    fn request(&self) -> &SeenRequest {
        self.request.as_ref().expect("the server saw the request")
    }

    fn close_code(&self) -> Option<u16> {
        self.close
            .as_ref()
            .and_then(|c| c.as_ref().map(|f| u16::from(f.code)))
    }
}

/// A tokio-tungstenite server on 127.0.0.1 for one connection.
struct TtServer {
    addr: SocketAddr,
    done: mpsc::UnboundedReceiver<Seen>,
}

impl TtServer {
    async fn start(behaviour: ServerBehaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        let (tx, done) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            // One connection per test; the task ends with the runtime otherwise.
            if let Ok(Ok((tcp, _))) = tokio::time::timeout(WATCHDOG, listener.accept()).await {
                let seen = serve_one(tcp, behaviour).await;
                let _ = tx.send(seen);
            }
        });
        Self { addr, done }
    }

    fn url(&self) -> String {
        format!("ws://{}/test", self.addr)
    }

    /// What the server saw, once its connection has ended.
    async fn finish(&mut self) -> Seen {
        let seen = tokio::time::timeout(STEP, self.done.recv())
            .await
            .expect("the server's connection did not end")
            .expect("the server accepted no connection");
        if let Some(error) = &seen.error {
            panic!("the tokio-tungstenite server failed: {error}; saw {seen:?}");
        }
        seen
    }
}

// The handshake callback's type is tungstenite's `Callback`: its error is a whole response.
#[allow(clippy::result_large_err)]
async fn serve_one(tcp: TcpStream, behaviour: ServerBehaviour) -> Seen {
    let request = Arc::new(Mutex::new(None));
    let record = Arc::clone(&request);
    let callback =
        move |req: &Request, mut response: Response| -> Result<Response, ErrorResponse> {
            let header = |name: &str| {
                req.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            let protocol = header("sec-websocket-protocol");
            if let (Some(want), Some(offered)) = (behaviour.protocol, &protocol)
                && offered.split(',').any(|p| p.trim() == want)
            {
                response
                    .headers_mut()
                    .insert("sec-websocket-protocol", HeaderValue::from_static(want));
            }
            *record.lock().unwrap_or_else(|e| e.into_inner()) = Some(SeenRequest {
                path: req.uri().to_string(),
                protocol,
                extensions: header("sec-websocket-extensions"),
            });
            Ok(response)
        };
    let mut seen = Seen::default();
    let accepted =
        tokio::time::timeout(STEP, tokio_tungstenite::accept_hdr_async(tcp, callback)).await;
    seen.request = request.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut ws = match accepted {
        Ok(Ok(ws)) => ws,
        Ok(Err(e)) => {
            seen.error = Some(format!("handshake: {e}"));
            return seen;
        }
        Err(_) => {
            seen.error = Some("handshake timed out".into());
            return seen;
        }
    };
    if let Some((code, reason)) = behaviour.close_with {
        let frame = CloseFrame {
            code: TtCloseCode::from(code),
            reason: reason.into(),
        };
        if let Err(e) = ws.close(Some(frame)).await {
            seen.error = Some(format!("closing: {e}"));
            return seen;
        }
    }
    for _ in 0..10_000 {
        match tokio::time::timeout(WATCHDOG, ws.next()).await {
            Err(_) => {
                seen.error = Some(format!("nothing from the client in {WATCHDOG:?}"));
                return seen;
            }
            Ok(None | Some(Err(TtError::ConnectionClosed))) => return seen,
            Ok(Some(Err(e))) => {
                seen.error = Some(e.to_string());
                return seen;
            }
            Ok(Some(Ok(TtMessage::Close(frame)))) => seen.close = Some(frame),
            Ok(Some(Ok(message @ (TtMessage::Text(_) | TtMessage::Binary(_))))) => {
                seen.data.push(message.clone());
                if behaviour.close_with.is_none()
                    && let Err(e) = ws.send(message).await
                {
                    seen.error = Some(format!("echoing: {e}"));
                    return seen;
                }
            }
            Ok(Some(Ok(_))) => {}
        }
    }
    seen.error = Some("too many messages".into());
    seen
}

// ---------------------------------------------------------------------------------------------
// The tokio-tungstenite client.

type TtClient = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn tt_connect(
    url: &str,
    headers: &[(&'static str, &'static str)],
) -> (
    TtClient,
    tokio_tungstenite::tungstenite::handshake::client::Response,
) {
    let mut request = url.into_client_request().expect("a client request");
    for (name, value) in headers {
        request
            .headers_mut()
            .insert(*name, HeaderValue::from_static(value));
    }
    tokio::time::timeout(STEP, tokio_tungstenite::connect_async(request))
        .await
        .unwrap_or_else(|_| panic!("connecting to {url} timed out"))
        .unwrap_or_else(|e| panic!("the tokio-tungstenite client could not connect to {url}: {e}"))
}

async fn send(ws: &mut TtClient, message: TtMessage) {
    tokio::time::timeout(STEP, ws.send(message))
        .await
        .expect("sending timed out")
        .expect("sending failed");
}

/// The next text or binary message.
async fn recv_data(ws: &mut TtClient) -> TtMessage {
    for _ in 0..100 {
        match tokio::time::timeout(STEP, ws.next()).await {
            Err(_) => panic!("no message in {STEP:?}"),
            Ok(None) => panic!("the connection ended before a message"),
            Ok(Some(Err(e))) => panic!("the connection failed: {e}"),
            Ok(Some(Ok(m @ (TtMessage::Text(_) | TtMessage::Binary(_))))) => return m,
            Ok(Some(Ok(TtMessage::Close(frame)))) => panic!("closed instead: {frame:?}"),
            Ok(Some(Ok(_))) => {}
        }
    }
    panic!("only control frames");
}

/// Closes with `code` and returns the peer's close frame.
async fn close(ws: &mut TtClient, code: u16) -> Option<CloseFrame> {
    let frame = CloseFrame {
        code: TtCloseCode::from(code),
        reason: "".into(),
    };
    tokio::time::timeout(STEP, ws.close(Some(frame)))
        .await
        .expect("closing timed out")
        .expect("closing failed");
    let mut reply = None;
    for _ in 0..100 {
        match tokio::time::timeout(STEP, ws.next()).await {
            Err(_) => panic!("no close reply in {STEP:?}"),
            Ok(None | Some(Err(TtError::ConnectionClosed))) => return reply,
            Ok(Some(Err(e))) => panic!("the connection failed while closing: {e}"),
            Ok(Some(Ok(TtMessage::Close(frame)))) => reply = frame,
            Ok(Some(Ok(_))) => {}
        }
    }
    panic!("the connection did not end after the close");
}

// ---------------------------------------------------------------------------------------------
// Captures.

/// A file under Cargo's scratch folder for integration tests, removed if left over.
fn scratch_file(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wsi-interop");
    std::fs::create_dir_all(&dir).expect("scratch folder");
    let path = dir.join(format!("{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

fn path_str(path: &std::path::Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

fn open_capture(path: &std::path::Path) -> BufReader<File> {
    BufReader::new(
        File::open(path).unwrap_or_else(|e| panic!("no capture at {}: {e}", path.display())),
    )
}

/// Every report line of a `--jsonl` capture, each read back as its tap event too. The
/// capture's header line (`Record::Capture`), allowed only as the first line, is checked and
/// left out.
fn read_capture_lines(path: &std::path::Path) -> Vec<CaptureLine> {
    let file = File::open(path).unwrap_or_else(|e| panic!("no capture at {}: {e}", path.display()));
    let mut reader = JsonlReader::new(BufReader::new(file));
    let mut lines = Vec::new();
    for number in 1..=1_000_000u64 {
        let line = match reader.next_line() {
            None => {
                assert!(!lines.is_empty(), "{} has no reports", path.display());
                return lines;
            }
            Some(Ok(line)) => line,
            Some(Err(e)) => panic!("{}: {e}", path.display()),
        };
        if let Record::Capture { format, generator } = &line.record {
            assert_eq!(
                number,
                1,
                "{}: a header after the first line: {line:?}",
                path.display()
            );
            assert_eq!(format, FORMAT, "{}: the header's format", path.display());
            assert!(
                generator.starts_with("wsi "),
                "{}: the header's generator: {line:?}",
                path.display()
            );
            continue;
        }
        if let Err(e) = line.to_tap() {
            panic!("{}: not a tap event ({e}): {line:?}", path.display());
        }
        lines.push(line);
    }
    panic!("{}: too many lines", path.display());
}

/// A `--jsonl` capture as the tap events it records.
fn read_capture_events(path: &std::path::Path) -> Vec<TapEvent> {
    let events: Vec<TapEvent> = JsonlReader::new(open_capture(path))
        .take(100_000)
        .map(|e| e.unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect();
    assert!(!events.is_empty(), "{} is empty", path.display());
    events
}

/// The Opened record of connection `conn`.
fn opened_record(
    lines: &[CaptureLine],
    conn: Option<u64>,
) -> ws_inspector_core::capture::OpenedRecord {
    lines
        .iter()
        .filter(|l| l.conn == conn)
        .find_map(|l| match &l.record {
            Record::Opened(opened) => Some((**opened).clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no Opened record for conn {conn:?}: {lines:?}"))
}

fn kind_name(kind: &TapKind) -> String {
    let debug = format!("{kind:?}");
    debug
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A loopback port nothing listens on (bound, then released).
fn unused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

// ---------------------------------------------------------------------------------------------
// The wsi process.

/// What a child's stdin is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Input {
    /// `/dev/null`: at its end at once.
    Null,
    /// A pipe the test writes and closes (held open until then).
    Piped,
}

/// A `wsi` process with a watchdog: killed (and the test failed) after [`WATCHDOG`], and on
/// drop.
struct Wsi {
    what: String,
    child: Arc<Mutex<Child>>,
    stdin: Option<ChildStdin>,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    stderr_lines: mpsc::UnboundedReceiver<String>,
    readers: Vec<JoinHandle<()>>,
    killed: Arc<AtomicBool>,
    stop_watchdog: Option<std::sync::mpsc::Sender<()>>,
    started: Instant,
}

/// How a `wsi` process ended.
#[derive(Debug)]
struct Finished {
    what: String,
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl std::fmt::Display for Finished {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` exited with {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.what, self.status, self.stdout, self.stderr
        )
    }
}

impl Finished {
    fn expect_status(&self, code: i32) {
        assert_eq!(self.status.code(), Some(code), "exit status\n{self}");
    }

    fn stdout_lines(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.is_empty())
            .collect()
    }
}

impl Wsi {
    fn spawn(args: &[&str], input: Input) -> Self {
        let what = format!("wsi {}", args.join(" "));
        let mut child = Command::new(env!("CARGO_BIN_EXE_wsi"))
            .args(args)
            .stdin(match input {
                Input::Null => Stdio::null(),
                Input::Piped => Stdio::piped(),
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
        let stdin = child.stdin.take();
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (line_tx, stderr_lines) = mpsc::unbounded_channel();
        let mut readers = Vec::new();
        let mut out_pipe = child.stdout.take().expect("piped stdout");
        let sink = Arc::clone(&stdout);
        readers.push(std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n @ 1..) = out_pipe.read(&mut buf) {
                lock(&sink).extend_from_slice(&buf[..n]);
            }
        }));
        let err_pipe = child.stderr.take().expect("piped stderr");
        let sink = Arc::clone(&stderr);
        readers.push(std::thread::spawn(move || {
            let mut reader = BufReader::new(err_pipe);
            let mut line = Vec::new();
            loop {
                line.clear();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        lock(&sink).extend_from_slice(&line);
                        let text = String::from_utf8_lossy(&line).trim_end().to_owned();
                        let _ = line_tx.send(text);
                    }
                }
            }
        }));
        let child = Arc::new(Mutex::new(child));
        let killed = Arc::new(AtomicBool::new(false));
        let (stop_watchdog, stopped) = std::sync::mpsc::channel::<()>();
        {
            let child = Arc::clone(&child);
            let killed = Arc::clone(&killed);
            std::thread::spawn(move || {
                if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(WATCHDOG)
                {
                    let mut child = lock(&child);
                    if let Ok(None) = child.try_wait() {
                        killed.store(true, Ordering::SeqCst);
                        let _ = child.kill();
                    }
                }
            });
        }
        Self {
            what,
            child,
            stdin,
            stdout,
            stderr,
            stderr_lines,
            readers,
            killed,
            stop_watchdog: Some(stop_watchdog),
            started: Instant::now(),
        }
    }

    /// Runs `wsi ARGS` with stdin at its end, to its exit.
    async fn run(args: &[&str]) -> Finished {
        Self::spawn(args, Input::Null).finish().await
    }

    fn write_stdin(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin is piped and open");
        stdin.write_all(bytes).expect("writing wsi's stdin");
        stdin.flush().expect("flushing wsi's stdin");
    }

    fn close_stdin(&mut self) {
        drop(self.stdin.take());
    }

    fn stderr_so_far(&self) -> String {
        String::from_utf8_lossy(&lock(&self.stderr)).into_owned()
    }

    /// The next line on stderr.
    async fn stderr_line(&mut self) -> String {
        match tokio::time::timeout(STEP, self.stderr_lines.recv()).await {
            Ok(Some(line)) => line,
            Ok(None) => panic!(
                "{} ended its stderr early:\n{}",
                self.what,
                self.stderr_so_far()
            ),
            Err(_) => panic!(
                "{} printed no line on stderr in {STEP:?}:\n{}",
                self.what,
                self.stderr_so_far()
            ),
        }
    }

    /// The address of `listening on SCHEME://ADDR/`, which must be the first line on stderr.
    async fn listening_first_line(&mut self, scheme: &str) -> SocketAddr {
        let line = self.stderr_line().await;
        parse_listening(&line, scheme).unwrap_or_else(|| {
            panic!(
                "{}: the first line on stderr is not `listening on {scheme}://ADDR/`: {line:?}",
                self.what
            )
        })
    }

    /// With `--tls-self-signed`: the `listening on wss://ADDR/` line and the SHA-256
    /// fingerprint (lowercase hex, no separators), from the first lines on stderr.
    async fn listening_tls(&mut self) -> (SocketAddr, String) {
        let sha = Regex::new(r"(?i)sha-?256").expect("regex");
        let hex = Regex::new(r"(?i)\b[0-9a-f]{2}(?:[: ]?[0-9a-f]{2}){31}\b").expect("regex");
        let mut addr = None;
        let mut fingerprint = None;
        let mut seen = Vec::new();
        for _ in 0..8 {
            if addr.is_some() && fingerprint.is_some() {
                break;
            }
            let line = self.stderr_line().await;
            if addr.is_none() {
                addr = parse_listening(&line, "wss");
            }
            if fingerprint.is_none()
                && sha.is_match(&line)
                && let Some(m) = hex.find(&line)
            {
                let digits: String = m.as_str().chars().filter(char::is_ascii_hexdigit).collect();
                fingerprint = Some(digits.to_ascii_lowercase());
            }
            seen.push(line);
        }
        match (addr, fingerprint) {
            (Some(addr), Some(fingerprint)) => (addr, fingerprint),
            (addr, fingerprint) => panic!(
                "{}: the first lines on stderr lack the listening line ({addr:?}) or the \
                 SHA-256 fingerprint ({fingerprint:?}): {seen:#?}",
                self.what
            ),
        }
    }

    /// Waits for the exit (the watchdog bounds it), then collects the output.
    async fn finish(mut self) -> Finished {
        let deadline = self.started + WATCHDOG + Duration::from_secs(5);
        let status = loop {
            if let Some(status) = lock(&self.child).try_wait().expect("try_wait") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "{} is still running after the watchdog",
                self.what
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        drop(self.stop_watchdog.take());
        for reader in std::mem::take(&mut self.readers) {
            let limit = Instant::now() + Duration::from_secs(5);
            while !reader.is_finished() && Instant::now() < limit {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            if reader.is_finished() {
                let _ = reader.join();
            }
        }
        let finished = Finished {
            what: self.what.clone(),
            status,
            stdout: String::from_utf8_lossy(&lock(&self.stdout)).into_owned(),
            stderr: self.stderr_so_far(),
        };
        if self.killed.load(Ordering::SeqCst) {
            panic!("killed by the watchdog after {WATCHDOG:?}: {finished}");
        }
        finished
    }
}

impl Drop for Wsi {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let mut child = lock(&self.child);
        if let Ok(None) = child.try_wait() {
            let _ = child.kill();
        }
        let _ = child.wait();
    }
}

/// The address in `listening on SCHEME://ADDR/`, with a real port.
fn parse_listening(line: &str, scheme: &str) -> Option<SocketAddr> {
    let re = Regex::new(&format!(r"listening on {scheme}://([^/\s]+)/")).expect("regex");
    let addr: SocketAddr = re.captures(line)?.get(1)?.as_str().parse().ok()?;
    (addr.port() != 0).then_some(addr)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
