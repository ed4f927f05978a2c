//! Test support: an in-memory client/server [`Pair`], frame builders written independently of
//! the codec under test, and domain assertions ([`assert_frame_sent`], [`assert_failing`]).
#![allow(dead_code)]

use std::fmt::Write as _;

use ws_proto::bytes::BytesMut;
use ws_proto::frame::{Decoded, apply_mask_bytewise};
use ws_proto::http::{Request, Response};
use ws_proto::{
    CloseCode, Config, Connection, Direction, Error, Event, FixedMask, FrameHeader, Negotiated,
    OpCode, ProtocolError, ReadyState, Role, handshake,
};

/// The key of RFC 6455 §1.3 and its accept value.
pub const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
pub const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// The masking key of the RFC 6455 §5.7 examples.
pub const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

// ------------------------------------------------------------------------------------------
// Connections
// ------------------------------------------------------------------------------------------

/// The client request for `url` with the RFC key and no options.
pub fn request(url: &str) -> Request<()> {
    handshake::client_request(url, KEY, &Default::default()).expect("valid URL")
}

/// A client that has sent its request (drained) for `ws://example.com/chat`, masking with
/// [`MASK`].
pub fn client(config: Config) -> Connection {
    let mut conn = Connection::client(request("ws://example.com/chat"), config);
    conn.set_mask_source(Box::new(FixedMask(MASK)));
    transmit(&mut conn);
    conn
}

/// A 101 answer for the RFC key, with extra header lines (each ending in CRLF).
pub fn response_101(extra: &str) -> String {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {ACCEPT}\r\n{extra}\r\n"
    )
}

/// A valid upgrade request for the RFC key, with extra header lines (each ending in CRLF).
pub fn request_bytes(extra: &str) -> String {
    format!(
        "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\
         {extra}\r\n"
    )
}

/// A client after a valid 101: open, its output drained.
pub fn open_client(config: Config) -> Connection {
    let mut conn = client(config);
    conn.receive_data(response_101("").as_bytes())
        .expect("valid 101");
    assert!(matches!(conn.poll_event(), Some(Event::Open(_))));
    assert_eq!(conn.state(), ReadyState::Open);
    conn
}

/// A server that received a valid upgrade request (the RFC key, with `extra` header lines)
/// and reported it: its `accept` or `reject` is awaited.
pub fn server_with_request(config: Config, extra: &str) -> (Connection, Box<ws_proto::Requested>) {
    let mut server = Connection::server(config);
    server
        .receive_data(request_bytes(extra).as_bytes())
        .expect("a valid request");
    let Some(Event::Request(req)) = server.poll_event() else {
        panic!("no request event")
    };
    (server, req)
}

/// A server that is open (made with `Connection::open`).
pub fn server(config: Config) -> Connection {
    Connection::open(Role::Server, config, Negotiated::default())
}

/// A client that is open (made with `Connection::open`), masking with [`MASK`].
pub fn client_open(config: Config) -> Connection {
    let mut conn = Connection::open(Role::Client, config, Negotiated::default());
    conn.set_mask_source(Box::new(FixedMask(MASK)));
    conn
}

/// A default config with changes.
pub fn config(f: impl FnOnce(&mut Config)) -> Config {
    let mut c = Config::default();
    f(&mut c);
    c
}

/// Everything the connection has to send.
pub fn transmit(conn: &mut Connection) -> Vec<u8> {
    let mut out = BytesMut::new();
    conn.poll_transmit(&mut out);
    out.to_vec()
}

/// Every pending event, in a comparable form.
pub fn events(conn: &mut Connection) -> Vec<Ev> {
    std::iter::from_fn(|| conn.poll_event())
        .map(Ev::from)
        .collect()
}

/// An [`Event`] that can be compared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ev {
    Request,
    Open,
    Frame(Direction, FrameHeader, Vec<u8>),
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(Option<u16>, String),
    /// A fragment: text?, data, fin.
    Fragment(bool, Vec<u8>, bool),
}

