//! [`Profile::to_connect_options`]: a profile checked and turned into
//! [`ws_tokio::ConnectOptions`], with errors in plain words that say which field is wrong;
//! [`Profile::to_connect_options_expanded`] first expands the `{{…}}` placeholders of the
//! URL, the header values and the Origin with a connection's [`Variables`].

use std::time::Duration;

use ws_proto::http::{HeaderName, HeaderValue};
use ws_tokio::proxy::ProxyTarget;
use ws_tokio::{ConnectOptions, Proxy, TlsOptions};

use super::profile::Profile;
use crate::url::check_url;
use crate::vars::Variables;

impl Profile {
    /// [`to_connect_options`](Self::to_connect_options) after expanding `{{…}}` in the URL
    /// (`url_override` if given, else [`url`](Self::url)), in the values of the enabled
    /// headers and in the Origin, with `vars` (the connection's: its `{{counter}}` advances
    /// if one of them uses it). An unknown variable or a bad argument is an error that
    /// names the field and the placeholder; then nothing is connected to and `vars` is as it
    /// was.
    ///
    /// Only these fields are expanded, once: the options
    /// [`to_connect_options`](Self::to_connect_options) builds from a profile whose fields
    /// hold no `{{` are the same either way.
    pub fn to_connect_options_expanded(
        &self,
        url_override: Option<&str>,
        vars: &mut Variables,
    ) -> Result<ConnectOptions, String> {
        let mut trial = vars.clone();
        let mut expand = |template: &str, what: &str| {
            trial
                .expand(template)
                .map(|expanded| expanded.text)
                .map_err(|e| format!("{what}: {e}"))
        };
        let url = expand(url_override.unwrap_or(&self.url), "the URL")?;
        let mut expanded = self.clone();
        for row in expanded.headers.iter_mut() {
            if row.enabled && !row.name.trim().is_empty() {
                row.value = expand(&row.value, &format!("the header {}", row.name.trim()))?;
            }
        }
        expanded.origin = expand(&self.origin, "the Origin")?;
        let options = expanded.to_connect_options(Some(&url))?;
        *vars = trial;
        Ok(options)
    }

    /// Checks the profile and builds the options to connect with, to `url_override` if
    /// given (the local echo server's address, or a `--connect` URL) or else to
    /// [`url`](Self::url). Every error is a sentence that says which field is wrong.
    pub fn to_connect_options(&self, url_override: Option<&str>) -> Result<ConnectOptions, String> {
        let url = check_url(url_override.unwrap_or(&self.url))?;
        let mut options = ConnectOptions::new(url);

        for row in &self.headers {
            let name = row.name.trim();
            if !row.enabled || name.is_empty() {
                continue;
            }
            if HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(format!(
                    "the header name {name:?} is not valid: use letters, digits and - only"
                ));
            }
            let value = row.value.trim();
            if HeaderValue::from_str(value).is_err() {
                return Err(format!(
                    "the value of the header {name} is not valid: it may not contain line \
                     breaks or other control characters"
                ));
            }
            options
                .request
                .headers
                .push((name.to_owned(), value.to_owned()));
        }
        let origin = self.origin.trim();
        if !origin.is_empty() {
            options.request.origin = Some(origin.to_owned());
        }
        options.request.protocols = self
            .subprotocols
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();

        let ca_file = self.ca_file.trim();
        if !ca_file.is_empty() {
            options.tls.add_ca_file(ca_file).map_err(plain)?;
        }
        let (cert, key) = (self.client_cert_file.trim(), self.client_key_file.trim());
        match (cert.is_empty(), key.is_empty()) {
            (true, true) => {}
            (true, false) => {
                return Err(
                    "a client key file is set but no client certificate file: set both, or \
                     clear the key file"
                        .to_owned(),
                );
            }
            // The key may be in the certificate's file.
            (false, _) => {
                let key = if key.is_empty() { cert } else { key };
                options.tls.client_certificate =
                    Some(TlsOptions::client_certificate_files(cert, key).map_err(plain)?);
            }
        }
        options.tls.accept_invalid_certificates = self.accept_invalid_certs;

        let proxy = self.proxy.trim();
        options.proxy = if proxy.is_empty() || proxy.eq_ignore_ascii_case("none") {
            Proxy::None
        } else if proxy.eq_ignore_ascii_case("env") {
            Proxy::FromEnv
        } else {
            ProxyTarget::from_url(proxy).map_err(plain)?;
            Proxy::Url(proxy.to_owned())
        };

