//! The real UI, driven headless with egui_kittest: widgets are found by their accessible
//! names (AccessKit), clicked and typed into. The network runs on the app's background
//! runtime, so each test steps the UI with short sleeps until a condition holds, bounded by
//! a deadline.

mod support;

use egui::{Key, Modifiers};
use egui_kittest::kittest::Queryable;
use support::{
    assert_no_task_panicked, connect_to, count_label, harness, has_label, has_value_containing,
    serve, type_into, wait_for,
};

#[test]
fn connect_send_and_close_through_the_local_echo_server() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut harness = harness(dir.path());
    harness.run();
    let url = harness
        .state()
        .local_echo_url()
        .expect("the built-in echo server is running");
    assert!(has_label(&harness, "no connection"));

    type_into(&mut harness, "URL", &url);
    harness.get_by_label("Connect").click();
    harness.step();
    wait_for(&mut harness, "readyState 1 OPEN", |h| {
        has_label(h, "1 OPEN")
    });
    assert!(
        has_label(&harness, "readyState 0 → 1"),
        "the badge went 0 → 1"
    );
    // Every input widget has an accessible name (kittest checks after run()).
    harness.run();

    type_into(&mut harness, "Compose", "hello from kittest");
    harness.get_by_label("Send").click();
    wait_for(&mut harness, "one frame each way", |h| {
        count_label(h, "⬆ out") == 1 && count_label(h, "⬇ in") == 1
    });
    assert_eq!(
        count_label(&harness, "hello from kittest"),
        2,
        "the payload shows in the outgoing and the incoming row"
    );
    assert!(has_label(&harness, "open"), "the open event is logged");
    assert!(
        has_label(&harness, "message"),
        "the message event is logged"
    );

    harness.get_by_label("Close…").click();
    harness.run();
    harness.get_by_label("Send close").click();
    wait_for(&mut harness, "readyState 3 CLOSED", |h| {
        has_label(h, "3 CLOSED")
    });
    assert!(
        has_label(&harness, "readyState 0 → 1 → 2 → 3"),
        "the badge went 2 → 3"
    );
    wait_for(&mut harness, "the close event", |h| {
        has_label(h, "close")
            && h.query_all_by_label_contains("1000 (Normal Closure)")
                .next()
                .is_some()
    });
    assert_eq!(
        count_label(&harness, "CLOSE"),
        2,
        "a close frame each way, in place in the log"
    );
    assert_no_task_panicked(&harness);
}

#[test]
fn a_refused_upgrade_shows_status_and_body() {
    const BODY: &str = "origin not allowed: go away";
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    runtime.spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut tcp, _)) = listener.accept().await {
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match tcp.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let answer = format!(
                "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{BODY}",
                BODY.len()
            );
            let _ = tcp.write_all(answer.as_bytes()).await;
            let _ = tcp.shutdown().await;
        }
    });

    let dir = tempfile::tempdir().expect("temp dir");
    let mut harness = harness(dir.path());
    harness.run();
    type_into(&mut harness, "URL", &format!("ws://{addr}/chat"));
    harness.get_by_label("Connect").click();
    wait_for(&mut harness, "the refused upgrade", |h| {
        has_label(h, "3 CLOSED") && has_label(h, BODY)
    });
    assert!(has_label(&harness, "403 Forbidden"), "the status is shown");
    assert!(
        harness
            .query_all_by_label_contains("answered 403 Forbidden")
            .next()
            .is_some(),
        "a plain-language reason is shown"
    );
    assert!(has_label(&harness, "error"), "the error event is logged");
    harness.run();
    assert_no_task_panicked(&harness);
}

