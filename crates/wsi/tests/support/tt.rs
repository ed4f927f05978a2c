//! What the tests of `wsi` against tokio-tungstenite (`interop.rs`, `captures.rs`) and against
//! Python `websockets` (`python.rs`) share:
//!
//! - [`TtServer`]: a tokio-tungstenite server on 127.0.0.1 for a given number of connections,
//!   one after the other, behaving as a [`ServerBehaviour`] says (echo, uppercase the text it
//!   echoes, greet first, choose a subprotocol, close at once), reporting what it [`Seen`];
//! - a tokio-tungstenite client: [`tt_connect`], [`send`], [`recv_data`], [`close`];
//! - [`Wsi`]: the `wsi` binary (or, with [`Wsi::spawn_command`], any program) under a
//!   watchdog (killed, and the test failed, after [`WATCHDOG`]), its stdout and stderr
//!   collected and also handed over line by line;
//! - captures: [`scratch_file`], [`read_capture_lines`], [`read_capture_events`],
//!   [`opened_record`].
//!
//! Every wait and every loop is bounded.
#![allow(dead_code)] // shared: a test file may use only part of it

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use regex::Regex;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as TtCloseCode;
use tokio_tungstenite::tungstenite::{Error as TtError, Message as TtMessage};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use ws_inspector_core::capture::{CaptureLine, FORMAT, JsonlReader, Record};
use ws_tokio::tap::TapEvent;

/// A `wsi` process is killed, and its test fails, after this long.
pub const WATCHDOG: Duration = Duration::from_secs(20);
/// The limit for any one step (a handshake, a message, a line on stderr).
pub const STEP: Duration = Duration::from_secs(10);
// ---------------------------------------------------------------------------------------------
// The tokio-tungstenite server.

/// How the tokio-tungstenite server behaves.
#[derive(Clone, Copy, Debug)]
pub struct ServerBehaviour {
    /// Choose this subprotocol when the client offers it.
    pub protocol: Option<&'static str>,
    /// Close with this code and reason right after the handshake (and echo nothing).
    pub close_with: Option<(u16, &'static str)>,
    /// Send these text messages right after the handshake, before reading anything.
    pub welcome: &'static [&'static str],
    /// Echo text messages in upper case (binary ones as they came).
    pub uppercase: bool,
}

impl ServerBehaviour {
    /// Echoes every text and binary message.
    pub fn echo() -> Self {
        Self {
            protocol: None,
            close_with: None,
            welcome: &[],
            uppercase: false,
        }
    }
}

/// What the server saw of the upgrade request.
#[derive(Clone, Debug, Default)]
pub struct SeenRequest {
    pub path: String,
    pub protocol: Option<String>,
    pub extensions: Option<String>,
}

/// What the server saw of one connection.
#[derive(Debug, Default)]
pub struct Seen {
    pub request: Option<SeenRequest>,
    /// The text and binary messages received.
    pub data: Vec<TtMessage>,
    /// The close frame received (`Some(None)`: one without a code).
    pub close: Option<Option<CloseFrame>>,
    /// How it ended, if with an error.
    pub error: Option<String>,
}

impl Seen {
    pub fn request(&self) -> &SeenRequest {
        self.request.as_ref().expect("the server saw the request")
    }

    pub fn close_code(&self) -> Option<u16> {
        self.close
            .as_ref()
            .and_then(|c| c.as_ref().map(|f| u16::from(f.code)))
    }
}

/// A tokio-tungstenite server on 127.0.0.1 for a number of connections, one after the other.
pub struct TtServer {
    pub addr: SocketAddr,
    done: mpsc::UnboundedReceiver<Seen>,
}

impl TtServer {
    /// A server for one connection.
    pub async fn start(behaviour: ServerBehaviour) -> Self {
        Self::start_for(behaviour, 1).await
    }

    /// A server for `connections` connections, served one after the other.
    pub async fn start_for(behaviour: ServerBehaviour, connections: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        let (tx, done) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            // The task ends with the runtime otherwise.
            for _ in 0..connections {
                let Ok(Ok((tcp, _))) = tokio::time::timeout(WATCHDOG, listener.accept()).await
                else {
                    return;
                };
                let seen = serve_one(tcp, behaviour).await;
                let _ = tx.send(seen);
            }
        });
        Self { addr, done }
    }

    pub fn url(&self) -> String {
        format!("ws://{}/test", self.addr)
    }

    /// What the server saw of its next connection, once that has ended.
    pub async fn finish(&mut self) -> Seen {
        let seen = tokio::time::timeout(STEP, self.done.recv())
            .await
            .expect("the server's connection did not end")
            .expect("the server accepted no connection");
        if let Some(error) = &seen.error {
            panic!("the tokio-tungstenite server failed: {error}; saw {seen:?}");
        }
        seen
    }
}

