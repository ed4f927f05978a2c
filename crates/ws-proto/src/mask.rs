//! Where client masking keys come from.
//!
//! RFC 6455 §5.3 asks for masks drawn "from a strong source of entropy", fresh for every frame,
//! so that a script cannot choose the bytes a proxy sees. The default, [`OsRandom`], takes them
//! from the operating system's generator, 256 keys per call to amortise the system call. Tests
//! and tools that need byte-exact output plug in [`FixedMask`] or their own [`MaskSource`]:
//! that is what keeps the engine deterministic given its inputs.

use std::fmt;

/// A source of masking keys.
pub trait MaskSource: Send {
    /// The key for the next client frame.
    fn next_mask(&mut self) -> [u8; 4];
}

/// Masking keys from the operating system's random number generator.
pub struct OsRandom {
    buf: [u8; 1024],
    pos: usize,
}

impl OsRandom {
    /// A source that fills its buffer on first use.
    pub fn new() -> Self {
        Self {
            buf: [0; 1024],
            pos: 1024,
        }
    }
}

impl Default for OsRandom {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for OsRandom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OsRandom")
    }
}

impl MaskSource for OsRandom {
    fn next_mask(&mut self) -> [u8; 4] {
        if self.pos + 4 > self.buf.len() {
            fill_random(&mut self.buf);
            self.pos = 0;
        }
        let k = [
            self.buf[self.pos],
            self.buf[self.pos + 1],
            self.buf[self.pos + 2],
            self.buf[self.pos + 3],
        ];
        self.pos += 4;
        k
    }
}

/// The same key for every frame: for tests and byte-exact examples only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixedMask(pub [u8; 4]);

impl MaskSource for FixedMask {
    fn next_mask(&mut self) -> [u8; 4] {
        self.0
    }
}

/// Fills `buf` from the operating system's random source.
///
/// Failure here means the OS cannot provide randomness at all (no `getrandom` syscall and no
/// `/dev/urandom`); continuing with predictable masks would silently defeat their purpose, so
/// this is the one place the crate aborts instead of returning an error.
pub(crate) fn fill_random(buf: &mut [u8]) {
    if let Err(e) = getrandom::fill(buf) {
        panic!("the operating system provides no randomness: {e}");
    }
}
