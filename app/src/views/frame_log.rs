//! The frame log: a virtualised table of every frame both ways and every lifecycle event,
//! a message view that groups fragments, a filter, and a detail pane for the selected row.
//!
//! With a payload decoder for a direction (the profile's, or detected from the handshake:
//! [`Decoding`]), the preview column shows the decoded rows on screen (a protocol packet's
//! type first), the payload pane has a Decoded tree, the filter's text is also searched in
//! the decoded text, and application heartbeats can be hidden ("Hide heartbeats", with a
//! count of those hidden).
//!
//! The table lays out only the rows on screen (`TableBody::rows`), and the filter is applied
//! incrementally by [`FilteredView`], so a log of a million entries costs the same per frame
//! as a log of a hundred.

use egui::{Align, Key, KeyboardShortcut, Layout, Modifiers, RichText, Sense, Ui};
use egui_extras::{Column, TableBuilder};
use serde::{Deserialize, Serialize};
use ws_tokio::ws_proto::{CloseCode, Direction, OpCode};

use super::decoded::{Decoding, error_tag_ui, frame_content, preview_ui};
pub use super::payload::PayloadView;
use super::payload::{DecodedPayload, Payload, PayloadKey, PayloadPane};
use super::{Palette, format_count, format_delta, format_time, plural};
use ws_inspector_core::log::{
    CompiledFilter, Entry, Filter, FilteredView, Fragment, FrameEntry, Item, LifecycleEvent,
    LogStore, MessageRow, MessageView, TRIMMED_KEEP, preview_bytes,
};
use ws_inspector_core::session::SessionState;
use ws_inspector_core::session::activity::Activity;

/// How many log entries the filter tests between two looks at the clock while it rebuilds.
const FILTER_SCAN_BLOCK: usize = 16_384;

/// How long a frame may spend rebuilding the filtered view (the rest waits for the next
/// frame): a 60 Hz frame has 16.7 ms, and the layout needs a few.
const FILTER_BUDGET: std::time::Duration = std::time::Duration::from_millis(6);

