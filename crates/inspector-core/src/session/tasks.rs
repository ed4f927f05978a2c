//! [`Tasks`]: background tasks whose panics are recorded instead of lost.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::FutureExt as _;

/// Spawns the app's background tasks so that a panic in one is recorded — shown in the
/// status bar, and failed on by the tests — instead of vanishing with the task (a panic in
/// a spawned task fails nothing by itself: its `JoinHandle` just reports it to whoever
/// awaits it, often nobody).
#[derive(Clone, Debug)]
pub struct Tasks {
    pub(super) handle: tokio::runtime::Handle,
    pub(super) panics: Arc<Mutex<Vec<String>>>,
}

impl Tasks {
    /// Tasks on the runtime this is called from (it panics outside one, as
    /// `tokio::spawn` does), with a record of panics of their own: for programs that are not
    /// the app, such as `wsi`.
    pub fn on_current_runtime() -> Self {
        Self {
            handle: tokio::runtime::Handle::current(),
            panics: Arc::default(),
        }
    }

    /// Spawns `task` on the runtime; `what` names it in the record of a panic. The handle
    /// yields `None` when the task panicked.
    pub fn spawn<F>(
        &self,
        what: &'static str,
        task: F,
    ) -> tokio::task::JoinHandle<Option<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let panics = self.panics.clone();
        self.handle.spawn(async move {
            match AssertUnwindSafe(task).catch_unwind().await {
                Ok(output) => Some(output),
                Err(payload) => {
                    let message = payload
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| payload.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "(no message)".to_owned());
                    panics
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(format!("{what}: {message}"));
                    None
                }
            }
        })
    }

    /// Every panic recorded so far, as `task: message`.
    pub fn panics(&self) -> Vec<String> {
        self.panics
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
