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
    let log = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());

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

    let _ = server.kill();
    let _ = server.wait();
    let log = log.join().unwrap();
    let of = |conn: &str| -> String {
        log.iter()
            .filter(|l| l.contains(conn))
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    };
    let (first, second) = (of(" #1 "), of(" #2 "));
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
