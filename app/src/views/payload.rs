//! The payload pane: the selected frame's or message's payload as text, pretty JSON, a hex
//! dump or — with a decoder for its direction — decoded, as a tree; whole, with copy
//! buttons. A payload that does not decode shows the decoder's error, at its byte, over the
//! hex dump.
//!
//! Payloads are shown whole (up to the message size limit), so the pane has to stay fast
//! for a 16 MiB message: what it shows is worked out once per payload and view (JSON parsed,
//! hex dump formatted, lines split) and cached, and a long text is drawn as virtualised
//! rows — only the lines on screen are laid out — instead of one `TextEdit`, whose layout
//! and painting grow with the whole text every frame. Short payloads keep the `TextEdit`,
//! where a selection can span lines.

use egui::{RichText, Ui};
use serde::{Deserialize, Serialize};

use super::decoded::tree_ui;
use super::{Palette, hex_dump, hex_string, pretty_json};
use ws_inspector_core::decode::{DecodeError, Decoded};

/// Text up to this size is shown in one selectable `TextEdit`; longer text as rows.
const EDITOR_MAX: usize = 64 * 1024;

/// Long lines are cut into rows of this many bytes (at a character boundary) when shown as
/// rows, so a 16 MiB single-line JSON message is scrollable.
const ROW_BYTES: usize = 160;

/// How the selected payload is shown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PayloadView {
    /// As UTF-8 text (lossy).
    #[default]
    Text,
    /// Pretty-printed JSON.
    Json,
    /// A hex dump.
    Hex,
    /// As the direction's decoder reads it: a tree.
    Decoded,
}

/// What the direction's decoder made of the payload.
#[derive(Clone, Copy, Debug)]
pub enum DecodedPayload<'a> {
    /// It decoded.
    Value {
        /// The decoder's name (`msgpack`, `socketio (auto)`).
        decoder: &'a str,
        /// The value.
        decoded: &'a Decoded,
    },
    /// It did not decode.
    Error {
        /// The decoder's name.
        decoder: &'a str,
        /// Where and why.
        error: &'a DecodeError,
    },
    /// It cannot be decoded (a fragment, a decoder that did not load).
    Unavailable {
        /// The decoder's name.
        decoder: &'a str,
        /// Why, in plain words.
        reason: &'a str,
    },
}

impl<'a> DecodedPayload<'a> {
    /// What `decoder` made of a payload: the decoding's `outcome`, or, without one, why —
    /// the decoder did not load (`load_error`), else `nothing` says why.
    pub fn from_outcome(
        decoder: &'a str,
        outcome: Option<&'a super::decoded::Outcome>,
        load_error: Option<&'a str>,
        nothing: &'a str,
    ) -> Self {
        match (outcome, load_error) {
            (Some(Ok(decoded)), _) => Self::Value { decoder, decoded },
            (Some(Err(error)), _) => Self::Error { decoder, error },
            (None, Some(reason)) => Self::Unavailable { decoder, reason },
            (None, None) => Self::Unavailable {
                decoder,
                reason: nothing,
            },
        }
    }
}

/// Which payload is shown: the caller's identity for it (a frame's or message's index,
/// and which of its contents), so that the cache knows when it changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PayloadKey {
    /// The entry (or the message's first entry) in the log.
    pub index: u64,
    /// Which content of it: the wire bytes (0), the plain message (1), a message view (2).
    pub part: u8,
    /// Its length, so that a payload that grew (a message still arriving) is redone.
    pub len: usize,
}

/// What the pane shows about one payload.
#[derive(Debug, Default)]
pub struct Payload<'a> {
    /// The bytes.
    pub data: &'a [u8],
    /// For a close frame: its code, the code's name and the reason, shown instead of the
    /// raw bytes in the text view.
    pub close: Option<String>,
    /// Why part of the payload is not shown (not kept, trimmed), in plain words.
    pub note: Option<String>,
    /// The decoded form, when its direction has a decoder.
    pub decoded: Option<DecodedPayload<'a>>,
}

/// The pane's state: the chosen view and the cached rendering.
#[derive(Debug, Default)]
pub struct PayloadPane {
    /// How the payload is shown.
    pub view: PayloadView,
    cache: Option<Rendered>,
}

/// A payload worked out for one view.
#[derive(Debug)]
struct Rendered {
    key: PayloadKey,
    view: PayloadView,
    /// Whether the payload parses as a JSON object or array (worked out once per key).
    json: Option<String>,
    /// The text shown.
    text: String,
    /// The rows of `text` (byte ranges), for long texts.
    rows: Vec<std::ops::Range<usize>>,
}

