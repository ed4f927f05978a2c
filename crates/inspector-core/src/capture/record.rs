//! [`CaptureLine`] and [`Record`]: one tap report as one JSON line, and back.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use ws_tokio::tap::{Initiator, TapEvent, TapKind};
use ws_tokio::tls::CertificateInfo;
use ws_tokio::ws_proto::Utf8Bytes;
use ws_tokio::ws_proto::http::{self, HeaderMap, HeaderName, HeaderValue, Request, Response};
use ws_tokio::ws_proto::{
    CloseCode, CloseFrame, Direction, Fragment, Frame, FrameHeader, MessageKind, MessagePosition,
    OpCode, ReadyState,
};
use ws_tokio::{Message, TlsInfo};

use super::VERSION;
use super::encoding::{base64_bytes, base64_option, mask_hex};

/// One line of a capture: a tap report with its times.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureLine {
    /// The format version ([`VERSION`] when written by this crate).
    pub v: u32,
    /// Wall-clock time, RFC 3339 in UTC with nanoseconds, for people and `jq`; the same
    /// instant as [`time_ns`](Self::time_ns), which is what a reader uses.
    #[serde(default)]
    pub time: String,
    /// Wall-clock time, nanoseconds since the Unix epoch.
    pub time_ns: u64,
    /// Monotonic time since the connection's tap was created, in nanoseconds.
    pub elapsed_ns: u64,
    /// Which connection, when a capture holds several (the clients of a listener or a
    /// relay, numbered from 1 in the order they connected); absent for one connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conn: Option<u64>,
    /// Which leg of a relay; absent outside a relay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leg: Option<Leg>,
    /// What happened.
    pub record: Record,
}

/// The two legs of a relay.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Leg {
    /// Between the client and the relay (the relay is the server here).
    Client,
    /// Between the relay and the server it forwards to (the relay is the client here).
    Server,
}

impl Leg {
    /// `client` or `server`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Server => "server",
        }
    }
}

/// What a [`CaptureLine`] records: one [`TapKind`], with every byte it carried.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    /// The first line of a capture file: what it is and what wrote it. Not a tap report:
    /// [`JsonlReader`](super::JsonlReader) keeps it aside ([`header`](super::JsonlReader::header)).
    Capture {
        /// Always [`FORMAT`](super::FORMAT), so that a reader can tell a capture from other JSON lines.
        format: String,
        /// The program that wrote it, such as `wsi 0.1.0 connect`.
        generator: String,
    },
    /// The readyState changed (0 CONNECTING, 1 OPEN, 2 CLOSING, 3 CLOSED).
    State {
        /// The new readyState, as the browser numbers it.
        ready_state: u8,
    },
    /// TCP is connected (to the proxy, if one is used).
    TcpConnected {
        /// Our address.
        local: SocketAddr,
        /// The peer's (or the proxy's) address.
        peer: SocketAddr,
        /// The proxy in between, as `host:port`.
        proxy: Option<String>,
    },
    /// TLS is established.
    TlsEstablished(TlsRecord),
    /// Client: the upgrade request was sent.
    RequestSent {
        /// The request head.
        head: RequestHead,
        /// Its bytes exactly as written.
        #[serde(with = "base64_bytes")]
        raw: Vec<u8>,
    },
    /// Client: the server's 101 answer arrived.
    ResponseReceived {
        /// The response head.
        head: ResponseHead,
        /// Its bytes exactly as received.
        #[serde(with = "base64_bytes")]
        raw: Vec<u8>,
    },
    /// Server: the client's upgrade request arrived.
    RequestReceived {
        /// The request head.
        head: RequestHead,
        /// Its bytes exactly as received.
        #[serde(with = "base64_bytes")]
        raw: Vec<u8>,
    },
    /// Server: the answer was sent.
    ResponseSent {
        /// The bytes written.
        #[serde(with = "base64_bytes")]
        raw: Vec<u8>,
    },
    /// The opening handshake failed.
    HandshakeFailed {
        /// In plain words.
        reason: String,
        /// The peer's HTTP answer, if one came.
        response: Option<ResponseHead>,
        /// Its body.
        #[serde(with = "base64_option")]
        body: Option<Vec<u8>>,
    },
    /// A frame, either direction.
    Frame(FrameRecord),
    /// The plain (inflated) content of a compressed message received.
    Inflated(MessageRecord),
    /// The connection opened: what the handshake settled.
    Opened(Box<OpenedRecord>),
    /// The connection ended.
    Closed {
        /// The connection close code (1005 without a code, 1006 if lost).
        code: u16,
        /// The close reason.
        reason: String,
        /// Who started the close: `local`, `remote` or `nobody`.
        initiator: InitiatorRecord,
        /// Whether the close handshake completed.
        clean: bool,
    },
    /// An error, in plain words.
    Error {
        /// The error.
        message: String,
    },
}

