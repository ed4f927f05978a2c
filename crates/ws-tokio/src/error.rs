//! The crate's error: one opaque type with queries, as in `h2` and `reqwest`.

use std::fmt;
use std::io;

use ws_proto::{CloseCode, HandshakeError, ProtocolError, UsageError};

use crate::proxy::ProxyProblem;
use crate::tls::TlsFailure;

/// Everything that can go wrong with a connection. Ask it what happened with the `is_*`
/// queries; [`http_response`](Self::http_response) and [`http_body`](Self::http_body) give a
/// refused upgrade's answer, [`tls_failure`](Self::tls_failure) what went wrong in TLS; it
/// converts into [`io::Error`].
///
/// Its `Display` is meant for people: for a TLS failure, a sentence that says what is wrong
/// and what to do, without rustls' wording (which stays reachable as the
/// [`source`](std::error::Error::source)).
pub struct Error(Box<Inner>);

/// What an [`Error`] holds, boxed: an error is a pointer wide, so that every `Result` the
/// connection returns and the connection's own record of how it ended stay small.
struct Inner {
    kind: Kind,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// What stage timed out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Resolving the name and opening TCP.
    Connect,
    /// The exchange with the proxy (HTTP CONNECT or SOCKS5).
    Proxy,
    /// The TLS handshake.
    Tls,
    /// The HTTP upgrade.
    Handshake,
    /// Waiting for the peer's close frame or TCP close.
    Close,
}

#[derive(Debug)]
pub(crate) enum Kind {
    Io,
    Timeout(Stage),
    Tls(Box<TlsFailure>),
    Handshake(Box<HandshakeError>),
    Protocol(ProtocolError),
    /// A call the connection's state does not allow (data after our close frame, a control
    /// frame too long, …): the caller's mistake, nothing was sent.
    Usage(UsageError),
    Proxy(ProxyProblem),
    Config(String),
    /// The connection is closed; the command could not be carried out.
    Closed,
}

impl Error {
    pub(crate) fn new(kind: Kind) -> Self {
        Self(Box::new(Inner { kind, source: None }))
    }

