//! The tap: a stream of timestamped reports of everything a connection does — TCP, TLS, the
//! handshake bytes, every frame both ways, readyState changes, the close and errors.
//!
//! A tap is optional. Without one, frame reporting stays off in the engine and nothing is
//! copied or sent: it costs nothing. With one, the channel is bounded: a consumer that falls
//! behind slows the connection down instead of letting memory grow.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::mpsc;
use ws_proto::bytes::Bytes;
use ws_proto::http::{Request, Response};
use ws_proto::{CloseCode, Frame, ReadyState};

use crate::tls::TlsInfo;

/// Creates a tap and the receiver of its reports. `capacity` bounds the reports in flight.
pub fn channel(capacity: usize) -> (Tap, TapReceiver) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    (
        Tap {
            tx,
            start: Instant::now(),
        },
        TapReceiver { rx },
    )
}

/// The sending half, given to [`ConnectOptions`](crate::ConnectOptions) or
/// [`ServerOptions`](crate::ServerOptions). Clones report into the same channel.
#[derive(Clone, Debug)]
pub struct Tap {
    tx: mpsc::Sender<TapEvent>,
    start: Instant,
}

impl Tap {
    /// Reports `kind`, waiting for room in the channel. A dropped receiver is ignored.
    pub(crate) async fn report(&self, kind: TapKind) {
        let event = TapEvent {
            time: SystemTime::now(),
            elapsed: self.start.elapsed(),
            kind,
        };
        let _ = self.tx.send(event).await;
    }
}

/// The receiving half.
#[derive(Debug)]
pub struct TapReceiver {
    rx: mpsc::Receiver<TapEvent>,
}

impl TapReceiver {
    /// The next report; `None` once every [`Tap`] is dropped and the channel is empty.
    pub async fn recv(&mut self) -> Option<TapEvent> {
        self.rx.recv().await
    }

    /// The next report if one is waiting, without blocking (for a UI thread).
    pub fn try_recv(&mut self) -> Option<TapEvent> {
        self.rx.try_recv().ok()
    }

    /// A blocking receive, for threads outside the runtime.
    pub fn blocking_recv(&mut self) -> Option<TapEvent> {
        self.rx.blocking_recv()
    }

    /// Whether every [`Tap`] is gone and every report has been taken: nothing more will
    /// come (for a reader that polls many receivers with [`try_recv`](Self::try_recv)).
    pub fn is_finished(&self) -> bool {
        self.rx.is_closed() && self.rx.is_empty()
    }
}

/// One report.
#[derive(Clone, Debug)]
pub struct TapEvent {
    /// Wall-clock time.
    pub time: SystemTime,
    /// Monotonic time since the tap was created.
    pub elapsed: Duration,
    /// What happened.
    pub kind: TapKind,
}

/// Who closed a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Initiator {
    /// This side sent the first close frame (or failed the connection).
    Local,
    /// The peer sent the first close frame.
    Remote,
    /// No close frame: the connection was lost.
    Nobody,
}

/// What a tap reports.
#[non_exhaustive]
#[derive(Clone, Debug)]
pub enum TapKind {
    /// The readyState changed.
    State(ReadyState),
    /// TCP is connected (to the proxy, if one is used).
    TcpConnected {
        /// Our address.
        local: SocketAddr,
        /// The peer's (or the proxy's) address.
        peer: SocketAddr,
        /// The proxy in between, as `host:port`.
        proxy: Option<String>,
    },
    /// TLS is established.
    TlsEstablished(Box<TlsInfo>),
    /// Client: the upgrade request was sent.
    RequestSent {
        /// The request head.
        request: Box<Request<()>>,
        /// Its bytes exactly as written.
        raw: Bytes,
    },
    /// Client: the server's 101 answer arrived.
    ResponseReceived {
        /// The response head.
        response: Box<Response<()>>,
        /// Its bytes exactly as received.
        raw: Bytes,
    },
    /// Server: the client's upgrade request arrived.
    RequestReceived {
        /// The request head.
        request: Box<Request<()>>,
        /// Its bytes exactly as received.
        raw: Bytes,
    },
    /// Server: the answer was sent (101, or a refusal).
    ResponseSent {
        /// The bytes written.
        raw: Bytes,
    },
    /// The connection is open: what the opening handshake settled (the request and the 101,
    /// subprotocol, extensions, permessage-deflate parameters, TLS, addresses), reported
    /// just before [`State`](Self::State)`(Open)`, so that a reader need not work any of it
    /// out again from the headers.
    Opened(Box<crate::HandshakeInfo>),
    /// The opening handshake failed.
    HandshakeFailed {
        /// In plain words.
        reason: String,
        /// The peer's HTTP answer, if one came.
        response: Option<Box<Response<()>>>,
        /// Its body.
        body: Option<Bytes>,
    },
    /// A frame, either direction, with its header, unmasked payload and place in its message
    /// as the engine numbered it ([`Frame::message`](ws_proto::Frame::message)): which
    /// message, which fragment, the message's type and its bytes before this frame. A reader
    /// takes message boundaries from there, never from the opcodes again.
    Frame(Frame),
    /// The plain (inflated) content of a compressed message received, reported right after
    /// the frame that ended it. A [`Frame`] of a compressed message carries the bytes as on
    /// the wire; this is what the engine made of them, so that a tap's reader can show and
    /// search the text without inflating it a second time. Messages that were not
    /// compressed are not reported: their frames already hold their content.
    Inflated(crate::Message),
    /// The connection ended.
    Closed {
        /// The connection close code (1005 without a code, 1006 if lost).
        code: CloseCode,
        /// The close reason.
        reason: String,
        /// Who started the close.
        initiator: Initiator,
        /// Whether the close handshake completed.
        clean: bool,
    },
    /// An error, in plain words.
    Error(String),
}
