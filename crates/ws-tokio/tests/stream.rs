//! `WsStream`, the connection its owner drives, against tokio-tungstenite (a peer nobody here
//! wrote): messages both ways (one large enough to need many reads), pings answered inside
//! `recv`, the close handshake from either side, a protocol fault closing with its code, the
//! tap's reports, and handing a stream over to the task-driven handles mid-connection.

mod support;

use futures_util::{SinkExt, StreamExt};
use support::{LIMIT, next_message};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message as TMessage;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame as TCloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as TCloseCode;
use ws_tokio::tap::{self, Initiator, TapKind};
use ws_tokio::ws_proto::{CloseCode, Direction, ReadyState};
use ws_tokio::{
    ConnectOptions, Decision, MaybeTlsStream, Message, Server, ServerOptions, WsStream, connect,
};

/// The next message from a `WsStream`, within [`LIMIT`].
async fn next<S>(ws: &mut WsStream<S>) -> Message
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    tokio::time::timeout(LIMIT, ws.recv())
        .await
        .expect("timed out waiting for a message")
        .expect("the connection ended")
        .expect("the connection failed")
}

/// The end of a `WsStream`: `None`, within [`LIMIT`].
async fn ends<S>(ws: &mut WsStream<S>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let end = tokio::time::timeout(LIMIT, ws.recv()).await.unwrap();
    assert!(end.is_none(), "expected the end, got {end:?}");
}

/// A tokio-tungstenite server that runs `script` on its one connection.
async fn tungstenite_server<F, Fut>(script: F) -> String
where
    F: FnOnce(tokio_tungstenite::WebSocketStream<TcpStream>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        script(tokio_tungstenite::accept_async(tcp).await.unwrap()).await;
    });
    format!("ws://{addr}/")
}

/// Our server on a free port, upgrading one connection to a `WsStream`.
async fn our_server(
    options: ServerOptions,
) -> (String, tokio::task::JoinHandle<WsStream<MaybeTlsStream>>) {
    let server = Server::bind("127.0.0.1:0", options).await.unwrap();
    let url = format!("ws://{}/", server.local_addr().unwrap());
    let accepted = tokio::spawn(async move {
        let incoming = server.accept().await.unwrap();
        incoming.upgrade(|_| Decision::accept()).await.unwrap()
    });
    (url, accepted)
}

#[tokio::test]
async fn client_echo_ping_and_a_server_initiated_close() {
    let url = tungstenite_server(|mut ws| async move {
        ws.send(TMessage::Ping(b"are you there".to_vec().into()))
            .await
            .unwrap();
        // The pong comes back before the echo of the first message.
        match ws.next().await.unwrap().unwrap() {
            TMessage::Pong(p) => assert_eq!(&p[..], b"are you there"),
            other => panic!("expected the pong, got {other:?}"),
        }
        for _ in 0..2 {
            let message = ws.next().await.unwrap().unwrap();
            ws.send(message).await.unwrap();
        }
        ws.close(Some(TCloseFrame {
            code: TCloseCode::from(4002),
            reason: "done here".into(),
        }))
        .await
        .unwrap();
        while ws.next().await.is_some() {}
    })
    .await;
    let mut ws = connect(ConnectOptions::new(url)).await.unwrap();
    assert_eq!(ws.handshake().response.status(), 101);
    assert_eq!(ws.state(), ReadyState::Open);

    assert_eq!(
        next(&mut ws).await,
        Message::Ping(b"are you there"[..].into())
    );
    ws.send_text("héllo").await.unwrap();
    assert_eq!(next(&mut ws).await, Message::Text("héllo".into()));

    // 3 MiB: many reads, into room reserved for the whole frame.
    let big: Vec<u8> = (0..3 << 20).map(|i: u32| (i % 251) as u8).collect();
    ws.send_binary(big.clone()).await.unwrap();
    match next(&mut ws).await {
        Message::Binary(b) => assert!(b == big, "3 MiB message came back different"),
        other => panic!("expected the 3 MiB echo, got {other:?}"),
    }

    match next(&mut ws).await {
        Message::Close(frame) => {
            assert_eq!(frame.code, Some(CloseCode(4002)));
            assert_eq!(frame.reason, "done here");
        }
        other => panic!("expected the close, got {other:?}"),
    }
    ends(&mut ws).await;
    assert_eq!(ws.state(), ReadyState::Closed);
    assert!(ws.connection().was_clean());
    assert!(ws.send_text("too late").await.is_err());
}

