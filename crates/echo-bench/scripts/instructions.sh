#!/usr/bin/env bash
# User-space instructions per echoed message, per server, counted by callgrind: independent
# of machine load, unlike CPU time (they repeat within 0.5 % for ws-tokio and fastwebsockets;
# tokio-tungstenite's do not, see BENCHMARKS.md).
#
#   crates/echo-bench/scripts/instructions.sh [CONNS] [SIZE]     (default 128 16)
#
# Each server runs under `valgrind --tool=callgrind` twice, once for 5,000 and once for
# 25,000 messages from the load client; the difference of the two totals divided by 20,000 is
# the cost of one message with start-up, handshakes and shutdown cancelled out. Needs
# valgrind (apt install valgrind) and a release build (cargo build --release -p echo-bench).
set -euo pipefail
conns=${1:-128}
size=${2:-16}
root=$(cd "$(dirname "$0")/../../.." && pwd)
bin="$root/target/release/echo-bench"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
[ -x "$bin" ] || { echo "build first: cargo build --release -p echo-bench" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "needs valgrind (apt install valgrind)" >&2; exit 1; }

count() { # impl msgs -> total instructions
    local impl=$1 msgs=$2 spid addr=""
    valgrind --tool=callgrind --callgrind-out-file="$out/$impl.$msgs" \
        "$bin" server --impl "$impl" --addr 127.0.0.1:0 >"$out/listen" 2>/dev/null &
    spid=$!
    for _ in $(seq 100); do
        addr=$(awk '/LISTENING/{print $2}' "$out/listen")
        [ -n "$addr" ] && break
        sleep 0.1
    done
    [ -n "$addr" ] || { echo "$impl did not start" >&2; kill "$spid"; exit 1; }
    "$bin" client --addr "$addr" --server-pid 0 --conns "$conns" --size "$size" \
        --secs 20 --warmup 0 --max-msgs "$msgs" >/dev/null
    sleep 0.5
    kill -TERM "$spid"
    wait "$spid" 2>/dev/null || true
    awk '/^summary:/{print $2}' "$out/$impl.$msgs"
}

echo "user-space instructions per ${size} B echo, ${conns} connections (callgrind)"
for impl in ws-tokio ws-tokio-driven tokio-tungstenite fastwebsockets; do
    small=$(count "$impl" 5000)
    large=$(count "$impl" 25000)
    echo "$impl $(( (large - small) / 20000 ))" | awk '{printf "  %-18s %6d\n", $1, $2}'
done
