//! The transport against real sockets on loopback: wss with certificates made at run time by
//! rcgen (nothing secret is committed), an HTTP CONNECT proxy started by the test, and the
//! timeouts for a silent server and for a peer that never answers a close.
//!
//! The timeout tests run on a paused clock (`start_paused`): each waits for an explicit
//! signal that the path under test is reached (the peer has our request, or our close
//! frame; the read half waits), then lets the clock jump, and checks that the timeout fired
//! at exactly its virtual duration. While loopback I/O is under way a
//! [`ClockHold`](support::ClockHold) keeps the clock from jumping ahead of the kernel.

mod support;

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use support::LIMIT;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::time::Instant;
use ws_tokio::tls::{self, ClientCertificate};
use ws_tokio::ws_proto::{CloseCode, Negotiated, Role, handshake};
use ws_tokio::{
    ConnectOptions, Message, Proxy, RawOptions, Server, ServerOptions, Stage, TlsOptions, WsStream,
    connect,
};

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// A certificate for `names` signed by `ca`: (certificate PEM, key PEM).
fn leaf(ca: &CertifiedIssuer<'static, KeyPair>, names: &[&str]) -> (String, String) {
    let mut params =
        CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, names[0]);
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, ca).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// The `echo_server` example on 127.0.0.1 with the given TLS config (None: plain ws).
async fn echo_server(tls: Option<Arc<rustls::ServerConfig>>) -> std::net::SocketAddr {
    let mut options = ServerOptions::default();
    options.tls = tls;
    support::echo_server(options).await
}

#[tokio::test]
async fn wss_trusted_through_an_extra_ca() {
    let ca = ca("ws-tokio test CA");
    let (cert, key) = leaf(&ca, &["localhost", "127.0.0.1"]);
    let server_tls = tls::server_config(cert.as_bytes(), key.as_bytes(), None).unwrap();
    let addr = echo_server(Some(server_tls)).await;

    let mut options = ConnectOptions::new(format!("wss://localhost:{}/", addr.port()));
    options.tls.extra_ca_pem = vec![ca.pem().into_bytes()];
    let ws = connect(options).await.unwrap();
    let info = ws.handshake().tls.clone().expect("TLS details");
    assert_eq!(info.version, "TLSv1.3");
    assert_eq!(info.alpn.as_deref(), Some("http/1.1"));
    assert!(
        info.peer_certificates[0].subject.contains("localhost"),
        "{info:?}"
    );
    assert!(
        info.peer_certificates[0]
            .issuer
            .contains("ws-tokio test CA"),
        "{info:?}"
    );
    let (sender, mut receiver) = ws.into_driven().split();
    sender.send_text("over tls").await.unwrap();
    match tokio::time::timeout(LIMIT, receiver.recv()).await.unwrap() {
        Some(Ok(Message::Text(t))) => assert_eq!(t.as_str(), "over tls"),
        other => panic!("expected the echo, got {other:?}"),
    }
}

#[tokio::test]
async fn wss_wrong_name_is_refused_unless_explicitly_accepted() {
    let ca = ca("ws-tokio test CA");
    let (cert, key) = leaf(&ca, &["other.example"]);
    let server_tls = tls::server_config(cert.as_bytes(), key.as_bytes(), None).unwrap();
    let addr = echo_server(Some(server_tls)).await;
    let url = format!("wss://localhost:{}/", addr.port());

    let mut options = ConnectOptions::new(url.clone());
    options.tls.extra_ca_pem = vec![ca.pem().into_bytes()];
    let err = connect(options).await.unwrap_err();
    assert!(err.is_tls(), "{err}");
    assert!(err.to_string().contains("name"), "{err}");

    let mut options = ConnectOptions::new(url);
    options.tls = TlsOptions::default().with_accept_invalid_certificates(true);
    let ws = connect(options)
        .await
        .expect("the explicit switch accepts it");
    let (sender, mut receiver) = ws.into_driven().split();
    sender.send_text("insecure").await.unwrap();
    assert!(matches!(
        tokio::time::timeout(LIMIT, receiver.recv()).await.unwrap(),
        Some(Ok(Message::Text(_)))
    ));
}

