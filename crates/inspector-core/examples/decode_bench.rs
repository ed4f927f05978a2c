//! `cargo run --release -p ws-inspector-core --example decode_bench -- [N]`: decoding N
//! (default 100,000) MessagePack messages of 1 KiB each into the decoded tree, and the log
//! preview line of each (`Decoded::summary`), as a log that decoded every message on
//! arrival would. Prints messages/s and MB/s for decode + summary, for decode alone, and
//! for the summary of a tree already decoded (issue 18: the log's ingest must stay
//! ≥ 200,000 frames/s).

use std::hint::black_box;
use std::time::Instant;

use clap::Parser;
use ws_inspector_core::decode::{Context, Decoder, Node, Payload, SUMMARY_LEN, msgpack};

/// Decode + summary of 1 KiB MessagePack messages.
#[derive(Debug, Parser)]
struct Args {
    /// How many messages.
    #[arg(default_value_t = 100_000)]
    count: usize,
}

/// A message like a market-data or telemetry feed's: a map of scalars, an array of
/// numbers, nested tags and a text, about 1 KiB in MessagePack.
fn message(n: usize) -> Vec<u8> {
    let mut entries = vec![
        (Node::string("id"), Node::Int(n as i128)),
        (Node::string("type"), Node::string("tick")),
        (
            Node::string("symbol"),
            Node::string(format!("SYM{:04}", n % 5000)),
        ),
        (
            Node::string("price"),
            Node::Float(100.0 + (n % 997) as f64 / 7.0),
        ),
        (Node::string("ok"), Node::Bool(!n.is_multiple_of(3))),
    ];
    entries.push((
        Node::string("samples"),
        Node::Array(
            (0..48)
                .map(|i| Node::Float(i as f64 * 1.25 + n as f64))
                .collect(),
        ),
    ));
    entries.push((
        Node::string("tags"),
        Node::Map(
            (0..12)
                .map(|i| (Node::string(format!("tag{i}")), Node::Int((n * i) as i128)))
                .collect(),
        ),
    ));
    let base = msgpack::encode(&Node::Map(entries.clone())).expect("encodable");
    // Pad with a text to exactly 1 KiB: the key "note" (5 bytes), the str header (2 bytes
    // for up to 255, else 3) and the text.
    let room = 1024 - base.len() - 5;
    let pad = if room - 2 <= 255 { room - 2 } else { room - 3 };
    entries.push((Node::string("note"), Node::string("x".repeat(pad))));
    let bytes = msgpack::encode(&Node::Map(entries)).expect("encodable");
    assert_eq!(bytes.len(), 1024, "1 KiB messages");
    bytes
}

fn main() {
    let args = Args::parse();
    // A few distinct messages, cycled (what matters is the decoding, not the generation).
    let messages: Vec<Vec<u8>> = (0..1000).map(message).collect();
    let bytes_total = (args.count * 1024) as f64;
    let codec = Decoder::MessagePack.load().expect("no schema to load");
    let mut stream = codec.stream(&Context::default());

    let started = Instant::now();
    let mut chars = 0usize;
    for i in 0..args.count {
        let decoded = stream
            .decode(Payload::Binary(&messages[i % messages.len()]))
            .expect("decodes");
        chars += black_box(decoded.summary(SUMMARY_LEN)).len();
    }
    let both = started.elapsed().as_secs_f64();

    let started = Instant::now();
    for i in 0..args.count {
        black_box(
            stream
                .decode(Payload::Binary(&messages[i % messages.len()]))
                .expect("decodes"),
        );
    }
    let decode_only = started.elapsed().as_secs_f64();

    let trees: Vec<_> = messages
        .iter()
        .map(|m| stream.decode(Payload::Binary(m)).expect("decodes"))
        .collect();
    let started = Instant::now();
    for i in 0..args.count {
        black_box(trees[i % trees.len()].summary(SUMMARY_LEN));
    }
    let summary_only = started.elapsed().as_secs_f64();

    let n = args.count as f64;
    println!(
        "decode + summary: {} messages of 1024 B in {:.3} s: {:.0} messages/s, {:.0} MB/s (summaries {} chars on average)",
        args.count,
        both,
        n / both,
        bytes_total / both / 1e6,
        chars / args.count.max(1)
    );
    println!(
        "decode only:      {:.0} messages/s, {:.0} MB/s",
        n / decode_only,
        bytes_total / decode_only / 1e6
    );
    println!("summary only:     {:.0} messages/s", n / summary_only);
}
