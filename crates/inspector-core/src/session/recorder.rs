//! [`Recorder`]: every tap report of a session as a line of the capture format, kept for
//! Save, and streamed to a file while the user records.
//!
//! # How a live session keeps every line, and what it costs
//!
//! The frame log cannot give a session back: it is bounded (the oldest entries go), it keeps
//! at most [`max_payload`](crate::LogStore::max_payload) bytes of a payload, it logs nothing
//! while paused, and Clear empties it. So the drain task writes every report, as it arrives
//! and before it is applied, as one JSON line ([`JsonlWriter`], header line first) into a
//! **spool file** in the temporary folder, through a 64 KiB buffer. Save copies the spool.
//!
//! - Memory: the buffer, 64 KiB per session, whatever the length of the session. Keeping
//!   the lines in a `Vec<u8>` instead would cost what the file costs on disk — about 200
//!   bytes a small frame plus 4/3 of its payload (base64) — 1,000,000 small frames would be
//!   some 250 MB, four to five times what the log itself keeps for them (56 bytes a frame
//!   plus the payload), and unbounded where the log is bounded.
//! - Disk: the same bytes, in a file removed as soon as it is opened (on Unix; elsewhere when
//!   the session is dropped), so a crash leaves nothing behind.
//! - When the temporary folder cannot be written at the start, the lines are kept in memory
//!   instead, and [`RecorderStatus::note`] says so. When writing the spool fails later
//!   (a full disk), the session goes on but Save reports that its capture is incomplete.
//!
//! While recording ([`start_recording`](Recorder::start_recording)), the same bytes also go
//! to the user's file, through a buffer of its own. It starts with everything the spool has
//! so far, so a recording started late is still a whole capture. The drain task flushes it
//! whenever it has caught up with the connection and at least once a second
//! ([`FLUSH_EVERY`]) while reports keep coming, so a crash or a kill loses at most the last
//! second. A write error stops the recording (the session and its spool go on) and is kept
//! in [`RecorderStatus::error`] for the tab's status line.
//!
//! A tab opened from a capture file has a read-only recorder that holds the file's lines as
//! read ([`Recorder::read_only`]): saving it gives the same bytes back.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use ws_tokio::tap::TapEvent;

use crate::capture::{CaptureLine, JsonlReader, JsonlWriter, Secrets};

/// A recording is flushed at least this often while reports keep coming (and whenever the
/// drain task has caught up with the connection).
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// The `generator` of the header line of a session's capture.
pub const GENERATOR: &str = concat!("ws-inspector ", env!("CARGO_PKG_VERSION"));

/// The size of the spool's and a recording's write buffers.
const BUFFER: usize = 64 << 10;

/// Locks a recorder; a panic while it was held leaves lines that are still worth saving.
pub fn lock_recorder(recorder: &Mutex<Recorder>) -> MutexGuard<'_, Recorder> {
    recorder.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Every line of one session, and the recording to a file if one is on.
#[derive(Debug)]
pub struct Recorder {
    writer: JsonlWriter<Sinks>,
    /// For a capture opened from a file: its lines (counted once).
    read_only: Option<u64>,
    last_flush: Instant,
    /// Secret variable values, masked in every line before it is kept or recorded.
    secrets: Secrets,
}

/// What the tab shows of a recorder.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecorderStatus {
    /// Lines kept for Save (the header included).
    pub lines: u64,
    /// The file being recorded to, and the lines written to it so far.
    pub recording: Option<(PathBuf, u64)>,
    /// The last write error (a recording that stopped, a spool that failed), in plain words.
    pub error: Option<String>,
    /// Where the lines are kept, when it is not the usual spool file.
    pub note: Option<String>,
}

/// Where the lines go: the spool (or memory) and the recording. Errors are kept here, per
/// sink, rather than returned: a failing recording must not stop the session.
#[derive(Debug)]
struct Sinks {
    kept: Kept,
    /// Bytes written to `kept`.
    len: u64,
    recording: Option<Recording>,
    error: Option<String>,
    note: Option<String>,
}

#[derive(Debug)]
enum Kept {
    Spool(Spool),
    Memory(Vec<u8>),
    /// Writing the spool failed: the lines after that are lost.
    Broken(String),
}

/// A temporary file: a buffered writer, and a handle of its own to read it back.
#[derive(Debug)]
struct Spool {
    out: BufWriter<File>,
    read: File,
    /// Still to be removed when dropped (not on Unix: removed once opened).
    path: Option<PathBuf>,
}

