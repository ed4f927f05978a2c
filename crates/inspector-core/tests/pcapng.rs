//! pcapng export (`capture::pcapng`), checked by Wireshark's own dissectors: real sessions
//! (ws:// and wss://, tapped at the client and at the server) are exported, and `tshark`
//! must report exactly the frames the capture holds — count, FIN, opcode, mask bit and key,
//! length — with every IPv4 and TCP checksum good and no TCP analysis complaint (which
//! would mean a sequence or acknowledgment number is wrong).
//!
//! These tests need `tshark` (Debian: `apt-get install -y tshark`) and fail without it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rcgen::{CertificateParams, DnType, KeyPair};
use tokio::time::timeout;
use ws_inspector_core::capture::pcapng::{self, ExportSummary, TLS_COMMENT};
use ws_inspector_core::capture::{CaptureLine, FrameRecord, Record};
use ws_tokio::tap::{self, TapReceiver};
use ws_tokio::ws_proto::{CloseCode, MessageKind};
use ws_tokio::{
    ConnectOptions, Decision, Message, Outgoing, Server, ServerOptions, TlsOptions, connect,
};

/// How long a test waits for any one thing.
const LIMIT: Duration = Duration::from_secs(30);

// --- tshark ---------------------------------------------------------------------------------

/// `tshark` with `args`; panics (never skips) when it is missing or fails.
fn tshark(args: &[&str]) -> String {
    let output = Command::new("tshark")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "could not run tshark ({e}): these tests need it — on Debian, \
                 `DEBIAN_FRONTEND=noninteractive apt-get install -y tshark`"
            )
        });
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "tshark {args:?} failed ({}): {stderr}",
        output.status
    );
    // tshark warns on stderr when run as root; anything else there is a complaint about the file.
    for line in stderr.lines() {
        assert!(
            line.trim().is_empty() || line.contains("Running as user"),
            "tshark {args:?} complained: {stderr}"
        );
    }
    String::from_utf8(output.stdout).expect("tshark prints UTF-8")
}

/// One WebSocket frame as tshark dissected it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Dissected {
    fin: bool,
    opcode: u8,
    mask: Option<[u8; 4]>,
    len: u64,
}

impl Dissected {
    fn of(frame: &FrameRecord) -> Self {
        Self {
            fin: frame.fin,
            opcode: frame.opcode,
            mask: frame.mask,
            len: frame.payload_len,
        }
    }
}

/// tshark's boolean, `1`/`True`.
fn boolean(text: &str) -> bool {
    match text {
        "1" | "True" | "true" => true,
        "0" | "False" | "false" => false,
        other => panic!("not a boolean: {other:?}"),
    }
}

/// The frames `tshark -r FILE -Y websocket` finds, in order.
fn dissected_frames(file: &Path) -> Vec<Dissected> {
    dissected_frames_with(file, &[])
}

/// [`dissected_frames`] with more of tshark's options (`-d`).
fn dissected_frames_with(file: &Path, options: &[&str]) -> Vec<Dissected> {
    let file = file.to_str().unwrap();
    let mut args = options.to_vec();
    args.extend([
        "-r",
        file,
        "-Y",
        "websocket",
        "-T",
        "fields",
        "-E",
        "separator=/t",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
        "-e",
        "websocket.fin",
        "-e",
        "websocket.opcode",
        "-e",
        "websocket.mask",
        "-e",
        "websocket.masking_key",
        "-e",
        "websocket.payload_length",
        "-e",
        "websocket.payload_length_ext_16",
        "-e",
        "websocket.payload_length_ext_64",
    ]);
    let text = tshark(&args);
    let mut frames = Vec::new();
    for line in text.lines() {
        let fields: Vec<Vec<&str>> = line
            .split('\t')
            .map(|f| f.split(',').filter(|s| !s.is_empty()).collect())
            .collect();
        let [fin, opcode, mask, key, len7, len16, len64] = &fields[..] else {
            panic!("unexpected tshark line {line:?}");
        };
        // The masking key and the extended lengths appear only in the frames that have
        // them: take them in order.
        let (mut keys, mut len16, mut len64) = (key.iter(), len16.iter(), len64.iter());
        for i in 0..fin.len() {
            let masked = boolean(mask[i]);
            let key = masked.then(|| {
                let hex: String = keys
                    .next()
                    .expect("a masked frame has a key")
                    .chars()
                    .filter(|c| *c != ':')
                    .collect();
                let n = u32::from_str_radix(&hex, 16).unwrap();
                n.to_be_bytes()
            });
            let len = match len7[i].parse::<u64>().unwrap() {
                126 => len16.next().unwrap().parse().unwrap(),
                127 => len64.next().unwrap().parse().unwrap(),
                n => n,
            };
            frames.push(Dissected {
                fin: boolean(fin[i]),
                opcode: opcode[i].parse().unwrap(),
                mask: key,
                len,
            });
        }
    }
    frames
}

