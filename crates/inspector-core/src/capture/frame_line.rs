//! The line of a frame, written by hand: byte for byte what serde writes for a
//! [`CaptureLine`](super::CaptureLine) holding a [`Record::Frame`](super::Record::Frame)
//! (a test holds the two equal), without what serde's way costs — a copy of the payload
//! into the record, a base64 `String`, and serde's scan of that string for characters to
//! escape, of which base64 has none.
//!
//! Why by hand: frames are nearly every line of a capture, and a relay logging both legs
//! writes four of them per message. At 16 × 1 KiB through `wsi relay --jsonl`, serde's
//! escape scan over the base64 was the largest single cost in the relay's profile (11 % of
//! its samples, more than base64 itself); here the base64 is written straight into the line.

use std::io::Write as _;
use std::time::{Duration, UNIX_EPOCH};

use ws_tokio::tap::TapEvent;
use ws_tokio::ws_proto::{Direction, Fragment, Frame, MessageKind};

use super::VERSION;
use super::record::{Leg, unix_nanos};

/// Appends the JSON of `frame`'s line (no newline) to `line`: the report `event`, of
/// connection `conn` on relay leg `leg`.
pub(super) fn write(
    line: &mut Vec<u8>,
    event: &TapEvent,
    frame: &Frame,
    conn: Option<u64>,
    leg: Option<Leg>,
) {
    let time_ns = unix_nanos(event.time);
    let elapsed_ns = u64::try_from(event.elapsed.as_nanos()).unwrap_or(u64::MAX);
    let time = UNIX_EPOCH + Duration::from_nanos(time_ns);
    line.extend_from_slice(b"{\"v\":");
    push_number(line, u64::from(VERSION));
    line.extend_from_slice(b",\"time\":\"");
    // Writing to a Vec cannot fail; an RFC 3339 time has nothing to escape.
    let _ = write!(line, "{}", humantime::format_rfc3339_nanos(time));
    line.extend_from_slice(b"\",\"time_ns\":");
    push_number(line, time_ns);
    line.extend_from_slice(b",\"elapsed_ns\":");
    push_number(line, elapsed_ns);
    if let Some(conn) = conn {
        line.extend_from_slice(b",\"conn\":");
        push_number(line, conn);
    }
    if let Some(leg) = leg {
        line.extend_from_slice(b",\"leg\":\"");
        line.extend_from_slice(leg.as_str().as_bytes());
        line.push(b'"');
    }
    let header = &frame.header;
    line.extend_from_slice(b",\"record\":{\"kind\":\"frame\",\"incoming\":");
    push_bool(line, frame.direction == Direction::Incoming);
    line.extend_from_slice(b",\"fin\":");
    push_bool(line, header.fin);
    line.extend_from_slice(b",\"rsv1\":");
    push_bool(line, header.rsv1);
    line.extend_from_slice(b",\"rsv2\":");
    push_bool(line, header.rsv2);
    line.extend_from_slice(b",\"rsv3\":");
    push_bool(line, header.rsv3);
    line.extend_from_slice(b",\"opcode\":");
    push_number(line, u64::from(header.opcode.bits()));
    line.extend_from_slice(b",\"mask\":");
    match header.mask {
        Some(key) => {
            line.push(b'"');
            for byte in key {
                line.push(HEX[usize::from(byte >> 4)]);
                line.push(HEX[usize::from(byte & 0xf)]);
            }
            line.push(b'"');
        }
        None => line.extend_from_slice(b"null"),
    }
    line.extend_from_slice(b",\"payload_len\":");
    push_number(line, header.payload_len);
    line.extend_from_slice(b",\"payload\":\"");
    append_base64(line, &frame.payload);
    line.extend_from_slice(b"\",\"decompressed_len\":");
    match frame.decompressed_len {
        Some(n) => push_number(line, n as u64),
        None => line.extend_from_slice(b"null"),
    }
    if let Some(position) = &frame.message {
        let fragment: &[u8] = match position.fragment {
            Fragment::Whole => b"whole",
            Fragment::First => b"first",
            Fragment::Middle => b"middle",
            Fragment::Last => b"last",
            Fragment::Control => b"control",
        };
        let kind: &[u8] = match position.kind {
            Some(MessageKind::Text) => b"\"text\"",
            Some(MessageKind::Binary) => b"\"binary\"",
            None => b"null",
        };
        line.extend_from_slice(b",\"message\":{\"number\":");
        push_number(line, position.number);
        line.extend_from_slice(b",\"fragment\":\"");
        line.extend_from_slice(fragment);
        line.extend_from_slice(b"\",\"type\":");
        line.extend_from_slice(kind);
        line.extend_from_slice(b",\"offset\":");
        push_number(line, position.offset);
        line.push(b'}');
    }
    line.extend_from_slice(b"}}");
}