#[test]
fn a_corrupt_profile_is_reported_and_kept_aside() {
    let dir = tempfile::tempdir().expect("temp dir");
    let corrupt = dir.path().join("broken.ron");
    std::fs::write(&corrupt, "(name: \"broken\", url: [[[ this is not RON").expect("write");
    let mut harness = harness(dir.path());
    harness.run();
    assert!(
        has_label(&harness, "⚠ Problems with profile files"),
        "the problem is reported in the sidebar"
    );
    assert!(
        harness
            .query_all_by_label_contains("broken.ron")
            .next()
            .is_some(),
        "the report names the file"
    );
    assert!(!corrupt.exists(), "the corrupt file was moved aside");
    let kept: Vec<_> = std::fs::read_dir(dir.path())
        .expect("read dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("broken.ron.corrupt"))
        .collect();
    assert_eq!(kept.len(), 1, "kept aside, not deleted: {kept:?}");
    let kept = std::fs::read_to_string(dir.path().join(&kept[0])).expect("read");
    assert!(kept.contains("this is not RON"), "its contents are intact");
}

#[test]
fn filter_shortcuts_and_a_second_tab_with_its_own_log() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut harness = harness(dir.path());
    harness.run();
    // Ctrl+K connects the active tab (the built-in Local echo profile).
    harness.key_press_modifiers(Modifiers::COMMAND, Key::K);
    wait_for(&mut harness, "readyState 1 OPEN", |h| {
        has_label(h, "1 OPEN")
    });

    type_into(&mut harness, "Compose", "alpha");
    harness.get_by_label("Send").click();
    wait_for(&mut harness, "the alpha echo", |h| {
        count_label(h, "alpha") == 2
    });
    // Ctrl+Enter in the composer sends.
    type_into(&mut harness, "Compose", "beta");
    harness.key_press_modifiers(Modifiers::COMMAND, Key::Enter);
    wait_for(&mut harness, "the beta echo", |h| {
        count_label(h, "beta") == 2
    });

    // The filter keeps only matching rows.
    type_into(&mut harness, "Filter", "bet");
    harness.run();
    assert_eq!(count_label(&harness, "beta"), 2);
    assert_eq!(count_label(&harness, "alpha"), 0, "filtered out");
    // Only outgoing frames.
    harness.get_by_label("⬇ Received").click();
    harness.run();
    assert_eq!(count_label(&harness, "beta"), 1);

    // A second tab: a connection of its own, with an empty log.
    harness.get_by_label("+").click();
    harness.run();
    assert_eq!(harness.state().tab_count(), 2);
    assert!(has_label(&harness, "no connection"));
    harness.key_press_modifiers(Modifiers::COMMAND, Key::K);
    wait_for(&mut harness, "the second connection", |h| {
        has_label(h, "1 OPEN")
    });
    assert_eq!(
        count_label(&harness, "beta"),
        0,
        "the new tab has its own log"
    );
    assert_no_task_panicked(&harness);
}

