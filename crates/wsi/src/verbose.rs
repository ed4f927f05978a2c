//! `-v`: every tap report as readable lines on stderr — the handshake heads as sent and
//! received, every frame both ways with its bits, mask key and length, and every lifecycle
//! event.
//!
//! ```text
//! wsi: [+0.000s] tcp connected 127.0.0.1:50412 -> 127.0.0.1:9000
//! wsi: [+0.001s] > GET / HTTP/1.1
//! ...
//! wsi: [+0.002s] -> FIN TEXT mask=37fa213d len=5 | hello
//! wsi: [+0.002s] <- FIN TEXT len=5 | hello
//! ```

use std::fmt::Write as _;
use std::io::Write as _;

use ws_inspector_core::capture::Leg;
use ws_inspector_core::hex::hex_compact;
use ws_tokio::Message;
use ws_tokio::tap::{Initiator, TapEvent, TapKind};
use ws_tokio::ws_proto::{CloseCode, Direction, Frame, OpCode};

/// The most payload bytes shown on a frame's line.
const PREVIEW: usize = 80;

/// Prints `event` on stderr.
pub fn print(conn: Option<u64>, leg: Option<Leg>, event: &TapEvent) {
    let mut prefix = format!("wsi: [+{:.3}s]", event.elapsed.as_secs_f64());
    if let Some(conn) = conn {
        let _ = write!(prefix, " #{conn}");
    }
    if let Some(leg) = leg {
        let _ = write!(prefix, " {}", leg.as_str());
    }
    let text = describe(&event.kind);
    let mut err = std::io::stderr().lock();
    for line in text.lines() {
        let _ = writeln!(err, "{prefix} {line}");
    }
}

/// The lines for one report.
pub fn describe(kind: &TapKind) -> String {
    match kind {
        TapKind::State(state) => format!("readyState {} {state:?}", *state as u8),
        TapKind::TcpConnected { local, peer, proxy } => match proxy {
            Some(proxy) => format!("tcp connected {local} -> {peer} (proxy {proxy})"),
            None => format!("tcp connected {local} -> {peer}"),
        },
        TapKind::TlsEstablished(tls) => {
            let mut text = format!(
                "tls {} {} alpn={} server_name={}",
                tls.version,
                tls.cipher_suite,
                tls.alpn.as_deref().unwrap_or("-"),
                tls.server_name
            );
            for cert in &tls.peer_certificates {
                let _ = write!(
                    text,
                    "\ncertificate subject={} issuer={} valid {} .. {}",
                    cert.subject, cert.issuer, cert.not_before, cert.not_after
                );
            }
            text
        }
        TapKind::RequestSent { raw, .. } | TapKind::ResponseSent { raw } => head_lines('>', raw),
        TapKind::ResponseReceived { raw, .. } | TapKind::RequestReceived { raw, .. } => {
            head_lines('<', raw)
        }
        TapKind::HandshakeFailed {
            reason,
            response,
            body,
        } => {
            let mut text = format!("handshake failed: {reason}");
            if let Some(response) = response {
                let _ = write!(text, "\nstatus {}", response.status());
            }
            if let Some(body) = body {
                let _ = write!(text, "\nbody: {}", String::from_utf8_lossy(body));
            }
            text
        }
        TapKind::Frame(frame) => frame_line(frame),
        TapKind::Inflated(message) => format!("   inflated: {}", message_preview(message)),
        TapKind::Opened(info) => {
            let mut text = "open".to_owned();
            if let Some(protocol) = &info.protocol {
                let _ = write!(text, " protocol={protocol}");
            }
            for extension in &info.extensions {
                let _ = write!(text, " extension={extension}");
            }
            text
        }
        TapKind::Closed {
            code,
            reason,
            initiator,
            clean,
        } => format!(
            "closed {} reason={reason:?} by {} ({})",
            code,
            match initiator {
                Initiator::Local => "us",
                Initiator::Remote => "the peer",
                Initiator::Nobody => "nobody (connection lost)",
            },
            if *clean { "clean" } else { "not clean" }
        ),
        TapKind::Error(message) => format!("error: {message}"),
        _ => "(a report this version does not know)".to_owned(),
    }
}

