//! The `axum_echo` example — axum, with the hyper upgrade helper — served in-process, against
//! tokio-tungstenite's client (a peer nobody here wrote): text, binary, a 16 MiB message, a
//! fragmented message with a ping inside, the close with its code and reason echoed, on any
//! path; our own client with permessage-deflate; the helper's answers to requests that are not
//! valid upgrades; `upgrade_with` choosing a subprotocol or refusing; and a tap's reports.
#![cfg(feature = "hyper")]

#[allow(dead_code)]
#[path = "../examples/axum_echo.rs"]
mod axum_echo;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message as TMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{
    CloseCode as TCloseCode, Data, OpCode as TOpCode,
};
use tokio_tungstenite::tungstenite::protocol::frame::{CloseFrame as TCloseFrame, Frame as TFrame};
use ws_tokio::tap::TapKind;
use ws_tokio::ws_proto::http::StatusCode;
use ws_tokio::ws_proto::{DeflateConfig, ReadyState, UpgradeRequest};
use ws_tokio::{ConnectOptions, Decision, Message, ServerOptions, connect};

/// How long a test waits for any one thing.
const LIMIT: Duration = Duration::from_secs(30);

/// The example's server on a free loopback port, with `options`.
async fn axum_echo(options: ServerOptions) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(axum_echo::serve(listener, options));
    addr
}

/// Serves `router` on a free loopback port.
async fn serve(router: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

/// The next message from tokio-tungstenite, within [`LIMIT`].
async fn next<S>(ws: &mut tokio_tungstenite::WebSocketStream<S>) -> TMessage
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    tokio::time::timeout(LIMIT, ws.next())
        .await
        .expect("timed out waiting for a message")
        .expect("the connection ended")
        .expect("the connection failed")
}