impl PayloadPane {
    /// Shows `payload` (identified by `key`) with its view buttons and copy buttons.
    pub fn ui(&mut self, ui: &mut Ui, key: PayloadKey, payload: &Payload<'_>, palette: &Palette) {
        // Whatever view is cached (not redone here: the view drawn is known below).
        let cached_view = self
            .cache
            .as_ref()
            .filter(|c| c.key == key)
            .map_or(PayloadView::Text, |c| c.view);
        let rendered = self.rendered(key, payload, cached_view);
        let json_ok = rendered.json.is_some();
        let mut view = self.view;
        ui.horizontal_wrapped(|ui| {
            if let Some(decoded) = &payload.decoded {
                let decoder = match decoded {
                    DecodedPayload::Value { decoder, .. }
                    | DecodedPayload::Error { decoder, .. }
                    | DecodedPayload::Unavailable { decoder, .. } => *decoder,
                };
                ui.selectable_value(&mut view, PayloadView::Decoded, "Decoded")
                    .on_hover_text(format!("As the decoder reads it: {decoder}"));
            }
            ui.selectable_value(&mut view, PayloadView::Text, "Text");
            ui.add_enabled_ui(json_ok, |ui| {
                ui.selectable_value(&mut view, PayloadView::Json, "JSON")
                    .on_disabled_hover_text("The payload is not a JSON object or array");
            });
            ui.selectable_value(&mut view, PayloadView::Hex, "Hex");
            ui.separator();
            if ui.button("Copy text").clicked() {
                ui.ctx()
                    .copy_text(String::from_utf8_lossy(payload.data).into_owned());
            }
            if json_ok
                && ui.button("Copy JSON").clicked()
                && let Some(json) = self.cache.as_ref().and_then(|c| c.json.clone())
            {
                ui.ctx().copy_text(json);
            }
            if ui.button("Copy hex").clicked() {
                ui.ctx().copy_text(hex_string(payload.data));
            }
            if let Some(DecodedPayload::Value { decoded, .. }) = &payload.decoded
                && ui
                    .button("Copy as JSON")
                    .on_hover_text("The decoded value as JSON")
                    .clicked()
            {
                ui.ctx().copy_text(decoded.value.to_json_pretty());
            }
        });
        if let Some(note) = &payload.note {
            ui.add(
                egui::Label::new(RichText::new(format!("⚠ {note}")).color(palette.warning)).wrap(),
            );
        }
        if let Some(close) = &payload.close {
            ui.label(
                RichText::new(format!("Close: {close}"))
                    .strong()
                    .color(palette.control),
            );
        }
        self.view = view;
        // The view drawn: a payload that does not decode shows its bytes under the error.
        let shown = match (view, &payload.decoded) {
            (PayloadView::Decoded, Some(DecodedPayload::Value { decoded, .. })) => {
                egui::ScrollArea::both()
                    .id_salt("decoded-tree")
                    .min_scrolled_height(24.0)
                    .auto_shrink([false, false])
                    .show(ui, |ui| {
                        let id = ui.make_persistent_id(("decoded-tree", key.index));
                        tree_ui(ui, id, decoded, palette);
                    });
                return;
            }
            (PayloadView::Decoded, Some(DecodedPayload::Error { decoder, error })) => {
                ui.add(
                    egui::Label::new(
                        RichText::new(format!("⚠ Does not decode as {decoder}: {error}"))
                            .color(palette.error),
                    )
                    .wrap(),
                );
                PayloadView::Hex
            }
            (PayloadView::Decoded, Some(DecodedPayload::Unavailable { decoder, reason })) => {
                ui.add(
                    egui::Label::new(
                        RichText::new(format!("Not decoded ({decoder}): {reason}"))
                            .color(palette.weak),
                    )
                    .wrap(),
                );
                PayloadView::Text
            }
            (PayloadView::Decoded, None) => PayloadView::Text,
            (view, _) => view,
        };
        let rendered = self.rendered(key, payload, shown);
        if rendered.text.len() <= EDITOR_MAX {
            egui::ScrollArea::both()
                .id_salt("payload-scroll")
                .min_scrolled_height(24.0)
                .auto_shrink([false, false])
                .show(ui, |ui| {
                    let mut text = rendered.text.as_str();
                    ui.add(
                        egui::TextEdit::multiline(&mut text)
                            .id_salt("payload-text")
                            .code_editor()
                            .desired_width(f32::INFINITY),
                    );
                });
            return;
        }
        let row_height = ui.text_style_height(&egui::TextStyle::Monospace);
        egui::ScrollArea::both()
            .id_salt("payload-rows")
            .min_scrolled_height(24.0)
            .auto_shrink([false, false])
            .show_rows(ui, row_height, rendered.rows.len(), |ui, range| {
                for row in range {
                    if let Some(line) = rendered
                        .rows
                        .get(row)
                        .and_then(|r| rendered.text.get(r.clone()))
                    {
                        ui.add(
                            egui::Label::new(RichText::new(line).monospace())
                                .extend()
                                .selectable(true),
                        );
                    }
                }
            });
    }

