//! The real UI, driven headless with egui_kittest: widgets are found by their accessible
//! names (AccessKit), clicked and typed into. The network runs on the app's background
//! runtime, so each test steps the UI with short sleeps until a condition holds, bounded by
//! a deadline.

use std::path::Path;
use std::time::{Duration, Instant};

use egui::{Key, Modifiers};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use ws_inspector::WsInspectorApp;

const DEADLINE: Duration = Duration::from_secs(15);

fn harness(config_dir: &Path) -> Harness<'static, WsInspectorApp> {
    let dir = config_dir.to_owned();
    Harness::builder()
        .with_size(egui::vec2(1500.0, 950.0))
        .build_eframe(move |cc| {
            WsInspectorApp::new_for_test(&cc.egui_ctx, dir).expect("the app starts")
        })
}

/// Steps the UI until `condition` holds; panics with `what` after the deadline.
fn wait_for(
    harness: &mut Harness<'static, WsInspectorApp>,
    what: &str,
    condition: impl Fn(&Harness<'static, WsInspectorApp>) -> bool,
) {
    let end = Instant::now() + DEADLINE;
    loop {
        harness.step();
        if condition(harness) {
            return;
        }
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn has_label(harness: &Harness<'static, WsInspectorApp>, label: &str) -> bool {
    harness.query_all_by_label(label).next().is_some()
}

fn count_label(harness: &Harness<'static, WsInspectorApp>, label: &str) -> usize {
    harness.query_all_by_label(label).count()
}

/// Replaces the text of the field named `label` with `text`.
fn type_into(harness: &mut Harness<'static, WsInspectorApp>, label: &str, text: &str) {
    harness.get_by_label(label).click();
    harness.step();
    harness.key_press_modifiers(Modifiers::COMMAND, Key::A);
    harness.step();
    harness.get_by_label(label).type_text(text);
    harness.step();
}

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

    // A compressible message: each frame shows its wire and plain sizes.
    let text = "tick tock ".repeat(12);
    type_into(&mut harness, "Compose", &text);
    harness.key_press_modifiers(Modifiers::COMMAND, Key::Enter);
    wait_for(&mut harness, "the compressed frames both ways", |h| {
        h.query_all_by_label_contains("compressed · ").count() == 2
    });
    assert_eq!(
        harness
            .query_all_by_label_contains("B on the wire, 120 B plain (")
            .count(),
        2,
        "wire size, plain size and ratio, each way"
    );

    // The message view shows the same per message.
    harness.get_by_label("Messages").click();
    wait_for(&mut harness, "compressed messages", |h| {
        h.query_all_by_label_contains("120 B plain").count() == 2
    });
}
