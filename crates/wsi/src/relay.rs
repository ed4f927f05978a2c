//! `wsi relay ADDR URL`: accepts clients on ADDR and forwards each to URL, logging both
//! legs. The forwarding itself is the core's [`ws_inspector_core::relay`]; this file is the
//! listening, the upstream handshake and the reports.
//!
//! Each client's upgrade is answered only once the upstream server has answered ours: the
//! client gets the subprotocol the server chose, or the server's refusal (its status and
//! body), or 502 when the server cannot be reached. The upstream request is built by the
//! core's [`upstream`] (as the inspector's relay tabs build it) from the handshake flags (or
//! the profile) and the client's request: its path and query (when URL has no path of its
//! own), its subprotocols (unless `-p` is given), its permessage-deflate offer, and its
//! `Origin`, `Cookie`, `Authorization` and `User-Agent` headers (unless `--origin` or `-H`
//! set them).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use ws_inspector_core::capture::Leg;
use ws_inspector_core::relay::{self, LegEnd, upstream};
use ws_tokio::ws_proto::UpgradeRequest;
use ws_tokio::{ConnectOptions, Decision, MaybeTlsStream, ServerOptions, WsStream};

use crate::args::RelayArgs;
use crate::exit::{self, Failure, Status};
use crate::output::{TapHub, TapSink, wants_tap};
use crate::{client_options, server_tls, tasks};

/// Runs `wsi relay`.
pub async fn run(args: RelayArgs) -> Status {
    match relay_clients(args).await {
        Ok(status) => status,
        Err(failure) => failure.report(),
    }
}

/// What every client's task shares.
#[derive(Debug)]
struct Shared {
    upstream: ConnectOptions,
    /// Whether `-p` was given (then the client's offer is not forwarded).
    fixed_protocols: bool,
    server: ServerOptions,
    sink: Option<TapHub>,
}

async fn relay_clients(args: RelayArgs) -> Result<Status, Failure> {
    let mut upstream = client_options::build(&args.handshake, args.url.as_deref())?;
    let leg = if args.whole_messages {
        relay::leg_config_whole
    } else {
        relay::leg_config
    };
    upstream.config = leg(upstream.config.clone());
    let tls = server_tls::config(&args.tls)?;
    let mut server = ServerOptions::default()
        .with_close_timeout(upstream.timeouts.close)
        .with_handshake_timeout(upstream.timeouts.handshake);
    server.config.max_message_size = upstream.config.max_message_size;
    server.config.max_frame_size = upstream.config.max_frame_size;
    // The client leg compresses as the server agreed, or not at all (`relayed_extensions`):
    // no policy of its own.
    server.config.deflate = None;
    server.config = leg(server.config.clone());
    let scheme = if tls.is_some() { "wss" } else { "ws" };
    server.tls = tls;

    let listener = TcpListener::bind(&args.addr)
        .await
        .map_err(|e| Failure::failed(format!("cannot listen on {}: {e}", args.addr)))?;
    let local = listener
        .local_addr()
        .map_err(|e| Failure::failed(format!("cannot listen on {}: {e}", args.addr)))?;
    eprintln!("wsi: listening on {scheme}://{local}/");
    eprintln!("wsi: relaying each client to {}", upstream.url);

    let (sink, sink_thread) = if wants_tap(&args.output) {
        let sink = TapSink::open(&args.output, "relay").map_err(Failure::usage)?;
        let (hub, thread) = sink.spawn_hub();
        (Some(hub), Some(thread))
    } else {
        (None, None)
    };
    let shared = Arc::new(Shared {
        upstream,
        fixed_protocols: !args.handshake.protocols.is_empty(),
        server,
        sink,
    });

    let (ended_tx, mut ended_rx) = mpsc::unbounded_channel::<Status>();
    let mut next_conn = 0u64;
    let mut running = 0u64;
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    let status = loop {
        tokio::select! {
            accepted = listener.accept(), if !(args.once && next_conn > 0) => match accepted {
                Ok((tcp, peer)) => {
                    next_conn += 1;
                    running += 1;
                    let shared = shared.clone();
                    let ended = ended_tx.clone();
                    let conn = next_conn;
                    tokio::spawn(async move {
                        let relayed = async move { relay_one(tcp, peer, conn, &shared).await };
                        let status = tasks::reported("a relayed client", relayed).await;
                        let _ = ended.send(status);
                    });
                }
                Err(e) => eprintln!("wsi: accepting a connection failed: {e}"),
            },
            Some(status) = ended_rx.recv() => {
                running = running.saturating_sub(1);
                if args.once {
                    break status;
                }
            }
            _ = &mut ctrl_c => {
                eprintln!("wsi: interrupted ({running} relayed connections dropped)");
                break Status::Ok;
            }
        }
    };
    drop(listener);
    drop(shared);
    if let Some(thread) = sink_thread {
        crate::output::finish_writing(thread, Some(Duration::from_secs(2))).await;
    }
    Ok(status)
}

