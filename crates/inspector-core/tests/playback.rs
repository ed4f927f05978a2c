//! Replaying and serving captures, GUI-free, against tokio-tungstenite peers: a session
//! against a greeting-then-echo server is captured; its replay against the same kind of
//! server answers the same, against a server that answers otherwise the differences are
//! listed; served by a listener, a tungstenite client gets the greeting first and each answer
//! after its question.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use ws_inspector_core::capture::playback::{self, ReplayPhase, ServedScript};
use ws_inspector_core::capture::script::{self, Script};
use ws_inspector_core::listener::{ListenerOptions, ServerChoices};
use ws_inspector_core::{Net, Notify};
use ws_tokio::ConnectOptions;
use ws_tokio::ws_proto::ReadyState;

/// A tungstenite server: "welcome", then each text back with `prefix`.
fn greeting_server(net: &Net, prefix: &'static str) -> String {
    let listener = net
        .handle()
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    net.handle().spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                let _ = ws.send(Message::text("welcome")).await;
                while let Some(Ok(message)) = ws.next().await {
                    if let Message::Text(text) = message {
                        let _ = ws.send(Message::text(format!("{prefix}{text}"))).await;
                    }
                }
            });
        }
    });
    format!("ws://{addr}/chat")
}

fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let end = Instant::now() + Duration::from_secs(15);
    while !condition() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A real session's capture as a script: welcome, q1 → echo, q2 → echo, close 1000.
fn captured(net: &Net, url: &str) -> Script {
    let session = net.connect(ConnectOptions::new(url), Notify::none(), None);
    wait_until("open", || session.state().ready_state() == ReadyState::Open);
    for text in ["q1", "q2"] {
        session
            .send(vec![ws_tokio::Outgoing::Text(text.into())])
            .expect("send");
        std::thread::sleep(Duration::from_millis(30));
    }
    wait_until("three answers", || session.state().traffic.frames_in >= 3);
    session.disconnect();
    wait_until("the end", || session.state().finished);
    let lines = session.capture_lines().expect("lines");
    script::script(&lines, None, None).expect("a script")
}

fn done(replay: &playback::Replay) -> (usize, usize, Vec<String>) {
    wait_until("the replay", || {
        matches!(
            replay.phase(),
            ReplayPhase::Done { .. } | ReplayPhase::Failed(_)
        )
    });
    match replay.phase() {
        ReplayPhase::Done {
            sent,
            received,
            differences,
        } => (sent, received, differences),
        other => panic!("the replay failed: {other:?}"),
    }
}

#[test]
fn a_replay_against_the_same_server_answers_the_same_and_otherwise_lists_the_differences() {
    let net = Net::new().expect("runtime");
    let script = captured(&net, &greeting_server(&net, ""));
    assert_eq!(playback::replay_plan(&script).sends.len(), 2);

    let same = greeting_server(&net, "");
    let (session, replay) = playback::replay(
        &net,
        ConnectOptions::new(same),
        &script,
        false,
        Duration::from_secs(5),
        Notify::none(),
        None,
    );
    assert_eq!(done(&replay), (2, 3, Vec::new()));
    wait_until("the close", || session.state().finished);
    assert_eq!(
        session.state().traffic.frames_out,
        3,
        "two texts and the close"
    );

    let other = greeting_server(&net, "re: ");
    let (_session, replay) = playback::replay(
        &net,
        ConnectOptions::new(other),
        &script,
        true,
        Duration::from_secs(5),
        Notify::none(),
        None,
    );
    let (_, received, differences) = done(&replay);
    assert_eq!(received, 3);
    assert_eq!(differences.len(), 2, "{differences:?}");
    assert!(
        differences[0].contains("answer 2") && differences[0].contains("\"re: q1\""),
        "{differences:?}"
    );
    assert!(
        net.tasks().panics().is_empty(),
        "{:?}",
        net.tasks().panics()
    );
}

#[test]
fn a_served_capture_greets_and_answers_each_question() {
    let net = Net::new().expect("runtime");
    let script = captured(&net, &greeting_server(&net, "echo: "));
    let options = ListenerOptions {
        choices: ServerChoices {
            echo: true,
            script: Some(Arc::new(ServedScript::new(&script, false, "test"))),
            ..ServerChoices::default()
        },
        ..ListenerOptions::default()
    };
    let listener = net.listen(&options, Notify::none()).expect("listen");
    let url = listener.url();
    let got: Vec<String> = net.handle().block_on(async move {
        let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .expect("connect");
        let mut got = Vec::new();
        let next = async |ws: &mut tokio_tungstenite::WebSocketStream<_>| loop {
            match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
                Ok(Some(Ok(Message::Text(text)))) => return Some(text.to_string()),
                Ok(Some(Ok(_))) => continue,
                _ => return None,
            }
        };
        got.extend(next(&mut ws).await);
        // Nothing more before the question.
        assert!(
            tokio::time::timeout(Duration::from_millis(200), ws.next())
                .await
                .is_err(),
            "the answer waits for its question"
        );
        ws.send(Message::text("anything")).await.expect("send");
        got.extend(next(&mut ws).await);
        ws.send(Message::text("more")).await.expect("send");
        got.extend(next(&mut ws).await);
        got
    });
    assert_eq!(got, ["welcome", "echo: q1", "echo: q2"]);
    assert!(
        net.tasks().panics().is_empty(),
        "{:?}",
        net.tasks().panics()
    );
}