/// Every IPv4 and TCP checksum is good, and TCP's analysis finds nothing wrong (but
/// `allowed`, a display filter of what this file may have).
fn assert_tcp_is_sound(file: &Path, allowed: &str) {
    let file = file.to_str().unwrap();
    let all = tshark(&["-r", file, "-T", "fields", "-e", "frame.number"]);
    let bad = tshark(&[
        "-r",
        file,
        "-o",
        "ip.check_checksum:TRUE",
        "-o",
        "tcp.check_checksum:TRUE",
        "-Y",
        "ip.checksum.status != 1 || tcp.checksum.status != 1",
        "-T",
        "fields",
        "-e",
        "frame.number",
    ]);
    assert_eq!(bad.trim(), "", "packets with a bad or unchecked checksum");
    let complaints = tshark(&[
        "-r",
        file,
        "-Y",
        &format!("tcp.analysis.flags && !tcp.analysis.window_update && !({allowed})"),
        "-T",
        "fields",
        "-e",
        "frame.number",
        "-e",
        "_ws.expert.message",
    ]);
    assert_eq!(
        complaints.trim(),
        "",
        "TCP analysis complaints (of {} packets)",
        all.lines().count()
    );
    // And no malformed packet of any protocol.
    let malformed = tshark(&[
        "-r",
        file,
        "-Y",
        "_ws.malformed",
        "-T",
        "fields",
        "-e",
        "frame.number",
    ]);
    assert_eq!(malformed.trim(), "", "malformed packets");
}

/// The packet comments of `file`.
fn comments(file: &Path) -> Vec<String> {
    tshark(&[
        "-r",
        file.to_str().unwrap(),
        "-Y",
        "frame.comment",
        "-T",
        "fields",
        "-e",
        "frame.comment",
    ])
    .lines()
    .map(str::to_owned)
    .collect()
}

// --- sessions -------------------------------------------------------------------------------

/// A scratch file, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        Self(std::env::temp_dir().join(format!(
            "ws-inspector-pcapng-{}-{name}.pcapng",
            std::process::id()
        )))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Exports `lines` to a scratch file.
fn export_to_file(lines: &[CaptureLine], name: &str) -> (Scratch, ExportSummary) {
    let file = Scratch::new(name);
    let out = std::fs::File::create(&file.0).unwrap();
    let summary = pcapng::export(lines, out).unwrap();
    (file, summary)
}

/// The reports of `rx` as capture lines, until the `closed` one (or until the channel
/// ends), of connection `conn`.
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
    // What is left (the readyState after the close).
    while let Some(event) = rx.try_recv() {
        lines.extend(CaptureLine::from_tap(&event).map(|l| l.with_conn(conn)));
    }
    lines
}

fn frames(lines: &[CaptureLine]) -> Vec<&FrameRecord> {
    lines
        .iter()
        .filter_map(|l| match &l.record {
            Record::Frame(f) => Some(f),
            _ => None,
        })
        .collect()
}

