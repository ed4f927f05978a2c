//! A relay tab with a full log on both legs (issue 16: the UI stays under 16 ms per frame
//! with 1,000,000 frames logged across both legs), headless, in one run:
//!
//! ```text
//! flock /tmp/cargo.lock cargo bench -p ws-inspector --bench relay_tab [-- FRAMES]
//! ```
//!
//! The real app opens a relay tab (as `--relay 127.0.0.1:0 URL` does) in front of a local
//! server, a client connects through it, and FRAMES (default 1,000,000) small text frames
//! are pushed into the two legs' logs the way their drain tasks push them — half on each
//! leg, each client frame followed by its echo, as a relay in front of an echo server logs
//! them — 10,000 between two UI frames, each of those frames timed. Then the time of one
//! `Harness::step` (the whole window laid out: tabs, the relay
//! bar, the client list, both legs' logs side by side with their handshake panels, detail
//! panes and composers; AccessKit tree included; no GPU) over many frames, median / 95th
//! percentile / worst, in each of the tab's views of both legs: Legs (side by side,
//! following the tail, then scrolled to the middle), One log (both legs merged in time
//! order, with the Leg column), Pairs and Graphs. Nothing here asserts the target: it
//! reports.

mod common;

use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use common::{frame_count, ms, print_times, time_steps};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use ws_inspector::WsInspectorApp;
use ws_inspector::cli::Args;
use ws_inspector_core::bench_support::FloodServer;
use ws_inspector_core::log::LifecycleEvent;
use ws_inspector_core::session::SessionState;
use ws_tokio::ws_proto::{Direction, Frame, FrameHeader, OpCode};

/// Timed steps per view.
const STEPS: usize = 200;

/// Frames logged between two UI frames while the logs fill.
const BATCH: u64 = 10_000;

/// A relay tab with both legs' logs full, headless: UI frame time per view.
#[derive(Debug, clap::Parser)]
#[command(name = "relay_tab")]
struct Cli {
    /// Frames across both legs (`_` separators allowed: 1_000_000)
    #[arg(value_name = "FRAMES", default_value = "1000000", value_parser = frame_count)]
    frames: u64,
    /// What `cargo bench` passes to every bench binary; nothing to do with it.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() {
    let frames = <Cli as clap::Parser>::parse().frames;
    let config = tempfile::tempdir().expect("a temp dir");
    let server = FloodServer::start(0).expect("the upstream server starts");
    let args = Args {
        relay: Some(("127.0.0.1:0".to_owned(), server.url())),
        config_dir: Some(config.path().to_owned()),
        ..Args::default()
    };
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1440.0, 900.0))
        .build_eframe(move |cc| WsInspectorApp::new(cc, args).expect("the app starts"));

    // A client through the relay; it stays connected while the logs are filled.
    let deadline = Instant::now() + Duration::from_secs(10);
    let url = loop {
        harness.step();
        if let Some(url) = harness.state().server_tab_url() {
            break url;
        }
        assert!(Instant::now() < deadline, "the relay did not start");
        std::thread::sleep(Duration::from_millis(5));
    };
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let client = runtime
        .block_on(ws_tokio::connect(ws_tokio::ConnectOptions::new(
            url.clone(),
        )))
        .expect("a client connects through the relay");
    while harness.state().relay_legs().is_none() {
        harness.step();
        assert!(Instant::now() < deadline, "the client was not relayed");
        std::thread::sleep(Duration::from_millis(5));
    }
    println!("relay_tab bench: a client relayed through {url}; {frames} frames to log");

    // The logs fill as a fast stream fills them: BATCH frames between two UI frames (at 60
    // frames a second, 600,000 frames/s, about what the core ingests), each UI frame timed.
    let start = Instant::now();
    let mut filling = Vec::new();
    let mut payload = String::with_capacity(64);
    let mut seq = 0u64;
    while seq < frames / 4 {
        {
            let (client_leg, server_leg) = harness.state().relay_legs().expect("the legs");
            let mut client_state = client_leg.state();
            let mut server_state = server_leg.state();
            for _ in 0..BATCH / 4 {
                if seq >= frames / 4 {
                    break;
                }
                push_round_trip(&mut client_state, &mut server_state, seq, &mut payload);
                seq += 1;
            }
        }
        let t = Instant::now();
        harness.step();
        filling.push(t.elapsed());
    }
    {
        let (client_leg, server_leg) = harness.state().relay_legs().expect("the legs");
        println!(
            "store: {} frames on the client leg, {} on the server leg, logged in {:.2} s",
            client_leg.state().log.frames_kept(),
            server_leg.state().log.frames_kept(),
            start.elapsed().as_secs_f64()
        );
    }
    print_times(
        &format!("Legs, while {BATCH} frames arrive between two frames"),
        &mut filling,
    );

    let mut legs = time_steps(&mut harness, STEPS);
    print_times("Legs, following the tail", &mut legs);
    for (view, label) in [
        ("One log", "One log (both legs merged, Leg column)"),
        ("Pairs", "Pairs (each message on both legs)"),
        ("Graphs", "Graphs (per leg)"),
    ] {
        harness.get_by_label(view).click();
        let first = Instant::now();
        harness.step();
        let first = first.elapsed();
        let mut times = time_steps(&mut harness, STEPS);
        println!("{label}: first frame after switching {:.2} ms", ms(first));
        print_times(label, &mut times);
    }
    drop(client);
    drop(harness);
}

/// One message of the client's and its echo, as a relay in front of an echo server logs
/// them: in on the client leg, out on the server leg, back in on the server leg, out on the
/// client leg, each frame with its `message` event.
fn push_round_trip(
    client: &mut SessionState,
    server: &mut SessionState,
    seq: u64,
    payload: &mut String,
) {
    use std::fmt::Write as _;
    payload.clear();
    let _ = write!(payload, "{{\"seq\":{seq},\"v\":\"tick\"}}");
    let len = payload.len() as u64;
    let time = SystemTime::now();
    let elapsed = Duration::from_micros(seq * 8);
    for (on_client_leg, direction, at) in [
        (true, Direction::Incoming, 0),
        (false, Direction::Outgoing, 1),
        (false, Direction::Incoming, 2),
        (true, Direction::Outgoing, 3),
    ] {
        let state = if on_client_leg {
            &mut *client
        } else {
            &mut *server
        };
        let elapsed = elapsed + Duration::from_micros(at);
        let frame = Frame {
            direction,
            header: FrameHeader::new(OpCode::Text, len),
            payload: Bytes::copy_from_slice(payload.as_bytes()),
            decompressed_len: None,
            message: None,
        };
        state.log.push_frame(time, elapsed, frame);
        let message = LifecycleEvent::Message {
            direction,
            text: true,
            len,
        };
        state.log.push_event(time, elapsed, message);
    }
}