#[tokio::test]
async fn server_close_handshake_and_tap_reports() {
    let (tap, mut reports) = tap::channel(1024);
    let (url, accepted) = our_server(ServerOptions::default().with_tap(tap)).await;
    let (mut client, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap();
    let mut ws = accepted.await.unwrap();
    client.send(TMessage::Text("one".into())).await.unwrap();
    assert_eq!(next(&mut ws).await, Message::Text("one".into()));
    ws.send_text("two").await.unwrap();
    assert_eq!(
        client.next().await.unwrap().unwrap(),
        TMessage::Text("two".into())
    );

    ws.close(Some(CloseCode::NORMAL), "bye").await.unwrap();
    assert_eq!(ws.state(), ReadyState::Closing);
    let client_side = tokio::spawn(async move {
        match client.next().await {
            Some(Ok(TMessage::Close(Some(frame)))) => {
                assert_eq!(u16::from(frame.code), 1000);
                assert_eq!(frame.reason.as_str(), "bye");
            }
            other => panic!("expected our close, got {other:?}"),
        }
        // tungstenite replies to the close; the server then ends TCP.
        while client.next().await.is_some() {}
    });
    match next(&mut ws).await {
        Message::Close(frame) => assert_eq!(frame.code, Some(CloseCode::NORMAL)),
        other => panic!("expected the close reply, got {other:?}"),
    }
    ends(&mut ws).await;
    tokio::time::timeout(LIMIT, client_side)
        .await
        .unwrap()
        .unwrap();
    drop(ws);

    let mut frames = Vec::new();
    let mut states = Vec::new();
    let mut closed = None;
    while let Some(report) = tokio::time::timeout(LIMIT, reports.recv()).await.unwrap() {
        match report.kind {
            TapKind::Frame(frame) => frames.push((frame.direction, frame.payload.to_vec())),
            TapKind::State(state) => states.push(state),
            TapKind::Closed {
                code,
                initiator,
                clean,
                ..
            } => closed = Some((code, initiator, clean)),
            _ => {}
        }
    }
    assert_eq!(
        frames[..2],
        [
            (Direction::Incoming, b"one".to_vec()),
            (Direction::Outgoing, b"two".to_vec())
        ]
    );
    assert_eq!(frames.len(), 4, "one, two and a close each way: {frames:?}");
    assert_eq!(
        states,
        [ReadyState::Open, ReadyState::Closing, ReadyState::Closed]
    );
    assert_eq!(closed, Some((CloseCode::NORMAL, Initiator::Local, true)));
}

#[tokio::test]
async fn an_unmasked_client_frame_fails_with_1002() {
    let (url, accepted) = our_server(ServerOptions::default()).await;
    let (client, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap();
    let mut ws = accepted.await.unwrap();
    // Below tungstenite: an unmasked text frame "hi", which a server must refuse.
    let mut tcp = match client.into_inner() {
        tokio_tungstenite::MaybeTlsStream::Plain(tcp) => tcp,
        _ => unreachable!("ws://"),
    };
    tcp.write_all(&[0x81, 0x02, b'h', b'i']).await.unwrap();
    let failed = tokio::time::timeout(LIMIT, ws.recv()).await.unwrap();
    match failed {
        Some(Err(e)) => assert!(e.to_string().contains("mask"), "{e}"),
        other => panic!("expected the fault, got {other:?}"),
    }
    ends(&mut ws).await;
    // The close frame reached the client: 1002, then the end of the stream.
    let mut got = Vec::new();
    tokio::time::timeout(
        LIMIT,
        tokio::io::AsyncReadExt::read_to_end(&mut tcp, &mut got),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(got[0], 0x88, "a close frame: {got:02x?}");
    assert_eq!(u16::from_be_bytes([got[2], got[3]]), 1002);
}

#[tokio::test]
async fn into_driven_mid_connection_loses_nothing() {
    let (url, accepted) = our_server(ServerOptions::default()).await;
    let (mut client, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap();
    let mut ws = accepted.await.unwrap();
    // Two messages in one burst: the second may already sit in the engine when we hand over.
    client.feed(TMessage::Text("first".into())).await.unwrap();
    client.feed(TMessage::Text("second".into())).await.unwrap();
    client.flush().await.unwrap();
    assert_eq!(next(&mut ws).await, Message::Text("first".into()));
    let (sender, mut receiver) = ws.into_driven().split();
    assert_eq!(
        next_message(&mut receiver).await,
        Message::Text("second".into())
    );
    sender.send_text("from the task").await.unwrap();
    assert_eq!(
        client.next().await.unwrap().unwrap(),
        TMessage::Text("from the task".into())
    );
    sender.close(Some(CloseCode::NORMAL), "").await.unwrap();
    assert!(matches!(client.next().await, Some(Ok(TMessage::Close(_)))));
}

#[tokio::test]
async fn large_binary_echoes_are_written_from_the_message_itself() {
    // The echo_server example: binary messages of 8 KiB and more go out as header + payload
    // in vectored writes, many of them partial for 8 MiB.
    let addr = support::echo_server(ServerOptions::default()).await;
    let (mut client, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/"))
        .await
        .unwrap();
    for size in [8 * 1024 - 1, 8 * 1024, 70_000, 8 << 20] {
        let data: Vec<u8> = (0..size).map(|i: usize| (i % 253) as u8).collect();
        client
            .send(TMessage::Binary(data.clone().into()))
            .await
            .unwrap();
        match tokio::time::timeout(LIMIT, client.next()).await.unwrap() {
            Some(Ok(TMessage::Binary(b))) => assert!(b == data, "{size} B came back different"),
            other => panic!("expected the {size} B echo, got {other:?}"),
        }
    }
}

/// Our server's close timeout on a paused clock: the close frame reaches a client that
/// never answers (it says when it has it), and the connection ends at exactly 300 ms of
/// virtual time. A [`ClockHold`](support::ClockHold) keeps the clock still while the
/// loopback I/O is under way.
#[tokio::test(start_paused = true)]
async fn a_client_that_never_answers_our_close_is_dropped_after_the_close_timeout() {
    let hold = support::ClockHold::new();
    let options =
        ServerOptions::default().with_close_timeout(std::time::Duration::from_millis(300));
    let (url, accepted) = our_server(options).await;
    let (client, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap();
    // Below tungstenite: read and ignore everything, answer nothing; say when the close
    // frame (the first thing our server sends) has come.
    let mut tcp = match client.into_inner() {
        tokio_tungstenite::MaybeTlsStream::Plain(tcp) => tcp,
        _ => unreachable!("ws://"),
    };
    let (close_read, close_seen) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut close_read = Some(close_read);
        let mut buf = vec![0u8; 4096];
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) if buf[0] == 0x88 => {
                    if let Some(seen) = close_read.take() {
                        let _ = seen.send(());
                    }
                }
                Ok(_) => {}
            }
        }
    });
    let mut ws = accepted.await.unwrap();
    let start = tokio::time::Instant::now();
    ws.close(Some(CloseCode::NORMAL), "hello?").await.unwrap();
    // The close timer starts in `recv`, which runs while the hold is let go.
    let released = async {
        tokio::time::timeout(LIMIT, close_seen)
            .await
            .unwrap()
            .unwrap();
        hold.release().await;
    };
    let (first, ()) = tokio::join!(tokio::time::timeout(LIMIT, ws.recv()), released);
    match first.unwrap() {
        Some(Err(e)) => {
            assert!(e.is_timeout(), "{e}");
            assert_eq!(e.timeout_stage(), Some(ws_tokio::Stage::Close));
        }
        other => panic!("expected a close timeout, got {other:?}"),
    }
    assert_eq!(start.elapsed(), std::time::Duration::from_millis(300));
    ends(&mut ws).await;
}
