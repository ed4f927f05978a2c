//! [`SessionState`]: one connection as the UI sees it, changed in one place: [`apply`]
//! (pure: a tap report in, the state and its log updated; no clock read but
//! `Instant::now()` for the open-for timer, no I/O).
//!
//! Messages are the engine's: each frame report says which message it belongs to and where
//! in it ([`ws_tokio::ws_proto::MessagePosition`]), so the browser's `message` event is made
//! from the frame that ends one, and the log takes the same boundaries; nothing here
//! assembles messages from frames. A frame without a position (an old capture) gets one
//! from the log ([`LogStore::place`]), by the engine's rule.
//!
//! [`apply`]: SessionState::apply

use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use ws_tokio::tap::{Initiator, TapEvent, TapKind};
use ws_tokio::ws_proto::http::{Request, Response, StatusCode};
use ws_tokio::ws_proto::{
    CloseCode, Direction, FrameHeader, MessageKind, MessagePosition, OpCode, ReadyState,
};
use ws_tokio::{Message, Outgoing, TlsInfo};

use super::activity::Activity;
use super::explain::{explain, header_pairs};
use crate::log::{LifecycleEvent, LogStore};

/// Locks a session's state. A panic while the lock was held leaves the state as it was at
/// that moment, which is still worth showing, so poisoning is ignored.
pub fn lock(shared: &Mutex<SessionState>) -> MutexGuard<'_, SessionState> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The browser's `message` event for a received frame that completes a text or binary
/// message — known from the frame's position, which the engine gave it: no message is
/// assembled here.
fn message_event(position: &MessagePosition, header: &FrameHeader) -> Option<LifecycleEvent> {
    let kind = position.kind.filter(|_| position.fragment.ends_message())?;
    Some(LifecycleEvent::Message {
        direction: Direction::Incoming,
        text: kind == MessageKind::Text,
        len: position.len_with(header),
    })
}

/// Whether a request's `Sec-WebSocket-Extensions` offers permessage-deflate.
fn offers_deflate(headers: &ws_tokio::ws_proto::http::HeaderMap) -> bool {
    headers
        .get_all("sec-websocket-extensions")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("permessage-deflate"))
}

/// Frames and payload bytes each way, counted for every frame (whether logged or not).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Frames received.
    pub frames_in: u64,
    /// Frames sent.
    pub frames_out: u64,
    /// Payload bytes received.
    pub bytes_in: u64,
    /// Payload bytes sent.
    pub bytes_out: u64,
}

/// Why a connection attempt failed, for the handshake view.
#[derive(Clone, Debug, Default)]
pub struct Failure {
    /// The error as ws-tokio words it.
    pub reason: String,
    /// What it means, in plain language, with a hint when there is one.
    pub explanation: String,
    /// The HTTP status of a refused upgrade.
    pub status: Option<StatusCode>,
    /// Its headers.
    pub headers: Vec<(String, String)>,
    /// Its body.
    pub body: Option<Bytes>,
}

/// Everything known about the opening handshake.
#[derive(Clone, Debug, Default)]
pub struct Handshake {
    /// Local and peer address of the TCP connection, and the proxy (`host:port`) if one is used.
    pub tcp: Option<(SocketAddr, SocketAddr, Option<String>)>,
    /// The TLS session, for `wss://`.
    pub tls: Option<TlsInfo>,
    /// The upgrade request and its bytes as written.
    pub request: Option<(Request<()>, Bytes)>,
    /// The 101 response and its bytes as received.
    pub response: Option<(Response<()>, Bytes)>,
    /// The negotiated subprotocol.
    pub protocol: Option<String>,
    /// The negotiated extensions.
    pub extensions: Vec<String>,
    /// The permessage-deflate parameters, when compression was agreed.
    pub deflate: Option<ws_tokio::ws_proto::DeflateParams>,
    /// Whether this connection offered permessage-deflate.
    pub deflate_offered: bool,
    /// Set when the connection attempt failed.
    pub failure: Option<Failure>,
    /// This side is the server (a listener's or a relay's client): the request is the one
    /// received, the response the one sent.
    pub server_side: bool,
}

