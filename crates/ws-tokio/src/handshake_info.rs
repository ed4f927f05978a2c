//! [`HandshakeInfo`]: what the opening handshake settled, for both ways to run a connection.

use std::net::SocketAddr;

use ws_proto::Connection;
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

/// A connection's [`HandshakeInfo`], kept small while nobody asks for it.
///
/// A parsed request and 101 are about 1.8 KiB per connection (two header maps of about 620
/// bytes each and the 576-byte info around them) — most of an idle server connection's
/// memory, for headers most servers looked at once, in the upgrade's callback. So the two
/// heads are kept as the bytes of an HTTP head (a few hundred bytes) and parsed again, once,
/// the first time [`get`](Self::get) is called. A request or response that such a head cannot
/// carry whole (extensions in it, an HTTP version other than 1.0 and 1.1 — 1.1 for the
/// response —, a header value with white space at an end or marked sensitive) is kept as it
/// is.
///
/// Written by hand rather than kept as the bytes read from the socket: a client's request and
/// a server's 101 never existed as received bytes, and the head bytes a server read are part
/// of its input buffer, which keeping them would pin.
#[derive(Debug)]
pub(crate) struct StoredHandshake(Box<CompactHandshake>);

/// What a [`StoredHandshake`] keeps.
#[derive(Debug)]
pub(crate) struct CompactHandshake {
    /// The request head, then the response head, each ending with its blank line (empty when
    /// the info is kept as it came, in `parsed`).
    heads: Box<[u8]>,
    /// Where the response head starts in `heads`.
    request_len: usize,
    tls: Option<Box<TlsInfo>>,
    local_addr: Option<SocketAddr>,
    peer_addr: Option<SocketAddr>,
    /// The info: as it came, or parsed again from `heads` the first time it is asked for.
    parsed: std::sync::OnceLock<Box<HandshakeInfo>>,
}

impl StoredHandshake {
    /// Keeps `info`, as head bytes if they can carry it whole. Its subprotocol, extensions
    /// and permessage-deflate parameters are `conn`'s (the engine keeps them anyway) unless
    /// they differ.
    pub fn new(info: HandshakeInfo, conn: &Connection) -> Self {
        let request = &info.request;
        let response = &info.response;
        let negotiated_as_conn = info.protocol.as_deref() == conn.protocol()
            && info.extensions == conn.extensions()
            && info.deflate.as_ref() == conn.deflate();
        use ws_proto::http::Version;
        // `write_response` writes HTTP/1.1 whatever the response says.
        let versions = matches!(request.version(), Version::HTTP_10 | Version::HTTP_11)
            && response.version() == Version::HTTP_11;
        if !(negotiated_as_conn
            && versions
            && encodable(request.extensions(), request.headers())
            && encodable(response.extensions(), response.headers()))
        {
            let compact = CompactHandshake {
                heads: Box::default(),
                request_len: 0,
                tls: None,
                local_addr: None,
                peer_addr: None,
                parsed: std::sync::OnceLock::from(Box::new(info)),
            };
            return Self(Box::new(compact));
        }
        let mut heads = Vec::with_capacity(512);
        encode_request(request, &mut heads);
        let request_len = heads.len();
        ws_proto::handshake::write_response(response, &mut heads);
        let compact = CompactHandshake {
            // Copied into a block of its own size rather than shrunk in place: shrinking
            // leaves a sliver beside it that only small blocks can use.
            heads: Box::from(heads.as_slice()),
            request_len,
            tls: info.tls.map(Box::new),
            local_addr: info.local_addr,
            peer_addr: info.peer_addr,
            parsed: std::sync::OnceLock::new(),
        };
        Self(Box::new(compact))
    }

    /// The info, parsed again from the heads the first time (`conn`: the connection it
    /// was made with).
    pub fn get(&self, conn: &Connection) -> &HandshakeInfo {
        self.0.parsed.get_or_init(|| Box::new(self.0.expand(conn)))
    }

    /// The info, by value.
    pub fn into_info(mut self, conn: &Connection) -> HandshakeInfo {
        match self.0.parsed.take() {
            Some(info) => *info,
            None => self.0.expand(conn),
        }
    }
}

