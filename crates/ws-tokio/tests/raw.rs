//! `WsStream::from_raw` on both ends of a `tokio::io::duplex` pair, as if each end's opening
//! handshake had happened elsewhere: a client on one end, a server on the other, with and
//! without permessage-deflate; messages both ways, fragmented ones, a clean close; what the
//! handshake info records; the task-driven handles on a raw stream; the negotiated
//! extensions it refuses; and how much the read that begins a message takes.

use std::time::Duration;

mod support;

use support::RecordsReads;
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream};
use ws_tokio::tap::{self, TapKind};
use ws_tokio::ws_proto::http::{Request, Response, StatusCode};
use ws_tokio::ws_proto::{
    CloseCode, DeflateParams, Direction, MessageKind, Negotiated, OpCode, ReadyState, Role,
};
use ws_tokio::{Message, Outgoing, RawOptions, WsStream};

/// How long a test waits for any one thing.
const LIMIT: Duration = Duration::from_secs(30);

/// A client and a server on the two ends of one in-memory pipe, each built with `from_raw`
/// and the same `negotiated`.
fn pair(
    negotiated: Negotiated,
    client: RawOptions,
    server: RawOptions,
) -> (WsStream<DuplexStream>, WsStream<DuplexStream>) {
    let (a, b) = tokio::io::duplex(256 * 1024);
    let client = WsStream::from_raw(a, Role::Client, negotiated.clone(), client).unwrap();
    let server = WsStream::from_raw(b, Role::Server, negotiated, server).unwrap();
    (client, server)
}

/// The next message, within [`LIMIT`].
async fn next<S>(ws: &mut WsStream<S>) -> Message
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    tokio::time::timeout(LIMIT, ws.recv())
        .await
        .expect("timed out waiting for a message")
        .expect("the connection ended")
        .expect("the connection failed")
}

/// The end of a connection: `None`, within [`LIMIT`].
async fn ends<S>(ws: &mut WsStream<S>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let end = tokio::time::timeout(LIMIT, ws.recv()).await.unwrap();
    assert!(end.is_none(), "expected the end, got {end:?}");
}

fn text(message: Message) -> String {
    match message {
        Message::Text(text) => text.as_str().to_owned(),
        other => panic!("expected a text message, got {other:?}"),
    }
}

fn binary(message: Message) -> Vec<u8> {
    match message {
        Message::Binary(data) => data.to_vec(),
        other => panic!("expected a binary message, got {other:?}"),
    }
}

/// Text and binary both ways, a message fragmented each way, then the client closes with a
/// code and a reason, the server's reply echoes them, and both ends finish Closed.
async fn converse(mut client: WsStream<DuplexStream>, mut server: WsStream<DuplexStream>) {
    client.send_text("héllo from the client").await.unwrap();
    assert_eq!(text(next(&mut server).await), "héllo from the client");
    server.send_text("hello from the server").await.unwrap();
    assert_eq!(text(next(&mut client).await), "hello from the server");

    // Large and compressible, so that with permessage-deflate it shrinks a lot.
    let big: Vec<u8> = b"0123456789abcdef".repeat(4096);
    client.send_binary(big.clone()).await.unwrap();
    assert_eq!(binary(next(&mut server).await), big);
    server.send_binary(big.clone()).await.unwrap();
    assert_eq!(binary(next(&mut client).await), big);

    for (kind, data, fin) in [
        (MessageKind::Text, "frag", false),
        (MessageKind::Text, "men", false),
        (MessageKind::Text, "ted", true),
    ] {
        let data = data.as_bytes().to_vec().into();
        client
            .send(Outgoing::Fragment { kind, data, fin })
            .await
            .unwrap();
    }
    assert_eq!(text(next(&mut server).await), "fragmented");
    for (data, fin) in [(&[1u8, 2][..], false), (&[3u8][..], true)] {
        let fragment = Outgoing::Fragment {
            kind: MessageKind::Binary,
            data: data.to_vec().into(),
            fin,
        };
        server.send(fragment).await.unwrap();
    }
    assert_eq!(binary(next(&mut client).await), [1, 2, 3]);

    client
        .close(Some(CloseCode(4000)), "bye")
        .await
        .expect("the client's close frame");
    match next(&mut server).await {
        Message::Close(frame) => {
            assert_eq!(frame.code, Some(CloseCode(4000)));
            assert_eq!(frame.reason, "bye");
        }
        other => panic!("expected the client's close, got {other:?}"),
    }
    ends(&mut server).await;
    match next(&mut client).await {
        Message::Close(frame) => {
            assert_eq!(frame.code, Some(CloseCode(4000)));
            assert_eq!(frame.reason, "bye", "the close reply echoes the reason");
        }
        other => panic!("expected the server's close reply, got {other:?}"),
    }
    ends(&mut client).await;
    assert_eq!(client.state(), ReadyState::Closed);
    assert_eq!(server.state(), ReadyState::Closed);
    assert_eq!(server.connection().close_code(), Some(CloseCode(4000)));
}

