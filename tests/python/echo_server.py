#!/usr/bin/env python3
"""An echo server on Python `websockets` with permessage-deflate, for
tests/tests/python_websockets.rs (our client against an independent server).

    echo_server.py [--port 0] [--compression deflate|none]
                   [--server-no-context-takeover] [--client-no-context-takeover]
                   [--server-max-window-bits N] [--client-max-window-bits N]

Without any of the four parameters it runs websockets' own default
(`compression="deflate"`: server_max_window_bits=12, client_max_window_bits=12); with any of
them, exactly those (the others unset). Binds 127.0.0.1 only. Prints one JSON object per line:

    {"event": "listening", "port": P, "websockets": "17.4", "extensions": "..."}
    {"event": "open", "id": N, "path": "/...", "request_extensions": "...",
     "response_extensions": "..." | null, "deflate": {...} | null}
    {"event": "closed", "id": N, "messages": K, "code": C, "reason": "...",
     "frames_in": {"frames", "rsv1_frames", "wire_bytes", "plain_bytes"}}

Stops when its standard input closes (the test went away) or after --lifetime seconds.
"""

import argparse
import asyncio
import itertools
import sys
import threading

import websockets
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory

from common import MAX_SIZE, add_deflate_args, describe, emit, extensions, frame_stats, pmd


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, default=0)
    add_deflate_args(p)
    p.add_argument("--lifetime", type=float, default=300, help="seconds before exiting anyway")
    return p.parse_args()


async def main():
    args = parse_args()
    compression, exts = extensions(args, ServerPerMessageDeflateFactory)
    ids = itertools.count(1)

    async def echo(ws):
        n = next(ids)
        ext = pmd(ws)
        emit({
            "event": "open",
            "id": n,
            "path": ws.request.path,
            "request_extensions": ws.request.headers.get("Sec-WebSocket-Extensions"),
            "response_extensions": ws.response.headers.get("Sec-WebSocket-Extensions"),
            "deflate": describe(ext, is_server=True),
        })
        count = 0
        try:
            async for message in ws:
                await ws.send(message)
                count += 1
        except ConnectionClosed:
            pass
        emit({
            "event": "closed",
            "id": n,
            "messages": count,
            "code": ws.close_code,
            "reason": ws.close_reason,
            "frames_in": frame_stats(ext),
        })

    loop = asyncio.get_running_loop()
    stop = loop.create_future()

    def watch_stdin():
        sys.stdin.buffer.read()  # returns at EOF: the parent is gone or done
        loop.call_soon_threadsafe(lambda: stop.done() or stop.set_result("stdin closed"))

    threading.Thread(target=watch_stdin, daemon=True).start()
    async with serve(
        echo,
        "127.0.0.1",
        args.port,
        compression=compression,
        extensions=exts,
        max_size=MAX_SIZE,
        ping_interval=None,
        open_timeout=10,
        close_timeout=10,
    ) as server:
        port = server.sockets[0].getsockname()[1]
        emit({
            "event": "listening",
            "port": port,
            "websockets": websockets.__version__,
            "compression": compression,
            "extensions": [repr(vars(f)) for f in (exts or [])],
        })
        try:
            reason = await asyncio.wait_for(stop, args.lifetime)
        except asyncio.TimeoutError:
            reason = "lifetime over"
        print(f"echo_server: stopping ({reason})", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())
