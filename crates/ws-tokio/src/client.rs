//! The client: [`connect`] with [`ConnectOptions`].

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use ws_proto::bytes::BytesMut;
use ws_proto::http::Request;
use ws_proto::{ClientOptions, Config, Connection, Event, HandshakeError, handshake};

use crate::conn_core::Settings;
use crate::error::{Error, Stage};
use crate::handshake_info::HandshakeInfo;
use crate::proxy::{self, Proxy};
use crate::stream::{MaybeTlsStream, WsStream};
use crate::tap::{Tap, TapKind};
use crate::tls::{self, TlsInfo, TlsOptions};

/// Time limits. The defaults (10 s each) suit interactive use.
///
/// `#[non_exhaustive]`: build it with [`Timeouts::default`] and the `with_*` setters (or
/// assign the fields), so that a new limit is not a breaking change.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Resolving the host and opening TCP (to the proxy, if any), and the proxy's CONNECT.
    pub connect: Duration,
    /// The TLS handshake.
    pub tls: Duration,
    /// From sending the upgrade request to a complete answer.
    pub handshake: Duration,
    /// From sending (or receiving) a close frame to the end of the connection.
    pub close: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self::all(Duration::from_secs(10))
    }
}

impl Timeouts {
    /// The same limit for every stage.
    pub fn all(limit: Duration) -> Self {
        Self {
            connect: limit,
            tls: limit,
            handshake: limit,
            close: limit,
        }
    }

    /// Sets [`connect`](Self::connect).
    pub fn with_connect(mut self, limit: Duration) -> Self {
        self.connect = limit;
        self
    }

    /// Sets [`tls`](Self::tls).
    pub fn with_tls(mut self, limit: Duration) -> Self {
        self.tls = limit;
        self
    }

    /// Sets [`handshake`](Self::handshake).
    pub fn with_handshake(mut self, limit: Duration) -> Self {
        self.handshake = limit;
        self
    }

    /// Sets [`close`](Self::close).
    pub fn with_close(mut self, limit: Duration) -> Self {
        self.close = limit;
        self
    }
}

/// Everything a client connection can be told.
///
/// `#[non_exhaustive]`: start from [`ConnectOptions::new`] and use the `with_*` setters (or
/// assign the fields), so that a new option is not a breaking change.
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// `ws://` or `wss://` URL.
    pub url: String,
    /// Origin, subprotocols, extension offers, extra headers.
    pub request: ClientOptions,
    /// TLS settings for `wss://`.
    pub tls: TlsOptions,
    /// A proxy: HTTP CONNECT (`http://`) or SOCKS5 (`socks5://`, `socks5h://`).
    pub proxy: Proxy,
    /// Time limits.
    pub timeouts: Timeouts,
    /// Engine options: auto-pong, automatic close reply, size limits, permessage-deflate.
    ///
    /// [`new`](ConnectOptions::new) turns on
    /// [`pause_after_message`](Config::pause_after_message), which the transport then
    /// respects as given: with it, parsing stops after each message until the application
    /// has had the chance to answer it, so a reply keeps its place before a failure caused
    /// by a later frame of the same read (as with a frame-by-frame reader; the Autobahn
    /// Testsuite checks this order). Turn it off to parse whole reads at once.
    pub config: Config,
    /// Where to report everything; `None` costs nothing.
    pub tap: Option<Tap>,
    /// Capacity of the task-driven handles' message channel ([`WsStream::into_driven`]).
    pub channel_capacity: usize,
}

impl ConnectOptions {
    /// Options for `url` with every default.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            request: ClientOptions::default(),
            tls: TlsOptions::default(),
            proxy: Proxy::None,
            timeouts: Timeouts::default(),
            config: crate::conn_core::default_config(),
            tap: None,
            channel_capacity: 256,
        }
    }

    /// Offers `protocol` as a subprotocol (after those offered already).
    pub fn with_protocol(mut self, protocol: impl Into<String>) -> Self {
        self.request.protocols.push(protocol.into());
        self
    }

    /// Sets the `Origin` header.
    pub fn with_origin(mut self, origin: impl Into<String>) -> Self {
        self.request.origin = Some(origin.into());
        self
    }

    /// Adds a request header (sent after the WebSocket headers).
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.request.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the TLS settings.
    pub fn with_tls(mut self, tls: TlsOptions) -> Self {
        self.tls = tls;
        self
    }

    /// Sets the proxy.
    pub fn with_proxy(mut self, proxy: Proxy) -> Self {
        self.proxy = proxy;
        self
    }

    /// Sets the time limits.
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Sets the engine options.
    pub fn with_config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Offers permessage-deflate (RFC 7692) with these parameters.
    pub fn with_deflate(mut self, deflate: ws_proto::DeflateConfig) -> Self {
        self.config.deflate = Some(deflate);
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

    /// Builds the upgrade request these options describe, with a fresh random key, for
    /// editing before [`connect_with_request`].
    pub fn build_request(&self) -> Result<Request<()>, Error> {
        handshake::client_request(&self.url, &handshake::random_key(), &self.request)
            .map_err(|e| Error::config(e.to_string()))
    }
}

