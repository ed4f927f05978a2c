//! What goes over a connection, as the application sees it: the [`Message`]s received and
//! what to send ([`Outgoing`]). Both ways to run a connection ([`WsStream`](crate::WsStream)
//! and the task-driven handles) use them.

use ws_proto::bytes::Bytes;
use ws_proto::{CloseCode, CloseFrame, FrameHeader, MessageKind, Utf8Bytes};

/// A message, or a control frame, received from the peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A text message.
    Text(Utf8Bytes),
    /// A binary message.
    Binary(Bytes),
    /// A ping (already answered unless auto-pong is off).
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// The peer's close frame. The connection ends after it.
    Close(CloseFrame),
    /// One frame's part of a fragmented message, when the engine gives fragments
    /// ([`ws_proto::Config::deliver_fragments`]; never otherwise): the frame's payload,
    /// inflated if the message is compressed. Text fragments may split a character.
    Fragment {
        /// Text or binary.
        kind: MessageKind,
        /// The frame's payload.
        data: Bytes,
        /// Whether this fragment ends the message.
        fin: bool,
    },
}

/// What to send: [`WsStream::send`](crate::WsStream::send) and
/// [`Sender::send`](crate::Sender::send) take one of these.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outgoing {
    /// A text message in one frame.
    Text(String),
    /// A binary message in one frame.
    Binary(Bytes),
    /// One fragment of a message (see [`ws_proto::Connection::send_fragment`]).
    Fragment {
        /// Text or binary.
        kind: MessageKind,
        /// The fragment's payload.
        data: Bytes,
        /// Whether this fragment ends the message.
        fin: bool,
    },
    /// A ping (≤ 125 bytes).
    Ping(Bytes),
    /// A pong (≤ 125 bytes).
    Pong(Bytes),
    /// Start the close handshake; `None` sends an empty close payload.
    Close(Option<CloseCode>, String),
    /// A frame exactly as given (any bits, opcode and mask): for testing peers.
    Raw(FrameHeader, Bytes),
}
