//! A large capture opens in the background: a progress row with the bytes read and Cancel,
//! then the read-only tab; Cancel opens nothing. Driven headless with egui_kittest.

mod support;

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use support::{assert_no_task_panicked, has_label, type_into, wait_for};
use ws_inspector::WsInspectorApp;
use ws_inspector::views::opening::BACKGROUND_ABOVE;
use ws_inspector_core::capture::JsonlWriter;
use ws_tokio::tap::{TapEvent, TapKind};
use ws_tokio::ws_proto::{Direction, Frame, FrameHeader, OpCode, ReadyState};

/// Writes a capture of one connection with `frames` text frames of 400 bytes to `path`;
/// returns its size.
fn big_capture(path: &std::path::Path, frames: u64) -> u64 {
    let start = SystemTime::now();
    let event = |n: u64, kind| TapEvent {
        time: start + Duration::from_micros(n),
        elapsed: Duration::from_micros(n),
        kind,
    };
    let file = std::fs::File::create(path).expect("create");
    let mut writer = JsonlWriter::new(std::io::BufWriter::new(file));
    writer.write_header("opening test").expect("header");
    writer
        .write_event(&event(0, TapKind::State(ReadyState::Open)))
        .expect("a line");
    let payload = Bytes::from("x".repeat(400));
    for n in 1..=frames {
        let header = FrameHeader {
            fin: true,
            rsv1: false,
            rsv2: false,
            rsv3: false,
            opcode: OpCode::Text,
            mask: None,
            payload_len: payload.len() as u64,
        };
        let frame = Frame::new(Direction::Incoming, header, payload.clone());
        writer
            .write_event(&event(n, TapKind::Frame(frame)))
            .expect("a line");
    }
    drop(writer.finish().expect("written"));
    std::fs::metadata(path).expect("size").len()
}

fn open_from_menu(harness: &mut Harness<'static, WsInspectorApp>, path: &std::path::Path) {
    harness.get_by_label("File menu").click();
    harness.run();
    harness.get_by_label("Open capture…").click();
    harness.run();
    type_into(harness, "Open capture from", &path.display().to_string());
    harness.get_by_label("Open").click();
    // The click opens it; the row shows from the next frame on.
    harness.step();
    harness.step();
}

#[test]
fn a_large_capture_opens_with_a_progress_row_then_its_tab() {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = tempfile::tempdir().expect("temp dir");
    let path = files.path().join("big.jsonl");
    let size = big_capture(&path, 40_000);
    assert!(size > BACKGROUND_ABOVE, "{size} bytes");
    let mut harness = support::harness(dir.path());
    harness.run();
    let tabs = harness.state().tab_count();
    open_from_menu(&mut harness, &path);
    assert!(
        has_label(&harness, "Opening big.jsonl"),
        "the progress row shows while the file is read"
    );
    assert!(has_label(&harness, "Cancel"));
    wait_for(&mut harness, "the capture's tab", |h| {
        h.state().tab_count() == tabs + 1
    });
    harness.run();
    assert!(!has_label(&harness, "Opening big.jsonl"), "the row is gone");
    let state = harness
        .state()
        .session_state()
        .expect("the capture's session");
    assert_eq!(state.traffic.frames_in, 40_000, "every frame was read");
    drop(state);
    assert_eq!(harness.state().tab_is_read_only(tabs), Some(true));
    assert_no_task_panicked(&harness);
}

#[test]
fn cancel_stops_the_opening_and_opens_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = tempfile::tempdir().expect("temp dir");
    let path = files.path().join("huge.jsonl");
    // Large enough that reading it takes seconds in a debug build, however loaded the
    // machine: the Cancel below lands while it is being read.
    big_capture(&path, 300_000);
    let mut harness = support::harness(dir.path());
    harness.run();
    let tabs = harness.state().tab_count();
    open_from_menu(&mut harness, &path);
    assert!(
        has_label(&harness, "Opening huge.jsonl"),
        "still being read when Cancel is pressed"
    );
    harness.get_by_label("Cancel").click();
    wait_for(&mut harness, "the cancellation", |h| {
        h.query_all_by_label_contains("was cancelled")
            .next()
            .is_some()
    });
    assert_eq!(harness.state().tab_count(), tabs, "nothing opened");
    assert!(!has_label(&harness, "Opening huge.jsonl"));
    assert_no_task_panicked(&harness);
}
