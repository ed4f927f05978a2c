//! `echo-bench tcp-forward`: accepts TCP connections and copies bytes both ways to another
//! address with `tokio::io::copy_bidirectional`, on the same multi-thread runtime as `wsi`.
//! No WebSocket parsing, no masking, no logging: what it costs is what any relay in user
//! space costs on this machine (one read and one write a message each way, and the wake-ups
//! between them), so it is the floor the relay benchmark compares against.

use tokio::net::{TcpListener, TcpStream};

/// Forwards every connection accepted on `addr` to `to` until killed; prints
/// `LISTENING <addr>` once bound.
pub fn run(addr: &str, to: &str) -> crate::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = TcpListener::bind(addr).await?;
        println!("LISTENING {}", listener.local_addr()?);
        loop {
            let (mut client, _) = listener.accept().await?;
            let to = to.to_owned();
            tokio::spawn(async move {
                let _ = client.set_nodelay(true);
                let Ok(mut server) = TcpStream::connect(&to).await else {
                    return;
                };
                let _ = server.set_nodelay(true);
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            });
        }
    })
}
