//! [`Secrets`]: the values of secret variables, masked in what a capture records — frame
//! payloads, the plain content of messages, the raw handshake bytes, request and response
//! header values, the request URI, error and close texts — before a line is written
//! ([`Secrets::mask_line`]).
//!
//! A secret is replaced by [`MASK`] (`••••`), except in a request head's URI, where the
//! percent-encoding of it keeps the URI valid (a masked capture still loads). Each secret
//! is also looked for in its percent-encoded form (a token in a query string).
//!
//! What a line-by-line mask cannot see, and so does not mask:
//!
//! - a compressed message (permessage-deflate, off unless a profile offers it): its frames
//!   carry the deflated bytes as on the wire, in which a secret does not appear as such
//!   (the plain content of a compressed message *received*, its `inflated` line, is masked);
//! - a secret split across two frames of a fragmented message.
//!
//! A masked frame's `payload_len` is set to the masked payload's length, so the line stays
//! consistent for readers that check it. Every occurrence of a secret is masked, wherever it
//! is: a very short secret (`a`) masks much more than the secret.

use std::borrow::Cow;
use std::fmt;

use super::record::{CaptureLine, FrameRecord, MessageRecord, Record, RequestHead, ResponseHead};
use crate::vars::{MASK, Variables};

/// [`MASK`] percent-encoded, for a URI.
const URI_MASK: &str = "%E2%80%A2%E2%80%A2%E2%80%A2%E2%80%A2";

/// The secret values to mask, longest first (where two overlap, the longer is masked).
/// Its `Debug` output shows how many there are, never what they are.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    /// Each secret, and its percent-encoded form where that differs; non-empty, longest
    /// first, no duplicates.
    texts: Vec<String>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets({} forms)", self.texts.len())
    }
}

impl Secrets {
    /// These secret values (empty ones are ignored).
    pub fn new<S: AsRef<str>>(values: impl IntoIterator<Item = S>) -> Self {
        let mut texts = Vec::new();
        for value in values {
            let value = value.as_ref();
            if value.is_empty() {
                continue;
            }
            let encoded: String = url::form_urlencoded::byte_serialize(value.as_bytes())
                .collect::<String>()
                .replace('+', "%20");
            if encoded != value {
                texts.push(encoded);
            }
            texts.push(value.to_owned());
        }
        texts.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        texts.dedup();
        Self { texts }
    }

    /// The values of the secret variables of `vars`.
    pub fn of(vars: &Variables) -> Self {
        Self::new(
            vars.iter()
                .filter(|(_, value)| value.secret)
                .map(|(_, value)| value.text.as_str()),
        )
    }

