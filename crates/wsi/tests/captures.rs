//! `wsi replay`, `wsi serve` and `wsi convert` with captures `wsi connect --jsonl` recorded
//! against tokio-tungstenite servers, on loopback only:
//!
//! - **replay** against a tokio-tungstenite server: the same answers (exit 0), different ones
//!   (exit 4, the first differing answer named), the capture's timing kept or, with
//!   `--as-fast-as-possible`, not, and the capture's URL when none is given;
//! - **serve** to a tokio-tungstenite client: a greeting first, each answer after its
//!   question, and `--original-timing`;
//! - **convert** JSON lines → HAR → JSON lines keeping every message, ping, pong and close,
//!   and JSON lines → pcapng, read back by `tshark` (which must be installed);
//! - bad capture files: a truncated last line (still replayed), an empty file, garbage, a
//!   `.txt` name and a newer format version (exit 2, the file named).
//!
//! Every process has a watchdog that kills it after 20 s and fails the test; every wait and
//! every loop is bounded. The peers and the `wsi` runner are in `support/tt.rs`.

#[path = "support/tt.rs"]
mod tt;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use regex::Regex;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as TtError, Message as TtMessage};
use ws_inspector_core::capture::Record;
use ws_inspector_core::capture::script::{self, Script, ScriptMessage, Side};

use tt::{
    Input, STEP, ServerBehaviour, TtClient, TtServer, WATCHDOG, Wsi, path_str, read_capture_lines,
    recv_data, scratch_file, send, tt_connect, unused_port,
};

/// The pause between the two client messages of a timed capture.
const GAP: Duration = Duration::from_millis(600);
/// How much earlier than the capture a paced message may go (timer and scheduling slack).
const EARLY: Duration = Duration::from_millis(100);
/// The most a run without pauses may take (process start, handshake, close).
const FAST: Duration = Duration::from_millis(300);

/// What the recorded session sends: binary and text, so that a server uppercasing text
/// answers the first message the same and the second differently.
const SESSION: [&str; 12] = [
    "--send-hex",
    "00ff",
    "--send",
    "hello",
    "--send-hex",
    "0102",
    "--send",
    "world",
    "--expect",
    "^world$",
    "--close",
    "-q",
];

