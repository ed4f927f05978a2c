#!/usr/bin/env python3
"""Run one role of the Autobahn Testsuite (wstest) and judge its report.

Python 3, standard library only. `wstest` itself is Python 2.7 and lives in the
virtualenv made by setup.sh next to this file.

  run.py fuzzingclient --url ws://127.0.0.1:PORT --agent NAME --outdir DIR
      wstest connects to *our server* (an echo server at URL) and runs the
      cases against it; then the report is judged. Exit 0 = pass.

  run.py fuzzingserver --port PORT --outdir DIR
      Becomes (exec) the wstest fuzzing server on ws://127.0.0.1:PORT, in the
      foreground, until killed. *Our client* then connects to
        /getCaseCount, /runCase?case=N&agent=A (N = 1..count), /updateReports?agent=A
      (/updateReports is REQUIRED: the server only writes DIR/index.json then;
      SIGTERM/SIGINT also writes it, SIGKILL does not.)

  run.py judge --outdir DIR [--agent NAME]
      Judges DIR/index.json after the fact (used after a fuzzingserver run).

Judging prints one summary line per agent, e.g.
  autobahn fuzzingclient agent=ws-tokio: 517 cases: 514 OK, 0 NON-STRICT, 3 INFORMATIONAL, 0 UNIMPLEMENTED, 0 FAILED; close: 514 OK, 3 INFORMATIONAL
then every offending case, and exits 1 on: any FAILED / NON-STRICT / other bad
behavior, any behaviorClose other than OK/INFORMATIONAL, any UNIMPLEMENTED case
whose id does not start with an --allow-unimplemented prefix (default none: every
case, permessage-deflate's 12.* and 13.* included, must be implemented), or a case
count other than expected.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_VENV = os.path.join(REPO, "target", "autobahn", "venv27")
FULL_CASE_COUNT = 517  # cases in autobahntestsuite 25.10.1 for cases=["*"]
DEFAULT_ALLOW_UNIMPLEMENTED = ""
GOOD_BEHAVIOR = ("OK", "INFORMATIONAL")
GOOD_CLOSE = ("OK", "INFORMATIONAL")
MAIN_BEHAVIORS = ("OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED")

# Python 2 shim that runs `wstest` in fuzzingserver mode, but
#  * binds the listening socket to $AUTOBAHN_BIND (127.0.0.1) instead of all
#    interfaces (autobahn's listenWS defaults to interface=''), and
#  * writes the reports on an orderly shutdown (SIGTERM/SIGINT, /stopServer)
#    if cases ran since the last /updateReports.
SERVER_SHIM = r"""
import os, sys
sys.argv[0] = 'wstest'
bind = os.environ.get('AUTOBAHN_BIND', '127.0.0.1')
from autobahntestsuite import wstest  # must come first: picks the reactor
from autobahntestsuite import fuzzing
from twisted.internet import reactor

_listen = fuzzing.listenWS
def listenWS(factory, contextFactory=None, backlog=50, interface=''):
    return _listen(factory, contextFactory, backlog, interface or bind)
fuzzing.listenWS = listenWS

def _count(f):
    return sum(len(v) for v in f.agents.values())
_create = fuzzing.FuzzingServerFactory.createReports
def createReports(self, *a, **kw):
    self._reported = _count(self)
    return _create(self, *a, **kw)
fuzzing.FuzzingServerFactory.createReports = createReports
_init = fuzzing.FuzzingServerFactory.__init__
def __init__(self, *a, **kw):
    _init(self, *a, **kw)
    self._reported = 0
    def final():
        if _count(self) != self._reported:
            print('Writing reports on shutdown')
            self.createReports()
    reactor.addSystemEventTrigger('before', 'shutdown', final)
