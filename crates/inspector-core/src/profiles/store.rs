//! [`ProfileStore`]: the folder of profiles, one `<name>.ron` file each, written atomically
//! (a temporary file, fsync, rename). A file that cannot be parsed is moved aside to
//! `<file>.corrupt-<unix seconds>` and reported, never overwritten and never deleted. The
//! first run (an empty folder) gets the built-in "Local echo" profile and the examples
//! shipped in `assets/profiles/`.
//!
//! The workspace-wide [`Library`] of saved messages lives beside the profiles, in
//! [`LIBRARY_FILE`] (`library/messages.ron`: a folder of its own, so that it can never be
//! taken for a profile, nor a profile named "Library" for it), written and kept aside the
//! same way. Import and export: a profile's own saved messages and variables travel inside
//! its file ([`export`](ProfileStore::export) writes secret values empty:
//! [`Profile::for_export`]); the library has an import and export of its own
//! ([`import_library`](ProfileStore::import_library) appends what a file holds,
//! [`export_library`](ProfileStore::export_library) writes the whole library).

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use directories::ProjectDirs;

use super::profile::Profile;
use super::saved::{Library, SavedMessage};

/// The environment variable that replaces the whole config folder (profiles then live in
/// `$WS_INSPECTOR_CONFIG_DIR/profiles`).
pub const CONFIG_DIR_ENV: &str = "WS_INSPECTOR_CONFIG_DIR";

/// The profiles written into an empty folder: file name and contents, shipped in
/// `assets/profiles/`.
pub(crate) const EXAMPLES: [(&str, &str); 3] = [
    (
        "local-echo.ron",
        include_str!("../../../../assets/profiles/local-echo.ron"),
    ),
    (
        "secure-echo-example.ron",
        include_str!("../../../../assets/profiles/secure-echo-example.ron"),
    ),
    (
        "through-proxy-example.ron",
        include_str!("../../../../assets/profiles/through-proxy-example.ron"),
    ),
];

/// The library's file, in the profile folder.
pub const LIBRARY_FILE: &str = "library/messages.ron";

/// The first line of the library's file.
const LIBRARY_HEADER: &str = "// The ws-inspector library of saved messages (RON). Edit it in the \
                              app, or here while the app is closed.\n";

/// The first line of every profile file written.
const FILE_HEADER: &str = "// A ws-inspector connection profile (RON). Edit it in the app, \
                           or here while the app is closed.\n";

/// The name [`ProfileStore::create`] starts from.
const NEW_PROFILE: &str = "New profile";

/// The profiles of one folder, loaded at [`open`](Self::open) and written back on each change.
#[derive(Debug)]
pub struct ProfileStore {
    dir: PathBuf,
    /// Sorted by name, ignoring case.
    profiles: Vec<Profile>,
    /// The file of each profile, by [`key`] of its name.
    files: HashMap<String, PathBuf>,
    /// `.ron` files that could neither be read nor moved aside: never written.
    reserved: Vec<PathBuf>,
    problems: Vec<String>,
    /// The library of saved messages.
    library: Vec<SavedMessage>,
    /// Why the library's file must not be written (it could not be read, nor moved aside).
    library_locked: Option<String>,
}

impl ProfileStore {
    /// Opens (creating it if needed) the folder `dir` and loads every `*.ron` file in it.
    ///
    /// Never fails: a file that does not parse is moved aside and reported in
    /// [`problems`](Self::problems); if the folder cannot be created or read, that is
    /// reported and the store holds only the built-in "Local echo" profile. An empty folder
    /// (the first run) is given "Local echo" and the example profiles.
    pub fn open(dir: PathBuf) -> Self {
        let mut store = Self {
            dir,
            profiles: Vec::new(),
            files: HashMap::new(),
            reserved: Vec::new(),
            problems: Vec::new(),
            library: Vec::new(),
            library_locked: None,
        };
        let listing = fs::create_dir_all(&store.dir).and_then(|()| fs::read_dir(&store.dir));
        let entries = match listing {
            Ok(entries) => entries,
            Err(e) => {
                store.problems.push(format!(
                    "the profile folder {} could not be opened ({e}); profiles cannot be saved",
                    store.dir.display()
                ));
                store.profiles.push(Profile::local_echo());
                return store;
            }
        };
        let mut empty = true;
        let mut paths = Vec::new();
        for entry in entries {
            let Ok(entry) = entry else {
                empty = false;
                continue;
            };
            let path = entry.path();
            // Folders do not count: with `--config-dir DIR` the app keeps its window state and
            // log in DIR/state, made before the store opens DIR on the first run.
            if !path.is_dir() {
                empty = false;
            }
            if path.extension().is_some_and(|ext| ext == "ron") && path.is_file() {
                paths.push(path);
            }
        }
        paths.sort();
        for path in paths {
            store.load(path);
        }
        if empty {
            store.seed();
        }
        store.sort();
        store.load_library();
        store
    }

    /// The default folder: `profiles` in the platform's config folder for ws-inspector
    /// (`~/.config/ws-inspector/profiles` on Linux), or in `$WS_INSPECTOR_CONFIG_DIR` when
    /// that is set.
    pub fn default_dir() -> PathBuf {
        config_dir(std::env::var_os(CONFIG_DIR_ENV)).join("profiles")
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The profiles, sorted by name (ignoring case).
    pub fn profiles(&self) -> &[Profile] {
        &self.profiles
    }

    /// The profile named `name` exactly.
    pub fn get(&self, name: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.name == name)
    }

