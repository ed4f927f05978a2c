//! wss:// for `listen`, `serve` and the client leg of `relay`: the user's certificate and key
//! files, or a certificate made at start (`--tls-self-signed`) whose SHA-256 fingerprint is
//! printed so that a client can pin it — the core's [`tls`], as the inspector's listen
//! tabs use it.

use std::sync::Arc;

use ws_inspector_core::listener::tls;
use ws_tokio::rustls::ServerConfig;

use crate::args::ServerTlsArgs;
use crate::exit::Failure;

/// The TLS configuration the flags ask for; `None` for plain ws://.
pub fn config(args: &ServerTlsArgs) -> Result<Option<Arc<ServerConfig>>, Failure> {
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        let made = tls::from_files(cert, key)
            .map_err(|e| Failure::usage(format!("--tls-cert/--tls-key: {e}")))?;
        return Ok(Some(made.config));
    }
    if !args.tls_self_signed {
        return Ok(None);
    }
    let made = tls::self_signed().map_err(Failure::failed)?;
    eprintln!(
        "wsi: self-signed certificate for localhost, 127.0.0.1 and ::1; SHA-256 fingerprint {}",
        made.fingerprint.as_deref().unwrap_or("(unknown)")
    );
    eprintln!("wsi: clients must trust it explicitly (wsi connect -k, or --ca with its PEM)");
    Ok(Some(made.config))
}
