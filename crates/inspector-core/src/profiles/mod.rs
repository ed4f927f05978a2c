//! Connection profiles: what to connect to and how, saved as RON files in the platform's
//! config folder.
//!
//! - [`profile`]: [`Profile`], one profile as the user edits it;
//! - `connect`: [`Profile::to_connect_options`], which checks it and turns it into
//!   [`ws_tokio::ConnectOptions`], with errors in plain words;
//! - [`store`]: [`ProfileStore`], the folder of profiles on disk.

mod connect;
pub mod profile;
pub mod store;
#[cfg(test)]
mod testing;

pub use profile::{HeaderRow, Profile};
pub use store::{CONFIG_DIR_ENV, ProfileStore};
