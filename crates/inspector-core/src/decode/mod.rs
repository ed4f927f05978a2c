//! Payload decoders: what a message's bytes mean, as a tree a view can show, a line a log
//! can preview and filter, and — for the protocols apps speak over WebSocket — a packet type
//! and an id that link a request to its responses.
//!
//! - [`Decoder`]: the choice a profile stores (serde): [`Json`](Decoder::Json),
//!   [`MessagePack`](Decoder::MessagePack), [`Cbor`](Decoder::Cbor),
//!   [`Protobuf`](Decoder::Protobuf) (a `.proto` file with import folders, or a compiled
//!   descriptor set, and a message type), [`SocketIo`](Decoder::SocketIo) (Engine.IO 4/3 and
//!   Socket.IO 5), [`GraphqlWs`](Decoder::GraphqlWs) (both GraphQL-over-WebSocket
//!   protocols, told apart by the subprotocol agreed); one per direction
//!   ([`DirectionalDecoders`]); [`detect`] picks one from the handshake.
//! - [`Decoder::load`] reads the schema once ([`Codec`]); [`Codec::stream`] makes one
//!   direction's decoder ([`Stream`]: Socket.IO's binary attachments need the messages
//!   before them), whose [`Stream::decode`] gives a [`Decoded`] — a [`Node`] tree and, for a
//!   protocol, its [`Packet`] — or a [`DecodeError`] at a byte; [`Stream::view`] keeps the
//!   raw bytes beside the error.
//! - Sending: [`Codec::encode_json`] (a JSON text as MessagePack, CBOR or the protobuf type),
//!   [`socketio::Outbound`] (events by name and arguments, with a namespace and an ack id),
//!   [`graphql::subscribe`]; and the protocols' client behaviour as state machines with no
//!   I/O ([`Client`]: what to send on open, the answer to an application ping, when the
//!   namespaces are joined or the connection acknowledged).
//!
//! Decoding is meant to be done when asked, not on ingest: a log keeps the raw payloads and
//! decodes the rows it shows (and, for a filter, caches [`Decoded::text`]).
//! `examples/decode_bench.rs` measures decode + summary of 1 KiB MessagePack messages at
//! about 370,000 messages/s on one core of the 2-core test machine (decode alone 740,000/s):
//! above the log's 200,000 frames/s ingest target, but eager decoding would take more than
//! half of the time ingest has per frame at that rate, hence lazily.
//!
//! The formats' modules: [`json`], [`msgpack`], [`cbor`], [`protobuf`], [`socketio`],
//! [`graphql`]; the tree: [`node`]; the errors: [`error`].

pub mod cbor;
pub mod error;
pub mod graphql;
pub mod json;
pub mod msgpack;
pub mod node;
pub mod protobuf;
pub mod socketio;
pub mod speaker;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use ws_tokio::Outgoing;
use ws_tokio::ws_proto::Direction;
use ws_tokio::ws_proto::bytes::Bytes;

pub use error::{DecodeError, EncodeError, LoadError};
pub use node::{Label, Node, SUMMARY_LEN};

/// How a connection's payloads are decoded (a profile's choice).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Decoder {
    /// JSON text (or binary that is UTF-8 JSON).
    Json,
    /// MessagePack.
    MessagePack,
    /// CBOR (RFC 8949).
    Cbor,
    /// Protobuf messages of one type.
    Protobuf {
        /// Where the schema comes from.
        source: ProtoSource,
        /// The message type, by its full name (`package.Message`).
        message_type: String,
    },
    /// Engine.IO 4 (or 3, from the URL's `EIO=`) with Socket.IO packets.
    SocketIo,
    /// GraphQL over WebSocket: `graphql-transport-ws`, or the older
    /// subscriptions-transport-ws when the subprotocol agreed is `graphql-ws`.
    GraphqlWs,
}

/// Where a protobuf schema comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProtoSource {
    /// A `.proto` file, compiled when the decoder is loaded; its imports are looked up in
    /// `imports` (in order), then in the file's own folder.
    Proto {
        /// The file.
        file: PathBuf,
        /// The folders its imports are resolved from.
        #[serde(default)]
        imports: Vec<PathBuf>,
    },
    /// A compiled descriptor set (`protoc --include_imports --descriptor_set_out=FILE`).
    DescriptorSet {
        /// The file.
        file: PathBuf,
    },
}

