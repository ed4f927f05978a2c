//! Where things are written: received messages on stdout ([`Printer`]), and the tap's
//! reports — as JSON lines (`--jsonl`) and as readable lines on stderr (`-v`) — on a thread
//! of their own ([`TapSink`]), so that formatting and file writes never hold up the
//! connection.
//!
//! Both flush when they have caught up (nothing more is waiting), not per line: a pipe to
//! `jq` sees each line as soon as the connection is idle, and a flood costs one write per
//! buffer, not one per message.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::Path;

use ws_inspector_core::capture::{CaptureLine, JsonlWriter, Leg};
use ws_inspector_core::hex::hex_compact;
use ws_tokio::Message;
use ws_tokio::tap::{TapEvent, TapReceiver};

use crate::args::{BinaryOutput, OutputArgs};
use crate::decoding::Annotator;
use crate::verbose;

/// Writes received messages on stdout: text as a line, binary as a line of hex (or raw).
#[derive(Debug)]
pub struct Printer {
    out: Option<BufWriter<io::Stdout>>,
    binary: BinaryOutput,
    /// Flush after every message (stdout is a terminal).
    eager: bool,
}

impl Printer {
    /// A printer for these flags; prints nothing with `-q` or when the JSON lines go to
    /// stdout.
    pub fn new(output: &OutputArgs) -> Self {
        let jsonl_on_stdout = output.jsonl.as_deref() == Some(Path::new("-"));
        let stdout = io::stdout();
        let eager = stdout.is_terminal();
        Self {
            out: (!output.quiet && !jsonl_on_stdout)
                .then(|| BufWriter::with_capacity(64 << 10, stdout)),
            binary: output.binary,
            eager,
        }
    }

    /// Writes `message` if it is text or binary (pings, pongs and closes are shown by `-v`).
    pub fn message(&mut self, message: &Message) {
        let Some(out) = &mut self.out else { return };
        let written = match message {
            Message::Text(text) => out
                .write_all(text.as_str().as_bytes())
                .and_then(|()| out.write_all(b"\n")),
            Message::Binary(data) => match self.binary {
                BinaryOutput::Hex => out
                    .write_all(hex_compact(data).as_bytes())
                    .and_then(|()| out.write_all(b"\n")),
                BinaryOutput::Raw => out.write_all(data),
            },
            _ => return,
        };
        self.written(written);
    }

    /// Writes one line of text (a decoded message, `--decode`).
    pub fn line(&mut self, line: &str) {
        let Some(out) = &mut self.out else { return };
        let written = out
            .write_all(line.as_bytes())
            .and_then(|()| out.write_all(b"\n"));
        self.written(written);
    }

    fn written(&mut self, written: io::Result<()>) {
        if written.is_err() {
            // stdout is gone (a closed pipe): stop printing, keep the connection's outcome.
            self.out = None;
            return;
        }
        if self.eager {
            self.flush();
        }
    }

    /// Flushes what is written.
    pub fn flush(&mut self) {
        if let Some(out) = &mut self.out
            && out.flush().is_err()
        {
            self.out = None;
        }
    }
}

/// Where the taps of many connections go (a listener's or relay's clients, `connect
/// --reconnect`'s attempts): [`tap`](Self::tap) makes one for a connection, and the
/// writing thread ([`TapSink::spawn_hub`]) reads each connection's tap directly.
///
/// Why not one shared channel with a task per connection forwarding into it (as before):
/// that task was woken, and the report sent a second time, for every report — at 16
/// connections × 1 KiB through `wsi relay --jsonl` the taps' channels and those hops cost
/// a fifth of the relay's throughput, formatting the lines 2 %.
#[derive(Clone, Debug)]
pub struct TapHub {
    register: std::sync::mpsc::Sender<HubTap>,
}

/// One connection's tap as the writing thread holds it.
#[derive(Debug)]
struct HubTap {
    conn: Option<u64>,
    leg: Option<Leg>,
    rx: TapReceiver,
    /// The time of its last report taken (its lines keep their order whatever the clock).
    last: std::time::SystemTime,
}

impl TapHub {
    /// A tap for connection `conn` (on relay leg `leg`); its reports are written as lines
    /// that carry both.
    pub fn tap(&self, conn: Option<u64>, leg: Option<Leg>) -> ws_tokio::tap::Tap {
        let (tap, rx) = ws_tokio::tap::channel(1024);
        let _ = self.register.send(HubTap {
            conn,
            leg,
            rx,
            last: std::time::UNIX_EPOCH,
        });
        tap
    }
}

/// Whether these flags need the tap at all (without it the engine reports no frames and
/// nothing is copied).
pub fn wants_tap(output: &OutputArgs) -> bool {
    output.verbose || output.jsonl.is_some()
}

/// The consumer of tap reports: JSON lines and `-v` lines.
pub struct TapSink {
    jsonl: Option<JsonlWriter<BufWriter<Box<dyn Write + Send>>>>,
    jsonl_failed: bool,
    verbose: bool,
    /// `--decode`: the `decoded` field of the lines that end a message.
    annotator: Option<Annotator>,
}

