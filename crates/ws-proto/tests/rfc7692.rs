//! permessage-deflate (RFC 7692), by section: negotiation in both roles, the §7.2.3 examples
//! byte for byte, RSV1 rules, fragmentation, context takeover, window sizes, and inflating
//! bounded by the message limit (a decompression bomb, with the memory it cost measured by a
//! counting allocator).

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use proptest::prelude::*;
use support::*;
use ws_proto::deflate::{self, DeflateConfig};
use ws_proto::{
    Config, Connection, DeflateProblem, Direction, Error, Event, ExtensionError, HandshakeError,
    Negotiated, ProtocolError, ResponseProblem, Role,
};

// ------------------------------------------------------------------------------------------
// A counting allocator: the bomb test reads the peak of live heap bytes.
// ------------------------------------------------------------------------------------------

struct Counting;

// Per thread: the test harness runs other tests on other threads at the same time, and
// process-wide counters added their allocations to the bomb's peak (it failed now and then,
// 1.6 MB against 1.5 MB allowed, once in 30 runs here). Memory freed on another thread than
// the one that took it makes a thread's count drift, so it is signed and only differences
// over one stretch of one thread are read.
thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

/// Adds `change` to this thread's live bytes and raises its peak; nothing while the thread's
/// counters are gone (thread exit).
fn count(change: isize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + change;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

/// Starts a new peak from this thread's live bytes now; returns them.
fn reset_peak() -> isize {
    let now = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(now));
    now
}

// SAFETY: every call is forwarded to the system allocator unchanged; only counters are kept
// (thread-locals with constant initializers and no destructor: they never allocate).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        count(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            count(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Serializes the tests that read the allocator's peak.
static MEMORY: std::sync::Mutex<()> = std::sync::Mutex::new(());

// ------------------------------------------------------------------------------------------
// Helpers
// ------------------------------------------------------------------------------------------

fn deflate_config(f: impl FnOnce(&mut DeflateConfig)) -> Config {
    let mut d = DeflateConfig::default();
    f(&mut d);
    config(|c| c.deflate = Some(d))
}

/// An open connection whose handshake agreed `answer` (a permessage-deflate element).
fn open_with(role: Role, answer: &str) -> Connection {
    let negotiated = Negotiated {
        protocol: None,
        extensions: vec![answer.to_owned()],
    };
    let mut conn = Connection::open(role, config(|c| c.report_frames = true), negotiated);
    conn.set_mask_source(Box::new(ws_proto::FixedMask([0, 0, 0, 0])));
    assert!(
        conn.deflate().is_some(),
        "{answer} should turn the extension on"
    );
    conn
}

/// Server frames (unmasked) as the RFC prints them.
fn feed(conn: &mut Connection, bytes: &[u8]) -> Vec<Ev> {
    conn.receive_data(bytes).expect("valid input");
    events(conn)
        .into_iter()
        .filter(|e| !matches!(e, Ev::Frame(..)))
        .collect()
}

/// A client frame: `bytes` is a server-style frame; mask it with a zero key.
fn as_client(bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![bytes[0], bytes[1] | 0x80];
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&bytes[2..]);
    out
}

/// A pair that negotiated with these configs; asserts it was agreed.
fn deflate_pair(client: Config, server: Config) -> Pair {
    let mut client = client;
    let mut server = server;
    client.report_frames = true;
    server.report_frames = true;
    let pair = Pair::connect_with(client, server);
    assert!(pair.client.deflate().is_some(), "client did not agree");
    assert_eq!(pair.client.deflate(), pair.server.deflate());
    pair
}

fn message_events(events: Vec<Ev>) -> Vec<Ev> {
    events
        .into_iter()
        .filter(|e| !matches!(e, Ev::Frame(..)))
        .collect()
}

/// Text that compresses well but is not trivial.
fn json_like(n: usize) -> String {
    let mut s = String::new();
    let mut i = 0u32;
    while s.len() < n {
        s.push_str(&format!(
            "{{\"id\":{i},\"name\":\"item-{}\",\"ok\":true}},",
            i.wrapping_mul(2654435761) % 1000
        ));
        i += 1;
    }
    s.truncate(n);
    s
}

