//! [`ServerProfile`]: a listener or a relay saved in a profile, so that it opens again as it
//! was (the sidebar lists it beside the connections). A relay's upstream leg uses the rest of
//! its profile — URL, headers, Origin, subprotocols, TLS, proxy — as a connection would.

use serde::{Deserialize, Serialize};

use crate::listener::{ListenerTls, ServerChoices, bind::DEFAULT_ADDR};

/// Which kind of tab a server profile opens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServerKind {
    /// A listen tab.
    #[default]
    Listen,
    /// A relay tab, to the profile's URL.
    Relay,
}

/// A listener or a relay, as saved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerProfile {
    /// Listen or relay.
    pub kind: ServerKind,
    /// The address to listen on (loopback, any port, unless set).
    pub addr: String,
    /// ws:// or wss:// for the clients.
    pub tls: ListenerTls,
    /// A listener's answers (subprotocols, compression, refusal, echo, on-connect, token).
    pub choices: ServerChoices,
    /// A relay's token (`?token=` or `Authorization: Bearer`); empty: none.
    pub token: String,
    /// A relay's legs answer pings themselves.
    pub answer_pings: bool,
    /// A relay forwards whole messages instead of frame for frame.
    pub whole_messages: bool,
}

impl Default for ServerProfile {
    fn default() -> Self {
        Self {
            kind: ServerKind::Listen,
            addr: DEFAULT_ADDR.to_owned(),
            tls: ListenerTls::None,
            choices: ServerChoices::default(),
            token: String::new(),
            answer_pings: false,
            whole_messages: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profiles::Profile;

    #[test]
    fn a_relay_profile_round_trips_and_old_profiles_have_none() {
        let profile = Profile {
            name: "Front of chat".into(),
            url: "wss://chat.example/ws".into(),
            server: Some(ServerProfile {
                kind: ServerKind::Relay,
                addr: "127.0.0.1:9100".into(),
                token: "t".into(),
                ..ServerProfile::default()
            }),
            ..Profile::default()
        };
        let text = ron::ser::to_string_pretty(&profile, ron::ser::PrettyConfig::default())
            .expect("serializes");
        let back: Profile = ron::from_str(&text).expect("parses");
        assert_eq!(back, profile);
        let old: Profile = ron::from_str("(name: \"old\", url: \"ws://x/\")").expect("parses");
        assert_eq!(old.server, None);
        let listen: Profile =
            ron::from_str("(name: \"l\", server: Some((kind: Listen)))").expect("parses");
        assert_eq!(listen.server.map(|s| s.addr), Some(DEFAULT_ADDR.to_owned()));
    }
}
