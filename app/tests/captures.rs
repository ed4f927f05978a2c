mod support;

// Captures in the inspector: a capture made by a real session opens in a read-only tab
// (frames, handshake, sending disabled) and saves back to the same bytes; a live session
// recorded with --record can be read back while it runs; a corrupt file is refused with its
// line number; a file dropped on the window opens, a truncated one with what came before.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use support::{
    DEADLINE, assert_no_task_panicked, count_label, has_label, is_disabled, type_into, wait_for,
};
use ws_inspector::WsInspectorApp;
use ws_inspector::cli::Args;
use ws_inspector_core::capture::{JsonlReader, JsonlWriter};
use ws_tokio::tap::{TapEvent, TapKind};
use ws_tokio::ws_proto::{CloseCode, Direction};

/// The app started with these arguments, profiles in `dir`.
fn harness_with(dir: &Path, args: Args) -> Harness<'static, WsInspectorApp> {
    let dir = dir.to_owned();
    Harness::builder()
        .with_size(egui::vec2(1500.0, 950.0))
        .build_eframe(move |cc| {
            WsInspectorApp::new_for_test_with_args(&cc.egui_ctx, dir.clone(), &args)
                .expect("the app starts")
        })
}

/// Whether some label contains `text`.
fn has_label_containing(harness: &Harness<'static, WsInspectorApp>, text: &str) -> bool {
    harness.query_all_by_label_contains(text).next().is_some()
}

/// Runs a real session against `url` — one text message echoed, then a clean close —
/// with a tap, and writes its reports as a capture with `JsonlWriter`, header first.
fn record_a_session(url: &str, text: &str) -> Vec<u8> {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let events: Vec<TapEvent> = runtime.block_on(async {
        let (tap, mut reports) = ws_tokio::tap::channel(1024);
        let mut options = ws_tokio::ConnectOptions::new(url);
        options.tap = Some(tap);
        let collect = tokio::spawn(async move {
            let mut events = Vec::new();
            while let Some(event) = reports.recv().await {
                events.push(event);
            }
            events
        });
        let (sender, mut receiver) = ws_tokio::connect(options)
            .await
            .expect("connects")
            .into_driven()
            .split();
        sender.send_text(text).await.expect("sends");
        let echo = receiver
            .recv()
            .await
            .expect("an answer")
            .expect("a message");
        assert!(matches!(echo, ws_tokio::Message::Text(ref t) if t.as_str() == text));
        sender
            .close(Some(CloseCode::NORMAL), "done")
            .await
            .expect("closes");
        while receiver.recv().await.is_some() {}
        drop((sender, receiver));
        tokio::time::timeout(DEADLINE, collect)
            .await
            .expect("every tap is dropped")
            .expect("the collector")
    });
    let mut writer = JsonlWriter::new(Vec::new());
    writer.write_header("captures test").expect("header");
    for event in &events {
        writer.write_event(event).expect("a line");
    }
    writer.finish().expect("the capture")
}

/// The reports of a capture file, read back (a cut-short last line ends the reading).
fn read_events(path: &Path) -> Vec<TapEvent> {
    let bytes = std::fs::read(path).unwrap_or_default();
    JsonlReader::new(&bytes[..]).map_while(Result::ok).collect()
}

fn sent_text(events: &[TapEvent], text: &str) -> bool {
    events.iter().any(|e| {
        matches!(&e.kind, TapKind::Frame(f)
            if f.direction == Direction::Outgoing && &f.payload[..] == text.as_bytes())
    })
}

/// Clicks File, then `item`.
fn file_menu(harness: &mut Harness<'static, WsInspectorApp>, item: &str) {
    harness.get_by_label("File menu").click();
    harness.run();
    harness.get_by_label(item).click();
    harness.run();
}

