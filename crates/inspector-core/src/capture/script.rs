//! A capture as a script: the messages each side sent, in order, with their times — what
//! replaying a capture against a server (`wsi replay`) and serving it to clients
//! (`wsi serve`) work from.
//!
//! The messages are rebuilt from the frame records: data frames are joined until FIN, in
//! each direction; control frames are steps of their own. Which side is the client comes
//! from the handshake records: a capture made by a client has `request_sent`, one made by a
//! server (or a relay's client leg) has `request_received`.
//!
//! A compressed message's frames hold its bytes as on the wire. For messages received the
//! capture also holds the plain content (the `inflated` record right after the last frame);
//! for messages a side sent compressed it does not, and such a message is left out and
//! counted in [`Script::compressed_skipped`] — inflating it here would mean keeping the
//! whole stream's compression context from the first message on.

use std::time::Duration;

use super::record::{CaptureLine, FrameRecord, Leg, MessageRecord, Record};

/// Who sent a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The WebSocket client.
    Client,
    /// The WebSocket server.
    Server,
}

/// One message of a script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScriptMessage {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
    /// A ping.
    Ping(Vec<u8>),
    /// A pong.
    Pong(Vec<u8>),
    /// A close frame: its code (none for an empty payload) and reason.
    Close(Option<u16>, String),
}

/// A message and when it was sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// Who sent it.
    pub from: Side,
    /// When its last frame went, counted from the connection's opening.
    pub at: Duration,
    /// The message.
    pub message: ScriptMessage,
}

/// A connection of a capture as the messages each side sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Script {
    /// Every message, in capture order.
    pub steps: Vec<Step>,
    /// The subprotocol the handshake agreed, if any.
    pub protocol: Option<String>,
    /// The request target (path and query) of the upgrade request.
    pub target: Option<String>,
    /// Messages sent compressed whose plain content the capture does not hold (left out).
    pub compressed_skipped: usize,
}

impl Script {
    /// The steps `side` sent.
    pub fn from(&self, side: Side) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(move |s| s.from == side)
    }
}

/// The connections a capture holds, as `(conn, leg)`, in the order they first appear.
pub fn connections(lines: &[CaptureLine]) -> Vec<(Option<u64>, Option<Leg>)> {
    let mut seen = Vec::new();
    for line in lines {
        if matches!(line.record, Record::Capture { .. }) {
            continue;
        }
        let key = (line.conn, line.leg);
        if !seen.contains(&key) {
            seen.push(key);
        }
    }
    seen
}

/// The script of connection `(conn, leg)` of a capture. Errors, in plain words, when the
/// capture has no such connection or no opening handshake to tell the sides apart.
pub fn script(
    lines: &[CaptureLine],
    conn: Option<u64>,
    leg: Option<Leg>,
) -> Result<Script, String> {
    let lines: Vec<&CaptureLine> = lines
        .iter()
        .filter(|l| l.conn == conn && l.leg == leg && !matches!(l.record, Record::Capture { .. }))
        .collect();
    if lines.is_empty() {
        return Err(format!(
            "the capture has no connection {}",
            describe(conn, leg)
        ));
    }
    let we_are_client = lines
        .iter()
        .find_map(|l| match l.record {
            Record::RequestSent { .. } => Some(true),
            Record::RequestReceived { .. } => Some(false),
            _ => None,
        })
        .ok_or_else(|| {
            format!(
                "connection {} has no upgrade request: there is nothing to tell the client's \
                 messages from the server's",
                describe(conn, leg)
            )
        })?;
    let side_of = |incoming: bool| match (incoming, we_are_client) {
        (false, true) | (true, false) => Side::Client,
        _ => Side::Server,
    };

    let mut script = Script::default();
    let mut opened_at = None;
    let mut partial: [Option<Partial>; 2] = [None, None];
    let mut awaiting_inflated: Option<(Side, Duration)> = None;
    for line in lines {
        let elapsed = Duration::from_nanos(line.elapsed_ns);
        match &line.record {
            Record::Opened(opened) => {
                script.protocol = opened.protocol.clone();
                script.target = Some(target_of(&opened.request.uri));
            }
            Record::State { ready_state: 1 } => opened_at = Some(elapsed),
            Record::Inflated(message) => {
                if let Some((from, at)) = awaiting_inflated.take() {
                    let message = match message {
                        MessageRecord::Text { text } => ScriptMessage::Text(text.clone()),
                        MessageRecord::Binary { data } => ScriptMessage::Binary(data.clone()),
                        _ => continue,
                    };
                    script.steps.push(Step { from, at, message });
                }
            }
            Record::Frame(frame) => {
                let from = side_of(frame.incoming);
                let at = elapsed.saturating_sub(opened_at.unwrap_or_default());
                let slot = &mut partial[usize::from(frame.incoming)];
                match step_of(frame, slot) {
                    Assembled::Message(message) => script.steps.push(Step { from, at, message }),
                    Assembled::Compressed if frame.incoming => {
                        awaiting_inflated = Some((from, at));
                    }
                    Assembled::Compressed => script.compressed_skipped += 1,
                    Assembled::Nothing => {}
                }
            }
            _ => {}
        }
    }
    Ok(script)
}

/// A data message whose frames are still arriving.
#[derive(Debug)]
struct Partial {
    text: bool,
    compressed: bool,
    data: Vec<u8>,
}

enum Assembled {
    Message(ScriptMessage),
    /// A compressed message ended (its content is elsewhere, if anywhere).
    Compressed,
    Nothing,
}

