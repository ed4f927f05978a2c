//! HTTP CONNECT proxies.
//!
//! [`resolve`] picks the proxy for a target (an explicit one, or one from the environment as
//! curl does); [`connect`] opens the tunnel through it. Only `http://` proxies are supported:
//! an `https://` or SOCKS proxy is an [`Error::is_config`] error. Everything that goes wrong
//! while talking to the proxy (it cannot be reached, it refuses, it does not speak HTTP) is an
//! [`Error::is_proxy`] error.
//!
//! From the environment ([`Proxy::FromEnv`]):
//! - `https_proxy` / `HTTPS_PROXY` for `wss`, `http_proxy` / `HTTP_PROXY` for `ws`, then
//!   `all_proxy` / `ALL_PROXY`; the lower-case variable wins, as in curl. Empty values count
//!   as unset.
//! - `no_proxy` / `NO_PROXY` lists targets to reach directly, separated by commas: `*` (all),
//!   a domain (`example.com` and `.example.com` both match `example.com` and
//!   `a.example.com`), an IP address (matched exactly) or a CIDR block (`10.0.0.0/8`,
//!   `fd00::/8`); any entry may carry a `:port` (`[::1]:8080` for IPv6).
//!
//! Unlike curl, `HTTP_PROXY` in upper case is honoured: this crate is not meant to run as a
//! CGI program, where that variable can come from a request's `Proxy:` header.

use std::fmt;
use std::net::IpAddr;

use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use url::Url;

use crate::Error;

/// The most the proxy's answer head (status line and headers) may take.
const MAX_HEAD: usize = 16 * 1024;

/// Headers the proxy's answer may carry.
const MAX_HEADERS: usize = 64;

/// Where a client's proxy comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Proxy {
    /// No proxy: connect directly.
    #[default]
    None,
    /// An explicit `http://[user:pass@]host[:port]` proxy (a bare `host:port` is taken as
    /// `http://`), used for every target; `NO_PROXY` is not consulted.
    Url(String),
    /// From `HTTPS_PROXY` (wss) / `HTTP_PROXY` (ws) / `ALL_PROXY`, honouring `NO_PROXY`
    /// (lower-case variants too; lower-case wins as curl does). See the [module](self) notes.
    FromEnv,
}

/// A proxy to tunnel through.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyTarget {
    /// The proxy's host name or IP address (an IPv6 address without brackets).
    pub host: String,
    /// The proxy's port.
    pub port: u16,
    /// The `Proxy-Authorization` value, `Basic base64(user:password)`, if the proxy URL
    /// carried credentials.
    pub authorization: Option<String>,
}

impl ProxyTarget {
    /// Parses a proxy URL: `http://[user:password@]host[:port]` or a bare `host[:port]`. The
    /// port defaults to 80; user and password are percent-decoded.
    pub fn from_url(url: &str) -> crate::Result<Self> {
        let trimmed = url.trim();
        if trimmed.is_empty() {
            return Err(Error::config("the proxy URL is empty"));
        }
        let with_scheme;
        let text = if trimmed.contains("://") {
            trimmed
        } else {
            with_scheme = format!("http://{trimmed}");
            &with_scheme
        };
        let parsed = Url::parse(text).map_err(|e| {
            Error::config(format!("{trimmed:?} is not a valid proxy URL")).with_source(e)
        })?;
        match parsed.scheme() {
            "http" => {}
            "https" => {
                return Err(Error::config(format!(
                    "HTTPS proxies are not supported ({trimmed:?}); use an http:// proxy, \
                     which still carries wss:// end-to-end encrypted"
                )));
            }
            "socks4" | "socks4a" | "socks5" | "socks5h" | "socks" => {
                return Err(Error::config(format!(
                    "SOCKS proxies are not supported ({trimmed:?}); use an HTTP CONNECT proxy \
                     (http://)"
                )));
            }
            other => {
                return Err(Error::config(format!(
                    "proxy scheme {other}:// is not supported ({trimmed:?}); use http://"
                )));
            }
        }
        let host = match parsed.host() {
            Some(url::Host::Domain(domain)) if !domain.is_empty() => domain.to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            _ => {
                return Err(Error::config(format!(
                    "the proxy URL {trimmed:?} has no host"
                )));
            }
        };
        let port = parsed.port_or_known_default().unwrap_or(80);
        let authorization = if parsed.username().is_empty() && parsed.password().is_none() {
            None
        } else {
            let mut credentials = percent_decode(parsed.username());
            credentials.push(b':');
            credentials.extend(percent_decode(parsed.password().unwrap_or("")));
            Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(credentials)
            ))
        };
        Ok(Self {
            host,
            port,
            authorization,
        })
    }
}

