//! The relay's intercept and fault injection, seen from the far side: a tokio-tungstenite
//! client relayed to a tokio-tungstenite server that answers each text with "echo: TEXT".
//! Held messages are forwarded, edited, dropped; a message is injected; pings pass while
//! messages are held; each fault — a drop, a delay, a corrupted byte, RSV bits, pings not
//! forwarded, delayed pongs, a close with a code, a TCP reset — is observed by the peer and
//! marked in the log.

use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as TungsteniteCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use ws_inspector_core::log::Item;
use ws_inspector_core::relay::control::{Faults, RelaySettings, Release, Way};
use ws_inspector_core::relay::{Relay, RelayOptions, RelayedClient};
use ws_inspector_core::session::SessionState;
use ws_inspector_core::{Net, Notify};
use ws_tokio::ConnectOptions;
use ws_tokio::Outgoing;
use ws_tokio::ws_proto::CloseCode;

type Client = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// What the server's tungstenite said when reading failed.
type Errors = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// A tungstenite server answering each text with "echo: TEXT" (tungstenite answers pings);
/// a read error ends the connection and is kept in `errors`.
fn echo_server(rt: &tokio::runtime::Runtime, errors: Errors) -> String {
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).expect("bind");
    let addr = listener.local_addr().expect("address");
    rt.spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let errors = errors.clone();
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                while let Some(message) = ws.next().await {
                    match message {
                        Ok(Message::Text(text)) => {
                            let _ = ws.send(Message::text(format!("echo: {text}"))).await;
                        }
                        Ok(_) => {}
                        Err(e) => {
                            if let Ok(mut errors) = errors.lock() {
                                errors.push(e.to_string());
                            }
                            break;
                        }
                    }
                }
            });
        }
    });
    format!("ws://{addr}/")
}

struct Setup {
    rt: tokio::runtime::Runtime,
    _net: Net,
    relay: Relay,
    relayed: RelayedClient,
    client: Client,
    errors: Errors,
}

fn setup() -> Setup {
    setup_with(false)
}

/// A relay whose legs answer pings themselves when `answer_pings`.
fn setup_with(answer_pings: bool) -> Setup {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let errors = Errors::default();
    let upstream = echo_server(&rt, errors.clone());
    let net = Net::new().expect("net");
    let options = RelayOptions {
        addr: "127.0.0.1:0".to_owned(),
        upstream: ConnectOptions::new(upstream),
        fixed_protocols: false,
        tls: None,
        token: None,
        answer_pings,
        whole_messages: false,
    };
    let mut relay = net.relay(options, Notify::none()).expect("relay");
    let (client, _) = rt
        .block_on(tokio_tungstenite::connect_async(relay.url()))
        .expect("connect through the relay");
    let end = Instant::now() + Duration::from_secs(10);
    let relayed = loop {
        if let Some(relayed) = relay.take_accepted().into_iter().next() {
            break relayed;
        }
        assert!(Instant::now() < end, "no client was relayed");
        std::thread::sleep(Duration::from_millis(10));
    };
    Setup {
        rt,
        _net: net,
        relay,
        relayed,
        client,
        errors,
    }
}

impl Setup {
    fn set(&self, change: impl FnOnce(&mut RelaySettings)) {
        let mut settings = self.relay.settings();
        change(&mut settings);
        self.relay.set_settings(settings);
    }

    fn send(&mut self, message: Message) {
        self.rt.block_on(self.client.send(message)).expect("send");
    }

    /// The next text, close or error the client gets within `wait` (pongs are skipped
    /// unless asked for).
    fn next(&mut self, wait: Duration, pongs: bool) -> Option<Result<Message, tungstenite::Error>> {
        self.rt.block_on(async {
            let end = tokio::time::Instant::now() + wait;
            loop {
                match tokio::time::timeout_at(end, self.client.next()).await {
                    Ok(Some(Ok(Message::Pong(_)))) if !pongs => continue,
                    Ok(Some(Ok(Message::Ping(_)))) => continue,
                    Ok(Some(result)) => return Some(result),
                    Ok(None) | Err(_) => return None,
                }
            }
        })
    }

