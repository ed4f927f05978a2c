//! The connection bar: URL, Connect / Cancel / Disconnect, Close with code and reason, the
//! readyState badge, and the connection's vital signs.

use egui::{Key, KeyboardShortcut, Modifiers, RichText, Ui};
use serde::{Deserialize, Serialize};
use ws_tokio::tap::Initiator;
use ws_tokio::ws_proto::ReadyState;

use super::{Palette, format_bytes, format_duration, format_time, plural};
use ws_inspector_core::session::SessionState;
use ws_inspector_core::session::activity::RttSummary;
use ws_inspector_core::workflow::reconnect::Pending;

/// What the user asked the connection bar to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BarAction {
    /// Connect to the URL in the field.
    Connect,
    /// Cancel the attempt under way.
    Cancel,
    /// Record the session to a file (ask where).
    Record,
    /// Close with this code and reason.
    Close {
        /// The close code.
        code: u16,
        /// The reason (at most 123 bytes).
        reason: String,
    },
    /// Make the pending auto-reconnect attempt now.
    ReconnectNow,
    /// Drop the pending auto-reconnect attempt.
    StopReconnect,
}

/// The connection bar's own state (the URL lives in the tab's profile).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct ConnectionBar {
    /// The close code offered by the Close menu.
    pub close_code: u16,
    /// The close reason offered by the Close menu.
    pub close_reason: String,
    /// Why the URL cannot be used, shown under the bar.
    #[serde(skip)]
    pub url_error: Option<String>,
    /// The auto-reconnect attempt waiting for its time, for the countdown (the app sets it
    /// before each frame).
    #[serde(skip)]
    pub reconnect: Option<Pending>,
}

impl Default for ConnectionBar {
    fn default() -> Self {
        Self {
            close_code: 1000,
            close_reason: String::new(),
            url_error: None,
            reconnect: None,
        }
    }
}

/// Common close codes for the Close menu.
pub const CLOSE_PRESETS: [(u16, &str); 6] = [
    (1000, "Normal Closure"),
    (1001, "Going Away"),
    (1008, "Policy Violation"),
    (1011, "Internal Error"),
    (3000, "Registered"),
    (4000, "Private Use"),
];

