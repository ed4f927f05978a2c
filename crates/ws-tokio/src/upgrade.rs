//! Upgrades in hyper 1 and the frameworks built on it (axum, …), with the `hyper` feature.
//!
//! [`upgrade`] checks an incoming request (RFC 6455 §4.2.1) and gives the 101 response to
//! answer it with and an [`UpgradeFut`]: once hyper has sent the response and handed the
//! connection over, the future yields it as a [`WsStream`] that its task drives, on
//! [`ServerOptions`]' engine options, close timeout and tap. A request that is not a valid
//! upgrade gets an [`UpgradeError`] saying why, with the 400, 405 or 426 response to send.
//! [`upgrade_with`] lets the caller choose a subprotocol or refuse, as
//! [`accept`](crate::accept)'s hook does.
//!
//! The server must let hyper hand connections over: `with_upgrades()` on hyper's HTTP/1
//! connection (axum's `serve` does it). The response must be returned before the future can
//! finish, so the future is awaited in a task of its own:
//!
//! ```no_run
//! use std::convert::Infallible;
//!
//! use http_body_util::Full;
//! use hyper::body::{Bytes, Incoming};
//! use hyper::{Request, Response};
//! use hyper_util::rt::TokioIo;
//! use ws_tokio::{Message, ServerOptions};
//!
//! async fn handle(mut request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
//!     let options = ServerOptions::default();
//!     let (response, upgraded) = match ws_tokio::upgrade::upgrade(&mut request, &options) {
//!         Ok(accepted) => accepted,
//!         // Not a valid upgrade: a 400 (or 405, 426) with a body that says why.
//!         Err(refused) => return Ok(refused.into_response()),
//!     };
//!     tokio::spawn(async move {
//!         let Ok(mut ws) = upgraded.await else { return };
//!         while let Some(Ok(Message::Text(text))) = ws.recv().await {
//!             if ws.send_text(text.as_str()).await.is_err() {
//!                 break;
//!             }
//!         }
//!     });
//!     Ok(response.map(|_| Full::default()))
//! }
//!
//! # async fn serve() -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9002").await?;
//! loop {
//!     let (tcp, _) = listener.accept().await?;
//!     tokio::spawn(
//!         hyper::server::conn::http1::Builder::new()
//!             .serve_connection(TokioIo::new(tcp), hyper::service::service_fn(handle))
//!             .with_upgrades(),
//!     );
//! }
//! # }
//! ```
//!
//! `ServerOptions::tls` and `handshake_timeout` do not apply here: hyper does TLS, if any,
//! and reads the request. With a tap, the reports start when the upgrade completes: the
//! request as hyper parsed it, the 101 as given to hyper (hyper may add headers such as
//! `date`; the raw bytes reported are these heads written out, not the bytes on the wire),
//! then the connection's frames. A refused request is not reported; the caller has the
//! [`UpgradeError`].

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use http_body_util::{Empty, Full};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use ws_proto::bytes::Bytes;
use ws_proto::http::{HeaderValue, Request, Response, StatusCode, header};
use ws_proto::{HandshakeError, Negotiated, ReadyState, Role, UpgradeRequest, handshake};

use crate::error::Error;
use crate::raw::RawOptions;
use crate::server::{Decision, ServerOptions, accept_answer};
use crate::stream::WsStream;
use crate::tap::TapKind;

/// The connection an upgrade gives: a [`WsStream`] over hyper's upgraded I/O.
pub type UpgradedStream = WsStream<TokioIo<Upgraded>>;

/// Checks `request` and, if it is a valid WebSocket upgrade, accepts it with no subprotocol
/// and no extra headers (permessage-deflate as `options.config.deflate` allows): return the
/// response to hyper, and await the future in a task of its own. See the
/// [module notes](self).
pub fn upgrade<B>(
    request: &mut Request<B>,
    options: &ServerOptions,
) -> Result<(Response<Empty<Bytes>>, UpgradeFut), UpgradeError> {
    upgrade_with(request, options, |_| Decision::accept())
}

