//! `wsi listen`: a server. Each client is a task that drives its own connection (the fast
//! path: receive, echo, repeat); stdin's lines, when stdin is not a terminal, go to every
//! client connected. Clients are numbered from 1 in the order they connect: `-v` lines and
//! `--jsonl` lines carry the number.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use ws_tokio::ws_proto::{CloseCode, DeflateConfig, UpgradeRequest};
use ws_tokio::{Decision, Message, Outgoing, ServerOptions};

use crate::args::ListenArgs;
use crate::client_options;
use crate::exit::{Failure, Status};
use crate::output::{Printer, TapHub, TapSink, wants_tap};
use crate::{server_tls, tasks};

/// The clients connected, each with the way to send it something.
type Clients = Arc<Mutex<HashMap<u64, mpsc::Sender<Outgoing>>>>;

/// Runs `wsi listen`.
pub async fn run(args: ListenArgs) -> Status {
    match listen(args).await {
        Ok(status) => status,
        Err(failure) => failure.report(),
    }
}

/// What every client's task shares.
#[derive(Debug)]
struct Shared {
    options: ServerOptions,
    protocols: Vec<String>,
    echo: bool,
    greetings: Vec<String>,
    printer: Option<Mutex<Printer>>,
    sink: Option<TapHub>,
    clients: Clients,
}

async fn listen(args: ListenArgs) -> Result<Status, Failure> {
    let tls = server_tls::config(&args.tls)?;
    let close_timeout = client_options::secs(args.close_timeout, "--close-timeout")?;
    if args.max_message == 0 {
        return Err(Failure::usage("--max-message must be at least 1 byte"));
    }
    let mut options = ServerOptions::default().with_close_timeout(close_timeout);
    options.config.max_message_size = args.max_message;
    options.config.max_frame_size = args.max_message;
    if args.compress {
        options.config.deflate = Some(DeflateConfig::default());
    }
    let scheme = if tls.is_some() { "wss" } else { "ws" };
    options.tls = tls;

    let listener = TcpListener::bind(&args.addr)
        .await
        .map_err(|e| Failure::failed(format!("cannot listen on {}: {e}", args.addr)))?;
    let local = listener
        .local_addr()
        .map_err(|e| Failure::failed(format!("cannot listen on {}: {e}", args.addr)))?;
    eprintln!("wsi: listening on {scheme}://{local}/");
    eprintln!("wsi: in a browser console: new WebSocket(\"{scheme}://{local}/\")");

    let (sink_tx, sink_thread) = if wants_tap(&args.output) {
        let sink = TapSink::open(&args.output, "listen").map_err(Failure::usage)?;
        let (hub, thread) = sink.spawn_hub();
        (Some(hub), Some(thread))
    } else {
        (None, None)
    };
    let printer = Printer::new(&args.output);
    let shared = Arc::new(Shared {
        options,
        protocols: args.protocols.clone(),
        echo: args.echo,
        greetings: args.send.clone(),
        printer: (!args.output.quiet).then(|| Mutex::new(printer)),
        sink: sink_tx,
        clients: Arc::new(Mutex::new(HashMap::new())),
    });
    if !std::io::stdin().is_terminal() {
        tokio::spawn(broadcast_stdin(shared.clients.clone()));
    }

    let (ended_tx, mut ended_rx) = mpsc::unbounded_channel::<Status>();
    let mut next_conn = 0u64;
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    let status = loop {
        tokio::select! {
            accepted = listener.accept(), if !(args.once && next_conn > 0) => match accepted {
                Ok((tcp, peer)) => {
                    next_conn += 1;
                    let ended = ended_tx.clone();
                    tokio::spawn(serve_client(tcp, peer, next_conn, shared.clone(), ended));
                }
                Err(e) => eprintln!("wsi: accepting a connection failed: {e}"),
            },
            Some(status) = ended_rx.recv() => {
                if args.once {
                    break status;
                }
            }
            _ = &mut ctrl_c => {
                eprintln!("wsi: interrupted: closing every client with 1001 (Going Away)");
                close_all(&shared.clients).await;
                // Give the clients their close timeout to answer.
                let deadline = tokio::time::sleep(close_timeout + Duration::from_millis(200));
                tokio::pin!(deadline);
                loop {
                    if shared.clients.lock().map(|c| c.is_empty()).unwrap_or(true) {
                        break;
                    }
                    tokio::select! {
                        _ = &mut deadline => break,
                        _ = ended_rx.recv() => {}
                    }
                }
                break Status::Ok;
            }
        }
    };
    drop(listener);
    // The sink's channel closes once the last client's task has let go of `shared`.
    drop(shared);
    if let Some(thread) = sink_thread {
        // Every tap is gone once the clients' tasks are; wait a little for the last lines.
        crate::output::finish_writing(thread, Some(Duration::from_secs(2))).await;
    }
    Ok(status)
}

