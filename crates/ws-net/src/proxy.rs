//! HTTP CONNECT proxies.
