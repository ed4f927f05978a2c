//! The listener: the inspector as a WebSocket server. [`Net::listen`] binds an address and
//! accepts clients in a task of its own; each accepted client is a [`Session`] of its own,
//! whose server-side [tap](ws_tokio::tap) reports are applied to its own
//! [`SessionState`](crate::SessionState) (the request as received and our response as
//! sent, then every frame both ways), exactly as a client connection's are.
//!
//! How each client is answered is the listener's [`ServerChoices`] (subprotocol, compression,
//! accept or refuse, echo, auto-pong, messages on connect), read as each client arrives, so
//! a change applies to the next client.
//!
//! Files: `tls` the certificate (made at start, or the user's files); `client` one client's
//! task; [`bind`] which addresses count as private.

pub mod bind;
mod client;
pub mod tls;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use ws_tokio::ServerOptions;
use ws_tokio::ws_proto::{DeflateConfig, UpgradeRequest};

use crate::capture::playback::ServedScript;
use crate::notify::Notify;
use crate::relay::control::Faults;
use crate::session::{Net, Session};

pub use bind::is_loopback;
pub use tls::ServerTls;

/// How a listener answers and serves each client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerChoices {
    /// The subprotocols we speak, in our order of preference: the first of the client's
    /// offer that is among them is chosen. `*` chooses the client's first. Empty: none.
    pub protocols: Vec<String>,
    /// Accept permessage-deflate offers.
    pub deflate: bool,
    /// Refuse every upgrade with this status and body instead of accepting it.
    pub reject: Option<(u16, String)>,
    /// Echo every text and binary message back.
    pub echo: bool,
    /// Answer pings with pongs (off: pings are only shown).
    pub auto_pong: bool,
    /// Text messages sent to each client as soon as it is open.
    pub on_connect: Vec<String>,
    /// Accept an upgrade only when it carries this token — `?token=TOKEN` in the URL or an
    /// `Authorization: Bearer TOKEN` header; others are refused with 401.
    pub token: Option<String>,
    /// Faults injected into what the listener sends each client (delays, drops,
    /// re-fragmenting, RSV bits, a corrupted byte), and into its answers to pings: with
    /// [`Faults::drop_pings`] pings go unanswered, with [`Faults::pong_delay_ms`] the pong
    /// comes late. Each is marked in the client's log.
    pub faults: Faults,
    /// A capture served to each client (its server messages, each after the client's
    /// question, or on the capture's timing) instead of the echo; not kept in files.
    #[serde(skip)]
    pub script: Option<Arc<ServedScript>>,
}

impl Default for ServerChoices {
    fn default() -> Self {
        Self {
            protocols: Vec::new(),
            deflate: true,
            reject: None,
            echo: false,
            auto_pong: true,
            on_connect: Vec::new(),
            token: None,
            faults: Faults::default(),
            script: None,
        }
    }
}

/// The refusal of an upgrade that lacks the token `token` (401), or `None` when it carries
/// it (`?token=TOKEN` in the request target, or `Authorization: Bearer TOKEN`).
pub fn token_refusal(token: &str, request: &UpgradeRequest) -> Option<(u16, String)> {
    let in_query = request.request.uri().query().is_some_and(|query| {
        url::form_urlencoded::parse(query.as_bytes()).any(|(k, v)| k == "token" && v == token)
    });
    let in_header = request
        .request
        .headers()
        .get_all("authorization")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
                .is_some_and(|t| t.trim() == token)
        });
    (!in_query && !in_header).then(|| {
        (
            401,
            "this listener requires a token: add ?token=TOKEN to the URL or send \
             Authorization: Bearer TOKEN"
                .to_owned(),
        )
    })
}

impl ServerChoices {
    /// The subprotocol to choose among `offered`.
    pub fn pick_protocol(&self, offered: &[String]) -> Option<String> {
        self.protocols.iter().find_map(|ours| {
            if ours == "*" {
                offered.first().cloned()
            } else {
                offered.iter().find(|p| *p == ours).cloned()
            }
        })
    }

    /// The engine options for a client: compression and auto-pong as chosen.
    pub(crate) fn server_options(&self) -> ServerOptions {
        let mut options = ServerOptions::default();
        // Pings left unanswered or answered late are answered (or not) by the session.
        options.config.auto_pong =
            self.auto_pong && !self.faults.drop_pings && self.faults.pong_delay_ms == 0;
        options.config.deflate = self.deflate.then(DeflateConfig::default);
        options
    }
}

/// wss:// or not.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ListenerTls {
    /// Plain ws://.
    #[default]
    None,
    /// A certificate made at start (rcgen).
    SelfSigned,
    /// The user's certificate chain and key (PEM files).
    Files {
        /// The certificate chain.
        cert: std::path::PathBuf,
        /// The private key.
        key: std::path::PathBuf,
    },
}

