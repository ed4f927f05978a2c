//! The Autobahn Testsuite, both roles, all 517 cases, in the conformance command
//! (`cargo test -p ws-tests -- --ignored`, which `.ci/run` runs after `cargo test --workspace`):
//! `wstest -m fuzzingclient` against the `echo_server` example and `wstest -m fuzzingserver`
//! against the `autobahn_client` example (both compiled in here from their example files, so
//! what is tested is exactly what the examples run). Each prints one summary line; any
//! FAILED, NON-STRICT or UNIMPLEMENTED case, or a close behaviour that is not OK, fails the
//! test. Both examples negotiate permessage-deflate, so 12.* and 13.* run in both roles. The
//! two ways to run a connection are both covered: the echo server's connections are
//! `WsStream`s driven by their tasks, the client's are the task-driven handles.
//!
//! The two roles run at the same time (the test harness's threads), one wstest per core: the
//! suite's Python 2 compressor makes 12.* and 13.* slow (about 13 minutes of CPU per role), and
//! one after the other they would take twice as long. Only the virtualenv set-up is serialized.

#[allow(dead_code)]
#[path = "../../crates/ws-tokio/examples/autobahn_client.rs"]
mod autobahn_client;
#[allow(dead_code)]
#[path = "../../crates/ws-tokio/examples/echo_server.rs"]
mod echo_server;

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use ws_tests::{autobahn_setup, free_port, repo_root, wait_for_port};
use ws_tokio::Server;

fn run_py() -> std::path::PathBuf {
    repo_root().join("tests/autobahn/run.py")
}

fn outdir(role: &str) -> std::path::PathBuf {
    repo_root().join("target/autobahn").join(role)
}

#[test]
#[ignore = "conformance (about 30 min): cargo test -p ws-tests -- --ignored, which .ci/run runs"]
fn fuzzingclient_against_echo_server() {
    autobahn_setup();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = runtime
        .block_on(Server::bind("127.0.0.1:0", echo_server::options(true)))
        .unwrap();
    let addr = server.local_addr().unwrap();
    // The server runs on its own thread's runtime while wstest runs.
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        runtime.block_on(async {
            tokio::select! {
                () = echo_server::serve(server, false) => {}
                _ = stop_rx => {}
            }
        })
    });
    let status = Command::new("python3")
        .arg(run_py())
        .args(["fuzzingclient", "--agent", "ws-tokio", "--url"])
        .arg(format!("ws://{addr}"))
        .arg("--outdir")
        .arg(outdir("fuzzingclient"))
        .status()
        .expect("cannot run python3");
    let _ = stop_tx.send(());
    let _ = thread.join();
    assert!(
        status.success(),
        "Autobahn fuzzingclient (testing our server) failed; see the summary above and \
         target/autobahn/fuzzingclient/"
    );
}

#[test]
#[ignore = "conformance (about 30 min): cargo test -p ws-tests -- --ignored, which .ci/run runs"]
fn fuzzingserver_against_autobahn_client() {
    autobahn_setup();
    let port = free_port();
    let dir = outdir("fuzzingserver");
    let mut wstest = Command::new("python3")
        .arg(run_py())
        .args(["fuzzingserver", "--port", &port.to_string(), "--outdir"])
        .arg(&dir)
        .spawn()
        .expect("cannot run python3");
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    if !wait_for_port(addr, Duration::from_secs(60)) {
        let _ = wstest.kill();
        panic!("the Autobahn fuzzingserver did not start listening on {addr}");
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ran = runtime.block_on(autobahn_client::run_all(
        &format!("ws://{addr}"),
        "ws-tokio",
    ));
    let _ = wstest.kill();
    let _ = wstest.wait();
    let count = ran.expect("the Autobahn client could not talk to the fuzzingserver");
    assert_eq!(count, 517, "unexpected number of cases");
    let status = Command::new("python3")
        .arg(run_py())
        .args([
            "judge",
            "--agent",
            "ws-tokio",
            "--role",
            "fuzzingserver",
            "--outdir",
        ])
        .arg(&dir)
        .status()
        .expect("cannot run python3");
    assert!(
        status.success(),
        "Autobahn fuzzingserver (testing our client) failed; see the summary above and \
         target/autobahn/fuzzingserver/"
    );
}
