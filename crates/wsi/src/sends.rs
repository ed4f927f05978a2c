//! `--send`, `--send-hex` and `--send-file`, in the order they were given on the command
//! line (clap keeps each flag's values apart; their indices put them back in order). Hex is
//! parsed and files are read before connecting, so a mistake is a usage error, not a
//! half-finished session.

use clap::ArgMatches;
use ws_inspector_core::hex::parse_hex;
use ws_tokio::ws_proto::bytes::Bytes;

use crate::exit::Failure;

/// One message to send once open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outbound {
    /// `--send TEXT`.
    Text(String),
    /// `--send-hex HEX` or `--send-file PATH`.
    Binary(Bytes),
}

impl Outbound {
    /// The payload's length in bytes.
    pub fn payload_len(&self) -> usize {
        match self {
            Self::Text(text) => text.len(),
            Self::Binary(data) => data.len(),
        }
    }
}

/// The sends of a `connect` subcommand's matches, in command-line order.
pub fn in_order(matches: &ArgMatches) -> Result<Vec<Outbound>, Failure> {
    let mut indexed: Vec<(usize, Outbound)> = Vec::new();
    for (index, text) in values::<String>(matches, "text") {
        indexed.push((index, Outbound::Text(text.clone())));
    }
    for (index, hex) in values::<String>(matches, "hex") {
        let data =
            parse_hex(hex).map_err(|e| Failure::usage(format!("--send-hex {hex:?}: {e}")))?;
        indexed.push((index, Outbound::Binary(Bytes::from(data))));
    }
    for (index, path) in values::<std::path::PathBuf>(matches, "file") {
        let data = std::fs::read(path).map_err(|e| {
            Failure::usage(format!(
                "--send-file {}: cannot read it: {e}",
                path.display()
            ))
        })?;
        indexed.push((index, Outbound::Binary(Bytes::from(data))));
    }
    indexed.sort_by_key(|(index, _)| *index);
    Ok(indexed.into_iter().map(|(_, send)| send).collect())
}

/// A flag's values with their command-line indices.
fn values<'a, T: Clone + Send + Sync + 'static>(
    matches: &'a ArgMatches,
    id: &str,
) -> Vec<(usize, &'a T)> {
    match (matches.indices_of(id), matches.get_many::<T>(id)) {
        (Some(indices), Some(values)) => indices.zip(values).collect(),
        _ => Vec::new(),
    }
}
