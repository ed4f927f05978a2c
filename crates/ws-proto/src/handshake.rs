//! The opening handshake (RFC 6455 §4), typed with the `http` crate.
//!
//! The client side builds an [`http::Request<()>`] from a URL and [`ClientOptions`]
//! ([`client_request`]); the caller may edit it before handing it to
//! [`Connection::client`](crate::Connection::client), which serializes it and reads from it the
//! key, subprotocols and extensions it must check the answer against. The server side is
//! [`Connection::server`](crate::Connection::server), which parses and checks the request and
//! reports it as [`Event::Request`](crate::Event::Request); the application then calls
//! [`accept`](crate::Connection::accept) or [`reject`](crate::Connection::reject).
//!
//! HTTP heads are parsed with `httparse` under [`HandshakeLimits`].
//!
//! Failures are typed: [`HandshakeError`] says at which step, and its variants carry a
//! [`ResponseProblem`], [`RequestProblem`], [`UrlProblem`], [`HeaderProblem`], [`HttpProblem`]
//! or [`HeadLimit`] that says exactly what was wrong, with the values seen.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode};
use sha1::{Digest as _, Sha1};

use crate::error::{
    HandshakeError, HeadLimit, HeaderProblem, HttpProblem, RequestProblem, ResponseProblem,
    UrlProblem,
};

