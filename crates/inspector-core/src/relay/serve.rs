//! Relay tabs' sessions: [`Net::relay`] listens on an address and forwards each accepted
//! client to the upstream URL with [`run`](super::run). Each client is a [`RelayedClient`]:
//! two [`Session`]s, one per leg — the client ⇄ inspector leg (the server side of its
//! handshake, as a listener's client) and the inspector ⇄ server leg (a client connection,
//! as a connection tab's) — each with its own tap, state and log.
//!
//! The client's upgrade is answered only once the upstream has answered ours (see
//! [`upstream`](super::upstream)): the client gets the subprotocol and compression the
//! server agreed to, or the server's refusal with its status and body, or 502.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use ws_tokio::ws_proto::UpgradeRequest;
use ws_tokio::ws_proto::http::HeaderMap;
use ws_tokio::{ConnectOptions, Decision, MaybeTlsStream, ServerOptions, WsStream};

use super::upstream::{refusal, upstream_options};
use super::{RelayReport, leg_config};
use crate::listener::ServerTls;
use crate::notify::Notify;
use crate::session::state::lock;
use crate::session::task::{MarkFinished, start};
use crate::session::{Net, Session, Tasks};

/// What a relay listens on and forwards to.
#[derive(Clone, Debug)]
pub struct RelayOptions {
    /// `host:port` to listen on (port 0: a free one).
    pub addr: String,
    /// The upstream connection: URL and a profile's options (headers, Origin,
    /// subprotocols, TLS, proxy, limits). The client's path, offer and forwarded headers
    /// are added per client.
    pub upstream: ConnectOptions,
    /// Offer `upstream`'s subprotocols instead of the client's.
    pub fixed_protocols: bool,
    /// wss:// on the client leg.
    pub tls: Option<ServerTls>,
}

/// One relayed client: a session per leg.
#[derive(Debug)]
pub struct RelayedClient {
    /// The client's address.
    pub peer: SocketAddr,
    /// client ⇄ inspector.
    pub client: Session,
    /// inspector ⇄ server.
    pub server: Session,
}

/// A relay's listening socket and accept loop; dropping it stops accepting.
#[derive(Debug)]
pub struct Relay {
    local_addr: SocketAddr,
    tls: bool,
    fingerprint: Option<String>,
    upstream: String,
    accepted: mpsc::UnboundedReceiver<RelayedClient>,
    accept_loop: tokio::task::JoinHandle<Option<()>>,
}