/// Sends `head` (a request head, `Connection: close`) over plain TCP and returns the status
/// and the whole answer.
async fn http_exchange(addr: SocketAddr, head: &str) -> (u16, String) {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(LIMIT, tcp.read_to_end(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8(answer).unwrap();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"));
    (status, answer)
}

#[tokio::test]
async fn tungstenite_text_and_binary_echoed_on_any_path() {
    let addr = axum_echo(axum_echo::options(true)).await;
    for path in ["/", "/chat", "/a/deeper/path?with=query"] {
        let url = format!("ws://{addr}{path}");
        let (mut ws, response) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
        ws.send(TMessage::text("héllo")).await.unwrap();
        assert_eq!(next(&mut ws).await, TMessage::text("héllo"));
        ws.send(TMessage::binary(vec![0u8, 1, 2, 255]))
            .await
            .unwrap();
        assert_eq!(next(&mut ws).await, TMessage::binary(vec![0u8, 1, 2, 255]));
        ws.send(TMessage::text("")).await.unwrap();
        assert_eq!(next(&mut ws).await, TMessage::text(""));
        ws.close(None).await.unwrap();
    }
}

#[tokio::test]
async fn tungstenite_16_mib_echoed() {
    let mut options = axum_echo::options(true);
    options.config.max_message_size = 32 << 20;
    options.config.max_frame_size = 32 << 20;
    let addr = axum_echo(options).await;
    let config = WebSocketConfig::default()
        .max_message_size(Some(32 << 20))
        .max_frame_size(Some(32 << 20));
    let url = format!("ws://{addr}/big");
    let (mut ws, _) =
        tokio_tungstenite::connect_async_with_config(url.as_str(), Some(config), true)
            .await
            .unwrap();
    let big: Vec<u8> = (0..16u32 << 20).map(|i| (i % 251) as u8).collect();
    ws.send(TMessage::binary(big.clone())).await.unwrap();
    match next(&mut ws).await {
        TMessage::Binary(echoed) => assert!(echoed == big, "the 16 MiB echo differs"),
        other => panic!("expected the 16 MiB echo, got {other:?}"),
    }
    ws.close(None).await.unwrap();
}

#[tokio::test]
async fn tungstenite_fragmented_message_echoed() {
    let addr = axum_echo(axum_echo::options(true)).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/frag").as_str())
        .await
        .unwrap();
    // A text message in three frames, a ping between the second and third.
    let frames = [
        TFrame::message("frag".as_bytes().to_vec(), TOpCode::Data(Data::Text), false),
        TFrame::message(
            "men".as_bytes().to_vec(),
            TOpCode::Data(Data::Continue),
            false,
        ),
    ];
    for frame in frames {
        ws.send(TMessage::Frame(frame)).await.unwrap();
    }
    ws.send(TMessage::Ping(vec![9u8].into())).await.unwrap();
    let last = TFrame::message(
        "ted".as_bytes().to_vec(),
        TOpCode::Data(Data::Continue),
        true,
    );
    ws.send(TMessage::Frame(last)).await.unwrap();
    assert_eq!(next(&mut ws).await, TMessage::Pong(vec![9u8].into()));
    assert_eq!(next(&mut ws).await, TMessage::text("fragmented"));
    ws.close(None).await.unwrap();
}

#[tokio::test]
async fn tungstenite_close_code_and_reason_echoed() {
    let addr = axum_echo(axum_echo::options(true)).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/").as_str())
        .await
        .unwrap();
    ws.send(TMessage::text("before closing")).await.unwrap();
    assert_eq!(next(&mut ws).await, TMessage::text("before closing"));
    ws.close(Some(TCloseFrame {
        code: TCloseCode::from(4000),
        reason: "bye".into(),
    }))
    .await
    .unwrap();
    match next(&mut ws).await {
        TMessage::Close(Some(frame)) => {
            assert_eq!(u16::from(frame.code), 4000);
            assert_eq!(frame.reason.as_str(), "bye");
        }
        other => panic!("expected the echoed close, got {other:?}"),
    }
    // The server closes TCP after the close handshake: the stream ends.
    let end = tokio::time::timeout(LIMIT, ws.next()).await.unwrap();
    assert!(end.is_none(), "expected the end, got {end:?}");
}

#[tokio::test]
async fn our_client_with_deflate_through_axum() {
    let addr = axum_echo(axum_echo::options(true)).await;
    let mut options = ConnectOptions::new(format!("ws://{addr}/deflate"));
    options.config.deflate = Some(DeflateConfig::default());
    let mut ws = connect(options).await.unwrap();
    assert!(
        ws.handshake().deflate.is_some(),
        "permessage-deflate not agreed"
    );
    let text = "compressible ".repeat(1000);
    ws.send_text(text.as_str()).await.unwrap();
    match tokio::time::timeout(LIMIT, ws.recv()).await.unwrap() {
        Some(Ok(Message::Text(echoed))) => assert_eq!(echoed.as_str(), text),
        other => panic!("expected the echo, got {other:?}"),
    }
    ws.close(None, "").await.unwrap();
    while let Some(message) = tokio::time::timeout(LIMIT, ws.recv()).await.unwrap() {
        assert!(matches!(message, Ok(Message::Close(_))), "{message:?}");
    }

    // Declined when the server's options say so.
    let addr = axum_echo(axum_echo::options(false)).await;
    let mut options = ConnectOptions::new(format!("ws://{addr}/"));
    options.config.deflate = Some(DeflateConfig::default());
    let ws = connect(options).await.unwrap();
    assert!(ws.handshake().deflate.is_none());
}

#[tokio::test]
async fn requests_that_are_not_upgrades_are_answered_with_the_reason() {
    let addr = axum_echo(axum_echo::options(true)).await;
    let (status, answer) = http_exchange(
        addr,
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("Upgrade header"), "{answer}");

    let (status, answer) = http_exchange(
        addr,
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, close\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    )
    .await;
    assert_eq!(status, 426, "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("sec-websocket-version: 13"),
        "{answer}"
    );

    let (status, answer) = http_exchange(
        addr,
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 405, "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("allow: get"),
        "{answer}"
    );
}

/// `upgrade_with`: "chat" is chosen among the client's subprotocols; a client that offers
/// none is refused with 403.
async fn chat_only(mut request: Request) -> Response {
    let decide = |request: &UpgradeRequest| {
        if request.protocols.iter().any(|p| p == "chat") {
            Decision::accept_protocol(request, &["chat"])
        } else {
            Decision::Reject {
                status: StatusCode::FORBIDDEN,
                body: "chat only".to_owned(),
            }
        }
    };
    match ws_tokio::upgrade::upgrade_with(&mut request, &ServerOptions::default(), decide) {
        Ok((response, upgraded)) => {
            tokio::spawn(async move {
                let ws = upgraded.await.unwrap();
                assert_eq!(ws.handshake().protocol.as_deref(), Some("chat"));
                axum_echo::echo(ws).await;
            });
            response.map(Body::new)
        }
        Err(refused) => {
            assert!(refused.error().is_handshake(), "{refused}");
            refused.into_response().map(Body::new)
        }
    }
}

#[tokio::test]
async fn upgrade_with_chooses_a_subprotocol_or_refuses() {
    let addr = serve(Router::new().fallback(chat_only)).await;
    let mut request = format!("ws://{addr}/").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "superchat, chat".parse().unwrap());
    let (mut ws, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.headers()["sec-websocket-protocol"], "chat");
    ws.send(TMessage::text("in chat")).await.unwrap();
    assert_eq!(next(&mut ws).await, TMessage::text("in chat"));
    ws.close(None).await.unwrap();

    let refused = tokio_tungstenite::connect_async(format!("ws://{addr}/").as_str()).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), StatusCode::FORBIDDEN);
            assert_eq!(response.body().as_deref(), Some(&b"chat only"[..]));
        }
        other => panic!("expected a 403, got {other:?}"),
    }
}

