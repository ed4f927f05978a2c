//! Playing a capture back, GUI-free, for the inspector and `wsi`:
//!
//! - **Replay** ([`replay`]): the capture's client messages sent again to a URL, from a
//!   session of its own (so its log, handshake and graphs show as a live tab's), on the
//!   capture's timing or as fast as possible; then the server's text and binary answers now
//!   are compared with its answers then ([`compare`]), and the capture's close is sent. The
//!   client's pongs are not replayed (auto-pong answers the server's pings as they come).
//! - **Serve** ([`ServedScript`], given to a listener in
//!   [`ServerChoices::script`](crate::listener::ServerChoices::script)): each client gets the
//!   capture's server messages in order, each sent once the client has sent as many messages
//!   as the capture's client had before it (an answer follows its question), or on the
//!   original timing. The server's pongs are not replayed either.
//!
//! `wsi replay` and `wsi serve` use the same plan ([`ReplayPlan`], [`cues`]) and comparison.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::mpsc;
use ws_tokio::ws_proto::CloseCode;
use ws_tokio::ws_proto::bytes::Bytes;
use ws_tokio::{ConnectOptions, Message, Outgoing};

use super::script::{Script, ScriptMessage, Side};
use crate::log::LogStore;
use crate::notify::Notify;
use crate::session::handle::Command;
use crate::session::{Net, Session, SessionOptions, SessionState};

/// What a replay sends and expects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayPlan {
    /// The client's messages and when (since the opening), pongs and the close left out.
    pub sends: Vec<(Duration, Outgoing)>,
    /// The capture client's close (code and reason), sent last; 1000 when it has none.
    pub close: (Option<CloseCode>, String),
    /// The server's text and binary messages, in order: what the answers are compared with.
    pub expected: Vec<ScriptMessage>,
}

/// The replay of `script`.
pub fn replay_plan(script: &Script) -> ReplayPlan {
    let mut sends = Vec::new();
    let mut close = (Some(CloseCode::NORMAL), String::new());
    for step in script.from(Side::Client) {
        let outgoing = match &step.message {
            ScriptMessage::Close(code, reason) => {
                close = (code.map(CloseCode::from), reason.clone());
                continue;
            }
            ScriptMessage::Pong(_) => continue,
            message => outgoing(message),
        };
        sends.push((step.at, outgoing));
    }
    let expected = script
        .from(Side::Server)
        .map(|s| s.message.clone())
        .filter(|m| matches!(m, ScriptMessage::Text(_) | ScriptMessage::Binary(_)))
        .collect();
    ReplayPlan {
        sends,
        close,
        expected,
    }
}

/// A message of a script as something to send.
fn outgoing(message: &ScriptMessage) -> Outgoing {
    match message {
        ScriptMessage::Text(text) => Outgoing::Text(text.clone()),
        ScriptMessage::Binary(data) => Outgoing::Binary(Bytes::from(data.clone())),
        ScriptMessage::Ping(data) => Outgoing::Ping(Bytes::from(data.clone())),
        ScriptMessage::Pong(data) => Outgoing::Pong(Bytes::from(data.clone())),
        ScriptMessage::Close(code, reason) => {
            Outgoing::Close(code.map(CloseCode::from), reason.clone())
        }
    }
}

/// A text or binary message received, as a script message (others: `None`).
pub fn answer(message: &Message) -> Option<ScriptMessage> {
    match message {
        Message::Text(text) => Some(ScriptMessage::Text(text.as_str().to_owned())),
        Message::Binary(data) => Some(ScriptMessage::Binary(data.to_vec())),
        _ => None,
    }
}

/// The differences between the answers then and now, in plain words (none: the same, in
/// order).
pub fn compare(then: &[ScriptMessage], now: &[ScriptMessage]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, (a, b)) in then.iter().zip(now).enumerate() {
        if a != b {
            out.push(format!(
                "answer {}: the capture has {}, the server sent {}",
                i + 1,
                show(a),
                show(b)
            ));
        }
    }
    if now.len() < then.len() {
        out.push(format!(
            "{} answers of the capture did not come (the first: {})",
            then.len() - now.len(),
            show(&then[now.len()])
        ));
    } else if now.len() > then.len() {
        out.push(format!(
            "the server sent {} answers more than the capture holds (the first: {})",
            now.len() - then.len(),
            show(&now[then.len()])
        ));
    }
    out
}

