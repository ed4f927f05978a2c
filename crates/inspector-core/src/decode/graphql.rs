//! GraphQL over WebSocket, in its two protocols, told apart by the subprotocol agreed:
//!
//! - `graphql-transport-ws` (the npm `graphql-ws` package's protocol): `connection_init` /
//!   `connection_ack`, `ping` / `pong` (either side; the heartbeat), `subscribe` (with an id
//!   and the query), `next`, `error` and `complete` with the same id;
//! - `graphql-ws` (the older `subscriptions-transport-ws`): `connection_init` /
//!   `connection_ack` / `connection_error`, `ka` (the server's keep-alive: the heartbeat),
//!   `start`, `data`, `error`, `complete`, `stop` with an id, `connection_terminate`.
//!
//! Each message is a JSON object with a `type`; its [`Packet`] has that type and the `id`,
//! and its value is the `payload` with the query (of a subscribe or start) pretty-printed.
//! [`GraphqlClient`] is the client's side: `connection_init` on open, `pong` to a `ping`, and
//! whether the server has acknowledged (subscriptions wait for that).

use ws_tokio::Outgoing;

use super::error::{DecodeError, EncodeError};
use super::node::Node;
use super::{Decoded, Packet, Payload, Protocol, json};

/// Which of the two protocols.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Flavour {
    /// `graphql-transport-ws`.
    #[default]
    TransportWs,
    /// `graphql-ws`: subscriptions-transport-ws.
    SubscriptionsTransportWs,
}

impl Flavour {
    /// The flavour of the subprotocol agreed: `graphql-ws` is the old one, anything else
    /// (`graphql-transport-ws`, or none agreed) the current one.
    pub fn from_protocol(protocol: Option<&str>) -> Self {
        match protocol {
            Some("graphql-ws") => Self::SubscriptionsTransportWs,
            _ => Self::TransportWs,
        }
    }

    /// The subprotocol's name.
    pub fn subprotocol(self) -> &'static str {
        match self {
            Self::TransportWs => "graphql-transport-ws",
            Self::SubscriptionsTransportWs => "graphql-ws",
        }
    }

    fn protocol(self) -> Protocol {
        match self {
            Self::TransportWs => Protocol::GraphqlTransportWs,
            Self::SubscriptionsTransportWs => Protocol::SubscriptionsTransportWs,
        }
    }

    /// The message types, and whether each carries an id.
    fn types(self) -> &'static [(&'static str, bool)] {
        match self {
            Self::TransportWs => &[
                ("connection_init", false),
                ("connection_ack", false),
                ("ping", false),
                ("pong", false),
                ("subscribe", true),
                ("next", true),
                ("error", true),
                ("complete", true),
            ],
            Self::SubscriptionsTransportWs => &[
                ("connection_init", false),
                ("connection_ack", false),
                ("connection_error", false),
                ("ka", false),
                ("start", true),
                ("data", true),
                ("error", true),
                ("complete", true),
                ("stop", true),
                ("connection_terminate", false),
            ],
        }
    }

    /// The start of an operation: `subscribe` or `start`.
    fn start_type(self) -> &'static str {
        match self {
            Self::TransportWs => "subscribe",
            Self::SubscriptionsTransportWs => "start",
        }
    }
}

