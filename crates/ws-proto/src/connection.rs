//! [`Connection`]: one state machine for both roles, from the opening handshake to the end of
//! the close handshake.
//!
//! Its methods come in four groups, as in `quinn-proto`:
//!
//! - **getters**: [`state`](Connection::state), [`role`](Connection::role),
//!   [`close_code`](Connection::close_code), [`protocol`](Connection::protocol), …
//! - **input**: [`receive_data`](Connection::receive_data) and
//!   [`receive_eof`](Connection::receive_eof). They never panic; a peer fault fails the
//!   connection with the right close code and is also returned.
//! - **commands**: [`send_text`](Connection::send_text), [`send_binary`](Connection::send_binary),
//!   [`send_fragment`](Connection::send_fragment), [`send_ping`](Connection::send_ping),
//!   [`send_pong`](Connection::send_pong), [`send_close`](Connection::send_close),
//!   [`send_raw_frame`](Connection::send_raw_frame), [`fail`](Connection::fail), and on the
//!   server [`accept`](Connection::accept) / [`reject`](Connection::reject).
//! - **output**: [`poll_transmit`](Connection::poll_transmit) drains bytes to write into a
//!   caller-owned buffer; [`poll_event`](Connection::poll_event) yields [`Event`]s;
//!   [`should_close_transport`](Connection::should_close_transport) and
//!   [`close_expected`](Connection::close_expected) say what to do with the socket.
//!
//! Incoming payloads are unmasked in place in the input buffer and handed out as [`Bytes`]
//! slices of it, so a single-frame message is never copied after it is read. Text is checked
//! as it arrives, even inside a frame that is still incomplete, so invalid UTF-8 fails the
//! connection at the first byte that makes it invalid.

use std::collections::VecDeque;
use std::fmt;

use bytes::{Buf as _, Bytes, BytesMut};
use http::{Request, Response, StatusCode};

use crate::close::{CloseCode, CloseFrame};
use crate::deflate::{self, Codec, DeflateConfig, DeflateParams, InflateError};
use crate::error::{
    CutShort, Error, ExtensionError, HandshakeError, HeadLimit, ProtocolError, ResponseProblem,
    UsageError,
};
use crate::frame::{Decoded, FrameHeader, MAX_CONTROL_PAYLOAD, OpCode, apply_mask};
use crate::handshake::{
    self, BodyFraming, ChunkedDecoder, HandshakeLimits, Negotiated, UpgradeRequest, body_framing,
};
use crate::mask::{MaskSource, OsRandom};
use crate::position::{MessageNumbering, MessagePosition};
use crate::utf8::{Utf8Bytes, Utf8Validator};

/// Which end of the connection this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Sends masked frames; waits for the server to close TCP.
    Client,
    /// Sends unmasked frames; closes TCP first.
    Server,
}

/// The connection's state, numbered as the browser's `WebSocket.readyState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum ReadyState {
    /// 0: the opening handshake is under way.
    Connecting = 0,
    /// 1: open; messages flow both ways.
    Open = 1,
    /// 2: a close frame was sent or received, and the other is awaited.
    Closing = 2,
    /// 3: the close handshake completed, or the connection failed.
    Closed = 3,
}

impl ReadyState {
    /// The browser's upper-case name: `CONNECTING`, `OPEN`, `CLOSING`, `CLOSED`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Connecting => "CONNECTING",
            Self::Open => "OPEN",
            Self::Closing => "CLOSING",
            Self::Closed => "CLOSED",
        }
    }
}

impl fmt::Display for ReadyState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", *self as u8, self.name())
    }
}

/// The direction of a reported frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Received from the peer.
    Incoming,
    /// Sent to the peer.
    Outgoing,
}

/// The type of a data message, for [`Connection::send_fragment`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// A text message (opcode 0x1).
    Text,
    /// A binary message (opcode 0x2).
    Binary,
}

impl MessageKind {
    fn opcode(self) -> OpCode {
        match self {
            Self::Text => OpCode::Text,
            Self::Binary => OpCode::Binary,
        }
    }
}

/// Options of a [`Connection`]. The defaults are safe for a connection to an untrusted peer.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Answer every ping with a pong carrying the same payload (default on). Turn it off to
    /// answer pings yourself, or not at all, with [`Connection::send_pong`].
    pub auto_pong: bool,
    /// Answer the peer's close frame with a close frame echoing its code and reason (default
    /// on); an empty close is answered with an empty one. Off, the connection stays in
    /// [`ReadyState::Closing`] until [`Connection::send_close`].
    ///
    /// RFC 6455 §5.5.1 says the reply typically echoes the status code; the reason is echoed
    /// too because that is what peers expect: browsers, tokio-tungstenite and Python
    /// `websockets` all send both back, and a browser's `close(4000, "bye")` should see
    /// `4000` and `"bye"` in its `close` event, as it would against any of those servers.
    pub auto_close_reply: bool,
    /// The largest frame payload accepted (default 16 MiB). A frame's length is known from its
    /// header, so a larger one fails with 1009 before any of its payload is buffered.
    pub max_frame_size: usize,
    /// The largest message accepted, counted after any decompression (default 16 MiB, as large
    /// as Autobahn's biggest case). This bounds the memory one peer can make us hold.
    pub max_message_size: usize,
    /// The most frames one message may be split into (default 262,144: four times the 65,536
    /// of Autobahn's most fragmented case). It bounds the work an endless stream of tiny
    /// continuation frames can cause without ever completing a message.
    pub max_fragments: usize,
    /// Report every frame, both directions, as [`Event::Frame`], each with its place in
    /// its message ([`Frame::message`]; default off: it costs a copy of each outgoing
    /// payload).
    pub report_frames: bool,
    /// Stop parsing after each message-level event (text, binary, ping, pong, close) until
    /// [`Connection::receive_data`] is called again — with an empty slice to just resume
    /// (default off). A caller that answers each message before the next one is parsed gets
    /// the strict ordering of a blocking, frame-by-frame reader: a reply to a message goes
    /// out before the connection fails on a broken frame that followed it in the same read.
    /// [`Connection::is_paused`] says whether parsing stopped with input left.
    pub pause_after_message: bool,
    /// Deliver a fragmented message frame by frame, as [`Event::Fragment`]s, instead of
    /// whole (default off). Each fragment's data is that frame's payload — inflated, if the
    /// message is compressed — and is given as soon as its frame is complete, so nothing of
    /// the message is held: a relay can forward a message with the boundaries it had, and a
    /// reader can take a message larger than it wants to buffer. A message in one frame is
    /// still a [`Event::Text`] or [`Event::Binary`]. Every check stays as it is: text is
    /// checked for UTF-8 across the fragments (an error fails the connection after the
    /// fragments before it were given), and [`max_message_size`](Self::max_message_size)
    /// and [`max_fragments`](Self::max_fragments) count the whole message. With
    /// [`pause_after_message`](Self::pause_after_message), parsing stops after each fragment.
    pub deliver_fragments: bool,
    /// Limits for the opening handshake.
    pub handshake_limits: HandshakeLimits,
    /// permessage-deflate (RFC 7692), off by default. With it, a client built by a transport
    /// offers [`DeflateConfig::offer`] and a server accepts offers with
    /// [`deflate::negotiate`]; the connection compresses and inflates as the handshake agreed.
    /// A client whose request carried a permessage-deflate offer uses the extension if the
    /// server accepts it even when this is `None` (with default settings).
    pub deflate: Option<DeflateConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            auto_pong: true,
            auto_close_reply: true,
            max_frame_size: 16 << 20,
            max_message_size: 16 << 20,
            max_fragments: 1 << 18,
            report_frames: false,
            pause_after_message: false,
            deliver_fragments: false,
            handshake_limits: HandshakeLimits::default(),
            deflate: None,
        }
    }
}

/// A frame as it was on the wire, reported when [`Config::report_frames`] is on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Incoming or outgoing.
    pub direction: Direction,
    /// The header as sent or received, mask key included.
    pub header: FrameHeader,
    /// The payload, unmasked — as on the wire, so compressed if `header.rsv1` or an earlier
    /// frame of its message says so.
    pub payload: Bytes,
    /// For a frame of a compressed message: the size of its payload once inflated (or, sent,
    /// before it was deflated). `None` for frames that carry no compressed data.
    pub decompressed_len: Option<usize>,
    /// Where the frame stands in its message: which message, which part of it, the
    /// message's type and its bytes before this frame. The engine gives every frame it
    /// reports its position (see [`MessageNumbering`]); `None` is for frames made
    /// elsewhere, such as a record that predates positions.
    pub message: Option<MessagePosition>,
}

