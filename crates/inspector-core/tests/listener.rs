//! The listener and the relay against the reference peer, tokio-tungstenite: what each
//! accepted client's session shows (the server side of its handshake, its frames), a
//! refusal, a client that sends garbage, and a relay between a tokio-tungstenite client and
//! server with each leg's negotiation — and under bad conditions: an upstream that drops its
//! connection in the middle of a frame (the client leg is closed with 1011, and both legs'
//! logs say which leg failed and why), and a client that never reads while the server sends
//! as fast as it can (back-pressure reaches the server: what it manages to send stops
//! growing instead of piling up in the relay).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as TungsteniteCode;
use tokio_tungstenite::tungstenite::{self, Message};
use ws_inspector_core::listener::{Client, Listener, ListenerOptions, ServerChoices};
use ws_inspector_core::log::Item;
use ws_inspector_core::relay::{Relay, RelayOptions, RelayedClient};
use ws_inspector_core::session::SessionState;
use ws_inspector_core::{Net, Notify};
use ws_tokio::ConnectOptions;
use ws_tokio::ws_proto::{CloseCode, ReadyState};

fn quiet() -> Notify {
    Notify::new(|_| {})
}

/// Waits (up to 10 s) until `condition` holds for `state()`.
fn wait_until<S: std::ops::Deref<Target = SessionState>>(
    what: &str,
    state: impl Fn() -> S,
    condition: impl Fn(&SessionState) -> bool,
) {
    let end = Instant::now() + Duration::from_secs(10);
    while !condition(&state()) {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn first_client(listener: &mut Listener) -> Client {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(client) = listener.take_accepted().into_iter().next() {
            return client;
        }
        assert!(Instant::now() < end, "no client was accepted");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn first_relayed(relay: &mut Relay) -> RelayedClient {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(client) = relay.take_accepted().into_iter().next() {
            return client;
        }
        assert!(Instant::now() < end, "no client was relayed");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn assert_no_task_panicked(net: &Net) {
    assert!(
        net.tasks().panics().is_empty(),
        "{:?}",
        net.tasks().panics()
    );
}

#[test]
fn a_tungstenite_client_is_a_session_with_its_handshake_and_frames() {
    let net = Net::new().expect("runtime");
    let options = ListenerOptions {
        choices: ServerChoices {
            protocols: vec!["chat".to_owned()],
            echo: true,
            on_connect: vec!["welcome".to_owned()],
            ..ServerChoices::default()
        },
        ..ListenerOptions::default()
    };
    let mut listener = net.listen(&options, quiet()).expect("listen");
    assert!(listener.local_addr().ip().is_loopback());
    assert_ne!(listener.local_addr().port(), 0);
    assert_eq!(
        listener.js_snippet(),
        format!("new WebSocket(\"ws://{}/\")", listener.local_addr())
    );
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let mut request = format!("{}room?x=1", listener.url())
        .into_client_request()
        .expect("request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "other, chat".parse().expect("value"),
    );
    let (mut ws, response) = rt
        .block_on(tokio_tungstenite::connect_async(request))
        .expect("connect");
    assert_eq!(
        response
            .headers()
            .get("sec-websocket-protocol")
            .map(|v| v.as_bytes()),
        Some(&b"chat"[..])
    );
    let welcome = rt.block_on(ws.next()).expect("a message").expect("ok");
    assert_eq!(welcome, Message::text("welcome"));
    rt.block_on(ws.send(Message::text("hi"))).expect("send");
    let echo = rt.block_on(ws.next()).expect("a message").expect("ok");
    assert_eq!(echo, Message::text("hi"));

    let client = first_client(&mut listener);
    wait_until(
        "a frame each way and the echo",
        || client.session.state(),
        |s| s.traffic.frames_in == 1 && s.traffic.frames_out == 2,
    );
    {
        let state = client.session.state();
        assert!(state.handshake.server_side);
        assert_eq!(state.ready_state(), ReadyState::Open);
        let (request, raw) = state.handshake.request.as_ref().expect("the request");
        assert_eq!(request.uri().path(), "/room");
        assert!(
            raw.starts_with(b"GET /room?x=1 HTTP/1.1\r\n"),
            "as received"
        );
        let (response, raw) = state.handshake.response.as_ref().expect("our response");
        assert_eq!(response.status(), 101);
        assert!(raw.starts_with(b"HTTP/1.1 101"), "as sent");
        assert_eq!(state.handshake.protocol.as_deref(), Some("chat"));
    }
    // The composer's path: a message from the session reaches the client.
    client
        .session
        .send(vec![ws_tokio::Outgoing::Text(
            "from the inspector".to_owned(),
        )])
        .expect("send");
    let sent = rt.block_on(ws.next()).expect("a message").expect("ok");
    assert_eq!(sent, Message::text("from the inspector"));
    rt.block_on(ws.close(Some(tungstenite::protocol::CloseFrame {
        code: tungstenite::protocol::frame::coding::CloseCode::Normal,
        reason: "done".into(),
    })))
    .expect("close");
    wait_until("closed", || client.session.state(), |s| s.finished);
    assert_eq!(
        client.session.state().close.as_ref().map(|c| c.code),
        Some(CloseCode::NORMAL)
    );
    assert_no_task_panicked(&net);
}

#[test]
fn a_refused_upgrade_sends_the_status_and_body_chosen() {
    let net = Net::new().expect("runtime");
    let options = ListenerOptions {
        choices: ServerChoices {
            reject: Some((403, "not you".to_owned())),
            ..ServerChoices::default()
        },
        ..ListenerOptions::default()
    };
    let mut listener = net.listen(&options, quiet()).expect("listen");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let result = rt.block_on(tokio_tungstenite::connect_async(listener.url()));
    match result {
        Err(tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403);
            assert_eq!(response.body().as_deref(), Some(&b"not you"[..]));
        }
        other => panic!("expected a 403, got {other:?}"),
    }
    let client = first_client(&mut listener);
    wait_until("finished", || client.session.state(), |s| s.finished);
    let state = client.session.state();
    let failure = state.handshake.failure.as_ref().expect("a failure");
    assert_eq!(failure.status.map(|s| s.as_u16()), Some(403));
    assert_eq!(failure.body.as_deref(), Some(&b"not you"[..]));
    assert_no_task_panicked(&net);
}

#[test]
fn a_client_that_sends_garbage_is_closed_with_1002_and_shown() {
    let net = Net::new().expect("runtime");
    let mut listener = net
        .listen(&ListenerOptions::default(), quiet())
        .expect("listen");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let addr = listener.local_addr();
    let close = rt.block_on(async move {
        let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("tcp");
        tcp.write_all(
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .await
        .expect("write");
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = tcp.read(&mut buf).await.expect("read");
            assert!(n > 0, "the server hung up during the handshake");
            got.extend_from_slice(&buf[..n]);
        }
        let head_end = got.windows(4).position(|w| w == b"\r\n\r\n").expect("head") + 4;
        let mut rest = got[head_end..].to_vec();
        // A masked frame with the reserved opcode 3.
        tcp.write_all(&[0x83, 0x80, 1, 2, 3, 4])
            .await
            .expect("write");
        while rest.len() < 4 {
            let n = tcp.read(&mut buf).await.expect("read");
            if n == 0 {
                break;
            }
            rest.extend_from_slice(&buf[..n]);
        }
        rest
    });
    assert_eq!(close.first(), Some(&0x88), "a close frame: {close:?}");
    assert_eq!(close.get(2..4), Some(&[0x03, 0xea][..]), "1002");
    let client = first_client(&mut listener);
    wait_until("closed", || client.session.state(), |s| s.close.is_some());
    let state = client.session.state();
    assert_eq!(
        state.close.as_ref().map(|c| c.code),
        Some(CloseCode::PROTOCOL_ERROR)
    );
    assert!(state.traffic.frames_out >= 1, "our close frame is shown");
    assert!(
        state.last_error.is_some(),
        "and why: {:?}",
        state.last_error
    );
    drop(state);
    assert_no_task_panicked(&net);
}

/// A tokio-tungstenite echo server that chooses `chat`, or refuses with 403 when `refuse`.
fn tungstenite_server(rt: &tokio::runtime::Runtime, refuse: bool) -> String {
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    rt.spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                // The refusal is tungstenite's own type: its size is not ours to change.
                #[allow(clippy::result_large_err)]
                let callback =
                    |request: &tungstenite::handshake::server::Request,
                     mut response: tungstenite::handshake::server::Response| {
                        if refuse {
                            let refusal = tungstenite::http::Response::builder()
                                .status(403)
                                .body(Some("upstream says no".to_owned()))
                                .expect("response");
                            return Err(refusal);
                        }
                        let offered = request
                            .headers()
                            .get("sec-websocket-protocol")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("");
                        if offered.contains("chat") {
                            response
                                .headers_mut()
                                .insert("sec-websocket-protocol", "chat".parse().expect("value"));
                        }
                        Ok(response)
                    };
                let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, callback).await else {
                    return;
                };
                while let Some(Ok(message)) = ws.next().await {
                    let data = matches!(message, Message::Text(_) | Message::Binary(_));
                    if data && ws.send(message).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    format!("ws://{addr}/")
}

#[test]
fn a_relay_forwards_between_tungstenite_peers_and_shows_both_legs() {
    let net = Net::new().expect("runtime");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let upstream = tungstenite_server(&rt, false);
    let mut relay = relay_to(&net, upstream.clone());
    let mut request = format!("{}echo", relay.url())
        .into_client_request()
        .expect("request");
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "chat".parse().expect("value"));
    let (mut ws, response) = rt
        .block_on(tokio_tungstenite::connect_async(request))
        .expect("connect through the relay");
    assert_eq!(
        response
            .headers()
            .get("sec-websocket-protocol")
            .map(|v| v.as_bytes()),
        Some(&b"chat"[..]),
        "the server's choice is relayed back"
    );
    rt.block_on(ws.send(Message::text("through")))
        .expect("send");
    let echo = rt.block_on(ws.next()).expect("a message").expect("ok");
    assert_eq!(echo, Message::text("through"));

    let relayed = first_relayed(&mut relay);
    wait_until(
        "the client leg's frames",
        || relayed.client.state(),
        |s| s.traffic.frames_in == 1 && s.traffic.frames_out == 1,
    );
    wait_until(
        "the server leg's frames",
        || relayed.server.state(),
        |s| s.traffic.frames_in == 1 && s.traffic.frames_out == 1,
    );
    {
        let client = relayed.client.state();
        assert!(client.handshake.server_side);
        assert_eq!(client.handshake.protocol.as_deref(), Some("chat"));
        let server = relayed.server.state();
        assert!(!server.handshake.server_side);
        assert_eq!(server.handshake.protocol.as_deref(), Some("chat"));
        let (request, _) = server.handshake.request.as_ref().expect("upstream request");
        assert_eq!(
            request.uri().path(),
            "/echo",
            "the client's path goes upstream"
        );
    }
    rt.block_on(ws.close(Some(tungstenite::protocol::CloseFrame {
        code: tungstenite::protocol::frame::coding::CloseCode::Away,
        reason: "bye".into(),
    })))
    .expect("close");
    // Read the relayed close reply, so that the client ends its side too.
    rt.block_on(async {
        let _ = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(Ok(_)) = ws.next().await {}
        })
        .await;
    });
    wait_until(
        "the server leg closed",
        || relayed.server.state(),
        |s| s.finished,
    );
    wait_until(
        "the client leg closed",
        || relayed.client.state(),
        |s| s.finished,
    );
    let server = relayed.server.state();
    let close = server.close.as_ref().expect("closed");
    assert_eq!(
        close.code,
        CloseCode::GOING_AWAY,
        "the client's code went upstream"
    );
    assert_eq!(close.reason, "bye");
    drop(server);
    assert_no_task_panicked(&net);
}

