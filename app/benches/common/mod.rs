//! What the inspector's headless benchmarks share: the frame-count argument and timing UI
//! frames.

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use ws_inspector::WsInspectorApp;

/// A number of frames, `_` separators allowed.
pub fn frame_count(arg: &str) -> Result<u64, String> {
    arg.replace('_', "")
        .parse()
        .map_err(|_| format!("{arg:?} is not a number of frames"))
}

/// The times of `n` UI frames, after 10 untimed ones.
pub fn time_steps(harness: &mut Harness<'static, WsInspectorApp>, n: usize) -> Vec<Duration> {
    for _ in 0..10 {
        harness.step();
    }
    (0..n)
        .map(|_| {
            let t = Instant::now();
            harness.step();
            t.elapsed()
        })
        .collect()
}

/// Milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Prints `what`: the number of frames, median, 95th percentile and worst.
pub fn print_times(what: &str, times: &mut [Duration]) {
    if times.is_empty() {
        return;
    }
    times.sort();
    let p95 = times[(times.len() * 95 / 100).min(times.len() - 1)];
    println!(
        "{what}: {} frames, median {:.2} ms, p95 {:.2} ms, worst {:.2} ms",
        times.len(),
        ms(times[times.len() / 2]),
        ms(p95),
        ms(times[times.len() - 1])
    );
}
