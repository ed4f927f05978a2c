//! The network side: one tokio runtime on background threads, a [`Session`] per connection,
//! and the built-in local echo server.
//!
//! The UI never awaits anything here. A session runs [`ws_tokio::connect`] with a
//! [tap](ws_tokio::tap) on the runtime; a drain task applies every tap report to the session's
//! [`SessionState`] (behind a mutex the UI reads each frame) and asks egui for a repaint.
//! Commands from the UI (send, close, cancel) go through an unbounded channel to one task per
//! session, so they reach the connection in the order they were given.
//!
//! Lock discipline: the drain task holds the lock for at most [`DRAIN_BATCH`] reports at a time
//! and does not wait for it while the UI has it (it collects reports meanwhile); the UI holds
//! it while it lays out one frame. Neither ever awaits while holding it.

use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use futures_util::FutureExt as _;
use tokio::sync::mpsc;
use ws_tokio::tap::{Initiator, TapEvent, TapKind, TapReceiver};
use ws_tokio::ws_proto::http::{HeaderMap, Request, Response, StatusCode};
use ws_tokio::ws_proto::{CloseCode, Direction, OpCode, ReadyState};
use ws_tokio::{ConnectOptions, Decision, Message, Outgoing, Server, ServerOptions, TlsInfo};

use crate::store::{LifecycleEvent, LogStore};

/// The most tap reports the drain task collects before it applies them under one lock.
pub const DRAIN_BATCH: usize = 8192;

/// How many tap reports may wait between a connection and its drain task.
const TAP_CAPACITY: usize = 8192;

/// The tokio runtime and the built-in echo server. One per app.
#[derive(Debug)]
pub struct Net {
    runtime: Option<tokio::runtime::Runtime>,
    handle: tokio::runtime::Handle,
    tasks: Tasks,
    local_echo: Option<SocketAddr>,
}

/// Spawns the app's background tasks so that a panic in one is recorded — shown in the
/// status bar, and failed on by the tests — instead of vanishing with the task (a panic in
/// a spawned task fails nothing by itself: its `JoinHandle` just reports it to whoever
/// awaits it, often nobody).
#[derive(Clone, Debug)]
pub struct Tasks {
    handle: tokio::runtime::Handle,
    panics: Arc<Mutex<Vec<String>>>,
}

impl Tasks {
    /// Spawns `task` on the runtime; `what` names it in the record of a panic. The handle
    /// yields `None` when the task panicked.
    pub fn spawn<F>(
        &self,
        what: &'static str,
        task: F,
    ) -> tokio::task::JoinHandle<Option<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let panics = self.panics.clone();
        self.handle.spawn(async move {
            match AssertUnwindSafe(task).catch_unwind().await {
                Ok(output) => Some(output),
                Err(payload) => {
                    let message = payload
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| payload.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "(no message)".to_owned());
                    panics
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(format!("{what}: {message}"));
                    None
                }
            }
        })
    }

    /// Every panic recorded so far, as `task: message`.
    pub fn panics(&self) -> Vec<String> {
        self.panics
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Net {
    /// Starts the runtime (two worker threads named `ws-tokio`).
    pub fn new() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("ws-tokio")
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        let tasks = Tasks {
            handle: handle.clone(),
            panics: Arc::default(),
        };
        Ok(Self {
            runtime: Some(runtime),
            handle,
            tasks,
            local_echo: None,
        })
    }

    /// The runtime, for spawning background work.
    pub fn handle(&self) -> &tokio::runtime::Handle {
        &self.handle
    }

    /// The app's background tasks (spawn through it, so that panics are recorded).
    pub fn tasks(&self) -> &Tasks {
        &self.tasks
    }

    /// Starts the built-in echo server on a free loopback port (once) and returns its URL.
    ///
    /// Binding a loopback socket completes at once, so this blocks the caller only for that.
    pub fn start_local_echo(&mut self) -> Result<String, String> {
        if let Some(addr) = self.local_echo {
            return Ok(echo_url(addr));
        }
        // It accepts permessage-deflate when a profile offers it ("Offer compression").
        let mut options = ServerOptions::default();
        options.config.deflate = Some(ws_tokio::ws_proto::DeflateConfig::default());
        let server = self
            .handle
            .block_on(Server::bind("127.0.0.1:0", options))
            .map_err(|e| format!("could not start the local echo server: {e}"))?;
        let addr = server
            .local_addr()
            .map_err(|e| format!("could not start the local echo server: {e}"))?;
        self.tasks
            .spawn("local echo server", serve_echo(server, self.tasks.clone()));
        self.local_echo = Some(addr);
        Ok(echo_url(addr))
    }

    /// The local echo server's URL, once started.
    pub fn local_echo_url(&self) -> Option<String> {
        self.local_echo.map(echo_url)
    }

    /// Starts a connection. Progress shows up in [`Session::state`]; `ctx` is asked to repaint
    /// whenever something happened. `previous` is the log of the tab's last connection: its
    /// entries stay above the new connection's (bounded as ever), so reconnecting loses
    /// nothing the user did not clear.
    pub fn connect(
        &self,
        mut options: ConnectOptions,
        ctx: egui::Context,
        previous: Option<LogStore>,
    ) -> Session {
        let shared = Arc::new(Mutex::new(SessionState::new(&options.url, previous)));
        lock(&shared).handshake.deflate_offered = options.config.deflate.is_some();
        let (tap, reports) = ws_tokio::tap::channel(TAP_CAPACITY);
        options.tap = Some(tap);
        let (commands, command_rx) = mpsc::unbounded_channel();
        let drain = self.tasks.spawn(
            "session tap drain",
            drain(reports, shared.clone(), ctx.clone()),
        );
        let session = run_session(
            options,
            shared.clone(),
            ctx,
            command_rx,
            drain,
            self.tasks.clone(),
        );
        self.tasks.spawn("session", session);
        Session { shared, commands }
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // Do not wait for connections still closing: the process is going away.
            runtime.shutdown_background();
        }
    }
}

