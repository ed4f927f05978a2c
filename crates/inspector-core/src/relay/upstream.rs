//! The upstream leg's handshake, built from the client's: its path and query (when the
//! upstream URL has none of its own), its subprotocols and extensions offer (unless fixed),
//! and its `Origin`, `Cookie`, `Authorization` and `User-Agent` headers (unless the
//! profile sets them); and the client's answer when the upstream refused or failed.

use ws_tokio::ws_proto::UpgradeRequest;
use ws_tokio::ws_proto::http::StatusCode;
use ws_tokio::{ConnectOptions, Decision};

/// Request headers of the client's that go upstream too.
pub const FORWARDED_HEADERS: [&str; 4] = ["origin", "cookie", "authorization", "user-agent"];

/// The upstream request for the client's `request`: `base` (a profile's options), with the
/// client's path, offer and forwarded headers. `fixed_protocols` keeps `base`'s
/// subprotocols instead of the client's.
pub fn upstream_options(
    base: &ConnectOptions,
    fixed_protocols: bool,
    request: &UpgradeRequest,
) -> ConnectOptions {
    let mut options = base.clone();
    options.url = upstream_url(&options.url, request);
    if !fixed_protocols {
        options.request.protocols = request.protocols.clone();
    }
    // The client's compression offer goes upstream as ours: permessage-deflate is offered
    // when the client offered it (with our default parameters, not the client's).
    let offers_deflate = request
        .extensions
        .iter()
        .any(|e| e.trim_start().starts_with("permessage-deflate"));
    if !offers_deflate {
        options.config.deflate = None;
    } else if options.config.deflate.is_none() {
        options.config.deflate = Some(ws_tokio::ws_proto::DeflateConfig::default());
    }
    for name in FORWARDED_HEADERS {
        let Some(value) = request.request.headers().get(name) else {
            continue;
        };
        let Ok(value) = value.to_str() else { continue };
        if name == "origin" {
            if options.request.origin.is_none() {
                options.request.origin = Some(value.to_owned());
            }
            continue;
        }
        let set = options
            .request
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name));
        if !set {
            options
                .request
                .headers
                .push((name.to_owned(), value.to_owned()));
        }
    }
    options
}

/// `base` with the client's path and query when `base` has no path of its own.
pub fn upstream_url(base: &str, request: &UpgradeRequest) -> String {
    let Ok(mut url) = url::Url::parse(base) else {
        return base.to_owned();
    };
    if url.path() == "/" && url.query().is_none() {
        let target = request.request.uri();
        url.set_path(target.path());
        url.set_query(target.query());
    }
    url.to_string()
}

/// The client's 101 answer headers that relay the upstream server's permessage-deflate
/// answer: the client leg agrees the parameters the server agreed, as far as the client's
/// own offer allows (the upstream offer may differ from the client's: a profile's options,
/// or the default offer when the client offered any) — the same no-context-takeover
/// choices and window limits, found by negotiating the client's offers with the server's
/// answer as the policy (a client that did not offer `client_max_window_bits` cannot be
/// limited, and is not: only the relay inflates what it sends). No header when the server
/// declined compression (the client leg then declines it too, so both legs compress or
/// neither) or the client offered none.
pub fn relayed_extensions(
    request: &UpgradeRequest,
    upstream: Option<&ws_tokio::ws_proto::DeflateParams>,
) -> ws_tokio::ws_proto::http::HeaderMap {
    let mut headers = ws_tokio::ws_proto::http::HeaderMap::new();
    let Some(agreed) = upstream else {
        return headers;
    };
    let mut policy = ws_tokio::ws_proto::DeflateConfig::default();
    policy.server_no_context_takeover = agreed.server_no_context_takeover;
    policy.client_no_context_takeover = agreed.client_no_context_takeover;
    policy.server_max_window_bits = agreed.server_max_window_bits;
    policy.client_max_window_bits = agreed.client_max_window_bits.filter(|bits| *bits < 15);
    let negotiate = |policy: &ws_tokio::ws_proto::DeflateConfig| {
        ws_tokio::ws_proto::deflate::negotiate(&request.extensions, policy)
    };
    let answer = negotiate(&policy).or_else(|| {
        policy.client_max_window_bits = None;
        negotiate(&policy)
    });
    if let Some(answer) = answer
        && let Ok(value) = answer.to_string().parse()
    {
        headers.insert(
            ws_tokio::ws_proto::http::header::SEC_WEBSOCKET_EXTENSIONS,
            value,
        );
    }
    headers
}

