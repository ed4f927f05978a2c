//! Engine.IO 4 (and 3) and Socket.IO 5 over the WebSocket transport.
//!
//! Each WebSocket text message is one Engine.IO packet: a type digit (`0` open, `1` close,
//! `2` ping, `3` pong, `4` message, `5` upgrade, `6` noop) and its data; a `4` message carries
//! one Socket.IO packet: a type digit (`0` connect, `1` disconnect, `2` event, `3` ack, `4`
//! connect_error, `5` binary_event, `6` binary_ack), for the binary types the number of
//! attachments and `-`, the namespace and `,` unless it is `/`, the ack id, and JSON data —
//! `42/chat,7["message","hi"]` is event `message` on `/chat` asking for ack 7.
//!
//! A binary packet's attachments come as the following binary WebSocket messages (in
//! Engine.IO 3 each prefixed by the byte 4); [`SocketIoStream`] holds the packet until they
//! have all come and then puts each in place of its `{"_placeholder":true,"num":N}`. That is
//! the one state a direction needs.
//!
//! Heartbeats: in Engine.IO 4 the server sends ping `2` and the client answers pong `3`; in
//! Engine.IO 3 the client pings every `pingInterval` and the server answers. `2probe` and
//! `3probe` belong to the transport upgrade, not the heartbeat.
//! [`SocketIoClient`] is the client's side of all this as a state machine: what to send
//! when the server's open packet comes (the namespace connects), the answer to a ping,
//! Engine.IO 3's own pings, and when the namespaces are joined.

use std::time::Duration;

use ws_tokio::Outgoing;
use ws_tokio::ws_proto::bytes::Bytes;

use super::error::{DecodeError, EncodeError};
use super::node::Node;
use super::{Decoded, Packet, Payload, Protocol, json};

/// The Engine.IO protocol revision, from the `EIO=` query parameter of the URL.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EngineVersion {
    /// Engine.IO 3 (Socket.IO 2): the client pings; binary messages start with byte 4.
    V3,
    /// Engine.IO 4 (Socket.IO 3 and later): the server pings.
    #[default]
    V4,
}

impl EngineVersion {
    /// The version a URL's `EIO=` query names (4 when it names none).
    pub fn from_url(url: &str) -> Option<Self> {
        let query = url.split_once('?')?.1;
        let query = query.split('#').next().unwrap_or(query);
        query.split('&').find_map(|pair| match pair {
            "EIO=4" => Some(Self::V4),
            "EIO=3" => Some(Self::V3),
            _ => None,
        })
    }
}

/// The Engine.IO packet types, by their digit.
const ENGINE_TYPES: [&str; 7] = [
    "open", "close", "ping", "pong", "message", "upgrade", "noop",
];
/// The Socket.IO packet types, by their digit.
const SOCKET_TYPES: [&str; 7] = [
    "connect",
    "disconnect",
    "event",
    "ack",
    "connect_error",
    "binary_event",
    "binary_ack",
];

/// One direction's Socket.IO decoder: a binary packet waits here for its attachments.
#[derive(Clone, Debug, Default)]
pub struct SocketIoStream {
    version: EngineVersion,
    waiting: Option<Waiting>,
}

/// A binary packet waiting for its attachments.
#[derive(Clone, Debug)]
struct Waiting {
    packet: Packet,
    data: Node,
    expected: usize,
    got: Vec<Vec<u8>>,
}

impl SocketIoStream {
    /// A decoder for one direction of a connection on Engine.IO `version`.
    pub fn new(version: EngineVersion) -> Self {
        Self {
            version,
            waiting: None,
        }
    }

    /// Decodes the next message of this direction.
    pub fn decode(&mut self, payload: Payload<'_>) -> Result<Decoded, DecodeError> {
        match payload {
            Payload::Text(text) => self.text(text),
            Payload::Binary(data) => self.binary(data),
        }
    }