/// Shows the credentials as `<redacted>`, so that logging a target does not leak them.
impl fmt::Debug for ProxyTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyTarget")
            .field("host", &self.host)
            .field("port", &self.port)
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// The proxy to use for a target, if any. `secure` = wss. `host` may be an IPv6 address with
/// or without brackets.
pub fn resolve(
    proxy: &Proxy,
    secure: bool,
    host: &str,
    port: u16,
) -> crate::Result<Option<ProxyTarget>> {
    resolve_with_env(proxy, secure, host, port, &|name| std::env::var(name).ok())
}

/// [`resolve`] reading the environment through `env` (a variable's value by its name), so that
/// it can be tested without touching the process environment.
pub fn resolve_with_env(
    proxy: &Proxy,
    secure: bool,
    host: &str,
    port: u16,
    env: &dyn Fn(&str) -> Option<String>,
) -> crate::Result<Option<ProxyTarget>> {
    match proxy {
        Proxy::None => Ok(None),
        Proxy::Url(url) => ProxyTarget::from_url(url).map(Some),
        Proxy::FromEnv => {
            let lookup = |names: [&'static str; 2]| {
                names.into_iter().find_map(|name| {
                    env(name)
                        .filter(|value| !value.trim().is_empty())
                        .map(|value| (name, value))
                })
            };
            let scheme_vars = if secure {
                ["https_proxy", "HTTPS_PROXY"]
            } else {
                ["http_proxy", "HTTP_PROXY"]
            };
            let Some((name, url)) =
                lookup(scheme_vars).or_else(|| lookup(["all_proxy", "ALL_PROXY"]))
            else {
                return Ok(None);
            };
            if let Some((_, no_proxy)) = lookup(["no_proxy", "NO_PROXY"])
                && bypasses(&no_proxy, host, port)
            {
                return Ok(None);
            }
            ProxyTarget::from_url(&url).map(Some).map_err(|e| {
                Error::config(format!("the proxy in {name} cannot be used")).with_source(e)
            })
        }
    }
}

/// What went wrong with an HTTP CONNECT proxy ([`Error::proxy_problem`](crate::Error::proxy_problem)).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProxyProblem {
    /// TCP to the proxy failed (the I/O error is the source).
    Unreachable {
        /// The proxy, as `host:port`.
        proxy: String,
    },
    /// Writing the CONNECT request failed.
    SendFailed,
    /// Reading the proxy's answer failed.
    ReadFailed,
    /// The proxy answered something other than 2xx.
    Refused {
        /// Its status code.
        status: u16,
        /// Its reason phrase (the standard one if it sent none).
        reason: String,
        /// Whether credentials were sent (a 407 then means they were refused).
        credentials_sent: bool,
    },
    /// The proxy closed the connection before its answer was complete.
    ClosedEarly {
        /// Whether any of the answer had arrived.
        partly_answered: bool,
    },
    /// The answer's head is longer than the limit.
    HeadTooLong {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The answer has more headers than the limit.
    TooManyHeaders {
        /// The limit.
        limit: usize,
    },
    /// The answer is not HTTP.
    NotHttp,
    /// The proxy sent bytes after its answer, before the tunnel was used.
    EarlyData,
}

impl fmt::Display for ProxyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unreachable { proxy } => write!(f, "cannot connect to the proxy {proxy}"),
            Self::SendFailed => f.write_str("cannot send the CONNECT request to the proxy"),
            Self::ReadFailed => f.write_str("cannot read the proxy's answer"),
            Self::Refused {
                status,
                reason,
                credentials_sent,
            } => {
                write!(f, "the proxy answered {status} {reason}")?;
                match (status, credentials_sent) {
                    (407, true) => f.write_str(" (it refused the credentials)"),
                    (407, false) => f.write_str(
                        " (give credentials in the proxy URL: http://user:password@host:port)",
                    ),
                    _ => Ok(()),
                }
            }
            Self::ClosedEarly {
                partly_answered: false,
            } => {
                f.write_str("the proxy closed the connection without answering the CONNECT request")
            }
            Self::ClosedEarly {
                partly_answered: true,
            } => f.write_str("the proxy closed the connection in the middle of its answer"),
            Self::HeadTooLong { limit } => {
                write!(
                    f,
                    "the proxy's answer head is longer than {} KiB",
                    limit / 1024
                )
            }
            Self::TooManyHeaders { limit } => {
                write!(f, "the proxy's answer has more than {limit} headers")
            }
            Self::NotHttp => f.write_str("the proxy's answer is not valid HTTP"),
            Self::EarlyData => f.write_str("the proxy sent data before the tunnel was used"),
        }
    }
}

