//! Saved messages, variables, periodic sends and the command palette, driven through the
//! real UI headless (egui_kittest) against the built-in local echo server.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use egui::{Key, Modifiers};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use support::{
    assert_no_task_panicked, count_label, count_text_starting, has_label, type_into, wait_for,
};
use ws_inspector::WsInspectorApp;
use ws_inspector::app::{InspectorTab, SavedTab, Settings};
use ws_inspector_core::profiles::{Library, Profile, SavedMessage, VariableRow};

/// A local-echo profile with three messages: a counter, a variable, and an unknown
/// variable.
fn profile() -> Profile {
    Profile {
        name: "Workflow".to_owned(),
        variables: vec![
            VariableRow::plain("user", "ada"),
            VariableRow::secret("token", "s3cr3t-value"),
        ],
        saved_messages: vec![
            SavedMessage::text("Subscribe ticker", "ticker #{{counter}}"),
            SavedMessage::text("Hello", "hello {{user}}"),
            SavedMessage::text("Broken", "x {{missing}}"),
        ],
        ..Profile::local_echo()
    }
}

/// The app with one tab holding `profile` (not connected), the Saved tab shown, and
/// `library` in the config folder's library.
fn harness_with(
    dir: &Path,
    profile: Profile,
    library: &[SavedMessage],
) -> Harness<'static, WsInspectorApp> {
    if !library.is_empty() {
        let file = dir.join("library").join("messages.ron");
        std::fs::create_dir_all(file.parent().expect("a folder")).expect("library folder");
        let library = Library {
            messages: library.to_vec(),
        };
        std::fs::write(&file, ron::to_string(&library).expect("RON")).expect("library file");
    }
    let settings = Settings {
        tabs: vec![SavedTab {
            profile,
            saved_as: None,
            url: String::new(),
        }],
        inspector_tab: InspectorTab::Saved,
        show_inspector: true,
        ..Settings::default()
    };
    let dir = dir.to_owned();
    Harness::builder()
        .with_size(egui::vec2(1500.0, 950.0))
        .build_eframe(move |cc| {
            WsInspectorApp::new_for_test_with(&cc.egui_ctx, dir, settings).expect("the app starts")
        })
}

/// Connects the active tab (Ctrl+K) and waits until it is open.
fn connect(harness: &mut Harness<'static, WsInspectorApp>) {
    harness.key_press_modifiers(Modifiers::COMMAND, Key::K);
    wait_for(harness, "readyState 1 OPEN", |h| has_label(h, "1 OPEN"));
}

/// Steps the UI for `duration` (the network keeps going meanwhile).
fn step_for(harness: &mut Harness<'static, WsInspectorApp>, duration: Duration) {
    let end = Instant::now() + duration;
    while Instant::now() < end {
        harness.step();
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether some label's text contains `text`.
fn has_label_containing(harness: &Harness<'static, WsInspectorApp>, text: &str) -> bool {
    harness.query_all_by_label_contains(text).next().is_some()
}

#[test]
fn a_saved_message_sent_by_ctrl_1_shows_in_the_log() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut harness = harness_with(dir.path(), profile(), &[]);
    harness.run();
    assert!(
        has_label(&harness, "Subscribe ticker"),
        "the Saved tab lists it"
    );
    connect(&mut harness);

    harness.key_press_modifiers(Modifiers::COMMAND, Key::Num1);
    wait_for(&mut harness, "ticker #1 each way", |h| {
        count_label(h, "ticker #1") == 2
    });
    // The counter is the connection's: the next send is #2.
    harness.key_press_modifiers(Modifiers::COMMAND, Key::Num1);
    wait_for(&mut harness, "ticker #2 each way", |h| {
        count_label(h, "ticker #2") == 2
    });
    // Ctrl+2: the profile's variable expanded.
    harness.key_press_modifiers(Modifiers::COMMAND, Key::Num2);
    wait_for(&mut harness, "hello ada each way", |h| {
        count_label(h, "hello ada") == 2
    });
    // One click on a name sends it too.
    harness.get_by_label("Subscribe ticker").click();
    wait_for(&mut harness, "ticker #3 each way", |h| {
        count_label(h, "ticker #3") == 2
    });
    // Ctrl+9: there is no ninth message; nothing is sent, and it says so.
    harness.key_press_modifiers(Modifiers::COMMAND, Key::Num9);
    harness.run();
    assert!(has_label_containing(&harness, "no message number 9"));
    assert_eq!(count_label(&harness, "⬆ out"), 4);
    assert_no_task_panicked(&harness);
}

#[test]
fn a_periodic_send_is_started_and_stopped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut harness = harness_with(dir.path(), profile(), &[]);
    harness.run();
    connect(&mut harness);

    // ⟳ on the first message opens the form: every 1000 ms, until stopped.
    harness
        .query_all_by_label("⟳")
        .next()
        .expect("a repeat button per message")
        .click();
    harness.run();
    harness.get_by_label("until stopped").click();
    harness.run();
    harness.get_by_label("Start periodic send").click();
    wait_for(&mut harness, "the periodic row", |h| {
        has_label(h, "Periodic “Subscribe ticker” every 1000 ms")
    });
    wait_for(&mut harness, "two sends", |h| has_label(h, "sent 2"));
    assert_eq!(count_label(&harness, "ticker #1"), 2, "sent, and echoed");
    harness.get_by_label("Stop sending").click();
    wait_for(&mut harness, "the stopped row", |h| has_label(h, "stopped"));
    let sent = count_text_starting(&harness, "ticker #");
    assert!(!has_label(&harness, "Stop sending"));
    // Nothing more after the stop (it would send every second).
    step_for(&mut harness, Duration::from_millis(1500));
    assert_eq!(count_text_starting(&harness, "ticker #"), sent);
    assert!(!has_label(&harness, "ticker #4"));
    // The row can be dismissed.
    harness.get_by_label("Dismiss").click();
    harness.run();
    assert!(!has_label(&harness, "stopped"));
    assert_no_task_panicked(&harness);
}