#[test]
fn a_captured_session_opens_read_only_and_saves_back_the_same_bytes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = tempfile::tempdir().expect("temp dir");
    // The capture: a real session against the app's built-in echo server.
    let mut first = support::harness(dir.path());
    first.run();
    let url = first.state().local_echo_url().expect("the echo server");
    let bytes = record_a_session(&url, "hello capture");
    let file = files.path().join("echo.jsonl");
    std::fs::write(&file, &bytes).expect("write the capture");
    assert_no_task_panicked(&first);
    drop(first);

    let args = Args {
        captures: vec![file.clone()],
        ..Args::default()
    };
    let mut harness = harness_with(dir.path(), args);
    harness.run();
    let app = harness.state();
    let i = app.active_tab();
    assert_eq!(app.tab_title(i).as_deref(), Some("Capture: echo.jsonl"));
    assert_eq!(app.tab_is_read_only(i), Some(true));
    assert!(
        has_label(&harness, "Capture: echo.jsonl"),
        "the tab says so"
    );
    assert!(has_label(&harness, "Read only"));
    // The frame log: the message each way, and the close.
    assert_eq!(
        count_label(&harness, "⬆ out"),
        2,
        "the text and the close sent"
    );
    assert_eq!(
        count_label(&harness, "⬇ in"),
        2,
        "the echo and the close received"
    );
    assert_eq!(count_label(&harness, "hello capture"), 2);
    // The handshake view: the upgrade request and the 101 answer, as on the wire.
    assert!(
        has_label_containing(&harness, "101"),
        "the 101 answer shows"
    );
    assert!(has_label_containing(&harness, "sec-websocket-key"));
    {
        let state = harness.state().session_state().expect("a session");
        assert!(state.handshake.request.is_some() && state.handshake.response.is_some());
        assert_eq!(state.url, url);
        assert_eq!(state.traffic.frames_out, 2);
    }
    // Nothing can be sent, connected or closed.
    assert!(is_disabled(&harness, "Send"), "sending is disabled");
    assert!(is_disabled(&harness, "Connect"), "connecting is disabled");

    // File → Save capture… gives the same bytes back.
    file_menu(&mut harness, "Save capture…");
    let copy = files.path().join("copy.jsonl");
    type_into(&mut harness, "Save capture to", &copy.display().to_string());
    harness.get_by_label("Save").click();
    harness.run();
    assert_eq!(std::fs::read(&copy).expect("the saved copy"), bytes);
    assert!(has_label_containing(&harness, "Saved the capture"));
    // Saving again over it asks first: the button says Replace.
    file_menu(&mut harness, "Save capture…");
    type_into(&mut harness, "Save capture to", &copy.display().to_string());
    wait_for(&mut harness, "the Replace button", |h| {
        has_label(h, "Replace")
    });
    harness.get_by_label("Replace").click();
    harness.run();
    assert_eq!(std::fs::read(&copy).expect("the saved copy"), bytes);
    assert_no_task_panicked(&harness);
}