/// Decodes one message of `flavour`.
pub fn decode(flavour: Flavour, payload: Payload<'_>) -> Result<Decoded, DecodeError> {
    let text = match payload {
        Payload::Text(text) => text,
        Payload::Binary(data) => std::str::from_utf8(data).map_err(|e| {
            DecodeError::new(
                e.valid_up_to(),
                "GraphQL over WebSocket messages are JSON text; this binary message is not UTF-8",
            )
        })?,
    };
    let node = json::decode(text)?;
    let Node::Map(entries) = node else {
        return Err(DecodeError::new(
            text.len() - text.trim_start().len(),
            "a GraphQL over WebSocket message is a JSON object with a \"type\"",
        ));
    };
    let mut ty = None;
    let mut id = None;
    let mut payload = None;
    for (k, v) in entries {
        match (k.as_str(), v) {
            (Some("type"), Node::String(t)) => ty = Some(t),
            (Some("id"), Node::String(i)) => id = Some(i),
            (Some("id"), Node::Int(i)) => id = Some(i.to_string()),
            (Some("payload"), p) => payload = Some(p),
            _ => {}
        }
    }
    let Some(ty) = ty else {
        return Err(DecodeError::new(0, "the message has no \"type\" string"));
    };
    let at_type = text.find(&format!("\"{ty}\"")).unwrap_or(0);
    let Some(&(kind, needs_id)) = flavour.types().iter().find(|(name, _)| *name == ty) else {
        let names: Vec<&str> = flavour.types().iter().map(|(n, _)| *n).collect();
        return Err(DecodeError::new(
            at_type,
            format!(
                "{ty:?} is not a message type of {} ({})",
                flavour.subprotocol(),
                names.join(", ")
            ),
        ));
    };
    if needs_id && id.is_none() {
        return Err(DecodeError::new(
            at_type,
            format!("a {kind} message needs an \"id\""),
        ));
    }
    let mut packet = Packet::new(flavour.protocol(), kind);
    packet.id = id;
    packet.heartbeat = matches!(kind, "ping" | "pong" | "ka");
    let mut value = payload.unwrap_or(Node::Null);
    if kind == flavour.start_type() {
        if let Some(Node::String(name)) = value.get("operationName") {
            packet.name = Some(name.clone());
        }
        if let Node::Map(entries) = &mut value {
            for (k, v) in entries.iter_mut() {
                if k.as_str() == Some("query")
                    && let Node::String(query) = v
                {
                    *query = pretty_query(query);
                }
            }
        }
    }
    Ok(Decoded {
        value,
        packet: Some(packet),
    })
}

// ---------------------------------------------------------------------------------------------
// Encoding.

/// A message `{"type": TY, "id": ID, "payload": …}` as text.
fn message(ty: &str, id: Option<&str>, payload: Option<Node>) -> Outgoing {
    let mut entries = vec![(Node::string("type"), Node::string(ty))];
    if let Some(id) = id {
        entries.push((Node::string("id"), Node::string(id)));
    }
    if let Some(payload) = payload {
        entries.push((Node::string("payload"), payload));
    }
    Outgoing::Text(Node::Map(entries).to_json())
}

/// `connection_init`, with a payload if given.
pub fn connection_init(payload: Option<Node>) -> Outgoing {
    message("connection_init", None, payload)
}

/// The start of an operation (`subscribe`, or `start` in the old protocol) with id `id`:
/// the query, its variables (a JSON object text, or empty) and operation name.
pub fn subscribe(
    flavour: Flavour,
    id: &str,
    query: &str,
    variables: &str,
    operation_name: Option<&str>,
) -> Result<Outgoing, EncodeError> {
    let mut payload = vec![(Node::string("query"), Node::string(query))];
    if !variables.trim().is_empty() {
        let vars = json::decode(variables)
            .map_err(|e| EncodeError::new(format!("the variables are not JSON: {e}")))?;
        if !matches!(vars, Node::Map(_) | Node::Null) {
            return Err(EncodeError::new("the variables must be a JSON object"));
        }
        payload.push((Node::string("variables"), vars));
    }
    if let Some(name) = operation_name {
        payload.push((Node::string("operationName"), Node::string(name)));
    }
    Ok(message(
        flavour.start_type(),
        Some(id),
        Some(Node::Map(payload)),
    ))
}

/// A subscribe from one text: a JSON object `{"query": …, "variables": …,
/// "operationName": …}` (the GraphQL-over-HTTP request body), or the bare query.
pub fn subscribe_from_text(
    flavour: Flavour,
    id: &str,
    text: &str,
) -> Result<Outgoing, EncodeError> {
    let trimmed = text.trim();
    if trimmed.starts_with('{')
        && let Ok(Node::Map(entries)) = json::decode(trimmed)
        && entries.iter().any(|(k, _)| k.as_str() == Some("query"))
    {
        return Ok(message(
            flavour.start_type(),
            Some(id),
            Some(Node::Map(entries)),
        ));
    }
    subscribe(flavour, id, trimmed, "", None)
}

/// Ends operation `id` from the client's side: `complete` (or `stop`).
pub fn complete(flavour: Flavour, id: &str) -> Outgoing {
    match flavour {
        Flavour::TransportWs => message("complete", Some(id), None),
        Flavour::SubscriptionsTransportWs => message("stop", Some(id), None),
    }
}

// ---------------------------------------------------------------------------------------------
// The client's behaviour.

