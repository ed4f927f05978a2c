//! HAR 1.2 export and import: a capture as the HTTP Archive that browser developer tools
//! save, and such an archive (Chrome DevTools, Firefox, mitmproxy `save.har`) as a capture.
//!
//! Why: a HAR file is what people attach to bug reports and what other tools open. Chrome
//! DevTools (since Chrome 76) writes a WebSocket as one entry with `_resourceType:
//! "websocket"` and its messages in `_webSocketMessages`, each `{type, time, opcode, data}`;
//! mitmproxy's `save.har` writes the same. [`export`] writes that shape, so that those tools
//! show our captures, and [`import`] reads it, so that ws-inspector shows theirs.
//!
//! # What is kept where
//!
//! One entry per connection: the capture's lines grouped by `(conn, leg)` in the order they
//! first appear (a capture without `conn` is one connection). In each entry:
//!
//! - what Chrome writes: `request` (the `ws://`/`wss://` URL — the request head's absolute
//!   URI, or the Host header and the path — with headers, query string and cookies),
//!   `response` (the 101 with its headers), `startedDateTime`, `time`, `timings`,
//!   `serverIPAddress`, `_resourceType: "websocket"` and `_webSocketMessages`: one
//!   `{type: "send"|"receive", time, opcode, data}` per whole message, `time` in seconds since
//!   the Unix epoch, `data` the text of a text message (opcode 1) and base64 otherwise.
//!   Fragments are reassembled. A compressed message holds its plain content: for one
//!   received, the capture's `inflated` record; for one sent (a capture has no `inflated`
//!   record for those) the frames' payloads are inflated here, with one permessage-deflate
//!   decompressor for the connection's sent messages that keeps the window from message to
//!   message as the peer's did (a received one without its `inflated` line is tried on its
//!   own). If that fails (a capture that starts mid-connection, say), `data` is the base64 of
//!   the compressed bytes and `_inflateError` says why. The entry's `time` is the opening
//!   handshake's, as Chrome counts it; a connection whose request the capture lacks gets
//!   the URL `ws://` and its peer's address (or `localhost`).
//! - what Chrome leaves out, in `_` keys that HAR readers ignore:
//!   - control frames (close 8, ping 9, pong 10) and frames of reserved opcodes as more
//!     `_webSocketMessages`, with their opcode and the payload as base64 in `data`; a close
//!     also has `_closeCode` (`null` for an empty payload) and `_closeReason`;
//!   - on every message, `_frames`: each frame as the capture holds it (`seq`, its place
//!     among the connection's lines; `time_ns`; `elapsed_ns`; `fin`; `rsv1`–`rsv3`;
//!     `opcode`; `mask` as 8 hex digits or `null`; `payload_len`; `payload` as base64, as on
//!     the wire; `decompressed_len`; `message`, the frame's place in its message as the
//!     capture's `message` field has it, when it does), `_compressed: true` for a
//!     compressed message, `_inflated`
//!     (`seq`, `time_ns`, `elapsed_ns` of the capture's `inflated` line that gave its content)
//!     and `_incomplete: true` for a message whose last frame never came;
//!   - on the entry, `_webSocketHandshake` (the request and response heads exactly as on the
//!     wire, base64), `_tls` (the TLS record as in the capture), `_closed` (code, reason,
//!     initiator, clean), `_conn` and `_leg` (as in the capture, `null` when absent), and
//!     `_captureLines`: every other line of the connection (readyState changes, TCP, TLS,
//!     the heads, `opened`, errors, `closed`) as `{seq, line}`, the line exactly as in the
//!     capture;
//!   - on the log, `_captureHeader`: the capture's first line (a later header line, of
//!     captures joined together, is left out).
//!
//! [`import`] of our own export therefore gives back the capture's lines exactly (each
//! connection's lines together, in their order, with their `conn` and `leg`). From another tool's file it builds what can
//! be known: a capture header line; `request_sent` and `response_received` from the entry's
//! headers (their `raw` bytes written out as `GET path HTTP/1.1\r\nName: value\r\n…\r\n\r\n`,
//! or taken from `_webSocketHandshake`); `opened`; readyState OPEN; one frame per message
//! (`fin` set, no RSV bit, no mask: those tools do not record them — unless `_frames` says
//! otherwise); readyState CLOSED and `closed` (from `_closed`, else from the close frames if
//! any, else code 1006 by nobody, not clean: such a file does not say how the connection
//! ended). An entry whose handshake failed (status other than 101) becomes
//! `request_sent` and `handshake_failed`. Message times come from the messages' `time`;
//! `elapsed_ns` counts from the entry's `startedDateTime` (or its first message).
//!
//! Both directions stream: [`export`] writes as it goes (memory: a few words per line), and
//! [`import`] turns each message into lines as it is parsed.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use flate2::{Decompress, FlushDecompress, Status};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use ws_tokio::ws_proto::http::{HeaderName, HeaderValue, StatusCode};

use super::encoding::mask_hex;
use super::record::{
    CaptureLine, FrameRecord, InitiatorRecord, Leg, MessageRecord, OpenedRecord, PositionRecord,
    Record, RequestHead, ResponseHead, TlsRecord,
};
use super::{FORMAT, VERSION};

/// The `creator.name` of the HAR files [`export`] writes.
pub const CREATOR: &str = "ws-inspector";

/// The most a compressed message is inflated to when [`export`] inflates it itself (a sent
/// message); past that its `data` stays compressed, with `_inflateError`.
const INFLATE_LIMIT: usize = 256 << 20;

/// What [`export`] wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExportSummary {
    /// Entries written: one per connection.
    pub entries: usize,
    /// `_webSocketMessages` written, control frames included.
    pub messages: u64,
    /// Of those, control frames (close, ping, pong, and reserved opcodes 11 to 15).
    pub control_messages: u64,
    /// Frames written in the messages' `_frames`.
    pub frames: u64,
    /// Compressed messages whose plain content could not be found (`_inflateError`).
    pub not_inflated: u64,
}

/// Writes `lines` (a capture) as one HAR 1.2 document into `out` (buffered here; flushed at
/// the end). See the [module](self) notes for what goes where.
pub fn export(lines: &[CaptureLine], out: impl Write) -> io::Result<ExportSummary> {
    let mut header = None;
    let mut groups: Vec<Group> = Vec::new();
    let mut index: HashMap<GroupKey, usize> = HashMap::new();
    let mut last: Option<(GroupKey, usize)> = None;
    for (i, line) in lines.iter().enumerate() {
        if matches!(line.record, Record::Capture { .. }) {
            // The first header is the capture's; any later one (captures joined) is dropped.
            header.get_or_insert(line);
            continue;
        }
        let key = (line.conn, line.leg);
        let group = match last {
            Some((k, g)) if k == key => g,
            _ => {
                let g = *index.entry(key).or_insert_with(|| {
                    groups.push(Group {
                        conn: key.0,
                        leg: key.1,
                        lines: Vec::new(),
                    });
                    groups.len() - 1
                });
                last = Some((key, g));
                g
            }
        };
        groups[group].lines.push(i);
    }
    let counts = Counts::default();
    let doc = Document {
        lines,
        groups: &groups,
        header,
        counts: &counts,
    };
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    serde_json::to_writer(&mut out, &doc).map_err(io::Error::from)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(ExportSummary {
        entries: groups.len(),
        messages: counts.messages.get(),
        control_messages: counts.control.get(),
        frames: counts.frames.get(),
        not_inflated: counts.not_inflated.get(),
    })
}

/// What [`import`] read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Import {
    /// The capture: its header line, then each connection's lines in order.
    pub lines: Vec<CaptureLine>,
    /// WebSocket entries read (one connection each).
    pub websocket_entries: usize,
    /// Other (HTTP) entries, skipped.
    pub skipped_http_entries: usize,
}

/// Why a HAR file could not be imported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HarError {
    /// The text is not JSON.
    NotJson {
        /// What is wrong and where, as serde_json says it.
        reason: String,
        /// The line, from 1 (0 when unknown).
        line: usize,
        /// The column, from 1 (0 at the start of a line or when unknown).
        column: usize,
    },
    /// The text is JSON but not a HAR file (no `log.entries` array), or an entry is not as
    /// HAR 1.2 describes it.
    NotHar {
        /// What is wrong and where.
        reason: String,
        /// The line, from 1.
        line: usize,
        /// The column, from 1.
        column: usize,
    },
    /// A HAR file with no WebSocket entry.
    NoWebSocket {
        /// The HTTP entries it has.
        http_entries: usize,
    },
    /// An entry holds something that cannot be a capture (such as a capture line of a newer
    /// format version).
    Entry {
        /// The entry, from 1.
        entry: usize,
        /// What is wrong.
        reason: String,
    },
}

impl fmt::Display for HarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotJson { reason, .. } => write!(f, "not JSON: {reason}"),
            Self::NotHar { reason, .. } => write!(f, "not a HAR file: {reason}"),
            Self::NoWebSocket { http_entries } => write!(
                f,
                "the HAR file has no WebSocket entry (it has {http_entries} HTTP {})",
                if *http_entries == 1 {
                    "entry"
                } else {
                    "entries"
                }
            ),
            Self::Entry { entry, reason } => write!(f, "HAR entry {entry}: {reason}"),
        }
    }
}

