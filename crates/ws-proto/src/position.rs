//! Where a frame stands in its message: [`MessagePosition`], given by the engine to every
//! frame it reports, and [`MessageNumbering`], the rule that assigns it.
//!
//! The engine knows which message each frame belongs to — it assembles the messages it
//! receives and frames the ones it sends — so it says so in each [`Frame`](crate::Frame)
//! report: the message's number, the frame's place in it ([`Fragment`]), the message's type
//! and how many payload bytes of it came before the frame. A reader of the reports (an
//! inspector's log, its message view, the browser's `message` events) takes the message
//! boundaries from there and never works them out again.
//!
//! [`MessageNumbering`] is that rule, one per direction: a data frame with FIN clear starts
//! a message, continuations carry it on, the one with FIN set ends it; each control frame is
//! a message of its own. The engine applies it to every frame it reports, received (frames
//! it has checked: a continuation always has its message) or sent (including frames sent
//! with [`send_raw_frame`](crate::Connection::send_raw_frame), numbered as the peer will
//! see them). It is public so that a reader of frames that carry no position — recorded
//! before positions were, say — numbers them exactly as the engine would have.

use crate::connection::MessageKind;
use crate::frame::{FrameHeader, OpCode};

/// A frame's place in its message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fragment {
    /// A data frame with FIN set that starts its message: the whole message.
    Whole,
    /// The first frame of a fragmented message (FIN clear).
    First,
    /// A continuation frame with FIN clear.
    Middle,
    /// The continuation frame that ends a message (FIN set).
    Last,
    /// A control frame (close, ping, pong, reserved 0xB–0xF), never part of a data message.
    Control,
}

impl Fragment {
    /// A lower-case name: `whole`, `first`, `middle`, `last`, `control`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Whole => "whole",
            Self::First => "first",
            Self::Middle => "middle",
            Self::Last => "last",
            Self::Control => "control",
        }
    }

    /// Whether the frame ends its message (a whole message, a last fragment or a control
    /// frame): the message is complete once this frame is.
    pub fn ends_message(self) -> bool {
        matches!(self, Self::Whole | Self::Last | Self::Control)
    }
}

/// Where a reported frame stands in its message; see the [module docs](self).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MessagePosition {
    /// The message's number in its direction, from 1, in the order messages start. Every
    /// frame of a message has the same number; a control frame is a message of its own
    /// (ping, pong and close are message-level events too).
    pub number: u64,
    /// The frame's place in the message.
    pub fragment: Fragment,
    /// The message's type, on every frame of a text or binary message (continuations
    /// included). `None` for control frames, reserved data opcodes, and a continuation sent
    /// with no message in progress.
    pub kind: Option<MessageKind>,
    /// The message's payload bytes before this frame, as on the wire (compressed, for a
    /// compressed message). A message ending with this frame is `offset +
    /// header.payload_len` bytes long.
    pub offset: u64,
}

impl MessagePosition {
    /// The length of the message on the wire once this frame is added to what came before.
    pub fn len_with(&self, header: &FrameHeader) -> u64 {
        self.offset.saturating_add(header.payload_len)
    }
}

/// Numbers the frames of one direction into messages; see the [module docs](self).
#[derive(Clone, Debug, Default)]
pub struct MessageNumbering {
    /// The number of the last message (or control frame) started.
    last: u64,
    /// The data message in progress: its number, type and payload bytes so far.
    open: Option<(u64, Option<MessageKind>, u64)>,
}

impl MessageNumbering {
    /// A numbering that starts at message 1.
    pub fn new() -> Self {
        Self::default()
    }

