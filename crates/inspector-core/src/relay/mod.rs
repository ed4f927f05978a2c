//! The relay: a client's connection (the relay is its server) forwarded to an upstream
//! server (the relay is its client), message for message, both ways, until both legs end.
//!
//! What is forwarded, and how faithfully:
//! - text and binary messages, frame for frame: both legs run with
//!   [`deliver_fragments`](ws_tokio::ws_proto::Config::deliver_fragments) on (as
//!   [`leg_config`] sets), so each fragment of a fragmented message is sent on as a
//!   fragment as soon as it has arrived — the same opcodes, boundaries and number of
//!   frames, pings and pongs between them in their place — and a message in one frame
//!   leaves in one frame. With permessage-deflate a fragment is forwarded as its inflated
//!   data and compressed again by the other leg, which has its own compression context: the
//!   boundaries are kept, the compressed bytes cannot be. [`leg_config_whole`] forwards
//!   whole messages instead (the engine assembles them; each leg's tap still shows its own
//!   frames exactly);
//! - pings and pongs, when both legs run with auto-pong off (as [`leg_config`] sets): a
//!   client's ping reaches the server and the server's pong comes back, so the round trip
//!   is the real one, never the relay's answer;
//! - the close handshake, with auto close reply off on both legs (as [`leg_config`] sets):
//!   a close from one side is sent on to the other with its code and reason, and the other
//!   side's answer is sent back as the reply. Each leg's close timeout still ends a leg
//!   whose peer never answers.
//!
//! When one leg fails (a protocol error, a connection lost — mid-frame or not), the other is
//! closed with 1011 (RFC 6455 §7.4.1: an unexpected condition prevented the relay from
//! going on; 1006 is never sent in a close frame) and a reason that says which leg failed
//! and why, as that leg's log does. A leg that ends without a close frame and without an
//! error closes the other with 1001 Going Away.
//!
//! `wsi relay` runs this for each client; the inspector's relay tabs run the same code
//! through [`Net::relay`](crate::Net::relay) ([`serve`]), with the upstream handshake built
//! from the client's ([`upstream`]).
//!
//! A message sent whole while a fragmented one is being forwarded (a held message
//! released, one the user injects) waits for the fragmented one's last frame: a message
//! cannot start inside another. Intercept and the faults that change a message (hold,
//! drop, delay, re-fragment, RSV bits, a corrupted byte) work on whole messages: while any
//! of them is on, a fragmented message is assembled first, then held or changed as one.
//!
//! The relay tabs add intercept and fault injection ([`control`]): held messages, edited
//! or dropped ones, delays, drops, re-fragmenting, RSV bits, corrupted bytes, pings not
//! forwarded, delayed pongs, a close or a reset on demand, each marked in the log of the
//! leg it concerns. `wsi relay` forwards untouched ([`run`]).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use ws_tokio::ws_proto::{CloseCode, Config};
use ws_tokio::{Error, Message, Outgoing, ReadHalf, WriteHalf, WsStream};

use crate::session::SessionState;
use crate::session::state::lock as lock_state;
use control::{
    ClientControl, Faults, Held, Release, Releases, Way, describe, dropped, faulty_frames,
    message_delay,
};

pub use crate::capture::Leg;
pub use serve::{Relay, RelayOptions, RelayedClient};

pub mod control;
pub mod pairing;
pub mod serve;
pub mod upstream;

/// How one leg of a relay ended.
#[derive(Debug)]
pub enum LegEnd {
    /// The leg's peer sent a close frame with this code (1005 for none) and reason.
    Closed {
        /// The code.
        code: CloseCode,
        /// The reason.
        reason: String,
    },
    /// The leg failed: a protocol error, a lost connection, a timeout.
    Failed(Error),
    /// The leg ended with no close frame from its peer (the other side closed it).
    Ended,
}