impl std::error::Error for HarError {}

/// Reads a HAR file (Chrome DevTools, Firefox, mitmproxy `save.har`, or [`export`]'s) into a
/// capture: one connection per WebSocket entry, `conn` 1, 2, … in entry order (or the
/// entry's `_conn` and `_leg`, when it has them). See the [module](self) notes.
pub fn import(text: &str) -> Result<Import, HarError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(HarError::NotJson {
            reason: "the text is empty".into(),
            line: 1,
            column: 0,
        });
    }
    let har: HarIn<'_> = serde_json::from_str(text).map_err(|e| classify(text, e))?;
    let log = har.log;
    let mut import = Import {
        lines: Vec::new(),
        websocket_entries: 0,
        skipped_http_entries: 0,
    };
    let websocket: Vec<bool> = log.entries.iter().map(EntryIn::is_websocket).collect();
    import.websocket_entries = websocket.iter().filter(|w| **w).count();
    import.skipped_http_entries = websocket.len() - import.websocket_entries;
    if import.websocket_entries == 0 {
        return Err(HarError::NoWebSocket {
            http_entries: import.skipped_http_entries,
        });
    }
    let first_start = log
        .entries
        .iter()
        .zip(&websocket)
        .find(|(_, ws)| **ws)
        .and_then(|(e, _)| e.start_ns());
    let mut header = Some(match log.capture_header {
        Some(line) => line,
        None => {
            let creator = log
                .creator
                .map(|c| format!("{} {}", c.name, c.version))
                .unwrap_or_else(|| "an unnamed tool".into());
            line_at(
                first_start.unwrap_or(0),
                0,
                None,
                None,
                Record::Capture {
                    format: FORMAT.to_owned(),
                    generator: format!(
                        "ws-inspector {} har import of {}",
                        env!("CARGO_PKG_VERSION"),
                        creator.trim()
                    ),
                },
            )
        }
    });
    let mut number = 0u64;
    for (n, (entry, ws)) in log.entries.into_iter().zip(websocket).enumerate() {
        if !ws {
            continue;
        }
        number += 1;
        let mut lines = entry.into_lines(number).map_err(|reason| HarError::Entry {
            entry: n + 1,
            reason,
        })?;
        match header.take() {
            // The first connection's lines become the capture (no copy of them).
            Some(header) => {
                lines.insert(0, header);
                import.lines = lines;
            }
            None => import.lines.append(&mut lines),
        }
    }
    Ok(import)
}

// =============================================================================================
// Export
// =============================================================================================

/// What tells one connection's lines from another's: `(conn, leg)`.
type GroupKey = (Option<u64>, Option<Leg>);

/// One connection's lines: indices into the capture.
struct Group {
    conn: Option<u64>,
    leg: Option<Leg>,
    lines: Vec<usize>,
}

#[derive(Default)]
struct Counts {
    messages: Cell<u64>,
    control: Cell<u64>,
    frames: Cell<u64>,
    not_inflated: Cell<u64>,
}

struct Document<'a> {
    lines: &'a [CaptureLine],
    groups: &'a [Group],
    header: Option<&'a CaptureLine>,
    counts: &'a Counts,
}

impl Serialize for Document<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry("log", &LogOut(self))?;
        map.end()
    }
}

struct LogOut<'a>(&'a Document<'a>);

impl Serialize for LogOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let doc = self.0;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("version", "1.2")?;
        map.serialize_entry(
            "creator",
            &NameVersion {
                name: CREATOR,
                version: env!("CARGO_PKG_VERSION"),
            },
        )?;
        // Firefox's importer needs `pages`, even empty.
        map.serialize_entry("pages", &[(); 0])?;
        map.serialize_entry("entries", &EntriesOut(doc))?;
        if let Some(header) = doc.header {
            map.serialize_entry("_captureHeader", header)?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct NameVersion<'a> {
    name: &'a str,
    version: &'a str,
}

struct EntriesOut<'a>(&'a Document<'a>);

impl Serialize for EntriesOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let doc = self.0;
        let mut seq = s.serialize_seq(Some(doc.groups.len()))?;
        for group in doc.groups {
            seq.serialize_element(&EntryOut { doc, group })?;
        }
        seq.end()
    }
}

struct EntryOut<'a> {
    doc: &'a Document<'a>,
    group: &'a Group,
}

/// What an entry says of its connection, from the lines that are not frames.
struct Facts<'a> {
    request: Option<&'a RequestHead>,
    request_raw: Option<&'a [u8]>,
    response: Option<Cow<'a, ResponseHead>>,
    response_raw: Option<&'a [u8]>,
    tls: Option<&'a TlsRecord>,
    closed: Option<&'a Record>,
    peer: Option<SocketAddr>,
    local: Option<SocketAddr>,
    first: Option<&'a CaptureLine>,
    tcp_ns: Option<u64>,
    tls_ns: Option<u64>,
    request_ns: Option<u64>,
    response_ns: Option<u64>,
}

impl<'a> Facts<'a> {
    fn of(lines: &'a [CaptureLine], group: &Group) -> Self {
        let mut facts = Facts {
            request: None,
            request_raw: None,
            response: None,
            response_raw: None,
            tls: None,
            closed: None,
            peer: None,
            local: None,
            first: group.lines.first().map(|&i| &lines[i]),
            tcp_ns: None,
            tls_ns: None,
            request_ns: None,
            response_ns: None,
        };
        let mut opened: Option<&OpenedRecord> = None;
        let mut failed_response: Option<&ResponseHead> = None;
        for &i in &group.lines {
            let line = &lines[i];
            match &line.record {
                Record::Frame(_) | Record::Inflated(_) => {}
                Record::TcpConnected { local, peer, proxy } => {
                    facts.tcp_ns.get_or_insert(line.elapsed_ns);
                    facts.local.get_or_insert(*local);
                    if proxy.is_none() {
                        facts.peer.get_or_insert(*peer);
                    }
                }
                Record::TlsEstablished(tls) => {
                    facts.tls_ns.get_or_insert(line.elapsed_ns);
                    facts.tls.get_or_insert(tls);
                }
                Record::RequestSent { head, raw } | Record::RequestReceived { head, raw } => {
                    if facts.request.is_none() {
                        facts.request = Some(head);
                        facts.request_raw = Some(raw);
                        facts.request_ns = Some(line.elapsed_ns);
                    }
                }
                Record::ResponseReceived { head, raw } => {
                    if facts.response_raw.is_none() {
                        facts.response = Some(Cow::Borrowed(head));
                        facts.response_raw = Some(raw);
                        facts.response_ns = Some(line.elapsed_ns);
                    }
                }
                Record::ResponseSent { raw } => {
                    if facts.response_raw.is_none() {
                        facts.response = parse_response_head(raw).map(|(h, _)| Cow::Owned(h));
                        facts.response_raw = Some(raw);
                        facts.response_ns = Some(line.elapsed_ns);
                    }
                }
                Record::HandshakeFailed { response, .. } => {
                    if failed_response.is_none() {
                        failed_response = response.as_ref();
                        if response.is_some() {
                            facts.response_ns.get_or_insert(line.elapsed_ns);
                        }
                    }
                }
                Record::Opened(o) => {
                    opened.get_or_insert(&**o);
                }
                Record::Closed { .. } => facts.closed = Some(&line.record),
                Record::Capture { .. } | Record::State { .. } | Record::Error { .. } => {}
            }
        }
        if let Some(o) = opened {
            if facts.request.is_none() {
                facts.request = Some(&o.request);
            }
            if facts.response.is_none() {
                facts.response = Some(Cow::Borrowed(&o.response));
            }
            if facts.tls.is_none() {
                facts.tls = o.tls.as_ref();
            }
            facts.peer = facts.peer.or(o.peer);
            facts.local = facts.local.or(o.local);
        }
        if facts.response.is_none() {
            facts.response = failed_response.map(Cow::Borrowed);
        }
        facts
    }

    fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "wss" } else { "ws" };
        let Some(request) = self.request else {
            return match self.peer {
                Some(peer) => format!("{scheme}://{peer}/"),
                None => format!("{scheme}://localhost/"),
            };
        };
        let uri = request.uri.as_str();
        for (from, to) in [
            ("ws://", "ws://"),
            ("wss://", "wss://"),
            ("http://", "ws://"),
            ("https://", "wss://"),
        ] {
            if uri.len() >= from.len() && uri[..from.len()].eq_ignore_ascii_case(from) {
                return format!("{to}{}", &uri[from.len()..]);
            }
        }
        let host = header(&request.headers, "host")
            .map(str::to_owned)
            .or_else(|| self.peer.map(|p| p.to_string()))
            .unwrap_or_else(|| "localhost".into());
        let slash = if uri.starts_with('/') { "" } else { "/" };
        format!("{scheme}://{host}{slash}{uri}")
    }
}

fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The head of a response from its bytes, and its reason phrase.
fn parse_response_head(raw: &[u8]) -> Option<(ResponseHead, String)> {
    let text = String::from_utf8_lossy(raw);
    let mut lines = text.split("\r\n");
    let status_line = lines.next()?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next()?.to_owned();
    let status = parts.next()?.parse().ok()?;
    let reason = parts.next().unwrap_or("").to_owned();
    let headers = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| {
            let (name, value) = l.split_once(':')?;
            Some((name.trim().to_owned(), value.trim().to_owned()))
        })
        .collect();
    Some((
        ResponseHead {
            status,
            version,
            headers,
        },
        reason,
    ))
}

#[derive(Serialize)]
struct NameValue<'a> {
    name: Cow<'a, str>,
    value: Cow<'a, str>,
}

fn name_values(headers: &[(String, String)]) -> Vec<NameValue<'_>> {
    headers
        .iter()
        .map(|(n, v)| NameValue {
            name: Cow::Borrowed(n),
            value: Cow::Borrowed(v),
        })
        .collect()
}

/// The cookies of `Cookie` headers (`a=1; b=2`) or, with `set`, of `Set-Cookie` headers.
fn cookies(headers: &[(String, String)], set: bool) -> Vec<NameValue<'_>> {
    let name = if set { "set-cookie" } else { "cookie" };
    let mut out = Vec::new();
    for (_, value) in headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)) {
        let pairs: Box<dyn Iterator<Item = &str>> = if set {
            Box::new(value.split(';').take(1))
        } else {
            Box::new(value.split(';'))
        };
        for pair in pairs {
            let (n, v) = pair.split_once('=').unwrap_or((pair, ""));
            if !n.trim().is_empty() {
                out.push(NameValue {
                    name: Cow::Borrowed(n.trim()),
                    value: Cow::Borrowed(v.trim()),
                });
            }
        }
    }
    out
}

fn query_string(url: &str) -> Vec<NameValue<'static>> {
    match url::Url::parse(url) {
        Ok(url) => url
            .query_pairs()
            .map(|(n, v)| NameValue {
                name: Cow::Owned(n.into_owned()),
                value: Cow::Owned(v.into_owned()),
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RequestOut<'a> {
    method: &'a str,
    url: &'a str,
    http_version: &'a str,
    headers: Vec<NameValue<'a>>,
    query_string: Vec<NameValue<'static>>,
    cookies: Vec<NameValue<'a>>,
    headers_size: i64,
    body_size: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResponseOut<'a> {
    status: u16,
    status_text: &'a str,
    http_version: &'a str,
    headers: Vec<NameValue<'a>>,
    cookies: Vec<NameValue<'a>>,
    content: ContentOut,
    #[serde(rename = "redirectURL")]
    redirect_url: &'a str,
    headers_size: i64,
    body_size: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ContentOut {
    size: u64,
    mime_type: &'static str,
}

#[derive(Serialize)]
struct TimingsOut {
    blocked: f64,
    dns: f64,
    connect: f64,
    send: f64,
    wait: f64,
    receive: f64,
    ssl: f64,
}

#[derive(Serialize)]
struct HandshakeOut<'a> {
    #[serde(serialize_with = "base64_opt")]
    request: Option<&'a [u8]>,
    #[serde(serialize_with = "base64_opt")]
    response: Option<&'a [u8]>,
}

fn base64_opt<S: Serializer>(data: &Option<&[u8]>, s: S) -> Result<S::Ok, S::Error> {
    match data {
        Some(data) => s.serialize_str(&STANDARD.encode(data)),
        None => s.serialize_none(),
    }
}

#[derive(Serialize)]
struct ClosedOut<'a> {
    code: u16,
    reason: &'a str,
    initiator: InitiatorRecord,
    clean: bool,
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

impl Serialize for EntryOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let lines = self.doc.lines;
        let group = self.group;
        let facts = Facts::of(lines, group);
        let url = facts.url();
        let start_ns = facts.first.map_or(0, |l| l.elapsed_ns);
        let started = facts.first.map_or(0, |l| l.time_ns);

        // Timings, in milliseconds, from the monotonic times of the handshake's lines.
        let ready_ns = facts.tls_ns.or(facts.tcp_ns);
        let connect = ready_ns.map_or(-1.0, |t| ms(t.saturating_sub(start_ns)));
        let ssl = match (facts.tcp_ns, facts.tls_ns) {
            (Some(tcp), Some(tls)) => ms(tls.saturating_sub(tcp)),
            _ => -1.0,
        };
        let blocked = match facts.request_ns {
            Some(req) => ms(req.saturating_sub(ready_ns.unwrap_or(start_ns))),
            None => -1.0,
        };
        let wait = match (facts.request_ns, facts.response_ns) {
            (Some(req), Some(resp)) => ms(resp.saturating_sub(req)),
            _ => 0.0,
        };
        let timings = TimingsOut {
            blocked,
            dns: -1.0,
            connect,
            send: 0.0,
            wait,
            receive: 0.0,
            ssl,
        };
        let time = [blocked, connect, wait]
            .iter()
            .filter(|t| **t > 0.0)
            .sum::<f64>();

        let empty: &[(String, String)] = &[];
        let request_headers = facts.request.map_or(empty, |r| r.headers.as_slice());
        let request = RequestOut {
            method: facts.request.map_or("GET", |r| r.method.as_str()),
            url: &url,
            http_version: facts.request.map_or("HTTP/1.1", |r| r.version.as_str()),
            headers: name_values(request_headers),
            query_string: query_string(&url),
            cookies: cookies(request_headers, false),
            headers_size: facts.request_raw.map_or(-1, |r| r.len() as i64),
            body_size: 0,
        };
        let status_text = match (facts.response_raw, &facts.response) {
            (Some(raw), _) => parse_response_head(raw).map(|(_, reason)| reason),
            (None, Some(head)) => StatusCode::from_u16(head.status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .map(str::to_owned),
            (None, None) => None,
        }
        .unwrap_or_default();
        let response_headers = facts
            .response
            .as_ref()
            .map_or(empty, |r| r.headers.as_slice());
        let response = ResponseOut {
            status: facts.response.as_ref().map_or(0, |r| r.status),
            status_text: &status_text,
            http_version: facts.response.as_ref().map_or("", |r| r.version.as_str()),
            headers: name_values(response_headers),
            cookies: cookies(response_headers, true),
            content: ContentOut {
                size: 0,
                mime_type: "x-unknown",
            },
            redirect_url: "",
            headers_size: facts.response_raw.map_or(-1, |r| r.len() as i64),
            body_size: 0,
        };
        let consumed = RefCell::new(Vec::new());

        let mut map = s.serialize_map(None)?;
        map.serialize_entry("startedDateTime", &started_date_time(started))?;
        map.serialize_entry("time", &time)?;
        map.serialize_entry("request", &request)?;
        map.serialize_entry("response", &response)?;
        map.serialize_entry("cache", &EmptyObject)?;
        map.serialize_entry("timings", &timings)?;
        if let Some(peer) = facts.peer {
            map.serialize_entry("serverIPAddress", &peer.ip().to_string())?;
        }
        if let Some(local) = facts.local {
            map.serialize_entry("connection", &local.port().to_string())?;
        }
        map.serialize_entry("_resourceType", "websocket")?;
        map.serialize_entry(
            "_webSocketMessages",
            &MessagesOut {
                lines,
                group,
                consumed: &consumed,
                counts: self.doc.counts,
            },
        )?;
        map.serialize_entry(
            "_webSocketHandshake",
            &HandshakeOut {
                request: facts.request_raw,
                response: facts.response_raw,
            },
        )?;
        if let Some(tls) = facts.tls {
            map.serialize_entry("_tls", tls)?;
        }
        if let Some(Record::Closed {
            code,
            reason,
            initiator,
            clean,
        }) = facts.closed
        {
            map.serialize_entry(
                "_closed",
                &ClosedOut {
                    code: *code,
                    reason,
                    initiator: *initiator,
                    clean: *clean,
                },
            )?;
        }
        map.serialize_entry("_conn", &group.conn)?;
        map.serialize_entry("_leg", &group.leg)?;
        map.serialize_entry(
            "_captureLines",
            &CaptureLinesOut {
                lines,
                group,
                consumed: &consumed.borrow(),
            },
        )?;
        map.end()
    }
}

struct EmptyObject;

impl Serialize for EmptyObject {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_map(Some(0))?.end()
    }
}

/// ISO 8601 in UTC with milliseconds, as Chrome writes `startedDateTime`.
fn started_date_time(time_ns: u64) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_nanos(time_ns)).to_string()
}

/// The connection's lines that are neither frames nor an `inflated` line a message took.
struct CaptureLinesOut<'a> {
    lines: &'a [CaptureLine],
    group: &'a Group,
    consumed: &'a [usize],
}

#[derive(Serialize)]
struct SeqLineOut<'a> {
    seq: usize,
    line: &'a CaptureLine,
}

impl Serialize for CaptureLinesOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        let mut consumed = self.consumed.iter().copied().peekable();
        for (pos, &i) in self.group.lines.iter().enumerate() {
            let line = &self.lines[i];
            if matches!(line.record, Record::Frame(_)) {
                continue;
            }
            while consumed.next_if(|&c| c < pos).is_some() {}
            if consumed.next_if_eq(&pos).is_some() {
                continue;
            }
            seq.serialize_element(&SeqLineOut { seq: pos, line })?;
        }
        seq.end()
    }
}