/// [`upgrade`], with `decide` seeing the checked request first: it accepts, choosing a
/// subprotocol and adding headers, or refuses with a status and body, which come back as an
/// [`UpgradeError`] to send.
pub fn upgrade_with<B, F>(
    request: &mut Request<B>,
    options: &ServerOptions,
    decide: F,
) -> Result<(Response<Empty<Bytes>>, UpgradeFut), UpgradeError>
where
    F: FnOnce(&UpgradeRequest) -> Decision,
{
    let checked = handshake::check_request(head_of(request)).map_err(|fault| {
        let body = fault.problem.to_string();
        let error = HandshakeError::InvalidRequest {
            problem: fault.problem,
            status: fault.status,
        };
        UpgradeError::new(ws_proto::Error::from(error).into(), fault.status, body)
    })?;
    if request.extensions().get::<OnUpgrade>().is_none() {
        return Err(UpgradeError::new(
            Error::config(
                "hyper offers no upgrade for this request (it was taken already, or the \
                 request did not come from hyper's HTTP/1 server)",
            ),
            StatusCode::INTERNAL_SERVER_ERROR,
            "this server cannot upgrade the connection".to_owned(),
        ));
    }
    let response = match decide(&checked) {
        Decision::Accept { protocol, headers } => {
            accept_answer(&checked, protocol.as_deref(), headers, &options.config)
        }
        Decision::Reject { status, body } => {
            let error = ws_proto::Error::from(HandshakeError::RejectedByServer(status));
            return Err(UpgradeError::new(error.into(), status, body));
        }
    };
    let on_upgrade = hyper::upgrade::on(request);
    let negotiated = negotiated(&response);
    let mut raw = RawOptions::from(options);
    raw.request = Some(checked.request);
    raw.response = Some(response.clone());
    let future = async move {
        let upgraded = on_upgrade
            .await
            .map_err(|e| Error::from(io::Error::other(e)))?;
        if let (Some(tap), Some(request), Some(response)) = (&raw.tap, &raw.request, &raw.response)
        {
            let mut head = Vec::with_capacity(512);
            handshake::write_request(request, &mut head);
            tap.report(TapKind::RequestReceived {
                request: Box::new(request.clone()),
                raw: head.into(),
            })
            .await;
            let mut head = Vec::with_capacity(256);
            handshake::write_response(response, &mut head);
            tap.report(TapKind::ResponseSent { raw: head.into() }).await;
        }
        let tap = raw.tap.clone();
        let ws = WsStream::from_raw(TokioIo::new(upgraded), Role::Server, negotiated, raw)?;
        if let Some(tap) = tap {
            tap.report(TapKind::Opened(Box::new(ws.handshake().clone())))
                .await;
            tap.report(TapKind::State(ReadyState::Open)).await;
        }
        Ok(ws)
    };
    let future = UpgradeFut {
        inner: Box::pin(future),
    };
    Ok((response.map(|()| Empty::new()), future))
}

/// Whether `request` asks for a WebSocket upgrade (`Connection: Upgrade` and `Upgrade:
/// websocket`), for a server that serves other requests on the same paths. [`upgrade`]
/// checks the rest.
pub fn is_upgrade_request<B>(request: &Request<B>) -> bool {
    let has = |name: &header::HeaderName, token: &str| {
        handshake::header_tokens(request.headers(), name)
            .iter()
            .any(|t| t.eq_ignore_ascii_case(token))
    };
    has(&header::CONNECTION, "upgrade") && has(&header::UPGRADE, "websocket")
}

/// The connection of an accepted upgrade, once hyper has sent the 101 response and handed the
/// connection over. Fails if hyper could not (the connection ended first, or the server does
/// not allow upgrades). Awaiting it in the task that returns the response to hyper never ends.
#[must_use = "the connection is only had by awaiting the future"]
pub struct UpgradeFut {
    inner: Pin<Box<dyn Future<Output = Result<UpgradedStream, Error>> + Send>>,
}

impl Future for UpgradeFut {
    type Output = Result<UpgradedStream, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

impl fmt::Debug for UpgradeFut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpgradeFut").finish_non_exhaustive()
    }
}

/// A request [`upgrade`] did not accept: why ([`error`](Self::error), also the `Display`),
/// and the answer to send ([`into_response`](Self::into_response)) — 400, 405 or 426 for a
/// request that is not a valid upgrade (426 with `Sec-WebSocket-Version: 13`), the status
/// and body of a [`Decision::Reject`], 500 if hyper offers no upgrade for the request.
#[derive(Debug)]
pub struct UpgradeError {
    error: Error,
    /// Boxed: the error travels in a `Result` beside the much smaller success.
    response: Box<Response<Full<Bytes>>>,
}

impl UpgradeError {
    fn new(error: Error, status: StatusCode, body: String) -> Self {
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        if status == StatusCode::UPGRADE_REQUIRED {
            headers.insert(
                header::SEC_WEBSOCKET_VERSION,
                HeaderValue::from_static("13"),
            );
            headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        }
        if status == StatusCode::METHOD_NOT_ALLOWED {
            headers.insert(header::ALLOW, HeaderValue::from_static("GET"));
        }
        Self {
            error,
            response: Box::new(response),
        }
    }

    /// Why: an [`is_handshake`](Error::is_handshake) error for a request refused by the
    /// checks or by `decide`, an [`is_config`](Error::is_config) one if hyper offers no upgrade.
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// The status of the answer.
    pub fn status(&self) -> StatusCode {
        self.response.status()
    }

    /// The answer to send: the status, a plain-text body saying why, and the headers the
    /// status calls for.
    pub fn into_response(self) -> Response<Full<Bytes>> {
        *self.response
    }
}

impl fmt::Display for UpgradeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl std::error::Error for UpgradeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.error)
    }
}

impl From<UpgradeError> for Error {
    fn from(e: UpgradeError) -> Self {
        e.error
    }
}

/// The request's head, for the checks.
fn head_of<B>(request: &Request<B>) -> Request<()> {
    let mut head = Request::new(());
    *head.method_mut() = request.method().clone();
    *head.uri_mut() = request.uri().clone();
    *head.version_mut() = request.version();
    *head.headers_mut() = request.headers().clone();
    head
}

/// What an accepted 101 agrees to, read from its headers as the peer will read them.
fn negotiated(response: &Response<()>) -> Negotiated {
    let headers = response.headers();
    Negotiated {
        protocol: headers
            .get(header::SEC_WEBSOCKET_PROTOCOL)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        extensions: handshake::header_tokens(headers, &header::SEC_WEBSOCKET_EXTENSIONS)
            .into_iter()
            .map(str::to_owned)
            .collect(),
    }
}
