//! The command-line conventions: `--version`, `--help` with the exit statuses, shell
//! completions and man pages generated from the same definitions.

use std::process::{Command, Output, Stdio};

fn wsi(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wsi"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn version_and_help() {
    let out = wsi(&["--version"]);
    assert!(out.status.success());
    let version = String::from_utf8_lossy(&out.stdout);
    assert!(
        version.starts_with(&format!("wsi {}", env!("CARGO_PKG_VERSION"))),
        "{version}"
    );
    let out = wsi(&["--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    for word in [
        "connect",
        "listen",
        "relay",
        "replay",
        "serve",
        "convert",
        "Exit status:",
    ] {
        assert!(help.contains(word), "--help lacks {word}:\n{help}");
    }
    let out = wsi(&["connect", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--header",
        "--expect",
        "--timeout-expect",
        "--jsonl",
        "--ping-interval",
    ] {
        assert!(help.contains(flag), "connect --help lacks {flag}");
    }
    assert!(help.contains("4  an --expect was not met"), "{help}");
}

#[test]
fn completions_for_each_shell() {
    for (shell, marker) in [
        ("bash", "_wsi()"),
        ("zsh", "#compdef wsi"),
        ("fish", "complete -c wsi"),
    ] {
        let out = wsi(&["completions", shell]);
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(marker), "{shell}: no {marker:?}");
        assert!(
            text.contains("timeout-expect"),
            "{shell}: the flags are in it"
        );
    }
    assert_eq!(wsi(&["completions", "tcsh"]).status.code(), Some(2));
}

#[test]
fn man_pages_for_wsi_and_each_subcommand() {
    let dir = std::env::temp_dir().join(format!("wsi-man-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = wsi(&["man", dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for page in [
        "wsi",
        "wsi-connect",
        "wsi-listen",
        "wsi-relay",
        "wsi-replay",
        "wsi-serve",
        "wsi-convert",
    ] {
        let text = std::fs::read_to_string(dir.join(format!("{page}.1"))).unwrap();
        assert!(text.contains(".TH"), "{page}.1 is a man page");
    }
    let connect = std::fs::read_to_string(dir.join("wsi-connect.1")).unwrap();
    assert!(connect.contains("timeout\\-expect"), "the flags are in it");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--ping-interval` sends pings on a timer and `-v` prints each round trip.
#[test]
fn ping_interval_prints_round_trips() {
    use std::io::{BufRead, BufReader};
    let mut server = Command::new(env!("CARGO_BIN_EXE_wsi"))
        .args(["listen", "127.0.0.1:0", "--echo", "-q"])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first.strip_prefix("wsi: listening on ").unwrap().to_owned();
    let out = wsi(&[
        "connect",
        &url,
        "--no-stdin",
        "--ping-interval",
        "0.2",
        "--wait",
        "0.7",
        "-v",
    ]);
    let _ = server.kill();
    let _ = server.wait();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("ping 1: round trip"), "{err}");
    assert!(err.contains("ping 2: round trip"), "{err}");
    assert!(err.contains("<- FIN PONG len=8"), "{err}");
}

/// `--send-every MS --send-count N` sends the list N times, and `--stats` counts them.
#[test]
fn periodic_sends_and_stats() {
    use std::io::{BufRead, BufReader};
    let mut server = Command::new(env!("CARGO_BIN_EXE_wsi"))
        .args(["listen", "127.0.0.1:0", "--echo", "-q"])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first.strip_prefix("wsi: listening on ").unwrap().to_owned();
    let start = std::time::Instant::now();
    let out = wsi(&[
        "connect",
        &url,
        "--no-stdin",
        "--send",
        "tick",
        "--send-every",
        "100",
        "--send-count",
        "4",
        "--count",
        "4",
        "--stats",
    ]);
    let elapsed = start.elapsed();
    let _ = server.kill();
    let _ = server.wait();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "tick\n".repeat(4));
    assert!(err.contains("sent 4 messages, 16 bytes"), "{err}");
    assert!(err.contains("received 4 messages, 16 bytes"), "{err}");
    // Three intervals of 100 ms after the first round.
    assert!(
        elapsed >= std::time::Duration::from_millis(300),
        "{elapsed:?}"
    );
}

/// `--var NAME=VALUE` and the built-in placeholders in the URL, -H and --send; an unknown
/// name is a usage error that sends nothing.
#[test]
fn variables_expand_in_the_url_headers_and_sends() {
    use std::io::{BufRead, BufReader};
    let mut server = Command::new(env!("CARGO_BIN_EXE_wsi"))
        .args(["listen", "127.0.0.1:0", "--echo", "-q", "-v"])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first.strip_prefix("wsi: listening on ").unwrap().to_owned();
    let (line_tx, line_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if line_tx.send(line).is_err() {
                break;
            }
        }
    });
    let out = wsi(&[
        "connect",
        &format!("{url}{{{{room}}}}"),
        "--var",
        "room=lobby",
        "--var",
        "who=ana",
        "-H",
        "X-Who: {{who}}",
        "--send",
        r#"{"n":{{counter}},"who":"{{who}}","literal":"\{{who}}"}"#,
        "--send-every",
        "50",
        "--send-count",
        "2",
        "--count",
        "2",
        "--no-stdin",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\"n\":1,\"who\":\"ana\",\"literal\":\"{{who}}\"}\n\
         {\"n\":2,\"who\":\"ana\",\"literal\":\"{{who}}\"}\n"
    );
    let bad = wsi(&["connect", &url, "--send", "{{nmae}}", "--no-stdin"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown variable {{nmae}}"));
    // The server writes its log from a thread of its own, a little after the events: wait
    // (at most 10 s) for the request's lines before stopping it, or a kill can cut them.
    let mut log = String::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !(log.contains("< GET /lobby HTTP/1.1") && log.contains("< X-Who: ana")) {
        match line_rx.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now())) {
            Ok(line) => log = log + &line + "\n",
            Err(_) => break,
        }
    }
    let _ = server.kill();
    let _ = server.wait();
    log.extend(line_rx.try_iter().map(|line| line + "\n"));
    assert!(log.contains("< GET /lobby HTTP/1.1"), "{log}");
    assert!(log.contains("< X-Who: ana"), "{log}");
    assert_eq!(
        log.matches(" connected: ").count(),
        1,
        "the bad one never connected\n{log}"
    );
}
