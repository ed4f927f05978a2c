//! Arbitrary bytes, split into arbitrary chunks and interleaved with commands, into a
//! `Connection` of either role at any stage: a fresh server, a fresh client, a client after a
//! valid 101, a server after `accept`, and connections built with `Connection::open` — with
//! and without permessage-deflate agreed (so compressed input, bombs included, is fuzzed too).
//!
//! Besides "never panics", it checks what the engine promises:
//! - a protocol error leaves the state Closed, is the recorded fault, and — unless a close was
//!   sent before — queues a close frame carrying exactly that error's close code;
//! - every byte the connection writes after the HTTP head is a well-formed frame, masked by a
//!   client and unmasked by a server, control payloads at most 125 bytes, close codes valid on
//!   the wire, and nothing at all after a close frame;
//! - a command that fails writes nothing;
//! - no message is larger than `max_message_size`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws_proto::bytes::BytesMut;
use ws_proto::frame::{Decoded, apply_mask};
use ws_proto::http::StatusCode;
use ws_proto::{
    CloseCode, Config, Connection, Error, Event, FixedMask, FrameHeader, MessageKind, Negotiated,
    OpCode, ReadyState, Role, handshake,
};

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// Checks everything a connection writes.
struct Wire {
    role: Role,
    /// A server's output starts with an HTTP head; a client's request is drained at start.
    in_http_head: bool,
    /// A non-101 answer was written: nothing may follow.
    http_final: bool,
    buf: Vec<u8>,
    close_seen: bool,
}

impl Wire {
    fn new(role: Role, expects_head: bool) -> Self {
        Self {
            role,
            in_http_head: expects_head,
            http_final: false,
            buf: Vec::new(),
            close_seen: false,
        }
    }

    fn take(&mut self, conn: &mut Connection) {
        let mut out = BytesMut::new();
        conn.poll_transmit(&mut out);
        if out.is_empty() {
            return;
        }
        assert!(!self.http_final, "bytes written after a refusal");
        self.buf.extend_from_slice(&out);
        if self.in_http_head {
            let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                panic!("an incomplete HTTP head was written");
            };
            assert!(self.buf.starts_with(b"HTTP/1.1 "), "not an HTTP response");
            let switching = self.buf.starts_with(b"HTTP/1.1 101 ");
            self.buf.drain(..end + 4);
            self.in_http_head = false;
            if !switching {
                // The body follows; nothing after it.
                self.http_final = true;
                self.buf.clear();
                return;
            }
        }
        while !self.buf.is_empty() {
            assert!(!self.close_seen, "bytes written after a close frame");
            let (header, header_len) = match FrameHeader::decode(&self.buf) {
                Decoded::Header(h, n) => (h, n),
                other => panic!("incomplete or invalid frame written: {other:?}"),
            };
            let len = header.payload_len as usize;
            assert!(
                self.buf.len() >= header_len + len,
                "a partial frame was written"
            );
            assert_eq!(
                header.mask.is_some(),
                self.role == Role::Client,
                "masking by role"
            );
            let mut payload = self.buf[header_len..header_len + len].to_vec();
            if let Some(key) = header.mask {
                apply_mask(&mut payload, key, 0);
            }
            if header.opcode.is_control() {
                assert!(header.fin && len <= 125, "bad control frame written");
            }
            if header.opcode == OpCode::Close {
                assert_ne!(len, 1, "one-byte close payload written");
                if len >= 2 {
                    let code = CloseCode(u16::from_be_bytes([payload[0], payload[1]]));
                    assert!(code.is_valid_on_wire(), "close code {code} written");
                    assert!(
                        std::str::from_utf8(&payload[2..]).is_ok(),
                        "bad close reason"
                    );
                }
                self.close_seen = true;
            }
            self.buf.drain(..header_len + len);
        }
    }

    fn last_close_code(&self) -> bool {
        self.close_seen
    }
}

