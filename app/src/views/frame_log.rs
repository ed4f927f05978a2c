//! The frame log: a virtualised table of every frame both ways and every lifecycle event,
//! a message view that groups fragments, a filter, and a detail pane for the selected row.
//!
//! The table lays out only the rows on screen (`TableBody::rows`), and the filter is applied
//! incrementally by [`FilteredView`], so a log of a million entries costs the same per frame
//! as a log of a hundred.

use egui::{Align, Key, KeyboardShortcut, Layout, Modifiers, RichText, Sense, Ui};
use egui_extras::{Column, TableBuilder};
use serde::{Deserialize, Serialize};
use ws_net::ws_proto::{CloseCode, Direction, OpCode};

use super::{Palette, format_count, format_delta, format_time, hex_dump, pretty_json};
use crate::net::SessionState;
use crate::store::{
    CompiledFilter, Entry, Filter, FilteredView, Fragment, FrameEntry, Item, LifecycleEvent,
    LogStore, MessageRow, MessageView,
};

/// How many log entries the filter tests between two looks at the clock while it rebuilds.
const FILTER_SCAN_BLOCK: usize = 16_384;

/// How long a frame may spend rebuilding the filtered view (the rest waits for the next
/// frame): a 60 Hz frame has 16.7 ms, and the layout needs a few.
const FILTER_BUDGET: std::time::Duration = std::time::Duration::from_millis(6);

/// Row height of the tables, in points.
const ROW_HEIGHT: f32 = 20.0;

/// The log's persisted settings: the filter, and how the log is shown.
///
/// The filter is a nested field, not `#[serde(flatten)]`: eframe persists settings as RON,
/// and RON reads a flattened struct only in map syntax (`{"text": …}`), so settings saved in
/// the struct syntax of earlier versions would fail to load — and with them the whole
/// [`Settings`](crate::app::Settings). Nested, such old settings still load: their flat
/// filter fields are ignored (the filter starts empty once) and the rest is kept.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogSettings {
    /// What the log shows: text, direction and kind.
    pub filter: Filter,
    /// Group fragments into messages instead of listing frames.
    pub messages: bool,
    /// Follow the tail of the log.
    pub follow: bool,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            filter: Filter::default(),
            messages: false,
            follow: true,
        }
    }
}

/// How the selected payload is shown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PayloadView {
    /// As UTF-8 text (lossy).
    #[default]
    Text,
    /// Pretty-printed JSON.
    Json,
    /// A hex dump.
    Hex,
}

/// What the log asked the app to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogAction {
    /// Clear the log.
    Clear,
    /// Pause or resume capture.
    SetCapture(bool),
}

/// The frame log of one tab.
#[derive(Debug, Default)]
pub struct FrameLogView {
    /// Filter and display settings.
    pub settings: LogSettings,
    /// How the selected payload is shown.
    pub payload_view: PayloadView,
    filtered: FilteredView,
    compiled: Option<CompiledFilter>,
    /// The filter `compiled` (or `filter_error`) was made from.
    compiled_for: Option<Filter>,
    filter_error: Option<String>,
    messages: MessageView,
    messages_seen: u64,
    /// The selected entry, by global index.
    selected: Option<u64>,
    /// The selected message, by the global index of its first frame.
    selected_message: Option<u64>,
    /// Identifies the store the filtered view was built from.
    built_for: usize,
    jump_to_end: bool,
    /// A row to bring into view next frame, as a fraction of the rows (0 = first, 1 = last).
    scroll_to: Option<f32>,
    /// Set by Ctrl+F: focus the filter field next frame.
    pub focus_filter: bool,
}

impl FrameLogView {
    /// A log view with these settings.
    pub fn new(settings: LogSettings) -> Self {
        Self {
            settings,
            ..Self::default()
        }
    }

    /// Forgets everything derived from the current store (after a clear or a new session).
    pub fn reset(&mut self) {
        self.filtered = FilteredView::default();
        self.messages = MessageView::default();
        self.messages_seen = 0;
        self.selected = None;
        self.selected_message = None;
    }

    /// Selects the entry with this global index (the detail pane shows it).
    pub fn select(&mut self, index: u64) {
        self.selected = Some(index);
    }

