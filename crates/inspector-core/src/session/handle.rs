//! [`Session`]: the UI's handle on one connection (commands in, shared state out, and the
//! session's capture lines for Save and Record).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::mpsc;
use ws_tokio::Outgoing;

use super::recorder::{CaptureLines, Recorder, RecorderStatus, lock_recorder};
use super::state::{SessionState, lock};
use super::tasks::Tasks;

/// The UI's handle on one connection. Dropping it lets the connection go away politely
/// (the driver sends 1001 Going Away).
#[derive(Debug)]
pub struct Session {
    pub(crate) shared: Arc<Mutex<SessionState>>,
    pub(crate) commands: mpsc::UnboundedSender<Command>,
    /// Every line of the session, for Save and Record ([`Recorder`]).
    pub(crate) recorder: Arc<Mutex<Recorder>>,
}

#[derive(Debug)]
pub(crate) enum Command {
    /// Send these, in order, without anything in between.
    Send(Vec<Outgoing>),
    /// Cancel a connection attempt, or close an open connection with 1000.
    Disconnect,
    /// Reset the TCP connection (an RST): a fault a listener injects on demand.
    Reset,
}

impl Session {
    /// A session that shows a capture: `state` was replayed from `lines` (a file's lines as
    /// read, kept for Save). Nothing can be sent ([`send`](Self::send) errors) and it is
    /// [`finished`](SessionState::finished).
    pub fn read_only(state: SessionState, lines: Vec<u8>) -> Self {
        // The receiver is dropped at once: every command is refused.
        let (commands, _) = mpsc::unbounded_channel();
        Self {
            shared: Arc::new(Mutex::new(state)),
            commands,
            recorder: Arc::new(Mutex::new(Recorder::read_only(lines))),
        }
    }

    /// [`read_only`](Self::read_only) with the lines gathered in a [`CaptureLines`] (a
    /// spool file, for a large capture).
    pub fn read_only_lines(state: SessionState, lines: CaptureLines) -> Self {
        let (commands, _) = mpsc::unbounded_channel();
        Self {
            shared: Arc::new(Mutex::new(state)),
            commands,
            recorder: Arc::new(Mutex::new(Recorder::read_only_lines(lines))),
        }
    }

    /// Whether this session shows a capture opened from a file.
    pub fn is_read_only(&self) -> bool {
        lock_recorder(&self.recorder).is_read_only()
    }

    /// Writes the whole session — every tap report since the attempt started, header line
    /// first; for a capture opened from a file, its lines as read — to `path`, atomically.
    /// An existing file is refused unless `replace`. Returns the bytes written.
    ///
    /// The copy is made while the session waits to write its next reports (they queue
    /// up in the tap's channel meanwhile).
    pub fn save_capture(&self, path: &Path, replace: bool) -> Result<u64, String> {
        lock_recorder(&self.recorder).save(path, replace)
    }

    /// Every line of the session, parsed, header first (what Save writes).
    pub fn capture_lines(&self) -> Result<Vec<crate::capture::CaptureLine>, String> {
        lock_recorder(&self.recorder).kept_lines()
    }

    /// Starts recording the session to `path` (from its first line; then each line as it
    /// happens, flushed at least every second). An existing file is refused unless
    /// `replace`.
    pub fn start_recording(&self, path: &Path, replace: bool) -> Result<(), String> {
        lock_recorder(&self.recorder).start_recording(path, replace)
    }

    /// Stops recording; returns the file recorded to, if one was.
    pub fn stop_recording(&self) -> Option<PathBuf> {
        lock_recorder(&self.recorder).stop_recording()
    }

    /// The lines kept, the recording and its errors.
    pub fn recorder_status(&self) -> RecorderStatus {
        lock_recorder(&self.recorder).status()
    }

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
    /// ingest benchmark's `--echo` mode; progress shows in [`SessionState::traffic`].
    ///
    /// At most a few thousand messages are queued or unanswered at any time: queued commands
    /// would only inflate memory, and what is measured is the log's ingest, not how deep the
    /// peers' TCP buffers are. (The task-driven connection keeps reading while it waits to
    /// write, so unanswered messages could not stall it; they would only pile up.)
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

    /// Resets the TCP connection of a listener's client (an RST, no close frame); refused
    /// by other sessions.
    pub fn reset(&self) -> Result<(), String> {
        self.commands
            .send(Command::Reset)
            .map_err(|_| "the connection has ended".to_owned())
    }

    /// Cancels the connection attempt, or closes with 1000 Normal Closure.
    pub fn disconnect(&self) {
        let _ = self.commands.send(Command::Disconnect);
    }
}
