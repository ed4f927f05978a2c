//! Errors, by category: what the peer did wrong ([`ProtocolError`]), what the caller did wrong
//! ([`UsageError`]) and why an opening handshake failed ([`HandshakeError`]).
//!
//! Every [`ProtocolError`] maps to exactly one close code through
//! [`ProtocolError::close_code`]; the connection sends that code when it fails.

use bytes::Bytes;

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
    Extension(String),
    /// The TCP stream ended without a close frame (→ 1006, which is reported, never sent).
    #[error("the connection ended without a close frame")]
    AbnormalClosure,
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
            Self::AbnormalClosure => CloseCode::ABNORMAL,
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
    /// `accept` with a response whose extension answer cannot be parsed.
    #[error("the response's extension answer is invalid: {0}")]
    InvalidExtension(String),
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
    InvalidUrl(String),
    /// A header name or value given for the request is not valid HTTP.
    #[error("invalid request header: {0}")]
    InvalidHeader(String),
    /// The bytes received are not an HTTP/1.1 message head.
    #[error("malformed HTTP: {0}")]
    MalformedHttp(String),
    /// The head exceeded a size limit.
    #[error("the HTTP head exceeds the limit: {0}")]
    TooLarge(&'static str),
    /// The server answered with something other than 101; the response and its body are kept.
    #[error("the server answered {} {} instead of 101 Switching Protocols", .response.status().as_u16(), .response.status().canonical_reason().unwrap_or(""))]
    Rejected {
        /// The response head.
        response: Box<http::Response<()>>,
        /// The body bytes received (at most the configured limit).
        body: Bytes,
    },
    /// The server answered 101 but the upgrade is not valid; the response is kept.
    #[error("invalid upgrade response: {reason}")]
    InvalidResponse {
        /// What is wrong, in plain words (e.g. "Sec-WebSocket-Accept does not match the key").
        reason: String,
        /// The response head.
        response: Box<http::Response<()>>,
    },
    /// A client's upgrade request is not valid; `status` was sent back.
    #[error("invalid upgrade request ({status}): {reason}")]
    InvalidRequest {
        /// What is wrong.
        reason: String,
        /// The status answered.
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