    /// Brings the row at `fraction` of the table (0 = first, 1 = last) into view next frame
    /// and stops following the tail (benchmarks and tests use it).
    pub fn scroll_to(&mut self, fraction: f32) {
        self.scroll_to = Some(fraction.clamp(0.0, 1.0));
        self.settings.follow = false;
    }

    /// Shows the log of `session` (a placeholder when there is none).
    pub fn ui(&mut self, ui: &mut Ui, session: Option<&SessionState>) -> Option<LogAction> {
        let palette = Palette::of(ui);
        let mut action = self.toolbar_ui(ui, session, &palette);
        if ui.input_mut(|i| i.consume_shortcut(&KeyboardShortcut::new(Modifiers::COMMAND, Key::L)))
        {
            action = Some(LogAction::Clear);
        }
        let Some(session) = session else {
            ui.centered_and_justified(|ui| {
                ui.label(
                    RichText::new("No connection in this tab yet: frames will appear here.")
                        .color(palette.weak),
                );
            });
            return action;
        };
        let log = &session.log;
        // A different store (a new session) means positions mean nothing any more.
        let store_id = std::ptr::from_ref(log) as usize;
        if store_id != self.built_for {
            self.reset();
            self.built_for = store_id;
        }
        if let Some(filter) = &self.compiled {
            // A rebuild over a long log is spread over frames, so typing stays responsive:
            // blocks of entries until the frame's budget is spent.
            let start = std::time::Instant::now();
            loop {
                if self.filtered.update_bounded(log, filter, FILTER_SCAN_BLOCK) {
                    break;
                }
                if start.elapsed() >= FILTER_BUDGET {
                    ui.ctx().request_repaint();
                    break;
                }
            }
        }

        egui::Panel::bottom("payload-detail")
            .resizable(true)
            .default_size(215.0)
            .min_size(90.0)
            .show(ui, |ui| {
                // Fill the panel, so that it keeps its size whatever it shows.
                ui.set_min_size(ui.available_size());
                if self.settings.messages {
                    self.message_detail_ui(ui, log, &palette);
                } else {
                    self.detail_ui(ui, log, &palette);
                }
            });
        egui::CentralPanel::default().show(ui, |ui| {
            if self.settings.messages {
                if log.total_pushed() != self.messages_seen {
                    self.messages.update(log);
                    self.messages_seen = log.total_pushed();
                }
                self.messages_table_ui(ui, log, &palette);
            } else {
                self.frames_table_ui(ui, log, &palette);
            }
        });
        action
    }

