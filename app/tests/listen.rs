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
    wait_for(&mut harness, "the client's frame", |h| {
        has_label(h, "hello from the client")
    });
    assert!(has_label(&harness, "Request (as received)"));
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

#[test]
fn a_relay_shows_both_legs() {
    let upstream = serve(|sender, mut receiver| async move {
        while let Some(Ok(message)) = receiver.recv().await {
            if let Message::Text(text) = message {
                let _ = sender.send_text(format!("echo: {text}")).await;
            }
        }
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let mut harness = harness(dir.path());
    harness.run();
    harness.get_by_label("New relay").click();
    harness.run();
    type_into(&mut harness, "Upstream URL", &upstream.url);
    harness.get_by_label("Start relay").click();
    wait_for(&mut harness, "the relay's URL", |h| {
        h.state().server_tab_url().is_some()
    });
    harness.run();
    let url = harness.state().server_tab_url().expect("url");

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
    drop(ws);
    assert_no_task_panicked(&harness);
}
