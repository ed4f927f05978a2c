//! The composer: text (multi-line, Ctrl+Enter sends), binary from hex or a file, ping and pong
//! with a payload, close with code and reason, a message fragmented into N frames, and a
//! history of what was sent.

use std::path::PathBuf;

use bytes::Bytes;
use egui::{Key, KeyboardShortcut, Modifiers, RichText, Ui};
use serde::{Deserialize, Serialize};
use ws_tokio::Outgoing;
use ws_tokio::ws_proto::{CloseCode, MessageKind};

use super::path_field::{PathField, PathStatus, resolve};
use super::{Palette, format_bytes, parse_hex, split_fragments};

/// How many sent messages the history keeps.
pub const HISTORY_LEN: usize = 100;

/// What kind of frame the composer sends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// A text message.
    #[default]
    Text,
    /// A binary message from hex.
    Binary,
    /// A binary message from a file.
    File,
    /// A ping.
    Ping,
    /// A pong.
    Pong,
    /// A close frame.
    Close,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Self::Text => "Text",
            Self::Binary => "Binary (hex)",
            Self::File => "File",
            Self::Ping => "Ping",
            Self::Pong => "Pong",
            Self::Close => "Close",
        }
    }
}

/// One entry of the history of sent messages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryItem {
    /// What was sent.
    pub kind: Kind,
    /// The text, hex, ping/pong payload or close reason.
    pub body: String,
    /// The close code, for [`Kind::Close`].
    pub code: u16,
    /// How many frames it was split into.
    pub fragments: usize,
}

/// The composer's state (persisted: the draft and the history survive restarts).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Composer {
    /// What to send.
    pub kind: Kind,
    /// The text message draft.
    pub text: String,
    /// The binary message draft, as hex.
    pub hex: String,
    /// The ping/pong payload (text).
    pub control_payload: String,
    /// The close code.
    pub close_code: u16,
    /// The close reason.
    pub close_reason: String,
    /// Split text and binary messages into this many frames (1: not fragmented).
    pub fragments: usize,
    /// Sent messages, newest last.
    pub history: Vec<HistoryItem>,
    /// The path of the file to send, as typed (or as chosen in a file dialog).
    pub file_path: String,
    /// The file to send, for [`Kind::File`], as last loaded from `file_path`.
    #[serde(skip)]
    pub file: Option<(PathBuf, Bytes)>,
    /// Why the file could not be loaded, or that no file dialog could be shown: shown next
    /// to the path field.
    #[serde(skip)]
    pub file_error: Option<String>,
    /// A Browse… button was pressed: the app opens a file dialog.
    #[serde(skip)]
    pub browse: bool,
    /// Why the last send did not happen.
    #[serde(skip)]
    pub error: Option<String>,
}

impl Default for Composer {
    fn default() -> Self {
        Self {
            kind: Kind::Text,
            text: String::new(),
            hex: String::new(),
            control_payload: String::new(),
            close_code: 1000,
            close_reason: String::new(),
            fragments: 1,
            history: Vec::new(),
            file_path: String::new(),
            file: None,
            file_error: None,
            browse: false,
            error: None,
        }
    }
}

