//! [`Config::deliver_fragments`]: a fragmented message given frame by frame, with every check
//! of a whole message kept — UTF-8 across the fragments, the message and fragment limits,
//! permessage-deflate's shared window — and a message in one frame still given whole.

mod support;

use proptest::prelude::*;
use support::*;
use ws_proto::{Config, Connection, Event, MessageKind, Negotiated, Role};

fn fragments_on(c: &mut Config) {
    c.deliver_fragments = true;
}

/// Text fragment.
fn tf(data: &str, fin: bool) -> Ev {
    Ev::Fragment(true, data.as_bytes().to_vec(), fin)
}

/// The events other than frame reports.
fn feed(conn: &mut Connection, bytes: &[u8]) -> Vec<Ev> {
    conn.receive_data(bytes).expect("valid input");
    events(conn)
        .into_iter()
        .filter(|e| !matches!(e, Ev::Frame(..)))
        .collect()
}

#[test]
fn fragments_are_given_as_they_arrive_with_controls_between_them() {
    let mut server = server(config(fragments_on));
    let wire = frames(&[
        RawFrame::text("Hel").fin(false).client(),
        RawFrame::ping(b"p").client(),
        RawFrame::cont("lo").client(),
        RawFrame::binary(b"whole").client(),
    ]);
    assert_eq!(
        feed(&mut server, &wire),
        [
            tf("Hel", false),
            Ev::Ping(b"p".to_vec()),
            tf("lo", true),
            binary(b"whole")
        ]
    );
}

#[test]
fn each_fragment_is_given_before_the_next_frame_is_complete() {
    let mut server = server(config(fragments_on));
    let first = frames(&[RawFrame::binary(b"abc").fin(false).client()]);
    let second = frames(&[RawFrame::cont(b"def").client()]);
    let (head, tail) = second.split_at(4);
    assert_eq!(
        feed(&mut server, &[&first[..], head].concat()),
        [Ev::Fragment(false, b"abc".to_vec(), false)]
    );
    assert_eq!(
        feed(&mut server, tail),
        [Ev::Fragment(false, b"def".to_vec(), true)]
    );
}

#[test]
fn a_character_split_across_fragments_is_fine_and_bad_utf8_still_fails_with_1007() {
    let mut server = server(config(fragments_on));
    let e_acute = "é".as_bytes();
    let wire = frames(&[
        RawFrame::text(&e_acute[..1]).fin(false).client(),
        RawFrame::cont(&e_acute[1..]).client(),
    ]);
    assert_eq!(
        feed(&mut server, &wire),
        [
            Ev::Fragment(true, e_acute[..1].to_vec(), false),
            Ev::Fragment(true, e_acute[1..].to_vec(), true)
        ]
    );

    let mut server = server_fragments();
    server
        .receive_data(&frames(&[RawFrame::text("ok ").fin(false).client()]))
        .expect("valid so far");
    assert_eq!(
        events(&mut server)
            .into_iter()
            .filter(|e| !matches!(e, Ev::Frame(..)))
            .collect::<Vec<_>>(),
        [tf("ok ", false)]
    );
    assert_input_fails(
        &mut server,
        &frames(&[RawFrame::cont(b"\xff").client()]),
        1007,
    );
}

fn server_fragments() -> Connection {
    support::server(config(fragments_on))
}

#[test]
fn the_message_limit_counts_the_whole_message() {
    let mut server = support::server(config(|c| {
        c.deliver_fragments = true;
        c.max_message_size = 10;
    }));
    assert_eq!(
        feed(
            &mut server,
            &frames(&[RawFrame::binary(b"123456").fin(false).client()])
        ),
        [Ev::Fragment(false, b"123456".to_vec(), false)]
    );
    assert_input_fails(
        &mut server,
        &frames(&[RawFrame::cont(b"789012").client()]),
        1009,
    );
}

#[test]
fn off_by_default_the_message_comes_whole() {
    let mut server = support::server(Config::default());
    let wire = frames(&[
        RawFrame::text("Hel").fin(false).client(),
        RawFrame::cont("lo").client(),
    ]);
    assert_eq!(feed(&mut server, &wire), [text("Hello")]);
}

#[test]
fn pausing_stops_after_each_fragment() {
    let mut server = support::server(config(|c| {
        c.deliver_fragments = true;
        c.pause_after_message = true;
    }));
    let wire = frames(&[
        RawFrame::text("a").fin(false).client(),
        RawFrame::cont("b").client(),
    ]);
    assert_eq!(feed(&mut server, &wire), [tf("a", false)]);
    assert!(server.is_paused());
    assert_eq!(feed(&mut server, &[]), [tf("b", true)]);
}

/// An open pair of connections that agreed on permessage-deflate; the receiver gives
/// fragments.
fn deflate_pair(answer: &str) -> (Connection, Connection) {
    let negotiated = || Negotiated {
        protocol: None,
        extensions: vec![answer.to_owned()],
    };
    let mut sender = Connection::open(Role::Client, Config::default(), negotiated());
    sender.set_mask_source(Box::new(ws_proto::FixedMask([1, 2, 3, 4])));
    let receiver = Connection::open(Role::Server, config(fragments_on), negotiated());
    assert!(sender.deflate().is_some() && receiver.deflate().is_some());
    (sender, receiver)
}