/// The GUID that RFC 6455 §1.3 appends to the key before hashing.
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The only protocol version RFC 6455 defines.
pub const VERSION: &str = "13";

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`: base64(SHA-1(key + GUID)).
pub fn accept_key(key: &[u8]) -> String {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(GUID.as_bytes());
    BASE64.encode(sha.finalize())
}

/// A `Sec-WebSocket-Key` from 16 bytes (which should be random: see [`random_key`]).
pub fn key_from_bytes(bytes: [u8; 16]) -> String {
    BASE64.encode(bytes)
}

/// A fresh `Sec-WebSocket-Key` from the operating system's random source.
pub fn random_key() -> String {
    let mut bytes = [0u8; 16];
    crate::mask::fill_random(&mut bytes);
    key_from_bytes(bytes)
}

/// Size limits for parsing HTTP heads. The defaults allow large cookies and long URLs while
/// bounding what a peer can make us buffer before the connection is even open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandshakeLimits {
    /// The whole head, request/status line and headers (default 64 KiB).
    pub max_head_size: usize,
    /// The number of header fields (default 128).
    pub max_headers: usize,
    /// One line of the head, without its CRLF (default 16 KiB).
    pub max_line_len: usize,
    /// The body of a non-101 answer kept for display (default 64 KiB; the rest is dropped).
    pub max_body_size: usize,
}

impl Default for HandshakeLimits {
    fn default() -> Self {
        Self {
            max_head_size: 64 * 1024,
            max_headers: 128,
            max_line_len: 16 * 1024,
            max_body_size: 64 * 1024,
        }
    }
}

/// What a client asks for beyond the URL.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientOptions {
    /// The `Origin` header, as browsers send it.
    pub origin: Option<String>,
    /// Subprotocols to offer, in order of preference (`Sec-WebSocket-Protocol`).
    pub protocols: Vec<String>,
    /// Extension offers, each a full `Sec-WebSocket-Extensions` element
    /// (e.g. `permessage-deflate; client_max_window_bits`).
    pub extensions: Vec<String>,
    /// Further headers (cookies, authorization, …), sent in order.
    pub headers: Vec<(String, String)>,
}

/// Builds the client's upgrade request for `url` (`ws://` or `wss://`), with the key `key`.
///
/// The request's URI is the full URL, so that a transport can find the host, port and scheme
/// in it; it is serialized with only the path and query as the request target. User info in
/// the URL (`ws://user:pass@host/`) becomes a Basic `Authorization` header unless `options`
/// sets one.
pub fn client_request(
    url: &str,
    key: &str,
    options: &ClientOptions,
) -> Result<Request<()>, HandshakeError> {
    let bad_url = HandshakeError::InvalidUrl;
    let parsed = url::Url::parse(url).map_err(|e| bad_url(UrlProblem::Parse(e)))?;
    let default_port = match parsed.scheme() {
        "ws" => 80,
        "wss" => 443,
        other => {
            return Err(bad_url(UrlProblem::Scheme {
                scheme: other.to_owned(),
            }));
        }
    };
    if let Some(fragment) = parsed.fragment() {
        return Err(bad_url(UrlProblem::Fragment {
            fragment: fragment.to_owned(),
        }));
    }
    let host = match parsed.host() {
        Some(url::Host::Domain(d)) => d.to_owned(),
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => format!("[{ip}]"),
        None => return Err(bad_url(UrlProblem::NoHost)),
    };
    let port = parsed.port().unwrap_or(default_port);
    let host_header = if port == default_port {
        host.clone()
    } else {
        format!("{host}:{port}")
    };
    let mut target = parsed.path().to_owned();
    if target.is_empty() {
        target.push('/');
    }
    if let Some(q) = parsed.query() {
        target.push('?');
        target.push_str(q);
    }
    let uri_text = format!("{}://{host_header}{target}", parsed.scheme());
    let uri: http::Uri = match uri_text.parse() {
        Ok(uri) => uri,
        Err(_) => return Err(bad_url(UrlProblem::NotHttpUri { uri: uri_text })),
    };

    let mut request = Request::new(());
    *request.uri_mut() = uri;
    let headers = request.headers_mut();
    let mut set = |name: HeaderName, value: &str| -> Result<(), HandshakeError> {
        let value = header_value(&name, value)?;
        headers.append(name, value);
        Ok(())
    };
    set(header::HOST, &host_header)?;
    set(header::UPGRADE, "websocket")?;
    set(header::CONNECTION, "Upgrade")?;
    set(header::SEC_WEBSOCKET_KEY, key)?;
    set(header::SEC_WEBSOCKET_VERSION, VERSION)?;
    if let Some(origin) = &options.origin {
        set(header::ORIGIN, origin)?;
    }
    if !options.protocols.is_empty() {
        set(
            header::SEC_WEBSOCKET_PROTOCOL,
            &options.protocols.join(", "),
        )?;
    }
    if !options.extensions.is_empty() {
        set(
            header::SEC_WEBSOCKET_EXTENSIONS,
            &options.extensions.join(", "),
        )?;
    }
    let sets_authorization = options
        .headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("authorization"));
    if !parsed.username().is_empty() && !sets_authorization {
        let user = percent_decode(parsed.username());
        let pass = percent_decode(parsed.password().unwrap_or(""));
        let token = BASE64.encode(format!("{user}:{pass}"));
        set(header::AUTHORIZATION, &format!("Basic {token}"))?;
    }
    for (name, value) in &options.headers {
        let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
            HandshakeError::InvalidHeader(HeaderProblem::InvalidName { name: name.clone() })
        })?;
        set(name, value.trim())?;
    }
    Ok(request)
}

/// A request header value, or the error that names its header.
fn header_value(name: &HeaderName, value: &str) -> Result<HeaderValue, HandshakeError> {
    HeaderValue::from_str(value).map_err(|_| {
        HandshakeError::InvalidHeader(HeaderProblem::InvalidValue { name: name.clone() })
    })
}

/// Percent-decodes URL userinfo (RFC 3986 §2.1); a `%` not followed by two hex digits stays
/// as it is, and bytes that are not UTF-8 are replaced.
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Serializes a request head: request line with the path and query, headers in order.
pub fn write_request(request: &Request<()>, out: &mut Vec<u8>) {
    let target = request.uri().path_and_query().map_or("/", |pq| pq.as_str());
    out.extend_from_slice(request.method().as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    write_headers(request.headers(), out);
}

/// Serializes a response head.
pub fn write_response(response: &Response<()>, out: &mut Vec<u8>) {
    let status = response.status();
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("Unknown").as_bytes());
    out.extend_from_slice(b"\r\n");
    write_headers(response.headers(), out);
}

