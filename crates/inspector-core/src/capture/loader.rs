//! Opening a capture for the inspector ([`open`], [`load`]): its lines replayed into a
//! [`SessionState`] with the same [`SessionState::apply`] a live session uses, so that every
//! view (frame log, messages, filters, payloads, handshake, TLS facts) works on it as on a
//! live connection.
//!
//! - **Several connections.** A capture of a listener or a relay (`conn` and `leg` fields,
//!   from `wsi listen` / `wsi relay`) gives one [`CapturedConnection`] per (`conn`, `leg`), in
//!   the order they first appear: the inspector opens one read-only tab for each.
//! - **The lines as read.** Each connection keeps the file's header line and its own lines,
//!   byte for byte ([`CapturedConnection::lines`]): saving the tab of a capture of one
//!   connection gives the file back, the same bytes; saving one connection of several gives
//!   the header and that connection's lines. Blank lines stay with the line before them.
//! - **Errors.** A line that is not a capture line, or of a newer version, is reported with
//!   its number, and nothing opens ([`ReadError`]). A last line that does not end with a
//!   newline and cannot be read is what a crash while recording leaves: everything before it
//!   opens, and [`OpenedCapture::truncated`] says which line was dropped. A file with no
//!   report of a connection is refused too.
//! - **Server side.** A listener's connections are replayed as well, but the state follows a
//!   client's view: the upgrade request a server received and the answer it sent are in the
//!   lines (and in a saved copy), not in the handshake view.

use std::collections::HashMap;
use std::io;
use std::path::Path;
use std::time::Duration;

use ws_tokio::tap::{TapEvent, TapKind};

use super::jsonl::{JsonlReader, ReadError};
use super::record::{Leg, Record};
use crate::session::{Session, SessionState};

/// A capture file, read: one replayed connection per (`conn`, `leg`).
#[derive(Debug)]
pub struct OpenedCapture {
    /// The file's name, for titles.
    pub name: String,
    /// The program that wrote it, from its header line (if it has one).
    pub generator: Option<String>,
    /// The connections, in the order their first line appears (never empty).
    pub connections: Vec<CapturedConnection>,
    /// The last line, dropped because it was cut short (a crash while recording).
    pub truncated: Option<ReadError>,
}

/// One connection of a capture, replayed.
#[derive(Debug)]
pub struct CapturedConnection {
    /// Its `conn` number, in a capture of several connections.
    pub conn: Option<u64>,
    /// Its relay leg.
    pub leg: Option<Leg>,
    /// The state its reports made, [`finished`](SessionState::finished).
    pub state: SessionState,
    /// The header line and this connection's lines, as read.
    pub lines: Vec<u8>,
    /// How many reports it has.
    pub reports: u64,
}

impl CapturedConnection {
    /// `conn 2 · client leg`, for a capture of several connections; `None` for one.
    pub fn label(&self) -> Option<String> {
        let conn = self.conn.map(|n| format!("conn {n}"));
        let leg = self.leg.map(|leg| format!("{} leg", leg.as_str()));
        match (conn, leg) {
            (Some(conn), Some(leg)) => Some(format!("{conn} · {leg}")),
            (conn, leg) => conn.or(leg),
        }
    }

    /// The read-only session a tab shows (its lines kept for Save).
    pub fn into_session(self) -> Session {
        Session::read_only(self.state, self.lines)
    }
}

/// Reads the capture file at `path`; see [`load`]. A `.har` file (saved by Chrome,
/// Firefox, mitmproxy or the inspector) is imported first ([`har::import`](super::har::import)):
/// each WebSocket entry is a connection; its error says where the file is not HAR.
pub fn open(path: &Path) -> Result<OpenedCapture, ReadError> {
    let bytes = std::fs::read(path).map_err(ReadError::Io)?;
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    if is_har(path) {
        return load(&har_as_jsonl(&bytes)?, &name);
    }
    load(&bytes, &name)
}

/// Whether `path` names a HAR file (by its extension).
pub fn is_har(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("har"))
}

/// A HAR file's WebSocket entries as capture lines (JSON lines).
fn har_as_jsonl(bytes: &[u8]) -> Result<Vec<u8>, ReadError> {
    let invalid = |reason: String| ReadError::Invalid { line: 1, reason };
    let text = std::str::from_utf8(bytes).map_err(|e| invalid(format!("not UTF-8 text: {e}")))?;
    let import = super::har::import(text)
        .map_err(|e| ReadError::Io(io::Error::new(io::ErrorKind::InvalidData, e.to_string())))?;
    let mut writer = super::JsonlWriter::new(Vec::new());
    for line in &import.lines {
        writer.write_line(line).map_err(ReadError::Io)?;
    }
    writer.finish().map_err(ReadError::Io)
}