    /// What went wrong while loading, in plain words, one sentence each.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }

    /// Saves `profile` under its name (trimmed): over the profile of that name (ignoring
    /// case), or as a new one.
    pub fn save(&mut self, profile: &Profile) -> Result<(), String> {
        let name = profile.name.trim();
        if name.is_empty() {
            return Err("a profile needs a name".to_owned());
        }
        let mut profile = profile.clone();
        profile.name = name.to_owned();
        let path = match self.files.get(&key(name)) {
            Some(path) => path.clone(),
            None => self.new_path(name, None),
        };
        self.write(&profile, &path)?;
        self.insert(profile, path);
        Ok(())
    }

    /// Creates and saves a default profile with a free name: `base_name` ("New profile" if
    /// empty), or `base_name 2`, `base_name 3` … if taken.
    pub fn create(&mut self, base_name: &str) -> Result<Profile, String> {
        let base = base_name.trim();
        let name = self.unique_name(if base.is_empty() { NEW_PROFILE } else { base });
        let profile = Profile {
            name,
            ..Profile::default()
        };
        self.save(&profile)?;
        Ok(profile)
    }

    /// Renames a profile and its file. The new name (trimmed) may not be empty or taken by
    /// another profile (ignoring case).
    pub fn rename(&mut self, old: &str, new: &str) -> Result<(), String> {
        let new = new.trim();
        if new.is_empty() {
            return Err("a profile name cannot be empty".to_owned());
        }
        let position = self.position(old)?;
        if key(new) != key(old) && self.files.contains_key(&key(new)) {
            return Err(format!("a profile named {new:?} already exists"));
        }
        if self.profiles[position].name == new {
            return Ok(());
        }
        let old_path = self.files.get(&key(old)).cloned();
        let path = match &old_path {
            // Same file name (the names differ in case or punctuation only): rewrite it.
            Some(path)
                if path
                    .file_stem()
                    .is_some_and(|stem| *stem == *file_stem(new)) =>
            {
                path.clone()
            }
            _ => self.new_path(new, Some(old)),
        };
        let mut profile = self.profiles[position].clone();
        profile.name = new.to_owned();
        self.write(&profile, &path)?;
        self.profiles.remove(position);
        self.files.remove(&key(old));
        self.insert(profile, path.clone());
        if let Some(old_path) = old_path.filter(|old_path| *old_path != path)
            && let Err(e) = remove_file(&old_path)
        {
            self.problems.push(format!(
                "{new} was renamed, but its old file {} could not be removed ({e})",
                old_path.display()
            ));
        }
        Ok(())
    }

    /// Saves a copy of a profile named `name copy` (or `name copy 2` …) and returns it.
    pub fn duplicate(&mut self, name: &str) -> Result<Profile, String> {
        let position = self.position(name)?;
        let mut copy = self.profiles[position].clone();
        copy.name = self.unique_name(&format!("{} copy", copy.name));
        self.save(&copy)?;
        Ok(copy)
    }

    /// Deletes a profile and its file.
    pub fn delete(&mut self, name: &str) -> Result<(), String> {
        let position = self.position(name)?;
        if let Some(path) = self.files.get(&key(name)) {
            remove_file(path).map_err(|e| format!("could not delete {}: {e}", path.display()))?;
        }
        self.files.remove(&key(name));
        self.profiles.remove(position);
        Ok(())
    }

    /// Imports a profile file (saved by [`export`](Self::export) or written by hand), under
    /// a free name if its name is taken, and returns it as saved.
    pub fn import(&mut self, path: &Path) -> Result<Profile, String> {
        let text = fs::read_to_string(path)
            .map_err(|e| format!("could not read {}: {e}", path.display()))?;
        let mut profile: Profile = ron::from_str(&text).map_err(|e| {
            format!(
                "{} is not a valid profile ({})",
                path.display(),
                describe_ron_error(&e)
            )
        })?;
        let name = match profile.name.trim() {
            "" => stem_of(path),
            name => name.to_owned(),
        };
        profile.name = self.unique_name(&name);
        self.save(&profile)?;
        Ok(profile)
    }

    /// Writes the profile named `name` to `path` (atomically, replacing any file there),
    /// with its saved messages and variables, but with the values of its secret variables
    /// empty ([`Profile::for_export`]): an export is for someone else, the store's own file
    /// keeps them.
    pub fn export(&self, name: &str, path: &Path) -> Result<(), String> {
        let position = self.position(name)?;
        write_atomic(path, &to_ron(&self.profiles[position].for_export())?)
            .map_err(|e| format!("could not write {}: {e}", path.display()))
    }

    // --- the library --------------------------------------------------------------------------

    /// The library's file.
    pub fn library_path(&self) -> PathBuf {
        self.dir.join(LIBRARY_FILE)
    }

    /// The library of saved messages, in the user's order.
    pub fn library(&self) -> &[SavedMessage] {
        &self.library
    }

    /// Replaces the library and writes it (atomically). On error the library is unchanged.
    pub fn set_library(&mut self, messages: Vec<SavedMessage>) -> Result<(), String> {
        if let Some(why) = &self.library_locked {
            return Err(why.clone());
        }
        let path = self.library_path();
        let text = library_to_ron(&messages)?;
        path.parent()
            .map_or(Ok(()), fs::create_dir_all)
            .and_then(|()| write_atomic(&path, &text))
            .map_err(|e| format!("could not save the library to {}: {e}", path.display()))?;
        self.library = messages;
        Ok(())
    }

