//! Proxies: HTTP CONNECT and SOCKS5.
//!
//! [`resolve`] picks the proxy for a target (an explicit one, or one from the environment as
//! curl does); [`connect`] opens the tunnel through it. The URL's scheme says how to talk to
//! the proxy ([`ProxyKind`]):
//! - `http://` (or a bare `host:port`): an HTTP CONNECT proxy, credentials sent as
//!   `Proxy-Authorization: Basic`;
//! - `socks5://`: a SOCKS5 proxy (RFC 1928), the target's name resolved here and its IP
//!   address sent to the proxy;
//! - `socks5h://`: a SOCKS5 proxy that is sent the target's host name and resolves it itself
//!   (for names only the proxy's network knows, and so that no DNS query leaves this machine).
//!
//! `user:password@` in the URL is percent-decoded; for SOCKS5 it is sent with the
//! username/password method of RFC 1929. `https://` and SOCKS4 proxies are not supported:
//! they are [`Error::is_config`] errors. Everything that goes wrong while talking to the proxy
//! (it cannot be reached, it refuses, it does not speak the protocol) is an
//! [`Error::is_proxy`] error whose [`ProxyProblem`] says what happened in plain words. The
//! client's connect timeout covers the whole exchange with the proxy.
//!
//! The SOCKS5 client is written here by hand: it is small (a greeting, an optional
//! username/password exchange, one CONNECT request, every read of a fixed or length-prefixed
//! size), and the async SOCKS crates do not fit this crate's errors — `tokio-socks` reports
//! one flat error type mixing bad input, I/O and the proxy's answers (a proxy that hangs up
//! mid-handshake is a bare "unexpected end of file"), which would have to be taken apart
//! again to give [`ProxyProblem`]s, and it brings dependencies of its own for little code.
//!
//! From the environment ([`Proxy::FromEnv`]):
//! - `https_proxy` / `HTTPS_PROXY` for `wss`, `http_proxy` / `HTTP_PROXY` for `ws`, then
//!   `all_proxy` / `ALL_PROXY`; the lower-case variable wins, as in curl. Empty values count
//!   as unset. Any of them may name an `http://`, `socks5://` or `socks5h://` proxy, as in
//!   curl.
//! - `no_proxy` / `NO_PROXY` lists targets to reach directly, separated by commas: `*` (all),
//!   a domain (`example.com` and `.example.com` both match `example.com` and
//!   `a.example.com`), an IP address (matched exactly) or a CIDR block (`10.0.0.0/8`,
//!   `fd00::/8`); any entry may carry a `:port` (`[::1]:8080` for IPv6).
//!
//! Unlike curl, `HTTP_PROXY` in upper case is honoured: this crate is not meant to run as a
//! CGI program, where that variable can come from a request's `Proxy:` header.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

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

/// The port of a SOCKS proxy whose URL names none.
const SOCKS_PORT: u16 = 1080;

/// Where a client's proxy comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Proxy {
    /// No proxy: connect directly.
    #[default]
    None,
    /// An explicit proxy URL, used for every target; `NO_PROXY` is not consulted:
    /// `http://[user:pass@]host[:port]` (a bare `host:port` is taken as `http://`),
    /// `socks5://[user:pass@]host[:port]` or `socks5h://[user:pass@]host[:port]` (see
    /// [`ProxyKind`]).
    Url(String),
    /// From `HTTPS_PROXY` (wss) / `HTTP_PROXY` (ws) / `ALL_PROXY`, honouring `NO_PROXY`
    /// (lower-case variants too; lower-case wins as curl does). See the [module](self) notes.
    FromEnv,
}

/// How to talk to a proxy, from its URL's scheme.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProxyKind {
    /// `http://`: an HTTP `CONNECT host:port` request.
    #[default]
    HttpConnect,
    /// `socks5://`: SOCKS5, the target's host name resolved here and its IP address sent.
    Socks5,
    /// `socks5h://`: SOCKS5, the target's host name sent for the proxy to resolve.
    Socks5h,
}

impl ProxyKind {
    /// Whether this is one of the SOCKS5 kinds.
    pub fn is_socks(self) -> bool {
        matches!(self, Self::Socks5 | Self::Socks5h)
    }
}