/// How a relayed connection ended, leg by leg, and what crossed it.
#[derive(Debug)]
pub struct RelayReport {
    /// The client's leg: what the client did.
    pub client: LegEnd,
    /// The server's leg: what the server did.
    pub server: LegEnd,
    /// Messages (and pings, pongs; each fragment of a fragmented message forwarded frame
    /// for frame) forwarded from the client to the server.
    pub to_server: u64,
    /// The same from the server to the client.
    pub to_client: u64,
}

/// The engine options for a leg: `base` with auto-pong and the automatic close reply off,
/// so that the relay forwards pings, pongs and closes instead of answering them itself, and
/// fragments given as they arrive, so that it forwards frame for frame.
pub fn leg_config(base: Config) -> Config {
    let mut config = leg_config_whole(base);
    config.deliver_fragments = true;
    config
}

/// [`leg_config`] for forwarding whole messages: a fragmented message is assembled on
/// the leg it arrives on and leaves in one frame.
pub fn leg_config_whole(mut base: Config) -> Config {
    base.auto_pong = false;
    base.auto_close_reply = false;
    base.deliver_fragments = false;
    base
}

/// Forwards between `client` and `server` until both legs have ended. Run both legs with
/// [`leg_config`]: with auto-pong or the automatic close reply on, a leg answers for the
/// other side.
pub async fn run<C, S>(client: WsStream<C>, server: WsStream<S>) -> RelayReport
where
    C: AsyncRead + AsyncWrite + Unpin + Send,
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    run_controlled(client, server, None).await
}

/// What the relay tabs add to [`run`]: intercept and faults ([`control`]), and each leg's
/// state for the marks in its log.
pub(crate) struct Controlled {
    /// The client's held messages and settings.
    pub(crate) control: Arc<ClientControl>,
    /// The user's releases, each way.
    pub(crate) releases: Releases,
    /// The client leg's state (faults towards the client are marked there).
    pub(crate) client_state: Arc<Mutex<SessionState>>,
    /// The server leg's state.
    pub(crate) server_state: Arc<Mutex<SessionState>>,
    /// Told when the user resets the connection: both directions stop at once.
    pub(crate) reset: Arc<tokio::sync::Notify>,
    /// The legs answer pings themselves: pings and pongs are not forwarded.
    pub(crate) answer_pings: bool,
    /// A second handle on the client's socket: a reset sets it to linger 0, so that its
    /// close, when the relay drops its streams, is an RST.
    pub(crate) socket: Option<Arc<tokio::net::TcpStream>>,
}

/// [`run`], with the intercept and faults of `controlled`.
pub(crate) async fn run_controlled<C, S>(
    client: WsStream<C>,
    server: WsStream<S>,
    controlled: Option<Controlled>,
) -> RelayReport
where
    C: AsyncRead + AsyncWrite + Unpin + Send,
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let (to_server, to_client) = match controlled {
        Some(Controlled {
            control,
            releases: [to_server, to_client],
            client_state,
            server_state,
            reset,
            answer_pings,
            socket,
        }) => (
            Some(Direction {
                way: Way::ToServer,
                control: control.clone(),
                releases: to_server,
                destination: server_state,
                masked: true,
                reset: reset.clone(),
                answer_pings,
                socket: socket.clone(),
                fragmented: Fragmented::None,
            }),
            Some(Direction {
                way: Way::ToClient,
                control,
                releases: to_client,
                destination: client_state,
                masked: false,
                reset,
                answer_pings,
                socket,
                fragmented: Fragmented::None,
            }),
        ),
        None => (None, None),
    };
    let ((client_end, to_server), (server_end, to_client)) = tokio::join!(
        forward(client_read, server_write, Leg::Client, to_server),
        forward(server_read, client_write, Leg::Server, to_client),
    );
    RelayReport {
        client: client_end,
        server: server_end,
        to_server,
        to_client,
    }
}

