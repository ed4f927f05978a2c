//! Scripted peers for wsi's integration tests.
//!
//! [`serve`] starts a one-client server on 127.0.0.1: it reads the client's request head,
//! writes whatever bytes the test gives it and then hands the `TcpStream` to a closure, whose
//! result comes back over a channel ([`Server::result`]). Frames are written and read by hand
//! ([`frame`], [`masked_frame`], [`read_frame`], [`until_close`]) so that a test can send what
//! no correct server would.
//!
//! [`run_wsi`] runs the binary with stdin closed, under a watchdog, and reports its exit
//! status, its output, how long it ran and its peak RSS (from `wait4`).
//!
//! Every wait here is bounded: the accept, each socket read and write, the server's result,
//! the child and the pipes it writes.
#![allow(dead_code)] // shared: a test file may use only part of it

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

/// How long wsi may run before the watchdog kills it (and the test fails).
pub const WATCHDOG: Duration = Duration::from_secs(20);
/// How long the server waits for its client to connect.
const ACCEPT_WITHIN: Duration = Duration::from_secs(20);
/// Each read and write on the server's socket.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// How long [`Server::result`] waits for the script to finish.
const RESULT_WITHIN: Duration = Duration::from_secs(15);
/// The largest request head the server reads.
const MAX_REQUEST_HEAD: usize = 64 * 1024;
/// The largest client frame payload the server reads.
const MAX_CLIENT_FRAME: u64 = 1 << 20;
/// The most frames the server reads from one client.
const MAX_CLIENT_FRAMES: usize = 1_000_000;
/// The most output kept from each of wsi's stdout and stderr (the rest is read and dropped).
const OUTPUT_KEPT: u64 = 32 << 20;
/// How much of stdout and stderr an assertion message shows.
const SHOWN: usize = 4000;

/// Opcodes.
pub const CONTINUATION: u8 = 0x0;
/// Opcodes.
pub const TEXT: u8 = 0x1;
/// Opcodes.
pub const BINARY: u8 = 0x2;
/// Opcodes.
pub const CLOSE: u8 = 0x8;
/// Opcodes.
pub const PING: u8 = 0x9;
/// Opcodes.
pub const PONG: u8 = 0xA;
/// The FIN bit of a frame's first byte.
pub const FIN: u8 = 0x80;

/// The client's request head, as received.
#[derive(Debug, Clone)]
pub struct Request {
    /// The head, up to and including the blank line.
    pub head: String,
}

impl Request {
    /// The value of the first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.split("\r\n").skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// The request's `Sec-WebSocket-Key` (empty if it has none).
    pub fn key(&self) -> &str {
        self.header("Sec-WebSocket-Key").unwrap_or("")
    }
}

/// `Sec-WebSocket-Accept` for a key, from ws-proto.
pub fn accept_for(key: &str) -> String {
    ws_tokio::ws_proto::handshake::accept_key(key.as_bytes())
}

/// A correct 101 answer to `request`, with `extra` (whole header lines, each ending in CRLF)
/// added to it.
pub fn switching_protocols(request: &Request, extra: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n{extra}\r\n",
        accept_for(request.key())
    )
    .into_bytes()
}

/// A scripted server waiting for, or serving, its one client.
#[derive(Debug)]
pub struct Server<T> {
    port: u16,
    rx: mpsc::Receiver<T>,
}

impl<T> Server<T> {
    /// The port it listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `ws://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}/", self.port)
    }

    /// What the script returned, waiting for it a bounded time.
    pub fn result(&self) -> Result<T, String> {
        self.rx.recv_timeout(RESULT_WITHIN).map_err(|e| match e {
            RecvTimeoutError::Timeout => {
                format!("the scripted server gave no result within {RESULT_WITHIN:?}")
            }
            RecvTimeoutError::Disconnected => {
                "the scripted server ended without a result (it panicked: see above)".to_owned()
            }
        })
    }
}

/// Listens on 127.0.0.1:0 and, on a thread, accepts one client, reads its request head,
/// writes `respond(&request, port)` (nothing if empty; a write error is ignored) and runs
/// `then` with the stream. The listener is closed once the client is accepted.
pub fn serve<T, R, F>(respond: R, then: F) -> Server<T>
where
    T: Send + 'static,
    R: FnOnce(&Request, u16) -> Vec<u8> + Send + 'static,
    F: FnOnce(TcpStream, &Request) -> T + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local address").port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut stream = accept_one(&listener);
        drop(listener);
        let request = read_request(&mut stream).expect("read the client's request head");
        let response = respond(&request, port);
        if !response.is_empty() {
            let _ = stream.write_all(&response);
        }
        let _ = tx.send(then(stream, &request));
    });
    Server { port, rx }
}

