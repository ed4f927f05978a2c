//! [`HandshakeInfo`]: what the opening handshake settled, for both ways to run a connection.

use std::net::SocketAddr;

use ws_proto::http::Response;

use crate::tls::TlsInfo;

/// What the opening handshake settled.
#[derive(Clone, Debug)]
pub struct HandshakeInfo {
    /// The request, as sent (client) or received (server).
    pub request: ws_proto::http::Request<()>,
    /// The 101 response, as received (client) or sent (server).
    pub response: Response<()>,
    /// The agreed subprotocol.
    pub protocol: Option<String>,
    /// The agreed extensions.
    pub extensions: Vec<String>,
    /// The permessage-deflate parameters, if it was agreed (see
    /// [`Config::deflate`](ws_proto::Config::deflate)).
    pub deflate: Option<ws_proto::DeflateParams>,
    /// The TLS session, for wss.
    pub tls: Option<TlsInfo>,
    /// Our address.
    pub local_addr: Option<SocketAddr>,
    /// The peer's address (the proxy's, behind a proxy).
    pub peer_addr: Option<SocketAddr>,
}
