//! [`Session`]: the UI's handle on one connection (commands in, shared state out).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::mpsc;
use ws_tokio::Outgoing;

use super::state::{SessionState, lock};
use super::tasks::Tasks;

/// The UI's handle on one connection. Dropping it lets the connection go away politely
/// (the driver sends 1001 Going Away).
#[derive(Debug)]
pub struct Session {
    pub(super) shared: Arc<Mutex<SessionState>>,
    pub(super) commands: mpsc::UnboundedSender<Command>,
}

#[derive(Debug)]
pub(super) enum Command {
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

    /// Cancels the connection attempt, or closes with 1000 Normal Closure.
    pub fn disconnect(&self) {
        let _ = self.commands.send(Command::Disconnect);
    }
}
