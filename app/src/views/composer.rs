//! The composer: text (multi-line, Ctrl+Enter sends), binary from hex or a file, ping and pong
//! with a payload, close with code and reason, a message fragmented into N frames, and a
//! history of what was sent.
//!
//! `{{…}}` placeholders in the text, the hex, the ping/pong payload and the close reason are
//! expanded with the connection's variables when the message is sent; while the draft holds
//! one, a preview of the expanded message (secrets masked) shows under the editor, or the
//! error that names the placeholder at fault — and then Send sends nothing. The history
//! keeps the draft as typed (placeholders, not the values they gave). "Save as message"
//! keeps the draft as a saved message of the tab's profile.

use std::path::PathBuf;

use bytes::Bytes;
use egui::{Key, KeyboardShortcut, Modifiers, RichText, Ui};
use serde::{Deserialize, Serialize};
use ws_inspector_core::profiles::{SavedKind, SavedMessage};
use ws_inspector_core::vars::Variables;
use ws_tokio::Outgoing;
use ws_tokio::ws_proto::{CloseCode, MessageKind};

use super::path_field::{PathField, PathStatus, resolve};
use super::{Palette, format_bytes, parse_hex, split_fragments};

/// How many sent messages the history keeps.
pub const HISTORY_LEN: usize = 100;

/// The largest draft previewed (expanded on every frame while it holds a `{{`).
const PREVIEW_LIMIT: usize = 1 << 20;

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
    /// "Save as message" was pressed: the draft as a saved message, for the app to add to
    /// the tab's profile.
    #[serde(skip)]
    pub save_as: Option<SavedMessage>,
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
            save_as: None,
        }
    }
}

impl Composer {
    /// Shows the composer. Returns the frames to send, in order, when the user sends, as
    /// typed (no `{{…}}` is expanded: for a tab without variables, such as a listener's
    /// client). `open`: whether the connection can take them.
    pub fn ui(&mut self, ui: &mut Ui, open: bool) -> Option<Vec<Outgoing>> {
        self.show(ui, open, None)
    }

    /// [`ui`](Self::ui) for a connection with variables: the placeholders are expanded with
    /// `vars` (the connection's), previewed under the editor, and the draft can be saved as
    /// a message of the tab's profile.
    pub fn ui_expanding(
        &mut self,
        ui: &mut Ui,
        open: bool,
        vars: &mut Variables,
    ) -> Option<Vec<Outgoing>> {
        self.show(ui, open, Some(vars))
    }

