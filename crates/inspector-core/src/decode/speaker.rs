//! The inspector speaking a session's application protocol by itself (issue 18): with
//! Socket.IO or GraphQL over WebSocket chosen (or detected from the handshake), it joins the
//! namespaces or sends `connection_init` once the connection is open, answers the
//! application's pings (Engine.IO 4's `2` with `3`, graphql-transport-ws's `ping` with
//! `pong`), sends Engine.IO 3's own heartbeats, and marks every packet it sends by itself as
//! an `auto` event in the log — the same [`Client`](super::Client) state machines that
//! `wsi connect --decode` drives.
//!
//! It runs as a task of its own beside the session's: it waits for the connection to open
//! (the agreed subprotocol is known then, and tells the GraphQL flavour apart), decodes each
//! message the session receives (whole, from the session's observer channel) with its own
//! stream, and sends through the session's commands, in order with what the user sends.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use ws_tokio::{Message, Outgoing};

use super::{ClientOptions, Context, Decoder, Payload, detect};
use crate::session::SessionState;
use crate::session::handle::Command;
use crate::session::state::lock;

/// What a session speaks: the decoder chosen for received messages (`None`: what the
/// handshake says, if anything), and how the client starts.
#[derive(Clone, Debug, Default)]
pub struct Speak {
    /// The decoder of received messages; only Socket.IO and GraphQL are spoken.
    pub decoder: Option<Decoder>,
    /// Namespaces to join, the `connection_init` payload.
    pub options: ClientOptions,
}

/// Speaks the session's protocol until its connection ends; see the [module docs](self).
pub(crate) async fn speak(
    speak: Speak,
    commands: mpsc::WeakUnboundedSender<Command>,
    mut observed: mpsc::UnboundedReceiver<Message>,
    shared: Arc<Mutex<SessionState>>,
) {
    let Ok((protocol, url)) = crate::session::task::opened(&shared).await else {
        return;
    };
    let context = Context { protocol, url };
    let decoder = speak
        .decoder
        .or_else(|| detect(context.protocol.as_deref(), &context.url));
    let Some(decoder) = decoder.filter(|d| matches!(d, Decoder::SocketIo | Decoder::GraphqlWs))
    else {
        return;
    };
    let codec = match decoder.load() {
        Ok(codec) => codec,
        Err(e) => {
            lock(&shared).mark_auto(format!("cannot speak {}: {e}", decoder.name()));
            return;
        }
    };
    let Some(mut client) = codec.client(&context, speak.options) else {
        return;
    };
    let mut stream = codec.stream(&context);
    let send = |what: Vec<Outgoing>, shared: &Mutex<SessionState>| -> bool {
        if what.is_empty() {
            return true;
        }
        {
            let mut state = lock(shared);
            for out in &what {
                state.mark_auto(format!("sent {}", show(out)));
            }
        }
        commands
            .upgrade()
            .is_some_and(|c| c.send(Command::Send(what)).is_ok())
    };
    if !send(client.on_open(), &shared) {
        return;
    }
    let mut heartbeat: Option<tokio::time::Interval> = None;
    loop {
        let message = tokio::select! {
            message = observed.recv() => message,
            _ = tick(&mut heartbeat) => {
                if !send(client.heartbeat().into_iter().collect(), &shared) {
                    return;
                }
                continue;
            }
        };
        let Some(message) = message else { return };
        let payload = match &message {
            Message::Text(text) => Payload::Text(text.as_str()),
            Message::Binary(data) => Payload::Binary(data),
            _ => continue,
        };
        let Ok(decoded) = stream.decode(payload) else {
            continue;
        };
        let reaction = client.on_received(&decoded);
        if let Some(note) = &reaction.note {
            lock(&shared).mark_auto(note.clone());
        }
        if !send(reaction.send, &shared) {
            return;
        }
        if heartbeat.is_none()
            && let Some(every) = client.heartbeat_interval()
        {
            let mut interval = tokio::time::interval(every.max(Duration::from_millis(10)));
            interval.reset();
            heartbeat = Some(interval);
        }
    }
}

async fn tick(interval: &mut Option<tokio::time::Interval>) {
    match interval {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// A packet sent by itself, for its `auto` event: `text "40"`.
fn show(out: &Outgoing) -> String {
    match out {
        Outgoing::Text(text) if text.chars().count() > 80 => {
            format!("{:?}…", text.chars().take(80).collect::<String>())
        }
        Outgoing::Text(text) => format!("{text:?}"),
        Outgoing::Binary(data) => format!("binary ({} B)", data.len()),
        other => format!("{other:?}"),
    }
}

/// What the composer's text becomes when "Encode" is on, by the decoder of sent messages:
/// a JSON text as MessagePack, CBOR or the chosen protobuf type (binary) or checked JSON;
/// for Socket.IO an event written `["name", args…]` (optionally `/namespace,` first); for
/// GraphQL over WebSocket a subscribe of a query or of `{"query", "variables"}`, with the
/// next id of `ids`. `url` and `protocol` are the session's (Engine.IO's version, the
/// GraphQL flavour).
pub fn encode_for_sending(
    decoder: &Decoder,
    text: &str,
    url: &str,
    protocol: Option<&str>,
    ids: &mut u64,
) -> Result<Vec<Outgoing>, String> {
    match decoder {
        Decoder::SocketIo => {
            let version = super::socketio::EngineVersion::from_url(url).unwrap_or_default();
            let event = super::socketio::event_from_wire_json("/", text, None)
                .map_err(|e| e.to_string())?;
            Ok(event.encode(version))
        }
        Decoder::GraphqlWs => {
            *ids += 1;
            let flavour = super::graphql::Flavour::from_protocol(protocol);
            super::graphql::subscribe_from_text(flavour, &ids.to_string(), text)
                .map(|out| vec![out])
                .map_err(|e| e.to_string())
        }
        format => {
            let codec = format.load().map_err(|e| e.to_string())?;
            codec
                .encode_json(text)
                .map(|out| vec![out])
                .map_err(|e| e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_composer_text_becomes_the_chosen_format_or_packet() {
        let mut ids = 0;
        let packed = encode_for_sending(
            &Decoder::MessagePack,
            r#"{"a":1}"#,
            "ws://h/",
            None,
            &mut ids,
        )
        .expect("encoded");
        assert_eq!(
            packed,
            vec![Outgoing::Binary(vec![0x81, 0xa1, b'a', 1].into())]
        );
        let event = encode_for_sending(
            &Decoder::SocketIo,
            r#"["chat","hi"]"#,
            "ws://h/socket.io/?EIO=4",
            None,
            &mut ids,
        )
        .expect("encoded");
        assert_eq!(event, vec![Outgoing::Text(r#"42["chat","hi"]"#.into())]);
        let subscribe = encode_for_sending(
            &Decoder::GraphqlWs,
            "{ ticks }",
            "ws://h/graphql",
            Some("graphql-transport-ws"),
            &mut ids,
        )
        .expect("encoded");
        assert_eq!(ids, 1);
        let Outgoing::Text(text) = &subscribe[0] else {
            panic!("a text: {subscribe:?}");
        };
        assert!(
            text.contains(r#""type":"subscribe""#) && text.contains(r#""id":"1""#),
            "{text}"
        );
        assert!(
            encode_for_sending(&Decoder::MessagePack, "not json", "ws://h/", None, &mut ids)
                .is_err()
        );
    }
}