/// A message being put together from its frames: their places in the group.
struct Partial {
    frames: Vec<usize>,
    opcode: u8,
    compressed: bool,
}

struct MessagesOut<'a> {
    lines: &'a [CaptureLine],
    group: &'a Group,
    consumed: &'a RefCell<Vec<usize>>,
    counts: &'a Counts,
}

impl<'a> MessagesOut<'a> {
    fn frame(&self, pos: usize) -> (&'a CaptureLine, &'a FrameRecord) {
        frame_at(self.lines, &self.group.lines, pos)
    }

    /// The `inflated` line for the incoming message that ended at `pos`: the first one after
    /// it, before the next incoming frame.
    fn inflated_after(&self, pos: usize, opcode: u8) -> Option<(usize, &'a CaptureLine)> {
        let positions = self.group.lines.len();
        for next in (pos + 1..positions).take(64) {
            let line = &self.lines[self.group.lines[next]];
            match &line.record {
                Record::Inflated(m) => {
                    let fits = matches!(
                        (m, opcode),
                        (MessageRecord::Text { .. }, 1) | (MessageRecord::Binary { .. }, 2)
                    );
                    return fits.then_some((next, line));
                }
                Record::Frame(f) if f.incoming => return None,
                _ => {}
            }
        }
        None
    }

    /// The message made of `partial`'s frames, `complete` if its last frame had FIN.
    fn message(
        &self,
        partial: Partial,
        complete: bool,
        sent_inflater: &mut Option<Decompress>,
    ) -> MessageOut<'a> {
        let (last_line, last) = self.frame(*partial.frames.last().expect("a frame"));
        let incoming = last.incoming;
        let payload: Cow<'a, [u8]> = if partial.frames.len() == 1 {
            Cow::Borrowed(&last.payload)
        } else {
            let mut all = Vec::new();
            for &pos in &partial.frames {
                all.extend_from_slice(&self.frame(pos).1.payload);
            }
            Cow::Owned(all)
        };
        let mut inflated = None;
        let mut inflate_error = None;
        // The plain content, or (`Err`) the payload as it is when it cannot be had.
        let plain: Result<Plain<'a>, Cow<'a, [u8]>> = if !partial.compressed {
            Ok(Plain::Bytes(payload))
        } else if !complete {
            inflate_error = Some("the message's last frame is not in the capture".to_owned());
            Err(payload)
        } else if incoming {
            let end = *partial.frames.last().expect("a frame");
            match self.inflated_after(end, partial.opcode) {
                Some((pos, line)) => {
                    inflated = Some(InflatedOut {
                        seq: pos,
                        time_ns: line.time_ns,
                        elapsed_ns: line.elapsed_ns,
                    });
                    self.consumed.borrow_mut().push(pos);
                    match &line.record {
                        Record::Inflated(MessageRecord::Text { text }) => {
                            Ok(Plain::Text(Cow::Borrowed(text)))
                        }
                        Record::Inflated(MessageRecord::Binary { data }) => {
                            Ok(Plain::Bytes(Cow::Borrowed(data)))
                        }
                        _ => unreachable!("inflated_after checks the type"),
                    }
                }
                // No `inflated` line: try on its own (right for the first message, or
                // without context takeover).
                None => match inflate(&mut Decompress::new(false), &payload) {
                    Ok(plain) => Ok(Plain::Bytes(Cow::Owned(plain))),
                    Err(e) => {
                        inflate_error = Some(format!("no inflated line, and {e}"));
                        Err(payload)
                    }
                },
            }
        } else {
            let inflater = sent_inflater.get_or_insert_with(|| Decompress::new(false));
            match inflate(inflater, &payload) {
                Ok(plain) => Ok(Plain::Bytes(Cow::Owned(plain))),
                Err(e) => {
                    // The window is lost: start afresh for the next message.
                    *sent_inflater = None;
                    inflate_error = Some(e);
                    Err(payload)
                }
            }
        };
        let opcode = partial.opcode;
        let (data, close) = match plain {
            Err(payload) => {
                self.counts
                    .not_inflated
                    .set(self.counts.not_inflated.get() + 1);
                (Cow::Owned(STANDARD.encode(&payload)), None)
            }
            Ok(Plain::Text(text)) => (text, None),
            Ok(Plain::Bytes(bytes)) if opcode == 1 => (
                match bytes {
                    Cow::Borrowed(b) => String::from_utf8_lossy(b),
                    Cow::Owned(b) => Cow::Owned(
                        String::from_utf8(b)
                            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
                    ),
                },
                None,
            ),
            Ok(Plain::Bytes(bytes)) => {
                let close = (opcode == 8).then(|| {
                    let code = (bytes.len() >= 2).then(|| u16::from_be_bytes([bytes[0], bytes[1]]));
                    let reason = bytes.get(2..).unwrap_or_default();
                    (code, String::from_utf8_lossy(reason).into_owned())
                });
                (Cow::Owned(STANDARD.encode(&bytes)), close)
            }
        };
        let counts = self.counts;
        counts.messages.set(counts.messages.get() + 1);
        counts
            .frames
            .set(counts.frames.get() + partial.frames.len() as u64);
        if opcode >= 8 {
            counts.control.set(counts.control.get() + 1);
        }
        MessageOut {
            lines: self.lines,
            group: &self.group.lines,
            kind: if incoming { "receive" } else { "send" },
            time: seconds(last_line.time_ns),
            opcode,
            data,
            close,
            compressed: partial.compressed,
            inflate_error,
            incomplete: !complete,
            inflated,
            frames: partial.frames,
        }
    }
}

/// The frame at `pos` among a group's lines.
fn frame_at<'a>(
    lines: &'a [CaptureLine],
    group: &[usize],
    pos: usize,
) -> (&'a CaptureLine, &'a FrameRecord) {
    let line = &lines[group[pos]];
    match &line.record {
        Record::Frame(f) => (line, f),
        _ => unreachable!("a message holds only frames"),
    }
}

enum Plain<'a> {
    Text(Cow<'a, str>),
    Bytes(Cow<'a, [u8]>),
}

/// Seconds since the Unix epoch, as Chrome writes a message's `time`.
fn seconds(time_ns: u64) -> f64 {
    (time_ns / 1_000_000_000) as f64 + (time_ns % 1_000_000_000) as f64 / 1e9
}

/// Inflates one whole message's payload with `d` (permessage-deflate: the sync tail the
/// sender removed is put back).
fn inflate(d: &mut Decompress, payload: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(payload.len() * 3 + 64);
    for input in [payload, &ws_tokio::ws_proto::deflate::SYNC_TAIL[..]] {
        let mut done = 0;
        loop {
            if out.len() == out.capacity() {
                if out.len() >= INFLATE_LIMIT {
                    return Err(format!(
                        "it inflates to more than {} MiB",
                        INFLATE_LIMIT >> 20
                    ));
                }
                out.reserve(out.capacity().max(4096));
            }
            let before_in = d.total_in();
            let before_out = out.len();
            let status = d
                .decompress_vec(&input[done..], &mut out, FlushDecompress::Sync)
                .map_err(|e| {
                    format!(
                        "it does not inflate: {}",
                        e.message().unwrap_or("invalid compressed data")
                    )
                })?;
            done += (d.total_in() - before_in) as usize;
            let progress = d.total_in() != before_in || out.len() != before_out;
            if status == Status::StreamEnd {
                if done < input.len() {
                    return Err("it holds data after its final block".into());
                }
                // A final block: the next message needs a fresh stream.
                d.reset(false);
                break;
            }
            if done == input.len() && out.len() < out.capacity() {
                break;
            }
            if !progress && out.len() < out.capacity() {
                return Err("its compressed data stops short".into());
            }
        }
    }
    Ok(out)
}

#[derive(Serialize)]
struct InflatedOut {
    seq: usize,
    time_ns: u64,
    elapsed_ns: u64,
}

struct MessageOut<'a> {
    lines: &'a [CaptureLine],
    group: &'a [usize],
    kind: &'static str,
    time: f64,
    opcode: u8,
    data: Cow<'a, str>,
    close: Option<(Option<u16>, String)>,
    compressed: bool,
    inflate_error: Option<String>,
    incomplete: bool,
    inflated: Option<InflatedOut>,
    frames: Vec<usize>,
}

impl Serialize for MessageOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("type", self.kind)?;
        map.serialize_entry("time", &self.time)?;
        map.serialize_entry("opcode", &self.opcode)?;
        map.serialize_entry("data", &self.data)?;
        if let Some((code, reason)) = &self.close {
            map.serialize_entry("_closeCode", code)?;
            map.serialize_entry("_closeReason", reason)?;
        }
        if self.compressed {
            map.serialize_entry("_compressed", &true)?;
        }
        if let Some(e) = &self.inflate_error {
            map.serialize_entry("_inflateError", e)?;
        }
        if self.incomplete {
            map.serialize_entry("_incomplete", &true)?;
        }
        if let Some(inflated) = &self.inflated {
            map.serialize_entry("_inflated", inflated)?;
        }
        map.serialize_entry(
            "_frames",
            &FramesOut {
                lines: self.lines,
                group: self.group,
                frames: &self.frames,
            },
        )?;
        map.end()
    }
}

