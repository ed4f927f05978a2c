//! Errors, by category: what the peer did wrong ([`ProtocolError`]), what the caller did wrong
//! ([`UsageError`]) and why an opening handshake failed ([`HandshakeError`]).
//!
//! Every [`ProtocolError`] maps to exactly one close code through
//! [`ProtocolError::close_code`]; the connection sends that code when it fails.
//!
//! Every error is typed down to the detail: what is wrong with a handshake is a
//! [`ResponseProblem`], [`RequestProblem`], [`UrlProblem`], [`HeaderProblem`], [`HttpProblem`]
//! or [`HeadLimit`]; what is wrong with a permessage-deflate negotiation a [`DeflateProblem`];
//! an extension's failure on a message an [`ExtensionError`]. Each variant carries what was
//! seen (and, where there is one, what was expected) and reads as a plain sentence through
//! `Display`. All the enums are `#[non_exhaustive]`: match the variants you care about and keep
//! a `_` arm.

use bytes::Bytes;
use http::header::HeaderName;
use http::{Method, StatusCode, Version};
use std::fmt;

use crate::close::CloseCode;
use crate::connection::ReadyState;
use crate::frame::OpCode;

/// Any error from this crate.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The peer broke RFC 6455; the connection has been failed with a close frame.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// The opening handshake failed.
    #[error(transparent)]
    Handshake(#[from] Box<HandshakeError>),
    /// The caller asked for something the connection's state does not allow.
    #[error(transparent)]
    Usage(#[from] UsageError),
}

impl From<HandshakeError> for Error {
    fn from(e: HandshakeError) -> Self {
        Self::Handshake(Box::new(e))
    }
}

/// A violation of RFC 6455 by the peer. Each maps to one close code.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// RSV1, RSV2 or RSV3 set without an extension that defines it (→ 1002).
    #[error(
        "reserved bits set without a negotiated extension (RSV1={rsv1}, RSV2={rsv2}, RSV3={rsv3})"
    )]
    ReservedBits {
        /// RSV1 as received.
        rsv1: bool,
        /// RSV2 as received.
        rsv2: bool,
        /// RSV3 as received.
        rsv3: bool,
    },
    /// RSV1 on a frame where permessage-deflate does not allow it: a continuation or control
    /// frame (→ 1002).
    #[error(
        "RSV1 set on a {0} frame (permessage-deflate allows it only on a message's first frame)"
    )]
    Rsv1NotAllowed(OpCode),
    /// A reserved opcode (0x3–0x7, 0xB–0xF) (→ 1002).
    #[error("reserved opcode {0}")]
    ReservedOpcode(OpCode),
    /// A client sent a frame without a mask (→ 1002).
    #[error("a client frame was not masked")]
    UnmaskedClientFrame,
    /// A server sent a masked frame (→ 1002).
    #[error("a server frame was masked")]
    MaskedServerFrame,
    /// A control frame with FIN clear (→ 1002).
    #[error("a fragmented control frame ({0})")]
    FragmentedControlFrame(OpCode),
    /// A control frame with more than 125 bytes of payload (→ 1002).
    #[error("a control frame ({opcode}) with {len} bytes of payload (at most 125 are allowed)")]
    ControlFrameTooLong {
        /// The opcode.
        opcode: OpCode,
        /// The stated length.
        len: u64,
    },
    /// A continuation frame with no fragmented message in progress (→ 1002).
    #[error("a continuation frame with no message to continue")]
    UnexpectedContinuation,
    /// A new text or binary frame while a fragmented message is in progress (→ 1002).
    #[error("a new {0} frame inside a fragmented message")]
    ExpectedContinuation(OpCode),
    /// A 64-bit payload length with its most significant bit set (→ 1002).
    #[error("a 64-bit payload length with its most significant bit set")]
    LengthTopBitSet,
    /// A close frame whose payload is one byte long (→ 1002).
    #[error("a close frame with a one-byte payload")]
    CloseFrameOneByte,
    /// A close code that may not be sent on the wire (→ 1002).
    #[error("invalid close code {0}")]
    InvalidCloseCode(u16),
    /// A text message that is not UTF-8 (→ 1007).
    #[error("a text message is not valid UTF-8")]
    InvalidUtf8,
    /// A close reason that is not UTF-8 (→ 1007).
    #[error("a close reason is not valid UTF-8")]
    InvalidCloseReason,
    /// A frame larger than the configured limit (→ 1009).
    #[error("a frame of {len} bytes exceeds the limit of {limit} bytes")]
    FrameTooLarge {
        /// The frame's stated length.
        len: u64,
        /// The limit.
        limit: usize,
    },
    /// A message larger than the configured limit (→ 1009).
    #[error("a message of at least {len} bytes exceeds the limit of {limit} bytes")]
    MessageTooLarge {
        /// The message's size so far.
        len: u64,
        /// The limit.
        limit: usize,
    },
    /// A message split into more fragments than the configured limit (→ 1009).
    #[error("a message of more than {limit} fragments")]
    TooManyFragments {
        /// The limit.
        limit: usize,
    },
    /// A frame that an extension could not decode, e.g. bad compressed data (→ 1007).
    #[error("an extension could not decode a message: {0}")]
    Extension(ExtensionError),
    /// The TCP stream ended without a close frame (→ 1006, which is reported, never sent);
    /// `cut` says where, if it ended inside a frame.
    #[error("the connection ended without a close frame{}", cut.map(|c| c.to_string()).unwrap_or_default())]
    AbnormalClosure {
        /// The frame the stream ended in, if it ended inside one.
        cut: Option<CutShort>,
    },
}

