//! The shapes a `WsStream` takes besides its own `recv`/`send`: the two halves of
//! `into_split` used from two tasks while the peer pings (both roles, and with a tap), the
//! `futures` `Stream` and `Sink` echoing through `StreamExt::forward`, and `recv` losing a
//! `tokio::select!` race to a timer again and again without losing a message — against
//! tokio-tungstenite, a peer nobody here wrote.

mod support;

use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;

use futures_util::stream::FusedStream;
use futures_util::{SinkExt, StreamExt};
use support::LIMIT;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as TMessage;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame as TCloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as TCloseCode;
use ws_tokio::tap::{self, Initiator, TapKind};
use ws_tokio::ws_proto::bytes::Bytes;
use ws_tokio::ws_proto::{CloseCode, ReadyState};
use ws_tokio::{
    ConnectOptions, Decision, Error, MaybeTlsStream, Message, Outgoing, ReadHalf, Server,
    ServerOptions, WsStream, connect,
};

/// Within [`LIMIT`], or the test fails naming `what`.
async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(LIMIT, future).await {
        Ok(value) => value,
        Err(_) => panic!("timed out: {what}"),
    }
}

/// A tokio-tungstenite server that runs `script` on its one connection and gives its result.
async fn tungstenite_server<F, Fut, T>(script: F) -> (String, tokio::task::JoinHandle<T>)
where
    F: FnOnce(WebSocketStream<TcpStream>) -> Fut + Send + 'static,
    Fut: Future<Output = T> + Send,
    T: Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        script(tokio_tungstenite::accept_async(tcp).await.unwrap()).await
    });
    (format!("ws://{addr}/"), task)
}

/// Our server on a free loopback port, upgrading one connection.
async fn our_server() -> (String, tokio::task::JoinHandle<WsStream<MaybeTlsStream>>) {
    let server = Server::bind("127.0.0.1:0", ServerOptions::default())
        .await
        .unwrap();
    let url = format!("ws://{}/", server.local_addr().unwrap());
    let accepted = tokio::spawn(async move {
        let incoming = server.accept().await.unwrap();
        incoming.upgrade(|_| Decision::accept()).await.unwrap()
    });
    (url, accepted)
}

/// What the pinging echo server saw.
#[derive(Debug)]
struct Pinged {
    /// Pings sent, numbered from 0.
    pings: u32,
    /// The payloads of the pongs that came back.
    pongs: BTreeSet<u32>,
    /// Messages echoed.
    echoed: usize,
    /// The client's close frame.
    close: Option<TCloseFrame>,
}

/// Echoes text and binary messages and pings every 2 ms (numbered payloads) until the
/// message "done", which it echoes too, then answers the client's close.
async fn pinging_echo(mut ws: WebSocketStream<TcpStream>) -> Pinged {
    let mut seen = Pinged {
        pings: 0,
        pongs: BTreeSet::new(),
        echoed: 0,
        close: None,
    };
    let mut ticks = tokio::time::interval(Duration::from_millis(2));
    let mut pinging = true;
    for _ in 0..1_000_000 {
        tokio::select! {
            _ = ticks.tick(), if pinging => {
                let payload = seen.pings.to_be_bytes().to_vec();
                ws.send(TMessage::Ping(payload.into())).await.unwrap();
                seen.pings += 1;
            }
            message = ws.next() => match message {
                Some(Ok(TMessage::Pong(payload))) => {
                    let number = u32::from_be_bytes(payload[..].try_into().unwrap());
                    assert!(seen.pongs.insert(number), "pong {number} came twice");
                }
                Some(Ok(TMessage::Close(frame))) => seen.close = frame,
                Some(Ok(message @ (TMessage::Text(_) | TMessage::Binary(_)))) => {
                    if message.to_text().is_ok_and(|text| text == "done") {
                        pinging = false;
                    }
                    ws.send(message).await.unwrap();
                    seen.echoed += 1;
                }
                Some(Ok(other)) => panic!("unexpected {other:?}"),
                Some(Err(e)) => panic!("the server failed: {e}"),
                None => return seen,
            },
        }
    }
    panic!("the connection did not end");
}

