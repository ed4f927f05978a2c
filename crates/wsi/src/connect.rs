//! `wsi connect`: a client. The connection is split: a reader task receives (printing,
//! counting and matching what arrives, answering pings, completing the close), while this
//! task sends — the `--send` list, then stdin's lines, pings — and decides when to close.
//!
//! When to close:
//! - with `--count` or `--expect`: once they are met (then after `--wait`, if given), or when
//!   `--timeout-expect` runs out (exit 4); stdin's end does not close;
//! - otherwise with `--wait`: that long after the last send (stdin's end, if stdin is read);
//! - otherwise with `--close`: once the sends are done;
//! - otherwise when stdin ends (if it is read), when the peer closes, or on Ctrl-C.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use ws_tokio::ws_proto::bytes::Bytes;
use ws_tokio::ws_proto::{CloseCode, CloseFrame};
use ws_tokio::{Error, MaybeTlsStream, Message, Outgoing, ReadHalf, WriteHalf};

use crate::args::ConnectArgs;
use crate::client_options;
use crate::decoding::{Annotator, DecodePlan, Effects, ReaderDecoding, SenderDecoding, Shown};
use crate::exit::{self, Failure, Status};
use crate::expect::Goals;
use crate::output::{Printer, TapHub, TapSink, wants_tap};
use crate::sends::Outbound;
use ws_inspector_core::decode::{Context, Payload};
use ws_inspector_core::vars::Variables;
use ws_inspector_core::workflow::backoff::Backoff;
use ws_inspector_core::workflow::pings::Pinger;
use ws_inspector_core::workflow::stats::{self, Counts};

/// What the reader tells the sender.
#[derive(Debug)]
enum News {
    /// Every `--count` and `--expect` goal is met.
    GoalsMet,
    /// A pong arrived.
    Pong(Bytes, Instant),
    /// `--decode` with its protocol spoken: send these automatic packets.
    Send(Vec<Outgoing>),
    /// The protocol is ready (namespaces joined, connection acknowledged).
    ProtocolReady,
    /// Send the protocol's own heartbeat this often (Engine.IO 3).
    HeartbeatEvery(Duration),
}

/// How the reader ended.
#[derive(Debug)]
struct ReaderEnd {
    /// `Err` if the connection failed.
    result: Result<(), Error>,
    /// The peer's close frame, if one came.
    peer_close: Option<CloseFrame>,
    /// The goals, as far as they got.
    goals: Goals,
    /// Text and binary messages received.
    received: Counts,
}

/// Runs `wsi connect`.
pub async fn run(args: ConnectArgs, sends: Vec<Outbound>) -> Status {
    match connect_and_talk(args, sends).await {
        Ok(status) => status,
        Err(failure) => failure.report(),
    }
}