struct FramesOut<'a> {
    lines: &'a [CaptureLine],
    group: &'a [usize],
    frames: &'a [usize],
}

impl Serialize for FramesOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.frames.len()))?;
        for &pos in self.frames {
            let (line, f) = frame_at(self.lines, self.group, pos);
            seq.serialize_element(&FrameOut {
                seq: pos,
                time_ns: line.time_ns,
                elapsed_ns: line.elapsed_ns,
                fin: f.fin,
                rsv1: f.rsv1,
                rsv2: f.rsv2,
                rsv3: f.rsv3,
                opcode: f.opcode,
                mask: f.mask,
                payload_len: f.payload_len,
                payload: &f.payload,
                decompressed_len: f.decompressed_len,
                message: f.message,
            })?;
        }
        seq.end()
    }
}

#[derive(Serialize)]
struct FrameOut<'a> {
    seq: usize,
    time_ns: u64,
    elapsed_ns: u64,
    fin: bool,
    rsv1: bool,
    rsv2: bool,
    rsv3: bool,
    opcode: u8,
    #[serde(serialize_with = "mask_hex::serialize")]
    mask: Option<[u8; 4]>,
    payload_len: u64,
    #[serde(serialize_with = "base64_slice")]
    payload: &'a [u8],
    decompressed_len: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<PositionRecord>,
}

fn base64_slice<S: Serializer>(data: &&[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&STANDARD.encode(data))
}

impl Serialize for MessagesOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        // A message in progress in each direction: [sent, received].
        let mut partial: [Option<Partial>; 2] = [None, None];
        let mut sent_inflater: Option<Decompress> = None;
        for (pos, &i) in self.group.lines.iter().enumerate() {
            let Record::Frame(f) = &self.lines[i].record else {
                continue;
            };
            let dir = usize::from(f.incoming);
            let single = |opcode| Partial {
                frames: vec![pos],
                opcode,
                compressed: false,
            };
            match f.opcode {
                // Control frames (and reserved control opcodes) stand alone, even in the
                // middle of a fragmented message.
                8..=15 => {
                    let message = self.message(single(f.opcode), true, &mut sent_inflater);
                    seq.serialize_element(&message)?;
                }
                0 => match partial[dir].as_mut() {
                    Some(p) => {
                        p.frames.push(pos);
                        if f.fin {
                            let p = partial[dir].take().expect("in progress");
                            seq.serialize_element(&self.message(p, true, &mut sent_inflater))?;
                        }
                    }
                    // A continuation with no message to continue.
                    None => {
                        let message = self.message(single(0), f.fin, &mut sent_inflater);
                        seq.serialize_element(&message)?;
                    }
                },
                opcode => {
                    if let Some(p) = partial[dir].take() {
                        // The previous message never ended.
                        seq.serialize_element(&self.message(p, false, &mut sent_inflater))?;
                    }
                    let p = Partial {
                        frames: vec![pos],
                        opcode,
                        compressed: f.rsv1 && (opcode == 1 || opcode == 2),
                    };
                    if f.fin {
                        seq.serialize_element(&self.message(p, true, &mut sent_inflater))?;
                    } else {
                        partial[dir] = Some(p);
                    }
                }
            }
        }
        let mut left: Vec<Partial> = partial.into_iter().flatten().collect();
        left.sort_by_key(|p| p.frames[0]);
        for p in left {
            seq.serialize_element(&self.message(p, false, &mut sent_inflater))?;
        }
        seq.end()
    }
}

// =============================================================================================
// Import
// =============================================================================================

/// A serde_json error as a [`HarError`]: syntax is "not JSON"; a document whose top lacks
/// `log.entries` is "not HAR"; anything else is a HAR with a bad part, also "not HAR" with
/// the place.
fn classify(text: &str, e: serde_json::Error) -> HarError {
    use serde_json::error::Category;
    let (line, column) = (e.line(), e.column());
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => HarError::NotJson {
            reason: e.to_string(),
            line,
            column,
        },
        Category::Data => {
            #[derive(Deserialize)]
            struct Probe {
                #[allow(dead_code)]
                log: ProbeLog,
            }
            #[derive(Deserialize)]
            struct ProbeLog {
                #[allow(dead_code)]
                entries: Vec<de::IgnoredAny>,
            }
            match serde_json::from_str::<Probe>(text) {
                Err(top) => HarError::NotHar {
                    reason: format!("it needs a log object with an entries array ({top})"),
                    line: top.line(),
                    column: top.column(),
                },
                Ok(_) => HarError::NotHar {
                    reason: e.to_string(),
                    line,
                    column,
                },
            }
        }
    }
}

#[derive(Deserialize)]
struct HarIn<'a> {
    #[serde(borrow)]
    log: LogIn<'a>,
}

#[derive(Deserialize)]
struct LogIn<'a> {
    #[serde(default)]
    creator: Option<CreatorIn>,
    #[serde(borrow)]
    entries: Vec<EntryIn<'a>>,
    #[serde(rename = "_captureHeader", default)]
    capture_header: Option<CaptureLine>,
}

#[derive(Deserialize)]
struct CreatorIn {
    #[serde(default)]
    name: String,
    #[serde(default)]
    version: String,
}

#[derive(Deserialize)]
struct EntryIn<'a> {
    #[serde(rename = "startedDateTime", borrow, default)]
    started: Option<Cow<'a, str>>,
    #[serde(default)]
    time: Option<f64>,
    #[serde(borrow, default)]
    request: Option<RequestIn<'a>>,
    #[serde(borrow, default)]
    response: Option<ResponseIn<'a>>,
    #[serde(rename = "serverIPAddress", borrow, default)]
    server_ip: Option<Cow<'a, str>>,
    #[serde(rename = "_resourceType", borrow, default)]
    resource_type: Option<Cow<'a, str>>,
    #[serde(
        rename = "_webSocketMessages",
        default,
        deserialize_with = "messages_in"
    )]
    messages: Option<MessagesIn>,
    #[serde(rename = "_webSocketHandshake", default)]
    handshake: Option<HandshakeIn>,
    #[serde(rename = "_tls", default)]
    tls: Option<TlsRecord>,
    #[serde(rename = "_closed", default)]
    closed: Option<ClosedIn>,
    #[serde(rename = "_conn", default, deserialize_with = "present")]
    conn: Option<Option<u64>>,
    #[serde(rename = "_leg", default, deserialize_with = "present")]
    leg: Option<Option<Leg>>,
    #[serde(rename = "_captureLines", default)]
    capture_lines: Option<Vec<SeqLineIn>>,
}

/// A field that may be `null`: `Some(None)` for `null`, `None` (by default) when absent.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestIn<'a> {
    #[serde(borrow, default)]
    method: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    url: Cow<'a, str>,
    #[serde(borrow, default)]
    http_version: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    headers: Vec<NameValueIn<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResponseIn<'a> {
    #[serde(default)]
    status: i64,
    #[serde(borrow, default)]
    status_text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    http_version: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    headers: Vec<NameValueIn<'a>>,
}

#[derive(Deserialize)]
struct NameValueIn<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow, default)]
    value: Cow<'a, str>,
}

#[derive(Deserialize)]
struct HandshakeIn {
    #[serde(default, deserialize_with = "base64_in")]
    request: Option<Vec<u8>>,
    #[serde(default, deserialize_with = "base64_in")]
    response: Option<Vec<u8>>,
}

fn base64_in<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
    match Option::<Cow<'de, str>>::deserialize(d)? {
        Some(text) => STANDARD
            .decode(text.as_bytes())
            .map(Some)
            .map_err(de::Error::custom),
        None => Ok(None),
    }
}

#[derive(Deserialize)]
struct ClosedIn {
    code: u16,
    #[serde(default)]
    reason: String,
    initiator: InitiatorRecord,
    clean: bool,
}

#[derive(Deserialize)]
struct SeqLineIn {
    seq: u64,
    line: CaptureLine,
}

/// The messages of an entry, each already turned into what the capture needs: the frames
/// of `_frames` as capture lines (their `conn` and `leg` set once the entry is read, their
/// `elapsed_ns` [`UNKNOWN`] when the HAR does not give it), in message order.
struct MessagesIn {
    list: Vec<MessageIn>,
    frames: Vec<CaptureLine>,
    /// Each frame's `seq` ([`UNKNOWN`] when not given).
    seqs: Vec<u64>,
}

/// A `seq` or `elapsed_ns` the HAR does not give.
const UNKNOWN: u64 = u64::MAX;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Send,
    Receive,
    /// Chrome's `error` messages (opcode -1): a WebSocket error, in words.
    Error,
}

struct MessageIn {
    direction: Direction,
    time_ns: Option<u64>,
    opcode: Option<i64>,
    /// The plain content: the text's bytes for opcode 1, base64-decoded otherwise (`None` when
    /// the frames say everything and no `inflated` line is to be made).
    data: Option<Vec<u8>>,
    close_code: Option<u16>,
    close_reason: Option<String>,
    compressed: bool,
    inflate_error: bool,
    inflated: Option<InflatedIn>,
    /// How many of the entry's frame lines are this message's (0: it has no `_frames`).
    frames: usize,
    /// Whether every frame (and the `inflated` line) knows its place and times: then the
    /// lines can be put back exactly.
    exact: bool,
}