impl Frame {
    /// A frame with no compressed data and no known position, as a test or a reader of
    /// old records makes one.
    pub fn new(direction: Direction, header: FrameHeader, payload: Bytes) -> Self {
        Self {
            direction,
            header,
            payload,
            decompressed_len: None,
            message: None,
        }
    }
}

/// A client's successful opening handshake.
#[derive(Clone, Debug)]
pub struct Opened {
    /// The server's 101 response.
    pub response: Response<()>,
    /// The response head exactly as received.
    pub head: Bytes,
    /// The subprotocol and extensions the server chose.
    pub negotiated: Negotiated,
}

/// A server's view of a valid upgrade request, waiting for [`Connection::accept`] or
/// [`Connection::reject`].
#[derive(Clone, Debug)]
pub struct Requested {
    /// The checked request.
    pub upgrade: UpgradeRequest,
    /// The request head exactly as received.
    pub head: Bytes,
}

/// What a connection reports. Message events come after the [`Frame`] events of their frames.
#[non_exhaustive]
#[derive(Clone, Debug)]
pub enum Event {
    /// Server: a valid upgrade request; answer with `accept` or `reject`.
    Request(Box<Requested>),
    /// Client: the server accepted the upgrade; the connection is open.
    Open(Box<Opened>),
    /// A frame, sent or received.
    Frame(Frame),
    /// A complete text message.
    Text(Utf8Bytes),
    /// A complete binary message.
    Binary(Bytes),
    /// A ping (answered already if [`Config::auto_pong`] is on).
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// One frame's part of a fragmented message, with [`Config::deliver_fragments`] on: the
    /// first has the message's type, the last has `fin` set, and control frames may come
    /// between them. The data of a text message's fragment may end inside a character (the
    /// whole message is checked for UTF-8 as it arrives).
    Fragment {
        /// Text or binary: the message's type.
        kind: MessageKind,
        /// The frame's payload, inflated if the message is compressed.
        data: Bytes,
        /// Whether this fragment ends the message.
        fin: bool,
    },
    /// The peer's close frame (answered already, with its code and reason echoed, if
    /// [`Config::auto_close_reply`] is on and this side had not sent a close first).
    Close(CloseFrame),
}

/// Where the opening handshake stands.
#[derive(Debug)]
enum Handshake {
    /// Client: the request was sent; the response is awaited.
    AwaitingResponse(Box<Request<()>>),
    /// Client: a non-101 response arrived; its body is being read.
    ReadingRejection {
        response: Box<Response<()>>,
        framing: BodyFraming,
        /// The body decoded so far, when `framing` is chunked (boxed: the state is kept
        /// small for the open connection that follows most handshakes).
        chunked: Box<ChunkedDecoder>,
    },
    /// Server: the request is awaited.
    AwaitingRequest,
    /// Server: the request was reported; `accept` or `reject` is awaited. `offers`: the
    /// request's extension offers, for the answer.
    AwaitingAnswer { offers: Vec<String> },
    /// Done, one way or the other.
    Done,
}

/// How far the input has been searched for the end of an HTTP head, so that each byte is
/// looked at once however the head is split into reads: re-parsing the whole buffer on every
/// read would let a peer that sends its head a byte at a time cost quadratic time.
#[derive(Clone, Copy, Debug, Default)]
struct HeadScan {
    /// Bytes of the input already looked at.
    scanned: usize,
    /// Where the line being scanned starts.
    line_start: usize,
}

impl HeadScan {
    /// Whether parsing the head could now give an answer other than "incomplete": its end is
    /// in view, a line is over the limit, or the input has reached the head size limit.
    fn ready(&mut self, input: &[u8], limits: &HandshakeLimits) -> bool {
        let end = input.len().min(limits.max_head_size);
        let mut ready = false;
        for i in self.scanned..end {
            if input[i] == b'\n' {
                let terminated = i >= 3 && input[i - 3..=i] == *b"\r\n\r\n";
                let line = handshake::line_len(&input[self.line_start..i]);
                ready |= terminated || line > limits.max_line_len;
                self.line_start = i + 1;
            }
        }
        self.scanned = self.scanned.max(end);
        ready
            || input.len() >= limits.max_head_size
            || handshake::line_len(&input[self.line_start.min(input.len())..]) > limits.max_line_len
    }
}

/// The frame whose payload is being received.
#[derive(Clone, Copy, Debug)]
struct InFrame {
    header: FrameHeader,
    /// Payload bytes already unmasked (and checked, for text).
    processed: usize,
    /// Whether the payload is part of a text message (checked as it arrives unless compressed).
    text: bool,
    /// Whether the payload is compressed (RSV1 on the message's first frame).
    compressed: bool,
}

/// A fragmented message being received.
#[derive(Debug)]
struct InMessage {
    kind: MessageKind,
    /// The payload so far, inflated if the message is compressed.
    data: Vec<u8>,
    fragments: usize,
    compressed: bool,
    /// Bytes received on the wire for this message.
    wire_len: u64,
    /// Inflated bytes given as [`Event::Fragment`]s and no longer in `data` (which keeps
    /// the last deflate window of them: a stream that restarts mid-message is primed with
    /// it).
    dropped: usize,
}

/// A WebSocket connection, either role, with no I/O of its own.
pub struct Connection {
    role: Role,
    config: Config,
    state: ReadyState,
    handshake: Handshake,
    negotiated: Negotiated,
    input: BytesMut,
    in_frame: Option<InFrame>,
    /// Boxed, as are the close frames and the fault below: each is rare or short-lived, and
    /// an idle connection is the size of what it carries inline.
    in_message: Option<Box<InMessage>>,
    utf8: Utf8Validator,
    output: BytesMut,
    events: VecDeque<Event>,
    /// Where client masks come from; made on the first masked frame (a server never needs
    /// one, and the default source holds a kilobyte of random bytes).
    masks: Option<Box<dyn MaskSource>>,
    /// The type of the fragmented message being sent, if any, and whether it is compressed.
    out_message: Option<(MessageKind, bool)>,
    /// permessage-deflate at work, once agreed. Boxed: its state is 320 bytes, which a
    /// connection without the extension (most servers' idle connections) need not carry.
    deflate: Option<Box<Codec>>,
    close_sent: Option<Box<CloseFrame>>,
    close_received: Option<Box<CloseFrame>>,
    fault: Option<Box<ProtocolError>>,
    eof_received: bool,
    /// Whether the opening handshake succeeded (the state reached Open).
    opened: bool,
    /// How far the search for the end of the peer's HTTP head has got.
    head_scan: HeadScan,
    /// Parsing stopped after a message (see [`Config::pause_after_message`]).
    paused: bool,
    /// The message numbering of the frames reported, received and sent (with
    /// [`Config::report_frames`]).
    /// Made with the first report (boxed: most connections never report frames).
    numbering: Option<Box<[MessageNumbering; 2]>>,
}

/// Room reserved past the end of a large frame being read (see [`Connection::input_room`]).
const FRAME_SLACK: usize = 4 * 1024;

/// The most bytes [`Connection::return_input_buffer`] copies from a caller's buffer into the
/// connection's own to use its block again.
const RECLAIM_COPY_LIMIT: usize = 16 * 1024;

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.role)
            .field("state", &self.state)
            .field("buffered_input", &self.input.len())
            .field("pending_output", &self.output.len())
            .field("pending_events", &self.events.len())
            .field("close_sent", &self.close_sent)
            .field("close_received", &self.close_received)
            .field("fault", &self.fault)
            .finish_non_exhaustive()
    }
}

/// The buffers of a waiting connection, moved out with
/// [`Connection::take_idle_buffers`] and given to a connection with
/// [`Connection::reuse_buffers`]. Each may be empty (no block).
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct IdleBuffers {
    /// The input buffer: empty, its capacity what is left of its block past the bytes
    /// already parsed (`BytesMut::try_reclaim` gets the rest back once no message shares it).
    pub input: BytesMut,
    /// The output buffer, empty.
    pub output: BytesMut,
    /// The event queue, empty.
    pub events: VecDeque<Event>,
}