/// One client: the upstream connection first, then the client's answer, then the relay.
async fn relay_one(tcp: TcpStream, peer: SocketAddr, conn: u64, shared: &Shared) -> Status {
    let mut server_options = shared.server.clone();
    if let Some(sink) = &shared.sink {
        server_options.tap = Some(sink.tap(Some(conn), Some(Leg::Client)));
    }
    let mut upstream: Option<Result<WsStream<MaybeTlsStream>, ws_tokio::Error>> = None;
    let slot = &mut upstream;
    let decide = |request: &UpgradeRequest| {
        let mut options =
            upstream::upstream_options(&shared.upstream, shared.fixed_protocols, request);
        let client_request = request.clone();
        if let Some(sink) = &shared.sink {
            options.tap = Some(sink.tap(Some(conn), Some(Leg::Server)));
        }
        async move {
            let connected = ws_tokio::connect(options).await;
            let decision = match &connected {
                Ok(ws) => Decision::Accept {
                    protocol: ws.handshake().protocol.clone(),
                    headers: upstream::relayed_extensions(
                        &client_request,
                        ws.handshake().deflate.as_ref(),
                    ),
                },
                Err(e) => upstream::refusal(e),
            };
            *slot = Some(connected);
            decision
        }
    };
    let client = ws_tokio::accept_deciding_later(tcp, &server_options, decide).await;
    let (client, server) = match (client, upstream) {
        (Ok(client), Some(Ok(server))) => (client, server),
        (_, Some(Err(e))) => {
            let failure = exit::describe(&e, &format!("#{conn} {peer}: upstream"));
            failure.report();
            return failure.status;
        }
        (Err(e), _) => {
            eprintln!("wsi: #{conn} {peer}: the client's opening handshake failed: {e}");
            return Status::Failed;
        }
        (Ok(_), None) => return Status::Failed,
    };
    eprintln!(
        "wsi: #{conn} {peer} connected: {} -> {}",
        client.handshake().request.uri(),
        server.handshake().request.uri()
    );
    let report = relay::run(client, server).await;
    eprintln!(
        "wsi: #{conn} {peer} ended: client {}, server {}; {} messages to the server, {} to the client",
        describe_end(&report.client),
        describe_end(&report.server),
        report.to_server,
        report.to_client
    );
    match (&report.client, &report.server) {
        (LegEnd::Failed(_), _) | (_, LegEnd::Failed(_)) => Status::Failed,
        _ => Status::Ok,
    }
}

fn describe_end(end: &LegEnd) -> String {
    match end {
        LegEnd::Closed { code, reason } if reason.is_empty() => format!("closed {code}"),
        LegEnd::Closed { code, reason } => format!("closed {code} {reason:?}"),
        LegEnd::Failed(e) => format!("failed ({e})"),
        LegEnd::Ended => "ended".to_owned(),
    }
}