/// A user name and password for a SOCKS5 proxy (RFC 1929), percent-decoded from the URL.
/// Its `Debug` shows the password as `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct SocksCredentials {
    /// The user name: 1 to 255 bytes.
    pub username: Vec<u8>,
    /// The password: at most 255 bytes.
    pub password: Vec<u8>,
}

impl fmt::Debug for SocksCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocksCredentials")
            .field("username", &String::from_utf8_lossy(&self.username))
            .field("password", &"<redacted>")
            .finish()
    }
}

/// A proxy to tunnel through.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyTarget {
    /// How to talk to it.
    pub kind: ProxyKind,
    /// The proxy's host name or IP address (an IPv6 address without brackets).
    pub host: String,
    /// The proxy's port.
    pub port: u16,
    /// For an HTTP proxy: the `Proxy-Authorization` value, `Basic base64(user:password)`, if
    /// the proxy URL carried credentials.
    pub authorization: Option<String>,
    /// For a SOCKS5 proxy: the user name and password, if the proxy URL carried them.
    pub socks_credentials: Option<SocksCredentials>,
}

impl ProxyTarget {
    /// Parses a proxy URL: `http://[user:password@]host[:port]` or a bare `host[:port]`
    /// (port 80 if none), `socks5://…` or `socks5h://…` (port 1080 if none). User and
    /// password are percent-decoded.
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
        let kind = match parsed.scheme() {
            "http" => ProxyKind::HttpConnect,
            "socks5" => ProxyKind::Socks5,
            "socks5h" => ProxyKind::Socks5h,
            "https" => {
                return Err(Error::config(format!(
                    "HTTPS proxies are not supported ({trimmed:?}); use an http:// proxy, \
                     which still carries wss:// end-to-end encrypted"
                )));
            }
            "socks4" | "socks4a" => {
                return Err(Error::config(format!(
                    "SOCKS4 proxies are not supported ({trimmed:?}); use a SOCKS5 proxy \
                     (socks5:// or socks5h://) or an HTTP CONNECT proxy (http://)"
                )));
            }
            "socks" => {
                return Err(Error::config(format!(
                    "say which SOCKS version the proxy speaks ({trimmed:?}): socks5:// \
                     (names resolved here) or socks5h:// (names resolved by the proxy)"
                )));
            }
            other => {
                return Err(Error::config(format!(
                    "proxy scheme {other}:// is not supported ({trimmed:?}); use http://, \
                     socks5:// or socks5h://"
                )));
            }
        };
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
        let default_port = if kind.is_socks() { SOCKS_PORT } else { 80 };
        let port = parsed.port_or_known_default().unwrap_or(default_port);
        let has_credentials = !parsed.username().is_empty() || parsed.password().is_some();
        let username = percent_decode(parsed.username());
        let password = percent_decode(parsed.password().unwrap_or(""));
        let mut target = Self {
            kind,
            host,
            port,
            authorization: None,
            socks_credentials: None,
        };
        if !has_credentials {
            return Ok(target);
        }
        if kind.is_socks() {
            if username.is_empty() {
                return Err(Error::config(format!(
                    "the SOCKS5 proxy URL {trimmed:?} has a password but no user name"
                )));
            }
            if username.len() > 255 || password.len() > 255 {
                return Err(Error::config(format!(
                    "the SOCKS5 proxy URL {trimmed:?} has a user name or password longer \
                     than 255 bytes, the most SOCKS5 can carry"
                )));
            }
            target.socks_credentials = Some(SocksCredentials { username, password });
        } else {
            let mut credentials = username;
            credentials.push(b':');
            credentials.extend(password);
            target.authorization = Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(credentials)
            ));
        }
        Ok(target)
    }
}

/// Shows the credentials as `<redacted>`, so that logging a target does not leak them.
impl fmt::Debug for ProxyTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyTarget")
            .field("kind", &self.kind)
            .field("host", &self.host)
            .field("port", &self.port)
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "<redacted>"),
            )
            .field("socks_credentials", &self.socks_credentials)
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

