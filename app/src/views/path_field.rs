//! A text field for a file path, with completion from the file system, for every place where
//! a file is chosen: native file dialogs are not on every desktop (rfd needs
//! xdg-desktop-portal over D-Bus, or zenity), so a typed path always works.
//!
//! While the field has focus, a popup lists the entries of the typed folder that start with
//! the last part of the path (folders end with `/`); Tab or a click completes, the arrow keys
//! choose, Enter confirms the path. Listings are bounded and cached for a moment; a folder
//! that cannot be read lists nothing.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use egui::{Id, Key, Response, TextEdit, Ui};

/// What to tell the user when a file dialog gave nothing back and none can be shown.
pub const NO_FILE_DIALOG: &str = "No file dialog is available on this desktop (no \
                                  xdg-desktop-portal or zenity): type the path instead.";

/// At most this many suggestions are offered.
pub const MAX_SUGGESTIONS: usize = 50;

/// At most this many entries of a folder are read for suggestions.
const MAX_SCAN: usize = 5_000;

/// How long a folder listing or a path check is reused before the disk is asked again.
const FRESH_FOR: Duration = Duration::from_secs(2);

/// A path text field with completion. Build it, then call [`PathField::ui`].
#[derive(Debug)]
#[must_use = "call .ui(ui) to show the field"]
pub struct PathField<'a> {
    id: Id,
    text: &'a mut String,
    hint: &'a str,
    width: f32,
    label: Option<Id>,
    name: Option<String>,
    probe: bool,
}

/// What [`PathField::ui`] reports.
#[derive(Debug)]
pub struct PathFieldOutput {
    /// The text field's response.
    pub response: Response,
    /// The user pressed Enter in the field (and not to take a suggestion).
    pub submitted: bool,
    /// What is at the typed path, when [`PathField::probe`] was asked for.
    pub status: Option<PathStatus>,
}

/// What is at a typed path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathStatus {
    /// Nothing typed.
    Empty,
    /// Nothing is there.
    Missing,
    /// A folder.
    Folder,
    /// A regular file (or a link to one).
    File,
    /// Something else: a device, a socket, a pipe.
    Other,
    /// The path could not be checked (permissions, a broken link…), in plain words.
    Error(String),
}

impl PathStatus {
    /// Looks at `text` (a path as typed, see [`resolve`]) on the disk.
    pub fn of(text: &str) -> Self {
        if text.trim().is_empty() {
            return Self::Empty;
        }
        match std::fs::metadata(resolve(text)) {
            Ok(meta) if meta.is_file() => Self::File,
            Ok(meta) if meta.is_dir() => Self::Folder,
            Ok(_) => Self::Other,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::Missing,
            Err(e) => Self::Error(e.to_string()),
        }
    }

    /// Why this is not a file that can be read, or `None` when it is (or nothing is typed).
    pub fn problem_for_reading(&self) -> Option<String> {
        match self {
            Self::Empty | Self::File => None,
            Self::Missing => Some("No file at this path.".to_owned()),
            Self::Folder => Some("This is a folder, not a file.".to_owned()),
            Self::Other => Some("This is not a regular file.".to_owned()),
            Self::Error(e) => Some(format!("Cannot check this path: {e}.")),
        }
    }
}

impl<'a> PathField<'a> {
    /// A field editing `text`; `id_salt` makes it unique within the parent [`Ui`].
    pub fn new(
        ui: &Ui,
        id_salt: impl std::hash::Hash + std::fmt::Debug,
        text: &'a mut String,
    ) -> Self {
        Self {
            id: ui.make_persistent_id(("path-field", id_salt)),
            text,
            hint: "File path (Tab completes)",
            width: f32::INFINITY,
            label: None,
            name: None,
            probe: false,
        }
    }

    /// The greyed text shown while the field is empty.
    pub fn hint_text(mut self, hint: &'a str) -> Self {
        self.hint = hint;
        self
    }

    /// The field's width (`f32::INFINITY`, the default: the rest of the row).
    pub fn desired_width(mut self, width: f32) -> Self {
        self.width = width;
        self
    }

    /// The visible label that names the field (for screen readers and tests).
    pub fn labelled_by(mut self, label: Id) -> Self {
        self.label = Some(label);
        self
    }