/// Opens TCP to the proxy and asks it to CONNECT to `host:port` (`host` may be an IPv6
/// address with or without brackets); returns the tunnel once the proxy answered 2xx, with
/// any bytes that followed the proxy's answer head (the start of the tunnelled stream).
pub async fn connect(
    proxy: &ProxyTarget,
    host: &str,
    port: u16,
) -> crate::Result<(TcpStream, Bytes)> {
    let request = connect_request(proxy, host, port)?;
    let mut stream = TcpStream::connect((proxy.host.as_str(), proxy.port))
        .await
        .map_err(|e| {
            Error::proxy(ProxyProblem::Unreachable {
                proxy: authority(&proxy.host, proxy.port),
            })
            .with_source(e)
        })?;
    let leftover = handshake(&mut stream, &request, proxy.authorization.is_some()).await?;
    Ok((stream, leftover))
}

/// The CONNECT request for `host:port`.
fn connect_request(proxy: &ProxyTarget, host: &str, port: u16) -> crate::Result<Vec<u8>> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let valid = !bare.is_empty()
        && bare
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._:%".contains(&b));
    if !valid {
        return Err(Error::config(format!(
            "{host:?} is not a host name or IP address that can be sent to a proxy"
        )));
    }
    let target = authority(bare, port);
    let mut request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some(authorization) = &proxy.authorization {
        if authorization.bytes().any(|b| b == b'\r' || b == b'\n') {
            return Err(Error::config(
                "the proxy authorization contains a line break",
            ));
        }
        request.push_str("Proxy-Authorization: ");
        request.push_str(authorization);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    Ok(request.into_bytes())
}

/// `host:port`, with an IPv6 address in brackets.
fn authority(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Sends `request` and reads the proxy's answer; returns what followed a 2xx answer's head.
async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    request: &[u8],
    sent_credentials: bool,
) -> crate::Result<Bytes> {
    stream
        .write_all(request)
        .await
        .map_err(|e| Error::proxy(ProxyProblem::SendFailed).with_source(e))?;
    stream
        .flush()
        .await
        .map_err(|e| Error::proxy(ProxyProblem::SendFailed).with_source(e))?;

    let mut buf = BytesMut::with_capacity(1024);
    let mut chunk = [0; 4096];
    loop {
        if !buf.is_empty() {
            match parse_answer(&buf)? {
                Answer::Partial => {}
                Answer::Interim { len } => {
                    // A 1xx answer (say 100 Continue) before the real one.
                    let _ = buf.split_to(len);
                    continue;
                }
                Answer::Success { len } => {
                    let _ = buf.split_to(len);
                    return Ok(buf.freeze());
                }
                Answer::Refused { code, reason } => {
                    return Err(Error::proxy(ProxyProblem::Refused {
                        status: code,
                        reason,
                        credentials_sent: sent_credentials,
                    }));
                }
            }
        }
        let room = MAX_HEAD - buf.len();
        if room == 0 {
            return Err(Error::proxy(ProxyProblem::HeadTooLong { limit: MAX_HEAD }));
        }
        let wanted = room.min(chunk.len());
        let n = stream
            .read(&mut chunk[..wanted])
            .await
            .map_err(|e| Error::proxy(ProxyProblem::ReadFailed).with_source(e))?;
        if n == 0 {
            return Err(Error::proxy(ProxyProblem::ClosedEarly {
                partly_answered: !buf.is_empty(),
            }));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// What the buffered start of the proxy's answer says.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    /// The head is not complete yet.
    Partial,
    /// A 1xx head of `len` bytes; the real answer follows.
    Interim { len: usize },
    /// A 2xx head of `len` bytes: the tunnel is open.
    Success { len: usize },
    /// Any other status.
    Refused { code: u16, reason: String },
}

fn parse_answer(buf: &[u8]) -> crate::Result<Answer> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let len = match response.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(Answer::Partial),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(Error::proxy(ProxyProblem::TooManyHeaders {
                limit: MAX_HEADERS,
            }));
        }
        Err(e) => {
            return Err(Error::proxy(ProxyProblem::NotHttp).with_source(e));
        }
    };
    // httparse fills in the code of every complete response.
    let code = response.code.unwrap_or_default();
    Ok(match code {
        101 => Answer::Refused {
            code,
            reason: reason(code, response.reason),
        },
        100..=199 => Answer::Interim { len },
        200..=299 => Answer::Success { len },
        _ => Answer::Refused {
            code,
            reason: reason(code, response.reason),
        },
    })
}

