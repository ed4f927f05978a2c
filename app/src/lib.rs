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
//! The app is views over [`ws_inspector_core`], which holds the sessions (run on a background
//! tokio runtime), the bounded frame log, the profiles and the capture format. Layout here:
//! [`app`] holds the one persisted state struct, the tabs, shortcuts, file dialogs and theme,
//! and lays out the window; [`views`] are the panels; [`cli`] the command line; [`logging`]
//! the log file in the state folder (copied to stderr with `--verbose`).
#![warn(missing_docs)]

pub mod app;
pub mod cli;
pub mod logging;
pub mod views;

pub use app::WsInspectorApp;
