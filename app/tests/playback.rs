//! Replay and serve from a capture's tab, driven headless: a capture of a real session opens
//! read only; Replay… sends its client messages to a server again in a new tab and says how
//! the answers compare; Serve… opens a listen tab whose clients get the capture's server
//! messages, each after its question.

mod support;

use std::time::Duration;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use support::{assert_no_task_panicked, has_label, serve, type_into, wait_for};
use ws_inspector::WsInspectorApp;
use ws_inspector_core::{Net, Notify};
use ws_tokio::{ConnectOptions, Message, Outgoing};

/// A server that greets with "welcome" and answers each text with `prefix` + text.
fn greeting_server(prefix: &'static str) -> support::TestServer {
    serve(move |sender, mut receiver| async move {
        let _ = sender.send_text("welcome").await;
        while let Some(Ok(message)) = receiver.recv().await {
            if let Message::Text(text) = message {
                let _ = sender.send_text(format!("{prefix}{}", text.as_str())).await;
            }
        }
    })
}

/// A capture of a real session (welcome; q1 and q2 with their answers; close) at `path`.
fn capture_to(path: &std::path::Path, url: &str) {
    let net = Net::new().expect("runtime");
    let session = net.connect(ConnectOptions::new(url), Notify::none(), None);
    let until = |what: &str, f: &dyn Fn() -> bool| {
        let end = std::time::Instant::now() + Duration::from_secs(10);
        while !f() {
            assert!(
                std::time::Instant::now() < end,
                "timed out waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    until("open", &|| session.state().opened.is_some());
    for text in ["q1", "q2"] {
        session
            .send(vec![Outgoing::Text(text.into())])
            .expect("send");
        std::thread::sleep(Duration::from_millis(20));
    }
    until("the answers", &|| session.state().traffic.frames_in >= 3);
    session.disconnect();
    until("the end", &|| session.state().finished);
    session.save_capture(path, false).expect("saved");
}

fn opened(files: &std::path::Path, dir: &std::path::Path) -> Harness<'static, WsInspectorApp> {
    let path = files.join("chat.jsonl");
    let original = greeting_server("echo: ");
    capture_to(&path, &original.url);
    let mut harness = support::harness(dir);
    harness.run();
    harness
        .state_mut()
        .open_capture_file(&path)
        .expect("the capture opens");
    harness.run();
    harness
}

#[test]
fn replay_sends_the_client_messages_again_and_compares_the_answers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = tempfile::tempdir().expect("temp dir");
    let mut harness = opened(files.path(), dir.path());
    let tabs = harness.state().tab_count();
    let now = greeting_server("echo: ");

    harness.get_by_label("Replay…").click();
    harness.run();
    type_into(&mut harness, "Replay to", &now.url);
    harness.get_by_label("Start replay").click();
    // The replay's tab is live from here on (it repaints): step, do not wait to settle.
    harness.step();
    harness.step();
    assert_eq!(
        harness.state().tab_count(),
        tabs + 1,
        "a tab for the replay"
    );
    wait_for(&mut harness, "the comparison", |h| {
        h.query_all_by_label_contains("every one of the 3 answers is the same")
            .next()
            .is_some()
    });
    assert!(has_label(&harness, "↻ Replay"));

    // Against a server that answers otherwise, the differences are listed.
    let other = greeting_server("re: ");
    harness.state_mut().activate_tab(tabs - 1);
    harness.run();
    harness.get_by_label("Replay…").click();
    harness.run();
    type_into(&mut harness, "Replay to", &other.url);
    harness.get_by_label("As fast as possible").click();
    harness.get_by_label("Start replay").click();
    wait_for(&mut harness, "the differences", |h| {
        h.query_all_by_label_contains("2 different from the capture's")
            .next()
            .is_some()
    });
    assert!(
        harness
            .query_all_by_label_contains("\"re: q1\"")
            .next()
            .is_some(),
        "the difference says what came"
    );
    assert_no_task_panicked(&harness);
}

#[test]
fn serve_answers_each_client_with_the_capture() {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = tempfile::tempdir().expect("temp dir");
    let mut harness = opened(files.path(), dir.path());
    harness.get_by_label("Serve…").click();
    harness.run();
    harness.get_by_label("Start serving").click();
    wait_for(&mut harness, "the listener", |h| {
        h.state().server_tab_url().is_some()
    });
    harness.run();
    assert!(
        harness
            .query_all_by_label_contains("Serving Capture: chat.jsonl: 4 messages to each client")
            .next()
            .is_some(),
        "the tab says what it serves"
    );
    let url = harness.state().server_tab_url().expect("url");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let got = runtime.block_on(async {
        let mut ws = ws_tokio::connect(ConnectOptions::new(url))
            .await
            .expect("connect");
        let mut got = Vec::new();
        let next = async |ws: &mut ws_tokio::WsStream<ws_tokio::MaybeTlsStream>| {
            match tokio::time::timeout(Duration::from_secs(5), ws.recv()).await {
                Ok(Some(Ok(Message::Text(text)))) => Some(text.as_str().to_owned()),
                _ => None,
            }
        };
        got.extend(next(&mut ws).await);
        ws.send_text("first question").await.expect("send");
        got.extend(next(&mut ws).await);
        ws.send_text("second question").await.expect("send");
        got.extend(next(&mut ws).await);
        got
    });
    assert_eq!(got, ["welcome", "echo: q1", "echo: q2"]);
    wait_for(&mut harness, "the client's frames", |h| {
        h.query_all_by_label_contains("second question")
            .next()
            .is_some()
    });
    assert_no_task_panicked(&harness);
}
