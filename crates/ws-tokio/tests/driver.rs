//! The connection task under load (flow control in both directions at once), and what a send
//! that writes its message itself must still wake the task for: a failed write, the tap, the
//! close timer.

mod support;

use std::time::Duration;

use ws_tokio::{ConnectOptions, Message, Receiver, Sender, Server, ServerOptions, connect};

/// Sends `count` messages of `size` bytes, and only then reads as many.
async fn write_then_read(sender: Sender, mut receiver: Receiver, count: usize, size: usize) {
    for i in 0..count {
        sender.send_binary(vec![i as u8; size]).await.unwrap();
    }
    for i in 0..count {
        match receiver.recv().await {
            Some(Ok(Message::Binary(data))) => {
                assert_eq!(data.len(), size);
                assert!(data.iter().all(|&b| b == i as u8), "message {i} garbled");
            }
            other => panic!("message {i}: {other:?}"),
        }
    }
}

/// Two peers that each write 24 MiB before they read anything: far more than the loopback
/// socket buffers hold, so each side's writes block until the other side reads. A driver that
/// stopped reading while its write was blocked would stall both forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_peers_that_both_write_before_reading_do_not_stall() {
    const COUNT: usize = 24;
    const SIZE: usize = 1 << 20;
    let server = Server::bind("127.0.0.1:0", ServerOptions::default())
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let server_side = tokio::spawn(async move {
        let ws = support::accept_one(&server).await;
        let (sender, receiver) = ws.split();
        write_then_read(sender, receiver, COUNT, SIZE).await;
    });
    let (sender, receiver) = connect(ConnectOptions::new(format!("ws://{addr}/")))
        .await
        .unwrap()
        .into_driven()
        .split();
    let client_side = write_then_read(sender, receiver, COUNT, SIZE);
    tokio::time::timeout(Duration::from_secs(30), async {
        client_side.await;
        server_side.await.unwrap();
    })
    .await
    .expect("both peers wrote before reading and stalled each other");
}

/// A server floods small messages at a client whose tap and receiver are read by two slow,
/// bursty consumers (each pauses now and then, as a UI thread does between frames). Every
/// message and every frame report must arrive: backpressure may slow the flood, never stop it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_read_through_a_slow_tap_and_receiver_completes() {
    const COUNT: usize = 60_000;
    let server = Server::bind("127.0.0.1:0", ServerOptions::default())
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    tokio::spawn(async move {
        let ws = support::accept_one(&server).await;
        let (sender, _receiver) = ws.split();
        for i in 0..COUNT {
            if sender.send_text(format!("flood {i}")).await.is_err() {
                return;
            }
        }
        // Keep the connection open until the client is done.
        tokio::time::sleep(Duration::from_secs(60)).await;
    });
    let (tap, mut taps) = ws_tokio::tap::channel(256);
    let mut options = ConnectOptions::new(format!("ws://{addr}/"));
    options.tap = Some(tap);
    options.channel_capacity = 64;
    let (_sender, mut receiver) = connect(options).await.unwrap().into_driven().split();
    let tap_reader = tokio::spawn(async move {
        let mut frames = 0;
        while frames < COUNT {
            match taps.recv().await {
                Some(event) => {
                    if let ws_tokio::tap::TapKind::Frame(_) = event.kind {
                        frames += 1;
                        if frames % 5_000 == 0 {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                }
                None => break,
            }
        }
        frames
    });
    let messages = async {
        for i in 0..COUNT {
            match receiver.recv().await {
                Some(Ok(Message::Text(t))) => assert_eq!(t.as_str(), format!("flood {i}")),
                other => panic!("message {i}: {other:?}"),
            }
            if i % 7_000 == 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), async {
        messages.await;
        assert_eq!(tap_reader.await.unwrap(), COUNT);
    })
    .await
    .expect("the flood stalled");
}

/// A driven server's large binary messages are written from the sender's buffer, behind the
/// output queued before them; small ones are copied into the engine. Interleaved, with pings
/// from a second handle in between, every message arrives whole and in the order sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_and_small_messages_sent_by_a_driven_server_keep_their_order() {
    const COUNT: usize = 300;
    let server = Server::bind("127.0.0.1:0", ServerOptions::default())
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let server_side = tokio::spawn(async move {
        let ws = support::accept_one(&server).await;
        let (sender, mut receiver) = ws.split();
        let pinger = sender.clone();
        let pings = tokio::spawn(async move {
            for _ in 0..50 {
                pinger.send_ping(&b"p"[..]).await.unwrap();
                tokio::task::yield_now().await;
            }
        });
        for i in 0..COUNT {
            let size = [10, 9 * 1024, 200 * 1024][i % 3];
            sender.send_binary(vec![i as u8; size]).await.unwrap();
            sender.send_text(format!("after {i}")).await.unwrap();
        }
        pings.await.unwrap();
        // Wait for the client's close.
        while let Some(Ok(_)) = receiver.recv().await {}
    });
    let mut client = connect(ConnectOptions::new(format!("ws://{addr}/")))
        .await
        .unwrap();
    for i in 0..COUNT {
        let size = [10, 9 * 1024, 200 * 1024][i % 3];
        match next_data(&mut client).await {
            Some(Ok(Message::Binary(data))) => {
                assert_eq!(data.len(), size, "message {i}");
                assert!(data.iter().all(|&b| b == i as u8), "message {i} garbled");
            }
            other => panic!("message {i}: {other:?}"),
        }
        match next_data(&mut client).await {
            Some(Ok(Message::Text(text))) => assert_eq!(&*text, format!("after {i}")),
            other => panic!("text after {i}: {other:?}"),
        }
    }
    client.close(None, "").await.unwrap();
    while client.recv().await.is_some() {}
    tokio::time::timeout(Duration::from_secs(10), server_side)
        .await
        .expect("the server ended")
        .unwrap();
}

