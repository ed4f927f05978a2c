//! The capture format: a session's tap reports as JSON lines, versioned and lossless, for
//! the export and import work (and `wsi --jsonl`) to write and read.
//!
//! One line per report, a [`CaptureLine`]: the format version `v`, the wall-clock time and
//! the monotonic time since the tap was created (nanoseconds), and the [`Record`] — the
//! handshake heads with their bytes as on the wire, the TLS facts (certificates as DER),
//! every frame with its FIN/RSV bits, opcode, mask key and unmasked payload (base64), the
//! plain content of compressed messages, readyState changes, the close and errors.
//!
//! - [`record`]: [`CaptureLine`] and [`Record`], with the conversions from and back to
//!   [`TapEvent`](ws_tokio::tap::TapEvent);
//! - [`jsonl`]: [`JsonlWriter`] and [`JsonlReader`];
//! - [`loader`]: [`open`] and [`load`], a capture replayed into read-only sessions for the
//!   inspector's tabs (one per connection);
//! - [`mask`]: [`Secrets`], secret variable values masked in a line before it is written;
//! - [`merge`]: the sessions of a listener or a relay saved as one capture (`conn`, `leg`);
//! - [`script`] and [`playback`]: a capture replayed against a server, or served to clients.
//!
//! The format is written down, with an example of every kind of line, in
//! `docs/capture-format.md` (a test reads the examples back).
//!
//! Reading a line of a newer version than [`VERSION`] is an error, never a guess.

mod encoding;
mod frame_line;
pub mod har;
pub mod jsonl;
pub mod loader;
pub mod mask;
pub mod merge;
pub mod pcapng;
pub mod playback;
pub mod record;
pub mod script;

pub use jsonl::{JsonlReader, JsonlWriter, ReadError};
pub use loader::{
    CapturedConnection, OpenedCapture, Progress, is_cancelled, load, open, open_with,
};
pub use mask::Secrets;
pub use record::{
    CaptureLine, CertificateRecord, FragmentRecord, FrameRecord, InitiatorRecord, KindRecord, Leg,
    MessageRecord, OpenedRecord, PositionRecord, Record, RequestHead, ResponseHead, TlsRecord,
};

/// The version of the format this crate writes (and the newest it reads).
pub const VERSION: u32 = 1;

/// The `format` of a capture's first line ([`Record::Capture`]).
pub const FORMAT: &str = "ws-inspector capture";