#[test]
fn a_live_session_recorded_with_record_can_be_read_while_it_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = tempfile::tempdir().expect("temp dir");
    let server = support::serve(|sender, mut receiver| async move {
        while let Some(Ok(message)) = receiver.recv().await {
            if let ws_tokio::Message::Text(text) = message
                && sender
                    .send(ws_tokio::Outgoing::Text(text.to_string()))
                    .await
                    .is_err()
            {
                return;
            }
        }
    });
    let file = files.path().join("live.jsonl");
    let args = Args {
        connect: Some(server.url.clone()),
        record: Some(file.clone()),
        ..Args::default()
    };
    let mut harness = harness_with(dir.path(), args);
    wait_for(&mut harness, "readyState 1 OPEN", |h| {
        has_label(h, "1 OPEN")
    });
    assert!(
        has_label(&harness, "⏺ Recording"),
        "the tab says it records"
    );
    // The file is a capture from its first line, while the session runs.
    let header = std::fs::read(&file).expect("the recording");
    let mut reader = JsonlReader::new(&header[..]);
    assert!(reader.next().is_some(), "reports are in it already");
    assert!(reader.header().is_some(), "the header line comes first");

    for text in ["first recorded", "second recorded"] {
        type_into(&mut harness, "Compose", text);
        harness.get_by_label("Send").click();
        let sent = Instant::now();
        // At most a second behind (the drain task flushes when it has caught up).
        loop {
            harness.step();
            if sent_text(&read_events(&file), text) {
                break;
            }
            assert!(
                sent.elapsed() < Duration::from_millis(1500),
                "{text:?} is not in the recording a second after it was sent"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    assert!(
        harness.state().ready_state() == Some(ws_tokio::ws_proto::ReadyState::Open),
        "read while the session still runs"
    );
    // Stop: the file keeps what it has; the session goes on.
    harness.get_by_label("Stop recording").click();
    harness.run();
    assert!(
        has_label(&harness, "⏺ Record to file…"),
        "the switch is back"
    );
    let recorded = read_events(&file).len();
    type_into(&mut harness, "Compose", "not recorded");
    harness.get_by_label("Send").click();
    wait_for(&mut harness, "the echo", |h| {
        count_label(h, "not recorded") == 2
    });
    assert_eq!(read_events(&file).len(), recorded);

    // Save writes the whole session, the unrecorded message too.
    let saved = files.path().join("saved.jsonl");
    file_menu(&mut harness, "Save capture…");
    type_into(
        &mut harness,
        "Save capture to",
        &saved.display().to_string(),
    );
    harness.get_by_label("Save").click();
    harness.run();
    let events = read_events(&saved);
    assert!(sent_text(&events, "first recorded") && sent_text(&events, "not recorded"));
    assert_no_task_panicked(&harness);
}

#[test]
fn the_record_switch_reports_a_file_it_cannot_write() {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = tempfile::tempdir().expect("temp dir");
    let mut harness = support::harness(dir.path());
    harness.run();
    let url = harness.state().local_echo_url().expect("the echo server");
    support::connect_to(&mut harness, &url);
    harness.get_by_label("⏺ Record to file…").click();
    harness.run();
    let missing = files.path().join("gone").join("rec.jsonl");
    type_into(&mut harness, "Record to", &missing.display().to_string());
    harness.get_by_label("Record").click();
    harness.run();
    assert!(has_label_containing(&harness, "could not record to"));
    // The session goes on.
    type_into(&mut harness, "Compose", "still here");
    harness.get_by_label("Send").click();
    wait_for(&mut harness, "the echo", |h| {
        count_label(h, "still here") == 2
    });
    assert_no_task_panicked(&harness);
}

#[test]
fn a_corrupt_capture_is_refused_with_its_line_number() {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = tempfile::tempdir().expect("temp dir");
    let file = files.path().join("corrupt.jsonl");
    let mut writer = JsonlWriter::new(Vec::new());
    writer.write_header("test").expect("header");
    let mut bytes = writer.finish().expect("bytes");
    bytes.extend_from_slice(b"{\"v\":1,\"time_ns\":0,\"elapsed_ns\":0,\"record\":{\"kind\":\"state\",\"ready_state\":0}}\n");
    bytes.extend_from_slice(b"this is not json\n");
    bytes.extend_from_slice(b"{\"v\":1,\"time_ns\":0,\"elapsed_ns\":0,\"record\":{\"kind\":\"state\",\"ready_state\":1}}\n");
    std::fs::write(&file, bytes).expect("write");

    let mut harness = support::harness(dir.path());
    harness.run();
    let tabs = harness.state().tab_count();
    file_menu(&mut harness, "Open capture…");
    type_into(
        &mut harness,
        "Open capture from",
        &file.display().to_string(),
    );
    harness.get_by_label("Open").click();
    harness.run();
    assert!(
        has_label_containing(&harness, "line 3:"),
        "the error names the line"
    );
    assert_eq!(harness.state().tab_count(), tabs, "nothing opened");
    assert_no_task_panicked(&harness);
}

/// A file dropped on the window.
#[derive(Debug)]
struct Dropped(PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

#[test]
fn a_dropped_capture_cut_short_opens_what_came_before() {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = tempfile::tempdir().expect("temp dir");
    let mut harness = support::harness(dir.path());
    harness.run();
    let url = harness.state().local_echo_url().expect("the echo server");
    let whole = record_a_session(&url, "dropped in");
    // A crash while recording: the last line is cut in the middle.
    let file = files.path().join("crashed.jsonl");
    std::fs::write(&file, &whole[..whole.len() - 15]).expect("write");
    let lines = whole.iter().filter(|b| **b == b'\n').count();

    harness
        .input_mut()
        .dropped_files
        .push(Arc::new(Dropped(file.clone())));
    harness.run();
    let i = harness.state().active_tab();
    assert_eq!(
        harness.state().tab_title(i).as_deref(),
        Some("Capture: crashed.jsonl")
    );
    assert!(
        has_label_containing(&harness, &format!("line {lines}: ")),
        "the cut line is reported"
    );
    assert_eq!(
        count_label(&harness, "dropped in"),
        2,
        "what came before shows"
    );
    assert_no_task_panicked(&harness);
}
