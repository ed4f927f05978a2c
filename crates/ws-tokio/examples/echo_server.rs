//! Echoes every message back — text, binary, fragmented — until Ctrl-C.
//!
//! ```sh
//! cargo run --release -p ws-tokio --example echo_server -- --addr 127.0.0.1:9002
//! ```
//!
//! Each connection is a [`WsStream`] that its task drives: receive, send back, repeat.
//! `--driven` serves with the task-driven [`WebSocket`](ws_tokio::WebSocket) handles instead
//! (a `Receiver` to read, a `Sender` to answer). The Autobahn Testsuite's fuzzingclient runs
//! against it (see `tests/autobahn`). It accepts permessage-deflate when a client offers it
//! (`--no-deflate` declines).

use ws_tokio::{Decision, Incoming, Message, Server, ServerOptions, WsStream};

/// Serves until the future is dropped: each connection in a task of its own, driven by that
/// task ([`WsStream`]) or, if `driven`, by the connection's own task.
pub async fn serve(server: Server, driven: bool) {
    loop {
        match server.accept().await {
            Ok(incoming) if driven => {
                tokio::spawn(connection_driven(incoming));
            }
            Ok(incoming) => {
                tokio::spawn(connection(incoming));
            }
            Err(e) => eprintln!("accept: {e}"),
        }
    }
}

/// One connection: the upgrade, then the echo on the [`WsStream`].
///
/// The futures here are `async move` blocks that use what they capture directly, not
/// `async fn`s: an `async fn` keeps each argument it takes by value and the local it is moved
/// into, so an `async fn echo(mut ws: WsStream)` would hold the stream twice for as long as
/// the connection lasts (an idle connection's echo future: 1,160 bytes as an `async fn`, 720
/// as written here). The two ways of serving are two tasks for the same reason: a task is as
/// large as its largest state, and the task-driven handles' is the larger.
#[allow(clippy::manual_async_fn)] // `async move`, not `async fn`: see `connection`
pub fn connection(incoming: Incoming) -> impl Future<Output = ()> {
    async move {
        let ws = match incoming.upgrade(|_| Decision::accept()).await {
            Ok(ws) => ws,
            Err(e) => return eprintln!("upgrade: {e}"),
        };
        echo(ws).await;
    }
}

/// One connection: the upgrade, then the echo on the task-driven handles.
#[allow(clippy::manual_async_fn)] // `async move`, not `async fn`: see `connection`
pub fn connection_driven(incoming: Incoming) -> impl Future<Output = ()> {
    async move {
        let ws = match incoming.upgrade(|_| Decision::accept()).await {
            Ok(ws) => ws,
            Err(e) => return eprintln!("upgrade: {e}"),
        };
        echo_driven(ws.into_driven()).await;
    }
}

/// Echoes messages until the connection ends.
#[allow(clippy::manual_async_fn)] // `async move`, not `async fn`: see `connection`
pub fn echo<S>(mut ws: WsStream<S>) -> impl Future<Output = ()>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    async move {
        // Not `while let Some(Ok(message)) = ws.recv().await`: the temporary that pattern
        // matches in lives to the end of the loop's body, beside the message moved out of it.
        loop {
            let Some(Ok(message)) = ws.recv().await else {
                break;
            };
            let sent = match message {
                Message::Text(text) => ws.send_text(text.as_str()).await,
                Message::Binary(data) => ws.send_binary(data).await,
                _ => Ok(()),
            };
            if sent.is_err() {
                break;
            }
        }
    }
}

/// Echoes messages until the connection ends, with the task-driven handles.
#[allow(clippy::manual_async_fn)] // `async move`, not `async fn`: see `connection`
pub fn echo_driven(ws: ws_tokio::WebSocket) -> impl Future<Output = ()> {
    async move {
        let (sender, mut receiver) = ws.split();
        while let Some(Ok(message)) = receiver.recv().await {
            let sent = match message {
                Message::Text(text) => sender.send_text(text.as_str()).await,
                Message::Binary(data) => sender.send_binary(data).await,
                _ => Ok(()),
            };
            if sent.is_err() {
                break;
            }
        }
    }
}

/// Server options: defaults, with permessage-deflate accepted if `deflate`.
pub fn options(deflate: bool) -> ServerOptions {
    let mut options = ServerOptions::default();
    if deflate {
        options.config.deflate = Some(ws_tokio::ws_proto::DeflateConfig::default());
    }
    options
}

/// Echoes every message back — text, binary, fragmented — until Ctrl-C.
#[derive(Debug, clap::Parser)]
#[command(name = "echo_server")]
struct Cli {
    /// The address to listen on
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:9002")]
    addr: String,
    /// Decline permessage-deflate
    #[arg(long)]
    no_deflate: bool,
    /// Serve with the task-driven handles (a Receiver to read, a Sender to answer)
    #[arg(long)]
    driven: bool,
}

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = <Cli as clap::Parser>::parse();
    let (addr, deflate, driven) = (cli.addr, !cli.no_deflate, cli.driven);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let server = Server::bind(addr.as_str(), options(deflate)).await?;
        eprintln!("echo_server listening on ws://{}", server.local_addr()?);
        tokio::select! {
            () = serve(server, driven) => {}
            _ = tokio::signal::ctrl_c() => eprintln!("echo_server: stopping"),
        }
        Ok::<_, ws_tokio::Error>(())
    })?;
    Ok(())
}
