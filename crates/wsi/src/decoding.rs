//! `wsi connect --decode FORMAT`: the core's payload decoders (`ws_inspector_core::decode`)
//! on a client connection.
//!
//! - [`DecodePlan`]: the decode flags checked and loaded before connecting (a `.proto` with a
//!   mistake is a usage error naming its file, line and column), the URL and subprotocols a
//!   protocol needs, and what is sent (`--encode`);
//! - [`stdout_line`]: how a decoded message is printed;
//! - [`Annotator`]: the `decoded` field of `--jsonl` lines. It runs on the tap's thread, from
//!   the frames both ways (reassembled, and inflated again for a compressed message), so it
//!   decodes sent messages too and costs the connection nothing. The field goes on the line
//!   of the frame that ends a text or binary message (docs/capture-format.md, "Decoded
//!   payloads"): a field the capture's readers ignore, so a capture with it reads as any
//!   other.

use std::collections::HashMap;
use std::time::Duration;

use flate2::{Decompress, FlushDecompress, Status};
use serde::Serialize;
use ws_inspector_core::decode::{
    Client, ClientOptions, Codec, Context, DecodeError, Decoded, Decoder, Node, Payload,
    ProtoSource, SUMMARY_LEN, Stream,
};
use ws_tokio::Outgoing;
use ws_tokio::tap::{TapEvent, TapKind};
use ws_tokio::ws_proto::deflate::SYNC_TAIL;
use ws_tokio::ws_proto::{Direction, Fragment, Frame, MessageKind};

use crate::args::DecodeArgs;
use crate::exit::Failure;

/// The most a compressed message is inflated to for its `decoded` field.
const MAX_INFLATED: usize = 64 << 20;

/// The decode flags, checked and loaded.
#[derive(Clone, Debug)]
pub struct DecodePlan {
    /// The decoder of received messages.
    pub incoming: Decoder,
    /// The decoder of sent messages.
    pub outgoing: Decoder,
    /// Its loaded form.
    pub incoming_codec: Codec,
    /// The decoder of sent messages (`--decode-sent`, else `--decode`'s).
    pub outgoing_codec: Codec,
    /// `--encode`: --send texts and stdin lines are JSON (or an event, a query) to encode.
    pub encode: bool,
    /// `--ack`: Socket.IO events encoded ask for an ack.
    pub ack: bool,
    /// Speak the protocol (not `--no-auto-protocol`).
    pub auto_protocol: bool,
    /// The Socket.IO namespaces and auth, the GraphQL `connection_init` payload.
    pub client_options: ClientOptions,
}

impl DecodePlan {
    /// The plan of these flags, or `None` without `--decode`.
    pub fn from_args(args: &DecodeArgs) -> Result<Option<Self>, Failure> {
        let Some(spec) = args.decode.as_deref() else {
            for (given, flag) in [
                (args.decode_sent.is_some(), "--decode-sent"),
                (args.encode, "--encode"),
                (!args.namespaces.is_empty(), "--namespace"),
                (args.init_payload.is_some(), "--init-payload"),
                (!args.proto_imports.is_empty(), "--proto-import"),
            ] {
                if given {
                    return Err(Failure::usage(format!("{flag} needs --decode")));
                }
            }
            return Ok(None);
        };
        let incoming = parse(spec, &args.proto_imports, "--decode")?;
        let outgoing = match args.decode_sent.as_deref() {
            Some(spec) => parse(spec, &args.proto_imports, "--decode-sent")?,
            None => incoming.clone(),
        };
        let incoming_codec = load(&incoming, "--decode")?;
        let outgoing_codec = if args.decode_sent.is_some() {
            load(&outgoing, "--decode-sent")?
        } else {
            incoming_codec.clone()
        };
        let init = args
            .init_payload
            .as_deref()
            .map(|text| {
                ws_inspector_core::decode::json::decode(text)
                    .map_err(|e| Failure::usage(format!("--init-payload {text:?}: not JSON: {e}")))
            })
            .transpose()?;
        if !args.namespaces.is_empty() && incoming != Decoder::SocketIo {
            return Err(Failure::usage("--namespace is for --decode socketio"));
        }
        if args.ack && !(args.encode && incoming == Decoder::SocketIo) {
            return Err(Failure::usage(
                "--ack is for --decode socketio with --encode",
            ));
        }
        let mut namespaces = Vec::new();
        for ns in &args.namespaces {
            if !ns.starts_with('/') {
                return Err(Failure::usage(format!(
                    "--namespace {ns:?}: a namespace starts with '/'"
                )));
            }
            namespaces.push((ns.clone(), init.clone()));
        }
        if namespaces.is_empty() && init.is_some() && incoming == Decoder::SocketIo {
            namespaces.push(("/".to_owned(), init.clone()));
        }
        Ok(Some(Self {
            incoming,
            outgoing,
            incoming_codec,
            outgoing_codec,
            encode: args.encode,
            ack: args.ack,
            auto_protocol: !args.no_auto_protocol,
            client_options: ClientOptions {
                namespaces,
                init_payload: init,
            },
        }))
    }

