//! The kittest harness the UI tests share: the app with profiles in a temp dir, stepping
//! until a condition holds, queries by accessible name, and the check that no task of the
//! app panicked.

#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, Instant};

use egui::{Key, Modifiers};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable};
use ws_inspector::WsInspectorApp;

pub const DEADLINE: Duration = Duration::from_secs(15);

pub fn harness(config_dir: &Path) -> Harness<'static, WsInspectorApp> {
    let dir = config_dir.to_owned();
    Harness::builder()
        .with_size(egui::vec2(1500.0, 950.0))
        .build_eframe(move |cc| {
            WsInspectorApp::new_for_test(&cc.egui_ctx, dir).expect("the app starts")
        })
}

/// [`harness`] for peers whose payloads hold characters none of the app's fonts has (such
/// as Python `websockets`' test script, with ✓ and 𝄞): the app draws a box for each, where
/// kittest would panic by default.
pub fn harness_for_any_text(config_dir: &Path) -> Harness<'static, WsInspectorApp> {
    let dir = config_dir.to_owned();
    Harness::builder()
        .with_size(egui::vec2(1500.0, 950.0))
        .allow_missing_glyphs()
        .build_eframe(move |cc| {
            WsInspectorApp::new_for_test(&cc.egui_ctx, dir).expect("the app starts")
        })
}

/// Fails the test if any background task of the app panicked (a panic inside a spawned task
/// fails nothing by itself: the app records it, and every test that runs sessions checks).
pub fn assert_no_task_panicked(harness: &Harness<'static, WsInspectorApp>) {
    let panics = harness.state().task_panics();
    assert!(panics.is_empty(), "a task of the app panicked: {panics:?}");
}

/// Steps the UI until `condition` holds; panics with `what` after the deadline.
pub fn wait_for(
    harness: &mut Harness<'static, WsInspectorApp>,
    what: &str,
    condition: impl Fn(&Harness<'static, WsInspectorApp>) -> bool,
) {
    let end = Instant::now() + DEADLINE;
    loop {
        harness.step();
        if condition(harness) {
            return;
        }
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn has_label(harness: &Harness<'static, WsInspectorApp>, label: &str) -> bool {
    harness.query_all_by_label(label).next().is_some()
}

pub fn count_label(harness: &Harness<'static, WsInspectorApp>, label: &str) -> usize {
    harness.query_all_by_label(label).count()
}

/// Replaces the text of the field named `label` with `text`.
pub fn type_into(harness: &mut Harness<'static, WsInspectorApp>, label: &str, text: &str) {
    harness.get_by_label(label).click();
    harness.step();
    harness.key_press_modifiers(Modifiers::COMMAND, Key::A);
    harness.step();
    harness.get_by_label(label).type_text(text);
    harness.step();
}

/// Whether some widget's value (a text field's text, a label's text) contains `text`.
pub fn has_value_containing(harness: &Harness<'static, WsInspectorApp>, text: &str) -> bool {
    harness
        .query_all_by(|node| node.value().is_some_and(|value| value.contains(text)))
        .next()
        .is_some()
}

/// A WebSocket server for one test, on a runtime of its own: it accepts every client and
/// runs `script` with the connection's handles.
pub struct TestServer {
    /// The server's `ws://` URL.
    pub url: String,
    /// Keeps the server running.
    _runtime: tokio::runtime::Runtime,
}

/// Starts a [`TestServer`] on a free loopback port.
pub fn serve<F, Fut>(script: F) -> TestServer
where
    F: Fn(ws_tokio::Sender, ws_tokio::Receiver) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let server = runtime
        .block_on(ws_tokio::Server::bind(
            "127.0.0.1:0",
            ws_tokio::ServerOptions::default(),
        ))
        .expect("bind");
    let addr = server.local_addr().expect("address");
    let script = std::sync::Arc::new(script);
    runtime.spawn(async move {
        while let Ok(incoming) = server.accept().await {
            let script = script.clone();
            tokio::spawn(async move {
                let upgraded = incoming
                    .upgrade(|_| ws_tokio::Decision::Accept {
                        protocol: None,
                        headers: Default::default(),
                    })
                    .await;
                if let Ok(ws) = upgraded {
                    let (sender, receiver) = ws.into_driven().split();
                    script(sender, receiver).await;
                }
            });
        }
    });
    TestServer {
        url: format!("ws://{addr}/"),
        _runtime: runtime,
    }
}

/// Connects the active tab to `url` through the URL field and waits until it is open.
pub fn connect_to(harness: &mut Harness<'static, WsInspectorApp>, url: &str) {
    type_into(harness, "URL", url);
    harness.get_by_label("Connect").click();
    wait_for(harness, "readyState 1 OPEN", |h| has_label(h, "1 OPEN"));
}

/// Whether the widget labelled `label` is disabled.
pub fn is_disabled(harness: &Harness<'static, WsInspectorApp>, label: &str) -> bool {
    harness.get_by_label(label).accesskit_node().is_disabled()
}

/// The number of labels (plain text, not buttons) whose text starts with `prefix`.
pub fn count_text_starting(harness: &Harness<'static, WsInspectorApp>, prefix: &str) -> usize {
    harness
        .query_all_by(|node| {
            node.role() == egui::accesskit::Role::Label
                && node.value().is_some_and(|value| value.starts_with(prefix))
        })
        .count()
}

/// Clicks the last label whose text starts with `prefix` (the newest row, in a log) and
/// lets the UI settle.
pub fn click_text_starting(harness: &mut Harness<'static, WsInspectorApp>, prefix: &str) {
    harness
        .query_all_by(|node| {
            node.role() == egui::accesskit::Role::Label
                && node.value().is_some_and(|value| value.starts_with(prefix))
        })
        .last()
        .unwrap_or_else(|| panic!("no label starts with {prefix:?}"))
        .click();
    harness.run();
}