fn echo_url(addr: SocketAddr) -> String {
    format!("ws://{addr}/")
}

/// The local echo server: accepts any upgrade (choosing the first subprotocol offered) and
/// echoes every text and binary message back.
async fn serve_echo(server: Server, tasks: Tasks) {
    loop {
        let Ok(incoming) = server.accept().await else {
            continue;
        };
        let echo_tasks = tasks.clone();
        tasks.spawn("local echo connection", async move {
            let upgraded = incoming
                .upgrade(|request| {
                    let mut headers = HeaderMap::new();
                    headers.insert(
                        "server",
                        ws_tokio::ws_proto::http::HeaderValue::from_static(
                            "ws-inspector local echo",
                        ),
                    );
                    Decision::Accept {
                        protocol: request.protocols.first().cloned(),
                        headers,
                    }
                })
                .await;
            let Ok(ws) = upgraded else {
                return;
            };
            // Task-driven handles: the driver keeps reading while an echo waits to be
            // written, so a client that floods without reading cannot stall both sides.
            let (sender, mut receiver) = ws.into_driven().split();
            // Receive and send in two tasks. `Sender::send` waits until the driver has taken
            // the message, and the driver waits for room in the bounded message channel: one
            // task that alternates between the two can deadlock with the driver once that
            // channel is full (it did, about once in fifteen floods of a million frames).
            // The queue in between holds only what the driver has not yet taken, and the
            // driver stops reading while it cannot write, so it stays bounded by TCP.
            let (queue, mut queued) = mpsc::unbounded_channel::<Outgoing>();
            echo_tasks.spawn("local echo sender", async move {
                while let Some(out) = queued.recv().await {
                    if sender.send(out).await.is_err() {
                        break;
                    }
                }
            });
            while let Some(Ok(message)) = receiver.recv().await {
                let echo = match message {
                    Message::Text(text) => Outgoing::Text(text.as_str().to_owned()),
                    Message::Binary(data) => Outgoing::Binary(data),
                    _ => continue,
                };
                if queue.send(echo).is_err() {
                    break;
                }
            }
        });
    }
}

/// The UI's handle on one connection. Dropping it lets the connection go away politely
/// (the driver sends 1001 Going Away).
#[derive(Debug)]
pub struct Session {
    shared: Arc<Mutex<SessionState>>,
    commands: mpsc::UnboundedSender<Command>,
}

#[derive(Debug)]
enum Command {
    /// Send these, in order, without anything in between.
    Send(Vec<Outgoing>),
    /// Cancel a connection attempt, or close an open connection with 1000.
    Disconnect,
}