async fn connect_and_talk(mut args: ConnectArgs, sends: Vec<Outbound>) -> Result<Status, Failure> {
    // Every flag is checked before the first connection (a .proto file compiled).
    let decode = DecodePlan::from_args(&args.decode)?;
    if let Some(plan) = &decode {
        if let Some(url) = args.url.as_deref() {
            args.url = Some(plan.url(url));
        }
        if args.handshake.protocols.is_empty() {
            args.handshake.protocols = plan.default_protocols();
        }
    }
    client_options::build(&args.handshake, args.url.as_deref())?;
    let mut goals = Goals::new(args.end.count, &args.end.expect)?;
    let close_with = parse_close(args.send.close.as_deref())?;
    let expect_limit = client_options::secs(args.end.timeout_expect, "--timeout-expect")?;
    let wait = args
        .end
        .wait
        .map(|w| client_options::secs(w, "--wait"))
        .transpose()?;
    let ping_interval = args
        .send
        .ping_interval
        .map(|p| client_options::secs(p, "--ping-interval"))
        .transpose()?;
    let keepalive = args
        .send
        .keepalive
        .map(|k| client_options::secs(k, "--keepalive"))
        .transpose()?;
    let keepalive_timeout = match args.send.keepalive_timeout {
        Some(t) => Some(client_options::secs(t, "--keepalive-timeout")?),
        None => keepalive,
    };
    let send_every = match args.send.send_every {
        Some(0) => return Err(Failure::usage("--send-every must be at least 1 ms")),
        Some(ms) => Some(Duration::from_millis(ms)),
        None => None,
    };
    let mut backoff = backoff_from_args(&args.end)?;
    // Placeholders in the texts to send: checked now, so that a mistake sends nothing.
    let vars = client_options::variables(&args.handshake)?;
    for send in &sends {
        if let Outbound::Text(template) = send {
            vars.preview(template)
                .map_err(|e| Failure::usage(format!("--send {template:?}: {e}")))?;
        }
    }
    let use_stdin = !args.send.no_stdin && !std::io::stdin().is_terminal();
    // One sink for every attempt; with --reconnect each line names its attempt (`conn`).
    let sink = match wants_tap(&args.output) {
        false => Sink::None,
        true => {
            let mut sink = TapSink::open(&args.output, "connect").map_err(Failure::usage)?;
            if let Some(plan) = &decode {
                sink = sink.with_decoding(Annotator::new(plan));
            }
            match backoff {
                None => Sink::Single(sink),
                Some(_) => {
                    let (hub, thread) = sink.spawn_hub();
                    Sink::Tagged(hub, thread)
                }
            }
        }
    };
    let mut sink = sink;
    let mut single_thread = None;

    let mut attempt = 0u64;
    let status = loop {
        attempt += 1;
        let mut options = client_options::build(&args.handshake, args.url.as_deref())?;
        match &mut sink {
            Sink::None => {}
            Sink::Single(_) => {
                let (tap, rx) = ws_tokio::tap::channel(4096);
                options.tap = Some(tap);
                if let Sink::Single(taken) = std::mem::replace(&mut sink, Sink::None) {
                    single_thread = Some(taken.spawn_single(rx));
                }
            }
            Sink::Tagged(hub, _) => {
                options.tap = Some(hub.tap(Some(attempt), None));
            }
        }
        let close_timeout = options.timeouts.close;
        let options_timeout = options.timeouts.handshake;
        let ended = match ws_tokio::connect(options).await {
            Err(error) => Attempt {
                status: exit::describe(&error, "connect").report(),
                ours: false,
                goals,
            },
            Ok(ws) => {
                let context = Context {
                    protocol: ws.handshake().protocol.clone(),
                    url: ws.handshake().request.uri().to_string(),
                };
                let (read_decoding, send_decoding) = match &decode {
                    None => (None, None),
                    Some(plan) => {
                        let mut client = plan
                            .auto_protocol
                            .then(|| {
                                plan.incoming_codec
                                    .client(&context, plan.client_options.clone())
                            })
                            .flatten();
                        let sender = SenderDecoding::new(plan, &context, client.as_mut());
                        (
                            Some(ReaderDecoding::new(plan, &context, client)),
                            Some(sender),
                        )
                    }
                };
                let ready_timeout = options_timeout;
                let (read, write) = ws.into_split();
                let (news_tx, news_rx) = mpsc::unbounded_channel();
                let has_goals = goals.any();
                let has_patterns = goals.has_patterns();
                let printer = Printer::new(&args.output);
                let reader = tokio::spawn(read_loop(read, printer, goals, news_tx, read_decoding));
                let plan = Plan {
                    sends: sends.clone(),
                    use_stdin: use_stdin && attempt == 1,
                    has_goals,
                    has_patterns,
                    expect_limit,
                    wait,
                    close_after_sends: close_with.is_some(),
                    close_with: close_with
                        .clone()
                        .unwrap_or((CloseCode::NORMAL, String::new())),
                    ping_every: keepalive.or(ping_interval),
                    keepalive_timeout,
                    send_every,
                    send_rounds: args.send.send_count,
                    stats: args.end.stats,
                    vars: client_options::variables(&args.handshake)?,
                    close_timeout,
                    verbose: args.output.verbose,
                    decoding: send_decoding,
                    ready_timeout,
                };
                match talk(plan, write, reader, news_rx).await {
                    Ok(ended) => ended,
                    Err(failure) => Attempt {
                        status: failure.report(),
                        ours: false,
                        goals: Goals::new(args.end.count, &args.end.expect)?,
                    },
                }
            }
        };
        goals = ended.goals;
        let Some(backoff) = backoff.as_mut() else {
            break ended.status;
        };
        // A clean close by the server (1000) ends it too: only failures and abnormal closes
        // are reconnected.
        if ended.ours
            || matches!(ended.status, Status::Ok | Status::Usage)
            || (goals.any() && goals.met())
        {
            break ended.status;
        }
        let Some(delay) = backoff.next_delay() else {
            eprintln!("wsi: --reconnect: {attempt} attempts made, giving up");
            break ended.status;
        };
        eprintln!(
            "wsi: reconnecting in {:.2} s (attempt {} of {})",
            delay.as_secs_f64(),
            attempt + 1,
            backoff
                .max_attempts()
                .map_or("unlimited".to_owned(), |n| n.to_string())
        );
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = tokio::signal::ctrl_c() => break ended.status,
        }
    };
    // The taps' senders went with the connections: the sink ends once it has written all.
    let thread = match sink {
        Sink::Tagged(tx, thread) => {
            drop(tx);
            Some(thread)
        }
        _ => single_thread,
    };
    if let Some(thread) = thread {
        crate::output::finish_writing(thread, None).await;
    }
    Ok(status)
}

