//! The inspector on a fast stream (issue 6, part C), headless, in one run:
//!
//! ```text
//! flock /tmp/cargo.lock cargo bench -p ws-inspector --bench inspector [-- FRAMES]
//! ```
//!
//! 1. **The log filled.** The real app connects (as `--connect URL` does) to a local server,
//!    and FRAMES (default 1,000,000) small incoming text frames, each with its `message`
//!    event, are pushed into the open session's log the way the drain task pushes them. The
//!    network ingest rate is measured by
//!    `cargo run --release -p ws-inspector-core --example ingest -- N` (no window); a flood
//!    through the socket into the app while its UI steps is `tests/flood.rs` (it once
//!    stalled after a few thousand frames; see BENCHMARKS.md).
//! 2. **UI frame time with the log full.** Once every frame is logged, the time of one
//!    `Harness::step` (egui lays out the whole window: tabs, connection bar, handshake panel,
//!    the frame log with its table, detail pane and composer; AccessKit tree included; no
//!    GPU) over many frames, median / 95th percentile / worst, in four states: following the
//!    tail, scrolled to the middle, scrolled to the first row, and with a text filter active
//!    (the frames that rebuild the filtered view are reported apart from the steady state).
//!    Tessellation (what eframe does next, before the GPU) is timed apart.
//! 3. **Memory.** The store's estimate and VmRSS growth, minus the kept payload bytes, per
//!    kept frame.
//!
//! Targets (issue 6): ≥ 200,000 frames/s ingested; ≤ 16 ms per UI frame; ≤ 300 bytes per
//! logged small frame beyond its kept payload. Nothing here asserts them: it reports.

mod common;

use std::time::{Duration, Instant};

use std::time::SystemTime;

use bytes::Bytes;
use common::{frame_count, print_times, time_steps};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use ws_inspector::WsInspectorApp;
use ws_inspector::cli::Args;
use ws_inspector_core::bench_support::{FloodServer, vm_rss_kib};
use ws_inspector_core::log::LifecycleEvent;
use ws_tokio::ws_proto::{Direction, Frame, FrameHeader, OpCode};

/// Timed steps per state.
const STEPS: usize = 300;

