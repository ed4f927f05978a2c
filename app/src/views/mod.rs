//! The views: each is a small struct with a `ui` method; helpers shared by several live here.

pub mod bind_guard;
pub mod capture;
pub mod composer;
pub mod connection_bar;
pub mod decoded;
pub mod frame_log;
pub mod graphs;
pub mod handshake;
pub mod intercept;
pub mod listener;
pub mod merged_log;
pub mod message_editor;
pub mod opening;
pub mod options;
pub mod palette;
pub mod path_field;
pub mod payload;
pub mod playback;
pub mod relay;
pub mod saved;
pub mod server_choices;
pub mod server_side;
pub mod server_tab;
pub mod sidebar;
pub mod variables;

use std::time::{Duration, SystemTime};

use egui::{Color32, RichText, Ui};
use ws_tokio::ws_proto::{Direction, OpCode, ReadyState};

/// Colours of the inspector, for the current theme.
#[derive(Clone, Copy, Debug)]
pub struct Palette {
    /// Outgoing frames.
    pub outgoing: Color32,
    /// Incoming frames.
    pub incoming: Color32,
    /// Control frames (ping, pong, close).
    pub control: Color32,
    /// Lifecycle events.
    pub event: Color32,
    /// Errors and warnings that need attention.
    pub error: Color32,
    /// Warnings.
    pub warning: Color32,
    /// Secondary text.
    pub weak: Color32,
    /// The row tint of outgoing frames.
    pub outgoing_bg: Color32,
    /// The row tint of incoming frames.
    pub incoming_bg: Color32,
    /// The row tint of events.
    pub event_bg: Color32,
}

impl Palette {
    /// The palette for `ui`'s theme.
    pub fn of(ui: &Ui) -> Self {
        if ui.visuals().dark_mode {
            Self {
                outgoing: Color32::from_rgb(0x7e, 0xd3, 0x7e),
                incoming: Color32::from_rgb(0x79, 0xb8, 0xff),
                control: Color32::from_rgb(0xf0, 0xb4, 0x4c),
                event: Color32::from_rgb(0xc7, 0x9b, 0xff),
                error: Color32::from_rgb(0xff, 0x6b, 0x6b),
                warning: Color32::from_rgb(0xff, 0xc1, 0x4d),
                weak: Color32::from_gray(140),
                outgoing_bg: Color32::from_rgba_unmultiplied(0x40, 0xa0, 0x40, 18),
                incoming_bg: Color32::from_rgba_unmultiplied(0x40, 0x80, 0xe0, 18),
                event_bg: Color32::from_rgba_unmultiplied(0x90, 0x60, 0xe0, 26),
            }
        } else {
            Self {
                outgoing: Color32::from_rgb(0x1a, 0x7f, 0x37),
                incoming: Color32::from_rgb(0x09, 0x5c, 0xc8),
                control: Color32::from_rgb(0xa8, 0x5f, 0x00),
                event: Color32::from_rgb(0x6f, 0x42, 0xc1),
                error: Color32::from_rgb(0xcf, 0x22, 0x2e),
                warning: Color32::from_rgb(0x9a, 0x67, 0x00),
                weak: Color32::from_gray(110),
                outgoing_bg: Color32::from_rgba_unmultiplied(0x2d, 0xa4, 0x4e, 22),
                incoming_bg: Color32::from_rgba_unmultiplied(0x21, 0x88, 0xff, 20),
                event_bg: Color32::from_rgba_unmultiplied(0x82, 0x50, 0xdf, 22),
            }
        }
    }

    /// The colour of a frame with this direction and opcode.
    pub fn frame(&self, direction: Direction, opcode: OpCode) -> Color32 {
        if opcode.is_control() {
            self.control
        } else {
            self.direction(direction)
        }
    }

    /// The colour of a direction.
    pub fn direction(&self, direction: Direction) -> Color32 {
        match direction {
            Direction::Incoming => self.incoming,
            Direction::Outgoing => self.outgoing,
        }
    }

    /// The colour of a readyState.
    pub fn ready_state(&self, state: ReadyState) -> Color32 {
        match state {
            ReadyState::Connecting => self.warning,
            ReadyState::Open => self.outgoing,
            ReadyState::Closing => self.control,
            ReadyState::Closed => self.weak,
        }
    }
}

/// A readyState badge: number and name on a coloured pill. `None` shows "no connection".
pub fn ready_state_badge_ui(ui: &mut Ui, state: Option<ReadyState>) -> egui::Response {
    let palette = Palette::of(ui);
    let (text, colour) = match state {
        Some(state) => (state.to_string(), palette.ready_state(state)),
        None => ("no connection".to_owned(), palette.weak),
    };
    egui::Frame::new()
        .fill(colour.gamma_multiply(0.18))
        .stroke(egui::Stroke::new(1.0, colour))
        .corner_radius(10.0)
        .inner_margin(egui::Margin::symmetric(8, 2))
        .show(ui, |ui| {
            ui.label(RichText::new(text).color(colour).strong().monospace())
        })
        .inner
        .on_hover_text("WebSocket.readyState: 0 CONNECTING, 1 OPEN, 2 CLOSING, 3 CLOSED")
}