    /// The cached rendering of `payload` in the current view, made anew when either changed.
    fn rendered(&mut self, key: PayloadKey, payload: &Payload<'_>, view: PayloadView) -> &Rendered {
        let stale = self.cache.as_ref().is_none_or(|c| c.key != key);
        if stale {
            self.cache = None;
        }
        let cache = self.cache.get_or_insert_with(|| Rendered {
            key,
            view: PayloadView::Text,
            json: pretty_json(payload.data),
            text: String::new(),
            rows: Vec::new(),
        });
        let view = match view {
            PayloadView::Json if cache.json.is_none() => PayloadView::Text,
            PayloadView::Decoded => PayloadView::Text,
            view => view,
        };
        if stale || cache.view != view {
            cache.text = match view {
                PayloadView::Json => cache.json.clone().unwrap_or_default(),
                PayloadView::Hex => hex_dump(payload.data),
                PayloadView::Text | PayloadView::Decoded => text_of(payload),
            };
            cache.rows = rows_of(&cache.text);
            cache.view = view;
        }
        cache
    }
}

/// The text view of a payload: a close frame's code and reason, or the bytes as UTF-8.
/// Bytes that are not UTF-8 are shown as `\xNN` escapes, after a warning line: an
/// inspector should show which bytes they were, and a replacement character hides that
/// (and is missing from the monospace font).
fn text_of(payload: &Payload<'_>) -> String {
    if let Some(close) = &payload.close {
        return close.clone();
    }
    if let Ok(text) = std::str::from_utf8(payload.data) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(payload.data.len() + 64);
    out.push_str("(not valid UTF-8: the bytes that are not are shown as \\xNN)\n");
    for chunk in payload.data.utf8_chunks() {
        out.push_str(chunk.valid());
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out
}

/// Splits `text` into rows: at line feeds, and long lines every [`ROW_BYTES`] bytes (at a
/// character boundary).
fn rows_of(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut rows = Vec::new();
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        let end = start + line.len();
        let content_end = end - usize::from(line.ends_with('\n'));
        let mut at = start;
        loop {
            let mut cut = (at + ROW_BYTES).min(content_end);
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            rows.push(at..cut);
            if cut >= content_end {
                break;
            }
            at = cut;
        }
        start = end;
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_split_at_line_feeds_and_long_lines() {
        let text = format!("ab\n{}\n\nz", "é".repeat(100));
        let rows: Vec<&str> = rows_of(&text).into_iter().map(|r| &text[r]).collect();
        assert_eq!(rows[0], "ab");
        // 100 two-byte characters: 80 fit a 160-byte row.
        assert_eq!(rows[1].chars().count(), 80);
        assert_eq!(rows[2].chars().count(), 20);
        assert_eq!(rows[3], "");
        assert_eq!(rows[4], "z");
        assert_eq!(rows.len(), 5);
    }

    #[test]
    fn a_close_frame_reads_as_its_code_and_reason() {
        let payload = Payload {
            data: &[0x03, 0xe8, b'b', b'y', b'e'],
            close: Some("1000 (Normal Closure) “bye”".to_owned()),
            note: None,
            decoded: None,
        };
        let text = text_of(&payload);
        assert_eq!(text, "1000 (Normal Closure) “bye”");
        assert!(!text.contains("UTF-8"));
    }

    #[test]
    fn bytes_that_are_not_utf8_are_escaped() {
        let payload = Payload {
            data: b"ok \xff\xfe end",
            ..Payload::default()
        };
        let text = text_of(&payload);
        assert!(text.starts_with("(not valid UTF-8"), "{text}");
        assert!(text.ends_with("ok \\xff\\xfe end"), "{text}");
    }

    #[test]
    fn a_large_payload_is_rendered_whole_once() {
        let big = format!("{{\"data\":\"{}\"}}", "x".repeat(1 << 20));
        let payload = Payload {
            data: big.as_bytes(),
            ..Payload::default()
        };
        let key = PayloadKey {
            index: 7,
            part: 0,
            len: big.len(),
        };
        let mut pane = PayloadPane {
            view: PayloadView::Json,
            ..PayloadPane::default()
        };
        let rendered = pane.rendered(key, &payload, PayloadView::Json);
        assert!(rendered.json.is_some(), "a 1 MiB JSON message is JSON");
        assert!(rendered.text.len() > 1 << 20, "shown whole");
        assert!(
            rendered.rows.len() > 6000,
            "as rows: {}",
            rendered.rows.len()
        );
    }
}