    fn show(
        &mut self,
        ui: &mut Ui,
        open: bool,
        vars: Option<&mut Variables>,
    ) -> Option<Vec<Outgoing>> {
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
                if let Some(vars) = vars.as_deref() {
                    self.preview_ui(ui, vars, &palette);
                }
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
                    // Every kind but a pong has a saved kind (see `as_saved`).
                    let savable = self.kind != Kind::Pong;
                    if vars.is_some()
                        && ui
                            .add_enabled(savable, egui::Button::new("Save as message"))
                            .on_hover_text(
                                "Keep this draft as a saved message of the tab's profile \
                             (Saved tab; Ctrl+1…9 send the first nine)",
                            )
                            .on_disabled_hover_text("A pong cannot be saved as a message")
                            .clicked()
                    {
                        self.save_as = self.as_saved();
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
        let built = match vars {
            Some(vars) => self.build(vars),
            None => self.build_with(None),
        };
        match built {
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

    /// The draft's template: the text, hex, ping/pong payload or close reason (none for a
    /// file).
    fn template(&self) -> Option<&str> {
        match self.kind {
            Kind::Text => Some(&self.text),
            Kind::Binary => Some(&self.hex),
            Kind::Ping | Kind::Pong => Some(&self.control_payload),
            Kind::Close => Some(&self.close_reason),
            Kind::File => None,
        }
    }

    /// The draft as a saved message (none for a pong: saved messages have no such kind).
    pub fn as_saved(&self) -> Option<SavedMessage> {
        let (kind, payload) = match self.kind {
            Kind::Text => (SavedKind::Text, self.text.clone()),
            Kind::Binary => (SavedKind::Hex, self.hex.clone()),
            Kind::File => (SavedKind::File, self.file_path.trim().to_owned()),
            Kind::Ping => (SavedKind::Ping, self.control_payload.clone()),
            Kind::Close => (SavedKind::Close, self.close_reason.clone()),
            Kind::Pong => return None,
        };
        let first_line = payload.lines().next().unwrap_or_default().trim();
        let mut name: String = first_line.chars().take(32).collect();
        if name.is_empty() {
            name = kind.label().to_owned();
        } else if name.len() < first_line.len() {
            name.push('…');
        }
        Some(SavedMessage {
            name,
            kind,
            payload,
            close_code: self.close_code,
            on_connect: false,
        })
    }

    /// Under the editor, while the draft holds a placeholder: what it expands to (secrets
    /// masked, the counter's next value), or why it cannot be sent.
    fn preview_ui(&self, ui: &mut Ui, vars: &Variables, palette: &Palette) {
        let Some(template) = self.template() else {
            return;
        };
        if !template.contains("{{") {
            return;
        }
        if template.len() > PREVIEW_LIMIT {
            ui.label(
                RichText::new(
                    "(no preview for a draft over 1 MiB: its {{…}} are expanded when sent)",
                )
                .color(palette.weak),
            );
            return;
        }
        let preview = match self.kind {
            Kind::Pong => vars.preview(template).map_err(|e| e.to_string()),
            _ => match self.as_saved() {
                Some(saved) => saved.preview(vars).map_err(|e| {
                    // The draft has no name: say what the problem is, not whose.
                    match e.split_once("”: ") {
                        Some((_, problem)) => problem.to_owned(),
                        None => e,
                    }
                }),
                None => return,
            },
        };
        match preview {
            Ok(text) => {
                let shown: String = text.chars().take(500).collect();
                ui.add(
                    egui::Label::new(
                        RichText::new(format!("→ {}", shown.replace(['\n', '\r'], "↵")))
                            .monospace()
                            .color(palette.weak),
                    )
                    .truncate(),
                )
                .on_hover_text("What Send sends: {{…}} expanded, secrets masked");
            }
            Err(e) => {
                ui.add(
                    egui::Label::new(RichText::new(format!("⚠ {e}")).color(palette.error)).wrap(),
                );
            }
        }
    }

    /// The frames for the current draft, its placeholders expanded with `vars` (whose
    /// counter is used up only when the frames are built).
    pub fn build(&self, vars: &mut Variables) -> Result<Vec<Outgoing>, String> {
        let mut trial = vars.clone();
        let frames = self.build_with(Some(&mut trial))?;
        *vars = trial;
        Ok(frames)
    }

    /// The frames, expanded with `vars` if given, else as typed.
    fn build_with(&self, mut vars: Option<&mut Variables>) -> Result<Vec<Outgoing>, String> {
        let mut expand = |template: &str| match vars.as_deref_mut() {
            Some(vars) => vars
                .expand(template)
                .map(|expanded| expanded.text)
                .map_err(|e| e.to_string()),
            None => Ok(template.to_owned()),
        };
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
            Kind::Text => Ok(message(MessageKind::Text, expand(&self.text)?.as_bytes())),
            Kind::Binary => Ok(message(
                MessageKind::Binary,
                &parse_hex(&expand(&self.hex)?)?,
            )),
            Kind::File => match &self.file {
                Some((_, data)) if self.file_is_current() => Ok(message(MessageKind::Binary, data)),
                _ => Err("load a file first: type its path and press Enter, or Browse…".to_owned()),
            },
            Kind::Ping | Kind::Pong => {
                let data = Bytes::from(expand(&self.control_payload)?);
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
                let reason = expand(&self.close_reason)?;
                if reason.len() > 123 {
                    return Err("a close reason is at most 123 bytes".to_owned());
                }
                Ok(vec![Outgoing::Close(
                    Some(CloseCode::from(self.close_code)),
                    reason,
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
        let frames = composer.build(&mut Variables::new()).unwrap();
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
            composer.build(&mut Variables::new()).unwrap(),
            vec![Outgoing::Binary(Bytes::from_static(&[
                0xde, 0xad, 0xbe, 0xef
            ]))]
        );
        composer.hex = "xyz".to_owned();
        assert!(composer.build(&mut Variables::new()).is_err());
        composer.kind = Kind::Close;
        composer.close_code = 4001;
        composer.close_reason = "bye".to_owned();
        assert_eq!(
            composer.build(&mut Variables::new()).unwrap(),
            vec![Outgoing::Close(
                Some(CloseCode::from(4001)),
                "bye".to_owned()
            )]
        );
        composer.kind = Kind::File;
        assert!(composer.build(&mut Variables::new()).is_err());
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
        assert!(
            composer.build(&mut Variables::new()).is_err(),
            "not loaded yet"
        );
        assert!(composer.load_file());
        assert_eq!(
            composer.build(&mut Variables::new()).unwrap(),
            vec![Outgoing::Binary(Bytes::from_static(&[0, 1, 0xff]))]
        );
        // Another path typed: the old bytes are not sent for it.
        composer.file_path = dir.path().display().to_string();
        assert!(composer.build(&mut Variables::new()).is_err());
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
    fn placeholders_are_expanded_when_sent() {
        use ws_inspector_core::vars::Value;

        let mut vars = Variables::new();
        vars.set("user", Value::plain("ada")).unwrap();
        let mut composer = Composer {
            text: "hi {{user}} #{{counter}}".to_owned(),
            ..Composer::default()
        };
        assert_eq!(
            composer.build(&mut vars).unwrap(),
            vec![Outgoing::Text("hi ada #1".to_owned())]
        );
        assert_eq!(vars.counter(), 1);
        // An unknown name: an error naming it, and the counter is not used up.
        composer.text = "#{{counter}} {{nope}}".to_owned();
        let err = composer.build(&mut vars).unwrap_err();
        assert!(err.starts_with("unknown variable {{nope}}"), "{err}");
        assert_eq!(vars.counter(), 1);
        composer.kind = Kind::Binary;
        composer.hex = "0{{counter}}".to_owned();
        assert_eq!(
            composer.build(&mut vars).unwrap(),
            vec![Outgoing::Binary(Bytes::from_static(&[0x02]))]
        );
        composer.kind = Kind::Close;
        composer.close_reason = "bye {{user}}".to_owned();
        assert_eq!(
            composer.build(&mut vars).unwrap(),
            vec![Outgoing::Close(
                Some(CloseCode::from(1000)),
                "bye ada".to_owned()
            )]
        );
    }

    #[test]
    fn a_draft_saved_as_a_message() {
        let mut composer = Composer {
            text: "{\"op\": \"subscribe\", \"channel\": \"ticker\"}\nsecond line".to_owned(),
            ..Composer::default()
        };
        let saved = composer.as_saved().unwrap();
        assert_eq!(saved.kind, SavedKind::Text);
        assert_eq!(saved.payload, composer.text);
        assert_eq!(saved.name, "{\"op\": \"subscribe\", \"channel\": \"…");
        composer.kind = Kind::Close;
        composer.close_code = 4000;
        let close = composer.as_saved().unwrap();
        assert_eq!((close.kind, close.close_code), (SavedKind::Close, 4000));
        assert_eq!(close.name, "Close");
        composer.kind = Kind::Pong;
        assert!(composer.as_saved().is_none());
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