#[tokio::test]
async fn wss_client_certificate_required_by_the_server() {
    let ca = ca("ws-tokio test CA");
    let (cert, key) = leaf(&ca, &["localhost"]);
    let ca_pem = ca.pem();
    let server_tls =
        tls::server_config(cert.as_bytes(), key.as_bytes(), Some(ca_pem.as_bytes())).unwrap();
    let addr = echo_server(Some(server_tls)).await;
    let url = format!("wss://localhost:{}/", addr.port());

    let mut options = ConnectOptions::new(url.clone());
    options.tls.extra_ca_pem = vec![ca_pem.clone().into_bytes()];
    let err = connect(options).await.unwrap_err();
    assert!(err.is_tls(), "without a client certificate: {err}");

    let (client_cert, client_key) = leaf(&ca, &["client.example"]);
    let mut options = ConnectOptions::new(url);
    options.tls.extra_ca_pem = vec![ca_pem.into_bytes()];
    options.tls.client_certificate = Some(ClientCertificate {
        cert_chain_pem: client_cert.into_bytes(),
        key_pem: client_key.into_bytes(),
    });
    let ws = connect(options).await.expect("with a client certificate");
    let (sender, mut receiver) = ws.into_driven().split();
    sender.send_text("mutual").await.unwrap();
    assert!(matches!(
        tokio::time::timeout(LIMIT, receiver.recv()).await.unwrap(),
        Some(Ok(Message::Text(_)))
    ));
}

/// A minimal HTTP CONNECT proxy on loopback that records the request lines it saw.
async fn connect_proxy() -> (std::net::SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if client.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let line = head.lines().next().unwrap_or("").to_owned();
                log.lock().unwrap().push(head.clone());
                let target = line.split_whitespace().nth(1).unwrap_or("").to_owned();
                let Ok(mut upstream) = TcpStream::connect(target).await else {
                    let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
                    return;
                };
                client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (addr, seen)
}

#[tokio::test]
async fn through_an_http_connect_proxy() {
    let target = echo_server(None).await;
    let (proxy, seen) = connect_proxy().await;
    let mut options = ConnectOptions::new(format!("ws://{target}/via-proxy"));
    options.proxy = Proxy::Url(format!("http://user:secret@{proxy}"));
    let ws = connect(options).await.unwrap();
    assert_eq!(
        ws.handshake().peer_addr,
        Some(proxy),
        "TCP goes to the proxy"
    );
    let (sender, mut receiver) = ws.into_driven().split();
    sender.send_text("tunnelled").await.unwrap();
    match tokio::time::timeout(LIMIT, receiver.recv()).await.unwrap() {
        Some(Ok(Message::Text(t))) => assert_eq!(t.as_str(), "tunnelled"),
        other => panic!("expected the echo, got {other:?}"),
    }
    let heads = seen.lock().unwrap().clone();
    assert_eq!(heads.len(), 1);
    assert!(
        heads[0].starts_with(&format!("CONNECT {target} HTTP/1.1\r\n")),
        "{}",
        heads[0]
    );
    // user:secret in base64.
    assert!(
        heads[0].contains("Proxy-Authorization: Basic dXNlcjpzZWNyZXQ="),
        "{}",
        heads[0]
    );
}