/// A decoder per direction (either may be none: shown as today).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectionalDecoders {
    /// For messages received.
    #[serde(default)]
    pub incoming: Option<Decoder>,
    /// For messages sent.
    #[serde(default)]
    pub outgoing: Option<Decoder>,
}

impl DirectionalDecoders {
    /// The same decoder both ways.
    pub fn both(decoder: Decoder) -> Self {
        Self {
            incoming: Some(decoder.clone()),
            outgoing: Some(decoder),
        }
    }

    /// The decoder of `direction`.
    pub fn of(&self, direction: Direction) -> Option<&Decoder> {
        match direction {
            Direction::Incoming => self.incoming.as_ref(),
            Direction::Outgoing => self.outgoing.as_ref(),
        }
    }
}

/// The decoder the handshake says: `Sec-WebSocket-Protocol: graphql-transport-ws` or
/// `graphql-ws` (the subprotocol agreed, or offered before the answer), or Engine.IO's
/// `EIO=4` (or `3`) query parameter in the URL.
pub fn detect(protocol: Option<&str>, url: &str) -> Option<Decoder> {
    if let Some("graphql-transport-ws" | "graphql-ws") = protocol.map(str::trim) {
        return Some(Decoder::GraphqlWs);
    }
    socketio::EngineVersion::from_url(url).map(|_| Decoder::SocketIo)
}

impl Decoder {
    /// The command-line spelling: `json`, `msgpack` (or `messagepack`), `cbor`,
    /// `protobuf:FILE:TYPE` (a `.proto` file, or any other file as a compiled descriptor
    /// set), `socketio` (or `socket.io`), `graphql-ws`.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let lower = spec.to_ascii_lowercase();
        Ok(match lower.as_str() {
            "json" => Self::Json,
            "msgpack" | "messagepack" => Self::MessagePack,
            "cbor" => Self::Cbor,
            "socketio" | "socket.io" => Self::SocketIo,
            "graphql-ws" | "graphql" | "graphql-transport-ws" => Self::GraphqlWs,
            _ if lower.starts_with("protobuf:") || lower.starts_with("proto:") => {
                let rest = spec.split_once(':').map_or("", |(_, r)| r);
                let Some((file, message_type)) = rest.rsplit_once(':') else {
                    return Err(format!(
                        "{spec:?}: give protobuf:FILE.proto:TYPE (the message type after the last ':')"
                    ));
                };
                if file.is_empty() || message_type.is_empty() {
                    return Err(format!("{spec:?}: give protobuf:FILE.proto:TYPE"));
                }
                let file = PathBuf::from(file);
                let source = match file.extension().and_then(|e| e.to_str()) {
                    Some("proto") => ProtoSource::Proto {
                        file,
                        imports: Vec::new(),
                    },
                    _ => ProtoSource::DescriptorSet { file },
                };
                Self::Protobuf {
                    source,
                    message_type: message_type.to_owned(),
                }
            }
            _ => {
                return Err(format!(
                    "{spec:?} is not a decoder: json, msgpack, cbor, protobuf:FILE.proto:TYPE, socketio or graphql-ws"
                ));
            }
        })
    }

    /// A short name: `json`, `msgpack`, `cbor`, `protobuf`, `socketio`, `graphql-ws`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::MessagePack => "msgpack",
            Self::Cbor => "cbor",
            Self::Protobuf { .. } => "protobuf",
            Self::SocketIo => "socketio",
            Self::GraphqlWs => "graphql-ws",
        }
    }

    /// Whether this is a protocol (with packets, ids and client behaviour), not a format.
    pub fn is_protocol(&self) -> bool {
        matches!(self, Self::SocketIo | Self::GraphqlWs)
    }

    /// Loads what the decoder needs (compiles the `.proto`, reads the descriptor set).
    pub fn load(&self) -> Result<Codec, LoadError> {
        let kind = match self {
            Self::Json => CodecKind::Json,
            Self::MessagePack => CodecKind::MessagePack,
            Self::Cbor => CodecKind::Cbor,
            Self::Protobuf {
                source,
                message_type,
            } => CodecKind::Protobuf(protobuf::ProtoType::load(source, message_type)?),
            Self::SocketIo => CodecKind::SocketIo,
            Self::GraphqlWs => CodecKind::GraphqlWs,
        };
        Ok(Codec { kind })
    }
}