/// The proxy's reason phrase, or the standard one if it sent none.
fn reason(code: u16, sent: Option<&str>) -> String {
    match sent.map(str::trim).filter(|r| !r.is_empty()) {
        Some(reason) => reason.to_owned(),
        None => http::StatusCode::from_u16(code)
            .ok()
            .and_then(|status| status.canonical_reason())
            .unwrap_or("")
            .to_owned(),
    }
}

/// Whether `no_proxy` (the value of `NO_PROXY`) says to reach `host:port` directly.
fn bypasses(no_proxy: &str, host: &str, port: u16) -> bool {
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let host_ip = host.parse::<IpAddr>().ok();
    no_proxy
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .any(|entry| entry_matches(entry, &host, host_ip, port))
}

/// Whether one `NO_PROXY` entry matches; `host` is lower case, without brackets or a final dot.
fn entry_matches(entry: &str, host: &str, host_ip: Option<IpAddr>, port: u16) -> bool {
    if entry == "*" {
        return true;
    }
    let Some((pattern, entry_port)) = split_port(entry) else {
        return false;
    };
    if entry_port.is_some_and(|p| p != port) {
        return false;
    }
    if let Some((network, bits)) = pattern.split_once('/') {
        return match (network.parse::<IpAddr>(), bits.parse::<u8>(), host_ip) {
            (Ok(network), Ok(bits), Some(ip)) => in_network(ip, network, bits),
            _ => false,
        };
    }
    if let Ok(ip) = pattern.parse::<IpAddr>() {
        return host_ip == Some(ip);
    }
    if host_ip.is_some() {
        // Names never match an IP address (`0.0.1` is not a suffix of `127.0.0.1`).
        return false;
    }
    let domain = pattern
        .trim_start_matches("*.")
        .trim_start_matches('.')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if domain.is_empty() {
        return false;
    }
    host == domain
        || (host.len() > domain.len()
            && host.ends_with(domain.as_str())
            && host.as_bytes()[host.len() - domain.len() - 1] == b'.')
}

/// Splits an entry into its host pattern and port: `host`, `host:port`, `[v6]`, `[v6]:port`,
/// or a bare IPv6 address or network (several colons, no port). `None` if malformed.
fn split_port(entry: &str) -> Option<(&str, Option<u16>)> {
    if let Some(rest) = entry.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        return match after {
            "" => Some((inside, None)),
            _ => Some((inside, Some(after.strip_prefix(':')?.parse().ok()?))),
        };
    }
    match entry.split_once(':') {
        Some((host, port)) if !port.contains(':') => Some((host, Some(port.parse().ok()?))),
        _ => Some((entry, None)),
    }
}

fn in_network(ip: IpAddr, network: IpAddr, bits: u8) -> bool {
    match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(network)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(network) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(network)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(network) & mask
        }
        _ => false,
    }
}