/// The client's answer when the upstream connection failed: the server's own refusal (its
/// status and body), or 502 Bad Gateway with what went wrong.
pub fn refusal(error: &ws_tokio::Error) -> Decision {
    if let Some(response) = error.http_response()
        && response.status() != StatusCode::SWITCHING_PROTOCOLS
    {
        let body = error
            .http_body()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        return Decision::Reject {
            status: response.status(),
            body,
        };
    }
    Decision::Reject {
        status: StatusCode::BAD_GATEWAY,
        body: format!("ws-inspector relay: the upstream connection failed: {error}\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ws_tokio::ws_proto::http::Request;

    fn request(uri: &str) -> UpgradeRequest {
        UpgradeRequest {
            request: Request::builder()
                .uri(uri)
                .header("origin", "http://app")
                .body(())
                .unwrap(),
            protocols: vec!["chat".to_owned()],
            extensions: Vec::new(),
        }
    }

    #[test]
    fn the_clients_path_goes_upstream_when_the_url_has_none() {
        let r = request("/chat/room?x=1");
        assert_eq!(upstream_url("ws://h:9/", &r), "ws://h:9/chat/room?x=1");
        assert_eq!(upstream_url("wss://h/api", &r), "wss://h/api");
    }

    #[test]
    fn the_clients_offer_and_origin_go_upstream() {
        let base = ConnectOptions::new("ws://h:9/");
        let options = upstream_options(&base, false, &request("/x"));
        assert_eq!(options.request.protocols, ["chat"]);
        assert_eq!(options.request.origin.as_deref(), Some("http://app"));
        assert!(options.config.deflate.is_none(), "the client offered none");
        let fixed = upstream_options(&base, true, &request("/x"));
        assert!(fixed.request.protocols.is_empty());
    }

    fn offering(extensions: &[&str]) -> UpgradeRequest {
        let mut r = request("/x");
        r.extensions = extensions.iter().map(|e| (*e).to_owned()).collect();
        r
    }

    fn answer(headers: &ws_tokio::ws_proto::http::HeaderMap) -> Option<&str> {
        headers
            .get("sec-websocket-extensions")
            .and_then(|v| v.to_str().ok())
    }

    #[test]
    fn the_servers_compression_answer_is_relayed_as_the_clients_offer_allows() {
        use ws_tokio::ws_proto::DeflateParams;
        let server = DeflateParams {
            server_no_context_takeover: true,
            client_no_context_takeover: false,
            server_max_window_bits: Some(10),
            client_max_window_bits: Some(12),
        };
        let both = offering(&["permessage-deflate; client_max_window_bits"]);
        assert_eq!(
            answer(&relayed_extensions(&both, Some(&server))),
            Some(
                "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; \
                 client_max_window_bits=12"
            )
        );
        // A client that cannot be limited is not: its window is left alone.
        let plain = offering(&["permessage-deflate"]);
        assert_eq!(
            answer(&relayed_extensions(&plain, Some(&server))),
            Some("permessage-deflate; server_no_context_takeover; server_max_window_bits=10")
        );
        // The server declined, or the client offered nothing: no compression on the client leg.
        assert!(relayed_extensions(&both, None).is_empty());
        assert!(relayed_extensions(&offering(&[]), Some(&server)).is_empty());
    }
}