/// Who closed a connection ([`Initiator`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InitiatorRecord {
    /// This side.
    Local,
    /// The peer.
    Remote,
    /// Nobody: the connection was lost.
    Nobody,
}

/// A frame with every bit of its header and its unmasked payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameRecord {
    /// `true` for a frame received, `false` for one sent.
    pub incoming: bool,
    /// FIN.
    pub fin: bool,
    /// RSV1 (permessage-deflate's "compressed" bit).
    pub rsv1: bool,
    /// RSV2.
    pub rsv2: bool,
    /// RSV3.
    pub rsv3: bool,
    /// The opcode's four bits.
    pub opcode: u8,
    /// The mask key as 8 hex digits, `null` for an unmasked frame.
    #[serde(with = "mask_hex")]
    pub mask: Option<[u8; 4]>,
    /// The payload length as the header states it.
    pub payload_len: u64,
    /// The unmasked payload, as on the wire (compressed for a compressed message), base64.
    #[serde(with = "base64_bytes")]
    pub payload: Vec<u8>,
    /// For a frame of a compressed message, its size once inflated.
    pub decompressed_len: Option<u64>,
    /// Where the frame stands in its message, as the engine reported it. Absent in
    /// captures written before positions were recorded: a reader numbers those frames by
    /// the engine's rule ([`ws_tokio::ws_proto::MessageNumbering`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<PositionRecord>,
}

/// A frame's place in its message ([`MessagePosition`]), for [`FrameRecord::message`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionRecord {
    /// The message's number in its direction, from 1 (a control frame is a message of its
    /// own).
    pub number: u64,
    /// `whole`, `first`, `middle`, `last` or `control`.
    pub fragment: FragmentRecord,
    /// The message's type, `text` or `binary`; `null` for control frames (and a
    /// continuation sent with no message in progress).
    #[serde(rename = "type")]
    pub kind: Option<KindRecord>,
    /// The message's payload bytes before this frame, as on the wire.
    pub offset: u64,
}

/// [`Fragment`], by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FragmentRecord {
    /// A whole message in one frame.
    Whole,
    /// The first frame of a fragmented message.
    First,
    /// A continuation that does not end its message.
    Middle,
    /// The continuation that ends its message.
    Last,
    /// A control frame.
    Control,
}

/// [`MessageKind`], by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KindRecord {
    /// A text message.
    Text,
    /// A binary message.
    Binary,
}

impl PositionRecord {
    /// The record of a position.
    pub fn from_position(position: &MessagePosition) -> Self {
        Self {
            number: position.number,
            fragment: match position.fragment {
                Fragment::Whole => FragmentRecord::Whole,
                Fragment::First => FragmentRecord::First,
                Fragment::Middle => FragmentRecord::Middle,
                Fragment::Last => FragmentRecord::Last,
                Fragment::Control => FragmentRecord::Control,
            },
            kind: position.kind.map(|kind| match kind {
                MessageKind::Text => KindRecord::Text,
                MessageKind::Binary => KindRecord::Binary,
            }),
            offset: position.offset,
        }
    }

    /// The position this record holds.
    pub fn to_position(&self) -> MessagePosition {
        MessagePosition {
            number: self.number,
            fragment: match self.fragment {
                FragmentRecord::Whole => Fragment::Whole,
                FragmentRecord::First => Fragment::First,
                FragmentRecord::Middle => Fragment::Middle,
                FragmentRecord::Last => Fragment::Last,
                FragmentRecord::Control => Fragment::Control,
            },
            kind: self.kind.map(|kind| match kind {
                KindRecord::Text => MessageKind::Text,
                KindRecord::Binary => MessageKind::Binary,
            }),
            offset: self.offset,
        }
    }
}