/// Where the tap reports go.
#[derive(Debug)]
enum Sink {
    /// Nowhere (no `-v`, no `--jsonl`).
    None,
    /// One connection's reports, straight to the sink's thread (not started yet).
    Single(TapSink),
    /// Every attempt's reports, tagged with its number, into the sink's thread.
    Tagged(TapHub, std::thread::JoinHandle<()>),
}

/// How one attempt ended.
#[derive(Debug)]
struct Attempt {
    status: Status,
    /// This side closed it (as planned, or on Ctrl-C): no reconnect.
    ours: bool,
    goals: Goals,
}

/// The `--reconnect` flags as a backoff (the core's, shared with the inspector).
fn backoff_from_args(args: &crate::args::EndArgs) -> Result<Option<Backoff>, Failure> {
    if !args.reconnect {
        return Ok(None);
    }
    let first = client_options::secs(args.reconnect_delay, "--reconnect-delay")?;
    let max = client_options::secs(args.reconnect_max_delay, "--reconnect-max-delay")?;
    Ok(Some(Backoff::new(first, max, args.reconnect_max)))
}

/// Everything the sending side needs to know.
#[derive(Debug)]
struct Plan {
    sends: Vec<Outbound>,
    use_stdin: bool,
    has_goals: bool,
    /// `--timeout-expect` applies only to `--expect` (a `--count` alone waits as long as
    /// the connection lasts).
    has_patterns: bool,
    expect_limit: Duration,
    wait: Option<Duration>,
    close_after_sends: bool,
    close_with: (CloseCode, String),
    ping_every: Option<Duration>,
    /// With keep-alive: how long a ping may wait for its pong.
    keepalive_timeout: Option<Duration>,
    /// Send the list again at this interval.
    send_every: Option<Duration>,
    /// Rounds of the send list in all (with `send_every`; none: until stopped).
    send_rounds: Option<u64>,
    /// Print `--stats` at the end.
    stats: bool,
    /// The `--var` variables and the connection's `{{counter}}`, for the texts sent.
    vars: Variables,
    close_timeout: Duration,
    verbose: bool,
    /// `--decode`: the opening packets, whether to wait for the protocol, `--encode`.
    decoding: Option<SenderDecoding>,
    /// How long the protocol may take to be ready.
    ready_timeout: Duration,
}