fuzzing.FuzzingServerFactory.__init__ = __init__
sys.exit(wstest.run())
"""

# Python 2 snippet: expand a spec's case patterns into the concrete case ids.
EXPAND_SHIM = r"""
import json, sys
from autobahntestsuite.case import Cases, CaseCategories, CaseSubCategories, CaseSetname, CaseBasename
from autobahntestsuite.caseset import CaseSet
cs = CaseSet(CaseSetname, CaseBasename, Cases, CaseCategories, CaseSubCategories)
sys.stdout.write(json.dumps(cs.parseSpecCases(json.loads(sys.argv[1]))))
"""


def log(msg):
    print("autobahn: " + msg, flush=True)


# ---------------------------------------------------------------- locating wstest

def find_wstest(explicit):
    cands = []
    if explicit:
        cands.append(explicit)
    else:
        if os.environ.get("AUTOBAHN_WSTEST"):
            cands.append(os.environ["AUTOBAHN_WSTEST"])
        cands.append(os.path.join(os.environ.get("AUTOBAHN_VENV") or DEFAULT_VENV, "bin", "wstest"))
    for c in cands:
        if os.path.isfile(c) and os.access(c, os.X_OK):
            return os.path.abspath(c)
    return None


def require_wstest(explicit):
    w = find_wstest(explicit)
    if not w:
        sys.exit("autobahn: ERROR: wstest not found (looked for %s); run %s first"
                 % (explicit or os.path.join(os.environ.get("AUTOBAHN_VENV") or DEFAULT_VENV, "bin", "wstest"),
                    os.path.join(HERE, "setup.sh")))
    return w


def python_for(wstest):
    """The Python 2.7 interpreter that runs `wstest` (venv python, else its shebang)."""
    p = os.path.join(os.path.dirname(wstest), "python")
    if os.path.isfile(p) and os.access(p, os.X_OK):
        return p
    with open(wstest, "rb") as f:
        first = f.readline().decode("utf-8", "replace").strip()
    if first.startswith("#!"):
        parts = first[2:].split()
        if parts and os.path.basename(parts[0]) == "env" and len(parts) > 1:
            return shutil.which(parts[1])
        return parts[0] if parts else None
    return None


def expand_cases(wstest, cases, exclude):
    """Concrete case ids for a spec, asked from the testsuite itself (None if impossible)."""
    py = python_for(wstest) if wstest else None
    if not py:
        return None
    try:
        out = subprocess.run([py, "-c", EXPAND_SHIM, json.dumps({"cases": cases, "exclude-cases": exclude})],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, check=True).stdout
        return json.loads(out.decode())
    except Exception as e:  # noqa: BLE001 - only an aid for judging
        log("warning: could not expand the case list with %s: %s" % (py, e))
        return None


# ---------------------------------------------------------------- helpers

def split_list(values):
    """['1.*,2.*', '3.1'] -> ['1.*', '2.*', '3.1']"""
    out = []
    for v in values or []:
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return out


def case_key(cid):
    return tuple(int(x) if x.isdigit() else x for x in re.split(r"\.", cid))


def write_spec(outdir, name, spec):
    os.makedirs(outdir, exist_ok=True)
    path = os.path.join(outdir, name)
    with open(path, "w") as f:
        json.dump(spec, f, indent=2)
        f.write("\n")
    return path


def clear_old_report(outdir):
    for name in ("index.json", "index.html"):
        try:
            os.remove(os.path.join(outdir, name))
        except FileNotFoundError:
            pass


def die_with_parent():
    """preexec_fn: the child gets SIGKILL if this process dies (Linux)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001
        pass


