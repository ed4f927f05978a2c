//! Saved messages: a name, a [`SavedKind`] and a payload template, kept in a profile
//! ([`Profile::saved_messages`]) or in the workspace-wide [`Library`], and turned into a
//! frame to send ([`SavedMessage::to_outgoing`]) after the `{{…}}` placeholders of its
//! payload are expanded ([`crate::vars`]).
//!
//! Every check happens after expansion and before anything is sent: a JSON message must be
//! JSON once expanded, hex must be hex, a ping payload at most 125 bytes, a close reason at
//! most 123. An error is a sentence that names the message and the problem; the caller then
//! sends nothing, and the connection's `{{counter}}` is not used up.
//!
//! The send-on-connect list is the profile's messages marked
//! [`on_connect`](SavedMessage::on_connect), in list order: [`Profile::on_connect_frames`] turns all of
//! them into frames, or none.

use std::fmt;
use std::path::Path;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use ws_tokio::Outgoing;
use ws_tokio::ws_proto::CloseCode;

use super::profile::Profile;
use crate::hex::parse_hex;
use crate::vars::Variables;

/// The largest payload of a ping (RFC 6455 §5.5).
const MAX_CONTROL_PAYLOAD: usize = 125;
/// The largest close reason: 125 bytes less the two of the code.
const MAX_CLOSE_REASON: usize = 123;

/// What a saved message sends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SavedKind {
    /// A text message: the payload, expanded.
    #[default]
    Text,
    /// A text message that must be JSON once expanded (sent as expanded, not re-formatted).
    Json,
    /// A binary message: the payload is hex (`48 65 6c`, `0x48,0x65`), expanded first.
    Hex,
    /// A binary message: the payload is a file's path (expanded), read when sent.
    File,
    /// A ping: the payload (expanded) is its data, at most 125 bytes.
    Ping,
    /// A close frame with [`SavedMessage::close_code`]; the payload (expanded) is the reason,
    /// at most 123 bytes.
    Close,
}

impl SavedKind {
    /// Every kind, in the order a UI lists them.
    pub const ALL: [Self; 6] = [
        Self::Text,
        Self::Json,
        Self::Hex,
        Self::File,
        Self::Ping,
        Self::Close,
    ];

    /// The kind in a word or two: `Text`, `JSON`, `Binary (hex)`…
    pub fn label(self) -> &'static str {
        match self {
            Self::Text => "Text",
            Self::Json => "JSON",
            Self::Hex => "Binary (hex)",
            Self::File => "Binary (file)",
            Self::Ping => "Ping",
            Self::Close => "Close",
        }
    }

    /// What the payload is, for a field's hint.
    pub fn payload_hint(self) -> &'static str {
        match self {
            Self::Text => "Message text ({{…}} expanded)",
            Self::Json => "JSON ({{…}} expanded, then checked)",
            Self::Hex => "Hex bytes, e.g. 48 65 6c 6c 6f",
            Self::File => "Path of the file to send",
            Self::Ping => "Ping payload (at most 125 bytes)",
            Self::Close => "Close reason (at most 123 bytes)",
        }
    }
}

/// One saved message. Every field has a default, so a file may list only some of them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SavedMessage {
    /// The name shown in lists and searched by the command palette (need not be unique).
    pub name: String,
    /// What it sends.
    pub kind: SavedKind,
    /// The template: the text, JSON, hex, file path, ping payload or close reason, with
    /// `{{…}}` placeholders.
    pub payload: String,
    /// The close code, for [`SavedKind::Close`] (any number: the inspector may send codes
    /// a peer must refuse).
    pub close_code: u16,
    /// Part of the profile's send-on-connect list: sent, in list order, as soon as the
    /// connection is made (ignored in the library).
    pub on_connect: bool,
}

impl Default for SavedMessage {
    fn default() -> Self {
        Self {
            name: String::new(),
            kind: SavedKind::Text,
            payload: String::new(),
            close_code: u16::from(CloseCode::NORMAL),
            on_connect: false,
        }
    }
}

impl fmt::Debug for SavedMessage {
    /// The payload is cut to 64 characters (a message may be large).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let payload: String = self.payload.chars().take(64).collect();
        f.debug_struct("SavedMessage")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("payload", &payload)
            .field("close_code", &self.close_code)
            .field("on_connect", &self.on_connect)
            .finish()
    }
}

