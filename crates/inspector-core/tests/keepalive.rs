//! The session's keep-alive against peers we did not write: a tokio-tungstenite server that
//! answers pings (round trips measured, matched to their pongs' log rows) and one that
//! stops reading (the connection is failed with the stated reason once the pong is late).

use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use tokio::net::TcpListener;
use ws_inspector_core::log::{Item, LifecycleEvent};
use ws_inspector_core::session::{SessionOptions, SessionState};
use ws_inspector_core::workflow::pings::Keepalive;
use ws_inspector_core::{Net, Notify};
use ws_tokio::ConnectOptions;
use ws_tokio::ws_proto::{CloseCode, OpCode, ReadyState};

/// What the test server does after the handshake.
#[derive(Clone, Copy)]
enum Peer {
    /// Reads every frame (tungstenite answers pings as it reads).
    Answers,
    /// Never reads again: no pong ever comes.
    Silent,
}

/// A one-client tokio-tungstenite server on loopback; returns its URL.
fn serve(net: &Net, peer: Peer) -> String {
    let listener = net
        .handle()
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    net.handle().spawn(async move {
        let Ok((tcp, _)) = listener.accept().await else {
            return;
        };
        let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
            return;
        };
        match peer {
            Peer::Answers => while let Some(Ok(_)) = ws.next().await {},
            Peer::Silent => {
                tokio::time::sleep(Duration::from_secs(30)).await;
                drop(ws);
            }
        }
    });
    format!("ws://{addr}/")
}

fn wait_until(what: &str, state: impl Fn() -> bool) {
    let end = Instant::now() + Duration::from_secs(15);
    while !state() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn keepalive(interval_ms: u64, timeout_ms: u64) -> SessionOptions {
    SessionOptions {
        keepalive: Some(Keepalive {
            interval: Duration::from_millis(interval_ms),
            timeout: Some(Duration::from_millis(timeout_ms)),
            payload: None,
        }),
        ..SessionOptions::default()
    }
}

fn events(state: &SessionState) -> Vec<String> {
    state
        .log
        .iter()
        .filter_map(|e| match e.item {
            Item::Event(event) => Some(event.summary()),
            Item::Frame(_) => None,
        })
        .collect()
}

#[test]
fn every_ping_gets_its_round_trip_on_its_pong_row() {
    let net = Net::new().expect("runtime");
    let url = serve(&net, Peer::Answers);
    let session = net.connect_with(
        ConnectOptions::new(url),
        Notify::none(),
        None,
        keepalive(50, 2000),
    );
    wait_until("three round trips", || {
        session.state().activity.rtts.len() >= 3
    });
    let state = session.state();
    assert_eq!(state.ready_state(), ReadyState::Open);
    let pongs: Vec<u64> = state
        .log
        .iter()
        .filter_map(|e| match &e.item {
            Item::Frame(f) if f.header.opcode == OpCode::Pong => Some(e.index),
            _ => None,
        })
        .collect();
    assert!(pongs.len() >= 3, "{pongs:?}");
    for index in &pongs[..3] {
        let rtt = state
            .activity
            .rtt_of_entry(*index)
            .expect("each pong has its RTT");
        assert!(rtt < Duration::from_secs(2), "{rtt:?}");
    }
    // The pings carried sequence numbers 1, 2, 3, …
    let pings: Vec<Vec<u8>> = state
        .log
        .iter()
        .filter_map(|e| match &e.item {
            Item::Frame(f) if f.header.opcode == OpCode::Ping => Some(f.payload.to_vec()),
            _ => None,
        })
        .take(2)
        .collect();
    assert_eq!(
        pings,
        vec![1u64.to_be_bytes().to_vec(), 2u64.to_be_bytes().to_vec()]
    );
    let summary = state.activity.rtt_summary().expect("measured");
    assert!(summary.min <= summary.median && summary.median <= summary.p99);
    assert!(net.tasks().panics().is_empty());
}

#[test]
fn a_peer_that_stops_answering_fails_the_connection_with_the_reason() {
    let net = Net::new().expect("runtime");
    let url = serve(&net, Peer::Silent);
    let mut options = ConnectOptions::new(url);
    options.timeouts.close = Duration::from_millis(300);
    let started = Instant::now();
    let session = net.connect_with(options, Notify::none(), None, keepalive(100, 300));
    wait_until("the connection to end", || session.state().finished);
    let waited = started.elapsed();
    let state = session.state();
    let said = events(&state);
    assert!(
        said.iter()
            .any(|e| e.contains("keep-alive: no pong within 0.3 s")),
        "{said:?}"
    );
    // The first ping goes at 100 ms, its pong is due by 400 ms; then the close handshake.
    assert!(waited >= Duration::from_millis(400), "{waited:?}");
    let sent_close = state.log.iter().any(|e| match &e.item {
        Item::Frame(f) => {
            f.header.opcode == OpCode::Close
                && f.payload.get(..2) == Some(&CloseCode::INTERNAL_ERROR.0.to_be_bytes()[..])
        }
        _ => false,
    });
    assert!(sent_close, "a close frame with 1011 was sent: {said:?}");
    assert!(matches!(
        state.log.iter().last().map(|e| e.item),
        Some(Item::Event(event)) if matches!(*event, LifecycleEvent::Close { .. })
    ));
    assert_eq!(state.ready_state(), ReadyState::Closed);
}