    /// Whether the decoder is a protocol wsi can speak.
    pub fn is_protocol(&self) -> bool {
        self.incoming.is_protocol()
    }

    /// The URL to connect to: for Socket.IO, Engine.IO's `/socket.io/` path (when the URL
    /// has no path) and `EIO=4&transport=websocket` (when the query has no `EIO=`) added.
    /// Says so on stderr when it changes anything.
    pub fn url(&self, url: &str) -> String {
        if self.incoming != Decoder::SocketIo || url.contains("EIO=") {
            return url.to_owned();
        }
        let Ok(mut parsed) = url::Url::parse(url) else {
            return url.to_owned(); // client_options reports the bad URL
        };
        if parsed.path() == "/" || parsed.path().is_empty() {
            parsed.set_path("/socket.io/");
        }
        let query = match parsed.query() {
            Some(q) if !q.is_empty() => format!("{q}&EIO=4&transport=websocket"),
            _ => "EIO=4&transport=websocket".to_owned(),
        };
        parsed.set_query(Some(&query));
        let changed = parsed.to_string();
        eprintln!("wsi: --decode socketio: connecting to {changed}");
        changed
    }

    /// The subprotocols to offer when none is given: GraphQL's two.
    pub fn default_protocols(&self) -> Vec<String> {
        match self.incoming {
            Decoder::GraphqlWs => vec!["graphql-transport-ws".to_owned(), "graphql-ws".to_owned()],
            _ => Vec::new(),
        }
    }
}

fn parse(spec: &str, imports: &[std::path::PathBuf], flag: &str) -> Result<Decoder, Failure> {
    let mut decoder = Decoder::parse(spec).map_err(|e| Failure::usage(format!("{flag}: {e}")))?;
    if let Decoder::Protobuf {
        source: ProtoSource::Proto { imports: dirs, .. },
        ..
    } = &mut decoder
    {
        dirs.extend(imports.iter().cloned());
    }
    Ok(decoder)
}

fn load(decoder: &Decoder, flag: &str) -> Result<Codec, Failure> {
    decoder
        .load()
        .map_err(|e| Failure::usage(format!("{flag} {}: {e}", decoder.name())))
}

/// What stdout shows of a decoded message: a format's value as JSON on one line (for `jq`);
/// a protocol packet's line (`event /chat #3 ["message","hi"]`).
pub fn stdout_line(decoded: &Decoded) -> String {
    match decoded.packet {
        None => decoded.value.to_json(),
        Some(_) => decoded.text(),
    }
}

/// The `decoded` field of a JSON line.
#[derive(Debug, Serialize)]
struct DecodedField<'a> {
    decoder: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    packet: Option<PacketField<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<&'a Node>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorField<'a>>,
}

#[derive(Debug, Serialize)]
struct PacketField<'a> {
    protocol: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    heartbeat: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    attachments: Option<[usize; 2]>,
}

#[derive(Debug, Serialize)]
struct ErrorField<'a> {
    offset: usize,
    reason: &'a str,
}

