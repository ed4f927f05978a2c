//! Reading a capture file for `replay`, `serve` and `convert`: JSON lines, or HAR (turned
//! into capture lines by the core's importer), and picking one of its connections.

use std::io::BufReader;
use std::path::Path;

use ws_inspector_core::capture::script::{self, Script};
use ws_inspector_core::capture::{CaptureLine, JsonlReader, Leg};

use crate::args::PickArgs;
use crate::exit::Failure;

/// The formats a capture file can be in, by its extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `.jsonl` (or `.json`, `.ndjson`): the capture format.
    Jsonl,
    /// `.har`: HTTP Archive 1.2.
    Har,
    /// `.pcapng`: written only.
    Pcapng,
}

impl Format {
    /// The format `path`'s extension names.
    pub fn of(path: &Path) -> Result<Self, Failure> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("jsonl" | "ndjson" | "json") => Ok(Self::Jsonl),
            Some("har") => Ok(Self::Har),
            Some("pcapng") => Ok(Self::Pcapng),
            _ => Err(Failure::usage(format!(
                "{}: the extension must be .jsonl, .har or .pcapng",
                path.display()
            ))),
        }
    }
}

/// Every line of the capture at `path` (the header line included). A line that cannot be
/// read is a usage error naming the file and the line; a truncated last line (a recording
/// cut short) is reported and the lines before it are kept.
pub fn read(path: &Path) -> Result<Vec<CaptureLine>, Failure> {
    match Format::of(path)? {
        Format::Jsonl => read_jsonl(path),
        Format::Har => read_har(path),
        Format::Pcapng => Err(Failure::usage(format!(
            "{}: reading pcapng is not supported (convert from the .jsonl or .har capture)",
            path.display()
        ))),
    }
}

fn read_jsonl(path: &Path) -> Result<Vec<CaptureLine>, Failure> {
    let file = std::fs::File::open(path)
        .map_err(|e| Failure::usage(format!("{}: cannot open it: {e}", path.display())))?;
    let text_len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut reader = JsonlReader::new(BufReader::with_capacity(1 << 20, file));
    let mut lines = Vec::new();
    while let Some(line) = reader.next_line() {
        match line {
            Ok(line) => lines.push(line),
            Err(e) => {
                // The last line cut short: keep what came before it.
                if is_truncated_tail(path, text_len) && !lines.is_empty() {
                    eprintln!(
                        "wsi: {}: {e}; the last line is incomplete (a recording cut short?): \
                         the {} lines before it are used",
                        path.display(),
                        lines.len()
                    );
                    break;
                }
                return Err(Failure::usage(format!("{}: {e}", path.display())));
            }
        }
    }
    if lines.is_empty() {
        return Err(Failure::usage(format!(
            "{}: the capture is empty",
            path.display()
        )));
    }
    Ok(lines)
}

/// Whether the file does not end with a newline (its last line was cut short).
fn is_truncated_tail(path: &Path, len: u64) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    if len == 0 || file.seek(SeekFrom::End(-1)).is_err() {
        return false;
    }
    let mut last = [0u8; 1];
    file.read_exact(&mut last).is_ok() && last[0] != b'\n'
}

fn read_har(path: &Path) -> Result<Vec<CaptureLine>, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::usage(format!("{}: cannot read it: {e}", path.display())))?;
    let import = ws_inspector_core::capture::har::import(&text)
        .map_err(|e| Failure::usage(format!("{}: {e}", path.display())))?;
    if import.skipped_http_entries > 0 {
        eprintln!(
            "wsi: {}: {} WebSocket entries read, {} HTTP entries skipped",
            path.display(),
            import.websocket_entries,
            import.skipped_http_entries
        );
    }
    Ok(import.lines)
}

/// The script of the connection `pick` names (the first with an upgrade request by
/// default), with what it was picked from said on stderr when there was a choice.
pub fn pick_script(lines: &[CaptureLine], pick: &PickArgs) -> Result<Script, Failure> {
    let leg = match pick.leg.as_deref() {
        None => None,
        Some("client") => Some(Leg::Client),
        Some("server") => Some(Leg::Server),
        Some(other) => {
            return Err(Failure::usage(format!(
                "--leg {other:?}: a relay's legs are `client` and `server`"
            )));
        }
    };
    let all = script::connections(lines);
    let wanted = all.iter().copied().filter(|(conn, l)| {
        pick.conn.is_none_or(|n| *conn == Some(n)) && leg.is_none_or(|g| *l == Some(g))
    });
    let mut last_error = None;
    for (conn, leg) in wanted {
        match script::script(lines, conn, leg) {
            Ok(script) => {
                if all.len() > 1 {
                    eprintln!(
                        "wsi: the capture holds {} connections; using {}",
                        all.len(),
                        describe(conn, leg)
                    );
                }
                return Ok(script);
            }
            Err(e) => last_error = Some(e),
        }
    }
    Err(Failure::usage(last_error.unwrap_or_else(|| {
        "no connection of the capture matches --conn/--leg".to_owned()
    })))
}

fn describe(conn: Option<u64>, leg: Option<Leg>) -> String {
    let mut text = match conn {
        Some(n) => format!("--conn {n}"),
        None => "its only connection".to_owned(),
    };
    if let Some(leg) = leg {
        text.push_str(&format!(" --leg {}", leg.as_str()));
    }
    text
}
