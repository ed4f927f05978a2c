//! The manual: design, limits and why, security notes, and driving a connection from an I/O
//! loop. This module holds documentation only.
//!
//! # Design
//!
//! The engine follows the sans-IO shape of Python's `websockets` and of `quinn-proto`: a
//! [`Connection`](crate::Connection) is a plain value that consumes bytes and produces bytes
//! and events. It never blocks, allocates no threads, reads no clock, and draws randomness only
//! from its [`MaskSource`](crate::MaskSource) (client masks) and from the key in the request
//! you give it. Given the same inputs it produces the same outputs, which is what makes it
//! testable byte for byte, fuzzable, and usable under any runtime.
//!
//! The handshake is part of the same state machine ([`ReadyState::Connecting`](crate::ReadyState::Connecting)) so that bytes
//! the peer sends right behind its HTTP head — a server's first frames in the same TCP segment
//! as its 101 — are kept and processed, never lost.
//!
//! Nothing is hidden. With [`Config::report_frames`](crate::Config::report_frames) on, every
//! frame in both directions is reported with its header (FIN, RSV1–3, opcode, mask key,
//! length), unmasked payload and place in its message
//! ([`MessagePosition`](crate::MessagePosition): which message, which fragment, its type and
//! offset), before the message-level events it makes up, so that a reader never has to
//! work message boundaries out again. Auto-pong and
//! the automatic close reply can be turned off, and
//! [`send_raw_frame`](crate::Connection::send_raw_frame) sends any frame at all — what a
//! debugging tool needs to provoke a peer.
//!
//! # Limits, and why
//!
//! | limit | default | why |
//! |---|---|---|
//! | [`max_frame_size`](crate::Config::max_frame_size) | 16 MiB | the length is in the header, so an oversized frame fails (1009) before its payload is buffered |
//! | [`max_message_size`](crate::Config::max_message_size) | 16 MiB | the memory one peer can make us hold for one message; Autobahn's largest case is exactly 16 MiB. Counted after decompression, *while* inflating: a compressed message stops at the limit (1009) |
//! | [`max_fragments`](crate::Config::max_fragments) | 262,144 | an endless run of empty continuation frames costs CPU without ever completing a message |
//! | [`HandshakeLimits::max_head_size`](crate::HandshakeLimits) | 64 KiB | what a peer can make us buffer before the connection even opens; room for big cookies |
//! | `max_headers` / `max_line_len` | 128 / 16 KiB | the same, per field and per line |
//! | `max_body_size` | 64 KiB | the body of a refusal (403, 500 …) kept for display |
//!
//! Every limit is checked before the data it bounds is stored.
//!
//! # permessage-deflate
//!
//! Off unless [`Config::deflate`](crate::Config::deflate) is set (then a client offers it
//! and a server accepts offers; see [`deflate`](crate::deflate) for the negotiation rules).
//! Receiving, the compressed payload of each frame is inflated as soon as the frame is
//! complete, into a buffer that may grow only to the message limit plus one byte, so a
//! decompression bomb (16 MiB of zeros is 16 KiB compressed) costs at most the limit: the
//! test `sixteen_mib_of_zeros_against_a_one_mib_limit_fails_with_1009_near_the_limit` measures
//! the heap with a counting allocator. Text is checked for UTF-8 as it comes out of the
//! inflater. Corrupt compressed data closes with 1007; RSV1 on a continuation or control
//! frame with 1002. [`Frame::decompressed_len`](crate::Frame::decompressed_len) reports the
//! plain size of each compressed frame beside its wire size, both ways.
//!
//! Memory per connection with the extension in use: zlib's inflate state (≈ 7 KiB plus the
//! window, 32 KiB at 15 bits) and, once this side sends a compressed message, the deflate
//! state (≈ 256 KiB at level 6, window 15; smaller windows and levels use less). A server
//! with many connections may set `server_max_window_bits` and a lower `level`.
//!
//! # Faults and close codes
//!
//! A peer fault fails the connection (RFC 6455 §7.1.7): a close frame with the fault's code is
//! queued, the state becomes [`Closed`](crate::ReadyState::Closed), later input is discarded,
//! and the [`ProtocolError`](crate::ProtocolError) is returned from `receive_data`. Each fault
//! has exactly one code: 1002 for framing and protocol violations, 1007 for invalid UTF-8 in a
//! text message or close reason (found at the first byte that makes it invalid, even in the
//! middle of a frame) and for compressed data that does not inflate, 1009 for anything over a
//! limit.
//!
//! # Errors are typed
//!
//! No error in this crate is a bare string. The three categories of [`Error`](crate::Error)
//! — [`ProtocolError`](crate::ProtocolError) (the peer's fault, with its close code),
//! [`UsageError`](crate::UsageError) (the caller's) and
//! [`HandshakeError`](crate::HandshakeError) (which step of the upgrade failed) — carry enums
//! that say exactly what was wrong and with which values:
//! [`ResponseProblem`](crate::ResponseProblem) for a server's 101 that does not complete the
//! upgrade (the accept key expected and received, the subprotocol chosen, the extension not
//! offered …), [`RequestProblem`](crate::RequestProblem) for a client's request a server
//! refuses (each with the status it is answered with), [`DeflateProblem`](crate::DeflateProblem)
//! for a permessage-deflate element (the parameter and value at fault),
//! [`ExtensionError`](crate::ExtensionError) for a message an extension cannot decode, and
//! [`UrlProblem`](crate::UrlProblem), [`HeaderProblem`](crate::HeaderProblem),
//! [`HttpProblem`](crate::HttpProblem), [`HeadLimit`](crate::HeadLimit) for the rest. Each is
//! `#[non_exhaustive]` (keep a `_` arm) and its `Display` is a sentence fit to show a user.
//!
//! ```
//! use ws_proto::{Config, Connection, Error, HandshakeError, ResponseProblem, handshake};
//!
//! let request = handshake::client_request("ws://example.com/", &handshake::random_key(),
//!     &Default::default())?;
//! let mut client = Connection::client(request, Config::default());
//! let answer = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
//!     Connection: Upgrade\r\nSec-WebSocket-Accept: bm90IHRoZSByaWdodCBrZXk=\r\n\r\n";
//! let Err(Error::Handshake(failure)) = client.receive_data(answer) else { panic!() };
//! match &*failure {
//!     HandshakeError::InvalidResponse {
//!         problem: ResponseProblem::AcceptMismatch { got, .. }, ..
//!     } => assert_eq!(got, "bm90IHRoZSByaWdodCBrZXk="),
//!     other => panic!("{other}"),
//! }
//! assert!(failure.to_string().contains("Sec-WebSocket-Accept does not match the key"));
//! # Ok::<(), ws_proto::HandshakeError>(())
//! ```
//!
//! # Security notes
//!
//! - Client masks are fresh per frame and come from the OS generator by default.
//! - Nothing in this crate panics on input; a property test and a fuzz target feed it
//!   arbitrary bytes in both roles.
//! - Closing: the server closes TCP first ([`should_close_transport`](crate::Connection::should_close_transport));
//!   the client waits for it ([`close_expected`](crate::Connection::close_expected)) and should
//!   give up after a timeout of its own.
//!
//! # Driving a connection from an I/O loop
//!
//! The loop is always the same: write what `poll_transmit` gives, read and feed
//! `receive_data`, handle what `poll_event` gives, and stop when `should_close_transport` or
//! `close_expected` says so. Here is a blocking client over `std::net::TcpStream`:
//!
//! ```no_run
//! use std::io::{Read, Write};
//! use std::net::TcpStream;
//!
//! use ws_proto::bytes::BytesMut;
//! use ws_proto::{CloseCode, Config, Connection, Event, handshake};
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let mut tcp = TcpStream::connect("127.0.0.1:9002")?;
//!     let key = handshake::random_key();
//!     let request = handshake::client_request("ws://127.0.0.1:9002/", &key, &Default::default())?;
//!     let mut ws = Connection::client(request, Config::default());
//!     let mut out = BytesMut::new();
//!     let mut buf = [0u8; 16 * 1024];
//!     loop {
//!         if ws.poll_transmit(&mut out) > 0 {
//!             tcp.write_all(&out)?;
//!             out.clear();
//!         }
//!         if ws.should_close_transport() {
//!             break;
//!         }
//!         let n = tcp.read(&mut buf)?;
//!         let result = if n == 0 { ws.receive_eof() } else { ws.receive_data(&buf[..n]) };
//!         if let Err(e) = result {
//!             eprintln!("connection failed: {e}");
//!         }
//!         while let Some(event) = ws.poll_event() {
//!             match event {
//!                 Event::Open(_) => ws.send_text("hello")?,
//!                 Event::Text(text) => {
//!                     println!("got {text}");
//!                     ws.send_close(Some(CloseCode::NORMAL), "done")?;
//!                 }
//!                 Event::Close(frame) => println!("closed by peer: {:?}", frame.code),
//!                 _ => {}
//!             }
//!         }
//!         if n == 0 {
//!             break;
//!         }
//!     }
//!     Ok(())
//! }
//! ```
//!
//! A real client also arms a timer when `close_expected` turns true and drops the socket if
//! the server has not closed it in time; `ws-tokio` does that. The crate's
//! `examples/blocking_client.rs` and `examples/blocking_server.rs` are complete programs over
//! `std::net` with those deadlines (the socket's read timeout serves as the timer), commands
//! from another thread, and the server's orderly TCP close.