impl SavedMessage {
    /// A text message named `name`.
    pub fn text(name: impl Into<String>, payload: impl Into<String>) -> Self {
        Self::new(name, SavedKind::Text, payload)
    }

    /// A message of `kind` named `name` (a close has code 1000).
    pub fn new(name: impl Into<String>, kind: SavedKind, payload: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            kind,
            payload: payload.into(),
            ..Self::default()
        }
    }

    /// The name, or `(unnamed)`.
    pub fn title(&self) -> &str {
        match self.name.trim() {
            "" => "(unnamed)",
            name => name,
        }
    }

    /// The frame to send: the payload expanded with `vars` (which advances `{{counter}}`
    /// when it is used), then checked for its kind. On error nothing changes in `vars`;
    /// the error names the message and what is wrong.
    pub fn to_outgoing(&self, vars: &mut Variables) -> Result<Outgoing, String> {
        // Expand on a copy, and keep its counter only once the frame is built: a message
        // that fails a check after expansion uses up no counter value either.
        let mut trial = vars.clone();
        let out = self.build(&mut trial)?;
        *vars = trial;
        Ok(out)
    }

    /// What [`to_outgoing`](Self::to_outgoing) would send, as text, with secret values
    /// masked and without using up a counter value; the same checks run (a file is looked
    /// at, not read). Binary messages show as hex.
    pub fn preview(&self, vars: &Variables) -> Result<String, String> {
        let mut trial = vars.clone();
        if self.kind == SavedKind::File {
            let path = self.expand(&mut trial)?;
            check_file(Path::new(path.trim())).map_err(|e| self.fault(e))?;
        } else {
            self.build(&mut trial)?;
        }
        vars.preview(&self.payload)
            .map_err(|e| self.fault(e.to_string()))
    }

    fn build(&self, vars: &mut Variables) -> Result<Outgoing, String> {
        let text = self.expand(vars)?;
        match self.kind {
            SavedKind::Text => Ok(Outgoing::Text(text)),
            SavedKind::Json => {
                if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&text) {
                    return Err(self.fault(format!("not valid JSON once expanded ({e})")));
                }
                Ok(Outgoing::Text(text))
            }
            SavedKind::Hex => parse_hex(&text)
                .map(|bytes| Outgoing::Binary(bytes.into()))
                .map_err(|e| self.fault(format!("not hex: {e}"))),
            SavedKind::File => {
                let path = Path::new(text.trim());
                check_file(path).map_err(|e| self.fault(e))?;
                std::fs::read(path)
                    .map(|data| Outgoing::Binary(data.into()))
                    .map_err(|e| self.fault(format!("could not read {}: {e}", path.display())))
            }
            SavedKind::Ping => {
                if text.len() > MAX_CONTROL_PAYLOAD {
                    return Err(self.fault(format!(
                        "a ping carries at most {MAX_CONTROL_PAYLOAD} bytes, this one {}",
                        text.len()
                    )));
                }
                Ok(Outgoing::Ping(Bytes::from(text)))
            }
            SavedKind::Close => {
                if text.len() > MAX_CLOSE_REASON {
                    return Err(self.fault(format!(
                        "a close reason is at most {MAX_CLOSE_REASON} bytes, this one {}",
                        text.len()
                    )));
                }
                Ok(Outgoing::Close(
                    Some(CloseCode::from(self.close_code)),
                    text,
                ))
            }
        }
    }

    fn expand(&self, vars: &mut Variables) -> Result<String, String> {
        vars.expand(&self.payload)
            .map(|expanded| expanded.text)
            .map_err(|e| self.fault(e.to_string()))
    }

    /// `"name": problem`.
    fn fault(&self, problem: String) -> String {
        format!("“{}”: {problem}", self.title())
    }
}

/// Only regular files are read: a device such as `/dev/zero` would never end.
fn check_file(path: &Path) -> Result<(), String> {
    if path.as_os_str().is_empty() {
        return Err("no file named: the payload is the path of the file to send".to_owned());
    }
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => Ok(()),
        Ok(_) => Err(format!("{} is not a regular file", path.display())),
        Err(e) => Err(format!("could not read {}: {e}", path.display())),
    }
}

