//! Support code for the workspace-level integration tests in `tests/tests/`.

use std::io::{BufRead as _, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The repository's root folder.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// Runs `tests/autobahn/setup.sh` (idempotent: instant once the virtualenv exists) and
/// panics with its output if it fails — e.g. when Python 2.7 is missing. Never skips. Calls
/// from several threads of one test binary run the script one at a time, so two tests never
/// build the virtualenv at once.
pub fn autobahn_setup() {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let script = repo_root().join("tests/autobahn/setup.sh");
    let output = Command::new("bash")
        .arg(&script)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    if !output.status.success() {
        panic!(
            "the Autobahn Testsuite could not be set up ({}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Runs `tests/python/setup.sh` (idempotent: instant once the venv exists) and returns the
/// venv's Python, which has the pinned Python `websockets`. Panics with the script's output if
/// it fails — e.g. when `python3` or its `venv` module is missing. Never skips.
pub fn python_setup() -> PathBuf {
    let script = repo_root().join("tests/python/setup.sh");
    let output = Command::new("bash")
        .arg(&script)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        panic!(
            "Python websockets could not be set up ({}):\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let venv = stdout
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix("python: venv="))
        .unwrap_or_else(|| panic!("{} did not name the venv:\n{stdout}", script.display()));
    PathBuf::from(venv).join("bin/python")
}

/// A free loopback port (bound and released; fine for a test that binds it right away).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// Waits until something accepts TCP on `addr`.
pub fn wait_for_port(addr: SocketAddr, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// A child process killed when this is dropped, however the test ends.
#[derive(Debug)]
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// tests/python/echo_server.py running: Python `websockets` with its default
/// permessage-deflate.
#[derive(Debug)]
pub struct PythonEcho {
    /// The process, killed when this is dropped.
    pub process: Killed,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its report lines after the first (`open` and `closed` events, JSON), as they come.
    pub lines: std::sync::mpsc::Receiver<String>,
}

/// Starts tests/python/echo_server.py for at most `lifetime_secs`. Its report lines are
/// read on a thread of their own (a closed pipe would fail its handlers).
pub fn python_echo_server(lifetime_secs: u32) -> PythonEcho {
    let mut child = Command::new(python_setup())
        .arg(repo_root().join("tests/python/echo_server.py"))
        .args(["--lifetime", &lifetime_secs.to_string()])
        .current_dir(repo_root().join("tests/python"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("echo_server.py starts");
    let stdout = child.stdout.take().expect("stdout");
    let process = Killed(child);
    let mut first = String::new();
    let mut reader = BufReader::new(stdout);
    reader.read_line(&mut first).expect("the listening line");
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
            let _ = tx.send(std::mem::take(&mut line));
        }
    });
    let port = first
        .split("\"port\":")
        .nth(1)
        .and_then(|rest| {
            rest.trim_start()
                .split(|c: char| !c.is_ascii_digit())
                .next()
        })
        .and_then(|digits| digits.parse().ok())
        .unwrap_or_else(|| panic!("no port in echo_server.py's first line: {first}"));
    PythonEcho {
        process,
        port,
        lines,
    }
}