/// How the connection ended.
#[derive(Clone, Debug)]
pub struct CloseSummary {
    /// The close code (1005 without one, 1006 when lost).
    pub code: CloseCode,
    /// The reason.
    pub reason: String,
    /// Whether the close handshake completed.
    pub clean: bool,
    /// Who started it.
    pub initiator: Initiator,
}

/// A connection as the UI sees it.
#[derive(Debug)]
pub struct SessionState {
    /// The URL connected to.
    pub url: String,
    /// The frame and event log.
    pub log: LogStore,
    /// The log index of this connection's first entry (the entries above it are the tab's
    /// earlier connections').
    pub first_entry: u64,
    /// Every readyState this connection went through, in order (never empty: it starts
    /// with 0 CONNECTING); the last is the current one, [`ready_state`](Self::ready_state).
    pub history: Vec<ReadyState>,
    /// The opening handshake.
    pub handshake: Handshake,
    /// Counters, each way.
    pub traffic: Traffic,
    /// Messages and bytes over time, message sizes, ping round trips (the graphs).
    pub activity: Activity,
    /// When the attempt started.
    pub started: Instant,
    /// When the connection opened (wall clock and monotonic).
    pub opened: Option<(SystemTime, Instant)>,
    /// When it reached CLOSED.
    pub ended: Option<Instant>,
    /// How it ended.
    pub close: Option<CloseSummary>,
    /// Whether frames are logged (paused: still counted, not logged).
    pub capture: bool,
    /// Frames not logged because capture was paused.
    pub skipped: u64,
    /// The last error, in plain words.
    pub last_error: Option<String>,
    /// The background task has finished: nothing more will change.
    pub finished: bool,
    /// The plain content of compressed messages sent, in order, that their frames have not
    /// yet been logged for (their frames carry only the deflated bytes).
    plain_out: std::collections::VecDeque<Bytes>,
    /// The plain content of the compressed outgoing message in progress (fragments so far).
    plain_out_message: Vec<u8>,
    /// The last incoming frame was logged (not skipped while paused), so the plain content
    /// reported after it belongs to it.
    logged_last_incoming: bool,
}

impl SessionState {
    /// A new connection attempt to `url`. `previous` is the log of the tab's last
    /// connection, kept above this one's entries.
    pub fn new(url: &str, previous: Option<LogStore>) -> Self {
        Self::starting_at(url, SystemTime::now(), previous)
    }

    /// A connection attempt to `url` that started at `time`: [`new`](Self::new) for now, or
    /// the first report's time for a capture replayed from a file.
    pub fn starting_at(url: &str, time: SystemTime, previous: Option<LogStore>) -> Self {
        let mut log = previous.unwrap_or_default();
        // The engine of this connection numbers its messages from 1 again.
        log.begin_connection();
        let first_entry = log.total_pushed();
        log.push_event(
            time,
            Duration::ZERO,
            LifecycleEvent::Connecting {
                url: url.to_owned(),
            },
        );
        Self {
            url: url.to_owned(),
            log,
            first_entry,
            history: vec![ReadyState::Connecting],
            handshake: Handshake::default(),
            traffic: Traffic::default(),
            activity: Activity::default(),
            started: Instant::now(),
            opened: None,
            ended: None,
            close: None,
            capture: true,
            skipped: 0,
            last_error: None,
            finished: false,
            plain_out: std::collections::VecDeque::new(),
            plain_out_message: Vec::new(),
            logged_last_incoming: false,
        }
    }

    /// Logs an error (the `error` event) and remembers it as the last one.
    pub(crate) fn report_error(&mut self, message: String) {
        let elapsed = self.started.elapsed();
        self.last_error = Some(message.clone());
        self.log
            .push_event(SystemTime::now(), elapsed, LifecycleEvent::Error(message));
    }

    /// Logs something the inspector did to the traffic on purpose (a `fault` event).
    pub(crate) fn mark_fault(&mut self, what: String) {
        let elapsed = self.started.elapsed();
        self.log
            .push_event(SystemTime::now(), elapsed, LifecycleEvent::Fault(what));
    }

