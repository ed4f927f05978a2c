#!/usr/bin/env python3
"""A small client on Python `websockets`, for crates/wsi/tests/python.rs: connects to a URL,
sends the messages given, receives N messages, closes and prints what happened.

    wsi_client.py URL [--subprotocol NAME]... [--send TEXT]... [--send-hex HEX]...
                  [--receive N] [--close-code C] [--insecure] [--timeout SECS]

The messages go out in the order given (texts first, then binaries). With --insecure (wss://
only) the server's certificate is not checked; its SHA-256 is reported either way. Prints one
JSON report on its last stdout line:

    {"ok": bool, "websockets": "17.4", "subprotocol": "..." | null,
     "response_extensions": "..." | null, "received": [{"text": "..."} | {"hex": "..."}],
     "close_code": C, "close_reason": "...", "cert_sha256": "hex" | null, "errors": ["..."]}

Exit status: 0 if it connected, exchanged and closed, 1 otherwise; bounded by --timeout.
"""

import argparse
import asyncio
import hashlib
import ssl
import sys
import traceback

import websockets
from websockets.asyncio.client import connect

from common import emit


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("url")
    p.add_argument("--subprotocol", action="append", default=[])
    p.add_argument("--send", action="append", default=[])
    p.add_argument("--send-hex", action="append", default=[])
    p.add_argument("--receive", type=int, default=0)
    p.add_argument("--close-code", type=int, default=1000)
    p.add_argument("--insecure", action="store_true")
    p.add_argument("--timeout", type=float, default=15)
    return p.parse_args()


async def run(args, report):
    context = None
    if args.url.startswith("wss://"):
        context = ssl.create_default_context()
        if args.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    ws = await connect(
        args.url,
        ssl=context,
        subprotocols=args.subprotocol or None,
        compression=None,
        ping_interval=None,
        open_timeout=10,
        close_timeout=10,
    )
    report["subprotocol"] = ws.subprotocol
    report["response_extensions"] = ws.response.headers.get("Sec-WebSocket-Extensions")
    ssl_object = ws.transport.get_extra_info("ssl_object")
    if ssl_object is not None:
        der = ssl_object.getpeercert(binary_form=True)
        report["cert_sha256"] = hashlib.sha256(der).hexdigest() if der else None
    for text in args.send:
        await ws.send(text)
    for hex_ in args.send_hex:
        await ws.send(bytes.fromhex(hex_))
    for _ in range(args.receive):
        message = await ws.recv()
        if isinstance(message, str):
            report["received"].append({"text": message})
        else:
            report["received"].append({"hex": message.hex()})
    await ws.close(code=args.close_code)
    report["close_code"] = ws.close_code
    report["close_reason"] = ws.close_reason


async def main():
    args = parse_args()
    report = {
        "ok": False,
        "websockets": websockets.__version__,
        "url": args.url,
        "subprotocol": None,
        "response_extensions": None,
        "received": [],
        "close_code": None,
        "close_reason": None,
        "cert_sha256": None,
        "errors": [],
    }
    try:
        await asyncio.wait_for(run(args, report), args.timeout)
        report["ok"] = True
    except Exception as e:  # noqa: BLE001 - every failure ends up in the report
        report["errors"].append(f"{type(e).__name__}: {e}")
        traceback.print_exc()
    emit(report)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