#[tokio::test]
async fn a_tap_sees_the_upgrade_then_the_frames() {
    let (tap, mut reports) = ws_tokio::tap::channel(256);
    let mut options = axum_echo::options(false);
    options.tap = Some(tap);
    let addr = axum_echo(options).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/tapped").as_str())
        .await
        .unwrap();
    ws.send(TMessage::text("seen")).await.unwrap();
    assert_eq!(next(&mut ws).await, TMessage::text("seen"));
    let mut kinds = Vec::new();
    while kinds.len() < 5 {
        let report = tokio::time::timeout(LIMIT, reports.recv())
            .await
            .unwrap()
            .unwrap();
        kinds.push(report.kind);
    }
    match &kinds[0] {
        TapKind::RequestReceived { request, raw } => {
            assert_eq!(request.uri(), "/tapped");
            assert!(raw.starts_with(b"GET /tapped HTTP/1.1\r\n"), "{raw:?}");
        }
        other => panic!("expected the request first, got {other:?}"),
    }
    match &kinds[1] {
        TapKind::ResponseSent { raw } => {
            assert!(raw.starts_with(b"HTTP/1.1 101"), "{raw:?}");
        }
        other => panic!("expected the response second, got {other:?}"),
    }
    match &kinds[2] {
        TapKind::Opened(info) => assert_eq!(info.response.status().as_u16(), 101),
        other => panic!("expected what the handshake settled third, got {other:?}"),
    }
    assert!(
        matches!(kinds[3], TapKind::State(ReadyState::Open)),
        "{kinds:?}"
    );
    match &kinds[4] {
        TapKind::Frame(frame) => assert_eq!(&frame.payload[..], b"seen"),
        other => panic!("expected the text frame, got {other:?}"),
    }
    ws.close(None).await.unwrap();
}

#[test]
fn the_helper_on_requests_hyper_did_not_make() {
    let request = |upgrade: bool| {
        let builder = axum::http::Request::builder()
            .uri("/")
            .header("host", "example.com");
        let builder = if upgrade {
            builder
                .header("connection", "keep-alive, Upgrade")
                .header("upgrade", "WebSocket")
                .header("sec-websocket-version", "13")
                .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        } else {
            builder
        };
        builder.body(()).unwrap()
    };
    assert!(ws_tokio::upgrade::is_upgrade_request(&request(true)));
    assert!(!ws_tokio::upgrade::is_upgrade_request(&request(false)));

    // A valid upgrade that hyper offers no way to hand over: refused with 500, not a 101
    // whose future could only fail.
    let refused = ws_tokio::upgrade::upgrade(&mut request(true), &ServerOptions::default())
        .expect_err("upgraded without hyper");
    assert_eq!(refused.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(refused.error().is_config(), "{refused}");
    let refused = ws_tokio::upgrade::upgrade(&mut request(false), &ServerOptions::default())
        .expect_err("upgraded a plain GET");
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(refused.error().is_handshake(), "{refused}");
    assert!(refused.to_string().contains("Upgrade header"), "{refused}");
}