    fn text(&mut self) -> String {
        match self.next(Duration::from_secs(5), false) {
            Some(Ok(Message::Text(text))) => text.to_string(),
            other => panic!("expected a text, got {other:?}"),
        }
    }

    fn wait_held(&self, way: Way, n: usize) -> Vec<u64> {
        let end = Instant::now() + Duration::from_secs(5);
        loop {
            let held = self.relayed.control.held(way);
            if held.len() >= n {
                return held.iter().map(|h| h.id).collect();
            }
            assert!(Instant::now() < end, "{n} held messages did not come");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// The `fault` events of a leg's log.
fn faults(state: &SessionState) -> Vec<String> {
    state
        .log
        .iter()
        .filter_map(|e| match e.item {
            Item::Event(event) if event.name() == "fault" => Some(event.summary()),
            _ => None,
        })
        .collect()
}

fn server_faults(setup: &Setup) -> Vec<String> {
    faults(&setup.relayed.server.state())
}

#[test]
fn held_messages_are_forwarded_edited_dropped_and_pings_still_pass() {
    let mut s = setup();
    s.set(|settings| settings.paused[Way::ToServer.index()] = true);
    s.send(Message::text("one"));
    s.send(Message::text("two"));
    s.send(Message::text("three"));
    let ids = s.wait_held(Way::ToServer, 3);
    // Held: nothing came back, but a ping passes and its pong returns.
    s.send(Message::Ping(b"p".to_vec().into()));
    match s.next(Duration::from_secs(5), true) {
        Some(Ok(Message::Pong(data))) => assert_eq!(&data[..], b"p"),
        other => panic!("expected the pong while messages are held, got {other:?}"),
    }
    let control = s.relayed.control.clone();
    control
        .release(Way::ToServer, Release::Forward(ids[0]))
        .expect("forward");
    assert_eq!(s.text(), "echo: one");
    control
        .release(
            Way::ToServer,
            Release::Replace(ids[1], Outgoing::Text("TWO!".into())),
        )
        .expect("edit");
    assert_eq!(s.text(), "echo: TWO!");
    control
        .release(Way::ToServer, Release::Drop(ids[2]))
        .expect("drop");
    assert!(
        s.next(Duration::from_millis(300), false).is_none(),
        "dropped"
    );
    // Unpaused, with nothing held: straight through; an injected message reaches the client.
    s.set(|settings| settings.paused[Way::ToServer.index()] = false);
    s.send(Message::text("four"));
    assert_eq!(s.text(), "echo: four");
    s.relayed
        .control
        .release(
            Way::ToClient,
            Release::Inject(Outgoing::Text("from the inspector".into())),
        )
        .expect("inject");
    assert_eq!(s.text(), "from the inspector");
    let marks = server_faults(&s);
    assert!(marks.iter().any(|m| m.contains("edited")), "{marks:?}");
    assert!(
        marks.iter().any(|m| m.contains("dropped by the user")),
        "{marks:?}"
    );
    let client_marks = faults(&s.relayed.client.state());
    assert!(
        client_marks.iter().any(|m| m.contains("injected")),
        "{client_marks:?}"
    );
}

#[test]
fn dropped_and_delayed_messages() {
    let mut s = setup();
    s.set(|settings| {
        settings.faults[Way::ToServer.index()] = Faults {
            drop_percent: 100.0,
            ..Faults::default()
        }
    });
    s.send(Message::text("lost"));
    assert!(
        s.next(Duration::from_millis(300), false).is_none(),
        "dropped"
    );
    assert!(
        server_faults(&s)
            .iter()
            .any(|m| m.contains("dropped (100 %"))
    );
    s.set(|settings| {
        settings.faults[Way::ToServer.index()] = Faults {
            delay_ms: 250,
            ..Faults::default()
        }
    });
    let sent = Instant::now();
    s.send(Message::text("late"));
    assert_eq!(s.text(), "echo: late");
    assert!(
        sent.elapsed() >= Duration::from_millis(250),
        "{:?}",
        sent.elapsed()
    );
}

#[test]
fn a_corrupted_byte_and_rsv_bits_fail_the_far_side() {
    let mut s = setup();
    // 'é' is two bytes; flipping either gives invalid UTF-8: the server's tungstenite fails
    // the connection, and the relay tells the client which leg failed.
    s.set(|settings| {
        settings.faults[Way::ToServer.index()] = Faults {
            corrupt: true,
            ..Faults::default()
        }
    });
    s.send(Message::text("é"));
    match s.next(Duration::from_secs(5), false) {
        Some(Ok(Message::Close(Some(frame)))) => {
            assert_eq!(frame.code, TungsteniteCode::Error, "1011: {frame:?}");
            assert!(frame.reason.contains("the server leg failed"), "{frame:?}");
        }
        other => panic!("expected the server leg's failure relayed, got {other:?}"),
    }
    let errors = s.errors.lock().map(|e| e.clone()).unwrap_or_default();
    assert!(
        errors.iter().any(|e| e.to_lowercase().contains("utf-8")),
        "the server saw invalid UTF-8: {errors:?}"
    );
    assert!(server_faults(&s).iter().any(|m| m.contains("flipped")));

    let mut s = setup();
    s.set(|settings| {
        settings.faults[Way::ToClient.index()] = Faults {
            rsv_bits: 0b100,
            ..Faults::default()
        }
    });
    s.send(Message::text("x"));
    match s.next(Duration::from_secs(5), false) {
        Some(Err(tungstenite::Error::Protocol(e))) => {
            assert!(e.to_string().to_lowercase().contains("reserved"), "{e}");
        }
        other => panic!("expected the client to refuse RSV1, got {other:?}"),
    }
}

#[test]
fn pings_not_forwarded_and_pongs_delayed() {
    let mut s = setup();
    s.set(|settings| settings.faults[Way::ToServer.index()].drop_pings = true);
    s.send(Message::Ping(b"1".to_vec().into()));
    assert!(
        s.next(Duration::from_millis(300), true).is_none(),
        "no pong"
    );
    s.set(|settings| {
        settings.faults[Way::ToServer.index()].drop_pings = false;
        settings.faults[Way::ToClient.index()].pong_delay_ms = 250;
    });
    let sent = Instant::now();
    s.send(Message::Ping(b"2".to_vec().into()));
    match s.next(Duration::from_secs(5), true) {
        Some(Ok(Message::Pong(data))) => assert_eq!(&data[..], b"2"),
        other => panic!("expected the delayed pong, got {other:?}"),
    }
    assert!(
        sent.elapsed() >= Duration::from_millis(250),
        "{:?}",
        sent.elapsed()
    );
}

#[test]
fn a_close_with_a_code_and_a_reset() {
    let mut s = setup();
    s.relayed
        .control
        .release(
            Way::ToClient,
            Release::Close(Some(CloseCode(4001)), "bye".into()),
        )
        .expect("close");
    match s.next(Duration::from_secs(5), false) {
        Some(Ok(Message::Close(Some(frame)))) => {
            assert_eq!(u16::from(frame.code), 4001);
            assert_eq!(frame.reason.as_str(), "bye");
        }
        other => panic!("expected close 4001, got {other:?}"),
    }

    let mut s = setup();
    s.relayed
        .control
        .release(Way::ToServer, Release::Reset)
        .expect("reset");
    match s.next(Duration::from_secs(5), false) {
        Some(Err(tungstenite::Error::Io(e))) => {
            assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}");
        }
        other => panic!("expected the connection reset (an RST), got {other:?}"),
    }
    assert!(server_faults(&s).iter().any(|m| m.contains("reset")));
}

#[test]
fn a_message_refragmented_is_reassembled_by_the_far_side() {
    let mut s = setup();
    s.set(|settings| settings.faults[Way::ToServer.index()].fragments = 3);
    s.send(Message::text("fragmented on the way"));
    assert_eq!(
        s.text(),
        "echo: fragmented on the way",
        "tungstenite joined the frames"
    );
    let sent = frames_sent(|| s.relayed.server.state(), 3);
    let state = s.relayed.server.state();
    use ws_tokio::ws_proto::OpCode::{Continuation, Text};
    assert_eq!(
        sent,
        [(Text, false), (Continuation, false), (Continuation, true)],
        "three frames on the server leg's wire"
    );
    assert!(
        faults(&state)
            .iter()
            .any(|m| m.contains("sent in 3 frames"))
    );
}

#[test]
fn with_auto_pong_chosen_the_relay_answers_pings_and_forwards_none() {
    let mut s = setup_with(true);
    s.send(Message::Ping(b"here".to_vec().into()));
    match s.next(Duration::from_secs(5), true) {
        Some(Ok(Message::Pong(data))) => assert_eq!(&data[..], b"here"),
        other => panic!("expected the relay's pong, got {other:?}"),
    }
    s.send(Message::text("after"));
    assert_eq!(s.text(), "echo: after");
    // The server leg's log has the text sent after the ping (its reports lag a little).
    let end = Instant::now() + Duration::from_secs(5);
    while s.relayed.server.state().traffic.frames_in < 1 && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(10));
    }
    let state = s.relayed.server.state();
    assert!(state.traffic.frames_out >= 1 && state.traffic.frames_in >= 1);
    let pings = state
        .log
        .iter()
        .filter(|e| matches!(&e.item, Item::Frame(f) if f.header.opcode == ws_tokio::ws_proto::OpCode::Ping))
        .count();
    assert_eq!(pings, 0, "no ping went upstream");
}

