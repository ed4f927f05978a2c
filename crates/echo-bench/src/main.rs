//! Loopback echo benchmark: echo servers on ws-tokio, tokio-tungstenite 0.30 and fastwebsockets
//! 0.10, measured in turn by one load client.
//!
//! ```sh
//! cargo run --release -p echo-bench            # the whole matrix, 3 repetitions
//! cargo run --release -p echo-bench -- --help
//! ```
//!
//! The default command runs the matrix: for every repetition, every shape (connections ×
//! message size), every server, it starts `echo-bench server` and `echo-bench client` as two
//! processes pinned to core 0 with `taskset -c 0` (on a 2-core machine a cross-core wake-up
//! costs more than the work), reads the server's CPU time from `/proc/<pid>/stat` over the
//! measured window, and kills the server. It prints medians and ratios, and writes the raw
//! numbers to `target/echo-bench/results.json` and a report to `target/echo-bench/results.md`.

mod cli;
mod client;
mod memory;
mod report;
mod servers;
mod tcp_forward;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use client::{LoadResult, LoadSpec};
use report::{Run, Shape};
use servers::Impl;

use cli::{Cli, ClientArgs, MatrixArgs, MemoryArgs, ServerArgs, Sub};

fn main() {
    let cli = <Cli as clap::Parser>::parse();
    let result = match cli.command {
        Some(Sub::Server(args)) => server_main(args),
        Some(Sub::Client(args)) => client_main(args),
        Some(Sub::Memory(args)) => memory_main(args),
        Some(Sub::TcpForward(args)) => tcp_forward::run(&args.addr, &args.to),
        None => matrix_main(cli.matrix),
    };
    if let Err(e) = result {
        eprintln!("echo-bench: {e}");
        std::process::exit(1);
    }
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn server_main(args: ServerArgs) -> Result<()> {
    servers::run(args.implementation, &args.addr, args.max_message)
}

fn memory_main(args: MemoryArgs) -> Result<()> {
    let servers = args.servers.unwrap_or_else(|| Impl::ALL.to_vec());
    let spec = memory::MemorySpec {
        idle: args.idle,
        big: args.big << 20,
    };
    let results = memory::run(&std::env::current_exe()?, &servers, &spec)?;
    let table = memory::markdown(&results, &spec);
    println!("{table}");
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../target/echo-bench"
    ));
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("memory.md"), &table)?;
    std::fs::write(
        dir.join("memory.json"),
        serde_json::to_string_pretty(&results)?,
    )?;
    Ok(())
}

fn client_main(args: ClientArgs) -> Result<()> {
    let spec = LoadSpec {
        addr: args.addr,
        server_pid: args.server_pid,
        conns: args.conns,
        size: args.size,
        warmup: args.warmup,
        duration: args.secs,
        max_msgs: args.max_msgs,
    };
    let result = client::run(&spec)?;
    println!("{}", serde_json::to_string(&result)?);
    Ok(())
}

struct Matrix {
    servers: Vec<Impl>,
    shapes: Vec<Shape>,
    reps: usize,
    secs: f64,
    warmup: f64,
    max_msgs: u64,
    pin: bool,
    out: PathBuf,
}

fn matrix_main(args: MatrixArgs) -> Result<()> {
    let target = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target"));
    let mut m = Matrix {
        servers: args.servers.unwrap_or_else(|| Impl::ALL.to_vec()),
        shapes: args.shapes.unwrap_or_else(Shape::default_matrix),
        reps: args.reps,
        secs: args.secs.as_secs_f64(),
        warmup: args.warmup.as_secs_f64(),
        max_msgs: args.max_msgs,
        pin: !args.no_pin,
        out: args
            .out
            .unwrap_or_else(|| target.join("echo-bench").join("results.json")),
    };
    if args.quick {
        m.reps = 1;
        m.secs = 0.5;
        m.warmup = 0.1;
    }
    if m.pin && Command::new("taskset").arg("-V").output().is_err() {
        eprintln!("echo-bench: taskset not found; running unpinned");
        m.pin = false;
    }
    let exe = std::env::current_exe()?;
    let mut runs = Vec::new();
    let total = m.reps * m.shapes.len() * m.servers.len();
    for rep in 1..=m.reps {
        for shape in &m.shapes {
            for &server in &m.servers {
                eprint!(
                    "[{}/{total}] rep {rep} {:>3} conns x {:>8} B  {:<18} ",
                    runs.len() + 1,
                    shape.conns,
                    shape.size,
                    server.name()
                );
                let result = measure(&exe, &m, server, *shape);
                match &result {
                    Ok(r) => eprintln!(
                        "{:>10.0} msg/s  p50 {:>8.1} us  p99 {:>8.1} us",
                        r.msgs as f64 / r.secs,
                        r.p50_us,
                        r.p99_us
                    ),
                    Err(e) => eprintln!("FAILED: {e}"),
                }
                runs.push(Run {
                    rep,
                    server: server.name().to_owned(),
                    conns: shape.conns,
                    size: shape.size,
                    result: result.map_err(|e| e.to_string()),
                });
            }
        }
    }
    let report = report::Report::new(&m.servers, &m.shapes, runs, m.secs, m.warmup);
    println!("{}", report.table());
    if let Some(dir) = m.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&m.out, serde_json::to_string_pretty(&report.raw())?)?;
    let md = m.out.with_extension("md");
    std::fs::write(&md, report.markdown())?;
    eprintln!("raw results: {}\nreport: {}", m.out.display(), md.display());
    Ok(())
}

/// One run: start the server, run the client against it, stop the server.
fn measure(exe: &std::path::Path, m: &Matrix, server: Impl, shape: Shape) -> Result<LoadResult> {
    let mut child = match server {
        Impl::Wsi => pinned(&servers::wsi_binary(exe), m.pin)
            .args(["listen", "127.0.0.1:0", "--echo", "-q"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?,
        _ => pinned(exe, m.pin)
            .args(["server", "--impl", server.name(), "--addr", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .spawn()?,
    };
    let pid = child.id();
    let result = (|| {
        let addr = match server {
            Impl::Wsi => servers::wsi_listening_addr(&mut child)?,
            _ => servers::listening_addr(&mut child)?,
        };
        let max_msgs = m
            .max_msgs
            .min((8u64 << 30) / shape.size.max(1) as u64)
            .max(1);
        let output = pinned(exe, m.pin)
            .args(["client", "--addr", &addr, "--server-pid", &pid.to_string()])
            .args(["--conns", &shape.conns.to_string()])
            .args(["--size", &shape.size.to_string()])
            .args([
                "--secs",
                &m.secs.to_string(),
                "--warmup",
                &m.warmup.to_string(),
            ])
            .args(["--max-msgs", &max_msgs.to_string()])
            .stderr(Stdio::inherit())
            .output()?;
        if !output.status.success() {
            return Err(format!("client exited with {}", output.status).into());
        }
        let result: LoadResult = serde_json::from_slice(&output.stdout)?;
        Ok(result)
    })();
    // Our own child: stop it by its handle.
    let _ = child.kill();
    let _ = child.wait();
    result
}

fn pinned(exe: &std::path::Path, pin: bool) -> Command {
    if pin {
        let mut command = Command::new("taskset");
        command.args(["-c", "0"]).arg(exe);
        command
    } else {
        Command::new(exe)
    }
}
