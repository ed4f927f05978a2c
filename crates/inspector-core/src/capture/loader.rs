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
use std::io::{self, BufRead as _};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use ws_tokio::tap::{TapEvent, TapKind};

use super::jsonl::{JsonlReader, ReadError};
use super::record::{Leg, Record};
use crate::session::{CaptureLines, Session, SessionState};

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
    /// The header line and this connection's lines, as read (in a spool file for a large
    /// capture).
    pub lines: CaptureLines,
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
        Session::read_only_lines(self.state, self.lines)
    }
}

/// Reads the capture file at `path`; see [`load`]. A `.har` file (saved by Chrome,
/// Firefox, mitmproxy or the inspector) is imported first ([`har::import`](super::har::import)):
/// each WebSocket entry is a connection; its error says where the file is not HAR.
pub fn open(path: &Path) -> Result<OpenedCapture, ReadError> {
    open_with(path, &Progress::default())
}

/// [`open`], reporting how far it has got in `progress` and stopping (with an error that
/// [`is_cancelled`] recognises) when [`Progress::cancel`] is called — for a file of
/// gigabytes, opened on a thread of its own while the window shows a progress bar.
///
/// A JSON-lines file is read a line at a time, never whole: what stays in memory is the
/// replayed state (its log bounded as a live session's is) and, for a file larger than
/// [`SPOOL_ABOVE`], none of the lines kept for Save — they go to a spool file in the
/// temporary folder, as a live session's do. A HAR file is one JSON document, read whole.
pub fn open_with(path: &Path, progress: &Progress) -> Result<OpenedCapture, ReadError> {
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    if is_har(path) {
        let bytes = std::fs::read(path).map_err(ReadError::Io)?;
        progress.set_total(bytes.len() as u64);
        progress.advance(bytes.len() as u64);
        return load(&har_as_jsonl(&bytes)?, &name);
    }
    let file = std::fs::File::open(path).map_err(ReadError::Io)?;
    let size = file.metadata().map_or(0, |m| m.len());
    progress.set_total(size);
    let mut reader = io::BufReader::with_capacity(1 << 20, file);
    let mut loader = Loader::new(size > SPOOL_ABOVE);
    let mut raw = Vec::new();
    let mut number = 0;
    loop {
        raw.clear();
        let n = reader.read_until(b'\n', &mut raw).map_err(ReadError::Io)?;
        if n == 0 {
            break;
        }
        number += 1;
        progress.advance(n as u64);
        if number % 4096 == 0 && progress.is_cancelled() {
            return Err(cancelled());
        }
        // A line without its newline is the file's last.
        let last = !raw.ends_with(b"\n");
        if loader.line(&raw, number, last)? {
            break;
        }
    }
    loader.finish(&name)
}

/// Above this size a capture's lines are kept for Save in a spool file, not in memory.
pub const SPOOL_ABOVE: u64 = 64 << 20;

/// How far [`open_with`] has read, shared with the thread that shows it; and the request to
/// stop.
#[derive(Debug, Default)]
pub struct Progress {
    read: AtomicU64,
    total: AtomicU64,
    cancel: AtomicBool,
}

impl Progress {
    /// The bytes read so far.
    pub fn read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }

    /// The file's size (0 until known).
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// The part read, 0 to 1, once the size is known.
    pub fn fraction(&self) -> Option<f32> {
        let total = self.total();
        (total > 0).then(|| (self.read() as f64 / total as f64).min(1.0) as f32)
    }

    /// Asks the reading to stop; it returns an error that [`is_cancelled`] recognises.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    fn set_total(&self, total: u64) {
        self.total.store(total, Ordering::Relaxed);
    }

    fn advance(&self, n: u64) {
        self.read.fetch_add(n, Ordering::Relaxed);
    }
}

/// The error of an opening that was cancelled.
fn cancelled() -> ReadError {
    ReadError::Io(io::Error::new(
        io::ErrorKind::Interrupted,
        "opening was cancelled",
    ))
}

/// Whether `error` is that of an opening [`Progress::cancel`] stopped.
pub fn is_cancelled(error: &ReadError) -> bool {
    matches!(error, ReadError::Io(e) if e.kind() == io::ErrorKind::Interrupted)
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
    let mut loader = Loader::new(false);
    let pieces: Vec<&[u8]> = bytes.split_inclusive(|b| *b == b'\n').collect();
    for (i, raw) in pieces.iter().enumerate() {
        let last = i + 1 == pieces.len() && !raw.ends_with(b"\n");
        if loader.line(raw, i as u64 + 1, last)? {
            break;
        }
    }
    loader.finish(name)
}