/// A message in a few words: `text "hello"`, `binary 3 bytes 010203`.
pub fn show(message: &ScriptMessage) -> String {
    const MAX: usize = 60;
    match message {
        ScriptMessage::Text(text) if text.chars().count() > MAX => {
            format!("text {:?}…", text.chars().take(MAX).collect::<String>())
        }
        ScriptMessage::Text(text) => format!("text {text:?}"),
        ScriptMessage::Binary(data) => format!(
            "binary {} bytes {}",
            data.len(),
            crate::hex::hex_compact(&data[..data.len().min(16)])
        ),
        other => format!("{other:?}"),
    }
}

/// Where a replay has got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplayPhase {
    /// Waiting for the connection to open.
    Connecting,
    /// Sending the capture's messages: this many of the total so far.
    Sending {
        /// Sent so far.
        sent: usize,
        /// To send.
        total: usize,
    },
    /// Everything is sent; waiting (up to the wait given) for the answers.
    Answers {
        /// Answers so far.
        received: usize,
        /// Answers the capture holds.
        expected: usize,
    },
    /// Done: what was sent and received, and how the answers differ (empty: the same).
    Done {
        /// Messages sent.
        sent: usize,
        /// Answers received.
        received: usize,
        /// The differences, in plain words.
        differences: Vec<String>,
    },
    /// The connection did not open, or ended before the replay did.
    Failed(String),
}

/// A replay under way: its phase, updated by its task.
#[derive(Clone, Debug)]
pub struct Replay {
    phase: Arc<Mutex<ReplayPhase>>,
}

impl Replay {
    /// Where it has got.
    pub fn phase(&self) -> ReplayPhase {
        self.phase
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set(&self, phase: ReplayPhase, notify: &Notify) {
        *self.phase.lock().unwrap_or_else(PoisonError::into_inner) = phase;
        notify.now();
    }
}

/// Connects with `options` and replays `script` on the connection: see the
/// [module docs](self). `fast`: as fast as possible instead of on the capture's timing;
/// `wait`: how long to wait for the answers after the last message. `previous` is the log
/// kept above the session's, as for [`Net::connect`].
pub fn replay(
    net: &Net,
    options: ConnectOptions,
    script: &Script,
    fast: bool,
    wait: Duration,
    notify: Notify,
    previous: Option<LogStore>,
) -> (Session, Replay) {
    let (observer, observed) = mpsc::unbounded_channel();
    let extras = SessionOptions {
        observer: Some(observer),
        ..SessionOptions::default()
    };
    let session = net.connect_with(options, notify.clone(), previous, extras);
    let replay = Replay {
        phase: Arc::new(Mutex::new(ReplayPhase::Connecting)),
    };
    let run = Running {
        commands: session.commands.clone(),
        shared: session.shared.clone(),
        observed,
        plan: replay_plan(script),
        fast,
        wait,
        replay: replay.clone(),
        notify,
    };
    net.tasks().spawn("capture replay", run.run());
    (session, replay)
}

/// A replay's task and what it works with.
struct Running {
    commands: mpsc::UnboundedSender<Command>,
    shared: Arc<Mutex<SessionState>>,
    observed: mpsc::UnboundedReceiver<Message>,
    plan: ReplayPlan,
    fast: bool,
    wait: Duration,
    replay: Replay,
    notify: Notify,
}

impl Running {
    async fn run(mut self) {
        if let Err(reason) = self.opened().await {
            self.replay.set(ReplayPhase::Failed(reason), &self.notify);
            return;
        }
        let opened = tokio::time::Instant::now();
        let total = self.plan.sends.len();
        let mut received = Vec::new();
        let sends = std::mem::take(&mut self.plan.sends);
        for (sent, (at, outgoing)) in sends.into_iter().enumerate() {
            self.replay
                .set(ReplayPhase::Sending { sent, total }, &self.notify);
            if !self.fast {
                let due = opened + at;
                // Answers are taken in while waiting for the next message's time.
                while tokio::time::Instant::now() < due {
                    tokio::select! {
                        () = tokio::time::sleep_until(due) => {}
                        message = self.observed.recv() => match message {
                            Some(message) => received.extend(answer(&message)),
                            None => break,
                        },
                    }
                }
            }
            if self.commands.send(Command::Send(vec![outgoing])).is_err() {
                self.replay.set(
                    ReplayPhase::Failed(format!(
                        "the connection ended after {sent} of {total} messages"
                    )),
                    &self.notify,
                );
                return;
            }
        }
        let expected = self.plan.expected.len();
        let deadline = tokio::time::Instant::now() + self.wait;
        while received.len() < expected {
            self.replay.set(
                ReplayPhase::Answers {
                    received: received.len(),
                    expected,
                },
                &self.notify,
            );
            match tokio::time::timeout_at(deadline, self.observed.recv()).await {
                Ok(Some(message)) => received.extend(answer(&message)),
                Ok(None) | Err(_) => break,
            }
        }
        let (code, reason) = self.plan.close.clone();
        let _ = self
            .commands
            .send(Command::Send(vec![Outgoing::Close(code, reason)]));
        // Answers that came with the close.
        while let Ok(Some(message)) =
            tokio::time::timeout(Duration::from_secs(5), self.observed.recv()).await
        {
            received.extend(answer(&message));
        }
        let differences = compare(&self.plan.expected, &received);
        self.replay.set(
            ReplayPhase::Done {
                sent: total,
                received: received.len(),
                differences,
            },
            &self.notify,
        );
    }