/// Replays the capture `bytes` (named `name`, for titles): one [`CapturedConnection`] per
/// (`conn`, `leg`).
pub fn load(bytes: &[u8], name: &str) -> Result<OpenedCapture, ReadError> {
    let mut header: Vec<u8> = Vec::new();
    let mut generator = None;
    let mut groups: Vec<Group> = Vec::new();
    let mut index: HashMap<(Option<u64>, Option<Leg>), usize> = HashMap::new();
    // Where a blank line goes: with the line before it.
    let mut last_group: Option<usize> = None;
    let mut truncated = None;
    let pieces: Vec<&[u8]> = bytes.split_inclusive(|b| *b == b'\n').collect();
    for (i, raw) in pieces.iter().enumerate() {
        let number = i as u64 + 1;
        if raw.trim_ascii().is_empty() {
            match last_group {
                Some(g) => groups[g].lines.extend_from_slice(raw),
                None => header.extend_from_slice(raw),
            }
            continue;
        }
        let parsed = match JsonlReader::new(*raw).next_line() {
            Some(Ok(line)) => line
                .to_tap_or_header()
                .map_err(|reason| ReadError::Invalid {
                    line: number,
                    reason,
                })
                .map(|event| (line, event)),
            Some(Err(e)) => Err(renumber(e, number)),
            None => continue,
        };
        let (line, event) = match parsed {
            Ok(parsed) => parsed,
            // A crash while recording cuts the last line short: open what came before.
            Err(e) if i + 1 == pieces.len() && !raw.ends_with(b"\n") => {
                truncated = Some(e);
                break;
            }
            Err(e) => return Err(e),
        };
        let Some(event) = event else {
            // The header line: every connection's lines start with it.
            if let Record::Capture {
                generator: written_by,
                ..
            } = &line.record
            {
                generator = Some(written_by.clone());
            }
            header.extend_from_slice(raw);
            for group in &mut groups {
                group.lines.extend_from_slice(raw);
            }
            last_group = None;
            continue;
        };
        let key = (line.conn, line.leg);
        let g = *index.entry(key).or_insert_with(|| {
            groups.push(Group::new(key, header.clone()));
            groups.len() - 1
        });
        groups[g].lines.extend_from_slice(raw);
        groups[g].replay.push(event);
        last_group = Some(g);
    }
    if groups.is_empty() {
        return Err(ReadError::Io(io::Error::new(
            io::ErrorKind::InvalidData,
            "it holds no report of a connection",
        )));
    }
    Ok(OpenedCapture {
        name: name.to_owned(),
        generator,
        connections: groups.into_iter().map(Group::finish).collect(),
        truncated,
    })
}

/// The error of a line read on its own (line 1), with its number in the file.
fn renumber(e: ReadError, number: u64) -> ReadError {
    match e {
        ReadError::Invalid { reason, .. } => ReadError::Invalid {
            line: number,
            reason,
        },
        ReadError::TooNew { version, .. } => ReadError::TooNew {
            line: number,
            version,
        },
        ReadError::Io(e) => ReadError::Invalid {
            line: number,
            reason: format!("not a capture line ({e})"),
        },
    }
}

impl super::CaptureLine {
    /// The report this line records, or `None` for the header line (which must name the
    /// capture format).
    fn to_tap_or_header(&self) -> Result<Option<TapEvent>, String> {
        match &self.record {
            Record::Capture { format, .. } if format == super::FORMAT => Ok(None),
            Record::Capture { format, .. } => Err(format!(
                "the file is a {format:?}, not a {:?}",
                super::FORMAT
            )),
            _ => self.to_tap().map(Some),
        }
    }
}

/// The lines and the replay of one connection, while reading.
struct Group {
    key: (Option<u64>, Option<Leg>),
    lines: Vec<u8>,
    replay: Replay,
}

impl Group {
    fn new(key: (Option<u64>, Option<Leg>), header: Vec<u8>) -> Self {
        Self {
            key,
            lines: header,
            replay: Replay::default(),
        }
    }

    fn finish(self) -> CapturedConnection {
        let reports = self.replay.reports;
        CapturedConnection {
            conn: self.key.0,
            leg: self.key.1,
            state: self.replay.finish(),
            lines: self.lines,
            reports,
        }
    }
}

/// Applies a connection's reports to a state made once its URL is known (the upgrade
/// request comes after TCP and TLS are up), so that the log begins as a live session's
/// does: "connecting to URL" at the first report's time.
#[derive(Default)]
struct Replay {
    state: Option<SessionState>,
    pending: Vec<TapEvent>,
    last: Duration,
    reports: u64,
}