        options.timeouts.connect = seconds(self.connect_timeout_secs, "connect")?;
        options.timeouts.tls = seconds(self.tls_timeout_secs, "TLS")?;
        options.timeouts.handshake = seconds(self.handshake_timeout_secs, "handshake")?;
        options.timeouts.close = seconds(self.close_timeout_secs, "close")?;

        if self.max_message_size == 0 {
            return Err("the maximum message size must be at least 1 byte".to_owned());
        }
        options.config.auto_pong = self.auto_pong;
        // The browser-like offer: permessage-deflate with client_max_window_bits.
        options.config.deflate = self
            .offer_compression
            .then(ws_tokio::ws_proto::DeflateConfig::default);
        options.config.max_message_size = self.max_message_size;
        // A single-frame message is a frame: the user's limit is for both.
        options.config.max_frame_size = self.max_message_size;

        // Everything else the request needs (host, port, header combinations) is checked by
        // building it once.
        options.build_request().map_err(plain)?;
        Ok(options)
    }
}

/// A timeout from the seconds the user typed.
fn seconds(value: f32, what: &str) -> Result<Duration, String> {
    if !(value.is_finite() && value > 0.0) {
        return Err(format!(
            "the {what} timeout must be a number of seconds above 0, not {value}"
        ));
    }
    Duration::try_from_secs_f32(value)
        .map_err(|_| format!("the {what} timeout of {value} seconds is too long"))
}