/// What went wrong with a proxy, HTTP CONNECT or SOCKS5
/// ([`Error::proxy_problem`](crate::Error::proxy_problem)).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProxyProblem {
    /// TCP to the proxy failed (the I/O error is the source).
    Unreachable {
        /// The proxy, as `host:port`.
        proxy: String,
    },
    /// Writing the CONNECT request (or, for SOCKS5, any request) failed.
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
    /// SOCKS5 with local resolution: the target's host name could not be resolved here (the
    /// I/O error, if any, is the source).
    CannotResolve {
        /// The target's host name.
        host: String,
    },
    /// The answer is not SOCKS5 (a wrong version byte).
    NotSocks5,
    /// The SOCKS5 proxy closed the connection before its answer was complete.
    SocksClosedEarly {
        /// Which step of the exchange it was in.
        step: SocksStep,
    },
    /// The SOCKS5 proxy accepts none of the authentication methods offered (no
    /// authentication, and username/password if the URL carried credentials).
    SocksNoAcceptableMethod {
        /// Whether username/password was offered.
        credentials_offered: bool,
    },
    /// The SOCKS5 proxy chose an authentication method that was not offered.
    SocksUnexpectedMethod {
        /// The method it chose.
        method: u8,
    },
    /// The SOCKS5 proxy refused the user name and password (RFC 1929).
    SocksAuthRejected {
        /// The status byte it answered.
        status: u8,
    },
    /// Reply 0x01: the SOCKS5 proxy reported a general failure.
    SocksGeneralFailure,
    /// Reply 0x02: the SOCKS5 proxy's rules do not allow the connection.
    SocksNotAllowed,
    /// Reply 0x03: the SOCKS5 proxy cannot reach the target's network.
    SocksNetworkUnreachable,
    /// Reply 0x04: the SOCKS5 proxy cannot reach the target host.
    SocksHostUnreachable,
    /// Reply 0x05: the target refused the SOCKS5 proxy's connection.
    SocksConnectionRefused,
    /// Reply 0x06: the SOCKS5 proxy's connection to the target timed out (TTL expired).
    SocksTtlExpired,
    /// Reply 0x07: the SOCKS5 proxy does not support the CONNECT command.
    SocksCommandNotSupported,
    /// Reply 0x08: the SOCKS5 proxy does not support the kind of target address sent.
    SocksAddressTypeNotSupported {
        /// Whether a host name was sent (`socks5h://`) rather than an IP address.
        sent_host_name: bool,
    },
    /// The SOCKS5 proxy answered a reply code that RFC 1928 does not define.
    SocksUnknownReply {
        /// The reply code.
        code: u8,
    },
    /// The SOCKS5 proxy's reply carries an address of an unknown type.
    SocksUnknownAddressType {
        /// The address type byte.
        address_type: u8,
    },
}

/// A step of the SOCKS5 exchange, for [`ProxyProblem::SocksClosedEarly`].
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocksStep {
    /// The greeting: choosing the authentication method.
    Greeting,
    /// The username/password check.
    Authentication,
    /// The CONNECT request and its reply.
    Connect,
}

impl fmt::Display for SocksStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Greeting => "greeting",
            Self::Authentication => "user name and password check",
            Self::Connect => "CONNECT request",
        })
    }
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
            Self::CannotResolve { host } => write!(
                f,
                "cannot resolve {host} to send its address to the SOCKS5 proxy (with \
                 socks5h:// the proxy resolves names itself)"
            ),
            Self::NotSocks5 => f.write_str(
                "the proxy's answer is not SOCKS5 (if it is an HTTP proxy, use http://)",
            ),
            Self::SocksClosedEarly { step } => write!(
                f,
                "the SOCKS5 proxy closed the connection during the {step}"
            ),
            Self::SocksNoAcceptableMethod {
                credentials_offered: true,
            } => f.write_str(
                "the SOCKS5 proxy accepts neither no authentication nor a user name and password",
            ),
            Self::SocksNoAcceptableMethod {
                credentials_offered: false,
            } => f.write_str(
                "the SOCKS5 proxy wants authentication (give a user name and password in the \
                 proxy URL: socks5://user:password@host:port)",
            ),
            Self::SocksUnexpectedMethod { method } => write!(
                f,
                "the SOCKS5 proxy chose authentication method 0x{method:02x}, which was not \
                 offered"
            ),
            Self::SocksAuthRejected { .. } => {
                f.write_str("the SOCKS5 proxy refused the user name and password")
            }
            Self::SocksGeneralFailure => f.write_str("the SOCKS5 proxy reported a general failure"),
            Self::SocksNotAllowed => {
                f.write_str("the SOCKS5 proxy's rules do not allow this connection")
            }
            Self::SocksNetworkUnreachable => {
                f.write_str("the SOCKS5 proxy cannot reach the target's network")
            }
            Self::SocksHostUnreachable => {
                f.write_str("the SOCKS5 proxy cannot reach the target host")
            }
            Self::SocksConnectionRefused => {
                f.write_str("the target refused the SOCKS5 proxy's connection")
            }
            Self::SocksTtlExpired => {
                f.write_str("the SOCKS5 proxy's connection to the target timed out (TTL expired)")
            }
            Self::SocksCommandNotSupported => {
                f.write_str("the SOCKS5 proxy does not support the CONNECT command")
            }
            Self::SocksAddressTypeNotSupported {
                sent_host_name: true,
            } => f.write_str(
                "the SOCKS5 proxy does not accept host names (use socks5:// to resolve them here)",
            ),
            Self::SocksAddressTypeNotSupported {
                sent_host_name: false,
            } => f.write_str("the SOCKS5 proxy does not accept this kind of IP address"),
            Self::SocksUnknownReply { code } => {
                write!(
                    f,
                    "the SOCKS5 proxy answered the unknown reply code 0x{code:02x}"
                )
            }
            Self::SocksUnknownAddressType { address_type } => write!(
                f,
                "the SOCKS5 proxy's reply has an address of unknown type 0x{address_type:02x}"
            ),
        }
    }
}