/// A message ([`Message`]), for [`Record::Inflated`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MessageRecord {
    /// A text message.
    Text {
        /// Its text.
        text: String,
    },
    /// A binary message.
    Binary {
        /// Its bytes, base64.
        #[serde(with = "base64_bytes")]
        data: Vec<u8>,
    },
    /// A ping.
    Ping {
        /// Its payload, base64.
        #[serde(with = "base64_bytes")]
        data: Vec<u8>,
    },
    /// A pong.
    Pong {
        /// Its payload, base64.
        #[serde(with = "base64_bytes")]
        data: Vec<u8>,
    },
    /// A close frame.
    Close {
        /// Its code, `null` for an empty close payload.
        code: Option<u16>,
        /// Its reason.
        reason: String,
    },
}

/// A request head. Header values that are not UTF-8 are shown lossily here; the record's
/// `raw` bytes are always exact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestHead {
    /// The method, such as `GET`.
    pub method: String,
    /// The request target as the request holds it.
    pub uri: String,
    /// The HTTP version, such as `HTTP/1.1`.
    pub version: String,
    /// The headers, in order, as (name, value).
    pub headers: Vec<(String, String)>,
}

/// A response head (see [`RequestHead`] for header values).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseHead {
    /// The status code.
    pub status: u16,
    /// The HTTP version, such as `HTTP/1.1`.
    pub version: String,
    /// The headers, in order, as (name, value).
    pub headers: Vec<(String, String)>,
}

/// What the TLS handshake settled ([`TlsInfo`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsRecord {
    /// The protocol version, such as `TLSv1.3`.
    pub version: String,
    /// The cipher suite.
    pub cipher_suite: String,
    /// The protocol agreed through ALPN.
    pub alpn: Option<String>,
    /// The server name asked for (client) or sent by the client (server).
    pub server_name: String,
    /// The peer's certificates, leaf first.
    pub peer_certificates: Vec<CertificateRecord>,
}

/// One certificate of the peer: its DER and what was read from it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateRecord {
    /// The certificate, DER, base64.
    #[serde(with = "base64_bytes")]
    pub der: Vec<u8>,
    /// The subject's distinguished name.
    pub subject: String,
    /// The issuer's distinguished name.
    pub issuer: String,
    /// Start of validity.
    pub not_before: String,
    /// End of validity.
    pub not_after: String,
    /// The subject alternative names, each with its kind.
    pub subject_alt_names: Vec<String>,
}

impl CaptureLine {
    /// The line for a tap report; `None` for a kind of report this version does not know
    /// (the tap's report kinds are `#[non_exhaustive]`).
    pub fn from_tap(event: &TapEvent) -> Option<Self> {
        let time_ns = unix_nanos(event.time);
        Some(Self {
            v: VERSION,
            time: rfc3339(time_ns),
            time_ns,
            elapsed_ns: u64::try_from(event.elapsed.as_nanos()).unwrap_or(u64::MAX),
            conn: None,
            leg: None,
            record: Record::from_tap(&event.kind)?,
        })
    }

    /// The first line of a capture written by `generator` (such as `wsi 0.1.0 connect`).
    pub fn header(generator: &str) -> Self {
        let time_ns = unix_nanos(SystemTime::now());
        Self {
            v: VERSION,
            time: rfc3339(time_ns),
            time_ns,
            elapsed_ns: 0,
            conn: None,
            leg: None,
            record: Record::Capture {
                format: super::FORMAT.to_owned(),
                generator: generator.to_owned(),
            },
        }
    }

    /// The line with its connection number set.
    pub fn with_conn(mut self, conn: Option<u64>) -> Self {
        self.conn = conn;
        self
    }

    /// The line with its relay leg set.
    pub fn with_leg(mut self, leg: Option<Leg>) -> Self {
        self.leg = leg;
        self
    }

    /// The tap report this line records. Errors (in plain words) when the line holds
    /// something no tap could have reported: an invalid header, status or method.
    pub fn to_tap(&self) -> Result<TapEvent, String> {
        Ok(TapEvent {
            time: UNIX_EPOCH + Duration::from_nanos(self.time_ns),
            elapsed: Duration::from_nanos(self.elapsed_ns),
            kind: self.record.to_tap()?,
        })
    }
}

