//! Payload decoders in the app, driven headless against test servers: a profile's
//! MessagePack decoder shows a received payload decoded in the log's preview and as a tree
//! in the payload pane, a truncated one with the decoder's error at its byte, and the
//! filter finds the decoded text; a Socket.IO profile labels packets by type and hides
//! Engine.IO heartbeats behind one count.

mod support;

use std::time::Duration;

use egui_kittest::kittest::Queryable;
use support::{
    assert_no_task_panicked, click_text_starting, count_label, harness, has_label, serve,
    type_into, wait_for,
};
use ws_inspector_core::decode::{Decoder, DirectionalDecoders};
use ws_inspector_core::profiles::Profile;

/// Writes a profile file into the config folder (the store reads `*.ron` there).
fn profile(dir: &std::path::Path, file: &str, ron: &str) {
    std::fs::write(dir.join(file), ron).expect("write the profile");
}

fn open_and_connect(
    harness: &mut egui_kittest::Harness<'static, ws_inspector::WsInspectorApp>,
    name: &str,
) {
    harness.run();
    harness.get_by_label(name).click();
    harness.run();
    harness.get_by_label("Connect").click();
    wait_for(harness, "readyState 1 OPEN", |h| has_label(h, "1 OPEN"));
}

fn has_label_containing(
    harness: &egui_kittest::Harness<'static, ws_inspector::WsInspectorApp>,
    text: &str,
) -> bool {
    harness.query_all_by_label_contains(text).next().is_some()
}

#[test]
fn profiles_store_decoders_and_old_ones_load_without() {
    let old: Profile = ron::from_str("(name: \"Old\")").expect("an old profile loads");
    assert_eq!(old.decoders, DirectionalDecoders::default());
    let new: Profile =
        ron::from_str("(name: \"New\", decoders: (incoming: Some(MessagePack)))").expect("loads");
    assert_eq!(new.decoders.incoming, Some(Decoder::MessagePack));
    assert_eq!(new.decoders.outgoing, None);
}

