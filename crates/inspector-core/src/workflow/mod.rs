//! The daily workflow's building blocks, shared by the inspector and `wsi`: reconnecting
//! with a backoff ([`backoff`]) and the inspector's auto-reconnect built on it
//! ([`reconnect`]), pings on a timer and keep-alive ([`pings`]), a saved message sent
//! every N ms ([`periodic`]), and what a connection carried ([`stats`]).

pub mod backoff;
pub mod periodic;
pub mod pings;
pub mod reconnect;
pub mod stats;