#[tokio::test]
async fn duplex_pair_without_deflate() {
    let (client, server) = pair(Negotiated::default(), RawOptions::new(), RawOptions::new());
    assert_eq!(client.connection().role(), Role::Client);
    assert_eq!(server.connection().role(), Role::Server);
    assert_eq!(client.state(), ReadyState::Open);
    assert!(client.handshake().deflate.is_none());
    assert!(server.connection().deflate().is_none());
    converse(client, server).await;
}

#[tokio::test]
async fn duplex_pair_with_deflate() {
    let params = DeflateParams {
        server_no_context_takeover: true,
        client_max_window_bits: Some(10),
        ..DeflateParams::default()
    };
    let negotiated = Negotiated {
        protocol: None,
        extensions: vec![params.to_string()],
    };
    let (tap, mut reports) = tap::channel(1024);
    let (client, server) = pair(
        negotiated,
        RawOptions::new().with_tap(tap),
        RawOptions::new(),
    );
    assert_eq!(client.handshake().deflate, Some(params));
    assert_eq!(server.connection().deflate(), Some(&params));
    assert_eq!(client.handshake().extensions, [params.to_string()]);
    converse(client, server).await;

    // The client's 64 KiB binary message went out compressed (RSV1 set, far smaller).
    let mut compressed = None;
    while let Some(report) = reports.try_recv() {
        if let TapKind::Frame(frame) = report.kind
            && frame.direction == Direction::Outgoing
            && frame.header.opcode == OpCode::Binary
        {
            compressed = Some((frame.header.rsv1, frame.payload.len()));
            break;
        }
    }
    let (rsv1, wire_len) = compressed.expect("the tap reported the binary frame");
    assert!(rsv1, "the binary message was not compressed");
    assert!(
        wire_len < 4096,
        "64 KiB of repeats deflated to {wire_len} bytes"
    );
}

