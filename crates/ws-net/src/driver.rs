//! The connection driver: one task per connection owns the socket and the
//! [`ws_proto::Connection`]; the user holds a cloneable [`Sender`] and a [`Receiver`].
//!
//! This is `quinn`'s shape. Because the task owns everything, the handles need no lock, are
//! cancel-safe in `tokio::select!` (a `recv` that loses a race loses nothing; a `send` that is
//! cancelled before its command is queued sends nothing), and split for free. Both channels
//! are bounded: a consumer that does not read its messages makes the task stop reading the
//! socket, so TCP flow control slows the peer instead of memory growing.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use ws_proto::bytes::{Bytes, BytesMut};
use ws_proto::http::Response;
use ws_proto::{
    CloseCode, CloseFrame, Connection, Event, FrameHeader, MessageKind, ReadyState, Utf8Bytes,
};

use crate::error::{Error, Stage};
use crate::tap::{Initiator, Tap, TapKind};
use crate::tls::TlsInfo;

/// A message, or a control frame, received from the peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A text message.
    Text(Utf8Bytes),
    /// A binary message.
    Binary(Bytes),
    /// A ping (already answered unless auto-pong is off).
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// The peer's close frame. The connection ends after it.
    Close(CloseFrame),
}

/// What to send: [`Sender::send`] takes one of these.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outgoing {
    /// A text message in one frame.
    Text(String),
    /// A binary message in one frame.
    Binary(Bytes),
    /// One fragment of a message (see [`ws_proto::Connection::send_fragment`]).
    Fragment {
        /// Text or binary.
        kind: MessageKind,
        /// The fragment's payload.
        data: Bytes,
        /// Whether this fragment ends the message.
        fin: bool,
    },
    /// A ping (≤ 125 bytes).
    Ping(Bytes),
    /// A pong (≤ 125 bytes).
    Pong(Bytes),
    /// Start the close handshake; `None` sends an empty close payload.
    Close(Option<CloseCode>, String),
    /// A frame exactly as given (any bits, opcode and mask): for testing peers.
    Raw(FrameHeader, Bytes),
}

struct Command {
    what: Outgoing,
    done: oneshot::Sender<Result<(), Error>>,
}

/// Sends to the connection. Cheap to clone; every clone talks to the same connection.
#[derive(Clone)]
pub struct Sender {
    tx: mpsc::Sender<Command>,
}

impl fmt::Debug for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("closed", &self.tx.is_closed())
            .finish()
    }
}

impl Sender {
    /// Queues `what` and waits until the connection has taken it. Errors: the connection is
    /// closed, or the engine refused (e.g. data after a close frame was sent).
    pub async fn send(&self, what: Outgoing) -> Result<(), Error> {
        let (done, result) = oneshot::channel();
        self.tx
            .send(Command { what, done })
            .await
            .map_err(|_| Error::closed())?;
        result.await.map_err(|_| Error::closed())?
    }

    /// Sends a text message.
    pub async fn send_text(&self, text: impl Into<String>) -> Result<(), Error> {
        self.send(Outgoing::Text(text.into())).await
    }

    /// Sends a binary message.
    pub async fn send_binary(&self, data: impl Into<Bytes>) -> Result<(), Error> {
        self.send(Outgoing::Binary(data.into())).await
    }

    /// Sends a ping.
    pub async fn send_ping(&self, data: impl Into<Bytes>) -> Result<(), Error> {
        self.send(Outgoing::Ping(data.into())).await
    }

    /// Sends a pong.
    pub async fn send_pong(&self, data: impl Into<Bytes>) -> Result<(), Error> {
        self.send(Outgoing::Pong(data.into())).await
    }

    /// Starts the close handshake. The [`Receiver`] ends once it completes (or times out).
    pub async fn close(&self, code: Option<CloseCode>, reason: &str) -> Result<(), Error> {
        self.send(Outgoing::Close(code, reason.to_owned())).await
    }