/// A capture being read, a line at a time.
struct Loader {
    /// The header line(s), which every connection's lines start with.
    header: Vec<u8>,
    generator: Option<String>,
    groups: Vec<Group>,
    index: HashMap<(Option<u64>, Option<Leg>), usize>,
    /// Where a blank line goes: with the line before it.
    last_group: Option<usize>,
    truncated: Option<ReadError>,
    /// Keep each connection's lines in a spool file.
    spool: bool,
}

impl Loader {
    fn new(spool: bool) -> Self {
        Self {
            header: Vec::new(),
            generator: None,
            groups: Vec::new(),
            index: HashMap::new(),
            last_group: None,
            truncated: None,
            spool,
        }
    }

    /// Takes line `number` (`raw`, with its newline unless `last_unterminated`). Returns
    /// whether reading stops here (a cut-short last line, kept in `truncated`).
    fn line(
        &mut self,
        raw: &[u8],
        number: u64,
        last_unterminated: bool,
    ) -> Result<bool, ReadError> {
        if raw.trim_ascii().is_empty() {
            match self.last_group {
                Some(g) => self.groups[g].lines.push(raw),
                None => self.header.extend_from_slice(raw),
            }
            return Ok(false);
        }
        let parsed = match JsonlReader::new(raw).next_line() {
            Some(Ok(line)) => line
                .to_tap_or_header()
                .map_err(|reason| ReadError::Invalid {
                    line: number,
                    reason,
                })
                .map(|event| (line, event)),
            Some(Err(e)) => Err(renumber(e, number)),
            None => return Ok(false),
        };
        let (line, event) = match parsed {
            Ok(parsed) => parsed,
            // A crash while recording cuts the last line short: open what came before.
            Err(e) if last_unterminated => {
                self.truncated = Some(e);
                return Ok(true);
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
                self.generator = Some(written_by.clone());
            }
            self.header.extend_from_slice(raw);
            for group in &mut self.groups {
                group.lines.push(raw);
            }
            self.last_group = None;
            return Ok(false);
        };
        let key = (line.conn, line.leg);
        let g = match self.index.get(&key) {
            Some(g) => *g,
            None => {
                self.groups.push(Group::new(key, &self.header, self.spool));
                self.index.insert(key, self.groups.len() - 1);
                self.groups.len() - 1
            }
        };
        self.groups[g].lines.push(raw);
        self.groups[g].replay.push(event);
        self.last_group = Some(g);
        Ok(false)
    }

    fn finish(self, name: &str) -> Result<OpenedCapture, ReadError> {
        if self.groups.is_empty() {
            return Err(ReadError::Io(io::Error::new(
                io::ErrorKind::InvalidData,
                "it holds no report of a connection",
            )));
        }
        Ok(OpenedCapture {
            name: name.to_owned(),
            generator: self.generator,
            connections: self.groups.into_iter().map(Group::finish).collect(),
            truncated: self.truncated,
        })
    }
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
    lines: CaptureLines,
    replay: Replay,
}

