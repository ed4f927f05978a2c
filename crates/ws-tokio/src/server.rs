//! The server: [`accept`] upgrades one stream; [`Server`] listens and hands out connections.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use ws_proto::bytes::BytesMut;
use ws_proto::http::{HeaderMap, Response, StatusCode};
use ws_proto::{Config, Connection, Event, HandshakeError, UpgradeRequest, handshake};

use crate::client::{read_and_feed, timeout};
use crate::conn_core::Settings;
use crate::error::{Error, Stage};
use crate::handshake_info::HandshakeInfo;
use crate::stream::{MaybeTlsStream, WsStream};
use crate::tap::{Tap, TapKind};
use crate::tls::{self, TlsInfo};

/// What a server does with an upgrade request, decided by the hook given to [`accept`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Accept, choosing a subprotocol (one the client offered) and adding headers.
    Accept {
        /// The chosen subprotocol.
        protocol: Option<String>,
        /// Extra response headers.
        headers: HeaderMap,
    },
    /// Refuse with this status and plain-text body.
    Reject {
        /// The status, e.g. 403.
        status: StatusCode,
        /// The body.
        body: String,
    },
}

impl Decision {
    /// Accept with no subprotocol and no extra headers.
    pub fn accept() -> Self {
        Self::Accept {
            protocol: None,
            headers: HeaderMap::new(),
        }
    }

    /// Accept with the first of the client's subprotocols that is in `supported`.
    pub fn accept_protocol(request: &UpgradeRequest, supported: &[&str]) -> Self {
        let protocol = request
            .protocols
            .iter()
            .find(|p| supported.contains(&p.as_str()))
            .cloned();
        Self::Accept {
            protocol,
            headers: HeaderMap::new(),
        }
    }
}

/// Server options.
///
/// `#[non_exhaustive]`: start from [`ServerOptions::default`] and use the `with_*` setters
/// (or assign the fields), so that a new option is not a breaking change.
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// Engine options: auto-pong, automatic close reply, size limits, and the
    /// permessage-deflate policy (`None`: offers are declined).
    ///
    /// The default turns on [`pause_after_message`](Config::pause_after_message), which the
    /// transport respects as given: parsing stops after each message until the application
    /// has had the chance to answer it, so an echo keeps its place before a failure caused by
    /// a later frame of the same read (the Autobahn Testsuite checks this order).
    pub config: Config,
    /// TLS, for wss: built with [`tls::server_config`].
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Limit for the TLS handshake and for receiving the upgrade request.
    pub handshake_timeout: Duration,
    /// Limit for the close handshake.
    pub close_timeout: Duration,
    /// Where to report everything.
    pub tap: Option<Tap>,
    /// Capacity of the task-driven handles' message channel ([`WsStream::into_driven`]).
    pub channel_capacity: usize,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            config: crate::conn_core::default_config(),
            tls: None,
            handshake_timeout: Duration::from_secs(10),
            close_timeout: Duration::from_secs(10),
            tap: None,
            channel_capacity: 256,
        }
    }
}

impl ServerOptions {
    /// Serves wss:// with this TLS configuration (see [`tls::server_config`]).
    pub fn with_tls(mut self, tls: Arc<rustls::ServerConfig>) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Sets the engine options.
    pub fn with_config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Accepts permessage-deflate offers with this policy.
    pub fn with_deflate(mut self, deflate: ws_proto::DeflateConfig) -> Self {
        self.config.deflate = Some(deflate);
        self
    }

    /// Sets the limit for the TLS handshake and the upgrade request.
    pub fn with_handshake_timeout(mut self, limit: Duration) -> Self {
        self.handshake_timeout = limit;
        self
    }

    /// Sets the limit for the close handshake.
    pub fn with_close_timeout(mut self, limit: Duration) -> Self {
        self.close_timeout = limit;
        self
    }

    /// Reports everything to `tap`.
    pub fn with_tap(mut self, tap: Tap) -> Self {
        self.tap = Some(tap);
        self
    }

    /// Sets the capacity of the task-driven handles' message channel.
    pub fn with_channel_capacity(mut self, capacity: usize) -> Self {
        self.channel_capacity = capacity;
        self
    }
}

/// Upgrades a freshly accepted TCP stream (doing TLS first if `options.tls` is set).
/// `decide` sees the checked request and accepts or rejects it. The connection is a
/// [`WsStream`] that the calling task drives ([`WsStream::into_driven`] gives task-driven
/// handles).
pub async fn accept<F>(
    tcp: TcpStream,
    options: &ServerOptions,
    decide: F,
) -> Result<WsStream<MaybeTlsStream>, Error>
where
    F: FnOnce(&UpgradeRequest) -> Decision,
{
    accept_deciding_later(tcp, options, |request| std::future::ready(decide(request))).await
}