#[derive(Deserialize)]
struct RawMessageIn<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(default)]
    time: Option<f64>,
    #[serde(default)]
    opcode: Option<i64>,
    #[serde(borrow, default)]
    data: Option<Cow<'a, str>>,
    #[serde(rename = "_frames", default)]
    frames: Option<Vec<FrameIn>>,
    #[serde(rename = "_inflated", default)]
    inflated: Option<InflatedIn>,
    #[serde(rename = "_closeCode", default)]
    close_code: Option<u16>,
    #[serde(rename = "_closeReason", borrow, default)]
    close_reason: Option<Cow<'a, str>>,
    #[serde(rename = "_compressed", default)]
    compressed: bool,
    #[serde(rename = "_inflateError", default)]
    inflate_error: Option<de::IgnoredAny>,
}

#[derive(Deserialize)]
struct InflatedIn {
    seq: Option<u64>,
    time_ns: Option<u64>,
    elapsed_ns: Option<u64>,
}

#[derive(Deserialize)]
struct FrameIn {
    #[serde(default)]
    seq: Option<u64>,
    #[serde(default)]
    time_ns: Option<u64>,
    #[serde(default)]
    elapsed_ns: Option<u64>,
    fin: bool,
    #[serde(default)]
    rsv1: bool,
    #[serde(default)]
    rsv2: bool,
    #[serde(default)]
    rsv3: bool,
    opcode: u8,
    #[serde(default, with = "mask_hex")]
    mask: Option<[u8; 4]>,
    #[serde(default)]
    payload_len: Option<u64>,
    #[serde(deserialize_with = "base64_required")]
    payload: Vec<u8>,
    #[serde(default)]
    decompressed_len: Option<u64>,
    #[serde(default)]
    message: Option<PositionRecord>,
}

fn base64_required<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let text = Cow::<'de, str>::deserialize(d)?;
    STANDARD.decode(text.as_bytes()).map_err(de::Error::custom)
}

/// `_webSocketMessages`, each message turned into a [`MessageIn`] as it is parsed.
fn messages_in<'de, D: Deserializer<'de>>(d: D) -> Result<Option<MessagesIn>, D::Error> {
    struct Messages;
    impl<'de> Visitor<'de> for Messages {
        type Value = Option<MessagesIn>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array of WebSocket messages")
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_seq(self)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut messages = MessagesIn {
                list: Vec::with_capacity(seq.size_hint().unwrap_or(0)),
                frames: Vec::new(),
                seqs: Vec::new(),
            };
            let mut last_time = 0;
            while let Some(raw) = seq.next_element::<RawMessageIn<'de>>()? {
                let message = MessageIn::from_raw(raw, &mut last_time, &mut messages);
                messages.list.push(message);
            }
            Ok(Some(messages))
        }
    }
    d.deserialize_option(Messages)
}

impl MessageIn {
    /// The message of `raw`; its frames go to `into`, as lines. `last_time` is the time of
    /// the message before (for one with no `time`).
    fn from_raw(raw: RawMessageIn<'_>, last_time: &mut u64, into: &mut MessagesIn) -> Self {
        let direction = match raw.kind.as_deref() {
            Some(k) if k.eq_ignore_ascii_case("receive") => Direction::Receive,
            Some(k) if k.eq_ignore_ascii_case("error") => Direction::Error,
            _ => Direction::Send,
        };
        let time_ns = raw.time.and_then(seconds_to_ns);
        if let Some(t) = time_ns {
            *last_time = t;
        }
        let frames = raw.frames.unwrap_or_default();
        let opcode = raw.opcode;
        let mut exact = !frames.is_empty()
            && raw
                .inflated
                .as_ref()
                .is_none_or(|i| i.seq.is_some() && i.time_ns.is_some() && i.elapsed_ns.is_some());
        // The content is needed when there are no frames to say it, and for the `inflated`
        // line of a compressed message received.
        let wanted = frames.is_empty()
            || raw.inflated.is_some()
            || (raw.compressed && direction == Direction::Receive && raw.inflate_error.is_none());
        let data = match raw.data {
            Some(text) if wanted => Some(match opcode {
                Some(1) | None => text.into_owned().into_bytes(),
                _ if direction == Direction::Error => text.into_owned().into_bytes(),
                // Chrome and mitmproxy write every other opcode's data as base64.
                _ => match STANDARD.decode(text.as_bytes()) {
                    Ok(bytes) => bytes,
                    Err(_) => text.into_owned().into_bytes(),
                },
            }),
            _ => None,
        };
        let incoming = direction == Direction::Receive;
        let count = frames.len();
        for f in frames {
            exact &= f.seq.is_some() && f.time_ns.is_some() && f.elapsed_ns.is_some();
            into.seqs.push(f.seq.unwrap_or(UNKNOWN));
            into.frames.push(line_at(
                f.time_ns.or(time_ns).unwrap_or(*last_time),
                f.elapsed_ns.unwrap_or(UNKNOWN),
                None,
                None,
                Record::Frame(f.record(incoming)),
            ));
        }
        Self {
            direction,
            time_ns,
            opcode,
            data,
            close_code: raw.close_code,
            close_reason: raw.close_reason.map(Cow::into_owned),
            compressed: raw.compressed,
            inflate_error: raw.inflate_error.is_some(),
            inflated: raw.inflated,
            frames: count,
            exact,
        }
    }

    /// The `inflated` record of a compressed message received, with its content.
    fn inflated_record(&self) -> Option<Record> {
        let data = self.data.as_ref()?;
        Some(Record::Inflated(match self.opcode {
            Some(1) => MessageRecord::Text {
                text: String::from_utf8_lossy(data).into_owned(),
            },
            _ => MessageRecord::Binary { data: data.clone() },
        }))
    }
}