    /// The position of the next frame, `header`, in this direction; the numbering moves on.
    ///
    /// A continuation with no message in progress (a protocol error, or its start came
    /// before the numbering did) gets a number of its own and no type; a text or binary
    /// frame while a message is in progress (a protocol error too) abandons that message.
    pub fn position(&mut self, header: &FrameHeader) -> MessagePosition {
        if header.opcode.is_control() {
            return MessagePosition {
                number: self.next_number(),
                fragment: Fragment::Control,
                kind: None,
                offset: 0,
            };
        }
        let (number, kind, offset, fragment) = match (header.opcode, self.open) {
            (OpCode::Continuation, Some((number, kind, offset))) => {
                let fragment = if header.fin {
                    Fragment::Last
                } else {
                    Fragment::Middle
                };
                (number, kind, offset, fragment)
            }
            (OpCode::Continuation, None) => {
                let fragment = if header.fin {
                    Fragment::Last
                } else {
                    Fragment::Middle
                };
                (self.next_number(), None, 0, fragment)
            }
            (opcode, _) => {
                let kind = match opcode {
                    OpCode::Text => Some(MessageKind::Text),
                    OpCode::Binary => Some(MessageKind::Binary),
                    _ => None,
                };
                let fragment = if header.fin {
                    Fragment::Whole
                } else {
                    Fragment::First
                };
                (self.next_number(), kind, 0, fragment)
            }
        };
        self.open =
            (!header.fin).then(|| (number, kind, offset.saturating_add(header.payload_len)));
        MessagePosition {
            number,
            fragment,
            kind,
            offset,
        }
    }

    fn next_number(&mut self) -> u64 {
        self.last += 1;
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(opcode: OpCode, fin: bool, len: u64) -> FrameHeader {
        let mut header = FrameHeader::new(opcode, len);
        header.fin = fin;
        header
    }

    #[test]
    fn fragments_control_frames_and_protocol_errors_are_numbered() {
        use Fragment::*;
        use MessageKind::{Binary, Text};
        let mut numbering = MessageNumbering::new();
        let frames = [
            (OpCode::Text, false, 3, First, 1, Some(Text), 0),
            (OpCode::Ping, true, 1, Control, 2, None, 0),
            (OpCode::Continuation, false, 4, Middle, 1, Some(Text), 3),
            (OpCode::Continuation, true, 5, Last, 1, Some(Text), 7),
            (OpCode::Binary, true, 2, Whole, 3, Some(Binary), 0),
            // A continuation with nothing in progress gets a number of its own.
            (OpCode::Continuation, false, 1, Middle, 4, None, 0),
            (OpCode::Continuation, true, 1, Last, 4, None, 1),
            // A new message while one is in progress abandons it.
            (OpCode::Binary, false, 1, First, 5, Some(Binary), 0),
            (OpCode::Text, true, 1, Whole, 6, Some(Text), 0),
            (OpCode::Continuation, true, 1, Last, 7, None, 0),
            // Reserved opcodes: 0x3 is data, 0xB is control.
            (OpCode::ReservedData(3), true, 1, Whole, 8, None, 0),
            (OpCode::ReservedControl(0xB), true, 0, Control, 9, None, 0),
            (OpCode::Close, true, 2, Control, 10, None, 0),
        ];
        for (i, (opcode, fin, len, fragment, number, kind, offset)) in
            frames.into_iter().enumerate()
        {
            let got = numbering.position(&header(opcode, fin, len));
            assert_eq!(
                got,
                MessagePosition {
                    number,
                    fragment,
                    kind,
                    offset
                },
                "frame {i}: {opcode:?} fin={fin}"
            );
        }
    }

    #[test]
    fn the_length_of_a_message_is_known_at_its_last_frame() {
        let mut numbering = MessageNumbering::new();
        numbering.position(&header(OpCode::Binary, false, 10));
        let last = header(OpCode::Continuation, true, 5);
        let position = numbering.position(&last);
        assert!(position.fragment.ends_message());
        assert_eq!(position.len_with(&last), 15);
        assert!(!Fragment::First.ends_message());
        assert_eq!(Fragment::Middle.name(), "middle");
    }
}