#[tokio::test]
async fn handshake_info_records_what_was_given() {
    let negotiated = Negotiated {
        protocol: Some("chat".to_owned()),
        extensions: Vec::new(),
    };
    let request = Request::builder()
        .uri("/chat")
        .header("host", "example.com")
        .body(())
        .unwrap();
    let response = Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header("sec-websocket-protocol", "chat")
        .header("x-served-by", "elsewhere")
        .body(())
        .unwrap();
    let local = "127.0.0.1:9002".parse().unwrap();
    let peer = "127.0.0.1:50000".parse().unwrap();
    let (client, server) = pair(
        negotiated,
        RawOptions::new(),
        RawOptions::new()
            .with_handshake(request, response)
            .with_addrs(local, peer),
    );
    let info = server.handshake();
    assert_eq!(info.protocol.as_deref(), Some("chat"));
    assert_eq!(server.connection().protocol(), Some("chat"));
    assert_eq!(info.request.uri(), "/chat");
    assert_eq!(info.response.headers()["x-served-by"], "elsewhere");
    assert_eq!((info.local_addr, info.peer_addr), (Some(local), Some(peer)));
    assert!(info.tls.is_none());

    // Without them, the response is a 101 that states what was agreed.
    let info = client.handshake();
    assert_eq!(info.response.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(info.response.headers()["sec-websocket-protocol"], "chat");
    assert!(info.local_addr.is_none());
}

#[tokio::test]
async fn raw_streams_into_driven_handles() {
    let (client, mut server) = pair(Negotiated::default(), RawOptions::new(), RawOptions::new());
    let (sender, mut receiver) = client.into_driven().split();
    sender.send_text("via the handles").await.unwrap();
    assert_eq!(text(next(&mut server).await), "via the handles");
    server.send_binary(vec![7u8; 3]).await.unwrap();
    let got = tokio::time::timeout(LIMIT, receiver.recv())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(binary(got), [7, 7, 7]);
    sender.close(Some(CloseCode::NORMAL), "done").await.unwrap();
    assert!(matches!(next(&mut server).await, Message::Close(_)));
    ends(&mut server).await;
}

#[tokio::test]
async fn refuses_extensions_it_cannot_run() {
    let refused = |extensions: &[&str]| {
        let negotiated = Negotiated {
            protocol: None,
            extensions: extensions.iter().map(|e| (*e).to_owned()).collect(),
        };
        let (a, _b) = tokio::io::duplex(1024);
        WsStream::from_raw(a, Role::Server, negotiated, RawOptions::new())
            .expect_err("from_raw accepted extensions it cannot run")
    };
    let unknown = refused(&["x-webkit-deflate-frame"]);
    assert!(unknown.is_config(), "{unknown:?}");
    assert!(
        unknown.to_string().contains("x-webkit-deflate-frame"),
        "{unknown}"
    );
    // An answer must give client_max_window_bits a value (RFC 7692 §7.1.2.2).
    let malformed = refused(&["permessage-deflate; client_max_window_bits"]);
    assert!(malformed.is_config(), "{malformed:?}");
    let twice = refused(&["permessage-deflate", "permessage-deflate"]);
    assert!(twice.to_string().contains("twice"), "{twice}");
}

/// Bytes a framework read past the handshake (the client's first frames came with its
/// request) are handed over with `RawOptions::with_buffered` and read before the stream's;
/// a fault in them fails the connection with its close code on the first `recv`.
#[tokio::test]
async fn bytes_read_past_the_handshake_are_read_first() {
    use tokio::io::AsyncReadExt;
    let (a, mut b) = tokio::io::duplex(64 * 1024);
    let mut client =
        WsStream::from_raw(a, Role::Client, Negotiated::default(), RawOptions::new()).unwrap();
    client.send_text("first").await.unwrap();
    client.send_text("second").await.unwrap();
    // The "framework" reads the two frames itself, before handing the stream over.
    let mut early = vec![0u8; 64];
    let n = b.read(&mut early).await.unwrap();
    early.truncate(n);
    assert_eq!(
        n,
        2 * (6 + 5) + 1,
        "both masked frames were read: {early:?}"
    );
    let options = RawOptions::new().with_buffered(early);
    let mut server = WsStream::from_raw(b, Role::Server, Negotiated::default(), options).unwrap();
    assert_eq!(text(next(&mut server).await), "first");
    assert_eq!(text(next(&mut server).await), "second");
    client.send_text("third").await.unwrap();
    assert_eq!(text(next(&mut server).await), "third");

    // An unmasked client frame among the bytes handed over: 1002 at once.
    let (a, b) = tokio::io::duplex(1024);
    let bad = RawOptions::new().with_buffered(vec![0x81, 0x02, b'h', b'i']);
    let mut server = WsStream::from_raw(b, Role::Server, Negotiated::default(), bad).unwrap();
    match tokio::time::timeout(LIMIT, server.recv()).await.unwrap() {
        Some(Err(e)) => assert_eq!(e.close_code(), Some(CloseCode::PROTOCOL_ERROR), "{e}"),
        other => panic!("expected the protocol error, got {other:?}"),
    }
    drop(a);
}

/// After 1 MiB messages have grown the input buffer, the read that begins the next message
/// still offers at most 16 KiB (the `read_room` module notes say why), and the message
/// arrives whole.
#[tokio::test]
async fn the_first_read_of_a_message_is_small_after_large_ones() {
    let (a, b) = tokio::io::duplex(4 << 20);
    let (io, reads) = RecordsReads::new(b);
    let rooms = || -> Vec<usize> { reads.lock().unwrap().iter().map(|r| r.room).collect() };
    let mut client =
        WsStream::from_raw(a, Role::Client, Negotiated::default(), RawOptions::new()).unwrap();
    let mut server =
        WsStream::from_raw(io, Role::Server, Negotiated::default(), RawOptions::new()).unwrap();
    let big = vec![7u8; 1 << 20];
    for _ in 0..3 {
        client.send_binary(big.clone()).await.unwrap();
        assert_eq!(binary(next(&mut server).await).len(), big.len());
    }
    let largest_before = rooms().into_iter().max().unwrap_or(0);
    assert!(largest_before > 512 * 1024, "the input buffer did not grow");

    reads.lock().unwrap().clear();
    client.send_binary(big.clone()).await.unwrap();
    assert_eq!(binary(next(&mut server).await), big);
    let rooms = rooms();
    assert!(
        rooms.first().is_some_and(|&room| room <= 16 * 1024),
        "the message began with a read of {rooms:?}"
    );
}