impl From<Event> for Ev {
    fn from(e: Event) -> Self {
        match e {
            Event::Request(_) => Self::Request,
            Event::Open(_) => Self::Open,
            Event::Frame(f) => Self::Frame(f.direction, f.header, f.payload.to_vec()),
            Event::Text(t) => Self::Text(t.to_string()),
            Event::Binary(b) => Self::Binary(b.to_vec()),
            Event::Ping(b) => Self::Ping(b.to_vec()),
            Event::Pong(b) => Self::Pong(b.to_vec()),
            Event::Close(c) => Self::Close(c.code.map(|c| c.0), c.reason),
            Event::Fragment { kind, data, fin } => {
                Self::Fragment(kind == ws_proto::MessageKind::Text, data.to_vec(), fin)
            }
            other => panic!("unknown event {other:?}"),
        }
    }
}

pub fn text(s: &str) -> Ev {
    Ev::Text(s.to_owned())
}

pub fn binary(b: &[u8]) -> Ev {
    Ev::Binary(b.to_vec())
}

// ------------------------------------------------------------------------------------------
// Pair
// ------------------------------------------------------------------------------------------

/// A client and a server wired together in memory, stepped by hand.
pub struct Pair {
    pub client: Connection,
    pub server: Connection,
    pub client_events: Vec<Ev>,
    pub server_events: Vec<Ev>,
    pub client_errors: Vec<Error>,
    pub server_errors: Vec<Error>,
    /// Every byte sent each way, for assertions about the wire.
    pub client_sent: Vec<u8>,
    pub server_sent: Vec<u8>,
    /// The request the server reported, until it is accepted.
    pub pending: Option<Box<ws_proto::Requested>>,
}

impl Pair {
    /// A client and a server before the handshake; the client's request is not sent yet.
    pub fn connecting(client_config: Config, server_config: Config) -> Self {
        let mut client = Connection::client(request("ws://example.com/chat"), client_config);
        client.set_mask_source(Box::new(FixedMask(MASK)));
        Self {
            client,
            server: Connection::server(server_config),
            client_events: Vec::new(),
            server_events: Vec::new(),
            client_errors: Vec::new(),
            server_errors: Vec::new(),
            client_sent: Vec::new(),
            server_sent: Vec::new(),
            pending: None,
        }
    }

    /// An open pair with default configs.
    pub fn connect() -> Self {
        Self::connect_with(Config::default(), Config::default())
    }

    /// An open pair: request sent, accepted, response received.
    pub fn connect_with(client_config: Config, server_config: Config) -> Self {
        let mut pair = Self::connecting(client_config, server_config);
        pair.step();
        assert_eq!(pair.server_events, [Ev::Request]);
        pair.server_events.clear();
        pair.accept_pending(None);
        pair.step();
        assert_eq!(pair.client_events, [Ev::Open]);
        pair.client_events.clear();
        assert_eq!(pair.client.state(), ReadyState::Open);
        assert_eq!(pair.server.state(), ReadyState::Open);
        pair.client_sent.clear();
        pair.server_sent.clear();
        pair.assert_no_errors();
        pair
    }

    /// Moves what each side has to send to the other once, and collects the events.
    /// Returns whether any byte moved. A server's `Event::Request` is kept in the connection
    /// (see [`accept_pending`](Self::accept_pending)).
    pub fn step(&mut self) -> bool {
        let c2s = transmit(&mut self.client);
        if !c2s.is_empty() {
            self.client_sent.extend_from_slice(&c2s);
            if let Err(e) = self.server.receive_data(&c2s) {
                self.server_errors.push(e);
            }
        }
        let s2c = transmit(&mut self.server);
        if !s2c.is_empty() {
            self.server_sent.extend_from_slice(&s2c);
            if let Err(e) = self.client.receive_data(&s2c) {
                self.client_errors.push(e);
            }
        }
        self.collect();
        !c2s.is_empty() || !s2c.is_empty()
    }

    fn collect(&mut self) {
        while let Some(e) = self.client.poll_event() {
            self.client_events.push(e.into());
        }
        while let Some(e) = self.server.poll_event() {
            if let Event::Request(req) = e {
                self.pending = Some(req);
                self.server_events.push(Ev::Request);
            } else {
                self.server_events.push(e.into());
            }
        }
    }