#[test]
fn the_palette_finds_and_sends_a_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let library = [SavedMessage::text("Library greeting", "from the library")];
    let mut harness = harness_with(dir.path(), profile(), &library);
    harness.run();
    connect(&mut harness);

    harness.key_press_modifiers(Modifiers::COMMAND, Key::P);
    harness.run();
    assert!(
        has_label(&harness, "Search saved messages"),
        "the palette is open"
    );
    // By name: "hel" finds "Hello" (and not the others).
    type_into(&mut harness, "Search saved messages", "hel");
    harness.run();
    assert!(has_label_containing(&harness, "Hello — Text · profile"));
    assert!(!has_label_containing(&harness, "Broken — Text"));
    harness.key_press(Key::Enter);
    wait_for(&mut harness, "hello ada each way", |h| {
        count_label(h, "hello ada") == 2
    });
    assert!(
        !has_label(&harness, "Search saved messages"),
        "closed once sent"
    );

    // The library's messages are searched too, by payload here.
    harness.key_press_modifiers(Modifiers::COMMAND, Key::P);
    harness.run();
    type_into(&mut harness, "Search saved messages", "from the lib");
    harness.run();
    harness
        .query_all_by_label_contains("Library greeting — Text · library")
        .next()
        .expect("the library's message is found")
        .click();
    wait_for(&mut harness, "the library's message each way", |h| {
        count_label(h, "from the library") == 2
    });
    assert_no_task_panicked(&harness);
}

#[test]
fn an_unknown_variable_shows_its_error_and_sends_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut harness = harness_with(dir.path(), profile(), &[]);
    harness.run();
    connect(&mut harness);

    // The composer's preview names the placeholder before anything is sent.
    type_into(&mut harness, "Compose", "hi {{nope}} {{user}}");
    harness.run();
    assert!(
        has_label_containing(&harness, "⚠ unknown variable {{nope}} at byte 3"),
        "the preview shows the error"
    );
    harness.get_by_label("Send").click();
    harness.run();
    // A saved message with an unknown variable, by shortcut: its error, nothing sent.
    harness.key_press_modifiers(Modifiers::COMMAND, Key::Num3);
    harness.run();
    assert!(has_label_containing(
        &harness,
        "“Broken”: unknown variable {{missing}}"
    ));
    step_for(&mut harness, Duration::from_millis(300));
    assert_eq!(count_label(&harness, "⬆ out"), 0, "nothing was sent");

    // Fixed, it sends: the preview shows the expansion, the secret masked.
    type_into(&mut harness, "Compose", "hi {{user}} {{token}}");
    harness.run();
    assert!(has_label_containing(&harness, "→ hi ada ••••"));
    harness.get_by_label("Send").click();
    wait_for(&mut harness, "the message each way", |h| {
        count_label(h, "⬆ out") == 1
    });
    assert_no_task_panicked(&harness);
}

#[test]
fn the_send_on_connect_list_goes_first_and_a_draft_can_be_saved() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut profile = profile();
    profile.saved_messages[1].on_connect = true;
    profile.saved_messages.insert(
        0,
        SavedMessage {
            on_connect: true,
            ..SavedMessage::text("Auth", "auth #{{counter}}")
        },
    );
    let mut harness = harness_with(dir.path(), profile, &[]);
    harness.run();
    connect(&mut harness);
    wait_for(&mut harness, "the send-on-connect list each way", |h| {
        count_label(h, "auth #1") == 2 && count_label(h, "hello ada") == 2
    });
    assert_eq!(count_label(&harness, "⬆ out"), 2, "only those marked");

    // Save as message: the draft joins the profile's list, to be named in the editor.
    type_into(&mut harness, "Compose", "from the composer {{counter}}");
    harness.get_by_label("Save as message").click();
    harness.run();
    type_into(&mut harness, "Message name", "Drafted");
    harness.get_by_label("Save message").click();
    harness.run();
    assert!(has_label(&harness, "Drafted"), "listed under its name");
    harness.get_by_label("Drafted").click();
    wait_for(&mut harness, "the drafted message each way", |h| {
        count_label(h, "from the composer 2") == 2
    });
    assert_no_task_panicked(&harness);
}
