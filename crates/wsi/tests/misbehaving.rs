//! `wsi connect` against misbehaving servers: each test scripts one server on 127.0.0.1 by
//! hand (raw bytes, see `support/peers.rs`), runs the binary under a watchdog with stdin
//! closed, and checks the exit status and that stderr gives the reason in plain words.
//!
//! Refusals of the upgrade exit 1 (a 101 that fails a check) or 3 (any other status); a
//! connection that fails once open exits 1, after wsi has sent the close code RFC 6455 asks
//! for (the server checks which one it received). For the floods, the child's peak RSS
//! (`wait4`'s `ru_maxrss`) must stay under 200 MiB.
#![cfg(target_os = "linux")]

#[path = "support/peers.rs"]
mod peers;

use std::io::Write;
use std::net::TcpStream;
use std::thread;
use std::time::Duration;

use peers::{
    BINARY, CLOSE, CONTINUATION, ClientEnd, FIN, PING, PONG, Request, Run, TEXT, WATCHDOG,
    accept_for, frame, frame_into, ignore_until_eof, masked_frame, read_frame, reset_on_drop,
    run_wsi, serve, serve_each, switching_protocols, until_close, wait_for_eof,
};

/// The ceiling on wsi's peak RSS in the flood tests, KiB.
const MAX_RSS_KIB: libc::c_long = 200 * 1024;

