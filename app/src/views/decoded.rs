//! Decoded payloads in the log: the tab's decoders per direction (the profile's choice, or
//! what the handshake says: [`detect`]), loaded once; the decoded form of the rows on
//! screen and of the selected payload, worked out when asked and cached by log index; and
//! the tree view of a decoded value, with "Copy as JSON" for it and each subtree.
//!
//! Decoding is lazy, as `ws_inspector_core::decode` asks: the preview column decodes only
//! the rows it lays out, the payload pane only the selected payload. A filter on the text
//! or folded heartbeats need every entry's verdict: [`Decoding::facts`] decodes an entry
//! without caching it, once, as the filtered view scans it.
//!
//! Each payload is decoded with a fresh stream of its direction's decoder: one message
//! alone. Socket.IO binary attachments are the one thing that needs the messages before
//! them; a binary attachment row shows its bytes, and its packet's placeholder stays one.

use std::borrow::Cow;
use std::collections::HashMap;

use egui::{RichText, Ui};
use ws_inspector_core::decode::{
    Codec, Context, DecodeError, Decoded, Decoder, DirectionalDecoders, Label, Node, Payload,
    detect,
};
use ws_inspector_core::log::filter::DecodedFacts;
use ws_inspector_core::log::{Entry, Fragment, FrameEntry, Item, LogStore};
use ws_inspector_core::session::SessionState;
use ws_tokio::ws_proto::{Direction, OpCode};

use super::Palette;

/// A payload decoded, or where it failed.
pub type Outcome = Result<Decoded, DecodeError>;

/// Entries kept in the cache before it is emptied (the rows on screen and the selection
/// come back the next frame).
const CACHE_MAX: usize = 4096;

/// The most children of one node the tree shows (a note says how many more there are).
const MAX_CHILDREN: usize = 500;

/// Which content of an entry a cache key names: a frame's payload (0), a compressed
/// message's plain content (1), a message reassembled (2).
pub type Part = u8;

/// The cache part of a binary packet joined with its attachments.
const JOINED: Part = 3;

/// One direction's decoder, resolved and loaded.
#[derive(Debug)]
struct Resolved {
    decoder: Decoder,
    /// Chosen by the handshake, not the profile.
    auto: bool,
    codec: Result<Codec, String>,
}

/// The tab's decoders and what they made of the payloads shown.
#[derive(Debug, Default)]
pub struct Decoding {
    /// The profile's choice (`None` in a direction: detect from the handshake).
    chosen: DirectionalDecoders,
    /// The handshake the decoders were resolved for: (subprotocol agreed, URL).
    context: Option<(Option<String>, String)>,
    context_value: Context,
    /// The choice changed since the decoders were resolved.
    stale: bool,
    /// Incoming, outgoing.
    resolved: [Option<Resolved>; 2],
    cache: HashMap<(u64, Part, usize), Option<Outcome>>,
}

fn slot(direction: Direction) -> usize {
    match direction {
        Direction::Incoming => 0,
        Direction::Outgoing => 1,
    }
}

impl Decoding {
    /// Takes the profile's choice (every frame: cheap when it did not change).
    pub fn set_choice(&mut self, decoders: &DirectionalDecoders) {
        if &self.chosen != decoders {
            self.chosen = decoders.clone();
            self.stale = true;
        }
    }

    /// Resolves the decoders for `session`'s handshake when it or the choice changed, and
    /// loads them. Returns whether anything changed (what was decoded is forgotten then).
    pub fn update(&mut self, session: Option<&SessionState>) -> bool {
        let context = session.map(|s| (s.handshake.protocol.clone(), s.url.clone()));
        if !self.stale && context == self.context {
            return false;
        }
        self.stale = false;
        let (protocol, url) = context.clone().unwrap_or_default();
        self.context = context;
        let detected = detect(protocol.as_deref(), &url);
        let resolve = |chosen: Option<&Decoder>| {
            let (decoder, auto) = match chosen {
                Some(decoder) => (decoder.clone(), false),
                None => (detected.clone()?, true),
            };
            let codec = decoder.load().map_err(|e| e.to_string());
            Some(Resolved {
                decoder,
                auto,
                codec,
            })
        };
        let before = self.names();
        self.resolved = [
            resolve(self.chosen.incoming.as_ref()),
            resolve(self.chosen.outgoing.as_ref()),
        ];
        self.context_value = Context { protocol, url };
        self.cache.clear();
        before != self.names() || self.is_active()
    }

