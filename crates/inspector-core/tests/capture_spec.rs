//! `docs/capture-format.md` is the capture format written down: every example line in it
//! must read back, write again to the same bytes, and between them cover every kind of
//! record.

use std::collections::BTreeSet;

use ws_inspector_core::capture::{CaptureLine, JsonlReader, Record, VERSION};

const SPEC: &str = include_str!("../../../docs/capture-format.md");

fn examples() -> Vec<&'static str> {
    SPEC.lines().filter(|l| l.starts_with("{\"v\":")).collect()
}

#[test]
fn every_example_reads_back_and_writes_the_same_bytes() {
    let lines = examples();
    assert!(
        lines.len() >= Record::KINDS.len(),
        "{} examples",
        lines.len()
    );
    for (n, text) in lines.iter().enumerate() {
        let line: CaptureLine =
            serde_json::from_str(text).unwrap_or_else(|e| panic!("example {}: {e}\n{text}", n + 1));
        assert_eq!(line.v, VERSION);
        let again = serde_json::to_string(&line).unwrap();
        assert_eq!(&again, text, "example {} written again differs", n + 1);
        if !matches!(line.record, Record::Capture { .. }) {
            line.to_tap()
                .unwrap_or_else(|e| panic!("example {} is no tap report: {e}", n + 1));
        }
    }
    // And through the reader, as a file.
    let file = lines.join("\n");
    let events: Vec<_> = JsonlReader::new(file.as_bytes())
        .collect::<Result<_, _>>()
        .expect("the examples read as one capture");
    assert_eq!(events.len(), lines.len() - 1, "all but the header line");
}

#[test]
fn the_examples_cover_every_kind() {
    let kinds: BTreeSet<String> = examples()
        .iter()
        .map(|text| {
            let value: serde_json::Value = serde_json::from_str(text).unwrap();
            value["record"]["kind"].as_str().unwrap().to_owned()
        })
        .collect();
    let all: BTreeSet<String> = Record::KINDS.iter().map(|k| (*k).to_owned()).collect();
    assert_eq!(kinds, all);
}