/// The `decoded` field's JSON for a message's outcome.
pub fn decoded_json(decoder: &'static str, outcome: &Result<Decoded, DecodeError>) -> String {
    let field = match outcome {
        Ok(decoded) => DecodedField {
            decoder,
            packet: decoded.packet.as_ref().map(|p| PacketField {
                protocol: p.protocol.name(),
                kind: p.kind,
                id: p.id.as_deref(),
                namespace: p.namespace.as_deref(),
                name: p.name.as_deref(),
                heartbeat: p.heartbeat,
                attachments: p.attachments.map(|(a, b)| [a, b]),
            }),
            summary: Some(decoded.summary(SUMMARY_LEN)),
            value: Some(&decoded.value),
            error: None,
        },
        Err(e) => DecodedField {
            decoder,
            packet: None,
            summary: None,
            value: None,
            error: Some(ErrorField {
                offset: e.offset,
                reason: &e.reason,
            }),
        },
    };
    // A struct of strings, numbers and a Node: serializing cannot fail.
    serde_json::to_string(&field).unwrap_or_default()
}

/// A message decoded from the tap's frames.
#[derive(Debug)]
pub struct Annotation {
    /// The `decoded` field's JSON.
    pub json: String,
    /// Its summary line (or the error), for `-v`.
    pub summary: String,
}

/// Decodes the messages a tap reports, both ways, for the `decoded` field of JSON lines.
pub struct Annotator {
    incoming: Codec,
    outgoing: Codec,
    incoming_name: &'static str,
    outgoing_name: &'static str,
    /// Each connection's state (one, or one per `--reconnect` attempt).
    conns: HashMap<Option<u64>, ConnState>,
}

impl std::fmt::Debug for Annotator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Annotator")
            .field("incoming", &self.incoming_name)
            .field("outgoing", &self.outgoing_name)
            .finish()
    }
}

/// One direction of one connection.
#[derive(Default)]
struct Side {
    stream: Option<Stream>,
    /// The message being reassembled: its bytes (as on the wire) and whether compressed.
    partial: Vec<u8>,
    compressed: bool,
    /// The direction's inflater, its window kept from message to message.
    inflater: Option<Decompress>,
}

#[derive(Default)]
struct ConnState {
    incoming: Side,
    outgoing: Side,
}

impl Annotator {
    /// An annotator for `plan`'s decoders.
    pub fn new(plan: &DecodePlan) -> Self {
        Self {
            incoming: plan.incoming_codec.clone(),
            outgoing: plan.outgoing_codec.clone(),
            incoming_name: plan.incoming.name(),
            outgoing_name: plan.outgoing.name(),
            conns: HashMap::new(),
        }
    }

    /// The decoded message `event` ends (a text or binary message's last frame).
    pub fn on_event(&mut self, conn: Option<u64>, event: &TapEvent) -> Option<Annotation> {
        match &event.kind {
            TapKind::Opened(info) => {
                let context = Context {
                    protocol: info.protocol.clone(),
                    url: info.request.uri().to_string(),
                };
                let state = ConnState {
                    incoming: Side {
                        stream: Some(self.incoming.stream(&context)),
                        ..Side::default()
                    },
                    outgoing: Side {
                        stream: Some(self.outgoing.stream(&context)),
                        ..Side::default()
                    },
                };
                self.conns.insert(conn, state);
                None
            }
            TapKind::Frame(frame) => {
                let state = self.conns.get_mut(&conn)?;
                let (side, name) = match frame.direction {
                    Direction::Incoming => (&mut state.incoming, self.incoming_name),
                    Direction::Outgoing => (&mut state.outgoing, self.outgoing_name),
                };
                let outcome = side.frame(frame)?;
                let summary = match &outcome {
                    Ok(decoded) => decoded.summary(SUMMARY_LEN),
                    Err(e) => format!("not {name}: {e}"),
                };
                Some(Annotation {
                    json: decoded_json(name, &outcome),
                    summary,
                })
            }
            TapKind::Closed { .. } => {
                self.conns.remove(&conn);
                None
            }
            _ => None,
        }
    }
}

