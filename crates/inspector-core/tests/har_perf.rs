//! HAR export and import of 1,000,000 small frames: each must take at most 3 s in a release
//! build, with memory in proportion (the peak while exporting stays near the capture's own
//! size; while importing, near the HAR text and the lines made from it).
//!
//! ```sh
//! cargo test --release -p ws-inspector-core --test har_perf -- --ignored --nocapture
//! ```
//!
//! Ignored by default: it means something only in release, and takes a few seconds there.

use std::time::{Duration, Instant};

use ws_inspector_core::capture::har;
use ws_inspector_core::capture::{CaptureLine, FrameRecord, Record};

const FRAMES: u64 = 1_000_000;
const LIMIT: Duration = Duration::from_secs(3);

/// (current, peak) resident memory in MiB, from /proc/self/status.
fn rss_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kib| kib / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Starts a new peak (Linux: writing 5 to clear_refs resets VmHWM).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn capture() -> Vec<CaptureLine> {
    let start = 1_796_128_631_677_374_077u64;
    let mut lines = Vec::with_capacity(FRAMES as usize + 1);
    lines.push(CaptureLine::header("har_perf"));
    for n in 0..FRAMES {
        let incoming = n % 2 == 1;
        let payload = format!("message {:07}", n / 2).into_bytes();
        let time_ns = start + n * 1_000;
        lines.push(CaptureLine {
            v: 1,
            time: humantime::format_rfc3339_nanos(
                std::time::UNIX_EPOCH + Duration::from_nanos(time_ns),
            )
            .to_string(),
            time_ns,
            elapsed_ns: n * 1_000,
            conn: None,
            leg: None,
            record: Record::Frame(FrameRecord {
                incoming,
                fin: true,
                rsv1: false,
                rsv2: false,
                rsv3: false,
                opcode: 1,
                mask: (!incoming).then_some([1, 2, 3, 4]),
                payload_len: payload.len() as u64,
                payload,
                decompressed_len: None,
                message: None,
            }),
        });
    }
    lines
}

#[test]
#[ignore = "a benchmark: run in release with --ignored"]
fn a_million_frames_export_and_import_within_three_seconds_each() {
    let (base, _) = rss_mib();
    let lines = capture();
    let (with_lines, _) = rss_mib();
    let capture_mib = with_lines - base;

    reset_peak();
    let started = Instant::now();
    let mut text = Vec::with_capacity(256 << 20);
    let summary = har::export(&lines, &mut text).unwrap();
    let export_time = started.elapsed();
    let (_, export_peak) = rss_mib();
    assert_eq!(summary.frames, FRAMES);
    assert_eq!(summary.messages, FRAMES);
    let har_mib = text.len() as f64 / (1 << 20) as f64;

    let text = String::from_utf8(text).unwrap();
    drop(lines);
    let (before_import, _) = rss_mib();
    reset_peak();
    let started = Instant::now();
    let import = har::import(&text).unwrap();
    let import_time = started.elapsed();
    let (after_import, import_peak) = rss_mib();
    assert_eq!(import.lines.len() as u64, FRAMES + 1);
    let frames = import
        .lines
        .iter()
        .filter(|l| matches!(l.record, Record::Frame(_)))
        .count();
    assert_eq!(frames as u64, FRAMES);
    let imported_mib = after_import - before_import;

    eprintln!(
        "{FRAMES} frames: capture {capture_mib:.0} MiB in memory, HAR {har_mib:.0} MiB\n\
         export {export_time:.2?} (peak RSS {export_peak:.0} MiB: the capture, the HAR text \
         and the buffer)\n\
         import {import_time:.2?} (peak RSS {import_peak:.0} MiB: the HAR text, \
         {imported_mib:.0} MiB of lines, the parse)"
    );
    assert!(export_time <= LIMIT, "export took {export_time:?}");
    assert!(import_time <= LIMIT, "import took {import_time:?}");
    // Memory in proportion: the export adds little beyond its output; the import's peak
    // beyond the text and its result stays within that result's size again.
    let export_extra = export_peak - with_lines - har_mib;
    assert!(
        export_extra < 0.5 * capture_mib,
        "export used {export_extra:.0} MiB beyond the capture and the HAR"
    );
    let import_extra = import_peak - before_import - imported_mib;
    assert!(
        import_extra < imported_mib.max(har_mib),
        "import used {import_extra:.0} MiB beyond the text and its lines"
    );
}