/// Sends `message` in fragments of `sizes` (cycled; a 0 is an empty fragment, as Python
/// `websockets` sends to end a fragmented message) from `sender` and returns what
/// `receiver` gave: each fragment's inflated data and fin.
fn send_compressed_fragments(
    sender: &mut Connection,
    receiver: &mut Connection,
    message: &[u8],
    sizes: &[usize],
) -> Vec<(Vec<u8>, bool)> {
    let mut chunks = Vec::new();
    let mut rest = message;
    for size in sizes.iter().cycle().take(100_000) {
        let (chunk, after) = rest.split_at((*size).min(rest.len()));
        chunks.push(chunk);
        rest = after;
        if rest.is_empty() && chunks.len() >= sizes.len() {
            break;
        }
    }
    assert!(rest.is_empty(), "the sizes cover the message");
    for (i, chunk) in chunks.iter().enumerate() {
        sender
            .send_fragment(MessageKind::Binary, chunk, i + 1 == chunks.len())
            .expect("a fragment");
    }
    let wire = transmit(sender);
    assert!(wire[0] & 0x40 != 0, "the message is compressed (RSV1)");
    receiver.receive_data(&wire).expect("valid input");
    std::iter::from_fn(|| receiver.poll_event())
        .filter_map(|event| match event {
            Event::Fragment { data, fin, .. } => Some((data.to_vec(), fin)),
            Event::Binary(data) => Some((data.to_vec(), true)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_compressed_message_is_given_inflated_fragment_by_fragment() {
    let (mut sender, mut receiver) = deflate_pair("permessage-deflate");
    // Repetitive across more than one window, so later fragments refer back to earlier ones.
    let message: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let got = send_compressed_fragments(&mut sender, &mut receiver, &message, &[7000, 30_000]);
    assert!(got.len() > 3, "{} fragments", got.len());
    assert!(got[..got.len() - 1].iter().all(|(_, fin)| !fin));
    assert!(got.last().is_some_and(|(_, fin)| *fin));
    assert_eq!(got.concat_data(), message);
    // The context is kept for the next message.
    let again = send_compressed_fragments(&mut sender, &mut receiver, &message, &[50_000]);
    assert_eq!(again.concat_data(), message);
}

trait ConcatData {
    fn concat_data(&self) -> Vec<u8>;
}

impl ConcatData for Vec<(Vec<u8>, bool)> {
    fn concat_data(&self) -> Vec<u8> {
        self.iter().flat_map(|(data, _)| data.clone()).collect()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the fragment sizes and window, the fragments join into the message sent.
    #[test]
    fn compressed_fragments_join_into_the_message(
        message in proptest::collection::vec(0u8..8, 0..70_000),
        sizes in proptest::collection::vec(
            prop_oneof![Just(0usize), 1usize..40_000],
            1..6
        ).prop_filter("some size is not 0", |sizes| sizes.iter().any(|s| *s > 0)),
        no_takeover in any::<bool>(),
    ) {
        let answer = if no_takeover {
            "permessage-deflate; client_no_context_takeover"
        } else {
            "permessage-deflate"
        };
        let (mut sender, mut receiver) = deflate_pair(answer);
        let got = send_compressed_fragments(&mut sender, &mut receiver, &message, &sizes);
        prop_assert_eq!(got.concat_data(), message.clone());
        let again = send_compressed_fragments(&mut sender, &mut receiver, &message, &sizes);
        prop_assert_eq!(again.concat_data(), message);
    }
}

/// A message whose last fragment is empty, after fragments that each ended in a sync
/// flush: the last frame must still end the message so that the receiver's `00 00 ff ff`
/// completes it (RFC 7692 §7.2.1). Python `websockets` sends such a final frame after every
/// fragmented message; relayed, it once left the receiver's inflater inside a stored block
/// ("invalid stored block lengths" on the next message).
#[test]
fn an_empty_last_fragment_and_an_empty_message_keep_the_stream_whole() {
    for answer in [
        "permessage-deflate",
        "permessage-deflate; client_no_context_takeover",
    ] {
        let (mut sender, mut receiver) = deflate_pair(answer);
        sender
            .send_fragment(MessageKind::Binary, b"first part", false)
            .unwrap();
        sender
            .send_fragment(MessageKind::Binary, b"", false)
            .unwrap();
        sender
            .send_fragment(MessageKind::Binary, b"", true)
            .unwrap();
        sender.send_binary(b"").unwrap();
        sender.send_binary(b"the next message").unwrap();
        let wire = transmit(&mut sender);
        receiver.receive_data(&wire).expect("valid input");
        let got: Vec<(Vec<u8>, bool)> = std::iter::from_fn(|| receiver.poll_event())
            .filter_map(|event| match event {
                Event::Fragment { data, fin, .. } => Some((data.to_vec(), fin)),
                Event::Binary(data) => Some((data.to_vec(), true)),
                _ => None,
            })
            .collect();
        assert_eq!(
            got,
            [
                (b"first part".to_vec(), false),
                (Vec::new(), false),
                (Vec::new(), true),
                (Vec::new(), true),
                (b"the next message".to_vec(), true),
            ],
            "{answer}"
        );
    }
}