#[test]
fn an_upstream_refusal_is_relayed_with_its_status_and_body() {
    let net = Net::new().expect("runtime");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let upstream = tungstenite_server(&rt, true);
    let mut relay = relay_to(&net, upstream);
    match rt.block_on(tokio_tungstenite::connect_async(relay.url())) {
        Err(tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403);
            assert_eq!(response.body().as_deref(), Some(&b"upstream says no"[..]));
        }
        other => panic!("expected the upstream's 403, got {other:?}"),
    }
    let relayed = first_relayed(&mut relay);
    wait_until(
        "both legs finished",
        || relayed.server.state(),
        |s| s.finished,
    );
    wait_until(
        "both legs finished",
        || relayed.client.state(),
        |s| s.finished,
    );
    let server = relayed.server.state();
    let failure = server
        .handshake
        .failure
        .as_ref()
        .expect("the upstream refused");
    assert_eq!(failure.status.map(|s| s.as_u16()), Some(403));
    drop(server);
    assert_no_task_panicked(&net);
}

#[test]
fn a_listener_with_a_token_refuses_upgrades_without_it_with_401() {
    let net = Net::new().expect("runtime");
    let options = ListenerOptions {
        choices: ServerChoices {
            echo: true,
            token: Some("s3cret".to_owned()),
            ..ServerChoices::default()
        },
        ..ListenerOptions::default()
    };
    let mut listener = net.listen(&options, quiet()).expect("listen");
    let url = listener.url();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    match rt.block_on(tokio_tungstenite::connect_async(url.as_str())) {
        Err(tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 401);
            let body = String::from_utf8_lossy(response.body().as_deref().unwrap_or_default());
            assert!(body.contains("requires a token"), "{body}");
        }
        other => panic!("expected 401, got {other:?}"),
    }
    let refused = first_client(&mut listener);
    wait_until(
        "the refusal in the log",
        || refused.session.state(),
        |s| s.finished,
    );
    let shown = refused.session.state();
    let response = shown
        .handshake
        .response
        .as_ref()
        .map(|(r, _)| r.status().as_u16());
    assert_eq!(response, Some(401), "the refusal is shown as sent");
    drop(shown);
    // The token in the query, then in an Authorization header: accepted.
    rt.block_on(tokio_tungstenite::connect_async(format!(
        "{url}?token=s3cret"
    )))
    .expect("accepted with ?token=");
    let mut request = url.as_str().into_client_request().expect("request");
    request
        .headers_mut()
        .insert("authorization", "Bearer s3cret".parse().expect("header"));
    rt.block_on(tokio_tungstenite::connect_async(request))
        .expect("accepted with Authorization: Bearer");
    let mut wrong = url.as_str().into_client_request().expect("request");
    wrong
        .headers_mut()
        .insert("authorization", "Bearer nope".parse().expect("header"));
    assert!(
        rt.block_on(tokio_tungstenite::connect_async(wrong))
            .is_err()
    );
    assert_no_task_panicked(&net);
}

