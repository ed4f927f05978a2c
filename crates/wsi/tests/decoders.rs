//! `wsi connect --decode` (issue 18) and the core's decoders against encoders and servers
//! nobody here wrote.
//!
//! Run by `cargo test -p wsi` (no peer but wsi's own `listen`):
//! - `--decode msgpack --encode`: the value printed as JSON, a `decoded` field on the
//!   `--jsonl` lines of both directions that the capture's reader ignores, and the same
//!   through permessage-deflate (the tap's frames inflated again);
//! - bad input: a truncated MessagePack message (the error at its byte, the hex still
//!   printed), a `.proto` with a syntax error (exit 2, `FILE:LINE:COLUMN`), a Socket.IO
//!   packet with a bad type byte.
//!
//! In the conformance run (`cargo test -p wsi -- --ignored`), against independent peers in a
//! venv and an npm folder this test makes (`support/decoders/setup.sh`, under target/; they
//! fail loudly, never skip, without Python 3 or node and npm):
//! - payloads encoded by Python `msgpack`, `cbor2` and `protobuf` (a `.proto` compiled by
//!   the reference `protoc` of grpcio-tools into classes and a descriptor set), decoded by
//!   `ws_inspector_core::decode` from the `.proto` (protox) and from protoc's descriptor set;
//! - a `python-socketio` server (`support/decoders/socketio_server.py`): a namespace joined
//!   with auth, an event with an ack, an event echoed back, a binary attachment joined to
//!   its placeholder, Engine.IO pings answered (and, with `--no-auto-protocol`, not: the
//!   server drops the client);
//! - the npm `graphql-ws` server (`support/decoders/graphql_server.cjs`): connection_init
//!   with a payload, a subscription streaming three results, a resolver error in a `next`, a
//!   validation `error`, `complete`s, and a ping answered by a pong.

#[path = "support/tt.rs"]
mod tt;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;
use tt::{Input, Wsi, path_str, read_capture_lines, scratch_file};
use ws_inspector_core::decode::{Context, Decoder, Payload, ProtoSource};

// ---------------------------------------------------------------------------------------------
// With wsi's own echo server.

/// `wsi listen 127.0.0.1:0 --echo [--compress]` and its ws:// URL.
async fn echo_server(compress: bool) -> (Wsi, String) {
    let mut args = vec!["listen", "127.0.0.1:0", "--echo", "-q"];
    if compress {
        args.push("--compress");
    }
    let mut server = Wsi::spawn(&args, Input::Piped);
    let addr = server.listening_first_line("ws").await;
    (server, format!("ws://{addr}/"))
}