/// Reads an upgrade request's head from `tcp` (what a server does before it answers).
async fn read_head(tcp: &mut TcpStream) -> String {
    let mut buf = vec![0u8; 4096];
    let mut head = Vec::new();
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tcp.read(&mut buf).await.unwrap();
        assert!(
            n > 0,
            "the client went away before its request was complete"
        );
        head.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// Accepts one client on `listener`, answers its upgrade with a 101, then reads and ignores
/// everything: a close is never answered. `close_seen` is told when the client's close frame
/// arrives (after the 101 the client sends nothing else, so a read that starts with 0x88 is
/// it).
async fn upgrade_then_ignore(listener: TcpListener, close_seen: oneshot::Sender<()>) {
    let (mut tcp, _) = listener.accept().await.unwrap();
    let text = read_head(&mut tcp).await;
    let key = text
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .unwrap()
        .trim()
        .to_owned();
    let answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        handshake::accept_key(key.as_bytes())
    );
    tcp.write_all(answer.as_bytes()).await.unwrap();
    let mut close_seen = Some(close_seen);
    let mut buf = vec![0u8; 4096];
    loop {
        match tcp.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) if buf[0] == 0x88 => {
                if let Some(seen) = close_seen.take() {
                    let _ = seen.send(());
                }
            }
            Ok(_) => {}
        }
    }
}

/// The handshake timeout on a paused clock: the request reaches a server that never
/// answers (the server says when it has it), and the timeout fires at exactly its 300 ms of
/// virtual time — no wall-clock window that a slow machine could miss, and no pass without
/// the request sent and the answer awaited.
#[tokio::test(start_paused = true)]
async fn a_silent_server_fails_the_handshake_within_the_timeout() {
    let hold = support::ClockHold::new();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (request_read, request_seen) = oneshot::channel();
    tokio::spawn(async move {
        // Accept TCP, read the request, answer nothing.
        let (mut tcp, _) = listener.accept().await.unwrap();
        read_head(&mut tcp).await;
        let _ = request_read.send(());
        let mut buf = vec![0u8; 4096];
        while tcp.read(&mut buf).await.unwrap_or(0) > 0 {}
    });
    let mut options = ConnectOptions::new(format!("ws://{addr}/"));
    options.timeouts.handshake = Duration::from_millis(300);
    let start = Instant::now();
    let connecting = tokio::spawn(connect(options));
    tokio::time::timeout(LIMIT, request_seen)
        .await
        .unwrap()
        .unwrap();
    hold.release().await;
    let err = tokio::time::timeout(LIMIT, connecting)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert_eq!(err.timeout_stage(), Some(Stage::Handshake));
    assert_eq!(start.elapsed(), Duration::from_millis(300));
}

/// The close timeout of the task-driven handles on a paused clock: our close frame reaches
/// a peer that never answers (it says when it has it), and the connection is dropped at
/// exactly 300 ms of virtual time.
#[tokio::test(start_paused = true)]
async fn a_peer_that_never_answers_a_close_is_dropped_after_the_close_timeout() {
    let hold = support::ClockHold::new();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (close_read, close_seen) = oneshot::channel();
    tokio::spawn(upgrade_then_ignore(listener, close_read));
    let mut options = ConnectOptions::new(format!("ws://{addr}/"));
    options.timeouts.close = Duration::from_millis(300);
    let (sender, mut receiver) = connect(options).await.unwrap().into_driven().split();
    let start = Instant::now();
    sender
        .close(Some(CloseCode::NORMAL), "hello?")
        .await
        .unwrap();
    tokio::time::timeout(LIMIT, close_seen)
        .await
        .unwrap()
        .unwrap();
    hold.release().await;
    match tokio::time::timeout(LIMIT, receiver.recv()).await.unwrap() {
        Some(Err(e)) => {
            assert!(e.is_timeout(), "{e}");
            assert_eq!(e.timeout_stage(), Some(Stage::Close));
        }
        other => panic!("expected a close timeout, got {other:?}"),
    }
    assert_eq!(start.elapsed(), Duration::from_millis(300));
    assert!(
        tokio::time::timeout(LIMIT, receiver.recv())
            .await
            .unwrap()
            .is_none()
    );
}

