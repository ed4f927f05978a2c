//! Interop with tokio-tungstenite 0.30, a peer nobody here wrote: our client against its
//! server, its client against our server. Text, binary, a 16 MiB message, fragmented messages,
//! ping/pong, and the close handshake started from either side with a code and a reason.

mod support;

use futures_util::{SinkExt, StreamExt};
use support::{LIMIT, next_message};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode as TOpCode};
use tokio_tungstenite::tungstenite::protocol::frame::{CloseFrame as TCloseFrame, Frame as TFrame};
use tokio_tungstenite::tungstenite::{
    Message as TMessage, protocol::frame::coding::CloseCode as TCloseCode,
};
use ws_tokio::ws_proto::{CloseCode, CloseFrame, MessageKind};
use ws_tokio::{ConnectOptions, Decision, Message, Outgoing, Server, ServerOptions, connect};

/// A tokio-tungstenite echo server. A text "close-please" makes it close with 4001 "as asked".
async fn tungstenite_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
                while let Some(Ok(message)) = ws.next().await {
                    match message {
                        TMessage::Text(t) if t.as_str() == "close-please" => {
                            ws.close(Some(TCloseFrame {
                                code: TCloseCode::from(4001),
                                reason: "as asked".into(),
                            }))
                            .await
                            .unwrap();
                        }
                        m @ (TMessage::Text(_) | TMessage::Binary(_)) => ws.send(m).await.unwrap(),
                        _ => {}
                    }
                }
            });
        }
    });
    format!("ws://{addr}/")
}

