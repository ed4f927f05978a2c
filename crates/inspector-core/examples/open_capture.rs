//! How long the inspector takes to open a capture file, and the memory it takes: the same
//! `capture::open_with` that File → Open runs on its thread (BENCHMARKS.md, "Opening
//! captures"):
//!
//! ```text
//! cargo run --release -p ws-inspector-core --example open_capture -- FILE.jsonl
//! ```
//!
//! Prints the file's size, the time to read and replay it, the frames it held, the entries
//! the log kept, and the process's peak resident memory (`VmHWM`, Linux).

use std::path::PathBuf;
use std::time::Instant;

use ws_inspector_core::capture::{Progress, open_with};

/// Opens a capture file as the inspector does and reports time and memory.
#[derive(Debug, clap::Parser)]
#[command(name = "open_capture")]
struct Cli {
    /// The capture (.jsonl or .har)
    file: PathBuf,
}

fn main() {
    let cli = <Cli as clap::Parser>::parse();
    let progress = Progress::default();
    let started = Instant::now();
    let opened = match open_with(&cli.file, &progress) {
        Ok(opened) => opened,
        Err(e) => {
            eprintln!("open_capture: {}: {e}", cli.file.display());
            std::process::exit(1);
        }
    };
    let took = started.elapsed();
    let frames: u64 = opened
        .connections
        .iter()
        .map(|c| c.state.traffic.frames_in + c.state.traffic.frames_out)
        .sum();
    let kept: usize = opened.connections.iter().map(|c| c.state.log.len()).sum();
    let size = progress.total();
    println!(
        "{}: {:.1} MB, {} connection(s), {frames} frames, {kept} log entries kept",
        cli.file.display(),
        size as f64 / 1e6,
        opened.connections.len()
    );
    println!(
        "opened in {:.3} s ({:.0} MB/s, {:.0} frames/s); peak memory {}",
        took.as_secs_f64(),
        size as f64 / 1e6 / took.as_secs_f64(),
        frames as f64 / took.as_secs_f64(),
        peak_memory().unwrap_or_else(|| "unknown".to_owned())
    );
}

/// The process's peak resident set (`VmHWM` in /proc/self/status).
fn peak_memory() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(format!("{:.0} MiB", kib / 1024.0))
}
