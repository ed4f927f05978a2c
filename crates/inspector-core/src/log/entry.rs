//! The entries a [`LogStore`](super::LogStore) hands out: frames and lifecycle events.

use std::borrow::Cow;
use std::mem;
use std::time::{Duration, SystemTime};

use ws_proto::{CloseCode, Direction, FrameHeader, OpCode};
use ws_tokio::tap::Initiator;

use super::preview::{Preview, looks_like_text, preview_bytes};

/// One logged item with its times, as [`LogStore::get`](super::LogStore::get) makes it (it borrows the payload
/// from the store).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    /// The global index: 0 for the first entry ever pushed, counting on across eviction and
    /// [`LogStore::clear`](super::LogStore::clear).
    pub index: u64,
    /// Wall-clock time (nanosecond precision).
    pub time: SystemTime,
    /// Monotonic time since the connection's tap was created.
    pub elapsed: Duration,
    /// What happened.
    pub item: Item<'a>,
}

/// What an [`Entry`] holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item<'a> {
    /// A frame, either direction.
    Frame(FrameEntry<'a>),
    /// A lifecycle event.
    Event(Cow<'a, LifecycleEvent>),
}

/// A logged frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameEntry<'a> {
    /// Incoming or outgoing.
    pub direction: Direction,
    /// The header as on the wire; `payload_len` is the full length even when the payload
    /// was truncated.
    pub header: FrameHeader,
    /// The payload, unmasked, at most [`LogStore::max_payload`](super::LogStore::max_payload) bytes of it (as on the wire:
    /// compressed, for a frame of a compressed message).
    pub payload: &'a [u8],
    /// For a frame of a compressed message (permessage-deflate), its payload size after
    /// inflating (saturated at 4 GiB - 2).
    pub decompressed_len: Option<usize>,
    /// For a frame of a compressed message, the plain content of the whole message once
    /// its last frame is logged: (the bytes kept, the full length).
    pub plain: Option<(&'a [u8], usize)>,
    /// The payload was kept whole at first, then trimmed to its first [`TRIMMED_KEEP`](super::TRIMMED_KEEP)
    /// bytes to keep the log within its budget for large payloads.
    pub trimmed: bool,
    /// The message this frame belongs to: numbered per direction from 1, in the order
    /// messages start; every fragment of a message has the same number, and each control
    /// frame gets a number of its own. `(direction, message)` identifies a message in the
    /// log. The boundaries are the engine's ([`ws_proto::Frame::message`]); the log numbers
    /// on across the connections it holds (each engine starts again from 1).
    pub message: u64,
    /// The frame's place in its message, as the engine reported it.
    pub fragment: Fragment,
}

impl FrameEntry<'_> {
    /// Whether only part of the payload was kept.
    pub fn truncated(&self) -> bool {
        (self.payload.len() as u64) < self.header.payload_len
    }

    /// A one-line preview of at most `max_chars` characters, followed by `…` when the
    /// payload did not fit or was truncated:
    ///
    /// - text frames as text (invalid UTF-8 as `�`), with `↵` for a line feed and `·` for
    ///   other control characters;
    /// - close frames as the code and the reason (`1000 bye`);
    /// - binary frames as hex (`01 02 ff`);
    /// - continuation, ping and pong frames as text if they are printable UTF-8, else hex.
    ///
    /// A frame of a compressed message previews the plain content of its message, once
    /// known (its own bytes are deflated).
    pub fn preview(&self, max_chars: usize) -> String {
        if let Some((plain, len)) = self.plain {
            return preview_bytes(plain, plain.len() < len, max_chars);
        }
        let mut out = Preview::new(max_chars);
        let truncated = self.truncated();
        let payload = self.payload;
        match self.header.opcode {
            OpCode::Text => out.text(payload, truncated),
            OpCode::Close => match payload {
                [] => {}
                [high, low, reason @ ..] => {
                    out.text(
                        u16::from_be_bytes([*high, *low]).to_string().as_bytes(),
                        false,
                    );
                    if !reason.is_empty() {
                        out.text(b" ", false);
                        out.text(reason, truncated);
                    }
                }
                _ => out.hex(payload),
            },
            OpCode::Continuation | OpCode::Ping | OpCode::Pong if looks_like_text(payload) => {
                out.text(payload, truncated)
            }
            _ => out.hex(payload),
        }
        out.finish(truncated)
    }

    /// The text filters search: the payload as lossy UTF-8 (the plain message, for a
    /// compressed one), or `code reason` for a close frame.
    pub(super) fn search_text(&self) -> Cow<'_, str> {
        if let Some((plain, _)) = self.plain {
            return String::from_utf8_lossy(plain);
        }
        match (self.header.opcode, self.payload) {
            (OpCode::Close, [high, low, reason @ ..]) => Cow::Owned(format!(
                "{} {}",
                u16::from_be_bytes([*high, *low]),
                String::from_utf8_lossy(reason)
            )),
            (_, payload) => String::from_utf8_lossy(payload),
        }
    }
}

