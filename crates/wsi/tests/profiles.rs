//! `--profile NAME --config-dir DIR`: a saved inspector profile supplies the URL and the
//! handshake, flags override it, and a missing profile is a usage error that names the
//! ones there are.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const WSI: &str = env!("CARGO_BIN_EXE_wsi");

/// Runs `wsi ARGS` to its end (killed after 20 s), with stdin closed.
fn wsi(args: &[&str]) -> (i32, String, String) {
    let mut child = Command::new(WSI)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let (mut out, mut err) = (String::new(), String::new());
            child
                .stdout
                .take()
                .unwrap()
                .read_to_string(&mut out)
                .unwrap();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            return (status.code().unwrap_or(-1), out, err);
        }
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("wsi {args:?} did not finish in 20 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_profile_supplies_the_handshake_and_flags_override_it() {
    let dir = std::env::temp_dir().join(format!("wsi-profiles-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    let mut server = Command::new(WSI)
        .args(["listen", "127.0.0.1:0", "--echo", "-v", "-p", "chat"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first
        .strip_prefix("wsi: listening on ")
        .unwrap_or_else(|| panic!("{first}"))
        .to_owned();
    let (line_tx, line_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if line_tx.send(line).is_err() {
                break;
            }
        }
    });

    std::fs::write(
        dir.join("mine.ron"),
        format!(
            "(name: \"Mine\", url: \"{url}from-profile\", subprotocols: \"chat\", \
             headers: [(name: \"X-Token\", value: \"abc\", enabled: true)])"
        ),
    )
    .unwrap();
    let dir_arg = dir.to_str().unwrap();

    // The profile as saved (the name ignoring case).
    let (code, out, err) = wsi(&[
        "connect",
        "--config-dir",
        dir_arg,
        "--profile",
        "mine",
        "--send",
        "hi",
        "--count",
        "1",
    ]);
    assert_eq!((code, out.as_str()), (0, "hi\n"), "{err}");
    // A URL and a header given as flags win.
    let other = format!("{url}from-flags");
    let (code, _, err) = wsi(&[
        "connect",
        &other,
        "--config-dir",
        dir_arg,
        "--profile",
        "Mine",
        "-H",
        "X-More: 1",
        "--send",
        "x",
        "--count",
        "1",
    ]);
    assert_eq!(code, 0, "{err}");
    // A profile that is not there.
    let (code, _, err) = wsi(&["connect", "--config-dir", dir_arg, "--profile", "nope"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("no such profile") && err.contains("Mine"),
        "{err}"
    );

    // The server writes its log from a thread of its own, a little after the events: wait
    // (at most 10 s) for the second connection's request before stopping it, or a kill can
    // cut lines that were on their way.
    let of = |log: &[String], conn: &str| -> String {
        log.iter()
            .filter(|l| l.contains(conn))
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    };
    let complete = |second: &str| {
        ["< GET /from-flags", "< X-Token: abc", "< X-More: 1"]
            .iter()
            .all(|line| second.contains(line))
    };
    let mut log = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !complete(&of(&log, " #2 ")) {
        match line_rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => log.push(line),
            Err(_) => break,
        }
    }
    let _ = server.kill();
    let _ = server.wait();
    log.extend(line_rx.try_iter());
    let (first, second) = (of(&log, " #1 "), of(&log, " #2 "));
    assert!(first.contains("< GET /from-profile"), "{first}");
    assert!(first.contains("< X-Token: abc"), "{first}");
    assert!(first.contains("< Sec-WebSocket-Protocol: chat"), "{first}");
    assert!(second.contains("< GET /from-flags"), "{second}");
    assert!(
        second.contains("< X-Token: abc") && second.contains("< X-More: 1"),
        "{second}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
