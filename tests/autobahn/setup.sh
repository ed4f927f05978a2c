#!/usr/bin/env bash
# Installs the Autobahn Testsuite (`wstest`, Python 2.7 only) into a private
# virtualenv. Idempotent; a rerun after a complete install returns at once.
#
#   tests/autobahn/setup.sh            # -> <repo>/target/autobahn/venv27/bin/wstest
#
# Environment:
#   AUTOBAHN_VENV     the Python 2.7 virtualenv to create (default <repo>/target/autobahn/venv27)
#   AUTOBAHN_PYTHON2  a Python 2.7 interpreter to use (default: searched, see find_python2)
#   AUTOBAHN_PYTHON3  the Python 3 used to run `virtualenv` (default: python3)
#   AUTOBAHN_FORCE=1  rebuild the Python 2.7 virtualenv even if it is complete
#
# The last line printed on success is `autobahn: wstest=<path>`.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VENV27="${AUTOBAHN_VENV:-$REPO/target/autobahn/venv27}"
WORK="$(dirname "$VENV27")"          # helpers live next to the py2 venv
VENV3="$WORK/venv3"
REQS="$HERE/requirements-py2.txt"
MARKER="$VENV27/.autobahn-setup-complete"
LOG="$WORK/setup.log"
VIRTUALENV_PIN="virtualenv==20.21.1"   # last line that can still create Python 2.7 envs is <20.22

say() { echo "autobahn: $*"; }
die() { echo "autobahn: ERROR: $*" >&2; exit 1; }

mkdir -p "$WORK"

# What the marker records: a complete install for exactly these requirements.
want_stamp() {
    local sum
    sum="$(sha256sum "$REQS" | cut -d' ' -f1)"
    echo "requirements-py2.txt sha256=$sum $VIRTUALENV_PIN"
}
is_complete() {
    [[ -f "$MARKER" && -x "$VENV27/bin/wstest" && -x "$VENV27/bin/python" ]] &&
        [[ "$(cat "$MARKER")" == "$(want_stamp)" ]]
}

# Fast path: nothing to do.
if [[ "${AUTOBAHN_FORCE:-0}" != 1 ]] && is_complete; then
    say "wstest=$VENV27/bin/wstest"
    exit 0
fi

# Serialize concurrent callers (e.g. two Rust tests running in parallel).
if command -v flock >/dev/null 2>&1; then
    exec 9>"$WORK/.setup.lock"
    flock 9
    if [[ "${AUTOBAHN_FORCE:-0}" != 1 ]] && is_complete; then
        say "wstest=$VENV27/bin/wstest"
        exit 0
    fi
fi

is_py27() { [[ -n "$1" ]] && "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (2, 7) else 1)' >/dev/null 2>&1; }

find_python2() {
    local looked=() c
    local -a cands=()
    [[ -n "${AUTOBAHN_PYTHON2:-}" ]] && cands+=("$AUTOBAHN_PYTHON2")
    cands+=("/root/.pyenv/versions/2.7.18/bin/python2.7")
    if [[ -n "${PYENV_ROOT:-}" ]]; then
        # newest 2.7.x first
        while IFS= read -r c; do cands+=("$c"); done < <(ls -1d "$PYENV_ROOT"/versions/2.7*/bin/python2.7 2>/dev/null | sort -rV)
    fi
    while IFS= read -r c; do cands+=("$c"); done < <(ls -1d "$HOME"/.pyenv/versions/2.7*/bin/python2.7 2>/dev/null | sort -rV)
    for c in python2.7 python2; do
        if command -v "$c" >/dev/null 2>&1; then cands+=("$(command -v "$c")"); fi
    done
    cands+=("/usr/bin/python2.7" "/usr/local/bin/python2.7")
    for c in "${cands[@]}"; do
        looked+=("$c")
        if is_py27 "$c"; then echo "$c"; return 0; fi
    done
    echo "autobahn: ERROR: Python 2.7 is required for the Autobahn Testsuite but was not found (looked in: \$AUTOBAHN_PYTHON2, \$PYENV_ROOT/versions/2.7*, ~/.pyenv/versions/2.7*, python2.7/python2 on PATH, /usr/bin, /usr/local/bin; tried: ${looked[*]}). Install it (e.g. 'pyenv install 2.7.18') or set AUTOBAHN_PYTHON2." >&2
    return 1
}

PY2="$(find_python2)" || exit 1
say "using Python 2.7 at $PY2"

run_logged() {
    # Runs a command with its output appended to $LOG; shows the tail on failure.
    if ! "$@" >>"$LOG" 2>&1; then
        echo "autobahn: ERROR: command failed: $*" >&2
        echo "autobahn: ---- last lines of $LOG ----" >&2
        tail -n 40 "$LOG" >&2
        exit 1
    fi
}

: >"$LOG"
start=$SECONDS

# 1. A Python 3 venv that holds virtualenv<20.22 (which can still create py2.7 envs).
if ! "$VENV3/bin/python" -c 'import virtualenv, sys; sys.exit(0 if virtualenv.__version__ == "'"${VIRTUALENV_PIN#virtualenv==}"'" else 1)' >/dev/null 2>&1; then
    PY3="${AUTOBAHN_PYTHON3:-python3}"
    command -v "$PY3" >/dev/null 2>&1 || die "Python 3 ('$PY3') is required to create the virtualenv but was not found; set AUTOBAHN_PYTHON3"
    say "creating helper Python 3 venv at $VENV3 (with $PY3: $("$PY3" --version 2>&1))"
    rm -rf "$VENV3"
    run_logged "$PY3" -m venv "$VENV3"
    say "installing $VIRTUALENV_PIN into $VENV3"
    run_logged "$VENV3/bin/python" -m pip install --disable-pip-version-check --no-input -q "$VIRTUALENV_PIN"
fi

# 2. The Python 2.7 virtualenv, always from scratch if it is not marked complete.
say "creating Python 2.7 virtualenv at $VENV27"
rm -rf "$VENV27"
run_logged "$VENV3/bin/python" -m virtualenv --no-periodic-update \
    --app-data "$WORK/virtualenv-appdata" -p "$PY2" "$VENV27"

# 3. The testsuite and its fully pinned dependency closure.
say "installing autobahntestsuite and pinned dependencies (see $REQS; log: $LOG)"
run_logged "$VENV27/bin/python" -m pip install --disable-pip-version-check \
    --no-python-version-warning --no-input -r "$REQS"
run_logged "$VENV27/bin/python" -m pip check --no-python-version-warning

# 4. Verify that wstest actually starts.
[[ -x "$VENV27/bin/wstest" ]] || die "wstest was not installed at $VENV27/bin/wstest"
if ! version="$("$VENV27/bin/wstest" -a 2>&1)" || ! grep -q "AutobahnTestSuite 25.10.1" <<<"$version"; then
    echo "$version" >&2
    die "wstest -a did not report AutobahnTestSuite 25.10.1"
fi
say "$(echo "$version" | tr '\n' ' ' | sed 's/ *$//')"

want_stamp >"$MARKER"
say "setup complete in $((SECONDS - start))s"
say "wstest=$VENV27/bin/wstest"