    /// A name for the field when no visible label names it.
    pub fn accessible_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Also report what is at the typed path ([`PathFieldOutput::status`]), checked when the
    /// text changes and every couple of seconds.
    pub fn probe(mut self) -> Self {
        self.probe = true;
        self
    }

    /// Shows the field and its suggestions.
    pub fn ui(self, ui: &mut Ui) -> PathFieldOutput {
        let Self {
            id,
            text,
            hint,
            width,
            label,
            name,
            probe,
        } = self;
        let focused = ui.memory(|m| m.has_focus(id));
        let ctx = ui.ctx().clone();
        let edit = TextEdit::singleline(&mut *text)
            .hint_text(hint)
            .desired_width(width);
        let output = egui::CompletionPopup::new(id)
            .word_boundary(std::path::is_separator)
            // Enter confirms the path as typed; only Tab (or a click) takes a suggestion.
            .accept_keys(vec![Key::Tab])
            .max_height(260.0)
            .show(ui, edit, |query| {
                if !focused || query.text.is_empty() {
                    return Vec::new();
                }
                let before: String = query.text.chars().take(query.word_range.start.0).collect();
                let listing = cached_listing(&ctx, id, &folder_of(&before));
                suggestions(&listing, query.word)
                    .into_iter()
                    .map(egui::Suggestion::new)
                    .collect()
            });
        let mut response = output.text_edit.response.response;
        if output.accepted.is_some() {
            // The folder just completed gets its own suggestions on the next frame.
            ui.ctx().request_repaint();
        }
        if let Some(label) = label {
            response = response.labelled_by(label);
        }
        if let Some(name) = name {
            response = response.accessible_name(name);
        }
        let submitted = response.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
        let status = probe.then(|| cached_status(ui.ctx(), id, text));
        PathFieldOutput {
            response,
            submitted,
            status,
        }
    }
}

/// The path that `text` names: surrounding whitespace dropped, a leading `~` meaning the
/// home folder.
pub fn resolve(text: &str) -> PathBuf {
    resolve_with(text, std::env::var_os("HOME"))
}

fn resolve_with(text: &str, home: Option<OsString>) -> PathBuf {
    let text = text.trim();
    let rest = if text == "~" {
        Some("")
    } else {
        text.strip_prefix("~/")
    };
    match (rest, home) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(text),
    }
}

/// The folder to list for the text before the last path part (`""`: the current folder).
fn folder_of(before: &str) -> PathBuf {
    if before.is_empty() {
        PathBuf::from(".")
    } else {
        resolve(before)
    }
}

/// One entry of a folder.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    name: String,
    folder: bool,
}

/// A folder's entries, sorted (folders first, then by name ignoring case), at most
/// [`MAX_SCAN`] of them read. Names that are not UTF-8 are left out: they could not be typed.
fn list_folder(dir: &Path) -> std::io::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir)?.take(MAX_SCAN) {
        let Ok(entry) = entry else { continue };
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let folder = match entry.file_type() {
            Ok(kind) if kind.is_symlink() => entry.path().is_dir(),
            Ok(kind) => kind.is_dir(),
            Err(_) => false,
        };
        entries.push(Entry { name, folder });
    }
    entries.sort_by(|a, b| {
        b.folder
            .cmp(&a.folder)
            .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
    });
    Ok(entries)
}

/// The completions of `word` among `entries`: names that start with it (hidden ones only
/// when it starts with a dot), folders with a trailing `/`, at most [`MAX_SUGGESTIONS`]. A
/// file whose name is exactly `word` is left out: there is nothing to complete.
fn suggestions(entries: &[Entry], word: &str) -> Vec<String> {
    entries
        .iter()
        .filter(|e| e.name.starts_with(word))
        .filter(|e| word.starts_with('.') || !e.name.starts_with('.'))
        .filter(|e| e.folder || e.name != word)
        .take(MAX_SUGGESTIONS)
        .map(|e| {
            if e.folder {
                format!("{}/", e.name)
            } else {
                e.name.clone()
            }
        })
        .collect()
}