impl CompactHandshake {
    /// The info the heads were made from. Heads that do not parse (which `encode_*` do not
    /// write) give an empty `GET /` and a bare 101 rather than a panic.
    fn expand(&self, conn: &Connection) -> HandshakeInfo {
        let (request_head, response_head) = self.heads.split_at(self.request_len);
        let limits = limits_for(&self.heads);
        let request = ws_proto::handshake::parse_request(request_head, &limits)
            .ok()
            .flatten()
            .map(|(request, _)| request);
        let response = ws_proto::handshake::parse_response(response_head, &limits)
            .ok()
            .flatten()
            .map(|(response, _)| response);
        debug_assert!(request.is_some() && response.is_some(), "kept heads parse");
        HandshakeInfo {
            request: request.unwrap_or_default(),
            response: response.unwrap_or_else(|| {
                let mut response = Response::new(());
                *response.status_mut() = ws_proto::http::StatusCode::SWITCHING_PROTOCOLS;
                response
            }),
            protocol: conn.protocol().map(str::to_owned),
            extensions: conn.extensions().to_vec(),
            deflate: conn.deflate().copied(),
            tls: self.tls.as_deref().cloned(),
            local_addr: self.local_addr,
            peer_addr: self.peer_addr,
        }
    }
}

/// Whether a head's bytes can carry a message with these extensions and headers whole: not
/// if it has extensions, a header value with white space at either end (which parsing
/// trims), or a value marked sensitive (parsing would unmark it, and the info's `Debug` — the
/// tap's `Opened` report — would show it).
fn encodable(extensions: &ws_proto::http::Extensions, headers: &ws_proto::http::HeaderMap) -> bool {
    let padded = |value: &[u8]| {
        let space = |b: Option<&u8>| matches!(b, Some(b' ' | b'\t'));
        space(value.first()) || space(value.last())
    };
    extensions.is_empty()
        && !headers
            .values()
            .any(|value| value.is_sensitive() || padded(value.as_bytes()))
}

/// Limits that any head `encode_*` wrote within `heads` passes.
fn limits_for(heads: &[u8]) -> ws_proto::HandshakeLimits {
    ws_proto::HandshakeLimits {
        max_head_size: heads.len(),
        max_line_len: heads.len(),
        max_headers: heads.iter().filter(|&&b| b == b'\n').count(),
        ..Default::default()
    }
}

fn version_text(version: ws_proto::http::Version) -> &'static [u8] {
    match version {
        ws_proto::http::Version::HTTP_10 => b"HTTP/1.0",
        _ => b"HTTP/1.1",
    }
}