impl Record {
    /// The record of one tap report; `None` for a kind this version does not know.
    pub fn from_tap(kind: &TapKind) -> Option<Self> {
        Some(match kind {
            TapKind::State(state) => Self::State {
                ready_state: *state as u8,
            },
            TapKind::TcpConnected { local, peer, proxy } => Self::TcpConnected {
                local: *local,
                peer: *peer,
                proxy: proxy.clone(),
            },
            TapKind::TlsEstablished(info) => Self::TlsEstablished(TlsRecord::from_info(info)),
            TapKind::RequestSent { request, raw } => Self::RequestSent {
                head: RequestHead::of(request),
                raw: raw.to_vec(),
            },
            TapKind::ResponseReceived { response, raw } => Self::ResponseReceived {
                head: ResponseHead::of(response),
                raw: raw.to_vec(),
            },
            TapKind::RequestReceived { request, raw } => Self::RequestReceived {
                head: RequestHead::of(request),
                raw: raw.to_vec(),
            },
            TapKind::ResponseSent { raw } => Self::ResponseSent { raw: raw.to_vec() },
            TapKind::HandshakeFailed {
                reason,
                response,
                body,
            } => Self::HandshakeFailed {
                reason: reason.clone(),
                response: response.as_deref().map(ResponseHead::of),
                body: body.as_ref().map(|b| b.to_vec()),
            },
            TapKind::Frame(frame) => Self::Frame(FrameRecord::from_frame(frame)),
            TapKind::Inflated(message) => Self::Inflated(MessageRecord::from_message(message)),
            TapKind::Opened(info) => Self::Opened(Box::new(OpenedRecord::from_info(info))),
            TapKind::Closed {
                code,
                reason,
                initiator,
                clean,
            } => Self::Closed {
                code: u16::from(*code),
                reason: reason.clone(),
                initiator: match initiator {
                    Initiator::Local => InitiatorRecord::Local,
                    Initiator::Remote => InitiatorRecord::Remote,
                    Initiator::Nobody => InitiatorRecord::Nobody,
                },
                clean: *clean,
            },
            TapKind::Error(message) => Self::Error {
                message: message.clone(),
            },
            _ => return None,
        })
    }

    /// The `kind` of every record, as written.
    pub const KINDS: [&'static str; 14] = [
        "capture",
        "state",
        "tcp_connected",
        "tls_established",
        "request_sent",
        "response_received",
        "request_received",
        "response_sent",
        "handshake_failed",
        "frame",
        "inflated",
        "opened",
        "closed",
        "error",
    ];

    /// The tap report this record holds.
    pub fn to_tap(&self) -> Result<TapKind, String> {
        Ok(match self {
            Self::Capture { .. } => {
                return Err("the capture's first line is not a report of the connection".into());
            }
            Self::State { ready_state } => TapKind::State(match ready_state {
                0 => ReadyState::Connecting,
                1 => ReadyState::Open,
                2 => ReadyState::Closing,
                3 => ReadyState::Closed,
                other => return Err(format!("readyState {other} does not exist (0 to 3)")),
            }),
            Self::TcpConnected { local, peer, proxy } => TapKind::TcpConnected {
                local: *local,
                peer: *peer,
                proxy: proxy.clone(),
            },
            Self::TlsEstablished(tls) => TapKind::TlsEstablished(Box::new(tls.to_info())),
            Self::RequestSent { head, raw } => TapKind::RequestSent {
                request: Box::new(head.to_request()?),
                raw: Bytes::from(raw.clone()),
            },
            Self::ResponseReceived { head, raw } => TapKind::ResponseReceived {
                response: Box::new(head.to_response()?),
                raw: Bytes::from(raw.clone()),
            },
            Self::RequestReceived { head, raw } => TapKind::RequestReceived {
                request: Box::new(head.to_request()?),
                raw: Bytes::from(raw.clone()),
            },
            Self::ResponseSent { raw } => TapKind::ResponseSent {
                raw: Bytes::from(raw.clone()),
            },
            Self::HandshakeFailed {
                reason,
                response,
                body,
            } => TapKind::HandshakeFailed {
                reason: reason.clone(),
                response: match response {
                    Some(head) => Some(Box::new(head.to_response()?)),
                    None => None,
                },
                body: body.clone().map(Bytes::from),
            },
            Self::Frame(frame) => TapKind::Frame(frame.to_frame()),
            Self::Inflated(message) => TapKind::Inflated(message.to_message()),
            Self::Opened(opened) => TapKind::Opened(Box::new(opened.to_info()?)),
            Self::Closed {
                code,
                reason,
                initiator,
                clean,
            } => TapKind::Closed {
                code: CloseCode::from(*code),
                reason: reason.clone(),
                initiator: match initiator {
                    InitiatorRecord::Local => Initiator::Local,
                    InitiatorRecord::Remote => Initiator::Remote,
                    InitiatorRecord::Nobody => Initiator::Nobody,
                },
                clean: *clean,
            },
            Self::Error { message } => TapKind::Error(message.clone()),
        })
    }
}

