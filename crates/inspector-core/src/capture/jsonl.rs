//! JSON lines: [`JsonlWriter`] writes one [`CaptureLine`] per line, [`JsonlReader`] reads them
//! back, with the line number of anything it cannot read.

use std::fmt;
use std::io::{self, BufRead, Write};

use ws_tokio::tap::{TapEvent, TapKind};

use super::VERSION;
use super::record::{CaptureLine, Leg};

/// Writes tap reports as JSON lines.
#[derive(Debug)]
pub struct JsonlWriter<W: Write> {
    out: W,
    lines: u64,
    skipped: u64,
    /// Each line is made here first (one `write_all` a line), reused: no allocation per
    /// line once it has grown to the longest.
    line: Vec<u8>,
}

impl<W: Write> JsonlWriter<W> {
    /// A writer into `out` (buffer it: each line is one `write_all`).
    pub fn new(out: W) -> Self {
        Self {
            out,
            lines: 0,
            skipped: 0,
            line: Vec::new(),
        }
    }

    /// Writes the first line of a capture: its format and `generator`, the program that
    /// writes it (such as `wsi 0.1.0 connect`).
    pub fn write_header(&mut self, generator: &str) -> io::Result<()> {
        self.write_line(&CaptureLine::header(generator))
    }

    /// Writes one tap report; a kind of report this version does not know is skipped and
    /// counted in [`skipped`](Self::skipped).
    pub fn write_event(&mut self, event: &TapEvent) -> io::Result<()> {
        self.write_event_of(event, None, None)
    }

    /// Writes one tap report of connection `conn` (a listener's or relay's client) on relay
    /// leg `leg`; see [`write_event`](Self::write_event).
    pub fn write_event_of(
        &mut self,
        event: &TapEvent,
        conn: Option<u64>,
        leg: Option<Leg>,
    ) -> io::Result<()> {
        if let TapKind::Frame(frame) = &event.kind {
            return self.write_raw(|line| super::frame_line::write(line, event, frame, conn, leg));
        }
        match CaptureLine::from_tap(event) {
            Some(line) => self.write_line(&line.with_conn(conn).with_leg(leg)),
            None => {
                self.skipped += 1;
                Ok(())
            }
        }
    }

    /// Writes one line.
    pub fn write_line(&mut self, line: &CaptureLine) -> io::Result<()> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, line).map_err(io::Error::other)?;
        self.finish_line()
    }

    /// Writes the line `make` appends to an empty buffer.
    fn write_raw(&mut self, make: impl FnOnce(&mut Vec<u8>)) -> io::Result<()> {
        self.line.clear();
        make(&mut self.line);
        self.finish_line()
    }

    /// Writes the line made in the buffer, with its newline.
    fn finish_line(&mut self) -> io::Result<()> {
        self.line.push(b'\n');
        self.out.write_all(&self.line)?;
        // A huge payload's line is not kept around.
        if self.line.capacity() > 1 << 20 {
            self.line = Vec::new();
        }
        self.lines += 1;
        Ok(())
    }

    /// Lines written so far.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Reports skipped because this version does not know their kind.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// The output.
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    /// The output, to write to it directly (a recording copies what it missed into it).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Flushes the output (a recording flushes whenever it has caught up, so that a crash
    /// loses only what was still in the buffer).
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Flushes and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Reads JSON lines written by [`JsonlWriter`]; blank lines are ignored.
#[derive(Debug)]
pub struct JsonlReader<R: BufRead> {
    input: R,
    line: u64,
    buf: String,
    header: Option<CaptureLine>,
}

