//! The relay between our client (offering permessage-deflate) and Python `websockets`'
//! echo server (tests/python/echo_server.py, permessage-deflate on): both legs negotiate
//! compression, each on its own, and each leg's session shows what it agreed.
//!
//! `#[ignore]`d like the other Python interop tests (the conformance command runs them:
//! `cargo test -p ws-tests -p wsi -- --ignored`); the venv comes from
//! tests/python/setup.sh, which fails loudly when Python 3 is missing.

use std::time::{Duration, Instant};

use ws_inspector_core::relay::RelayOptions;
use ws_inspector_core::{Net, Notify};
use ws_tokio::ws_proto::DeflateConfig;
use ws_tokio::{ConnectOptions, Message};

#[test]
#[ignore = "interop with Python websockets: cargo test -p ws-tests -p wsi -- --ignored, which .ci/run runs"]
fn a_relay_to_python_websockets_shows_compression_per_leg() {
    let server = ws_tests::python_echo_server(30);
    let port = server.port;

    let net = Net::new().expect("runtime");
    let options = RelayOptions {
        addr: "127.0.0.1:0".to_owned(),
        upstream: ConnectOptions::new(format!("ws://127.0.0.1:{port}/")),
        fixed_protocols: false,
        tls: None,
        token: None,
        answer_pings: false,
        whole_messages: false,
    };
    let mut relay = net.relay(options, Notify::new(|_| {})).expect("relay");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let mut connect = ConnectOptions::new(format!("{}py", relay.url()));
    connect.config.deflate = Some(DeflateConfig::default());
    let mut ws = rt.block_on(ws_tokio::connect(connect)).expect("connect");
    assert!(
        ws.handshake().deflate.is_some(),
        "the client leg compresses"
    );
    let text = "compress me ".repeat(50);
    rt.block_on(ws.send_text(text.clone())).expect("send");
    let echo = rt
        .block_on(async { tokio::time::timeout(Duration::from_secs(10), ws.recv()).await })
        .expect("in time")
        .expect("a message")
        .expect("ok");
    assert_eq!(echo, Message::Text(text.into()));

    let end = Instant::now() + Duration::from_secs(10);
    let relayed = loop {
        if let Some(client) = relay.take_accepted().into_iter().next() {
            break client;
        }
        assert!(Instant::now() < end, "no client relayed");
        std::thread::sleep(Duration::from_millis(10));
    };
    while relayed.server.state().traffic.frames_in < 1
        || relayed.client.state().traffic.frames_out < 1
    {
        assert!(Instant::now() < end, "the legs' frames");
        std::thread::sleep(Duration::from_millis(10));
    }
    for (leg, session) in [("client", &relayed.client), ("server", &relayed.server)] {
        let state = session.state();
        assert!(
            state.handshake.deflate.is_some(),
            "the {leg} leg agreed to compress"
        );
        assert!(
            state
                .handshake
                .extensions
                .iter()
                .any(|e| e.starts_with("permessage-deflate")),
            "the {leg} leg shows permessage-deflate: {:?}",
            state.handshake.extensions
        );
    }
    assert!(
        net.tasks().panics().is_empty(),
        "{:?}",
        net.tasks().panics()
    );
}