// --- A relay under bad conditions: an upstream that drops its connection in the middle of
// a frame, and a client that never reads while the server sends as fast as it can. ---

/// A relay to `upstream` (the relay tabs' code).
fn relay_to(net: &Net, upstream: String) -> Relay {
    let options = RelayOptions {
        addr: "127.0.0.1:0".to_owned(),
        upstream: ConnectOptions::new(upstream),
        fixed_protocols: false,
        tls: None,
        token: None,
        answer_pings: false,
        whole_messages: false,
    };
    net.relay(options, quiet()).expect("relay")
}

/// Every event line of a leg's log: name and summary.
fn events(state: &SessionState) -> Vec<String> {
    state
        .log
        .iter()
        .filter_map(|e| match e.item {
            Item::Event(event) => Some(format!("{}: {}", event.name(), event.summary())),
            _ => None,
        })
        .collect()
}

#[test]
fn an_upstream_that_drops_mid_frame_closes_the_client_leg_with_1011_and_says_why() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).expect("bind");
    let upstream = format!("ws://{}/", listener.local_addr().expect("address"));
    // Accepts, then writes half a frame (a 256-byte text with 10 bytes of it) and drops.
    rt.spawn(async move {
        if let Ok((tcp, _)) = listener.accept().await
            && let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await
        {
            let raw = ws.get_mut();
            let mut half = vec![0x81, 126, 0x01, 0x00];
            half.extend_from_slice(b"0123456789");
            let _ = raw.write_all(&half).await;
            let _ = raw.flush().await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let net = Net::new().expect("net");
    let mut relay = relay_to(&net, upstream);
    let (mut client, _) = rt
        .block_on(tokio_tungstenite::connect_async(relay.url()))
        .expect("connect through the relay");
    let close = rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match client.next().await {
                    Some(Ok(Message::Close(frame))) => return frame,
                    Some(Ok(_)) => continue,
                    other => panic!("expected a close frame, got {other:?}"),
                }
            }
        })
        .await
        .expect("in time")
    });
    // tungstenite answers the close as it goes on reading; read to the end.
    rt.block_on(async {
        let _ = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(Ok(_)) = client.next().await {}
        })
        .await;
    });
    let close = close.expect("a close code");
    assert_eq!(close.code, TungsteniteCode::Error, "1011: {close:?}");
    assert!(
        close.reason.starts_with("the server leg failed"),
        "the reason names the leg: {close:?}"
    );
    assert!(
        close.reason.contains("in the middle of a frame"),
        "and says why: {close:?}"
    );

    let relayed = first_relayed(&mut relay);
    wait_until(
        "the server leg's end",
        || relayed.server.state(),
        |s| s.finished,
    );
    wait_until(
        "the client leg's end",
        || relayed.client.state(),
        |s| s.finished,
    );
    let server = events(&relayed.server.state());
    assert!(
        server.iter().any(|e| e.starts_with("error")
            && e.contains("in the middle of a frame (10 of its 256 payload bytes received)")),
        "the server leg's log says it was lost mid-frame: {server:?}"
    );
    let client = relayed.client.state();
    let code = client.close.as_ref().map(|c| c.code.0);
    assert_eq!(code, Some(1011), "the client leg's close line");
    assert!(
        client
            .close
            .as_ref()
            .is_some_and(|c| c.reason.contains("server leg failed")),
        "{:?}",
        client.close
    );
    assert!(
        net.tasks().panics().is_empty(),
        "{:?}",
        net.tasks().panics()
    );
}

