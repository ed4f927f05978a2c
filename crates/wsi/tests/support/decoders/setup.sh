#!/usr/bin/env bash
# Creates the virtualenv of crates/wsi/tests/decoders.rs: Python msgpack, cbor2, protobuf
# (with protoc from grpcio-tools) and python-socketio on aiohttp, pinned in requirements.txt
# beside this script. The same mechanism as tests/python/setup.sh (a venv under target/, a
# marker with the requirements' hash, a lock for parallel tests). Idempotent: a rerun after a
# complete install returns at once. Never skips: any failure exits non-zero with the reason.
#
#   crates/wsi/tests/support/decoders/setup.sh     # -> <repo>/target/python/decoders-venv
#
# Environment:
#   DECODERS_VENV   the venv to create (default <repo>/target/python/decoders-venv)
#   PYTHON3         the interpreter to create it with (default: python3; needs >= 3.10)
#
# The last line printed on success is `python: venv=<path>`.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../../../.." && pwd)"
VENV="${DECODERS_VENV:-$REPO/target/python/decoders-venv}"
WORK="$(dirname "$VENV")"
REQS="$HERE/requirements.txt"
MARKER="$VENV/.setup-complete"
LOG="$WORK/decoders-setup.log"
IMPORTS='import msgpack, cbor2, google.protobuf, grpc_tools.protoc, socketio, engineio, aiohttp'

say() { echo "python: $*"; }
die() { echo "python: ERROR: $*" >&2; exit 1; }

mkdir -p "$WORK"

want_stamp() { echo "requirements.txt sha256=$(sha256sum "$REQS" | cut -d' ' -f1)"; }
is_complete() {
    [[ -f "$MARKER" && -x "$VENV/bin/python" ]] &&
        [[ "$(cat "$MARKER")" == "$(want_stamp)" ]] &&
        "$VENV/bin/python" -c "$IMPORTS" >/dev/null 2>&1
}

if is_complete; then
    say "venv=$VENV"
    exit 0
fi

# Serialize concurrent callers (the Rust tests run in parallel).
command -v flock >/dev/null 2>&1 || die "flock (util-linux) is required"
exec 9>"$WORK/.decoders-setup.lock"
flock 9
if is_complete; then
    say "venv=$VENV"
    exit 0
fi

PY3="${PYTHON3:-python3}"
command -v "$PY3" >/dev/null 2>&1 || die "Python 3 ('$PY3') was not found; install it or set PYTHON3"
"$PY3" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' ||
    die "python-socketio needs Python >= 3.10, '$PY3' is $("$PY3" --version 2>&1)"
"$PY3" -c 'import venv, ensurepip' >/dev/null 2>&1 ||
    die "'$PY3' lacks the venv/ensurepip modules (on Debian: apt-get install python3-venv)"

run_logged() {
    if ! "$@" >>"$LOG" 2>&1; then
        echo "python: ERROR: command failed: $*" >&2
        echo "python: ---- last lines of $LOG ----" >&2
        tail -n 40 "$LOG" >&2
        exit 1
    fi
}

: >"$LOG"
start=$SECONDS
say "creating $VENV with $PY3 ($("$PY3" --version 2>&1))"
rm -rf "$VENV"
run_logged "$PY3" -m venv "$VENV"
say "installing $(grep -v '^#' "$REQS" | tr '\n' ' ')(log: $LOG)"
run_logged "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -r "$REQS"
"$VENV/bin/python" -c "$IMPORTS" || die "the packages do not import in $VENV"
want_stamp >"$MARKER"
say "installed in $((SECONDS - start))s"
say "venv=$VENV"