/// The client side of GraphQL over WebSocket.
#[derive(Clone, Debug)]
pub struct GraphqlClient {
    flavour: Flavour,
    init_payload: Option<Node>,
    acked: bool,
    next_id: u64,
}

impl GraphqlClient {
    /// A client of `flavour` whose `connection_init` carries `init_payload`.
    pub fn new(flavour: Flavour, init_payload: Option<Node>) -> Self {
        Self {
            flavour,
            init_payload,
            acked: false,
            next_id: 1,
        }
    }

    /// The flavour.
    pub fn flavour(&self) -> Flavour {
        self.flavour
    }

    /// What to send once open: `connection_init`.
    pub fn on_open(&mut self) -> Vec<Outgoing> {
        vec![connection_init(self.init_payload.clone())]
    }

    /// Whether the server acknowledged the connection (operations may start).
    pub fn is_ready(&self) -> bool {
        self.acked
    }

    /// The next operation id: "1", "2", …
    pub fn next_id(&mut self) -> String {
        let id = self.next_id.to_string();
        self.next_id += 1;
        id
    }

    /// Reacts to a message received.
    pub fn on_received(&mut self, decoded: &Decoded) -> super::socketio::Reaction {
        let mut reaction = super::socketio::Reaction::default();
        let Some(packet) = &decoded.packet else {
            return reaction;
        };
        match packet.kind {
            "connection_ack" if !self.acked => {
                self.acked = true;
                reaction.ready = true;
            }
            "ping" if self.flavour == Flavour::TransportWs => {
                reaction.send.push(message("pong", None, None));
            }
            "connection_error" => {
                reaction.note = Some(format!(
                    "the server refused the connection: {}",
                    decoded.value.text()
                ));
            }
            _ => {}
        }
        reaction
    }
}

// ---------------------------------------------------------------------------------------------
// The query, pretty-printed.

/// A GraphQL document's lexical token.
#[derive(Clone, Debug, PartialEq)]
enum Token<'a> {
    /// `! $ & ( ) : = @ [ ] { | }`.
    Punct(char),
    /// `...`.
    Spread,
    /// A name, number or string (as written).
    Word(&'a str),
}

fn tokens(text: &str) -> Option<Vec<Token<'_>>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => i += 1,
            0xef if text[i..].starts_with('\u{feff}') => i += 3,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'!' | b'$' | b'&' | b'(' | b')' | b':' | b'=' | b'@' | b'[' | b']' | b'{' | b'|'
            | b'}' => {
                out.push(Token::Punct(b as char));
                i += 1;
            }
            b'.' if text[i..].starts_with("...") => {
                out.push(Token::Spread);
                i += 3;
            }
            b'"' => {
                let start = i;
                if text[i..].starts_with("\"\"\"") {
                    let end = text[i + 3..].find("\"\"\"")?;
                    i += 3 + end + 3;
                } else {
                    i += 1;
                    loop {
                        match bytes.get(i)? {
                            b'\\' => i += 2,
                            b'"' => {
                                i += 1;
                                break;
                            }
                            b'\n' => return None,
                            _ => i += 1,
                        }
                    }
                }
                out.push(Token::Word(&text[start..i]));
            }
            b if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.' || b == b'+' => {
                let start = i;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric()
                        || matches!(bytes[i], b'_' | b'.' | b'-' | b'+'))
                {
                    if bytes[i] == b'.' && text[i..].starts_with("...") {
                        break;
                    }
                    i += 1;
                }
                out.push(Token::Word(&text[start..i]));
            }
            _ => return None,
        }
    }
    Some(out)
}

