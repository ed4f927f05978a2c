//! [`Notify`]: how the network side tells whoever shows a session that something changed.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// A callback the network side calls when a session's state changed, with how soon the
/// change should be shown ([`Duration::ZERO`]: now). The app passes one that asks egui for a
/// repaint (`ctx.request_repaint_after(after)`); a command line or a benchmark passes
/// [`Notify::none`].
#[derive(Clone)]
pub struct Notify(Arc<dyn Fn(Duration) + Send + Sync>);

impl Notify {
    /// Calls `callback` on every change.
    pub fn new(callback: impl Fn(Duration) + Send + Sync + 'static) -> Self {
        Self(Arc::new(callback))
    }

    /// Tells nobody.
    pub fn none() -> Self {
        Self::new(|_| {})
    }

    /// Something changed: show it now.
    pub fn now(&self) {
        (self.0)(Duration::ZERO);
    }

    /// Something changed: show it within `after` (at most one repaint per display frame,
    /// however fast reports arrive).
    pub fn after(&self, after: Duration) {
        (self.0)(after);
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Notify")
    }
}
