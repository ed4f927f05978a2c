//! The handshake flags (and a saved inspector profile under them) turned into
//! [`ConnectOptions`]: the profile first, with the inspector's own checks, then every flag
//! given on top of it.

use std::time::Duration;

use ws_inspector_core::profiles::ProfileStore;
use ws_inspector_core::url::check_url;
use ws_inspector_core::vars::Variables;
use ws_tokio::proxy::ProxyTarget;
use ws_tokio::ws_proto::DeflateConfig;
use ws_tokio::ws_proto::http::{HeaderName, HeaderValue};
use ws_tokio::{ConnectOptions, Proxy, TlsOptions};

use crate::args::HandshakeArgs;
use crate::exit::Failure;

/// The default for `--timeout`, in seconds.
pub const DEFAULT_TIMEOUT_SECS: f64 = 10.0;
/// The default for `--close-timeout`, in seconds.
pub const DEFAULT_CLOSE_TIMEOUT_SECS: f64 = 5.0;
/// The default for `--max-message`, in bytes.
pub const DEFAULT_MAX_MESSAGE: usize = 64 << 20;

/// The `--var` variables, checked.
pub fn variables(args: &HandshakeArgs) -> Result<Variables, Failure> {
    let mut vars = Variables::new();
    for assignment in &args.vars {
        vars.assign(assignment)
            .map_err(|e| Failure::usage(format!("--var {assignment:?}: {e}")))?;
    }
    Ok(vars)
}

/// `template` with its `{{…}}` placeholders expanded; an error names `what` it was.
pub fn expand(vars: &mut Variables, template: &str, what: &str) -> Result<String, Failure> {
    vars.expand(template)
        .map(|expanded| expanded.text)
        .map_err(|e| Failure::usage(format!("{what} {template:?}: {e}")))
}

/// The options to connect to `url` (or the profile's URL) with; `{{…}}` placeholders in the
/// URL and the -H values are expanded.
pub fn build(args: &HandshakeArgs, url: Option<&str>) -> Result<ConnectOptions, Failure> {
    let mut vars = variables(args)?;
    let url = url.map(|u| expand(&mut vars, u, "the URL")).transpose()?;
    let url = url.as_deref();
    let mut options = match &args.profile {
        Some(name) => from_profile(args, name, url)?,
        None => {
            let url = url.ok_or_else(|| {
                Failure::usage("a URL is needed (ws://HOST[:PORT]/PATH or wss://…), or --profile")
            })?;
            let mut options = ConnectOptions::new(check_url(url).map_err(Failure::usage)?);
            options.timeouts = ws_tokio::Timeouts::all(secs(DEFAULT_TIMEOUT_SECS, "--timeout")?)
                .with_close(secs(DEFAULT_CLOSE_TIMEOUT_SECS, "--close-timeout")?);
            options.config.max_message_size = DEFAULT_MAX_MESSAGE;
            options.config.max_frame_size = DEFAULT_MAX_MESSAGE;
            options
        }
    };
    apply_flags(args, &mut options, &mut vars)?;
    // Host, port and header combinations are checked by building the request once.
    options
        .build_request()
        .map_err(|e| Failure::usage(e.to_string()))?;
    Ok(options)
}

/// The profile `name` from the inspector's store, as connect options.
fn from_profile(
    args: &HandshakeArgs,
    name: &str,
    url: Option<&str>,
) -> Result<ConnectOptions, Failure> {
    let dir = args
        .config_dir
        .clone()
        .unwrap_or_else(ProfileStore::default_dir);
    let store = ProfileStore::open(dir);
    for problem in store.problems() {
        eprintln!("wsi: profiles: {problem}");
    }
    // Names are unique ignoring case, as the inspector keeps them.
    let wanted = name.to_lowercase();
    let found = store.get(name).or_else(|| {
        store
            .profiles()
            .iter()
            .find(|p| p.name.to_lowercase() == wanted)
    });
    let profile = found.ok_or_else(|| {
        let names: Vec<&str> = store.profiles().iter().map(|p| p.name.as_str()).collect();
        Failure::usage(format!(
            "--profile {name:?}: there is no such profile in {} (there are: {})",
            store.dir().display(),
            names.join(", ")
        ))
    })?;
    if profile.local_echo && url.is_none() {
        return Err(Failure::usage(format!(
            "--profile {name:?} connects to the inspector's built-in echo server, which wsi \
             does not start: run `wsi listen 127.0.0.1:9002 --echo` and give its URL"
        )));
    }
    profile
        .to_connect_options(url)
        .map_err(|e| Failure::usage(format!("--profile {name:?}: {e}")))
}

