//! Construction on a stream whose opening handshake happened elsewhere: [`WsStream::from_raw`]
//! with [`RawOptions`].
//!
//! A framework (hyper, axum, a proxy of your own) reads the upgrade request, answers 101 and
//! hands over the stream; `from_raw` runs the connection on it from the first frame on, with
//! the role, the subprotocol and the permessage-deflate parameters that handshake agreed. The
//! hyper helper ([`upgrade`](crate::upgrade), feature `hyper`) is built on it.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use ws_proto::http::{HeaderValue, Request, Response, StatusCode, header};
use ws_proto::{Config, Connection, DeflateParams, Negotiated, Role, deflate};

use crate::conn_core::Settings;
use crate::error::Error;
use crate::handshake_info::HandshakeInfo;
use crate::server::ServerOptions;
use crate::stream::WsStream;
use crate::tap::Tap;

/// How to run a connection built with [`WsStream::from_raw`]. Start from [`RawOptions::new`]
/// (or `RawOptions::from(&server_options)`, which takes a [`ServerOptions`]' engine options,
/// close timeout and tap) and set the fields you need; new fields may be added, with
/// defaults.
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct RawOptions {
    /// Engine options: auto-pong, automatic close reply, size limits (default: those of
    /// [`ServerOptions::default`], with [`pause_after_message`](Config::pause_after_message)
    /// on). Its
    /// [`deflate`](Config::deflate) settings (compression level, minimum size) are used if
    /// permessage-deflate was negotiated; whether it was is the `negotiated` argument's say.
    pub config: Config,
    /// Limit for the close handshake (default 10 s).
    pub close_timeout: Duration,
    /// Where to report frames, state changes and the close. The opening handshake happened
    /// elsewhere, so nothing is reported about it.
    pub tap: Option<Tap>,
    /// Capacity of the message channel of the task-driven handles, if the
    /// connection is turned into them ([`WsStream::into_driven`]; default 256).
    pub channel_capacity: usize,
    /// The upgrade request, for [`HandshakeInfo::request`] (default: an empty `GET /`).
    pub request: Option<Request<()>>,
    /// The 101 response, for [`HandshakeInfo::response`] (default: a 101 with the negotiated
    /// `Sec-WebSocket-Protocol` and `Sec-WebSocket-Extensions`, and no `Sec-WebSocket-Accept`).
    pub response: Option<Response<()>>,
    /// Our address, for [`HandshakeInfo::local_addr`].
    pub local_addr: Option<SocketAddr>,
    /// The peer's address, for [`HandshakeInfo::peer_addr`].
    pub peer_addr: Option<SocketAddr>,
    /// Bytes the framework read past the end of the handshake (the first frames, when the
    /// peer sent them with its request or right after the 101): the connection reads them
    /// before anything from the stream. Default: none.
    pub buffered: ws_proto::bytes::Bytes,
}

impl RawOptions {
    /// Every default: those of [`ServerOptions::default`] where the two share a field.
    pub fn new() -> Self {
        Self::from(&ServerOptions::default())
    }

    /// Sets the engine options.
    pub fn with_config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Sets the limit for the close handshake.
    pub fn with_close_timeout(mut self, limit: Duration) -> Self {
        self.close_timeout = limit;
        self
    }

    /// Reports frames, state changes and the close to `tap`.
    pub fn with_tap(mut self, tap: Tap) -> Self {
        self.tap = Some(tap);
        self
    }

    /// Sets the capacity of the task-driven handles' message channel.
    pub fn with_channel_capacity(mut self, capacity: usize) -> Self {
        self.channel_capacity = capacity;
        self
    }

    /// Records the opening handshake that happened elsewhere, for [`HandshakeInfo`].
    pub fn with_handshake(mut self, request: Request<()>, response: Response<()>) -> Self {
        self.request = Some(request);
        self.response = Some(response);
        self
    }

    /// Hands over bytes already read past the handshake, to be read before the stream's.
    pub fn with_buffered(mut self, bytes: impl Into<ws_proto::bytes::Bytes>) -> Self {
        self.buffered = bytes.into();
        self
    }

    /// Records the two ends' addresses, for [`HandshakeInfo`].
    pub fn with_addrs(mut self, local: SocketAddr, peer: SocketAddr) -> Self {
        self.local_addr = Some(local);
        self.peer_addr = Some(peer);
        self
    }
}

impl Default for RawOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl From<&ServerOptions> for RawOptions {
    /// The engine options, close timeout, tap and channel capacity of a server's options
    /// (TLS and the handshake timeout concern the handshake, which happened elsewhere).
    fn from(options: &ServerOptions) -> Self {
        Self {
            config: options.config.clone(),
            close_timeout: options.close_timeout,
            tap: options.tap.clone(),
            channel_capacity: options.channel_capacity,
            request: None,
            response: None,
            local_addr: None,
            peer_addr: None,
            buffered: ws_proto::bytes::Bytes::new(),
        }
    }
}