impl Profile {
    /// The send-on-connect list ([`SavedMessage::on_connect`], in list order) as frames,
    /// expanded with `vars`: all of them, or an error naming the first message that failed
    /// (and then `vars` is left as it was, and nothing should be sent). Call it for each
    /// connection, with that connection's variables ([`Profile::variables`]), and queue
    /// the frames right after the session is made: the session holds them until the
    /// connection is open, then sends them in order, before anything sent later.
    pub fn on_connect_frames(&self, vars: &mut Variables) -> Result<Vec<Outgoing>, String> {
        let mut trial = vars.clone();
        let frames = self
            .saved_messages
            .iter()
            .filter(|m| m.on_connect)
            .map(|m| m.to_outgoing(&mut trial))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("send on connect: {e}"))?;
        *vars = trial;
        Ok(frames)
    }
}

/// The workspace-wide library of saved messages, kept by the
/// [`ProfileStore`](super::ProfileStore) in `library/messages.ron` in the profile folder
/// (a folder of its own, so that the store never takes it for a profile).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Library {
    /// The messages, in the user's order.
    pub messages: Vec<SavedMessage>,
}

/// Moves the item at `from` to `to` (both indices into `list` before the move; `to` may be
/// `list.len()`, the end): what a drop between rows asks for. Out-of-range `from` does
/// nothing.
pub fn move_item<T>(list: &mut Vec<T>, from: usize, to: usize) {
    if from >= list.len() {
        return;
    }
    let item = list.remove(from);
    // Removing `from` shifted everything after it down by one.
    let to = if to > from { to - 1 } else { to };
    list.insert(to.min(list.len()), item);
}