/// [`accept`], with a decision that may take time: `decide` sees the checked request and
/// returns a future of the [`Decision`] — a relay connects upstream first and answers the
/// client with what the server answered. The handshake timeout does not run while it waits.
pub async fn accept_deciding_later<F, Fut>(
    tcp: TcpStream,
    options: &ServerOptions,
    decide: F,
) -> Result<WsStream<MaybeTlsStream>, Error>
where
    F: FnOnce(&UpgradeRequest) -> Fut,
    Fut: Future<Output = Decision>,
{
    // Boxed: a task's future is as large as its largest state, so a handshake awaited in
    // place (the engine, the request, the TLS session being set up: 3.9 KiB) would keep its
    // size in the caller's task for the connection's whole life, while the connection it
    // gives is 328 bytes. On the heap it is freed once the connection is open.
    Box::pin(accept_tcp(tcp, options, decide)).await
}

/// [`accept_deciding_later`], not boxed.
async fn accept_tcp<F, Fut>(
    tcp: TcpStream,
    options: &ServerOptions,
    decide: F,
) -> Result<WsStream<MaybeTlsStream>, Error>
where
    F: FnOnce(&UpgradeRequest) -> Fut,
    Fut: Future<Output = Decision>,
{
    let _ = tcp.set_nodelay(true);
    let local_addr = tcp.local_addr().ok();
    let peer_addr = tcp.peer_addr().ok();
    if let (Some(tap), Some(local), Some(peer)) = (&options.tap, local_addr, peer_addr) {
        tap.report(TapKind::TcpConnected {
            local,
            peer,
            proxy: None,
        })
        .await;
    }
    match &options.tls {
        Some(config) => {
            let (stream, info) = timeout(
                options.handshake_timeout,
                Stage::Tls,
                tls::accept(tcp, config.clone()),
            )
            .await??;
            if let Some(tap) = &options.tap {
                tap.report(TapKind::TlsEstablished(Box::new(info.clone())))
                    .await;
            }
            let stream = MaybeTlsStream::Tls(Box::new(stream.into()));
            upgrade_stream(stream, options, Some(info), local_addr, peer_addr, decide).await
        }
        None => {
            let stream = MaybeTlsStream::Plain(tcp);
            upgrade_stream(stream, options, None, local_addr, peer_addr, decide).await
        }
    }
}

/// Upgrades any stream (already through TLS, if any): the server side of the opening
/// handshake on `io`, then the connection as a [`WsStream`].
pub async fn accept_stream<S, F>(
    io: S,
    options: &ServerOptions,
    tls: Option<TlsInfo>,
    local_addr: Option<SocketAddr>,
    peer_addr: Option<SocketAddr>,
    decide: F,
) -> Result<WsStream<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&UpgradeRequest) -> Decision,
{
    let decide = |request: &UpgradeRequest| std::future::ready(decide(request));
    // Boxed for the reason given in `accept_deciding_later`.
    Box::pin(upgrade_stream(
        io, options, tls, local_addr, peer_addr, decide,
    ))
    .await
}

/// The server side of the opening handshake on `io`, with a decision that may take time.
async fn upgrade_stream<S, F, Fut>(
    mut io: S,
    options: &ServerOptions,
    tls: Option<TlsInfo>,
    local_addr: Option<SocketAddr>,
    peer_addr: Option<SocketAddr>,
    decide: F,
) -> Result<WsStream<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&UpgradeRequest) -> Fut,
    Fut: Future<Output = Decision>,
{
    let tap = options.tap.as_ref();
    let mut conn = Connection::server(crate::raw::engine_config(&options.config, tap));
    let requested = timeout(options.handshake_timeout, Stage::Handshake, async {
        let mut buf = BytesMut::with_capacity(8 * 1024);
        loop {
            let (eof, result) = read_and_feed(&mut io, &mut conn, &mut buf).await?;
            if let Err(e) = result {
                // A malformed request was answered (400/426); send that answer.
                let mut out = BytesMut::new();
                if conn.poll_transmit(&mut out) > 0 {
                    let _ = io.write_all(&out).await;
                    let _ = io.shutdown().await;
                }
                return Err(Error::from(e));
            }
            if let Some(Event::Request(requested)) = conn.poll_event() {
                return Ok(*requested);
            }
            if eof {
                return Err(ws_proto::Error::from(HandshakeError::UnexpectedEof).into());
            }
        }
    })
    .await??;
    if let Some(tap) = tap {
        tap.report(TapKind::RequestReceived {
            request: Box::new(requested.upgrade.request.clone()),
            raw: requested.head.clone(),
        })
        .await;
    }
    let response = match decide(&requested.upgrade).await {
        Decision::Accept { protocol, headers } => {
            let response = accept_answer(
                &requested.upgrade,
                protocol.as_deref(),
                headers,
                conn.config(),
            );
            let result = conn.accept(response.clone());
            let mut out = BytesMut::new();
            conn.poll_transmit(&mut out);
            let raw = out.clone().freeze();
            io.write_all(&out).await.map_err(crate::tls::stream_error)?;
            io.flush().await.map_err(crate::tls::stream_error)?;
            if let Some(tap) = tap {
                tap.report(TapKind::ResponseSent { raw }).await;
            }
            // A fault in frames that arrived with the request: the close frame is queued
            // and the driver sends it.
            if let Err(e) = result
                && !matches!(e, ws_proto::Error::Protocol(_))
            {
                return Err(e.into());
            }
            response
        }
        Decision::Reject { status, body } => {
            conn.reject(status, body.as_bytes())
                .map_err(|e| Error::from(ws_proto::Error::Usage(e)))?;
            let mut out = BytesMut::new();
            conn.poll_transmit(&mut out);
            io.write_all(&out).await.map_err(crate::tls::stream_error)?;
            let _ = io.shutdown().await;
            if let Some(tap) = tap {
                tap.report(TapKind::ResponseSent { raw: out.freeze() })
                    .await;
                tap.report(TapKind::State(ws_proto::ReadyState::Closed))
                    .await;
            }
            return Err(ws_proto::Error::from(HandshakeError::RejectedByServer(status)).into());
        }
    };
    let handshake = HandshakeInfo {
        protocol: conn.protocol().map(str::to_owned),
        extensions: conn.extensions().to_vec(),
        deflate: conn.deflate().copied(),
        request: requested.upgrade.request,
        response,
        tls,
        local_addr,
        peer_addr,
    };
    if let Some(tap) = tap {
        tap.report(TapKind::Opened(Box::new(handshake.clone())))
            .await;
        tap.report(TapKind::State(ws_proto::ReadyState::Open)).await;
    }
    let settings = Settings {
        close_timeout: options.close_timeout,
        channel_capacity: options.channel_capacity,
        tap: options.tap.clone(),
    };
    Ok(WsStream::new(io, conn, handshake, settings))
}