/// The request head: the whole URI as given (absolute or origin form), the headers in the
/// map's order, names as the map holds them. Not `ws_proto::handshake::write_request`, which
/// writes the target as it goes on the wire (path and query only) and always HTTP/1.1.
fn encode_request(request: &ws_proto::http::Request<()>, out: &mut Vec<u8>) {
    out.extend_from_slice(request.method().as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(request.uri().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(version_text(request.version()));
    out.extend_from_slice(b"\r\n");
    encode_headers(request.headers(), out);
}

fn encode_headers(headers: &ws_proto::http::HeaderMap, out: &mut Vec<u8>) {
    for (name, value) in headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use ws_proto::http::{HeaderValue, Request, StatusCode, Version};
    use ws_proto::{Negotiated, Role};

    use super::*;

    fn conn(protocol: Option<&str>) -> Connection {
        let negotiated = Negotiated {
            protocol: protocol.map(str::to_owned),
            extensions: Vec::new(),
        };
        Connection::open(Role::Server, ws_proto::Config::default(), negotiated)
    }

    fn info(request: Request<()>, response: Response<()>, protocol: Option<&str>) -> HandshakeInfo {
        HandshakeInfo {
            request,
            response,
            protocol: protocol.map(str::to_owned),
            extensions: Vec::new(),
            deflate: None,
            tls: None,
            local_addr: Some("127.0.0.1:9".parse().unwrap()),
            peer_addr: Some("[::1]:40000".parse().unwrap()),
        }
    }

    fn assert_same(a: &HandshakeInfo, b: &HandshakeInfo) {
        assert_eq!(a.request.method(), b.request.method());
        assert_eq!(a.request.uri(), b.request.uri());
        assert_eq!(a.request.version(), b.request.version());
        assert_eq!(a.request.headers(), b.request.headers());
        assert_eq!(a.response.status(), b.response.status());
        assert_eq!(a.response.version(), b.response.version());
        assert_eq!(a.response.headers(), b.response.headers());
        assert_eq!(a.protocol, b.protocol);
        assert_eq!(a.extensions, b.extensions);
        assert_eq!(a.local_addr, b.local_addr);
        assert_eq!(a.peer_addr, b.peer_addr);
    }

    fn sample() -> (Request<()>, Response<()>) {
        let request = Request::get("ws://example.com:9001/chat?room=1&x=%20")
            .header("host", "example.com:9001")
            .header("sec-websocket-protocol", "chat, superchat")
            .header("cookie", "a=1")
            .header("cookie", "b=2")
            .header("x-high", HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap())
            .header("x-empty", "")
            .body(())
            .unwrap();
        let response = Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header("upgrade", "websocket")
            .header("sec-websocket-protocol", "chat")
            .body(())
            .unwrap();
        (request, response)
    }

    #[test]
    fn heads_parse_back_to_the_same_info() {
        let (request, response) = sample();
        let original = info(request, response, Some("chat"));
        let conn = conn(Some("chat"));
        let stored = StoredHandshake::new(original.clone(), &conn);
        assert!(!stored.0.heads.is_empty(), "kept as head bytes");
        assert_same(stored.get(&conn), &original);
        assert_same(&stored.into_info(&conn), &original);
    }

    #[test]
    fn an_origin_form_target_and_http_1_0_parse_back() {
        let (mut request, response) = sample();
        *request.uri_mut() = "/path?q=1".parse().unwrap();
        *request.version_mut() = Version::HTTP_10;
        let original = info(request, response, None);
        let conn = conn(None);
        let stored = StoredHandshake::new(original.clone(), &conn);
        assert!(!stored.0.heads.is_empty());
        assert_same(stored.get(&conn), &original);
    }

    #[test]
    fn what_heads_cannot_carry_is_kept_as_it_came() {
        // A value with white space at an end (parsing would trim it).
        let (mut request, response) = sample();
        request
            .headers_mut()
            .insert("x-padded", HeaderValue::from_static(" padded "));
        let original = info(request, response.clone(), Some("chat"));
        let conn_chat = conn(Some("chat"));
        let stored = StoredHandshake::new(original.clone(), &conn_chat);
        assert!(stored.0.heads.is_empty());
        assert_eq!(
            stored.get(&conn_chat).request.headers()["x-padded"],
            " padded "
        );

        // A value marked sensitive stays marked (and out of `Debug`).
        let (mut request, _) = sample();
        let mut secret = HeaderValue::from_static("Bearer secret");
        secret.set_sensitive(true);
        request.headers_mut().insert("authorization", secret);
        let stored =
            StoredHandshake::new(info(request, response.clone(), Some("chat")), &conn_chat);
        let kept = stored.get(&conn_chat);
        assert!(kept.request.headers()["authorization"].is_sensitive());
        assert!(!format!("{kept:?}").contains("secret"));

        // Extensions in the request.
        let (mut request, _) = sample();
        request.extensions_mut().insert(7u32);
        let stored =
            StoredHandshake::new(info(request, response.clone(), Some("chat")), &conn_chat);
        assert_eq!(
            stored
                .into_info(&conn_chat)
                .request
                .extensions()
                .get::<u32>(),
            Some(&7)
        );

        // A subprotocol the engine does not know of.
        let (request, _) = sample();
        let original = info(request, response, Some("chat"));
        let conn_none = conn(None);
        let stored = StoredHandshake::new(original, &conn_none);
        assert_eq!(stored.get(&conn_none).protocol.as_deref(), Some("chat"));
    }
}