/// A listener that echoes, with `faults`, and a tungstenite client connected to it.
fn listening(
    faults: Faults,
) -> (
    tokio::runtime::Runtime,
    Net,
    ws_inspector_core::listener::Client,
    Client,
) {
    use ws_inspector_core::listener::{ListenerOptions, ServerChoices};
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let net = Net::new().expect("net");
    let options = ListenerOptions {
        choices: ServerChoices {
            echo: true,
            faults,
            ..ServerChoices::default()
        },
        ..ListenerOptions::default()
    };
    let mut listener = net.listen(&options, Notify::none()).expect("listen");
    let (client, _) = rt
        .block_on(tokio_tungstenite::connect_async(listener.url()))
        .expect("connect");
    let end = Instant::now() + Duration::from_secs(10);
    let accepted = loop {
        if let Some(accepted) = listener.take_accepted().into_iter().next() {
            break accepted;
        }
        assert!(Instant::now() < end, "no client was accepted");
        std::thread::sleep(Duration::from_millis(10));
    };
    (rt, net, accepted, client)
}

#[test]
fn a_listener_injects_faults_into_what_it_sends_and_resets_on_demand() {
    let chosen = Faults {
        fragments: 2,
        pong_delay_ms: 250,
        ..Faults::default()
    };
    let (rt, _net, accepted, mut client) = listening(chosen);
    rt.block_on(client.send(Message::text("split me")))
        .expect("send");
    let echo = rt
        .block_on(async { tokio::time::timeout(Duration::from_secs(5), client.next()).await })
        .expect("in time");
    assert!(
        matches!(echo, Some(Ok(Message::Text(ref t))) if t.as_str() == "split me"),
        "{echo:?}"
    );
    let sent = Instant::now();
    rt.block_on(client.send(Message::Ping(b"late".to_vec().into())))
        .expect("ping");
    let pong = rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                match client.next().await {
                    Some(Ok(Message::Pong(data))) => return Some(data),
                    Some(Ok(_)) => continue,
                    _ => return None,
                }
            }
        })
        .await
    });
    assert_eq!(pong.ok().flatten().as_deref(), Some(&b"late"[..]));
    assert!(
        sent.elapsed() >= Duration::from_millis(250),
        "{:?}",
        sent.elapsed()
    );
    let marks = faults(&accepted.session.state());
    assert!(
        marks.iter().any(|m| m.contains("sent in 2 frames")),
        "{marks:?}"
    );
    assert!(
        marks.iter().any(|m| m.contains("pong delayed")),
        "{marks:?}"
    );

    accepted.session.reset().expect("reset");
    let after = rt
        .block_on(async { tokio::time::timeout(Duration::from_secs(5), client.next()).await })
        .unwrap_or_else(|_| {
            let state = accepted.session.state();
            panic!(
                "nothing came after the reset: {:?} {:?}",
                faults(&state),
                state.last_error
            )
        });
    // The listener's connection is run by a task that ends the TCP stream when its reading
    // ends: the client sees the end without a close frame (an RST follows), where the
    // relay's reset is an RST at once (above).
    match after {
        Some(Err(tungstenite::Error::Io(e))) => {
            assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}");
        }
        Some(Err(tungstenite::Error::Protocol(
            tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
        ))) => {}
        other => panic!("expected the connection cut without a close, got {other:?}"),
    }
}

