//! [`Net`]: the tokio runtime sessions run on, and the built-in local echo server.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use ws_tokio::{ConnectOptions, Server, ServerOptions};

use super::echo::{echo_url, serve_echo};
use super::handle::Session;
use super::recorder::{GENERATOR, Recorder};
use super::state::{SessionState, lock};
use super::task::{SessionOptions, drain, run_session};
use super::tasks::Tasks;
use crate::log::LogStore;
use crate::notify::Notify;

use super::task::TAP_CAPACITY;

/// The tokio runtime and the built-in echo server. One per app.
#[derive(Debug)]
pub struct Net {
    runtime: Option<tokio::runtime::Runtime>,
    handle: tokio::runtime::Handle,
    tasks: Tasks,
    local_echo: Option<SocketAddr>,
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

    /// Starts a connection. Progress shows up in [`Session::state`]; `notify` is called
    /// whenever something happened. `previous` is the log of the tab's last connection: its
    /// entries stay above the new connection's (bounded as ever), so reconnecting loses
    /// nothing the user did not clear.
    pub fn connect(
        &self,
        options: ConnectOptions,
        notify: Notify,
        previous: Option<LogStore>,
    ) -> Session {
        self.connect_with(options, notify, previous, SessionOptions::default())
    }

    /// [`connect`](Self::connect), with `extras`: a keep-alive (a ping every interval, and
    /// the connection closed with 1011 when a pong to any ping this side sent is later than
    /// the timeout; the round trips show in [`SessionState::activity`]), and a channel that
    /// is given every message received.
    pub fn connect_with(
        &self,
        mut options: ConnectOptions,
        notify: Notify,
        previous: Option<LogStore>,
        mut extras: SessionOptions,
    ) -> Session {
        // The protocol speaker watches what the session receives.
        let speaker = match extras.speak.take() {
            Some(speak) if extras.observer.is_none() => {
                let (observer, observed) = mpsc::unbounded_channel();
                extras.observer = Some(observer);
                Some((speak, observed))
            }
            _ => None,
        };
        let shared = Arc::new(Mutex::new(SessionState::new(&options.url, previous)));
        lock(&shared).handshake.deflate_offered = options.config.deflate.is_some();
        let (tap, reports) = ws_tokio::tap::channel(TAP_CAPACITY);
        options.tap = Some(tap);
        let (commands, command_rx) = mpsc::unbounded_channel();
        let recorder = Arc::new(Mutex::new(
            Recorder::new(GENERATOR).with_secrets(extras.secrets.clone()),
        ));
        let drain = self.tasks.spawn(
            "session tap drain",
            drain(reports, shared.clone(), recorder.clone(), notify.clone()),
        );
        let session = run_session(
            options,
            shared.clone(),
            notify,
            command_rx,
            drain,
            self.tasks.clone(),
            extras,
        );
        self.tasks.spawn("session", session);
        if let Some((speak, observed)) = speaker {
            let spoken = crate::decode::speaker::speak(
                speak,
                commands.downgrade(),
                observed,
                shared.clone(),
            );
            self.tasks.spawn("protocol speaker", spoken);
        }
        Session {
            shared,
            commands,
            recorder,
        }
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