impl Group {
    fn new(key: (Option<u64>, Option<Leg>), header: &[u8], spool: bool) -> Self {
        let mut lines = match spool {
            true => CaptureLines::spooled(),
            false => CaptureLines::in_memory(),
        };
        lines.push(header);
        Self {
            key,
            lines,
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
            message: None,
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
        let mut opened = load(&bytes, "echo.jsonl").unwrap();
        assert_eq!(opened.generator.as_deref(), Some("test"));
        assert!(opened.truncated.is_none());
        let [conn] = &mut opened.connections[..] else {
            panic!("one connection");
        };
        assert_eq!(conn.label(), None);
        assert_eq!(conn.reports, 5);
        assert_eq!(conn.lines.to_vec().unwrap(), bytes, "the lines as read");
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
        let mut opened = load(cut, "crashed.jsonl").unwrap();
        assert!(matches!(
            opened.truncated,
            Some(ReadError::Invalid { line: 6, .. })
        ));
        let conn = &mut opened.connections[0];
        assert_eq!(conn.reports, 4);
        assert_eq!(conn.state.traffic.frames_out, 1);
        assert_eq!(conn.state.traffic.frames_in, 0);
        // What is kept ends with the last whole line.
        let kept = conn.lines.to_vec().unwrap();
        assert!(kept.ends_with(b"\n"));
        assert!(whole.starts_with(&kept));
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
        let mut opened = load(&bytes, "listen.jsonl").unwrap();
        assert_eq!(opened.connections.len(), 2);
        let labels: Vec<_> = opened.connections.iter().map(|c| c.label()).collect();
        assert_eq!(labels, [Some("conn 1".into()), Some("conn 2".into())]);
        assert_eq!(opened.connections[1].reports, 5);
        // Each connection's lines: the file's header line, then its own.
        let header_len = bytes.iter().position(|b| *b == b'\n').unwrap() + 1;
        let mut expected = bytes[..header_len].to_vec();
        expected.extend(second_lines.concat());
        assert_eq!(opened.connections[1].lines.to_vec().unwrap(), expected);
        assert_eq!(
            opened.connections[0].lines.to_vec().unwrap()[..],
            bytes[..bytes.len() - second_lines.concat().len()]
        );
    }

    #[test]
    fn a_large_file_is_read_a_line_at_a_time_with_progress_and_its_lines_spooled() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("listen.jsonl");
        // Several connections, interleaved, ending with a cut-short line.
        let mut bytes = capture(&session()[..2], Some(1));
        let second = capture(&session(), Some(2));
        for line in second.split_inclusive(|b| *b == b'\n').skip(1) {
            bytes.extend_from_slice(line);
        }
        let whole = bytes.clone();
        bytes.extend_from_slice(b"{\"v\":1,\"time_ns\":");
        std::fs::write(&path, &bytes).unwrap();
        let progress = Progress::default();
        let mut streamed = open_with(&path, &progress).unwrap();
        assert_eq!(progress.total(), bytes.len() as u64);
        assert_eq!(progress.read(), bytes.len() as u64);
        assert_eq!(progress.fraction(), Some(1.0));
        assert!(
            streamed.truncated.is_some(),
            "the cut-short line is reported"
        );
        let mut in_memory = load(&whole, "listen.jsonl").unwrap();
        assert_eq!(streamed.connections.len(), in_memory.connections.len());
        for (a, b) in streamed
            .connections
            .iter_mut()
            .zip(&mut in_memory.connections)
        {
            assert_eq!(a.reports, b.reports);
            assert_eq!(a.lines.to_vec().unwrap(), b.lines.to_vec().unwrap());
            assert_eq!(a.state.traffic, b.state.traffic);
        }
        // Spooled lines (as a file over SPOOL_ABOVE gets) save the same bytes.
        let mut spooled = Loader::new(true);
        for (i, raw) in whole.split_inclusive(|b| *b == b'\n').enumerate() {
            assert!(!spooled.line(raw, i as u64 + 1, false).unwrap());
        }
        let mut spooled = spooled.finish("listen.jsonl").unwrap();
        assert_eq!(
            spooled.connections[1].lines.to_vec().unwrap(),
            in_memory.connections[1].lines.to_vec().unwrap()
        );
        let saved = dir.path().join("saved.jsonl");
        let session = spooled.connections.remove(1).into_session();
        session.save_capture(&saved, false).unwrap();
        assert_eq!(
            std::fs::read(&saved).unwrap(),
            in_memory.connections[1].lines.to_vec().unwrap()
        );
    }

    #[test]
    fn an_opening_can_be_cancelled() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("long.jsonl");
        let one = capture(&session(), None);
        let body: Vec<&[u8]> = one.split_inclusive(|b| *b == b'\n').skip(1).collect();
        let mut bytes = one.clone();
        // Enough lines for the reader to look at the request (every 4,096 lines).
        for _ in 0..2000 {
            for line in &body {
                bytes.extend_from_slice(line);
            }
        }
        std::fs::write(&path, &bytes).unwrap();
        let progress = Progress::default();
        progress.cancel();
        let error = open_with(&path, &progress).unwrap_err();
        assert!(is_cancelled(&error), "{error}");
        assert!(progress.read() < bytes.len() as u64, "it stopped early");
        let other = ReadError::Io(io::Error::other("x"));
        assert!(!is_cancelled(&other));
        // Not cancelled, the same file opens.
        assert!(open_with(&path, &Progress::default()).is_ok());
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