    /// Logs a packet the inspector sent by itself while speaking the application protocol
    /// (an `auto` event), or what that protocol said.
    pub(crate) fn mark_auto(&mut self, what: String) {
        let elapsed = self.started.elapsed();
        self.log
            .push_event(SystemTime::now(), elapsed, LifecycleEvent::Auto(what));
    }

    /// The attempt was cancelled before it opened.
    pub(crate) fn cancel(&mut self) {
        let now = SystemTime::now();
        let elapsed = self.started.elapsed();
        self.report_error("the connection attempt was cancelled".to_owned());
        let close = CloseSummary {
            code: CloseCode::ABNORMAL,
            reason: "cancelled".to_owned(),
            clean: false,
            initiator: Initiator::Local,
        };
        self.push_close(now, elapsed, close);
        self.set_ready_state(ReadyState::Closed);
    }

    /// Remembers the plain content of a message about to be sent on a compressed
    /// connection: its frames will be logged with their deflated bytes only.
    pub(crate) fn expect_plain(&mut self, out: &Outgoing) {
        match out {
            Outgoing::Text(text) => self.plain_out.push_back(Bytes::from(text.clone())),
            Outgoing::Binary(data) | Outgoing::Fragment { data, .. } => {
                self.plain_out.push_back(data.clone());
            }
            _ => {}
        }
    }

    /// The browser's `readyState`: the last of its [`history`](Self::history).
    pub fn ready_state(&self) -> ReadyState {
        self.history
            .last()
            .copied()
            .unwrap_or(ReadyState::Connecting)
    }

    /// `readyState 0 → 1 → 2 → 3`: the states this connection went through.
    pub fn history_text(&self) -> String {
        format!("readyState {}", self.history_steps())
    }

    /// `0 → 1 → 2 → 3`.
    pub fn history_steps(&self) -> String {
        let steps: Vec<String> = self
            .history
            .iter()
            .map(|s| (*s as u8).to_string())
            .collect();
        steps.join(" → ")
    }

    /// The readyState and its history. A close frame either way makes it 2 CLOSING, as in
    /// a browser, even when the engine answers a peer's close at once (the connection then
    /// goes from OPEN to CLOSED in one report).
    pub(crate) fn set_ready_state(&mut self, state: ReadyState) {
        if self.history.last() != Some(&state) {
            self.history.push(state);
        }
        if state == ReadyState::Closed {
            self.ended.get_or_insert_with(Instant::now);
        }
    }

    /// How long the connection has been (or was) open.
    pub fn open_for(&self) -> Option<Duration> {
        let (_, since) = self.opened?;
        Some(
            self.ended
                .unwrap_or_else(Instant::now)
                .saturating_duration_since(since),
        )
    }

