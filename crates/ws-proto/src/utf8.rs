//! Incremental, fail-fast UTF-8 validation across fragments and partial frames (RFC 6455 §8.1),
//! and [`Utf8Bytes`], a `Bytes` known to hold UTF-8.
//!
//! A text message may be split anywhere, even inside a code point, across frames and across
//! reads. The validator keeps at most three bytes of an incomplete code point between calls,
//! and fails as soon as the bytes seen so far can no longer be the start of valid UTF-8 —
//! the strict behaviour the Autobahn Testsuite checks in its 6.4.* cases.

use std::fmt;
use std::ops::Deref;

use bytes::Bytes;

/// Validates a stream of UTF-8 chunks.
#[derive(Clone, Copy, Debug, Default)]
pub struct Utf8Validator {
    partial: [u8; 4],
    partial_len: u8,
}

/// The stream can no longer become valid UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidUtf8;

impl Utf8Validator {
    /// A validator at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a code point is left incomplete by the chunks fed so far.
    pub fn is_incomplete(&self) -> bool {
        self.partial_len != 0
    }

    /// Feeds the next chunk. With `last` set, an incomplete code point at the end is an error.
    pub fn feed(&mut self, mut chunk: &[u8], last: bool) -> Result<(), InvalidUtf8> {
        if self.partial_len > 0 {
            let have = usize::from(self.partial_len);
            let width = utf8_width(self.partial[0]);
            let take = (width - have).min(chunk.len());
            self.partial[have..have + take].copy_from_slice(&chunk[..take]);
            let len = have + take;
            chunk = &chunk[take..];
            match simdutf8::compat::from_utf8(&self.partial[..len]) {
                Ok(_) => self.partial_len = 0,
                Err(e) if e.error_len().is_none() => {
                    // Still incomplete: only possible when the chunk ran out.
                    // `len` is below 4 here, so it fits in a u8.
                    self.partial_len = len as u8;
                    return if last { Err(InvalidUtf8) } else { Ok(()) };
                }
                Err(_) => return Err(InvalidUtf8),
            }
        }
        match simdutf8::compat::from_utf8(chunk) {
            Ok(_) => Ok(()),
            Err(e) => match e.error_len() {
                Some(_) => Err(InvalidUtf8),
                None if last => Err(InvalidUtf8),
                None => {
                    let tail = &chunk[e.valid_up_to()..];
                    // An incomplete tail is at most 3 bytes long.
                    self.partial[..tail.len()].copy_from_slice(tail);
                    self.partial_len = tail.len() as u8;
                    Ok(())
                }
            },
        }
    }

    /// Ends the stream: an incomplete code point is an error.
    pub fn finish(&mut self) -> Result<(), InvalidUtf8> {
        let incomplete = self.is_incomplete();
        *self = Self::default();
        if incomplete { Err(InvalidUtf8) } else { Ok(()) }
    }
}

/// The length of the code point a lead byte starts (1 for bytes that cannot lead, so that the
/// validator reports them as invalid).
fn utf8_width(lead: u8) -> usize {
    match lead {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => 1,
    }
}

/// Bytes that hold valid UTF-8: a text message without a copy.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Utf8Bytes(Bytes);

impl Utf8Bytes {
    /// Wraps `bytes` after checking that they are UTF-8.
    pub fn try_from_bytes(bytes: Bytes) -> Result<Self, InvalidUtf8> {
        match simdutf8::basic::from_utf8(&bytes) {
            Ok(_) => Ok(Self(bytes)),
            Err(_) => Err(InvalidUtf8),
        }
    }

    /// Wraps bytes the caller has already validated.
    pub(crate) fn from_validated(bytes: Bytes) -> Self {
        debug_assert!(std::str::from_utf8(&bytes).is_ok());
        Self(bytes)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // SAFETY: every constructor validates the bytes as UTF-8 (or, for `from_validated`,
        // takes bytes the connection has validated), and the bytes are immutable.
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }

    /// The underlying bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// The underlying bytes, borrowed.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }
}

impl Deref for Utf8Bytes {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl From<String> for Utf8Bytes {
    fn from(s: String) -> Self {
        Self(Bytes::from(s))
    }
}

impl From<&'static str> for Utf8Bytes {
    fn from(s: &'static str) -> Self {
        Self(Bytes::from_static(s.as_bytes()))
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_everywhere(data: &[u8]) -> Vec<Result<(), InvalidUtf8>> {
        let mut results = Vec::new();
        for i in 0..=data.len() {
            for j in i..=data.len() {
                let mut v = Utf8Validator::new();
                let r = v
                    .feed(&data[..i], false)
                    .and_then(|_| v.feed(&data[i..j], false))
                    .and_then(|_| v.feed(&data[j..], true));
                results.push(r);
            }
        }
        results
    }

    #[test]
    fn valid_text_split_anywhere_is_valid() {
        let text = "κόσμε — 𝄞 ok €".as_bytes();
        assert!(split_everywhere(text).iter().all(Result::is_ok));
    }

    #[test]
    fn invalid_text_split_anywhere_is_invalid() {
        for bad in [
            &b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited"[..],
            b"\xf4\x90\x80\x80",
            b"abc\xc0\xaf",
            b"\xe2\x82",
            b"\xff",
        ] {
            assert!(split_everywhere(bad).iter().all(Result::is_err), "{bad:x?}");
        }
    }

    #[test]
    fn fails_fast_on_the_chunk_that_breaks_it() {
        let mut v = Utf8Validator::new();
        assert!(v.feed("κόσμε".as_bytes(), false).is_ok());
        // 0xF4 0x90 can never start a valid code point (above U+10FFFF).
        assert!(v.feed(b"\xf4", false).is_ok());
        assert_eq!(v.feed(b"\x90", false), Err(InvalidUtf8));
    }
}