impl Replay {
    fn push(&mut self, event: TapEvent) {
        self.reports += 1;
        self.last = event.elapsed;
        if let Some(state) = &mut self.state {
            state.apply(event);
            return;
        }
        let url = url_of(&event.kind);
        let before_request = matches!(
            event.kind,
            TapKind::State(_) | TapKind::TcpConnected { .. } | TapKind::TlsEstablished(_)
        );
        self.pending.push(event);
        if url.is_some() || !before_request {
            self.start(url);
        }
    }

    fn start(&mut self, url: Option<String>) {
        let Some(first) = self.pending.first() else {
            return;
        };
        let url = url.unwrap_or_else(|| "(the capture does not say)".to_owned());
        let mut state = SessionState::starting_at(&url, first.time, None);
        for event in self.pending.drain(..) {
            state.apply(event);
        }
        self.state = Some(state);
    }

    fn finish(mut self) -> SessionState {
        if self.state.is_none() {
            self.start(None);
        }
        let mut state = self
            .state
            .unwrap_or_else(|| SessionState::new("(the capture does not say)", None));
        state.handshake.deflate_offered = state.handshake.request.as_ref().is_some_and(|(r, _)| {
            r.headers()
                .get_all("sec-websocket-extensions")
                .iter()
                .any(|v| v.to_str().is_ok_and(|v| v.contains("permessage-deflate")))
        });
        state.finish_replay(self.last);
        state
    }
}