/// Below this width the frames table leaves out its Δ, FIN, RSV and mask columns.
const COMPACT_BELOW: f32 = 720.0;

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
    /// Hide application heartbeats (Engine.IO ping/pong, graphql-ws ping/pong and `ka`),
    /// when a decoder says which rows they are.
    pub hide_heartbeats: bool,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            filter: Filter::default(),
            messages: false,
            follow: true,
            hide_heartbeats: false,
        }
    }
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
    /// The payload of the selected row.
    pub payload: PayloadPane,
    /// For a frame of a compressed message: show its wire bytes instead of the plain
    /// message.
    show_wire: bool,
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
    /// The selected message's content, for (first, last) frame index.
    message_cache: Option<((u64, u64), ws_inspector_core::log::MessageContent)>,
    /// The global index the store's next entry gets, as last seen: a store that went
    /// back (a new one) means the views must be rebuilt.
    seen_total: u64,
    /// Scroll to the newest row on every frame until the table is seen at its end (a
    /// single jump falls behind a live stream while it lands).
    jump_to_end: bool,
    /// The table was at its end in the last frame.
    at_end: bool,
    /// A row to bring into view next frame, as a fraction of the rows (0 = first, 1 = last).
    scroll_to: Option<f32>,
    /// An entry (global index) to bring into view next frame (a click on a graph).
    reveal: Option<u64>,
    /// Set by Ctrl+F: focus the filter field next frame.
    pub focus_filter: bool,
    /// The payload decoders and what they decoded.
    pub decoding: Decoding,
    /// `hide_heartbeats` as the filtered view was last built with it.
    hid_heartbeats: bool,
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
        self.message_cache = None;
    }

    /// Takes the tab's decoders (its profile's choice; every frame).
    pub fn set_decoders(&mut self, decoders: &ws_inspector_core::decode::DirectionalDecoders) {
        self.decoding.set_choice(decoders);
    }

    /// Selects the entry with this global index (the detail pane shows it).
    pub fn select(&mut self, index: u64) {
        self.selected = Some(index);
    }

    /// Selects the entry with this global index and brings its row into view next frame
    /// (following the tail stops), in the frames view.
    pub fn show_entry(&mut self, index: u64) {
        self.selected = Some(index);
        self.reveal = Some(index);
        self.settings.messages = false;
        self.settings.follow = false;
        self.jump_to_end = false;
    }

    /// Brings the row at `fraction` of the table (0 = first, 1 = last) into view next frame
    /// and stops following the tail (benchmarks and tests use it).
    pub fn scroll_to(&mut self, fraction: f32) {
        self.scroll_to = Some(fraction.clamp(0.0, 1.0));
        self.settings.follow = false;
        self.jump_to_end = false;
    }

    /// Whether the newest row was in view in the last frame.
    pub fn at_end(&self) -> bool {
        self.at_end
    }

    /// The selected frame or event (global index), in the frames view.
    pub fn selected(&self) -> Option<u64> {
        self.selected
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
        // A store whose count went back is another one: positions mean nothing any more.
        // (A reconnect keeps the store, so its entries and the selection stay.)
        if log.total_pushed() < self.seen_total {
            self.reset();
        }
        self.seen_total = log.total_pushed();
        let was_active = self.decoding.is_active();
        if self.decoding.update(Some(session)) {
            self.filtered.invalidate();
            if self.decoding.is_active() && !was_active {
                self.payload.view = PayloadView::Decoded;
            }
        }
        if self.hid_heartbeats != self.settings.hide_heartbeats {
            self.hid_heartbeats = self.settings.hide_heartbeats;
            self.filtered.invalidate();
        }
        if let Some(filter) = &self.compiled {
            // A rebuild over a long log is spread over frames, so typing stays responsive:
            // blocks of entries until the frame's budget is spent.
            let start = std::time::Instant::now();
            let hide = self.settings.hide_heartbeats;
            // The decoder's say is needed for a text to search or heartbeats to hide.
            let with_decoder =
                self.decoding.is_active() && (hide || !self.settings.filter.text.is_empty());
            let decoding = &self.decoding;
            let mut facts = |entry: &Entry<'_>| decoding.facts(entry);
            loop {
                let done = if with_decoder {
                    self.filtered.update_decoded(
                        log,
                        filter,
                        FILTER_SCAN_BLOCK,
                        Some((&mut facts, hide)),
                    )
                } else {
                    self.filtered.update_bounded(log, filter, FILTER_SCAN_BLOCK)
                };
                if done {
                    break;
                }
                if start.elapsed() >= FILTER_BUDGET {
                    ui.ctx().request_repaint();
                    break;
                }
            }
        }

        // A third of the log's height by default: in a 640 px window the table keeps
        // about ten rows, in a 900 px one about twenty.
        let detail = (ui.available_height() * 0.3).clamp(90.0, 260.0);
        egui::Panel::bottom("payload-detail")
            .resizable(true)
            .default_size(detail)
            .min_size(70.0)
            // Shrinks with the window, whatever it was dragged to before.
            .max_size((ui.available_height() * 0.4).max(70.0))
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
                self.frames_table_ui(ui, log, &session.activity, &palette);
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
        // Wrapped: in a narrow log the buttons after the filter go to a second line
        // instead of under the next panel.
        ui.horizontal_wrapped(|ui| {
            ui.spacing_mut().item_spacing.x = 4.0;
            ui.selectable_value(&mut self.settings.messages, false, "Frames")
                .on_hover_text("Every frame as it was on the wire");
            ui.selectable_value(&mut self.settings.messages, true, "Messages")
                .on_hover_text("Fragments grouped into their messages");
            ui.separator();
            // The filter takes what the buttons after it leave, but never less than a
            // usable width (it collapsed to "…" in a 1024 px window).
            let label = ui.label("Filter");
            let filter_id = ui.make_persistent_id("log-filter");
            if self.focus_filter {
                ui.memory_mut(|m| m.request_focus(filter_id));
                self.focus_filter = false;
            }
            let after = 300.0;
            ui.add(
                egui::TextEdit::singleline(&mut self.settings.filter.text)
                    .id(filter_id)
                    .hint_text(if self.settings.filter.regex {
                        "regex (Ctrl+F)"
                    } else {
                        "text (Ctrl+F)"
                    })
                    .desired_width((ui.available_width() - after).clamp(140.0, 640.0)),
            )
            .labelled_by(label.id)
            .on_hover_text("Rows whose payload or event text contains this (Ctrl+F)");
            ui.toggle_value(
                &mut self.settings.filter.regex,
                RichText::new(".*").monospace(),
            )
            .on_hover_text("Regular expression");
            ui.separator();
            self.counts_ui(ui, session, palette);
        });
        ui.horizontal_wrapped(|ui| {
            ui.spacing_mut().item_spacing.x = 4.0;
            let follow = ui
                .toggle_value(&mut self.settings.follow, "Follow")
                .on_hover_text(
                    "Keep the newest row in view; scrolling up pauses following until you \
                     scroll back to the end or jump to the latest",
                );
            if follow.clicked() {
                self.jump_to_end = self.settings.follow;
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
            if ui
                .add_enabled(session.is_some(), egui::Button::new("Clear"))
                .on_hover_text("Clear the log (Ctrl+L)")
                .clicked()
            {
                action = Some(LogAction::Clear);
            }
            ui.separator();
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
            if self.decoding.is_active() {
                ui.toggle_value(&mut self.settings.hide_heartbeats, "Hide heartbeats")
                    .on_hover_text(
                        "Hide application pings and pongs (Engine.IO 2/3, graphql-ws \
                         ping/pong and ka), as the payload decoder tells them",
                    );
                if self.settings.hide_heartbeats {
                    let hidden = self.filtered.hidden_heartbeats();
                    ui.label(
                        RichText::new(plural(hidden, "heartbeat hidden", "heartbeats hidden"))
                            .color(palette.control),
                    );
                }
            }
            ui.toggle_value(
                &mut self.settings.filter.events,
                RichText::new("events").color(palette.event),
            )
            .on_hover_text("open, message, error, close");
            if let Some(op) = self.settings.filter.opcode {
                let name = ws_tokio::ws_proto::OpCode::from_bits(op).name();
                if ui
                    .button(format!("opcode {name} ✖"))
                    .on_hover_text("Only frames with this opcode are shown: click to show all")
                    .clicked()
                {
                    self.settings.filter.opcode = None;
                }
            }
            self.warnings_ui(ui, session, palette);
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
            let shown = if self.settings.messages {
                plural(shown as u64, "message", "messages")
            } else {
                plural(shown as u64, "row", "rows")
            };
            ui.add(egui::Label::new(RichText::new(shown).color(palette.weak)).extend())
                .on_hover_text(format!(
                    "Shown after the filter. The log keeps {} of the {} logged since the tab \
                     opened.",
                    plural(log.len() as u64, "entry", "entries"),
                    format_count(log.total_pushed()),
                ));
        }
    }

    /// What the log is not keeping: dropped entries, paused capture.
    fn warnings_ui(&self, ui: &mut Ui, session: Option<&SessionState>, palette: &Palette) {
        if let Some(s) = session {
            let log = &s.log;
            if log.evicted() > 0 {
                ui.label(
                    RichText::new(format!(
                        "· oldest {} dropped (capacity {})",
                        format_count(log.evicted()),
                        format_count(log.capacity() as u64)
                    ))
                    .color(palette.warning),
                );
            }
            if !s.capture {
                ui.label(
                    RichText::new(format!(
                        "· capture paused, {} not logged",
                        plural(s.skipped, "frame", "frames")
                    ))
                    .color(palette.warning),
                );
            }
        }
    }

    fn frames_table_ui(
        &mut self,
        ui: &mut Ui,
        log: &LogStore,
        activity: &Activity,
        palette: &Palette,
    ) {
        // A click anywhere on a row selects it: labels that select their own text would
        // take the click (the payload pane below is where text is selected and copied).
        ui.style_mut().interaction.selectable_labels = false;
        let rows = self.filtered.len();
        // In a narrow log (a small window, or wide side panels) the Δ, FIN, RSV and mask
        // columns give way to the preview: the detail pane shows them for the selected row.
        let compact = ui.available_width() < COMPACT_BELOW;
        // With a decoder, the packet type (Socket.IO, GraphQL) has a column of its own.
        let packets = self.decoding.is_active();
        let mut table = TableBuilder::new(ui)
            .id_salt(match (compact, packets) {
                (true, false) => "frames-table-compact",
                (false, false) => "frames-table",
                (true, true) => "frames-table-compact-packets",
                (false, true) => "frames-table-packets",
            })
            .striped(true)
            .resizable(true)
            .sense(Sense::click())
            .stick_to_bottom(self.settings.follow)
            .cell_layout(Layout::left_to_right(Align::Center))
            .column(Column::initial(46.0).at_least(30.0))
            .column(Column::initial(92.0).at_least(60.0));
        if !compact {
            table = table.column(Column::initial(62.0).at_least(40.0));
        }
        table = table
            .column(Column::initial(50.0).at_least(40.0))
            .column(Column::initial(84.0).at_least(50.0));
        if !compact {
            table = table
                .column(Column::initial(28.0).at_least(24.0))
                .column(Column::initial(34.0).at_least(30.0))
                .column(Column::initial(70.0).at_least(40.0));
        }
        table = table.column(Column::initial(56.0).at_least(40.0));
        if packets {
            table = table.column(Column::initial(96.0).at_least(50.0));
        }
        table = table.column(Column::remainder().at_least(120.0).clip(true));
        if self.jump_to_end && rows > 0 {
            // No animation: an animated scroll lands where the last row was when it
            // started, which a live stream has left behind by then.
            table = table
                .animate_scrolling(false)
                .scroll_to_row(rows - 1, Some(Align::BOTTOM));
        }
        if let Some(index) = self.reveal.take()
            && let Some(position) = log.position_of(index)
        {
            // The filtered rows are in store order: the first row at or after it.
            let (mut low, mut high) = (0, rows);
            while low < high {
                let middle = (low + high) / 2;
                match self.filtered.position(middle) {
                    Some(p) if p < position => low = middle + 1,
                    _ => high = middle,
                }
            }
            if low < rows {
                table = table.scroll_to_row(low, Some(Align::Center));
            }
        }
        if let Some(fraction) = self.scroll_to.take()
            && rows > 0
        {
            let row = ((rows - 1) as f32 * fraction).round() as usize;
            table = table.scroll_to_row(row, Some(Align::Center));
        }
        let mut clicked = None;
        let mut menu_action = None;
        let selected = self.selected;
        let filtered = &self.filtered;
        let decoding = &mut self.decoding;
        // The selected row's packet id (a Socket.IO ack id, a GraphQL operation id): the
        // rows of the same id are shown selected too — a request and its responses.
        let linked = selected.and_then(|index| {
            let entry = log.by_index(index)?;
            let Item::Frame(frame) = &entry.item else {
                return None;
            };
            packet_link(decoding.frame(index, frame)?)
        });
        let out = table
            .header(22.0, |mut header| {
                let titles: &[&str] = if compact {
                    &["#", "Time", "Dir", "Opcode", "Length"]
                } else {
                    &[
                        "#", "Time", "Δ", "Dir", "Opcode", "FIN", "RSV", "Mask", "Length",
                    ]
                };
                let packet: &[&str] = if packets { &["Packet"] } else { &[] };
                for title in titles.iter().chain(packet).chain(&["Preview"]) {
                    header.col(|ui| {
                        ui.label(RichText::new(*title).strong());
                    });
                }
            })
            .body(|body| {
                body.rows(ROW_HEIGHT, rows, |mut row| {
                    let i = row.index();
                    let Some(entry) = filtered.position(i).and_then(|p| log.get(p)) else {
                        return;
                    };
                    if let Some(count) = filtered.heartbeat_run(entry.index) {
                        heartbeat_run_ui(&mut row, &entry, count, compact, palette, packets);
                        if row.response().clicked() {
                            clicked = Some(entry.index);
                        }
                        return;
                    }
                    let previous = i
                        .checked_sub(1)
                        .and_then(|j| filtered.position(j))
                        .and_then(|p| log.get(p));
                    row.set_selected(selected == Some(entry.index));
                    let rtt = match &entry.item {
                        Item::Frame(f) if f.header.opcode == OpCode::Pong => {
                            activity.rtt_of_entry(entry.index)
                        }
                        _ => None,
                    };
                    let decoded = match &entry.item {
                        Item::Frame(frame) => {
                            let name = decoding.name(frame.direction);
                            decoding
                                .frame_joined(log, entry.index, frame)
                                .map(|outcome| (outcome, name))
                        }
                        Item::Event(_) => None,
                    };
                    if linked.is_some()
                        && decoded
                            .as_ref()
                            .and_then(|(outcome, _)| packet_link(outcome))
                            == linked
                    {
                        row.set_selected(true);
                    }
                    let decoded = decoded.as_ref().map(|(o, name)| (*o, name.as_deref()));
                    entry_row_ui(
                        &mut row,
                        &entry,
                        previous.as_ref(),
                        rtt,
                        Columns { compact, packets },
                        decoded,
                        palette,
                    );
                    let response = row.response();
                    if response.clicked() {
                        clicked = Some(entry.index);
                    }
                    response.context_menu(|ui| {
                        if let Some(action) = row_menu_ui(ui, &entry) {
                            menu_action = Some(action);
                        }
                    });
                });
            });
        if let Some(index) = clicked {
            self.selected = Some(index);
        }
        match menu_action {
            Some(RowMenuAction::OnlyOpcode(op)) => self.settings.filter.opcode = Some(op),
            Some(RowMenuAction::OnlyDirection(direction)) => {
                self.settings.filter.incoming = direction == Direction::Incoming;
                self.settings.filter.outgoing = direction == Direction::Outgoing;
            }
            None => {}
        }
        let at_end =
            out.state.clamped_offset().y + out.inner_rect.height() >= out.content_size.y - 2.0;
        self.follow_tail(ui, at_end);
        if !at_end && rows > 0 && self.settings.follow && !self.jump_to_end {
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
        ui.style_mut().interaction.selectable_labels = false;
        let mut clicked = None;
        let selected = self.selected_message;
        let decoding = &mut self.decoding;
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
        if self.jump_to_end && !rows.is_empty() {
            table = table
                .animate_scrolling(false)
                .scroll_to_row(rows.len() - 1, Some(Align::BOTTOM));
        }
        let out = table
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
                            compressed_tag_ui(ui, m.len, plain, palette);
                        }
                        // Decoded: a whole message that is not too large to read each
                        // time the cache is emptied.
                        let full = m.plain.unwrap_or(m.len);
                        if m.complete && full <= DECODE_PREVIEW_MAX {
                            let name = decoding.name(m.direction);
                            let outcome =
                                decoding.cached((m.first, 2, full as usize), m.direction, || {
                                    let content = log.message_content(m, usize::MAX);
                                    (!content.missing && !content.cut)
                                        .then_some((m.text, std::borrow::Cow::Owned(content.data)))
                                });
                            if let Some(outcome) = outcome {
                                if preview_ui(ui, outcome, name.as_deref(), colour, palette, false)
                                {
                                    return;
                                }
                                if let Err(error) = outcome {
                                    error_tag_ui(ui, error, name.as_deref(), palette);
                                }
                            }
                        }
                        // The whole message's start, across its fragments (the plain
                        // content, for a compressed one).
                        let content = log.message_content(m, PREVIEW_BYTES);
                        let full = m.plain.unwrap_or(m.len);
                        let cut = content.cut || (content.data.len() as u64) < full;
                        ui.label(
                            RichText::new(preview_bytes(&content.data, cut, 160))
                                .monospace()
                                .color(colour),
                        );
                    });
                    if row.response().clicked() {
                        clicked = Some(m.first);
                    }
                });
            });
        if let Some(first) = clicked {
            self.selected_message = Some(first);
        }
        let at_end =
            out.state.clamped_offset().y + out.inner_rect.height() >= out.content_size.y - 2.0;
        self.follow_tail(ui, at_end);
    }

    /// Keeps following the tail: a jump repeats until the table is seen at its end, after
    /// which the table's own stick-to-bottom holds it there; scrolling up (wheel, drag or
    /// the scroll bar) while following pauses it until the user comes back to the end or
    /// asks to jump.
    fn follow_tail(&mut self, ui: &Ui, at_end: bool) {
        if self.jump_to_end && at_end {
            self.jump_to_end = false;
        }
        if self.jump_to_end {
            ui.ctx().request_repaint();
        }
        self.at_end = at_end;
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
                let close =
                    (frame.header.opcode == OpCode::Close).then(|| close_text(frame.payload));
                let plain = frame.plain.filter(|_| !self.show_wire);
                if let Some((_, plain_len)) = frame.plain {
                    ui.horizontal(|ui| {
                        ui.label(RichText::new("Compressed frame: show").color(palette.weak));
                        ui.selectable_value(&mut self.show_wire, false, "Plain message")
                            .on_hover_text(format!(
                                "The whole message this frame belongs to, as the engine \
                                 inflated it ({} bytes)",
                                format_count(plain_len as u64)
                            ));
                        ui.selectable_value(&mut self.show_wire, true, "Wire bytes")
                            .on_hover_text("This frame's payload as sent: deflated");
                    });
                }
                let (data, len, part) = match plain {
                    Some((data, len)) => (data, len as u64, 1),
                    None => (frame.payload, frame.header.payload_len, 0),
                };
                let decoder = self.decoding.name(frame.direction);
                let load_error = self.decoding.load_error(frame.direction).map(str::to_owned);
                let fragment = frame.header.opcode.is_control() || frame_content(frame).is_none();
                let outcome = self.decoding.frame_joined(log, entry.index, frame);
                let nothing = if frame.header.opcode.is_control() {
                    "a control frame is not decoded"
                } else if fragment {
                    "a fragment: the Messages view decodes the whole message"
                } else {
                    "nothing to decode"
                };
                let decoded = decoder.as_deref().map(|decoder| {
                    DecodedPayload::from_outcome(decoder, outcome, load_error.as_deref(), nothing)
                });
                let payload = Payload {
                    data,
                    close,
                    note: not_kept_note(data.len() as u64, len, frame.trimmed),
                    decoded,
                };
                let key = PayloadKey {
                    index: entry.index,
                    part,
                    len: data.len(),
                };
                self.payload.ui(ui, key, &payload, palette);
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
        // Reassembled once per message (and again as more of it arrives), not every frame.
        let current = (m.first, m.last);
        if self
            .message_cache
            .as_ref()
            .is_none_or(|(at, _)| *at != current)
        {
            self.message_cache = Some((current, log.message_content(m, usize::MAX)));
        }
        let Some((_, content)) = &self.message_cache else {
            return;
        };
        ui.horizontal_wrapped(|ui| {
            ui.label(
                RichText::new(format!(
                    "Message · {} {} · {} · {}",
                    direction_text(m.direction),
                    if m.text { "text" } else { "binary" },
                    plural(u64::from(m.fragments), "fragment", "fragments"),
                    plural(m.plain.unwrap_or(m.len), "byte", "bytes"),
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
        let note = if content.missing {
            Some(
                "Frames of this message are no longer in the log (the oldest are dropped at \
                 capacity, and Clear drops them all)."
                    .to_owned(),
            )
        } else if content.cut {
            Some(format!(
                "Part of this message was not kept: the log keeps at most {} of large \
                 payloads in all, and trims the oldest to their first {} to stay within it.",
                super::format_bytes(log.payload_budget() as u64),
                super::format_bytes(TRIMMED_KEEP as u64),
            ))
        } else {
            None
        };
        let decoder = self.decoding.name(m.direction);
        let load_error = self.decoding.load_error(m.direction).map(str::to_owned);
        let text = m.text;
        let outcome = self
            .decoding
            .cached((m.first, 2, content.data.len()), m.direction, || {
                Some((text, std::borrow::Cow::Borrowed(content.data.as_slice())))
            });
        let decoded = decoder.as_deref().map(|decoder| {
            DecodedPayload::from_outcome(
                decoder,
                outcome,
                load_error.as_deref(),
                "nothing to decode",
            )
        });
        let payload = Payload {
            data: &content.data,
            close: None,
            note,
            decoded,
        };
        let key = PayloadKey {
            index: m.first,
            part: 2,
            len: content.data.len(),
        };
        self.payload.ui(ui, key, &payload, palette);
    }
}

/// Why only `kept` of a payload's `len` bytes are shown, if they are not all there.
fn not_kept_note(kept: u64, len: u64, trimmed: bool) -> Option<String> {
    if kept >= len {
        return None;
    }
    let why = if trimmed {
        "the log keeps a bounded amount of large payloads in all, and trimmed this one, among \
         the oldest, to make room for newer ones"
    } else {
        "it is larger than the largest payload the log keeps (the message size limit)"
    };
    Some(format!(
        "Showing the first {} of {}: {why}.",
        plural(kept, "byte", "bytes"),
        format_count(len)
    ))
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

/// What a row's context menu asked of the log (copies are done in the menu).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RowMenuAction {
    /// Show only frames with this opcode.
    OnlyOpcode(u8),
    /// Show only this direction.
    OnlyDirection(Direction),
}

/// A row's context menu: copy its payload (text, hex) or the row as JSON, or filter by
/// its opcode or direction.
fn row_menu_ui(ui: &mut Ui, entry: &Entry<'_>) -> Option<RowMenuAction> {
    let mut action = None;
    if let Item::Frame(frame) = &entry.item {
        let content = frame.plain.map_or(frame.payload, |(plain, _)| plain);
        if ui.button("Copy payload").clicked() {
            ui.ctx()
                .copy_text(String::from_utf8_lossy(content).into_owned());
            ui.close();
        }
        if ui.button("Copy payload as hex").clicked() {
            ui.ctx().copy_text(super::hex_string(content));
            ui.close();
        }
    }
    if ui.button("Copy row as JSON").clicked() {
        ui.ctx().copy_text(row_json(entry));
        ui.close();
    }
    if let Item::Frame(frame) = &entry.item {
        ui.separator();
        if ui
            .button(format!("Show only {} frames", frame.header.opcode.name()))
            .clicked()
        {
            action = Some(RowMenuAction::OnlyOpcode(frame.header.opcode.bits()));
            ui.close();
        }
        let way = match frame.direction {
            Direction::Incoming => "received",
            Direction::Outgoing => "sent",
        };
        if ui.button(format!("Show only frames {way}")).clicked() {
            action = Some(RowMenuAction::OnlyDirection(frame.direction));
            ui.close();
        }
    }
    action
}

/// A row as one JSON object: its index, time, and the frame's header bits and payload
/// (text when it is UTF-8, else hex), or the event's name and summary.
fn row_json(entry: &Entry<'_>) -> String {
    let time = chrono::DateTime::<chrono::Utc>::from(entry.time).to_rfc3339();
    let value = match &entry.item {
        Item::Frame(frame) => {
            let h = &frame.header;
            let content = frame.plain.map_or(frame.payload, |(plain, _)| plain);
            let (key, payload) = match std::str::from_utf8(content) {
                Ok(text) => ("payload_text", serde_json::Value::from(text)),
                Err(_) => ("payload_hex", super::hex_string(content).into()),
            };
            let mut object = serde_json::json!({
                "index": entry.index,
                "time": time,
                "direction": match frame.direction {
                    Direction::Incoming => "in",
                    Direction::Outgoing => "out",
                },
                "opcode": h.opcode.name(),
                "fin": h.fin,
                "rsv1": h.rsv1,
                "rsv2": h.rsv2,
                "rsv3": h.rsv3,
                "mask": h.mask.map(|m| super::hex_string(&m).replace(' ', "")),
                "length": h.payload_len,
                "compressed": frame.decompressed_len.is_some(),
                "complete": !frame.truncated() || frame.plain.is_some_and(|(p, n)| p.len() == n),
            });
            if let Some(map) = object.as_object_mut() {
                map.insert(key.to_owned(), payload);
            }
            object
        }
        Item::Event(event) => serde_json::json!({
            "index": entry.index,
            "time": time,
            "event": event.name(),
            "summary": event.summary(),
        }),
    };
    value.to_string()
}

/// The bytes of a message the messages table reads for its preview.
const PREVIEW_BYTES: usize = 640;

/// The largest message the messages table decodes for its preview (the payload pane
/// decodes any).
const DECODE_PREVIEW_MAX: u64 = 1 << 20;

/// `deflated 26%`, with the sizes on hover: marks a compressed frame or message.
fn compressed_tag_ui(ui: &mut Ui, wire: u64, plain: u64, palette: &Palette) {
    let ratio = match plain {
        0 => "—".to_owned(),
        _ => format!("{:.0}%", wire as f64 * 100.0 / plain as f64),
    };
    ui.label(RichText::new(format!("deflated {ratio}")).color(palette.weak))
        .on_hover_text(format!("compressed · {}", compression_text(wire, plain)));
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
#[allow(clippy::too_many_arguments)]
/// Which columns the frames table has.
#[derive(Clone, Copy, Debug)]
struct Columns {
    /// Δ, FIN, RSV and mask left out.
    compact: bool,
    /// A Packet column (a decoder is active).
    packets: bool,
}

fn entry_row_ui(
    row: &mut egui_extras::TableRow<'_, '_>,
    entry: &Entry<'_>,
    previous: Option<&Entry<'_>>,
    rtt: Option<std::time::Duration>,
    columns: Columns,
    decoded: Option<(&super::decoded::Outcome, Option<&str>)>,
    palette: &Palette,
) {
    let Columns { compact, packets } = columns;
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
    if !compact {
        cell(row, &mut |ui| {
            let delta = previous
                .map(|p| entry.elapsed.saturating_sub(p.elapsed))
                .map(format_delta)
                .unwrap_or_default();
            ui.label(RichText::new(delta).monospace().color(palette.weak));
        });
    }
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
                    ui.label(RichText::new(part).color(palette.weak));
                }
            });
            if !compact {
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
            }
            cell(row, &mut |ui| {
                let length = ui.label(RichText::new(format_count(h.payload_len)).monospace());
                if let Some(plain) = frame.decompressed_len {
                    length.on_hover_text(format!(
                        "compressed: {}",
                        compression_text(h.payload_len, plain as u64)
                    ));
                }
            });
            if packets {
                cell(row, &mut |ui| {
                    let packet = decoded.and_then(|(o, _)| o.as_ref().ok()?.packet.as_ref());
                    if let Some(packet) = packet {
                        ui.label(RichText::new(packet.kind).strong().color(palette.event))
                            .on_hover_text(format!("{} packet", packet.protocol.name()));
                    }
                });
            }
            cell(row, &mut |ui| {
                if let Some((outcome, decoder)) = decoded {
                    if let Some(plain) = frame.decompressed_len {
                        compressed_tag_ui(ui, h.payload_len, plain as u64, palette);
                    }
                    if preview_ui(ui, outcome, decoder, colour, palette, packets) {
                        if frame.truncated() && frame.plain.is_none() {
                            ui.label(RichText::new("(not all kept)").color(palette.warning));
                        }
                        return;
                    }
                    if let Err(error) = outcome {
                        error_tag_ui(ui, error, decoder, palette);
                    }
                }
                if let Some(plain) = frame.decompressed_len {
                    if decoded.is_none() {
                        compressed_tag_ui(ui, h.payload_len, plain as u64, palette);
                    }
                    // The deflated bytes say nothing: the plain message, once known.
                    if frame.plain.is_some() {
                        ui.label(RichText::new(frame.preview(200)).monospace().color(colour));
                    }
                    return;
                }
                let preview = if h.opcode == OpCode::Close {
                    close_text(frame.payload)
                } else {
                    frame.preview(200)
                };
                if let Some(rtt) = rtt {
                    ui.label(
                        RichText::new(format!("RTT {}", super::format_rtt(rtt)))
                            .strong()
                            .color(palette.event),
                    )
                    .on_hover_text("The round trip of the ping this pong answers");
                }
                ui.label(RichText::new(preview).monospace().color(colour));
                if frame.truncated() {
                    ui.label(RichText::new("(not all kept)").color(palette.warning));
                }
            });
        }
        Item::Event(event) => {
            let colour = match &**event {
                LifecycleEvent::Error(_) => palette.error,
                LifecycleEvent::Fault(_) => palette.warning,
                LifecycleEvent::Close { clean: false, .. } => palette.error,
                _ => palette.event,
            };
            cell(row, &mut |ui| {
                ui.label(RichText::new("event").color(colour));
            });
            cell(row, &mut |ui| {
                ui.label(RichText::new(event.name()).strong().color(colour));
            });
            for _ in 0..if compact { 1 } else { 4 } + usize::from(packets) {
                cell(row, &mut |_| {});
            }
            cell(row, &mut |ui| {
                ui.label(RichText::new(event_text(event)).color(colour));
            });
        }
    }
}