/// One direction's intercept and faults.
struct Direction {
    way: Way,
    control: Arc<ClientControl>,
    releases: mpsc::UnboundedReceiver<Release>,
    /// The state of the leg the messages go to (the marks go there).
    destination: Arc<Mutex<SessionState>>,
    /// The relay is the client of the destination leg: raw frames are masked.
    masked: bool,
    reset: Arc<tokio::sync::Notify>,
    /// Each leg answers its pings: pings and pongs stay on their leg.
    answer_pings: bool,
    /// The client's socket, for a reset.
    socket: Option<Arc<tokio::net::TcpStream>>,
    /// What is being done with the fragmented message under way.
    fragmented: Fragmented,
}

/// A fragmented message under way, in one direction with intercept and faults.
enum Fragmented {
    /// None is.
    None,
    /// Its fragments are forwarded as they come (nothing was held or faulty when it began).
    Passing,
    /// It is assembled, to be held or changed whole: its type and data so far.
    Assembling(ws_tokio::ws_proto::MessageKind, Vec<u8>),
}

impl Direction {
    fn mark(&self, what: String) {
        lock_state(&self.destination).mark_fault(what);
    }

    /// Whether a message beginning now must be taken whole: held messages are waiting or
    /// will be, or a fault changes messages this way.
    fn needs_whole(&self) -> bool {
        let settings = self.control.settings();
        let way = self.way.index();
        let faults = &settings.faults[way];
        settings.paused[way]
            || !self.control.held_queue(self.way).is_empty()
            || faults.changes_messages()
    }

    /// A fragment through the intercept: forwarded as it is, or kept until its message is
    /// whole; returns the whole message once its last fragment came.
    fn fragment(
        &mut self,
        kind: ws_tokio::ws_proto::MessageKind,
        data: ws_tokio::ws_proto::bytes::Bytes,
        fin: bool,
    ) -> FragmentStep {
        if matches!(self.fragmented, Fragmented::None) {
            self.fragmented = if self.needs_whole() {
                Fragmented::Assembling(kind, Vec::new())
            } else {
                Fragmented::Passing
            };
        }
        match &mut self.fragmented {
            Fragmented::Assembling(kind, so_far) => {
                so_far.extend_from_slice(&data);
                if !fin {
                    return FragmentStep::Kept;
                }
                let kind = *kind;
                let Fragmented::Assembling(_, whole) =
                    std::mem::replace(&mut self.fragmented, Fragmented::None)
                else {
                    return FragmentStep::Kept;
                };
                FragmentStep::Whole(whole_message(kind, whole))
            }
            _ => {
                if fin {
                    self.fragmented = Fragmented::None;
                }
                FragmentStep::Forward(Outgoing::Fragment { kind, data, fin })
            }
        }
    }
}

/// What [`Direction::fragment`] makes of a fragment.
enum FragmentStep {
    /// Send it on as it is.
    Forward(Outgoing),
    /// Kept: its message is being assembled.
    Kept,
    /// The message it ended, whole.
    Whole(Outgoing),
}

/// An assembled message as it will be sent. The engine checked text across its fragments.
fn whole_message(kind: ws_tokio::ws_proto::MessageKind, data: Vec<u8>) -> Outgoing {
    match kind {
        ws_tokio::ws_proto::MessageKind::Text => Outgoing::Text(
            String::from_utf8(data)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        ),
        ws_tokio::ws_proto::MessageKind::Binary => Outgoing::Binary(data.into()),
    }
}

/// What to do next, in [`forward`]'s loop.
enum Step {
    Received(Option<Result<Message, Error>>),
    Release(Option<Release>),
    Due,
    Reset,
}

