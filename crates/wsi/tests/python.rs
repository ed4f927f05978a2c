//! `wsi` against Python `websockets` (PyPI, pinned in `tests/python/requirements.txt`), an
//! independent implementation, in its three roles, on loopback only:
//!
//! - **connect** against `tests/python/echo_server.py`: `--send`/`--send-hex`/`--expect`/
//!   `--close`, stdin lines with `--count`, `--close CODE:REASON`, an `--expect` never met
//!   (exit 4), and `--compress` with permessage-deflate agreed (RSV1 both ways in `--jsonl`);
//! - **listen** with `tests/python/client.py` (its whole message script — text and binary,
//!   empty to 1 MiB, fragmented, a ping — with and without permessage-deflate) and with
//!   `tests/python/wsi_client.py` (`--send`, `-p`, and `--tls-self-signed`, whose printed
//!   fingerprint must be the SHA-256 of the certificate Python received);
//! - **relay** between `client.py` and `echo_server.py`, with and without `--compress`.
//!
//! Every test is `#[ignore]`d: `cargo test -p wsi -- --ignored` runs them. The venv comes from
//! `tests/python/setup.sh` (the one tests/tests/python_websockets.rs uses, under `target/`),
//! which fails loudly — these tests never skip — when Python 3 is missing. Every process has
//! a watchdog that kills it after 20 s and fails the test; every wait and loop is bounded.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use regex::Regex;
use serde_json::Value;
use tokio::sync::mpsc;
use ws_inspector_core::capture::{CaptureLine, FORMAT, JsonlReader, Leg, OpenedRecord, Record};

/// Every process is killed, and its test fails, after this long.
const WATCHDOG: Duration = Duration::from_secs(20);
/// The limit for any one step (a line from a process).
const STEP: Duration = Duration::from_secs(10);
/// What a Python client gets for its whole run (under the watchdog).
const CLIENT_TIMEOUT: &str = "17";
/// The messages in `common.script()`, which client.py sends.
const SCRIPT_MESSAGES: u64 = 16;

