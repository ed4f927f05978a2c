//! A WebSocket client on `std::net` and ws-proto alone (clap reads its command line):
//! connects to a `ws://` URL, sends each line read from stdin as a text message, prints the
//! text messages it receives, and closes when stdin ends (Ctrl-D). It exits with 0 when the
//! close handshake completed cleanly.
//!
//! ```sh
//! cargo run -p ws-proto --example blocking_client -- ws://127.0.0.1:9002/
//! ```
//!
//! Three kinds of line are commands, not text: `/binary TEXT` sends TEXT as a binary message,
//! `/ping [DATA]` sends a ping, and `/close [CODE [REASON]]` starts the close handshake (a
//! server should echo the code and reason). There is no TLS here, so no `wss://`.
//!
//! # The I/O loop
//!
//! A [`Connection`] does no I/O: it takes the bytes read from the socket and hands back the
//! bytes to write and the events to act on. [`run`] is one loop, on one thread that owns the
//! connection; stdin is read by a second thread that only forwards [`Command`]s over a
//! channel, so the connection needs no lock. Each turn:
//!
//! 1. **Send** the commands waiting in the channel, once the connection is open.
//! 2. **Write** what [`poll_transmit`](Connection::poll_transmit) gives — first the HTTP
//!    upgrade request, then frames, pongs and close frames — into the socket, in order.
//! 3. **Stop** when [`should_close_transport`](Connection::should_close_transport) says so.
//!    A client does not close TCP first after a clean close (RFC 6455 §7.1.1): once
//!    [`close_expected`](Connection::close_expected) is true it waits for the server to.
//! 4. **Wait** for input, at most [`TICK`] so that commands are picked up, and never past the
//!    deadline of the state: the socket's read timeout is this loop's only timer, since the
//!    engine reads no clock. The server must answer the upgrade within
//!    [`HANDSHAKE_TIMEOUT`] and, once a close frame went either way, finish the close
//!    handshake and close TCP within [`CLOSE_TIMEOUT`].
//! 5. **Feed** what was read to [`receive_data`](Connection::receive_data), or the end of the
//!    stream to [`receive_eof`](Connection::receive_eof). A peer fault is returned here, and
//!    the engine has queued the close frame with the right code: it is written before
//!    [`run`] gives up.
//! 6. **Handle** every [`poll_event`](Connection::poll_event). Pings are answered by the
//!    engine (auto-pong), and a close frame from the server too (echoing its code and
//!    reason), both on by default.
//!
//! A blocking loop writes everything it has before it reads again. Two such loops that both
//! send more than the socket buffers hold at once can each wait on the other's reading; an
//! interactive client sending lines never comes near that, but a program sending large
//! messages while the peer sends too would read on one thread and write on another (with the
//! connection behind a mutex, not held across a blocking read).

use std::io::{self, BufRead as _, ErrorKind, Read as _, Write as _};
use std::net::{TcpStream, ToSocketAddrs as _};
use std::process::ExitCode;
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::thread;
use std::time::{Duration, Instant};

use ws_proto::bytes::BytesMut;
use ws_proto::{CloseCode, CloseFrame, Config, Connection, Event, ReadyState, handshake};

/// How long the TCP connection and then the server's answer to the upgrade may take.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the close handshake may take, from the first close frame to the server's end of
/// TCP.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest the loop waits on the socket before it looks at the commands again.
pub const TICK: Duration = Duration::from_millis(20);

/// Any error of this client.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What [`run`] is asked to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
    /// A ping with this payload (at most 125 bytes).
    Ping(Vec<u8>),
    /// Start the close handshake with this code and reason.
    Close(CloseCode, String),
}