/// Like [`serve`] for `n` connections in turn: `each(i, stream, request)` handles the
/// `i`-th (from 0) after reading its request head; the results come back in order.
pub fn serve_each<T, F>(n: usize, each: F) -> Server<Vec<T>>
where
    T: Send + 'static,
    F: Fn(usize, TcpStream, &Request) -> T + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local address").port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut results = Vec::new();
        for i in 0..n {
            let mut stream = accept_one(&listener);
            let request = read_request(&mut stream).expect("read the client's request head");
            results.push(each(i, stream, &request));
        }
        let _ = tx.send(results);
    });
    Server { port, rx }
}

fn accept_one(listener: &TcpListener) -> TcpStream {
    listener
        .set_nonblocking(true)
        .expect("nonblocking listener");
    let start = Instant::now();
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).expect("blocking stream");
                stream
                    .set_read_timeout(Some(IO_TIMEOUT))
                    .expect("read timeout");
                stream
                    .set_write_timeout(Some(IO_TIMEOUT))
                    .expect("write timeout");
                stream.set_nodelay(true).expect("TCP_NODELAY");
                return stream;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                assert!(
                    start.elapsed() < ACCEPT_WITHIN,
                    "no client connected within {ACCEPT_WITHIN:?}"
                );
                thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// Reads a head up to its blank line, one byte at a time (so nothing after it is consumed).
fn read_request(stream: &mut TcpStream) -> io::Result<Request> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_REQUEST_HEAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "request head too large",
            ));
        }
        stream.read_exact(&mut byte)?;
        head.push(byte[0]);
    }
    Ok(Request {
        head: String::from_utf8_lossy(&head).into_owned(),
    })
}

/// Appends a frame header: `first` is the FIN, RSV and opcode byte.
fn put_header(out: &mut Vec<u8>, first: u8, len: usize, mask: Option<[u8; 4]>) {
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    out.push(first);
    match len {
        0..=125 => out.push(mask_bit | len as u8),
        126..=0xffff => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    if let Some(key) = mask {
        out.extend_from_slice(&key);
    }
}

/// An unmasked frame (what a server sends): `first` is the FIN, RSV and opcode byte.
pub fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 10);
    frame_into(&mut out, first, payload);
    out
}

/// Appends an unmasked frame to `out`.
pub fn frame_into(out: &mut Vec<u8>, first: u8, payload: &[u8]) {
    put_header(out, first, payload.len(), None);
    out.extend_from_slice(payload);
}

/// A masked frame (what only a client may send).
pub fn masked_frame(first: u8, payload: &[u8], key: [u8; 4]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 14);
    put_header(&mut out, first, payload.len(), Some(key));
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    out
}

/// A frame read from the client, unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The FIN bit.
    pub fin: bool,
    /// The RSV bits, shifted down (0 unless an extension is in use).
    pub rsv: u8,
    /// The opcode.
    pub opcode: u8,
    /// Whether it came masked (every client frame must).
    pub masked: bool,
    /// The payload, unmasked.
    pub payload: Vec<u8>,
}

impl Frame {
    /// A close frame's code, if it has one.
    pub fn close_code(&self) -> Option<u16> {
        (self.payload.len() >= 2).then(|| u16::from_be_bytes([self.payload[0], self.payload[1]]))
    }
}

/// Reads one frame (payload at most [`MAX_CLIENT_FRAME`] bytes), unmasking it.
pub fn read_frame(r: &mut impl Read) -> io::Result<Frame> {
    let mut head = [0u8; 2];
    r.read_exact(&mut head)?;
    let masked = head[1] & 0x80 != 0;
    let len = match head[1] & 0x7f {
        126 => {
            let mut b = [0u8; 2];
            r.read_exact(&mut b)?;
            u64::from(u16::from_be_bytes(b))
        }
        127 => {
            let mut b = [0u8; 8];
            r.read_exact(&mut b)?;
            u64::from_be_bytes(b)
        }
        n => u64::from(n),
    };
    if len > MAX_CLIENT_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a client frame of {len} bytes"),
        ));
    }
    let mut key = [0u8; 4];
    if masked {
        r.read_exact(&mut key)?;
    }
    let mut payload = vec![0u8; len as usize];
    r.read_exact(&mut payload)?;
    if masked {
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= key[i % 4];
        }
    }
    Ok(Frame {
        fin: head[0] & 0x80 != 0,
        rsv: (head[0] >> 4) & 0x7,
        opcode: head[0] & 0x0f,
        masked,
        payload,
    })
}