/// Why this side closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Closing {
    /// Not (yet).
    No,
    /// As planned: the sends are done, the goals met, the wait over, stdin ended.
    Done,
    /// `--timeout-expect` ran out.
    Unmet,
    /// Ctrl-C.
    Interrupted,
    /// A keep-alive ping's pong did not come in time.
    KeepAlive,
    /// The protocol (`--decode` socketio or graphql-ws) was not ready in time.
    NotReady,
}

async fn talk(
    mut plan: Plan,
    mut write: WriteHalf<MaybeTlsStream>,
    mut reader: JoinHandle<ReaderEnd>,
    mut news: mpsc::UnboundedReceiver<News>,
) -> Result<Attempt, Failure> {
    let opened = Instant::now();
    let mut closing = Closing::No;
    let mut goals_met = false;

    let mut sent = Counts::default();
    // --decode with its protocol spoken: its opening packets first, and the sends only once
    // the server has answered them.
    if let Some(decoding) = &mut plan.decoding {
        for out in std::mem::take(&mut decoding.opening) {
            send_automatic(&mut write, out, plan.verbose).await;
        }
    }
    let mut ready = !plan.decoding.as_ref().is_some_and(|d| d.wait_ready);
    let ready_deadline = tokio::time::Instant::now() + plan.ready_timeout;
    let mut rounds = 0u64;
    let mut repeat = None;
    let mut stdin = None;
    let mut sends_done_at = None;
    let mut heartbeats: Option<tokio::time::Interval> = None;
    if ready {
        start_sending(
            &mut plan,
            &mut write,
            &mut sent,
            &mut rounds,
            &mut repeat,
            &mut stdin,
            &mut sends_done_at,
        )
        .await;
    }

    let mut pings = plan.ping_every.map(interval_from_now);
    let mut pinger = Pinger::new(plan.keepalive_timeout);
    let mut keepalive_failure = None;
    let expect_deadline = tokio::time::Instant::now() + plan.expect_limit;
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    let mut wait_until: Option<tokio::time::Instant> = None;

    let end = loop {
        // Is it time to close?
        if closing == Closing::No {
            let ready = if plan.has_goals {
                goals_met && plan.wait.is_none()
            } else if plan.wait.is_some() {
                false // the wait timer closes
            } else {
                sends_done_at.is_some() && (plan.close_after_sends || plan.use_stdin)
            };
            if ready {
                closing = Closing::Done;
                close(&mut write, &plan.close_with).await;
            }
        }
        if wait_until.is_none()
            && let Some(wait) = plan.wait
        {
            wait_until = match (plan.has_goals, sends_done_at) {
                (true, _) if goals_met => Some(tokio::time::Instant::now() + wait),
                (false, Some(at)) => Some(at + wait),
                _ => None,
            };
        }
        tokio::select! {
            end = &mut reader => break end,
            news = news.recv() => match news {
                Some(News::GoalsMet) => goals_met = true,
                Some(News::Send(outs)) => {
                    for out in outs {
                        send_automatic(&mut write, out, plan.verbose).await;
                    }
                }
                Some(News::ProtocolReady) if !ready && closing == Closing::No => {
                    ready = true;
                    if plan.verbose {
                        eprintln!("wsi: the protocol is ready: sending");
                    }
                    start_sending(
                        &mut plan,
                        &mut write,
                        &mut sent,
                        &mut rounds,
                        &mut repeat,
                        &mut stdin,
                        &mut sends_done_at,
                    )
                    .await;
                }
                Some(News::ProtocolReady) => {}
                Some(News::HeartbeatEvery(every)) => heartbeats = Some(interval_from_now(every)),
                Some(News::Pong(data, at)) => {
                    if let Some((seq, rtt)) = pinger.pong(&data, at)
                        && plan.verbose
                    {
                        eprintln!("wsi: ping {seq}: round trip {:.3} ms", rtt.as_secs_f64() * 1e3);
                    }
                }
                None => {}
            },
            line = next_line(&mut stdin), if stdin.is_some() && closing == Closing::No => {
                match line {
                    Some(line) => {
                        if !send_text(&mut write, &mut plan.decoding, line, &mut sent).await {
                            stdin = None;
                        }
                    }
                    None => {
                        stdin = None;
                        sends_done_at = Some(tokio::time::Instant::now());
                    }
                }
            }
            _ = tick(&mut pings), if pings.is_some() && closing == Closing::No => {
                if let Some((seq, waited)) = pinger.overdue(Instant::now()) {
                    let reason = format!(
                        "keep-alive: ping {seq} had no pong within {:.1} s",
                        waited.as_secs_f64()
                    );
                    closing = Closing::KeepAlive;
                    close(&mut write, &(CloseCode::INTERNAL_ERROR, "keepalive ping timeout".to_owned())).await;
                    keepalive_failure = Some(reason);
                } else {
                    let _ = write.send(Outgoing::Ping(pinger.next_ping())).await;
                }
            }
            _ = tick(&mut heartbeats), if heartbeats.is_some() && closing == Closing::No => {
                if let Some(decoding) = &plan.decoding {
                    send_automatic(&mut write, decoding.heartbeat(), plan.verbose).await;
                }
            }
            _ = tokio::time::sleep_until(ready_deadline), if !ready && closing == Closing::No => {
                closing = Closing::NotReady;
                close(&mut write, &plan.close_with).await;
            }
            _ = tick(&mut repeat), if repeat.is_some() && closing == Closing::No => {
                send_round(&mut write, &plan.sends, &mut plan.vars, &mut sent, &mut plan.decoding).await;
                rounds += 1;
                if plan.send_rounds.is_some_and(|n| rounds >= n) {
                    repeat = None;
                    if !plan.use_stdin {
                        sends_done_at = Some(tokio::time::Instant::now());
                    }
                }
            }
            _ = tokio::time::sleep_until(expect_deadline),
                if plan.has_patterns && !goals_met && closing == Closing::No => {
                closing = Closing::Unmet;
                close(&mut write, &plan.close_with).await;
            }
            _ = sleep_until_some(wait_until), if wait_until.is_some() && closing == Closing::No => {
                closing = Closing::Done;
                close(&mut write, &plan.close_with).await;
            }
            _ = &mut ctrl_c, if closing != Closing::Interrupted => {
                eprintln!("wsi: interrupted: closing (Ctrl-C again to quit at once)");
                closing = Closing::Interrupted;
                close(&mut write, &(CloseCode::NORMAL, "interrupted".to_owned())).await;
                tokio::spawn(async {
                    if tokio::signal::ctrl_c().await.is_ok() {
                        std::process::exit(130);
                    }
                });
            }
        }
        if closing != Closing::No {
            // The reader completes the close within the close timeout; wait no longer
            // than that (and a little).
            let limit = plan.close_timeout + Duration::from_secs(1);
            match tokio::time::timeout(limit, &mut reader).await {
                Ok(end) => break end,
                Err(_) => {
                    reader.abort();
                    return Err(Failure::failed(format!(
                        "the close handshake did not finish within {:.1} s",
                        limit.as_secs_f64()
                    )));
                }
            }
        }
    };
    let end = end.map_err(|e| Failure::failed(format!("internal error: the reader task {e}")))?;
    if plan.stats {
        eprintln!(
            "wsi: {}",
            stats::summary(opened, sent, end.received, pinger.rtts())
        );
    }
    if closing == Closing::NotReady {
        return Ok(Attempt {
            status: Failure::failed(format!(
                "the server did not answer the protocol's opening within {:.1} s (--no-auto-protocol sends without waiting)",
                plan.ready_timeout.as_secs_f64()
            ))
            .report(),
            ours: false,
            goals: end.goals,
        });
    }
    if let Some(reason) = keepalive_failure {
        return Ok(Attempt {
            status: Failure::failed(reason).report(),
            ours: false,
            goals: end.goals,
        });
    }
    let status = outcome(&end, closing, &plan.close_with, opened);
    Ok(Attempt {
        status,
        ours: closing != Closing::No,
        goals: end.goals,
    })
}