/// `wsi connect URL --timeout T --close-timeout 1 EXTRA…`.
fn connect_args(url: &str, timeout: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["connect", url, "--timeout", timeout, "--close-timeout", "1"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

/// Runs `wsi connect URL --timeout 2 --close-timeout 1 EXTRA…` under the watchdog.
fn connect(url: &str, extra: &[&str]) -> Run {
    run_wsi(&connect_args(url, "2", extra), WATCHDOG)
}

/// The run ended by itself with `code`.
#[track_caller]
fn assert_status(run: &Run, code: i32, server: &dyn std::fmt::Debug) {
    assert!(!run.killed, "wsi hung; server: {server:?}\n{run}");
    assert_eq!(
        run.code,
        Some(code),
        "expected exit status {code}; server: {server:?}\n{run}"
    );
}

/// stderr contains every one of `words` (case-insensitive).
#[track_caller]
fn assert_stderr_all(run: &Run, words: &[&str], server: &dyn std::fmt::Debug) {
    let stderr = run.stderr.to_lowercase();
    for word in words {
        assert!(
            stderr.contains(&word.to_lowercase()),
            "stderr should say {word:?}; server: {server:?}\n{run}"
        );
    }
}

/// stderr contains at least one of `words` (case-insensitive).
#[track_caller]
fn assert_stderr_any(run: &Run, words: &[&str], server: &dyn std::fmt::Debug) {
    let stderr = run.stderr.to_lowercase();
    assert!(
        words.iter().any(|w| stderr.contains(&w.to_lowercase())),
        "stderr should say one of {words:?}; server: {server:?}\n{run}"
    );
}

#[track_caller]
fn assert_rss_bounded(run: &Run) {
    assert!(
        run.maxrss_kib < MAX_RSS_KIB,
        "peak RSS {} KiB, over {MAX_RSS_KIB} KiB\n{run}",
        run.maxrss_kib
    );
}

/// A refusing server's script: wait for wsi to drop the connection.
fn until_eof(mut stream: TcpStream, _: &Request) -> (usize, ClientEnd) {
    wait_for_eof(&mut stream)
}

/// A server that answers the upgrade correctly, waits `pause` (none: the bytes may arrive in
/// the same read as the 101), writes `bytes` and then reads wsi's frames until its close
/// (answered when `echo`).
fn open_then_send(bytes: Vec<u8>, pause: Duration, echo: bool) -> peers::Server<ClientEnd> {
    serve(
        |request, _| switching_protocols(request, ""),
        move |mut stream, _| {
            thread::sleep(pause);
            let _ = stream.write_all(&bytes);
            until_close(&mut stream, echo, |_| {})
        },
    )
}

/// The pauses between the 101 and the bad bytes: none (they come with the 101, which wsi
/// reads in the same read), and enough for wsi to be open.
const PAUSES: [Duration; 2] = [Duration::ZERO, Duration::from_millis(200)];

/// Runs wsi against a server that sends `bytes` once open, once for each of [`PAUSES`], and
/// checks that wsi sent a close frame with one of `codes`, said that code on stderr and
/// exited 1. Returns the runs.
#[track_caller]
fn assert_fails_with(bytes: &[u8], echo: bool, codes: &[u16]) -> Vec<Run> {
    let mut failures = Vec::new();
    let mut runs = Vec::new();
    for pause in PAUSES {
        let server = open_then_send(bytes.to_vec(), pause, echo);
        let run = connect(&server.url(), &["--no-stdin"]);
        let seen = server.result();
        let when = if pause.is_zero() {
            "the bad bytes right behind the 101".to_owned()
        } else {
            format!("the bad bytes {pause:?} after the 101")
        };
        let code = match &seen {
            Ok(ClientEnd::Close(Some(code))) if codes.contains(code) => Some(*code),
            _ => None,
        };
        if run.killed || run.code != Some(1) {
            failures.push(format!(
                "with {when}: expected exit status 1; server: {seen:?}\n{run}"
            ));
        } else if let Some(code) = code {
            if !run.stderr.contains(&code.to_string()) {
                failures.push(format!(
                    "with {when}: stderr should say {code}; server: {seen:?}\n{run}"
                ));
            }
        } else {
            failures.push(format!(
                "with {when}: the server should have received a close frame with {}, \
                 not {seen:?}\n{run}",
                codes
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(" or ")
            ));
        }
        runs.push(run);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    runs
}

// --- Refusals ---------------------------------------------------------------------------

#[test]
fn wrong_accept_key_is_refused() {
    let server = serve(
        |_, _| {
            // The accept value of another key.
            format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                 Connection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
                accept_for("AAAAAAAAAAAAAAAAAAAAAA==")
            )
            .into_bytes()
        },
        until_eof,
    );
    let run = connect(&server.url(), &[]);
    let seen = server.result();
    assert_status(&run, 1, &seen);
    assert_stderr_all(&run, &["Sec-WebSocket-Accept"], &seen);
}

#[test]
fn switching_protocols_without_upgrade_header_is_refused() {
    let server = serve(
        |request, _| {
            format!(
                "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Accept: {}\r\n\r\n",
                accept_for(request.key())
            )
            .into_bytes()
        },
        until_eof,
    );
    let run = connect(&server.url(), &[]);
    let seen = server.result();
    assert_status(&run, 1, &seen);
    assert_stderr_all(&run, &["Upgrade"], &seen);
}

#[test]
fn forbidden_shows_status_and_body() {
    let server = serve(
        |_, _| {
            b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n\
              Connection: close\r\n\r\ngo away"
                .to_vec()
        },
        |_, _| (),
    );
    let run = connect(&server.url(), &[]);
    let seen = server.result();
    assert_status(&run, 3, &seen);
    assert_stderr_all(&run, &["403", "go away"], &seen);
}

#[test]
fn redirect_is_not_followed() {
    let server = serve(
        |_, port| {
            format!(
                "HTTP/1.1 302 Found\r\nLocation: ws://127.0.0.1:{port}/\r\nContent-Length: 0\r\n\
                 Connection: close\r\n\r\n"
            )
            .into_bytes()
        },
        |_, _| (),
    );
    let location = server.url();
    let run = connect(&location, &[]);
    let seen = server.result();
    // The listener closed after the first client: had wsi followed the Location, it would
    // have failed to connect (status 1), not reported the 302.
    assert_status(&run, 3, &seen);
    assert_stderr_all(&run, &["302", &location], &seen);
}

#[test]
fn megabyte_of_headers_is_refused() {
    let server = serve(
        |request, _| {
            let value = "a".repeat(1000);
            let padding: String = (0..1024)
                .map(|i| format!("X-Pad-{i:04}: {value}\r\n"))
                .collect();
            switching_protocols(request, &padding)
        },
        until_eof,
    );
    let run = connect(&server.url(), &[]);
    let seen = server.result();
    assert_status(&run, 1, &seen);
    assert_stderr_any(&run, &["too large", "too long", "too many", "limit"], &seen);
}

#[test]
fn dripped_head_times_out() {
    let server = serve(
        |_, _| Vec::new(),
        |mut stream, request| {
            let response = switching_protocols(request, "");
            let mut written = 0;
            for byte in &response {
                if stream.write_all(std::slice::from_ref(byte)).is_err() {
                    break;
                }
                written += 1;
                thread::sleep(Duration::from_millis(100));
            }
            (written, response.len())
        },
    );
    let run = run_wsi(&connect_args(&server.url(), "1", &[]), WATCHDOG);
    let seen = server.result();
    assert_status(&run, 1, &seen);
    assert_stderr_any(&run, &["timed out", "timeout"], &seen);
    assert!(
        run.elapsed < Duration::from_secs(3),
        "--timeout 1 should end the upgrade within about 1 s; server: {seen:?}\n{run}"
    );
}

#[test]
fn subprotocol_not_offered_is_refused() {
    let server = serve(
        |request, _| switching_protocols(request, "Sec-WebSocket-Protocol: superchat\r\n"),
        until_eof,
    );
    let run = connect(&server.url(), &["-p", "chat"]);
    let seen = server.result();
    assert_status(&run, 1, &seen);
    assert_stderr_all(&run, &["protocol"], &seen);
}

#[test]
fn extension_not_offered_is_refused() {
    let server = serve(
        |request, _| {
            switching_protocols(request, "Sec-WebSocket-Extensions: permessage-deflate\r\n")
        },
        until_eof,
    );
    let run = connect(&server.url(), &[]);
    let seen = server.result();
    assert_status(&run, 1, &seen);
    assert_stderr_any(&run, &["permessage-deflate", "extension"], &seen);
}

// --- Once open --------------------------------------------------------------------------
//
// These pass --no-stdin, so that what ends the connection is the server's misbehaviour and
// not the end of stdin.

#[test]
fn masked_server_frame_is_1002() {
    assert_fails_with(
        &masked_frame(FIN | TEXT, b"hello", [1, 2, 3, 4]),
        true,
        &[1002],
    );
}

#[test]
fn reserved_opcode_is_1002() {
    assert_fails_with(&frame(FIN | 0x3, b""), true, &[1002]);
}

#[test]
fn close_code_999_is_1002() {
    // The server has sent its close: it does not answer wsi's.
    assert_fails_with(&frame(FIN | CLOSE, &999u16.to_be_bytes()), false, &[1002]);
}

#[test]
fn invalid_utf8_text_is_1007() {
    assert_fails_with(&frame(FIN | TEXT, &[0xff, 0xfe]), true, &[1007]);
}

#[test]
fn frame_of_2_pow_63_bytes_is_refused_without_allocating() {
    // A binary frame header declaring 2^63 − 1 bytes, and none of them.
    let header = vec![
        FIN | BINARY,
        0x7f,
        0x7f,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
    ];
    for run in assert_fails_with(&header, true, &[1009, 1002]) {
        assert_rss_bounded(&run);
    }
}

#[test]
fn hundred_thousand_fragments() {
    const FRAGMENTS: usize = 100_000;
    let mut bytes = Vec::with_capacity(3 * (FRAGMENTS + 2));
    frame_into(&mut bytes, TEXT, b"a");
    for _ in 0..FRAGMENTS {
        frame_into(&mut bytes, CONTINUATION, b"a");
    }
    frame_into(&mut bytes, FIN | CONTINUATION, b"a");
    let server = open_then_send(bytes, Duration::ZERO, true);
    let run = connect(&server.url(), &["--no-stdin", "--count", "1"]);
    let seen = server.result();
    assert!(!run.killed, "wsi hung; server: {seen:?}\n{run}");
    let message = "a".repeat(FRAGMENTS + 2);
    match run.code {
        // The whole message, put together.
        Some(0) => assert!(
            run.stdout.lines().any(|line| line == message),
            "stdout should have the {} bytes of the message; server: {seen:?}\n{run}",
            message.len()
        ),
        // Or a refusal of the message as too big.
        Some(1) => assert_stderr_all(&run, &["1009"], &seen),
        _ => {
            panic!("expected exit status 0 (message printed) or 1 (1009); server: {seen:?}\n{run}")
        }
    }
    assert_rss_bounded(&run);
}

#[test]
fn ten_thousand_pings_are_all_answered() {
    const PINGS: u32 = 10_000;
    let server = serve(
        |request, _| switching_protocols(request, ""),
        |mut stream, _| {
            let mut reader = stream.try_clone().expect("clone the stream");
            let counter = thread::spawn(move || {
                let (mut pongs, mut out_of_order) = (0u32, 0u32);
                let end = until_close(&mut reader, true, |f| {
                    if f.opcode == PONG {
                        if f.payload != pongs.to_be_bytes() {
                            out_of_order += 1;
                        }
                        pongs += 1;
                    }
                });
                (pongs, out_of_order, end)
            });
            let mut bytes = Vec::with_capacity(10 * PINGS as usize);
            for i in 0..PINGS {
                frame_into(&mut bytes, FIN | PING, &i.to_be_bytes());
            }
            frame_into(&mut bytes, FIN | TEXT, b"done");
            let _ = stream.write_all(&bytes);
            counter.join().expect("the pong counter")
        },
    );
    let run = connect(&server.url(), &["--no-stdin", "--count", "1"]);
    let seen = server.result();
    assert_status(&run, 0, &seen);
    assert!(
        run.stdout.lines().any(|line| line == "done"),
        "stdout should have \"done\"; server: {seen:?}\n{run}"
    );
    let (pongs, out_of_order, end) = seen.clone().expect("the server's count");
    assert_eq!(
        (pongs, out_of_order),
        (PINGS, 0),
        "every ping should be answered by a pong with its payload, in order (then: {end:?})\n{run}"
    );
    assert_rss_bounded(&run);
}

#[test]
fn reset_mid_frame_fails_without_hanging() {
    let server = serve(
        |request, _| switching_protocols(request, ""),
        |mut stream, _| {
            // A 1000-byte binary frame, cut after 500 bytes, then a RST.
            let mut bytes = vec![FIN | BINARY, 126];
            bytes.extend_from_slice(&1000u16.to_be_bytes());
            bytes.extend_from_slice(&[0x55; 500]);
            let written = stream.write_all(&bytes).is_ok();
            thread::sleep(Duration::from_millis(200));
            reset_on_drop(&stream);
            drop(stream);
            written
        },
    );
    let run = connect(&server.url(), &["--no-stdin"]);
    let seen = server.result();
    assert_status(&run, 1, &seen);
    assert!(
        run.elapsed < Duration::from_secs(5),
        "wsi should exit as soon as the connection is reset; server: {seen:?}\n{run}"
    );
    assert_stderr_any(
        &run,
        &[
            "reset", "1006", "abnormal", "ended", "closed", "eof", "lost",
        ],
        &seen,
    );
}

#[test]
fn close_never_answered_drops_tcp() {
    let server = serve(
        |request, _| switching_protocols(request, ""),
        |mut stream, _| ignore_until_eof(&mut stream),
    );
    let run = connect(&server.url(), &["--no-stdin", "--close", "1000"]);
    let seen = server.result();
    assert!(!run.killed, "wsi hung; server: {seen:?}\n{run}");
    assert!(
        matches!(run.code, Some(0 | 1)),
        "expected exit status 1 (or 0); server: {seen:?}\n{run}"
    );
    assert!(
        run.elapsed < Duration::from_secs(4),
        "--close-timeout 1 should drop the connection after about 1 s; server: {seen:?}\n{run}"
    );
    let (closes, end) = seen.clone().expect("the server's result");
    assert_eq!(
        closes,
        [Some(1000)],
        "wsi should have sent one close with 1000\n{run}"
    );
    assert!(
        matches!(end, ClientEnd::Eof | ClientEnd::Reset),
        "the server should see wsi drop the connection, not {end:?}\n{run}"
    );
}

/// `--keepalive`: a server that reads everything and answers no ping fails the connection
/// with close 1011 and the reason, once a pong is later than the keep-alive timeout.
#[test]
fn keepalive_fails_when_no_pong_comes() {
    let server = serve(
        |request, _| switching_protocols(request, ""),
        |mut stream, _| ignore_until_eof(&mut stream),
    );
    let run = connect(
        &server.url(),
        &[
            "--no-stdin",
            "--keepalive",
            "0.2",
            "--keepalive-timeout",
            "0.3",
            "--stats",
        ],
    );
    let seen = server.result();
    assert!(!run.killed, "wsi hung; server: {seen:?}\n{run}");
    assert_eq!(run.code, Some(1), "{run}");
    assert!(
        run.stderr.contains("keep-alive: ping 1 had no pong within"),
        "the reason names the ping\n{run}"
    );
    assert!(run.stderr.contains("stats:"), "--stats printed\n{run}");
    assert!(run.elapsed < Duration::from_secs(4), "{run}");
    let (closes, _) = seen.expect("the server's result");
    assert_eq!(closes, [Some(1011)], "closed with 1011\n{run}");
}

/// `--reconnect`: a server that drops the first connection after one message (a reset),
/// refuses the second attempt (503), and accepts the third: wsi connects three times, sends
/// its list on each connection, counts messages across them, and says each delay.
#[test]
fn reconnect_after_a_drop_and_a_refusal() {
    let server = serve_each(3, |i, mut stream, request| match i {
        0 => {
            let _ = stream.write_all(&switching_protocols(request, ""));
            let first = read_frame(&mut stream).ok().map(|f| f.payload);
            let _ = stream.write_all(&frame(FIN | TEXT, b"one"));
            std::thread::sleep(Duration::from_millis(100));
            reset_on_drop(&stream);
            first
        }
        1 => {
            let _ = stream.write_all(
                b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\nconnection: close\r\n\r\nbusy",
            );
            None
        }
        _ => {
            let _ = stream.write_all(&switching_protocols(request, ""));
            let first = read_frame(&mut stream).ok().map(|f| f.payload);
            let _ = stream.write_all(&frame(FIN | TEXT, b"two"));
            let _ = until_close(&mut stream, true, |_| {});
            first
        }
    });
    let run = connect(
        &server.url(),
        &[
            "--no-stdin",
            "--send",
            "hi",
            "--count",
            "2",
            "--reconnect",
            "--reconnect-delay",
            "0.1",
            "--reconnect-max",
            "5",
        ],
    );
    let seen = server.result();
    assert_status(&run, 0, &seen);
    assert_eq!(run.stdout, "one\ntwo\n", "{run}");
    assert_eq!(run.stderr.matches("reconnecting in").count(), 2, "{run}");
    assert!(run.stderr.contains("503"), "the refusal is said\n{run}");
    let firsts = seen.expect("the server's results");
    assert_eq!(
        firsts,
        [Some(b"hi".to_vec()), None, Some(b"hi".to_vec())],
        "the send list went again on the new connection\n{run}"
    );
}

/// `--reconnect-max N` gives up after N connections, with the last failure's status.
#[test]
fn reconnect_gives_up_after_its_attempts() {
    let server = serve_each(2, |_, mut stream, _| {
        let _ = stream.write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n");
    });
    let run = connect(
        &server.url(),
        &[
            "--no-stdin",
            "--reconnect",
            "--reconnect-delay",
            "0.05",
            "--reconnect-max",
            "2",
        ],
    );
    let seen = server.result();
    assert_status(&run, 3, &seen);
    assert!(run.stderr.contains("2 attempts made, giving up"), "{run}");
}
