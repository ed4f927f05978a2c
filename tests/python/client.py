#!/usr/bin/env python3
"""A client on Python `websockets` with permessage-deflate, for tests/tests/python_websockets.rs
(an independent client against our server, which must echo every message).

    client.py URL [--compression deflate|none]
              [--server-no-context-takeover] [--client-no-context-takeover]
              [--server-max-window-bits N] [--client-max-window-bits N] [--seed S]

Without any of the four parameters it offers websockets' default
(`permessage-deflate; client_max_window_bits`); with any of them, exactly those. Sends the
script of common.script() (text and binary, empty to 1 MiB, repetitive and random, two
fragmented), checks every echo and answers a ping. Prints one JSON report on its last stdout
line:

    {"ok": bool, "websockets": "17.4", "request_extensions": "...",
     "response_extensions": "..." | null, "deflate": {...} | null,
     "messages": [{"name", "kind", "size", "ok", "frames", "rsv1_frames", "wire_bytes"}],
     "ping": bool, "close_code": C, "errors": ["..."]}

where frames/rsv1_frames/wire_bytes describe the echo's frames as received. Exit status: 0 if
everything passed, 1 if a check failed, 2 if it could not connect; the run is bounded by
--timeout seconds.
"""

import argparse
import asyncio
import sys
import traceback

import websockets
from websockets.asyncio.client import connect
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

from common import MAX_SIZE, add_deflate_args, describe, emit, extensions, frame_stats, pmd, script

STEP = 30  # seconds for any one step


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("url")
    add_deflate_args(p)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--timeout", type=float, default=120, help="limit for the whole run")
    return p.parse_args()


async def run(args, report):
    compression, exts = extensions(args, ClientPerMessageDeflateFactory)
    try:
        ws = await connect(
            args.url,
            compression=compression,
            extensions=exts,
            max_size=MAX_SIZE,
            ping_interval=None,
            open_timeout=STEP,
            close_timeout=STEP,
        )
    except Exception as e:  # noqa: BLE001 - reported, exit status 2
        report["errors"].append(f"connect: {e!r}")
        return 2
    async with ws:
        ext = pmd(ws)
        report["request_extensions"] = ws.request.headers.get("Sec-WebSocket-Extensions")
        report["response_extensions"] = ws.response.headers.get("Sec-WebSocket-Extensions")
        report["deflate"] = describe(ext, is_server=False)
        for name, message in script(args.seed):
            fragments = message if isinstance(message, list) else None
            whole = message if fragments is None else type(message[0])().join(message)
            kind = "text" if isinstance(whole, str) else "binary"
            entry = {"name": name, "kind": kind, "size": len(whole), "ok": False}
            report["messages"].append(entry)
            before = frame_stats(ext)
            await asyncio.wait_for(ws.send(fragments if fragments is not None else whole), STEP)
            echo = await asyncio.wait_for(ws.recv(), STEP)
            after = frame_stats(ext)
            for key in ("frames", "rsv1_frames", "wire_bytes"):
                entry[key] = after[key] - before[key]
            if type(echo) is not type(whole):
                report["errors"].append(f"{name}: a {kind} message came back as {type(echo).__name__}")
            elif echo != whole:
                report["errors"].append(f"{name}: the echo differs ({len(echo)} bytes, sent {len(whole)})")
            else:
                entry["ok"] = True
        pong = await ws.ping(b"python-websockets")
        await asyncio.wait_for(pong, STEP)
        report["ping"] = True
    report["close_code"] = ws.close_code
    return 0 if not report["errors"] and all(m["ok"] for m in report["messages"]) else 1


async def main():
    args = parse_args()
    report = {
        "ok": False,
        "websockets": websockets.__version__,
        "url": args.url,
        "request_extensions": None,
        "response_extensions": None,
        "deflate": None,
        "messages": [],
        "ping": False,
        "close_code": None,
        "errors": [],
    }
    try:
        status = await asyncio.wait_for(run(args, report), args.timeout)
    except Exception as e:  # noqa: BLE001 - every failure ends up in the report
        report["errors"].append(f"{type(e).__name__}: {e}")
        traceback.print_exc()
        status = 1
    report["ok"] = status == 0
    emit(report)
    return status


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
