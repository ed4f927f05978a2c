//! The tokio + rustls transport for [`ws_proto`]. Filled in by the ws-net work.
#![warn(missing_docs)]
