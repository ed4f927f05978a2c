#!/usr/bin/env python3
"""The same server against itself: how far apart two runs of one server fall, beside the ratios
the crates issue sets targets on (BENCHMARKS.md, "fastwebsockets against itself").

For each repetition and shape it runs, in turn and each as a fresh process pinned with the
load client to core 0 as `echo-bench` does: fastwebsockets (A), ws-tokio, fastwebsockets
again (B, the same binary), ws-tokio-driven. Per shape it prints the median and range of the
per-repetition ratios ws-tokio / A, driven / B and B / A (the control: a server against
itself, one run apart, as ws-tokio is from A), and, over every three repetitions of the run,
the share whose median ratio clears the target (ws-tokio and the control >= 1.0, driven
>= 0.9): how often "a median of 3 >= 1.0" holds for a shape, and, multiplied over the
shapes (as if they were independent), how often it would hold on all of them.

    cargo build --release -p echo-bench
    python3 crates/echo-bench/scripts/same-server.py [--reps 9] [--secs 1.5] [--shapes 16x16,...]
"""

import argparse
import itertools
import json
import math
import os
import statistics
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
SHAPES = ",".join(f"{c}x{s}" for c in (1, 16, 128) for s in (16, 1024, 65536, 1048576))
ORDER = (("A", "fastwebsockets"), ("ws-tokio", "ws-tokio"), ("B", "fastwebsockets"),
         ("driven", "ws-tokio-driven"))
RATIOS = (("ws-tokio / fws", "ws-tokio", "A", 1.0), ("driven / fws", "driven", "B", 0.9),
          ("fws / fws", "B", "A", 1.0))


def run(bench, impl, conns, size, secs, warmup):
    server = subprocess.Popen(["taskset", "-c", "0", bench, "server", "--impl", impl,
                               "--addr", "127.0.0.1:0"], stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline().split()
        if len(line) < 2 or line[0] != "LISTENING":
            sys.exit(f"same-server: {impl} did not start")
        max_msgs = max(1, min(5_000_000, (8 << 30) // max(size, 1)))
        out = subprocess.run(["taskset", "-c", "0", bench, "client", "--addr", line[1],
                              "--conns", str(conns), "--size", str(size), "--secs", str(secs),
                              "--warmup", str(warmup), "--max-msgs", str(max_msgs)],
                             capture_output=True, text=True, check=True).stdout
        result = json.loads(out.strip().splitlines()[-1])
        return result["msgs"] / result["secs"]
    finally:
        server.kill()
        server.wait()


def label(shape):
    conns, size = shape.split("x")
    size = int(size)
    unit = next((f"{size >> s}{u}" for s, u in ((20, "MiB"), (10, "KiB")) if size >= 1 << s and size % (1 << s) == 0), f"{size}B")
    return f"{conns}x{unit}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=9)
    parser.add_argument("--secs", type=float, default=1.5)
    parser.add_argument("--warmup", type=float, default=0.3)
    parser.add_argument("--shapes", default=SHAPES)
    parser.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "echo-bench"))
    parser.add_argument("--out", help="raw rates as JSON")
    args = parser.parse_args()
    if args.reps < 3:
        sys.exit("same-server: --reps must be at least 3")
    shapes = args.shapes.split(",")
    rates = {}
    for rep in range(args.reps):
        for shape in shapes:
            conns, size = map(int, shape.split("x"))
            for name, impl in ORDER:
                rate = run(args.bin, impl, conns, size, args.secs, args.warmup)
                rates.setdefault(shape, {}).setdefault(name, []).append(rate)
                print(f"rep {rep + 1} {label(shape):>10} {name:<8} {rate:>10.0f} msg/s", file=sys.stderr)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(rates, f, indent=1)

    print(f"{args.reps} repetitions of {args.secs} s per server and shape; per-repetition ratios, "
          f"median (range); \"median of 3 clears\": the share of the {math.comb(args.reps, 3)} "
          "triples of repetitions whose median ratio is at or above the target\n")
    head = " | ".join(f"{r[0]} | median of 3 clears" for r in RATIOS)
    print(f"| shape | {head} |")
    print("|---|" + "--:|--:|" * len(RATIOS))
    all_clear = [1.0] * len(RATIOS)
    for shape in shapes:
        cells = []
        for i, (_, num, den, target) in enumerate(RATIOS):
            ratios = [n / d for n, d in zip(rates[shape][num], rates[shape][den])]
            triples = list(itertools.combinations(ratios, 3))
            share = sum(statistics.median(t) >= target for t in triples) / len(triples)
            all_clear[i] *= share
            cells.append(f"{statistics.median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f}) | {share:.0%}")
        print(f"| {label(shape)} | " + " | ".join(cells) + " |")
    cells = [cell for p in all_clear for cell in ("", f"{p:.1%}")]
    print("| all shapes at once (shares multiplied) | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