    fn toolbar_ui(
        &mut self,
        ui: &mut Ui,
        session: Option<&SessionState>,
        palette: &Palette,
    ) -> Option<LogAction> {
        let mut action = None;
        ui.horizontal(|ui| {
            ui.spacing_mut().item_spacing.x = 4.0;
            ui.selectable_value(&mut self.settings.messages, false, "Frames")
                .on_hover_text("Every frame as it was on the wire");
            ui.selectable_value(&mut self.settings.messages, true, "Messages")
                .on_hover_text("Fragments grouped into their messages");
            ui.separator();
            ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                if ui
                    .add_enabled(session.is_some(), egui::Button::new("Clear"))
                    .on_hover_text("Clear the log (Ctrl+L)")
                    .clicked()
                {
                    action = Some(LogAction::Clear);
                }
                if let Some(s) = session {
                    let (text, hover) = if s.capture {
                        ("Pause", "Stop logging frames (they are still counted)")
                    } else {
                        ("▶ Resume", "Log frames again")
                    };
                    if ui.button(text).on_hover_text(hover).clicked() {
                        action = Some(LogAction::SetCapture(!s.capture));
                    }
                }
                let follow = ui
                    .toggle_value(&mut self.settings.follow, "Follow")
                    .on_hover_text(
                        "Keep the newest row in view; scrolling up pauses following \
                         until you scroll back to the end",
                    );
                if follow.clicked() && self.settings.follow {
                    self.jump_to_end = true;
                }
                ui.separator();
                ui.toggle_value(
                    &mut self.settings.filter.regex,
                    RichText::new(".*").monospace(),
                )
                .on_hover_text("Regular expression");
                ui.with_layout(Layout::left_to_right(Align::Center), |ui| {
                    let label = ui.label("Filter");
                    let filter_id = ui.make_persistent_id("log-filter");
                    if self.focus_filter {
                        ui.memory_mut(|m| m.request_focus(filter_id));
                        self.focus_filter = false;
                    }
                    ui.add(
                        egui::TextEdit::singleline(&mut self.settings.filter.text)
                            .id(filter_id)
                            .hint_text(if self.settings.filter.regex {
                                "regular expression (Ctrl+F)"
                            } else {
                                "text in payloads and events (Ctrl+F)"
                            })
                            .desired_width(f32::INFINITY),
                    )
                    .labelled_by(label.id);
                });
            });
        });
        ui.horizontal(|ui| {
            ui.spacing_mut().item_spacing.x = 4.0;
            ui.label(RichText::new("Show").color(palette.weak));
            ui.toggle_value(
                &mut self.settings.filter.outgoing,
                RichText::new("⬆ Sent").color(palette.outgoing),
            )
            .on_hover_text("Show frames sent");
            ui.toggle_value(
                &mut self.settings.filter.incoming,
                RichText::new("⬇ Received").color(palette.incoming),
            )
            .on_hover_text("Show frames received");
            ui.toggle_value(&mut self.settings.filter.data, "data")
                .on_hover_text("Text, binary and continuation frames");
            ui.toggle_value(
                &mut self.settings.filter.control,
                RichText::new("control").color(palette.control),
            )
            .on_hover_text("Ping, pong and close frames");
            ui.toggle_value(
                &mut self.settings.filter.events,
                RichText::new("events").color(palette.event),
            )
            .on_hover_text("open, message, error, close");
            ui.separator();
            self.counts_ui(ui, session, palette);
        });
        // Recompile the filter when it changed.
        if self.compiled_for.as_ref() != Some(&self.settings.filter) {
            match self.settings.filter.compile() {
                Ok(compiled) => {
                    self.compiled = Some(compiled);
                    self.filter_error = None;
                    self.filtered.invalidate();
                }
                Err(e) => self.filter_error = Some(e),
            }
            self.compiled_for = Some(self.settings.filter.clone());
        }

        action
    }

    fn counts_ui(&self, ui: &mut Ui, session: Option<&SessionState>, palette: &Palette) {
        if let Some(error) = &self.filter_error {
            ui.colored_label(palette.error, format!("⚠ filter: {error}"));
        }
        if let Some(s) = session {
            let log = &s.log;
            let shown = if self.settings.messages {
                self.messages.rows().len()
            } else {
                self.filtered.len()
            };
            let what = if self.settings.messages {
                "messages"
            } else {
                "rows"
            };
            ui.label(
                RichText::new(format!(
                    "{} {what} · {} entries kept of {} logged",
                    format_count(shown as u64),
                    format_count(log.len() as u64),
                    format_count(log.total_pushed()),
                ))
                .color(palette.weak)
                .small(),
            );
            if log.evicted() > 0 {
                ui.label(
                    RichText::new(format!(
                        "· oldest {} dropped (capacity {})",
                        format_count(log.evicted()),
                        format_count(log.capacity() as u64)
                    ))
                    .color(palette.warning)
                    .small(),
                );
            }
            if !s.capture {
                ui.label(
                    RichText::new(format!(
                        "· capture paused, {} frames not logged",
                        format_count(s.skipped)
                    ))
                    .color(palette.warning)
                    .small(),
                );
            }
        }
    }

    fn frames_table_ui(&mut self, ui: &mut Ui, log: &LogStore, palette: &Palette) {
        let rows = self.filtered.len();
        let mut table = TableBuilder::new(ui)
            .id_salt("frames-table")
            .striped(true)
            .resizable(true)
            .sense(Sense::click())
            .stick_to_bottom(self.settings.follow)
            .cell_layout(Layout::left_to_right(Align::Center))
            .column(Column::initial(46.0).at_least(30.0))
            .column(Column::initial(92.0).at_least(60.0))
            .column(Column::initial(62.0).at_least(40.0))
            .column(Column::initial(50.0).at_least(40.0))
            .column(Column::initial(84.0).at_least(50.0))
            .column(Column::initial(28.0).at_least(24.0))
            .column(Column::initial(34.0).at_least(30.0))
            .column(Column::initial(70.0).at_least(40.0))
            .column(Column::initial(56.0).at_least(40.0))
            .column(Column::remainder().at_least(120.0).clip(true));
        if std::mem::take(&mut self.jump_to_end) && rows > 0 {
            table = table.scroll_to_row(rows - 1, Some(Align::BOTTOM));
        }
        if let Some(fraction) = self.scroll_to.take()
            && rows > 0
        {
            let row = ((rows - 1) as f32 * fraction).round() as usize;
            table = table.scroll_to_row(row, Some(Align::Center));
        }
        let mut clicked = None;
        let selected = self.selected;
        let filtered = &self.filtered;
        let out = table
            .header(22.0, |mut header| {
                for title in [
                    "#", "Time", "Δ", "Dir", "Opcode", "FIN", "RSV", "Mask", "Length", "Preview",
                ] {
                    header.col(|ui| {
                        ui.label(RichText::new(title).strong());
                    });
                }
            })
            .body(|body| {
                body.rows(ROW_HEIGHT, rows, |mut row| {
                    let i = row.index();
                    let Some(entry) = filtered.position(i).and_then(|p| log.get(p)) else {
                        return;
                    };
                    let previous = i
                        .checked_sub(1)
                        .and_then(|j| filtered.position(j))
                        .and_then(|p| log.get(p));
                    row.set_selected(selected == Some(entry.index));
                    entry_row_ui(&mut row, &entry, previous.as_ref(), palette);
                    if row.response().clicked() {
                        clicked = Some(entry.index);
                    }
                });
            });
        if let Some(index) = clicked {
            self.selected = Some(index);
        }
        let at_end =
            out.state.clamped_offset().y + out.inner_rect.height() >= out.content_size.y - 2.0;
        if !at_end && rows > 0 && self.settings.follow {
            // The user scrolled up: following stops until they come back to the end.
            egui::Area::new(egui::Id::unique("jump-to-latest"))
                .order(egui::Order::Foreground)
                .fixed_pos(out.inner_rect.right_bottom() - egui::vec2(150.0, 36.0))
                .show(ui.ctx(), |ui| {
                    if ui.button("⬇ Jump to latest").clicked() {
                        self.jump_to_end = true;
                    }
                });
        }
    }

    fn messages_table_ui(&mut self, ui: &mut Ui, log: &LogStore, palette: &Palette) {
        // With both directions shown (the usual case) the rows are used as they are; only a
        // one-direction view collects references.
        let all = self.messages.rows();
        let one_way: Vec<&MessageRow>;
        let rows: Rows<'_> = if self.settings.filter.incoming && self.settings.filter.outgoing {
            Rows::All(all)
        } else {
            one_way = all
                .iter()
                .filter(|m| match m.direction {
                    Direction::Incoming => self.settings.filter.incoming,
                    Direction::Outgoing => self.settings.filter.outgoing,
                })
                .collect();
            Rows::Some(&one_way)
        };
        let mut clicked = None;
        let selected = self.selected_message;
        let mut table = TableBuilder::new(ui)
            .id_salt("messages-table")
            .striped(true)
            .resizable(true)
            .sense(Sense::click())
            .stick_to_bottom(self.settings.follow)
            .cell_layout(Layout::left_to_right(Align::Center))
            .column(Column::initial(110.0).at_least(60.0))
            .column(Column::initial(92.0).at_least(60.0))
            .column(Column::initial(52.0).at_least(40.0))
            .column(Column::initial(64.0).at_least(40.0))
            .column(Column::initial(80.0).at_least(40.0))
            .column(Column::initial(80.0).at_least(40.0))
            .column(Column::remainder().at_least(120.0).clip(true));
        if std::mem::take(&mut self.jump_to_end) && !rows.is_empty() {
            table = table.scroll_to_row(rows.len() - 1, Some(Align::BOTTOM));
        }
        table
            .header(22.0, |mut header| {
                for title in [
                    "Frames",
                    "Time",
                    "Dir",
                    "Type",
                    "Fragments",
                    "Length",
                    "Preview",
                ] {
                    header.col(|ui| {
                        ui.label(RichText::new(title).strong());
                    });
                }
            })
            .body(|body| {
                body.rows(ROW_HEIGHT, rows.len(), |mut row| {
                    let Some(m) = rows.get(row.index()) else {
                        return;
                    };
                    row.set_selected(selected == Some(m.first));
                    let colour = palette.direction(m.direction);
                    let first = entry_at(log, m.first);
                    row.col(|ui| {
                        let span = if m.first == m.last {
                            format!("{}", m.first)
                        } else {
                            format!("{}–{}", m.first, m.last)
                        };
                        ui.label(RichText::new(span).monospace().color(palette.weak));
                    });
                    row.col(|ui| {
                        if let Some(e) = &first {
                            ui.label(RichText::new(format_time(e.time)).monospace());
                        }
                    });
                    row.col(|ui| {
                        ui.label(RichText::new(direction_text(m.direction)).color(colour));
                    });
                    row.col(|ui| {
                        ui.label(if m.text { "text" } else { "binary" });
                    });
                    row.col(|ui| {
                        let mut text = m.fragments.to_string();
                        if !m.complete {
                            text.push_str(" …");
                        }
                        ui.label(RichText::new(text).monospace());
                    });
                    row.col(|ui| {
                        let length = ui.label(RichText::new(format_count(m.len)).monospace());
                        if let Some(plain) = m.plain {
                            length.on_hover_text(format!(
                                "compressed: {}",
                                compression_text(m.len, plain)
                            ));
                        }
                    });
                    row.col(|ui| {
                        if let Some(plain) = m.plain {
                            ui.label(
                                RichText::new(format!(
                                    "compressed · {}",
                                    compression_text(m.len, plain)
                                ))
                                .color(palette.weak),
                            );
                        } else if let Some(Item::Frame(f)) = first.as_ref().map(|e| &e.item) {
                            ui.label(RichText::new(f.preview(160)).monospace().color(colour));
                        }
                    });
                    if row.response().clicked() {
                        clicked = Some(m.first);
                    }
                });
            });
        if let Some(first) = clicked {
            self.selected_message = Some(first);
        }
    }

    fn detail_ui(&mut self, ui: &mut Ui, log: &LogStore, palette: &Palette) {
        let Some(entry) = self.selected.and_then(|index| entry_at(log, index)) else {
            ui.add_space(6.0);
            ui.label(
                RichText::new("Select a row to see its payload as text, JSON and hex.")
                    .color(palette.weak),
            );
            return;
        };
        match &entry.item {
            Item::Event(event) => {
                ui.horizontal(|ui| {
                    ui.label(
                        RichText::new(format!("Event #{} · {}", entry.index, event.name()))
                            .strong()
                            .color(palette.event),
                    );
                    ui.label(RichText::new(format_time(entry.time)).color(palette.weak));
                });
                ui.add(egui::Label::new(RichText::new(event_text(event)).monospace()).wrap());
            }
            Item::Frame(frame) => {
                ui.horizontal_wrapped(|ui| {
                    let colour = palette.frame(frame.direction, frame.header.opcode);
                    ui.label(
                        RichText::new(format!(
                            "Frame #{} · {} {}",
                            entry.index,
                            direction_text(frame.direction),
                            frame.header.opcode.name()
                        ))
                        .strong()
                        .color(colour),
                    );
                    ui.label(RichText::new(frame_facts(frame)).color(palette.weak));
                });
                let payload = frame.payload;
                let close = (frame.header.opcode == OpCode::Close).then(|| close_text(payload));
                let note = frame.truncated().then(|| {
                    format!(
                        "Showing the first {} of {} bytes: the log keeps large payloads truncated.",
                        format_count(payload.len() as u64),
                        format_count(frame.header.payload_len)
                    )
                });
                payload_ui(
                    ui,
                    &mut self.payload_view,
                    payload,
                    close.as_deref(),
                    note.as_deref(),
                    palette,
                );
            }
        }
    }

    fn message_detail_ui(&mut self, ui: &mut Ui, log: &LogStore, palette: &Palette) {
        let Some(m) = self
            .selected_message
            .and_then(|first| self.messages.rows().iter().find(|m| m.first == first))
        else {
            ui.add_space(6.0);
            ui.label(
                RichText::new("Select a message to see it reassembled from its fragments.")
                    .color(palette.weak),
            );
            return;
        };
        let mut payload = Vec::new();
        let mut truncated = false;
        let mut missing = false;
        let message_id = match entry_at(log, m.first).map(|e| e.item) {
            Some(Item::Frame(f)) => Some(f.message),
            _ => None,
        };
        for index in m.first..=m.last {
            match entry_at(log, index).map(|e| e.item) {
                Some(Item::Frame(f))
                    if f.direction == m.direction
                        && Some(f.message) == message_id
                        && f.fragment != Fragment::Control =>
                {
                    truncated |= f.truncated();
                    payload.extend_from_slice(f.payload);
                }
                Some(_) => {}
                None => missing = true,
            }
        }
        ui.horizontal_wrapped(|ui| {
            ui.label(
                RichText::new(format!(
                    "Message · {} {} · {} fragment(s) · {} bytes",
                    direction_text(m.direction),
                    if m.text { "text" } else { "binary" },
                    m.fragments,
                    format_count(m.len)
                ))
                .strong()
                .color(palette.direction(m.direction)),
            );
            if let Some(plain) = m.plain {
                ui.label(
                    RichText::new(format!("compressed: {}", compression_text(m.len, plain)))
                        .color(palette.weak),
                );
            }
            if !m.complete {
                ui.colored_label(
                    palette.warning,
                    "incomplete: the last fragment has not come",
                );
            }
        });
        let note = (truncated || missing).then_some(
            "Part of this message is not in the log (large payloads are kept truncated; old \
             frames are dropped at capacity).",
        );
        payload_ui(ui, &mut self.payload_view, &payload, None, note, palette);
    }
}