/// The 101 answer to an accepted request, with `headers` added and, under `config.deflate`,
/// the permessage-deflate answer. (The engine would negotiate permessage-deflate itself;
/// answering here first keeps the response in the handshake info exactly as sent.)
pub(crate) fn accept_answer(
    request: &UpgradeRequest,
    protocol: Option<&str>,
    headers: HeaderMap,
    config: &Config,
) -> Response<()> {
    let mut response = handshake::accept_response(request, protocol);
    response.headers_mut().extend(headers);
    if let Some(policy) = &config.deflate {
        ws_proto::deflate::add_answer(&mut response, &request.extensions, policy);
    }
    response
}

/// A listening socket that hands out TCP connections to upgrade.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    options: Arc<ServerOptions>,
}

impl Server {
    /// Listens on `addr`.
    pub async fn bind(addr: impl ToSocketAddrs, options: ServerOptions) -> Result<Self, Error> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(crate::tls::stream_error)?;
        Ok(Self {
            listener,
            options: Arc::new(options),
        })
    }

    /// The address it listens on (useful after binding port 0).
    pub fn local_addr(&self) -> Result<SocketAddr, Error> {
        self.listener.local_addr().map_err(crate::tls::stream_error)
    }

    /// The next TCP connection, not yet upgraded: call [`Incoming::upgrade`] (typically in a
    /// task of its own, so that a slow client does not hold up the others).
    pub async fn accept(&self) -> Result<Incoming, Error> {
        let (tcp, peer) = self
            .listener
            .accept()
            .await
            .map_err(crate::tls::stream_error)?;
        Ok(Incoming(Box::new(Accepted {
            tcp,
            peer,
            options: self.options.clone(),
        })))
    }
}

/// A TCP connection waiting for its upgrade.
///
/// A pointer wide: the task that upgrades it keeps it (as an `async` block's capture) for
/// the connection's whole life, long after the upgrade has moved the socket out.
#[derive(Debug)]
pub struct Incoming(Box<Accepted>);

/// What an [`Incoming`] holds.
#[derive(Debug)]
struct Accepted {
    tcp: TcpStream,
    peer: SocketAddr,
    options: Arc<ServerOptions>,
}

impl Incoming {
    /// The client's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.0.peer
    }

    /// Runs the upgrade, letting `decide` accept or reject the request; the connection is a
    /// [`WsStream`] that the calling task drives.
    pub async fn upgrade<F>(self, decide: F) -> Result<WsStream<MaybeTlsStream>, Error>
    where
        F: FnOnce(&UpgradeRequest) -> Decision,
    {
        let Accepted { tcp, options, .. } = *self.0;
        accept(tcp, &options, decide).await
    }

    /// [`upgrade`](Self::upgrade) with a decision that may take time (see
    /// [`accept_deciding_later`]).
    pub async fn upgrade_deciding_later<F, Fut>(
        self,
        decide: F,
    ) -> Result<WsStream<MaybeTlsStream>, Error>
    where
        F: FnOnce(&UpgradeRequest) -> Fut,
        Fut: Future<Output = Decision>,
    {
        let Accepted { tcp, options, .. } = *self.0;
        accept_deciding_later(tcp, &options, decide).await
    }
}