/// Sends the `--send` list once (its texts' placeholders expanded), counting what went.
async fn send_round(
    write: &mut WriteHalf<MaybeTlsStream>,
    sends: &[Outbound],
    vars: &mut Variables,
    sent: &mut Counts,
    decoding: &mut Option<SenderDecoding>,
) {
    for send in sends {
        let outgoing = match send {
            Outbound::Text(template) => match vars.expand(template) {
                Ok(expanded) => {
                    if !send_text(write, decoding, expanded.text, sent).await {
                        break; // the reader says why
                    }
                    continue;
                }
                Err(e) => {
                    // Checked before connecting; an {{env.…}} unset since then.
                    eprintln!("wsi: --send {template:?}: {e}: not sent");
                    continue;
                }
            },
            Outbound::Binary(data) => Outgoing::Binary(data.clone()),
        };
        let len = send.payload_len();
        if write.send(outgoing).await.is_err() {
            break; // the reader says why
        }
        sent.add(len);
    }
}

/// Sends a text (a --send text or a stdin line), encoded with `--encode`; `false` if the
/// connection is gone. A text that does not encode is said on stderr and not sent.
async fn send_text(
    write: &mut WriteHalf<MaybeTlsStream>,
    decoding: &mut Option<SenderDecoding>,
    text: String,
    sent: &mut Counts,
) -> bool {
    let outs = match decoding {
        None => vec![Outgoing::Text(text)],
        Some(decoding) => match decoding.encode(text.clone()) {
            Ok(outs) => outs,
            Err(e) => {
                eprintln!("wsi: --encode: {text:?}: {e}: not sent");
                return true;
            }
        },
    };
    for out in outs {
        let len = match &out {
            Outgoing::Text(t) => t.len(),
            Outgoing::Binary(b) => b.len(),
            _ => 0,
        };
        if write.send(out).await.is_err() {
            return false;
        }
        sent.add(len);
    }
    true
}