/// A loaded decoder (cheap to clone), to make each direction's [`Stream`] from.
#[derive(Clone, Debug)]
pub struct Codec {
    kind: CodecKind,
}

#[derive(Clone, Debug)]
enum CodecKind {
    Json,
    MessagePack,
    Cbor,
    Protobuf(protobuf::ProtoType),
    SocketIo,
    GraphqlWs,
}

/// What a stream needs to know of its connection.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// The subprotocol agreed.
    pub protocol: Option<String>,
    /// The URL connected to (Engine.IO's version is in its query).
    pub url: String,
}

impl Codec {
    /// One direction's decoder.
    pub fn stream(&self, context: &Context) -> Stream {
        let state = match &self.kind {
            CodecKind::Json => State::Json,
            CodecKind::MessagePack => State::MessagePack,
            CodecKind::Cbor => State::Cbor,
            CodecKind::Protobuf(ty) => State::Protobuf(ty.clone()),
            CodecKind::SocketIo => State::SocketIo(socketio::SocketIoStream::new(
                socketio::EngineVersion::from_url(&context.url).unwrap_or_default(),
            )),
            CodecKind::GraphqlWs => {
                State::Graphql(graphql::Flavour::from_protocol(context.protocol.as_deref()))
            }
        };
        Stream { state }
    }

    /// The client's behaviour for a protocol (none for a format).
    pub fn client(&self, context: &Context, options: ClientOptions) -> Option<Client> {
        match &self.kind {
            CodecKind::SocketIo => Some(Client::SocketIo(socketio::SocketIoClient::new(
                socketio::EngineVersion::from_url(&context.url).unwrap_or_default(),
                options.namespaces,
            ))),
            CodecKind::GraphqlWs => Some(Client::Graphql(graphql::GraphqlClient::new(
                graphql::Flavour::from_protocol(context.protocol.as_deref()),
                options.init_payload,
            ))),
            _ => None,
        }
    }

    /// A JSON text as the message to send: MessagePack, CBOR or protobuf bytes as a binary
    /// message; JSON checked and sent as text. A protocol's messages are made with
    /// [`socketio::Outbound`] or [`graphql::subscribe`] (or [`Client::encode_text`]).
    pub fn encode_json(&self, text: &str) -> Result<Outgoing, EncodeError> {
        match &self.kind {
            CodecKind::Json => {
                json::decode(text).map_err(|e| EncodeError::new(format!("not JSON: {e}")))?;
                Ok(Outgoing::Text(text.to_owned()))
            }
            CodecKind::MessagePack => Ok(Outgoing::Binary(msgpack::encode_json(text)?.into())),
            CodecKind::Cbor => Ok(Outgoing::Binary(cbor::encode_json(text)?.into())),
            CodecKind::Protobuf(ty) => Ok(Outgoing::Binary(ty.encode_json(text)?.into())),
            CodecKind::SocketIo | CodecKind::GraphqlWs => Err(EncodeError::new(
                "a protocol's messages are made by its client (an event, a subscribe)",
            )),
        }
    }
}

/// A message's payload, as the decoder is given it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Payload<'a> {
    /// A text message.
    Text(&'a str),
    /// A binary message.
    Binary(&'a [u8]),
}

impl Payload<'_> {
    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Self::Text(t) => t.as_bytes(),
            Self::Binary(b) => b,
        }
    }
}

/// One direction's decoder: the messages of that direction, in order.
#[derive(Clone, Debug)]
pub struct Stream {
    state: State,
}

#[derive(Clone, Debug)]
enum State {
    Json,
    MessagePack,
    Cbor,
    Protobuf(protobuf::ProtoType),
    SocketIo(socketio::SocketIoStream),
    Graphql(graphql::Flavour),
}

impl Stream {
    /// Decodes the next message.
    pub fn decode(&mut self, payload: Payload<'_>) -> Result<Decoded, DecodeError> {
        let value = match &mut self.state {
            State::Json => match payload {
                Payload::Text(t) => json::decode(t)?,
                Payload::Binary(b) => {
                    let text = std::str::from_utf8(b)
                        .map_err(|e| DecodeError::new(e.valid_up_to(), "not UTF-8, so not JSON"))?;
                    json::decode(text)?
                }
            },
            State::MessagePack => msgpack::decode(payload.bytes())?,
            State::Cbor => cbor::decode(payload.bytes())?,
            State::Protobuf(ty) => ty.decode(payload.bytes())?,
            State::SocketIo(stream) => return stream.decode(payload),
            State::Graphql(flavour) => return graphql::decode(*flavour, payload),
        };
        Ok(Decoded {
            value,
            packet: None,
        })
    }

