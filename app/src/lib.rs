//! ws-inspector: a desktop WebSocket inspector built on [`ws_tokio`] and egui.
//!
//! It shows everything a WebSocket connection does: the opening handshake byte for byte, the
//! browser's `readyState` as it changes, every frame in both directions with its FIN, RSV and
//! opcode bits and mask key (control frames and fragments in place), and the browser's
//! lifecycle events. A composer sends any frame; profiles (RON files) keep connection options.
//!
//! The crate is a library so that tests can drive the real UI headless with `egui_kittest`
//! ([`WsInspectorApp::new_for_test`]); the binary (`src/main.rs`) only parses arguments and
//! opens the window.
//!
//! Layout: [`app`] holds the one persisted state struct and lays out the window; [`net`] runs
//! connections on a background tokio runtime; [`views`] are the panels; [`store`] is the
//! bounded frame log; [`profiles`] the saved profiles; [`cli`] the command line; [`bench`] the
//! ingest benchmark behind `--bench-ingest`.
#![warn(missing_docs)]

pub mod app;
pub mod bench;
pub mod cli;
pub mod net;
pub mod profiles;
pub mod store;
pub mod views;

pub use app::WsInspectorApp;