/// The message rows a table shows: all of them, or a selection.
enum Rows<'a> {
    All(&'a [MessageRow]),
    Some(&'a [&'a MessageRow]),
}

impl<'a> Rows<'a> {
    fn len(&self) -> usize {
        match self {
            Self::All(rows) => rows.len(),
            Self::Some(rows) => rows.len(),
        }
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn get(&self, i: usize) -> Option<&'a MessageRow> {
        match self {
            Self::All(rows) => rows.get(i),
            Self::Some(rows) => rows.get(i).copied(),
        }
    }
}

/// The entry with global index `index`, if it is still kept.
fn entry_at(log: &LogStore, index: u64) -> Option<Entry<'_>> {
    log.by_index(index)
}

/// An event's summary without its name (the name has a column of its own).
fn event_text(event: &LifecycleEvent) -> String {
    let summary = event.summary();
    match summary.strip_prefix(event.name()) {
        Some(rest) => rest.trim_start_matches([',', ':', ' ']).to_owned(),
        None => summary,
    }
}

/// `⬆ out` / `⬇ in`.
pub fn direction_text(direction: Direction) -> &'static str {
    match direction {
        Direction::Outgoing => "⬆ out",
        Direction::Incoming => "⬇ in",
    }
}

fn fragment_text(fragment: Fragment) -> &'static str {
    match fragment {
        Fragment::Whole | Fragment::Control => "",
        Fragment::First => "first",
        Fragment::Middle => "cont.",
        Fragment::Last => "last",
    }
}

