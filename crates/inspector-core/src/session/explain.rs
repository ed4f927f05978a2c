//! Connection errors and HTTP answers in plain language, for the handshake view.

use ws_tokio::ws_proto::http::{HeaderMap, StatusCode};

/// The header map as (name, value) strings, in order.
pub fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// A connection error in plain language, for someone who wants to know what to do next.
pub fn explain(error: &ws_tokio::Error) -> String {
    use std::error::Error as _;
    if let Some(response) = error.http_response() {
        let status = response.status();
        let reason = status.canonical_reason().unwrap_or("");
        if status == StatusCode::SWITCHING_PROTOCOLS {
            return format!(
                "The server agreed to switch protocols, but its answer is not a valid \
                 WebSocket upgrade: {error}"
            );
        }
        let hint = match status.as_u16() {
            400 => "the server found the upgrade request malformed",
            401 => "authentication is required (add an Authorization header)",
            403 => "the server refused the connection (check Origin, cookies or tokens)",
            404 => "there is no WebSocket endpoint at this path",
            426 => "the server wants a different protocol version",
            429 => "too many requests; try again later",
            300..=399 => "the server redirects elsewhere (see the Location header)",
            500..=599 => "the server failed while handling the upgrade",
            _ => "the server did not accept the WebSocket upgrade",
        };
        return format!(
            "The server answered {} {reason} instead of 101 Switching Protocols: {hint}.",
            status.as_u16()
        );
    }
    if let Some(stage) = error.timeout_stage() {
        let what = match stage {
            ws_tokio::Stage::Connect => "opening the TCP connection",
            ws_tokio::Stage::Proxy => "the proxy's CONNECT",
            ws_tokio::Stage::Tls => {
                "the TLS handshake (if the server is a plain ws:// server, use ws:// instead of \
                 wss://)"
            }
            ws_tokio::Stage::Handshake => "the server's answer to the upgrade request",
            ws_tokio::Stage::Close => "the closing handshake",
        };
        return format!("Timed out waiting for {what} (see the timeouts under Options).");
    }
    if let Some(failure) = error.tls_failure() {
        let mut text = sentence(&failure.to_string());
        if let Some(hint) = failure.hint() {
            text.push(' ');
            text.push_str(&sentence(&hint));
        }
        if failure.problem().is_certificate() && failure.peer() == ws_tokio::tls::Peer::Server {
            text.push_str(" Extra CA and Accept invalid certificates are under Options › TLS.");
        }
        return text;
    }
    if error.is_tls() {
        return sentence(&error.to_string());
    }
    if error.is_proxy() {
        return format!("{error}. Check the proxy setting in Options.");
    }
    if error.is_config() {
        return error.to_string();
    }
    if error.is_handshake() {
        return error.to_string();
    }
    if error.is_io() {
        let io = error
            .source()
            .and_then(|s| s.downcast_ref::<std::io::Error>());
        if let Some(io) = io {
            return match io.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    "Connection refused: nothing is listening at that host and port.".to_owned()
                }
                std::io::ErrorKind::ConnectionReset => {
                    "The server reset the connection.".to_owned()
                }
                _ => format!("Network error: {io}."),
            };
        }
    }
    error.to_string()
}

/// `text` as a sentence: a capital first, a full stop last.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    };
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

#[cfg(test)]
mod tests {
    use ws_tokio::ConnectOptions;

    use super::*;

    #[test]
    fn a_refused_connection_is_explained() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let error = runtime.block_on(async {
            // A port that was just free: nothing listens there any more.
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            drop(listener);
            ws_tokio::connect(ConnectOptions::new(format!("ws://{addr}/")))
                .await
                .unwrap_err()
        });
        assert!(
            explain(&error).starts_with("Connection refused"),
            "{}",
            explain(&error)
        );
    }

    #[test]
    fn a_plain_server_behind_wss_is_explained_in_plain_words() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let error = runtime.block_on(async {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move {
                if let Ok((mut tcp, _)) = listener.accept().await {
                    let mut buf = [0u8; 1024];
                    let _ = tcp.read(&mut buf).await;
                    let _ = tcp
                        .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                        .await;
                }
            });
            ws_tokio::connect(ConnectOptions::new(format!("wss://{addr}/")))
                .await
                .unwrap_err()
        });
        let text = explain(&error);
        assert!(text.contains("not a TLS server"), "{text}");
        assert!(text.contains("ws://"), "says what to do: {text}");
        assert!(!text.contains("Other("), "{text}");
    }
}