#[test]
fn compression_offered_agreed_and_shown_per_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut harness = harness(dir.path());
    harness.run();
    // The option is in the profile, under Options; off by default.
    harness.get_by_label("Options").click();
    harness.run();
    let offer = "Offer compression (permessage-deflate)";
    harness.get_by_label(offer).click();
    harness.run();
    harness.get_by_label("Handshake").click();
    harness.run();
    assert!(has_label(&harness, "off (not offered)") || !has_label(&harness, "Compression"));

    // The built-in echo server accepts the offer.
    harness.key_press_modifiers(Modifiers::COMMAND, Key::K);
    wait_for(&mut harness, "readyState 1 OPEN", |h| {
        has_label(h, "1 OPEN")
    });
    wait_for(&mut harness, "the agreed compression", |h| {
        has_label(h, "permessage-deflate")
    });
    assert_eq!(
        harness
            .query_all_by_label_contains("15 bits (32 KiB)")
            .count(),
        2,
        "the agreed windows are shown"
    );
    assert!(has_label(&harness, "context takeover"));

    // A compressible message: each frame is marked deflated, and reads as its plain text
    // (issue 11, item 4: the engine's inflated message, not the deflated bytes).
    let text = "tick tock ".repeat(12);
    type_into(&mut harness, "Compose", &text);
    harness.key_press_modifiers(Modifiers::COMMAND, Key::Enter);
    wait_for(&mut harness, "the compressed frames both ways", |h| {
        h.query_all_by_label_contains("deflated ").count() == 2
            && support::count_text_starting(h, "tick tock tick") == 2
    });
    // The filter finds the plain text in both frames.
    type_into(&mut harness, "Filter", "tock tick");
    harness.run();
    assert_eq!(
        support::count_text_starting(&harness, "tick tock tick"),
        2,
        "the filter searches the inflated text"
    );
    type_into(&mut harness, "Filter", "");
    // The payload view shows the plain message, with a switch to the wire bytes.
    support::click_text_starting(&mut harness, "tick tock tick");

    assert!(has_label(&harness, "Plain message"), "the switch is shown");
    assert!(
        has_value_containing(&harness, &text),
        "the whole plain message is shown"
    );
    assert!(
        !has_value_containing(&harness, "not valid UTF-8"),
        "not the deflated bytes"
    );
    harness.get_by_label("Wire bytes").click();
    harness.run();
    assert!(
        has_value_containing(&harness, "not valid UTF-8"),
        "now the deflated wire bytes"
    );

    // The message view shows the same per message, and the plain text.
    harness.get_by_label("Messages").click();
    wait_for(&mut harness, "compressed messages", |h| {
        count_label(h, "deflated 26%") + count_label(h, "deflated 25%") >= 2
            || h.query_all_by_label_contains("deflated ").count() == 2
    });
    assert_eq!(
        support::count_text_starting(&harness, "tick tock tick"),
        2,
        "the messages preview the inflated text"
    );
    assert_no_task_panicked(&harness);
}

/// Issue 11, items 1, 8 and 10: a close from either side must not kill the session's task
/// (it panicked with "JoinHandle polled after completion" and the tab could not connect
/// again); Ctrl+K reconnects a closed tab, and the old connection's entries stay above the
/// new one's.
#[test]
fn a_closed_connection_reconnects_with_ctrl_k_and_keeps_its_log() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut harness = harness(dir.path());
    harness.run();
    harness.key_press_modifiers(Modifiers::COMMAND, Key::K);
    wait_for(&mut harness, "readyState 1 OPEN", |h| {
        has_label(h, "1 OPEN")
    });
    type_into(&mut harness, "Compose", "before the close");
    harness.key_press_modifiers(Modifiers::COMMAND, Key::Enter);
    wait_for(&mut harness, "the echo", |h| {
        count_label(h, "before the close") == 2
    });

    // We close.
    harness.get_by_label("Close…").click();
    harness.run();
    harness.get_by_label("Send close").click();
    wait_for(&mut harness, "the session's end", |h| {
        h.state().session_state().is_some_and(|s| s.finished)
    });
    assert_no_task_panicked(&harness);

    // Ctrl+K connects the same tab again; the old entries are still there.
    harness.key_press_modifiers(Modifiers::COMMAND, Key::K);
    wait_for(&mut harness, "the second connection", |h| {
        has_label(h, "1 OPEN")
    });
    assert_eq!(harness.state().tab_count(), 1);
    assert_eq!(
        count_label(&harness, "before the close"),
        2,
        "the last connection's frames stay in the log"
    );
    assert_eq!(
        count_label(&harness, "connecting"),
        2,
        "each connection starts with its connecting event"
    );
    assert_no_task_panicked(&harness);
}

