//! A sans-IO implementation of the WebSocket protocol (RFC 6455): the opening handshake for
//! clients and servers, framing, masking, fragmentation, UTF-8 validation, control frames,
//! the close handshake, limits, and permessage-deflate (RFC 7692) — with every frame
//! observable as it was on the wire.
//!
//! **No I/O, no clock, no threads, no async.** A [`Connection`] takes bytes in
//! ([`Connection::receive_data`], [`Connection::receive_eof`]) and gives bytes and events out
//! ([`Connection::poll_transmit`], [`Connection::poll_event`]). It is **deterministic** given
//! its inputs: the only randomness (client masking keys and handshake keys) comes from a
//! [`MaskSource`] and a key the caller can supply. Drive it from blocking sockets, tokio,
//! a fuzzer or a test, the same way. [`ws-net`](https://crates.io/crates/ws-net) is the tokio
//! and rustls transport built on it.
//!
//! What is here:
//! - [`handshake`]: building, parsing and checking the HTTP upgrade, typed with [`http`];
//!   a failed upgrade keeps the server's status, headers and body.
//! - [`frame`]: the header codec and word-at-a-time masking, for anyone who needs raw frames.
//! - [`Connection`]: one state machine for both [`Role`]s with the browser's [`ReadyState`]s.
//! - [`deflate`]: permessage-deflate (RFC 7692) — negotiation in both roles, compression, and
//!   inflating bounded by the message limit.
//! - Errors by category: [`ProtocolError`] (the peer's fault, each mapped to one close code),
//!   [`UsageError`] (the caller's), [`HandshakeError`].
//! - [`manual`]: design, limits and why, and how to drive a connection from an I/O loop.
//!
//! What is not: sockets, TLS, proxies and timeouts (see `ws-net`); HTTP beyond the upgrade.
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
mod utf8;

pub use close::{CloseCode, CloseFrame};
pub use connection::{
    Config, Connection, Direction, Event, Frame, MessageKind, Opened, ReadyState, Requested, Role,
};
pub use deflate::{DeflateConfig, DeflateParams};
pub use error::{Error, HandshakeError, ProtocolError, UsageError};
pub use frame::{FrameHeader, OpCode};
pub use handshake::{ClientOptions, HandshakeLimits, Negotiated, UpgradeRequest};
pub use mask::{FixedMask, MaskSource, OsRandom};
pub use utf8::{InvalidUtf8, Utf8Bytes, Utf8Validator};

pub use bytes;
pub use http;