def tail(path, n=30):
    try:
        with open(path, "r", errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


# ---------------------------------------------------------------- judging

def judge(outdir, role, agents=None, allow_prefixes=(), expected_ids=None, expect_count=None):
    """Prints the verdict; returns True when everything passes."""
    index_path = os.path.join(outdir, "index.json")
    if not os.path.isfile(index_path):
        hint = (" (the fuzzingserver writes it only on /updateReports?agent=NAME, or on SIGTERM/SIGINT)"
                if role == "fuzzingserver" else " (wstest writes it when all cases have run)")
        print("autobahn %s: FAIL: no report %s%s" % (role, index_path, hint), flush=True)
        return False
    with open(index_path) as f:
        index = json.load(f)

    if not agents:
        agents = sorted(index)
        if not agents:
            print("autobahn %s: FAIL: %s lists no agent at all" % (role, index_path), flush=True)
            return False

    all_ok = True
    for agent in agents:
        if agent not in index:
            print("autobahn %s agent=%s: FAIL: agent not in %s (agents there: %s)"
                  % (role, agent, index_path, ", ".join(sorted(index)) or "none"), flush=True)
            all_ok = False
            continue
        all_ok &= judge_agent(outdir, role, agent, index[agent], allow_prefixes, expected_ids, expect_count)
    return all_ok


def judge_agent(outdir, role, agent, cases, allow_prefixes, expected_ids, expect_count):
    ids = sorted(cases, key=case_key)
    beh, close = {}, {}
    for cid in ids:
        c = cases[cid]
        beh[c.get("behavior")] = beh.get(c.get("behavior"), 0) + 1
        close[c.get("behaviorClose")] = close.get(c.get("behaviorClose"), 0) + 1

    parts = ["%d %s" % (beh.get(b, 0), b) for b in MAIN_BEHAVIORS]
    parts += ["%d %s" % (n, b) for b, n in sorted(beh.items(), key=lambda x: str(x[0])) if b not in MAIN_BEHAVIORS]
    close_parts = ["%d %s" % (n, b) for b, n in sorted(close.items(), key=lambda x: (x[0] != "OK", str(x[0])))]
    prefix = "autobahn %s agent=%s" % (role, agent)
    print("%s: %d cases: %s; close: %s" % (prefix, len(ids), ", ".join(parts), ", ".join(close_parts) or "-"),
          flush=True)

    problems = []
    allowed_unimpl = 0
    for cid in ids:
        c = cases[cid]
        b, bc = c.get("behavior"), c.get("behaviorClose")
        bad_b = b not in GOOD_BEHAVIOR
        if b == "UNIMPLEMENTED" and any(cid.startswith(p) for p in allow_prefixes):
            bad_b = False
            allowed_unimpl += 1
        bad_c = bc not in GOOD_CLOSE
        if b == "UNIMPLEMENTED" and bc == "UNIMPLEMENTED" and not bad_b:
            bad_c = False  # an allowed unimplemented case has no close verdict either
        if bad_b or bad_c:
            problems.append((cid, c))

    for cid, c in problems:
        detail = ""
        rep = c.get("reportfile")
        if rep:
            try:
                with open(os.path.join(outdir, rep)) as f:
                    r = json.load(f)
                detail = " | result: %s | resultClose: %s" % (r.get("result", ""), r.get("resultClose", ""))
            except (OSError, ValueError):
                pass
        print("  case %s: behavior=%s behaviorClose=%s remoteCloseCode=%s duration=%sms%s"
              % (cid, c.get("behavior"), c.get("behaviorClose"), c.get("remoteCloseCode"), c.get("duration"),
                 detail), flush=True)

    count_problem = None
    missing = []
    if expected_ids is not None:
        missing = [x for x in expected_ids if x not in cases]
        if len(ids) != len(expected_ids) or missing:
            count_problem = "expected %d cases, got %d" % (len(expected_ids), len(ids))
    elif expect_count is not None and len(ids) != expect_count:
        count_problem = "expected %d cases, got %d" % (expect_count, len(ids))
    if count_problem:
        msg = "  case count: " + count_problem
        if missing:
            msg += "; missing: " + " ".join(missing[:40]) + (" ..." if len(missing) > 40 else "")
        print(msg, flush=True)

    if allowed_unimpl:
        print("  (%d UNIMPLEMENTED allowed by prefixes %s)" % (allowed_unimpl, ",".join(allow_prefixes)), flush=True)
    slow = sorted(ids, key=lambda i: -(cases[i].get("duration") or 0))[:3]
    if slow:
        print("  slowest: " + ", ".join("%s %sms" % (i, cases[i].get("duration")) for i in slow), flush=True)

    ok = not problems and not count_problem
    print("%s: %s" % (prefix, "PASS" if ok else "FAIL (%d offending cases%s)"
                      % (len(problems), ", wrong case count" if count_problem else "")), flush=True)
    return ok


def judge_args(p):
    p.add_argument("--allow-unimplemented", default=DEFAULT_ALLOW_UNIMPLEMENTED, metavar="PREFIXES",
                   help='comma-separated case-id prefixes whose UNIMPLEMENTED verdict is accepted '
                        '(default "%(default)s"; "" accepts none)')
    p.add_argument("--expect-cases", type=int, default=None, metavar="N",
                   help="expected number of cases per agent (default: the spec's case list as expanded by "
                        "the testsuite; %d for cases='*'; 0 = do not check)" % FULL_CASE_COUNT)


def expectation(args, wstest, cases, exclude):
    """(expected_ids, expect_count) for judge()."""
    if args.expect_cases is not None:
        return None, (args.expect_cases or None)
    ids = expand_cases(wstest, cases, exclude)
    if ids is not None:
        return ids, None
    if cases == ["*"] and not exclude:
        return None, FULL_CASE_COUNT
    log("warning: case count not checked (could not expand %s; pass --expect-cases)" % cases)
    return None, None


def allow_list(s):
    return tuple(split_list([s]))


# ---------------------------------------------------------------- commands

def cmd_fuzzingclient(args):
    wstest = require_wstest(args.wstest)
    outdir = os.path.abspath(args.outdir)
    cases, exclude = split_list(args.cases) or ["*"], split_list(args.exclude)
    spec = {
        "outdir": outdir,
        "servers": [{"agent": args.agent, "url": args.url}],
        "cases": cases,
        "exclude-cases": exclude,
        "exclude-agent-cases": {},
    }
    spec_path = write_spec(outdir, "fuzzingclient.json", spec)
    clear_old_report(outdir)
    expected_ids, expect_count = expectation(args, wstest, cases, exclude)
    log_path = os.path.join(outdir, "wstest-fuzzingclient.log")
    n = len(expected_ids) if expected_ids is not None else (expect_count or "?")
    log("fuzzingclient: %s cases against %s (agent %s), timeout %ss, log %s"
        % (n, args.url, args.agent, args.timeout, log_path))

    env = dict(os.environ, PYTHONUNBUFFERED="1")
    t0 = time.monotonic()
    with open(log_path, "w") as logf:
        out = None if args.verbose else logf
        proc = subprocess.Popen([wstest, "-m", "fuzzingclient", "-s", spec_path], cwd=outdir, env=env,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                preexec_fn=die_with_parent)

        def on_signal(signum, _frame):
            proc.kill()
            sys.exit(128 + signum)
        signal.signal(signal.SIGTERM, on_signal)
        try:
            rc = proc.wait(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            log("ERROR: wstest fuzzingclient did not finish within %ss (%s)" % (args.timeout, log_path))
            sys.stdout.write(tail(log_path))
            return 1
        except KeyboardInterrupt:
            proc.kill()
            raise
    log("fuzzingclient: wstest exited %d after %.1fs" % (rc, time.monotonic() - t0))
    if rc != 0:
        sys.stdout.write(tail(log_path))
    else:
        with open(log_path, errors="replace") as f:
            failed = [line.strip() for line in f if line.startswith("Connection to ")]
        if failed:
            log("wstest could not connect: " + failed[0])
    ok = judge(outdir, "fuzzingclient", [args.agent], allow_list(args.allow_unimplemented),
               expected_ids, expect_count)
    return 0 if ok and rc == 0 else 1


def cmd_fuzzingserver(args):
    wstest = require_wstest(args.wstest)
    py = python_for(wstest)
    if not py:
        sys.exit("autobahn: ERROR: cannot tell which Python runs %s" % wstest)
    outdir = os.path.abspath(args.outdir)
    url = "ws://%s:%d" % (args.host, args.port)
    spec = {
        "url": url,
        "outdir": outdir,
        "cases": split_list(args.cases) or ["*"],
        "exclude-cases": split_list(args.exclude),
        "exclude-agent-cases": {},
    }
    spec_path = write_spec(outdir, "fuzzingserver.json", spec)
    clear_old_report(outdir)
    log_path = args.log if args.log is not None else os.path.join(outdir, "wstest-fuzzingserver.log")
    log("fuzzingserver: starting on %s (pid %d), reports -> %s, log %s"
        % (url, os.getpid(), outdir, "stdout" if log_path == "-" else log_path))
    if log_path != "-":
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
    env = dict(os.environ, AUTOBAHN_BIND=args.host, PYTHONUNBUFFERED="1")
    os.chdir(outdir)
    # exec, so the caller's child pid IS the server: killing it frees the port.
    os.execve(py, [py, "-u", "-c", SERVER_SHIM, "-m", "fuzzingserver", "-s", spec_path, "-u", "0"], env)


def cmd_judge(args):
    outdir = os.path.abspath(args.outdir)
    role = args.role
    spec = None
    for r in ([role] if role else ["fuzzingserver", "fuzzingclient"]):
        p = os.path.join(outdir, r + ".json")
        if os.path.isfile(p):
            with open(p) as f:
                spec = json.load(f)
            role = r
            break
    role = role or "fuzzingserver"
    cases = split_list(args.cases) or (spec or {}).get("cases") or ["*"]
    exclude = split_list(args.exclude) if args.exclude else (spec or {}).get("exclude-cases") or []
    expected_ids, expect_count = expectation(args, find_wstest(args.wstest), cases, exclude)
    ok = judge(outdir, role, [args.agent] if args.agent else None, allow_list(args.allow_unimplemented),
               expected_ids, expect_count)
    return 0 if ok else 1


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(p):
        p.add_argument("--outdir", required=True, help="where the spec, logs and reports go")
        p.add_argument("--cases", action="append", metavar="PATTERNS",
                       help="case patterns, comma-separated or repeated (default '*')")
        p.add_argument("--exclude", action="append", metavar="PATTERNS",
                       help="case patterns to exclude, comma-separated or repeated")
        p.add_argument("--wstest", help="path of wstest (default $AUTOBAHN_WSTEST, else "
                                        "${AUTOBAHN_VENV:-<repo>/target/autobahn/venv27}/bin/wstest)")

    p = sub.add_parser("fuzzingclient", help="test a server: run all cases against --url, then judge")
    common(p)
    p.add_argument("--url", required=True, help="ws://127.0.0.1:PORT of the server under test")
    p.add_argument("--agent", required=True, help="agent name in the report")
    p.add_argument("--timeout", type=float, default=2400, help="seconds for the whole run (default %(default)s)")
    p.add_argument("--verbose", action="store_true", help="stream wstest output instead of logging it to a file")
    judge_args(p)
    p.set_defaults(func=cmd_fuzzingclient)

    p = sub.add_parser("fuzzingserver", help="test a client: exec the fuzzing server in the foreground")
    common(p)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1", help="address to bind and put in the url (default %(default)s)")
    p.add_argument("--log", help="file for wstest's output ('-' = inherit stdout; "
                                 "default OUTDIR/wstest-fuzzingserver.log)")
    p.set_defaults(func=cmd_fuzzingserver)

    p = sub.add_parser("judge", help="judge OUTDIR/index.json")
    common(p)
    p.add_argument("--agent", help="agent to judge (default: every agent in the report)")
    p.add_argument("--role", choices=["fuzzingserver", "fuzzingclient"],
                   help="label, and which spec in OUTDIR to read (default: the one present)")
    judge_args(p)
    p.set_defaults(func=cmd_judge)

    args = ap.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
