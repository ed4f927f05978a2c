//! The GUI-free core of ws-inspector: everything the desktop app, a command line or a
//! headless test needs to inspect WebSocket connections, with no window.
//!
//! - [`session`]: [`Net`] (one tokio runtime, the built-in local echo server) and a
//!   [`Session`] per connection, whose [`SessionState`] is changed in one place,
//!   [`SessionState::apply`], from the transport's [tap](ws_tokio::tap) reports;
//! - [`listener`]: the inspector as a server, each accepted client a session of its own;
//! - [`relay`]: forwarding between a client and an upstream server, and relay tabs' sessions;
//! - [`log`]: the bounded frame log ([`LogStore`]), its filters and the message view;
//! - [`profiles`]: connection profiles and their folder of RON files;
//! - [`capture`]: the capture format (versioned JSON lines) with its writer and reader;
//! - [`url`]: the one check of a typed URL;
//! - [`notify`]: how the network side tells a UI to repaint;
//! - [`bench_support`]: a flooding server and resident memory, for benchmarks and tests.
//!
//! Nothing here depends on a GUI crate (`cargo tree -p ws-inspector-core -e normal` shows
//! no egui, eframe, winit or rfd).
#![warn(missing_docs)]

pub mod bench_support;
pub mod capture;
pub mod decode;
pub mod hex;
pub mod listener;
pub mod log;
pub mod memory;
pub mod notify;
pub mod profiles;
pub mod relay;
pub mod session;
pub mod url;
pub mod vars;
pub mod workflow;

pub use log::LogStore;
pub use notify::Notify;
pub use profiles::{Profile, ProfileStore};
pub use session::{Net, Session, SessionState};