/// Percent-decodes URL userinfo into bytes; a `%` not followed by two hex digits stays as is.
fn percent_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).and_then(|b| hex_value(*b)),
                bytes.get(i + 2).and_then(|b| hex_value(*b)),
            )
        {
            out.push(hi << 4 | lo);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::net::SocketAddr;

    use tokio::io::{AsyncReadExt, AsyncWriteExt, duplex};
    use tokio::net::TcpListener;
    use tokio::task::JoinHandle;

    use super::*;

    fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.get(name).cloned()
    }

    fn from_env(
        vars: &[(&str, &str)],
        secure: bool,
        host: &str,
        port: u16,
    ) -> crate::Result<Option<ProxyTarget>> {
        resolve_with_env(&Proxy::FromEnv, secure, host, port, &env_of(vars))
    }

    fn target(host: &str, port: u16) -> Option<ProxyTarget> {
        Some(ProxyTarget {
            host: host.to_owned(),
            port,
            authorization: None,
        })
    }

    mod resolve_from_env {
        use super::*;

        #[test]
        fn https_proxy_is_for_wss_and_http_proxy_for_ws() {
            let vars = [
                ("HTTPS_PROXY", "http://secure.proxy:3128"),
                ("HTTP_PROXY", "http://plain.proxy:8080"),
            ];
            assert_eq!(
                from_env(&vars, true, "example.com", 443).unwrap(),
                target("secure.proxy", 3128)
            );
            assert_eq!(
                from_env(&vars, false, "example.com", 80).unwrap(),
                target("plain.proxy", 8080)
            );
        }

        #[test]
        fn all_proxy_is_the_fallback() {
            let vars = [
                ("ALL_PROXY", "all.proxy:1234"),
                ("HTTP_PROXY", "plain.proxy:80"),
            ];
            assert_eq!(
                from_env(&vars, true, "example.com", 443).unwrap(),
                target("all.proxy", 1234)
            );
            assert_eq!(
                from_env(&vars, false, "example.com", 80).unwrap(),
                target("plain.proxy", 80)
            );
        }

        #[test]
        fn nothing_set_means_no_proxy() {
            assert_eq!(from_env(&[], true, "example.com", 443).unwrap(), None);
            assert_eq!(
                from_env(&[("HTTPS_PROXY", "  ")], true, "example.com", 443).unwrap(),
                None
            );
            let none = resolve_with_env(
                &Proxy::None,
                true,
                "example.com",
                443,
                &env_of(&[("HTTPS_PROXY", "http://p:1")]),
            );
            assert_eq!(none.unwrap(), None);
        }

        #[test]
        fn lower_case_wins() {
            let vars = [
                ("HTTPS_PROXY", "http://upper:1"),
                ("https_proxy", "http://lower:2"),
                ("NO_PROXY", "example.com"),
                ("no_proxy", "other.example"),
            ];
            // The lower-case no_proxy does not list example.com, so the proxy is used.
            assert_eq!(
                from_env(&vars, true, "example.com", 443).unwrap(),
                target("lower", 2)
            );
            assert_eq!(from_env(&vars, true, "other.example", 443).unwrap(), None);
            // An empty lower-case variable counts as unset.
            let vars = [("https_proxy", ""), ("HTTPS_PROXY", "http://upper:1")];
            assert_eq!(
                from_env(&vars, true, "example.com", 443).unwrap(),
                target("upper", 1)
            );
        }

        #[test]
        fn no_proxy_exact_suffix_and_star() {
            let proxy = ("HTTPS_PROXY", "http://p:3128");
            let via = |no_proxy: &str, host: &str| {
                from_env(&[proxy, ("NO_PROXY", no_proxy)], true, host, 443)
                    .unwrap()
                    .is_some()
            };
            assert!(!via("example.com", "example.com"));
            assert!(!via("example.com", "a.example.com"));
            assert!(!via(".example.com", "a.b.example.com"));
            assert!(!via(".example.com", "example.com"));
            assert!(!via("EXAMPLE.com", "Example.COM."));
            assert!(via("example.com", "badexample.com"));
            assert!(via("a.example.com", "example.com"));
            assert!(!via("*", "anything.at.all"));
            assert!(!via("foo, example.com ,bar", "example.com"));
            assert!(via("foo,bar", "example.com"));
        }

        #[test]
        fn user_and_password_become_basic_authorization() {
            let vars = [("https_proxy", "http://us%40er:p%3Ass@proxy.example:3128/")];
            let found = from_env(&vars, true, "example.com", 443).unwrap().unwrap();
            assert_eq!(found.host, "proxy.example");
            assert_eq!(found.port, 3128);
            // base64("us@er:p:ss")
            assert_eq!(
                found.authorization.as_deref(),
                Some("Basic dXNAZXI6cDpzcw==")
            );
            assert!(!format!("{found:?}").contains("dXNA"), "{found:?}");
        }

        #[test]
        fn unsupported_proxies_are_config_errors_naming_the_variable() {
            let err = from_env(
                &[("ALL_PROXY", "socks5://p:1080")],
                true,
                "example.com",
                443,
            )
            .unwrap_err();
            assert!(err.is_config(), "{err}");
            assert!(err.to_string().contains("ALL_PROXY"), "{err}");
            assert!(err.to_string().contains("SOCKS"), "{err}");
            // NO_PROXY is consulted first, so a bypassed host does not see the bad proxy.
            let vars = [
                ("ALL_PROXY", "socks5://p:1080"),
                ("NO_PROXY", "example.com"),
            ];
            assert_eq!(from_env(&vars, true, "example.com", 443).unwrap(), None);
        }
    }

    mod proxy_urls {
        use super::*;

        #[test]
        fn forms_that_are_accepted() {
            let parse = |url| ProxyTarget::from_url(url).unwrap();
            assert_eq!(
                Some(parse("http://proxy.example:3128")),
                target("proxy.example", 3128)
            );
            assert_eq!(
                Some(parse("proxy.example:3128")),
                target("proxy.example", 3128)
            );
            assert_eq!(
                Some(parse("http://proxy.example")),
                target("proxy.example", 80)
            );
            assert_eq!(Some(parse("localhost:8080")), target("localhost", 8080));
            assert_eq!(Some(parse("http://127.0.0.1:1/")), target("127.0.0.1", 1));
            assert_eq!(Some(parse("http://[::1]:3128")), target("::1", 3128));
            assert_eq!(Some(parse("[::1]:3128")), target("::1", 3128));
            assert_eq!(
                parse("http://user@p:1").authorization.as_deref(),
                Some("Basic dXNlcjo=") // base64("user:")
            );
        }

        #[test]
        fn forms_that_are_refused() {
            for url in [
                "https://p:443",
                "socks5://p:1080",
                "socks5h://p:1080",
                "ftp://p:21",
                "",
                "http://",
                "http://p:99999",
            ] {
                let err = ProxyTarget::from_url(url).unwrap_err();
                assert!(err.is_config(), "{url}: {err}");
            }
            let err = ProxyTarget::from_url("https://p:443").unwrap_err();
            assert!(
                err.to_string().contains("HTTPS proxies are not supported"),
                "{err}"
            );
            let err = resolve(&Proxy::Url("socks5://p:1".into()), true, "h", 1).unwrap_err();
            assert!(
                err.to_string().contains("SOCKS proxies are not supported"),
                "{err}"
            );
        }
    }

    mod no_proxy {
        use super::*;

        #[test]
        fn ports() {
            assert!(bypasses("example.com:443", "example.com", 443));
            assert!(!bypasses("example.com:443", "example.com", 80));
            assert!(bypasses("[::1]:8080", "::1", 8080));
            assert!(bypasses("[::1]:8080", "[::1]", 8080));
            assert!(!bypasses("[::1]:8080", "::1", 8081));
            assert!(!bypasses("example.com:http", "example.com", 80));
        }

        #[test]
        fn ip_addresses_match_exactly() {
            assert!(bypasses("127.0.0.1", "127.0.0.1", 80));
            assert!(!bypasses("127.0.0.1", "127.0.0.2", 80));
            assert!(bypasses("::1", "[::1]", 80));
            assert!(bypasses("[::1]", "::1", 80));
            assert!(!bypasses("127.0.0.1", "localhost", 80));
            // A numeric pattern is not a domain suffix.
            assert!(!bypasses("0.0.1", "127.0.0.1", 80));
        }

        #[test]
        fn cidr_blocks() {
            assert!(bypasses("10.0.0.0/8", "10.20.30.40", 80));
            assert!(!bypasses("10.0.0.0/8", "11.0.0.1", 80));
            assert!(bypasses("0.0.0.0/0", "8.8.8.8", 80));
            assert!(bypasses("192.168.1.7/32", "192.168.1.7", 80));
            assert!(!bypasses("192.168.1.7/32", "192.168.1.8", 80));
            assert!(bypasses("fd00::/8", "fd12::1", 80));
            assert!(!bypasses("fd00::/8", "fe80::1", 80));
            assert!(!bypasses("10.0.0.0/8", "ten.example", 80));
            assert!(!bypasses("10.0.0.0/33", "10.0.0.1", 80));
        }
    }

    #[test]
    fn connect_requests_carry_the_authority_and_credentials() {
        let proxy = ProxyTarget {
            host: "p".into(),
            port: 1,
            authorization: Some("Basic dTpw".into()),
        };
        let request =
            String::from_utf8(connect_request(&proxy, "example.com", 443).unwrap()).unwrap();
        assert_eq!(
            request,
            "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\
             Proxy-Authorization: Basic dTpw\r\n\r\n"
        );
        let request = String::from_utf8(connect_request(&proxy, "::1", 8080).unwrap()).unwrap();
        assert!(
            request.starts_with("CONNECT [::1]:8080 HTTP/1.1\r\n"),
            "{request}"
        );
        let request = String::from_utf8(connect_request(&proxy, "[::1]", 8080).unwrap()).unwrap();
        assert!(
            request.starts_with("CONNECT [::1]:8080 HTTP/1.1\r\n"),
            "{request}"
        );
        for bad in ["", "a b", "evil\r\nX: y", "a/b"] {
            assert!(
                connect_request(&proxy, bad, 1).unwrap_err().is_config(),
                "{bad:?}"
            );
        }
    }

    /// Runs `handshake` against a scripted proxy that sends `answer` in the given pieces.
    async fn scripted(pieces: Vec<Vec<u8>>, credentials: bool) -> crate::Result<Bytes> {
        let (mut client, mut server) = duplex(64 * 1024);
        let proxy = tokio::spawn(async move {
            let mut head = Vec::new();
            while !head.ends_with(b"\r\n\r\n") {
                let mut byte = [0];
                if server.read(&mut byte).await.unwrap() == 0 {
                    return;
                }
                head.push(byte[0]);
            }
            for piece in pieces {
                server.write_all(&piece).await.unwrap();
                tokio::task::yield_now().await;
            }
        });
        let request = b"CONNECT h:1 HTTP/1.1\r\nHost: h:1\r\n\r\n";
        let result = handshake(&mut client, request, credentials).await;
        proxy.await.unwrap();
        result
    }

    #[tokio::test]
    async fn bytes_after_the_answer_head_are_returned_exactly() {
        let answer =
            b"HTTP/1.1 200 Connection established\r\nVia: test\r\n\r\nEARLY BYTES".to_vec();
        let leftover = scripted(vec![answer], false).await.unwrap();
        assert_eq!(&leftover[..], b"EARLY BYTES");
    }

    #[tokio::test]
    async fn an_answer_split_into_single_bytes_is_reassembled() {
        let answer = b"HTTP/1.1 200 OK\r\n\r\n";
        let pieces = answer.iter().map(|b| vec![*b]).collect();
        let leftover = scripted(pieces, false).await.unwrap();
        assert!(leftover.is_empty());
    }

    #[tokio::test]
    async fn interim_answers_are_skipped() {
        let answer = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\nX".to_vec();
        assert_eq!(&scripted(vec![answer], false).await.unwrap()[..], b"X");
    }

    #[tokio::test]
    async fn refusals_name_the_status() {
        let answer = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n".to_vec();
        let err = scripted(vec![answer], false).await.unwrap_err();
        assert!(err.is_proxy(), "{err}");
        assert!(
            err.to_string().contains("the proxy answered 403 Forbidden"),
            "{err}"
        );
        assert_eq!(
            err.proxy_problem(),
            Some(&ProxyProblem::Refused {
                status: 403,
                reason: "Forbidden".to_owned(),
                credentials_sent: false
            })
        );
        // No reason phrase: the standard one.
        let err = scripted(vec![b"HTTP/1.1 502 \r\n\r\n".to_vec()], false)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("502 Bad Gateway"), "{err}");
        let err = scripted(vec![b"HTTP/1.1 407 Nope\r\n\r\n".to_vec()], true)
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("407 Nope (it refused the credentials)"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn broken_answers_are_proxy_errors() {
        let err = scripted(vec![], false).await.unwrap_err();
        assert!(err.is_proxy(), "{err}");
        assert!(err.to_string().contains("without answering"), "{err}");
        assert_eq!(
            err.proxy_problem(),
            Some(&ProxyProblem::ClosedEarly {
                partly_answered: false
            })
        );
        let err = scripted(vec![b"HTTP/1.1 200 OK\r\n".to_vec()], false)
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("in the middle of its answer"),
            "{err}"
        );
        let err = scripted(vec![b"SSH-2.0-OpenSSH_9.6\r\n\r\n".to_vec()], false)
            .await
            .unwrap_err();
        assert!(err.is_proxy(), "{err}");
        assert!(err.to_string().contains("not valid HTTP"), "{err}");
        let mut long = b"HTTP/1.1 200 OK\r\n".to_vec();
        long.extend_from_slice(b"X-Padding: ");
        long.resize(MAX_HEAD + 100, b'a');
        let err = scripted(vec![long], false).await.unwrap_err();
        assert!(err.is_proxy(), "{err}");
        assert!(err.to_string().contains("longer than 16 KiB"), "{err}");
        assert_eq!(
            err.proxy_problem(),
            Some(&ProxyProblem::HeadTooLong { limit: MAX_HEAD })
        );
        let mut many = b"HTTP/1.1 200 OK\r\n".to_vec();
        for _ in 0..=MAX_HEADERS {
            many.extend_from_slice(b"X-Many: yes\r\n");
        }
        many.extend_from_slice(b"\r\n");
        let err = scripted(vec![many], false).await.unwrap_err();
        assert!(err.to_string().contains("more than 64 headers"), "{err}");
    }

    /// A TCP echo server on 127.0.0.1 for one connection.
    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut tcp, _) = listener.accept().await.unwrap();
            let (mut reader, mut writer) = tcp.split();
            let _ = tokio::io::copy(&mut reader, &mut writer).await;
        });
        addr
    }

    /// A one-connection CONNECT proxy on 127.0.0.1. It reads the request head; then, if
    /// `refusal` is given, sends it and closes; otherwise it connects to the requested target,
    /// answers 200 followed by `early` and splices both ways. Returns the request head.
    async fn loopback_proxy(
        refusal: Option<&'static [u8]>,
        early: &'static [u8],
    ) -> (SocketAddr, JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let (mut client, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            while !head.ends_with(b"\r\n\r\n") {
                let mut byte = [0];
                assert_eq!(client.read(&mut byte).await.unwrap(), 1);
                head.push(byte[0]);
            }
            let head = String::from_utf8(head).unwrap();
            if let Some(refusal) = refusal {
                client.write_all(refusal).await.unwrap();
                return head;
            }
            let mut headers = [httparse::EMPTY_HEADER; 16];
            let mut request = httparse::Request::new(&mut headers);
            request.parse(head.as_bytes()).unwrap();
            assert_eq!(request.method, Some("CONNECT"));
            let target = request.path.unwrap().to_owned();
            let mut upstream = TcpStream::connect(target).await.unwrap();
            let mut answer = b"HTTP/1.1 200 Connection established\r\n\r\n".to_vec();
            answer.extend_from_slice(early);
            client.write_all(&answer).await.unwrap();
            let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            head
        });
        (addr, task)
    }

    #[tokio::test]
    async fn tunnels_to_a_loopback_echo_server() {
        let echo = echo_server().await;
        let (proxy_addr, proxy) = loopback_proxy(None, b"").await;
        let url = format!("http://alice:s%3Acret@{proxy_addr}");
        let target = resolve(&Proxy::Url(url), false, "127.0.0.1", echo.port())
            .unwrap()
            .unwrap();

        let (mut tunnel, leftover) = connect(&target, "127.0.0.1", echo.port()).await.unwrap();
        assert!(leftover.is_empty());
        tunnel.write_all(b"hello through the tunnel").await.unwrap();
        let mut back = [0; 24];
        tunnel.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"hello through the tunnel");
        drop(tunnel);

        let head = proxy.await.unwrap();
        let authority = format!("127.0.0.1:{}", echo.port());
        assert!(
            head.starts_with(&format!("CONNECT {authority} HTTP/1.1\r\n")),
            "{head}"
        );
        assert!(
            head.contains(&format!("\r\nHost: {authority}\r\n")),
            "{head}"
        );
        // base64("alice:s:cret")
        assert!(
            head.contains("\r\nProxy-Authorization: Basic YWxpY2U6czpjcmV0\r\n"),
            "{head}"
        );
    }

    #[tokio::test]
    async fn early_tunnel_bytes_are_not_lost() {
        let echo = echo_server().await;
        let (proxy_addr, _proxy) = loopback_proxy(None, b"early").await;
        let target = ProxyTarget::from_url(&proxy_addr.to_string()).unwrap();

        let (mut tunnel, leftover) = connect(&target, "127.0.0.1", echo.port()).await.unwrap();

        // However the bytes were segmented, leftover + what follows starts with them.
        let mut received = leftover.to_vec();
        while received.len() < b"early".len() {
            let mut more = [0; 16];
            let n = tunnel.read(&mut more).await.unwrap();
            assert_ne!(n, 0);
            received.extend_from_slice(&more[..n]);
        }
        assert_eq!(received, b"early");
    }

    #[tokio::test]
    async fn a_407_answer_is_a_proxy_error_with_the_status() {
        let (proxy_addr, proxy) = loopback_proxy(
            Some(
                b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n",
            ),
            b"",
        )
        .await;
        let target = ProxyTarget::from_url(&format!("http://{proxy_addr}")).unwrap();

        let err = connect(&target, "example.com", 443).await.unwrap_err();

        assert!(err.is_proxy(), "{err}");
        assert!(
            err.to_string()
                .contains("the proxy answered 407 Proxy Authentication Required"),
            "{err}"
        );
        let head = proxy.await.unwrap();
        assert!(
            head.starts_with("CONNECT example.com:443 HTTP/1.1\r\n"),
            "{head}"
        );
        assert!(!head.contains("Proxy-Authorization"), "{head}");
    }

    #[tokio::test]
    async fn an_unreachable_proxy_is_a_proxy_error() {
        // Bind, note the port, close: nothing listens there any more.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let target = ProxyTarget::from_url(&addr.to_string()).unwrap();
        let err = connect(&target, "example.com", 443).await.unwrap_err();
        assert!(err.is_proxy(), "{err}");
        assert!(
            err.to_string().contains("cannot connect to the proxy"),
            "{err}"
        );
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b%3a%3A"), b"a b::");
        assert_eq!(percent_decode("100%"), b"100%");
        assert_eq!(percent_decode("%zz%4"), b"%zz%4");
        assert_eq!(percent_decode("%C3%A9"), "é".as_bytes());
    }
}