/// Where a stream that ended without a close frame stopped, when it stopped inside a frame:
/// what a peer that crashed or a proxy that gave up looks like on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CutShort {
    /// In a frame's header, after this many of its bytes.
    Header {
        /// Header bytes received.
        received: usize,
    },
    /// In a frame's payload.
    Payload {
        /// Payload bytes received.
        received: u64,
        /// The payload length its header stated.
        length: u64,
    },
}

impl fmt::Display for CutShort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Header { received } => write!(
                f,
                ", in the middle of a frame's header ({received} of its bytes received)"
            ),
            Self::Payload { received, length } => write!(
                f,
                ", in the middle of a frame ({received} of its {length} payload bytes received)"
            ),
        }
    }
}

impl ProtocolError {
    /// The close code this fault is answered with (1006 is only reported, never sent).
    pub fn close_code(&self) -> CloseCode {
        match self {
            Self::InvalidUtf8 | Self::InvalidCloseReason | Self::Extension(_) => {
                CloseCode::INVALID_PAYLOAD
            }
            Self::FrameTooLarge { .. }
            | Self::MessageTooLarge { .. }
            | Self::TooManyFragments { .. } => CloseCode::MESSAGE_TOO_BIG,
            Self::AbnormalClosure { .. } => CloseCode::ABNORMAL,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }
}

/// A call the connection's state does not allow. Nothing is sent.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UsageError {
    /// Data or a ping after a close frame was sent, or before the handshake completed.
    #[error("cannot send in state {0:?}")]
    InvalidState(ReadyState),
    /// A whole message while a fragmented message is being sent.
    #[error("a fragmented message is being sent; finish it first")]
    MessageInProgress,
    /// A continuation or a fragment of another type with no or another message in progress.
    #[error("no fragmented message of that type is being sent")]
    NoMessageInProgress,
    /// A control frame payload over 125 bytes.
    #[error("control frame payload of {0} bytes (at most 125)")]
    ControlPayloadTooLong(usize),
    /// A close code that may not be sent (1005, 1006, 1015 and the invalid ranges).
    #[error("close code {0} may not be sent")]
    InvalidCloseCode(u16),
    /// `accept` or `reject` on a connection that is not a server waiting for its request.
    #[error("no handshake request is waiting for an answer")]
    NoPendingRequest,
    /// `accept` with a response whose permessage-deflate answer cannot be parsed.
    #[error("the response's extension answer is invalid: {0}")]
    InvalidExtension(DeflateProblem),
    /// `accept` with a response whose status is not 101 (use `reject` to refuse).
    #[error("accept needs a 101 response, not {0}; use reject to refuse")]
    NotSwitchingProtocols(u16),
}