impl Composer {
    /// Shows the composer. Returns the frames to send, in order, when the user sends.
    /// `open`: whether the connection can take them.
    pub fn ui(&mut self, ui: &mut Ui, open: bool) -> Option<Vec<Outgoing>> {
        let palette = Palette::of(ui);
        let mut send = false;
        let mut compose_label = None;
        ui.horizontal_wrapped(|ui| {
            compose_label = Some(ui.label(RichText::new("Compose").strong()).id);
            for kind in [
                Kind::Text,
                Kind::Binary,
                Kind::File,
                Kind::Ping,
                Kind::Pong,
                Kind::Close,
            ] {
                ui.selectable_value(&mut self.kind, kind, kind.label());
            }
            if matches!(self.kind, Kind::Text | Kind::Binary | Kind::File) {
                ui.separator();
                let label = ui.label("Frames");
                ui.add(egui::DragValue::new(&mut self.fragments).range(1..=10_000))
                    .labelled_by(label.id)
                    .on_hover_text("1: one frame; more: the message is sent fragmented");
            }
        });

        let editor_id = ui.make_persistent_id("composer-editor");
        let ctrl_enter = KeyboardShortcut::new(Modifiers::COMMAND, Key::Enter);
        if ui.memory(|m| m.has_focus(editor_id))
            && ui.input_mut(|i| i.consume_shortcut(&ctrl_enter))
        {
            send = true;
        }

        // The history takes a share of the panel, so that its entries grow with it.
        let history_width = (ui.available_width() * 0.28).clamp(180.0, 420.0);
        // Fill the panel: the editor and the history grow with it (the Send row needs ~36).
        let body_height = (ui.available_height() - 4.0).max(60.0);
        let row_height = ui.text_style_height(&egui::TextStyle::Monospace);
        let rows = (((body_height - 40.0) / row_height) as usize).clamp(2, 60);
        ui.horizontal(|ui| {
            ui.set_min_height(body_height);
            let editor_width = (ui.available_width() - history_width - 12.0).max(200.0);
            ui.vertical(|ui| {
                ui.set_width(editor_width);
                self.editor_ui(ui, editor_id, compose_label, rows, &palette);
                ui.horizontal(|ui| {
                    let button = egui::Button::new(RichText::new("Send").strong())
                        .fill(palette.outgoing.gamma_multiply(0.35))
                        .min_size(egui::vec2(72.0, 0.0));
                    if ui
                        .add_enabled(open, button)
                        .on_hover_text("Send (Ctrl+Enter in the editor)")
                        .on_disabled_hover_text("Connect first")
                        .clicked()
                    {
                        send = true;
                    }
                    if let Some(error) = &self.error {
                        ui.colored_label(palette.error, format!("⚠ {error}"));
                    } else {
                        ui.label(RichText::new(self.summary()).color(palette.weak));
                    }
                });
            });
            ui.separator();
            ui.vertical(|ui| {
                ui.set_width(history_width);
                self.history_ui(ui, body_height - 28.0, &palette);
            });
        });

        if !send {
            return None;
        }
        if !open {
            self.error = Some("not connected".to_owned());
            return None;
        }
        if self.kind == Kind::File && !self.file_is_current() && !self.load_file() {
            // Why shows next to the path field, once.
            self.error = Some("no file to send: see above".to_owned());
            return None;
        }
        match self.build() {
            Ok(frames) => {
                self.error = None;
                self.remember();
                Some(frames)
            }
            Err(e) => {
                self.error = Some(e);
                None
            }
        }
    }

    fn editor_ui(
        &mut self,
        ui: &mut Ui,
        editor_id: egui::Id,
        label: Option<egui::Id>,
        rows: usize,
        palette: &Palette,
    ) {
        let named = |response: egui::Response| match label {
            Some(label) => response.labelled_by(label),
            None => response,
        };
        match self.kind {
            Kind::Text => {
                named(
                    ui.add(
                        egui::TextEdit::multiline(&mut self.text)
                            .id(editor_id)
                            .hint_text("Message (Ctrl+Enter sends)")
                            .code_editor()
                            .desired_rows(rows)
                            .desired_width(f32::INFINITY),
                    ),
                );
            }
            Kind::Binary => {
                named(
                    ui.add(
                        egui::TextEdit::multiline(&mut self.hex)
                            .id(editor_id)
                            .hint_text("Hex bytes, e.g. 48 65 6c 6c 6f (Ctrl+Enter sends)")
                            .code_editor()
                            .desired_rows(rows)
                            .desired_width(f32::INFINITY),
                    ),
                );
                if let Err(e) = parse_hex(&self.hex) {
                    ui.colored_label(palette.error, e);
                }
            }
            Kind::File => self.file_ui(ui, palette),
            Kind::Ping | Kind::Pong => {
                named(
                    ui.add(
                        egui::TextEdit::singleline(&mut self.control_payload)
                            .id(editor_id)
                            .hint_text("Payload (text, at most 125 bytes)")
                            .char_limit(125)
                            .desired_width(f32::INFINITY),
                    ),
                );
            }
            Kind::Close => {
                ui.horizontal(|ui| {
                    let label = ui.label("Code");
                    ui.add(egui::DragValue::new(&mut self.close_code).range(0..=4999))
                        .labelled_by(label.id);
                    ui.label(
                        RichText::new(CloseCode::from(self.close_code).to_string())
                            .color(palette.weak),
                    );
                });
                ui.add(
                    egui::TextEdit::singleline(&mut self.close_reason)
                        .id(editor_id)
                        .hint_text("Reason (optional, at most 123 bytes)")
                        .char_limit(123)
                        .desired_width(f32::INFINITY),
                );
            }
        }
    }