/// Sends a packet the protocol's client made (said on stderr with -v).
async fn send_automatic(write: &mut WriteHalf<MaybeTlsStream>, out: Outgoing, verbose: bool) {
    if verbose {
        match &out {
            Outgoing::Text(t) => eprintln!("wsi: auto-protocol: sending {t}"),
            Outgoing::Binary(b) => {
                eprintln!("wsi: auto-protocol: sending {} binary bytes", b.len())
            }
            _ => {}
        }
    }
    // A failure means the connection has ended; the reader says how.
    let _ = write.send(out).await;
}

/// The first round of sends, and what follows it (stdin, repeats): at once, or once the
/// protocol is ready.
async fn start_sending(
    plan: &mut Plan,
    write: &mut WriteHalf<MaybeTlsStream>,
    sent: &mut Counts,
    rounds: &mut u64,
    repeat: &mut Option<tokio::time::Interval>,
    stdin: &mut Option<mpsc::Receiver<String>>,
    sends_done_at: &mut Option<tokio::time::Instant>,
) {
    send_round(write, &plan.sends, &mut plan.vars, sent, &mut plan.decoding).await;
    *rounds = 1;
    *repeat = plan
        .send_every
        .filter(|_| plan.send_rounds.is_none_or(|n| n > 1))
        .map(interval_from_now);
    *stdin = plan.use_stdin.then(stdin_lines);
    *sends_done_at = (!plan.use_stdin && repeat.is_none()).then(tokio::time::Instant::now);
}

/// An interval whose first tick is one period from now; late ticks are not caught up.
fn interval_from_now(every: Duration) -> tokio::time::Interval {
    let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval
}