/// Why an opening handshake failed. Where the peer answered, its response is kept whole.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    /// The URL is not a usable `ws://` or `wss://` URL.
    #[error("invalid URL: {0}")]
    InvalidUrl(UrlProblem),
    /// A header name or value given for the request is not valid HTTP.
    #[error("invalid request header: {0}")]
    InvalidHeader(HeaderProblem),
    /// The bytes received are not an HTTP/1.1 message head.
    #[error("malformed HTTP: {0}")]
    MalformedHttp(HttpProblem),
    /// The head exceeded a size limit of [`HandshakeLimits`](crate::HandshakeLimits).
    #[error("the HTTP head exceeds the limit: {0}")]
    TooLarge(HeadLimit),
    /// The server answered with something other than 101; the response and its body are kept.
    #[error("the server answered {} {} instead of 101 Switching Protocols", .response.status().as_u16(), .response.status().canonical_reason().unwrap_or(""))]
    Rejected {
        /// The response head.
        response: Box<http::Response<()>>,
        /// The body bytes received (at most the configured limit).
        body: Bytes,
    },
    /// The server answered 101 but the upgrade is not valid; the response is kept.
    #[error("invalid upgrade response: {problem}")]
    InvalidResponse {
        /// What is wrong (e.g. [`ResponseProblem::AcceptMismatch`], whose `Display` reads
        /// "Sec-WebSocket-Accept does not match the key …").
        problem: ResponseProblem,
        /// The response head.
        response: Box<http::Response<()>>,
    },
    /// A client's upgrade request is not valid; `status` was sent back, with the problem's
    /// `Display` as the body.
    #[error("invalid upgrade request ({status}): {problem}")]
    InvalidRequest {
        /// What is wrong.
        problem: RequestProblem,
        /// The status answered: [`RequestProblem::status`].
        status: http::StatusCode,
    },
    /// The server application rejected the request with this status.
    #[error("the request was rejected with {0}")]
    RejectedByServer(http::StatusCode),
    /// The stream ended before the handshake completed.
    #[error("the connection closed during the opening handshake")]
    UnexpectedEof,
}

impl HandshakeError {
    /// The HTTP response that came with the failure, if the peer sent one.
    pub fn response(&self) -> Option<&http::Response<()>> {
        match self {
            Self::Rejected { response, .. } | Self::InvalidResponse { response, .. } => {
                Some(response)
            }
            _ => None,
        }
    }

    /// The response body received with a non-101 answer.
    pub fn body(&self) -> Option<&Bytes> {
        match self {
            Self::Rejected { body, .. } => Some(body),
            _ => None,
        }
    }
}

/// Why a 101 answer does not complete the upgrade (RFC 6455 §4.1, the client's checks; RFC 7692
/// §7.1 for permessage-deflate), in [`HandshakeError::InvalidResponse`] and from
/// [`handshake::check_response`](crate::handshake::check_response).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResponseProblem {
    /// The status is not 101. ([`Connection`](crate::Connection) reports a non-101 answer as
    /// [`HandshakeError::Rejected`], with its body; this comes only from `check_response`.)
    #[error("the server answered {status} instead of 101 Switching Protocols")]
    NotSwitchingProtocols {
        /// The status answered.
        status: StatusCode,
    },
    /// No `Upgrade` header.
    #[error("the Upgrade header is missing (it must be \"websocket\")")]
    UpgradeMissing,
    /// An `Upgrade` header without the `websocket` token.
    #[error("the Upgrade header is {got:?}, not \"websocket\"")]
    UpgradeNotWebSocket {
        /// The header's value(s), joined with `, `.
        got: String,
    },
    /// No `Connection` header.
    #[error("the Connection header is missing (it must contain \"Upgrade\")")]
    ConnectionMissing,
    /// A `Connection` header without the `Upgrade` token.
    #[error("the Connection header {got:?} does not contain \"Upgrade\"")]
    ConnectionNotUpgrade {
        /// The header's value(s), joined with `, `.
        got: String,
    },
    /// No `Sec-WebSocket-Accept` header.
    #[error("the Sec-WebSocket-Accept header is missing")]
    AcceptMissing,
    /// A `Sec-WebSocket-Accept` that is not base64(SHA-1(key + GUID)) of the request's key.
    #[error("Sec-WebSocket-Accept does not match the key (expected {expected}, got {got})")]
    AcceptMismatch {
        /// The value the key requires.
        expected: String,
        /// The value received.
        got: String,
    },
    /// A subprotocol the client did not offer (or the client offered none).
    #[error("the server chose subprotocol {chosen:?}, which was not offered")]
    ProtocolNotOffered {
        /// The subprotocol the server chose.
        chosen: String,
    },
    /// More than one subprotocol in `Sec-WebSocket-Protocol`.
    #[error("the server chose more than one subprotocol ({})", .chosen.join(", "))]
    SeveralProtocols {
        /// The subprotocols named.
        chosen: Vec<String>,
    },
    /// An extension the client did not offer.
    #[error("the server accepted extension {name:?}, which was not offered")]
    ExtensionNotOffered {
        /// The extension's name.
        name: String,
    },
    /// Two permessage-deflate answers.
    #[error("permessage-deflate was accepted twice")]
    DeflateTwice,
    /// A permessage-deflate answer that is malformed or does not fit the offer.
    #[error("permessage-deflate: {0}")]
    Deflate(DeflateProblem),
}