/// Reads `from` until it ends, sending each message on to `to` (through `direction`'s
/// intercept and faults, when there is one); returns how `from` ended and how many
/// messages crossed.
async fn forward<A, B>(
    mut from: ReadHalf<A>,
    to: WriteHalf<B>,
    leg: Leg,
    mut direction: Option<Direction>,
) -> (LegEnd, u64)
where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    let mut out = Outbox {
        to,
        delayed: VecDeque::new(),
        forwarded: 0,
        gone: false,
        mid_message: false,
        after_message: VecDeque::new(),
    };
    let mut end = LegEnd::Ended;
    let mut next_id = 0u64;
    loop {
        let due = out.delayed.front().map(|(at, _)| *at);
        let step = match direction.as_mut() {
            // Untouched forwarding: nothing is ever delayed or held.
            None => Step::Received(from.recv().await),
            Some(d) => tokio::select! {
                received = from.recv() => Step::Received(received),
                release = d.releases.recv() => Step::Release(release),
                () = sleep_until(due), if due.is_some() => Step::Due,
                () = d.reset.notified() => Step::Reset,
            },
        };
        match step {
            Step::Received(None) => break,
            Step::Received(Some(Err(error))) => {
                out.flush_delayed().await;
                if !out.to.is_closed() {
                    let reason = format!("the {} leg failed: {error}", leg.as_str());
                    let _ = out
                        .to
                        .close(Some(CloseCode::INTERNAL_ERROR), &close_reason(&reason))
                        .await;
                }
                end = LegEnd::Failed(error);
                break;
            }
            Step::Received(Some(Ok(message))) => {
                let outgoing = match message {
                    Message::Text(text) => Outgoing::Text(text.as_str().to_owned()),
                    Message::Binary(data) => Outgoing::Binary(data),
                    Message::Fragment { kind, data, fin } => Outgoing::Fragment { kind, data, fin },
                    Message::Ping(data) => Outgoing::Ping(data),
                    Message::Pong(data) => Outgoing::Pong(data),
                    Message::Close(frame) => {
                        end = LegEnd::Closed {
                            code: frame.code_or_no_status(),
                            reason: frame.reason.clone(),
                        };
                        // 1005 (no code) is not sent on the wire: an empty close goes on empty.
                        Outgoing::Close(frame.code, frame.reason)
                    }
                };
                match (direction.as_mut(), outgoing) {
                    (None, outgoing) => out.send(outgoing).await,
                    (Some(d), Outgoing::Fragment { kind, data, fin }) => {
                        match d.fragment(kind, data, fin) {
                            FragmentStep::Forward(fragment) => out.send_in_order(fragment).await,
                            FragmentStep::Kept => {}
                            FragmentStep::Whole(message) => {
                                next_id += 1;
                                route(d, &mut out, message, next_id).await;
                            }
                        }
                    }
                    (Some(d), outgoing) => {
                        next_id += 1;
                        route(d, &mut out, outgoing, next_id).await;
                    }
                }
            }
            Step::Release(None) => {
                // The tab is gone: nothing more will be released; forward what is held.
                if let Some(d) = direction.take() {
                    let held: Vec<Held> = d.control.held_queue(d.way).drain(..).collect();
                    for held in held {
                        out.send(held.message).await;
                    }
                    // A message being assembled goes on as a first fragment; the rest of
                    // its fragments follow it as they come.
                    if let Fragmented::Assembling(kind, so_far) = d.fragmented {
                        let data = so_far.into();
                        out.send(Outgoing::Fragment {
                            kind,
                            data,
                            fin: false,
                        })
                        .await;
                    }
                }
            }
            Step::Release(Some(release)) => {
                if let Some(d) = direction.as_ref()
                    && release_one(d, &mut out, release).await
                {
                    // Reset: the other direction stops too, and the relay drops the sockets.
                    d.reset.notify_waiters();
                    return (LegEnd::Ended, out.forwarded);
                }
            }
            Step::Due => out.send_due().await,
            Step::Reset => return (LegEnd::Ended, out.forwarded),
        }
    }
    out.flush_delayed().await;
    if matches!(end, LegEnd::Ended) && !out.to.is_closed() {
        let reason = format!("the {} leg ended without a close", leg.as_str());
        let _ = out
            .to
            .close(Some(CloseCode::GOING_AWAY), &close_reason(&reason))
            .await;
    }
    (end, out.forwarded)
}

