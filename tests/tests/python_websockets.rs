//! Interop with Python `websockets` (PyPI, pinned in `tests/python/requirements.txt`), an
//! independent implementation of RFC 6455 and permessage-deflate (RFC 7692), in both roles.
//! `tests/python/setup.sh` builds its venv under `target/python/` on first use.
//!
//! - **Our client against its server** (`tests/python/echo_server.py`), once per server
//!   policy: websockets' default, each of the four parameters, all of them, 8-bit client
//!   window, compression off, and an offer of ours with every parameter. Checks: the
//!   `Sec-WebSocket-Extensions` answer is the one expected and the one Python says it sent;
//!   `handshake.deflate` equals what Python says it agreed; every message of the script
//!   (text and binary, empty to 1 MiB, repetitive and random, fragmented with
//!   `Outgoing::Fragment`) comes back intact; the tap shows RSV1 on the first frame of every
//!   compressed message both ways and none on the rest, repetitive text shrunk on the wire,
//!   context takeover used exactly when allowed, and the window respected; Python's own count
//!   of the compressed frames it received matches ours.
//! - **Its client against our server** (`tests/python/client.py`): our default policy,
//!   `server_no_context_takeover` + `client_max_window_bits=10`, client offers with other
//!   parameters, and a client without compression. Checks its JSON report (every echo intact,
//!   a ping answered, closed with 1000), that it agreed what our server agreed, and the same
//!   frame-level properties from both sides' points of view.
//!
//! Every step is bounded by a timeout and every Python process is killed when its guard drops.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;
use ws_tests::{python_setup, repo_root};
use ws_tokio::ws_proto::{CloseCode, DeflateConfig, DeflateParams, Direction, Frame, MessageKind};
use ws_tokio::{ConnectOptions, Decision, Message, Outgoing, Server, ServerOptions, connect, tap};

/// The limit for any one step (a handshake, an echo, a line from Python).
const STEP: Duration = Duration::from_secs(30);
/// The limit for a whole Python client run.
const CLIENT_RUN: Duration = Duration::from_secs(120);