/// How the client's side of the connection ended, as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEnd {
    /// A close frame with this code (`None`: a close frame without a code).
    Close(Option<u16>),
    /// The TCP connection ended (FIN).
    Eof,
    /// The TCP connection was reset.
    Reset,
    /// Nothing arrived within [`IO_TIMEOUT`].
    TimedOut,
    /// Anything else: an unmasked client frame, an I/O error.
    Error(String),
}

impl From<io::Error> for ClientEnd {
    fn from(e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::UnexpectedEof => Self::Eof,
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe => Self::Reset,
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Self::TimedOut,
            _ => Self::Error(e.to_string()),
        }
    }
}

/// Reads the client's frames until its close frame (answered with the same payload when
/// `echo`), the end of the connection or [`IO_TIMEOUT`]; every other frame goes to `on_frame`.
pub fn until_close(
    stream: &mut TcpStream,
    echo: bool,
    mut on_frame: impl FnMut(&Frame),
) -> ClientEnd {
    for _ in 0..MAX_CLIENT_FRAMES {
        let received = match read_frame(stream) {
            Ok(f) => f,
            Err(e) => return e.into(),
        };
        if !received.masked {
            return ClientEnd::Error(format!("an unmasked client frame: {received:?}"));
        }
        if received.opcode == CLOSE {
            if echo {
                let _ = stream.write_all(&frame(FIN | CLOSE, &received.payload));
            }
            return ClientEnd::Close(received.close_code());
        }
        on_frame(&received);
    }
    ClientEnd::Error(format!("more than {MAX_CLIENT_FRAMES} frames"))
}

/// Reads the client's frames, answering none (not even its close), until the connection
/// ends or [`IO_TIMEOUT`] passes. Returns the close codes received and how it ended.
pub fn ignore_until_eof(stream: &mut TcpStream) -> (Vec<Option<u16>>, ClientEnd) {
    let mut closes = Vec::new();
    for _ in 0..MAX_CLIENT_FRAMES {
        match read_frame(stream) {
            Ok(f) if f.opcode == CLOSE => closes.push(f.close_code()),
            Ok(_) => {}
            Err(e) => return (closes, e.into()),
        }
    }
    (
        closes,
        ClientEnd::Error(format!("more than {MAX_CLIENT_FRAMES} frames")),
    )
}

/// Reads raw bytes until the client ends the connection (or [`IO_TIMEOUT`] passes): for a
/// server that has refused the upgrade and waits for the client to go away. Returns how many
/// bytes came and how it ended.
pub fn wait_for_eof(stream: &mut TcpStream) -> (usize, ClientEnd) {
    let mut total = 0;
    let mut buf = vec![0u8; 64 * 1024];
    for _ in 0..100_000 {
        match stream.read(&mut buf) {
            Ok(0) => return (total, ClientEnd::Eof),
            Ok(n) => total += n,
            Err(e) => return (total, e.into()),
        }
    }
    (total, ClientEnd::Error("too many reads".to_owned()))
}

/// Sets SO_LINGER {on, 0 s}, so that dropping the stream resets the connection.
pub fn reset_on_drop(stream: &TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: the fd is the stream's open socket; the option value is a `linger` of the
    // size passed.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(
        rc,
        0,
        "setsockopt SO_LINGER: {}",
        io::Error::last_os_error()
    );
}

/// How a run of wsi went.
#[derive(Debug)]
pub struct Run {
    /// The exit status, if it exited.
    pub code: Option<i32>,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
    /// Whether the watchdog killed it.
    pub killed: bool,
    /// From the start until it exited.
    pub elapsed: Duration,
    /// Its peak resident set size, KiB (`ru_maxrss`; at least [`Self::parent_hwm_kib`]).
    pub maxrss_kib: libc::c_long,
    /// This test process's peak RSS just before the spawn, KiB (`None`: unknown).
    pub parent_hwm_kib: Option<u64>,
    /// What it wrote on stdout (the first [`OUTPUT_KEPT`] bytes), lossily decoded.
    pub stdout: String,
    /// What it wrote on stderr (the first [`OUTPUT_KEPT`] bytes), lossily decoded.
    pub stderr: String,
}