/// A received message through the intercept and the faults.
async fn route<B>(d: &Direction, out: &mut Outbox<B>, message: Outgoing, id: u64)
where
    B: AsyncRead + AsyncWrite + Unpin,
{
    let settings = d.control.settings();
    let way = d.way.index();
    let faults = &settings.faults[way];
    let data = matches!(message, Outgoing::Text(_) | Outgoing::Binary(_));
    if data {
        let message = {
            let mut held = d.control.held_queue(d.way);
            // Paused, or messages still held before it: it waits its turn.
            if settings.paused[way] || !held.is_empty() {
                held.push_back(Held {
                    id,
                    at: SystemTime::now(),
                    message,
                });
                None
            } else {
                Some(message)
            }
        };
        if let Some(message) = message {
            deliver(d, out, message, faults).await;
        }
        return;
    }
    match message {
        // Answered on their own leg (auto-pong chosen): not forwarded.
        Outgoing::Ping(_) | Outgoing::Pong(_) if d.answer_pings => {}
        Outgoing::Ping(_) if faults.drop_pings => {
            d.mark(format!("ping not forwarded ({})", d.way.label()));
        }
        Outgoing::Pong(_) if faults.pong_delay_ms > 0 => {
            let delay = Duration::from_millis(faults.pong_delay_ms);
            d.mark(format!("pong delayed by {} ms", faults.pong_delay_ms));
            out.later(delay, message);
        }
        message => out.send_in_order(message).await,
    }
}

/// A text or binary message leaving, with the faults applied.
async fn deliver<B>(d: &Direction, out: &mut Outbox<B>, message: Outgoing, faults: &Faults)
where
    B: AsyncRead + AsyncWrite + Unpin,
{
    if dropped(faults.drop_percent) {
        d.mark(format!(
            "{} dropped ({} % of messages {})",
            describe(&message),
            faults.drop_percent,
            d.way.label()
        ));
        return;
    }
    let frames = match faulty_frames(&message, faults, d.masked) {
        Some((frames, said)) => {
            d.mark(format!("{}: {}", describe(&message), said.join(", ")));
            frames
        }
        None => vec![message],
    };
    let delay = message_delay(faults);
    if delay.is_zero() {
        for frame in frames {
            out.send_in_order(frame).await;
        }
    } else {
        d.mark(format!("message delayed by {} ms", delay.as_millis()));
        for frame in frames {
            out.later(delay, frame);
        }
    }
}

/// Does what the user asked; returns whether the connection is to be reset.
async fn release_one<B>(d: &Direction, out: &mut Outbox<B>, release: Release) -> bool
where
    B: AsyncRead + AsyncWrite + Unpin,
{
    let faults = d.control.settings().faults[d.way.index()].clone();
    let take = |id: u64| {
        let mut held = d.control.held_queue(d.way);
        let i = held.iter().position(|h| h.id == id)?;
        held.remove(i)
    };
    match release {
        Release::Forward(id) => {
            if let Some(held) = take(id) {
                deliver(d, out, held.message, &faults).await;
            }
        }
        Release::Replace(id, message) => {
            if take(id).is_some() {
                d.mark(format!(
                    "held message edited, then forwarded as a {}",
                    describe(&message)
                ));
                deliver(d, out, message, &faults).await;
            }
        }
        Release::Drop(id) => {
            if let Some(held) = take(id) {
                d.mark(format!(
                    "held {} dropped by the user",
                    describe(&held.message)
                ));
            }
        }
        Release::ForwardAll => {
            let held: Vec<Held> = d.control.held_queue(d.way).drain(..).collect();
            for held in held {
                deliver(d, out, held.message, &faults).await;
            }
        }
        Release::Inject(message) => {
            d.mark(format!("{} injected by the user", describe(&message)));
            out.send_in_order(message).await;
        }
        Release::Close(code, reason) => {
            let code_text = code.map_or_else(|| "no code".to_owned(), |c| c.to_string());
            d.mark(format!("closed by the user with {code_text}"));
            out.flush_delayed().await;
            let _ = out.to.close(code, &reason).await;
        }
        Release::Reset => {
            // Linger 0: however the streams go from here, the socket's close is an RST.
            if let Some(socket) = &d.socket {
                let _ = socket.set_zero_linger();
            }
            d.mark("the TCP connection reset by the user".to_owned());
            return true;
        }
    }
    false
}

