//! Codec benchmarks: decode + unmask and encode + mask beside a plain copy of the same bytes,
//! UTF-8 validation, and reassembly of a 64-fragment message.
//!
//! - `decode_unmask/*/{16B,1KiB,64KiB,1MiB}`: one masked frame, header decoded and payload
//!   unmasked in place, beside `copy` of the same bytes (header included).
//! - `decode_stream/*/16B`: a buffer of 1024 consecutive masked 16-byte frames, each header
//!   decoded and each payload unmasked in place; reported in frames per second, beside `copy`
//!   of the same buffer. This is the "frames/s decoding 16 B frames" figure.
//! - `encode_mask/*`: header encoded and payload masked into an output buffer, beside `copy`
//!   (`extend_from_slice`) of the payload into the same buffer.
//! - `connection_receive/*`: the whole receive path of a server `Connection` (decode, checks,
//!   unmask, events) over 10 000 frames.
//! - `utf8/*`: validation of 64 KiB of mixed-width text, whole and in 1 KiB chunks.
//! - `reassembly/*`: a 64 KiB binary message received as 64 fragments of 1 KiB.
//!
//! Run with `cargo bench -p ws-proto --bench codec`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ws_proto::bytes::BytesMut;
use ws_proto::frame::{Decoded, FrameHeader, OpCode, apply_mask};
use ws_proto::{Config, Connection, Event, FixedMask, MessageKind, Role, Utf8Validator};

const SIZES: [(usize, &str); 4] = [
    (16, "16B"),
    (1024, "1KiB"),
    (64 * 1024, "64KiB"),
    (1024 * 1024, "1MiB"),
];
const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A masked client frame carrying `len` bytes.
fn masked_frame(len: usize) -> Vec<u8> {
    let mut header = FrameHeader::new(OpCode::Binary, len as u64);
    header.mask = Some(KEY);
    let mut out = Vec::with_capacity(len + 14);
    header.encode(&mut out);
    let start = out.len();
    out.extend((0..len).map(|i| i as u8));
    apply_mask(&mut out[start..], KEY, 0);
    out
}

// The measured bodies are functions of their own (not inlined) so that a profiler such as
// callgrind can count their instructions per call: `valgrind --tool=callgrind
// --toggle-collect='codec::decode_unmask_stream' target/release/deps/codec-* --bench
// --profile-time 2 decode_stream/decode_unmask`.

/// Decodes the header at the start of `buf` and unmasks its payload in place.
#[inline(never)]
fn decode_unmask_frame(buf: &mut [u8]) {
    let Decoded::Header(h, n) = FrameHeader::decode(buf) else {
        unreachable!()
    };
    let end = n + h.payload_len as usize;
    if let Some(key) = h.mask {
        apply_mask(&mut buf[n..end], key, 0);
    }
}

/// Decodes every frame in `buf` and unmasks each payload in place; returns the frame count.
#[inline(never)]
fn decode_unmask_stream(buf: &mut [u8]) -> usize {
    let mut pos = 0;
    let mut frames = 0;
    while pos < buf.len() {
        let Decoded::Header(h, n) = FrameHeader::decode(&buf[pos..]) else {
            unreachable!()
        };
        let start = pos + n;
        let end = start + h.payload_len as usize;
        if let Some(key) = h.mask {
            apply_mask(&mut buf[start..end], key, 0);
        }
        pos = end;
        frames += 1;
    }
    frames
}

/// Writes a masked binary frame carrying `payload` into `out`, as a client sends it.
#[inline(never)]
fn encode_mask_frame(out: &mut Vec<u8>, payload: &[u8]) {
    out.clear();
    let mut h = FrameHeader::new(OpCode::Binary, payload.len() as u64);
    h.mask = Some(KEY);
    h.encode(out);
    let start = out.len();
    out.extend_from_slice(payload);
    apply_mask(&mut out[start..], KEY, 0);
}

/// What the engine does with a received frame: decode the header, unmask the payload in place
/// in the read buffer. The baseline is a plain copy of the same bytes, the least any reader
/// does with them.
fn decode_unmask(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode_unmask");
    for (len, name) in SIZES {
        let frame = masked_frame(len);
        let mut scratch = vec![0u8; frame.len()];
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_with_input(BenchmarkId::new("copy", name), &frame, |b, frame| {
            b.iter(|| {
                scratch.copy_from_slice(black_box(frame));
                black_box(&scratch);
            })
        });
        let mut buf = frame.clone();
        group.bench_function(BenchmarkId::new("decode_unmask", name), |b| {
            // Unmasking twice restores the bytes, so every iteration does the same work.
            b.iter(|| decode_unmask_frame(black_box(&mut buf)))
        });
    }
    group.finish();
}