/// A frame's place in its message, as the engine reported it ([`ws_proto::MessagePosition`]).
pub use ws_proto::Fragment;

/// A connection's lifecycle, as the browser's `WebSocket` events name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LifecycleEvent {
    /// A connection attempt started (readyState 0).
    Connecting {
        /// The URL.
        url: String,
    },
    /// The opening handshake succeeded (readyState 1).
    Open {
        /// The subprotocol the server chose.
        protocol: Option<String>,
        /// The extensions the server accepted.
        extensions: Vec<String>,
    },
    /// A complete message, either direction.
    Message {
        /// Received or sent.
        direction: Direction,
        /// Text (or binary).
        text: bool,
        /// Its length in bytes.
        len: u64,
    },
    /// An error, in plain words.
    Error(String),
    /// The inspector did something to the traffic on purpose: a fault injected by a relay
    /// or a listener, a held message dropped by the user (not a browser event).
    Fault(String),
    /// The inspector spoke the application protocol by itself: a packet it sent (joining a
    /// namespace, answering a ping), or what the protocol said (not a browser event).
    Auto(String),
    /// Auto-reconnect will make another attempt (not a browser event: the inspector's own).
    Reconnecting {
        /// Which attempt since the last connection that opened (1 = the first retry).
        attempt: u64,
        /// The most attempts allowed, if limited.
        max_attempts: Option<u64>,
        /// How long until it is made.
        delay: Duration,
        /// Why the connection before it ended.
        reason: String,
    },
    /// The connection ended (readyState 3).
    Close {
        /// The close code (1005 when the close frame had none, 1006 when the connection was
        /// lost).
        code: CloseCode,
        /// The close reason.
        reason: String,
        /// Whether the close handshake completed.
        clean: bool,
        /// Who started the close.
        initiator: Initiator,
    },
}

