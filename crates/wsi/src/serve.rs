//! `wsi serve FILE ADDR`: a mock server from a capture. Each client gets the capture's
//! server messages in order, each sent once the client has sent as many messages as the
//! capture's client had before it (so an answer follows its question), or with
//! `--original-timing` at the capture's time since the opening (the core's
//! [`cues`](ws_inspector_core::capture::playback::cues), as the inspector's served
//! captures). The subprotocol the capture agreed is chosen when the client offers it. The server's pongs are not replayed
//! (auto-pong answers the client's pings); a close of the capture's server is sent with its
//! code and reason, and a client's close is answered.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use ws_inspector_core::capture::playback::{Cue, cues};
use ws_tokio::ws_proto::UpgradeRequest;
use ws_tokio::{Decision, Message, ServerOptions};

use crate::args::ServeArgs;
use crate::exit::{Failure, Status};
use crate::output::{Printer, TapSink, wants_tap};
use crate::{capture_file, client_options, server_tls, tasks};

/// Runs `wsi serve`.
pub async fn run(args: ServeArgs) -> Status {
    match serve(args).await {
        Ok(status) => status,
        Err(failure) => failure.report(),
    }
}

async fn serve(args: ServeArgs) -> Result<Status, Failure> {
    let lines = capture_file::read(&args.file)?;
    let script = capture_file::pick_script(&lines, &args.pick)?;
    let cues = Arc::new(cues(&script));
    let protocol = script.protocol.clone();
    let tls = server_tls::config(&args.tls)?;
    let mut options = ServerOptions::default()
        .with_close_timeout(client_options::secs(args.close_timeout, "--close-timeout")?);
    options.config.max_message_size = 64 << 20;
    options.config.max_frame_size = 64 << 20;
    let scheme = if tls.is_some() { "wss" } else { "ws" };
    options.tls = tls;

    let listener = TcpListener::bind(&args.addr)
        .await
        .map_err(|e| Failure::failed(format!("cannot listen on {}: {e}", args.addr)))?;
    let local = listener
        .local_addr()
        .map_err(|e| Failure::failed(format!("cannot listen on {}: {e}", args.addr)))?;
    eprintln!("wsi: listening on {scheme}://{local}/");
    eprintln!(
        "wsi: serving {} messages of {} to each client",
        cues.len(),
        args.file.display()
    );
    let (sink, sink_thread) = if wants_tap(&args.output) {
        let sink = TapSink::open(&args.output, "serve").map_err(Failure::usage)?;
        let (hub, thread) = sink.spawn_hub();
        (Some(hub), Some(thread))
    } else {
        (None, None)
    };
    let printer = Arc::new(std::sync::Mutex::new(Printer::new(&args.output)));
    let (ended_tx, mut ended_rx) = mpsc::unbounded_channel::<Status>();
    let mut conn = 0u64;
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    let status = loop {
        tokio::select! {
            accepted = listener.accept(), if !(args.once && conn > 0) => match accepted {
                Ok((tcp, peer)) => {
                    conn += 1;
                    let mut options = options.clone();
                    if let Some(sink) = &sink {
                        options.tap = Some(sink.tap(Some(conn), None));
                    }
                    let (cues, protocol, printer) = (cues.clone(), protocol.clone(), printer.clone());
                    let ended = ended_tx.clone();
                    let timing = args.original_timing;
                    let id = conn;
                    let client = async move {
                        let decide = |request: &UpgradeRequest| {
                            let supported: Vec<&str> = protocol.iter().map(String::as_str).collect();
                            Decision::accept_protocol(request, &supported)
                        };
                        let status = match ws_tokio::accept(tcp, &options, decide).await {
                            Ok(ws) => {
                                eprintln!("wsi: #{id} {peer} connected");
                                play(ws, &cues, timing, &printer).await
                            }
                            Err(e) => {
                                eprintln!("wsi: #{id} {peer}: the opening handshake failed: {e}");
                                Status::Failed
                            }
                        };
                        eprintln!("wsi: #{id} {peer} done");
                        status
                    };
                    tokio::spawn(async move {
                        let status = tasks::reported("a served client", client).await;
                        let _ = ended.send(status);
                    });
                }
                Err(e) => eprintln!("wsi: accepting a connection failed: {e}"),
            },
            Some(status) = ended_rx.recv() => {
                if args.once {
                    break status;
                }
            }
            _ = &mut ctrl_c => break Status::Ok,
        }
    };
    drop(listener);
    drop(sink);
    if let Some(thread) = sink_thread {
        crate::output::finish_writing(thread, Some(Duration::from_secs(2))).await;
    }
    Ok(status)
}

/// Plays `cues` to one client, printing what it sends, until the connection ends.
async fn play(
    mut ws: ws_tokio::WsStream<ws_tokio::MaybeTlsStream>,
    cues: &[Cue],
    original_timing: bool,
    printer: &std::sync::Mutex<Printer>,
) -> Status {
    let opened = tokio::time::Instant::now();
    let mut next = 0;
    let mut received = 0usize;
    loop {
        // Send every cue that is due.
        while let Some(cue) = cues.get(next) {
            let due = if original_timing {
                tokio::time::Instant::now() >= opened + cue.at
            } else {
                received >= cue.after_client
            };
            if !due {
                break;
            }
            next += 1;
            if ws.send(cue.message.clone()).await.is_err() {
                break;
            }
        }
        let timer = match cues.get(next) {
            Some(cue) if original_timing => Some(opened + cue.at),
            _ => None,
        };
        let message = tokio::select! {
            message = ws.recv() => message,
            _ = sleep_until(timer), if timer.is_some() => continue,
        };
        match message {
            None => return Status::Ok,
            Some(Err(e)) => {
                eprintln!("wsi: the connection failed: {e}");
                return Status::Failed;
            }
            Some(Ok(message)) => {
                if let Ok(mut printer) = printer.lock() {
                    printer.message(&message);
                    printer.flush();
                }
                if matches!(message, Message::Text(_) | Message::Binary(_)) {
                    received += 1;
                }
            }
        }
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at).await;
    }
}