#[derive(Debug)]
struct Recording {
    path: PathBuf,
    out: BufWriter<File>,
    lines: u64,
}

impl Recorder {
    /// A live session's recorder: a spool file in the temporary folder (memory if that
    /// fails), starting with the capture's header line naming `generator`.
    pub fn new(generator: &str) -> Self {
        let (kept, note) = match Spool::create() {
            Ok(spool) => (Kept::Spool(spool), None),
            Err(e) => (
                Kept::Memory(Vec::new()),
                Some(format!(
                    "the temporary folder could not be written ({e}): the capture is kept in \
                     memory"
                )),
            ),
        };
        let mut writer = JsonlWriter::new(Sinks {
            kept,
            len: 0,
            recording: None,
            error: None,
            note,
        });
        // Writing to the sinks never fails (they keep their errors): nothing to report.
        let _ = writer.write_header(generator);
        Self {
            writer,
            read_only: None,
            last_flush: Instant::now(),
            secrets: Secrets::default(),
        }
    }

    /// The recorder of a tab opened from a capture file: `lines` are the file's lines as
    /// read; nothing is added, and recording is refused.
    pub fn read_only(lines: Vec<u8>) -> Self {
        let mut kept = CaptureLines::in_memory();
        kept.push(&lines);
        Self::read_only_lines(kept)
    }

    /// [`read_only`](Self::read_only) for lines gathered in a [`CaptureLines`] (a spool
    /// file for a large capture).
    pub fn read_only_lines(lines: CaptureLines) -> Self {
        let CaptureLines { mut sinks, count } = lines;
        let _ = sinks.flush();
        Self {
            writer: JsonlWriter::new(Sinks {
                kept: sinks.kept,
                len: sinks.len,
                recording: None,
                error: sinks.error,
                note: sinks.note,
            }),
            read_only: Some(count),
            last_flush: Instant::now(),
            secrets: Secrets::default(),
        }
    }

    /// Whether this holds a capture opened from a file.
    pub fn is_read_only(&self) -> bool {
        self.read_only.is_some()
    }

    /// The same recorder, masking `secrets` in every line it keeps and records (a profile's
    /// secret variables: they never reach a capture, a save or an export).
    pub fn with_secrets(mut self, secrets: Secrets) -> Self {
        self.secrets = secrets;
        self
    }

    /// Writes these reports, in order. `caught_up`: the drain task has nothing more waiting,
    /// so the recording is flushed now (else at most [`FLUSH_EVERY`] after the last flush).
    /// Returns whether a new write error came up (the tab should show it at once).
    pub fn write(&mut self, events: &[TapEvent], caught_up: bool) -> bool {
        if self.is_read_only() {
            return false;
        }
        let had_error = self.writer.get_ref().error.is_some();
        for event in events {
            if self.secrets.is_empty() {
                let _ = self.writer.write_event(event);
                continue;
            }
            match CaptureLine::from_tap(event) {
                Some(mut line) => {
                    self.secrets.mask_line(&mut line);
                    let _ = self.writer.write_line(&line);
                }
                // Not a line (counted as skipped by the writer).
                None => {
                    let _ = self.writer.write_event(event);
                }
            }
        }
        if caught_up || self.last_flush.elapsed() >= FLUSH_EVERY {
            self.flush();
        }
        !had_error && self.writer.get_ref().error.is_some()
    }

    /// Flushes the spool and the recording.
    pub fn flush(&mut self) {
        let _ = self.writer.flush();
        self.last_flush = Instant::now();
    }

    /// Lines, recording and errors, for the tab.
    pub fn status(&self) -> RecorderStatus {
        let sinks = self.writer.get_ref();
        let lines = self.read_only.unwrap_or_else(|| self.writer.lines());
        RecorderStatus {
            lines,
            recording: sinks.recording.as_ref().map(|r| (r.path.clone(), r.lines)),
            error: sinks.error.clone(),
            note: sinks.note.clone(),
        }
    }