fn write_headers(headers: &HeaderMap, out: &mut Vec<u8>) {
    for (name, value) in headers {
        write_header_name(name.as_str(), out);
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// Writes a (lower-case) header name in the conventional case: `Sec-WebSocket-Key`.
fn write_header_name(name: &str, out: &mut Vec<u8>) {
    for (i, part) in name.split('-').enumerate() {
        if i > 0 {
            out.push(b'-');
        }
        if part == "websocket" {
            out.extend_from_slice(b"WebSocket");
            continue;
        }
        let mut chars = part.bytes();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
}

/// The comma-separated tokens of every `name` header, trimmed, empty ones skipped.
pub fn header_tokens<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Vec<&'a str> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect()
}

fn has_token(headers: &HeaderMap, name: &HeaderName, token: &str) -> bool {
    header_tokens(headers, name)
        .iter()
        .any(|t| t.eq_ignore_ascii_case(token))
}

/// The extension names in a `Sec-WebSocket-Extensions` header (parameters dropped).
pub fn extension_names(headers: &HeaderMap) -> Vec<&str> {
    header_tokens(headers, &header::SEC_WEBSOCKET_EXTENSIONS)
        .into_iter()
        .map(|e| e.split(';').next().unwrap_or("").trim())
        .filter(|e| !e.is_empty())
        .collect()
}

/// Checks that every line of a head fits the limit.
fn check_lines(head: &[u8], limits: &HandshakeLimits) -> Result<(), HandshakeError> {
    if head
        .split(|&b| b == b'\n')
        .any(|line| line_len(line) > limits.max_line_len)
    {
        return Err(HandshakeError::TooLarge(HeadLimit::LineLength));
    }
    Ok(())
}

/// The length of a head line for [`HandshakeLimits::max_line_len`]: without its line ending,
/// so that a line measures the same whether or not its LF has arrived yet.
pub(crate) fn line_len(line: &[u8]) -> usize {
    line.strip_suffix(b"\r").unwrap_or(line).len()
}

/// Finds the end of the head (the byte after `\r\n\r\n`), enforcing the size limits.
fn head_end(buf: &[u8], limits: &HandshakeLimits) -> Result<Option<usize>, HandshakeError> {
    let window = &buf[..buf.len().min(limits.max_head_size)];
    match window.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(pos) => {
            check_lines(&buf[..pos], limits)?;
            Ok(Some(pos + 4))
        }
        None if buf.len() >= limits.max_head_size => {
            Err(HandshakeError::TooLarge(HeadLimit::HeadSize))
        }
        None => {
            check_lines(buf, limits)?;
            Ok(None)
        }
    }
}

fn copy_headers(
    parsed: &[httparse::Header<'_>],
    into: &mut HeaderMap,
) -> Result<(), HandshakeError> {
    for h in parsed {
        let name = HeaderName::from_bytes(h.name.as_bytes()).map_err(|_| {
            HandshakeError::MalformedHttp(HttpProblem::InvalidHeaderName {
                name: h.name.to_owned(),
            })
        })?;
        let value = HeaderValue::from_bytes(h.value).map_err(|_| {
            HandshakeError::MalformedHttp(HttpProblem::InvalidHeaderValue { name: name.clone() })
        })?;
        into.append(name, value);
    }
    Ok(())
}

/// Parses a response head from the start of `buf`: `Ok(None)` until it is complete, then the
/// response and the head's length.
pub fn parse_response(
    buf: &[u8],
    limits: &HandshakeLimits,
) -> Result<Option<(Response<()>, usize)>, HandshakeError> {
    let Some(end) = head_end(buf, limits)? else {
        return Ok(None);
    };
    let mut headers = vec![httparse::EMPTY_HEADER; limits.max_headers];
    let mut parsed = httparse::Response::new(&mut headers);
    match parsed.parse(&buf[..end]) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => {
            return Err(HandshakeError::MalformedHttp(HttpProblem::Incomplete));
        }
        Err(httparse::Error::TooManyHeaders) => {
            return Err(HandshakeError::TooLarge(HeadLimit::HeaderCount));
        }
        Err(e) => return Err(HandshakeError::MalformedHttp(HttpProblem::Parse(e))),
    }
    let code = parsed.code.unwrap_or(0);
    let status = StatusCode::from_u16(code)
        .map_err(|_| HandshakeError::MalformedHttp(HttpProblem::InvalidStatus { code }))?;
    let version = match parsed.version {
        Some(0) => http::Version::HTTP_10,
        _ => http::Version::HTTP_11,
    };
    let mut response = Response::new(());
    *response.status_mut() = status;
    *response.version_mut() = version;
    copy_headers(parsed.headers, response.headers_mut())?;
    Ok(Some((response, end)))
}

/// Parses a request head from the start of `buf`: `Ok(None)` until it is complete.
pub fn parse_request(
    buf: &[u8],
    limits: &HandshakeLimits,
) -> Result<Option<(Request<()>, usize)>, HandshakeError> {
    let Some(end) = head_end(buf, limits)? else {
        return Ok(None);
    };
    let mut headers = vec![httparse::EMPTY_HEADER; limits.max_headers];
    let mut parsed = httparse::Request::new(&mut headers);
    match parsed.parse(&buf[..end]) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => {
            return Err(HandshakeError::MalformedHttp(HttpProblem::Incomplete));
        }
        Err(httparse::Error::TooManyHeaders) => {
            return Err(HandshakeError::TooLarge(HeadLimit::HeaderCount));
        }
        Err(e) => return Err(HandshakeError::MalformedHttp(HttpProblem::Parse(e))),
    }
    let method = parsed.method.unwrap_or("");
    let method = http::Method::from_bytes(method.as_bytes()).map_err(|_| {
        HandshakeError::MalformedHttp(HttpProblem::InvalidMethod {
            method: method.to_owned(),
        })
    })?;
    let target = parsed.path.unwrap_or("/");
    let uri: http::Uri = target.parse().map_err(|_| {
        HandshakeError::MalformedHttp(HttpProblem::InvalidTarget {
            target: target.to_owned(),
        })
    })?;
    let version = match parsed.version {
        Some(0) => http::Version::HTTP_10,
        _ => http::Version::HTTP_11,
    };
    let mut request = Request::new(());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = version;
    copy_headers(parsed.headers, request.headers_mut())?;
    Ok(Some((request, end)))
}