fn mask_text(mask: Option<[u8; 4]>) -> String {
    match mask {
        Some(k) => format!("{:02x}{:02x}{:02x}{:02x}", k[0], k[1], k[2], k[3]),
        None => "—".to_owned(),
    }
}

fn rsv_text(frame: &FrameEntry<'_>) -> String {
    let h = &frame.header;
    [h.rsv1, h.rsv2, h.rsv3]
        .iter()
        .map(|&b| if b { '1' } else { '0' })
        .collect()
}

/// `FIN 1 · RSV 000 · mask a1b2c3d4 · 12 bytes`.
fn frame_facts(frame: &FrameEntry<'_>) -> String {
    let h = &frame.header;
    let mut facts = format!(
        "FIN {} · RSV {} · mask {} · {} bytes",
        u8::from(h.fin),
        rsv_text(frame),
        mask_text(h.mask),
        format_count(h.payload_len)
    );
    let part = fragment_text(frame.fragment);
    if !part.is_empty() {
        facts.push_str(&format!(
            " · fragment ({part}) of message {}",
            frame.message
        ));
    }
    if let Some(plain) = frame.decompressed_len {
        facts.push_str(&format!(
            " · compressed: {}",
            compression_text(h.payload_len, plain as u64)
        ));
    }
    facts
}

