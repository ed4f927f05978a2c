//! A local server that floods each client with small text messages, for measuring how fast
//! `wsi connect` keeps up (BENCHMARKS.md):
//!
//! ```text
//! cargo run --release -p wsi --example flood_server -- 1000000 &
//! wsi connect ws://127.0.0.1:PORT/ --count 1000000 --jsonl /dev/null -q
//! ```
//!
//! It prints its URL on stdout, then serves until killed. Each client gets N distinct
//! ~25-byte JSON texts written 64 KiB at a time (the core's `FloodServer`, on threads of its
//! own).

use ws_inspector_core::bench_support::FloodServer;

/// Floods each client with small text messages; prints its URL, then serves until killed.
#[derive(Debug, clap::Parser)]
#[command(name = "flood_server")]
struct Cli {
    /// Messages each client gets
    #[arg(value_name = "MESSAGES", default_value_t = 1_000_000)]
    messages: u64,
}

fn main() {
    let messages = <Cli as clap::Parser>::parse().messages;
    let server = match FloodServer::start(messages) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("flood_server: cannot listen: {e}");
            std::process::exit(1);
        }
    };
    println!("{}", server.url());
    loop {
        std::thread::park();
    }
}