    fn names(&self) -> [Option<&'static str>; 2] {
        [0, 1].map(|i| self.resolved[i].as_ref().map(|r| r.decoder.name()))
    }

    /// Whether some direction has a decoder.
    pub fn is_active(&self) -> bool {
        self.resolved.iter().any(Option::is_some)
    }

    /// The decoder of `direction`, by its short name, with "auto" when the handshake chose
    /// it: `msgpack`, `socketio (auto)`.
    pub fn name(&self, direction: Direction) -> Option<String> {
        self.resolved[slot(direction)].as_ref().map(|r| {
            if r.auto {
                format!("{} (auto)", r.decoder.name())
            } else {
                r.decoder.name().to_owned()
            }
        })
    }

    /// Why the decoder of `direction` could not be loaded (a `.proto` with a mistake).
    pub fn load_error(&self, direction: Direction) -> Option<&str> {
        self.resolved[slot(direction)]
            .as_ref()
            .and_then(|r| r.codec.as_ref().err())
            .map(String::as_str)
    }

    /// Decodes one payload of `direction` (no cache).
    pub fn decode_bytes(&self, direction: Direction, text: bool, data: &[u8]) -> Option<Outcome> {
        let codec = self.resolved[slot(direction)]
            .as_ref()?
            .codec
            .as_ref()
            .ok()?;
        let mut stream = codec.stream(&self.context_value);
        let payload = match (text, std::str::from_utf8(data)) {
            (true, Ok(text)) => Payload::Text(text),
            _ => Payload::Binary(data),
        };
        Some(stream.decode(payload))
    }

    /// Decodes the content `make` gives (text or binary, and the bytes) for the cache key
    /// `(index, part, len)`, or gives what was decoded before. `None`: no decoder, or
    /// nothing to decode.
    pub fn cached<'a>(
        &mut self,
        key: (u64, Part, usize),
        direction: Direction,
        make: impl FnOnce() -> Option<(bool, Cow<'a, [u8]>)>,
    ) -> Option<&Outcome> {
        self.resolved[slot(direction)].as_ref()?;
        if !self.cache.contains_key(&key) {
            if self.cache.len() >= CACHE_MAX {
                self.cache.clear();
            }
            let outcome = make().and_then(|(text, data)| self.decode_bytes(direction, text, &data));
            self.cache.insert(key, outcome);
        }
        self.cache.get(&key).and_then(Option::as_ref)
    }

    /// The decoded form of a frame of the log (a whole data frame, or the last frame of a
    /// compressed message once its plain content is known), cached by its index.
    pub fn frame(&mut self, index: u64, frame: &FrameEntry<'_>) -> Option<&Outcome> {
        let (text, data, part) = frame_content(frame)?;
        self.cached((index, part, data.len()), frame.direction, || {
            Some((text, Cow::Borrowed(data)))
        })
    }

    /// [`frame`](Self::frame), with a Socket.IO binary packet's attachments — the binary
    /// frames that follow it in `log`, in its direction — put in place of their placeholders,
    /// as the stream receiving them does; cached under its own key. Other payloads, and a
    /// packet whose attachments are not all in the log yet, as [`frame`](Self::frame) gives
    /// them.
    pub fn frame_joined(
        &mut self,
        log: &LogStore,
        index: u64,
        frame: &FrameEntry<'_>,
    ) -> Option<&Outcome> {
        let expected = match self.frame(index, frame)? {
            Ok(decoded) => match decoded.packet.as_ref().and_then(|p| p.attachments) {
                Some((0, expected)) if expected > 0 => expected,
                _ => return self.frame(index, frame),
            },
            Err(_) => return self.frame(index, frame),
        };
        let key = (index, JOINED, expected);
        if !self.cache.contains_key(&key) {
            let Some(joined) = self.join(log, index, frame, expected) else {
                // Not all there yet: the packet as it is, asked again later.
                return self.frame(index, frame);
            };
            if self.cache.len() >= CACHE_MAX {
                self.cache.clear();
            }
            self.cache.insert(key, Some(joined));
        }
        self.cache.get(&key).and_then(Option::as_ref)
    }