/// What a valid 101 answer settled.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Negotiated {
    /// The subprotocol the server chose.
    pub protocol: Option<String>,
    /// The extensions the server accepted, each as a full header element.
    pub extensions: Vec<String>,
}

/// Checks a 101 response against the request that was sent (RFC 6455 §4.1, the client's
/// checks 1–6). Extension parameters are not checked here: see
/// [`deflate::check_response`](crate::deflate::check_response) for permessage-deflate's.
pub fn check_response(
    request: &Request<()>,
    response: &Response<()>,
) -> Result<Negotiated, ResponseProblem> {
    if response.status() != StatusCode::SWITCHING_PROTOCOLS {
        return Err(ResponseProblem::NotSwitchingProtocols {
            status: response.status(),
        });
    }
    let headers = response.headers();
    if !has_token(headers, &header::UPGRADE, "websocket") {
        return Err(match joined(headers, &header::UPGRADE) {
            None => ResponseProblem::UpgradeMissing,
            Some(got) => ResponseProblem::UpgradeNotWebSocket { got },
        });
    }
    if !has_token(headers, &header::CONNECTION, "upgrade") {
        return Err(match joined(headers, &header::CONNECTION) {
            None => ResponseProblem::ConnectionMissing,
            Some(got) => ResponseProblem::ConnectionNotUpgrade { got },
        });
    }
    let key = request
        .headers()
        .get(header::SEC_WEBSOCKET_KEY)
        .map(HeaderValue::as_bytes)
        .unwrap_or_default();
    let expected = accept_key(key);
    match headers.get(header::SEC_WEBSOCKET_ACCEPT) {
        None => return Err(ResponseProblem::AcceptMissing),
        Some(v) if v.as_bytes() != expected.as_bytes() => {
            return Err(ResponseProblem::AcceptMismatch {
                expected,
                got: String::from_utf8_lossy(v.as_bytes()).into_owned(),
            });
        }
        Some(_) => {}
    }
    let offered_protocols = header_tokens(request.headers(), &header::SEC_WEBSOCKET_PROTOCOL);
    let chosen = header_tokens(headers, &header::SEC_WEBSOCKET_PROTOCOL);
    let protocol = match chosen.as_slice() {
        [] => None,
        [one] if offered_protocols.contains(one) => Some((*one).to_owned()),
        [one] => {
            return Err(ResponseProblem::ProtocolNotOffered {
                chosen: (*one).to_owned(),
            });
        }
        several => {
            return Err(ResponseProblem::SeveralProtocols {
                chosen: several.iter().map(|p| (*p).to_owned()).collect(),
            });
        }
    };
    let offered_extensions = extension_names(request.headers());
    let extensions: Vec<String> = header_tokens(headers, &header::SEC_WEBSOCKET_EXTENSIONS)
        .into_iter()
        .map(str::to_owned)
        .collect();
    for name in extension_names(headers) {
        if !offered_extensions
            .iter()
            .any(|o| o.eq_ignore_ascii_case(name))
        {
            return Err(ResponseProblem::ExtensionNotOffered {
                name: name.to_owned(),
            });
        }
    }
    Ok(Negotiated {
        protocol,
        extensions,
    })
}