/// The `decoded` fields of a capture's frame lines: (incoming, field).
fn decoded_fields(path: &Path) -> Vec<(bool, Value)> {
    let text = std::fs::read_to_string(path).expect("the capture");
    text.lines()
        .filter_map(|line| {
            let value: Value = serde_json::from_str(line).expect("a JSON line");
            let field = value.get("decoded")?.clone();
            Some((
                value["record"]["incoming"].as_bool().expect("a frame line"),
                field,
            ))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msgpack_prints_json_and_the_jsonl_carries_the_decoded_form() {
    for compress in [false, true] {
        let (server, url) = echo_server(compress).await;
        let jsonl = scratch_file(&format!("decode-msgpack-{compress}.jsonl"));
        let mut args = vec![
            "connect",
            &url,
            "--decode",
            "msgpack",
            "--encode",
            "--send",
            r#"{"b":1,"a":[true,null,"x"],"f":1.5}"#,
            "--count",
            "1",
            "--jsonl",
            path_str(&jsonl),
        ];
        if compress {
            args.push("--compress");
        }
        let out = Wsi::spawn(&args, Input::Null).finish().await;
        out.expect_status(0);
        assert_eq!(
            out.stdout_lines(),
            [r#"{"b":1,"a":[true,null,"x"],"f":1.5}"#],
            "the echo decoded, keys in order\n{out}"
        );
        let fields = decoded_fields(&jsonl);
        assert_eq!(fields.len(), 2, "one message each way: {fields:?}");
        for (incoming, field) in &fields {
            assert_eq!(field["decoder"], "msgpack", "{field}");
            assert_eq!(
                field["value"],
                serde_json::json!({"b":1,"a":[true,null,"x"],"f":1.5}),
                "incoming {incoming}: {field}"
            );
            assert_eq!(field["summary"], r#"{"b":1,"a":[true,null,"x"],"f":1.5}"#);
        }
        // The capture's own reader reads the lines as any others (the field is ignored).
        let lines = read_capture_lines(&jsonl);
        let frames = lines
            .iter()
            .filter(|l| matches!(l.record, ws_inspector_core::capture::Record::Frame(_)))
            .count();
        assert!(frames >= 2, "{frames} frames read back");
        if compress {
            let text = std::fs::read_to_string(&jsonl).unwrap();
            assert!(text.contains("\"rsv1\":true"), "compressed frames");
        }
        drop(server);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_msgpack_message_is_shown_raw_with_the_byte() {
    let (server, url) = echo_server(false).await;
    // {"name": "abcdef"} cut inside the string, which starts at byte 6.
    let out = Wsi::spawn(
        &[
            "connect",
            &url,
            "--decode",
            "msgpack",
            "--send-hex",
            "81a46e616d65a6616263",
            "--count",
            "1",
        ],
        Input::Null,
    )
    .finish()
    .await;
    out.expect_status(0);
    assert_eq!(
        out.stdout_lines(),
        ["81a46e616d65a6616263"],
        "raw hex\n{out}"
    );
    assert!(
        out.stderr
            .contains("does not decode as msgpack: at byte 6:")
            && out.stderr.contains("truncated"),
        "the error at the byte\n{out}"
    );
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proto_with_a_syntax_error_names_file_line_and_column() {
    let dir = scratch_file("decode-bad-proto");
    std::fs::create_dir_all(&dir).unwrap();
    let proto = dir.join("bad.proto");
    std::fs::write(
        &proto,
        "syntax = \"proto3\";\n\nmessage Bad {\n  string text = 1\n  int32 n = 2;\n}\n",
    )
    .unwrap();
    let spec = format!("protobuf:{}:Bad", proto.display());
    let out = Wsi::spawn(
        &["connect", "ws://127.0.0.1:9/", "--decode", &spec],
        Input::Null,
    )
    .finish()
    .await;
    out.expect_status(2);
    assert!(
        out.stderr.contains("bad.proto:5:3: "),
        "the file, line and column of the token after the missing ';'\n{out}"
    );
    let out = Wsi::spawn(
        &[
            "connect",
            "ws://127.0.0.1:9/",
            "--decode",
            "protobuf:nope.proto",
        ],
        Input::Null,
    )
    .finish()
    .await;
    out.expect_status(2);
}

#[test]
fn a_socket_io_packet_with_a_bad_type_byte_fails_at_that_byte() {
    let codec = Decoder::SocketIo.load().unwrap();
    let mut stream = codec.stream(&Context {
        protocol: None,
        url: "ws://h/socket.io/?EIO=4&transport=websocket".into(),
    });
    let e = stream.decode(Payload::Text("8{}")).unwrap_err();
    assert_eq!(e.offset, 0, "{e}");
    let e = stream.decode(Payload::Text("4x[\"a\"]")).unwrap_err();
    assert_eq!(e.offset, 1, "{e}");
    assert!(
        e.to_string()
            .starts_with("at byte 1: 'x' is not a Socket.IO packet type"),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------------------
// Payloads encoded by Python msgpack, cbor2 and protobuf.

const CHAT_PROTO: &str = r#"syntax = "proto3";
package chat;
import "common.proto";

message Message {
  string text = 1;
  int64 id = 2;
  repeated int32 scores = 3;
  Kind kind = 4;
  common.Author author = 5;
  map<string, int32> counts = 6;
  bytes blob = 7;
  sint32 delta = 8;
  double ratio = 9;
  repeated common.Author cc = 10;
  enum Kind { PLAIN = 0; SHOUT = 1; }
}

message Slim { string text = 1; }
message Counter { int64 count = 1; }
"#;

const COMMON_PROTO: &str =
    "syntax = \"proto3\";\npackage common;\nmessage Author { string name = 1; }\n";

#[test]
#[ignore = "decoders against Python msgpack, cbor2 and protobuf: the conformance run, cargo test -p wsi -- --ignored"]
fn payloads_encoded_by_python_decode() {
    let dir = scratch_file("decode-python-fixtures");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("imports")).unwrap();
    std::fs::write(dir.join("chat.proto"), CHAT_PROTO).unwrap();
    std::fs::write(dir.join("imports/common.proto"), COMMON_PROTO).unwrap();
    let out = Command::new(python())
        .arg(support().join("fixtures.py"))
        .arg(&dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("run fixtures.py");
    assert!(
        out.status.success(),
        "fixtures.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fixtures: Value = serde_json::from_slice(&out.stdout).expect("fixtures.py's JSON");
    eprintln!("python encoders: {}", fixtures["versions"]);

    let mut checked = 0;
    for (format, decoder) in [("msgpack", Decoder::MessagePack), ("cbor", Decoder::Cbor)] {
        let mut stream = decoder.load().unwrap().stream(&Context::default());
        for fixture in fixtures[format].as_array().unwrap() {
            let bytes =
                ws_inspector_core::hex::parse_hex(fixture["hex"].as_str().unwrap()).unwrap();
            let decoded = stream
                .decode(Payload::Binary(&bytes))
                .unwrap_or_else(|e| panic!("{format} {}: {e}", fixture["name"]));
            let json: Value = serde_json::from_str(&decoded.value.to_json()).unwrap();
            assert_eq!(json, fixture["expect"], "{format} {}", fixture["name"]);
            checked += 1;
        }
    }
    // Key order as Python wrote it.
    let first = &fixtures["msgpack"][0];
    let bytes = ws_inspector_core::hex::parse_hex(first["hex"].as_str().unwrap()).unwrap();
    let node = ws_inspector_core::decode::msgpack::decode(&bytes).unwrap();
    assert!(
        node.to_json()
            .starts_with(r#"{"name":"ann","n":7,"neg":-200"#),
        "{}",
        node.to_json()
    );

    // Protobuf: from the .proto (protox) and from protoc's descriptor set.
    let sources = [
        ProtoSource::Proto {
            file: dir.join("chat.proto"),
            imports: vec![dir.join("imports")],
        },
        ProtoSource::DescriptorSet {
            file: PathBuf::from(fixtures["descriptor_set"].as_str().unwrap()),
        },
    ];
    for source in sources {
        for fixture in fixtures["protobuf"].as_array().unwrap() {
            let decoder = Decoder::Protobuf {
                source: source.clone(),
                message_type: fixture["type"].as_str().unwrap().to_owned(),
            };
            let mut stream = decoder.load().unwrap().stream(&Context::default());
            let bytes =
                ws_inspector_core::hex::parse_hex(fixture["hex"].as_str().unwrap()).unwrap();
            let outcome = stream.decode(Payload::Binary(&bytes));
            if fixture["expect"].is_null() {
                // A payload of another type: an error at its first byte.
                let e = outcome.expect_err("a chat.Message is no chat.Counter");
                assert_eq!(e.offset, 0, "{e}");
                assert!(e.reason.contains("length-delimited"), "{e}");
            } else {
                let decoded = outcome.unwrap_or_else(|e| panic!("{}: {e}", fixture["name"]));
                let json: Value = serde_json::from_str(&decoded.value.to_json()).unwrap();
                assert_eq!(json, fixture["expect"], "{} ({source:?})", fixture["name"]);
            }
            checked += 1;
        }
    }
    assert!(checked >= 19, "{checked} fixtures");
}

// ---------------------------------------------------------------------------------------------
// A python-socketio server.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "wsi --decode socketio against python-socketio: the conformance run, cargo test -p wsi -- --ignored"]
async fn socketio_events_acks_namespace_and_binary_attachment() {
    let mut server = Peer::start(python(), &[support().join("socketio_server.py")], &[]).await;
    let url = format!("ws://127.0.0.1:{}/", server.port);
    let jsonl = scratch_file("decode-socketio.jsonl");
    let out = Wsi::spawn(
        &[
            "connect",
            &url,
            "--decode",
            "socketio",
            "--namespace",
            "/chat",
            "--init-payload",
            r#"{"token":"t1"}"#,
            "--encode",
            "--ack",
            "--send",
            r#"["hello","a",1]"#,
            "--send",
            r#"["echo",{"x":[1,2]}]"#,
            "--expect",
            r#"^binary_event /chat \["file",h'00010203faff62696e617279',\{"name":"f.bin","data":h'0708'\}\]$"#,
            "--wait",
            "1.5",
            "--jsonl",
            path_str(&jsonl),
        ],
        Input::Null,
    )
    .finish()
    .await;
    out.expect_status(0);
    let lines = out.stdout_lines();
    for want in [
        r#"connect /chat"#,
        r#"ack /chat #1 [["hello back","a",1]]"#,
        r#"event /chat ["echoed",{"x":[1,2]}]"#,
        r#"event /chat ["welcome",{"text":"hi "#,
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(want)),
            "{want:?} on stdout\n{out}"
        );
    }
    assert!(
        !lines.contains(&"ping"),
        "heartbeats are not printed\n{out}"
    );
    // What the server saw.
    let connect = server.event("connect").await;
    assert_eq!(connect["namespace"], "/chat");
    assert_eq!(connect["auth"], serde_json::json!({"token":"t1"}));
    let hello = server.event("hello").await;
    assert_eq!(hello["args"], serde_json::json!(["a", 1]));
    let echo = server.event("echo").await;
    assert_eq!(echo["args"], serde_json::json!([{"x": [1, 2]}]));
    let gone = server.event("disconnect").await;
    assert_ne!(
        gone["reason"], "ping timeout",
        "the pings were answered: {gone}"
    );
    // The capture: pings received and pongs sent, flagged as heartbeats; the attachment
    // joined on the binary frame's line.
    let fields = decoded_fields(&jsonl);
    let pongs_sent = fields
        .iter()
        .filter(|(incoming, f)| {
            !incoming && f["packet"]["type"] == "pong" && f["packet"]["heartbeat"] == true
        })
        .count();
    let pings = fields
        .iter()
        .filter(|(incoming, f)| *incoming && f["packet"]["type"] == "ping")
        .count();
    assert!(
        pings >= 2 && pongs_sent == pings,
        "{pings} pings, {pongs_sent} pongs\n{out}"
    );
    let joined = fields
        .iter()
        .find(|(_, f)| {
            f["packet"]["type"] == "binary_event"
                && f["packet"]["attachments"] == serde_json::json!([2, 2])
        })
        .expect("the joined binary event");
    assert_eq!(
        joined.1["value"][1], "AAECA/r/YmluYXJ5",
        "the attachment as base64"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "wsi --decode socketio against python-socketio: the conformance run, cargo test -p wsi -- --ignored"]
async fn socketio_without_auto_protocol_is_dropped_for_unanswered_pings() {
    let mut server = Peer::start(python(), &[support().join("socketio_server.py")], &[]).await;
    let url = format!(
        "ws://127.0.0.1:{}/socket.io/?EIO=4&transport=websocket",
        server.port
    );
    let started = std::time::Instant::now();
    let out = Wsi::spawn(
        &[
            "connect",
            &url,
            "--decode",
            "socketio",
            "--no-auto-protocol",
            "--send",
            "40/chat,",
            "--wait",
            "6",
        ],
        Input::Null,
    )
    .finish()
    .await;
    let took = started.elapsed();
    let connect = server.event("connect").await;
    assert_eq!(connect["namespace"], "/chat", "the raw connect joined");
    server.event("disconnect").await;
    // The server pings every 0.4 s and waits 0.6 s for the pong: it ends the connection
    // long before wsi's --wait would.
    assert!(
        took < std::time::Duration::from_secs(4),
        "the server dropped the client that answered no ping, after {took:?}\n{out}"
    );
    assert!(
        out.stdout_lines().iter().any(|l| l.starts_with("open {")),
        "{out}"
    );
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// The npm graphql-ws server.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "wsi --decode graphql-ws against npm graphql-ws: the conformance run, cargo test -p wsi -- --ignored"]
async fn graphql_ws_subscription_streams_results_and_errors() {
    let modules = graphql_modules();
    let mut server = Peer::start(
        Path::new("node"),
        &[support().join("graphql_server.cjs")],
        &[("NODE_PATH", modules.join("node_modules"))],
    )
    .await;
    let url = format!("ws://127.0.0.1:{}/graphql", server.port);
    let jsonl = scratch_file("decode-graphql.jsonl");
    let out = Wsi::spawn(
        &[
            "connect",
            &url,
            "--decode",
            "graphql-ws",
            "--encode",
            "--init-payload",
            r#"{"token":"g"}"#,
            "--send",
            r#"{"query":"subscription C($to: Int!) { count(to: $to) }","variables":{"to":3},"operationName":"C"}"#,
            "--send",
            "subscription { fail }",
            "--send",
            "subscription { nope }",
            "--expect",
            r#"^next #1 \{"data":\{"count":3\}\}$"#,
            "--expect",
            "^complete #1$",
            "--close",
            "--jsonl",
            path_str(&jsonl),
        ],
        Input::Null,
    )
    .finish()
    .await;
    out.expect_status(0);
    let lines = out.stdout_lines();
    for want in [
        "connection_ack",
        r#"next #1 {"data":{"count":1}}"#,
        r#"next #1 {"data":{"count":2}}"#,
        r#"next #2 {"data":{"fail":null},"errors":[{"message":"fail resolver failed on purpose""#,
        "complete #2",
        r#"error #3 [{"message":"Cannot query field \"nope\" on type \"Subscription\".""#,
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(want)),
            "{want:?} on stdout\n{out}"
        );
    }
    let connect = server.event("connect").await;
    assert_eq!(
        connect["protocol"], "graphql-transport-ws",
        "offered by default: {connect}"
    );
    assert_eq!(connect["payload"], serde_json::json!({"token":"g"}));
    let subscribe = server.event("subscribe").await;
    assert_eq!(subscribe["id"], "1");
    assert_eq!(subscribe["variables"], serde_json::json!({"to": 3}));
    // The subscribe sent, decoded in the capture with its query pretty-printed.
    let fields = decoded_fields(&jsonl);
    let sent = fields
        .iter()
        .find(|(incoming, f)| !incoming && f["packet"]["type"] == "subscribe")
        .expect("the subscribe sent");
    assert_eq!(sent.1["packet"]["id"], "1");
    assert_eq!(sent.1["packet"]["name"], "C");
    assert_eq!(
        sent.1["value"]["query"],
        "subscription C($to: Int!) {\n  count(to: $to)\n}"
    );
    server.stop().await;

    // A ping of ours, answered by the server's pong (a heartbeat, not printed).
    let server = Peer::start(
        Path::new("node"),
        &[support().join("graphql_server.cjs")],
        &[("NODE_PATH", modules.join("node_modules"))],
    )
    .await;
    let url = format!("ws://127.0.0.1:{}/graphql", server.port);
    let jsonl = scratch_file("decode-graphql-ping.jsonl");
    let out = Wsi::spawn(
        &[
            "connect",
            &url,
            "--decode",
            "graphql-ws",
            "--send",
            r#"{"type":"ping"}"#,
            "--wait",
            "0.5",
            "--jsonl",
            path_str(&jsonl),
        ],
        Input::Null,
    )
    .finish()
    .await;
    out.expect_status(0);
    assert_eq!(
        out.stdout_lines(),
        ["connection_ack"],
        "the pong is not printed\n{out}"
    );
    let pong = decoded_fields(&jsonl)
        .into_iter()
        .find(|(incoming, f)| *incoming && f["packet"]["type"] == "pong");
    assert_eq!(
        pong.map(|(_, f)| f["packet"]["heartbeat"].clone()),
        Some(Value::Bool(true))
    );
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// The peers.

/// A peer server process that prints JSON event lines, the first `listening` with its port;
/// it exits when its stdin closes.
struct Peer {
    proc: Wsi,
    port: u16,
}

impl Peer {
    async fn start(program: &Path, args: &[PathBuf], env: &[(&str, PathBuf)]) -> Self {
        let mut command = Command::new(program);
        command.args(args).env("PYTHONDONTWRITEBYTECODE", "1");
        for (k, v) in env {
            command.env(k, v);
        }
        let what = format!("{} {}", program.display(), args[0].display());
        let mut proc = Wsi::spawn_command(what, command, Input::Piped);
        let listening = Self::next(&mut proc).await;
        assert_eq!(listening["event"], "listening", "{listening}");
        let port = listening["port"].as_u64().expect("a port") as u16;
        Self { proc, port }
    }

    async fn next(proc: &mut Wsi) -> Value {
        let line = proc.stdout_line().await;
        serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {line}", proc.what()))
    }

    /// The next event named `name` (others before it are skipped).
    async fn event(&mut self, name: &str) -> Value {
        for _ in 0..64 {
            let event = Self::next(&mut self.proc).await;
            if event["event"] == name {
                return event;
            }
        }
        panic!("{}: no {name} event", self.proc.what());
    }

    async fn stop(mut self) {
        self.proc.close_stdin();
        let _ = self.proc.finish().await;
    }
}

/// The venv's Python, from support/decoders/setup.sh (idempotent; fails loudly).
fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let script = support().join("setup.sh");
        let output = Command::new("bash")
            .arg(&script)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "the decoders' Python venv could not be set up ({}):\n{stdout}\n{}",
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

/// `graphql-ws`, `ws` and `graphql` installed under target/tmp/graphql-ws (once, like the
/// core's HAR test installs har-validator); needs node and npm (Debian: `apt-get install -y
/// nodejs npm`) and fails without them.
fn graphql_modules() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("graphql-ws");
        let packages = ["graphql-ws@6.4.2", "ws@8.23.0", "graphql@16.15.0"];
        let stamp = dir.join(".installed");
        if std::fs::read_to_string(&stamp).ok().as_deref() != Some(&packages.join(" ")) {
            std::fs::create_dir_all(&dir).unwrap();
            let out = Command::new("npm")
                .args(["install", "--no-audit", "--no-fund", "--prefix"])
                .arg(&dir)
                .args(packages)
                .output()
                .unwrap_or_else(|e| {
                    panic!("could not run npm ({e}): this test needs node and npm — on Debian, `apt-get install -y nodejs npm`")
                });
            assert!(
                out.status.success(),
                "npm install {packages:?} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            std::fs::write(&stamp, packages.join(" ")).unwrap();
        }
        dir
    })
    .clone()
}

fn support() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/decoders")
}
