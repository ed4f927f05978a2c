//! An echo server on `std::net` and ws-proto alone (clap reads its command line): every
//! text and binary message goes back as it came, one thread per connection, until Ctrl-C.
//!
//! ```sh
//! cargo run -p ws-proto --example blocking_server -- --addr 127.0.0.1:9002
//! ```
//!
//! # The I/O loop
//!
//! A [`Connection`] does no I/O: it takes the bytes read from the socket and hands back the
//! bytes to write and the events to act on. Each connection's thread runs one loop:
//!
//! 1. **Write** what [`poll_transmit`](Connection::poll_transmit) gives — the 101 answer, the
//!    echoes, pongs, close frames — into the socket, in order.
//! 2. **Stop** when [`should_close_transport`](Connection::should_close_transport) says so: the
//!    close handshake is over (RFC 6455 §7.1.1: the server closes TCP first), the connection
//!    failed, or the upgrade was refused. TCP is then shut down for writing and read until the
//!    client's end, so that our last frame is not lost to a reset.
//! 3. **Wait** for input with a deadline: the socket's read timeout is this loop's only timer.
//!    The engine reads no clock, so the deadline comes from the state — the opening handshake
//!    must finish within [`HANDSHAKE_TIMEOUT`], an open connection that stays silent for
//!    [`IDLE_TIMEOUT`] is closed (1001), and a client that does not answer our close frame
//!    within [`CLOSE_TIMEOUT`] is dropped.
//! 4. **Feed** what was read to [`receive_data`](Connection::receive_data), or the end of the
//!    stream to [`receive_eof`](Connection::receive_eof). A peer fault is returned here, but
//!    the engine has already queued the close frame with the right code: the loop only logs
//!    it and goes on to step 1, which sends it, and step 2, which ends.
//! 5. **Handle** every [`poll_event`](Connection::poll_event): accept the upgrade request, echo
//!    text and binary. Pings are answered by the engine (auto-pong) and the peer's close frame
//!    too (its code and reason are echoed), both on by default.
//!
//! [`Config::pause_after_message`] is on, so parsing stops after each message until
//! `receive_data(&[])` resumes it: an echo is queued before the next frame of the same read is
//! parsed. Without it, a read holding a text and a close frame would have the close reply
//! queued before the text's echo, and the echo could no longer be sent.
//!
//! Messages are whole in memory and written with one blocking `write_all`; the engine's
//! default limits (16 MiB per message) bound what a client can make a thread hold.

use std::io::{self, ErrorKind, Read as _, Write as _};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use ws_proto::bytes::BytesMut;
use ws_proto::{CloseCode, Config, Connection, Error, Event, ReadyState, handshake};