/// Connects to `options.url`: TCP (through the proxy, if any), TLS for `wss://`, the upgrade.
///
/// The connection is a [`WsStream`] that the calling task drives: `recv` and `send` do the
/// I/O themselves, with no hand-off to another task — the fastest way to run a connection
/// (see [`crate::stream`]). [`WsStream::into_driven`] turns it into task-driven handles for
/// programs that must keep reading while they are busy elsewhere.
pub async fn connect(options: ConnectOptions) -> Result<WsStream<MaybeTlsStream>, Error> {
    let request = options.build_request()?;
    connect_with_request(request, options).await
}

/// Connects with a request built (and perhaps edited) by the caller; its URI must be the full
/// `ws://` or `wss://` URL, as [`ws_proto::handshake::client_request`] makes it. `options.url`
/// and `options.request` are ignored.
pub async fn connect_with_request(
    request: Request<()>,
    options: ConnectOptions,
) -> Result<WsStream<MaybeTlsStream>, Error> {
    let tap = options.tap.clone();
    if let Some(tap) = &tap {
        tap.report(TapKind::State(ws_proto::ReadyState::Connecting))
            .await;
    }
    // Boxed: a task's future is as large as its largest state, so the handshake (proxy, TLS,
    // the buffers) awaited in place would keep its size in the caller's task for the whole
    // connection. On the heap it is freed once the connection is open.
    let result = Box::pin(establish(request, &options)).await;
    if let (Err(e), Some(tap)) = (&result, &tap) {
        let (response, body) = match e.handshake_error() {
            Some(h) => (h.response().cloned().map(Box::new), h.body().cloned()),
            None => (None, None),
        };
        tap.report(TapKind::HandshakeFailed {
            reason: e.to_string(),
            response,
            body,
        })
        .await;
        tap.report(TapKind::State(ws_proto::ReadyState::Closed))
            .await;
    }
    result
}

async fn establish(
    request: Request<()>,
    options: &ConnectOptions,
) -> Result<WsStream<MaybeTlsStream>, Error> {
    let uri = request.uri().clone();
    let secure = match uri.scheme_str() {
        Some("wss") => true,
        Some("ws") => false,
        other => {
            return Err(Error::config(format!(
                "the URL scheme must be ws or wss, not {}",
                other.unwrap_or("(none)")
            )));
        }
    };
    let host = uri
        .host()
        .ok_or_else(|| Error::config("the URL has no host"))?
        .to_owned();
    let bare_host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
    let timeouts = options.timeouts;
    let tap = options.tap.as_ref();

    let via = proxy::resolve(&options.proxy, secure, &bare_host, port)?;
    let tcp = match &via {
        Some(target) => {
            let (tcp, leftover) = timeout(
                timeouts.connect,
                Stage::Proxy,
                proxy::connect(target, &bare_host, port),
            )
            .await??;
            if !leftover.is_empty() {
                return Err(Error::proxy(proxy::ProxyProblem::EarlyData));
            }
            tcp
        }
        None => timeout(
            timeouts.connect,
            Stage::Connect,
            TcpStream::connect((bare_host.as_str(), port)),
        )
        .await?
        .map_err(crate::tls::stream_error)?,
    };
    let _ = tcp.set_nodelay(true);
    let local_addr = tcp.local_addr().ok();
    let peer_addr = tcp.peer_addr().ok();
    if let (Some(tap), Some(local), Some(peer)) = (tap, local_addr, peer_addr) {
        tap.report(TapKind::TcpConnected {
            local,
            peer,
            proxy: via.as_ref().map(|p| format!("{}:{}", p.host, p.port)),
        })
        .await;
    }

    let config = crate::raw::engine_config(&options.config, tap);
    let settings = Settings {
        close_timeout: timeouts.close,
        channel_capacity: options.channel_capacity,
        tap: options.tap.clone(),
    };
    if secure {
        let tls_config = tls::client_config(&options.tls)?;
        let (stream, info) = timeout(
            timeouts.tls,
            Stage::Tls,
            tls::connect(tcp, &bare_host, tls_config),
        )
        .await??;
        if let Some(tap) = tap {
            tap.report(TapKind::TlsEstablished(Box::new(info.clone())))
                .await;
        }
        open(
            MaybeTlsStream::Tls(Box::new(stream.into())),
            request,
            config,
            settings,
            timeouts,
            Some(info),
            local_addr,
            peer_addr,
        )
        .await
    } else {
        open(
            MaybeTlsStream::Plain(tcp),
            request,
            config,
            settings,
            timeouts,
            None,
            local_addr,
            peer_addr,
        )
        .await
    }
}