fn seconds_to_ns(seconds: f64) -> Option<u64> {
    (seconds.is_finite() && seconds >= 0.0).then(|| {
        let whole = seconds.trunc();
        let nanos = ((seconds - whole) * 1e9).round();
        (whole as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(nanos as u64)
    })
}

/// A capture line at `time_ns`, `elapsed_ns`.
fn line_at(
    time_ns: u64,
    elapsed_ns: u64,
    conn: Option<u64>,
    leg: Option<Leg>,
    record: Record,
) -> CaptureLine {
    CaptureLine {
        v: VERSION,
        time: humantime::format_rfc3339_nanos(UNIX_EPOCH + Duration::from_nanos(time_ns))
            .to_string(),
        time_ns,
        elapsed_ns,
        conn,
        leg,
        record,
    }
}

/// An ISO 8601 date and time (`2024-05-01T12:00:00.123Z`, `…+02:00`, `…+0200`; a space for
/// the `T`) as nanoseconds since the Unix epoch.
fn parse_iso8601(text: &str) -> Option<u64> {
    let text = text.trim();
    let b = text.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let s = text.get(range)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if b[13] != b':' || b[16] != b':' || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mut rest = &text[19..];
    let mut nanos: i64 = 0;
    if let Some(fraction) = rest.strip_prefix(['.', ',']) {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        for (i, c) in fraction[..digits].bytes().take(9).enumerate() {
            nanos += i64::from(c - b'0') * 10i64.pow(8 - i as u32);
        }
        rest = &fraction[digits..];
    }
    let offset_s: i64 = match rest {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let digits: String = rest[1..].chars().filter(|c| *c != ':').collect();
            if digits.len() != 4 || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let (h, m): (i64, i64) = (digits[..2].parse().ok()?, digits[2..].parse().ok()?);
            sign * (h * 3600 + m * 60)
        }
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_s;
    let ns = i128::from(secs) * 1_000_000_000 + i128::from(nanos);
    Some(u64::try_from(ns.max(0)).unwrap_or(u64::MAX))
}

impl EntryIn<'_> {
    fn is_websocket(&self) -> bool {
        if self
            .resource_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("websocket"))
            || self.messages.is_some()
        {
            return true;
        }
        let url = self.request.as_ref().map_or("", |r| &r.url);
        if starts_with_ignore_case(url, "ws://") || starts_with_ignore_case(url, "wss://") {
            return true;
        }
        let upgrade = |headers: &[NameValueIn<'_>]| {
            headers.iter().any(|h| {
                h.name.eq_ignore_ascii_case("upgrade") && h.value.eq_ignore_ascii_case("websocket")
            })
        };
        self.response.as_ref().is_some_and(|r| r.status == 101)
            && (self.response.as_ref().is_some_and(|r| upgrade(&r.headers))
                || self.request.as_ref().is_some_and(|r| upgrade(&r.headers)))
    }

    fn start_ns(&self) -> Option<u64> {
        self.started.as_deref().and_then(parse_iso8601).or_else(|| {
            self.messages
                .as_ref()
                .and_then(|m| m.list.iter().find_map(|m| m.time_ns))
        })
    }

    /// The entry's lines; `number` is the entry's place among the WebSocket entries, from 1.
    fn into_lines(self, number: u64) -> Result<Vec<CaptureLine>, String> {
        let conn = self.conn.unwrap_or(Some(number));
        let leg = self.leg.flatten();
        let exact = self.capture_lines.is_some()
            && self
                .messages
                .as_ref()
                .is_none_or(|m| m.list.iter().all(|m| m.exact));
        if exact {
            self.exact_lines(conn, leg)
        } else {
            Ok(self.synthesized_lines(conn, leg))
        }
    }

    /// Our own export: the lines put back in their order.
    fn exact_lines(self, conn: Option<u64>, leg: Option<Leg>) -> Result<Vec<CaptureLine>, String> {
        let MessagesIn {
            list,
            frames: mut lines,
            mut seqs,
        } = self.messages.unwrap_or_else(MessagesIn::none);
        for line in &mut lines {
            line.conn = conn;
            line.leg = leg;
        }
        let capture_lines = self.capture_lines.unwrap_or_default();
        // One more, for the capture's header in front.
        lines.reserve(capture_lines.len() + 1);
        for message in &list {
            if let (Some(inflated), Some(record)) = (&message.inflated, message.inflated_record()) {
                seqs.push(inflated.seq.unwrap_or(UNKNOWN));
                lines.push(line_at(
                    inflated.time_ns.unwrap_or_default(),
                    inflated.elapsed_ns.unwrap_or_default(),
                    conn,
                    leg,
                    record,
                ));
            }
        }
        drop(list);
        for SeqLineIn { seq, line } in capture_lines {
            if line.v > VERSION {
                return Err(format!(
                    "a capture line written in capture format version {}; this version reads \
                     up to {VERSION}",
                    line.v
                ));
            }
            seqs.push(seq);
            lines.push(line);
        }
        sort_by_keys(&mut lines, &seqs);
        Ok(lines)
    }

    /// Another tool's entry (or ours without the lines): what can be known, built.
    fn synthesized_lines(self, conn: Option<u64>, leg: Option<Leg>) -> Vec<CaptureLine> {
        let start = self.start_ns().unwrap_or(0);
        let MessagesIn {
            list: messages,
            frames: given,
            ..
        } = self.messages.unwrap_or_else(MessagesIn::none);
        let mut out = Vec::with_capacity(given.len() + messages.len() + 10);
        let mut given = given.into_iter();
        let first_message = messages.iter().find_map(|m| m.time_ns);
        let at = |time_ns: u64, record| {
            line_at(time_ns, time_ns.saturating_sub(start), conn, leg, record)
        };
        // The answer came `time` ms after the start, but not after the first message.
        let mut answered = start.saturating_add(
            self.time
                .filter(|t| t.is_finite() && *t > 0.0)
                .map_or(0, |t| (t * 1e6) as u64),
        );
        if let Some(first) = first_message {
            answered = answered.min(first).max(start);
        }

        let tls = self.tls;
        let request = self
            .request
            .as_ref()
            .map(request_head)
            .unwrap_or_else(|| RequestHead {
                method: "GET".into(),
                uri: "ws://localhost/".into(),
                version: "HTTP/1.1".into(),
                headers: Vec::new(),
            });
        let handshake = self.handshake.unwrap_or(HandshakeIn {
            request: None,
            response: None,
        });
        let request_raw = handshake.request.unwrap_or_else(|| request_bytes(&request));
        if let Some(tls) = &tls {
            out.push(at(start, Record::TlsEstablished(tls.clone())));
        }
        out.push(at(
            start,
            Record::RequestSent {
                head: request.clone(),
                raw: request_raw,
            },
        ));
        let status = self.response.as_ref().map_or(0, |r| r.status);
        let response = self.response.as_ref().map(response_head);
        let status_text = self
            .response
            .as_ref()
            .and_then(|r| r.status_text.as_deref())
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        if status != 101 {
            let reason = match &response {
                Some(_) if status > 0 => format!(
                    "handshake failed: the server answered {status}{} instead of 101 \
                     Switching Protocols",
                    status_text.map(|t| format!(" {t}")).unwrap_or_default()
                ),
                _ => "handshake failed: the HAR file records no answer".into(),
            };
            let response = response.filter(|_| status > 0 && status < 1000);
            out.push(at(
                answered,
                Record::HandshakeFailed {
                    reason,
                    response,
                    body: None,
                },
            ));
            out.push(at(answered, Record::State { ready_state: 3 }));
            return out;
        }
        let response = response.expect("status 101 comes with a response");
        let response_raw = handshake
            .response
            .unwrap_or_else(|| response_bytes(&response, status_text.as_deref()));
        out.push(at(
            answered,
            Record::ResponseReceived {
                head: response.clone(),
                raw: response_raw,
            },
        ));
        out.push(at(
            answered,
            Record::Opened(Box::new(opened(
                request,
                response,
                tls,
                self.server_ip.as_deref(),
            ))),
        ));
        out.push(at(answered, Record::State { ready_state: 1 }));

        let mut end = answered;
        let mut first_close: Option<(Direction, Option<u16>, String)> = None;
        let mut closes = [false, false];
        for message in messages {
            let time = message.time_ns.unwrap_or(end);
            end = end.max(time);
            if message.direction == Direction::Error {
                let text = message
                    .data
                    .map(|d| String::from_utf8_lossy(&d).into_owned())
                    .unwrap_or_default();
                out.push(at(time, Record::Error { message: text }));
                continue;
            }
            let incoming = message.direction == Direction::Receive;
            let inflated = (message.compressed && incoming && !message.inflate_error)
                .then(|| message.inflated_record())
                .flatten();
            let first = out.len();
            if message.frames == 0 {
                match message.plain_frame(incoming) {
                    Some(frame) => out.push(at(time, Record::Frame(frame))),
                    None => {
                        out.push(at(
                            time,
                            Record::Error {
                                message: format!(
                                    "a HAR message with opcode {}, which no frame has",
                                    message.opcode.unwrap_or_default()
                                ),
                            },
                        ));
                        continue;
                    }
                }
            } else {
                for mut line in given.by_ref().take(message.frames) {
                    line.conn = conn;
                    line.leg = leg;
                    if line.elapsed_ns == UNKNOWN {
                        line.elapsed_ns = line.time_ns.saturating_sub(start);
                    }
                    out.push(line);
                }
            }
            for line in &out[first..] {
                end = end.max(line.time_ns);
                let Record::Frame(frame) = &line.record else {
                    continue;
                };
                if frame.opcode == 8 {
                    closes[usize::from(incoming)] = true;
                    if first_close.is_none() {
                        let code = (frame.payload.len() >= 2)
                            .then(|| u16::from_be_bytes([frame.payload[0], frame.payload[1]]));
                        let reason =
                            String::from_utf8_lossy(frame.payload.get(2..).unwrap_or_default())
                                .into_owned();
                        first_close = Some((message.direction, code, reason));
                    }
                }
            }
            if let Some(record) = inflated {
                out.push(at(time, record));
            }
        }
        out.push(at(end, Record::State { ready_state: 3 }));
        let closed = match (self.closed, first_close) {
            (Some(c), _) => Record::Closed {
                code: c.code,
                reason: c.reason,
                initiator: c.initiator,
                clean: c.clean,
            },
            (None, Some((direction, code, reason))) => Record::Closed {
                code: code.unwrap_or(1005),
                reason,
                initiator: if direction == Direction::Receive {
                    InitiatorRecord::Remote
                } else {
                    InitiatorRecord::Local
                },
                clean: closes[0] && closes[1],
            },
            // The file does not say how the connection ended.
            (None, None) => Record::Closed {
                code: 1006,
                reason: String::new(),
                initiator: InitiatorRecord::Nobody,
                clean: false,
            },
        };
        out.push(at(end, closed));
        out
    }
}

impl MessagesIn {
    fn none() -> Self {
        Self {
            list: Vec::new(),
            frames: Vec::new(),
            seqs: Vec::new(),
        }
    }
}

/// Puts `items` in the order of `keys` (stable), moving each item in place: no second copy
/// of the lines.
fn sort_by_keys<T>(items: &mut [T], keys: &[u64]) {
    debug_assert_eq!(items.len(), keys.len());
    if keys.is_sorted() {
        return;
    }
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| keys[i]);
    // items[i] is to become the item now at order[i]: follow each cycle with swaps.
    for i in 0..items.len() {
        if order[i] == i {
            continue;
        }
        let mut current = i;
        loop {
            let next = order[current];
            order[current] = current;
            if next == i {
                break;
            }
            items.swap(current, next);
            current = next;
        }
    }
}

impl MessageIn {
    /// The one frame a message without `_frames` stands for: FIN, no RSV bit, no mask.
    fn plain_frame(&self, incoming: bool) -> Option<FrameRecord> {
        let opcode = u8::try_from(self.opcode.unwrap_or(1))
            .ok()
            .filter(|o| *o < 16)?;
        let mut payload = self.data.clone().unwrap_or_default();
        if opcode == 8
            && payload.is_empty()
            && let Some(code) = self.close_code
        {
            payload.extend_from_slice(&code.to_be_bytes());
            payload.extend_from_slice(self.close_reason.as_deref().unwrap_or("").as_bytes());
        }
        Some(FrameRecord {
            incoming,
            fin: true,
            rsv1: false,
            rsv2: false,
            rsv3: false,
            opcode,
            mask: None,
            payload_len: payload.len() as u64,
            payload,
            decompressed_len: None,
            message: None,
        })
    }
}