#[test]
fn a_listener_can_leave_pings_unanswered() {
    let (rt, _net, _accepted, mut client) = listening(Faults {
        drop_pings: true,
        ..Faults::default()
    });
    rt.block_on(client.send(Message::Ping(b"anyone".to_vec().into())))
        .expect("ping");
    let pong = rt
        .block_on(async { tokio::time::timeout(Duration::from_millis(400), client.next()).await });
    assert!(pong.is_err(), "no pong: {pong:?}");
}

/// The opcodes and FIN bits of the frames a leg has sent, once `n` of them are in its log
/// (its tap reports reach its state a moment after the frames left).
fn frames_sent<G: std::ops::Deref<Target = SessionState>>(
    state: impl Fn() -> G,
    n: usize,
) -> Vec<(ws_tokio::ws_proto::OpCode, bool)> {
    let sent = |state: &SessionState| -> Vec<(ws_tokio::ws_proto::OpCode, bool)> {
        state
            .log
            .iter()
            .filter_map(|e| match &e.item {
                Item::Frame(f) if f.direction == ws_tokio::ws_proto::Direction::Outgoing => {
                    Some((f.header.opcode, f.header.fin))
                }
                _ => None,
            })
            .collect()
    };
    let end = Instant::now() + Duration::from_secs(5);
    while sent(&state()).len() < n && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(10));
    }
    sent(&state())
}