/// Why a capture could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// Reading failed.
    Io(io::Error),
    /// Line `line` is not a capture line.
    Invalid {
        /// The line number, from 1.
        line: u64,
        /// What is wrong, in plain words.
        reason: String,
    },
    /// Line `line` was written by a newer version of the format.
    TooNew {
        /// The line number, from 1.
        line: u64,
        /// Its version.
        version: u32,
    },
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "could not read the capture: {e}"),
            Self::Invalid { line, reason } => write!(f, "line {line}: {reason}"),
            Self::TooNew { line, version } => write!(
                f,
                "line {line}: written in capture format version {version}; this version \
                 reads up to {VERSION}"
            ),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl<R: BufRead> JsonlReader<R> {
    /// A reader of `input`.
    pub fn new(input: R) -> Self {
        Self {
            input,
            line: 0,
            buf: String::new(),
            header: None,
        }
    }

    /// The next line, or `None` at the end.
    pub fn next_line(&mut self) -> Option<Result<CaptureLine, ReadError>> {
        loop {
            self.buf.clear();
            match self.input.read_line(&mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => return Some(Err(ReadError::Io(e))),
            }
            self.line += 1;
            let text = self.buf.trim();
            if text.is_empty() {
                continue;
            }
            return Some(self.parse(text));
        }
    }

    /// The capture's first line ([`Record::Capture`](super::Record::Capture)), once
    /// [`next_event`](Self::next_event) has read past it.
    pub fn header(&self) -> Option<&CaptureLine> {
        self.header.as_ref()
    }

    /// The next line as the tap report it records, or `None` at the end. The capture's
    /// header line is kept aside ([`header`](Self::header)), not returned.
    pub fn next_event(&mut self) -> Option<Result<TapEvent, ReadError>> {
        let line = loop {
            match self.next_line()? {
                Ok(line) if matches!(line.record, super::Record::Capture { .. }) => {
                    self.header = Some(line);
                }
                Ok(line) => break line,
                Err(e) => return Some(Err(e)),
            }
        };
        Some(line.to_tap().map_err(|reason| ReadError::Invalid {
            line: self.line,
            reason,
        }))
    }

    fn parse(&self, text: &str) -> Result<CaptureLine, ReadError> {
        // The version first, so that a newer line is reported as such, not as invalid.
        #[derive(serde::Deserialize)]
        struct Versioned {
            v: u32,
        }
        let invalid = |e: serde_json::Error| ReadError::Invalid {
            line: self.line,
            reason: e.to_string(),
        };
        let Versioned { v } = serde_json::from_str(text).map_err(invalid)?;
        if v > VERSION {
            return Err(ReadError::TooNew {
                line: self.line,
                version: v,
            });
        }
        serde_json::from_str(text).map_err(invalid)
    }
}

impl<R: BufRead> Iterator for JsonlReader<R> {
    type Item = Result<TapEvent, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_event()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use bytes::Bytes;
    use ws_tokio::tap::{Initiator, TapKind};
    use ws_tokio::tls::CertificateInfo;
    use ws_tokio::ws_proto::http::{Request, Response, StatusCode};
    use ws_tokio::ws_proto::{CloseCode, Direction, Frame, FrameHeader, OpCode, ReadyState};
    use ws_tokio::{Message, TlsInfo};

    use super::*;
    use crate::capture::Record;