/// All the values of the `name` header joined with `, `; `None` if there is none.
fn joined(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    let values: Vec<_> = headers
        .get_all(name)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}

/// A checked upgrade request, as a server sees it.
#[derive(Clone, Debug)]
pub struct UpgradeRequest {
    /// The request head.
    pub request: Request<()>,
    /// The subprotocols offered, in the client's order of preference.
    pub protocols: Vec<String>,
    /// The extension offers, each a full header element.
    pub extensions: Vec<String>,
}

impl UpgradeRequest {
    /// The `Sec-WebSocket-Key`.
    pub fn key(&self) -> &[u8] {
        self.request
            .headers()
            .get(header::SEC_WEBSOCKET_KEY)
            .map(HeaderValue::as_bytes)
            .unwrap_or_default()
    }
}

/// A failed check of an upgrade request: the status to answer and why. Its `Display` is the
/// problem's, the text [`Connection`](crate::Connection) sends as the error response's body.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{problem}")]
pub struct RequestFault {
    /// 400, 405 or 426: [`RequestProblem::status`].
    pub status: StatusCode,
    /// What is wrong.
    pub problem: RequestProblem,
}

impl From<RequestProblem> for RequestFault {
    fn from(problem: RequestProblem) -> Self {
        Self {
            status: problem.status(),
            problem,
        }
    }
}

/// Checks a client's upgrade request (RFC 6455 §4.2.1).
pub fn check_request(request: Request<()>) -> Result<UpgradeRequest, RequestFault> {
    if request.method() != http::Method::GET {
        return Err(RequestProblem::MethodNotGet {
            method: request.method().clone(),
        }
        .into());
    }
    if request.version() != http::Version::HTTP_11 {
        return Err(RequestProblem::HttpVersion {
            version: request.version(),
        }
        .into());
    }
    let headers = request.headers();
    if !headers.contains_key(header::HOST) {
        return Err(RequestProblem::HostMissing.into());
    }
    if !has_token(headers, &header::UPGRADE, "websocket") {
        return Err(match joined(headers, &header::UPGRADE) {
            None => RequestProblem::UpgradeMissing,
            Some(got) => RequestProblem::UpgradeNotWebSocket { got },
        }
        .into());
    }
    if !has_token(headers, &header::CONNECTION, "upgrade") {
        return Err(match joined(headers, &header::CONNECTION) {
            None => RequestProblem::ConnectionMissing,
            Some(got) => RequestProblem::ConnectionNotUpgrade { got },
        }
        .into());
    }
    let versions = header_tokens(headers, &header::SEC_WEBSOCKET_VERSION);
    if versions != [VERSION] {
        return Err(match joined(headers, &header::SEC_WEBSOCKET_VERSION) {
            None => RequestProblem::VersionMissing,
            Some(got) => RequestProblem::UnsupportedVersion { got },
        }
        .into());
    }
    let keys: Vec<&HeaderValue> = headers.get_all(header::SEC_WEBSOCKET_KEY).iter().collect();
    match keys.as_slice() {
        [] => return Err(RequestProblem::KeyMissing.into()),
        [key] => {
            let valid = BASE64
                .decode(key.as_bytes())
                .is_ok_and(|decoded| decoded.len() == 16);
            if !valid {
                return Err(RequestProblem::BadKey {
                    got: String::from_utf8_lossy(key.as_bytes()).into_owned(),
                }
                .into());
            }
        }
        several => {
            return Err(RequestProblem::SeveralKeys {
                count: several.len(),
            }
            .into());
        }
    }
    let protocols = header_tokens(headers, &header::SEC_WEBSOCKET_PROTOCOL)
        .into_iter()
        .map(str::to_owned)
        .collect();
    let extensions = header_tokens(headers, &header::SEC_WEBSOCKET_EXTENSIONS)
        .into_iter()
        .map(str::to_owned)
        .collect();
    Ok(UpgradeRequest {
        request,
        protocols,
        extensions,
    })
}