impl FrameRecord {
    /// The record of a frame.
    pub fn from_frame(frame: &Frame) -> Self {
        let header = &frame.header;
        Self {
            incoming: frame.direction == Direction::Incoming,
            fin: header.fin,
            rsv1: header.rsv1,
            rsv2: header.rsv2,
            rsv3: header.rsv3,
            opcode: header.opcode.bits(),
            mask: header.mask,
            payload_len: header.payload_len,
            payload: frame.payload.to_vec(),
            decompressed_len: frame.decompressed_len.map(|n| n as u64),
            message: frame.message.as_ref().map(PositionRecord::from_position),
        }
    }

    /// The frame this record holds.
    pub fn to_frame(&self) -> Frame {
        let mut header = FrameHeader::new(OpCode::from_bits(self.opcode & 0x0f), self.payload_len);
        header.fin = self.fin;
        header.rsv1 = self.rsv1;
        header.rsv2 = self.rsv2;
        header.rsv3 = self.rsv3;
        header.mask = self.mask;
        Frame {
            direction: if self.incoming {
                Direction::Incoming
            } else {
                Direction::Outgoing
            },
            header,
            payload: Bytes::from(self.payload.clone()),
            decompressed_len: self
                .decompressed_len
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            message: self.message.as_ref().map(PositionRecord::to_position),
        }
    }
}

impl MessageRecord {
    /// The record of a message.
    pub fn from_message(message: &Message) -> Self {
        match message {
            Message::Text(text) => Self::Text {
                text: text.as_str().to_owned(),
            },
            Message::Binary(data) => Self::Binary {
                data: data.to_vec(),
            },
            Message::Ping(data) => Self::Ping {
                data: data.to_vec(),
            },
            Message::Pong(data) => Self::Pong {
                data: data.to_vec(),
            },
            Message::Close(close) => Self::Close {
                code: close.code.map(u16::from),
                reason: close.reason.clone(),
            },
            // Never reported (the transport reports a fragmented message's plain content
            // whole); kept as its bytes, which may split a character.
            Message::Fragment { data, .. } => Self::Binary {
                data: data.to_vec(),
            },
        }
    }

    /// The message this record holds.
    pub fn to_message(&self) -> Message {
        match self {
            Self::Text { text } => Message::Text(Utf8Bytes::from(text.clone())),
            Self::Binary { data } => Message::Binary(Bytes::from(data.clone())),
            Self::Ping { data } => Message::Ping(Bytes::from(data.clone())),
            Self::Pong { data } => Message::Pong(Bytes::from(data.clone())),
            Self::Close { code, reason } => Message::Close(CloseFrame {
                code: code.map(CloseCode::from),
                reason: reason.clone(),
            }),
        }
    }
}

impl RequestHead {
    /// The head of `request`.
    pub fn of(request: &Request<()>) -> Self {
        Self {
            method: request.method().as_str().to_owned(),
            uri: request.uri().to_string(),
            version: format!("{:?}", request.version()),
            headers: header_pairs(request.headers()),
        }
    }

    /// The request this head describes.
    pub fn to_request(&self) -> Result<Request<()>, String> {
        let mut request = Request::builder()
            .method(self.method.as_str())
            .uri(self.uri.as_str())
            .version(parse_version(&self.version)?)
            .body(())
            .map_err(|e| format!("not a valid request head: {e}"))?;
        *request.headers_mut() = header_map(&self.headers)?;
        Ok(request)
    }
}

impl ResponseHead {
    /// The head of `response`.
    pub fn of(response: &Response<()>) -> Self {
        Self {
            status: response.status().as_u16(),
            version: format!("{:?}", response.version()),
            headers: header_pairs(response.headers()),
        }
    }

    /// The response this head describes.
    pub fn to_response(&self) -> Result<Response<()>, String> {
        let mut response = Response::builder()
            .status(self.status)
            .version(parse_version(&self.version)?)
            .body(())
            .map_err(|e| format!("not a valid response head: {e}"))?;
        *response.headers_mut() = header_map(&self.headers)?;
        Ok(response)
    }
}

impl TlsRecord {
    /// The record of a TLS session.
    pub fn from_info(info: &TlsInfo) -> Self {
        Self {
            version: info.version.clone(),
            cipher_suite: info.cipher_suite.clone(),
            alpn: info.alpn.clone(),
            server_name: info.server_name.clone(),
            peer_certificates: info
                .peer_certificates
                .iter()
                .map(|c| CertificateRecord {
                    der: c.der.clone(),
                    subject: c.subject.clone(),
                    issuer: c.issuer.clone(),
                    not_before: c.not_before.clone(),
                    not_after: c.not_after.clone(),
                    subject_alt_names: c.subject_alt_names.clone(),
                })
                .collect(),
        }
    }

