//! `wsi replay FILE [URL]`: a capture's client messages sent again — on the capture's timing,
//! or as fast as possible — and the server's answers now compared with its answers then.
//!
//! The client's pongs are not replayed (auto-pong answers the server's pings as they come);
//! its close is sent last, with the capture's code and reason, once the answers are in or
//! `--wait` has passed since the last message. What is compared: the server's text and
//! binary messages, in order.

use std::time::Duration;

use tokio::sync::oneshot;
use ws_inspector_core::capture::playback;
use ws_inspector_core::capture::script::ScriptMessage;
use ws_tokio::{MaybeTlsStream, ReadHalf};

use crate::args::ReplayArgs;
use crate::exit::{self, Failure, Status};
use crate::output::{Printer, TapSink, wants_tap};
use crate::{capture_file, client_options};

/// How many differences are listed before the rest are only counted.
const SHOWN_DIFFERENCES: usize = 5;

/// Runs `wsi replay`.
pub async fn run(args: ReplayArgs) -> Status {
    match replay(args).await {
        Ok(status) => status,
        Err(failure) => failure.report(),
    }
}

async fn replay(args: ReplayArgs) -> Result<Status, Failure> {
    let lines = capture_file::read(&args.file)?;
    let script = capture_file::pick_script(&lines, &args.pick)?;
    if script.compressed_skipped > 0 {
        eprintln!(
            "wsi: {} messages were sent compressed and the capture holds only their \
             compressed bytes: they are not replayed",
            script.compressed_skipped
        );
    }
    let url = match &args.url {
        Some(url) => url.clone(),
        None => capture_url(&lines).ok_or_else(|| {
            Failure::usage("give the URL to replay to: the capture's request has no absolute URL")
        })?,
    };
    let mut options = client_options::build(&args.handshake, Some(&url))?;
    if args.handshake.protocols.is_empty()
        && let Some(protocol) = &script.protocol
    {
        options.request.protocols = vec![protocol.clone()];
    }
    let wait = client_options::secs(args.wait, "--wait")?;
    let sink = if wants_tap(&args.output) {
        let sink = TapSink::open(&args.output, "replay").map_err(Failure::usage)?;
        let (tap, rx) = ws_tokio::tap::channel(4096);
        options.tap = Some(tap);
        Some(sink.spawn_single(rx))
    } else {
        None
    };

    // The same plan as the inspector's replay: the client's messages (no pongs), its close
    // last, the server's text and binary messages to compare with.
    let plan = playback::replay_plan(&script);
    let expected = plan.expected;

    let ws = ws_tokio::connect(options)
        .await
        .map_err(|e| exit::describe(&e, "connect"))?;
    let (read, mut write) = ws.into_split();
    let (enough_tx, enough_rx) = oneshot::channel();
    let printer = Printer::new(&args.output);
    let reader = tokio::spawn(collect(read, printer, expected.len(), enough_tx));

    let opened = tokio::time::Instant::now();
    let close = plan.close;
    let mut sent = 0usize;
    for (at, outgoing) in plan.sends {
        if !args.as_fast_as_possible {
            tokio::time::sleep_until(opened + at).await;
        }
        if write.send(outgoing).await.is_err() {
            break;
        }
        sent += 1;
    }
    // The answers, up to --wait after the last message.
    let _ = tokio::time::timeout(wait, enough_rx).await;
    let _ = write.close(close.0, &close.1).await;
    let end = tokio::time::timeout(Duration::from_secs(30), reader)
        .await
        .map_err(|_| Failure::failed("the close handshake did not finish"))?
        .map_err(|e| Failure::failed(format!("internal error: the reader task {e}")))?;
    drop(write);
    if let Some(sink) = sink {
        crate::output::finish_writing(sink, None).await;
    }

    eprintln!(
        "wsi: replay: sent {sent} messages; the server answered {} (the capture holds {})",
        end.received.len(),
        expected.len()
    );
    if let Err(error) = &end.result {
        return Ok(exit::describe(error, "the connection failed").report());
    }
    let differences = playback::compare(&expected, &end.received);
    if differences.is_empty() {
        eprintln!("wsi: replay: every answer is the same, in order");
        return Ok(Status::Ok);
    }
    for difference in differences.iter().take(SHOWN_DIFFERENCES) {
        eprintln!("wsi: replay: {difference}");
    }
    if differences.len() > SHOWN_DIFFERENCES {
        eprintln!(
            "wsi: replay: … and {} more differences",
            differences.len() - SHOWN_DIFFERENCES
        );
    }
    Ok(Status::Unmet)
}

/// How the reader ended.
#[derive(Debug)]
struct Collected {
    received: Vec<ScriptMessage>,
    result: Result<(), ws_tokio::Error>,
}

/// Receives until the end, printing and keeping the text and binary messages; says when
/// `expected` of them have come.
async fn collect(
    mut read: ReadHalf<MaybeTlsStream>,
    mut printer: Printer,
    expected: usize,
    enough: oneshot::Sender<()>,
) -> Collected {
    let mut received = Vec::new();
    let mut enough = Some(enough);
    if expected == 0
        && let Some(tx) = enough.take()
    {
        let _ = tx.send(());
    }
    let result = loop {
        match read.recv().await {
            None => break Ok(()),
            Some(Err(e)) => break Err(e),
            Some(Ok(message)) => {
                printer.message(&message);
                printer.flush();
                let Some(kept) = playback::answer(&message) else {
                    continue;
                };
                received.push(kept);
                if received.len() >= expected
                    && let Some(tx) = enough.take()
                {
                    let _ = tx.send(());
                }
            }
        }
    };
    Collected { received, result }
}

/// The absolute URL the capture's client connected to, if the capture holds it.
fn capture_url(lines: &[ws_inspector_core::capture::CaptureLine]) -> Option<String> {
    use ws_inspector_core::capture::Record;
    lines.iter().find_map(|line| match &line.record {
        Record::RequestSent { head, .. } if head.uri.starts_with("ws") => Some(head.uri.clone()),
        _ => None,
    })
}
