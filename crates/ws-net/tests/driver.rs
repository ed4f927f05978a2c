//! The connection task under load: flow control in both directions at once.

use std::time::Duration;

use ws_net::{ConnectOptions, Decision, Message, Receiver, Sender, Server, ServerOptions, connect};

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
        let ws = server
            .accept()
            .await
            .unwrap()
            .upgrade(|_| Decision::accept())
            .await
            .unwrap();
        let (sender, receiver) = ws.split();
        write_then_read(sender, receiver, COUNT, SIZE).await;
    });
    let (sender, receiver) = connect(ConnectOptions::new(format!("ws://{addr}/")))
        .await
        .unwrap()
        .split();
    let client_side = write_then_read(sender, receiver, COUNT, SIZE);
    tokio::time::timeout(Duration::from_secs(30), async {
        client_side.await;
        server_side.await.unwrap();
    })
    .await
    .expect("both peers wrote before reading and stalled each other");
}
