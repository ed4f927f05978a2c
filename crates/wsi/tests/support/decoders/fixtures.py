"""Payloads encoded by the reference Python encoders, for crates/wsi/tests/decoders.rs.

    python fixtures.py DIR      # DIR holds chat.proto and imports/common.proto

Prints one JSON object: for each format a list of {"name", "hex", "expect"} — the payload's
bytes and the JSON the decoder must make of it (written here from the values encoded, in the
shape ws_inspector_core::decode::Node::to_json gives: bytes as base64, MessagePack extension
values as {"ext", "data"}, CBOR tags as {"tag", "value"}) — and "descriptor_set", the file
protoc (from grpcio-tools) compiled chat.proto into.
"""

import base64
import datetime
import json
import os
import sys
from importlib import metadata

import cbor2
import msgpack
from grpc_tools import protoc


def b64(data):
    return base64.b64encode(data).decode()


def fixture(name, data, expect):
    return {"name": name, "hex": data.hex(), "expect": expect}


def msgpack_fixtures():
    value = {
        "name": "ann",
        "n": 7,
        "neg": -200,
        "big": 2**64 - 1,
        "f": 1.5,
        "ok": True,
        "none": None,
        "list": [1, "two", 3.25],
        "bin": b"\x00\xff",
        "nested": {"z": 1, "a": 2},
        "unicode": "h\u00e9llo \u2603",
    }
    expect = dict(value, bin=b64(b"\x00\xff"))
    ts = msgpack.Timestamp(1700000000, 5)
    return [
        fixture("map of every scalar", msgpack.packb(value, use_bin_type=True), expect),
        fixture(
            "extension type 5",
            msgpack.packb([msgpack.ExtType(5, b"\x01\x02\x03")]),
            [{"ext": 5, "data": b64(b"\x01\x02\x03")}],
        ),
        fixture("timestamp (extension -1)", msgpack.packb(ts), {"ext": -1, "data": b64(ts.to_bytes())}),
        fixture("integer keys", msgpack.packb({1: "a", -2: "b"}), {"1": "a", "-2": "b"}),
        fixture("float 32", msgpack.packb(0.5, use_single_float=True), 0.5),
        fixture("str 16 and bin 16", msgpack.packb(["x" * 300, b"y" * 300]), ["x" * 300, b64(b"y" * 300)]),
    ]


def cbor_fixtures():
    value = {
        "name": "ann",
        "n": 7,
        "neg": -200,
        "big": 2**64 - 1,
        "f": 1.5,
        "ok": False,
        "none": None,
        "list": [1, "two", 3.25],
        "bytes": b"\x00\xff",
        "nested": {"z": 1, "a": 2},
    }
    expect = dict(value, bytes=b64(b"\x00\xff"))
    when = datetime.datetime(2013, 3, 21, 20, 4, 0, tzinfo=datetime.timezone.utc)
    return [
        fixture("map of every scalar", cbor2.dumps(value), expect),
        fixture("epoch tag 1", cbor2.dumps(cbor2.CBORTag(1, 1363896240)), {"tag": 1, "value": 1363896240}),
        fixture("datetime (tag 0)", cbor2.dumps(when), {"tag": 0, "value": "2013-03-21T20:04:00Z"}),
        fixture("bignum (tag 2)", cbor2.dumps(2**70), {"tag": 2, "value": b64((2**70).to_bytes(9, "big"))}),
        fixture("undefined and simple 16", cbor2.dumps([cbor2.undefined, cbor2.CBORSimpleValue(16)]), [None, {"simple": 16}]),
        fixture("half float (canonical)", cbor2.dumps(1.5, canonical=True), 1.5),
        fixture("integer keys", cbor2.dumps({1: "a", -2: "b"}), {"1": "a", "-2": "b"}),
    ]


def protobuf_fixtures(folder):
    out = os.path.join(folder, "protoc-out")
    os.makedirs(out, exist_ok=True)
    descriptor_set = os.path.join(out, "chat.pb")
    status = protoc.main(
        [
            "protoc",
            "-I" + os.path.join(folder, "imports"),
            "-I" + folder,
            "--python_out=" + out,
            "--include_imports",
            "--descriptor_set_out=" + descriptor_set,
            os.path.join(folder, "chat.proto"),
            os.path.join(folder, "imports", "common.proto"),
        ]
    )
    if status != 0:
        raise SystemExit("protoc failed: %d" % status)
    sys.path.insert(0, out)
    import chat_pb2  # noqa: E402 (generated above)

    m = chat_pb2.Message(
        text="hello",
        id=-5,
        scores=[1, 2, 300],
        kind=chat_pb2.Message.SHOUT,
        blob=b"\x00\xff",
        delta=-3,
        ratio=0.25,
    )
    m.author.name = "ann"
    m.counts["a"] = 1
    m.cc.add(name="bob")
    m.cc.add(name="cy")
    full = {
        "text": "hello",
        "id": -5,
        "scores": [1, 2, 300],
        "kind": "SHOUT",
        "author": {"name": "ann"},
        "counts": {"a": 1},
        "blob": b64(b"\x00\xff"),
        "delta": -3,
        "ratio": 0.25,
        "cc": [{"name": "bob"}, {"name": "cy"}],
    }
    slim_source = chat_pb2.Message(text="hi", id=42, scores=[7], blob=b"ab")
    return [
        dict(fixture("chat.Message with every kind of field", m.SerializeToString(), full), type="chat.Message"),
        dict(
            fixture("chat.Message read as chat.Slim: unknown fields by number", slim_source.SerializeToString(),
                    {"text": "hi", "2": 42, "3": b64(b"\x07"), "7": b64(b"ab")}),
            type="chat.Slim",
        ),
        dict(fixture("a chat.Message read as chat.Counter", chat_pb2.Message(text="hello").SerializeToString(), None),
             type="chat.Counter"),
    ], descriptor_set


def main():
    folder = sys.argv[1]
    protobuf, descriptor_set = protobuf_fixtures(folder)
    print(
        json.dumps(
            {
                "msgpack": msgpack_fixtures(),
                "cbor": cbor_fixtures(),
                "protobuf": protobuf,
                "descriptor_set": descriptor_set,
                "versions": {name: metadata.version(name) for name in ("msgpack", "cbor2", "protobuf", "grpcio-tools")},
            }
        )
    )


if __name__ == "__main__":
    main()