impl FrameIn {
    fn record(self, incoming: bool) -> FrameRecord {
        FrameRecord {
            incoming,
            fin: self.fin,
            rsv1: self.rsv1,
            rsv2: self.rsv2,
            rsv3: self.rsv3,
            opcode: self.opcode,
            mask: self.mask,
            payload_len: self.payload_len.unwrap_or(self.payload.len() as u64),
            payload: self.payload,
            decompressed_len: self.decompressed_len,
            message: self.message,
        }
    }
}

fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.len() >= prefix.len() && text[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// An HTTP version a head can hold (`HTTP/1.1` for anything else, such as `h2` or ``).
fn http_version(version: Option<&str>) -> String {
    match version.map(str::trim) {
        Some(v @ ("HTTP/0.9" | "HTTP/1.0" | "HTTP/1.1" | "HTTP/2.0" | "HTTP/3.0")) => v.into(),
        Some(v) if v.eq_ignore_ascii_case("http/2") || v.eq_ignore_ascii_case("h2") => {
            "HTTP/2.0".into()
        }
        Some(v) if v.eq_ignore_ascii_case("http/3") || v.eq_ignore_ascii_case("h3") => {
            "HTTP/3.0".into()
        }
        Some(v) if v.eq_ignore_ascii_case("http/1.1") => "HTTP/1.1".into(),
        Some(v) if v.eq_ignore_ascii_case("http/1.0") => "HTTP/1.0".into(),
        _ => "HTTP/1.1".into(),
    }
}

/// The headers a head can hold: valid names and values; HTTP/2's `:authority` as `Host`,
/// its other pseudo-headers left out.
fn headers_in(headers: &[NameValueIn<'_>]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::with_capacity(headers.len());
    let mut authority = None;
    for h in headers {
        if h.name.eq_ignore_ascii_case(":authority") {
            authority = Some(h.value.to_string());
            continue;
        }
        if HeaderName::try_from(h.name.as_ref()).is_ok()
            && HeaderValue::try_from(h.value.as_ref()).is_ok()
        {
            out.push((h.name.to_string(), h.value.to_string()));
        }
    }
    if let Some(authority) = authority
        && !out.iter().any(|(n, _)| n.eq_ignore_ascii_case("host"))
    {
        out.insert(0, ("Host".into(), authority));
    }
    out
}

fn request_head(request: &RequestIn<'_>) -> RequestHead {
    let url = request.url.trim();
    // mitmproxy writes a WebSocket's URL as http(s)://; a client's head holds ws(s)://.
    let uri = if starts_with_ignore_case(url, "http://") {
        format!("ws://{}", &url[7..])
    } else if starts_with_ignore_case(url, "https://") {
        format!("wss://{}", &url[8..])
    } else if url.is_empty() {
        "ws://localhost/".into()
    } else {
        url.to_owned()
    };
    // The head must be one a tap could report: a URI `http` accepts.
    let uri = if ws_tokio::ws_proto::http::Uri::try_from(uri.as_str()).is_ok() {
        uri
    } else {
        url::Url::parse(&uri).map_or_else(|_| "ws://localhost/".into(), |u| u.to_string())
    };
    let method = request
        .method
        .as_deref()
        .filter(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_alphabetic()))
        .unwrap_or("GET");
    RequestHead {
        method: method.to_owned(),
        uri,
        version: http_version(request.http_version.as_deref()),
        headers: headers_in(&request.headers),
    }
}

fn response_head(response: &ResponseIn<'_>) -> ResponseHead {
    ResponseHead {
        status: u16::try_from(response.status)
            .ok()
            .filter(|s| (100..1000).contains(s))
            .unwrap_or(101),
        version: http_version(response.http_version.as_deref()),
        headers: headers_in(&response.headers),
    }
}

/// `GET /path?query HTTP/1.1\r\nName: value\r\n…\r\n\r\n`.
fn request_bytes(head: &RequestHead) -> Vec<u8> {
    let target = match url::Url::parse(&head.uri) {
        Ok(url) => match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        },
        Err(_) => head.uri.clone(),
    };
    let mut raw = format!("{} {target} {}\r\n", head.method, head.version);
    for (name, value) in &head.headers {
        raw.push_str(&format!("{name}: {value}\r\n"));
    }
    raw.push_str("\r\n");
    raw.into_bytes()
}

/// `HTTP/1.1 101 Switching Protocols\r\nName: value\r\n…\r\n\r\n`.
fn response_bytes(head: &ResponseHead, reason: Option<&str>) -> Vec<u8> {
    let reason = reason
        .map(str::to_owned)
        .or_else(|| {
            StatusCode::from_u16(head.status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let mut raw = format!("{} {} {reason}\r\n", head.version, head.status);
    for (name, value) in &head.headers {
        raw.push_str(&format!("{name}: {value}\r\n"));
    }
    raw.push_str("\r\n");
    raw.into_bytes()
}

/// What the handshake settled, from the heads.
fn opened(
    request: RequestHead,
    response: ResponseHead,
    tls: Option<TlsRecord>,
    server_ip: Option<&str>,
) -> OpenedRecord {
    let protocol = header(&response.headers, "sec-websocket-protocol").map(str::to_owned);
    let extensions: Vec<String> = response
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("sec-websocket-extensions"))
        .flat_map(|(_, v)| v.split(','))
        .map(|e| e.trim().to_owned())
        .filter(|e| !e.is_empty())
        .collect();
    let deflate = extensions
        .iter()
        .filter(|e| ws_tokio::ws_proto::deflate::is_deflate(e))
        .find_map(|e| ws_tokio::ws_proto::DeflateParams::parse_response(e).ok())
        .map(|p| p.to_string());
    let peer = server_ip.and_then(|ip| {
        let ip: IpAddr = ip.trim_matches(['[', ']']).parse().ok()?;
        let url = url::Url::parse(&request.uri).ok()?;
        Some(SocketAddr::new(ip, url.port_or_known_default()?))
    });
    OpenedRecord {
        request,
        response,
        protocol,
        extensions,
        deflate,
        tls,
        local: None,
        peer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_times_parse() {
        let z = parse_iso8601("2026-12-01T12:37:11.677Z").unwrap();
        assert_eq!(z, 1_796_128_631_677_000_000);
        assert_eq!(parse_iso8601("2026-12-01T13:37:11.677+01:00"), Some(z));
        assert_eq!(parse_iso8601("2026-12-01T11:37:11.677-0100"), Some(z));
        assert_eq!(parse_iso8601("2026-12-01 12:37:11.677000+00:00"), Some(z));
        assert_eq!(
            parse_iso8601("2026-12-01T12:37:11.677374077Z"),
            Some(1_796_128_631_677_374_077)
        );
        assert_eq!(parse_iso8601("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_iso8601("yesterday"), None);
        assert_eq!(parse_iso8601("2026-13-01T00:00:00Z"), None);
    }

    #[test]
    fn lines_are_put_in_order_in_place() {
        let keys = [5, 1, 4, 1, 0, 9, 2, 6];
        let mut items: Vec<(u64, usize)> = keys.iter().copied().zip(0..).collect();
        sort_by_keys(&mut items, &keys);
        let mut expected: Vec<(u64, usize)> = keys.iter().copied().zip(0..).collect();
        expected.sort_by_key(|(k, _)| *k);
        assert_eq!(items, expected, "stable: the two 1s keep their order");
    }

    #[test]
    fn seconds_keep_microseconds() {
        let ns = 1_796_128_631_679_370_537u64;
        let back = seconds_to_ns(seconds(ns)).unwrap();
        assert!(back.abs_diff(ns) < 1_000, "{back} vs {ns}");
    }

    #[test]
    fn a_sent_compressed_message_is_inflated_with_the_window_kept() {
        use flate2::{Compress, Compression, FlushCompress};
        let mut c = Compress::new(Compression::default(), false);
        let mut d = Decompress::new(false);
        for text in ["hello hello hello", "hello hello hello", "hello again"] {
            let mut out = Vec::with_capacity(256);
            c.compress_vec(text.as_bytes(), &mut out, FlushCompress::Sync)
                .unwrap();
            assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
            out.truncate(out.len() - 4);
            assert_eq!(inflate(&mut d, &out).unwrap(), text.as_bytes());
        }
        assert!(inflate(&mut Decompress::new(false), &[0xff, 0xff, 0xff]).is_err());
    }

    #[test]
    fn heads_are_written_out_as_on_the_wire() {
        let head = RequestHead {
            method: "GET".into(),
            uri: "wss://example.com:8443/chat?room=1".into(),
            version: "HTTP/1.1".into(),
            headers: vec![("Host".into(), "example.com:8443".into())],
        };
        assert_eq!(
            request_bytes(&head),
            b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com:8443\r\n\r\n"
        );
        let response = ResponseHead {
            status: 101,
            version: "HTTP/1.1".into(),
            headers: vec![("Upgrade".into(), "websocket".into())],
        };
        let raw = response_bytes(&response, None);
        assert_eq!(
            raw,
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"
        );
        let (back, reason) = parse_response_head(&raw).unwrap();
        assert_eq!(back, response);
        assert_eq!(reason, "Switching Protocols");
    }
}
