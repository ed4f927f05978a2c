//! Codec benchmarks: decode + unmask and encode + mask beside a plain copy of the same bytes,
//! UTF-8 validation, and reassembly of a 64-fragment message.
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
            b.iter(|| {
                // Unmasking twice restores the bytes, so every iteration does the same work.
                let Decoded::Header(h, n) = FrameHeader::decode(black_box(&buf)) else {
                    unreachable!()
                };
                let end = n + h.payload_len as usize;
                if let Some(key) = h.mask {
                    apply_mask(&mut buf[n..end], key, 0);
                }
                black_box(&buf);
            })
        });
    }
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
            b.iter(|| {
                out.clear();
                let mut h = FrameHeader::new(OpCode::Binary, p.len() as u64);
                h.mask = Some(KEY);
                h.encode(&mut out);
                let start = out.len();
                out.extend_from_slice(black_box(p));
                apply_mask(&mut out[start..], KEY, 0);
                black_box(&out);
            })
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
    let text = "WebSocket κόσμε 🦀 ".repeat(64 * 1024 / 24);
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("validate_64KiB_in_1KiB_chunks", |b| {
        b.iter(|| {
            let mut v = Utf8Validator::new();
            for chunk in text.as_bytes().chunks(1000) {
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
    encode_mask,
    connection_receive,
    utf8,
    reassembly
);
criterion_main!(benches);