struct Harness {
    conn: Connection,
    wire: Wire,
    max_message: usize,
    /// A server's upgrade request, waiting for `accept` or `reject`.
    request: Option<Box<ws_proto::Requested>>,
}

impl Harness {
    fn drain(&mut self) {
        self.wire.take(&mut self.conn);
        while let Some(event) = self.conn.poll_event() {
            match event {
                Event::Text(t) => assert!(t.len() <= self.max_message),
                Event::Binary(b) => assert!(b.len() <= self.max_message),
                Event::Ping(p) | Event::Pong(p) => assert!(p.len() <= 125),
                Event::Request(req) => self.request = Some(req),
                Event::Close(c) => {
                    if let Some(code) = c.code {
                        assert!(code.is_valid_on_wire());
                    }
                }
                _ => {}
            }
        }
    }

    /// Feeds input and checks the result against the connection's promises.
    fn input(&mut self, eof: bool, data: &[u8]) {
        let close_sent_before = self.conn.close_sent().is_some();
        let result = if eof {
            self.conn.receive_eof()
        } else {
            self.conn.receive_data(data)
        };
        match &result {
            Ok(()) => {}
            Err(Error::Protocol(e)) => {
                assert_eq!(self.conn.state(), ReadyState::Closed);
                assert_eq!(self.conn.fault(), Some(e));
                let code = e.close_code();
                if code != CloseCode::ABNORMAL && !close_sent_before {
                    let sent = self.conn.close_sent().expect("a close frame was sent");
                    assert_eq!(sent.code, Some(code));
                }
            }
            Err(Error::Handshake(_)) => assert_eq!(self.conn.state(), ReadyState::Closed),
            Err(e) => panic!("unexpected error from input: {e:?}"),
        }
        if eof {
            assert_eq!(self.conn.state(), ReadyState::Closed);
        }
        if matches!(result, Err(Error::Protocol(ref e)) if e.close_code() != CloseCode::ABNORMAL)
            && !close_sent_before
        {
            self.wire.take(&mut self.conn);
            assert!(
                self.wire.last_close_code(),
                "no close frame after a protocol error"
            );
        }
        self.drain();
    }

    fn command(&mut self, which: u8, data: &[u8]) {
        let before = self.conn.pending_output();
        let text = String::from_utf8_lossy(data);
        let small = &data[..data.len().min(125)];
        let ok = match which % 10 {
            0 => self.conn.send_text(&text).is_ok(),
            1 => self.conn.send_binary(data).is_ok(),
            2 => self.conn.send_ping(small).is_ok(),
            3 => self.conn.send_pong(data).is_ok(),
            4 => {
                let code = CloseCode(u16::from(which).wrapping_mul(997).wrapping_add(1000));
                self.conn.send_close(Some(code), "bye").is_ok()
            }
            5 => self
                .conn
                .send_fragment(MessageKind::Text, data, which & 0x10 != 0)
                .is_ok(),
            6 => self
                .conn
                .send_fragment(MessageKind::Binary, data, which & 0x10 != 0)
                .is_ok(),
            7 => {
                self.conn.fail(CloseCode(u16::from(which) * 50), &text);
                assert_eq!(self.conn.state(), ReadyState::Closed);
                true
            }
            8 => {
                if let Some(req) = self.request.take() {
                    let response = handshake::accept_response(&req.upgrade, None);
                    let _ = self.conn.accept(response);
                }
                true
            }
            _ => self.conn.reject(StatusCode::FORBIDDEN, data).is_ok(),
        };
        if !ok {
            assert_eq!(
                self.conn.pending_output(),
                before,
                "a failed command wrote bytes"
            );
        }
        self.drain();
    }
}

fn client(config: Config) -> Connection {
    let request = handshake::client_request("ws://example.com/chat", KEY, &Default::default())
        .expect("a valid URL");
    let mut conn = Connection::client(request, config);
    conn.set_mask_source(Box::new(FixedMask([0x37, 0xfa, 0x21, 0x3d])));
    conn
}

