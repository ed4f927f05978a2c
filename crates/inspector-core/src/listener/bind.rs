//! Which addresses a listener or relay may bind without asking: loopback only. Anything
//! else lets other machines in, so the UI asks first and keeps a warning in the tab.

use std::net::{IpAddr, SocketAddr};

/// The address a new listener or relay binds unless told otherwise: loopback, any port.
pub const DEFAULT_ADDR: &str = "127.0.0.1:0";

/// Whether `addr` (`host:port`) is reachable from this machine only: a loopback IP
/// (`127.0.0.0/8`, `::1`) or `localhost`. An address that does not parse is not.
pub fn is_loopback(addr: &str) -> bool {
    let addr = addr.trim();
    if let Ok(socket) = addr.parse::<SocketAddr>() {
        return socket.ip().is_loopback();
    }
    let host = addr.rsplit_once(':').map_or(addr, |(host, _)| host);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

/// `tcp`, and a second handle on its socket, if one can be had: a reset sets it to linger
/// 0, so that the socket's close, once the streams are dropped, is an RST.
pub(crate) fn second_handle(
    tcp: tokio::net::TcpStream,
) -> std::io::Result<(tokio::net::TcpStream, Option<tokio::net::TcpStream>)> {
    let std = tcp.into_std()?;
    let second = std
        .try_clone()
        .ok()
        .and_then(|s| tokio::net::TcpStream::from_std(s).ok());
    Ok((tokio::net::TcpStream::from_std(std)?, second))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_is_private() {
        assert!(is_loopback("127.0.0.1:0"));
        assert!(is_loopback("127.0.0.2:9000"));
        assert!(is_loopback("[::1]:80"));
        assert!(is_loopback("localhost:8080"));
        assert!(!is_loopback("0.0.0.0:8080"));
        assert!(!is_loopback("[::]:8080"));
        assert!(!is_loopback("192.168.1.2:80"));
        assert!(!is_loopback("example.com:80"));
        assert!(!is_loopback("nonsense"));
    }
}