/// The exit status for how the connection ended (the words go to stderr).
fn outcome(
    end: &ReaderEnd,
    closing: Closing,
    close_with: &(CloseCode, String),
    opened: Instant,
) -> Status {
    if closing == Closing::Unmet || (!end.goals.met() && end.goals.has_patterns()) {
        return Failure {
            status: Status::Unmet,
            message: format!(
                "not met within {:.1} s of opening: {}",
                opened.elapsed().as_secs_f64(),
                end.goals.missing()
            ),
        }
        .report();
    }
    let goals_met = end.goals.any() && end.goals.met();
    match (&end.result, &end.peer_close) {
        (Err(error), _) if !goals_met => exit::describe(error, "the connection failed").report(),
        (Err(error), _) => {
            eprintln!("wsi: every goal was met, then the connection failed: {error}");
            Status::Ok
        }
        (Ok(()), _) if goals_met => Status::Ok,
        (Ok(()), Some(frame)) => {
            let code = frame.code_or_no_status();
            let we_closed = closing != Closing::No;
            if we_closed || code == CloseCode::NORMAL || code == close_with.0 {
                Status::Ok
            } else {
                Failure::failed(format!(
                    "the server closed the connection with {code}{}",
                    if frame.reason.is_empty() {
                        String::new()
                    } else {
                        format!(": {:?}", frame.reason)
                    }
                ))
                .report()
            }
        }
        (Ok(()), None) => Failure::failed(format!(
            "the connection ended without a close frame ({})",
            CloseCode::ABNORMAL
        ))
        .report(),
    }
}

/// Receives until the end: prints, counts and matches; tells the sender about met goals and
/// pongs.
async fn read_loop(
    mut read: ReadHalf<MaybeTlsStream>,
    mut printer: Printer,
    mut goals: Goals,
    news: mpsc::UnboundedSender<News>,
    mut decoding: Option<ReaderDecoding>,
) -> ReaderEnd {
    use futures_util::FutureExt as _;
    let mut peer_close = None;
    let mut told = false;
    let mut received = Counts::default();
    let result = loop {
        // Flush stdout only when nothing more is waiting: one write per burst.
        let next = match read.recv().now_or_never() {
            Some(next) => next,
            None => {
                printer.flush();
                read.recv().await
            }
        };
        let message = match next {
            None => break Ok(()),
            Some(Err(e)) => break Err(e),
            Some(Ok(message)) => message,
        };
        let met = match &message {
            Message::Text(text) => {
                received.add(text.as_str().len());
                match decoding.as_mut() {
                    None => {
                        printer.message(&message);
                        goals.offer(Some(text.as_str()))
                    }
                    Some(d) => {
                        let (shown, effects) = d.receive(Payload::Text(text.as_str()));
                        tell(&news, effects);
                        show(
                            &mut printer,
                            &mut goals,
                            &message,
                            shown,
                            Some(text.as_str()),
                        )
                    }
                }
            }
            Message::Binary(data) => {
                received.add(data.len());
                match decoding.as_mut() {
                    None => {
                        printer.message(&message);
                        goals.offer(None)
                    }
                    Some(d) => {
                        let (shown, effects) = d.receive(Payload::Binary(data));
                        tell(&news, effects);
                        show(&mut printer, &mut goals, &message, shown, None)
                    }
                }
            }
            Message::Pong(data) => {
                let _ = news.send(News::Pong(data.clone(), Instant::now()));
                false
            }
            Message::Ping(_) => false,
            Message::Close(frame) => {
                peer_close = Some(frame.clone());
                false
            }
            // `wsi connect` takes messages whole (the engine's default): none come.
            Message::Fragment { .. } => false,
        };
        if met && !told {
            told = true;
            let _ = news.send(News::GoalsMet);
        }
    };
    printer.flush();
    ReaderEnd {
        result,
        peer_close,
        goals,
        received,
    }
}

