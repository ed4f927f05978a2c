//! A relay tab, driven headless, between Python `websockets` on both sides — its client
//! (tests/python/client.py, which sends text and binary from empty to 1 MiB, two messages in
//! fragments, and checks every echo) and its echo server (tests/python/echo_server.py) —
//! with permessage-deflate on each leg, the client leg agreeing what the server agreed: the
//! tab shows what each leg agreed, and the fragments reach the server as fragments (frame
//! for frame, compressed again by the server leg).
//!
//! Python on both sides because tokio-tungstenite 0.30 has no permessage-deflate: a
//! tungstenite client would leave the client leg uncompressed (tests/relay_python.rs and
//! app/tests/listen.rs cover our and tungstenite's clients).
//!
//! `#[ignore]`d like the other Python interop tests: the conformance command runs it
//! (`cargo test -p ws-tests -p wsi -- --ignored`).

#[path = "../../app/tests/support/mod.rs"]
mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use egui_kittest::kittest::Queryable;
use support::{assert_no_task_panicked, harness_for_any_text, type_into, wait_for};

/// Data frames client.py sends: 16 messages, two of them in 5 and 4 fragments
/// (tests/python/common.py, `script`), each of those two ended by the empty final frame
/// `websockets` sends after the fragments it is given. Forwarded whole, the server would
/// count 16.
const CLIENT_DATA_FRAMES: u64 = 14 + (5 + 1) + (4 + 1);

#[test]
#[ignore = "interop with Python websockets: cargo test -p ws-tests -p wsi -- --ignored, which .ci/run runs"]
fn a_relay_tab_between_python_websockets_peers_compresses_each_leg_and_keeps_fragments() {
    let server = ws_tests::python_echo_server(120);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut harness = harness_for_any_text(dir.path());
    harness.run();
    harness.get_by_label("New relay").click();
    harness.run();
    type_into(
        &mut harness,
        "Upstream URL",
        &format!("ws://127.0.0.1:{}/", server.port),
    );
    harness.get_by_label("Start relay").click();
    wait_for(&mut harness, "the relay's URL", |h| {
        h.state().server_tab_url().is_some()
    });
    let url = harness.state().server_tab_url().expect("url");

    let python = ws_tests::python_setup();
    let client_script = ws_tests::repo_root().join("tests/python/client.py");
    let client = std::thread::spawn(move || {
        Command::new(python)
            .arg(client_script)
            .arg(format!("{url}relayed"))
            .args(["--timeout", "90"])
            .current_dir(ws_tests::repo_root().join("tests/python"))
            .output()
            .expect("client.py runs")
    });
    let end = Instant::now() + Duration::from_secs(100);
    while !client.is_finished() {
        assert!(Instant::now() < end, "client.py did not finish");
        harness.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = client.join().expect("the client thread");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: serde_json::Value = stdout
        .lines()
        .last()
        .and_then(|line| serde_json::from_str(line).ok())
        .unwrap_or_else(|| {
            panic!(
                "no report from client.py:\n{stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    assert!(
        output.status.success() && report["ok"] == true,
        "every echo came back intact through the relay: {report:#}"
    );
    // websockets' server limits both windows to 2^12; the client leg answers the same.
    assert_eq!(
        report["response_extensions"].as_str(),
        Some("permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"),
        "the client leg agreed what the server agreed: {report:#}"
    );

    // The server saw the client's fragments as fragments, each compressed message marked.
    let closed = wait_closed(&server);
    assert_eq!(
        closed["frames_in"]["frames"].as_u64(),
        Some(CLIENT_DATA_FRAMES),
        "frame for frame: {closed:#}"
    );
    assert!(
        closed["frames_in"]["rsv1_frames"]
            .as_u64()
            .is_some_and(|n| n > 0),
        "the server leg compressed: {closed:#}"
    );

    // The tab: each leg shows the permessage-deflate it agreed, the same on both.
    wait_for(&mut harness, "both legs' handshakes", |h| {
        h.query_all_by_label_contains(
            "extensions permessage-deflate; server_max_window_bits=12; client_max_window_bits=12",
        )
        .count()
            == 2
    });
    assert_no_task_panicked(&harness);
}

/// The server's `closed` report for the relayed connection.
fn wait_closed(server: &ws_tests::PythonEcho) -> serde_json::Value {
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let left = end.saturating_duration_since(Instant::now());
        let line = server
            .lines
            .recv_timeout(left)
            .expect("the server reports the connection closed");
        let event: serde_json::Value = serde_json::from_str(&line).expect("JSON");
        if event["event"] == "closed" {
            return event;
        }
    }
}