    /// The packet at `index` decoded with the `expected` binary frames after it.
    fn join(
        &self,
        log: &LogStore,
        index: u64,
        frame: &FrameEntry<'_>,
        expected: usize,
    ) -> Option<Outcome> {
        let codec = self.resolved[slot(frame.direction)]
            .as_ref()?
            .codec
            .as_ref()
            .ok()?;
        let (_, data, _) = frame_content(frame)?;
        let text = std::str::from_utf8(data).ok()?;
        let mut stream = codec.stream(&self.context_value);
        stream.decode(Payload::Text(text)).ok()?;
        let start = log.position_of(index)? + 1;
        let mut fed = 0;
        for entry in log.iter_from(start) {
            let Item::Frame(next) = &entry.item else {
                continue;
            };
            if next.direction != frame.direction {
                continue;
            }
            // A text packet before all its attachments came: it stays as it was.
            let (false, bytes, _) = frame_content(next)? else {
                return None;
            };
            let decoded = stream.decode(Payload::Binary(bytes));
            fed += 1;
            if fed == expected {
                return Some(decoded);
            }
        }
        None
    }

    /// What the decoder says of an entry, for the filtered view (not cached: the view asks
    /// once per entry).
    pub fn facts(&self, entry: &Entry<'_>) -> Option<DecodedFacts> {
        let Item::Frame(frame) = &entry.item else {
            return None;
        };
        let (text, data, _) = frame_content(frame)?;
        match self.decode_bytes(frame.direction, text, data)? {
            Ok(decoded) => Some(DecodedFacts {
                text: decoded.text(),
                heartbeat: decoded.is_heartbeat(),
            }),
            Err(_) => None,
        }
    }
}

/// The content of a frame that decodes as a message: (text, bytes, part). A whole text or
/// binary frame's payload (as much as is kept); for a compressed message, its plain content
/// on its last frame. Fragments, control frames: none.
pub fn frame_content<'a>(frame: &FrameEntry<'a>) -> Option<(bool, &'a [u8], Part)> {
    if let Some((plain, _)) = frame.plain {
        if !matches!(frame.fragment, Fragment::Whole | Fragment::Last) {
            return None;
        }
        let text = match frame.header.opcode {
            OpCode::Text => true,
            OpCode::Binary => false,
            _ => std::str::from_utf8(plain).is_ok(),
        };
        return Some((text, plain, 1));
    }
    if frame.fragment != Fragment::Whole || frame.decompressed_len.is_some() {
        return None;
    }
    match frame.header.opcode {
        OpCode::Text => Some((true, frame.payload, 0)),
        OpCode::Binary => Some((false, frame.payload, 0)),
        _ => None,
    }
}

/// The preview of a decoded row: a protocol packet's type (strong) and the rest of its
/// summary, or a format's summary after its decoder's name; a payload that did not decode
/// shows its raw preview (the caller's) and the error's byte.
pub fn preview_ui(
    ui: &mut Ui,
    outcome: &Outcome,
    decoder: Option<&str>,
    colour: egui::Color32,
    palette: &Palette,
    kind_in_its_column: bool,
) -> bool {
    match outcome {
        Ok(decoded) => {
            let summary = decoded.summary(200);
            match &decoded.packet {
                Some(packet) => {
                    if !kind_in_its_column {
                        ui.label(RichText::new(packet.kind).strong().color(palette.event))
                            .on_hover_text(format!("{} packet", packet.protocol.name()));
                    }
                    let rest = summary
                        .strip_prefix(packet.kind)
                        .unwrap_or(&summary)
                        .trim_start();
                    if !rest.is_empty() {
                        ui.label(RichText::new(rest).monospace().color(colour));
                    }
                }
                None => {
                    if let Some(name) = decoder {
                        ui.label(RichText::new(name).small().color(palette.weak));
                    }
                    ui.label(RichText::new(summary).monospace().color(colour));
                }
            }
            true
        }
        Err(_) => false,
    }
}

/// The error tag a row whose payload did not decode shows after its raw preview.
pub fn error_tag_ui(ui: &mut Ui, error: &DecodeError, decoder: Option<&str>, palette: &Palette) {
    ui.label(
        RichText::new(format!(
            "(not {}: byte {})",
            decoder.unwrap_or("decoded"),
            error.offset
        ))
        .color(palette.warning),
    )
    .on_hover_text(error.to_string());
}