/// Moves `buffer` out when it is empty and holds a block, leaving an empty one without a block.
fn take_if_idle<T: Default>(
    buffer: &mut T,
    is_empty: impl Fn(&T) -> bool,
    capacity: impl Fn(&T) -> usize,
) -> T {
    if is_empty(buffer) && capacity(buffer) > 0 {
        std::mem::take(buffer)
    } else {
        T::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Construction
// ---------------------------------------------------------------------------------------------

impl Connection {
    /// A client that has sent `request` (built with [`handshake::client_request`] and perhaps
    /// edited): the request bytes are waiting in [`poll_transmit`](Self::poll_transmit). The
    /// answer is checked against this request's key, subprotocols and extensions. With
    /// [`Config::deflate`] set and no permessage-deflate offer in the request, its offer is
    /// added to `Sec-WebSocket-Extensions`.
    pub fn client(mut request: Request<()>, config: Config) -> Self {
        if let Some(deflate) = &config.deflate {
            deflate::add_offer(&mut request, deflate);
        }
        let mut conn = Self::new(Role::Client, config, ReadyState::Connecting);
        let mut head = Vec::with_capacity(256);
        handshake::write_request(&request, &mut head);
        conn.output.extend_from_slice(&head);
        conn.handshake = Handshake::AwaitingResponse(Box::new(request));
        conn
    }

    /// A server waiting for the client's upgrade request.
    pub fn server(config: Config) -> Self {
        let mut conn = Self::new(Role::Server, config, ReadyState::Connecting);
        conn.handshake = Handshake::AwaitingRequest;
        conn
    }

    /// A connection whose opening handshake happened elsewhere (e.g. in an HTTP framework),
    /// already open, with the given negotiated subprotocol and extensions.
    pub fn open(role: Role, config: Config, negotiated: Negotiated) -> Self {
        let mut conn = Self::new(role, config, ReadyState::Open);
        conn.set_up_extensions(&negotiated);
        conn.negotiated = negotiated;
        conn
    }

    fn new(role: Role, config: Config, state: ReadyState) -> Self {
        Self {
            role,
            config,
            state,
            handshake: Handshake::Done,
            negotiated: Negotiated::default(),
            // The buffers grow on demand: an idle connection holds none (a preallocated
            // 8 KiB input buffer was half of an idle server connection's memory).
            input: BytesMut::new(),
            in_frame: None,
            in_message: None,
            utf8: Utf8Validator::new(),
            output: BytesMut::new(),
            events: VecDeque::new(),
            masks: None,
            out_message: None,
            deflate: None,
            close_sent: None,
            close_received: None,
            fault: None,
            eof_received: false,
            opened: state == ReadyState::Open,
            head_scan: HeadScan::default(),
            paused: false,
            numbering: None,
        }
    }

    /// Turns on permessage-deflate as recorded in `negotiated` (for [`open`](Self::open)); an
    /// answer element that does not parse leaves the extension off.
    fn set_up_extensions(&mut self, negotiated: &Negotiated) {
        self.deflate = negotiated
            .extensions
            .iter()
            .find(|e| deflate::is_deflate(e))
            .and_then(|e| DeflateParams::parse_response(e).ok())
            .map(|p| Box::new(Codec::new(self.role, p, self.config.deflate.as_ref())));
    }

    /// Whether outgoing data messages are compressed when permessage-deflate is in use
    /// (default on). Turned off, messages go out plain (RSV1 clear), which RFC 7692 allows;
    /// incoming compressed messages are inflated either way.
    pub fn set_compression(&mut self, enabled: bool) {
        if let Some(codec) = &mut self.deflate {
            codec.enabled = enabled;
        }
    }

    /// Replaces the source of client masking keys (by default the OS's random generator).
    pub fn set_mask_source(&mut self, source: Box<dyn MaskSource>) {
        self.masks = Some(source);
    }
}

// ---------------------------------------------------------------------------------------------
// Getters
// ---------------------------------------------------------------------------------------------

impl Connection {
    /// Client or server.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The ready state.
    pub fn state(&self) -> ReadyState {
        self.state
    }

    /// The options in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The subprotocol agreed in the handshake.
    pub fn protocol(&self) -> Option<&str> {
        self.negotiated.protocol.as_deref()
    }

    /// The extensions agreed in the handshake, as header elements.
    pub fn extensions(&self) -> &[String] {
        &self.negotiated.extensions
    }

    /// The permessage-deflate parameters agreed in the handshake, if the extension is in use.
    pub fn deflate(&self) -> Option<&DeflateParams> {
        self.deflate.as_deref().map(Codec::params)
    }

    /// The close frame this side sent, if any.
    pub fn close_sent(&self) -> Option<&CloseFrame> {
        self.close_sent.as_deref()
    }

    /// The close frame the peer sent, if any.
    pub fn close_received(&self) -> Option<&CloseFrame> {
        self.close_received.as_deref()
    }

    /// The connection close code (RFC 6455 §7.1.5): the code of the peer's close frame, 1005
    /// if it had none, 1006 if the connection ended without one; `None` while still open.
    pub fn close_code(&self) -> Option<CloseCode> {
        match (&self.close_received, self.state) {
            (Some(frame), _) => Some(frame.code_or_no_status()),
            (None, ReadyState::Closed) => Some(CloseCode::ABNORMAL),
            (None, _) => None,
        }
    }

    /// The reason of the peer's close frame (empty if none).
    pub fn close_reason(&self) -> &str {
        self.close_received
            .as_ref()
            .map_or("", |f| f.reason.as_str())
    }

    /// Whether the close handshake completed: a close frame went each way.
    pub fn was_clean(&self) -> bool {
        self.close_sent.is_some() && self.close_received.is_some() && self.fault.is_none()
    }

    /// The peer fault that failed the connection, if one did.
    pub fn fault(&self) -> Option<&ProtocolError> {
        self.fault.as_deref()
    }

    /// Bytes waiting in [`poll_transmit`](Self::poll_transmit).
    pub fn pending_output(&self) -> usize {
        self.output.len()
    }

    /// Whether parsing stopped after a message with input left to parse (only with
    /// [`Config::pause_after_message`]); `receive_data(&[])` resumes.
    pub fn is_paused(&self) -> bool {
        self.paused && !self.input.is_empty() && !self.discards_input()
    }
}

// ---------------------------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------------------------

impl Connection {
    /// Feeds bytes read from the peer. Any split is fine: the bytes are buffered until a head
    /// or frame is complete (text is checked even before its frame is complete).
    ///
    /// On a peer fault the connection is failed — a close frame with the fault's code waits in
    /// the output, the state is [`Closed`](ReadyState::Closed) — and the fault is returned.
    /// Data arriving after that, or after the peer's close frame, is discarded.
    pub fn receive_data(&mut self, data: &[u8]) -> Result<(), Error> {
        if self.discards_input() {
            return Ok(());
        }
        self.input.extend_from_slice(data);
        self.receive_buffered()
    }

    /// The input buffer, to read into in place: append the bytes read from the peer to its
    /// end (e.g. with tokio's `AsyncReadExt::read_buf`), then call
    /// [`receive_buffered`](Self::receive_buffered). This spares the copy that
    /// [`receive_data`](Self::receive_data) makes, which shows on large messages.
    ///
    /// At least `room` bytes of spare capacity are reserved first (more if a frame that has
    /// begun needs more: up to its end and 4 KiB past it, see
    /// [`input_room`](Self::input_room)), so one read can take a whole message. Only append:
    /// bytes already in the buffer are not parsed yet, and changing them changes what the
    /// peer is taken to have sent.
    // This, `input_room`, `buffered_input`, `poll_event` and `peek_event` are `#[inline]`: a
    // transport calls them around every read, across the crate boundary (callgrind, a 16 B
    // echo on `WsStream`: 73 instructions fewer with them inlined).
    #[inline]
    pub fn input_buffer(&mut self, room: usize) -> &mut BytesMut {
        self.input.reserve(self.input_room(room));
        &mut self.input
    }

    /// The spare room [`input_buffer`](Self::input_buffer) reserves for `room`: `room`, or
    /// more if a frame that has begun needs more — up to its end and a little past it
    /// (4 KiB), so that the read that ends the frame does not fill its room
    /// exactly: a reader that fills its room reads again at once (tokio does), and with the
    /// frame complete that read finds nothing, one wasted system call per message.
    #[inline]
    pub fn input_room(&self, room: usize) -> usize {
        let frame_rest = self.in_frame.as_ref().map_or(0, |frame| {
            (frame.header.payload_len as usize)
                .saturating_sub(self.input.len())
                .saturating_add(FRAME_SLACK)
        });
        room.max(frame_rest)
    }

    /// Bytes received and not parsed yet.
    #[inline]
    pub fn buffered_input(&self) -> usize {
        self.input.len()
    }

    /// Moves the input buffer out — the bytes not parsed yet, with at least `room` bytes of
    /// spare capacity as [`input_buffer`](Self::input_buffer) reserves them — so that the
    /// caller can read into it while the connection is used elsewhere (a task that reads the
    /// socket while others send through a lock held only for moments). Give it back with
    /// [`return_input_buffer`](Self::return_input_buffer) before feeding more input or
    /// [`receive_eof`](Self::receive_eof); until then the connection holds no input.
    pub fn take_input_buffer(&mut self, room: usize) -> BytesMut {
        self.input_buffer(room);
        std::mem::take(&mut self.input)
    }

    /// Puts back a buffer taken with [`take_input_buffer`](Self::take_input_buffer), with the
    /// bytes read appended; [`receive_buffered`](Self::receive_buffered) parses them. (Input
    /// fed with [`receive_data`](Self::receive_data) while the buffer was out is a misuse:
    /// it is kept, behind the buffer's bytes, but it was parsed out of order.)
    ///
    /// `buf` may also be a buffer of the caller's own, read into while this connection held
    /// no input — a reader that reads ahead while the application still holds the last
    /// message, which shares this connection's buffer, so that reserving room in it then
    /// would take a new block. If this connection's buffer can take `buf`'s bytes without
    /// allocating by then (the application has let go of the message) and they are few (at
    /// most 16 KiB), they are copied into it and its block is used again; otherwise `buf`
    /// becomes the input buffer. Returns the buffer not kept, emptied (`buf`, or the one it
    /// replaced), for the caller to read into again or drop.
    pub fn return_input_buffer(&mut self, mut buf: BytesMut) -> BytesMut {
        if self.input.is_empty()
            && !buf.is_empty()
            && buf.len() <= RECLAIM_COPY_LIMIT
            && self.input.try_reclaim(buf.len())
        {
            self.input.extend_from_slice(&buf);
            buf.clear();
            return buf;
        }
        let mut fed_meanwhile = std::mem::replace(&mut self.input, buf);
        if !fed_meanwhile.is_empty() {
            self.input.extend_from_slice(&fed_meanwhile);
            fed_meanwhile.clear();
        }
        fed_meanwhile
    }

    /// Lets go of the buffers a connection waiting for its peer does not need: the input
    /// buffer, the event queue and the output buffer, each if it is empty. A transport calls
    /// this before it waits, so that an idle connection keeps only its state (about 700
    /// bytes) instead of buffers sized by its last traffic; the next read, event or frame
    /// allocates again. A transport reading a stream of large messages should not: the next
    /// message reuses the last one's input buffer once the application has let go of it,
    /// which a released buffer cannot. [`take_idle_buffers`](Self::take_idle_buffers) moves
    /// them out instead, for another connection to use.
    pub fn release_idle_buffers(&mut self) {
        drop(self.take_idle_buffers());
    }

    /// Moves out the buffers [`release_idle_buffers`](Self::release_idle_buffers) lets go
    /// of, so that a transport can keep a few for the next connection that reads
    /// ([`reuse_buffers`](Self::reuse_buffers)): with many connections that each wait
    /// between messages, an allocation and a free of each buffer per message is otherwise
    /// the price of holding none while waiting. The input buffer may still share its block
    /// with messages the application holds.
    pub fn take_idle_buffers(&mut self) -> IdleBuffers {
        // Built whole rather than from `IdleBuffers::default()` field by field: that dropped
        // three empty buffers on every wait (with the skipped drop in `reuse_buffers`, 132
        // of a 16 B echo's 3,493 instructions on `WsStream`, callgrind).
        IdleBuffers {
            input: take_if_idle(&mut self.input, BytesMut::is_empty, BytesMut::capacity),
            output: take_if_idle(&mut self.output, BytesMut::is_empty, BytesMut::capacity),
            events: take_if_idle(&mut self.events, VecDeque::is_empty, VecDeque::capacity),
        }
    }

    /// Takes each of `buffers` (emptied) that this connection has no buffer of its own for,
    /// and drops the others.
    pub fn reuse_buffers(&mut self, buffers: IdleBuffers) {
        let IdleBuffers {
            mut input,
            mut output,
            mut events,
        } = buffers;
        if self.input.capacity() == 0 && self.input.is_empty() {
            input.clear();
            std::mem::swap(&mut self.input, &mut input);
        }
        if self.output.capacity() == 0 && self.output.is_empty() {
            output.clear();
            std::mem::swap(&mut self.output, &mut output);
        }
        if self.events.capacity() == 0 {
            events.clear();
            std::mem::swap(&mut self.events, &mut events);
        }
        // What is left in `events` is the connection's old queue (no block) or a queue this
        // connection did not need; one without a block owns nothing, and skipping its drop
        // glue saves its walk over two empty slices.
        if events.capacity() == 0 {
            std::mem::forget(events);
        }
    }

    /// Parses what was appended to [`input_buffer`](Self::input_buffer): the same as
    /// [`receive_data`](Self::receive_data) with those bytes.
    pub fn receive_buffered(&mut self) -> Result<(), Error> {
        if self.discards_input() {
            self.input.clear();
            return Ok(());
        }
        // A client may not send frames before the 101; what it sends while the application
        // decides is kept for after `accept`, but bounded like a head.
        if matches!(self.handshake, Handshake::AwaitingAnswer { .. })
            && self.input.len() > self.config.handshake_limits.max_head_size
        {
            return Err(self.fail_handshake(HandshakeError::TooLarge(HeadLimit::EarlyData)));
        }
        self.paused = false;
        self.process()
    }

    /// Tells the connection that the peer closed its side of the TCP connection.
    ///
    /// Before the peer's close frame arrived that is an abnormal closure (1006), returned as
    /// [`ProtocolError::AbnormalClosure`]; during the opening handshake it is
    /// [`HandshakeError::UnexpectedEof`] — or, if the server was sending a non-101 answer
    /// whose body runs until EOF, the [`HandshakeError::Rejected`] error with that body.
    pub fn receive_eof(&mut self) -> Result<(), Error> {
        if self.eof_received {
            return Ok(());
        }
        self.eof_received = true;
        let handshake = std::mem::replace(&mut self.handshake, Handshake::Done);
        match handshake {
            Handshake::ReadingRejection {
                response,
                framing,
                mut chunked,
            } => {
                let limit = self.config.handshake_limits.max_body_size;
                let raw = self.input.split();
                let mut body = match framing {
                    BodyFraming::Chunked => {
                        chunked.feed(&raw);
                        chunked.body
                    }
                    _ => raw.to_vec(),
                };
                body.truncate(limit);
                let body = Bytes::from(body);
                self.state = ReadyState::Closed;
                Err(HandshakeError::Rejected { response, body }.into())
            }
            Handshake::AwaitingResponse(_)
            | Handshake::AwaitingRequest
            | Handshake::AwaitingAnswer { .. } => {
                self.state = ReadyState::Closed;
                Err(HandshakeError::UnexpectedEof.into())
            }
            Handshake::Done => {
                let cut = match &self.in_frame {
                    Some(frame) => Some(CutShort::Payload {
                        received: self.input.len() as u64,
                        length: frame.header.payload_len,
                    }),
                    None if !self.input.is_empty() => Some(CutShort::Header {
                        received: self.input.len(),
                    }),
                    None => None,
                };
                self.input.clear();
                self.in_frame = None;
                self.in_message = None;
                if self.state == ReadyState::Closed {
                    return Ok(());
                }
                self.state = ReadyState::Closed;
                if self.close_received.is_some() {
                    // The peer's close frame arrived and was not answered yet (automatic reply
                    // off): the close code is the peer's (RFC 6455 §7.1.5), and ending TCP
                    // after a close frame is no fault.
                    return Ok(());
                }
                let err = ProtocolError::AbnormalClosure { cut };
                self.fault = Some(Box::new(err.clone()));
                Err(err.into())
            }
        }
    }

    fn discards_input(&self) -> bool {
        self.eof_received
            || self.fault.is_some()
            || (self.state == ReadyState::Closed && matches!(self.handshake, Handshake::Done))
            || self.close_received.is_some()
    }

    fn process(&mut self) -> Result<(), Error> {
        match self.handshake {
            Handshake::Done => {}
            Handshake::AwaitingAnswer { .. } => return Ok(()),
            _ => {
                self.process_handshake()?;
                if !matches!(self.handshake, Handshake::Done) || self.state != ReadyState::Open {
                    return Ok(());
                }
            }
        }
        self.process_frames()
    }

    fn process_handshake(&mut self) -> Result<(), Error> {
        let limits = self.config.handshake_limits;
        match &self.handshake {
            Handshake::AwaitingResponse(_) => {
                if !self.head_scan.ready(&self.input, &limits) {
                    return Ok(());
                }
                let (response, end) = match handshake::parse_response(&self.input, &limits) {
                    Ok(Some(parsed)) => parsed,
                    Ok(None) => return Ok(()),
                    Err(e) => return Err(self.fail_handshake(e)),
                };
                let head = self.input.split_to(end).freeze();
                let Handshake::AwaitingResponse(request) =
                    std::mem::replace(&mut self.handshake, Handshake::Done)
                else {
                    unreachable!("matched above")
                };
                if response.status() != StatusCode::SWITCHING_PROTOCOLS {
                    let framing = body_framing(&response);
                    self.handshake = Handshake::ReadingRejection {
                        response: Box::new(response),
                        framing,
                        chunked: Box::default(),
                    };
                    return self.process_rejection_body();
                }
                let checked = handshake::check_response(&request, &response).and_then(|n| {
                    let offers = handshake::header_tokens(
                        request.headers(),
                        &http::header::SEC_WEBSOCKET_EXTENSIONS,
                    );
                    let mut answers = n.extensions.iter().filter(|e| deflate::is_deflate(e));
                    let params = match (answers.next(), answers.next()) {
                        (None, _) => None,
                        (Some(_), Some(_)) => return Err(ResponseProblem::DeflateTwice),
                        (Some(answer), None) => Some(
                            deflate::check_response(answer, &offers)
                                .map_err(ResponseProblem::Deflate)?,
                        ),
                    };
                    Ok((n, params))
                });
                match checked {
                    Ok((negotiated, params)) => {
                        self.deflate = params.map(|p| {
                            Box::new(Codec::new(self.role, p, self.config.deflate.as_ref()))
                        });
                        self.negotiated = negotiated.clone();
                        self.state = ReadyState::Open;
                        self.opened = true;
                        self.events.push_back(Event::Open(Box::new(Opened {
                            response,
                            head,
                            negotiated,
                        })));
                        Ok(())
                    }
                    Err(problem) => Err(self.fail_handshake(HandshakeError::InvalidResponse {
                        problem,
                        response: Box::new(response),
                    })),
                }
            }
            Handshake::ReadingRejection { .. } => self.process_rejection_body(),
            Handshake::AwaitingRequest => {
                if !self.head_scan.ready(&self.input, &limits) {
                    return Ok(());
                }
                let (request, end) = match handshake::parse_request(&self.input, &limits) {
                    Ok(Some(parsed)) => parsed,
                    Ok(None) => return Ok(()),
                    Err(e) => {
                        let status = match e {
                            HandshakeError::TooLarge(_) => {
                                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
                            }
                            _ => StatusCode::BAD_REQUEST,
                        };
                        let mut out = Vec::new();
                        handshake::error_response(status, e.to_string().as_bytes(), &mut out);
                        self.output.extend_from_slice(&out);
                        return Err(self.fail_handshake(e));
                    }
                };
                let head = self.input.split_to(end).freeze();
                match handshake::check_request(request) {
                    Ok(upgrade) => {
                        self.handshake = Handshake::AwaitingAnswer {
                            offers: upgrade.extensions.clone(),
                        };
                        self.events
                            .push_back(Event::Request(Box::new(Requested { upgrade, head })));
                        Ok(())
                    }
                    Err(fault) => {
                        let mut out = Vec::new();
                        let body = fault.problem.to_string();
                        handshake::error_response(fault.status, body.as_bytes(), &mut out);
                        self.output.extend_from_slice(&out);
                        Err(self.fail_handshake(HandshakeError::InvalidRequest {
                            problem: fault.problem,
                            status: fault.status,
                        }))
                    }
                }
            }
            Handshake::AwaitingAnswer { .. } | Handshake::Done => Ok(()),
        }
    }

    fn process_rejection_body(&mut self) -> Result<(), Error> {
        let Handshake::ReadingRejection {
            framing, chunked, ..
        } = &mut self.handshake
        else {
            return Ok(());
        };
        let limit = self.config.handshake_limits.max_body_size;
        let body = match *framing {
            BodyFraming::Length(n) if self.input.len() >= n.min(limit) => {
                self.input.split_to(n.min(limit)).freeze()
            }
            BodyFraming::Chunked => {
                // Each byte is decoded once and dropped; the decoded body is kept.
                let done = chunked.feed(&self.input);
                self.input.clear();
                if !done && chunked.body.len() < limit {
                    return Ok(());
                }
                Bytes::from(std::mem::take(&mut chunked.body))
            }
            BodyFraming::UntilEof if self.input.len() >= limit => {
                self.input.split_to(limit).freeze()
            }
            _ => return Ok(()),
        };
        let body = body.slice(..body.len().min(limit));
        let Handshake::ReadingRejection { response, .. } =
            std::mem::replace(&mut self.handshake, Handshake::Done)
        else {
            unreachable!("matched above")
        };
        self.state = ReadyState::Closed;
        self.input.clear();
        Err(HandshakeError::Rejected { response, body }.into())
    }

    fn fail_handshake(&mut self, err: HandshakeError) -> Error {
        self.handshake = Handshake::Done;
        self.state = ReadyState::Closed;
        self.input.clear();
        err.into()
    }

    fn process_frames(&mut self) -> Result<(), Error> {
        loop {
            if self.discards_input() {
                self.input.clear();
                return Ok(());
            }
            if self.paused {
                return Ok(());
            }
            let mut frame = match self.in_frame {
                Some(frame) => frame,
                None => match FrameHeader::decode(&self.input) {
                    Decoded::NeedMore(_) => return Ok(()),
                    Decoded::LengthTopBitSet => {
                        return Err(self.fail_peer(ProtocolError::LengthTopBitSet));
                    }
                    Decoded::Header(header, header_len) => {
                        if let Err(e) = self.check_header(&header) {
                            return Err(self.fail_peer(e));
                        }
                        self.input.advance(header_len);
                        let (text, compressed) = match header.opcode {
                            OpCode::Text => (true, header.rsv1),
                            OpCode::Binary => (false, header.rsv1),
                            OpCode::Continuation => {
                                self.in_message.as_ref().map_or((false, false), |m| {
                                    (m.kind == MessageKind::Text, m.compressed)
                                })
                            }
                            _ => (false, false),
                        };
                        InFrame {
                            header,
                            processed: 0,
                            text,
                            compressed,
                        }
                    }
                },
            };
            // `check_header` bounded the length by `max_frame_size`, a usize.
            let len = frame.header.payload_len as usize;
            let available = self.input.len().min(len);
            if available > frame.processed {
                let chunk = &mut self.input[frame.processed..available];
                if let Some(key) = frame.header.mask {
                    apply_mask(chunk, key, frame.processed);
                }
                if frame.text && !frame.compressed && self.utf8.feed(chunk, false).is_err() {
                    return Err(self.fail_peer(ProtocolError::InvalidUtf8));
                }
                frame.processed = available;
            }
            if available < len {
                self.in_frame = Some(frame);
                return Ok(());
            }
            self.in_frame = None;
            if frame.text && !frame.compressed && frame.header.fin && self.utf8.finish().is_err() {
                return Err(self.fail_peer(ProtocolError::InvalidUtf8));
            }
            let payload = self.input.split_to(len).freeze();
            if frame.compressed {
                self.handle_compressed_frame(frame, payload)?;
            } else {
                self.handle_frame(frame.header, payload)?;
            }
        }
    }

    /// Judges a header before any of its payload is buffered.
    fn check_header(&self, h: &FrameHeader) -> Result<(), ProtocolError> {
        if h.rsv1 && self.deflate.is_some() && !h.rsv2 && !h.rsv3 {
            // RFC 7692 §6: RSV1 marks a compressed message, on its first frame only.
            if !matches!(h.opcode, OpCode::Text | OpCode::Binary) && !h.opcode.is_reserved() {
                return Err(ProtocolError::Rsv1NotAllowed(h.opcode));
            }
        } else if h.rsv1 || h.rsv2 || h.rsv3 {
            return Err(ProtocolError::ReservedBits {
                rsv1: h.rsv1,
                rsv2: h.rsv2,
                rsv3: h.rsv3,
            });
        }
        if h.opcode.is_reserved() {
            return Err(ProtocolError::ReservedOpcode(h.opcode));
        }
        match (self.role, h.mask.is_some()) {
            (Role::Server, false) => return Err(ProtocolError::UnmaskedClientFrame),
            (Role::Client, true) => return Err(ProtocolError::MaskedServerFrame),
            _ => {}
        }
        if h.opcode.is_control() {
            if !h.fin {
                return Err(ProtocolError::FragmentedControlFrame(h.opcode));
            }
            if h.payload_len > MAX_CONTROL_PAYLOAD as u64 {
                return Err(ProtocolError::ControlFrameTooLong {
                    opcode: h.opcode,
                    len: h.payload_len,
                });
            }
            return Ok(());
        }
        let (so_far, fragments, compressed) = match (&self.in_message, h.opcode) {
            (None, OpCode::Continuation) => return Err(ProtocolError::UnexpectedContinuation),
            (Some(_), OpCode::Text | OpCode::Binary) => {
                return Err(ProtocolError::ExpectedContinuation(h.opcode));
            }
            (Some(m), _) => (m.wire_len, m.fragments, m.compressed),
            (None, _) => (0, 0, h.rsv1),
        };
        // A compressed message is bounded by its inflated size as it is inflated; its wire
        // size is bounded here too, with room for deflate's worst case on incompressible data
        // (a stored block's 5 bytes per 16 KiB, and a little more).
        let max = self.config.max_message_size as u64;
        let message_limit = if compressed {
            max.saturating_add(max / 1024 + 1024)
        } else {
            max
        };
        if h.payload_len > self.config.max_frame_size as u64 {
            return Err(ProtocolError::FrameTooLarge {
                len: h.payload_len,
                limit: self.config.max_frame_size,
            });
        }
        let total = so_far.saturating_add(h.payload_len);
        if total > message_limit {
            return Err(ProtocolError::MessageTooLarge {
                len: total,
                limit: self.config.max_message_size,
            });
        }
        if (!h.fin || fragments > 0) && fragments + 1 > self.config.max_fragments {
            return Err(ProtocolError::TooManyFragments {
                limit: self.config.max_fragments,
            });
        }
        Ok(())
    }

    fn handle_frame(&mut self, header: FrameHeader, payload: Bytes) -> Result<(), Error> {
        let ends_message = header.fin || header.opcode.is_control();
        let gives_event = ends_message || self.config.deliver_fragments;
        self.paused = self.config.pause_after_message && gives_event;
        if self.config.report_frames {
            let message = Some(self.numbering_of(0).position(&header));
            self.events.push_back(Event::Frame(Frame {
                direction: Direction::Incoming,
                header,
                payload: payload.clone(),
                decompressed_len: None,
                message,
            }));
        }
        match header.opcode {
            OpCode::Text | OpCode::Binary if header.fin => {
                let kind = if header.opcode == OpCode::Text {
                    MessageKind::Text
                } else {
                    MessageKind::Binary
                };
                self.deliver(kind, payload);
            }
            OpCode::Text | OpCode::Binary => {
                let kind = if header.opcode == OpCode::Text {
                    MessageKind::Text
                } else {
                    MessageKind::Binary
                };
                let wire_len = payload.len() as u64;
                let data = if self.config.deliver_fragments {
                    self.events.push_back(Event::Fragment {
                        kind,
                        data: payload,
                        fin: false,
                    });
                    Vec::new()
                } else {
                    let mut data = Vec::with_capacity(payload.len().max(1024));
                    data.extend_from_slice(&payload);
                    data
                };
                self.in_message = Some(Box::new(InMessage {
                    kind,
                    data,
                    fragments: 1,
                    compressed: false,
                    wire_len,
                    dropped: 0,
                }));
            }
            OpCode::Continuation => {
                let Some(message) = &mut self.in_message else {
                    return Ok(());
                };
                message.fragments += 1;
                message.wire_len += payload.len() as u64;
                if self.config.deliver_fragments {
                    let kind = message.kind;
                    if header.fin {
                        self.in_message = None;
                    }
                    self.events.push_back(Event::Fragment {
                        kind,
                        data: payload,
                        fin: header.fin,
                    });
                } else {
                    message.data.extend_from_slice(&payload);
                    if header.fin
                        && let Some(message) = self.in_message.take()
                    {
                        self.deliver(message.kind, Bytes::from(message.data));
                    }
                }
            }
            OpCode::Ping => {
                if self.config.auto_pong && self.can_send() {
                    self.write_frame(FrameHeader::new(OpCode::Pong, 0), &payload);
                }
                self.events.push_back(Event::Ping(payload));
            }
            OpCode::Pong => self.events.push_back(Event::Pong(payload)),
            OpCode::Close => {
                let frame = match parse_close_payload(&payload) {
                    Ok(frame) => frame,
                    Err(e) => return Err(self.fail_peer(e)),
                };
                self.close_received = Some(Box::new(frame.clone()));
                self.events.push_back(Event::Close(frame.clone()));
                if self.close_sent.is_some() {
                    self.state = ReadyState::Closed;
                } else if self.config.auto_close_reply {
                    // Echo the code (RFC 6455 §5.5.1) and the reason, as browsers and other
                    // implementations do; an empty close is answered empty. The reason fits:
                    // `check_header` bounded the payload by 125 bytes, 2 of them the code.
                    self.write_close(frame.code, &frame.reason);
                    self.state = ReadyState::Closed;
                } else {
                    self.state = ReadyState::Closing;
                }
                self.input.clear();
            }
            OpCode::ReservedData(_) | OpCode::ReservedControl(_) => {
                unreachable!("rejected by check_header")
            }
        }
        Ok(())
    }

    /// A frame of a compressed message (RFC 7692 §6.2): its payload is inflated onto the
    /// message so far, bounded by the message limit, and text is checked as it comes out.
    fn handle_compressed_frame(&mut self, frame: InFrame, payload: Bytes) -> Result<(), Error> {
        let header = frame.header;
        let kind = if frame.text {
            MessageKind::Text
        } else {
            MessageKind::Binary
        };
        let mut message = match header.opcode {
            OpCode::Continuation => match self.in_message.take() {
                Some(message) => message,
                None => return Err(self.fail_peer(ProtocolError::UnexpectedContinuation)),
            },
            _ => Box::new(InMessage {
                kind,
                data: Vec::new(),
                fragments: 0,
                compressed: true,
                wire_len: 0,
                dropped: 0,
            }),
        };
        message.fragments += 1;
        message.wire_len += payload.len() as u64;
        // What is left of the message limit once the fragments already given are counted.
        let limit = self.config.max_message_size.saturating_sub(message.dropped);
        let before = message.data.len();
        let result = match &mut self.deflate {
            Some(codec) => codec.decompress(&payload, header.fin, &mut message.data, limit),
            // Unreachable: `check_header` marks a frame compressed only when the extension is
            // in use. Answered as data that does not inflate rather than with a panic.
            None => Err(InflateError::Corrupt(
                "permessage-deflate is not in use".into(),
            )),
        };
        self.paused =
            self.config.pause_after_message && (header.fin || self.config.deliver_fragments);
        if self.config.report_frames {
            let position = Some(self.numbering_of(0).position(&header));
            self.events.push_back(Event::Frame(Frame {
                direction: Direction::Incoming,
                header,
                payload,
                decompressed_len: Some(message.data.len().min(limit) - before.min(limit)),
                message: position,
            }));
        }
        match result {
            Ok(()) => {}
            Err(InflateError::TooLarge) => {
                let len = (message.dropped + message.data.len()) as u64;
                let limit = self.config.max_message_size;
                return Err(self.fail_peer(ProtocolError::MessageTooLarge { len, limit }));
            }
            Err(InflateError::Corrupt(detail)) => {
                return Err(self.fail_peer(ProtocolError::Extension(
                    ExtensionError::CorruptDeflate { detail },
                )));
            }
        }
        if frame.text
            && (self.utf8.feed(&message.data[before..], false).is_err()
                || (header.fin && self.utf8.finish().is_err()))
        {
            return Err(self.fail_peer(ProtocolError::InvalidUtf8));
        }
        let fragmented = message.fragments > 1 || !header.fin;
        if self.config.deliver_fragments && fragmented {
            let data = Bytes::copy_from_slice(&message.data[before.min(message.data.len())..]);
            self.events.push_back(Event::Fragment {
                kind: message.kind,
                data,
                fin: header.fin,
            });
            if !header.fin {
                // Keep the largest window deflate may refer back to; the rest is given.
                let excess = message.data.len().saturating_sub(1 << 15);
                message.data.drain(..excess);
                message.dropped += excess;
                self.in_message = Some(message);
            }
        } else if header.fin {
            self.deliver(kind, Bytes::from(message.data));
        } else {
            self.in_message = Some(message);
        }
        Ok(())
    }

    fn deliver(&mut self, kind: MessageKind, data: Bytes) {
        self.events.push_back(match kind {
            MessageKind::Text => Event::Text(Utf8Bytes::from_validated(data)),
            MessageKind::Binary => Event::Binary(data),
        });
    }

    /// Fails the connection for a peer fault (RFC 6455 §7.1.7): sends a close frame with the
    /// fault's code unless one was sent, and discards everything after.
    fn fail_peer(&mut self, err: ProtocolError) -> Error {
        if self.can_send_close() {
            let reason = truncate_reason(&err.to_string());
            self.write_close(Some(err.close_code()), &reason);
        }
        self.state = ReadyState::Closed;
        self.fault = Some(Box::new(err.clone()));
        self.input.clear();
        self.in_frame = None;
        self.in_message = None;
        err.into()
    }
}

/// Parses a close payload (RFC 6455 §5.5.1, §7.4).
fn parse_close_payload(payload: &[u8]) -> Result<CloseFrame, ProtocolError> {
    match payload {
        [] => Ok(CloseFrame::default()),
        [_] => Err(ProtocolError::CloseFrameOneByte),
        [hi, lo, reason @ ..] => {
            let code = CloseCode(u16::from_be_bytes([*hi, *lo]));
            if !code.is_valid_on_wire() {
                return Err(ProtocolError::InvalidCloseCode(code.0));
            }
            let reason = simdutf8::basic::from_utf8(reason)
                .map_err(|_| ProtocolError::InvalidCloseReason)?;
            Ok(CloseFrame {
                code: Some(code),
                reason: reason.to_owned(),
            })
        }
    }
}

/// Cuts `reason` to the 123 bytes a close frame has room for, at a character boundary.
fn truncate_reason(reason: &str) -> String {
    let mut end = reason.len().min(MAX_CONTROL_PAYLOAD - 2);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason[..end].to_owned()
}

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

impl Connection {
    /// Sends a text message in one frame.
    pub fn send_text(&mut self, text: &str) -> Result<(), UsageError> {
        self.send_message(OpCode::Text, text.as_bytes())
    }

    /// Sends a binary message in one frame.
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), UsageError> {
        self.send_message(OpCode::Binary, data)
    }

    /// Sends a binary message in one frame without copying its payload, where that can be
    /// done: a server's frame (unmasked) that is not compressed. Then only the header goes
    /// into the output, and the payload is returned: the caller must write it right after
    /// everything [`poll_transmit`](Self::poll_transmit) yields now, before anything queued
    /// later (e.g. as one vectored write). Otherwise the message is encoded into the output as
    /// [`send_binary`](Self::send_binary) does and `None` is returned.
    ///
    /// Either way, with [`Config::report_frames`] on, the frame's report shares `data`
    /// instead of copying it (unless the message is compressed: the report then holds the
    /// compressed bytes). A relay's logging of a 64 KiB binary message sent by its client leg
    /// had spent 12.6 % of its time on that copy (`perf`, `wsi relay --jsonl` at 1 × 64 KiB).
    pub fn send_binary_shared(&mut self, data: Bytes) -> Result<Option<Bytes>, UsageError> {
        if self.compresses(data.len()) {
            return self.send_binary(&data).map(|()| None);
        }
        self.check_can_start_message()?;
        if self.role == Role::Client {
            self.write_frame_shared(FrameHeader::new(OpCode::Binary, 0), &data);
            return Ok(None);
        }
        let header = FrameHeader::new(OpCode::Binary, data.len() as u64);
        header.encode(&mut self.output);
        if self.config.report_frames {
            self.report_outgoing(header, data.clone(), None);
        }
        Ok(Some(data))
    }

    /// Whether a message of `len` bytes is to be sent compressed.
    fn compresses(&self, len: usize) -> bool {
        self.deflate.as_ref().is_some_and(|c| c.compresses(len))
    }

    /// A whole message may be sent: the connection is open and no fragmented one is under way.
    fn check_can_start_message(&self) -> Result<(), UsageError> {
        self.check_can_send()?;
        if self.out_message.is_some() {
            return Err(UsageError::MessageInProgress);
        }
        Ok(())
    }

    fn send_message(&mut self, opcode: OpCode, data: &[u8]) -> Result<(), UsageError> {
        self.check_can_start_message()?;
        let compress = self.compresses(data.len());
        let mut header = FrameHeader::new(opcode, 0);
        if compress {
            header.rsv1 = true;
            self.write_compressed(header, data, true);
        } else {
            self.write_frame(header, data);
        }
        Ok(())
    }

    /// Deflates `data` (a whole message, or with `last` clear one fragment of it) and writes
    /// it in one frame.
    fn write_compressed(&mut self, header: FrameHeader, data: &[u8], last: bool) {
        let mut out = match &mut self.deflate {
            Some(codec) => std::mem::take(&mut codec.scratch),
            None => Vec::new(),
        };
        out.clear();
        if let Some(codec) = &mut self.deflate {
            codec.compress(data, last, &mut out);
        }
        self.write_frame_with(header, &out, Some(data.len()));
        // Keep the scratch buffer for the next message unless a large one made it large.
        if out.capacity() <= 256 * 1024
            && let Some(codec) = &mut self.deflate
        {
            codec.scratch = out;
        }
    }

    /// Sends one fragment of a message: the first call starts a `kind` message (opcode 0x1 or
    /// 0x2), later calls continue it (opcode 0x0), and the call with `fin` set ends it. Control
    /// frames may be sent between fragments. Fragments of a text message are not checked for
    /// UTF-8, so that a code point can be split across them (or, for a test, broken).
    pub fn send_fragment(
        &mut self,
        kind: MessageKind,
        data: &[u8],
        fin: bool,
    ) -> Result<(), UsageError> {
        self.check_can_send()?;
        let (opcode, compressed) = match self.out_message {
            None => (
                kind.opcode(),
                self.deflate
                    .as_ref()
                    .is_some_and(|codec| codec.compresses_fragments()),
            ),
            Some((current, compressed)) if current == kind => (OpCode::Continuation, compressed),
            Some(_) => return Err(UsageError::NoMessageInProgress),
        };
        let mut header = FrameHeader::new(opcode, 0);
        header.fin = fin;
        if compressed {
            header.rsv1 = opcode != OpCode::Continuation;
            self.write_compressed(header, data, fin);
        } else {
            self.write_frame(header, data);
        }
        self.out_message = if fin { None } else { Some((kind, compressed)) };
        Ok(())
    }

    /// Sends a ping (at most 125 bytes of payload).
    pub fn send_ping(&mut self, data: &[u8]) -> Result<(), UsageError> {
        self.send_control(OpCode::Ping, data)
    }

    /// Sends a pong (at most 125 bytes), e.g. to answer a ping when auto-pong is off, or
    /// unsolicited as a heartbeat.
    pub fn send_pong(&mut self, data: &[u8]) -> Result<(), UsageError> {
        self.send_control(OpCode::Pong, data)
    }

    fn send_control(&mut self, opcode: OpCode, data: &[u8]) -> Result<(), UsageError> {
        self.check_can_send()?;
        if data.len() > MAX_CONTROL_PAYLOAD {
            return Err(UsageError::ControlPayloadTooLong(data.len()));
        }
        self.write_frame(FrameHeader::new(opcode, 0), data);
        Ok(())
    }

    /// Starts (or, after the peer's close, completes) the close handshake. `code` `None` sends
    /// an empty close payload, in which case `reason` must be empty. Nothing else can be sent
    /// afterwards.
    pub fn send_close(&mut self, code: Option<CloseCode>, reason: &str) -> Result<(), UsageError> {
        if !self.can_send_close() {
            return Err(UsageError::InvalidState(self.state));
        }
        match code {
            Some(code) if !code.is_valid_on_wire() => {
                return Err(UsageError::InvalidCloseCode(code.0));
            }
            None if !reason.is_empty() => {
                return Err(UsageError::InvalidCloseCode(CloseCode::NO_STATUS.0));
            }
            _ => {}
        }
        if reason.len() > MAX_CONTROL_PAYLOAD - 2 {
            return Err(UsageError::ControlPayloadTooLong(reason.len() + 2));
        }
        self.write_close(code, reason);
        self.state = if self.close_received.is_some() {
            ReadyState::Closed
        } else {
            ReadyState::Closing
        };
        Ok(())
    }

    /// Sends a frame exactly as given — any opcode, RSV bits, FIN, mask key (or none) — with
    /// `payload_len` taken from `payload`. For inspectors and conformance tests: no rule is
    /// checked beyond the connection being open, and fragment tracking is not updated.
    pub fn send_raw_frame(
        &mut self,
        mut header: FrameHeader,
        payload: &[u8],
    ) -> Result<(), UsageError> {
        self.check_can_send()?;
        header.payload_len = payload.len() as u64;
        self.encode_frame(header, payload, None, None);
        Ok(())
    }

    /// Fails the connection from this side (RFC 6455 §7.1.7): sends a close frame with `code`
    /// and `reason` unless one was sent already, and moves to [`ReadyState::Closed`]. Invalid
    /// codes are replaced with 1011 and long reasons truncated: failing always works.
    pub fn fail(&mut self, code: CloseCode, reason: &str) {
        if self.can_send_close() {
            let code = if code.is_valid_on_wire() {
                code
            } else {
                CloseCode::INTERNAL_ERROR
            };
            self.write_close(Some(code), &truncate_reason(reason));
        }
        self.state = ReadyState::Closed;
        self.handshake = Handshake::Done;
        self.input.clear();
        self.in_frame = None;
        self.in_message = None;
    }

    /// Server: accepts the upgrade request reported in [`Event::Request`] with `response`
    /// (normally [`handshake::accept_response`], perhaps with headers added). Frames that
    /// arrived right behind the request are processed now.
    ///
    /// With [`Config::deflate`] set and no permessage-deflate answer in `response`, the
    /// request's offers are negotiated ([`deflate::negotiate`]) and the answer added. A
    /// permessage-deflate answer already in `response` is used as it is.
    pub fn accept(&mut self, mut response: Response<()>) -> Result<(), Error> {
        if !matches!(self.handshake, Handshake::AwaitingAnswer { .. }) {
            return Err(UsageError::NoPendingRequest.into());
        }
        if response.status() != StatusCode::SWITCHING_PROTOCOLS {
            return Err(UsageError::NotSwitchingProtocols(response.status().as_u16()).into());
        }
        let offers = match &mut self.handshake {
            Handshake::AwaitingAnswer { offers } => std::mem::take(offers),
            _ => Vec::new(),
        };
        if let Some(policy) = &self.config.deflate {
            deflate::add_answer(&mut response, &offers, policy);
        }
        let headers = response.headers();
        let extensions: Vec<String> =
            handshake::header_tokens(headers, &http::header::SEC_WEBSOCKET_EXTENSIONS)
                .into_iter()
                .map(str::to_owned)
                .collect();
        let deflate = match extensions.iter().find(|e| deflate::is_deflate(e)) {
            Some(e) => {
                Some(DeflateParams::parse_response(e).map_err(UsageError::InvalidExtension)?)
            }
            None => None,
        };
        let mut head = Vec::with_capacity(256);
        handshake::write_response(&response, &mut head);
        self.output.extend_from_slice(&head);
        self.deflate =
            deflate.map(|p| Box::new(Codec::new(self.role, p, self.config.deflate.as_ref())));
        self.negotiated = Negotiated {
            protocol: headers
                .get(http::header::SEC_WEBSOCKET_PROTOCOL)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            extensions,
        };
        self.handshake = Handshake::Done;
        self.state = ReadyState::Open;
        self.opened = true;
        self.process_frames()
    }

    /// Server: refuses the upgrade request with `status` and a plain-text `body`. The
    /// connection is closed once the answer is written.
    pub fn reject(&mut self, status: StatusCode, body: &[u8]) -> Result<(), UsageError> {
        if !matches!(self.handshake, Handshake::AwaitingAnswer { .. }) {
            return Err(UsageError::NoPendingRequest);
        }
        let mut out = Vec::with_capacity(256 + body.len());
        handshake::error_response(status, body, &mut out);
        self.output.extend_from_slice(&out);
        self.handshake = Handshake::Done;
        self.state = ReadyState::Closed;
        self.input.clear();
        Ok(())
    }

    fn can_send(&self) -> bool {
        matches!(self.state, ReadyState::Open | ReadyState::Closing) && self.close_sent.is_none()
    }

    fn can_send_close(&self) -> bool {
        self.can_send() && matches!(self.handshake, Handshake::Done)
    }

    fn check_can_send(&self) -> Result<(), UsageError> {
        if self.can_send() {
            Ok(())
        } else {
            Err(UsageError::InvalidState(self.state))
        }
    }

    fn write_close(&mut self, code: Option<CloseCode>, reason: &str) {
        let mut payload = [0u8; MAX_CONTROL_PAYLOAD];
        let len = match code {
            Some(code) => {
                payload[..2].copy_from_slice(&code.0.to_be_bytes());
                payload[2..2 + reason.len()].copy_from_slice(reason.as_bytes());
                2 + reason.len()
            }
            None => 0,
        };
        self.write_frame(FrameHeader::new(OpCode::Close, 0), &payload[..len]);
        self.close_sent = Some(Box::new(CloseFrame {
            code,
            reason: reason.to_owned(),
        }));
        self.out_message = None;
    }

    /// Writes a frame with this role's masking.
    fn write_frame(&mut self, header: FrameHeader, payload: &[u8]) {
        self.write_frame_with(header, payload, None);
    }

    /// Writes a frame with this role's masking; `plain_len` is the size before compression,
    /// for the frame report.
    fn write_frame_with(
        &mut self,
        mut header: FrameHeader,
        payload: &[u8],
        plain_len: Option<usize>,
    ) {
        header.payload_len = payload.len() as u64;
        header.mask = self.role_mask();
        self.encode_frame(header, payload, plain_len, None);
    }

    /// [`write_frame`](Self::write_frame) of a payload held as [`Bytes`]: the frame's report
    /// shares it instead of copying it.
    fn write_frame_shared(&mut self, mut header: FrameHeader, payload: &Bytes) {
        header.payload_len = payload.len() as u64;
        header.mask = self.role_mask();
        self.encode_frame(header, payload, None, Some(payload));
    }

    /// A fresh mask key for a client's frame; none for a server's.
    fn role_mask(&mut self) -> Option<[u8; 4]> {
        match self.role {
            Role::Client => Some(
                self.masks
                    .get_or_insert_with(|| Box::new(OsRandom::new()))
                    .next_mask(),
            ),
            Role::Server => None,
        }
    }

    /// Encodes a frame into the output. Its report (with [`Config::report_frames`]) holds
    /// `shared` if given (the same bytes as `payload`), else a copy of `payload`.
    fn encode_frame(
        &mut self,
        header: FrameHeader,
        payload: &[u8],
        plain_len: Option<usize>,
        shared: Option<&Bytes>,
    ) {
        self.output.reserve(header.encoded_len() + payload.len());
        header.encode(&mut self.output);
        let start = self.output.len();
        self.output.extend_from_slice(payload);
        if let Some(key) = header.mask {
            apply_mask(&mut self.output[start..], key, 0);
        }
        if self.config.report_frames {
            let reported = match shared {
                Some(shared) => shared.clone(),
                None => Bytes::copy_from_slice(payload),
            };
            self.report_outgoing(header, reported, plain_len);
        }
    }

    /// The numbering of the frames received (`0`) or sent (`1`), made on first use.
    fn numbering_of(&mut self, way: usize) -> &mut MessageNumbering {
        let both = self
            .numbering
            .get_or_insert_with(|| Box::new([MessageNumbering::new(), MessageNumbering::new()]));
        &mut both[way]
    }

    /// Queues the report of a frame we sent (with [`Config::report_frames`]).
    fn report_outgoing(&mut self, header: FrameHeader, payload: Bytes, plain_len: Option<usize>) {
        let message = Some(self.numbering_of(1).position(&header));
        self.events.push_back(Event::Frame(Frame {
            direction: Direction::Outgoing,
            header,
            payload,
            decompressed_len: plain_len,
            message,
        }));
    }
}

// ---------------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------------

impl Connection {
    /// Moves every byte waiting to be sent to the end of `buf`; returns how many. When `buf`
    /// is empty this hands over the connection's buffer without copying.
    pub fn poll_transmit(&mut self, buf: &mut BytesMut) -> usize {
        let n = self.output.len();
        if n == 0 {
            return 0;
        }
        if buf.is_empty() {
            std::mem::swap(buf, &mut self.output);
        } else {
            buf.extend_from_slice(&self.output);
            self.output.clear();
        }
        n
    }

    /// The next event, if any.
    #[inline]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The event [`poll_event`](Self::poll_event) would return next, left in place.
    #[inline]
    pub fn peek_event(&self) -> Option<&Event> {
        self.events.front()
    }

    /// Whether the caller should close the TCP connection once the output is flushed: the
    /// server after the close handshake (RFC 6455 §7.1.1: the server closes first) or after a
    /// failure or rejection; either side once the peer has closed its end.
    pub fn should_close_transport(&self) -> bool {
        self.state == ReadyState::Closed
            && self.output.is_empty()
            && (self.role == Role::Server || self.eof_received || !self.opened)
    }

    /// Whether the client should now wait for the server to close TCP (and close it itself
    /// after a timeout): true once a client's connection is closed.
    pub fn close_expected(&self) -> bool {
        self.state == ReadyState::Closed
            && self.role == Role::Client
            && self.opened
            && !self.eof_received
    }
}
