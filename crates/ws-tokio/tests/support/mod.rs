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

/// Holds a paused clock still while a test's real I/O (loopback TCP) is under way.
///
/// A paused clock (`#[tokio::test(start_paused = true)]`) jumps to the next timer whenever
/// the runtime has nothing to do — also while it waits for the kernel to deliver loopback
/// bytes, which would fire a 300 ms timeout before the peer's answer came. Tokio does not
/// let the clock jump while a blocking task runs, so a hold is a blocking task that waits:
/// until [`release`](Self::release), every timer stays where it was armed and I/O happens
/// at its real pace. Once released, the clock jumps from the instant it was paused at, so a
/// timeout fires at exactly its virtual duration. After [`LIMIT`] of real time the hold lets
/// go by itself, so that a test that goes wrong fails on its (virtual) limits instead of
/// hanging.
pub struct ClockHold {
    release: std::sync::mpsc::Sender<()>,
    held: tokio::task::JoinHandle<()>,
}

impl ClockHold {
    /// Holds the clock of the current (current-thread, paused) runtime.
    pub fn new() -> Self {
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let held = tokio::task::spawn_blocking(move || {
            let _ = wait.recv_timeout(LIMIT);
        });
        Self { release, held }
    }

    /// Lets the clock jump again once the runtime is idle.
    pub async fn release(self) {
        let _ = self.release.send(());
        let _ = self.held.await;
    }
}