/// An HTTP head, a line each, marked `>` (sent) or `<` (received).
fn head_lines(mark: char, raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let mut out = String::new();
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        let _ = writeln!(out, "{mark} {line}");
    }
    out
}

/// `-> FIN RSV1 TEXT mask=37fa213d len=5 | hello`.
fn frame_line(frame: &Frame) -> String {
    let h = &frame.header;
    let arrow = match frame.direction {
        Direction::Outgoing => "->",
        Direction::Incoming => "<-",
    };
    let mut text = format!("{arrow} {}", if h.fin { "FIN" } else { "---" });
    for (set, name) in [(h.rsv1, "RSV1"), (h.rsv2, "RSV2"), (h.rsv3, "RSV3")] {
        if set {
            let _ = write!(text, " {name}");
        }
    }
    let _ = write!(text, " {}", h.opcode);
    if let Some(mask) = h.mask {
        let _ = write!(text, " mask={}", hex_compact(&mask));
    }
    let _ = write!(text, " len={}", h.payload_len);
    if let Some(plain) = frame.decompressed_len {
        let _ = write!(text, " inflated={plain}");
    }
    let payload = &frame.payload;
    if !payload.is_empty() && !h.rsv1 {
        let _ = write!(text, " | {}", payload_preview(h.opcode, payload));
    }
    text
}

fn payload_preview(opcode: OpCode, payload: &[u8]) -> String {
    if opcode == OpCode::Close && payload.len() >= 2 {
        let code = CloseCode::from(u16::from_be_bytes([payload[0], payload[1]]));
        let reason = String::from_utf8_lossy(&payload[2..]);
        return format!("code {} reason {reason:?}", code);
    }
    let shown = &payload[..payload.len().min(PREVIEW)];
    let more = if payload.len() > PREVIEW { "…" } else { "" };
    match std::str::from_utf8(shown) {
        Ok(text) if matches!(opcode, OpCode::Text | OpCode::Continuation) => {
            format!("{}{more}", text.escape_debug())
        }
        _ => format!("{}{more}", hex_compact(shown)),
    }
}

fn message_preview(message: &Message) -> String {
    match message {
        Message::Text(text) => payload_preview(OpCode::Text, text.as_str().as_bytes()),
        Message::Binary(data) => payload_preview(OpCode::Binary, data),
        Message::Ping(data) => format!("ping {}", hex_compact(data)),
        Message::Pong(data) => format!("pong {}", hex_compact(data)),
        Message::Close(frame) => format!("close {} {:?}", frame.code_or_no_status(), frame.reason),
        Message::Fragment { kind, data, fin } => {
            let end = if *fin { "last" } else { "more to come" };
            let opcode = match kind {
                ws_tokio::ws_proto::MessageKind::Text => OpCode::Text,
                ws_tokio::ws_proto::MessageKind::Binary => OpCode::Binary,
            };
            format!("fragment ({end}) {}", payload_preview(opcode, data))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ws_tokio::ws_proto::FrameHeader;
    use ws_tokio::ws_proto::bytes::Bytes;

    #[test]
    fn a_frame_line_shows_every_bit() {
        let mut header = FrameHeader::new(OpCode::Text, 5);
        header.mask = Some([0x37, 0xfa, 0x21, 0x3d]);
        header.rsv2 = true;
        let frame = Frame {
            direction: Direction::Outgoing,
            header,
            payload: Bytes::from_static(b"hello"),
            decompressed_len: None,
            message: None,
        };
        assert_eq!(
            frame_line(&frame),
            "-> FIN RSV2 TEXT mask=37fa213d len=5 | hello"
        );
    }

    #[test]
    fn a_close_payload_is_read() {
        assert_eq!(
            payload_preview(OpCode::Close, b"\x03\xeabye"),
            "code 1002 (Protocol Error) reason \"bye\""
        );
    }
}