/// What a listener binds and how.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListenerOptions {
    /// `host:port` (port 0: a free one).
    pub addr: String,
    /// wss:// or not.
    pub tls: ListenerTls,
    /// How each client is answered.
    pub choices: ServerChoices,
}

impl Default for ListenerOptions {
    fn default() -> Self {
        Self {
            addr: bind::DEFAULT_ADDR.to_owned(),
            tls: ListenerTls::None,
            choices: ServerChoices::default(),
        }
    }
}

impl ListenerOptions {
    /// The TLS configuration these options ask for.
    pub fn server_tls(&self) -> Result<Option<ServerTls>, String> {
        match &self.tls {
            ListenerTls::None => Ok(None),
            ListenerTls::SelfSigned => tls::self_signed().map(Some),
            ListenerTls::Files { cert, key } => tls::from_files(cert, key).map(Some),
        }
    }
}

/// One accepted client: its address and its session.
#[derive(Debug)]
pub struct Client {
    /// The client's address.
    pub peer: SocketAddr,
    /// Its connection, as a client connection's session (its handshake is the server's
    /// side: [`Handshake::server_side`](crate::session::Handshake::server_side)).
    pub session: Session,
}

/// A listening socket and its accept loop. Dropping it stops accepting (clients already
/// accepted go on until their sessions are dropped).
#[derive(Debug)]
pub struct Listener {
    local_addr: SocketAddr,
    fingerprint: Option<String>,
    tls: bool,
    choices: Arc<Mutex<ServerChoices>>,
    accepted: mpsc::UnboundedReceiver<Client>,
    accept_loop: tokio::task::JoinHandle<Option<()>>,
}

impl Listener {
    /// The address listened on (the chosen port after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `ws://127.0.0.1:PORT/` (or `wss://`).
    pub fn url(&self) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        format!("{scheme}://{}/", self.local_addr)
    }

    /// A line to paste into a browser's console: `new WebSocket("ws://127.0.0.1:PORT/")`.
    pub fn js_snippet(&self) -> String {
        format!("new WebSocket(\"{}\")", self.url())
    }

    /// The SHA-256 fingerprint of the wss:// certificate.
    pub fn fingerprint(&self) -> Option<&str> {
        self.fingerprint.as_deref()
    }

    /// How the next clients are answered.
    pub fn choices(&self) -> ServerChoices {
        self.choices
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Changes how the next clients are answered.
    pub fn set_choices(&self, choices: ServerChoices) {
        *self.choices.lock().unwrap_or_else(PoisonError::into_inner) = choices;
    }

    /// The clients accepted since the last call, in order.
    pub fn take_accepted(&mut self) -> Vec<Client> {
        let mut clients = Vec::new();
        while let Ok(client) = self.accepted.try_recv() {
            clients.push(client);
        }
        clients
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

impl Net {
    /// Binds `options.addr` and accepts clients until the [`Listener`] is dropped; `notify`
    /// is told of every new client and every change in a client's session. Binding
    /// completes at once, so this blocks the caller only for that (and for making a
    /// certificate, for wss://).
    pub fn listen(&self, options: &ListenerOptions, notify: Notify) -> Result<Listener, String> {
        let tls = options.server_tls()?;
        let addr = options.addr.trim();
        let listener = self
            .handle()
            .block_on(TcpListener::bind(addr))
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let local_addr = listener
            .local_addr()
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let choices = Arc::new(Mutex::new(options.choices.clone()));
        let (found, accepted) = mpsc::unbounded_channel();
        let accept_loop = self.tasks().spawn(
            "listener",
            client::accept_loop(client::Accepting {
                listener,
                tls: tls.as_ref().map(|t| t.config.clone()),
                choices: choices.clone(),
                found,
                notify,
                tasks: self.tasks().clone(),
            }),
        );
        Ok(Listener {
            local_addr,
            fingerprint: tls.as_ref().and_then(|t| t.fingerprint.clone()),
            tls: tls.is_some(),
            choices,
            accepted,
            accept_loop,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_protocol_is_ours_first_among_those_offered() {
        let offered = vec!["b".to_owned(), "a".to_owned()];
        let mut choices = ServerChoices::default();
        assert_eq!(choices.pick_protocol(&offered), None);
        choices.protocols = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(choices.pick_protocol(&offered).as_deref(), Some("a"));
        choices.protocols = vec!["*".to_owned()];
        assert_eq!(choices.pick_protocol(&offered).as_deref(), Some("b"));
        choices.protocols = vec!["c".to_owned()];
        assert_eq!(choices.pick_protocol(&offered), None);
    }
}
