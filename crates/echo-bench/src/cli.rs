//! The command line (clap derive): the matrix by default, and the `server`, `client` and
//! `memory` subcommands the matrix runs as processes of their own.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::report::Shape;
use crate::servers::Impl;

/// Loopback echo benchmark of ws-tokio, tokio-tungstenite and fastwebsockets (and `wsi
/// listen`): each server a process of its own, pinned with the load client to one core.
#[derive(Debug, Parser)]
#[command(name = "echo-bench", args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// A single server or load run, or the memory benchmark; without one, the matrix.
    #[command(subcommand)]
    pub command: Option<Sub>,
    /// The matrix's options.
    #[command(flatten)]
    pub matrix: MatrixArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Sub {
    /// One echo server (prints `LISTENING <addr>`).
    Server(ServerArgs),
    /// One load run (prints a JSON line).
    Client(ClientArgs),
    /// Resident memory per idle connection, and the peak while echoing one large message.
    Memory(MemoryArgs),
    /// A TCP forwarder that copies bytes both ways and does nothing else: the floor of any
    /// relay on this machine (relay-bench.py's `tcp-floor`).
    TcpForward(TcpForwardArgs),
}

/// `echo-bench tcp-forward`.
#[derive(Debug, Args)]
pub struct TcpForwardArgs {
    /// Where to accept connections.
    #[arg(long)]
    pub addr: String,
    /// Where to forward each one, `host:port`.
    #[arg(long)]
    pub to: String,
}

/// The matrix: every repetition × shape × server.
#[derive(Debug, Args)]
pub struct MatrixArgs {
    /// Comma-separated: ws-tokio, ws-tokio-driven, tokio-tungstenite, fastwebsockets
    /// (default: these four), and wsi (`wsi listen --echo -q`, the wsi binary beside
    /// echo-bench or $ECHO_BENCH_WSI).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub servers: Option<Vec<Impl>>,
    /// Comma-separated CONNSxSIZE, e.g. 128x16,1x1MiB (default 1,16,128 connections ×
    /// 16B,1KiB,64KiB,1MiB).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub shapes: Option<Vec<Shape>>,
    /// Repetitions; medians are reported.
    #[arg(long, default_value_t = 3)]
    pub reps: usize,
    /// Measured window per run, in seconds (at most 20).
    #[arg(long, value_parser = window, default_value = "2")]
    pub secs: Duration,
    /// Unmeasured warm-up per run, in seconds.
    #[arg(long, value_parser = window, default_value = "0.3")]
    pub warmup: Duration,
    /// Message bound per run (and at most 8 GiB of payload).
    #[arg(long, default_value_t = 5_000_000)]
    pub max_msgs: u64,
    /// 1 repetition, 0.5 s windows, 0.1 s warm-up.
    #[arg(long)]
    pub quick: bool,
    /// Do not pin with taskset.
    #[arg(long)]
    pub no_pin: bool,
    /// Raw results as JSON (default target/echo-bench/results.json; the markdown report
    /// goes beside it, same name with .md).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `echo-bench server`.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Which server.
    #[arg(long = "impl", value_name = "NAME")]
    pub implementation: Impl,
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub addr: String,
    /// Raise every frame and message size limit to this many bytes.
    #[arg(long, value_name = "BYTES")]
    pub max_message: Option<usize>,
}

/// `echo-bench client`.
#[derive(Debug, Args)]
pub struct ClientArgs {
    /// The server's address.
    #[arg(long)]
    pub addr: String,
    /// The server's process id, whose CPU time is read over the window (0: none).
    #[arg(long, default_value_t = 0)]
    pub server_pid: u32,
    /// Connections.
    #[arg(long, default_value_t = 1)]
    pub conns: usize,
    /// Message size in bytes.
    #[arg(long, default_value_t = 16)]
    pub size: usize,
    /// Measured window, in seconds.
    #[arg(long, value_parser = window, default_value = "2")]
    pub secs: Duration,
    /// Warm-up, in seconds.
    #[arg(long, value_parser = window, default_value = "0.3")]
    pub warmup: Duration,
    /// Message bound.
    #[arg(long, default_value_t = 5_000_000)]
    pub max_msgs: u64,
}

/// `echo-bench memory`.
#[derive(Debug, Args)]
pub struct MemoryArgs {
    /// Comma-separated servers (default: ws-tokio, ws-tokio-driven, tokio-tungstenite,
    /// fastwebsockets).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub servers: Option<Vec<Impl>>,
    /// Idle connections to measure.
    #[arg(long, default_value_t = 200)]
    pub idle: usize,
    /// The large message, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    pub big: usize,
}

/// A window in seconds, between 0 and 20.
fn window(text: &str) -> Result<Duration, String> {
    let s: f64 = text.parse().map_err(|e| format!("{text:?}: {e}"))?;
    if !(0.0..=20.0).contains(&s) {
        return Err(format!("{s} s: a window is between 0 and 20 s"));
    }
    Ok(Duration::from_secs_f64(s))
}
