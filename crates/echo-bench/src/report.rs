//! Shapes, raw runs, medians, ratios, and their text and markdown forms.

use std::fmt::Write as _;
use std::str::FromStr;

use serde::Serialize;

use crate::client::LoadResult;
use crate::servers::Impl;

/// Connections × message size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Connections, each with one message in flight.
    pub conns: usize,
    /// Payload bytes per message.
    pub size: usize,
}

impl Shape {
    /// 1, 16 and 128 connections × 16 B, 1 KiB, 64 KiB and 1 MiB.
    pub fn default_matrix() -> Vec<Self> {
        let mut shapes = Vec::new();
        for conns in [1, 16, 128] {
            for size in [16, 1 << 10, 64 << 10, 1 << 20] {
                shapes.push(Self { conns, size });
            }
        }
        shapes
    }

    /// `128x1KiB`.
    pub fn label(self) -> String {
        format!("{}x{}", self.conns, size_label(self.size))
    }
}

fn size_label(size: usize) -> String {
    if size >= 1 << 20 && size.is_multiple_of(1 << 20) {
        format!("{}MiB", size >> 20)
    } else if size >= 1 << 10 && size.is_multiple_of(1 << 10) {
        format!("{}KiB", size >> 10)
    } else {
        format!("{size}B")
    }
}

impl FromStr for Shape {
    type Err = String;

    /// `CONNSxSIZE`, the size in bytes or with a `B`, `KiB`/`K`, `MiB`/`M` suffix.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("bad shape {s:?} (want CONNSxSIZE, e.g. 128x1KiB)");
        let (conns, size) = s.split_once(['x', 'X']).ok_or_else(bad)?;
        let conns = conns.trim().parse().map_err(|_| bad())?;
        let size = size.trim();
        let (digits, unit) = size
            .find(|c: char| !c.is_ascii_digit())
            .map_or((size, ""), |i| size.split_at(i));
        let n: usize = digits.parse().map_err(|_| bad())?;
        let size = match unit.to_ascii_lowercase().as_str() {
            "" | "b" => n,
            "k" | "kib" | "kb" => n << 10,
            "m" | "mib" | "mb" => n << 20,
            _ => return Err(bad()),
        };
        if conns == 0 {
            return Err(bad());
        }
        Ok(Self { conns, size })
    }
}

/// One measured run.
#[derive(Debug, Serialize)]
pub struct Run {
    /// Repetition, from 1.
    pub rep: usize,
    /// The server's library.
    pub server: String,
    /// Connections.
    pub conns: usize,
    /// Payload bytes.
    pub size: usize,
    /// What the client measured, or why the run failed.
    pub result: Result<LoadResult, String>,
}

/// Medians of one server on one shape.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Summary {
    /// Messages per second.
    pub msgs_per_s: f64,
    /// Payload megabytes (10^6) per second, one direction.
    pub mb_per_s: f64,
    /// Median round trip, µs (median over repetitions).
    pub p50_us: f64,
    /// 99th percentile round trip, µs (median over repetitions).
    pub p99_us: f64,
    /// Server user CPU per message, µs.
    pub user_us_per_msg: f64,
    /// Server system CPU per message, µs.
    pub sys_us_per_msg: f64,
    /// Client CPU per message, µs.
    pub client_us_per_msg: f64,
    /// Repetitions that succeeded.
    pub runs: usize,
}

/// Everything measured in one invocation.
#[derive(Debug)]
pub struct Report {
    servers: Vec<Impl>,
    shapes: Vec<Shape>,
    runs: Vec<Run>,
    secs: f64,
    warmup: f64,
}

#[derive(Serialize)]
struct Raw<'a> {
    window_secs: f64,
    warmup_secs: f64,
    runs: &'a [Run],
    medians: Vec<MedianRow>,
}

#[derive(Serialize)]
struct MedianRow {
    server: &'static str,
    conns: usize,
    size: usize,
    #[serde(flatten)]
    summary: Summary,
}