    /// Waits until the connection is open; why not, if it ends first.
    async fn opened(&self) -> Result<(), String> {
        crate::session::task::opened(&self.shared).await.map(drop)
    }
}

/// One message a served capture sends, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cue {
    /// Send once the client has sent this many text or binary messages.
    pub after_client: usize,
    /// Or, on the original timing, this long after the opening.
    pub at: Duration,
    /// The message.
    pub message: Outgoing,
}

/// The server's messages of `script`, each with the number of client messages before it.
pub fn cues(script: &Script) -> Vec<Cue> {
    let mut client_messages = 0;
    let mut cues = Vec::new();
    for step in &script.steps {
        match (&step.from, &step.message) {
            (Side::Client, ScriptMessage::Text(_) | ScriptMessage::Binary(_)) => {
                client_messages += 1;
            }
            (Side::Client, _) | (Side::Server, ScriptMessage::Pong(_)) => {}
            (Side::Server, message) => cues.push(Cue {
                after_client: client_messages,
                at: step.at,
                message: outgoing(message),
            }),
        }
    }
    cues
}

/// A capture served to each client of a listener: see the [module docs](self).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServedScript {
    /// What to send, in order.
    pub cues: Vec<Cue>,
    /// Send on the capture's timing instead of after each question.
    pub original_timing: bool,
    /// Where the capture came from, for the listener's tab.
    pub source: String,
}

impl ServedScript {
    /// `script` served, named `source`.
    pub fn new(script: &Script, original_timing: bool, source: impl Into<String>) -> Self {
        Self {
            cues: cues(script),
            original_timing,
            source: source.into(),
        }
    }

