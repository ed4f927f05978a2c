//! Filters ([`Filter`], [`CompiledFilter`]) and the incrementally updated [`FilteredView`].

use std::collections::VecDeque;
use std::fmt;

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

use ws_proto::Direction;

use super::entry::{Entry, Item, LifecycleEvent};
use super::store::LogStore;

/// What the user asked to see: a text to search for (a substring, or a regular expression)
/// and toggles by direction and kind. Persistable with serde.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Filter {
    /// The text to search for; empty matches everything.
    pub text: String,
    /// Whether `text` is a regular expression (`regex` crate syntax, case-sensitive unless
    /// it starts with `(?i)`) rather than a case-insensitive substring.
    pub regex: bool,
    /// Show incoming frames (and messages).
    pub incoming: bool,
    /// Show outgoing frames (and messages).
    pub outgoing: bool,
    /// Show data frames: text, binary, continuation, reserved 0x3–0x7.
    pub data: bool,
    /// Show control frames: close, ping, pong, reserved 0xB–0xF.
    pub control: bool,
    /// Show lifecycle events.
    pub events: bool,
    /// Show only frames with this opcode (0x0–0xF), and no events; `None`: every opcode.
    pub opcode: Option<u8>,
}

impl Default for Filter {
    /// Everything: no text, every toggle on.
    fn default() -> Self {
        Self {
            text: String::new(),
            regex: false,
            incoming: true,
            outgoing: true,
            data: true,
            control: true,
            events: true,
            opcode: None,
        }
    }
}

impl Filter {
    /// Checks the filter, compiling the text into a matcher. An invalid regular expression
    /// is an error in plain words, such as
    /// `invalid regular expression: unclosed group (at character 1)`.
    pub fn compile(&self) -> Result<CompiledFilter, String> {
        let pattern = match (self.text.is_empty(), self.regex) {
            (true, _) => None,
            (false, true) => Some(
                RegexBuilder::new(&self.text)
                    .build()
                    .map_err(|e| regex_error(&e))?,
            ),
            (false, false) => Some(
                RegexBuilder::new(&regex::escape(&self.text))
                    .case_insensitive(true)
                    .build()
                    .map_err(|e| regex_error(&e))?,
            ),
        };
        Ok(CompiledFilter {
            filter: self.clone(),
            pattern,
        })
    }

    /// Whether the filter lets every entry through.
    pub fn matches_everything(&self) -> bool {
        self.text.is_empty()
            && self.incoming
            && self.outgoing
            && self.data
            && self.control
            && self.events
            && self.opcode.is_none()
    }
}

/// The `regex` crate's multi-line syntax error as one line: its `error:` line and the
/// position of its caret.
fn regex_error(error: &regex::Error) -> String {
    let message = error.to_string();
    let reason = message
        .lines()
        .find_map(|line| line.trim().strip_prefix("error: "));
    let column = message
        .lines()
        .find(|line| line.trim_start().starts_with('^'))
        .and_then(|line| line.find('^'))
        .map(|caret| caret.saturating_sub(4) + 1);
    match (reason, column) {
        (Some(reason), Some(column)) => {
            format!("invalid regular expression: {reason} (at character {column})")
        }
        (Some(reason), None) => format!("invalid regular expression: {reason}"),
        _ => format!("invalid regular expression: {}", message.trim()),
    }
}

/// A checked [`Filter`], ready to test entries.
#[derive(Clone, Debug)]
pub struct CompiledFilter {
    filter: Filter,
    /// The text as a regular expression (an escaped, case-insensitive one for a substring);
    /// `None` for an empty text.
    pattern: Option<Regex>,
}

impl Default for CompiledFilter {
    /// The filter that matches everything.
    fn default() -> Self {
        Self {
            filter: Filter::default(),
            pattern: None,
        }
    }
}