    /// [`decode`](Self::decode), keeping the raw bytes beside the error when it fails.
    pub fn view(&mut self, payload: Payload<'_>, raw: Bytes) -> View {
        match self.decode(payload) {
            Ok(decoded) => View::Decoded(decoded),
            Err(error) => View::Raw { error, raw },
        }
    }
}

/// What a view shows of a message.
#[derive(Clone, Debug, PartialEq)]
pub enum View {
    /// The decoded value.
    Decoded(Decoded),
    /// The payload did not decode: its bytes as they are, and why.
    Raw {
        /// Where and why decoding failed.
        error: DecodeError,
        /// The payload.
        raw: Bytes,
    },
}

/// A decoded message: its value and, for a protocol, its packet.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded {
    /// The value: a format's whole payload; a protocol packet's data (a Socket.IO event's
    /// `[name, args…]` with attachments in place, a GraphQL message's `payload`, with the
    /// query pretty-printed).
    pub value: Node,
    /// The protocol packet, for Socket.IO and GraphQL.
    pub packet: Option<Packet>,
}

impl Decoded {
    /// One line of at most `max_chars` characters for a log preview: a packet's type, its
    /// namespace (Socket.IO, when not `/`), `#id`, then the value's
    /// [`summary`](Node::summary) — `event /chat #3 ["message","hi"]`, `next #1
    /// {"data":{"count":1}}`, `ping`.
    pub fn summary(&self, max_chars: usize) -> String {
        let Some(packet) = &self.packet else {
            return self.value.summary(max_chars);
        };
        let mut line = packet.kind.to_owned();
        if let Some(ns) = packet.namespace.as_deref().filter(|ns| *ns != "/") {
            line.push(' ');
            line.push_str(ns);
        }
        if let Some(id) = &packet.id {
            line.push_str(" #");
            line.push_str(id);
        }
        if let Some((got, of)) = packet.attachments
            && got < of
        {
            line.push_str(&format!(" (attachment {got} of {of})"));
        }
        let used = line.chars().count();
        if self.value != Node::Null && used + 1 < max_chars {
            line.push(' ');
            line.push_str(&self.value.summary(max_chars - used - 1));
        } else if used > max_chars {
            line = line.chars().take(max_chars.saturating_sub(1)).collect();
            line.push('…');
        }
        line
    }

    /// The whole line of [`summary`](Self::summary), never cut: what a filter searches.
    pub fn text(&self) -> String {
        self.summary(usize::MAX)
    }

    /// Whether this is an application heartbeat (Engine.IO ping/pong, graphql-transport-ws
    /// ping/pong, subscriptions-transport-ws `ka`), which a log may fold.
    pub fn is_heartbeat(&self) -> bool {
        self.packet.as_ref().is_some_and(|p| p.heartbeat)
    }
}

/// Which protocol a packet belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// Engine.IO's own packets (open, ping, …).
    EngineIo,
    /// A Socket.IO packet inside an Engine.IO message.
    SocketIo,
    /// `graphql-transport-ws`.
    GraphqlTransportWs,
    /// `graphql-ws` (subscriptions-transport-ws).
    SubscriptionsTransportWs,
}

impl Protocol {
    /// `engine.io`, `socket.io`, `graphql-transport-ws` or `graphql-ws`.
    pub fn name(self) -> &'static str {
        match self {
            Self::EngineIo => "engine.io",
            Self::SocketIo => "socket.io",
            Self::GraphqlTransportWs => "graphql-transport-ws",
            Self::SubscriptionsTransportWs => "graphql-ws",
        }
    }
}

