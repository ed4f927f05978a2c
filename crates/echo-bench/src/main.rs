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

mod client;
mod memory;
mod report;
mod servers;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use client::{LoadResult, LoadSpec};
use report::{Run, Shape};
use servers::Impl;

const USAGE: &str = "\
echo-bench: loopback echo benchmark of ws-tokio, tokio-tungstenite and fastwebsockets

USAGE:
    echo-bench [OPTIONS]                       run the matrix (the default)
    echo-bench memory [--servers LIST] [--idle N] [--big MIB]
                                               resident memory per idle connection and
                                               the peak while echoing one large message
    echo-bench server --impl NAME [--addr A] [--max-message BYTES]
                                               one echo server (prints LISTENING <addr>)
    echo-bench client --addr A [...]           one load run (prints a JSON line)

OPTIONS (matrix):
    --servers LIST   comma-separated: ws-tokio,ws-tokio-driven,tokio-tungstenite,
                     fastwebsockets (default: these four), and wsi (`wsi listen --echo -q`,
                     the wsi binary beside echo-bench or $ECHO_BENCH_WSI)
    --shapes LIST    comma-separated CONNSxSIZE, e.g. 128x16,1x1MiB
                     (default 1,16,128 connections x 16B,1KiB,64KiB,1MiB)
    --reps N         repetitions (default 3; medians are reported)
    --secs S         measured window per run, at most 20 (default 2)
    --warmup S       unmeasured warm-up per run (default 0.3)
    --max-msgs N     message bound per run (default 5000000, and at most 8 GiB of payload)
    --quick          1 repetition, 0.5 s windows, 0.1 s warm-up
    --no-pin         do not pin with taskset
    --out FILE       raw results as JSON (default target/echo-bench/results.json;
                     the markdown report goes beside it, same name with .md)
    -h, --help       this text

OPTIONS (client):
    --addr A --server-pid P --conns N --size BYTES --secs S --warmup S --max-msgs N
";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("server") => server_main(&args[1..]),
        Some("client") => client_main(&args[1..]),
        Some("memory") => memory_main(&args[1..]),
        _ => matrix_main(&args),
    };
    if let Err(e) = result {
        eprintln!("echo-bench: {e}");
        std::process::exit(1);
    }
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn value<'a>(args: &mut impl Iterator<Item = &'a String>, flag: &str) -> Result<&'a str> {
    args.next()
        .map(String::as_str)
        .ok_or_else(|| format!("{flag} needs a value").into())
}

fn server_main(args: &[String]) -> Result<()> {
    let mut which = None;
    let mut addr = "127.0.0.1:0";
    let mut max_message = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--impl" => which = Some(value(&mut args, arg)?.parse::<Impl>()?),
            "--addr" => addr = value(&mut args, arg)?,
            "--max-message" => max_message = Some(value(&mut args, arg)?.parse()?),
            other => return Err(format!("server: unknown argument {other:?}").into()),
        }
    }
    let which = which.ok_or("server: --impl is required")?;
    servers::run(which, addr, max_message)
}

fn memory_main(args: &[String]) -> Result<()> {
    let mut servers = Impl::ALL.to_vec();
    let mut spec = memory::MemorySpec {
        idle: 200,
        big: 64 << 20,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--servers" => {
                servers = value(&mut args, arg)?
                    .split(',')
                    .map(str::parse)
                    .collect::<std::result::Result<_, _>>()?;
            }
            "--idle" => spec.idle = value(&mut args, arg)?.parse()?,
            "--big" => spec.big = value(&mut args, arg)?.parse::<usize>()? << 20,
            other => return Err(format!("memory: unknown argument {other:?}").into()),
        }
    }
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

fn client_main(args: &[String]) -> Result<()> {
    let mut spec = LoadSpec {
        addr: String::new(),
        server_pid: 0,
        conns: 1,
        size: 16,
        warmup: Duration::from_millis(300),
        duration: Duration::from_secs(2),
        max_msgs: 5_000_000,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let v = value(&mut args, arg)?;
        match arg.as_str() {
            "--addr" => spec.addr = v.to_owned(),
            "--server-pid" => spec.server_pid = v.parse()?,
            "--conns" => spec.conns = v.parse()?,
            "--size" => spec.size = v.parse()?,
            "--secs" => spec.duration = seconds(v)?,
            "--warmup" => spec.warmup = seconds(v)?,
            "--max-msgs" => spec.max_msgs = v.parse()?,
            other => return Err(format!("client: unknown argument {other:?}").into()),
        }
    }
    let result = client::run(&spec)?;
    println!("{}", serde_json::to_string(&result)?);
    Ok(())
}

fn seconds(v: &str) -> Result<Duration> {
    let s: f64 = v.parse()?;
    if !(0.0..=20.0).contains(&s) {
        return Err(format!("{s} s: a window is between 0 and 20 s").into());
    }
    Ok(Duration::from_secs_f64(s))
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

fn matrix_main(args: &[String]) -> Result<()> {
    let target = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target"));
    let mut m = Matrix {
        servers: Impl::ALL.to_vec(),
        shapes: Shape::default_matrix(),
        reps: 3,
        secs: 2.0,
        warmup: 0.3,
        max_msgs: 5_000_000,
        pin: true,
        out: target.join("echo-bench").join("results.json"),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(());
            }
            "--servers" => {
                m.servers = value(&mut args, arg)?
                    .split(',')
                    .map(str::parse)
                    .collect::<std::result::Result<_, _>>()?;
            }
            "--shapes" => {
                m.shapes = value(&mut args, arg)?
                    .split(',')
                    .map(str::parse)
                    .collect::<std::result::Result<_, _>>()?;
            }
            "--reps" => m.reps = value(&mut args, arg)?.parse()?,
            "--secs" => m.secs = seconds(value(&mut args, arg)?)?.as_secs_f64(),
            "--warmup" => m.warmup = seconds(value(&mut args, arg)?)?.as_secs_f64(),
            "--max-msgs" => m.max_msgs = value(&mut args, arg)?.parse()?,
            "--quick" => {
                m.reps = 1;
                m.secs = 0.5;
                m.warmup = 0.1;
            }
            "--no-pin" => m.pin = false,
            "--out" => m.out = PathBuf::from(value(&mut args, arg)?),
            other => return Err(format!("unknown argument {other:?} (try --help)").into()),
        }
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