    /// Appends the messages of a library file (written by
    /// [`export_library`](Self::export_library) or by hand) to the library, and returns how
    /// many there were.
    pub fn import_library(&mut self, path: &Path) -> Result<usize, String> {
        let text = fs::read_to_string(path)
            .map_err(|e| format!("could not read {}: {e}", path.display()))?;
        let imported: Library = ron::from_str(&text).map_err(|e| {
            format!(
                "{} is not a library of saved messages ({})",
                path.display(),
                describe_ron_error(&e)
            )
        })?;
        let count = imported.messages.len();
        let mut messages = self.library.clone();
        messages.extend(imported.messages);
        self.set_library(messages)?;
        Ok(count)
    }

    /// Writes the whole library to `path` (atomically, replacing any file there).
    pub fn export_library(&self, path: &Path) -> Result<(), String> {
        write_atomic(path, &library_to_ron(&self.library)?)
            .map_err(|e| format!("could not write {}: {e}", path.display()))
    }

    // --- internals ----------------------------------------------------------------------------

    fn position(&self, name: &str) -> Result<usize, String> {
        self.profiles
            .iter()
            .position(|p| p.name == name)
            .ok_or_else(|| format!("there is no profile named {name:?}"))
    }

    /// `base`, or `base 2`, `base 3` … whichever no profile has (ignoring case).
    fn unique_name(&self, base: &str) -> String {
        let mut name = base.to_owned();
        let mut n = 2;
        while self.files.contains_key(&key(&name)) {
            name = format!("{base} {n}");
            n += 1;
        }
        name
    }

    /// A file for a new profile named `name` (or for `renaming`'s new name): derived from the
    /// name, not used by another profile, not reserved and not on disk.
    fn new_path(&self, name: &str, renaming: Option<&str>) -> PathBuf {
        let stem = file_stem(name);
        let mut n = 1;
        loop {
            let file = match n {
                1 => format!("{stem}.ron"),
                n => format!("{stem}-{n}.ron"),
            };
            let path = self.dir.join(file);
            let taken = self.files.iter().any(|(owner, used)| {
                Some(owner.as_str()) != renaming.map(key).as_deref() && same_file_name(used, &path)
            }) || self
                .reserved
                .iter()
                .any(|reserved| same_file_name(reserved, &path))
                || path.exists();
            if !taken {
                return path;
            }
            n += 1;
        }
    }

    fn write(&self, profile: &Profile, path: &Path) -> Result<(), String> {
        write_atomic(path, &to_ron(profile)?).map_err(|e| {
            format!(
                "could not save the profile {:?} to {}: {e}",
                profile.name,
                path.display()
            )
        })
    }

    /// Adds (or replaces, by name ignoring case) a profile, keeping the list sorted.
    fn insert(&mut self, profile: Profile, path: PathBuf) {
        let name_key = key(&profile.name);
        self.profiles.retain(|p| key(&p.name) != name_key);
        self.files.insert(name_key, path);
        self.profiles.push(profile);
        self.sort();
    }

    fn sort(&mut self) {
        self.profiles
            .sort_by_cached_key(|p| (key(&p.name), p.name.clone()));
    }