impl std::fmt::Debug for TapSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TapSink")
            .field("jsonl", &self.jsonl.is_some())
            .field("verbose", &self.verbose)
            .field("annotator", &self.annotator)
            .finish()
    }
}

impl TapSink {
    /// Opens the `--jsonl` file (created or truncated; `-` is stdout) and writes the
    /// capture's first line, naming `subcommand`. An error says which file could not be
    /// opened.
    pub fn open(output: &OutputArgs, subcommand: &str) -> Result<Self, String> {
        let jsonl = match &output.jsonl {
            None => None,
            Some(path) => {
                let out: Box<dyn Write + Send> = if path == Path::new("-") {
                    Box::new(io::stdout())
                } else {
                    Box::new(File::create(path).map_err(|e| {
                        format!("--jsonl {}: cannot create the file: {e}", path.display())
                    })?)
                };
                // Small lines are gathered into 64 KiB writes; a line as long as that (a
                // frame of 48 KiB or more, in base64) goes to the file straight from the
                // writer's line buffer, not copied through this one first.
                let mut writer = JsonlWriter::new(BufWriter::with_capacity(64 << 10, out));
                let generator = format!("wsi {} {subcommand}", env!("CARGO_PKG_VERSION"));
                writer
                    .write_header(&generator)
                    .map_err(|e| format!("--jsonl {}: cannot write to it: {e}", path.display()))?;
                Some(writer)
            }
        };
        Ok(Self {
            jsonl,
            jsonl_failed: false,
            verbose: output.verbose,
            annotator: None,
        })
    }

    /// Decodes the messages both ways: their lines carry a `decoded` field (and `-v` shows
    /// each decoded message under its frame).
    pub fn with_decoding(mut self, annotator: Annotator) -> Self {
        self.annotator = Some(annotator);
        self
    }

    /// Writes one report.
    pub fn write(&mut self, conn: Option<u64>, leg: Option<Leg>, event: &TapEvent) {
        let decoded = self
            .annotator
            .as_mut()
            .and_then(|annotator| annotator.on_event(conn, event));
        if let Some(writer) = &mut self.jsonl {
            let written = match &decoded {
                None => writer.write_event_of(event, conn, leg),
                Some(decoded) => write_with_decoded(writer, event, conn, leg, &decoded.json),
            };
            if let Err(e) = written {
                self.fail_jsonl(&e);
            }
        }
        if self.verbose {
            verbose::print(conn, leg, event);
            if let Some(decoded) = &decoded {
                eprintln!(
                    "wsi: [+{:.3}s]    decoded: {}",
                    event.elapsed.as_secs_f64(),
                    decoded.summary
                );
            }
        }
    }

    /// Flushes the JSON lines.
    pub fn flush(&mut self) {
        if let Some(writer) = &mut self.jsonl
            && let Err(e) = writer.flush()
        {
            self.fail_jsonl(&e);
        }
    }

    fn fail_jsonl(&mut self, error: &io::Error) {
        if !self.jsonl_failed {
            eprintln!("wsi: --jsonl: writing failed ({error}); no more lines are written");
        }
        self.jsonl_failed = true;
        self.jsonl = None;
    }

    /// Runs on a thread of its own until every tap of `rx` is dropped (see [`drain`]).
    pub fn spawn_single(mut self, mut rx: TapReceiver) -> std::thread::JoinHandle<()> {
        std::thread::spawn(move || {
            drain(
                &mut rx,
                TapReceiver::try_recv,
                TapReceiver::blocking_recv,
                &mut self,
                |sink, event| sink.write(None, None, &event),
            );
        })
    }

