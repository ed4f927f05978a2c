//! The Graphs tab of the inspector panel: a connection over its life, drawn with
//! egui_plot from the session's [`Activity`] — messages per second and bytes per second
//! each way, the round trip of every ping, and a histogram of message sizes.
//!
//! The three time plots share their x axis (seconds since the attempt started) and show the
//! log's selected row as a vertical line; a click on one of them selects the frame nearest
//! to that time in the log ([`graphs_ui`] returns it, the app hands it to the log view).

use egui::{Color32, RichText, Ui};
use egui_plot::{Bar, BarChart, Legend, Line, Plot, PlotPoints, Points, VLine};
use ws_inspector_core::log::{Item, LogStore};
use ws_inspector_core::session::SessionState;
use ws_inspector_core::session::activity::{Activity, Bucket, SIZE_CLASSES, class_start};

use super::{Palette, format_bytes, plural};

/// The height of each plot.
const PLOT_HEIGHT: f32 = 120.0;

/// Shows the graphs of `state`; `selected` is the log's selected entry. Returns the log
/// index of the frame to select when a time plot was clicked.
pub fn graphs_ui(ui: &mut Ui, state: &SessionState, selected: Option<u64>) -> Option<u64> {
    let palette = Palette::of(ui);
    let activity = &state.activity;
    if activity.buckets.is_empty() {
        ui.label(
            RichText::new("No frames yet: the graphs fill in as the connection carries messages.")
                .color(palette.weak),
        );
        return None;
    }
    let cursor = selected.and_then(|index| elapsed_of(&state.log, state.first_entry, index));
    let link = egui::Id::unique("graphs-time-axis");
    let mut clicked = None;
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            // While the connection is live, its current second is not over: leave it out
            // rather than draw a drop that is not there.
            let seconds = match state.finished {
                true => activity.buckets.len(),
                false => activity.buckets.len().saturating_sub(1).max(1),
            };
            ui.label(RichText::new("Messages per second").strong());
            let series = per_second(activity, seconds, |b, way| b.messages[way] as f64);
            clicked = clicked.or(time_plot_ui(
                ui,
                "graph-messages",
                link,
                cursor,
                &palette,
                series,
            ));

            ui.label(RichText::new("Bytes per second").strong());
            let series = per_second(activity, seconds, |b, way| b.bytes[way] as f64);
            clicked = clicked.or(time_plot_ui(
                ui,
                "graph-bytes",
                link,
                cursor,
                &palette,
                series,
            ));

            rtt_ui(ui, activity, link, cursor, &palette, &mut clicked);
            sizes_ui(ui, activity, &palette);
        });
    clicked.and_then(|seconds| nearest_frame(&state.log, state.first_entry, seconds))
}

/// One line a direction: (received, sent), a point per second.
type Series = [Vec<[f64; 2]>; 2];

/// The first `seconds` buckets of `activity`, as `value` reads them.
fn per_second(
    activity: &Activity,
    seconds: usize,
    value: impl Fn(&Bucket, usize) -> f64,
) -> Series {
    let line = |way| {
        activity
            .buckets
            .iter()
            .take(seconds)
            .enumerate()
            .map(|(second, bucket)| [second as f64, value(bucket, way)])
            .collect()
    };
    [line(0), line(1)]
}

/// A time plot of both directions; returns the time clicked, in seconds.
fn time_plot_ui(
    ui: &mut Ui,
    id: &str,
    link: egui::Id,
    cursor: Option<f64>,
    palette: &Palette,
    series: Series,
) -> Option<f64> {
    let [received, sent] = series;
    let response = base_plot(id, link).show(ui, |plot| {
        plot.line(Line::new("⬇ received", PlotPoints::from(received)).color(palette.incoming));
        plot.line(Line::new("⬆ sent", PlotPoints::from(sent)).color(palette.outgoing));
        if let Some(x) = cursor {
            plot.vline(selection_line(x, palette));
        }
        clicked_x(plot)
    });
    response.inner
}

