"""A python-socketio 5 server (Engine.IO 4, on aiohttp) for crates/wsi/tests/decoders.rs.

    python socketio_server.py

Listens on 127.0.0.1 on a free port and prints one JSON line per event on stdout: first
{"event": "listening", "port": N}, then what the clients did (connects with their auth,
events with their arguments, disconnects with the reason). Exits when stdin closes.

- namespace "/": a connect is printed;
- namespace "/chat": a connect is printed with its auth; the server then emits "welcome"
  {"text": "hi SID"} and "file" with a binary attachment (bytes, and a dict holding bytes);
- "hello" on "/chat" is printed and acknowledged with ["hello back", ARGS...];
- "echo" on "/chat" is emitted back as "echoed" with the same arguments;
- the server pings every 0.4 s and gives up after 0.6 s without a pong, so a client that
  does not answer Engine.IO pings is disconnected ("ping timeout") within a second.
"""

import asyncio
import json
import sys

import socketio
from aiohttp import web

FILE_BYTES = bytes([0, 1, 2, 3, 250, 255]) + b"binary"

sio = socketio.AsyncServer(async_mode="aiohttp", ping_interval=0.4, ping_timeout=0.6)
app = web.Application()
sio.attach(app)


def report(**event):
    print(json.dumps(event), flush=True)


@sio.event
async def connect(sid, environ, auth):
    report(event="connect", namespace="/", auth=auth)


@sio.event
async def disconnect(sid, reason=None):
    report(event="disconnect", namespace="/", reason=str(reason))


@sio.on("connect", namespace="/chat")
async def chat_connect(sid, environ, auth):
    report(event="connect", namespace="/chat", auth=auth)

    async def greet():
        await asyncio.sleep(0.05)
        await sio.emit("welcome", {"text": "hi " + sid}, to=sid, namespace="/chat")
        await sio.emit("file", (FILE_BYTES, {"name": "f.bin", "data": b"\x07\x08"}), to=sid, namespace="/chat")

    asyncio.ensure_future(greet())


@sio.on("disconnect", namespace="/chat")
async def chat_disconnect(sid, reason=None):
    report(event="disconnect", namespace="/chat", reason=str(reason))


@sio.on("hello", namespace="/chat")
async def hello(sid, *args):
    report(event="hello", namespace="/chat", args=list(args))
    return ["hello back"] + list(args)


@sio.on("echo", namespace="/chat")
async def echo(sid, *args):
    report(event="echo", namespace="/chat", args=list(args))
    await sio.emit("echoed", args, to=sid, namespace="/chat")


async def main():
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    report(event="listening", port=port)
    loop = asyncio.get_running_loop()
    # Until stdin closes (the test ends).
    await loop.run_in_executor(None, sys.stdin.read)
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
