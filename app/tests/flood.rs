//! The inspector on a fast stream, end to end: the real app (kittest, headless) connects to a
//! server that floods small messages through the socket, and the UI keeps being stepped while
//! they arrive. Every frame must reach the log; a stall (no progress for 10 s) fails the test.
//! How fast it goes is the benchmark's business (`cargo run --release -p ws-inspector-core --example ingest`, `benches/inspector.rs`).

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use ws_inspector::WsInspectorApp;
use ws_inspector::cli::Args;
use ws_inspector_core::bench_support::FloodServer;

#[test]
fn a_flood_through_the_socket_is_logged_whole_while_the_ui_runs() {
    const FRAMES: u64 = 300_000;
    let config = tempfile::tempdir().expect("a temp dir");
    let server = FloodServer::start(FRAMES).expect("the flood server starts");
    let args = Args {
        connect: Some(server.url()),
        config_dir: Some(config.path().to_owned()),
        ..Args::default()
    };
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1440.0, 900.0))
        .build_eframe(move |cc| WsInspectorApp::new(cc, args).expect("the app starts"));
    let mut progress = (0, Instant::now());
    loop {
        harness.step();
        let logged = harness
            .state()
            .session_state()
            .map_or(0, |s| s.traffic.frames_in);
        if logged >= FRAMES {
            assert_eq!(logged, FRAMES);
            break;
        }
        if logged != progress.0 {
            progress = (logged, Instant::now());
        } else {
            assert!(
                progress.1.elapsed() < Duration::from_secs(10),
                "the flood stalled at {logged} frames (the server wrote {})",
                server.sent()
            );
        }
    }
}