// The handshake callback's type is tungstenite's `Callback`: its error is a whole response.
#[allow(clippy::result_large_err)]
pub async fn serve_one(tcp: TcpStream, behaviour: ServerBehaviour) -> Seen {
    let request = Arc::new(Mutex::new(None));
    let record = Arc::clone(&request);
    let callback =
        move |req: &Request, mut response: Response| -> Result<Response, ErrorResponse> {
            let header = |name: &str| {
                req.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            let protocol = header("sec-websocket-protocol");
            if let (Some(want), Some(offered)) = (behaviour.protocol, &protocol)
                && offered.split(',').any(|p| p.trim() == want)
            {
                response
                    .headers_mut()
                    .insert("sec-websocket-protocol", HeaderValue::from_static(want));
            }
            *record.lock().unwrap_or_else(|e| e.into_inner()) = Some(SeenRequest {
                path: req.uri().to_string(),
                protocol,
                extensions: header("sec-websocket-extensions"),
            });
            Ok(response)
        };
    let mut seen = Seen::default();
    let accepted =
        tokio::time::timeout(STEP, tokio_tungstenite::accept_hdr_async(tcp, callback)).await;
    seen.request = request.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut ws = match accepted {
        Ok(Ok(ws)) => ws,
        Ok(Err(e)) => {
            seen.error = Some(format!("handshake: {e}"));
            return seen;
        }
        Err(_) => {
            seen.error = Some("handshake timed out".into());
            return seen;
        }
    };
    for text in behaviour.welcome {
        if let Err(e) = ws.send(TtMessage::text(*text)).await {
            seen.error = Some(format!("sending the welcome: {e}"));
            return seen;
        }
    }
    if let Some((code, reason)) = behaviour.close_with {
        let frame = CloseFrame {
            code: TtCloseCode::from(code),
            reason: reason.into(),
        };
        if let Err(e) = ws.close(Some(frame)).await {
            seen.error = Some(format!("closing: {e}"));
            return seen;
        }
    }
    for _ in 0..10_000 {
        match tokio::time::timeout(WATCHDOG, ws.next()).await {
            Err(_) => {
                seen.error = Some(format!("nothing from the client in {WATCHDOG:?}"));
                return seen;
            }
            Ok(None | Some(Err(TtError::ConnectionClosed))) => return seen,
            Ok(Some(Err(e))) => {
                seen.error = Some(e.to_string());
                return seen;
            }
            Ok(Some(Ok(TtMessage::Close(frame)))) => seen.close = Some(frame),
            Ok(Some(Ok(message @ (TtMessage::Text(_) | TtMessage::Binary(_))))) => {
                seen.data.push(message.clone());
                let answer = match message {
                    TtMessage::Text(text) if behaviour.uppercase => {
                        TtMessage::text(text.as_str().to_uppercase())
                    }
                    other => other,
                };
                if behaviour.close_with.is_none()
                    && let Err(e) = ws.send(answer).await
                {
                    seen.error = Some(format!("echoing: {e}"));
                    return seen;
                }
            }
            Ok(Some(Ok(_))) => {}
        }
    }
    seen.error = Some("too many messages".into());
    seen
}

// ---------------------------------------------------------------------------------------------
// The tokio-tungstenite client.

pub type TtClient = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub async fn tt_connect(
    url: &str,
    headers: &[(&'static str, &'static str)],
) -> (
    TtClient,
    tokio_tungstenite::tungstenite::handshake::client::Response,
) {
    let mut request = url.into_client_request().expect("a client request");
    for (name, value) in headers {
        request
            .headers_mut()
            .insert(*name, HeaderValue::from_static(value));
    }
    tokio::time::timeout(STEP, tokio_tungstenite::connect_async(request))
        .await
        .unwrap_or_else(|_| panic!("connecting to {url} timed out"))
        .unwrap_or_else(|e| panic!("the tokio-tungstenite client could not connect to {url}: {e}"))
}

pub async fn send(ws: &mut TtClient, message: TtMessage) {
    tokio::time::timeout(STEP, ws.send(message))
        .await
        .expect("sending timed out")
        .expect("sending failed");
}

/// The next text or binary message.
pub async fn recv_data(ws: &mut TtClient) -> TtMessage {
    for _ in 0..100 {
        match tokio::time::timeout(STEP, ws.next()).await {
            Err(_) => panic!("no message in {STEP:?}"),
            Ok(None) => panic!("the connection ended before a message"),
            Ok(Some(Err(e))) => panic!("the connection failed: {e}"),
            Ok(Some(Ok(m @ (TtMessage::Text(_) | TtMessage::Binary(_))))) => return m,
            Ok(Some(Ok(TtMessage::Close(frame)))) => panic!("closed instead: {frame:?}"),
            Ok(Some(Ok(_))) => {}
        }
    }
    panic!("only control frames");
}

/// Closes with `code` and returns the peer's close frame.
pub async fn close(ws: &mut TtClient, code: u16) -> Option<CloseFrame> {
    let frame = CloseFrame {
        code: TtCloseCode::from(code),
        reason: "".into(),
    };
    tokio::time::timeout(STEP, ws.close(Some(frame)))
        .await
        .expect("closing timed out")
        .expect("closing failed");
    let mut reply = None;
    for _ in 0..100 {
        match tokio::time::timeout(STEP, ws.next()).await {
            Err(_) => panic!("no close reply in {STEP:?}"),
            Ok(None | Some(Err(TtError::ConnectionClosed))) => return reply,
            Ok(Some(Err(e))) => panic!("the connection failed while closing: {e}"),
            Ok(Some(Ok(TtMessage::Close(frame)))) => reply = frame,
            Ok(Some(Ok(_))) => {}
        }
    }
    panic!("the connection did not end after the close");
}

// ---------------------------------------------------------------------------------------------
// Captures.

/// A file under Cargo's scratch folder for integration tests, removed if left over.
pub fn scratch_file(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wsi-tests");
    std::fs::create_dir_all(&dir).expect("scratch folder");
    let path = dir.join(format!("{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

pub fn path_str(path: &std::path::Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

pub fn open_capture(path: &std::path::Path) -> BufReader<File> {
    BufReader::new(
        File::open(path).unwrap_or_else(|e| panic!("no capture at {}: {e}", path.display())),
    )
}

/// Every report line of a `--jsonl` capture, each read back as its tap event too. The
/// capture's header line (`Record::Capture`), allowed only as the first line, is checked and
/// left out.
pub fn read_capture_lines(path: &std::path::Path) -> Vec<CaptureLine> {
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

/// A `--jsonl` capture as the tap events it records.
pub fn read_capture_events(path: &std::path::Path) -> Vec<TapEvent> {
    let events: Vec<TapEvent> = JsonlReader::new(open_capture(path))
        .take(100_000)
        .map(|e| e.unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect();
    assert!(!events.is_empty(), "{} is empty", path.display());
    events
}

/// The Opened record of connection `conn`.
pub fn opened_record(
    lines: &[CaptureLine],
    conn: Option<u64>,
) -> ws_inspector_core::capture::OpenedRecord {
    lines
        .iter()
        .filter(|l| l.conn == conn)
        .find_map(|l| match &l.record {
            Record::Opened(opened) => Some((**opened).clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no Opened record for conn {conn:?}: {lines:?}"))
}

/// A loopback port nothing listens on (bound, then released).
pub fn unused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

// ---------------------------------------------------------------------------------------------
// The wsi process.

/// What a child's stdin is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    /// `/dev/null`: at its end at once.
    Null,
    /// A pipe the test writes and closes (held open until then).
    Piped,
}

/// A `wsi` process (or another program, [`Wsi::spawn_command`]) with a watchdog: killed (and
/// the test failed) after [`WATCHDOG`], and on drop. Its stdout and stderr are collected, and
/// also handed over line by line.
pub struct Wsi {
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

/// How a `wsi` process (or another program) ended.
#[derive(Debug)]
pub struct Finished {
    pub what: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
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
    pub fn expect_status(&self, code: i32) {
        assert_eq!(self.status.code(), Some(code), "exit status\n{self}");
    }

    pub fn stdout_lines(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.is_empty())
            .collect()
    }
}

/// Reads `pipe` to its end into `sink`, sending each line (without its line ending) on
/// `lines` too.
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

impl Wsi {
    /// `wsi ARGS`.
    pub fn spawn(args: &[&str], input: Input) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_wsi"));
        command.args(args);
        Self::spawn_command(format!("wsi {}", args.join(" ")), command, input)
    }

    /// Any program, under the same watchdog; `what` names it in messages.
    pub fn spawn_command(what: String, mut command: Command, input: Input) -> Self {
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

    /// Runs `wsi ARGS` with stdin at its end, to its exit.
    pub async fn run(args: &[&str]) -> Finished {
        Self::spawn(args, Input::Null).finish().await
    }

    /// What runs: `wsi ARGS`, or the name given to [`Wsi::spawn_command`].
    pub fn what(&self) -> &str {
        &self.what
    }

    pub fn write_stdin(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin is piped and open");
        stdin.write_all(bytes).expect("writing wsi's stdin");
        stdin.flush().expect("flushing wsi's stdin");
    }

    pub fn close_stdin(&mut self) {
        drop(self.stdin.take());
    }

    pub fn stderr_so_far(&self) -> String {
        String::from_utf8_lossy(&lock(&self.stderr)).into_owned()
    }

    pub fn stdout_so_far(&self) -> String {
        String::from_utf8_lossy(&lock(&self.stdout)).into_owned()
    }

    /// Waits (up to [`STEP`]) until `want` is a whole line on stdout.
    pub async fn stdout_line_seen(&self, want: &str) {
        let deadline = Instant::now() + STEP;
        loop {
            if self.stdout_so_far().lines().any(|l| l.trim_end() == want) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{}: no line {want:?} on stdout in {STEP:?}; stdout:\n{}\nstderr:\n{}",
                self.what,
                self.stdout_so_far(),
                self.stderr_so_far()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The next line on stderr.
    pub async fn stderr_line(&mut self) -> String {
        self.next_line(true).await
    }

    /// The next line on stdout (lines [`Wsi::stdout_line_seen`] saw are handed over too).
    pub async fn stdout_line(&mut self) -> String {
        self.next_line(false).await
    }

    async fn next_line(&mut self, stderr: bool) -> String {
        let (which, lines) = if stderr {
            ("stderr", &mut self.stderr_lines)
        } else {
            ("stdout", &mut self.stdout_lines)
        };
        let line = tokio::time::timeout(STEP, lines.recv()).await;
        let so_far = || {
            format!(
                "--- stdout so far ---\n{}\n--- stderr so far ---\n{}",
                self.stdout_so_far(),
                self.stderr_so_far()
            )
        };
        match line {
            Ok(Some(line)) => line,
            Ok(None) => panic!("{} ended its {which} early\n{}", self.what, so_far()),
            Err(_) => panic!(
                "{} printed no line on {which} in {STEP:?}\n{}",
                self.what,
                so_far()
            ),
        }
    }

    /// The address of `listening on SCHEME://ADDR/`, which must be the first line on stderr.
    pub async fn listening_first_line(&mut self, scheme: &str) -> SocketAddr {
        let line = self.stderr_line().await;
        parse_listening(&line, scheme).unwrap_or_else(|| {
            panic!(
                "{}: the first line on stderr is not `listening on {scheme}://ADDR/`: {line:?}",
                self.what
            )
        })
    }

    /// With `--tls-self-signed`: the `listening on wss://ADDR/` line and the SHA-256
    /// fingerprint (lowercase hex, no separators), from the first lines on stderr.
    pub async fn listening_tls(&mut self) -> (SocketAddr, String) {
        let sha = Regex::new(r"(?i)sha-?256").expect("regex");
        let hex = Regex::new(r"(?i)\b[0-9a-f]{2}(?:[: ]?[0-9a-f]{2}){31}\b").expect("regex");
        let mut addr = None;
        let mut fingerprint = None;
        let mut seen = Vec::new();
        for _ in 0..8 {
            if addr.is_some() && fingerprint.is_some() {
                break;
            }
            let line = self.stderr_line().await;
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
    pub async fn finish(mut self) -> Finished {
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
            stderr: self.stderr_so_far(),
        };
        if self.killed.load(Ordering::SeqCst) {
            panic!("killed by the watchdog after {WATCHDOG:?}: {finished}");
        }
        finished
    }
}

impl Drop for Wsi {
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
pub fn parse_listening(line: &str, scheme: &str) -> Option<SocketAddr> {
    let re = Regex::new(&format!(r"listening on {scheme}://([^/\s]+)/")).expect("regex");
    let addr: SocketAddr = re.captures(line)?.get(1)?.as_str().parse().ok()?;
    (addr.port() != 0).then_some(addr)
}

pub fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