    /// Starts recording to `path`: everything kept so far is written at once, then every
    /// line as it comes. An existing file is refused unless `replace` (the user confirmed).
    pub fn start_recording(&mut self, path: &Path, replace: bool) -> Result<(), String> {
        if self.is_read_only() {
            return Err("a capture opened from a file is not recorded again: save it".to_owned());
        }
        self.flush();
        let mut options = OpenOptions::new();
        options.write(true);
        if replace {
            options.create(true).truncate(true);
        } else {
            options.create_new(true);
        }
        let file = options
            .open(path)
            .map_err(|e| file_error("could not record to", path, &e))?;
        let mut out = BufWriter::with_capacity(BUFFER, file);
        let lines = self.writer.lines();
        let sinks = self.writer.get_mut();
        sinks
            .copy_kept(&mut out)
            .and_then(|_| out.flush())
            .map_err(|e| file_error("could not record to", path, &e))?;
        sinks.recording = Some(Recording {
            path: path.to_owned(),
            out,
            lines,
        });
        self.writer.get_mut().error = None;
        Ok(())
    }

    /// Stops recording (the file keeps every line written so far). Returns the file.
    pub fn stop_recording(&mut self) -> Option<PathBuf> {
        let mut recording = self.writer.get_mut().recording.take()?;
        if let Err(e) = recording.out.flush() {
            self.writer.get_mut().error = Some(file_error(
                "could not finish recording to",
                &recording.path,
                &e,
            ));
        }
        Some(recording.path)
    }

    /// Writes every line kept to `path`, atomically (a temporary file beside it, synced,
    /// then renamed over it). An existing file is refused unless `replace` (the user
    /// confirmed). Returns the bytes written.
    pub fn save(&mut self, path: &Path, replace: bool) -> Result<u64, String> {
        if let Kept::Broken(e) = &self.writer.get_ref().kept {
            return Err(format!(
                "the session's capture is incomplete (its spool file failed: {e}); record \
                 the next session to a file instead"
            ));
        }
        self.flush();
        let sinks = self.writer.get_mut();
        write_atomically(path, replace, |out| match ExportFormat::of(path) {
            ExportFormat::Jsonl => sinks.copy_kept(out).map(drop),
            format => {
                // HAR and pcapng are made from every line at once.
                let mut kept = Vec::new();
                sinks.copy_kept(&mut kept)?;
                format.export(&parse_kept(&kept)?, out)
            }
        })
    }
}

/// Writes a file at `path` with `write`, atomically: a temporary file beside it, synced,
/// then renamed over it (removed if anything fails). An existing file is refused unless
/// `replace`. Returns the bytes written.
fn write_atomically(
    path: &Path,
    replace: bool,
    write: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>,
) -> Result<u64, String> {
    if !replace && path.exists() {
        return Err(format!(
            "{} already exists: choose Replace to overwrite it",
            path.display()
        ));
    }
    let temp = temp_beside(path);
    let written = (|| {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        let mut out = BufWriter::with_capacity(BUFFER, file);
        write(&mut out)?;
        out.flush()?;
        let n = out.get_ref().metadata()?.len();
        let file = out.into_inner().map_err(io::IntoInnerError::into_error)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)?;
        Ok::<_, io::Error>(n)
    })();
    written.map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        file_error("could not save", path, &e)
    })
}

/// A capture's lines as read from a file, gathered for a read-only [`Recorder`]: in memory,
/// or in a spool file in the temporary folder (as a live session's lines are) so that a
/// capture of gigabytes does not stay in memory as well as on disk.
#[derive(Debug)]
pub struct CaptureLines {
    sinks: Sinks,
    /// Lines that are not blank.
    count: u64,
}

impl CaptureLines {
    /// Lines kept in memory.
    pub fn in_memory() -> Self {
        Self::with(Kept::Memory(Vec::new()), None)
    }

    /// Lines kept in a spool file (in memory if the temporary folder cannot be written; the
    /// status says so).
    pub fn spooled() -> Self {
        match Spool::create() {
            Ok(spool) => Self::with(Kept::Spool(spool), None),
            Err(e) => Self::with(
                Kept::Memory(Vec::new()),
                Some(format!(
                    "the temporary folder could not be written ({e}): the capture is kept in \
                     memory"
                )),
            ),
        }
    }

    fn with(kept: Kept, note: Option<String>) -> Self {
        Self {
            sinks: Sinks {
                kept,
                len: 0,
                recording: None,
                error: None,
                note,
            },
            count: 0,
        }
    }