/// Bytes that do not compress.
fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

// ------------------------------------------------------------------------------------------
// §5, §7.1: negotiation
// ------------------------------------------------------------------------------------------

mod section_7_1_negotiation {
    use super::*;

    #[test]
    fn the_client_offers_and_the_server_answers() {
        let mut pair = Pair::connecting(
            deflate_config(|_| {}),
            deflate_config(|d| d.client_max_window_bits = Some(12)),
        );
        pair.step();
        let request = String::from_utf8(pair.client_sent.clone()).unwrap();
        assert!(
            request.contains(
                "sec-websocket-extensions: permessage-deflate; client_max_window_bits\r\n"
            ) || request.contains(
                "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
            ),
            "{request}"
        );
        pair.accept_pending(None);
        pair.step();
        let response = String::from_utf8(pair.server_sent.clone()).unwrap();
        assert!(
            response.contains("permessage-deflate; client_max_window_bits=12\r\n"),
            "{response}"
        );
        assert_eq!(pair.client_events, [Ev::Open]);
        let agreed = pair.client.deflate().copied().unwrap();
        assert_eq!(agreed.client_max_window_bits, Some(12));
        assert_eq!(pair.server.deflate(), Some(&agreed));
        assert_eq!(
            pair.client.extensions(),
            ["permessage-deflate; client_max_window_bits=12"]
        );
    }

    #[test]
    fn without_config_nothing_is_offered_or_accepted() {
        let mut pair = Pair::connect_with(Config::default(), deflate_config(|_| {}));
        assert!(pair.client.deflate().is_none());
        assert!(pair.server.deflate().is_none());
        pair.client.send_text("plain").unwrap();
        pair.drive();
        assert_eq!(message_events(pair.take_server_events()), [text("plain")]);
        // A server without the option declines an offer.
        let pair = Pair::connect_with(deflate_config(|_| {}), Config::default());
        assert!(pair.client.deflate().is_none());
    }

    #[test]
    fn the_server_takes_the_first_acceptable_of_several_offers() {
        let (mut server, req) = server_with_request(
            deflate_config(|_| {}),
            "Sec-WebSocket-Extensions: permessage-deflate; bogus, \
             permessage-deflate; server_max_window_bits=10; client_max_window_bits, \
             permessage-deflate\r\n",
        );
        assert_eq!(req.upgrade.extensions.len(), 3);
        server
            .accept(ws_proto::handshake::accept_response(&req.upgrade, None))
            .unwrap();
        let sent = String::from_utf8(transmit(&mut server)).unwrap();
        assert!(
            sent.contains("permessage-deflate; server_max_window_bits=10\r\n"),
            "{sent}"
        );
        assert_eq!(server.deflate().unwrap().server_max_window_bits, Some(10));
    }

    #[test]
    fn malformed_duplicate_or_unknown_offers_are_declined() {
        for offer in [
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; client_max_window_bits=0",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; client_max_window_bits; client_max_window_bits=9",
            "permessage-deflate; server_no_context_takeover=yes",
            "permessage-deflate; x-unknown",
        ] {
            let (mut server, req) = server_with_request(
                deflate_config(|_| {}),
                &format!("Sec-WebSocket-Extensions: {offer}\r\n"),
            );
            server
                .accept(ws_proto::handshake::accept_response(&req.upgrade, None))
                .unwrap();
            let sent = String::from_utf8(transmit(&mut server)).unwrap();
            assert!(!sent.contains("permessage-deflate"), "{offer}: {sent}");
            assert!(server.deflate().is_none());
        }
    }

    fn answer(offer_config: Config, answer: &str) -> Result<(), Error> {
        let mut client = client(offer_config);
        client.receive_data(
            response_101(&format!("Sec-WebSocket-Extensions: {answer}\r\n")).as_bytes(),
        )
    }

    /// The problem a client finds in a 101 answer.
    #[track_caller]
    fn answer_problem(offer_config: Config, answer_element: &str) -> ResponseProblem {
        match answer(offer_config, answer_element) {
            Err(Error::Handshake(e)) => match *e {
                HandshakeError::InvalidResponse { problem, .. } => problem,
                other => panic!("{answer_element}: expected InvalidResponse, got {other:?}"),
            },
            other => panic!("{answer_element}: expected a handshake failure, got {other:?}"),
        }
    }

