//! HAR 1.2 export and import (`capture::har`).
//!
//! - A real session (ws:// with permessage-deflate, tapped at the client and at the server), a
//!   capture made by hand with every kind of line, and the real `wsi` lines of
//!   `docs/capture-format.md` go capture → HAR → capture and come back line for line; the
//!   HAR's `_webSocketMessages` say what the session said (text, binary, fragmented and
//!   compressed messages, ping, pong, close code, with direction), and so does the HAR with
//!   every extra key stripped, as Chrome would leave it.
//! - The exported HAR validates against the HAR 1.2 schema with the npm package
//!   `har-validator`. That test needs `node` and `npm` and fails (never skips) without them:
//!   on Debian, `apt-get install -y nodejs npm`. It installs `har-validator` itself under
//!   `target/tmp/har-validator` (from the npm registry, once).
//! - HAR files saved by Chromium (DevTools' own HAR writer) and by mitmproxy (`mitmdump
//!   --set hardump=…`) import (see `tests/data/README.md` for how they were made).
//! - Bad input is refused with a plain reason.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use tokio::time::timeout;
use ws_inspector_core::capture::har::{self, HarError};
use ws_inspector_core::capture::{
    CaptureLine, FrameRecord, InitiatorRecord, Leg, MessageRecord, Record,
};
use ws_tokio::tap::{self, TapReceiver};
use ws_tokio::ws_proto::{CloseCode, DeflateConfig, MessageKind};
use ws_tokio::{ConnectOptions, Decision, Message, Outgoing, Server, ServerOptions, connect};

const LIMIT: Duration = Duration::from_secs(30);
const SPEC: &str = include_str!("../../../docs/capture-format.md");
const CHROMIUM_HAR: &str = include_str!("data/chromium.har");
const MITMPROXY_HAR: &str = include_str!("data/mitmproxy.har");
const FIREFOX_HAR: &str = include_str!("data/firefox.har");

// --- helpers --------------------------------------------------------------------------------

fn export(lines: &[CaptureLine]) -> (Vec<u8>, har::ExportSummary) {
    let mut out = Vec::new();
    let summary = har::export(lines, &mut out).expect("export into memory");
    (out, summary)
}

fn export_json(lines: &[CaptureLine]) -> Value {
    serde_json::from_slice(&export(lines).0).expect("the export is JSON")
}

/// Each connection's lines, keyed by (conn, leg), in order; the header lines apart.
fn by_connection(
    lines: &[CaptureLine],
) -> BTreeMap<(Option<u64>, Option<&'static str>), Vec<&CaptureLine>> {
    let mut map: BTreeMap<_, Vec<_>> = BTreeMap::new();
    for line in lines {
        if matches!(line.record, Record::Capture { .. }) {
            continue;
        }
        map.entry((line.conn, line.leg.map(Leg::as_str)))
            .or_default()
            .push(line);
    }
    map
}

/// Export then import: every connection's lines come back exactly, and the header.
fn assert_round_trip(lines: &[CaptureLine]) -> har::Import {
    let (text, summary) = export(lines);
    let text = String::from_utf8(text).expect("UTF-8");
    let back = har::import(&text).unwrap_or_else(|e| panic!("import of our export: {e}"));
    let original = by_connection(lines);
    assert_eq!(summary.entries, original.len());
    assert_eq!(back.websocket_entries, original.len());
    assert_eq!(back.skipped_http_entries, 0);
    let imported = by_connection(&back.lines);
    assert_eq!(
        imported.keys().collect::<Vec<_>>(),
        original.keys().collect::<Vec<_>>()
    );
    for (key, lines) in &original {
        let again = &imported[key];
        for (n, (a, b)) in lines.iter().zip(again).enumerate() {
            assert_eq!(a, b, "connection {key:?}, line {n}");
        }
        assert_eq!(lines.len(), again.len(), "connection {key:?}");
    }
    let header = lines
        .iter()
        .find(|l| matches!(l.record, Record::Capture { .. }));
    if let Some(header) = header {
        assert_eq!(&back.lines[0], header, "the capture's header line");
    } else {
        assert!(matches!(back.lines[0].record, Record::Capture { .. }));
    }
    back
}

/// A message as a HAR reader sees it: (type, opcode, data).
type HarMessage = (String, u64, String);