    /// Whether the connection task has ended.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

/// Receives from the connection: messages, then at most one error, then `None`.
pub struct Receiver {
    rx: mpsc::Receiver<Result<Message, Error>>,
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}

impl Receiver {
    /// The next message; `Some(Err(_))` if the connection failed (protocol error, lost
    /// connection, timeout); `None` once it has ended. Cancel-safe.
    pub async fn recv(&mut self) -> Option<Result<Message, Error>> {
        self.rx.recv().await
    }
}

/// What the opening handshake settled.
#[derive(Clone, Debug)]
pub struct HandshakeInfo {
    /// The request, as sent (client) or received (server).
    pub request: ws_proto::http::Request<()>,
    /// The 101 response, as received (client) or sent (server).
    pub response: Response<()>,
    /// The agreed subprotocol.
    pub protocol: Option<String>,
    /// The agreed extensions.
    pub extensions: Vec<String>,
    /// The TLS session, for wss.
    pub tls: Option<TlsInfo>,
    /// Our address.
    pub local_addr: Option<SocketAddr>,
    /// The peer's address (the proxy's, behind a proxy).
    pub peer_addr: Option<SocketAddr>,
}

/// An open connection: the two handles and what the handshake settled.
#[derive(Debug)]
pub struct WebSocket {
    /// Sends to the peer.
    pub sender: Sender,
    /// Receives from the peer.
    pub receiver: Receiver,
    /// The handshake.
    pub handshake: HandshakeInfo,
}

impl WebSocket {
    /// The two handles, for use in different tasks.
    pub fn split(self) -> (Sender, Receiver) {
        (self.sender, self.receiver)
    }
}

/// Settings of a driver task.
#[derive(Clone, Debug)]
pub(crate) struct DriverSettings {
    pub close_timeout: Duration,
    pub channel_capacity: usize,
    pub tap: Option<Tap>,
}

/// Spawns the task for an open connection and returns its handles.
pub(crate) fn spawn<S>(io: S, conn: Connection, settings: DriverSettings) -> (Sender, Receiver)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (cmd_tx, cmd_rx) = mpsc::channel(settings.channel_capacity.max(1));
    let (msg_tx, msg_rx) = mpsc::channel(settings.channel_capacity.max(1));
    let driver = Driver {
        io,
        conn,
        commands: cmd_rx,
        messages: msg_tx,
        settings,
        read_buf: BytesMut::with_capacity(64 * 1024),
        write_buf: BytesMut::with_capacity(64 * 1024),
        last_state: ReadyState::Open,
        close_deadline: None,
        commands_closed: false,
        closed_by: None,
    };
    tokio::spawn(driver.run());
    (Sender { tx: cmd_tx }, Receiver { rx: msg_rx })
}

struct Driver<S> {
    io: S,
    conn: Connection,
    commands: mpsc::Receiver<Command>,
    messages: mpsc::Sender<Result<Message, Error>>,
    settings: DriverSettings,
    read_buf: BytesMut,
    write_buf: BytesMut,
    last_state: ReadyState,
    close_deadline: Option<Instant>,
    commands_closed: bool,
    /// Who sent the first close frame, once known.
    closed_by: Option<Initiator>,
}