/// The round trip of every ping, in milliseconds.
fn rtt_ui(
    ui: &mut Ui,
    activity: &Activity,
    link: egui::Id,
    cursor: Option<f64>,
    palette: &Palette,
    clicked: &mut Option<f64>,
) {
    ui.label(RichText::new("Ping round trip (ms)").strong());
    if activity.rtts.is_empty() {
        ui.label(
            RichText::new(
                "No pong has answered a ping yet (keep-alive in Options, or send a ping).",
            )
            .color(palette.weak),
        );
        return;
    }
    let points: Vec<[f64; 2]> = activity
        .rtts
        .iter()
        .map(|r| [r.at.as_secs_f64(), r.rtt.as_secs_f64() * 1000.0])
        .collect();
    let response = base_plot("graph-rtt", link).show(ui, |plot| {
        plot.line(Line::new("RTT", PlotPoints::from(points.clone())).color(palette.event));
        plot.points(
            Points::new("RTT", PlotPoints::from(points))
                .radius(2.5)
                .color(palette.event),
        );
        if let Some(x) = cursor {
            plot.vline(selection_line(x, palette));
        }
        clicked_x(plot)
    });
    *clicked = clicked.or(response.inner);
}

/// How many messages of each size each way, in power-of-two classes.
fn sizes_ui(ui: &mut Ui, activity: &Activity, palette: &Palette) {
    ui.label(RichText::new("Message sizes").strong());
    let total: u64 = activity.sizes.iter().flatten().sum();
    if total == 0 {
        ui.label(RichText::new("No data message yet.").color(palette.weak));
        return;
    }
    let used = (0..SIZE_CLASSES)
        .filter(|c| activity.sizes[0][*c] + activity.sizes[1][*c] > 0)
        .fold((SIZE_CLASSES, 0), |(low, high), c| {
            (low.min(c), high.max(c))
        });
    let bars = |way: usize, offset: f64, colour: Color32| {
        let bars = (used.0..=used.1)
            .map(|class| {
                Bar::new(class as f64 + offset, activity.sizes[way][class] as f64)
                    .width(0.4)
                    .name(class_label(class))
                    .fill(colour)
            })
            .collect();
        BarChart::new(if way == 0 { "⬇ received" } else { "⬆ sent" }, bars).color(colour)
    };
    Plot::new("graph-sizes")
        .height(PLOT_HEIGHT)
        .legend(Legend::default())
        .allow_scroll(false)
        .allow_zoom(false)
        .allow_drag(false)
        .x_axis_formatter(|mark, _| {
            let class = mark.value.round();
            if (mark.value - class).abs() < 0.01 && class >= 0.0 {
                class_label(class as usize)
            } else {
                String::new()
            }
        })
        .show(ui, |plot| {
            plot.bar_chart(bars(0, -0.2, palette.incoming));
            plot.bar_chart(bars(1, 0.2, palette.outgoing));
        });
    ui.label(
        RichText::new(format!(
            "{} · sizes as on the wire, in power-of-two classes",
            plural(total, "message", "messages")
        ))
        .color(palette.weak),
    );
}

/// `0 B`, `1 B`, `2 B`, `4 B`, … `1 KiB`, …: the smallest size in the class.
fn class_label(class: usize) -> String {
    format_bytes(class_start(class))
}

fn base_plot(id: &str, link: egui::Id) -> Plot<'static> {
    Plot::new(id)
        .height(PLOT_HEIGHT)
        .legend(Legend::default())
        .link_axis(link, [true, false])
        .link_cursor(link, [true, false])
        .include_y(0.0)
        .allow_scroll(false)
        .x_axis_formatter(|mark, _| format!("{:.0} s", mark.value))
}

fn selection_line(x: f64, palette: &Palette) -> VLine {
    VLine::new("selected row", x)
        .color(palette.warning)
        .width(1.5)
}

/// The x of a click in the plot.
fn clicked_x(plot: &egui_plot::PlotUi<'_>) -> Option<f64> {
    if plot.response().clicked() {
        plot.pointer_coordinate().map(|p| p.x)
    } else {
        None
    }
}