impl LifecycleEvent {
    /// The browser's event name: `connecting` (which the browser does not have),
    /// `open`, `message`, `error` or `close`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Connecting { .. } => "connecting",
            Self::Open { .. } => "open",
            Self::Message { .. } => "message",
            Self::Error(_) => "error",
            Self::Reconnecting { .. } => "reconnect",
            Self::Fault(_) => "fault",
            Self::Auto(_) => "auto",
            Self::Close { .. } => "close",
        }
    }

    /// A one-line description, starting with the [`name`](Self::name), such as
    /// `close 1000 (Normal Closure) "bye", clean, by the server`.
    ///
    /// The log is a client's, so a close the peer started is "by the server".
    pub fn summary(&self) -> String {
        match self {
            Self::Connecting { url } => format!("connecting to {url}"),
            Self::Open {
                protocol,
                extensions,
            } => {
                let protocol = match protocol {
                    Some(protocol) => format!("subprotocol {protocol:?}"),
                    None => "no subprotocol".to_owned(),
                };
                let extensions = match extensions.is_empty() {
                    true => "no extensions".to_owned(),
                    false => format!("extensions {}", extensions.join(", ")),
                };
                format!("open, {protocol}, {extensions}")
            }
            Self::Message {
                direction,
                text,
                len,
            } => {
                let direction = match direction {
                    Direction::Incoming => "received",
                    Direction::Outgoing => "sent",
                };
                let kind = if *text { "text" } else { "binary" };
                let unit = if *len == 1 { "byte" } else { "bytes" };
                format!("message {direction}, {kind}, {len} {unit}")
            }
            Self::Error(message) => format!("error: {message}"),
            Self::Fault(what) => format!("fault: {what}"),
            Self::Auto(what) => format!("auto: {what}"),
            Self::Reconnecting {
                attempt,
                max_attempts,
                delay,
                reason,
            } => {
                let of = max_attempts
                    .map(|max| format!(" of {max}"))
                    .unwrap_or_default();
                format!(
                    "reconnect: attempt {attempt}{of} in {:.2} s ({reason})",
                    delay.as_secs_f64()
                )
            }
            Self::Close {
                code,
                reason,
                clean,
                initiator,
            } => {
                let mut out = format!("close {code}");
                if !reason.is_empty() {
                    out.push_str(&format!(" {reason:?}"));
                }
                out.push_str(if *clean { ", clean" } else { ", not clean" });
                out.push_str(match initiator {
                    Initiator::Local => ", by us",
                    Initiator::Remote => ", by the server",
                    Initiator::Nobody => ", connection lost",
                });
                out
            }
        }
    }

    /// The heap bytes the event owns, for [`LogStore::approx_memory`].
    pub(super) fn heap_size(&self) -> usize {
        match self {
            Self::Connecting { url: text }
            | Self::Error(text)
            | Self::Fault(text)
            | Self::Auto(text)
            | Self::Reconnecting { reason: text, .. } => text.capacity(),
            Self::Close { reason, .. } => reason.capacity(),
            Self::Open {
                protocol,
                extensions,
            } => {
                protocol.as_ref().map_or(0, String::capacity)
                    + extensions.capacity() * mem::size_of::<String>()
                    + extensions.iter().map(String::capacity).sum::<usize>()
            }
            Self::Message { .. } => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use ws_proto::{CloseCode, Direction, OpCode};
    use ws_tokio::tap::Initiator;

    use super::*;
    use crate::log::LogStore;
    use crate::log::testing::*;

    // --- previews and events ------------------------------------------------------------------

    #[test]
    fn previews() {
        let mut store = LogStore::new(100, 8);
        push(&mut store, text_in("héllo\nwörld\t!"));
        push(&mut store, text_in("ab"));
        push(
            &mut store,
            frame(Direction::Incoming, OpCode::Binary, true, &[1, 2, 0xff]),
        );
        push(
            &mut store,
            frame(Direction::Incoming, OpCode::Close, true, b"\x03\xe8bye"),
        );
        push(
            &mut store,
            frame(Direction::Incoming, OpCode::Close, true, b""),
        );
        push(
            &mut store,
            frame(Direction::Incoming, OpCode::Ping, true, b"ping"),
        );
        push(
            &mut store,
            frame(Direction::Incoming, OpCode::Pong, true, &[0, 1]),
        );
        push(&mut store, text_in("a\u{1}b\u{7f}\r"));
        push(
            &mut store,
            frame(Direction::Incoming, OpCode::Text, true, b"ok\xffok"),
        );
        // "aé" cut inside the é by a 2-byte max_payload.
        let mut small = LogStore::new(10, 2);
        push(&mut small, text_in("aé"));

        assert_eq!(frame_at(&store, 0).preview(100), "héllo↵w…");
        assert_eq!(frame_at(&store, 0).preview(3), "hél…");
        assert_eq!(frame_at(&store, 1).preview(100), "ab");
        assert_eq!(frame_at(&store, 1).preview(2), "ab");
        assert_eq!(frame_at(&store, 1).preview(1), "a…");
        assert_eq!(frame_at(&store, 2).preview(100), "01 02 ff");
        assert_eq!(frame_at(&store, 2).preview(6), "01 02…");
        assert_eq!(frame_at(&store, 2).preview(7), "01 02…");
        assert_eq!(frame_at(&store, 3).preview(100), "1000 bye");
        assert_eq!(frame_at(&store, 4).preview(100), "");
        assert_eq!(frame_at(&store, 5).preview(100), "ping");
        assert_eq!(frame_at(&store, 6).preview(100), "00 01");
        assert_eq!(frame_at(&store, 7).preview(100), "a·b··");
        assert_eq!(frame_at(&store, 8).preview(100), "ok\u{FFFD}ok");
        assert_eq!(frame_at(&small, 0).preview(100), "a…");
    }

    #[test]
    fn event_names_and_summaries() {
        let cases = [
            (
                LifecycleEvent::Connecting {
                    url: "ws://127.0.0.1:9002/".into(),
                },
                "connecting",
                "connecting to ws://127.0.0.1:9002/",
            ),
            (
                LifecycleEvent::Open {
                    protocol: Some("chat".into()),
                    extensions: vec!["permessage-deflate".into()],
                },
                "open",
                "open, subprotocol \"chat\", extensions permessage-deflate",
            ),
            (
                LifecycleEvent::Open {
                    protocol: None,
                    extensions: vec![],
                },
                "open",
                "open, no subprotocol, no extensions",
            ),
            (
                LifecycleEvent::Message {
                    direction: Direction::Incoming,
                    text: true,
                    len: 5,
                },
                "message",
                "message received, text, 5 bytes",
            ),
            (
                LifecycleEvent::Message {
                    direction: Direction::Outgoing,
                    text: false,
                    len: 1,
                },
                "message",
                "message sent, binary, 1 byte",
            ),
            (
                LifecycleEvent::Error("connection refused".into()),
                "error",
                "error: connection refused",
            ),
            (
                close_event(),
                "close",
                "close 1000 (Normal Closure) \"bye\", clean, by the server",
            ),
            (
                LifecycleEvent::Close {
                    code: CloseCode::ABNORMAL,
                    reason: String::new(),
                    clean: false,
                    initiator: Initiator::Nobody,
                },
                "close",
                "close 1006 (Abnormal Closure), not clean, connection lost",
            ),
            (
                LifecycleEvent::Close {
                    code: CloseCode(4321),
                    reason: "done".into(),
                    clean: true,
                    initiator: Initiator::Local,
                },
                "close",
                "close 4321 (Private Use (4000-4999)) \"done\", clean, by us",
            ),
        ];
        for (event, name, summary) in cases {
            assert_eq!(event.name(), name);
            assert_eq!(event.summary(), summary);
        }
    }
}
