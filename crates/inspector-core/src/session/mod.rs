//! Sessions: one tokio runtime on background threads ([`Net`]), a [`Session`] per
//! connection, and the built-in local echo server.
//!
//! The UI never awaits anything here. A session runs [`ws_tokio::connect`] with a
//! [tap](ws_tokio::tap) on the runtime; a drain task applies every tap report to the session's
//! [`SessionState`] (behind a mutex the UI reads each frame) through
//! [`SessionState::apply`], and tells the UI through a [`Notify`](crate::Notify).
//! Commands from the UI (send, close, cancel) go through an unbounded channel to one task per
//! session, so they reach the connection in the order they were given.
//!
//! Files: [`state`] the state and its `apply`; `handle` the UI's [`Session`]; [`recorder`]
//! every line of a session, kept for Save and streamed to a file while recording; `task` the
//! drain and session tasks; `runtime` [`Net`]; `tasks` [`Tasks`]; `echo` the local echo
//! server; [`explain`](mod@explain) errors in plain words.

pub mod activity;
mod echo;
pub mod explain;
pub(crate) mod handle;
pub mod recorder;
pub(crate) mod runtime;
pub mod state;
pub(crate) mod task;
mod tasks;

pub use explain::{explain, header_pairs};
pub use handle::Session;
pub use recorder::{CaptureLines, Recorder, RecorderStatus};
pub use runtime::Net;
pub use state::{CloseSummary, Failure, Handshake, SessionState, Traffic, lock};
pub use task::{DRAIN_BATCH, SessionOptions};
pub use tasks::Tasks;
