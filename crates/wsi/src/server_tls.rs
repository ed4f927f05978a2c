//! wss:// for `listen` and the client leg of `relay`: the user's certificate and key files,
//! or a certificate made at start (`--tls-self-signed`, with rcgen) whose SHA-256
//! fingerprint is printed so that a client can pin it.

use std::sync::Arc;

use ws_inspector_core::hex::hex_compact;
use ws_tokio::rustls::ServerConfig;

use crate::args::ServerTlsArgs;
use crate::exit::Failure;

/// The TLS configuration the flags ask for; `None` for plain ws://.
pub fn config(args: &ServerTlsArgs) -> Result<Option<Arc<ServerConfig>>, Failure> {
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        let read = |path: &std::path::Path, what: &str| {
            std::fs::read(path).map_err(|e| {
                Failure::usage(format!("{what} {}: cannot read it: {e}", path.display()))
            })
        };
        let (cert_pem, key_pem) = (read(cert, "--tls-cert")?, read(key, "--tls-key")?);
        let config = ws_tokio::tls::server_config(&cert_pem, &key_pem, None)
            .map_err(|e| Failure::usage(format!("--tls-cert/--tls-key: {e}")))?;
        return Ok(Some(config));
    }
    if !args.tls_self_signed {
        return Ok(None);
    }
    let names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    let made = rcgen::generate_simple_self_signed(names)
        .map_err(|e| Failure::failed(format!("cannot make a certificate: {e}")))?;
    let der = made.cert.der();
    eprintln!(
        "wsi: self-signed certificate for localhost, 127.0.0.1 and ::1; SHA-256 fingerprint {}",
        fingerprint(der)
    );
    eprintln!("wsi: clients must trust it explicitly (wsi connect -k, or --ca with its PEM)");
    let config = ws_tokio::tls::server_config(
        made.cert.pem().as_bytes(),
        made.signing_key.serialize_pem().as_bytes(),
        None,
    )
    .map_err(|e| Failure::failed(format!("the certificate made is unusable: {e}")))?;
    Ok(Some(config))
}

/// `AB:CD:…`, the way browsers and openssl show a certificate's SHA-256.
pub fn fingerprint(der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    let hex = hex_compact(digest.as_ref()).to_ascii_uppercase();
    hex.as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).into_owned())
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_is_sha256_in_colon_hex() {
        // SHA-256 of "abc".
        assert_eq!(
            fingerprint(b"abc"),
            "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD"
        );
    }
}
