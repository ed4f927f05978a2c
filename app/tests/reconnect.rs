//! Auto-reconnect, keep-alive and the graphs, driven headless: a server that closes every
//! connection brings the countdown, the attempts and Stop; a close the user asked for does
//! not reconnect; a keep-alive profile on the local echo puts round trips on the pong rows,
//! in the status bar and in the Graphs tab.

mod support;

use std::time::{Duration, Instant};

use egui_kittest::kittest::Queryable;
use support::{assert_no_task_panicked, count_label, harness, has_label, serve, wait_for};
use ws_inspector_core::log::{Item, LifecycleEvent};
use ws_tokio::ws_proto::CloseCode;

/// Writes a profile file into the config folder (the store reads `*.ron` there).
fn profile(dir: &std::path::Path, file: &str, ron: &str) {
    std::fs::write(dir.join(file), ron).expect("write the profile");
}

/// How many connection attempts the active tab's log shows.
fn attempts(harness: &egui_kittest::Harness<'static, ws_inspector::WsInspectorApp>) -> usize {
    harness.state().session_state().map_or(0, |state| {
        state
            .log
            .iter()
            .filter(|e| matches!(&e.item, Item::Event(ev) if matches!(**ev, LifecycleEvent::Connecting { .. })))
            .count()
    })
}

/// The `reconnect` events of the active tab's log, as summaries.
fn reconnect_events(
    harness: &egui_kittest::Harness<'static, ws_inspector::WsInspectorApp>,
) -> Vec<String> {
    let Some(state) = harness.state().session_state() else {
        return Vec::new();
    };
    state
        .log
        .iter()
        .filter_map(|e| match &e.item {
            Item::Event(ev) if ev.name() == "reconnect" => Some(ev.summary()),
            _ => None,
        })
        .collect()
}

fn open_profile(
    harness: &mut egui_kittest::Harness<'static, ws_inspector::WsInspectorApp>,
    name: &str,
) {
    harness.run();
    harness.get_by_label(name).click();
    harness.run();
}

#[test]
fn a_dropped_connection_is_made_again_until_stopped() {
    // Every connection is closed by the server 50 ms after it opens (1012 Service Restart).
    let server = serve(|sender, mut receiver| async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let _ = sender.close(Some(CloseCode(1012)), "restart").await;
        while receiver.recv().await.is_some() {}
    });
    let dir = tempfile::tempdir().expect("temp dir");
    profile(
        dir.path(),
        "flaky.ron",
        &format!(
            "(name: \"Flaky\", url: \"{}\", reconnect: (enabled: true, initial_delay_secs: 0.3, \
             max_delay_secs: 0.6, max_attempts: 0))",
            server.url
        ),
    );
    let mut harness = harness(dir.path());
    open_profile(&mut harness, "Flaky");
    harness.get_by_label("Connect").click();
    wait_for(&mut harness, "the countdown", |h| {
        h.query_all_by_label_contains("reconnecting in")
            .next()
            .is_some()
    });
    assert!(has_label(&harness, "Reconnect now") && has_label(&harness, "Stop"));
    assert!(
        harness
            .query_all_by_label_contains("attempt 1")
            .next()
            .is_some(),
        "the attempt is shown"
    );
    wait_for(&mut harness, "three connections", |h| attempts(h) >= 3);
    {
        let reasons = reconnect_events(&harness);
        assert!(reasons.len() >= 2, "{reasons:?}");
        assert!(
            reasons[0].contains("closed by the server, 1012") && reasons[0].contains("restart"),
            "the reason the connection ended: {reasons:?}"
        );
        // Each connection opened, so each outage starts again from the first delay.
        assert!(
            reasons.iter().all(|r| r.contains("attempt 1")),
            "{reasons:?}"
        );
    }
    assert!(
        count_label(&harness, "reconnect") >= 2,
        "the attempts are in the log"
    );

    wait_for(&mut harness, "the next countdown", |h| has_label(h, "Stop"));
    harness.get_by_label("Stop").click();
    harness.run();
    assert!(has_label(&harness, "Connect"), "stopped: Connect again");
    let made = attempts(&harness);
    let quiet_until = Instant::now() + Duration::from_millis(1200);
    while Instant::now() < quiet_until {
        harness.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(attempts(&harness), made, "no attempt after Stop");
    assert_no_task_panicked(&harness);
}

/// A server that refuses every second attempt (503) and closes each connection it accepts
/// after `n` messages from the client; it says what each connection got first.
fn flaky_server(
    n: usize,
) -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    tokio::runtime::Runtime,
) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let server = runtime
        .block_on(ws_tokio::Server::bind(
            "127.0.0.1:0",
            ws_tokio::ServerOptions::default(),
        ))
        .expect("bind");
    let url = format!("ws://{}/", server.local_addr().expect("address"));
    let firsts = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = firsts.clone();
    runtime.spawn(async move {
        let mut attempt = 0;
        while let Ok(incoming) = server.accept().await {
            attempt += 1;
            let refuse = attempt % 2 == 0;
            let seen = seen.clone();
            tokio::spawn(async move {
                let decided = incoming
                    .upgrade(|_| match refuse {
                        true => ws_tokio::Decision::Reject {
                            status: ws_tokio::ws_proto::http::StatusCode::SERVICE_UNAVAILABLE,
                            body: "try again".into(),
                        },
                        false => ws_tokio::Decision::accept(),
                    })
                    .await;
                let Ok(mut ws) = decided else { return };
                let mut got = 0;
                while let Some(Ok(message)) = ws.recv().await {
                    if let ws_tokio::Message::Text(text) = message {
                        if got == 0 {
                            seen.lock().expect("lock").push(text.as_str().to_owned());
                        }
                        got += 1;
                        if got == n {
                            let _ = ws.close(Some(CloseCode(1012)), "restart").await;
                        }
                    }
                }
            });
        }
    });
    (url, firsts, runtime)
}