/// A server task that alternates `recv` and `send` on a tiny channel must not deadlock: while
/// the driver waits for room in the message channel it keeps carrying out `send` commands.
/// The echo task pauses after the first message until the server's tap has reported a third
/// frame: the driver then holds the second message in the one-slot channel and the third in
/// its outbox (it parses no further while a message waits), which is the state under test —
/// reached by an explicit signal, not by a sleep that may be too short on a slow machine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_echo_task_alternating_recv_and_send_does_not_deadlock() {
    let (tap, mut reports) = ws_tokio::tap::channel(1024);
    let options = ServerOptions::default()
        .with_channel_capacity(1)
        .with_tap(tap);
    let server = Server::bind("127.0.0.1:0", options).await.unwrap();
    let addr = server.local_addr().unwrap();
    let (parsed_tx, parsed) = tokio::sync::watch::channel(0usize);
    tokio::spawn(async move {
        let mut incoming = 0;
        while let Some(report) = reports.recv().await {
            if let ws_tokio::tap::TapKind::Frame(frame) = report.kind
                && frame.direction == ws_tokio::ws_proto::Direction::Incoming
            {
                incoming += 1;
                let _ = parsed_tx.send(incoming);
            }
        }
    });
    tokio::spawn(async move {
        let (sender, mut receiver) = support::accept_one(&server).await.split();
        let mut first = true;
        let mut parsed = parsed;
        while let Some(Ok(Message::Binary(data))) = receiver.recv().await {
            if first {
                first = false;
                let _ = parsed.wait_for(|n| *n >= 3).await;
            }
            if sender.send_binary(data).await.is_err() {
                break;
            }
        }
    });
    const N: usize = 10;
    let (sender, mut receiver) = connect(ConnectOptions::new(format!("ws://{addr}/")))
        .await
        .unwrap()
        .into_driven()
        .split();
    for i in 0..N {
        sender
            .send_binary((i as u32).to_be_bytes().to_vec())
            .await
            .unwrap();
    }
    for i in 0..N {
        match tokio::time::timeout(LIMIT, receiver.recv()).await {
            Ok(Some(Ok(Message::Binary(b)))) => assert_eq!(&b[..], (i as u32).to_be_bytes()),
            Ok(other) => panic!("echo {i}: {other:?}"),
            Err(_) => panic!("echo {i} never came: the server's driver and echo task deadlocked"),
        }
    }
}

/// Issue 12, item 6: a send after our close frame is the caller's mistake, and says so — a
/// usage error the caller can match, not "invalid options".
#[tokio::test]
async fn a_send_after_our_close_is_a_usage_error() {
    let addr = echo_server(None).await;
    let mut ws = connect(ConnectOptions::new(format!("ws://{addr}/")))
        .await
        .unwrap();
    ws.close(Some(CloseCode::NORMAL), "done").await.unwrap();
    let err = ws.send_text("too late").await.unwrap_err();
    assert!(err.is_usage(), "{err:?}");
    assert!(!err.is_config(), "{err:?}");
    assert!(
        matches!(
            err.usage_error(),
            Some(ws_tokio::ws_proto::UsageError::InvalidState(_))
        ),
        "{err:?}"
    );
    assert!(err.to_string().starts_with("not allowed"), "{err}");
    // The close still completes, with our reason echoed.
    match tokio::time::timeout(LIMIT, ws.recv()).await.unwrap() {
        Some(Ok(Message::Close(frame))) => assert_eq!(frame.reason.as_str(), "done"),
        other => panic!("expected the close echo, got {other:?}"),
    }
}