/// Opens TCP to the proxy and asks it to connect to `host:port` (`host` may be an IPv6
/// address with or without brackets): an HTTP CONNECT request, or the SOCKS5 exchange.
/// Returns the tunnel once the proxy agreed, with any bytes that followed an HTTP proxy's
/// answer head (the start of the tunnelled stream; always empty for SOCKS5, whose reply has
/// a known length).
///
/// For `socks5://` the target's name is resolved here first (its first address is used).
pub async fn connect(
    proxy: &ProxyTarget,
    host: &str,
    port: u16,
) -> crate::Result<(TcpStream, Bytes)> {
    if proxy.kind.is_socks() {
        let address = socks_address(proxy.kind, host, port).await?;
        let mut stream = open_tcp(proxy).await?;
        socks5_handshake(&mut stream, proxy.socks_credentials.as_ref(), &address).await?;
        return Ok((stream, Bytes::new()));
    }
    let request = connect_request(proxy, host, port)?;
    let mut stream = open_tcp(proxy).await?;
    let leftover = handshake(&mut stream, &request, proxy.authorization.is_some()).await?;
    Ok((stream, leftover))
}

/// TCP to the proxy.
async fn open_tcp(proxy: &ProxyTarget) -> crate::Result<TcpStream> {
    TcpStream::connect((proxy.host.as_str(), proxy.port))
        .await
        .map_err(|e| {
            Error::proxy(ProxyProblem::Unreachable {
                proxy: authority(&proxy.host, proxy.port),
            })
            .with_source(e)
        })
}

/// The target as a SOCKS5 request names it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum SocksAddress {
    /// ATYP 0x01 or 0x04.
    Ip(SocketAddr),
    /// ATYP 0x03: a host name for the proxy to resolve.
    Name(String, u16),
}

/// The address to send for `host:port`: an IP address as it is; a name resolved here for
/// `socks5://`, sent as it is for `socks5h://`.
async fn socks_address(kind: ProxyKind, host: &str, port: u16) -> crate::Result<SocksAddress> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(SocksAddress::Ip(SocketAddr::new(ip, port)));
    }
    let valid = !bare.is_empty()
        && bare.len() <= 255
        && bare
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b));
    if !valid {
        return Err(Error::config(format!(
            "{host:?} is not a host name or IP address that can be sent to a SOCKS5 proxy"
        )));
    }
    if kind == ProxyKind::Socks5h {
        return Ok(SocksAddress::Name(bare.to_owned(), port));
    }
    let cannot = || {
        Error::proxy(ProxyProblem::CannotResolve {
            host: bare.to_owned(),
        })
    };
    let mut addresses = tokio::net::lookup_host((bare, port))
        .await
        .map_err(|e| cannot().with_source(e))?;
    addresses.next().map(SocksAddress::Ip).ok_or_else(cannot)
}

/// The SOCKS5 greeting: version 5 and the methods offered, no authentication (0x00) and,
/// with credentials, username/password (0x02).
fn socks_greeting(credentials: bool) -> Vec<u8> {
    if credentials {
        vec![5, 2, 0x00, 0x02]
    } else {
        vec![5, 1, 0x00]
    }
}

