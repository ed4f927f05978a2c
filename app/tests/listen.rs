//! Listen and relay tabs, driven headless: open a listener, connect to it from the test,
//! see the client's handshake and frames, send to it from the composer; ask before binding
//! beyond loopback; relay a client to an upstream server and see both legs.

mod support;

use std::time::Duration;

use egui_kittest::kittest::Queryable;
use support::{
    assert_no_task_panicked, count_label, harness, has_label, has_value_containing, serve,
    type_into, wait_for,
};
use ws_tokio::{ConnectOptions, Message};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("runtime")
}

#[test]
fn a_listener_shows_its_client_and_sends_to_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut harness = harness(dir.path());
    harness.run();
    harness.get_by_label("New listener").click();
    harness.run();
    assert!(
        has_value_containing(&harness, "127.0.0.1:0"),
        "the default address is loopback, any port"
    );
    harness.get_by_label("Listen").click();
    wait_for(&mut harness, "the listener's URL", |h| {
        h.state().server_tab_url().is_some()
    });
    harness.run();
    let url = harness.state().server_tab_url().expect("url");
    assert!(
        url.starts_with("ws://127.0.0.1:") && !url.ends_with(":0/"),
        "{url}"
    );
    assert!(has_label(&harness, &url), "the chosen port is shown");
    assert!(has_label(&harness, &format!("new WebSocket(\"{url}\")")));
    assert!(has_label(&harness, "Copy URL") && has_label(&harness, "Copy JS"));

    let rt = runtime();
    let mut options = ConnectOptions::new(format!("{url}chat?room=1"));
    options.request.protocols = vec!["chat".to_owned()];
    let mut ws = rt.block_on(ws_tokio::connect(options)).expect("connect");
    rt.block_on(ws.send_text("hello from the client"))
        .expect("send");
    // The log and the handshake panel are drawn from the state as it is when each is
    // drawn: wait for both, not just the frame.
    wait_for(&mut harness, "the client's frame and handshake", |h| {
        has_label(h, "hello from the client") && has_label(h, "Request (as received)")
    });
    assert!(has_label(&harness, "Response (as sent)"));
    assert!(
        harness
            .query_all_by_label_contains("/chat?room=1")
            .next()
            .is_some(),
        "the client's path is in its row"
    );

    type_into(&mut harness, "Compose", "hello from the listener");
    harness.get_by_label("Send").click();
    harness.run();
    let received = rt
        .block_on(async { tokio::time::timeout(Duration::from_secs(10), ws.recv()).await })
        .expect("in time")
        .expect("a message")
        .expect("ok");
    assert_eq!(received, Message::Text("hello from the listener".into()));
    wait_for(&mut harness, "the sent frame in the log", |h| {
        count_label(h, "hello from the listener") >= 1 && count_label(h, "⬆ out") >= 1
    });
    drop(ws);
    assert_no_task_panicked(&harness);
}

#[test]
fn binding_beyond_loopback_asks_first_and_warns() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut harness = harness(dir.path());
    harness.run();
    harness.get_by_label("New listener").click();
    harness.run();
    type_into(&mut harness, "Listen address", "0.0.0.0:0");
    harness.get_by_label("Listen").click();
    harness.run();
    assert!(has_label(&harness, "Let other machines connect?"));
    harness.get_by_label("Cancel").click();
    harness.run();
    assert!(
        harness.state().server_tab_url().is_none(),
        "nothing was bound"
    );
    harness.get_by_label("Listen").click();
    harness.run();
    harness.get_by_label("Listen on 0.0.0.0:0").click();
    wait_for(&mut harness, "the listener", |h| {
        h.state().server_tab_url().is_some()
    });
    harness.run();
    assert!(
        harness
            .query_all_by_label_contains("reachable from other machines")
            .next()
            .is_some(),
        "a standing warning"
    );
    assert_no_task_panicked(&harness);
}

/// A server that answers each text with "echo: TEXT".
fn echo_upstream() -> support::TestServer {
    serve(|sender, mut receiver| async move {
        while let Some(Ok(message)) = receiver.recv().await {
            if let Message::Text(text) = message {
                let _ = sender.send_text(format!("echo: {text}")).await;
            }
        }
    })
}

/// Opens a relay tab to `upstream` and returns the URL it listens on.
fn start_relay(
    harness: &mut egui_kittest::Harness<'static, ws_inspector::WsInspectorApp>,
    upstream: &str,
) -> String {
    start_relay_with(harness, upstream, &[])
}

/// [`start_relay`], with the relay's checkboxes labelled `checked` clicked first.
fn start_relay_with(
    harness: &mut egui_kittest::Harness<'static, ws_inspector::WsInspectorApp>,
    upstream: &str,
    checked: &[&str],
) -> String {
    harness.run();
    harness.get_by_label("New relay").click();
    harness.run();
    type_into(harness, "Upstream URL", upstream);
    for label in checked {
        harness.get_by_label(label).click();
        harness.run();
    }
    harness.get_by_label("Start relay").click();
    wait_for(harness, "the relay's URL", |h| {
        h.state().server_tab_url().is_some()
    });
    harness.run();
    harness.state().server_tab_url().expect("url")
}