impl<S> WsStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Runs an open connection on `io`, a stream that has completed the opening handshake
    /// (the 101 response is sent or received; the next bytes are frames), as `role`, with
    /// the subprotocol and extensions `negotiated` lists: each element of
    /// [`Negotiated::extensions`] as in the 101's `Sec-WebSocket-Extensions`
    /// (`DeflateParams::to_string` makes one for permessage-deflate).
    ///
    /// Fails (an [`is_config`](Error::is_config) error) if an extension is not
    /// permessage-deflate — the engine implements no other, and a peer using one would set
    /// bits that fail the connection — if permessage-deflate is listed twice, or if its
    /// parameters do not parse as a server's answer (RFC 7692 §7.1). Nothing is read or
    /// written here (bytes in [`RawOptions::buffered`] are parsed).
    ///
    /// ```
    /// # async fn demo() -> Result<(), ws_tokio::Error> {
    /// use ws_tokio::ws_proto::{DeflateParams, Negotiated, Role};
    /// use ws_tokio::{Message, RawOptions, WsStream};
    ///
    /// // Both ends of an in-memory pipe, each as if its handshake had agreed permessage-deflate.
    /// let (a, b) = tokio::io::duplex(64 * 1024);
    /// let negotiated = Negotiated {
    ///     protocol: None,
    ///     extensions: vec![DeflateParams::default().to_string()],
    /// };
    /// let mut client = WsStream::from_raw(a, Role::Client, negotiated.clone(), RawOptions::new())?;
    /// let mut server = WsStream::from_raw(b, Role::Server, negotiated, RawOptions::new())?;
    /// client.send_text("hello").await?;
    /// assert!(matches!(server.recv().await, Some(Ok(Message::Text(t))) if t.as_str() == "hello"));
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub fn from_raw(
        io: S,
        role: Role,
        negotiated: Negotiated,
        options: RawOptions,
    ) -> Result<Self, Error> {
        let deflate = check_extensions(&negotiated.extensions)?;
        let mut conn = Connection::open(
            role,
            engine_config(&options.config, options.tap.as_ref()),
            negotiated,
        );
        // Bytes read past the handshake come first. A fault in them fails the connection:
        // its close is queued and the first `recv` returns it.
        if !options.buffered.is_empty() {
            let _ = conn.receive_data(&options.buffered);
        }
        // The engine parses the element checked above the same way.
        debug_assert_eq!(conn.deflate(), deflate.as_ref());
        let response = options
            .response
            .unwrap_or_else(|| switching_protocols(conn.protocol(), conn.extensions()));
        let handshake = HandshakeInfo {
            request: options.request.unwrap_or_default(),
            response,
            protocol: conn.protocol().map(str::to_owned),
            extensions: conn.extensions().to_vec(),
            deflate,
            tls: None,
            local_addr: options.local_addr,
            peer_addr: options.peer_addr,
        };
        let settings = Settings {
            close_timeout: options.close_timeout,
            channel_capacity: options.channel_capacity,
            tap: options.tap,
        };
        Ok(Self::new(io, conn, handshake, settings))
    }
}

/// The engine options a transport runs a connection with: the caller's, with every frame
/// reported if there is a tap.
pub(crate) fn engine_config(config: &Config, tap: Option<&Tap>) -> Config {
    let mut config = config.clone();
    config.report_frames |= tap.is_some();
    config
}

/// The permessage-deflate parameters among `extensions`, which must hold nothing else.
fn check_extensions(extensions: &[String]) -> Result<Option<DeflateParams>, Error> {
    let mut agreed = None;
    for element in extensions {
        if !deflate::is_deflate(element) {
            return Err(Error::config(format!(
                "the extension {element:?} is not implemented (permessage-deflate is the only one)"
            )));
        }
        if agreed.is_some() {
            return Err(Error::config("permessage-deflate is listed twice"));
        }
        let params = DeflateParams::parse_response(element).map_err(|reason| {
            Error::config(format!(
                "the permessage-deflate answer {element:?}: {reason}"
            ))
        })?;
        agreed = Some(params);
    }
    Ok(agreed)
}

/// A 101 response with the agreed subprotocol and extensions, for a handshake not seen.
fn switching_protocols(protocol: Option<&str>, extensions: &[String]) -> Response<()> {
    let mut response = Response::new(());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    // Values that are not valid header text are left out: this response is only a record.
    if let Some(value) = protocol.and_then(|p| HeaderValue::from_str(p).ok()) {
        headers.insert(header::SEC_WEBSOCKET_PROTOCOL, value);
    }
    if let Ok(value) = HeaderValue::from_str(&extensions.join(", "))
        && !extensions.is_empty()
    {
        headers.insert(header::SEC_WEBSOCKET_EXTENSIONS, value);
    }
    response
}