/// The 101 answer to `request`, choosing `protocol` (which should be one the client offered).
/// The caller may add headers before passing it to [`accept`](crate::Connection::accept).
pub fn accept_response(request: &UpgradeRequest, protocol: Option<&str>) -> Response<()> {
    let mut response = Response::new(());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    let accept = accept_key(request.key());
    // base64 output is always a valid header value.
    if let Ok(v) = HeaderValue::from_str(&accept) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, v);
    }
    if let Some(p) = protocol.and_then(|p| HeaderValue::from_str(p).ok()) {
        headers.insert(header::SEC_WEBSOCKET_PROTOCOL, p);
    }
    response
}

/// A plain error answer with a text body, `Content-Length` and `Connection: close`; a 426
/// also states the supported version.
pub fn error_response(status: StatusCode, body: &[u8], out: &mut Vec<u8>) {
    let mut response = Response::new(());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if status == StatusCode::UPGRADE_REQUIRED {
        headers.insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static(VERSION),
        );
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    write_response(&response, out);
    out.extend_from_slice(body);
}

/// How the body of a non-101 answer ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyFraming {
    /// `Content-Length: n`.
    Length(usize),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Until the connection closes.
    UntilEof,
}

pub(crate) fn body_framing(response: &Response<()>) -> BodyFraming {
    let status = response.status().as_u16();
    if (100..200).contains(&status) || status == 204 || status == 304 {
        return BodyFraming::Length(0);
    }
    if has_token(response.headers(), &header::TRANSFER_ENCODING, "chunked") {
        return BodyFraming::Chunked;
    }
    match response
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok())
    {
        Some(n) => BodyFraming::Length(n),
        None => BodyFraming::UntilEof,
    }
}

