//! [`Profile`]: one connection profile, as the user edits it (strings as typed, so that a
//! half-typed value can be kept), with serde for its RON file.

use serde::{Deserialize, Serialize};

use super::saved::SavedMessage;
use super::server::ServerProfile;
use super::variables::VariableRow;
use crate::workflow::pings::KeepaliveSettings;
use crate::workflow::reconnect::ReconnectSettings;

/// One connection profile. Every field has a default, so a file may list only some of them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Profile {
    /// The name shown in the sidebar; unique in a [`ProfileStore`](super::ProfileStore) (ignoring case). Empty in
    /// a file: the file's name is used.
    pub name: String,
    /// The `ws://` or `wss://` URL.
    pub url: String,
    /// Start the built-in echo server and connect to it (the URL's address is replaced by the
    /// server's).
    pub local_echo: bool,
    /// Extra request headers; only the enabled rows with a name are sent.
    pub headers: Vec<HeaderRow>,
    /// The `Origin` header; empty for none.
    pub origin: String,
    /// Subprotocols to offer, comma-separated, most preferred first.
    pub subprotocols: String,
    /// A PEM file of extra CA certificates to trust; empty for none.
    pub ca_file: String,
    /// A PEM file with the client certificate chain; empty for none.
    pub client_cert_file: String,
    /// A PEM file with the client certificate's private key; empty: the key is in
    /// `client_cert_file`.
    pub client_key_file: String,
    /// Accept any server certificate (testing only).
    pub accept_invalid_certs: bool,
    /// A proxy URL — `http://[user:pass@]host:port` (HTTP CONNECT),
    /// `socks5://[user:pass@]host:port` (SOCKS5, names resolved here) or
    /// `socks5h://[user:pass@]host:port` (SOCKS5, names resolved by the proxy) — `env` for the
    /// proxy environment variables, or empty for none.
    pub proxy: String,
    /// Seconds allowed for TCP (and the exchange with the proxy).
    pub connect_timeout_secs: f32,
    /// Seconds allowed for the TLS handshake.
    pub tls_timeout_secs: f32,
    /// Seconds allowed for the opening handshake.
    pub handshake_timeout_secs: f32,
    /// Seconds allowed for the close handshake.
    pub close_timeout_secs: f32,
    /// Answer pings automatically.
    pub auto_pong: bool,
    /// The largest message (and frame) accepted, in bytes.
    pub max_message_size: usize,
    /// The profile's variables, expanded as `{{name}}` in the URL, header values and
    /// messages ([`VariableRow`]; missing in older files: none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub variables: Vec<VariableRow>,
    /// The profile's saved messages, in the user's order; those marked
    /// [`on_connect`](SavedMessage::on_connect) are the send-on-connect list (missing in
    /// older files: none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub saved_messages: Vec<SavedMessage>,
    /// Offer permessage-deflate (RFC 7692) in the upgrade request, as browsers do.
    ///
    /// Off by default, and for profiles saved before the option existed (a missing field
    /// takes the default): the frame log shows payloads as they are on the wire, and a
    /// compressed payload is not readable there, so compression is something to ask for
    /// when it is what you are inspecting.
    pub offer_compression: bool,
    /// Auto-reconnect (off unless set).
    pub reconnect: ReconnectSettings,
    /// Keep-alive pings (off unless set).
    pub keepalive: KeepaliveSettings,
    /// Set for a saved listener or relay: the profile opens that tab (a relay's upstream
    /// leg uses the rest of the profile).
    pub server: Option<ServerProfile>,
    /// How payloads are decoded, per direction (missing in older files: none, which means
    /// detected from the handshake, as [`detect`](crate::decode::detect) says).
    #[serde(skip_serializing_if = "is_default_decoders")]
    pub decoders: crate::decode::DirectionalDecoders,
    /// With Socket.IO or GraphQL over WebSocket chosen or detected, speak it: join the
    /// namespace or send `connection_init` on open, answer the application's pings (on
    /// unless turned off).
    pub speak_protocol: bool,
    /// Socket.IO: the namespaces to join, comma-separated (empty: `/`).
    pub socketio_namespaces: String,
    /// JSON: Socket.IO's auth object for each namespace joined, GraphQL's
    /// `connection_init` payload (empty: none).
    pub protocol_init_payload: String,
}

fn is_default_decoders(decoders: &crate::decode::DirectionalDecoders) -> bool {
    *decoders == crate::decode::DirectionalDecoders::default()
}

impl Default for Profile {
    /// No name, `ws://127.0.0.1:9002/`, 10 s timeouts, auto-pong on, 16 MiB messages, no
    /// compression offered.
    fn default() -> Self {
        Self {
            name: String::new(),
            url: "ws://127.0.0.1:9002/".to_owned(),
            local_echo: false,
            headers: Vec::new(),
            origin: String::new(),
            subprotocols: String::new(),
            ca_file: String::new(),
            client_cert_file: String::new(),
            client_key_file: String::new(),
            accept_invalid_certs: false,
            proxy: String::new(),
            connect_timeout_secs: 10.0,
            tls_timeout_secs: 10.0,
            handshake_timeout_secs: 10.0,
            close_timeout_secs: 10.0,
            auto_pong: true,
            max_message_size: 16 << 20,
            variables: Vec::new(),
            saved_messages: Vec::new(),
            offer_compression: false,
            reconnect: ReconnectSettings::default(),
            keepalive: KeepaliveSettings::default(),
            server: None,
            decoders: crate::decode::DirectionalDecoders::default(),
            speak_protocol: true,
            socketio_namespaces: String::new(),
            protocol_init_payload: String::new(),
        }
    }
}