/// How long a client has to complete the opening handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an open connection may stay silent before the server closes it.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// How long the client has to answer our close frame, and then to close its end of TCP.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Accepts connections on `listener` for ever, serving each on a thread of its own.
pub fn serve(listener: TcpListener) {
    for tcp in listener.incoming() {
        match tcp {
            Ok(tcp) => {
                thread::spawn(move || {
                    let peer = tcp
                        .peer_addr()
                        .map_or_else(|_| "?".to_owned(), |a| a.to_string());
                    if let Err(e) = echo(tcp) {
                        eprintln!("{peer}: {e}");
                    }
                });
            }
            Err(e) => {
                // Out of file descriptors, say: wait a little rather than spin.
                eprintln!("accept: {e}");
                thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// Serves one connection: the opening handshake, then echoes until the close handshake ends
/// or the connection fails. Returns an error for what ended it abnormally.
pub fn echo(mut tcp: TcpStream) -> Result<(), Box<dyn std::error::Error>> {
    tcp.set_nodelay(true)?;
    let mut config = Config::default();
    config.pause_after_message = true;
    let mut ws = Connection::server(config);
    let mut out = BytesMut::new();
    let mut buf = vec![0; 16 * 1024];
    let started = Instant::now();
    let mut last_input = started;
    let mut closing_since = None;
    let mut eof = false;
    let mut failure = None;
    loop {
        // 1. Write.
        if ws.poll_transmit(&mut out) > 0 {
            tcp.write_all(&out)?;
            out.clear();
        }
        // 2. Stop.
        if ws.should_close_transport() {
            break;
        }
        // 3. Wait, with the deadline of the state we are in.
        let now = Instant::now();
        let deadline = match ws.state() {
            ReadyState::Connecting => started + HANDSHAKE_TIMEOUT,
            ReadyState::Open => last_input + IDLE_TIMEOUT,
            ReadyState::Closing | ReadyState::Closed => {
                *closing_since.get_or_insert(now) + CLOSE_TIMEOUT
            }
        };
        if now >= deadline {
            match ws.state() {
                ReadyState::Open => {
                    // The deadline of the close handshake starts at the next turn.
                    ws.send_close(Some(CloseCode::GOING_AWAY), "idle for too long")?;
                    continue;
                }
                ReadyState::Connecting => return Err("no upgrade request in time".into()),
                _ => return Err("the client did not finish the close handshake in time".into()),
            }
        }
        tcp.set_read_timeout(Some(deadline - now))?;
        let n = match tcp.read(&mut buf) {
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        last_input = Instant::now();
        // 4. Feed.
        let mut result = if n == 0 {
            eof = true;
            ws.receive_eof()
        } else {
            ws.receive_data(&buf[..n])
        };
        // 5. Handle, resuming after each message until the read is used up.
        loop {
            while let Some(event) = ws.poll_event() {
                if let Err(e) = answer(&mut ws, event) {
                    failure.get_or_insert(e);
                }
            }
            if result.is_err() || !ws.is_paused() {
                break;
            }
            result = ws.receive_data(&[]);
        }
        if let Err(e) = result {
            // The close frame for a fault is queued already; step 1 sends it.
            failure.get_or_insert(e);
        }
    }
    if !eof {
        close_tcp(&mut tcp)?;
    }
    match failure {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

/// Acts on one event: accepts the upgrade, echoes messages.
fn answer(ws: &mut Connection, event: Event) -> Result<(), Error> {
    match event {
        Event::Request(request) => {
            let response = handshake::accept_response(&request.upgrade, None);
            ws.accept(response)
        }
        Event::Text(text) => Ok(ws.send_text(text.as_str())?),
        Event::Binary(data) => Ok(ws.send_binary(&data)?),
        // Pings and the peer's close are answered by the engine (auto-pong, auto close reply).
        _ => Ok(()),
    }
}

/// Closes TCP the orderly way (RFC 6455 §7.1.1): shuts down our sending side, then reads
/// until the client closes its own (or [`CLOSE_TIMEOUT`] passes), discarding what comes.
fn close_tcp(tcp: &mut TcpStream) -> io::Result<()> {
    tcp.shutdown(Shutdown::Write)?;
    let deadline = Instant::now() + CLOSE_TIMEOUT;
    let mut buf = [0; 1024];
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Ok(());
        }
        tcp.set_read_timeout(Some(deadline - now))?;
        match tcp.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            // A timeout or a reset: either way there is nothing more to wait for.
            Err(_) => return Ok(()),
        }
    }
}

/// Echoes every text and binary message, one thread per connection.
#[derive(Debug, clap::Parser)]
#[command(name = "blocking_server")]
struct Cli {
    /// The address to listen on
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:9002")]
    addr: String,
}

fn main() -> ExitCode {
    let addr = <Cli as clap::Parser>::parse().addr;
    let listener = match TcpListener::bind(&addr) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("blocking_server: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(local) => eprintln!("blocking_server listening on ws://{local}/"),
        Err(_) => eprintln!("blocking_server listening on ws://{addr}/"),
    }
    serve(listener);
    ExitCode::SUCCESS
}
