//! The relay: a client's connection (the relay is its server) forwarded to an upstream
//! server (the relay is its client), message for message, both ways, until both legs end.
//!
//! What is forwarded, and how faithfully:
//! - text and binary messages, as whole messages (a fragmented message arrives whole and
//!   leaves in one frame: the engine assembles fragments; each leg's frames are still shown
//!   exactly, in its own tap);
//! - pings and pongs, when both legs run with auto-pong off (as [`leg_config`] sets): a
//!   client's ping reaches the server and the server's pong comes back, so the round trip
//!   is the real one, never the relay's answer;
//! - the close handshake, with auto close reply off on both legs (as [`leg_config`] sets):
//!   a close from one side is sent on to the other with its code and reason, and the other
//!   side's answer is sent back as the reply. Each leg's close timeout still ends a leg
//!   whose peer never answers.
//!
//! When one leg fails (a protocol error, a lost connection), the other is closed with 1001
//! Going Away and a reason that says what happened on the failed leg.
//!
//! `wsi relay` runs this for each client; the inspector's relay tabs run the same code
//! through [`Net::relay`](crate::Net::relay) ([`serve`]), with the upstream handshake built
//! from the client's ([`upstream`]).
//!
//! Frame-for-frame forwarding (fragments kept as they were, `Outgoing::Fragment` per
//! frame) is not done yet: forwarding is message-level, the one mode. Each leg's tap still
//! shows that leg's frames exactly as they were on its wire, so a fragmented message shows
//! as fragments on the leg it arrived on and as one frame on the other.

use tokio::io::{AsyncRead, AsyncWrite};
use ws_tokio::ws_proto::{CloseCode, Config};
use ws_tokio::{Error, Message, Outgoing, ReadHalf, WriteHalf, WsStream};

pub use crate::capture::Leg;
pub use serve::{Relay, RelayOptions, RelayedClient};

pub mod pairing;
pub mod serve;
pub mod upstream;

/// How one leg of a relay ended.
#[derive(Debug)]
pub enum LegEnd {
    /// The leg's peer sent a close frame with this code (1005 for none) and reason.
    Closed {
        /// The code.
        code: CloseCode,
        /// The reason.
        reason: String,
    },
    /// The leg failed: a protocol error, a lost connection, a timeout.
    Failed(Error),
    /// The leg ended with no close frame from its peer (the other side closed it).
    Ended,
}

/// How a relayed connection ended, leg by leg, and what crossed it.
#[derive(Debug)]
pub struct RelayReport {
    /// The client's leg: what the client did.
    pub client: LegEnd,
    /// The server's leg: what the server did.
    pub server: LegEnd,
    /// Messages (and pings, pongs) forwarded from the client to the server.
    pub to_server: u64,
    /// Messages (and pings, pongs) forwarded from the server to the client.
    pub to_client: u64,
}

/// The engine options for a leg: `base` with auto-pong and the automatic close reply off,
/// so that the relay forwards pings, pongs and closes instead of answering them itself.
pub fn leg_config(mut base: Config) -> Config {
    base.auto_pong = false;
    base.auto_close_reply = false;
    base
}

/// Forwards between `client` and `server` until both legs have ended. Run both legs with
/// [`leg_config`]: with auto-pong or the automatic close reply on, a leg answers for the
/// other side.
pub async fn run<C, S>(client: WsStream<C>, server: WsStream<S>) -> RelayReport
where
    C: AsyncRead + AsyncWrite + Unpin + Send,
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let ((client_end, to_server), (server_end, to_client)) = tokio::join!(
        forward(client_read, server_write, Leg::Client),
        forward(server_read, client_write, Leg::Server),
    );
    RelayReport {
        client: client_end,
        server: server_end,
        to_server,
        to_client,
    }
}

/// Reads `from` until it ends, sending each message on to `to`; returns how `from` ended
/// and how many messages crossed.
async fn forward<A, B>(mut from: ReadHalf<A>, mut to: WriteHalf<B>, leg: Leg) -> (LegEnd, u64)
where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    let mut forwarded = 0;
    let mut end = LegEnd::Ended;
    let mut other_side_gone = false;
    while let Some(received) = from.recv().await {
        let outgoing = match received {
            Ok(Message::Text(text)) => Outgoing::Text(text.as_str().to_owned()),
            Ok(Message::Binary(data)) => Outgoing::Binary(data),
            Ok(Message::Ping(data)) => Outgoing::Ping(data),
            Ok(Message::Pong(data)) => Outgoing::Pong(data),
            Ok(Message::Close(frame)) => {
                let code = frame.code_or_no_status();
                end = LegEnd::Closed {
                    code,
                    reason: frame.reason.clone(),
                };
                // 1005 (no code) is not sent on the wire: an empty close goes on empty.
                Outgoing::Close(frame.code, frame.reason)
            }
            Err(error) => {
                if !to.is_closed() {
                    let reason = format!("the {} leg failed: {error}", leg.as_str());
                    let _ = to
                        .close(Some(CloseCode::GOING_AWAY), &close_reason(&reason))
                        .await;
                }
                end = LegEnd::Failed(error);
                break;
            }
        };
        if other_side_gone || to.is_closed() {
            // Nothing can go on; keep reading so that this leg's close completes.
            other_side_gone = true;
            continue;
        }
        if to.send(outgoing).await.is_err() {
            other_side_gone = true;
        } else {
            forwarded += 1;
        }
    }
    if matches!(end, LegEnd::Ended) && !to.is_closed() {
        let reason = format!("the {} leg ended without a close", leg.as_str());
        let _ = to
            .close(Some(CloseCode::GOING_AWAY), &close_reason(&reason))
            .await;
    }
    (end, forwarded)
}

/// `reason` cut to the 123 bytes a close frame has room for, at a character boundary.
fn close_reason(reason: &str) -> String {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_close_reason_fits_a_close_frame() {
        let long = "é".repeat(100);
        let cut = close_reason(&long);
        assert!(cut.len() <= 123);
        assert!(long.starts_with(&cut));
        assert_eq!(close_reason("short"), "short");
    }
}