impl Report {
    /// Collects the runs.
    pub fn new(servers: &[Impl], shapes: &[Shape], runs: Vec<Run>, secs: f64, warmup: f64) -> Self {
        Self {
            servers: servers.to_vec(),
            shapes: shapes.to_vec(),
            runs,
            secs,
            warmup,
        }
    }

    fn summary(&self, server: Impl, shape: Shape) -> Option<Summary> {
        let results: Vec<&LoadResult> = self
            .runs
            .iter()
            .filter(|r| r.server == server.name() && r.conns == shape.conns && r.size == shape.size)
            .filter_map(|r| r.result.as_ref().ok())
            .filter(|r| r.msgs > 0)
            .collect();
        if results.is_empty() {
            return None;
        }
        let per_msg = |f: fn(&LoadResult) -> f64| {
            median(results.iter().map(|r| f(r) * 1e6 / r.msgs as f64).collect())
        };
        let rate = median(results.iter().map(|r| r.msgs as f64 / r.secs).collect());
        Some(Summary {
            msgs_per_s: rate,
            mb_per_s: rate * shape.size as f64 / 1e6,
            p50_us: median(results.iter().map(|r| r.p50_us).collect()),
            p99_us: median(results.iter().map(|r| r.p99_us).collect()),
            user_us_per_msg: per_msg(|r| r.server_user_s),
            sys_us_per_msg: per_msg(|r| r.server_sys_s),
            client_us_per_msg: per_msg(|r| r.client_cpu_s),
            runs: results.len(),
        })
    }

    fn ratio(&self, shape: Shape, ours: Impl, other: Impl) -> Option<f64> {
        let ours = self.summary(ours, shape)?;
        let theirs = self.summary(other, shape)?;
        Some(ours.msgs_per_s / theirs.msgs_per_s)
    }