/// A GraphQL document laid out one field per line, indented by two spaces per selection
/// set, arguments and variables inline with `, ` between them. A text that does not
/// tokenize as GraphQL comes back as it was. Comments are dropped.
pub fn pretty_query(query: &str) -> String {
    let Some(tokens) = tokens(query) else {
        return query.to_owned();
    };
    let mut out = String::new();
    let mut indent = 0usize;
    // Open `(` and `[`, and `{` inside them (input objects): laid out inline.
    let mut inline: Vec<char> = Vec::new();
    let mut prev: Option<&Token<'_>> = None;
    let mut prev2: Option<&Token<'_>> = None;
    for token in &tokens {
        let ends_value = |t: Option<&Token<'_>>| {
            matches!(
                t,
                Some(Token::Word(_)) | Some(Token::Punct(']' | '}' | ')' | '!'))
            )
        };
        let starts_item = matches!(token, Token::Word(_) | Token::Punct('$' | '[' | '{'));
        let newline = |out: &mut String, indent: usize| {
            while out.ends_with(' ') {
                out.pop();
            }
            out.push('\n');
            out.push_str(&"  ".repeat(indent));
        };
        if !inline.is_empty() {
            // Inside arguments, variables, lists, input objects.
            match token {
                Token::Punct(')' | ']') => {
                    inline.pop();
                    out.push(match token {
                        Token::Punct(c) => *c,
                        _ => unreachable!(),
                    });
                }
                Token::Punct('}') => {
                    inline.pop();
                    out.push('}');
                }
                Token::Punct(':') => out.push_str(": "),
                Token::Punct('=') => out.push_str(" = "),
                Token::Punct('!') => out.push('!'),
                Token::Punct(c @ ('(' | '[' | '{')) => {
                    if ends_value(prev) && !matches!(prev, Some(Token::Punct('!'))) && *c != '(' {
                        out.push_str(", ");
                    }
                    inline.push(*c);
                    out.push(*c);
                }
                _ => {
                    if starts_item && ends_value(prev) && !matches!(prev, Some(Token::Punct('$'))) {
                        out.push_str(", ");
                    } else if matches!(token, Token::Punct('@')) {
                        out.push(' ');
                    }
                    match token {
                        Token::Word(w) => out.push_str(w),
                        Token::Punct(c) => out.push(*c),
                        Token::Spread => out.push_str("..."),
                    }
                }
            }
        } else {
            match token {
                Token::Punct('{') => {
                    if !out.is_empty() && !out.ends_with(' ') && !out.ends_with('\n') {
                        out.push(' ');
                    }
                    out.push('{');
                    indent += 1;
                    newline(&mut out, indent);
                }
                Token::Punct('}') => {
                    indent = indent.saturating_sub(1);
                    newline(&mut out, indent);
                    out.push('}');
                }
                Token::Punct(c @ ('(' | '[')) => {
                    inline.push(*c);
                    out.push(*c);
                }
                Token::Punct(':') => out.push_str(": "),
                Token::Punct('=') => out.push_str(" = "),
                Token::Punct('!') => out.push('!'),
                _ => {
                    let after_spread = matches!(prev, Some(Token::Spread))
                        || (matches!(prev, Some(Token::Word("on")))
                            && matches!(prev2, Some(Token::Spread)));
                    let after_colon = matches!(prev, Some(Token::Punct(':' | '$' | '@')));
                    if matches!(prev, Some(Token::Punct('}'))) && indent == 0 {
                        // A new definition.
                        out.push_str("\n\n");
                    } else if indent > 0
                        && ends_value(prev)
                        && !after_spread
                        && !after_colon
                        && matches!(token, Token::Word(_) | Token::Spread)
                    {
                        newline(&mut out, indent);
                    } else if !out.is_empty()
                        && !out.ends_with(' ')
                        && !out.ends_with('\n')
                        && !matches!(prev, Some(Token::Punct('$' | '@')))
                        && (!matches!(prev, Some(Token::Spread))
                            || matches!(token, Token::Word("on")))
                    {
                        out.push(' ');
                    }
                    match token {
                        Token::Word(w) => out.push_str(w),
                        Token::Punct(c) => out.push(*c),
                        Token::Spread => out.push_str("..."),
                    }
                }
            }
        }
        prev2 = prev;
        prev = Some(token);
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_laid_out_one_field_a_line() {
        let q = "subscription OnCount($to: Int!, $tag: [String!] = [\"a\" \"b\"]) { count(to: $to, filter: {min: 1 max: 2}) @include(if: true) { value alias: other ... on Big { size } ...Frag } }\nfragment Frag on Count { at }";
        assert_eq!(
            pretty_query(q),
            "subscription OnCount($to: Int!, $tag: [String!] = [\"a\", \"b\"]) {\n  count(to: $to, filter: {min: 1, max: 2}) @include(if: true) {\n    value\n    alias: other\n    ... on Big {\n      size\n    }\n    ...Frag\n  }\n}\n\nfragment Frag on Count {\n  at\n}"
        );
        assert_eq!(pretty_query("{ a b }"), "{\n  a\n  b\n}");
        assert_eq!(pretty_query("not \u{1} graphql"), "not \u{1} graphql");
    }

    #[test]
    fn transport_ws_messages() {
        let f = Flavour::TransportWs;
        let d = decode(f, Payload::Text(r#"{"type":"subscribe","id":"1","payload":{"query":"subscription { count }","operationName":"C"}}"#)).unwrap();
        let p = d.packet.as_ref().unwrap();
        assert_eq!(
            (p.kind, p.id.as_deref(), p.name.as_deref()),
            ("subscribe", Some("1"), Some("C"))
        );
        assert_eq!(
            d.value.get("query").and_then(Node::as_str),
            Some("subscription {\n  count\n}")
        );
        let next = decode(
            f,
            Payload::Text(r#"{"id":"1","type":"next","payload":{"data":{"count":1}}}"#),
        )
        .unwrap();
        assert_eq!(next.summary(80), r#"next #1 {"data":{"count":1}}"#);
        let ping = decode(f, Payload::Text(r#"{"type":"ping"}"#)).unwrap();
        assert!(ping.packet.unwrap().heartbeat);
        let e = decode(f, Payload::Text(r#"{"type":"ka"}"#)).unwrap_err();
        assert_eq!(e.offset, 8, "{e}");
        let e = decode(f, Payload::Text(r#"{"type":"next","payload":{}}"#)).unwrap_err();
        assert!(e.reason.contains("id"), "{e}");
        assert!(decode(f, Payload::Text("[1]")).is_err());
    }

    #[test]
    fn subscriptions_transport_ws_messages() {
        let f = Flavour::from_protocol(Some("graphql-ws"));
        assert_eq!(f, Flavour::SubscriptionsTransportWs);
        let ka = decode(f, Payload::Text(r#"{"type":"ka"}"#)).unwrap();
        assert!(ka.packet.unwrap().heartbeat);
        for (t, kind) in [
            (
                r#"{"type":"start","id":"1","payload":{"query":"{a}"}}"#,
                "start",
            ),
            (
                r#"{"type":"data","id":"1","payload":{"data":{"a":1}}}"#,
                "data",
            ),
            (r#"{"type":"stop","id":"1"}"#, "stop"),
            (r#"{"type":"connection_terminate"}"#, "connection_terminate"),
            (
                r#"{"type":"connection_error","payload":{"message":"x"}}"#,
                "connection_error",
            ),
        ] {
            assert_eq!(
                decode(f, Payload::Text(t)).unwrap().packet.unwrap().kind,
                kind
            );
        }
        assert!(decode(f, Payload::Text(r#"{"type":"next","id":"1"}"#)).is_err());
    }

    #[test]
    fn encoding_and_the_client() {
        let f = Flavour::TransportWs;
        assert_eq!(
            subscribe(f, "1", "subscription { count }", r#"{"to":3}"#, None).unwrap(),
            Outgoing::Text(r#"{"type":"subscribe","id":"1","payload":{"query":"subscription { count }","variables":{"to":3}}}"#.into())
        );
        assert_eq!(
            subscribe_from_text(
                Flavour::SubscriptionsTransportWs,
                "2",
                r#"{"query":"{a}","variables":{}}"#
            )
            .unwrap(),
            Outgoing::Text(
                r#"{"type":"start","id":"2","payload":{"query":"{a}","variables":{}}}"#.into()
            )
        );
        assert_eq!(
            complete(Flavour::SubscriptionsTransportWs, "2"),
            Outgoing::Text(r#"{"type":"stop","id":"2"}"#.into())
        );
        let mut client = GraphqlClient::new(f, None);
        assert_eq!(
            client.on_open(),
            [Outgoing::Text(r#"{"type":"connection_init"}"#.into())]
        );
        assert!(!client.is_ready());
        let ack = decode(f, Payload::Text(r#"{"type":"connection_ack"}"#)).unwrap();
        assert!(client.on_received(&ack).ready);
        let ping = decode(f, Payload::Text(r#"{"type":"ping"}"#)).unwrap();
        assert_eq!(
            client.on_received(&ping).send,
            [Outgoing::Text(r#"{"type":"pong"}"#.into())]
        );
        assert_eq!(
            (client.next_id(), client.next_id()),
            ("1".to_owned(), "2".to_owned())
        );
    }
}