    fn at(n: u64, kind: TapKind) -> TapEvent {
        TapEvent {
            time: SystemTime::UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789 + n),
            elapsed: Duration::from_nanos(1_000 * n + 7),
            kind,
        }
    }

    /// A client session's reports, one of each kind with every field set.
    fn session() -> Vec<TapEvent> {
        let request = Request::builder()
            .uri("ws://example.com/chat?x=1")
            .header("host", "example.com")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("x-twice", "1")
            .header("x-twice", "2")
            .body(())
            .unwrap();
        let response = Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header("upgrade", "websocket")
            .header("sec-websocket-protocol", "chat")
            .body(())
            .unwrap();
        let refused = Response::builder().status(403).body(()).unwrap();
        let mut masked = FrameHeader::new(OpCode::Text, 5);
        masked.fin = false;
        masked.rsv1 = true;
        masked.mask = Some([0x37, 0xfa, 0x21, 0x3d]);
        let mut reserved = FrameHeader::new(OpCode::from_bits(0xB), 0);
        reserved.rsv2 = true;
        reserved.rsv3 = true;
        let kinds = vec![
            TapKind::State(ReadyState::Connecting),
            TapKind::TcpConnected {
                local: "127.0.0.1:50000".parse().unwrap(),
                peer: "[::1]:443".parse().unwrap(),
                proxy: Some("proxy.example:3128".into()),
            },
            TapKind::TlsEstablished(Box::new(TlsInfo {
                version: "TLSv1.3".into(),
                cipher_suite: "TLS13_AES_128_GCM_SHA256".into(),
                alpn: Some("http/1.1".into()),
                server_name: "example.com".into(),
                peer_certificates: vec![CertificateInfo {
                    der: vec![0x30, 0x82, 0x01, 0x00, 0xff],
                    subject: "CN=example.com".into(),
                    issuer: "CN=Test CA".into(),
                    not_before: "2026-11-24 04:12:00 UTC".into(),
                    not_after: "2027-11-24 04:12:00 UTC".into(),
                    subject_alt_names: vec!["DNS:example.com".into(), "IP:127.0.0.1".into()],
                }],
            })),
            TapKind::RequestSent {
                request: Box::new(request.clone()),
                raw: Bytes::from_static(b"GET /chat?x=1 HTTP/1.1\r\nhost: example.com\r\n\r\n"),
            },
            TapKind::ResponseReceived {
                response: Box::new(response),
                raw: Bytes::from_static(b"HTTP/1.1 101 Switching Protocols\r\n\r\n"),
            },
            TapKind::RequestReceived {
                request: Box::new(request),
                raw: Bytes::from_static(b"GET / HTTP/1.1\r\n\r\n"),
            },
            TapKind::ResponseSent {
                raw: Bytes::from_static(b"HTTP/1.1 101 Switching Protocols\r\n\r\n"),
            },
            TapKind::State(ReadyState::Open),
            TapKind::Frame(Frame {
                direction: Direction::Outgoing,
                header: masked,
                payload: Bytes::from_static(&[0xf2, 0x48, 0xcd, 0xc9, 0x00]),
                decompressed_len: Some(11),
                message: Some(ws_tokio::ws_proto::MessagePosition {
                    number: 3,
                    fragment: ws_tokio::ws_proto::Fragment::First,
                    kind: Some(ws_tokio::ws_proto::MessageKind::Text),
                    offset: 0,
                }),
            }),
            TapKind::Frame(Frame {
                direction: Direction::Incoming,
                header: reserved,
                payload: Bytes::new(),
                decompressed_len: None,
                message: None,
            }),
            TapKind::Inflated(Message::Text("hello world".into())),
            TapKind::Inflated(Message::Binary(Bytes::from_static(&[0, 1, 255]))),
            TapKind::Inflated(Message::Ping(Bytes::from_static(b"p"))),
            TapKind::Inflated(Message::Pong(Bytes::new())),
            TapKind::Inflated(Message::Close(ws_tokio::ws_proto::CloseFrame {
                code: Some(CloseCode::GOING_AWAY),
                reason: "bye".into(),
            })),
            TapKind::Error("something in plain words".into()),
            TapKind::Opened(Box::new(ws_tokio::HandshakeInfo {
                request: ws_tokio::ws_proto::http::Request::builder()
                    .uri("ws://127.0.0.1:9/chat")
                    .header("sec-websocket-protocol", "chat")
                    .body(())
                    .unwrap(),
                response: ws_tokio::ws_proto::http::Response::builder()
                    .status(101)
                    .header("sec-websocket-protocol", "chat")
                    .body(())
                    .unwrap(),
                protocol: Some("chat".into()),
                extensions: vec!["permessage-deflate; server_no_context_takeover".into()],
                deflate: ws_tokio::ws_proto::DeflateParams::parse_response(
                    "permessage-deflate; server_no_context_takeover",
                )
                .ok(),
                tls: None,
                local_addr: "127.0.0.1:5000".parse().ok(),
                peer_addr: "127.0.0.1:9".parse().ok(),
            })),
            TapKind::HandshakeFailed {
                reason: "refused".into(),
                response: Some(Box::new(refused)),
                body: Some(Bytes::from_static(b"no")),
            },
            TapKind::HandshakeFailed {
                reason: "timed out".into(),
                response: None,
                body: None,
            },
            TapKind::Closed {
                code: CloseCode::NORMAL,
                reason: "done".into(),
                initiator: Initiator::Remote,
                clean: true,
            },
            TapKind::State(ReadyState::Closed),
        ];
        kinds
            .into_iter()
            .enumerate()
            .map(|(n, kind)| at(n as u64, kind))
            .collect()
    }

    fn write(events: &[TapEvent]) -> Vec<u8> {
        let mut writer = JsonlWriter::new(Vec::new());
        for event in events {
            writer.write_event(event).unwrap();
        }
        assert_eq!(writer.skipped(), 0);
        assert_eq!(writer.lines(), events.len() as u64);
        writer.finish().unwrap()
    }

    #[test]
    fn a_session_round_trips_losslessly() {
        let events = session();
        let text = write(&events);
        let read: Vec<TapEvent> = JsonlReader::new(&text[..]).map(Result::unwrap).collect();
        assert_eq!(read.len(), events.len());
        for (original, back) in events.iter().zip(&read) {
            // Requests and responses have no PartialEq: compare what Debug shows of them,
            // and the times exactly.
            assert_eq!(original.time, back.time);
            assert_eq!(original.elapsed, back.elapsed);
            assert_eq!(format!("{:?}", original.kind), format!("{:?}", back.kind));
        }
        // Written again, the lines are the same bytes.
        assert_eq!(write(&read), text);
    }

    #[test]
    fn the_header_line_is_kept_aside() {
        let mut writer = JsonlWriter::new(Vec::new());
        writer.write_header("test 1").unwrap();
        writer.write_event(&session()[0]).unwrap();
        let text = writer.finish().unwrap();
        let mut reader = JsonlReader::new(&text[..]);
        assert!(matches!(
            reader.next().unwrap().unwrap().kind,
            TapKind::State(ReadyState::Connecting)
        ));
        assert!(reader.next().is_none());
        let header = reader.header().expect("the header line");
        assert!(matches!(
            &header.record,
            Record::Capture { format, generator } if format == crate::capture::FORMAT && generator == "test 1"
        ));
    }

    #[test]
    fn every_kind_is_listed() {
        let text = String::from_utf8(write(&session())).unwrap();
        let mut header = JsonlWriter::new(Vec::new());
        header.write_header("x").unwrap();
        let header = String::from_utf8(header.finish().unwrap()).unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for line in header.lines().chain(text.lines()) {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            let kind = value["record"]["kind"].as_str().unwrap().to_owned();
            assert!(
                Record::KINDS.contains(&kind.as_str()),
                "{kind} is not in Record::KINDS"
            );
            seen.insert(kind);
        }
        assert_eq!(
            seen.len(),
            Record::KINDS.len(),
            "the test session lacks a kind"
        );
    }

    #[test]
    fn frames_keep_every_bit_in_readable_json() {
        let events = session();
        let text = String::from_utf8(write(&events)).unwrap();
        let frame = text.lines().find(|l| l.contains("\"frame\"")).unwrap();
        let value: serde_json::Value = serde_json::from_str(frame).unwrap();
        assert_eq!(value["v"], 1);
        assert_eq!(value["time"], "2023-11-14T22:13:20.123456797Z");
        assert!(value.get("conn").is_none() && value.get("leg").is_none());
        let record = &value["record"];
        assert_eq!(record["kind"], "frame");
        assert_eq!(record["mask"], "37fa213d");
        assert_eq!(record["rsv1"], true);
        assert_eq!(record["fin"], false);
        assert_eq!(record["opcode"], 1);
        assert_eq!(record["payload"], "8kjNyQA=");
        assert_eq!(record["decompressed_len"], 11);
        assert_eq!(
            record["message"],
            serde_json::json!({"number": 3, "fragment": "first", "type": "text", "offset": 0})
        );
        let line: CaptureLine = serde_json::from_str(frame).unwrap();
        assert!(matches!(line.record, Record::Frame(ref f) if !f.incoming));
        // A frame without a position (the reserved one) has no `message` field at all.
        let bare = text
            .lines()
            .filter(|l| l.contains("\"frame\""))
            .nth(1)
            .unwrap();
        assert!(!bare.contains("\"message\""), "{bare}");
    }

    #[test]
    fn a_frame_line_written_before_positions_reads_with_none() {
        let old = b"{\"v\":1,\"time_ns\":0,\"elapsed_ns\":0,\"record\":{\"kind\":\"frame\",\"incoming\":true,\"fin\":true,\"rsv1\":false,\"rsv2\":false,\"rsv3\":false,\"opcode\":1,\"mask\":null,\"payload_len\":2,\"payload\":\"aGk=\",\"decompressed_len\":null}}\n";
        match JsonlReader::new(&old[..]).next() {
            Some(Ok(TapEvent {
                kind: TapKind::Frame(frame),
                ..
            })) => {
                assert_eq!(&frame.payload[..], b"hi");
                assert_eq!(frame.message, None);
            }
            other => panic!("expected the frame, got {other:?}"),
        }
    }

    #[test]
    fn unreadable_and_newer_lines_are_reported_with_their_number() {
        let mut text = write(&session()[..2]);
        text.extend_from_slice(b"\n{\"v\":1,\"nonsense\":true}\n");
        let mut reader = JsonlReader::new(&text[..]);
        assert!(reader.next().unwrap().is_ok());
        assert!(reader.next().unwrap().is_ok());
        match reader.next() {
            Some(Err(ReadError::Invalid { line: 4, .. })) => {}
            other => panic!("expected line 4 to be invalid, got {other:?}"),
        }
        let newer = b"{\"v\":2,\"time_ns\":0,\"elapsed_ns\":0,\"record\":{\"kind\":\"new\"}}\n";
        match JsonlReader::new(&newer[..]).next() {
            Some(Err(
                e @ ReadError::TooNew {
                    line: 1,
                    version: 2,
                },
            )) => {
                assert!(e.to_string().contains("version 2"), "{e}");
            }
            other => panic!("expected a version error, got {other:?}"),
        }
        let bad_mask = b"{\"v\":1,\"time_ns\":0,\"elapsed_ns\":0,\"record\":{\"kind\":\"frame\",\"incoming\":true,\"fin\":true,\"rsv1\":false,\"rsv2\":false,\"rsv3\":false,\"opcode\":1,\"mask\":\"xyz\",\"payload_len\":0,\"payload\":\"\",\"decompressed_len\":null}}\n";
        assert!(matches!(
            JsonlReader::new(&bad_mask[..]).next(),
            Some(Err(ReadError::Invalid { line: 1, .. }))
        ));
        let bad_state = b"{\"v\":1,\"time_ns\":0,\"elapsed_ns\":0,\"record\":{\"kind\":\"state\",\"ready_state\":9}}\n";
        assert!(matches!(
            JsonlReader::new(&bad_state[..]).next(),
            Some(Err(ReadError::Invalid { line: 1, .. }))
        ));
    }
}