impl ConnectionBar {
    /// Shows the bar. `url` is edited in place; `local_echo` is switched off when the user
    /// types a URL of their own. `read_only`: the tab shows a capture opened from a file, so
    /// the URL, Connect and Close are disabled. `recordable`: offer the record switch (a
    /// live tab's session that is not being recorded).
    #[allow(clippy::too_many_arguments)]
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        url: &mut String,
        local_echo: &mut bool,
        insecure: bool,
        session: Option<&SessionState>,
        read_only: bool,
        recordable: bool,
    ) -> Option<BarAction> {
        let palette = Palette::of(ui);
        let state = session.map(|s| s.ready_state());
        let live = read_only
            || matches!(
                state,
                Some(ReadyState::Connecting | ReadyState::Open | ReadyState::Closing)
            );
        let mut action = None;

        ui.horizontal(|ui| {
            ui.spacing_mut().item_spacing.x = 6.0;
            let label = ui.label(RichText::new("URL").strong());
            let button_width = 300.0;
            let field_id = ui.make_persistent_id("url-field");
            // Ctrl+Enter connects from the URL field, as Enter does.
            let ctrl_enter = ui.memory(|m| m.has_focus(field_id))
                && ui.input_mut(|i| {
                    i.consume_shortcut(&KeyboardShortcut::new(Modifiers::COMMAND, Key::Enter))
                });
            let edit = egui::TextEdit::singleline(url)
                .id(field_id)
                .hint_text("ws://host:port/path or wss://…")
                .font(egui::TextStyle::Monospace)
                .desired_width((ui.available_width() - button_width).max(160.0));
            let response = ui.add_enabled(!live, edit).labelled_by(label.id);
            if response.changed() {
                *local_echo = false;
                self.url_error = None;
            }
            let enter = response.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
            if (enter || ctrl_enter) && !live {
                action = Some(BarAction::Connect);
            }

            match state {
                _ if read_only => {
                    let connect = egui::Button::new(RichText::new("Connect").strong());
                    ui.add_enabled(false, connect).on_disabled_hover_text(
                        "A capture opened from a file: nothing can be sent or connected",
                    );
                }
                Some(ReadyState::Connecting) => {
                    if ui
                        .button("Cancel")
                        .on_hover_text("Abandon the connection attempt")
                        .clicked()
                    {
                        action = Some(BarAction::Cancel);
                    }
                }
                Some(ReadyState::Open | ReadyState::Closing) => {
                    let open = state == Some(ReadyState::Open);
                    if ui
                        .add_enabled(open, egui::Button::new("Disconnect"))
                        .on_hover_text("Close with 1000 Normal Closure")
                        .clicked()
                    {
                        action = Some(BarAction::Close {
                            code: 1000,
                            reason: String::new(),
                        });
                    }
                }
                _ if self.reconnect.is_some() => {
                    if ui
                        .button(RichText::new("Reconnect now").strong())
                        .on_hover_text("Make the next attempt without waiting")
                        .clicked()
                    {
                        action = Some(BarAction::ReconnectNow);
                    }
                    if ui
                        .button("Stop")
                        .on_hover_text("Stop reconnecting (Connect starts again)")
                        .clicked()
                    {
                        action = Some(BarAction::StopReconnect);
                    }
                }
                _ => {
                    let connect = egui::Button::new(RichText::new("Connect").strong())
                        .fill(palette.outgoing.gamma_multiply(0.35));
                    if ui
                        .add(connect)
                        .on_hover_text("Connect (Enter in the URL field, or Ctrl+K)")
                        .clicked()
                    {
                        action = Some(BarAction::Connect);
                    }
                }
            }
            ui.add_enabled_ui(state == Some(ReadyState::Open) && !read_only, |ui| {
                let config = egui::containers::menu::MenuConfig::new()
                    .close_behavior(egui::PopupCloseBehavior::CloseOnClickOutside);
                egui::containers::menu::MenuButton::new("Close…")
                    .config(config)
                    .ui(ui, |ui| {
                        if let Some(close) = self.close_menu_ui(ui) {
                            action = Some(close);
                            ui.close();
                        }
                    })
                    .0
                    .on_hover_text("Send a close frame with a code and reason of your choice");
            });
            super::ready_state_badge_ui(ui, state);
        });

        // Second line: vital signs, or why the URL is not usable.
        ui.horizontal_wrapped(|ui| {
            ui.spacing_mut().item_spacing.x = 4.0;
            if let Some(error) = &self.url_error {
                ui.colored_label(palette.error, format!("⚠ {error}"));
                return;
            }
            if insecure && url.trim_start().to_ascii_lowercase().starts_with("wss:") {
                ui.colored_label(
                    palette.warning,
                    "⚠ certificate checks are OFF for this profile",
                )
                .on_hover_text("Options > TLS > Accept invalid certificates");
                ui.separator();
            }
            if let Some(pending) = &self.reconnect {
                let left = pending.remaining(std::time::Instant::now());
                ui.colored_label(
                    palette.warning,
                    format!(
                        "↻ reconnecting in {:.1} s ({})",
                        left.as_secs_f64(),
                        pending.attempt_text()
                    ),
                )
                .on_hover_text(format!("The last connection: {}", pending.reason));
                ui.separator();
            }
            match session {
                None => {
                    let hint = if *local_echo {
                        "The built-in local echo server answers at this URL. Press Connect."
                    } else {
                        "Not connected. Press Connect (Ctrl+K)."
                    };
                    ui.label(RichText::new(hint).color(palette.weak));
                }
                Some(s) => vital_signs_ui(ui, s, &palette),
            }
            if recordable {
                ui.separator();
                if ui
                    .small_button("⏺ Record to file…")
                    .on_hover_text(
                        "Stream this session to a .jsonl capture as it happens (from its first \
                         line)",
                    )
                    .clicked()
                {
                    action = Some(BarAction::Record);
                }
            }
        });
        action
    }

    /// The Close menu: code (with presets) and reason. Returns the close to send.
    fn close_menu_ui(&mut self, ui: &mut Ui) -> Option<BarAction> {
        let mut action = None;
        ui.set_min_width(260.0);
        ui.label(RichText::new("Close the connection").strong());
        egui::Grid::new("close-menu").num_columns(2).show(ui, |ui| {
            let label = ui.label("Code");
            ui.add(egui::DragValue::new(&mut self.close_code).range(0..=4999))
                .labelled_by(label.id);
            ui.end_row();
            let label = ui.label("Reason");
            ui.add(
                egui::TextEdit::singleline(&mut self.close_reason)
                    .char_limit(123)
                    .hint_text("optional, ≤ 123 bytes"),
            )
            .labelled_by(label.id);
            ui.end_row();
        });
        let name = ws_tokio::ws_proto::CloseCode::from(self.close_code);
        ui.label(RichText::new(name.to_string()).weak());
        ui.horizontal_wrapped(|ui| {
            for (code, name) in CLOSE_PRESETS {
                if ui
                    .small_button(code.to_string())
                    .on_hover_text(name)
                    .clicked()
                {
                    self.close_code = code;
                }
            }
        });
        if ui.button("Send close").clicked() {
            action = Some(BarAction::Close {
                code: self.close_code,
                reason: self.close_reason.clone(),
            });
        }
        action
    }
}