#[test]
fn a_relay_shows_both_legs() {
    let upstream = echo_upstream();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut harness = harness(dir.path());
    let url = start_relay(&mut harness, &upstream.url);

    let rt = runtime();
    let mut ws = rt
        .block_on(ws_tokio::connect(ConnectOptions::new(url)))
        .expect("connect through the relay");
    rt.block_on(ws.send_text("relayed")).expect("send");
    let echo = rt
        .block_on(async { tokio::time::timeout(Duration::from_secs(10), ws.recv()).await })
        .expect("in time")
        .expect("a message")
        .expect("ok");
    assert_eq!(echo, Message::Text("echo: relayed".into()));
    wait_for(&mut harness, "both legs' frames", |h| {
        count_label(h, "relayed") == 2 && count_label(h, "echo: relayed") == 2
    });
    assert!(has_label(&harness, "Leg: client <-> inspector"));
    assert!(has_label(&harness, "Leg: inspector <-> server"));
    assert_eq!(
        harness
            .query_all_by_label_contains("subprotocol none · extensions none")
            .count(),
        2,
        "what each leg negotiated"
    );

    // One log: both legs' rows, each with its leg.
    harness.get_by_label("One log").click();
    harness.run();
    assert_eq!(
        count_label(&harness, "relayed"),
        2,
        "the text on each leg, in one log"
    );
    assert!(count_label(&harness, "client <-> inspector") >= 2);
    assert!(count_label(&harness, "inspector <-> server") >= 2);

    // Graphs, per leg.
    harness.get_by_label("Graphs").click();
    harness.run();
    assert_eq!(
        count_label(&harness, "Messages per second"),
        2,
        "a graph per leg"
    );

    // File → Save capture writes both legs, marked, in one file that opens as two tabs.
    let files = tempfile::tempdir().expect("temp dir");
    let saved = files.path().join("relay.jsonl");
    harness.get_by_label("File menu").click();
    harness.run();
    harness.get_by_label("Save capture…").click();
    harness.run();
    type_into(
        &mut harness,
        "Save capture to",
        &saved.display().to_string(),
    );
    harness.get_by_label("Save").click();
    harness.run();
    let bytes = std::fs::read(&saved).expect("the capture was written");
    let opened = ws_inspector_core::capture::load(&bytes, "relay.jsonl").expect("it opens");
    let labels: Vec<_> = opened.connections.iter().map(|c| c.label()).collect();
    assert_eq!(
        labels,
        [
            Some("conn 1 · client leg".to_owned()),
            Some("conn 1 · server leg".to_owned())
        ]
    );
    for connection in &opened.connections {
        assert_eq!(
            connection.state.traffic.frames_in,
            1,
            "{:?}",
            connection.label()
        );
        assert_eq!(
            connection.state.traffic.frames_out,
            1,
            "{:?}",
            connection.label()
        );
    }
    drop(ws);
    assert_no_task_panicked(&harness);
}

#[test]
fn a_relay_holds_forwards_and_drops_messages() {
    let upstream = echo_upstream();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut harness = harness(dir.path());
    let url = start_relay(&mut harness, &upstream.url);
    let rt = runtime();
    let mut ws = rt
        .block_on(ws_tokio::connect(ConnectOptions::new(url)))
        .expect("connect through the relay");
    wait_for(&mut harness, "the relayed client", |h| {
        has_label(h, "Leg: client <-> inspector")
    });
    harness.get_by_label("Intercept").click();
    harness.run();
    harness.get_by_label("Pause client -> server").click();
    harness.run();

    rt.block_on(ws.send_text("held one")).expect("send");
    wait_for(&mut harness, "the held message", |h| {
        has_label(h, "held one")
    });
    assert!(has_label(&harness, "1 held"));
    let quiet =
        rt.block_on(async { tokio::time::timeout(Duration::from_millis(200), ws.recv()).await });
    assert!(
        quiet.is_err(),
        "held: nothing reached the server, nothing came back"
    );
    harness.get_by_label("Forward").click();
    harness.run();
    let echo = rt
        .block_on(async { tokio::time::timeout(Duration::from_secs(10), ws.recv()).await })
        .expect("in time")
        .expect("a message")
        .expect("ok");
    assert_eq!(echo, Message::Text("echo: held one".into()));

    rt.block_on(ws.send_text("dropped one")).expect("send");
    wait_for(&mut harness, "the second held message", |h| {
        has_label(h, "dropped one")
    });
    harness.get_by_label("Drop").click();
    harness.run();
    let quiet =
        rt.block_on(async { tokio::time::timeout(Duration::from_millis(300), ws.recv()).await });
    assert!(quiet.is_err(), "dropped: the server never got it");
    wait_for(&mut harness, "nothing held", |h| has_label(h, "0 held"));
    drop(ws);
    assert_no_task_panicked(&harness);
}

