//! The tokio + rustls transport for [`ws_proto`]: `ws://` and `wss://` clients and servers,
//! HTTP CONNECT proxies, timeouts, and a [tap] that reports every handshake byte and
//! every frame in both directions.
//!
//! By default one task per connection owns the socket and the engine; you hold a cloneable
//! [`Sender`] and a [`Receiver`] (see the [`driver`] notes for why). The `*_direct` functions
//! give a [`WsStream`] instead, which your own task drives with no hand-off: the fastest way
//! for a task that answers messages one by one (see the [`stream`] notes).
//!
//! ```no_run
//! # async fn demo() -> Result<(), ws_tokio::Error> {
//! use ws_tokio::{ConnectOptions, Message, connect};
//!
//! let ws = connect(ConnectOptions::new("ws://127.0.0.1:9002/")).await?;
//! let (sender, mut receiver) = ws.split();
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
pub mod driver;
mod error;
pub mod proxy;
mod server;
pub mod stream;
pub mod tap;
pub mod tls;

pub use client::{
    ConnectOptions, Timeouts, connect, connect_direct, connect_direct_with_request,
    connect_with_request,
};
pub use driver::{HandshakeInfo, Message, Outgoing, Receiver, Sender, WebSocket};
pub use error::{Error, Result, Stage};
pub use proxy::Proxy;
pub use rustls;
pub use server::{
    Decision, Incoming, Server, ServerOptions, accept, accept_direct, accept_stream,
    accept_stream_direct,
};
pub use stream::{MaybeTlsStream, WsStream};
pub use tls::{TlsInfo, TlsOptions};
pub use ws_proto;