/// A protocol packet's facts, for the log's columns and links.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    /// The protocol.
    pub protocol: Protocol,
    /// The packet type (`open`, `ping`, `event`, `ack`, `binary_event`, `attachment`,
    /// `subscribe`, `next`, `ka`, …): the log's type column.
    pub kind: &'static str,
    /// The id that links a request to its responses: Socket.IO's ack id, GraphQL's
    /// operation id.
    pub id: Option<String>,
    /// Socket.IO's namespace (`/` is the main one).
    pub namespace: Option<String>,
    /// A Socket.IO event's name, a GraphQL operation's `operationName`.
    pub name: Option<String>,
    /// An application heartbeat (a log may fold these).
    pub heartbeat: bool,
    /// A Socket.IO binary packet's attachments: (received, expected).
    pub attachments: Option<(usize, usize)>,
}

impl Packet {
    fn new(protocol: Protocol, kind: &'static str) -> Self {
        Self {
            protocol,
            kind,
            id: None,
            namespace: None,
            name: None,
            heartbeat: false,
            attachments: None,
        }
    }
}

/// How a protocol client starts.
#[derive(Clone, Debug, Default)]
pub struct ClientOptions {
    /// Socket.IO: the namespaces to join, each with an optional auth object (`/` if none).
    pub namespaces: Vec<(String, Option<Node>)>,
    /// GraphQL: the `connection_init` payload.
    pub init_payload: Option<Node>,
}

/// A protocol's client behaviour, driven by the messages received: no I/O, no clock (the
/// caller sends what it returns, and calls [`heartbeat`](Self::heartbeat) on its
/// [`heartbeat_interval`](Self::heartbeat_interval)).
#[derive(Clone, Debug)]
pub enum Client {
    /// Engine.IO / Socket.IO.
    SocketIo(socketio::SocketIoClient),
    /// GraphQL over WebSocket.
    Graphql(graphql::GraphqlClient),
}

pub use socketio::Reaction;

impl Client {
    /// What to send once the WebSocket is open (graphql: `connection_init`; Socket.IO:
    /// nothing, the server's open packet comes first).
    pub fn on_open(&mut self) -> Vec<Outgoing> {
        match self {
            Self::SocketIo(c) => c.on_open(),
            Self::Graphql(c) => c.on_open(),
        }
    }

    /// Reacts to a message received (decoded by the incoming [`Stream`]).
    pub fn on_received(&mut self, decoded: &Decoded) -> Reaction {
        match self {
            Self::SocketIo(c) => c.on_received(decoded),
            Self::Graphql(c) => c.on_received(decoded),
        }
    }

    /// Whether the protocol is ready for the application's messages (namespaces joined,
    /// connection acknowledged).
    pub fn is_ready(&self) -> bool {
        match self {
            Self::SocketIo(c) => c.is_ready(),
            Self::Graphql(c) => c.is_ready(),
        }
    }

    /// How often the client must send a heartbeat of its own (Engine.IO 3 only).
    pub fn heartbeat_interval(&self) -> Option<std::time::Duration> {
        match self {
            Self::SocketIo(c) => c.heartbeat_interval(),
            Self::Graphql(_) => None,
        }
    }

    /// The heartbeat to send on [`heartbeat_interval`](Self::heartbeat_interval).
    pub fn heartbeat(&self) -> Option<Outgoing> {
        match self {
            Self::SocketIo(c) => Some(c.heartbeat()),
            Self::Graphql(_) => None,
        }
    }