    fn text(&mut self, text: &str) -> Result<Decoded, DecodeError> {
        let (packet, data, attachments) = parse_text(text)?;
        if attachments > 0 {
            // A new binary packet replaces one still waiting (whose attachments never came).
            let mut shown = packet.clone();
            shown.attachments = Some((0, attachments));
            self.waiting = Some(Waiting {
                packet,
                data: data.clone(),
                expected: attachments,
                got: Vec::new(),
            });
            return Ok(Decoded {
                value: data,
                packet: Some(shown),
            });
        }
        Ok(Decoded {
            value: data,
            packet: Some(packet),
        })
    }

    fn binary(&mut self, data: &[u8]) -> Result<Decoded, DecodeError> {
        let body = match self.version {
            EngineVersion::V4 => data,
            EngineVersion::V3 => match data.split_first() {
                Some((4, rest)) => rest,
                Some((other, _)) => {
                    return Err(DecodeError::new(
                        0,
                        format!(
                            "an Engine.IO 3 binary message starts with 4 (message), not {other}"
                        ),
                    ));
                }
                None => return Err(DecodeError::new(0, "an empty Engine.IO 3 binary message")),
            },
        };
        let Some(waiting) = &mut self.waiting else {
            // Engine.IO carries binary messages of its own too.
            return Ok(Decoded {
                value: Node::Bytes(body.to_vec()),
                packet: Some(Packet::new(Protocol::EngineIo, "binary")),
            });
        };
        waiting.got.push(body.to_vec());
        let received = waiting.got.len();
        let expected = waiting.expected;
        if received < expected {
            let mut packet = Packet::new(Protocol::SocketIo, "attachment");
            packet.id = waiting.packet.id.clone();
            packet.namespace = waiting.packet.namespace.clone();
            packet.name = waiting.packet.name.clone();
            packet.attachments = Some((received, expected));
            return Ok(Decoded {
                value: Node::Bytes(body.to_vec()),
                packet: Some(packet),
            });
        }
        let Some(waiting) = self.waiting.take() else {
            unreachable!("checked above")
        };
        let mut value = waiting.data;
        join_placeholders(&mut value, &waiting.got)
            .map_err(|reason| DecodeError::new(0, reason))?;
        let mut packet = waiting.packet;
        packet.attachments = Some((expected, expected));
        Ok(Decoded {
            value,
            packet: Some(packet),
        })
    }

    /// Attachments still to come for the binary packet waiting, if one is.
    pub fn attachments_waiting(&self) -> Option<usize> {
        self.waiting.as_ref().map(|w| w.expected - w.got.len())
    }
}

/// An Engine.IO text packet: its [`Packet`], its data and the attachments it announces.
fn parse_text(text: &str) -> Result<(Packet, Node, usize), DecodeError> {
    let bytes = text.as_bytes();
    let Some(&first) = bytes.first() else {
        return Err(DecodeError::new(
            0,
            "an empty message is no Engine.IO packet",
        ));
    };
    let engine = match first {
        b'0'..=b'6' => usize::from(first - b'0'),
        b'b' => {
            return Err(DecodeError::new(
                0,
                "'b' starts a base64 binary packet of the HTTP long-polling transport, not of WebSocket",
            ));
        }
        _ => {
            return Err(DecodeError::new(
                0,
                format!(
                    "{} is not an Engine.IO packet type (0 open, 1 close, 2 ping, 3 pong, 4 message, 5 upgrade, 6 noop)",
                    describe_char(text, 0)
                ),
            ));
        }
    };
    let rest = &text[1..];
    let kind = ENGINE_TYPES[engine];
    match engine {
        4 => parse_socket(rest).map_err(|e| e.shifted(1)),
        0 => {
            let value = json::decode(rest).map_err(|e| e.shifted(1))?;
            Ok((Packet::new(Protocol::EngineIo, kind), value, 0))
        }
        2 | 3 => {
            let mut packet = Packet::new(Protocol::EngineIo, kind);
            // `2probe`/`3probe` test the upgraded transport; they are not the heartbeat.
            packet.heartbeat = rest != "probe";
            let value = if rest.is_empty() {
                Node::Null
            } else {
                Node::string(rest)
            };
            Ok((packet, value, 0))
        }
        _ => {
            let value = if rest.is_empty() {
                Node::Null
            } else {
                Node::string(rest)
            };
            Ok((Packet::new(Protocol::EngineIo, kind), value, 0))
        }
    }
}