/// The tree of a decoded value: its packet's facts (for a protocol), then one row per
/// value, maps and arrays collapsible, each with "Copy JSON" for its subtree.
pub fn tree_ui(ui: &mut Ui, id: egui::Id, decoded: &Decoded, palette: &Palette) {
    if let Some(packet) = &decoded.packet {
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new(packet.protocol.name()).color(palette.weak));
            ui.label(RichText::new(packet.kind).strong().color(palette.event));
            if let Some(ns) = &packet.namespace {
                ui.label(RichText::new(format!("namespace {ns}")).monospace());
            }
            if let Some(id) = &packet.id {
                ui.label(RichText::new(format!("id #{id}")).monospace());
            }
            if let Some(name) = &packet.name {
                ui.label(RichText::new(format!("name {name}")).monospace());
            }
            if let Some((got, of)) = packet.attachments {
                ui.label(format!("attachments {got} of {of}"));
            }
            if packet.heartbeat {
                ui.label(RichText::new("heartbeat").color(palette.control));
            }
        });
    }
    node_ui(ui, id, "value", &decoded.value, 0, palette);
}

fn node_ui(ui: &mut Ui, id: egui::Id, label: &str, node: &Node, depth: usize, palette: &Palette) {
    let children = node.children();
    if children.is_empty() {
        ui.horizontal(|ui| {
            ui.label(RichText::new(label).monospace().strong());
            let value = ui.add(
                egui::Label::new(RichText::new(node.summary(400)).monospace())
                    .sense(egui::Sense::click()),
            );
            ui.label(RichText::new(node.kind()).small().color(palette.weak));
            value.context_menu(|ui| {
                if ui.button("Copy as JSON").clicked() {
                    ui.ctx().copy_text(node.to_json());
                    ui.close();
                }
            });
        });
        return;
    }
    let state =
        egui::collapsing_header::CollapsingState::load_with_default_open(ui.ctx(), id, depth < 2);
    let open = state.is_open();
    state
        .show_header(ui, |ui| {
            ui.label(RichText::new(label).monospace().strong());
            let count = match node {
                Node::Array(items) => format!("array ({})", items.len()),
                Node::Map(entries) => format!("map ({})", entries.len()),
                Node::Tag { tag, .. } => format!("tag {tag}"),
                other => other.kind().to_owned(),
            };
            ui.label(RichText::new(count).small().color(palette.weak));
            if !open {
                ui.label(
                    RichText::new(node.summary(80))
                        .monospace()
                        .color(palette.weak),
                );
            }
            if ui
                .small_button("Copy JSON")
                .on_hover_text("Copy this value as JSON")
                .clicked()
            {
                ui.ctx().copy_text(node.to_json_pretty());
            }
        })
        .body(|ui| {
            for (i, (label, child)) in children.iter().enumerate().take(MAX_CHILDREN) {
                let text = match label {
                    Label::Key(Node::String(s)) => s.clone(),
                    other => other.to_string(),
                };
                node_ui(ui, id.with(i), &text, child, depth + 1, palette);
            }
            if children.len() > MAX_CHILDREN {
                ui.label(
                    RichText::new(format!(
                        "… {} more (Copy JSON has them all)",
                        children.len() - MAX_CHILDREN
                    ))
                    .color(palette.weak),
                );
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoders_resolve_from_the_choice_or_the_handshake() {
        let mut decoding = Decoding::default();
        decoding.set_choice(&DirectionalDecoders {
            incoming: Some(Decoder::MessagePack),
            outgoing: None,
        });
        assert!(decoding.update(None));
        assert_eq!(
            decoding.name(Direction::Incoming).as_deref(),
            Some("msgpack")
        );
        assert_eq!(decoding.name(Direction::Outgoing), None);
        assert!(!decoding.update(None), "nothing changed");
        let ok = decoding
            .decode_bytes(Direction::Incoming, false, &[0x81, 0xa1, b'a', 0x01])
            .unwrap()
            .unwrap();
        assert_eq!(ok.summary(80), r#"{"a":1}"#);
        let bad = decoding
            .decode_bytes(Direction::Incoming, false, &[0x81, 0xa1])
            .unwrap()
            .unwrap_err();
        assert_eq!(bad.offset, 1);
        assert!(
            decoding
                .decode_bytes(Direction::Outgoing, true, b"{}")
                .is_none()
        );
    }
}
