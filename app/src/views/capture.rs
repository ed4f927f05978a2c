//! Captures in the window: the File menu (open, save, record), the file row that asks for
//! a path (typed, or chosen with Browse… in a file dialog), and a tab's capture line (read
//! only, recording, errors).
//!
//! The work is in the core (`ws_inspector_core::capture::open`, `Session::save_capture`,
//! `Session::start_recording`); this only asks where.

use std::path::{Path, PathBuf};

use egui::{RichText, Ui};
use ws_inspector_core::session::RecorderStatus;

use super::Palette;
use super::path_field::{PathField, PathStatus, resolve};

/// What the user asked for in the File menu.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MenuChoice {
    /// Open a capture file.
    Open,
    /// Save the active tab's session.
    Save,
    /// Record the active tab's session to a file.
    Record,
    /// Stop the active tab's recording.
    StopRecording,
}

/// What the file row asks the app to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaptureAction {
    /// Open this capture, or (`None`) one chosen in a file dialog.
    Open(Option<PathBuf>),
    /// Save the active tab's session to this file (`replace`: the user agreed to replace
    /// the file there), or (`None`) one chosen in a file dialog.
    Save(Option<(PathBuf, bool)>),
    /// Record the active tab's session to this file, or (`None`) one chosen in a dialog.
    Record(Option<(PathBuf, bool)>),
}

/// Which file the row asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowKind {
    /// A capture to open.
    Open,
    /// Where to save.
    Save,
    /// Where to record.
    Record,
}

/// The file row's own state.
#[derive(Debug, Default)]
pub struct CaptureRow {
    /// The row, when open: what it asks for, and the path typed so far.
    row: Option<(RowKind, String)>,
    /// The last outcome (error?, message), shown in the row.
    pub message: Option<(bool, String)>,
}

impl CaptureRow {
    /// Opens the row for `kind`, with `path` typed in.
    pub fn start(&mut self, kind: RowKind, path: String) {
        self.row = Some((kind, path));
        self.message = None;
    }

    /// Whether the row is open.
    pub fn is_open(&self) -> bool {
        self.row.is_some()
    }

    /// How an action ended: on success the row closes; an error stays in it.
    pub fn result(&mut self, result: &Result<String, String>) {
        match result {
            Ok(_) => {
                self.row = None;
                self.message = None;
            }
            Err(e) => self.message = Some((true, e.clone())),
        }
    }

    /// Shows the row: `Open capture from [path] Open Browse… Cancel`.
    pub fn ui(&mut self, ui: &mut Ui) -> Option<CaptureAction> {
        let palette = Palette::of(ui);
        let (kind, path) = self.row.as_mut()?;
        let kind = *kind;
        let mut action = None;
        let mut close = false;
        let (title, verb) = match kind {
            RowKind::Open => ("Open capture from", "Open"),
            RowKind::Save => ("Save capture to", "Save"),
            RowKind::Record => ("Record to", "Record"),
        };
        ui.horizontal(|ui| {
            let label = ui.label(RichText::new(title).strong());
            let mut field = PathField::new(ui, ("capture-file", kind as u8), path)
                .labelled_by(label.id)
                .desired_width((ui.available_width() - 330.0).max(200.0))
                .hint_text("Path of the capture: .jsonl, .har, or .pcapng to save (Tab completes)");
            if kind != RowKind::Open {
                field = field.probe();
            }
            let output = field.ui(ui);
            if output.response.changed() {
                self.message = None;
            }
            let typed = !path.trim().is_empty();
            // Never over a file without the user's word: the button says Replace.
            let replace = output.status == Some(PathStatus::File);
            let verb = if replace { "Replace" } else { verb };
            let go = ui.add_enabled(typed, egui::Button::new(verb)).clicked()
                || (output.submitted && typed);
            if go {
                let target = resolve(path);
                action = Some(match kind {
                    RowKind::Open => CaptureAction::Open(Some(target)),
                    RowKind::Save => CaptureAction::Save(Some((target, replace))),
                    RowKind::Record => CaptureAction::Record(Some((target, replace))),
                });
            }
            if ui
                .button("Browse…")
                .on_hover_text("Choose the file in a file dialog")
                .clicked()
            {
                self.message = None;
                action = Some(match kind {
                    RowKind::Open => CaptureAction::Open(None),
                    RowKind::Save => CaptureAction::Save(None),
                    RowKind::Record => CaptureAction::Record(None),
                });
            }
            close = ui.button("Cancel").clicked();
            if output.status == Some(PathStatus::Folder) {
                ui.colored_label(palette.error, "This is a folder: add a file name.");
            } else if replace {
                ui.colored_label(palette.warning, "A file is there: it will be replaced.");
            }
        });
        if let Some((error, message)) = &self.message {
            let colour = if *error { palette.error } else { palette.weak };
            ui.add(egui::Label::new(RichText::new(message).color(colour)).wrap());
        }
        if close {
            self.row = None;
            self.message = None;
        }
        action
    }
}