/// The next message that is not a ping or a pong.
async fn next_data(
    client: &mut ws_tokio::WsStream<ws_tokio::MaybeTlsStream>,
) -> Option<Result<Message, ws_tokio::Error>> {
    loop {
        match client.recv().await {
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => return other,
        }
    }
}

/// A stream whose reads never complete and whose writes fail, as a socket that the peer has
/// reset looks to a sender that writes before the connection task reads anything.
struct FailingWrites;

impl tokio::io::AsyncRead for FailingWrites {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        _: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Pending
    }
}

impl tokio::io::AsyncWrite for FailingWrites {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        _: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::task::Poll::Ready(Err(std::io::ErrorKind::BrokenPipe.into()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// A send writes its message itself; when that write fails, the connection task is told and
/// ends the connection with the error: the receiver gets it, then the end, and later sends
/// fail as sends on a closed connection.
#[tokio::test]
async fn a_write_that_a_send_makes_and_that_fails_ends_the_connection_with_its_error() {
    use ws_tokio::ws_proto::{Negotiated, Role};
    use ws_tokio::{RawOptions, WsStream};

    let ws = WsStream::from_raw(
        FailingWrites,
        Role::Server,
        Negotiated::default(),
        RawOptions::new(),
    )
    .unwrap();
    let (sender, mut receiver) = ws.into_driven().split();
    // The connection task has run and waits: only what the send does can wake it.
    tokio::time::sleep(Duration::from_millis(50)).await;
    sender.send_text("never arrives").await.unwrap();
    let limit = Duration::from_secs(30);
    match tokio::time::timeout(limit, receiver.recv()).await.unwrap() {
        Some(Err(e)) => assert!(e.is_io(), "expected an I/O error, got {e}"),
        other => panic!("expected the write's error, got {other:?}"),
    }
    assert!(
        tokio::time::timeout(limit, receiver.recv())
            .await
            .unwrap()
            .is_none()
    );
    let again = sender.send_text("after the end").await.unwrap_err();
    assert!(again.is_closed(), "expected a closed error, got {again}");
}

/// A task-driven client on one end of an in-memory pipe whose other end is read, so that
/// every write succeeds, and never written to; returned once its connection task has run
/// and is waiting, so that only what a send does can wake it.
async fn driven_client_on_a_silent_pipe(
    options: ws_tokio::RawOptions,
) -> (Sender, Receiver, tokio::task::JoinHandle<()>) {
    use tokio::io::AsyncReadExt as _;
    use ws_tokio::ws_proto::{Negotiated, Role};

    let (ours, mut theirs) = tokio::io::duplex(64 * 1024);
    let drain = tokio::spawn(async move {
        let mut sink = vec![0; 16 * 1024];
        while matches!(theirs.read(&mut sink).await, Ok(n) if n > 0) {}
    });
    let ws =
        ws_tokio::WsStream::from_raw(ours, Role::Client, Negotiated::default(), options).unwrap();
    let (sender, receiver) = ws.into_driven().split();
    tokio::time::sleep(Duration::from_millis(50)).await;
    (sender, receiver, drain)
}

/// A message that a send wrote itself is still reported to the tap at once, with nothing
/// coming in that would wake the connection task.
#[tokio::test]
async fn a_sent_message_is_reported_to_the_tap_with_nothing_coming_in() {
    use ws_tokio::tap::{self, TapKind};
    use ws_tokio::ws_proto::{Direction, OpCode};

    let (tap, mut reports) = tap::channel(64);
    let (sender, _receiver, _drain) =
        driven_client_on_a_silent_pipe(ws_tokio::RawOptions::new().with_tap(tap)).await;
    sender.send_text("reported").await.unwrap();
    let reported = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(report) = reports.recv().await {
            if let TapKind::Frame(frame) = report.kind
                && frame.direction == Direction::Outgoing
                && frame.header.opcode == OpCode::Text
            {
                return frame.payload;
            }
        }
        panic!("the tap ended before it reported the message");
    })
    .await
    .expect("the sent message was not reported");
    assert_eq!(&reported[..], b"reported");
}

/// A close frame that a send wrote itself starts the close timer: a peer that never answers
/// it does not keep the connection open.
#[tokio::test]
async fn a_close_that_a_send_wrote_times_out_when_the_peer_never_answers() {
    let options = ws_tokio::RawOptions::new().with_close_timeout(Duration::from_millis(200));
    let (sender, mut receiver, _drain) = driven_client_on_a_silent_pipe(options).await;
    sender
        .close(Some(ws_tokio::ws_proto::CloseCode::NORMAL), "bye")
        .await
        .unwrap();
    let end = tokio::time::timeout(Duration::from_secs(30), receiver.recv())
        .await
        .expect("the close timer did not end the connection");
    match end {
        Some(Err(e)) => assert!(e.is_timeout(), "expected the close timeout, got {e}"),
        other => panic!("expected the close timeout, got {other:?}"),
    }
}

// --- a receiver that reads the socket itself -------------------------------------------------
//
// Without a tap, a `recv` that finds nothing delivered reads the socket itself; whenever no
// `recv` waits, the connection task reads. These tests drive a server-side connection over an
// in-memory pipe whose other end writes masked client frames by hand and reads the server's
// frames back, and each checks one hand-over between the two readers.

/// A server-side connection on one end of an in-memory pipe, with the task-driven handles;
/// the other end is the client's.
fn driven_server_on_a_pipe() -> (Sender, Receiver, tokio::io::DuplexStream) {
    use ws_tokio::ws_proto::{Negotiated, Role};

    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    let ws = ws_tokio::WsStream::from_raw(
        ours,
        Role::Server,
        Negotiated::default(),
        ws_tokio::RawOptions::new(),
    )
    .unwrap();
    let (sender, receiver) = ws.into_driven().split();
    (sender, receiver, theirs)
}

/// A final client frame: `opcode`, masked, with a payload shorter than 126 bytes.
fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
    assert!(payload.len() < 126);
    let mut frame = vec![0x80 | opcode, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&MASK);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    frame
}

