//! The synchronous core of a connection, shared by the two ways to run one ([`WsStream`] and
//! the task-driven [`driver`]): the engine, and what the transport knows about it beyond
//! the engine — who closed first, the readyState last reported, whether the message being
//! reported was compressed — with every rule that turns the engine's events into messages
//! and tap reports written once.
//!
//! Nothing here awaits. A front-end feeds the engine, asks the core for the next message and
//! the reports that came with it, and does the I/O and the awaiting (the tap's channel is
//! bounded, so reporting may wait) itself. The rules written here:
//!
//! - frame events become [`TapKind::Frame`] reports (only with a tap: without one the engine
//!   does not make them), the plain content of a compressed message a [`TapKind::Inflated`]
//!   report right after its last frame;
//! - a close frame received first makes the peer the [`Initiator`], one sent first makes us;
//! - a readyState change is reported once, in order with the frames that caused it;
//! - when the close timer starts, and whether a failed read after the close handshake loses
//!   anything;
//! - the end: end of stream to the engine if it did not see one, the last frames, the state,
//!   and the [`TapKind::Closed`] report.
//!
//! [`WsStream`]: crate::WsStream
//! [`driver`]: crate::driver

use std::time::Duration;

use ws_proto::bytes::Bytes;
use ws_proto::{CloseCode, Connection, Event, ReadyState};

use crate::error::Error;
use crate::message::{Message, Outgoing};
use crate::tap::{Initiator, Tap, TapKind};

/// The engine options the transport's options start from: the engine's defaults, with
/// [`pause_after_message`](ws_proto::Config::pause_after_message) on — parsing stops after
/// each message until the application has had the chance to answer it, so an answer keeps
/// its place before a failure caused by a later frame of the same read. The caller may turn
/// it off; the transport respects the options as given.
pub(crate) fn default_config() -> ws_proto::Config {
    let mut config = ws_proto::Config::default();
    config.pause_after_message = true;
    config
}

/// Binary messages at least this large are written from the caller's buffer instead of
/// being copied into the engine's output.
pub(crate) const SHARED_MIN: usize = 8 * 1024;

/// How a connection is run: its close timeout, the capacity of the task-driven handles'
/// message channel, and the tap.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub close_timeout: Duration,
    pub channel_capacity: usize,
    pub tap: Option<Tap>,
}

/// One connection's engine and what the transport knows about it.
#[derive(Debug)]
pub(crate) struct ConnCore {
    /// Boxed, as is the handshake beside it in a `WsStream`: the connection types stay a few
    /// hundred bytes, so that a future that holds one — and an `async fn` that takes one by
    /// value holds its argument twice — stays small (an idle echo task was 4.2 KiB, half of
    /// it a second copy of a 2 KiB `WsStream`).
    conn: Box<Connection>,
    /// Who sent the first close frame, once known.
    closed_by: Option<Initiator>,
    /// The readyState last reported.
    last_state: ReadyState,
    /// The last frame reported ended a compressed message: the next message is reported as
    /// [`TapKind::Inflated`] too.
    compressed: bool,
    /// A compressed message being given in fragments while a tap listens: its plain content
    /// so far, for the [`TapKind::Inflated`] report after its last fragment. `None` when no
    /// such message is under way.
    inflating: Option<Vec<u8>>,
    /// The last frame reported was part of a compressed message.
    frame_compressed: bool,
    /// A tap is listening: reports are made.
    reporting: bool,
    /// A peer fault the engine found before the connection was handed over (in frames that
    /// came in the same read as the 101 or the upgrade request), not yet returned to the
    /// application: the end of the connection returns it.
    unreported_fault: Option<Box<ws_proto::ProtocolError>>,
}

impl ConnCore {
    /// The core of an open connection (or one being opened). `closed_by`: who sent the first
    /// close frame, if one was sent already.
    pub fn new(conn: Connection, closed_by: Option<Initiator>, reporting: bool) -> Self {
        let unreported_fault = conn
            .fault()
            .filter(|f| !matches!(f, ws_proto::ProtocolError::AbnormalClosure { .. }))
            .cloned()
            .map(Box::new);
        // The transport reported OPEN when it handed the connection over; an engine that
        // failed before that is CLOSED already, which is still to be reported.
        let last_state = match unreported_fault {
            Some(_) => ReadyState::Open,
            None => conn.state(),
        };
        Self {
            conn: Box::new(conn),
            closed_by,
            last_state,
            compressed: false,
            inflating: None,
            frame_compressed: false,
            reporting,
            unreported_fault,
        }
    }