/// The messages whose name or payload contains every word of `query` (ignoring case), best
/// first: names that start with the query, then names that contain it, then the rest; an
/// empty query matches everything in order. Returns indices into `messages`.
pub fn search(messages: &[SavedMessage], query: &str) -> Vec<usize> {
    let query = query.trim().to_lowercase();
    let words: Vec<&str> = query.split_whitespace().collect();
    let mut hits: Vec<(u8, usize)> = messages
        .iter()
        .enumerate()
        .filter_map(|(i, m)| {
            let name = m.name.to_lowercase();
            let payload = m.payload.to_lowercase();
            let all = words
                .iter()
                .all(|w| name.contains(w) || payload.contains(w));
            if !all {
                return None;
            }
            let rank = if query.is_empty() || name.starts_with(&query) {
                0
            } else if name.contains(&query) {
                1
            } else {
                2
            };
            Some((rank, i))
        })
        .collect();
    hits.sort();
    hits.into_iter().map(|(_, i)| i).collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::vars::{FixedSources, Value};

    fn vars() -> Variables {
        let sources = FixedSources::new(UNIX_EPOCH + Duration::from_millis(1_700_000_000_123), 7);
        let mut vars = Variables::with_sources(Arc::new(sources));
        vars.set("user", Value::plain("ada")).unwrap();
        vars.set("token", Value::secret("s3cr3t")).unwrap();
        vars
    }

    #[test]
    fn every_kind_becomes_its_frame() {
        let mut vars = vars();
        let text = SavedMessage::text("hi", "hello {{user}} #{{counter}}");
        assert_eq!(
            text.to_outgoing(&mut vars).unwrap(),
            Outgoing::Text("hello ada #1".into())
        );
        assert_eq!(vars.counter(), 1);
        let json = SavedMessage::new(
            "j",
            SavedKind::Json,
            r#"{"n": {{counter}}, "u": "{{user}}"}"#,
        );
        assert_eq!(
            json.to_outgoing(&mut vars).unwrap(),
            Outgoing::Text(r#"{"n": 2, "u": "ada"}"#.into())
        );
        let hex = SavedMessage::new("h", SavedKind::Hex, "de ad {{counter}}f");
        assert_eq!(
            hex.to_outgoing(&mut vars).unwrap(),
            Outgoing::Binary(Bytes::from_static(&[0xde, 0xad, 0x3f]))
        );
        let ping = SavedMessage::new("p", SavedKind::Ping, "{{timestamp}}");
        assert_eq!(
            ping.to_outgoing(&mut vars).unwrap(),
            Outgoing::Ping(Bytes::from_static(b"1700000000123"))
        );
        let close = SavedMessage {
            close_code: 4001,
            ..SavedMessage::new("c", SavedKind::Close, "bye {{user}}")
        };
        assert_eq!(
            close.to_outgoing(&mut vars).unwrap(),
            Outgoing::Close(Some(CloseCode::from(4001)), "bye ada".into())
        );
        // Every kind has a label and a hint.
        for kind in SavedKind::ALL {
            assert!(!kind.label().is_empty() && !kind.payload_hint().is_empty());
        }
    }

    #[test]
    fn a_file_is_read_when_sent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.bin");
        std::fs::write(&path, [1u8, 2, 3]).unwrap();
        let mut vars = vars();
        vars.set("dir", Value::plain(dir.path().display().to_string()))
            .unwrap();
        let file = SavedMessage::new("f", SavedKind::File, " {{dir}}/data.bin ");
        assert_eq!(
            file.to_outgoing(&mut vars).unwrap(),
            Outgoing::Binary(Bytes::from_static(&[1, 2, 3]))
        );
        assert!(file.preview(&vars).unwrap().ends_with("data.bin "));
        let missing = SavedMessage::new("gone", SavedKind::File, "{{dir}}/missing.bin");
        let err = missing.to_outgoing(&mut vars).unwrap_err();
        assert!(err.starts_with("“gone”: could not read"), "{err}");
        assert!(missing.preview(&vars).is_err());
        let folder = SavedMessage::new("dir", SavedKind::File, "{{dir}}");
        let err = folder.to_outgoing(&mut vars).unwrap_err();
        assert!(err.contains("not a regular file"), "{err}");
        let empty = SavedMessage::new("none", SavedKind::File, "  ");
        assert!(
            empty
                .to_outgoing(&mut vars)
                .unwrap_err()
                .contains("no file")
        );
    }

    #[test]
    fn errors_name_the_message_and_the_problem_and_use_up_nothing() {
        let mut vars = vars();
        let unknown = SavedMessage::text("greeting", "hi {{usr}} {{counter}}");
        let err = unknown.to_outgoing(&mut vars).unwrap_err();
        assert!(
            err.starts_with("“greeting”: unknown variable {{usr}}"),
            "{err}"
        );
        assert!(err.contains("did you mean {{user}}"), "{err}");
        // JSON is checked after expansion; the counter is not used up by a failure.
        let json = SavedMessage::new("j", SavedKind::Json, r#"{"n": {{counter}}, "u": {{user}}}"#);
        let err = json.to_outgoing(&mut vars).unwrap_err();
        assert!(
            err.starts_with("“j”: not valid JSON once expanded"),
            "{err}"
        );
        assert_eq!(vars.counter(), 0);
        let hex = SavedMessage::new("", SavedKind::Hex, "zz");
        let err = hex.to_outgoing(&mut vars).unwrap_err();
        assert!(err.starts_with("“(unnamed)”: not hex"), "{err}");
        let ping = SavedMessage::new("p", SavedKind::Ping, "x".repeat(126));
        assert!(
            ping.to_outgoing(&mut vars)
                .unwrap_err()
                .contains("125 bytes")
        );
        let close = SavedMessage::new("c", SavedKind::Close, "x".repeat(124));
        assert!(
            close
                .to_outgoing(&mut vars)
                .unwrap_err()
                .contains("123 bytes")
        );
        let arg = SavedMessage::text("r", "{{random_int 1 x}}");
        let err = arg.to_outgoing(&mut vars).unwrap_err();
        assert!(err.contains("\"x\" is not a whole number"), "{err}");
        assert_eq!(vars.counter(), 0);
    }

    #[test]
    fn a_preview_masks_secrets_and_uses_up_no_counter() {
        let vars = vars();
        let message = SavedMessage::text("auth", "{\"token\": \"{{token}}\", \"n\": {{counter}}}");
        assert_eq!(
            message.preview(&vars).unwrap(),
            "{\"token\": \"••••\", \"n\": 1}"
        );
        assert_eq!(vars.counter(), 0);
        // A JSON message whose secret is a bare value: checked with the real value, shown
        // masked.
        let mut vars = vars;
        vars.set("pin", Value::secret("1234")).unwrap();
        let json = SavedMessage::new("pin", SavedKind::Json, "{\"pin\": {{pin}}}");
        assert_eq!(json.preview(&vars).unwrap(), "{\"pin\": ••••}");
        assert!(
            SavedMessage::new("bad", SavedKind::Json, "{")
                .preview(&vars)
                .is_err()
        );
    }

    #[test]
    fn send_on_connect_is_all_or_nothing_in_list_order() {
        let mut profile = Profile {
            saved_messages: vec![
                SavedMessage {
                    on_connect: true,
                    ..SavedMessage::text("hello", "hello {{counter}}")
                },
                SavedMessage::text("not on connect", "x"),
                SavedMessage {
                    on_connect: true,
                    ..SavedMessage::new("sub", SavedKind::Json, r#"{"sub": {{counter}}}"#)
                },
            ],
            ..Profile::default()
        };
        let mut vars = vars();
        assert_eq!(
            profile.on_connect_frames(&mut vars).unwrap(),
            [
                Outgoing::Text("hello 1".into()),
                Outgoing::Text(r#"{"sub": 2}"#.into())
            ]
        );
        assert_eq!(vars.counter(), 2);
        // A reconnect: a new connection's counter.
        vars.reset_counter();
        profile.saved_messages[2].payload = "{{nope}}".into();
        let err = profile.on_connect_frames(&mut vars).unwrap_err();
        assert!(
            err.starts_with("send on connect: “sub”: unknown variable {{nope}}"),
            "{err}"
        );
        assert_eq!(
            vars.counter(),
            0,
            "the first message's value is not used up"
        );
        assert!(
            Profile::default()
                .on_connect_frames(&mut vars)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn ron_round_trip_and_defaults() {
        let message = SavedMessage {
            close_code: 4000,
            on_connect: true,
            ..SavedMessage::new("Bye", SavedKind::Close, "done")
        };
        let text = ron::to_string(&message).unwrap();
        assert_eq!(ron::from_str::<SavedMessage>(&text).unwrap(), message);
        let sparse: SavedMessage = ron::from_str("(name: \"x\")").unwrap();
        assert_eq!(sparse, SavedMessage::text("x", ""));
        assert_eq!(sparse.close_code, 1000);
        let library = Library {
            messages: vec![message, SavedMessage::new("j", SavedKind::Json, "{}")],
        };
        let text = ron::to_string(&library).unwrap();
        assert_eq!(ron::from_str::<Library>(&text).unwrap(), library);
        assert!(ron::from_str::<SavedMessage>("(kind: Telepathy)").is_err());
        // A profile saved before saved messages and variables existed loads without them.
        let old: Profile = ron::from_str("(name: \"Old\", url: \"ws://old.example/\")").unwrap();
        assert!(old.saved_messages.is_empty() && old.variables.is_empty());
        assert_eq!(old.url, "ws://old.example/");
        // Debug cuts a long payload.
        let long = SavedMessage::text("l", "y".repeat(1000));
        assert!(format!("{long:?}").len() < 200);
    }

    #[test]
    fn moving_items() {
        let mut list = vec!['a', 'b', 'c', 'd'];
        move_item(&mut list, 0, 2); // before c
        assert_eq!(list, ['b', 'a', 'c', 'd']);
        move_item(&mut list, 3, 0);
        assert_eq!(list, ['d', 'b', 'a', 'c']);
        move_item(&mut list, 1, 4); // to the end
        assert_eq!(list, ['d', 'a', 'c', 'b']);
        move_item(&mut list, 2, 2); // onto itself
        assert_eq!(list, ['d', 'a', 'c', 'b']);
        move_item(&mut list, 2, 3); // just after itself: no change
        assert_eq!(list, ['d', 'a', 'c', 'b']);
        move_item(&mut list, 9, 0);
        assert_eq!(list, ['d', 'a', 'c', 'b']);
    }

    #[test]
    fn search_by_name_and_payload() {
        let messages = [
            SavedMessage::text("Subscribe ticker", r#"{"op":"sub","ch":"ticker"}"#),
            SavedMessage::text("Ping app", "ping"),
            SavedMessage::text("Unsubscribe", r#"{"op":"unsub"}"#),
            SavedMessage::text("Auth", r#"{"token":"{{token}}"}"#),
        ];
        assert_eq!(search(&messages, ""), [0, 1, 2, 3]);
        assert_eq!(search(&messages, "sub"), [0, 2]);
        assert_eq!(search(&messages, "SUBSCRIBE"), [0, 2]);
        assert_eq!(search(&messages, "unsub"), [2]);
        assert_eq!(search(&messages, "token"), [3]);
        assert_eq!(search(&messages, "op ticker"), [0]);
        assert!(search(&messages, "nothing like it").is_empty());
        // A name that contains the query ranks above a payload that does.
        let more = [
            SavedMessage::text("x", "auth in payload"),
            SavedMessage::text("my auth", ""),
            SavedMessage::text("Auth first", ""),
        ];
        assert_eq!(search(&more, "auth"), [2, 1, 0]);
    }
}