    /// The TLS session this record holds.
    pub fn to_info(&self) -> TlsInfo {
        TlsInfo {
            version: self.version.clone(),
            cipher_suite: self.cipher_suite.clone(),
            alpn: self.alpn.clone(),
            server_name: self.server_name.clone(),
            peer_certificates: self
                .peer_certificates
                .iter()
                .map(|c| CertificateInfo {
                    der: c.der.clone(),
                    subject: c.subject.clone(),
                    issuer: c.issuer.clone(),
                    not_before: c.not_before.clone(),
                    not_after: c.not_after.clone(),
                    subject_alt_names: c.subject_alt_names.clone(),
                })
                .collect(),
        }
    }
}

/// `time_ns` as RFC 3339 in UTC with nanoseconds, `2026-12-01T12:00:00.123456789Z`.
pub(super) fn rfc3339(time_ns: u64) -> String {
    let time = UNIX_EPOCH + Duration::from_nanos(time_ns);
    humantime::format_rfc3339_nanos(time).to_string()
}

/// Nanoseconds since the Unix epoch (0 before it, the largest value after year 2554).
pub(super) fn unix_nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    crate::session::header_pairs(headers)
}

fn header_map(pairs: &[(String, String)]) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        let name = HeaderName::try_from(name.as_str())
            .map_err(|_| format!("{name:?} is not a valid header name"))?;
        let value = HeaderValue::try_from(value.as_str())
            .map_err(|_| format!("{value:?} is not a valid value for {name}"))?;
        map.append(name, value);
    }
    Ok(map)
}

fn parse_version(text: &str) -> Result<http::Version, String> {
    Ok(match text {
        "HTTP/0.9" => http::Version::HTTP_09,
        "HTTP/1.0" => http::Version::HTTP_10,
        "HTTP/1.1" => http::Version::HTTP_11,
        "HTTP/2.0" => http::Version::HTTP_2,
        "HTTP/3.0" => http::Version::HTTP_3,
        other => return Err(format!("{other:?} is not an HTTP version")),
    })
}

/// What an opening handshake settled ([`ws_tokio::HandshakeInfo`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenedRecord {
    /// The request, as sent (client) or received (server).
    pub request: RequestHead,
    /// The 101 response, as received (client) or sent (server).
    pub response: ResponseHead,
    /// The agreed subprotocol.
    pub protocol: Option<String>,
    /// The agreed extensions, each a full header element.
    pub extensions: Vec<String>,
    /// The permessage-deflate parameters agreed, as their header element.
    pub deflate: Option<String>,
    /// The TLS session, for wss.
    pub tls: Option<TlsRecord>,
    /// Our address.
    pub local: Option<std::net::SocketAddr>,
    /// The peer's address.
    pub peer: Option<std::net::SocketAddr>,
}

impl OpenedRecord {
    /// The record of `info`.
    pub fn from_info(info: &ws_tokio::HandshakeInfo) -> Self {
        Self {
            request: RequestHead::of(&info.request),
            response: ResponseHead::of(&info.response),
            protocol: info.protocol.clone(),
            extensions: info.extensions.clone(),
            deflate: info.deflate.map(|d| d.to_string()),
            tls: info.tls.as_ref().map(TlsRecord::from_info),
            local: info.local_addr,
            peer: info.peer_addr,
        }
    }

    /// The handshake facts this record holds; errors on a head or deflate element no
    /// transport could have reported.
    pub fn to_info(&self) -> Result<ws_tokio::HandshakeInfo, String> {
        let deflate = match &self.deflate {
            Some(element) => Some(
                ws_tokio::ws_proto::DeflateParams::parse_response(element)
                    .map_err(|e| format!("permessage-deflate {element:?}: {e}"))?,
            ),
            None => None,
        };
        Ok(ws_tokio::HandshakeInfo {
            request: self.request.to_request()?,
            response: self.response.to_response()?,
            protocol: self.protocol.clone(),
            extensions: self.extensions.clone(),
            deflate,
            tls: self.tls.as_ref().map(TlsRecord::to_info),
            local_addr: self.local,
            peer_addr: self.peer,
        })
    }
}
