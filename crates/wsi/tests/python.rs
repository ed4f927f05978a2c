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

#[path = "support/tt.rs"]
mod tt;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;
use tt::{Finished, Input, Wsi, opened_record, path_str, read_capture_lines, scratch_file};
use ws_inspector_core::capture::{Leg, Record};

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
    let out = Wsi::spawn(
        &[
            "connect",
            &url,
            "--send",
            "hello",
            "--send-hex",
            "00ff",
            "--expect",
            "hello",
            // Without a wait, wsi closes as soon as the text echo matches, and Python
            // `websockets` answers a close frame at once, before its handler has echoed the
            // binary message queued behind the text (the echo is then never sent).
            "--wait",
            "0.5",
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
    let mut wsi = Wsi::spawn(&["connect", &url, "--count", "2"], Input::Piped);
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
    let out = Wsi::spawn(&["connect", &url, "--close", "4001:bye"], Input::Null)
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
    let out = Wsi::spawn(
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
    let out = Wsi::spawn(
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
    let mut wsi = Wsi::spawn(
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
    let mut wsi = Wsi::spawn(
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
    let mut wsi = Wsi::spawn(
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
    let mut wsi = Wsi::spawn(
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
    let mut relay = Wsi::spawn(
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
    let mut relay = Wsi::spawn(
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
    proc: Wsi,
    port: u16,
}

impl EchoServer {
    async fn start(args: &[&str]) -> Self {
        let mut proc = python_script("echo_server.py", args, Input::Piped);
        let listening = event(&mut proc, "listening").await;
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
        event(&mut self.proc, name).await
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
    let out = python_script("client.py", &all, Input::Null).finish().await;
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
    let out = python_script("wsi_client.py", &all, Input::Null)
        .finish()
        .await;
    let report = last_json(&out);
    assert!(
        out.status.success() && report["ok"] == true,
        "wsi_client.py failed: {report}\n{out}"
    );
    report
}

/// `python -u tests/python/SCRIPT ARGS` in the venv, under [`Wsi`]'s watchdog.
fn python_script(script: &str, args: &[&str], input: Input) -> Wsi {
    let mut command = Command::new(python());
    command
        .arg("-u")
        .arg(repo_root().join("tests/python").join(script))
        .args(args)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    Wsi::spawn_command(format!("{script} {}", args.join(" ")), command, input)
}

/// The next JSON line on `proc`'s stdout, which must be the event `name` (echo_server.py).
async fn event(proc: &mut Wsi, name: &str) -> Value {
    let line = proc.stdout_line().await;
    let event: Value = serde_json::from_str(&line)
        .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {line}", proc.what()));
    assert_eq!(
        event["event"],
        name,
        "{}: unexpected event {line}",
        proc.what()
    );
    event
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
