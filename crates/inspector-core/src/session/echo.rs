//! The built-in local echo server, so that the first run shows a live connection offline.

use std::net::SocketAddr;

use tokio::sync::mpsc;
use ws_tokio::ws_proto::http::HeaderMap;
use ws_tokio::{Decision, Message, Outgoing, Server};

use super::tasks::Tasks;

pub(super) fn echo_url(addr: SocketAddr) -> String {
    format!("ws://{addr}/")
}

/// The local echo server: accepts any upgrade (choosing the first subprotocol offered) and
/// echoes every text and binary message back.
pub(super) async fn serve_echo(server: Server, tasks: Tasks) {
    loop {
        let Ok(incoming) = server.accept().await else {
            continue;
        };
        let echo_tasks = tasks.clone();
        tasks.spawn("local echo connection", async move {
            let upgraded = incoming
                .upgrade(|request| {
                    let mut headers = HeaderMap::new();
                    headers.insert(
                        "server",
                        ws_tokio::ws_proto::http::HeaderValue::from_static(
                            "ws-inspector local echo",
                        ),
                    );
                    Decision::Accept {
                        protocol: request.protocols.first().cloned(),
                        headers,
                    }
                })
                .await;
            let Ok(ws) = upgraded else {
                return;
            };
            // Task-driven handles: the driver keeps reading while an echo waits to be
            // written, so a client that floods without reading cannot stall both sides.
            let (sender, mut receiver) = ws.into_driven().split();
            // Receive and send in two tasks. `Sender::send` waits until the driver has taken
            // the message, and the driver waits for room in the bounded message channel: one
            // task that alternates between the two can deadlock with the driver once that
            // channel is full (it did, about once in fifteen floods of a million frames).
            // The queue in between holds only what the driver has not yet taken, and the
            // driver stops reading while it cannot write, so it stays bounded by TCP.
            let (queue, mut queued) = mpsc::unbounded_channel::<Outgoing>();
            echo_tasks.spawn("local echo sender", async move {
                while let Some(out) = queued.recv().await {
                    if sender.send(out).await.is_err() {
                        break;
                    }
                }
            });
            while let Some(Ok(message)) = receiver.recv().await {
                let echo = match message {
                    Message::Text(text) => Outgoing::Text(text.as_str().to_owned()),
                    Message::Binary(data) => Outgoing::Binary(data),
                    _ => continue,
                };
                if queue.send(echo).is_err() {
                    break;
                }
            }
        });
    }
}
