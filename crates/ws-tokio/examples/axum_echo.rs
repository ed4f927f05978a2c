//! An axum server that echoes every message back — text, binary, fragmented — on any path,
//! until Ctrl-C: `echo_server` on axum, through the hyper upgrade helper.
//!
//! ```sh
//! cargo run --release -p ws-tokio --example axum_echo -- --addr 127.0.0.1:9002
//! ```
//!
//! The router's fallback handler takes the whole request and gives it to
//! [`ws_tokio::upgrade::upgrade`] (not axum's own `WebSocketUpgrade`, which runs
//! tokio-tungstenite): it returns the 101 response to axum and spawns the future that yields
//! the connection, a [`WsStream`] its task drives. A request that is not a WebSocket upgrade
//! gets the helper's 400 (or 405, 426) saying why. It accepts permessage-deflate when a client
//! offers it (`--no-deflate` declines).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use ws_tokio::{Message, ServerOptions, WsStream};

/// Serves on `listener` until the future is dropped.
pub async fn serve(listener: TcpListener, options: ServerOptions) -> std::io::Result<()> {
    axum::serve(listener, router(options)).await
}

/// The router: every path, every method, to [`upgrade`].
pub fn router(options: ServerOptions) -> Router {
    Router::new()
        .fallback(upgrade)
        .with_state(Arc::new(options))
}

/// Upgrades the request and echoes on the connection in a task of its own.
async fn upgrade(State(options): State<Arc<ServerOptions>>, mut request: Request) -> Response {
    match ws_tokio::upgrade::upgrade(&mut request, &options) {
        Ok((response, upgraded)) => {
            tokio::spawn(async move {
                match upgraded.await {
                    Ok(ws) => echo(ws).await,
                    Err(e) => eprintln!("upgrade: {e}"),
                }
            });
            response.map(Body::new)
        }
        Err(refused) => refused.into_response().map(Body::new),
    }
}

/// Echoes messages until the connection ends; the engine answers pings and echoes the close.
pub async fn echo<S>(mut ws: WsStream<S>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    while let Some(Ok(message)) = ws.recv().await {
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

/// Server options: defaults, with permessage-deflate accepted if `deflate`.
pub fn options(deflate: bool) -> ServerOptions {
    let mut options = ServerOptions::default();
    if deflate {
        options.config.deflate = Some(ws_tokio::ws_proto::DeflateConfig::default());
    }
    options
}

/// An axum server that echoes every message back, until Ctrl-C.
#[derive(Debug, clap::Parser)]
#[command(name = "axum_echo")]
struct Cli {
    /// The address to listen on
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:9002")]
    addr: String,
    /// Decline permessage-deflate
    #[arg(long)]
    no_deflate: bool,
}

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = <Cli as clap::Parser>::parse();
    let (addr, deflate) = (cli.addr, !cli.no_deflate);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = TcpListener::bind(addr.as_str()).await?;
        eprintln!("axum_echo listening on ws://{}", listener.local_addr()?);
        tokio::select! {
            served = serve(listener, options(deflate)) => served?,
            _ = tokio::signal::ctrl_c() => eprintln!("axum_echo: stopping"),
        }
        Ok::<_, std::io::Error>(())
    })?;
    Ok(())
}