/// A text sent by the client in two frames with a ping between them, as raw frames.
fn send_fragmented_with_ping(s: &mut Setup, first: &str, rest: &str) {
    use tungstenite::protocol::frame::Frame;
    use tungstenite::protocol::frame::coding::{Data, OpCode};
    s.send(Message::Frame(Frame::message(
        first.to_owned(),
        OpCode::Data(Data::Text),
        false,
    )));
    s.send(Message::Ping(b"between".to_vec().into()));
    s.send(Message::Frame(Frame::message(
        rest.to_owned(),
        OpCode::Data(Data::Continue),
        true,
    )));
}

#[test]
fn a_fragmented_message_is_forwarded_frame_for_frame_with_the_ping_in_its_place() {
    use ws_tokio::ws_proto::OpCode::{Continuation, Ping, Text};
    let mut s = setup();
    send_fragmented_with_ping(&mut s, "frag", "mented");
    assert_eq!(
        s.text(),
        "echo: fragmented",
        "tungstenite joined the frames"
    );
    let sent = frames_sent(|| s.relayed.server.state(), 3);
    assert_eq!(
        sent,
        [(Text, false), (Ping, true), (Continuation, true)],
        "the server leg's wire has the client's frames, in their order"
    );
}

#[test]
fn a_fragmented_message_is_held_whole_while_its_direction_is_paused() {
    use ws_tokio::ws_proto::OpCode::{Ping, Text};
    let mut s = setup();
    s.set(|settings| settings.paused[Way::ToServer.index()] = true);
    send_fragmented_with_ping(&mut s, "held ", "whole");
    let ids = s.wait_held(Way::ToServer, 1);
    let held = s.relayed.control.held(Way::ToServer);
    assert_eq!(held[0].message, Outgoing::Text("held whole".to_owned()));
    s.relayed
        .control
        .release(Way::ToServer, Release::Forward(ids[0]))
        .expect("released");
    assert_eq!(s.text(), "echo: held whole");
    // The ping was not held; the message went in one frame once forwarded.
    assert_eq!(
        frames_sent(|| s.relayed.server.state(), 2),
        [(Ping, true), (Text, true)]
    );
}