    /// The permessage-deflate problem a client finds in a 101 answer.
    #[track_caller]
    fn deflate_problem(offer_config: Config, answer_element: &str) -> DeflateProblem {
        match answer_problem(offer_config, answer_element) {
            ResponseProblem::Deflate(problem) => problem,
            other => panic!("{answer_element}: expected a deflate problem, got {other:?}"),
        }
    }

    #[test]
    fn the_client_fails_on_an_answer_that_breaks_the_rules() {
        let offer = deflate_config(|_| {});
        let name = |n: &str| n.to_owned();
        for (bad, expected) in [
            (
                "permessage-deflate; unknown",
                DeflateProblem::UnknownParameter {
                    name: name("unknown"),
                },
            ),
            (
                "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
                DeflateProblem::DuplicateParameter {
                    name: name("server_no_context_takeover"),
                },
            ),
            (
                "permessage-deflate; server_max_window_bits",
                DeflateProblem::MissingValue {
                    name: name("server_max_window_bits"),
                },
            ),
            (
                "permessage-deflate; server_max_window_bits=99",
                DeflateProblem::InvalidWindowBits {
                    name: name("server_max_window_bits"),
                    value: name("99"),
                },
            ),
            (
                "permessage-deflate; client_max_window_bits",
                DeflateProblem::MissingValue {
                    name: name("client_max_window_bits"),
                },
            ),
            (
                "permessage-deflate; server_no_context_takeover=yes",
                DeflateProblem::UnexpectedValue {
                    name: name("server_no_context_takeover"),
                },
            ),
            (
                "permessage-deflate; client_max_window_bits=\"10",
                DeflateProblem::MalformedValue {
                    name: name("client_max_window_bits"),
                    value: name("\"10"),
                },
            ),
        ] {
            assert_eq!(deflate_problem(offer.clone(), bad), expected, "{bad}");
        }
        assert_eq!(
            answer_problem(offer, "permessage-deflate, permessage-deflate"),
            ResponseProblem::DeflateTwice
        );
        // client_max_window_bits in the answer needs it in the offer.
        let no_client_bits = deflate_config(|d| d.client_max_window_bits = None);
        let problem = deflate_problem(
            no_client_bits,
            "permessage-deflate; client_max_window_bits=10",
        );
        assert_eq!(
            problem,
            DeflateProblem::ClientWindowBitsNotOffered { value: 10 }
        );
        assert!(problem.to_string().contains("was not offered"), "{problem}");
        // The server may not take a larger window than asked, nor drop a requested
        // server_no_context_takeover.
        let asks = deflate_config(|d| {
            d.server_max_window_bits = Some(10);
            d.server_no_context_takeover = true;
        });
        assert_eq!(
            deflate_problem(
                asks.clone(),
                "permessage-deflate; server_no_context_takeover; server_max_window_bits=11"
            ),
            DeflateProblem::ServerWindowBitsTooLarge { asked: 10, got: 11 }
        );
        assert_eq!(
            deflate_problem(
                asks.clone(),
                "permessage-deflate; server_no_context_takeover"
            ),
            DeflateProblem::ServerWindowBitsMissing { asked: 10 }
        );
        assert_eq!(
            deflate_problem(
                asks.clone(),
                "permessage-deflate; server_max_window_bits=10"
            ),
            DeflateProblem::ServerNoContextTakeoverIgnored
        );
        assert!(
            answer(
                asks,
                "permessage-deflate; server_no_context_takeover; server_max_window_bits=9"
            )
            .is_ok()
        );
        // Accepting an extension that was never offered is refused as before.
        assert_eq!(
            answer_problem(Config::default(), "permessage-deflate"),
            ResponseProblem::ExtensionNotOffered {
                name: name("permessage-deflate")
            }
        );
    }