/// A ws-tokio configuration error without its "invalid options: " prefix.
fn plain(error: ws_tokio::Error) -> String {
    let text = error.to_string();
    match text.strip_prefix("invalid options: ") {
        Some(rest) => rest.to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::profiles::HeaderRow;
    use crate::profiles::testing::{TempDir, sample};

    // --- connect options ----------------------------------------------------------------------

    #[test]
    fn connect_options_from_a_profile() {
        let options = sample().to_connect_options(None).unwrap();
        assert_eq!(options.url, "wss://example.com/chat?room=1");
        assert_eq!(
            options.request.headers,
            [("Authorization".to_owned(), "Bearer abc".to_owned())]
        );
        assert_eq!(
            options.request.origin.as_deref(),
            Some("https://example.com")
        );
        assert_eq!(options.request.protocols, ["chat", "superchat"]);
        assert_eq!(options.proxy, Proxy::FromEnv);
        assert_eq!(options.timeouts.connect, Duration::from_millis(2500));
        assert_eq!(options.timeouts.tls, Duration::from_secs(10));
        assert!(!options.config.auto_pong);
        assert_eq!(options.config.max_message_size, 1234);
        assert_eq!(options.config.max_frame_size, 1234);
        assert!(!options.tls.accept_invalid_certificates);
        assert!(options.tls.client_certificate.is_none());
        assert!(options.tls.extra_ca_pem.is_empty());

        let defaults = Profile::default().to_connect_options(None).unwrap();
        assert!(defaults.request.headers.is_empty());
        assert!(defaults.request.protocols.is_empty());
        assert_eq!(defaults.request.origin, None);
        assert_eq!(defaults.proxy, Proxy::None);
        assert!(defaults.config.auto_pong);
    }

    #[test]
    fn connect_options_headers_on_and_off() {
        let mut profile = sample();
        profile.headers[0].enabled = false;
        profile.headers[1].enabled = true;
        profile.headers.push(HeaderRow::default()); // a blank row is skipped
        profile.headers.push(HeaderRow {
            enabled: true,
            name: " X-Padded ".into(),
            value: " v ".into(),
        });
        let options = profile.to_connect_options(None).unwrap();
        assert_eq!(
            options.request.headers,
            [
                ("X-Off".to_owned(), "1".to_owned()),
                ("X-Padded".to_owned(), "v".to_owned())
            ]
        );
        profile.headers.push(HeaderRow {
            enabled: true,
            name: "Bad Name".into(),
            value: "v".into(),
        });
        let err = profile.to_connect_options(None).unwrap_err();
        assert!(err.contains("\"Bad Name\" is not valid"), "{err}");
        profile.headers.pop();
        profile.headers.push(HeaderRow {
            enabled: true,
            name: "X-Bad".into(),
            value: "a\nb".into(),
        });
        let err = profile.to_connect_options(None).unwrap_err();
        assert!(err.contains("header X-Bad"), "{err}");
    }

    #[test]
    fn connect_options_subprotocols() {
        let profile = Profile {
            subprotocols: " v2.chat ,, v1.chat, ".into(),
            ..Profile::default()
        };
        let options = profile.to_connect_options(None).unwrap();
        assert_eq!(options.request.protocols, ["v2.chat", "v1.chat"]);
    }

    #[test]
    fn connect_options_proxy_forms() {
        let proxy = |text: &str| {
            Profile {
                proxy: text.into(),
                ..Profile::default()
            }
            .to_connect_options(None)
        };
        assert_eq!(proxy("").unwrap().proxy, Proxy::None);
        assert_eq!(proxy("  ").unwrap().proxy, Proxy::None);
        assert_eq!(proxy("none").unwrap().proxy, Proxy::None);
        assert_eq!(proxy("ENV").unwrap().proxy, Proxy::FromEnv);
        assert_eq!(
            proxy("http://user:pw@proxy.local:3128").unwrap().proxy,
            Proxy::Url("http://user:pw@proxy.local:3128".into())
        );
        assert_eq!(
            proxy("proxy.local:8080").unwrap().proxy,
            Proxy::Url("proxy.local:8080".into())
        );
        assert_eq!(
            proxy("socks5://user:pw@proxy.local:1080").unwrap().proxy,
            Proxy::Url("socks5://user:pw@proxy.local:1080".into())
        );
        assert_eq!(
            proxy(" socks5h://proxy.local ").unwrap().proxy,
            Proxy::Url("socks5h://proxy.local".into())
        );
        let err = proxy("socks4://proxy.local:1080").unwrap_err();
        assert!(err.contains("SOCKS4 proxies are not supported"), "{err}");
        assert!(err.contains("socks5://"), "{err}");
        let err = proxy("ftp://proxy.local").unwrap_err();
        assert!(
            err.contains("use http://, socks5:// or socks5h://"),
            "{err}"
        );
        let err = proxy("https://proxy.local").unwrap_err();
        assert!(err.contains("HTTPS proxies are not supported"), "{err}");
        assert!(!err.starts_with("invalid options"), "{err}");
    }

    #[test]
    fn connect_options_urls() {
        let url = |text: &str| {
            Profile {
                url: text.into(),
                ..Profile::default()
            }
            .to_connect_options(None)
        };
        assert_eq!(url(" wss://a.example/x ").unwrap().url, "wss://a.example/x");
        assert_eq!(url("WS://a.example").unwrap().url, "WS://a.example");
        assert_eq!(url("").unwrap_err(), "Enter a ws:// or wss:// URL.");
        let err = url("http://a.example/").unwrap_err();
        assert!(
            err.contains("not http://") && err.ends_with("try ws://a.example/"),
            "{err}"
        );
        let err = url("https://a.example/").unwrap_err();
        assert!(
            err.contains("not https://") && err.ends_with("try wss://a.example/"),
            "{err}"
        );
        let err = url("ftp://a.example/").unwrap_err();
        assert!(err.contains("ftp:// is not a WebSocket scheme"), "{err}");
        let err = url("a.example:9000").unwrap_err();
        assert!(err.contains("must start with ws:// or wss://"), "{err}");
        let err = url("ws://").unwrap_err();
        assert!(err.contains("URL"), "{err}");
        // The override wins over the profile's URL.
        let options = Profile {
            url: "nonsense".into(),
            ..Profile::local_echo()
        }
        .to_connect_options(Some("ws://127.0.0.1:40000/"))
        .unwrap();
        assert_eq!(options.url, "ws://127.0.0.1:40000/");
    }

    #[test]
    fn connect_options_tls_files() {
        let tmp = TempDir::new("tls");
        fs::create_dir_all(&tmp.0).unwrap();
        let missing = tmp.0.join("missing-ca.pem");
        let err = Profile {
            ca_file: missing.display().to_string(),
            ..Profile::default()
        }
        .to_connect_options(None)
        .unwrap_err();
        assert!(
            err.contains("CA file") && err.contains("missing-ca.pem"),
            "{err}"
        );

        let not_pem = tmp.0.join("not.pem");
        fs::write(&not_pem, "hello").unwrap();
        let err = Profile {
            ca_file: not_pem.display().to_string(),
            ..Profile::default()
        }
        .to_connect_options(None)
        .unwrap_err();
        assert!(err.contains("not.pem"), "{err}");

        let err = Profile {
            client_cert_file: missing.display().to_string(),
            ..Profile::default()
        }
        .to_connect_options(None)
        .unwrap_err();
        assert!(
            err.contains("client certificate file") && err.contains("missing-ca.pem"),
            "{err}"
        );

        let err = Profile {
            client_key_file: "key.pem".into(),
            ..Profile::default()
        }
        .to_connect_options(None)
        .unwrap_err();
        assert!(err.contains("no client certificate file"), "{err}");

        let options = Profile {
            accept_invalid_certs: true,
            ..Profile::default()
        }
        .to_connect_options(None)
        .unwrap();
        assert!(options.tls.accept_invalid_certificates);
    }

    #[test]
    fn connect_options_expand_the_url_headers_and_origin() {
        use std::sync::Arc;
        use std::time::UNIX_EPOCH;

        use crate::vars::{FixedSources, Value};

        let sources = FixedSources::new(UNIX_EPOCH + Duration::from_millis(1_700_000_000_000), 1)
            .with_env("ROOM", "7");
        let mut vars = Variables::with_sources(Arc::new(sources));
        vars.set("token", Value::secret("abc")).unwrap();
        vars.set("host", Value::plain("example.com")).unwrap();
        let mut profile = sample();
        profile.url = "wss://{{host}}/chat?room={{env.ROOM}}&n={{counter}}".into();
        profile.headers[0].value = "Bearer {{token}}".into();
        // A disabled row is neither sent nor expanded.
        profile.headers[1].value = "{{nope}}".into();
        profile.origin = "https://{{host}}".into();
        let options = profile
            .to_connect_options_expanded(None, &mut vars)
            .unwrap();
        assert_eq!(options.url, "wss://example.com/chat?room=7&n=1");
        assert_eq!(
            options.request.headers,
            [("Authorization".to_owned(), "Bearer abc".to_owned())]
        );
        assert_eq!(
            options.request.origin.as_deref(),
            Some("https://example.com")
        );
        assert_eq!(vars.counter(), 1);

        // An unknown variable names the field and the placeholder; nothing changes.
        profile.headers[1].enabled = true;
        let err = profile
            .to_connect_options_expanded(None, &mut vars)
            .unwrap_err();
        assert!(
            err.starts_with("the header X-Off: unknown variable {{nope}} at byte 0"),
            "{err}"
        );
        assert_eq!(vars.counter(), 1);
        profile.headers[1].enabled = false;
        profile.url = "ws://{{random_int 1}}/".into();
        let err = profile
            .to_connect_options_expanded(None, &mut vars)
            .unwrap_err();
        assert!(
            err.starts_with("the URL: {{random_int 1}} at byte 5"),
            "{err}"
        );
        // The override is expanded too (it is the local echo server's URL, or typed).
        let options = profile
            .to_connect_options_expanded(Some("ws://127.0.0.1:1/{{counter}}"), &mut vars)
            .unwrap();
        assert_eq!(options.url, "ws://127.0.0.1:1/2");
        // An escape is sent literally (and not expanded a second time).
        let options = Profile {
            headers: vec![HeaderRow {
                enabled: true,
                name: "X-Literal".into(),
                value: "\\{{x}}".into(),
            }],
            ..Profile::default()
        }
        .to_connect_options_expanded(None, &mut vars)
        .unwrap();
        assert_eq!(options.request.headers[0].1, "{{x}}");
    }

    #[test]
    fn connect_options_limits() {
        let with = |f: fn(&mut Profile)| {
            let mut profile = Profile::default();
            f(&mut profile);
            profile.to_connect_options(None)
        };
        let err = with(|p| p.tls_timeout_secs = 0.0).unwrap_err();
        assert!(err.contains("TLS timeout"), "{err}");
        let err = with(|p| p.close_timeout_secs = f32::NAN).unwrap_err();
        assert!(err.contains("close timeout"), "{err}");
        let err = with(|p| p.handshake_timeout_secs = -1.0).unwrap_err();
        assert!(err.contains("handshake timeout"), "{err}");
        let err = with(|p| p.connect_timeout_secs = f32::MAX).unwrap_err();
        assert!(err.contains("too long"), "{err}");
        let err = with(|p| p.max_message_size = 0).unwrap_err();
        assert!(err.contains("at least 1 byte"), "{err}");
    }
}
