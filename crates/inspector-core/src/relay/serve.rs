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
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use ws_tokio::ws_proto::UpgradeRequest;
use ws_tokio::{ConnectOptions, Decision, MaybeTlsStream, ServerOptions, WsStream};

use super::control::{self, ClientControl, RelaySettings};
use super::upstream::{refusal, upstream_options};
use super::{Controlled, RelayReport, leg_config, leg_config_whole};
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
    /// Relay only clients that carry this token (`?token=TOKEN` or `Authorization: Bearer
    /// TOKEN`); others are refused with 401 and nothing is opened upstream.
    pub token: Option<String>,
    /// Each leg answers its peer's pings itself (auto-pong), and pings and pongs are not
    /// forwarded; off (the default): they are forwarded, so round trips are end to end.
    pub answer_pings: bool,
    /// Forward whole messages (a fragmented message is assembled and leaves in one frame);
    /// off (the default): frame for frame.
    pub whole_messages: bool,
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
    /// Its held messages, and the releases and injections the user makes.
    pub control: Arc<ClientControl>,
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
    settings: Arc<Mutex<RelaySettings>>,
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

    /// What the relay does to every client's messages (intercept, faults).
    pub fn settings(&self) -> RelaySettings {
        control::lock(&self.settings).clone()
    }

    /// Changes what the relay does to every client's messages, from the next message on
    /// (unpausing does not release what is held: forward it with [`Release::ForwardAll`]).
    ///
    /// [`Release::ForwardAll`]: super::control::Release::ForwardAll
    pub fn set_settings(&self, settings: RelaySettings) {
        *control::lock(&self.settings) = settings;
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
        let settings = Arc::new(Mutex::new(RelaySettings::default()));
        let accepting = Accepting {
            listener,
            options: Arc::new(options),
            found,
            notify,
            tasks,
            settings: settings.clone(),
        };
        let accept_loop = self.tasks().spawn("relay", accept_loop(accepting));
        Ok(Relay {
            local_addr,
            tls,
            fingerprint,
            upstream,
            accepted,
            accept_loop,
            settings,
        })
    }
}

/// What the accept loop works with.
struct Accepting {
    listener: TcpListener,
    options: Arc<RelayOptions>,
    found: mpsc::UnboundedSender<RelayedClient>,
    notify: Notify,
    tasks: Tasks,
    settings: Arc<Mutex<RelaySettings>>,
}

async fn accept_loop(accepting: Accepting) {
    let Accepting {
        listener,
        options,
        found,
        notify,
        tasks,
        settings,
    } = accepting;
    loop {
        let Ok((tcp, peer)) = listener.accept().await else {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            continue;
        };
        let client = start(&tasks, &format!("client {peer} <-> inspector"), &notify);
        let server = start(&tasks, &options.upstream.url, &notify);
        let (control, releases) = ClientControl::new(settings.clone());
        let controlled = Controlled {
            control: control.clone(),
            releases,
            client_state: client.session.shared.clone(),
            server_state: server.session.shared.clone(),
            reset: Arc::new(tokio::sync::Notify::new()),
            answer_pings: options.answer_pings,
            socket: None,
        };
        let legs = Legs {
            controlled,
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
            control,
        };
        if found.send(relayed).is_err() {
            return;
        }
        notify.now();
    }
}

/// Both legs' taps, drain tasks and end markers, and the client's intercept.
struct Legs {
    controlled: Controlled,
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
        controlled,
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
    // Each leg compresses on its own (messages are inflated and deflated again on the way
    // through), with the parameters the server agreed: the upstream leg offers compression
    // when the client did (see `upstream_options`), and the client leg answers as the
    // server did (`relayed_extensions`); no policy of its own, so that it declines when the
    // server declined.
    server_options.config.deflate = None;
    let leg = if options.whole_messages {
        leg_config_whole
    } else {
        leg_config
    };
    server_options.config = leg(server_options.config.clone());
    server_options.config.auto_pong = options.answer_pings;
    server_options.tls = options.tls.as_ref().map(|t| t.config.clone());
    server_options.tap = Some(client_tap);

    let mut upstream: Option<Result<WsStream<MaybeTlsStream>, ws_tokio::Error>> = None;
    let slot = &mut upstream;
    let server_tap = Some(server_tap);
    let decide = |request: &UpgradeRequest| {
        let refused = options
            .token
            .as_deref()
            .and_then(|token| crate::listener::token_refusal(token, request));
        let mut connect = upstream_options(&options.upstream, options.fixed_protocols, request);
        let client_request = request.clone();
        connect.config = leg(connect.config.clone());
        connect.config.auto_pong = options.answer_pings;
        connect.tap = server_tap;
        async move {
            if let Some((status, body)) = refused {
                return Decision::Reject {
                    status: ws_tokio::ws_proto::http::StatusCode::from_u16(status)
                        .unwrap_or(ws_tokio::ws_proto::http::StatusCode::UNAUTHORIZED),
                    body,
                };
            }
            let connected = ws_tokio::connect(connect).await;
            let decision = match &connected {
                Ok(ws) => Decision::Accept {
                    protocol: ws.handshake().protocol.clone(),
                    headers: super::upstream::relayed_extensions(
                        &client_request,
                        ws.handshake().deflate.as_ref(),
                    ),
                },
                Err(e) => refusal(e),
            };
            *slot = Some(connected);
            decision
        }
    };
    // A second handle on the client's socket, for a reset.
    let (tcp, socket) = match crate::listener::bind::second_handle(tcp) {
        Ok(pair) => pair,
        Err(_) => return None,
    };
    let socket = socket.map(Arc::new);
    let mut controlled = controlled;
    controlled.socket = socket.clone();
    let reset = controlled.reset.clone();
    let client = ws_tokio::accept_deciding_later(tcp, &server_options, decide).await;
    drop(server_options);
    let (report, failures) = match (client, upstream) {
        (Ok(client), Some(Ok(server))) => {
            // Boxed, so that a reset can drop it (and both legs' streams) at once.
            let mut relayed = Box::pin(super::run_controlled(client, server, Some(controlled)));
            let report = tokio::select! {
                report = &mut relayed => Some(report),
                () = reset.notified() => None,
            };
            if report.is_none() {
                // Reset (the socket lingers 0 already): nothing more is read or written; the
                // sockets go now.
                drop(relayed);
                for leg in [&client_end, &server_end] {
                    lock(&leg.shared).set_ready_state(ws_tokio::ws_proto::ReadyState::Closed);
                }
            }
            (report, None)
        }
        (client, upstream) => (None, Some((client.err(), upstream.and_then(Result::err)))),
    };
    drop(socket);
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
