//! wss:// for listeners and relays: a certificate made at start with rcgen (for
//! `localhost`, `127.0.0.1` and `::1`) whose SHA-256 fingerprint the tab shows so that a
//! client can pin it, or the user's certificate and key files.

use std::path::Path;
use std::sync::Arc;

use ws_tokio::rustls::ServerConfig;

use crate::hex::hex_compact;

/// A TLS server configuration and the fingerprint of its certificate.
#[derive(Clone, Debug)]
pub struct ServerTls {
    /// For [`ws_tokio::ServerOptions::tls`].
    pub config: Arc<ServerConfig>,
    /// The leaf certificate's SHA-256, `AB:CD:…` (when it could be read).
    pub fingerprint: Option<String>,
}

/// A self-signed certificate for `localhost`, `127.0.0.1` and `::1`, made now.
pub fn self_signed() -> Result<ServerTls, String> {
    let names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    let made = rcgen::generate_simple_self_signed(names)
        .map_err(|e| format!("cannot make a certificate: {e}"))?;
    let fingerprint = fingerprint(made.cert.der());
    let config = ws_tokio::tls::server_config(
        made.cert.pem().as_bytes(),
        made.signing_key.serialize_pem().as_bytes(),
        None,
    )
    .map_err(|e| format!("the certificate made is unusable: {e}"))?;
    Ok(ServerTls {
        config,
        fingerprint: Some(fingerprint),
    })
}

/// The user's certificate chain and private key (PEM files).
pub fn from_files(cert: &Path, key: &Path) -> Result<ServerTls, String> {
    let read = |path: &Path, what: &str| {
        std::fs::read(path).map_err(|e| format!("cannot read the {what} {}: {e}", path.display()))
    };
    let (cert_pem, key_pem) = (read(cert, "certificate")?, read(key, "key")?);
    let config = ws_tokio::tls::server_config(&cert_pem, &key_pem, None)
        .map_err(|e| format!("the certificate or key is unusable: {e}"))?;
    let fingerprint = first_pem_der(&cert_pem).map(|der| fingerprint(&der));
    Ok(ServerTls {
        config,
        fingerprint,
    })
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

/// The DER bytes of the first `CERTIFICATE` block of a PEM file.
fn first_pem_der(pem: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let text = std::str::from_utf8(pem).ok()?;
    let start = text.find("-----BEGIN CERTIFICATE-----")? + "-----BEGIN CERTIFICATE-----".len();
    let end = start + text[start..].find("-----END CERTIFICATE-----")?;
    let body: String = text[start..end].split_whitespace().collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_is_sha256_in_colon_hex() {
        assert_eq!(
            fingerprint(b"abc"),
            "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD"
        );
    }

    #[test]
    fn a_made_certificate_has_a_fingerprint() {
        let tls = self_signed().expect("a certificate");
        assert_eq!(tls.fingerprint.map(|f| f.len()), Some(32 * 3 - 1));
    }
}