    /// Adds bytes as read: whole lines, each with its newline (the last may lack one).
    pub fn push(&mut self, bytes: &[u8]) {
        self.count += bytes
            .split(|b| *b == b'\n')
            .filter(|l| !l.trim_ascii().is_empty())
            .count() as u64;
        let _ = self.sinks.write_all(bytes);
    }

    /// The bytes gathered so far.
    pub fn len(&self) -> u64 {
        self.sinks.len
    }

    /// Whether nothing was gathered.
    pub fn is_empty(&self) -> bool {
        self.sinks.len == 0
    }

    /// A copy of every byte gathered (tests, and small captures).
    pub fn to_vec(&mut self) -> io::Result<Vec<u8>> {
        self.sinks.flush()?;
        let mut out = Vec::new();
        self.sinks.copy_kept(&mut out)?;
        Ok(out)
    }
}

impl Recorder {
    /// Every line kept, parsed (the header line included): what Save of several sessions
    /// merges.
    pub fn kept_lines(&mut self) -> Result<Vec<CaptureLine>, String> {
        if let Kept::Broken(e) = &self.writer.get_ref().kept {
            return Err(format!(
                "the session's capture is incomplete (its spool file failed: {e})"
            ));
        }
        self.flush();
        let mut kept = Vec::new();
        self.writer
            .get_mut()
            .copy_kept(&mut kept)
            .and_then(|_| parse_kept(&kept))
            .map_err(|e| format!("could not read the session's capture back: {e}"))
    }
}

/// Writes `lines` (header first) to `path` as `.jsonl`, `.har` or `.pcapng` by its
/// extension, atomically (a temporary file beside it, synced, then renamed over it), as
/// [`Recorder::save`] does. An existing file is refused unless `replace`. Returns the bytes
/// written.
pub fn save_lines(lines: &[CaptureLine], path: &Path, replace: bool) -> Result<u64, String> {
    write_atomically(path, replace, |out| match ExportFormat::of(path) {
        ExportFormat::Jsonl => {
            let mut writer = JsonlWriter::new(out);
            for line in lines {
                writer.write_line(line)?;
            }
            writer.finish().map(drop)
        }
        format => format.export(lines, out),
    })
}

/// What a saved capture is written as, by its file's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ExportFormat {
    /// `.jsonl` (and anything else): the lines as kept.
    Jsonl,
    /// `.har`: HAR 1.2, as Chrome writes it plus the capture's extras.
    Har,
    /// `.pcapng`: packets for Wireshark.
    Pcapng,
}

impl ExportFormat {
    fn of(path: &Path) -> Self {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("har") => Self::Har,
            Some("pcapng") => Self::Pcapng,
            _ => Self::Jsonl,
        }
    }

    fn export(self, lines: &[CaptureLine], out: &mut impl Write) -> io::Result<()> {
        match self {
            Self::Jsonl => Ok(()),
            Self::Har => crate::capture::har::export(lines, out).map(drop),
            Self::Pcapng => crate::capture::pcapng::export(lines, out).map(drop),
        }
    }
}

/// The kept lines, parsed (they were written by this recorder: an error is a broken spool).
fn parse_kept(kept: &[u8]) -> io::Result<Vec<CaptureLine>> {
    let mut reader = JsonlReader::new(kept);
    let mut lines = Vec::new();
    while let Some(line) = reader.next_line() {
        lines.push(line.map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?);
    }
    Ok(lines)
}

impl Sinks {
    /// Copies every byte kept so far (flushed) into `out`.
    fn copy_kept(&mut self, out: &mut impl Write) -> io::Result<u64> {
        match &mut self.kept {
            Kept::Memory(bytes) => {
                out.write_all(bytes)?;
                Ok(bytes.len() as u64)
            }
            Kept::Spool(spool) => {
                spool.read.seek(SeekFrom::Start(0))?;
                let copied = io::copy(&mut (&mut spool.read).take(self.len), out)?;
                if copied < self.len {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the spool file is shorter than what was written to it",
                    ));
                }
                Ok(copied)
            }
            Kept::Broken(e) => Err(io::Error::other(e.clone())),
        }
    }
}