    /// Applies one tap report.
    pub fn apply(&mut self, event: TapEvent) {
        let TapEvent {
            time,
            elapsed,
            kind,
        } = event;
        match kind {
            TapKind::State(state) => {
                if state == ReadyState::Closed {
                    // When it closed, by the report's clock (a replayed capture keeps its
                    // durations).
                    self.ended.get_or_insert(self.at(elapsed));
                }
                self.set_ready_state(state);
                match state {
                    ReadyState::Open => {
                        self.opened = Some((time, self.at(elapsed)));
                        let event = LifecycleEvent::Open {
                            protocol: self.handshake.protocol.clone(),
                            extensions: self.handshake.extensions.clone(),
                        };
                        self.log.push_event(time, elapsed, event);
                    }
                    ReadyState::Connecting | ReadyState::Closing | ReadyState::Closed => {}
                }
            }
            TapKind::TcpConnected { local, peer, proxy } => {
                self.handshake.tcp = Some((local, peer, proxy));
            }
            TapKind::TlsEstablished(info) => self.handshake.tls = Some(*info),
            TapKind::RequestSent { request, raw } => {
                self.handshake.request = Some((*request, raw));
            }
            TapKind::ResponseReceived { response, raw } => {
                self.handshake.response = Some((*response, raw));
            }
            // Server side: the request as it arrived, and our answer as written.
            TapKind::RequestReceived { request, raw } => {
                self.handshake.server_side = true;
                self.handshake.deflate_offered =
                    offers_deflate(request.headers()) || self.handshake.deflate_offered;
                self.handshake.request = Some((*request, raw));
            }
            TapKind::ResponseSent { raw } => {
                self.handshake.server_side = true;
                self.response_sent(raw);
            }
            // What the handshake settled, as the transport knows it: nothing is re-parsed.
            TapKind::Opened(info) => {
                self.handshake.protocol.clone_from(&info.protocol);
                self.handshake.extensions.clone_from(&info.extensions);
                self.handshake.deflate = info.deflate;
            }
            TapKind::HandshakeFailed {
                reason,
                response,
                body,
            } => {
                let failure = self.handshake.failure.get_or_insert_with(Failure::default);
                failure.reason.clone_from(&reason);
                if let Some(response) = response {
                    failure.status = Some(response.status());
                    failure.headers = header_pairs(response.headers());
                }
                failure.body = body;
                self.last_error = Some(reason.clone());
                self.log
                    .push_event(time, elapsed, LifecycleEvent::Error(reason));
                // As in a browser: a failed connection fires error, then close with 1006.
                let close = CloseSummary {
                    code: CloseCode::ABNORMAL,
                    reason: String::new(),
                    clean: false,
                    initiator: Initiator::Nobody,
                };
                self.push_close(time, elapsed, close);
            }
            TapKind::Frame(mut frame) => {
                let len = frame.header.payload_len;
                let incoming = frame.direction == Direction::Incoming;
                // Its message, as the engine numbered it (or, in an old capture, the log).
                let position = self.log.place(&mut frame);
                // The row the frame gets, if it is logged: the pong's row shows its RTT.
                let row = self.capture.then(|| self.log.total_pushed());
                self.activity.frame(&frame, elapsed, row);
                if frame.header.opcode == OpCode::Close && self.ready_state() == ReadyState::Open {
                    self.set_ready_state(ReadyState::Closing);
                }
                let plain = match frame.decompressed_len {
                    Some(_) if !incoming => self.plain_of_sent(frame.header.fin),
                    _ => None,
                };
                if incoming {
                    self.traffic.frames_in += 1;
                    self.traffic.bytes_in += len;
                } else {
                    self.traffic.frames_out += 1;
                    self.traffic.bytes_out += len;
                }
                let message = if incoming {
                    message_event(&position, &frame.header)
                } else {
                    None
                };
                if self.capture {
                    self.log.push_frame(time, elapsed, frame);
                    if let Some(plain) = plain {
                        self.log.attach_plain(Direction::Outgoing, plain);
                    }
                    if let Some(event) = message {
                        self.log.push_event(time, elapsed, event);
                    }
                } else {
                    self.skipped += 1;
                }
                if incoming {
                    self.logged_last_incoming = self.capture;
                }
            }
            // The plain content of the compressed message whose last frame was just logged.
            TapKind::Inflated(message) if self.logged_last_incoming => {
                let data = match message {
                    Message::Text(text) => text.into_bytes(),
                    Message::Binary(data) => data,
                    _ => return,
                };
                self.log.attach_plain(Direction::Incoming, data);
            }
            TapKind::Closed {
                code,
                reason,
                initiator,
                clean,
            } => {
                let close = CloseSummary {
                    code,
                    reason,
                    clean,
                    initiator,
                };
                self.push_close(time, elapsed, close);
            }
            TapKind::Error(error) => {
                self.last_error = Some(error.clone());
                self.log
                    .push_event(time, elapsed, LifecycleEvent::Error(error));
            }
            // Server-side reports (and any added later) do not concern a client session.
            _ => {}
        }
    }

    /// The instant `elapsed` after the attempt started, by the tap's monotonic clock (the
    /// tap is made as the attempt starts).
    fn at(&self, elapsed: Duration) -> Instant {
        self.started.checked_add(elapsed).unwrap_or(self.started)
    }