    /// The file to send: a path field with completion, Browse… for a file dialog, and Load.
    fn file_ui(&mut self, ui: &mut Ui, palette: &Palette) {
        let mut load = false;
        ui.horizontal(|ui| {
            let label = ui.label("File to send");
            // Browse… and Load take about 130 points; the field takes the rest.
            let width = (ui.available_width() - 140.0).max(120.0);
            let output = PathField::new(ui, "composer-file", &mut self.file_path)
                .desired_width(width)
                .labelled_by(label.id)
                .ui(ui);
            if output.response.changed() {
                self.file_error = None;
            }
            load |= output.submitted;
            if ui
                .button("Browse…")
                .on_hover_text("Choose the file in a file dialog")
                .clicked()
            {
                self.file_error = None;
                self.browse = true;
            }
            load |= ui
                .add_enabled(!self.file_path.trim().is_empty(), egui::Button::new("Load"))
                .on_hover_text("Read the file now (Send reads it too, if it was not loaded)")
                .clicked();
        });
        if load {
            self.load_file();
        }
        if let Some(error) = &self.file_error {
            ui.add(
                egui::Label::new(RichText::new(format!("⚠ {error}")).color(palette.error)).wrap(),
            );
        } else {
            match &self.file {
                Some((path, data)) if self.file_is_current() => {
                    ui.label(
                        RichText::new(format!(
                            "{} ({}) is sent as one binary message.",
                            path.display(),
                            format_bytes(data.len() as u64)
                        ))
                        .monospace(),
                    );
                }
                _ => {
                    ui.label(
                        RichText::new(
                            "Type a path (Tab completes) or Browse…: the file is sent as one \
                             binary message.",
                        )
                        .color(palette.weak),
                    );
                }
            }
        }
    }

    /// Reads the file at [`Self::file_path`] as the one to send. Returns whether it worked;
    /// if not, [`Self::file_error`] says why.
    pub fn load_file(&mut self) -> bool {
        let path = resolve(&self.file_path);
        let result = match PathStatus::of(&self.file_path) {
            PathStatus::Empty => Err("type the path of the file to send".to_owned()),
            // Read only regular files: a device such as /dev/zero would never end.
            status @ (PathStatus::Missing | PathStatus::Folder | PathStatus::Other) => {
                Err(format!(
                    "{}: {}",
                    path.display(),
                    status.problem_for_reading().unwrap_or_default()
                ))
            }
            PathStatus::File | PathStatus::Error(_) => {
                std::fs::read(&path).map_err(|e| format!("could not read {}: {e}", path.display()))
            }
        };
        match result {
            Ok(data) => {
                self.file = Some((path, data.into()));
                self.file_error = None;
                self.error = None;
                true
            }
            Err(e) => {
                self.file = None;
                self.file_error = Some(e);
                false
            }
        }
    }

    /// Takes `path` (from a file dialog) as the file to send, and reads it.
    pub fn set_file(&mut self, path: &std::path::Path) -> bool {
        self.file_path = path.display().to_string();
        self.load_file()
    }

    /// Whether the loaded file is the one the path field names.
    fn file_is_current(&self) -> bool {
        self.file
            .as_ref()
            .is_some_and(|(path, _)| *path == resolve(&self.file_path))
    }