/// Connects to `url`, sends `commands` as they come once the connection is open, and passes
/// every event to `on_event`. When the sending end of `commands` is dropped while the
/// connection is open, it is closed with 1000.
///
/// Returns the server's close frame when the close handshake completed cleanly (a close
/// frame each way, then the server closed TCP), and an error for anything else: a refused
/// upgrade, a protocol fault, a timeout, an abnormal closure.
pub fn run(
    url: &str,
    commands: Receiver<Command>,
    mut on_event: impl FnMut(&Event),
) -> Result<CloseFrame, BoxError> {
    let key = handshake::random_key();
    let request = handshake::client_request(url, &key, &handshake::ClientOptions::default())?;
    if request.uri().scheme_str() != Some("ws") {
        return Err("only ws:// URLs: this example has no TLS".into());
    }
    let mut tcp = connect(request.uri())?;
    let mut ws = Connection::client(request, Config::default());
    let mut out = BytesMut::new();
    let mut buf = vec![0; 16 * 1024];
    let started = Instant::now();
    let mut closing_since = None;
    loop {
        // 1. Send.
        while ws.state() == ReadyState::Open {
            match commands.try_recv() {
                Ok(command) => send(&mut ws, command)?,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => ws.send_close(Some(CloseCode::NORMAL), "")?,
            }
        }
        // 2. Write.
        if ws.poll_transmit(&mut out) > 0 {
            tcp.write_all(&out)?;
            out.clear();
        }
        // 3. Stop.
        if ws.should_close_transport() {
            break;
        }
        // 4. Wait, with the deadline of the state we are in.
        let now = Instant::now();
        let deadline = match ws.state() {
            ReadyState::Connecting => Some(started + HANDSHAKE_TIMEOUT),
            ReadyState::Open => None,
            ReadyState::Closing | ReadyState::Closed => {
                Some(*closing_since.get_or_insert(now) + CLOSE_TIMEOUT)
            }
        };
        let wait = match deadline {
            Some(deadline) if now >= deadline => {
                return Err(match ws.state() {
                    ReadyState::Connecting => "the server did not answer the upgrade in time",
                    _ => "the server did not finish the close handshake in time",
                }
                .into());
            }
            Some(deadline) => TICK.min(deadline - now),
            None => TICK,
        };
        tcp.set_read_timeout(Some(wait))?;
        let n = match tcp.read(&mut buf) {
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        // 5. Feed.
        let result = if n == 0 {
            ws.receive_eof()
        } else {
            ws.receive_data(&buf[..n])
        };
        // 6. Handle.
        while let Some(event) = ws.poll_event() {
            on_event(&event);
        }
        if let Err(e) = result {
            // Send the close frame the engine queued for a fault (if the socket still takes
            // it), then give up: after failing the connection, a client need not wait.
            if ws.poll_transmit(&mut out) > 0 {
                let _ = tcp.write_all(&out);
            }
            return Err(e.into());
        }
    }
    match ws.close_received() {
        Some(frame) if ws.was_clean() => Ok(frame.clone()),
        _ => Err(format!(
            "the connection ended uncleanly (close code {:?})",
            ws.close_code()
        )
        .into()),
    }
}

/// Opens TCP to the host and port of the request's URL (80 unless the URL says otherwise),
/// trying each address the name resolves to.
fn connect(uri: &ws_proto::http::Uri) -> Result<TcpStream, BoxError> {
    let host = uri.host().ok_or("the URL has no host")?;
    // An IPv6 literal keeps its brackets in the URI; the resolver wants it without.
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = uri.port_u16().unwrap_or(80);
    let mut last_error = None;
    for addr in (host, port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, HANDSHAKE_TIMEOUT) {
            Ok(tcp) => {
                tcp.set_nodelay(true)?;
                return Ok(tcp);
            }
            Err(e) => last_error = Some(e),
        }
    }
    Err(match last_error {
        Some(e) => format!("cannot connect to {host}:{port}: {e}").into(),
        None => format!("{host} resolves to no address").into(),
    })
}

/// Hands one command to the connection.
fn send(ws: &mut Connection, command: Command) -> Result<(), BoxError> {
    match command {
        Command::Text(text) => ws.send_text(&text)?,
        Command::Binary(data) => ws.send_binary(&data)?,
        Command::Ping(data) => ws.send_ping(&data)?,
        Command::Close(code, reason) => ws.send_close(Some(code), &reason)?,
    }
    Ok(())
}

/// Reads a line typed on stdin as a command: text, unless it starts with `/binary `,
/// `/ping` or `/close`.
pub fn parse_line(line: &str) -> Result<Command, String> {
    let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
    Ok(match word {
        "/binary" => Command::Binary(rest.as_bytes().to_vec()),
        "/ping" if rest.len() <= 125 => Command::Ping(rest.as_bytes().to_vec()),
        "/ping" => return Err("a ping carries at most 125 bytes".into()),
        "/close" => {
            let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
            let code = match code {
                "" => CloseCode::NORMAL,
                code => CloseCode(
                    code.parse()
                        .map_err(|_| format!("not a close code: {code}"))?,
                ),
            };
            if !code.is_valid_on_wire() {
                return Err(format!("close code {} may not be sent", code.0));
            }
            if reason.len() > 123 {
                return Err("a close reason has at most 123 bytes".into());
            }
            Command::Close(code, reason.to_owned())
        }
        _ => Command::Text(line.to_owned()),
    })
}

/// Prints an event: text on stdout, everything else on stderr.
fn print_event(event: &Event) {
    match event {
        Event::Open(opened) => eprintln!("connected ({})", opened.response.status()),
        Event::Text(text) => println!("{text}"),
        Event::Binary(data) => eprintln!("< binary message, {} bytes", data.len()),
        Event::Ping(data) => eprintln!("< ping ({} bytes), answered", data.len()),
        Event::Pong(data) => eprintln!("< pong {:?}", String::from_utf8_lossy(data)),
        Event::Close(frame) => {
            eprintln!("< close {} {:?}", frame.code_or_no_status(), frame.reason)
        }
        _ => {}
    }
}

/// Sends each stdin line as text and prints the text received; Ctrl-D closes. `/binary
/// TEXT`, `/ping [DATA]` and `/close [CODE [REASON]]` are commands.
#[derive(Debug, clap::Parser)]
#[command(name = "blocking_client")]
struct Cli {
    /// The server, ws://HOST[:PORT]/PATH
    url: String,
}

fn main() -> ExitCode {
    let url = <Cli as clap::Parser>::parse().url;
    let (commands, received) = mpsc::channel();
    // Reads stdin until it ends; dropping `commands` then tells `run` to close.
    thread::spawn(move || {
        for line in io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            match parse_line(&line) {
                Ok(command) => {
                    if commands.send(command).is_err() {
                        break;
                    }
                }
                Err(problem) => eprintln!("not sent: {problem}"),
            }
        }
    });
    match run(&url, received, print_event) {
        Ok(frame) => {
            eprintln!(
                "closed cleanly: {} {:?}",
                frame.code_or_no_status(),
                frame.reason
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("blocking_client: {e}");
            ExitCode::FAILURE
        }
    }
}