/// A server whose 101 and a bad frame (masked) arrive in one write: the handshake
/// succeeded, so `connect` returns the connection; the connection then sends close 1002 and
/// its first `recv` returns the protocol error (it used to fail the handshake and send
/// nothing). Checked for the stream, its halves and the driven handles.
#[tokio::test]
async fn a_fault_in_frames_that_came_with_the_101_fails_the_open_connection() {
    for way in ["stream", "split", "driven"] {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut tcp, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let mut head = Vec::new();
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = tcp.read(&mut buf).await.unwrap();
                head.extend_from_slice(&buf[..n]);
            }
            let text = String::from_utf8_lossy(&head).into_owned();
            let key = text
                .lines()
                .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
                .unwrap()
                .trim()
                .to_owned();
            let mut answer = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Accept: {}\r\n\r\n",
                handshake::accept_key(key.as_bytes())
            )
            .into_bytes();
            // A masked text frame "hi": servers must not mask.
            answer.extend_from_slice(&[0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2]);
            tcp.write_all(&answer).await.unwrap();
            // The client's close frame: 0x88, masked, code 1002 in the first two bytes.
            let mut frame = [0u8; 8];
            tcp.read_exact(&mut frame).await.unwrap();
            let code = u16::from_be_bytes([frame[6] ^ frame[2], frame[7] ^ frame[3]]);
            (frame[0], code)
        });
        let mut options = ConnectOptions::new(format!("ws://{addr}/"));
        options.timeouts.close = Duration::from_millis(300);
        let ws = connect(options)
            .await
            .expect("the handshake itself succeeded");
        let first = match way {
            "stream" => {
                let mut ws = ws;
                tokio::time::timeout(LIMIT, ws.recv()).await.unwrap()
            }
            "split" => {
                let (mut read, _write) = ws.into_split();
                tokio::time::timeout(LIMIT, read.recv()).await.unwrap()
            }
            _ => {
                let (_sender, mut receiver) = ws.into_driven().split();
                tokio::time::timeout(LIMIT, receiver.recv()).await.unwrap()
            }
        };
        match first {
            Some(Err(e)) => {
                assert!(e.is_protocol(), "{way}: {e}");
                assert_eq!(e.close_code(), Some(CloseCode::PROTOCOL_ERROR), "{way}");
            }
            other => panic!("{way}: expected the protocol error, got {other:?}"),
        }
        let (opcode, code) = tokio::time::timeout(LIMIT, server).await.unwrap().unwrap();
        assert_eq!((opcode, code), (0x88, 1002), "{way}");
    }
}

/// A stream that says when a read first finds nothing to read: its reader is waiting.
struct SaysWhenWaiting<S> {
    inner: S,
    waiting: Option<oneshot::Sender<()>>,
}

impl<S: AsyncRead + Unpin> AsyncRead for SaysWhenWaiting<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if polled.is_pending()
            && let Some(waiting) = self.waiting.take()
        {
            let _ = waiting.send(());
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for SaysWhenWaiting<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The split halves: a read half already waiting for data when the write half sends its
/// close must still start the close timeout (it used to wait for the peer's next bytes).
/// In memory on a paused clock: the read half says when it waits (no sleep to let it start
/// first), the peer reads and ignores everything, and the timeout fires at exactly 300 ms of
/// virtual time. Without the fix the read half would wait for bytes that never come, the
/// clock would jump to [`LIMIT`] and the test would fail.
#[tokio::test(start_paused = true)]
async fn a_waiting_read_half_starts_the_close_timeout_when_the_write_half_closes() {
    let (ours, mut peer) = tokio::io::duplex(64 * 1024);
    let peer = tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        while peer.read(&mut buf).await.unwrap_or(0) > 0 {}
    });
    let (waiting, read_waits) = oneshot::channel();
    let stream = SaysWhenWaiting {
        inner: ours,
        waiting: Some(waiting),
    };
    let options = RawOptions::new().with_close_timeout(Duration::from_millis(300));
    let (mut read, mut write) =
        WsStream::from_raw(stream, Role::Client, Negotiated::default(), options)
            .unwrap()
            .into_split();
    let reader = tokio::spawn(async move { read.recv().await });
    tokio::time::timeout(LIMIT, read_waits)
        .await
        .unwrap()
        .unwrap();
    let start = Instant::now();
    write
        .close(Some(CloseCode::NORMAL), "hello?")
        .await
        .unwrap();
    match tokio::time::timeout(LIMIT, reader).await.unwrap().unwrap() {
        Some(Err(e)) => assert_eq!(e.timeout_stage(), Some(Stage::Close), "{e}"),
        other => panic!("expected a close timeout, got {other:?}"),
    }
    assert_eq!(start.elapsed(), Duration::from_millis(300));
    peer.abort();
}