/// Why a server refuses an upgrade request (RFC 6455 §4.2.1), in
/// [`HandshakeError::InvalidRequest`] and [`RequestFault`](crate::handshake::RequestFault).
/// Each maps to one status through [`status`](Self::status).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestProblem {
    /// A method other than GET (→ 405).
    #[error("the method must be GET, not {method}")]
    MethodNotGet {
        /// The method received.
        method: Method,
    },
    /// An HTTP version other than 1.1 (→ 400).
    #[error("the version must be HTTP/1.1, not {version:?}")]
    HttpVersion {
        /// The version received.
        version: Version,
    },
    /// No `Host` header (→ 400).
    #[error("the Host header is missing")]
    HostMissing,
    /// No `Upgrade` header (→ 400).
    #[error("the Upgrade header is missing (it must be \"websocket\")")]
    UpgradeMissing,
    /// An `Upgrade` header without the `websocket` token (→ 400).
    #[error("the Upgrade header is {got:?}, not \"websocket\"")]
    UpgradeNotWebSocket {
        /// The header's value(s), joined with `, `.
        got: String,
    },
    /// No `Connection` header (→ 400).
    #[error("the Connection header is missing (it must contain \"Upgrade\")")]
    ConnectionMissing,
    /// A `Connection` header without the `Upgrade` token (→ 400).
    #[error("the Connection header {got:?} does not contain \"Upgrade\"")]
    ConnectionNotUpgrade {
        /// The header's value(s), joined with `, `.
        got: String,
    },
    /// No `Sec-WebSocket-Version` header (→ 426, which names version 13).
    #[error("Sec-WebSocket-Version must be 13 (the header is missing)")]
    VersionMissing,
    /// A `Sec-WebSocket-Version` other than exactly `13` (→ 426, which names version 13).
    #[error("Sec-WebSocket-Version must be 13, not {got:?}")]
    UnsupportedVersion {
        /// The header's value(s), joined with `, `.
        got: String,
    },
    /// No `Sec-WebSocket-Key` header (→ 400).
    #[error("the Sec-WebSocket-Key header is missing")]
    KeyMissing,
    /// More than one `Sec-WebSocket-Key` header (→ 400).
    #[error("Sec-WebSocket-Key must be one base64 value of 16 bytes, not {count} headers")]
    SeveralKeys {
        /// How many there are.
        count: usize,
    },
    /// A `Sec-WebSocket-Key` that is not the base64 of 16 bytes (→ 400).
    #[error("Sec-WebSocket-Key must be one base64 value of 16 bytes, not {got:?}")]
    BadKey {
        /// The value received.
        got: String,
    },
}

impl RequestProblem {
    /// The status a server answers this problem with: 405 for the method, 426 (Upgrade
    /// Required) for the WebSocket version, 400 for the rest.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MethodNotGet { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::VersionMissing | Self::UnsupportedVersion { .. } => StatusCode::UPGRADE_REQUIRED,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// Why a URL cannot be connected to, in [`HandshakeError::InvalidUrl`].
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UrlProblem {
    /// The text is not a URL at all.
    #[error("{0}")]
    Parse(url::ParseError),
    /// A scheme other than `ws` or `wss`.
    #[error("the scheme must be ws or wss, not {scheme}")]
    Scheme {
        /// The scheme given.
        scheme: String,
    },
    /// A fragment (`#…`), which RFC 6455 §3 forbids in a WebSocket URL.
    #[error("a WebSocket URL cannot have a fragment (#{fragment})")]
    Fragment {
        /// The fragment, without its `#`.
        fragment: String,
    },
    /// No host.
    #[error("the URL has no host")]
    NoHost,
    /// A URL that the `http` crate does not accept as a request URI.
    #[error("{uri} cannot be sent as an HTTP request URI")]
    NotHttpUri {
        /// The URI that was built from the URL.
        uri: String,
    },
}

/// Why a header given for a client's request cannot be sent, in
/// [`HandshakeError::InvalidHeader`]. Values are not repeated here: they may be secrets.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeaderProblem {
    /// A name that is not an HTTP token.
    #[error("bad header name {name:?}")]
    InvalidName {
        /// The name given.
        name: String,
    },
    /// A value with characters HTTP does not allow (line breaks, NUL, …).
    #[error("bad value for {name}")]
    InvalidValue {
        /// The header the value was for.
        name: HeaderName,
    },
}