/// The File menu's items. `session`: the active tab has a session to save; `recording`:
/// `None` when it cannot be recorded (no live session), else whether it is being recorded.
pub fn file_menu_ui(ui: &mut Ui, session: bool, recording: Option<bool>) -> Option<MenuChoice> {
    let mut choice = None;
    egui::containers::menu::MenuButton::new("File")
        .ui(ui, |ui| {
            if ui
                .button("Open capture…")
                .on_hover_text(
                    "Open a .jsonl capture or a .har file in a read-only tab (or drop it on the window)",
                )
                .clicked()
            {
                choice = Some(MenuChoice::Open);
            }
            if ui
                .add_enabled(session, egui::Button::new("Save capture…"))
                .on_hover_text("Write this tab's whole session: .jsonl (lossless), .har (Chrome's shape plus the rest) or .pcapng (Wireshark), by the file's extension")
                .on_disabled_hover_text("Connect first, or open a capture")
                .clicked()
            {
                choice = Some(MenuChoice::Save);
            }
            let (text, stop) = match recording {
                Some(true) => ("Stop recording", true),
                _ => ("Record to file…", false),
            };
            if ui
                .add_enabled(recording.is_some(), egui::Button::new(text))
                .on_hover_text("Stream this tab's session to a file as it happens")
                .on_disabled_hover_text(
                    "Connect first (a capture opened from a file is not recorded)",
                )
                .clicked()
            {
                choice = Some(if stop {
                    MenuChoice::StopRecording
                } else {
                    MenuChoice::Record
                });
            }
            if choice.is_some() {
                ui.close();
            }
        })
        .0
        .on_hover_text("Open, save and record captures")
        // Named "File menu" for screen readers and tests: the composer has a "File" kind.
        .widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, "File menu"));
    choice
}

/// What a tab opened from a capture file shows about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureSource {
    /// The file.
    pub path: PathBuf,
    /// The file's name.
    pub name: String,
    /// Which connection of several (`conn 2 · client leg`).
    pub label: Option<String>,
    /// The program that wrote it.
    pub generator: Option<String>,
    /// The line left out because it was cut short, in plain words.
    pub truncated: Option<String>,
}

impl CaptureSource {
    /// `Capture: echo.jsonl`, or `Capture: listen.jsonl (conn 2)`: the tab's title.
    pub fn title(&self) -> String {
        match &self.label {
            Some(label) => format!("Capture: {} ({label})", self.name),
            None => format!("Capture: {}", self.name),
        }
    }
}

/// What the tab's capture line asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineAction {
    /// Stop recording.
    Stop,
    /// Save the capture.
    Save,
    /// Replay the capture's client messages to a server.
    Replay,
    /// Serve the capture's server messages to clients.
    Serve,
}

/// The tab's capture line: `Read only · capture of FILE · N lines` for a tab opened from a
/// file; for a live one, where it is being recorded (with Stop), and why a recording
/// stopped. (The record switch itself is in the connection bar and the File menu.)
pub fn capture_line_ui(
    ui: &mut Ui,
    source: Option<&CaptureSource>,
    status: &RecorderStatus,
) -> Option<LineAction> {
    let palette = Palette::of(ui);
    let mut action = None;
    ui.horizontal_wrapped(|ui| {
        ui.spacing_mut().item_spacing.x = 6.0;
        if let Some(source) = source {
            ui.colored_label(palette.warning, "Read only");
            ui.label(format!(
                "capture of {} · {} lines",
                display_name(&source.path),
                status.lines
            ))
            .on_hover_text(source.path.display().to_string());
            if let Some(generator) = &source.generator {
                ui.label(RichText::new(format!("· written by {generator}")).color(palette.weak));
            }
            if ui
                .small_button("Save copy…")
                .on_hover_text("Write the capture's lines, as read, to another file")
                .clicked()
            {
                action = Some(LineAction::Save);
            }
            if ui
                .small_button("Replay…")
                .on_hover_text(
                    "Send the capture's client messages to a server again and compare its answers",
                )
                .clicked()
            {
                action = Some(LineAction::Replay);
            }
            if ui
                .small_button("Serve…")
                .on_hover_text("Listen, and answer each client with the capture's server messages")
                .clicked()
            {
                action = Some(LineAction::Serve);
            }
            if let Some(truncated) = &source.truncated {
                ui.colored_label(palette.error, format!("⚠ {truncated}"));
            }
            return;
        }
        if let Some((path, lines)) = &status.recording {
            ui.colored_label(palette.error, "⏺ Recording");
            ui.label(format!("to {} · {lines} lines", display_name(path)))
                .on_hover_text(path.display().to_string());
            if ui.small_button("Stop recording").clicked() {
                action = Some(LineAction::Stop);
            }
        }
        if let Some(note) = &status.note {
            ui.colored_label(palette.warning, note);
        }
        if let Some(error) = &status.error {
            ui.colored_label(palette.error, format!("⚠ {error}"));
        }
    });
    action
}

/// A file's name, for a label.
fn display_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}