/// `1.2 KiB`, `3 B`.
pub fn format_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `1,234,567`.
pub fn format_count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1 frame`, `2 frames`, `1,000 frames`: a count with its noun agreeing.
pub fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", format_count(n), if n == 1 { one } else { many })
}

/// `01:02:03` (or `1d 01:02:03`).
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let clock = format!("{:02}:{:02}:{:02}", rest / 3600, rest / 60 % 60, rest % 60);
    if days > 0 {
        format!("{days}d {clock}")
    } else {
        clock
    }
}

/// A short delta: `+512 µs`, `+3.2 ms`, `+1.50 s`.
pub fn format_delta(d: Duration) -> String {
    let micros = d.as_micros();
    if micros < 1000 {
        format!("+{micros} µs")
    } else if micros < 1_000_000 {
        format!("+{:.1} ms", micros as f64 / 1000.0)
    } else {
        format!("+{:.2} s", d.as_secs_f64())
    }
}

/// A round trip: `512 µs`, `3.20 ms`, `1.50 s`.
pub fn format_rtt(d: Duration) -> String {
    format_delta(d).trim_start_matches('+').to_owned()
}

/// Local wall-clock time of day with milliseconds: `14:03:27.512`.
pub fn format_time(time: SystemTime) -> String {
    let local: chrono::DateTime<chrono::Local> = time.into();
    local.format("%H:%M:%S%.3f").to_string()
}

/// Local date and time: `2026-11-24 14:03:27`.
pub fn format_datetime(time: SystemTime) -> String {
    let local: chrono::DateTime<chrono::Local> = time.into();
    local.format("%Y-%m-%d %H:%M:%S").to_string()
}

pub use ws_inspector_core::hex::{hex_dump, hex_string, parse_hex};

/// Pretty-printed JSON, when `data` parses as JSON.
pub fn pretty_json(data: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(data).ok()?;
    if !(value.is_object() || value.is_array()) {
        return None;
    }
    serde_json::to_string_pretty(&value).ok()
}

/// A bold section heading.
pub fn heading_ui(ui: &mut Ui, text: &str) {
    ui.add_space(4.0);
    ui.label(RichText::new(text).strong());
}

/// A key–value table of headers, selectable, in a monospace font.
pub fn header_table_ui(ui: &mut Ui, id: &str, headers: &[(String, String)]) {
    egui::Grid::new(id)
        .num_columns(2)
        .striped(true)
        .spacing([12.0, 2.0])
        .show(ui, |ui| {
            for (name, value) in headers {
                ui.label(RichText::new(name).monospace().strong());
                ui.add(egui::Label::new(RichText::new(value).monospace()).wrap());
                ui.end_row();
            }
        });
}

/// Splits a payload into `n` fragments of nearly equal size, never splitting a UTF-8
/// character when `text` is set. Always at least one fragment; empty fragments only when the
/// payload is shorter than `n`.
pub fn split_fragments(data: &[u8], n: usize, text: bool) -> Vec<&[u8]> {
    let n = n.max(1);
    let mut out = Vec::with_capacity(n);
    let mut start = 0;
    for i in 1..n {
        let mut end = (data.len() * i / n).max(start);
        if text {
            while end < data.len() && (data[end] & 0xC0) == 0x80 {
                end += 1;
            }
        }
        out.push(&data[start..end]);
        start = end;
    }
    out.push(&data[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_keep_characters_whole() {
        let text = "héllo wörld";
        let parts = split_fragments(text.as_bytes(), 4, true);
        assert_eq!(parts.len(), 4);
        assert_eq!(parts.concat(), text.as_bytes());
        for part in &parts {
            assert!(std::str::from_utf8(part).is_ok());
        }
        assert_eq!(split_fragments(b"ab", 3, false).len(), 3);
        assert_eq!(split_fragments(b"", 1, false), vec![b"" as &[u8]]);
    }

    #[test]
    fn formatting() {
        assert_eq!(format_bytes(10), "10 B");
        assert_eq!(format_bytes(1536), "1.5 KiB");
        assert_eq!(format_count(1_234_567), "1,234,567");
        assert_eq!(format_count(12), "12");
        assert_eq!(format_duration(Duration::from_secs(3661)), "01:01:01");
        assert_eq!(format_delta(Duration::from_micros(1500)), "+1.5 ms");
        assert_eq!(pretty_json(b"{\"a\":1}").unwrap(), "{\n  \"a\": 1\n}");
        assert!(pretty_json(b"nope").is_none());
    }
}