/// A folder listing kept between frames.
#[derive(Clone)]
struct Listing {
    dir: PathBuf,
    at: Instant,
    entries: Arc<Vec<Entry>>,
}

fn cached_listing(ctx: &egui::Context, id: Id, dir: &Path) -> Arc<Vec<Entry>> {
    let key = id.with("listing");
    let cached: Option<Listing> = ctx.data(|d| d.get_temp(key));
    if let Some(listing) = cached
        && listing.dir == dir
        && listing.at.elapsed() < FRESH_FOR
    {
        return listing.entries;
    }
    // A folder that cannot be read (or is not there yet) simply has no suggestions.
    let entries = Arc::new(list_folder(dir).unwrap_or_default());
    ctx.data_mut(|d| {
        d.insert_temp(
            key,
            Listing {
                dir: dir.to_owned(),
                at: Instant::now(),
                entries: Arc::clone(&entries),
            },
        );
    });
    entries
}

fn cached_status(ctx: &egui::Context, id: Id, text: &str) -> PathStatus {
    let key = id.with("status");
    let cached: Option<(String, Instant, PathStatus)> = ctx.data(|d| d.get_temp(key));
    if let Some((checked, at, status)) = cached
        && checked == text
        && at.elapsed() < FRESH_FOR
    {
        return status;
    }
    let status = PathStatus::of(text);
    ctx.data_mut(|d| d.insert_temp(key, (text.to_owned(), Instant::now(), status.clone())));
    // Check again later even if nothing else repaints, so that a file that appears shows.
    ctx.request_repaint_after(FRESH_FOR);
    status
}

/// Whether a native file dialog can be shown at all. On Linux and the BSDs, rfd asks
/// xdg-desktop-portal over the D-Bus session bus and falls back to zenity; without both, its
/// dialogs return nothing at once, as if cancelled. Windows and macOS always have one.
pub fn file_dialog_available() -> bool {
    if cfg!(any(target_os = "windows", target_os = "macos")) {
        return true;
    }
    dialog_available_with(&|name| std::env::var_os(name), &|path| path.exists())
}