/// An echo server (one connection) tapped, with `options`; its address and the tap.
async fn echo_server(options: ServerOptions) -> (std::net::SocketAddr, TapReceiver) {
    let (tap, rx) = tap::channel(4096);
    let server = Server::bind("127.0.0.1:0", options.with_tap(tap))
        .await
        .unwrap();
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

/// The session: text, binary, a fragmented text message, ping/pong, 70,000 bytes of binary
/// (a 64-bit length), and the close; each echoed. Returns the client's capture.
async fn session(options: ConnectOptions) -> Vec<CaptureLine> {
    let (tap, mut rx) = tap::channel(4096);
    let mut ws = timeout(LIMIT, connect(options.with_tap(tap)))
        .await
        .unwrap()
        .unwrap();

    ws.send_text("hello").await.unwrap();
    assert!(matches!(next(&mut ws).await, Message::Text(t) if t.as_str() == "hello"));
    ws.send_binary(vec![1u8, 2, 3, 255]).await.unwrap();
    assert!(matches!(next(&mut ws).await, Message::Binary(b) if b[..] == [1, 2, 3, 255]));
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
    ws.send_ping(b"are you there".to_vec()).await.unwrap();
    assert!(matches!(next(&mut ws).await, Message::Pong(p) if p[..] == *b"are you there"));
    let big: Vec<u8> = (0..70_000u32).map(|i| (i * 7 % 251) as u8).collect();
    ws.send_binary(big.clone()).await.unwrap();
    assert!(matches!(next(&mut ws).await, Message::Binary(b) if b[..] == big[..]));
    ws.close(Some(CloseCode::NORMAL), "bye").await.unwrap();
    while let Ok(Some(_)) = timeout(LIMIT, ws.recv()).await {}
    drop(ws);
    collect(&mut rx, None).await
}

/// Exports `lines` and checks what tshark finds against the capture's frames.
fn check_export(lines: &[CaptureLine], name: &str) -> (Scratch, ExportSummary) {
    check_export_allowing(lines, name, "frame.number == 0")
}

/// [`check_export`], where TCP analysis may find `allowed` (a display filter).
fn check_export_allowing(
    lines: &[CaptureLine],
    name: &str,
    allowed: &str,
) -> (Scratch, ExportSummary) {
    let (file, summary) = export_to_file(lines, name);
    let expected: Vec<Dissected> = frames(lines).into_iter().map(Dissected::of).collect();
    let found = dissected_frames(&file.0);
    assert_eq!(found, expected, "tshark's frames against the capture's");
    assert_eq!(summary.frames, expected.len() as u64);
    assert_tcp_is_sound(&file.0, allowed);
    let packets = tshark(&[
        "-r",
        file.0.to_str().unwrap(),
        "-T",
        "fields",
        "-e",
        "frame.number",
    ]);
    assert_eq!(packets.lines().count() as u64, summary.packets);
    eprintln!(
        "{name}: {} frames in the capture, {} found by tshark, {} packets, {} connections",
        expected.len(),
        found.len(),
        summary.packets,
        summary.connections
    );
    (file, summary)
}

/// The frames a session holds, by opcode, as the client sent (`false`) or received them.
fn shape(lines: &[CaptureLine]) -> Vec<(bool, u8, bool)> {
    frames(lines)
        .iter()
        .map(|f| (f.incoming, f.opcode, f.fin))
        .collect()
}

#[tokio::test]
async fn a_session_exports_frame_for_frame_as_tshark_dissects_it() {
    let (addr, mut server_rx) = echo_server(ServerOptions::default()).await;
    let client = session(ConnectOptions::new(format!(
        "ws://127.0.0.1:{}/chat",
        addr.port()
    )))
    .await;
    let server = collect(&mut server_rx, Some(1)).await;

    // The session is what the test means it to be.
    assert_eq!(
        shape(&client),
        [
            (false, 1, true),
            (true, 1, true),
            (false, 2, true),
            (true, 2, true),
            (false, 1, false),
            (false, 0, false),
            (false, 0, true),
            (true, 1, true),
            (false, 9, true),
            (true, 10, true),
            (false, 2, true),
            (true, 2, true),
            (false, 8, true),
            (true, 8, true),
        ]
    );
    assert!(frames(&client).iter().any(|f| f.payload_len == 70_000));

    let (file, summary) = check_export(&client, "client");
    assert_eq!(summary.connections, 1);
    // The fragmented message reassembled, the texts and the close as Wireshark reads them.
    let texts = tshark(&[
        "-r",
        file.0.to_str().unwrap(),
        "-Y",
        "websocket",
        "-T",
        "fields",
        "-E",
        "occurrence=a",
        "-e",
        "websocket.payload.text",
        "-e",
        "websocket.payload.close.status_code",
        "-e",
        "websocket.payload.close.reason",
    ]);
    let texts: Vec<&str> = texts
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert!(texts.contains(&"hello"), "{texts:?}");
    assert!(texts.contains(&"fragmented"), "{texts:?}");
    assert!(
        texts.iter().any(|l| l.starts_with("1000\tbye")),
        "{texts:?}"
    );
    // The request and the 101 are HTTP, on the real client port and port 80.
    let http = tshark(&[
        "-r",
        file.0.to_str().unwrap(),
        "-Y",
        "http",
        "-T",
        "fields",
        "-e",
        "http.request.method",
        "-e",
        "http.response.code",
        "-e",
        "tcp.dstport",
    ]);
    let http: Vec<&str> = http.lines().collect();
    let back = format!("\t101\t{}", client_port(&client));
    assert_eq!(http, ["GET\t\t80", back.as_str()]);
    let notes = comments(&file.0);
    assert!(
        notes[0].contains(&format!("server 127.0.0.1:{}", addr.port())),
        "{notes:?}"
    );
    assert!(
        notes.iter().any(|c| c.contains("closed: code 1000")),
        "{notes:?}"
    );

    // The server's capture of the same connection: the same frames, the other way round.
    assert_eq!(frames(&server).len(), frames(&client).len());
    check_export(&server, "server");

    // Both in one file, as two connections: the same TCP connection seen from both ends, so
    // the same ports twice, which Wireshark notes.
    let both: Vec<CaptureLine> = client
        .iter()
        .cloned()
        .map(|l| l.with_conn(Some(2)))
        .chain(server.iter().cloned())
        .collect();
    let (_, summary) = check_export_allowing(&both, "both", "tcp.analysis.reused_ports");
    assert_eq!(summary.connections, 2);
}

fn client_port(lines: &[CaptureLine]) -> u16 {
    lines
        .iter()
        .find_map(|l| match &l.record {
            Record::TcpConnected { local, .. } => Some(local.port()),
            _ => None,
        })
        .expect("a tcp_connected line")
}

#[tokio::test]
async fn sessions_without_frames_still_make_valid_files() {
    // No line at all.
    let (file, summary) = export_to_file(&[], "empty");
    assert_eq!(summary, ExportSummary::default());
    assert_eq!(tshark(&["-r", file.0.to_str().unwrap()]).trim(), "");

    // A refused upgrade: a handshake, no frames.
    let (tap, mut rx) = tap::channel(64);
    let server = Server::bind("127.0.0.1:0", ServerOptions::default().with_tap(tap))
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    tokio::spawn(async move {
        let incoming = server.accept().await.unwrap();
        let _ = incoming
            .upgrade(|_| Decision::Reject {
                status: ws_tokio::ws_proto::http::StatusCode::FORBIDDEN,
                body: "not you".to_owned(),
            })
            .await;
    });
    let (ctap, mut crx) = tap::channel(64);
    let url = format!("ws://127.0.0.1:{}/", addr.port());
    assert!(
        connect(ConnectOptions::new(url).with_tap(ctap))
            .await
            .is_err()
    );
    let mut client = Vec::new();
    while let Ok(Some(event)) = timeout(Duration::from_secs(2), crx.recv()).await {
        client.extend(CaptureLine::from_tap(&event));
    }
    let mut server = Vec::new();
    while let Ok(Some(event)) = timeout(Duration::from_secs(2), rx.recv()).await {
        server.extend(CaptureLine::from_tap(&event));
    }
    assert!(frames(&client).is_empty() && frames(&server).is_empty());
    for (lines, name) in [(&client, "refused-client"), (&server, "refused-server")] {
        let (file, summary) = check_export(lines, name);
        assert_eq!((summary.connections, summary.frames), (1, 0));
        let codes = tshark(&[
            "-r",
            file.0.to_str().unwrap(),
            "-Y",
            "http.response",
            "-T",
            "fields",
            "-e",
            "http.response.code",
        ]);
        assert_eq!(codes.trim(), "403", "{name}");
    }

    // A connection refused: no TCP connection, no packets, and a file all the same.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let (ctap, mut crx) = tap::channel(64);
    let url = format!("ws://127.0.0.1:{port}/");
    assert!(
        connect(ConnectOptions::new(url).with_tap(ctap))
            .await
            .is_err()
    );
    let mut lines = vec![CaptureLine::header("pcapng test")];
    while let Ok(Some(event)) = timeout(Duration::from_secs(2), crx.recv()).await {
        lines.extend(CaptureLine::from_tap(&event));
    }
    assert!(
        lines
            .iter()
            .any(|l| matches!(l.record, Record::HandshakeFailed { .. }))
    );
    let (file, summary) = export_to_file(&lines, "refused-tcp");
    assert_eq!(summary, ExportSummary::default());
    assert_eq!(tshark(&["-r", file.0.to_str().unwrap()]).trim(), "");
}

/// A self-signed certificate for localhost and 127.0.0.1, and its key, as PEM.
fn self_signed() -> (String, String) {
    let mut params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

#[tokio::test]
async fn a_wss_session_exports_its_plaintext() {
    let (cert, key) = self_signed();
    let config = ws_tokio::tls::server_config(cert.as_bytes(), key.as_bytes(), None).unwrap();
    let (addr, mut server_rx) = echo_server(ServerOptions::default().with_tls(config)).await;
    let options = ConnectOptions::new(format!("wss://localhost:{}/secure", addr.port()))
        .with_tls(TlsOptions::default().with_extra_ca_pem(cert.into_bytes()));
    let client = session(options).await;
    let server = collect(&mut server_rx, Some(1)).await;
    assert!(
        client
            .iter()
            .any(|l| matches!(l.record, Record::TlsEstablished(_)))
    );
    assert_eq!(frames(&client).len(), 14);

    for (lines, name) in [(&client, "wss-client"), (&server, "wss-server")] {
        let (file, _) = check_export(lines, name);
        let notes = comments(&file.0);
        assert!(notes[0].contains(TLS_COMMENT), "{name}: {notes:?}");
    }
}

/// 1,000,000 small frames, alternately sent and received: the export's time (release:
/// at most 3 s) and that memory does not grow with it. `cargo test --release -p
/// ws-inspector-core --test pcapng -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement: run it in release"]
fn a_million_small_frames() {
    const N: usize = 1_000_000;
    let start = 1_796_128_631_000_000_000u64;
    let line = |n: usize, record: Record| CaptureLine {
        v: 1,
        time: String::new(),
        time_ns: start + n as u64 * 1000,
        elapsed_ns: n as u64 * 1000,
        conn: None,
        leg: None,
        record,
    };
    let mut lines = Vec::with_capacity(N + 3);
    lines.push(line(
        0,
        Record::TcpConnected {
            local: "127.0.0.1:50000".parse().unwrap(),
            peer: "127.0.0.1:9002".parse().unwrap(),
            proxy: None,
        },
    ));
    for n in 0..N {
        let incoming = n % 2 == 1;
        let payload = format!("message {n}").into_bytes();
        lines.push(line(
            n + 1,
            Record::Frame(FrameRecord {
                incoming,
                fin: true,
                rsv1: false,
                rsv2: false,
                rsv3: false,
                opcode: 1,
                mask: (!incoming).then_some((n as u32).to_be_bytes()),
                payload_len: payload.len() as u64,
                payload,
                decompressed_len: None,
                message: None,
            }),
        ));
    }
    let before = peak_rss_kib();
    let began = Instant::now();
    let mut counter = CountingSink(0);
    let summary = pcapng::export(&lines, &mut counter).unwrap();
    let took = began.elapsed();
    let after = peak_rss_kib();
    eprintln!(
        "{N} frames: {} packets, {} bytes of pcapng in {:.3} s; peak RSS {before} KiB before, \
         {after} KiB after",
        summary.packets,
        counter.0,
        took.as_secs_f64()
    );
    assert_eq!(summary.frames, N as u64);
    assert!(
        after.saturating_sub(before) < 16 * 1024,
        "memory grew by {} KiB",
        after - before
    );
    if !cfg!(debug_assertions) {
        assert!(took <= Duration::from_secs(3), "took {took:?}");
    }
}

/// Counts the bytes written.
struct CountingSink(u64);

impl std::io::Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The process's peak resident memory (VmHWM), KiB; 0 where /proc does not tell.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn other_addresses_none_and_the_real_port() {
    let (addr, _server_rx) = echo_server(ServerOptions::default()).await;
    let client = session(ConnectOptions::new(format!(
        "ws://127.0.0.1:{}/",
        addr.port()
    )))
    .await;
    let expected: Vec<Dissected> = frames(&client).into_iter().map(Dissected::of).collect();

    // IPv6: the same lines, as if between [::1]:50123 and [::1]:9002.
    let v6: Vec<CaptureLine> = client
        .iter()
        .cloned()
        .map(|mut line| {
            match &mut line.record {
                Record::TcpConnected { local, peer, .. } => {
                    *local = "[::1]:50123".parse().unwrap();
                    *peer = "[::1]:9002".parse().unwrap();
                }
                Record::Opened(opened) => {
                    opened.local = Some("[::1]:50123".parse().unwrap());
                    opened.peer = Some("[::1]:9002".parse().unwrap());
                }
                _ => {}
            }
            line
        })
        .collect();
    let (file, _) = check_export(&v6, "ipv6");
    let hosts = tshark(&[
        "-r",
        file.0.to_str().unwrap(),
        "-T",
        "fields",
        "-e",
        "ipv6.src",
        "-e",
        "tcp.srcport",
    ]);
    assert!(
        hosts.lines().all(|l| l == "::1\t50123" || l == "::1\t80"),
        "{hosts}"
    );
    assert!(comments(&file.0)[0].contains("server [::1]:9002"));

    // No addresses at all (a capture without tcp_connected): invented ones.
    let bare: Vec<CaptureLine> = client
        .iter()
        .filter(|l| !matches!(l.record, Record::TcpConnected { .. } | Record::Opened(_)))
        .cloned()
        .collect();
    let (file, _) = check_export(&bare, "invented");
    assert!(comments(&file.0)[0].contains("addresses invented (127.0.0.1:49152 and 127.0.0.1:80)"));

    // The real server port, on request: decoded as HTTP with `-d`.
    let file = Scratch::new("real-port");
    let options = pcapng::ExportOptions::default().with_real_server_port(true);
    pcapng::export_with(&client, std::fs::File::create(&file.0).unwrap(), &options).unwrap();
    let decode = format!("tcp.port=={},http", addr.port());
    assert_eq!(dissected_frames_with(&file.0, &["-d", &decode]), expected);
    assert_tcp_is_sound(&file.0, "frame.number == 0");
    let ports = tshark(&[
        "-r",
        file.0.to_str().unwrap(),
        "-Y",
        "tcp.flags.syn == 1 && tcp.flags.ack == 0",
        "-T",
        "fields",
        "-e",
        "tcp.dstport",
    ]);
    assert_eq!(ports.trim(), addr.port().to_string());
}
