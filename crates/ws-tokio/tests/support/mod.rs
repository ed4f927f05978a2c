//! What the ws-tokio integration tests share: an echo server that is exactly the
//! `echo_server` example, accepting one connection, and waiting for a message.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use ws_tokio::{Decision, Message, Receiver, Server, ServerOptions, WebSocket};

#[allow(dead_code)]
#[path = "../../examples/echo_server.rs"]
mod echo_example;

/// How long a test waits for any one thing.
pub const LIMIT: Duration = Duration::from_secs(30);

/// The `echo_server` example, serving on a free loopback port with `options`.
pub async fn echo_server(options: ServerOptions) -> SocketAddr {
    let server = Server::bind("127.0.0.1:0", options).await.unwrap();
    let addr = server.local_addr().unwrap();
    tokio::spawn(echo_example::serve(server, false));
    addr
}

/// Accepts the next connection on `server`, upgrades it, and hands it to a task of its own
/// (the task-driven handles).
pub async fn accept_one(server: &Server) -> WebSocket {
    server
        .accept()
        .await
        .unwrap()
        .upgrade(|_| Decision::accept())
        .await
        .unwrap()
        .into_driven()
}

/// The next message, within [`LIMIT`].
pub async fn next_message(receiver: &mut Receiver) -> Message {
    tokio::time::timeout(LIMIT, receiver.recv())
        .await
        .expect("timed out waiting for a message")
        .expect("the connection ended")
        .expect("the connection failed")
}