/// One client, from its TCP connection to its end.
async fn serve_client(
    tcp: TcpStream,
    peer: SocketAddr,
    conn: u64,
    shared: Arc<Shared>,
    ended: mpsc::UnboundedSender<Status>,
) {
    let status = tasks::reported(
        "a listener's client",
        serve(tcp, peer, conn, shared.clone()),
    )
    .await;
    if let Ok(mut clients) = shared.clients.lock() {
        clients.remove(&conn);
    }
    let _ = ended.send(status);
}

async fn serve(tcp: TcpStream, peer: SocketAddr, conn: u64, shared: Arc<Shared>) -> Status {
    let mut options = shared.options.clone();
    if let Some(sink) = &shared.sink {
        options.tap = Some(sink.tap(Some(conn), None));
    }
    let protocols = &shared.protocols;
    let decide = |request: &UpgradeRequest| {
        let supported: Vec<&str> = protocols.iter().map(String::as_str).collect();
        Decision::accept_protocol(request, &supported)
    };
    let mut ws = match ws_tokio::accept(tcp, &options, decide).await {
        Ok(ws) => ws,
        Err(e) => {
            eprintln!("wsi: #{conn} {peer}: the opening handshake failed: {e}");
            return Status::Failed;
        }
    };
    let info = ws.handshake();
    eprintln!(
        "wsi: #{conn} {peer} connected: {}{}",
        info.request.uri(),
        info.protocol
            .as_deref()
            .map(|p| format!(" (subprotocol {p})"))
            .unwrap_or_default()
    );
    let (outbox_tx, mut outbox) = mpsc::channel::<Outgoing>(64);
    if let Ok(mut clients) = shared.clients.lock() {
        clients.insert(conn, outbox_tx);
    }
    for text in &shared.greetings {
        if ws.send_text(text.as_str()).await.is_err() {
            break;
        }
    }
    let mut peer_close = None;
    let result = loop {
        tokio::select! {
            next = ws.recv() => match next {
                None => break Ok(()),
                Some(Err(e)) => break Err(e),
                Some(Ok(message)) => {
                    if let Some(printer) = &shared.printer
                        && let Ok(mut printer) = printer.lock()
                    {
                        printer.message(&message);
                        printer.flush();
                    }
                    let echo = match message {
                        Message::Text(text) if shared.echo => Some(Outgoing::Text(text.as_str().to_owned())),
                        Message::Binary(data) if shared.echo => Some(Outgoing::Binary(data)),
                        Message::Close(frame) => {
                            peer_close = Some(frame);
                            None
                        }
                        _ => None,
                    };
                    if let Some(echo) = echo {
                        let _ = ws.send(echo).await;
                    }
                }
            },
            Some(outgoing) = outbox.recv() => {
                let _ = ws.send(outgoing).await;
            }
        }
    };
    match (result, peer_close) {
        (Err(e), _) => {
            eprintln!("wsi: #{conn} {peer} failed: {e}");
            Status::Failed
        }
        (Ok(()), Some(frame)) => {
            let code = frame.code_or_no_status();
            eprintln!("wsi: #{conn} {peer} closed with {code} {:?}", frame.reason);
            if code == CloseCode::NORMAL
                || code == CloseCode::GOING_AWAY
                || code == CloseCode::NO_STATUS
            {
                Status::Ok
            } else {
                Status::Failed
            }
        }
        (Ok(()), None) => {
            eprintln!("wsi: #{conn} {peer} disconnected");
            Status::Ok
        }
    }
}

/// Sends a close (1001) to every client.
async fn close_all(clients: &Clients) {
    let senders: Vec<mpsc::Sender<Outgoing>> = match clients.lock() {
        Ok(clients) => clients.values().cloned().collect(),
        Err(_) => return,
    };
    for sender in senders {
        let _ = sender
            .send(Outgoing::Close(
                Some(CloseCode::GOING_AWAY),
                "server shutting down".to_owned(),
            ))
            .await;
    }
}

/// Sends each stdin line, as a text message, to every client connected.
async fn broadcast_stdin(clients: Clients) {
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let senders: Vec<mpsc::Sender<Outgoing>> = match clients.lock() {
            Ok(clients) => clients.values().cloned().collect(),
            Err(_) => return,
        };
        if senders.is_empty() {
            eprintln!("wsi: no client is connected: the line was not sent");
        }
        for sender in senders {
            let _ = sender.send(Outgoing::Text(line.clone())).await;
        }
    }
}
