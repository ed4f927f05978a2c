//! Runs every case of an Autobahn Testsuite fuzzingserver against the ws-tokio client.
//!
//! ```sh
//! cargo run --release -p ws-tokio --example autobahn_client -- --url ws://127.0.0.1:9001 --agent ws-tokio
//! ```
//!
//! It asks `/getCaseCount`, runs `/runCase?case=N&agent=A` for each case (echoing every
//! message back), then `/updateReports?agent=A` so the suite writes its report. Every
//! connection offers permessage-deflate (`permessage-deflate; client_max_window_bits`) and
//! uses it when the server accepts; `--no-deflate` turns the offer off.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ws_tokio::{ConnectOptions, Message, connect};

/// Whether connections offer permessage-deflate (on unless `--no-deflate`).
static DEFLATE: AtomicBool = AtomicBool::new(true);

/// Runs all cases against the fuzzingserver at `base` (e.g. `ws://127.0.0.1:9001`).
pub async fn run_all(base: &str, agent: &str) -> Result<u32, ws_tokio::Error> {
    let count = case_count(base).await?;
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={agent}");
        if let Err(e) = run_case(&url).await {
            // Failing a case is the fuzzer's business; the report judges it.
            eprintln!("case {case}: {e}");
        }
    }
    update_reports(base, agent).await?;
    Ok(count)
}

async fn case_count(base: &str) -> Result<u32, ws_tokio::Error> {
    let ws = connect(options(&format!("{base}/getCaseCount"))).await?;
    let (_sender, mut receiver) = ws.into_driven().split();
    let mut count = None;
    while let Some(message) = receiver.recv().await {
        if let Message::Text(text) = message? {
            count = text.trim().parse().ok();
        }
    }
    count
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "no case count").into())
}

async fn run_case(url: &str) -> Result<(), ws_tokio::Error> {
    let ws = connect(options(url)).await?;
    let (sender, mut receiver) = ws.into_driven().split();
    while let Some(message) = receiver.recv().await {
        match message? {
            Message::Text(text) => {
                let _ = sender.send_text(text.as_str()).await;
            }
            Message::Binary(data) => {
                let _ = sender.send_binary(data).await;
            }
            _ => {}
        }
    }
    Ok(())
}

async fn update_reports(base: &str, agent: &str) -> Result<(), ws_tokio::Error> {
    let ws = connect(options(&format!("{base}/updateReports?agent={agent}"))).await?;
    let (_sender, mut receiver) = ws.into_driven().split();
    while let Some(message) = receiver.recv().await {
        message?;
    }
    Ok(())
}

fn options(url: &str) -> ConnectOptions {
    let mut options = ConnectOptions::new(url);
    options.timeouts.close = Duration::from_secs(5);
    if DEFLATE.load(Ordering::Relaxed) {
        options.config.deflate = Some(ws_tokio::ws_proto::DeflateConfig::default());
    }
    options
}

/// Runs every case of an Autobahn Testsuite fuzzingserver against the ws-tokio client.
#[derive(Debug, clap::Parser)]
#[command(name = "autobahn_client")]
struct Cli {
    /// The fuzzingserver's URL
    #[arg(long, default_value = "ws://127.0.0.1:9001")]
    url: String,
    /// The agent name the report lists the cases under
    #[arg(long, default_value = "ws-tokio")]
    agent: String,
    /// Offer no permessage-deflate
    #[arg(long)]
    no_deflate: bool,
}

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Cli {
        url,
        agent,
        no_deflate,
    } = <Cli as clap::Parser>::parse();
    if no_deflate {
        DEFLATE.store(false, Ordering::Relaxed);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let count = runtime.block_on(run_all(url.trim_end_matches('/'), &agent))?;
    eprintln!("autobahn_client: ran {count} cases as agent {agent}");
    Ok(())
}
