//! Opening a large capture without stopping the window: the file is read on a thread of its
//! own ([`ws_inspector_core::capture::open_with`]) while a row under the tabs shows how far
//! it has got, with Cancel. Small files (under [`BACKGROUND_ABOVE`]) open at once, as before:
//! they take a few milliseconds.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use egui::{RichText, Ui};
use ws_inspector_core::capture::{OpenedCapture, Progress, is_cancelled, open_with};

use super::{Palette, format_bytes};

/// Files larger than this open in the background, with a progress bar.
pub const BACKGROUND_ABOVE: u64 = 16 << 20;

/// Whether `path` is large enough to open in the background.
pub fn opens_in_background(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.len() > BACKGROUND_ABOVE)
}

/// A capture being opened on a thread of its own.
#[derive(Debug)]
pub struct Opening {
    /// The file.
    pub path: PathBuf,
    progress: Arc<Progress>,
    reader: Option<JoinHandle<Result<OpenedCapture, String>>>,
}

/// How an opening ended.
#[derive(Debug)]
pub enum Opened {
    /// The capture, read.
    Done(OpenedCapture),
    /// Cancelled by the user.
    Cancelled,
    /// Why it could not be opened.
    Failed(String),
}

impl Opening {
    /// Starts reading `path`; `wake` is called once it is done (to repaint the window).
    pub fn start(path: &Path, wake: impl Fn() + Send + 'static) -> std::io::Result<Self> {
        let progress = Arc::new(Progress::default());
        let shared = progress.clone();
        let file = path.to_owned();
        let reader = std::thread::Builder::new()
            .name("capture-open".to_owned())
            .spawn(move || {
                let result = match open_with(&file, &shared) {
                    Ok(opened) => Ok(opened),
                    Err(e) if is_cancelled(&e) => Err(String::new()),
                    Err(e) => Err(e.to_string()),
                };
                wake();
                result
            })?;
        Ok(Self {
            path: path.to_owned(),
            progress,
            reader: Some(reader),
        })
    }

    /// Asks the reader to stop.
    pub fn cancel(&self) {
        self.progress.cancel();
    }

    /// The outcome, once the reader is done (then call no more).
    pub fn poll(&mut self) -> Option<Opened> {
        if !self.reader.as_ref().is_some_and(JoinHandle::is_finished) {
            return None;
        }
        let reader = self.reader.take()?;
        Some(match reader.join() {
            Ok(Ok(opened)) => Opened::Done(opened),
            Ok(Err(e)) if e.is_empty() => Opened::Cancelled,
            Ok(Err(e)) => Opened::Failed(e),
            Err(_) => Opened::Failed("the reading thread failed (an internal error)".to_owned()),
        })
    }

    /// The progress row: the file, Cancel, a bar, how much is read. Returns whether Cancel
    /// was pressed.
    pub fn row_ui(&self, ui: &mut Ui) -> bool {
        let palette = Palette::of(ui);
        let mut cancel = false;
        ui.horizontal(|ui| {
            let name = self.path.file_name().map_or_else(
                || self.path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            ui.label(RichText::new(format!("Opening {name}")).strong());
            // Cancel comes before the counter, whose width changes as the file is read: a
            // button after it moved under the pointer.
            if self.progress.is_cancelled() {
                ui.label(RichText::new("cancelling…").color(palette.warning));
            } else if ui
                .button("Cancel")
                .on_hover_text("Stop reading the file; nothing opens")
                .clicked()
            {
                cancel = true;
            }
            let fraction = self.progress.fraction().unwrap_or(0.0);
            ui.add(
                egui::ProgressBar::new(fraction)
                    .desired_width(260.0)
                    .show_percentage(),
            );
            let read = self.progress.read();
            let total = self.progress.total();
            ui.label(
                RichText::new(format!("{} of {}", format_bytes(read), format_bytes(total)))
                    .color(palette.weak),
            );
        });
        // The bar moves while the file is read.
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_millis(100));
        cancel
    }
}