    /// A line of text as the protocol's message(s): Socket.IO, an event written as its
    /// data array `["name", args…]` (optionally `/namespace,` first; on the first
    /// namespace otherwise), asking for an ack when `ack` (the next id); GraphQL, a
    /// subscribe of a query, or of a `{"query", "variables", "operationName"}` object, with
    /// the next id.
    pub fn encode_text(&mut self, text: &str, ack: bool) -> Result<Vec<Outgoing>, EncodeError> {
        match self {
            Self::SocketIo(c) => {
                let id = ack.then(|| c.next_ack_id());
                let event = socketio::event_from_wire_json(c.namespace(), text, id)?;
                Ok(event.encode(c.version()))
            }
            Self::Graphql(c) => {
                let id = c.next_id();
                Ok(vec![graphql::subscribe_from_text(c.flavour(), &id, text)?])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_from_the_handshake() {
        assert_eq!(
            detect(Some("graphql-transport-ws"), "ws://h/graphql"),
            Some(Decoder::GraphqlWs)
        );
        assert_eq!(
            detect(Some("graphql-ws"), "ws://h/"),
            Some(Decoder::GraphqlWs)
        );
        assert_eq!(
            detect(None, "ws://h/socket.io/?EIO=4&transport=websocket"),
            Some(Decoder::SocketIo)
        );
        assert_eq!(
            detect(None, "ws://h/socket.io/?EIO=3"),
            Some(Decoder::SocketIo)
        );
        assert_eq!(detect(Some("chat"), "ws://h/?x=EIO=4"), None);
    }

    #[test]
    fn command_line_spellings() {
        assert_eq!(Decoder::parse("msgpack").unwrap(), Decoder::MessagePack);
        assert_eq!(Decoder::parse("CBOR").unwrap(), Decoder::Cbor);
        assert_eq!(Decoder::parse("socketio").unwrap(), Decoder::SocketIo);
        assert_eq!(Decoder::parse("graphql-ws").unwrap(), Decoder::GraphqlWs);
        assert_eq!(
            Decoder::parse("protobuf:dir/chat.proto:chat.Message").unwrap(),
            Decoder::Protobuf {
                source: ProtoSource::Proto {
                    file: "dir/chat.proto".into(),
                    imports: vec![]
                },
                message_type: "chat.Message".into()
            }
        );
        assert!(matches!(
            Decoder::parse("protobuf:set.pb:a.B").unwrap(),
            Decoder::Protobuf {
                source: ProtoSource::DescriptorSet { .. },
                ..
            }
        ));
        assert!(Decoder::parse("protobuf:chat.proto").is_err());
        assert!(Decoder::parse("xml").is_err());
    }

    #[test]
    fn profiles_store_the_choice_per_direction() {
        let choice = DirectionalDecoders {
            incoming: Some(Decoder::Protobuf {
                source: ProtoSource::Proto {
                    file: "chat.proto".into(),
                    imports: vec!["include".into()],
                },
                message_type: "chat.Reply".into(),
            }),
            outgoing: Some(Decoder::MessagePack),
        };
        let text = ron::to_string(&choice).unwrap();
        assert_eq!(ron::from_str::<DirectionalDecoders>(&text).unwrap(), choice);
        let json = serde_json::to_string(&choice).unwrap();
        assert_eq!(
            serde_json::from_str::<DirectionalDecoders>(&json).unwrap(),
            choice
        );
        assert_eq!(choice.of(Direction::Outgoing), Some(&Decoder::MessagePack));
    }

    #[test]
    fn streams_decode_and_keep_the_raw_bytes_on_failure() {
        let codec = Decoder::MessagePack.load().unwrap();
        let mut stream = codec.stream(&Context::default());
        let ok = stream
            .decode(Payload::Binary(&[0x81, 0xa1, b'a', 0x01]))
            .unwrap();
        assert_eq!(ok.summary(80), r#"{"a":1}"#);
        let raw = Bytes::from_static(&[0x81, 0xa1]);
        match stream.view(Payload::Binary(&raw), raw.clone()) {
            View::Raw { error, raw: kept } => {
                assert_eq!(kept, raw);
                assert_eq!(error.offset, 1);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            codec.encode_json(r#"{"a":1}"#).unwrap(),
            Outgoing::Binary(Bytes::from_static(&[0x81, 0xa1, b'a', 0x01]))
        );
        let json = Decoder::Json.load().unwrap();
        assert!(
            json.stream(&Context::default())
                .decode(Payload::Text("{"))
                .is_err()
        );
    }

    #[test]
    fn clients_encode_lines_for_their_protocol() {
        let context = Context {
            protocol: None,
            url: "ws://h/socket.io/?EIO=4&transport=websocket".into(),
        };
        let mut client = Decoder::SocketIo
            .load()
            .unwrap()
            .client(&context, ClientOptions::default())
            .unwrap();
        assert_eq!(
            client.encode_text(r#"["chat","hi"]"#, true).unwrap(),
            [Outgoing::Text(r#"421["chat","hi"]"#.into())]
        );
        let mut graphql = Decoder::GraphqlWs
            .load()
            .unwrap()
            .client(&context, ClientOptions::default())
            .unwrap();
        assert_eq!(
            graphql.encode_text("{ a }", false).unwrap(),
            [Outgoing::Text(
                r#"{"type":"subscribe","id":"1","payload":{"query":"{ a }"}}"#.into()
            )]
        );
    }
}
