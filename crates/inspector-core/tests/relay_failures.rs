//! A relay under bad conditions, with tokio-tungstenite on both sides: an upstream server
//! that drops its connection in the middle of a frame (the client leg is closed with 1011,
//! and both legs' logs say which leg failed and why), and a client that never reads while
//! the server sends as fast as it can (back-pressure reaches the server: what it manages to
//! send stops growing instead of piling up in the relay).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as TungsteniteCode;
use ws_inspector_core::log::Item;
use ws_inspector_core::relay::{Relay, RelayOptions, RelayedClient};
use ws_inspector_core::session::SessionState;
use ws_inspector_core::{Net, Notify};
use ws_tokio::ConnectOptions;

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
    net.relay(options, Notify::new(|_| {})).expect("relay")
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

fn wait_finished(leg: &str, state: impl Fn() -> bool) {
    let end = Instant::now() + Duration::from_secs(10);
    while !state() {
        assert!(Instant::now() < end, "the {leg} leg did not finish");
        std::thread::sleep(Duration::from_millis(10));
    }
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
    wait_finished("server", || relayed.server.state().finished);
    wait_finished("client", || relayed.client.state().finished);
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