/// An incremental decoder for a chunked body (RFC 9112 §7.1). Each byte is looked at once,
/// however the body is split into reads; the body holds data only, including what has
/// arrived of the chunk in progress, never chunk framing. Malformed framing ends the body
/// where it goes wrong; trailers are not read.
#[derive(Clone, Debug, Default)]
pub(crate) struct ChunkedDecoder {
    /// The data decoded so far.
    pub(crate) body: Vec<u8>,
    state: ChunkState,
    /// The chunk-size line read so far.
    line: Vec<u8>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum ChunkState {
    /// Reading a chunk-size line.
    #[default]
    Size,
    /// Reading chunk data: this many bytes are left.
    Data(usize),
    /// Skipping the CRLF after chunk data: this many bytes are left.
    DataEnd(usize),
    /// The last chunk arrived, or the framing is malformed.
    Done,
}

/// A chunk-size line (size and extensions) longer than this is taken as malformed.
const MAX_CHUNK_LINE: usize = 4096;

impl ChunkedDecoder {
    /// Decodes `buf`; returns whether the body is complete.
    pub(crate) fn feed(&mut self, mut buf: &[u8]) -> bool {
        while !buf.is_empty() {
            match self.state {
                ChunkState::Size => {
                    let (line, complete) = match buf.iter().position(|&b| b == b'\n') {
                        Some(i) => (&buf[..i], true),
                        None => (buf, false),
                    };
                    self.line.extend_from_slice(line);
                    buf = &buf[(line.len() + 1).min(buf.len())..];
                    if self.line.len() > MAX_CHUNK_LINE {
                        self.state = ChunkState::Done;
                    } else if complete {
                        self.state = match parse_chunk_size(&self.line) {
                            Some(0) | None => ChunkState::Done,
                            Some(size) => ChunkState::Data(size),
                        };
                        self.line.clear();
                    }
                }
                ChunkState::Data(left) => {
                    let take = left.min(buf.len());
                    self.body.extend_from_slice(&buf[..take]);
                    buf = &buf[take..];
                    self.state = match left - take {
                        0 => ChunkState::DataEnd(2),
                        left => ChunkState::Data(left),
                    };
                }
                ChunkState::DataEnd(left) => {
                    let skip = left.min(buf.len());
                    buf = &buf[skip..];
                    self.state = match left - skip {
                        0 => ChunkState::Size,
                        left => ChunkState::DataEnd(left),
                    };
                }
                ChunkState::Done => break,
            }
        }
        self.state == ChunkState::Done
    }
}

/// The size of a chunk-size line (`1a;ext=x`, without its LF; a bare LF ends a line too, as
/// RFC 9112 §2.2 lets a recipient accept), if it is one: `httparse` reads it.
fn parse_chunk_size(line: &[u8]) -> Option<usize> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut with_crlf = Vec::with_capacity(line.len() + 2);
    with_crlf.extend_from_slice(line);
    with_crlf.extend_from_slice(b"\r\n");
    match httparse::parse_chunk_size(&with_crlf) {
        Ok(httparse::Status::Complete((_, size))) => usize::try_from(size).ok(),
        Ok(httparse::Status::Partial) | Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_of_user_info() {
        assert_eq!(percent_decode("a%20b%3A"), "a b:");
        assert_eq!(percent_decode("%"), "%");
        assert_eq!(percent_decode("%4"), "%4");
    }

    #[test]
    fn chunked_bodies() {
        fn decode(reads: &[&[u8]]) -> (Vec<u8>, bool) {
            let mut d = ChunkedDecoder::default();
            let mut done = false;
            for r in reads {
                done = d.feed(r);
            }
            (d.body, done)
        }
        fn whole(buf: &[u8]) -> (Vec<u8>, bool) {
            decode(&[buf])
        }
        assert_eq!(whole(b"5\r\nhello\r\n0\r\n\r\n"), (b"hello".to_vec(), true));
        assert_eq!(whole(b"5\r\nhel"), (b"hel".to_vec(), false));
        assert_eq!(whole(b"5\r\nhello\r"), (b"hello".to_vec(), false));
        assert_eq!(whole(b"5\r\nhello\r\n1"), (b"hello".to_vec(), false));
        assert_eq!(
            whole(b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n"),
            (b"abcde".to_vec(), true)
        );
        assert_eq!(whole(b"3\r\nabc\r\nzz\r\n"), (b"abc".to_vec(), true));
        assert_eq!(whole(b"ffffffffffffffff\r\nabc"), (b"abc".to_vec(), false));
        // More than 16 hex digits is malformed, as `httparse` reads it.
        assert_eq!(whole(b"1ffffffffffffffff\r\nabc"), (Vec::new(), true));
        // A bare LF ends a chunk-size line too.
        assert_eq!(whole(b"3\nabc\r\n0\n\r\n"), (b"abc".to_vec(), true));
        assert_eq!(whole(&[b'1'; MAX_CHUNK_LINE + 1]), (Vec::new(), true));
        // Split anywhere, the same result.
        let body = b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
        for i in 0..=body.len() {
            for j in i..=body.len() {
                let got = decode(&[&body[..i], &body[i..j], &body[j..]]);
                assert_eq!(got, (b"abcde".to_vec(), true), "{i} {j}");
            }
        }
    }

    #[test]
    fn header_names_are_written_in_conventional_case() {
        let mut out = Vec::new();
        write_header_name("sec-websocket-accept", &mut out);
        assert_eq!(out, b"Sec-WebSocket-Accept");
    }
}