impl CompiledFilter {
    /// Whether `entry` passes: its direction and kind are toggled on, and the text is found
    /// in the payload as lossy UTF-8 (`code reason` for a close frame) or in an event's
    /// [`summary`](LifecycleEvent::summary).
    pub fn matches(&self, entry: &Entry<'_>) -> bool {
        let f = &self.filter;
        let direction_shown = |direction: &Direction| match direction {
            Direction::Incoming => f.incoming,
            Direction::Outgoing => f.outgoing,
        };
        match &entry.item {
            Item::Frame(frame) => {
                let kind_shown = match frame.header.opcode.is_control() {
                    true => f.control,
                    false => f.data,
                };
                direction_shown(&frame.direction)
                    && kind_shown
                    && f.opcode.is_none_or(|op| op == frame.header.opcode.bits())
                    && self
                        .pattern
                        .as_ref()
                        .is_none_or(|p| p.is_match(&frame.search_text()))
            }
            Item::Event(event) => {
                let direction_ok = match &**event {
                    LifecycleEvent::Message { direction, .. } => direction_shown(direction),
                    _ => true,
                };
                f.events
                    && f.opcode.is_none()
                    && direction_ok
                    && self
                        .pattern
                        .as_ref()
                        .is_none_or(|p| p.is_match(&event.summary()))
            }
        }
    }

    /// [`matches`](Self::matches), with what a payload decoder says of the entry: the text
    /// is also searched in the decoded text, and a heartbeat fails when `hide_heartbeats`.
    pub fn matches_decoded(
        &self,
        entry: &Entry<'_>,
        decoded: Option<&DecodedFacts>,
        hide_heartbeats: bool,
    ) -> bool {
        let Some(decoded) = decoded else {
            return self.matches(entry);
        };
        if hide_heartbeats && decoded.heartbeat {
            return false;
        }
        if self.matches(entry) {
            return true;
        }
        // The toggles as for the entry, the text against the decoded form.
        let Some(pattern) = &self.pattern else {
            return false;
        };
        let toggles = CompiledFilter {
            filter: Filter {
                text: String::new(),
                ..self.filter.clone()
            },
            pattern: None,
        };
        toggles.matches(entry) && pattern.is_match(&decoded.text)
    }

    /// Whether every entry passes (no text, every toggle on).
    pub fn matches_everything(&self) -> bool {
        self.filter.matches_everything()
    }

    /// The filter this was compiled from.
    pub fn filter(&self) -> &Filter {
        &self.filter
    }
}

/// What a payload decoder says of an entry, for [`CompiledFilter::matches_decoded`] and
/// [`FilteredView::update_decoded`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecodedFacts {
    /// The decoded text (what a filter's text is also searched in).
    pub text: String,
    /// An application heartbeat (Engine.IO ping/pong, graphql-ws ping/pong/`ka`).
    pub heartbeat: bool,
}

/// The positions of the entries that pass a filter, kept up to date incrementally.
///
/// Each [`update`](Self::update) scans only the entries pushed since the previous one and
/// drops evicted ones (matches are remembered by global index). A filter that differs from the
/// previous update's rebuilds the view by itself; [`invalidate`](Self::invalidate) forces a
/// rebuild. A filter that matches everything stores nothing: the view is the store.
///
/// One view follows one store: call [`invalidate`](Self::invalidate) before using it with
/// another.
#[derive(Default)]
pub struct FilteredView {
    /// The filter of the last update; `None` forces a rebuild.
    filter: Option<Filter>,
    /// Whether the filter matches everything (and `matches` stays empty).
    all: bool,
    /// Global indices of the matching entries, oldest first.
    matches: VecDeque<u64>,
    /// The global index of the next entry to scan.
    next: u64,
    /// The store's first index and length at the last update.
    base: u64,
    store_len: usize,
    /// Heartbeats hidden since the last rebuild ([`update_decoded`](Self::update_decoded)).
    hidden_heartbeats: u64,
    /// Each run of hidden heartbeats: the index of its first (kept in `matches` as the
    /// run's one row) and how many heartbeats it holds.
    runs: std::collections::HashMap<u64, u64>,
    /// The run still open: no entry shown since its last heartbeat.
    open_run: Option<u64>,
}

impl fmt::Debug for FilteredView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FilteredView")
            .field("filter", &self.filter)
            .field("all", &self.all)
            .field("len", &self.len())
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

impl FilteredView {
    /// Brings the view up to date with `store`.
    ///
    /// A rebuild scans every kept entry: about 0.3 s for 1,000,000 entries and a substring
    /// in a debug build. [`update_bounded`](Self::update_bounded) spreads that over frames.
    pub fn update(&mut self, store: &LogStore, filter: &CompiledFilter) {
        self.update_bounded(store, filter, usize::MAX);
    }

    /// Like [`update`](Self::update), but tests at most `max_scan` entries (oldest first), so
    /// that a rebuild over a long log can be spread over several UI frames. Returns whether
    /// the view is complete; if not, call it again (on the next frame).
    pub fn update_bounded(
        &mut self,
        store: &LogStore,
        filter: &CompiledFilter,
        max_scan: usize,
    ) -> bool {
        self.update_decoded(store, filter, max_scan, None)
    }