    /// Steps until no byte moves.
    pub fn drive(&mut self) {
        for _ in 0..64 {
            if !self.step() {
                return;
            }
        }
        panic!("the pair keeps talking");
    }

    /// Accepts the request the server reported, choosing `protocol`.
    pub fn accept_pending(&mut self, protocol: Option<&str>) {
        let req = self.pending.take().expect("a pending request");
        let response = handshake::accept_response(&req.upgrade, protocol);
        self.server.accept(response).expect("accept");
    }

    pub fn assert_no_errors(&self) {
        assert!(
            self.client_errors.is_empty(),
            "client: {:?}",
            self.client_errors
        );
        assert!(
            self.server_errors.is_empty(),
            "server: {:?}",
            self.server_errors
        );
    }

    pub fn take_client_events(&mut self) -> Vec<Ev> {
        std::mem::take(&mut self.client_events)
    }

    pub fn take_server_events(&mut self) -> Vec<Ev> {
        std::mem::take(&mut self.server_events)
    }
}

// ------------------------------------------------------------------------------------------
// Raw frames
// ------------------------------------------------------------------------------------------

/// A frame built byte by byte, independently of `FrameHeader::encode`: any bits, any opcode,
/// any stated length, masked or not.
#[derive(Clone, Debug)]
pub struct RawFrame {
    fin: bool,
    rsv: u8,
    opcode: u8,
    mask: Option<[u8; 4]>,
    payload: Vec<u8>,
    stated_len: Option<u64>,
    force_len64: bool,
}

impl RawFrame {
    /// A final, unmasked frame with this opcode and payload.
    pub fn new(opcode: u8, payload: &[u8]) -> Self {
        Self {
            fin: true,
            rsv: 0,
            opcode,
            mask: None,
            payload: payload.to_vec(),
            stated_len: None,
            force_len64: false,
        }
    }

    pub fn text(payload: impl AsRef<[u8]>) -> Self {
        Self::new(0x1, payload.as_ref())
    }

    pub fn binary(payload: &[u8]) -> Self {
        Self::new(0x2, payload)
    }

    pub fn cont(payload: impl AsRef<[u8]>) -> Self {
        Self::new(0x0, payload.as_ref())
    }

    pub fn ping(payload: &[u8]) -> Self {
        Self::new(0x9, payload)
    }

    pub fn pong(payload: &[u8]) -> Self {
        Self::new(0xA, payload)
    }

    /// A close frame with a code and reason.
    pub fn close(code: u16, reason: &[u8]) -> Self {
        let mut payload = code.to_be_bytes().to_vec();
        payload.extend_from_slice(reason);
        Self::new(0x8, &payload)
    }

    pub fn fin(mut self, fin: bool) -> Self {
        self.fin = fin;
        self
    }

    /// Sets RSV1, RSV2 or RSV3 (`n` = 1, 2, 3).
    pub fn rsv(mut self, n: u8) -> Self {
        self.rsv |= 0x80 >> n;
        self
    }

    pub fn masked(mut self, key: [u8; 4]) -> Self {
        self.mask = Some(key);
        self
    }

    /// Masked with [`MASK`], as a client sends.
    pub fn client(self) -> Self {
        self.masked(MASK)
    }

    /// The header states this length whatever the payload is.
    pub fn stated_len(mut self, len: u64) -> Self {
        self.stated_len = Some(len);
        self
    }

    /// Uses the 8-byte length form even for a short payload.
    pub fn len64(mut self) -> Self {
        self.force_len64 = true;
        self
    }

    pub fn bytes(&self) -> Vec<u8> {
        let mut out = vec![u8::from(self.fin) << 7 | self.rsv | (self.opcode & 0x0F)];
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let len = self.stated_len.unwrap_or(self.payload.len() as u64);
        if self.force_len64 || len > 0xFFFF {
            out.push(mask_bit | 127);
            out.extend_from_slice(&len.to_be_bytes());
        } else if len > 125 {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            out.push(mask_bit | len as u8);
        }
        let mut payload = self.payload.clone();
        if let Some(key) = self.mask {
            out.extend_from_slice(&key);
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= key[i % 4];
            }
        }
        out.extend_from_slice(&payload);
        out
    }
}