    /// Plays the cues to one client: its messages come in through `observed`, ours go out
    /// through `commands`, until the client's connection ends.
    pub(crate) async fn play(
        self: Arc<Self>,
        commands: mpsc::WeakUnboundedSender<Command>,
        mut observed: mpsc::UnboundedReceiver<Message>,
    ) {
        let opened = tokio::time::Instant::now();
        let mut next = 0;
        let mut received = 0usize;
        loop {
            while let Some(cue) = self.cues.get(next) {
                let due = match self.original_timing {
                    true => tokio::time::Instant::now() >= opened + cue.at,
                    false => received >= cue.after_client,
                };
                if !due {
                    break;
                }
                next += 1;
                let Some(commands) = commands.upgrade() else {
                    return;
                };
                if commands
                    .send(Command::Send(vec![cue.message.clone()]))
                    .is_err()
                {
                    return;
                }
            }
            let timer = match self.cues.get(next) {
                Some(cue) if self.original_timing => Some(opened + cue.at),
                _ => None,
            };
            let message = tokio::select! {
                message = observed.recv() => message,
                () = sleep_until(timer), if timer.is_some() => continue,
            };
            match message {
                None => return,
                Some(Message::Text(_) | Message::Binary(_)) => received += 1,
                Some(_) => {}
            }
        }
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::script::Step;

    fn step(from: Side, at_ms: u64, message: ScriptMessage) -> Step {
        Step {
            from,
            at: Duration::from_millis(at_ms),
            message,
        }
    }

    fn script() -> Script {
        Script {
            steps: vec![
                step(Side::Server, 0, ScriptMessage::Text("welcome".into())),
                step(Side::Client, 10, ScriptMessage::Text("q1".into())),
                step(Side::Client, 12, ScriptMessage::Ping(vec![1])),
                step(Side::Server, 13, ScriptMessage::Pong(vec![1])),
                step(Side::Server, 15, ScriptMessage::Text("a1".into())),
                step(Side::Client, 20, ScriptMessage::Binary(vec![2])),
                step(Side::Client, 21, ScriptMessage::Pong(vec![9])),
                step(
                    Side::Client,
                    30,
                    ScriptMessage::Close(Some(4000), "done".into()),
                ),
                step(
                    Side::Server,
                    31,
                    ScriptMessage::Close(Some(4000), "done".into()),
                ),
            ],
            ..Script::default()
        }
    }

    #[test]
    fn each_answer_waits_for_the_question_before_it() {
        let got: Vec<(usize, Outgoing)> = cues(&script())
            .into_iter()
            .map(|c| (c.after_client, c.message))
            .collect();
        assert_eq!(
            got,
            vec![
                (0, Outgoing::Text("welcome".into())),
                (1, Outgoing::Text("a1".into())),
                (2, Outgoing::Close(Some(CloseCode(4000)), "done".into())),
            ]
        );
    }

    #[test]
    fn a_replay_sends_the_client_side_and_expects_the_server_side() {
        let plan = replay_plan(&script());
        assert_eq!(
            plan.sends,
            vec![
                (Duration::from_millis(10), Outgoing::Text("q1".into())),
                (
                    Duration::from_millis(12),
                    Outgoing::Ping(Bytes::from_static(&[1]))
                ),
                (
                    Duration::from_millis(20),
                    Outgoing::Binary(Bytes::from_static(&[2]))
                ),
            ],
            "no pong, the close last"
        );
        assert_eq!(plan.close, (Some(CloseCode(4000)), "done".to_owned()));
        assert_eq!(
            plan.expected,
            vec![
                ScriptMessage::Text("welcome".into()),
                ScriptMessage::Text("a1".into())
            ]
        );
    }

    #[test]
    fn differences_are_listed_in_order() {
        let a = ScriptMessage::Text("a".into());
        let b = ScriptMessage::Text("b".into());
        assert!(compare(&[a.clone(), b.clone()], &[a.clone(), b.clone()]).is_empty());
        let diff = compare(&[a.clone(), b.clone()], &[a.clone(), a.clone()]);
        assert_eq!(diff.len(), 1);
        assert!(diff[0].contains("answer 2"), "{diff:?}");
        assert!(
            compare(&[a.clone(), b.clone()], std::slice::from_ref(&a))[0].contains("did not come")
        );
        assert!(compare(std::slice::from_ref(&a), &[a.clone(), b])[0].contains("more"));
        assert_eq!(
            show(&ScriptMessage::Binary(vec![1, 2, 3])),
            "binary 3 bytes 010203"
        );
    }
}