/// The opcodes and FIN bits of the frames the relay's server leg sent, once `n` are logged.
fn sent_upstream(
    harness: &mut egui_kittest::Harness<'static, ws_inspector::WsInspectorApp>,
    n: usize,
) -> Vec<(ws_tokio::ws_proto::OpCode, bool)> {
    let sent = |h: &egui_kittest::Harness<'static, ws_inspector::WsInspectorApp>| {
        let Some((_, server)) = h.state().relay_legs() else {
            return Vec::new();
        };
        let state = server.state();
        state
            .log
            .iter()
            .filter_map(|e| match &e.item {
                ws_inspector_core::log::Item::Frame(f)
                    if f.direction == ws_tokio::ws_proto::Direction::Outgoing =>
                {
                    Some((f.header.opcode, f.header.fin))
                }
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    wait_for(harness, "the server leg's frames", |h| sent(h).len() >= n);
    sent(harness)
}

/// Sends "frag" + "mented" as two fragments through `url` and returns the echo.
fn send_two_fragments(url: &str) -> Message {
    let rt = runtime();
    rt.block_on(async {
        let mut ws = ws_tokio::connect(ConnectOptions::new(url))
            .await
            .expect("connect through the relay");
        for (data, fin) in [("frag", false), ("mented", true)] {
            ws.send(ws_tokio::Outgoing::Fragment {
                kind: ws_tokio::ws_proto::MessageKind::Text,
                data: data.as_bytes().to_vec().into(),
                fin,
            })
            .await
            .expect("send");
        }
        tokio::time::timeout(Duration::from_secs(10), ws.recv())
            .await
            .expect("in time")
            .expect("a message")
            .expect("ok")
    })
}

#[test]
fn a_relay_forwards_frame_for_frame_or_whole_messages_when_chosen() {
    use ws_tokio::ws_proto::OpCode::{Continuation, Text};
    let upstream = echo_upstream();
    let dir = tempfile::tempdir().expect("temp dir");

    let mut harness = harness(dir.path());
    let url = start_relay(&mut harness, &upstream.url);
    assert!(has_label(
        &harness,
        "Forwarding frame for frame: fragments, opcodes, pings and pongs, close codes and \
         reasons pass through as they came."
    ));
    assert_eq!(
        send_two_fragments(&url),
        Message::Text("echo: fragmented".into())
    );
    assert_eq!(
        sent_upstream(&mut harness, 2)[..2],
        [(Text, false), (Continuation, true)],
        "the fragments went on as fragments"
    );
    drop(harness);

    let dir = tempfile::tempdir().expect("temp dir");
    let mut harness = support::harness(dir.path());
    let url = start_relay_with(&mut harness, &upstream.url, &["Whole messages"]);
    assert!(has_label(
        &harness,
        "Forwarding whole messages (fragments are reassembled); opcodes, pings and pongs, close \
         codes and reasons pass through."
    ));
    assert_eq!(
        send_two_fragments(&url),
        Message::Text("echo: fragmented".into())
    );
    assert_eq!(
        sent_upstream(&mut harness, 1)[..1],
        [(Text, true)],
        "assembled, then sent in one frame"
    );
    assert_no_task_panicked(&harness);
}

#[test]
fn a_listener_saved_as_a_profile_opens_again_from_the_sidebar() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut harness = harness(dir.path());
    harness.run();
    harness.get_by_label("New listener").click();
    harness.run();
    type_into(&mut harness, "Token", "open-sesame");
    harness.get_by_label("Listen").click();
    wait_for(&mut harness, "the listener", |h| {
        h.state().server_tab_url().is_some()
    });
    harness.run();
    harness.get_by_label("Save as profile").click();
    harness.run();
    let saved = harness
        .state()
        .profiles()
        .profiles()
        .iter()
        .find(|p| p.server.is_some())
        .cloned()
        .expect("a server profile was saved");
    let server = saved.server.clone().expect("server");
    assert_eq!(server.addr, "127.0.0.1:0");
    assert_eq!(server.choices.token.as_deref(), Some("open-sesame"));
    let before = harness.state().server_tab_count();
    harness.get_by_label(&saved.name).click();
    harness.run();
    wait_for(&mut harness, "the second listener", |h| {
        h.state().server_tab_count() == before + 1 && h.state().server_tab_url().is_some()
    });
    // The token came back with it: an upgrade without it is refused.
    let url = harness.state().server_tab_url().expect("url");
    let rt = runtime();
    match rt.block_on(ws_tokio::connect(ConnectOptions::new(url.clone()))) {
        Err(e) => assert!(e.to_string().contains("401"), "{e}"),
        Ok(_) => panic!("accepted without the token"),
    }
    rt.block_on(ws_tokio::connect(ConnectOptions::new(format!(
        "{url}?token=open-sesame"
    ))))
    .expect("accepted with the token");
    assert_no_task_panicked(&harness);
}