    pub(crate) fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        self.0.source = Some(source.into());
        self
    }

    pub(crate) fn io(e: io::Error) -> Self {
        Self::new(Kind::Io).with_source(e)
    }

    pub(crate) fn timeout(stage: Stage) -> Self {
        Self::new(Kind::Timeout(stage))
    }

    pub(crate) fn tls(failure: TlsFailure) -> Self {
        Self::new(Kind::Tls(Box::new(failure)))
    }

    pub(crate) fn proxy(problem: ProxyProblem) -> Self {
        Self::new(Kind::Proxy(problem))
    }

    pub(crate) fn config(msg: impl Into<String>) -> Self {
        Self::new(Kind::Config(msg.into()))
    }

    pub(crate) fn closed() -> Self {
        Self::new(Kind::Closed)
    }

    /// A time limit ran out.
    pub fn is_timeout(&self) -> bool {
        matches!(self.0.kind, Kind::Timeout(_))
    }

    /// Which stage timed out, if one did.
    pub fn timeout_stage(&self) -> Option<Stage> {
        match self.0.kind {
            Kind::Timeout(stage) => Some(stage),
            _ => None,
        }
    }

    /// The TLS handshake failed (e.g. an untrusted certificate), or the peer ended TLS with
    /// an alert later; [`tls_failure`](Self::tls_failure) says what went wrong.
    pub fn is_tls(&self) -> bool {
        matches!(self.0.kind, Kind::Tls(_))
    }

    /// What went wrong in TLS, classified (self-signed, expired, wrong name, not a TLS
    /// server, …), with a plain sentence as its `Display` and a
    /// [`hint`](TlsFailure::hint) of what to do; `None` unless [`is_tls`](Self::is_tls).
    pub fn tls_failure(&self) -> Option<&TlsFailure> {
        match &self.0.kind {
            Kind::Tls(failure) => Some(failure),
            _ => None,
        }
    }

    /// The HTTP upgrade failed; [`http_response`](Self::http_response) has the answer if the
    /// server sent one.
    pub fn is_handshake(&self) -> bool {
        matches!(self.0.kind, Kind::Handshake(_))
    }

    /// The handshake failure, if this is one.
    pub fn handshake_error(&self) -> Option<&HandshakeError> {
        match &self.0.kind {
            Kind::Handshake(e) => Some(e),
            _ => None,
        }
    }

    /// The server's HTTP answer to a failed upgrade (status and headers).
    pub fn http_response(&self) -> Option<&ws_proto::http::Response<()>> {
        self.handshake_error().and_then(HandshakeError::response)
    }

    /// The body of a non-101 answer.
    pub fn http_body(&self) -> Option<&[u8]> {
        self.handshake_error()
            .and_then(HandshakeError::body)
            .map(|b| &b[..])
    }

    /// The peer broke the protocol; the connection was failed with [`close_code`](Self::close_code).
    pub fn is_protocol(&self) -> bool {
        matches!(self.0.kind, Kind::Protocol(_))
    }

    /// The protocol violation, if this is one.
    pub fn protocol_error(&self) -> Option<&ProtocolError> {
        match &self.0.kind {
            Kind::Protocol(e) => Some(e),
            _ => None,
        }
    }

    /// The close code that goes with this error: the code sent when failing the connection
    /// for a protocol violation, 1006 for a connection lost, 1015 for a TLS failure.
    pub fn close_code(&self) -> Option<CloseCode> {
        match &self.0.kind {
            Kind::Protocol(e) => Some(e.close_code()),
            Kind::Io => Some(CloseCode::ABNORMAL),
            Kind::Tls(_) => Some(CloseCode::TLS_HANDSHAKE),
            _ => None,
        }
    }

    /// A socket error (connection refused, reset, …).
    pub fn is_io(&self) -> bool {
        matches!(self.0.kind, Kind::Io)
    }

    /// The proxy (HTTP CONNECT or SOCKS5) refused or failed.
    pub fn is_proxy(&self) -> bool {
        matches!(self.0.kind, Kind::Proxy(_))
    }

    /// What went wrong with the proxy, if that is what failed.
    pub fn proxy_problem(&self) -> Option<&ProxyProblem> {
        match &self.0.kind {
            Kind::Proxy(problem) => Some(problem),
            _ => None,
        }
    }

    /// The options were invalid (bad URL, unreadable certificate file, …).
    pub fn is_config(&self) -> bool {
        matches!(self.0.kind, Kind::Config(_))
    }

    /// The connection was already closed.
    pub fn is_closed(&self) -> bool {
        matches!(self.0.kind, Kind::Closed)
    }

    /// The call was not allowed in the connection's state (a send after our close frame, a
    /// ping over 125 bytes, a fragment of another message, …); nothing was sent.
    /// [`usage_error`](Self::usage_error) says which.
    pub fn is_usage(&self) -> bool {
        matches!(self.0.kind, Kind::Usage(_))
    }

    /// Which call was not allowed, if [`is_usage`](Self::is_usage).
    pub fn usage_error(&self) -> Option<&UsageError> {
        match &self.0.kind {
            Kind::Usage(e) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ws_tokio::Error");
        d.field("kind", &self.0.kind);
        if let Some(source) = &self.0.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0.kind {
            Kind::Io => f.write_str("I/O error")?,
            Kind::Timeout(stage) => write!(f, "timed out ({})", stage_name(*stage))?,
            Kind::Tls(failure) => {
                // A sentence of its own: rustls' wording of the source is for developers.
                return match failure.hint() {
                    Some(hint) => write!(f, "{failure}: {hint}"),
                    None => write!(f, "{failure}"),
                };
            }
            Kind::Handshake(e) => write!(f, "handshake failed: {e}")?,
            Kind::Protocol(e) => write!(f, "protocol error: {e}")?,
            Kind::Usage(e) => write!(f, "not allowed on this connection now: {e}")?,
            Kind::Proxy(msg) => write!(f, "proxy: {msg}")?,
            Kind::Config(msg) => write!(f, "invalid options: {msg}")?,
            Kind::Closed => f.write_str("the connection is closed")?,
        }
        if let Some(source) = &self.0.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

fn stage_name(stage: Stage) -> &'static str {
    match stage {
        Stage::Connect => "TCP connect",
        Stage::Proxy => "proxy CONNECT",
        Stage::Tls => "TLS handshake",
        Stage::Handshake => "opening handshake",
        Stage::Close => "closing handshake",
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Self::io(e)
    }
}

impl From<ws_proto::Error> for Error {
    fn from(e: ws_proto::Error) -> Self {
        match e {
            ws_proto::Error::Protocol(p) => Self::new(Kind::Protocol(p)),
            ws_proto::Error::Handshake(h) => Self::new(Kind::Handshake(h)),
            ws_proto::Error::Usage(u) => Self::new(Kind::Usage(u)),
            // The engine's error is non-exhaustive: a new category reads as its own words.
            other => Self::config(other.to_string()),
        }
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> Self {
        let kind = match &e.0.kind {
            Kind::Io => match e
                .0
                .source
                .as_ref()
                .and_then(|s| s.downcast_ref::<io::Error>())
            {
                Some(io) => io.kind(),
                None => io::ErrorKind::Other,
            },
            Kind::Timeout(_) => io::ErrorKind::TimedOut,
            Kind::Protocol(_) | Kind::Handshake(_) => io::ErrorKind::InvalidData,
            Kind::Config(_) | Kind::Usage(_) => io::ErrorKind::InvalidInput,
            Kind::Closed => io::ErrorKind::NotConnected,
            Kind::Tls(_) | Kind::Proxy(_) => io::ErrorKind::Other,
        };
        io::Error::new(kind, e)
    }
}

/// A `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
