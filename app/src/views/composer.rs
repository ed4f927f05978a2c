//! The composer: text (multi-line, Ctrl+Enter sends), binary from hex or a file, ping and pong
//! with a payload, close with code and reason, a message fragmented into N frames, and a
//! history of what was sent.

use std::path::PathBuf;

use bytes::Bytes;
use egui::{Key, KeyboardShortcut, Modifiers, RichText, Ui};
use serde::{Deserialize, Serialize};
use ws_net::Outgoing;
use ws_net::ws_proto::{CloseCode, MessageKind};

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
    /// The file to send, for [`Kind::File`].
    #[serde(skip)]
    pub file: Option<(PathBuf, Bytes)>,
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
            file: None,
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
        ui.horizontal(|ui| {
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

        let history_width = 220.0;
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
                        ui.label(RichText::new(self.summary()).color(palette.weak).small());
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
            Kind::File => {
                ui.horizontal(|ui| {
                    if ui.button("Choose file…").clicked() {
                        self.browse = true;
                    }
                    match &self.file {
                        Some((path, data)) => {
                            ui.label(
                                RichText::new(format!(
                                    "{} ({})",
                                    path.display(),
                                    format_bytes(data.len() as u64)
                                ))
                                .monospace(),
                            );
                        }
                        None => {
                            ui.label(
                                RichText::new("No file chosen: it is sent as one binary message.")
                                    .color(palette.weak),
                            );
                        }
                    }
                });
            }
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
                    let mut text: String = item.body.chars().take(40).collect();
                    text = text.replace('\n', " ");
                    if item.body.chars().count() > 40 {
                        text.push('…');
                    }
                    let label = format!("{} · {}", item.kind.label(), text);
                    if ui
                        .add(egui::Button::new(RichText::new(label).small()).frame(false))
                        .on_hover_text("Load into the editor")
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
                Some((_, data)) => Ok(message(MessageKind::Binary, data)),
                None => Err("choose a file first".to_owned()),
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