#[test]
fn a_client_that_never_reads_holds_the_server_back() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).expect("bind");
    let upstream = format!("ws://{}/", listener.local_addr().expect("address"));
    // Sends 64 KiB messages as fast as it can, at most 20,000 of them (1.25 GiB), counting
    // those its socket took.
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    rt.spawn(async move {
        if let Ok((tcp, _)) = listener.accept().await
            && let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await
        {
            let payload = vec![7u8; 64 << 10];
            for _ in 0..20_000 {
                if ws.send(Message::binary(payload.clone())).await.is_err() {
                    break;
                }
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    let net = Net::new().expect("net");
    let mut relay = relay_to(&net, upstream);
    // The client: the handshake, then nothing is read.
    let (client, _) = rt
        .block_on(tokio_tungstenite::connect_async(relay.url()))
        .expect("connect through the relay");
    let relayed = first_relayed(&mut relay);

    // Let the buffers on the way fill, then watch the count stand still.
    let settled = |wait: Duration| {
        std::thread::sleep(wait);
        sent.load(Ordering::Relaxed)
    };
    let mut before = settled(Duration::from_millis(1500));
    let mut after = settled(Duration::from_millis(1000));
    // A loaded machine may still be draining: give it one more second to stop.
    if after != before {
        before = after;
        after = settled(Duration::from_millis(1000));
    }
    assert!(
        before < 2_000,
        "the server was held back (it sent {before} messages of 64 KiB; 20,000 if nothing \
         held it)"
    );
    assert_eq!(
        after, before,
        "nothing more was taken from the server while the client did not read"
    );
    // What the relay holds is bounded too: its log of the server leg has at most the
    // messages the server managed to send.
    let logged = relayed.server.state().traffic.frames_in;
    assert!(logged <= before, "{logged} frames logged, {before} sent");
    drop(client);
    assert!(
        net.tasks().panics().is_empty(),
        "{:?}",
        net.tasks().panics()
    );
}