    /// The error to end with when the engine has ended the connection by itself: a fault
    /// found before the connection was handed over, once.
    pub fn take_unreported_fault(&mut self) -> Option<Error> {
        self.unreported_fault
            .take()
            .map(|fault| Error::from(ws_proto::Error::Protocol(*fault)))
    }

    /// Whether a tap is listening (the engine's events make reports).
    pub fn reporting(&self) -> bool {
        self.reporting
    }

    /// The engine.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The engine, to feed it input or take its output.
    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    // --- commands -----------------------------------------------------------------------------

    /// Hands `what` to the engine. A close frame we send first makes us the initiator. An
    /// engine refusal (data after our close frame, a control frame too long, …) is a usage
    /// error.
    pub fn execute(&mut self, what: Outgoing) -> Result<(), Error> {
        let conn = &mut self.conn;
        let result = match what {
            Outgoing::Text(text) => conn.send_text(&text),
            Outgoing::Binary(data) => conn.send_binary(&data),
            Outgoing::Fragment { kind, data, fin } => conn.send_fragment(kind, &data, fin),
            Outgoing::Ping(data) => conn.send_ping(&data),
            Outgoing::Pong(data) => conn.send_pong(&data),
            Outgoing::Close(code, reason) => {
                let result = conn.send_close(code, &reason);
                if result.is_ok() {
                    self.closed_by.get_or_insert(Initiator::Local);
                }
                result
            }
            Outgoing::Raw(header, data) => conn.send_raw_frame(header, &data),
        };
        result.map_err(|e| Error::from(ws_proto::Error::Usage(e)))
    }

    /// Hands `what` to the engine as [`execute`](Self::execute) does, except that a binary
    /// message of at least [`SHARED_MIN`] bytes is not copied where the engine can avoid it
    /// (a server's uncompressed message): only its header is queued, and its payload is
    /// returned, to be written right after everything the engine's output holds now.
    pub fn execute_sharing(&mut self, what: Outgoing) -> Result<Option<Bytes>, Error> {
        match what {
            Outgoing::Binary(data) if data.len() >= SHARED_MIN => self
                .conn
                .send_binary_shared(data)
                .map_err(|e| Error::from(ws_proto::Error::Usage(e))),
            what => self.execute(what).map(|()| None),
        }
    }

    /// Sends 1001 Going Away if the connection is still open (the last handle went away).
    pub fn go_away(&mut self) {
        if self
            .conn
            .send_close(Some(CloseCode::GOING_AWAY), "")
            .is_ok()
        {
            self.closed_by.get_or_insert(Initiator::Local);
        }
    }

    // --- events -------------------------------------------------------------------------------

    /// The next message the engine has for the application, with the reports of the frames
    /// before it (and of the message itself, if it was compressed) added to `reports`.
    /// `None` when the engine has no message waiting (its frame reports are still taken).
    ///
    /// Inlined for its common answer: a reader asks before each read and after each wake-up,
    /// and two of the three calls of a small echo find nothing (callgrind: the call itself,
    /// with the frame of the function below, cost about 60 instructions each).
    #[inline]
    pub fn next_message(&mut self, reports: &mut Vec<TapKind>) -> Option<Message> {
        self.conn.peek_event()?;
        self.take_next_message(reports)
    }

    /// [`next_message`](Self::next_message) with at least one event waiting.
    fn take_next_message(&mut self, reports: &mut Vec<TapKind>) -> Option<Message> {
        while let Some(event) = self.conn.poll_event() {
            let message = match event {
                Event::Frame(frame) => {
                    if self.reporting {
                        let incoming = frame.direction == ws_proto::Direction::Incoming;
                        if incoming {
                            self.frame_compressed = frame.decompressed_len.is_some();
                        }
                        self.compressed =
                            incoming && frame.header.fin && frame.decompressed_len.is_some();
                        reports.push(TapKind::Frame(frame));
                    }
                    continue;
                }
                Event::Fragment { kind, data, fin } => {
                    if self.reporting && self.frame_compressed {
                        self.report_inflated_fragment(kind, &data, fin, reports);
                    }
                    return Some(Message::Fragment { kind, data, fin });
                }
                Event::Text(text) => Message::Text(text),
                Event::Binary(data) => Message::Binary(data),
                Event::Ping(data) => Message::Ping(data),
                Event::Pong(data) => Message::Pong(data),
                Event::Close(frame) => {
                    self.closed_by.get_or_insert(Initiator::Remote);
                    Message::Close(frame)
                }
                // Handshake events are the opening's business, not a message.
                _ => continue,
            };
            if self.compressed && matches!(message, Message::Text(_) | Message::Binary(_)) {
                self.compressed = false;
                reports.push(TapKind::Inflated(message.clone()));
            }
            return Some(message);
        }
        None
    }