    /// Whether there is nothing to mask.
    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }

    /// `text` with every secret replaced by [`MASK`].
    pub fn mask_str<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.mask_str_with(text, MASK)
    }

    /// `bytes` with every secret's UTF-8 bytes replaced by those of [`MASK`].
    pub fn mask_bytes<'a>(&self, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        self.mask_bytes_with(bytes, MASK.as_bytes())
    }

    /// Masks every secret in `line`, in place; returns whether anything was masked. See
    /// the [module](self) for what is masked and what cannot be.
    pub fn mask_line(&self, line: &mut CaptureLine) -> bool {
        if self.is_empty() {
            return false;
        }
        let mut masked = false;
        let mut text = |s: &mut String| masked |= self.replace_str(s, MASK);
        match &mut line.record {
            Record::Capture { .. }
            | Record::State { .. }
            | Record::TcpConnected { .. }
            | Record::TlsEstablished(_) => {}
            Record::RequestSent { head, raw } | Record::RequestReceived { head, raw } => {
                masked |= self.request_head(head);
                masked |= self.replace_bytes(raw);
            }
            Record::ResponseReceived { head, raw } => {
                masked |= self.response_head(head);
                masked |= self.replace_bytes(raw);
            }
            Record::ResponseSent { raw } => masked |= self.replace_bytes(raw),
            Record::HandshakeFailed {
                reason,
                response,
                body,
            } => {
                text(reason);
                if let Some(head) = response {
                    masked |= self.response_head(head);
                }
                if let Some(body) = body {
                    masked |= self.replace_bytes(body);
                }
            }
            Record::Frame(frame) => masked |= self.frame(frame),
            Record::Inflated(message) => masked |= self.message(message),
            Record::Opened(opened) => {
                masked |= self.request_head(&mut opened.request);
                masked |= self.response_head(&mut opened.response);
            }
            Record::Closed { reason, .. } => text(reason),
            Record::Error { message } => text(message),
        }
        masked
    }

    // --- internals ----------------------------------------------------------------------------

    fn frame(&self, frame: &mut FrameRecord) -> bool {
        if !self.replace_bytes(&mut frame.payload) {
            return false;
        }
        frame.payload_len = frame.payload.len() as u64;
        true
    }

    fn message(&self, message: &mut MessageRecord) -> bool {
        match message {
            MessageRecord::Text { text } => self.replace_str(text, MASK),
            MessageRecord::Binary { data }
            | MessageRecord::Ping { data }
            | MessageRecord::Pong { data } => self.replace_bytes(data),
            MessageRecord::Close { reason, .. } => self.replace_str(reason, MASK),
        }
    }

    fn request_head(&self, head: &mut RequestHead) -> bool {
        let mut masked = self.replace_str(&mut head.uri, URI_MASK);
        for (_, value) in &mut head.headers {
            masked |= self.replace_str(value, MASK);
        }
        masked
    }

    fn response_head(&self, head: &mut ResponseHead) -> bool {
        let mut masked = false;
        for (_, value) in &mut head.headers {
            masked |= self.replace_str(value, MASK);
        }
        masked
    }

    fn replace_str(&self, text: &mut String, mask: &str) -> bool {
        match self.mask_str_with(text, mask) {
            Cow::Borrowed(_) => false,
            Cow::Owned(masked) => {
                *text = masked;
                true
            }
        }
    }

    fn replace_bytes(&self, bytes: &mut Vec<u8>) -> bool {
        match self.mask_bytes_with(bytes, MASK.as_bytes()) {
            Cow::Borrowed(_) => false,
            Cow::Owned(masked) => {
                *bytes = masked;
                true
            }
        }
    }

    fn mask_str_with<'a>(&self, text: &'a str, mask: &str) -> Cow<'a, str> {
        match self.mask_bytes_with(text.as_bytes(), mask.as_bytes()) {
            Cow::Borrowed(_) => Cow::Borrowed(text),
            // A secret is whole UTF-8 and so is the mask: UTF-8 being self-synchronising,
            // a match of valid UTF-8 inside valid UTF-8 starts and ends on character
            // boundaries, and what is left is valid UTF-8.
            Cow::Owned(bytes) => Cow::Owned(
                String::from_utf8(bytes)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
            ),
        }
    }

    fn mask_bytes_with<'a>(&self, bytes: &'a [u8], mask: &[u8]) -> Cow<'a, [u8]> {
        let Some(first) = self.find(bytes, 0) else {
            return Cow::Borrowed(bytes);
        };
        let mut out = Vec::with_capacity(bytes.len());
        let mut at = 0;
        let mut next = Some(first);
        while let Some((start, len)) = next {
            out.extend_from_slice(&bytes[at..start]);
            out.extend_from_slice(mask);
            at = start + len;
            next = self.find(bytes, at);
        }
        out.extend_from_slice(&bytes[at..]);
        Cow::Owned(out)
    }

    /// The first secret at or after `from`: its start and length (the longest secret
    /// starting there).
    fn find(&self, bytes: &[u8], from: usize) -> Option<(usize, usize)> {
        (from..bytes.len()).find_map(|i| {
            let rest = &bytes[i..];
            self.texts
                .iter()
                .find(|secret| rest.starts_with(secret.as_bytes()))
                .map(|secret| (i, secret.len()))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::time::{Duration, SystemTime};

    use bytes::Bytes;
    use ws_tokio::tap::{TapEvent, TapKind};
    use ws_tokio::ws_proto::http::{Request, Response};
    use ws_tokio::ws_proto::{Direction, Frame, FrameHeader, OpCode};

    use super::*;
    use crate::capture::{JsonlReader, JsonlWriter};
    use crate::vars::Value;

    fn secrets() -> Secrets {
        Secrets::new(["s3cr3t", "", "pa ss/word", "s3cr3t"])
    }

    fn line(kind: TapKind) -> CaptureLine {
        CaptureLine::from_tap(&TapEvent {
            time: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            elapsed: Duration::from_millis(5),
            kind,
        })
        .unwrap()
    }

    fn frame(direction: Direction, opcode: OpCode, payload: &[u8]) -> TapKind {
        let mut header = FrameHeader::new(opcode, payload.len() as u64);
        if direction == Direction::Outgoing {
            header.mask = Some([1, 2, 3, 4]);
        }
        TapKind::Frame(Frame {
            direction,
            header,
            payload: Bytes::copy_from_slice(payload),
            decompressed_len: None,
            message: None,
        })
    }

    #[test]
    fn texts_and_bytes() {
        let secrets = secrets();
        assert_eq!(
            secrets.mask_str("a s3cr3t b s3cr3ts3cr3t"),
            "a •••• b ••••••••"
        );
        assert!(matches!(secrets.mask_str("nothing here"), Cow::Borrowed(_)));
        assert_eq!(
            secrets.mask_str("pa ss/word and pa%20ss%2Fword"),
            "•••• and ••••"
        );
        assert_eq!(
            secrets.mask_bytes(b"\x00s3cr3t\xff").as_ref(),
            b"\x00\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2\xff"
        );
        // The longer of two overlapping secrets wins.
        let overlapping = Secrets::new(["abc", "abcdef"]);
        assert_eq!(overlapping.mask_str("xabcdefabc"), "x••••••••");
        assert!(Secrets::new([""; 0]).is_empty());
        assert!(Secrets::default().mask_str("s3cr3t") == "s3cr3t");
        // Debug never shows them.
        assert!(!format!("{secrets:?}").contains("s3cr3t"));
        // From a connection's variables: only the secret ones.
        let mut vars = Variables::new();
        vars.set("token", Value::secret("tok")).unwrap();
        vars.set("user", Value::plain("ada")).unwrap();
        assert_eq!(Secrets::of(&vars).mask_str("tok ada"), "•••• ada");
    }

    #[test]
    fn frames_both_ways_with_their_length() {
        let secrets = secrets();
        for direction in [Direction::Outgoing, Direction::Incoming] {
            let mut line = line(frame(direction, OpCode::Text, b"{\"t\":\"s3cr3t\"}"));
            assert!(secrets.mask_line(&mut line));
            let Record::Frame(record) = &line.record else {
                panic!("{line:?}");
            };
            assert_eq!(record.payload, "{\"t\":\"••••\"}".as_bytes());
            assert_eq!(record.payload_len, record.payload.len() as u64);
            // Still a frame a reader takes back.
            assert_eq!(line.to_tap().map(|_| ()), Ok(()));
        }
        let mut untouched = line(frame(Direction::Outgoing, OpCode::Binary, b"plain"));
        let before = untouched.clone();
        assert!(!secrets.mask_line(&mut untouched));
        assert_eq!(untouched, before);
        let mut close = line(frame(Direction::Incoming, OpCode::Close, b"\x03\xe8s3cr3t"));
        assert!(secrets.mask_line(&mut close));
    }

    #[test]
    fn handshake_bytes_heads_and_texts() {
        let secrets = secrets();
        let request = Request::builder()
            .uri("/chat?token=s3cr3t&u=pa%20ss%2Fword")
            .header("authorization", "Bearer s3cr3t")
            .header("x-plain", "ok")
            .body(())
            .unwrap();
        let raw = Bytes::from(
            "GET /chat?token=s3cr3t&u=pa%20ss%2Fword HTTP/1.1\r\nauthorization: Bearer s3cr3t\r\n\r\n",
        );
        let mut sent = line(TapKind::RequestSent {
            request: Box::new(request),
            raw,
        });
        assert!(secrets.mask_line(&mut sent));
        let Record::RequestSent { head, raw } = &sent.record else {
            panic!("{sent:?}");
        };
        assert_eq!(head.uri, format!("/chat?token={URI_MASK}&u={URI_MASK}"));
        assert_eq!(
            head.headers,
            [
                ("authorization".to_owned(), "Bearer ••••".to_owned()),
                ("x-plain".to_owned(), "ok".to_owned())
            ]
        );
        let raw = String::from_utf8(raw.clone()).unwrap();
        assert!(
            !raw.contains("s3cr3t") && !raw.contains("ss%2Fword"),
            "{raw}"
        );
        assert!(raw.contains("Bearer ••••"), "{raw}");
        // The masked head is still a valid request: the capture loads.
        assert!(sent.to_tap().is_ok(), "{:?}", sent.to_tap());

        let response = Response::builder()
            .status(403)
            .header("x-echo", "s3cr3t")
            .body(())
            .unwrap();
        let mut failed = line(TapKind::HandshakeFailed {
            reason: "refused s3cr3t".into(),
            response: Some(Box::new(response)),
            body: Some(Bytes::from_static(b"bad token s3cr3t")),
        });
        assert!(secrets.mask_line(&mut failed));
        let Record::HandshakeFailed {
            reason,
            response,
            body,
        } = &failed.record
        else {
            panic!("{failed:?}");
        };
        assert_eq!(reason, "refused ••••");
        assert_eq!(
            response.as_ref().unwrap().headers,
            [("x-echo".to_owned(), "••••".to_owned())]
        );
        assert_eq!(body.as_deref(), Some("bad token ••••".as_bytes()));
        assert!(failed.to_tap().is_ok());

        let mut error = line(TapKind::Error("could not send s3cr3t".into()));
        assert!(secrets.mask_line(&mut error));
        assert_eq!(
            error.record,
            Record::Error {
                message: "could not send ••••".into()
            }
        );
        let mut state = line(TapKind::State(ws_tokio::ws_proto::ReadyState::Open));
        assert!(!secrets.mask_line(&mut state));
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let mut tcp = line(TapKind::TcpConnected {
            local: peer,
            peer,
            proxy: None,
        });
        assert!(!secrets.mask_line(&mut tcp));
    }

    #[test]
    fn a_masked_capture_has_no_secret_and_reads_back() {
        let secrets = secrets();
        let mut writer = JsonlWriter::new(Vec::new());
        let kinds = [
            frame(Direction::Outgoing, OpCode::Text, b"login s3cr3t"),
            frame(Direction::Incoming, OpCode::Text, b"welcome, s3cr3t"),
            frame(Direction::Outgoing, OpCode::Ping, b"s3cr3t"),
        ];
        for kind in kinds {
            let mut line = line(kind);
            assert!(secrets.mask_line(&mut line));
            writer.write_line(&line).unwrap();
        }
        let out = writer.finish().unwrap();
        // Payloads are base64 in the file: look at them as a reader gets them back.
        let mut reader = JsonlReader::new(out.as_slice());
        let mut payloads = Vec::new();
        while let Some(event) = reader.next_event() {
            let TapKind::Frame(frame) = event.unwrap().kind else {
                panic!("only frames were written");
            };
            payloads.push(String::from_utf8(frame.payload.to_vec()).unwrap());
        }
        assert_eq!(payloads, ["login ••••", "welcome, ••••", "••••"]);
    }
}
