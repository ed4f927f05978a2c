//! The blocking examples against each other over loopback TCP: `examples/blocking_server.rs`
//! serves on a thread, and `examples/blocking_client.rs`'s [`run`](blocking_client::run)
//! drives it. Each example file is included as a module, so what runs here is the examples'
//! own code; every wait is bounded.

// The examples' `main` and usage text are not used here.
#[allow(dead_code)]
#[path = "../examples/blocking_client.rs"]
mod blocking_client;
#[allow(dead_code)]
#[path = "../examples/blocking_server.rs"]
mod blocking_server;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use blocking_client::{BoxError, Command};
use ws_proto::{CloseCode, CloseFrame, Event};

/// The longest any one exchange below may take.
const LIMIT: Duration = Duration::from_secs(20);

/// The blocking server example, serving on a loopback port of its own for the rest of the
/// test process.
fn start_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    thread::spawn(move || blocking_server::serve(listener));
    addr
}

/// An event the client reported, in a comparable form.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seen {
    Open,
    Text(String),
    Binary(Vec<u8>),
    Pong(Vec<u8>),
    Close(Option<u16>, String),
    Other,
}

impl From<&Event> for Seen {
    fn from(event: &Event) -> Self {
        match event {
            Event::Open(_) => Self::Open,
            Event::Text(text) => Self::Text(text.to_string()),
            Event::Binary(data) => Self::Binary(data.to_vec()),
            Event::Pong(data) => Self::Pong(data.to_vec()),
            Event::Close(frame) => Self::Close(frame.code.map(u16::from), frame.reason.clone()),
            _ => Self::Other,
        }
    }
}

/// Runs the client example on a thread against `addr` with `commands`; `on_event` also gets
/// each event. Returns a receiver for its outcome and the events it saw.
fn spawn_client(
    addr: SocketAddr,
    commands: mpsc::Receiver<Command>,
    mut on_event: impl FnMut(&Event) + Send + 'static,
) -> mpsc::Receiver<(Result<CloseFrame, BoxError>, Vec<Seen>)> {
    let (done, outcome) = mpsc::channel();
    thread::spawn(move || {
        let mut seen = Vec::new();
        let result = blocking_client::run(&format!("ws://{addr}/echo"), commands, |event| {
            seen.push(Seen::from(event));
            on_event(event);
        });
        let _ = done.send((result, seen));
    });
    outcome
}

#[test]
fn the_blocking_examples_echo_text_binary_a_ping_and_the_close_code_and_reason() {
    let addr = start_server();
    // Larger than either example's 16 KiB read buffer, so that messages span reads.
    let text = "ü".repeat(20_000);
    let binary: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
    let (commands, queue) = mpsc::channel();
    for command in [
        Command::Text("hello".into()),
        Command::Text(text.clone()),
        Command::Binary(binary.clone()),
        Command::Ping(b"are you there".to_vec()),
        Command::Close(CloseCode(4000), "bye".into()),
    ] {
        commands.send(command).unwrap();
    }
    // Queued commands are all received before the channel reports its end.
    drop(commands);
    let outcome = spawn_client(addr, queue, |_| {});
    let (result, seen) = outcome
        .recv_timeout(LIMIT)
        .expect("the client finished in time");
    let close = result.expect("a clean close");
    assert_eq!(close.code, Some(CloseCode(4000)));
    assert_eq!(close.reason, "bye");
    assert_eq!(
        seen,
        [
            Seen::Open,
            Seen::Text("hello".into()),
            Seen::Text(text),
            Seen::Binary(binary),
            Seen::Pong(b"are you there".to_vec()),
            Seen::Close(Some(4000), "bye".into()),
        ]
    );
}

#[test]
fn the_end_of_the_commands_closes_with_1000_and_the_server_echoes_it() {
    let addr = start_server();
    let (commands, queue) = mpsc::channel();
    commands.send(Command::Text("only this".into())).unwrap();
    drop(commands);
    let (result, seen) = spawn_client(addr, queue, |_| {})
        .recv_timeout(LIMIT)
        .expect("the client finished in time");
    let close = result.expect("a clean close");
    assert_eq!(
        (close.code, close.reason.as_str()),
        (Some(CloseCode::NORMAL), "")
    );
    assert_eq!(
        seen,
        [
            Seen::Open,
            Seen::Text("only this".into()),
            Seen::Close(Some(1000), String::new()),
        ]
    );
}

