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
use ws_tokio::ws_proto::{CloseCode, ReadyState};
use ws_tokio::{ConnectOptions, Outgoing, WebSocket};

use super::handle::{Command, Session};
use super::recorder::{GENERATOR, Recorder, lock_recorder};
use super::state::{SessionState, lock};
use super::tasks::Tasks;
use crate::notify::Notify;

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
    } = open;
    // The handshake facts reach the state through the tap's `Opened` report.
    let compressing = ws.handshake.deflate.is_some();
    let (sender, mut receiver) = ws.split();
    // Read messages in a task of their own: a full message channel must never stop a send
    // below from completing (the driver would wait for us while we wait for it). The tap
    // reports everything the log shows, so the messages themselves are not needed here.
    let mut reader = Some(tasks.spawn("session reader", async move {
        while let Some(message) = receiver.recv().await {
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
                        notify.now();
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