/// The sending side of a direction: messages waiting for their time, in order.
struct Outbox<B> {
    to: WriteHalf<B>,
    delayed: VecDeque<(tokio::time::Instant, Outgoing)>,
    forwarded: u64,
    /// The other side cannot take more (closed, or a send failed).
    gone: bool,
    /// A fragmented message is being sent: a whole message cannot start until it ends.
    mid_message: bool,
    /// Whole messages waiting for the fragmented one's last frame.
    after_message: VecDeque<Outgoing>,
}

impl<B> Outbox<B>
where
    B: AsyncRead + AsyncWrite + Unpin,
{
    /// Sends now — a whole message after the fragmented one being sent, if there is one.
    async fn send(&mut self, message: Outgoing) {
        if self.mid_message && matches!(message, Outgoing::Text(_) | Outgoing::Binary(_)) {
            self.after_message.push_back(message);
            return;
        }
        let ends_fragments = match &message {
            Outgoing::Fragment { fin, .. } => {
                self.mid_message = !fin;
                *fin
            }
            _ => false,
        };
        self.send_now(message).await;
        if ends_fragments {
            while let Some(waiting) = self.after_message.pop_front() {
                self.send_now(waiting).await;
            }
        }
    }

    async fn send_now(&mut self, message: Outgoing) {
        if self.gone || self.to.is_closed() {
            // Nothing can go on; the caller keeps reading so that its leg's close completes.
            self.gone = true;
            return;
        }
        match self.to.send(message).await {
            Ok(()) => self.forwarded += 1,
            Err(_) => self.gone = true,
        }
    }

    /// Sends now, or after the messages still waiting, to keep the order.
    async fn send_in_order(&mut self, message: Outgoing) {
        match self.delayed.back() {
            Some((at, _)) => {
                let at = *at;
                self.delayed.push_back((at, message));
            }
            None => self.send(message).await,
        }
    }

    /// Sends `delay` from now (never before a message queued earlier).
    fn later(&mut self, delay: Duration, message: Outgoing) {
        let mut at = tokio::time::Instant::now() + delay;
        if let Some((last, _)) = self.delayed.back() {
            at = at.max(*last);
        }
        self.delayed.push_back((at, message));
    }

    /// Sends every message whose time has come.
    async fn send_due(&mut self) {
        let now = tokio::time::Instant::now();
        while self.delayed.front().is_some_and(|(at, _)| *at <= now) {
            if let Some((_, message)) = self.delayed.pop_front() {
                self.send(message).await;
            }
        }
    }

    /// Sends everything still waiting, at once (the leg is ending). Whole messages that
    /// waited for a fragmented message that will not end now go after its start: the peer
    /// sees the fault of an unfinished message, not the messages lost.
    async fn flush_delayed(&mut self) {
        while let Some((_, message)) = self.delayed.pop_front() {
            self.send(message).await;
        }
        self.mid_message = false;
        while let Some(waiting) = self.after_message.pop_front() {
            self.send_now(waiting).await;
        }
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// `reason` cut to the 123 bytes a close frame has room for, at a character boundary.
fn close_reason(reason: &str) -> String {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_close_reason_fits_a_close_frame() {
        let long = "é".repeat(100);
        let cut = close_reason(&long);
        assert!(cut.len() <= 123);
        assert!(long.starts_with(&cut));
        assert_eq!(close_reason("short"), "short");
    }
}