impl Relay {
    /// The address listened on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The URL clients connect to.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        format!("{scheme}://{}/", self.local_addr)
    }

    /// The upstream URL.
    pub fn upstream(&self) -> &str {
        &self.upstream
    }

    /// The SHA-256 fingerprint of the client leg's wss:// certificate.
    pub fn fingerprint(&self) -> Option<&str> {
        self.fingerprint.as_deref()
    }

    /// The clients accepted since the last call, in order.
    pub fn take_accepted(&mut self) -> Vec<RelayedClient> {
        let mut clients = Vec::new();
        while let Ok(client) = self.accepted.try_recv() {
            clients.push(client);
        }
        clients
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

impl Net {
    /// Listens on `options.addr` and relays each client to `options.upstream` until the
    /// [`Relay`] is dropped.
    pub fn relay(&self, options: RelayOptions, notify: Notify) -> Result<Relay, String> {
        let addr = options.addr.trim().to_owned();
        let listener = self
            .handle()
            .block_on(TcpListener::bind(&addr))
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let local_addr = listener
            .local_addr()
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let (found, accepted) = mpsc::unbounded_channel();
        let upstream = options.upstream.url.clone();
        let tls = options.tls.is_some();
        let fingerprint = options.tls.as_ref().and_then(|t| t.fingerprint.clone());
        let tasks = self.tasks().clone();
        let accept_loop = self.tasks().spawn(
            "relay",
            accept_loop(listener, Arc::new(options), found, notify, tasks),
        );
        Ok(Relay {
            local_addr,
            tls,
            fingerprint,
            upstream,
            accepted,
            accept_loop,
        })
    }
}

async fn accept_loop(
    listener: TcpListener,
    options: Arc<RelayOptions>,
    found: mpsc::UnboundedSender<RelayedClient>,
    notify: Notify,
    tasks: Tasks,
) {
    loop {
        let Ok((tcp, peer)) = listener.accept().await else {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            continue;
        };
        let client = start(&tasks, &format!("client {peer} <-> inspector"), &notify);
        let server = start(&tasks, &options.upstream.url, &notify);
        let legs = Legs {
            client_tap: client.tap,
            server_tap: server.tap,
            client_drain: client.drain,
            server_drain: server.drain,
            client: MarkFinished {
                shared: client.session.shared.clone(),
                notify: notify.clone(),
            },
            server: MarkFinished {
                shared: server.session.shared.clone(),
                notify: notify.clone(),
            },
        };
        // Nothing is sent from the tab into a relayed connection: the command channels
        // close at once (a send is refused with "the connection has ended").
        drop((client.commands, server.commands));
        tasks.spawn("relay client", relay_one(tcp, options.clone(), legs));
        let relayed = RelayedClient {
            peer,
            client: client.session,
            server: server.session,
        };
        if found.send(relayed).is_err() {
            return;
        }
        notify.now();
    }
}

/// Both legs' taps, drain tasks and end markers.
struct Legs {
    client_tap: ws_tokio::tap::Tap,
    server_tap: ws_tokio::tap::Tap,
    client_drain: tokio::task::JoinHandle<Option<()>>,
    server_drain: tokio::task::JoinHandle<Option<()>>,
    client: MarkFinished,
    server: MarkFinished,
}

/// One client: the upstream connection first, then the client's answer, then the relay.
async fn relay_one(tcp: TcpStream, options: Arc<RelayOptions>, legs: Legs) -> Option<RelayReport> {
    let Legs {
        client_tap,
        server_tap,
        client_drain,
        server_drain,
        client: client_end,
        server: server_end,
    } = legs;
    let mut server_options = ServerOptions::default()
        .with_close_timeout(options.upstream.timeouts.close)
        .with_handshake_timeout(options.upstream.timeouts.handshake);
    server_options.config.max_message_size = options.upstream.config.max_message_size;
    server_options.config.max_frame_size = options.upstream.config.max_frame_size;
    // Each leg negotiates compression on its own (messages are inflated and deflated again
    // on the way through): the client leg accepts the client's offer, the upstream leg
    // offers it when the client did (see `upstream_options`).
    server_options.config.deflate = Some(ws_tokio::ws_proto::DeflateConfig::default());
    server_options.config = leg_config(server_options.config.clone());
    server_options.tls = options.tls.as_ref().map(|t| t.config.clone());
    server_options.tap = Some(client_tap);

    let mut upstream: Option<Result<WsStream<MaybeTlsStream>, ws_tokio::Error>> = None;
    let slot = &mut upstream;
    let server_tap = Some(server_tap);
    let decide = |request: &UpgradeRequest| {
        let mut connect = upstream_options(&options.upstream, options.fixed_protocols, request);
        connect.config = leg_config(connect.config.clone());
        connect.tap = server_tap;
        async move {
            let connected = ws_tokio::connect(connect).await;
            let decision = match &connected {
                Ok(ws) => Decision::Accept {
                    protocol: ws.handshake().protocol.clone(),
                    headers: HeaderMap::new(),
                },
                Err(e) => refusal(e),
            };
            *slot = Some(connected);
            decision
        }
    };
    let client = ws_tokio::accept_deciding_later(tcp, &server_options, decide).await;
    drop(server_options);
    let (report, failures) = match (client, upstream) {
        (Ok(client), Some(Ok(server))) => (Some(super::run(client, server).await), None),
        (client, upstream) => (None, Some((client.err(), upstream.and_then(Result::err)))),
    };
    // Every tap is dropped by now: the drain tasks end once they have applied everything.
    let _ = client_drain.await;
    let _ = server_drain.await;
    if let Some((client, upstream)) = failures {
        if let Some(e) = &upstream {
            lock(&server_end.shared).fail(e);
        }
        if let Some(e) = &client {
            lock(&client_end.shared).fail(e);
        }
    }
    drop((client_end, server_end));
    report
}