/// The URL a report shows: the upgrade request's (a server sees only the path: the Host
/// header gives the rest).
fn url_of(kind: &TapKind) -> Option<String> {
    let request = match kind {
        TapKind::RequestSent { request, .. } | TapKind::RequestReceived { request, .. } => {
            request.as_ref()
        }
        TapKind::Opened(info) => &info.request,
        _ => return None,
    };
    let uri = request.uri();
    if uri.scheme().is_some() {
        return Some(uri.to_string());
    }
    let host = request
        .headers()
        .get("host")
        .and_then(|h| h.to_str().ok())?;
    Some(format!("ws://{host}{uri}"))
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use bytes::Bytes;
    use ws_tokio::ws_proto::http::Request;
    use ws_tokio::ws_proto::{Direction, Frame, FrameHeader, OpCode, ReadyState};

    use super::*;
    use crate::capture::JsonlWriter;

    fn at(n: u64, kind: TapKind) -> TapEvent {
        TapEvent {
            time: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + n),
            elapsed: Duration::from_millis(n),
            kind,
        }
    }

    fn frame(direction: Direction, text: &'static str) -> TapKind {
        TapKind::Frame(Frame {
            direction,
            header: FrameHeader::new(OpCode::Text, text.len() as u64),
            payload: Bytes::from_static(text.as_bytes()),
            decompressed_len: None,
        })
    }

    /// A short client session: connecting, the request, open, one message each way.
    fn session() -> Vec<TapEvent> {
        let request = Request::builder()
            .uri("ws://example.com:9/chat")
            .header("host", "example.com:9")
            .body(())
            .unwrap();
        vec![
            at(0, TapKind::State(ReadyState::Connecting)),
            at(
                1,
                TapKind::RequestSent {
                    request: Box::new(request),
                    raw: Bytes::from_static(b"GET /chat HTTP/1.1\r\n\r\n"),
                },
            ),
            at(2, TapKind::State(ReadyState::Open)),
            at(3, frame(Direction::Outgoing, "hello")),
            at(4, frame(Direction::Incoming, "hello")),
        ]
    }

    fn capture(events: &[TapEvent], conn: Option<u64>) -> Vec<u8> {
        let mut writer = JsonlWriter::new(Vec::new());
        writer.write_header("test").unwrap();
        for event in events {
            writer.write_event_of(event, conn, None).unwrap();
        }
        writer.finish().unwrap()
    }

    #[test]
    fn a_har_file_from_chrome_opens_a_tab_per_websocket_entry() {
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/chromium.har"
        ));
        let opened = open(path).unwrap();
        assert_eq!(opened.name, "chromium.har");
        assert!(!opened.connections.is_empty());
        let state = &opened.connections[0].state;
        assert!(state.url.starts_with("ws"), "{}", state.url);
        assert!(state.traffic.frames_in + state.traffic.frames_out > 0);
        assert!(state.handshake.request.is_some());
        // Not HAR: the error says where.
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.har");
        std::fs::write(&bad, "{\n  \"log\": 3").unwrap();
        let e = open(&bad).unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
    }

    #[test]
    fn a_capture_replays_into_the_state_a_live_session_has() {
        let bytes = capture(&session(), None);
        let opened = load(&bytes, "echo.jsonl").unwrap();
        assert_eq!(opened.generator.as_deref(), Some("test"));
        assert!(opened.truncated.is_none());
        let [conn] = &opened.connections[..] else {
            panic!("one connection");
        };
        assert_eq!(conn.label(), None);
        assert_eq!(conn.reports, 5);
        assert_eq!(conn.lines, bytes, "the lines as read");
        let state = &conn.state;
        assert_eq!(state.url, "ws://example.com:9/chat");
        assert!(state.finished);
        assert_eq!(state.ready_state(), ReadyState::Open);
        assert_eq!(state.traffic.frames_in, 1);
        assert_eq!(state.traffic.frames_out, 1);
        assert!(state.handshake.request.is_some());
        // Open for as long as the capture lasted (2 ms → 4 ms), not for as long as shown.
        assert_eq!(state.open_for(), Some(Duration::from_millis(2)));
        // The log starts as a live one does: connecting, at the first report's time.
        let first = state.log.iter().next().expect("a first entry");
        assert_eq!(
            first.time,
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
        );
    }

    #[test]
    fn a_bad_line_is_reported_by_number_and_nothing_opens() {
        let mut bytes = capture(&session(), None);
        let good = bytes.clone();
        bytes.extend_from_slice(b"{\"v\":1,\"nonsense\":true}\n");
        bytes.extend_from_slice(&good[good.len() - 10..]);
        match load(&bytes, "x") {
            Err(ReadError::Invalid { line: 7, .. }) => {}
            other => panic!("expected line 7 to be invalid, got {other:?}"),
        }
        let mut newer = good.clone();
        newer.extend_from_slice(b"{\"v\":9,\"time_ns\":0,\"elapsed_ns\":0,\"record\":{}}\n");
        assert!(matches!(
            load(&newer, "x"),
            Err(ReadError::TooNew {
                line: 7,
                version: 9
            })
        ));
        assert!(matches!(
            load(b"hello\nworld\n", "x"),
            Err(ReadError::Invalid { line: 1, .. })
        ));
        assert!(load(b"", "x").is_err(), "an empty file");
        let header_only = capture(&[], None);
        assert!(
            load(&header_only, "x").is_err(),
            "a header and nothing else"
        );
        let other = b"{\"v\":1,\"time_ns\":0,\"elapsed_ns\":0,\"record\":{\"kind\":\"capture\",\"format\":\"other\",\"generator\":\"x\"}}\n";
        assert!(matches!(
            load(other, "x"),
            Err(ReadError::Invalid { line: 1, .. })
        ));
    }

    #[test]
    fn a_truncated_last_line_is_reported_and_the_rest_opens() {
        let whole = capture(&session(), None);
        let cut = &whole[..whole.len() - 20];
        let opened = load(cut, "crashed.jsonl").unwrap();
        assert!(matches!(
            opened.truncated,
            Some(ReadError::Invalid { line: 6, .. })
        ));
        let conn = &opened.connections[0];
        assert_eq!(conn.reports, 4);
        assert_eq!(conn.state.traffic.frames_out, 1);
        assert_eq!(conn.state.traffic.frames_in, 0);
        // What is kept ends with the last whole line.
        assert!(conn.lines.ends_with(b"\n"));
        assert!(whole.starts_with(&conn.lines));
    }

    #[test]
    fn several_connections_open_one_each_with_the_header() {
        let mut bytes = capture(&session()[..2], Some(1));
        let second = capture(&session(), Some(2));
        // Interleaved, as a listener writes them: the second's lines after the first's two.
        let second_lines: Vec<&[u8]> = second.split_inclusive(|b| *b == b'\n').skip(1).collect();
        for line in &second_lines {
            bytes.extend_from_slice(line);
        }
        let opened = load(&bytes, "listen.jsonl").unwrap();
        assert_eq!(opened.connections.len(), 2);
        let labels: Vec<_> = opened.connections.iter().map(|c| c.label()).collect();
        assert_eq!(labels, [Some("conn 1".into()), Some("conn 2".into())]);
        assert_eq!(opened.connections[1].reports, 5);
        // Each connection's lines: the file's header line, then its own.
        let header_len = bytes.iter().position(|b| *b == b'\n').unwrap() + 1;
        let mut expected = bytes[..header_len].to_vec();
        expected.extend(second_lines.concat());
        assert_eq!(opened.connections[1].lines, expected);
        assert_eq!(
            opened.connections[0].lines[..],
            bytes[..bytes.len() - second_lines.concat().len()]
        );
    }

    #[test]
    fn a_file_is_opened_by_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("echo.jsonl");
        std::fs::write(&path, capture(&session(), None)).unwrap();
        let opened = open(&path).unwrap();
        assert_eq!(opened.name, "echo.jsonl");
        let session = opened
            .connections
            .into_iter()
            .next()
            .unwrap()
            .into_session();
        assert!(session.is_read_only());
        assert!(session.send(Vec::new()).is_err(), "nothing can be sent");
        assert!(matches!(
            open(&dir.path().join("missing.jsonl")),
            Err(ReadError::Io(_))
        ));
    }
}
