//! The tasks behind a [`Session`](super::Session): the drain task that applies tap reports
//! to the shared state, and the session task that runs the connection and its commands.
//!
//! Lock discipline: the drain task holds the lock for at most [`DRAIN_BATCH`] reports at a time
//! and does not wait for it while the UI has it (it collects reports meanwhile); the UI holds
//! it only for what a view draws. Neither ever awaits while holding it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use ws_tokio::tap::{Tap, TapEvent, TapReceiver};
use ws_tokio::ws_proto::bytes::Bytes;
use ws_tokio::ws_proto::{CloseCode, ReadyState};
use ws_tokio::{ConnectOptions, Outgoing, WebSocket};

use super::handle::{Command, Session};
use super::recorder::{GENERATOR, Recorder, lock_recorder};
use super::state::{SessionState, lock};
use super::tasks::Tasks;
use crate::notify::Notify;
use crate::relay::control::{self, Faults};
use crate::workflow::pings::Keepalive;

/// The most tap reports the drain task collects before it applies them under one lock.
pub const DRAIN_BATCH: usize = 8192;

/// How many tap reports may wait between a connection and its drain task.
pub(crate) const TAP_CAPACITY: usize = 8192;

/// Applies tap reports in batches until the connection's taps are all dropped.
///
/// The UI holds the state's lock while it lays out a frame (a few milliseconds). The drain
/// task does not wait for it: while the lock is taken it keeps receiving reports into a local
/// batch (so the connection keeps going at full speed), and applies the whole batch once the
/// lock is free. Only a batch of [`DRAIN_BATCH`] reports waits for the lock, which bounds the
/// memory in between and slows the connection down (through the tap's bounded channel)
/// instead of letting it grow.
///
/// Every report is also written to the session's [`Recorder`] as it arrives, before it is
/// applied (the state's lock is not held meanwhile); the recorder flushes whenever the
/// channel is empty, and at least every [`FLUSH_EVERY`](super::recorder::FLUSH_EVERY).
pub(crate) async fn drain(
    mut reports: TapReceiver,
    shared: Arc<Mutex<SessionState>>,
    recorder: Arc<Mutex<Recorder>>,
    notify: Notify,
) {
    let mut batch: Vec<TapEvent> = Vec::with_capacity(DRAIN_BATCH);
    // How many reports of `batch` the recorder has.
    let mut recorded = 0;
    let mut open = true;
    while open || !batch.is_empty() {
        if batch.is_empty() {
            match reports.recv().await {
                Some(event) => batch.push(event),
                None => break,
            }
        }
        let mut caught_up = false;
        while batch.len() < DRAIN_BATCH {
            match reports.try_recv() {
                Some(event) => batch.push(event),
                None => {
                    caught_up = true;
                    break;
                }
            }
        }
        if recorded < batch.len() {
            let failed = lock_recorder(&recorder).write(&batch[recorded..], caught_up);
            recorded = batch.len();
            if failed {
                notify.now();
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
                    recorded = 0;
                    true
                }
                None => false,
            }
        };
        match applied {
            true => {
                // At most one repaint per display frame, however fast frames arrive.
                notify.after(Duration::from_millis(15));
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
    lock_recorder(&recorder).flush();
}

/// One connection, from the attempt to the end.
pub(super) async fn run_session(
    options: ConnectOptions,
    shared: Arc<Mutex<SessionState>>,
    notify: Notify,
    mut commands: mpsc::UnboundedReceiver<Command>,
    drain: tokio::task::JoinHandle<Option<()>>,
    tasks: Tasks,
    extras: SessionOptions,
) {
    // However this task ends — even by a panic — the session is marked finished, so the
    // tab can connect again and shows that nothing more will happen.
    let _finished = MarkFinished {
        shared: shared.clone(),
        notify: notify.clone(),
    };
    // Boxed, so that dropping it cancels the attempt and drops its tap at once.
    let mut connect = Box::pin(ws_tokio::connect(options));
    let mut queued: Vec<Outgoing> = Vec::new();
    let result = loop {
        tokio::select! {
            result = &mut connect => break Some(result),
            command = commands.recv() => match command {
                Some(Command::Send(what)) => queued.extend(what),
                // Nothing to reset before the connection is made: cancel it.
                Some(Command::Disconnect | Command::Reset) | None => break None,
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
    run_open(
        ws,
        Open {
            shared,
            notify,
            commands,
            drain,
            tasks,
            queued,
            echo: None,
            keepalive: extras.keepalive,
            observer: extras.observer,
            faults: None,
        },
    )
    .await;
}

/// What an open connection's task works with: [`run_open`]'s inputs.
pub(crate) struct Open {
    /// The state the drain task updates.
    pub(crate) shared: Arc<Mutex<SessionState>>,
    /// Tells the UI.
    pub(crate) notify: Notify,
    /// The UI's commands.
    pub(crate) commands: mpsc::UnboundedReceiver<Command>,
    /// The drain task, awaited at the end.
    pub(crate) drain: tokio::task::JoinHandle<Option<()>>,
    /// Where to spawn the reader.
    pub(crate) tasks: Tasks,
    /// Sent first, in order.
    pub(crate) queued: Vec<Outgoing>,
    /// Set to echo every text and binary message back (a listener's echo): the reader
    /// queues each echo as a command, behind what the UI sent before it.
    pub(crate) echo: Option<mpsc::WeakUnboundedSender<Command>>,
    /// Pings on a timer, and a deadline for their pongs.
    pub(crate) keepalive: Option<Keepalive>,
    /// Given every message received (a replay compares them, a served capture counts them).
    pub(crate) observer: Option<mpsc::UnboundedSender<ws_tokio::Message>>,
    /// A listener's faults, for what it sends and how it answers pings.
    pub(crate) faults: Option<ListenerFaults>,
}

/// What a listener's client session does to its traffic on purpose.
pub(crate) struct ListenerFaults {
    /// The faults (see [`ServerChoices::faults`](crate::listener::ServerChoices::faults)).
    pub(crate) faults: Faults,
    /// The client's socket, for a reset.
    pub(crate) socket: Option<tokio::net::TcpStream>,
    /// Where delayed pongs are sent from (the session's own commands).
    pub(crate) commands: mpsc::WeakUnboundedSender<Command>,
}

/// What a session does beyond connecting and sending what the UI says: see
/// [`Net::connect_with`](super::Net::connect_with).
#[derive(Clone, Debug, Default)]
pub struct SessionOptions {
    /// Pings on a timer; the connection fails with 1011 when a pong is late.
    pub keepalive: Option<Keepalive>,
    /// A channel given every message received, whole (the log keeps only the start of a
    /// long payload).
    pub observer: Option<mpsc::UnboundedSender<ws_tokio::Message>>,
    /// Secret variable values: masked in every line of the session's capture (from its
    /// first, the upgrade request with its headers).
    pub secrets: crate::capture::Secrets,
    /// Speak the application protocol (Socket.IO, GraphQL over WebSocket) by itself: see
    /// [`decode::speaker`](crate::decode::speaker). Not with an `observer` of its own.
    pub speak: Option<crate::decode::speaker::Speak>,
}

/// What the open connection's loop does next.
enum Next {
    /// A command from the UI (`None`: the UI dropped the session).
    Command(Option<Command>),
    /// The keep-alive's timer: a ping is due, or a pong is late.
    Keepalive,
}

/// The keep-alive's clock: when the next ping is due and how far the sequence got.
struct KeepaliveClock {
    keepalive: Keepalive,
    next_ping: tokio::time::Instant,
    seq: u64,
}

impl KeepaliveClock {
    fn new(keepalive: Keepalive) -> Self {
        Self {
            next_ping: tokio::time::Instant::now() + keepalive.interval,
            keepalive,
            seq: 0,
        }
    }

    /// When to look again: the next ping, or the oldest unanswered ping's deadline.
    fn wake(&self, shared: &Mutex<SessionState>) -> tokio::time::Instant {
        match (self.keepalive.timeout, self.deadline(shared)) {
            (Some(_), Some(deadline)) => deadline.min(self.next_ping),
            _ => self.next_ping,
        }
    }

    /// When the oldest unanswered ping (any ping this side sent) runs out of time.
    fn deadline(&self, shared: &Mutex<SessionState>) -> Option<tokio::time::Instant> {
        let timeout = self.keepalive.timeout?;
        let state = lock(shared);
        let sent = state.activity.oldest_unanswered()?;
        let sent_at = state.started.checked_add(sent)?;
        Some(tokio::time::Instant::from_std(sent_at + timeout))
    }

    /// The next ping's payload, and the time after it.
    fn next_payload(&mut self) -> Bytes {
        self.next_ping += self.keepalive.interval;
        let now = tokio::time::Instant::now();
        if self.next_ping < now {
            // Behind (the machine slept): the next one an interval from now, not a burst.
            self.next_ping = now + self.keepalive.interval;
        }
        self.seq += 1;
        match &self.keepalive.payload {
            Some(payload) => payload.clone(),
            None => Bytes::copy_from_slice(&self.seq.to_be_bytes()),
        }
    }
}

/// Runs an open connection until it ends: the UI's commands in, a reader task out.
pub(crate) async fn run_open(ws: WebSocket, open: Open) {
    let Open {
        shared,
        notify,
        mut commands,
        drain,
        tasks,
        queued,
        echo,
        keepalive,
        observer,
        faults,
    } = open;
    let (faults, mut socket, pong_delay) = match faults {
        Some(ListenerFaults {
            faults,
            socket,
            commands,
        }) => {
            let pongs = (faults.pong_delay_ms > 0 && !faults.drop_pings).then(|| {
                (
                    Duration::from_millis(faults.pong_delay_ms),
                    commands,
                    shared.clone(),
                )
            });
            (Some(faults), socket, pongs)
        }
        None => (None, None, None),
    };
    let mut keepalive = keepalive.map(KeepaliveClock::new);
    // The handshake facts reach the state through the tap's `Opened` report.
    let compressing = ws.handshake.deflate.is_some();
    let (sender, mut receiver) = ws.split();
    // Read messages in a task of their own: a full message channel must never stop a send
    // below from completing (the driver would wait for us while we wait for it). The tap
    // reports everything the log shows, so the messages themselves are not needed here.
    let pong_tasks = tasks.clone();
    let mut reader = Some(tasks.spawn("session reader", async move {
        while let Some(message) = receiver.recv().await {
            if let (Some(observer), Ok(message)) = (&observer, &message) {
                let _ = observer.send(message.clone());
            }
            if let (Some((delay, commands, shared)), Ok(ws_tokio::Message::Ping(data))) =
                (&pong_delay, &message)
            {
                // A late pong: sent from the session's commands after the delay.
                lock(shared).mark_fault(format!("pong delayed by {} ms", delay.as_millis()));
                let (delay, commands, data) = (*delay, commands.clone(), data.clone());
                pong_tasks.spawn("delayed pong", async move {
                    tokio::time::sleep(delay).await;
                    if let Some(commands) = commands.upgrade() {
                        let _ = commands.send(Command::Send(vec![Outgoing::Pong(data)]));
                    }
                });
            }
            let Some(echo) = &echo else { continue };
            let out = match message {
                Ok(ws_tokio::Message::Text(text)) => Outgoing::Text(text.as_str().to_owned()),
                Ok(ws_tokio::Message::Binary(data)) => Outgoing::Binary(data),
                _ => continue,
            };
            if let Some(commands) = echo.upgrade() {
                let _ = commands.send(Command::Send(vec![out]));
            }
        }
    }));
    let mut pending = Some(queued);
    loop {
        let next = match pending.take() {
            Some(queued) if !queued.is_empty() => Next::Command(Some(Command::Send(queued))),
            _ => {
                let Some(running) = reader.as_mut() else {
                    break;
                };
                let wake = keepalive.as_ref().map(|k| k.wake(&shared));
                let keepalive_timer = async {
                    match wake {
                        Some(at) => tokio::time::sleep_until(at).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    _ = running => {
                        // The connection has ended: the handle has given its result and
                        // must not be awaited again.
                        reader = None;
                        break;
                    }
                    command = commands.recv() => Next::Command(command),
                    () = keepalive_timer => Next::Keepalive,
                }
            }
        };
        let next = match next {
            Next::Command(command) => command,
            Next::Keepalive => {
                let Some(clock) = keepalive.as_mut() else {
                    continue;
                };
                let now = tokio::time::Instant::now();
                if let Some(deadline) = clock.deadline(&shared)
                    && deadline <= now
                {
                    let timeout = clock.keepalive.timeout.unwrap_or_default();
                    lock(&shared).report_error(format!(
                        "keep-alive: no pong within {:.1} s; closing with 1011",
                        timeout.as_secs_f64()
                    ));
                    notify.now();
                    // Nothing more from the keep-alive: the close handshake (or its
                    // timeout) ends the connection.
                    keepalive = None;
                    let _ = sender
                        .close(Some(CloseCode::INTERNAL_ERROR), "keepalive ping timeout")
                        .await;
                } else if clock.next_ping <= now {
                    let payload = clock.next_payload();
                    if let Err(e) = sender.send(Outgoing::Ping(payload)).await {
                        lock(&shared)
                            .report_error(format!("could not send a keep-alive ping: {e}"));
                        notify.now();
                        keepalive = None;
                    }
                }
                continue;
            }
        };
        match next {
            Some(Command::Send(what)) => {
                let frames = match &faults {
                    Some(faults) => with_faults(what, faults, &shared).await,
                    None => what,
                };
                for out in frames {
                    if compressing {
                        lock(&shared).expect_plain(&out);
                    }
                    if let Err(e) = sender.send(out).await {
                        lock(&shared).report_error(format!("could not send: {e}"));
                        notify.now();
                        break;
                    }
                }
            }
            Some(Command::Reset) => {
                let Some(socket) = socket.take() else {
                    lock(&shared).report_error("only a listener's client can be reset".to_owned());
                    notify.now();
                    continue;
                };
                lock(&shared).mark_fault(
                    "the TCP connection cut by the user (no close frame; linger 0)".to_owned(),
                );
                notify.now();
                reset(socket);
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

/// Resets a connection whose socket `socket` is a second handle on: linger 0, so that the
/// socket's close is an RST (what is unsent is discarded), then its reading shut down, so
/// that the connection's driver sees the end at once, with no close frame, and lets the
/// socket go. (The driver shuts its writing down first, so the peer may see the end of the
/// stream just before the RST; a relay's reset, which owns its streams, is an RST alone.)
fn reset(socket: tokio::net::TcpStream) {
    let _ = socket.set_zero_linger();
    if let Ok(socket) = socket.into_std() {
        let _ = socket.shutdown(std::net::Shutdown::Read);
    }
}

/// `what`, as a listener with `faults` sends it: data messages dropped, delayed (the
/// delay is waited here), re-fragmented, with RSV bits or a corrupted byte; each fault
/// marked in the log. A listener is the server of its connection: its frames are not
/// masked.
async fn with_faults(
    what: Vec<Outgoing>,
    faults: &Faults,
    shared: &Arc<Mutex<SessionState>>,
) -> Vec<Outgoing> {
    let mut out = Vec::new();
    for message in what {
        if !matches!(message, Outgoing::Text(_) | Outgoing::Binary(_)) {
            out.push(message);
            continue;
        }
        if control::dropped(faults.drop_percent) {
            lock(shared).mark_fault(format!(
                "{} dropped ({} % of messages)",
                control::describe(&message),
                faults.drop_percent
            ));
            continue;
        }
        let delay = control::message_delay(faults);
        if !delay.is_zero() {
            lock(shared).mark_fault(format!("message delayed by {} ms", delay.as_millis()));
            tokio::time::sleep(delay).await;
        }
        match control::faulty_frames(&message, faults, false) {
            Some((frames, said)) => {
                lock(shared).mark_fault(format!(
                    "{}: {}",
                    control::describe(&message),
                    said.join(", ")
                ));
                out.extend(frames);
            }
            None => out.push(message),
        }
    }
    out
}

/// Waits until the session's connection is open: its agreed subprotocol and URL then; why not,
/// when it ends first (what a replay and the protocol speaker start from).
pub(crate) async fn opened(
    shared: &Mutex<SessionState>,
) -> Result<(Option<String>, String), String> {
    loop {
        {
            let state = lock(shared);
            match state.ready_state() {
                ReadyState::Open => {
                    return Ok((state.handshake.protocol.clone(), state.url.clone()));
                }
                ReadyState::Closing | ReadyState::Closed => {
                    return Err(state
                        .last_error
                        .clone()
                        .unwrap_or_else(|| "the connection did not open".to_owned()));
                }
                ReadyState::Connecting if state.finished => {
                    return Err("the connection did not open".to_owned());
                }
                ReadyState::Connecting => {}
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Marks a session finished when dropped: at the end of its task, however it ends.
pub(crate) struct MarkFinished {
    /// The state to mark.
    pub(crate) shared: Arc<Mutex<SessionState>>,
    /// Told when it is marked.
    pub(crate) notify: Notify,
}

impl Drop for MarkFinished {
    fn drop(&mut self) {
        let mut state = lock(&self.shared);
        if state.ready_state() != ReadyState::Closed {
            // Only when the task ended early (a panic): say so rather than look alive.
            state.report_error("the connection's task ended unexpectedly".to_owned());
            state.set_ready_state(ReadyState::Closed);
        }
        state.finished = true;
        drop(state);
        self.notify.now();
    }
}

/// A new session's pieces, before its connection task is spawned: the UI's handle, the tap
/// to give the connection, and what the connection's task needs.
pub(crate) struct Started {
    /// The UI's handle.
    pub(crate) session: Session,
    /// The tap to report to (the drain task applies its reports).
    pub(crate) tap: Tap,
    /// The UI's commands.
    pub(crate) commands: mpsc::UnboundedReceiver<Command>,
    /// The drain task.
    pub(crate) drain: tokio::task::JoinHandle<Option<()>>,
}

/// Starts a session's state, recorder and drain task, labelled `url` (what its log and
/// capture call it).
pub(crate) fn start(tasks: &Tasks, url: &str, notify: &Notify) -> Started {
    let shared = Arc::new(Mutex::new(SessionState::new(url, None)));
    let (tap, reports) = ws_tokio::tap::channel(TAP_CAPACITY);
    let (commands, command_rx) = mpsc::unbounded_channel();
    let recorder = Arc::new(Mutex::new(Recorder::new(GENERATOR)));
    let drain = tasks.spawn(
        "session tap drain",
        drain(reports, shared.clone(), recorder.clone(), notify.clone()),
    );
    Started {
        session: Session {
            shared,
            commands,
            recorder,
        },
        tap,
        commands: command_rx,
        drain,
    }
}