impl Side {
    /// Adds a frame; the decoded message when it ends one.
    fn frame(&mut self, frame: &Frame) -> Option<Result<Decoded, DecodeError>> {
        let position = frame.message.as_ref()?;
        let kind = position.kind?;
        let whole = match position.fragment {
            Fragment::Control => return None,
            Fragment::Whole => {
                self.compressed = frame.header.rsv1;
                if !self.compressed {
                    return Some(self.decode(kind, &frame.payload));
                }
                self.partial.clear();
                self.partial.extend_from_slice(&frame.payload);
                true
            }
            Fragment::First => {
                self.compressed = frame.header.rsv1;
                self.partial.clear();
                self.partial.extend_from_slice(&frame.payload);
                false
            }
            Fragment::Middle => {
                self.partial.extend_from_slice(&frame.payload);
                false
            }
            Fragment::Last => {
                self.partial.extend_from_slice(&frame.payload);
                true
            }
        };
        if !whole {
            return None;
        }
        let data = std::mem::take(&mut self.partial);
        let plain = if self.compressed {
            match self.inflate(&data) {
                Ok(plain) => plain,
                Err(reason) => return Some(Err(DecodeError::new(0, reason))),
            }
        } else {
            data
        };
        Some(self.decode(kind, &plain))
    }

    fn decode(&mut self, kind: MessageKind, data: &[u8]) -> Result<Decoded, DecodeError> {
        let Some(stream) = &mut self.stream else {
            return Err(DecodeError::new(0, "no decoder"));
        };
        match kind {
            MessageKind::Text => match std::str::from_utf8(data) {
                Ok(text) => stream.decode(Payload::Text(text)),
                Err(e) => Err(DecodeError::new(
                    e.valid_up_to(),
                    "a text message that is not UTF-8",
                )),
            },
            MessageKind::Binary => stream.decode(Payload::Binary(data)),
        }
    }

    /// Inflates a permessage-deflate message (RFC 7692 §7.2.2: the payload and 00 00 ff ff),
    /// keeping the window for the next message (right whether or not the sender kept its
    /// context).
    fn inflate(&mut self, data: &[u8]) -> Result<Vec<u8>, String> {
        let inflater = self.inflater.get_or_insert_with(|| Decompress::new(false));
        let mut input = Vec::with_capacity(data.len() + 4);
        input.extend_from_slice(data);
        input.extend_from_slice(&SYNC_TAIL);
        let mut out = Vec::with_capacity(data.len() * 3 + 64);
        let mut used = 0usize;
        loop {
            if out.len() == out.capacity() {
                if out.len() >= MAX_INFLATED {
                    self.inflater = None;
                    return Err(format!("inflates to more than {MAX_INFLATED} bytes"));
                }
                out.reserve(out.len().max(64));
            }
            let (before_in, before_out) = (inflater.total_in(), inflater.total_out());
            let status =
                match inflater.decompress_vec(&input[used..], &mut out, FlushDecompress::Sync) {
                    Ok(status) => status,
                    Err(e) => {
                        self.inflater = None;
                        return Err(format!("the compressed message does not inflate: {e}"));
                    }
                };
            let read = (inflater.total_in() - before_in) as usize;
            let wrote = inflater.total_out() - before_out;
            used += read;
            let room = out.len() < out.capacity();
            if status == Status::StreamEnd || (used >= input.len() && room) {
                break;
            }
            if read == 0 && wrote == 0 && room {
                self.inflater = None;
                return Err("the compressed message does not inflate (no progress)".to_owned());
            }
        }
        Ok(out)
    }
}

/// The reader's side of `--decode`: received messages decoded, and (with the protocol
/// spoken) the client's reactions to them.
#[derive(Debug)]
pub struct ReaderDecoding {
    stream: Stream,
    client: Option<Client>,
    name: &'static str,
    number: u64,
    heartbeat_every: Option<Duration>,
}