/// Issue 11, items 1 and 12: when the server closes first the session ends cleanly, and
/// readyState goes through 2 CLOSING as the browser's does; a fragmented message previews
/// whole; counts agree with their nouns; a close frame reads as its code and reason.
#[test]
fn a_server_that_closes_first() {
    let server = serve(|sender, _receiver| async move {
        use ws_tokio::ws_proto::MessageKind;
        for (part, fin) in [("alpha ", false), ("beta ", false), ("gamma", true)] {
            let fragment = ws_tokio::Outgoing::Fragment {
                kind: MessageKind::Text,
                data: bytes::Bytes::from_static(part.as_bytes()),
                fin,
            };
            let _ = sender.send(fragment).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let close = ws_tokio::Outgoing::Close(Some(4000.into()), "bye".to_owned());
        let _ = sender.send(close).await;
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let mut harness = harness(dir.path());
    harness.run();
    connect_to(&mut harness, &server.url);
    wait_for(&mut harness, "readyState 3 CLOSED", |h| {
        has_label(h, "3 CLOSED")
    });
    wait_for(&mut harness, "the session's end", |h| {
        h.state().session_state().is_some_and(|s| s.finished)
    });
    assert!(
        has_label(&harness, "readyState 0 → 1 → 2 → 3"),
        "CLOSING is passed through, as in a browser"
    );
    assert!(
        harness
            .query_all_by_label_contains("by the server")
            .next()
            .is_some(),
        "who closed is said"
    );
    // ⬆ one close frame (our reply); ⬇ three fragments and the close.
    assert!(
        support::count_text_starting(&harness, "1 frame · ") == 1,
        "singular for one frame"
    );
    assert!(
        harness
            .query_all_by_label_contains("4 frames")
            .next()
            .is_some()
    );

    // The close frame's text view: its code, name and reason; no UTF-8 warning.
    harness
        .query_all_by_label_contains("4000 bye")
        .next()
        .or_else(|| harness.query_all_by_label_contains("4000").next())
        .expect("the close frame row")
        .click();
    harness.run();
    assert!(has_value_containing(&harness, "4000"), "the code");
    assert!(has_value_containing(&harness, "“bye”"), "the reason");
    assert!(!has_value_containing(&harness, "not valid UTF-8"));

    // The messages view previews the fragmented message whole.
    harness.get_by_label("Messages").click();
    harness.run();
    assert!(
        harness
            .query_all_by_label_contains("alpha beta gamma")
            .next()
            .is_some(),
        "all three fragments in the preview"
    );
    assert_no_task_panicked(&harness);
}

/// Issue 11, item 2: a message above 4 KiB shows whole, JSON view included.
#[test]
fn a_large_message_shows_whole_with_its_json_view() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut harness = harness(dir.path());
    harness.run();
    harness.key_press_modifiers(Modifiers::COMMAND, Key::K);
    wait_for(&mut harness, "readyState 1 OPEN", |h| {
        has_label(h, "1 OPEN")
    });
    let items: Vec<String> = (0..500).map(|i| format!("\"item-{i:04}\"")).collect();
    let json = format!(
        "{{\"items\":[{}],\"last\":\"the-very-end\"}}",
        items.join(",")
    );
    assert!(json.len() > 5000);
    type_into(&mut harness, "Compose", &json);
    harness.key_press_modifiers(Modifiers::COMMAND, Key::Enter);
    let start = "{\"items\":[\"item-0000\"";
    wait_for(&mut harness, "the echo", |h| {
        support::count_text_starting(h, start) == 2
    });
    support::click_text_starting(&mut harness, start);
    harness.run();
    assert!(
        !support::is_disabled(&harness, "JSON"),
        "the JSON view is available for a 5 KiB message"
    );
    harness.get_by_label("JSON").click();
    harness.run();
    assert!(
        has_value_containing(&harness, "\"last\": \"the-very-end\""),
        "the pretty JSON reaches the end of the message"
    );
    assert!(
        !has_value_containing(&harness, "Showing the first"),
        "nothing was cut"
    );
    // Copy text copies it whole.
    harness.get_by_label("Copy text").click();
    harness.step();
    let copied = harness
        .output()
        .platform_output
        .commands
        .iter()
        .find_map(|c| match c {
            egui::OutputCommand::CopyText(text) => Some(text.clone()),
            _ => None,
        });
    assert_eq!(copied.as_deref(), Some(json.as_str()));
    assert_no_task_panicked(&harness);
}

/// Issue 11, item 3: on a live stream, Follow turned off and on again, and "Jump to latest"
/// after scrolling up, both keep following (they jumped once and fell behind).
#[test]
fn follow_resumes_on_a_live_stream() {
    let server = serve(|sender, _receiver| async move {
        // 100 messages a second, for at most a minute.
        for i in 0..6000u32 {
            let message = ws_tokio::Outgoing::Text(format!("tick {i}"));
            if sender.send(message).await.is_err() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let mut harness = harness(dir.path());
    harness.run();
    connect_to(&mut harness, &server.url);
    wait_for(&mut harness, "a screenful of rows", |h| {
        h.state().session_state().is_some_and(|s| s.log.len() > 150)
    });

    let stays_at_end =
        |harness: &mut egui_kittest::Harness<'static, ws_inspector::WsInspectorApp>| {
            // Give it a moment to land, then it must stay at the end for a second of stream.
            for _ in 0..10 {
                harness.step();
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            for i in 0..25 {
                harness.step();
                assert!(harness.state().log_at_end(), "fell behind after {i} frames");
                std::thread::sleep(std::time::Duration::from_millis(40));
            }
        };

    // Follow off (scrolled to the top), then on again.
    harness.state_mut().scroll_log_to(0.0);
    harness.step();
    harness.step();
    assert!(!harness.state().log_at_end());
    harness.get_by_label("Follow").click();
    stays_at_end(&mut harness);

    // Scrolling up while following pauses it; "Jump to latest" resumes.
    let table = harness
        .query_all_by_label_contains("tick ")
        .next()
        .expect("a row")
        .rect();
    harness.hover_at(table.center());
    for _ in 0..5 {
        harness.event(egui::Event::MouseWheel {
            unit: egui::MouseWheelUnit::Point,
            delta: egui::vec2(0.0, 600.0),
            phase: egui::TouchPhase::Move,
            source: egui::MouseWheelSource::Wheel,
            modifiers: Modifiers::NONE,
        });
        harness.step();
    }
    wait_for(&mut harness, "the jump button", |h| {
        has_label(h, "⬇ Jump to latest")
    });
    assert!(harness.state().log_follows(), "following is only paused");
    harness.get_by_label("⬇ Jump to latest").click();
    stays_at_end(&mut harness);
    assert_no_task_panicked(&harness);
}

/// Issue 11, item 9: the tab title follows the URL connected to, and every tab comes back
/// after a restart (not connected).
#[test]
fn tabs_follow_the_url_and_all_come_back() {
    let server =
        serve(|_sender, mut receiver| async move { while receiver.recv().await.is_some() {} });
    let dir = tempfile::tempdir().expect("temp dir");
    let mut harness = harness(dir.path());
    harness.run();
    assert_eq!(harness.state().tab_title(0).as_deref(), Some("Local echo"));
    connect_to(&mut harness, &server.url);
    let host = server
        .url
        .trim_start_matches("ws://")
        .trim_end_matches('/')
        .to_owned();
    assert_eq!(
        harness.state().tab_title(0).as_deref(),
        Some(host.as_str()),
        "the title is the host connected to, not the profile's name"
    );
    harness.run();
    assert!(
        has_label(&harness, &server.url),
        "the status bar shows the URL connected to"
    );
    harness.key_press_modifiers(Modifiers::COMMAND, Key::T);
    harness.key_press_modifiers(Modifiers::COMMAND, Key::T);
    harness.run();
    assert_eq!(harness.state().tab_count(), 3);

    let settings = harness.state().settings_to_save();
    let ron = ron::to_string(&settings).expect("settings serialize");
    let restored: ws_inspector::app::Settings = ron::from_str(&ron).expect("and load");
    let dir2 = dir.path().to_owned();
    let mut again = egui_kittest::Harness::builder()
        .with_size(egui::vec2(1500.0, 950.0))
        .build_eframe(move |cc| {
            ws_inspector::WsInspectorApp::new_for_test_with(&cc.egui_ctx, dir2, restored)
                .expect("the app starts")
        });
    again.run();
    assert_eq!(again.state().tab_count(), 3, "all three tabs come back");
    assert_eq!(again.state().tab_title(0).as_deref(), Some(host.as_str()));
    assert!(again.state().ready_state().is_none(), "not connected");
    assert_no_task_panicked(&harness);
}