/// [`file_dialog_available`] over a given environment and file system: zenity on `PATH`, or
/// a session bus (`DBUS_SESSION_BUS_ADDRESS`, or `$XDG_RUNTIME_DIR/bus`) and the portal's
/// D-Bus service file in one of the XDG data folders.
fn dialog_available_with(
    var: &dyn Fn(&str) -> Option<OsString>,
    exists: &dyn Fn(&Path) -> bool,
) -> bool {
    let zenity = var("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| exists(&dir.join("zenity"))));
    if zenity {
        return true;
    }
    let bus = var("DBUS_SESSION_BUS_ADDRESS").is_some_and(|a| !a.is_empty())
        || var("XDG_RUNTIME_DIR")
            .is_some_and(|dir| !dir.is_empty() && exists(&Path::new(&dir).join("bus")));
    if !bus {
        return false;
    }
    let mut data_dirs: Vec<PathBuf> = Vec::new();
    match var("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        Some(dir) => data_dirs.push(dir.into()),
        None => {
            if let Some(home) = var("HOME") {
                data_dirs.push(Path::new(&home).join(".local/share"));
            }
        }
    }
    let system = var("XDG_DATA_DIRS")
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| OsString::from("/usr/local/share:/usr/share"));
    data_dirs.extend(std::env::split_paths(&system));
    data_dirs.push(PathBuf::from("/usr/share"));
    data_dirs
        .iter()
        .any(|dir| exists(&dir.join("dbus-1/services/org.freedesktop.portal.Desktop.service")))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn available(vars: &[(&str, &str)], files: &[&str]) -> bool {
        let vars: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), OsString::from(v)))
            .collect();
        dialog_available_with(&|name| vars.get(name).cloned(), &|path| {
            files.iter().any(|f| Path::new(f) == path)
        })
    }

    #[test]
    fn a_dialog_needs_zenity_or_a_bus_with_the_portal() {
        // Nothing: no dialog (the Xvfb box of issue 11).
        assert!(!available(&[("PATH", "/usr/bin:/bin")], &[]));
        // zenity alone is enough.
        assert!(available(
            &[("PATH", "/usr/local/bin:/usr/bin")],
            &["/usr/bin/zenity"]
        ));
        // A bus without the portal service is not.
        assert!(!available(
            &[("DBUS_SESSION_BUS_ADDRESS", "unix:path=/run/user/1000/bus")],
            &[]
        ));
        // The portal without a bus is not either.
        let service = "/usr/share/dbus-1/services/org.freedesktop.portal.Desktop.service";
        assert!(!available(&[("PATH", "/usr/bin")], &[service]));
        // A bus (by address or by socket) and the portal service are.
        assert!(available(
            &[("DBUS_SESSION_BUS_ADDRESS", "unix:path=/run/user/1000/bus")],
            &[service]
        ));
        assert!(available(
            &[("XDG_RUNTIME_DIR", "/run/user/1000")],
            &["/run/user/1000/bus", service]
        ));
        // The service may be in a data folder of the user's.
        assert!(available(
            &[
                ("DBUS_SESSION_BUS_ADDRESS", "unix:abstract=x"),
                ("HOME", "/home/u")
            ],
            &["/home/u/.local/share/dbus-1/services/org.freedesktop.portal.Desktop.service"]
        ));
        // An empty address is no bus.
        assert!(!available(&[("DBUS_SESSION_BUS_ADDRESS", "")], &[service]));
    }

    #[test]
    fn tilde_is_the_home_folder() {
        let home = Some(OsString::from("/home/u"));
        assert_eq!(
            resolve_with(" ~/a.ron ", home.clone()),
            Path::new("/home/u/a.ron")
        );
        assert_eq!(resolve_with("~", home.clone()), Path::new("/home/u"));
        assert_eq!(resolve_with("~x/a", home), Path::new("~x/a"));
        assert_eq!(resolve_with("~/a", None), Path::new("~/a"));
        assert_eq!(resolve_with("/tmp/b", None), Path::new("/tmp/b"));
    }

    #[test]
    fn suggestions_complete_the_last_part() {
        let entry = |name: &str, folder| Entry {
            name: name.to_owned(),
            folder,
        };
        let entries = vec![
            entry("profiles", true),
            entry(".hidden", false),
            entry("prod.ron", false),
            entry("readme.md", false),
        ];
        assert_eq!(suggestions(&entries, "pro"), ["profiles/", "prod.ron"]);
        assert_eq!(
            suggestions(&entries, ""),
            ["profiles/", "prod.ron", "readme.md"]
        );
        assert_eq!(suggestions(&entries, "."), [".hidden"]);
        // A complete file name has nothing left to complete; a complete folder name does.
        assert!(suggestions(&entries, "prod.ron").is_empty());
        assert_eq!(suggestions(&entries, "profiles"), ["profiles/"]);
        let many: Vec<Entry> = (0..200)
            .map(|i| entry(&format!("f{i:03}"), false))
            .collect();
        assert_eq!(suggestions(&many, "f").len(), MAX_SUGGESTIONS);
    }

    #[test]
    fn listing_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("Sub")).unwrap();
        std::fs::write(dir.path().join("b.txt"), b"x").unwrap();
        std::fs::write(dir.path().join("a.txt"), b"x").unwrap();
        let entries = list_folder(dir.path()).unwrap();
        let names: Vec<(&str, bool)> = entries
            .iter()
            .map(|e| (e.name.as_str(), e.folder))
            .collect();
        assert_eq!(names, [("Sub", true), ("a.txt", false), ("b.txt", false)]);
        assert!(list_folder(&dir.path().join("missing")).is_err());
        assert!(list_folder(&dir.path().join("a.txt")).is_err());
    }

    #[test]
    fn path_status() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        assert_eq!(PathStatus::of(""), PathStatus::Empty);
        assert_eq!(
            PathStatus::of(&file.display().to_string()),
            PathStatus::File
        );
        assert_eq!(
            PathStatus::of(&dir.path().display().to_string()),
            PathStatus::Folder
        );
        let missing = PathStatus::of(&dir.path().join("nope").display().to_string());
        assert_eq!(missing, PathStatus::Missing);
        assert!(missing.problem_for_reading().is_some());
        assert!(PathStatus::File.problem_for_reading().is_none());
    }
}
