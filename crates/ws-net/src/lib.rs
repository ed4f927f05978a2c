//! The tokio + rustls transport for [`ws_proto`]. Being filled in by the ws-net work.
#![warn(missing_docs)]

mod error;
pub mod proxy;
pub mod tls;

pub use error::{Error, Result, Stage};
pub use ws_proto;