/// Passes the protocol client's wishes to the sender.
fn tell(news: &mpsc::UnboundedSender<News>, effects: Effects) {
    if !effects.send.is_empty() {
        let _ = news.send(News::Send(effects.send));
    }
    if effects.ready {
        let _ = news.send(News::ProtocolReady);
    }
    if let Some(every) = effects.heartbeat_every {
        let _ = news.send(News::HeartbeatEvery(every));
    }
}

/// Prints a decoded message (or the message as it came) and offers it to the goals: the
/// decoded line is what --expect matches. A heartbeat is neither printed nor counted.
fn show(
    printer: &mut Printer,
    goals: &mut Goals,
    message: &Message,
    shown: Shown,
    raw_text: Option<&str>,
) -> bool {
    match shown {
        Shown::Line(line) => {
            printer.line(&line);
            goals.offer(Some(&line))
        }
        Shown::Heartbeat => false,
        Shown::Raw => {
            printer.message(message);
            goals.offer(raw_text)
        }
    }
}

async fn close(write: &mut WriteHalf<MaybeTlsStream>, (code, reason): &(CloseCode, String)) {
    // A failure here means the connection has ended already; the reader says how.
    let _ = write.close(Some(*code), reason).await;
}

/// `--close [CODE[:REASON]]`.
fn parse_close(value: Option<&str>) -> Result<Option<(CloseCode, String)>, Failure> {
    let Some(value) = value else { return Ok(None) };
    let (code, reason) = value.split_once(':').unwrap_or((value, ""));
    let code: u16 = code.trim().parse().map_err(|_| {
        Failure::usage(format!(
            "--close {value:?}: give a close code (1000, 4000–4999, …), optionally :REASON"
        ))
    })?;
    let code = CloseCode::from(code);
    if !code.is_valid_on_wire() {
        return Err(Failure::usage(format!(
            "--close {value:?}: {code} may not be sent in a close frame (RFC 6455 §7.4)"
        )));
    }
    if reason.len() > 123 {
        return Err(Failure::usage(
            "--close: the reason may be at most 123 bytes (a close frame's payload is 125)",
        ));
    }
    Ok(Some((code, reason.to_owned())))
}

/// stdin's lines, read by a task of its own (a line may be any length; `\n` or `\r\n` ends
/// it; a line that is not UTF-8 is reported and skipped).
fn stdin_lines() -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        let mut input = BufReader::with_capacity(64 << 10, tokio::io::stdin());
        let mut buf = Vec::new();
        let mut number = 0u64;
        loop {
            buf.clear();
            match input.read_until(b'\n', &mut buf).await {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    eprintln!("wsi: reading stdin failed: {e}");
                    break;
                }
            }
            number += 1;
            if buf.last() == Some(&b'\n') {
                buf.pop();
                if buf.last() == Some(&b'\r') {
                    buf.pop();
                }
            }
            match String::from_utf8(std::mem::take(&mut buf)) {
                Ok(line) => {
                    if tx.send(line).await.is_err() {
                        break;
                    }
                }
                Err(_) => eprintln!(
                    "wsi: stdin line {number} is not UTF-8, which a text message must be: \
                     skipped (send bytes with --send-hex or --send-file)"
                ),
            }
        }
    });
    rx
}

async fn next_line(stdin: &mut Option<mpsc::Receiver<String>>) -> Option<String> {
    match stdin {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn tick(interval: &mut Option<tokio::time::Interval>) {
    match interval {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}

async fn sleep_until_some(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_takes_a_code_and_a_reason() {
        assert_eq!(parse_close(None).unwrap(), None);
        assert_eq!(
            parse_close(Some("1000")).unwrap(),
            Some((CloseCode::NORMAL, String::new()))
        );
        assert_eq!(
            parse_close(Some("4001:bye: now")).unwrap(),
            Some((CloseCode::from(4001), "bye: now".to_owned()))
        );
        assert!(parse_close(Some("1005")).is_err());
        assert!(parse_close(Some("x")).is_err());
    }
}