#[test]
fn drops_and_refusals_are_retried_within_the_backoff_and_the_connect_list_goes_again() {
    let (url, firsts, _server) = flaky_server(2);
    let dir = tempfile::tempdir().expect("temp dir");
    profile(
        dir.path(),
        "flaky2.ron",
        &format!(
            "(name: \"Flaky two\", url: \"{url}\", reconnect: (enabled: true, \
             initial_delay_secs: 0.2, max_delay_secs: 0.4, jitter_percent: 20.0), \
             saved_messages: [(name: \"hello\", kind: Text, payload: \"hello {{{{counter}}}}\", \
             on_connect: true)])"
        ),
    );
    let mut harness = harness(dir.path());
    open_profile(&mut harness, "Flaky two");
    harness.get_by_label("Connect").click();
    // Connection 1 opens and sends its hello; a second message makes the server close.
    wait_for(&mut harness, "the first connection", |h| {
        has_label(h, "1 OPEN")
    });
    support::type_into(&mut harness, "Compose", "second");
    harness.get_by_label("Send").click();
    // Then: a refused attempt (503), and connection 3 opens and sends its hello again.
    wait_for(&mut harness, "the third attempt's hello", |_| {
        firsts.lock().map(|f| f.len() >= 2).unwrap_or(false)
    });
    let firsts = firsts.lock().expect("lock").clone();
    assert!(
        firsts[0].starts_with("hello") && firsts[1].starts_with("hello"),
        "{firsts:?}"
    );
    let steps = reconnect_events(&harness);
    assert!(steps.len() >= 2, "{steps:?}");
    assert!(
        steps[0].contains("attempt 1") && steps[0].contains("1012"),
        "{steps:?}"
    );
    assert!(
        steps[1].contains("attempt 2") && steps[1].contains("503"),
        "{steps:?}"
    );
    // Each delay within the backoff's bounds: 0.2 s ± 20 %, then 0.4 s ± 20 %.
    let delay = |step: &str| -> f64 {
        let (_, rest) = step.split_once(" in ").expect("a delay");
        rest.split_once(" s")
            .expect("seconds")
            .0
            .parse()
            .expect("a number")
    };
    assert!((0.16..=0.24).contains(&delay(&steps[0])), "{steps:?}");
    assert!((0.32..=0.48).contains(&delay(&steps[1])), "{steps:?}");
    assert_no_task_panicked(&harness);
}

#[test]
fn a_close_the_user_asked_for_does_not_reconnect() {
    let dir = tempfile::tempdir().expect("temp dir");
    profile(
        dir.path(),
        "echo.ron",
        "(name: \"Echo again\", local_echo: true, reconnect: (enabled: true, \
         initial_delay_secs: 0.1))",
    );
    let mut harness = harness(dir.path());
    open_profile(&mut harness, "Echo again");
    harness.get_by_label("Connect").click();
    wait_for(&mut harness, "readyState 1 OPEN", |h| {
        has_label(h, "1 OPEN")
    });
    harness.get_by_label("Disconnect").click();
    wait_for(&mut harness, "readyState 3 CLOSED", |h| {
        has_label(h, "3 CLOSED")
    });
    let until = Instant::now() + Duration::from_millis(600);
    while Instant::now() < until {
        harness.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(attempts(&harness), 1, "one connection, no reconnect");
    assert!(!has_label(&harness, "Stop"));
    assert_no_task_panicked(&harness);
}

#[test]
fn keepalive_round_trips_show_in_the_log_the_status_bar_and_the_graphs() {
    let dir = tempfile::tempdir().expect("temp dir");
    profile(
        dir.path(),
        "pings.ron",
        "(name: \"Pings\", local_echo: true, keepalive: (enabled: true, interval_secs: 0.1, \
         timeout_secs: 5.0))",
    );
    let mut harness = harness(dir.path());
    open_profile(&mut harness, "Pings");
    harness.get_by_label("Connect").click();
    wait_for(&mut harness, "three round trips", |h| {
        h.state()
            .session_state()
            .is_some_and(|s| s.activity.rtts.len() >= 3)
    });
    harness.run();
    assert!(
        harness.query_all_by_label_contains("RTT ").count() >= 2,
        "on the pong rows and in the status bar"
    );
    assert!(
        harness
            .query_all_by_label_contains(" pings · RTT ")
            .next()
            .is_some(),
        "the status bar's summary"
    );

    harness.get_by_label("Graphs").click();
    harness.run();
    for title in [
        "Messages per second",
        "Bytes per second",
        "Ping round trip (ms)",
        "Message sizes",
    ] {
        assert!(has_label(&harness, title), "{title}");
    }
    assert!(
        !has_label(
            &harness,
            "No frames yet: the graphs fill in as the connection carries messages."
        ),
        "the plots have data"
    );
    assert!(
        harness
            .query_all_by_label_contains("No pong has answered")
            .next()
            .is_none(),
        "the RTT plot has points"
    );
    assert_no_task_panicked(&harness);
}