fn shown(text: &str) -> String {
    if text.len() <= SHOWN {
        return text.to_owned();
    }
    let mut end = SHOWN;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..end], text.len())
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.code, self.signal) {
            (Some(code), _) => write!(f, "exit status {code}")?,
            (None, Some(signal)) => write!(f, "killed by signal {signal}")?,
            (None, None) => write!(f, "no status")?,
        }
        if self.killed {
            write!(f, " (killed by the watchdog after {WATCHDOG:?}: it hung)")?;
        }
        write!(
            f,
            ", after {:.2?}, peak RSS {} KiB",
            self.elapsed, self.maxrss_kib
        )?;
        if let Some(parent) = self.parent_hwm_kib {
            write!(
                f,
                " (this test process's own peak at the spawn: {parent} KiB)"
            )?;
        }
        write!(
            f,
            "\n--- stdout ---\n{}\n--- stderr ---\n{}\n---",
            shown(&self.stdout),
            shown(&self.stderr)
        )
    }
}

/// Reads a pipe to its end on a thread, keeping the first [`OUTPUT_KEPT`] bytes.
fn collect(mut pipe: impl Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut kept = Vec::new();
        let _ = pipe.by_ref().take(OUTPUT_KEPT).read_to_end(&mut kept);
        let _ = io::copy(&mut pipe, &mut io::sink());
        let _ = tx.send(kept);
    });
    rx
}

/// This process's `VmHWM`, KiB.
fn own_peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Blocks until the child has exited, without reaping it (so its pid cannot be reused while
/// the watchdog may still signal it).
fn wait_exited(pid: libc::pid_t) {
    for _ in 0..1000 {
        // SAFETY: an all-zero siginfo_t is a valid value of that plain C struct.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is a valid siginfo_t for waitid to fill.
        let rc = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if rc == 0 {
            return;
        }
        let e = io::Error::last_os_error();
        assert_eq!(e.kind(), io::ErrorKind::Interrupted, "waitid: {e}");
    }
    panic!("waitid kept being interrupted");
}

/// Runs `wsi ARGS` with stdin closed (`Stdio::null()`) and stdout and stderr read on threads;
/// kills it after `timeout` (the run then says `killed`). Reaps it with `wait4` for its peak
/// RSS.
///
/// `ru_maxrss` of a child that std spawns (with `CLONE_VM`, before its exec) includes the
/// high-water RSS of this test process, so that is reset first (`5` to
/// `/proc/self/clear_refs`, best effort) and reported as [`Run::parent_hwm_kib`].
pub fn run_wsi(args: &[String], timeout: Duration) -> Run {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let parent_hwm_kib = own_peak_rss_kib();
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_wsi"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn wsi");
    let pid = libc::pid_t::try_from(child.id()).expect("a pid fits pid_t");
    let stdout = collect(child.stdout.take().expect("piped stdout"));
    let stderr = collect(child.stderr.take().expect("piped stderr"));

    let (stop, stopped) = mpsc::channel::<()>();
    let watchdog = thread::spawn(move || match stopped.recv_timeout(timeout) {
        Err(RecvTimeoutError::Timeout) => {
            // SAFETY: kill has no memory effects; the child is not reaped yet, so the pid is
            // still its own.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            true
        }
        _ => false,
    });
    wait_exited(pid);
    let elapsed = start.elapsed();
    let _ = stop.send(());
    let killed = watchdog.join().expect("the watchdog thread");

    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value of that plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `status` and `usage` are valid for wait4 to fill; the child has exited.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid, "wait4: {}", io::Error::last_os_error());
    drop(child);

    let output = |rx: mpsc::Receiver<Vec<u8>>, name: &str| {
        let bytes = rx
            .recv_timeout(Duration::from_secs(5))
            .unwrap_or_else(|_| format!("<{name} was not closed within 5 s>").into_bytes());
        String::from_utf8_lossy(&bytes).into_owned()
    };
    let run = Run {
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        signal: libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status)),
        killed,
        elapsed,
        maxrss_kib: usage.ru_maxrss,
        parent_hwm_kib,
        stdout: output(stdout, "stdout"),
        stderr: output(stderr, "stderr"),
    };
    // `WSI_SHOW_RUNS=1 cargo test -p wsi --test misbehaving -- --nocapture --test-threads 1`
    // shows what wsi printed in each case (for the closing note).
    if std::env::var_os("WSI_SHOW_RUNS").is_some() {
        println!(
            "--- wsi {}\nexit {:?} after {:.2} s, peak {} KiB\n{}",
            args.join(" "),
            run.code,
            run.elapsed.as_secs_f64(),
            run.maxrss_kib,
            run.stderr.trim_end()
        );
    }
    run
}