/// The RFC 1929 username/password request.
fn socks_auth_request(credentials: &SocksCredentials) -> crate::Result<Vec<u8>> {
    let (Ok(user_len), Ok(pass_len)) = (
        u8::try_from(credentials.username.len()),
        u8::try_from(credentials.password.len()),
    ) else {
        return Err(Error::config(
            "the SOCKS5 user name or password is longer than 255 bytes",
        ));
    };
    let mut request =
        Vec::with_capacity(3 + credentials.username.len() + credentials.password.len());
    request.extend_from_slice(&[1, user_len]);
    request.extend_from_slice(&credentials.username);
    request.push(pass_len);
    request.extend_from_slice(&credentials.password);
    Ok(request)
}

/// The SOCKS5 CONNECT request for `address`.
fn socks_connect_request(address: &SocksAddress) -> crate::Result<Vec<u8>> {
    let mut request = vec![5, 1, 0];
    let port = match address {
        SocksAddress::Ip(SocketAddr::V4(v4)) => {
            request.push(0x01);
            request.extend_from_slice(&v4.ip().octets());
            v4.port()
        }
        SocksAddress::Ip(SocketAddr::V6(v6)) => {
            request.push(0x04);
            request.extend_from_slice(&v6.ip().octets());
            v6.port()
        }
        SocksAddress::Name(name, port) => {
            let len = u8::try_from(name.len()).map_err(|_| {
                Error::config("the host name is longer than 255 bytes, the most SOCKS5 can carry")
            })?;
            request.push(0x03);
            request.push(len);
            request.extend_from_slice(name.as_bytes());
            *port
        }
    };
    request.extend_from_slice(&port.to_be_bytes());
    Ok(request)
}

/// Writes `bytes` to the proxy.
async fn socks_send<S: AsyncWrite + Unpin>(stream: &mut S, bytes: &[u8]) -> crate::Result<()> {
    stream
        .write_all(bytes)
        .await
        .map_err(|e| Error::proxy(ProxyProblem::SendFailed).with_source(e))?;
    stream
        .flush()
        .await
        .map_err(|e| Error::proxy(ProxyProblem::SendFailed).with_source(e))
}

/// Reads exactly `buf.len()` bytes of the proxy's answer during `step`.
async fn socks_read<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut [u8],
    step: SocksStep,
) -> crate::Result<()> {
    match stream.read_exact(buf).await {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Err(Error::proxy(ProxyProblem::SocksClosedEarly { step }))
        }
        Err(e) => Err(Error::proxy(ProxyProblem::ReadFailed).with_source(e)),
    }
}

/// The problem a SOCKS5 reply code other than 0x00 (success) stands for.
fn socks_reply_problem(code: u8, sent_host_name: bool) -> ProxyProblem {
    match code {
        0x01 => ProxyProblem::SocksGeneralFailure,
        0x02 => ProxyProblem::SocksNotAllowed,
        0x03 => ProxyProblem::SocksNetworkUnreachable,
        0x04 => ProxyProblem::SocksHostUnreachable,
        0x05 => ProxyProblem::SocksConnectionRefused,
        0x06 => ProxyProblem::SocksTtlExpired,
        0x07 => ProxyProblem::SocksCommandNotSupported,
        0x08 => ProxyProblem::SocksAddressTypeNotSupported { sent_host_name },
        code => ProxyProblem::SocksUnknownReply { code },
    }
}