fn deflate(answer: &str) -> Negotiated {
    Negotiated {
        protocol: None,
        extensions: vec![answer.to_owned()],
    }
}

fn setup(scenario: u8, config: Config) -> Harness {
    let max_message = config.max_message_size;
    let (conn, wire) = match scenario % 8 {
        // A fresh server.
        0 => (Connection::server(config), Wire::new(Role::Server, true)),
        // A fresh client, its request drained.
        1 => {
            let mut conn = client(config);
            conn.poll_transmit(&mut BytesMut::new());
            (conn, Wire::new(Role::Client, false))
        }
        // A client after a valid 101.
        2 => {
            let mut conn = client(config);
            conn.poll_transmit(&mut BytesMut::new());
            let response = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                 Connection: Upgrade\r\nSec-WebSocket-Accept: {ACCEPT}\r\n\r\n"
            );
            conn.receive_data(response.as_bytes()).expect("a valid 101");
            assert_eq!(conn.state(), ReadyState::Open);
            (conn, Wire::new(Role::Client, false))
        }
        // A server after a valid request and accept.
        3 => {
            let mut conn = Connection::server(config);
            let mut c = client(Config::default());
            let mut request = BytesMut::new();
            c.poll_transmit(&mut request);
            conn.receive_data(&request).expect("a valid request");
            let Some(Event::Request(req)) = conn.poll_event() else {
                panic!("no request event");
            };
            conn.accept(handshake::accept_response(&req.upgrade, None))
                .expect("accept");
            (conn, Wire::new(Role::Server, true))
        }
        4 => (
            Connection::open(Role::Server, config, Negotiated::default()),
            Wire::new(Role::Server, false),
        ),
        // permessage-deflate agreed: a server, and a client limited to an 8-bit window.
        6 => (
            Connection::open(Role::Server, config, deflate("permessage-deflate")),
            Wire::new(Role::Server, false),
        ),
        7 => {
            let agreed =
                deflate("permessage-deflate; server_no_context_takeover; client_max_window_bits=8");
            let mut conn = Connection::open(Role::Client, config, agreed);
            conn.set_mask_source(Box::new(FixedMask([1, 2, 3, 4])));
            (conn, Wire::new(Role::Client, false))
        }
        _ => {
            let mut conn = Connection::open(Role::Client, config, Negotiated::default());
            conn.set_mask_source(Box::new(FixedMask([1, 2, 3, 4])));
            (conn, Wire::new(Role::Client, false))
        }
    };
    let mut h = Harness {
        conn,
        wire,
        max_message,
        request: None,
    };
    h.drain();
    h
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, mut rest)) = data.split_first() else {
        return;
    };
    let mut config = Config::default();
    config.auto_pong = first & 0x08 == 0;
    config.auto_close_reply = first & 0x10 == 0;
    config.report_frames = first & 0x20 != 0;
    config.pause_after_message = first & 0x80 != 0;
    if first & 0x40 != 0 {
        config.max_frame_size = 100;
        config.max_message_size = 300;
        config.max_fragments = 5;
        config.handshake_limits.max_head_size = 300;
        config.handshake_limits.max_headers = 8;
        config.handshake_limits.max_line_len = 120;
        config.handshake_limits.max_body_size = 20;
    }
    let mut h = setup(first, config);
    while let Some((&op, tail)) = rest.split_first() {
        let n = usize::from(op & 0x3F);
        let take = match op >> 6 {
            0 => n + 1,
            1 => (n + 1) * 16,
            _ => n,
        }
        .min(tail.len());
        let (chunk, tail) = tail.split_at(take);
        rest = tail;
        match op >> 6 {
            0 | 1 => h.input(false, chunk),
            2 => h.command(op, chunk),
            _ if n == 0 => h.input(true, &[]),
            // Resumes parsing after `pause_after_message` stopped it.
            _ if n == 1 => h.input(false, &[]),
            _ => h.drain(),
        }
    }
    while h.conn.is_paused() {
        h.input(false, &[]);
    }
    h.input(true, &[]);
    h.drain();
});