    /// Marks a state replayed from a capture as complete: nothing more will happen, and a
    /// connection the capture leaves open (the recording stopped) stays "open" for as long
    /// as the capture lasted, not for as long as the tab is shown. `last` is the last
    /// report's elapsed time.
    pub(crate) fn finish_replay(&mut self, last: Duration) {
        self.ended.get_or_insert(self.at(last));
        self.finished = true;
    }

    fn push_close(&mut self, time: SystemTime, elapsed: Duration, close: CloseSummary) {
        self.log.push_event(
            time,
            elapsed,
            LifecycleEvent::Close {
                code: close.code,
                reason: close.reason.clone(),
                clean: close.clean,
                initiator: close.initiator,
            },
        );
        self.close = Some(close);
    }

    /// The plain content of the compressed message whose frame was just sent, once its last
    /// frame (`fin`) has gone.
    fn plain_of_sent(&mut self, fin: bool) -> Option<Bytes> {
        let part = self.plain_out.pop_front()?;
        if !fin {
            self.plain_out_message.extend_from_slice(&part);
            return None;
        }
        if self.plain_out_message.is_empty() {
            return Some(part);
        }
        self.plain_out_message.extend_from_slice(&part);
        Some(Bytes::from(std::mem::take(&mut self.plain_out_message)))
    }

    /// Our answer to an upgrade request, as written: a refusal is also the failure shown.
    fn response_sent(&mut self, raw: Bytes) {
        let limits = ws_tokio::ws_proto::HandshakeLimits::default();
        let Ok(Some((response, head))) =
            ws_tokio::ws_proto::handshake::parse_response(&raw, &limits)
        else {
            return;
        };
        if response.status() != StatusCode::SWITCHING_PROTOCOLS {
            let failure = self.handshake.failure.get_or_insert_with(Failure::default);
            failure.status = Some(response.status());
            failure.headers = header_pairs(response.headers());
            failure.body = Some(raw.slice(head.min(raw.len())..));
            if failure.reason.is_empty() {
                failure.reason = format!("the upgrade was refused with {}", response.status());
            }
        }
        self.handshake.response = Some((response, raw));
    }

    /// Records the outcome of a failed connection attempt, with a plain-language reason.
    pub(crate) fn fail(&mut self, error: &ws_tokio::Error) {
        let failure = self.handshake.failure.get_or_insert_with(Failure::default);
        if failure.reason.is_empty() {
            failure.reason = error.to_string();
        }
        if failure.status.is_none()
            && let Some(response) = error.http_response()
        {
            failure.status = Some(response.status());
            failure.headers = header_pairs(response.headers());
        }
        if failure.body.is_none() {
            failure.body = error.http_body().map(Bytes::copy_from_slice);
        }
        failure.explanation = explain(error);
        if self.close.is_none() {
            let close = CloseSummary {
                code: CloseCode::ABNORMAL,
                reason: String::new(),
                clean: false,
                initiator: Initiator::Nobody,
            };
            self.report_error(error.to_string());
            self.push_close(SystemTime::now(), self.started.elapsed(), close);
        }
        self.set_ready_state(ReadyState::Closed);
    }
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use ws_tokio::ws_proto::{Config, Connection, Event, Frame, Negotiated, Role};

    use super::*;

    /// The frames a client engine reports when a server's engine sends what `send` sends:
    /// every frame received, with the position the engine gave it (and the pong the client
    /// answers a ping with).
    fn engine_frames(send: impl FnOnce(&mut Connection)) -> Vec<Frame> {
        let mut server = Connection::open(Role::Server, Config::default(), Negotiated::default());
        send(&mut server);
        let mut bytes = BytesMut::new();
        server.poll_transmit(&mut bytes);
        let mut config = Config::default();
        config.report_frames = true;
        let mut client = Connection::open(Role::Client, config, Negotiated::default());
        client.receive_data(&bytes).expect("valid frames");
        std::iter::from_fn(|| client.poll_event())
            .filter_map(|event| match event {
                Event::Frame(frame) => Some(frame),
                _ => None,
            })
            .collect()
    }