/// Why received bytes are not an HTTP/1.1 head, in [`HandshakeError::MalformedHttp`].
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HttpProblem {
    /// `httparse` refused the head (a bad token, version, status line, header line …).
    #[error("{0}")]
    Parse(httparse::Error),
    /// The head ended before it was complete.
    #[error("incomplete head")]
    Incomplete,
    /// A header name the `http` crate does not accept.
    #[error("bad header name {name:?}")]
    InvalidHeaderName {
        /// The name received.
        name: String,
    },
    /// A header value the `http` crate does not accept.
    #[error("bad value for {name}")]
    InvalidHeaderValue {
        /// The header the value was for.
        name: HeaderName,
    },
    /// A status code outside 100–999.
    #[error("bad status code {code}")]
    InvalidStatus {
        /// The code received.
        code: u16,
    },
    /// A method the `http` crate does not accept.
    #[error("bad method {method:?}")]
    InvalidMethod {
        /// The method received.
        method: String,
    },
    /// A request target that is not a URI.
    #[error("bad request target {target:?}")]
    InvalidTarget {
        /// The target received.
        target: String,
    },
}

/// Which limit of [`HandshakeLimits`](crate::HandshakeLimits) a head crossed, in
/// [`HandshakeError::TooLarge`].
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeadLimit {
    /// `max_head_size`: the head did not end within it.
    #[error("the head is too large")]
    HeadSize,
    /// `max_line_len`: one line is longer.
    #[error("a line is too long")]
    LineLength,
    /// `max_headers`: more header fields.
    #[error("too many header fields")]
    HeaderCount,
    /// `max_head_size`: a client sent more than that after its request, before the server
    /// answered it.
    #[error("data sent before the upgrade was answered")]
    EarlyData,
}

/// Why a permessage-deflate element (an offer or an answer) is refused (RFC 7692 §5, §7.1), in
/// [`ResponseProblem::Deflate`], [`UsageError::InvalidExtension`] and from
/// [`deflate::check_response`](crate::deflate::check_response).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeflateProblem {
    /// The element names another extension.
    #[error("{name:?} is not permessage-deflate")]
    NotDeflate {
        /// The name in the element.
        name: String,
    },
    /// An empty parameter (`permessage-deflate; ;`).
    #[error("an empty parameter")]
    EmptyParameter,
    /// A parameter RFC 7692 does not define.
    #[error("unknown parameter {name:?}")]
    UnknownParameter {
        /// The parameter's name, in lower case.
        name: String,
    },
    /// A parameter given twice.
    #[error("the parameter {name} is repeated")]
    DuplicateParameter {
        /// The parameter's name, in lower case.
        name: String,
    },
    /// A value on `server_no_context_takeover` or `client_no_context_takeover`.
    #[error("{name} takes no value")]
    UnexpectedValue {
        /// The parameter's name.
        name: String,
    },
    /// No value where one is required: `server_max_window_bits` always, and
    /// `client_max_window_bits` in an answer.
    #[error("{name} needs a value")]
    MissingValue {
        /// The parameter's name.
        name: String,
    },
    /// A window size that is not a decimal 8–15 without leading zeros (RFC 7692 §7.1.2).
    #[error("{name} must be 8 to 15, not {value:?}")]
    InvalidWindowBits {
        /// The parameter's name.
        name: String,
        /// The value given, unquoted.
        value: String,
    },
    /// A value that is neither a token nor a well-formed quoted-string.
    #[error("malformed value {value:?} for {name}")]
    MalformedValue {
        /// The parameter's name.
        name: String,
        /// The value as written.
        value: String,
    },
    /// An answer, but no permessage-deflate offer was made.
    #[error("permessage-deflate was not offered")]
    NotOffered,
    /// An answer that sets `client_max_window_bits`, which the offer did not allow.
    #[error("the answer sets client_max_window_bits={value}, which was not offered")]
    ClientWindowBitsNotOffered {
        /// The value in the answer.
        value: u8,
    },
    /// An answer without the `server_no_context_takeover` the offer asked for.
    #[error("the answer leaves out server_no_context_takeover, which was asked for")]
    ServerNoContextTakeoverIgnored,
    /// An answer without the `server_max_window_bits` the offer asked for.
    #[error("the answer leaves out server_max_window_bits, which was asked as {asked}")]
    ServerWindowBitsMissing {
        /// The value offered.
        asked: u8,
    },
    /// An answer with a larger `server_max_window_bits` than the offer asked for.
    #[error("the answer sets server_max_window_bits={got}, more than the {asked} asked for")]
    ServerWindowBitsTooLarge {
        /// The value offered.
        asked: u8,
        /// The value in the answer.
        got: u8,
    },
}

/// An extension's failure on a received message, in [`ProtocolError::Extension`] (→ 1007).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExtensionError {
    /// permessage-deflate data that does not inflate.
    #[error("invalid compressed data: {detail}")]
    CorruptDeflate {
        /// What the inflater said (zlib's own words).
        detail: String,
    },
}
