//! Connection profiles: what to connect to and how, saved as RON files in the platform's
//! config folder.
//!
//! - [`profile`]: [`Profile`], one profile as the user edits it;
//! - `connect`: [`Profile::to_connect_options`], which checks it and turns it into
//!   [`ws_tokio::ConnectOptions`], with errors in plain words;
//! - [`saved`]: [`SavedMessage`], a message kept in a profile or in the workspace-wide
//!   [`Library`], and the send-on-connect list ([`Profile::on_connect_frames`]);
//! - [`variables`]: [`VariableRow`], a profile's variables, and what an export leaves out;
//! - [`store`]: [`ProfileStore`], the folder of profiles (and the library) on disk.

mod connect;
pub mod profile;
pub mod saved;
pub mod server;
pub mod store;
#[cfg(test)]
mod testing;
pub mod variables;

pub use profile::{HeaderRow, Profile};
pub use saved::{Library, SavedKind, SavedMessage};
pub use server::{ServerKind, ServerProfile};
pub use store::{CONFIG_DIR_ENV, ProfileStore};
pub use variables::VariableRow;