impl Session {
    /// The shared state; hold the guard only while laying out one frame.
    pub fn state(&self) -> MutexGuard<'_, SessionState> {
        lock(&self.shared)
    }

    /// A handle on the shared state for code that outlives the session's owner (benchmarks).
    pub fn shared(&self) -> Arc<Mutex<SessionState>> {
        self.shared.clone()
    }

    /// Queues frames to send, in order. Errors when the session has ended.
    pub fn send(&self, what: Vec<Outgoing>) -> Result<(), String> {
        self.commands
            .send(Command::Send(what))
            .map_err(|_| "the connection has ended".to_owned())
    }

    /// Sends `messages` small text messages to an echo server as fast as it answers, for the
    /// ingest benchmark and `--flood`; progress shows in [`SessionState::traffic`].
    ///
    /// At most a few thousand messages are queued or unanswered at any time. Queued commands
    /// would only inflate memory; and unanswered ones would let both peers' TCP buffers fill
    /// up: a ws-tokio driver does not read while it waits to write, so two of them streaming at
    /// each other without limit can end up both waiting to write, for ever.
    pub fn flood(&self, tasks: &Tasks, messages: u64) {
        const BATCH: u64 = 1000;
        let commands = self.commands.clone();
        let shared = self.shared.clone();
        tasks.spawn("flood", async move {
            let base = lock(&shared).traffic.frames_in;
            let mut sent = 0;
            while sent < messages {
                // Answered messages: no more than a few batches may be on their way.
                let echoed = lock(&shared).traffic.frames_in - base;
                if sent.saturating_sub(echoed) >= 4 * BATCH {
                    tokio::time::sleep(Duration::from_micros(200)).await;
                    continue;
                }
                let n = BATCH.min(messages - sent);
                let batch = (sent..sent + n)
                    .map(|i| Outgoing::Text(format!("{{\"seq\":{i},\"v\":\"tick\"}}")))
                    .collect();
                if commands.send(Command::Send(batch)).is_err() {
                    return;
                }
                sent += n;
            }
        });
    }

    /// Cancels the connection attempt, or closes with 1000 Normal Closure.
    pub fn disconnect(&self) {
        let _ = self.commands.send(Command::Disconnect);
    }
}