/// `31 B on the wire, 120 B plain (26%)`: a compressed payload's sizes and ratio (the wire
/// size as a share of the plain size).
pub fn compression_text(wire: u64, plain: u64) -> String {
    let ratio = match plain {
        0 => "—".to_owned(),
        _ => format!("{:.0}%", wire as f64 * 100.0 / plain as f64),
    };
    format!(
        "{} B on the wire, {} B plain ({ratio})",
        format_count(wire),
        format_count(plain)
    )
}

/// `1000 (Normal Closure) “bye”` for a close frame's payload.
fn close_text(payload: &[u8]) -> String {
    match payload {
        [] => "no status code (1005)".to_owned(),
        [a, b, reason @ ..] => {
            let code = CloseCode::from(u16::from_be_bytes([*a, *b]));
            let reason = String::from_utf8_lossy(reason);
            if reason.is_empty() {
                code.to_string()
            } else {
                format!("{code} “{reason}”")
            }
        }
        [_] => "malformed: a one-byte close payload".to_owned(),
    }
}

/// One row of the frames table.
fn entry_row_ui(
    row: &mut egui_extras::TableRow<'_, '_>,
    entry: &Entry<'_>,
    previous: Option<&Entry<'_>>,
    palette: &Palette,
) {
    let tint = match &entry.item {
        Item::Event(_) => Some(palette.event_bg),
        Item::Frame(f) if f.direction == Direction::Outgoing => Some(palette.outgoing_bg),
        Item::Frame(_) => Some(palette.incoming_bg),
    };
    let cell = |row: &mut egui_extras::TableRow<'_, '_>, add: &mut dyn FnMut(&mut Ui)| {
        row.col(|ui| {
            if let Some(tint) = tint {
                ui.painter()
                    .rect_filled(ui.max_rect().expand(2.0), 0.0, tint);
            }
            add(ui);
        });
    };
    cell(row, &mut |ui| {
        ui.label(
            RichText::new(entry.index.to_string())
                .monospace()
                .color(palette.weak),
        );
    });
    cell(row, &mut |ui| {
        ui.label(RichText::new(format_time(entry.time)).monospace());
    });
    cell(row, &mut |ui| {
        let delta = previous
            .map(|p| entry.elapsed.saturating_sub(p.elapsed))
            .map(format_delta)
            .unwrap_or_default();
        ui.label(RichText::new(delta).monospace().color(palette.weak));
    });
    match &entry.item {
        Item::Frame(frame) => {
            let colour = palette.frame(frame.direction, frame.header.opcode);
            let h = &frame.header;
            cell(row, &mut |ui| {
                ui.label(
                    RichText::new(direction_text(frame.direction))
                        .color(palette.direction(frame.direction)),
                );
            });
            cell(row, &mut |ui| {
                ui.label(
                    RichText::new(h.opcode.name())
                        .monospace()
                        .strong()
                        .color(colour),
                );
                let part = fragment_text(frame.fragment);
                if !part.is_empty() {
                    ui.label(RichText::new(part).small().color(palette.weak));
                }
            });
            cell(row, &mut |ui| {
                ui.label(RichText::new(u8::from(h.fin).to_string()).monospace());
            });
            cell(row, &mut |ui| {
                let rsv = rsv_text(frame);
                let text = RichText::new(&rsv).monospace();
                ui.label(if rsv == "000" {
                    text.color(palette.weak)
                } else {
                    text.color(palette.warning)
                });
            });
            cell(row, &mut |ui| {
                ui.label(
                    RichText::new(mask_text(h.mask))
                        .monospace()
                        .color(palette.weak),
                );
            });
            cell(row, &mut |ui| {
                let length = ui.label(RichText::new(format_count(h.payload_len)).monospace());
                if let Some(plain) = frame.decompressed_len {
                    length.on_hover_text(format!(
                        "compressed: {}",
                        compression_text(h.payload_len, plain as u64)
                    ));
                }
            });
            cell(row, &mut |ui| {
                if let Some(plain) = frame.decompressed_len {
                    // The payload is deflated: its bytes say nothing; its sizes do.
                    ui.label(
                        RichText::new(format!(
                            "compressed · {}",
                            compression_text(h.payload_len, plain as u64)
                        ))
                        .color(palette.weak),
                    );
                    return;
                }
                let preview = if h.opcode == OpCode::Close {
                    close_text(frame.payload)
                } else {
                    frame.preview(200)
                };
                ui.label(RichText::new(preview).monospace().color(colour));
                if frame.truncated() {
                    ui.label(RichText::new("(truncated)").small().color(palette.warning));
                }
            });
        }
        Item::Event(event) => {
            let colour = match &**event {
                LifecycleEvent::Error(_) => palette.error,
                LifecycleEvent::Close { clean: false, .. } => palette.error,
                _ => palette.event,
            };
            cell(row, &mut |ui| {
                ui.label(RichText::new("event").color(colour));
            });
            cell(row, &mut |ui| {
                ui.label(RichText::new(event.name()).strong().color(colour));
            });
            for _ in 0..4 {
                cell(row, &mut |_| {});
            }
            cell(row, &mut |ui| {
                ui.label(RichText::new(event_text(event)).color(colour));
            });
        }
    }
}

