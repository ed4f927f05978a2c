//! The tokio + rustls transport for [`ws_proto`]: `ws://` and `wss://` clients and servers,
//! HTTP CONNECT proxies, timeouts, and a [tap] that reports every handshake byte and
//! every frame in both directions.
//!
//! [`connect`], [`accept`] and [`Incoming::upgrade`] give a [`WsStream`]: the connection
//! the task that owns it drives — `recv` reads and answers pings, `send` writes, with no
//! hand-off to another task, the fastest way to run a connection (see [`stream`]). It is a
//! `futures` `Stream` and `Sink`, and splits into a [`ReadHalf`] and a [`WriteHalf`] for two
//! tasks ([`WsStream::into_split`]; see [`split`]).
//! [`WsStream::into_driven`] hands it to a task of its own and gives a cloneable [`Sender`]
//! and a [`Receiver`], for programs that must keep reading while they are busy elsewhere
//! (see [`driver`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), ws_tokio::Error> {
//! use ws_tokio::{ConnectOptions, Message, connect};
//! use ws_tokio::ws_proto::CloseCode;
//!
//! let mut ws = connect(ConnectOptions::new("ws://127.0.0.1:9002/")).await?;
//! ws.send_text("hello").await?;
//! while let Some(message) = ws.recv().await {
//!     if let Message::Text(text) = message? {
//!         println!("{text}");
//!         ws.close(Some(CloseCode::NORMAL), "bye").await?;
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! The same with the task-driven handles:
//!
//! ```no_run
//! # async fn demo() -> Result<(), ws_tokio::Error> {
//! use ws_tokio::{ConnectOptions, Message, connect};
//!
//! let ws = connect(ConnectOptions::new("ws://127.0.0.1:9002/")).await?;
//! let (sender, mut receiver) = ws.into_driven().split();
//! sender.send_text("hello").await?;
//! while let Some(message) = receiver.recv().await {
//!     if let Message::Text(text) = message? {
//!         println!("{text}");
//!         sender.close(Some(ws_tokio::ws_proto::CloseCode::NORMAL), "bye").await?;
//!     }
//! }
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod client;
mod conn_core;
pub mod driver;
mod error;
mod handshake_info;
mod message;
pub mod proxy;
mod raw;
mod read_room;
mod server;
mod sink;
pub mod split;
pub mod stream;
pub mod tap;
pub mod tls;
#[cfg(feature = "hyper")]
pub mod upgrade;

pub use client::{ConnectOptions, Timeouts, connect, connect_with_request};
pub use driver::{Receiver, Sender, WebSocket};
pub use error::{Error, Result, Stage};
pub use handshake_info::HandshakeInfo;
pub use message::{Message, Outgoing};
pub use proxy::Proxy;
pub use raw::RawOptions;
pub use rustls;
pub use server::{
    Decision, Incoming, Server, ServerOptions, accept, accept_deciding_later, accept_stream,
};
pub use split::{ReadHalf, ReuniteError, WriteHalf};
pub use stream::{MaybeTlsStream, WsStream};
pub use tls::{TlsInfo, TlsOptions};
pub use ws_proto;

/// The README's examples, compiled as doc tests (`cargo test --doc`).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