/// The next message from a read half, within [`LIMIT`]; pings are counted and skipped.
async fn next_skipping_pings<S>(read: &mut ReadHalf<S>, pings: &mut u32) -> Message
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite,
{
    within("a message", async {
        for _ in 0..1_000_000 {
            match read.recv().await {
                Some(Ok(Message::Ping(_))) => *pings += 1,
                Some(Ok(message)) => return message,
                Some(Err(e)) => panic!("the connection failed: {e}"),
                None => panic!("the connection ended"),
            }
        }
        panic!("nothing but pings");
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn halves_in_two_tasks_while_the_server_pings() {
    let (url, server) = tungstenite_server(pinging_echo).await;
    let ws = connect(ConnectOptions::new(url)).await.unwrap();
    let (mut read, mut write) = ws.into_split();
    assert_eq!(write.handshake().response.status(), 101);

    // One task sends 1,000 messages, pausing now and then so that pings arrive meanwhile.
    let sending = tokio::spawn(async move {
        for i in 0..1000 {
            write.send_text(format!("message {i}")).await.unwrap();
            if i % 50 == 49 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        write
    });
    // This one receives every echo, in order, answering pings as they come.
    let mut pings = 0;
    for i in 0..1000 {
        match next_skipping_pings(&mut read, &mut pings).await {
            Message::Text(text) => assert_eq!(text.as_str(), format!("message {i}")),
            other => panic!("expected echo {i}, got {other:?}"),
        }
    }
    let mut write = within("the sending task", sending).await.unwrap();

    // "done" stops the pings; its echo comes after every ping sent, so all are answered
    // before our close frame.
    write.send_text("done").await.unwrap();
    assert_eq!(
        next_skipping_pings(&mut read, &mut pings).await,
        Message::Text("done".into())
    );
    write.close(Some(CloseCode::NORMAL), "bye").await.unwrap();
    assert!(
        write.send_text("late").await.is_err(),
        "data after our close"
    );
    match next_skipping_pings(&mut read, &mut pings).await {
        Message::Close(frame) => assert_eq!(frame.code, Some(CloseCode::NORMAL)),
        other => panic!("expected the close reply, got {other:?}"),
    }
    assert!(within("the end", read.recv()).await.is_none());
    assert!(write.is_closed());
    assert_eq!(read.state(), ReadyState::Closed);

    let seen = within("the server", server).await.unwrap();
    assert_eq!(seen.echoed, 1001);
    assert!(
        seen.pings >= 3,
        "too few pings to test anything: {}",
        seen.pings
    );
    assert_eq!(pings, seen.pings, "every ping reached the read half");
    assert_eq!(
        seen.pongs,
        (0..seen.pings).collect::<BTreeSet<_>>(),
        "every ping got its pong"
    );
    let close = seen.close.expect("our close frame had a code");
    assert_eq!(
        (u16::from(close.code), close.reason.as_str()),
        (1000, "bye")
    );

    // Put back together, the stream knows it has ended.
    let mut ws = read.reunite(write).unwrap();
    assert!(ws.recv().await.is_none());
    assert!(ws.connection().was_clean());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_servers_write_half_sends_large_messages_while_its_read_half_answers_pings() {
    let (url, accepted) = our_server().await;
    let client = tokio::spawn(async move {
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let mut ticks = tokio::time::interval(Duration::from_millis(2));
        let (mut pings, mut pongs, mut received) = (0u32, BTreeSet::new(), 0usize);
        for _ in 0..1_000_000 {
            if received == 100 && pongs.len() == pings as usize {
                break;
            }
            tokio::select! {
                _ = ticks.tick(), if received < 100 => {
                    ws.send(TMessage::Ping(pings.to_be_bytes().to_vec().into())).await.unwrap();
                    pings += 1;
                }
                message = ws.next() => match message.unwrap().unwrap() {
                    TMessage::Binary(data) => {
                        // Written from the caller's buffer behind its header: intact, and
                        // never cut by a pong.
                        assert_eq!(data.len(), 64 * 1024);
                        assert!(data.iter().all(|&b| b == received as u8), "message {received}");
                        received += 1;
                    }
                    TMessage::Pong(payload) => {
                        pongs.insert(u32::from_be_bytes(payload[..].try_into().unwrap()));
                    }
                    other => panic!("unexpected {other:?}"),
                },
            }
        }
        assert_eq!(received, 100);
        assert_eq!(pongs, (0..pings).collect::<BTreeSet<_>>());
        ws.close(None).await.unwrap();
        while ws.next().await.is_some() {}
        pings
    });
    let (mut read, mut write) = within("the upgrade", accepted).await.unwrap().into_split();
    let sending = tokio::spawn(async move {
        for i in 0..100u8 {
            write.send_binary(vec![i; 64 * 1024]).await.unwrap();
        }
    });
    let mut pings = 0;
    match next_skipping_pings(&mut read, &mut pings).await {
        Message::Close(frame) => assert_eq!(frame.code, None),
        other => panic!("expected the client's close, got {other:?}"),
    }
    assert!(within("the end", read.recv()).await.is_none());
    within("the sending task", sending).await.unwrap();
    assert_eq!(pings, within("the client", client).await.unwrap());
}

#[tokio::test]
async fn halves_with_a_tap_report_every_frame_and_the_close() {
    let (tap, mut reports) = tap::channel(1024);
    let (url, server) = tungstenite_server(pinging_echo).await;
    let mut options = ConnectOptions::new(url);
    options.tap = Some(tap);
    let (mut read, mut write) = connect(options).await.unwrap().into_split();
    write.send_text("one").await.unwrap();
    write.send_text("done").await.unwrap();
    let mut pings = 0;
    assert_eq!(
        next_skipping_pings(&mut read, &mut pings).await,
        Message::Text("one".into())
    );
    assert_eq!(
        next_skipping_pings(&mut read, &mut pings).await,
        Message::Text("done".into())
    );
    write.close(Some(CloseCode::NORMAL), "").await.unwrap();
    assert!(matches!(
        next_skipping_pings(&mut read, &mut pings).await,
        Message::Close(_)
    ));
    assert!(within("the end", read.recv()).await.is_none());
    let seen = within("the server", server).await.unwrap();

    let (mut frames, mut states, mut closed) = (0, Vec::new(), None);
    while let Some(report) = reports.try_recv() {
        match report.kind {
            TapKind::Frame(_) => frames += 1,
            TapKind::State(state) => states.push(state),
            TapKind::Closed {
                code,
                initiator,
                clean,
                ..
            } => closed = Some((code, initiator, clean)),
            _ => {}
        }
    }
    // Two messages and a close each way, and a ping and a pong for each ping.
    assert_eq!(frames as u32, 6 + 2 * seen.pings);
    assert_eq!(
        states,
        [
            ReadyState::Connecting,
            ReadyState::Open,
            ReadyState::Closing,
            ReadyState::Closed
        ]
    );
    assert_eq!(closed, Some((CloseCode::NORMAL, Initiator::Local, true)));
}

#[tokio::test]
async fn stream_and_sink_echo_through_forward() {
    let (url, accepted) = our_server().await;
    let serving = tokio::spawn(async move {
        let ws = accepted.await.unwrap();
        // futures' split: a sink and a stream behind its lock, as with tokio-tungstenite.
        let (sink, stream) = ws.split();
        stream
            .filter_map(|message| {
                std::future::ready(match message {
                    Ok(Message::Text(text)) => Some(Ok(Outgoing::Text(text.as_str().to_owned()))),
                    Ok(Message::Binary(data)) => Some(Ok(Outgoing::Binary(data))),
                    Ok(_) => None,
                    Err(e) => Some(Err(e)),
                })
            })
            .forward(sink)
            .await
    });
    let (mut client, _) = tokio_tungstenite::connect_async(url).await.unwrap();

    // 1 MiB goes through the sink's zero-copy path; the small ones are queued together.
    let sizes = [0, 1, 125, 126, 65535, 65536, 1 << 20];
    let mut sent = Vec::new();
    for i in 0..100 {
        sent.push(TMessage::text(format!("text {i}")));
    }
    for (i, size) in sizes.into_iter().enumerate() {
        sent.push(TMessage::binary(vec![i as u8; size]));
    }
    for message in &sent {
        client.feed(message.clone()).await.unwrap();
    }
    client
        .send(TMessage::Ping(b"ping"[..].into()))
        .await
        .unwrap();
    let mut pong = false;
    let mut echoed = Vec::new();
    while echoed.len() < sent.len() || !pong {
        match within("an echo", client.next()).await.unwrap().unwrap() {
            TMessage::Pong(payload) => {
                assert_eq!(&payload[..], b"ping");
                pong = true;
            }
            message => echoed.push(message),
        }
    }
    assert!(echoed == sent, "the echoes differ from what was sent");

    client
        .close(Some(TCloseFrame {
            code: TCloseCode::from(4000),
            reason: "bye".into(),
        }))
        .await
        .unwrap();
    match within("the close reply", client.next()).await {
        Some(Ok(TMessage::Close(Some(frame)))) => {
            assert_eq!(u16::from(frame.code), 4000);
            assert_eq!(frame.reason.as_str(), "bye");
        }
        other => panic!("expected the close echoed, got {other:?}"),
    }
    assert!(within("the end", client.next()).await.is_none());
    within("forward", serving).await.unwrap().unwrap();
}

#[tokio::test]
async fn sink_close_sends_1000_and_the_stream_reads_to_the_end() {
    let addr = support::echo_server(ServerOptions::default()).await;
    let mut ws = connect(ConnectOptions::new(format!("ws://{addr}/")))
        .await
        .unwrap();
    for i in 0..10 {
        ws.feed(Outgoing::Text(format!("fed {i}"))).await.unwrap();
    }
    SinkExt::flush(&mut ws).await.unwrap();
    for i in 0..10 {
        let message = within("an echo", ws.next()).await.unwrap().unwrap();
        assert_eq!(message, Message::Text(format!("fed {i}").into()));
    }
    SinkExt::close(&mut ws).await.unwrap();
    match within("the close reply", ws.next()).await {
        Some(Ok(Message::Close(frame))) => assert_eq!(frame.code, Some(CloseCode::NORMAL)),
        other => panic!("expected the close reply, got {other:?}"),
    }
    assert!(within("the end", ws.next()).await.is_none());
    assert!(ws.is_terminated());
    assert!(ws.feed(Outgoing::Text("late".into())).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn futures_split_halves_in_two_tasks_while_the_peer_pings_and_reads_late() {
    // The server pings for 300 ms without reading, so our sink's writes fill the socket and
    // the stream's pongs wait behind them; then it reads everything.
    let (url, server) = tungstenite_server(|mut ws| async move {
        let (mut pings, mut pongs, mut received) = (0u32, BTreeSet::new(), 0);
        let start = tokio::time::Instant::now();
        while start.elapsed() < Duration::from_millis(300) {
            ws.send(TMessage::Ping(pings.to_be_bytes().to_vec().into()))
                .await
                .unwrap();
            pings += 1;
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let mut ticks = tokio::time::interval(Duration::from_millis(1));
        for _ in 0..1_000_000 {
            if received == 40 && pongs.len() == pings as usize {
                break;
            }
            tokio::select! {
                _ = ticks.tick(), if received < 40 => {
                    ws.send(TMessage::Ping(pings.to_be_bytes().to_vec().into())).await.unwrap();
                    pings += 1;
                }
                message = ws.next() => match message.unwrap().unwrap() {
                    TMessage::Binary(data) => {
                        assert!(data.len() == 1 << 20 && data.iter().all(|&b| b == received as u8));
                        received += 1;
                    }
                    TMessage::Pong(payload) => {
                        pongs.insert(u32::from_be_bytes(payload[..].try_into().unwrap()));
                    }
                    other => panic!("unexpected {other:?}"),
                },
            }
        }
        assert_eq!(pongs, (0..pings).collect::<BTreeSet<_>>());
        ws.close(None).await.unwrap();
        while ws.next().await.is_some() {}
        pings
    })
    .await;
    let ws = connect(ConnectOptions::new(url)).await.unwrap();
    let (mut sink, mut stream) = ws.split();
    let sending = tokio::spawn(async move {
        for i in 0..40u8 {
            sink.send(Outgoing::Binary(vec![i; 1 << 20].into()))
                .await
                .unwrap();
        }
    });
    let mut pings = 0;
    within("the stream to end", async {
        for _ in 0..1_000_000 {
            match stream.next().await {
                Some(Ok(Message::Ping(_))) => pings += 1,
                Some(Ok(Message::Close(_))) => {}
                None => return,
                other => panic!("unexpected {other:?}"),
            }
        }
        panic!("the stream did not end");
    })
    .await;
    within("the sending task", sending).await.unwrap();
    assert_eq!(pings, within("the server", server).await.unwrap());
}

// --- cancel safety -------------------------------------------------------------------------

/// An unmasked (server) frame with FIN set.
fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x80 | opcode];
    match payload.len() {
        n if n < 126 => frame.push(n as u8),
        n if n < 1 << 16 => {
            frame.push(126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(payload);
    frame
}

/// The messages the slow server sends: texts, a binary of 20,000 bytes every seventh, a ping
/// every fifth.
fn slow_messages() -> Vec<Message> {
    let mut messages = Vec::new();
    for i in 0..120u32 {
        messages.push(Message::Text(format!("slow {i}").into()));
        if i % 7 == 0 {
            messages.push(Message::Binary(vec![i as u8; 20_000].into()));
        }
        if i % 5 == 0 {
            messages.push(Message::Ping(Bytes::from(i.to_be_bytes().to_vec())));
        }
    }
    messages
}

/// A server that writes [`slow_messages`] as raw frames in 997-byte pieces, a millisecond
/// apart (so reads end anywhere, headers included), then reads the pongs until the client
/// closes. Gives the pong payloads.
async fn slow_server() -> (String, tokio::task::JoinHandle<Vec<Bytes>>) {
    tungstenite_server(|mut ws| async move {
        let mut bytes = Vec::new();
        for message in slow_messages() {
            bytes.extend(match message {
                Message::Text(text) => frame(0x1, text.as_bytes()),
                Message::Binary(data) => frame(0x2, &data),
                Message::Ping(data) => frame(0x9, &data),
                other => unreachable!("{other:?}"),
            });
        }
        for piece in bytes.chunks(997) {
            let tcp = ws.get_mut();
            tcp.write_all(piece).await.unwrap();
            tcp.flush().await.unwrap();
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let mut pongs = Vec::new();
        for _ in 0..10_000 {
            match ws.next().await {
                Some(Ok(TMessage::Pong(payload))) => pongs.push(payload),
                Some(Ok(TMessage::Close(_))) => {}
                Some(Ok(other)) => panic!("unexpected {other:?}"),
                Some(Err(e)) => panic!("the server failed: {e}"),
                None => return pongs,
            }
        }
        panic!("the connection did not end");
    })
    .await
}

/// Something to receive from: the three ways a stream can be read.
trait Receive {
    fn receive(&mut self) -> impl Future<Output = Option<Result<Message, Error>>> + Send + '_;
}

impl Receive for WsStream<MaybeTlsStream> {
    fn receive(&mut self) -> impl Future<Output = Option<Result<Message, Error>>> + Send + '_ {
        self.recv()
    }
}

impl Receive for ReadHalf<MaybeTlsStream> {
    fn receive(&mut self) -> impl Future<Output = Option<Result<Message, Error>>> + Send + '_ {
        self.recv()
    }
}

/// A `WsStream` read as a `futures` stream.
struct AsStream(WsStream<MaybeTlsStream>);

impl Receive for AsStream {
    fn receive(&mut self) -> impl Future<Output = Option<Result<Message, Error>>> + Send + '_ {
        self.0.next()
    }
}

/// Receives every slow message with `receive` racing a 300 µs timer in `select!`; checks
/// they all came, in order and intact. Gives how often the timer won (each time cancelling
/// a `receive`).
async fn receive_racing_a_timer(rx: &mut impl Receive) -> usize {
    let expected = slow_messages();
    let (mut got, mut timer_won) = (Vec::new(), 0);
    let deadline = tokio::time::Instant::now() + LIMIT;
    while got.len() < expected.len() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {} messages",
            got.len()
        );
        tokio::select! {
            message = rx.receive() => match message {
                Some(Ok(message)) => got.push(message),
                other => panic!("after {} messages: {other:?}", got.len()),
            },
            () = tokio::time::sleep(Duration::from_micros(300)) => timer_won += 1,
        }
    }
    for (i, (got, expected)) in got.iter().zip(&expected).enumerate() {
        assert!(got == expected, "message {i} differs");
    }
    timer_won
}

/// Every ping of the slow server was answered, once.
fn all_pings_answered(pongs: Vec<Bytes>) {
    let pings: Vec<Bytes> = slow_messages()
        .into_iter()
        .filter_map(|m| match m {
            Message::Ping(data) => Some(data),
            _ => None,
        })
        .collect();
    assert_eq!(pongs, pings);
}

#[tokio::test]
async fn recv_racing_a_timer_loses_no_message() {
    let (url, server) = slow_server().await;
    let mut ws = connect(ConnectOptions::new(url)).await.unwrap();
    let timer_won = receive_racing_a_timer(&mut ws).await;
    assert!(timer_won > 10, "recv was cancelled only {timer_won} times");
    ws.close(Some(CloseCode::NORMAL), "").await.unwrap();
    assert!(matches!(
        within("the close reply", ws.recv()).await,
        Some(Ok(Message::Close(_)))
    ));
    assert!(within("the end", ws.recv()).await.is_none());
    all_pings_answered(within("the server", server).await.unwrap());
}

#[tokio::test]
async fn the_read_halfs_recv_racing_a_timer_loses_no_message() {
    let (url, server) = slow_server().await;
    let ws = connect(ConnectOptions::new(url)).await.unwrap();
    let (mut read, mut write) = ws.into_split();
    let timer_won = receive_racing_a_timer(&mut read).await;
    assert!(timer_won > 10, "recv was cancelled only {timer_won} times");
    write.close(Some(CloseCode::NORMAL), "").await.unwrap();
    assert!(matches!(
        within("the close reply", read.recv()).await,
        Some(Ok(Message::Close(_)))
    ));
    assert!(within("the end", read.recv()).await.is_none());
    all_pings_answered(within("the server", server).await.unwrap());
}

#[tokio::test]
async fn the_streams_next_racing_a_timer_loses_no_message() {
    let (url, server) = slow_server().await;
    let mut ws = AsStream(connect(ConnectOptions::new(url)).await.unwrap());
    let timer_won = receive_racing_a_timer(&mut ws).await;
    assert!(timer_won > 10, "next was cancelled only {timer_won} times");
    SinkExt::close(&mut ws.0).await.unwrap();
    assert!(matches!(
        within("the close reply", ws.0.next()).await,
        Some(Ok(Message::Close(_)))
    ));
    assert!(within("the end", ws.0.next()).await.is_none());
    all_pings_answered(within("the server", server).await.unwrap());
}

// --- a cancelled send ----------------------------------------------------------------------

/// The size of the message a send is cancelled in: more than loopback's socket buffers take.
const HUGE: usize = 40 << 20;

/// A tokio-tungstenite server that reads nothing until `go`, then expects a `HUGE` binary
/// message and the text "after", and answers the client's close.
async fn late_reader() -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (go, wait) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
            .max_frame_size(None)
            .max_message_size(None);
        let mut ws = tokio_tungstenite::accept_async_with_config(tcp, Some(config))
            .await
            .unwrap();
        wait.await.unwrap();
        match ws.next().await.unwrap().unwrap() {
            TMessage::Binary(data) => {
                assert_eq!(data.len(), HUGE);
                assert!(data.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
            }
            other => panic!("expected the huge message, got {other:?}"),
        }
        assert_eq!(ws.next().await.unwrap().unwrap(), TMessage::text("after"));
        while ws.next().await.is_some() {}
    });
    (format!("ws://{addr}/"), go, task)
}

fn huge() -> Vec<u8> {
    (0..HUGE).map(|i| (i % 251) as u8).collect()
}

#[tokio::test]
async fn a_send_cancelled_halfway_is_finished_by_the_next_one() {
    let (url, go, server) = late_reader().await;
    let mut ws = connect(ConnectOptions::new(url)).await.unwrap();
    // The peer does not read: the write stops partway, and the timeout cancels the send.
    let cut = tokio::time::timeout(Duration::from_millis(200), ws.send_binary(huge())).await;
    assert!(cut.is_err(), "the send was not cut short");
    go.send(()).unwrap();
    // The next send writes the rest first: the peer sees both messages whole, in order.
    within("the next send", ws.send_text("after"))
        .await
        .unwrap();
    ws.close(Some(CloseCode::NORMAL), "").await.unwrap();
    assert!(matches!(
        within("the close reply", ws.recv()).await,
        Some(Ok(Message::Close(_)))
    ));
    assert!(within("the end", ws.recv()).await.is_none());
    within("the server", server).await.unwrap();
}

#[tokio::test]
async fn a_write_halfs_send_cancelled_halfway_is_finished_by_the_next_one() {
    let (url, go, server) = late_reader().await;
    let (mut read, mut write) = connect(ConnectOptions::new(url))
        .await
        .unwrap()
        .into_split();
    let cut = tokio::time::timeout(Duration::from_millis(200), write.send_binary(huge())).await;
    assert!(cut.is_err(), "the send was not cut short");
    go.send(()).unwrap();
    within("the next send", write.send_text("after"))
        .await
        .unwrap();
    write.close(Some(CloseCode::NORMAL), "").await.unwrap();
    assert!(matches!(
        within("the close reply", read.recv()).await,
        Some(Ok(Message::Close(_)))
    ));
    assert!(within("the end", read.recv()).await.is_none());
    within("the server", server).await.unwrap();
}

#[tokio::test]
async fn halves_of_different_connections_do_not_reunite() {
    let addr = support::echo_server(ServerOptions::default()).await;
    let url = format!("ws://{addr}/");
    let (read_a, write_a) = connect(ConnectOptions::new(url.clone()))
        .await
        .unwrap()
        .into_split();
    let (read_b, write_b) = connect(ConnectOptions::new(url))
        .await
        .unwrap()
        .into_split();
    let error = read_a.reunite(write_b).unwrap_err();
    assert!(error.to_string().contains("different connections"));
    let (read_a, write_b) = (error.0, error.1);
    let mut a = read_a.reunite(write_a).unwrap();
    let mut b = read_b.reunite(write_b).unwrap();
    a.send_text("a").await.unwrap();
    b.send_text("b").await.unwrap();
    assert_eq!(
        within("a", a.recv()).await.unwrap().unwrap(),
        Message::Text("a".into())
    );
    assert_eq!(
        within("b", b.recv()).await.unwrap().unwrap(),
        Message::Text("b".into())
    );
}

// --- reading -------------------------------------------------------------------------------

/// A read half reads each message of a few KiB that has arrived whole in one read: it
/// began each message with 512 bytes of room, so a 1 KiB message took two system calls
/// (`wsi relay`, which runs on the halves, made 6.7 system calls per message at 16 × 1 KiB
/// against a TCP forwarder's 4.5).
#[tokio::test]
async fn the_read_half_reads_a_message_that_arrived_whole_in_one_read() {
    use ws_tokio::RawOptions;
    use ws_tokio::ws_proto::{Negotiated, Role};

    let (ours, mut peer) = tokio::io::duplex(256 * 1024);
    let (counted, reads) = support::RecordsReads::new(ours);
    let taking = || reads.lock().unwrap().iter().filter(|r| r.taken > 0).count();
    let ws = WsStream::from_raw(
        counted,
        Role::Client,
        Negotiated::default(),
        RawOptions::new(),
    )
    .unwrap();
    let (mut read, _write) = ws.into_split();
    for (round, size) in [1024, 4000, 1024, 12_000].into_iter().enumerate() {
        let payload = vec![round as u8; size];
        peer.write_all(&frame(0x2, &payload)).await.unwrap();
        let before = taking();
        let message = within("a message", read.recv()).await.unwrap().unwrap();
        assert_eq!(message, Message::Binary(Bytes::from(payload)));
        let taken = taking() - before;
        assert_eq!(
            taken, 1,
            "message {round} of {size} bytes took {taken} reads"
        );
    }
}
