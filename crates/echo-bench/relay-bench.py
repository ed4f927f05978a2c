#!/usr/bin/env python3
"""Relay throughput and added latency, side by side in one run (BENCHMARKS.md, "Relay").

The load client (`echo-bench client`) sends to the ws-tokio echo server (`echo-bench
server --impl ws-tokio`) three ways:

  direct    client -> echo server
  wsi       client -> `wsi relay ADDR URL --jsonl /dev/null -q` -> echo server
            (the core's relay, every frame of both legs written as a JSON line)
  wsi-quiet the same relay with nothing written (no --jsonl): what the logging costs
  websocat  client -> `websocat -E -b ws-l:ADDR ws://URL/` -> echo server (logs nothing)
  tcp-floor client -> `echo-bench tcp-forward` (bytes copied both ways, nothing else: no
            WebSocket work at all) -> echo server: the floor of any relay in user space

Every process is pinned to one core (taskset), as the issue measured. For each shape
(connections x message size) and way, REPS runs of SECS seconds; the medians of msg/s and
p50 are printed as a markdown table with the ratios to websocat and to the direct
connection.

    cargo build --release -p echo-bench -p wsi
    cargo install websocat --version 1.14.1
    python3 crates/echo-bench/relay-bench.py [--reps 3] [--secs 2] [--shapes 1x16,16x1024,1x65536]
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


WAYS = ("direct", "wsi", "wsi-quiet", "websocat", "tcp-floor")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--secs", type=float, default=2.0)
    parser.add_argument("--shapes", default="1x16,16x1024,1x65536")
    parser.add_argument("--core", default="0")
    parser.add_argument("--bin", default=os.path.join(ROOT, "target", "release"))
    parser.add_argument("--websocat", default=shutil.which("websocat") or os.path.expanduser("~/.cargo/bin/websocat"))
    args = parser.parse_args()

    pin = ["taskset", "-c", args.core]
    bench = os.path.join(args.bin, "echo-bench")
    wsi = os.path.join(args.bin, "wsi")
    for path in (bench, wsi, args.websocat):
        if not os.path.exists(path):
            sys.exit(f"relay-bench: {path} is missing (see the usage at the top)")
    version = subprocess.run([args.websocat, "--version"], capture_output=True, text=True).stdout.strip()

    children = []
    try:
        echo_port = free_port()
        children.append(subprocess.Popen(
            pin + [bench, "server", "--impl", "ws-tokio", "--addr", f"127.0.0.1:{echo_port}"],
            stdout=subprocess.DEVNULL))
        wait_port(echo_port)
        upstream = f"ws://127.0.0.1:{echo_port}/"
        wsi_port = free_port()
        children.append(subprocess.Popen(
            pin + [wsi, "relay", f"127.0.0.1:{wsi_port}", upstream, "--jsonl", "/dev/null", "-q"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        quiet_port = free_port()
        children.append(subprocess.Popen(
            pin + [wsi, "relay", f"127.0.0.1:{quiet_port}", upstream, "-q"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        websocat_port = free_port()
        children.append(subprocess.Popen(
            pin + [args.websocat, "-E", "-b", f"ws-l:127.0.0.1:{websocat_port}", upstream],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        floor_port = free_port()
        children.append(subprocess.Popen(
            pin + [bench, "tcp-forward", "--addr", f"127.0.0.1:{floor_port}", "--to", f"127.0.0.1:{echo_port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for port in (wsi_port, quiet_port, websocat_port, floor_port):
            wait_port(port)
        ways = [("direct", echo_port, children[0].pid), ("wsi", wsi_port, children[1].pid),
                ("wsi-quiet", quiet_port, children[2].pid),
                ("websocat", websocat_port, children[3].pid),
                ("tcp-floor", floor_port, children[4].pid)]

        results = {}
        for rep in range(args.reps):
            for shape in args.shapes.split(","):
                conns, size = shape.split("x")
                for way, port, pid in ways:
                    out = subprocess.run(
                        pin + [bench, "client", "--addr", f"127.0.0.1:{port}", "--server-pid", str(pid),
                               "--conns", conns, "--size", size, "--secs", str(args.secs)],
                        capture_output=True, text=True, check=True).stdout
                    r = json.loads(out.strip().splitlines()[-1])
                    results.setdefault((shape, way), []).append(r)
                    print(f"rep {rep + 1} {shape:>8} {way:<9} {r['msgs'] / r['secs']:>10.0f} msg/s  p50 {r['p50_us']:.1f} us",
                          file=sys.stderr)
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait()

    print(f"websocat: {version}; {args.reps} runs of {args.secs} s each, pinned to core {args.core}\n")
    print("| shape | way | msg/s (median) | p50 µs | p99 µs | × websocat | × direct | added p50 µs |")
    print("|---|---|--:|--:|--:|--:|--:|--:|")
    for shape in args.shapes.split(","):
        med = {}
        for way in WAYS:
            runs = results[(shape, way)]
            med[way] = (statistics.median(r["msgs"] / r["secs"] for r in runs),
                        statistics.median(r["p50_us"] for r in runs),
                        statistics.median(r["p99_us"] for r in runs))
        for way in WAYS:
            rate, p50, p99 = med[way]
            print(f"| {shape} | {way} | {rate:.0f} | {p50:.1f} | {p99:.1f} | "
                  f"{rate / med['websocat'][0]:.2f} | {rate / med['direct'][0]:.2f} | "
                  f"{p50 - med['direct'][1]:.1f} |")


if __name__ == "__main__":
    main()
