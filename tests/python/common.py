"""Shared by echo_server.py and client.py: the permessage-deflate description both print,
per-connection counters of received data frames, and the message script."""

import json
import random
import sys

from websockets.extensions.permessage_deflate import PerMessageDeflate
from websockets.frames import CTRL_OPCODES

# Largest message either program accepts (ours is 16 MiB too).
MAX_SIZE = 16 << 20


def emit(obj):
    """One JSON object per stdout line, flushed at once: the Rust test reads them as they come."""
    sys.stdout.write(json.dumps(obj, sort_keys=True) + "\n")
    sys.stdout.flush()


def pmd(connection):
    """The connection's permessage-deflate extension, or None if it was not agreed."""
    for ext in connection.protocol.extensions:
        if isinstance(ext, PerMessageDeflate):
            return ext
    return None


def describe(ext, is_server):
    """What was agreed, in RFC 7692's terms (window bits are effective: 15 when absent)."""
    if ext is None:
        return None
    local, remote = ("server", "client") if is_server else ("client", "server")
    return {
        f"{local}_no_context_takeover": ext.local_no_context_takeover,
        f"{remote}_no_context_takeover": ext.remote_no_context_takeover,
        f"{local}_max_window_bits": ext.local_max_window_bits,
        f"{remote}_max_window_bits": ext.remote_max_window_bits,
    }


# Every received data frame goes through PerMessageDeflate.decode when the extension is on;
# count them per extension instance, i.e. per connection. Patched on the class, so frames that
# arrive before the handler runs are counted too.
_decode = PerMessageDeflate.decode


def _counting_decode(self, frame, *, max_size=None):
    out = _decode(self, frame, max_size=max_size)
    if frame.opcode not in CTRL_OPCODES:
        stats = self.__dict__.setdefault("frame_stats", new_stats())
        stats["frames"] += 1
        stats["rsv1_frames"] += 1 if frame.rsv1 else 0
        stats["wire_bytes"] += len(frame.data)
        stats["plain_bytes"] += len(out.data)
    return out


PerMessageDeflate.decode = _counting_decode


def new_stats():
    return {"frames": 0, "rsv1_frames": 0, "wire_bytes": 0, "plain_bytes": 0}


def frame_stats(ext):
    """Received data frames so far (all zero without the extension)."""
    if ext is None:
        return new_stats()
    return dict(ext.__dict__.get("frame_stats", new_stats()))


def json_like(n, start=0):
    """Repetitive text, like a JSON log: compresses very well."""
    parts, size, i = [], 0, start
    while size < n:
        part = '{"seq":%d,"status":"ok","value":%d},' % (i, i % 97)
        parts.append(part)
        size += len(part)
        i += 1
    return "".join(parts)[:n]


def script(seed):
    """The client's messages: (name, message), where a list is sent as fragments.

    Sizes span empty to 1 MiB; content is repetitive or random. `random-3k` twice in a row
    shows context takeover (the second copy is one back-reference away when the sender keeps
    its context); `random-3k-x3` shows the window (its repeats are 3000 bytes apart, which
    only a window of 2^12 or more reaches). The Rust test has the same script (names, kinds,
    sizes and fragments; its random bytes differ)."""
    rnd = random.Random(seed)
    random_3k = rnd.randbytes(3000)
    chars = "aé€𝄞 \n{}\"\\ñ✓🎉"
    return [
        ("text-empty", ""),
        ("text-small", "hello"),
        ("text-unicode", "héllo wörld ✓ 🎉 𝄞 " * 20),
        ("binary-small", bytes(range(256))),
        ("text-json-64k", json_like(64 << 10)),
        ("text-json-64k-again", json_like(64 << 10)),
        ("random-3k", random_3k),
        ("random-3k-again", random_3k),
        ("random-3k-x3", random_3k * 3),
        ("binary-random-64k", rnd.randbytes(64 << 10)),
        ("text-mixed-unicode-100k", "".join(chars[(i * i + 7 * i) % len(chars)] for i in range(100_000))),
        ("text-fragmented", [json_like(20_000, i * 1000) for i in range(5)]),
        ("binary-fragmented", [rnd.randbytes(10_000), bytes(30_000), b"", rnd.randbytes(1)]),
        ("text-json-1m", json_like(1 << 20)),
        ("binary-repetitive-1m", bytes(i % 251 for i in range(1 << 20))),
        ("binary-random-1m", rnd.randbytes(1 << 20)),
    ]


def add_deflate_args(p):
    """The permessage-deflate options both programs take."""
    p.add_argument("--compression", choices=["deflate", "none"], default="deflate")
    p.add_argument("--server-no-context-takeover", action="store_true")
    p.add_argument("--client-no-context-takeover", action="store_true")
    p.add_argument("--server-max-window-bits", type=int)
    p.add_argument("--client-max-window-bits", type=int)


def extensions(args, factory_class):
    """(compression, extensions) for connect() or serve(): websockets' default deflate, or a
    factory of `factory_class` with the parameters given, or no compression."""
    if args.compression == "none":
        return None, None
    custom = (
        args.server_no_context_takeover
        or args.client_no_context_takeover
        or args.server_max_window_bits is not None
        or args.client_max_window_bits is not None
    )
    if not custom:
        return "deflate", None
    factory = factory_class(
        server_no_context_takeover=args.server_no_context_takeover,
        client_no_context_takeover=args.client_no_context_takeover,
        server_max_window_bits=args.server_max_window_bits,
        client_max_window_bits=args.client_max_window_bits,
        compress_settings={"memLevel": 5},
    )
    return "deflate", [factory]