    /// [`spawn_single`](Self::spawn_single) for the taps of many connections: the hub
    /// that makes them, and the thread, which ends once the hub and every tap are dropped
    /// and everything is written.
    pub fn spawn_hub(mut self) -> (TapHub, std::thread::JoinHandle<()>) {
        let (register, registered) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || self.run_hub(&registered));
        (TapHub { register }, thread)
    }

    /// The hub's loop: takes in new taps, drains every tap, writes what came in time order
    /// (each tap's reports in their own order), and naps when nothing came, as [`drain`]
    /// does — a millisecond at first, then, after 20 ms with nothing, 50 ms at a time
    /// unless a new connection's tap arrives (a polled receiver cannot wake the thread).
    fn run_hub(&mut self, registered: &std::sync::mpsc::Receiver<HubTap>) {
        let mut taps: Vec<HubTap> = Vec::new();
        let mut batch: Vec<(std::time::SystemTime, Option<u64>, Option<Leg>, TapEvent)> =
            Vec::new();
        let mut order: Vec<(std::time::SystemTime, usize)> = Vec::new();
        let mut taken: Vec<TapEvent> = Vec::new();
        let mut hub_open = true;
        let mut idle = 0u32;
        loop {
            loop {
                match registered.try_recv() {
                    Ok(tap) => taps.push(tap),
                    Err(std::sync::mpsc::TryRecvError::Empty) => break,
                    Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                        hub_open = false;
                        break;
                    }
                }
            }
            for tap in &mut taps {
                // All that waits, at once (the channel's room is freed once per tap, not
                // once per report).
                tap.rx.try_recv_many(&mut taken, 4096);
                for event in taken.drain(..) {
                    tap.last = tap.last.max(event.time);
                    batch.push((tap.last, tap.conn, tap.leg, event));
                }
            }
            taps.retain(|tap| !tap.rx.is_finished());
            if !batch.is_empty() {
                // Stable: a tap's reports keep their order (their keys never decrease). The
                // keys are sorted, not the reports: moving whole reports was 1.5 % of a
                // logging relay's time.
                order.clear();
                order.extend(batch.iter().enumerate().map(|(i, (key, ..))| (*key, i)));
                order.sort_by_key(|(key, _)| *key);
                for &(_, i) in &order {
                    let (_, conn, leg, event) = &batch[i];
                    self.write(*conn, *leg, event);
                }
                batch.clear();
                idle = 0;
                continue;
            }
            if !hub_open && taps.is_empty() {
                break;
            }
            if idle == 0 {
                self.flush();
            }
            idle = idle.saturating_add(1);
            let nap = if idle <= IDLE_SLEEPS {
                CATCH_UP
            } else {
                std::time::Duration::from_millis(50)
            };
            if hub_open {
                match registered.recv_timeout(nap) {
                    Ok(tap) => taps.push(tap),
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                    Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => hub_open = false,
                }
            } else {
                std::thread::sleep(nap);
            }
        }
        self.flush();
    }
}

/// Waits for a writing thread ([`TapSink::spawn_single`], [`TapSink::spawn_hub`]) to write
/// its last lines — at most `limit`, if given — and says on stderr if it panicked: its
/// output is then incomplete, and nothing else would tell.
pub async fn finish_writing(
    thread: std::thread::JoinHandle<()>,
    limit: Option<std::time::Duration>,
) {
    let joined = tokio::task::spawn_blocking(move || thread.join());
    let joined = match limit {
        Some(limit) => match tokio::time::timeout(limit, joined).await {
            Ok(joined) => joined,
            // Still writing after the limit: what is written stays; the process ends.
            Err(_) => return,
        },
        None => joined.await,
    };
    if !matches!(joined, Ok(Ok(()))) {
        eprintln!("wsi: the thread writing -v and --jsonl output failed; its output is incomplete");
    }
}

/// How long the writing thread sleeps when it has caught up, while reports keep coming.
const CATCH_UP: std::time::Duration = std::time::Duration::from_millis(1);

/// How many of those sleeps find nothing before the thread blocks on the channel instead.
const IDLE_SLEEPS: u32 = 20;

/// The writing thread's loop: writes every report, flushes each time it has caught up, and
/// ends when the channel does.
///
/// Under load it takes what has come in batches, a millisecond apart, instead of blocking on
/// the channel after each report: a blocked receiver is woken by every send — a futex call
/// on the connection's thread and two context switches per report, which on one core cost
/// the relay a quarter of its throughput (BENCHMARKS.md, "Relay"). A receiver that is not
/// blocked costs a send nothing. After 20 ms with nothing to write it blocks again, so an
/// idle `wsi` does not wake. Lines reach the file within about a millisecond.
fn drain<R, T>(
    rx: &mut R,
    try_next: impl Fn(&mut R) -> Option<T>,
    wait: impl Fn(&mut R) -> Option<T>,
    sink: &mut TapSink,
    write: impl Fn(&mut TapSink, T),
) {
    let mut idle = 0u32;
    loop {
        match try_next(rx) {
            Some(report) => {
                write(sink, report);
                idle = 0;
            }
            None => {
                if idle == 0 {
                    sink.flush();
                }
                if idle < IDLE_SLEEPS {
                    idle += 1;
                    std::thread::sleep(CATCH_UP);
                } else {
                    match wait(rx) {
                        Some(report) => {
                            write(sink, report);
                            idle = 0;
                        }
                        None => break,
                    }
                }
            }
        }
    }
    sink.flush();
}

/// Writes `event`'s line with `"decoded": DECODED` added after its `record`: a field of the
/// line, which the capture's readers (and `CaptureLine`) ignore.
fn write_with_decoded<W: Write>(
    writer: &mut JsonlWriter<W>,
    event: &TapEvent,
    conn: Option<u64>,
    leg: Option<Leg>,
    decoded: &str,
) -> io::Result<()> {
    let Some(line) = CaptureLine::from_tap(event) else {
        return writer.write_event_of(event, conn, leg);
    };
    let line = line.with_conn(conn).with_leg(leg);
    let mut text = serde_json::to_vec(&line).map_err(io::Error::other)?;
    // The line is a JSON object: its closing brace makes way for the field.
    if text.last() != Some(&b'}') {
        return writer.write_line(&line);
    }
    text.pop();
    text.extend_from_slice(b",\"decoded\":");
    text.extend_from_slice(decoded.as_bytes());
    text.extend_from_slice(b"}\n");
    writer.get_mut().write_all(&text)
}
