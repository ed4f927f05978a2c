//! Helpers for the log's tests: frames, pushes and lookups.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use ws_proto::{CloseCode, Direction, Frame, FrameHeader, OpCode};
use ws_tokio::tap::Initiator;

use super::{Filter, FrameEntry, Item, LifecycleEvent, LogStore};

pub(crate) fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

pub(crate) fn frame(direction: Direction, opcode: OpCode, fin: bool, payload: &[u8]) -> Frame {
    let mut header = FrameHeader::new(opcode, payload.len() as u64);
    header.fin = fin;
    Frame {
        direction,
        header,
        payload: Bytes::copy_from_slice(payload),
        decompressed_len: None,
        message: None,
    }
}

pub(crate) fn text_in(s: &str) -> Frame {
    frame(Direction::Incoming, OpCode::Text, true, s.as_bytes())
}

pub(crate) fn text_out(s: &str) -> Frame {
    frame(Direction::Outgoing, OpCode::Text, true, s.as_bytes())
}

pub(crate) fn push(store: &mut LogStore, frame: Frame) {
    let n = store.total_pushed();
    store.push_frame(t0(), Duration::from_millis(n), frame);
}

pub(crate) fn event(store: &mut LogStore, event: LifecycleEvent) {
    let n = store.total_pushed();
    store.push_event(t0(), Duration::from_millis(n), event);
}

pub(crate) fn frame_at(store: &LogStore, position: usize) -> FrameEntry<'_> {
    match store.get(position).expect("entry").item {
        Item::Frame(frame) => frame,
        Item::Event(event) => panic!("expected a frame, found {event:?}"),
    }
}

pub(crate) fn close_event() -> LifecycleEvent {
    LifecycleEvent::Close {
        code: CloseCode::NORMAL,
        reason: "bye".into(),
        clean: true,
        initiator: Initiator::Remote,
    }
}

pub(crate) fn sample_store() -> LogStore {
    let mut store = LogStore::new(100, 64);
    event(
        &mut store,
        LifecycleEvent::Connecting {
            url: "ws://example.com/".into(),
        },
    ); // 0
    push(&mut store, text_out("Hello World")); // 1
    push(&mut store, text_in("hello world")); // 2
    push(
        &mut store,
        frame(Direction::Incoming, OpCode::Binary, true, b"HELLO\xff"),
    ); // 3
    push(
        &mut store,
        frame(Direction::Outgoing, OpCode::Ping, true, b"hello?"),
    ); // 4
    push(
        &mut store,
        frame(Direction::Incoming, OpCode::Close, true, b"\x03\xe8bye"),
    ); // 5
    event(&mut store, close_event()); // 6
    store
}

pub(crate) fn matching(store: &LogStore, filter: Filter) -> Vec<u64> {
    let compiled = filter.compile().expect("valid filter");
    store
        .iter()
        .filter(|e| compiled.matches(e))
        .map(|e| e.index)
        .collect()
}
