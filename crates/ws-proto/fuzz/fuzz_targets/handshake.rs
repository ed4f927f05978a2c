//! Arbitrary bytes into the handshake functions on their own: URL → request, request and
//! response parsing under tight and default limits, and the server's and client's checks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws_proto::HandshakeLimits;
use ws_proto::handshake::{
    self, ClientOptions, accept_response, check_request, check_response, parse_request,
    parse_response,
};

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

fuzz_target!(|data: &[u8]| {
    let tight = HandshakeLimits {
        max_head_size: 256,
        max_headers: 6,
        max_line_len: 80,
        max_body_size: 16,
    };
    for limits in [HandshakeLimits::default(), tight] {
        if let Ok(Some((request, end))) = parse_request(data, &limits) {
            assert!(end <= data.len() && end <= limits.max_head_size);
            if let Ok(upgrade) = check_request(request) {
                assert_eq!(upgrade.key().len(), 24);
                let response = accept_response(&upgrade, upgrade.protocols.first().map(|s| &**s));
                let mut out = Vec::new();
                handshake::write_response(&response, &mut out);
                let (parsed, n) = parse_response(&out, &HandshakeLimits::default())
                    .expect("our own response parses")
                    .expect("complete");
                assert_eq!(n, out.len());
                assert_eq!(parsed.status(), response.status());
            }
        }
        if let Ok(Some((response, end))) = parse_response(data, &limits) {
            assert!(end <= data.len());
            let request = handshake::client_request(
                "ws://example.com/",
                KEY,
                &ClientOptions {
                    protocols: vec!["chat".into()],
                    extensions: vec!["permessage-deflate".into()],
                    ..Default::default()
                },
            )
            .expect("a valid URL");
            let _ = check_response(&request, &response);
        }
    }
    if let Ok(url) = std::str::from_utf8(data) {
        if let Ok(request) = handshake::client_request(url, KEY, &ClientOptions::default()) {
            let mut out = Vec::new();
            handshake::write_request(&request, &mut out);
            // What we write must parse back as a valid upgrade request.
            let (parsed, n) = parse_request(
                &out,
                &HandshakeLimits {
                    max_head_size: usize::MAX,
                    max_line_len: usize::MAX,
                    ..HandshakeLimits::default()
                },
            )
            .expect("our own request parses")
            .expect("complete");
            assert_eq!(n, out.len());
            check_request(parsed).expect("our own request is a valid upgrade");
        }
    }
});