impl Profile {
    /// How the protocol client starts when the inspector speaks Socket.IO or GraphQL: the
    /// namespaces and the init payload, checked (a payload that is not JSON is an error).
    pub fn protocol_client_options(&self) -> Result<crate::decode::ClientOptions, String> {
        let payload = match self.protocol_init_payload.trim() {
            "" => None,
            text => Some(
                crate::decode::json::decode(text)
                    .map_err(|e| format!("the protocol's init payload is not JSON: {e}"))?,
            ),
        };
        let namespaces = self
            .socketio_namespaces
            .split(',')
            .map(str::trim)
            .filter(|ns| !ns.is_empty())
            .map(|ns| (ns.to_owned(), payload.clone()))
            .collect();
        Ok(crate::decode::ClientOptions {
            namespaces,
            init_payload: payload,
        })
    }

    /// The built-in profile that connects to the in-process echo server.
    pub fn local_echo() -> Self {
        Self {
            name: "Local echo".to_owned(),
            local_echo: true,
            ..Self::default()
        }
    }
}

/// One extra request header, with an on/off toggle.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HeaderRow {
    /// Whether the header is sent.
    pub enabled: bool,
    /// The header name.
    pub name: String,
    /// The header value.
    pub value: String,
}

impl Default for HeaderRow {
    /// An enabled row with no name (not sent until it has one).
    fn default() -> Self {
        Self {
            enabled: true,
            name: String::new(),
            value: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_protocol_client_starts_with_the_profiles_namespaces_and_payload() {
        let profile = Profile {
            socketio_namespaces: "/chat, /admin".into(),
            protocol_init_payload: r#"{"token":"t"}"#.into(),
            ..Profile::default()
        };
        let options = profile.protocol_client_options().expect("valid");
        let names: Vec<&str> = options.namespaces.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["/chat", "/admin"]);
        assert!(options.namespaces.iter().all(|(_, auth)| auth.is_some()));
        assert!(options.init_payload.is_some());
        let empty = Profile::default().protocol_client_options().expect("valid");
        assert!(empty.namespaces.is_empty() && empty.init_payload.is_none());
        let bad = Profile {
            protocol_init_payload: "{not json".into(),
            ..Profile::default()
        };
        assert!(bad.protocol_client_options().is_err());
    }
    use crate::profiles::store::{EXAMPLES, describe_ron_error, file_stem, to_ron};
    use crate::profiles::testing::sample;

    // --- profile ------------------------------------------------------------------------------

    #[test]
    fn defaults() {
        let profile = Profile::default();
        assert_eq!(profile.url, "ws://127.0.0.1:9002/");
        assert_eq!(profile.connect_timeout_secs, 10.0);
        assert_eq!(profile.close_timeout_secs, 10.0);
        assert!(profile.auto_pong);
        assert_eq!(profile.max_message_size, 16 * 1024 * 1024);
        assert!(!profile.offer_compression);
        // A profile saved before the option existed loads with it off.
        let old: Profile = ron::from_str("(name: \"Old\", auto_pong: false)").unwrap();
        assert!(!old.offer_compression && !old.auto_pong);
        let offered = Profile {
            offer_compression: true,
            ..Profile::default()
        };
        let options = offered.to_connect_options(None).unwrap();
        assert_eq!(
            options.config.deflate,
            Some(ws_tokio::ws_proto::DeflateConfig::default())
        );
        assert_eq!(
            Profile::default()
                .to_connect_options(None)
                .unwrap()
                .config
                .deflate,
            None
        );
        let echo = Profile::local_echo();
        assert_eq!((echo.name.as_str(), echo.local_echo), ("Local echo", true));
        // Every field may be missing from a file.
        assert_eq!(ron::from_str::<Profile>("()").unwrap(), Profile::default());
        let row: HeaderRow = ron::from_str("(name: \"A\")").unwrap();
        assert!(row.enabled);
    }

    #[test]
    fn ron_round_trip() {
        let profile = sample();
        let text = to_ron(&profile).unwrap();
        assert!(text.starts_with("// A ws-inspector connection profile"));
        assert!(text.contains("Profile("), "{text}");
        assert_eq!(ron::from_str::<Profile>(&text).unwrap(), profile);
        // Unknown fields (from a newer version) are ignored.
        let newer: Profile = ron::from_str("(name: \"x\", colour: 3)").unwrap();
        assert_eq!(newer.name, "x");
        // A wrong type is an error with its position.
        let err = ron::from_str::<Profile>("(\n  name: 3)").unwrap_err();
        assert!(
            describe_ron_error(&err).starts_with("line 2, column "),
            "{err}"
        );
    }

    #[test]
    fn shipped_examples_parse() {
        for (file, text) in EXAMPLES {
            let profile: Profile = ron::from_str(text).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(format!("{}.ron", file_stem(&profile.name)), file);
            assert!(profile.to_connect_options(None).is_ok(), "{file}");
        }
        let local: Profile = ron::from_str(EXAMPLES[0].1).unwrap();
        assert_eq!(local, Profile::local_echo());
        let secure: Profile = ron::from_str(EXAMPLES[1].1).unwrap();
        assert!(secure.url.starts_with("wss://") && secure.name.contains("example"));
        assert_eq!(secure.headers.len(), 2);
        assert!(!secure.subprotocols.is_empty());
        let proxy: Profile = ron::from_str(EXAMPLES[2].1).unwrap();
        assert!(proxy.proxy.starts_with("http://") && proxy.name.contains("example"));
    }
}