/// Decoding a stream of small frames: header + unmask per frame over a buffer of many
/// consecutive frames, as a receive loop sees them, counted in frames.
fn decode_stream(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode_stream");
    const FRAMES: usize = 1024;
    let one = masked_frame(16);
    let wire: Vec<u8> = one
        .iter()
        .copied()
        .cycle()
        .take(one.len() * FRAMES)
        .collect();
    group.throughput(Throughput::Elements(FRAMES as u64));
    let mut scratch = vec![0u8; wire.len()];
    group.bench_with_input(BenchmarkId::new("copy", "16B"), &wire, |b, wire| {
        b.iter(|| {
            scratch.copy_from_slice(black_box(wire));
            black_box(&scratch);
        })
    });
    let mut buf = wire.clone();
    group.bench_function(BenchmarkId::new("decode_unmask", "16B"), |b| {
        // Unmasking twice restores the bytes, so every iteration does the same work.
        b.iter(|| assert_eq!(decode_unmask_stream(black_box(&mut buf)), FRAMES))
    });
    group.finish();
}

fn encode_mask(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode_mask");
    for (len, name) in SIZES {
        let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let mut out = Vec::with_capacity(len + 14);
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_with_input(BenchmarkId::new("copy", name), &payload, |b, p| {
            b.iter(|| {
                out.clear();
                out.extend_from_slice(black_box(p));
                black_box(&out);
            })
        });
        group.bench_with_input(BenchmarkId::new("encode_mask", name), &payload, |b, p| {
            b.iter(|| encode_mask_frame(&mut out, black_box(p)))
        });
    }
    group.finish();
}

/// Whole-connection receive path: a server `Connection` fed a buffer of many small frames.
fn connection_receive(c: &mut Criterion) {
    let mut group = c.benchmark_group("connection_receive");
    const FRAMES: usize = 10_000;
    for (len, name) in [(16usize, "16B"), (1024, "1KiB")] {
        let one = masked_frame(len);
        let wire: Vec<u8> = one
            .iter()
            .copied()
            .cycle()
            .take(one.len() * FRAMES)
            .collect();
        group.throughput(Throughput::Elements(FRAMES as u64));
        group.bench_function(BenchmarkId::new("binary_frames", name), |b| {
            let mut conn = Connection::open(Role::Server, Config::default(), Default::default());
            b.iter(|| {
                conn.receive_data(black_box(&wire)).unwrap();
                while let Some(e) = conn.poll_event() {
                    black_box(e);
                }
            })
        });
    }
    group.finish();
}

fn utf8(c: &mut Criterion) {
    let mut group = c.benchmark_group("utf8");
    // Exactly 64 KiB of mixed one- to four-byte characters; 1 KiB chunks split code points.
    let mut text = "WebSocket κόσμε 🦀 ".repeat(64 * 1024 / 26 + 1);
    let mut cut = 64 * 1024;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    while text.len() < 64 * 1024 {
        text.push(' ');
    }
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("validate_64KiB", |b| {
        b.iter(|| {
            let mut v = Utf8Validator::new();
            v.feed(black_box(text.as_bytes()), true).unwrap();
        })
    });
    group.bench_function("validate_64KiB_in_1KiB_chunks", |b| {
        b.iter(|| {
            let mut v = Utf8Validator::new();
            for chunk in text.as_bytes().chunks(1024) {
                v.feed(black_box(chunk), false).unwrap();
            }
            v.finish().unwrap();
        })
    });
    group.finish();
}

fn reassembly(c: &mut Criterion) {
    let mut group = c.benchmark_group("reassembly");
    // A 64 KiB binary message in 64 fragments, as a client sends it.
    let mut client = Connection::open(Role::Client, Config::default(), Default::default());
    client.set_mask_source(Box::new(FixedMask(KEY)));
    let chunk = vec![7u8; 1024];
    for i in 0..64 {
        client
            .send_fragment(MessageKind::Binary, &chunk, i == 63)
            .unwrap();
    }
    let mut wire = BytesMut::new();
    client.poll_transmit(&mut wire);
    group.throughput(Throughput::Bytes(64 * 1024));
    group.bench_function("64_fragments_of_1KiB", |b| {
        let mut server = Connection::open(Role::Server, Config::default(), Default::default());
        b.iter(|| {
            server.receive_data(black_box(&wire)).unwrap();
            let Some(Event::Binary(m)) = server.poll_event() else {
                unreachable!()
            };
            black_box(m);
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    decode_unmask,
    decode_stream,
    encode_mask,
    connection_receive,
    utf8,
    reassembly
);
criterion_main!(benches);