// ---------------------------------------------------------------------------------------------
// replay against a tokio-tungstenite server.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_against_the_same_server_exits_0() {
    let capture = record_session("replay-same.jsonl").await;
    let mut server = TtServer::start(ServerBehaviour::echo()).await;
    let out = Wsi::run(&["replay", path_str(&capture), &server.url()]).await;
    out.expect_status(0);
    assert!(
        out.stderr.contains("every answer is the same"),
        "stderr says every answer is the same\n{out}"
    );
    let seen = server.finish().await;
    assert_eq!(
        seen.data,
        session_messages(),
        "the capture's client messages reached the server, in order\n{out}"
    );
    assert_eq!(
        seen.close_code(),
        Some(1000),
        "the capture's close code\n{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_against_a_server_answering_differently_exits_4() {
    let capture = record_session("replay-differs.jsonl").await;
    let mut server = TtServer::start(ServerBehaviour {
        uppercase: true,
        ..ServerBehaviour::echo()
    })
    .await;
    let out = Wsi::run(&["replay", path_str(&capture), &server.url()]).await;
    out.expect_status(4);
    let answers: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| Regex::new(r"\banswer \d+").expect("regex").is_match(l))
        .collect();
    let first = answers
        .first()
        .unwrap_or_else(|| panic!("no `answer N` difference on stderr\n{out}"));
    assert!(
        first.contains("answer 2") && first.contains("\"hello\"") && first.contains("\"HELLO\""),
        "the first difference is answer 2, \"hello\" then and \"HELLO\" now: {first:?}\n{out}"
    );
    assert!(
        answers.iter().any(|l| l.contains("answer 4")),
        "the second difference (answer 4, \"WORLD\") is listed too\n{out}"
    );
    assert!(
        !answers
            .iter()
            .any(|l| l.contains("answer 1:") || l.contains("answer 3:")),
        "the binary answers 1 and 3 are the same and not listed\n{out}"
    );
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_keeps_the_capture_timing_unless_as_fast_as_possible() {
    let (capture, gap) = record_timed("replay-timed.jsonl").await;

    let mut server = TtServer::start(ServerBehaviour::echo()).await;
    let started = Instant::now();
    let out = Wsi::run(&["replay", path_str(&capture), &server.url()]).await;
    let paced = started.elapsed();
    out.expect_status(0);
    server.finish().await;
    assert!(
        paced >= gap.saturating_sub(EARLY),
        "the replay took {paced:?}; the capture has a pause of {gap:?}\n{out}"
    );
    assert!(
        paced < gap + Duration::from_millis(1500),
        "the replay took {paced:?}, much longer than the capture's pause of {gap:?}\n{out}"
    );

    let mut server = TtServer::start(ServerBehaviour::echo()).await;
    let started = Instant::now();
    let out = Wsi::run(&[
        "replay",
        path_str(&capture),
        &server.url(),
        "--as-fast-as-possible",
    ])
    .await;
    let fast = started.elapsed();
    out.expect_status(0);
    let seen = server.finish().await;
    assert_eq!(
        seen.data,
        vec![TtMessage::text("a"), TtMessage::text("b")],
        "the capture's messages\n{out}"
    );
    assert!(
        fast < FAST,
        "--as-fast-as-possible took {fast:?} (the capture's pause: {gap:?})\n{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_without_url_uses_the_captures_url() {
    // One server for the recording and the replay: the capture's URL is its address.
    let mut server = TtServer::start_for(ServerBehaviour::echo(), 2).await;
    let capture = scratch_file("replay-no-url.jsonl");
    let url = server.url();
    let mut args = vec!["connect", &url];
    args.extend(SESSION);
    args.extend(["--jsonl", path_str(&capture)]);
    Wsi::run(&args).await.expect_status(0);
    server.finish().await;

    let out = Wsi::run(&["replay", path_str(&capture)]).await;
    out.expect_status(0);
    let seen = server.finish().await;
    assert_eq!(seen.request().path, "/test", "the capture's path\n{out}");
    assert_eq!(
        seen.data,
        session_messages(),
        "the replay reached the capture's server\n{out}"
    );
}

// ---------------------------------------------------------------------------------------------
// serve to a tokio-tungstenite client.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_sends_the_greeting_first_and_each_answer_after_its_question() {
    // Recorded against a server that greets first; the client sends only once greeted.
    let mut recorded = TtServer::start(ServerBehaviour {
        welcome: &["welcome"],
        ..ServerBehaviour::echo()
    })
    .await;
    let capture = scratch_file("serve-greeting.jsonl");
    let url = recorded.url();
    let mut wsi = Wsi::spawn(
        &["connect", &url, "--jsonl", path_str(&capture)],
        Input::Piped,
    );
    wsi.stdout_line_seen("welcome").await;
    wsi.write_stdin(b"hello\n");
    wsi.stdout_line_seen("hello").await;
    wsi.write_stdin(b"world\n");
    wsi.stdout_line_seen("world").await;
    wsi.close_stdin();
    wsi.finish().await.expect_status(0);
    recorded.finish().await;
    let messages = script_messages(&script_of(&capture));
    assert_eq!(
        messages.first(),
        Some(&(Side::Server, ScriptMessage::Text("welcome".into()))),
        "the capture begins with the server's greeting: {messages:?}"
    );

    let mut serve = Wsi::spawn(
        &["serve", path_str(&capture), "127.0.0.1:0", "--once"],
        Input::Null,
    );
    let addr = serve.listening_first_line("ws").await;
    let (mut ws, _) = tt_connect(&format!("ws://{addr}/test"), &[]).await;
    assert_eq!(
        recv_data(&mut ws).await,
        TtMessage::text("welcome"),
        "the greeting comes before any client message"
    );
    nothing_for(
        &mut ws,
        Duration::from_millis(300),
        "before the first question",
    )
    .await;
    send(&mut ws, TtMessage::text("hello")).await;
    assert_eq!(recv_data(&mut ws).await, TtMessage::text("hello"));
    nothing_for(
        &mut ws,
        Duration::from_millis(300),
        "before the second question",
    )
    .await;
    send(&mut ws, TtMessage::text("world")).await;
    assert_eq!(recv_data(&mut ws).await, TtMessage::text("world"));
    let close = closed_by_server(&mut ws).await;
    assert_eq!(
        close.map(|f| u16::from(f.code)),
        Some(1000),
        "the capture's close 1000 comes last"
    );
    serve.finish().await.expect_status(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_original_timing_keeps_the_captures_delays() {
    let (capture, gap) = record_timed("serve-timed.jsonl").await;
    for original_timing in [true, false] {
        let mut args = vec!["serve", path_str(&capture), "127.0.0.1:0", "--once"];
        if original_timing {
            args.push("--original-timing");
        }
        let mut serve = Wsi::spawn(&args, Input::Null);
        let addr = serve.listening_first_line("ws").await;
        let (mut ws, _) = tt_connect(&format!("ws://{addr}/test"), &[]).await;
        let opened = Instant::now();
        // Both questions at once: only the capture's clock may hold the second answer back.
        send(&mut ws, TtMessage::text("a")).await;
        send(&mut ws, TtMessage::text("b")).await;
        assert_eq!(recv_data(&mut ws).await, TtMessage::text("a"));
        assert_eq!(recv_data(&mut ws).await, TtMessage::text("b"));
        let took = opened.elapsed();
        if original_timing {
            assert!(
                took >= gap.saturating_sub(EARLY),
                "--original-timing: the second answer came after {took:?}; the capture has it \
                 {gap:?} after the first"
            );
            assert!(
                took < gap + Duration::from_millis(1500),
                "--original-timing: the second answer came after {took:?}, long after the \
                 capture's {gap:?}"
            );
        } else {
            assert!(
                took < FAST,
                "without --original-timing the answers follow the questions at once; the \
                 second came after {took:?}"
            );
        }
        let close = closed_by_server(&mut ws).await;
        assert_eq!(close.map(|f| u16::from(f.code)), Some(1000), "the close");
        serve.finish().await.expect_status(0);
    }
}

// ---------------------------------------------------------------------------------------------
// convert.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn convert_jsonl_to_har_and_back_keeps_every_message() {
    let original = record_with_pings("convert-original.jsonl").await;
    let har = original.with_extension("har");
    let back = scratch_file("convert-back.jsonl");
    let _ = std::fs::remove_file(&har);
    Wsi::run(&["convert", path_str(&original), path_str(&har)])
        .await
        .expect_status(0);
    let text = std::fs::read_to_string(&har).expect("the HAR file");
    serde_json::from_str::<serde_json::Value>(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", har.display()));
    Wsi::run(&["convert", path_str(&har), path_str(&back)])
        .await
        .expect_status(0);

    let want = script_messages(&script_of(&original));
    assert!(
        want.iter()
            .any(|(_, m)| matches!(m, ScriptMessage::Ping(_)))
            && want
                .iter()
                .any(|(_, m)| matches!(m, ScriptMessage::Pong(_))),
        "the original capture has pings and pongs: {want:?}"
    );
    let got = script_messages(&script_of(&back));
    assert_eq!(
        got, want,
        "every text and binary message, ping, pong and close of the original, in order, \
         after .jsonl → .har → .jsonl"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn convert_jsonl_to_pcapng_reads_in_tshark() {
    let original = record_with_pings("convert-pcap.jsonl").await;
    let pcap = original.with_extension("pcapng");
    let _ = std::fs::remove_file(&pcap);
    Wsi::run(&["convert", path_str(&original), path_str(&pcap)])
        .await
        .expect_status(0);
    let bytes = std::fs::read(&pcap).expect("the pcapng file");
    assert!(
        bytes.starts_with(&[0x0A, 0x0D, 0x0D, 0x0A]),
        "{} does not start with the pcapng magic 0x0A0D0D0A: {:02x?}",
        pcap.display(),
        &bytes[..bytes.len().min(8)]
    );

    let frames = read_capture_lines(&original)
        .iter()
        .filter(|l| matches!(l.record, Record::Frame(_)))
        .count();
    let tshark = find_in_path("tshark").unwrap_or_else(|| {
        panic!("tshark is not installed: `apt-get install -y tshark` (CI installs it)")
    });
    let pcap_arg = path_str(&pcap).to_owned();
    let (status, stdout, stderr) = run_tool(
        &tshark,
        &[
            "-r",
            &pcap_arg,
            "-Y",
            "websocket",
            "-T",
            "fields",
            "-e",
            "websocket.opcode",
        ],
    )
    .await;
    assert!(
        status.success(),
        "tshark -r {pcap_arg} failed ({status}):\n{stderr}"
    );
    // One line per packet; a packet holding several frames lists their opcodes with commas.
    let opcodes: Vec<&str> = stdout
        .lines()
        .flat_map(|l| l.split(','))
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .collect();
    assert_eq!(
        opcodes.len(),
        frames,
        "tshark -Y websocket shows {} WebSocket frames; the capture has {frames} frame \
         records; opcodes: {opcodes:?}\n--- tshark stderr ---\n{stderr}",
        opcodes.len()
    );
}

// ---------------------------------------------------------------------------------------------
// Bad capture files.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_of_a_capture_with_a_truncated_last_line() {
    let capture = record_session("truncated-source.jsonl").await;
    let text = std::fs::read_to_string(&capture).expect("the capture");
    let body = text.trim_end_matches('\n');
    let last = body.rfind('\n').expect("more than one line") + 1;
    let cut = &body[..last + (body.len() - last) / 2];
    let truncated = scratch_file("truncated.jsonl");
    std::fs::write(&truncated, cut).expect("writing the truncated capture");

    let mut server = TtServer::start(ServerBehaviour::echo()).await;
    let out = Wsi::run(&["replay", path_str(&truncated), &server.url()]).await;
    out.expect_status(0);
    assert!(
        out.stderr.contains("incomplete"),
        "stderr says the last line is incomplete\n{out}"
    );
    let seen = server.finish().await;
    assert_eq!(seen.data, session_messages(), "still replayed\n{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_capture_files_exit_2_naming_the_file() {
    let valid = record_session("bad-source.jsonl").await;
    let empty = scratch_file("empty.jsonl");
    std::fs::write(&empty, b"").expect("writing");
    let garbage = scratch_file("garbage.jsonl");
    let bytes: Vec<u8> = (0..512u32).map(|i| (i * 151 % 256) as u8).collect();
    std::fs::write(&garbage, [&bytes[..], b"\n"].concat()).expect("writing");
    let txt = scratch_file("capture.txt");
    std::fs::copy(&valid, &txt).expect("copying");
    // Nothing listens there: the file must be refused before connecting.
    let url = format!("ws://127.0.0.1:{}/", unused_port());
    let out_har = scratch_file("bad-out.har");
    for file in [&empty, &garbage, &txt] {
        let name = path_str(file);
        for args in [
            vec!["replay", name, &url],
            vec!["serve", name, "127.0.0.1:0", "--once"],
            vec!["convert", name, path_str(&out_har)],
        ] {
            let out = Wsi::run(&args).await;
            out.expect_status(2);
            assert!(
                out.stderr.contains(name),
                "stderr names the file {name}\n{out}"
            );
        }
    }
    assert!(
        !out_har.exists(),
        "a failed convert leaves no {}",
        out_har.display()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_format_version_exits_2_naming_the_versions() {
    let valid = record_session("newer-source.jsonl").await;
    let text = std::fs::read_to_string(&valid).expect("the capture");
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    assert!(lines.len() > 3, "a capture of several lines");
    assert!(lines[2].starts_with("{\"v\":1,"), "line 3: {}", lines[2]);
    lines[2] = lines[2].replacen("{\"v\":1,", "{\"v\":2,", 1);
    let newer = scratch_file("newer.jsonl");
    std::fs::write(&newer, lines.join("\n") + "\n").expect("writing");
    let url = format!("ws://127.0.0.1:{}/", unused_port());
    let out = Wsi::run(&["replay", path_str(&newer), &url]).await;
    out.expect_status(2);
    assert!(
        out.stderr.contains(path_str(&newer)),
        "stderr names the file\n{out}"
    );
    assert!(
        Regex::new(r"(?s)version 2\b.*\b1\b")
            .expect("regex")
            .is_match(&out.stderr),
        "stderr names the file's version 2 and the version read, 1\n{out}"
    );
    assert!(
        out.stderr.contains("line 3"),
        "stderr names the line\n{out}"
    );
}

// ---------------------------------------------------------------------------------------------
// Recording captures.

/// The text and binary messages [`SESSION`] sends, as the server receives them.
fn session_messages() -> Vec<TtMessage> {
    vec![
        TtMessage::binary(vec![0x00, 0xff]),
        TtMessage::text("hello"),
        TtMessage::binary(vec![0x01, 0x02]),
        TtMessage::text("world"),
    ]
}

/// Records [`SESSION`] against a tokio-tungstenite echo server.
async fn record_session(name: &str) -> PathBuf {
    let mut server = TtServer::start(ServerBehaviour::echo()).await;
    let capture = scratch_file(name);
    let url = server.url();
    let mut args = vec!["connect", &url];
    args.extend(SESSION);
    args.extend(["--jsonl", path_str(&capture)]);
    let out = Wsi::run(&args).await;
    out.expect_status(0);
    server.finish().await;
    let answers: Vec<ScriptMessage> = script_of(&capture)
        .from(Side::Server)
        .map(|s| s.message.clone())
        .filter(|m| matches!(m, ScriptMessage::Text(_) | ScriptMessage::Binary(_)))
        .collect();
    assert_eq!(
        answers,
        vec![
            ScriptMessage::Binary(vec![0x00, 0xff]),
            ScriptMessage::Text("hello".into()),
            ScriptMessage::Binary(vec![0x01, 0x02]),
            ScriptMessage::Text("world".into()),
        ],
        "the recorded capture holds the four echoes\n{out}"
    );
    capture
}

/// Records stdin lines `a`, then after [`GAP`] `b`, against an echo server; returns the
/// capture and the pause between the two answers in it (at least [`GAP`]).
async fn record_timed(name: &str) -> (PathBuf, Duration) {
    let mut server = TtServer::start(ServerBehaviour::echo()).await;
    let capture = scratch_file(name);
    let url = server.url();
    let mut wsi = Wsi::spawn(
        &["connect", &url, "--jsonl", path_str(&capture)],
        Input::Piped,
    );
    wsi.write_stdin(b"a\n");
    wsi.stdout_line_seen("a").await;
    tokio::time::sleep(GAP).await;
    wsi.write_stdin(b"b\n");
    wsi.stdout_line_seen("b").await;
    wsi.close_stdin();
    wsi.finish().await.expect_status(0);
    server.finish().await;
    let script = script_of(&capture);
    let at = |side: Side, text: &str| {
        script
            .from(side)
            .find(|s| s.message == ScriptMessage::Text(text.into()))
            .map(|s| s.at)
            .unwrap_or_else(|| panic!("no {side:?} {text:?} in the capture: {script:?}"))
    };
    let client_gap = at(Side::Client, "b").saturating_sub(at(Side::Client, "a"));
    let server_gap = at(Side::Server, "b").saturating_sub(at(Side::Server, "a"));
    assert!(
        client_gap >= GAP && server_gap >= GAP,
        "the capture's pauses: {client_gap:?} (client), {server_gap:?} (server)"
    );
    (capture, at(Side::Server, "b"))
}

/// Records text, binary, pings (with the server's pongs) and a close against an echo server.
async fn record_with_pings(name: &str) -> PathBuf {
    let mut server = TtServer::start(ServerBehaviour::echo()).await;
    let capture = scratch_file(name);
    let url = server.url();
    let out = Wsi::run(&[
        "connect",
        &url,
        "--send",
        "hello",
        "--send-hex",
        "00ff",
        "--ping-interval",
        "0.1",
        "--wait",
        "0.6",
        "--close",
        "4000:done",
        "-q",
        "--jsonl",
        path_str(&capture),
    ])
    .await;
    out.expect_status(0);
    server.finish().await;
    capture
}

/// The script of the capture's first connection.
fn script_of(path: &Path) -> Script {
    let lines = read_capture_lines(path);
    let (conn, leg) = *script::connections(&lines)
        .first()
        .unwrap_or_else(|| panic!("{}: no connection", path.display()));
    script::script(&lines, conn, leg).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Who sent what, in order, without the times.
fn script_messages(script: &Script) -> Vec<(Side, ScriptMessage)> {
    script
        .steps
        .iter()
        .map(|s| (s.from, s.message.clone()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The tokio-tungstenite client, and other programs.

/// Fails if a text or binary message (or the end) comes within `quiet`.
async fn nothing_for(ws: &mut TtClient, quiet: Duration, when: &str) {
    let until = tokio::time::Instant::now() + quiet;
    for _ in 0..100 {
        match tokio::time::timeout_at(until, ws.next()).await {
            Err(_) => return,
            Ok(Some(Ok(TtMessage::Ping(_) | TtMessage::Pong(_)))) => {}
            Ok(other) => panic!("{when}: the server sent {other:?} unasked"),
        }
    }
    panic!("{when}: only control frames");
}

/// Reads until the server's close, failing on any text or binary message; the close frame.
async fn closed_by_server(ws: &mut TtClient) -> Option<CloseFrame> {
    let mut frame = None;
    for _ in 0..100 {
        match tokio::time::timeout(STEP, ws.next()).await {
            Err(_) => panic!("the server did not close in {STEP:?}"),
            Ok(None | Some(Err(TtError::ConnectionClosed))) => return frame,
            Ok(Some(Err(e))) => panic!("the connection failed: {e}"),
            Ok(Some(Ok(TtMessage::Close(close)))) => frame = close,
            Ok(Some(Ok(m @ (TtMessage::Text(_) | TtMessage::Binary(_))))) => {
                panic!("a message instead of the close: {m:?}")
            }
            Ok(Some(Ok(_))) => {}
        }
    }
    panic!("the connection did not end");
}

/// `name` in a folder of `$PATH`, if there.
fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Runs `program ARGS` with stdin closed, under the watchdog; its status, stdout and stderr.
async fn run_tool(program: &Path, args: &[&str]) -> (ExitStatus, String, String) {
    let what = format!("{} {}", program.display(), args.join(" "));
    let out_file = scratch_file("tool.stdout");
    let err_file = scratch_file("tool.stderr");
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_file).expect("a stdout file"))
        .stderr(std::fs::File::create(&err_file).expect("a stderr file"))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let deadline = Instant::now() + WATCHDOG;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} was killed by the watchdog after {WATCHDOG:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into();
    (status, read(&out_file), read(&err_file))
}