    /// The medians and ratios as a plain-text table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<10} {:<18} {:>10} {:>9} {:>9} {:>9} {:>8} {:>8} {:>8}",
            "shape", "server", "msg/s", "MB/s", "p50 us", "p99 us", "usr us", "sys us", "cli us"
        );
        for &shape in &self.shapes {
            for &server in &self.servers {
                match self.summary(server, shape) {
                    Some(s) => {
                        let _ = writeln!(
                            out,
                            "{:<10} {:<18} {:>10.0} {:>9.1} {:>9.1} {:>9.1} {:>8.2} {:>8.2} {:>8.2}",
                            shape.label(),
                            server.name(),
                            s.msgs_per_s,
                            s.mb_per_s,
                            s.p50_us,
                            s.p99_us,
                            s.user_us_per_msg,
                            s.sys_us_per_msg,
                            s.client_us_per_msg
                        );
                    }
                    None => {
                        let _ =
                            writeln!(out, "{:<10} {:<18} (no data)", shape.label(), server.name());
                    }
                }
            }
        }
        let _ = writeln!(out, "\nws-tokio msg/s ratios");
        let _ = writeln!(
            out,
            "{:<10} {:>16} {:>20} {:>24}",
            "shape", "/ fastwebsockets", "/ tokio-tungstenite", "driven / fastwebsockets"
        );
        for &shape in &self.shapes {
            let _ = writeln!(
                out,
                "{:<10} {:>16} {:>20} {:>24}",
                shape.label(),
                fmt_ratio(self.ratio(shape, Impl::WsNet, Impl::Fastwebsockets)),
                fmt_ratio(self.ratio(shape, Impl::WsNet, Impl::Tungstenite)),
                fmt_ratio(self.ratio(shape, Impl::WsNetDriven, Impl::Fastwebsockets)),
            );
        }
        if self.servers.contains(&Impl::Wsi) {
            let _ = writeln!(out, "\nwsi listen --echo msg/s / ws-tokio");
            for &shape in &self.shapes {
                let _ = writeln!(
                    out,
                    "{:<10} {:>16}",
                    shape.label(),
                    fmt_ratio(self.ratio(shape, Impl::Wsi, Impl::WsNet))
                );
            }
        }
        out
    }

    /// Medians, ratios and every raw run, as markdown.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Window {} s after a {} s warm-up per run; medians of {} repetition(s).\n",
            self.secs,
            self.warmup,
            self.runs.iter().map(|r| r.rep).max().unwrap_or(0)
        );
        let _ = writeln!(
            out,
            "| shape | server | msg/s | MB/s | p50 µs | p99 µs | server user µs/msg | server sys µs/msg | client µs/msg |"
        );
        let _ = writeln!(out, "|---|---|--:|--:|--:|--:|--:|--:|--:|");
        for &shape in &self.shapes {
            for &server in &self.servers {
                if let Some(s) = self.summary(server, shape) {
                    let _ = writeln!(
                        out,
                        "| {} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {:.2} | {:.2} | {:.2} |",
                        shape.label(),
                        server.name(),
                        s.msgs_per_s,
                        s.mb_per_s,
                        s.p50_us,
                        s.p99_us,
                        s.user_us_per_msg,
                        s.sys_us_per_msg,
                        s.client_us_per_msg
                    );
                }
            }
        }
        let _ = writeln!(
            out,
            "\n| shape | ws-tokio / fastwebsockets | ws-tokio / tokio-tungstenite | \
             ws-tokio-driven / fastwebsockets | ws-tokio-driven / tokio-tungstenite |"
        );
        let _ = writeln!(out, "|---|--:|--:|--:|--:|");
        for &shape in &self.shapes {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                shape.label(),
                fmt_ratio(self.ratio(shape, Impl::WsNet, Impl::Fastwebsockets)),
                fmt_ratio(self.ratio(shape, Impl::WsNet, Impl::Tungstenite)),
                fmt_ratio(self.ratio(shape, Impl::WsNetDriven, Impl::Fastwebsockets)),
                fmt_ratio(self.ratio(shape, Impl::WsNetDriven, Impl::Tungstenite)),
            );
        }
        let _ = writeln!(out, "\nRaw runs:\n");
        let _ = writeln!(
            out,
            "| rep | shape | server | msgs | secs | p50 µs | p99 µs | server user s | server sys s | client s |"
        );
        let _ = writeln!(out, "|--:|---|---|--:|--:|--:|--:|--:|--:|--:|");
        for run in &self.runs {
            let shape = Shape {
                conns: run.conns,
                size: run.size,
            };
            match &run.result {
                Ok(r) => {
                    let _ = writeln!(
                        out,
                        "| {} | {} | {} | {} | {:.3} | {:.1} | {:.1} | {:.2} | {:.2} | {:.2} |",
                        run.rep,
                        shape.label(),
                        run.server,
                        r.msgs,
                        r.secs,
                        r.p50_us,
                        r.p99_us,
                        r.server_user_s,
                        r.server_sys_s,
                        r.client_cpu_s
                    );
                }
                Err(e) => {
                    let _ = writeln!(
                        out,
                        "| {} | {} | {} | failed: {e} | | | | | | |",
                        run.rep,
                        shape.label(),
                        run.server
                    );
                }
            }
        }
        out
    }

    /// The raw runs and the medians, for JSON.
    pub fn raw(&self) -> impl Serialize + '_ {
        let mut medians = Vec::new();
        for &shape in &self.shapes {
            for &server in &self.servers {
                if let Some(summary) = self.summary(server, shape) {
                    medians.push(MedianRow {
                        server: server.name(),
                        conns: shape.conns,
                        size: shape.size,
                        summary,
                    });
                }
            }
        }
        Raw {
            window_secs: self.secs,
            warmup_secs: self.warmup,
            runs: &self.runs,
            medians,
        }
    }
}

fn fmt_ratio(r: Option<f64>) -> String {
    r.map_or_else(|| "-".to_owned(), |r| format!("{r:.2}x"))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}