/// Locks a session's state. A panic while the lock was held leaves the state as it was at
/// that moment, which is still worth showing, so poisoning is ignored.
pub fn lock(shared: &Mutex<SessionState>) -> MutexGuard<'_, SessionState> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
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
    /// The browser's `readyState`.
    pub ready_state: ReadyState,
    /// Every readyState this connection went through, in order.
    pub history: Vec<ReadyState>,
    /// The opening handshake.
    pub handshake: Handshake,
    /// Counters, each way.
    pub traffic: Traffic,
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
    /// The incoming message being assembled: (text?, bytes so far).
    incoming: Option<(bool, u64)>,
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
        let mut log = previous.unwrap_or_default();
        let now = SystemTime::now();
        log.push_event(
            now,
            Duration::ZERO,
            LifecycleEvent::Connecting {
                url: url.to_owned(),
            },
        );
        Self {
            url: url.to_owned(),
            log,
            ready_state: ReadyState::Connecting,
            history: vec![ReadyState::Connecting],
            handshake: Handshake::default(),
            traffic: Traffic::default(),
            started: Instant::now(),
            opened: None,
            ended: None,
            close: None,
            capture: true,
            skipped: 0,
            last_error: None,
            finished: false,
            incoming: None,
            plain_out: std::collections::VecDeque::new(),
            plain_out_message: Vec::new(),
            logged_last_incoming: false,
        }
    }

    /// Logs an error (the `error` event) and remembers it as the last one.
    fn report_error(&mut self, message: String) {
        let elapsed = self.started.elapsed();
        self.last_error = Some(message.clone());
        self.log
            .push_event(SystemTime::now(), elapsed, LifecycleEvent::Error(message));
    }

    /// The attempt was cancelled before it opened.
    fn cancel(&mut self) {
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
    fn expect_plain(&mut self, out: &Outgoing) {
        match out {
            Outgoing::Text(text) => self.plain_out.push_back(Bytes::from(text.clone())),
            Outgoing::Binary(data) | Outgoing::Fragment { data, .. } => {
                self.plain_out.push_back(data.clone());
            }
            _ => {}
        }
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
    fn set_ready_state(&mut self, state: ReadyState) {
        self.ready_state = state;
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
    fn apply(&mut self, event: TapEvent) {
        let TapEvent {
            time,
            elapsed,
            kind,
        } = event;
        match kind {
            TapKind::State(state) => {
                self.set_ready_state(state);
                match state {
                    ReadyState::Open => {
                        self.opened = Some((time, Instant::now()));
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
                let headers = response.headers();
                self.handshake.protocol = headers
                    .get("sec-websocket-protocol")
                    .and_then(|v| v.to_str().ok())
                    .map(|v| v.trim().to_owned());
                self.handshake.extensions = headers
                    .get_all("sec-websocket-extensions")
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .flat_map(|v| v.split(','))
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty())
                    .collect();
                self.handshake.response = Some((*response, raw));
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
            TapKind::Frame(frame) => {
                let len = frame.header.payload_len;
                let incoming = frame.direction == Direction::Incoming;
                if frame.header.opcode == OpCode::Close && self.ready_state == ReadyState::Open {
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
                    self.track_incoming(frame.header.opcode, frame.header.fin, len)
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

    /// Follows incoming data frames; returns the browser's `message` event when one completes.
    fn track_incoming(&mut self, opcode: OpCode, fin: bool, len: u64) -> Option<LifecycleEvent> {
        let (text, total) = match opcode {
            OpCode::Text | OpCode::Binary => (opcode == OpCode::Text, len),
            OpCode::Continuation => {
                let (text, so_far) = self.incoming?;
                (text, so_far + len)
            }
            _ => return None,
        };
        if fin {
            self.incoming = None;
            Some(LifecycleEvent::Message {
                direction: Direction::Incoming,
                text,
                len: total,
            })
        } else {
            self.incoming = Some((text, total));
            None
        }
    }

    /// Records the outcome of a failed connection attempt, with a plain-language reason.
    fn fail(&mut self, error: &ws_tokio::Error) {
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

/// The header map as (name, value) strings, in order.
pub fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// A connection error in plain language, for someone who wants to know what to do next.
pub fn explain(error: &ws_tokio::Error) -> String {
    use std::error::Error as _;
    if let Some(response) = error.http_response() {
        let status = response.status();
        let reason = status.canonical_reason().unwrap_or("");
        if status == StatusCode::SWITCHING_PROTOCOLS {
            return format!(
                "The server agreed to switch protocols, but its answer is not a valid \
                 WebSocket upgrade: {error}"
            );
        }
        let hint = match status.as_u16() {
            400 => "the server found the upgrade request malformed",
            401 => "authentication is required (add an Authorization header)",
            403 => "the server refused the connection (check Origin, cookies or tokens)",
            404 => "there is no WebSocket endpoint at this path",
            426 => "the server wants a different protocol version",
            429 => "too many requests; try again later",
            300..=399 => "the server redirects elsewhere (see the Location header)",
            500..=599 => "the server failed while handling the upgrade",
            _ => "the server did not accept the WebSocket upgrade",
        };
        return format!(
            "The server answered {} {reason} instead of 101 Switching Protocols: {hint}.",
            status.as_u16()
        );
    }
    if let Some(stage) = error.timeout_stage() {
        let what = match stage {
            ws_tokio::Stage::Connect => "opening the TCP connection",
            ws_tokio::Stage::Proxy => "the proxy's CONNECT",
            ws_tokio::Stage::Tls => {
                "the TLS handshake (if the server is a plain ws:// server, use ws:// instead of \
                 wss://)"
            }
            ws_tokio::Stage::Handshake => "the server's answer to the upgrade request",
            ws_tokio::Stage::Close => "the closing handshake",
        };
        return format!("Timed out waiting for {what} (see the timeouts under Options).");
    }
    if let Some(failure) = error.tls_failure() {
        let mut text = sentence(&failure.to_string());
        if let Some(hint) = failure.hint() {
            text.push(' ');
            text.push_str(&sentence(&hint));
        }
        if failure.problem().is_certificate() && failure.peer() == ws_tokio::tls::Peer::Server {
            text.push_str(" Extra CA and Accept invalid certificates are under Options › TLS.");
        }
        return text;
    }
    if error.is_tls() {
        return sentence(&error.to_string());
    }
    if error.is_proxy() {
        return format!("{error}. Check the proxy setting in Options.");
    }
    if error.is_config() {
        return error.to_string();
    }
    if error.is_handshake() {
        return error.to_string();
    }
    if error.is_io() {
        let io = error
            .source()
            .and_then(|s| s.downcast_ref::<std::io::Error>());
        if let Some(io) = io {
            return match io.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    "Connection refused: nothing is listening at that host and port.".to_owned()
                }
                std::io::ErrorKind::ConnectionReset => {
                    "The server reset the connection.".to_owned()
                }
                _ => format!("Network error: {io}."),
            };
        }
    }
    error.to_string()
}

/// `text` as a sentence: a capital first, a full stop last.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    };
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// Applies tap reports in batches until the connection's taps are all dropped.
///
/// The UI holds the state's lock while it lays out a frame (a few milliseconds). The drain
/// task does not wait for it: while the lock is taken it keeps receiving reports into a local
/// batch (so the connection keeps going at full speed), and applies the whole batch once the
/// lock is free. Only a batch of [`DRAIN_BATCH`] reports waits for the lock, which bounds the
/// memory in between and slows the connection down (through the tap's bounded channel)
/// instead of letting it grow.
async fn drain(mut reports: TapReceiver, shared: Arc<Mutex<SessionState>>, ctx: egui::Context) {
    let mut batch: Vec<TapEvent> = Vec::with_capacity(DRAIN_BATCH);
    let mut open = true;
    while open || !batch.is_empty() {
        if batch.is_empty() {
            match reports.recv().await {
                Some(event) => batch.push(event),
                None => break,
            }
        }
        while batch.len() < DRAIN_BATCH {
            match reports.try_recv() {
                Some(event) => batch.push(event),
                None => break,
            }
        }
        let applied = {
            let state = match shared.try_lock() {
                Ok(state) => Some(state),
                Err(std::sync::TryLockError::Poisoned(e)) => Some(e.into_inner()),
                Err(std::sync::TryLockError::WouldBlock) if batch.len() >= DRAIN_BATCH || !open => {
                    Some(lock(&shared))
                }
                Err(std::sync::TryLockError::WouldBlock) => None,
            };
            match state {
                Some(mut state) => {
                    for event in batch.drain(..) {
                        state.apply(event);
                    }
                    true
                }
                None => false,
            }
        };
        match applied {
            true => {
                // At most one repaint per display frame, however fast frames arrive.
                ctx.request_repaint_after(Duration::from_millis(15));
            }
            false => {
                // The UI is laying out a frame: collect more, and try again soon.
                tokio::select! {
                    event = reports.recv() => match event {
                        Some(event) => batch.push(event),
                        None => open = false,
                    },
                    () = tokio::time::sleep(Duration::from_micros(500)) => {}
                }
            }
        }
    }
}

/// One connection, from the attempt to the end.
async fn run_session(
    options: ConnectOptions,
    shared: Arc<Mutex<SessionState>>,
    ctx: egui::Context,
    mut commands: mpsc::UnboundedReceiver<Command>,
    drain: tokio::task::JoinHandle<Option<()>>,
    tasks: Tasks,
) {
    // However this task ends — even by a panic — the session is marked finished, so the
    // tab can connect again and shows that nothing more will happen.
    let _finished = MarkFinished {
        shared: shared.clone(),
        ctx: ctx.clone(),
    };
    // Boxed, so that dropping it cancels the attempt and drops its tap at once.
    let mut connect = Box::pin(ws_tokio::connect(options));
    let mut queued: Vec<Outgoing> = Vec::new();
    let result = loop {
        tokio::select! {
            result = &mut connect => break Some(result),
            command = commands.recv() => match command {
                Some(Command::Send(what)) => queued.extend(what),
                Some(Command::Disconnect) | None => break None,
            },
        }
    };
    let ws = match result {
        None => {
            // Cancelled: dropping the attempt drops its tap, so the drain task ends.
            drop(connect);
            let _ = drain.await;
            lock(&shared).cancel();
            return;
        }
        Some(Err(error)) => {
            drop(connect);
            let _ = drain.await;
            lock(&shared).fail(&error);
            return;
        }
        // The inspector reads in a task of its own while the UI sends: the task-driven
        // handles are made for that.
        Some(Ok(ws)) => ws.into_driven(),
    };
    let compressing = ws.handshake.deflate.is_some();
    lock(&shared).handshake.deflate = ws.handshake.deflate;
    let (sender, mut receiver) = ws.split();
    // Read messages in a task of their own: a full message channel must never stop a send
    // below from completing (the driver would wait for us while we wait for it). The tap
    // reports everything the log shows, so the messages themselves are not needed here.
    let mut reader = Some(tasks.spawn("session reader", async move {
        while receiver.recv().await.is_some() {}
    }));
    let mut pending = Some(queued);
    loop {
        let next = match pending.take() {
            Some(queued) if !queued.is_empty() => Some(Command::Send(queued)),
            _ => {
                let Some(running) = reader.as_mut() else {
                    break;
                };
                tokio::select! {
                    _ = running => {
                        // The connection has ended: the handle has given its result and
                        // must not be awaited again.
                        reader = None;
                        break;
                    }
                    command = commands.recv() => command,
                }
            }
        };
        match next {
            Some(Command::Send(what)) => {
                for out in what {
                    if compressing {
                        lock(&shared).expect_plain(&out);
                    }
                    if let Err(e) = sender.send(out).await {
                        lock(&shared).report_error(format!("could not send: {e}"));
                        ctx.request_repaint();
                        break;
                    }
                }
            }
            Some(Command::Disconnect) => {
                let _ = sender.close(Some(CloseCode::NORMAL), "").await;
            }
            None => {
                // The UI dropped the session: close politely and let the driver finish.
                let _ = sender.close(Some(CloseCode::GOING_AWAY), "").await;
                break;
            }
        }
    }
    drop(sender);
    if let Some(running) = reader {
        let _ = running.await;
    }
    let _ = drain.await;
}

/// Marks a session finished when dropped: at the end of its task, however it ends.
struct MarkFinished {
    shared: Arc<Mutex<SessionState>>,
    ctx: egui::Context,
}

impl Drop for MarkFinished {
    fn drop(&mut self) {
        let mut state = lock(&self.shared);
        if state.ready_state != ReadyState::Closed {
            // Only when the task ended early (a panic): say so rather than look alive.
            state.report_error("the connection's task ended unexpectedly".to_owned());
            state.set_ready_state(ReadyState::Closed);
        }
        state.finished = true;
        drop(state);
        self.ctx.request_repaint();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_connection_is_explained() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let error = runtime.block_on(async {
            // A port that was just free: nothing listens there any more.
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            drop(listener);
            ws_tokio::connect(ConnectOptions::new(format!("ws://{addr}/")))
                .await
                .unwrap_err()
        });
        assert!(
            explain(&error).starts_with("Connection refused"),
            "{}",
            explain(&error)
        );
    }

    #[test]
    fn a_plain_server_behind_wss_is_explained_in_plain_words() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let error = runtime.block_on(async {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move {
                if let Ok((mut tcp, _)) = listener.accept().await {
                    let mut buf = [0u8; 1024];
                    let _ = tcp.read(&mut buf).await;
                    let _ = tcp
                        .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                        .await;
                }
            });
            ws_tokio::connect(ConnectOptions::new(format!("wss://{addr}/")))
                .await
                .unwrap_err()
        });
        let text = explain(&error);
        assert!(text.contains("not a TLS server"), "{text}");
        assert!(text.contains("ws://"), "says what to do: {text}");
        assert!(!text.contains("Other("), "{text}");
    }

    #[test]
    fn incoming_fragments_make_one_message_event() {
        let mut state = SessionState::new("ws://x/", None);
        assert!(state.track_incoming(OpCode::Text, false, 3).is_none());
        assert!(state.track_incoming(OpCode::Ping, true, 2).is_none());
        assert!(
            state
                .track_incoming(OpCode::Continuation, false, 4)
                .is_none()
        );
        match state.track_incoming(OpCode::Continuation, true, 5) {
            Some(LifecycleEvent::Message { text, len, .. }) => {
                assert!(text);
                assert_eq!(len, 12);
            }
            other => panic!("expected a message event, got {other:?}"),
        }
        assert!(matches!(
            state.track_incoming(OpCode::Binary, true, 1),
            Some(LifecycleEvent::Message {
                text: false,
                len: 1,
                ..
            })
        ));
    }
}