/// Every flag given, on top of `options`.
fn apply_flags(
    args: &HandshakeArgs,
    options: &mut ConnectOptions,
    vars: &mut Variables,
) -> Result<(), Failure> {
    for header in &args.headers {
        let header = expand(vars, header, "-H")?;
        let (name, value) = parse_header(&header)?;
        options.request.headers.push((name, value));
    }
    if let Some(origin) = &args.origin {
        options.request.origin = Some(origin.clone());
    }
    if !args.protocols.is_empty() {
        options.request.protocols = args.protocols.clone();
    }
    if args.compress {
        options.config.deflate = Some(DeflateConfig::default());
    }
    if let Some(ca) = &args.ca {
        options
            .tls
            .add_ca_file(ca)
            .map_err(|e| Failure::usage(format!("--ca: {e}")))?;
    }
    if let (Some(cert), Some(key)) = (&args.cert, &args.key) {
        options.tls.client_certificate = Some(
            TlsOptions::client_certificate_files(cert, key)
                .map_err(|e| Failure::usage(format!("--cert/--key: {e}")))?,
        );
    }
    if args.insecure {
        options.tls.accept_invalid_certificates = true;
    }
    if let Some(proxy) = &args.proxy {
        ProxyTarget::from_url(proxy).map_err(|e| Failure::usage(format!("--proxy: {e}")))?;
        options.proxy = Proxy::Url(proxy.clone());
    } else if args.proxy_env {
        options.proxy = Proxy::FromEnv;
    }
    if let Some(limit) = args.timeout {
        let limit = secs(limit, "--timeout")?;
        options.timeouts.connect = limit;
        options.timeouts.tls = limit;
        options.timeouts.handshake = limit;
    }
    if let Some(limit) = args.close_timeout {
        options.timeouts.close = secs(limit, "--close-timeout")?;
    }
    if let Some(max) = args.max_message {
        if max == 0 {
            return Err(Failure::usage("--max-message must be at least 1 byte"));
        }
        options.config.max_message_size = max;
        options.config.max_frame_size = max;
    }
    if options.tls.accept_invalid_certificates && options.url.starts_with("wss") {
        eprintln!(
            "wsi: WARNING: --insecure: the server's certificate is NOT checked — anyone on \
             the path can read and change this connection"
        );
    }
    Ok(())
}

/// `Name: value` as a checked header.
pub fn parse_header(text: &str) -> Result<(String, String), Failure> {
    let (name, value) = text.split_once(':').ok_or_else(|| {
        Failure::usage(format!(
            "-H {text:?}: a header is 'Name: value' (a colon between them)"
        ))
    })?;
    let (name, value) = (name.trim(), value.trim());
    if HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Err(Failure::usage(format!(
            "-H {text:?}: {name:?} is not a valid header name (letters, digits and - only)"
        )));
    }
    if HeaderValue::from_str(value).is_err() {
        return Err(Failure::usage(format!(
            "-H {text:?}: the value may not contain line breaks or other control characters"
        )));
    }
    Ok((name.to_owned(), value.to_owned()))
}

/// Seconds from a flag, checked.
pub fn secs(value: f64, flag: &str) -> Result<Duration, Failure> {
    if !(value.is_finite() && value > 0.0) {
        return Err(Failure::usage(format!(
            "{flag} must be a number of seconds above 0, not {value}"
        )));
    }
    Duration::try_from_secs_f64(value)
        .map_err(|_| Failure::usage(format!("{flag} {value} is too long")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_need_a_colon_and_valid_parts() {
        assert_eq!(
            parse_header("X-Token:  abc ").unwrap(),
            ("X-Token".to_owned(), "abc".to_owned())
        );
        assert!(
            parse_header("no colon")
                .unwrap_err()
                .message
                .contains("colon")
        );
        assert!(parse_header("bad name: x").is_err());
        assert!(parse_header("A: b\u{7}").is_err());
    }

    #[test]
    fn proxy_flag_takes_http_and_socks5_urls() {
        use clap::Parser as _;

        let build_with = |proxy: &str| {
            let cli = crate::args::Cli::try_parse_from([
                "wsi",
                "connect",
                "ws://127.0.0.1:9/",
                "--proxy",
                proxy,
            ])
            .unwrap();
            let crate::args::Command::Connect(args) = cli.command else {
                panic!("expected connect");
            };
            build(&args.handshake, args.url.as_deref())
        };
        for proxy in [
            "http://u:p@127.0.0.1:3128",
            "socks5://127.0.0.1:1080",
            "socks5h://u:p@proxy.local",
        ] {
            assert_eq!(
                build_with(proxy).unwrap().proxy,
                Proxy::Url(proxy.to_owned())
            );
        }
        let err = build_with("socks4://127.0.0.1:1080").unwrap_err();
        assert!(err.message.starts_with("--proxy: "), "{}", err.message);
        assert!(err.message.contains("SOCKS4"), "{}", err.message);
    }

    #[test]
    fn seconds_must_be_positive() {
        assert_eq!(secs(1.5, "--timeout").unwrap(), Duration::from_millis(1500));
        assert!(secs(0.0, "--timeout").is_err());
        assert!(secs(f64::NAN, "--timeout").is_err());
    }
}