#[test]
fn the_blocking_server_serves_connections_at_the_same_time() {
    let addr = start_server();
    // The first client stays open until the second has finished.
    let (first_commands, first_queue) = mpsc::channel();
    let (first_echoed, first_echo) = mpsc::channel();
    first_commands.send(Command::Text("first".into())).unwrap();
    let first = spawn_client(addr, first_queue, move |event| {
        if matches!(event, Event::Text(_)) {
            let _ = first_echoed.send(());
        }
    });
    first_echo
        .recv_timeout(LIMIT)
        .expect("the first client got its echo");

    let (second_commands, second_queue) = mpsc::channel();
    second_commands
        .send(Command::Text("second".into()))
        .unwrap();
    drop(second_commands);
    let (result, seen) = spawn_client(addr, second_queue, |_| {})
        .recv_timeout(LIMIT)
        .expect("the second client finished while the first was open");
    result.expect("the second client closed cleanly");
    assert!(seen.contains(&Seen::Text("second".into())), "{seen:?}");

    first_commands
        .send(Command::Close(CloseCode(4321), "first done".into()))
        .unwrap();
    let (result, _) = first
        .recv_timeout(LIMIT)
        .expect("the first client finished");
    let close = result.expect("the first client closed cleanly");
    assert_eq!(
        (close.code, close.reason.as_str()),
        (Some(CloseCode(4321)), "first done")
    );
}

#[test]
fn the_blocking_server_refuses_a_request_that_is_not_an_upgrade() {
    let addr = start_server();
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(LIMIT)).unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    // The server answers and then closes its end: read to the end of the stream.
    let mut answer = Vec::new();
    tcp.read_to_end(&mut answer)
        .expect("the server closed the connection in time");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(answer.contains("Upgrade"), "{answer}");
}

#[test]
fn the_blocking_client_reports_a_refused_upgrade() {
    // A server that answers every request with 404.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        let (mut tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(LIMIT)).unwrap();
        let mut head = Vec::new();
        let mut byte = [0];
        while !head.ends_with(b"\r\n\r\n") && tcp.read(&mut byte).unwrap_or(0) == 1 {
            head.push(byte[0]);
        }
        let _ = tcp.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope");
    });
    let (_commands, queue) = mpsc::channel();
    let (result, seen) = spawn_client(addr, queue, |_| {})
        .recv_timeout(LIMIT)
        .expect("the client finished in time");
    let error = result.expect_err("a 404 is no WebSocket");
    assert!(error.to_string().contains("404"), "{error}");
    assert!(seen.is_empty(), "{seen:?}");
}

#[test]
fn stdin_lines_become_commands() {
    use blocking_client::parse_line;
    assert_eq!(parse_line("hello"), Ok(Command::Text("hello".into())));
    assert_eq!(
        parse_line("/binaryish"),
        Ok(Command::Text("/binaryish".into()))
    );
    assert_eq!(
        parse_line("/binary a b"),
        Ok(Command::Binary(b"a b".to_vec()))
    );
    assert_eq!(parse_line("/ping"), Ok(Command::Ping(Vec::new())));
    assert_eq!(parse_line("/ping x"), Ok(Command::Ping(b"x".to_vec())));
    assert_eq!(
        parse_line("/close"),
        Ok(Command::Close(CloseCode::NORMAL, String::new()))
    );
    assert_eq!(
        parse_line("/close 4000 see you"),
        Ok(Command::Close(CloseCode(4000), "see you".into()))
    );
    assert!(parse_line("/close 1005").is_err());
    assert!(parse_line("/close soon").is_err());
    assert!(parse_line(&format!("/ping {}", "x".repeat(126))).is_err());
    assert!(parse_line(&format!("/close 1000 {}", "x".repeat(124))).is_err());
}
