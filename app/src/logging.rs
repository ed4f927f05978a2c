//! The app's log: a small [`log`] backend that writes `ws-inspector.log` in the state folder
//! ([`Args::state_dir`](crate::cli::Args::state_dir)) and, with `--verbose`, copies every
//! line to stderr. A normal run prints nothing.
//!
//! What it records: the start (version, state folder), what eframe, winit and glutin report
//! at warning level or above (info and debug with `--verbose`), the app's own lines at info
//! (debug with `--verbose`), and panics. The file is appended to; past [`ROTATE_AT`] bytes it
//! is moved to `ws-inspector.log.old` when the app starts, so at most two small files are
//! kept. No dependency beyond the `log` facade that eframe already uses.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use log::{Level, LevelFilter, Log, Metadata, Record};

/// The log file's name in the state folder.
pub const LOG_FILE: &str = "ws-inspector.log";

/// A log file larger than this when the app starts is moved aside (to `….log.old`).
pub const ROTATE_AT: u64 = 1024 * 1024;

/// The logger: the file (if it could be opened) and, with `--verbose`, stderr.
#[derive(Debug)]
pub struct Logger {
    file: Option<Mutex<File>>,
    stderr: bool,
    /// The level for the app's own targets (`ws_inspector…`).
    own: LevelFilter,
    /// The level for everything else (eframe, winit, glutin, …).
    others: LevelFilter,
}

impl Logger {
    /// A logger writing to `dir/ws-inspector.log` (the folder is made if missing; without
    /// one, or if it cannot be written, only stderr is written, and only with `verbose`).
    pub fn new(dir: Option<&Path>, verbose: bool) -> Self {
        let file = dir.and_then(|dir| open_log(dir).ok()).map(Mutex::new);
        let (own, others) = if verbose {
            (LevelFilter::Debug, LevelFilter::Info)
        } else {
            (LevelFilter::Info, LevelFilter::Warn)
        };
        Self {
            file,
            stderr: verbose,
            own,
            others,
        }
    }

    /// Whether the log file is open.
    pub fn has_file(&self) -> bool {
        self.file.is_some()
    }

    /// Installs this logger as the `log` backend, and a panic hook that logs the panic
    /// before the default hook prints it. Returns `false` if a logger was installed already.
    pub fn install(self) -> bool {
        let max = self.own.max(self.others);
        // Leaked: the logger lives as long as the process (`set_boxed_logger` needs log's
        // std feature).
        if log::set_logger(Box::leak(Box::new(self))).is_err() {
            return false;
        }
        log::set_max_level(max);
        let default_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            log::error!(target: "ws_inspector", "{info}");
            default_hook(info);
        }));
        true
    }

    fn level_for(&self, target: &str) -> LevelFilter {
        if target.starts_with("ws_inspector") {
            self.own
        } else {
            self.others
        }
    }

    /// One line: local time, level, target, message.
    pub fn format(record: &Record<'_>) -> String {
        let time = chrono::Local::now().format("%Y-%m-%d %H:%M:%S%.3f");
        format!(
            "{time} {:<5} {}: {}\n",
            record.level(),
            record.target(),
            record.args()
        )
    }
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= self.level_for(metadata.target())
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let line = Self::format(record);
        if let Some(file) = &self.file
            && let Ok(mut file) = file.lock()
        {
            let _ = file.write_all(line.as_bytes());
            if record.level() <= Level::Warn {
                let _ = file.flush();
            }
        }
        if self.stderr {
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
    }

    fn flush(&self) {
        if let Some(file) = &self.file
            && let Ok(mut file) = file.lock()
        {
            let _ = file.flush();
        }
    }
}

/// Opens `dir/ws-inspector.log` for appending, first moving a file past [`ROTATE_AT`] aside.
fn open_log(dir: &Path) -> std::io::Result<File> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(LOG_FILE);
    if std::fs::metadata(&path).is_ok_and(|m| m.len() > ROTATE_AT) {
        let mut old = PathBuf::from(&path).into_os_string();
        old.push(".old");
        let _ = std::fs::rename(&path, old);
    }
    OpenOptions::new().create(true).append(true).open(path)
}

#[cfg(test)]
mod tests {
    use log::{Level, Log, Metadata};

    use super::{LOG_FILE, Logger, ROTATE_AT};

    #[test]
    fn writes_the_file_and_rotates() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let logger = Logger::new(Some(&state), false);
        assert!(logger.has_file());
        logger.log(
            &log::Record::builder()
                .level(Level::Info)
                .target("ws_inspector")
                .args(format_args!("hello"))
                .build(),
        );
        // Below the level for other crates: not written.
        logger.log(
            &log::Record::builder()
                .level(Level::Info)
                .target("winit::platform")
                .args(format_args!("noise"))
                .build(),
        );
        logger.flush();
        let text = std::fs::read_to_string(state.join(LOG_FILE)).unwrap();
        assert!(text.contains("INFO  ws_inspector: hello\n"), "{text}");
        assert!(!text.contains("noise"), "{text}");
        drop(logger);

        // Too big: moved aside at the next start.
        std::fs::write(state.join(LOG_FILE), vec![b'x'; ROTATE_AT as usize + 1]).unwrap();
        let _logger = Logger::new(Some(&state), false);
        assert_eq!(std::fs::metadata(state.join(LOG_FILE)).unwrap().len(), 0);
        assert!(state.join("ws-inspector.log.old").exists());
    }

    #[test]
    fn verbose_levels() {
        let quiet = Logger::new(None, false);
        let verbose = Logger::new(None, true);
        fn meta(level: Level, target: &str) -> Metadata<'_> {
            Metadata::builder().level(level).target(target).build()
        }
        assert!(!quiet.enabled(&meta(Level::Debug, "ws_inspector::app")));
        assert!(verbose.enabled(&meta(Level::Debug, "ws_inspector::app")));
        assert!(!quiet.enabled(&meta(Level::Info, "eframe")));
        assert!(quiet.enabled(&meta(Level::Warn, "eframe")));
        assert!(verbose.enabled(&meta(Level::Info, "eframe")));
        assert!(!verbose.enabled(&meta(Level::Trace, "ws_inspector")));
    }
}