    /// Loads one file, or moves it aside if it does not parse.
    fn load(&mut self, path: PathBuf) {
        let shown = self.shown(&path);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) => {
                self.problems.push(format!(
                    "{shown} could not be read ({e}); it was left as it is"
                ));
                self.reserved.push(path);
                return;
            }
        };
        let parsed = match std::str::from_utf8(&bytes) {
            Ok(text) => ron::from_str::<Profile>(text).map_err(|e| describe_ron_error(&e)),
            Err(e) => Err(format!("it is not UTF-8 text: {e}")),
        };
        let mut profile = match parsed {
            Ok(profile) => profile,
            Err(reason) => return self.move_aside(path, &shown, &reason),
        };
        let name = match profile.name.trim() {
            "" => stem_of(&path),
            name => name.to_owned(),
        };
        profile.name = self.unique_name(&name);
        if key(&profile.name) != key(&name) {
            self.problems.push(format!(
                "{shown} has the same name as another profile ({name:?}); it is shown as {:?}",
                profile.name
            ));
        }
        self.files.insert(key(&profile.name), path);
        self.profiles.push(profile);
    }

    /// Loads the library, or moves its file aside if it does not parse (no file: an empty
    /// library).
    fn load_library(&mut self) {
        let path = self.library_path();
        let folder = self.dir.file_name().map(Path::new).unwrap_or(Path::new(""));
        let shown = folder.join(LIBRARY_FILE).display().to_string();
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return,
            Err(e) => {
                let why = format!("{shown} could not be read ({e}); it was left as it is");
                self.problems.push(why.clone());
                self.library_locked = Some(format!("the library cannot be saved: {why}"));
                return;
            }
        };
        let parsed = match std::str::from_utf8(&bytes) {
            Ok(text) => ron::from_str::<Library>(text).map_err(|e| describe_ron_error(&e)),
            Err(e) => Err(format!("it is not UTF-8 text: {e}")),
        };
        match parsed {
            Ok(library) => self.library = library.messages,
            Err(reason) => match move_aside_file(&path) {
                Ok(aside) => self.problems.push(format!(
                    "{shown} could not be read ({reason}); it was moved to {aside}, and the \
                     library starts empty"
                )),
                Err(e) => {
                    let why = format!(
                        "{shown} could not be read ({reason}); it could not be moved aside \
                         ({e}), so it was left as it is and will not be overwritten"
                    );
                    self.problems.push(why.clone());
                    self.library_locked = Some(format!("the library cannot be saved: {why}"));
                }
            },
        }
    }

    fn move_aside(&mut self, path: PathBuf, shown: &str, reason: &str) {
        match move_aside_file(&path) {
            Ok(aside) => self.problems.push(format!(
                "{shown} could not be read ({reason}); it was moved to {aside}"
            )),
            Err(e) => {
                self.problems.push(format!(
                    "{shown} could not be read ({reason}); it could not be moved aside ({e}), \
                     so it was left as it is and will not be overwritten"
                ));
                self.reserved.push(path);
            }
        }
    }

    /// Writes the shipped examples (the first run).
    fn seed(&mut self) {
        for (file, text) in EXAMPLES {
            let path = self.dir.join(file);
            let mut profile = match ron::from_str::<Profile>(text) {
                Ok(profile) => profile,
                Err(e) => {
                    // Only a broken build can get here: a test parses every example.
                    self.problems.push(format!(
                        "the example profile {file} is broken ({})",
                        describe_ron_error(&e)
                    ));
                    continue;
                }
            };
            profile.name = self.unique_name(profile.name.trim());
            if let Err(e) = write_atomic(&path, text) {
                self.problems.push(format!(
                    "the example profile {file} could not be written ({e})"
                ));
            }
            self.files.insert(key(&profile.name), path);
            self.profiles.push(profile);
        }
    }

    /// `profiles/foo.ron`: the path as a problem message shows it.
    fn shown(&self, path: &Path) -> String {
        let folder = self.dir.file_name().map(Path::new).unwrap_or(Path::new(""));
        let file = path.file_name().map(Path::new).unwrap_or(path);
        folder.join(file).display().to_string()
    }
}

/// The config folder: `env` (the value of [`CONFIG_DIR_ENV`]) if set and not empty, else the
/// platform's, else `.ws-inspector` in the current folder (no home folder).
fn config_dir(env: Option<OsString>) -> PathBuf {
    match env {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => ProjectDirs::from("dev", "ws-inspector", "ws-inspector")
            .map(|dirs| dirs.config_dir().to_path_buf())
            .unwrap_or_else(|| PathBuf::from(".ws-inspector")),
    }
}

/// Profile names are unique ignoring case, as file names are on macOS and Windows.
fn key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// A portable file stem for a profile name: lower-case letters and digits, other runs of
/// characters as one `-`, at most 64 characters; `profile` if nothing is left, and never a
/// name Windows reserves.
pub(crate) fn file_stem(name: &str) -> String {
    let mut stem = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if stem.chars().count() >= 64 {
            break;
        }
        if c.is_alphanumeric() {
            stem.push(c);
        } else if !stem.is_empty() && !stem.ends_with('-') {
            stem.push('-');
        }
    }
    while stem.ends_with('-') {
        stem.pop();
    }
    const RESERVED: [&str; 22] = [
        "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
        "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
    ];
    if stem.is_empty() {
        stem.push_str("profile");
    } else if RESERVED.contains(&stem.as_str()) {
        stem.push_str("-profile");
    }
    stem
}

fn same_file_name(a: &Path, b: &Path) -> bool {
    match (a.file_name(), b.file_name()) {
        (Some(a), Some(b)) => {
            a.to_string_lossy().to_lowercase() == b.to_string_lossy().to_lowercase()
        }
        _ => false,
    }
}

/// A file's name without its extension, as a profile name.
fn stem_of(path: &Path) -> String {
    path.file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .filter(|stem| !stem.trim().is_empty())
        .unwrap_or_else(|| NEW_PROFILE.to_owned())
}

/// A profile file: a comment line, then pretty RON.
pub(crate) fn to_ron(profile: &Profile) -> Result<String, String> {
    let config = ron::ser::PrettyConfig::new().struct_names(true);
    let body = ron::ser::to_string_pretty(profile, config)
        .map_err(|e| format!("could not write the profile {:?} as RON: {e}", profile.name))?;
    Ok(format!("{FILE_HEADER}{body}\n"))
}

/// `line 3, column 5: Expected …`.
pub(crate) fn describe_ron_error(error: &ron::error::SpannedError) -> String {
    format!(
        "line {}, column {}: {}",
        error.span.start.line, error.span.start.col, error.code
    )
}