    fn history_ui(&mut self, ui: &mut Ui, height: f32, palette: &Palette) {
        ui.horizontal(|ui| {
            ui.label(RichText::new("History").strong());
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if !self.history.is_empty() && ui.small_button("Clear history").clicked() {
                    self.history.clear();
                }
            });
        });
        let mut load = None;
        egui::ScrollArea::vertical()
            .id_salt("history-scroll")
            .auto_shrink([false, false])
            .max_height(height.max(40.0))
            .show(ui, |ui| {
                if self.history.is_empty() {
                    ui.label(RichText::new("Sent messages appear here.").color(palette.weak));
                }
                for (i, item) in self.history.iter().enumerate().rev() {
                    // At body size, cut to the list's width (the whole body on hover).
                    let mut text: String = item.body.chars().take(200).collect();
                    text = text.replace(['\n', '\r'], " ");
                    let label = format!("{} · {}", item.kind.label(), text);
                    let hover: String = item.body.chars().take(1000).collect();
                    if ui
                        .add(
                            egui::Button::new(label)
                                .frame(false)
                                .truncate()
                                .min_size(egui::vec2(ui.available_width(), 0.0)),
                        )
                        .on_hover_text(format!("{hover}\n\nClick to load into the editor"))
                        .clicked()
                    {
                        load = Some(i);
                    }
                }
            });
        if let Some(i) = load {
            let item = self.history[i].clone();
            self.kind = item.kind;
            self.fragments = item.fragments.max(1);
            match item.kind {
                Kind::Text => self.text = item.body,
                Kind::Binary => self.hex = item.body,
                Kind::Ping | Kind::Pong => self.control_payload = item.body,
                Kind::Close => {
                    self.close_code = item.code;
                    self.close_reason = item.body;
                }
                Kind::File => {}
            }
        }
    }

    /// `12 B in 3 frames`.
    fn summary(&self) -> String {
        let len = match self.kind {
            Kind::Text => self.text.len(),
            Kind::Binary => parse_hex(&self.hex).map_or(0, |b| b.len()),
            Kind::File => self.file.as_ref().map_or(0, |(_, d)| d.len()),
            Kind::Ping | Kind::Pong => self.control_payload.len(),
            Kind::Close => self.close_reason.len() + 2,
        };
        let frames = if matches!(self.kind, Kind::Text | Kind::Binary | Kind::File) {
            self.fragments.max(1)
        } else {
            1
        };
        if frames > 1 {
            format!("{} in {frames} frames", format_bytes(len as u64))
        } else {
            format_bytes(len as u64)
        }
    }

    /// The frames for the current draft.
    pub fn build(&self) -> Result<Vec<Outgoing>, String> {
        let n = self.fragments.max(1);
        let message = |kind: MessageKind, data: &[u8]| -> Vec<Outgoing> {
            if n == 1 {
                return vec![match kind {
                    MessageKind::Text => Outgoing::Text(String::from_utf8_lossy(data).into_owned()),
                    MessageKind::Binary => Outgoing::Binary(Bytes::copy_from_slice(data)),
                }];
            }
            let parts = split_fragments(data, n, kind == MessageKind::Text);
            let last = parts.len() - 1;
            parts
                .into_iter()
                .enumerate()
                .map(|(i, part)| Outgoing::Fragment {
                    kind,
                    data: Bytes::copy_from_slice(part),
                    fin: i == last,
                })
                .collect()
        };
        match self.kind {
            Kind::Text => Ok(message(MessageKind::Text, self.text.as_bytes())),
            Kind::Binary => Ok(message(MessageKind::Binary, &parse_hex(&self.hex)?)),
            Kind::File => match &self.file {
                Some((_, data)) if self.file_is_current() => Ok(message(MessageKind::Binary, data)),
                _ => Err("load a file first: type its path and press Enter, or Browse…".to_owned()),
            },
            Kind::Ping | Kind::Pong => {
                let data = Bytes::copy_from_slice(self.control_payload.as_bytes());
                if data.len() > 125 {
                    return Err("a control frame carries at most 125 bytes".to_owned());
                }
                Ok(vec![if self.kind == Kind::Ping {
                    Outgoing::Ping(data)
                } else {
                    Outgoing::Pong(data)
                }])
            }
            Kind::Close => {
                if self.close_reason.len() > 123 {
                    return Err("a close reason is at most 123 bytes".to_owned());
                }
                Ok(vec![Outgoing::Close(
                    Some(CloseCode::from(self.close_code)),
                    self.close_reason.clone(),
                )])
            }
        }
    }

    fn remember(&mut self) {
        let body = match self.kind {
            Kind::Text => self.text.clone(),
            Kind::Binary => self.hex.clone(),
            Kind::File => match &self.file {
                Some((path, _)) => path.display().to_string(),
                None => return,
            },
            Kind::Ping | Kind::Pong => self.control_payload.clone(),
            Kind::Close => self.close_reason.clone(),
        };
        if self.kind == Kind::File {
            return; // Files are not kept: their contents may change or vanish.
        }
        let item = HistoryItem {
            kind: self.kind,
            body,
            code: self.close_code,
            fragments: self.fragments,
        };
        self.history.retain(|h| h != &item);
        self.history.push(item);
        if self.history.len() > HISTORY_LEN {
            let excess = self.history.len() - HISTORY_LEN;
            self.history.drain(..excess);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragmented_text_ends_with_fin() {
        let composer = Composer {
            text: "hello world".to_owned(),
            fragments: 3,
            ..Composer::default()
        };
        let frames = composer.build().unwrap();
        assert_eq!(frames.len(), 3);
        let fins: Vec<bool> = frames
            .iter()
            .map(|f| match f {
                Outgoing::Fragment { fin, kind, .. } => {
                    assert_eq!(*kind, MessageKind::Text);
                    *fin
                }
                other => panic!("expected fragments, got {other:?}"),
            })
            .collect();
        assert_eq!(fins, [false, false, true]);
    }

    #[test]
    fn binary_and_controls() {
        let mut composer = Composer {
            kind: Kind::Binary,
            hex: "de ad be ef".to_owned(),
            ..Composer::default()
        };
        assert_eq!(
            composer.build().unwrap(),
            vec![Outgoing::Binary(Bytes::from_static(&[
                0xde, 0xad, 0xbe, 0xef
            ]))]
        );
        composer.hex = "xyz".to_owned();
        assert!(composer.build().is_err());
        composer.kind = Kind::Close;
        composer.close_code = 4001;
        composer.close_reason = "bye".to_owned();
        assert_eq!(
            composer.build().unwrap(),
            vec![Outgoing::Close(
                Some(CloseCode::from(4001)),
                "bye".to_owned()
            )]
        );
        composer.kind = Kind::File;
        assert!(composer.build().is_err());
    }

    #[test]
    fn a_file_from_a_typed_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.bin");
        std::fs::write(&path, [0u8, 1, 0xff]).unwrap();
        let mut composer = Composer {
            kind: Kind::File,
            file_path: format!("  {}  ", path.display()),
            ..Composer::default()
        };
        assert!(composer.build().is_err(), "not loaded yet");
        assert!(composer.load_file());
        assert_eq!(
            composer.build().unwrap(),
            vec![Outgoing::Binary(Bytes::from_static(&[0, 1, 0xff]))]
        );
        // Another path typed: the old bytes are not sent for it.
        composer.file_path = dir.path().display().to_string();
        assert!(composer.build().is_err());
        assert!(!composer.load_file());
        assert!(composer.file_error.as_deref().unwrap().contains("folder"));
        composer.file_path = dir.path().join("missing").display().to_string();
        assert!(!composer.load_file());
        assert!(composer.file_error.as_deref().unwrap().contains("No file"));
        // A file chosen in a dialog becomes the typed path.
        assert!(composer.set_file(&path));
        assert_eq!(composer.file_path, path.display().to_string());
    }

    #[test]
    fn history_is_bounded_and_deduplicated() {
        let mut composer = Composer::default();
        for i in 0..(HISTORY_LEN + 10) {
            composer.text = format!("m{i}");
            composer.remember();
        }
        composer.text = "m50".to_owned();
        composer.remember();
        assert_eq!(composer.history.len(), HISTORY_LEN);
        assert_eq!(composer.history.last().unwrap().body, "m50");
    }
}