    /// Like [`update_bounded`](Self::update_bounded), with a payload decoder's say on each
    /// entry (`decoded`: the facts of an entry whose payload decodes, and whether heartbeats
    /// are hidden), as [`CompiledFilter::matches_decoded`] tests them. The view does not
    /// know when the decoder changes: [`invalidate`](Self::invalidate) it then. Counts the
    /// heartbeats it hides ([`hidden_heartbeats`](Self::hidden_heartbeats)).
    #[allow(clippy::type_complexity)]
    pub fn update_decoded(
        &mut self,
        store: &LogStore,
        filter: &CompiledFilter,
        max_scan: usize,
        mut decoded: Option<(&mut dyn FnMut(&Entry<'_>) -> Option<DecodedFacts>, bool)>,
    ) -> bool {
        let end = store.total_pushed();
        if self.filter.as_ref() != Some(filter.filter()) || self.next > end {
            self.filter = Some(filter.filter().clone());
            self.all = filter.matches_everything() && decoded.is_none();
            self.matches.clear();
            self.next = store.first_index();
            self.hidden_heartbeats = 0;
            self.runs.clear();
            self.open_run = None;
        }
        self.base = store.first_index();
        self.store_len = store.len();
        if self.all {
            self.matches = VecDeque::new();
            self.next = end;
            return true;
        }
        while self.matches.front().is_some_and(|&index| index < self.base) {
            if let Some(index) = self.matches.pop_front() {
                self.runs.remove(&index);
            }
        }
        let skip = usize::try_from(self.next.saturating_sub(self.base)).unwrap_or(usize::MAX);
        self.next = self.next.max(self.base);
        for entry in store.iter_from(skip).take(max_scan) {
            debug_assert_eq!(entry.index, self.next);
            let passes = match decoded.as_mut() {
                None => filter.matches(&entry),
                Some((decode, hide)) => {
                    let facts = decode(&entry);
                    let passes = filter.matches_decoded(&entry, facts.as_ref(), *hide);
                    let heartbeat = facts.is_some_and(|f| f.heartbeat);
                    if *hide && heartbeat {
                        self.hidden_heartbeats += 1;
                        // Folded: the run's first heartbeat is its one row, with a count.
                        match self.open_run {
                            Some(first) => *self.runs.entry(first).or_insert(0) += 1,
                            None => {
                                self.runs.insert(entry.index, 1);
                                self.open_run = Some(entry.index);
                                self.matches.push_back(entry.index);
                            }
                        }
                        self.next = entry.index + 1;
                        continue;
                    }
                    // The `message` and `auto` events of a heartbeat (its browser event, the
                    // inspector's answer) stay in the run.
                    if self.open_run.is_some()
                        && matches!(&entry.item, Item::Event(e) if matches!(e.name(), "message" | "auto"))
                    {
                        self.next = entry.index + 1;
                        continue;
                    }
                    if passes {
                        self.open_run = None;
                    }
                    passes
                }
            };
            if passes {
                self.matches.push_back(entry.index);
            }
            self.next = entry.index + 1;
        }
        self.next == end
    }

    /// Forces a rebuild at the next [`update`](Self::update).
    pub fn invalidate(&mut self) {
        self.filter = None;
    }

    /// The heartbeats [`update_decoded`](Self::update_decoded) hid since the view was last
    /// rebuilt (evicted ones included).
    pub fn hidden_heartbeats(&self) -> u64 {
        self.hidden_heartbeats
    }

    /// When the entry with global index `index` stands for a run of folded heartbeats: how
    /// many the run holds (it is shown as one counter row).
    pub fn heartbeat_run(&self, index: u64) -> Option<u64> {
        self.runs.get(&index).copied()
    }

    /// The number of matching entries, as of the last update.
    pub fn len(&self) -> usize {
        match self.all {
            true => self.store_len,
            false => self.matches.len(),
        }
    }

    /// Whether no entry matches.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The store position of the `i`-th match (valid until the store changes).
    pub fn position(&self, i: usize) -> Option<usize> {
        match self.all {
            true => (i < self.store_len).then_some(i),
            false => {
                let index = *self.matches.get(i)?;
                usize::try_from(index - self.base).ok()
            }
        }
    }

    /// The global index of the `i`-th match.
    pub fn index(&self, i: usize) -> Option<u64> {
        match self.all {
            true => (i < self.store_len).then(|| self.base + i as u64),
            false => self.matches.get(i).copied(),
        }
    }

    /// Where the entry with the global index `index` is in the view, if it matches: the
    /// inverse of [`index`](Self::index), to keep a selection across updates.
    pub fn find(&self, index: u64) -> Option<usize> {
        match self.all {
            true => {
                let i = usize::try_from(index.checked_sub(self.base)?).ok()?;
                (i < self.store_len).then_some(i)
            }
            false => self.matches.binary_search(&index).ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use ws_proto::Direction;

    use super::*;
    use crate::log::LifecycleEvent;
    use crate::log::testing::*;

    // --- filters ------------------------------------------------------------------------------

    #[test]
    fn substring_filters_ignore_case() {
        let store = sample_store();
        let text = |text: &str| Filter {
            text: text.into(),
            ..Filter::default()
        };
        assert_eq!(matching(&store, Filter::default()), [0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(matching(&store, text("hello")), [1, 2, 3, 4]);
        assert_eq!(matching(&store, text("WORLD")), [1, 2]);
        // Regex metacharacters are literal in a substring.
        assert_eq!(matching(&store, text("hello?")), [4]);
        // Close frames by code and reason; events by summary.
        assert_eq!(matching(&store, text("1000 bye")), [5]);
        assert_eq!(matching(&store, text("BYE")), [5, 6]);
        assert_eq!(matching(&store, text("example.com")), [0]);
        assert_eq!(matching(&store, text("nothing")), Vec::<u64>::new());
    }

    #[test]
    fn decoded_text_and_heartbeats() {
        let mut store = LogStore::new(100, 1 << 20);
        push(&mut store, text_in("2"));
        push(&mut store, text_in("42[\"chat\"]"));
        push(&mut store, text_out("3"));
        // A stand-in decoder: "2"/"3" are heartbeats, the rest decodes to "event …".
        let mut facts = |entry: &Entry<'_>| match &entry.item {
            Item::Frame(f) => Some(DecodedFacts {
                text: format!("event {}", String::from_utf8_lossy(f.payload)),
                heartbeat: matches!(f.payload, b"2" | b"3"),
            }),
            Item::Event(_) => None,
        };
        let mut view = FilteredView::default();
        let everything = Filter::default().compile().unwrap();
        assert!(view.update_decoded(&store, &everything, usize::MAX, Some((&mut facts, true))));
        // Each run of heartbeats is one row (its first), with its count.
        assert_eq!(view.len(), 3);
        assert_eq!(
            (view.index(0), view.index(1), view.index(2)),
            (Some(0), Some(1), Some(2))
        );
        assert_eq!(view.heartbeat_run(0), Some(1));
        assert_eq!(view.heartbeat_run(1), None);
        assert_eq!(view.hidden_heartbeats(), 2);
        push(&mut store, text_out("3"));
        push(&mut store, text_in("2"));
        view.update_decoded(&store, &everything, usize::MAX, Some((&mut facts, true)));
        assert_eq!(view.len(), 3, "the open run grows, no new row");
        assert_eq!(view.heartbeat_run(2), Some(3));
        // Shown again, and the text is found in the decoded form only.
        let event = Filter {
            text: "EVENT 4".into(),
            ..Filter::default()
        }
        .compile()
        .unwrap();
        view.invalidate();
        view.update_decoded(&store, &event, usize::MAX, Some((&mut facts, false)));
        assert_eq!((view.len(), view.hidden_heartbeats()), (1, 0));
        view.update_bounded(&store, &event, usize::MAX);
        assert_eq!(view.len(), 1, "a filter change alone does not rebuild");
        view.invalidate();
        view.update_bounded(&store, &event, usize::MAX);
        assert!(view.is_empty(), "without the decoder the text is not there");
    }

    #[test]
    fn regex_filters() {
        let store = sample_store();
        let regex = |text: &str| Filter {
            text: text.into(),
            regex: true,
            ..Filter::default()
        };
        assert_eq!(matching(&store, regex("^hello")), [2, 4]);
        assert_eq!(matching(&store, regex("(?i)^hello ")), [1, 2]);
        // Invalid UTF-8 is matched as U+FFFD.
        assert_eq!(matching(&store, regex("O\u{FFFD}$")), [3]);
        assert_eq!(matching(&store, regex(r"^close \d+")), [6]);
    }

    #[test]
    fn a_bad_regex_is_a_readable_error() {
        let err = Filter {
            text: "(abc".into(),
            regex: true,
            ..Filter::default()
        }
        .compile()
        .unwrap_err();
        assert_eq!(
            err,
            "invalid regular expression: unclosed group (at character 1)"
        );
        assert!(!err.contains('\n'));
        let err = Filter {
            text: "ab[z-a]".into(),
            regex: true,
            ..Filter::default()
        }
        .compile()
        .unwrap_err();
        assert!(err.starts_with("invalid regular expression: "), "{err}");
        assert!(err.contains("(at character 4)"), "{err}");
        // The same text as a substring is fine.
        assert!(
            Filter {
                text: "(abc".into(),
                ..Filter::default()
            }
            .compile()
            .is_ok()
        );
    }

    #[test]
    fn toggles() {
        let store = sample_store();
        let only = |f: fn(&mut Filter)| {
            let mut filter = Filter::default();
            f(&mut filter);
            filter
        };
        assert_eq!(matching(&store, only(|f| f.incoming = false)), [0, 1, 4, 6]);
        assert_eq!(
            matching(&store, only(|f| f.outgoing = false)),
            [0, 2, 3, 5, 6]
        );
        assert_eq!(matching(&store, only(|f| f.data = false)), [0, 4, 5, 6]);
        assert_eq!(
            matching(&store, only(|f| f.control = false)),
            [0, 1, 2, 3, 6]
        );
        assert_eq!(
            matching(&store, only(|f| f.events = false)),
            [1, 2, 3, 4, 5]
        );
        let filter = Filter {
            text: "hello".into(),
            incoming: false,
            control: false,
            ..Filter::default()
        };
        assert_eq!(matching(&store, filter), [1]);

        // Message events follow the direction toggles.
        let mut store = LogStore::new(10, 10);
        event(
            &mut store,
            LifecycleEvent::Message {
                direction: Direction::Incoming,
                text: true,
                len: 3,
            },
        );
        assert_eq!(
            matching(&store, only(|f| f.incoming = false)),
            Vec::<u64>::new()
        );
        assert_eq!(matching(&store, only(|f| f.outgoing = false)), [0]);
    }

    #[test]
    fn filter_serde_and_defaults() {
        let filter = Filter {
            text: "x".into(),
            regex: true,
            control: false,
            ..Filter::default()
        };
        let ron = ron::to_string(&filter).unwrap();
        assert_eq!(ron::from_str::<Filter>(&ron).unwrap(), filter);
        // Missing fields take their defaults.
        let partial: Filter = ron::from_str("(text: \"y\")").unwrap();
        assert_eq!(partial.text, "y");
        assert!(partial.incoming && partial.events && !partial.regex);
        assert!(Filter::default().matches_everything());
        assert!(CompiledFilter::default().matches_everything());
        assert!(!filter.matches_everything());
    }

    // --- filtered view ------------------------------------------------------------------------

    fn view_positions(view: &FilteredView) -> Vec<usize> {
        (0..view.len()).map(|i| view.position(i).unwrap()).collect()
    }

    #[test]
    fn filtered_view_is_incremental() {
        let mut store = LogStore::new(100, 64);
        let filter = Filter {
            text: "keep".into(),
            ..Filter::default()
        }
        .compile()
        .unwrap();
        let mut view = FilteredView::default();
        view.update(&store, &filter);
        assert!(view.is_empty());
        push(&mut store, text_in("keep 0"));
        push(&mut store, text_in("drop 1"));
        view.update(&store, &filter);
        assert_eq!(view_positions(&view), [0]);
        push(&mut store, text_in("keep 2"));
        push(&mut store, text_in("KEEP 3"));
        view.update(&store, &filter);
        assert_eq!(view_positions(&view), [0, 2, 3]);
        assert_eq!(view.index(1), Some(2));
        assert_eq!(view.find(3), Some(2));
        assert_eq!(view.find(1), None);
        assert_eq!(view.position(3), None);
        // Only new entries were scanned: a match count that would change on a rescan does
        // not (the view trusts what it saw).
        assert_eq!(view.next, 4);
    }

    #[test]
    fn filtered_view_drops_evicted_entries() {
        let mut store = LogStore::new(4, 64);
        let filter = Filter {
            text: "keep".into(),
            ..Filter::default()
        }
        .compile()
        .unwrap();
        let mut view = FilteredView::default();
        for i in 0..4 {
            push(
                &mut store,
                text_in(if i % 2 == 0 { "keep" } else { "drop" }),
            );
        }
        view.update(&store, &filter);
        assert_eq!(view_positions(&view), [0, 2]);
        // Two more: indices 0 and 1 are evicted; positions shift.
        push(&mut store, text_in("keep"));
        push(&mut store, text_in("drop"));
        view.update(&store, &filter);
        assert_eq!(view_positions(&view), [0, 2]);
        assert_eq!(view.index(0), Some(2));
        assert_eq!(view.index(1), Some(4));
        // Many more than the capacity between two updates.
        for _ in 0..10 {
            push(&mut store, text_in("keep"));
        }
        view.update(&store, &filter);
        assert_eq!(view_positions(&view), [0, 1, 2, 3]);
        assert_eq!(view.index(0), Some(12));
        // Clear: everything goes.
        store.clear();
        view.update(&store, &filter);
        assert!(view.is_empty());
        push(&mut store, text_in("keep"));
        view.update(&store, &filter);
        assert_eq!(view_positions(&view), [0]);
        assert_eq!(view.index(0), Some(16));
    }

    #[test]
    fn filtered_view_rebuilds_on_a_new_filter_or_invalidate() {
        let mut store = LogStore::new(100, 64);
        for text in ["alpha", "beta", "alphabet"] {
            push(&mut store, text_in(text));
        }
        let mut view = FilteredView::default();
        let alpha = Filter {
            text: "alpha".into(),
            ..Filter::default()
        };
        view.update(&store, &alpha.compile().unwrap());
        assert_eq!(view_positions(&view), [0, 2]);
        let beta = Filter {
            text: "bet".into(),
            ..Filter::default()
        };
        view.update(&store, &beta.compile().unwrap());
        assert_eq!(view_positions(&view), [1, 2]);
        // The identity view stores nothing.
        view.update(&store, &CompiledFilter::default());
        assert_eq!(view_positions(&view), [0, 1, 2]);
        assert!(view.matches.is_empty());
        assert_eq!(view.find(1), Some(1));
        assert_eq!(view.index(2), Some(2));
        push(&mut store, text_in("gamma"));
        view.update(&store, &CompiledFilter::default());
        assert_eq!(view.len(), 4);
        // Invalidate rescans everything with the same filter.
        view.invalidate();
        view.update(&store, &alpha.compile().unwrap());
        assert_eq!(view_positions(&view), [0, 2]);
        view.invalidate();
        view.update(&store, &alpha.compile().unwrap());
        assert_eq!(view_positions(&view), [0, 2]);
        // A different (new) store is noticed when it is behind the view.
        let mut other = LogStore::new(100, 64);
        push(&mut other, text_in("alpha"));
        view.update(&other, &alpha.compile().unwrap());
        assert_eq!(view_positions(&view), [0]);
    }

    #[test]
    fn bounded_updates_catch_up() {
        let mut store = LogStore::new(100, 64);
        for i in 0..10 {
            push(
                &mut store,
                text_in(if i % 3 == 0 { "keep" } else { "drop" }),
            );
        }
        let filter = Filter {
            text: "keep".into(),
            ..Filter::default()
        }
        .compile()
        .unwrap();
        let mut view = FilteredView::default();
        assert!(!view.update_bounded(&store, &filter, 4));
        assert_eq!(view_positions(&view), [0, 3]);
        // Entries arrive and get evicted meanwhile.
        push(&mut store, text_in("keep")); // 10
        store.set_capacity(8); // evicts 0, 1, 2
        assert!(!view.update_bounded(&store, &filter, 4));
        assert_eq!(view_positions(&view), [0, 3]); // indices 3, 6
        assert!(view.update_bounded(&store, &filter, 4));
        assert_eq!(view.index(2), Some(9));
        assert_eq!(view.index(3), Some(10));
        assert_eq!(view.len(), 4);
        assert!(view.update_bounded(&store, &filter, 0));
        assert!(view.update_bounded(&store, &CompiledFilter::default(), 0));
        assert_eq!(view.len(), 8);
    }

    #[test]
    fn identity_view_follows_eviction() {
        let mut store = LogStore::new(3, 64);
        let mut view = FilteredView::default();
        for i in 0..5 {
            push(&mut store, text_in(&i.to_string()));
            view.update(&store, &CompiledFilter::default());
        }
        assert_eq!(view_positions(&view), [0, 1, 2]);
        assert_eq!(view.index(0), Some(2));
        assert_eq!(view.find(1), None);
        assert_eq!(view.find(4), Some(2));
    }
}