fn step_of(frame: &FrameRecord, partial: &mut Option<Partial>) -> Assembled {
    let payload = &frame.payload;
    match frame.opcode {
        0x8 => {
            let (code, reason) = match payload.len() {
                0 | 1 => (None, String::new()),
                _ => (
                    Some(u16::from_be_bytes([payload[0], payload[1]])),
                    String::from_utf8_lossy(&payload[2..]).into_owned(),
                ),
            };
            Assembled::Message(ScriptMessage::Close(code, reason))
        }
        0x9 => Assembled::Message(ScriptMessage::Ping(payload.clone())),
        0xA => Assembled::Message(ScriptMessage::Pong(payload.clone())),
        0x1 | 0x2 => {
            *partial = Some(Partial {
                text: frame.opcode == 0x1,
                compressed: frame.rsv1,
                data: payload.clone(),
            });
            finish_if_final(frame.fin, partial)
        }
        0x0 => match partial {
            Some(p) => {
                p.data.extend_from_slice(payload);
                finish_if_final(frame.fin, partial)
            }
            None => Assembled::Nothing,
        },
        _ => Assembled::Nothing,
    }
}

fn finish_if_final(fin: bool, partial: &mut Option<Partial>) -> Assembled {
    if !fin {
        return Assembled::Nothing;
    }
    let Some(done) = partial.take() else {
        return Assembled::Nothing;
    };
    if done.compressed {
        return Assembled::Compressed;
    }
    Assembled::Message(if done.text {
        ScriptMessage::Text(String::from_utf8_lossy(&done.data).into_owned())
    } else {
        ScriptMessage::Binary(done.data)
    })
}

/// The path and query of a request target that may be an absolute URL.
fn target_of(uri: &str) -> String {
    match url::Url::parse(uri) {
        Ok(url) => match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        },
        Err(_) => uri.to_owned(),
    }
}

fn describe(conn: Option<u64>, leg: Option<Leg>) -> String {
    match (conn, leg) {
        (None, None) => "(the only one)".to_owned(),
        (Some(n), None) => format!("#{n}"),
        (None, Some(leg)) => format!("({} leg)", leg.as_str()),
        (Some(n), Some(leg)) => format!("#{n} ({} leg)", leg.as_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The examples in docs/capture-format.md are lines wsi wrote.
    const SPEC: &str = include_str!("../../../../docs/capture-format.md");

    fn lines_of(filter: impl Fn(&CaptureLine) -> bool) -> Vec<CaptureLine> {
        SPEC.lines()
            .filter(|l| l.starts_with("{\"v\":"))
            .map(|l| serde_json::from_str::<CaptureLine>(l).unwrap())
            .filter(|l| filter(l))
            .collect()
    }

    fn frame(incoming: bool, fin: bool, opcode: u8, payload: &[u8]) -> CaptureLine {
        CaptureLine {
            v: 1,
            time: String::new(),
            time_ns: 0,
            elapsed_ns: 5_000,
            conn: None,
            leg: None,
            record: Record::Frame(FrameRecord {
                incoming,
                fin,
                rsv1: false,
                rsv2: false,
                rsv3: false,
                opcode,
                mask: None,
                payload_len: payload.len() as u64,
                payload: payload.to_vec(),
                decompressed_len: None,
                message: None,
            }),
        }
    }

    #[test]
    fn a_client_capture_gives_both_sides_messages() {
        // The spec's client session: a compressed text sent, its echo received (inflated).
        let lines = lines_of(|l| l.conn.is_none() && l.leg.is_none());
        let script = script(&lines, None, None).unwrap();
        assert_eq!(script.protocol.as_deref(), Some("chat"));
        assert_eq!(script.target.as_deref(), Some("/chat"));
        assert_eq!(script.compressed_skipped, 1, "the compressed text we sent");
        let server: Vec<_> = script.from(Side::Server).map(|s| &s.message).collect();
        assert_eq!(server[0], &ScriptMessage::Text("hello hello hello".into()));
        let client: Vec<_> = script.from(Side::Client).map(|s| &s.message).collect();
        assert!(matches!(client[0], ScriptMessage::Close(Some(1000), _)));
    }

    #[test]
    fn fragments_are_joined_and_controls_kept() {
        let mut lines = lines_of(|l| matches!(l.record, Record::RequestSent { .. }));
        lines.truncate(1);
        lines.push(frame(false, false, 0x1, b"hel"));
        lines.push(frame(false, false, 0x9, b"p"));
        lines.push(frame(false, true, 0x0, b"lo"));
        lines.push(frame(true, true, 0x2, &[1, 2]));
        lines.push(frame(true, true, 0x8, &[0x03, 0xe8, b'o', b'k']));
        let script = script(&lines, None, None).unwrap();
        let got: Vec<(Side, ScriptMessage)> = script
            .steps
            .iter()
            .map(|s| (s.from, s.message.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                (Side::Client, ScriptMessage::Ping(b"p".to_vec())),
                (Side::Client, ScriptMessage::Text("hello".into())),
                (Side::Server, ScriptMessage::Binary(vec![1, 2])),
                (Side::Server, ScriptMessage::Close(Some(1000), "ok".into())),
            ]
        );
    }

    #[test]
    fn a_relay_capture_has_a_connection_per_leg() {
        let lines = lines_of(|_| true);
        let all = connections(&lines);
        assert!(all.contains(&(Some(1), Some(Leg::Client))), "{all:?}");
        let client_leg = script(&lines, Some(1), Some(Leg::Client));
        // The spec holds only frames of the relay's legs, no handshake.
        assert!(client_leg.is_err());
        assert!(script(&lines, Some(9), None).unwrap_err().contains("#9"));
    }
}
