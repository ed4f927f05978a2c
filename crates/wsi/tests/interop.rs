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
//! and every loop is bounded. The server, the client and the `wsi` runner are in
//! `support/tt.rs`, shared with `captures.rs`.

#[path = "support/tt.rs"]
mod tt;

use std::time::{Duration, Instant};

use regex::Regex;
use tokio_tungstenite::tungstenite::Message as TtMessage;
use ws_inspector_core::capture::{Leg, Record};
use ws_tokio::tap::TapKind;
use ws_tokio::ws_proto::{Direction, OpCode};

use tt::{
    Input, ServerBehaviour, TtServer, Wsi, close, opened_record, path_str, read_capture_events,
    read_capture_lines, recv_data, scratch_file, send, tt_connect, unused_port,
};

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