// ---------------------------------------------------------------------------------------------
// connect against echo_server.py.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop with Python websockets: cargo test -p wsi -- --ignored"]
async fn connect_sends_text_and_hex_expects_and_closes() {
    let mut server = EchoServer::start(&[]).await;
    let url = server.url("/wsi");
    let out = Proc::wsi(
        &[
            "connect",
            &url,
            "--send",
            "hello",
            "--send-hex",
            "00ff",
            "--expect",
            "hello",
            "--close",
        ],
        Input::Null,
    )
    .finish()
    .await;
    out.expect_status(0);
    let lines = out.stdout_lines();
    assert!(lines.contains(&"hello"), "the text echo on stdout\n{out}");
    assert!(
        lines.contains(&"00ff"),
        "the binary echo on stdout, as hex\n{out}"
    );
    let open = server.event("open").await;
    assert_eq!(open["path"], "/wsi", "the request path");
    let closed = server.event("closed").await;
    assert_eq!(
        closed["messages"], 2,
        "messages Python echoed: {closed}\n{out}"
    );
    assert_eq!(
        closed["code"], 1000,
        "the close code Python received: {closed}\n{out}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop with Python websockets: cargo test -p wsi -- --ignored"]
async fn connect_sends_stdin_lines() {
    let mut server = EchoServer::start(&[]).await;
    let url = server.url("/");
    let mut wsi = Proc::wsi(&["connect", &url, "--count", "2"], Input::Piped);
    wsi.write_stdin(b"a\nb\n");
    wsi.close_stdin();
    let out = wsi.finish().await;
    out.expect_status(0);
    assert_eq!(
        out.stdout_lines(),
        ["a", "b"],
        "the echoes of the stdin lines\n{out}"
    );
    server.event("open").await;
    let closed = server.event("closed").await;
    assert_eq!(
        closed["messages"], 2,
        "the stdin lines Python echoed: {closed}\n{out}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop with Python websockets: cargo test -p wsi -- --ignored"]
async fn connect_close_with_code_and_reason() {
    let mut server = EchoServer::start(&[]).await;
    let url = server.url("/");
    let out = Proc::wsi(&["connect", &url, "--close", "4001:bye"], Input::Null)
        .finish()
        .await;
    out.expect_status(0);
    server.event("open").await;
    let closed = server.event("closed").await;
    assert_eq!(
        closed["code"], 4001,
        "the close code Python received: {closed}\n{out}"
    );
    assert_eq!(
        closed["reason"], "bye",
        "the close reason Python received: {closed}\n{out}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop with Python websockets: cargo test -p wsi -- --ignored"]
async fn connect_expect_not_met_exits_4() {
    let server = EchoServer::start(&[]).await;
    let url = server.url("/");
    let started = Instant::now();
    // Stdin stays open (an interactive session): only the --expect deadline ends the run.
    let out = Proc::wsi(
        &[
            "connect",
            &url,
            "--send",
            "something else",
            "--expect",
            "nomatch",
            "--timeout-expect",
            "1",
        ],
        Input::Piped,
    )
    .finish()
    .await;
    out.expect_status(4);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900),
        "exit 4 after {took:?}, before the 1 s --timeout-expect\n{out}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop with Python websockets: cargo test -p wsi -- --ignored"]
async fn connect_compress_agrees_permessage_deflate() {
    let mut server = EchoServer::start(&[]).await;
    let url = server.url("/");
    let jsonl = scratch_file("py-connect-compress.jsonl");
    let text = "{\"status\":\"ok\",\"value\":42},".repeat(80);
    let out = Proc::wsi(
        &[
            "connect",
            &url,
            "--compress",
            "--send",
            &text,
            "--expect",
            "status",
            "--close",
            "--jsonl",
            path_str(&jsonl),
        ],
        Input::Null,
    )
    .finish()
    .await;
    out.expect_status(0);
    assert!(
        out.stdout_lines().contains(&text.as_str()),
        "the inflated echo on stdout\n{out}"
    );
    let open = server.event("open").await;
    let offer = open["request_extensions"].as_str().unwrap_or_default();
    assert!(
        offer.contains("permessage-deflate"),
        "--compress offers permessage-deflate: {open}"
    );
    let answer = open["response_extensions"].as_str().unwrap_or_default();
    assert!(
        answer.starts_with("permessage-deflate"),
        "Python agreed permessage-deflate: {open}"
    );
    let closed = server.event("closed").await;
    assert_eq!(
        closed["frames_in"]["rsv1_frames"], 1,
        "Python received one compressed frame: {closed}"
    );
    assert_eq!(closed["code"], 1000);
    server.stop().await;

    let lines = read_capture_lines(&jsonl);
    let opened = opened_record(&lines, None);
    assert!(
        opened.deflate.is_some(),
        "the Opened record has the deflate parameters: {opened:?}"
    );
    let text_frame = |incoming: bool| {
        lines.iter().find_map(|l| match &l.record {
            Record::Frame(f) if f.incoming == incoming && f.opcode == 1 => Some(f.clone()),
            _ => None,
        })
    };
    for incoming in [false, true] {
        let frame = text_frame(incoming)
            .unwrap_or_else(|| panic!("no text frame with incoming={incoming} in the capture"));
        assert!(frame.rsv1, "RSV1 on the compressed frame: {frame:?}");
        assert!(
            frame.payload.len() * 4 < text.len(),
            "the frame is compressed: {} bytes on the wire for {}",
            frame.payload.len(),
            text.len()
        );
    }
    assert!(
        lines
            .iter()
            .any(|l| matches!(&l.record, Record::Inflated(_))),
        "an Inflated record for the compressed echo"
    );
}

// ---------------------------------------------------------------------------------------------
// listen with Python clients.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop with Python websockets: cargo test -p wsi -- --ignored"]
async fn listen_echoes_the_client_script_with_compress() {
    let mut wsi = Proc::wsi(
        &[
            "listen",
            "127.0.0.1:0",
            "--echo",
            "--once",
            "--compress",
            "-q",
        ],
        Input::Null,
    );
    let addr = wsi.listening_first_line("ws").await;
    let report = python_client(&format!("ws://{addr}/script"), &[]).await;
    assert!(
        !report["deflate"].is_null(),
        "permessage-deflate agreed with --compress: {report}"
    );
    wsi.finish().await.expect_status(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop with Python websockets: cargo test -p wsi -- --ignored"]
async fn listen_declines_compression_without_compress() {
    let mut wsi = Proc::wsi(
        &["listen", "127.0.0.1:0", "--echo", "--once", "-q"],
        Input::Null,
    );
    let addr = wsi.listening_first_line("ws").await;
    // client.py offers permessage-deflate; without --compress wsi declines it.
    let report = python_client(&format!("ws://{addr}/"), &[]).await;
    assert!(
        report["response_extensions"].is_null(),
        "no Sec-WebSocket-Extensions in the answer: {report}"
    );
    wsi.finish().await.expect_status(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop with Python websockets: cargo test -p wsi -- --ignored"]
async fn listen_sends_welcome_and_chooses_subprotocol() {
    let mut wsi = Proc::wsi(
        &[
            "listen",
            "127.0.0.1:0",
            "--echo",
            "--send",
            "welcome",
            "-p",
            "chat",
            "--once",
        ],
        Input::Null,
    );
    let addr = wsi.listening_first_line("ws").await;
    let report = small_client(&[
        &format!("ws://{addr}/"),
        "--subprotocol",
        "other",
        "--subprotocol",
        "chat",
        "--send",
        "after",
        "--receive",
        "2",
    ])
    .await;
    assert_eq!(
        report["subprotocol"], "chat",
        "the subprotocol wsi chose: {report}"
    );
    assert_eq!(
        report["received"],
        serde_json::json!([{"text": "welcome"}, {"text": "after"}]),
        "--send first, then the echo: {report}"
    );
    assert_eq!(report["close_code"], 1000, "wsi's close reply: {report}");
    wsi.finish().await.expect_status(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop with Python websockets: cargo test -p wsi -- --ignored"]
async fn listen_tls_self_signed() {
    let mut wsi = Proc::wsi(
        &[
            "listen",
            "127.0.0.1:0",
            "--echo",
            "--once",
            "--tls-self-signed",
        ],
        Input::Null,
    );
    let (addr, fingerprint) = wsi.listening_tls().await;
    let report = small_client(&[
        &format!("wss://127.0.0.1:{}/", addr.port()),
        "--insecure",
        "--send",
        "secure",
        "--receive",
        "1",
    ])
    .await;
    assert_eq!(
        report["received"],
        serde_json::json!([{"text": "secure"}]),
        "the echo over TLS: {report}"
    );
    assert_eq!(
        report["cert_sha256"].as_str(),
        Some(fingerprint.as_str()),
        "the printed fingerprint is the SHA-256 of the certificate Python received: {report}"
    );
    wsi.finish().await.expect_status(0);
}

// ---------------------------------------------------------------------------------------------
// relay between client.py and echo_server.py.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop with Python websockets: cargo test -p wsi -- --ignored"]
async fn relay_carries_the_client_script() {
    let mut server = EchoServer::start(&[]).await;
    let target = server.url("");
    let jsonl = scratch_file("py-relay.jsonl");
    let mut relay = Proc::wsi(
        &[
            "relay",
            "127.0.0.1:0",
            &target,
            "--once",
            "-q",
            "--jsonl",
            path_str(&jsonl),
        ],
        Input::Null,
    );
    let addr = relay.listening_first_line("ws").await;
    python_client(&format!("ws://{addr}/"), &["--compression", "none"]).await;
    let out = relay.finish().await;
    out.expect_status(0);
    server.event("open").await;
    let closed = server.event("closed").await;
    assert_eq!(
        closed["messages"], SCRIPT_MESSAGES,
        "every message reached the server: {closed}\n{out}"
    );
    assert_eq!(
        closed["code"], 1000,
        "the client's close 1000 reached the server: {closed}\n{out}"
    );
    server.stop().await;

    let lines = read_capture_lines(&jsonl);
    for leg in [Leg::Client, Leg::Server] {
        for incoming in [false, true] {
            let frames = lines
                .iter()
                .filter(|l| {
                    l.leg == Some(leg)
                        && matches!(&l.record, Record::Frame(f)
                            if f.incoming == incoming && matches!(f.opcode, 0..=2))
                })
                .count();
            assert!(
                frames >= SCRIPT_MESSAGES as usize,
                "{} leg, incoming={incoming}: {frames} data frames",
                leg.as_str()
            );
        }
    }
    assert!(
        lines.iter().all(|l| l.leg.is_some() && l.conn == Some(1)),
        "every relay line has its leg and conn 1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop with Python websockets: cargo test -p wsi -- --ignored"]
async fn relay_compress_upstream() {
    let mut server = EchoServer::start(&[]).await;
    let target = server.url("");
    let mut relay = Proc::wsi(
        &[
            "relay",
            "127.0.0.1:0",
            &target,
            "--once",
            "--compress",
            "-q",
        ],
        Input::Null,
    );
    let addr = relay.listening_first_line("ws").await;
    python_client(&format!("ws://{addr}/"), &[]).await;
    let out = relay.finish().await;
    out.expect_status(0);
    let open = server.event("open").await;
    assert!(
        open["response_extensions"]
            .as_str()
            .is_some_and(|e| e.starts_with("permessage-deflate")),
        "--compress: permessage-deflate agreed upstream: {open}\n{out}"
    );
    let closed = server.event("closed").await;
    assert_eq!(closed["messages"], SCRIPT_MESSAGES, "{closed}\n{out}");
    assert_eq!(closed["code"], 1000, "{closed}\n{out}");
    assert!(
        closed["frames_in"]["rsv1_frames"].as_u64().unwrap_or(0) > 0,
        "the relay compressed upstream: {closed}"
    );
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// The Python programs.

/// tests/python/echo_server.py; exits when its stdin closes.
struct EchoServer {
    proc: Proc,
    port: u16,
}

impl EchoServer {
    async fn start(args: &[&str]) -> Self {
        let mut proc = Proc::python("echo_server.py", args, Input::Piped);
        let listening = proc.event("listening").await;
        let port = listening["port"]
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or_else(|| panic!("no port in {listening}"));
        Self { proc, port }
    }

    fn url(&self, path: &str) -> String {
        format!("ws://127.0.0.1:{}{path}", self.port)
    }

    async fn event(&mut self, name: &str) -> Value {
        self.proc.event(name).await
    }

    async fn stop(mut self) {
        self.proc.close_stdin();
        self.proc.finish().await.expect_status(0);
    }
}

/// Runs tests/python/client.py URL ARGS (the message script) and checks its report: every
/// echo intact, the ping answered, closed with 1000.
async fn python_client(url: &str, args: &[&str]) -> Value {
    let mut all = vec![url, "--timeout", CLIENT_TIMEOUT];
    all.extend_from_slice(args);
    let out = Proc::python("client.py", &all, Input::Null).finish().await;
    let report = last_json(&out);
    assert!(
        out.status.success() && report["ok"] == true,
        "client.py failed: {report}\n{out}"
    );
    assert_eq!(report["ping"], true, "the ping answered: {report}");
    assert_eq!(report["close_code"], 1000, "the close reply: {report}");
    report
}

/// Runs tests/python/wsi_client.py ARGS and returns its report, which must be ok.
async fn small_client(args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend_from_slice(&["--timeout", CLIENT_TIMEOUT]);
    let out = Proc::python("wsi_client.py", &all, Input::Null)
        .finish()
        .await;
    let report = last_json(&out);
    assert!(
        out.status.success() && report["ok"] == true,
        "wsi_client.py failed: {report}\n{out}"
    );
    report
}

fn last_json(out: &Finished) -> Value {
    let line = out
        .stdout_lines()
        .last()
        .copied()
        .unwrap_or_else(|| panic!("no report on stdout\n{out}"));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}\n{out}"))
}

/// The venv's Python, from tests/python/setup.sh (idempotent; it fails loudly, with the
/// reason, when Python 3 or its venv module is missing — never a skip).
fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let script = repo_root().join("tests/python/setup.sh");
        let output = Command::new("bash")
            .arg(&script)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "Python websockets could not be set up ({}):\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        let venv = stdout
            .lines()
            .rev()
            .find_map(|line| line.strip_prefix("python: venv="))
            .unwrap_or_else(|| panic!("{} did not name the venv:\n{stdout}", script.display()));
        PathBuf::from(venv).join("bin/python")
    })
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root")
}

// ---------------------------------------------------------------------------------------------
// Captures.

/// A file under Cargo's scratch folder for integration tests, removed if left over.
fn scratch_file(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wsi-python");
    std::fs::create_dir_all(&dir).expect("scratch folder");
    let path = dir.join(format!("{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// Every report line of a `--jsonl` capture, each read back as its tap event too. The
/// capture's header line (`Record::Capture`), allowed only as the first line, is checked and
/// left out.
fn read_capture_lines(path: &std::path::Path) -> Vec<CaptureLine> {
    let file = File::open(path).unwrap_or_else(|e| panic!("no capture at {}: {e}", path.display()));
    let mut reader = JsonlReader::new(BufReader::new(file));
    let mut lines = Vec::new();
    for number in 1..=1_000_000u64 {
        let line = match reader.next_line() {
            None => {
                assert!(!lines.is_empty(), "{} has no reports", path.display());
                return lines;
            }
            Some(Ok(line)) => line,
            Some(Err(e)) => panic!("{}: {e}", path.display()),
        };
        if let Record::Capture { format, generator } = &line.record {
            assert_eq!(
                number,
                1,
                "{}: a header after the first line: {line:?}",
                path.display()
            );
            assert_eq!(format, FORMAT, "{}: the header's format", path.display());
            assert!(
                generator.starts_with("wsi "),
                "{}: the header's generator: {line:?}",
                path.display()
            );
            continue;
        }
        if let Err(e) = line.to_tap() {
            panic!("{}: not a tap event ({e}): {line:?}", path.display());
        }
        lines.push(line);
    }
    panic!("{}: too many lines", path.display());
}

/// The Opened record of connection `conn`.
fn opened_record(lines: &[CaptureLine], conn: Option<u64>) -> OpenedRecord {
    lines
        .iter()
        .filter(|l| l.conn == conn)
        .find_map(|l| match &l.record {
            Record::Opened(opened) => Some((**opened).clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no Opened record for conn {conn:?}: {lines:?}"))
}

// ---------------------------------------------------------------------------------------------
// Processes.

/// What a child's stdin is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Input {
    /// `/dev/null`: at its end at once.
    Null,
    /// A pipe the test writes and closes (held open until then).
    Piped,
}

/// A child process with a watchdog: killed (and the test failed) after [`WATCHDOG`], and on
/// drop. Its stdout and stderr are collected, and also handed over line by line.
struct Proc {
    what: String,
    child: Arc<Mutex<Child>>,
    stdin: Option<ChildStdin>,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    stdout_lines: mpsc::UnboundedReceiver<String>,
    stderr_lines: mpsc::UnboundedReceiver<String>,
    readers: Vec<JoinHandle<()>>,
    killed: Arc<AtomicBool>,
    stop_watchdog: Option<std::sync::mpsc::Sender<()>>,
    started: Instant,
}

/// How a process ended.
#[derive(Debug)]
struct Finished {
    what: String,
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl std::fmt::Display for Finished {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` exited with {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.what, self.status, self.stdout, self.stderr
        )
    }
}

impl Finished {
    fn expect_status(&self, code: i32) {
        assert_eq!(self.status.code(), Some(code), "exit status\n{self}");
    }

    fn stdout_lines(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.is_empty())
            .collect()
    }
}

/// Reads `pipe` to its end into `sink`, sending each line on `lines` too.
fn read_lines(
    pipe: impl std::io::Read + Send + 'static,
    sink: Arc<Mutex<Vec<u8>>>,
    lines: mpsc::UnboundedSender<String>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    lock(&sink).extend_from_slice(&line);
                    let _ = lines.send(String::from_utf8_lossy(&line).trim_end().to_owned());
                }
            }
        }
    })
}

impl Proc {
    /// `wsi ARGS`.
    fn wsi(args: &[&str], input: Input) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_wsi"));
        command.args(args);
        Self::spawn(format!("wsi {}", args.join(" ")), command, input)
    }

    /// `python -u tests/python/SCRIPT ARGS` in the venv.
    fn python(script: &str, args: &[&str], input: Input) -> Self {
        let mut command = Command::new(python());
        command
            .arg("-u")
            .arg(repo_root().join("tests/python").join(script))
            .args(args)
            .env("PYTHONDONTWRITEBYTECODE", "1");
        Self::spawn(format!("{script} {}", args.join(" ")), command, input)
    }

    fn spawn(what: String, mut command: Command, input: Input) -> Self {
        let mut child = command
            .stdin(match input {
                Input::Null => Stdio::null(),
                Input::Piped => Stdio::piped(),
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
        let stdin = child.stdin.take();
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (out_tx, stdout_lines) = mpsc::unbounded_channel();
        let (err_tx, stderr_lines) = mpsc::unbounded_channel();
        let readers = vec![
            read_lines(
                child.stdout.take().expect("piped stdout"),
                Arc::clone(&stdout),
                out_tx,
            ),
            read_lines(
                child.stderr.take().expect("piped stderr"),
                Arc::clone(&stderr),
                err_tx,
            ),
        ];
        let child = Arc::new(Mutex::new(child));
        let killed = Arc::new(AtomicBool::new(false));
        let (stop_watchdog, stopped) = std::sync::mpsc::channel::<()>();
        {
            let child = Arc::clone(&child);
            let killed = Arc::clone(&killed);
            std::thread::spawn(move || {
                if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(WATCHDOG)
                {
                    let mut child = lock(&child);
                    if let Ok(None) = child.try_wait() {
                        killed.store(true, Ordering::SeqCst);
                        let _ = child.kill();
                    }
                }
            });
        }
        Self {
            what,
            child,
            stdin,
            stdout,
            stderr,
            stdout_lines,
            stderr_lines,
            readers,
            killed,
            stop_watchdog: Some(stop_watchdog),
            started: Instant::now(),
        }
    }

    fn write_stdin(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin is piped and open");
        stdin.write_all(bytes).expect("writing stdin");
        stdin.flush().expect("flushing stdin");
    }

    fn close_stdin(&mut self) {
        drop(self.stdin.take());
    }

    fn so_far(&self) -> String {
        format!(
            "--- stdout so far ---\n{}\n--- stderr so far ---\n{}",
            String::from_utf8_lossy(&lock(&self.stdout)),
            String::from_utf8_lossy(&lock(&self.stderr))
        )
    }

    async fn next_line(&mut self, stderr: bool) -> String {
        let which = if stderr { "stderr" } else { "stdout" };
        let lines = if stderr {
            &mut self.stderr_lines
        } else {
            &mut self.stdout_lines
        };
        match tokio::time::timeout(STEP, lines.recv()).await {
            Ok(Some(line)) => line,
            Ok(None) => panic!("{} closed its {which} early\n{}", self.what, self.so_far()),
            Err(_) => panic!(
                "{} printed no line on {which} in {STEP:?}\n{}",
                self.what,
                self.so_far()
            ),
        }
    }

    /// The next JSON line on stdout, which must be the event `name` (echo_server.py).
    async fn event(&mut self, name: &str) -> Value {
        let line = self.next_line(false).await;
        let event: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {line}", self.what));
        assert_eq!(
            event["event"], name,
            "{}: unexpected event {line}",
            self.what
        );
        event
    }

    /// The address of `listening on SCHEME://ADDR/`, which must be the first line on stderr.
    async fn listening_first_line(&mut self, scheme: &str) -> SocketAddr {
        let line = self.next_line(true).await;
        parse_listening(&line, scheme).unwrap_or_else(|| {
            panic!(
                "{}: the first line on stderr is not `listening on {scheme}://ADDR/`: {line:?}",
                self.what
            )
        })
    }

    /// With `--tls-self-signed`: the `listening on wss://ADDR/` line and the SHA-256
    /// fingerprint (lowercase hex, no separators), from the first lines on stderr.
    async fn listening_tls(&mut self) -> (SocketAddr, String) {
        let sha = Regex::new(r"(?i)sha-?256").expect("regex");
        let hex = Regex::new(r"(?i)\b[0-9a-f]{2}(?:[: ]?[0-9a-f]{2}){31}\b").expect("regex");
        let mut addr = None;
        let mut fingerprint = None;
        let mut seen = Vec::new();
        for _ in 0..8 {
            if addr.is_some() && fingerprint.is_some() {
                break;
            }
            let line = self.next_line(true).await;
            if addr.is_none() {
                addr = parse_listening(&line, "wss");
            }
            if fingerprint.is_none()
                && sha.is_match(&line)
                && let Some(m) = hex.find(&line)
            {
                let digits: String = m.as_str().chars().filter(char::is_ascii_hexdigit).collect();
                fingerprint = Some(digits.to_ascii_lowercase());
            }
            seen.push(line);
        }
        match (addr, fingerprint) {
            (Some(addr), Some(fingerprint)) => (addr, fingerprint),
            (addr, fingerprint) => panic!(
                "{}: the first lines on stderr lack the listening line ({addr:?}) or the \
                 SHA-256 fingerprint ({fingerprint:?}): {seen:#?}",
                self.what
            ),
        }
    }

    /// Waits for the exit (the watchdog bounds it), then collects the output.
    async fn finish(mut self) -> Finished {
        let deadline = self.started + WATCHDOG + Duration::from_secs(5);
        let status = loop {
            if let Some(status) = lock(&self.child).try_wait().expect("try_wait") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "{} is still running after the watchdog",
                self.what
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        drop(self.stop_watchdog.take());
        for reader in std::mem::take(&mut self.readers) {
            let limit = Instant::now() + Duration::from_secs(5);
            while !reader.is_finished() && Instant::now() < limit {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            if reader.is_finished() {
                let _ = reader.join();
            }
        }
        let finished = Finished {
            what: self.what.clone(),
            status,
            stdout: String::from_utf8_lossy(&lock(&self.stdout)).into_owned(),
            stderr: String::from_utf8_lossy(&lock(&self.stderr)).into_owned(),
        };
        if self.killed.load(Ordering::SeqCst) {
            panic!("killed by the watchdog after {WATCHDOG:?}: {finished}");
        }
        finished
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let mut child = lock(&self.child);
        if let Ok(None) = child.try_wait() {
            let _ = child.kill();
        }
        let _ = child.wait();
    }
}

/// The address in `listening on SCHEME://ADDR/`, with a real port.
fn parse_listening(line: &str, scheme: &str) -> Option<SocketAddr> {
    let re = Regex::new(&format!(r"listening on {scheme}://([^/\s]+)/")).expect("regex");
    let addr: SocketAddr = re.captures(line)?.get(1)?.as_str().parse().ok()?;
    (addr.port() != 0).then_some(addr)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