// ---------------------------------------------------------------------------------------------
// Our client against Python's server.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop with Python websockets: cargo test -p ws-tests -- --ignored, which .ci/run runs"]
async fn our_client_python_server_default() {
    let run = our_client_against(&[], DeflateConfig::default()).await;
    run.expect_answer(Some(
        "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12",
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop with Python websockets: cargo test -p ws-tests -- --ignored, which .ci/run runs"]
async fn our_client_python_server_no_context_takeover() {
    let run = our_client_against(&["--server-no-context-takeover"], DeflateConfig::default()).await;
    run.expect_answer(Some("permessage-deflate; server_no_context_takeover"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop with Python websockets: cargo test -p ws-tests -- --ignored, which .ci/run runs"]
async fn our_client_python_client_no_context_takeover() {
    let run = our_client_against(&["--client-no-context-takeover"], DeflateConfig::default()).await;
    run.expect_answer(Some("permessage-deflate; client_no_context_takeover"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop with Python websockets: cargo test -p ws-tests -- --ignored, which .ci/run runs"]
async fn our_client_python_server_max_window_bits_10() {
    let run = our_client_against(
        &["--server-max-window-bits", "10"],
        DeflateConfig::default(),
    )
    .await;
    run.expect_answer(Some("permessage-deflate; server_max_window_bits=10"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop with Python websockets: cargo test -p ws-tests -- --ignored, which .ci/run runs"]
async fn our_client_python_client_max_window_bits_9() {
    let run =
        our_client_against(&["--client-max-window-bits", "9"], DeflateConfig::default()).await;
    run.expect_answer(Some("permessage-deflate; client_max_window_bits=9"));
}

/// zlib cannot compress with an 8-bit window; ours then compresses only messages ≤ 256 bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop with Python websockets: cargo test -p ws-tests -- --ignored, which .ci/run runs"]
async fn our_client_python_client_max_window_bits_8() {
    let run =
        our_client_against(&["--client-max-window-bits", "8"], DeflateConfig::default()).await;
    run.expect_answer(Some("permessage-deflate; client_max_window_bits=8"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop with Python websockets: cargo test -p ws-tests -- --ignored, which .ci/run runs"]
async fn our_client_python_server_every_parameter() {
    let args = [
        "--server-no-context-takeover",
        "--client-no-context-takeover",
        "--server-max-window-bits",
        "9",
        "--client-max-window-bits",
        "11",
    ];
    let run = our_client_against(&args, DeflateConfig::default()).await;
    run.expect_answer(Some(
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
         server_max_window_bits=9; client_max_window_bits=11",
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop with Python websockets: cargo test -p ws-tests -- --ignored, which .ci/run runs"]
async fn our_client_python_server_without_compression() {
    let run = our_client_against(&["--compression", "none"], DeflateConfig::default()).await;
    run.expect_answer(None);
}

/// Our offer with every parameter, against websockets' default server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop with Python websockets: cargo test -p ws-tests -- --ignored, which .ci/run runs"]
async fn our_client_offer_every_parameter() {
    let mut offer = DeflateConfig::default();
    offer.server_no_context_takeover = true;
    offer.client_no_context_takeover = true;
    offer.server_max_window_bits = Some(11);
    let run = our_client_against(&[], offer).await;
    run.expect_answer(Some(
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
         server_max_window_bits=11; client_max_window_bits=12",
    ));
}

/// What one run of our client showed.
struct ClientRun {
    /// The `Sec-WebSocket-Extensions` of the 101, as we received it.
    answer: Option<String>,
}

impl ClientRun {
    fn expect_answer(&self, expected: Option<&str>) {
        assert_eq!(
            self.answer.as_deref(),
            expected,
            "the Python server's Sec-WebSocket-Extensions answer"
        );
    }
}

/// Runs `echo_server.py ARGS`, connects with `offer`, sends the script, checks everything
/// that does not depend on the case and returns what the case checks.
async fn our_client_against(server_args: &[&str], offer: DeflateConfig) -> ClientRun {
    let mut server = Python::spawn("echo_server.py", server_args);
    let listening = server.event("listening").await;
    let port = listening["port"].as_u64().expect("a port");
    println!("python echo_server.py {server_args:?}: {listening}");

    let (tap, taps) = tap::channel(1024);
    let frames = collect_frames(taps);
    let mut options = ConnectOptions::new(format!("ws://127.0.0.1:{port}/interop"));
    options.config.deflate = Some(offer);
    options.tap = Some(tap);
    let ws = tokio::time::timeout(STEP, connect(options))
        .await
        .expect("connecting timed out")
        .expect("our client could not connect to the Python server")
        // The task-driven handles here; the echo server's side runs WsStream itself.
        .into_driven();
    let answer = header(ws.handshake.response.headers(), "sec-websocket-extensions");
    let agreed = ws.handshake.deflate;

    let open = server.event("open").await;
    println!("python: {open}");
    assert_eq!(
        open["response_extensions"].as_str(),
        answer.as_deref(),
        "we received another Sec-WebSocket-Extensions than Python sent"
    );
    assert_eq!(
        open["request_extensions"].as_str(),
        header(ws.handshake.request.headers(), "sec-websocket-extensions").as_deref(),
        "Python received another offer than we sent"
    );
    assert_eq!(
        agreed.map(Agreed::from),
        Agreed::from_python(&open["deflate"]),
        "handshake.deflate ({agreed:?}) differs from what Python agreed"
    );

    let (sender, mut receiver) = ws.split();
    let script = script();
    for item in &script {
        for outgoing in item.outgoing() {
            tokio::time::timeout(STEP, sender.send(outgoing))
                .await
                .unwrap_or_else(|_| panic!("{}: sending timed out", item.name))
                .unwrap_or_else(|e| panic!("{}: sending failed: {e}", item.name));
        }
        let echo = next_message(&mut receiver, item.name).await;
        item.check_echo(&echo);
    }
    sender
        .close(Some(CloseCode::NORMAL), "done")
        .await
        .expect("close");
    match tokio::time::timeout(STEP, receiver.recv()).await {
        Ok(Some(Ok(Message::Close(_))) | None) => {}
        Ok(Some(Ok(other))) => panic!("unexpected message after the script: {other:?}"),
        Ok(Some(Err(e))) => panic!("the connection failed while closing: {e}"),
        Err(_) => panic!("the Python server did not answer our close in {STEP:?}"),
    }
    drop((sender, receiver));

    let closed = server.event("closed").await;
    println!("python: {closed}");
    assert_eq!(closed["messages"], script.len(), "messages Python echoed");
    assert_eq!(closed["code"], 1000, "the close code Python received");

    let frames = tokio::time::timeout(STEP, frames)
        .await
        .expect("the tap did not end with the connection")
        .expect("the tap collector panicked");
    let sent = messages_of(&frames, Direction::Outgoing);
    let received = messages_of(&frames, Direction::Incoming);
    let agreed = agreed.map(Agreed::from);
    // We compress (client window) what Python inflates, and the other way round.
    check_frames(&script, &sent, agreed.map(|a| a.client()), Source::Us);
    check_frames(
        &script,
        &received,
        agreed.map(|a| a.server()),
        Source::PythonEcho,
    );

    // Python's own view of what it received.
    let stats = &closed["frames_in"];
    if agreed.is_some() {
        let rsv1 = sent.iter().filter(|m| m.rsv1).count();
        assert_eq!(stats["rsv1_frames"], rsv1, "compressed messages Python saw");
        assert_eq!(
            stats["frames"],
            sent.iter().map(|m| m.frames).sum::<usize>()
        );
        assert_eq!(
            stats["wire_bytes"],
            sent.iter().map(|m| m.wire).sum::<usize>()
        );
        assert_eq!(
            stats["plain_bytes"],
            sent.iter().map(|m| m.plain).sum::<usize>()
        );
    }
    server.stop().await;
    ClientRun { answer }
}

// ---------------------------------------------------------------------------------------------
// Python's client against our server.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop with Python websockets: cargo test -p ws-tests -- --ignored, which .ci/run runs"]
async fn python_client_our_server_default() {
    let answer = python_client_against(Some(DeflateConfig::default()), &[]).await;
    assert_eq!(
        answer.as_deref(),
        Some("permessage-deflate"),
        "our answer to websockets' default offer"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop with Python websockets: cargo test -p ws-tests -- --ignored, which .ci/run runs"]
async fn python_client_our_server_policy() {
    let mut policy = DeflateConfig::default();
    policy.server_no_context_takeover = true;
    policy.client_max_window_bits = Some(10);
    let answer = python_client_against(Some(policy), &[]).await;
    assert_eq!(
        answer.as_deref(),
        Some("permessage-deflate; server_no_context_takeover; client_max_window_bits=10")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop with Python websockets: cargo test -p ws-tests -- --ignored, which .ci/run runs"]
async fn python_client_offer_client_no_context_takeover_server_bits_9() {
    let args = [
        "--client-no-context-takeover",
        "--server-max-window-bits",
        "9",
    ];
    let answer = python_client_against(Some(DeflateConfig::default()), &args).await;
    assert_eq!(
        answer.as_deref(),
        Some("permessage-deflate; client_no_context_takeover; server_max_window_bits=9")
    );
}

/// An 8-bit window for our server: it compresses only messages ≤ 256 bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop with Python websockets: cargo test -p ws-tests -- --ignored, which .ci/run runs"]
async fn python_client_offer_server_bits_8() {
    let args = ["--server-max-window-bits", "8"];
    let answer = python_client_against(Some(DeflateConfig::default()), &args).await;
    assert_eq!(
        answer.as_deref(),
        Some("permessage-deflate; server_max_window_bits=8")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop with Python websockets: cargo test -p ws-tests -- --ignored, which .ci/run runs"]
async fn python_client_without_compression() {
    let answer =
        python_client_against(Some(DeflateConfig::default()), &["--compression", "none"]).await;
    assert_eq!(answer, None);
}

/// What our server saw of one connection.
#[derive(Debug)]
struct Accepted {
    answer: Option<String>,
    deflate: Option<DeflateParams>,
}

/// Serves `policy` (with a tap), runs `client.py URL ARGS`, checks its report against what our
/// server agreed and saw, and returns our `Sec-WebSocket-Extensions` answer.
async fn python_client_against(
    policy: Option<DeflateConfig>,
    client_args: &[&str],
) -> Option<String> {
    let (tap, taps) = tap::channel(1024);
    let frames = collect_frames(taps);
    let mut options = ServerOptions::default();
    options.config.deflate = policy;
    options.tap = Some(tap);
    let server = Server::bind("127.0.0.1:0", options).await.expect("bind");
    let addr = server.local_addr().expect("local address");
    let (accepted_tx, mut accepted_rx) = mpsc::unbounded_channel();
    let serving = tokio::spawn(async move {
        // One connection: the client's.
        let incoming = server.accept().await.expect("accept");
        let ws = incoming
            .upgrade(|_| Decision::accept())
            .await
            .expect("the Python client's upgrade failed on our side")
            .into_driven();
        let _ = accepted_tx.send(Accepted {
            answer: header(ws.handshake.response.headers(), "sec-websocket-extensions"),
            deflate: ws.handshake.deflate,
        });
        let (sender, mut receiver) = ws.split();
        let mut echoed = 0usize;
        while let Ok(Some(Ok(message))) = tokio::time::timeout(STEP, receiver.recv()).await {
            let sent = match message {
                Message::Text(text) => sender.send_text(text.as_str()).await,
                Message::Binary(data) => sender.send_binary(data).await,
                Message::Close(_) => break,
                _ => continue,
            };
            sent.expect("echo");
            echoed += 1;
        }
        echoed
    });

    let url = format!("ws://{addr}/interop");
    let mut args = vec![url.as_str()];
    args.extend_from_slice(client_args);
    let mut client = Python::spawn("client.py", &args);
    let (status, report) = client.finish(CLIENT_RUN).await;
    println!("python client.py {client_args:?}: {status}\n{report}");
    let report: Value = serde_json::from_str(report.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| {
            panic!(
                "client.py printed no JSON report ({e}): {}",
                client.stderr()
            )
        });
    assert_eq!(report["websockets"], PINNED.as_str(), "websockets version");
    let errors = &report["errors"];
    assert!(
        status.success() && report["ok"] == true,
        "the Python client failed ({status}): {errors}\nstderr: {}",
        client.stderr()
    );
    assert_eq!(report["ping"], true, "our server answered the ping");
    assert_eq!(report["close_code"], 1000);

    let accepted = tokio::time::timeout(STEP, accepted_rx.recv())
        .await
        .expect("our server never accepted")
        .expect("the server task ended before accepting");
    let echoed = tokio::time::timeout(STEP, serving)
        .await
        .expect("our server did not see the connection end")
        .expect("the server task panicked");
    let script = script();
    assert_eq!(echoed, script.len(), "messages our server echoed");
    assert_eq!(
        report["response_extensions"].as_str(),
        accepted.answer.as_deref(),
        "Python received another Sec-WebSocket-Extensions than we sent"
    );
    let agreed = accepted.deflate.map(Agreed::from);
    assert_eq!(
        agreed,
        Agreed::from_python(&report["deflate"]),
        "handshake.deflate ({:?}) differs from what Python agreed",
        accepted.deflate
    );

    // The frames, from our tap: the same script as Python's (tests/python/common.py).
    let frames = tokio::time::timeout(STEP, frames)
        .await
        .expect("the tap did not end")
        .expect("the tap collector panicked");
    let received = messages_of(&frames, Direction::Incoming);
    let sent = messages_of(&frames, Direction::Outgoing);
    check_frames(
        &script,
        &received,
        agreed.map(|a| a.client()),
        Source::Python,
    );
    check_frames(&script, &sent, agreed.map(|a| a.server()), Source::OurEcho);
    // And Python's view of our echoes, message by message (it counts frames only through the
    // extension).
    let reported = report["messages"].as_array().expect("messages");
    assert_eq!(reported.len(), script.len());
    for ((item, ours), theirs) in script.iter().zip(&sent).zip(reported) {
        assert_eq!(theirs["name"], item.name);
        assert_eq!(theirs["ok"], true, "{}", item.name);
        if agreed.is_none() {
            continue;
        }
        assert_eq!(theirs["wire_bytes"], ours.wire, "{}: wire bytes", item.name);
        assert_eq!(theirs["frames"], ours.frames, "{}: frames", item.name);
        assert_eq!(
            theirs["rsv1_frames"],
            usize::from(ours.rsv1),
            "{}: RSV1",
            item.name
        );
    }
    accepted.answer
}

// ---------------------------------------------------------------------------------------------
// The message script, the same as tests/python/common.py's `script()`.

/// The websockets version pinned in requirements.txt.
static PINNED: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let reqs = std::fs::read_to_string(repo_root().join("tests/python/requirements.txt"))
        .expect("tests/python/requirements.txt");
    reqs.lines()
        .find_map(|l| l.trim().strip_prefix("websockets=="))
        .expect("a websockets== pin")
        .to_owned()
});

/// One message: its name, its fragments and its kind.
struct Item {
    name: &'static str,
    kind: MessageKind,
    /// One piece for a whole message, several for a fragmented one.
    pieces: Vec<Vec<u8>>,
}

impl Item {
    fn text(name: &'static str, text: String) -> Self {
        Self::text_pieces(name, vec![text])
    }

    fn text_pieces(name: &'static str, pieces: Vec<String>) -> Self {
        Self {
            name,
            kind: MessageKind::Text,
            pieces: pieces.into_iter().map(String::into_bytes).collect(),
        }
    }

    fn binary(name: &'static str, data: Vec<u8>) -> Self {
        Self::binary_pieces(name, vec![data])
    }

    fn binary_pieces(name: &'static str, pieces: Vec<Vec<u8>>) -> Self {
        Self {
            name,
            kind: MessageKind::Binary,
            pieces,
        }
    }

    fn whole(&self) -> Vec<u8> {
        self.pieces.concat()
    }

    fn outgoing(&self) -> Vec<Outgoing> {
        if let [piece] = self.pieces.as_slice() {
            return vec![match self.kind {
                MessageKind::Text => {
                    Outgoing::Text(String::from_utf8(piece.clone()).expect("UTF-8"))
                }
                MessageKind::Binary => Outgoing::Binary(piece.clone().into()),
            }];
        }
        let last = self.pieces.len() - 1;
        self.pieces
            .iter()
            .enumerate()
            .map(|(i, piece)| Outgoing::Fragment {
                kind: self.kind,
                data: piece.clone().into(),
                fin: i == last,
            })
            .collect()
    }

    fn check_echo(&self, echo: &Message) {
        let whole = self.whole();
        match (self.kind, echo) {
            (MessageKind::Text, Message::Text(text)) => assert!(
                text.as_str().as_bytes() == whole,
                "{}: the text echo differs ({} bytes, sent {})",
                self.name,
                text.as_str().len(),
                whole.len()
            ),
            (MessageKind::Binary, Message::Binary(data)) => assert!(
                data[..] == whole[..],
                "{}: the binary echo differs ({} bytes, sent {})",
                self.name,
                data.len(),
                whole.len()
            ),
            (_, other) => panic!(
                "{}: expected a {:?} echo, got {other:?}",
                self.name, self.kind
            ),
        }
    }
}

/// xorshift64*: deterministic "random" bytes without a dependency.
struct Rng(u64);

impl Rng {
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n)
            .map(|_| {
                self.0 ^= self.0 >> 12;
                self.0 ^= self.0 << 25;
                self.0 ^= self.0 >> 27;
                (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
            })
            .collect()
    }
}

fn json_like(n: usize, start: usize) -> String {
    let mut s = String::new();
    let mut i = start;
    while s.len() < n {
        s.push_str(&format!(
            "{{\"seq\":{i},\"status\":\"ok\",\"value\":{}}},",
            i % 97
        ));
        i += 1;
    }
    s.truncate(n);
    s
}

/// `random-3k` twice in a row shows context takeover (the second copy is one back-reference
/// away when the sender keeps its context and its window reaches 3000 bytes); `random-3k-x3`
/// shows the window (its repeats are 3000 bytes apart: only a 2^12 window or more reaches).
fn script() -> Vec<Item> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let random_3k = rng.bytes(3000);
    let chars: Vec<char> = "aé€𝄞 \n{}\"\\ñ✓🎉".chars().collect();
    let unicode: String = (0..100_000usize)
        .map(|i| chars[(i * i + 7 * i) % chars.len()])
        .collect();
    vec![
        Item::text("text-empty", String::new()),
        Item::text("text-small", "hello".into()),
        Item::text("text-unicode", "héllo wörld ✓ 🎉 𝄞 ".repeat(20)),
        Item::binary("binary-small", (0..=255).collect()),
        Item::text("text-json-64k", json_like(64 << 10, 0)),
        Item::text("text-json-64k-again", json_like(64 << 10, 0)),
        Item::binary("random-3k", random_3k.clone()),
        Item::binary("random-3k-again", random_3k.clone()),
        Item::binary("random-3k-x3", random_3k.repeat(3)),
        Item::binary("binary-random-64k", rng.bytes(64 << 10)),
        Item::text("text-mixed-unicode-100k", unicode),
        Item::text_pieces(
            "text-fragmented",
            (0..5).map(|i| json_like(20_000, i * 1000)).collect(),
        ),
        Item::binary_pieces(
            "binary-fragmented",
            vec![rng.bytes(10_000), vec![0; 30_000], Vec::new(), rng.bytes(1)],
        ),
        Item::text("text-json-1m", json_like(1 << 20, 0)),
        Item::binary(
            "binary-repetitive-1m",
            (0..1u32 << 20).map(|i| (i % 251) as u8).collect(),
        ),
        Item::binary("binary-random-1m", rng.bytes(1 << 20)),
    ]
}

// ---------------------------------------------------------------------------------------------
// Frame-level checks.

/// What was agreed, in effective values (a window of `None` is 15).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Agreed {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: u8,
    client_max_window_bits: u8,
}

/// How one side compresses: whether it resets per message and its window.
#[derive(Clone, Copy, Debug)]
struct Sending {
    no_context_takeover: bool,
    window_bits: u8,
}

impl From<DeflateParams> for Agreed {
    fn from(p: DeflateParams) -> Self {
        Self {
            server_no_context_takeover: p.server_no_context_takeover,
            client_no_context_takeover: p.client_no_context_takeover,
            server_max_window_bits: p.server_max_window_bits.unwrap_or(15),
            client_max_window_bits: p.client_max_window_bits.unwrap_or(15),
        }
    }
}

impl Agreed {
    /// The description `common.describe()` prints, or `None` for JSON null.
    fn from_python(v: &Value) -> Option<Self> {
        if v.is_null() {
            return None;
        }
        let flag = |k: &str| v[k].as_bool().unwrap_or_else(|| panic!("{k} in {v}"));
        let bits = |k: &str| {
            v[k].as_u64()
                .and_then(|b| u8::try_from(b).ok())
                .unwrap_or_else(|| panic!("{k} in {v}"))
        };
        Some(Self {
            server_no_context_takeover: flag("server_no_context_takeover"),
            client_no_context_takeover: flag("client_no_context_takeover"),
            server_max_window_bits: bits("server_max_window_bits"),
            client_max_window_bits: bits("client_max_window_bits"),
        })
    }

    fn client(self) -> Sending {
        Sending {
            no_context_takeover: self.client_no_context_takeover,
            window_bits: self.client_max_window_bits,
        }
    }

    fn server(self) -> Sending {
        Sending {
            no_context_takeover: self.server_no_context_takeover,
            window_bits: self.server_max_window_bits,
        }
    }
}

/// One message as the tap saw it on the wire.
#[derive(Debug)]
struct WireMessage {
    frames: usize,
    /// RSV1 on the first frame.
    rsv1: bool,
    /// Payload bytes on the wire.
    wire: usize,
    /// Payload bytes once inflated (the wire bytes if not compressed).
    plain: usize,
}

/// Groups the data frames of one direction into messages.
fn messages_of(frames: &[Frame], direction: Direction) -> Vec<WireMessage> {
    let mut out: Vec<WireMessage> = Vec::new();
    let mut open = false;
    for f in frames
        .iter()
        .filter(|f| f.direction == direction && !f.header.opcode.is_control())
    {
        let continuation = f.header.opcode == ws_tokio::ws_proto::OpCode::Continuation;
        assert_eq!(
            continuation, open,
            "frame sequence broken at {:?}",
            f.header
        );
        if continuation {
            assert!(
                !f.header.rsv1,
                "RSV1 on a continuation frame: {:?}",
                f.header
            );
        }
        let compressed = if continuation {
            out.last().is_some_and(|m| m.rsv1)
        } else {
            f.header.rsv1
        };
        assert_eq!(
            f.decompressed_len.is_some(),
            compressed,
            "decompressed_len of {:?}",
            f.header
        );
        let plain = f.decompressed_len.unwrap_or(f.payload.len());
        if continuation {
            let m = out.last_mut().expect("a message in progress");
            m.frames += 1;
            m.wire += f.payload.len();
            m.plain += plain;
        } else {
            out.push(WireMessage {
                frames: 1,
                rsv1: f.header.rsv1,
                wire: f.payload.len(),
                plain,
            });
        }
        open = !f.header.fin;
    }
    out
}

/// Who sent the messages checked.
#[derive(Clone, Copy, Debug)]
enum Source {
    /// Our client, sending the script.
    Us,
    /// Our server, echoing each message in one frame.
    OurEcho,
    /// Python's client, sending the script: websockets ends a fragmented message with an
    /// empty final frame.
    Python,
    /// Python's server, echoing each message in one frame.
    PythonEcho,
}

impl Source {
    fn frames(self, item: &Item) -> usize {
        match (self, item.pieces.len()) {
            (Self::OurEcho | Self::PythonEcho, _) => 1,
            (Self::Python, n) if n > 1 => n + 1,
            (_, n) => n,
        }
    }
}

/// Checks one direction's messages against the script, for a sender that compresses as
/// `sending` says (`None`: permessage-deflate is off).
fn check_frames(
    script: &[Item],
    messages: &[WireMessage],
    sending: Option<Sending>,
    source: Source,
) {
    let who = format!("{source:?} sent");
    let names: Vec<_> = script.iter().map(|i| i.name).collect();
    assert_eq!(messages.len(), script.len(), "{who}: messages {names:?}");
    let by_name = |name: &str| {
        let i = names
            .iter()
            .position(|n| *n == name)
            .expect("in the script");
        &messages[i]
    };
    for (item, m) in script.iter().zip(messages) {
        let len = item.whole().len();
        let what = format!("{who} {}: {m:?}", item.name);
        assert_eq!(m.plain, len, "{what}: plain size");
        assert_eq!(m.frames, source.frames(item), "{what}: frames");
        // Both implementations compress every message, except that with an 8-bit window ours
        // sends messages over 256 bytes plain (Python cannot compress with 8 bits at all).
        let compressed = match sending {
            None => false,
            Some(s) => s.window_bits > 8 || len <= 256,
        };
        assert_eq!(m.rsv1, compressed, "{what}: RSV1");
    }
    let Some(sending) = sending else {
        return;
    };
    if sending.window_bits > 8 {
        for name in ["text-json-64k", "text-json-1m"] {
            let m = by_name(name);
            assert!(m.wire * 4 < m.plain, "{who} {name}: not compressed: {m:?}");
        }
        // Its period is 251 bytes; zlib reaches back at most 2^bits - 262 bytes.
        if sending.window_bits >= 10 {
            let m = by_name("binary-repetitive-1m");
            assert!(m.wire * 4 < m.plain, "{who}: not compressed: {m:?}");
        }
        // Context takeover: the second copy of random-3k refers to the first, or not.
        let again = by_name("random-3k-again");
        if sending.no_context_takeover {
            assert!(
                again.wire >= 3000,
                "{who}: context kept despite no_context_takeover: {again:?}"
            );
        } else if sending.window_bits >= 12 {
            assert!(
                again.wire < 100,
                "{who}: context takeover not used: {again:?}"
            );
        }
        // The window: repeats 3000 bytes apart.
        let x3 = by_name("random-3k-x3");
        if sending.window_bits >= 12 {
            assert!(x3.wire < 4000, "{who}: the window was not used: {x3:?}");
        } else {
            assert!(
                x3.wire >= 9000,
                "{who}: a {}-bit window cannot reach 3000 bytes back: {x3:?}",
                sending.window_bits
            );
        }
    }
}

/// Collects the tap's frames until every tap handle is gone.
fn collect_frames(mut taps: tap::TapReceiver) -> tokio::task::JoinHandle<Vec<Frame>> {
    tokio::spawn(async move {
        let mut frames = Vec::new();
        while let Some(event) = taps.recv().await {
            if let tap::TapKind::Frame(frame) = event.kind {
                frames.push(frame);
            }
        }
        frames
    })
}

async fn next_message(receiver: &mut ws_tokio::Receiver, name: &str) -> Message {
    loop {
        let message = tokio::time::timeout(STEP, receiver.recv())
            .await
            .unwrap_or_else(|_| panic!("{name}: timed out waiting for the echo"))
            .unwrap_or_else(|| panic!("{name}: the connection ended"))
            .unwrap_or_else(|e| panic!("{name}: the connection failed: {e}"));
        if !matches!(message, Message::Ping(_) | Message::Pong(_)) {
            return message;
        }
    }
}

fn header(headers: &ws_tokio::ws_proto::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|v| v.to_str().expect("an ASCII header").to_owned())
}

// ---------------------------------------------------------------------------------------------
// Python processes.

/// A Python program from `tests/python/` running in the venv; killed and reaped on drop.
struct Python {
    child: Child,
    what: String,
    /// Held open: the program exits when it closes (echo_server.py watches it).
    stdin: Option<ChildStdin>,
    lines: mpsc::UnboundedReceiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Python {
    fn spawn(script: &str, args: &[&str]) -> Self {
        static PYTHON: OnceLock<std::path::PathBuf> = OnceLock::new();
        let python = PYTHON.get_or_init(python_setup);
        let path = repo_root().join("tests/python").join(script);
        let what = format!("{script} {}", args.join(" "));
        let mut child = Command::new(python)
            .arg("-u")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .arg(&path)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {} {}: {e}", python.display(), path.display()));
        let (tx, lines) = mpsc::unbounded_channel();
        let stdout = child.stdout.take().expect("piped stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().expect("piped stderr");
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = pipe.read(&mut buf) {
                let text = String::from_utf8_lossy(&buf[..n]);
                sink.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push_str(&text);
            }
        });
        Self {
            stdin: child.stdin.take(),
            child,
            what,
            lines,
            stderr,
        }
    }

    fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The next JSON line, which must be the event `name`.
    async fn event(&mut self, name: &str) -> Value {
        let line = match tokio::time::timeout(STEP, self.lines.recv()).await {
            Ok(Some(line)) => line,
            Ok(None) => panic!(
                "{} ended before its {name:?} event; stderr:\n{}",
                self.what,
                self.stderr()
            ),
            Err(_) => panic!(
                "{} printed no {name:?} event in {STEP:?}; stderr:\n{}",
                self.what,
                self.stderr()
            ),
        };
        let event: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {line}", self.what));
        assert_eq!(
            event["event"], name,
            "{}: unexpected event {line}",
            self.what
        );
        event
    }

    /// Closes stdin and waits up to `limit` for the program to exit; returns its status and
    /// everything it printed on stdout.
    async fn finish(&mut self, limit: Duration) -> (ExitStatus, String) {
        drop(self.stdin.take());
        let deadline = tokio::time::Instant::now() + limit;
        let mut out = String::new();
        loop {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Ok(Some(line)) => {
                    out.push_str(&line);
                    out.push('\n');
                }
                Ok(None) => break,
                Err(_) => panic!(
                    "{} did not finish in {limit:?}; stdout:\n{out}\nstderr:\n{}",
                    self.what,
                    self.stderr()
                ),
            }
        }
        // Stdout is closed: the process is exiting.
        while tokio::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return (status, out);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{} closed its stdout but did not exit", self.what);
    }

    /// Stops a server: closes its stdin and expects a clean exit.
    async fn stop(mut self) {
        let (status, rest) = self.finish(STEP).await;
        assert!(
            status.success(),
            "{} exited with {status}; stdout:\n{rest}\nstderr:\n{}",
            self.what,
            self.stderr()
        );
    }
}

impl Drop for Python {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}
