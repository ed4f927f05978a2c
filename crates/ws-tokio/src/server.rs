//! The server: [`accept`] upgrades one stream; [`Server`] listens and hands out connections.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use ws_proto::bytes::BytesMut;
use ws_proto::http::{HeaderMap, StatusCode};
use ws_proto::{Config, Connection, Event, HandshakeError, UpgradeRequest, handshake};

use crate::client::{read_and_feed, timeout};
use crate::conn_core::Settings;
use crate::handshake_info::HandshakeInfo;
use crate::error::{Error, Stage};
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
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// Engine options.
    pub config: Config,
    /// TLS, for wss: built with [`tls::server_config`].
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Limit for the TLS handshake and for receiving the upgrade request.
    pub handshake_timeout: Duration,
    /// Limit for the close handshake.
    pub close_timeout: Duration,
    /// Where to report everything.
    pub tap: Option<Tap>,
    /// Capacity of the message and command channels.
    pub channel_capacity: usize,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            config: Config::default(),
            tls: None,
            handshake_timeout: Duration::from_secs(10),
            close_timeout: Duration::from_secs(10),
            tap: None,
            channel_capacity: 256,
        }
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
            accept_stream(stream, options, Some(info), local_addr, peer_addr, decide).await
        }
        None => {
            let stream = MaybeTlsStream::Plain(tcp);
            accept_stream(stream, options, None, local_addr, peer_addr, decide).await
        }
    }
}

/// Upgrades any stream (already through TLS, if any): the server side of the opening
/// handshake on `io`, then the connection as a [`WsStream`].
pub async fn accept_stream<S, F>(
    mut io: S,
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
    let mut config = options.config.clone();
    config.report_frames |= options.tap.is_some();
    config.pause_after_message = true;
    let tap = options.tap.as_ref();
    let mut conn = Connection::server(config);
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
    let response = match decide(&requested.upgrade) {
        Decision::Accept { protocol, headers } => {
            let mut response = handshake::accept_response(&requested.upgrade, protocol.as_deref());
            response.headers_mut().extend(headers);
            // The engine would negotiate permessage-deflate itself; answering here first keeps
            // the response in the handshake info exactly as sent.
            if let Some(policy) = &conn.config().deflate {
                ws_proto::deflate::add_answer(&mut response, &requested.upgrade.extensions, policy);
            }
            let result = conn.accept(response.clone());
            let mut out = BytesMut::new();
            conn.poll_transmit(&mut out);
            let raw = out.clone().freeze();
            io.write_all(&out).await.map_err(crate::tls::stream_error)?;
            io.flush().await.map_err(crate::tls::stream_error)?;
            if let Some(tap) = tap {
                tap.report(TapKind::ResponseSent { raw }).await;
                tap.report(TapKind::State(ws_proto::ReadyState::Open)).await;
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
    let settings = Settings {
        close_timeout: options.close_timeout,
        channel_capacity: options.channel_capacity,
        tap: options.tap.clone(),
    };
    Ok(WsStream::new(io, conn, handshake, settings))
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
        Ok(Incoming {
            tcp,
            peer,
            options: self.options.clone(),
        })
    }
}

/// A TCP connection waiting for its upgrade.
#[derive(Debug)]
pub struct Incoming {
    tcp: TcpStream,
    peer: SocketAddr,
    options: Arc<ServerOptions>,
}

impl Incoming {
    /// The client's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// Runs the upgrade, letting `decide` accept or reject the request; the connection is a
    /// [`WsStream`] that the calling task drives.
    pub async fn upgrade<F>(self, decide: F) -> Result<WsStream<MaybeTlsStream>, Error>
    where
        F: FnOnce(&UpgradeRequest) -> Decision,
    {
        accept(self.tcp, &self.options, decide).await
    }
}
