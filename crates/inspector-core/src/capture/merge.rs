//! One capture of several sessions — every client of a listener, both legs of each client
//! of a relay — as the command line writes them (`wsi listen --jsonl`, `wsi relay --jsonl`):
//! each line marked with its connection's number (`conn`) and relay leg (`leg`), the lines
//! of all of them in time order under one header line. Opening it gives back one tab per
//! (`conn`, `leg`) ([`loader`](super::loader)).

use std::path::Path;

use super::record::{CaptureLine, Leg, Record};
use crate::session::Session;
use crate::session::recorder::save_lines;

/// A session of a capture of several, and what marks its lines.
#[derive(Clone, Copy, Debug)]
pub struct Part<'a> {
    /// Its number (from 1, in the order the clients connected).
    pub conn: u64,
    /// Its relay leg, in a relay.
    pub leg: Option<Leg>,
    /// The session.
    pub session: &'a Session,
}

/// The lines of `parts` merged: the first session's header line, then every session's other
/// lines marked with its `conn` and `leg`, in time order (a session's own lines keep their
/// order).
pub fn merged_lines(parts: &[Part<'_>]) -> Result<Vec<CaptureLine>, String> {
    let mut header = None;
    let mut lines = Vec::new();
    for part in parts {
        for mut line in part.session.capture_lines()? {
            if matches!(line.record, Record::Capture { .. }) {
                header.get_or_insert(line);
                continue;
            }
            line.conn = Some(part.conn);
            line.leg = part.leg;
            lines.push(line);
        }
    }
    let Some(header) = header else {
        return Err("there is no session to save yet".to_owned());
    };
    // Stable: lines with the same time keep the order they had.
    lines.sort_by_key(|line| line.time_ns);
    lines.insert(0, header);
    Ok(lines)
}

/// Saves `parts` as one capture at `path` (`.jsonl`, `.har` or `.pcapng` by its extension),
/// atomically; an existing file is refused unless `replace`. Returns the bytes written.
pub fn save_sessions(parts: &[Part<'_>], path: &Path, replace: bool) -> Result<u64, String> {
    save_lines(&merged_lines(parts)?, path, replace)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use ws_tokio::tap::{TapEvent, TapKind};
    use ws_tokio::ws_proto::ReadyState;

    use super::*;
    use crate::capture::{JsonlWriter, load};

    /// A read-only session whose lines are a header and the readyStates given, at the times
    /// given (ms).
    fn session(states: &[(u64, ReadyState)]) -> Session {
        let mut writer = JsonlWriter::new(Vec::new());
        writer.write_header("merge test").unwrap();
        for (ms, state) in states {
            let event = TapEvent {
                time: SystemTime::UNIX_EPOCH + Duration::from_millis(*ms),
                elapsed: Duration::from_millis(*ms),
                kind: TapKind::State(*state),
            };
            writer.write_event(&event).unwrap();
        }
        let bytes = writer.finish().unwrap();
        let opened = load(&bytes, "x").unwrap();
        opened
            .connections
            .into_iter()
            .next()
            .unwrap()
            .into_session()
    }

    #[test]
    fn sessions_merge_in_time_order_and_open_as_they_were() {
        let first = session(&[(1, ReadyState::Connecting), (5, ReadyState::Open)]);
        let second = session(&[(2, ReadyState::Connecting), (3, ReadyState::Open)]);
        let parts = [
            Part {
                conn: 1,
                leg: Some(Leg::Client),
                session: &first,
            },
            Part {
                conn: 1,
                leg: Some(Leg::Server),
                session: &second,
            },
        ];
        let lines = merged_lines(&parts).unwrap();
        assert!(
            matches!(lines[0].record, Record::Capture { .. }),
            "one header"
        );
        let order: Vec<(u64, Option<Leg>)> = lines[1..]
            .iter()
            .map(|l| (l.time_ns / 1_000_000, l.leg))
            .collect();
        assert_eq!(
            order,
            [
                (1, Some(Leg::Client)),
                (2, Some(Leg::Server)),
                (3, Some(Leg::Server)),
                (5, Some(Leg::Client)),
            ]
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.jsonl");
        save_sessions(&parts, &path, false).unwrap();
        assert!(
            save_sessions(&parts, &path, false).is_err(),
            "no silent overwrite"
        );
        let bytes = std::fs::read(&path).unwrap();
        let opened = load(&bytes, "relay.jsonl").unwrap();
        let labels: Vec<_> = opened.connections.iter().map(|c| c.label()).collect();
        assert_eq!(
            labels,
            [
                Some("conn 1 · client leg".to_owned()),
                Some("conn 1 · server leg".to_owned())
            ]
        );
        assert!(merged_lines(&[]).is_err());
    }
}