/// The inspector on a fast stream, headless: UI frame time and memory with a full log.
#[derive(Debug, clap::Parser)]
#[command(name = "inspector")]
struct Cli {
    /// Frames in the log (`_` separators allowed: 1_000_000)
    #[arg(value_name = "FRAMES", default_value = "1000000", value_parser = frame_count)]
    frames: u64,
    /// What `cargo bench` passes to every bench binary; nothing to do with it.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() {
    let frames = <Cli as clap::Parser>::parse().frames;
    let config = tempfile::tempdir().expect("a temp dir");
    // The app connects (as `--connect URL`) to a flooding server with nothing to send: the
    // session is real and open; its log is then filled below.
    let server = FloodServer::start(0).expect("the flood server starts");
    let url = server.url();
    let rss_before = vm_rss_kib();
    let args = Args {
        connect: Some(url.clone()),
        config_dir: Some(config.path().to_owned()),
        ..Args::default()
    };
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1440.0, 900.0))
        .build_eframe(move |cc| WsInspectorApp::new(cc, args).expect("the app starts"));
    println!("inspector bench: the app connected to {url}; {frames} frames to log");

    // --- 1. the log filled ---------------------------------------------------------------
    let deadline = Instant::now() + Duration::from_secs(10);
    while !logged(&harness).1 {
        harness.step();
        assert!(Instant::now() < deadline, "the connection did not open");
        std::thread::sleep(Duration::from_millis(1));
    }
    harness.step();
    // The frames the flood server would send, each with its `message` event, pushed into the
    // open session's log as the drain task does (see the module docs for why not through
    // the socket here; the core's `ingest` example measures that path).
    let start = Instant::now();
    {
        let mut state = harness.state().session_state().expect("a session");
        let base = start.elapsed();
        let mut payload = String::with_capacity(64);
        for seq in 0..frames {
            use std::fmt::Write as _;
            payload.clear();
            let _ = write!(payload, "{{\"seq\":{seq},\"v\":\"tick\"}}");
            let len = payload.len() as u64;
            let frame = Frame {
                direction: Direction::Incoming,
                header: FrameHeader::new(OpCode::Text, len),
                payload: Bytes::copy_from_slice(payload.as_bytes()),
                decompressed_len: None,
                message: None,
            };
            let elapsed = base + Duration::from_micros(seq * 2);
            let time = SystemTime::now();
            state.log.push_frame(time, elapsed, frame);
            let message = LifecycleEvent::Message {
                direction: Direction::Incoming,
                text: true,
                len,
            };
            state.log.push_event(time, elapsed, message);
        }
    }
    let elapsed = start.elapsed();
    println!(
        "store: {frames} frames (+ their message events) pushed in {:.3} s: {:.0} frames/s \
         (the store alone; the network path: \
         cargo run --release -p ws-inspector-core --example ingest -- N)",
        elapsed.as_secs_f64(),
        frames as f64 / elapsed.as_secs_f64()
    );

    // --- 3. memory (before the UI adds its own caches) ------------------------------------
    let rss_after = vm_rss_kib();
    {
        let state = harness.state().session_state().expect("a session");
        let log = &state.log;
        let payload = log.payload_bytes();
        let kept = log.frames_kept().max(1);
        println!(
            "store: {} entries kept ({} frames, {} events), {} evicted; estimate {:.1} MiB, \
             payload {:.1} MiB",
            log.len(),
            log.frames_kept(),
            log.len() - log.frames_kept(),
            log.evicted(),
            mib(log.approx_memory()),
            mib(payload)
        );
        println!(
            "memory per kept frame beyond its payload: {:.1} B (store estimate)",
            log.approx_memory().saturating_sub(payload) as f64 / kept as f64
        );
        if let (Some(before), Some(after)) = (rss_before, rss_after) {
            let grown = (after.saturating_sub(before) * 1024) as f64;
            println!(
                "VmRSS {:.1} MiB -> {:.1} MiB: {:.1} B per kept frame beyond its payload \
                 (whole process: UI, runtime and server included)",
                before as f64 / 1024.0,
                after as f64 / 1024.0,
                (grown - payload as f64).max(0.0) / kept as f64
            );
        }
    }

    // --- 2. UI frame time with the log full ------------------------------------------------
    let mut tail = time_steps(&mut harness, STEPS);
    print_times("UI frame, following the tail", &mut tail);
    harness.state_mut().scroll_log_to(0.5);
    harness.step();
    let mut middle = time_steps(&mut harness, STEPS);
    print_times("UI frame, scrolled to the middle", &mut middle);
    harness.state_mut().scroll_log_to(0.0);
    harness.step();
    let mut top = time_steps(&mut harness, STEPS);
    print_times("UI frame, scrolled to the first row", &mut top);
    let mut tessellate = Vec::new();
    for _ in 0..50 {
        harness.step();
        let shapes = harness.output().shapes.clone();
        let ppp = harness.output().pixels_per_point;
        let t = Instant::now();
        let meshes = harness.ctx.tessellate(shapes, ppp);
        tessellate.push(t.elapsed());
        std::hint::black_box(meshes);
    }
    print_times(
        "tessellation of one frame (eframe's next step)",
        &mut tessellate,
    );

    // A filter: typed into the real field; the view rebuilds over several frames.
    let filter = "\"seq\":99";
    harness.get_by_label("Filter").click();
    harness.step();
    harness.get_by_label("Filter").type_text(filter);
    let mut rebuild = Vec::new();
    let rebuild_start = Instant::now();
    loop {
        let t = Instant::now();
        harness.step();
        rebuild.push(t.elapsed());
        if rebuild.len() > 3 && !harness.ctx.requested_repaint_last_pass() {
            break;
        }
        if rebuild.len() >= 400 {
            break;
        }
    }
    println!(
        "filter {filter:?}: view rebuilt in {} frames, {:.1} ms",
        rebuild.len(),
        rebuild_start.elapsed().as_secs_f64() * 1e3
    );
    print_times("UI frame, while the filter rebuilds", &mut rebuild);
    harness.state_mut().scroll_log_to(0.5);
    harness.step();
    let mut filtered = time_steps(&mut harness, STEPS);
    print_times(
        "UI frame, filter active, scrolled to the middle",
        &mut filtered,
    );
    drop(harness);
}

/// Frames kept in the log (both directions) and whether the connection is open.
fn logged(harness: &Harness<'static, WsInspectorApp>) -> (u64, bool) {
    match harness.state().session_state() {
        Some(state) => (
            state.log.frames_kept() as u64,
            state.ready_state() == ws_tokio::ws_proto::ReadyState::Open,
        ),
        None => (0, false),
    }
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