/// What stdout shows of a message received.
#[derive(Debug)]
pub enum Shown {
    /// This line.
    Line(String),
    /// Nothing: an application heartbeat.
    Heartbeat,
    /// The message as it came (it did not decode; the error is on stderr).
    Raw,
}

/// What the protocol client wants done after a message.
#[derive(Debug, Default)]
pub struct Effects {
    /// Send these (automatic packets).
    pub send: Vec<Outgoing>,
    /// The protocol is ready: the sends may go.
    pub ready: bool,
    /// Send the client's own heartbeat this often from now on (Engine.IO 3).
    pub heartbeat_every: Option<Duration>,
}

impl ReaderDecoding {
    /// The reader's decoding of a connection `context`, with `client` speaking its protocol.
    pub fn new(plan: &DecodePlan, context: &Context, client: Option<Client>) -> Self {
        Self {
            stream: plan.incoming_codec.stream(context),
            client,
            name: plan.incoming.name(),
            number: 0,
            heartbeat_every: None,
        }
    }

    /// Decodes a message received.
    pub fn receive(&mut self, payload: Payload<'_>) -> (Shown, Effects) {
        self.number += 1;
        let mut effects = Effects::default();
        let decoded = match self.stream.decode(payload) {
            Ok(decoded) => decoded,
            Err(e) => {
                eprintln!(
                    "wsi: message {} received does not decode as {}: {e}",
                    self.number, self.name
                );
                return (Shown::Raw, effects);
            }
        };
        if let Some(client) = &mut self.client {
            let reaction = client.on_received(&decoded);
            if let Some(note) = reaction.note {
                eprintln!("wsi: {}: {note}", self.name);
            }
            effects.send = reaction.send;
            effects.ready = reaction.ready;
            let every = client.heartbeat_interval();
            if every.is_some() && every != self.heartbeat_every {
                self.heartbeat_every = every;
                effects.heartbeat_every = every;
            }
        }
        let shown = if decoded.is_heartbeat() {
            Shown::Heartbeat
        } else {
            Shown::Line(stdout_line(&decoded))
        };
        (shown, effects)
    }
}

/// What the sender needs of `--decode`.
#[derive(Debug)]
pub struct SenderDecoding {
    /// Send these first, once open (graphql: connection_init).
    pub opening: Vec<Outgoing>,
    /// Hold the sends until the protocol is ready.
    pub wait_ready: bool,
    /// `--encode`: how each text to send is made.
    encoder: Option<Encoder>,
}

#[derive(Debug)]
enum Encoder {
    Format(Codec),
    Protocol { client: Box<Client>, ack: bool },
}

impl SenderDecoding {
    /// The sender's part of `plan` on a connection `context`; `reader_client` is the client
    /// the reader drives (its opening packets are taken from it).
    pub fn new(plan: &DecodePlan, context: &Context, reader_client: Option<&mut Client>) -> Self {
        let opening = match reader_client {
            Some(client) => client.on_open(),
            None => Vec::new(),
        };
        let encoder = plan.encode.then(|| {
            match plan
                .outgoing_codec
                .client(context, plan.client_options.clone())
            {
                Some(client) => Encoder::Protocol {
                    client: Box::new(client),
                    ack: plan.ack,
                },
                None => Encoder::Format(plan.outgoing_codec.clone()),
            }
        });
        Self {
            opening,
            wait_ready: plan.auto_protocol && plan.is_protocol(),
            encoder,
        }
    }

    /// A text to send as the messages that go (`--encode`), or as it is.
    pub fn encode(&mut self, text: String) -> Result<Vec<Outgoing>, String> {
        match &mut self.encoder {
            None => Ok(vec![Outgoing::Text(text)]),
            Some(Encoder::Format(codec)) => codec
                .encode_json(&text)
                .map(|out| vec![out])
                .map_err(|e| e.to_string()),
            Some(Encoder::Protocol { client, ack }) => {
                client.encode_text(&text, *ack).map_err(|e| e.to_string())
            }
        }
    }

    /// The client's own heartbeat (Engine.IO 3's ping).
    pub fn heartbeat(&self) -> Outgoing {
        Outgoing::Text("2".to_owned())
    }
}