/// `c` at byte `at` of `text`, quoted, for an error.
fn describe_char(text: &str, at: usize) -> String {
    match text[at..].chars().next() {
        Some(c) if c.is_ascii_graphic() => format!("{c:?}"),
        Some(c) => format!("U+{:04X}", c as u32),
        None => "the end".to_owned(),
    }
}

/// A Socket.IO packet (what follows the Engine.IO `4`).
fn parse_socket(text: &str) -> Result<(Packet, Node, usize), DecodeError> {
    let bytes = text.as_bytes();
    let Some(&first) = bytes.first() else {
        return Err(DecodeError::new(
            0,
            "an Engine.IO message with no Socket.IO packet type after it",
        ));
    };
    if !(b'0'..=b'6').contains(&first) {
        return Err(DecodeError::new(
            0,
            format!(
                "{} is not a Socket.IO packet type (0 connect, 1 disconnect, 2 event, 3 ack, 4 connect_error, 5 binary_event, 6 binary_ack)",
                describe_char(text, 0)
            ),
        ));
    }
    let ty = usize::from(first - b'0');
    let mut packet = Packet::new(Protocol::SocketIo, SOCKET_TYPES[ty]);
    let mut pos = 1;
    let mut attachments = 0;
    if ty == 5 || ty == 6 {
        let digits = bytes[pos..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits == 0 || bytes.get(pos + digits) != Some(&b'-') {
            return Err(DecodeError::new(
                pos,
                "a binary packet must say how many attachments follow, as digits and '-'",
            ));
        }
        attachments = text[pos..pos + digits]
            .parse()
            .map_err(|_| DecodeError::new(pos, "too many attachments"))?;
        pos += digits + 1;
    }
    let mut namespace = "/".to_owned();
    if bytes.get(pos) == Some(&b'/') {
        let end = text[pos..].find(',').map_or(text.len(), |i| pos + i);
        namespace = text[pos..end].to_owned();
        pos = (end + 1).min(text.len());
    }
    packet.namespace = Some(namespace);
    let digits = bytes[pos..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits > 0 {
        let id: u64 = text[pos..pos + digits]
            .parse()
            .map_err(|_| DecodeError::new(pos, "the ack id is too large"))?;
        packet.id = Some(id.to_string());
        pos += digits;
    }
    let rest = &text[pos..];
    let data = if rest.is_empty() {
        Node::Null
    } else {
        json::decode(rest).map_err(|e| e.shifted(pos))?
    };
    match ty {
        2 | 5 => match &data {
            Node::Array(items) if !items.is_empty() => match &items[0] {
                Node::String(name) => packet.name = Some(name.clone()),
                _ => {
                    return Err(DecodeError::new(
                        pos,
                        "an event's first argument must be its name, a string",
                    ));
                }
            },
            _ => {
                return Err(DecodeError::new(
                    pos,
                    "an event's data must be an array: its name, then its arguments",
                ));
            }
        },
        3 | 6 => {
            if packet.id.is_none() {
                return Err(DecodeError::new(pos, "an ack needs the id it answers"));
            }
            if !matches!(data, Node::Array(_)) {
                return Err(DecodeError::new(pos, "an ack's data must be an array"));
            }
        }
        _ => {}
    }
    Ok((packet, data, attachments))
}

/// Puts each attachment in place of its placeholder.
fn join_placeholders(node: &mut Node, attachments: &[Vec<u8>]) -> Result<(), String> {
    match node {
        Node::Map(entries) => {
            let is_placeholder = entries
                .iter()
                .any(|(k, v)| k.as_str() == Some("_placeholder") && *v == Node::Bool(true));
            if is_placeholder {
                let num = entries.iter().find_map(|(k, v)| match (k.as_str(), v) {
                    (Some("num"), Node::Int(n)) => Some(*n),
                    _ => None,
                });
                let Some(data) = num
                    .and_then(|n| usize::try_from(n).ok())
                    .and_then(|n| attachments.get(n))
                else {
                    return Err(format!(
                        "a placeholder names attachment {num:?}, but {} came",
                        attachments.len()
                    ));
                };
                *node = Node::Bytes(data.clone());
                return Ok(());
            }
            for (_, v) in entries {
                join_placeholders(v, attachments)?;
            }
            Ok(())
        }
        Node::Array(items) => {
            for item in items {
                join_placeholders(item, attachments)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------
// Encoding.

/// A Socket.IO packet to send: `data` may hold bytes ([`Node::Bytes`]), which go as
/// attachments (the packet becomes binary_event or binary_ack).
#[derive(Clone, Debug, PartialEq)]
pub struct Outbound {
    /// The Socket.IO type digit's name: `connect`, `disconnect`, `event`, `ack`.
    pub kind: SocketKind,
    /// The namespace (`/` is the main one).
    pub namespace: String,
    /// The ack id (an event that asks for an ack, or the ack answering it).
    pub id: Option<u64>,
    /// The data: an event's `[name, args…]`, an ack's `[args…]`, a connect's auth object.
    pub data: Option<Node>,
}

/// The Socket.IO packet types a client sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketKind {
    /// `0`: join a namespace.
    Connect,
    /// `1`: leave it.
    Disconnect,
    /// `2` (or `5` with bytes): an event.
    Event,
    /// `3` (or `6` with bytes): an ack.
    Ack,
}

impl Outbound {
    /// An event `name` with `args` on `namespace`, asking for ack `ack` if given.
    pub fn event(namespace: &str, name: &str, args: Vec<Node>, ack: Option<u64>) -> Self {
        let mut data = vec![Node::string(name)];
        data.extend(args);
        Self {
            kind: SocketKind::Event,
            namespace: namespace.to_owned(),
            id: ack,
            data: Some(Node::Array(data)),
        }
    }

    /// The packet as the WebSocket messages to send: the text packet, then one binary
    /// message per attachment.
    pub fn encode(&self, version: EngineVersion) -> Vec<Outgoing> {
        let mut attachments = Vec::new();
        let data = self.data.clone().map(|mut d| {
            extract_bytes(&mut d, &mut attachments);
            d
        });
        let binary = !attachments.is_empty();
        let digit = match (self.kind, binary) {
            (SocketKind::Connect, _) => '0',
            (SocketKind::Disconnect, _) => '1',
            (SocketKind::Event, false) => '2',
            (SocketKind::Ack, false) => '3',
            (SocketKind::Event, true) => '5',
            (SocketKind::Ack, true) => '6',
        };
        let mut text = String::from("4");
        text.push(digit);
        if binary {
            text.push_str(&format!("{}-", attachments.len()));
        }
        if self.namespace != "/" && !self.namespace.is_empty() {
            text.push_str(&self.namespace);
            text.push(',');
        }
        if let Some(id) = self.id {
            text.push_str(&id.to_string());
        }
        if let Some(data) = data {
            text.push_str(&data.to_json());
        }
        let mut out = vec![Outgoing::Text(text)];
        for bytes in attachments {
            let bytes = match version {
                EngineVersion::V4 => bytes,
                EngineVersion::V3 => {
                    let mut prefixed = Vec::with_capacity(bytes.len() + 1);
                    prefixed.push(4);
                    prefixed.extend(bytes);
                    prefixed
                }
            };
            out.push(Outgoing::Binary(Bytes::from(bytes)));
        }
        out
    }
}

/// Replaces each byte string in `node` by a placeholder, collecting the bytes in order.
fn extract_bytes(node: &mut Node, out: &mut Vec<Vec<u8>>) {
    match node {
        Node::Bytes(bytes) => {
            let num = out.len();
            out.push(std::mem::take(bytes));
            *node = Node::Map(vec![
                (Node::string("_placeholder"), Node::Bool(true)),
                (Node::string("num"), Node::Int(num as i128)),
            ]);
        }
        Node::Array(items) => items.iter_mut().for_each(|n| extract_bytes(n, out)),
        Node::Map(entries) => entries.iter_mut().for_each(|(_, v)| extract_bytes(v, out)),
        _ => {}
    }
}

/// An event from JSON: `args` is a JSON array of the arguments (any other JSON value is the
/// one argument; an empty text, none).
pub fn event_from_json(
    namespace: &str,
    name: &str,
    args: &str,
    ack: Option<u64>,
) -> Result<Outbound, EncodeError> {
    let args = if args.trim().is_empty() {
        Vec::new()
    } else {
        match json::decode(args)
            .map_err(|e| EncodeError::new(format!("the arguments are not JSON: {e}")))?
        {
            Node::Array(items) => items,
            other => vec![other],
        }
    };
    Ok(Outbound::event(namespace, name, args, ack))
}

/// An event written as the Socket.IO data array, `["name", args…]`, optionally preceded by
/// a namespace and a comma (`/chat,["message","hi"]`), the way the wire writes it.
pub fn event_from_wire_json(
    default_namespace: &str,
    text: &str,
    ack: Option<u64>,
) -> Result<Outbound, EncodeError> {
    let text = text.trim();
    let (namespace, array) = match text.strip_prefix('/') {
        Some(_) => match text.split_once(',') {
            Some((ns, rest)) => (ns, rest),
            None => {
                return Err(EncodeError::new(
                    "a namespace must be followed by a comma and the event",
                ));
            }
        },
        None => (default_namespace, text),
    };
    match json::decode(array).map_err(|e| EncodeError::new(format!("not JSON: {e}")))? {
        Node::Array(mut items) if matches!(items.first(), Some(Node::String(_))) => {
            let Node::String(name) = items.remove(0) else {
                unreachable!("checked")
            };
            Ok(Outbound::event(namespace, &name, items, ack))
        }
        _ => Err(EncodeError::new(
            "a Socket.IO event is a JSON array: its name (a string), then its arguments",
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// The client's behaviour.

/// The client side of Engine.IO and Socket.IO, as a state machine driven by what the
/// connection receives (each message decoded by the incoming [`SocketIoStream`]).
#[derive(Clone, Debug)]
pub struct SocketIoClient {
    version: EngineVersion,
    /// The namespaces to join, each with its auth payload, and whether the server said
    /// it has joined.
    namespaces: Vec<(String, Option<Node>, bool)>,
    opened: bool,
    ping_interval: Option<Duration>,
    next_ack: u64,
}

/// What the client does about a message received.
#[derive(Debug, Default, PartialEq)]
pub struct Reaction {
    /// What to send now (each an automatic packet: show it as such).
    pub send: Vec<Outgoing>,
    /// Every namespace has been joined: sends waiting for that may go.
    pub ready: bool,
    /// Something the user should hear of (a refused namespace, the server closing).
    pub note: Option<String>,
}

impl SocketIoClient {
    /// A client on Engine.IO `version` that joins `namespaces` (each with an optional
    /// auth object) once the server's open packet comes; `/` when none is given.
    pub fn new(version: EngineVersion, namespaces: Vec<(String, Option<Node>)>) -> Self {
        let mut namespaces: Vec<(String, Option<Node>, bool)> =
            namespaces.into_iter().map(|(n, a)| (n, a, false)).collect();
        if namespaces.is_empty() {
            namespaces.push(("/".to_owned(), None, false));
        }
        Self {
            version,
            namespaces,
            opened: false,
            ping_interval: None,
            next_ack: 1,
        }
    }

    /// What to send as soon as the WebSocket is open: nothing (the server speaks first).
    pub fn on_open(&mut self) -> Vec<Outgoing> {
        Vec::new()
    }

    /// Whether every namespace is joined.
    pub fn is_ready(&self) -> bool {
        self.opened && self.namespaces.iter().all(|(_, _, joined)| *joined)
    }

    /// The first namespace, where events go by default.
    pub fn namespace(&self) -> &str {
        &self.namespaces[0].0
    }

    /// The Engine.IO version.
    pub fn version(&self) -> EngineVersion {
        self.version
    }

    /// The next ack id to ask for (1, 2, …).
    pub fn next_ack_id(&mut self) -> u64 {
        let id = self.next_ack;
        self.next_ack += 1;
        id
    }

    /// Engine.IO 3 only: how often this client must ping (the open packet's
    /// `pingInterval`); [`heartbeat`](Self::heartbeat) makes the ping.
    pub fn heartbeat_interval(&self) -> Option<Duration> {
        match self.version {
            EngineVersion::V3 => self.ping_interval,
            EngineVersion::V4 => None,
        }
    }

    /// Engine.IO 3's ping, sent every [`heartbeat_interval`](Self::heartbeat_interval).
    pub fn heartbeat(&self) -> Outgoing {
        Outgoing::Text("2".to_owned())
    }

    /// Reacts to a message received, as the incoming stream decoded it.
    pub fn on_received(&mut self, decoded: &Decoded) -> Reaction {
        let mut reaction = Reaction::default();
        let Some(packet) = &decoded.packet else {
            return reaction;
        };
        let was_ready = self.is_ready();
        match (packet.protocol, packet.kind) {
            (Protocol::EngineIo, "open") => {
                self.opened = true;
                if let Some(Node::Int(ms)) = decoded.value.get("pingInterval")
                    && let Ok(ms) = u64::try_from(*ms)
                {
                    self.ping_interval = Some(Duration::from_millis(ms));
                }
                for (namespace, auth, _) in &self.namespaces {
                    let connect = Outbound {
                        kind: SocketKind::Connect,
                        namespace: namespace.clone(),
                        id: None,
                        data: auth.clone(),
                    };
                    reaction.send.extend(connect.encode(self.version));
                }
            }
            (Protocol::EngineIo, "ping") if packet.heartbeat => {
                reaction.send.push(Outgoing::Text("3".to_owned()));
            }
            (Protocol::EngineIo, "ping") => {
                // `2probe`: the upgrade's probe, answered `3probe`.
                reaction.send.push(Outgoing::Text("3probe".to_owned()));
            }
            (Protocol::EngineIo, "close") => {
                reaction.note = Some("the server closed the Engine.IO session".to_owned());
            }
            (Protocol::SocketIo, "connect") => {
                let ns = packet.namespace.as_deref().unwrap_or("/");
                for (namespace, _, joined) in &mut self.namespaces {
                    if namespace == ns {
                        *joined = true;
                    }
                }
            }
            (Protocol::SocketIo, "connect_error") => {
                reaction.note = Some(format!(
                    "the server refused namespace {}: {}",
                    packet.namespace.as_deref().unwrap_or("/"),
                    decoded.value.text()
                ));
            }
            (Protocol::SocketIo, "disconnect") => {
                let ns = packet.namespace.as_deref().unwrap_or("/");
                reaction.note = Some(format!("the server disconnected namespace {ns}"));
            }
            _ => {}
        }
        reaction.ready = !was_ready && self.is_ready();
        reaction
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(stream: &mut SocketIoStream, t: &str) -> Decoded {
        stream
            .decode(Payload::Text(t))
            .unwrap_or_else(|e| panic!("{t}: {e}"))
    }

    #[test]
    fn engine_io_packets() {
        let mut s = SocketIoStream::new(EngineVersion::V4);
        let open = text(
            &mut s,
            r#"0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#,
        );
        let p = open.packet.as_ref().unwrap();
        assert_eq!(
            (p.protocol, p.kind, p.heartbeat),
            (Protocol::EngineIo, "open", false)
        );
        assert_eq!(open.value.get("sid").and_then(Node::as_str), Some("abc"));
        let ping = text(&mut s, "2");
        assert!(ping.packet.as_ref().unwrap().heartbeat);
        assert_eq!(ping.summary(80), "ping");
        let probe = text(&mut s, "2probe");
        assert!(!probe.packet.as_ref().unwrap().heartbeat);
        for (t, kind) in [
            ("1", "close"),
            ("3", "pong"),
            ("5", "upgrade"),
            ("6", "noop"),
        ] {
            assert_eq!(text(&mut s, t).packet.unwrap().kind, kind);
        }
    }

    #[test]
    fn socket_io_packets_with_namespaces_and_ids() {
        let mut s = SocketIoStream::new(EngineVersion::V4);
        let d = text(&mut s, r#"42/chat,17["message",{"text":"hi"},3]"#);
        let p = d.packet.as_ref().unwrap();
        assert_eq!(p.kind, "event");
        assert_eq!(p.namespace.as_deref(), Some("/chat"));
        assert_eq!(p.id.as_deref(), Some("17"));
        assert_eq!(p.name.as_deref(), Some("message"));
        assert_eq!(
            d.summary(200),
            r#"event /chat #17 ["message",{"text":"hi"},3]"#
        );
        let ack = text(&mut s, r#"43/chat,17["ok"]"#);
        assert_eq!(ack.packet.as_ref().unwrap().kind, "ack");
        assert_eq!(ack.packet.as_ref().unwrap().id.as_deref(), Some("17"));
        let connect = text(&mut s, r#"40{"sid":"x"}"#);
        assert_eq!(
            connect.packet.as_ref().unwrap().namespace.as_deref(),
            Some("/")
        );
        assert_eq!(connect.summary(80), r#"connect {"sid":"x"}"#);
        let err = text(&mut s, r#"44/admin,{"message":"Not authorized"}"#);
        assert_eq!(err.packet.unwrap().kind, "connect_error");
        assert_eq!(text(&mut s, "41/chat,").packet.unwrap().kind, "disconnect");
    }

    #[test]
    fn binary_attachments_join_their_placeholders() {
        let mut s = SocketIoStream::new(EngineVersion::V4);
        let head = text(
            &mut s,
            r#"452-/files,["upload",{"_placeholder":true,"num":0},{"x":{"_placeholder":true,"num":1}}]"#,
        );
        assert_eq!(head.packet.as_ref().unwrap().attachments, Some((0, 2)));
        let first = s.decode(Payload::Binary(&[1, 2])).unwrap();
        assert_eq!(first.packet.as_ref().unwrap().kind, "attachment");
        assert_eq!(first.packet.as_ref().unwrap().attachments, Some((1, 2)));
        let whole = s.decode(Payload::Binary(&[3])).unwrap();
        let p = whole.packet.as_ref().unwrap();
        assert_eq!((p.kind, p.attachments), ("binary_event", Some((2, 2))));
        assert_eq!(whole.value.text(), r#"["upload",h'0102',{"x":h'03'}]"#);
        assert_eq!(s.attachments_waiting(), None);
    }

    #[test]
    fn engine_io_3_binary_messages_start_with_4() {
        let mut s = SocketIoStream::new(EngineVersion::V3);
        text(&mut s, r#"451-["b",{"_placeholder":true,"num":0}]"#);
        let whole = s.decode(Payload::Binary(&[4, 9])).unwrap();
        assert_eq!(whole.value.text(), r#"["b",h'09']"#);
    }

    #[test]
    fn bad_type_bytes_are_errors_at_their_byte() {
        let mut s = SocketIoStream::new(EngineVersion::V4);
        let e = s.decode(Payload::Text("9hello")).unwrap_err();
        assert_eq!(e.offset, 0, "{e}");
        assert!(e.reason.contains("Engine.IO packet type"), "{e}");
        let e = s.decode(Payload::Text("47[\"x\"]")).unwrap_err();
        assert_eq!(e.offset, 1, "{e}");
        assert!(e.reason.contains("Socket.IO packet type"), "{e}");
        let e = s.decode(Payload::Text("42[\"x\",")).unwrap_err();
        assert_eq!(e.offset, 7, "the JSON cut short: {e}");
        let e = s.decode(Payload::Text("42{\"a\":1}")).unwrap_err();
        assert_eq!(e.offset, 2, "{e}");
        let e = s.decode(Payload::Text("451[\"x\"]")).unwrap_err();
        assert_eq!(e.offset, 2, "no '-' after the count: {e}");
        assert!(s.decode(Payload::Text("")).is_err());
    }

    #[test]
    fn events_encode_with_namespace_ack_and_attachments() {
        let plain = Outbound::event("/", "chat", vec![Node::string("hi")], None);
        assert_eq!(
            plain.encode(EngineVersion::V4),
            [Outgoing::Text(r#"42["chat","hi"]"#.into())]
        );
        let acked = event_from_json("/chat", "chat", r#"["hi", 2]"#, Some(5)).unwrap();
        assert_eq!(
            acked.encode(EngineVersion::V4),
            [Outgoing::Text(r#"42/chat,5["chat","hi",2]"#.into())]
        );
        let wire = event_from_wire_json("/", r#"/chat,["m",1]"#, None).unwrap();
        assert_eq!(wire.namespace, "/chat");
        let binary = Outbound::event("/", "up", vec![Node::Bytes(vec![7])], None);
        let out = binary.encode(EngineVersion::V4);
        assert_eq!(
            out,
            [
                Outgoing::Text(r#"451-["up",{"_placeholder":true,"num":0}]"#.into()),
                Outgoing::Binary(Bytes::from_static(&[7]))
            ]
        );
        // And the decoder puts it back together.
        let mut s = SocketIoStream::new(EngineVersion::V4);
        let Outgoing::Text(t) = &out[0] else { panic!() };
        text(&mut s, t);
        let whole = s.decode(Payload::Binary(&[7])).unwrap();
        assert_eq!(
            whole.value,
            Node::Array(vec![Node::string("up"), Node::Bytes(vec![7])])
        );
    }

    #[test]
    fn the_client_joins_on_open_and_answers_pings() {
        let mut client = SocketIoClient::new(
            EngineVersion::V4,
            vec![
                ("/".into(), None),
                (
                    "/chat".into(),
                    Some(Node::Map(vec![(Node::string("token"), Node::string("t"))])),
                ),
            ],
        );
        let mut s = SocketIoStream::new(EngineVersion::V4);
        assert!(client.on_open().is_empty());
        let open = text(
            &mut s,
            r#"0{"sid":"a","pingInterval":300,"pingTimeout":200}"#,
        );
        let r = client.on_received(&open);
        assert_eq!(
            r.send,
            [
                Outgoing::Text("40".into()),
                Outgoing::Text(r#"40/chat,{"token":"t"}"#.into())
            ]
        );
        assert!(!r.ready);
        assert!(!client.on_received(&text(&mut s, r#"40{"sid":"b"}"#)).ready);
        assert!(
            client
                .on_received(&text(&mut s, r#"40/chat,{"sid":"c"}"#))
                .ready
        );
        assert!(client.is_ready());
        assert_eq!(
            client.on_received(&text(&mut s, "2")).send,
            [Outgoing::Text("3".into())]
        );
        assert_eq!(client.heartbeat_interval(), None, "EIO 4: the server pings");
        let refused = client.on_received(&text(&mut s, r#"44/admin,{"message":"no"}"#));
        assert!(refused.note.unwrap().contains("/admin"));
    }

    #[test]
    fn an_engine_io_3_client_pings_on_its_interval() {
        let mut client = SocketIoClient::new(EngineVersion::V3, vec![]);
        let mut s = SocketIoStream::new(EngineVersion::V3);
        let r = client.on_received(&text(&mut s, r#"0{"sid":"a","pingInterval":25000}"#));
        assert_eq!(r.send, [Outgoing::Text("40".into())]);
        assert_eq!(client.heartbeat_interval(), Some(Duration::from_secs(25)));
        assert_eq!(client.heartbeat(), Outgoing::Text("2".into()));
        assert_eq!(
            EngineVersion::from_url("ws://h/socket.io/?EIO=3&transport=websocket"),
            Some(EngineVersion::V3)
        );
        assert_eq!(
            EngineVersion::from_url("ws://h/socket.io/?transport=websocket&EIO=4"),
            Some(EngineVersion::V4)
        );
        assert_eq!(EngineVersion::from_url("ws://h/"), None);
    }
}