/// The next frame the server wrote: its first byte (FIN and opcode) and its payload (the
/// server's frames are not masked; these are short).
async fn server_frame(theirs: &mut tokio::io::DuplexStream) -> (u8, Vec<u8>) {
    use tokio::io::AsyncReadExt as _;

    tokio::time::timeout(support::LIMIT, async {
        let mut head = [0; 2];
        theirs.read_exact(&mut head).await.unwrap();
        assert!(
            head[1] < 126,
            "a short unmasked frame expected, got {head:?}"
        );
        let mut payload = vec![0; head[1] as usize];
        theirs.read_exact(&mut payload).await.unwrap();
        (head[0], payload)
    })
    .await
    .expect("the server wrote no frame")
}

async fn write(theirs: &mut tokio::io::DuplexStream, bytes: &[u8]) {
    use tokio::io::AsyncWriteExt as _;
    theirs.write_all(bytes).await.unwrap();
}

/// A `recv` in a task of its own, started before anything arrives (so that it waits reading
/// the socket); gives the receiver back with what it got.
fn recv_in_a_task(
    mut receiver: Receiver,
) -> tokio::task::JoinHandle<(Option<Result<Message, ws_tokio::Error>>, Receiver)> {
    tokio::spawn(async move { (receiver.recv().await, receiver) })
}

