//! Replaying and serving a capture from its tab: the row that asks where to (a URL to
//! replay to, as fast as possible or on the capture's timing; an address to serve on, after
//! each question or on the capture's timing), and the line a replay's tab shows while it
//! runs and once its answers are compared. The work is in the core
//! (`ws_inspector_core::capture::playback`).

use egui::{RichText, Ui};
use ws_inspector_core::capture::playback::ReplayPhase;

use super::Palette;

/// Which of the two the row is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlaybackKind {
    /// Send the capture's client messages to a server.
    Replay,
    /// Serve the capture's server messages to clients.
    Serve,
}

/// The row under the tabs that starts a replay or a served capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlaybackForm {
    /// Replay or serve.
    pub kind: PlaybackKind,
    /// The capture's tab.
    pub tab: usize,
    /// The URL to replay to, or the address to listen on.
    pub target: String,
    /// Replay: as fast as possible. Serve: on the capture's timing.
    pub timing_switch: bool,
}

/// What the row asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlaybackAction {
    /// Start it.
    Start,
    /// Close the row.
    Cancel,
}

impl PlaybackForm {
    /// The row. Returns what was pressed.
    pub fn row_ui(&mut self, ui: &mut Ui) -> Option<PlaybackAction> {
        let mut action = None;
        ui.horizontal(|ui| {
            let (title, field, hint, switch, start) = match self.kind {
                PlaybackKind::Replay => (
                    "Replay the capture's client messages",
                    "Replay to",
                    "ws://host:port/path, or a profile's name",
                    "As fast as possible",
                    "Start replay",
                ),
                PlaybackKind::Serve => (
                    "Serve the capture's server messages",
                    "Serve on",
                    "127.0.0.1:0",
                    "On the capture's timing",
                    "Start serving",
                ),
            };
            ui.label(RichText::new(title).strong());
            let label = ui.label(field);
            let response = ui
                .add(
                    egui::TextEdit::singleline(&mut self.target)
                        .hint_text(hint)
                        .font(egui::TextStyle::Monospace)
                        .desired_width(320.0),
                )
                .labelled_by(label.id);
            ui.checkbox(&mut self.timing_switch, switch);
            let enter = response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if ui.button(start).clicked() || enter {
                action = Some(PlaybackAction::Start);
            }
            if ui.button("Close").clicked() {
                action = Some(PlaybackAction::Cancel);
            }
        });
        action
    }
}

/// The replay's line in its tab: how far it has got, then how the answers compare.
pub fn replay_line_ui(ui: &mut Ui, phase: &ReplayPhase, skipped: usize) {
    let palette = Palette::of(ui);
    ui.horizontal_wrapped(|ui| {
        ui.spacing_mut().item_spacing.x = 6.0;
        ui.colored_label(palette.event, "↻ Replay");
        match phase {
            ReplayPhase::Connecting => {
                ui.label("connecting…");
            }
            ReplayPhase::Sending { sent, total } => {
                ui.label(format!("sending the capture's messages: {sent} of {total}"));
            }
            ReplayPhase::Answers { received, expected } => {
                ui.label(format!("waiting for the answers: {received} of {expected}"));
            }
            ReplayPhase::Done {
                sent,
                received,
                differences,
            } if differences.is_empty() => {
                ui.colored_label(
                    palette.incoming,
                    format!("done: sent {sent}, and every one of the {received} answers is the same, in order"),
                );
            }
            ReplayPhase::Done {
                sent,
                received,
                differences,
            } => {
                ui.colored_label(
                    palette.warning,
                    format!(
                        "done: sent {sent}, {received} answers, {} different from the capture's:",
                        differences.len()
                    ),
                );
                for difference in differences.iter().take(5) {
                    ui.label(RichText::new(difference).monospace());
                }
                if differences.len() > 5 {
                    ui.label(format!("… and {} more", differences.len() - 5));
                }
            }
            ReplayPhase::Failed(reason) => {
                ui.colored_label(palette.error, format!("failed: {reason}"));
            }
        }
        if skipped > 0 {
            ui.colored_label(
                palette.warning,
                format!(
                    "({skipped} messages were sent compressed and the capture holds only their \
                     compressed bytes: not replayed)"
                ),
            );
        }
    });
}
