//! The daily workflow's building blocks, shared by the inspector and `wsi`: reconnecting
//! with a backoff ([`backoff`]), pings on a timer and keep-alive ([`pings`]), and what a
//! connection carried ([`stats`]).

pub mod backoff;
pub mod pings;
pub mod stats;