/// `connected since 14:03:27 · open 00:01:23 · ⬆ 12 frames 1.2 KiB · ⬇ …`
fn vital_signs_ui(ui: &mut Ui, s: &SessionState, palette: &Palette) {
    let weak = palette.weak;
    match s.opened {
        Some((since, _)) => {
            ui.label(RichText::new("connected since").color(weak));
            ui.label(format_time(since));
            ui.label(RichText::new("· open").color(weak));
            ui.label(format_duration(s.open_for().unwrap_or_default()));
        }
        None if s.ready_state() == ReadyState::Connecting => {
            ui.label(RichText::new("connecting…").color(palette.warning));
        }
        None => {
            ui.label(RichText::new("never opened").color(weak));
        }
    }
    ui.separator();
    let t = s.traffic;
    ui.colored_label(palette.outgoing, "⬆");
    ui.label(format!(
        "{} · {}",
        plural(t.frames_out, "frame", "frames"),
        format_bytes(t.bytes_out)
    ));
    ui.colored_label(palette.incoming, "⬇");
    ui.label(format!(
        "{} · {}",
        plural(t.frames_in, "frame", "frames"),
        format_bytes(t.bytes_in)
    ));
    if let Some(rtt) = s.activity.rtt_summary() {
        ui.separator();
        ui.label(rtt_text(&rtt)).on_hover_text(format!(
            "Round trips of {}: min · median · p99",
            plural(rtt.count as u64, "ping", "pings")
        ));
    }
    ui.separator();
    ui.label(RichText::new(s.history_text()).color(weak).monospace())
        .on_hover_text("readyState history");
    if let Some(close) = &s.close {
        ui.separator();
        let colour = if close.clean { weak } else { palette.error };
        let mut text = format!("closed {}", close.code);
        if !close.reason.is_empty() {
            text.push_str(&format!(" “{}”", close.reason));
        }
        text.push_str(if close.clean {
            ", clean"
        } else {
            ", not clean"
        });
        text.push_str(match close.initiator {
            Initiator::Local => ", by us",
            Initiator::Remote => ", by the server",
            Initiator::Nobody => ", connection lost",
        });
        ui.colored_label(colour, text);
    } else if let Some(error) = &s.last_error {
        ui.separator();
        ui.colored_label(palette.error, error);
    }
}

/// `RTT 0.21 / 0.40 / 1.10 ms`: min / median / p99.
pub fn rtt_text(rtt: &RttSummary) -> String {
    format!(
        "RTT {} / {} / {}",
        super::format_rtt(rtt.min),
        super::format_rtt(rtt.median),
        super::format_rtt(rtt.p99)
    )
}