fn har_messages(har: &Value, entry: usize) -> Vec<HarMessage> {
    har["log"]["entries"][entry]["_webSocketMessages"]
        .as_array()
        .expect("_webSocketMessages")
        .iter()
        .map(|m| {
            let mut keys: Vec<&str> = m
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .filter(|k| !k.starts_with('_'))
                .collect();
            // serde_json's map sorts its keys, or keeps them in order where another crate of
            // the workspace turns on `preserve_order` (the app does): sorted here, their
            // order is checked on the text.
            keys.sort_unstable();
            assert_eq!(
                keys,
                ["data", "opcode", "time", "type"],
                "Chrome's four keys"
            );
            assert!(m["time"].as_f64().unwrap() > 1e9, "seconds since the epoch");
            (
                m["type"].as_str().unwrap().to_owned(),
                m["opcode"].as_u64().unwrap(),
                m["data"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Removes every `_` key but Chrome's two, as a HAR reader that knows only Chrome's keys
/// would leave the file.
fn strip_extras(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|k, _| {
                !k.starts_with('_') || k == "_resourceType" || k == "_webSocketMessages"
            });
            map.values_mut().for_each(strip_extras);
        }
        Value::Array(list) => list.iter_mut().for_each(strip_extras),
        _ => {}
    }
}

/// The frames of one connection: (incoming, opcode, payload).
fn frames_of(lines: &[CaptureLine], conn: Option<u64>) -> Vec<(bool, u8, Vec<u8>)> {
    lines
        .iter()
        .filter(|l| l.conn == conn)
        .filter_map(|l| match &l.record {
            Record::Frame(f) => Some((f.incoming, f.opcode, f.payload.clone())),
            _ => None,
        })
        .collect()
}

fn closed_of(lines: &[CaptureLine], conn: Option<u64>) -> Option<(u16, InitiatorRecord)> {
    lines
        .iter()
        .filter(|l| l.conn == conn)
        .find_map(|l| match &l.record {
            Record::Closed {
                code, initiator, ..
            } => Some((*code, *initiator)),
            _ => None,
        })
}

// --- a real session ---------------------------------------------------------------------------

fn deflate() -> DeflateConfig {
    let mut config = DeflateConfig::default();
    config.min_size = 0;
    config
}

async fn collect(rx: &mut TapReceiver, conn: Option<u64>) -> Vec<CaptureLine> {
    let mut lines = Vec::new();
    loop {
        let Ok(event) = timeout(LIMIT, rx.recv()).await else {
            panic!("timed out waiting for the tap; so far {lines:#?}");
        };
        let Some(event) = event else { break };
        let Some(line) = CaptureLine::from_tap(&event) else {
            continue;
        };
        let closed = matches!(line.record, Record::Closed { .. });
        lines.push(line.with_conn(conn));
        if closed {
            break;
        }
    }
    while let Some(event) = rx.try_recv() {
        lines.extend(CaptureLine::from_tap(&event).map(|l| l.with_conn(conn)));
    }
    lines
}

async fn echo_server() -> (std::net::SocketAddr, TapReceiver) {
    let (tap, rx) = tap::channel(4096);
    let mut options = ServerOptions::default();
    options.config.deflate = Some(deflate());
    options.tap = Some(tap);
    let server = Server::bind("127.0.0.1:0", options).await.unwrap();
    let addr = server.local_addr().unwrap();
    tokio::spawn(async move {
        let incoming = server.accept().await.unwrap();
        let mut ws = incoming.upgrade(|_| Decision::accept()).await.unwrap();
        while let Some(Ok(message)) = ws.recv().await {
            let sent = match message {
                Message::Text(text) => ws.send_text(text.as_str()).await,
                Message::Binary(data) => ws.send_binary(data).await,
                _ => Ok(()),
            };
            if sent.is_err() {
                break;
            }
        }
    });
    (addr, rx)
}

async fn next(ws: &mut ws_tokio::WsStream<ws_tokio::MaybeTlsStream>) -> Message {
    timeout(LIMIT, ws.recv())
        .await
        .expect("timed out waiting for a message")
        .expect("the connection ended")
        .expect("the connection failed")
}

fn big_text() -> String {
    (0..400)
        .map(|i| format!("line {i} of a long text; "))
        .collect()
}

/// The session, from the client's side: (type, opcode, data as a HAR holds it).
fn expected_client_messages() -> Vec<HarMessage> {
    let t = |kind: &str, opcode: u64, data: &str| (kind.to_owned(), opcode, data.to_owned());
    let b64 = |data: &[u8]| STANDARD.encode(data);
    let close = b64(&[&4000u16.to_be_bytes()[..], b"bye"].concat());
    vec![
        t("send", 1, "hello hello hello"),
        t("receive", 1, "hello hello hello"),
        t("send", 2, &b64(&[0, 1, 2, 255])),
        t("receive", 2, &b64(&[0, 1, 2, 255])),
        t("send", 1, "fragmented"),
        t("receive", 1, "fragmented"),
        t("send", 1, &big_text()),
        t("receive", 1, &big_text()),
        t("send", 1, "hello hello hello"),
        t("receive", 1, "hello hello hello"),
        t("send", 9, &b64(b"are you there")),
        t("receive", 10, &b64(b"are you there")),
        t("send", 10, &b64(b"unasked")),
        t("send", 8, &close),
        t("receive", 8, &close),
    ]
}

/// A session with an echo server, both ends tapped: (the client's lines, the server's).
async fn real_session() -> (Vec<CaptureLine>, Vec<CaptureLine>) {
    let (addr, mut server_rx) = echo_server().await;
    let (tap, mut rx) = tap::channel(4096);
    let options = ConnectOptions::new(format!("ws://127.0.0.1:{}/chat?room=1", addr.port()))
        .with_deflate(deflate())
        .with_header("Cookie", "a=1; b=two")
        .with_tap(tap);
    let mut ws = timeout(LIMIT, connect(options)).await.unwrap().unwrap();
    assert!(
        ws.handshake().deflate.is_some(),
        "permessage-deflate agreed"
    );

    ws.send_text("hello hello hello").await.unwrap();
    assert!(matches!(next(&mut ws).await, Message::Text(t) if t.as_str() == "hello hello hello"));
    ws.send_binary(vec![0u8, 1, 2, 255]).await.unwrap();
    assert!(matches!(next(&mut ws).await, Message::Binary(b) if b[..] == [0, 1, 2, 255]));
    for (data, fin) in [("frag", false), ("men", false), ("ted", true)] {
        ws.send(Outgoing::Fragment {
            kind: MessageKind::Text,
            data: data.as_bytes().to_vec().into(),
            fin,
        })
        .await
        .unwrap();
    }
    assert!(matches!(next(&mut ws).await, Message::Text(t) if t.as_str() == "fragmented"));
    ws.send_text(big_text()).await.unwrap();
    assert!(matches!(next(&mut ws).await, Message::Text(t) if t.as_str() == big_text()));
    // Again: with context takeover, this one refers back to the first.
    ws.send_text("hello hello hello").await.unwrap();
    assert!(matches!(next(&mut ws).await, Message::Text(t) if t.as_str() == "hello hello hello"));
    ws.send_ping(b"are you there".to_vec()).await.unwrap();
    assert!(matches!(next(&mut ws).await, Message::Pong(p) if p[..] == *b"are you there"));
    ws.send(Outgoing::Pong(b"unasked".to_vec().into()))
        .await
        .unwrap();
    ws.close(Some(CloseCode::from(4000)), "bye").await.unwrap();
    while let Ok(Some(_)) = timeout(LIMIT, ws.recv()).await {}
    drop(ws);
    let client = collect(&mut rx, None).await;
    let server = collect(&mut server_rx, Some(1)).await;
    (client, server)
}

#[tokio::test]
async fn a_real_session_round_trips_and_reads_as_chrome_writes_it() {
    let (client, server) = real_session().await;
    let compressed = client
        .iter()
        .filter(|l| matches!(&l.record, Record::Frame(f) if f.rsv1 && !f.incoming))
        .count();
    assert!(
        compressed >= 4,
        "the client compressed what it sent ({compressed} frames)"
    );
    let mut capture = vec![CaptureLine::header("test har")];
    capture.extend(client.iter().cloned());
    capture.extend(server.iter().cloned());

    // Capture → HAR → capture: line for line.
    assert_round_trip(&capture);

    // What a HAR reader sees: Chrome's messages, with direction, in order, each starting
    // with Chrome's four keys in Chrome's order.
    let text = String::from_utf8(export(&capture).0).unwrap();
    let chrome_order =
        regex::Regex::new(r#"\{"type":"(send|receive)","time":[0-9.]+,"opcode":[0-9]+,"data":"#)
            .unwrap();
    assert_eq!(
        chrome_order.find_iter(&text).count(),
        2 * expected_client_messages().len()
    );
    let har = export_json(&capture);
    assert_eq!(har["log"]["version"], "1.2");
    assert_eq!(har["log"]["creator"]["name"], "ws-inspector");
    let entries = har["log"]["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    let entry = &entries[0];
    assert_eq!(entry["_resourceType"], "websocket");
    assert_eq!(entry["response"]["status"], 101);
    assert_eq!(entry["response"]["statusText"], "Switching Protocols");
    let url = entry["request"]["url"].as_str().unwrap();
    assert!(
        url.starts_with("ws://127.0.0.1:") && url.ends_with("/chat?room=1"),
        "{url}"
    );
    assert_eq!(entry["request"]["queryString"][0]["name"], "room");
    assert_eq!(entry["request"]["cookies"][1]["value"], "two");
    assert_eq!(entry["_closed"]["code"], 4000);
    assert_eq!(entry["_closed"]["initiator"], "local");
    // The server's entry: the URL from its Host header and path.
    assert_eq!(entries[1]["request"]["url"].as_str().unwrap(), url);
    assert_eq!(entries[1]["_conn"], 1);
    let client_messages = har_messages(&har, 0);
    assert_eq!(client_messages, expected_client_messages());
    // The server saw the same, the other way round (and sent no pong of its own: the engine
    // answered the ping).
    let mirrored: Vec<HarMessage> = expected_client_messages()
        .into_iter()
        .map(|(kind, opcode, data)| {
            let kind = if kind == "send" { "receive" } else { "send" };
            (kind.to_owned(), opcode, data)
        })
        .collect();
    assert_eq!(har_messages(&har, 1), mirrored);
    let summary = export(&capture).1;
    assert_eq!(summary.not_inflated, 0);
    assert_eq!(
        summary.messages,
        2 * expected_client_messages().len() as u64
    );

    // Without the capture's other lines but with `_frames` and `_closed`: every frame comes
    // back exactly (bits, mask, payload as on the wire, times), and the close.
    let mut frames_only = har.clone();
    frames_only["log"]
        .as_object_mut()
        .unwrap()
        .remove("_captureHeader");
    for entry in frames_only["log"]["entries"].as_array_mut().unwrap() {
        entry.as_object_mut().unwrap().remove("_captureLines");
    }
    let back = har::import(&frames_only.to_string()).unwrap();
    let frame_lines = |lines: &[CaptureLine], conn: Option<u64>| -> Vec<CaptureLine> {
        lines
            .iter()
            .filter(|l| l.conn == conn && matches!(l.record, Record::Frame(_)))
            .cloned()
            .collect()
    };
    let mut client_frames = frame_lines(&client, None);
    let mut back_frames = frame_lines(&back.lines, None);
    // Messages are in the order they ended; the frames of one direction keep their order.
    back_frames.sort_by_key(|l| l.elapsed_ns);
    client_frames.sort_by_key(|l| l.elapsed_ns);
    assert_eq!(back_frames, client_frames);
    assert_eq!(
        frame_lines(&back.lines, Some(1)).len(),
        frame_lines(&server, Some(1)).len()
    );
    assert_eq!(closed_of(&back.lines, None), closed_of(&client, None));
    assert_eq!(closed_of(&back.lines, Some(1)), closed_of(&server, Some(1)));

    // Without our extras (as Chrome would keep it), every message, ping, pong and close code
    // still comes back, in order, with direction.
    let mut stripped = har.clone();
    strip_extras(&mut stripped);
    let back = har::import(&stripped.to_string()).unwrap();
    assert_eq!(back.websocket_entries, 2);
    let expected: Vec<(bool, u8, Vec<u8>)> = expected_client_messages()
        .into_iter()
        .map(|(kind, opcode, data)| {
            let payload = if opcode == 1 {
                data.into_bytes()
            } else {
                STANDARD.decode(data).unwrap()
            };
            (kind == "receive", opcode as u8, payload)
        })
        .collect();
    assert_eq!(frames_of(&back.lines, Some(1)), expected);
    assert_eq!(
        closed_of(&back.lines, Some(1)),
        Some((4000, InitiatorRecord::Local))
    );
    let server_frames: Vec<_> = expected
        .iter()
        .map(|(incoming, opcode, payload)| (!incoming, *opcode, payload.clone()))
        .collect();
    assert_eq!(frames_of(&back.lines, Some(2)), server_frames);
    assert_eq!(
        closed_of(&back.lines, Some(2)),
        Some((4000, InitiatorRecord::Remote))
    );
    // Every line imported is one a tap could have reported.
    for line in &back.lines[1..] {
        line.to_tap()
            .unwrap_or_else(|e| panic!("{e}: {}", serde_json::to_string(line).unwrap()));
    }
}

// --- a capture with every kind of line ------------------------------------------------------

fn line(n: u64, conn: Option<u64>, leg: Option<Leg>, record: Record) -> CaptureLine {
    let time_ns = 1_796_128_631_677_374_077 + n * 1_234_567;
    CaptureLine {
        v: 1,
        time: humantime::format_rfc3339_nanos(
            std::time::UNIX_EPOCH + Duration::from_nanos(time_ns),
        )
        .to_string(),
        time_ns,
        elapsed_ns: n * 1_234_000 + 17,
        conn,
        leg,
        record,
    }
}

fn frame(incoming: bool, fin: bool, rsv1: bool, opcode: u8, payload: &[u8]) -> Record {
    Record::Frame(FrameRecord {
        incoming,
        fin,
        rsv1,
        rsv2: false,
        rsv3: false,
        opcode,
        mask: (!incoming).then_some([0x37, 0xfa, 0x21, 0x3d]),
        payload_len: payload.len() as u64,
        payload: payload.to_vec(),
        decompressed_len: None,
        message: None,
    })
}

/// Raw deflate of `parts` as one stream (context takeover), each without its sync tail.
fn deflated(parts: &[&str]) -> Vec<Vec<u8>> {
    use flate2::{Compress, Compression, FlushCompress};
    let mut c = Compress::new(Compression::default(), false);
    parts
        .iter()
        .map(|p| {
            let mut out = Vec::with_capacity(p.len() + 64);
            c.compress_vec(p.as_bytes(), &mut out, FlushCompress::Sync)
                .unwrap();
            out.truncate(out.len() - 4);
            out
        })
        .collect()
}

/// Every kind of line, over a client, a listener's client and a relay's two legs; frames of
/// every shape: fragments with a control frame in between, compressed both ways, reserved
/// bits and opcodes, a message that never ends, invalid UTF-8.
fn hand_made_capture() -> Vec<CaptureLine> {
    let spec: Vec<CaptureLine> = SPEC
        .lines()
        .filter(|l| l.starts_with("{\"v\":"))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kind = |k: &str| {
        spec.iter()
            .find(|l| serde_json::to_value(&l.record).unwrap()["kind"] == k)
            .unwrap_or_else(|| panic!("no {k} example"))
            .record
            .clone()
    };
    let sent = deflated(&["hello hello hello", "hello hello hello again"]);
    let received = deflated(&["hello hello hello"]);
    let mut n = 0;
    let mut at = |conn, leg, record| {
        n += 1;
        line(n, conn, leg, record)
    };
    let mut lines = vec![CaptureLine::header("test har 1.0")];
    let c = None;
    lines.extend([
        at(c, None, Record::State { ready_state: 0 }),
        at(c, None, kind("tcp_connected")),
        at(c, None, kind("tls_established")),
        at(c, None, kind("request_sent")),
        at(c, None, kind("response_received")),
        at(c, None, kind("opened")),
        at(c, None, Record::State { ready_state: 1 }),
        at(c, None, frame(false, false, false, 1, b"frag")),
        at(c, None, frame(true, true, false, 9, b"ping")),
        at(c, None, frame(false, true, false, 10, b"ping")),
        at(c, None, frame(false, true, false, 0, b"mented")),
        at(c, None, frame(false, true, true, 1, &sent[0])),
        at(c, None, frame(true, true, true, 1, &received[0])),
        at(c, None, Record::State { ready_state: 1 }),
        at(
            c,
            None,
            Record::Inflated(MessageRecord::Text {
                text: "hello hello hello".into(),
            }),
        ),
        at(c, None, frame(false, true, true, 1, &sent[1])),
        at(c, None, frame(true, true, false, 2, &[0, 159, 146, 150])),
        at(c, None, frame(true, true, false, 1, &[0xff, 0xfe, b'x'])),
        at(c, None, frame(true, true, false, 3, b"reserved")),
        at(c, None, frame(true, true, false, 0, b"stray")),
        // A compressed message received with no inflated line, and garbage.
        at(c, None, frame(true, true, true, 2, &[1, 2, 3])),
        at(
            c,
            None,
            Record::Error {
                message: "protocol error: invalid compressed data".into(),
            },
        ),
        at(
            c,
            None,
            frame(false, true, false, 8, &[0x03, 0xea, b'o', b'k']),
        ),
        at(c, None, Record::State { ready_state: 2 }),
        at(c, None, frame(true, true, false, 8, &[])),
        at(c, None, frame(false, false, false, 2, b"never ends")),
        at(c, None, Record::State { ready_state: 3 }),
        at(c, None, kind("closed")),
    ]);
    // A listener's client: the server's heads.
    let s = Some(1);
    lines.extend([
        at(s, None, kind("request_received")),
        at(s, None, kind("response_sent")),
        at(s, None, frame(true, true, false, 1, "héllo ✓".as_bytes())),
        at(s, None, frame(false, true, false, 1, "héllo ✓".as_bytes())),
    ]);
    // A relay's legs, interleaved.
    let r = Some(2);
    lines.extend([
        at(r, Some(Leg::Client), kind("request_received")),
        at(r, Some(Leg::Server), kind("request_sent")),
        at(r, Some(Leg::Server), kind("handshake_failed")),
        at(r, Some(Leg::Client), frame(true, true, false, 1, b"hi")),
        at(r, Some(Leg::Client), kind("error")),
    ]);
    // A frame with every bit set, and a header in the middle (dropped: one header per HAR).
    let mut odd = frame(false, false, true, 0xb, b"");
    if let Record::Frame(f) = &mut odd {
        f.rsv2 = true;
        f.rsv3 = true;
        f.payload_len = 99;
        f.decompressed_len = Some(7);
    }
    lines.push(at(Some(3), None, odd));
    lines
}

#[test]
fn a_capture_with_every_kind_of_line_round_trips() {
    let capture = hand_made_capture();
    let back = assert_round_trip(&capture);
    assert_eq!(back.websocket_entries, 5);
    let har = export_json(&capture);
    let messages = har_messages(&har, 0);
    let b64 = |d: &[u8]| STANDARD.encode(d);
    let t = |kind: &str, opcode: u64, data: &str| (kind.to_owned(), opcode, data.to_owned());
    assert_eq!(
        messages,
        [
            t("receive", 9, &b64(b"ping")),
            t("send", 10, &b64(b"ping")),
            t("send", 1, "fragmented"),
            t("send", 1, "hello hello hello"),
            t("receive", 1, "hello hello hello"),
            t("send", 1, "hello hello hello again"),
            t("receive", 2, &b64(&[0, 159, 146, 150])),
            t("receive", 1, "\u{fffd}\u{fffd}x"),
            t("receive", 3, &b64(b"reserved")),
            t("receive", 0, &b64(b"stray")),
            t("receive", 2, &b64(&[1, 2, 3])),
            t("send", 8, &b64(&[0x03, 0xea, b'o', b'k'])),
            t("receive", 8, ""),
            t("send", 2, &b64(b"never ends")),
        ]
    );
    let list = har["log"]["entries"][0]["_webSocketMessages"]
        .as_array()
        .unwrap();
    assert_eq!(
        list[2]["_frames"].as_array().unwrap().len(),
        2,
        "two fragments"
    );
    assert_eq!(list[2]["_frames"][0]["mask"], "37fa213d");
    assert_eq!(list[3]["_compressed"], true);
    assert!(list[4]["_inflated"]["seq"].is_u64());
    assert!(list[10]["_inflateError"].is_string());
    assert_eq!(list[11]["_closeCode"], 1002);
    assert_eq!(list[11]["_closeReason"], "ok");
    assert_eq!(list[12]["_closeCode"], Value::Null);
    assert_eq!(list[13]["_incomplete"], true);
    let entry = &har["log"]["entries"][0];
    assert_eq!(entry["request"]["url"], "wss://127.0.0.1:9401/chat");
    assert!(entry["_webSocketHandshake"]["request"].is_string());
    assert_eq!(entry["_tls"]["version"], "TLSv1.3");
    assert_eq!(entry["_closed"]["code"], 1002);
    assert_eq!(entry["_conn"], Value::Null);
    assert!(entry["timings"]["ssl"].as_f64().unwrap() >= 0.0);
    // The relay's server leg failed its handshake: its response is the 502.
    let relay_server = &har["log"]["entries"][3];
    assert_eq!(relay_server["_leg"], "server");
    assert_eq!(relay_server["response"]["status"], 502);
    assert_eq!(
        har["log"]["_captureHeader"]["record"]["generator"],
        "test har 1.0"
    );
    let summary = export(&capture).1;
    assert_eq!(summary.entries, 5);
    assert_eq!(summary.control_messages, 4 + 1);
    assert_eq!(summary.not_inflated, 1);
}

#[test]
fn the_spec_examples_round_trip() {
    let lines: Vec<CaptureLine> = SPEC
        .lines()
        .filter(|l| l.starts_with("{\"v\":"))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_round_trip(&lines);
    let har = export_json(&lines);
    // The client's compressed message sent is inflated here (the capture has no inflated line
    // for it); the one received comes from its inflated line.
    let messages = har_messages(&har, 0);
    assert_eq!(messages[0], ("send".into(), 1, "hello hello hello".into()));
    assert_eq!(
        messages[1],
        ("receive".into(), 1, "hello hello hello".into())
    );
}

// --- the HAR 1.2 schema ---------------------------------------------------------------------

fn run(command: &mut Command) -> std::process::Output {
    command.output().unwrap_or_else(|e| {
        panic!(
            "could not run {command:?} ({e}): this test needs node and npm — on Debian, \
             `apt-get install -y nodejs npm`"
        )
    })
}

/// `har-validator` installed under `target/tmp/har-validator` (once); its folder.
fn har_validator() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("har-validator");
    if !dir.join("node_modules/har-validator/package.json").exists() {
        std::fs::create_dir_all(&dir).unwrap();
        let out = run(Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .arg("har-validator@5.1.5"));
        assert!(
            out.status.success(),
            "npm install har-validator failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    dir
}

fn validate(dir: &Path, name: &str, har: &[u8]) {
    let file = dir.join(name);
    std::fs::write(&file, har).unwrap();
    let script = "const validate = require('har-validator');\n\
                  const har = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'));\n\
                  validate.har(har).then(() => console.log('valid'), e => {\n\
                    console.error(JSON.stringify(e.errors || String(e), null, 1));\n\
                    process.exit(1);\n\
                  });";
    let out = run(Command::new("node")
        .current_dir(dir)
        .args(["-e", script])
        .arg(&file));
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "valid",
        "{name} is not valid HAR 1.2: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Needs node and npm (Debian: `apt-get install -y nodejs npm`); fails without them.
#[tokio::test]
async fn exports_validate_against_the_har_schema() {
    let dir = har_validator();
    let (client, server) = real_session().await;
    let mut capture = client;
    capture.extend(server);
    validate(&dir, "session.har", &export(&capture).0);
    validate(&dir, "hand-made.har", &export(&hand_made_capture()).0);
    let spec: Vec<CaptureLine> = SPEC
        .lines()
        .filter(|l| l.starts_with("{\"v\":"))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    validate(&dir, "spec.har", &export(&spec).0);
    // Other tools' files, imported and exported again.
    for (name, text) in [
        ("chromium", CHROMIUM_HAR),
        ("mitmproxy", MITMPROXY_HAR),
        ("firefox", FIREFOX_HAR),
    ] {
        let lines = har::import(text).unwrap().lines;
        validate(&dir, &format!("{name}-again.har"), &export(&lines).0);
    }
    // An empty capture is a valid HAR with no entry.
    validate(&dir, "empty.har", &export(&[]).0);
    // The validator does refuse a broken one.
    let mut broken = export_json(&spec);
    broken["log"]["entries"][0]
        .as_object_mut()
        .unwrap()
        .remove("timings");
    let file = dir.join("broken.har");
    std::fs::write(&file, broken.to_string()).unwrap();
    let out = run(Command::new("node")
        .current_dir(&dir)
        .args([
            "-e",
            "require('har-validator').har(JSON.parse(require('fs').readFileSync(process.argv[1]))).then(() => process.exit(0), () => process.exit(3))",
        ])
        .arg(&file));
    assert_eq!(
        out.status.code(),
        Some(3),
        "har-validator must refuse a HAR without timings"
    );
}

// --- other tools' files -------------------------------------------------------------------------

/// The frames of every connection imported: (conn, incoming, opcode, payload as text).
fn imported_frames(import: &har::Import) -> Vec<(Option<u64>, bool, u8, String)> {
    import
        .lines
        .iter()
        .filter_map(|l| match &l.record {
            Record::Frame(f) => Some((
                l.conn,
                f.incoming,
                f.opcode,
                String::from_utf8_lossy(&f.payload).into_owned(),
            )),
            _ => None,
        })
        .collect()
}

fn assert_sound(import: &har::Import) {
    assert!(matches!(import.lines[0].record, Record::Capture { .. }));
    for line in &import.lines[1..] {
        line.to_tap()
            .unwrap_or_else(|e| panic!("{e}: {}", serde_json::to_string(line).unwrap()));
    }
    // Each connection: the heads, opened, OPEN, the frames, then CLOSED and closed.
    for lines in by_connection(&import.lines).values() {
        let kinds: Vec<String> = lines
            .iter()
            .map(|l| {
                serde_json::to_value(&l.record).unwrap()["kind"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(
            kinds[..4],
            ["request_sent", "response_received", "opened", "state"]
        );
        assert_eq!(kinds[kinds.len() - 2..], ["state", "closed"]);
        let mut times: Vec<u64> = lines.iter().map(|l| l.time_ns).collect();
        let sorted = {
            times.sort_unstable();
            times.clone()
        };
        assert_eq!(
            lines.iter().map(|l| l.time_ns).collect::<Vec<_>>(),
            sorted,
            "times in order"
        );
        assert!(lines.iter().all(|l| l.time_ns > 1_600_000_000_000_000_000));
    }
}

#[test]
fn a_chromium_har_imports() {
    let import = har::import(CHROMIUM_HAR).unwrap();
    assert_eq!(import.websocket_entries, 1);
    assert!(import.skipped_http_entries >= 1, "the page itself");
    assert_sound(&import);
    let frames = imported_frames(&import);
    let b64 = |d: &[u8]| String::from_utf8_lossy(d).into_owned();
    assert_eq!(
        frames,
        [
            (Some(1), false, 1, "hello from chromium".into()),
            (Some(1), true, 1, "hello from chromium".into()),
            (Some(1), false, 2, b64(&[0, 1, 2, 255])),
            (Some(1), true, 2, b64(&[0, 1, 2, 255])),
            (Some(1), false, 1, "second ✓".into()),
            (Some(1), true, 1, "second ✓".into()),
        ]
    );
    let request = import.lines.iter().find_map(|l| match &l.record {
        Record::RequestSent { head, raw } => Some((head.clone(), raw.clone())),
        _ => None,
    });
    let (head, raw) = request.unwrap();
    assert!(head.uri.starts_with("ws://127.0.0.1:"), "{}", head.uri);
    let raw = String::from_utf8(raw).unwrap();
    assert!(raw.starts_with("GET /chat HTTP/1.1\r\n"), "{raw}");
    assert!(raw.ends_with("\r\n\r\n"));
    assert!(
        raw.to_ascii_lowercase().contains("sec-websocket-key: "),
        "{raw}"
    );
}

#[test]
fn a_mitmproxy_har_imports() {
    let import = har::import(MITMPROXY_HAR).unwrap();
    assert_eq!(import.websocket_entries, 1);
    assert_sound(&import);
    let frames = imported_frames(&import);
    assert_eq!(
        frames,
        [
            // wsi sent both messages before the echoes came.
            (Some(1), false, 1, "hello through mitmproxy".into()),
            (
                Some(1),
                false,
                2,
                String::from_utf8_lossy(&[0, 1, 2, 255]).into_owned()
            ),
            (Some(1), true, 1, "hello through mitmproxy".into()),
            (
                Some(1),
                true,
                2,
                String::from_utf8_lossy(&[0, 1, 2, 255]).into_owned()
            ),
        ]
    );
    // mitmproxy writes the URL as http://; the head holds ws://.
    let uri = import.lines.iter().find_map(|l| match &l.record {
        Record::RequestSent { head, .. } => Some(head.uri.clone()),
        _ => None,
    });
    assert!(uri.unwrap().starts_with("ws://127.0.0.1:"));
}

#[test]
fn a_firefox_har_imports() {
    // Firefox writes a WebSocket as an HTTP entry with status 101 and no messages (it has no
    // `_resourceType` or `_webSocketMessages`): the connection comes in, without frames.
    let import = har::import(FIREFOX_HAR).unwrap();
    assert_eq!(import.websocket_entries, 1);
    assert_eq!(import.skipped_http_entries, 2, "the page and its favicon");
    assert_sound(&import);
    assert!(imported_frames(&import).is_empty());
    let opened = import
        .lines
        .iter()
        .find_map(|l| match &l.record {
            Record::Opened(o) => Some(o.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(opened.request.uri, "ws://127.0.0.1:19002/chat");
    assert_eq!(opened.deflate.as_deref(), Some("permessage-deflate"));
    // startedDateTime is written with an offset (+00:00).
    assert_eq!(import.lines[1].time, "2026-12-01T13:17:44.466000000Z");
    assert_eq!(
        closed_of(&import.lines, Some(1)),
        Some((1006, InitiatorRecord::Nobody))
    );
}

// --- bad input ------------------------------------------------------------------------------------

#[test]
fn bad_input_is_refused_in_plain_words() {
    let empty = har::import("").unwrap_err();
    assert_eq!(empty.to_string(), "not JSON: the text is empty");
    assert!(matches!(
        har::import(" \n\t").unwrap_err(),
        HarError::NotJson { .. }
    ));

    let garbage: String = [0x89u8, b'P', b'N', b'G', 0, 1, 2, 0xff]
        .iter()
        .map(|b| char::from(*b))
        .collect();
    let e = har::import(&garbage).unwrap_err();
    assert!(
        matches!(
            e,
            HarError::NotJson {
                line: 1,
                column: 1,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.to_string(), "not JSON: expected value at line 1 column 1");

    let e = har::import("{\n  \"log\": {\n    \"entries\": [,]\n  }\n}").unwrap_err();
    assert_eq!(
        e.to_string(),
        "not JSON: expected value at line 3 column 17"
    );

    for not_har in [
        "{\"hello\": 1}",
        "[1, 2]",
        "{\"log\": {\"pages\": []}}",
        "\"log\"",
        "{\"log\": {\"entries\": 3}}",
    ] {
        let e = har::import(not_har).unwrap_err();
        assert!(matches!(e, HarError::NotHar { .. }), "{not_har}: {e:?}");
        assert!(
            e.to_string()
                .starts_with("not a HAR file: it needs a log object with an entries array"),
            "{e}"
        );
        assert!(e.to_string().contains("at line 1 column"), "{e}");
    }

    let http_only = r#"{"log": {"version": "1.2", "creator": {"name": "x", "version": "1"},
        "entries": [
          {"startedDateTime": "2024-01-01T00:00:00Z", "time": 1,
           "request": {"method": "GET", "url": "https://example.com/", "httpVersion": "HTTP/1.1",
                       "headers": [], "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0},
           "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "headers": [],
                        "cookies": [], "content": {"size": 0, "mimeType": "text/html"},
                        "redirectURL": "", "headersSize": -1, "bodySize": 0},
           "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0}},
          {"startedDateTime": "2024-01-01T00:00:01Z", "time": 1,
           "request": {"method": "GET", "url": "https://example.com/app.js", "headers": []},
           "response": {"status": 200, "headers": []}, "cache": {}, "timings": {}}
        ]}}"#;
    let e = har::import(http_only).unwrap_err();
    assert_eq!(e, HarError::NoWebSocket { http_entries: 2 });
    assert_eq!(
        e.to_string(),
        "the HAR file has no WebSocket entry (it has 2 HTTP entries)"
    );
    let none = har::import(r#"{"log": {"entries": []}}"#).unwrap_err();
    assert_eq!(
        none.to_string(),
        "the HAR file has no WebSocket entry (it has 0 HTTP entries)"
    );

    // A HAR whose WebSocket entry is broken: the place is given.
    let broken = r#"{"log": {"entries": [
        {"_resourceType": "websocket", "request": {"url": "ws://x/"},
         "_webSocketMessages": [{"type": "send", "time": "soon", "opcode": 1, "data": "a"}]}]}}"#;
    let e = har::import(broken).unwrap_err();
    assert!(matches!(e, HarError::NotHar { line: 3, .. }), "{e:?}");
    assert!(e.to_string().contains("at line 3 column"), "{e}");
}

#[test]
fn a_minimal_websocket_entry_imports() {
    // What a tool that knows only Chrome's keys might write, with a failed one beside it.
    let text = r#"{"log": {"entries": [
        {"startedDateTime": "2024-05-01T12:00:00.000+02:00", "time": 12.5,
         "request": {"method": "GET", "url": "wss://example.com/feed?x=1", "httpVersion": "HTTP/1.1",
                     "headers": [{"name": "Host", "value": "example.com"},
                                 {"name": "Sec-WebSocket-Extensions", "value": "permessage-deflate"}]},
         "response": {"status": 101, "statusText": "Switching Protocols", "httpVersion": "HTTP/1.1",
                      "headers": [{"name": "Upgrade", "value": "websocket"},
                                  {"name": "Sec-WebSocket-Protocol", "value": "chat"},
                                  {"name": "Sec-WebSocket-Extensions", "value": "permessage-deflate; server_no_context_takeover"}]},
         "serverIPAddress": "[::1]",
         "_resourceType": "websocket",
         "_webSocketMessages": [
           {"type": "send", "time": 1714557600.5, "opcode": 1, "data": "hi"},
           {"type": "receive", "time": 1714557600.75, "opcode": 2, "data": "AAEC"},
           {"type": "error", "time": 1714557601.0, "opcode": -1, "data": "net::ERR_CONNECTION_RESET"}
         ]},
        {"startedDateTime": "2024-05-01T10:00:02Z",
         "request": {"url": "ws://example.com/refused", "headers": []},
         "response": {"status": 403, "statusText": "Forbidden", "headers": []}}
    ]}}"#;
    let import = har::import(text).unwrap();
    assert_eq!(import.websocket_entries, 2);
    let lines = &import.lines;
    for line in &lines[1..] {
        line.to_tap().unwrap();
    }
    let start = 1_714_557_600_000_000_000u64;
    let opened = lines
        .iter()
        .find_map(|l| match &l.record {
            Record::Opened(o) => Some(o.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(opened.protocol.as_deref(), Some("chat"));
    assert_eq!(
        opened.deflate.as_deref(),
        Some("permessage-deflate; server_no_context_takeover")
    );
    assert_eq!(opened.peer, Some("[::1]:443".parse().unwrap()));
    let frames: Vec<_> = lines
        .iter()
        .filter_map(|l| match &l.record {
            Record::Frame(f) => Some((
                l.time_ns,
                l.elapsed_ns,
                f.incoming,
                f.opcode,
                f.payload.clone(),
                f.fin,
                f.mask,
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        frames,
        [
            (
                start + 500_000_000,
                500_000_000,
                false,
                1,
                b"hi".to_vec(),
                true,
                None
            ),
            (
                start + 750_000_000,
                750_000_000,
                true,
                2,
                vec![0, 1, 2],
                true,
                None
            ),
        ]
    );
    assert!(lines.iter().any(
        |l| matches!(&l.record, Record::Error { message } if message == "net::ERR_CONNECTION_RESET")
    ));
    assert!(lines.iter().any(|l| matches!(
        l.record,
        Record::Closed {
            code: 1006,
            initiator: InitiatorRecord::Nobody,
            clean: false,
            ..
        }
    )));
    // The refused one: a failed handshake with the 403.
    let failed = lines
        .iter()
        .filter(|l| l.conn == Some(2))
        .find_map(|l| match &l.record {
            Record::HandshakeFailed {
                reason, response, ..
            } => Some((reason.clone(), response.clone())),
            _ => None,
        })
        .unwrap();
    assert!(failed.0.contains("403 Forbidden"), "{}", failed.0);
    assert_eq!(failed.1.unwrap().status, 403);
}