#[allow(clippy::too_many_arguments)]
async fn open<S>(
    mut io: S,
    request: Request<()>,
    config: Config,
    settings: Settings,
    timeouts: Timeouts,
    tls: Option<TlsInfo>,
    local_addr: Option<std::net::SocketAddr>,
    peer_addr: Option<std::net::SocketAddr>,
) -> Result<WsStream<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // The engine would add the permessage-deflate offer itself; adding it here first keeps
    // the request in the handshake info and the tap exactly as sent.
    let mut request = request;
    if let Some(deflate) = &config.deflate {
        ws_proto::deflate::add_offer(&mut request, deflate);
    }
    let mut conn = Connection::client(request.clone(), config);
    let mut out = BytesMut::new();
    conn.poll_transmit(&mut out);
    let raw_request = out.clone().freeze();
    let opened = timeout(timeouts.handshake, Stage::Handshake, async {
        io.write_all(&out).await.map_err(crate::tls::stream_error)?;
        io.flush().await.map_err(crate::tls::stream_error)?;
        if let Some(tap) = &settings.tap {
            tap.report(TapKind::RequestSent {
                request: Box::new(request.clone()),
                raw: raw_request,
            })
            .await;
        }
        read_until_open(&mut io, &mut conn).await
    })
    .await??;
    if let Some(tap) = &settings.tap {
        tap.report(TapKind::ResponseReceived {
            response: Box::new(opened.response.clone()),
            raw: opened.head.clone(),
        })
        .await;
    }
    let handshake = HandshakeInfo {
        request,
        response: opened.response,
        protocol: opened.negotiated.protocol,
        extensions: opened.negotiated.extensions,
        deflate: conn.deflate().copied(),
        tls,
        local_addr,
        peer_addr,
    };
    if let Some(tap) = &settings.tap {
        tap.report(TapKind::Opened(Box::new(handshake.clone())))
            .await;
        tap.report(TapKind::State(ws_proto::ReadyState::Open)).await;
    }
    Ok(WsStream::new(io, conn, handshake, settings))
}

/// Reads the server's answer until the connection opens or the handshake fails. Events that
/// follow `Open` (early frames) stay queued in `conn` for the driver.
async fn read_until_open<S>(io: &mut S, conn: &mut Connection) -> Result<ws_proto::Opened, Error>
where
    S: AsyncRead + Unpin,
{
    let mut buf = BytesMut::with_capacity(16 * 1024);
    loop {
        let (eof, result) = read_and_feed(io, conn, &mut buf).await?;
        if let Some(Event::Open(opened)) = conn.poll_event() {
            // A fault in frames that came with the 101 fails the open connection, not the
            // handshake: its close frame is queued and the connection returns the fault.
            match result {
                Ok(()) | Err(ws_proto::Error::Protocol(_)) => return Ok(*opened),
                Err(e) => return Err(e.into()),
            }
        }
        result?;
        if eof {
            return Err(ws_proto::Error::from(HandshakeError::UnexpectedEof).into());
        }
    }
}

/// One read during the opening handshake, fed to `conn` (the end of the stream as
/// `receive_eof`): whether it was the end, and what the engine made of it.
pub(crate) async fn read_and_feed<S>(
    io: &mut S,
    conn: &mut Connection,
    buf: &mut BytesMut,
) -> Result<(bool, Result<(), ws_proto::Error>), Error>
where
    S: AsyncRead + Unpin,
{
    buf.clear();
    let n = io.read_buf(buf).await.map_err(crate::tls::stream_error)?;
    Ok(if n == 0 {
        (true, conn.receive_eof())
    } else {
        (false, conn.receive_data(buf))
    })
}

pub(crate) async fn timeout<T>(
    limit: Duration,
    stage: Stage,
    fut: impl std::future::Future<Output = T>,
) -> Result<T, Error> {
    tokio::time::timeout(limit, fut)
        .await
        .map_err(|_| Error::timeout(stage))
}