/// A run of folded heartbeats as one row: where it starts, and how many it holds.
fn heartbeat_run_ui(
    row: &mut egui_extras::TableRow<'_, '_>,
    entry: &Entry<'_>,
    count: u64,
    compact: bool,
    palette: &Palette,
    packets: bool,
) {
    let weak = palette.weak;
    row.col(|ui| {
        ui.label(
            RichText::new(entry.index.to_string())
                .monospace()
                .color(weak),
        );
    });
    row.col(|ui| {
        ui.label(
            RichText::new(format_time(entry.time))
                .monospace()
                .color(weak),
        );
    });
    let blank = if compact { 3 } else { 7 } + usize::from(packets);
    for _ in 0..blank {
        row.col(|_| {});
    }
    row.col(|ui| {
        ui.label(
            RichText::new(format!(
                "{} folded (pings, pongs and their events)",
                plural(count, "heartbeat", "heartbeats")
            ))
            .italics()
            .color(weak),
        )
        .on_hover_text("Hide heartbeats is on: the application's pings and pongs of this run are folded into this row");
    });
}

/// A decoded packet's protocol and id, when it has one: what links a request to its
/// responses.
fn packet_link(outcome: &super::decoded::Outcome) -> Option<(&'static str, String)> {
    let packet = outcome.as_ref().ok()?.packet.as_ref()?;
    Some((packet.protocol.name(), packet.id.clone()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_and_its_ack_link_by_id_and_other_packets_do_not() {
        use ws_inspector_core::decode::{Context, Decoder, Payload};
        let codec = Decoder::SocketIo.load().expect("socket.io");
        let context = Context {
            protocol: None,
            url: "ws://h/socket.io/?EIO=4".into(),
        };
        let mut received = codec.stream(&context);
        let mut sent = codec.stream(&context);
        let event = received.decode(Payload::Text(r#"421["chat","ack me"]"#));
        let ack = sent.decode(Payload::Text(r#"431["ok"]"#));
        let other = received.decode(Payload::Text(r#"42["chat","no id"]"#));
        assert_eq!(packet_link(&event), Some(("socket.io", "1".to_owned())));
        assert_eq!(
            packet_link(&event),
            packet_link(&ack),
            "a request and its response"
        );
        assert_eq!(packet_link(&other), None);
    }

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
            hide_heartbeats: true,
        };
        let text = ron::to_string(&settings).expect("serializes");
        assert_eq!(
            ron::from_str::<LogSettings>(&text).expect("loads"),
            settings
        );
    }
}