    /// The `message` events of the log: (text?, length).
    fn message_events(state: &SessionState) -> Vec<(bool, u64)> {
        state
            .log
            .iter()
            .filter_map(|entry| match entry.item {
                crate::log::Item::Event(event) => match event.as_ref() {
                    LifecycleEvent::Message { text, len, .. } => Some((*text, *len)),
                    _ => None,
                },
                crate::log::Item::Frame(_) => None,
            })
            .collect()
    }

    #[test]
    fn incoming_fragments_make_one_message_event() {
        let frames = engine_frames(|server| {
            server
                .send_fragment(MessageKind::Text, b"hel", false)
                .unwrap();
            server.send_ping(b"pi").unwrap();
            server
                .send_fragment(MessageKind::Text, b"lo w", false)
                .unwrap();
            server
                .send_fragment(MessageKind::Text, b"orld!", true)
                .unwrap();
            server.send_binary(b"\x01").unwrap();
        });
        assert!(frames.iter().all(|f| f.message.is_some()));
        // As the engine reported them, and as an old capture holds them (no positions: the
        // log numbers them by the same rule).
        for positions in [true, false] {
            let mut state = SessionState::new("ws://x/", None);
            for mut frame in frames.clone() {
                if !positions {
                    frame.message = None;
                }
                state.apply(report(TapKind::Frame(frame)));
            }
            assert_eq!(
                message_events(&state),
                [(true, 12), (false, 1)],
                "with positions: {positions}"
            );
        }
    }

    #[test]
    fn the_message_event_comes_from_the_engine_position_not_the_opcode() {
        // A last fragment whose engine position names a binary message: the event says
        // binary, whatever its opcode (0, continuation) would suggest on its own.
        let mut header = ws_tokio::ws_proto::FrameHeader::new(OpCode::Continuation, 2);
        header.fin = true;
        let mut frame = Frame::new(Direction::Incoming, header, Bytes::from_static(b"ab"));
        frame.message = Some(MessagePosition {
            number: 7,
            fragment: ws_tokio::ws_proto::Fragment::Last,
            kind: Some(MessageKind::Binary),
            offset: 40,
        });
        let mut state = SessionState::new("ws://x/", None);
        state.apply(report(TapKind::Frame(frame)));
        assert_eq!(message_events(&state), [(false, 42)]);
    }

    fn report(kind: TapKind) -> TapEvent {
        TapEvent {
            time: SystemTime::UNIX_EPOCH,
            elapsed: Duration::ZERO,
            kind,
        }
    }

    fn frame(direction: Direction, opcode: OpCode, payload: &'static [u8]) -> TapEvent {
        report(TapKind::Frame(Frame::new(
            direction,
            ws_tokio::ws_proto::FrameHeader::new(opcode, payload.len() as u64),
            Bytes::from_static(payload),
        )))
    }

    #[test]
    fn traffic_counts_every_frame_logged_or_not() {
        let mut state = SessionState::new("ws://x/", None);
        state.apply(report(TapKind::State(ReadyState::Open)));
        state.apply(frame(Direction::Incoming, OpCode::Text, b"hello"));
        state.apply(frame(Direction::Outgoing, OpCode::Text, b"hi"));
        state.capture = false;
        state.apply(frame(Direction::Incoming, OpCode::Ping, b""));
        state.apply(frame(Direction::Outgoing, OpCode::Binary, b"0123456789"));
        assert_eq!(
            state.traffic,
            Traffic {
                frames_in: 2,
                frames_out: 2,
                bytes_in: 5,
                bytes_out: 12,
            }
        );
        assert_eq!(state.skipped, 2);
        assert_eq!(state.log.frames_kept(), 2);
    }

    #[test]
    fn ready_state_is_the_last_of_its_history() {
        let mut state = SessionState::new("ws://x/", None);
        assert_eq!(state.ready_state(), ReadyState::Connecting);
        state.apply(report(TapKind::State(ReadyState::Open)));
        assert_eq!(state.ready_state(), ReadyState::Open);
        assert!(state.opened.is_some());
        // A close frame makes it CLOSING, as in a browser, even before the engine says so.
        state.apply(frame(Direction::Incoming, OpCode::Close, b"\x03\xe8"));
        assert_eq!(state.ready_state(), ReadyState::Closing);
        state.apply(report(TapKind::Closed {
            code: CloseCode::NORMAL,
            reason: String::new(),
            initiator: Initiator::Remote,
            clean: true,
        }));
        state.apply(report(TapKind::State(ReadyState::Closed)));
        assert_eq!(state.ready_state(), ReadyState::Closed);
        assert_eq!(state.history_steps(), "0 → 1 → 2 → 3");
        assert!(state.close.as_ref().is_some_and(|c| c.clean));
        assert!(state.ended.is_some());
    }