impl Write for Sinks {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    /// One line at a time ([`JsonlWriter`] writes each with one `write_all`), so a line
    /// counts in a recording only once it is wholly in its buffer.
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match &mut self.kept {
            Kept::Spool(spool) => match spool.out.write_all(buf) {
                Ok(()) => self.len += buf.len() as u64,
                Err(e) => self.spool_failed(&e),
            },
            Kept::Memory(bytes) => {
                bytes.extend_from_slice(buf);
                self.len += buf.len() as u64;
            }
            Kept::Broken(_) => {}
        }
        if let Some(recording) = &mut self.recording {
            match recording.out.write_all(buf) {
                Ok(()) => recording.lines += 1,
                Err(e) => self.recording_failed(&e),
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        if let Kept::Spool(spool) = &mut self.kept
            && let Err(e) = spool.out.flush()
        {
            self.spool_failed(&e);
        }
        if let Some(recording) = &mut self.recording
            && let Err(e) = recording.out.flush()
        {
            self.recording_failed(&e);
        }
        Ok(())
    }
}

impl Sinks {
    fn spool_failed(&mut self, e: &io::Error) {
        let message = format!("the capture kept for Save stopped: {e}");
        self.error = Some(message.clone());
        self.kept = Kept::Broken(e.to_string());
    }