    /// Keeps the plain content of a compressed message's fragment; after its last one, the
    /// whole message is reported as [`TapKind::Inflated`], as a message given whole is.
    fn report_inflated_fragment(
        &mut self,
        kind: ws_proto::MessageKind,
        data: &[u8],
        fin: bool,
        reports: &mut Vec<TapKind>,
    ) {
        let so_far = self.inflating.get_or_insert_with(Vec::new);
        so_far.extend_from_slice(data);
        if !fin {
            return;
        }
        let plain = ws_proto::bytes::Bytes::from(self.inflating.take().unwrap_or_default());
        let message = match kind {
            ws_proto::MessageKind::Binary => Some(Message::Binary(plain)),
            // The engine checked the text across its fragments.
            ws_proto::MessageKind::Text => ws_proto::Utf8Bytes::try_from_bytes(plain)
                .ok()
                .map(Message::Text),
        };
        // A compressed fragment ends the message: the report after it is not for a next one.
        self.compressed = false;
        if let Some(message) = message {
            reports.push(TapKind::Inflated(message));
        }
    }

    /// Adds the reports of the frames at the front of the engine's events to `reports`,
    /// leaving a message (and what follows it) for [`next_message`](Self::next_message).
    pub fn drain_frames(&mut self, reports: &mut Vec<TapKind>) {
        while matches!(self.conn.peek_event(), Some(Event::Frame(_))) {
            if let Some(Event::Frame(frame)) = self.conn.poll_event()
                && self.reporting
            {
                reports.push(TapKind::Frame(frame));
            }
        }
    }

    /// Adds a [`TapKind::State`] report to `reports` if the readyState changed since the last
    /// one. Returns the state.
    pub fn report_state(&mut self, reports: &mut Vec<TapKind>) -> ReadyState {
        let state = self.conn.state();
        if state != self.last_state {
            self.last_state = state;
            if self.reporting {
                reports.push(TapKind::State(state));
            }
        }
        state
    }

    /// Whether the readyState changed since it was last reported.
    pub fn state_changed(&self) -> bool {
        self.conn.state() != self.last_state
    }

    // --- the close ----------------------------------------------------------------------------

    /// Whether the close timer should run: we sent a close frame or the engine expects the
    /// transport to close.
    pub fn closing(&self) -> bool {
        self.conn.close_expected() || self.conn.state() == ReadyState::Closing
    }

    /// Whether a failed read or a timeout loses nothing: the close handshake had completed
    /// (a peer may reset the connection instead of closing TCP politely).
    pub fn closed(&self) -> bool {
        self.conn.state() == ReadyState::Closed
    }

    /// Ends the connection: the engine learns of the end of stream if it had not, the last
    /// messages go to `messages`, and the last frames, the state and the
    /// [`TapKind::Closed`] report go to `reports`, in that order.
    pub fn finish(&mut self, reports: &mut Vec<TapKind>, messages: &mut Vec<Message>) {
        if self.conn.state() != ReadyState::Closed {
            // Lost or timed out: the engine learns that the stream is gone.
            let _ = self.conn.receive_eof();
        }
        while let Some(message) = self.next_message(reports) {
            messages.push(message);
        }
        self.report_state(reports);
        if self.reporting {
            reports.push(self.closed_report());
        }
    }

    /// Who closed the connection, with which code, and whether cleanly.
    fn closed_report(&self) -> TapKind {
        let conn = &self.conn;
        let initiator = match (self.closed_by, conn.fault()) {
            (Some(who), _) => who,
            (None, Some(ws_proto::ProtocolError::AbnormalClosure { .. }) | None) => {
                Initiator::Nobody
            }
            (None, Some(_)) => Initiator::Local,
        };
        let (code, reason) = match (conn.fault(), conn.close_received()) {
            (Some(fault), _)
                if !matches!(fault, ws_proto::ProtocolError::AbnormalClosure { .. }) =>
            {
                (fault.close_code(), fault.to_string())
            }
            _ => (
                conn.close_code().unwrap_or(CloseCode::ABNORMAL),
                conn.close_reason().to_owned(),
            ),
        };
        TapKind::Closed {
            code,
            reason,
            initiator,
            clean: conn.was_clean(),
        }
    }
}

/// Sends `reports` to the tap, in order, emptying it (with no tap they are dropped: none
/// were made).
pub(crate) async fn send_reports(tap: Option<&Tap>, reports: &mut Vec<TapKind>) {
    if let Some(tap) = tap
        && !tap.try_report_all(reports)
    {
        for report in reports.drain(..) {
            tap.report(report).await;
        }
    }
    reports.clear();
}