/// The seconds since the attempt of the entry `index`, if it is this connection's and still
/// kept.
fn elapsed_of(log: &LogStore, first_entry: u64, index: u64) -> Option<f64> {
    if index < first_entry {
        return None;
    }
    log.by_index(index).map(|e| e.elapsed.as_secs_f64())
}

/// The log index of this connection's frame nearest to `seconds` after the attempt.
pub fn nearest_frame(log: &LogStore, first_entry: u64, seconds: f64) -> Option<u64> {
    let start = log
        .position_of(first_entry)
        .unwrap_or(if first_entry < log.first_index() {
            0
        } else {
            log.len()
        });
    let end = log.len();
    if start >= end || !seconds.is_finite() {
        return None;
    }
    let at = |p: usize| {
        log.get(p)
            .map_or(f64::INFINITY, |e| e.elapsed.as_secs_f64())
    };
    // The entries of one connection are in time order: the first at or after `seconds`.
    let (mut low, mut high) = (start, end);
    while low < high {
        let middle = low + (high - low) / 2;
        if at(middle) < seconds {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    // The nearest frame on either side (events are skipped; a short walk is enough).
    let is_frame = |p: usize| log.get(p).is_some_and(|e| matches!(e.item, Item::Frame(_)));
    let after = (low..end).take(1000).find(|p| is_frame(*p));
    let before = (start..low).rev().take(1000).find(|p| is_frame(*p));
    let nearest = match (before, after) {
        (Some(b), Some(a)) => {
            if seconds - at(b) <= at(a) - seconds {
                b
            } else {
                a
            }
        }
        (Some(p), None) | (None, Some(p)) => p,
        (None, None) => return None,
    };
    log.get(nearest).map(|e| e.index)
}

/// A summary line for the top of the tab: `12 pings · RTT …`.
pub fn rtt_line(activity: &Activity) -> Option<String> {
    activity.rtt_summary().map(|rtt| {
        format!(
            "{} · {}",
            plural(rtt.count as u64, "ping", "pings"),
            super::connection_bar::rtt_text(&rtt)
        )
    })
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use ws_inspector_core::log::LifecycleEvent;
    use ws_tokio::ws_proto::{Direction, Frame, FrameHeader, OpCode};

    use super::*;

    fn frame(log: &mut LogStore, ms: u64) {
        let header = FrameHeader {
            fin: true,
            rsv1: false,
            rsv2: false,
            rsv3: false,
            opcode: OpCode::Text,
            mask: None,
            payload_len: 1,
        };
        let frame = Frame {
            direction: Direction::Incoming,
            header,
            payload: bytes::Bytes::from_static(b"x"),
            decompressed_len: None,
            message: None,
        };
        log.push_frame(SystemTime::now(), Duration::from_millis(ms), frame);
    }

    #[test]
    fn the_nearest_frame_of_this_connection_is_found() {
        let mut log = LogStore::default();
        frame(&mut log, 5_000); // an earlier connection's (index 0)
        let first = log.total_pushed();
        let event = LifecycleEvent::Error("x".into());
        log.push_event(SystemTime::now(), Duration::ZERO, event.clone()); // 1
        frame(&mut log, 1_000); // 2
        frame(&mut log, 2_000); // 3
        log.push_event(SystemTime::now(), Duration::from_millis(2_500), event); // 4
        frame(&mut log, 3_000); // 5
        assert_eq!(nearest_frame(&log, first, 0.0), Some(2));
        assert_eq!(nearest_frame(&log, first, 1.4), Some(2));
        assert_eq!(nearest_frame(&log, first, 1.6), Some(3));
        assert_eq!(
            nearest_frame(&log, first, 2.5),
            Some(3),
            "the event is skipped"
        );
        assert_eq!(nearest_frame(&log, first, 99.0), Some(5));
        assert_eq!(nearest_frame(&log, first, f64::NAN), None);
        assert_eq!(nearest_frame(&log, log.total_pushed(), 1.0), None);
        assert_eq!(elapsed_of(&log, first, 0), None, "not this connection's");
        assert_eq!(elapsed_of(&log, first, 3), Some(2.0));
    }
}
