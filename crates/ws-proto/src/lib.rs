//! The WebSocket protocol (RFC 6455, and permessage-deflate from RFC 7692) as a plain state
//! machine, for building WebSocket clients, servers and tools on whatever I/O a program already
//! has. It turns the bytes read from a peer into messages and events, and the messages to send
//! into bytes to write: the opening handshake for clients and servers, framing, masking,
//! fragmentation, UTF-8 validation, control frames, the close handshake and limits — with
//! every frame observable as it was on the wire. Everything around that is left to the
//! caller: sockets (or any other byte stream) and reading and writing them, TLS, name
//! resolution and proxies, the clock and timers (the engine never reads the time, so
//! timeouts such as the close handshake's are the caller's), threads or an async runtime,
//! and HTTP beyond the upgrade. The randomness it needs (client masking keys, handshake keys)
//! comes from the operating system by default and is replaceable.
//!
//! **No I/O, no clock, no threads, no async.** A [`Connection`] takes bytes in
//! ([`Connection::receive_data`], [`Connection::receive_eof`]) and gives bytes and events out
//! ([`Connection::poll_transmit`], [`Connection::poll_event`]). It is **deterministic** given
//! its inputs: the only randomness comes from a [`MaskSource`] (see
//! [`Connection::set_mask_source`]) and from the key in the request the caller builds (see
//! [`handshake::key_from_bytes`]). Drive it from blocking sockets, tokio, a fuzzer or a test,
//! the same way: the crate's `examples/` hold a blocking client and a blocking server over
//! `std::net`, and `ws-tokio` is the tokio and rustls transport built on it.
//!
//! What is here:
//! - [`handshake`]: building, parsing and checking the HTTP upgrade, typed with [`http`];
//!   a failed upgrade keeps the server's status, headers and body.
//! - [`frame`]: the header codec and word-at-a-time masking, for anyone who needs raw frames.
//! - [`Connection`]: one state machine for both [`Role`]s with the browser's [`ReadyState`]s.
//! - [`position`]: where each reported frame stands in its message ([`MessagePosition`]),
//!   so that a reader of frames never works message boundaries out again.
//! - [`deflate`]: permessage-deflate (RFC 7692) — negotiation in both roles, compression, and
//!   inflating bounded by the message limit.
//! - Errors by category: [`ProtocolError`] (the peer's fault, each mapped to one close code),
//!   [`UsageError`] (the caller's), [`HandshakeError`]. They are typed to the detail, never a
//!   bare string: a failed upgrade says which check failed and what was seen
//!   ([`ResponseProblem`], [`RequestProblem`], [`UrlProblem`], [`HeaderProblem`],
//!   [`HttpProblem`], [`HeadLimit`]), a refused permessage-deflate negotiation which parameter
//!   ([`DeflateProblem`]), a message an extension cannot decode why ([`ExtensionError`]). Every
//!   enum is `#[non_exhaustive]` and its `Display` is a plain sentence.
//! - [`manual`]: design, limits and why, and how to drive a connection from an I/O loop.
//!
//! ```
//! use ws_proto::{Config, Connection, Event, handshake};
//!
//! // A client and a server, wired together by hand.
//! let request = handshake::client_request("ws://example.com/chat", &handshake::random_key(),
//!     &Default::default()).unwrap();
//! let mut client = Connection::client(request, Config::default());
//! let mut server = Connection::server(Config::default());
//! let mut wire = bytes::BytesMut::new();
//!
//! client.poll_transmit(&mut wire);
//! server.receive_data(&wire.split()).unwrap();
//! let Some(Event::Request(req)) = server.poll_event() else { panic!() };
//! server.accept(handshake::accept_response(&req.upgrade, None)).unwrap();
//! server.poll_transmit(&mut wire);
//! client.receive_data(&wire.split()).unwrap();
//! assert!(matches!(client.poll_event(), Some(Event::Open(_))));
//!
//! client.send_text("hello").unwrap();
//! client.poll_transmit(&mut wire);
//! server.receive_data(&wire.split()).unwrap();
//! assert!(matches!(server.poll_event(), Some(Event::Text(t)) if &*t == "hello"));
//! ```
#![warn(missing_docs)]

mod close;
mod connection;
pub mod deflate;
mod error;
pub mod frame;
pub mod handshake;
pub mod manual;
mod mask;
pub mod position;
mod utf8;

pub use close::{CloseCode, CloseFrame};
pub use connection::{
    Config, Connection, Direction, Event, Frame, IdleBuffers, MessageKind, Opened, ReadyState,
    Requested, Role,
};
pub use deflate::{DeflateConfig, DeflateParams};
pub use error::{
    CutShort, DeflateProblem, Error, ExtensionError, HandshakeError, HeadLimit, HeaderProblem,
    HttpProblem, ProtocolError, RequestProblem, ResponseProblem, UrlProblem, UsageError,
};
pub use frame::{FrameHeader, OpCode};
pub use handshake::{ClientOptions, HandshakeLimits, Negotiated, UpgradeRequest};
pub use mask::{FixedMask, MaskSource, OsRandom};
pub use position::{Fragment, MessageNumbering, MessagePosition};
pub use utf8::{InvalidUtf8, Utf8Bytes, Utf8Validator};

pub use bytes;
pub use http;

/// The README's examples, compiled and run as doc tests (and only then, so that the crate's
/// documentation does not repeat the README).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}
