//! Connects to a URL and prints the handshake and every frame of the live connection,
//! both directions, until the connection ends or Ctrl-C. Lines typed on stdin are sent as
//! text messages.
//!
//! ```sh
//! cargo run -p ws-tokio --example client -- ws://127.0.0.1:9002/
//! ```

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use ws_tokio::tap::{TapEvent, TapKind};
use ws_tokio::ws_proto::{CloseCode, Direction};
use ws_tokio::{ConnectOptions, TlsOptions, connect, tap};

/// Prints the handshake and every frame; stdin lines are sent as text.
#[derive(Debug, clap::Parser)]
#[command(name = "client")]
struct Cli {
    /// The ws:// or wss:// URL
    url: String,
    /// Accept any server certificate (testing only)
    #[arg(short = 'k', long)]
    insecure: bool,
    /// Offer this subprotocol (repeatable)
    #[arg(long = "protocol", value_name = "NAME")]
    protocols: Vec<String>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Cli {
        url,
        insecure,
        protocols,
    } = <Cli as clap::Parser>::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let (tap, mut reports) = tap::channel(1024);
        let printer = tokio::spawn(async move {
            while let Some(event) = reports.recv().await {
                print_event(&event);
            }
        });
        let mut options = ConnectOptions::new(url);
        options.tap = Some(tap);
        options.request.protocols = protocols;
        options.tls = TlsOptions::default().with_accept_invalid_certificates(insecure);
        let result = connect(options).await;
        let ws = match result {
            // stdin and the socket are read at once: the task-driven handles.
            Ok(ws) => ws,
            Err(e) => {
                drop(printer.await);
                return Err(Box::<dyn std::error::Error>::from(e.to_string()));
            }
        };
        let (sender, mut receiver) = ws.into_driven().split();
        let stdin_sender = sender.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(tokio::io::stdin()).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if stdin_sender.send_text(line).await.is_err() {
                    break;
                }
            }
        });
        loop {
            tokio::select! {
                message = receiver.recv() => if message.is_none() { break },
                _ = tokio::signal::ctrl_c() => {
                    let _ = sender.close(Some(CloseCode::NORMAL), "bye").await;
                    let _ = tokio::time::timeout(Duration::from_secs(5), async {
                        while receiver.recv().await.is_some() {}
                    }).await;
                    break;
                }
            }
        }
        drop(sender);
        drop(receiver);
        let _ = tokio::time::timeout(Duration::from_secs(1), printer).await;
        Ok(())
    })
}

fn print_event(event: &TapEvent) {
    let t = event.elapsed.as_secs_f64() * 1000.0;
    match &event.kind {
        TapKind::State(state) => println!("{t:10.3} ms  readyState {state}"),
        TapKind::TcpConnected { local, peer, proxy } => {
            let via = proxy
                .as_deref()
                .map(|p| format!(" via proxy {p}"))
                .unwrap_or_default();
            println!("{t:10.3} ms  TCP {local} -> {peer}{via}");
        }
        TapKind::TlsEstablished(info) => println!(
            "{t:10.3} ms  TLS {} {} ALPN {:?}",
            info.version, info.cipher_suite, info.alpn
        ),
        TapKind::RequestSent { raw, .. } => {
            println!(
                "{t:10.3} ms  >> request\n{}",
                String::from_utf8_lossy(raw).trim_end()
            )
        }
        TapKind::ResponseReceived { raw, .. } => {
            println!(
                "{t:10.3} ms  << response\n{}",
                String::from_utf8_lossy(raw).trim_end()
            )
        }
        TapKind::HandshakeFailed {
            reason,
            response,
            body,
        } => {
            println!("{t:10.3} ms  handshake failed: {reason}");
            if let Some(response) = response {
                println!("  status {}", response.status());
                for (name, value) in response.headers() {
                    println!("  {name}: {}", String::from_utf8_lossy(value.as_bytes()));
                }
            }
            if let Some(body) = body {
                println!("  body: {}", String::from_utf8_lossy(body));
            }
        }
        TapKind::Frame(frame) => {
            let arrow = match frame.direction {
                Direction::Incoming => "<<",
                Direction::Outgoing => ">>",
            };
            let h = &frame.header;
            let rsv: String = [h.rsv1, h.rsv2, h.rsv3]
                .iter()
                .map(|&b| if b { '1' } else { '0' })
                .collect();
            let mask = h
                .mask
                .map(|k| format!(" mask {:02x}{:02x}{:02x}{:02x}", k[0], k[1], k[2], k[3]))
                .unwrap_or_default();
            let preview: String =
                String::from_utf8_lossy(&frame.payload[..frame.payload.len().min(80)])
                    .chars()
                    .map(|c| if c.is_control() { '.' } else { c })
                    .collect();
            println!(
                "{t:10.3} ms  {arrow} {:<6} fin={} rsv={rsv}{mask} len={}  {preview}",
                h.opcode.name(),
                u8::from(h.fin),
                h.payload_len
            );
        }
        TapKind::Closed {
            code,
            reason,
            initiator,
            clean,
        } => println!("{t:10.3} ms  closed {code} {reason:?} by {initiator:?}, clean: {clean}"),
        TapKind::Error(e) => println!("{t:10.3} ms  error: {e}"),
        other => println!("{t:10.3} ms  {other:?}"),
    }
}
