mod support;

// Choosing files without a file dialog (issue 11, item 6) and renaming a profile with Enter
// (item 8): the path fields of the sidebar and the composer, driven as a user would, with no
// native dialog opened.

use egui::Key;
use egui_kittest::kittest::Queryable;
use support::{assert_no_task_panicked, harness, has_label, type_into, wait_for};
use ws_inspector_core::log::Item;
use ws_inspector_core::profiles::ProfileStore;
use ws_tokio::ws_proto::Direction;

/// Whether some label contains `text`.
fn has_label_containing(
    harness: &egui_kittest::Harness<'static, ws_inspector::WsInspectorApp>,
    text: &str,
) -> bool {
    harness.query_all_by_label_contains(text).next().is_some()
}

#[test]
fn enter_confirms_a_rename() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut harness = harness(dir.path());
    harness.run();
    harness.get_by_label("+ New").click();
    harness.run();
    assert!(harness.state().profiles().get("New profile").is_some());

    harness.get_by_label("Rename").click();
    harness.run();
    type_into(&mut harness, "New name", "Renamed by Enter");
    harness.key_press(Key::Enter);
    harness.run();

    let profiles = harness.state().profiles();
    assert!(
        profiles.get("Renamed by Enter").is_some(),
        "Enter renamed the profile: {:?}",
        profiles
            .profiles()
            .iter()
            .map(|p| &p.name)
            .collect::<Vec<_>>()
    );
    assert!(profiles.get("New profile").is_none());
    assert!(!has_label(&harness, "New name"), "the rename field closed");
    // On disk too: a store opened afresh on the folder sees the new name only.
    let reopened = ProfileStore::open(dir.path().to_owned());
    assert!(reopened.get("Renamed by Enter").is_some());
    assert!(reopened.get("New profile").is_none());
}

#[test]
fn a_profile_is_imported_from_a_typed_path() {
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let mut other = ProfileStore::open(elsewhere.path().to_owned());
    other.create("Typed import").expect("a profile to import");
    let file = std::fs::read_dir(elsewhere.path())
        .expect("read dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| std::fs::read_to_string(p).is_ok_and(|text| text.contains("Typed import")))
        .expect("the profile's file");

    let dir = tempfile::tempdir().expect("temp dir");
    let mut harness = harness(dir.path());
    harness.run();
    harness.get_by_label("Import…").click();
    harness.run();

    // A path where nothing is: the error shows under the field, nothing is imported.
    let missing = elsewhere.path().join("missing.ron");
    type_into(&mut harness, "Import from", &missing.display().to_string());
    harness.key_press(Key::Enter);
    harness.run();
    assert!(
        has_label_containing(&harness, "could not read"),
        "the error is shown"
    );
    assert!(has_label(&harness, "Import from"), "the field stays open");

    // The real file, by its path and Enter.
    type_into(&mut harness, "Import from", &file.display().to_string());
    harness.key_press(Key::Enter);
    harness.run();
    assert!(
        harness.state().profiles().get("Typed import").is_some(),
        "imported"
    );
    assert!(has_label(&harness, "Imported “Typed import”."));
    assert!(!has_label(&harness, "Import from"), "the row closed");
    let reopened = ProfileStore::open(dir.path().to_owned());
    assert!(
        reopened.get("Typed import").is_some(),
        "saved in the folder"
    );
}

#[test]
fn the_composer_sends_a_file_from_a_typed_path() {
    let files = tempfile::tempdir().expect("temp dir");
    let path = files.path().join("payload.bin");
    let bytes: Vec<u8> = (0..=255u8).chain(*b"the end").collect();
    std::fs::write(&path, &bytes).expect("write");

    let dir = tempfile::tempdir().expect("temp dir");
    let mut harness = harness(dir.path());
    harness.run();
    let url = harness
        .state()
        .local_echo_url()
        .expect("the built-in echo server is running");
    type_into(&mut harness, "URL", &url);
    harness.get_by_label("Connect").click();
    wait_for(&mut harness, "readyState 1 OPEN", |h| {
        has_label(h, "1 OPEN")
    });

    harness.get_by_label("File").click();
    harness.run();
    // A folder is not a file: said next to the field.
    type_into(
        &mut harness,
        "File to send",
        &files.path().display().to_string(),
    );
    harness.key_press(Key::Enter);
    harness.run();
    assert!(has_label_containing(
        &harness,
        "This is a folder, not a file."
    ));

    type_into(&mut harness, "File to send", &path.display().to_string());
    harness.key_press(Key::Enter);
    harness.run();
    assert!(
        has_label_containing(&harness, "(263 B) is sent as one binary message."),
        "the loaded file and its size are shown"
    );
    harness.get_by_label("Send").click();
    wait_for(&mut harness, "the file's echo", |h| {
        h.state().session_state().is_some_and(|state| {
            state.log.iter().any(|e| {
                matches!(&e.item, Item::Frame(f) if f.direction == Direction::Incoming
                    && f.payload == bytes.as_slice())
            })
        })
    });
    let state = harness.state().session_state().expect("a session");
    let sent: Vec<Vec<u8>> = state
        .log
        .iter()
        .filter_map(|e| match &e.item {
            Item::Frame(f) if f.direction == Direction::Outgoing => Some(f.payload.to_vec()),
            _ => None,
        })
        .collect();
    assert_eq!(sent, [bytes], "one frame with the file's bytes");
    drop(state);
    assert_no_task_panicked(&harness);
}

#[test]
fn tab_completes_a_path_from_the_file_system() {
    let files = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(files.path().join("saved profiles")).expect("mkdir");
    std::fs::write(files.path().join("saved profiles/work.ron"), "()").expect("write");
    std::fs::write(files.path().join("notes.txt"), "x").expect("write");
    let base = files.path().display().to_string();

    let dir = tempfile::tempdir().expect("temp dir");
    let mut harness = harness(dir.path());
    harness.run();
    harness.get_by_label("Import…").click();
    harness.run();
    type_into(&mut harness, "Import from", &format!("{base}/sa"));
    harness.run();
    assert!(
        has_label(&harness, "saved profiles/"),
        "the folder is offered, with a trailing /"
    );
    assert!(!has_label(&harness, "notes.txt"), "only entries that match");
    harness.key_press(Key::Tab);
    harness.run();
    let value = |h: &egui_kittest::Harness<'static, ws_inspector::WsInspectorApp>| {
        h.get_by_label("Import from").value().unwrap_or_default()
    };
    assert_eq!(value(&harness), format!("{base}/saved profiles/"));
    // In the folder, its file is offered next; Tab takes it.
    assert!(has_label(&harness, "work.ron"), "the folder's entries");
    harness.key_press(Key::Tab);
    harness.run();
    assert_eq!(value(&harness), format!("{base}/saved profiles/work.ron"));
    // An unreadable or missing folder offers nothing, and nothing breaks.
    type_into(&mut harness, "Import from", "/no/such/folder/x");
    harness.run();
    assert!(!has_label(&harness, "work.ron"));
}