/// Lowercase hex digits, for the masking key.
const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `n` in decimal (`itoa`: the formatting machinery of `write!` for the line's
/// numbers and flags was a tenth of the writing thread's time).
fn push_number(line: &mut Vec<u8>, n: u64) {
    line.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Appends `true` or `false`.
fn push_bool(line: &mut Vec<u8>, value: bool) {
    line.extend_from_slice(if value { b"true" } else { b"false" });
}

/// Appends `data` as standard base64 with padding, with the SIMD encoder of `base64-simd`
/// (chosen at run time for this CPU): at 64 KiB frames the `base64` crate's encoder was half
/// of a logging relay's time (BENCHMARKS.md, "Relay").
fn append_base64(line: &mut Vec<u8>, data: &[u8]) {
    base64_simd::STANDARD.encode_append(data, line);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::CaptureLine;
    use proptest::prelude::*;
    use std::time::SystemTime;
    use ws_tokio::tap::TapKind;
    use ws_tokio::ws_proto::bytes::Bytes;
    use ws_tokio::ws_proto::{FrameHeader, MessagePosition, OpCode};

    /// What serde writes for the same report.
    fn by_serde(event: &TapEvent, conn: Option<u64>, leg: Option<Leg>) -> String {
        let line = CaptureLine::from_tap(event)
            .expect("a frame has a line")
            .with_conn(conn)
            .with_leg(leg);
        serde_json::to_string(&line).expect("serializes")
    }

    fn by_hand(event: &TapEvent, conn: Option<u64>, leg: Option<Leg>) -> String {
        let TapKind::Frame(frame) = &event.kind else {
            panic!("not a frame")
        };
        let mut line = Vec::new();
        write(&mut line, event, frame, conn, leg);
        String::from_utf8(line).expect("UTF-8")
    }

    fn fragment(n: u8) -> Fragment {
        match n % 5 {
            0 => Fragment::Whole,
            1 => Fragment::First,
            2 => Fragment::Middle,
            3 => Fragment::Last,
            _ => Fragment::Control,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn the_line_is_what_serde_writes(
            payload in proptest::collection::vec(any::<u8>(), 0..300),
            bits in any::<[bool; 5]>(),
            opcode in 0u8..16,
            mask in proptest::option::of(any::<[u8; 4]>()),
            decompressed in proptest::option::of(any::<usize>()),
            position in proptest::option::of((any::<u64>(), any::<u8>(), 0u8..3, any::<u64>())),
            conn in proptest::option::of(any::<u64>()),
            leg in 0u8..3,
            time_ns in any::<u64>(),
            elapsed_ns in any::<u64>(),
        ) {
            let mut header = FrameHeader::new(OpCode::from_bits(opcode), payload.len() as u64);
            header.fin = bits[0];
            header.rsv1 = bits[1];
            header.rsv2 = bits[2];
            header.rsv3 = bits[3];
            header.mask = mask;
            let frame = Frame {
                direction: if bits[4] { Direction::Incoming } else { Direction::Outgoing },
                header,
                payload: Bytes::from(payload),
                decompressed_len: decompressed,
                message: position.map(|(number, f, kind, offset)| MessagePosition {
                    number,
                    fragment: fragment(f),
                    kind: match kind {
                        0 => None,
                        1 => Some(MessageKind::Text),
                        _ => Some(MessageKind::Binary),
                    },
                    offset,
                }),
            };
            let event = TapEvent {
                time: SystemTime::UNIX_EPOCH + Duration::from_nanos(time_ns),
                elapsed: Duration::from_nanos(elapsed_ns),
                kind: TapKind::Frame(frame),
            };
            let leg = match leg {
                0 => None,
                1 => Some(Leg::Client),
                _ => Some(Leg::Server),
            };
            prop_assert_eq!(by_hand(&event, conn, leg), by_serde(&event, conn, leg));
        }
    }
}