    #[test]
    fn the_opened_report_gives_the_protocol_and_extensions_of_the_open_event() {
        let mut state = SessionState::new("ws://x/", None);
        let info = ws_tokio::HandshakeInfo {
            request: ws_tokio::ws_proto::http::Request::new(()),
            response: Response::builder().status(101).body(()).unwrap(),
            protocol: Some("chat".to_owned()),
            extensions: vec!["permessage-deflate".to_owned()],
            deflate: Some(ws_tokio::ws_proto::DeflateParams::default()),
            tls: None,
            local_addr: None,
            peer_addr: None,
        };
        state.apply(report(TapKind::Opened(Box::new(info))));
        state.apply(report(TapKind::State(ReadyState::Open)));
        assert_eq!(state.handshake.protocol.as_deref(), Some("chat"));
        assert_eq!(state.handshake.extensions, ["permessage-deflate"]);
        assert!(
            state.handshake.deflate.is_some(),
            "from the report, not a race"
        );
        let last = state.log.iter().last().map(|e| e.item);
        assert!(
            matches!(
                last,
                Some(crate::log::Item::Event(ref e))
                    if matches!(e.as_ref(), LifecycleEvent::Open { protocol: Some(p), .. } if p == "chat")
            ),
            "{last:?}"
        );
    }

    #[test]
    fn a_refused_upgrade_is_an_error_then_a_close_with_1006() {
        let mut state = SessionState::new("ws://x/", None);
        let refused = Response::builder()
            .status(403)
            .header("x-why", "no")
            .body(())
            .unwrap();
        state.apply(report(TapKind::HandshakeFailed {
            reason: "refused".into(),
            response: Some(Box::new(refused)),
            body: Some(Bytes::from_static(b"go away")),
        }));
        let failure = state.handshake.failure.as_ref().expect("a failure");
        assert_eq!(failure.status, Some(StatusCode::FORBIDDEN));
        assert_eq!(failure.headers, [("x-why".to_owned(), "no".to_owned())]);
        assert_eq!(state.last_error.as_deref(), Some("refused"));
        assert_eq!(
            state.close.as_ref().map(|c| c.code),
            Some(CloseCode::ABNORMAL)
        );
    }

    #[test]
    fn the_server_side_shows_the_request_received_and_the_response_sent() {
        let mut state = SessionState::new("ws://127.0.0.1:1/ ← 127.0.0.1:2", None);
        let request = ws_tokio::ws_proto::http::Request::builder()
            .uri("/chat")
            .header("sec-websocket-extensions", "permessage-deflate")
            .body(())
            .unwrap();
        state.apply(report(TapKind::RequestReceived {
            request: Box::new(request),
            raw: Bytes::from_static(b"GET /chat HTTP/1.1\r\n\r\n"),
        }));
        assert!(state.handshake.server_side);
        assert!(state.handshake.deflate_offered);
        state.apply(report(TapKind::ResponseSent {
            raw: Bytes::from_static(
                b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\r\n",
            ),
        }));
        let (response, _) = state.handshake.response.as_ref().expect("the response");
        assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
        assert!(state.handshake.failure.is_none());
    }

    #[test]
    fn a_refusal_sent_is_the_failure_shown() {
        let mut state = SessionState::new("x", None);
        state.apply(report(TapKind::ResponseSent {
            raw: Bytes::from_static(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 4\r\n\r\nnope"),
        }));
        let failure = state.handshake.failure.as_ref().expect("a failure");
        assert_eq!(failure.status, Some(StatusCode::FORBIDDEN));
        assert_eq!(failure.body.as_deref(), Some(&b"nope"[..]));
    }
}