/// The payload as text, JSON or hex, with copy buttons.
fn payload_ui(
    ui: &mut Ui,
    view: &mut PayloadView,
    payload: &[u8],
    close: Option<&str>,
    note: Option<&str>,
    palette: &Palette,
) {
    let json = pretty_json(payload);
    ui.horizontal(|ui| {
        ui.selectable_value(view, PayloadView::Text, "Text");
        ui.add_enabled_ui(json.is_some(), |ui| {
            ui.selectable_value(view, PayloadView::Json, "JSON")
                .on_disabled_hover_text("The payload is not a JSON object or array");
        });
        ui.selectable_value(view, PayloadView::Hex, "Hex");
        ui.separator();
        let text = String::from_utf8_lossy(payload);
        if ui.small_button("Copy text").clicked() {
            ui.ctx().copy_text(text.into_owned());
        }
        if let Some(json) = &json
            && ui.small_button("Copy JSON").clicked()
        {
            ui.ctx().copy_text(json.clone());
        }
        if ui.small_button("Copy hex").clicked() {
            ui.ctx().copy_text(super::hex_string(payload));
        }
        if let Some(note) = note {
            ui.colored_label(palette.warning, "⚠").on_hover_text(note);
        }
    });
    if let Some(close) = close {
        ui.label(
            RichText::new(format!("Close: {close}"))
                .strong()
                .color(palette.control),
        );
    }
    let shown = match (*view, &json) {
        (PayloadView::Json, Some(json)) => json.clone(),
        (PayloadView::Hex, _) => hex_dump(payload),
        _ => {
            let text = String::from_utf8_lossy(payload).into_owned();
            if std::str::from_utf8(payload).is_err() {
                format!("(not valid UTF-8; invalid bytes shown as �)\n{text}")
            } else {
                text
            }
        }
    };
    egui::ScrollArea::both()
        .id_salt("payload-scroll")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            let mut text = shown.as_str();
            ui.add(
                egui::TextEdit::multiline(&mut text)
                    .id_salt("payload-text")
                    .code_editor()
                    .desired_width(f32::INFINITY),
            );
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_settings_load_old_and_new_forms() {
        // As settings were saved before the filter was embedded: flat fields. They load; the
        // old filter fields are ignored, the rest is kept.
        let old = r#"(text: "seq", regex: true, incoming: false, outgoing: true, data: true,
            control: false, events: true, messages: true, follow: false)"#;
        let settings: LogSettings = ron::from_str(old).expect("old settings load");
        assert_eq!(settings.filter, Filter::default());
        assert!(settings.messages);
        assert!(!settings.follow);
        // Missing fields take their defaults.
        let partial: LogSettings = ron::from_str("(messages: true)").expect("partial loads");
        assert_eq!(partial.filter, Filter::default());
        assert!(partial.messages && partial.follow);
        // A round trip keeps everything.
        let settings = LogSettings {
            filter: Filter {
                text: "seq".into(),
                regex: true,
                incoming: false,
                ..Filter::default()
            },
            messages: true,
            follow: false,
        };
        let text = ron::to_string(&settings).expect("serializes");
        assert_eq!(
            ron::from_str::<LogSettings>(&text).expect("loads"),
            settings
        );
    }
}
