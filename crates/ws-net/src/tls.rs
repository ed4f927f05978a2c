//! TLS through rustls.