/// The SOCKS5 exchange (RFC 1928, with RFC 1929 username/password) on an open connection to
/// the proxy: greeting, authentication if the proxy asks for it, CONNECT. Returns the
/// reply's bound address (BND.ADDR, BND.PORT); afterwards the stream is the tunnel.
async fn socks5_handshake<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    credentials: Option<&SocksCredentials>,
    target: &SocksAddress,
) -> crate::Result<SocksAddress> {
    // Built first, so that bad input is a config error before anything is sent.
    let auth_request = credentials.map(socks_auth_request).transpose()?;
    let connect_request = socks_connect_request(target)?;

    socks_send(stream, &socks_greeting(credentials.is_some())).await?;
    let mut choice = [0; 2];
    socks_read(stream, &mut choice, SocksStep::Greeting).await?;
    if choice[0] != 5 {
        return Err(Error::proxy(ProxyProblem::NotSocks5));
    }
    match (choice[1], &auth_request) {
        (0x00, _) => {}
        (0x02, Some(auth_request)) => {
            socks_send(stream, auth_request).await?;
            let mut status = [0; 2];
            socks_read(stream, &mut status, SocksStep::Authentication).await?;
            // RFC 1929 says version 1; some servers answer 5. Only the status matters.
            if status[1] != 0 {
                return Err(Error::proxy(ProxyProblem::SocksAuthRejected {
                    status: status[1],
                }));
            }
        }
        (0xFF, _) => {
            return Err(Error::proxy(ProxyProblem::SocksNoAcceptableMethod {
                credentials_offered: credentials.is_some(),
            }));
        }
        (method, _) => {
            return Err(Error::proxy(ProxyProblem::SocksUnexpectedMethod { method }));
        }
    }

    socks_send(stream, &connect_request).await?;
    // VER REP: checked before the rest, as a refusing proxy may hang up after them.
    let mut head = [0; 2];
    socks_read(stream, &mut head, SocksStep::Connect).await?;
    if head[0] != 5 {
        return Err(Error::proxy(ProxyProblem::NotSocks5));
    }
    if head[1] != 0 {
        let sent_host_name = matches!(target, SocksAddress::Name(..));
        return Err(Error::proxy(socks_reply_problem(head[1], sent_host_name)));
    }
    // RSV ATYP
    let mut head = [0; 2];
    socks_read(stream, &mut head, SocksStep::Connect).await?;
    let bound = match head[1] {
        0x01 => {
            let mut addr = [0; 4 + 2];
            socks_read(stream, &mut addr, SocksStep::Connect).await?;
            let ip = Ipv4Addr::new(addr[0], addr[1], addr[2], addr[3]);
            SocksAddress::Ip(SocketAddr::new(
                ip.into(),
                u16::from_be_bytes([addr[4], addr[5]]),
            ))
        }
        0x04 => {
            let mut addr = [0; 16 + 2];
            socks_read(stream, &mut addr, SocksStep::Connect).await?;
            let mut octets = [0; 16];
            octets.copy_from_slice(&addr[..16]);
            let port = u16::from_be_bytes([addr[16], addr[17]]);
            SocksAddress::Ip(SocketAddr::new(Ipv6Addr::from(octets).into(), port))
        }
        0x03 => {
            let mut len = [0; 1];
            socks_read(stream, &mut len, SocksStep::Connect).await?;
            let mut addr = vec![0; usize::from(len[0]) + 2];
            socks_read(stream, &mut addr, SocksStep::Connect).await?;
            let port = u16::from_be_bytes([addr[addr.len() - 2], addr[addr.len() - 1]]);
            addr.truncate(addr.len() - 2);
            SocksAddress::Name(String::from_utf8_lossy(&addr).into_owned(), port)
        }
        address_type => {
            return Err(Error::proxy(ProxyProblem::SocksUnknownAddressType {
                address_type,
            }));
        }
    };
    Ok(bound)
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

/// Percent-decodes URL userinfo into bytes (RFC 3986 §2.1); a `%` not followed by two hex
/// digits stays as is.
fn percent_decode(s: &str) -> Vec<u8> {
    percent_encoding::percent_decode_str(s).collect()
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
            kind: ProxyKind::HttpConnect,
            host: host.to_owned(),
            port,
            authorization: None,
            socks_credentials: None,
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
                &[("ALL_PROXY", "socks4://p:1080")],
                true,
                "example.com",
                443,
            )
            .unwrap_err();
            assert!(err.is_config(), "{err}");
            assert!(err.to_string().contains("ALL_PROXY"), "{err}");
            assert!(err.to_string().contains("SOCKS4"), "{err}");
            // NO_PROXY is consulted first, so a bypassed host does not see the bad proxy.
            let vars = [
                ("ALL_PROXY", "socks4://p:1080"),
                ("NO_PROXY", "example.com"),
            ];
            assert_eq!(from_env(&vars, true, "example.com", 443).unwrap(), None);
        }

        #[test]
        fn socks_urls_from_the_environment() {
            // ALL_PROXY as curl reads it: a SOCKS5 proxy for both schemes.
            let vars = [("ALL_PROXY", "socks5h://u:p%40ss@socks.example:9050")];
            for (secure, port) in [(true, 443), (false, 80)] {
                let found = from_env(&vars, secure, "example.com", port)
                    .unwrap()
                    .unwrap();
                assert_eq!(found.kind, ProxyKind::Socks5h);
                assert_eq!((found.host.as_str(), found.port), ("socks.example", 9050));
                assert_eq!(
                    found.socks_credentials,
                    Some(SocksCredentials {
                        username: b"u".to_vec(),
                        password: b"p@ss".to_vec()
                    })
                );
                assert_eq!(found.authorization, None);
            }
            // The lower-case variable wins; a scheme variable wins over ALL_PROXY.
            let vars = [
                ("ALL_PROXY", "socks5h://upper:1"),
                ("all_proxy", "socks5://lower:2"),
            ];
            let found = from_env(&vars, true, "example.com", 443).unwrap().unwrap();
            assert_eq!(
                (found.kind, found.host.as_str()),
                (ProxyKind::Socks5, "lower")
            );
            let vars = [
                ("all_proxy", "socks5://all:2"),
                ("https_proxy", "socks5h://scheme:3"),
            ];
            let found = from_env(&vars, true, "example.com", 443).unwrap().unwrap();
            assert_eq!(
                (found.kind, found.host.as_str()),
                (ProxyKind::Socks5h, "scheme")
            );
            let found = from_env(&vars, false, "example.com", 80).unwrap().unwrap();
            assert_eq!(
                (found.kind, found.host.as_str()),
                (ProxyKind::Socks5, "all")
            );
            // NO_PROXY still applies.
            let vars = [("ALL_PROXY", "socks5://p:1"), ("NO_PROXY", ".internal")];
            assert_eq!(from_env(&vars, true, "a.internal", 443).unwrap(), None);
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
                "socks4://p:1080",
                "socks4a://p:1080",
                "socks://p:1080",
                "socks5://:password@p:1080",
                "socks5://",
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
            let err = resolve(&Proxy::Url("socks4://p:1".into()), true, "h", 1).unwrap_err();
            assert!(
                err.to_string().contains("SOCKS4 proxies are not supported"),
                "{err}"
            );
            let long = "a".repeat(256);
            let err = ProxyTarget::from_url(&format!("socks5://{long}:pw@p")).unwrap_err();
            assert!(err.is_config(), "{err}");
            assert!(err.to_string().contains("255 bytes"), "{err}");
        }

        #[test]
        fn socks_forms_that_are_accepted() {
            let parse = |url| ProxyTarget::from_url(url).unwrap();
            let socks = |kind, host: &str, port| ProxyTarget {
                kind,
                host: host.to_owned(),
                port,
                authorization: None,
                socks_credentials: None,
            };
            assert_eq!(
                parse("socks5://proxy.example:1081"),
                socks(ProxyKind::Socks5, "proxy.example", 1081)
            );
            assert_eq!(
                parse("socks5h://proxy.example"),
                socks(ProxyKind::Socks5h, "proxy.example", 1080)
            );
            assert_eq!(
                parse(" socks5://127.0.0.1:9050/ "),
                socks(ProxyKind::Socks5, "127.0.0.1", 9050)
            );
            assert_eq!(
                parse("socks5h://[::1]:1080"),
                socks(ProxyKind::Socks5h, "::1", 1080)
            );
            // A bare host:port stays an HTTP proxy.
            assert_eq!(parse("p:1080").kind, ProxyKind::HttpConnect);
            assert!(!ProxyKind::HttpConnect.is_socks());
            assert!(ProxyKind::Socks5.is_socks() && ProxyKind::Socks5h.is_socks());

            let with_user = parse("socks5://al%20ice:s%3Acr%40t@p:1");
            assert_eq!(
                with_user.socks_credentials,
                Some(SocksCredentials {
                    username: b"al ice".to_vec(),
                    password: b"s:cr@t".to_vec()
                })
            );
            assert_eq!(with_user.authorization, None);
            let debug = format!("{with_user:?}");
            assert!(
                !debug.contains("s:cr@t") && debug.contains("<redacted>"),
                "{debug}"
            );
            // A user name alone: an empty password.
            assert_eq!(
                parse("socks5h://bob@p").socks_credentials,
                Some(SocksCredentials {
                    username: b"bob".to_vec(),
                    password: Vec::new()
                })
            );
            let max = "b".repeat(255);
            assert!(
                ProxyTarget::from_url(&format!("socks5://{max}:{max}@p"))
                    .unwrap()
                    .socks_credentials
                    .is_some()
            );
        }
    }

    mod socks {
        use super::*;

        #[tokio::test]
        async fn addresses_sent_for_each_kind() {
            let v4 = SocksAddress::Ip("127.0.0.1:80".parse().unwrap());
            assert_eq!(
                socks_address(ProxyKind::Socks5h, "127.0.0.1", 80)
                    .await
                    .unwrap(),
                v4
            );
            assert_eq!(
                socks_address(ProxyKind::Socks5, "[::1]", 8080)
                    .await
                    .unwrap(),
                SocksAddress::Ip("[::1]:8080".parse().unwrap())
            );
            assert_eq!(
                socks_address(ProxyKind::Socks5h, "Example.COM", 443)
                    .await
                    .unwrap(),
                SocksAddress::Name("Example.COM".into(), 443)
            );
            let SocksAddress::Ip(local) = socks_address(ProxyKind::Socks5, "localhost", 9)
                .await
                .unwrap()
            else {
                panic!("socks5:// resolves names here");
            };
            assert!(local.ip().is_loopback() && local.port() == 9, "{local}");
            for bad in ["", "a b", "evil\r\n", "a/b"] {
                let err = socks_address(ProxyKind::Socks5h, bad, 1).await.unwrap_err();
                assert!(err.is_config(), "{bad:?}: {err}");
            }
            let long = "a".repeat(256);
            assert!(
                socks_address(ProxyKind::Socks5h, &long, 1)
                    .await
                    .unwrap_err()
                    .is_config()
            );
            let err = socks_address(ProxyKind::Socks5, "no-such-host.invalid", 1)
                .await
                .unwrap_err();
            assert_eq!(
                err.proxy_problem(),
                Some(&ProxyProblem::CannotResolve {
                    host: "no-such-host.invalid".into()
                })
            );
            assert!(err.to_string().contains("socks5h://"), "{err}");
        }

        #[test]
        fn request_bytes() {
            assert_eq!(socks_greeting(false), [5, 1, 0]);
            assert_eq!(socks_greeting(true), [5, 2, 0, 2]);
            let credentials = SocksCredentials {
                username: b"ab".to_vec(),
                password: b"xyz".to_vec(),
            };
            assert_eq!(
                socks_auth_request(&credentials).unwrap(),
                [1, 2, b'a', b'b', 3, b'x', b'y', b'z']
            );
            assert_eq!(
                socks_connect_request(&SocksAddress::Ip("10.1.2.3:443".parse().unwrap())).unwrap(),
                [5, 1, 0, 1, 10, 1, 2, 3, 0x01, 0xbb]
            );
            let v6 = socks_connect_request(&SocksAddress::Ip("[::1]:80".parse().unwrap())).unwrap();
            assert_eq!(&v6[..4], [5, 1, 0, 4]);
            assert_eq!(v6.len(), 4 + 16 + 2);
            assert_eq!(&v6[4 + 15..], [1, 0, 80]);
            assert_eq!(
                socks_connect_request(&SocksAddress::Name("ab.c".into(), 80)).unwrap(),
                [5, 1, 0, 3, 4, b'a', b'b', b'.', b'c', 0, 80]
            );
        }

        #[test]
        fn every_reply_code_has_its_problem() {
            let codes = [
                (1, ProxyProblem::SocksGeneralFailure),
                (2, ProxyProblem::SocksNotAllowed),
                (3, ProxyProblem::SocksNetworkUnreachable),
                (4, ProxyProblem::SocksHostUnreachable),
                (5, ProxyProblem::SocksConnectionRefused),
                (6, ProxyProblem::SocksTtlExpired),
                (7, ProxyProblem::SocksCommandNotSupported),
                (
                    8,
                    ProxyProblem::SocksAddressTypeNotSupported {
                        sent_host_name: true,
                    },
                ),
                (9, ProxyProblem::SocksUnknownReply { code: 9 }),
            ];
            for (code, problem) in codes {
                assert_eq!(socks_reply_problem(code, true), problem);
                assert!(problem.to_string().contains("SOCKS5"), "{problem}");
            }
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
            kind: ProxyKind::HttpConnect,
            host: "p".into(),
            port: 1,
            authorization: Some("Basic dTpw".into()),
            socks_credentials: None,
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