#[test]
fn messagepack_payloads_show_decoded_and_as_a_tree() {
    // {"user":"ann","ids":[1,2]}, then a map cut short after its key's header.
    let server = serve(|sender, mut receiver| async move {
        let whole: &[u8] = &[
            0x82, 0xa4, b'u', b's', b'e', b'r', 0xa3, b'a', b'n', b'n', 0xa3, b'i', b'd', b's',
            0x92, 0x01, 0x02,
        ];
        let _ = sender.send_binary(whole.to_vec()).await;
        let _ = sender.send_binary(vec![0x81, 0xa1]).await;
        while receiver.recv().await.is_some() {}
    });
    let dir = tempfile::tempdir().expect("temp dir");
    profile(
        dir.path(),
        "packed.ron",
        &format!(
            "(name: \"Packed\", url: \"{}\", decoders: (incoming: Some(MessagePack)))",
            server.url
        ),
    );
    let mut harness = harness(dir.path());
    open_and_connect(&mut harness, "Packed");
    let decoded = r#"{"user":"ann","ids":[1,2]}"#;
    wait_for(&mut harness, "the decoded preview", |h| {
        has_label(h, decoded)
    });
    wait_for(&mut harness, "the error of the truncated one", |h| {
        has_label(h, "(not msgpack: byte 1)")
    });
    assert!(
        has_label(&harness, "Hide heartbeats"),
        "a decoder brings the heartbeat switch"
    );

    // The payload pane: a tree, with Copy as JSON.
    click_text_starting(&mut harness, decoded);
    assert!(has_label(&harness, "Decoded"), "the Decoded view");
    assert!(has_label(&harness, "Copy as JSON"));
    assert!(has_label(&harness, "map (2)"), "the map's header");
    assert!(has_label(&harness, "user") && has_label(&harness, "\"ann\""));
    assert!(has_label(&harness, "array (2)"), "the array's header");
    assert!(
        count_label(&harness, "Copy JSON") >= 2,
        "a copy per subtree"
    );
    harness.get_by_label("Copy as JSON").click();
    harness.run();

    // The truncated payload: its bytes, and where the decoder stopped.
    click_text_starting(&mut harness, "(not msgpack");
    assert!(
        has_label_containing(&harness, "Does not decode as msgpack: at byte 1"),
        "the error at its byte"
    );
    assert!(
        harness
            .query_all_by(|node| node.value().is_some_and(|v| v.contains("81 a1")))
            .next()
            .is_some(),
        "the hex dump under it"
    );

    // The filter searches the decoded text (the raw bytes have no `"ids":[1,2]`).
    type_into(&mut harness, "Filter", r#""ids":[1,2]"#);
    wait_for(&mut harness, "the filter applied", |h| {
        has_label(h, decoded) && !has_label(h, "(not msgpack: byte 1)")
    });
    assert_no_task_panicked(&harness);
}

#[test]
fn socketio_heartbeats_fold_into_a_count() {
    let server = serve(|sender, mut receiver| async move {
        let _ = sender
            .send_text(r#"0{"sid":"s1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#)
            .await;
        let _ = sender.send_text(r#"40{"sid":"n1"}"#).await;
        for _ in 0..3 {
            let _ = sender.send_text("2").await;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let _ = sender.send_text(r#"42["chat","hi"]"#).await;
        let _ = sender.send_text(r#"421["chat","ack me"]"#).await;
        while receiver.recv().await.is_some() {}
    });
    let dir = tempfile::tempdir().expect("temp dir");
    // No decoder chosen: the URL's EIO=4 says Socket.IO.
    profile(
        dir.path(),
        "chat.ron",
        &format!(
            "(name: \"Chat\", url: \"{}socket.io/?EIO=4&transport=websocket\", \
             speak_protocol: false)",
            server.url
        ),
    );
    let mut harness = harness(dir.path());
    open_and_connect(&mut harness, "Chat");
    wait_for(&mut harness, "the event", |h| {
        has_label(h, r#"["chat","hi"]"#)
    });
    wait_for(&mut harness, "the three pings", |h| {
        count_label(h, "ping") == 3
    });
    assert!(has_label(&harness, "open") && has_label(&harness, "connect"));
    assert!(
        has_label(&harness, "Packet"),
        "the packet type has a column of its own"
    );
    assert!(
        has_label(&harness, r#"#1 ["chat","ack me"]"#),
        "the ack id before the data"
    );

    harness.get_by_label("Hide heartbeats").click();
    wait_for(&mut harness, "the pings hidden", |h| {
        count_label(h, "ping") == 0 && has_label(h, "3 heartbeats hidden")
    });
    assert!(has_label(&harness, r#"["chat","hi"]"#), "the rest stays");
    assert!(
        has_label_containing(&harness, "3 heartbeats folded"),
        "the run of pings is one counter row"
    );

    // The event's tree: a packet with its type, an array of name and argument.
    click_text_starting(&mut harness, r#"["chat","hi"]"#);
    assert!(has_label(&harness, "socket.io"));
    assert!(has_label(&harness, "array (2)"));
    assert!(has_label(&harness, "\"chat\"") && has_label(&harness, "\"hi\""));

    harness.get_by_label("Hide heartbeats").click();
    wait_for(&mut harness, "the pings back", |h| {
        count_label(h, "ping") == 3
    });
    assert_no_task_panicked(&harness);
}

/// Scrolls the widget labelled `label` into view.
fn scroll_to(
    harness: &mut egui_kittest::Harness<'static, ws_inspector::WsInspectorApp>,
    label: &str,
) {
    harness.get_by_label(label).scroll_to_me();
    harness.run();
}

/// Scrolls the widget labelled `label` into view and clicks it.
fn click_in_view(
    harness: &mut egui_kittest::Harness<'static, ws_inspector::WsInspectorApp>,
    label: &str,
) {
    scroll_to(harness, label);
    harness.get_by_label(label).click();
    harness.run();
}

#[test]
fn the_options_choose_a_decoder_per_direction() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut harness = harness(dir.path());
    harness.run();
    harness.get_by_label("Options").click();
    harness.run();
    assert!(has_label(&harness, "Decoding"));
    let decoders = |h: &egui_kittest::Harness<'static, ws_inspector::WsInspectorApp>| {
        let settings = h.state().settings_to_save();
        settings.tabs[settings.active_tab].profile.decoders.clone()
    };
    assert_eq!(decoders(&harness), DirectionalDecoders::default());
    click_in_view(&mut harness, "Received");
    harness.get_by_label("MessagePack").click();
    harness.run();
    assert_eq!(decoders(&harness).incoming, Some(Decoder::MessagePack));
    assert_eq!(
        decoders(&harness).outgoing,
        None,
        "the other way stays auto"
    );
    click_in_view(&mut harness, "Same both ways");
    assert_eq!(
        decoders(&harness),
        DirectionalDecoders::both(Decoder::MessagePack)
    );

    // Protobuf: a schema file and a message type; a file that is not there says so.
    click_in_view(&mut harness, "Sent");
    harness.get_by_label("Protobuf").click();
    harness.run();
    assert!(has_label(&harness, "Give the schema and the message type."));
    let missing = dir.path().join("missing.proto");
    scroll_to(&mut harness, "  Schema");
    type_into(&mut harness, "  Schema", &missing.display().to_string());
    scroll_to(&mut harness, "  Message type");
    type_into(&mut harness, "  Message type", "chat.Message");
    harness.run();
    assert!(
        has_label_containing(&harness, "missing.proto"),
        "the load error names the file"
    );
    assert!(matches!(
        decoders(&harness).outgoing,
        Some(Decoder::Protobuf { ref message_type, .. }) if message_type == "chat.Message"
    ));
}

#[test]
fn the_inspector_speaks_socketio_joining_and_answering_pings() {
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = got.clone();
    let server = serve(move |sender, mut receiver| {
        let seen = seen.clone();
        async move {
            let _ = sender
                .send_text(r#"0{"sid":"s1","upgrades":[],"pingInterval":300,"pingTimeout":2000,"maxPayload":1000000}"#)
                .await;
            while let Some(Ok(ws_tokio::Message::Text(text))) = receiver.recv().await {
                let text = text.as_str().to_owned();
                seen.lock().expect("lock").push(text.clone());
                match text.as_str() {
                    "40" => {
                        let _ = sender.send_text(r#"40{"sid":"n1"}"#).await;
                        let _ = sender.send_text("2").await;
                    }
                    "3" => {
                        let _ = sender.send_text(r#"42["welcome","ann"]"#).await;
                    }
                    _ => {}
                }
            }
        }
    });
    let dir = tempfile::tempdir().expect("temp dir");
    // Speaking is on unless turned off; Socket.IO is detected from the URL's EIO=4.
    profile(
        dir.path(),
        "talk.ron",
        &format!(
            "(name: \"Talk\", url: \"{}socket.io/?EIO=4&transport=websocket\")",
            server.url
        ),
    );
    let mut harness = harness(dir.path());
    open_and_connect(&mut harness, "Talk");
    wait_for(&mut harness, "the event after the pong", |h| {
        has_label_containing(h, r#"["welcome","ann"]"#)
    });
    assert_eq!(
        got.lock().expect("lock").clone(),
        ["40", "3"],
        "the namespace joined after the open packet, the ping answered"
    );
    assert!(
        harness
            .query_all_by_label_contains("sent \"40\"")
            .next()
            .is_some()
            && harness
                .query_all_by_label_contains("sent \"3\"")
                .next()
                .is_some(),
        "each automatic packet is an auto event in the log"
    );
    assert_no_task_panicked(&harness);
}

#[test]
fn the_composer_encodes_json_as_messagepack_when_asked() {
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Vec<u8>>::new()));
    let seen = got.clone();
    let server = serve(move |_sender, mut receiver| {
        let seen = seen.clone();
        async move {
            while let Some(Ok(message)) = receiver.recv().await {
                if let ws_tokio::Message::Binary(data) = message {
                    seen.lock().expect("lock").push(data.to_vec());
                }
            }
        }
    });
    let dir = tempfile::tempdir().expect("temp dir");
    profile(
        dir.path(),
        "packed.ron",
        &format!(
            "(name: \"Packed\", url: \"{}\", decoders: (outgoing: Some(MessagePack)))",
            server.url
        ),
    );
    let mut harness = harness(dir.path());
    open_and_connect(&mut harness, "Packed");
    harness
        .get_by_label("Encode as msgpack (the text is JSON, an event or a query)")
        .click();
    harness.run();
    type_into(&mut harness, "Compose", r#"{"a":1}"#);
    harness.get_by_label("Send").click();
    wait_for(&mut harness, "the binary message", |_| {
        !got.lock().expect("lock").is_empty()
    });
    assert_eq!(got.lock().expect("lock")[0], vec![0x81, 0xa1, b'a', 1]);
    assert_no_task_panicked(&harness);
}

#[test]
fn a_binary_event_shows_its_attachments_in_place() {
    let server = serve(|sender, mut receiver| async move {
        let _ = sender
            .send_text(r#"0{"sid":"s1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#)
            .await;
        let _ = sender.send_text(r#"40{"sid":"n1"}"#).await;
        let _ = sender
            .send_text(r#"451-["file",{"_placeholder":true,"num":0}]"#)
            .await;
        let _ = sender.send_binary(vec![0xde, 0xad, 0xbe, 0xef]).await;
        while receiver.recv().await.is_some() {}
    });
    let dir = tempfile::tempdir().expect("temp dir");
    profile(
        dir.path(),
        "file.ron",
        &format!(
            "(name: \"Attachments\", url: \"{}socket.io/?EIO=4&transport=websocket\", \
             speak_protocol: false)",
            server.url
        ),
    );
    let mut harness = harness(dir.path());
    open_and_connect(&mut harness, "Attachments");
    wait_for(
        &mut harness,
        "the binary event, its attachment in place",
        |h| {
            h.query_all_by_label_contains("\"file\"")
                .any(|node| node.value().is_some_and(|v| v.contains("deadbeef")))
        },
    );
    assert_no_task_panicked(&harness);
}

#[test]
fn the_speaker_joins_the_profiles_namespaces_with_its_auth() {
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = got.clone();
    let server = serve(move |sender, mut receiver| {
        let seen = seen.clone();
        async move {
            let _ = sender
                .send_text(r#"0{"sid":"s1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#)
                .await;
            while let Some(Ok(ws_tokio::Message::Text(text))) = receiver.recv().await {
                seen.lock().expect("lock").push(text.as_str().to_owned());
            }
        }
    });
    let dir = tempfile::tempdir().expect("temp dir");
    profile(
        dir.path(),
        "ns.ron",
        &format!(
            "(name: \"Namespaced\", url: \"{}socket.io/?EIO=4&transport=websocket\", \
             socketio_namespaces: \"/chat\", protocol_init_payload: \"{{\\\"token\\\":\\\"t1\\\"}}\")",
            server.url
        ),
    );
    let mut harness = harness(dir.path());
    open_and_connect(&mut harness, "Namespaced");
    wait_for(&mut harness, "the namespace joined", |_| {
        !got.lock().expect("lock").is_empty()
    });
    assert_eq!(got.lock().expect("lock")[0], r#"40/chat,{"token":"t1"}"#);
    assert_no_task_panicked(&harness);
}
