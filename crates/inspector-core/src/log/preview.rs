//! One-line previews of payloads: text when it reads as text, else hex.

/// Whether a payload of unknown type reads as text: UTF-8 (an incomplete character at the
/// end is allowed, as a fragment or a truncation may cut one) with no control characters other
/// than tab, line feed and carriage return.
pub(super) fn looks_like_text(payload: &[u8]) -> bool {
    let mut chunks = payload.utf8_chunks().peekable();
    while let Some(chunk) = chunks.next() {
        let at_end = chunks.peek().is_none();
        let incomplete_tail = at_end && chunk.invalid().len() < 4;
        if !chunk.invalid().is_empty() && !incomplete_tail {
            return false;
        }
        if chunk
            .valid()
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        {
            return false;
        }
    }
    true
}

/// A one-line preview of a message's content (see [`FrameEntry::preview`](super::FrameEntry::preview)): text when it
/// reads as text, else hex; `…` when it did not fit or `cut` says part of it is missing.
pub fn preview_bytes(data: &[u8], cut: bool, max_chars: usize) -> String {
    let mut out = Preview::new(max_chars);
    if looks_like_text(data) {
        out.text(data, cut);
    } else {
        out.hex(data);
    }
    out.finish(cut)
}

/// Builds a preview within a character budget.
pub(super) struct Preview {
    out: String,
    left: usize,
    cut: bool,
}

impl Preview {
    pub(super) fn new(max_chars: usize) -> Self {
        Self {
            out: String::with_capacity(max_chars.min(256)),
            left: max_chars,
            cut: false,
        }
    }

    pub(super) fn push(&mut self, c: char) -> bool {
        if self.left == 0 {
            self.cut = true;
            return false;
        }
        self.left -= 1;
        self.out.push(c);
        true
    }

    /// Lossy UTF-8; an incomplete character at the end of a truncated payload is dropped.
    pub(super) fn text(&mut self, bytes: &[u8], truncated: bool) {
        let mut chunks = bytes.utf8_chunks().peekable();
        while let Some(chunk) = chunks.next() {
            for c in chunk.valid().chars() {
                let shown = match c {
                    '\n' => '↵',
                    c if c.is_control() => '·',
                    c => c,
                };
                if !self.push(shown) {
                    return;
                }
            }
            let incomplete_tail = truncated && chunks.peek().is_none();
            if !chunk.invalid().is_empty() && !incomplete_tail && !self.push('\u{FFFD}') {
                return;
            }
        }
    }

    pub(super) fn hex(&mut self, bytes: &[u8]) {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        for (i, byte) in bytes.iter().enumerate() {
            let needed = if i == 0 { 2 } else { 3 };
            if self.left < needed {
                self.cut = true;
                return;
            }
            if i > 0 {
                self.push(' ');
            }
            self.push(char::from(DIGITS[usize::from(byte >> 4)]));
            self.push(char::from(DIGITS[usize::from(byte & 0x0F)]));
        }
    }

    pub(super) fn finish(mut self, truncated: bool) -> String {
        if self.cut || truncated {
            self.out.push('…');
        }
        self.out
    }
}