    fn recording_failed(&mut self, e: &io::Error) {
        if let Some(recording) = self.recording.take() {
            self.error = Some(format!(
                "recording to {} stopped after {} lines: {e}",
                recording.path.display(),
                recording.lines
            ));
            // What is still in its buffer cannot be written either; drop it quietly.
            let (_, _) = recording.out.into_parts();
        }
    }
}

impl Spool {
    /// A new, empty spool file in the temporary folder.
    fn create() -> io::Result<Self> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir();
        let mut attempt = 0;
        let (path, file) = loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = dir.join(format!(
                "ws-inspector-spool-{}-{n}.jsonl",
                std::process::id()
            ));
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => break (path, file),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => {
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        };
        let read = match File::open(&path) {
            Ok(read) => read,
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                return Err(e);
            }
        };
        // On Unix the open handles keep the file: remove its name now, so that nothing is
        // left behind even by a crash.
        let path = if cfg!(unix) && std::fs::remove_file(&path).is_ok() {
            None
        } else {
            Some(path)
        };
        Ok(Self {
            out: BufWriter::with_capacity(BUFFER, file),
            read,
            path,
        })
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// `DIR/.NAME.PID.tmp`: where a file is written before it is renamed to `path`.
fn temp_beside(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "capture".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

fn file_error(what: &str, path: &Path, e: &io::Error) -> String {
    format!("{what} {}: {e}", path.display())
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use ws_tokio::tap::TapKind;

    use super::*;
    use crate::capture::JsonlReader;

    fn event(n: u64) -> TapEvent {
        TapEvent {
            time: SystemTime::UNIX_EPOCH + Duration::from_secs(n),
            elapsed: Duration::from_millis(n),
            kind: TapKind::Error(format!("report {n}")),
        }
    }

    fn read_back(bytes: &[u8]) -> Vec<String> {
        JsonlReader::new(bytes)
            .map(|e| match e.expect("a capture line").kind {
                TapKind::Error(m) => m,
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    }

    #[test]
    fn secret_values_never_reach_the_kept_lines_or_a_recording() {
        let dir = tempfile::tempdir().unwrap();
        let mut recorder = Recorder::new("test").with_secrets(Secrets::new(["hunter2"]));
        let secret = TapEvent {
            kind: TapKind::Error("token hunter2 refused".to_owned()),
            ..event(1)
        };
        recorder.write(&[secret, event(2)], true);
        let recording = dir.path().join("rec.jsonl");
        recorder.start_recording(&recording, false).unwrap();
        let kept = recorder.kept_lines().unwrap();
        let text = serde_json::to_string(&kept).unwrap();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(
            text.contains("token"),
            "the rest of the line is kept: {text}"
        );
        recorder.flush();
        let recorded = std::fs::read_to_string(&recording).unwrap();
        assert!(!recorded.contains("hunter2"), "{recorded}");
        assert_eq!(read_back(recorded.as_bytes()).len(), 2);
    }

    #[test]
    fn a_session_saves_as_har_and_pcapng_by_extension() {
        let dir = tempfile::tempdir().unwrap();
        let mut recorder = Recorder::new("test");
        recorder.write(&[event(1), event(2)], true);
        let har = dir.path().join("s.har");
        recorder.save(&har, false).unwrap();
        let value: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&har).unwrap()).unwrap();
        assert_eq!(value["log"]["version"], "1.2");
        let pcapng = dir.path().join("s.pcapng");
        recorder.save(&pcapng, false).unwrap();
        let bytes = std::fs::read(&pcapng).unwrap();
        assert_eq!(
            &bytes[..4],
            &[0x0a, 0x0d, 0x0d, 0x0a],
            "a pcapng section header"
        );
        // And .jsonl stays the lines as kept.
        let jsonl = dir.path().join("s.jsonl");
        recorder.save(&jsonl, false).unwrap();
        assert_eq!(
            read_back(&std::fs::read(&jsonl).unwrap()),
            ["report 1", "report 2"]
        );
    }

    #[test]
    fn a_session_is_saved_whole_with_its_header() {
        let dir = tempfile::tempdir().unwrap();
        let mut recorder = Recorder::new("test");
        recorder.write(&[event(1), event(2)], false);
        recorder.write(&[event(3)], true);
        assert_eq!(recorder.status().lines, 4);
        let path = dir.path().join("saved.jsonl");
        recorder.save(&path, false).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let mut reader = JsonlReader::new(&bytes[..]);
        assert_eq!(
            read_back(&bytes),
            ["report 1", "report 2", "report 3"],
            "every report, in order"
        );
        let _ = reader.next();
        assert!(reader.header().is_some(), "the header line comes first");
        // Never over an existing file without the user's word; with it, atomically.
        assert!(
            recorder
                .save(&path, false)
                .unwrap_err()
                .contains("already exists")
        );
        recorder.write(&[event(4)], true);
        recorder.save(&path, true).unwrap();
        assert_eq!(read_back(&std::fs::read(&path).unwrap()).len(), 4);
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file is left beside it");
    }

    #[test]
    fn a_recording_starts_with_what_came_before_and_flushes_when_caught_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rec.jsonl");
        let mut recorder = Recorder::new("test");
        recorder.write(&[event(1)], true);
        recorder.start_recording(&path, false).unwrap();
        recorder.write(&[event(2)], false);
        recorder.write(&[event(3)], true);
        assert_eq!(
            read_back(&std::fs::read(&path).unwrap()),
            ["report 1", "report 2", "report 3"]
        );
        assert_eq!(recorder.status().recording, Some((path.clone(), 4)));
        assert_eq!(recorder.stop_recording(), Some(path.clone()));
        recorder.write(&[event(4)], true);
        assert_eq!(read_back(&std::fs::read(&path).unwrap()).len(), 3);
        // An existing file is not replaced silently.
        assert!(recorder.start_recording(&path, false).is_err());
    }

    #[test]
    fn a_failing_recording_stops_and_the_session_keeps_its_lines() {
        let dir = tempfile::tempdir().unwrap();
        let mut recorder = Recorder::new("test");
        let missing = dir.path().join("gone").join("rec.jsonl");
        assert!(
            recorder
                .start_recording(&missing, false)
                .unwrap_err()
                .contains("could not record")
        );
        // A full disk: /dev/full fails every write.
        if Path::new("/dev/full").exists() {
            recorder
                .start_recording(Path::new("/dev/full"), true)
                .expect_err("the header copy already fails on /dev/full");
            let mut sinks_recording = Recorder::new("test");
            sinks_recording.writer.get_mut().recording = Some(Recording {
                path: PathBuf::from("/dev/full"),
                out: BufWriter::with_capacity(
                    16,
                    File::options().write(true).open("/dev/full").unwrap(),
                ),
                lines: 0,
            });
            let new_error = sinks_recording.write(&[event(1), event(2)], true);
            assert!(new_error);
            let status = sinks_recording.status();
            assert!(status.recording.is_none());
            assert!(
                status
                    .error
                    .unwrap()
                    .contains("recording to /dev/full stopped")
            );
            let saved = dir.path().join("saved.jsonl");
            sinks_recording.save(&saved, false).unwrap();
            assert_eq!(read_back(&std::fs::read(saved).unwrap()).len(), 2);
        }
    }

    #[test]
    fn a_read_only_recorder_gives_its_bytes_back() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = b"{\"not\":\"checked here\"}\n\nsecond\n".to_vec();
        let mut recorder = Recorder::read_only(bytes.clone());
        assert!(!recorder.write(&[event(1)], true));
        assert_eq!(recorder.status().lines, 2);
        let path = dir.path().join("copy.jsonl");
        recorder.save(&path, false).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
        assert!(recorder.start_recording(&path, true).is_err());
    }
}