/// Writes `before` and a ping with `payload` in one write, and checks that the server answers
/// the ping.
async fn assert_ping_answered(theirs: &mut tokio::io::DuplexStream, before: &[u8], payload: &[u8]) {
    let mut bytes = before.to_vec();
    bytes.extend(client_frame(PING, payload));
    write(theirs, &bytes).await;
    assert_eq!(server_frame(theirs).await, (0x80 | PONG, payload.to_vec()));
}

const TEXT: u8 = 0x1;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;

/// A ping right behind a message, in the same read: the `recv` that read them returns the
/// message, and the ping is answered though nobody calls `recv` again.
#[tokio::test]
async fn a_ping_read_with_a_message_is_answered_without_another_recv() {
    let (_sender, receiver, mut theirs) = driven_server_on_a_pipe();
    let first = recv_in_a_task(receiver);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let text = client_frame(TEXT, b"one");
    assert_ping_answered(&mut theirs, &text, b"are you there").await;
    let (got, _receiver) = first.await.unwrap();
    assert!(
        matches!(got, Some(Ok(Message::Text(ref t))) if t.as_str() == "one"),
        "{got:?}"
    );
}

/// A ping that comes after `recv` returned, with none waiting: the connection task reads it
/// and answers.
#[tokio::test]
async fn a_ping_after_recv_returned_is_answered_by_the_connection_task() {
    let (_sender, receiver, mut theirs) = driven_server_on_a_pipe();
    let first = recv_in_a_task(receiver);
    tokio::time::sleep(Duration::from_millis(50)).await;
    write(&mut theirs, &client_frame(TEXT, b"one")).await;
    let (got, _receiver) = first.await.unwrap();
    assert!(matches!(got, Some(Ok(Message::Text(_)))), "{got:?}");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_ping_answered(&mut theirs, &[], b"later").await;
}

/// A `recv` cancelled while it waited for the socket hands reading back: a ping that comes
/// afterwards is answered.
#[tokio::test]
async fn a_recv_cancelled_while_it_waits_hands_reading_back() {
    let (_sender, mut receiver, mut theirs) = driven_server_on_a_pipe();
    tokio::select! {
        got = receiver.recv() => panic!("nothing was sent, got {got:?}"),
        () = tokio::time::sleep(Duration::from_millis(50)) => {}
    }
    assert_ping_answered(&mut theirs, &[], b"anyone").await;
}

/// Messages the connection task read and delivered while nobody called `recv` come before
/// those a waiting `recv` reads itself afterwards.
#[tokio::test]
async fn messages_the_task_delivered_come_before_those_recv_reads_itself() {
    let (_sender, mut receiver, mut theirs) = driven_server_on_a_pipe();
    for i in 0..3 {
        write(&mut theirs, &client_frame(TEXT, format!("m{i}").as_bytes())).await;
    }
    // The connection task reads and delivers them meanwhile.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let later = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        for i in 3..6 {
            write(&mut theirs, &client_frame(TEXT, format!("m{i}").as_bytes())).await;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        theirs
    });
    for i in 0..6 {
        match support::next_message(&mut receiver).await {
            Message::Text(text) => assert_eq!(text.as_str(), format!("m{i}")),
            other => panic!("message {i}: {other:?}"),
        }
    }
    later.await.unwrap();
}

/// A frame with a reserved opcode, read by a waiting `recv`: the connection closes with 1002
/// (protocol error) and `recv` returns the error, then the end.
#[tokio::test]
async fn a_bad_frame_that_recv_reads_itself_closes_with_1002() {
    let (_sender, receiver, mut theirs) = driven_server_on_a_pipe();
    let first = recv_in_a_task(receiver);
    tokio::time::sleep(Duration::from_millis(50)).await;
    write(&mut theirs, &client_frame(0x3, b"")).await;
    let (close, payload) = server_frame(&mut theirs).await;
    assert_eq!(close, 0x88, "a close frame expected");
    assert_eq!(payload[..2], 1002u16.to_be_bytes(), "{payload:?}");
    let (got, mut receiver) = tokio::time::timeout(support::LIMIT, first)
        .await
        .unwrap()
        .unwrap();
    match got {
        Some(Err(e)) => assert!(e.is_protocol(), "expected a protocol error, got {e}"),
        other => panic!("expected the protocol error, got {other:?}"),
    }
    drop(theirs);
    let end = tokio::time::timeout(support::LIMIT, receiver.recv()).await;
    assert!(matches!(end, Ok(None)), "{end:?}");
}