#[tokio::test]
async fn our_client_with_tungstenite_server() {
    let url = tungstenite_server().await;
    let ws = connect(ConnectOptions::new(url)).await.unwrap();
    assert_eq!(ws.handshake().response.status(), 101);
    let (sender, mut receiver) = ws.into_driven().split();

    sender.send_text("héllo").await.unwrap();
    assert_eq!(
        next_message(&mut receiver).await,
        Message::Text("héllo".into())
    );

    sender.send_binary(vec![0u8, 1, 2, 255]).await.unwrap();
    assert_eq!(
        next_message(&mut receiver).await,
        Message::Binary(vec![0u8, 1, 2, 255].into())
    );

    let big: Vec<u8> = (0..16 << 20).map(|i: u32| (i % 251) as u8).collect();
    sender.send_binary(big.clone()).await.unwrap();
    match next_message(&mut receiver).await {
        Message::Binary(b) => assert!(b == big, "16 MiB message came back different"),
        other => panic!("expected the 16 MiB echo, got {other:?}"),
    }

    // A text message in three fragments, a ping between two of them.
    for (part, fin) in [("frag", false), ("ment", false), ("ed ✓", true)] {
        sender
            .send(Outgoing::Fragment {
                kind: MessageKind::Text,
                data: part.as_bytes().to_vec().into(),
                fin,
            })
            .await
            .unwrap();
        if !fin {
            sender.send_ping(&b"between"[..]).await.unwrap();
        }
    }
    let mut pongs = 0;
    loop {
        match next_message(&mut receiver).await {
            Message::Pong(p) => {
                assert_eq!(&p[..], b"between");
                pongs += 1;
            }
            Message::Text(t) => {
                assert_eq!(t.as_str(), "fragmented ✓");
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    // tungstenite answers pings as it reads them, so both pongs precede the echo.
    assert_eq!(pongs, 2);

    sender
        .close(Some(CloseCode::NORMAL), "client done")
        .await
        .unwrap();
    match next_message(&mut receiver).await {
        Message::Close(frame) => assert_eq!(frame.code, Some(CloseCode::NORMAL)),
        other => panic!("expected the close echo, got {other:?}"),
    }
    assert!(
        tokio::time::timeout(LIMIT, receiver.recv())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn tungstenite_server_closes_our_client() {
    let url = tungstenite_server().await;
    let (sender, mut receiver) = connect(ConnectOptions::new(url))
        .await
        .unwrap()
        .into_driven()
        .split();
    sender.send_text("close-please").await.unwrap();
    match next_message(&mut receiver).await {
        Message::Close(frame) => {
            assert_eq!(frame.code, Some(CloseCode(4001)));
            assert_eq!(frame.reason, "as asked");
        }
        other => panic!("expected a close, got {other:?}"),
    }
    assert!(
        tokio::time::timeout(LIMIT, receiver.recv())
            .await
            .unwrap()
            .is_none()
    );
    assert!(sender.send_text("too late").await.is_err());
}

/// Our echo server; a text "close-please" makes it close with 4002 "server bye". The close
/// frames it receives come out of the returned channel.
async fn our_server() -> (String, mpsc::UnboundedReceiver<CloseFrame>) {
    let (closes_tx, closes) = mpsc::unbounded_channel();
    let server = Server::bind("127.0.0.1:0", ServerOptions::default())
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok(incoming) = server.accept().await {
            let closes_tx = closes_tx.clone();
            tokio::spawn(async move {
                let ws = incoming
                    .upgrade(|req| Decision::accept_protocol(req, &["chat"]))
                    .await
                    .unwrap();
                let (sender, mut receiver) = ws.into_driven().split();
                while let Some(Ok(message)) = receiver.recv().await {
                    match message {
                        Message::Text(t) if t.as_str() == "close-please" => {
                            sender
                                .close(Some(CloseCode(4002)), "server bye")
                                .await
                                .unwrap();
                        }
                        Message::Text(t) => sender.send_text(t.as_str()).await.unwrap(),
                        Message::Binary(b) => sender.send_binary(b).await.unwrap(),
                        Message::Close(frame) => {
                            let _ = closes_tx.send(frame);
                        }
                        _ => {}
                    }
                }
            });
        }
    });
    (format!("ws://{addr}/chat"), closes)
}

#[tokio::test]
async fn tungstenite_client_with_our_server() {
    let (url, mut closes) = our_server().await;
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
            url.as_str(),
        )
        .unwrap();
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "superchat, chat".parse().unwrap());
    let (mut ws, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.headers()["sec-websocket-protocol"], "chat");

    ws.send(TMessage::text("héllo")).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap(), TMessage::text("héllo"));

    let big: Vec<u8> = (0..16 << 20).map(|i: u32| (i % 249) as u8).collect();
    ws.send(TMessage::binary(big.clone())).await.unwrap();
    match ws.next().await.unwrap().unwrap() {
        TMessage::Binary(b) => assert!(b == big, "16 MiB message came back different"),
        other => panic!("expected the 16 MiB echo, got {other:?}"),
    }

    // Fragmented binary with a ping in between.
    ws.send(TMessage::Frame(TFrame::message(
        vec![1u8, 2],
        TOpCode::Data(Data::Binary),
        false,
    )))
    .await
    .unwrap();
    ws.send(TMessage::Ping(vec![9u8].into())).await.unwrap();
    ws.send(TMessage::Frame(TFrame::message(
        vec![3u8],
        TOpCode::Data(Data::Continue),
        true,
    )))
    .await
    .unwrap();
    let mut got_pong = false;
    loop {
        match ws.next().await.unwrap().unwrap() {
            TMessage::Pong(p) => {
                assert_eq!(&p[..], [9u8]);
                got_pong = true;
            }
            TMessage::Binary(b) => {
                assert_eq!(&b[..], [1u8, 2, 3]);
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(got_pong, "our server did not answer the ping");

    ws.close(Some(TCloseFrame {
        code: TCloseCode::from(4003),
        reason: "client bye".into(),
    }))
    .await
    .unwrap();
    match ws.next().await {
        // Our automatic reply echoes the code and the reason, as browsers and
        // tokio-tungstenite do.
        Some(Ok(TMessage::Close(Some(frame)))) => {
            assert_eq!(u16::from(frame.code), 4003);
            assert_eq!(frame.reason.as_str(), "client bye");
        }
        other => panic!("expected our close echo, got {other:?}"),
    }
    let received = tokio::time::timeout(LIMIT, closes.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(received.code, Some(CloseCode(4003)));
    assert_eq!(received.reason, "client bye");
}

#[tokio::test]
async fn our_server_closes_tungstenite_client() {
    let (url, _closes) = our_server().await;
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap();
    ws.send(TMessage::text("close-please")).await.unwrap();
    match ws.next().await {
        Some(Ok(TMessage::Close(Some(frame)))) => {
            assert_eq!(u16::from(frame.code), 4002);
            assert_eq!(frame.reason.as_str(), "server bye");
        }
        other => panic!("expected the server's close, got {other:?}"),
    }
    // tungstenite answers the close; our server then closes TCP and the stream ends.
    let end = tokio::time::timeout(LIMIT, ws.next()).await.unwrap();
    assert!(end.is_none() || matches!(end, Some(Err(_))), "got {end:?}");
}