/// Writes `contents` to `path` atomically: into `<file>.tmp-<pid>` next to it, flushed to
/// disk, then renamed over `path`. Readers see the old file or the new one, never a part.
fn write_atomic(path: &Path, contents: &str) -> io::Result<()> {
    let file_name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file path"))?;
    let tmp = path.with_file_name(format!(
        "{}.tmp-{}",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(contents.as_bytes())?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    // Make the rename itself durable (best effort: not every platform can open a folder).
    #[cfg(unix)]
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && let Ok(dir) = fs::File::open(parent)
    {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Moves a file that could not be read to `<file>.corrupt-<unix seconds>` beside it (or
/// `…-2`, `…-3` if taken, never over another), and returns the new file name.
fn move_aside_file(path: &Path) -> io::Result<String> {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut aside = format!("{file_name}.corrupt-{seconds}");
    let mut n = 2;
    while path.with_file_name(&aside).exists() {
        aside = format!("{file_name}.corrupt-{seconds}-{n}");
        n += 1;
    }
    fs::rename(path, path.with_file_name(&aside))?;
    Ok(aside)
}

/// The library's file: a comment line, then pretty RON.
fn library_to_ron(messages: &[SavedMessage]) -> Result<String, String> {
    let library = Library {
        messages: messages.to_vec(),
    };
    let config = ron::ser::PrettyConfig::new().struct_names(true);
    let body = ron::ser::to_string_pretty(&library, config)
        .map_err(|e| format!("could not write the library as RON: {e}"))?;
    Ok(format!("{LIBRARY_HEADER}{body}\n"))
}

/// Removes a file; one that is already gone is fine.
fn remove_file(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profiles::testing::{TempDir, files, names, sample, store_with};

    // --- the folder ---------------------------------------------------------------------------

    #[test]
    fn first_run_seeds_local_echo_and_the_examples() {
        let tmp = TempDir::new("seed");
        let store = ProfileStore::open(tmp.profiles());
        assert!(store.problems().is_empty(), "{:?}", store.problems());
        assert_eq!(
            names(&store),
            [
                "Local echo",
                "Secure echo (example)",
                "Through proxy (example)"
            ]
        );
        assert_eq!(
            files(&tmp.profiles()),
            [
                "local-echo.ron",
                "secure-echo-example.ron",
                "through-proxy-example.ron"
            ]
        );
        assert_eq!(store.get("Local echo"), Some(&Profile::local_echo()));
        // The examples are written as shipped, comments included.
        let written = fs::read_to_string(tmp.profiles().join("secure-echo-example.ron")).unwrap();
        assert_eq!(written, EXAMPLES[1].1);
        // A second open loads them and seeds nothing more.
        let again = ProfileStore::open(tmp.profiles());
        assert_eq!(names(&again), names(&store));
        assert_eq!(again.profiles(), store.profiles());
        assert_eq!(again.dir(), tmp.profiles());
    }

    #[test]
    fn a_folder_with_only_the_state_folder_is_still_a_first_run() {
        // `--config-dir DIR`: the window state and the log go into DIR/state before the
        // store opens DIR.
        let tmp = TempDir::new("seedstate");
        fs::create_dir_all(tmp.profiles().join("state")).unwrap();
        let store = ProfileStore::open(tmp.profiles());
        assert_eq!(names(&store)[0], "Local echo");
    }

    #[test]
    fn a_folder_with_files_is_not_seeded() {
        let tmp = TempDir::new("noseed");
        let store = store_with(&tmp, &sample());
        assert_eq!(names(&store), ["Sample"]);
    }

    #[test]
    fn save_round_trips_and_leaves_no_temporary_files() {
        let tmp = TempDir::new("save");
        let mut store = store_with(&tmp, &sample());
        let mut profile = sample();
        profile.name = "  Other: Server/1  ".into();
        profile.url = "ws://other.example/".into();
        store.save(&profile).unwrap();
        assert_eq!(names(&store), ["Other: Server/1", "Sample"]);
        assert_eq!(files(&tmp.profiles()), ["first.ron", "other-server-1.ron"]);

        // Saving again replaces (ignoring case), in the same file.
        profile.name = "other: server/1".into();
        profile.url = "ws://changed.example/".into();
        store.save(&profile).unwrap();
        assert_eq!(names(&store), ["other: server/1", "Sample"]);
        assert_eq!(files(&tmp.profiles()), ["first.ron", "other-server-1.ron"]);

        let reopened = ProfileStore::open(tmp.profiles());
        assert_eq!(reopened.profiles(), store.profiles());
        assert_eq!(
            reopened.get("other: server/1").unwrap().url,
            "ws://changed.example/"
        );
        assert!(
            store
                .save(&Profile::default())
                .unwrap_err()
                .contains("name")
        );
    }

    #[test]
    fn a_corrupt_file_is_moved_aside_and_reported() {
        let tmp = TempDir::new("corrupt");
        let dir = tmp.profiles();
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("good.ron"), to_ron(&sample()).unwrap()).unwrap();
        fs::write(
            dir.join("broken.ron"),
            "Profile(\n  name: \"Broken\",\n  url: 42,\n)",
        )
        .unwrap();
        fs::write(dir.join("binary.ron"), [0xff, 0xfe, 0]).unwrap();
        fs::write(dir.join("notes.txt"), "not a profile").unwrap();
        let mut store = ProfileStore::open(dir.clone());
        assert_eq!(names(&store), ["Sample"]);
        let problems = store.problems();
        assert_eq!(problems.len(), 2, "{problems:?}");
        let broken = problems
            .iter()
            .find(|p| p.starts_with("profiles/broken.ron could not be read (line 3, column"))
            .unwrap_or_else(|| panic!("{problems:?}"));
        assert!(
            broken.contains("; it was moved to broken.ron.corrupt-"),
            "{broken}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("binary.ron") && p.contains("UTF-8"))
        );

        let listing = files(&dir);
        assert_eq!(listing.len(), 4, "{listing:?}");
        assert!(listing.contains(&"good.ron".to_owned()));
        assert!(listing.contains(&"notes.txt".to_owned()));
        let aside = listing
            .iter()
            .find(|f| f.starts_with("broken.ron.corrupt-"))
            .unwrap();
        assert_eq!(
            fs::read_to_string(dir.join(aside)).unwrap(),
            "Profile(\n  name: \"Broken\",\n  url: 42,\n)"
        );
        assert!(broken.ends_with(aside.as_str()), "{broken}");

        // A new profile named like the broken one gets the free file name; the moved file
        // stays untouched.
        store.create("Broken").unwrap();
        assert!(dir.join("broken.ron").exists());
        assert!(dir.join(aside).exists());

        // The same file broken again (perhaps within the same second) is moved to another
        // name, never over the first.
        fs::write(dir.join("broken.ron"), "(((").unwrap();
        let again = ProfileStore::open(dir.clone());
        assert_eq!(again.problems().len(), 1, "{:?}", again.problems());
        let corrupt = files(&dir)
            .into_iter()
            .filter(|f| f.starts_with("broken.ron.corrupt-"))
            .count();
        assert_eq!(corrupt, 2);
    }

    #[test]
    fn create_picks_free_names() {
        let tmp = TempDir::new("create");
        let mut store = store_with(&tmp, &sample());
        let first = store.create("").unwrap();
        let second = store.create("  ").unwrap();
        let third = store.create("new PROFILE").unwrap();
        let sample_2 = store.create("sample").unwrap();
        assert_eq!(first.name, "New profile");
        assert_eq!(second.name, "New profile 2");
        assert_eq!(third.name, "new PROFILE 3");
        assert_eq!(sample_2.name, "sample 2");
        assert_eq!(first.url, Profile::default().url);
        assert_eq!(
            files(&tmp.profiles()),
            [
                "first.ron",
                "new-profile-2.ron",
                "new-profile-3.ron",
                "new-profile.ron",
                "sample-2.ron"
            ]
        );
        assert_eq!(
            ProfileStore::open(tmp.profiles()).profiles(),
            store.profiles()
        );
    }

    #[test]
    fn rename_moves_the_file() {
        let tmp = TempDir::new("rename");
        let mut store = store_with(&tmp, &sample());
        store.create("Other").unwrap();
        store.rename("Sample", "  Renamed  ").unwrap();
        assert_eq!(names(&store), ["Other", "Renamed"]);
        assert_eq!(files(&tmp.profiles()), ["other.ron", "renamed.ron"]);
        assert_eq!(store.get("Renamed").unwrap().url, sample().url);

        // Case only: same file, new name.
        store.rename("Renamed", "RENAMED").unwrap();
        assert_eq!(files(&tmp.profiles()), ["other.ron", "renamed.ron"]);
        assert_eq!(names(&store), ["Other", "RENAMED"]);

        assert!(
            store
                .rename("RENAMED", "other")
                .unwrap_err()
                .contains("already exists")
        );
        assert!(store.rename("RENAMED", " ").unwrap_err().contains("empty"));
        assert!(
            store
                .rename("Nope", "X")
                .unwrap_err()
                .contains("no profile named")
        );
        store.rename("Other", "Other").unwrap();
        let reopened = ProfileStore::open(tmp.profiles());
        assert_eq!(reopened.profiles(), store.profiles());
        assert!(reopened.problems().is_empty());
    }

    #[test]
    fn duplicate_and_delete() {
        let tmp = TempDir::new("duplicate");
        let mut store = store_with(&tmp, &sample());
        let copy = store.duplicate("Sample").unwrap();
        let copy_2 = store.duplicate("Sample").unwrap();
        assert_eq!(copy.name, "Sample copy");
        assert_eq!(copy_2.name, "Sample copy 2");
        assert_eq!(
            Profile {
                name: "Sample".into(),
                ..copy.clone()
            },
            sample()
        );
        assert_eq!(names(&store), ["Sample", "Sample copy", "Sample copy 2"]);
        assert!(store.duplicate("Nope").is_err());

        store.delete("Sample copy").unwrap();
        store.delete("Sample").unwrap();
        assert_eq!(names(&store), ["Sample copy 2"]);
        assert_eq!(files(&tmp.profiles()), ["sample-copy-2.ron"]);
        assert!(
            store
                .delete("Sample")
                .unwrap_err()
                .contains("no profile named")
        );
        // The name is free again.
        assert_eq!(store.create("Sample").unwrap().name, "Sample");
    }

    #[test]
    fn import_and_export() {
        let tmp = TempDir::new("import");
        let mut store = store_with(&tmp, &sample());
        let exported = tmp.0.join("exported.ron");
        store.export("Sample", &exported).unwrap();
        assert!(store.export("Nope", &exported).is_err());
        assert_eq!(
            ron::from_str::<Profile>(&fs::read_to_string(&exported).unwrap()).unwrap(),
            sample()
        );

        // The name is taken: imported under a free one.
        let imported = store.import(&exported).unwrap();
        assert_eq!(imported.name, "Sample 2");
        assert_eq!(
            Profile {
                name: "Sample".into(),
                ..imported
            },
            sample()
        );

        // No name: the file's name.
        let nameless = tmp.0.join("From File.ron");
        fs::write(&nameless, "(url: \"ws://x.example/\")").unwrap();
        assert_eq!(store.import(&nameless).unwrap().name, "From File");

        let bad = tmp.0.join("bad.ron");
        fs::write(&bad, "(url: 1)").unwrap();
        let err = store.import(&bad).unwrap_err();
        assert!(
            err.contains("bad.ron is not a valid profile (line 1, column"),
            "{err}"
        );
        let err = store.import(&tmp.0.join("missing.ron")).unwrap_err();
        assert!(err.contains("could not read"), "{err}");
        // A failed import leaves the source alone.
        assert!(bad.exists());
        assert_eq!(names(&store), ["From File", "Sample", "Sample 2"]);
    }

    #[test]
    fn atomic_writes_leave_no_temporary_file() {
        let tmp = TempDir::new("atomic");
        let mut store = store_with(&tmp, &sample());
        for i in 0..5 {
            let mut profile = sample();
            profile.url = format!("ws://example.com/{i}");
            store.save(&profile).unwrap();
        }
        store.export("Sample", &tmp.0.join("out.ron")).unwrap();
        let all: Vec<String> = files(&tmp.profiles())
            .into_iter()
            .chain(files(&tmp.0))
            .collect();
        assert!(all.iter().all(|f| !f.contains(".tmp-")), "{all:?}");
        // A write that fails (the target is a folder) cleans up its temporary file.
        let folder = tmp.profiles().join("folder.ron");
        fs::create_dir_all(&folder).unwrap();
        assert!(write_atomic(&folder, "x").is_err());
        assert!(files(&tmp.profiles()).iter().all(|f| !f.contains(".tmp-")));
    }

    #[test]
    fn an_unusable_folder_is_reported() {
        let tmp = TempDir::new("unusable");
        fs::create_dir_all(&tmp.0).unwrap();
        let file = tmp.0.join("a-file");
        fs::write(&file, "").unwrap();
        let store = ProfileStore::open(file.join("profiles"));
        assert_eq!(store.problems().len(), 1);
        assert!(store.problems()[0].contains("could not be opened"));
        assert_eq!(store.profiles(), [Profile::local_echo()]);
    }

    #[test]
    fn duplicate_names_on_disk_are_told_apart() {
        let tmp = TempDir::new("dupes");
        let dir = tmp.profiles();
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("a.ron"), to_ron(&sample()).unwrap()).unwrap();
        fs::write(dir.join("b.ron"), to_ron(&sample()).unwrap()).unwrap();
        fs::write(dir.join("Nameless One.ron"), "()").unwrap();
        let store = ProfileStore::open(dir);
        assert_eq!(names(&store), ["Nameless One", "Sample", "Sample 2"]);
        assert_eq!(store.problems().len(), 1);
        assert!(store.problems()[0].contains("b.ron has the same name"));
    }

    #[test]
    fn file_names() {
        assert_eq!(file_stem("Local echo"), "local-echo");
        assert_eq!(file_stem("  My/Server: prod (EU) "), "my-server-prod-eu");
        assert_eq!(file_stem("Ünïcödé Сервер"), "ünïcödé-сервер");
        assert_eq!(file_stem("..."), "profile");
        assert_eq!(file_stem("CON"), "con-profile");
        assert_eq!(file_stem(&"x".repeat(200)).len(), 64);
    }

    #[test]
    fn config_folder() {
        assert_eq!(
            config_dir(Some(OsString::from("/tmp/custom"))),
            PathBuf::from("/tmp/custom")
        );
        let platform = config_dir(None);
        assert_eq!(config_dir(Some(OsString::new())), platform);
        assert!(
            platform.to_string_lossy().contains("ws-inspector"),
            "{platform:?}"
        );
        assert!(ProfileStore::default_dir().ends_with("profiles"));
    }

    // --- saved messages, variables and the library --------------------------------------------

    use crate::profiles::{SavedKind, SavedMessage, VariableRow};

    fn with_workflow() -> Profile {
        Profile {
            variables: vec![
                VariableRow::plain("user", "ada"),
                VariableRow::secret("token", "s3cr3t"),
            ],
            saved_messages: vec![
                SavedMessage {
                    on_connect: true,
                    ..SavedMessage::new("Auth", SavedKind::Json, r#"{"token":"{{token}}"}"#)
                },
                SavedMessage::text("Hello", "hello {{user}}"),
            ],
            ..sample()
        }
    }

    #[test]
    fn saved_messages_and_variables_are_kept_in_the_profile_file() {
        let tmp = TempDir::new("workflow");
        let mut store = store_with(&tmp, &sample());
        store.save(&with_workflow()).unwrap();
        let reopened = ProfileStore::open(tmp.profiles());
        assert_eq!(reopened.get("Sample"), Some(&with_workflow()));
        // The store's own file keeps the secret's value.
        let text = fs::read_to_string(tmp.profiles().join("first.ron")).unwrap();
        assert!(
            text.contains("s3cr3t") && text.contains("saved_messages"),
            "{text}"
        );
        // A profile without them writes neither field (older versions read it as before).
        store.save(&sample()).unwrap();
        let text = fs::read_to_string(tmp.profiles().join("first.ron")).unwrap();
        assert!(!text.contains("saved_messages") && !text.contains("variables"));
    }

    #[test]
    fn an_export_leaves_secret_values_out_and_keeps_the_messages() {
        let tmp = TempDir::new("export-secrets");
        let store = store_with(&tmp, &with_workflow());
        let exported = tmp.0.join("shared.ron");
        store.export("Sample", &exported).unwrap();
        let text = fs::read_to_string(&exported).unwrap();
        assert!(!text.contains("s3cr3t"), "{text}");
        let read: Profile = ron::from_str(&text).unwrap();
        assert_eq!(read.saved_messages, with_workflow().saved_messages);
        assert_eq!(read.variables[1], VariableRow::secret("token", ""));
        assert_eq!(read.variables[0], VariableRow::plain("user", "ada"));
        // Imported elsewhere: the messages come along, the secret is to be filled in.
        let elsewhere = TempDir::new("import-secrets");
        let mut other = store_with(&elsewhere, &Profile::local_echo());
        let imported = other.import(&exported).unwrap();
        assert_eq!(imported.saved_messages.len(), 2);
        assert!(imported.secret_values().is_empty());
    }

    #[test]
    fn the_library_is_saved_beside_the_profiles() {
        let tmp = TempDir::new("library");
        let mut store = store_with(&tmp, &sample());
        assert!(store.library().is_empty());
        let messages = vec![
            SavedMessage::text("Hi", "hi"),
            SavedMessage::new("Ping", SavedKind::Ping, "{{timestamp}}"),
        ];
        store.set_library(messages.clone()).unwrap();
        assert_eq!(store.library(), messages);
        assert!(store.library_path().ends_with("library/messages.ron"));
        let text = fs::read_to_string(store.library_path()).unwrap();
        assert!(text.starts_with("// The ws-inspector library"), "{text}");
        // Never taken for a profile, and no temporary file left.
        let reopened = ProfileStore::open(tmp.profiles());
        assert_eq!(names(&reopened), ["Sample"]);
        assert!(reopened.problems().is_empty(), "{:?}", reopened.problems());
        assert_eq!(reopened.library(), messages);
        assert_eq!(files(&tmp.profiles().join("library")), ["messages.ron"]);
        // A first run with only a library is still a first run.
        let fresh = TempDir::new("library-seed");
        fs::create_dir_all(fresh.profiles().join("library")).unwrap();
        fs::write(
            fresh.profiles().join(LIBRARY_FILE),
            library_to_ron(&messages).unwrap(),
        )
        .unwrap();
        let seeded = ProfileStore::open(fresh.profiles());
        assert_eq!(names(&seeded)[0], "Local echo");
        assert_eq!(seeded.library(), messages);
    }

    #[test]
    fn a_corrupt_library_is_moved_aside_and_reported() {
        let tmp = TempDir::new("library-corrupt");
        let dir = tmp.profiles();
        fs::create_dir_all(dir.join("library")).unwrap();
        fs::write(dir.join("a.ron"), to_ron(&sample()).unwrap()).unwrap();
        let broken = "Library(messages: [(name: 3)])";
        fs::write(dir.join(LIBRARY_FILE), broken).unwrap();
        let mut store = ProfileStore::open(dir.clone());
        assert_eq!(names(&store), ["Sample"], "the profiles still load");
        assert!(store.library().is_empty());
        let problems = store.problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("profiles/library/messages.ron could not be read (line 1"),
            "{problems:?}"
        );
        let listing = files(&dir.join("library"));
        assert_eq!(listing.len(), 1, "{listing:?}");
        assert!(
            listing[0].starts_with("messages.ron.corrupt-"),
            "{listing:?}"
        );
        assert!(problems[0].contains(&listing[0]), "{problems:?}");
        assert_eq!(
            fs::read_to_string(dir.join("library").join(&listing[0])).unwrap(),
            broken
        );
        // A new library is written beside the one kept aside.
        store
            .set_library(vec![SavedMessage::text("new", "x")])
            .unwrap();
        assert_eq!(files(&dir.join("library")).len(), 2);
        assert_eq!(ProfileStore::open(dir).library().len(), 1);
    }

    #[test]
    fn library_import_appends_and_export_writes_it_whole() {
        let tmp = TempDir::new("library-files");
        let mut store = store_with(&tmp, &sample());
        store
            .set_library(vec![SavedMessage::text("Mine", "1")])
            .unwrap();
        let exported = tmp.0.join("library-export.ron");
        store.export_library(&exported).unwrap();
        assert_eq!(store.import_library(&exported).unwrap(), 1);
        let titles: Vec<&str> = store.library().iter().map(|m| m.name.as_str()).collect();
        assert_eq!(titles, ["Mine", "Mine"]);
        let hand_written = tmp.0.join("hand.ron");
        fs::write(
            &hand_written,
            "(messages: [(name: \"A\", kind: Json, payload: \"{}\")])",
        )
        .unwrap();
        assert_eq!(store.import_library(&hand_written).unwrap(), 1);
        assert_eq!(store.library()[2].kind, SavedKind::Json);
        let bad = tmp.0.join("bad.ron");
        fs::write(&bad, "(messages: 3)").unwrap();
        let err = store.import_library(&bad).unwrap_err();
        assert!(
            err.contains("is not a library of saved messages (line 1"),
            "{err}"
        );
        assert_eq!(store.library().len(), 3, "a failed import changes nothing");
        assert!(store.import_library(&tmp.0.join("missing.ron")).is_err());
        assert_eq!(ProfileStore::open(tmp.profiles()).library().len(), 3);
    }
}