/// Concatenates frames.
pub fn frames(list: &[RawFrame]) -> Vec<u8> {
    list.iter().flat_map(RawFrame::bytes).collect()
}

/// Splits a byte stream into frames, unmasking payloads. Panics on anything that is not a
/// sequence of complete frames.
pub fn decode_frames(mut bytes: &[u8]) -> Vec<(FrameHeader, Vec<u8>)> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (header, n) = match FrameHeader::decode(bytes) {
            Decoded::Header(h, n) => (h, n),
            other => panic!("not a complete frame: {other:?} in {}", hex(bytes)),
        };
        let len = header.payload_len as usize;
        assert!(bytes.len() >= n + len, "partial frame in {}", hex(bytes));
        let mut payload = bytes[n..n + len].to_vec();
        if let Some(key) = header.mask {
            apply_mask_bytewise(&mut payload, key, 0);
        }
        out.push((header, payload));
        bytes = &bytes[n + len..];
    }
    out
}

pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::new();
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        let _ = write!(s, "{b:02x}");
    }
    s
}

// ------------------------------------------------------------------------------------------
// Assertions
// ------------------------------------------------------------------------------------------

/// Asserts that the connection's pending output is exactly `expected`.
#[track_caller]
pub fn assert_frame_sent(conn: &mut Connection, expected: &[u8]) {
    let sent = transmit(conn);
    assert_eq!(
        hex(&sent),
        hex(expected),
        "sent bytes differ from the expected frame"
    );
}

/// Asserts that nothing is waiting to be sent.
#[track_caller]
pub fn assert_nothing_sent(conn: &mut Connection) {
    let sent = transmit(conn);
    assert!(sent.is_empty(), "unexpected output: {}", hex(&sent));
}

/// Asserts that `result` is the peer fault that fails `conn` with `code`: the error maps to
/// `code`, it is the connection's recorded fault, the state is Closed, the last thing in the
/// output is a close frame carrying exactly `code` (masked by role), and nothing more can be
/// sent. Returns the fault.
#[track_caller]
pub fn assert_failing(
    conn: &mut Connection,
    result: Result<(), Error>,
    code: u16,
) -> ProtocolError {
    let err = match result {
        Err(Error::Protocol(e)) => e,
        other => panic!("expected a protocol error answered with {code}, got {other:?}"),
    };
    assert_eq!(err.close_code(), CloseCode(code), "close code of {err:?}");
    assert_eq!(conn.state(), ReadyState::Closed);
    assert_eq!(conn.fault(), Some(&err));
    let sent = transmit(conn);
    let frames = decode_frames(&sent);
    let (header, payload) = frames.last().unwrap_or_else(|| {
        panic!("no close frame was sent for {err:?}");
    });
    assert_eq!(header.opcode, OpCode::Close, "last frame sent: {header:?}");
    assert!(header.fin);
    assert_eq!(
        header.mask.is_some(),
        conn.role() == Role::Client,
        "masking"
    );
    assert!(payload.len() >= 2, "close frame without a code");
    assert_eq!(u16::from_be_bytes([payload[0], payload[1]]), code);
    assert!(payload.len() <= 125);
    assert!(
        std::str::from_utf8(&payload[2..]).is_ok(),
        "reason is UTF-8"
    );
    assert_eq!(
        conn.close_sent().and_then(|c| c.code),
        Some(CloseCode(code))
    );
    // Failed: nothing more goes out, and later input is ignored.
    assert!(conn.send_text("x").is_err());
    assert!(conn.send_ping(b"").is_err());
    assert!(
        conn.receive_data(&RawFrame::text("x").client().bytes())
            .is_ok()
    );
    assert_nothing_sent(conn);
    err
}

/// Feeds `bytes` and asserts the connection fails with `code`.
#[track_caller]
pub fn assert_input_fails(conn: &mut Connection, bytes: &[u8], code: u16) -> ProtocolError {
    let result = conn.receive_data(bytes);
    assert_failing(conn, result, code)
}

/// The response a server would send for `response`, serialized.
pub fn response_bytes(response: &Response<()>) -> String {
    let mut out = Vec::new();
    handshake::write_response(response, &mut out);
    String::from_utf8(out).expect("ASCII head")
}