impl<S> Driver<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    async fn run(mut self) {
        let result = self.drive().await;
        let _ = self.io.shutdown().await;
        if let (Err(e), Some(tap)) = (&result, &self.settings.tap) {
            tap.report(TapKind::Error(e.to_string())).await;
        }
        if self.conn.state() != ReadyState::Closed {
            // Lost or timed out: the engine learns that the stream is gone.
            let _ = self.conn.receive_eof();
        }
        self.report_state().await;
        self.report_closed().await;
        if let Err(e) = result {
            let _ = self.messages.send(Err(e)).await;
        }
    }

    async fn drive(&mut self) -> Result<(), Error> {
        loop {
            self.dispatch_events().await?;
            // Input parked during the handshake (frames right behind the 101) or by a pause.
            self.resume_parsing().await?;
            self.flush().await?;
            self.report_state().await;
            if self.conn.should_close_transport() {
                return Ok(());
            }
            if self.close_deadline.is_none()
                && (self.conn.close_expected() || self.conn.state() == ReadyState::Closing)
            {
                self.close_deadline = Some(Instant::now() + self.settings.close_timeout);
            }
            let deadline = self.close_deadline;
            tokio::select! {
                biased;
                read = self.io.read_buf(&mut self.read_buf) => {
                    let n = match read {
                        Ok(n) => n,
                        // A reset after the close handshake completed loses nothing.
                        Err(_) if self.conn.state() == ReadyState::Closed => 0,
                        Err(e) => return Err(crate::tls::stream_error(e)),
                    };
                    if n == 0 {
                        let result = self.conn.receive_eof();
                        self.dispatch_events().await?;
                        return result.map_err(Error::from);
                    }
                    let result = self.conn.receive_data(&self.read_buf);
                    self.read_buf.clear();
                    self.after_input(result).await?;
                    self.resume_parsing().await?;
                }
                command = self.commands.recv(), if !self.commands_closed => {
                    match command {
                        Some(command) => self.run_command(command),
                        None => {
                            self.commands_closed = true;
                            if self.messages.is_closed()
                                && self.conn.send_close(Some(CloseCode::GOING_AWAY), "").is_ok()
                            {
                                // Nobody holds a handle any more: go away politely.
                                self.closed_by.get_or_insert(Initiator::Local);
                            }
                        }
                    }
                }
                () = sleep_until(deadline), if deadline.is_some() => {
                    if self.conn.state() == ReadyState::Closed {
                        // The close handshake is done; the server did not close TCP in time.
                        return Ok(());
                    }
                    return Err(Error::timeout(Stage::Close));
                }
            }
        }
    }

    /// Handles the outcome of feeding input: events go out; on a fault the close frame is
    /// flushed and the fault ends the connection.
    async fn after_input(&mut self, result: Result<(), ws_proto::Error>) -> Result<(), Error> {
        self.dispatch_events().await?;
        if let Err(e) = result {
            self.flush().await?;
            return Err(e.into());
        }
        Ok(())
    }

    /// With [`ws_proto::Config::pause_after_message`] on, parsing stops after each message.
    /// Before the next one is parsed the application gets the chance to answer the message it
    /// just got, so replies keep their order relative to a failure caused by a later frame in
    /// the same read — as with a frame-by-frame reader.
    async fn resume_parsing(&mut self) -> Result<(), Error> {
        while self.conn.is_paused() {
            tokio::task::yield_now().await;
            while let Ok(command) = self.commands.try_recv() {
                self.run_command(command);
            }
            self.flush().await?;
            let result = self.conn.receive_data(&[]);
            self.after_input(result).await?;
        }
        Ok(())
    }

    fn run_command(&mut self, command: Command) {
        let result = self.execute(command.what);
        let _ = command.done.send(result);
    }

    fn execute(&mut self, what: Outgoing) -> Result<(), Error> {
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

    async fn flush(&mut self) -> Result<(), Error> {
        if self.conn.poll_transmit(&mut self.write_buf) > 0 {
            self.io
                .write_all(&self.write_buf)
                .await
                .map_err(crate::tls::stream_error)?;
            self.write_buf.clear();
            self.io.flush().await.map_err(crate::tls::stream_error)?;
        }
        Ok(())
    }

    async fn dispatch_events(&mut self) -> Result<(), Error> {
        while let Some(event) = self.conn.poll_event() {
            let message = match event {
                Event::Frame(frame) => {
                    if let Some(tap) = &self.settings.tap {
                        tap.report(TapKind::Frame(frame)).await;
                    }
                    continue;
                }
                Event::Text(t) => Message::Text(t),
                Event::Binary(b) => Message::Binary(b),
                Event::Ping(b) => Message::Ping(b),
                Event::Pong(b) => Message::Pong(b),
                Event::Close(frame) => {
                    self.closed_by.get_or_insert(Initiator::Remote);
                    Message::Close(frame)
                }
                _ => continue,
            };
            self.deliver(message).await;
        }
        Ok(())
    }

    /// Hands a message to the [`Receiver`], waiting for room in its bounded channel. While it
    /// waits it keeps carrying out commands: a task that alternates `recv` and `send` may be
    /// blocked in `send`, waiting for this very task, and would otherwise never drain the
    /// channel. The commands' frames are queued in the engine and flushed afterwards.
    async fn deliver(&mut self, message: Message) {
        let message = match self.messages.try_send(Ok(message)) {
            // A dropped receiver only means nobody listens; keep the connection going.
            Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => return,
            Err(mpsc::error::TrySendError::Full(message)) => message,
        };
        loop {
            let command = tokio::select! {
                permit = self.messages.reserve() => {
                    if let Ok(permit) = permit {
                        permit.send(message);
                    }
                    return;
                }
                command = self.commands.recv(), if !self.commands_closed => command,
            };
            match command {
                Some(command) => self.run_command(command),
                None => self.commands_closed = true,
            }
        }
    }

    async fn report_state(&mut self) {
        let state = self.conn.state();
        if state != self.last_state {
            self.last_state = state;
            if let Some(tap) = &self.settings.tap {
                tap.report(TapKind::State(state)).await;
            }
        }
    }

    async fn report_closed(&mut self) {
        let Some(tap) = &self.settings.tap else {
            return;
        };
        let conn = &self.conn;
        let initiator = match (self.closed_by, conn.fault()) {
            (Some(who), _) => who,
            (None, Some(ws_proto::ProtocolError::AbnormalClosure) | None) => Initiator::Nobody,
            (None, Some(_)) => Initiator::Local,
        };
        let (code, reason) = match (conn.fault(), conn.close_received()) {
            (Some(fault), _) if !matches!(fault, ws_proto::ProtocolError::AbnormalClosure) => {
                (fault.close_code(), fault.to_string())
            }
            _ => (
                conn.close_code().unwrap_or(CloseCode::ABNORMAL),
                conn.close_reason().to_owned(),
            ),
        };
        tap.report(TapKind::Closed {
            code,
            reason,
            initiator,
            clean: conn.was_clean(),
        })
        .await;
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
