//! permessage-deflate over real sockets: our client and our server negotiate it, messages
//! (whole and fragmented) come back intact, the handshake info and the tap report what was
//! agreed and, per frame, RSV1 and both sizes; a server that declines leaves it off.

mod support;

use support::{LIMIT, next_message};
use ws_tokio::ws_proto::{DeflateConfig, MessageKind};
use ws_tokio::{ConnectOptions, Message, Outgoing, ServerOptions, connect, tap};

/// The `echo_server` example; `deflate` says whether it accepts permessage-deflate.
async fn echo_server(deflate: Option<DeflateConfig>) -> String {
    let mut options = ServerOptions::default();
    options.config.deflate = deflate;
    format!("ws://{}/", support::echo_server(options).await)
}

fn json_like(n: usize) -> String {
    let mut s = String::new();
    let mut i = 0u32;
    while s.len() < n {
        s.push_str(&format!(
            "{{\"seq\":{i},\"status\":\"ok\",\"value\":{}}},",
            i % 97
        ));
        i += 1;
    }
    s.truncate(n);
    s
}

#[tokio::test]
async fn client_and_server_agree_and_compress_both_ways() {
    let url = echo_server(Some(DeflateConfig::default())).await;
    let (tap, mut taps) = tap::channel(4096);
    let mut options = ConnectOptions::new(url);
    options.config.deflate = Some(DeflateConfig::default());
    options.tap = Some(tap);
    let ws = connect(options).await.unwrap();
    let agreed = ws.handshake().deflate.expect("permessage-deflate agreed");
    assert!(!agreed.server_no_context_takeover);
    let offer = ws
        .handshake()
        .request
        .headers()
        .get("sec-websocket-extensions")
        .expect("the request offers an extension");
    assert_eq!(offer, "permessage-deflate; client_max_window_bits");
    assert_eq!(ws.handshake().extensions, ["permessage-deflate"]);
    let (sender, mut receiver) = ws.into_driven().split();

    let text = json_like(50_000);
    for _ in 0..3 {
        sender.send_text(text.as_str()).await.unwrap();
        assert_eq!(
            next_message(&mut receiver).await,
            Message::Text(text.clone().into())
        );
    }
    let big: Vec<u8> = (0..4 << 20).map(|i: u32| (i % 251) as u8).collect();
    sender.send_binary(big.clone()).await.unwrap();
    match next_message(&mut receiver).await {
        Message::Binary(b) => assert!(b == big, "the 4 MiB message came back different"),
        other => panic!("expected the 4 MiB echo, got {other:?}"),
    }
    // A fragmented compressed message.
    let bytes = text.as_bytes();
    for (i, piece) in bytes.chunks(20_000).enumerate() {
        let fin = (i + 1) * 20_000 >= bytes.len();
        sender
            .send(Outgoing::Fragment {
                kind: MessageKind::Text,
                data: piece.to_vec().into(),
                fin,
            })
            .await
            .unwrap();
    }
    assert_eq!(
        next_message(&mut receiver).await,
        Message::Text(text.clone().into())
    );
    sender.close(None, "").await.unwrap();
    while let Ok(Some(_)) = tokio::time::timeout(LIMIT, receiver.recv()).await {}

    // The tap saw compressed frames both ways, with RSV1 on first frames only and both sizes.
    let mut frames = Vec::new();
    while let Some(event) = taps.try_recv() {
        if let tap::TapKind::Frame(frame) = event.kind {
            frames.push(frame);
        }
    }
    let data: Vec<_> = frames
        .iter()
        .filter(|f| !f.header.opcode.is_control())
        .collect();
    // Out: 3 texts, 1 binary, 3 fragments; back: 5 whole messages.
    assert_eq!(data.len(), 3 + 1 + 3 + 5);
    for f in &data {
        let plain = f
            .decompressed_len
            .expect("a compressed frame reports its plain size");
        if f.header.opcode == ws_tokio::ws_proto::OpCode::Continuation {
            assert!(!f.header.rsv1);
        } else {
            assert!(f.header.rsv1, "{:?}", f.header);
        }
        if plain == 50_000 {
            assert!(
                f.payload.len() < 10_000,
                "50 kB of JSON went out as {} bytes",
                f.payload.len()
            );
        }
    }
    for f in frames.iter().filter(|f| f.header.opcode.is_control()) {
        assert!(!f.header.rsv1);
        assert_eq!(f.decompressed_len, None);
    }
}

#[tokio::test]
async fn a_server_without_deflate_leaves_it_off() {
    let url = echo_server(None).await;
    let mut options = ConnectOptions::new(url);
    options.config.deflate = Some(DeflateConfig::default());
    let ws = connect(options).await.unwrap();
    assert_eq!(ws.handshake().deflate, None);
    assert!(ws.handshake().extensions.is_empty());
    let (sender, mut receiver) = ws.into_driven().split();
    sender.send_text("plain").await.unwrap();
    assert_eq!(
        next_message(&mut receiver).await,
        Message::Text("plain".into())
    );
}

#[tokio::test]
async fn a_server_policy_limits_the_client() {
    let mut policy = DeflateConfig::default();
    policy.client_max_window_bits = Some(9);
    policy.client_no_context_takeover = true;
    policy.server_no_context_takeover = true;
    let url = echo_server(Some(policy)).await;
    let mut options = ConnectOptions::new(url);
    options.config.deflate = Some(DeflateConfig::default());
    let ws = connect(options).await.unwrap();
    let agreed = ws.handshake().deflate.expect("agreed");
    assert_eq!(agreed.client_max_window_bits, Some(9));
    assert!(agreed.client_no_context_takeover && agreed.server_no_context_takeover);
    assert_eq!(
        ws.handshake().response.headers()["sec-websocket-extensions"],
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
         client_max_window_bits=9"
    );
    let (sender, mut receiver) = ws.into_driven().split();
    let text = json_like(100_000);
    for _ in 0..2 {
        sender.send_text(text.as_str()).await.unwrap();
        assert_eq!(
            next_message(&mut receiver).await,
            Message::Text(text.clone().into())
        );
    }
}