    #[test]
    fn an_unknown_parameter_in_the_answer_is_named() {
        let err = answer(deflate_config(|_| {}), "permessage-deflate; x-turbo").unwrap_err();
        let Error::Handshake(e) = &err else {
            panic!("{err:?}");
        };
        assert!(
            matches!(
                &**e,
                HandshakeError::InvalidResponse {
                    problem: ResponseProblem::Deflate(DeflateProblem::UnknownParameter { name }),
                    ..
                } if name == "x-turbo"
            ),
            "{e:?}"
        );
        assert_eq!(
            err.to_string(),
            "invalid upgrade response: permessage-deflate: unknown parameter \"x-turbo\""
        );
    }

    #[test]
    fn a_bad_window_bits_value_in_the_answer_is_named() {
        for value in ["7", "16", "08", "abc"] {
            let problem = deflate_problem(
                deflate_config(|_| {}),
                &format!("permessage-deflate; client_max_window_bits={value}"),
            );
            assert_eq!(
                problem,
                DeflateProblem::InvalidWindowBits {
                    name: "client_max_window_bits".into(),
                    value: value.into(),
                }
            );
            assert_eq!(
                problem.to_string(),
                format!("client_max_window_bits must be 8 to 15, not {value:?}")
            );
        }
    }

    #[test]
    fn every_window_size_and_takeover_combination_round_trips() {
        let message = json_like(20_000);
        let noisy = noise(3000, 7);
        for server_bits in [None, Some(8), Some(9), Some(12), Some(15)] {
            for client_bits in [None, Some(8), Some(10), Some(15)] {
                for (snct, cnct) in [(false, false), (true, false), (false, true), (true, true)] {
                    let client = deflate_config(|d| {
                        d.server_max_window_bits = server_bits;
                        d.client_max_window_bits = Some(15);
                        d.server_no_context_takeover = snct;
                    });
                    let server = deflate_config(|d| {
                        d.client_max_window_bits = client_bits;
                        d.client_no_context_takeover = cnct;
                    });
                    let mut pair = deflate_pair(client, server);
                    for _ in 0..3 {
                        pair.client.send_text(&message).unwrap();
                        pair.client.send_binary(&noisy).unwrap();
                        pair.server.send_text(&message).unwrap();
                        pair.server.send_binary(&noisy).unwrap();
                    }
                    pair.drive();
                    pair.assert_no_errors();
                    let expected: Vec<Ev> = (0..3)
                        .flat_map(|_| [text(&message), binary(&noisy)])
                        .collect();
                    let label = format!("{server_bits:?} {client_bits:?} {snct} {cnct}");
                    assert_eq!(
                        message_events(pair.take_server_events()),
                        expected,
                        "{label}"
                    );
                    assert_eq!(
                        message_events(pair.take_client_events()),
                        expected,
                        "{label}"
                    );
                    // The text compressed: far fewer bytes went over the wire (an 8-bit
                    // window sends messages over 256 bytes plain).
                    if server_bits != Some(8) {
                        assert!(
                            pair.server_sent.len() < 3 * (message.len() / 4 + 3100),
                            "{label}"
                        );
                    }
                }
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// §6: RSV1 and the frames of a compressed message
// ------------------------------------------------------------------------------------------

mod section_6_framing {
    use super::*;

    #[test]
    fn rsv1_is_set_on_the_first_frame_only_and_never_on_control_frames() {
        let mut pair = deflate_pair(deflate_config(|_| {}), deflate_config(|_| {}));
        let text_msg = json_like(3000);
        let bytes = text_msg.as_bytes();
        pair.client
            .send_fragment(ws_proto::MessageKind::Text, &bytes[..1000], false)
            .unwrap();
        pair.client.send_ping(b"between").unwrap();
        pair.client
            .send_fragment(ws_proto::MessageKind::Text, &bytes[1000..2000], false)
            .unwrap();
        pair.client
            .send_fragment(ws_proto::MessageKind::Text, &bytes[2000..], true)
            .unwrap();
        pair.drive();
        pair.assert_no_errors();
        let sent = decode_frames(&pair.client_sent);
        let rsv1: Vec<(ws_proto::OpCode, bool)> =
            sent.iter().map(|(h, _)| (h.opcode, h.rsv1)).collect();
        use ws_proto::OpCode::*;
        assert_eq!(
            rsv1,
            [
                (Text, true),
                (Ping, false),
                (Continuation, false),
                (Continuation, false)
            ]
        );
        let events = pair.take_server_events();
        assert!(events.contains(&text(&text_msg)));
        assert!(events.contains(&Ev::Ping(b"between".to_vec())));
    }

    #[test]
    fn frame_events_give_wire_and_inflated_sizes_both_ways() {
        let mut pair = deflate_pair(deflate_config(|_| {}), deflate_config(|_| {}));
        let msg = json_like(10_000);
        pair.client.send_text(&msg).unwrap();
        let mut out = Vec::new();
        while let Some(e) = pair.client.poll_event() {
            out.push(e);
        }
        let Some(Event::Frame(sent)) = out.first() else {
            panic!("no frame event: {out:?}")
        };
        assert!(sent.header.rsv1);
        assert_eq!(sent.direction, Direction::Outgoing);
        assert_eq!(sent.decompressed_len, Some(10_000));
        assert!(sent.payload.len() < 3000, "{}", sent.payload.len());
        let wire = transmit(&mut pair.client);
        pair.server.receive_data(&wire).unwrap();
        let Some(Event::Frame(got)) = pair.server.poll_event() else {
            panic!("no frame event")
        };
        assert_eq!(got.direction, Direction::Incoming);
        assert!(got.header.rsv1);
        assert_eq!(got.payload, sent.payload);
        assert_eq!(got.decompressed_len, Some(10_000));
        // Control frames carry no compressed data.
        pair.client.send_ping(b"p").unwrap();
        let Some(Event::Frame(ping)) = pair.client.poll_event() else {
            panic!("no frame event")
        };
        assert_eq!(ping.decompressed_len, None);
    }

    #[test]
    fn rsv1_on_a_continuation_fails_with_1002() {
        let mut server = open_with(Role::Server, "permessage-deflate");
        let bytes = frames(&[
            RawFrame::text("ab").fin(false).rsv(1).client(),
            RawFrame::cont("cd").rsv(1).client(),
        ]);
        let _ = server.receive_data(&bytes[..8]);
        let result = server.receive_data(&bytes[8..]);
        assert_failing(&mut server, result, 1002);
    }

    #[test]
    fn rsv1_on_a_control_frame_fails_with_1002() {
        for frame in [
            RawFrame::ping(b"x").rsv(1),
            RawFrame::pong(b"x").rsv(1),
            RawFrame::close(1000, b"").rsv(1),
        ] {
            let mut server = open_with(Role::Server, "permessage-deflate");
            assert_input_fails(&mut server, &frame.client().bytes(), 1002);
        }
    }

    #[test]
    fn rsv2_and_rsv3_still_fail_with_1002() {
        for n in [2, 3] {
            let mut server = open_with(Role::Server, "permessage-deflate");
            assert_input_fails(
                &mut server,
                &RawFrame::text("x").rsv(n).client().bytes(),
                1002,
            );
        }
    }

    #[test]
    fn rsv1_without_the_extension_still_fails_with_1002() {
        let mut server = support::server(Config::default());
        let hello = as_client(&[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
        assert_input_fails(&mut server, &hello, 1002);
    }

    #[test]
    fn uncompressed_messages_may_follow_compressed_ones() {
        let mut client = open_with(Role::Client, "permessage-deflate");
        let got = feed(
            &mut client,
            &[
                0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, // compressed
                0x81, 0x05, b'w', b'o', b'r', b'l', b'd', // plain
            ],
        );
        assert_eq!(got, [text("Hello"), text("world")]);
        // And the sender may turn compression off.
        client.set_compression(false);
        client.send_text("plain").unwrap();
        let sent = decode_frames(&transmit(&mut client));
        assert!(!sent[0].0.rsv1);
        assert_eq!(sent[0].1, b"plain");
    }

    #[test]
    fn corrupt_compressed_data_fails_with_1007() {
        let mut server = open_with(Role::Server, "permessage-deflate");
        // 0xff: a block of reserved type 3.
        let bytes = as_client(&[0xc2, 0x03, 0xff, 0xff, 0xff]);
        let fault = assert_input_fails(&mut server, &bytes, 1007);
        let ProtocolError::Extension(ExtensionError::CorruptDeflate { detail }) = &fault else {
            panic!("expected a corrupt-deflate fault, got {fault:?}");
        };
        assert!(!detail.is_empty());
        assert!(
            fault
                .to_string()
                .starts_with("an extension could not decode a message: invalid compressed data: "),
            "{fault}"
        );
        assert_eq!(fault.close_code(), ws_proto::CloseCode::INVALID_PAYLOAD);
    }

    #[test]
    fn invalid_utf8_inside_compressed_text_fails_with_1007() {
        let mut sender = open_with(Role::Client, "permessage-deflate");
        sender.set_compression(true);
        // Compress invalid UTF-8 by sending it as binary, then relabel the frame as text.
        sender.send_binary(b"valid start \xff\xfe invalid").unwrap();
        let mut wire = transmit(&mut sender);
        assert_eq!(wire[0], 0xc2);
        wire[0] = 0xc1;
        let mut server = open_with(Role::Server, "permessage-deflate");
        assert_input_fails(&mut server, &wire, 1007);
    }
}

// ------------------------------------------------------------------------------------------
// §7.2.3: the examples, byte for byte
// ------------------------------------------------------------------------------------------

mod section_7_2_3_examples {
    use super::*;

    const HELLO: [u8; 9] = [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];

    #[test]
    fn hello_is_sent_as_one_compressed_block() {
        let mut server = open_with(Role::Server, "permessage-deflate");
        server.send_text("Hello").unwrap();
        assert_frame_sent(&mut server, &HELLO);
    }

    #[test]
    fn hello_is_received_whole_split_anywhere_and_fragmented() {
        for piece in [1, 2, 3, 9] {
            let mut client = open_with(Role::Client, "permessage-deflate");
            let mut got = Vec::new();
            for chunk in HELLO.chunks(piece) {
                got.extend(feed(&mut client, chunk));
            }
            assert_eq!(got, [text("Hello")], "pieces of {piece}");
        }
        // §7.2.3.1, fragmented: RSV1 on the first frame only.
        let mut client = open_with(Role::Client, "permessage-deflate");
        let got = feed(
            &mut client,
            &[
                0x41, 0x03, 0xf2, 0x48, 0xcd, 0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00,
            ],
        );
        assert_eq!(got, [text("Hello")]);
    }

    #[test]
    fn the_second_hello_refers_back_with_context_takeover() {
        let second = [0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00];
        let mut server = open_with(Role::Server, "permessage-deflate");
        server.send_text("Hello").unwrap();
        server.send_text("Hello").unwrap();
        assert_frame_sent(&mut server, &[&HELLO[..], &second[..]].concat());
        let mut client = open_with(Role::Client, "permessage-deflate");
        let got = feed(&mut client, &[&HELLO[..], &second[..]].concat());
        assert_eq!(got, [text("Hello"), text("Hello")]);
    }

    #[test]
    fn without_context_takeover_both_hellos_are_the_same() {
        let mut server = open_with(
            Role::Server,
            "permessage-deflate; server_no_context_takeover",
        );
        server.send_text("Hello").unwrap();
        server.send_text("Hello").unwrap();
        assert_frame_sent(&mut server, &[&HELLO[..], &HELLO[..]].concat());
        let mut client = open_with(
            Role::Client,
            "permessage-deflate; server_no_context_takeover",
        );
        let got = feed(&mut client, &[&HELLO[..], &HELLO[..]].concat());
        assert_eq!(got, [text("Hello"), text("Hello")]);
    }

    #[test]
    fn a_stored_block_a_bfinal_block_and_two_blocks_all_give_hello() {
        for frame in [
            // §7.2.3.3: no compression.
            &[
                0xc1, 0x0b, 0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
            ][..],
            // §7.2.3.4: BFINAL set.
            &[0xc1, 0x08, 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00][..],
            // §7.2.3.5: two blocks, "He" then "llo".
            &[
                0xc1, 0x0d, 0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07,
                0x00,
            ][..],
        ] {
            for piece in [1, 4, frame.len()] {
                let mut client = open_with(Role::Client, "permessage-deflate");
                let mut got = Vec::new();
                for chunk in frame.chunks(piece) {
                    got.extend(feed(&mut client, chunk));
                }
                // The stream goes on after a BFINAL block: a second message still inflates.
                got.extend(feed(&mut client, &HELLO));
                assert_eq!(got, [text("Hello"), text("Hello")], "{}", hex(frame));
            }
        }
    }

    #[test]
    fn an_empty_message() {
        let mut client = open_with(Role::Client, "permessage-deflate");
        assert_eq!(feed(&mut client, &[0xc1, 0x01, 0x00]), [text("")]);
        assert_eq!(feed(&mut client, &[0xc2, 0x00]), [binary(b"")]);
        let mut server = open_with(Role::Server, "permessage-deflate");
        server.send_binary(b"").unwrap();
        let sent = transmit(&mut server);
        assert_eq!(&sent[..1], [0xc2]);
        let mut client = open_with(Role::Client, "permessage-deflate");
        assert_eq!(feed(&mut client, &sent), [binary(b"")]);
    }

    #[test]
    fn an_8_bit_window_sends_short_messages_compressed_and_long_ones_plain() {
        let mut server = open_with(Role::Server, "permessage-deflate; server_max_window_bits=8");
        let short = json_like(256);
        let long = json_like(1000);
        server.send_text(&short).unwrap();
        server.send_text(&long).unwrap();
        server.send_text(&short).unwrap();
        let wire = transmit(&mut server);
        let sent = decode_frames(&wire);
        let rsv1: Vec<bool> = sent.iter().map(|(h, _)| h.rsv1).collect();
        assert_eq!(rsv1, [true, false, true]);
        // Each compressed message stands alone: the second short one is as long as the
        // first, so it cannot refer back beyond itself.
        assert_eq!(sent[0].1, sent[2].1);
        let mut client = open_with(Role::Client, "permessage-deflate; server_max_window_bits=8");
        assert_eq!(
            feed(&mut client, &wire),
            [text(&short), text(&long), text(&short)]
        );
    }
}

// ------------------------------------------------------------------------------------------
// §8 (security): inflating is bounded by the message limit
// ------------------------------------------------------------------------------------------

mod section_8_decompression_bombs {
    use super::*;

    #[test]
    fn sixteen_mib_of_zeros_against_a_one_mib_limit_fails_with_1009_near_the_limit() {
        let _guard = MEMORY.lock().unwrap_or_else(|e| e.into_inner());
        // The bomb: 16 MiB of zeros, compressed by a client.
        let mut sender = open_with(Role::Client, "permessage-deflate");
        sender.send_binary(&vec![0u8; 16 << 20]).unwrap();
        let bomb = transmit(&mut sender);
        drop(sender);
        assert!(bomb.len() < 32 * 1024, "the bomb is {} bytes", bomb.len());

        let limit = 1 << 20;
        let mut server = Connection::open(
            Role::Server,
            config(|c| {
                c.max_message_size = limit;
                c.deflate = Some(DeflateConfig::default());
            }),
            Negotiated {
                protocol: None,
                extensions: vec!["permessage-deflate".into()],
            },
        );
        let before = reset_peak();
        let result = server.receive_data(&bomb);
        let peak = (PEAK.with(Cell::get) - before) as usize;
        let err = assert_failing(&mut server, result, 1009);
        assert!(
            matches!(err, ws_proto::ProtocolError::MessageTooLarge { limit: l, .. } if l == limit),
            "{err:?}"
        );
        // The input buffer holds the bomb, the inflater its window and tables, and the message
        // at most the limit plus one byte.
        println!(
            "bomb: {} wire bytes, limit {limit}, peak heap growth while inflating {peak} bytes",
            bomb.len()
        );
        assert!(
            peak < limit + 512 * 1024,
            "inflating the bomb took {peak} bytes against a limit of {limit}"
        );
    }

    #[test]
    fn a_bomb_split_over_many_fragments_is_stopped_too() {
        let mut sender = open_with(Role::Client, "permessage-deflate");
        let chunk = vec![0u8; 1 << 20];
        for i in 0..8 {
            sender
                .send_fragment(ws_proto::MessageKind::Binary, &chunk, i == 7)
                .unwrap();
        }
        let wire = transmit(&mut sender);
        let mut server = Connection::open(
            Role::Server,
            config(|c| c.max_message_size = 3 << 20),
            Negotiated {
                protocol: None,
                extensions: vec!["permessage-deflate".into()],
            },
        );
        assert_input_fails(&mut server, &wire, 1009);
    }

    #[test]
    fn a_message_exactly_at_the_limit_is_accepted() {
        let limit = 100_000;
        let mut sender = open_with(Role::Client, "permessage-deflate");
        let data = noise(limit, 3);
        sender.send_binary(&data).unwrap();
        let wire = transmit(&mut sender);
        let mut server = Connection::open(
            Role::Server,
            config(|c| c.max_message_size = limit),
            Negotiated {
                protocol: None,
                extensions: vec!["permessage-deflate".into()],
            },
        );
        server.receive_data(&wire).unwrap();
        assert_eq!(events(&mut server), [binary(&data)]);
        // One byte more is one byte too many.
        sender.send_binary(&noise(limit + 1, 3)).unwrap();
        let wire = transmit(&mut sender);
        assert_input_fails(&mut server, &wire, 1009);
    }
}

// ------------------------------------------------------------------------------------------
// Properties
// ------------------------------------------------------------------------------------------

mod properties {
    use super::*;

    fn deflate_strategy() -> impl Strategy<Value = (DeflateConfig, DeflateConfig)> {
        (
            any::<bool>(),
            any::<bool>(),
            prop::option::of(8u8..=15),
            prop::option::of(8u8..=15),
            0u32..=9,
        )
            .prop_map(|(snct, cnct, sbits, cbits, level)| {
                let mut client = DeflateConfig::default();
                client.server_no_context_takeover = snct;
                client.client_no_context_takeover = cnct;
                client.server_max_window_bits = sbits;
                client.client_max_window_bits = Some(cbits.unwrap_or(15));
                client.level = level;
                let mut server = DeflateConfig::default();
                server.client_max_window_bits = cbits;
                server.level = level;
                (client, server)
            })
    }

    fn message_strategy() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..2000),
            prop::collection::vec(prop::sample::select(b"abc{}\":,0123".to_vec()), 0..6000),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn any_messages_arrive_intact_however_the_bytes_are_split(
            (client_cfg, server_cfg) in deflate_strategy(),
            messages in prop::collection::vec(message_strategy(), 1..6),
            cut in 1usize..300,
        ) {
            let mut pair = deflate_pair(
                config(|c| c.deflate = Some(client_cfg.clone())),
                config(|c| c.deflate = Some(server_cfg.clone())),
            );
            for m in &messages {
                pair.client.send_binary(m).unwrap();
                // Fragmented too, in three pieces.
                let third = m.len() / 3;
                pair.client.send_fragment(ws_proto::MessageKind::Binary, &m[..third], false).unwrap();
                pair.client.send_fragment(ws_proto::MessageKind::Binary, &m[third..2 * third], false).unwrap();
                pair.client.send_fragment(ws_proto::MessageKind::Binary, &m[2 * third..], true).unwrap();
            }
            let wire = transmit(&mut pair.client);
            let mut got = Vec::new();
            for chunk in wire.chunks(cut) {
                pair.server.receive_data(chunk).unwrap();
                got.extend(message_events(events(&mut pair.server)));
            }
            let expected: Vec<Ev> = messages.iter().flat_map(|m| [binary(m), binary(m)]).collect();
            prop_assert_eq!(got, expected);
        }

        #[test]
        fn arbitrary_compressed_input_never_panics(
            payload in prop::collection::vec(any::<u8>(), 0..400),
            fin in any::<bool>(),
            then in prop::collection::vec(any::<u8>(), 0..200),
        ) {
            let mut server = open_with(Role::Server, "permessage-deflate");
            let mut frame = RawFrame::binary(&payload).rsv(1).fin(fin).client().bytes();
            frame.extend(then);
            let _ = server.receive_data(&frame);
            let _ = deflate::negotiate(&[String::from_utf8_lossy(&payload).into_owned()], &DeflateConfig::default());
        }
    }
}
